//! The header (AMQP 1.0 §3.2.1) and properties (§3.2.4) of a
//! `muon_message`, field by field.
//!
//! Optional fields: a text setter given NULL clears its field; numeric
//! optional fields have a `_clear_` function, and their getter returns
//! `true` and writes `*out` only when the field is present. A header or
//! properties section left with only default fields is dropped, so it
//! costs no bytes on the wire.

use std::ffi::c_char;

use super::boundary::{borrow, borrow_mut, boundary, bytes, cstr, take, view};
use super::message::{TextField, change, muon_message, optional, props, read, tidy};
use super::result::muon_result;
use super::value::{muon_value, symbol_text};
use super::value_get::muon_bytes;
use crate::codec::sections::is_message_id;
use crate::codec::{Binary, Timestamp};

/// Sets text property `field` from `text` (NULL removes it); the two
/// symbol fields must be ASCII.
///
/// # Safety
/// `msg` is NULL or a live message nothing else uses for the call; `text`
/// is NULL or a NUL-terminated string.
unsafe fn set_text(
    msg: *mut muon_message,
    text: *const c_char,
    field: TextField,
) -> Result<(), muon_result> {
    let new = if text.is_null() {
        None
    } else {
        // SAFETY: `text` is NUL-terminated, per the caller.
        let s = unsafe { cstr(text) }?;
        Some(
            if field.is_symbol() {
                symbol_text(s)?
            } else {
                s
            }
            .to_owned(),
        )
    };
    // SAFETY: forwarded from the caller.
    unsafe {
        change(msg, |m| {
            m.set_text(field, new);
            Ok(())
        })
    }
}

/// Sets the message-id: a ulong, uuid, binary or string value (AMQP 1.0
/// §3.2.11-3.2.14). NULL removes it.
///
/// `msg` is borrowed for the call. On success ownership of `value` moves in: do
/// not use or free it afterwards. On any error it stays with the caller,
/// unchanged. A view of the old value is invalidated. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT` (`msg` is NULL), or `MUON_RESULT_WRONG_TYPE`
/// (`value` is of another type). Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `value` is NULL or a value the
/// caller owns (not a view).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_id(
    msg: *mut muon_message,
    value: *mut muon_value,
) -> muon_result {
    boundary!(result: {
        // SAFETY: `msg` is NULL or live and not aliased, per the contract.
        let m = unsafe { borrow_mut(msg) }?;
        let new = if value.is_null() {
            None
        } else {
            // SAFETY: `value` is a non-NULL owned value, per the contract.
            if !is_message_id(unsafe { borrow(value) }?) {
                return Err(muon_result::WrongType);
            }
            // SAFETY: as above, checked; ownership moves in now.
            Some(*unsafe { take(value) }?)
        };
        m.msg_mut().properties_mut().message_id = new;
        tidy(m.msg_mut());
        Ok(())
    })
}

/// The message-id, as a view borrowed until it is changed or `msg` is
/// freed; NULL when absent or `msg` is NULL.
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_id(msg: *const muon_message) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: `msg` is NULL or live, per the contract.
        unsafe {
            read(msg, std::ptr::null(), |m| {
                props(m.msg())
                    .and_then(|p| p.message_id.as_ref())
                    .map_or(std::ptr::null(), view::<muon_value>)
            })
        }
    })
}

/// Sets the user-id to a copy of `len` bytes at `ptr`; a NULL `ptr` removes
/// it (pass a non-NULL `ptr` with `len` 0 for an empty user-id).
///
/// `msg` and `ptr` are borrowed for the call. Returns `MUON_RESULT_OK` or
/// `MUON_RESULT_NULL_ARGUMENT` (`msg` is NULL). Not thread-safe: use one
/// message from one thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `ptr` is NULL or points to
/// `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_user_id(
    msg: *mut muon_message,
    ptr: *const u8,
    len: usize,
) -> muon_result {
    boundary!(result: {
        let new = if ptr.is_null() {
            None
        } else {
            // SAFETY: `ptr` points to `len` readable bytes, per the contract.
            Some(Binary(unsafe { bytes(ptr, len) }?.to_vec()))
        };
        // SAFETY: `msg` is NULL or live and not aliased, per the contract.
        unsafe {
            change(msg, |m| {
                m.msg_mut().properties_mut().user_id = new;
                Ok(())
            })
        }
    })
}

