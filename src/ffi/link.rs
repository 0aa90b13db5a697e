//! Senders and receivers: opening, sending, credit, closing, and what the
//! peer attached them with. The two handle types share one implementation
//! here; each exported function is a thin typed wrapper.

use std::ffi::{c_char, c_void};

use super::boundary::{borrow, boundary, cstr};
use super::dispatch::{DeliveryEntry, PendingClose, State, View, ViewOf};
use super::endpoint::{
    check, condition_view, conn_of, engine, error_from, map_view, text_view, write_out,
};
use super::event::muon_condition;
use super::event_loop::{map_engine, map_reactor, muon_loop, with_state};
use super::handle::{muon_connection, muon_delivery, muon_receiver, muon_sender};
use super::handler::{Registered, muon_handler};
use super::message::muon_message;
use super::options::{LinkOpts, muon_link_options};
use super::result::muon_result;
use super::terminus::{TerminusView, muon_terminus};
use super::value::muon_value;
use crate::codec::Symbols;
use crate::codec::messaging::{Source, Target, TerminusDurability};
use crate::codec::transport::{AmqpError, ReceiverSettleMode, Role, SenderSettleMode};
use crate::engine::{EndpointState, Key, LinkId, LinkOptions};
use crate::reactor::ConnId;

/// The engine identity of a link handle of `role`.
fn link_of(st: &State, k: Key, role: Role) -> Result<(ConnId, LinkId), muon_result> {
    let l = st.links.get(k).ok_or(muon_result::StaleHandle)?;
    if l.role != role {
        return Err(muon_result::StaleHandle);
    }
    Ok((l.cid, l.link))
}

/// A link handle, whichever its type.
#[derive(Clone, Copy)]
struct H {
    owner: *mut muon_loop,
    generation: u32,
    key: Key,
    role: Role,
}

impl From<muon_sender> for H {
    fn from(s: muon_sender) -> H {
        H {
            owner: s.owner,
            generation: s.generation,
            key: s.key(),
            role: Role::Sender,
        }
    }
}

impl From<muon_receiver> for H {
    fn from(r: muon_receiver) -> H {
        H {
            owner: r.owner,
            generation: r.generation,
            key: r.key(),
            role: Role::Receiver,
        }
    }
}

/// Runs `f` on the state with the link behind `h`.
fn link_call<R>(
    h: H,
    f: impl FnOnce(&mut State, ConnId, LinkId) -> Result<R, muon_result>,
) -> Result<R, muon_result> {
    check(h.owner, h.generation)?;
    // SAFETY: the callers' contracts make the handle's loop live.
    unsafe {
        with_state(h.owner, |st| {
            let (cid, l) = link_of(st, h.key, h.role)?;
            f(st, cid, l)
        })
    }
}

// ---- opening ----------------------------------------------------------------------

fn engine_options(role: Role, address: Option<String>, opts: &LinkOpts) -> LinkOptions {
    let durable = match opts.durable {
        1 => TerminusDurability::Configuration,
        2 => TerminusDurability::UnsettledState,
        _ => TerminusDurability::None,
    };
    let caps = (!opts.capabilities.is_empty()).then(|| Symbols(opts.capabilities.clone()));
    let address = address.filter(|_| !opts.dynamic);
    let (source, target) = match role {
        Role::Sender => (
            Source::default(),
            Target {
                address,
                durable,
                dynamic: opts.dynamic,
                capabilities: caps,
                ..Target::default()
            },
        ),
        Role::Receiver => (
            Source {
                address,
                durable,
                dynamic: opts.dynamic,
                distribution_mode: opts.distribution_mode.clone(),
                capabilities: caps,
                ..Source::default()
            },
            Target::default(),
        ),
    };
    LinkOptions {
        name: opts.name.clone().unwrap_or_default(),
        source: Some(source),
        target: Some(target),
        snd_settle_mode: Some(if opts.presettled {
            SenderSettleMode::Settled
        } else {
            SenderSettleMode::Unsettled
        }),
        rcv_settle_mode: Some(ReceiverSettleMode::First),
        max_message_size: None,
        properties: opts.properties.clone(),
        offered_capabilities: opts.offered_capabilities.clone(),
        desired_capabilities: opts.desired_capabilities.clone(),
    }
}

