//! `muon_loop`: the event loop as C sees it. Holds the handler tables and
//! the handle slabs, turns reactor events into callbacks, and runs the
//! built-in behaviours (the tutorial's Handshaker, FlowController,
//! auto-accept and auto-settle).
//!
//! Callbacks run with no Rust borrow of the loop alive: each step borrows
//! the state, works out what to call, drops the borrow, then calls C.

use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::ffi::{CString, c_void};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

use super::boundary::{Opaque, boundary};
use super::event::{Condition, EventData, muon_event, muon_event_kind as T};
use super::handle::{
    muon_connection, muon_delivery, muon_listener, muon_receiver, muon_sender, muon_timer,
};
use super::handler::{Registered, muon_callback, muon_handler};
use super::options::LinkOpts;
use super::result::muon_result;
use crate::codec::message::Message;
use crate::codec::messaging::DeliveryState;
use crate::codec::transport::{AmqpError, Role, condition};
use crate::engine::{DeliveryId, EndpointState, Event, Key, LinkId, SessionId, Slab};
use crate::reactor::{self, ConnId, ListenerId, Loop, LoopEvent, LoopWaker, TimerId};

/// An event loop: owned by the application (`muon_loop_new`,
/// `muon_loop_free`), used from the thread that made it. Everything made
/// through it (connections, listeners, links, deliveries, timers) belongs
/// to it and to that thread; only `muon_loop_wake` and `muon_loop_post` may
/// be called from other threads.
///
/// Functions: `muon_loop_new`, `muon_loop_set_handler`, `muon_loop_connect`,
/// `muon_loop_listen`, `muon_loop_schedule`, `muon_loop_run`,
/// `muon_loop_run_once`, `muon_loop_stop`, `muon_loop_wake`,
/// `muon_loop_post`, `muon_loop_free`.
pub struct muon_loop {
    _private: [u8; 0],
}

/// A function posted from another thread, run on the loop thread.
pub type muon_post_fn = Option<unsafe extern "C" fn(context: *mut c_void)>;

pub(crate) struct Posted {
    pub f: unsafe extern "C" fn(*mut c_void),
    pub context: usize,
}

/// What other threads may touch.
pub(crate) struct Shared {
    pub waker: LoopWaker,
    pub posted: Mutex<Vec<Posted>>,
}

/// What `muon_loop *` points to.
pub(crate) struct LoopBox {
    pub shared: Arc<Shared>,
    pub owner: ThreadId,
    pub state: UnsafeCell<State>,
}

impl Opaque for muon_loop {
    type Inner = LoopBox;
}

pub(crate) struct ConnEntry {
    pub id: ConnId,
    pub handler: Option<Registered>,
    pub listener: Option<Key>,
    pub handshake: bool,
    /// Link entries of links lost in a disconnect, waiting for reconnect
    /// to re-create them.
    pub stash: HashMap<LinkId, LinkEntry>,
    pub reconnect: bool,
}

#[derive(Clone)]
pub(crate) struct LinkEntry {
    pub conn: Key,
    pub cid: ConnId,
    pub link: LinkId,
    pub role: Role,
    pub handler: Option<Registered>,
    pub opts: LinkOpts,
    /// The application closed it: not re-created on reconnect.
    pub closed_by_app: bool,
}

pub(crate) struct DeliveryEntry {
    pub cid: ConnId,
    pub link: Key,
    pub did: DeliveryId,
    pub reported: bool,
}

pub(crate) struct ListenerEntry {
    pub id: ListenerId,
    pub handler: Option<Registered>,
}

pub(crate) struct State {
    pub lp: Loop,
    pub me: *mut muon_loop,
    pub dispatching: bool,
    pub poisoned: bool,
    pub default: Option<Registered>,
    pub conns: Slab<ConnEntry>,
    pub conn_index: HashMap<ConnId, Key>,
    pub links: Slab<LinkEntry>,
    pub link_index: HashMap<(ConnId, LinkId), Key>,
    pub deliveries: Slab<DeliveryEntry>,
    pub delivery_index: HashMap<(ConnId, DeliveryId), Key>,
    pub listeners: Slab<ListenerEntry>,
    pub listener_index: HashMap<ListenerId, Key>,
    pub timers: HashMap<TimerId, Registered>,
    /// Backing for strings returned as "borrowed until the next call on
    /// this loop".
    pub scratch: CString,
    pub condition: Option<Box<Condition>>,
}

/// One step of a dispatch: call the application, or run a built-in.
pub(crate) enum Action {
    Call(muon_callback, *mut c_void, Box<EventData>),
    OpenConnection(ConnId),
    CloseConnection(ConnId),
    OpenSession(ConnId, SessionId),
    CloseSession(ConnId, SessionId),
    OpenLink(Key),
    CloseLink(Key),
    Drained(Key),
    AutoAccept(Key),
    TopUp(Key),
    AutoSettle(Key),
    ForgetDelivery(Key),
    RemoveLink(Key),
    RemoveConn(Key),
    RemoveListener(Key),
    RunPosted,
    Free(Registered),
}

