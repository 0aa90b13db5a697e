//! Reading a `muon_value`: its type, typed getters, borrowed views into
//! containers, and the AMQP wire encoding.

use std::ffi::c_char;

use super::boundary::{borrow, boundary, check_out, copy_out, write};
use super::result::muon_result;
use super::value::{muon_type, muon_value};
use crate::codec::Value;

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
pub(crate) unsafe fn get<T>(
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

/// The type of `v`, or `MUON_TYPE_NONE` when `v` is NULL.
///
/// `v` is borrowed for the call. Not thread-safe: use one value from one thread
/// at a time. May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_type(v: *const muon_value) -> muon_type {
    boundary!(muon_type::None, {
        // SAFETY: `v` is NULL or live, per the contract.
        unsafe { borrow(v) }.map_or(muon_type::None, |v| v.kind().into())
    })
}

/// Reads a boolean value.
///
/// `v` is borrowed for the call. `out` is borrowed for the call and written
/// only on success. Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type. Not
/// thread-safe: use one value from one thread at a time. May be called from a
/// callback.
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
/// `v` is borrowed for the call. `out` is borrowed for the call and written
/// only on success. Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type. Not
/// thread-safe: use one value from one thread at a time. May be called from a
/// callback.
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
/// `v` is borrowed for the call. `out` is borrowed for the call and written
/// only on success. Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type. Not
/// thread-safe: use one value from one thread at a time. May be called from a
/// callback.
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
/// `v` is borrowed for the call. `out` is borrowed for the call and written
/// only on success. Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type. Not
/// thread-safe: use one value from one thread at a time. May be called from a
/// callback.
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
/// `v` is borrowed for the call. `out` is borrowed for the call and written
/// only on success. Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type. Not
/// thread-safe: use one value from one thread at a time. May be called from a
/// callback.
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
/// `v` is borrowed for the call. `out` is borrowed for the call and written
/// only on success. Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type. Not
/// thread-safe: use one value from one thread at a time. May be called from a
/// callback.
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
/// `v` is borrowed for the call. `out` is borrowed for the call and written
/// only on success. Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type. Not
/// thread-safe: use one value from one thread at a time. May be called from a
/// callback.
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
/// `v` is borrowed for the call. `out` is borrowed for the call and written
/// only on success. Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type. Not
/// thread-safe: use one value from one thread at a time. May be called from a
/// callback.
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
/// `v` is borrowed for the call. `out` is borrowed for the call and written
/// only on success. Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type. Not
/// thread-safe: use one value from one thread at a time. May be called from a
/// callback.
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
/// `v` is borrowed for the call. `out` is borrowed for the call and written
/// only on success. Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type. Not
/// thread-safe: use one value from one thread at a time. May be called from a
/// callback.
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
/// `v` is borrowed for the call. `out` is borrowed for the call and written
/// only on success. Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type. Not
/// thread-safe: use one value from one thread at a time. May be called from a
/// callback.
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
/// `v` is borrowed for the call. `out` is borrowed for the call and written
/// only on success. Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type. Not
/// thread-safe: use one value from one thread at a time. May be called from a
/// callback.
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
/// `v` is borrowed for the call. `out` is borrowed for the call and written
/// only on success. Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type. Not
/// thread-safe: use one value from one thread at a time. May be called from a
/// callback.
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
/// `v` is borrowed for the call. `out` is borrowed for the call and written
/// only on success. Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type. Not
/// thread-safe: use one value from one thread at a time. May be called from a
/// callback.
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
/// `v` is borrowed for the call. `out` is borrowed for the call and written
/// only on success. Returns `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, or
/// `MUON_RESULT_WRONG_TYPE` (out untouched) for a value of another type. Not
/// thread-safe: use one value from one thread at a time. May be called from a
/// callback.
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
/// `v` is borrowed for the call. `out` is borrowed for the call, must have room
/// for 16 bytes, and is written only on success. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, or `MUON_RESULT_WRONG_TYPE` (out untouched) for
/// a value of another type. Not thread-safe: use one value from one thread at a
/// time. May be called from a callback.
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
/// `v` is borrowed for the call. `out` is borrowed for the call, must have room
/// for 16 bytes, and is written only on success. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, or `MUON_RESULT_WRONG_TYPE` (out untouched) for
/// a value of another type. Not thread-safe: use one value from one thread at a
/// time. May be called from a callback.
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
/// only on success; the bytes it points to are borrowed until `v` (or the value
/// or message that owns it) is changed or freed. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, or `MUON_RESULT_WRONG_TYPE` (out untouched) for
/// a value of another type. Not thread-safe: use one value from one thread at a
/// time. May be called from a callback.
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
/// only on success; the bytes it points to are borrowed until `v` (or the value
/// or message that owns it) is changed or freed. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, or `MUON_RESULT_WRONG_TYPE` (out untouched) for
/// a value of another type. Not thread-safe: use one value from one thread at a
/// time. May be called from a callback.
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
/// only on success; the bytes it points to are borrowed until `v` (or the value
/// or message that owns it) is changed or freed. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, or `MUON_RESULT_WRONG_TYPE` (out untouched) for
/// a value of another type. Not thread-safe: use one value from one thread at a
/// time. May be called from a callback.
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
/// `v` is borrowed for the call. `buf` is borrowed for the call and is written
/// only on success, with the text and a NUL. `len` is borrowed for the call: on
/// success it receives the length of the text (without the NUL); on
/// `MUON_RESULT_BUFFER_TOO_SMALL` it receives the same number, so that a buffer
/// of `*len + 1` bytes will do, and `buf` is untouched (this size report is the
/// one exception to "out-parameters are written only on success"). `buf` may be
/// NULL when `cap` is 0, to ask for the size. A string holding a NUL byte is
/// copied whole; C will see it end early. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_WRONG_TYPE` (not a string; nothing
/// written), or `MUON_RESULT_BUFFER_TOO_SMALL` (`cap` < length + 1). Not
/// thread-safe: use one value from one thread at a time. May be called from a
/// callback.
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
        if cap <= needed {
            // SAFETY: `len` is non-NULL and writable, per the contract.
            unsafe { write(len, needed) }?;
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
        // SAFETY: `len` is non-NULL and writable, per the contract.
        unsafe { write(len, needed) }?;
        Ok(())
    })
}
