//! Connections, listeners, senders, receivers and deliveries: the
//! functions on endpoint handles.

use std::collections::HashMap;
use std::ffi::{CString, c_char, c_void};

use super::boundary::{borrow, boundary, cstr};
use super::event::{Condition, muon_condition};
use super::event_loop::{
    ConnEntry, ListenerEntry, State, map_engine, muon_loop, reactor_err, with_state,
};
use super::handle::{muon_connection, muon_delivery, muon_listener, muon_receiver, muon_sender};
use super::handler::{Registered, muon_handler};
use super::message::muon_message;
use super::options::{LinkOpts, muon_connection_options, muon_link_options};
use super::result::muon_result;
use crate::codec::messaging::{
    DeliveryState, Modified, Rejected, Source, Target, TerminusDurability,
};
use crate::codec::transport::{AmqpError, ReceiverSettleMode, Role, SenderSettleMode};
use crate::codec::{Symbol, Symbols};
use crate::engine::{Connection, EndpointState, Key, LinkId, LinkOptions};
use crate::reactor::{ConnId, ConnectOptions};

fn write_out<T>(out: *mut T, v: T) {
    if !out.is_null() {
        // SAFETY: every caller's contract makes a non-NULL `out` writable.
        unsafe { out.write(v) };
    }
}

fn conn_of(st: &State, h: muon_connection) -> Result<(Key, ConnId), muon_result> {
    let k = h.key();
    let c = st.conns.get(k).ok_or(muon_result::StaleHandle)?;
    if !st.lp.connection_exists(c.id) {
        return Err(muon_result::StaleHandle);
    }
    Ok((k, c.id))
}

fn link_of(st: &State, k: Key, role: Role) -> Result<(ConnId, LinkId), muon_result> {
    let l = st.links.get(k).ok_or(muon_result::StaleHandle)?;
    if l.role != role || !st.lp.connection_exists(l.cid) {
        return Err(muon_result::StaleHandle);
    }
    Ok((l.cid, l.link))
}

fn check(owner: *mut muon_loop, generation: u32) -> Result<(), muon_result> {
    if owner.is_null() || generation == 0 {
        Err(muon_result::NullArgument)
    } else {
        Ok(())
    }
}

fn engine(st: &mut State, cid: ConnId) -> Result<&mut Connection, muon_result> {
    st.lp.engine(cid).ok_or(muon_result::StaleHandle)
}

fn scratch(st: &mut State, s: Option<&str>) -> *const c_char {
    match s {
        Some(s) => {
            st.scratch = CString::new(s.replace('\0', "")).unwrap_or_default();
            st.scratch.as_ptr()
        }
        None => std::ptr::null(),
    }
}

fn condition_view(st: &mut State, e: Option<&AmqpError>) -> *const muon_condition {
    st.condition = e.map(|e| Box::new(Condition::from_error(e)));
    st.condition
        .as_deref()
        .map_or(std::ptr::null(), |c| (c as *const Condition).cast())
}

fn error_from(name: *const c_char, description: *const c_char) -> Result<AmqpError, muon_result> {
    // SAFETY: callers' contracts make both NULL or NUL-terminated.
    let n = unsafe { cstr(name) }?;
    if !n.is_ascii() {
        return Err(muon_result::InvalidArgument);
    }
    let d = if description.is_null() {
        None
    } else {
        // SAFETY: as above.
        Some(unsafe { cstr(description) }?.to_owned())
    };
    Ok(AmqpError {
        condition: Symbol::new(n),
        description: d,
        info: None,
    })
}

// ---- connect and listen -------------------------------------------------------

/// Connects to `url` (`[amqp://][user[:password]@]host[:port][/address]`,
/// default port 5672). The connection opens as soon as the transport is up;
/// its events go to `handler` (copied; may be NULL), else the loop's
/// default handler.
///
/// `lp`, `url`, `options` (may be NULL: defaults) and `handler` are
/// borrowed for the call; `userdata` is the application's; `out` (may be
/// NULL) receives the connection handle, owned by the loop until after
/// `on_connection_final`. A refused connection is reported later, through
/// `on_disconnected`. Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_INVALID_ARGUMENT` (bad URL),
/// `MUON_RESULT_WRONG_THREAD`. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// `lp` is NULL or a live loop; `url` NULL or NUL-terminated; `options`
/// NULL or live; `handler` NULL or a valid table; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_connect(
    lp: *mut muon_loop,
    url: *const c_char,
    options: *const muon_connection_options,
    handler: *const muon_handler,
    userdata: *mut c_void,
    out: *mut muon_connection,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a NUL-terminated string.
        let url = unsafe { cstr(url) }?;
        let opts = if options.is_null() {
            Default::default()
        } else {
            // SAFETY: the caller promises live options.
            unsafe { borrow(options) }?.clone()
        };
        // SAFETY: the caller promises a valid handler table or NULL.
        let mut reg = unsafe { Registered::new(handler, userdata) };
        // SAFETY: the caller promises a live loop.
        unsafe {
            with_state(lp, |st| {
                let reconnect = opts.reconnect.is_some();
                let cid = st
                    .lp
                    .connect(
                        url,
                        ConnectOptions {
                            config: opts.config,
                            reconnect: opts.reconnect,
                            failover: opts.failover,
                        },
                    )
                    .map_err(reactor_err)?;
                let reg = reg.take();
                let k = st.conns.insert(ConnEntry {
                    id: cid,
                    handler: reg,
                    listener: None,
                    handshake: true,
                    stash: HashMap::new(),
                    reconnect,
                });
                st.conn_index.insert(cid, k);
                write_out(out, muon_connection::new(st.me, k));
                Ok(())
            })
        }
    })
}

