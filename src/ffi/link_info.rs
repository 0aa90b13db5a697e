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
use super::link_options::filter_set;
use super::result::muon_result;
use super::terminus::{TerminusView, muon_terminus};
use super::value::muon_value;
use crate::codec::Symbols;
use crate::codec::transport::{Attach, Role};
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

/// The sender's link name: NUL-terminated, valid until the link's final
/// event (see "Pointers returned by getters" at the top of this header).
/// NULL for a stale or null handle. Not thread-safe; may be called from a
/// callback.
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

/// The receiver's link name, valid until the link's final event; see
/// `muon_sender_name`.
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
/// dynamic sender, the node the peer made): valid until the link's final
/// event (see "Pointers returned by getters" at the top of this header).
/// NULL if none, and for a stale or null handle. Not thread-safe; may be
/// called from a callback.
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
/// address of the source it asks for, valid until the link's final event
/// (see "Pointers returned by getters" at the top of this header). NULL if
/// none (e.g. a dynamic request: `muon_terminus_is_dynamic` of
/// `muon_sender_remote_source` says so), and for a stale or null handle.
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

/// The address of the source the peer attached the receiver with: for a
/// dynamic receiver, the address the peer assigned (use it as reply-to;
/// the tutorial's `receiver.remote_source.address`). Valid until the
/// link's final event (see "Pointers returned by getters" at the top of
/// this header); NULL if none, and for a stale or null handle.
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
/// address of the target it sends to, valid until the link's final event
/// (see "Pointers returned by getters" at the top of this header). NULL if
/// none (an anonymous-relay producer, or a dynamic request:
/// `muon_terminus_is_dynamic` of `muon_receiver_remote_target` says so),
/// and for a stale or null handle.
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
/// `muon_terminus`): valid, with what its getters return, until the link's
/// final event (see "Pointers returned by getters" at the top of this
/// header). NULL before the peer's attach, and for a stale or null handle.
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_remote_source(sender: muon_sender) -> *const muon_terminus {
    boundary!(std::ptr::null(), { terminus_of(sender.into(), true) })
}

/// The target the peer attached the sender with, valid until the link's
/// final event; see `muon_sender_remote_source`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_remote_target(sender: muon_sender) -> *const muon_terminus {
    boundary!(std::ptr::null(), { terminus_of(sender.into(), false) })
}

/// The source the peer attached the receiver with, valid until the link's
/// final event; see `muon_sender_remote_source`.
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

/// The target the peer attached the receiver with, valid until the link's
/// final event; see `muon_sender_remote_source`.
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
            // The requested filter is not echoed (see
            // muon_sender_set_source_filter).
            let remote_source = remote_source.map(|mut s| {
                s.filter = None;
                s
            });
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

/// For a sender the peer attached, before it is opened here (in
/// `on_link_remote_attach`): sets the filter set this side answers with in
/// its source, which tells the peer the filters actually applied (AMQP
/// 1.0 §3.5.1). muon never echoes a requested filter on its own: a server
/// that does not call this answers with no filter, so a client does not
/// believe a selector is in force when it is not. `filter` is a map with
/// symbol keys and described (or null) values, as for
/// `muon_link_options_set_filter`, or NULL for none; it is copied.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT` (a null handle),
/// `MUON_RESULT_INVALID_ARGUMENT` (not such a map),
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_STATE` (opened already),
/// `MUON_RESULT_CLOSED`, `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not
/// thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `filter` is NULL or
/// a live value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_set_source_filter(
    sender: muon_sender,
    filter: *const muon_value,
) -> muon_result {
    boundary!(result: {
        let h: H = sender.into();
        // The handle is checked before the filter (link_call first).
        link_call(h, |st, cid, l| {
            // SAFETY: the caller promises a live value or NULL.
            let f = unsafe { filter_set(filter) }?;
            let x = engine(st, cid)?;
            if x.link_local_state(l) != EndpointState::Uninit {
                return Err(muon_result::WrongState);
            }
            let remote_source = x.link_remote_source(l).cloned();
            let o = x.link_options_mut(l).map_err(map_engine)?;
            let mut s = o.source.clone().or(remote_source).unwrap_or_default();
            s.filter = f;
            o.source = Some(s);
            Ok(())
        })
    })
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

/// The properties of the peer's attach (a map with symbol keys): valid
/// until the link's final event (see "Pointers returned by getters" at the
/// top of this header). NULL if none, and for a stale or null handle. Not
/// thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_remote_properties(sender: muon_sender) -> *const muon_value {
    boundary!(std::ptr::null(), { remote_properties(sender.into()) })
}

