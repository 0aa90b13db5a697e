//! Transactions (spec Part 4, §4.5): both sides.
//!
//! Client (controller): `muon_connection_declare_transaction` opens, once
//! per connection, a sender to the peer's coordinator (target
//! `coordinator`, capability `amqp:local-transactions`) and sends it a
//! `declare`; the `declared` outcome names the transaction. Messages sent
//! with `muon_sender_send_in` carry `transactional-state{txn-id}` on their
//! transfer, acknowledgements made with `muon_delivery_accept_in` carry
//! `transactional-state{txn-id, accepted}` on their disposition;
//! `muon_transaction_commit` / `_rollback` send a `discharge`. The
//! coordinator's answers become `on_transaction_declared`,
//! `on_transaction_discharged` and `on_transaction_failed`.
//!
//! Server (coordinator): a peer's controller link is answered by muon when
//! the application implements `on_coordinator_declare` (else refused with
//! `amqp:not-implemented`); its `declare` and `discharge` requests become
//! `on_coordinator_declare` / `on_coordinator_discharge`, answered with
//! `muon_delivery_declared`, `muon_delivery_accept` or
//! `muon_delivery_reject`. The transaction a transfer or a disposition
//! names is read with `muon_delivery_transaction_id`. What a transaction
//! does (holding the work until commit) is the application's.
//!
//! The controller link is muon's own: none of its events reach the
//! application as link events, and the built-in reconnect does not attach
//! it again (a transaction does not outlive its connection).

use std::ffi::c_void;

/// The longest transaction id muon takes from a coordinator. The spec sets
/// no limit; ids in use are a few bytes (muon's own coordinator API gives
/// at most 32), and one that rides on every transactional frame must
/// leave them well inside the 512-byte minimum frame size.
const MAX_PEER_TXN_ID: usize = 255;

use super::boundary::{borrow, boundary, copy_out};
use super::dispatch::{Action, Builtin, DeliveryEntry, NOT_YET_SENT, Queued, State};
use super::endpoint::{check, conn_of, engine, write_out};
use super::event::{Condition, EventData, muon_event, muon_event_kind as K};
use super::event_loop::{map_engine, map_reactor, muon_loop, with_state};
use super::handle::{muon_connection, muon_delivery, muon_sender, muon_transaction};
use super::handler::{Registered, muon_handler};
use super::link_options::LinkOpts;
use super::message::muon_message;
use super::result::muon_result;
use crate::codec::message::{Body, Message};
use crate::codec::messaging::{DeliveryState, Source};
use crate::codec::transactions::{
    Coordinator, Declare, Declared, Discharge, TransactionalState, TxnCapability,
};
use crate::codec::transport::{AmqpError, ReceiverSettleMode, Role, SenderSettleMode, condition};
use crate::codec::{Binary, Decode, Decoder, Encode, Symbol, Symbols, Value};
use crate::engine::{DeliveryId, EndpointState, Key, LinkOptions};
use crate::reactor::ConnId;

/// Where a transaction this side declared stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// The declare is out; no id yet.
    Declaring,
    /// Declared: work may join it.
    Active,
    /// The discharge is out.
    Discharging { rollback: bool },
    /// Its final event is dispatched (or about to be).
    Done,
}

/// A transaction this side declared.
pub(crate) struct TxnEntry {
    pub conn: Key,
    pub cid: ConnId,
    pub handler: Option<Registered>,
    /// The id the coordinator gave it.
    pub id: Option<Vec<u8>>,
    pub phase: Phase,
}

/// The payload of a request to a coordinator: one `amqp-value` section
/// holding `declare` or `discharge` (§4.5.2, §4.5.3).
fn request_payload(body: &impl Encode) -> Vec<u8> {
    let mut out = vec![0x00, 0x53, 0x77];
    body.encode(&mut out);
    out
}

/// A controller's request, as the coordinator reads it.
enum Request {
    Declare,
    /// A declare with a `global-id`: a distributed transaction, which a
    /// coordinator offering only `amqp:local-transactions` refuses.
    DeclareGlobal,
    Discharge(Discharge),
}

