//! Reading a `muon_value`: its type, typed getters, borrowed views into
//! containers, and the AMQP wire encoding.

use std::ffi::c_char;

use super::boundary::{borrow, boundary, bytes, check_out, copy_out, cstr, view, write};
use super::result::muon_result;
use super::value::{give, muon_type, muon_value};
use crate::codec::{Decoder, Descriptor, Value, encode_value};

/// A borrowed view of bytes owned by muon: `len` bytes at `ptr`. Not
/// NUL-terminated. Each function that fills one says how long it stays
/// valid; never free `ptr`. `ptr` may be NULL when `len` is 0.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct muon_bytes {
    /// The first byte.
    pub ptr: *const u8,
    /// How many bytes.
    pub len: usize,
}

impl muon_bytes {
    pub(crate) fn of(b: &[u8]) -> Self {
        muon_bytes {
            ptr: b.as_ptr(),
            len: b.len(),
        }
    }
}

/// Runs `f` on the value behind `v` and writes its answer to `out`:
/// `NULL_ARGUMENT` for a NULL pointer, `WRONG_TYPE` (out untouched) when
/// `f` declines.
///
/// # Safety
/// `v` is NULL or a live value or view; `out` is NULL or writable.
unsafe fn get<T>(
    v: *const muon_value,
    out: *mut T,
    f: impl FnOnce(&Value<'static>) -> Option<T>,
) -> Result<(), muon_result> {
    check_out(out)?;
    // SAFETY: forwarded from the caller.
    let value = unsafe { borrow(v) }?;
    let answer = f(value).ok_or(muon_result::WrongType)?;
    // SAFETY: forwarded from the caller.
    unsafe { write(out, answer) }
}

/// The type of `v`, or `MUON_TYPE_INVALID` when `v` is NULL.
///
/// `v` is borrowed for the call.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_type(v: *const muon_value) -> muon_type {
    boundary!(muon_type::Invalid, {
        // SAFETY: `v` is NULL or live, per the contract.
        unsafe { borrow(v) }.map_or(muon_type::Invalid, |v| v.kind().into())
    })
}

/// Reads a boolean value.
///
/// `v` is borrowed for the call. `out` is borrowed for the call and
/// written only on success.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_get_bool(v: *const muon_value, out: *mut bool) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get(v, out, |v| match v {
                Value::Bool(x) => Some(*x),
                _ => None,
            })
        }
    })
}

/// Reads a ubyte value.
///
/// `v` is borrowed for the call. `out` is borrowed for the call and
/// written only on success.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_get_ubyte(v: *const muon_value, out: *mut u8) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get(v, out, |v| match v {
                Value::Ubyte(x) => Some(*x),
                _ => None,
            })
        }
    })
}

/// Reads a ushort value.
///
/// `v` is borrowed for the call. `out` is borrowed for the call and
/// written only on success.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_get_ushort(v: *const muon_value, out: *mut u16) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get(v, out, |v| match v {
                Value::Ushort(x) => Some(*x),
                _ => None,
            })
        }
    })
}

/// Reads a uint value.
///
/// `v` is borrowed for the call. `out` is borrowed for the call and
/// written only on success.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_get_uint(v: *const muon_value, out: *mut u32) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get(v, out, |v| match v {
                Value::Uint(x) => Some(*x),
                _ => None,
            })
        }
    })
}

/// Reads a ulong value.
///
/// `v` is borrowed for the call. `out` is borrowed for the call and
/// written only on success.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_get_ulong(v: *const muon_value, out: *mut u64) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get(v, out, |v| match v {
                Value::Ulong(x) => Some(*x),
                _ => None,
            })
        }
    })
}

/// Reads a byte value.
///
/// `v` is borrowed for the call. `out` is borrowed for the call and
/// written only on success.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_get_byte(v: *const muon_value, out: *mut i8) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get(v, out, |v| match v {
                Value::Byte(x) => Some(*x),
                _ => None,
            })
        }
    })
}

/// Reads a short value.
///
/// `v` is borrowed for the call. `out` is borrowed for the call and
/// written only on success.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_get_short(v: *const muon_value, out: *mut i16) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get(v, out, |v| match v {
                Value::Short(x) => Some(*x),
                _ => None,
            })
        }
    })
}