/// The properties of the peer's attach, valid until the link's final
/// event; see `muon_sender_remote_properties`.
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

/// True if the capability list `pick` takes from the peer's attach holds
/// `capability`; false for a NULL or non-UTF-8 capability and for a stale
/// or null handle.
fn remote_capability(
    h: H,
    capability: *const c_char,
    pick: fn(&Attach) -> Option<&Symbols>,
) -> bool {
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
            .and_then(pick)
            .is_some_and(|c| c.contains(cap)))
    })
    .unwrap_or(false)
}

/// True if the peer's attach offers `capability` (borrowed for the
/// call). False before the peer's attach, for a stale or null handle and
/// for a NULL or non-UTF-8 `capability`. Not thread-safe; may be called
/// from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `capability` is
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_remote_offers_capability(
    sender: muon_sender,
    capability: *const c_char,
) -> bool {
    boundary!(false, {
        remote_capability(sender.into(), capability, |a| {
            a.offered_capabilities.as_ref()
        })
    })
}

/// True if the peer's attach desires `capability` (borrowed for the
/// call). As `muon_sender_remote_offers_capability` otherwise.
///
/// # Safety
/// The handle is the null handle or its loop is live; `capability` is
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_remote_desires_capability(
    sender: muon_sender,
    capability: *const c_char,
) -> bool {
    boundary!(false, {
        remote_capability(sender.into(), capability, |a| {
            a.desired_capabilities.as_ref()
        })
    })
}

/// True if the peer's attach offers `capability`; see
/// `muon_sender_remote_offers_capability`.
///
/// `capability` is borrowed for the call. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `capability` is
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_remote_offers_capability(
    receiver: muon_receiver,
    capability: *const c_char,
) -> bool {
    boundary!(false, {
        remote_capability(receiver.into(), capability, |a| {
            a.offered_capabilities.as_ref()
        })
    })
}

/// True if the peer's attach desires `capability`; see
/// `muon_sender_remote_desires_capability`.
///
/// `capability` is borrowed for the call. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `capability` is
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_remote_desires_capability(
    receiver: muon_receiver,
    capability: *const c_char,
) -> bool {
    boundary!(false, {
        remote_capability(receiver.into(), capability, |a| {
            a.desired_capabilities.as_ref()
        })
    })
}

