//! Getters of senders and receivers: names, what the peer attached them
//! with (termini, properties, capabilities), conditions; and the local
//! terminus address of a link the peer attached.

use std::ffi::c_char;

use super::boundary::{boundary, cstr};
use super::dispatch::{View, ViewOf};
use super::endpoint::{check, condition_view, engine, map_view, text_view};
use super::event::muon_condition;
use super::event_loop::map_engine;
use super::handle::{muon_connection, muon_receiver, muon_sender};
use super::link::{H, link_call};
use super::result::muon_result;
use super::terminus::{TerminusView, muon_terminus};
use super::value::muon_value;
use crate::codec::transport::Role;
use crate::engine::{EndpointState, LinkId};

// ---- getters ------------------------------------------------------------------------

fn connection_of(h: H) -> muon_connection {
    link_call(h, |st, _, _| {
        let ck = st
            .links
            .get(h.key)
            .map(|e| e.conn)
            .ok_or(muon_result::StaleHandle)?;
        Ok(muon_connection::new(st.me, ck))
    })
    .unwrap_or(muon_connection::NULL)
}

/// The sender's connection (the null handle for a stale or null sender).
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_connection(sender: muon_sender) -> muon_connection {
    boundary!(muon_connection::NULL, { connection_of(sender.into()) })
}

/// The receiver's connection (the null handle for a stale or null
/// receiver). Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_connection(receiver: muon_receiver) -> muon_connection {
    boundary!(muon_connection::NULL, { connection_of(receiver.into()) })
}

/// A text view of the link: `f` reads it from the engine.
fn text_of(
    h: H,
    getter: &'static str,
    f: impl FnOnce(&crate::engine::Connection, LinkId) -> Option<String>,
) -> *const c_char {
    link_call(h, |st, cid, l| {
        let s = st.lp.engine_ref(cid).and_then(|x| f(x, l));
        Ok(text_view(st, ViewOf::Link(h.key), getter, s.as_deref()))
    })
    .unwrap_or(std::ptr::null())
}

/// The sender's link name: NUL-terminated, borrowed until this function is
/// next called for the link or the link is gone. NULL for a stale or null
/// handle. Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_name(sender: muon_sender) -> *const c_char {
    boundary!(std::ptr::null(), {
        text_of(sender.into(), "name", |x, l| {
            x.link_name(l).map(str::to_owned)
        })
    })
}

/// The receiver's link name; see `muon_sender_name`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_name(receiver: muon_receiver) -> *const c_char {
    boundary!(std::ptr::null(), {
        text_of(receiver.into(), "name", |x, l| {
            x.link_name(l).map(str::to_owned)
        })
    })
}

/// The address of the target the peer attached the sender with (for a
/// dynamic sender, the node the peer made): borrowed until this function
/// is next called for the link or the link is gone. NULL if none, and for
/// a stale or null handle. Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_remote_target_address(sender: muon_sender) -> *const c_char {
    boundary!(std::ptr::null(), {
        text_of(sender.into(), "remote_target_address", |x, l| {
            x.link_remote_target(l).and_then(|t| t.address.clone())
        })
    })
}

/// For a sender the peer attached (a consumer, seen from a server): the
/// address of the source it asks for; borrowed as
/// `muon_sender_remote_target_address`. NULL if none (e.g. a dynamic
/// request), and for a stale or null handle.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_remote_source_address(sender: muon_sender) -> *const c_char {
    boundary!(std::ptr::null(), {
        text_of(sender.into(), "remote_source_address", |x, l| {
            x.link_remote_source(l).and_then(|s| s.address.clone())
        })
    })
}

/// For a sender the peer attached: true if it asked for a dynamic source,
/// a temporary node this side makes and names with
/// `muon_sender_set_source_address` in `on_link_remote_attach`. False for
/// a stale or null handle.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_remote_source_is_dynamic(sender: muon_sender) -> bool {
    boundary!(false, {
        link_call(sender.into(), |st, cid, l| {
            Ok(st
                .lp
                .engine_ref(cid)
                .and_then(|x| x.link_remote_source(l))
                .is_some_and(|s| s.dynamic))
        })
        .unwrap_or(false)
    })
}