/// Reads the user-id: returns `true` and writes `*out`, a view of its bytes
/// borrowed until it is changed or `msg` is freed, when the message has one;
/// returns `false`, leaving `*out` untouched, when it has not, or `msg` or
/// `out` is NULL.
///
/// `msg` and `out` are borrowed for the call. Not thread-safe: use one message
/// from one thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `out` is NULL or valid for
/// writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_user_id(
    msg: *const muon_message,
    out: *mut muon_bytes,
) -> bool {
    boundary!(false, {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            optional(msg, out, |m| {
                props(m)
                    .and_then(|p| p.user_id.as_ref())
                    .map(|b| muon_bytes::of(&b.0))
            })
        }
    })
}

/// Sets the to address (the node the message is for) to a copy of the
/// NUL-terminated UTF-8 string `text`; NULL removes it.
///
/// `msg` and `text` are borrowed for the call. A string returned earlier by
/// `muon_message_to` is invalidated. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT` (`msg` is NULL), or `MUON_RESULT_INVALID_UTF8`
/// (the field is unchanged). Not thread-safe: use one message from one thread
/// at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `text` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_to(
    msg: *mut muon_message,
    text: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe { set_text(msg, text, TextField::To) }
    })
}

/// The to address (the node the message is for) as a NUL-terminated string,
/// borrowed until the field is changed or `msg` is freed; NULL when absent or
/// `msg` is NULL. (A string that holds a NUL byte, which only a peer can send,
/// appears cut short.)
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_to(msg: *const muon_message) -> *const c_char {
    boundary!(std::ptr::null(), {
        // SAFETY: `msg` is NULL or live, per the contract.
        unsafe { read(msg, std::ptr::null(), |m| m.c_text(TextField::To)) }
    })
}

/// Sets the subject to a copy of the NUL-terminated UTF-8 string `text`; NULL
/// removes it.
///
/// `msg` and `text` are borrowed for the call. A string returned earlier by
/// `muon_message_subject` is invalidated. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT` (`msg` is NULL), or `MUON_RESULT_INVALID_UTF8`
/// (the field is unchanged). Not thread-safe: use one message from one thread
/// at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `text` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_subject(
    msg: *mut muon_message,
    text: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe { set_text(msg, text, TextField::Subject) }
    })
}

/// The subject as a NUL-terminated string, borrowed until the field is
/// changed or `msg` is freed; NULL when absent or `msg` is NULL. (A string
/// that holds a NUL byte, which only a peer can send, appears cut short.)
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_subject(msg: *const muon_message) -> *const c_char {
    boundary!(std::ptr::null(), {
        // SAFETY: `msg` is NULL or live, per the contract.
        unsafe { read(msg, std::ptr::null(), |m| m.c_text(TextField::Subject)) }
    })
}

/// Sets the reply-to address to a copy of the NUL-terminated UTF-8 string `text`; NULL
/// removes it.
///
/// `msg` and `text` are borrowed for the call. A string returned earlier by
/// `muon_message_reply_to` is invalidated. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT` (`msg` is NULL), or `MUON_RESULT_INVALID_UTF8`
/// (the field is unchanged). Not thread-safe: use one message from one thread
/// at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `text` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_reply_to(
    msg: *mut muon_message,
    text: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe { set_text(msg, text, TextField::ReplyTo) }
    })
}

/// The reply-to address as a NUL-terminated string, borrowed until the field is
/// changed or `msg` is freed; NULL when absent or `msg` is NULL. (A string
/// that holds a NUL byte, which only a peer can send, appears cut short.)
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_reply_to(msg: *const muon_message) -> *const c_char {
    boundary!(std::ptr::null(), {
        // SAFETY: `msg` is NULL or live, per the contract.
        unsafe { read(msg, std::ptr::null(), |m| m.c_text(TextField::ReplyTo)) }
    })
}

