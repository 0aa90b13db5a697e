//! Links (spec §2.6): attach and detach, termini, and link state. Link
//! flow control is in `flow.rs`.

use super::connection::{Connection, EndpointState};
use super::error::{Error, Result};
use super::event::Event;
use super::{DeliveryId, LinkId, SessionId};
use crate::codec::messaging::{Source, Target, TargetKind};
use crate::codec::transactions::Coordinator;
use crate::codec::transport::{
    AmqpError, Attach, Detach, ReceiverSettleMode, Role, SenderSettleMode, condition,
};
use crate::codec::{Map, Symbols};

/// Everything an application chooses about a link before it attaches.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LinkOptions {
    /// The link name; a unique one is made up when empty.
    pub name: String,
    /// The source terminus (for a receiver: where messages come from).
    pub source: Option<Source>,
    /// The target terminus (for a sender: where messages go).
    pub target: Option<Target>,
    /// A transaction coordinator as the target instead (§4.5.1): a
    /// controller's link; takes the place of `target` when set.
    pub coordinator: Option<Coordinator>,
    /// Sender settle mode; `None` = mixed (or, answering an attach, the
    /// mode the peer asked for).
    pub snd_settle_mode: Option<SenderSettleMode>,
    /// Receiver settle mode; `None` = first (or, answering an attach, the
    /// mode the peer asked for).
    pub rcv_settle_mode: Option<ReceiverSettleMode>,
    /// Largest message this end accepts (0 / `None`: the connection limit,
    /// `Config::max_message_size`, which a receiver advertises). Sent in
    /// the attach; a sender also refuses to send a larger message.
    pub max_message_size: Option<u64>,
    /// `attach.properties`.
    pub properties: Option<Map>,
    /// `attach.offered-capabilities`.
    pub offered_capabilities: Option<Symbols>,
    /// `attach.desired-capabilities`.
    pub desired_capabilities: Option<Symbols>,
}

/// The delivery-count our senders start at (§2.6.7: the sender's choice).
pub(crate) const INITIAL_DELIVERY_COUNT: u32 = 0;

#[derive(Debug)]
pub(crate) struct Link {
    pub session: SessionId,
    pub name: String,
    pub role: Role,
    pub local: EndpointState,
    pub remote: EndpointState,
    pub local_handle: Option<u32>,
    pub remote_handle: Option<u32>,
    pub attach_sent: bool,
    pub detach_sent: bool,
    pub local_closed: bool,
    pub remote_closed: bool,
    pub options: LinkOptions,
    pub remote_attach: Option<Attach>,
    // Flow state (§2.6.7).
    pub delivery_count: u32,
    pub link_credit: u32,
    pub available: u32,
    pub drain: bool,
    /// Receiver: the highest `delivery-count + credit` ever granted, so
    /// that transfers in flight after a credit cut are not violations.
    pub granted_limit: u32,
    /// Receiver: the largest credit ever granted. A sender may overshoot
    /// the limit by this much before it is a violation: RabbitMQ 3.x does
    /// overshoot (SEMANTICS.md §6 allows accepting such deliveries), and
    /// the slack stays bounded by what this side chose to grant.
    pub max_credit: u32,
    pub flow_pending: bool,
    /// Our next flow asks the peer to answer with its own (`echo`).
    pub echo_request: bool,
    /// Receiver: the delivery whose frames are arriving.
    pub incoming: Option<DeliveryId>,
    /// Receiver: the frames arriving belong to a delivery that is being
    /// thrown away (a resumed delivery we hold no state for).
    pub discarding: bool,
    /// Sender: tag counter for tags muon makes up.
    pub next_tag: u64,
    /// Deliveries of the link the engine holds (see
    /// `Config::max_unsettled_per_link`).
    pub deliveries: usize,
    /// What this link counts towards `Connection::link_state`.
    pub state_cost: usize,
    /// The peer attached the link first (it is not an answer to ours).
    pub peer_attached: bool,
    /// Sender: it holds `max_unsettled_per_link` unsettled deliveries; a
    /// `LinkFlow` follows when the peer's settlements make room.
    pub unsettled_full: bool,
    pub local_error: Option<AmqpError>,
    pub remote_error: Option<AmqpError>,
    pub final_sent: bool,
    /// The link's deliveries so far (see [`Connection::link_counters`]).
    pub counters: super::Counters,
}