/// Listens on `address` (`host:port`; port 0 picks a free port, read it
/// with `muon_listener_port`). Each accepted connection is reported with
/// `on_connection_accepted`; its events go to its own handler if one is set
/// with `muon_connection_set_handler`, else to `handler`, else the loop's
/// default. Accepted connections answer the peer's open, begin and attach
/// automatically.
///
/// `lp`, `address`, `options` (SASL, limits, offered capabilities; may be
/// NULL) and `handler` are borrowed for the call; `out` (may be NULL)
/// receives the listener, owned by the loop until after
/// `on_listener_final`. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`,
/// `MUON_RESULT_INVALID_ARGUMENT`, `MUON_RESULT_ADDRESS_IN_USE`,
/// `MUON_RESULT_RESOLVE_FAILED`, `MUON_RESULT_IO_ERROR`,
/// `MUON_RESULT_WRONG_THREAD`. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// As `muon_loop_connect`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_listen(
    lp: *mut muon_loop,
    address: *const c_char,
    options: *const muon_connection_options,
    handler: *const muon_handler,
    userdata: *mut c_void,
    out: *mut muon_listener,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a NUL-terminated string.
        let address = unsafe { cstr(address) }?;
        let opts = if options.is_null() {
            Default::default()
        } else {
            // SAFETY: the caller promises live options.
            unsafe { borrow(options) }?.clone()
        };
        // SAFETY: the caller promises a valid handler table or NULL.
        let mut reg = unsafe { Registered::new(handler, userdata) };
        // SAFETY: the caller promises a live loop.
        unsafe {
            with_state(lp, |st| {
                let id = st.lp.listen(address, opts.config).map_err(reactor_err)?;
                let reg = reg.take();
                let k = st.listeners.insert(ListenerEntry { id, handler: reg });
                st.listener_index.insert(id, k);
                write_out(out, muon_listener::new(st.me, k));
                Ok(())
            })
        }
    })
}

/// The port a listener is bound to (0 for a stale or null handle).
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_listener_port(listener: muon_listener) -> u16 {
    boundary!(0, {
        if check(listener.owner, listener.generation).is_err() {
            return 0;
        }
        // SAFETY: the caller promises the handle's loop is live.
        unsafe {
            with_state(listener.owner, |st| {
                let l = st
                    .listeners
                    .get(listener.key())
                    .ok_or(muon_result::StaleHandle)?;
                Ok(st.lp.listener_port(l.id).unwrap_or(0))
            })
        }
        .unwrap_or(0)
    })
}

/// Stops listening; `on_listener_final` follows. Accepted connections carry
/// on.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`. Not
/// thread-safe; may be called from a callback.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_listener_close(listener: muon_listener) -> muon_result {
    boundary!(result: {
        check(listener.owner, listener.generation)?;
        // SAFETY: the caller promises the handle's loop is live.
        unsafe {
            with_state(listener.owner, |st| {
                let l = st.listeners.get(listener.key()).ok_or(muon_result::StaleHandle)?;
                st.lp.close_listener(l.id).map_err(reactor_err)
            })
        }
    })
}

// ---- connections ------------------------------------------------------------

