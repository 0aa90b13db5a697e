//! What the loop knows about its endpoints, and how a reactor event becomes
//! callbacks and built-in behaviour.
//!
//! [`State::prepare`] turns one [`LoopEvent`] into a list of [`Action`]s;
//! `event_loop.rs` runs them one by one, borrowing the state only between
//! callbacks. Which handler gets a callback is decided when the callback is
//! about to run (not when the event was prepared), so a handler set by an
//! earlier callback of the same event (e.g. in `on_link_remote_attach`)
//! already gets the next one. Built-ins run after the application's
//! callback for the same event, so the application can take over first
//! (settle a message itself, open a link itself, set its terminus).

use std::collections::VecDeque;
use std::ffi::{CString, c_void};
use std::rc::Rc;

use super::event::{Condition, EventData, muon_event_kind as K};
use super::event_loop::muon_loop;
use super::handle::{
    muon_connection, muon_delivery, muon_listener, muon_receiver, muon_sender, muon_timer,
};
use super::handler::{Registered, muon_callback, muon_handler};
use super::idmap::IdMap;
use super::link_options::LinkOpts;
use super::message::MessageBox;
use super::terminus::TerminusView;
use crate::codec::Value;
use crate::codec::message::Message;
use crate::codec::messaging::{DeliveryState, Rejected};
use crate::codec::transport::{AmqpError, Role, condition};
use crate::engine::{DeliveryId, Event, Key, LinkId, SessionId};
use crate::reactor::{ConnId, ListenerId, Loop, LoopEvent, Slab, TimerId};

/// The application's log callback, with its userdata.
#[derive(Clone, Copy)]
pub(crate) struct LogTarget {
    pub f: unsafe extern "C" fn(*mut c_void, *const std::ffi::c_char),
    pub userdata: *mut c_void,
}

pub(crate) struct ConnEntry {
    pub id: ConnId,
    pub handler: Option<Registered>,
    /// The handler of the listener that accepted it, copied at accept so
    /// that the connection keeps it after the listener's final event.
    pub listener_handler: Option<Rc<Registered>>,
    /// Answer the peer's open and close (and, for its links, attach and
    /// detach) automatically.
    pub handshake: bool,
    /// Entries of links that ended with their transport and will be
    /// attached again by the reconnect, by their old engine ID.
    pub stash: IdMap<LinkId, LinkEntry>,
    /// The condition the application closed it with.
    pub local_error: Option<AmqpError>,
    /// The link to the peer's transaction coordinator this side opened
    /// (`muon_connection_declare_transaction`), while it lasts.
    pub controller: Option<Key>,
}

pub(crate) struct LinkEntry {
    pub conn: Key,
    pub cid: ConnId,
    pub link: LinkId,
    pub role: Role,
    pub handler: Option<Registered>,
    pub opts: LinkOpts,
    /// The application closed it: it is not attached again on reconnect.
    pub closed_by_app: bool,
    /// The condition this side closed the link with.
    pub local_error: Option<AmqpError>,
    /// A sender's messages waiting for credit, oldest first (at most
    /// `opts.max_queued`); sent before any newer message.
    pub queue: VecDeque<Queued>,
    /// A transaction controller's link (ours, to the peer's coordinator)
    /// or a coordinator's (the peer's controller attached it): muon's
    /// own, whose events are transaction events, never link events.
    pub coordinator: bool,
}

/// A message `muon_sender_send` queued: its encoding, and its delivery
/// (none when sent pre-settled).
pub(crate) struct Queued {
    pub bytes: Vec<u8>,
    pub delivery: Option<Key>,
    /// The tag the application chose (`muon_sender_send_with`).
    pub tag: Option<crate::codec::DeliveryTag>,
    /// The transfer's message-format.
    pub format: u32,
    /// The transfer's state (a `transactional-state` for a message sent
    /// in a transaction).
    pub state: Option<DeliveryState>,
}

/// The condition of a queued message handed back unsent.
pub(crate) const NOT_SENT: &str = "muon:not-sent";

/// The engine ID a queued delivery has until it is sent: it names nothing.
pub(crate) const NOT_YET_SENT: DeliveryId = DeliveryId(Key {
    index: u32::MAX,
    generation: 0,
});

pub(crate) struct DeliveryEntry {
    pub cid: ConnId,
    pub link: Key,
    pub did: DeliveryId,
    /// `on_accepted` (or another outcome) was reported.
    pub outcome_reported: bool,
    /// `on_settled` was reported.
    pub settled_reported: bool,
    /// Still in its sender's queue: not sent, `did` is [`NOT_YET_SENT`]
    /// and it is not in `delivery_index`.
    pub queued: bool,
    /// A declare request on a coordinator's link (server side): the one
    /// kind of delivery `muon_delivery_declared` answers.
    pub declare: bool,
}

pub(crate) struct ListenerEntry {
    pub id: ListenerId,
    /// Shared with the connections it accepted, which keep it after the
    /// listener's final event; its `userdata_free` is due when the last of
    /// them is removed.
    pub handler: Option<Rc<Registered>>,
    /// Handshake setting of the connections it accepts.
    pub handshake: bool,
}