/// The address of the source the peer attached the receiver with: for a
/// dynamic receiver, the address the peer assigned (use it as reply-to;
/// the tutorial's `receiver.remote_source.address`). Borrowed as
/// `muon_sender_remote_target_address`; NULL if none, and for a stale or
/// null handle.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_remote_source_address(
    receiver: muon_receiver,
) -> *const c_char {
    boundary!(std::ptr::null(), {
        text_of(receiver.into(), "remote_source_address", |x, l| {
            x.link_remote_source(l).and_then(|s| s.address.clone())
        })
    })
}

/// For a receiver the peer attached (a producer, seen from a server): the
/// address of the target it sends to. Borrowed as
/// `muon_sender_remote_target_address`; NULL if none (an anonymous-relay
/// producer), and for a stale or null handle.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_remote_target_address(
    receiver: muon_receiver,
) -> *const c_char {
    boundary!(std::ptr::null(), {
        text_of(receiver.into(), "remote_target_address", |x, l| {
            x.link_remote_target(l).and_then(|t| t.address.clone())
        })
    })
}

/// A terminus view of the link: `source` picks the remote source, else the
/// remote target.
fn terminus_of(h: H, source: bool) -> *const muon_terminus {
    link_call(h, |st, cid, l| {
        let x = st.lp.engine_ref(cid);
        let t = if source {
            x.and_then(|x| x.link_remote_source(l))
                .map(TerminusView::from_source)
        } else {
            x.and_then(|x| x.link_remote_target(l))
                .map(TerminusView::from_target)
        };
        let getter = if source {
            "remote_source"
        } else {
            "remote_target"
        };
        Ok(match t {
            Some(t) => st.keep_view(ViewOf::Link(h.key), getter, View::Terminus(Box::new(t))),
            None => std::ptr::null(),
        })
    })
    .unwrap_or(std::ptr::null())
}

/// The source the peer attached the sender with (every field of it; see
/// `muon_terminus`): borrowed until this function is next called for the
/// link or the link is gone. NULL before the peer's attach, and for a stale
/// or null handle. Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_remote_source(sender: muon_sender) -> *const muon_terminus {
    boundary!(std::ptr::null(), { terminus_of(sender.into(), true) })
}

/// The target the peer attached the sender with; see
/// `muon_sender_remote_source`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_remote_target(sender: muon_sender) -> *const muon_terminus {
    boundary!(std::ptr::null(), { terminus_of(sender.into(), false) })
}

/// The source the peer attached the receiver with; see
/// `muon_sender_remote_source`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_remote_source(
    receiver: muon_receiver,
) -> *const muon_terminus {
    boundary!(std::ptr::null(), { terminus_of(receiver.into(), true) })
}

/// The target the peer attached the receiver with; see
/// `muon_sender_remote_source`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_remote_target(
    receiver: muon_receiver,
) -> *const muon_terminus {
    boundary!(std::ptr::null(), { terminus_of(receiver.into(), false) })
}

fn set_local_address(h: H, address: *const c_char) -> Result<(), muon_result> {
    check(h.owner, h.generation)?;
    // SAFETY: the callers' contracts make `address` NULL or NUL-terminated.
    let a = unsafe { cstr(address) }?.to_owned();
    link_call(h, |st, cid, l| {
        let x = engine(st, cid)?;
        if x.link_local_state(l) != EndpointState::Uninit {
            return Err(muon_result::WrongState);
        }
        let remote_source = x.link_remote_source(l).cloned();
        let remote_target = x.link_remote_target(l).cloned();
        let o = x.link_options_mut(l).map_err(map_engine)?;
        if h.role == Role::Sender {
            let mut s = o.source.clone().or(remote_source).unwrap_or_default();
            s.address = Some(a);
            o.source = Some(s);
        } else {
            let mut t = o.target.clone().or(remote_target).unwrap_or_default();
            t.address = Some(a);
            o.target = Some(t);
        }
        Ok(())
    })
}

/// For a sender the peer attached, before it is opened here (in
/// `on_link_remote_attach`): sets the address of the source this side
/// answers with, e.g. the name a server gives a dynamic node. `address` is
/// borrowed for the call.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_STALE_HANDLE`,
/// `MUON_RESULT_WRONG_STATE` (opened already), `MUON_RESULT_CLOSED`,
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not thread-safe; may be
/// called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `address` is NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_set_source_address(
    sender: muon_sender,
    address: *const c_char,
) -> muon_result {
    boundary!(result: { set_local_address(sender.into(), address) })
}

