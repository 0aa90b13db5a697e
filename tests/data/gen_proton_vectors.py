#!/usr/bin/python3
"""Interop vectors: AMQP encodings made by Qpid Proton, for tests/proton_vectors.rs.

Run once, by hand, on a machine with Debian's python3-qpid-proton
(`apt-get install -y python3-qpid-proton`), from the repository root:

    /usr/bin/python3 tests/data/gen_proton_vectors.py

(the system interpreter: a pyenv or virtualenv python does not see the
Debian package). It rewrites tests/data/proton_vectors.txt beside this
script: one vector per line, `kind<TAB>name<TAB>hex`, where kind is
`value` (one value encoded by proton.Data) or `message` (a whole message
encoded by proton.Message.encode(), the payload of a transfer). The first
line is a comment naming the Proton version. The output is committed; the
Rust test reads it and needs no Proton at run time. Each name must have a
matching arm in the test, which states the value muon must decode.

Vectors generated with Proton 0.37.0 (Debian 0.37.0-2+b1).
"""

import os
import uuid

import proton
from proton import (
    Data,
    Message,
    char,
    byte,
    decimal32,
    decimal64,
    decimal128,
    float32,
    int32,
    short,
    symbol,
    timestamp,
    ubyte,
    uint,
    ulong,
    ushort,
)

UUID = uuid.UUID("12345678-1234-5678-9abc-def012345678")
LONG_TEXT = "".join(chr(ord("a") + i % 26) for i in range(300))
LONG_BYTES = bytes(i % 256 for i in range(300))

VALUES = []


def value(name):
    """Registers a function that writes one value into a proton.Data."""

    def register(f):
        VALUES.append((name, f))
        return f

    return register


def scalar(name, method, arg):
    VALUES.append((name, lambda d: getattr(d, method)(arg)))


# --- scalars, with boundary values --------------------------------------------

VALUES.append(("null", lambda d: d.put_null()))
scalar("bool_true", "put_bool", True)
scalar("bool_false", "put_bool", False)
for n in (0, 1, 127, 128, 255):
    scalar(f"ubyte_{n}", "put_ubyte", n)
for n in (0, 1, -1, 127, -128):
    scalar(f"byte_{n}", "put_byte", n)
for n in (0, 1, 255, 256, 65535):
    scalar(f"ushort_{n}", "put_ushort", n)
for n in (0, 1, -1, 32767, -32768):
    scalar(f"short_{n}", "put_short", n)
for n in (0, 1, 255, 256, 2**32 - 1):
    scalar(f"uint_{n}", "put_uint", n)
for n in (0, 1, 255, 256, 2**64 - 1):
    scalar(f"ulong_{n}", "put_ulong", n)
for n in (0, 1, -1, 127, 128, -128, -129, 255, 256, 2**31 - 1, -(2**31)):
    scalar(f"int_{n}", "put_int", n)
for n in (0, 1, -1, 127, 128, -128, -129, 255, 256, 2**63 - 1, -(2**63)):
    scalar(f"long_{n}", "put_long", n)
scalar("float_1.5", "put_float", 1.5)
scalar("float_-0", "put_float", -0.0)
scalar("float_inf", "put_float", float("inf"))
scalar("float_nan", "put_float", float("nan"))
scalar("double_1.5", "put_double", 1.5)
scalar("double_-1e300", "put_double", -1e300)
scalar("double_nan", "put_double", float("nan"))
scalar("decimal32", "put_decimal32", 0x12345678)
scalar("decimal64", "put_decimal64", 0x0123456789ABCDEF)
scalar("decimal128", "put_decimal128", bytes(range(16)))
scalar("char_a", "put_char", "a")
scalar("char_euro", "put_char", "\u20ac")
scalar("char_emoji", "put_char", "\U0001F600")
scalar("timestamp_0", "put_timestamp", 0)
scalar("timestamp_2023", "put_timestamp", 1700000000123)
scalar("timestamp_-1", "put_timestamp", -1)
scalar("uuid", "put_uuid", UUID)
scalar("binary_empty", "put_binary", b"")
scalar("binary_3", "put_binary", b"\x00\x01\xff")
scalar("binary_300", "put_binary", LONG_BYTES)
scalar("string_empty", "put_string", "")
scalar("string_hello", "put_string", "hello")
scalar("string_utf8", "put_string", "h\u00e9llo \u20ac")
scalar("string_300", "put_string", LONG_TEXT)
scalar("symbol_empty", "put_symbol", "")
scalar("symbol_accepted", "put_symbol", "amqp:accepted:list")
scalar("symbol_300", "put_symbol", LONG_TEXT)


