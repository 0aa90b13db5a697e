"""The event loop, its handles and events: the API of Qpid Proton's Python
tutorial (``EventLoop``, handlers with ``on_<event>`` methods) over muon's
C API."""

from __future__ import annotations

import collections
import signal
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from ._codec import from_c, to_c
from ._errors import MuonError, StaleHandleError, check
from ._message import Message, from_c_message, to_c_message
from ._muon import ffi, lib

__all__ = [
    "EventLoop", "Event", "Connection", "Sender", "Receiver", "Link", "Delivery", "Acceptor",
    "Timer", "Condition", "Terminus", "EVENT_NAMES",
]

_NULL = ffi.NULL

#: The event names, indexed by the C library's ``muon_event_kind``.
EVENT_NAMES: Tuple[str, ...] = (
    "", "connection_remote_open", "connection_remote_close", "session_remote_open",
    "session_remote_close", "link_remote_attach", "link_remote_open", "link_remote_close",
    "link_flow", "message", "accepted", "rejected", "released", "modified", "settled",
    "disconnected", "reconnected", "timer", "listener_open", "connection_accepted", "wake",
    "link_final", "connection_final", "listener_final", "sasl_authenticate", "message_error",
)
_METHODS = tuple("on_" + n if n else "" for n in EVENT_NAMES)
_WAKE = 20
_LINK_FINAL = 21


def _text(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    b = value.encode("utf-8")
    if b"\0" in b:
        raise ValueError(f"{what} must not contain NUL characters: {value!r}")
    return b


def _opt_text(value: Any, what: str) -> Any:
    return _NULL if value is None else _text(value, what)


def _str(p: Any) -> Optional[str]:
    return None if p == _NULL else ffi.string(p).decode("utf-8", "surrogateescape")


# ------------------------------------------------------------------ plain data


class Condition:
    """An AMQP error condition: ``name`` (``amqp:not-found``, ...),
    ``description`` and ``info`` (a dict or None). ``str()`` gives
    ``"name: description"``."""

    __slots__ = ("name", "description", "info")

    def __init__(self, name: str, description: Optional[str] = None,
                 info: Optional[Dict[Any, Any]] = None) -> None:
        self.name = name
        self.description = description
        self.info = info

    def __str__(self) -> str:
        return f"{self.name}: {self.description}" if self.description else self.name

    def __repr__(self) -> str:
        return f"Condition({self.name!r}, {self.description!r}, {self.info!r})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Condition) and self.name == other.name
                and self.description == other.description and self.info == other.info)

    __hash__ = None  # type: ignore[assignment]


def _condition(c: Any) -> Optional[Condition]:
    if c == _NULL:
        return None
    info = lib.muon_condition_info(c)
    return Condition(_str(lib.muon_condition_name(c)) or "",
                     _str(lib.muon_condition_description(c)) or None,
                     None if info == _NULL else from_c(info))


class Terminus:
    """What the peer attached a link with (a source or a target): ``address``,
    ``dynamic``, ``capabilities``, ``filter``, ``dynamic_node_properties``."""

    __slots__ = ("address", "dynamic", "capabilities", "filter", "dynamic_node_properties")

    def __init__(self, t: Any) -> None:
        self.address = _str(lib.muon_terminus_address(t))
        self.dynamic = bool(lib.muon_terminus_is_dynamic(t))
        self.capabilities = [_str(lib.muon_terminus_capability(t, i))
                             for i in range(lib.muon_terminus_capability_count(t))]
        f = lib.muon_terminus_filter(t)
        self.filter = None if f == _NULL else from_c(f)
        p = lib.muon_terminus_dynamic_node_properties(t)
        self.dynamic_node_properties = None if p == _NULL else from_c(p)

    def __repr__(self) -> str:
        return f"Terminus(address={self.address!r}, dynamic={self.dynamic})"


# ------------------------------------------------------------------ dispatch


class _Target:
    """What a C handler table's userdata points to: the Python handlers of
    one object and the loop they belong to."""

    __slots__ = ("loop", "handlers", "methods", "conn_key", "__weakref__")

    def __init__(self, loop: "EventLoop", handlers: Iterable[Any]) -> None:
        self.loop = loop
        self.handlers = tuple(h for h in handlers if h is not None)
        self.methods: Dict[int, List[Callable[[Any], Any]]] = {}
        for k in range(1, len(_METHODS)):
            fns = [getattr(h, _METHODS[k]) for h in self.handlers if hasattr(h, _METHODS[k])]
            if fns:
                self.methods[k] = fns
        self.conn_key: Optional[Tuple[int, int]] = None

    def mask(self, extra: int = 0) -> int:
        m = extra
        for k in self.methods:
            m |= 1 << k
        return m