/// For a receiver the peer attached, before it is opened here: sets the
/// address of the target this side answers with (e.g. a dynamic node's
/// name). As `muon_sender_set_source_address` otherwise.
///
/// `address` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_STATE` (opened already),
/// `MUON_RESULT_CLOSED`, `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not
/// thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `address` is NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_set_target_address(
    receiver: muon_receiver,
    address: *const c_char,
) -> muon_result {
    boundary!(result: { set_local_address(receiver.into(), address) })
}

fn remote_properties(h: H) -> *const muon_value {
    link_call(h, |st, cid, l| {
        let m = st
            .lp
            .engine_ref(cid)
            .and_then(|x| x.link_remote_attach(l))
            .and_then(|a| a.properties.clone());
        Ok(map_view(
            st,
            ViewOf::Link(h.key),
            "remote_properties",
            m.as_ref(),
        ))
    })
    .unwrap_or(std::ptr::null())
}

/// The properties of the peer's attach (a map with symbol keys): borrowed
/// until this function is next called for the link or the link is gone.
/// NULL if none, and for a stale or null handle. Not thread-safe; may be
/// called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_remote_properties(sender: muon_sender) -> *const muon_value {
    boundary!(std::ptr::null(), { remote_properties(sender.into()) })
}

/// The properties of the peer's attach; see
/// `muon_sender_remote_properties`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_remote_properties(
    receiver: muon_receiver,
) -> *const muon_value {
    boundary!(std::ptr::null(), { remote_properties(receiver.into()) })
}

fn remote_offered(h: H, capability: *const c_char) -> bool {
    // SAFETY: the callers' contracts make `capability` NULL or
    // NUL-terminated.
    let Ok(cap) = (unsafe { cstr(capability) }) else {
        return false;
    };
    link_call(h, |st, cid, l| {
        Ok(st
            .lp
            .engine_ref(cid)
            .and_then(|x| x.link_remote_attach(l))
            .and_then(|a| a.offered_capabilities.as_ref())
            .is_some_and(|c| c.contains(cap)))
    })
    .unwrap_or(false)
}

/// True if the peer's attach offered `capability` (borrowed for the
/// call). False for a stale or null handle and NULL `capability`. Not
/// thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `capability` is
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_remote_offered_capability(
    sender: muon_sender,
    capability: *const c_char,
) -> bool {
    boundary!(false, { remote_offered(sender.into(), capability) })
}

/// True if the peer's attach offered `capability`; see
/// `muon_sender_remote_offered_capability`.
///
/// `capability` is borrowed for the call. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `capability` is
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_remote_offered_capability(
    receiver: muon_receiver,
    capability: *const c_char,
) -> bool {
    boundary!(false, { remote_offered(receiver.into(), capability) })
}

fn condition_of(h: H, remote: bool) -> *const muon_condition {
    link_call(h, |st, cid, l| {
        let e = if remote {
            st.lp
                .engine_ref(cid)
                .and_then(|x| x.link_remote_condition(l))
                .cloned()
        } else {
            st.links.get(h.key).and_then(|e| e.local_error.clone())
        };
        let getter = if remote {
            "remote_condition"
        } else {
            "local_condition"
        };
        Ok(condition_view(st, ViewOf::Link(h.key), getter, e.as_ref()))
    })
    .unwrap_or(std::ptr::null())
}

/// The error condition the peer closed the sender with: borrowed until
/// this function is next called for the link or the link is gone. NULL if
/// none, and for a stale or null handle. Not thread-safe; may be called
/// from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_remote_condition(
    sender: muon_sender,
) -> *const muon_condition {
    boundary!(std::ptr::null(), { condition_of(sender.into(), true) })
}

/// The error condition the peer closed the receiver with; see
/// `muon_sender_remote_condition`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_remote_condition(
    receiver: muon_receiver,
) -> *const muon_condition {
    boundary!(std::ptr::null(), { condition_of(receiver.into(), true) })
}

/// The error condition this side closed the sender with
/// (`muon_sender_close_with`); borrowed as `muon_sender_remote_condition`.
/// NULL if none, and for a stale or null handle.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_local_condition(sender: muon_sender) -> *const muon_condition {
    boundary!(std::ptr::null(), { condition_of(sender.into(), false) })
}

/// The error condition this side closed the receiver with; see
/// `muon_sender_local_condition`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_local_condition(
    receiver: muon_receiver,
) -> *const muon_condition {
    boundary!(std::ptr::null(), { condition_of(receiver.into(), false) })
}
