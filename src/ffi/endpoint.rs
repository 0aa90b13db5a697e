//! Connections and listeners: the functions on their handles, and the
//! checks and views every endpoint function shares.
//!
//! Every function taking a handle first checks it: the null handle is
//! `MUON_RESULT_NULL_ARGUMENT`; a handle whose object had its final event
//! (or, for a link, whose transport was lost) is
//! `MUON_RESULT_STALE_HANDLE`; a getter returns its documented default for
//! both. Strings, conditions, values and termini a getter returns stay
//! valid until the object's final event has been dispatched (or the loop
//! is freed), however often getters are called: see `State::views`.

use std::ffi::{CString, c_char, c_void};
use std::rc::Rc;

use super::boundary::{borrow, boundary, cstr};
use super::dispatch::{ConnEntry, ListenerEntry, PendingClose, State, View, ViewOf};
use super::event::{Condition, muon_condition};
use super::event_loop::{map_reactor, muon_loop, with_state};
use super::handle::{muon_connection, muon_listener};
use super::handler::{Registered, muon_handler};
use super::options::muon_connection_options;
use super::result::muon_result;
use super::value::muon_value;
use crate::codec::transport::AmqpError;
use crate::codec::{Map, Symbol, Value};
use crate::engine::{Connection, EndpointState, Key};
use crate::reactor::{ConnId, ConnectOptions};

/// Writes `v` to an optional out-parameter.
pub(crate) fn write_out<T>(out: *mut T, v: T) {
    if !out.is_null() {
        // SAFETY: every caller's contract makes a non-NULL `out` writable.
        unsafe { out.write(v) };
    }
}

/// The null handle is a NULL argument.
pub(crate) fn check(owner: *mut muon_loop, generation: u32) -> Result<(), muon_result> {
    if owner.is_null() || generation == 0 {
        Err(muon_result::NullArgument)
    } else {
        Ok(())
    }
}

pub(crate) fn conn_of(st: &State, h: muon_connection) -> Result<(Key, ConnId), muon_result> {
    let k = h.key();
    let c = st.conns.get(k).ok_or(muon_result::StaleHandle)?;
    Ok((k, c.id))
}

/// The engine of a connection, for a command. A connection in its final
/// callback is `MUON_RESULT_CLOSED`.
pub(crate) fn engine(st: &mut State, cid: ConnId) -> Result<&mut Connection, muon_result> {
    st.lp.engine(cid).ok_or(muon_result::Closed)
}

/// Runs `f` on the state with the connection behind `conn`.
pub(crate) fn conn_call<R>(
    conn: muon_connection,
    f: impl FnOnce(&mut State, Key, ConnId) -> Result<R, muon_result>,
) -> Result<R, muon_result> {
    check(conn.owner, conn.generation)?;
    // SAFETY: the callers' contracts make the handle's loop live.
    unsafe {
        with_state(conn.owner, |st| {
            let (k, cid) = conn_of(st, conn)?;
            f(st, k, cid)
        })
    }
}

pub(crate) fn text_view(
    st: &mut State,
    of: ViewOf,
    getter: &'static str,
    s: Option<&str>,
) -> *const c_char {
    match s {
        Some(s) => {
            let c = CString::new(s.replace('\0', "")).unwrap_or_default();
            st.keep_view(of, getter, View::Text(c))
        }
        None => std::ptr::null(),
    }
}

pub(crate) fn condition_view(
    st: &mut State,
    of: ViewOf,
    getter: &'static str,
    e: Option<&AmqpError>,
) -> *const muon_condition {
    match e {
        Some(e) => st.keep_view(
            of,
            getter,
            View::Condition(Box::new(Condition::from_error(e))),
        ),
        None => std::ptr::null(),
    }
}

pub(crate) fn map_view(
    st: &mut State,
    of: ViewOf,
    getter: &'static str,
    m: Option<&Map>,
) -> *const muon_value {
    match m {
        Some(m) => st.keep_view(of, getter, View::Value(Box::new(Value::Map(m.0.clone())))),
        None => std::ptr::null(),
    }
}