fn open_link(
    conn: muon_connection,
    role: Role,
    address: *const c_char,
    options: *const muon_link_options,
    handler: *const muon_handler,
    userdata: *mut c_void,
) -> Result<Key, muon_result> {
    check(conn.owner, conn.generation)?;
    let address = if address.is_null() {
        None
    } else {
        // SAFETY: the callers' contracts make `address` NUL-terminated.
        Some(unsafe { cstr(address) }?.to_owned())
    };
    let opts: LinkOpts = if options.is_null() {
        LinkOpts::default()
    } else {
        // SAFETY: the callers' contracts make `options` live.
        unsafe { borrow(options) }?.clone()
    };
    // SAFETY: the callers' contracts make `handler` valid or NULL.
    let reg = unsafe { Registered::new(handler, userdata) };
    // SAFETY: the callers' contracts make the handle's loop live.
    unsafe {
        with_state(conn.owner, |st| {
            let (ck, cid) = conn_of(st, conn)?;
            let lo = engine_options(role, address, &opts);
            let l = st.lp.open_link(cid, role, lo).map_err(map_reactor)?;
            if role == Role::Receiver && opts.credit_window > 0 {
                engine(st, cid)?
                    .link_flow(l, opts.credit_window, false)
                    .map_err(map_engine)?;
            }
            Ok(st.register_link(ck, cid, l, role, reg, opts))
        })
    }
}

/// Opens a sender to `address`: the tutorial's `conn.sender(address,
/// handler=...)`. NULL `address`: no target address (for a peer's
/// anonymous relay, which routes each message by its `to`; or with the
/// dynamic option). The attach goes out at once (or when the transport is
/// up); `on_link_remote_open` follows, then `on_link_flow` whenever there
/// is credit to send. Its events go to `handler` (copied; may be NULL),
/// else the connection's handler, else the loop's.
///
/// `address`, `options` (may be NULL: defaults) and `handler` are borrowed
/// for the call; `userdata` stays the application's; `out` (may be NULL)
/// receives the sender, owned by the loop until `on_link_final` returns.
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_STALE_HANDLE`,
/// `MUON_RESULT_CLOSED` (the connection is closing, or between reconnect
/// attempts), `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not
/// thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; pointers are NULL or
/// valid as described.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_open_sender(
    conn: muon_connection,
    address: *const c_char,
    options: *const muon_link_options,
    handler: *const muon_handler,
    userdata: *mut c_void,
    out: *mut muon_sender,
) -> muon_result {
    boundary!(result: {
        let k = open_link(conn, Role::Sender, address, options, handler, userdata)?;
        write_out(out, muon_sender::new(conn.owner, k));
        Ok(())
    })
}

/// Opens a receiver from `address`: the tutorial's `conn.receiver(address,
/// handler=...)` (NULL with the dynamic option: the peer makes a temporary
/// node; read its address with `muon_receiver_remote_source_address` in
/// `on_link_remote_open`). With the default options, credit is granted
/// automatically (window 10) and each message is accepted when
/// `on_message` returns.
///
/// Ownership and results as `muon_connection_open_sender`; `out` receives
/// a receiver. Not thread-safe; may be called from a callback.
///
/// `address`, `options` and `handler` are borrowed for the call; `userdata`
/// stays the application's; `out` (may be NULL) receives the receiver, owned by
/// the loop until `on_link_final` returns. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_CLOSED`,
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`.
///
/// # Safety
/// The handle is the null handle or its loop is live; pointers are NULL or
/// valid as described.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_open_receiver(
    conn: muon_connection,
    address: *const c_char,
    options: *const muon_link_options,
    handler: *const muon_handler,
    userdata: *mut c_void,
    out: *mut muon_receiver,
) -> muon_result {
    boundary!(result: {
        let k = open_link(conn, Role::Receiver, address, options, handler, userdata)?;
        write_out(out, muon_receiver::new(conn.owner, k));
        Ok(())
    })
}

fn open_by_hand(h: H) -> Result<(), muon_result> {
    link_call(h, |st, _, _| st.open_link_now(h.key))
}

/// Opens, by hand, a sender the peer attached (a consumer, seen from a
/// server) when the handshake is off: call it in `on_link_remote_attach`
/// or later, after setting the source with
/// `muon_sender_set_source_address` if needed. Opening an open link does
/// nothing.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_CLOSED`,
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not thread-safe; may be
/// called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_open(sender: muon_sender) -> muon_result {
    boundary!(result: { open_by_hand(sender.into()) })
}

