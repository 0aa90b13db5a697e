//! The built-in behaviours (handshake, credit window, auto-accept,
//! auto-settle), the removal of ended endpoints, and closes deferred from
//! callbacks: the steps [`State::prepare`] schedules after the
//! application's callbacks.

use super::dispatch::{Action, Builtin, PendingClose, State, ViewOf};
use super::event::muon_event_kind as K;
use super::handle::muon_delivery;
use super::result::muon_result;
use crate::codec::messaging::DeliveryState;
use crate::codec::transport::Role;
use crate::engine::{EndpointState, Key};
use std::rc::Rc;

impl State {
    /// Carries out the closes asked for inside callbacks.
    pub(crate) fn apply_pending_closes(&mut self) {
        for p in std::mem::take(&mut self.pending_closes) {
            match p {
                PendingClose::Conn(cid, error) => {
                    let _ = self.lp.close(cid, error);
                }
                PendingClose::Abort(cid) => {
                    let _ = self.lp.abort(cid);
                }
                PendingClose::Link(cid, l, closed, error) => {
                    if let Some(x) = self.lp.engine(cid)
                        && x.link_local_state(l) != EndpointState::Closed
                    {
                        let _ = x.link_close(l, closed, error);
                    }
                }
            }
        }
    }

    // ---- built-ins --------------------------------------------------------------

    /// Opens a link this side has not opened yet (one the peer attached),
    /// granting a receiver its credit window.
    pub(crate) fn open_link_now(&mut self, lk: Key) -> Result<(), muon_result> {
        let entry = self.links.get(lk).ok_or(muon_result::StaleHandle)?;
        let (cid, l, role, window) = (entry.cid, entry.link, entry.role, entry.opts.credit_window);
        let x = self.lp.engine(cid).ok_or(muon_result::StaleHandle)?;
        if x.link_local_state(l) != EndpointState::Uninit {
            return Ok(());
        }
        x.link_open(l).map_err(super::event_loop::map_engine)?;
        if role == Role::Receiver && window > 0 {
            x.link_flow(l, window, false)
                .map_err(super::event_loop::map_engine)?;
        }
        Ok(())
    }

    /// Runs one built-in step. Returns further actions to run first.
    pub(crate) fn builtin(&mut self, b: Builtin) -> Vec<Action> {
        let mut out = Vec::new();
        match b {
            Builtin::OpenConnection(ck) => {
                if let Some(c) = self.conns.get(ck)
                    && c.handshake
                    && let Some(x) = self.lp.engine(c.id)
                    && x.local_state() == EndpointState::Uninit
                {
                    x.open();
                }
            }
            Builtin::CloseConnection(ck) => {
                if let Some(c) = self.conns.get(ck)
                    && c.handshake
                    && let Some(x) = self.lp.engine(c.id)
                    && x.local_state() != EndpointState::Closed
                {
                    x.close(None);
                }
            }
            Builtin::OpenSession(cid, s) => {
                if let Some(x) = self.lp.engine(cid)
                    && x.session_local_state(s) == EndpointState::Uninit
                {
                    let _ = x.session_open(s);
                }
            }
            Builtin::CloseSession(cid, s) => {
                if let Some(x) = self.lp.engine(cid)
                    && x.session_local_state(s) != EndpointState::Closed
                {
                    let _ = x.session_close(s, None);
                }
            }
            Builtin::OpenLink(lk) => {
                if self.links.get(lk).is_some_and(|l| l.opts.handshake) {
                    let _ = self.open_link_now(lk);
                }
            }
            Builtin::CloseLink(lk) => {
                if let Some(entry) = self.links.get(lk)
                    && entry.opts.handshake
                {
                    let (cid, l) = (entry.cid, entry.link);
                    if let Some(x) = self.lp.engine(cid)
                        && x.link_local_state(l) != EndpointState::Closed
                    {
                        // A detach is answered with a detach (the peer
                        // may resume the link), a close with a close.
                        let closed = x.link_remote_closed(l);
                        let _ = x.link_close(l, closed, None);
                    }
                }
            }
            Builtin::Drained(lk) => {
                if let Some(entry) = self.links.get(lk) {
                    let (cid, l) = (entry.cid, entry.link);
                    if let Some(x) = self.lp.engine(cid) {
                        let _ = x.link_drained(l);
                    }
                }
            }
            Builtin::AutoAccept(dk) => self.auto_accept(dk),
            Builtin::TopUp(lk) => {
                if let Some(entry) = self.links.get(lk) {
                    let (cid, l, window) = (entry.cid, entry.link, entry.opts.credit_window);
                    if window > 0
                        && entry.role == Role::Receiver
                        && let Some(x) = self.lp.engine(cid)
                        && x.link_local_state(l) == EndpointState::Active
                        && !x.link_drain(l)
                        && x.link_credit(l) <= window / 2
                    {
                        // Credit in batches: top up once half the window
                        // is used.
                        let _ = x.link_flow(l, window, false);
                    }
                }
            }
            Builtin::AutoSettle(dk) => {
                let Some(d) = self.deliveries.get(dk) else {
                    return out;
                };
                let (cid, did, lk, reported) = (d.cid, d.did, d.link, d.settled_reported);
                let auto = self.links.get(lk).is_some_and(|l| l.opts.auto_settle);
                let remote_settled = self
                    .lp
                    .engine_ref(cid)
                    .is_some_and(|x| x.delivery_remote_settled(did));
                if !auto && (!remote_settled || reported) {
                    return out;
                }
                if let Some(e) = self.deliveries.get_mut(dk) {
                    e.settled_reported = true;
                }
                let mut ev = self.link_event(K::Settled, lk);
                ev.delivery = muon_delivery::new(self.me, dk);
                let ck = self.links.get(lk).map(|l| l.conn);
                Self::dispatch(&mut out, |h| h.on_settled, Some(lk), ck, ev);
                if auto {
                    out.push(Action::Builtin(Builtin::Settle(dk)));
                }
            }
            Builtin::Settle(dk) => {
                if let Some(d) = self.deliveries.get(dk) {
                    let (cid, did) = (d.cid, d.did);
                    if let Some(x) = self.lp.engine(cid)
                        && x.delivery_exists(did)
                    {
                        let _ = x.settle(did);
                    }
                    self.forget_delivery(dk);
                }
            }
            Builtin::SaslUndecided(ck) => {
                if let Some(c) = self.conns.get(ck) {
                    let id = c.id;
                    if let Some(x) = self.lp.engine(id)
                        && x.sasl_request().is_some()
                    {
                        x.sasl_complete(false);
                    }
                    // The request's secrets leave the views with it.
                    let of = super::dispatch::ViewOf::Conn(ck);
                    if let Some(kept) = self.views.get_mut(&of) {
                        kept.retain(|(g, _)| !g.starts_with("sasl_request"));
                    }
                }
            }
            Builtin::RemoveLink(lk) => self.remove_link(lk),
            Builtin::RemoveConn(ck) => {
                if let Some(c) = self.conns.remove(ck) {
                    self.conn_index.remove(&c.id);
                    let left: Vec<Key> = self
                        .links
                        .iter()
                        .filter(|(_, l)| l.conn == ck)
                        .map(|(k, _)| k)
                        .collect();
                    for lk in left {
                        self.remove_link(lk);
                    }
                    self.lp.release_connection(c.id);
                    self.drop_views(ViewOf::Conn(ck));
                    let stashed = c.stash.into_values().filter_map(|l| l.handler);
                    self.deferred_free.extend(stashed.chain(c.handler));
                    // The last holder of a listener's handler frees it.
                    let shared = c.listener_handler.and_then(Rc::into_inner);
                    self.deferred_free.extend(shared);
                }
            }
            Builtin::RemoveListener(lk) => {
                if let Some(l) = self.listeners.remove(lk) {
                    self.listener_index.remove(&l.id);
                    self.lp.release_listener(l.id);
                    self.deferred_free
                        .extend(l.handler.and_then(Rc::into_inner));
                }
            }
        }
        out
    }

