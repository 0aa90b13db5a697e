//! Link options, for `muon_connection_open_sender` and
//! `muon_connection_open_receiver`.

use std::ffi::c_char;

use super::boundary::{Opaque, borrow_mut, boundary, cstr, into_raw, take, write};
use super::endpoint::fields_from;
use super::options::{push_symbol, symbol};
use super::result::muon_result;
use super::terminus::{muon_durability, muon_durability_arg};
use super::value::muon_value;
use crate::codec::{Map, Symbol, Symbols};

/// Options for `muon_connection_open_sender` and
/// `muon_connection_open_receiver`: the link name, terminus fields,
/// delivery mode, properties and capabilities, and the built-in behaviours
/// (handshake, credit window, auto-accept, auto-settle). Owned by the
/// application: made by `muon_link_options_new`, freed with
/// `muon_link_options_free`; opening a link copies what it needs. Plain
/// data.
///
/// Functions: `muon_link_options_new`, `muon_link_options_set_name`,
/// `muon_link_options_set_dynamic`, `muon_link_options_set_credit_window`,
/// `muon_link_options_set_auto_accept`, `muon_link_options_set_auto_settle`,
/// `muon_link_options_set_handshake`, `muon_link_options_set_presettled`,
/// `muon_link_options_set_max_queued`,
/// `muon_link_options_set_durability`,
/// `muon_link_options_set_distribution_mode`,
/// `muon_link_options_add_capability`,
/// `muon_link_options_add_offered_capability`,
/// `muon_link_options_add_desired_capability`,
/// `muon_link_options_set_properties`, `muon_link_options_free`.
pub struct muon_link_options {
    _private: [u8; 0],
}

#[derive(Clone)]
pub(crate) struct LinkOpts {
    pub name: Option<String>,
    pub dynamic: bool,
    pub credit_window: u32,
    pub auto_accept: bool,
    pub auto_settle: bool,
    pub handshake: bool,
    pub presettled: bool,
    pub durability: muon_durability,
    /// Senders: messages held for credit at most (see `muon_sender_send`).
    pub max_queued: u32,
    pub distribution_mode: Option<Symbol>,
    pub capabilities: Vec<Symbol>,
    pub offered_capabilities: Option<Symbols>,
    pub desired_capabilities: Option<Symbols>,
    pub properties: Option<Map>,
}

impl Default for LinkOpts {
    fn default() -> Self {
        LinkOpts {
            name: None,
            dynamic: false,
            credit_window: 10,
            auto_accept: true,
            auto_settle: true,
            handshake: true,
            presettled: false,
            durability: muon_durability::None,
            max_queued: DEFAULT_MAX_QUEUED,
            distribution_mode: None,
            capabilities: Vec::new(),
            offered_capabilities: None,
            desired_capabilities: None,
            properties: None,
        }
    }
}

/// Messages a sender holds for credit, by default.
pub(crate) const DEFAULT_MAX_QUEUED: u32 = 1024;

impl Opaque for muon_link_options {
    type Inner = LinkOpts;
}

/// Makes link options with every default: a unique name, credit window
/// 10, auto-accept, auto-settle and the handshake on, at-least-once
/// (unsettled) delivery.
///
/// `out` receives it: ownership moves out; free with
/// `muon_link_options_free`. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Thread-safe; may be
/// called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_new(out: *mut *mut muon_link_options) -> muon_result {
    boundary!(result: {
        super::boundary::check_out(out)?;
        // SAFETY: the caller promises `out` is writable.
        unsafe { write(out, into_raw(Box::new(LinkOpts::default()))) }
    })
}
/// Sets the link name (default: a unique one).
///
/// `opts` is borrowed for the call, and so is the string. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; the string is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_name(
    opts: *mut muon_link_options,
    name: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        o.name = Some(unsafe { cstr(name) }?.to_owned());
        Ok(())
    })
}

/// Asks the peer to make a temporary node (a dynamic source for a
/// receiver, target for a sender) and give it an address; the address
/// passed to the open call is then ignored. Read the address with
/// `muon_receiver_remote_source_address` (or
/// `muon_sender_remote_target_address`) in `on_link_remote_open`: the
/// tutorial's `receiver(None, dynamic=True)`.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_dynamic(
    opts: *mut muon_link_options,
    dynamic: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.dynamic = dynamic;
        Ok(())
    })
}

/// Receivers: the credit window built-in (the tutorial's
/// FlowController): keep `window` messages of credit granted, topping up
/// once half is used (default 10). 0 turns it off: grant credit by hand
/// with `muon_receiver_flow` or `muon_receiver_drain`.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_credit_window(
    opts: *mut muon_link_options,
    window: u32,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.credit_window = window;
        Ok(())
    })
}

/// Receivers: the auto-accept built-in: accept and settle a message when
/// `on_message` returns without settling it (default on). Off: settle each
/// delivery by hand with `muon_delivery_accept`, `_reject`, `_release`,
/// `_modify` or `_settle`, in `on_message` or later.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_auto_accept(
    opts: *mut muon_link_options,
    on: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.auto_accept = on;
        Ok(())
    })
}