/// What a timer was scheduled with: its own handler table (if any) and
/// its userdata.
#[derive(Clone, Copy)]
pub(crate) struct TimerReg {
    pub reg: Option<Registered>,
    pub userdata: *mut c_void,
}

/// Whose view a getter returned (see [`State::views`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ViewOf {
    Conn(Key),
    Link(Key),
}

/// Memory behind a pointer a getter handed to C. The pointer goes to heap
/// memory the view owns, so it stays put when the view itself moves.
pub(crate) enum View {
    Text(CString),
    Condition(Box<Condition>),
    Value(Box<Value<'static>>),
    Terminus(Box<TerminusView>),
}

impl View {
    /// The pointer C gets.
    fn as_ptr<T>(&self) -> *const T {
        match self {
            View::Text(s) => s.as_ptr().cast(),
            View::Condition(c) => (&**c as *const Condition).cast(),
            View::Value(x) => (&**x as *const Value<'static>).cast(),
            View::Terminus(t) => (&**t as *const TerminusView).cast(),
        }
    }

    /// Whether C would read the same thing from both (values compare by
    /// their encoding, so that NaN matches itself and -0.0 is not 0.0).
    fn same(&self, other: &View) -> bool {
        match (self, other) {
            (View::Text(a), View::Text(b)) => a == b,
            (View::Condition(a), View::Condition(b)) => {
                a.name == b.name && a.description == b.description
            }
            (View::Value(a), View::Value(b)) => same_value(a, b),
            (View::Terminus(a), View::Terminus(b)) => a.same(b),
            _ => false,
        }
    }
}

/// Whether two values encode to the same bytes.
pub(crate) fn same_value(a: &Value<'_>, b: &Value<'_>) -> bool {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    crate::codec::encode_value(a, &mut x);
    crate::codec::encode_value(b, &mut y);
    x == y
}

pub(crate) struct State {
    pub lp: Loop,
    pub me: *mut muon_loop,
    pub dispatching: bool,
    pub poisoned: bool,
    pub default: Option<Registered>,
    pub conns: Slab<ConnEntry>,
    pub conn_index: IdMap<ConnId, Key>,
    pub links: Slab<LinkEntry>,
    pub link_index: IdMap<(ConnId, LinkId), Key>,
    pub deliveries: Slab<DeliveryEntry>,
    pub delivery_index: IdMap<(ConnId, DeliveryId), Key>,
    pub listeners: Slab<ListenerEntry>,
    pub listener_index: IdMap<ListenerId, Key>,
    pub timers: IdMap<TimerId, TimerReg>,
    /// What getters returned, per handle and getter: every distinct view
    /// each returned, kept until the handle's object is removed after its
    /// final event, so that no pointer a getter returned is invalidated by
    /// a later call. A getter returns the kept view when the content is
    /// unchanged, so the memory grows only with the number of distinct
    /// values the object had (its remote open, attach, conditions), not
    /// with the number of calls.
    /// Keyed by owner first, so that dropping an object's views costs
    /// only its own.
    pub views: IdMap<ViewOf, Vec<(&'static str, View)>>,
    /// Userdata whose `userdata_free` is due; called at the next dispatch
    /// step, never from inside the API call that made it due.
    pub deferred_free: Vec<Registered>,
    /// Closes asked for inside a callback: they take effect once the
    /// current event is handled, so that its built-ins (e.g. accepting
    /// the message of `on_message`) still go out before the close.
    pub pending_closes: Vec<PendingClose>,
    pub log: Option<LogTarget>,
    /// The senders `muon_connection_sender_to` opened, by connection and
    /// address (peer input: a SipHash map).
    pub senders_to: std::collections::HashMap<(Key, String), Key>,
    /// Transactions this side declared (`muon_transaction` handles).
    pub txns: Slab<super::transaction::TxnEntry>,
    /// The declare and discharge deliveries in flight, with their
    /// transaction.
    pub txn_requests: IdMap<Key, Key>,
}

/// A close asked for inside a callback.
pub(crate) enum PendingClose {
    Conn(ConnId, Option<AmqpError>),
    /// `muon_connection_abort`.
    Abort(ConnId),
    /// A link's close (`true`) or detach (`false`, `muon_sender_detach`).
    Link(ConnId, LinkId, bool, Option<AmqpError>),
}

/// Picks one callback out of a handler table.
pub(crate) type Pick = fn(&muon_handler) -> muon_callback;

/// One step of a dispatch.
pub(crate) enum Action {
    /// Call the most specific handler (link, connection, listener, loop)
    /// that implements `pick`.
    Dispatch {
        pick: Pick,
        link: Option<Key>,
        conn: Option<Key>,
        listener: Option<Key>,
        ev: Box<EventData>,
    },
    /// Call a timer's own `on_timer` (else the loop's), then free its
    /// userdata.
    Timer {
        reg: Box<TimerReg>,
        ev: Box<EventData>,
    },
    /// Run a built-in behaviour.
    Builtin(Builtin),
    /// Run the functions posted from other threads.
    RunPosted,
}

pub(crate) enum Builtin {
    OpenConnection(Key),
    CloseConnection(Key),
    OpenSession(ConnId, SessionId),
    CloseSession(ConnId, SessionId),
    OpenLink(Key),
    CloseLink(Key),
    Drained(Key),
    AutoAccept(Key),
    TopUp(Key),
    AutoSettle(Key),
    Settle(Key),
    RemoveLink(Key),
    RemoveConn(Key),
    RemoveListener(Key),
    /// A login the application did not decide on is refused.
    SaslUndecided(Key),
    /// Answers a controller's attach: opened if the application
    /// coordinates transactions (`on_coordinator_declare`), else refused.
    OpenCoordinator(Key),
    /// A declare or discharge the application left unanswered is refused.
    CoordinatorUndecided(Key),
    /// A transaction's final event was dispatched: its handle goes.
    RemoveTxn(Key),
}

impl State {
    pub(crate) fn new(lp: Loop) -> State {
        State {
            lp,
            me: std::ptr::null_mut(),
            dispatching: false,
            poisoned: false,
            default: None,
            conns: Slab::default(),
            conn_index: IdMap::default(),
            links: Slab::default(),
            link_index: IdMap::default(),
            deliveries: Slab::default(),
            delivery_index: IdMap::default(),
            listeners: Slab::default(),
            listener_index: IdMap::default(),
            timers: IdMap::default(),
            views: IdMap::default(),
            deferred_free: Vec::new(),
            pending_closes: Vec::new(),
            log: None,
            senders_to: Default::default(),
            txns: Slab::default(),
            txn_requests: IdMap::default(),
        }
    }

