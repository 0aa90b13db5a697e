//! Deliveries (spec §2.6.12, §2.7.6, §2.8.2–§2.8.3, §3.4): state,
//! dispositions and settlement. Transfers are in `transfer.rs`.

use super::connection::Connection;
use super::error::{Error, Result};
use super::event::Event;
use super::serial;
use super::session::PendingDisposition;
use super::{DeliveryId, LinkId};
use crate::codec::DeliveryTag;
use crate::codec::messaging::DeliveryState;
use crate::codec::transport::{Disposition, ReceiverSettleMode, Role, Transfer, condition};

/// Something that can write a message's bytes: a byte slice, or a
/// [`Message`](crate::codec::message::Message), encoded straight into the
/// output buffer.
pub trait Payload {
    /// Appends the payload to `out`.
    fn write_to(&self, out: &mut Vec<u8>);
}

impl Payload for [u8] {
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

impl Payload for crate::codec::message::Message {
    fn write_to(&self, out: &mut Vec<u8>) {
        self.encode(out);
    }
}

#[derive(Debug)]
pub(crate) struct Delivery {
    pub link: LinkId,
    pub id: u32,
    pub tag: DeliveryTag,
    pub outgoing: bool,
    pub payload: Vec<u8>,
    pub message_format: u32,
    pub local_state: Option<DeliveryState>,
    pub remote_state: Option<DeliveryState>,
    pub remote_settled: bool,
    pub complete: bool,
    pub rcv_settle_mode: ReceiverSettleMode,
    /// Receiver in mode second: the application settled, the outcome went
    /// out unsettled, and the delivery is released once the sender's
    /// settlement has been reported (§2.8.3).
    pub settle_pending: bool,
}

impl Delivery {
    pub(crate) fn outgoing(
        link: LinkId,
        id: u32,
        tag: DeliveryTag,
        mode: ReceiverSettleMode,
    ) -> Delivery {
        Delivery {
            link,
            id,
            tag,
            outgoing: true,
            payload: Vec::new(),
            message_format: 0,
            local_state: None,
            remote_state: None,
            remote_settled: false,
            complete: true,
            rcv_settle_mode: mode,
            settle_pending: false,
        }
    }

    pub(crate) fn incoming(
        link: LinkId,
        id: u32,
        tag: DeliveryTag,
        t: &Transfer,
        mode: ReceiverSettleMode,
        payload: Vec<u8>,
    ) -> Delivery {
        Delivery {
            link,
            id,
            tag,
            outgoing: false,
            payload,
            message_format: t.message_format.unwrap_or(0),
            local_state: None,
            remote_state: t.state.clone(),
            remote_settled: false,
            complete: false,
            rcv_settle_mode: mode,
            settle_pending: false,
        }
    }
}

impl Connection {
    /// Handles a disposition (§2.7.6): `first..=last` (serial numbers,
    /// may wrap) in the numbering of whoever sent the deliveries. Ids no
    /// longer known are ignored (both ends may settle at once); a range
    /// that runs backwards, or names an id that was never used, is
    /// `amqp:invalid-field`.
    pub(crate) fn on_disposition(&mut self, channel: u16, dp: Disposition) {
        let Some(s) = self.session_for_frame(channel, "disposition") else {
            return;
        };
        let last = dp.last.unwrap_or(dp.first);
        let span = serial::diff(last, dp.first);
        let Some(ses) = self.sessions.get_mut(s.0) else {
            return;
        };
        // role=receiver: the peer receives, so these are deliveries we
        // sent; ids from `next` on were never used.
        let next = match dp.role {
            Role::Receiver => Some(ses.next_delivery_id),
            Role::Sender => ses.next_incoming_delivery,
        };
        let problem = if span < 0 {
            Some("the range runs backwards".to_owned())
        } else if next.is_none_or(|n| !serial::lt(last, n)) {
            let whose = if dp.role == Role::Receiver {
                "this side"
            } else {
                "the peer"
            };
            Some(match next {
                Some(n) => format!(
                    "{whose} has used delivery-ids only up to {}",
                    n.wrapping_sub(1)
                ),
                None => format!("{whose} has sent no delivery on the session"),
            })
        } else {
            None
        };
        if let Some(p) = problem {
            self.fail(
                condition::INVALID_FIELD,
                format!("disposition of delivery-ids {}..={last}: {p}", dp.first),
            );
            return;
        }
        let Some(ses) = self.sessions.get_mut(s.0) else {
            return;
        };
        // role=receiver: the peer receives, so these are deliveries we sent.
        let map = match dp.role {
            Role::Receiver => &mut ses.outgoing,
            Role::Sender => &mut ses.incoming,
        };
        let mut ids = std::mem::take(&mut self.id_scratch);
        ids.clear();
        map.collect_range(dp.first, last, &mut ids);
        if dp.settled {
            // The peer forgot them; a later disposition cannot name them.
            map.remove_range(dp.first, last);
        }
        for (_, d) in ids.drain(..) {
            let Some(del) = self.deliveries.get_mut(d.0) else {
                continue;
            };
            if let Some(state) = &dp.state
                && !super::stats::is_outcome(del.remote_state.as_ref())
            {
                self.counters.outcome(state);
                if let Some(link) = self.links.get_mut(del.link.0) {
                    link.counters.outcome(state);
                }
            }
            // A non-terminal state (received) after an outcome does not
            // take the outcome back: a peer alternating them is counted once.
            if dp.state.is_some()
                && (super::stats::is_outcome(dp.state.as_ref())
                    || !super::stats::is_outcome(del.remote_state.as_ref()))
            {
                del.remote_state.clone_from(&dp.state);
            }
            if dp.settled {
                del.remote_settled = true;
            }
            self.push(Event::DeliveryUpdated(d));
        }
        self.id_scratch = ids;
    }

