//! `muon_value`: an AMQP 1.0 typed value owned by the application.
//!
//! Builders and container operations live here; typed getters, views,
//! encoding and decoding in `value_get.rs`; the text notation in
//! `value_format.rs`.

use std::borrow::Cow;
use std::ffi::c_char;

use super::boundary::{Opaque, borrow, boundary, bytes, check_out, cstr, into_raw, take};
use super::result::muon_result;
use crate::codec::{TypeKind, Value};

/// An AMQP 1.0 value of any type: null, boolean, the integer widths,
/// float, double, decimal32/64/128, char, timestamp, uuid, binary, string,
/// symbol, list, map, array or described.
///
/// A `muon_value *` returned through an out-parameter is owned by the
/// application: ownership moves out; free it with `muon_value_free`, or
/// hand it to a function whose documentation says "ownership moves in".
/// A `const muon_value *` returned by a getter is a view into another
/// value or message, borrowed until that owner is changed or freed; never
/// free it or pass it where ownership moves in.
///
/// A value is plain data: it may be moved between threads, but must not be
/// used from two threads at once. Every function may be called from a
/// callback.
///
/// Functions: `muon_value_null`, `muon_value_bool`, `muon_value_ubyte`,
/// `muon_value_ushort`, `muon_value_uint`, `muon_value_ulong`,
/// `muon_value_byte`, `muon_value_short`, `muon_value_int`,
/// `muon_value_long`, `muon_value_float`, `muon_value_double`,
/// `muon_value_decimal32`, `muon_value_decimal64`, `muon_value_decimal128`,
/// `muon_value_char`, `muon_value_timestamp`, `muon_value_uuid`,
/// `muon_value_binary`, `muon_value_string`, `muon_value_symbol`,
/// `muon_value_list_new`, `muon_value_map_new`, `muon_value_array_new`,
/// `muon_value_described_new`, `muon_value_list_append`,
/// `muon_value_map_put`, `muon_value_array_append`, `muon_value_clone`,
/// `muon_value_type`, `muon_value_get_bool` ... `muon_value_get_symbol`,
/// `muon_value_get_string_copy`, `muon_value_len`, `muon_value_list_get`,
/// `muon_value_map_key`, `muon_value_map_value`,
/// `muon_value_map_get_string_key`, `muon_value_map_get_symbol_key`,
/// `muon_value_array_type`, `muon_value_array_get`,
/// `muon_value_described_descriptor_code`,
/// `muon_value_described_descriptor_symbol`, `muon_value_described_value`,
/// `muon_value_encode`, `muon_value_decode`, `muon_value_format`,
/// `muon_value_free`.
pub struct muon_value {
    _private: [u8; 0],
}

impl Opaque for muon_value {
    type Inner = Value<'static>;
}

/// The AMQP type of a value (`muon_value_type`), or of an array's elements
/// (`muon_value_array_type`, `muon_value_array_new`). The numbers are
/// stable. `MUON_TYPE_NONE` is what the getters return for NULL or for
/// a value of the wrong kind; it is never the type of a value.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum muon_type {
    /// Not a type: the answer for NULL or a mismatch.
    None = 0,
    /// null
    Null = 1,
    /// boolean
    Bool = 2,
    /// ubyte: uint8_t
    Ubyte = 3,
    /// ushort: uint16_t
    Ushort = 4,
    /// uint: uint32_t
    Uint = 5,
    /// ulong: uint64_t
    Ulong = 6,
    /// byte: int8_t
    Byte = 7,
    /// short: int16_t
    Short = 8,
    /// int: int32_t
    Int = 9,
    /// long: int64_t
    Long = 10,
    /// float: 32-bit IEEE 754
    Float = 11,
    /// double: 64-bit IEEE 754
    Double = 12,
    /// decimal32: 32-bit IEEE 754 decimal, as its bits
    Decimal32 = 13,
    /// decimal64: 64-bit IEEE 754 decimal, as its bits
    Decimal64 = 14,
    /// decimal128: 128-bit IEEE 754 decimal, as 16 bytes in network order
    Decimal128 = 15,
    /// char: a Unicode scalar value
    Char = 16,
    /// timestamp: milliseconds since the Unix epoch
    Timestamp = 17,
    /// uuid: 16 bytes
    Uuid = 18,
    /// binary: bytes
    Binary = 19,
    /// string: UTF-8 text
    String = 20,
    /// symbol: ASCII text
    Symbol = 21,
    /// list: values of any types
    List = 22,
    /// map: key/value pairs
    Map = 23,
    /// array: values of one type
    Array = 24,
    /// described: a descriptor (ulong or symbol) and a value
    Described = 25,
}

