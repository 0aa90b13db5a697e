//! Input: protocol headers (§2.2), frames (§2.3) and their dispatch, the
//! peer's open and close (§2.4, §2.7.1, §2.7.9).

use std::time::Instant;

use super::connection::{Connection, EndpointState, Phase, Role};
use super::event::Event;
use crate::codec::Decoder;
use crate::codec::frame::{
    self, FRAME_TYPE_AMQP, FRAME_TYPE_SASL, FrameError, MIN_MAX_FRAME_SIZE, ProtocolHeader,
};
use crate::codec::transport::{Close, Disposition, Flow, Open, Performative, Transfer, condition};

impl Connection {
    /// Processes bytes read from the transport at time `now`. Complete
    /// frames are handled at once; a partial frame is kept (a frame header
    /// that announces more than our `max-frame-size` is refused as soon as
    /// its first four bytes are in, so at most one frame is ever buffered).
    pub fn receive(&mut self, bytes: &[u8], now: Instant) {
        self.now = now;
        if bytes.is_empty() || self.phase == Phase::Done {
            return;
        }
        self.last_input = now;
        self.counters.bytes_in += bytes.len() as u64;
        if self.inbuf.is_empty() {
            let used = self.process(bytes);
            if self.phase != Phase::Done
                && let Some(rest) = bytes.get(used..)
            {
                self.inbuf.extend_from_slice(rest);
            }
        } else {
            self.inbuf.extend_from_slice(bytes);
            let buf = std::mem::take(&mut self.inbuf);
            let used = self.process(&buf);
            if self.phase != Phase::Done {
                self.inbuf = buf;
                self.inbuf.drain(..used.min(self.inbuf.len()));
            }
        }
        // A protocol header is 8 bytes, written at once: one that stops
        // part-way is timed (`Config::header_timeout`).
        let partial_header = matches!(self.phase, Phase::AwaitHeader(_)) && !self.inbuf.is_empty();
        if partial_header != self.header_started.is_some() {
            self.header_started = partial_header.then_some(now);
            self.timers_changed = true;
        }
        self.flush();
        self.note_output();
    }

    /// The header time-out passed with part of a protocol header in: a
    /// server answers with the header it supports, as for a bad one (§2.2),
    /// and the transport ends.
    pub(crate) fn header_timed_out(&mut self, limit: std::time::Duration) {
        let got = self.inbuf.len();
        if self.role == Role::Server {
            let ours = match self.phase {
                Phase::AwaitHeader(Some(want)) => want,
                _ if self.config.sasl.enabled => ProtocolHeader::Sasl,
                _ => ProtocolHeader::Amqp,
            };
            self.out.extend_from_slice(ours.as_bytes());
        }
        self.transport_failed(
            condition::FRAMING_ERROR,
            format!(
                "incomplete protocol header: {got} of 8 bytes arrived, and no more in {} ms",
                limit.as_millis()
            ),
        );
    }

    /// Handles as much of `buf` as forms whole headers and frames; returns
    /// the bytes used.
    fn process(&mut self, buf: &[u8]) -> usize {
        let mut pos = 0;
        loop {
            let rest = buf.get(pos..).unwrap_or_default();
            match self.phase {
                Phase::Done => return buf.len(),
                Phase::AwaitHeader(expected) => {
                    let Some(bytes) = rest.get(..8) else {
                        // A wrong first byte need not wait for eight.
                        let n = rest.len().min(4);
                        if !rest.is_empty() && !b"AMQP".starts_with(&rest[..n]) {
                            let mut h = [0u8; 8];
                            h[..rest.len()].copy_from_slice(rest);
                            self.bad_header(h);
                            return buf.len();
                        }
                        return pos;
                    };
                    pos += 8;
                    match ProtocolHeader::parse(bytes) {
                        Ok(h) => self.on_header(h, expected),
                        Err(_) => {
                            let mut h = [0u8; 8];
                            h.copy_from_slice(bytes);
                            self.bad_header(h);
                            return buf.len();
                        }
                    }
                }
                Phase::Sasl | Phase::Amqp => {
                    match frame::parse_frame(rest, self.config.max_frame_size) {
                        Ok(None) => return pos,
                        Ok(Some((f, used))) => {
                            pos += used;
                            self.counters.frames_in += 1;
                            let expect = if self.phase == Phase::Sasl {
                                FRAME_TYPE_SASL
                            } else {
                                FRAME_TYPE_AMQP
                            };
                            if f.frame_type != expect {
                                self.fail(
                                    condition::FRAMING_ERROR,
                                    format!(
                                        "frame type {} where {} was expected",
                                        f.frame_type, expect
                                    ),
                                );
                            } else if self.phase == Phase::Sasl {
                                self.on_sasl_frame(f.body);
                            } else {
                                self.on_amqp_frame(f.channel, f.body);
                            }
                        }
                        Err(e) => {
                            // §2.3.1, SEMANTICS §3: every malformed frame
                            // header (size, offset, type) is a framing error.
                            let cond = match e {
                                FrameError::BadProtocolHeader(_)
                                | FrameError::TooLarge { .. }
                                | FrameError::InvalidSize { .. }
                                | FrameError::InvalidDataOffset { .. }
                                | FrameError::UnknownType { .. } => condition::FRAMING_ERROR,
                            };
                            self.fail(cond, e.to_string());
                            return buf.len();
                        }
                    }
                }
            }
        }
    }