    /// Sets the local state of a delivery and/or settles it. Settling
    /// releases the delivery: its ID is stale afterwards. The disposition
    /// frame is coalesced with others at the next [`output`](Self::output).
    ///
    /// A receiver in rcv-settle-mode `second` (§2.8.3) may not settle
    /// before the sender has: settling then sends the state unsettled, and
    /// the delivery is released after the [`Event::DeliveryUpdated`] that
    /// reports the sender's settlement.
    pub fn disposition(
        &mut self,
        d: DeliveryId,
        state: Option<DeliveryState>,
        settle: bool,
    ) -> Result<()> {
        let del = self
            .deliveries
            .get_mut(d.0)
            .ok_or(Error::Stale("delivery"))?;
        if del.settle_pending {
            return Ok(());
        }
        let first_outcome = !del.remote_settled
            && !super::stats::is_outcome(del.local_state.as_ref())
            && super::stats::is_outcome(state.as_ref());
        if state.is_some() {
            del.local_state.clone_from(&state);
        }
        let defer = settle
            && !del.outgoing
            && !del.remote_settled
            && del.rcv_settle_mode == ReceiverSettleMode::Second;
        let wire_settled = settle && !defer;
        del.settle_pending = defer;
        let (l, id, outgoing, remote_settled) =
            (del.link, del.id, del.outgoing, del.remote_settled);
        let outcome = state.as_ref().filter(|_| first_outcome);
        if let Some(o) = outcome {
            self.counters.outcome(o);
        }
        self.counters.settled += u64::from(settle);
        let s = match self.links.get_mut(l.0) {
            Some(link) => {
                if let Some(o) = outcome {
                    link.counters.outcome(o);
                }
                link.counters.settled += u64::from(settle);
                Some(link.session)
            }
            None => None,
        };
        if !remote_settled
            && (state.is_some() || wire_settled)
            && let Some(s) = s
        {
            let role = if outgoing {
                Role::Sender
            } else {
                Role::Receiver
            };
            self.queue_disposition(
                s,
                PendingDisposition {
                    role,
                    id,
                    settled: wire_settled,
                    state,
                },
            );
        }
        if wire_settled {
            self.release_delivery(d);
        }
        Ok(())
    }

    /// Settles a delivery without changing its state.
    pub fn settle(&mut self, d: DeliveryId) -> Result<()> {
        self.disposition(d, None, true)
    }