/// A `muon_type` as C passes it: the header declares the parameter as
/// `enum muon_type`, and Rust takes the underlying integer and looks it
/// up, so that a number that is no type is refused, never transmuted
/// (`cbindgen.toml` renames this alias).
pub type muon_type_arg = std::ffi::c_int;

impl muon_type {
    /// Every type, for lookups by number.
    const ALL: [muon_type; 26] = [
        muon_type::None,
        muon_type::Null,
        muon_type::Bool,
        muon_type::Ubyte,
        muon_type::Ushort,
        muon_type::Uint,
        muon_type::Ulong,
        muon_type::Byte,
        muon_type::Short,
        muon_type::Int,
        muon_type::Long,
        muon_type::Float,
        muon_type::Double,
        muon_type::Decimal32,
        muon_type::Decimal64,
        muon_type::Decimal128,
        muon_type::Char,
        muon_type::Timestamp,
        muon_type::Uuid,
        muon_type::Binary,
        muon_type::String,
        muon_type::Symbol,
        muon_type::List,
        muon_type::Map,
        muon_type::Array,
        muon_type::Described,
    ];

    /// The type numbered `n` by C, if there is one (never transmutes).
    pub(crate) fn from_arg(n: muon_type_arg) -> Option<muon_type> {
        Self::ALL.into_iter().find(|t| *t as muon_type_arg == n)
    }

    /// The codec's kind for this type (`None` for `muon_type::None`).
    pub(crate) fn kind(self) -> Option<TypeKind> {
        Some(match self {
            muon_type::None => return None,
            muon_type::Null => TypeKind::Null,
            muon_type::Bool => TypeKind::Bool,
            muon_type::Ubyte => TypeKind::Ubyte,
            muon_type::Ushort => TypeKind::Ushort,
            muon_type::Uint => TypeKind::Uint,
            muon_type::Ulong => TypeKind::Ulong,
            muon_type::Byte => TypeKind::Byte,
            muon_type::Short => TypeKind::Short,
            muon_type::Int => TypeKind::Int,
            muon_type::Long => TypeKind::Long,
            muon_type::Float => TypeKind::Float,
            muon_type::Double => TypeKind::Double,
            muon_type::Decimal32 => TypeKind::Decimal32,
            muon_type::Decimal64 => TypeKind::Decimal64,
            muon_type::Decimal128 => TypeKind::Decimal128,
            muon_type::Char => TypeKind::Char,
            muon_type::Timestamp => TypeKind::Timestamp,
            muon_type::Uuid => TypeKind::Uuid,
            muon_type::Binary => TypeKind::Binary,
            muon_type::String => TypeKind::String,
            muon_type::Symbol => TypeKind::Symbol,
            muon_type::List => TypeKind::List,
            muon_type::Map => TypeKind::Map,
            muon_type::Array => TypeKind::Array,
            muon_type::Described => TypeKind::Described,
        })
    }
}

