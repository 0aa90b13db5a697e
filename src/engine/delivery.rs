//! Deliveries (spec §2.6.12–§2.6.14, §2.7.5–§2.7.6): transfers out (split
//! at the peer's frame size, held back by its session window) and in
//! (reassembled, credit and size checked), dispositions and settlement.

use super::connection::{Connection, EndpointState};
use super::error::{Error, Result};
use super::event::Event;
use super::serial;
use super::session::{PendingDisposition, PendingTransfer};
use super::{DeliveryId, LinkId, SessionId};
use crate::codec::frame::{self, FRAME_TYPE_AMQP};
use crate::codec::messaging::DeliveryState;
use crate::codec::transport::{
    Disposition, ReceiverSettleMode, Role, SenderSettleMode, Transfer, condition,
};
use crate::codec::{DeliveryTag, Encode};

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
    pub local_settled: bool,
    pub remote_settled: bool,
    pub complete: bool,
    pub rcv_settle_mode: ReceiverSettleMode,
}

fn minimal_tag(n: u64) -> DeliveryTag {
    let bytes = n.to_be_bytes();
    let skip = (n.leading_zeros() / 8).min(7) as usize;
    DeliveryTag::new(&bytes[skip..]).unwrap_or_default()
}

impl Connection {
    /// Sends one message on sender link `l`, which must have credit. The
    /// payload is encoded straight into the output when it fits one frame
    /// and the session window is open; otherwise it is split and, if need
    /// be, held until the window opens. `tag` defaults to a counter.
    /// Returns the delivery's ID (already stale if it went pre-settled).
    pub fn send<P: Payload + ?Sized>(
        &mut self,
        l: LinkId,
        tag: Option<&[u8]>,
        payload: &P,
        settled: bool,
    ) -> Result<DeliveryId> {
        if self.close_sent || self.is_done() {
            return Err(Error::Closed);
        }
        if self.output_len() > self.config.max_output {
            return Err(Error::OutputFull(self.output_len()));
        }
        let snd_mode = self.link_snd_settle_mode(l);
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
        if link.link_credit == 0 {
            return Err(Error::NoCredit);
        }
        let settled = match snd_mode {
            SenderSettleMode::Settled => true,
            SenderSettleMode::Unsettled => false,
            SenderSettleMode::Mixed => settled,
        };
        let tag = match tag {
            Some(t) => DeliveryTag::new(t)
                .ok_or(Error::InvalidArgument("delivery tag longer than 32 bytes"))?,
            None => {
                link.next_tag = link.next_tag.wrapping_add(1);
                minimal_tag(link.next_tag)
            }
        };
        let handle = link.local_handle.unwrap_or(0);
        let remote_max_msg = link
            .remote_attach
            .as_ref()
            .and_then(|a| a.max_message_size)
            .filter(|m| *m > 0);
        let s = link.session;
        let ses = self.session(s)?;
        let channel = ses.local_channel.unwrap_or(0);
        let delivery_id = ses.next_delivery_id;
        let direct = ses.pending_transfers.is_empty() && ses.remote_incoming_window > 0;
        let transfer = Transfer {
            handle,
            delivery_id: Some(delivery_id),
            delivery_tag: Some(tag),
            message_format: Some(0),
            settled: Some(settled),
            more: false,
            rcv_settle_mode: None,
            state: None,
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
        if remote_max_msg.is_some_and(|m| payload_len as u64 > m) {
            self.out.truncate(frame_start);
            return Err(Error::InvalidArgument(
                "message larger than the peer's max-message-size",
            ));
        }
        let fits = self.out.len() - frame_start <= self.remote_max_frame as usize;
        let mut pending = None;
        if direct && fits {
            frame::end_frame(&mut self.out, mark);
            let ses = self.session_mut(s)?;
            ses.next_outgoing_id = ses.next_outgoing_id.wrapping_add(1);
            ses.remote_incoming_window -= 1;
        } else {
            let mut bytes = std::mem::take(&mut self.scratch);
            bytes.clear();
            bytes.extend_from_slice(&self.out[payload_start..]);
            self.out.truncate(frame_start);
            pending = Some(PendingTransfer {
                link: l,
                delivery_id,
                tag,
                settled,
                payload: bytes,
                offset: 0,
                first_sent: false,
            });
        }
        // Commit the delivery.
        let link = self.link_mut(l)?;
        link.delivery_count = link.delivery_count.wrapping_add(1);
        link.link_credit -= 1;
        let rcv_mode = self.link_rcv_settle_mode(l);
        let id = if settled {
            DeliveryId(super::slab::Key {
                index: u32::MAX,
                generation: 0,
            })
        } else {
            let d = Delivery {
                link: l,
                id: delivery_id,
                tag,
                outgoing: true,
                payload: Vec::new(),
                message_format: 0,
                local_state: None,
                remote_state: None,
                local_settled: false,
                remote_settled: false,
                complete: true,
                rcv_settle_mode: rcv_mode,
            };
            DeliveryId(self.deliveries.insert(d))
        };
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

    /// Writes held-back transfer frames while the peer's window allows.
    pub(crate) fn send_pending_transfers(&mut self, s: SessionId) {
        let max_frame = self.remote_max_frame as usize;
        loop {
            let Some(ses) = self.sessions.get_mut(s.0) else {
                return;
            };
            if ses.remote_incoming_window == 0 || !ses.begin_sent || ses.end_sent {
                return;
            }
            let channel = ses.local_channel.unwrap_or(0);
            let Some(p) = ses.pending_transfers.front_mut() else {
                return;
            };
            let Some(handle) = self.links.get(p.link.0).and_then(|k| k.local_handle) else {
                let done = ses.pending_transfers.pop_front();
                if let Some(done) = done {
                    self.scratch = done.payload;
                }
                continue;
            };
            let first = !p.first_sent;
            let mut transfer = Transfer {
                handle,
                delivery_id: first.then_some(p.delivery_id),
                delivery_tag: first.then_some(p.tag),
                message_format: first.then_some(0),
                settled: (first || p.settled).then_some(p.settled),
                more: true,
                rcv_settle_mode: None,
                state: None,
                resume: false,
                aborted: false,
                batchable: false,
            };
            let frame_start = self.out.len();
            let mark = frame::begin_frame(&mut self.out, FRAME_TYPE_AMQP, channel);
            transfer.encode(&mut self.out);
            let overhead = self.out.len() - frame_start;
            let room = max_frame.saturating_sub(overhead).max(1);
            let left = p.payload.len() - p.offset;
            let chunk = left.min(room);
            if chunk == left {
                // The last frame: rewrite with more=false.
                self.out.truncate(frame_start);
                transfer.more = false;
                let mark2 = frame::begin_frame(&mut self.out, FRAME_TYPE_AMQP, channel);
                transfer.encode(&mut self.out);
                let _ = mark;
                self.out.extend_from_slice(&p.payload[p.offset..]);
                frame::end_frame(&mut self.out, mark2);
            } else {
                self.out
                    .extend_from_slice(&p.payload[p.offset..p.offset + chunk]);
                frame::end_frame(&mut self.out, mark);
            }
            p.offset += chunk;
            p.first_sent = true;
            let finished = p.offset >= p.payload.len();
            ses.next_outgoing_id = ses.next_outgoing_id.wrapping_add(1);
            ses.remote_incoming_window -= 1;
            if finished && let Some(done) = ses.pending_transfers.pop_front() {
                self.scratch = done.payload;
            }
        }
    }

    pub(crate) fn on_transfer(&mut self, channel: u16, t: Transfer, payload: &[u8]) {
        let Some(s) = self.session_by_remote_channel(channel, "transfer") else {
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
        if link.local == EndpointState::Closed {
            return; // detached locally: late frames are dropped
        }
        let max_msg = link
            .options
            .max_message_size
            .filter(|m| *m > 0)
            .unwrap_or(max_msg);
        let d = match link.incoming {
            Some(d) => d,
            None => {
                // The first frame of a delivery.
                let (Some(id), Some(tag)) = (t.delivery_id, t.delivery_tag) else {
                    self.fail(
                        condition::INVALID_FIELD,
                        "first transfer of a delivery without delivery-id or delivery-tag",
                    );
                    return;
                };
                if serial::diff(link.granted_limit, link.delivery_count) <= 0 {
                    let msg = format!("transfer on link {:?} without credit", link.name);
                    self.fail(condition::TRANSFER_LIMIT_EXCEEDED, msg);
                    return;
                }
                link.delivery_count = link.delivery_count.wrapping_add(1);
                link.link_credit = link.link_credit.saturating_sub(1);
                let rcv_mode = t.rcv_settle_mode.unwrap_or_else(|| {
                    link.options
                        .rcv_settle_mode
                        .unwrap_or(ReceiverSettleMode::First)
                });
                let d = DeliveryId(self.deliveries.insert(Delivery {
                    link: l,
                    id,
                    tag,
                    outgoing: false,
                    payload: Vec::new(),
                    message_format: t.message_format.unwrap_or(0),
                    local_state: None,
                    remote_state: t.state.clone(),
                    local_settled: false,
                    remote_settled: false,
                    complete: false,
                    rcv_settle_mode: rcv_mode,
                }));
                if let Some(link) = self.links.get_mut(l.0) {
                    link.incoming = Some(d);
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
            // Discard everything; the credit stays spent (§2.6.14).
            let id = del.id;
            self.deliveries.remove(d.0);
            if let Some(link) = self.links.get_mut(l.0) {
                link.incoming = None;
            }
            if let Some(ses) = self.sessions.get_mut(s.0) {
                ses.incoming.remove(&id);
            }
            return;
        }
        if (del.payload.len() + payload.len()) as u64 > max_msg {
            let id = del.id;
            self.deliveries.remove(d.0);
            if let Some(ses) = self.sessions.get_mut(s.0) {
                ses.incoming.remove(&id);
            }
            if let Some(link) = self.links.get_mut(l.0) {
                link.incoming = None;
            }
            let _ = self.link_close(
                l,
                true,
                Some(crate::codec::transport::AmqpError::new(
                    condition::MESSAGE_SIZE_EXCEEDED,
                    format!("message larger than max-message-size {max_msg}"),
                )),
            );
            return;
        }
        del.payload.extend_from_slice(payload);
        if !t.more {
            del.complete = true;
            let (id, remote_settled) = (del.id, del.remote_settled);
            if let Some(link) = self.links.get_mut(l.0) {
                link.incoming = None;
            }
            if remote_settled && let Some(ses) = self.sessions.get_mut(s.0) {
                // Pre-settled: no disposition will ever name it.
                ses.incoming.remove(&id);
            }
            self.push(Event::Delivery(d));
        }
    }

    pub(crate) fn on_disposition(&mut self, channel: u16, dp: Disposition) {
        let Some(s) = self.session_by_remote_channel(channel, "disposition") else {
            return;
        };
        let last = dp.last.unwrap_or(dp.first);
        let Some(ses) = self.sessions.get_mut(s.0) else {
            return;
        };
        // role=receiver: about deliveries we sent.
        let map = match dp.role {
            Role::Receiver => &mut ses.outgoing,
            Role::Sender => &mut ses.incoming,
        };
        let span = serial::diff(last, dp.first);
        if span < 0 {
            return;
        }
        let ids: Vec<(u32, DeliveryId)> = if (span as usize) < map.len() {
            (0..=span as u32)
                .filter_map(|i| {
                    let id = dp.first.wrapping_add(i);
                    map.get(&id).map(|d| (id, *d))
                })
                .collect()
        } else {
            map.iter()
                .filter(|(id, _)| serial::in_range(**id, dp.first, last))
                .map(|(id, d)| (*id, *d))
                .collect()
        };
        for (id, d) in ids {
            if let Some(del) = self.deliveries.get_mut(d.0) {
                if dp.state.is_some() {
                    del.remote_state = dp.state.clone();
                }
                if dp.settled {
                    del.remote_settled = true;
                }
            }
            if dp.settled
                && let Some(ses) = self.sessions.get_mut(s.0)
            {
                // The peer forgot it; a later disposition cannot name it.
                match dp.role {
                    Role::Receiver => ses.outgoing.remove(&id),
                    Role::Sender => ses.incoming.remove(&id),
                };
            }
            self.push(Event::DeliveryUpdated(d));
        }
    }

    /// Sets the local state of a delivery and/or settles it. Settling
    /// releases the delivery: its ID is stale afterwards. The disposition
    /// frame is coalesced with others at the next [`output`](Self::output).
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
        if del.local_settled {
            return Ok(());
        }
        if state.is_some() {
            del.local_state = state.clone();
        }
        del.local_settled = settle;
        let (l, id, outgoing, remote_settled) =
            (del.link, del.id, del.outgoing, del.remote_settled);
        let s = self.links.get(l.0).map(|k| k.session);
        if !remote_settled && let Some(s) = s {
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
                    settled: settle,
                    state,
                },
            );
        }
        if settle {
            self.deliveries.remove(d.0);
            if let Some(ses) = s.and_then(|s| self.sessions.get_mut(s.0)) {
                if outgoing {
                    ses.outgoing.remove(&id);
                } else {
                    ses.incoming.remove(&id);
                }
            }
        }
        Ok(())
    }

    /// Settles a delivery without changing its state.
    pub fn settle(&mut self, d: DeliveryId) -> Result<()> {
        self.disposition(d, None, true)
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
