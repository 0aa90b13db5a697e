//! muon's SASL SCRAM (RFC 5802/7677) against an independent implementation,
//! PyPI's `scramp`, over real sockets: `tests/sasl_scramp/peer.py` speaks
//! the AMQP 1.0 SASL frames by hand and leaves SCRAM to scramp.
//!
//! For SCRAM-SHA-1, -256 and -512, in both directions:
//! - scramp's client logs in to the example broker (`--users` with lines from
//!   `broker --hash-password`): the right password passes and the broker's
//!   server signature checks out; a wrong password and an unknown user are
//!   refused with outcome `auth`;
//! - muon's client (`helloworld` with `amqp://user:password@...`) logs in to
//!   scramp's server, which offers just that mechanism: the right password
//!   passes and muon goes on to send the AMQP header; a wrong password is
//!   refused; a server-final with a wrong `v=` makes muon refuse the server
//!   (amqp:unauthorized-access) before any AMQP header goes out.
//!
//! Also, a broker with `--users` and no `--allow-anonymous`, on a cleartext
//! port, neither offers nor accepts ANONYMOUS or PLAIN.
//!
//! The test installs scramp into `python3` (or `$PYTHON`) with pip when it is
//! missing, and fails when it cannot. Every wait is bounded.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use common::examples::hash_password;
use common::program::Program;
use common::{Link, compile_c, manifest_dir};

const MECHS: [&str; 3] = ["SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512"];
const USER: &str = "alice";
const PASSWORD: &str = "s3cret";
/// The limit for one program run; a run normally takes well under a second.
const LIMIT: Duration = Duration::from_secs(20);

// ---- programs -------------------------------------------------------------------

/// The Python that runs the peer, with scramp importable (installed with
/// pip if it is not yet).
fn python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let py = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let has_scramp = || {
            Command::new(&py)
                .args(["-c", "import scramp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !has_scramp() {
            let pip = start(
                Path::new(&py),
                &["-m", "pip", "install", "--quiet", "scramp"],
                "pip install scramp",
            );
            let out = finish(pip, Duration::from_secs(300));
            assert!(
                out.status.success() && has_scramp(),
                "scramp is needed (the independent SCRAM implementation) and \
                 `{py} -m pip install scramp` failed ({}):\n{}{}",
                out.status,
                out.stdout,
                out.stderr
            );
        }
        // The interpreter itself, not a launcher script (pyenv's shim costs
        // a few hundred milliseconds a start).
        let exe = Command::new(&py)
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {py}: {e}"));
        let exe = String::from_utf8_lossy(&exe.stdout).trim().to_owned();
        if exe.is_empty() { py } else { exe }
    })
}

fn peer_script() -> PathBuf {
    manifest_dir().join("tests/sasl_scramp/peer.py")
}

/// The example broker and helloworld, compiled once for the whole file.
fn example(name: &str) -> &'static Path {
    static BROKER: OnceLock<PathBuf> = OnceLock::new();
    static HELLO: OnceLock<PathBuf> = OnceLock::new();
    let cell = match name {
        "broker" => &BROKER,
        "helloworld" => &HELLO,
        _ => unreachable!("only these two are used"),
    };
    cell.get_or_init(|| compile_c(Path::new(&format!("examples-c/{name}.c")), Link::Shared))
}

/// What a finished program printed.
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Starts `program`, named `what` in failure messages.
fn start(program: &Path, args: &[&str], what: &str) -> Program {
    Program::start(program, args).named(what)
}

/// Starts the peer script with `args`.
fn peer(args: &[&str], what: &str) -> Program {
    let script = peer_script();
    let mut all = vec![script.to_str().expect("a UTF-8 path")];
    all.extend_from_slice(args);
    start(Path::new(python()), &all, what)
}

/// Waits for the "listening on PORT" line and returns the port.
fn port(p: &Program) -> u16 {
    let line = p.wait_line("listening on ", LIMIT);
    line["listening on ".len()..]
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("bad port in {line:?}: {e}"))
}