impl Connection {
    pub(crate) fn link(&self, l: LinkId) -> Result<&Link> {
        self.links.get(l.0).ok_or(Error::Stale("link"))
    }

    pub(crate) fn link_mut(&mut self, l: LinkId) -> Result<&mut Link> {
        self.links.get_mut(l.0).ok_or(Error::Stale("link"))
    }

    /// Creates a link on session `s` (`Role::Sender` sends messages);
    /// `attach` is sent by [`link_open`](Self::link_open).
    pub fn link_new(
        &mut self,
        s: SessionId,
        role: Role,
        mut options: LinkOptions,
    ) -> Result<LinkId> {
        let ses = self.session(s)?;
        if ses.local == EndpointState::Closed || self.close_sent {
            return Err(Error::Closed);
        }
        if options.name.is_empty() {
            self.name_counter = self.name_counter.wrapping_add(1);
            options.name = format!("{}-{}", self.config.container_id, self.name_counter);
        }
        let link = Link {
            session: s,
            name: options.name.clone(),
            role,
            local: EndpointState::Uninit,
            remote: EndpointState::Uninit,
            local_handle: None,
            remote_handle: None,
            attach_sent: false,
            detach_sent: false,
            local_closed: false,
            remote_closed: false,
            options,
            remote_attach: None,
            delivery_count: INITIAL_DELIVERY_COUNT,
            link_credit: 0,
            available: 0,
            drain: false,
            granted_limit: INITIAL_DELIVERY_COUNT,
            max_credit: 0,
            flow_pending: false,
            echo_request: false,
            incoming: None,
            discarding: false,
            next_tag: 0,
            deliveries: 0,
            state_cost: 0,
            peer_attached: false,
            unsettled_full: false,
            local_error: None,
            remote_error: None,
            final_sent: false,
            counters: super::Counters::default(),
        };
        Ok(LinkId(self.links.insert(link)))
    }

    /// Attaches a link we created, or answers the peer's attach. For an
    /// answer, termini and settle modes the application did not set are
    /// copied from the peer's attach (set them first with
    /// [`link_options_mut`](Self::link_options_mut), e.g. the address of a
    /// dynamic node).
    pub fn link_open(&mut self, l: LinkId) -> Result<()> {
        let closed = self.close_sent || self.is_done();
        let link = self.link_mut(l)?;
        if link.local != EndpointState::Uninit {
            return Ok(());
        }
        if closed {
            return Err(Error::Closed);
        }
        link.local = EndpointState::Active;
        link.adopt_remote_choices();
        let s = link.session;
        let ses = self.session_mut(s)?;
        if ses.begin_sent {
            self.send_attach(l);
        } else {
            // The session has not begun yet: attach once it has.
            ses.links_awaiting_begin.push(l);
        }
        Ok(())
    }

