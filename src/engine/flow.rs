//! Link flow control (spec §2.6.7–§2.6.10, §2.7.4): credit,
//! delivery-count, available, drain and echo.

use super::connection::{Connection, EndpointState};
use super::error::{Error, Result};
use super::event::Event;
use super::link::INITIAL_DELIVERY_COUNT;
use super::serial;
use super::{LinkId, SessionId};
use crate::codec::transport::{Flow, Role, condition};

impl Connection {
    /// Receiver: allows the sender `credit` deliveries from now on
    /// (absolute, §2.6.7: not added to what is left), and sets drain.
    pub fn link_flow(&mut self, l: LinkId, credit: u32, drain: bool) -> Result<()> {
        let link = self.link_mut(l)?;
        if link.role != Role::Receiver {
            return Err(Error::WrongState("credit is granted by receivers"));
        }
        if link.local == EndpointState::Closed {
            return Err(Error::WrongState("the link is closed"));
        }
        link.link_credit = credit;
        link.drain = drain;
        link.max_credit = link.max_credit.max(credit);
        let limit = link.delivery_count.wrapping_add(credit);
        if serial::lt(link.granted_limit, limit) {
            link.granted_limit = limit;
        }
        if link.attach_sent {
            self.credit_granted |= credit > 0;
            self.mark_link_flow(l);
        }
        Ok(())
    }

    /// Asks the peer to answer with its view of the link (a flow with
    /// `echo=true`, §2.7.4). The answer arrives as [`Event::LinkFlow`].
    pub fn link_request_echo(&mut self, l: LinkId) -> Result<()> {
        let link = self.link_mut(l)?;
        if link.local != EndpointState::Active {
            return Err(Error::WrongState("the link is not open"));
        }
        link.echo_request = true;
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

    /// The flow frame for link `l` (session fields plus link state).
    pub(crate) fn link_flow_frame(&mut self, s: SessionId, l: LinkId) -> Option<Flow> {
        let link = self.links.get_mut(l.0)?;
        link.flow_pending = false;
        let echo = std::mem::replace(&mut link.echo_request, false);
        let handle = link.local_handle?;
        if link.detach_sent {
            return None;
        }
        // §2.6.7: a receiver omits delivery-count until the sender's
        // attach told it the sender's count.
        let dc = match link.role {
            Role::Sender => Some(link.delivery_count),
            Role::Receiver => link.remote_attach.is_some().then_some(link.delivery_count),
        };
        let (credit, avail, drain) = (link.link_credit, link.available, link.drain);
        let ses = self.sessions.get(s.0)?;
        let mut flow = Self::session_flow_frame(ses);
        flow.handle = Some(handle);
        flow.delivery_count = dc;
        flow.link_credit = Some(credit);
        flow.available = Some(avail);
        flow.drain = drain;
        flow.echo = echo;
        Some(flow)
    }

    pub(crate) fn on_link_flow(&mut self, l: LinkId, flow: &Flow) {
        let Some(link) = self.links.get_mut(l.0) else {
            return;
        };
        if link.remote == EndpointState::Closed {
            // §2.6.2: the peer detached the handle; nothing names it now.
            let h = flow.handle.unwrap_or_default();
            self.fail(
                condition::UNATTACHED_HANDLE,
                format!("flow for handle {h}, which the peer detached"),
            );
            return;
        }
        // DISCARDING after our detach (§2.6.6).
        if link.detach_sent || link.local == EndpointState::Closed {
            return;
        }
        match link.role {
            Role::Sender => {
                // §2.6.7: credit = receiver's count + its credit - ours; an
                // absent count means the receiver had not seen our attach.
                let rcv_dc = flow.delivery_count.unwrap_or(INITIAL_DELIVERY_COUNT);
                let limit = rcv_dc.wrapping_add(flow.link_credit.unwrap_or(0));
                link.link_credit = serial::remaining(limit, link.delivery_count);
                link.drain = flow.drain;
                if flow.echo {
                    self.mark_link_flow(l);
                }
                self.push(Event::LinkFlow(l));
            }
            Role::Receiver => {
                // §2.6.7: the sender advanced its count (a drain); the
                // limit count + credit stays where it was.
                if let Some(dc) = flow.delivery_count {
                    let delta = serial::diff(dc, link.delivery_count).max(0) as u32;
                    link.delivery_count = dc;
                    link.link_credit = link.link_credit.saturating_sub(delta);
                }
                link.available = flow.available.unwrap_or(link.available);
                if link.drain && link.link_credit == 0 {
                    // The drain is finished; the next grant says drain=false.
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
    /// asked to drain, the remaining credit is used up and the receiver is
    /// told with a flow (§2.6.7). Returns the credit consumed.
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

    /// Sender: how many messages wait for credit (`available`, §2.6.7, a
    /// hint). It goes out with the next flow the sender writes (after a
    /// drain or an echo).
    pub fn link_set_available(&mut self, l: LinkId, available: u32) -> Result<()> {
        self.link_mut(l)?.available = available;
        Ok(())
    }

    /// The link's credit: for a sender, deliveries it may send now (the
    /// peer's credit, held to what `Config::max_unsettled_per_link` leaves
    /// room for); for a receiver, deliveries it still allows.
    pub fn link_credit(&self, l: LinkId) -> u32 {
        self.link(l).map_or(0, |k| match k.role {
            Role::Sender => {
                let room = self
                    .config
                    .max_unsettled_per_link
                    .saturating_sub(k.deliveries);
                k.link_credit.min(u32::try_from(room).unwrap_or(u32::MAX))
            }
            Role::Receiver => k.link_credit,
        })
    }

    /// True while a drain is requested (sender) or in progress (receiver).
    pub fn link_drain(&self, l: LinkId) -> bool {
        self.link(l).is_ok_and(|k| k.drain)
    }

    /// The link's delivery-count (§2.6.7) as this side knows it.
    pub fn link_delivery_count(&self, l: LinkId) -> u32 {
        self.link(l).map_or(0, |k| k.delivery_count)
    }

    /// The `available` hint: for a receiver, what the sender last said;
    /// for a sender, what it will say.
    pub fn link_available(&self, l: LinkId) -> u32 {
        self.link(l).map_or(0, |k| k.available)
    }
}
