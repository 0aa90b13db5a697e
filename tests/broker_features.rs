//! The example broker's selectors, browsing and durable subscriptions
//! (examples-c/broker_select.h), with Qpid Proton's Python examples
//! `colour_send.py`, `selected_recv.py` and `queue_browser.py` as the
//! clients (run by /usr/bin/python3, which has Proton; the test fails if it
//! does not) and small Proton clients for what those do not cover.
//!
//! `queue_browser.py` connects to localhost:5672 and waits for its link to
//! be drained; it is run unchanged, with Proton's `Container.connect`
//! pointed at the broker's own port, and stopped once it has printed what
//! the queue holds (the broker never drains a browser's credit).

mod common;

use std::path::Path;
use std::time::Duration;

use common::examples::{Broker, Build, build};
use common::program::Program;

const LIMIT: Duration = Duration::from_secs(60);
/// The credit the broker gives each producer (examples-c/broker.c).
const PRODUCER_WINDOW: usize = 1000;
const PYTHON: &str = "/usr/bin/python3";
const EXAMPLES: &str = "/usr/share/proton/examples/python";

fn python(args: &[&str]) -> Program {
    assert!(
        Path::new(PYTHON).exists() && Path::new(EXAMPLES).exists(),
        "{PYTHON} and Proton's Python examples ({EXAMPLES}) are needed (python3-qpid-proton)"
    );
    let mut all = vec!["-u"];
    all.extend_from_slice(args);
    Program::start(Path::new(PYTHON), &all)
}

fn example(name: &str) -> String {
    format!("{EXAMPLES}/{name}")
}

/// Runs Proton's queue_browser.py against the broker on `port` until it
/// has printed `n` messages; returns them.
fn browse(port: u16, n: usize) -> Vec<String> {
    let code = format!(
        "import runpy, proton.reactor as r\n\
         connect = r.Container.connect\n\
         r.Container.connect = lambda self, url=None, **kw: connect(self, 'localhost:{port}', **kw)\n\
         runpy.run_path('{}', run_name='__main__')\n",
        example("queue_browser.py")
    );
    let p = python(&["-c", &code]);
    p.wait_output(LIMIT, "the browsed messages", |l| l.len() >= n);
    std::thread::sleep(Duration::from_millis(300)); // nothing more comes
    p.signal(libc::SIGTERM);
    let (_, out, _) = p.wait(LIMIT);
    out
}

#[test]
fn proton_examples_select_and_browse() {
    let broker = Broker::launch(Build::Static, 0, &[], &[], Duration::from_secs(20));
    let url = format!("localhost:{}/examples", broker.port);
    let sent = python(&[&example("colour_send.py"), "-a", &url, "-m", "10"]).success(LIMIT);
    assert_eq!(sent, ["all messages confirmed"]);

    // Browsing twice: every message each time, none taken away.
    for _ in 0..2 {
        let seen = browse(broker.port, 10);
        assert_eq!(seen.len(), 10, "{seen:?}");
        for (i, line) in seen.iter().enumerate() {
            let colour = if i % 2 == 1 { "red" } else { "green" };
            assert!(line.contains(&format!("{colour} {}", i + 1)), "{line}");
        }
    }

    // The selector: only the green ones, in order; the red ones stay.
    let green = python(&[&example("selected_recv.py"), "-a", &url, "-m", "5"]).success(LIMIT);
    assert_eq!(
        green,
        ["green 1", "green 3", "green 5", "green 7", "green 9"]
    );
    broker.wait_log("consumer's selector: colour = 'green'");
    let red = browse(broker.port, 5);
    assert_eq!(
        red.iter().filter(|l| l.contains("red")).count(),
        5,
        "{red:?}"
    );

    // The filter is answered; an unsupported selector is refused with
    // amqp:invalid-field and says where.
    let code = format!(
        "from proton.reactor import Container, Selector\n\
         from proton.handlers import MessagingHandler\n\
         class H(MessagingHandler):\n\
         \x20   def __init__(self, sel):\n\
         \x20       super().__init__(); self.sel = sel\n\
         \x20   def on_start(self, e):\n\
         \x20       c = e.container.connect('localhost:{port}')\n\
         \x20       e.container.create_receiver(c, 'examples', options=Selector(self.sel))\n\
         \x20   def on_link_opened(self, e):\n\
         \x20       d = e.receiver.remote_source.filter; d.rewind(); d.next(); f = d.get_object()\n\
         \x20       if not f: return\n\
         \x20       print('answered', sorted((str(k), str(v.descriptor), v.value) for k, v in f.items()))\n\
         \x20       e.connection.close()\n\
         \x20   def on_link_error(self, e):\n\
         \x20       print('refused', e.link.remote_condition.name, e.link.remote_condition.description)\n\
         \x20       e.connection.close()\n\
         Container(H(\"colour = 'red'\")).run()\n\
         Container(H(\"colour == 'red'\")).run()\n",
        port = broker.port
    );
    let out = python(&["-c", &code]).success(LIMIT);
    assert_eq!(
        out,
        [
            "answered [('selector', 'apache.org:selector-filter:string', \"colour = 'red'\")]",
            "refused amqp:invalid-field invalid selector at column 9: expected an identifier, \
             a literal or '(', found '='",
        ]
    );
    broker.stop();
}

