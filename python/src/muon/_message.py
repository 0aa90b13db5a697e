"""``muon.Message``: an AMQP message as plain Python attributes."""

from __future__ import annotations

import uuid
from typing import Any, Dict, Optional

from ._codec import from_c, to_c
from ._muon import ffi, lib
from .types import ulong

__all__ = ["Message"]

_NULL = ffi.NULL


class Message:
    """An AMQP 1.0 message.

    ``body`` is any value with an AMQP mapping (see :mod:`muon.types`);
    ``properties`` are the application properties (str keys),
    ``annotations`` the message annotations and ``instructions`` the delivery
    annotations (str or symbol keys), ``footer`` the footer. Header:
    ``durable``, ``priority`` (0-255, default 4), ``ttl`` (seconds, float),
    ``first_acquirer``, ``delivery_count``. Properties section: ``id``,
    ``user_id`` (bytes), ``address`` (the ``to`` field), ``subject``,
    ``reply_to``, ``correlation_id``, ``content_type``, ``content_encoding``,
    ``expiry_time`` and ``creation_time`` (seconds since the epoch, float),
    ``group_id``, ``group_sequence``, ``reply_to_group_id``. A body of
    ``bytes`` is sent as an amqp-value section holding binary (as Qpid Proton
    does unless ``inferred`` is set, when it is a data section).
    """

    __slots__ = (
        "body", "id", "correlation_id", "reply_to", "subject", "address", "user_id",
        "content_type", "content_encoding", "creation_time", "expiry_time", "group_id",
        "group_sequence", "reply_to_group_id", "durable", "priority", "ttl",
        "first_acquirer", "delivery_count", "properties", "annotations", "instructions",
        "footer", "inferred",
    )

    def __init__(self, body: Any = None, *, id: Any = None, correlation_id: Any = None,
                 reply_to: Optional[str] = None, subject: Optional[str] = None,
                 address: Optional[str] = None, user_id: Optional[bytes] = None,
                 content_type: Optional[str] = None, content_encoding: Optional[str] = None,
                 creation_time: Optional[float] = None, expiry_time: Optional[float] = None,
                 group_id: Optional[str] = None, group_sequence: Optional[int] = None,
                 reply_to_group_id: Optional[str] = None, durable: bool = False,
                 priority: int = 4, ttl: Optional[float] = None, first_acquirer: bool = False,
                 delivery_count: int = 0, properties: Optional[Dict[str, Any]] = None,
                 annotations: Optional[Dict[Any, Any]] = None,
                 instructions: Optional[Dict[Any, Any]] = None,
                 footer: Optional[Dict[Any, Any]] = None, inferred: bool = False) -> None:
        self.body = body
        self.id = id
        self.correlation_id = correlation_id
        self.reply_to = reply_to
        self.subject = subject
        self.address = address
        self.user_id = user_id
        self.content_type = content_type
        self.content_encoding = content_encoding
        self.creation_time = creation_time
        self.expiry_time = expiry_time
        self.group_id = group_id
        self.group_sequence = group_sequence
        self.reply_to_group_id = reply_to_group_id
        self.durable = durable
        self.priority = priority
        self.ttl = ttl
        self.first_acquirer = first_acquirer
        self.delivery_count = delivery_count
        self.properties = properties
        self.annotations = annotations
        self.instructions = instructions
        self.footer = footer
        self.inferred = inferred

    @property
    def to(self) -> Optional[str]:
        """The ``to`` field (the same as ``address``)."""
        return self.address

    @to.setter
    def to(self, value: Optional[str]) -> None:
        self.address = value

    def __repr__(self) -> str:
        # The fields that are set (true), in the order Qpid Proton shows them.
        fields = []
        for name in ("inferred", "address", "reply_to", "durable", "ttl", "priority",
                     "first_acquirer", "delivery_count", "id", "correlation_id", "user_id",
                     "group_id", "group_sequence", "reply_to_group_id", "instructions",
                     "annotations", "properties", "body"):
            v = getattr(self, name)
            if v:
                fields.append(f"{name}={v!r}")
        return "Message(" + ", ".join(fields) + ")"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and all(
            getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None  # type: ignore[assignment]


def _check(rc: int, field: str, value: Any) -> None:
    if rc != 0:
        if rc == lib.MUON_RESULT_INVALID_UTF8:
            raise ValueError(f"Message.{field}: not valid UTF-8: {value!r}")
        raise ValueError(f"Message.{field}: cannot be set to {value!r} "
                         f"({ffi.string(lib.muon_result_message(rc)).decode()})")


def _text(value: Any, field: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"Message.{field} must be a str, not {type(value).__name__}")
    b = value.encode("utf-8", "surrogatepass")
    if b"\0" in b:
        raise ValueError(f"Message.{field}: text with a NUL character: {value!r}")
    return b


def _move(setter: Any, m: Any, value: Any, field: str) -> None:
    v = to_c(value, f"Message.{field}")
    rc = setter(m, v)
    if rc != 0:
        lib.muon_value_free(v)
        _check(rc, field, value)


def _set_id(setter: Any, m: Any, value: Any, field: str) -> None:
    """A message-id or correlation-id: ulong, uuid, binary or string; a plain
    int is taken as ulong (as Qpid Proton does)."""
    if type(value) is int:
        if not 0 <= value < 2**64:
            raise ValueError(f"Message.{field}: an integer id is an AMQP ulong "
                             f"(0 to 2**64-1), not {value}")
        value = ulong(value)
    elif not isinstance(value, (str, bytes, ulong, uuid.UUID)):
        raise TypeError(f"Message.{field} must be an int (ulong), str, bytes or uuid.UUID, "
                        f"not {type(value).__name__}")
    v = to_c(value, f"Message.{field}")
    rc = setter(m, v)
    if rc != 0:
        lib.muon_value_free(v)
        _check(rc, field, value)


def _keyed(setter: Any, m: Any, mapping: Any, field: str) -> None:
    if not isinstance(mapping, dict):
        raise TypeError(f"Message.{field} must be a dict, not {type(mapping).__name__}")
    for k, value in mapping.items():
        key = _text(k, f"{field} key")
        v = to_c(value, f"Message.{field}[{k!r}]")
        rc = setter(m, key, v)
        if rc != 0:
            lib.muon_value_free(v)
            _check(rc, field, value)


def _ms(seconds: Any, field: str) -> int:
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        raise TypeError(f"Message.{field} must be a number of seconds, "
                        f"not {type(seconds).__name__}")
    return int(round(seconds * 1000))


def to_c_message(msg: "Message") -> Any:
    """A new owned ``muon_message *`` for ``msg`` (the caller frees it)."""
    if type(msg) is not Message and not isinstance(msg, Message):
        raise TypeError(f"expected a muon.Message, not {type(msg).__name__}")
    m = lib.muon_py_message_new()
    if m == _NULL:
        raise MemoryError("muon_message_new failed")
    try:
        body = msg.body
        if type(body) is str:
            _check(lib.muon_message_set_body_string(m, _text(body, "body")), "body", body)
        elif msg.inferred and isinstance(body, (bytes, bytearray, memoryview)):
            b = bytes(body)
            _check(lib.muon_message_add_body_data(m, b, len(b)), "body", body)
        elif body is not None:
            _move(lib.muon_message_set_body, m, body, "body")
        if msg.id is not None:
            _set_id(lib.muon_message_set_id, m, msg.id, "id")
        if msg.correlation_id is not None:
            _set_id(lib.muon_message_set_correlation_id, m, msg.correlation_id,
                    "correlation_id")
        if msg.reply_to is not None:
            _check(lib.muon_message_set_reply_to(m, _text(msg.reply_to, "reply_to")),
                   "reply_to", msg.reply_to)
        if msg.subject is not None:
            _check(lib.muon_message_set_subject(m, _text(msg.subject, "subject")), "subject",
                   msg.subject)
        if msg.address is not None:
            _check(lib.muon_message_set_to(m, _text(msg.address, "address")), "address",
                   msg.address)
        if msg.properties:
            _keyed(lib.muon_message_set_property, m, msg.properties, "properties")
        if msg.annotations:
            _keyed(lib.muon_message_set_annotation, m, msg.annotations, "annotations")
        if msg.instructions:
            _keyed(lib.muon_message_set_delivery_annotation, m, msg.instructions,
                   "instructions")
        if msg.footer:
            _keyed(lib.muon_message_set_footer, m, msg.footer, "footer")
        if msg.durable:
            lib.muon_message_set_durable(m, True)
        if msg.priority != 4:
            p = msg.priority
            if not isinstance(p, int) or isinstance(p, bool):
                raise TypeError(f"Message.priority must be an int, not {type(p).__name__}")
            if not 0 <= p <= 255:
                raise ValueError(f"Message.priority must be from 0 to 255, not {p}")
            lib.muon_message_set_priority(m, p)
        if msg.ttl is not None:
            ttl = _ms(msg.ttl, "ttl")
            if not 0 <= ttl < 2**32:
                raise ValueError(f"Message.ttl must be from 0 to 4294967.295 s, not {msg.ttl}")
            lib.muon_message_set_ttl(m, ttl)
        if msg.first_acquirer:
            lib.muon_message_set_first_acquirer(m, True)
        if msg.delivery_count:
            dc = msg.delivery_count
            if not isinstance(dc, int) or not 0 <= dc < 2**32:
                raise ValueError(f"Message.delivery_count must be from 0 to 2**32-1: {dc!r}")
            lib.muon_message_set_delivery_count(m, dc)
        if msg.user_id is not None:
            if not isinstance(msg.user_id, (bytes, bytearray)):
                raise TypeError("Message.user_id must be bytes, "
                                f"not {type(msg.user_id).__name__}")
            u = bytes(msg.user_id)
            _check(lib.muon_message_set_user_id(m, u, len(u)), "user_id", u)
        if msg.content_type is not None:
            _check(lib.muon_message_set_content_type(
                m, _text(msg.content_type, "content_type")), "content_type", msg.content_type)
        if msg.content_encoding is not None:
            _check(lib.muon_message_set_content_encoding(
                m, _text(msg.content_encoding, "content_encoding")), "content_encoding",
                msg.content_encoding)
        if msg.creation_time is not None:
            lib.muon_message_set_creation_time(m, _ms(msg.creation_time, "creation_time"))
        if msg.expiry_time is not None:
            lib.muon_message_set_absolute_expiry_time(m, _ms(msg.expiry_time, "expiry_time"))
        if msg.group_id is not None:
            _check(lib.muon_message_set_group_id(m, _text(msg.group_id, "group_id")),
                   "group_id", msg.group_id)
        if msg.group_sequence is not None:
            gs = msg.group_sequence
            if not isinstance(gs, int) or not 0 <= gs < 2**32:
                raise ValueError(f"Message.group_sequence must be from 0 to 2**32-1: {gs!r}")
            lib.muon_message_set_group_sequence(m, gs)
        if msg.reply_to_group_id is not None:
            _check(lib.muon_message_set_reply_to_group_id(
                m, _text(msg.reply_to_group_id, "reply_to_group_id")), "reply_to_group_id",
                msg.reply_to_group_id)
    except BaseException:
        lib.muon_message_free(m)
        raise
    return m


def _map_of(n: int, key: Any, value: Any, m: Any) -> Dict[Any, Any]:
    return {from_c(key(m, i)): from_c(value(m, i)) for i in range(n)}


def _s(p: Any) -> Optional[str]:
    return None if p == _NULL else ffi.string(p).decode("utf-8", "surrogateescape")


def from_c_message(m: Any) -> Message:
    """A Message holding what the ``const muon_message *`` holds."""
    f = ffi.new("struct muon_py_fields *")
    lib.muon_py_read_message(m, f)
    msg = Message.__new__(Message)
    kind = f.body_kind
    if kind == lib.MUON_BODY_KIND_DATA:
        chunks = []
        b = ffi.new("muon_bytes *")
        for i in range(lib.muon_message_body_data_count(m)):
            lib.muon_message_body_data(m, i, b)
            chunks.append(ffi.unpack(ffi.cast("char *", b.ptr), b.len))
        msg.body = b"".join(chunks)
        msg.inferred = True
    elif kind == lib.MUON_BODY_KIND_SEQUENCE:
        items = []
        for s in range(lib.muon_message_body_sequence_count(m)):
            for i in range(lib.muon_message_body_sequence_len(m, s)):
                items.append(from_c(lib.muon_message_body_sequence_get(m, s, i)))
        msg.body = items
        msg.inferred = True
    else:
        msg.body = from_c(f.body)
        msg.inferred = False
    msg.id = None if f.id == _NULL else from_c(f.id)
    msg.correlation_id = None if f.correlation_id == _NULL else from_c(f.correlation_id)
    msg.reply_to = _s(f.reply_to)
    msg.subject = _s(f.subject)
    msg.address = _s(f.to)
    msg.properties = (_map_of(f.properties, lib.muon_message_property_key,
                              lib.muon_message_property_value, m) if f.properties else None)
    msg.annotations = (_map_of(f.annotations, lib.muon_message_annotation_key,
                               lib.muon_message_annotation_value, m) if f.annotations else None)
    msg.instructions = (_map_of(f.instructions, lib.muon_message_delivery_annotation_key,
                                lib.muon_message_delivery_annotation_value, m)
                        if f.instructions else None)
    msg.footer = (_map_of(f.footer, lib.muon_message_footer_key, lib.muon_message_footer_value,
                          m) if f.footer else None)
    msg.durable = f.durable
    msg.priority = f.priority
    msg.ttl = f.ttl / 1000.0 if f.has_ttl else None
    msg.first_acquirer = f.first_acquirer
    msg.delivery_count = f.delivery_count
    msg.user_id = (ffi.unpack(ffi.cast("char *", f.user_id.ptr), f.user_id.len)
                   if f.has_user_id else None)
    msg.content_type = _s(f.content_type)
    msg.content_encoding = _s(f.content_encoding)
    msg.creation_time = f.creation_time / 1000.0 if f.has_creation_time else None
    msg.expiry_time = f.expiry_time / 1000.0 if f.has_expiry_time else None
    msg.group_id = _s(f.group_id)
    msg.group_sequence = f.group_sequence if f.has_group_sequence else None
    msg.reply_to_group_id = _s(f.reply_to_group_id)
    return msg