# --- lists and maps -------------------------------------------------------------


@value("list_empty")
def _(d):
    d.put_list()


@value("list_mixed")
def _(d):
    d.put_list()
    d.enter()
    d.put_int(1)
    d.put_string("a")
    d.put_null()
    d.put_bool(True)
    d.exit()


@value("list_nested")
def _(d):
    # [[], [1, [2]]]
    d.put_list()
    d.enter()
    d.put_list()
    d.put_list()
    d.enter()
    d.put_int(1)
    d.put_list()
    d.enter()
    d.put_int(2)
    d.exit()
    d.exit()
    d.exit()


@value("map_empty")
def _(d):
    d.put_map()


@value("map_mixed")
def _(d):
    # {"a": 1, :b => true, 7ul => null}
    d.put_map()
    d.enter()
    d.put_string("a")
    d.put_int(1)
    d.put_symbol("b")
    d.put_bool(True)
    d.put_ulong(7)
    d.put_null()
    d.exit()


@value("map_nested")
def _(d):
    # {"outer": {"inner": [1]}}
    d.put_map()
    d.enter()
    d.put_string("outer")
    d.put_map()
    d.enter()
    d.put_string("inner")
    d.put_list()
    d.enter()
    d.put_int(1)
    d.exit()
    d.exit()
    d.exit()


# --- arrays ---------------------------------------------------------------------


def array(name, kind, method, items, described=None):
    def write(d):
        d.put_array(described is not None, kind)
        d.enter()
        if described is not None:
            described(d)
        for x in items:
            if method == "put_null":
                d.put_null()
            else:
                getattr(d, method)(x)
        d.exit()

    VALUES.append((name, write))


array("array_int_small", Data.INT, "put_int", [1, -1, 2])
array("array_int_large", Data.INT, "put_int", [1, 1000, -100000])
array("array_int_empty", Data.INT, "put_int", [])
array("array_uint", Data.UINT, "put_uint", [0, 7, 255])
array("array_ulong", Data.ULONG, "put_ulong", [0, 2**64 - 1])
array("array_long", Data.LONG, "put_long", [5, -5])
array("array_bool", Data.BOOL, "put_bool", [True, False])
array("array_ubyte", Data.UBYTE, "put_ubyte", [0, 255])
array("array_double", Data.DOUBLE, "put_double", [0.5, -2.0])
array("array_uuid", Data.UUID, "put_uuid", [UUID])
array("array_string", Data.STRING, "put_string", ["a", "bc", ""])
array("array_string_long", Data.STRING, "put_string", ["a", LONG_TEXT])
array("array_symbol", Data.SYMBOL, "put_symbol", ["amqp:accepted:list", "x"])
array("array_null", Data.NULL, "put_null", [None, None])
array(
    "array_described_symbol",
    Data.SYMBOL,
    "put_symbol",
    ["a", "b"],
    described=lambda d: d.put_ulong(0x123),
)
array(
    "array_described_by_symbol",
    Data.INT,
    "put_int",
    [1, 2],
    described=lambda d: d.put_symbol("com.example:pair"),
)


@value("array_described_list")
def _(d):
    d.put_array(True, Data.LIST)
    d.enter()
    d.put_ulong(0x24)
    d.put_list()
    d.enter()
    d.put_int(1)
    d.exit()
    d.put_list()
    d.exit()


@value("array_of_arrays")
def _(d):
    d.put_array(False, Data.ARRAY)
    d.enter()
    d.put_array(False, Data.INT)
    d.enter()
    d.put_int(1)
    d.exit()
    d.put_array(False, Data.STRING)
    d.enter()
    d.put_string("a")
    d.exit()
    d.exit()


@value("array_of_maps")
def _(d):
    d.put_array(False, Data.MAP)
    d.enter()
    d.put_map()
    d.enter()
    d.put_int(1)
    d.put_int(2)
    d.exit()
    d.put_map()
    d.exit()