/// Sets the handler for a connection's events (and its links' events that
/// their own handlers do not implement). Useful for connections accepted by
/// a listener. The previous handler's `userdata_free` is called.
///
/// `handler` is copied; NULL removes it. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_STALE_HANDLE`,
/// `MUON_RESULT_WRONG_THREAD`. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// The handle's loop is live; `handler` is NULL or a valid table.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_set_handler(
    conn: muon_connection,
    handler: *const muon_handler,
    userdata: *mut c_void,
) -> muon_result {
    boundary!(result: {
        check(conn.owner, conn.generation)?;
        // SAFETY: the caller promises a valid handler table or NULL.
        let mut reg = unsafe { Registered::new(handler, userdata) };
        // SAFETY: the caller promises the handle's loop is live.
        let old = unsafe {
            with_state(conn.owner, |st| {
                let (k, _) = conn_of(st, conn)?;
                let reg = reg.take();
                let c = st.conns.get_mut(k).ok_or(muon_result::StaleHandle)?;
                Ok(std::mem::replace(&mut c.handler, reg))
            })
        }?;
        if let Some(old) = old {
            old.free_userdata();
        }
        Ok(())
    })
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
    let mut reg = unsafe { Registered::new(handler, userdata) };
    // SAFETY: the callers' contracts make the handle's loop live.
    unsafe {
        with_state(conn.owner, |st| {
            let (ck, cid) = conn_of(st, conn)?;
            let durable = match opts.durable {
                1 => TerminusDurability::Configuration,
                2 => TerminusDurability::UnsettledState,
                _ => TerminusDurability::None,
            };
            let caps = (!opts.capabilities.is_empty()).then(|| Symbols(opts.capabilities.clone()));
            let mut lo = LinkOptions {
                name: opts.name.clone().unwrap_or_default(),
                snd_settle_mode: opts
                    .presettled
                    .then_some(SenderSettleMode::Settled)
                    .or(Some(SenderSettleMode::Unsettled)),
                rcv_settle_mode: Some(ReceiverSettleMode::First),
                ..LinkOptions::default()
            };
            match role {
                Role::Sender => {
                    lo.target = Some(Target {
                        address: address.clone().filter(|_| !opts.dynamic),
                        durable,
                        dynamic: opts.dynamic,
                        capabilities: caps,
                        ..Target::default()
                    });
                    lo.source = Some(Source::default());
                }
                Role::Receiver => {
                    lo.source = Some(Source {
                        address: address.clone().filter(|_| !opts.dynamic),
                        durable,
                        dynamic: opts.dynamic,
                        distribution_mode: opts.distribution_mode.as_deref().map(Symbol::new),
                        capabilities: caps,
                        ..Source::default()
                    });
                    lo.target = Some(Target::default());
                }
            }
            let l = st.lp.open_link(cid, role, lo).map_err(reactor_err)?;
            if role == Role::Receiver && opts.credit_window > 0 {
                engine(st, cid)?
                    .link_flow(l, opts.credit_window, false)
                    .map_err(map_engine)?;
            }
            let reg = reg.take();
            Ok(st.register_link(ck, cid, l, role, reg, opts))
        })
    }
}

/// Opens a sender to `address` (NULL: no target address, for an anonymous
/// relay that routes by each message's `to`). Its events go to `handler`
/// (copied; may be NULL), else the connection's handler, else the loop's.
///
/// `address`, `options` (may be NULL: defaults) and `handler` are borrowed
/// for the call; `out` (may be NULL) receives the sender, owned by the loop
/// until after `on_link_final`. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_CLOSED`,
/// `MUON_RESULT_WRONG_THREAD`. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// The handle's loop is live; pointers are NULL or valid as described.
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

/// Opens a receiver from `address` (NULL with the dynamic option: the peer
/// makes a temporary node; read its address with
/// `muon_receiver_remote_source_address` in `on_link_remote_open`).
/// Credit is granted automatically (window 10 unless the options say
/// otherwise) and messages are accepted when `on_message` returns.
///
/// Ownership and results as `muon_connection_open_sender`; `out` receives a
/// receiver. Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle's loop is live; pointers are NULL or valid as described.
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

fn close_connection(conn: muon_connection, error: Option<AmqpError>) -> Result<(), muon_result> {
    check(conn.owner, conn.generation)?;
    // SAFETY: the callers' contracts make the handle's loop live.
    unsafe {
        with_state(conn.owner, |st| {
            let (_, cid) = conn_of(st, conn)?;
            st.lp.close(cid, error).map_err(reactor_err)
        })
    }
}

/// Begins closing the connection (and stops any reconnect);
/// `on_connection_final` follows once the peer answered. Closing twice is
/// not an error.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`. Not thread-safe;
/// may be called from a callback, including the connection's own.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_close(conn: muon_connection) -> muon_result {
    boundary!(result: { close_connection(conn, None) })
}

/// Begins closing the connection with an error condition `name` (e.g.
/// `amqp:internal-error`) and `description` (may be NULL).
///
/// `name` and `description` are borrowed for the call. Results as
/// `muon_connection_close`, plus `MUON_RESULT_INVALID_UTF8` and
/// `MUON_RESULT_INVALID_ARGUMENT` (non-ASCII name).
///
/// # Safety
/// The handle's loop is live; strings are NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_close_with(
    conn: muon_connection,
    name: *const c_char,
    description: *const c_char,
) -> muon_result {
    boundary!(result: {
        let e = error_from(name, description)?;
        close_connection(conn, Some(e))
    })
}

/// True while the connection is open both ways (false for a stale or null
/// handle). Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_is_open(conn: muon_connection) -> bool {
    boundary!(false, {
        if check(conn.owner, conn.generation).is_err() {
            return false;
        }
        // SAFETY: the caller promises the handle's loop is live.
        unsafe {
            with_state(conn.owner, |st| {
                let (_, cid) = conn_of(st, conn)?;
                let x = st.lp.engine_ref(cid).ok_or(muon_result::StaleHandle)?;
                Ok(x.local_state() == EndpointState::Active
                    && x.remote_state() == EndpointState::Active)
            })
        }
        .unwrap_or(false)
    })
}

