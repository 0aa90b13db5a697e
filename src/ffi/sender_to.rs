//! `muon_connection_sender_to`: a sender to an address on a connection,
//! reusing the one an earlier call opened while it is still open (the
//! tutorial's server keeps its reply senders in a dictionary by reply-to
//! address; this is that dictionary, kept by the loop); and
//! `muon_connection_send_reply`, which answers a request on it.

use std::ffi::{CString, c_char};

use super::boundary::{borrow, borrow_mut, boundary, check_out, cstr, write};
use super::dispatch::State;
use super::endpoint::conn_call;
use super::handle::{muon_connection, muon_delivery, muon_sender};
use super::link::{muon_connection_open_sender, muon_sender_send};
use super::message::{MessageBox, TextField, muon_message, tidy};
use super::result::muon_result;
use crate::engine::{EndpointState, Key};
use crate::reactor::ConnId;

/// Whether sender `lk` of connection `cid` can still send: the application
/// has not closed it, the peer has not closed it, the transport it was
/// attached on is still its own (a reconnect replaces links).
fn usable(st: &State, lk: Key, cid: ConnId) -> bool {
    let Some(e) = st.links.get(lk) else {
        return false;
    };
    if e.closed_by_app || e.cid != cid {
        return false;
    }
    st.lp.engine_ref(cid).is_some_and(|x| {
        x.link_local_state(e.link) == EndpointState::Active
            && x.link_remote_state(e.link) != EndpointState::Closed
    })
}

/// A sender to `address` on `conn`: the one an earlier call of this
/// function opened for the same address on the same connection, while it
/// is still open (neither side closed it, its transport was not lost);
/// else a new one, opened as `muon_connection_open_sender(conn, address,
/// NULL, NULL, NULL, out)` would (default options, no handler of its own:
/// its events go to the connection's handler, else the loop's) and
/// remembered for later calls. Senders queue messages until credit comes
/// (see `muon_sender_send`), so a message can be sent on the result at
/// once. This is the cache of reply senders by reply-to address in the
/// server of Qpid Proton's Python tutorial: `muon_sender_send` on
/// `muon_connection_sender_to(conn, muon_message_reply_to(request), ...)`.
///
/// Only senders made by this function are reused (one opened with
/// `muon_connection_open_sender` never is), and each is forgotten once it
/// is closed, by either side, or has its final event; after the built-in
/// reconnect, the first call for an address opens a new sender (the
/// reconnect re-attaches the old one too, with its own handle: close it
/// in `on_link_remote_open` if it is not wanted).
///
/// `address` (NUL-terminated UTF-8) is borrowed for the call; `out`
/// receives the sender, owned by the loop until `on_link_final` returns.
/// Results: as `muon_connection_open_sender` (`MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_CLOSED`,
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`); `out` is written only
/// on success. Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `address` is NULL or
/// NUL-terminated; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_sender_to(
    conn: muon_connection,
    address: *const c_char,
    out: *mut muon_sender,
) -> muon_result {
    boundary!(result: {
        check_out(out)?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let name = unsafe { cstr(address) }?.to_owned();
        let found = conn_call(conn, |st, ck, cid| {
            Ok(st
                .senders_to
                .get(&(ck, name.clone()))
                .copied()
                .filter(|lk| usable(st, *lk, cid)))
        })?;
        let lk = match found {
            Some(lk) => lk,
            None => {
                let mut s = muon_sender::NULL;
                // SAFETY: the handle and `address` are as this function's
                // contract says; `s` is a local the call may write.
                let rc = unsafe {
                    muon_connection_open_sender(
                        conn,
                        address,
                        std::ptr::null(),
                        std::ptr::null(),
                        std::ptr::null_mut(),
                        &mut s,
                    )
                };
                if rc != muon_result::Ok {
                    return Err(rc);
                }
                conn_call(conn, |st, ck, _| {
                    // Forget senders that are gone, so that the table
                    // holds no more than the links there are.
                    let links = &st.links;
                    st.senders_to.retain(|_, lk| links.get(*lk).is_some());
                    st.senders_to.insert((ck, name), s.key());
                    Ok(())
                })?;
                s.key()
            }
        };
        // SAFETY: checked non-NULL above; the caller promises it is writable.
        unsafe { write(out, muon_sender::new(conn.owner, lk)) }
    })
}

/// Sends `reply` as the answer to `request` (a message received on `conn`,
/// say): to the request's reply-to address, on the sender
/// `muon_connection_sender_to(conn, reply_to, ...)` gives, with the reply's
/// `to` set to that address and its correlation-id set to the request's
/// correlation-id, or to its message-id when it has none (what Qpid
/// Proton's servers do; when the request has neither, the reply's own
/// correlation-id is left as it is). The request/response pattern of Qpid
/// Proton's Python tutorial in one call: the sender queues the reply until
/// it has credit (see `muon_sender_send`), and its outcome events go to the
/// connection's handler, else the loop's.
///
/// `request` is borrowed for the call; `reply` is borrowed too, and keeps
/// the `to` and correlation-id set here (views of them are invalidated);
/// it may be freed or reused as soon as the call returns. `out` (may be
/// NULL) receives the delivery, as `muon_sender_send`'s does. Results:
/// `MUON_RESULT_OK`; `MUON_RESULT_NOT_FOUND` (the request has no reply-to:
/// nothing is sent and `reply` is unchanged, e.g. reject the request);
/// `MUON_RESULT_INVALID_ARGUMENT` (`reply` and `request` are the same
/// message, or the reply-to holds a NUL byte); the results of
/// `muon_connection_sender_to` and `muon_sender_send`;
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe; may be
/// called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `request` and `reply`
/// are NULL or live messages; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_send_reply(
    conn: muon_connection,
    request: *const muon_message,
    reply: *mut muon_message,
    out: *mut muon_delivery,
) -> muon_result {
    boundary!(result: {
        if std::ptr::eq(request, reply) && !reply.is_null() {
            return Err(muon_result::InvalidArgument);
        }
        // SAFETY: the caller promises a live message or NULL.
        let req: &MessageBox = unsafe { borrow(request) }?;
        if reply.is_null() {
            return Err(muon_result::NullArgument);
        }
        // The handle first: a null, stale or foreign one is reported as such.
        conn_call(conn, |_, _, _| Ok(()))?;
        let p = req.msg().properties.as_ref();
        let to = p.and_then(|p| p.reply_to.clone()).ok_or(muon_result::NotFound)?;
        let correlation = p.and_then(|p| p.correlation_id.clone().or_else(|| p.message_id.clone()));
        let address = CString::new(to.clone()).map_err(|_| muon_result::InvalidArgument)?;
        let mut s = muon_sender::NULL;
        // SAFETY: the handle is as this function's contract says; `address`
        // is a NUL-terminated string and `s` a local, both live for the call.
        let rc = unsafe { muon_connection_sender_to(conn, address.as_ptr(), &mut s) };
        if rc != muon_result::Ok {
            return Err(rc);
        }
        // SAFETY: a live message distinct from `request` (checked above),
        // which the caller does not use during the call.
        let r: &mut MessageBox = unsafe { borrow_mut(reply) }?;
        r.set_text(TextField::To, Some(to));
        if correlation.is_some() {
            r.msg_mut().properties_mut().correlation_id = correlation;
        }
        tidy(r.msg_mut());
        // SAFETY: `s` is a live sender of the caller's loop; `reply` is live
        // and `out` is NULL or writable, per the contract.
        match unsafe { muon_sender_send(s, reply, out) } {
            muon_result::Ok => Ok(()),
            e => Err(e),
        }
    })
}