/// Reads a request from a message's payload (values nested at most
/// `depth` deep): `None` if it is neither.
fn parse_request(raw: &[u8], depth: usize) -> Option<Request> {
    let m = Message::decode_boxed_limited(&[raw], depth).ok()?;
    let Body::Value(v @ Value::Described(_)) = &m.body else {
        return None;
    };
    let mut bytes = Vec::new();
    crate::codec::encode_value(v, &mut bytes);
    let mut d = Decoder::new(&bytes);
    let ctor = d.read_constructor().ok()?;
    if let Ok(x) = <Discharge as Decode<'_>>::decode(&mut d, ctor.clone()) {
        return Some(Request::Discharge(x));
    }
    let mut d = Decoder::new(&bytes);
    let ctor = d.read_constructor().ok()?;
    <Declare as Decode<'_>>::decode(&mut d, ctor).ok().map(|x| {
        if x.global_id.is_some() {
            Request::DeclareGlobal
        } else {
            Request::Declare
        }
    })
}

impl State {
    /// The event of transaction `tk`.
    fn txn_event(&self, kind: K, tk: Key) -> EventData {
        let e = self.txns.get(tk);
        let mut ev = self.event(kind, e.map(|e| e.conn));
        ev.transaction = muon_transaction::new(self.me, tk);
        ev.txn_id = e.and_then(|e| e.id.clone());
        ev.txn_rollback = matches!(
            e.map(|e| e.phase),
            Some(Phase::Discharging { rollback: true })
        );
        ev
    }

    /// The handler of the transaction an event concerns, if it has one
    /// implementing `pick`.
    pub(crate) fn txn_target(
        &self,
        pick: super::dispatch::Pick,
        t: muon_transaction,
    ) -> Option<(
        unsafe extern "C" fn(*mut c_void, *const muon_event),
        *mut c_void,
    )> {
        if t.is_null() {
            return None;
        }
        let r = self.txns.get(t.key())?.handler?;
        pick(&r.handler).map(|f| (f, r.userdata))
    }

    /// Ends transaction `tk` with `on_transaction_failed` and `error`.
    fn txn_failed(&mut self, tk: Key, error: &AmqpError, out: &mut Vec<Action>) {
        let Some(e) = self.txns.get(tk) else {
            return;
        };
        if e.phase == Phase::Done {
            return;
        }
        let ck = e.conn;
        let mut ev = self.txn_event(K::TransactionFailed, tk);
        ev.condition = Some(Condition::from_error(error));
        if let Some(e) = self.txns.get_mut(tk) {
            e.phase = Phase::Done;
        }
        Self::dispatch(out, |h| h.on_transaction_failed, None, Some(ck), ev);
        out.push(Action::Builtin(Builtin::RemoveTxn(tk)));
    }