/// Sets the correlation-id: a ulong, uuid, binary or string value (AMQP 1.0
/// §3.2.11-3.2.14). NULL removes it.
///
/// `msg` is borrowed for the call. On success ownership of `value` moves in: do
/// not use or free it afterwards. On any error it stays with the caller,
/// unchanged. A view of the old value is invalidated. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT` (`msg` is NULL), or `MUON_RESULT_WRONG_TYPE`
/// (`value` is of another type). Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `value` is NULL or a value the
/// caller owns (not a view).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_correlation_id(
    msg: *mut muon_message,
    value: *mut muon_value,
) -> muon_result {
    boundary!(result: {
        // SAFETY: `msg` is NULL or live and not aliased, per the contract.
        let m = unsafe { borrow_mut(msg) }?;
        let new = if value.is_null() {
            None
        } else {
            // SAFETY: `value` is a non-NULL owned value, per the contract.
            if !is_message_id(unsafe { borrow(value) }?) {
                return Err(muon_result::WrongType);
            }
            // SAFETY: as above, checked; ownership moves in now.
            Some(*unsafe { take(value) }?)
        };
        m.msg_mut().properties_mut().correlation_id = new;
        tidy(m.msg_mut());
        Ok(())
    })
}

/// The correlation-id, as a view borrowed until it is changed or `msg` is
/// freed; NULL when absent or `msg` is NULL.
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_correlation_id(
    msg: *const muon_message,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        // SAFETY: `msg` is NULL or live, per the contract.
        unsafe {
            read(msg, std::ptr::null(), |m| {
                props(m.msg())
                    .and_then(|p| p.correlation_id.as_ref())
                    .map_or(std::ptr::null(), view::<muon_value>)
            })
        }
    })
}

/// Sets the content-type (a MIME type such as `text/plain`) to a copy of the
/// NUL-terminated ASCII symbol `text`; NULL removes it.
///
/// `msg` and `text` are borrowed for the call. A string returned earlier by
/// `muon_message_content_type` is invalidated. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT` (`msg` is NULL), `MUON_RESULT_INVALID_UTF8`, or
/// `MUON_RESULT_INVALID_ARGUMENT` (not ASCII); the field is unchanged on error.
/// Not thread-safe: use one message from one thread at a time. May be called
/// from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `text` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_content_type(
    msg: *mut muon_message,
    text: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe { set_text(msg, text, TextField::ContentType) }
    })
}

/// The content-type (a MIME type such as `text/plain`) as a NUL-terminated
/// string, borrowed until the field is changed or `msg` is freed; NULL when
/// absent or `msg` is NULL. (A string that holds a NUL byte, which only a peer
/// can send, appears cut short.)
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_content_type(msg: *const muon_message) -> *const c_char {
    boundary!(std::ptr::null(), {
        // SAFETY: `msg` is NULL or live, per the contract.
        unsafe { read(msg, std::ptr::null(), |m| m.c_text(TextField::ContentType)) }
    })
}

/// Sets the content-encoding (such as `gzip`) to a copy of the NUL-terminated
/// ASCII symbol `text`; NULL removes it.
///
/// `msg` and `text` are borrowed for the call. A string returned earlier by
/// `muon_message_content_encoding` is invalidated. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT` (`msg` is NULL), `MUON_RESULT_INVALID_UTF8`, or
/// `MUON_RESULT_INVALID_ARGUMENT` (not ASCII); the field is unchanged on error.
/// Not thread-safe: use one message from one thread at a time. May be called
/// from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `text` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_content_encoding(
    msg: *mut muon_message,
    text: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe { set_text(msg, text, TextField::ContentEncoding) }
    })
}