/// Reads an int value.
///
/// `v` is borrowed for the call. `out` is borrowed for the call and
/// written only on success.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_get_int(v: *const muon_value, out: *mut i32) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get(v, out, |v| match v {
                Value::Int(x) => Some(*x),
                _ => None,
            })
        }
    })
}

/// Reads a long value.
///
/// `v` is borrowed for the call. `out` is borrowed for the call and
/// written only on success.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_get_long(v: *const muon_value, out: *mut i64) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get(v, out, |v| match v {
                Value::Long(x) => Some(*x),
                _ => None,
            })
        }
    })
}

/// Reads a float value.
///
/// `v` is borrowed for the call. `out` is borrowed for the call and
/// written only on success.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_get_float(v: *const muon_value, out: *mut f32) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get(v, out, |v| match v {
                Value::Float(x) => Some(*x),
                _ => None,
            })
        }
    })
}

/// Reads a double value.
///
/// `v` is borrowed for the call. `out` is borrowed for the call and
/// written only on success.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_get_double(v: *const muon_value, out: *mut f64) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get(v, out, |v| match v {
                Value::Double(x) => Some(*x),
                _ => None,
            })
        }
    })
}

/// Reads a decimal32 value as its 32 bits (the inverse of `muon_value_decimal32`).
///
/// `v` is borrowed for the call. `out` is borrowed for the call and
/// written only on success.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_get_decimal32(
    v: *const muon_value,
    out: *mut u32,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get(v, out, |v| match v {
                Value::Decimal32(x) => Some(u32::from_be_bytes(*x)),
                _ => None,
            })
        }
    })
}

/// Reads a decimal64 value as its 64 bits (the inverse of `muon_value_decimal64`).
///
/// `v` is borrowed for the call. `out` is borrowed for the call and
/// written only on success.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_get_decimal64(
    v: *const muon_value,
    out: *mut u64,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get(v, out, |v| match v {
                Value::Decimal64(x) => Some(u64::from_be_bytes(*x)),
                _ => None,
            })
        }
    })
}

/// Reads a char value as its Unicode code point.
///
/// `v` is borrowed for the call. `out` is borrowed for the call and
/// written only on success.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_get_char(v: *const muon_value, out: *mut u32) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get(v, out, |v| match v {
                Value::Char(x) => Some(u32::from(*x)),
                _ => None,
            })
        }
    })
}

/// Reads a timestamp value: milliseconds since the Unix epoch.
///
/// `v` is borrowed for the call. `out` is borrowed for the call and
/// written only on success.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_get_timestamp(
    v: *const muon_value,
    out: *mut i64,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get(v, out, |v| match v {
                Value::Timestamp(x) => Some(*x),
                _ => None,
            })
        }
    })
}

/// Copies 16 bytes to `out`.
///
/// # Safety
/// `out` is NULL or valid for writing 16 bytes.
unsafe fn write16(out: *mut u8, b: &[u8; 16]) -> Result<(), muon_result> {
    check_out(out)?;
    // SAFETY: `out` is non-NULL and, per the caller, has room for 16 bytes.
    unsafe { copy_out(b, out, 16) };
    Ok(())
}

/// Reads a decimal128 value: copies its 16 bytes, in network order, to
/// `out`.
///
/// `v` is borrowed for the call. `out` is borrowed for the call, must have
/// room for 16 bytes, and is written only on success.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing 16 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_get_decimal128(
    v: *const muon_value,
    out: *mut u8,
) -> muon_result {
    boundary!(result: {
        check_out(out)?;
        // SAFETY: `v` is NULL or live, per the contract.
        let Value::Decimal128(b) = unsafe { borrow(v) }? else {
            return Err(muon_result::WrongType);
        };
        // SAFETY: `out` has room for 16 bytes, per the contract.
        unsafe { write16(out, b) }
    })
}

/// Reads a uuid value: copies its 16 bytes (RFC 4122 order) to `out`.
///
/// `v` is borrowed for the call. `out` is borrowed for the call, must have
/// room for 16 bytes, and is written only on success.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing 16 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_get_uuid(v: *const muon_value, out: *mut u8) -> muon_result {
    boundary!(result: {
        check_out(out)?;
        // SAFETY: `v` is NULL or live, per the contract.
        let Value::Uuid(b) = unsafe { borrow(v) }? else {
            return Err(muon_result::WrongType);
        };
        // SAFETY: `out` has room for 16 bytes, per the contract.
        unsafe { write16(out, b) }
    })
}

