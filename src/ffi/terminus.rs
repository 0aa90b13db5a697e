//! `muon_terminus`: a read-only view of a source or target the peer
//! attached a link with (AMQP 1.0 §3.5.3, §3.5.4), and the enums of its
//! durability and expiry policy.

use std::ffi::{CString, c_char, c_int};

use super::boundary::{Opaque, boundary, cstr, view};
use super::dispatch::same_value;
use super::value::muon_value;
use crate::codec::messaging::{Source, Target, TerminusDurability, TerminusExpiryPolicy};
use crate::codec::{Map, Symbols, Value};

/// What of a terminus survives (AMQP 1.0 §3.5.5 terminus-durability):
/// `muon_terminus_durability`, `muon_link_options_set_durability`. The
/// numbers are stable and are the AMQP ones.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum muon_durability {
    /// Nothing is kept (the AMQP default).
    None = 0,
    /// The terminus's configuration is kept.
    Configuration = 1,
    /// Its configuration and unsettled state are kept.
    UnsettledState = 2,
}

/// A `muon_durability` as C passes it: the header declares the parameter
/// as `enum muon_durability`, and Rust takes the underlying integer and
/// looks it up, so that a number that is no durability is refused, never
/// transmuted (`cbindgen.toml` renames this alias).
pub type muon_durability_arg = c_int;

impl muon_durability {
    /// The durability numbered `n` by C, if there is one.
    pub(crate) fn from_arg(n: muon_durability_arg) -> Option<muon_durability> {
        [
            muon_durability::None,
            muon_durability::Configuration,
            muon_durability::UnsettledState,
        ]
        .into_iter()
        .find(|d| *d as muon_durability_arg == n)
    }

    pub(crate) fn to_amqp(self) -> TerminusDurability {
        match self {
            muon_durability::None => TerminusDurability::None,
            muon_durability::Configuration => TerminusDurability::Configuration,
            muon_durability::UnsettledState => TerminusDurability::UnsettledState,
        }
    }

    fn from_amqp(d: TerminusDurability) -> muon_durability {
        match d {
            TerminusDurability::None => muon_durability::None,
            TerminusDurability::Configuration => muon_durability::Configuration,
            TerminusDurability::UnsettledState => muon_durability::UnsettledState,
        }
    }
}

/// When a terminus's expiry timer starts (AMQP 1.0 §3.5.6
/// terminus-expiry-policy): `muon_terminus_expiry_policy`. The numbers are
/// stable.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum muon_expiry_policy {
    /// `link-detach`: when the link detaches.
    LinkDetach = 0,
    /// `session-end`: when the session ends (the AMQP default).
    SessionEnd = 1,
    /// `connection-close`: when the connection closes.
    ConnectionClose = 2,
    /// `never`: the terminus never expires.
    Never = 3,
}

impl muon_expiry_policy {
    fn from_amqp(p: TerminusExpiryPolicy) -> muon_expiry_policy {
        match p {
            TerminusExpiryPolicy::LinkDetach => muon_expiry_policy::LinkDetach,
            TerminusExpiryPolicy::SessionEnd => muon_expiry_policy::SessionEnd,
            TerminusExpiryPolicy::ConnectionClose => muon_expiry_policy::ConnectionClose,
            TerminusExpiryPolicy::Never => muon_expiry_policy::Never,
        }
    }
}

/// A source or target terminus the peer attached a link with: its
/// address, whether it is dynamic, its durability, expiry policy and
/// timeout, distribution mode, capabilities, dynamic node properties and
/// filter. Returned by `muon_sender_remote_source`,
/// `muon_sender_remote_target`, `muon_receiver_remote_source` and
/// `muon_receiver_remote_target`, and valid, with every pointer its
/// getters return, as long as the link's getters' results are (see
/// "Pointers returned by getters" at the top of this header); never freed
/// by the application. Every getter accepts NULL and returns its default
/// then.
///
/// Functions: `muon_terminus_address`, `muon_terminus_is_dynamic`,
/// `muon_terminus_durability`, `muon_terminus_expiry_policy`,
/// `muon_terminus_timeout_ms`, `muon_terminus_distribution_mode`,
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
    durability: muon_durability,
    expiry_policy: muon_expiry_policy,
    /// Seconds, as on the wire.
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

fn same_map(a: &Option<Value<'static>>, b: &Option<Value<'static>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same_value(a, b),
        (None, None) => true,
        _ => false,
    }
}

impl TerminusView {
    pub(crate) fn from_source(s: &Source) -> TerminusView {
        TerminusView {
            address: s.address.as_deref().map(c),
            dynamic: s.dynamic,
            durability: muon_durability::from_amqp(s.durable),
            expiry_policy: muon_expiry_policy::from_amqp(s.expiry_policy),
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
            durability: muon_durability::from_amqp(t.durable),
            expiry_policy: muon_expiry_policy::from_amqp(t.expiry_policy),
            timeout: t.timeout,
            distribution_mode: None,
            capabilities: caps(t.capabilities.as_ref()),
            dynamic_node_properties: map(t.dynamic_node_properties.as_ref()),
            filter: None,
        }
    }

    /// Whether every getter reads the same from both.
    pub(crate) fn same(&self, o: &TerminusView) -> bool {
        self.address == o.address
            && self.dynamic == o.dynamic
            && self.durability == o.durability
            && self.expiry_policy == o.expiry_policy
            && self.timeout == o.timeout
            && self.distribution_mode == o.distribution_mode
            && self.capabilities == o.capabilities
            && same_map(&self.dynamic_node_properties, &o.dynamic_node_properties)
            && same_map(&self.filter, &o.filter)
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

/// The terminus durability (`MUON_DURABILITY_NONE` for NULL, the AMQP
/// default). Not thread-safe; may be called from a callback.
///
/// `t` is borrowed for the call.
///
/// # Safety
/// `t` is NULL or a live terminus view.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_terminus_durability(t: *const muon_terminus) -> muon_durability {
    boundary!(muon_durability::None, {
        get(t).map_or(muon_durability::None, |t| t.durability)
    })
}

/// The expiry policy: the event that starts the terminus's expiry timer
/// (`MUON_EXPIRY_POLICY_SESSION_END`, the AMQP default, for NULL). Not
/// thread-safe; may be called from a callback.
///
/// `t` is borrowed for the call.
///
/// # Safety
/// `t` is NULL or a live terminus view.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_terminus_expiry_policy(
    t: *const muon_terminus,
) -> muon_expiry_policy {
    boundary!(muon_expiry_policy::SessionEnd, {
        get(t).map_or(muon_expiry_policy::SessionEnd, |t| t.expiry_policy)
    })
}

/// The expiry timeout in milliseconds: how long the terminus lives once
/// its expiry policy's event happened (AMQP sends whole seconds; 0 for
/// NULL). Not thread-safe; may be called from a callback.
///
/// `t` is borrowed for the call.
///
/// # Safety
/// `t` is NULL or a live terminus view.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_terminus_timeout_ms(t: *const muon_terminus) -> u64 {
    boundary!(0, { get(t).map_or(0, |t| u64::from(t.timeout) * 1000) })
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
