//! Transfers (spec §2.6.11–§2.6.14, §2.7.5): deliveries out (split at the
//! peer's max-frame-size, held back by its session window) and in
//! (reassembled, credit and size checked, aborted and resumed ones
//! thrown away).

use super::connection::{Connection, EndpointState};
use super::delivery::{Delivery, Payload};
use super::error::{Error, Result};
use super::event::Event;
use super::serial;
use super::session::PendingTransfer;
use super::{DeliveryId, LinkId, SessionId};
use crate::codec::frame::{self, FRAME_TYPE_AMQP};
use crate::codec::messaging::DeliveryState;
use crate::codec::transport::{
    AmqpError, ReceiverSettleMode, Role, SenderSettleMode, Transfer, condition,
};
use crate::codec::{DeliveryTag, Encode};

/// The smallest tag holding `n` (big-endian, leading zero bytes dropped).
fn minimal_tag(n: u64) -> DeliveryTag {
    let bytes = n.to_be_bytes();
    let skip = (n.leading_zeros() / 8).min(7) as usize;
    DeliveryTag::new(bytes.get(skip..).unwrap_or_default()).unwrap_or_default()
}

/// The ID returned for a delivery sent settled: it names nothing, so
/// every command on it reports [`Error::Stale`].
const PRESETTLED: DeliveryId = DeliveryId(super::slab::Key {
    index: u32::MAX,
    generation: 0,
});

impl Connection {
    /// Sends one message on sender link `l`, which must have credit. The
    /// payload is encoded straight into the output when it fits one frame
    /// and the session window is open; otherwise it is split at the peer's
    /// max-frame-size and, if need be, held until the peer's flow opens
    /// the window (§2.5.6). `tag` defaults to a per-link counter.
    /// `settled` sends it pre-settled (overridden by the link's
    /// snd-settle-mode when that is `settled` or `unsettled`, §2.8.2).
    /// Returns the delivery's ID (stale at once if it went pre-settled).
    /// The transfer's message-format is 0 (an AMQP message); see
    /// [`send_with_format`](Self::send_with_format).
    pub fn send<P: Payload + ?Sized>(
        &mut self,
        l: LinkId,
        tag: Option<&[u8]>,
        payload: &P,
        settled: bool,
    ) -> Result<DeliveryId> {
        self.send_with_format(l, tag, payload, settled, 0)
    }

    /// [`send`](Self::send) with the transfer's `message-format` (§2.7.5:
    /// 0 is an AMQP message; other values name the format of the payload,
    /// vendor in the upper three bytes, version in the lowest). A message
    /// larger than the peer's max-message-size, or than the link's own
    /// (`LinkOptions::max_message_size`), is refused with
    /// [`Error::InvalidArgument`], and nothing is spent.
    pub fn send_with_format<P: Payload + ?Sized>(
        &mut self,
        l: LinkId,
        tag: Option<&[u8]>,
        payload: &P,
        settled: bool,
        message_format: u32,
    ) -> Result<DeliveryId> {
        self.send_with_state(l, tag, payload, settled, message_format, None)
    }