    /// The most specific handler implementing `pick`, with its userdata:
    /// the link's, the connection's, the listener's (for a connection it
    /// accepted), the loop's.
    pub(crate) fn resolve(
        &self,
        pick: Pick,
        link: Option<Key>,
        conn: Option<Key>,
        listener: Option<Key>,
    ) -> Option<(
        unsafe extern "C" fn(*mut c_void, *const super::event::muon_event),
        *mut c_void,
    )> {
        let l = link.and_then(|k| self.links.get(k));
        if l.is_some_and(|l| l.coordinator) {
            // muon's own link: its events are transaction events.
            return None;
        }
        let conn = conn.or_else(|| l.map(|l| l.conn));
        let c = conn.and_then(|k| self.conns.get(k));
        let lis = match listener {
            Some(k) => self.listeners.get(k).and_then(|e| e.handler.as_deref()),
            None => c.and_then(|e| e.listener_handler.as_deref()),
        }
        .copied();
        [
            l.and_then(|e| e.handler),
            c.and_then(|e| e.handler),
            lis,
            self.default,
        ]
        .into_iter()
        .flatten()
        .find_map(|r| pick(&r.handler).map(|f| (f, r.userdata)))
    }

    pub(crate) fn event(&self, kind: K, conn: Option<Key>) -> EventData {
        let mut e = EventData::new(kind, self.me);
        if let Some(k) = conn {
            e.connection = muon_connection::new(self.me, k);
        }
        e
    }

    pub(crate) fn link_event(&self, kind: K, lk: Key) -> EventData {
        let entry = self.links.get(lk);
        let mut e = self.event(kind, entry.map(|x| x.conn));
        match entry.map(|x| x.role) {
            Some(Role::Sender) => e.sender = muon_sender::new(self.me, lk),
            Some(Role::Receiver) => e.receiver = muon_receiver::new(self.me, lk),
            None => {}
        }
        e
    }

    pub(crate) fn dispatch(
        out: &mut Vec<Action>,
        pick: Pick,
        link: Option<Key>,
        conn: Option<Key>,
        ev: EventData,
    ) {
        out.push(Action::Dispatch {
            pick,
            link,
            conn,
            listener: None,
            ev: pool::boxed(ev),
        });
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
            local_error: None,
            queue: VecDeque::new(),
            coordinator: false,
        });
        self.link_index.insert((cid, link), k);
        k
    }

    pub(crate) fn register_delivery(&mut self, cid: ConnId, lk: Key, did: DeliveryId) -> Key {
        if let Some(k) = self.delivery_index.get(&(cid, did)) {
            return *k;
        }
        let k = self.deliveries.insert(DeliveryEntry {
            cid,
            link: lk,
            did,
            outcome_reported: false,
            settled_reported: false,
            queued: false,
            declare: false,
        });
        self.delivery_index.insert((cid, did), k);
        k
    }

    pub(crate) fn forget_delivery(&mut self, k: Key) {
        if let Some(d) = self.deliveries.remove(k)
            && !d.queued
        {
            self.delivery_index.remove(&(d.cid, d.did));
        }
    }

    // ---- the send queue -----------------------------------------------------------

