//! Sessions (spec §2.5): begin and end, channels, the transfer windows, and
//! the coalescing of dispositions and credit into as few frames as possible.

use std::collections::{HashMap, VecDeque};

use super::connection::{Connection, EndpointState};
use super::error::{Error, Result};
use super::event::Event;
use super::serial;
use super::unsettled::Unsettled;
use super::{LinkId, SessionId};
use crate::codec::messaging::DeliveryState;
use crate::codec::transport::{AmqpError, Begin, Disposition, End, Flow, Role, condition};

/// A disposition waiting to be written (coalesced with its neighbours).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PendingDisposition {
    pub role: Role,
    pub id: u32,
    pub settled: bool,
    pub state: Option<DeliveryState>,
}

/// A delivery whose frames are held back by the remote incoming window or
/// split at the peer's max-frame-size.
#[derive(Debug)]
pub(crate) struct PendingTransfer {
    pub link: LinkId,
    pub delivery_id: u32,
    pub tag: crate::codec::DeliveryTag,
    /// The transfer's `message-format` (sent on the first frame).
    pub message_format: u32,
    /// The transfer's `state` (sent on the first frame), e.g. a
    /// `transactional-state` (§4.5.6).
    pub state: Option<crate::codec::messaging::DeliveryState>,
    pub settled: bool,
    pub payload: Vec<u8>,
    pub offset: usize,
    pub first_sent: bool,
}

/// True when an incoming window of `left` frames (of `window`) is low
/// enough to be re-opened: at half, so that a sender reading our flows
/// never runs dry.
fn window_low(left: u32, window: u32) -> bool {
    left <= window / 2
}

/// Our first outgoing transfer-id (§2.5.6: the sender's choice).
pub(crate) const INITIAL_OUTGOING_ID: u32 = 0;

#[derive(Debug)]
pub(crate) struct Session {
    pub local: EndpointState,
    pub remote: EndpointState,
    pub local_channel: Option<u16>,
    pub remote_channel: Option<u16>,
    pub begin_sent: bool,
    pub end_sent: bool,
    // Windows (§2.5.6).
    pub next_outgoing_id: u32,
    pub incoming_window: u32,
    pub outgoing_window: u32,
    pub next_incoming_id: u32,
    pub remote_incoming_window: u32,
    pub remote_outgoing_window: u32,
    pub handle_max: u32,
    pub remote_handle_max: u32,
    pub next_delivery_id: u32,
    /// The delivery-id after the newest the peer has used, once it has
    /// sent one (dispositions may name only ids before it).
    pub next_incoming_delivery: Option<u32>,
    pub local_handles: HashMap<u32, LinkId>,
    pub remote_handles: HashMap<u32, LinkId>,
    /// Unsettled outgoing deliveries by delivery-id.
    pub outgoing: Unsettled,
    /// Unsettled incoming deliveries by the peer's delivery-id.
    pub incoming: Unsettled,
    pub pending_transfers: VecDeque<PendingTransfer>,
    pub dispositions: Vec<PendingDisposition>,
    pub flow_links: Vec<LinkId>,
    pub session_flow: bool,
    pub queued: bool,
    pub links_awaiting_begin: Vec<LinkId>,
    pub local_error: Option<AmqpError>,
    pub remote_error: Option<AmqpError>,
    pub final_sent: bool,
    /// The peer began the session (it is not an answer to ours).
    pub peer_begun: bool,
    /// Links on the session the peer attached first (not answers to ours).
    pub peer_links: usize,
}

impl Session {
    fn new(window: u32) -> Session {
        Session {
            local: EndpointState::Uninit,
            remote: EndpointState::Uninit,
            local_channel: None,
            remote_channel: None,
            begin_sent: false,
            end_sent: false,
            next_outgoing_id: INITIAL_OUTGOING_ID,
            // §2.5.6 pitfall: never advertise an incoming window of 0.
            incoming_window: window.max(1),
            outgoing_window: u32::MAX >> 1,
            next_incoming_id: 0,
            remote_incoming_window: 0,
            remote_outgoing_window: 0,
            handle_max: u32::MAX >> 1,
            remote_handle_max: u32::MAX,
            next_delivery_id: 0,
            next_incoming_delivery: None,
            local_handles: HashMap::new(),
            remote_handles: HashMap::new(),
            outgoing: Unsettled::default(),
            incoming: Unsettled::default(),
            pending_transfers: VecDeque::new(),
            dispositions: Vec::new(),
            flow_links: Vec::new(),
            session_flow: false,
            queued: false,
            links_awaiting_begin: Vec::new(),
            local_error: None,
            remote_error: None,
            final_sent: false,
            peer_begun: false,
            peer_links: 0,
        }
    }
}