impl State {
    fn handler_chain(
        &self,
        link: Option<Key>,
        conn: Option<Key>,
        listener: Option<Key>,
    ) -> [Option<Registered>; 4] {
        let l = link.and_then(|k| self.links.get(k)).and_then(|e| e.handler);
        let c_entry = conn.and_then(|k| self.conns.get(k));
        let c = c_entry.and_then(|e| e.handler);
        let lis = listener
            .or_else(|| c_entry.and_then(|e| e.listener))
            .and_then(|k| self.listeners.get(k))
            .and_then(|e| e.handler);
        [l, c, lis, self.default]
    }

    /// The most specific handler implementing `pick`, with its userdata.
    fn resolve(
        &self,
        pick: fn(&muon_handler) -> muon_callback,
        link: Option<Key>,
        conn: Option<Key>,
        listener: Option<Key>,
    ) -> Option<(muon_callback, *mut c_void)> {
        self.handler_chain(link, conn, listener)
            .into_iter()
            .flatten()
            .find_map(|r| pick(&r.handler).map(|f| (Some(f), r.userdata)))
    }

    fn call(
        &self,
        out: &mut Vec<Action>,
        pick: fn(&muon_handler) -> muon_callback,
        link: Option<Key>,
        conn: Option<Key>,
        listener: Option<Key>,
        ev: EventData,
    ) {
        if let Some((f, ud)) = self.resolve(pick, link, conn, listener) {
            out.push(Action::Call(f, ud, Box::new(ev)));
        }
    }

    pub(crate) fn event(&self, kind: T, conn: Option<Key>) -> EventData {
        let mut e = EventData::new(kind, self.me);
        if let Some(k) = conn {
            e.connection = muon_connection::new(self.me, k);
        }
        e
    }

    fn link_event(&self, kind: T, lk: Key) -> EventData {
        let entry = self.links.get(lk);
        let mut e = self.event(kind, entry.map(|x| x.conn));
        if let Some(x) = entry {
            match x.role {
                Role::Sender => e.sender = muon_sender::new(self.me, lk),
                Role::Receiver => e.receiver = muon_receiver::new(self.me, lk),
            }
        }
        e
    }

    pub(crate) fn register_link(
        &mut self,
        conn: Key,
        cid: ConnId,
        link: LinkId,
        role: Role,
        handler: Option<Registered>,
        opts: LinkOpts,
    ) -> Key {
        let k = self.links.insert(LinkEntry {
            conn,
            cid,
            link,
            role,
            handler,
            opts,
            closed_by_app: false,
        });
        self.link_index.insert((cid, link), k);
        k
    }

    fn delivery_key(&mut self, cid: ConnId, ck: Key, lk: Key, did: DeliveryId) -> Key {
        if let Some(k) = self.delivery_index.get(&(cid, did)) {
            return *k;
        }
        let _ = ck;
        let k = self.deliveries.insert(DeliveryEntry {
            cid,
            link: lk,
            did,
            reported: false,
        });
        self.delivery_index.insert((cid, did), k);
        k
    }

    pub(crate) fn forget_delivery(&mut self, k: Key) {
        if let Some(d) = self.deliveries.remove(k) {
            self.delivery_index.remove(&(d.cid, d.did));
        }
    }

    /// Works out the callbacks and built-ins for one reactor event.
    pub(crate) fn prepare(&mut self, ev: LoopEvent) -> Vec<Action> {
        let mut out = Vec::new();
        match ev {
            LoopEvent::Engine(cid, e) => self.prepare_engine(cid, e, &mut out),
            LoopEvent::Accepted(lid, cid) => {
                let lk = self.listener_index.get(&lid).copied();
                let ck = self.conns.insert(ConnEntry {
                    id: cid,
                    handler: None,
                    listener: lk,
                    handshake: true,
                    stash: HashMap::new(),
                    reconnect: false,
                });
                self.conn_index.insert(cid, ck);
                let mut e = self.event(T::ConnectionAccepted, Some(ck));
                if let Some(lk) = lk {
                    e.listener = muon_listener::new(self.me, lk);
                }
                self.call(
                    &mut out,
                    |h| h.on_connection_accepted,
                    None,
                    Some(ck),
                    lk,
                    e,
                );
            }
            LoopEvent::ListenerOpen(lid) => {
                if let Some(lk) = self.listener_index.get(&lid).copied() {
                    let mut e = self.event(T::ListenerOpen, None);
                    e.listener = muon_listener::new(self.me, lk);
                    self.call(&mut out, |h| h.on_listener_open, None, None, Some(lk), e);
                }
            }
            LoopEvent::ListenerFinal(lid) => {
                if let Some(lk) = self.listener_index.get(&lid).copied() {
                    let mut e = self.event(T::ListenerFinal, None);
                    e.listener = muon_listener::new(self.me, lk);
                    self.call(&mut out, |h| h.on_listener_final, None, None, Some(lk), e);
                    out.push(Action::RemoveListener(lk));
                }
                self.lp.release_listener(lid);
            }
            LoopEvent::Disconnected(cid, reason) => {
                if let Some(ck) = self.conn_index.get(&cid).copied() {
                    let mut e = self.event(T::Disconnected, Some(ck));
                    e.condition = Some(Condition::from_error(&reason));
                    self.call(&mut out, |h| h.on_disconnected, None, Some(ck), None, e);
                }
            }
            LoopEvent::Reconnected(cid) => {
                if let Some(ck) = self.conn_index.get(&cid).copied() {
                    let e = self.event(T::Reconnected, Some(ck));
                    self.call(&mut out, |h| h.on_reconnected, None, Some(ck), None, e);
                }
            }
            LoopEvent::LinkRecreated { conn, old, new } => {
                if let Some(ck) = self.conn_index.get(&conn).copied()
                    && let Some(entry) = self.conns.get_mut(ck).and_then(|c| c.stash.remove(&old))
                {
                    self.register_link(ck, conn, new, entry.role, entry.handler, entry.opts);
                }
            }
            LoopEvent::ConnectionFinal(cid) => {
                if let Some(ck) = self.conn_index.get(&cid).copied() {
                    let e = self.event(T::ConnectionFinal, Some(ck));
                    self.call(&mut out, |h| h.on_connection_final, None, Some(ck), None, e);
                    out.push(Action::RemoveConn(ck));
                } else {
                    self.lp.release_connection(cid);
                }
            }
            LoopEvent::Timer(tid, _) => {
                if let Some(r) = self.timers.remove(&tid) {
                    let mut e = self.event(T::Timer, None);
                    e.timer = muon_timer::new(self.me, tid.0);
                    let pick = |h: &muon_handler| h.on_timer;
                    let target = pick(&r.handler).map(|f| (Some(f), r.userdata)).or_else(|| {
                        self.default
                            .and_then(|d| pick(&d.handler).map(|f| (Some(f), d.userdata)))
                    });
                    if let Some((f, ud)) = target {
                        out.push(Action::Call(f, ud, Box::new(e)));
                    }
                    out.push(Action::Free(r));
                }
            }
            LoopEvent::Wake => {
                out.push(Action::RunPosted);
                let e = self.event(T::Wake, None);
                self.call(&mut out, |h| h.on_wake, None, None, None, e);
            }
        }
        out
    }