    /// Sends link `lk`'s queued messages, oldest first, while the engine
    /// takes them (credit, output room). A message that can never go (too
    /// large for the peer) is handed back at once. Returns true when the
    /// queue is empty.
    pub(crate) fn flush_queue(&mut self, lk: Key, out: &mut Vec<Action>) -> bool {
        use crate::engine::Error as E;
        let Some(entry) = self.links.get_mut(lk) else {
            return true;
        };
        if entry.queue.is_empty() {
            return true;
        }
        let (cid, l, presettled) = (entry.cid, entry.link, entry.opts.presettled);
        let Some(x) = self.lp.engine(cid) else {
            return false;
        };
        let mut too_large = Vec::new();
        while let Some(q) = entry.queue.front() {
            let tag = q.tag.as_ref().map(crate::codec::DeliveryTag::as_bytes);
            let state = q.state.clone();
            match x.send_with_state(l, tag, q.bytes.as_slice(), presettled, q.format, state) {
                Ok(d) => {
                    let Some(q) = entry.queue.pop_front() else {
                        break;
                    };
                    let Some(dk) = q.delivery else {
                        continue;
                    };
                    if x.delivery_exists(d)
                        && let Some(de) = self.deliveries.get_mut(dk)
                    {
                        de.did = d;
                        de.queued = false;
                        self.delivery_index.insert((cid, d), dk);
                    } else {
                        // Sent settled after all: nothing more to report.
                        self.deliveries.remove(dk);
                    }
                }
                Err(E::InvalidArgument(why)) => {
                    too_large.extend(entry.queue.pop_front().map(|q| (q, why)));
                }
                // No credit, no room, or the link is ending (its queue is
                // handed back at its final event).
                Err(_) => break,
            }
        }
        let empty = entry.queue.is_empty();
        for (q, why) in too_large {
            let e = AmqpError::new(condition::MESSAGE_SIZE_EXCEEDED, why);
            self.hand_back(lk, q, &e, out);
        }
        empty
    }

    /// Hands a queued message back to the application unsent:
    /// `on_released` with the message and `error`, then `on_settled`; its
    /// delivery handle is stale after.
    pub(crate) fn hand_back(
        &mut self,
        lk: Key,
        q: Queued,
        error: &AmqpError,
        out: &mut Vec<Action>,
    ) {
        let ck = self.links.get(lk).map(|l| l.conn);
        let delivery = q
            .delivery
            .filter(|dk| self.deliveries.get(*dk).is_some_and(|d| d.queued))
            .map_or(muon_delivery::NULL, |dk| muon_delivery::new(self.me, dk));
        let msg = Message::decode_boxed(&[&q.bytes]).unwrap_or_default();
        let mut ev = self.link_event(K::Released, lk);
        ev.delivery = delivery;
        ev.message = Some(MessageBox::received(msg, q.bytes));
        ev.condition = Some(Condition::from_error(error));
        Self::dispatch(out, |h| h.on_released, Some(lk), ck, ev);
        if let Some(dk) = q.delivery.filter(|_| !delivery.is_null()) {
            let mut ev = self.link_event(K::Settled, lk);
            ev.delivery = delivery;
            Self::dispatch(out, |h| h.on_settled, Some(lk), ck, ev);
            out.push(Action::Builtin(Builtin::Settle(dk)));
        }
    }

    /// Hands back every message still queued on link `lk`.
    fn hand_back_all(&mut self, lk: Key, why: &str, out: &mut Vec<Action>) {
        let Some(entry) = self.links.get_mut(lk) else {
            return;
        };
        let queue = std::mem::take(&mut entry.queue);
        if queue.is_empty() {
            return;
        }
        let e = AmqpError::new(NOT_SENT, why);
        for q in queue {
            self.hand_back(lk, q, &e, out);
        }
    }

    /// Gives link `lk` the queue of the link it replaces (on reconnect),
    /// with its deliveries.
    fn adopt_queue(&mut self, queue: VecDeque<Queued>, lk: Key) {
        for dk in queue.iter().filter_map(|q| q.delivery) {
            if let Some(d) = self.deliveries.get_mut(dk) {
                d.link = lk;
            }
        }
        if let Some(e) = self.links.get_mut(lk) {
            e.queue = queue;
        }
    }

    /// The connection ends with links kept for a reconnect that will not
    /// come: their queued messages are handed back, each link's under a
    /// handle valid for those callbacks only (its own handle went stale at
    /// its `on_link_final`), with the link's handler.
    fn hand_back_stashed(&mut self, ck: Key, out: &mut Vec<Action>) {
        let Some(c) = self.conns.get_mut(ck) else {
            return;
        };
        let waiting: Vec<LinkId> = c
            .stash
            .iter()
            .filter(|(_, e)| !e.queue.is_empty())
            .map(|(l, _)| *l)
            .collect();
        for l in waiting {
            let Some(mut entry) = self.conns.get_mut(ck).and_then(|c| c.stash.remove(&l)) else {
                continue;
            };
            let queue = std::mem::take(&mut entry.queue);
            // Not in link_index: the ID may name a link of a newer engine.
            entry.closed_by_app = true;
            let lk = self.links.insert(entry);
            self.adopt_queue(queue, lk);
            self.hand_back_all(
                lk,
                "the connection ended before the message could be sent",
                out,
            );
            out.push(Action::Builtin(Builtin::RemoveLink(lk)));
        }
    }

