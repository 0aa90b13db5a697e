//! `muon_driver`: a connection over a transport the application owns (a
//! Unix socket, a pipe, its own TLS stack, a test harness). The
//! application moves the bytes; muon does the rest as for a socket
//! connection.
//!
//! A driver is a connection of a loop (`reactor::Loop::attach_external`):
//! the same engine, events, handlers, built-ins, close and loss as a
//! connection made by `muon_loop_connect`, only without a socket. A
//! driver made without a loop owns a private one and runs it itself,
//! inside its own calls.
//!
//! Invariants:
//! - the box holds only what never changes after `muon_driver_new` (the
//!   loop pointer, whether it owns it, the connection handle): every use
//!   of the connection goes through `with_state`, which checks the thread;
//! - a pointer `muon_driver_write_buffer` returns points into the engine's
//!   output and is valid until the next call into the loop.

use std::ffi::{c_char, c_void};

use super::boundary::{
    Opaque, borrow, boundary, bytes as byte_slice, check_out, cstr, into_raw, write,
};
use super::dispatch::ConnEntry;
use super::endpoint::conn_of;
use super::event_loop::{
    map_reactor, muon_loop, muon_loop_free, muon_loop_new, muon_loop_run_once, muon_loop_try_free,
    timeout_ms, with_state,
};
use super::handle::muon_connection;
use super::handler::{Registered, muon_handler};
use super::options::muon_connection_options;
use super::result::muon_result;
use crate::reactor::ConnId;

/// A connection over a transport the application owns: it reads bytes
/// from its transport and hands them to `muon_driver_read`, writes what
/// `muon_driver_write_buffer` returns and says how much with
/// `muon_driver_written`, reports the end of its transport with
/// `muon_driver_read_closed` or `muon_driver_transport_error`, and gets
/// the same events and callbacks as with a connection muon makes itself.
/// Made with `muon_driver_new`, freed with `muon_driver_free` (before
/// the loop it was made on, if it was given one: a driver is live from
/// `muon_driver_new` until then); used from the thread of its loop.
///
/// Functions: `muon_driver_new`, `muon_driver_connection`,
/// `muon_driver_loop`, `muon_driver_read`, `muon_driver_read_closed`,
/// `muon_driver_write_buffer`, `muon_driver_written`,
/// `muon_driver_transport_error`, `muon_driver_timeout`,
/// `muon_driver_process`, `muon_driver_free`.
pub struct muon_driver {
    _private: [u8; 0],
}

pub(crate) struct DriverBox {
    lp: *mut muon_loop,
    /// The loop is the driver's own: freed with it, run by its calls.
    owns_loop: bool,
    conn: muon_connection,
}

impl Opaque for muon_driver {
    type Inner = DriverBox;
}

/// The driver's connection in the reactor; `Closed` once it ended.
///
/// # Safety
/// `d`'s loop is live.
unsafe fn with_conn<R>(
    d: &DriverBox,
    f: impl FnOnce(&mut super::dispatch::State, ConnId) -> Result<R, muon_result>,
) -> Result<R, muon_result> {
    // SAFETY: the caller's promise.
    unsafe {
        with_state(d.lp, |st| {
            let (_, cid) = conn_of(st, d.conn).map_err(|_| muon_result::Closed)?;
            // The reactor calls a connection that was aborted, or has had
            // its final event, stale; to the driver's caller it is closed.
            f(st, cid).map_err(|e| match e {
                muon_result::StaleHandle => muon_result::Closed,
                e => e,
            })
        })
    }
}

/// A driver that owns its loop runs it after each call: what the call
/// caused is dispatched before it returns. (Called from one of that
/// loop's callbacks, the run refuses and the dispatch under way picks it
/// up.)
///
/// # Safety
/// `d`'s loop is live.
unsafe fn pump(d: &DriverBox) -> Result<(), muon_result> {
    if !d.owns_loop {
        return Ok(());
    }
    // SAFETY: the caller's promise.
    match unsafe { muon_loop_run_once(d.lp, 0) } {
        muon_result::Ok | muon_result::Reentrant => Ok(()),
        e => Err(e),
    }
}

