#!/usr/bin/python3
"""The Qpid Proton side of muon's interop suite (tests/interop.rs).

Written against Proton's Python API, this peer sends, receives or echoes
messages so that muon's tests/interop/types.c can be checked against it:

  kind "types"  one message carrying every AMQP type in its body,
                application properties, message and delivery annotations,
                and every header and properties field; printed in the
                canonical typed notation that types.c prints too, one
                field per line, so the two sides can be compared line by
                line (and both against tests/interop/types.expected);
  kind "big"    one message whose data section holds --size bytes, byte i
                being i % 251;
  kind "seq"    --count small messages {'sequence': n}, n = 1, 2, ...

Roles:
  expected      print the canonical form of the "types" message and exit;
  send          send --count messages of --kind to --address;
  recv          receive --count messages of --kind from --address;
  echo          receive one message from --address, print it, and send what
                was decoded (re-encoded by Proton) to --reply-address.
With --links N, send and recv open N links on one connection, on addresses
ADDRESS-0 ... ADDRESS-(N-1), and move --count messages on each.

--connect URL makes an outgoing connection (user:password@ in the URL gives
SASL PLAIN); --listen HOST:PORT accepts one instead, and then serves the
links the peer attaches. --max-frame N asks for a maximum frame size of N.

Every line printed starts with "sent " or "got " (canonical notation),
or "ok ..." on success; failures print "error: ..." and exit non-zero.
"""

import argparse
import struct
import sys
import uuid

from proton import (Array, Data, Described, Message, UNDESCRIBED, byte, char,
                    decimal32, decimal64, decimal128, float32, int32, short,
                    symbol, timestamp, ubyte, uint, ulong, ushort)
from proton.handlers import MessagingHandler
from proton.reactor import Container

# ---------------------------------------------------------------- the message

LONG_TEXT = "0123456789" * 30  # 300 characters: str32 and sym32 encodings


def scalars():
    """Every simple AMQP type, at its limits and in its compact encodings."""
    return [
        ("null", None),
        ("bool-true", True),
        ("bool-false", False),
        ("ubyte-0", ubyte(0)),
        ("ubyte-max", ubyte(255)),
        ("ushort-0", ushort(0)),
        ("ushort-max", ushort(65535)),
        ("uint-0", uint(0)),
        ("uint-small", uint(255)),
        ("uint-max", uint(4294967295)),
        ("ulong-0", ulong(0)),
        ("ulong-small", ulong(255)),
        ("ulong-max", ulong(18446744073709551615)),
        ("byte-min", byte(-128)),
        ("byte-max", byte(127)),
        ("short-min", short(-32768)),
        ("short-max", short(32767)),
        ("int-min", int32(-2147483648)),
        ("int-small", int32(-1)),
        ("int-max", int32(2147483647)),
        ("long-min", -9223372036854775808),
        ("long-small", 100),
        ("long-max", 9223372036854775807),
        ("float", float32(1.5)),
        ("float-neg-zero", float32(-0.0)),
        ("float-inf", float32(float("inf"))),
        ("double", 3.141592653589793),
        ("double-subnormal", 5e-324),
        ("double-neg-inf", float("-inf")),
        ("decimal32", decimal32(0x22500001)),
        ("decimal64", decimal64(0x2238000000000001)),
        ("decimal128", decimal128(bytes(range(0x30, 0x40)))),
        ("char", char("a")),
        ("char-astral", char("\U0001F600")),
        ("timestamp", timestamp(1700000000125)),
        ("timestamp-negative", timestamp(-1000)),
        ("uuid", uuid.UUID("12345678-9abc-def0-1234-56789abcdef0")),
        ("binary-empty", b""),
        ("binary", b"\x00\x01\xfe\xff"),
        ("binary-long", bytes(range(256)) + bytes(range(44))),
        ("string-empty", ""),
        ("string", "h\u00e9llo w\u00f6rld \u2713 \U0001F600"),
        ("string-long", LONG_TEXT),
        ("symbol", symbol("sym-bol")),
        ("symbol-long", symbol(LONG_TEXT)),
    ]


