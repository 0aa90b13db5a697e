//! A scripted peer: hand-made byte sequences fed to one engine, asserting
//! the condition it closes with (decoded from its output) and that it
//! reported the violation as `Event::TransportError`. Plus property tests
//! feeding random bytes, which must never panic nor grow the input buffer
//! past one frame.

mod common_engine;

use std::time::Instant;

use common_engine::*;
use muon::codec::frame::{AMQP_HEADER, SASL_HEADER};
use muon::codec::messaging::{DeliveryState, Source, Target, TargetKind};
use muon::codec::security::{SaslFrame, SaslInit};
use muon::codec::transport::{
    Attach, Begin, Close, Detach, Disposition, Flow, Open, Performative, ReceiverSettleMode,
    Role as LinkRole, SenderSettleMode, Transfer, condition,
};
use muon::codec::{DeliveryTag, Symbol};
use muon::engine::{Config, Connection, EndpointState, Event, LinkId, LinkOptions, SaslConfig};
use proptest::prelude::*;

const MAX_FRAME: u32 = 1024;

/// The engine under test, with what it wrote and reported.
struct Script {
    eng: Connection,
    now: Instant,
    out: WireLog,
    events: Vec<Event>,
    /// Credit given to receivers the script's sender links attach to.
    credit: u32,
    link_options: Option<LinkOptions>,
}

fn server_cfg() -> Config {
    Config {
        container_id: "engine".into(),
        max_frame_size: MAX_FRAME,
        channel_max: 9,
        ..Config::default()
    }
}

impl Script {
    fn server() -> Script {
        Script::with(Connection::server(server_cfg(), Instant::now()))
    }

    fn with(eng: Connection) -> Script {
        Script {
            now: Instant::now(),
            eng,
            out: WireLog::new(),
            events: Vec::new(),
            credit: 0,
            link_options: None,
        }
    }

    /// Feeds bytes, collects the output, and answers opens, begins and
    /// attaches as an application would.
    fn feed(&mut self, bytes: &[u8]) {
        self.eng.receive(bytes, self.now);
        self.settle_down();
    }

    fn settle_down(&mut self) {
        loop {
            let mut any = false;
            while let Some(e) = self.eng.next_event() {
                any = true;
                match e {
                    Event::ConnectionRemoteOpen => self.eng.open(),
                    Event::SessionRemoteOpen(s)
                        if self.eng.session_local_state(s) == EndpointState::Uninit =>
                    {
                        self.eng.session_open(s).unwrap();
                    }
                    Event::LinkRemoteOpen(l)
                        if self.eng.link_local_state(l) == EndpointState::Uninit =>
                    {
                        if let Some(o) = self.link_options.clone() {
                            *self.eng.link_options_mut(l).unwrap() = o;
                        }
                        self.eng.link_open(l).unwrap();
                        if self.credit > 0 && self.eng.link_role(l) == Some(LinkRole::Receiver) {
                            self.eng.link_flow(l, self.credit, false).unwrap();
                        }
                    }
                    _ => {}
                }
                self.events.push(e);
            }
            let out = self.eng.output();
            if !out.is_empty() {
                any = true;
                self.out.feed(out);
                let n = out.len();
                self.eng.consume_output(n);
            }
            if !any {
                return;
            }
        }
    }

    fn feed_bytewise(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.feed(std::slice::from_ref(b));
        }
    }

    /// AMQP header and open.
    fn open(&mut self) {
        let mut b = AMQP_HEADER.to_vec();
        b.extend(amqp_frame(0, &open_frame(), &[]));
        self.feed(&b);
        assert_eq!(self.eng.remote_state(), EndpointState::Active);
    }

    /// Open and a begin on channel 1.
    fn begun(&mut self) {
        self.open();
        self.feed(&amqp_frame(1, &begin_frame(None), &[]));
        assert!(
            self.events
                .iter()
                .any(|e| matches!(e, Event::SessionRemoteOpen(_)))
        );
    }

    /// Open, begin and a sending link on handle 0 (the engine receives).
    fn sending_link(&mut self, credit: u32) -> LinkId {
        self.credit = credit;
        self.begun();
        self.feed(&amqp_frame(
            1,
            &attach_frame("in", 0, LinkRole::Sender),
            &[],
        ));
        self.events
            .iter()
            .find_map(|e| match e {
                Event::LinkRemoteOpen(l) => Some(*l),
                _ => None,
            })
            .unwrap()
    }

    /// Open, begin and a receiving link on handle 0 (the script receives;
    /// the engine's sender answers).
    fn receiving_link(&mut self) -> LinkId {
        self.begun();
        self.feed(&amqp_frame(
            1,
            &attach_frame("out", 0, LinkRole::Receiver),
            &[],
        ));
        self.events
            .iter()
            .find_map(|e| match e {
                Event::LinkRemoteOpen(l) => Some(*l),
                _ => None,
            })
            .unwrap()
    }

    /// Asserts the engine closed with `cond`: in a close frame, in a
    /// `TransportError`, and it is done.
    fn assert_closed_with(&self, cond: &str) {
        assert_eq!(
            close_condition(&self.out.units).as_deref(),
            Some(cond),
            "wire: {:?}",
            self.out.units
        );
        assert_eq!(transport_errors(&self.events), vec![cond.to_owned()]);
        assert!(self.eng.is_done());
        assert!(self.events.contains(&Event::TransportClosed));
        assert_eq!(self.eng.local_condition().unwrap().condition.as_str(), cond);
    }

    fn deliveries(&self) -> Vec<muon::engine::DeliveryId> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Delivery(d) => Some(*d),
                _ => None,
            })
            .collect()
    }
}

