//! Links (spec §2.6): attach and detach, termini, and link flow control
//! (credit, delivery-count, drain, echo).

use super::connection::{Connection, EndpointState};
use super::error::{Error, Result};
use super::event::Event;
use super::serial;
use super::{LinkId, SessionId};
use crate::codec::messaging::{Source, Target, TargetKind};
use crate::codec::transport::{
    AmqpError, Attach, Detach, Flow, ReceiverSettleMode, Role, SenderSettleMode, condition,
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
    /// Sender settle mode; `None` = mixed.
    pub snd_settle_mode: Option<SenderSettleMode>,
    /// Receiver settle mode; `None` = first.
    pub rcv_settle_mode: Option<ReceiverSettleMode>,
    /// Largest message this end accepts (0 / `None`: the connection limit).
    pub max_message_size: Option<u64>,
    /// `attach.properties`.
    pub properties: Option<Map>,
    /// `attach.offered-capabilities`.
    pub offered_capabilities: Option<Symbols>,
    /// `attach.desired-capabilities`.
    pub desired_capabilities: Option<Symbols>,
}

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
    pub flow_pending: bool,
    pub echo_pending: bool,
    /// Receiver: the delivery whose frames are arriving.
    pub incoming: Option<super::DeliveryId>,
    /// Sender: tag counter for tags muon makes up.
    pub next_tag: u64,
    pub local_error: Option<AmqpError>,
    pub remote_error: Option<AmqpError>,
    pub final_sent: bool,
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
            let n = self.unique();
            options.name = format!("{}-{}", self.config.container_id, n);
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
            delivery_count: 0,
            link_credit: 0,
            available: 0,
            drain: false,
            granted_limit: 0,
            flow_pending: false,
            echo_pending: false,
            incoming: None,
            next_tag: 0,
            local_error: None,
            remote_error: None,
            final_sent: false,
        };
        Ok(LinkId(self.links.insert(link)))
    }

    fn unique(&mut self) -> u64 {
        self.name_counter = self.name_counter.wrapping_add(1);
        self.name_counter
    }

    /// Attaches a link we created, or answers the peer's attach. For an
    /// answer, termini the application did not set are copied from the
    /// peer's attach.
    pub fn link_open(&mut self, l: LinkId) -> Result<()> {
        let closed = self.close_sent;
        let link = self.link_mut(l)?;
        if link.local != EndpointState::Uninit {
            return Ok(());
        }
        if closed {
            return Err(Error::Closed);
        }
        link.local = EndpointState::Active;
        if let Some(remote) = &link.remote_attach {
            if link.options.source.is_none() {
                link.options.source = remote.source.clone();
            }
            if link.options.target.is_none()
                && let Some(TargetKind::Target(t)) = &remote.target
            {
                link.options.target = Some(t.clone());
            }
        }
        let s = link.session;
        let ses = self.session_mut(s)?;
        if ses.begin_sent {
            self.send_attach(l);
        } else if ses.local == EndpointState::Active {
            ses.links_awaiting_begin.push(l);
        } else {
            // The session is not open yet: attach once it is.
            ses.links_awaiting_begin.push(l);
        }
        Ok(())
    }

    pub(crate) fn send_attach(&mut self, l: LinkId) {
        let Ok(link) = self.link(l) else { return };
        let s = link.session;
        let Ok(ses) = self.session(s) else { return };
        if !ses.begin_sent {
            if let Ok(ses) = self.session_mut(s) {
                ses.links_awaiting_begin.push(l);
            }
            return;
        }
        let limit = ses.remote_handle_max.min(ses.handle_max);
        let Some(handle) = (0..=limit).find(|h| !ses.local_handles.contains_key(h)) else {
            return;
        };
        let channel = ses.local_channel.unwrap_or(0);
        let Some(link) = self.links.get_mut(l.0) else {
            return;
        };
        link.local_handle = Some(handle);
        link.attach_sent = true;
        let o = &link.options;
        let attach = Attach {
            name: link.name.clone(),
            handle,
            role: link.role,
            snd_settle_mode: o.snd_settle_mode.unwrap_or(SenderSettleMode::Mixed),
            rcv_settle_mode: o.rcv_settle_mode.unwrap_or(ReceiverSettleMode::First),
            source: o.source.clone(),
            target: o.target.clone().map(TargetKind::Target),
            unsettled: None,
            incomplete_unsettled: false,
            initial_delivery_count: (link.role == Role::Sender).then_some(link.delivery_count),
            max_message_size: o.max_message_size.filter(|m| *m > 0),
            offered_capabilities: o.offered_capabilities.clone(),
            desired_capabilities: o.desired_capabilities.clone(),
            properties: o.properties.clone(),
        };
        let grant = link.role == Role::Receiver && (link.link_credit > 0 || link.drain);
        if let Some(ses) = self.sessions.get_mut(s.0) {
            ses.local_handles.insert(handle, l);
        }
        self.write_frame(channel, &attach, &[]);
        if grant {
            self.mark_link_flow(l);
        }
        if self.link(l).is_ok_and(|k| k.local_closed && !k.detach_sent) {
            let _ = self.send_detach(l);
        }
    }

    /// Detaches a link: `closed` ends it for good (the usual case), else it
    /// is only suspended (§2.6.6).
    pub fn link_close(&mut self, l: LinkId, closed: bool, error: Option<AmqpError>) -> Result<()> {
        let link = self.link_mut(l)?;
        if link.local == EndpointState::Closed {
            return Ok(());
        }
        link.local = EndpointState::Closed;
        link.local_closed = closed;
        link.local_error = error;
        if link.attach_sent {
            self.send_detach(l)?;
        } else {
            // Never attached: nothing to tell the peer unless it attached.
            let remote_attached = link.remote_handle.is_some();
            if remote_attached {
                // Answer the peer's attach so that the detach is legal.
                link.local = EndpointState::Uninit;
                self.link_open(l)?;
                let link = self.link_mut(l)?;
                link.local = EndpointState::Closed;
                self.send_detach(l)?;
            }
        }
        self.check_link_final(l);
        Ok(())
    }

    fn send_detach(&mut self, l: LinkId) -> Result<()> {
        let link = self.link_mut(l)?;
        if link.detach_sent || link.local_handle.is_none() {
            return Ok(());
        }
        link.detach_sent = true;
        let detach = Detach {
            handle: link.local_handle.unwrap_or(0),
            closed: link.local_closed,
            error: link.local_error.clone(),
        };
        let s = link.session;
        let ses = self.session(s)?;
        if ses.end_sent || self.close_sent {
            return Ok(());
        }
        let channel = ses.local_channel.unwrap_or(0);
        self.flush_session(s);
        self.write_frame(channel, &detach, &[]);
        Ok(())
    }

    pub(crate) fn check_link_final(&mut self, l: LinkId) {
        let Some(link) = self.links.get(l.0) else {
            return;
        };
        let local_done =
            link.local == EndpointState::Closed && (link.detach_sent || !link.attach_sent);
        let remote_done = link.remote == EndpointState::Closed
            || link.remote_handle.is_none() && !link.attach_sent;
        if local_done && remote_done {
            self.link_gone(l);
        }
    }

    /// Unmaps a link from its session and emits its final event.
    pub(crate) fn link_gone(&mut self, l: LinkId) {
        let Some(link) = self.links.get_mut(l.0) else {
            return;
        };
        if link.final_sent {
            return;
        }
        link.final_sent = true;
        let (s, lh, rh) = (link.session, link.local_handle, link.remote_handle);
        if let Some(ses) = self.sessions.get_mut(s.0) {
            if let Some(h) = lh {
                ses.local_handles.remove(&h);
            }
            if let Some(h) = rh {
                ses.remote_handles.remove(&h);
            }
        }
        self.push(Event::LinkFinal(l));
    }

    /// Frees a link and its deliveries (after its final event).
    pub(crate) fn release_link(&mut self, l: LinkId) {
        let Some(link) = self.links.remove(l.0) else {
            return;
        };
        let Some(ses) = self.sessions.get_mut(link.session.0) else {
            return;
        };
        let deliveries = &mut self.deliveries;
        ses.outgoing.retain(|_, d| {
            let mine = deliveries.get(d.0).is_some_and(|x| x.link == l);
            if mine {
                deliveries.remove(d.0);
            }
            !mine
        });
        ses.incoming.retain(|_, d| {
            let mine = deliveries.get(d.0).is_some_and(|x| x.link == l);
            if mine {
                deliveries.remove(d.0);
            }
            !mine
        });
        ses.pending_transfers.retain(|p| p.link != l);
        if let Some(d) = link.incoming {
            deliveries.remove(d.0);
        }
    }

    pub(crate) fn on_attach(&mut self, channel: u16, attach: Attach) {
        let Some(s) = self.session_by_remote_channel(channel, "attach") else {
            return;
        };
        let Some(ses) = self.sessions.get(s.0) else {
            return;
        };
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
        if ses.remote_handles.contains_key(&attach.handle) {
            self.fail(
                condition::HANDLE_IN_USE,
                format!("attach on handle {}, which is in use", attach.handle),
            );
            return;
        }
        // An answer to our attach: same name, opposite role, not yet answered.
        let answer = ses.local_handles.values().copied().find(|l| {
            self.links.get(l.0).is_some_and(|k| {
                k.name == attach.name && k.role != attach.role && k.remote_handle.is_none()
            })
        });
        let l = match answer {
            Some(l) => l,
            None => {
                let role = match attach.role {
                    Role::Sender => Role::Receiver,
                    Role::Receiver => Role::Sender,
                };
                match self.link_new(
                    s,
                    role,
                    LinkOptions {
                        name: attach.name.clone(),
                        ..LinkOptions::default()
                    },
                ) {
                    Ok(l) => l,
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
            // The sender's count seeds ours (§2.6.7).
            let idc = attach.initial_delivery_count.unwrap_or(0);
            let credit = link.link_credit;
            link.delivery_count = idc;
            link.granted_limit = idc.wrapping_add(credit);
        }
        link.remote_attach = Some(attach);
        if let Some(ses) = self.sessions.get_mut(s.0) {
            ses.remote_handles.insert(handle, l);
        }
        self.push(Event::LinkRemoteOpen(l));
    }

    pub(crate) fn on_detach(&mut self, channel: u16, detach: Detach) {
        let Some(s) = self.session_by_remote_channel(channel, "detach") else {
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
        link.remote = EndpointState::Closed;
        link.remote_closed = detach.closed;
        link.remote_error = detach.error;
        // A partly received delivery dies with the link.
        if let Some(d) = link.incoming.take() {
            self.deliveries.remove(d.0);
        }
        self.push(Event::LinkRemoteClose(l));
        self.check_link_final(l);
    }

    // ---- flow ---------------------------------------------------------------

    /// Receiver: allows the sender `credit` more deliveries from now
    /// (absolute, not added to what is left), and sets drain.
    pub fn link_flow(&mut self, l: LinkId, credit: u32, drain: bool) -> Result<()> {
        let link = self.link_mut(l)?;
        if link.role != Role::Receiver {
            return Err(Error::WrongState("credit is granted by receivers"));
        }
        link.link_credit = credit;
        link.drain = drain;
        let limit = link.delivery_count.wrapping_add(credit);
        if serial::lt(link.granted_limit, limit) {
            link.granted_limit = limit;
        }
        if link.attach_sent {
            self.mark_link_flow(l);
        }
        Ok(())
    }

    pub(crate) fn mark_link_flow(&mut self, l: LinkId) {
        let Some(link) = self.links.get_mut(l.0) else {
            return;
        };
        let s = link.session;
        if !link.flow_pending {
            link.flow_pending = true;
            if let Some(ses) = self.sessions.get_mut(s.0) {
                ses.flow_links.push(l);
            }
        }
        self.mark_dirty(s);
    }

    pub(crate) fn link_flow_frame(&mut self, s: SessionId, l: LinkId) -> Option<Flow> {
        let link = self.links.get_mut(l.0)?;
        link.flow_pending = false;
        let echo = std::mem::replace(&mut link.echo_pending, false);
        let handle = link.local_handle?;
        if link.detach_sent {
            return None;
        }
        let (dc, credit, avail, drain) = (
            link.delivery_count,
            link.link_credit,
            link.available,
            link.drain,
        );
        let ses = self.sessions.get(s.0)?;
        let mut flow = self.session_flow_frame(ses);
        flow.handle = Some(handle);
        flow.delivery_count = Some(dc);
        flow.link_credit = Some(credit);
        flow.available = Some(avail);
        flow.drain = drain;
        // Answering an echo never asks for one back.
        let _ = echo;
        Some(flow)
    }

    pub(crate) fn on_link_flow(&mut self, _s: SessionId, l: LinkId, flow: &Flow) {
        let Some(link) = self.links.get_mut(l.0) else {
            return;
        };
        match link.role {
            Role::Sender => {
                // §2.6.7: credit = receiver's count + its credit - our count.
                let rcv_dc = flow.delivery_count.unwrap_or(0);
                let limit = rcv_dc.wrapping_add(flow.link_credit.unwrap_or(0));
                link.link_credit = serial::remaining(limit, link.delivery_count);
                link.drain = flow.drain;
                if flow.echo {
                    link.echo_pending = true;
                    self.mark_link_flow(l);
                }
                self.push(Event::LinkFlow(l));
            }
            Role::Receiver => {
                if let Some(dc) = flow.delivery_count {
                    let delta = serial::diff(dc, link.delivery_count).max(0) as u32;
                    link.delivery_count = dc;
                    link.link_credit = link.link_credit.saturating_sub(delta);
                }
                link.available = flow.available.unwrap_or(link.available);
                let drained = link.drain && link.link_credit == 0;
                if drained {
                    link.drain = false;
                }
                if flow.echo {
                    self.mark_link_flow(l);
                }
                self.push(Event::LinkFlow(l));
            }
        }
    }

    /// Sender: the application has nothing more to send; if the receiver
    /// asked to drain, use up the credit and tell it (§2.6.7).
    pub fn link_drained(&mut self, l: LinkId) -> Result<u32> {
        let link = self.link_mut(l)?;
        if link.role != Role::Sender || !link.drain || link.link_credit == 0 {
            return Ok(0);
        }
        let n = link.link_credit;
        link.delivery_count = link.delivery_count.wrapping_add(n);
        link.link_credit = 0;
        self.mark_link_flow(l);
        Ok(n)
    }

    /// Sender: tells the receiver how many messages wait for credit.
    pub fn link_set_available(&mut self, l: LinkId, available: u32) -> Result<()> {
        self.link_mut(l)?.available = available;
        Ok(())
    }

    // ---- accessors ------------------------------------------------------------

    /// The link's credit: for a sender, deliveries it may send now; for a
    /// receiver, deliveries it still allows.
    pub fn link_credit(&self, l: LinkId) -> u32 {
        self.link(l).map_or(0, |k| k.link_credit)
    }

    /// True while a drain is requested (sender) or in progress (receiver).
    pub fn link_drain(&self, l: LinkId) -> bool {
        self.link(l).is_ok_and(|k| k.drain)
    }

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
        match self.link_remote_attach(l)?.target.as_ref()? {
            TargetKind::Target(t) => Some(t),
            _ => None,
        }
    }

    /// The error the peer detached the link with.
    pub fn link_remote_condition(&self, l: LinkId) -> Option<&AmqpError> {
        self.link(l).ok()?.remote_error.as_ref()
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

    /// The sender settle mode in force: the sender's attach decides.
    pub fn link_snd_settle_mode(&self, l: LinkId) -> SenderSettleMode {
        let Ok(k) = self.link(l) else {
            return SenderSettleMode::Mixed;
        };
        match (k.role, &k.remote_attach) {
            (Role::Receiver, Some(a)) => a.snd_settle_mode,
            _ => k.options.snd_settle_mode.unwrap_or(SenderSettleMode::Mixed),
        }
    }

    /// The receiver settle mode in force: the receiver's attach decides.
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