def composites():
    """Lists, maps, arrays and described values, nested."""
    return [
        ("list-empty", []),
        ("list", [int32(1), ["inner", ubyte(2)], {"k": "v"}, None]),
        ("list-long", [int32(i) for i in range(100)]),
        ("map-empty", {}),
        ("map", {"a": int32(1), symbol("b"): [True, False], ulong(3): {"nested": short(-3)},
                 int32(-1): None, uuid.UUID(int=1): b"\x01"}),
        ("array-empty", Array(UNDESCRIBED, Data.INT)),
        ("array-int", Array(UNDESCRIBED, Data.INT, int32(-1), int32(0), int32(2147483647))),
        ("array-ulong", Array(UNDESCRIBED, Data.ULONG, ulong(0), ulong(18446744073709551615))),
        ("array-double", Array(UNDESCRIBED, Data.DOUBLE, 0.5, -2.25)),
        ("array-bool", Array(UNDESCRIBED, Data.BOOL, True, False, True)),
        ("array-string", Array(UNDESCRIBED, Data.STRING, "one", "", "thr\u00e9\u00e9")),
        ("array-symbol", Array(UNDESCRIBED, Data.SYMBOL, symbol("x"), symbol(LONG_TEXT))),
        ("array-uuid", Array(UNDESCRIBED, Data.UUID, uuid.UUID(int=0), uuid.UUID(int=2**128 - 1))),
        ("array-binary", Array(UNDESCRIBED, Data.BINARY, b"", b"\xff")),
        ("array-timestamp", Array(UNDESCRIBED, Data.TIMESTAMP, timestamp(0), timestamp(1700000000125))),
        ("array-list", Array(UNDESCRIBED, Data.LIST, [int32(1), "x"], [])),
        ("array-map", Array(UNDESCRIBED, Data.MAP, {"k": int32(1)}, {})),
        ("described-symbol", Described(symbol("com.example:thing"), "payload")),
        ("described-ulong", Described(ulong(0x0000123400000001), [int32(1), symbol("two")])),
    ]


def body_only():
    """A described value whose value is described: Proton 0.37's decoder
    loses its place after one inside a map (the next key reads as a value),
    so it goes in the body's list only, where Proton reads it back."""
    return [
        ("described-nested", Described(symbol("outer"), Described(ulong(7), {"in": "ner"}))),
    ]


def types_message():
    msg = Message()
    msg.durable = True
    msg.priority = 7
    msg.ttl = 3600.5                       # 3600500 ms
    msg.first_acquirer = True
    msg.delivery_count = 3
    msg.instructions = {symbol("x-opt-da-" + n): v for n, v in scalars() + composites()}
    # (ulong keys are reserved by AMQP 1.0 §3.2.10: symbol keys only.)
    msg.annotations = {symbol("x-opt-ma-" + n): v for n, v in scalars() + composites()}
    msg.id = uuid.UUID("01234567-89ab-cdef-0123-456789abcdef")
    msg.user_id = b"muon-user\x00\xff"
    msg.address = "types-to"
    msg.subject = "subject \u2713"
    msg.reply_to = "types-reply-to"
    msg.correlation_id = ulong(18446744073709551615)
    msg.content_type = "application/x-muon-test"
    msg.content_encoding = "identity"
    msg.expiry_time = 1700000003.125       # 1700000003125 ms
    msg.creation_time = 1700000000.25      # 1700000000250 ms
    msg.group_id = "group \u2713"
    msg.group_sequence = 123456789
    msg.reply_to_group_id = "reply-group"
    # application-properties hold simple types only (AMQP 1.0 §3.2.5).
    msg.properties = {"p-" + n: v for n, v in scalars()}
    msg.inferred = False
    msg.body = [v for _, v in scalars() + composites() + body_only()]
    return msg


# ------------------------------------------------------- canonical notation