    /// The coordinator answered request `dk` of transaction `tk`.
    pub(crate) fn txn_answered(
        &mut self,
        cid: ConnId,
        dk: Key,
        tk: Key,
        d: DeliveryId,
        out: &mut Vec<Action>,
    ) {
        let Some(x) = self.lp.engine_ref(cid) else {
            return;
        };
        let state = x.delivery_remote_state(d).cloned();
        let settled = x.delivery_remote_settled(d);
        // No answer yet: nothing, or a non-terminal state (received) on a
        // request the coordinator still holds.
        let terminal = state
            .as_ref()
            .is_some_and(|s| !matches!(s, DeliveryState::Received(_)));
        if !terminal && !settled {
            return;
        }
        self.txn_requests.remove(&dk);
        out.push(Action::Builtin(Builtin::AutoSettle(dk)));
        let Some(e) = self.txns.get(tk) else {
            return;
        };
        let (phase, ck) = (e.phase, e.conn);
        match (phase, state) {
            (Phase::Declaring, Some(DeliveryState::Declared(Declared { txn_id })))
                if !(1..=MAX_PEER_TXN_ID).contains(&txn_id.0.len()) =>
            {
                // An empty id would read as "not declared"; a long one would
                // ride on every transactional transfer and disposition.
                let error = AmqpError::new(
                    condition::INVALID_FIELD,
                    format!(
                        "the coordinator declared a transaction id of {} bytes (muon takes 1 to {})",
                        txn_id.0.len(),
                        MAX_PEER_TXN_ID
                    ),
                );
                self.txn_failed(tk, &error, out);
            }
            (Phase::Declaring, Some(DeliveryState::Declared(Declared { txn_id }))) => {
                if let Some(e) = self.txns.get_mut(tk) {
                    e.id = Some(txn_id.0);
                    e.phase = Phase::Active;
                }
                let ev = self.txn_event(K::TransactionDeclared, tk);
                Self::dispatch(out, |h| h.on_transaction_declared, None, Some(ck), ev);
            }
            (Phase::Discharging { .. }, Some(DeliveryState::Accepted)) => {
                let ev = self.txn_event(K::TransactionDischarged, tk);
                if let Some(e) = self.txns.get_mut(tk) {
                    e.phase = Phase::Done;
                }
                Self::dispatch(out, |h| h.on_transaction_discharged, None, Some(ck), ev);
                out.push(Action::Builtin(Builtin::RemoveTxn(tk)));
            }
            (_, Some(DeliveryState::Rejected(r))) => {
                let error = r.error.unwrap_or_else(|| {
                    AmqpError::new(
                        condition::TRANSACTION_ROLLBACK,
                        "the coordinator rejected the request, without a reason",
                    )
                });
                self.txn_failed(tk, &error, out);
            }
            (_, other) => {
                let what = match other {
                    Some(s) => format!("{s:?}"),
                    None => "no outcome".to_owned(),
                };
                let error = AmqpError::new(
                    condition::PRECONDITION_FAILED,
                    format!("the coordinator answered the request with {what}"),
                );
                self.txn_failed(tk, &error, out);
            }
        }
    }

    /// The link to the peer's coordinator (`lk`, on connection `ck`)
    /// ended: the transactions not yet discharged fail (the coordinator
    /// rolls them back, §4.5.1... §4.3).
    pub(crate) fn controller_gone(&mut self, ck: Key, lk: Key, out: &mut Vec<Action>) {
        let Some(c) = self.conns.get_mut(ck) else {
            return;
        };
        if c.controller != Some(lk) {
            return; // a coordinator's link (server side): nothing of ours
        }
        c.controller = None;
        let error = self
            .links
            .get(lk)
            .and_then(|e| {
                let x = self.lp.engine_ref(e.cid)?;
                x.link_remote_condition(e.link)
                    .or_else(|| x.link_local_condition(e.link))
                    .cloned()
            })
            .unwrap_or_else(|| {
                AmqpError::new(
                    condition::TRANSACTION_ROLLBACK,
                    "the link to the transaction coordinator ended before the transaction \
                     was discharged: the coordinator rolls it back",
                )
            });
        let left: Vec<Key> = self
            .txns
            .iter()
            .filter(|(_, t)| t.conn == ck && t.phase != Phase::Done)
            .map(|(k, _)| k)
            .collect();
        self.txn_requests.retain(|_, t| !left.contains(t));
        for tk in left {
            self.txn_failed(tk, &error, out);
        }
    }

    /// The link to the peer's coordinator on connection `ck`, opened now
    /// if there is none.
    fn controller(&mut self, ck: Key, cid: ConnId) -> Result<Key, muon_result> {
        if let Some(lk) = self.conns.get(ck).and_then(|c| c.controller)
            && self.links.get(lk).is_some()
        {
            return Ok(lk);
        }
        let caps = Symbols(vec![Symbol(TxnCapability::LOCAL_TRANSACTIONS.to_owned())]);
        let lo = LinkOptions {
            source: Some(Source::default()),
            coordinator: Some(Coordinator {
                capabilities: Some(caps),
            }),
            snd_settle_mode: Some(SenderSettleMode::Unsettled),
            rcv_settle_mode: Some(ReceiverSettleMode::First),
            ..LinkOptions::default()
        };
        let l = self
            .lp
            .open_link(cid, Role::Sender, lo)
            .map_err(map_reactor)?;
        // Not attached again by a reconnect: transactions end with their
        // connection.
        self.lp.forget_link(cid, l);
        let lk = self.register_link(ck, cid, l, Role::Sender, None, LinkOpts::default());
        if let Some(e) = self.links.get_mut(lk) {
            e.coordinator = true;
        }
        if let Some(c) = self.conns.get_mut(ck) {
            c.controller = Some(lk);
        }
        Ok(lk)
    }