#[test]
fn durable_subscription_survives_detach_and_reconnect() {
    let broker = Broker::launch(Build::Static, 0, &[], &[], Duration::from_secs(20));
    // A durable subscriber (Proton's DurableSubscription: unsettled-state,
    // expiry never) with a fixed container id and link name receives N
    // messages sent to the topic (credit for N only), then detaches without
    // closing (or, with "close", closes the link: the subscription ends).
    let sub = |n: usize, end: &str| {
        let code = format!(
            "from proton.reactor import Container, DurableSubscription\n\
             from proton.handlers import MessagingHandler\n\
             class H(MessagingHandler):\n\
             \x20   n = 0\n\
             \x20   def __init__(self):\n\
             \x20       super().__init__(prefetch=0)\n\
             \x20   def on_start(self, e):\n\
             \x20       c = e.container.connect('localhost:{port}')\n\
             \x20       e.container.create_receiver(c, 'topic://news', name='sub-1', options=DurableSubscription())\n\
             \x20   def on_link_opened(self, e):\n\
             \x20       print('subscribed', flush=True)\n\
             \x20       if {n} == 0: self.end(e)\n\
             \x20       else: e.receiver.flow({n})\n\
             \x20   def on_message(self, e):\n\
             \x20       print(e.message.body, flush=True); self.n += 1\n\
             \x20       if self.n == {n}: self.end(e)\n\
             \x20   def end(self, e):\n\
             \x20       e.receiver.{end}(); e.connection.close()\n\
             c = Container(H()); c.container_id = 'durable-client'; c.run()\n",
            port = broker.port
        );
        python(&["-c", &code])
    };
    let publish = |from: usize, to: usize| {
        let code = format!(
            "from proton import Message\n\
             from proton.utils import BlockingConnection\n\
             c = BlockingConnection('localhost:{port}')\n\
             s = c.create_sender('topic://news')\n\
             for i in range({from}, {to}): s.send(Message(body='news %d' % i))\n\
             c.close()\n",
            port = broker.port
        );
        python(&["-c", &code]).success(LIMIT);
    };
    assert_eq!(sub(0, "detach").success(LIMIT), ["subscribed"]);
    publish(0, 3); // nobody attached: kept for the durable subscription
    assert_eq!(
        sub(2, "detach").success(LIMIT),
        ["subscribed", "news 0", "news 1"]
    );
    publish(3, 5);
    broker.wait_log("resumes subscription topic://news#durable-client/sub-1");
    assert_eq!(
        sub(3, "close").success(LIMIT),
        ["subscribed", "news 2", "news 3", "news 4"]
    );
    broker.wait_log("subscription topic://news#durable-client/sub-1 ends");
    publish(5, 6); // no subscription any more: dropped
    // A new subscription starts empty.
    let p = sub(1, "close");
    p.wait_line("subscribed", LIMIT);
    publish(6, 7);
    assert_eq!(p.success(LIMIT), ["subscribed", "news 6"]);
    broker.stop();
}

#[test]
fn c_examples_select_and_browse() {
    let broker = Broker::launch(Build::Static, 0, &[], &[], Duration::from_secs(20));
    let url = format!("localhost:{}/examples", broker.port);
    let run = |name: &str, args: &[&str]| {
        let mut all = vec!["-a", url.as_str()];
        all.extend_from_slice(args);
        Program::start(&build(name, Build::Static), &all).success(LIMIT)
    };
    assert_eq!(
        run("colour_send", &["-m", "10"]),
        ["all messages confirmed"]
    );
    let all: Vec<String> = (1..=10)
        .map(|i| format!("{} {i}", if i % 2 == 0 { "red" } else { "green" }))
        .collect();
    assert_eq!(run("queue_browser", &[]), all);
    assert_eq!(
        run("queue_browser", &[]),
        all,
        "browsing took messages away"
    );
    assert_eq!(
        run("selected_recv", &["-m", "5"]),
        ["green 1", "green 3", "green 5", "green 7", "green 9"]
    );
    assert_eq!(
        run("queue_browser", &[]),
        ["red 2", "red 4", "red 6", "red 8", "red 10"]
    );
    // Proton's browser sees the same.
    let seen = browse(broker.port, 5);
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert!(seen.iter().all(|l| l.contains("red")), "{seen:?}");
    // An empty queue: the browser ends at once.
    assert!(
        Program::start(
            &build("queue_browser", Build::Static),
            &["-a", &format!("localhost:{}/nothing-here", broker.port)]
        )
        .success(LIMIT)
        .is_empty()
    );
    broker.stop();
}

