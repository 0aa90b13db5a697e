//! Two engines wired together in memory with a fake clock: one test per
//! behaviour, asserting what went over the wire as well as what each
//! engine reports.

mod common_engine;

use std::time::Duration;

use common_engine::*;
use muon::codec::frame::{AMQP_HEADER, SASL_HEADER};
use muon::codec::message::{Body, Message};
use muon::codec::messaging::{
    DeliveryState, Modified, Rejected, Source, Target, TerminusDurability, TerminusExpiryPolicy,
};
use muon::codec::security::{SaslCode, SaslFrame};
use muon::codec::transport::{
    AmqpError, Performative, ReceiverSettleMode, Role as LinkRole, SenderSettleMode, condition,
};
use muon::codec::{Map, Symbol, Symbols, Value};
use muon::engine::{
    Authenticator, Config, EndpointState, Error, Event, LinkOptions, Mechanism, SaslConfig,
};

// ---- SASL ------------------------------------------------------------------

fn outcome_code(p: &Pair) -> Option<SaslCode> {
    sasl_frames(&p.s.sent.units)
        .into_iter()
        .find_map(|f| match f {
            SaslFrame::Outcome(o) => Some(o.code),
            _ => None,
        })
}

fn init_of(p: &Pair) -> muon::codec::security::SaslInit {
    sasl_frames(&p.c.sent.units)
        .into_iter()
        .find_map(|f| match f {
            SaslFrame::Init(i) => Some(i),
            _ => None,
        })
        .expect("client sent sasl-init")
}

fn assert_opened(p: &Pair) {
    assert!(p.c.events.contains(&Event::SaslDone));
    assert!(p.s.events.contains(&Event::SaslDone));
    assert_eq!(p.c.conn.remote_state(), EndpointState::Active);
    assert_eq!(p.s.conn.remote_state(), EndpointState::Active);
    // §5.3.2: SASL header, SASL dialog, then a fresh AMQP header exchange.
    let headers: Vec<_> =
        p.c.sent
            .units
            .iter()
            .filter_map(|u| match u {
                Wire::Header(h) => Some(*h),
                _ => None,
            })
            .collect();
    assert_eq!(headers, vec![SASL_HEADER, AMQP_HEADER]);
}

fn assert_sasl_failed(p: &Pair) {
    assert_eq!(outcome_code(p), Some(SaslCode::Auth));
    assert_eq!(
        transport_errors(&p.c.events),
        vec![condition::UNAUTHORIZED_ACCESS]
    );
    assert_eq!(
        transport_errors(&p.s.events),
        vec![condition::UNAUTHORIZED_ACCESS]
    );
    assert!(p.c.conn.is_done() && p.s.conn.is_done());
    // §5.3.2: no AMQP after a failed outcome.
    assert!(p.c.sent.perfs().next().is_none());
    assert!(p.s.sent.perfs().next().is_none());
}

fn plain(user: &str, pass: &str) -> SaslConfig {
    SaslConfig {
        mechanisms: vec![Mechanism::Plain],
        username: Some(user.into()),
        password: Some(pass.into()),
        allow_insecure_plain: true,
        ..SaslConfig::default()
    }
}

fn plain_server(users: &[(&str, &str)]) -> SaslConfig {
    SaslConfig {
        mechanisms: vec![Mechanism::Plain],
        allow_insecure_plain: true,
        authenticator: Authenticator::Credentials(
            users
                .iter()
                .map(|(u, p)| (u.to_string(), p.to_string()))
                .collect(),
        ),
        ..SaslConfig::default()
    }
}

#[test]
fn sasl_anonymous_succeeds() {
    let p = sasl_pair(SaslConfig::default(), SaslConfig::default(), false);
    let mechs = sasl_frames(&p.s.sent.units);
    let SaslFrame::Mechanisms(m) = &mechs[0] else {
        panic!("first SASL frame is {:?}", mechs[0]);
    };
    // PLAIN is not offered over cleartext.
    assert_eq!(m.sasl_server_mechanisms.0, vec![Symbol::from("ANONYMOUS")]);
    let init = init_of(&p);
    assert_eq!(init.mechanism.as_str(), "ANONYMOUS");
    assert_eq!(outcome_code(&p), Some(SaslCode::Ok));
    assert_eq!(p.s.conn.sasl_mechanism(), Some(Mechanism::Anonymous));
    assert_opened(&p);
}

#[test]
fn sasl_anonymous_refused_by_application() {
    let server = SaslConfig {
        mechanisms: vec![Mechanism::Anonymous],
        authenticator: Authenticator::Application,
        // Beside an authenticator ANONYMOUS is only offered when allowed.
        allow_anonymous: true,
        ..SaslConfig::default()
    };
    let mut p = Pair::new(
        client_config(),
        Config {
            sasl: server,
            ..server_config()
        },
    );
    p.c.conn.open();
    p.pump();
    assert!(p.s.events.contains(&Event::SaslAuthenticate));
    let req = p.s.conn.sasl_request().unwrap().clone();
    assert_eq!(req.mechanism, Mechanism::Anonymous);
    assert_eq!(req.initial_response, b"anonymous");
    p.s.conn.sasl_complete(false);
    p.pump();
    assert_sasl_failed(&p);
}

#[test]
fn sasl_plain_succeeds() {
    let p = sasl_pair(
        plain("alice", "secret"),
        plain_server(&[("alice", "secret")]),
        false,
    );
    let init = init_of(&p);
    assert_eq!(init.mechanism.as_str(), "PLAIN");
    // RFC 4616: authzid NUL authcid NUL password, always in sasl-init.
    assert_eq!(init.initial_response.unwrap().0, b"\0alice\0secret");
    assert_eq!(p.s.conn.sasl_user(), Some("alice"));
    assert_opened(&p);
}

#[test]
fn sasl_plain_wrong_password_fails() {
    let p = sasl_pair(
        plain("alice", "guess"),
        plain_server(&[("alice", "secret")]),
        false,
    );
    assert_sasl_failed(&p);
}

#[test]
fn sasl_plain_refused_by_client_over_cleartext() {
    // The server offers PLAIN (it allows it), the client will not send a
    // password in clear and has nothing else it may use.
    let client = SaslConfig {
        allow_insecure_plain: false,
        ..plain("alice", "secret")
    };
    let p = sasl_pair(client, plain_server(&[("alice", "secret")]), false);
    let errs = p.c.events.iter().find_map(|e| match e {
        Event::TransportError(e) => Some(e.clone()),
        _ => None,
    });
    let err = errs.expect("client reports the refusal");
    assert_eq!(err.condition.as_str(), condition::UNAUTHORIZED_ACCESS);
    assert!(err.description.unwrap().contains("unencrypted"));
    assert!(sasl_frames(&p.c.sent.units).is_empty(), "no sasl-init sent");
    assert!(p.c.conn.is_done());
}

#[test]
fn sasl_plain_allowed_when_encrypted() {
    let client = SaslConfig {
        allow_insecure_plain: false,
        ..plain("bob", "pw")
    };
    let server = SaslConfig {
        allow_insecure_plain: false,
        ..plain_server(&[("bob", "pw")])
    };
    let p = sasl_pair(client, server, true);
    assert_eq!(init_of(&p).mechanism.as_str(), "PLAIN");
    assert_opened(&p);
}

#[test]
fn sasl_external_succeeds_and_is_preferred() {
    // The client has a certificate and a password; the server's transport
    // verified the certificate (EXTERNAL is offered only then).
    let all = vec![Mechanism::Anonymous, Mechanism::Plain, Mechanism::External];
    let client = SaslConfig {
        mechanisms: all.clone(),
        username: Some("u".into()),
        password: Some("p".into()),
        external: true,
        ..SaslConfig::default()
    };
    let server = SaslConfig {
        mechanisms: all,
        ..plain_server(&[("u", "p")])
    };
    let mut p = Pair::new(
        Config {
            sasl: client,
            encrypted: true,
            ..client_config()
        },
        Config {
            sasl: server,
            encrypted: true,
            ..server_config()
        },
    );
    p.s.conn.set_external_identity(Some("CN=u".into()));
    p.c.conn.open();
    p.pump();
    let init = init_of(&p);
    assert_eq!(init.mechanism.as_str(), "EXTERNAL");
    assert_eq!(init.initial_response.unwrap().0, b"");
    assert_eq!(p.s.conn.sasl_user(), Some("CN=u"));
    assert_opened(&p);
}

#[test]
fn sasl_external_refused_by_application() {
    let server = SaslConfig {
        mechanisms: vec![Mechanism::External],
        authenticator: Authenticator::Application,
        ..SaslConfig::default()
    };
    let client = SaslConfig {
        mechanisms: vec![Mechanism::External],
        external: true,
        ..SaslConfig::default()
    };
    let mut p = Pair::new(
        Config {
            sasl: client,
            encrypted: true,
            hostname: Some("vhost".into()),
            ..client_config()
        },
        Config {
            sasl: server,
            encrypted: true,
            ..server_config()
        },
    );
    p.s.conn.set_external_identity(Some("CN=client".into()));
    p.c.conn.open();
    p.pump();
    let req = p.s.conn.sasl_request().unwrap();
    assert_eq!(req.mechanism, Mechanism::External);
    assert_eq!(req.identity.as_deref(), Some("CN=client"));
    assert_eq!(req.hostname.as_deref(), Some("vhost"));
    p.s.conn.sasl_complete(false);
    p.pump();
    assert_sasl_failed(&p);
}

#[test]
fn sasl_no_common_mechanism_fails_on_client() {
    let client = SaslConfig {
        mechanisms: vec![Mechanism::Anonymous],
        ..SaslConfig::default()
    };
    let p = sasl_pair(client, plain_server(&[("a", "b")]), false);
    assert_eq!(
        transport_errors(&p.c.events),
        vec![condition::UNAUTHORIZED_ACCESS]
    );
    assert!(p.c.conn.is_done());
}