/// The error condition the peer closed the connection with: borrowed until
/// the next call on this loop. NULL if none (or for a stale handle).
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_remote_condition(
    conn: muon_connection,
) -> *const muon_condition {
    boundary!(std::ptr::null(), {
        if check(conn.owner, conn.generation).is_err() {
            return std::ptr::null();
        }
        // SAFETY: the caller promises the handle's loop is live.
        unsafe {
            with_state(conn.owner, |st| {
                let (_, cid) = conn_of(st, conn)?;
                let e = st
                    .lp
                    .engine_ref(cid)
                    .and_then(|x| x.remote_condition())
                    .cloned();
                Ok(condition_view(st, e.as_ref()))
            })
        }
        .unwrap_or(std::ptr::null())
    })
}

/// The peer's container id: NUL-terminated, borrowed until the next call
/// on this loop; NULL before the peer's open (or for a stale handle).
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_remote_container_id(
    conn: muon_connection,
) -> *const c_char {
    boundary!(std::ptr::null(), {
        if check(conn.owner, conn.generation).is_err() {
            return std::ptr::null();
        }
        // SAFETY: the caller promises the handle's loop is live.
        unsafe {
            with_state(conn.owner, |st| {
                let (_, cid) = conn_of(st, conn)?;
                let s = st
                    .lp
                    .engine_ref(cid)
                    .and_then(|x| x.remote_open())
                    .map(|o| o.container_id.clone());
                Ok(scratch(st, s.as_deref()))
            })
        }
        .unwrap_or(std::ptr::null())
    })
}

/// True if the peer's open offered the capability `capability` (e.g.
/// `ANONYMOUS-RELAY`). False for a stale handle or NULL.
///
/// # Safety
/// The handle's loop is live; `capability` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_remote_offered_capability(
    conn: muon_connection,
    capability: *const c_char,
) -> bool {
    boundary!(false, {
        if check(conn.owner, conn.generation).is_err() {
            return false;
        }
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let Ok(cap) = (unsafe { cstr(capability) }) else {
            return false;
        };
        // SAFETY: the caller promises the handle's loop is live.
        unsafe {
            with_state(conn.owner, |st| {
                let (_, cid) = conn_of(st, conn)?;
                Ok(st
                    .lp
                    .engine_ref(cid)
                    .and_then(|x| x.remote_open())
                    .and_then(|o| o.offered_capabilities.as_ref())
                    .is_some_and(|c| c.contains(cap)))
            })
        }
        .unwrap_or(false)
    })
}

/// The SASL user name the connection logged in with (client) or that
/// logged in (accepted connection): borrowed until the next call on this
/// loop; NULL if none.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_user(conn: muon_connection) -> *const c_char {
    boundary!(std::ptr::null(), {
        if check(conn.owner, conn.generation).is_err() {
            return std::ptr::null();
        }
        // SAFETY: the caller promises the handle's loop is live.
        unsafe {
            with_state(conn.owner, |st| {
                let (_, cid) = conn_of(st, conn)?;
                let s = st
                    .lp
                    .engine_ref(cid)
                    .and_then(|x| x.sasl_user())
                    .map(str::to_owned);
                Ok(scratch(st, s.as_deref()))
            })
        }
        .unwrap_or(std::ptr::null())
    })
}

// ---- links ----------------------------------------------------------------------

fn link_call<R>(
    owner: *mut muon_loop,
    generation: u32,
    key: Key,
    role: Role,
    f: impl FnOnce(&mut State, ConnId, LinkId) -> Result<R, muon_result>,
) -> Result<R, muon_result> {
    check(owner, generation)?;
    // SAFETY: the callers' contracts make the handle's loop live.
    unsafe {
        with_state(owner, |st| {
            let (cid, l) = link_of(st, key, role)?;
            f(st, cid, l)
        })
    }
}

/// Sends `message` on the sender: encoded during the call, so the message
/// may be changed or freed right after. Needs credit (`muon_sender_credit`
/// > 0; send from `on_link_flow`).
///
/// `message` is borrowed for the call; `out` (may be NULL) receives the
/// delivery, owned by the loop until it is settled (the null handle for a
/// pre-settled send). Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_NO_CREDIT`,
/// `MUON_RESULT_WRONG_STATE` (not attached yet, or output backlog full),
/// `MUON_RESULT_CLOSED`, `MUON_RESULT_INVALID_ARGUMENT` (larger than the
/// peer's max-message-size), `MUON_RESULT_WRONG_THREAD`. Not thread-safe;
/// may be called from a callback.
///
/// # Safety
/// The handle's loop is live; `message` is NULL or live; `out` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_send(
    sender: muon_sender,
    message: *const muon_message,
    out: *mut muon_delivery,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live message or NULL.
        let m = unsafe { borrow(message) }?;
        link_call(sender.owner, sender.generation, sender.key(), Role::Sender, |st, cid, l| {
            let presettled = st.links.get(sender.key()).is_some_and(|e| e.opts.presettled);
            let x = engine(st, cid)?;
            let d = x.send(l, None, &m.msg, presettled).map_err(map_engine)?;
            if x.delivery_exists(d) {
                let dk = st.deliveries.insert(super::event_loop::DeliveryEntry {
                    cid,
                    link: sender.key(),
                    did: d,
                    reported: false,
                });
                st.delivery_index.insert((cid, d), dk);
                write_out(out, muon_delivery::new(st.me, dk));
            } else {
                write_out(out, muon_delivery::NULL);
            }
            Ok(())
        })
    })
}