    /// Sends (or queues, until the coordinator gives credit) a request of
    /// transaction `tk` to the peer's coordinator.
    fn send_request(
        &mut self,
        ck: Key,
        cid: ConnId,
        tk: Key,
        bytes: Vec<u8>,
    ) -> Result<(), muon_result> {
        let lk = self.controller(ck, cid)?;
        let e = self.links.get(lk).ok_or(muon_result::StaleHandle)?;
        let (l, queued) = (e.link, !e.queue.is_empty());
        let x = engine(self, cid)?;
        if x.is_done() || x.local_state() == EndpointState::Closed {
            return Err(muon_result::Closed);
        }
        let sent = if queued {
            None
        } else {
            match x.send_with_state(l, None, bytes.as_slice(), false, 0, None) {
                Ok(d) => Some(d),
                Err(e) if super::link::waits_for_credit(&e) => None,
                Err(e) => return Err(map_engine(e)),
            }
        };
        let dk = self.deliveries.insert(DeliveryEntry {
            cid,
            link: lk,
            did: sent.unwrap_or(NOT_YET_SENT),
            outcome_reported: false,
            settled_reported: false,
            queued: sent.is_none(),
            declare: false,
        });
        match sent {
            Some(d) => {
                self.delivery_index.insert((cid, d), dk);
            }
            None => {
                let e = self.links.get_mut(lk).ok_or(muon_result::StaleHandle)?;
                e.queue.push_back(Queued {
                    bytes,
                    delivery: Some(dk),
                    tag: None,
                    format: 0,
                    state: None,
                });
            }
        }
        self.txn_requests.insert(dk, tk);
        Ok(())
    }

    /// A request arrived on a coordinator's link (server side): the
    /// application hears of it, and answers in the callback.
    pub(crate) fn coordinator_request(
        &mut self,
        cid: ConnId,
        ck: Key,
        lk: Key,
        d: DeliveryId,
        out: &mut Vec<Action>,
    ) {
        let Some(x) = self.lp.engine(cid) else {
            return;
        };
        let raw = x.delivery_take_payload(d);
        let settled = x.delivery_remote_settled(d);
        let depth = x.config().max_decode_depth;
        let request = raw.as_deref().and_then(|r| parse_request(r, depth));
        if let Some(raw) = raw {
            x.recycle_payload(raw);
        }
        let dk = self.register_delivery(cid, lk, d);
        let delivery = muon_delivery::new(self.me, dk);
        if let Some(e) = self.deliveries.get_mut(dk) {
            e.declare = matches!(request, Some(Request::Declare));
        }
        match request {
            Some(Request::Declare) => {
                let mut ev = self.event(K::CoordinatorDeclare, Some(ck));
                ev.delivery = delivery;
                Self::dispatch(out, |h| h.on_coordinator_declare, None, Some(ck), ev);
            }
            Some(Request::Discharge(r)) => {
                let mut ev = self.event(K::CoordinatorDischarge, Some(ck));
                ev.delivery = delivery;
                ev.txn_id = Some(r.txn_id.0);
                ev.txn_rollback = r.fail.unwrap_or(false);
                Self::dispatch(out, |h| h.on_coordinator_discharge, None, Some(ck), ev);
            }
            Some(Request::DeclareGlobal) | None => {
                if !settled && let Some(x) = self.lp.engine(cid) {
                    let error = if request.is_some() {
                        AmqpError::new(
                            condition::NOT_IMPLEMENTED,
                            "distributed transactions (a declare with a global-id) are not \
                             supported: this coordinator offers amqp:local-transactions",
                        )
                    } else {
                        AmqpError::new(
                            condition::DECODE_ERROR,
                            "a coordinator takes only declare and discharge requests",
                        )
                    };
                    let state = DeliveryState::Rejected(crate::codec::messaging::Rejected {
                        error: Some(error),
                    });
                    let _ = x.disposition(d, Some(state), true);
                }
                self.settled_here(dk);
                return;
            }
        }
        out.push(Action::Builtin(Builtin::CoordinatorUndecided(dk)));
    }