    /// [`send_with_format`](Self::send_with_format) with the transfer's
    /// `state` (§2.7.5), sent on its first frame: a `transactional-state`
    /// naming the transaction the message is posted under (§4.5.6.1).
    pub fn send_with_state<P: Payload + ?Sized>(
        &mut self,
        l: LinkId,
        tag: Option<&[u8]>,
        payload: &P,
        settled: bool,
        message_format: u32,
        state: Option<DeliveryState>,
    ) -> Result<DeliveryId> {
        if self.close_sent || self.is_done() {
            return Err(Error::Closed);
        }
        let buffered = self.output_len() + self.pending_bytes;
        if buffered > self.config.max_output {
            // Told again when the output drains (see `consume_output`).
            if !self.send_refused.contains(&l) {
                self.send_refused.push(l);
            }
            return Err(Error::OutputFull(buffered));
        }
        // A controller's request goes after the work of its transaction:
        // the acknowledgements (dispositions) queued on the session are
        // written first, so that a discharge never overtakes them (§4.4).
        if let Ok(k) = self.link(l)
            && k.options.coordinator.is_some()
        {
            let s = k.session;
            self.flush_session(s);
        }
        let snd_mode = self.link_snd_settle_mode(l);
        let rcv_mode = self.link_rcv_settle_mode(l);
        let max_held = self.config.max_unsettled_per_link;
        let link = self.link_mut(l)?;
        if link.role != Role::Sender {
            return Err(Error::WrongState("only a sender link sends"));
        }
        if link.local != EndpointState::Active
            || link.remote != EndpointState::Active
            || link.detach_sent
        {
            return Err(Error::WrongState("the link is not attached"));
        }
        let Some(handle) = link.local_handle else {
            return Err(Error::WrongState("the link is not attached"));
        };
        if link.link_credit == 0 {
            return Err(Error::NoCredit);
        }
        let settled = match snd_mode {
            SenderSettleMode::Settled => true,
            SenderSettleMode::Unsettled => false,
            SenderSettleMode::Mixed => settled,
        };
        if !settled && link.deliveries >= max_held {
            // As many unsettled deliveries as this side holds for a link:
            // no more until the peer settles some (a `LinkFlow` then), as
            // if the credit were used up (`link_credit` says 0).
            link.unsettled_full = true;
            return Err(Error::NoCredit);
        }
        let tag = match tag {
            Some(t) => DeliveryTag::new(t)
                .ok_or(Error::InvalidArgument("delivery tag longer than 32 bytes"))?,
            None => {
                link.next_tag = link.next_tag.wrapping_add(1);
                minimal_tag(link.next_tag)
            }
        };
        let remote_max_msg = link
            .remote_attach
            .as_ref()
            .and_then(|a| a.max_message_size)
            .filter(|m| *m > 0);
        let own_max_msg = link.options.max_message_size.filter(|m| *m > 0);
        let s = link.session;
        let ses = self.session(s)?;
        if ses.end_sent || ses.remote != EndpointState::Active {
            return Err(Error::WrongState("the session is not open"));
        }
        let channel = ses.local_channel.unwrap_or(0);
        let delivery_id = ses.next_delivery_id;
        let direct = ses.pending_transfers.is_empty() && ses.remote_incoming_window > 0;
        let transfer = Transfer {
            handle,
            delivery_id: Some(delivery_id),
            delivery_tag: Some(tag),
            message_format: Some(message_format),
            settled: Some(settled),
            more: false,
            rcv_settle_mode: None,
            state,
            resume: false,
            aborted: false,
            batchable: false,
        };
        // Encode frame and payload straight into the output.
        let frame_start = self.out.len();
        let mark = frame::begin_frame(&mut self.out, FRAME_TYPE_AMQP, channel);
        transfer.encode(&mut self.out);
        let payload_start = self.out.len();
        payload.write_to(&mut self.out);
        let payload_len = self.out.len() - payload_start;
        // §2.7.3: never more than the receiver's max-message-size.
        if remote_max_msg.is_some_and(|m| payload_len as u64 > m) {
            self.out.truncate(frame_start);
            return Err(Error::InvalidArgument(
                "message larger than the peer's max-message-size",
            ));
        }
        if own_max_msg.is_some_and(|m| payload_len as u64 > m) {
            self.out.truncate(frame_start);
            return Err(Error::InvalidArgument(
                "message larger than the link's max-message-size",
            ));
        }
        let fits = self.out.len() - frame_start <= self.remote_max_frame as usize;
        let mut pending = None;
        if direct && fits {
            frame::end_frame(&mut self.out, mark);
            self.counters.frames_out += 1;
            let ses = self.session_mut(s)?;
            ses.next_outgoing_id = ses.next_outgoing_id.wrapping_add(1);
            ses.remote_incoming_window = ses.remote_incoming_window.saturating_sub(1);
        } else {
            let mut bytes = self.take_buf();
            bytes.extend_from_slice(self.out.get(payload_start..).unwrap_or_default());
            self.out.truncate(frame_start);
            self.pending_bytes += bytes.len();
            pending = Some(PendingTransfer {
                link: l,
                delivery_id,
                tag,
                message_format,
                state: transfer.state.clone(),
                settled,
                payload: bytes,
                offset: 0,
                first_sent: false,
            });
        }
        // Commit the delivery (§2.6.7: the count moves at its first frame,
        // which is now written or queued in order).
        let link = self.link_mut(l)?;
        link.delivery_count = link.delivery_count.wrapping_add(1);
        link.link_credit = link.link_credit.saturating_sub(1);
        link.counters.messages_sent += 1;
        link.counters.settled += u64::from(settled);
        let id = if settled {
            PRESETTLED
        } else {
            link.deliveries += 1;
            link.unsettled_full |= link.deliveries >= max_held;
            let mut del = Delivery::outgoing(l, delivery_id, tag, rcv_mode);
            del.message_format = message_format;
            DeliveryId(self.deliveries.insert(del))
        };
        self.counters.messages_sent += 1;
        self.counters.settled += u64::from(settled);
        let ses = self.session_mut(s)?;
        ses.next_delivery_id = ses.next_delivery_id.wrapping_add(1);
        if !settled {
            ses.outgoing.insert(delivery_id, id);
        }
        if let Some(p) = pending {
            ses.pending_transfers.push_back(p);
            self.send_pending_transfers(s);
        }
        Ok(id)
    }

