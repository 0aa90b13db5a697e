//! `muon_terminus`: a read-only view of a source or target the peer
//! attached a link with (AMQP 1.0 §3.5.3, §3.5.4).

use std::ffi::{CString, c_char};

use super::boundary::{Opaque, boundary, cstr, view};
use super::value::muon_value;
use crate::codec::messaging::{Source, Target, TerminusDurability};
use crate::codec::{Map, Symbols, Value};

/// A source or target terminus the peer attached a link with: its
/// address, whether it is dynamic, its durability, expiry policy and
/// timeout, distribution mode, capabilities, dynamic node properties and
/// filter. Returned by `muon_sender_remote_source`,
/// `muon_sender_remote_target`, `muon_receiver_remote_source` and
/// `muon_receiver_remote_target`, borrowed until that function is next
/// called for the same link or the link is gone; never freed by the
/// application. Every getter accepts NULL and returns its default then.
///
/// Functions: `muon_terminus_address`, `muon_terminus_is_dynamic`,
/// `muon_terminus_durable`, `muon_terminus_expiry_policy`,
/// `muon_terminus_timeout`, `muon_terminus_distribution_mode`,
/// `muon_terminus_capability_count`, `muon_terminus_capability`,
/// `muon_terminus_has_capability`,
/// `muon_terminus_dynamic_node_properties`, `muon_terminus_filter`.
pub struct muon_terminus {
    _private: [u8; 0],
}

/// The Rust side: NUL-terminated copies of the text fields.
pub(crate) struct TerminusView {
    address: Option<CString>,
    dynamic: bool,
    durable: u32,
    expiry_policy: CString,
    timeout: u32,
    distribution_mode: Option<CString>,
    capabilities: Vec<CString>,
    dynamic_node_properties: Option<Value<'static>>,
    filter: Option<Value<'static>>,
}

impl Opaque for muon_terminus {
    type Inner = TerminusView;
}

fn c(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

fn caps(s: Option<&Symbols>) -> Vec<CString> {
    s.map(|s| s.0.iter().map(|x| c(x.as_str())).collect())
        .unwrap_or_default()
}

fn map(m: Option<&Map>) -> Option<Value<'static>> {
    m.map(|m| Value::Map(m.0.clone()))
}

fn durable(d: TerminusDurability) -> u32 {
    match d {
        TerminusDurability::None => 0,
        TerminusDurability::Configuration => 1,
        TerminusDurability::UnsettledState => 2,
    }
}

impl TerminusView {
    pub(crate) fn from_source(s: &Source) -> TerminusView {
        TerminusView {
            address: s.address.as_deref().map(c),
            dynamic: s.dynamic,
            durable: durable(s.durable),
            expiry_policy: c(s.expiry_policy.as_str()),
            timeout: s.timeout,
            distribution_mode: s.distribution_mode.as_ref().map(|m| c(m.as_str())),
            capabilities: caps(s.capabilities.as_ref()),
            dynamic_node_properties: map(s.dynamic_node_properties.as_ref()),
            filter: map(s.filter.as_ref()),
        }
    }

    pub(crate) fn from_target(t: &Target) -> TerminusView {
        TerminusView {
            address: t.address.as_deref().map(c),
            dynamic: t.dynamic,
            durable: durable(t.durable),
            expiry_policy: c(t.expiry_policy.as_str()),
            timeout: t.timeout,
            distribution_mode: None,
            capabilities: caps(t.capabilities.as_ref()),
            dynamic_node_properties: map(t.dynamic_node_properties.as_ref()),
            filter: None,
        }
    }
}

fn get<'a>(t: *const muon_terminus) -> Option<&'a TerminusView> {
    // SAFETY: every getter's contract makes a non-NULL `t` a live view
    // returned by a remote-terminus getter.
    unsafe { t.cast::<TerminusView>().as_ref() }
}

/// The terminus's address: NUL-terminated, borrowed as long as the
/// terminus. NULL if it has none (a dynamic request, an anonymous relay)
/// and for NULL. Not thread-safe; may be called from a callback.
///
/// # Safety
/// `t` is NULL or a live terminus view.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_terminus_address(t: *const muon_terminus) -> *const c_char {
    boundary!(std::ptr::null(), {
        get(t)
            .and_then(|t| t.address.as_ref())
            .map_or(std::ptr::null(), |a| a.as_ptr())
    })
}