    /// Answers a controller's attach (server side): opened when the
    /// application coordinates transactions, else refused.
    pub(crate) fn open_coordinator(&mut self, lk: Key) {
        let Some(e) = self.links.get(lk) else {
            return;
        };
        let (cid, l, ck) = (e.cid, e.link, e.conn);
        let serves = self
            .resolve(|h| h.on_coordinator_declare, None, Some(ck), None)
            .is_some();
        let _ = self.open_link_now(lk);
        if !serves && let Some(x) = self.lp.engine(cid) {
            let error = AmqpError::new(
                condition::NOT_IMPLEMENTED,
                "this peer does not coordinate transactions",
            );
            let _ = x.link_close(l, true, Some(error));
        }
    }

    /// A declare or discharge left unanswered by the callback is rejected.
    pub(crate) fn coordinator_undecided(&mut self, dk: Key) {
        let Some(d) = self.deliveries.get(dk) else {
            return;
        };
        let (cid, did) = (d.cid, d.did);
        if let Some(x) = self.lp.engine(cid)
            && x.delivery_exists(did)
            && x.delivery_local_state(did).is_none()
        {
            let error = AmqpError::new(
                condition::NOT_IMPLEMENTED,
                "the coordinator did not answer the request",
            );
            let state =
                DeliveryState::Rejected(crate::codec::messaging::Rejected { error: Some(error) });
            let _ = x.disposition(did, Some(state), true);
        }
        self.settled_here(dk);
    }

    /// Transaction `tk`'s final event was dispatched: its handle goes.
    pub(crate) fn remove_txn(&mut self, tk: Key) {
        if let Some(t) = self.txns.remove(tk) {
            self.txn_requests.retain(|_, k| *k != tk);
            self.deferred_free.extend(t.handler);
        }
    }

    /// The transactions of connection `ck` go with it.
    pub(crate) fn remove_conn_txns(&mut self, ck: Key) {
        let left: Vec<Key> = self
            .txns
            .iter()
            .filter(|(_, t)| t.conn == ck)
            .map(|(k, _)| k)
            .collect();
        for tk in left {
            self.remove_txn(tk);
        }
    }
}

/// Runs `f` with the entry of transaction `t`.
fn txn_call<R>(
    t: muon_transaction,
    f: impl FnOnce(&mut State, Key) -> Result<R, muon_result>,
) -> Result<R, muon_result> {
    check(t.owner, t.generation)?;
    // SAFETY: the callers' contracts make the handle's loop live.
    unsafe {
        with_state(t.owner, |st| {
            st.txns.get(t.key()).ok_or(muon_result::StaleHandle)?;
            f(st, t.key())
        })
    }
}

/// The id and connection of declared transaction `t`, for work that joins
/// it from a handle of loop `owner` (checked live already).
fn active(t: muon_transaction, owner: *mut muon_loop) -> Result<(Vec<u8>, ConnId), muon_result> {
    let (id, cid) = txn_call(t, |st, tk| {
        let e = st.txns.get(tk).ok_or(muon_result::StaleHandle)?;
        match (&e.id, e.phase) {
            (Some(id), Phase::Active) => Ok((id.clone(), e.cid)),
            _ => Err(muon_result::WrongState),
        }
    })?;
    if t.owner != owner {
        return Err(muon_result::InvalidArgument); // two live loops' handles
    }
    Ok((id, cid))
}