/// Reads a binary value as a view of its bytes.
///
/// `v` is borrowed for the call. `out` is borrowed for the call and written
/// only on success; the bytes it points to are borrowed until `v` (or the
/// value or message that owns it) is changed or freed.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_get_binary(
    v: *const muon_value,
    out: *mut muon_bytes,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get(v, out, |v| match v {
                Value::Binary(b) => Some(muon_bytes::of(b)),
                _ => None,
            })
        }
    })
}

/// Reads a string value as a view of its UTF-8 bytes. The view is **not**
/// NUL-terminated (AMQP strings may contain NUL); use `len`, or
/// `muon_value_get_string_copy` for a C string.
///
/// `v` is borrowed for the call. `out` is borrowed for the call and written
/// only on success; the bytes it points to are borrowed until `v` (or the
/// value or message that owns it) is changed or freed.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_get_string(
    v: *const muon_value,
    out: *mut muon_bytes,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get(v, out, |v| match v {
                Value::String(s) => Some(muon_bytes::of(s.as_bytes())),
                _ => None,
            })
        }
    })
}

/// Reads a symbol value as a view of its ASCII bytes (not NUL-terminated).
///
/// `v` is borrowed for the call. `out` is borrowed for the call and written
/// only on success; the bytes it points to are borrowed until `v` (or the
/// value or message that owns it) is changed or freed.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_get_symbol(
    v: *const muon_value,
    out: *mut muon_bytes,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get(v, out, |v| match v {
                Value::Symbol(s) => Some(muon_bytes::of(s.as_bytes())),
                _ => None,
            })
        }
    })
}

/// Copies a string value into `buf` as a NUL-terminated C string.
///
/// `v` is borrowed for the call. `buf` is borrowed for the call and is
/// written only on success, with the text and a NUL. `len` is borrowed for
/// the call: on success it receives the length of the text (without the
/// NUL); on `MUON_RESULT_BUFFER_TOO_SMALL` it receives the same number, so
/// that a buffer of `*len + 1` bytes will do, and `buf` is untouched (this
/// size report is the one exception to "out-parameters are written only on
/// success"). `buf` may be NULL when `cap` is 0, to ask for the size.
/// A string holding a NUL byte is copied whole; C will see it end early.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_WRONG_TYPE` (not a string; nothing written), or
/// `MUON_RESULT_BUFFER_TOO_SMALL` (`cap` < length + 1).
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `buf` is NULL or valid for
/// writing `cap` bytes; `len` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_get_string_copy(
    v: *const muon_value,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> muon_result {
    boundary!(result: {
        check_out(len)?;
        // SAFETY: `v` is NULL or live, per the contract.
        let Value::String(s) = unsafe { borrow(v) }? else {
            return Err(muon_result::WrongType);
        };
        let needed = s.len();
        // SAFETY: `len` is non-NULL and writable, per the contract.
        unsafe { write(len, needed) }?;
        if cap <= needed {
            return Err(muon_result::BufferTooSmall);
        }
        if buf.is_null() {
            return Err(muon_result::NullArgument);
        }
        // SAFETY: `buf` has room for `cap > needed` bytes, per the contract.
        unsafe {
            copy_out(s.as_bytes(), buf.cast(), cap);
            buf.add(needed).write(0);
        }
        Ok(())
    })
}

/// The number of items in a list or array, or of entries (key/value
/// pairs) in a map; 0 for any other value and for NULL.
///
/// `v` is borrowed for the call.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_len(v: *const muon_value) -> usize {
    boundary!(0, {
        // SAFETY: `v` is NULL or live, per the contract.
        match unsafe { borrow(v) } {
            Ok(Value::List(items)) => items.len(),
            Ok(Value::Map(pairs)) => pairs.len(),
            Ok(Value::Array(a)) => a.items.len(),
            _ => 0,
        }
    })
}

/// Borrows a view of `r`, or NULL.
fn view_of(r: Option<&Value<'static>>) -> *const muon_value {
    r.map_or(std::ptr::null(), view::<muon_value>)
}

/// The item at `index` of list `v`, as a view borrowed until `v` (or the
/// value or message that owns it) is changed or freed. NULL when `v` is
/// NULL or not a list, or `index` is out of range.
///
/// `v` is borrowed for the call.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_list_get(
    v: *const muon_value,
    index: usize,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: `v` is NULL or live, per the contract.
        match unsafe { borrow(v) } {
            Ok(Value::List(items)) => view_of(items.get(index)),
            _ => std::ptr::null(),
        }
    })
}