TYPE_NAMES = {
    Data.NULL: "null", Data.BOOL: "bool", Data.UBYTE: "ubyte", Data.USHORT: "ushort",
    Data.UINT: "uint", Data.ULONG: "ulong", Data.BYTE: "byte", Data.SHORT: "short",
    Data.INT: "int", Data.LONG: "long", Data.FLOAT: "float", Data.DOUBLE: "double",
    Data.DECIMAL32: "decimal32", Data.DECIMAL64: "decimal64", Data.DECIMAL128: "decimal128",
    Data.CHAR: "char", Data.TIMESTAMP: "timestamp", Data.UUID: "uuid", Data.BINARY: "binary",
    Data.STRING: "string", Data.SYMBOL: "symbol", Data.LIST: "list", Data.MAP: "map",
    Data.ARRAY: "array", Data.DESCRIBED: "described",
}


def esc(raw):
    """Printable ASCII as is (but \" and \\), every other byte as \\xNN."""
    out = []
    for b in raw:
        if 0x20 <= b < 0x7F and b not in (0x22, 0x5C):
            out.append(chr(b))
        else:
            out.append("\\x%02x" % b)
    return "".join(out)


def fmt(v):
    t = type(v)
    if v is None:
        return "null"
    if t is bool:
        return "bool:" + ("true" if v else "false")
    simple = {ubyte: "ubyte", ushort: "ushort", uint: "uint", ulong: "ulong", byte: "byte",
              short: "short", int32: "int", int: "long", timestamp: "timestamp"}
    if t in simple:
        return "%s:%d" % (simple[t], v)
    if t is float32:
        return "float:" + struct.pack(">f", v).hex()
    if t is float:
        return "double:" + struct.pack(">d", v).hex()
    if t is decimal32:
        return "decimal32:%08x" % v
    if t is decimal64:
        return "decimal64:%016x" % v
    if t is decimal128:
        return "decimal128:" + bytes(v).hex()
    if t is char:
        return "char:U+%04X" % ord(v)
    if t is uuid.UUID:
        return "uuid:" + str(v)
    if t is bytes:
        return "binary:" + v.hex()
    if t is symbol:
        return 'symbol:"%s"' % esc(v.encode("ascii"))
    if t is str:
        return 'string:"%s"' % esc(v.encode("utf-8"))
    if t is list:
        return "list:[" + ", ".join(fmt(x) for x in v) + "]"
    if t is dict:
        return "map:{" + ", ".join("%s => %s" % (fmt(k), fmt(x)) for k, x in v.items()) + "}"
    if t is Array:
        if v.descriptor is not UNDESCRIBED and v.descriptor is not None:
            raise ValueError("described arrays are not part of the test message")
        return "array<%s>:[%s]" % (TYPE_NAMES[v.type], ", ".join(fmt(x) for x in v.elements))
    if t is Described:
        return "described(%s):%s" % (fmt(v.descriptor), fmt(v.value))
    raise ValueError("no canonical form for %r (%s)" % (v, t))


def ms(seconds):
    return int(round(seconds * 1000))


