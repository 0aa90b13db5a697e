"""AMQP values between Python and the C library's ``muon_value``."""

from __future__ import annotations

import uuid
from typing import Any

from ._muon import ffi, lib
from .types import (
    AMQPType, Array, Described, byte, char, decimal32, decimal64, decimal128, float32, int32, short,
    symbol, timestamp, ubyte, uint, ulong, ushort,
)

_NULL = ffi.NULL
_T = lib  # the MUON_TYPE_* constants
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


def _made(v: Any, what: str, value: Any) -> Any:
    if v == _NULL:
        raise ValueError(f"{what}: cannot be encoded as AMQP: {value!r}")
    return v


def _text(s: str, what: str) -> bytes:
    b = s.encode("utf-8", "surrogatepass")
    if b"\0" in b:
        raise ValueError(f"{what}: text with a NUL character cannot be sent: {s!r}")
    return b


_FIXED = {ubyte: lib.muon_py_ubyte, ushort: lib.muon_py_ushort, uint: lib.muon_py_uint,
          ulong: lib.muon_py_ulong, byte: lib.muon_py_byte, short: lib.muon_py_short,
          int32: lib.muon_py_int, timestamp: lib.muon_py_timestamp,
          decimal32: lib.muon_py_decimal32, decimal64: lib.muon_py_decimal64}


def to_c(value: Any, what: str = "value") -> Any:
    """A new owned ``muon_value *`` holding ``value`` (free it, or hand it
    to a call that takes ownership). Raises TypeError for a Python type with
    no AMQP mapping and ValueError for a value out of its type's range."""
    t = type(value)
    if t is str:
        return _made(lib.muon_py_string(_text(value, what)), what, value)
    if t is int:
        if _LONG_MIN <= value <= _LONG_MAX:
            return lib.muon_py_long(value)
        raise ValueError(f"{what}: {value} does not fit an AMQP long (64-bit signed); "
                         "use muon.types.ulong for values up to 2**64-1")
    if value is None:
        return lib.muon_py_null()
    if t is bool:
        return lib.muon_py_bool(value)
    if t is float:
        return lib.muon_py_double(value)
    if t is dict:
        return _map(value, what)
    if t is list or t is tuple:
        return _list(value, what)
    if t is bytes or t is bytearray or t is memoryview:
        b = bytes(value)
        return _made(lib.muon_py_binary(b, len(b)), what, value)
    if t is symbol:
        return _made(lib.muon_py_symbol(_text(value, what)), what, value)
    f = _FIXED.get(t)
    if f is not None:
        return f(int(value))
    if t is float32:
        return lib.muon_py_float(value)
    if t is char:
        return _made(lib.muon_py_char(ord(value)), what, value)
    if t is decimal128:
        return lib.muon_py_decimal128(bytes(value))
    if t is uuid.UUID:
        return lib.muon_py_uuid(value.bytes)
    if t is Described:
        return _described(value, what)
    if t is Array:
        return _array(value, what)
    # Subclasses of the plain types (an IntEnum, a str subclass, OrderedDict...).
    for base in (bool, int, float, str, bytes, dict, list, tuple):
        if isinstance(value, base):
            return to_c(base(value), what)
    if isinstance(value, uuid.UUID):
        return lib.muon_py_uuid(value.bytes)
    raise TypeError(f"{what}: no AMQP type for a Python {t.__name__} ({value!r}); "
                    "use None, bool, int, float, str, bytes, uuid.UUID, dict, list, "
                    "or a muon.types wrapper")


def _list(value: Any, what: str) -> Any:
    lst = lib.muon_py_list_new()
    try:
        for item in value:
            v = to_c(item, what)
            if lib.muon_value_list_append(lst, v) != 0:
                lib.muon_value_free(v)
                raise ValueError(f"{what}: cannot add {item!r} to a list")
    except BaseException:
        lib.muon_value_free(lst)
        raise
    return lst


def _map(value: dict, what: str) -> Any:
    m = lib.muon_py_map_new()
    try:
        for k, v in value.items():
            ck = to_c(k, what)
            try:
                cv = to_c(v, what)
            except BaseException:
                lib.muon_value_free(ck)
                raise
            if lib.muon_value_map_put(m, ck, cv) != 0:
                lib.muon_value_free(ck)
                lib.muon_value_free(cv)
                raise ValueError(f"{what}: cannot put {k!r} in a map")
    except BaseException:
        lib.muon_value_free(m)
        raise
    return m


def _described(value: Described, what: str) -> Any:
    d = value.descriptor
    if isinstance(d, int):
        cd = _FIXED[ulong](int(ulong(d)))
    else:
        cd = _made(lib.muon_py_symbol(_text(d, what)), what, d)
    try:
        cv = to_c(value.value, what)
    except BaseException:
        lib.muon_value_free(cd)
        raise
    return _made(lib.muon_py_described_new(cd, cv), what, value)