impl From<TypeKind> for muon_type {
    fn from(k: TypeKind) -> Self {
        match k {
            TypeKind::Null => muon_type::Null,
            TypeKind::Bool => muon_type::Bool,
            TypeKind::Ubyte => muon_type::Ubyte,
            TypeKind::Ushort => muon_type::Ushort,
            TypeKind::Uint => muon_type::Uint,
            TypeKind::Ulong => muon_type::Ulong,
            TypeKind::Byte => muon_type::Byte,
            TypeKind::Short => muon_type::Short,
            TypeKind::Int => muon_type::Int,
            TypeKind::Long => muon_type::Long,
            TypeKind::Float => muon_type::Float,
            TypeKind::Double => muon_type::Double,
            TypeKind::Decimal32 => muon_type::Decimal32,
            TypeKind::Decimal64 => muon_type::Decimal64,
            TypeKind::Decimal128 => muon_type::Decimal128,
            TypeKind::Char => muon_type::Char,
            TypeKind::Timestamp => muon_type::Timestamp,
            TypeKind::Uuid => muon_type::Uuid,
            TypeKind::Binary => muon_type::Binary,
            TypeKind::String => muon_type::String,
            TypeKind::Symbol => muon_type::Symbol,
            TypeKind::List => muon_type::List,
            TypeKind::Map => muon_type::Map,
            TypeKind::Array => muon_type::Array,
            TypeKind::Described => muon_type::Described,
        }
    }
}

/// Hands a new value to C through `out` (checked before allocating).
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
pub(crate) unsafe fn give(out: *mut *mut muon_value, v: Value<'static>) -> Result<(), muon_result> {
    check_out(out)?;
    // SAFETY: `out` is non-NULL and, as the caller promises, writable.
    unsafe { out.write(into_raw(Box::new(v))) };
    Ok(())
}

/// A symbol's text must be ASCII (AMQP 1.0 §1.6.21).
pub(crate) fn symbol_text(s: &str) -> Result<&str, muon_result> {
    if s.is_ascii() {
        Ok(s)
    } else {
        Err(muon_result::InvalidArgument)
    }
}

/// Reads 16 bytes at `p`.
///
/// # Safety
/// `p` is NULL or points to 16 readable bytes.
unsafe fn bytes16(p: *const u8) -> Result<[u8; 16], muon_result> {
    // SAFETY: forwarded from the caller: NULL or 16 readable bytes.
    let s = unsafe { bytes(p, 16) }?;
    let mut a = [0u8; 16];
    a.copy_from_slice(s);
    Ok(a)
}

/// Makes a null value.
///
/// `out` is borrowed for the call and receives the new value only on
/// success: ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT` (`out` is NULL).
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_null(out: *mut *mut muon_value) -> muon_result {
    boundary!(result: {
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::Null) }
    })
}

/// Makes a boolean value.
///
/// `out` is borrowed for the call and receives the new value only on
/// success: ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT`.
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_bool(v: bool, out: *mut *mut muon_value) -> muon_result {
    boundary!(result: {
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::Bool(v)) }
    })
}

/// Makes a ubyte (unsigned 8-bit) value.
///
/// `out` is borrowed for the call and receives the new value only on
/// success: ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT`.
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_ubyte(v: u8, out: *mut *mut muon_value) -> muon_result {
    boundary!(result: {
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::Ubyte(v)) }
    })
}

/// Makes a ushort (unsigned 16-bit) value.
///
/// `out` is borrowed for the call and receives the new value only on
/// success: ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT`.
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_ushort(v: u16, out: *mut *mut muon_value) -> muon_result {
    boundary!(result: {
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::Ushort(v)) }
    })
}

/// Makes a uint (unsigned 32-bit) value.
///
/// `out` is borrowed for the call and receives the new value only on
/// success: ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT`.
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_uint(v: u32, out: *mut *mut muon_value) -> muon_result {
    boundary!(result: {
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::Uint(v)) }
    })
}

/// Makes a ulong (unsigned 64-bit) value.
///
/// `out` is borrowed for the call and receives the new value only on
/// success: ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT`.
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_ulong(v: u64, out: *mut *mut muon_value) -> muon_result {
    boundary!(result: {
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::Ulong(v)) }
    })
}

/// Makes a byte (signed 8-bit) value.
///
/// `out` is borrowed for the call and receives the new value only on
/// success: ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT`.
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_byte(v: i8, out: *mut *mut muon_value) -> muon_result {
    boundary!(result: {
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::Byte(v)) }
    })
}