/// Declares a transaction on the peer's transaction coordinator (AMQP
/// local transactions): the first call on a connection attaches a link to
/// the coordinator (target `coordinator`, capability
/// `amqp:local-transactions`), which muon keeps for the connection's
/// later transactions; the built-in reconnect does not attach it again (a
/// transaction ends with its transport). `on_transaction_declared` follows
/// when the coordinator answers, and only then may work join the
/// transaction (`muon_sender_send_in`, `muon_delivery_accept_in`);
/// `on_transaction_failed` if it refuses, or does not coordinate
/// transactions (the link is refused: `muon_event_condition` has the
/// peer's reason). The transaction's events go to `handler` (copied; may
/// be NULL), else the connection's handler, else the loop's.
///
/// `handler` is borrowed for the call; `userdata` stays the application's
/// (its `userdata_free` is called after the transaction's final event,
/// and not at all on an error here); `out` (may be NULL) receives the
/// transaction, owned by the loop until its final event returns. Results:
/// `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_CLOSED` (the connection is
/// closing, or between reconnect attempts), `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`. Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `handler` is NULL or
/// a valid table; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_declare_transaction(
    conn: muon_connection,
    handler: *const muon_handler,
    userdata: *mut c_void,
    out: *mut muon_transaction,
) -> muon_result {
    boundary!(result: {
        check(conn.owner, conn.generation)?;
        // SAFETY: the caller promises `handler` NULL or a valid table.
        let reg = unsafe { Registered::new(handler, userdata) };
        // SAFETY: the caller promises the handle's loop live.
        let t = unsafe {
            with_state(conn.owner, |st| {
                let (ck, cid) = conn_of(st, conn)?;
                let tk = st.txns.insert(TxnEntry {
                    conn: ck,
                    cid,
                    handler: reg,
                    id: None,
                    phase: Phase::Declaring,
                });
                match st.send_request(ck, cid, tk, request_payload(&Declare { global_id: None })) {
                    Ok(()) => Ok(muon_transaction::new(st.me, tk)),
                    Err(e) => {
                        st.txns.remove(tk);
                        Err(e)
                    }
                }
            })
        }?;
        write_out(out, t);
        Ok(())
    })
}

fn discharge(t: muon_transaction, rollback: bool) -> Result<(), muon_result> {
    txn_call(t, |st, tk| {
        let e = st.txns.get(tk).ok_or(muon_result::StaleHandle)?;
        let (Some(id), Phase::Active) = (e.id.clone(), e.phase) else {
            return Err(muon_result::WrongState);
        };
        let (ck, cid) = (e.conn, e.cid);
        let body = Discharge {
            txn_id: Binary(id),
            fail: Some(rollback),
        };
        st.send_request(ck, cid, tk, request_payload(&body))?;
        if let Some(e) = st.txns.get_mut(tk) {
            e.phase = Phase::Discharging { rollback };
        }
        Ok(())
    })
}