_handler_tables: Dict[Tuple[int, bool], Any] = {}


def _table(mask: int, with_free: bool = True) -> Any:
    t = _handler_tables.get((mask, with_free))
    if t is None:
        t = ffi.new("muon_handler *")
        lib.muon_py_fill_handler(t, mask, with_free)
        _handler_tables[(mask, with_free)] = t
    return t


@ffi.def_extern()
def muon_py_event(userdata: Any, ev: Any) -> None:
    target = ffi.from_handle(userdata)
    loop = target.loop
    event = Event(loop, ev)
    try:
        kind = event.kind = lib.muon_event_get_kind(ev)
        fns = target.methods.get(kind)
        if fns is not None and kind != _WAKE:
            for f in fns:
                f(event)
        elif kind == _WAKE:
            loop._on_wake(event)
        if kind == _LINK_FINAL and loop._local_terms:
            loop._forget_terms(event)
    except BaseException as e:  # noqa: B036 - re-raised by run()
        loop._fail(e)
    finally:
        event._ev = _NULL


@ffi.def_extern()
def muon_py_free(userdata: Any) -> None:
    target = ffi.from_handle(userdata)
    loop = target.loop
    loop._keep.pop(id(target), None)
    if target.conn_key is not None:
        loop._conn_handlers.pop(target.conn_key, None)


@ffi.def_extern()
def muon_py_post(context: Any) -> None:
    loop = ffi.from_handle(context)
    loop._post_ran = True
    try:
        fn = loop._injected.popleft()
    except IndexError:
        return
    try:
        fn()
    except BaseException as e:  # noqa: B036 - re-raised by run()
        loop._fail(e)


# ------------------------------------------------------------------ handles


class _Handle:
    __slots__ = ("_loop", "_h")
    _what = "object"

    def __init__(self, loop: "EventLoop", h: Any) -> None:
        self._loop = loop
        self._h = h

    def _key(self) -> Tuple[int, int]:
        return (self._h.index, self._h.generation)

    def __eq__(self, other: object) -> bool:
        return (type(other) is type(self) and self._loop is other._loop  # type: ignore
                and self._key() == other._key())  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._key()))

    def __bool__(self) -> bool:
        return self._h.generation != 0

    def _check(self, rc: int, what: str) -> None:
        if rc != 0:
            if rc == lib.MUON_RESULT_STALE_HANDLE:
                raise StaleHandleError(rc, f"{type(self).__name__}.{what}",
                                       f"this {self._what} is gone (its final event has passed)")
            check(rc, f"{type(self).__name__}.{what}")

    @property
    def loop(self) -> "EventLoop":
        """The event loop this object belongs to."""
        return self._loop

    container = loop