/// Makes a short (signed 16-bit) value.
///
/// `out` is borrowed for the call and receives the new value only on
/// success: ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT`.
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_short(v: i16, out: *mut *mut muon_value) -> muon_result {
    boundary!(result: {
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::Short(v)) }
    })
}

/// Makes an int (signed 32-bit) value.
///
/// `out` is borrowed for the call and receives the new value only on
/// success: ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT`.
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_int(v: i32, out: *mut *mut muon_value) -> muon_result {
    boundary!(result: {
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::Int(v)) }
    })
}

/// Makes a long (signed 64-bit) value.
///
/// `out` is borrowed for the call and receives the new value only on
/// success: ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT`.
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_long(v: i64, out: *mut *mut muon_value) -> muon_result {
    boundary!(result: {
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::Long(v)) }
    })
}

/// Makes a float (32-bit IEEE 754) value. NaN and infinities are allowed.
///
/// `out` is borrowed for the call and receives the new value only on
/// success: ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT`.
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_float(v: f32, out: *mut *mut muon_value) -> muon_result {
    boundary!(result: {
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::Float(v)) }
    })
}

/// Makes a double (64-bit IEEE 754) value. NaN and infinities are allowed.
///
/// `out` is borrowed for the call and receives the new value only on
/// success: ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT`.
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_double(v: f64, out: *mut *mut muon_value) -> muon_result {
    boundary!(result: {
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::Double(v)) }
    })
}

/// Makes a decimal32 value from its 32 bits (IEEE 754-2008 decimal32,
/// as an integer; muon does no decimal arithmetic).
///
/// `out` is borrowed for the call and receives the new value only on
/// success: ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT`.
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_decimal32(bits: u32, out: *mut *mut muon_value) -> muon_result {
    boundary!(result: {
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::Decimal32(bits.to_be_bytes())) }
    })
}

/// Makes a decimal64 value from its 64 bits (IEEE 754-2008 decimal64,
/// as an integer).
///
/// `out` is borrowed for the call and receives the new value only on
/// success: ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT`.
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_decimal64(bits: u64, out: *mut *mut muon_value) -> muon_result {
    boundary!(result: {
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::Decimal64(bits.to_be_bytes())) }
    })
}

/// Makes a decimal128 value from its 16 bytes in network (big-endian)
/// order, as they appear on the wire.
///
/// `bytes` is borrowed for the call and must hold 16 bytes. `out` is
/// borrowed for the call and receives the new value only on success:
/// ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT`.
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `bytes` is NULL or points to 16 readable bytes; `out` is NULL or valid
/// for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_decimal128(
    bytes: *const u8,
    out: *mut *mut muon_value,
) -> muon_result {
    boundary!(result: {
        // SAFETY: `bytes` is NULL or 16 readable bytes, per the contract.
        let b = unsafe { bytes16(bytes) }?;
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::Decimal128(b)) }
    })
}

/// Makes a char value from a Unicode code point.
///
/// `out` is borrowed for the call and receives the new value only on
/// success: ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_OUT_OF_RANGE` when `code_point` is a surrogate or above
/// U+10FFFF.
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_char(
    code_point: u32,
    out: *mut *mut muon_value,
) -> muon_result {
    boundary!(result: {
        check_out(out)?;
        let c = char::from_u32(code_point).ok_or(muon_result::OutOfRange)?;
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::Char(c)) }
    })
}

/// Makes a timestamp value: milliseconds since the Unix epoch (negative
/// before it).
///
/// `out` is borrowed for the call and receives the new value only on
/// success: ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT`.
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_timestamp(ms: i64, out: *mut *mut muon_value) -> muon_result {
    boundary!(result: {
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::Timestamp(ms)) }
    })
}

