//! Option builders for connections, listeners and links.

use std::ffi::c_char;
use std::time::Duration;

use super::boundary::{Opaque, borrow_mut, boundary, cstr, into_raw, take, write};
use super::result::muon_result;
use crate::codec::Symbol;
use crate::codec::Symbols;
use crate::engine::{Config, Mechanism};
use crate::reactor::{Address, ReconnectPolicy};

/// Options for `muon_loop_connect` and `muon_loop_listen`: identity, SASL,
/// limits and reconnect. Every field has a sensible default.
///
/// Functions: `muon_connection_options_new`,
/// `muon_connection_options_set_container_id`,
/// `muon_connection_options_set_hostname`,
/// `muon_connection_options_set_sasl_mechanisms`,
/// `muon_connection_options_set_user`,
/// `muon_connection_options_set_password`,
/// `muon_connection_options_set_allow_insecure_plain`,
/// `muon_connection_options_set_sasl_enabled`,
/// `muon_connection_options_set_max_frame_size`,
/// `muon_connection_options_set_channel_max`,
/// `muon_connection_options_set_idle_timeout`,
/// `muon_connection_options_add_offered_capability`,
/// `muon_connection_options_set_reconnect`,
/// `muon_connection_options_add_failover_url`,
/// `muon_connection_options_free`.
pub struct muon_connection_options {
    _private: [u8; 0],
}

#[derive(Clone, Default)]
pub(crate) struct ConnOptions {
    pub config: Config,
    pub reconnect: Option<ReconnectPolicy>,
    pub failover: Vec<Address>,
}

impl Opaque for muon_connection_options {
    type Inner = ConnOptions;
}

/// Makes a connection options object with every default.
///
/// `out` receives it: ownership moves out; free with
/// `muon_connection_options_free`. Results: `MUON_RESULT_NULL_ARGUMENT`.
/// Thread-safe; may be called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_new(
    out: *mut *mut muon_connection_options,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises `out` is NULL or writable.
        unsafe { write(out, into_raw(Box::new(ConnOptions::default()))) }
    })
}