class Connection(_Handle):
    """An AMQP connection (``EventLoop.connect``, or accepted by a listener)."""

    __slots__ = ()
    _what = "connection"

    @property
    def handler(self) -> Any:
        """The handler given to ``connect`` (None if none)."""
        return self._loop._conn_handlers.get(self._key())

    def receiver(self, address: Optional[str] = None, handler: Any = None,
                 dynamic: bool = False, name: Optional[str] = None,
                 credit_window: Optional[int] = None, auto_accept: Optional[bool] = None,
                 **options: Any) -> "Receiver":
        """Opens a receiving link from ``address`` (``None`` with
        ``dynamic=True``: the peer makes a temporary address, which is
        ``remote_source.address`` once the link is open). Its events go to
        ``handler``, else to the connection's handler, else to the loop's.
        ``credit_window``: credit granted and topped up automatically
        (default 10; 0: by hand with ``flow``); ``auto_accept`` (default: the
        handler's ``auto_accept`` attribute, else True): accept each message
        when ``on_message`` returns without settling it."""
        if auto_accept is None and handler is not None:
            auto_accept = getattr(handler, "auto_accept", None)
        if credit_window is None and handler is not None:
            credit_window = getattr(handler, "credit_window", None)
        opts = _link_options(name, dynamic, credit_window, auto_accept, options)
        return Receiver(self._loop, self._open_link("receiver", address, opts, handler))

    def sender(self, address: Optional[str], handler: Any = None, name: Optional[str] = None,
               **options: Any) -> "Sender":
        """Opens a sending link to ``address`` (``None``: the anonymous relay,
        each message saying its own ``address``). Its events go to
        ``handler``, else to the connection's handler, else to the loop's."""
        opts = _link_options(name, False, None, None, options)
        return Sender(self._loop, self._open_link("sender", address, opts, handler))

    def _open_link(self, kind: str, address: Optional[str], opts: Any, handler: Any) -> Any:
        """muon_connection_open_<kind> ("sender" or "receiver") with `opts`
        (freed here) and `handler`'s table; the new link's handle."""
        out = ffi.new(f"muon_{kind} *")
        t = self._loop._target([handler]) if handler is not None else None
        try:
            rc = getattr(lib, f"muon_connection_open_{kind}")(
                self._h, _opt_text(address, "address"), opts,
                _table(t.mask()) if t else _NULL, self._loop._userdata(t) if t else _NULL, out)
        finally:
            if opts != _NULL:
                lib.muon_link_options_free(opts)
        if rc != 0 and t is not None:
            self._loop._keep.pop(id(t), None)
        self._check(rc, kind)
        return out[0]

    def sender_to(self, address: str) -> "Sender":
        """The sender to ``address`` on this connection: opened by the first
        call, reused while open (a server's senders to its reply-to
        addresses)."""
        out = ffi.new("muon_sender *")
        self._check(lib.muon_connection_sender_to(self._h, _text(address, "address"), out),
                    "sender_to")
        return Sender(self._loop, out[0])

    def close(self, condition: Optional[Condition] = None) -> None:
        """Closes the connection (with an error condition if given)."""
        if condition is None:
            self._check(lib.muon_connection_close(self._h), "close")
        else:
            self._check(lib.muon_connection_close_with(
                self._h, _text(condition.name, "condition name"),
                _opt_text(condition.description, "condition description")), "close")

    def abort(self) -> None:
        """Drops the transport now, without an AMQP close."""
        self._check(lib.muon_connection_abort(self._h), "abort")

    @property
    def is_open(self) -> bool:
        """Whether the connection is open (both sides)."""
        return bool(lib.muon_connection_is_open(self._h))

    @property
    def remote_condition(self) -> Optional[Condition]:
        """The error the peer closed the connection with, if any."""
        return _condition(lib.muon_connection_remote_condition(self._h))

    @property
    def remote_container(self) -> Optional[str]:
        """The peer's container-id (None before it opened)."""
        return _str(lib.muon_connection_remote_container_id(self._h))

    @property
    def user(self) -> Optional[str]:
        """The authenticated user of a connection a listener accepted."""
        return _str(lib.muon_connection_user(self._h))


def _link_options(name: Any, dynamic: bool, window: Any, auto_accept: Any,
                  options: Dict[str, Any]) -> Any:
    if name is None and not dynamic and window is None and auto_accept is None and not options:
        return _NULL
    out = ffi.new("muon_link_options **")
    check(lib.muon_link_options_new(out), "muon_link_options_new")
    o = out[0]
    try:
        if name is not None:
            check(lib.muon_link_options_set_name(o, _text(name, "name")), "name")
        if dynamic:
            lib.muon_link_options_set_dynamic(o, True)
        if window is not None:
            if not isinstance(window, int) or not 0 <= window < 2**32:
                raise ValueError(f"credit_window must be from 0 to 2**32-1, not {window!r}")
            lib.muon_link_options_set_credit_window(o, window)
        if auto_accept is not None:
            lib.muon_link_options_set_auto_accept(o, bool(auto_accept))
        for k, v in options.items():
            if k == "auto_settle":
                lib.muon_link_options_set_auto_settle(o, bool(v))
            elif k == "presettled":
                lib.muon_link_options_set_presettled(o, bool(v))
            elif k == "selector":
                check(lib.muon_link_options_set_selector(o, _text(v, "selector")), "selector")
            elif k == "max_queued":
                lib.muon_link_options_set_max_queued(o, int(v))
            elif k == "handshake":
                lib.muon_link_options_set_handshake(o, bool(v))
            elif k == "capabilities":
                for c in v:
                    check(lib.muon_link_options_add_capability(o, _text(c, "capability")),
                          "capabilities")
            elif k == "properties":
                pv = to_c(v, "properties")
                rc = lib.muon_link_options_set_properties(o, pv)
                lib.muon_value_free(pv)
                check(rc, "properties")
            else:
                raise TypeError(f"unknown link option {k!r}")
    except BaseException:
        lib.muon_link_options_free(o)
        raise
    return o