#[test]
fn sasl_disabled_on_both_sides_uses_the_amqp_header() {
    let off = SaslConfig {
        enabled: false,
        ..SaslConfig::default()
    };
    let p = sasl_pair(off.clone(), off, false);
    assert_eq!(p.c.sent.units[0], Wire::Header(AMQP_HEADER));
    assert_eq!(p.s.sent.units[0], Wire::Header(AMQP_HEADER));
    assert_eq!(p.c.conn.remote_state(), EndpointState::Active);
}

#[test]
fn server_requiring_sasl_answers_its_header_and_closes() {
    let client = SaslConfig {
        enabled: false,
        ..SaslConfig::default()
    };
    let server = SaslConfig {
        allow_skip: false,
        ..SaslConfig::default()
    };
    let p = sasl_pair(client, server, false);
    // §2.2: the server answers with the header it supports, then closes.
    assert_eq!(p.s.sent.units, vec![Wire::Header(SASL_HEADER)]);
    assert_eq!(
        transport_errors(&p.s.events),
        vec![condition::NOT_IMPLEMENTED]
    );
    assert_eq!(
        transport_errors(&p.c.events),
        vec![condition::NOT_IMPLEMENTED]
    );
    assert!(p.c.conn.is_done() && p.s.conn.is_done());
}

#[test]
fn client_skipping_sasl_is_let_in_when_allowed() {
    let client = SaslConfig {
        enabled: false,
        ..SaslConfig::default()
    };
    let p = sasl_pair(client, SaslConfig::default(), false);
    assert_eq!(p.s.sent.units[0], Wire::Header(AMQP_HEADER));
    assert_eq!(p.s.conn.remote_state(), EndpointState::Active);
}

// ---- open ------------------------------------------------------------------

#[test]
fn open_negotiates_limits_properties_and_capabilities() {
    let mut props = Map::default();
    props.0.push((
        Value::Symbol("product".into()),
        Value::String("muon-test".into()),
    ));
    let client = Config {
        max_frame_size: 4096,
        channel_max: 7,
        idle_timeout: Some(Duration::from_secs(10)),
        hostname: Some("example.org".into()),
        properties: Some(props.clone()),
        offered_capabilities: Some(Symbols(vec![Symbol::from("ANONYMOUS-RELAY")])),
        desired_capabilities: Some(Symbols(vec![Symbol::from("DELAYED_DELIVERY")])),
        ..client_config()
    };
    let server = Config {
        max_frame_size: 100, // below the minimum: clamped to 512
        channel_max: 3,
        ..server_config()
    };
    let mut p = Pair::new(client, server);
    p.connect();
    let o = p.s.conn.remote_open().unwrap();
    assert_eq!(o.container_id, "client");
    assert_eq!(o.hostname.as_deref(), Some("example.org"));
    assert_eq!(o.max_frame_size, 4096);
    assert_eq!(o.channel_max, 7);
    // §2.4.5: half of what we tolerate is advertised.
    assert_eq!(o.idle_time_out, Some(5000));
    assert_eq!(o.properties.as_ref(), Some(&props));
    assert!(
        o.offered_capabilities
            .as_ref()
            .unwrap()
            .contains("ANONYMOUS-RELAY")
    );
    assert!(
        o.desired_capabilities
            .as_ref()
            .unwrap()
            .contains("DELAYED_DELIVERY")
    );
    let o = p.c.conn.remote_open().unwrap();
    assert_eq!(o.container_id, "server");
    assert_eq!(o.max_frame_size, 512);
    assert_eq!(o.idle_time_out, None);
    assert_eq!(p.c.conn.remote_max_frame_size(), 512);
    assert_eq!(p.s.conn.remote_max_frame_size(), 4096);
    assert_eq!(p.c.conn.remote_channel_max(), 3);
    // Every frame of the open exchange is on channel 0 and fits 512 bytes.
    for side in [&p.c, &p.s] {
        for u in &side.sent.units {
            if let Wire::Frame { channel, size, .. } = u {
                assert_eq!(*channel, 0);
                assert!(*size <= 512);
            }
        }
    }
}

#[test]
fn pipelined_begin_and_attach_go_before_the_peer_open_on_channel_zero() {
    // Without SASL the client may pipeline open, begin and attach (§2.4.2).
    let mut p = Pair::new(
        Config {
            sasl: SaslConfig {
                enabled: false,
                ..SaslConfig::default()
            },
            ..client_config()
        },
        server_config(),
    );
    p.s.auto.credit = 1;
    p.c.conn.open();
    let s1 = p.c.conn.session_new().unwrap();
    p.c.conn.session_open(s1).unwrap();
    let s2 = p.c.conn.session_new().unwrap();
    p.c.conn.session_open(s2).unwrap();
    let l =
        p.c.conn
            .link_new(s1, LinkRole::Sender, sender_options("q"))
            .unwrap();
    p.c.conn.link_open(l).unwrap();
    // Before the server says anything: only what channel 0 allows (§2.4.1).
    p.s.hold = true;
    p.pump();
    let perfs: Vec<_> = p.c.sent.perfs().map(|x| x.name()).collect();
    assert_eq!(perfs, vec!["open", "begin", "attach"]);
    p.s.hold = false;
    p.pump();
    let begins: Vec<u16> =
        p.c.sent
            .units
            .iter()
            .filter_map(|u| match u {
                Wire::Frame { channel, perf, .. } if matches!(**perf, Performative::Begin(_)) => {
                    Some(*channel)
                }
                _ => None,
            })
            .collect();
    assert_eq!(begins, vec![0, 1]);
    assert_eq!(p.c.conn.session_remote_state(s2), EndpointState::Active);
    assert_eq!(p.c.conn.link_credit(l), 1);
}

#[test]
fn channel_max_limits_concurrent_sessions() {
    let mut p = Pair::new(
        client_config(),
        Config {
            channel_max: 1,
            ..server_config()
        },
    );
    p.connect();
    p.session();
    p.session();
    let s3 = p.c.conn.session_new().unwrap();
    p.c.conn.session_open(s3).unwrap();
    assert_eq!(
        p.c.conn
            .session_local_condition(s3)
            .unwrap()
            .condition
            .as_str(),
        condition::RESOURCE_LIMIT_EXCEEDED
    );
    p.pump();
    assert!(p.c.events.contains(&Event::SessionFinal(s3)));
    assert!(!p.c.conn.has_events());
}

// ---- frames and session windows ------------------------------------------------

