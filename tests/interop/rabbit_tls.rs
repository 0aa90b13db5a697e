//! §4 over TLS: muon's examples against the private RabbitMQ node's TLS
//! listener (Erlang's TLS; certificates from `make_pki` in peers.rs, made
//! with tests/common/pki.rs). PLAIN over TLS with the URL's user, SASL
//! EXTERNAL with a client certificate (RabbitMQ takes the certificate's
//! common name as the user), and the refusals a user meets first: a CA that
//! did not sign the server's certificate, and the wrong scheme for the port
//! either way. The cases that log in use queues that RabbitMQ's anonymous
//! user may not touch (rabbitmq.conf.in), and read the mechanism muon chose
//! from its frame trace.

use super::*;

/// How long a case waits for the node (it boots while others run).
const BOOT: Duration = Duration::from_secs(150);

/// A muon program with the frame trace on, whatever MUON_INTEROP_TRACE
/// says: these cases read the SASL frames.
fn traced(ctx: &Ctx, name: &str) -> Result<Command, String> {
    let mut c = ctx.muon(name)?;
    c.env("MUON_TRACE", "frm");
    Ok(c)
}

/// The symbol X of `[field=:X` (a frame's first field) in the first trace line
/// that has it.
fn symbol_after<'a>(trace: &'a str, field: &str) -> Option<&'a str> {
    // `@sasl-init(65) [mechanism=:PLAIN, ...]`
    let start = format!("[{field}=:");
    let i = trace.find(&start)? + start.len();
    let rest = &trace[i..];
    Some(&rest[..rest.find([',', ']'])?])
}

/// The mechanisms the server offered, from the sasl-mechanisms frame in
/// the trace: `ANONYMOUS AMQPLAIN PLAIN EXTERNAL`.
fn offered(trace: &str) -> String {
    // `@sasl-mechanisms(64) [sasl-server-mechanisms=[:ANONYMOUS, :PLAIN]]`
    let start = "sasl-server-mechanisms=[";
    trace
        .find(start)
        .map(|i| &trace[i + start.len()..])
        .and_then(|rest| rest.find(']').map(|end| &rest[..end]))
        .map_or_else(
            || "?".into(),
            |list| {
                list.split(", ")
                    .map(|m| m.trim_start_matches(':'))
                    .collect::<Vec<_>>()
                    .join(" ")
            },
        )
}

/// Checks a login in `run`'s frame trace: the mechanism muon sent in
/// sasl-init is `want`, and the outcome was ok. Returns a note: the
/// mechanism chosen and those offered.
fn check_login(what: &str, run: &Run, want: &str) -> Result<String, String> {
    let trace = split_trace(&run.stderr).0;
    if trace.is_empty() {
        return Err(format!("{what}: no frame trace on stderr (MUON_TRACE=frm)"));
    }
    let got = symbol_after(&trace, "mechanism").ok_or_else(|| {
        format!(
            "{what}: no sasl-init in the frame trace: {}",
            run.describe()
        )
    })?;
    if got != want {
        return Err(format!(
            "{what}: SASL mechanism {got}, expected {want}: {}",
            run.describe()
        ));
    }
    if !trace
        .lines()
        .any(|l| l.contains("@sasl-outcome(68) [code=0"))
    {
        return Err(format!(
            "{what}: no sasl-outcome with code Ok in the frame trace: {}",
            run.describe()
        ));
    }
    Ok(format!("SASL {got} (offered: {})", offered(&trace)))
}