# --- described values -------------------------------------------------------------


@value("described_ulong_list")
def _(d):
    # accepted: 0x24 => []
    d.put_described()
    d.enter()
    d.put_ulong(0x24)
    d.put_list()
    d.exit()


@value("described_ulong_large")
def _(d):
    d.put_described()
    d.enter()
    d.put_ulong(0x0000013700000001)
    d.put_string("v")
    d.exit()


@value("described_symbol")
def _(d):
    d.put_described()
    d.enter()
    d.put_symbol("com.example:thing")
    d.put_map()
    d.enter()
    d.put_symbol("k")
    d.put_long(42)
    d.exit()
    d.exit()


@value("described_nested")
def _(d):
    d.put_described()
    d.enter()
    d.put_ulong(1)
    d.put_described()
    d.enter()
    d.put_symbol("inner")
    d.put_null()
    d.exit()
    d.exit()


# --- messages ------------------------------------------------------------------------

MESSAGES = [
    ("empty", lambda: Message()),
    ("body_string", lambda: Message(body="Hello World!")),
    ("body_map_id", lambda: Message(id=1, body={"sequence": 1})),
    ("body_binary_data", lambda: Message(body=b"\x00\x01\x02", inferred=True)),
    ("body_binary_value", lambda: Message(body=b"\x00\x01\x02")),
    ("body_sequence", lambda: Message(body=[1, "two"], inferred=True)),
    ("body_list_value", lambda: Message(body=[1, "two"])),
    ("body_null", lambda: Message(body=None)),
    ("body_long_string", lambda: Message(body=LONG_TEXT)),
    (
        "all_properties",
        lambda: Message(
            id="msg-1",
            user_id=b"guest",
            address="queue://a",
            subject="greeting",
            reply_to="queue://replies",
            correlation_id=UUID,
            content_type=symbol("text/plain"),
            content_encoding=symbol("utf-8"),
            expiry_time=1700000060.5,
            creation_time=1700000000.25,
            group_id="group",
            group_sequence=7,
            reply_to_group_id="replies",
            body="x",
        ),
    ),
    ("id_ulong", lambda: Message(id=ulong(12345), body=None)),
    ("id_uuid", lambda: Message(id=UUID, correlation_id=ulong(7), body=None)),
    ("id_binary", lambda: Message(id=b"\x01\x02", correlation_id="req-1", body=None)),
    (
        "application_properties",
        lambda: Message(
            properties={
                "null": None,
                "bool": True,
                "ubyte": ubyte(200),
                "byte": byte(-5),
                "ushort": ushort(60000),
                "short": short(-300),
                "uint": uint(70000),
                "int": int32(-70000),
                "ulong": ulong(2**40),
                "long": -(2**40),
                "float": float32(0.25),
                "double": 0.1,
                "char": char("z"),
                "timestamp": timestamp(1700000000000),
                "uuid": UUID,
                "binary": b"\xde\xad",
                "string": "text",
                "symbol": symbol("sym"),
                "decimal32": decimal32(1),
                "decimal64": decimal64(2),
                "decimal128": decimal128(bytes(16)),
            },
            body="x",
        ),
    ),
    (
        "annotations",
        lambda: Message(
            instructions={symbol("x-opt-delivery"): "hop"},
            annotations={symbol("x-opt-jms-type"): "T", symbol("x-opt-n"): 42},
            body="x",
        ),
    ),
    (
        "header_durable",
        lambda: Message(durable=True, body="x"),
    ),
    (
        "header_all",
        lambda: Message(
            durable=True,
            priority=9,
            ttl=1.5,
            first_acquirer=True,
            delivery_count=3,
            body="x",
        ),
    ),
    ("header_ttl_small", lambda: Message(ttl=0.1, priority=0, body=None)),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    lines = ["# generated by gen_proton_vectors.py with Qpid Proton %d.%d.%d" % proton.VERSION]
    seen = set()
    for name, write in VALUES:
        assert name not in seen, name
        seen.add(name)
        d = Data()
        write(d)
        lines.append(f"value\t{name}\t{d.encode().hex()}")
    for name, make in MESSAGES:
        assert name not in seen, name
        seen.add(name)
        lines.append(f"message\t{name}\t{make().encode().hex()}")
    with open(os.path.join(here, "proton_vectors.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