fn open_frame() -> Open {
    Open {
        container_id: "script".into(),
        hostname: None,
        max_frame_size: 65536,
        channel_max: 9,
        idle_time_out: None,
        outgoing_locales: None,
        incoming_locales: None,
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    }
}

fn begin_frame(remote_channel: Option<u16>) -> Begin {
    Begin {
        remote_channel,
        next_outgoing_id: 0,
        incoming_window: 100,
        outgoing_window: 100,
        handle_max: 7,
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    }
}

fn attach_frame(name: &str, handle: u32, role: LinkRole) -> Attach {
    Attach {
        name: name.into(),
        handle,
        role,
        snd_settle_mode: SenderSettleMode::Mixed,
        rcv_settle_mode: ReceiverSettleMode::First,
        source: Some(Source::address("src")),
        target: Some(TargetKind::Target(Target::address("tgt"))),
        unsettled: None,
        incomplete_unsettled: false,
        initial_delivery_count: (role == LinkRole::Sender).then_some(0),
        max_message_size: None,
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    }
}

fn transfer_frame(handle: u32, id: Option<u32>, more: bool) -> Transfer {
    Transfer {
        handle,
        delivery_id: id,
        delivery_tag: id.map(|i| DeliveryTag::from_u64(u64::from(i))),
        message_format: id.map(|_| 0),
        settled: Some(false),
        more,
        rcv_settle_mode: None,
        state: None,
        resume: false,
        aborted: false,
        batchable: false,
    }
}

fn flow_frame(handle: Option<u32>) -> Flow {
    Flow {
        next_incoming_id: Some(0),
        incoming_window: 100,
        next_outgoing_id: 0,
        outgoing_window: 100,
        handle,
        delivery_count: handle.map(|_| 0),
        link_credit: handle.map(|_| 10),
        available: None,
        drain: false,
        echo: false,
        properties: None,
    }
}

// ---- protocol headers ------------------------------------------------------------

fn assert_header_refused(input: &[u8], answer: [u8; 8]) {
    let mut s = Script::server();
    s.feed(input);
    // §2.2: answered with the header we support, then closed.
    assert_eq!(s.out.units, vec![Wire::Header(answer)]);
    assert_eq!(
        transport_errors(&s.events),
        vec![condition::NOT_IMPLEMENTED.to_owned()]
    );
    assert!(s.eng.is_done());
    assert_eq!(s.eng.input_len(), 0);
}

#[test]
fn wrong_header_is_answered_with_ours_then_closed() {
    assert_header_refused(b"GET / HTTP/1.1\r\n\r\n", SASL_HEADER);
}

#[test]
fn wrong_first_byte_is_refused_without_waiting_for_eight() {
    assert_header_refused(b"\x16", SASL_HEADER);
}

#[test]
fn unsupported_protocol_id_and_version_are_refused() {
    assert_header_refused(b"AMQP\x01\x01\x00\x00", SASL_HEADER);
    assert_header_refused(b"AMQP\x00\x02\x00\x00", SASL_HEADER);
    // A TLS upgrade header: this engine does no TLS itself.
    assert_header_refused(b"AMQP\x02\x01\x00\x00", SASL_HEADER);
}

#[test]
fn server_without_sasl_refuses_the_sasl_header() {
    let mut s = Script::with(Connection::server(
        Config {
            sasl: SaslConfig {
                enabled: false,
                ..SaslConfig::default()
            },
            ..server_cfg()
        },
        Instant::now(),
    ));
    s.feed(&SASL_HEADER);
    assert_eq!(s.out.units, vec![Wire::Header(AMQP_HEADER)]);
    assert!(s.eng.is_done());
}

#[test]
fn client_closes_when_the_server_answers_another_header() {
    let mut s = Script::with(Connection::client(server_cfg(), Instant::now()));
    s.eng.open();
    s.settle_down();
    assert_eq!(s.out.units, vec![Wire::Header(SASL_HEADER)]);
    s.feed(&AMQP_HEADER);
    assert_eq!(
        transport_errors(&s.events),
        vec![condition::NOT_IMPLEMENTED.to_owned()]
    );
    assert!(s.eng.is_done());
}

// ---- frames ----------------------------------------------------------------------

#[test]
fn garbage_after_the_header_is_a_framing_error() {
    let mut s = Script::server();
    let mut b = AMQP_HEADER.to_vec();
    b.extend_from_slice(&[0xff; 24]);
    s.feed(&b);
    // §2.4.1: the first frame must be open, so a failing engine sends a
    // bare open before its close.
    let perfs: Vec<_> = s.out.perfs().map(|p| p.name()).collect();
    assert_eq!(perfs, vec!["open", "close"]);
    s.assert_closed_with(condition::FRAMING_ERROR);
}