class Link(_Handle):
    """What senders and receivers share."""

    __slots__ = ()
    _what = "link"
    is_sender = False
    is_receiver = False

    @property
    def connection(self) -> Connection:
        """The connection the link is on."""
        f = lib.muon_receiver_connection if self.is_receiver else lib.muon_sender_connection
        return Connection(self._loop, f(self._h))

    @property
    def name(self) -> Optional[str]:
        """The link's name."""
        f = lib.muon_receiver_name if self.is_receiver else lib.muon_sender_name
        return _str(f(self._h))

    @property
    def remote_source(self) -> Terminus:
        """The source the peer attached with (``.address``)."""
        f = (lib.muon_receiver_remote_source if self.is_receiver
             else lib.muon_sender_remote_source)
        return Terminus(f(self._h))

    @property
    def remote_target(self) -> Terminus:
        """The target the peer attached with (``.address``)."""
        f = (lib.muon_receiver_remote_target if self.is_receiver
             else lib.muon_sender_remote_target)
        return Terminus(f(self._h))

    @property
    def remote_condition(self) -> Optional[Condition]:
        """The error the peer closed the link with, if any."""
        f = (lib.muon_receiver_remote_condition if self.is_receiver
             else lib.muon_sender_remote_condition)
        return _condition(f(self._h))

    @property
    def source(self) -> "LocalTerminus":
        """This side's source: a sender's address can be set while the peer's
        attach is handled (``on_link_remote_attach``), e.g. for a dynamic one."""
        return LocalTerminus(self, True)

    @property
    def target(self) -> "LocalTerminus":
        """This side's target: a receiver's address can be set while the
        peer's attach is handled (``on_link_remote_attach``)."""
        return LocalTerminus(self, False)

    def close(self, condition: Optional[Condition] = None) -> None:
        """Closes the link (with an error condition if given)."""
        if condition is None:
            f = lib.muon_receiver_close if self.is_receiver else lib.muon_sender_close
            self._check(f(self._h), "close")
        else:
            f = lib.muon_receiver_close_with if self.is_receiver else lib.muon_sender_close_with
            self._check(f(self._h, _text(condition.name, "condition name"),
                          _opt_text(condition.description, "condition description")), "close")

    def detach(self) -> None:
        """Detaches the link without closing it."""
        f = lib.muon_receiver_detach if self.is_receiver else lib.muon_sender_detach
        self._check(f(self._h), "detach")


class LocalTerminus:
    """A link's own source or target. Setting ``address`` sets a sender's
    source or a receiver's target (what a peer's dynamic or unnamed node is
    called); the other two carry what muon's handshake answers by itself,
    and setting them only records the value."""

    __slots__ = ("_link", "_source")

    def __init__(self, link: "Link", source: bool) -> None:
        self._link = link
        self._source = source

    def _key(self) -> Tuple[bool, int, int, bool]:
        return (self._link.is_sender, self._link._h.index, self._link._h.generation,
                self._source)

    @property
    def address(self) -> Optional[str]:
        """The address set here (None if none was)."""
        return self._link._loop._local_terms.get(self._key())

    @address.setter
    def address(self, value: Optional[str]) -> None:
        link = self._link
        if link.is_sender and self._source:
            link._check(lib.muon_sender_set_source_address(link._h, _opt_text(value, "address")),
                        "source.address")
        elif link.is_receiver and not self._source:
            link._check(lib.muon_receiver_set_target_address(link._h,
                                                             _opt_text(value, "address")),
                        "target.address")
        terms = link._loop._local_terms
        if value is None:
            terms.pop(self._key(), None)
        else:
            terms[self._key()] = value


class Sender(Link):
    """A sending link."""

    __slots__ = ()
    _what = "sender"
    is_sender = True

    def send(self, message: Message) -> "Delivery":
        """Sends ``message`` now if the link has credit, else queues it until
        it has (see ``credit``). Returns its delivery."""
        m = to_c_message(message)
        out = ffi.new("muon_delivery *")
        rc = lib.muon_sender_send(self._h, m, out)
        lib.muon_message_free(m)
        if rc != 0:
            self._check(rc, "send")
        return Delivery(self._loop, out[0])

    def send_msg(self, message: Message, handler: Any = None) -> "Delivery":
        """The tutorial's name for :meth:`send` (``handler`` is accepted for
        its sake and not used: outcomes go to the link's handler)."""
        return self.send(message)

    @property
    def credit(self) -> int:
        """How many more messages may be sent without queueing (0 once the
        link is gone)."""
        return lib.muon_sender_credit(self._h)

    @property
    def queued(self) -> int:
        """Messages held until credit arrives."""
        return lib.muon_sender_queued(self._h)

    def offered(self, count: int) -> None:
        """Tells the peer how many messages are ready to send."""
        if not isinstance(count, int) or not 0 <= count < 2**32:
            raise ValueError(f"offered takes a count from 0 to 2**32-1, not {count!r}")
        self._check(lib.muon_sender_offered(self._h, count), "offered")

    def drained(self) -> None:
        """Answers a drain request: nothing more to send."""
        self._check(lib.muon_sender_drained(self._h), "drained")