/// Opens, by hand, a receiver the peer attached (a producer, seen from a
/// server) when the handshake is off, granting its credit window (if not
/// 0). Opening an open link does nothing. Results as `muon_sender_open`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_open(receiver: muon_receiver) -> muon_result {
    boundary!(result: { open_by_hand(receiver.into()) })
}

// ---- handlers and built-ins ---------------------------------------------------------

fn set_handler(
    h: H,
    handler: *const muon_handler,
    userdata: *mut c_void,
) -> Result<(), muon_result> {
    // SAFETY: the callers' contracts make `handler` NULL or a valid table.
    let reg = unsafe { Registered::new(handler, userdata) };
    link_call(h, |st, _, _| {
        let e = st.links.get_mut(h.key).ok_or(muon_result::StaleHandle)?;
        let old = std::mem::replace(&mut e.handler, reg);
        st.deferred_free.extend(old);
        Ok(())
    })
}

/// Sets a sender's handler, e.g. for a sender the peer attached (in
/// `on_link_remote_attach`). `handler` is copied; NULL removes it. The
/// previous table's `userdata_free` is called soon after (never during
/// this call).
///
/// `handler` is borrowed for the call; `userdata` stays the application's.
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`. Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `handler` is NULL or
/// a valid table.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_set_handler(
    sender: muon_sender,
    handler: *const muon_handler,
    userdata: *mut c_void,
) -> muon_result {
    boundary!(result: { set_handler(sender.into(), handler, userdata) })
}

/// Sets a receiver's handler; see `muon_sender_set_handler`.
///
/// `handler` is borrowed for the call; `userdata` stays the application's.
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`.
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `handler` is NULL or
/// a valid table.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_set_handler(
    receiver: muon_receiver,
    handler: *const muon_handler,
    userdata: *mut c_void,
) -> muon_result {
    boundary!(result: { set_handler(receiver.into(), handler, userdata) })
}

/// Turns a sender's auto-settle built-in on or off from now on (see
/// `muon_link_options_set_auto_settle`); for senders the peer attached,
/// whose options are the defaults.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`. Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_set_auto_settle(sender: muon_sender, on: bool) -> muon_result {
    boundary!(result: {
        let h: H = sender.into();
        link_call(h, |st, _, _| {
            let e = st.links.get_mut(h.key).ok_or(muon_result::StaleHandle)?;
            e.opts.auto_settle = on;
            Ok(())
        })
    })
}

/// Turns a receiver's auto-accept built-in on or off from now on (see
/// `muon_link_options_set_auto_accept`). Results as
/// `muon_sender_set_auto_settle`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_set_auto_accept(
    receiver: muon_receiver,
    on: bool,
) -> muon_result {
    boundary!(result: {
        let h: H = receiver.into();
        link_call(h, |st, _, _| {
            let e = st.links.get_mut(h.key).ok_or(muon_result::StaleHandle)?;
            e.opts.auto_accept = on;
            Ok(())
        })
    })
}

/// Sets a receiver's credit window from now on (see
/// `muon_link_options_set_credit_window`; 0 turns the built-in off). For a
/// receiver the peer attached, set it in `on_link_remote_attach`, before
/// the first credit is granted. Results as `muon_sender_set_auto_settle`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_set_credit_window(
    receiver: muon_receiver,
    window: u32,
) -> muon_result {
    boundary!(result: {
        let h: H = receiver.into();
        link_call(h, |st, _, _| {
            let e = st.links.get_mut(h.key).ok_or(muon_result::StaleHandle)?;
            e.opts.credit_window = window;
            Ok(())
        })
    })
}