/// The sender's credit: how many messages it may send now (0 for a stale
/// or null handle). Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_credit(sender: muon_sender) -> u32 {
    boundary!(0, {
        link_call(
            sender.owner,
            sender.generation,
            sender.key(),
            Role::Sender,
            |st, cid, l| Ok(st.lp.engine_ref(cid).map_or(0, |x| x.link_credit(l))),
        )
        .unwrap_or(0)
    })
}

/// Tells the receiver how many messages wait to be sent (the `available`
/// hint of the next flow).
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`. Not thread-safe;
/// may be called from a callback.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_offered(sender: muon_sender, count: u32) -> muon_result {
    boundary!(result: {
        link_call(sender.owner, sender.generation, sender.key(), Role::Sender, |st, cid, l| {
            engine(st, cid)?.link_set_available(l, count).map_err(map_engine)
        })
    })
}

/// Says the sender has nothing more to send: if the receiver asked to
/// drain, the remaining credit is used up and the receiver told. (Done
/// automatically after `on_link_flow`.)
///
/// Results as `muon_sender_offered`.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_drained(sender: muon_sender) -> muon_result {
    boundary!(result: {
        link_call(sender.owner, sender.generation, sender.key(), Role::Sender, |st, cid, l| {
            engine(st, cid)?.link_drained(l).map(|_| ()).map_err(map_engine)
        })
    })
}

fn close_link(
    owner: *mut muon_loop,
    generation: u32,
    key: Key,
    role: Role,
    error: Option<AmqpError>,
) -> Result<(), muon_result> {
    link_call(owner, generation, key, role, |st, cid, l| {
        if let Some(e) = st.links.get_mut(key) {
            e.closed_by_app = true;
        }
        st.lp.forget_link(cid, l);
        engine(st, cid)?
            .link_close(l, true, error)
            .map_err(map_engine)
    })
}

/// Begins closing the sender; `on_link_final` follows. Closing twice is not
/// an error. Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`. Not thread-safe;
/// may be called from a callback, including the link's own.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_close(sender: muon_sender) -> muon_result {
    boundary!(result: { close_link(sender.owner, sender.generation, sender.key(), Role::Sender, None) })
}

/// Begins closing the sender with the error condition `name` and
/// `description` (may be NULL), both borrowed for the call. Results as
/// `muon_sender_close`, plus `MUON_RESULT_INVALID_UTF8`,
/// `MUON_RESULT_INVALID_ARGUMENT`.
///
/// # Safety
/// The handle's loop is live; strings are NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_close_with(
    sender: muon_sender,
    name: *const c_char,
    description: *const c_char,
) -> muon_result {
    boundary!(result: {
        let e = error_from(name, description)?;
        close_link(sender.owner, sender.generation, sender.key(), Role::Sender, Some(e))
    })
}

/// The sender's connection (the null handle for a stale sender).
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_connection(sender: muon_sender) -> muon_connection {
    boundary!(muon_connection::NULL, {
        link_call(
            sender.owner,
            sender.generation,
            sender.key(),
            Role::Sender,
            |st, _, _| {
                let ck = st
                    .links
                    .get(sender.key())
                    .map(|e| e.conn)
                    .ok_or(muon_result::StaleHandle)?;
                Ok(muon_connection::new(st.me, ck))
            },
        )
        .unwrap_or(muon_connection::NULL)
    })
}

/// The address of the target the peer attached (for a dynamic sender, the
/// node it made): borrowed until the next call on this loop; NULL if none.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_remote_target_address(sender: muon_sender) -> *const c_char {
    boundary!(std::ptr::null(), {
        link_call(
            sender.owner,
            sender.generation,
            sender.key(),
            Role::Sender,
            |st, cid, l| {
                let a = st
                    .lp
                    .engine_ref(cid)
                    .and_then(|x| x.link_remote_target(l))
                    .and_then(|t| t.address.clone());
                Ok(scratch(st, a.as_deref()))
            },
        )
        .unwrap_or(std::ptr::null())
    })
}

/// The error the peer closed the sender with: borrowed until the next call
/// on this loop; NULL if none.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_remote_condition(
    sender: muon_sender,
) -> *const muon_condition {
    boundary!(std::ptr::null(), {
        link_call(
            sender.owner,
            sender.generation,
            sender.key(),
            Role::Sender,
            |st, cid, l| {
                let e = st
                    .lp
                    .engine_ref(cid)
                    .and_then(|x| x.link_remote_condition(l))
                    .cloned();
                Ok(condition_view(st, e.as_ref()))
            },
        )
        .unwrap_or(std::ptr::null())
    })
}

/// The sender's link name: borrowed until the next call on this loop; NULL
/// for a stale handle.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_name(sender: muon_sender) -> *const c_char {
    boundary!(std::ptr::null(), {
        link_call(
            sender.owner,
            sender.generation,
            sender.key(),
            Role::Sender,
            |st, cid, l| {
                let n = st
                    .lp
                    .engine_ref(cid)
                    .and_then(|x| x.link_name(l))
                    .map(str::to_owned);
                Ok(scratch(st, n.as_deref()))
            },
        )
        .unwrap_or(std::ptr::null())
    })
}