/// Commits a declared transaction (a `discharge` with `fail` false): the
/// messages sent in it are delivered, the acknowledgements made in it take
/// effect. `on_transaction_discharged` follows when the coordinator
/// agrees; `on_transaction_failed` if it refuses (e.g.
/// `amqp:transaction:rollback`: the transaction was rolled back instead).
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE` (its final event has passed),
/// `MUON_RESULT_WRONG_STATE` (not declared yet, or already being
/// discharged), `MUON_RESULT_CLOSED`, `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`. Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_transaction_commit(txn: muon_transaction) -> muon_result {
    boundary!(result: { discharge(txn, false) })
}

/// Rolls a declared transaction back (a `discharge` with `fail` true): the
/// messages sent in it are dropped by the coordinator, the messages
/// acknowledged in it are available again (the peer redelivers them).
/// `on_transaction_discharged` follows (`muon_event_transaction_rollback`
/// true). Results as `muon_transaction_commit`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_transaction_rollback(txn: muon_transaction) -> muon_result {
    boundary!(result: { discharge(txn, true) })
}

/// Copies the transaction's id, as the coordinator named it, into `buf`
/// (at most `cap` bytes; `buf` may be NULL when `cap` is 0) and returns
/// its whole length: 0 before `on_transaction_declared`, and for a stale
/// or null handle. Not thread-safe; may be called from a callback.
///
/// `buf` is borrowed for the call.
///
/// # Safety
/// The handle is the null handle or its loop is live; `buf` is NULL or
/// valid for writing `cap` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_transaction_id(
    txn: muon_transaction,
    buf: *mut u8,
    cap: usize,
) -> usize {
    boundary!(0, {
        txn_call(txn, |st, tk| {
            let id = st
                .txns
                .get(tk)
                .and_then(|e| e.id.clone())
                .unwrap_or_default();
            // SAFETY: the caller promises `buf` NULL or valid for `cap`.
            unsafe { copy_out(&id, buf, cap) };
            Ok(id.len())
        })
        .unwrap_or(0)
    })
}

/// Sends `message` in transaction `txn` (its transfer carries
/// `transactional-state` with the transaction's id): the coordinator
/// delivers it only if the transaction commits. Otherwise as
/// `muon_sender_send` (queued without credit, the same outcome events;
/// the peer's outcome may arrive before the commit, and takes effect with
/// it). `txn` must be declared (`on_transaction_declared`) and not yet
/// discharged, on the sender's connection.
///
/// `message` is borrowed for the call; `out` (may be NULL) receives the
/// delivery. Results: those of `muon_sender_send`, and
/// `MUON_RESULT_WRONG_STATE` (the transaction is not declared yet, or is
/// being discharged), `MUON_RESULT_INVALID_ARGUMENT` (a transaction of
/// another connection or loop). Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// The handles are null handles or their loop is live; `message` is NULL
/// or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_send_in(
    sender: muon_sender,
    txn: muon_transaction,
    message: *const muon_message,
    out: *mut muon_delivery,
) -> muon_result {
    boundary!(result: {
        check(sender.owner, sender.generation)?;
        // SAFETY: the caller promises `message` NULL or live.
        unsafe { borrow(message) }?;
        check(txn.owner, txn.generation)?;
        let h: super::link::H = sender.into();
        let link_cid = super::link::link_call(h, |_, cid, _| Ok(cid))?;
        let (id, cid) = active(txn, sender.owner)?;
        if link_cid != cid {
            return Err(muon_result::InvalidArgument);
        }
        let state = DeliveryState::TransactionalState(TransactionalState {
            txn_id: Binary(id),
            outcome: None,
        });
        super::link::send_message(sender, message, None, 0, Some(state), out)
    })
}

/// Accepts and settles an incoming delivery in transaction `txn` (its
/// disposition carries `transactional-state` with the transaction's id and
/// the outcome accepted): the acknowledgement takes effect only if the
/// transaction commits; on a rollback the sender makes the message
/// available again. Otherwise as `muon_delivery_accept` (in `on_message`,
/// before auto-accept acts; the handle is stale after). `txn` must be
/// declared and not yet discharged, on the delivery's connection.
///
/// Results: those of `muon_delivery_accept`, and
/// `MUON_RESULT_WRONG_STATE` (the transaction is not declared yet, or is
/// being discharged), `MUON_RESULT_INVALID_ARGUMENT` (a transaction of
/// another connection or loop). Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// The handles are null handles or their loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_delivery_accept_in(
    delivery: muon_delivery,
    txn: muon_transaction,
) -> muon_result {
    boundary!(result: {
        check(delivery.owner, delivery.generation)?;
        check(txn.owner, txn.generation)?;
        super::delivery::delivery_exists(delivery)?;
        let (id, cid) = active(txn, delivery.owner)?;
        let state = DeliveryState::TransactionalState(TransactionalState {
            txn_id: Binary(id),
            outcome: Some(Box::new(DeliveryState::Accepted)),
        });
        super::delivery::settle_in(delivery, cid, state)
    })
}

/// Server side: answers a declare request (`on_coordinator_declare`'s
/// `muon_event_delivery`) with the `declared` outcome, naming the new
/// transaction `txn_id` (`len` bytes, 1 to 32; the application chooses ids
/// unique among its open transactions), and settles it (the handle is
/// stale after). The work the controller then does in it arrives with
/// that id (`muon_delivery_transaction_id`), and its discharge with
/// `on_coordinator_discharge`.
///
/// `txn_id` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_ARGUMENT` (`len` 0
/// or above 32, or a delivery that is not a declare request),
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_CLOSED`,
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not thread-safe; may
/// be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `txn_id` is NULL or
/// valid for reading `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_delivery_declared(
    delivery: muon_delivery,
    txn_id: *const u8,
    len: usize,
) -> muon_result {
    boundary!(result: {
        check(delivery.owner, delivery.generation)?;
        if txn_id.is_null() {
            return Err(muon_result::NullArgument);
        }
        if len == 0 || len > 32 {
            return Err(muon_result::InvalidArgument);
        }
        // SAFETY: the caller promises `len` readable bytes.
        let id = unsafe { std::slice::from_raw_parts(txn_id, len) }.to_vec();
        super::delivery::settle_declared(delivery, id)
    })
}

/// The transaction a delivery is part of, by its id: for a received one
/// (in `on_message`), the transaction its sender posted it in (its
/// transfer's `transactional-state`); for a sent one (in `on_accepted` and
/// the other outcome events), the transaction its receiver acknowledged it
/// in (the disposition's), whose outcome takes effect only if that
/// transaction commits. Copies the id into `buf` (at most `cap` bytes;
/// `buf` may be NULL when `cap` is 0) and returns its whole length: 0 when
/// the delivery is in no transaction, and for a stale or null handle. Not
/// thread-safe; may be called from a callback.
///
/// `buf` is borrowed for the call.
///
/// # Safety
/// The handle is the null handle or its loop is live; `buf` is NULL or
/// valid for writing `cap` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_delivery_transaction_id(
    delivery: muon_delivery,
    buf: *mut u8,
    cap: usize,
) -> usize {
    boundary!(0, {
        super::delivery::remote_txn_id(delivery)
            .map(|id| {
                // SAFETY: the caller promises `buf` NULL or valid for `cap`.
                unsafe { copy_out(&id, buf, cap) };
                id.len()
            })
            .unwrap_or(0)
    })
}