/// Makes a connection over a transport the application owns: the AMQP
/// connection a socket from `muon_loop_connect` (`server` false: this
/// side opens, and its protocol header is the first output) or one
/// accepted by `muon_loop_listen` (`server` true: it waits for the
/// peer's header) would have, with `options`' container id, SASL, limits,
/// time-outs and handshake setting (URL, reconnect, failover and TLS
/// options do not apply: the transport is the application's, and is not
/// counted as encrypted, so SASL PLAIN needs
/// `muon_connection_options_set_allow_insecure_plain`). Its events go to
/// `handler` (else the loop's default handler), as a connection's.
///
/// With a loop `lp`, the driver's callbacks run inside that loop's
/// `muon_loop_run`/`muon_loop_run_once`, beside its other connections;
/// bytes fed to the driver make the loop's descriptor (`muon_loop_fd`)
/// readable. With `lp` NULL, the driver makes a loop of its own
/// (`muon_driver_loop`), and its callbacks run inside the driver calls
/// that cause them: `muon_driver_read`, `muon_driver_read_closed`,
/// `muon_driver_written`, `muon_driver_transport_error`,
/// `muon_driver_process`. Those calls first take what they are given and
/// then run the loop once: `MUON_RESULT_IO_ERROR` (the loop's wait failed)
/// or `MUON_RESULT_PANIC` from that run means what was given was taken
/// all the same; do not hand it again.
///
/// `lp` (may be NULL), `options` (may be NULL: defaults) and `handler`
/// (may be NULL) are borrowed for the call; `userdata` stays the
/// application's; `out` is borrowed and receives the driver on success:
/// ownership moves out, free with `muon_driver_free`. Results:
/// `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT` (`out` is NULL),
/// `MUON_RESULT_IO_ERROR` (no loop could be made), `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`. Not thread-safe; may be called from a callback.
///
/// # Safety
/// `lp` is NULL or a live loop; `options` is NULL or live options;
/// `handler` is NULL or a valid table; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_driver_new(
    lp: *mut muon_loop,
    server: bool,
    options: *const muon_connection_options,
    handler: *const muon_handler,
    userdata: *mut c_void,
    out: *mut *mut muon_driver,
) -> muon_result {
    boundary!(result: {
        check_out(out)?;
        let opts = if options.is_null() {
            Default::default()
        } else {
            // SAFETY: the caller promises live options.
            unsafe { borrow(options) }?.clone()
        };
        let (lp, owns_loop) = if lp.is_null() {
            let mut own = std::ptr::null_mut();
            // SAFETY: `own` is a writable pointer.
            match unsafe { muon_loop_new(&mut own) } {
                muon_result::Ok => (own, true),
                e => return Err(e),
            }
        } else {
            (lp, false)
        };
        // SAFETY: the caller promises a valid handler table or NULL.
        let reg = unsafe { Registered::new(handler, userdata) };
        // SAFETY: `lp` is live: the caller's or just made.
        let made = unsafe {
            with_state(lp, |st| {
                let cid = st.lp.attach_external(server, opts.config);
                let k = st.conns.insert(ConnEntry {
                    id: cid,
                    handler: reg,
                    listener_handler: None,
                    controller: None,
                    handshake: opts.handshake,
                    stash: Default::default(),
                    local_error: None,
                });
                st.conn_index.insert(cid, k);
                Ok(muon_connection::new(st.me, k))
            })
        };
        let conn = match made {
            Ok(c) => c,
            Err(e) => {
                if owns_loop {
                    // SAFETY: made above, used by nothing else.
                    unsafe { muon_loop_free(lp) };
                }
                return Err(e);
            }
        };
        let d = into_raw::<muon_driver>(Box::new(DriverBox { lp, owns_loop, conn }));
        // SAFETY: checked non-NULL above; the caller promises it is
        // writable.
        unsafe { write(out, d) }
    })
}

/// The driver's connection: open links on it, close it, read its
/// properties, as any connection's. The null handle for NULL; the handle
/// is stale once `on_connection_final` for it has returned.
///
/// `d` is borrowed for the call. Thread-safe (it only reads what never
/// changes); may be called from a callback.
///
/// # Safety
/// `d` is NULL or a live driver.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_driver_connection(d: *const muon_driver) -> muon_connection {
    boundary!(muon_connection::NULL, {
        // SAFETY: the caller promises a live driver or NULL.
        unsafe { borrow(d) }.map_or(muon_connection::NULL, |d| d.conn)
    })
}

/// The loop the driver's connection belongs to: the one given to
/// `muon_driver_new`, or the driver's own (made when that was NULL, and
/// freed by `muon_driver_free`: do not free it, nor run it while it runs
/// a callback). NULL for NULL. Use it for timers, the log and the trace.
///
/// `d` is borrowed for the call; the loop stays the application's (given)
/// or the driver's (own). Thread-safe; may be called from a callback.
///
/// # Safety
/// `d` is NULL or a live driver.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_driver_loop(d: *const muon_driver) -> *mut muon_loop {
    boundary!(std::ptr::null_mut(), {
        // SAFETY: the caller promises a live driver or NULL.
        unsafe { borrow(d) }.map_or(std::ptr::null_mut(), |d| d.lp)
    })
}