/// Grants the receiver's peer `credit` further messages (absolute: the
/// credit becomes `credit`). With the built-in credit window on, it is
/// still topped up automatically; set the window to 0 to manage credit by
/// hand.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`. Not thread-safe;
/// may be called from a callback.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_flow(receiver: muon_receiver, credit: u32) -> muon_result {
    boundary!(result: {
        link_call(receiver.owner, receiver.generation, receiver.key(), Role::Receiver, |st, cid, l| {
            engine(st, cid)?.link_flow(l, credit, false).map_err(map_engine)
        })
    })
}

/// Grants `credit` and asks the sender to use it up or give it back at
/// once (drain); `on_link_flow` reports when the drain is over.
///
/// Results as `muon_receiver_flow`.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_drain(receiver: muon_receiver, credit: u32) -> muon_result {
    boundary!(result: {
        link_call(receiver.owner, receiver.generation, receiver.key(), Role::Receiver, |st, cid, l| {
            engine(st, cid)?.link_flow(l, credit, true).map_err(map_engine)
        })
    })
}

/// The credit the receiver has granted and not yet used (0 for a stale or
/// null handle).
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_credit(receiver: muon_receiver) -> u32 {
    boundary!(0, {
        link_call(
            receiver.owner,
            receiver.generation,
            receiver.key(),
            Role::Receiver,
            |st, cid, l| Ok(st.lp.engine_ref(cid).map_or(0, |x| x.link_credit(l))),
        )
        .unwrap_or(0)
    })
}

/// Begins closing the receiver; `on_link_final` follows.
///
/// Results as `muon_sender_close`.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_close(receiver: muon_receiver) -> muon_result {
    boundary!(result: { close_link(receiver.owner, receiver.generation, receiver.key(), Role::Receiver, None) })
}

/// Begins closing the receiver with an error condition. Results as
/// `muon_sender_close_with`.
///
/// # Safety
/// The handle's loop is live; strings are NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_close_with(
    receiver: muon_receiver,
    name: *const c_char,
    description: *const c_char,
) -> muon_result {
    boundary!(result: {
        let e = error_from(name, description)?;
        close_link(receiver.owner, receiver.generation, receiver.key(), Role::Receiver, Some(e))
    })
}

/// The receiver's connection (the null handle for a stale receiver).
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_connection(receiver: muon_receiver) -> muon_connection {
    boundary!(muon_connection::NULL, {
        link_call(
            receiver.owner,
            receiver.generation,
            receiver.key(),
            Role::Receiver,
            |st, _, _| {
                let ck = st
                    .links
                    .get(receiver.key())
                    .map(|e| e.conn)
                    .ok_or(muon_result::StaleHandle)?;
                Ok(muon_connection::new(st.me, ck))
            },
        )
        .unwrap_or(muon_connection::NULL)
    })
}

/// The address of the source the peer attached: for a dynamic receiver,
/// the address the peer assigned (use it as reply-to). Borrowed until the
/// next call on this loop; NULL if none.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_remote_source_address(
    receiver: muon_receiver,
) -> *const c_char {
    boundary!(std::ptr::null(), {
        link_call(
            receiver.owner,
            receiver.generation,
            receiver.key(),
            Role::Receiver,
            |st, cid, l| {
                let a = st
                    .lp
                    .engine_ref(cid)
                    .and_then(|x| x.link_remote_source(l))
                    .and_then(|s| s.address.clone());
                Ok(scratch(st, a.as_deref()))
            },
        )
        .unwrap_or(std::ptr::null())
    })
}

/// The address of the target of a link the peer attached to this
/// receiver (where the peer sends): borrowed until the next call on this
/// loop; NULL if none (e.g. an anonymous-relay sender).
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_remote_target_address(
    receiver: muon_receiver,
) -> *const c_char {
    boundary!(std::ptr::null(), {
        link_call(
            receiver.owner,
            receiver.generation,
            receiver.key(),
            Role::Receiver,
            |st, cid, l| {
                let a = st
                    .lp
                    .engine_ref(cid)
                    .and_then(|x| x.link_remote_target(l))
                    .and_then(|t| t.address.clone());
                Ok(scratch(st, a.as_deref()))
            },
        )
        .unwrap_or(std::ptr::null())
    })
}

/// For a sender the peer attached (a consumer, seen from a server): the
/// address of the source it asks for, borrowed until the next call on this
/// loop; NULL if none or if it asked for a dynamic node.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_remote_source_address(sender: muon_sender) -> *const c_char {
    boundary!(std::ptr::null(), {
        link_call(
            sender.owner,
            sender.generation,
            sender.key(),
            Role::Sender,
            |st, cid, l| {
                let a = st
                    .lp
                    .engine_ref(cid)
                    .and_then(|x| x.link_remote_source(l))
                    .and_then(|s| s.address.clone());
                Ok(scratch(st, a.as_deref()))
            },
        )
        .unwrap_or(std::ptr::null())
    })
}