    fn auto_accept(&mut self, dk: Key) {
        let Some(d) = self.deliveries.get(dk) else {
            return;
        };
        let (cid, did, lk) = (d.cid, d.did, d.link);
        let auto = self.links.get(lk).is_some_and(|l| l.opts.auto_accept);
        let Some(x) = self.lp.engine(cid) else {
            return;
        };
        if !x.delivery_exists(did) {
            // The application settled it in on_message.
            self.forget_delivery(dk);
        } else if auto {
            // Accepted unless the application gave it an outcome already.
            let state = x
                .delivery_local_state(did)
                .is_none()
                .then_some(DeliveryState::Accepted);
            let _ = x.disposition(did, state, true);
            self.settled_here(dk);
        }
    }

    /// The application (or auto-accept) settled delivery `dk`: it is
    /// forgotten, unless the engine still holds it, waiting for its
    /// sender's settlement (rcv-settle-mode second): then its handle
    /// lives on until that settlement's `on_settled`.
    pub(crate) fn settled_here(&mut self, dk: Key) {
        let pending = self.deliveries.get(dk).is_some_and(|d| {
            self.lp
                .engine_ref(d.cid)
                .is_some_and(|x| x.delivery_exists(d.did))
        });
        if !pending {
            self.forget_delivery(dk);
        }
    }

    fn remove_link(&mut self, lk: Key) {
        let Some(entry) = self.links.remove(lk) else {
            return;
        };
        if self.link_index.get(&(entry.cid, entry.link)) == Some(&lk) {
            self.link_index.remove(&(entry.cid, entry.link));
        }
        // A link kept for the reconnect keeps its queue, with the queued
        // deliveries; so does one whose connection is ending (its
        // `on_connection_final` hands them back).
        let keep = !entry.closed_by_app && self.lp.will_recreate(entry.cid, entry.link)
            || !entry.queue.is_empty();
        let dead: Vec<Key> = self
            .deliveries
            .iter()
            .filter(|(_, d)| d.link == lk && !(keep && d.queued))
            .map(|(k, _)| k)
            .collect();
        for k in dead {
            self.forget_delivery(k);
        }
        self.drop_views(ViewOf::Link(lk));
        match self.conns.get_mut(entry.conn) {
            Some(c) if keep => {
                c.stash.insert(entry.link, entry);
            }
            _ => self.deferred_free.extend(entry.handler),
        }
    }
}