def canonical(msg):
    """The message, one field per line, in the notation types.c prints."""
    lines = [
        "header.durable: " + fmt(bool(msg.durable)),
        "header.priority: " + fmt(ubyte(msg.priority)),
        "header.ttl: " + fmt(uint(ms(msg.ttl))),
        "header.first-acquirer: " + fmt(bool(msg.first_acquirer)),
        "header.delivery-count: " + fmt(uint(msg.delivery_count)),
    ]
    for section, d in (("delivery-annotations", msg.instructions),
                       ("message-annotations", msg.annotations)):
        for k, v in (d or {}).items():
            lines.append("%s[%s]: %s" % (section, fmt(k), fmt(v)))

    def msg_id(v):
        # message-id and correlation-id are ulong, uuid, binary or string;
        # Proton's getters hand a ulong back as a plain int.
        return fmt(ulong(v) if type(v) is int else v)

    def opt_str(v, kind="string"):
        if v is None:
            return "null"
        return fmt(symbol(v) if kind == "symbol" else str(v))
    lines += [
        "properties.message-id: " + msg_id(msg.id),
        "properties.user-id: " + fmt(bytes(msg.user_id)),
        "properties.to: " + opt_str(msg.address),
        "properties.subject: " + opt_str(msg.subject),
        "properties.reply-to: " + opt_str(msg.reply_to),
        "properties.correlation-id: " + msg_id(msg.correlation_id),
        "properties.content-type: " + opt_str(msg.content_type, "symbol"),
        "properties.content-encoding: " + opt_str(msg.content_encoding, "symbol"),
        "properties.absolute-expiry-time: " + fmt(timestamp(ms(msg.expiry_time))),
        "properties.creation-time: " + fmt(timestamp(ms(msg.creation_time))),
        "properties.group-id: " + opt_str(msg.group_id),
        "properties.group-sequence: " + fmt(uint(msg.group_sequence)),
        "properties.reply-to-group-id: " + opt_str(msg.reply_to_group_id),
    ]
    for k, v in (msg.properties or {}).items():
        lines.append("application-properties[%s]: %s" % (fmt(str(k)), fmt(v)))
    body = msg.body
    if type(body) is list:
        lines.append("body.amqp-value: list(%d)" % len(body))
        lines += ["body[%d]: %s" % (i, fmt(v)) for i, v in enumerate(body)]
    else:
        lines.append("body.amqp-value: " + fmt(body))
    return lines


# ------------------------------------------------------------------ the peer