/// The content-encoding (such as `gzip`) as a NUL-terminated string, borrowed
/// until the field is changed or `msg` is freed; NULL when absent or `msg` is
/// NULL. (A string that holds a NUL byte, which only a peer can send, appears
/// cut short.)
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_content_encoding(msg: *const muon_message) -> *const c_char {
    boundary!(std::ptr::null(), {
        // SAFETY: `msg` is NULL or live, per the contract.
        unsafe {
            read(msg, std::ptr::null(), |m| {
                m.c_text(TextField::ContentEncoding)
            })
        }
    })
}

/// Sets the absolute expiry time (milliseconds since the Unix epoch).
///
/// `msg` is borrowed for the call. Returns `MUON_RESULT_OK` or
/// `MUON_RESULT_NULL_ARGUMENT`. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_absolute_expiry_time(
    msg: *mut muon_message,
    absolute_expiry_time: i64,
) -> muon_result {
    boundary!(result: {
        // SAFETY: `msg` is NULL or live and not aliased, per the contract.
        unsafe {
            change(msg, |m| {
                m.msg_mut().properties_mut().absolute_expiry_time = Some(Timestamp(absolute_expiry_time));
                Ok(())
            })
        }
    })
}

/// Removes the absolute expiry time.
///
/// `msg` is borrowed for the call. Returns `MUON_RESULT_OK` or
/// `MUON_RESULT_NULL_ARGUMENT`. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_clear_absolute_expiry_time(
    msg: *mut muon_message,
) -> muon_result {
    boundary!(result: {
        // SAFETY: `msg` is NULL or live and not aliased, per the contract.
        unsafe {
            change(msg, |m| {
                if let Some(s) = m.msg_mut().properties.as_mut() {
                    s.absolute_expiry_time = None;
                }
                Ok(())
            })
        }
    })
}

/// Reads the absolute expiry time (milliseconds since the Unix epoch): returns
/// `true` and writes `*out` when the message has it; returns `false`, leaving
/// `*out` untouched, when it has not, or `msg` or `out` is NULL.
///
/// `msg` and `out` are borrowed for the call. Not thread-safe: use one message
/// from one thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `out` is NULL or valid for
/// writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_absolute_expiry_time(
    msg: *const muon_message,
    out: *mut i64,
) -> bool {
    boundary!(false, {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            optional(msg, out, |m| {
                props(m).and_then(|s| s.absolute_expiry_time).map(|t| t.0)
            })
        }
    })
}

/// Sets the creation time (milliseconds since the Unix epoch).
///
/// `msg` is borrowed for the call. Returns `MUON_RESULT_OK` or
/// `MUON_RESULT_NULL_ARGUMENT`. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_creation_time(
    msg: *mut muon_message,
    creation_time: i64,
) -> muon_result {
    boundary!(result: {
        // SAFETY: `msg` is NULL or live and not aliased, per the contract.
        unsafe {
            change(msg, |m| {
                m.msg_mut().properties_mut().creation_time = Some(Timestamp(creation_time));
                Ok(())
            })
        }
    })
}

/// Removes the creation time.
///
/// `msg` is borrowed for the call. Returns `MUON_RESULT_OK` or
/// `MUON_RESULT_NULL_ARGUMENT`. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_clear_creation_time(msg: *mut muon_message) -> muon_result {
    boundary!(result: {
        // SAFETY: `msg` is NULL or live and not aliased, per the contract.
        unsafe {
            change(msg, |m| {
                if let Some(s) = m.msg_mut().properties.as_mut() {
                    s.creation_time = None;
                }
                Ok(())
            })
        }
    })
}

/// Reads the creation time (milliseconds since the Unix epoch): returns `true`
/// and writes `*out` when the message has it; returns `false`, leaving `*out`
/// untouched, when it has not, or `msg` or `out` is NULL.
///
/// `msg` and `out` are borrowed for the call. Not thread-safe: use one message
/// from one thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `out` is NULL or valid for
/// writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_creation_time(
    msg: *const muon_message,
    out: *mut i64,
) -> bool {
    boundary!(false, {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            optional(msg, out, |m| {
                props(m).and_then(|s| s.creation_time).map(|t| t.0)
            })
        }
    })
}