    fn prepare_engine(&mut self, cid: ConnId, e: Event, out: &mut Vec<Action>) {
        let Some(ck) = self.conn_index.get(&cid).copied() else {
            return;
        };
        let me = Some(ck);
        match e {
            Event::ConnectionRemoteOpen => {
                let ev = self.event(T::ConnectionRemoteOpen, me);
                self.call(out, |h| h.on_connection_remote_open, None, me, None, ev);
                if self.conns.get(ck).is_some_and(|c| c.handshake) {
                    out.push(Action::OpenConnection(cid));
                }
            }
            Event::ConnectionRemoteClose => {
                let mut ev = self.event(T::ConnectionRemoteClose, me);
                ev.condition = self
                    .lp
                    .engine_ref(cid)
                    .and_then(|x| x.remote_condition())
                    .map(Condition::from_error);
                self.call(out, |h| h.on_connection_remote_close, None, me, None, ev);
                if self.conns.get(ck).is_some_and(|c| c.handshake) {
                    out.push(Action::CloseConnection(cid));
                }
            }
            Event::SessionRemoteOpen(s) => {
                let ev = self.event(T::SessionRemoteOpen, me);
                self.call(out, |h| h.on_session_remote_open, None, me, None, ev);
                out.push(Action::OpenSession(cid, s));
            }
            Event::SessionRemoteClose(s) => {
                let mut ev = self.event(T::SessionRemoteClose, me);
                ev.condition = self
                    .lp
                    .engine_ref(cid)
                    .and_then(|x| x.session_remote_condition(s))
                    .map(Condition::from_error);
                self.call(out, |h| h.on_session_remote_close, None, me, None, ev);
                out.push(Action::CloseSession(cid, s));
            }
            Event::LinkRemoteOpen(l) => {
                let lk = match self.link_index.get(&(cid, l)).copied() {
                    Some(lk) => lk,
                    None => {
                        // A link the peer attached: it is ours to answer.
                        let role = self
                            .lp
                            .engine_ref(cid)
                            .and_then(|x| x.link_role(l))
                            .unwrap_or(Role::Receiver);
                        let lk = self.register_link(ck, cid, l, role, None, LinkOpts::default());
                        let ev = self.link_event(T::LinkRemoteAttach, lk);
                        self.call(out, |h| h.on_link_remote_attach, Some(lk), me, None, ev);
                        out.push(Action::OpenLink(lk));
                        lk
                    }
                };
                let ev = self.link_event(T::LinkRemoteOpen, lk);
                self.call(out, |h| h.on_link_remote_open, Some(lk), me, None, ev);
            }
            Event::LinkRemoteClose(l) => {
                if let Some(lk) = self.link_index.get(&(cid, l)).copied() {
                    let mut ev = self.link_event(T::LinkRemoteClose, lk);
                    ev.condition = self
                        .lp
                        .engine_ref(cid)
                        .and_then(|x| x.link_remote_condition(l))
                        .map(Condition::from_error);
                    self.call(out, |h| h.on_link_remote_close, Some(lk), me, None, ev);
                    out.push(Action::CloseLink(lk));
                }
            }
            Event::LinkFinal(l) => {
                if let Some(lk) = self.link_index.get(&(cid, l)).copied() {
                    let ev = self.link_event(T::LinkFinal, lk);
                    self.call(out, |h| h.on_link_final, Some(lk), me, None, ev);
                    out.push(Action::RemoveLink(lk));
                }
            }
            Event::LinkFlow(l) => {
                if let Some(lk) = self.link_index.get(&(cid, l)).copied() {
                    let Some(x) = self.lp.engine_ref(cid) else {
                        return;
                    };
                    let sender = x.link_role(l) == Some(Role::Sender);
                    if sender && x.link_credit(l) == 0 && !x.link_drain(l) {
                        return;
                    }
                    let ev = self.link_event(T::LinkFlow, lk);
                    self.call(out, |h| h.on_link_flow, Some(lk), me, None, ev);
                    if sender {
                        out.push(Action::Drained(lk));
                    }
                }
            }
            Event::Delivery(d) => {
                let Some(lk) = self.delivery_link_key(cid, d) else {
                    return;
                };
                let message = self
                    .lp
                    .engine_ref(cid)
                    .and_then(|x| x.delivery_payload(d))
                    .map(Message::decode);
                let dk = self.delivery_key(cid, ck, lk, d);
                match message {
                    Some(Ok(m)) => {
                        let mut ev = self.link_event(T::Message, lk);
                        ev.delivery = muon_delivery::new(self.me, dk);
                        ev.message = Some(super::message::MessageBox::new(m));
                        self.call(out, |h| h.on_message, Some(lk), me, None, ev);
                        out.push(Action::AutoAccept(dk));
                    }
                    _ => {
                        // Undecodable: reject it, so that the sender knows
                        // and nothing is lost silently.
                        if let Some(x) = self.lp.engine(cid) {
                            let err = AmqpError::new(
                                condition::DECODE_ERROR,
                                "the message could not be decoded",
                            );
                            let _ = x.disposition(
                                d,
                                Some(DeliveryState::Rejected(crate::codec::messaging::Rejected {
                                    error: Some(err),
                                })),
                                true,
                            );
                        }
                        self.forget_delivery(dk);
                    }
                }
                out.push(Action::TopUp(lk));
            }
            Event::DeliveryUpdated(d) => {
                let Some(dk) = self.delivery_index.get(&(cid, d)).copied() else {
                    return;
                };
                let Some(entry) = self.deliveries.get(dk) else {
                    return;
                };
                let lk = entry.link;
                let Some(x) = self.lp.engine_ref(cid) else {
                    return;
                };
                let state = x.delivery_remote_state(d).cloned();
                let settled = x.delivery_remote_settled(d);
                let kind = match &state {
                    Some(DeliveryState::Accepted) => Some(T::Accepted),
                    Some(DeliveryState::Rejected(_)) => Some(T::Rejected),
                    Some(DeliveryState::Released) => Some(T::Released),
                    Some(DeliveryState::Modified(_)) => Some(T::Modified),
                    _ => None,
                };
                if let Some(kind) = kind
                    && !entry.reported
                {
                    if let Some(e) = self.deliveries.get_mut(dk) {
                        e.reported = true;
                    }
                    let mut ev = self.link_event(kind, lk);
                    ev.delivery = muon_delivery::new(self.me, dk);
                    if let Some(DeliveryState::Rejected(r)) = &state {
                        ev.condition = r.error.as_ref().map(Condition::from_error);
                    }
                    let pick: fn(&muon_handler) -> muon_callback = match kind {
                        T::Accepted => |h| h.on_accepted,
                        T::Rejected => |h| h.on_rejected,
                        T::Released => |h| h.on_released,
                        _ => |h| h.on_modified,
                    };
                    self.call(out, pick, Some(lk), me, None, ev);
                }
                if settled {
                    out.push(Action::AutoSettle(dk));
                }
            }
            Event::TransportError(err) => {
                let mut ev = self.event(T::TransportError, me);
                ev.condition = Some(Condition::from_error(&err));
                self.call(out, |h| h.on_transport_error, None, me, None, ev);
            }
            Event::SessionFinal(_)
            | Event::TransportClosed
            | Event::SaslDone
            | Event::SaslAuthenticate => {}
        }
    }

