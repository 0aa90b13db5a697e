//! Deliveries: outcomes and settlement, by hand (when the auto-accept and
//! auto-settle built-ins are off, or to decide before they act).

use std::ffi::c_char;

use super::boundary::boundary;
use super::dispatch::State;
use super::endpoint::{check, engine, error_from};
use super::event_loop::{map_engine, with_state};
use super::handle::muon_delivery;
use super::result::muon_result;
use crate::codec::messaging::{DeliveryState, Modified, Rejected};
use crate::codec::transactions::Declared;
use crate::engine::DeliveryId;
use crate::reactor::ConnId;

/// The state of a delivery as the peer reported it. The numbers are
/// stable.
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

/// Runs `f` with the delivery behind `d`; a delivery settled here, or whose
/// link is gone, is stale; one still in its sender's queue (not sent yet)
/// is `MUON_RESULT_WRONG_STATE`.
fn delivery_call<R>(
    d: muon_delivery,
    f: impl FnOnce(&mut State, ConnId, DeliveryId) -> Result<R, muon_result>,
) -> Result<R, muon_result> {
    check(d.owner, d.generation)?;
    // SAFETY: the callers' contracts make the handle's loop live.
    unsafe {
        with_state(d.owner, |st| {
            let e = st.deliveries.get(d.key()).ok_or(muon_result::StaleHandle)?;
            if e.queued {
                return Err(muon_result::WrongState);
            }
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
        st.settled_here(d.key());
        Ok(())
    })
}

/// Checks that `d` names a live delivery.
pub(crate) fn delivery_exists(d: muon_delivery) -> Result<(), muon_result> {
    delivery_call(d, |_, _, _| Ok(()))
}

/// Settles delivery `d` with `state`, a transactional one: the delivery
/// must be on connection `cid`, the transaction's.
pub(crate) fn settle_in(
    d: muon_delivery,
    cid: ConnId,
    state: DeliveryState,
) -> Result<(), muon_result> {
    delivery_call(d, |st, dcid, did| {
        if dcid != cid {
            return Err(muon_result::InvalidArgument);
        }
        engine(st, dcid)?
            .disposition(did, Some(state), true)
            .map_err(map_engine)?;
        st.settled_here(d.key());
        Ok(())
    })
}

/// Settles declare request `d` (on a coordinator's link) as declared
/// with `id`.
pub(crate) fn settle_declared(d: muon_delivery, id: Vec<u8>) -> Result<(), muon_result> {
    delivery_call(d, |st, cid, did| {
        // A declare request: marked so when it arrived on a coordinator's
        // link (a discharge, or any other delivery, is refused).
        if !st.deliveries.get(d.key()).is_some_and(|e| e.declare) {
            return Err(muon_result::InvalidArgument);
        }
        let state = DeliveryState::Declared(Declared {
            txn_id: crate::codec::Binary(id),
        });
        engine(st, cid)?
            .disposition(did, Some(state), true)
            .map_err(map_engine)?;
        st.settled_here(d.key());
        Ok(())
    })
}

/// The id of the transaction the peer's state for delivery `d` names.
pub(crate) fn remote_txn_id(d: muon_delivery) -> Option<Vec<u8>> {
    delivery_call(d, |st, cid, did| {
        Ok(
            match st
                .lp
                .engine_ref(cid)
                .and_then(|x| x.delivery_remote_state(did))
            {
                Some(DeliveryState::TransactionalState(t)) => Some(t.txn_id.0.clone()),
                _ => None,
            },
        )
    })
    .ok()
    .flatten()
}

/// Accepts and settles an incoming delivery (its handle is stale after):
/// by hand, when auto-accept is off, or in `on_message` before it acts.
/// On a receiver in rcv-settle-mode second
/// (`muon_link_options_set_rcv_settle_second`) the outcome goes out now
/// and the delivery is settled once its sender settled it: its handle
/// stays valid until that `on_settled`.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE` (settled already, or its link is gone),
/// `MUON_RESULT_CLOSED`, `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`.
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_delivery_accept(delivery: muon_delivery) -> muon_result {
    boundary!(result: { settle_with(delivery, Some(DeliveryState::Accepted)) })
}

/// Rejects and settles an incoming delivery, with an optional error
/// condition (`name` NULL: none; `name` and `description` are borrowed for
/// the call). Results as `muon_delivery_accept`, plus
/// `MUON_RESULT_INVALID_UTF8` and `MUON_RESULT_INVALID_ARGUMENT`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; strings are NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_delivery_reject(
    delivery: muon_delivery,
    name: *const c_char,
    description: *const c_char,
) -> muon_result {
    boundary!(result: {
        check(delivery.owner, delivery.generation)?;
        let error = if name.is_null() {
            None
        } else {
            Some(error_from(name, description)?)
        };
        settle_with(delivery, Some(DeliveryState::Rejected(Rejected { error })))
    })
}

