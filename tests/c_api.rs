//! The C API from C: each `tests/c/api_*.c` program is compiled with
//! `-std=c11 -Wall -Wextra -Werror -pedantic` against the static library
//! and run; then again under AddressSanitizer with leak detection and
//! UndefinedBehaviorSanitizer (no recovery), when the C compiler supports
//! them (the Rust side is not instrumented, but every allocation goes
//! through the sanitizer's malloc, so leaks on either side of the API are
//! found). The programs that use threads run under ThreadSanitizer too,
//! linked against a build of muon instrumented for it (see
//! `tsan_library`). One program is also linked against the shared library.
//! Each program checks itself and exits non-zero on the first failed
//! check; here we check its exit status and its last line.
//!
//! CI sets `MUON_REQUIRE_ASAN`, `MUON_REQUIRE_UBSAN` and
//! `MUON_REQUIRE_TSAN`: there a sanitizer that cannot be used fails the
//! test instead of skipping it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::tsan::{tsan_library, tsan_supported};
use common::{Link, lib_dir, manifest_dir, out_dir};

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".to_string())
}

const STRICT: [&str; 6] = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"];
const ASAN: [&str; 2] = ["-fsanitize=address", "-fno-omit-frame-pointer"];
const UBSAN: [&str; 2] = ["-fsanitize=undefined", "-fno-sanitize-recover=undefined"];

/// Compiles `tests/c/<name>.c` against `libmuon.a`, with ASan (and UBSan,
/// when the compiler has it) if asked, into an executable named after
/// `name` and `tag` (tests running at the same time must not share one).
fn compile(name: &str, asan: bool, tag: &str) -> PathBuf {
    let src = manifest_dir().join("tests/c").join(format!("{name}.c"));
    let exe = out_dir().join(format!("{name}-{tag}"));
    let mut cmd = Command::new(cc());
    cmd.args(STRICT)
        .arg(format!("-I{}", manifest_dir().join("include").display()))
        .arg(&src);
    if asan {
        cmd.args(ASAN);
        if ubsan_supported() {
            cmd.args(UBSAN);
        }
    }
    cmd.arg("-o")
        .arg(&exe)
        .arg(lib_dir().join("libmuon.a"))
        .args(["-lpthread", "-ldl", "-lm"]);
    let out = cmd.output().expect("the C compiler runs");
    assert!(
        out.status.success(),
        "compiling {} failed:\n{}{}",
        src.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// True if `cc` with `flags` builds a program that runs.
fn probe(name: &str, flags: &[&str]) -> bool {
    let dir = out_dir();
    let src = dir.join(format!("{name}.c"));
    let exe = dir.join(name);
    std::fs::write(&src, "int main(void) { return 0; }\n").expect("can write the probe");
    let built = Command::new(cc())
        .args(flags)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .is_ok_and(|o| o.status.success());
    built
        && Command::new(&exe)
            .output()
            .is_ok_and(|o| o.status.success())
}

/// True if `cc -fsanitize=address` builds a program that runs.
fn asan_supported() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| probe("asan_probe", &ASAN))
}

/// True if `cc -fsanitize=address,undefined` builds a program that runs.
fn ubsan_supported() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| probe("ubsan_probe", &[&ASAN[..], &UBSAN[..]].concat()))
}