/// A map of `fields` (symbol keys) from a `muon_value`.
///
/// # Safety
/// `v` is NULL or a live value.
pub(crate) unsafe fn fields_from(v: *const muon_value) -> Result<Map, muon_result> {
    // SAFETY: the caller promises a live value or NULL.
    match unsafe { borrow(v) }? {
        Value::Map(pairs) if pairs.iter().all(|(k, _)| matches!(k, Value::Symbol(_))) => {
            Ok(Map(pairs
                .iter()
                .map(|(k, v)| (k.clone().into_owned(), v.clone().into_owned()))
                .collect()))
        }
        _ => Err(muon_result::InvalidArgument),
    }
}

/// An AMQP error from a condition name (required, ASCII) and description
/// (may be NULL).
pub(crate) fn error_from(
    name: *const c_char,
    description: *const c_char,
) -> Result<AmqpError, muon_result> {
    // SAFETY: callers' contracts make both NULL or NUL-terminated.
    let n = unsafe { cstr(name) }?;
    if n.is_empty() || !n.is_ascii() {
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

/// An AMQP error from a condition name, description and info map (NULL:
/// none; else a map with symbol keys).
///
/// # Safety
/// Strings are NULL or NUL-terminated; `info` is NULL or a live value.
pub(crate) unsafe fn error_with_info(
    name: *const c_char,
    description: *const c_char,
    info: *const muon_value,
) -> Result<AmqpError, muon_result> {
    let mut e = error_from(name, description)?;
    if !info.is_null() {
        // SAFETY: the caller promises a live value.
        e.info = Some(unsafe { fields_from(info) }?);
    }
    Ok(e)
}

// ---- connect and listen -------------------------------------------------------

/// Connects to `url` (`[amqp://|amqps://][user[:password]@]host[:port][/address]`,
/// parsed as `muon_url_parse` does; the address part is not used here;
/// `amqps://` is TLS, see `muon_connection_options_add_tls_ca_file`;
/// default port 5672, 5671 for `amqps://`): the tutorial's
/// `eventloop.connect(url, handler=...)`. The AMQP connection is opened as
/// soon as the transport (and TLS) is up; its events go to `handler`
/// (copied; may be NULL), else the loop's default handler. A connection that cannot be made is reported
/// later, through `on_disconnected` (then `on_connection_final`, unless the
/// built-in reconnect is on).
///
/// `lp`, `url`, `options` (may be NULL: defaults) and `handler` are
/// borrowed for the call; `userdata` stays the application's (see
/// `userdata_free`); `out` (may be NULL) receives the connection handle,
/// owned by the loop until `on_connection_final` returns. Results:
/// `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`,
/// `MUON_RESULT_INVALID_ARGUMENT` (a bad URL, or TLS settings that cannot
/// be used), `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`; `out` is written only on success. On a failure
/// `muon_last_error()` says why in one line (for a bad URL, which part is
/// wrong, as `muon_url_parse` does; never the password); on success it is
/// cleared. Not thread-safe; may be called from a callback.
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
        let mut why = None;
        let r = (|| {
            // SAFETY: the caller promises a NUL-terminated string or NULL.
            let url = super::url::check(unsafe { cstr(url) }?, &mut why)?;
            let opts = if options.is_null() {
                Default::default()
            } else {
                // SAFETY: the caller promises live options.
                unsafe { borrow(options) }?.clone()
            };
            // SAFETY: the caller promises a valid handler table or NULL.
            let reg = unsafe { Registered::new(handler, userdata) };
            // SAFETY: the caller promises a live loop or NULL.
            unsafe {
                with_state(lp, |st| {
                    let cid = st
                        .lp
                        .connect(
                            &url,
                            ConnectOptions {
                                tls: opts.tls_for_connect(),
                                config: opts.config,
                                reconnect: opts.reconnect,
                                failover: opts.failover,
                                follow_redirect: opts.follow_redirect,
                            },
                        )
                        .map_err(|e| super::url::reactor_error(e, &mut why))?;
                    let k = st.conns.insert(ConnEntry {
                        id: cid,
                        handler: reg,
                        listener_handler: None,
                        handshake: opts.handshake,
                        stash: Default::default(),
                        local_error: None,
                        controller: None,
                    });
                    st.conn_index.insert(cid, k);
                    Ok(muon_connection::new(st.me, k))
                })
            }
        })();
        // SAFETY: as above.
        super::url::report("cannot connect to", unsafe { cstr(url) }.ok(), &r, why);
        write_out(out, r?);
        Ok(())
    })
}