#[test]
fn garbage_frame_body_is_a_decode_error() {
    let mut s = Script::server();
    let mut b = AMQP_HEADER.to_vec();
    // A well-formed frame header around a body that is no performative.
    b.extend_from_slice(&[
        0, 0, 0, 16, 2, 0, 0, 0, 0x00, 0x53, 0x10, 0xc0, 0xff, 0xff, 0, 1,
    ]);
    s.feed(&b);
    s.assert_closed_with(condition::DECODE_ERROR);
}

#[test]
fn oversize_frame_is_refused_from_its_first_four_bytes() {
    let mut s = Script::server();
    s.open();
    // Only the SIZE field: the engine does not wait for the frame.
    s.feed(&(MAX_FRAME + 1).to_be_bytes());
    s.assert_closed_with(condition::FRAMING_ERROR);
    assert_eq!(s.eng.input_len(), 0);
}

#[test]
fn bad_frame_headers_are_framing_errors() {
    for bad in [
        vec![0u8, 0, 0, 4],                        // SIZE below 8
        vec![0, 0, 0, 8, 1, 0, 0, 0],              // DOFF below 2
        vec![0, 0, 0, 8, 3, 0, 0, 0],              // DOFF past SIZE
        vec![0, 0, 0, 8, 2, 7, 0, 0],              // unknown TYPE
        vec![0, 0, 0, 12, 2, 1, 0, 0, 1, 2, 3, 4], // SASL frame after SASL
    ] {
        let mut s = Script::server();
        s.open();
        s.feed(&bad);
        s.assert_closed_with(condition::FRAMING_ERROR);
    }
}

#[test]
fn frame_before_open_is_illegal_state() {
    let mut s = Script::server();
    let mut b = AMQP_HEADER.to_vec();
    b.extend(amqp_frame(0, &begin_frame(None), &[]));
    s.feed(&b);
    s.assert_closed_with(condition::ILLEGAL_STATE);
}

#[test]
fn second_open_is_illegal_state() {
    let mut s = Script::server();
    s.open();
    s.feed(&amqp_frame(0, &open_frame(), &[]));
    s.assert_closed_with(condition::ILLEGAL_STATE);
}

#[test]
fn channel_above_channel_max_is_a_framing_error() {
    let mut s = Script::server();
    s.open();
    s.feed(&amqp_frame(10, &begin_frame(None), &[]));
    s.assert_closed_with(condition::FRAMING_ERROR);
}

#[test]
fn empty_frames_are_heartbeats_on_any_valid_channel() {
    let mut s = Script::server();
    s.open();
    s.feed(&[0, 0, 0, 8, 2, 0, 0, 5]);
    s.feed(&[0, 0, 0, 12, 3, 0, 0, 0, 9, 9, 9, 9]); // with an extended header
    assert!(transport_errors(&s.events).is_empty());
    assert!(!s.eng.is_done());
}

#[test]
fn truncated_frames_fed_one_byte_at_a_time() {
    // A whole conversation, a byte at a time, works.
    let mut s = Script::server();
    s.credit = 5;
    let mut b = AMQP_HEADER.to_vec();
    b.extend(amqp_frame(0, &open_frame(), &[]));
    b.extend(amqp_frame(1, &begin_frame(None), &[]));
    b.extend(amqp_frame(1, &attach_frame("in", 0, LinkRole::Sender), &[]));
    s.feed_bytewise(&b);
    assert_eq!(s.eng.input_len(), 0);
    let t = amqp_frame(1, &transfer_frame(0, Some(0), false), b"hello");
    for (i, byte) in t.iter().enumerate() {
        s.feed(std::slice::from_ref(byte));
        // Only the partial frame is held; nothing happens until it is whole.
        if i + 1 < t.len() {
            assert_eq!(s.eng.input_len(), i + 1);
            assert!(s.deliveries().is_empty());
        }
    }
    let d = s.deliveries()[0];
    assert_eq!(s.eng.delivery_payload(d), Some(&b"hello"[..]));
    // A frame whose SIZE is right but whose performative is cut short:
    // nothing until its last byte, then a decode error.
    let mut cut = amqp_frame(1, &flow_frame(Some(0)), &[]);
    let body_len = cut.len() - 8;
    cut.truncate(8 + body_len / 2);
    let size = cut.len() as u32;
    cut[..4].copy_from_slice(&size.to_be_bytes());
    for (i, byte) in cut.iter().enumerate() {
        s.feed(std::slice::from_ref(byte));
        if i + 1 < cut.len() {
            assert!(!s.eng.is_done());
        }
    }
    s.assert_closed_with(condition::DECODE_ERROR);
}

#[test]
fn input_ending_without_close_is_reported() {
    let mut s = Script::server();
    s.open();
    s.feed(&[0, 0, 0]);
    s.eng.input_closed(s.now);
    s.settle_down();
    assert_eq!(
        transport_errors(&s.events),
        vec![condition::CONNECTION_FORCED.to_owned()]
    );
    assert!(s.eng.is_done());
}

// ---- sessions and links ------------------------------------------------------

#[test]
fn attach_on_an_unbegun_channel_is_not_allowed() {
    let mut s = Script::server();
    s.open();
    s.feed(&amqp_frame(3, &attach_frame("x", 0, LinkRole::Sender), &[]));
    s.assert_closed_with(condition::NOT_ALLOWED);
}