_ARRAY_ELEMENT = {
    _T.MUON_TYPE_BOOL: bool, _T.MUON_TYPE_UBYTE: ubyte, _T.MUON_TYPE_USHORT: ushort,
    _T.MUON_TYPE_UINT: uint, _T.MUON_TYPE_ULONG: ulong, _T.MUON_TYPE_BYTE: byte,
    _T.MUON_TYPE_SHORT: short, _T.MUON_TYPE_INT: int32, _T.MUON_TYPE_LONG: int,
    _T.MUON_TYPE_FLOAT: float32, _T.MUON_TYPE_DOUBLE: float,
    _T.MUON_TYPE_DECIMAL32: decimal32, _T.MUON_TYPE_DECIMAL64: decimal64,
    _T.MUON_TYPE_DECIMAL128: decimal128, _T.MUON_TYPE_CHAR: char,
    _T.MUON_TYPE_TIMESTAMP: timestamp, _T.MUON_TYPE_STRING: str, _T.MUON_TYPE_SYMBOL: symbol,
    _T.MUON_TYPE_BINARY: bytes,
}


def _array(value: Array, what: str) -> Any:
    arr = _made(lib.muon_py_array_new(value.type), what, value)
    conv = _ARRAY_ELEMENT.get(value.type)
    try:
        for item in value.elements:
            if conv is not None and type(item) is not conv:
                try:
                    item = conv(item)
                except (TypeError, ValueError) as e:
                    raise ValueError(f"{what}: {item!r} cannot be an element of an array of "
                                     f"{AMQPType.NAMES[value.type]} ({e})") from None
            v = to_c(item, what)
            if lib.muon_value_array_append(arr, v) != 0:
                lib.muon_value_free(v)
                raise ValueError(f"{what}: {item!r} cannot be an element of an array of "
                                 f"{AMQPType.NAMES[value.type]}")
    except BaseException:
        lib.muon_value_free(arr)
        raise
    return arr


# ---------------------------------------------------------------- C -> Python

def _unpack(b: Any) -> bytes:
    return ffi.unpack(ffi.cast("char *", b.ptr), b.len)


def from_c(v: Any) -> Any:
    """The Python value of a ``const muon_value *`` (NULL: None)."""
    if v == _NULL:
        return None
    t = lib.muon_value_type(v)
    if t == 20:  # string
        b = lib.muon_py_get_string(v)
        return ffi.unpack(ffi.cast("char *", b.ptr), b.len).decode("utf-8", "surrogatepass")
    if t == 10:  # long
        return lib.muon_py_get_long(v)
    if t == 23:  # map
        n = lib.muon_value_len(v)
        return {from_c(lib.muon_value_map_key(v, i)): from_c(lib.muon_value_map_value(v, i))
                for i in range(n)}
    if t == 1:
        return None
    if t == 2:
        return bool(lib.muon_py_get_bool(v))
    if t == 12:
        return lib.muon_py_get_double(v)
    if t == 19:
        return _unpack(lib.muon_py_get_binary(v))
    if t == 21:
        return symbol(_unpack(lib.muon_py_get_symbol(v)).decode("utf-8"))
    if t == 22:
        return [from_c(lib.muon_value_list_get(v, i)) for i in range(lib.muon_value_len(v))]
    if t == 3:
        return ubyte(lib.muon_py_get_ubyte(v))
    if t == 4:
        return ushort(lib.muon_py_get_ushort(v))
    if t == 5:
        return uint(lib.muon_py_get_uint(v))
    if t == 6:
        return ulong(lib.muon_py_get_ulong(v))
    if t == 7:
        return byte(lib.muon_py_get_byte(v))
    if t == 8:
        return short(lib.muon_py_get_short(v))
    if t == 9:
        return int32(lib.muon_py_get_int(v))
    if t == 11:
        return float32(lib.muon_py_get_float(v))
    if t == 13:
        return decimal32(lib.muon_py_get_decimal32(v))
    if t == 14:
        return decimal64(lib.muon_py_get_decimal64(v))
    if t == 15:
        b16 = ffi.new("uint8_t[16]")
        lib.muon_value_get_decimal128(v, b16)
        return decimal128(ffi.buffer(b16)[:])
    if t == 16:
        return char(chr(lib.muon_py_get_char(v)))
    if t == 17:
        return timestamp(lib.muon_py_get_timestamp(v))
    if t == 18:
        b16 = ffi.new("uint8_t[16]")
        lib.muon_value_get_uuid(v, b16)
        return uuid.UUID(bytes=ffi.buffer(b16)[:])
    if t == 24:
        et = lib.muon_value_array_type(v)
        return Array(et if et else _T.MUON_TYPE_NULL,
                     [from_c(lib.muon_value_array_get(v, i)) for i in range(lib.muon_value_len(v))])
    if t == 25:
        inner = from_c(lib.muon_value_described_value(v))
        code = ffi.new("uint64_t *")
        if lib.muon_value_described_descriptor_code(v, code) == 0:
            return Described(ulong(code[0]), inner)
        return Described(symbol(_unpack(lib.muon_py_descriptor_symbol(v)).decode()), inner)
    raise ValueError(f"an AMQP value of unknown type {t}")


def c_string(p: Any) -> Any:
    """A ``const char *`` as str (NULL: None)."""
    if p == _NULL:
        return None
    return ffi.string(p).decode("utf-8", "surrogateescape")


