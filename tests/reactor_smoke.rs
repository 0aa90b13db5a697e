use muon::codec::Value;
use muon::codec::message::{Body, Message};
use muon::codec::messaging::{DeliveryState, Source, Target};
use muon::codec::transport::Role;
use muon::engine::{Config, Event, LinkOptions};
use muon::reactor::{ConnectOptions, Loop, LoopEvent, TlsServerSettings};
use std::time::Duration;

#[test]
fn hello_over_loopback() {
    let mut lp = Loop::new().unwrap();
    let l = lp
        .listen(
            "127.0.0.1:0",
            Config::default(),
            &TlsServerSettings::default(),
        )
        .unwrap();
    let port = lp.listener_port(l).unwrap();
    let c = lp
        .connect(
            &format!("127.0.0.1:{port}/examples"),
            ConnectOptions::default(),
        )
        .unwrap();
    let snd = lp
        .open_link(
            c,
            Role::Sender,
            LinkOptions {
                target: Some(Target {
                    address: Some("examples".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .unwrap();
    let _rcvr = lp
        .open_link(
            c,
            Role::Receiver,
            LinkOptions {
                source: Some(Source {
                    address: Some("examples".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .unwrap();
    let mut got = None;
    let mut sent = false;
    let mut done = false;
    for _ in 0..1000 {
        lp.poll(Some(Duration::from_millis(100))).unwrap();
        while let Some(ev) = lp.next_event() {
            println!("{ev:?}");
            match ev {
                LoopEvent::Engine(id, Event::ConnectionRemoteOpen) if lp.is_server(id) => {
                    lp.engine(id).unwrap().open()
                }
                LoopEvent::Engine(id, Event::SessionRemoteOpen(s)) => {
                    lp.engine(id).unwrap().session_open(s).unwrap()
                }
                LoopEvent::Engine(id, Event::LinkRemoteOpen(k)) if lp.is_server(id) => {
                    let e = lp.engine(id).unwrap();
                    e.link_open(k).unwrap();
                    if e.link_role(k) == Some(Role::Receiver) {
                        e.link_flow(k, 10, false).unwrap();
                    }
                }
                LoopEvent::Engine(id, Event::LinkFlow(k))
                    if k == snd && !sent && !lp.is_server(id) =>
                {
                    let m = Message {
                        body: Body::Value(Value::String("Hello World!".into())),
                        ..Default::default()
                    };
                    lp.engine(id).unwrap().send(k, None, &m, false).unwrap();
                    sent = true;
                }
                LoopEvent::Engine(id, Event::Delivery(d)) => {
                    let e = lp.engine(id).unwrap();
                    got = Some(Message::decode(e.delivery_payload(d).unwrap()).unwrap());
                    e.disposition(d, Some(DeliveryState::Accepted), true)
                        .unwrap();
                }
                LoopEvent::Engine(id, Event::DeliveryUpdated(_)) if !lp.is_server(id) => {
                    lp.close(id, None).unwrap();
                }
                LoopEvent::Engine(id, Event::ConnectionRemoteClose) if lp.is_server(id) => {
                    lp.engine(id).unwrap().close(None);
                }
                LoopEvent::ConnectionFinal(id) => {
                    lp.release_connection(id);
                    if id == c {
                        lp.close_listener(l).unwrap();
                    }
                }
                LoopEvent::ListenerFinal(x) => {
                    lp.release_listener(x);
                    done = true;
                }
                _ => {}
            }
        }
        if !lp.has_work() {
            break;
        }
    }
    assert!(done);
    assert!(!lp.has_work());
    assert_eq!(
        got.unwrap().body,
        Body::Value(Value::String("Hello World!".into()))
    );
}