/// The key of entry `index` of map `v` (entries keep their order), as a
/// view borrowed until `v` (or the value or message that owns it) is
/// changed or freed. NULL when `v` is NULL or not a map, or `index` is out
/// of range.
///
/// `v` is borrowed for the call.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_map_key(
    v: *const muon_value,
    index: usize,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: `v` is NULL or live, per the contract.
        match unsafe { borrow(v) } {
            Ok(Value::Map(pairs)) => view_of(pairs.get(index).map(|(k, _)| k)),
            _ => std::ptr::null(),
        }
    })
}

/// The value of entry `index` of map `v`, as a view borrowed until `v` (or
/// the value or message that owns it) is changed or freed. NULL when `v`
/// is NULL or not a map, or `index` is out of range.
///
/// `v` is borrowed for the call.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_map_value(
    v: *const muon_value,
    index: usize,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: `v` is NULL or live, per the contract.
        match unsafe { borrow(v) } {
            Ok(Value::Map(pairs)) => view_of(pairs.get(index).map(|(_, v)| v)),
            _ => std::ptr::null(),
        }
    })
}

/// Looks up the value under a key for which `matches` holds.
///
/// # Safety
/// `v` is NULL or live; `key` is NULL or NUL-terminated.
unsafe fn map_lookup(
    v: *const muon_value,
    key: *const c_char,
    matches: impl Fn(&Value<'static>, &str) -> bool,
) -> *const muon_value {
    // SAFETY: forwarded from the caller.
    let (Ok(Value::Map(pairs)), Ok(key)) = (unsafe { borrow(v) }, unsafe { cstr(key) }) else {
        return std::ptr::null();
    };
    view_of(pairs.iter().find(|(k, _)| matches(k, key)).map(|(_, v)| v))
}

/// The value under the string key `key` in map `v` (the first such entry),
/// as a view borrowed until `v` (or the value or message that owns it) is
/// changed or freed. A symbol key does not match. NULL when `v` is NULL or
/// not a map, `key` is NULL or not UTF-8, or there is no such key.
///
/// `v` and `key` are borrowed for the call.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `key` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_map_get_string_key(
    v: *const muon_value,
    key: *const c_char,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: forwarded from this function's contract.
        unsafe { map_lookup(v, key, |k, key| matches!(k, Value::String(s) if s == key)) }
    })
}

/// The value under the symbol key `key` in map `v` (the first such entry),
/// as a view borrowed until `v` (or the value or message that owns it) is
/// changed or freed. A string key does not match. NULL when `v` is NULL or
/// not a map, `key` is NULL or not UTF-8, or there is no such key.
///
/// `v` and `key` are borrowed for the call.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `key` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_map_get_symbol_key(
    v: *const muon_value,
    key: *const c_char,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: forwarded from this function's contract.
        unsafe { map_lookup(v, key, |k, key| matches!(k, Value::Symbol(s) if s == key)) }
    })
}

/// The element type of array `v`, or `MUON_TYPE_INVALID` when `v` is NULL
/// or not an array.
///
/// `v` is borrowed for the call.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_array_type(v: *const muon_value) -> muon_type {
    boundary!(muon_type::Invalid, {
        // SAFETY: `v` is NULL or live, per the contract.
        match unsafe { borrow(v) } {
            Ok(Value::Array(a)) => a.kind.into(),
            _ => muon_type::Invalid,
        }
    })
}

/// The element at `index` of array `v`, as a view borrowed until `v` (or
/// the value or message that owns it) is changed or freed. NULL when `v` is
/// NULL or not an array, or `index` is out of range.
///
/// `v` is borrowed for the call.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_array_get(
    v: *const muon_value,
    index: usize,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: `v` is NULL or live, per the contract.
        match unsafe { borrow(v) } {
            Ok(Value::Array(a)) => view_of(a.items.get(index)),
            _ => std::ptr::null(),
        }
    })
}

/// Reads the descriptor of a described value when it is numeric (a ulong).
///
/// `v` is borrowed for the call. `out` is borrowed for the call and written
/// only on success.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) when `v` is not described or
/// its descriptor is a symbol.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_described_descriptor_code(
    v: *const muon_value,
    out: *mut u64,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get(v, out, |v| match v {
                Value::Described(b) => match &b.0 {
                    Descriptor::Code(c) => Some(*c),
                    Descriptor::Symbol(_) => None,
                },
                _ => None,
            })
        }
    })
}