/// Sets the container id sent in `open` (default: a unique id).
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8` for a
/// string that is not UTF-8, `MUON_RESULT_INVALID_ARGUMENT` for a
/// value out of range. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; string arguments are
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_container_id(
    opts: *mut muon_connection_options,
    id: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises a NUL-terminated string.
        o.config.container_id = unsafe { cstr(id) }?.to_owned();
        Ok(())
    })
}
/// Sets the virtual host asked for in `open` and SASL (default: the
/// URL's host).
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8` for a
/// string that is not UTF-8, `MUON_RESULT_INVALID_ARGUMENT` for a
/// value out of range. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; string arguments are
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_hostname(
    opts: *mut muon_connection_options,
    host: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises a NUL-terminated string.
        o.config.hostname = Some(unsafe { cstr(host) }?.to_owned());
        Ok(())
    })
}
/// Sets the SASL mechanisms allowed (client) or offered (listener), as
/// a space-separated list of `ANONYMOUS`, `PLAIN`, `EXTERNAL` (default
/// `ANONYMOUS PLAIN`). An unknown name is `MUON_RESULT_INVALID_ARGUMENT`.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8` for a
/// string that is not UTF-8, `MUON_RESULT_INVALID_ARGUMENT` for a
/// value out of range. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; string arguments are
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_sasl_mechanisms(
    opts: *mut muon_connection_options,
    mechanisms: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises a NUL-terminated string.
        let s = unsafe { cstr(mechanisms) }?;
        let list = s
            .split_whitespace()
            .map(Mechanism::from_name)
            .collect::<Option<Vec<_>>>()
            .ok_or(muon_result::InvalidArgument)?;
        o.config.sasl.mechanisms = list;
        Ok(())
    })
}
/// Sets the SASL user name (PLAIN). The URL's user, if any, is used
/// when this is not set.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8` for a
/// string that is not UTF-8, `MUON_RESULT_INVALID_ARGUMENT` for a
/// value out of range. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; string arguments are
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_user(
    opts: *mut muon_connection_options,
    user: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises a NUL-terminated string.
        o.config.sasl.username = Some(unsafe { cstr(user) }?.to_owned());
        Ok(())
    })
}
/// Sets the SASL password (PLAIN).
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8` for a
/// string that is not UTF-8, `MUON_RESULT_INVALID_ARGUMENT` for a
/// value out of range. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; string arguments are
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_password(
    opts: *mut muon_connection_options,
    password: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises a NUL-terminated string.
        o.config.sasl.password = Some(unsafe { cstr(password) }?.to_owned());
        Ok(())
    })
}
/// Allows SASL PLAIN over an unencrypted transport (default false:
/// PLAIN is then refused and the password never sent in clear).
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8` for a
/// string that is not UTF-8, `MUON_RESULT_INVALID_ARGUMENT` for a
/// value out of range. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; string arguments are
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_allow_insecure_plain(
    opts: *mut muon_connection_options,
    allow: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        o.config.sasl.allow_insecure_plain = allow;
        Ok(())
    })
}
/// Turns SASL on or off (default on). A client without SASL sends the
/// plain AMQP header; a listener without SASL refuses SASL clients.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8` for a
/// string that is not UTF-8, `MUON_RESULT_INVALID_ARGUMENT` for a
/// value out of range. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; string arguments are
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_sasl_enabled(
    opts: *mut muon_connection_options,
    enabled: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        o.config.sasl.enabled = enabled;
        Ok(())
    })
}
/// Sets the largest frame accepted (at least 512; default 65536).
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8` for a
/// string that is not UTF-8, `MUON_RESULT_INVALID_ARGUMENT` for a
/// value out of range. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; string arguments are
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_max_frame_size(
    opts: *mut muon_connection_options,
    size: u32,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        if size < 512 {
            return Err(muon_result::InvalidArgument);
        }
        o.config.max_frame_size = size;
        Ok(())
    })
}
/// Sets the highest channel number accepted (default 32767).
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8` for a
/// string that is not UTF-8, `MUON_RESULT_INVALID_ARGUMENT` for a
/// value out of range. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; string arguments are
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_channel_max(
    opts: *mut muon_connection_options,
    channel_max: u16,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        o.config.channel_max = channel_max;
        Ok(())
    })
}
/// Sets how long the peer may stay silent, in milliseconds, before the
/// connection is closed with `amqp:resource-limit-exceeded` (0: no
/// limit, the default). Half of it is advertised, as the spec asks.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8` for a
/// string that is not UTF-8, `MUON_RESULT_INVALID_ARGUMENT` for a
/// value out of range. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; string arguments are
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_idle_timeout(
    opts: *mut muon_connection_options,
    ms: u32,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        o.config.idle_timeout = (ms > 0).then(|| Duration::from_millis(u64::from(ms)));
        Ok(())
    })
}
/// Adds a capability offered in `open` (e.g. `ANONYMOUS-RELAY`).
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8` for a
/// string that is not UTF-8, `MUON_RESULT_INVALID_ARGUMENT` for a
/// value out of range. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; string arguments are
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_add_offered_capability(
    opts: *mut muon_connection_options,
    capability: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises a NUL-terminated string.
        let s = unsafe { cstr(capability) }?;
        if !s.is_ascii() {
            return Err(muon_result::InvalidArgument);
        }
        o.config
            .offered_capabilities
            .get_or_insert_with(|| Symbols(Vec::new()))
            .0
            .push(Symbol::new(s));
        Ok(())
    })
}
/// Adds a capability desired in `open`.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8` for a
/// string that is not UTF-8, `MUON_RESULT_INVALID_ARGUMENT` for a
/// value out of range. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; string arguments are
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_add_desired_capability(
    opts: *mut muon_connection_options,
    capability: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises a NUL-terminated string.
        let s = unsafe { cstr(capability) }?;
        if !s.is_ascii() {
            return Err(muon_result::InvalidArgument);
        }
        o.config
            .desired_capabilities
            .get_or_insert_with(|| Symbols(Vec::new()))
            .0
            .push(Symbol::new(s));
        Ok(())
    })
}
/// Adds a URL tried, in turn with the first, by the built-in reconnect.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8` for a
/// string that is not UTF-8, `MUON_RESULT_INVALID_ARGUMENT` for a
/// value out of range. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; string arguments are
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_add_failover_url(
    opts: *mut muon_connection_options,
    url: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises a NUL-terminated string.
        let s = unsafe { cstr(url) }?;
        o.failover.push(Address::parse(s).map_err(|_| muon_result::InvalidArgument)?);
        Ok(())
    })
}