class Receiver(Link):
    """A receiving link."""

    __slots__ = ()
    _what = "receiver"
    is_receiver = True

    def flow(self, credit: int) -> None:
        """Grants ``credit`` more messages."""
        if not isinstance(credit, int) or not 0 <= credit < 2**32:
            raise ValueError(f"flow takes credit from 0 to 2**32-1, not {credit!r}")
        self._check(lib.muon_receiver_flow(self._h, credit), "flow")

    @property
    def credit(self) -> int:
        """The credit the peer has."""
        return lib.muon_receiver_credit(self._h)

    def set_credit_window(self, window: int) -> None:
        """Credit kept topped up automatically (0: off)."""
        self._check(lib.muon_receiver_set_credit_window(self._h, window), "set_credit_window")


class Delivery(_Handle):
    """A message in transit: settle it here with an outcome."""

    __slots__ = ()
    _what = "delivery"

    def accept(self) -> None:
        """Accepts the message (and settles)."""
        self._check(lib.muon_delivery_accept(self._h), "accept")

    def reject(self, condition: Optional[Condition] = None) -> None:
        """Rejects the message (and settles)."""
        if condition is None:
            self._check(lib.muon_delivery_reject(self._h, _NULL, _NULL), "reject")
        else:
            self._check(lib.muon_delivery_reject(
                self._h, _text(condition.name, "condition name"),
                _opt_text(condition.description, "condition description")), "reject")

    def release(self) -> None:
        """Releases the message to be delivered again (and settles)."""
        self._check(lib.muon_delivery_release(self._h), "release")

    def modify(self, failed: bool = True, undeliverable_here: bool = False) -> None:
        """Gives the modified outcome (and settles)."""
        self._check(lib.muon_delivery_modify(self._h, failed, undeliverable_here), "modify")

    def settle(self) -> None:
        """Settles without (another) outcome."""
        self._check(lib.muon_delivery_settle(self._h), "settle")

    @property
    def remote_settled(self) -> bool:
        """Whether the peer settled it."""
        return bool(lib.muon_delivery_is_remote_settled(self._h))

    @property
    def tag(self) -> bytes:
        """The delivery tag."""
        buf = ffi.new("uint8_t[32]")
        n = lib.muon_delivery_tag(self._h, buf, 32)
        return ffi.buffer(buf)[:min(n, 32)]


class Acceptor(_Handle):
    """A listener (``EventLoop.listen``)."""

    __slots__ = ()
    _what = "listener"

    @property
    def port(self) -> int:
        """The port it listens on (the one chosen, for port 0)."""
        return lib.muon_listener_port(self._h)

    def close(self) -> None:
        """Stops listening (closing an already closed listener does nothing)."""
        rc = lib.muon_listener_close(self._h)
        if rc not in (0, lib.MUON_RESULT_STALE_HANDLE):
            self._check(rc, "close")


class Timer(_Handle):
    """A scheduled timer (``EventLoop.schedule``)."""

    __slots__ = ()
    _what = "timer"

    def cancel(self) -> None:
        """Cancels the timer (after it fired, does nothing)."""
        rc = lib.muon_timer_cancel(self._h)
        if rc not in (0, lib.MUON_RESULT_STALE_HANDLE):
            self._check(rc, "cancel")


# ------------------------------------------------------------------ events


class Event:
    """What an ``on_<name>(event)`` method is given: ``type`` (the event's
    name), the objects it concerns (``connection``, ``link``, ``sender``,
    ``receiver``, ``delivery``, ``message``, ``condition``, ``acceptor``,
    ``timer``) and ``loop`` (also ``container``). The C event is borrowed for
    the call: read what you need during it (a ``message`` read during the
    call may be kept)."""

    __slots__ = ("_loop", "_ev", "kind", "_message", "_link", "_conn", "_delivery")

    def __init__(self, loop: "EventLoop", ev: Any) -> None:
        self._loop = loop
        self._ev = ev
        self.kind = 0
        self._message: Any = None
        self._link: Any = None
        self._conn: Any = None
        self._delivery: Any = None

    def _live(self, what: str) -> Any:
        if self._ev == _NULL:
            raise RuntimeError(f"event.{what} read after the callback returned: "
                               "keep what you need during the call")
        return self._ev

    @property
    def type(self) -> str:
        """The event's name (``"message"``, ``"link_flow"``, ...)."""
        return EVENT_NAMES[self.kind]

    def __repr__(self) -> str:
        return f"Event({self.type})"

    @property
    def loop(self) -> "EventLoop":
        """The event loop."""
        return self._loop

    container = loop

    @property
    def connection(self) -> Optional[Connection]:
        """The connection the event concerns."""
        if self._conn is None:
            h = lib.muon_event_connection(self._live("connection"))
            self._conn = Connection(self._loop, h) if h.generation else False
        return self._conn or None

    @property
    def link(self) -> Optional[Link]:
        """The sender or receiver the event concerns."""
        if self._link is None:
            ev = self._live("link")
            if lib.muon_event_is_receiver(ev):
                h = lib.muon_event_receiver(ev)
                self._link = Receiver(self._loop, h) if h.generation else False
            else:
                h = lib.muon_event_sender(ev)
                self._link = Sender(self._loop, h) if h.generation else False
        return self._link or None

    @property
    def sender(self) -> Optional[Sender]:
        """The sender the event concerns (None for a receiver's)."""
        link = self.link
        return link if isinstance(link, Sender) else None

    @property
    def receiver(self) -> Optional[Receiver]:
        """The receiver the event concerns (None for a sender's)."""
        link = self.link
        return link if isinstance(link, Receiver) else None

    @property
    def delivery(self) -> Optional[Delivery]:
        """The delivery the event concerns."""
        if self._delivery is None:
            h = lib.muon_event_delivery(self._live("delivery"))
            self._delivery = Delivery(self._loop, h) if h.generation else False
        return self._delivery or None

    @property
    def message(self) -> Optional[Message]:
        """The message that arrived (``on_message``) or was handed back."""
        if self._message is None:
            m = lib.muon_event_message(self._live("message"))
            self._message = from_c_message(m) if m != _NULL else False
        return self._message or None

    @property
    def condition(self) -> Optional[Condition]:
        """The error condition the event carries, if any."""
        return _condition(lib.muon_event_condition(self._live("condition")))

    @property
    def acceptor(self) -> Optional[Acceptor]:
        """The listener the event concerns."""
        h = lib.muon_event_listener(self._live("acceptor"))
        return Acceptor(self._loop, h) if h.generation else None

    @property
    def timer(self) -> Optional[Timer]:
        """The timer that fired."""
        h = lib.muon_event_timer(self._live("timer"))
        return Timer(self._loop, h) if h.generation else None