    /// Forgets a delivery: out of the slab and the session's maps, its
    /// buffer back in the pool.
    pub(crate) fn release_delivery(&mut self, d: DeliveryId) {
        let Some(del) = self.deliveries.remove(d.0) else {
            return;
        };
        if !del.outgoing && !del.complete {
            self.incomplete_bytes = self.incomplete_bytes.saturating_sub(del.payload.len());
        }
        let max_held = self.config.max_unsettled_per_link;
        if let Some(link) = self.links.get_mut(del.link.0) {
            link.deliveries = link.deliveries.saturating_sub(1);
            if link.unsettled_full && link.deliveries < max_held {
                // Room again for a sender held back by its unsettled
                // deliveries.
                link.unsettled_full = false;
                if link.link_credit > 0 {
                    self.push(Event::LinkFlow(del.link));
                }
            }
        }
        if let Some(ses) = self
            .links
            .get(del.link.0)
            .and_then(|k| self.sessions.get_mut(k.session.0))
        {
            let map = if del.outgoing {
                &mut ses.outgoing
            } else {
                &mut ses.incoming
            };
            map.remove_if(del.id, d);
        }
        self.give_buf(del.payload);
    }

    /// True if `d` is to be released once its update event was handed out.
    pub(crate) fn delivery_settles_after_event(&self, d: DeliveryId) -> bool {
        self.deliveries
            .get(d.0)
            .is_some_and(|x| x.settle_pending && x.remote_settled)
    }

    /// The bytes of a complete incoming delivery.
    pub fn delivery_payload(&self, d: DeliveryId) -> Option<&[u8]> {
        self.deliveries.get(d.0).map(|x| x.payload.as_slice())
    }

    /// Takes the bytes of an incoming delivery out of the engine (the
    /// delivery stays, for its disposition).
    pub fn delivery_take_payload(&mut self, d: DeliveryId) -> Option<Vec<u8>> {
        self.deliveries
            .get_mut(d.0)
            .map(|x| std::mem::take(&mut x.payload))
    }

    /// The link a delivery belongs to.
    pub fn delivery_link(&self, d: DeliveryId) -> Option<LinkId> {
        self.deliveries.get(d.0).map(|x| x.link)
    }

    /// The delivery's tag.
    pub fn delivery_tag(&self, d: DeliveryId) -> Option<DeliveryTag> {
        self.deliveries.get(d.0).map(|x| x.tag)
    }

    /// The delivery's session-wide delivery-id (§2.6.12) on the wire.
    pub fn delivery_number(&self, d: DeliveryId) -> Option<u32> {
        self.deliveries.get(d.0).map(|x| x.id)
    }

    /// The state the peer gave the delivery, if any.
    pub fn delivery_remote_state(&self, d: DeliveryId) -> Option<&DeliveryState> {
        self.deliveries.get(d.0)?.remote_state.as_ref()
    }

    /// The state this side gave the delivery, if any.
    pub fn delivery_local_state(&self, d: DeliveryId) -> Option<&DeliveryState> {
        self.deliveries.get(d.0)?.local_state.as_ref()
    }

    /// Whether the peer has settled the delivery.
    pub fn delivery_remote_settled(&self, d: DeliveryId) -> bool {
        self.deliveries.get(d.0).is_some_and(|x| x.remote_settled)
    }

    /// The receiver settle mode that applies to the delivery.
    pub fn delivery_rcv_settle_mode(&self, d: DeliveryId) -> ReceiverSettleMode {
        self.deliveries
            .get(d.0)
            .map_or(ReceiverSettleMode::First, |x| x.rcv_settle_mode)
    }

    /// The delivery's message format (0 for AMQP messages).
    pub fn delivery_message_format(&self, d: DeliveryId) -> u32 {
        self.deliveries.get(d.0).map_or(0, |x| x.message_format)
    }

    /// True if `d` names a live delivery.
    pub fn delivery_exists(&self, d: DeliveryId) -> bool {
        self.deliveries.get(d.0).is_some()
    }
}