    /// Returns a pointer to a kept view of (`of`, `getter`) with the
    /// content of `view`: the one kept already if there is one, else
    /// `view`, kept from now on. Pointers returned earlier stay valid.
    pub(crate) fn keep_view<T>(
        &mut self,
        of: ViewOf,
        getter: &'static str,
        view: View,
    ) -> *const T {
        let kept = self.views.entry(of).or_default();
        match kept.iter().find(|(g, v)| *g == getter && v.same(&view)) {
            Some((_, v)) => v.as_ptr(),
            None => {
                let p = view.as_ptr();
                kept.push((getter, view));
                p
            }
        }
    }

    /// How many views are kept for `of`, all getters together.
    #[cfg(test)]
    pub(crate) fn views_kept(&self, of: ViewOf) -> usize {
        self.views.get(&of).map_or(0, Vec::len)
    }

    pub(crate) fn drop_views(&mut self, of: ViewOf) {
        self.views.remove(&of);
    }

    // ---- events ---------------------------------------------------------------

    /// Works out the callbacks and built-ins for one reactor event.
    pub(crate) fn prepare(&mut self, ev: LoopEvent) -> Vec<Action> {
        let mut out = pool::actions();
        match ev {
            LoopEvent::Engine(cid, e) => self.prepare_engine(cid, e, &mut out),
            LoopEvent::Accepted(lid, cid) => {
                let lk = self.listener_index.get(&lid).copied();
                let entry = lk.and_then(|k| self.listeners.get(k));
                let handshake = entry.is_none_or(|l| l.handshake);
                let listener_handler = entry.and_then(|l| l.handler.clone());
                let ck = self.conns.insert(ConnEntry {
                    id: cid,
                    handler: None,
                    listener_handler,
                    handshake,
                    stash: IdMap::default(),
                    local_error: None,
                    controller: None,
                });
                self.conn_index.insert(cid, ck);
                let mut e = self.event(K::ConnectionAccepted, Some(ck));
                if let Some(lk) = lk {
                    e.listener = muon_listener::new(self.me, lk);
                }
                Self::dispatch(&mut out, |h| h.on_connection_accepted, None, Some(ck), e);
            }
            LoopEvent::ListenerOpen(lid) => {
                if let Some(lk) = self.listener_index.get(&lid).copied() {
                    let mut e = self.event(K::ListenerOpen, None);
                    e.listener = muon_listener::new(self.me, lk);
                    out.push(Action::Dispatch {
                        pick: |h| h.on_listener_open,
                        link: None,
                        conn: None,
                        listener: Some(lk),
                        ev: Box::new(e),
                    });
                }
            }
            LoopEvent::ListenerFinal(lid) => {
                if let Some(lk) = self.listener_index.get(&lid).copied() {
                    let mut e = self.event(K::ListenerFinal, None);
                    e.listener = muon_listener::new(self.me, lk);
                    out.push(Action::Dispatch {
                        pick: |h| h.on_listener_final,
                        link: None,
                        conn: None,
                        listener: Some(lk),
                        ev: Box::new(e),
                    });
                    out.push(Action::Builtin(Builtin::RemoveListener(lk)));
                } else {
                    self.lp.release_listener(lid);
                }
            }
            LoopEvent::Disconnected(cid, reason) => {
                if let Some(ck) = self.conn_index.get(&cid).copied() {
                    let mut e = self.event(K::Disconnected, Some(ck));
                    e.condition = Some(Condition::from_error(&reason));
                    Self::dispatch(&mut out, |h| h.on_disconnected, None, Some(ck), e);
                }
            }
            LoopEvent::Reconnected(cid) => {
                if let Some(ck) = self.conn_index.get(&cid).copied() {
                    let e = self.event(K::Reconnected, Some(ck));
                    Self::dispatch(&mut out, |h| h.on_reconnected, None, Some(ck), e);
                }
            }
            LoopEvent::LinkRecreated { conn, old, new } => {
                if let Some(ck) = self.conn_index.get(&conn).copied()
                    && let Some(entry) = self.conns.get_mut(ck).and_then(|c| c.stash.remove(&old))
                {
                    let lk =
                        self.register_link(ck, conn, new, entry.role, entry.handler, entry.opts);
                    // Messages still queued go out on the new link, first.
                    self.adopt_queue(entry.queue, lk);
                    out.push(Action::Builtin(Builtin::TopUp(lk)));
                }
            }
            LoopEvent::ConnectionFinal(cid) => match self.conn_index.get(&cid).copied() {
                Some(ck) => {
                    self.hand_back_stashed(ck, &mut out);
                    let e = self.event(K::ConnectionFinal, Some(ck));
                    Self::dispatch(&mut out, |h| h.on_connection_final, None, Some(ck), e);
                    out.push(Action::Builtin(Builtin::RemoveConn(ck)));
                }
                None => self.lp.release_connection(cid),
            },
            LoopEvent::Timer(tid, _) => {
                if let Some(reg) = self.timers.remove(&tid) {
                    let mut e = self.event(K::Timer, None);
                    e.timer = muon_timer::new(self.me, tid.0);
                    out.push(Action::Timer {
                        reg: Box::new(reg),
                        ev: Box::new(e),
                    });
                }
            }
            LoopEvent::Wake => {
                out.push(Action::RunPosted);
                let e = self.event(K::Wake, None);
                Self::dispatch(&mut out, |h| h.on_wake, None, None, e);
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
                let ev = self.event(K::ConnectionRemoteOpen, me);
                Self::dispatch(out, |h| h.on_connection_remote_open, None, me, ev);
                out.push(Action::Builtin(Builtin::OpenConnection(ck)));
            }
            Event::ConnectionRemoteClose => {
                let mut ev = self.event(K::ConnectionRemoteClose, me);
                ev.condition = self
                    .lp
                    .engine_ref(cid)
                    .and_then(|x| x.remote_condition())
                    .map(Condition::from_error);
                Self::dispatch(out, |h| h.on_connection_remote_close, None, me, ev);
                out.push(Action::Builtin(Builtin::CloseConnection(ck)));
            }
            Event::SessionRemoteOpen(s) => {
                let ev = self.event(K::SessionRemoteOpen, me);
                Self::dispatch(out, |h| h.on_session_remote_open, None, me, ev);
                out.push(Action::Builtin(Builtin::OpenSession(cid, s)));
            }
            Event::SessionRemoteClose(s) => {
                let mut ev = self.event(K::SessionRemoteClose, me);
                ev.condition = self
                    .lp
                    .engine_ref(cid)
                    .and_then(|x| x.session_remote_condition(s))
                    .map(Condition::from_error);
                Self::dispatch(out, |h| h.on_session_remote_close, None, me, ev);
                out.push(Action::Builtin(Builtin::CloseSession(cid, s)));
            }
            Event::LinkRemoteOpen(l) => {
                let lk = match self.link_index.get(&(cid, l)).copied() {
                    Some(lk) => lk,
                    None => {
                        // A link the peer attached: this side answers it.
                        let role = self
                            .lp
                            .engine_ref(cid)
                            .and_then(|x| x.link_role(l))
                            .unwrap_or(Role::Receiver);
                        let opts = LinkOpts {
                            handshake: self.conns.get(ck).is_none_or(|c| c.handshake),
                            ..LinkOpts::default()
                        };
                        let lk = self.register_link(ck, cid, l, role, None, opts);
                        let coordinator = role == Role::Receiver
                            && self
                                .lp
                                .engine_ref(cid)
                                .is_some_and(|x| x.link_remote_coordinator(l).is_some());
                        if coordinator {
                            // A controller: muon answers it (or refuses it,
                            // when the application coordinates nothing).
                            if let Some(e) = self.links.get_mut(lk) {
                                e.coordinator = true;
                            }
                            out.push(Action::Builtin(Builtin::OpenCoordinator(lk)));
                            return;
                        }
                        let ev = self.link_event(K::LinkRemoteAttach, lk);
                        Self::dispatch(out, |h| h.on_link_remote_attach, Some(lk), me, ev);
                        out.push(Action::Builtin(Builtin::OpenLink(lk)));
                        lk
                    }
                };
                let ev = self.link_event(K::LinkRemoteOpen, lk);
                Self::dispatch(out, |h| h.on_link_remote_open, Some(lk), me, ev);
            }
            Event::LinkRemoteClose(l) => {
                if let Some(lk) = self.link_index.get(&(cid, l)).copied() {
                    let mut ev = self.link_event(K::LinkRemoteClose, lk);
                    ev.condition = self
                        .lp
                        .engine_ref(cid)
                        .and_then(|x| x.link_remote_condition(l))
                        .map(Condition::from_error);
                    Self::dispatch(out, |h| h.on_link_remote_close, Some(lk), me, ev);
                    out.push(Action::Builtin(Builtin::CloseLink(lk)));
                }
            }
            Event::LinkFinal(l) => {
                if let Some(lk) = self.link_index.get(&(cid, l)).copied() {
                    // Kept for the link a reconnect attaches again; else
                    // handed back while the link's handle is still valid.
                    if !self.lp.will_recreate(cid, l) {
                        self.hand_back_all(
                            lk,
                            "the link ended before the message could be sent",
                            out,
                        );
                    }
                    if self.links.get(lk).is_some_and(|e| e.coordinator) {
                        self.controller_gone(ck, lk, out);
                    }
                    let ev = self.link_event(K::LinkFinal, lk);
                    Self::dispatch(out, |h| h.on_link_final, Some(lk), me, ev);
                    out.push(Action::Builtin(Builtin::RemoveLink(lk)));
                }
            }
            Event::LinkFlow(l) => {
                let Some(lk) = self.link_index.get(&(cid, l)).copied() else {
                    return;
                };
                // Queued messages first; the application hears of credit
                // only once they are all sent.
                if !self.flush_queue(lk, out) {
                    return;
                }
                let Some(x) = self.lp.engine_ref(cid) else {
                    return;
                };
                let sender = x.link_role(l) == Some(Role::Sender);
                if sender && x.link_credit(l) == 0 && !x.link_drain(l) {
                    return; // nothing to send with
                }
                let ev = self.link_event(K::LinkFlow, lk);
                Self::dispatch(out, |h| h.on_link_flow, Some(lk), me, ev);
                if sender {
                    out.push(Action::Builtin(Builtin::Drained(lk)));
                }
            }
            Event::Delivery(d) => self.prepare_delivery(cid, ck, d, out),
            Event::DeliveryUpdated(d) => self.prepare_update(cid, ck, d, out),
            // Reported once, by on_disconnected (LoopEvent::Disconnected
            // carries it).
            Event::TransportError(_) => {}
            Event::SaslAuthenticate => {
                let ev = self.event(K::SaslAuthenticate, me);
                Self::dispatch(out, |h| h.on_sasl_authenticate, None, me, ev);
                out.push(Action::Builtin(Builtin::SaslUndecided(ck)));
            }
            Event::SessionFinal(_) | Event::TransportClosed | Event::SaslDone => {}
        }
    }