/// Waits for the program to exit (killing it and panicking after `limit`)
/// and returns everything it printed.
fn finish(p: Program, limit: Duration) -> Finished {
    let (status, lines, stderr) = p.wait(limit);
    Finished {
        status,
        stdout: lines.join("\n"),
        stderr,
    }
}

/// Stops a program that serves until killed; returns what it printed.
fn stop(p: Program) -> Finished {
    p.signal(libc::SIGKILL);
    finish(p, LIMIT)
}

fn describe(what: &str, f: &Finished) -> String {
    format!(
        "{what} ({}); stdout:\n{}\nstderr:\n{}",
        f.status, f.stdout, f.stderr
    )
}

// ---- the broker -----------------------------------------------------------------

/// `broker --hash-password NAME` with the password on stdin: the `--users`
/// line (all three SCRAM hashes, no password).
fn hashed_user(name: &str, password: &str) -> String {
    let (status, line, stderr) = hash_password(example("broker"), name, password, LIMIT);
    let out = Finished {
        status,
        stdout: line.clone(),
        stderr,
    };
    assert!(
        out.status.success(),
        "{}",
        describe("broker --hash-password", &out)
    );
    assert!(
        line.starts_with(&format!("{name} ")),
        "{line:?} is not {name}'s"
    );
    for mech in MECHS {
        assert!(
            line.contains(&format!(" {mech}$")),
            "--hash-password gave no {mech} credential: {line:?}"
        );
    }
    assert!(
        !line.contains(password),
        "the users line holds the password: {line:?}"
    );
    line
}

/// The broker's `--users` file: USER and ODD_USER, hashed.
fn users_file() -> PathBuf {
    let lines = format!(
        "{}\n{}\n",
        hashed_user(USER, PASSWORD),
        hashed_user(ODD_USER.0, ODD_PASSWORD.0)
    );
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sasl_interop");
    std::fs::create_dir_all(&dir).expect("can make the test directory");
    let path = dir.join("users");
    std::fs::write(&path, lines).expect("can write the users file");
    path
}

/// Runs the scramp client against `port`; returns its output.
fn scramp_client(port: u16, mech: &str, user: &str, password: &str, force: bool) -> Finished {
    let port = port.to_string();
    let mut args = vec![
        "client",
        "--mech",
        mech,
        "--user",
        user,
        "--password",
        password,
        "--port",
        &port,
    ];
    if force {
        args.push("--force");
    }
    finish(peer(&args, &format!("scramp client {mech} {user}")), LIMIT)
}

/// The offered mechanisms from the client's first line.
fn offered(f: &Finished) -> Vec<String> {
    let first = f.stdout.lines().next().unwrap_or_default();
    let list = first
        .strip_prefix("mechanisms: ")
        .unwrap_or_else(|| panic!("{}", describe("no mechanisms line", f)));
    list.split_whitespace().map(str::to_owned).collect()
}

/// scramp's client with the right password, a wrong one and an unknown user.
fn scramp_client_cases(port: u16, mech: &str) {
    let ok = scramp_client(port, mech, USER, PASSWORD, false);
    assert!(
        ok.status.success() && ok.stdout.ends_with("OK"),
        "{}",
        describe(&format!("{mech}, right password: want OK"), &ok)
    );
    assert!(offered(&ok).iter().any(|m| m == mech), "{mech} not offered");

    let wrong = scramp_client(port, mech, USER, "not-the-password", false);
    assert!(
        !wrong.status.success() && wrong.stdout.contains("FAILED outcome 1"),
        "{}",
        describe(
            &format!("{mech}, wrong password: want FAILED outcome 1 (auth)"),
            &wrong
        )
    );

    let odd = scramp_client(port, mech, ODD_USER.0, ODD_PASSWORD.0, false);
    assert!(
        odd.status.success() && odd.stdout.ends_with("OK"),
        "{}",
        describe(
            &format!("{mech}, user {:?}, non-ASCII password: want OK", ODD_USER.0),
            &odd
        )
    );

    let unknown = scramp_client(port, mech, "mallory", PASSWORD, false);
    assert!(
        !unknown.status.success() && unknown.stdout.contains("FAILED outcome 1"),
        "{}",
        describe(
            &format!("{mech}, unknown user: want FAILED outcome 1 (auth)"),
            &unknown
        )
    );
}