    fn delivery_link_key(&self, cid: ConnId, d: DeliveryId) -> Option<Key> {
        let l = self.lp.engine_ref(cid)?.delivery_link(d)?;
        self.link_index.get(&(cid, l)).copied()
    }

    /// Runs one built-in step (after the application's callbacks had their
    /// say). Returns further calls to make.
    pub(crate) fn builtin(&mut self, a: Action) -> Vec<Action> {
        let mut out = Vec::new();
        match a {
            Action::Call(..) | Action::RunPosted | Action::Free(_) => {}
            Action::OpenConnection(cid) => {
                if let Some(x) = self.lp.engine(cid)
                    && x.local_state() == EndpointState::Uninit
                {
                    x.open();
                }
            }
            Action::CloseConnection(cid) => {
                if let Some(x) = self.lp.engine(cid)
                    && x.local_state() != EndpointState::Closed
                {
                    x.close(None);
                }
            }
            Action::OpenSession(cid, s) => {
                if let Some(x) = self.lp.engine(cid)
                    && x.session_local_state(s) == EndpointState::Uninit
                {
                    let _ = x.session_open(s);
                }
            }
            Action::CloseSession(cid, s) => {
                if let Some(x) = self.lp.engine(cid)
                    && x.session_local_state(s) != EndpointState::Closed
                {
                    let _ = x.session_close(s, None);
                }
            }
            Action::OpenLink(lk) => {
                let Some(entry) = self.links.get(lk).cloned() else {
                    return out;
                };
                if let Some(x) = self.lp.engine(entry.cid)
                    && x.link_local_state(entry.link) == EndpointState::Uninit
                {
                    let _ = x.link_open(entry.link);
                    if entry.role == Role::Receiver && entry.opts.credit_window > 0 {
                        let _ = x.link_flow(entry.link, entry.opts.credit_window, false);
                    }
                }
            }
            Action::CloseLink(lk) => {
                let Some(entry) = self.links.get(lk) else {
                    return out;
                };
                let (cid, l) = (entry.cid, entry.link);
                if let Some(x) = self.lp.engine(cid)
                    && x.link_local_state(l) != EndpointState::Closed
                {
                    let _ = x.link_close(l, true, None);
                }
            }
            Action::Drained(lk) => {
                let Some(entry) = self.links.get(lk) else {
                    return out;
                };
                let (cid, l) = (entry.cid, entry.link);
                if let Some(x) = self.lp.engine(cid) {
                    let _ = x.link_drained(l);
                }
            }
            Action::AutoAccept(dk) => {
                let Some(d) = self.deliveries.get(dk) else {
                    return out;
                };
                let (cid, did, lk) = (d.cid, d.did, d.link);
                let auto = self.links.get(lk).is_some_and(|l| l.opts.auto_accept);
                let Some(x) = self.lp.engine(cid) else {
                    return out;
                };
                if !x.delivery_exists(did) {
                    self.forget_delivery(dk);
                } else if auto {
                    let state = if x.delivery_local_state(did).is_some() {
                        None
                    } else {
                        Some(DeliveryState::Accepted)
                    };
                    let _ = x.disposition(did, state, true);
                    self.forget_delivery(dk);
                } else if x.delivery_remote_settled(did) && x.delivery_local_state(did).is_some() {
                    let _ = x.settle(did);
                    self.forget_delivery(dk);
                }
            }
            Action::TopUp(lk) => {
                let Some(entry) = self.links.get(lk) else {
                    return out;
                };
                let (cid, l, window) = (entry.cid, entry.link, entry.opts.credit_window);
                if window > 0
                    && let Some(x) = self.lp.engine(cid)
                    && x.link_credit(l) <= window / 2
                    && x.link_local_state(l) == EndpointState::Active
                {
                    // Credit in batches: top up once half the window is used.
                    let _ = x.link_flow(l, window, false);
                }
            }
            Action::AutoSettle(dk) => {
                let Some(d) = self.deliveries.get(dk) else {
                    return out;
                };
                let (cid, did, lk) = (d.cid, d.did, d.link);
                let auto = self.links.get(lk).is_some_and(|l| l.opts.auto_settle);
                if auto {
                    if let Some(x) = self.lp.engine(cid) {
                        let _ = x.settle(did);
                    }
                    let mut ev = self.link_event(T::Settled, lk);
                    ev.delivery = muon_delivery::new(self.me, dk);
                    let ck = self.links.get(lk).map(|l| l.conn);
                    self.call(&mut out, |h| h.on_settled, Some(lk), ck, None, ev);
                    out.push(Action::ForgetDelivery(dk));
                } else {
                    let mut ev = self.link_event(T::Settled, lk);
                    ev.delivery = muon_delivery::new(self.me, dk);
                    let ck = self.links.get(lk).map(|l| l.conn);
                    self.call(&mut out, |h| h.on_settled, Some(lk), ck, None, ev);
                }
            }
            Action::ForgetDelivery(dk) => self.forget_delivery(dk),
            Action::RemoveLink(lk) => {
                if let Some(entry) = self.links.remove(lk) {
                    self.link_index.remove(&(entry.cid, entry.link));
                    let dead: Vec<Key> = self
                        .deliveries
                        .keys()
                        .filter(|k| self.deliveries.get(*k).is_some_and(|d| d.link == lk))
                        .collect();
                    for k in dead {
                        self.forget_delivery(k);
                    }
                    let keep = !entry.closed_by_app
                        && self.conns.get(entry.conn).is_some_and(|c| c.reconnect)
                        && self.lp.connection_exists(entry.cid);
                    if keep {
                        if let Some(c) = self.conns.get_mut(entry.conn) {
                            c.stash.insert(entry.link, entry);
                        }
                    } else if let Some(r) = entry.handler {
                        out.push(Action::Free(r));
                    }
                }
            }
            Action::RemoveConn(ck) => {
                if let Some(c) = self.conns.remove(ck) {
                    self.conn_index.remove(&c.id);
                    self.lp.release_connection(c.id);
                    for (_, l) in c.stash {
                        out.extend(l.handler.map(Action::Free));
                    }
                    out.extend(c.handler.map(Action::Free));
                }
            }
            Action::RemoveListener(lk) => {
                if let Some(l) = self.listeners.remove(lk) {
                    self.listener_index.remove(&l.id);
                    out.extend(l.handler.map(Action::Free));
                }
            }
        }
        out
    }
}