/// The event behind `ev`, if `ev` is not NULL.
fn event<'a>(ev: *const muon_event) -> Option<&'a EventData> {
    // SAFETY: a non-NULL `ev` is the event the loop handed to the running
    // callback (a live `EventData`), as every accessor's contract says.
    unsafe { ev.cast::<EventData>().as_ref() }
}

/// The transaction the event concerns (`on_transaction_declared`,
/// `on_transaction_discharged`, `on_transaction_failed`); the null handle
/// otherwise, or for NULL. Valid until the transaction's final event
/// returns.
///
/// `event` is borrowed for the call. Not thread-safe; call it from the
/// callback that got the event.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_transaction(event: *const muon_event) -> muon_transaction {
    boundary!(muon_transaction::NULL, {
        self::event(event).map_or(muon_transaction::NULL, |e| e.transaction)
    })
}

/// The id of the transaction the event concerns: the one to discharge
/// (`on_coordinator_discharge`), or the transaction of a transaction event
/// (as `muon_transaction_id`). Copies it into `buf` (at most `cap` bytes;
/// `buf` may be NULL when `cap` is 0) and returns its whole length (0 for
/// other events, and for NULL).
///
/// `event` and `buf` are borrowed for the call. Not thread-safe; call it
/// from the callback that got the event.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback; `buf` is
/// NULL or valid for writing `cap` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_transaction_id(
    event: *const muon_event,
    buf: *mut u8,
    cap: usize,
) -> usize {
    boundary!(0, {
        let id = self::event(event)
            .and_then(|e| e.txn_id.as_deref())
            .unwrap_or_default();
        // SAFETY: the caller promises `buf` NULL or valid for `cap` bytes.
        unsafe { copy_out(id, buf, cap) };
        id.len()
    })
}

/// True when the discharge the event concerns is a rollback: the
/// controller asks for one (`on_coordinator_discharge`), this side's
/// `muon_transaction_rollback` was done (`on_transaction_discharged`), or
/// was refused (`on_transaction_failed`); false for a commit, other
/// events, and NULL.
///
/// `event` is borrowed for the call. Not thread-safe; call it from the
/// callback that got the event.
///
/// # Safety
/// `event` is NULL or the event handed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_event_transaction_rollback(event: *const muon_event) -> bool {
    boundary!(false, {
        self::event(event).is_some_and(|e| e.txn_rollback)
    })
}