    fn on_header(&mut self, got: ProtocolHeader, expected: Option<ProtocolHeader>) {
        match (self.role, expected) {
            (Role::Client, Some(want)) => {
                // §2.2: when the headers differ, both sides close.
                if got != want {
                    self.transport_failed(
                        condition::NOT_IMPLEMENTED,
                        format!(
                            "peer answered with the {got:?} protocol header, {want:?} was expected"
                        ),
                    );
                    return;
                }
                if got == ProtocolHeader::Sasl {
                    self.phase = Phase::Sasl;
                } else {
                    self.phase = Phase::Amqp;
                    self.send_open_if_ready();
                }
            }
            (Role::Server, None) => match got {
                ProtocolHeader::Sasl if self.config.sasl.enabled => {
                    self.out.extend_from_slice(ProtocolHeader::Sasl.as_bytes());
                    self.phase = Phase::Sasl;
                    self.sasl_server_start();
                }
                // Skipping SASL is an anonymous login: only where ANONYMOUS
                // would be accepted.
                ProtocolHeader::Amqp
                    if !self.config.sasl.enabled
                        || (self.config.sasl.allow_skip
                            && self.sasl_server_allows(crate::engine::Mechanism::Anonymous)) =>
                {
                    self.out.extend_from_slice(ProtocolHeader::Amqp.as_bytes());
                    self.amqp_header_sent = true;
                    self.phase = Phase::Amqp;
                    self.send_open_if_ready();
                }
                other => {
                    // Answer with the header we do support, then close (§2.2).
                    let ours = if self.config.sasl.enabled {
                        ProtocolHeader::Sasl
                    } else {
                        ProtocolHeader::Amqp
                    };
                    self.out.extend_from_slice(ours.as_bytes());
                    self.transport_failed(
                        condition::NOT_IMPLEMENTED,
                        format!(
                            "client asked for the {other:?} protocol, which this server does not accept"
                        ),
                    );
                }
            },
            (Role::Server, Some(want)) => {
                // After SASL: the AMQP header.
                if got != want {
                    self.out.extend_from_slice(want.as_bytes());
                    self.transport_failed(
                        condition::NOT_IMPLEMENTED,
                        format!("client sent the {got:?} protocol header, {want:?} was expected"),
                    );
                    return;
                }
                self.out.extend_from_slice(ProtocolHeader::Amqp.as_bytes());
                self.amqp_header_sent = true;
                self.phase = Phase::Amqp;
                self.send_open_if_ready();
            }
            (Role::Client, None) => {}
        }
    }

    /// §2.2: an unparsable header; a server answers with the one it
    /// supports before closing.
    fn bad_header(&mut self, got: [u8; 8]) {
        if self.role == Role::Server && self.phase == Phase::AwaitHeader(None) {
            let ours = if self.config.sasl.enabled {
                ProtocolHeader::Sasl
            } else {
                ProtocolHeader::Amqp
            };
            self.out.extend_from_slice(ours.as_bytes());
        } else if self.role == Role::Server
            && let Phase::AwaitHeader(Some(want)) = self.phase
        {
            self.out.extend_from_slice(want.as_bytes());
        }
        // A TLS record starts with 22 (handshake) or 21 (alert), then
        // version 3.x: the peer speaks TLS and this side does not.
        let why = if matches!(got[0], 0x15 | 0x16) && got[1] == 3 {
            if self.role == Role::Client {
                "the server speaks TLS on this port: connect with amqps://".to_owned()
            } else {
                "the client started a TLS handshake, and this listener does not serve TLS \
                 (use amqp://, or give the listener a certificate)"
                    .to_owned()
            }
        } else {
            format!("{}", frame::FrameError::BadProtocolHeader(got))
        };
        self.transport_failed(condition::NOT_IMPLEMENTED, why);
    }