/// Borrows the loop for one step, on its own thread, unless poisoned.
///
/// # Safety
/// `p` is NULL or a live loop made by `muon_loop_new`.
pub(crate) unsafe fn with_state<R>(
    p: *mut muon_loop,
    f: impl FnOnce(&mut State) -> Result<R, muon_result>,
) -> Result<R, muon_result> {
    // SAFETY: the caller promises a live loop or NULL.
    let lb = unsafe { p.cast::<LoopBox>().as_ref() }.ok_or(muon_result::NullArgument)?;
    if std::thread::current().id() != lb.owner {
        return Err(muon_result::WrongThread);
    }
    // SAFETY: only the owner thread reaches here, and no callback runs while
    // this borrow lives (callbacks are made between steps), so this is the
    // only reference to the state.
    let st = unsafe { &mut *lb.state.get() };
    if st.poisoned {
        return Err(muon_result::Panic);
    }
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(st))) {
        Ok(r) => r,
        Err(_) => {
            // SAFETY: as above; the panicking borrow has ended.
            unsafe { &mut *lb.state.get() }.poisoned = true;
            Err(muon_result::Panic)
        }
    }
}

fn map_reactor(e: reactor::Error) -> muon_result {
    use std::io::ErrorKind;
    match e {
        reactor::Error::Io(io) => match io.kind() {
            ErrorKind::AddrInUse => muon_result::AddressInUse,
            ErrorKind::ConnectionRefused => muon_result::ConnectionRefused,
            ErrorKind::TimedOut => muon_result::TimedOut,
            _ => muon_result::IoError,
        },
        reactor::Error::InvalidUrl(_) => muon_result::InvalidArgument,
        reactor::Error::Resolve(_) => muon_result::ResolveFailed,
        reactor::Error::Stale(_) => muon_result::StaleHandle,
        reactor::Error::Engine(e) => map_engine(e),
    }
}

