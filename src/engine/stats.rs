//! Always-on counters: plain integers bumped where the engine already does
//! the work (a frame parsed or written, a delivery sent, received, settled
//! or given an outcome), so reading them costs nothing on the hot path.

use crate::codec::messaging::DeliveryState;

/// What a connection or a link has done so far. A link counts its own
/// deliveries; a connection counts those of all its links (including links
/// that have ended) plus frames and bytes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    /// Frames read (empty frames included, protocol headers not).
    pub frames_in: u64,
    /// Frames written to the output (empty frames included).
    pub frames_out: u64,
    /// Bytes handed to [`Connection::receive`](super::Connection::receive).
    pub bytes_in: u64,
    /// Bytes taken from the output
    /// ([`Connection::consume_output`](super::Connection::consume_output)).
    pub bytes_out: u64,
    /// Deliveries sent (their first transfer written or queued).
    pub messages_sent: u64,
    /// Deliveries received complete.
    pub messages_received: u64,
    /// Deliveries settled: sent pre-settled, or settled by this side.
    pub settled: u64,
    /// Outcomes: for a sender the peer's, for a receiver this side's (each
    /// delivery counted once, when its outcome is first known).
    pub accepted: u64,
    /// See `accepted`.
    pub rejected: u64,
    /// See `accepted`.
    pub released: u64,
    /// See `accepted`.
    pub modified: u64,
}

impl Counters {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &Counters) {
        self.frames_in += other.frames_in;
        self.frames_out += other.frames_out;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.messages_sent += other.messages_sent;
        self.messages_received += other.messages_received;
        self.settled += other.settled;
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.released += other.released;
        self.modified += other.modified;
    }

    /// Counts `state` if it is one of the four outcomes.
    pub(crate) fn outcome(&mut self, state: &DeliveryState) {
        match state {
            DeliveryState::Accepted => self.accepted += 1,
            DeliveryState::Rejected(_) => self.rejected += 1,
            DeliveryState::Released => self.released += 1,
            DeliveryState::Modified(_) => self.modified += 1,
            _ => {}
        }
    }
}

/// True for the four outcomes of §3.4 (what `Counters::outcome` counts).
pub(crate) fn is_outcome(state: Option<&DeliveryState>) -> bool {
    matches!(
        state,
        Some(
            DeliveryState::Accepted
                | DeliveryState::Rejected(_)
                | DeliveryState::Released
                | DeliveryState::Modified(_)
        )
    )
}

impl super::Connection {
    /// The connection's counters: frames and bytes of this engine's
    /// transport, and the deliveries of all its links.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// A link's counters (`None` for a stale link).
    pub fn link_counters(&self, l: super::LinkId) -> Option<&Counters> {
        self.links.get(l.0).map(|k| &k.counters)
    }

    /// Deliveries the engine holds, not settled yet (all links).
    pub fn unsettled_count(&self) -> usize {
        self.deliveries.len()
    }

    /// Deliveries of one link the engine holds, not settled yet (0 for a
    /// stale link).
    pub fn link_unsettled_count(&self, l: super::LinkId) -> usize {
        self.links.get(l.0).map_or(0, |k| k.deliveries)
    }
}