impl Connection {
    pub(crate) fn session(&self, s: SessionId) -> Result<&Session> {
        self.sessions.get(s.0).ok_or(Error::Stale("session"))
    }

    pub(crate) fn session_mut(&mut self, s: SessionId) -> Result<&mut Session> {
        self.sessions.get_mut(s.0).ok_or(Error::Stale("session"))
    }

    /// Creates a session; `begin` is sent by [`session_open`](Self::session_open).
    pub fn session_new(&mut self) -> Result<SessionId> {
        if self.close_sent || self.is_done() {
            return Err(Error::Closed);
        }
        let window = self.config.session_window;
        Ok(SessionId(self.sessions.insert(Session::new(window))))
    }

    /// Sets the highest link handle this side accepts on the session
    /// (`begin.handle-max`, §2.7.2); only before the session is opened.
    pub fn session_set_handle_max(&mut self, s: SessionId, handle_max: u32) -> Result<()> {
        let ses = self.session_mut(s)?;
        if ses.begin_sent {
            return Err(Error::WrongState("the session has begun"));
        }
        ses.handle_max = handle_max;
        Ok(())
    }

    /// Opens a session: begins one we created, or answers the peer's begin.
    pub fn session_open(&mut self, s: SessionId) -> Result<()> {
        if self.close_sent || self.is_done() {
            return Err(Error::Closed);
        }
        let ses = self.session_mut(s)?;
        if ses.local != EndpointState::Uninit {
            return Ok(());
        }
        ses.local = EndpointState::Active;
        self.begin_queue.push(s);
        self.send_queued_begins();
        Ok(())
    }

    /// Sends the begins that can go: after our open; before the peer's
    /// open only on channel 0, the one channel every peer accepts (§2.4.1).
    pub(crate) fn send_queued_begins(&mut self) {
        if !self.open_sent || self.close_sent || self.is_done() || self.begin_queue.is_empty() {
            return;
        }
        let queue = std::mem::take(&mut self.begin_queue);
        for s in queue {
            let Some(ses) = self.sessions.get(s.0) else {
                continue;
            };
            if ses.local != EndpointState::Active || ses.begin_sent {
                continue;
            }
            let limit = if self.remote_state == EndpointState::Uninit {
                0
            } else {
                self.remote_channel_max.min(self.config.channel_max)
            };
            match (0..=limit).find(|c| !self.local_channels.contains_key(c)) {
                Some(channel) => self.send_begin(s, channel),
                None if self.remote_state == EndpointState::Uninit => self.begin_queue.push(s),
                None => {
                    // Every channel the peer allows is taken: the session
                    // cannot begin; it ends here with a local error.
                    if let Some(ses) = self.sessions.get_mut(s.0) {
                        ses.local = EndpointState::Closed;
                        ses.local_error = Some(AmqpError::new(
                            condition::RESOURCE_LIMIT_EXCEEDED,
                            format!("no free channel: the peer's channel-max is {limit}"),
                        ));
                    }
                    self.check_session_final(s);
                }
            }
        }
    }

    fn send_begin(&mut self, s: SessionId, channel: u16) {
        let Some(ses) = self.sessions.get_mut(s.0) else {
            return;
        };
        ses.local_channel = Some(channel);
        ses.begin_sent = true;
        let begin = Begin {
            remote_channel: ses.remote_channel,
            next_outgoing_id: ses.next_outgoing_id,
            incoming_window: ses.incoming_window,
            outgoing_window: ses.outgoing_window,
            handle_max: ses.handle_max,
            offered_capabilities: None,
            desired_capabilities: None,
            properties: None,
        };
        let waiting = std::mem::take(&mut ses.links_awaiting_begin);
        self.local_channels.insert(channel, s);
        self.write_frame(channel, &begin, &[]);
        for l in waiting {
            self.send_attach(l);
        }
        self.send_pending_transfers(s);
    }

    /// Ends a session, with `error` if it failed (§2.7.8). Its links are
    /// detached with it (§2.5.5).
    pub fn session_close(&mut self, s: SessionId, error: Option<AmqpError>) -> Result<()> {
        let ses = self.session_mut(s)?;
        if ses.local == EndpointState::Closed {
            return Ok(());
        }
        ses.local = EndpointState::Closed;
        ses.local_error = error.clone();
        if ses.begin_sent && !ses.end_sent && !self.close_sent && !self.is_done() {
            self.flush_session(s);
            let ses = self.session_mut(s)?;
            ses.end_sent = true;
            let channel = ses.local_channel.unwrap_or(0);
            self.write_frame(channel, &End { error }, &[]);
        }
        self.check_session_final(s);
        Ok(())
    }