/// Reads the descriptor of a described value when it is a symbol, as a
/// view of its ASCII bytes (not NUL-terminated).
///
/// `v` is borrowed for the call. `out` is borrowed for the call and written
/// only on success; the bytes are borrowed until `v` (or the value or
/// message that owns it) is changed or freed.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) when `v` is not described or
/// its descriptor is numeric.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `out` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_described_descriptor_symbol(
    v: *const muon_value,
    out: *mut muon_bytes,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            get(v, out, |v| match v {
                Value::Described(b) => match &b.0 {
                    Descriptor::Symbol(s) => Some(muon_bytes::of(s.as_bytes())),
                    Descriptor::Code(_) => None,
                },
                _ => None,
            })
        }
    })
}

/// The value a described value describes, as a view borrowed until `v` (or
/// the value or message that owns it) is changed or freed. NULL when `v` is
/// NULL or not described.
///
/// `v` is borrowed for the call.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_described_value(v: *const muon_value) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: `v` is NULL or live, per the contract.
        match unsafe { borrow(v) } {
            Ok(Value::Described(b)) => view::<muon_value>(&b.1),
            _ => std::ptr::null(),
        }
    })
}

/// Writes `encoded` to the caller's buffer, snprintf-size style.
///
/// # Safety
/// `buf` is NULL or valid for `cap` bytes; `len` is valid for writing.
pub(crate) unsafe fn emit(
    encoded: &[u8],
    buf: *mut u8,
    cap: usize,
    len: *mut usize,
) -> Result<(), muon_result> {
    // SAFETY: forwarded from the caller.
    unsafe { write(len, encoded.len()) }?;
    if cap < encoded.len() {
        return Err(muon_result::BufferTooSmall);
    }
    if buf.is_null() && !encoded.is_empty() {
        return Err(muon_result::NullArgument);
    }
    // SAFETY: `buf` has room for `cap >= encoded.len()` bytes.
    unsafe { copy_out(encoded, buf, cap) };
    Ok(())
}

/// Encodes `v` in the AMQP 1.0 wire format (smallest encodings) into
/// `buf`.
///
/// `v` is borrowed for the call. `buf` is borrowed for the call and written
/// only on success. `len` is borrowed for the call: on success it receives
/// the number of bytes written; on `MUON_RESULT_BUFFER_TOO_SMALL` it
/// receives the number needed and `buf` is untouched (this size report is
/// the one exception to "out-parameters are written only on success").
/// `buf` may be NULL when `cap` is 0, to ask for the size.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_BUFFER_TOO_SMALL`.
/// May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `buf` is NULL or valid
/// for writing `cap` bytes; `len` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_encode(
    v: *const muon_value,
    buf: *mut u8,
    cap: usize,
    len: *mut usize,
) -> muon_result {
    boundary!(result: {
        check_out(len)?;
        // SAFETY: `v` is NULL or live, per the contract.
        let value = unsafe { borrow(v) }?;
        let mut encoded = Vec::new();
        encode_value(value, &mut encoded);
        // SAFETY: forwarded from this function's contract.
        unsafe { emit(&encoded, buf, cap, len) }
    })
}

/// Decodes one AMQP 1.0 value that fills exactly `len` bytes at `bytes`.
/// Any input is safe: bytes that are not exactly one valid value give
/// `MUON_RESULT_DECODE_ERROR`.
///
/// `data` is borrowed for the call (it may be NULL when `len` is 0; the
/// result copies what it needs). `out` is borrowed for the call and
/// receives the value only on success: ownership moves out; free with
/// `muon_value_free`.
/// Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_DECODE_ERROR`.
/// May be called from a callback.
///
/// # Safety
/// `data` is NULL or points to `len` readable bytes; `out` is NULL or
/// valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_decode(
    data: *const u8,
    len: usize,
    out: *mut *mut muon_value,
) -> muon_result {
    boundary!(result: {
        check_out(out)?;
        // SAFETY: `data` is NULL or `len` readable bytes, per the contract.
        let input = unsafe { bytes(data, len) }?;
        let value = Decoder::decode_exact(input)?.into_owned();
        // SAFETY: `out` is as `give` requires, per this function's contract.
        unsafe { give(out, value) }
    })
}