    pub(crate) fn send_attach(&mut self, l: LinkId) {
        let pre_open = self.remote_state == EndpointState::Uninit;
        let max_message_size = self.config.max_message_size;
        let Ok(link) = self.link(l) else { return };
        if link.attach_sent || link.final_sent {
            return;
        }
        let s = link.session;
        let Ok(ses) = self.session(s) else { return };
        if ses.end_sent || self.close_sent {
            return;
        }
        if !ses.begin_sent {
            if let Ok(ses) = self.session_mut(s) {
                ses.links_awaiting_begin.push(l);
            }
            return;
        }
        // §2.6.2, §2.7.2: our handles stay within the peer's handle-max.
        let limit = ses.remote_handle_max;
        let Some(handle) = (0..=limit).find(|h| !ses.local_handles.contains_key(h)) else {
            self.link_failed_locally(
                l,
                condition::RESOURCE_LIMIT_EXCEEDED,
                format!("no free handle: the peer's handle-max is {limit}"),
            );
            return;
        };
        let channel = ses.local_channel.unwrap_or(0);
        let Some(link) = self.links.get(l.0) else {
            return;
        };
        let o = &link.options;
        let grant = link.role == Role::Receiver && (link.link_credit > 0 || link.drain);
        let attach = Attach {
            name: link.name.clone(),
            handle,
            role: link.role,
            snd_settle_mode: o.snd_settle_mode.unwrap_or(SenderSettleMode::Mixed),
            rcv_settle_mode: o.rcv_settle_mode.unwrap_or(ReceiverSettleMode::First),
            source: o.source.clone(),
            target: match &o.coordinator {
                Some(c) => Some(TargetKind::Coordinator(c.clone())),
                None => o.target.clone().map(TargetKind::Target),
            },
            // No link recovery (§2.6.13): nothing unsettled to offer.
            unsettled: None,
            incomplete_unsettled: false,
            // §2.7.3: must be set by a sender.
            initial_delivery_count: (link.role == Role::Sender).then_some(link.delivery_count),
            // A receiver advertises the limit it enforces.
            max_message_size: match link.role {
                Role::Receiver => Some(
                    o.max_message_size
                        .filter(|m| *m > 0)
                        .unwrap_or(max_message_size),
                ),
                Role::Sender => o.max_message_size.filter(|m| *m > 0),
            },
            offered_capabilities: o.offered_capabilities.clone(),
            desired_capabilities: o.desired_capabilities.clone(),
            properties: o.properties.clone(),
        };
        let mark = self.out.len();
        self.write_frame(channel, &attach, &[]);
        let size = self.out.len() - mark;
        if size > self.remote_max_frame as usize {
            self.out.truncate(mark);
            if pre_open {
                // §2.4.1: before the peer's open only 512-byte frames; the
                // attach waits for the negotiated size.
                self.attach_queue.push(l);
            } else {
                self.link_failed_locally(
                    l,
                    condition::FRAME_SIZE_TOO_SMALL,
                    format!(
                        "attach of {size} bytes does not fit the peer's max-frame-size {}",
                        self.remote_max_frame
                    ),
                );
            }
            return;
        }
        if let Some(link) = self.links.get_mut(l.0) {
            link.local_handle = Some(handle);
            link.attach_sent = true;
        }
        if let Some(ses) = self.sessions.get_mut(s.0) {
            ses.local_handles.insert(handle, l);
        }
        if grant {
            self.mark_link_flow(l);
        }
        if self
            .link(l)
            .is_ok_and(|k| k.local == EndpointState::Closed && !k.detach_sent)
        {
            self.send_detach(l);
        }
    }

    /// Sends the attaches that waited for the peer's open.
    pub(crate) fn send_queued_attaches(&mut self) {
        for l in std::mem::take(&mut self.attach_queue) {
            self.send_attach(l);
        }
    }

    /// A link that cannot attach: it ends here, with `cond` as its local
    /// condition, and gets its final event.
    fn link_failed_locally(&mut self, l: LinkId, cond: &str, description: String) {
        if let Some(link) = self.links.get_mut(l.0) {
            link.local = EndpointState::Closed;
            link.local_error = Some(AmqpError::new(cond, description));
        }
        self.link_gone(l);
    }

    /// Detaches a link: `closed` ends it for good (the usual case), else it
    /// is only suspended (§2.6.6). A link the peer attached and we never
    /// answered is answered first, so that the detach is legal.
    pub fn link_close(&mut self, l: LinkId, closed: bool, error: Option<AmqpError>) -> Result<()> {
        let link = self.link_mut(l)?;
        if link.local == EndpointState::Closed {
            return Ok(());
        }
        let answer_first = link.local == EndpointState::Uninit && link.remote_handle.is_some();
        if answer_first {
            self.link_open(l)?;
        }
        let link = self.link_mut(l)?;
        link.local = EndpointState::Closed;
        link.local_closed = closed;
        link.local_error = error;
        if link.attach_sent {
            self.send_detach(l);
        }
        self.check_link_final(l);
        Ok(())
    }

