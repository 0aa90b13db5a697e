//! `muon_value` to and from the AMQP 1.0 wire format.

use super::boundary::{borrow, boundary, bytes, check_out, copy_out, write};
use super::result::muon_result;
use super::value::{give, muon_value};
use crate::codec::{Decoder, encode_value};

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
    check_out(len)?;
    if cap < encoded.len() {
        // SAFETY: `len` is non-NULL and, per the caller, writable.
        unsafe { write(len, encoded.len()) }?;
        return Err(muon_result::BufferTooSmall);
    }
    if buf.is_null() && !encoded.is_empty() {
        return Err(muon_result::NullArgument);
    }
    // SAFETY: `buf` has room for `cap >= encoded.len()` bytes.
    unsafe { copy_out(encoded, buf, cap) };
    // SAFETY: `len` is non-NULL and, per the caller, writable.
    unsafe { write(len, encoded.len()) }?;
    Ok(())
}

/// Encodes `v` in the AMQP 1.0 wire format (smallest encodings) into
/// `buf`.
///
/// `v` is borrowed for the call. `buf` is borrowed for the call and written
/// only on success. `len` is borrowed for the call: on success it receives the
/// number of bytes written; on `MUON_RESULT_BUFFER_TOO_SMALL` it receives the
/// number needed and `buf` is untouched (this size report is the one exception
/// to "out-parameters are written only on success"). `buf` may be NULL when
/// `cap` is 0, to ask for the size. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, or `MUON_RESULT_BUFFER_TOO_SMALL`. Not
/// thread-safe: use one value from one thread at a time. May be called from a
/// callback.
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
/// Thread-safe. May be called from a callback.
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