# ------------------------------------------------------------------ the loop


_CONNECT_OPTIONS = (
    "container_id", "hostname", "user", "password", "sasl_mechanisms", "allow_insecure_plain",
    "sasl_enabled", "idle_timeout", "max_frame_size", "reconnect", "failover", "ca",
    "cert", "key", "tls_insecure_skip_verify", "handshake", "users", "allow_anonymous", "token",
)


def _connection_options(url: str, options: Dict[str, Any]) -> Any:
    for k in options:
        if k not in _CONNECT_OPTIONS:
            raise TypeError(f"unknown connection option {k!r} "
                            f"(known: {', '.join(_CONNECT_OPTIONS)})")
    out = ffi.new("muon_connection_options **")
    check(lib.muon_connection_options_new(out), "muon_connection_options_new")
    o = out[0]
    try:
        def ok(rc: int, what: str) -> None:
            if rc != 0:
                err = lib.muon_connection_options_error(o)
                raise ValueError(f"{what}: {_str(err) or ffi.string(lib.muon_result_message(rc)).decode()}")

        g = options.get
        if g("container_id") is not None:
            ok(lib.muon_connection_options_set_container_id(
                o, _text(g("container_id"), "container_id")), "container_id")
        if g("hostname") is not None:
            ok(lib.muon_connection_options_set_hostname(o, _text(g("hostname"), "hostname")),
               "hostname")
        if g("user") is not None:
            ok(lib.muon_connection_options_set_user(o, _text(g("user"), "user")), "user")
        if g("password") is not None:
            ok(lib.muon_connection_options_set_password(o, _text(g("password"), "password")),
               "password")
        if g("token") is not None:
            ok(lib.muon_connection_options_set_token(o, _text(g("token"), "token")), "token")
        if g("sasl_mechanisms") is not None:
            ok(lib.muon_connection_options_set_sasl_mechanisms(
                o, _text(g("sasl_mechanisms"), "sasl_mechanisms")), "sasl_mechanisms")
        allow = g("allow_insecure_plain")
        if allow is None:  # as the C examples: a user in the URL may log in in clear
            allow = "@" in url.split("//", 1)[-1].split("/", 1)[0]
        lib.muon_connection_options_set_allow_insecure_plain(o, bool(allow))
        if g("sasl_enabled") is not None:
            lib.muon_connection_options_set_sasl_enabled(o, bool(g("sasl_enabled")))
        if g("idle_timeout") is not None:
            lib.muon_connection_options_set_idle_timeout(o, int(g("idle_timeout") * 1000))
        if g("max_frame_size") is not None:
            ok(lib.muon_connection_options_set_max_frame_size(o, int(g("max_frame_size"))),
               "max_frame_size")
        if g("handshake") is not None:
            lib.muon_connection_options_set_handshake(o, bool(g("handshake")))
        r = g("reconnect")
        if r:
            initial, maximum, attempts = (0.1, 10.0, 0) if r is True else tuple(r)
            ok(lib.muon_connection_options_set_reconnect(
                o, int(initial * 1000), int(maximum * 1000), int(attempts)), "reconnect")
        for u in g("failover") or ():
            ok(lib.muon_connection_options_add_failover_url(o, _text(u, "failover URL")),
               "failover")
        if g("ca") is not None:
            ok(lib.muon_connection_options_add_tls_ca_file(o, _text(g("ca"), "ca")), "ca")
        if g("cert") is not None:
            if g("key") is None:
                raise ValueError("cert needs key (the private key's file)")
            ok(lib.muon_connection_options_set_tls_cert_file(
                o, _text(g("cert"), "cert"), _text(g("key"), "key")), "cert")
        if g("tls_insecure_skip_verify"):
            lib.muon_connection_options_set_tls_insecure_skip_verify(o, True)
        for user, password in (g("users") or {}).items():
            ok(lib.muon_connection_options_add_user(o, _text(user, "user"),
                                                    _text(password, "password")), "users")
        if g("allow_anonymous") is not None:
            lib.muon_connection_options_set_allow_anonymous(o, bool(g("allow_anonymous")))
    except BaseException:
        lib.muon_connection_options_free(o)
        raise
    return o