/// Listens on `address` (`[amqp://|amqps://]host:port`, parsed as
/// `muon_url_parse` does, an `/address` part ignored; port 0 picks a
/// free port, read it with `muon_listener_port`): the tutorial's
/// `eventloop.listen(url)`. A certificate in `options`
/// (`muon_connection_options_set_tls_cert_file`) makes it a TLS listener;
/// `amqps://` without one is `MUON_RESULT_INVALID_ARGUMENT`.
/// `on_listener_open` follows. With
/// `muon_connection_options_set_reuse_port`, listeners of several loops
/// may share one address and port. Each accepted connection is reported with
/// `on_connection_accepted`; its events go to its own handler if one is
/// set with `muon_connection_set_handler`, else to `handler` (also after
/// the listener is closed), else the loop's default. With the handshake on (the default), accepted
/// connections answer the peer's open, begin, attach, detach, end and
/// close by themselves.
///
/// `lp`, `address`, `options` (TLS, SASL, limits, capabilities, handshake;
/// may be NULL) and `handler` are borrowed for the call; `userdata` stays the
/// application's (`handler`'s `userdata_free` is called once the listener
/// and the connections using `handler` have ended); `out` (may be NULL) receives the listener, owned by the
/// loop until `on_listener_final` returns. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`,
/// `MUON_RESULT_INVALID_ARGUMENT`, `MUON_RESULT_ADDRESS_IN_USE`,
/// `MUON_RESULT_RESOLVE_FAILED`, `MUON_RESULT_IO_ERROR`,
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. On a failure
/// `muon_last_error()` says why in one line (a bad URL's wrong part, the
/// address in use, the TLS file); on success it is cleared. Not
/// thread-safe; may be called from a callback.
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
        let mut why = None;
        let r = (|| {
            // SAFETY: the caller promises a NUL-terminated string or NULL.
            let address = super::url::check(unsafe { cstr(address) }?, &mut why)?;
            let opts = if options.is_null() {
                Default::default()
            } else {
                // SAFETY: the caller promises live options.
                unsafe { borrow(options) }?.clone()
            };
            let tls = opts.tls_for_listen();
            // SAFETY: the caller promises a valid handler table or NULL.
            let reg = unsafe { Registered::new(handler, userdata) };
            // SAFETY: the caller promises a live loop or NULL.
            unsafe {
                with_state(lp, |st| {
                    let id = st
                        .lp
                        .listen_with(
                            &address,
                            opts.config,
                            &tls,
                            opts.reuse_port
                                .then_some(super::options::bind_reuse_port as crate::reactor::Binder),
                        )
                        .map_err(|e| super::url::reactor_error(e, &mut why))?;
                    let k = st.listeners.insert(ListenerEntry {
                        id,
                        handler: reg.map(Rc::new),
                        handshake: opts.handshake,
                    });
                    st.listener_index.insert(id, k);
                    Ok(muon_listener::new(st.me, k))
                })
            }
        })();
        // SAFETY: as above.
        super::url::report("cannot listen on", unsafe { cstr(address) }.ok(), &r, why);
        write_out(out, r?);
        Ok(())
    })
}

/// The port a listener is bound to: the one it picked for port 0 (0 for a
/// stale or null handle, and after `muon_listener_close`). Not
/// thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
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

/// Stops listening: the tutorial's `acceptor.close()`. `on_listener_final`
/// follows; accepted connections carry on, still with the listener's
/// handler (unless given their own), so its `userdata_free` is called once
/// the listener and every connection it accepted have ended.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE` (also when closed already),
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not thread-safe; may be
/// called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_listener_close(listener: muon_listener) -> muon_result {
    boundary!(result: {
        check(listener.owner, listener.generation)?;
        // SAFETY: the caller promises the handle's loop is live.
        unsafe {
            with_state(listener.owner, |st| {
                let l = st.listeners.get(listener.key()).ok_or(muon_result::StaleHandle)?;
                st.lp.close_listener(l.id).map_err(map_reactor)
            })
        }
    })
}

// ---- connections ------------------------------------------------------------