    fn send_detach(&mut self, l: LinkId) {
        let close_sent = self.close_sent;
        let Some(link) = self.links.get_mut(l.0) else {
            return;
        };
        let Some(handle) = link.local_handle else {
            return;
        };
        if link.detach_sent {
            return;
        }
        link.detach_sent = true;
        let detach = Detach {
            handle,
            closed: link.local_closed,
            error: link.local_error.clone(),
        };
        let s = link.session;
        // A delivery being split dies with the link.
        self.drop_pending_transfers(s, l);
        let Some(ses) = self.sessions.get(s.0) else {
            return;
        };
        if ses.end_sent || close_sent {
            return;
        }
        let channel = ses.local_channel.unwrap_or(0);
        self.flush_session(s);
        self.write_frame(channel, &detach, &[]);
    }

    pub(crate) fn check_link_final(&mut self, l: LinkId) {
        let Some(link) = self.links.get(l.0) else {
            return;
        };
        let local_done =
            link.local == EndpointState::Closed && (link.detach_sent || !link.attach_sent);
        // A link we attached waits for the peer's attach and detach.
        let remote_done = link.remote == EndpointState::Closed
            || link.remote_handle.is_none() && !link.attach_sent;
        if local_done && remote_done {
            self.link_gone(l);
        }
    }

    /// Unmaps a link from its session (its handles are free again,
    /// §2.6.2) and emits its final event.
    pub(crate) fn link_gone(&mut self, l: LinkId) {
        let Some(link) = self.links.get_mut(l.0) else {
            return;
        };
        if link.final_sent {
            return;
        }
        link.final_sent = true;
        let (s, lh, rh) = (link.session, link.local_handle, link.remote_handle);
        let peer_attached = link.peer_attached;
        self.remote_name_released(l);
        if let Some(ses) = self.sessions.get_mut(s.0) {
            if let Some(h) = lh
                && ses.local_handles.get(&h) == Some(&l)
            {
                ses.local_handles.remove(&h);
            }
            if let Some(h) = rh
                && ses.remote_handles.get(&h) == Some(&l)
            {
                ses.remote_handles.remove(&h);
                if peer_attached {
                    ses.peer_links = ses.peer_links.saturating_sub(1);
                }
            }
        }
        self.drop_pending_transfers(s, l);
        self.push(Event::LinkFinal(l));
    }

    /// Drops the held-back frames of link `l`'s deliveries.
    fn drop_pending_transfers(&mut self, s: SessionId, l: LinkId) {
        let Some(ses) = self.sessions.get_mut(s.0) else {
            return;
        };
        if !ses.pending_transfers.iter().any(|p| p.link == l) {
            return;
        }
        let mut kept = std::collections::VecDeque::new();
        let mut freed = Vec::new();
        for p in ses.pending_transfers.drain(..) {
            if p.link == l {
                freed.push(p);
            } else {
                kept.push_back(p);
            }
        }
        ses.pending_transfers = kept;
        for p in freed {
            self.discard_pending(p);
        }
    }

    /// Frees a link and its deliveries (after its final event).
    pub(crate) fn release_link(&mut self, l: LinkId) {
        let Some(link) = self.links.remove(l.0) else {
            return;
        };
        self.link_state = self.link_state.saturating_sub(link.state_cost);
        self.forget_remote_name(l, &link);
        let mine: Vec<DeliveryId> = self
            .deliveries
            .keys()
            .map(DeliveryId)
            .filter(|d| self.deliveries.get(d.0).is_some_and(|x| x.link == l))
            .collect();
        for d in mine {
            self.release_delivery(d);
        }
        if let Some(d) = link.incoming {
            self.release_delivery(d);
        }
    }