/// Hands the driver `len` bytes the application read from its transport
/// (any split: partial frames wait for the rest). They are taken at once
/// and in full; the answers they cause wait in `muon_driver_write_buffer`
/// (take them: a peer whose answers are not taken is dropped after the
/// connection's stalled-output time-out).
///
/// `d` and `bytes` are borrowed for the call (`bytes` may be NULL when
/// `len` is 0). Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_CLOSED` (the connection reads no more: it was closed,
/// failed or ended; the bytes are dropped), `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`. Not thread-safe; may be called from a callback.
///
/// # Safety
/// `d` is NULL or a live driver; `bytes` is NULL or `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_driver_read(
    d: *mut muon_driver,
    bytes: *const u8,
    len: usize,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live driver or NULL.
        let d = unsafe { borrow(d) }?;
        // SAFETY: the caller promises `len` readable bytes.
        let input = unsafe { byte_slice(bytes, len) }?;
        // SAFETY: the driver's loop is live while the driver is.
        unsafe { with_conn(d, |st, cid| st.lp.feed(cid, input).map_err(map_reactor)) }?;
        // SAFETY: as above.
        unsafe { pump(d) }
    })
}

/// The application's transport reached end of stream (its read returned
/// 0). After the peer's AMQP close this is the normal end; before it, the
/// connection is lost: `on_disconnected` with `amqp:connection:forced`,
/// then the final events.
///
/// `d` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_CLOSED` (ended already),
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not thread-safe; may be
/// called from a callback.
///
/// # Safety
/// `d` is NULL or a live driver.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_driver_read_closed(d: *mut muon_driver) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live driver or NULL.
        let d = unsafe { borrow(d) }?;
        // SAFETY: the driver's loop is live while the driver is.
        unsafe { with_conn(d, |st, cid| st.lp.feed_closed(cid).map_err(map_reactor)) }?;
        // SAFETY: as above.
        unsafe { pump(d) }
    })
}

/// The bytes to write to the transport now: `*bytes` and `*len` receive
/// them (`*len` 0: nothing now). Write what the transport takes, then
/// call `muon_driver_written` with that count; the pointer is valid until
/// the next call into the driver's loop (any muon call on it), so ask
/// again after each; a transport that writes later (libuv's `uv_write`)
/// copies them first. More output comes after reads, sends, time-outs:
/// ask again then.
///
/// `d` is borrowed for the call; `bytes` and `len` are borrowed and
/// written on `MUON_RESULT_OK` only; the bytes stay the driver's.
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_CLOSED` (nothing more will ever be written: the
/// connection ended and its last bytes were taken; close the transport),
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not thread-safe; may
/// be called from a callback.
///
/// # Safety
/// `d` is NULL or a live driver; `bytes` and `len` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_driver_write_buffer(
    d: *mut muon_driver,
    bytes: *mut *const u8,
    len: *mut usize,
) -> muon_result {
    boundary!(result: {
        check_out(bytes)?;
        check_out(len)?;
        // SAFETY: the caller promises a live driver or NULL.
        let d = unsafe { borrow(d) }?;
        // SAFETY: the driver's loop is live while the driver is.
        let (p, n) = unsafe {
            with_conn(d, |st, cid| {
                let out = st.lp.pending_output(cid).ok_or(muon_result::Closed)?;
                Ok((out.as_ptr(), out.len()))
            })
        }?;
        // SAFETY: both checked non-NULL; the caller promises them writable.
        unsafe {
            write(bytes, p)?;
            write(len, n)
        }
    })
}

/// The application wrote the first `n` bytes of what
/// `muon_driver_write_buffer` returned to its transport: they are
/// dropped from the driver's output (and shown by the frame trace).
///
/// `d` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_ARGUMENT` (more than
/// is pending: nothing is dropped), `MUON_RESULT_CLOSED`,
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not thread-safe; may be
/// called from a callback.
///
/// # Safety
/// `d` is NULL or a live driver.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_driver_written(d: *mut muon_driver, n: usize) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live driver or NULL.
        let d = unsafe { borrow(d) }?;
        // SAFETY: the driver's loop is live while the driver is.
        unsafe { with_conn(d, |st, cid| st.lp.output_taken(cid, n).map_err(map_reactor)) }?;
        // SAFETY: as above.
        unsafe { pump(d) }
    })
}