#[test]
fn begin_answering_a_channel_we_never_began_is_not_allowed() {
    let mut s = Script::server();
    s.open();
    s.feed(&amqp_frame(1, &begin_frame(Some(4)), &[]));
    s.assert_closed_with(condition::NOT_ALLOWED);
}

#[test]
fn second_begin_on_a_channel_is_illegal_state() {
    let mut s = Script::server();
    s.begun();
    s.feed(&amqp_frame(1, &begin_frame(None), &[]));
    s.assert_closed_with(condition::ILLEGAL_STATE);
}

#[test]
fn transfer_on_an_unknown_handle_is_unattached_handle() {
    let mut s = Script::server();
    s.begun();
    s.feed(&amqp_frame(1, &transfer_frame(5, Some(0), false), b"x"));
    s.assert_closed_with(condition::UNATTACHED_HANDLE);
}

#[test]
fn flow_and_detach_on_unknown_handles_are_unattached_handle() {
    let mut s = Script::server();
    s.begun();
    s.feed(&amqp_frame(1, &flow_frame(Some(3)), &[]));
    s.assert_closed_with(condition::UNATTACHED_HANDLE);
    let mut s = Script::server();
    s.begun();
    let detach = Detach {
        handle: 2,
        closed: true,
        error: None,
    };
    s.feed(&amqp_frame(1, &detach, &[]));
    s.assert_closed_with(condition::UNATTACHED_HANDLE);
}

#[test]
fn attach_on_a_handle_in_use_is_handle_in_use() {
    let mut s = Script::server();
    s.sending_link(1);
    s.feed(&amqp_frame(
        1,
        &attach_frame("other", 0, LinkRole::Sender),
        &[],
    ));
    s.assert_closed_with(condition::HANDLE_IN_USE);
}

#[test]
fn attach_above_handle_max_is_a_framing_error() {
    let mut s = Script::server();
    s.begun();
    s.feed(&amqp_frame(
        1,
        &attach_frame("x", u32::MAX, LinkRole::Sender),
        &[],
    ));
    s.assert_closed_with(condition::FRAMING_ERROR);
}

#[test]
fn transfer_beyond_credit_is_transfer_limit_exceeded() {
    let mut s = Script::server();
    s.sending_link(1);
    s.feed(&amqp_frame(1, &transfer_frame(0, Some(0), false), b"a"));
    assert_eq!(s.deliveries().len(), 1);
    // An overshoot of up to the granted credit (1 here) is tolerated, as
    // RabbitMQ 3.x overshoots; the one after is a violation.
    s.feed(&amqp_frame(1, &transfer_frame(0, Some(1), false), b"b"));
    assert_eq!(s.deliveries().len(), 2);
    s.feed(&amqp_frame(1, &transfer_frame(0, Some(2), false), b"c"));
    s.assert_closed_with(condition::TRANSFER_LIMIT_EXCEEDED);
}

#[test]
fn transfer_beyond_our_incoming_window_is_window_violation() {
    let cfg = Config {
        session_window: 4,
        ..server_cfg()
    };
    let mut s = Script::with(Connection::server(cfg, Instant::now()));
    s.sending_link(100);
    let begin_window = s.out.perfs().find_map(|p| match p {
        Performative::Begin(b) => Some(b.incoming_window),
        _ => None,
    });
    assert_eq!(begin_window, Some(4));
    let mut next = 0;
    let mut send = |s: &mut Script, n: u32| {
        let mut b = Vec::new();
        for _ in 0..n {
            b.extend(amqp_frame(1, &transfer_frame(0, Some(next), false), b"x"));
            next += 1;
        }
        s.feed(&b);
    };
    // The whole window at once, then again once the engine's flow
    // (written after it) re-opened it: within the rules.
    send(&mut s, 4);
    let reopened = s
        .out
        .perfs()
        .filter_map(|p| match p {
            Performative::Flow(f) if f.handle.is_none() => {
                Some((f.next_incoming_id, f.incoming_window))
            }
            _ => None,
        })
        .last();
    assert_eq!(reopened, Some((Some(4), 4)));
    send(&mut s, 4);
    assert_eq!(s.deliveries().len(), 8);
    assert!(transport_errors(&s.events).is_empty());
    // Five at once: the fifth is past the window the peer was told.
    send(&mut s, 5);
    assert_eq!(s.deliveries().len(), 12);
    s.assert_closed_with(condition::WINDOW_VIOLATION);
}

#[test]
fn transfer_on_a_sending_link_is_not_allowed() {
    let mut s = Script::server();
    // The script attaches as receiver: the engine's end sends.
    s.receiving_link();
    s.feed(&amqp_frame(1, &transfer_frame(0, Some(0), false), b"x"));
    s.assert_closed_with(condition::NOT_ALLOWED);
}

#[test]
fn first_transfer_without_id_or_tag_is_invalid_field() {
    let mut s = Script::server();
    s.sending_link(1);
    let mut t = transfer_frame(0, Some(0), false);
    t.delivery_tag = None;
    s.feed(&amqp_frame(1, &t, b"x"));
    s.assert_closed_with(condition::INVALID_FIELD);
}