    pub(crate) fn check_session_final(&mut self, s: SessionId) {
        let Some(ses) = self.sessions.get_mut(s.0) else {
            return;
        };
        let local_done = ses.local == EndpointState::Closed && (ses.end_sent || !ses.begin_sent);
        let remote_done =
            ses.remote == EndpointState::Closed || ses.remote_channel.is_none() && !ses.begin_sent;
        if local_done && remote_done && !ses.final_sent {
            ses.final_sent = true;
            if let Some(c) = ses.local_channel.take() {
                self.local_channels.remove(&c);
            }
            if let Some(c) = ses.remote_channel.take() {
                self.remote_channels.remove(&c);
                if ses.peer_begun {
                    self.peer_sessions = self.peer_sessions.saturating_sub(1);
                }
            }
            // Every link of the session, attached or not, is final now.
            let links: Vec<LinkId> = self
                .links
                .keys()
                .map(LinkId)
                .filter(|l| self.links.get(l.0).is_some_and(|k| k.session == s))
                .collect();
            for l in links {
                self.link_gone(l);
            }
            self.push(Event::SessionFinal(s));
        }
    }

    /// The session's local state.
    pub fn session_local_state(&self, s: SessionId) -> EndpointState {
        self.session(s).map_or(EndpointState::Closed, |x| x.local)
    }

    /// The session's remote state.
    pub fn session_remote_state(&self, s: SessionId) -> EndpointState {
        self.session(s).map_or(EndpointState::Closed, |x| x.remote)
    }

    /// The error the peer ended the session with.
    pub fn session_remote_condition(&self, s: SessionId) -> Option<&AmqpError> {
        self.session(s).ok()?.remote_error.as_ref()
    }

    /// The error this side ended the session with (or the reason it could
    /// not begin).
    pub fn session_local_condition(&self, s: SessionId) -> Option<&AmqpError> {
        self.session(s).ok()?.local_error.as_ref()
    }

    /// Deliveries queued on the session behind the peer's incoming window
    /// (or still being split into frames).
    pub fn session_pending_transfers(&self, s: SessionId) -> usize {
        self.session(s).map_or(0, |x| x.pending_transfers.len())
    }

    /// The peer's incoming window as this side tracks it: how many more
    /// transfer frames may be sent now (§2.5.6).
    pub fn session_remote_incoming_window(&self, s: SessionId) -> u32 {
        self.session(s).map_or(0, |x| x.remote_incoming_window)
    }

    /// The session on the peer's `channel`. An unknown channel is a
    /// protocol violation, and so is a frame after the peer's own `end`
    /// on it (§2.5.5: nothing follows an end); a session we ended is
    /// DISCARDING (its frames are dropped until the peer's end), which
    /// gives `None` without failing.
    pub(crate) fn session_for_frame(&mut self, channel: u16, what: &str) -> Option<SessionId> {
        match self.remote_channels.get(&channel).copied() {
            Some(s) => {
                let (ended_by_peer, end_sent) = self.sessions.get(s.0).map_or((false, true), |x| {
                    (x.remote == EndpointState::Closed, x.end_sent)
                });
                if ended_by_peer {
                    self.fail(
                        condition::NOT_ALLOWED,
                        format!(
                            "{what} on channel {channel}, after the peer ended its session there"
                        ),
                    );
                    return None;
                }
                (!end_sent).then_some(s)
            }
            None => {
                self.fail(
                    condition::NOT_ALLOWED,
                    format!("{what} on channel {channel}, where no session has begun"),
                );
                None
            }
        }
    }