/// Sets the handler for a connection's events (and for its links' events
/// that the links' own handlers do not implement): for connections
/// accepted by a listener, call it in `on_connection_accepted`. `handler`
/// is copied; NULL removes it. The previous table's `userdata_free` is
/// called soon after (never during this call).
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
pub unsafe extern "C" fn muon_connection_set_handler(
    conn: muon_connection,
    handler: *const muon_handler,
    userdata: *mut c_void,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a valid handler table or NULL.
        let reg = unsafe { Registered::new(handler, userdata) };
        conn_call(conn, |st, k, _| {
            let c = st.conns.get_mut(k).ok_or(muon_result::StaleHandle)?;
            let old = std::mem::replace(&mut c.handler, reg);
            st.deferred_free.extend(old);
            Ok(())
        })
    })
}

/// Answers the peer's open with ours, by hand: for a connection accepted
/// by a listener whose handshake is off, call it in
/// `on_connection_remote_open` (or later). Connections made with
/// `muon_loop_connect` open by themselves; answering an open connection
/// does nothing.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_CLOSED`,
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not thread-safe; may be
/// called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_answer_open(conn: muon_connection) -> muon_result {
    boundary!(result: {
        conn_call(conn, |st, _, cid| {
            let x = engine(st, cid)?;
            if x.local_state() == EndpointState::Uninit {
                x.open();
            }
            Ok(())
        })
    })
}

fn close_connection(conn: muon_connection, error: Option<AmqpError>) -> Result<(), muon_result> {
    conn_call(conn, |st, k, cid| {
        if !st.lp.connection_exists(cid) {
            return Ok(()); // in its final callback: closed already
        }
        if let Some(c) = st.conns.get_mut(k)
            && error.is_some()
        {
            c.local_error = error.clone();
        }
        if st.dispatching {
            st.pending_closes.push(PendingClose::Conn(cid, error));
            return Ok(());
        }
        st.lp.close(cid, error).map_err(map_reactor)
    })
}

/// Begins closing the connection (and stops any reconnect): its links
/// close with it. `on_connection_final` follows once the peer answered, or
/// at once if no transport is up; outcomes the peer sends before its
/// answer are still reported, and if the close does not complete (the
/// peer drops the transport instead), `on_disconnected` says so. Closing twice is not an error. Called
/// from a callback, the close takes effect once the callback's event is
/// handled, so that the event's built-ins still happen first (the message
/// of `on_message` is still accepted).
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`. Not thread-safe; may be called from a callback,
/// including the connection's own.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_close(conn: muon_connection) -> muon_result {
    boundary!(result: { close_connection(conn, None) })
}

/// Begins closing the connection with the error condition `name` (e.g.
/// `amqp:internal-error`) and `description` (may be NULL); see
/// `muon_connection_close`. `muon_connection_local_condition` reports it.
///
/// `name` and `description` are borrowed for the call. Results as
/// `muon_connection_close`, plus `MUON_RESULT_INVALID_UTF8` and
/// `MUON_RESULT_INVALID_ARGUMENT` (an empty or non-ASCII name).
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; strings are NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_close_with(
    conn: muon_connection,
    name: *const c_char,
    description: *const c_char,
) -> muon_result {
    boundary!(result: {
        check(conn.owner, conn.generation)?;
        let e = error_from(name, description)?;
        close_connection(conn, Some(e))
    })
}

/// Begins closing the connection with the error condition `name`,
/// `description` (may be NULL) and `info` (may be NULL: none), a map with
/// symbol keys the peer reads as the condition's info (AMQP `fields`, e.g.
/// `hostname` and `port` for `amqp:connection:redirect`); see
/// `muon_connection_close_with`. `muon_connection_local_condition` reports
/// it, with `muon_condition_info`.
///
/// `name`, `description` and `info` are borrowed for the call (`info` is
/// copied). Results as `muon_connection_close_with`, plus
/// `MUON_RESULT_INVALID_ARGUMENT` when `info` is not a map with symbol
/// keys.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; strings are NULL or
/// NUL-terminated; `info` is NULL or a live value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_close_with_info(
    conn: muon_connection,
    name: *const c_char,
    description: *const c_char,
    info: *const muon_value,
) -> muon_result {
    boundary!(result: {
        check(conn.owner, conn.generation)?;
        // SAFETY: the caller promises NULL or a live value.
        let e = unsafe { error_with_info(name, description, info) }?;
        close_connection(conn, Some(e))
    })
}

/// Ends the connection at once, without the AMQP close handshake: the
/// socket is shut now, no close frame goes out and output not yet written
/// is dropped (for a peer that stopped answering, or to test a peer's
/// handling of a lost connection). The peer sees its transport end
/// without a close: its `on_disconnected` with `amqp:connection:forced`.
/// No reconnect follows, even with the built-in reconnect on (between
/// reconnect attempts, the connection simply ends).
///
/// This side sees, in order: `on_link_final` for each link (queued
/// messages handed back first, see `muon_sender_send`; deliveries sent
/// and not settled have no outcome), then `on_connection_final`; no
/// `on_disconnected` and no `on_connection_remote_close`. Called from a
/// callback, the abort takes effect once the callback's event is handled
/// (as `muon_connection_close`). Aborting a closing connection ends it at
/// once; aborting twice is not an error.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`. Not thread-safe; may be called from a callback,
/// including the connection's own.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_abort(conn: muon_connection) -> muon_result {
    boundary!(result: {
        conn_call(conn, |st, _, cid| {
            if !st.lp.connection_exists(cid) {
                return Ok(()); // in its final callback: over already
            }
            if st.dispatching {
                st.pending_closes.push(PendingClose::Abort(cid));
                return Ok(());
            }
            st.lp.abort(cid).map_err(map_reactor)
        })
    })
}