    /// Writes held-back transfer frames while the peer's incoming window
    /// allows (§2.5.6), each within the peer's max-frame-size (§2.7.5:
    /// `more` on all but the last frame of a delivery).
    pub(crate) fn send_pending_transfers(&mut self, s: SessionId) {
        let max_frame = self.remote_max_frame as usize;
        loop {
            if self.close_sent {
                return;
            }
            let Some(ses) = self.sessions.get_mut(s.0) else {
                return;
            };
            if ses.remote_incoming_window == 0
                || !ses.begin_sent
                || ses.end_sent
                || ses.remote != EndpointState::Active
            {
                return;
            }
            let channel = ses.local_channel.unwrap_or(0);
            let Some(p) = ses.pending_transfers.front_mut() else {
                return;
            };
            let handle = self
                .links
                .get(p.link.0)
                .filter(|k| !k.detach_sent)
                .and_then(|k| k.local_handle);
            let Some(handle) = handle else {
                // The link went away: its frames are never sent.
                if let Some(done) = ses.pending_transfers.pop_front() {
                    self.discard_pending(done);
                }
                continue;
            };
            let first = !p.first_sent;
            let mut transfer = Transfer {
                handle,
                delivery_id: first.then_some(p.delivery_id),
                delivery_tag: first.then_some(p.tag),
                message_format: first.then_some(p.message_format),
                settled: (first || p.settled).then_some(p.settled),
                more: true,
                rcv_settle_mode: None,
                state: if first { p.state.clone() } else { None },
                resume: false,
                aborted: false,
                batchable: false,
            };
            let frame_start = self.out.len();
            let mut mark = frame::begin_frame(&mut self.out, FRAME_TYPE_AMQP, channel);
            transfer.encode(&mut self.out);
            let overhead = self.out.len() - frame_start;
            let room = max_frame.saturating_sub(overhead).max(1);
            let left = p.payload.len().saturating_sub(p.offset);
            let chunk = left.min(room);
            if chunk == left {
                // The last frame: rewrite the performative with more=false
                // (never longer than with more=true).
                self.out.truncate(frame_start);
                transfer.more = false;
                mark = frame::begin_frame(&mut self.out, FRAME_TYPE_AMQP, channel);
                transfer.encode(&mut self.out);
            }
            let end = p.offset + chunk;
            self.out
                .extend_from_slice(p.payload.get(p.offset..end).unwrap_or_default());
            frame::end_frame(&mut self.out, mark);
            self.counters.frames_out += 1;
            p.offset = end;
            p.first_sent = true;
            self.pending_bytes = self.pending_bytes.saturating_sub(chunk);
            let finished = p.offset >= p.payload.len();
            ses.next_outgoing_id = ses.next_outgoing_id.wrapping_add(1);
            ses.remote_incoming_window -= 1;
            if finished && let Some(done) = ses.pending_transfers.pop_front() {
                self.give_buf(done.payload);
            }
        }
    }

