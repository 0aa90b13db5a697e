//! probe (temporary)

mod common;
mod common_engine;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use common::examples::{Broker, Build};
use common_engine::{Wire, WireLog, amqp_frame, close_condition};
use muon::codec::frame::{AMQP_HEADER, SASL_HEADER};
use muon::codec::security::SaslInit;
use muon::codec::{Binary, Symbol};
use muon::codec::transport::{Close, Disposition, End};
use common_engine::sasl_frame;
use muon::codec::messaging::{Source, Target, TargetKind};
use muon::codec::transport::{
    Attach, Begin, Flow, Open, Performative, ReceiverSettleMode, Role as LinkRole,
    SenderSettleMode, Transfer,
};
use muon::codec::DeliveryTag;

const ANSWER: Duration = Duration::from_secs(2);

struct Peer {
    s: TcpStream,
    log: WireLog,
    eof: bool,
}

impl Peer {
    fn connect(port: u16) -> Peer {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_nodelay(true).ok();
        Peer {
            s,
            log: WireLog::new(),
            eof: false,
        }
    }
    fn send(&mut self, b: &[u8]) -> bool {
        self.s.write_all(b).is_ok()
    }
    /// Reads until `done` or EOF or the deadline.
    fn read_until(&mut self, limit: Duration, done: impl Fn(&[Wire]) -> bool) -> Duration {
        let start = Instant::now();
        let mut buf = vec![0u8; 65536];
        while !self.eof && !done(&self.log.units) {
            let left = limit.saturating_sub(start.elapsed());
            if left.is_zero() {
                break;
            }
            self.s.set_read_timeout(Some(left)).ok();
            match self.s.read(&mut buf) {
                Ok(0) => self.eof = true,
                Ok(n) => self.log.feed(&buf[..n]),
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => self.eof = true,
            }
        }
        start.elapsed()
    }
    fn summary(&self) -> String {
        let mut v: Vec<String> = self
            .log
            .units
            .iter()
            .map(|u| match u {
                Wire::Header(h) => format!("hdr{}", h[4]),
                Wire::Sasl(f) => format!("sasl:{f:?}").chars().take(60).collect(),
                Wire::Empty(_) => "empty".into(),
                Wire::Frame { perf, .. } => match &**perf {
                    Performative::Close(c) => format!("close({:?})", c.error),
                    Performative::End(c) => format!("end({:?})", c.error),
                    Performative::Detach(c) => format!("detach({:?})", c.error),
                    p => p.name().to_string(),
                },
                Wire::Garbage(g) => format!("garbage{}", g.len()),
            })
            .collect();
        if self.eof {
            v.push("EOF".into());
        }
        v.join(" ")
    }
}