/// True while the AMQP connection is open both ways (false for a stale or
/// null handle). Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_is_open(conn: muon_connection) -> bool {
    boundary!(false, {
        conn_call(conn, |st, _, cid| {
            Ok(st.lp.connection_exists(cid)
                && st.lp.engine_ref(cid).is_some_and(|x| {
                    x.local_state() == EndpointState::Active
                        && x.remote_state() == EndpointState::Active
                        && !x.is_done()
                }))
        })
        .unwrap_or(false)
    })
}

/// True while the connection has a connected transport (false while
/// connecting, between reconnect attempts, after the end, and for a stale
/// or null handle). Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_is_connected(conn: muon_connection) -> bool {
    boundary!(false, {
        conn_call(conn, |st, _, cid| Ok(st.lp.is_connected(cid))).unwrap_or(false)
    })
}

/// The peer's container id (from its open): NUL-terminated, valid until
/// the connection's final event (see "Pointers returned by getters" at the
/// top of this header). NULL before the peer's open, and for a stale or
/// null handle. Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_remote_container_id(
    conn: muon_connection,
) -> *const c_char {
    boundary!(std::ptr::null(), {
        conn_call(conn, |st, k, cid| {
            let s = st
                .lp
                .engine_ref(cid)
                .and_then(|x| x.remote_open())
                .map(|o| o.container_id.clone());
            Ok(text_view(
                st,
                ViewOf::Conn(k),
                "remote_container_id",
                s.as_deref(),
            ))
        })
        .unwrap_or(std::ptr::null())
    })
}

/// The hostname the peer asked for in its open (the virtual host; useful
/// on accepted connections): valid until the connection's final event
/// (see "Pointers returned by getters" at the top of this header). NULL if
/// it sent none, and for a stale or null handle. Not thread-safe; may be
/// called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_remote_hostname(conn: muon_connection) -> *const c_char {
    boundary!(std::ptr::null(), {
        conn_call(conn, |st, k, cid| {
            let s = st
                .lp
                .engine_ref(cid)
                .and_then(|x| x.remote_open())
                .and_then(|o| o.hostname.clone());
            Ok(text_view(
                st,
                ViewOf::Conn(k),
                "remote_hostname",
                s.as_deref(),
            ))
        })
        .unwrap_or(std::ptr::null())
    })
}

/// True if the capability list `pick` takes from the peer's open holds
/// `capability`; false for a NULL or non-UTF-8 capability and for a stale
/// or null handle.
///
/// # Safety
/// The handle is the null handle or its loop is live; `capability` is
/// NULL or NUL-terminated.
unsafe fn remote_capability(
    conn: muon_connection,
    capability: *const c_char,
    pick: fn(&crate::codec::transport::Open) -> Option<&crate::codec::Symbols>,
) -> bool {
    // SAFETY: the caller promises NULL or a NUL-terminated string.
    let Ok(cap) = (unsafe { cstr(capability) }) else {
        return false;
    };
    conn_call(conn, |st, _, cid| {
        Ok(st
            .lp
            .engine_ref(cid)
            .and_then(|x| x.remote_open())
            .and_then(pick)
            .is_some_and(|c| c.contains(cap)))
    })
    .unwrap_or(false)
}