/// Makes a uuid value from its 16 bytes (RFC 4122 order: the canonical
/// text form's hex digits, left to right).
///
/// `bytes` is borrowed for the call and must hold 16 bytes. `out` is
/// borrowed for the call and receives the new value only on success:
/// ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT`.
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `bytes` is NULL or points to 16 readable bytes; `out` is NULL or valid
/// for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_uuid(
    bytes: *const u8,
    out: *mut *mut muon_value,
) -> muon_result {
    boundary!(result: {
        // SAFETY: `bytes` is NULL or 16 readable bytes, per the contract.
        let b = unsafe { bytes16(bytes) }?;
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::Uuid(b)) }
    })
}

/// Makes a binary value holding a copy of `len` bytes at `ptr`.
///
/// `ptr` is borrowed for the call; it may be NULL when `len` is 0. `out` is
/// borrowed for the call and receives the new value only on success:
/// ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT`.
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes; `out` is NULL or valid
/// for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_binary(
    ptr: *const u8,
    len: usize,
    out: *mut *mut muon_value,
) -> muon_result {
    boundary!(result: {
        check_out(out)?;
        // SAFETY: `ptr` is NULL or `len` readable bytes, per the contract.
        let b = unsafe { bytes(ptr, len) }?;
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::Binary(Cow::Owned(b.to_vec()))) }
    })
}

/// Makes a string value holding a copy of the NUL-terminated UTF-8 text
/// `s`.
///
/// `s` is borrowed for the call. `out` is borrowed for the call and
/// receives the new value only on success: ownership moves out; free with
/// `muon_value_free`.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_INVALID_UTF8`.
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `s` is NULL or a NUL-terminated string; `out` is NULL or valid for
/// writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_string(
    s: *const c_char,
    out: *mut *mut muon_value,
) -> muon_result {
    boundary!(result: {
        check_out(out)?;
        // SAFETY: `s` is NULL or NUL-terminated, per the contract.
        let s = unsafe { cstr(s) }?;
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::String(Cow::Owned(s.to_owned()))) }
    })
}

/// Makes a symbol value holding a copy of the NUL-terminated ASCII text
/// `s`.
///
/// `s` is borrowed for the call. `out` is borrowed for the call and
/// receives the new value only on success: ownership moves out; free with
/// `muon_value_free`.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_INVALID_UTF8` (not UTF-8 at all), or
/// `MUON_RESULT_INVALID_ARGUMENT` (UTF-8 but not ASCII).
/// Thread-safe. May be called from a callback.
///
/// # Safety
/// `s` is NULL or a NUL-terminated string; `out` is NULL or valid for
/// writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_symbol(
    s: *const c_char,
    out: *mut *mut muon_value,
) -> muon_result {
    boundary!(result: {
        check_out(out)?;
        // SAFETY: `s` is NULL or NUL-terminated, per the contract.
        let s = symbol_text(unsafe { cstr(s) }?)?;
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, Value::Symbol(Cow::Owned(s.to_owned()))) }
    })
}

/// Makes a deep copy of `v`. A view may be cloned: that is how a value
/// borrowed from a message or a container is kept.
///
/// `v` is borrowed for the call. `out` is borrowed for the call and receives
/// the copy only on success: ownership moves out; free with `muon_value_free`.
/// Returns `MUON_RESULT_OK` or `MUON_RESULT_NULL_ARGUMENT`. Not thread-safe:
/// use one value from one thread at a time. May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_clone(
    v: *const muon_value,
    out: *mut *mut muon_value,
) -> muon_result {
    boundary!(result: {
        check_out(out)?;
        // SAFETY: `v` is NULL or a live value or view, per the contract.
        let copy = unsafe { borrow(v) }?.clone();
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, copy) }
    })
}

/// Frees `v` and everything inside it. NULL is ignored. Views into `v`
/// become invalid.
///
/// Ownership of `v` moves in. Not thread-safe: use one value from one thread at
/// a time. May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value this API handed to the caller (ownership moved
/// out) and not yet freed or moved in elsewhere; never a view.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_free(v: *mut muon_value) {
    boundary!((), {
        // SAFETY: `v` is NULL or owned by the caller, per the contract.
        if let Ok(b) = unsafe { take(v) } {
            drop(b);
        }
    })
}