pub(crate) fn map_engine(e: crate::engine::Error) -> muon_result {
    use crate::engine::Error as E;
    match e {
        E::Stale(_) => muon_result::StaleHandle,
        E::WrongState(_) => muon_result::WrongState,
        E::NoCredit => muon_result::NoCredit,
        E::OutputFull(_) => muon_result::WrongState,
        E::InvalidArgument(_) => muon_result::InvalidArgument,
        E::Closed => muon_result::Closed,
        E::Decode(_) => muon_result::DecodeError,
    }
}

pub(crate) fn reactor_err(e: reactor::Error) -> muon_result {
    map_reactor(e)
}

/// Makes an event loop. Returns NULL if the OS refuses (no file
/// descriptors left).
///
/// Ownership moves out; free with `muon_loop_free`. The loop belongs to the
/// calling thread. Thread-safe; not callable from a callback of the same
/// thread's loop? It may be: loops are independent.
#[unsafe(no_mangle)]
pub extern "C" fn muon_loop_new() -> *mut muon_loop {
    boundary!(std::ptr::null_mut(), {
        let Ok(lp) = Loop::new() else {
            return std::ptr::null_mut();
        };
        let shared = Arc::new(Shared {
            waker: lp.waker(),
            posted: Mutex::new(Vec::new()),
        });
        let lb = Box::new(LoopBox {
            shared,
            owner: std::thread::current().id(),
            state: UnsafeCell::new(State {
                lp,
                me: std::ptr::null_mut(),
                dispatching: false,
                poisoned: false,
                default: None,
                conns: Slab::default(),
                conn_index: HashMap::new(),
                links: Slab::default(),
                link_index: HashMap::new(),
                deliveries: Slab::default(),
                delivery_index: HashMap::new(),
                listeners: Slab::default(),
                listener_index: HashMap::new(),
                timers: HashMap::new(),
                scratch: CString::default(),
                condition: None,
            }),
        });
        let p = Box::into_raw(lb);
        // SAFETY: `p` was just made from a Box and nothing else refers to it.
        unsafe { (*(*p).state.get()).me = p.cast() };
        p.cast()
    })
}

/// Sets the loop's default handler: it gets every event that no more
/// specific handler (link, connection, listener) implements. `handler` is
/// copied; NULL removes it. The previous handler's `userdata_free` is called.
///
/// `lp` and `handler` are borrowed for the call; `userdata` is the
/// application's, passed to every callback of this table. Results:
/// `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_WRONG_THREAD`.
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// `lp` is NULL or a live loop; `handler` is NULL or a `muon_handler` of at
/// least its declared `struct_size`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_set_handler(
    lp: *mut muon_loop,
    handler: *const muon_handler,
    userdata: *mut c_void,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a valid handler table or NULL.
        let new = unsafe { Registered::new(handler, userdata) };
        // SAFETY: the caller promises a live loop.
        let old = unsafe { with_state(lp, |st| Ok(std::mem::replace(&mut st.default, new))) }?;
        if let Some(old) = old {
            old.free_userdata();
        }
        Ok(())
    })
}

