//! The header of a `muon_message` (AMQP 1.0 §3.2.1): durable, priority,
//! ttl, first-acquirer and delivery-count. A header left with only
//! default fields is dropped, so it costs no bytes on the wire.

use super::boundary::boundary;
use super::message::{change, muon_message, optional, read};
use super::result::muon_result;

/// Sets the header's durable flag: the message should survive an intermediary's
/// restart (default false).
///
/// `msg` is borrowed for the call. Returns `MUON_RESULT_OK` or
/// `MUON_RESULT_NULL_ARGUMENT`. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_durable(
    msg: *mut muon_message,
    durable: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: `msg` is NULL or live and not aliased, per the contract.
        unsafe {
            change(msg, |m| {
                m.msg_mut().header_mut().durable = durable;
                Ok(())
            })
        }
    })
}

/// The header's durable flag; `false` when `msg` is NULL or has no header.
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_durable(msg: *const muon_message) -> bool {
    boundary!(false, {
        // SAFETY: `msg` is NULL or live, per the contract.
        unsafe {
            read(msg, false, |m| {
                m.msg().header.as_ref().is_some_and(|h| h.durable)
            })
        }
    })
}

/// Sets the header's priority, 0 (lowest) to 255; AMQP defines 0-9 and the default is 4.
///
/// `msg` is borrowed for the call. Returns `MUON_RESULT_OK` or
/// `MUON_RESULT_NULL_ARGUMENT`. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_priority(
    msg: *mut muon_message,
    priority: u8,
) -> muon_result {
    boundary!(result: {
        // SAFETY: `msg` is NULL or live and not aliased, per the contract.
        unsafe {
            change(msg, |m| {
                m.msg_mut().header_mut().priority = priority;
                Ok(())
            })
        }
    })
}

/// The header's priority; 4, the AMQP default, when `msg` is NULL or has no header.
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_priority(msg: *const muon_message) -> u8 {
    boundary!(4, {
        // SAFETY: `msg` is NULL or live, per the contract.
        unsafe {
            read(msg, 4, |m| {
                m.msg().header.as_ref().map_or(4, |h| h.priority)
            })
        }
    })
}

/// Sets the header's time to live, in milliseconds (AMQP carries at most
/// 2^32 - 1).
///
/// `msg` is borrowed for the call. Returns `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT` or `MUON_RESULT_OUT_OF_RANGE` (`ttl_ms` is
/// above `UINT32_MAX`; the field is unchanged). Not thread-safe: use one
/// message from one thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_ttl(msg: *mut muon_message, ttl_ms: u64) -> muon_result {
    boundary!(result: {
        // SAFETY: `msg` is NULL or live and not aliased, per the contract.
        unsafe {
            change(msg, |m| {
                let ttl = u32::try_from(ttl_ms).map_err(|_| muon_result::OutOfRange)?;
                m.msg_mut().header_mut().ttl = Some(ttl);
                Ok(())
            })
        }
    })
}

/// Removes the header's time to live.
///
/// `msg` is borrowed for the call. Returns `MUON_RESULT_OK` or
/// `MUON_RESULT_NULL_ARGUMENT`. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_clear_ttl(msg: *mut muon_message) -> muon_result {
    boundary!(result: {
        // SAFETY: `msg` is NULL or live and not aliased, per the contract.
        unsafe {
            change(msg, |m| {
                if let Some(s) = m.msg_mut().header.as_mut() {
                    s.ttl = None;
                }
                Ok(())
            })
        }
    })
}

/// Reads the header's time to live, in milliseconds: returns `true` and
/// writes `*out` when the message has it; returns `false`, leaving `*out`
/// untouched, when it has not, or `msg` or `out` is NULL.
///
/// `msg` and `out` are borrowed for the call. Not thread-safe: use one message
/// from one thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API; `out` is NULL or valid for
/// writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_ttl(msg: *const muon_message, out: *mut u64) -> bool {
    boundary!(false, {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            optional(msg, out, |m| {
                m.header.as_ref().and_then(|s| s.ttl).map(u64::from)
            })
        }
    })
}

/// Sets the header's first-acquirer flag: no earlier acquirer of the message is
/// known (default false).
///
/// `msg` is borrowed for the call. Returns `MUON_RESULT_OK` or
/// `MUON_RESULT_NULL_ARGUMENT`. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_first_acquirer(
    msg: *mut muon_message,
    first_acquirer: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: `msg` is NULL or live and not aliased, per the contract.
        unsafe {
            change(msg, |m| {
                m.msg_mut().header_mut().first_acquirer = first_acquirer;
                Ok(())
            })
        }
    })
}

/// The header's first-acquirer flag; `false` when `msg` is NULL or has no header.
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_first_acquirer(msg: *const muon_message) -> bool {
    boundary!(false, {
        // SAFETY: `msg` is NULL or live, per the contract.
        unsafe {
            read(msg, false, |m| {
                m.msg().header.as_ref().is_some_and(|h| h.first_acquirer)
            })
        }
    })
}

/// Sets the header's delivery count: how many earlier delivery attempts failed
/// (default 0).
///
/// `msg` is borrowed for the call. Returns `MUON_RESULT_OK` or
/// `MUON_RESULT_NULL_ARGUMENT`. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_set_delivery_count(
    msg: *mut muon_message,
    delivery_count: u32,
) -> muon_result {
    boundary!(result: {
        // SAFETY: `msg` is NULL or live and not aliased, per the contract.
        unsafe {
            change(msg, |m| {
                m.msg_mut().header_mut().delivery_count = delivery_count;
                Ok(())
            })
        }
    })
}

/// The header's delivery count; 0 when `msg` is NULL or has no header.
///
/// `msg` is borrowed for the call. Not thread-safe: use one message from one
/// thread at a time. May be called from a callback.
///
/// # Safety
/// `msg` is NULL or a message from this API.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_message_delivery_count(msg: *const muon_message) -> u32 {
    boundary!(0, {
        // SAFETY: `msg` is NULL or live, per the contract.
        unsafe {
            read(msg, 0, |m| {
                m.msg().header.as_ref().map_or(0, |h| h.delivery_count)
            })
        }
    })
}