/// Turns on the built-in reconnect: after the transport is lost, wait
/// `initial_ms`, doubling after each failed attempt up to `max_ms`, for at
/// most `max_attempts` attempts (0: no limit); rotate through the failover
/// URLs; re-open the links the application had open. The tutorial's values
/// are 100, 10000, 0. `initial_ms` 0 turns reconnect off.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_reconnect(
    opts: *mut muon_connection_options,
    initial_ms: u32,
    max_ms: u32,
    max_attempts: u32,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        o.reconnect = (initial_ms > 0).then(|| ReconnectPolicy {
            initial: Duration::from_millis(u64::from(initial_ms)),
            max: Duration::from_millis(u64::from(max_ms.max(initial_ms))),
            max_attempts,
        });
        Ok(())
    })
}

/// Frees connection options. NULL is ignored.
///
/// `opts`: ownership moves in. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or was made by `muon_connection_options_new` and not
/// freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_free(opts: *mut muon_connection_options) {
    boundary!((), {
        // SAFETY: the caller promises a live options object or NULL.
        drop(unsafe { take(opts) });
    })
}

/// Options for `muon_connection_open_sender` and
/// `muon_connection_open_receiver`.
///
/// Functions: `muon_link_options_new`, `muon_link_options_set_name`,
/// `muon_link_options_set_dynamic`, `muon_link_options_set_credit_window`,
/// `muon_link_options_set_auto_accept`, `muon_link_options_set_auto_settle`,
/// `muon_link_options_set_presettled`, `muon_link_options_set_durable`,
/// `muon_link_options_set_distribution_mode`,
/// `muon_link_options_add_capability`, `muon_link_options_free`.
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
    pub presettled: bool,
    pub durable: u32,
    pub distribution_mode: Option<String>,
    pub capabilities: Vec<Symbol>,
}

impl Default for LinkOpts {
    fn default() -> Self {
        LinkOpts {
            name: None,
            dynamic: false,
            credit_window: 10,
            auto_accept: true,
            auto_settle: true,
            presettled: false,
            durable: 0,
            distribution_mode: None,
            capabilities: Vec::new(),
        }
    }
}

impl Opaque for muon_link_options {
    type Inner = LinkOpts;
}

/// Makes link options with every default: credit window 10, auto-accept
/// and auto-settle on, at-least-once (unsettled) delivery.
///
/// `out` receives it: ownership moves out; free with
/// `muon_link_options_free`. Results: `MUON_RESULT_NULL_ARGUMENT`.
/// Thread-safe; may be called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_new(out: *mut *mut muon_link_options) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises `out` is NULL or writable.
        unsafe { write(out, into_raw(Box::new(LinkOpts::default()))) }
    })
}