    /// Drops `link` (`l`) from the names the peer holds attached.
    fn forget_remote_name(&mut self, l: LinkId, link: &Link) {
        // Keyed by whether the peer is the sender: we are the receiver.
        let key = (link.role == Role::Receiver, link.name.clone());
        if self.remote_names.get(&key) == Some(&l) {
            self.remote_names.remove(&key);
        }
    }

    /// The peer detached `l` (or ended its session): its name is free.
    pub(crate) fn remote_name_released(&mut self, l: LinkId) {
        if let Some(link) = self.links.get(l.0) {
            let key = (link.role == Role::Receiver, link.name.clone());
            if self.remote_names.get(&key) == Some(&l) {
                self.remote_names.remove(&key);
            }
        }
    }

    /// `frame_len` is the size of the attach frame's body, what the link's
    /// state is charged for the peer's attach (`Config::max_link_state`).
    pub(crate) fn on_attach(&mut self, channel: u16, attach: Attach, frame_len: usize) {
        let Some(s) = self.session_for_frame(channel, "attach") else {
            return;
        };
        let Some(ses) = self.sessions.get(s.0) else {
            return;
        };
        // An answer to our attach: same name, opposite role, not yet answered.
        let answer = ses.local_handles.values().copied().find(|l| {
            self.links.get(l.0).is_some_and(|k| {
                k.name == attach.name && k.role != attach.role && k.remote_handle.is_none()
            })
        });
        let max_links = self.config.max_links_per_session;
        if answer.is_none() && ses.peer_links >= max_links {
            self.fail(
                condition::RESOURCE_LIMIT_EXCEEDED,
                format!(
                    "attach of link {:?}: the peer has {max_links} links attached on the \
                     session already, the most this side allows",
                    attach.name
                ),
            );
            return;
        }
        // Memory held for the peer's attach (and for a link the peer made,
        // the link itself).
        let cost = frame_len
            + attach.name.len()
            + if answer.is_none() {
                std::mem::size_of::<Link>()
            } else {
                0
            };
        let max_state = self.config.max_link_state;
        if self.link_state.saturating_add(cost) > max_state {
            self.fail(
                condition::RESOURCE_LIMIT_EXCEEDED,
                format!(
                    "attach of {frame_len} bytes: the peer's links on this connection hold \
                     {} bytes of state already, and this side allows {max_state}",
                    self.link_state
                ),
            );
            return;
        }
        // §2.7.2 handle-max; SEMANTICS §4: out of range is a framing error.
        if attach.handle > ses.handle_max {
            self.fail(
                condition::FRAMING_ERROR,
                format!(
                    "attach with handle {} above handle-max {}",
                    attach.handle, ses.handle_max
                ),
            );
            return;
        }
        // §2.6.2: a handle is busy until detach went both ways.
        if ses.remote_handles.contains_key(&attach.handle) {
            self.fail(
                condition::HANDLE_IN_USE,
                format!("attach on handle {}, which is in use", attach.handle),
            );
            return;
        }
        // §2.6.1: a link name is unique per direction between the two
        // containers; a second live attach under one name is refused.
        let key = (attach.role == Role::Sender, attach.name.clone());
        if let Some(other) = self.remote_names.get(&key).copied()
            && answer != Some(other)
        {
            let (h, name) = (attach.handle, attach.name);
            self.fail(
                condition::NOT_ALLOWED,
                format!(
                    "attach of link {name:?} on handle {h}: a link of that name and role is \
                     attached already (§2.6.1)"
                ),
            );
            return;
        }
        let l = match answer {
            Some(l) => l,
            None => {
                let options = LinkOptions {
                    name: attach.name.clone(),
                    ..LinkOptions::default()
                };
                match self.link_new(s, attach.role.opposite(), options) {
                    Ok(l) => {
                        if let Some(k) = self.links.get_mut(l.0) {
                            k.peer_attached = true;
                        }
                        l
                    }
                    // The session is ending on our side: DISCARDING.
                    Err(_) => return,
                }
            }
        };
        let handle = attach.handle;
        let Some(link) = self.links.get_mut(l.0) else {
            return;
        };
        link.remote = EndpointState::Active;
        link.remote_handle = Some(handle);
        if link.role == Role::Receiver {
            // §2.6.7: the sender's initial count seeds ours. A sender must
            // set it; one that does not is read as starting at 0 (Proton).
            let idc = attach.initial_delivery_count.unwrap_or(0);
            let credit = link.link_credit;
            link.delivery_count = idc;
            link.granted_limit = idc.wrapping_add(credit);
        }
        link.remote_attach = Some(attach);
        link.state_cost += cost;
        self.link_state += cost;
        self.remote_names.insert(key, l);
        let peer_attached = link.peer_attached;
        if let Some(ses) = self.sessions.get_mut(s.0) {
            ses.remote_handles.insert(handle, l);
            if peer_attached {
                ses.peer_links += 1;
            }
        }
        self.push(Event::LinkRemoteOpen(l));
    }

