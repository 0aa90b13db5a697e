//! Time: the header, handshake and close time-outs, stalled output,
//! heartbeats and the idle timeout (§2.4.5).

use std::time::{Duration, Instant};

use super::connection::{Connection, EndpointState, Phase};
use crate::codec::frame;
use crate::codec::transport::condition;

impl Connection {
    /// Advances the clock: sends a heartbeat when the peer's idle timeout
    /// needs one, closes the connection when the peer has been silent past
    /// ours, and ends it when the peer overstays a time-out (a protocol
    /// header left half-sent, a handshake that does not reach the peer's
    /// open, a close it does not answer, output it does not read; see
    /// [`Config`](super::Config)). Returns when to call again, if anything
    /// is timed.
    ///
    /// §2.4.5: the peer's `idle-time-out` is how often it wants to hear
    /// from us; we write an empty frame when nothing else went out for
    /// half of it. Ours is advertised at half of what we tolerate, and the
    /// connection is closed with `amqp:resource-limit-exceeded` (as Proton
    /// does) once the peer was silent for all of it.
    pub fn tick(&mut self, now: Instant) -> Option<Instant> {
        self.now = now;
        if self.phase == Phase::Done {
            self.timers_changed = false;
            return None;
        }
        // Not `flush`: dispositions and flows pending since the last write
        // stay pending, to coalesce with what follows (at worst a heartbeat
        // goes out that they would have made unnecessary).
        self.note_output();
        self.timers_changed = false;
        let mut next: Option<Instant> = None;
        let at = |d: Instant, next: &mut Option<Instant>| {
            *next = Some(next.map_or(d, |n| n.min(d)));
        };
        // A protocol header that started arriving and stopped (§2.2).
        if matches!(self.phase, Phase::AwaitHeader(_))
            && let Some(started) = self.header_started
            && let Some(limit) = self.config.header_timeout.filter(|d| !d.is_zero())
            && let Some(deadline) = started.checked_add(limit)
        {
            if now >= deadline {
                self.header_timed_out(limit);
                return None;
            }
            at(deadline, &mut next);
        }
        // Until the peer's open: the handshake time-out.
        if self.remote_open.is_none()
            && let Some(limit) = self.config.handshake_timeout.filter(|d| !d.is_zero())
            && let Some(deadline) = self.started.checked_add(limit)
        {
            if now >= deadline {
                let why = format!(
                    "handshake time-out: the peer did not get as far as its AMQP open in {} ms \
                     (stalled in the TCP connect, TLS, the protocol header or SASL)",
                    limit.as_millis()
                );
                if self.amqp_header_sent {
                    // AMQP framing is up: the peer is told why (our open,
                    // if not sent yet, then close).
                    self.fail(condition::RESOURCE_LIMIT_EXCEEDED, why);
                } else {
                    self.transport_failed(condition::RESOURCE_LIMIT_EXCEEDED, why);
                }
                return None;
            }
            at(deadline, &mut next);
        }
        // After our close: the peer's answer (§2.4.3).
        if self.close_sent && self.remote_state != EndpointState::Closed {
            let sent = *self.close_sent_at.get_or_insert(now);
            if let Some(limit) = self.config.close_timeout.filter(|d| !d.is_zero())
                && let Some(deadline) = sent.checked_add(limit)
            {
                if now >= deadline {
                    self.transport_failed(
                        condition::RESOURCE_LIMIT_EXCEEDED,
                        format!(
                            "close time-out: the peer did not answer this side's close in {} ms",
                            limit.as_millis()
                        ),
                    );
                    return None;
                }
                at(deadline, &mut next);
            }
        }
        // Output the peer does not read.
        if self.output_len() > self.config.max_output {
            let since = *self.output_full_since.get_or_insert(now);
            if let Some(limit) = self.config.stalled_output_timeout.filter(|d| !d.is_zero())
                && let Some(deadline) = since.checked_add(limit)
            {
                if now >= deadline {
                    let waiting = self.output_len();
                    self.fail(
                        condition::RESOURCE_LIMIT_EXCEEDED,
                        format!(
                            "the peer read none of the {waiting} bytes waiting for it in {} ms \
                             (more than max-output {})",
                            limit.as_millis(),
                            self.config.max_output
                        ),
                    );
                    return None;
                }
                at(deadline, &mut next);
            }
        } else {
            self.output_full_since = None;
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
            at(deadline, &mut next);
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
                self.counters.frames_out += 1;
                self.note_output();
                due = now.checked_add(interval);
            }
            if let Some(due) = due {
                at(due, &mut next);
            }
        }
        next
    }
}