/// For a sender the peer attached: true if it asked for a dynamic source
/// (a temporary node the server must create and name with
/// `muon_sender_set_source_address`, in `on_link_remote_attach`).
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_remote_source_is_dynamic(sender: muon_sender) -> bool {
    boundary!(false, {
        link_call(
            sender.owner,
            sender.generation,
            sender.key(),
            Role::Sender,
            |st, cid, l| {
                Ok(st
                    .lp
                    .engine_ref(cid)
                    .and_then(|x| x.link_remote_source(l))
                    .is_some_and(|s| s.dynamic))
            },
        )
        .unwrap_or(false)
    })
}

/// In `on_link_remote_attach`, before the link is opened: sets the address
/// of the source this side answers with (e.g. the name a server gives a
/// dynamic node). `address` is borrowed for the call.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_STALE_HANDLE`,
/// `MUON_RESULT_WRONG_STATE` (already opened), `MUON_RESULT_WRONG_THREAD`.
///
/// # Safety
/// The handle's loop is live; `address` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_set_source_address(
    sender: muon_sender,
    address: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let a = unsafe { cstr(address) }?.to_owned();
        link_call(sender.owner, sender.generation, sender.key(), Role::Sender, |st, cid, l| {
            let x = engine(st, cid)?;
            let remote = x.link_remote_source(l).cloned().unwrap_or_default();
            let o = x.link_options_mut(l).map_err(map_engine)?;
            let mut src = o.source.clone().unwrap_or(remote);
            src.address = Some(a);
            o.source = Some(src);
            Ok(())
        })
    })
}

/// The error the peer closed the receiver with: borrowed until the next
/// call on this loop; NULL if none.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_remote_condition(
    receiver: muon_receiver,
) -> *const muon_condition {
    boundary!(std::ptr::null(), {
        link_call(
            receiver.owner,
            receiver.generation,
            receiver.key(),
            Role::Receiver,
            |st, cid, l| {
                let e = st
                    .lp
                    .engine_ref(cid)
                    .and_then(|x| x.link_remote_condition(l))
                    .cloned();
                Ok(condition_view(st, e.as_ref()))
            },
        )
        .unwrap_or(std::ptr::null())
    })
}

/// The receiver's link name: borrowed until the next call on this loop.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_name(receiver: muon_receiver) -> *const c_char {
    boundary!(std::ptr::null(), {
        link_call(
            receiver.owner,
            receiver.generation,
            receiver.key(),
            Role::Receiver,
            |st, cid, l| {
                let n = st
                    .lp
                    .engine_ref(cid)
                    .and_then(|x| x.link_name(l))
                    .map(str::to_owned);
                Ok(scratch(st, n.as_deref()))
            },
        )
        .unwrap_or(std::ptr::null())
    })
}

/// Sets a link's handler (a sender's or receiver's; pass the handle's
/// `owner`, `index` and `generation` through either type). The previous
/// handler's `userdata_free` is called.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`.
///
/// # Safety
/// The handle's loop is live; `handler` NULL or a valid table.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_set_handler(
    receiver: muon_receiver,
    handler: *const muon_handler,
    userdata: *mut c_void,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a valid table or NULL.
        let reg = unsafe { Registered::new(handler, userdata) };
        let old = link_call(receiver.owner, receiver.generation, receiver.key(), Role::Receiver, |st, _, _| {
            let e = st.links.get_mut(receiver.key()).ok_or(muon_result::StaleHandle)?;
            Ok(std::mem::replace(&mut e.handler, reg))
        })?;
        if let Some(o) = old {
            o.free_userdata();
        }
        Ok(())
    })
}

/// Sets a sender's handler; see `muon_receiver_set_handler`.
///
/// # Safety
/// The handle's loop is live; `handler` NULL or a valid table.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_set_handler(
    sender: muon_sender,
    handler: *const muon_handler,
    userdata: *mut c_void,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a valid table or NULL.
        let reg = unsafe { Registered::new(handler, userdata) };
        let old = link_call(sender.owner, sender.generation, sender.key(), Role::Sender, |st, _, _| {
            let e = st.links.get_mut(sender.key()).ok_or(muon_result::StaleHandle)?;
            Ok(std::mem::replace(&mut e.handler, reg))
        })?;
        if let Some(o) = old {
            o.free_userdata();
        }
        Ok(())
    })
}

// ---- deliveries -----------------------------------------------------------------

/// The state of a delivery as the peer reported it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum muon_delivery_state {
    /// No outcome yet (or a stale handle).
    None = 0,
    /// Accepted.
    Accepted = 1,
    /// Rejected.
    Rejected = 2,
    /// Released.
    Released = 3,
    /// Modified.
    Modified = 4,
    /// Received (partial; resumption only).
    Received = 5,
}