    fn prepare_delivery(&mut self, cid: ConnId, ck: Key, d: DeliveryId, out: &mut Vec<Action>) {
        let Some(x) = self.lp.engine(cid) else {
            return;
        };
        let Some(lk) = x
            .delivery_link(d)
            .and_then(|l| self.link_index.get(&(cid, l)).copied())
        else {
            return;
        };
        if self.links.get(lk).is_some_and(|e| e.coordinator) {
            self.coordinator_request(cid, ck, lk, d, out);
            out.push(Action::Builtin(Builtin::TopUp(lk)));
            return;
        }
        let Some(x) = self.lp.engine(cid) else {
            return;
        };
        // The bytes move out of the engine into the message, which keeps
        // them (see MessageBox): forwarding it writes them unchanged.
        let raw = x.delivery_take_payload(d);
        let settled = x.delivery_remote_settled(d);
        let depth = x.config().max_decode_depth;
        match raw.map(|raw| (Message::decode_boxed_limited(&[&raw], depth), raw)) {
            Some((Ok(m), raw)) => {
                let dk = self.register_delivery(cid, lk, d);
                let mut ev = self.link_event(K::Message, lk);
                ev.delivery = muon_delivery::new(self.me, dk);
                ev.message = Some(MessageBox::received(m, raw));
                Self::dispatch(out, |h| h.on_message, Some(lk), Some(ck), ev);
                out.push(Action::Builtin(Builtin::AutoAccept(dk)));
            }
            bad => {
                // Undecodable: rejected at once, so that the sender learns
                // of it, and reported, so that the application does too
                // (for a message its sender settled, this is all there is).
                let why = match &bad {
                    Some((Err(e), raw)) => format!("{e} ({} bytes)", raw.len()),
                    _ => "no payload".to_owned(),
                };
                if !settled && let Some(x) = self.lp.engine(cid) {
                    let error = Some(AmqpError::new(
                        condition::DECODE_ERROR,
                        format!("the message could not be decoded: {why}"),
                    ));
                    let _ =
                        x.disposition(d, Some(DeliveryState::Rejected(Rejected { error })), true);
                }
                let fate = if settled {
                    "settled by its sender, so it is lost"
                } else {
                    "rejected"
                };
                let mut ev = self.link_event(K::MessageError, lk);
                ev.condition = Some(Condition::from_error(&AmqpError::new(
                    condition::DECODE_ERROR,
                    format!("a message could not be decoded: {why}; {fate}"),
                )));
                Self::dispatch(out, |h| h.on_message_error, Some(lk), Some(ck), ev);
            }
        }
        out.push(Action::Builtin(Builtin::TopUp(lk)));
    }