    pub(crate) fn on_begin(&mut self, channel: u16, begin: Begin) {
        if self.remote_channels.contains_key(&channel) {
            self.fail(
                condition::ILLEGAL_STATE,
                format!("second begin on channel {channel}"),
            );
            return;
        }
        let s = match begin.remote_channel {
            // §2.5.2: the answer to our begin names our channel.
            Some(ours) => match self.local_channels.get(&ours) {
                Some(s)
                    if self
                        .sessions
                        .get(s.0)
                        .is_some_and(|x| x.remote_channel.is_none() && x.begin_sent) =>
                {
                    *s
                }
                _ => {
                    self.fail(
                        condition::NOT_ALLOWED,
                        format!("begin answers channel {ours}, where no session awaits an answer"),
                    );
                    return;
                }
            },
            None => {
                if self.close_sent {
                    return;
                }
                let max = self.config.max_sessions;
                if self.peer_sessions >= max {
                    self.fail(
                        condition::RESOURCE_LIMIT_EXCEEDED,
                        format!(
                            "begin on channel {channel}: the peer already has {max} sessions \
                             on this connection, the most this side allows"
                        ),
                    );
                    return;
                }
                let window = self.config.session_window;
                let mut ses = Session::new(window);
                ses.peer_begun = true;
                self.peer_sessions += 1;
                SessionId(self.sessions.insert(ses))
            }
        };
        self.remote_channels.insert(channel, s);
        let Some(ses) = self.sessions.get_mut(s.0) else {
            return;
        };
        ses.remote = EndpointState::Active;
        ses.remote_channel = Some(channel);
        // §2.5.6: the peer's begin seeds our view of its windows.
        ses.next_incoming_id = begin.next_outgoing_id;
        ses.remote_incoming_window = begin.incoming_window;
        ses.remote_outgoing_window = begin.outgoing_window;
        ses.remote_handle_max = begin.handle_max;
        self.push(Event::SessionRemoteOpen(s));
        self.send_pending_transfers(s);
    }

    pub(crate) fn on_end(&mut self, channel: u16, end: End) {
        let Some(s) = self.remote_channels.get(&channel).copied() else {
            self.fail(
                condition::NOT_ALLOWED,
                format!("end on channel {channel}, where no session has begun"),
            );
            return;
        };
        let Some(ses) = self.sessions.get_mut(s.0) else {
            return;
        };
        if ses.remote == EndpointState::Closed {
            return;
        }
        ses.remote = EndpointState::Closed;
        ses.remote_error = end.error;
        // §2.5.5: ending a session detaches its links; nothing more will
        // be sent on it, so held-back transfers are dropped.
        let pending: Vec<PendingTransfer> = ses.pending_transfers.drain(..).collect();
        for p in pending {
            self.discard_pending(p);
        }
        let links: Vec<LinkId> = self
            .links
            .keys()
            .map(LinkId)
            .filter(|l| self.links.get(l.0).is_some_and(|k| k.session == s))
            .collect();
        let session_error = self.sessions.get(s.0).and_then(|x| x.remote_error.clone());
        for l in links {
            self.remote_name_released(l);
            if let Some(link) = self.links.get_mut(l.0)
                && link.remote != EndpointState::Closed
            {
                link.remote = EndpointState::Closed;
                // The links die with the session: tell the application per
                // link, with the session's error (RabbitMQ refuses an
                // address by ending the whole session).
                if link.remote_error.is_none() {
                    link.remote_error = session_error.clone();
                }
                if link.remote_handle.is_some() || link.attach_sent {
                    self.push(Event::LinkRemoteClose(l));
                }
            }
        }
        self.push(Event::SessionRemoteClose(s));
        self.check_session_final(s);
    }

    /// Handles a flow: session windows, then the link part (§2.5.6, §2.6.7).
    pub(crate) fn on_flow(&mut self, channel: u16, flow: Flow) {
        let Some(s) = self.session_for_frame(channel, "flow") else {
            return;
        };
        let Some(ses) = self.sessions.get_mut(s.0) else {
            return;
        };
        ses.next_incoming_id = flow.next_outgoing_id;
        ses.remote_outgoing_window = flow.outgoing_window;
        // §2.5.6: the peer's window was measured at the id it names;
        // frames in flight since then are discounted. Absent: it had not
        // seen our begin, so our initial id.
        let base = flow.next_incoming_id.unwrap_or(INITIAL_OUTGOING_ID);
        let limit = base.wrapping_add(flow.incoming_window);
        ses.remote_incoming_window = serial::remaining(limit, ses.next_outgoing_id);
        if let Some(h) = flow.handle {
            let Some(l) = ses.remote_handles.get(&h).copied() else {
                self.fail(
                    condition::UNATTACHED_HANDLE,
                    format!("flow for handle {h}, which is not attached"),
                );
                return;
            };
            self.on_link_flow(l, &flow);
        } else if flow.echo {
            self.mark_session_flow(s);
        }
        self.send_pending_transfers(s);
    }

    pub(crate) fn mark_dirty(&mut self, s: SessionId) {
        if let Some(ses) = self.sessions.get_mut(s.0)
            && !ses.queued
        {
            ses.queued = true;
            self.dirty_sessions.push(s);
        }
    }