    fn on_amqp_frame(&mut self, channel: u16, body: &[u8]) {
        // §2.4.1 / SEMANTICS §2: a channel beyond the limit we announced.
        if channel > self.config.channel_max {
            self.fail(
                condition::FRAMING_ERROR,
                format!(
                    "frame on channel {channel}, above channel-max {}",
                    self.config.channel_max
                ),
            );
            return;
        }
        if body.is_empty() {
            return; // an empty frame: heartbeat (§2.4.5)
        }
        if self.remote_state == EndpointState::Closed {
            return; // late frames after the peer's close are ignored
        }
        let mut d = Decoder::with_max_depth(body, self.config.max_decode_depth);
        // The frames of flowing links, by far the most frequent, are read
        // straight into their own type (a Performative is 456 bytes to move).
        if self.remote_state != EndpointState::Uninit
            && let [0x00, 0x53, code @ 0x13..=0x15, ..] = *body
        {
            let result = d.read_constructor().and_then(|ctor| {
                match code {
                    0x14 => {
                        let t = Transfer::decode_fields(&mut d, &ctor)?;
                        let payload = body.get(d.position()..).unwrap_or_default();
                        self.on_transfer(channel, t, payload);
                    }
                    0x13 => {
                        let f = Flow::decode_fields(&mut d, &ctor)?;
                        self.on_flow(channel, f);
                    }
                    _ => {
                        let dp = Disposition::decode_fields(&mut d, &ctor)?;
                        self.on_disposition(channel, dp);
                    }
                }
                Ok(())
            });
            if let Err(e) = result {
                self.fail(condition::DECODE_ERROR, format!("undecodable frame: {e}"));
            }
            return;
        }
        let perf = match Performative::decode(&mut d) {
            Ok(p) => p,
            Err(e) => {
                self.fail(condition::DECODE_ERROR, format!("undecodable frame: {e}"));
                return;
            }
        };
        let payload = body.get(d.position()..).unwrap_or_default();
        // §2.4.1: the first frame must be open.
        if self.remote_state == EndpointState::Uninit && !matches!(perf, Performative::Open(_)) {
            self.fail(
                condition::ILLEGAL_STATE,
                format!("{} before open", perf.name()),
            );
            return;
        }
        match perf {
            Performative::Open(o) => self.on_open(channel, o),
            Performative::Close(c) => self.on_close(c),
            Performative::Begin(b) => self.on_begin(channel, b),
            Performative::End(e) => self.on_end(channel, e),
            Performative::Attach(a) => self.on_attach(channel, a, body.len()),
            Performative::Detach(dt) => self.on_detach(channel, dt),
            Performative::Flow(f) => self.on_flow(channel, f),
            Performative::Transfer(t) => self.on_transfer(channel, t, payload),
            Performative::Disposition(dp) => self.on_disposition(channel, dp),
        }
    }

    fn on_open(&mut self, channel: u16, open: Open) {
        if self.remote_state != EndpointState::Uninit {
            self.fail(condition::ILLEGAL_STATE, "a second open");
            return;
        }
        if channel != 0 {
            self.fail(condition::FRAMING_ERROR, "open on a channel other than 0");
            return;
        }
        // §2.7.1: every peer must accept 512-byte frames, so a
        // max-frame-size under 512 is a contradiction; refused rather than
        // clamped (this side would write frames the peer says it cannot
        // take).
        if open.max_frame_size < MIN_MAX_FRAME_SIZE {
            self.fail(
                condition::FRAME_SIZE_TOO_SMALL,
                format!(
                    "open with max-frame-size {}, below the minimum of {MIN_MAX_FRAME_SIZE} \
                     every peer must accept (§2.7.1)",
                    open.max_frame_size
                ),
            );
            return;
        }
        // §2.4.5: a peer that cannot support a proposed idle time-out
        // closes, explaining why.
        let min_idle = self.config.min_peer_idle_timeout;
        if let Some(ms) = open.idle_time_out.filter(|ms| *ms > 0)
            && u128::from(ms) < min_idle.as_millis()
        {
            self.fail(
                condition::INVALID_FIELD,
                format!(
                    "open with idle-time-out {ms} ms: this side honours {} ms or more \
                     (an empty frame every {} ms is too often)",
                    min_idle.as_millis(),
                    (ms / 2).max(1)
                ),
            );
            return;
        }
        self.remote_max_frame = open.max_frame_size;
        self.remote_channel_max = open.channel_max;
        self.remote_state = EndpointState::Active;
        self.remote_open = Some(open);
        self.timers_changed = true;
        self.push(Event::ConnectionRemoteOpen);
        // Begins and attaches held back by the pre-open limits go now.
        self.send_queued_begins();
        self.send_queued_attaches();
    }

    fn on_close(&mut self, close: Close) {
        self.remote_state = EndpointState::Closed;
        self.remote_error = close.error;
        self.push(Event::ConnectionRemoteClose);
        if self.close_sent {
            self.finish();
        }
    }
}
