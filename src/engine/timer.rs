//! Time: the handshake time-out, heartbeats and the idle timeout (§2.4.5).

use std::time::{Duration, Instant};

use super::connection::{Connection, EndpointState, Phase};
use crate::codec::frame;
use crate::codec::transport::condition;

impl Connection {
    /// Advances the clock: sends a heartbeat when the peer's idle timeout
    /// needs one, closes the connection when the peer has been silent past
    /// ours. Returns when to call again, if anything is timed.
    ///
    /// §2.4.5: the peer's `idle-time-out` is how often it wants to hear
    /// from us; we write an empty frame when nothing else went out for
    /// half of it. Ours is advertised at half of what we tolerate, and the
    /// connection is closed with `amqp:resource-limit-exceeded` (as Proton
    /// does) once the peer was silent for all of it.
    pub fn tick(&mut self, now: Instant) -> Option<Instant> {
        self.now = now;
        self.timers_changed = false;
        if self.phase == Phase::Done {
            return None;
        }
        // Not `flush`: dispositions and flows pending since the last write
        // stay pending, to coalesce with what follows (at worst a heartbeat
        // goes out that they would have made unnecessary).
        self.note_output();
        let mut next: Option<Instant> = None;
        // Until the peer's open: the handshake time-out.
        if self.remote_open.is_none()
            && let Some(limit) = self.config.handshake_timeout.filter(|d| !d.is_zero())
            && let Some(deadline) = self.started.checked_add(limit)
        {
            if now >= deadline {
                self.transport_failed(
                    condition::RESOURCE_LIMIT_EXCEEDED,
                    format!(
                        "handshake time-out: the peer did not get as far as its AMQP open in {} ms \
                         (stalled in the TCP connect, TLS, the protocol header or SASL)",
                        limit.as_millis()
                    ),
                );
                return None;
            }
            next = Some(deadline);
        }
        if self.remote_state == EndpointState::Active
            && let Some(limit) = self.config.idle_timeout.filter(|d| !d.is_zero())
            && let Some(deadline) = self.last_input.checked_add(limit)
        {
            if now >= deadline {
                self.fail(
                    condition::RESOURCE_LIMIT_EXCEEDED,
                    format!(
                        "local-idle-timeout expired: no frame from the peer for {} ms",
                        limit.as_millis()
                    ),
                );
                return None;
            }
            next = Some(deadline);
        }
        let peer_idle = self
            .remote_open
            .as_ref()
            .and_then(|o| o.idle_time_out)
            .filter(|ms| *ms > 0);
        if let Some(ms) = peer_idle
            && self.open_sent
            && !self.close_sent
        {
            let interval = Duration::from_millis(u64::from(ms / 2).max(1));
            let mut due = self.last_output_at.checked_add(interval);
            if due.is_some_and(|d| now >= d) {
                frame::write_empty_frame(&mut self.out);
                self.note_output();
                due = now.checked_add(interval);
            }
            if let Some(due) = due {
                next = Some(next.map_or(due, |n| n.min(due)));
            }
        }
        next
    }
}