/// True if the terminus is dynamic: in a request, the peer asks this side
/// to make a node; in an answer, the node was made (its address is then
/// `muon_terminus_address`). False for NULL. Not thread-safe; may be
/// called from a callback.
///
/// `t` is borrowed for the call.
///
/// # Safety
/// `t` is NULL or a live terminus view.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_terminus_is_dynamic(t: *const muon_terminus) -> bool {
    boundary!(false, { get(t).is_some_and(|t| t.dynamic) })
}

/// The terminus durability: 0 none, 1 configuration, 2 unsettled-state (0
/// for NULL). Not thread-safe; may be called from a callback.
///
/// `t` is borrowed for the call.
///
/// # Safety
/// `t` is NULL or a live terminus view.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_terminus_durable(t: *const muon_terminus) -> u32 {
    boundary!(0, { get(t).map_or(0, |t| t.durable) })
}

/// The expiry policy as its AMQP symbol (`link-detach`, `session-end`,
/// `connection-close`, `never`): borrowed as long as the terminus. NULL for
/// NULL. Not thread-safe; may be called from a callback.
///
/// # Safety
/// `t` is NULL or a live terminus view.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_terminus_expiry_policy(t: *const muon_terminus) -> *const c_char {
    boundary!(std::ptr::null(), {
        get(t).map_or(std::ptr::null(), |t| t.expiry_policy.as_ptr())
    })
}

/// The expiry timeout in seconds (0 for NULL). Not thread-safe; may be
/// called from a callback.
///
/// `t` is borrowed for the call.
///
/// # Safety
/// `t` is NULL or a live terminus view.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_terminus_timeout(t: *const muon_terminus) -> u32 {
    boundary!(0, { get(t).map_or(0, |t| t.timeout) })
}

/// A source's distribution mode (`move` or `copy`): borrowed as long as
/// the terminus. NULL if it has none, for a target, and for NULL. Not
/// thread-safe; may be called from a callback.
///
/// # Safety
/// `t` is NULL or a live terminus view.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_terminus_distribution_mode(t: *const muon_terminus) -> *const c_char {
    boundary!(std::ptr::null(), {
        get(t)
            .and_then(|t| t.distribution_mode.as_ref())
            .map_or(std::ptr::null(), |m| m.as_ptr())
    })
}

/// How many capabilities the terminus lists (0 for NULL). Not
/// thread-safe; may be called from a callback.
///
/// `t` is borrowed for the call.
///
/// # Safety
/// `t` is NULL or a live terminus view.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_terminus_capability_count(t: *const muon_terminus) -> usize {
    boundary!(0, { get(t).map_or(0, |t| t.capabilities.len()) })
}

/// The terminus's capability number `index` (e.g. `queue`, `topic`):
/// borrowed as long as the terminus. NULL if `index` is out of range, and
/// for NULL. Not thread-safe; may be called from a callback.
///
/// # Safety
/// `t` is NULL or a live terminus view.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_terminus_capability(
    t: *const muon_terminus,
    index: usize,
) -> *const c_char {
    boundary!(std::ptr::null(), {
        get(t)
            .and_then(|t| t.capabilities.get(index))
            .map_or(std::ptr::null(), |s| s.as_ptr())
    })
}

/// True if the terminus lists `capability` (borrowed for the call). False
/// for NULL arguments. Not thread-safe; may be called from a callback.
///
/// # Safety
/// `t` is NULL or a live terminus view; `capability` is NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_terminus_has_capability(
    t: *const muon_terminus,
    capability: *const c_char,
) -> bool {
    boundary!(false, {
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let Ok(cap) = (unsafe { cstr(capability) }) else {
            return false;
        };
        get(t).is_some_and(|t| {
            t.capabilities
                .iter()
                .any(|c| c.as_bytes() == cap.as_bytes())
        })
    })
}

/// The dynamic node properties (a map with symbol keys): borrowed as long
/// as the terminus. NULL if none, and for NULL. Not thread-safe; may be
/// called from a callback.
///
/// # Safety
/// `t` is NULL or a live terminus view.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_terminus_dynamic_node_properties(
    t: *const muon_terminus,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        get(t)
            .and_then(|t| t.dynamic_node_properties.as_ref())
            .map_or(std::ptr::null(), view::<muon_value>)
    })
}

/// A source's filter set (a map from symbols to described values):
/// borrowed as long as the terminus. NULL if none, for a target, and for
/// NULL. Not thread-safe; may be called from a callback.
///
/// # Safety
/// `t` is NULL or a live terminus view.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_terminus_filter(t: *const muon_terminus) -> *const muon_value {
    boundary!(std::ptr::null(), {
        get(t)
            .and_then(|t| t.filter.as_ref())
            .map_or(std::ptr::null(), view::<muon_value>)
    })
}