    pub(crate) fn on_detach(&mut self, channel: u16, detach: Detach) {
        let Some(s) = self.session_for_frame(channel, "detach") else {
            return;
        };
        let Some(l) = self
            .sessions
            .get(s.0)
            .and_then(|x| x.remote_handles.get(&detach.handle).copied())
        else {
            self.fail(
                condition::UNATTACHED_HANDLE,
                format!("detach of handle {}, which is not attached", detach.handle),
            );
            return;
        };
        let Some(link) = self.links.get_mut(l.0) else {
            return;
        };
        if link.remote == EndpointState::Closed {
            // §2.6.2: the peer's handle went with its first detach.
            self.fail(
                condition::UNATTACHED_HANDLE,
                format!("second detach of handle {}", detach.handle),
            );
            return;
        }
        link.remote = EndpointState::Closed;
        link.remote_closed = detach.closed;
        link.remote_error = detach.error;
        // A partly received delivery dies with the link.
        let partial = link.incoming.take();
        link.discarding = false;
        if let Some(d) = partial {
            self.release_delivery(d);
        }
        self.remote_name_released(l);
        self.push(Event::LinkRemoteClose(l));
        self.check_link_final(l);
    }

    // ---- accessors ------------------------------------------------------------

    /// The link's role on this side.
    pub fn link_role(&self, l: LinkId) -> Option<Role> {
        self.link(l).ok().map(|k| k.role)
    }

    /// The link's name.
    pub fn link_name(&self, l: LinkId) -> Option<&str> {
        self.link(l).ok().map(|k| k.name.as_str())
    }

    /// The session the link belongs to.
    pub fn link_session(&self, l: LinkId) -> Option<SessionId> {
        self.link(l).ok().map(|k| k.session)
    }

    /// The options (local termini, modes) of the link.
    pub fn link_options(&self, l: LinkId) -> Option<&LinkOptions> {
        self.link(l).ok().map(|k| &k.options)
    }

    /// The options of a link not yet attached (or being answered), to set
    /// its termini; `WrongState` once its attach went out.
    pub fn link_options_mut(&mut self, l: LinkId) -> Result<&mut LinkOptions> {
        let link = self.link_mut(l)?;
        if link.attach_sent {
            return Err(Error::WrongState("the link is already attached"));
        }
        Ok(&mut link.options)
    }

    /// The peer's attach, once it arrived.
    pub fn link_remote_attach(&self, l: LinkId) -> Option<&Attach> {
        self.link(l).ok()?.remote_attach.as_ref()
    }

    /// The peer's source terminus.
    pub fn link_remote_source(&self, l: LinkId) -> Option<&Source> {
        self.link_remote_attach(l)?.source.as_ref()
    }