/// Runs the actions of one dispatch step; callbacks are made with no borrow
/// of the loop alive.
///
/// # Safety
/// `lp` is a live loop.
unsafe fn execute(lp: *mut muon_loop, actions: Vec<Action>) -> Result<(), muon_result> {
    let mut queue = std::collections::VecDeque::from(actions);
    while let Some(a) = queue.pop_front() {
        match a {
            Action::Call(Some(f), ud, ev) => {
                // SAFETY: `lp` is live (the caller's promise).
                unsafe { with_state(lp, |st| Ok(st.dispatching = true)) }?;
                let ev_ptr: *const muon_event = (&*ev as *const EventData).cast();
                // SAFETY: the application registered `f` for this event with
                // this userdata; the event lives until the call returns.
                unsafe { f(ud, ev_ptr) };
                drop(ev);
                // SAFETY: as above.
                unsafe { with_state(lp, |st| Ok(st.dispatching = false)) }?;
            }
            Action::Call(None, ..) => {}
            Action::Free(r) => r.free_userdata(),
            Action::RunPosted => {
                // SAFETY: `lp` is live (the caller's promise).
                let lb = unsafe { &*lp.cast::<LoopBox>() };
                let posted = std::mem::take(
                    &mut *lb.shared.posted.lock().unwrap_or_else(|e| e.into_inner()),
                );
                for p in posted {
                    // SAFETY: as above.
                    unsafe { with_state(lp, |st| Ok(st.dispatching = true)) }?;
                    // SAFETY: the application posted this function with this
                    // context to be run on the loop thread.
                    unsafe { (p.f)(p.context as *mut c_void) };
                    // SAFETY: as above.
                    unsafe { with_state(lp, |st| Ok(st.dispatching = false)) }?;
                }
            }
            other => {
                // SAFETY: as above.
                let more = unsafe { with_state(lp, |st| Ok(st.builtin(other))) }?;
                for (i, m) in more.into_iter().enumerate() {
                    queue.insert(i, m);
                }
            }
        }
    }
    Ok(())
}

/// Dispatches queued events; polls once (up to `timeout`) if none are
/// queued. Returns whether work remains.
///
/// # Safety
/// `lp` is a live loop, not dispatching.
unsafe fn step(
    lp: *mut muon_loop,
    timeout: Option<Duration>,
    poll: bool,
) -> Result<bool, muon_result> {
    // SAFETY: the caller's promise.
    let next = unsafe {
        with_state(lp, |st| {
            if let Some(ev) = st.lp.next_event() {
                return Ok(Some(st.prepare(ev)));
            }
            if !poll || !st.lp.has_work() {
                return Ok(None);
            }
            st.lp.poll(timeout).map_err(map_reactor)?;
            Ok(Some(Vec::new()))
        })
    }?;
    match next {
        None => Ok(false),
        Some(actions) => {
            // SAFETY: the caller's promise.
            unsafe { execute(lp, actions) }?;
            Ok(true)
        }
    }
}

fn enter(lp: *mut muon_loop) -> Result<(), muon_result> {
    // SAFETY: callers pass a pointer the application promised is live.
    unsafe {
        with_state(lp, |st| {
            if st.dispatching {
                return Err(muon_result::Reentrant);
            }
            st.lp.resume();
            Ok(())
        })
    }
}

/// Runs the loop until no work is left (no connections, listeners or
/// timers) or `muon_loop_stop` is called. Callbacks run inside this call.
///
/// `lp` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_REENTRANT` (called from a
/// callback), `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_IO_ERROR`,
/// `MUON_RESULT_PANIC`. Not thread-safe; not callable from a callback.
///
/// # Safety
/// `lp` is NULL or a live loop.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_run(lp: *mut muon_loop) -> muon_result {
    boundary!(result: {
        enter(lp)?;
        loop {
            // SAFETY: the caller promises a live loop; `enter` checked that
            // it is not dispatching.
            if !unsafe { step(lp, None, true) }? {
                return Ok(());
            }
            // SAFETY: as above.
            let stopped = unsafe { with_state(lp, |st| Ok(st.lp.is_stopped())) }?;
            if stopped {
                return Ok(());
            }
        }
    })
}

/// Waits up to `timeout_ms` milliseconds (−1: without limit; 0: not at
/// all) for something to happen, then dispatches every event that is ready.
///
/// `lp` is borrowed for the call. Results as `muon_loop_run`. Not
/// thread-safe; not callable from a callback.
///
/// # Safety
/// `lp` is NULL or a live loop.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_run_once(lp: *mut muon_loop, timeout_ms: i64) -> muon_result {
    boundary!(result: {
        enter(lp)?;
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        // SAFETY: the caller promises a live loop, not dispatching.
        unsafe { step(lp, timeout, true) }?;
        // SAFETY: as above.
        while unsafe { step(lp, None, false) }? {}
        Ok(())
    })
}

/// Makes `muon_loop_run` return after the current callback.
///
/// `lp` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_WRONG_THREAD`. Not
/// thread-safe (from another thread, use `muon_loop_wake` and stop in
/// `on_wake`); may be called from a callback.
///
/// # Safety
/// `lp` is NULL or a live loop.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_stop(lp: *mut muon_loop) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live loop.
        unsafe {
            with_state(lp, |st| {
                st.lp.stop();
                Ok(())
            })
        }
    })
}

/// Wakes the loop: it soon calls the default handler's `on_wake`.
///
/// `lp` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_IO_ERROR`. **Thread-safe**:
/// may be called from any thread while the loop is alive, and from a
/// callback.
///
/// # Safety
/// `lp` is NULL or a live loop (not freed concurrently).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_wake(lp: *mut muon_loop) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live loop; only the thread-safe
        // `shared` part is touched.
        let lb = unsafe { lp.cast::<LoopBox>().as_ref() }.ok_or(muon_result::NullArgument)?;
        lb.shared.waker.wake().map_err(|_| muon_result::IoError)
    })
}