#[test]
fn scramp_client_logs_in_to_the_broker() {
    let users = users_file();
    let broker = start(
        example("broker"),
        &[
            "-a",
            "127.0.0.1:0",
            "--users",
            users.to_str().expect("UTF-8 path"),
        ],
        "broker",
    );
    let port = port(&broker);

    // One thread per mechanism: a run mostly waits for Python to start.
    std::thread::scope(|s| {
        for mech in MECHS {
            s.spawn(move || scramp_client_cases(port, mech));
        }
    });

    // Cleartext, users, no --allow-anonymous: neither ANONYMOUS nor PLAIN
    // is offered, and either one tried anyway is refused.
    for mech in ["ANONYMOUS", "PLAIN"] {
        let tried = scramp_client(port, mech, USER, PASSWORD, true);
        let offers = offered(&tried);
        assert!(
            !offers.iter().any(|m| m == mech),
            "{mech} offered on a cleartext port with --users: {offers:?}"
        );
        assert!(
            !tried.status.success() && tried.stdout.contains("FAILED outcome 1"),
            "{}",
            describe(
                &format!("{mech} tried anyway: want FAILED outcome 1 (auth)"),
                &tried
            )
        );
    }

    // The broker outlived every attempt.
    let ok = scramp_client(port, "SCRAM-SHA-256", USER, PASSWORD, false);
    assert!(ok.status.success(), "{}", describe("last login", &ok));
    let b = stop(broker);
    assert!(
        !b.stderr.contains(PASSWORD) && !b.stdout.contains(PASSWORD),
        "{}",
        describe("the broker printed the password", &b)
    );
}

// ---- muon's client against scramp's server --------------------------------------

/// A user name that needs RFC 5802 escaping (`=2C`, `=3D`) and a non-ASCII
/// password (already in NFKC form, so SASLprep leaves it alone): with their
/// percent-encoded spellings for a URL.
const ODD_USER: (&str, &str) = ("a,b=c", "a%2Cb%3Dc");
const ODD_PASSWORD: (&str, &str) = ("pässwörd", "p%C3%A4ssw%C3%B6rd");

/// What the scramp server and muon's helloworld printed for one login.
struct Login {
    server: Finished,
    client: Finished,
}

/// helloworld logs in as `user` (URL spelling in `.1`) with `password` to
/// a scramp server that knows `user.0` with `known_password`.
fn muon_client_login(
    mech: &str,
    user: (&str, &str),
    known_password: &str,
    password: &str,
    flags: &[&str],
) -> Login {
    let mut args = vec![
        "server",
        "--mech",
        mech,
        "--user",
        user.0,
        "--password",
        known_password,
        "--port",
        "0",
    ];
    args.extend_from_slice(flags);
    let server = peer(&args, &format!("scramp server {mech} {flags:?}"));
    let port = port(&server);
    let url = format!("amqp://{}:{password}@127.0.0.1:{port}/x", user.1);
    let client = finish(
        start(example("helloworld"), &["-a", &url], "helloworld"),
        LIMIT,
    );
    Login {
        server: finish(server, LIMIT),
        client,
    }
}

/// muon's client logs in, and says so by sending the AMQP header.
fn assert_logged_in(case: &str, l: &Login) {
    assert!(
        l.server.status.success()
            && l.server.stdout.contains("AUTH OK")
            && l.server.stdout.contains("AMQP header: yes"),
        "{}\n{}",
        describe(
            &format!("{case}: the scramp server wants AUTH OK and the AMQP header"),
            &l.server
        ),
        describe("helloworld", &l.client)
    );
}