class EventLoop:
    """An event loop with its handlers, as in Qpid Proton's Python tutorial.

    ``handlers`` get every event that no more specific handler (a link's,
    then its connection's) has a method for, each in turn. Use the loop from
    the thread that made it; ``inject`` is the way in from other threads.
    """

    def __init__(self, *handlers: Any) -> None:
        out = ffi.new("muon_loop **")
        check(lib.muon_loop_new(out), "muon_loop_new")
        self._lp = out[0]
        self._keep: Dict[int, Any] = {}
        self._conn_handlers: Dict[Tuple[int, int], Any] = {}
        self._error: Optional[BaseException] = None
        self._injected: "collections.deque[Callable[[], Any]]" = collections.deque()
        self._post_ran = False
        self._running = False
        self._local_terms: Dict[Tuple[bool, int, int, bool], str] = {}
        self._self_handle = ffi.new_handle(self)
        self.handlers = list(handlers)
        self._set_loop_handler()

    def _set_loop_handler(self) -> None:
        t = _Target(self, self.handlers)
        check(lib.muon_loop_set_handler(self._lp, _table(t.mask(1 << _WAKE | 1 << _LINK_FINAL)), self._userdata(t)),
              "muon_loop_set_handler")

    def _forget_terms(self, event: Event) -> None:
        link = event.link
        if link is not None:
            for source in (True, False):
                self._local_terms.pop((link.is_sender, link._h.index, link._h.generation,
                                       source), None)

    def _target(self, handlers: Iterable[Any]) -> _Target:
        return _Target(self, handlers)

    def _userdata(self, t: _Target) -> Any:
        h = ffi.new_handle(t)
        self._keep[id(t)] = h
        return h

    def _fail(self, e: BaseException) -> None:
        if self._error is None:
            self._error = e
        lib.muon_loop_stop(self._lp)

    def _on_wake(self, event: Event) -> None:
        if self._post_ran:
            self._post_ran = False
            return
        # A signal (SIGINT) woke the loop: run its Python handler here.
        h = signal.getsignal(signal.SIGINT)
        if callable(h):
            h(signal.SIGINT, None)
        elif h != signal.SIG_IGN:
            raise KeyboardInterrupt

    def __del__(self) -> None:
        lp = getattr(self, "_lp", None)
        if lp is not None and lp != _NULL:
            self._lp = _NULL
            lib.muon_loop_free(lp)

    def _live(self) -> Any:
        if self._lp == _NULL:
            raise MuonError(lib.MUON_RESULT_NULL_ARGUMENT, "EventLoop", "the loop was closed")
        return self._lp

    def connect(self, url: str, handler: Any = None, **options: Any) -> Connection:
        """Connects to ``url`` (``[amqp[s]://][user[:password]@]host[:port]``;
        a path is ignored). The connection's events go to ``handler`` (and
        those it has no method for to the loop's handlers). Options:
        ``container_id``, ``hostname``, ``user``, ``password``, ``token``,
        ``sasl_mechanisms``, ``allow_insecure_plain``, ``sasl_enabled``,
        ``idle_timeout`` (s), ``max_frame_size``, ``reconnect`` (True, or
        ``(initial_s, max_s, attempts)``), ``failover`` (URLs), ``ca``,
        ``cert``, ``key``, ``tls_insecure_skip_verify``, ``handshake``. A connection
        that cannot be made is reported by ``on_disconnected``."""
        u = _text(url, "url")
        opts = _connection_options(url, options)
        out = ffi.new("muon_connection *")
        t = _Target(self, [handler]) if handler is not None else None
        try:
            rc = lib.muon_loop_connect(self._live(), u, opts, _table(t.mask()) if t else _NULL,
                                       self._userdata(t) if t else _NULL, out)
        finally:
            lib.muon_connection_options_free(opts)
        if rc != 0:
            if t is not None:
                self._keep.pop(id(t), None)
            if rc == lib.MUON_RESULT_INVALID_ARGUMENT:
                raise ValueError(_str(lib.muon_last_error()) or f"bad URL {url!r}")
            check(rc, "EventLoop.connect")
        conn = Connection(self, out[0])
        if t is not None:
            t.conn_key = conn._key()
            self._conn_handlers[t.conn_key] = handler
        return conn

    def listen(self, url: str, handler: Any = None, **options: Any) -> Acceptor:
        """Listens at ``url`` (``host:port``, port 0: any free port, see
        ``Acceptor.port``). Events of accepted connections go to ``handler``,
        else to the loop's handlers; muon's built-ins answer the peers' opens
        and grant credit (the tutorial's Handshaker and FlowController)."""
        u = _text(url, "url")
        opts = _connection_options(url, options)
        out = ffi.new("muon_listener *")
        t = _Target(self, [handler]) if handler is not None else None
        try:
            rc = lib.muon_loop_listen(self._live(), u, opts, _table(t.mask()) if t else _NULL,
                                      self._userdata(t) if t else _NULL, out)
        finally:
            lib.muon_connection_options_free(opts)
        if rc != 0:
            if t is not None:
                self._keep.pop(id(t), None)
            why = _str(lib.muon_last_error())
            if rc == lib.MUON_RESULT_INVALID_ARGUMENT:
                raise ValueError(why or f"bad URL {url!r}")
            raise OSError(why or f"cannot listen at {url}")
        return Acceptor(self, out[0])

    def schedule(self, deadline_or_delay: float, handler: Any = None,
                 connection: Optional[Connection] = None) -> Timer:
        """Calls ``on_timer(event)`` after a delay (seconds; a number larger
        than 10**9 is taken as a deadline in ``time.time()`` seconds): on
        ``handler``, else on ``connection``'s handler, else on the loop's
        handlers."""
        d = deadline_or_delay
        if not isinstance(d, (int, float)) or isinstance(d, bool):
            raise TypeError(f"schedule takes seconds (a number), not {type(d).__name__}")
        if d > 1e9:
            d -= time.time()
        delay_ms = max(0, int(round(d * 1000)))
        if handler is None and connection is not None:
            handler = connection.handler
        t = _Target(self, [handler] if handler is not None else self.handlers)
        out = ffi.new("muon_timer *")
        rc = lib.muon_loop_schedule(self._live(), delay_ms,
                                    _table(t.mask() | (1 << 17)), self._userdata(t), out)
        if rc != 0:
            self._keep.pop(id(t), None)
            check(rc, "EventLoop.schedule")
        return Timer(self, out[0])

    def inject(self, fn: Callable[[], Any]) -> None:
        """Runs ``fn()`` on the loop's thread, soon (thread-safe: the way for
        another thread to act on the loop's objects)."""
        if not callable(fn):
            raise TypeError(f"inject takes a callable, not {type(fn).__name__}")
        self._injected.append(fn)
        check(lib.muon_loop_post(self._live(), lib.muon_py_post, self._self_handle),
              "EventLoop.inject")

    def stop(self) -> None:
        """Makes ``run()`` return once the current callback returns (from
        another thread: ``loop.inject(loop.stop)``)."""
        lib.muon_loop_stop(self._live())

    def run(self) -> None:
        """Runs until no connection, listener or timer is left, or ``stop()``.
        An exception raised by a handler stops the loop and is raised here,
        with its traceback. Ctrl-C (SIGINT) while running raises
        KeyboardInterrupt here (or calls the Python SIGINT handler set)."""
        lp = self._live()
        main = threading.current_thread() is threading.main_thread()
        prev = signal.getsignal(signal.SIGINT) if main else None
        if main and prev not in (None, signal.SIG_IGN):
            check(lib.muon_loop_wake_on_signal(lp, signal.SIGINT), "EventLoop.run")
        self._running = True
        try:
            rc = lib.muon_loop_run(lp)
        finally:
            self._running = False
            if main and prev not in (None, signal.SIG_IGN):
                signal.signal(signal.SIGINT, prev)
        e, self._error = self._error, None
        if e is not None:
            raise e
        check(rc, "EventLoop.run")

    def close(self) -> None:
        """Frees the loop (open connections are dropped without a close).
        The loop cannot be used after."""
        lp, self._lp = self._lp, _NULL
        if lp != _NULL:
            lib.muon_loop_free(lp)
        self._keep.clear()
        self._conn_handlers.clear()