// ---- sending ------------------------------------------------------------------------

/// Sends `message` on the sender: the tutorial's `sender.send_msg(msg)`.
/// The message is encoded during the call, so it may be changed or freed
/// right after. Needs credit: send from `on_link_flow`, up to
/// `muon_sender_credit`.
///
/// `message` is borrowed for the call; `out` (may be NULL) receives the
/// delivery, owned by the loop until it is settled (the null handle when
/// sent pre-settled). Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_STALE_HANDLE`,
/// `MUON_RESULT_NO_CREDIT`, `MUON_RESULT_WRONG_STATE` (not attached, or too
/// much output waiting), `MUON_RESULT_CLOSED`, `MUON_RESULT_INVALID_ARGUMENT`
/// (larger than the peer accepts), `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`; `out` is written only on success. Not thread-safe;
/// may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `message` is NULL or
/// live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_send(
    sender: muon_sender,
    message: *const muon_message,
    out: *mut muon_delivery,
) -> muon_result {
    boundary!(result: {
        check(sender.owner, sender.generation)?;
        // SAFETY: the caller promises a live message or NULL.
        let m = unsafe { borrow(message) }?;
        let h: H = sender.into();
        let d = link_call(h, |st, cid, l| {
            let presettled = st.links.get(h.key).is_some_and(|e| e.opts.presettled);
            let x = engine(st, cid)?;
            let d = x.send(l, None, &m.msg, presettled).map_err(map_engine)?;
            if !x.delivery_exists(d) {
                return Ok(muon_delivery::NULL);
            }
            let dk = st.deliveries.insert(DeliveryEntry {
                cid,
                link: h.key,
                did: d,
                outcome_reported: false,
                settled_reported: false,
            });
            st.delivery_index.insert((cid, d), dk);
            Ok(muon_delivery::new(st.me, dk))
        })?;
        write_out(out, d);
        Ok(())
    })
}

/// The sender's credit: how many messages it may send now (0 for a stale
/// or null handle): the tutorial's `sender.credit`. Not thread-safe; may be
/// called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_credit(sender: muon_sender) -> u32 {
    boundary!(0, {
        link_call(sender.into(), |st, cid, l| {
            Ok(st.lp.engine_ref(cid).map_or(0, |x| x.link_credit(l)))
        })
        .unwrap_or(0)
    })
}

/// Tells the receiver how many messages wait to be sent (the `available`
/// of the next flow): the tutorial's `sender.offered(n)`.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_CLOSED`,
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not thread-safe; may be
/// called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_offered(sender: muon_sender, count: u32) -> muon_result {
    boundary!(result: {
        link_call(sender.into(), |st, cid, l| {
            engine(st, cid)?.link_set_available(l, count).map_err(map_engine)
        })
    })
}

/// Says the sender has nothing more to send now: if the receiver asked to
/// drain, the rest of the credit is used up and the receiver told (the
/// tutorial's `sender.drained()`). After `on_link_flow` returns this is
/// done automatically, so call it only when the sender runs dry outside
/// that callback. Results as `muon_sender_offered`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_drained(sender: muon_sender) -> muon_result {
    boundary!(result: {
        link_call(sender.into(), |st, cid, l| {
            engine(st, cid)?.link_drained(l).map(|_| ()).map_err(map_engine)
        })
    })
}

// ---- receiving ----------------------------------------------------------------------

/// Grants the sender credit for `credit` messages from now (absolute: the
/// credit becomes `credit`, 0 takes it back). With the credit window
/// built-in on, credit is still topped up automatically; set the window
/// to 0 to manage it by hand.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_CLOSED`,
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not thread-safe; may be
/// called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_flow(receiver: muon_receiver, credit: u32) -> muon_result {
    boundary!(result: {
        link_call(receiver.into(), |st, cid, l| {
            engine(st, cid)?.link_flow(l, credit, false).map_err(map_engine)
        })
    })
}