/// muon's client refuses the server: it fails with unauthorized-access
/// saying `why`, and never sends the AMQP header.
fn assert_server_refused(case: &str, l: &Login, why: &str) {
    assert!(
        l.server.status.success()
            && l.server.stdout.contains("AUTH OK")
            && l.server.stdout.contains("AMQP header: no"),
        "{}\n{}",
        describe(
            &format!("{case}: muon's client must not send the AMQP header"),
            &l.server
        ),
        describe("helloworld", &l.client)
    );
    assert!(
        !l.client.status.success()
            && l.client.stderr.contains("amqp:unauthorized-access")
            && l.client.stderr.contains(why),
        "{}",
        describe(
            &format!("{case}: helloworld must refuse the server ({why:?})"),
            &l.client
        )
    );
}

fn muon_client_against_scramp_server(mech: &str) {
    let user = (USER, USER);
    let ok = muon_client_login(mech, user, PASSWORD, PASSWORD, &[]);
    assert_logged_in(&format!("{mech}, right password"), &ok);

    let odd = muon_client_login(mech, ODD_USER, ODD_PASSWORD.0, ODD_PASSWORD.1, &[]);
    assert_logged_in(
        &format!("{mech}, user {:?}, non-ASCII password", ODD_USER.0),
        &odd,
    );

    let wrong = muon_client_login(mech, user, PASSWORD, "not-the-password", &[]);
    assert!(
        wrong.server.stdout.contains("AUTH FAILED")
            && wrong.server.stdout.contains("AMQP header: no"),
        "{}",
        describe(
            &format!("{mech}, wrong password: the scramp server wants AUTH FAILED"),
            &wrong.server
        )
    );
    assert!(
        !wrong.client.status.success()
            && wrong.client.stderr.contains("amqp:unauthorized-access")
            && wrong.client.stderr.contains("invalid-proof"),
        "{}",
        describe(
            &format!("{mech}, wrong password: helloworld must fail, quoting the server's e="),
            &wrong.client
        )
    );

    let forged = muon_client_login(mech, user, PASSWORD, PASSWORD, &["--bad-signature"]);
    assert_server_refused(
        &format!("{mech}, wrong v= in the outcome"),
        &forged,
        "wrong server signature",
    );
}

#[test]
fn muon_client_against_scramp_server_sha1() {
    muon_client_against_scramp_server("SCRAM-SHA-1");
}

#[test]
fn muon_client_against_scramp_server_sha256() {
    muon_client_against_scramp_server("SCRAM-SHA-256");
}

#[test]
fn muon_client_against_scramp_server_sha512() {
    muon_client_against_scramp_server("SCRAM-SHA-512");
}

/// Server shapes other than "v= in the outcome", once each (the hash makes
/// no difference to them): the mechanism offered as a bare symbol rather
/// than an array; the server-final in a last challenge (right and wrong);
/// and an ok outcome with no server-final at all, which muon must refuse:
/// the server has not proved that it knows the password.
#[test]
fn muon_client_against_other_server_shapes() {
    let user = (USER, USER);
    let mech = "SCRAM-SHA-256";
    let bare = muon_client_login(mech, user, PASSWORD, PASSWORD, &["--bare-symbol"]);
    assert_logged_in("mechanisms as a bare symbol", &bare);

    let flags = ["--final-in-challenge"];
    let in_challenge = muon_client_login(mech, user, PASSWORD, PASSWORD, &flags);
    assert_logged_in("server-final in a challenge", &in_challenge);

    let flags = ["--final-in-challenge", "--bad-signature"];
    let forged = muon_client_login(mech, user, PASSWORD, PASSWORD, &flags);
    assert_server_refused("wrong v= in a challenge", &forged, "wrong server signature");

    let omitted = muon_client_login(mech, user, PASSWORD, PASSWORD, &["--omit-final"]);
    assert_server_refused(
        "ok outcome without v=",
        &omitted,
        "without the server signature",
    );
}