    /// Drops a held-back delivery that will never be sent.
    pub(crate) fn discard_pending(&mut self, p: PendingTransfer) {
        let left = p.payload.len().saturating_sub(p.offset);
        self.pending_bytes = self.pending_bytes.saturating_sub(left);
        self.give_buf(p.payload);
    }

    /// Records that the peer has used delivery-id `id` on session `s`
    /// (dispositions may name it from now on).
    fn saw_incoming_delivery(&mut self, s: SessionId, id: u32) {
        if let Some(ses) = self.sessions.get_mut(s.0) {
            let next = id.wrapping_add(1);
            match ses.next_incoming_delivery {
                Some(n) if !serial::lt(n, next) => {}
                _ => ses.next_incoming_delivery = Some(next),
            }
        }
    }

    /// A receiving link whose peer went past a limit: the delivery in
    /// progress is dropped (the rest of its frames too, when `more` are
    /// coming) and the link detached with `cond`.
    fn link_failed_by_peer(&mut self, l: LinkId, cond: &str, why: String, more: bool) {
        let partial = self.links.get_mut(l.0).and_then(|k| {
            k.discarding = more;
            k.incoming.take()
        });
        if let Some(d) = partial {
            self.release_delivery(d);
        }
        let _ = self.link_close(l, true, Some(AmqpError::new(cond, why)));
    }

