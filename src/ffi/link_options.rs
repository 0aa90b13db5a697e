//! Link options, for `muon_connection_open_sender` and
//! `muon_connection_open_receiver`.

use std::ffi::c_char;

use super::boundary::{Opaque, borrow_mut, boundary, cstr, into_raw, take, write};
use super::endpoint::fields_from;
use super::options::{push_symbol, symbol};
use super::result::muon_result;
use super::terminus::{
    muon_durability, muon_durability_arg, muon_expiry_policy, muon_expiry_policy_arg,
};
use super::value::muon_value;
use crate::codec::value::Descriptor;
use crate::codec::{Map, Symbol, Symbols, Value};

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
/// `muon_link_options_set_expiry_policy`,
/// `muon_link_options_set_timeout_ms`,
/// `muon_link_options_set_distribution_mode`,
/// `muon_link_options_set_filter`, `muon_link_options_set_selector`,
/// `muon_link_options_set_rcv_settle_second`,
/// `muon_link_options_set_max_message_size`,
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
    pub expiry_policy: muon_expiry_policy,
    /// Seconds, as on the wire (rounded up from milliseconds).
    pub timeout_s: u32,
    /// Receivers: the source's filter set.
    pub filter: Option<Map>,
    /// rcv-settle-mode second: a receiver settles after its sender.
    pub rcv_settle_second: bool,
    /// The largest message this end takes (0: no limit of the link's own).
    pub max_message_size: u64,
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
            expiry_policy: muon_expiry_policy::SessionEnd,
            timeout_s: 0,
            filter: None,
            rcv_settle_second: false,
            max_message_size: 0,
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

/// The expiry policy of the terminus this side attaches with (the target
/// of a sender, the source of a receiver): the event that starts its
/// expiry timer (default `MUON_EXPIRY_POLICY_SESSION_END`, the AMQP
/// default). For a durable subscription that outlives its link, use
/// `MUON_EXPIRY_POLICY_NEVER` with a durability other than
/// `MUON_DURABILITY_NONE` (see `muon_sender_detach`).
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_ARGUMENT` (not a
/// `muon_expiry_policy`), `MUON_RESULT_PANIC`. Not thread-safe (plain
/// data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_expiry_policy(
    opts: *mut muon_link_options,
    policy: muon_expiry_policy_arg,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.expiry_policy = muon_expiry_policy::from_arg(policy).ok_or(muon_result::InvalidArgument)?;
        Ok(())
    })
}

/// The expiry timeout of the terminus this side attaches with: how long
/// the peer keeps it once its expiry policy's event happened, in
/// milliseconds (default 0: it expires at once). AMQP sends whole
/// seconds: the value is rounded up to the next second (1 ms is sent as
/// 1 s), and anything above 4,294,967,295 s is sent as that.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_timeout_ms(
    opts: *mut muon_link_options,
    timeout_ms: u64,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.timeout_s = u32::try_from(timeout_ms.div_ceil(1000)).unwrap_or(u32::MAX);
        Ok(())
    })
}

/// Receivers: the filter set of the source this side attaches with (AMQP
/// 1.0 §3.5.8): a map whose keys are symbols and whose values are
/// described values (or null), e.g. a selector or a broker's own filters;
/// NULL removes it. It replaces any filter set before, including a
/// selector set with `muon_link_options_set_selector` (call that after
/// this one to have both). The peer answers with the filters it applies:
/// read them with `muon_terminus_filter` of
/// `muon_receiver_remote_source` in `on_link_remote_open` (a filter it
/// left out is not applied). Senders ignore it.
///
/// `opts` is borrowed for the call, and so is the value (copied). Results:
/// `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_INVALID_ARGUMENT` (not a map, a key that is not a symbol,
/// or a value neither described nor null), `MUON_RESULT_PANIC`. Not
/// thread-safe (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; `filter` is NULL or a live
/// value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_filter(
    opts: *mut muon_link_options,
    filter: *const muon_value,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises a live value or NULL.
        o.filter = unsafe { filter_set(filter) }?;
        Ok(())
    })
}

/// A filter set from C: NULL for none, else a map with symbol keys whose
/// values are described (or null), as AMQP 1.0 §3.5.1 has them.
///
/// # Safety
/// `filter` is NULL or a live value.
pub(crate) unsafe fn filter_set(filter: *const muon_value) -> Result<Option<Map>, muon_result> {
    if filter.is_null() {
        return Ok(None);
    }
    // SAFETY: as this function's contract says.
    let m = unsafe { fields_from(filter) }?;
    if !m
        .0
        .iter()
        .all(|(_, v)| matches!(v, Value::Described(_) | Value::Null))
    {
        return Err(muon_result::InvalidArgument);
    }
    Ok(Some(m))
}

/// The filter-set key of a JMS selector.
const SELECTOR_KEY: &str = "jms-selector";
/// The descriptor of a JMS selector filter (Apache's registered filter
/// types, used by ActiveMQ, Artemis and Qpid).
const SELECTOR_DESCRIPTOR: &str = "apache.org:selector-filter:string";

/// Receivers: asks the source for only the messages matching `selector`,
/// a JMS message selector such as `color = 'red' AND weight > 10` (as
/// ActiveMQ, Artemis and Qpid brokers support). It is the filter-set
/// entry `jms-selector`, a string described by the symbol
/// `apache.org:selector-filter:string`, added to (or replacing the same
/// key in) the filter set of `muon_link_options_set_filter`. A broker
/// that applies it answers with it in its source (see
/// `muon_link_options_set_filter`). Senders ignore it.
///
/// `opts` is borrowed for the call, and so is the string (copied).
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; `selector` is NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_selector(
    opts: *mut muon_link_options,
    selector: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let text = unsafe { cstr(selector) }?.to_owned();
        let value = Value::Described(Box::new((
            Descriptor::Symbol(SELECTOR_DESCRIPTOR.into()),
            Value::String(text.into()),
        )));
        let filter = o.filter.get_or_insert_with(Map::default);
        let key = Value::Symbol(SELECTOR_KEY.into());
        match filter.0.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => filter.0.push((key, value)),
        }
        Ok(())
    })
}

/// Receivers: settle in two steps, AMQP's rcv-settle-mode `second`
/// (default false: `first`). The outcome this side gives a message
/// (auto-accept, or `muon_delivery_accept` and the others) goes out
/// unsettled; the sender settles once it has seen it, and the delivery
/// is settled here then, with `on_settled` for the receiver (its
/// delivery handle stays valid until then). Neither side forgets a
/// message before the other knows its outcome. Senders: asks the
/// receiver for it (the receiver decides); a sender always honours the
/// mode the receiver chose: with auto-settle on it settles once the
/// outcome arrives.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_rcv_settle_second(
    opts: *mut muon_link_options,
    on: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.rcv_settle_second = on;
        Ok(())
    })
}

/// The largest message, in encoded bytes, the link takes (default 0: no
/// limit of the link's own). Sent in the attach as its max-message-size.
/// Receivers: a larger message ends the link: muon detaches it with
/// `amqp:link:message-size-exceeded` (read it with
/// `muon_receiver_local_condition`; `on_link_remote_close` and
/// `on_link_final` follow) and the message is not delivered. Without a
/// limit of its own a receiver advertises and enforces its connection's
/// (64 MiB). Senders: `muon_sender_send` refuses a larger message with
/// `MUON_RESULT_INVALID_ARGUMENT`, as it does one larger than the
/// receiver's max-message-size; the link goes on.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_max_message_size(
    opts: *mut muon_link_options,
    bytes: u64,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.max_message_size = bytes;
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