/// 1,000 messages through RabbitMQ over `amqps://` with `guest:guest` in
/// the URL: SASL PLAIN inside TLS, and the password never in the trace.
fn send_recv_plain(ctx: &Ctx) -> Result<String, String> {
    ctx.needs(&["simple_send", "simple_recv"])?;
    let rabbit = &ctx.env.rabbit;
    let port = rabbit.wait_tls(BOOT)?;
    let q = unique(ctx, "plain-tls");
    let url = format!("amqps://guest:guest@localhost:{port}//queue/{q}");
    let ca = rabbit.pki("ca.pem");
    let n = 1000;
    let m = n.to_string();
    let recv = ctx.start(args(
        traced(ctx, "simple_recv"),
        &["-a", &url, "-m", &m, "--ca", &ca],
    )?)?;
    let send = ok(
        ctx,
        args(
            traced(ctx, "simple_send"),
            &["-a", &url, "-m", &m, "--ca", &ca],
        ),
        LIMIT,
    );
    let recv = finish(recv, &send, LIMIT);
    let send = send?;
    expect_lines("muon simple_send", &send.stdout, "all messages confirmed\n")?;
    let recv = recv.require_ok()?;
    expect_lines("muon simple_recv", &recv.stdout, &sequence_lines(n))?;
    let mut login = String::new();
    for (what, run) in [("simple_send", &send), ("simple_recv", &recv)] {
        login = check_login(what, run, "PLAIN")?;
        // The user is guest too: once the trace's `user "guest"` is taken
        // out, nothing may say guest (the password, or the URL with it).
        let rest = run.stderr.replace(r#"user "guest""#, "");
        if let Some(l) = rest.lines().find(|l| l.contains("guest")) {
            return Err(format!("{what}'s stderr shows the password: {l}"));
        }
    }
    Ok(format!(
        "{n} messages in order over TLS, {login}, user guest, password not in the trace"
    ))
}

/// helloworld with a client certificate and no user: SASL EXTERNAL, and
/// RabbitMQ logs the certificate's common name as the user.
fn helloworld_external(ctx: &Ctx) -> Result<String, String> {
    ctx.needs(&["helloworld"])?;
    let rabbit = &ctx.env.rabbit;
    let port = rabbit.wait_tls(BOOT)?;
    let q = unique(ctx, "cert-hello");
    let url = format!("amqps://localhost:{port}//queue/{q}");
    let (ca, cert, key) = (
        rabbit.pki("ca.pem"),
        rabbit.pki("client.pem"),
        rabbit.pki("client.key"),
    );
    let r = ok(
        ctx,
        args(
            traced(ctx, "helloworld"),
            &["-a", &url, "--ca", &ca, "--cert", &cert, "--key", &key],
        ),
        LIMIT,
    )?;
    expect_lines("muon helloworld", &r.stdout, "Hello World!\n")?;
    let login = check_login("helloworld", &r, "EXTERNAL")?;
    // RabbitMQ's logger writes its file a little after the fact.
    let user = crate::peers::CLIENT_CN;
    let logged = format!("user '{user}' authenticated");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !rabbit.log_tail(100_000).contains(&logged) {
        if Instant::now() > deadline {
            return Err(format!(
                "RabbitMQ's log does not say {logged:?}: {}",
                r.describe()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(format!(
        "Hello World!, {login}; RabbitMQ logged user '{user}' (the certificate's CN)"
    ))
}

/// Runs `program -a URL extra...` and requires exit status 1 and a line
/// `program: ...` on stderr containing `want`.
fn refused(
    ctx: &Ctx,
    program: &str,
    url: &str,
    extra: &[&str],
    want: &str,
) -> Result<String, String> {
    ctx.needs(&[program])?;
    let mut a = vec!["-a", url];
    a.extend_from_slice(extra);
    let r = ctx.run(args(traced(ctx, program), &a)?, Duration::from_secs(30));
    let code = r.status.and_then(|s| s.code());
    if r.timed_out || code != Some(1) {
        return Err(format!(
            "{program} should exit 1 saying {want:?}: {}",
            r.describe()
        ));
    }
    let own = format!("{program}: ");
    match split_trace(&r.stderr)
        .1
        .lines()
        .find(|l| l.starts_with(&own) && l.contains(want))
    {
        Some(l) => Ok(format!("exit 1: {}", l.trim())),
        None => Err(format!(
            "{program} did not print {want:?} on stderr: {}",
            r.describe()
        )),
    }
}

/// The server's certificate checked against a CA that did not sign it.
fn unrelated_ca(ctx: &Ctx) -> Result<String, String> {
    let rabbit = &ctx.env.rabbit;
    let port = rabbit.wait_tls(BOOT)?;
    let url = format!("amqps://localhost:{port}//queue/{}", unique(ctx, "never"));
    refused(
        ctx,
        "helloworld",
        &url,
        &["--ca", &rabbit.pki("other-ca.pem")],
        "unknown certificate authority",
    )
}

/// `amqp://` to the TLS port: Erlang's TLS answers the AMQP header with a
/// TLS alert.
fn plain_to_tls_port(ctx: &Ctx) -> Result<String, String> {
    let port = ctx.env.rabbit.wait_tls(BOOT)?;
    let url = format!("amqp://localhost:{port}//queue/{}", unique(ctx, "never"));
    refused(
        ctx,
        "helloworld",
        &url,
        &[],
        "the server speaks TLS on this port: connect with amqps://",
    )
}

/// `amqps://` to the plain port: RabbitMQ answers the ClientHello with
/// AMQP's protocol header.
fn tls_to_plain_port(ctx: &Ctx) -> Result<String, String> {
    let rabbit = &ctx.env.rabbit;
    let port = rabbit.wait(BOOT)?;
    let url = format!("amqps://localhost:{port}//queue/{}", unique(ctx, "never"));
    refused(
        ctx,
        "helloworld",
        &url,
        &["--ca", &rabbit.pki("ca.pem")],
        "did not answer with TLS",
    )
}

pub fn cases() -> Vec<Case> {
    let peer = B::Rabbit.label();
    vec![
        case(
            "4",
            peer,
            "TLS: muon simple_send → simple_recv (1000), SASL PLAIN over amqps",
            send_recv_plain,
        ),
        case(
            "4",
            peer,
            "TLS: muon helloworld, client certificate, SASL EXTERNAL",
            helloworld_external,
        ),
        case(
            "4",
            peer,
            "TLS: unrelated CA → helloworld exits 1",
            unrelated_ca,
        ),
        case(
            "4",
            peer,
            "TLS: amqp:// to the TLS port → helloworld exits 1",
            plain_to_tls_port,
        ),
        case(
            "4",
            peer,
            "TLS: amqps:// to the plain port → helloworld exits 1",
            tls_to_plain_port,
        ),
    ]
}