def big_body(size):
    pattern = bytes(range(251))
    return (pattern * (size // 251 + 1))[:size]


class Peer(MessagingHandler):
    def __init__(self, opts):
        # Credit 10, auto-accept: like the tutorial's programs. The echo
        # role settles by hand so it can accept only after forwarding.
        super(Peer, self).__init__(prefetch=10, auto_accept=opts.role != "echo")
        self.o = opts
        self.links = max(1, opts.links)
        self.sent = {}        # address -> messages sent
        self.confirmed = 0
        self.received = {}    # address -> messages received
        self.done = False
        self.acceptor = None
        self.conn = None
        self.echo_sender = None
        self.pending_echo = None

    def addresses(self):
        if self.o.links:
            return ["%s-%d" % (self.o.address, i) for i in range(self.o.links)]
        return [self.o.address]

    def target_total(self):
        return self.o.count * self.links

    def on_start(self, event):
        c = event.container
        if self.o.listen:
            self.acceptor = c.listen(self.o.listen)
            print("ok listening", flush=True)
            return
        kw = {}
        if self.o.max_frame:
            kw["max_frame_size"] = self.o.max_frame
        self.conn = c.connect(self.o.connect, allow_insecure_mechs=True, **kw)
        if self.o.role in ("send",):
            for a in self.addresses():
                c.create_sender(self.conn, a)
        elif self.o.role in ("recv",):
            for a in self.addresses():
                c.create_receiver(self.conn, a)
        elif self.o.role == "echo":
            c.create_receiver(self.conn, self.o.address)
            self.echo_sender = c.create_sender(self.conn, self.o.reply_address)

    def on_connection_bound(self, event):
        if self.o.listen and self.o.max_frame:
            event.transport.max_frame_size = self.o.max_frame

    def on_link_opening(self, event):
        # Listening: take the address the peer asked for.
        link = event.link
        if link.is_sender and link.remote_source:
            link.source.address = link.remote_source.address
        if link.is_receiver and link.remote_target:
            link.target.address = link.remote_target.address

    def make(self, n):
        if self.o.kind == "types":
            return types_message()
        if self.o.kind == "big":
            # inferred: a bytes body goes in a data section
            return Message(body=big_body(self.o.size), inferred=True)
        return Message(id=n, body={"sequence": n})

    def on_sendable(self, event):
        if self.o.role != "send":
            if self.o.role == "echo" and self.pending_echo is not None and event.sender == self.echo_sender:
                self.forward()
            return
        s = event.sender
        addr = s.name
        while s.credit and self.sent.get(addr, 0) < self.o.count:
            n = self.sent.get(addr, 0) + 1
            msg = self.make(n)
            if self.o.kind == "types" and n == 1:
                for line in canonical(msg):
                    print("sent " + line)
                sys.stdout.flush()
            s.send(msg)
            self.sent[addr] = n

    def on_accepted(self, event):
        self.confirmed += 1
        if self.o.role == "send" and self.confirmed == self.target_total():
            print("ok %d messages confirmed" % self.confirmed, flush=True)
            self.finish(event)
        if self.o.role == "echo":
            print("ok echoed", flush=True)
            self.finish(event)

    def on_rejected(self, event):
        self.fail("message rejected: %s" % event.delivery.remote.condition)

    def on_released(self, event):
        self.fail("message released")

    def on_message(self, event):
        m = event.message
        addr = event.receiver.name
        n = self.received.get(addr, 0) + 1
        self.received[addr] = n
        if self.o.kind == "types":
            for line in canonical(m):
                print("got " + line)
            sys.stdout.flush()
        elif self.o.kind == "big":
            body = m.body
            if type(body) is not bytes:
                self.fail("big message body is %s, not binary" % type(body).__name__)
            if len(body) != self.o.size:
                self.fail("big message has %d bytes, expected %d" % (len(body), self.o.size))
            if body != big_body(self.o.size):
                first = next(i for i in range(len(body)) if body[i] != i % 251)
                self.fail("big message differs at byte %d" % first)
            print("got big message of %d bytes, intact" % len(body), flush=True)
        else:
            if m.body != {"sequence": n}:
                self.fail("on %s message %d has body %r" % (addr, n, m.body))
        if self.o.role == "echo":
            self.pending_echo = (m, event.delivery)
            if self.echo_sender.credit:
                self.forward()
            return
        if sum(self.received.values()) == self.target_total():
            if self.o.kind == "seq":
                print("ok %d messages received" % self.target_total(), flush=True)
            self.finish(event)

    def forward(self):
        m, d = self.pending_echo
        self.pending_echo = None
        self.echo_sender.send(m)
        self.accept(d)

    def finish(self, event):
        self.done = True
        event.connection.close()
        if self.acceptor:
            self.acceptor.close()

    def fail(self, why):
        print("error: " + why, flush=True)
        sys.exit(1)

    def on_link_error(self, event):
        self.fail("link closed by peer: %s" % event.link.remote_condition)

    def on_connection_error(self, event):
        self.fail("connection closed by peer: %s" % event.connection.remote_condition)

    def on_session_error(self, event):
        self.fail("session ended by peer: %s" % event.session.remote_condition)

    def on_transport_error(self, event):
        if not self.done:
            self.fail("transport error: %s" % event.transport.condition)

    def on_connection_closing(self, event):
        if not self.done:
            self.fail("the peer closed the connection before the work was done "
                      "(sent %s, confirmed %d, received %s)" % (self.sent, self.confirmed, self.received))

    def on_disconnected(self, event):
        if not self.done:
            self.fail("disconnected before the work was done "
                      "(sent %s, confirmed %d, received %s)" % (self.sent, self.confirmed, self.received))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("role", choices=["expected", "send", "recv", "echo"])
    p.add_argument("--connect")
    p.add_argument("--listen")
    p.add_argument("--address", default="examples")
    p.add_argument("--reply-address")
    p.add_argument("--kind", choices=["types", "big", "seq"], default="types")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--size", type=int, default=10 * 1024 * 1024)
    p.add_argument("--links", type=int, default=0)
    p.add_argument("--max-frame", type=int, default=0)
    o = p.parse_args()
    if o.role == "expected":
        for line in canonical(types_message()):
            print(line)
        return
    if bool(o.connect) == bool(o.listen):
        p.error("exactly one of --connect and --listen")
    if o.role == "echo" and not o.reply_address:
        p.error("echo needs --reply-address")
    peer = Peer(o)
    Container(peer).run()
    if not peer.done:
        print("error: the event loop ended before the work was done", flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