fn open() -> Open {
    Open {
        container_id: "hostile".into(),
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

fn begin() -> Begin {
    Begin {
        remote_channel: None,
        next_outgoing_id: 0,
        incoming_window: 100,
        outgoing_window: 100,
        handle_max: 7,
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    }
}

fn attach(name: &str, handle: u32, role: LinkRole) -> Attach {
    Attach {
        name: name.into(),
        handle,
        role,
        snd_settle_mode: SenderSettleMode::Mixed,
        rcv_settle_mode: ReceiverSettleMode::First,
        source: Some(Source::address("q")),
        target: Some(TargetKind::Target(Target::address("q"))),
        unsettled: None,
        incomplete_unsettled: false,
        initial_delivery_count: (role == LinkRole::Sender).then_some(0),
        max_message_size: None,
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    }
}

fn transfer(handle: u32, id: Option<u32>, more: bool) -> Transfer {
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

fn flow(handle: Option<u32>) -> Flow {
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

fn opened() -> Vec<u8> {
    let mut b = AMQP_HEADER.to_vec();
    b.extend(amqp_frame(0, &open(), &[]));
    b
}

fn has_close(u: &[Wire]) -> bool {
    close_condition(u).is_some()
}

fn rss(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn probe() {
    let broker = Broker::launch(Build::Static, 0, &[], &[], Duration::from_secs(20));
    let port = broker.port;
    let pid = broker.program.pid().unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated header", b"AMQP\x00\x01".to_vec()),
        ("doff 3", {
            let mut b = AMQP_HEADER.to_vec();
            let mut f = amqp_frame(0, &open(), &[]);
            // insert 4 bytes of extended header
            f.splice(8..8, [0u8; 4]);
            let n = f.len() as u32;
            f[..4].copy_from_slice(&n.to_be_bytes());
            f[4] = 3;
            b.extend(f);
            b
        }),
        ("open > 512", {
            let mut o = open();
            o.container_id = "x".repeat(700);
            let mut b = AMQP_HEADER.to_vec();
            b.extend(amqp_frame(0, &o, &[]));
            b
        }),
        ("max-frame 100", {
            let mut o = open();
            o.max_frame_size = 100;
            let mut b = AMQP_HEADER.to_vec();
            b.extend(amqp_frame(0, &o, &[]));
            b
        }),
        ("idle 1ms", {
            let mut o = open();
            o.idle_time_out = Some(1);
            let mut b = AMQP_HEADER.to_vec();
            b.extend(amqp_frame(0, &o, &[]));
            b
        }),
        ("begin above channel-max", {
            let mut b = opened();
            b.extend(amqp_frame(40000, &begin(), &[]));
            b
        }),
        ("transfer beyond credit", {
            let mut b = opened();
            b.extend(amqp_frame(0, &begin(), &[]));
            b.extend(amqp_frame(0, &attach("p", 0, LinkRole::Sender), &[]));
            for i in 0..1100 {
                b.extend(amqp_frame(0, &transfer(0, Some(i), false), b"\x00\x53\x77\x40"));
            }
            b
        }),
        ("endless more", {
            let mut b = opened();
            b.extend(amqp_frame(0, &begin(), &[]));
            b.extend(amqp_frame(0, &attach("p", 0, LinkRole::Sender), &[]));
            b.extend(amqp_frame(0, &transfer(0, Some(0), true), &[0u8; 60000]));
            for _ in 0..3000 {
                b.extend(amqp_frame(0, &transfer(0, None, true), &[0u8; 60000]));
            }
            b
        }),
        ("disposition unknown", {
            let mut b = opened();
            b.extend(amqp_frame(0, &begin(), &[]));
            b.extend(amqp_frame(0, &Disposition { role: LinkRole::Receiver, first: 5, last: Some(4000000000), settled: true, state: None, batchable: false }, &[]));
            b.extend(amqp_frame(0, &Disposition { role: LinkRole::Sender, first: 5, last: None, settled: true, state: None, batchable: false }, &[]));
            b
        }),
        ("absurd session flow", {
            let mut b = opened();
            b.extend(amqp_frame(0, &begin(), &[]));
            let mut f = flow(None);
            f.next_incoming_id = Some(u32::MAX);
            f.incoming_window = u32::MAX;
            f.next_outgoing_id = u32::MAX - 5;
            f.outgoing_window = u32::MAX;
            f.echo = true;
            b.extend(amqp_frame(0, &f, &[]));
            b
        }),
        ("absurd link flow", {
            let mut b = opened();
            b.extend(amqp_frame(0, &begin(), &[]));
            b.extend(amqp_frame(0, &attach("c", 0, LinkRole::Receiver), &[]));
            let mut f = flow(Some(0));
            f.delivery_count = Some(u32::MAX - 3);
            f.link_credit = Some(u32::MAX);
            f.available = Some(u32::MAX);
            f.drain = true;
            f.echo = true;
            b.extend(amqp_frame(0, &f, &[]));
            b
        }),
        ("duplicate attach", {
            let mut b = opened();
            b.extend(amqp_frame(0, &begin(), &[]));
            b.extend(amqp_frame(0, &attach("same", 0, LinkRole::Sender), &[]));
            b.extend(amqp_frame(0, &attach("same", 1, LinkRole::Sender), &[]));
            b
        }),
        ("huge name", {
            let mut b = opened();
            b.extend(amqp_frame(0, &begin(), &[]));
            b.extend(amqp_frame(0, &attach(&"n".repeat(60000), 0, LinkRole::Sender), &[]));
            b
        }),
        ("transfer after end", {
            let mut b = opened();
            b.extend(amqp_frame(0, &begin(), &[]));
            b.extend(amqp_frame(0, &attach("p", 0, LinkRole::Sender), &[]));
            b.extend(amqp_frame(0, &End { error: None }, &[]));
            b.extend(amqp_frame(0, &transfer(0, Some(0), false), b"\x00\x53\x77\x40"));
            b
        }),
        ("garbage payload", {
            let mut b = opened();
            b.extend(amqp_frame(0, &begin(), &[]));
            b.extend(amqp_frame(0, &attach("p", 0, LinkRole::Sender), &[]));
            b.extend(amqp_frame(0, &transfer(0, Some(0), false), b"\xff\xfe\xfd garbage"));
            b
        }),
        ("deep nesting body", {
            let mut b = opened();
            b.extend(amqp_frame(0, &begin(), &[]));
            b.extend(amqp_frame(0, &attach("p", 0, LinkRole::Sender), &[]));
            let mut body = b"\x00\x53\x77".to_vec();
            for _ in 0..10000 { body.extend_from_slice(b"\xc0\x01\x01"); }
            b.extend(amqp_frame(0, &transfer(0, Some(0), false), &body));
            b
        }),
        ("deep nesting perf", {
            let mut b = opened();
            let mut body = b"\x00\x53\x11\xc0\x10\x05\x40\x43\x43\x43\x43".to_vec();
            body.truncate(4);
            let mut f = vec![0u8, 0x53, 0x11, 0xd0];
            let mut inner = Vec::new();
            for _ in 0..5000 { inner.extend_from_slice(b"\xc0\x01\x01"); }
            let _ = body;
            f.extend(((inner.len() + 4) as u32).to_be_bytes());
            f.extend(1u32.to_be_bytes());
            f.extend(inner);
            let mut fr = vec![0u8; 8];
            fr.extend(f);
            let n = fr.len() as u32;
            fr[..4].copy_from_slice(&n.to_be_bytes());
            fr[4] = 2;
            b.extend(fr);
            b
        }),
        ("100k heartbeats then close", {
            let mut b = opened();
            for _ in 0..100000 { b.extend_from_slice(&[0, 0, 0, 8, 2, 0, 0, 0]); }
            b.extend(amqp_frame(0, &Close { error: None }, &[]));
            b
        }),
        ("100k echo flows then close", {
            let mut b = opened();
            b.extend(amqp_frame(0, &begin(), &[]));
            let mut f = flow(None);
            f.echo = true;
            let one = amqp_frame(0, &f, &[]);
            for _ in 0..100000 { b.extend_from_slice(&one); }
            b.extend(amqp_frame(0, &Close { error: None }, &[]));
            b
        }),
        ("sasl > 512", {
            let mut b = SASL_HEADER.to_vec();
            b.extend(sasl_frame(&SaslInit { mechanism: Symbol::from("ANONYMOUS"), initial_response: Some(Binary(vec![b'a'; 2000])), hostname: None }));
            b
        }),
    ];
    for (what, bytes) in cases {
        let mut p = Peer::connect(port);
        p.send(&bytes);
        let took = p.read_until(ANSWER, |u| has_close(u));
        let mut sm = p.summary();
        if sm.len() > 300 { sm = format!("{}...{}", &sm[..150], &sm[sm.len()-150..]); }
        println!("{what}: {took:?}: {sm} rss {}", rss(pid));
    }
    for (what, body) in [("garbage", b"\xff\xfe\xfd garbage".to_vec()), ("deep", {
            let mut body = b"\x00\x53\x77".to_vec();
            for _ in 0..10000 { body.extend_from_slice(b"\xc0\x01\x01"); }
            body
    }), ("header only", Vec::new())] {
        let mut p = Peer::connect(port);
        let mut b = opened();
        if what == "header only" { b.truncate(8); }
        else {
        b.extend(amqp_frame(0, &begin(), &[]));
        b.extend(amqp_frame(0, &attach("p", 0, LinkRole::Sender), &[]));
        }
        p.send(&b);
        p.read_until(ANSWER, |u| u.iter().any(|w| matches!(w.perf(), Some(Performative::Flow(_)))));
        if !body.is_empty() {
        p.send(&amqp_frame(0, &transfer(0, Some(0), false), &body));
        }
        let took = p.read_until(ANSWER, |u| u.iter().any(|w| matches!(w.perf(), Some(Performative::Disposition(_)))));
        println!("{what}: {took:?}: {:?}", p.log.units.last());
    }
    println!("rss {}", rss(pid));
    broker.stop();
}