#[test]
fn continuation_naming_another_delivery_is_invalid_field() {
    let mut s = Script::server();
    s.sending_link(2);
    s.feed(&amqp_frame(1, &transfer_frame(0, Some(0), true), b"part"));
    s.feed(&amqp_frame(1, &transfer_frame(0, Some(1), false), b"other"));
    s.assert_closed_with(condition::INVALID_FIELD);
}

#[test]
fn aborted_delivery_is_discarded_and_its_credit_stays_spent() {
    let mut s = Script::server();
    let l = s.sending_link(3);
    s.feed(&amqp_frame(
        1,
        &transfer_frame(0, Some(0), true),
        b"first half",
    ));
    let mut abort = transfer_frame(0, None, false);
    abort.aborted = true;
    s.feed(&amqp_frame(1, &abort, b"ignored too"));
    assert!(s.deliveries().is_empty());
    assert_eq!(s.eng.link_credit(l), 2);
    assert_eq!(s.eng.link_delivery_count(l), 1);
    assert_eq!(s.eng.delivery_count(), 0, "nothing kept");
    s.feed(&amqp_frame(1, &transfer_frame(0, Some(1), false), b"next"));
    let d = s.deliveries()[0];
    assert_eq!(s.eng.delivery_payload(d), Some(&b"next"[..]));
    assert!(transport_errors(&s.events).is_empty());
}

#[test]
fn resumed_delivery_is_ignored_safely() {
    let mut s = Script::server();
    let l = s.sending_link(3);
    let mut t = transfer_frame(0, Some(0), true);
    t.resume = true;
    s.feed(&amqp_frame(1, &t, b"resumed part"));
    s.feed(&amqp_frame(
        1,
        &transfer_frame(0, None, false),
        b"resumed end",
    ));
    assert!(s.deliveries().is_empty());
    assert_eq!(s.eng.link_credit(l), 3, "no credit taken");
    s.feed(&amqp_frame(1, &transfer_frame(0, Some(1), false), b"fresh"));
    assert_eq!(s.deliveries().len(), 1);
    assert!(transport_errors(&s.events).is_empty());
}

