"""``muon.proton.reactor``: Proton's ``Container`` on muon's event loop."""

from __future__ import annotations

from typing import Any, Optional, Union


from .._loop import Acceptor, Connection, Event, EventLoop, Receiver, Sender, Timer
from .._muon import ffi
from . import Url

__all__ = ["Container", "DynamicNodeProperties"]


def _call(h: Any, name: str, event: Event) -> None:
    f = getattr(h, name, None)
    if f is not None:
        f(event)


class _Adapter:
    """Turns muon's events into the ones a Proton ``MessagingHandler`` has
    (``on_sendable`` for a sender's flow with credit, ``on_link_opening``
    for a peer's attach, ...). Like Proton, the most specific object with a
    handler (link, then connection, then container) gets all its events."""

    def __init__(self, handler: Any) -> None:
        self.h = handler
        # The receivers opened with this handler take its prefetch and auto_accept.
        self.credit_window = getattr(handler, "prefetch", None)
        self.auto_accept = getattr(handler, "auto_accept", None)

    def on_connection_remote_open(self, event: Event) -> None:
        _call(self.h, "on_connection_opened", event)

    def on_connection_remote_close(self, event: Event) -> None:
        if event.condition is not None:
            _call(self.h, "on_connection_error", event)
        _call(self.h, "on_connection_closed", event)

    def on_link_remote_attach(self, event: Event) -> None:
        _call(self.h, "on_link_opening", event)

    def on_link_remote_open(self, event: Event) -> None:
        _call(self.h, "on_link_opened", event)

    def on_link_remote_close(self, event: Event) -> None:
        if event.condition is not None:
            _call(self.h, "on_link_error", event)
        _call(self.h, "on_link_closed", event)

    def on_link_flow(self, event: Event) -> None:
        s = event.sender
        if s is not None and s.credit > 0:
            _call(self.h, "on_sendable", event)

    def on_message(self, event: Event) -> None:
        _call(self.h, "on_message", event)

    def on_accepted(self, event: Event) -> None:
        _call(self.h, "on_accepted", event)

    def on_rejected(self, event: Event) -> None:
        _call(self.h, "on_rejected", event)

    def on_released(self, event: Event) -> None:
        _call(self.h, "on_released", event)

    on_modified = on_released

    def on_settled(self, event: Event) -> None:
        _call(self.h, "on_settled", event)

    def on_disconnected(self, event: Event) -> None:
        _call(self.h, "on_transport_error", event)
        _call(self.h, "on_disconnected", event)

    def on_timer(self, event: Event) -> None:
        _call(self.h, "on_timer", event)


class DynamicNodeProperties:
    """Accepted for Proton's sake; muon's link options have no dynamic-node
    properties yet, so ``create_receiver`` refuses a non-empty one."""

    def __init__(self, props: Optional[dict] = None) -> None:
        self.properties = dict(props or {})


class Container(EventLoop):
    """Proton's ``Container``: an event loop whose handlers are Proton-style
    (``on_start``, ``on_sendable``, ...). ``event.container`` is the
    container."""

    def __init__(self, *handlers: Any, **kwargs: Any) -> None:
        self.proton_handlers = [h for h in handlers if h is not None]
        super().__init__(*[_Adapter(h) for h in self.proton_handlers])

    def run(self) -> None:
        """Calls each handler's ``on_start``, then runs until nothing is left."""
        start = Event(self, ffi.NULL)
        for h in self.proton_handlers:
            _call(h, "on_start", start)
        super().run()

    def connect(self, url: Any = None, urls: Any = None, address: Any = None,
                handler: Any = None, reconnect: Any = None, heartbeat: Any = None,
                **options: Any) -> Connection:
        """Connects to ``url`` (a str or a Url; its path is not used here)."""
        target = url if url is not None else (urls[0] if urls else address)
        if target is None:
            raise ValueError("connect needs a url")
        if urls and len(urls) > 1:
            options["failover"] = [str(u) for u in urls[1:]]
        if reconnect:
            options["reconnect"] = True
        if heartbeat is not None:
            options["idle_timeout"] = heartbeat
        return super().connect(str(target), handler=_Adapter(handler) if handler else None,
                               **options)

    def listen(self, url: Any, ssl_domain: Any = None, handler: Any = None,
               **options: Any) -> Acceptor:
        """Listens at ``url`` (a str or a Url)."""
        return super().listen(str(url), handler=_Adapter(handler) if handler else None,
                              **options)

    def _context(self, context: Union[str, Url, Connection], address: Any) -> Any:
        if isinstance(context, Connection):
            return context, address
        u = Url(context)
        return self.connect(str(context)), address if address is not None else u.path

    def create_sender(self, context: Any, target: Optional[str] = None,
                      source: Optional[str] = None, name: Optional[str] = None,
                      handler: Any = None, tags: Any = None, options: Any = None) -> Sender:
        """A sender on ``context`` (a Connection, or a URL to connect to whose
        path is the target) to ``target``."""
        conn, address = self._context(context, target)
        return conn.sender(address, handler=_Adapter(handler) if handler else None, name=name)

    def create_receiver(self, context: Any, source: Optional[str] = None,
                        target: Optional[str] = None, name: Optional[str] = None,
                        dynamic: bool = False, handler: Any = None,
                        options: Any = None) -> Receiver:
        """A receiver on ``context`` (a Connection, or a URL to connect to
        whose path is the source) from ``source`` (or a dynamic node)."""
        if isinstance(options, DynamicNodeProperties) and options.properties:
            raise NotImplementedError("dynamic node properties are not supported by muon yet")
        conn, address = self._context(context, source)
        return conn.receiver(None if dynamic else address,
                             handler=_Adapter(handler) if handler else None, dynamic=dynamic,
                             name=name)

    def schedule(self, delay: float, handler: Any = None,  # type: ignore[override]
                 connection: Any = None) -> Timer:
        """Calls ``on_timer`` on ``handler`` (else the container's handlers)
        after ``delay`` seconds."""
        return super().schedule(delay, handler=_Adapter(handler) if handler else None,
                                connection=connection)