/// Releases and settles an incoming delivery: the sender may deliver it
/// again, to anyone. Results as `muon_delivery_accept`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_delivery_release(delivery: muon_delivery) -> muon_result {
    boundary!(result: { settle_with(delivery, Some(DeliveryState::Released)) })
}

/// Modifies and settles an incoming delivery: `failed` counts a failed
/// delivery attempt, `undeliverable_here` asks not to deliver it to this
/// link again. Results as `muon_delivery_accept`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
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

/// Settles a delivery without giving it an outcome: an outgoing one once
/// the application is done with it (auto-settle off), an incoming one
/// whose outcome does not matter. Its handle is stale after. Results as
/// `muon_delivery_accept`, plus `MUON_RESULT_WRONG_STATE` for a delivery
/// still in its sender's queue (see `muon_sender_send`: it is sent, or
/// handed back, first).
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_delivery_settle(delivery: muon_delivery) -> muon_result {
    boundary!(result: { settle_with(delivery, None) })
}

/// The outcome the peer gave the delivery (`MUON_DELIVERY_STATE_NONE` if
/// none yet, and for a stale or null handle). For an outcome given in a
/// transaction (`muon_delivery_transaction_id` is not 0), the outcome it
/// takes if that transaction commits. Not thread-safe; may be
/// called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_delivery_remote_state(
    delivery: muon_delivery,
) -> muon_delivery_state {
    boundary!(muon_delivery_state::None, {
        delivery_call(delivery, |st, cid, did| {
            let state = st
                .lp
                .engine_ref(cid)
                .and_then(|x| x.delivery_remote_state(did));
            // Work in a transaction: the outcome it takes on commit.
            let state = match state {
                Some(DeliveryState::TransactionalState(t)) => t.outcome.as_deref(),
                s => s,
            };
            let r = match state {
                Some(DeliveryState::Accepted) => muon_delivery_state::Accepted,
                Some(DeliveryState::Rejected(_)) => muon_delivery_state::Rejected,
                Some(DeliveryState::Released) => muon_delivery_state::Released,
                Some(DeliveryState::Modified(_)) => muon_delivery_state::Modified,
                Some(DeliveryState::Received(_)) => muon_delivery_state::Received,
                _ => muon_delivery_state::None,
            };
            Ok(r)
        })
        .unwrap_or(muon_delivery_state::None)
    })
}

/// True if the peer has settled the delivery (false for a stale or null
/// handle). Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
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

/// Copies the delivery's tag into `buf` (at most `cap` bytes; `buf` may be
/// NULL when `cap` is 0) and returns its whole length (at most 32; 0 for a
/// stale or null handle). Not thread-safe; may be called from a callback.
///
/// `buf` is borrowed for the call.
///
/// # Safety
/// The handle is the null handle or its loop is live; `buf` is NULL or
/// valid for writing `cap` bytes.
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
            // SAFETY: the caller promises `buf` is NULL or valid for `cap`
            // bytes.
            unsafe { super::boundary::copy_out(tag.as_bytes(), buf, cap) };
            Ok(tag.as_bytes().len())
        })
        .unwrap_or(0)
    })
}

/// The message format of the delivery's transfer: 0 for an AMQP message
/// (what `muon_sender_send` sends); another value is a format the sender
/// chose with `muon_sender_send_with`. For a received delivery (in
/// `on_message`) or a sent one; 0 for one still in its sender's queue
/// (not sent yet), and for a stale or null handle. Not
/// thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_delivery_message_format(delivery: muon_delivery) -> u32 {
    boundary!(0, {
        delivery_call(delivery, |st, cid, did| {
            Ok(st
                .lp
                .engine_ref(cid)
                .map_or(0, |x| x.delivery_message_format(did)))
        })
        .unwrap_or(0)
    })
}
