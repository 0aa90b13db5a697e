use muon::codec::Value;
use muon::codec::message::{Body, Message};
use muon::codec::messaging::{Source, Target};
use muon::codec::transport::Role as LinkRole;
use muon::engine::*;
use std::time::Instant;

fn pump(a: &mut Connection, b: &mut Connection, now: Instant) {
    for _ in 0..100 {
        let out = a.output().to_vec();
        a.consume_output(out.len());
        b.receive(&out, now);
        let out2 = b.output().to_vec();
        b.consume_output(out2.len());
        a.receive(&out2, now);
        if out.is_empty() && out2.is_empty() {
            break;
        }
    }
}

#[test]
fn hello() {
    let now = Instant::now();
    let mut c = Connection::client(
        Config {
            container_id: "client".into(),
            ..Config::default()
        },
        now,
    );
    let mut s = Connection::server(
        Config {
            container_id: "server".into(),
            ..Config::default()
        },
        now,
    );
    c.open();
    let ses = c.session_new().unwrap();
    c.session_open(ses).unwrap();
    let snd = c
        .link_new(
            ses,
            LinkRole::Sender,
            LinkOptions {
                target: Some(Target {
                    address: Some("q".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .unwrap();
    c.link_open(snd).unwrap();
    pump(&mut c, &mut s, now);
    let mut rcv = None;
    while let Some(e) = s.next_event() {
        println!("server: {e:?}");
        match e {
            Event::ConnectionRemoteOpen => s.open(),
            Event::SessionRemoteOpen(x) => s.session_open(x).unwrap(),
            Event::LinkRemoteOpen(l) => {
                s.link_open(l).unwrap();
                s.link_flow(l, 10, false).unwrap();
                rcv = Some(l);
            }
            _ => {}
        }
    }
    let _ = Source::default();
    pump(&mut c, &mut s, now);
    while let Some(e) = c.next_event() {
        println!("client: {e:?}");
    }
    assert_eq!(c.link_credit(snd), 10);
    let m = Message {
        body: Body::Value(Value::String("Hello World!".into())),
        ..Default::default()
    };
    let d = c.send(snd, None, &m, false).unwrap();
    pump(&mut c, &mut s, now);
    let mut got = None;
    while let Some(e) = s.next_event() {
        println!("server: {e:?}");
        if let Event::Delivery(d) = e {
            got = Some(Message::decode(s.delivery_payload(d).unwrap()).unwrap());
            s.disposition(
                d,
                Some(muon::codec::messaging::DeliveryState::Accepted),
                true,
            )
            .unwrap();
        }
    }
    assert_eq!(got.unwrap(), m);
    pump(&mut c, &mut s, now);
    while let Some(e) = c.next_event() {
        println!("client: {e:?}");
    }
    assert!(c.delivery_remote_settled(d) || !c.delivery_exists(d));
    let _ = rcv;
    c.close(None);
    pump(&mut c, &mut s, now);
    while let Some(e) = s.next_event() {
        println!("server: {e:?}");
        if e == Event::ConnectionRemoteClose {
            s.close(None);
        }
    }
    pump(&mut c, &mut s, now);
    while let Some(e) = c.next_event() {
        println!("client: {e:?}");
    }
    assert!(c.is_done() && s.is_done());
}