/// Grants `credit` and asks the sender to use it at once or give it back
/// (drain). When the sender answers, `on_link_flow` comes for the
/// receiver, and `muon_receiver_is_draining` is false once the drain is
/// over. Results as `muon_receiver_flow`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_drain(receiver: muon_receiver, credit: u32) -> muon_result {
    boundary!(result: {
        link_call(receiver.into(), |st, cid, l| {
            engine(st, cid)?.link_flow(l, credit, true).map_err(map_engine)
        })
    })
}

/// The credit the receiver has granted and that is not used yet (0 for a
/// stale or null handle). Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_credit(receiver: muon_receiver) -> u32 {
    boundary!(0, {
        link_call(receiver.into(), |st, cid, l| {
            Ok(st.lp.engine_ref(cid).map_or(0, |x| x.link_credit(l)))
        })
        .unwrap_or(0)
    })
}

/// True while a drain asked with `muon_receiver_drain` is not over (false
/// for a stale or null handle). Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_is_draining(receiver: muon_receiver) -> bool {
    boundary!(false, {
        link_call(receiver.into(), |st, cid, l| {
            Ok(st.lp.engine_ref(cid).is_some_and(|x| x.link_drain(l)))
        })
        .unwrap_or(false)
    })
}

// ---- closing -----------------------------------------------------------------------

fn close_link(h: H, error: Option<AmqpError>) -> Result<(), muon_result> {
    link_call(h, |st, cid, l| {
        if let Some(e) = st.links.get_mut(h.key) {
            e.closed_by_app = true;
            if error.is_some() {
                e.local_error = error.clone();
            }
        }
        st.lp.forget_link(cid, l);
        if st.dispatching {
            st.pending_closes.push(PendingClose::Link(cid, l, error));
            return Ok(());
        }
        let Some(x) = st.lp.engine(cid) else {
            return Ok(()); // the connection is in its final callback
        };
        if x.link_local_state(l) == EndpointState::Closed {
            return Ok(());
        }
        x.link_close(l, true, error).map_err(map_engine)
    })
}

/// Begins closing the sender: the tutorial's `link.close()`.
/// `on_link_final` follows once the peer answered. Closing twice is not an
/// error. Called from a callback, the close takes effect once the
/// callback's event is handled (see `muon_connection_close`). Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`. Not thread-safe; may be called from a callback,
/// including the link's own.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_close(sender: muon_sender) -> muon_result {
    boundary!(result: { close_link(sender.into(), None) })
}

/// Begins closing the sender with the error condition `name` and
/// `description` (may be NULL), both borrowed for the call. Results as
/// `muon_sender_close`, plus `MUON_RESULT_INVALID_UTF8` and
/// `MUON_RESULT_INVALID_ARGUMENT` (an empty or non-ASCII name).
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; strings are NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_close_with(
    sender: muon_sender,
    name: *const c_char,
    description: *const c_char,
) -> muon_result {
    boundary!(result: {
        check(sender.owner, sender.generation)?;
        let e = error_from(name, description)?;
        close_link(sender.into(), Some(e))
    })
}

/// Begins closing the receiver; see `muon_sender_close`.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`.
/// Not thread-safe; may be called from a callback, including the link's own.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_close(receiver: muon_receiver) -> muon_result {
    boundary!(result: { close_link(receiver.into(), None) })
}

/// Begins closing the receiver with an error condition; see
/// `muon_sender_close_with`.
///
/// `name` and `description` are borrowed for the call. Results:
/// `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`,
/// `MUON_RESULT_INVALID_ARGUMENT`, `MUON_RESULT_STALE_HANDLE`,
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not thread-safe; may be
/// called from a callback, including the link's own.
///
/// # Safety
/// The handle is the null handle or its loop is live; strings are NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_close_with(
    receiver: muon_receiver,
    name: *const c_char,
    description: *const c_char,
) -> muon_result {
    boundary!(result: {
        check(receiver.owner, receiver.generation)?;
        let e = error_from(name, description)?;
        close_link(receiver.into(), Some(e))
    })
}

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