#[test]
fn message_over_max_message_size_detaches_the_link() {
    let mut s = Script::server();
    s.link_options = Some(LinkOptions {
        max_message_size: Some(100),
        ..LinkOptions::default()
    });
    let l = s.sending_link(5);
    let reply = s
        .out
        .perfs()
        .find_map(|p| match p {
            muon::codec::transport::Performative::Attach(a) => Some(a.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(reply.max_message_size, Some(100));
    s.feed(&amqp_frame(1, &transfer_frame(0, Some(0), true), &[1; 60]));
    s.feed(&amqp_frame(1, &transfer_frame(0, None, false), &[2; 60]));
    let detach = s
        .out
        .perfs()
        .find_map(|p| match p {
            muon::codec::transport::Performative::Detach(d) => Some(d.clone()),
            _ => None,
        })
        .unwrap();
    assert!(detach.closed);
    assert_eq!(
        detach.error.unwrap().condition.as_str(),
        condition::MESSAGE_SIZE_EXCEEDED
    );
    assert_eq!(s.eng.link_local_state(l), EndpointState::Closed);
    assert!(s.deliveries().is_empty());
    // The link is errant, not the connection: later frames for it are
    // dropped until the peer's detach, which completes the link.
    s.feed(&amqp_frame(1, &transfer_frame(0, None, false), &[3; 10]));
    assert!(!s.eng.is_done());
    let detach = Detach {
        handle: 0,
        closed: true,
        error: None,
    };
    s.feed(&amqp_frame(1, &detach, &[]));
    assert!(s.events.contains(&Event::LinkFinal(l)));
    assert!(transport_errors(&s.events).is_empty());
}

#[test]
fn frames_for_a_session_we_ended_are_dropped_until_its_end() {
    let mut s = Script::server();
    let l = s.sending_link(5);
    let ses = s.eng.link_session(l).unwrap();
    s.eng.session_close(ses, None).unwrap();
    s.settle_down();
    // DISCARDING: a transfer beyond credit on the ended session is ignored.
    for i in 0..10 {
        s.feed(&amqp_frame(1, &transfer_frame(0, Some(i), false), b"late"));
    }
    assert!(transport_errors(&s.events).is_empty());
    s.feed(&amqp_frame(
        1,
        &muon::codec::transport::End { error: None },
        &[],
    ));
    assert!(s.events.iter().any(|e| matches!(e, Event::SessionFinal(_))));
    // The channel may be begun again.
    s.feed(&amqp_frame(1, &begin_frame(None), &[]));
    assert!(transport_errors(&s.events).is_empty());
}

#[test]
fn dispositions_for_ids_no_longer_held_are_ignored() {
    let mut s = Script::server();
    s.sending_link(5);
    for id in 0..3 {
        s.feed(&amqp_frame(1, &transfer_frame(0, Some(id), false), b"a"));
    }
    let ds = s.deliveries();
    // The application settles delivery 1: its id is forgotten.
    s.eng
        .disposition(ds[1], Some(DeliveryState::Accepted), true)
        .unwrap();
    s.settle_down();
    let dp = |first, last| Disposition {
        role: LinkRole::Sender,
        first,
        last,
        settled: true,
        state: Some(DeliveryState::Accepted),
        batchable: false,
    };
    // Both ends settled it at once: the peer's word on it is ignored.
    s.feed(&amqp_frame(1, &dp(1, None), &[]));
    assert!(!s.eng.delivery_remote_settled(ds[0]));
    assert!(!s.eng.delivery_remote_settled(ds[2]));
    // A range that wraps past u32::MAX and includes 0 applies.
    s.feed(&amqp_frame(1, &dp(u32::MAX - 1, Some(0)), &[]));
    assert!(s.eng.delivery_remote_settled(ds[0]));
    assert!(!s.eng.delivery_remote_settled(ds[2]));
    assert!(transport_errors(&s.events).is_empty());
}

#[test]
fn dispositions_naming_unused_ids_or_running_backwards_are_invalid_field() {
    let dp = |role, first, last| Disposition {
        role,
        first,
        last,
        settled: true,
        state: Some(DeliveryState::Accepted),
        batchable: false,
    };
    for (what, frame) in [
        // Delivery-ids 0..=1 were used; 2 never was.
        ("peer's, past its last", dp(LinkRole::Sender, 1, Some(2))),
        ("backwards", dp(LinkRole::Sender, 1, Some(0))),
        (
            "over half the number space",
            dp(LinkRole::Sender, 5, Some(4_000_000_000)),
        ),
        // The engine has sent nothing on the session.
        ("ours, none sent", dp(LinkRole::Receiver, 0, None)),
    ] {
        let mut s = Script::server();
        s.sending_link(5);
        for id in 0..2 {
            s.feed(&amqp_frame(1, &transfer_frame(0, Some(id), false), b"a"));
        }
        s.feed(&amqp_frame(1, &frame, &[]));
        assert_eq!(
            close_condition(&s.out.units).as_deref(),
            Some(condition::INVALID_FIELD),
            "{what}"
        );
        assert_eq!(transport_errors(&s.events), vec![condition::INVALID_FIELD]);
    }
    // Before any transfer, the peer has no delivery a disposition could name.
    let mut s = Script::server();
    s.sending_link(5);
    s.feed(&amqp_frame(1, &dp(LinkRole::Sender, 0, None), &[]));
    assert_eq!(
        close_condition(&s.out.units).as_deref(),
        Some(condition::INVALID_FIELD)
    );
}

#[test]
fn sender_credit_follows_the_receiver_flow_including_an_absent_count() {
    let mut s = Script::server();
    // The script is the receiver; the engine's sender answers.
    let l = s.receiving_link();
    let mut f = flow_frame(Some(0));
    f.delivery_count = None; // the receiver had not seen our attach
    f.link_credit = Some(4);
    s.feed(&amqp_frame(1, &f, &[]));
    assert_eq!(s.eng.link_credit(l), 4);
    // A session flow that names an old next-incoming-id: frames in flight
    // are discounted from the window (§2.5.6).
    s.eng.send(l, None, &b"1"[..], true).unwrap();
    s.eng.send(l, None, &b"2"[..], true).unwrap();
    let mut w = flow_frame(None);
    w.next_incoming_id = Some(0);
    w.incoming_window = 3;
    s.feed(&amqp_frame(1, &w, &[]));
    let ses = s.eng.link_session(l).unwrap();
    assert_eq!(s.eng.session_remote_incoming_window(ses), 1);
    // The receiver cuts credit below what was sent: credit floors at 0.
    let mut f = flow_frame(Some(0));
    f.delivery_count = Some(0);
    f.link_credit = Some(1);
    s.feed(&amqp_frame(1, &f, &[]));
    assert_eq!(s.eng.link_credit(l), 0);
}

/// A peer that sends received, accepted, received, accepted for one
/// delivery has given one outcome: the counters say accepted once, and the
/// delivery's state stays accepted.
#[test]
fn an_outcome_is_counted_once_however_the_peer_repeats_it() {
    let mut s = Script::server();
    let l = s.receiving_link();
    let mut f = flow_frame(Some(0));
    f.link_credit = Some(4);
    s.feed(&amqp_frame(1, &f, &[]));
    let d = s.eng.send(l, None, &b"once"[..], false).unwrap();
    s.settle_down();
    let received = DeliveryState::Received(muon::codec::messaging::Received {
        section_number: 0,
        section_offset: 0,
    });
    for state in [
        received.clone(),
        DeliveryState::Accepted,
        received,
        DeliveryState::Accepted,
    ] {
        let dp = Disposition {
            role: LinkRole::Receiver,
            first: 0,
            last: None,
            settled: false,
            state: Some(state),
            batchable: false,
        };
        s.feed(&amqp_frame(1, &dp, &[]));
    }
    assert!(transport_errors(&s.events).is_empty());
    assert_eq!(s.eng.counters().accepted, 1);
    assert_eq!(s.eng.link_counters(l).unwrap().accepted, 1);
    assert_eq!(
        s.eng.delivery_remote_state(d),
        Some(&DeliveryState::Accepted)
    );
}

#[test]
fn close_from_the_peer_is_answered_and_ends_the_transport() {
    let mut s = Script::server();
    s.open();
    let close = Close {
        error: Some(muon::codec::transport::AmqpError::new(
            condition::CONNECTION_FORCED,
            "maintenance",
        )),
    };
    s.feed(&amqp_frame(0, &close, &[]));
    assert!(s.events.contains(&Event::ConnectionRemoteClose));
    assert_eq!(
        s.eng.remote_condition().unwrap().condition.as_str(),
        condition::CONNECTION_FORCED
    );
    s.eng.close(None);
    s.settle_down();
    assert_eq!(close_condition(&s.out.units).as_deref(), Some(""));
    assert!(s.eng.is_done());
    assert!(transport_errors(&s.events).is_empty());
}

// ---- SASL ----------------------------------------------------------------------

#[test]
fn empty_sasl_frame_fails_the_sasl_layer() {
    let mut s = Script::server();
    let mut b = SASL_HEADER.to_vec();
    b.extend_from_slice(&[0, 0, 0, 8, 2, 1, 0, 0]);
    s.feed(&b);
    assert_eq!(
        transport_errors(&s.events),
        vec![condition::DECODE_ERROR.to_owned()]
    );
    assert!(s.eng.is_done());
}

#[test]
fn sasl_init_twice_is_refused() {
    let mut s = Script::with(Connection::server(
        Config {
            sasl: SaslConfig {
                authenticator: muon::engine::Authenticator::Application,
                allow_anonymous: true,
                ..SaslConfig::default()
            },
            ..server_cfg()
        },
        Instant::now(),
    ));
    let init = SaslFrame::Init(SaslInit {
        mechanism: Symbol::from("ANONYMOUS"),
        initial_response: None,
        hostname: None,
    });
    let mut b = SASL_HEADER.to_vec();
    b.extend(sasl_frame(&init));
    b.extend(sasl_frame(&init));
    s.feed(&b);
    assert_eq!(
        transport_errors(&s.events),
        vec![condition::NOT_ALLOWED.to_owned()]
    );
    assert!(s.eng.is_done());
}

#[test]
fn bytes_after_the_sasl_outcome_are_the_amqp_header() {
    // The client must not drop the server's AMQP header that arrives in
    // the same read as the outcome.
    let mut s = Script::with(Connection::client(server_cfg(), Instant::now()));
    s.eng.open();
    s.settle_down();
    let mech = SaslFrame::Mechanisms(muon::codec::security::SaslMechanisms {
        sasl_server_mechanisms: muon::codec::Symbols(vec![Symbol::from("ANONYMOUS")]),
    });
    let mut b = SASL_HEADER.to_vec();
    b.extend(sasl_frame(&mech));
    s.feed(&b);
    let outcome = SaslFrame::Outcome(muon::codec::security::SaslOutcome {
        code: muon::codec::security::SaslCode::Ok,
        additional_data: None,
    });
    let mut b = sasl_frame(&outcome);
    b.extend_from_slice(&AMQP_HEADER);
    b.extend(amqp_frame(0, &open_frame(), &[]));
    s.feed(&b);
    assert_eq!(s.eng.remote_state(), EndpointState::Active);
    assert!(s.out.perfs().any(|p| p.name() == "open"));
}

// ---- random input ----------------------------------------------------------------

fn check_bounded(s: &Script) {
    // At most one partial frame is held.
    assert!(
        s.eng.input_len() < MAX_FRAME as usize,
        "{}",
        s.eng.input_len()
    );
}

/// A well-formed performative with arbitrary fields, on a small channel.
fn any_frame() -> impl Strategy<Value = Vec<u8>> {
    let ch = 0u16..3;
    let h = 0u32..4;
    let id = prop_oneof![0u32..8, any::<u32>()];
    prop_oneof![
        (
            ch.clone(),
            proptest::option::of(0u16..3),
            any::<u32>(),
            any::<u32>()
        )
            .prop_map(|(c, rc, n, w)| {
                let mut b = begin_frame(rc);
                b.next_outgoing_id = n;
                b.incoming_window = w;
                amqp_frame(c, &b, &[])
            }),
        (
            ch.clone(),
            h.clone(),
            any::<bool>(),
            proptest::option::of(any::<u32>())
        )
            .prop_map(|(c, h, role, idc)| {
                let mut a = attach_frame(&format!("l{h}"), h, LinkRole::from_bool(role));
                a.initial_delivery_count = idc;
                amqp_frame(c, &a, &[])
            }),
        (
            ch.clone(),
            proptest::option::of(h.clone()),
            any::<(u32, u32, u32, u32)>(),
            any::<(bool, bool)>()
        )
            .prop_map(|(c, h, (a, b, x, y), (drain, echo))| {
                let mut f = flow_frame(h);
                f.next_incoming_id = Some(a);
                f.incoming_window = b;
                f.next_outgoing_id = x;
                f.delivery_count = h.map(|_| y);
                f.link_credit = h.map(|_| b);
                f.drain = drain;
                f.echo = echo;
                amqp_frame(c, &f, &[])
            }),
        (
            ch.clone(),
            h.clone(),
            proptest::option::of(id.clone()),
            any::<(bool, bool, bool, bool)>(),
            proptest::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(c, h, id, (more, aborted, resume, settled), p)| {
                let mut t = transfer_frame(h, id, more);
                t.aborted = aborted;
                t.resume = resume;
                t.settled = Some(settled);
                amqp_frame(c, &t, &p)
            }),
        (
            ch.clone(),
            any::<bool>(),
            id.clone(),
            proptest::option::of(id),
            any::<bool>()
        )
            .prop_map(|(c, role, first, last, settled)| {
                let d = Disposition {
                    role: LinkRole::from_bool(role),
                    first,
                    last,
                    settled,
                    state: Some(DeliveryState::Accepted),
                    batchable: false,
                };
                amqp_frame(c, &d, &[])
            }),
        (ch.clone(), h, any::<bool>()).prop_map(|(c, h, closed)| {
            amqp_frame(
                c,
                &Detach {
                    handle: h,
                    closed,
                    error: None,
                },
                &[],
            )
        }),
        ch.prop_map(|c| amqp_frame(c, &muon::codec::transport::End { error: None }, &[])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut s = Script::server();
        s.feed(&bytes);
        check_bounded(&s);
    }

    #[test]
    fn random_bytes_after_a_valid_open_never_panic(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..8)
    ) {
        let mut s = Script::server();
        s.credit = 10;
        s.begun();
        s.feed(&amqp_frame(1, &attach_frame("in", 0, LinkRole::Sender), &[]));
        for c in &chunks {
            s.feed(c);
            check_bounded(&s);
        }
        // If it closed, it said why, with a close frame and an event.
        if s.eng.is_done() {
            prop_assert_eq!(transport_errors(&s.events).len(), 1);
            prop_assert!(close_condition(&s.out.units).is_some());
        }
    }

    #[test]
    fn random_frames_with_valid_headers_never_panic(
        frames in proptest::collection::vec(
            (0u16..12, proptest::collection::vec(any::<u8>(), 0..200)), 0..12)
    ) {
        let mut s = Script::server();
        s.credit = 10;
        s.begun();
        s.feed(&amqp_frame(1, &attach_frame("in", 0, LinkRole::Sender), &[]));
        for (channel, body) in &frames {
            // A performative descriptor prefix makes decoding go deeper.
            let mut b = vec![0x00, 0x53, 0x10 + (body.first().copied().unwrap_or(0) % 9)];
            b.extend_from_slice(body);
            let mut f = vec![0, 0, 0, 0, 2, 0];
            f.extend_from_slice(&channel.to_be_bytes());
            f.extend_from_slice(&b);
            let size = f.len() as u32;
            f[..4].copy_from_slice(&size.to_be_bytes());
            s.feed(&f);
            check_bounded(&s);
        }
    }

    #[test]
    fn random_well_formed_performatives_never_panic(
        frames in proptest::collection::vec(any_frame(), 0..40),
        settle in any::<bool>(),
    ) {
        let mut s = Script::server();
        s.credit = 3;
        s.open();
        // Sessions on channels 0..3, links both ways on channel 0.
        for c in 0..3 {
            s.feed(&amqp_frame(c, &begin_frame(None), &[]));
        }
        s.feed(&amqp_frame(0, &attach_frame("in", 0, LinkRole::Sender), &[]));
        s.feed(&amqp_frame(0, &attach_frame("out", 1, LinkRole::Receiver), &[]));
        let out = s.events.iter().rev().find_map(|e| match e {
            Event::LinkRemoteOpen(l) => Some(*l),
            _ => None,
        });
        for f in &frames {
            s.feed(f);
            check_bounded(&s);
            // The engine's sender sends whenever it may.
            if let Some(l) = out {
                for _ in 0..3 {
                    if s.eng.link_credit(l) == 0 || s.eng.send(l, None, &b"m"[..], false).is_err() {
                        break;
                    }
                }
                let _ = s.eng.link_drained(l);
                s.settle_down();
            }
            // The application settles what arrives, or leaves it.
            if settle {
                for d in s.deliveries() {
                    let _ = s.eng.disposition(d, Some(DeliveryState::Accepted), true);
                }
            }
            if s.eng.is_done() {
                break;
            }
        }
        if s.eng.is_done() {
            prop_assert!(s.events.contains(&Event::TransportClosed));
        }
    }

    #[test]
    fn valid_conversation_survives_any_chunking(cuts in proptest::collection::vec(1usize..40, 1..60)) {
        let mut b = AMQP_HEADER.to_vec();
        b.extend(amqp_frame(0, &open_frame(), &[]));
        b.extend(amqp_frame(1, &begin_frame(None), &[]));
        b.extend(amqp_frame(1, &attach_frame("in", 0, LinkRole::Sender), &[]));
        // A sender waits for credit: the transfers follow the attach later.
        let mut t = amqp_frame(1, &transfer_frame(0, Some(0), true), b"hello ");
        t.extend(amqp_frame(1, &transfer_frame(0, None, false), b"world"));
        let mut s = Script::server();
        s.credit = 1;
        let mut cut = cuts.iter().cycle();
        for part in [&b[..], &t[..]] {
            let mut rest = part;
            while !rest.is_empty() {
                let n = cut.next().copied().unwrap_or(1).min(rest.len());
                s.feed(&rest[..n]);
                rest = &rest[n..];
            }
        }
        prop_assert!(transport_errors(&s.events).is_empty());
        let d = s.deliveries();
        prop_assert_eq!(d.len(), 1);
        prop_assert_eq!(s.eng.delivery_payload(d[0]), Some(&b"hello world"[..]));
    }
}