    pub(crate) fn mark_session_flow(&mut self, s: SessionId) {
        if let Some(ses) = self.sessions.get_mut(s.0) {
            ses.session_flow = true;
        }
        self.mark_dirty(s);
    }

    /// The session part of a flow (§2.7.4): always all four window fields,
    /// `next-incoming-id` once the peer's begin was seen.
    pub(crate) fn session_flow_frame(ses: &Session) -> Flow {
        Flow {
            next_incoming_id: ses.remote_channel.is_some().then_some(ses.next_incoming_id),
            incoming_window: ses.incoming_window,
            next_outgoing_id: ses.next_outgoing_id,
            outgoing_window: ses.outgoing_window,
            handle: None,
            delivery_count: None,
            link_credit: None,
            available: None,
            drain: false,
            echo: false,
            properties: None,
        }
    }

    /// Writes the session's queued dispositions (contiguous ids with the
    /// same state and settlement become one ranged disposition, §2.7.6),
    /// link flows and session flow.
    pub(crate) fn flush_session(&mut self, s: SessionId) {
        let close_sent = self.close_sent;
        let window = self.config.session_window.max(1);
        let Some(ses) = self.sessions.get_mut(s.0) else {
            return;
        };
        ses.queued = false;
        if !ses.begin_sent || ses.end_sent || close_sent {
            ses.dispositions.clear();
            ses.flow_links.clear();
            ses.session_flow = false;
            return;
        }
        let channel = ses.local_channel.unwrap_or(0);
        let mut dispositions = std::mem::take(&mut ses.dispositions);
        let mut flow_links = std::mem::take(&mut ses.flow_links);
        let session_flow = std::mem::replace(&mut ses.session_flow, false);
        // The flow written now re-opens a window that is half used: the
        // peer learns the new limit from it (§2.5.6), not before.
        if session_flow && window_low(ses.incoming_window, window) {
            ses.incoming_window = window;
        }
        let mut i = 0;
        while let Some(first) = dispositions.get(i) {
            let mut last = first.id;
            let mut j = i + 1;
            while let Some(d) = dispositions.get(j) {
                if d.role == first.role
                    && d.settled == first.settled
                    && d.state == first.state
                    && d.id == last.wrapping_add(1)
                {
                    last = d.id;
                    j += 1;
                } else {
                    break;
                }
            }
            let frame = Disposition {
                role: first.role,
                first: first.id,
                last: (last != first.id).then_some(last),
                settled: first.settled,
                state: first.state.clone(),
                batchable: false,
            };
            self.write_frame(channel, &frame, &[]);
            i = j;
        }
        dispositions.clear();
        let mut wrote_session_state = false;
        for l in flow_links.drain(..) {
            if let Some(flow) = self.link_flow_frame(s, l) {
                self.write_frame(channel, &flow, &[]);
                wrote_session_state = true;
            }
        }
        if let Some(ses) = self.sessions.get_mut(s.0) {
            if ses.dispositions.is_empty() {
                ses.dispositions = dispositions;
            }
            if ses.flow_links.is_empty() {
                ses.flow_links = flow_links;
            }
        }
        // A link flow carries the session state too.
        if session_flow
            && !wrote_session_state
            && let Some(ses) = self.sessions.get(s.0)
        {
            let flow = Self::session_flow_frame(ses);
            self.write_frame(channel, &flow, &[]);
        }
    }

    /// Our incoming window took one transfer (§2.5.6). Once half of it is
    /// used a flow is queued, which re-opens it to the full window when it
    /// is written (see [`flush_session`](Self::flush_session)), so a sender
    /// that keeps reading our flows never stalls, and one that sends past
    /// what it was told finds the window shut. False if it was shut.
    pub(crate) fn consume_incoming_window(&mut self, s: SessionId) -> bool {
        let window = self.config.session_window.max(1);
        let Some(ses) = self.sessions.get_mut(s.0) else {
            return false;
        };
        if ses.incoming_window == 0 {
            return false;
        }
        ses.incoming_window -= 1;
        ses.next_incoming_id = ses.next_incoming_id.wrapping_add(1);
        if window_low(ses.incoming_window, window) {
            self.mark_session_flow(s);
        }
        true
    }

    /// Queues a disposition on session `s`.
    pub(crate) fn queue_disposition(&mut self, s: SessionId, d: PendingDisposition) {
        if let Some(ses) = self.sessions.get_mut(s.0) {
            ses.dispositions.push(d);
        }
        self.mark_dirty(s);
    }
}