/// True if the peer's open offers the capability `capability` (e.g.
/// `ANONYMOUS-RELAY`). False before the peer's open, for a stale or null
/// handle and for a NULL or non-UTF-8 `capability` (borrowed for the
/// call). Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `capability` is
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_remote_offers_capability(
    conn: muon_connection,
    capability: *const c_char,
) -> bool {
    boundary!(false, {
        // SAFETY: forwarded from this function's contract.
        unsafe { remote_capability(conn, capability, |o| o.offered_capabilities.as_ref()) }
    })
}

/// True if the peer's open desires the capability `capability`. As
/// `muon_connection_remote_offers_capability` otherwise.
///
/// `capability` is borrowed for the call. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `capability` is
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_remote_desires_capability(
    conn: muon_connection,
    capability: *const c_char,
) -> bool {
    boundary!(false, {
        // SAFETY: forwarded from this function's contract.
        unsafe { remote_capability(conn, capability, |o| o.desired_capabilities.as_ref()) }
    })
}

/// The properties of the peer's open, as a map with symbol keys: valid
/// until the connection's final event (see "Pointers returned by getters"
/// at the top of this header; `muon_value_clone` to keep it longer). NULL
/// if it sent none, before its open, and for a stale or null handle. Not
/// thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_remote_properties(
    conn: muon_connection,
) -> *const muon_value {
    boundary!(std::ptr::null(), {
        conn_call(conn, |st, k, cid| {
            let m = st
                .lp
                .engine_ref(cid)
                .and_then(|x| x.remote_open())
                .and_then(|o| o.properties.clone());
            Ok(map_view(
                st,
                ViewOf::Conn(k),
                "remote_properties",
                m.as_ref(),
            ))
        })
        .unwrap_or(std::ptr::null())
    })
}

/// The error condition the peer closed the connection with: valid until
/// the connection's final event (see "Pointers returned by getters" at the
/// top of this header). NULL if none (not closed, or closed cleanly), and
/// for a stale or null handle. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_remote_condition(
    conn: muon_connection,
) -> *const muon_condition {
    boundary!(std::ptr::null(), {
        conn_call(conn, |st, k, cid| {
            let e = st
                .lp
                .engine_ref(cid)
                .and_then(|x| x.remote_condition())
                .cloned();
            Ok(condition_view(
                st,
                ViewOf::Conn(k),
                "remote_condition",
                e.as_ref(),
            ))
        })
        .unwrap_or(std::ptr::null())
    })
}

/// The error condition this side closed the connection with
/// (`muon_connection_close_with`, or a protocol error muon found): valid
/// until the connection's final event (see "Pointers returned by getters"
/// at the top of this header). NULL if none, and for a stale or null
/// handle. Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_local_condition(
    conn: muon_connection,
) -> *const muon_condition {
    boundary!(std::ptr::null(), {
        conn_call(conn, |st, k, cid| {
            let e = st
                .conns
                .get(k)
                .and_then(|c| c.local_error.clone())
                .or_else(|| {
                    st.lp
                        .engine_ref(cid)
                        .and_then(|x| x.local_condition())
                        .cloned()
                });
            Ok(condition_view(
                st,
                ViewOf::Conn(k),
                "local_condition",
                e.as_ref(),
            ))
        })
        .unwrap_or(std::ptr::null())
    })
}

/// The SASL user name: the one this side logged in with (connections made
/// with `muon_loop_connect`) or the one the peer logged in as (accepted
/// connections). Valid until the connection's final event (see "Pointers
/// returned by getters" at the top of this header); NULL if none
/// (ANONYMOUS, no SASL), and for a stale or null handle. Not thread-safe;
/// may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_user(conn: muon_connection) -> *const c_char {
    boundary!(std::ptr::null(), {
        conn_call(conn, |st, k, cid| {
            let s = st
                .lp
                .engine_ref(cid)
                .and_then(|x| x.sasl_user())
                .map(str::to_owned);
            Ok(text_view(st, ViewOf::Conn(k), "user", s.as_deref()))
        })
        .unwrap_or(std::ptr::null())
    })
}