    fn prepare_update(&mut self, cid: ConnId, ck: Key, d: DeliveryId, out: &mut Vec<Action>) {
        let Some(dk) = self.delivery_index.get(&(cid, d)).copied() else {
            return;
        };
        if let Some(tk) = self.txn_requests.get(&dk).copied() {
            self.txn_answered(cid, dk, tk, d, out);
            return;
        }
        let Some(entry) = self.deliveries.get(dk) else {
            return;
        };
        let (lk, reported) = (entry.link, entry.outcome_reported);
        let Some(x) = self.lp.engine_ref(cid) else {
            return;
        };
        // A sender's state is no outcome: only the receiver gives those.
        let sent = self.links.get(lk).is_some_and(|e| e.role == Role::Sender);
        let state = x.delivery_remote_state(d).cloned().filter(|_| sent);
        let settled = x.delivery_remote_settled(d);
        // Work in a transaction (§4.5.6): the outcome it takes on commit.
        let state = match state {
            Some(DeliveryState::TransactionalState(t)) => t.outcome.map(|o| *o),
            s => s,
        };
        let outcome: Option<(K, Pick)> = match &state {
            Some(DeliveryState::Accepted) => Some((K::Accepted, |h| h.on_accepted)),
            Some(DeliveryState::Rejected(_)) => Some((K::Rejected, |h| h.on_rejected)),
            Some(DeliveryState::Released) => Some((K::Released, |h| h.on_released)),
            Some(DeliveryState::Modified(_)) => Some((K::Modified, |h| h.on_modified)),
            _ => None,
        };
        if let Some((kind, pick)) = outcome
            && !reported
        {
            if let Some(e) = self.deliveries.get_mut(dk) {
                e.outcome_reported = true;
            }
            let mut ev = self.link_event(kind, lk);
            ev.delivery = muon_delivery::new(self.me, dk);
            if let Some(DeliveryState::Rejected(r)) = &state {
                ev.condition = r.error.as_ref().map(Condition::from_error);
            }
            Self::dispatch(out, pick, Some(lk), Some(ck), ev);
        }
        if settled || outcome.is_some() {
            out.push(Action::Builtin(Builtin::AutoSettle(dk)));
        }
    }
}

/// Spare allocations of the dispatch machinery, reused from one event to
/// the next (per thread: a loop lives on one), so that handing an event to
/// C allocates nothing in the steady state.
pub(crate) mod pool {
    use std::cell::RefCell;