fn delivery_call<R>(
    d: muon_delivery,
    f: impl FnOnce(&mut State, ConnId, crate::engine::DeliveryId) -> Result<R, muon_result>,
) -> Result<R, muon_result> {
    check(d.owner, d.generation)?;
    // SAFETY: the callers' contracts make the handle's loop live.
    unsafe {
        with_state(d.owner, |st| {
            let e = st.deliveries.get(d.key()).ok_or(muon_result::StaleHandle)?;
            let (cid, did) = (e.cid, e.did);
            if !st
                .lp
                .engine_ref(cid)
                .is_some_and(|x| x.delivery_exists(did))
            {
                st.forget_delivery(d.key());
                return Err(muon_result::StaleHandle);
            }
            f(st, cid, did)
        })
    }
}

fn settle_with(d: muon_delivery, state: Option<DeliveryState>) -> Result<(), muon_result> {
    delivery_call(d, |st, cid, did| {
        engine(st, cid)?
            .disposition(did, state, true)
            .map_err(map_engine)?;
        st.forget_delivery(d.key());
        Ok(())
    })
}

/// Accepts and settles an incoming delivery; its handle is stale after.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE` (settled already), `MUON_RESULT_WRONG_THREAD`.
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_delivery_accept(delivery: muon_delivery) -> muon_result {
    boundary!(result: { settle_with(delivery, Some(DeliveryState::Accepted)) })
}

/// Rejects and settles an incoming delivery, with an optional error
/// condition (`name` NULL: none). Results as `muon_delivery_accept`, plus
/// `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_INVALID_ARGUMENT`.
///
/// # Safety
/// The handle's loop is live; strings are NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_delivery_reject(
    delivery: muon_delivery,
    name: *const c_char,
    description: *const c_char,
) -> muon_result {
    boundary!(result: {
        let error = if name.is_null() { None } else { Some(error_from(name, description)?) };
        settle_with(delivery, Some(DeliveryState::Rejected(Rejected { error })))
    })
}

/// Releases and settles an incoming delivery (the sender may deliver it
/// again, to anyone). Results as `muon_delivery_accept`.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_delivery_release(delivery: muon_delivery) -> muon_result {
    boundary!(result: { settle_with(delivery, Some(DeliveryState::Released)) })
}

/// Modifies and settles an incoming delivery: `failed` counts a failed
/// attempt, `undeliverable_here` asks not to deliver it to this link
/// again. Results as `muon_delivery_accept`.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_delivery_modify(
    delivery: muon_delivery,
    failed: bool,
    undeliverable_here: bool,
) -> muon_result {
    boundary!(result: {
        settle_with(
            delivery,
            Some(DeliveryState::Modified(Modified {
                delivery_failed: Some(failed),
                undeliverable_here: Some(undeliverable_here),
                message_annotations: None,
            })),
        )
    })
}

/// Settles a delivery without giving it an outcome (for an outgoing one:
/// forget it). Results as `muon_delivery_accept`.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_delivery_settle(delivery: muon_delivery) -> muon_result {
    boundary!(result: { settle_with(delivery, None) })
}

/// The outcome the peer gave the delivery (`MUON_DELIVERY_STATE_NONE` if
/// none yet, or for a stale handle).
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_delivery_remote_state(
    delivery: muon_delivery,
) -> muon_delivery_state {
    boundary!(muon_delivery_state::None, {
        delivery_call(delivery, |st, cid, did| {
            Ok(
                match st
                    .lp
                    .engine_ref(cid)
                    .and_then(|x| x.delivery_remote_state(did))
                {
                    Some(DeliveryState::Accepted) => muon_delivery_state::Accepted,
                    Some(DeliveryState::Rejected(_)) => muon_delivery_state::Rejected,
                    Some(DeliveryState::Released) => muon_delivery_state::Released,
                    Some(DeliveryState::Modified(_)) => muon_delivery_state::Modified,
                    Some(DeliveryState::Received(_)) => muon_delivery_state::Received,
                    _ => muon_delivery_state::None,
                },
            )
        })
        .unwrap_or(muon_delivery_state::None)
    })
}

/// True if the peer has settled the delivery (false for a stale handle).
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_delivery_is_remote_settled(delivery: muon_delivery) -> bool {
    boundary!(false, {
        delivery_call(delivery, |st, cid, did| {
            Ok(st
                .lp
                .engine_ref(cid)
                .is_some_and(|x| x.delivery_remote_settled(did)))
        })
        .unwrap_or(false)
    })
}

/// Copies the delivery's tag into `buf` (up to `cap` bytes) and returns its
/// length (at most 32; 0 for a stale handle).
///
/// # Safety
/// The handle's loop is live; `buf` is NULL or valid for `cap` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_delivery_tag(
    delivery: muon_delivery,
    buf: *mut u8,
    cap: usize,
) -> usize {
    boundary!(0, {
        delivery_call(delivery, |st, cid, did| {
            let tag = st
                .lp
                .engine_ref(cid)
                .and_then(|x| x.delivery_tag(did))
                .unwrap_or_default();
            // SAFETY: the caller promises `buf` is NULL or valid for `cap`.
            unsafe { super::boundary::copy_out(tag.as_bytes(), buf, cap) };
            Ok(tag.as_bytes().len())
        })
        .unwrap_or(0)
    })
}