#[test]
fn durable_subscription_through_the_c_api() {
    let broker = Broker::launch(Build::Static, 0, &[], &[], Duration::from_secs(20));
    let port = broker.port.to_string();
    let sub = |n: &str, end: &str| {
        Program::start(
            &build("tests/c/durable_sub.c", Build::Static),
            &[&port, n, end],
        )
    };
    let topic = format!("localhost:{port}/topic://news");
    let send = |n: &str| {
        let out = Program::start(
            &build("colour_send", Build::Static),
            &["-a", &topic, "-m", n],
        )
        .success(LIMIT);
        assert_eq!(out, ["all messages confirmed"]);
    };
    let name = "topic://news#c-durable/sub-1";
    let subscribed = "subscribed to topic://news".to_owned();
    assert_eq!(sub("0", "detach").success(LIMIT), [subscribed.as_str()]);
    send("3"); // kept for the detached subscription
    assert_eq!(
        sub("2", "detach").success(LIMIT),
        [subscribed.as_str(), "green 1", "red 2"]
    );
    send("2");
    broker.wait_log(&format!("resumes subscription {name} (3 messages waiting)"));
    assert_eq!(
        sub("3", "close").success(LIMIT),
        [subscribed.as_str(), "green 3", "green 1", "red 2"]
    );
    broker.wait_log(&format!("subscription {name} ends"));
    broker.stop();
}

/// A durable subscription nobody is attached to is bounded like a queue
/// (`-m`): once it is full its topic's producer gets no more credit, and it
/// goes on when the subscriber comes back and takes the messages. Nothing
/// is lost on the way and the subscription never holds more than the bound
/// plus the producer's window and what it had in flight (as `tests/load.rs`
/// allows a queue).
#[test]
fn a_detached_durable_subscription_is_bounded_and_holds_its_producer() {
    let broker = Broker::launch(
        Build::Static,
        0,
        &["-m", "100"],
        &[],
        Duration::from_secs(20),
    );
    let port = broker.port.to_string();
    let sub = |n: &str, end: &str| {
        Program::start(
            &build("tests/c/durable_sub.c", Build::Static),
            &[&port, n, end],
        )
    };
    let subscribed = "subscribed to topic://news".to_owned();
    assert_eq!(sub("0", "detach").success(LIMIT), [subscribed.as_str()]);
    let topic = format!("localhost:{port}/topic://news");
    let mut sender = Program::start(
        &build("colour_send", Build::Static),
        &["-a", &topic, "-m", "3000"],
    );
    let name = "topic://news#c-durable/sub-1";
    broker.wait_log(&format!("queue {name} is full"));
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        sender.is_running(),
        "the producer finished past a full subscription"
    );
    // The subscriber comes back for all of them; the producer resumes.
    let resubscriber = sub("3000", "close");
    broker.wait_log(&format!("resumes subscription {name} ("));
    let log = broker.stderr();
    let at = log.find(&format!("resumes subscription {name} (")).unwrap();
    let waiting: usize = log[at..]
        .split('(')
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (100..=100 + 2 * PRODUCER_WINDOW).contains(&waiting),
        "the subscription held {waiting} messages (bound 100, producer window {PRODUCER_WINDOW}, \
         as much again in flight)"
    );
    // Nothing published while it was away was dropped: the bound held the
    // producer back instead. All 3,000, once each and in order.
    let got = resubscriber.success(LIMIT);
    let want: Vec<String> = std::iter::once(subscribed.clone())
        .chain((1..=3000).map(|n| format!("{} {n}", if n % 2 == 1 { "green" } else { "red" })))
        .collect();
    assert!(
        got == want,
        "subscribed + 3,000 messages in order, got {} lines ending {}",
        got.len(),
        common::program::tail(&got, 5)
    );
    let (status, out, _) = sender.wait(LIMIT);
    assert!(status.success());
    assert_eq!(out, ["all messages confirmed"]);
    broker.stop();
}