    pub(crate) fn on_transfer(&mut self, channel: u16, t: Transfer, payload: &[u8]) {
        let Some(s) = self.session_for_frame(channel, "transfer") else {
            return;
        };
        let Some(l) = self
            .sessions
            .get(s.0)
            .and_then(|x| x.remote_handles.get(&t.handle).copied())
        else {
            self.fail(
                condition::UNATTACHED_HANDLE,
                format!("transfer on handle {}, which is not attached", t.handle),
            );
            return;
        };
        // §2.5.6: every transfer frame takes one unit of our window.
        if !self.consume_incoming_window(s) {
            self.fail(
                condition::WINDOW_VIOLATION,
                "transfer beyond the session's incoming window",
            );
            return;
        }
        let max_msg = self.config.max_message_size;
        let Some(link) = self.links.get_mut(l.0) else {
            return;
        };
        if link.role != Role::Receiver {
            self.fail(condition::NOT_ALLOWED, "transfer sent to a sending link");
            return;
        }
        if link.remote == EndpointState::Closed {
            // §2.6.2: the peer detached the handle; nothing names it now.
            self.fail(
                condition::UNATTACHED_HANDLE,
                format!("transfer on handle {}, which the peer detached", t.handle),
            );
            return;
        }
        if link.local == EndpointState::Closed {
            return; // we detached: late frames are dropped (§2.6.6)
        }
        if link.discarding {
            // The rest of a delivery we are throwing away.
            if !t.more || t.aborted {
                link.discarding = false;
            }
            return;
        }
        let max_msg = link
            .options
            .max_message_size
            .filter(|m| *m > 0)
            .unwrap_or(max_msg);
        let d = match link.incoming {
            Some(d) => {
                // §2.7.5: repeated ids must match the first frame's.
                let id = self.deliveries.get(d.0).map(|x| x.id);
                if let (Some(got), Some(want)) = (t.delivery_id, id)
                    && got != want
                {
                    self.fail(
                        condition::INVALID_FIELD,
                        format!(
                            "transfer continues delivery {want} with delivery-id {got}, before it ended"
                        ),
                    );
                    return;
                }
                d
            }
            None => {
                if t.aborted {
                    return; // nothing received yet, nothing to throw away
                }
                if t.resume {
                    // §2.6.13: a resumed delivery re-associates unsettled
                    // state. We attach with no unsettled map, so we hold
                    // no state for it: it is ignored, frames and all.
                    link.discarding = t.more;
                    if let Some(id) = t.delivery_id {
                        self.saw_incoming_delivery(s, id);
                    }
                    return;
                }
                let (Some(id), Some(tag)) = (t.delivery_id, t.delivery_tag) else {
                    self.fail(
                        condition::INVALID_FIELD,
                        "first transfer of a delivery without delivery-id or delivery-tag",
                    );
                    return;
                };
                let held = link.deliveries;
                let max_held = self.config.max_unsettled_per_link;
                self.saw_incoming_delivery(s, id);
                if held >= max_held {
                    // The peer keeps sending while this side holds its
                    // limit of the link's deliveries (not settled, or not
                    // yet released by the application).
                    let why = format!(
                        "delivery {id}: the link holds {held} deliveries already, the most \
                         this side allows"
                    );
                    self.link_failed_by_peer(l, condition::RESOURCE_LIMIT_EXCEEDED, why, t.more);
                    return;
                }
                let Some(link) = self.links.get_mut(l.0) else {
                    return;
                };
                // §2.6.7: a delivery needs credit (granted, possibly cut
                // since: transfers in flight then are still allowed). An
                // overshoot of up to the largest credit granted is accepted
                // (RabbitMQ 3.x overshoots); beyond that it is a violation.
                let tolerated = link.granted_limit.wrapping_add(link.max_credit);
                if serial::diff(tolerated, link.delivery_count) <= 0 {
                    let msg = format!("transfer on link {:?} without credit", link.name);
                    self.fail(condition::TRANSFER_LIMIT_EXCEEDED, msg);
                    return;
                }
                link.delivery_count = link.delivery_count.wrapping_add(1);
                link.link_credit = link.link_credit.saturating_sub(1);
                // §2.7.5: a transfer may go from link mode second to
                // first, never from first to second.
                let link_mode = link
                    .options
                    .rcv_settle_mode
                    .unwrap_or(ReceiverSettleMode::First);
                let rcv_mode = match (link_mode, t.rcv_settle_mode) {
                    (ReceiverSettleMode::Second, Some(m)) => m,
                    (m, _) => m,
                };
                let buf = self.take_buf();
                let del = Delivery::incoming(l, id, tag, &t, rcv_mode, buf);
                let d = DeliveryId(self.deliveries.insert(del));
                if let Some(link) = self.links.get_mut(l.0) {
                    link.incoming = Some(d);
                    link.deliveries += 1;
                }
                if let Some(ses) = self.sessions.get_mut(s.0) {
                    ses.incoming.insert(id, d);
                }
                d
            }
        };
        let Some(del) = self.deliveries.get_mut(d.0) else {
            return;
        };
        if t.settled == Some(true) {
            del.remote_settled = true;
        }
        if t.aborted {
            // §2.6.14: discard everything; the credit stays spent.
            if let Some(link) = self.links.get_mut(l.0) {
                link.incoming = None;
            }
            self.release_delivery(d);
            return;
        }
        if (del.payload.len() as u64).saturating_add(payload.len() as u64) > max_msg {
            // §2.7.3, SEMANTICS §5: detach with message-size-exceeded.
            let why = format!("message larger than max-message-size {max_msg}");
            self.link_failed_by_peer(l, condition::MESSAGE_SIZE_EXCEEDED, why, t.more);
            return;
        }
        let budget = self.config.max_incomplete_bytes;
        if t.more && self.incomplete_bytes.saturating_add(payload.len()) > budget {
            // Partial messages of every link together: bounded.
            let why = format!(
                "incomplete messages on this connection would hold more than {budget} bytes"
            );
            self.link_failed_by_peer(l, condition::RESOURCE_LIMIT_EXCEEDED, why, true);
            return;
        }
        let Some(del) = self.deliveries.get_mut(d.0) else {
            return;
        };
        del.payload.extend_from_slice(payload);
        if t.more {
            self.incomplete_bytes += payload.len();
        } else {
            self.incomplete_bytes = self
                .incomplete_bytes
                .saturating_sub(del.payload.len() - payload.len());
            del.complete = true;
            let (id, remote_settled) = (del.id, del.remote_settled);
            if let Some(link) = self.links.get_mut(l.0) {
                link.incoming = None;
                link.counters.messages_received += 1;
            }
            self.counters.messages_received += 1;
            if remote_settled && let Some(ses) = self.sessions.get_mut(s.0) {
                // Pre-settled: no disposition will ever name it.
                ses.incoming.remove(id);
            }
            self.push(Event::Delivery(d));
        }
    }
}