fn transfers(units: &[Wire]) -> Vec<(&muon::codec::transport::Transfer, usize, usize)> {
    units
        .iter()
        .filter_map(|u| match u {
            Wire::Frame {
                perf,
                size,
                payload,
                ..
            } => match &**perf {
                Performative::Transfer(t) => Some((t, *size, payload.len())),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn deliveries(events: &[Event]) -> Vec<muon::engine::DeliveryId> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Delivery(d) => Some(*d),
            _ => None,
        })
        .collect()
}

#[test]
fn ten_megabyte_message_is_split_at_a_512_byte_max_frame_size() {
    let mut p = Pair::new(
        client_config(),
        Config {
            max_frame_size: 512,
            ..server_config()
        },
    );
    p.s.auto.credit = 1;
    p.connect();
    let (cs, _) = p.session();
    let (cl, _) = p.link(cs, LinkRole::Sender, sender_options("big"));
    let body: Vec<u8> = (0..10 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    p.c.conn.send(cl, Some(b"big-1"), &body[..], false).unwrap();
    p.pump();
    let ts = transfers(&p.c.sent.units);
    // Every frame within the negotiated size; the payload is all there.
    assert!(ts.iter().all(|(_, size, _)| *size <= 512));
    assert_eq!(ts.iter().map(|(_, _, n)| n).sum::<usize>(), body.len());
    assert!(ts.len() > body.len() / 512, "{} frames", ts.len());
    // §2.7.5: ids and tag on the first frame, more on all but the last.
    let (first, _, _) = ts[0];
    assert_eq!(first.delivery_id, Some(0));
    assert_eq!(first.delivery_tag.unwrap().as_bytes(), b"big-1");
    for (t, _, _) in &ts[1..] {
        assert_eq!(t.delivery_id, None);
        assert_eq!(t.delivery_tag, None);
    }
    for (t, _, _) in &ts[..ts.len() - 1] {
        assert!(t.more);
    }
    assert!(!ts[ts.len() - 1].0.more);
    // The default session window (4096 frames) was re-opened on the way.
    let windows =
        p.s.sent
            .perfs()
            .filter(|x| matches!(x, Performative::Flow(f) if f.handle.is_none()))
            .count();
    assert!(windows >= ts.len() / 4096, "{windows} window flows");
    let ds = deliveries(&p.s.events);
    assert_eq!(ds.len(), 1);
    assert_eq!(p.s.conn.delivery_payload(ds[0]).unwrap(), &body[..]);
    assert_eq!(p.s.conn.delivery_tag(ds[0]).unwrap().as_bytes(), b"big-1");
}

#[test]
fn multi_frame_message_reassembles_when_fed_in_small_chunks() {
    let mut p = Pair::new(
        client_config(),
        Config {
            max_frame_size: 512,
            ..server_config()
        },
    );
    p.chunk = 7;
    p.s.auto.credit = 10;
    p.connect();
    let (cs, _) = p.session();
    let (cl, _) = p.link(cs, LinkRole::Sender, sender_options("q"));
    let m = Message {
        body: Body::Value(Value::String("x".repeat(5000).into())),
        ..Message::default()
    };
    p.c.conn.send(cl, None, &m, true).unwrap();
    p.pump();
    assert!(transfers(&p.c.sent.units).len() >= 10);
    let ds = deliveries(&p.s.events);
    let got = Message::decode(p.s.conn.delivery_payload(ds[0]).unwrap()).unwrap();
    assert_eq!(got, m);
    // Pre-settled: the receiver says nothing back.
    assert!(
        !p.s.sent
            .perfs()
            .any(|x| matches!(x, Performative::Disposition(_)))
    );
}

#[test]
fn sender_stalls_at_the_peer_session_window_and_resumes_on_flow() {
    let mut p = Pair::new(
        client_config(),
        Config {
            session_window: 4,
            ..server_config()
        },
    );
    p.s.auto.credit = 10;
    p.connect();
    let (cs, _) = p.session();
    let (cl, _) = p.link(cs, LinkRole::Sender, sender_options("q"));
    assert_eq!(p.c.conn.session_remote_incoming_window(cs), 4);
    p.c.sent.take();
    p.s.sent.take();
    // The receiver's answers are held back: the sender runs into the window.
    p.s.hold = true;
    for i in 0..10u8 {
        p.c.conn.send(cl, None, &[i][..], false).unwrap();
    }
    assert_eq!(p.c.conn.session_remote_incoming_window(cs), 0);
    assert_eq!(p.c.conn.session_pending_transfers(cs), 6);
    assert_eq!(p.c.conn.link_credit(cl), 0, "credit is taken at send");
    p.pump();
    assert_eq!(transfers(&p.c.sent.units).len(), 4, "stalled at the window");
    assert_eq!(deliveries(&p.s.events).len(), 4);
    // The receiver re-opened its window (at half) with a session flow.
    p.s.hold = false;
    p.pump();
    let flows: Vec<_> =
        p.s.sent
            .perfs()
            .filter_map(|x| match x {
                Performative::Flow(f) if f.handle.is_none() => Some(f.clone()),
                _ => None,
            })
            .collect();
    assert!(!flows.is_empty());
    assert!(flows.iter().all(|f| f.incoming_window == 4));
    // Flows are written when output is taken: after all four transfers.
    assert_eq!(flows[0].next_incoming_id, Some(4));
    assert_eq!(transfers(&p.c.sent.units).len(), 10);
    assert_eq!(p.c.conn.session_pending_transfers(cs), 0);
    let ds = deliveries(&p.s.events);
    let bodies: Vec<u8> = ds
        .iter()
        .map(|d| p.s.conn.delivery_payload(*d).unwrap()[0])
        .collect();
    assert_eq!(bodies, (0..10).collect::<Vec<u8>>());
}

#[test]
fn the_incoming_window_is_reopened_at_half_not_when_empty() {
    let mut p = Pair::new(
        client_config(),
        Config {
            session_window: 8,
            ..server_config()
        },
    );
    p.s.auto.credit = 100;
    p.connect();
    let (cs, _) = p.session();
    let (cl, _) = p.link(cs, LinkRole::Sender, sender_options("q"));
    p.s.sent.take();
    // One message at a time, each answered before the next: the window
    // flow goes out after every fourth transfer (half of 8), so the
    // sender's view of the window never falls below half.
    let mut reopened_after = Vec::new();
    let mut lowest = u32::MAX;
    for i in 1..=20u8 {
        p.c.conn.send(cl, None, &[i][..], false).unwrap();
        p.pump();
        lowest = lowest.min(p.c.conn.session_remote_incoming_window(cs));
        let reopened = p.s.sent.take().iter().any(|u| {
            matches!(u.perf(), Some(Performative::Flow(f)) if f.handle.is_none() && f.incoming_window == 8)
        });
        if reopened {
            reopened_after.push(i);
        }
    }
    assert_eq!(reopened_after, vec![4, 8, 12, 16, 20]);
    assert_eq!(lowest, 5, "the sender saw the window at {lowest}");
    assert_eq!(deliveries(&p.s.events).len(), 20);
}

// ---- credit, drain, echo ---------------------------------------------------------

fn last_link_flow(units: &[Wire]) -> muon::codec::transport::Flow {
    units
        .iter()
        .rev()
        .find_map(|u| match u.perf() {
            Some(Performative::Flow(f)) if f.handle.is_some() => Some(f.clone()),
            _ => None,
        })
        .expect("a link flow")
}

#[test]
fn credit_bounds_sending_and_is_granted_as_an_absolute_limit() {
    let (mut p, cl, sl) = Pair::with_sender(3);
    let f = last_link_flow(&p.s.sent.units);
    assert_eq!((f.delivery_count, f.link_credit), (Some(0), Some(3)));
    assert_eq!(p.c.conn.link_credit(cl), 3);
    assert!(p.c.events.contains(&Event::LinkFlow(cl)));
    for _ in 0..3 {
        p.c.conn.send(cl, None, &b"m"[..], true).unwrap();
    }
    assert_eq!(
        p.c.conn.send(cl, None, &b"m"[..], true),
        Err(Error::NoCredit)
    );
    p.pump();
    assert_eq!(p.s.conn.link_credit(sl), 0);
    assert_eq!(p.s.conn.link_delivery_count(sl), 3);
    // §2.6.7: the grant is delivery-count + credit, not an increment.
    p.s.conn.link_flow(sl, 5, false).unwrap();
    p.pump();
    let f = last_link_flow(&p.s.sent.units);
    assert_eq!((f.delivery_count, f.link_credit), (Some(3), Some(5)));
    assert_eq!(p.c.conn.link_credit(cl), 5);
    assert_eq!(p.c.conn.link_delivery_count(cl), 3);
}

#[test]
fn credit_cut_still_accepts_transfers_already_in_flight() {
    let (mut p, cl, sl) = Pair::with_sender(5);
    p.c.hold = true;
    for _ in 0..5 {
        p.c.conn.send(cl, None, &b"m"[..], false).unwrap();
    }
    p.s.conn.link_flow(sl, 0, false).unwrap();
    p.pump();
    p.c.hold = false;
    p.pump();
    assert_eq!(deliveries(&p.s.events).len(), 5);
    assert!(transport_errors(&p.s.events).is_empty());
    assert_eq!(p.c.conn.link_credit(cl), 0);
}

#[test]
fn drain_uses_up_the_credit_and_the_sender_reports_it() {
    let (mut p, cl, sl) = Pair::with_sender(0);
    p.s.conn.link_flow(sl, 10, true).unwrap();
    p.pump();
    assert!(p.c.conn.link_drain(cl));
    assert_eq!(p.c.conn.link_credit(cl), 10);
    for _ in 0..3 {
        p.c.conn.send(cl, None, &b"m"[..], true).unwrap();
    }
    p.c.conn.link_set_available(cl, 0).unwrap();
    assert_eq!(p.c.conn.link_drained(cl).unwrap(), 7);
    p.s.events.clear();
    p.pump();
    // §2.6.7: the drained flow: count advanced by the unused credit.
    let f = last_link_flow(&p.c.sent.units);
    assert_eq!(f.delivery_count, Some(10));
    assert_eq!(f.link_credit, Some(0));
    assert!(f.drain);
    assert_eq!(f.available, Some(0));
    assert_eq!(p.s.conn.link_credit(sl), 0);
    assert_eq!(p.s.conn.link_delivery_count(sl), 10);
    assert!(!p.s.conn.link_drain(sl), "drain finished");
    assert!(p.s.events.contains(&Event::LinkFlow(sl)));
    // The next grant says drain=false and counts from 10.
    p.s.conn.link_flow(sl, 2, false).unwrap();
    p.pump();
    let f = last_link_flow(&p.s.sent.units);
    assert_eq!(
        (f.delivery_count, f.link_credit, f.drain),
        (Some(10), Some(2), false)
    );
    assert_eq!(p.c.conn.link_credit(cl), 2);
}

#[test]
fn echo_is_answered_with_the_peer_link_state() {
    let (mut p, cl, sl) = Pair::with_sender(4);
    p.c.conn.link_set_available(cl, 42).unwrap();
    p.s.conn.link_request_echo(sl).unwrap();
    p.pump();
    let asked = last_link_flow(&p.s.sent.units);
    assert!(asked.echo);
    let answer = last_link_flow(&p.c.sent.units);
    assert!(!answer.echo, "an answer does not ask back");
    assert_eq!(answer.handle, Some(0));
    assert_eq!(answer.delivery_count, Some(0));
    assert_eq!(answer.link_credit, Some(4));
    assert_eq!(answer.available, Some(42));
    assert_eq!(p.s.conn.link_available(sl), 42);
    // A session-only echo is answered with a session flow.
    assert!(answer.next_incoming_id.is_some());
}

#[test]
fn receiver_flow_before_the_sender_attach_omits_delivery_count() {
    let mut p = Pair::default_pair();
    p.connect();
    let (cs, _) = p.session();
    let cl =
        p.c.conn
            .link_new(cs, LinkRole::Receiver, receiver_options("q"))
            .unwrap();
    p.c.conn.link_open(cl).unwrap();
    p.c.conn.link_flow(cl, 7, false).unwrap();
    p.s.hold = true;
    p.pump();
    let f = last_link_flow(&p.c.sent.units);
    assert_eq!(f.delivery_count, None);
    assert_eq!(f.link_credit, Some(7));
    p.s.hold = false;
    p.pump();
    let sl =
        p.s.events
            .iter()
            .find_map(|e| match e {
                Event::LinkRemoteOpen(l) => Some(*l),
                _ => None,
            })
            .unwrap();
    // The sender reads an absent count as its initial one: full credit.
    assert_eq!(p.s.conn.link_credit(sl), 7);
    let a = p.c.conn.link_remote_attach(cl).unwrap();
    assert_eq!(a.initial_delivery_count, Some(0));
}

// ---- settlement ------------------------------------------------------------

fn dispositions(units: &[Wire]) -> Vec<muon::codec::transport::Disposition> {
    units
        .iter()
        .filter_map(|u| match u.perf() {
            Some(Performative::Disposition(d)) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

/// A pair whose client sender and server receiver use the given modes;
/// nothing is settled automatically.
fn modes_pair(
    snd: SenderSettleMode,
    rcv: ReceiverSettleMode,
) -> (Pair, muon::engine::LinkId, muon::engine::LinkId) {
    let mut p = Pair::default_pair();
    p.s.auto.credit = 10;
    p.c.auto.settle = false;
    p.connect();
    let (cs, _) = p.session();
    let opts = LinkOptions {
        snd_settle_mode: Some(snd),
        rcv_settle_mode: Some(rcv),
        ..sender_options("q")
    };
    let (cl, sl) = p.link(cs, LinkRole::Sender, opts);
    // The receiver adopted the asked-for modes; both sides agree.
    assert_eq!(p.s.conn.link_snd_settle_mode(sl), snd);
    assert_eq!(p.c.conn.link_rcv_settle_mode(cl), rcv);
    p.c.sent.take();
    p.s.sent.take();
    (p, cl, sl)
}

fn transfer_settled(p: &Pair) -> Vec<Option<bool>> {
    transfers(&p.c.sent.units)
        .iter()
        .map(|(t, _, _)| t.settled)
        .collect()
}

#[test]
fn settled_sender_mode_presettles_and_the_receiver_says_nothing() {
    for rcv in [ReceiverSettleMode::First, ReceiverSettleMode::Second] {
        let (mut p, cl, _) = modes_pair(SenderSettleMode::Settled, rcv);
        // The link mode wins over the per-send flag.
        let d = p.c.conn.send(cl, None, &b"x"[..], false).unwrap();
        assert!(!p.c.conn.delivery_exists(d));
        p.pump();
        assert_eq!(transfer_settled(&p), vec![Some(true)]);
        let ds = deliveries(&p.s.events);
        assert!(p.s.conn.delivery_remote_settled(ds[0]));
        p.s.conn
            .disposition(ds[0], Some(DeliveryState::Accepted), true)
            .unwrap();
        p.pump();
        assert!(dispositions(&p.s.sent.units).is_empty());
        assert_eq!(p.s.conn.delivery_count(), 0);
        assert_eq!(p.c.conn.delivery_count(), 0);
    }
}

#[test]
fn unsettled_first_is_at_least_once() {
    let (mut p, cl, _) = modes_pair(SenderSettleMode::Unsettled, ReceiverSettleMode::First);
    let d = p.c.conn.send(cl, None, &b"x"[..], true).unwrap();
    p.pump();
    assert_eq!(transfer_settled(&p), vec![Some(false)]);
    let rd = deliveries(&p.s.events)[0];
    assert_eq!(
        p.s.conn.delivery_rcv_settle_mode(rd),
        ReceiverSettleMode::First
    );
    p.s.conn
        .disposition(rd, Some(DeliveryState::Accepted), true)
        .unwrap();
    assert!(!p.s.conn.delivery_exists(rd));
    p.pump();
    let disp = dispositions(&p.s.sent.units);
    assert_eq!(disp.len(), 1);
    assert_eq!(disp[0].role, LinkRole::Receiver);
    assert!(disp[0].settled);
    assert_eq!(disp[0].state, Some(DeliveryState::Accepted));
    assert!(p.c.events.contains(&Event::DeliveryUpdated(d)));
    assert!(p.c.conn.delivery_remote_settled(d));
    p.c.conn.settle(d).unwrap();
    p.pump();
    // Settling after the peer did sends nothing.
    assert!(dispositions(&p.c.sent.units).is_empty());
    assert_eq!(p.c.conn.delivery_count(), 0);
}

#[test]
fn unsettled_second_is_exactly_once_with_the_sender_settling_first() {
    let (mut p, cl, _) = modes_pair(SenderSettleMode::Unsettled, ReceiverSettleMode::Second);
    let d = p.c.conn.send(cl, None, &b"x"[..], false).unwrap();
    p.pump();
    let rd = deliveries(&p.s.events)[0];
    assert_eq!(
        p.s.conn.delivery_rcv_settle_mode(rd),
        ReceiverSettleMode::Second
    );
    // The receiver settles: in mode second the outcome goes out unsettled.
    p.s.conn
        .disposition(rd, Some(DeliveryState::Accepted), true)
        .unwrap();
    assert!(p.s.conn.delivery_exists(rd));
    p.pump();
    let disp = dispositions(&p.s.sent.units);
    assert_eq!(disp.len(), 1);
    assert!(!disp[0].settled);
    assert_eq!(disp[0].state, Some(DeliveryState::Accepted));
    assert!(!p.c.conn.delivery_remote_settled(d));
    assert_eq!(
        p.c.conn.delivery_remote_state(d),
        Some(&DeliveryState::Accepted)
    );
    // The sender settles; then the receiver settles and forgets.
    p.c.conn.settle(d).unwrap();
    p.s.events.clear();
    p.pump();
    let disp = dispositions(&p.c.sent.units);
    assert_eq!(disp.len(), 1);
    assert_eq!(disp[0].role, LinkRole::Sender);
    assert!(disp[0].settled);
    assert!(p.s.events.contains(&Event::DeliveryUpdated(rd)));
    assert!(!p.s.conn.delivery_exists(rd), "released after its update");
    assert_eq!(p.s.sent.units.len(), 1, "the receiver sent nothing more");
    assert_eq!(p.c.conn.delivery_count() + p.s.conn.delivery_count(), 0);
}

#[test]
fn mixed_mode_settles_per_delivery() {
    for rcv in [ReceiverSettleMode::First, ReceiverSettleMode::Second] {
        let (mut p, cl, _) = modes_pair(SenderSettleMode::Mixed, rcv);
        p.s.auto.accept = true;
        p.c.auto.settle = true;
        let a = p.c.conn.send(cl, None, &b"a"[..], true).unwrap();
        let b = p.c.conn.send(cl, None, &b"b"[..], false).unwrap();
        assert!(!p.c.conn.delivery_exists(a));
        assert!(p.c.conn.delivery_exists(b));
        p.pump();
        assert_eq!(transfer_settled(&p), vec![Some(true), Some(false)]);
        // Only the unsettled one is answered.
        let disp = dispositions(&p.s.sent.units);
        assert_eq!(disp.len(), 1);
        assert_eq!(disp[0].first, 1);
        assert_eq!(disp[0].settled, rcv == ReceiverSettleMode::First);
        assert_eq!(p.c.conn.delivery_count() + p.s.conn.delivery_count(), 0);
    }
}

fn outcome_round_trip(state: DeliveryState) {
    let (mut p, cl, _) = modes_pair(SenderSettleMode::Unsettled, ReceiverSettleMode::First);
    let d = p.c.conn.send(cl, None, &b"x"[..], false).unwrap();
    p.pump();
    let rd = deliveries(&p.s.events)[0];
    p.s.conn.disposition(rd, Some(state.clone()), true).unwrap();
    p.pump();
    assert_eq!(dispositions(&p.s.sent.units)[0].state, Some(state.clone()));
    assert_eq!(p.c.conn.delivery_remote_state(d), Some(&state));
    assert!(p.c.conn.delivery_remote_settled(d));
}

#[test]
fn outcome_accepted() {
    outcome_round_trip(DeliveryState::Accepted);
}

#[test]
fn outcome_rejected_with_error() {
    outcome_round_trip(DeliveryState::Rejected(Rejected {
        error: Some(AmqpError::new(condition::DECODE_ERROR, "bad body")),
    }));
}

#[test]
fn outcome_released() {
    outcome_round_trip(DeliveryState::Released);
}

#[test]
fn outcome_modified() {
    let mut ann = Map::default();
    ann.0
        .push((Value::Symbol("x-opt-retry".into()), Value::Int(3)));
    outcome_round_trip(DeliveryState::Modified(Modified {
        delivery_failed: Some(true),
        undeliverable_here: Some(true),
        message_annotations: Some(ann),
    }));
}

#[test]
fn contiguous_dispositions_are_coalesced_into_ranges() {
    let (mut p, cl, rl) = modes_pair(SenderSettleMode::Unsettled, ReceiverSettleMode::First);
    p.s.conn.link_flow(rl, 1000, false).unwrap();
    p.pump();
    let mut sent = Vec::new();
    for i in 0..1000u32 {
        sent.push(
            p.c.conn
                .send(cl, None, &i.to_be_bytes()[..], false)
                .unwrap(),
        );
    }
    p.pump();
    let ds = deliveries(&p.s.events);
    assert_eq!(ds.len(), 1000);
    // Accept the first 600, release the rest: two ranges on the wire.
    for (i, d) in ds.iter().enumerate() {
        let state = if i < 600 {
            DeliveryState::Accepted
        } else {
            DeliveryState::Released
        };
        p.s.conn.disposition(*d, Some(state), true).unwrap();
    }
    p.c.auto.settle = true;
    p.pump();
    let disp = dispositions(&p.s.sent.units);
    assert_eq!(disp.len(), 2, "{disp:?}");
    assert_eq!((disp[0].first, disp[0].last), (0, Some(599)));
    assert_eq!(disp[0].state, Some(DeliveryState::Accepted));
    assert_eq!((disp[1].first, disp[1].last), (600, Some(999)));
    assert_eq!(disp[1].state, Some(DeliveryState::Released));
    // The sender applied both ranges and settled everything.
    let updated =
        p.c.events
            .iter()
            .filter(|e| matches!(e, Event::DeliveryUpdated(_)))
            .count();
    assert_eq!(updated, 1000);
    assert!(sent.iter().all(|d| !p.c.conn.delivery_exists(*d)));
    assert_eq!(p.c.conn.delivery_count(), 0);
}

// ---- heartbeats and idle timeout ---------------------------------------------

#[test]
fn heartbeat_is_an_empty_frame_at_half_the_peer_idle_timeout() {
    let mut p = Pair::new(
        Config {
            idle_timeout: Some(Duration::from_secs(10)),
            ..client_config()
        },
        server_config(),
    );
    p.connect();
    p.s.sent.take();
    // The client advertised 5000 ms; the server writes at least every 2500.
    let next = p.s.conn.tick(p.clock.now()).unwrap();
    assert_eq!(next, p.clock.at_ms(2500));
    p.clock.set_ms(2499);
    p.tick();
    assert!(p.s.sent.units.is_empty());
    p.clock.set_ms(2500);
    let out_before = p.s.conn.output_len();
    let next = p.s.conn.tick(p.clock.now()).unwrap();
    assert_eq!(p.s.conn.output_len() - out_before, 8);
    assert_eq!(p.s.conn.output(), &[0, 0, 0, 8, 2, 0, 0, 0]);
    assert_eq!(next, p.clock.at_ms(5000));
    p.pump();
    assert_eq!(p.s.sent.take(), vec![Wire::Empty(0)]);
    // Any frame counts: traffic at 4000 moves the next heartbeat to 6500.
    // (A command's output is stamped at the next tick, as a reactor ticks
    // after dispatching events.)
    p.clock.set_ms(4000);
    let s = p.s.conn.session_new().unwrap();
    p.s.conn.session_open(s).unwrap();
    p.s.conn.tick(p.clock.now());
    p.pump();
    assert_eq!(p.s.conn.tick(p.clock.now()), Some(p.clock.at_ms(6500)));
    // The client, which was heard from, stays open.
    assert_eq!(p.c.conn.remote_state(), EndpointState::Active);
}

#[test]
fn idle_timeout_closes_with_resource_limit_exceeded() {
    let mut p = Pair::new(
        client_config(),
        Config {
            idle_timeout: Some(Duration::from_millis(1000)),
            ..server_config()
        },
    );
    p.connect();
    assert_eq!(p.c.conn.remote_open().unwrap().idle_time_out, Some(500));
    // The client stays silent: it is never ticked, so it sends no heartbeat.
    p.clock.set_ms(999);
    assert_eq!(p.s.conn.tick(p.clock.now()), Some(p.clock.at_ms(1000)));
    p.clock.set_ms(1000);
    assert_eq!(p.s.conn.tick(p.clock.now()), None);
    p.pump();
    assert_eq!(
        close_condition(&p.s.sent.units).as_deref(),
        Some(condition::RESOURCE_LIMIT_EXCEEDED)
    );
    assert_eq!(
        transport_errors(&p.s.events),
        vec![condition::RESOURCE_LIMIT_EXCEEDED]
    );
    assert!(p.s.conn.is_done());
    assert_eq!(
        p.c.conn.remote_condition().unwrap().condition.as_str(),
        condition::RESOURCE_LIMIT_EXCEEDED
    );
    assert!(p.c.events.contains(&Event::ConnectionRemoteClose));
}

#[test]
fn heartbeats_keep_idle_peers_open() {
    let idle = Some(Duration::from_millis(1000));
    let mut p = Pair::new(
        Config {
            idle_timeout: idle,
            ..client_config()
        },
        Config {
            idle_timeout: idle,
            ..server_config()
        },
    );
    p.connect();
    // Drive the clock the way a reactor does: to the earliest deadline.
    let end = p.clock.at_ms(10_000);
    loop {
        let now = p.clock.now();
        let next = [p.c.conn.tick(now), p.s.conn.tick(now)]
            .into_iter()
            .flatten()
            .min()
            .unwrap();
        p.pump();
        if next > end {
            break;
        }
        p.clock.advance(next - now);
    }
    assert!(transport_errors(&p.c.events).is_empty());
    assert!(transport_errors(&p.s.events).is_empty());
    let beats =
        p.c.sent
            .units
            .iter()
            .filter(|u| **u == Wire::Empty(0))
            .count();
    // 10 s at one heartbeat per 250 ms (half of the 500 ms advertised).
    assert_eq!(beats, 40);
}

// ---- many sessions and links -----------------------------------------------------

#[test]
fn many_sessions_and_links_at_once() {
    let mut p = Pair::default_pair();
    p.s.auto.credit = 5;
    p.s.auto.accept = true;
    p.connect();
    let mut links = Vec::new();
    for _ in 0..20 {
        let s = p.c.conn.session_new().unwrap();
        p.c.conn.session_open(s).unwrap();
        for _ in 0..10 {
            let l =
                p.c.conn
                    .link_new(s, LinkRole::Sender, sender_options("q"))
                    .unwrap();
            p.c.conn.link_open(l).unwrap();
            links.push(l);
        }
    }
    p.pump();
    for (i, l) in links.iter().enumerate() {
        assert_eq!(p.c.conn.link_credit(*l), 5);
        p.c.conn
            .send(*l, None, &(i as u32).to_be_bytes()[..], false)
            .unwrap();
    }
    p.pump();
    let ds = deliveries(&p.s.events);
    assert_eq!(ds.len(), 200);
    assert_eq!(p.c.conn.delivery_count(), 0, "all accepted and settled");
    // Distinct channels 0..20, handles 0..10 on each.
    let mut begins = Vec::new();
    let mut handles = std::collections::BTreeSet::new();
    for u in &p.c.sent.units {
        if let Wire::Frame { channel, perf, .. } = u {
            match &**perf {
                Performative::Begin(_) => begins.push(*channel),
                Performative::Attach(a) => {
                    handles.insert((*channel, a.handle));
                }
                _ => {}
            }
        }
    }
    assert_eq!(begins, (0..20).collect::<Vec<u16>>());
    assert_eq!(handles.len(), 200);
    assert!(handles.iter().all(|(_, h)| *h < 10));
    // Close every link and session; each gets its final event.
    for l in &links {
        p.c.conn.link_close(*l, true, None).unwrap();
    }
    p.pump();
    let finals =
        p.c.events
            .iter()
            .filter(|e| matches!(e, Event::LinkFinal(_)))
            .count();
    assert_eq!(finals, 200);
    assert_eq!(p.c.conn.link_count(), 0);
    assert_eq!(p.s.conn.link_count(), 0);
}

#[test]
fn handle_max_limits_links_per_session() {
    let mut p = Pair::default_pair();
    p.s.auto.handshake = false;
    p.c.conn.open();
    p.pump();
    p.s.conn.open();
    let cs = p.c.conn.session_new().unwrap();
    p.c.conn.session_open(cs).unwrap();
    p.pump();
    let ss =
        p.s.take_events()
            .into_iter()
            .find_map(|e| match e {
                Event::SessionRemoteOpen(s) => Some(s),
                _ => None,
            })
            .unwrap();
    p.s.conn.session_set_handle_max(ss, 1).unwrap();
    p.s.conn.session_open(ss).unwrap();
    p.pump();
    let ls: Vec<_> = (0..3)
        .map(|_| {
            let l =
                p.c.conn
                    .link_new(cs, LinkRole::Sender, sender_options("q"))
                    .unwrap();
            p.c.conn.link_open(l).unwrap();
            l
        })
        .collect();
    // The third link has no handle within the peer's handle-max.
    assert_eq!(
        p.c.conn
            .link_local_condition(ls[2])
            .unwrap()
            .condition
            .as_str(),
        condition::RESOURCE_LIMIT_EXCEEDED
    );
    p.pump();
    assert!(p.c.events.contains(&Event::LinkFinal(ls[2])));
    let attaches: Vec<u32> =
        p.c.sent
            .perfs()
            .filter_map(|x| match x {
                Performative::Attach(a) => Some(a.handle),
                _ => None,
            })
            .collect();
    assert_eq!(attaches, vec![0, 1]);
}

// ---- errors, both ways -----------------------------------------------------------

fn err(cond: &str, text: &str) -> AmqpError {
    AmqpError::new(cond, text)
}

#[test]
fn connection_close_with_condition_client_to_server() {
    let mut p = Pair::default_pair();
    p.connect();
    p.c.conn
        .close(Some(err(condition::CONNECTION_FORCED, "bye")));
    p.pump();
    assert_eq!(
        close_condition(&p.c.sent.units).as_deref(),
        Some(condition::CONNECTION_FORCED)
    );
    let rc = p.s.conn.remote_condition().unwrap();
    assert_eq!(rc.description.as_deref(), Some("bye"));
    // The server answered with a plain close; both are done.
    assert_eq!(close_condition(&p.s.sent.units).as_deref(), Some(""));
    assert!(p.c.conn.is_done() && p.s.conn.is_done());
    assert!(p.c.events.contains(&Event::TransportClosed));
    assert!(p.s.events.contains(&Event::TransportClosed));
    assert!(transport_errors(&p.s.events).is_empty());
}

#[test]
fn connection_close_with_condition_server_to_client() {
    let mut p = Pair::default_pair();
    p.connect();
    let (cs, _) = p.session();
    let (cl, _) = p.link(cs, LinkRole::Sender, sender_options("q"));
    p.s.conn.close(Some(err(condition::REDIRECT, "elsewhere")));
    p.pump();
    assert_eq!(
        p.c.conn.remote_condition().unwrap().condition.as_str(),
        condition::REDIRECT
    );
    assert_eq!(
        p.s.conn.local_condition().unwrap().condition.as_str(),
        condition::REDIRECT
    );
    // Closing the connection ends the session and the link (final events).
    assert!(p.c.events.contains(&Event::LinkFinal(cl)));
    assert!(p.c.events.contains(&Event::SessionFinal(cs)));
    assert!(p.c.conn.is_done() && p.s.conn.is_done());
}

#[test]
fn session_end_with_condition_both_ways() {
    let mut p = Pair::default_pair();
    p.connect();
    let (cs, ss) = p.session();
    p.c.conn
        .session_close(cs, Some(err(condition::INTERNAL_ERROR, "client side")))
        .unwrap();
    // Read the condition before answering: the final event releases it.
    p.s.auto.handshake = false;
    p.pump();
    assert!(p.s.events.contains(&Event::SessionRemoteClose(ss)));
    assert_eq!(
        p.s.conn
            .session_remote_condition(ss)
            .unwrap()
            .condition
            .as_str(),
        condition::INTERNAL_ERROR
    );
    p.s.conn.session_close(ss, None).unwrap();
    p.s.auto.handshake = true;
    p.pump();
    assert!(p.c.events.contains(&Event::SessionFinal(cs)));
    assert!(p.s.events.contains(&Event::SessionFinal(ss)));
    let (cs, ss) = p.session();
    p.s.conn
        .session_close(ss, Some(err(condition::RESOURCE_DELETED, "server side")))
        .unwrap();
    p.c.auto.handshake = false;
    p.pump();
    assert!(p.c.events.contains(&Event::SessionRemoteClose(cs)));
    assert_eq!(
        p.c.conn
            .session_remote_condition(cs)
            .unwrap()
            .condition
            .as_str(),
        condition::RESOURCE_DELETED
    );
    let end =
        p.s.sent
            .perfs()
            .find_map(|x| match x {
                Performative::End(e) => e.error.clone(),
                _ => None,
            })
            .unwrap();
    assert_eq!(end.description.as_deref(), Some("server side"));
    p.c.conn.session_close(cs, None).unwrap();
    p.c.auto.handshake = true;
    p.pump();
    assert!(p.c.events.contains(&Event::SessionFinal(cs)));
    assert!(p.s.events.contains(&Event::SessionFinal(ss)));
    // The channel is free again for a new session.
    let (cs2, _) = p.session();
    assert_eq!(p.c.conn.session_remote_state(cs2), EndpointState::Active);
}

#[test]
fn link_detach_with_condition_both_ways() {
    let mut p = Pair::default_pair();
    p.connect();
    let (cs, _) = p.session();
    let (cl, sl) = p.link(cs, LinkRole::Sender, sender_options("q"));
    p.c.conn
        .link_close(cl, true, Some(err(condition::DETACH_FORCED, "client")))
        .unwrap();
    p.pump();
    assert!(p.s.events.contains(&Event::LinkRemoteClose(sl)));
    assert!(p.s.events.contains(&Event::LinkFinal(sl)));
    let detach =
        p.c.sent
            .perfs()
            .find_map(|x| match x {
                Performative::Detach(d) => Some(d.clone()),
                _ => None,
            })
            .unwrap();
    assert!(detach.closed);
    assert_eq!(
        detach.error.unwrap().condition.as_str(),
        condition::DETACH_FORCED
    );
    assert!(p.c.events.contains(&Event::LinkFinal(cl)));
    // The other way, and a suspend (closed=false) rather than a close.
    let (cl, sl) = p.link(cs, LinkRole::Receiver, receiver_options("q"));
    p.s.conn
        .link_close(sl, false, Some(err(condition::STOLEN, "server")))
        .unwrap();
    p.c.auto.handshake = false;
    p.pump();
    assert!(p.c.events.contains(&Event::LinkRemoteClose(cl)));
    assert!(!p.c.conn.link_remote_closed(cl));
    assert_eq!(
        p.c.conn
            .link_remote_condition(cl)
            .unwrap()
            .condition
            .as_str(),
        condition::STOLEN
    );
    p.c.conn.link_close(cl, false, None).unwrap();
    p.pump();
    assert!(p.c.events.contains(&Event::LinkFinal(cl)));
    assert!(p.s.events.contains(&Event::LinkFinal(sl)));
}

// ---- termini -------------------------------------------------------------------

#[test]
fn every_terminus_field_goes_over_the_wire() {
    let mut props = Map::default();
    props.0.push((
        Value::Symbol("lifetime-policy".into()),
        Value::Symbol("delete-on-close".into()),
    ));
    let mut filter = Map::default();
    filter.0.push((
        Value::Symbol("jms-selector".into()),
        Value::String("colour = 'red'".into()),
    ));
    let source = Source {
        address: Some("orders".into()),
        durable: TerminusDurability::UnsettledState,
        expiry_policy: TerminusExpiryPolicy::Never,
        timeout: 60,
        dynamic: false,
        dynamic_node_properties: Some(props.clone()),
        distribution_mode: Some(Symbol::from("copy")),
        filter: Some(filter),
        default_outcome: Some(DeliveryState::Released),
        outcomes: Some(Symbols(vec![
            Symbol::from("amqp:accepted:list"),
            Symbol::from("amqp:released:list"),
        ])),
        capabilities: Some(Symbols(vec![Symbol::from("queue")])),
    };
    let target = Target {
        address: Some("replies".into()),
        durable: TerminusDurability::Configuration,
        expiry_policy: TerminusExpiryPolicy::LinkDetach,
        timeout: 5,
        dynamic: false,
        dynamic_node_properties: Some(props),
        capabilities: Some(Symbols(vec![Symbol::from("topic")])),
    };
    let mut lprops = Map::default();
    lprops
        .0
        .push((Value::Symbol("priority".into()), Value::Int(7)));
    let opts = LinkOptions {
        name: "full-link".into(),
        source: Some(source.clone()),
        target: Some(target.clone()),
        snd_settle_mode: Some(SenderSettleMode::Unsettled),
        rcv_settle_mode: Some(ReceiverSettleMode::Second),
        max_message_size: Some(12345),
        properties: Some(lprops.clone()),
        offered_capabilities: Some(Symbols(vec![Symbol::from("SHARED-SUBS")])),
        desired_capabilities: Some(Symbols(vec![Symbol::from("DELAYED_DELIVERY")])),
        coordinator: None,
    };
    let mut p = Pair::default_pair();
    p.connect();
    let (cs, _) = p.session();
    let (cl, sl) = p.link(cs, LinkRole::Receiver, opts);
    let a = p.s.conn.link_remote_attach(sl).unwrap();
    assert_eq!(a.name, "full-link");
    assert_eq!(a.role, LinkRole::Receiver);
    assert_eq!(a.source.as_ref(), Some(&source));
    assert_eq!(p.s.conn.link_remote_target(sl), Some(&target));
    assert_eq!(a.snd_settle_mode, SenderSettleMode::Unsettled);
    assert_eq!(a.rcv_settle_mode, ReceiverSettleMode::Second);
    assert_eq!(a.max_message_size, Some(12345));
    assert_eq!(a.properties.as_ref(), Some(&lprops));
    assert!(
        a.offered_capabilities
            .as_ref()
            .unwrap()
            .contains("SHARED-SUBS")
    );
    assert!(
        a.desired_capabilities
            .as_ref()
            .unwrap()
            .contains("DELAYED_DELIVERY")
    );
    assert_eq!(a.initial_delivery_count, None, "receivers do not set it");
    // The answering sender echoed both termini, except the source's filter
    // (only the application knows whether it applies one, §3.5.1), and
    // granted the modes.
    let echoed = Source {
        filter: None,
        ..source.clone()
    };
    assert_eq!(p.c.conn.link_remote_source(cl), Some(&echoed));
    assert_eq!(p.c.conn.link_remote_target(cl), Some(&target));
    assert_eq!(
        p.c.conn.link_snd_settle_mode(cl),
        SenderSettleMode::Unsettled
    );
    assert_eq!(
        p.s.conn.link_rcv_settle_mode(sl),
        ReceiverSettleMode::Second
    );
    assert_eq!(
        p.c.conn
            .link_remote_attach(cl)
            .unwrap()
            .initial_delivery_count,
        Some(0)
    );
}

#[test]
fn dynamic_source_and_target_get_their_address_from_the_accepting_application() {
    let mut p = Pair::default_pair();
    p.s.auto.handshake = false;
    p.c.conn.open();
    p.pump();
    p.s.conn.open();
    let cs = p.c.conn.session_new().unwrap();
    p.c.conn.session_open(cs).unwrap();
    let opts = LinkOptions {
        source: Some(Source::dynamic()),
        target: Some(Target::default()),
        ..LinkOptions::default()
    };
    let cl = p.c.conn.link_new(cs, LinkRole::Receiver, opts).unwrap();
    p.c.conn.link_open(cl).unwrap();
    p.pump();
    for e in p.s.take_events() {
        match e {
            Event::SessionRemoteOpen(s) => p.s.conn.session_open(s).unwrap(),
            Event::LinkRemoteOpen(l) => {
                let asked = p.s.conn.link_remote_source(l).unwrap().clone();
                assert!(asked.dynamic && asked.address.is_none());
                let o = p.s.conn.link_options_mut(l).unwrap();
                o.source = Some(Source {
                    address: Some("tmp.queue.1".into()),
                    ..asked
                });
                p.s.conn.link_open(l).unwrap();
                assert!(p.s.conn.link_options_mut(l).is_err(), "attached now");
            }
            _ => {}
        }
    }
    p.pump();
    let got = p.c.conn.link_remote_source(cl).unwrap();
    assert!(got.dynamic);
    assert_eq!(got.address.as_deref(), Some("tmp.queue.1"));
    // Likewise a sender asking for a dynamic target.
    let opts = LinkOptions {
        source: Some(Source::default()),
        target: Some(Target::dynamic()),
        ..LinkOptions::default()
    };
    let cl = p.c.conn.link_new(cs, LinkRole::Sender, opts).unwrap();
    p.c.conn.link_open(cl).unwrap();
    p.pump();
    for e in p.s.take_events() {
        if let Event::LinkRemoteOpen(l) = e {
            let asked = p.s.conn.link_remote_target(l).unwrap().clone();
            assert!(asked.dynamic && asked.address.is_none());
            p.s.conn.link_options_mut(l).unwrap().target = Some(Target {
                address: Some("tmp.topic.2".into()),
                ..asked
            });
            p.s.conn.link_open(l).unwrap();
        }
    }
    p.pump();
    let got = p.c.conn.link_remote_target(cl).unwrap();
    assert!(got.dynamic);
    assert_eq!(got.address.as_deref(), Some("tmp.topic.2"));
}

#[test]
fn sender_refuses_a_message_over_the_peer_max_message_size() {
    let mut p = Pair::default_pair();
    p.connect();
    let (cs, _) = p.session();
    let snd =
        p.c.conn
            .link_new(cs, LinkRole::Sender, sender_options("x"))
            .unwrap();
    p.c.conn.link_open(snd).unwrap();
    p.s.auto.handshake = false;
    p.pump();
    let sl =
        p.s.take_events()
            .into_iter()
            .find_map(|e| match e {
                Event::LinkRemoteOpen(l) => Some(l),
                _ => None,
            })
            .unwrap();
    p.s.conn.link_options_mut(sl).unwrap().max_message_size = Some(100);
    p.s.conn.link_open(sl).unwrap();
    p.s.conn.link_flow(sl, 2, false).unwrap();
    p.pump();
    assert_eq!(
        p.c.conn.link_remote_attach(snd).unwrap().max_message_size,
        Some(100)
    );
    assert_eq!(
        p.c.conn.send(snd, None, &[0u8; 101][..], false),
        Err(Error::InvalidArgument(
            "message larger than the peer's max-message-size"
        ))
    );
    assert_eq!(p.c.conn.link_credit(snd), 2, "nothing was spent");
    p.c.conn.send(snd, None, &[0u8; 100][..], false).unwrap();
    p.pump();
    assert_eq!(deliveries(&p.s.events).len(), 1);
}

// ---- IDs, buffers ------------------------------------------------------------

#[test]
fn ids_are_stale_after_their_final_event() {
    let (mut p, cl, _) = Pair::with_sender(1);
    p.c.conn.link_close(cl, true, None).unwrap();
    p.pump();
    assert!(p.c.events.contains(&Event::LinkFinal(cl)));
    assert_eq!(
        p.c.conn.send(cl, None, &b"x"[..], false),
        Err(Error::Stale("link"))
    );
    assert_eq!(p.c.conn.link_flow(cl, 1, false), Err(Error::Stale("link")));
    assert_eq!(p.c.conn.link_local_state(cl), EndpointState::Closed);
    // A new link may reuse the slot but not the ID.
    let cs = p.c.conn.session_new().unwrap();
    p.c.conn.session_open(cs).unwrap();
    let l2 =
        p.c.conn
            .link_new(cs, LinkRole::Sender, sender_options("q"))
            .unwrap();
    assert_ne!(l2, cl);
    assert!(p.c.conn.link_name(cl).is_none());
}

#[test]
fn output_beyond_max_output_refuses_sends_until_written() {
    let mut p = Pair::new(
        Config {
            max_output: 1000,
            ..client_config()
        },
        server_config(),
    );
    p.s.auto.credit = 100;
    p.connect();
    let (cs, _) = p.session();
    let (cl, _) = p.link(cs, LinkRole::Sender, sender_options("q"));
    let mut n = 0;
    let res = loop {
        match p.c.conn.send(cl, None, &[7u8; 200][..], true) {
            Ok(_) => n += 1,
            Err(e) => break e,
        }
    };
    assert!(matches!(res, Error::OutputFull(len) if len > 1000));
    assert!((4..=6).contains(&n), "{n} sends fitted");
    assert!(p.c.conn.output_len() <= 1000 + 300);
    p.c.take_events();
    p.pump();
    // Written: the refused sender hears it may send again (a LinkFlow, as
    // when credit arrives), so an application that waits for that event
    // does not stall.
    assert!(
        p.c.take_events().contains(&Event::LinkFlow(cl)),
        "no flow event after the output drained"
    );
    p.c.conn.send(cl, None, &[7u8; 200][..], true).unwrap();
}

// ---- allocations in steady state -----------------------------------------------

mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static COUNTING: Cell<bool> = const { Cell::new(false) };
        static COUNT: Cell<u64> = const { Cell::new(0) };
    }

    /// Counts allocations made by the current thread while switched on.
    pub struct Counting;

    fn note() {
        let _ = COUNTING.try_with(|on| {
            if on.get() {
                let _ = COUNT.try_with(|c| c.set(c.get() + 1));
            }
        });
    }

    // SAFETY: every call is forwarded unchanged to the system allocator;
    // the counter is a const-initialised thread-local that never allocates.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            note();
            // SAFETY: same contract as ours.
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: same contract as ours.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            note();
            // SAFETY: same contract as ours.
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            note();
            // SAFETY: same contract as ours.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    /// Runs `f`, returning what it returned and the allocations it made.
    pub fn count<T>(f: impl FnOnce() -> T) -> (T, u64) {
        COUNT.with(|c| c.set(0));
        COUNTING.with(|on| on.set(true));
        let r = f();
        COUNTING.with(|on| on.set(false));
        (r, COUNT.with(|c| c.get()))
    }
}

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

/// One round of steady traffic without the harness (which logs and
/// allocates): `n` messages sent, delivered, accepted, settled, credit
/// topped up. Returns allocations on the sending and receiving sides.
fn steady_round(
    c: &mut muon::engine::Connection,
    s: &mut muon::engine::Connection,
    cl: muon::engine::LinkId,
    sl: muon::engine::LinkId,
    n: usize,
    presettled: bool,
    now: std::time::Instant,
) -> (u64, u64) {
    let payload = [0x5au8; 100];
    let (mut snd, mut rcv) = (0, 0);
    let mut sent = 0;
    // The test's own copy buffer, sized up front so it does not count.
    let mut out = Vec::with_capacity(1 << 20);
    while sent < n {
        // The sending engine: send, output, then its input and events.
        let (_, a) = counting::count(|| {
            while sent < n && c.link_credit(cl) > 0 {
                c.send(cl, None, &payload[..], presettled).unwrap();
                sent += 1;
            }
            out.clear();
            out.extend_from_slice(c.output());
            c.consume_output(out.len());
        });
        snd += a;
        // The receiving engine: input, events, dispositions and credit.
        let (_, a) = counting::count(|| {
            s.receive(&out, now);
            while let Some(e) = s.next_event() {
                if let Event::Delivery(d) = e {
                    assert_eq!(s.delivery_payload(d).map(|p| p.len()), Some(100));
                    s.disposition(d, Some(DeliveryState::Accepted), true)
                        .unwrap();
                }
            }
            if s.link_credit(sl) < 500 {
                s.link_flow(sl, 1000, false).unwrap();
            }
            out.clear();
            out.extend_from_slice(s.output());
            s.consume_output(out.len());
        });
        rcv += a;
        let (_, a) = counting::count(|| {
            c.receive(&out, now);
            while let Some(e) = c.next_event() {
                if let Event::DeliveryUpdated(d) = e {
                    c.settle(d).unwrap();
                }
            }
        });
        snd += a;
    }
    (snd, rcv)
}

fn steady_allocations(presettled: bool) -> (u64, u64) {
    let (mut p, cl, sl) = Pair::with_sender(1000);
    let now = p.clock.now();
    let (c, s) = (&mut p.c.conn, &mut p.s.conn);
    // Warm-up: buffers, maps and queues reach their working size.
    for _ in 0..5 {
        steady_round(c, s, cl, sl, 10_000, presettled, now);
    }
    let (snd, rcv) = steady_round(c, s, cl, sl, 100_000, presettled, now);
    assert_eq!(c.delivery_count() + s.delivery_count(), 0);
    (snd, rcv)
}

#[test]
fn steady_state_allocates_nothing_per_message_at_least_once() {
    let (snd, rcv) = steady_allocations(false);
    assert_eq!((snd, rcv), (0, 0), "allocations over 100 000 messages");
}

#[test]
fn steady_state_allocates_nothing_per_message_presettled() {
    let (snd, rcv) = steady_allocations(true);
    assert_eq!((snd, rcv), (0, 0), "allocations over 100 000 messages");
}

#[test]
fn transfers_held_back_by_the_window_count_towards_max_output() {
    let mut p = Pair::new(
        Config {
            max_output: 2000,
            ..client_config()
        },
        Config {
            session_window: 2,
            ..server_config()
        },
    );
    p.s.auto.credit = 100;
    p.connect();
    let (cs, _) = p.session();
    let (cl, _) = p.link(cs, LinkRole::Sender, sender_options("q"));
    p.pump();
    p.s.hold = true;
    let mut n = 0;
    let res = loop {
        match p.c.conn.send(cl, None, &[1u8; 300][..], false) {
            Ok(_) => n += 1,
            Err(e) => break e,
        }
        p.pump(); // output is written, but the window stays shut
    };
    assert!(matches!(res, Error::OutputFull(_)), "{res:?}");
    assert!(p.c.conn.pending_send_bytes() > 1000);
    assert_eq!(p.c.conn.output_len(), 0);
    assert!(n < 10, "{n} sends before the limit");
    // The window opens: everything goes, and sending works again.
    p.s.hold = false;
    p.pump();
    assert_eq!(p.c.conn.pending_send_bytes(), 0);
    assert_eq!(deliveries(&p.s.events).len(), n);
    p.c.conn.send(cl, None, &[1u8; 300][..], false).unwrap();
}

#[test]
fn configured_credentials_never_fall_back_to_anonymous() {
    // The server offers ANONYMOUS and PLAIN; the client has a user name but
    // may not send PLAIN in clear: it must fail, not log in anonymously.
    let client = SaslConfig {
        mechanisms: vec![Mechanism::Anonymous, Mechanism::Plain],
        allow_insecure_plain: false,
        ..plain("alice", "secret")
    };
    let server = SaslConfig {
        mechanisms: vec![Mechanism::Anonymous, Mechanism::Plain],
        ..plain_server(&[("alice", "secret")])
    };
    let p = sasl_pair(client, server, false);
    let errs = transport_errors(&p.c.events);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].contains(condition::UNAUTHORIZED_ACCESS), "{errs:?}");
    assert!(sasl_frames(&p.c.sent.units).is_empty(), "no sasl-init sent");
}

#[test]
fn a_session_ended_by_the_peer_closes_its_links_with_the_error() {
    let mut p = Pair::default_pair();
    p.connect();
    let (cs, ss) = p.session();
    let (cl, _) = p.link(cs, LinkRole::Sender, sender_options("q"));
    // The server ends the whole session (as RabbitMQ does to refuse an
    // address): the client's link hears of it, with the session's error.
    p.c.auto.handshake = false;
    p.s.conn
        .session_close(ss, Some(err(condition::NOT_FOUND, "no such node")))
        .unwrap();
    p.pump();
    assert!(p.c.events.contains(&Event::LinkRemoteClose(cl)));
    assert_eq!(
        p.c.conn
            .link_remote_condition(cl)
            .unwrap()
            .condition
            .as_str(),
        condition::NOT_FOUND
    );
}

// ---- message format, own max-message-size, detach and resume ------------------

#[test]
fn message_format_and_tag_go_on_the_first_frame_of_a_delivery() {
    let mut p = Pair::new(
        client_config(),
        Config {
            max_frame_size: 512,
            ..server_config()
        },
    );
    p.s.auto.credit = 2;
    p.connect();
    let (cs, _) = p.session();
    let (cl, _) = p.link(cs, LinkRole::Sender, sender_options("q"));
    const FORMAT: u32 = 0x8001_3700;
    let big = vec![7u8; 2000];
    let d =
        p.c.conn
            .send_with_format(cl, Some(b"app-tag-123456789"), &big[..], false, FORMAT)
            .unwrap();
    assert_eq!(p.c.conn.delivery_message_format(d), FORMAT);
    p.c.conn
        .send_with_format(cl, None, &b"small"[..], false, 0)
        .unwrap();
    p.pump();
    // Split at 512 bytes: the format on the first frame only.
    let ts = transfers(&p.c.sent.units);
    assert!(ts.len() > 4, "{} frames", ts.len());
    let last_of_first = ts.iter().position(|(t, _, _)| !t.more).unwrap();
    assert_eq!(ts[0].0.message_format, Some(FORMAT));
    assert!(
        ts[1..=last_of_first]
            .iter()
            .all(|(t, _, _)| t.message_format.is_none())
    );
    assert_eq!(ts[last_of_first + 1].0.message_format, Some(0));
    let ds = deliveries(&p.s.events);
    assert_eq!(ds.len(), 2);
    assert_eq!(p.s.conn.delivery_message_format(ds[0]), FORMAT);
    assert_eq!(
        p.s.conn.delivery_tag(ds[0]).unwrap().as_bytes(),
        b"app-tag-123456789"
    );
    assert_eq!(p.s.conn.delivery_payload(ds[0]).unwrap(), &big[..]);
    assert_eq!(p.s.conn.delivery_message_format(ds[1]), 0);
}

#[test]
fn sender_refuses_a_message_over_its_own_max_message_size() {
    let mut p = Pair::default_pair();
    p.s.auto.credit = 5;
    p.connect();
    let (cs, _) = p.session();
    let opts = LinkOptions {
        max_message_size: Some(100),
        ..sender_options("q")
    };
    let (cl, sl) = p.link(cs, LinkRole::Sender, opts);
    // Sent in the attach; the receiver (no limit of its own) advertises
    // the connection's.
    assert_eq!(
        p.s.conn.link_remote_attach(sl).unwrap().max_message_size,
        Some(100)
    );
    assert_eq!(
        p.c.conn.link_remote_attach(cl).unwrap().max_message_size,
        Some(Config::default().max_message_size)
    );
    assert_eq!(
        p.c.conn.send(cl, None, &[0u8; 101][..], false),
        Err(Error::InvalidArgument(
            "message larger than the link's max-message-size"
        ))
    );
    assert_eq!(p.c.conn.link_credit(cl), 5, "nothing was spent");
    p.c.conn.send(cl, None, &[0u8; 100][..], false).unwrap();
    p.pump();
    assert_eq!(deliveries(&p.s.events).len(), 1);
    assert_eq!(p.c.conn.link_local_state(cl), EndpointState::Active);
}

fn detaches(units: &[Wire]) -> Vec<muon::codec::transport::Detach> {
    units
        .iter()
        .filter_map(|u| match u.perf() {
            Some(Performative::Detach(d)) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_detached_link_is_resumed_by_attaching_its_name_again() {
    let mut p = Pair::default_pair();
    p.s.auto.accept = true;
    p.connect();
    let (cs, _) = p.session();
    let opts = || LinkOptions {
        name: "durable-sub".into(),
        source: Some(Source {
            address: Some("topic".into()),
            durable: TerminusDurability::UnsettledState,
            expiry_policy: TerminusExpiryPolicy::Never,
            ..Source::default()
        }),
        ..receiver_options("topic")
    };
    let (cl, sl) = p.link(cs, LinkRole::Receiver, opts());
    // Detached, not closed: the peer sees closed=false and (its handshake
    // mirroring it) answers the same way; both ends are gone.
    p.c.conn.link_close(cl, false, None).unwrap();
    p.pump();
    assert!(!p.s.conn.link_remote_closed(sl));
    let ds = detaches(&p.c.sent.units);
    assert_eq!(ds.len(), 1);
    assert!(!ds[0].closed);
    let ds = detaches(&p.s.sent.units);
    assert_eq!(ds.len(), 1);
    assert!(!ds[0].closed);
    assert!(!p.c.conn.link_remote_closed(cl));
    assert!(p.c.events.contains(&Event::LinkFinal(cl)));
    assert!(p.s.events.contains(&Event::LinkFinal(sl)));
    // Attached again with the same name: a new link on both ends, with
    // the name and terminus of the old one; messages flow.
    p.s.events.clear();
    let (cl2, sl2) = p.link(cs, LinkRole::Receiver, opts());
    assert_ne!(cl2, cl);
    assert_eq!(p.s.conn.link_name(sl2), Some("durable-sub"));
    let src = p.s.conn.link_remote_source(sl2).unwrap();
    assert_eq!(src.durable, TerminusDurability::UnsettledState);
    assert_eq!(src.expiry_policy, TerminusExpiryPolicy::Never);
    p.c.conn.link_flow(cl2, 1, false).unwrap();
    p.pump();
    p.s.conn
        .send(sl2, None, &b"after resume"[..], false)
        .unwrap();
    p.pump();
    let got = deliveries(&p.c.events);
    assert_eq!(got.len(), 1);
    assert_eq!(p.c.conn.delivery_payload(got[0]).unwrap(), b"after resume");
    // Now closed for good: closed=true both ways.
    p.c.conn.link_close(cl2, true, None).unwrap();
    p.pump();
    for side in [&p.c, &p.s] {
        let ds = detaches(&side.sent.units);
        assert_eq!(ds.len(), 2);
        assert!(ds[1].closed);
    }
    assert!(p.c.events.contains(&Event::LinkFinal(cl2)));
    assert!(p.s.events.contains(&Event::LinkFinal(sl2)));
}

#[test]
fn a_sender_honours_the_mode_second_its_receiver_chose() {
    // The sender asks for mode first; the receiver answers with second:
    // the receiver's attach decides (§2.8.3).
    let mut p = Pair::default_pair();
    p.connect();
    let (cs, _) = p.session();
    let cl =
        p.c.conn
            .link_new(cs, LinkRole::Sender, sender_options("q"))
            .unwrap();
    p.c.conn.link_options_mut(cl).unwrap().rcv_settle_mode = Some(ReceiverSettleMode::First);
    p.c.conn.link_open(cl).unwrap();
    p.s.auto.handshake = false;
    p.pump();
    let sl =
        p.s.take_events()
            .into_iter()
            .find_map(|e| match e {
                Event::LinkRemoteOpen(l) => Some(l),
                _ => None,
            })
            .unwrap();
    p.s.conn.link_options_mut(sl).unwrap().rcv_settle_mode = Some(ReceiverSettleMode::Second);
    p.s.conn.link_open(sl).unwrap();
    p.s.conn.link_flow(sl, 1, false).unwrap();
    p.pump();
    assert_eq!(
        p.c.conn.link_rcv_settle_mode(cl),
        ReceiverSettleMode::Second
    );
    let d = p.c.conn.send(cl, None, &b"x"[..], false).unwrap();
    p.pump();
    let rd = deliveries(&p.s.events)[0];
    p.s.conn
        .disposition(rd, Some(DeliveryState::Accepted), true)
        .unwrap();
    p.s.sent.take();
    p.pump();
    // Unsettled outcome; the sender (auto-settle) settles; then the
    // receiver forgets, having sent nothing more.
    let disp = dispositions(&p.s.sent.units);
    assert_eq!(disp.len(), 1);
    assert!(!disp[0].settled);
    assert!(!p.c.conn.delivery_exists(d));
    let disp = dispositions(&p.c.sent.units);
    assert!(disp.last().unwrap().settled);
    assert!(!p.s.conn.delivery_exists(rd));
    assert_eq!(p.c.conn.delivery_count() + p.s.conn.delivery_count(), 0);
}