/// Senders: the auto-settle built-in: once the peer gives a delivery an
/// outcome or settles it, report `on_accepted` (`on_rejected`,
/// `on_released`, `on_modified`), then `on_settled`, then settle it here
/// (default on). Off: `on_settled` reports the peer's settlement and the
/// delivery stays until `muon_delivery_settle`.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_auto_settle(
    opts: *mut muon_link_options,
    on: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.auto_settle = on;
        Ok(())
    })
}

/// The handshake built-in for this link (default on): answer the peer's
/// detach with ours. Off: call `muon_sender_close` / `muon_receiver_close`
/// in `on_link_remote_close`. (Links the peer attaches take their
/// connection's setting, see `muon_connection_options_set_handshake`.)
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_handshake(
    opts: *mut muon_link_options,
    on: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.handshake = on;
        Ok(())
    })
}

/// Senders: how many messages `muon_sender_send` may hold in the sender's
/// queue while there is no credit to send them (default 1024): one more
/// is refused with `MUON_RESULT_QUEUE_FULL`. A count, not bytes: the
/// queue holds each message's encoding, so its memory is about `max`
/// times the size of the messages. 0: no queue; a send without credit is
/// refused with `MUON_RESULT_NO_CREDIT`. What becomes of queued messages
/// when the link ends is said at `muon_sender_send`. Receivers ignore it.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_max_queued(
    opts: *mut muon_link_options,
    max: u32,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.max_queued = max;
        Ok(())
    })
}

/// Senders: send every message settled, at-most-once (no outcome comes
/// back); receivers: ask the sender for that. Default false
/// (at-least-once).
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_presettled(
    opts: *mut muon_link_options,
    on: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.presettled = on;
        Ok(())
    })
}

/// The durability asked for the terminus this side attaches with (the
/// target of a sender, the source of a receiver; default
/// `MUON_DURABILITY_NONE`).
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_ARGUMENT` (not a
/// `muon_durability`), `MUON_RESULT_PANIC`. Not thread-safe (plain data);
/// may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_durability(
    opts: *mut muon_link_options,
    durability: muon_durability_arg,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.durability =
            muon_durability::from_arg(durability).ok_or(muon_result::InvalidArgument)?;
        Ok(())
    })
}

/// Receivers: the source's distribution mode, `move` or `copy`.
///
/// `opts` is borrowed for the call, and so is the string. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_INVALID_ARGUMENT` (empty or
/// not ASCII), `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; the string is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_distribution_mode(
    opts: *mut muon_link_options,
    mode: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        o.distribution_mode = Some(unsafe { symbol(mode) }?);
        Ok(())
    })
}

/// Adds a terminus capability (e.g. `queue`, `topic`): on the target of a
/// sender, the source of a receiver.
///
/// `opts` is borrowed for the call, and so is the string. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_INVALID_ARGUMENT` (empty or
/// not ASCII), `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; the string is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_add_capability(
    opts: *mut muon_link_options,
    capability: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        o.capabilities.push(unsafe { symbol(capability) }?);
        Ok(())
    })
}

/// Adds a capability offered in `attach`.
///
/// `opts` is borrowed for the call, and so is the string. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_INVALID_ARGUMENT` (empty or
/// not ASCII), `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; the string is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_add_offered_capability(
    opts: *mut muon_link_options,
    capability: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        push_symbol(&mut o.offered_capabilities, unsafe { symbol(capability) }?);
        Ok(())
    })
}

/// Adds a capability desired in `attach`.
///
/// `opts` is borrowed for the call, and so is the string. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_INVALID_ARGUMENT` (empty or
/// not ASCII), `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; the string is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_add_desired_capability(
    opts: *mut muon_link_options,
    capability: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        push_symbol(&mut o.desired_capabilities, unsafe { symbol(capability) }?);
        Ok(())
    })
}

/// Sets the link properties sent in `attach`: a map with symbol keys
/// (NULL: none). The peer reads them with `muon_sender_remote_properties`
/// or `muon_receiver_remote_properties`.
///
/// `opts` is borrowed for the call, and so is the value (copied). Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_ARGUMENT` (not a map with symbol keys), `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; `value` is NULL or a live value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_properties(
    opts: *mut muon_link_options,
    value: *const muon_value,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.properties = if value.is_null() {
            None
        } else {
            // SAFETY: the caller promises a live value.
            Some(unsafe { fields_from(value) }?)
        };
        Ok(())
    })
}

/// Frees link options. NULL is ignored.
///
/// `opts`: ownership moves in. Not thread-safe (plain data); may be called
/// from a callback.
///
/// # Safety
/// `opts` is NULL or was made by `muon_link_options_new` and not freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_free(opts: *mut muon_link_options) {
    boundary!((), {
        // SAFETY: the caller promises a live options object or NULL.
        drop(unsafe { take(opts) });
    })
}