/// Sets the link name (default: unique).
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8` for a
/// string that is not UTF-8, `MUON_RESULT_INVALID_ARGUMENT` for a
/// value out of range. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; string arguments are
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_name(
    opts: *mut muon_link_options,
    name: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises a NUL-terminated string.
        o.name = Some(unsafe { cstr(name) }?.to_owned());
        Ok(())
    })
}
/// Asks the peer to create a temporary node (a dynamic source for a
/// receiver, target for a sender) and assign its address; read it with
/// `muon_receiver_remote_source_address` once the link is open.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8` for a
/// string that is not UTF-8, `MUON_RESULT_INVALID_ARGUMENT` for a
/// value out of range. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; string arguments are
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_dynamic(
    opts: *mut muon_link_options,
    dynamic: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        o.dynamic = dynamic;
        Ok(())
    })
}
/// Receivers: keep this much credit granted (default 10; credit is
/// topped up when half is used). 0 turns the built-in flow control off:
/// grant credit with `muon_receiver_flow`.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8` for a
/// string that is not UTF-8, `MUON_RESULT_INVALID_ARGUMENT` for a
/// value out of range. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; string arguments are
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_credit_window(
    opts: *mut muon_link_options,
    window: u32,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        o.credit_window = window;
        Ok(())
    })
}
/// Receivers: accept and settle a message when `on_message` returns
/// without settling it (default on).
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8` for a
/// string that is not UTF-8, `MUON_RESULT_INVALID_ARGUMENT` for a
/// value out of range. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; string arguments are
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_auto_accept(
    opts: *mut muon_link_options,
    on: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        o.auto_accept = on;
        Ok(())
    })
}
/// Senders: settle a delivery once the peer settles it, after
/// `on_accepted`/`on_rejected`/`on_released`/`on_modified` (default on).
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8` for a
/// string that is not UTF-8, `MUON_RESULT_INVALID_ARGUMENT` for a
/// value out of range. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; string arguments are
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_auto_settle(
    opts: *mut muon_link_options,
    on: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        o.auto_settle = on;
        Ok(())
    })
}
/// Sends pre-settled (at-most-once) when true: senders send every
/// message settled; receivers ask for that. Default false
/// (at-least-once).
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8` for a
/// string that is not UTF-8, `MUON_RESULT_INVALID_ARGUMENT` for a
/// value out of range. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; string arguments are
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_presettled(
    opts: *mut muon_link_options,
    on: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        o.presettled = on;
        Ok(())
    })
}
/// Terminus durability: 0 none (default), 1 configuration, 2
/// unsettled-state.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8` for a
/// string that is not UTF-8, `MUON_RESULT_INVALID_ARGUMENT` for a
/// value out of range. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; string arguments are
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_durable(
    opts: *mut muon_link_options,
    durable: u32,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        if durable > 2 {
            return Err(muon_result::InvalidArgument);
        }
        o.durable = durable;
        Ok(())
    })
}
/// Receivers: source distribution mode, `move` or `copy`.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8` for a
/// string that is not UTF-8, `MUON_RESULT_INVALID_ARGUMENT` for a
/// value out of range. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; string arguments are
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_set_distribution_mode(
    opts: *mut muon_link_options,
    mode: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises a NUL-terminated string.
        let s = unsafe { cstr(mode) }?;
        if !s.is_ascii() {
            return Err(muon_result::InvalidArgument);
        }
        o.distribution_mode = Some(s.to_owned());
        Ok(())
    })
}
/// Adds a terminus capability (e.g. `queue`, `topic`).
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8` for a
/// string that is not UTF-8, `MUON_RESULT_INVALID_ARGUMENT` for a
/// value out of range. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; string arguments are
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_link_options_add_capability(
    opts: *mut muon_link_options,
    capability: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises a NUL-terminated string.
        let s = unsafe { cstr(capability) }?;
        if !s.is_ascii() {
            return Err(muon_result::InvalidArgument);
        }
        o.capabilities.push(Symbol::new(s));
        Ok(())
    })
}

/// Frees link options. NULL is ignored.
///
/// `opts`: ownership moves in. Not thread-safe; may be called from a
/// callback.
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