/// Runs `exe` with `env`, expecting exit status 0 and `expect` as the last
/// line of standard output. Returns standard error.
fn run(exe: &Path, args: &[&str], env: &[(&str, &str)], expect: &str) -> String {
    let mut cmd = common::command(exe);
    cmd.args(args)
        .envs(env.iter().copied())
        .env(
            "ASAN_OPTIONS",
            "detect_leaks=1:halt_on_error=1:abort_on_error=0",
        )
        .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        .env("TSAN_OPTIONS", "halt_on_error=1:second_deadlock_stack=1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
    let out = common::ChildGuard(Some(child)).wait(Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{} failed ({}); stdout:\n{stdout}\nstderr:\n{stderr}",
        exe.display(),
        out.status
    );
    assert_eq!(
        stdout.lines().last(),
        Some(expect),
        "{}: stdout:\n{stdout}\nstderr:\n{stderr}",
        exe.display()
    );
    stderr
}

macro_rules! c_program {
    ($name:ident) => {
        mod $name {
            use super::*;

            const NAME: &str = stringify!($name);

            #[test]
            fn static_library() {
                let exe = compile(NAME, false, "static");
                run(&exe, &[], &[], &format!("{NAME}: ok"));
            }

            #[test]
            fn address_sanitizer() {
                if std::env::var_os("VALGRIND").is_some() {
                    eprintln!("under VALGRIND: the ASan build is not run");
                    return;
                }
                if !asan_supported() {
                    // CI sets MUON_REQUIRE_ASAN: there a missing sanitizer
                    // is a failure, never a silent pass.
                    assert!(
                        std::env::var_os("MUON_REQUIRE_ASAN").is_none(),
                        "{} does not support -fsanitize=address, and MUON_REQUIRE_ASAN is set",
                        cc()
                    );
                    eprintln!("{} does not support -fsanitize=address: skipped", cc());
                    return;
                }
                if !ubsan_supported() {
                    assert!(
                        std::env::var_os("MUON_REQUIRE_UBSAN").is_none(),
                        "{} does not support -fsanitize=undefined, and MUON_REQUIRE_UBSAN is set",
                        cc()
                    );
                    eprintln!("{} does not support -fsanitize=undefined: ASan only", cc());
                }
                let exe = compile(NAME, true, "asan");
                run(&exe, &[], &[], &format!("{NAME}: ok"));
            }
        }
    };
}

c_program!(api_null);
c_program!(api_stale);
c_program!(api_close_in_callback);
c_program!(api_reentrant);
c_program!(api_threads);
c_program!(api_scoping);
c_program!(api_manual);
c_program!(api_trace);
c_program!(api_sasl);
c_program!(api_token);
c_program!(api_views);
c_program!(api_durations);
c_program!(api_sendq);
c_program!(api_limits);
c_program!(api_links);
c_program!(api_redirect);

/// tests/c/api_redirect.c with the TLS cases: a redirect over `amqps://`
/// is followed when the target's certificate is valid for the redirect's
/// `hostname`, and fails the handshake when it is not.
#[test]
fn api_redirect_over_tls() {
    let dir = out_dir().join("api_redirect_pki");
    let pki = common::pki::Pki::builder(&dir)
        .ca("ca", "/CN=muon redirect test CA")
        .server("server", "ca")
        .build()
        .expect("the test certificates");
    let exe = compile("api_redirect", false, "tls");
    run(
        &exe,
        &[
            &pki.path("ca.pem"),
            &pki.path("server.pem"),
            &pki.path("server.key"),
        ],
        &[],
        "api_redirect: ok",
    );
}

/// The shared library works the same: one program linked to `libmuon.so`.
#[test]
fn api_scoping_shared_library() {
    let exe = common::compile_c(Path::new("tests/c/api_scoping.c"), Link::Shared);
    run(&exe, &[], &[], "api_scoping: ok");
}

/// `MUON_TRACE=frm`, read when the loop is made, prints the frame trace on
/// standard error when no log callback is set.
#[test]
fn muon_trace_env_prints_frames_to_stderr() {
    let exe = compile("api_trace", false, "env");
    let stderr = run(&exe, &["env"], &[("MUON_TRACE", "frm")], "api_trace: ok");
    for needle in [
        "-> SASL header",
        "-> AMQP header",
        "0 -> @open(16) [container-id=",
        "0 <- @open(16) [",
        "@attach(18) [",
        "@transfer(20) [",
        "@close(24) [",
    ] {
        assert!(stderr.contains(needle), "no {needle:?} in:\n{stderr}");
    }
}

/// A message whose bytes are not an AMQP message: the receiver's
/// application hears of it in `on_message_error` (tests/c/bad_message_receiver.c),
/// whether muon rejected it (unsettled: the sender gets `rejected` with
/// `amqp:decode-error`) or its sender had settled it (lost: the event is
/// all there is), and a good message after them still arrives. The sender
/// is muon's engine through the reactor, sending raw bytes.
#[test]
fn undecodable_messages_are_rejected_and_reported_to_the_application() {
    use muon::codec::message::{Body, Message};
    use muon::codec::messaging::{DeliveryState, Source, Target};
    use muon::codec::transport::Role;
    use muon::engine::{Event, LinkOptions};
    use muon::reactor::{ConnectOptions, Loop, LoopEvent};
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::Instant;

    let exe = compile("bad_message_receiver", false, "static");
    let mut child = Command::new(&exe)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the receiver");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    out.read_line(&mut first).expect("the listening line");
    let port: u16 = first
        .trim()
        .strip_prefix("listening on ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {first:?}"));

    let mut lp = Loop::new().expect("a loop");
    let c = lp
        .connect(&format!("127.0.0.1:{port}"), ConnectOptions::default())
        .expect("connect");
    let options = LinkOptions {
        target: Some(Target {
            address: Some("bad".into()),
            ..Default::default()
        }),
        source: Some(Source::default()),
        ..Default::default()
    };
    let snd = lp.open_link(c, Role::Sender, options).expect("a sender");
    let garbage: &[u8] = b"\x00\x53\x77\xa1\xff not an AMQP value";
    let good = Message {
        body: Body::Value(muon::codec::Value::String("after the bad ones".into())),
        ..Default::default()
    };
    let (mut sent, mut rejected) = (false, None);
    let start = Instant::now();
    while rejected.is_none() || lp.has_work() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no outcome in time"
        );
        while let Some(ev) = lp.next_event() {
            match ev {
                LoopEvent::Engine(id, Event::LinkFlow(l)) if id == c && l == snd && !sent => {
                    let e = lp.engine(c).expect("the engine");
                    e.send(snd, None, garbage, false)
                        .expect("send unsettled garbage");
                    e.send(snd, None, garbage, true)
                        .expect("send settled garbage");
                    e.send(snd, None, &good, false).expect("send the good one");
                    sent = true;
                }
                LoopEvent::Engine(id, Event::DeliveryUpdated(d))
                    if id == c && rejected.is_none() =>
                {
                    let e = lp.engine(c).expect("the engine");
                    rejected = e.delivery_remote_state(d).cloned();
                }
                LoopEvent::Engine(id, Event::ConnectionRemoteClose) if id == c => {
                    let _ = lp.close(c, None);
                }
                LoopEvent::ConnectionFinal(id) => lp.release_connection(id),
                _ => {}
            }
        }
        if rejected.is_some() && !lp.has_work() {
            break;
        }
        lp.poll(Some(Duration::from_millis(50))).expect("poll");
    }
    match rejected {
        Some(DeliveryState::Rejected(r)) => {
            let e = r.error.expect("a rejection with its error");
            assert_eq!(e.condition.as_str(), "amqp:decode-error");
            assert!(
                e.description
                    .as_deref()
                    .is_some_and(|d| d.contains("could not be decoded")),
                "{e:?}"
            );
        }
        other => panic!("the garbage was not rejected: {other:?}"),
    }
    let status = child.wait().expect("the receiver ends");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).expect("its output");
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut err).ok();
    }
    assert!(status.success(), "{status}: {rest}{err}");
    let lines: Vec<&str> = rest.lines().collect();
    assert_eq!(lines.len(), 4, "{rest}");
    assert!(
        lines[0].starts_with("error: amqp:decode-error: a message could not be decoded")
            && lines[0].ends_with("; rejected"),
        "{rest}"
    );
    assert!(
        lines[1].ends_with("settled by its sender, so it is lost"),
        "{rest}"
    );
    assert_eq!(lines[2], "message: after the bad ones");
    assert_eq!(lines[3], "bad_message_receiver: ok");
}