    /// The peer's target terminus (plain targets only).
    pub fn link_remote_target(&self, l: LinkId) -> Option<&Target> {
        self.link_remote_attach(l)?.target.as_ref()?.as_target()
    }

    /// The peer's target when it is a transaction coordinator (§4.5.1):
    /// the peer is a controller.
    pub fn link_remote_coordinator(&self, l: LinkId) -> Option<&Coordinator> {
        match self.link_remote_attach(l)?.target.as_ref()? {
            TargetKind::Coordinator(c) => Some(c),
            TargetKind::Target(_) => None,
        }
    }

    /// The error the peer detached the link with.
    pub fn link_remote_condition(&self, l: LinkId) -> Option<&AmqpError> {
        self.link(l).ok()?.remote_error.as_ref()
    }

    /// The error this side detached the link with (or why it could not
    /// attach, or why the engine detached it, e.g. a message over
    /// `max-message-size`).
    pub fn link_local_condition(&self, l: LinkId) -> Option<&AmqpError> {
        self.link(l).ok()?.local_error.as_ref()
    }

    /// Whether the peer's detach closed the link (rather than suspending it).
    pub fn link_remote_closed(&self, l: LinkId) -> bool {
        self.link(l).is_ok_and(|k| k.remote_closed)
    }

    /// The link's local state.
    pub fn link_local_state(&self, l: LinkId) -> EndpointState {
        self.link(l).map_or(EndpointState::Closed, |k| k.local)
    }

    /// The link's remote state.
    pub fn link_remote_state(&self, l: LinkId) -> EndpointState {
        self.link(l).map_or(EndpointState::Closed, |k| k.remote)
    }

    /// The sender settle mode in force (§2.8.2): the sender's attach
    /// decides.
    pub fn link_snd_settle_mode(&self, l: LinkId) -> SenderSettleMode {
        let Ok(k) = self.link(l) else {
            return SenderSettleMode::Mixed;
        };
        match (k.role, &k.remote_attach) {
            (Role::Receiver, Some(a)) => a.snd_settle_mode,
            _ => k.options.snd_settle_mode.unwrap_or(SenderSettleMode::Mixed),
        }
    }

    /// The receiver settle mode in force (§2.8.3): the receiver's attach
    /// decides.
    pub fn link_rcv_settle_mode(&self, l: LinkId) -> ReceiverSettleMode {
        let Ok(k) = self.link(l) else {
            return ReceiverSettleMode::First;
        };
        match (k.role, &k.remote_attach) {
            (Role::Sender, Some(a)) => a.rcv_settle_mode,
            _ => k
                .options
                .rcv_settle_mode
                .unwrap_or(ReceiverSettleMode::First),
        }
    }

    /// Number of live links.
    pub fn link_count(&self) -> usize {
        self.links.len()
    }
}

impl Link {
    /// Answering the peer's attach: what the application left unset is
    /// taken from it (§2.6.3: the responder usually echoes the other
    /// terminus; the modes it asked for are granted), except the source's
    /// filter.
    fn adopt_remote_choices(&mut self) {
        let Some(remote) = &self.remote_attach else {
            return;
        };
        if self.options.source.is_none() {
            // The filter is not echoed: an answering source names the
            // filters actually in force (§3.5.1), and only the application
            // knows whether it applies one.
            self.options.source = remote.source.clone().map(|mut s| {
                s.filter = None;
                s
            });
        }
        if self.options.target.is_none() && self.options.coordinator.is_none() {
            match &remote.target {
                Some(TargetKind::Target(t)) => self.options.target = Some(t.clone()),
                Some(TargetKind::Coordinator(c)) => self.options.coordinator = Some(c.clone()),
                None => {}
            }
        }
        if self.options.snd_settle_mode.is_none() {
            self.options.snd_settle_mode = Some(remote.snd_settle_mode);
        }
        if self.options.rcv_settle_mode.is_none() {
            self.options.rcv_settle_mode = Some(remote.rcv_settle_mode);
        }
    }
}