fn condition_of(h: H, remote: bool) -> *const muon_condition {
    link_call(h, |st, cid, l| {
        let e = if remote {
            st.lp
                .engine_ref(cid)
                .and_then(|x| x.link_remote_condition(l))
                .cloned()
        } else {
            // The application's close, else the engine's own detach (a
            // message over the link's max-message-size).
            st.links
                .get(h.key)
                .and_then(|e| e.local_error.clone())
                .or_else(|| {
                    st.lp
                        .engine_ref(cid)
                        .and_then(|x| x.link_local_condition(l))
                        .cloned()
                })
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

/// The error condition the peer closed the sender with: valid until the
/// link's final event (see "Pointers returned by getters" at the top of
/// this header). NULL if none, and for a stale or null handle. Not
/// thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_remote_condition(
    sender: muon_sender,
) -> *const muon_condition {
    boundary!(std::ptr::null(), { condition_of(sender.into(), true) })
}

/// The error condition the peer closed the receiver with, valid until the
/// link's final event; see `muon_sender_remote_condition`.
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
/// (`muon_sender_close_with`), or muon ended it with (an attach it could
/// not send; for a receiver, a message over its max-message-size:
/// `amqp:link:message-size-exceeded`), valid until the link's final event (see
/// "Pointers returned by getters" at the top of this header). NULL if
/// none, and for a stale or null handle.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_local_condition(sender: muon_sender) -> *const muon_condition {
    boundary!(std::ptr::null(), { condition_of(sender.into(), false) })
}

/// The error condition this side closed the receiver with, valid until
/// the link's final event; see `muon_sender_local_condition`.
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

#[cfg(test)]
mod tests {
    use std::ffi::CString;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::ffi::dispatch::ViewOf;
    use crate::ffi::endpoint::{
        muon_connection_remote_container_id, muon_connection_remote_properties, muon_listener_port,
        muon_loop_connect, muon_loop_listen,
    };
    use crate::ffi::event_loop::{
        muon_loop_new, muon_loop_run_once, muon_loop_try_free, with_state,
    };
    use crate::ffi::handle::muon_listener;
    use crate::ffi::link::muon_connection_open_sender;

    /// Getters called 100,000 times over a real connection keep one view
    /// each: the memory behind what they return does not grow with calls.
    #[test]
    fn a_hundred_thousand_getter_calls_keep_one_view_each() {
        let null: *mut std::ffi::c_void = std::ptr::null_mut();
        // SAFETY: one loop, used on this thread only and freed once; every
        // pointer passed is NULL or valid for the call.
        unsafe {
            let mut lp = std::ptr::null_mut();
            assert_eq!(muon_loop_new(&mut lp), muon_result::Ok);
            let mut l = muon_listener::NULL;
            let any = c"127.0.0.1:0";
            let r = muon_loop_listen(
                lp,
                any.as_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                null,
                &mut l,
            );
            assert_eq!(r, muon_result::Ok);
            let url = CString::new(format!("127.0.0.1:{}", muon_listener_port(l))).expect("no NUL");
            let mut c = muon_connection::NULL;
            let r = muon_loop_connect(
                lp,
                url.as_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                null,
                &mut c,
            );
            assert_eq!(r, muon_result::Ok);
            let mut s = muon_sender::NULL;
            let q = c"q";
            let r = muon_connection_open_sender(
                c,
                q.as_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                null,
                &mut s,
            );
            assert_eq!(r, muon_result::Ok);
            // Until the listener's side has answered the attach.
            let deadline = Instant::now() + Duration::from_secs(10);
            while muon_sender_remote_target(s).is_null() {
                assert!(Instant::now() < deadline, "the attach was answered");
                assert_eq!(muon_loop_run_once(lp, 10), muon_result::Ok);
            }
            let first = (
                muon_sender_remote_target(s),
                muon_sender_name(s),
                muon_sender_remote_target_address(s),
                muon_connection_remote_container_id(c),
            );
            assert!(!first.1.is_null() && !first.2.is_null() && !first.3.is_null());
            for _ in 0..100_000 {
                let again = (
                    muon_sender_remote_target(s),
                    muon_sender_name(s),
                    muon_sender_remote_target_address(s),
                    muon_connection_remote_container_id(c),
                );
                assert_eq!(again, first);
                // NULL (no properties sent) keeps nothing.
                assert!(muon_connection_remote_properties(c).is_null());
            }
            let kept = with_state(lp, |st| {
                Ok((
                    st.views_kept(ViewOf::Link(s.key())),
                    st.views_kept(ViewOf::Conn(c.key())),
                ))
            });
            assert_eq!(kept, Ok((3, 1)));
            assert_eq!(muon_loop_try_free(lp), muon_result::Ok);
        }
    }
}
