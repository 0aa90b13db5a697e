"""AMQP 1.0 types that have no Python type of their own.

Plain Python values map to AMQP as a Qpid Proton user expects: ``None`` is
null, ``bool`` boolean, ``int`` long (64-bit signed), ``float`` double,
``str`` string, ``bytes`` binary, ``uuid.UUID`` uuid, ``dict`` map and
``list`` (or ``tuple``) list. The classes here choose another AMQP type:
each is a subclass of the Python type it reads as (``ulong(5) == 5``), so
received values behave like plain ones and still say what they were.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

__all__ = [
    "symbol", "char", "timestamp", "ubyte", "ushort", "uint", "ulong", "byte", "short",
    "int32", "long", "float32", "decimal32", "decimal64", "decimal128", "Described",
    "Array", "AMQPType",
]


class AMQPType:
    """The AMQP type codes used by :class:`Array` (the C API's ``muon_type``)."""

    NULL = 1
    BOOL = 2
    UBYTE = 3
    USHORT = 4
    UINT = 5
    ULONG = 6
    BYTE = 7
    SHORT = 8
    INT = 9
    LONG = 10
    FLOAT = 11
    DOUBLE = 12
    DECIMAL32 = 13
    DECIMAL64 = 14
    DECIMAL128 = 15
    CHAR = 16
    TIMESTAMP = 17
    UUID = 18
    BINARY = 19
    STRING = 20
    SYMBOL = 21
    LIST = 22
    MAP = 23
    ARRAY = 24
    DESCRIBED = 25

    NAMES = {
        1: "null", 2: "bool", 3: "ubyte", 4: "ushort", 5: "uint", 6: "ulong", 7: "byte",
        8: "short", 9: "int", 10: "long", 11: "float", 12: "double", 13: "decimal32",
        14: "decimal64", 15: "decimal128", 16: "char", 17: "timestamp", 18: "uuid",
        19: "binary", 20: "string", 21: "symbol", 22: "list", 23: "map", 24: "array",
        25: "described",
    }


class symbol(str):
    """An AMQP symbol (ASCII text used as a name)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"symbol({str.__repr__(self)})"


class char(str):
    """An AMQP char: one Unicode code point."""

    __slots__ = ()

    def __new__(cls, value: str) -> "char":
        if not isinstance(value, str) or len(value) != 1:
            raise ValueError(f"char takes one character, not {value!r}")
        return str.__new__(cls, value)

    def __repr__(self) -> str:
        return f"char({str.__repr__(self)})"


def _ranged(name: str, lo: int, hi: int, doc: str) -> type:
    def __new__(cls, value: Any = 0) -> Any:  # noqa: N807
        v = int.__new__(cls, value)
        if not lo <= v <= hi:
            raise ValueError(f"{name} must be from {lo} to {hi}, not {int(v)}")
        return v

    def __repr__(self: int) -> str:
        return f"{name}({int(self)})"

    return type(name, (int,), {"__new__": __new__, "__repr__": __repr__, "__slots__": (),
                               "__doc__": doc})


ubyte = _ranged("ubyte", 0, 2**8 - 1, "An AMQP ubyte (8-bit unsigned).")
ushort = _ranged("ushort", 0, 2**16 - 1, "An AMQP ushort (16-bit unsigned).")
uint = _ranged("uint", 0, 2**32 - 1, "An AMQP uint (32-bit unsigned).")
ulong = _ranged("ulong", 0, 2**64 - 1, "An AMQP ulong (64-bit unsigned).")
byte = _ranged("byte", -(2**7), 2**7 - 1, "An AMQP byte (8-bit signed).")
short = _ranged("short", -(2**15), 2**15 - 1, "An AMQP short (16-bit signed).")
int32 = _ranged("int32", -(2**31), 2**31 - 1, "An AMQP int (32-bit signed).")
long = _ranged("long", -(2**63), 2**63 - 1,
               "An AMQP long (64-bit signed), which a plain int is too.")
timestamp = _ranged("timestamp", -(2**63), 2**63 - 1,
                    "An AMQP timestamp: milliseconds since the Unix epoch.")
decimal32 = _ranged("decimal32", 0, 2**32 - 1,
                    "An AMQP decimal32, as its 32 bits (IEEE 754 decimal32).")
decimal64 = _ranged("decimal64", 0, 2**64 - 1,
                    "An AMQP decimal64, as its 64 bits (IEEE 754 decimal64).")


class float32(float):
    """An AMQP float (32-bit IEEE 754); a plain float is a double."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"float32({float.__repr__(self)})"


class decimal128(bytes):
    """An AMQP decimal128, as its 16 bytes (IEEE 754 decimal128, big-endian)."""

    __slots__ = ()

    def __new__(cls, value: bytes) -> "decimal128":
        b = bytes.__new__(cls, value)
        if len(b) != 16:
            raise ValueError(f"decimal128 takes 16 bytes, not {len(b)}")
        return b

    def __repr__(self) -> str:
        return f"decimal128({bytes.__repr__(self)})"


class Described:
    """An AMQP described value: a descriptor (a ``symbol`` or an ``int`` code,
    taken as ulong) and the value it describes."""

    __slots__ = ("descriptor", "value")

    def __init__(self, descriptor: Any, value: Any) -> None:
        if not isinstance(descriptor, (str, int)) or isinstance(descriptor, bool):
            raise TypeError("a descriptor is a symbol (str) or a code (int), "
                            f"not {type(descriptor).__name__}")
        self.descriptor = descriptor
        self.value = value

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Described) and self.descriptor == other.descriptor
                and self.value == other.value)

    def __hash__(self) -> int:
        return hash((self.descriptor, repr(self.value)))

    def __repr__(self) -> str:
        return f"Described({self.descriptor!r}, {self.value!r})"


class Array:
    """An AMQP array: elements all of one AMQP type (an :class:`AMQPType` code).

    >>> Array(AMQPType.INT, [1, 2, 3])
    """

    __slots__ = ("type", "elements")

    def __init__(self, type: int, elements: Optional[Iterable[Any]] = None) -> None:
        if type not in AMQPType.NAMES or isinstance(type, bool):
            raise ValueError(f"not an AMQP type code: {type!r}")
        self.type = int(type)
        self.elements = list(elements) if elements is not None else []

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Array) and self.type == other.type
                and self.elements == other.elements)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Array(AMQPType.{AMQPType.NAMES[self.type].upper()}, {self.elements!r})"