    use super::Action;
    use crate::ffi::event::EventData;

    /// Boxes kept at most; more are freed.
    const MAX_BOXES: usize = 64;

    thread_local! {
        // Boxes, not events: the boxes themselves are what is reused.
        #[allow(clippy::vec_box)]
        static BOXES: RefCell<Vec<Box<EventData>>> = const { RefCell::new(Vec::new()) };
        static ACTIONS: RefCell<Vec<Action>> = const { RefCell::new(Vec::new()) };
    }

    /// `ev` in a box, a spare one if there is one.
    pub(crate) fn boxed(ev: EventData) -> Box<EventData> {
        match BOXES.with(|b| b.borrow_mut().pop()) {
            Some(mut b) => {
                *b = ev;
                b
            }
            None => Box::new(ev),
        }
    }

    /// Keeps an event's box for the next event, once its contents (the
    /// message, the condition) were dropped or taken.
    pub(crate) fn recycle(mut ev: Box<EventData>) {
        ev.message = None;
        ev.condition = None;
        BOXES.with(|b| {
            let mut b = b.borrow_mut();
            if b.len() < MAX_BOXES {
                b.push(ev);
            }
        });
    }

    /// An empty action list, with the capacity of an earlier one.
    pub(crate) fn actions() -> Vec<Action> {
        ACTIONS.with(|a| std::mem::take(&mut *a.borrow_mut()))
    }

    /// Keeps an emptied action list for the next event.
    pub(crate) fn recycle_actions(mut v: Vec<Action>) {
        v.clear();
        ACTIONS.with(|a| {
            let mut a = a.borrow_mut();
            if v.capacity() > a.capacity() {
                *a = v;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::{CStr, CString, c_char};

    use super::*;

    /// A getter's earlier results stay valid when it is called again: the
    /// same content gives the same pointer, new content a new one, and the
    /// old one still reads its old content.
    #[test]
    fn kept_views_are_shared_when_equal_and_never_replaced() {
        let mut st = State::new(Loop::new().expect("a loop"));
        let of = ViewOf::Link(Key {
            index: 1,
            generation: 1,
        });
        let text = |s: &str| View::Text(CString::new(s).expect("no NUL"));
        let a: *const c_char = st.keep_view(of, "name", text("a"));
        let b: *const c_char = st.keep_view(of, "name", text("b"));
        let a2: *const c_char = st.keep_view(of, "name", text("a"));
        assert_ne!(a, b);
        assert_eq!(a, a2);
        // SAFETY: both are kept by `st`, alive for the rest of the test.
        unsafe {
            assert_eq!(CStr::from_ptr(a).to_str(), Ok("a"));
            assert_eq!(CStr::from_ptr(b).to_str(), Ok("b"));
        }
        assert_eq!(st.views_kept(of), 2);

        // Values compare by encoding: NaN is itself, -0.0 is not 0.0.
        let value = |x: f64| View::Value(Box::new(Value::Double(x)));
        let nan: *const Value<'static> = st.keep_view(of, "v", value(f64::NAN));
        assert_eq!(nan, st.keep_view(of, "v", value(f64::NAN)));
        let zero: *const Value<'static> = st.keep_view(of, "v", value(0.0));
        assert_ne!(zero, st.keep_view::<Value<'static>>(of, "v", value(-0.0)));
        assert_eq!(st.views_kept(of), 5);

        // Another getter or handle keeps its own; dropping one handle's
        // views leaves the others.
        let other = ViewOf::Conn(Key {
            index: 1,
            generation: 1,
        });
        let _: *const c_char = st.keep_view(other, "name", text("a"));
        st.drop_views(of);
        assert_eq!(st.views_kept(of), 0);
        assert_eq!(st.views_kept(other), 1);
    }
}