/// Sets the group-id to a copy of the NUL-terminated UTF-8 string `text`; NULL
/// removes it.
///
/// `msg` and `text` are borrowed for the call. A string returned earlier by
/// `muon_message_group_id` is invalidated. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT` (`msg` is NULL), or `MUON_RESULT_INVALID_UTF8`
/// (the field is unchanged). Not thread-safe: use one message from one thread
/// at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `text` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_group_id(
    msg: *mut muon_message,
    text: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe { set_text(msg, text, TextField::GroupId) }
    })
}

/// The group-id as a NUL-terminated string, borrowed until the field is
/// changed or `msg` is freed; NULL when absent or `msg` is NULL. (A string
/// that holds a NUL byte, which only a peer can send, appears cut short.)
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_group_id(msg: *const muon_message) -> *const c_char {
    boundary!(std::ptr::null(), {
        // SAFETY: `msg` is NULL or live, per the contract.
        unsafe { read(msg, std::ptr::null(), |m| m.c_text(TextField::GroupId)) }
    })
}

/// Sets the message's position in its group, the group-sequence (a sequence number).
///
/// `msg` is borrowed for the call. Returns `MUON_RESULT_OK` or
/// `MUON_RESULT_NULL_ARGUMENT`. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_group_sequence(
    msg: *mut muon_message,
    group_sequence: u32,
) -> muon_result {
    boundary!(result: {
        // SAFETY: `msg` is NULL or live and not aliased, per the contract.
        unsafe {
            change(msg, |m| {
                m.msg_mut().properties_mut().group_sequence = Some(group_sequence);
                Ok(())
            })
        }
    })
}

/// Removes the message's position in its group, the group-sequence.
///
/// `msg` is borrowed for the call. Returns `MUON_RESULT_OK` or
/// `MUON_RESULT_NULL_ARGUMENT`. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_clear_group_sequence(msg: *mut muon_message) -> muon_result {
    boundary!(result: {
        // SAFETY: `msg` is NULL or live and not aliased, per the contract.
        unsafe {
            change(msg, |m| {
                if let Some(s) = m.msg_mut().properties.as_mut() {
                    s.group_sequence = None;
                }
                Ok(())
            })
        }
    })
}

/// Reads the message's position in its group, the group-sequence (a sequence
/// number): returns `true` and writes `*out` when the message has it; returns
/// `false`, leaving `*out` untouched, when it has not, or `msg` or `out` is
/// NULL.
///
/// `msg` and `out` are borrowed for the call. Not thread-safe: use one message
/// from one thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `out` is NULL or valid for
/// writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_group_sequence(
    msg: *const muon_message,
    out: *mut u32,
) -> bool {
    boundary!(false, {
        // SAFETY: forwarded from this function's contract.
        unsafe { optional(msg, out, |m| props(m).and_then(|s| s.group_sequence)) }
    })
}

/// Sets the reply-to-group-id to a copy of the NUL-terminated UTF-8 string `text`; NULL
/// removes it.
///
/// `msg` and `text` are borrowed for the call. A string returned earlier by
/// `muon_message_reply_to_group_id` is invalidated. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT` (`msg` is NULL), or `MUON_RESULT_INVALID_UTF8`
/// (the field is unchanged). Not thread-safe: use one message from one thread
/// at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `text` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_reply_to_group_id(
    msg: *mut muon_message,
    text: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe { set_text(msg, text, TextField::ReplyToGroupId) }
    })
}

/// The reply-to-group-id as a NUL-terminated string, borrowed until the field is
/// changed or `msg` is freed; NULL when absent or `msg` is NULL. (A string
/// that holds a NUL byte, which only a peer can send, appears cut short.)
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_reply_to_group_id(msg: *const muon_message) -> *const c_char {
    boundary!(std::ptr::null(), {
        // SAFETY: `msg` is NULL or live, per the contract.
        unsafe {
            read(msg, std::ptr::null(), |m| {
                m.c_text(TextField::ReplyToGroupId)
            })
        }
    })
}