/// Runs `f(context)` on the loop's thread, soon, from inside the loop's
/// dispatch (before `on_wake`). For work that comes from another thread,
/// like the tutorial's messages read from a database thread.
///
/// `lp` is borrowed for the call; `context` is the application's.
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT` (also for a NULL
/// `f`), `MUON_RESULT_IO_ERROR`. **Thread-safe**.
///
/// # Safety
/// `lp` is NULL or a live loop (not freed concurrently); `f` is safe to
/// call on the loop thread with `context`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_post(
    lp: *mut muon_loop,
    f: muon_post_fn,
    context: *mut c_void,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live loop; only `shared` is touched.
        let lb = unsafe { lp.cast::<LoopBox>().as_ref() }.ok_or(muon_result::NullArgument)?;
        let f = f.ok_or(muon_result::NullArgument)?;
        lb.shared
            .posted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Posted { f, context: context as usize });
        lb.shared.waker.wake().map_err(|_| muon_result::IoError)
    })
}

/// Frees the loop and everything it owns: open connections are dropped
/// without a close handshake, and every `userdata_free` not yet called is
/// called. Every handle of the loop is invalid afterwards. NULL is ignored.
///
/// `lp`: ownership moves in. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_REENTRANT` (from a callback: nothing is freed),
/// `MUON_RESULT_WRONG_THREAD`. Not thread-safe; not callable from a
/// callback.
///
/// # Safety
/// `lp` is NULL or a live loop; no other thread uses it any more.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_free(lp: *mut muon_loop) -> muon_result {
    boundary!(result: {
        if lp.is_null() {
            return Ok(());
        }
        // SAFETY: the caller promises a live loop.
        let dispatching = unsafe { with_state(lp, |st| Ok(st.dispatching)) };
        match dispatching {
            Ok(true) => return Err(muon_result::Reentrant),
            Err(muon_result::WrongThread) => return Err(muon_result::WrongThread),
            _ => {}
        }
        // SAFETY: made by Box::into_raw in muon_loop_new; the caller hands
        // it back and uses it no more.
        let lb = unsafe { Box::from_raw(lp.cast::<LoopBox>()) };
        let st = lb.state.into_inner();
        let mut regs: Vec<Registered> = Vec::new();
        for k in st.links.keys() {
            if let Some(r) = st.links.get(k).and_then(|l| l.handler) {
                regs.push(r);
            }
        }
        for k in st.conns.keys() {
            if let Some(c) = st.conns.get(k) {
                regs.extend(c.stash.values().filter_map(|l| l.handler));
                regs.extend(c.handler);
            }
        }
        for k in st.listeners.keys() {
            regs.extend(st.listeners.get(k).and_then(|l| l.handler));
        }
        regs.extend(st.timers.values().copied());
        regs.extend(st.default);
        drop(st);
        for r in regs {
            r.free_userdata();
        }
        Ok(())
    })
}

/// Schedules `on_timer` after `delay_ms` milliseconds, on `handler` (or the
/// loop's default handler if NULL or if it lacks `on_timer`) with
/// `userdata`. The handler's `userdata_free` is called once the timer fired
/// or was cancelled.
///
/// `lp` and `handler` are borrowed for the call; `out` (may be NULL)
/// receives the timer's handle. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_WRONG_THREAD`. Not
/// thread-safe; may be called from a callback.
///
/// # Safety
/// `lp` is NULL or a live loop; `handler` is NULL or a valid table; `out`
/// is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_schedule(
    lp: *mut muon_loop,
    delay_ms: u64,
    handler: *const muon_handler,
    userdata: *mut c_void,
    out: *mut muon_timer,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a valid handler table or NULL.
        let mut reg = unsafe { Registered::new(handler, userdata) };
        // SAFETY: the caller promises a live loop.
        unsafe {
            with_state(lp, |st| {
                let reg = reg.take().unwrap_or(Registered {
                    handler: muon_handler::empty(),
                    userdata,
                });
                let id = st.lp.schedule(Duration::from_millis(delay_ms), 0);
                st.timers.insert(id, reg);
                if !out.is_null() {
                    // Non-NULL and writable, as the caller promises.
                    out.write(muon_timer::new(st.me, id.0));
                }
                Ok(())
            })
        }
    })
}

/// Cancels a timer that has not fired; its `userdata_free` is called.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT` (null handle),
/// `MUON_RESULT_STALE_HANDLE` (fired or cancelled already),
/// `MUON_RESULT_WRONG_THREAD`. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// The handle's loop is live (or the handle is null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_timer_cancel(timer: muon_timer) -> muon_result {
    boundary!(result: {
        if timer.is_null() {
            return Err(muon_result::NullArgument);
        }
        // SAFETY: the caller promises the handle's loop is live.
        let r = unsafe {
            with_state(timer.owner, |st| {
                let id = TimerId(timer.key());
                st.lp.cancel(id).map_err(map_reactor)?;
                Ok(st.timers.remove(&id))
            })
        }?;
        if let Some(r) = r {
            r.free_userdata();
        }
        Ok(())
    })
}