/// The application's transport failed (a read or write error, its TLS
/// stack gave up): output not yet taken is dropped and the connection is
/// lost, `on_disconnected` with `amqp:connection:forced` and
/// `description` (`"transport failed: DESCRIPTION"`), then the final events.
///
/// `d` and `description` are borrowed for the call. Results:
/// `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_CLOSED` (ended already),
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not thread-safe; may be
/// called from a callback.
///
/// # Safety
/// `d` is NULL or a live driver; `description` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_driver_transport_error(
    d: *mut muon_driver,
    description: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live driver or NULL.
        let d = unsafe { borrow(d) }?;
        // SAFETY: the caller promises a NUL-terminated string or NULL.
        let text = unsafe { cstr(description) }?;
        // SAFETY: the driver's loop is live while the driver is.
        unsafe {
            with_conn(d, |st, cid| st.lp.external_failed(cid, text).map_err(map_reactor))
        }?;
        // SAFETY: as above.
        unsafe { pump(d) }
    })
}

/// When `muon_driver_process` must be called next, in milliseconds from
/// now, rounded up (0: now; -1: not before more bytes come or go). For a
/// driver with its own loop it covers that loop's timers too; for a
/// driver on a given loop it is the connection's own deadline (handshake,
/// idle time-out, heartbeat, close), which that loop also keeps (its
/// `muon_loop_timeout` and `muon_loop_fd` include it).
///
/// `d` is borrowed for the call; `ms` is borrowed and written on success.
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_CLOSED` (the connection ended), `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`. Not thread-safe; may be called from a callback.
///
/// # Safety
/// `d` is NULL or a live driver; `ms` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_driver_timeout(d: *mut muon_driver, ms: *mut i64) -> muon_result {
    boundary!(result: {
        check_out(ms)?;
        // SAFETY: the caller promises a live driver or NULL.
        let d = unsafe { borrow(d) }?;
        let own = d.owns_loop;
        // SAFETY: the driver's loop is live while the driver is.
        let t = unsafe {
            with_conn(d, |st, cid| {
                Ok(if own {
                    st.lp.next_deadline()
                } else {
                    st.lp.conn_deadline(cid)
                })
            })
        }?;
        // SAFETY: checked non-NULL; the caller promises it is writable.
        unsafe { write(ms, timeout_ms(t)) }
    })
}

/// Does what is due: time-outs and heartbeats of the connection (and, for
/// a driver with its own loop, that loop's timers and posted functions),
/// and dispatches the events that are ready. Call it when the time of
/// `muon_driver_timeout` has come. For a driver on a given loop it is
/// `muon_loop_run_once(loop, 0)`.
///
/// `d` is borrowed for the call. Results: those of `muon_loop_run_once`
/// (`MUON_RESULT_REENTRANT` from one of the loop's callbacks: nothing is
/// run). Not thread-safe; not callable from a callback of the driver's
/// loop.
///
/// # Safety
/// `d` is NULL or a live driver.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_driver_process(d: *mut muon_driver) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live driver or NULL.
        let d = unsafe { borrow(d) }?;
        // SAFETY: the driver's loop is live while the driver is.
        match unsafe { muon_loop_run_once(d.lp, 0) } {
            muon_result::Ok => Ok(()),
            e => Err(e),
        }
    })
}

/// Frees the driver. A connection not yet ended is aborted (no close
/// frame; `on_connection_final` follows in the given loop's next run);
/// a driver's own loop is freed with it, after the final events are
/// dispatched, and the handler's `userdata_free` is called. NULL is
/// ignored. Nothing happens when called from inside a callback of the
/// driver's own loop, or from another thread: free it after the call that
/// ran the callback returned.
///
/// `d`: ownership moves in (unless nothing happens). Not thread-safe.
///
/// # Safety
/// `d` is NULL or a live driver, not used again after this call; the loop
/// it was made on (if given) is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_driver_free(d: *mut muon_driver) {
    boundary!((), {
        // SAFETY: the caller promises a live driver or NULL.
        let Ok(dr) = (unsafe { borrow(d) }) else {
            return;
        };
        // Refused (nothing happens) on another thread or, for an own
        // loop, inside its callbacks.
        // SAFETY: the driver's loop is live while the driver is.
        let allowed = unsafe { with_state(dr.lp, |st| Ok(!(dr.owns_loop && st.dispatching))) };
        if allowed != Ok(true) && allowed != Err(muon_result::Panic) {
            return;
        }
        // SAFETY: as above. A connection that ended already is fine.
        let _ = unsafe {
            with_conn(dr, |st, cid| {
                if st.lp.connection_exists(cid) {
                    st.lp.abort(cid).map_err(map_reactor)?;
                }
                Ok(())
            })
        };
        if dr.owns_loop {
            // SAFETY: the driver's own loop, not dispatching (checked).
            unsafe {
                let _ = muon_loop_run_once(dr.lp, 0);
                if muon_loop_try_free(dr.lp) != muon_result::Ok {
                    return;
                }
            }
        }
        // SAFETY: made by `muon_driver_new` with `into_raw`; the caller
        // hands it back.
        drop(unsafe { Box::from_raw(d.cast::<DriverBox>()) });
    })
}