/// A receiver's max-message-size is enforced on what arrives: the C
/// program (`api_links maxrecv PORT`) opens a receiver with a limit of
/// 1000 bytes against a peer that sends a larger message anyway (muon's
/// engine over a plain socket, the transfer frame written by hand, since
/// muon's own senders refuse such a message). The message before it
/// arrives; the large one detaches the link with
/// `amqp:link:message-size-exceeded`, which the peer receives and the
/// application reads as the link's local condition.
#[test]
fn a_message_over_the_receiver_max_message_size_detaches_its_link() {
    use muon::codec::frame::{self, FRAME_TYPE_AMQP};
    use muon::codec::message::{Body, Message};
    use muon::codec::transport::{Transfer, condition};
    use muon::codec::{DeliveryTag, Encode};
    use muon::engine::{Config, Connection, Event, SaslConfig};
    use std::io::{ErrorKind, Read, Write};
    use std::net::TcpListener;
    use std::time::Instant;

    let exe = compile("api_links", false, "maxrecv");
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener
        .local_addr()
        .expect("its address")
        .port()
        .to_string();
    let child = common::ChildGuard(Some(
        common::command(&exe)
            .args(["maxrecv", &port])
            .env("MUON_TRACE", "frm")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start api_links"),
    ));
    let (mut sock, _) = listener.accept().expect("the program connects");
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .expect("a read timeout");
    let config = Config {
        container_id: "raw-peer".into(),
        sasl: SaslConfig {
            allow_anonymous: true,
            ..SaslConfig::default()
        },
        ..Config::default()
    };
    let mut conn = Connection::server(config, Instant::now());
    let message = |n: usize| {
        let m = Message {
            body: Body::Data(vec![vec![b'x'; n]]),
            ..Default::default()
        };
        let mut out = Vec::new();
        m.encode(&mut out);
        out
    };
    let write_out = |conn: &mut Connection, sock: &mut std::net::TcpStream| {
        let n = conn.output().len();
        if n > 0 {
            sock.write_all(conn.output()).expect("write");
            conn.consume_output(n);
        }
    };
    let (mut sent, mut detached_with, mut done) = (false, None, false);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = vec![0u8; 65536];
    while !done {
        assert!(
            Instant::now() < deadline,
            "the exchange did not end in time"
        );
        write_out(&mut conn, &mut sock);
        match sock.read(&mut buf) {
            Ok(0) => conn.input_closed(Instant::now()),
            Ok(n) => conn.receive(&buf[..n], Instant::now()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("read: {e}"),
        }
        while let Some(ev) = conn.next_event() {
            match ev {
                Event::ConnectionRemoteOpen => conn.open(),
                Event::SessionRemoteOpen(s) => conn.session_open(s).expect("begin"),
                Event::LinkRemoteOpen(l) => {
                    let asked = conn.link_remote_attach(l).and_then(|a| a.max_message_size);
                    assert_eq!(asked, Some(1000), "the receiver's limit is in its attach");
                    conn.link_open(l).expect("attach");
                }
                Event::LinkFlow(l) if !sent && conn.link_credit(l) > 0 => {
                    sent = true;
                    conn.send(l, None, message(500).as_slice(), true)
                        .expect("the small message");
                    write_out(&mut conn, &mut sock);
                    // Delivery 1 on handle 0 of channel 0: the engine's
                    // first link of its first session sent delivery 0.
                    let t = Transfer {
                        handle: 0,
                        delivery_id: Some(1),
                        delivery_tag: DeliveryTag::new(b"big"),
                        message_format: Some(0),
                        settled: Some(true),
                        more: false,
                        rcv_settle_mode: None,
                        state: None,
                        resume: false,
                        aborted: false,
                        batchable: false,
                    };
                    let mut raw = Vec::new();
                    let mark = frame::begin_frame(&mut raw, FRAME_TYPE_AMQP, 0);
                    t.encode(&mut raw);
                    raw.extend_from_slice(&message(2000));
                    frame::end_frame(&mut raw, mark);
                    sock.write_all(&raw).expect("the large message");
                }
                Event::LinkRemoteClose(l) => {
                    detached_with = conn
                        .link_remote_condition(l)
                        .map(|e| e.condition.as_str().to_owned());
                    let closed = conn.link_remote_closed(l);
                    conn.link_close(l, closed, None).expect("answer the detach");
                }
                Event::ConnectionRemoteClose => conn.close(None),
                Event::TransportClosed => done = true,
                _ => {}
            }
        }
    }
    write_out(&mut conn, &mut sock);
    let out = child.wait(Duration::from_secs(20));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(
        detached_with.as_deref(),
        Some(condition::MESSAGE_SIZE_EXCEEDED),
        "{stderr}"
    );
    assert_eq!(stdout.lines().last(), Some("api_links: ok"), "{stderr}");
}

/// rcv-settle-mode second and a detached, resumed receiver through the
/// example broker (`api_links broker PORT`): the broker takes the mode its
/// peers ask for (its links answer with it), so a receiver asking for it
/// gets outcomes settled after the broker saw them, and a sender asking
/// for it sees the broker's outcomes unsettled and settles them; a
/// receiver detached (not closed) is answered with a detach and, attached
/// again with the same name, receives what stayed in the queue.
#[test]
fn rcv_settle_second_and_detach_through_the_example_broker() {
    use common::examples::{Broker, Build};
    let broker = Broker::launch(Build::Static, 0, &[], &[], Duration::from_secs(20));
    let exe = compile("api_links", false, "broker");
    run(
        &exe,
        &["broker", &broker.port.to_string()],
        &[],
        "api_links: ok",
    );
    let log = broker.stop();
    assert!(log.contains("consumer from links-durable"), "{log}");
}
c_program!(api_url);

#[path = "fault_proxy/mod.rs"]
mod fault_proxy;

/// Reconnect while a receiver holds unsettled deliveries
/// (tests/c/api_reconnect_unsettled.c): the example broker's queue holds
/// 10 messages; the program takes 5 through a proxy, holds them unsettled
/// and says so; the proxy cuts the connection; after the built-in
/// reconnect the old delivery handles are stale (an accept is refused with
/// `MUON_RESULT_STALE_HANDLE`) and the broker redelivers the 5, then the
/// rest. Statically linked, then under AddressSanitizer.
fn reconnect_unsettled(asan: bool, tag: &str) {
    use common::examples::{Broker, Build, build};
    use common::program::Program;

    let exe = compile("api_reconnect_unsettled", asan, tag);
    let limit = Duration::from_secs(60);
    let broker = Broker::launch(Build::Static, 0, &[], &[], limit);
    let url = format!("127.0.0.1:{}/unsettled", broker.port);
    let sent = Program::start(
        &build("simple_send", Build::Static),
        &["-a", &url, "-m", "10"],
    )
    .success(limit);
    assert_eq!(sent, ["all messages confirmed"]);
    let upstream = format!("127.0.0.1:{}", broker.port)
        .parse()
        .expect("an address");
    let proxy = fault_proxy::FaultProxy::with(upstream, fault_proxy::Fault::None);
    let program = Program::start(&exe, &[&format!("127.0.0.1:{}", proxy.port()), "unsettled"]);
    program.wait_line("holding 5", limit);
    assert_eq!(proxy.cut_all(), 1, "one connection to cut");
    let out = program.success(limit);
    assert_eq!(
        out.last().map(String::as_str),
        Some("api_reconnect_unsettled: ok")
    );
    assert!(proxy.accepted() >= 2, "the program did not reconnect");
    drop(proxy);
    broker.stop();
}

#[test]
fn api_reconnect_unsettled_static_library() {
    reconnect_unsettled(false, "static");
}

#[test]
fn api_reconnect_unsettled_address_sanitizer() {
    if std::env::var_os("VALGRIND").is_some() {
        eprintln!("under VALGRIND: the ASan build is not run");
        return;
    }
    if !asan_supported() {
        assert!(
            std::env::var_os("MUON_REQUIRE_ASAN").is_none(),
            "{} does not support -fsanitize=address, and MUON_REQUIRE_ASAN is set",
            cc()
        );
        eprintln!("{} does not support -fsanitize=address: skipped", cc());
        return;
    }
    reconnect_unsettled(true, "asan");
}

// ---- ThreadSanitizer ---------------------------------------------------------

/// The programs that call muon from more than one thread (posting,
/// waking, a loop per thread): run under ThreadSanitizer as well.
const THREADED_PROGRAMS: [&str; 1] = ["api_threads"];

#[test]
fn threaded_programs_under_thread_sanitizer() {
    if std::env::var_os("VALGRIND").is_some() {
        eprintln!("under VALGRIND: the TSan build is not run");
        return;
    }
    let required = std::env::var_os("MUON_REQUIRE_TSAN").is_some();
    if !tsan_supported() {
        assert!(
            !required,
            "{} cannot build a ThreadSanitizer program that reports a race, and MUON_REQUIRE_TSAN is set",
            cc()
        );
        eprintln!("{} does not support -fsanitize=thread: skipped", cc());
        return;
    }
    let build = match tsan_library() {
        Ok(built) => built,
        Err(why) => {
            assert!(!required, "{why}");
            eprintln!("{why}\nskipped");
            return;
        }
    };
    for name in THREADED_PROGRAMS {
        let src = manifest_dir().join("tests/c").join(format!("{name}.c"));
        let exe = out_dir().join(format!("{name}-tsan"));
        let mut cmd = Command::new(cc());
        cmd.args(STRICT)
            .args(["-fsanitize=thread", "-O1"])
            .arg(format!("-I{}", manifest_dir().join("include").display()))
            .arg(&src)
            .arg(&build.shim)
            .arg(&build.wrap)
            .arg("-o")
            .arg(&exe)
            .arg(&build.lib)
            .args(["-lpthread", "-ldl", "-lm"]);
        let out = cmd.output().expect("the C compiler runs");
        assert!(
            out.status.success(),
            "compiling {} with -fsanitize=thread failed:\n{}",
            src.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = run(&exe, &[], &[], &format!("{name}: ok"));
        assert!(
            !stderr.contains("ThreadSanitizer"),
            "{name}: ThreadSanitizer reported:\n{stderr}"
        );
    }
}

// Real uses of functions the other programs only call with NULL or as
// plain values, checked by their effect over real connections.
c_program!(api_real_use);
