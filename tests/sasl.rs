//! SASL (spec §5.3) engine against engine, and against hand-made peers:
//! every mechanism with right and wrong credentials, the safe server
//! default, SCRAM with the RFC 5802 / RFC 7677 vectors, malformed SCRAM
//! messages, and the redaction of credentials in `Debug` (the frame trace).

mod common_engine;

use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common_engine::*;
use muon::codec::frame::{AMQP_HEADER, SASL_HEADER};
use muon::codec::security::{
    SaslChallenge, SaslCode, SaslFrame, SaslInit, SaslMechanisms, SaslOutcome, SaslResponse,
};
use muon::codec::transport::condition;
use muon::codec::{Binary, Symbol, Symbols};
use muon::engine::{
    Authenticator, Config, Connection, CredentialStore, EndpointState, Event, Mechanism,
    SaslConfig, ScramCredentials,
};

// ---- helpers -------------------------------------------------------------------------

fn offered(p: &Pair) -> Vec<String> {
    match sasl_frames(&p.s.sent.units).first() {
        Some(SaslFrame::Mechanisms(m)) => m
            .sasl_server_mechanisms
            .0
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
        other => panic!("first server SASL frame: {other:?}"),
    }
}

fn outcome(p: &Pair) -> Option<SaslOutcome> {
    sasl_frames(&p.s.sent.units)
        .into_iter()
        .find_map(|f| match f {
            SaslFrame::Outcome(o) => Some(o),
            _ => None,
        })
}

fn chosen(p: &Pair) -> String {
    sasl_frames(&p.c.sent.units)
        .into_iter()
        .find_map(|f| match f {
            SaslFrame::Init(i) => Some(i.mechanism.as_str().to_owned()),
            _ => None,
        })
        .expect("client sent sasl-init")
}

fn error_text(events: &[Event]) -> String {
    events
        .iter()
        .find_map(|e| match e {
            Event::TransportError(e) => Some(format!(
                "{}: {}",
                e.condition.as_str(),
                e.description.as_deref().unwrap_or("")
            )),
            _ => None,
        })
        .unwrap_or_default()
}

fn assert_opened(p: &Pair) {
    assert!(p.c.events.contains(&Event::SaslDone), "{:?}", p.c.events);
    assert!(p.s.events.contains(&Event::SaslDone), "{:?}", p.s.events);
    assert_eq!(p.c.conn.remote_state(), EndpointState::Active);
    assert_eq!(p.s.conn.remote_state(), EndpointState::Active);
}

/// The login failed with outcome `auth`: both sides report
/// unauthorized-access, nothing AMQP was sent.
fn assert_refused(p: &Pair) {
    assert_eq!(outcome(p).map(|o| o.code), Some(SaslCode::Auth));
    assert_eq!(
        transport_errors(&p.c.events),
        vec![condition::UNAUTHORIZED_ACCESS],
        "{:?}",
        p.c.events
    );
    assert_eq!(
        transport_errors(&p.s.events),
        vec![condition::UNAUTHORIZED_ACCESS]
    );
    assert!(p.c.conn.is_done() && p.s.conn.is_done());
    assert!(p.c.sent.perfs().next().is_none());
    assert!(p.s.sent.perfs().next().is_none());
    assert_eq!(p.s.conn.sasl_user(), None);
}

fn client(mechs: &[Mechanism], user: &str, pass: &str) -> SaslConfig {
    SaslConfig {
        mechanisms: mechs.to_vec(),
        username: Some(user.into()),
        password: Some(pass.into()),
        allow_insecure_plain: true,
        ..SaslConfig::default()
    }
}

fn store(users: &[(&str, &str)]) -> CredentialStore {
    let mut s = CredentialStore::new();
    for (u, p) in users {
        s.add_password(u, p);
    }
    s
}

fn server(store: CredentialStore) -> SaslConfig {
    SaslConfig {
        allow_insecure_plain: true,
        authenticator: Authenticator::Credentials(store),
        ..SaslConfig::default()
    }
}

fn app_server() -> SaslConfig {
    SaslConfig {
        allow_insecure_plain: true,
        authenticator: Authenticator::Application,
        ..SaslConfig::default()
    }
}

const SCRAMS: [Mechanism; 3] = [
    Mechanism::ScramSha1,
    Mechanism::ScramSha256,
    Mechanism::ScramSha512,
];

/// One engine driven by hand: feed it frames, read what it wrote.
struct Peer {
    conn: Connection,
    events: Vec<Event>,
}

impl Peer {
    fn client(sasl: SaslConfig) -> Peer {
        let mut conn = Connection::client(
            Config {
                sasl,
                ..client_config()
            },
            Instant::now(),
        );
        conn.open();
        Peer {
            conn,
            events: Vec::new(),
        }
    }

    fn server(sasl: SaslConfig) -> Peer {
        let conn = Connection::server(
            Config {
                sasl,
                ..server_config()
            },
            Instant::now(),
        );
        Peer {
            conn,
            events: Vec::new(),
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.conn.receive(bytes, Instant::now());
        while let Some(e) = self.conn.next_event() {
            self.events.push(e);
        }
    }

    fn feed_sasl(&mut self, f: SaslFrame) {
        self.feed(&sasl_frame(&f));
    }

    /// The SASL frames written since last asked.
    fn written(&mut self) -> Vec<SaslFrame> {
        let out = self.conn.output().to_vec();
        self.conn.consume_output(out.len());
        sasl_frames(&decode_all(&out))
    }

    fn failed_with(&self, cond: &str, text: &str) {
        let err = error_text(&self.events);
        assert!(
            err.starts_with(cond) && err.contains(text),
            "expected {cond} with {text:?}, got {err:?}"
        );
        assert!(self.conn.is_done());
    }
}

fn mechanisms(names: &[&str]) -> SaslFrame {
    SaslFrame::Mechanisms(SaslMechanisms {
        sasl_server_mechanisms: Symbols(names.iter().map(|n| Symbol::from(*n)).collect()),
    })
}

fn challenge(b: &[u8]) -> SaslFrame {
    SaslFrame::Challenge(SaslChallenge {
        challenge: Binary(b.to_vec()),
    })
}

fn response(b: &[u8]) -> SaslFrame {
    SaslFrame::Response(SaslResponse {
        response: Binary(b.to_vec()),
    })
}

fn init(mech: &str, b: &[u8]) -> SaslFrame {
    SaslFrame::Init(SaslInit {
        mechanism: Symbol::from(mech),
        initial_response: Some(Binary(b.to_vec())),
        hostname: None,
    })
}

fn ok_outcome(data: Option<&[u8]>) -> SaslFrame {
    SaslFrame::Outcome(SaslOutcome {
        code: SaslCode::Ok,
        additional_data: data.map(|d| Binary(d.to_vec())),
    })
}

fn bytes_of(f: &SaslFrame) -> Vec<u8> {
    match f {
        SaslFrame::Init(i) => i.initial_response.clone().unwrap_or_default().0,
        SaslFrame::Challenge(c) => c.challenge.0.clone(),
        SaslFrame::Response(r) => r.response.0.clone(),
        SaslFrame::Outcome(o) => o.additional_data.clone().unwrap_or_default().0,
        SaslFrame::Mechanisms(_) => Vec::new(),
    }
}

// ---- the safe default ----------------------------------------------------------------

#[test]
fn default_server_offers_anonymous_only_even_over_tls() {
    for encrypted in [false, true] {
        let p = sasl_pair(
            client(&Mechanism::ALL, "alice", "guess"),
            SaslConfig::default(),
            encrypted,
        );
        assert_eq!(offered(&p), vec!["ANONYMOUS"]);
        // The client has credentials: no silent fallback to ANONYMOUS.
        assert_eq!(
            transport_errors(&p.c.events),
            vec![condition::UNAUTHORIZED_ACCESS]
        );
        assert!(sasl_frames(&p.c.sent.units).is_empty());
    }
}

#[test]
fn default_server_never_lets_a_password_in() {
    // A hand-made client insists on PLAIN (and SCRAM) all the same.
    for (mech, resp) in [
        ("PLAIN", &b"\0alice\0anything"[..]),
        ("SCRAM-SHA-256", b"n,,n=alice,r=abcdefgh"),
        ("XOAUTH2", b"user=alice\x01auth=Bearer t\x01\x01"),
        ("EXTERNAL", b""),
        ("DIGEST-MD5", b""),
    ] {
        let mut s = Peer::server(SaslConfig {
            allow_insecure_plain: true,
            ..SaslConfig::default()
        });
        s.feed(&SASL_HEADER);
        assert_eq!(s.written()[0], mechanisms(&["ANONYMOUS"]));
        s.feed_sasl(init(mech, resp));
        let out = s.written();
        assert!(
            matches!(&out[..], [SaslFrame::Outcome(o)] if o.code == SaslCode::Auth),
            "{mech}: {out:?}"
        );
        s.failed_with(condition::UNAUTHORIZED_ACCESS, "not offered");
        assert_eq!(s.conn.sasl_user(), None);
    }
}

#[test]
fn default_server_lets_anonymous_in() {
    let p = sasl_pair(SaslConfig::default(), SaslConfig::default(), false);
    assert_eq!(chosen(&p), "ANONYMOUS");
    assert_opened(&p);
    // ANONYMOUS logs in as no one (no name an access rule could match).
    assert_eq!(p.s.conn.sasl_user(), None);
    assert_eq!(p.s.conn.sasl_mechanism(), Some(Mechanism::Anonymous));
}

#[test]
fn skipping_sasl_is_refused_when_an_authenticator_is_set() {
    let p = sasl_pair(
        SaslConfig {
            enabled: false,
            ..SaslConfig::default()
        },
        server(store(&[("a", "b")])),
        false,
    );
    assert_eq!(p.s.sent.units, vec![Wire::Header(SASL_HEADER)]);
    assert_eq!(
        transport_errors(&p.s.events),
        vec![condition::NOT_IMPLEMENTED]
    );
}

#[test]
fn authenticator_hides_anonymous_unless_allowed() {
    let p = sasl_pair(SaslConfig::default(), server(store(&[("a", "b")])), false);
    assert!(!offered(&p).contains(&"ANONYMOUS".to_owned()));
    assert_eq!(
        transport_errors(&p.c.events),
        vec![condition::UNAUTHORIZED_ACCESS]
    );
    let p = sasl_pair(
        SaslConfig::default(),
        SaslConfig {
            allow_anonymous: true,
            ..server(store(&[("a", "b")]))
        },
        false,
    );
    assert_eq!(
        offered(&p),
        vec![
            "SCRAM-SHA-512",
            "SCRAM-SHA-256",
            "SCRAM-SHA-1",
            "PLAIN",
            "ANONYMOUS"
        ]
    );
    assert_opened(&p);
}

#[test]
fn mechanisms_list_restricts_the_offer_and_the_choice() {
    let srv = SaslConfig {
        mechanisms: vec![Mechanism::ScramSha1, Mechanism::Plain],
        ..server(store(&[("u", "pw")]))
    };
    let p = sasl_pair(client(&Mechanism::ALL, "u", "pw"), srv, false);
    assert_eq!(offered(&p), vec!["SCRAM-SHA-1", "PLAIN"]);
    assert_eq!(chosen(&p), "SCRAM-SHA-1");
    assert_opened(&p);
    // The client restricts too.
    let p = sasl_pair(
        client(&[Mechanism::Plain], "u", "pw"),
        server(store(&[("u", "pw")])),
        false,
    );
    assert_eq!(chosen(&p), "PLAIN");
    assert_opened(&p);
}

#[test]
fn plain_needs_encryption_on_the_server_too() {
    let srv = SaslConfig {
        allow_insecure_plain: false,
        ..server(store(&[("u", "pw")]))
    };
    let p = sasl_pair(client(&Mechanism::ALL, "u", "pw"), srv.clone(), false);
    assert!(!offered(&p).contains(&"PLAIN".to_owned()));
    let p = sasl_pair(client(&[Mechanism::Plain], "u", "pw"), srv, true);
    assert!(offered(&p).contains(&"PLAIN".to_owned()));
    assert_opened(&p);
}

// ---- PLAIN -----------------------------------------------------------------------------

#[test]
fn plain_right_and_wrong_password() {
    let p = sasl_pair(
        client(&[Mechanism::Plain], "alice", "secret"),
        server(store(&[("alice", "secret")])),
        false,
    );
    assert_opened(&p);
    assert_eq!(p.s.conn.sasl_user(), Some("alice"));
    assert_eq!(p.s.conn.sasl_mechanism(), Some(Mechanism::Plain));
    for (user, pass) in [("alice", "guess"), ("mallory", "secret"), ("alice", "")] {
        let p = sasl_pair(
            client(&[Mechanism::Plain], user, pass),
            server(store(&[("alice", "secret")])),
            false,
        );
        assert_refused(&p);
    }
}

#[test]
fn plain_is_checked_against_stored_scram_keys() {
    let mut st = CredentialStore::new();
    st.add_scram(
        "bob",
        ScramCredentials::generate(Mechanism::ScramSha256, "hunter2", 4096).unwrap(),
    );
    let p = sasl_pair(
        client(&[Mechanism::Plain], "bob", "hunter2"),
        server(st.clone()),
        false,
    );
    assert_opened(&p);
    assert_eq!(p.s.conn.sasl_user(), Some("bob"));
    let p = sasl_pair(
        client(&[Mechanism::Plain], "bob", "hunter3"),
        server(st),
        false,
    );
    assert_refused(&p);
}

#[test]
fn plain_with_a_foreign_authzid_is_refused() {
    let mut s = Peer::server(server(store(&[("alice", "secret")])));
    s.feed(&SASL_HEADER);
    s.written();
    s.feed_sasl(init("PLAIN", b"root\0alice\0secret"));
    s.failed_with(condition::UNAUTHORIZED_ACCESS, "authorization identity");
}

// ---- SCRAM -------------------------------------------------------------------------------

#[test]
fn scram_every_hash_right_and_wrong_password() {
    for mech in SCRAMS {
        let p = sasl_pair(
            client(&[mech], "user", "pencil"),
            server(store(&[("user", "pencil")])),
            false,
        );
        assert_eq!(chosen(&p), mech.name());
        assert_opened(&p);
        assert_eq!(p.s.conn.sasl_user(), Some("user"));
        assert_eq!(p.c.conn.sasl_mechanism(), Some(mech));
        let o = outcome(&p).unwrap();
        assert!(bytes_of(&SaslFrame::Outcome(o)).starts_with(b"v="));

        let p = sasl_pair(
            client(&[mech], "user", "crayon"),
            server(store(&[("user", "pencil")])),
            false,
        );
        assert_refused(&p);
    }
}

#[test]
fn scram_is_the_clients_first_choice_with_a_password() {
    let p = sasl_pair(
        client(&Mechanism::ALL, "user", "pencil"),
        server(store(&[("user", "pencil")])),
        false,
    );
    assert_eq!(chosen(&p), "SCRAM-SHA-512");
    assert_opened(&p);
}

#[test]
fn server_offers_only_the_scram_hashes_its_store_holds() {
    let mut st = CredentialStore::new();
    st.add_scram(
        "user",
        ScramCredentials::generate(Mechanism::ScramSha256, "pencil", 4096).unwrap(),
    );
    let p = sasl_pair(client(&Mechanism::ALL, "user", "pencil"), server(st), false);
    assert_eq!(offered(&p), vec!["SCRAM-SHA-256", "PLAIN"]);
    assert_eq!(chosen(&p), "SCRAM-SHA-256");
    assert_opened(&p);
}

#[test]
fn scram_unknown_user_runs_the_exchange_then_fails() {
    let salt_of = |user: &str| {
        let p = sasl_pair(
            client(&[Mechanism::ScramSha256], user, "pw"),
            server(store(&[("known", "pw")])),
            false,
        );
        assert_refused(&p);
        let f = sasl_frames(&p.s.sent.units);
        // mechanisms, server-first challenge, outcome
        assert!(matches!(f[1], SaslFrame::Challenge(_)), "{f:?}");
        let text = String::from_utf8(bytes_of(&f[1])).unwrap();
        text.split(',').nth(1).unwrap().to_owned()
    };
    // The fake salt stays the same for the same unknown name.
    assert_eq!(salt_of("ghost"), salt_of("ghost"));
    assert_ne!(salt_of("ghost"), salt_of("phantom"));
}

#[test]
fn scram_user_names_are_escaped() {
    let p = sasl_pair(
        client(&[Mechanism::ScramSha256], "a=b,c", "pw"),
        server(store(&[("a=b,c", "pw")])),
        false,
    );
    let first = bytes_of(&sasl_frames(&p.c.sent.units)[0]);
    assert!(first.starts_with(b"n,,n=a=3Db=2Cc,r="), "{first:?}");
    assert_opened(&p);
    assert_eq!(p.s.conn.sasl_user(), Some("a=b,c"));
}

/// Runs one SCRAM login with fixed nonces and returns the four messages.
fn scram_vector(
    mech: Mechanism,
    client_nonce: &str,
    server_nonce: &str,
    salt_b64: &str,
) -> (Pair, [Vec<u8>; 4]) {
    let creds =
        ScramCredentials::derive(mech, "pencil", &B64.decode(salt_b64).unwrap(), 4096).unwrap();
    let mut st = CredentialStore::new();
    st.add_scram("user", creds);
    let p = sasl_pair(
        SaslConfig {
            test_nonce: Some(client_nonce.into()),
            ..client(&[mech], "user", "pencil")
        },
        SaslConfig {
            test_nonce: Some(server_nonce.into()),
            ..server(st)
        },
        false,
    );
    let c = sasl_frames(&p.c.sent.units);
    let s = sasl_frames(&p.s.sent.units);
    assert_eq!(c.len(), 2, "{c:?}");
    assert_eq!(s.len(), 3, "{s:?}");
    let msgs = [
        bytes_of(&c[0]),
        bytes_of(&s[1]),
        bytes_of(&c[1]),
        bytes_of(&s[2]),
    ];
    (p, msgs)
}

#[test]
fn scram_sha1_reproduces_rfc5802() {
    // RFC 5802 §5.
    let (p, m) = scram_vector(
        Mechanism::ScramSha1,
        "fyko+d2lbbFgONRv9qkxdawL",
        "3rfcNHYJY1ZVvWVs7j",
        "QSXCR+Q6sek8bf92",
    );
    assert_eq!(m[0], b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
    assert_eq!(
        m[1],
        b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
    );
    assert_eq!(
        m[2],
        b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
    );
    assert_eq!(m[3], b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
    assert_opened(&p);
}

#[test]
fn scram_sha256_reproduces_rfc7677() {
    // RFC 7677 §3.
    let (p, m) = scram_vector(
        Mechanism::ScramSha256,
        "rOprNGfwEbeRWgbNEkqO",
        "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
        "W22ZaJ0SNY7soEsUEjb6gQ==",
    );
    assert_eq!(m[0], b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    assert_eq!(
        m[1],
        &b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
            [..]
    );
    assert_eq!(
        m[2],
        &b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="[..]
    );
    assert_eq!(m[3], b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    assert_opened(&p);
}

/// A client that has sent the RFC 5802 client-first to a hand-made server.
fn scram_client_peer() -> Peer {
    let mut c = Peer::client(SaslConfig {
        test_nonce: Some("fyko+d2lbbFgONRv9qkxdawL".into()),
        ..client(&[Mechanism::ScramSha1], "user", "pencil")
    });
    c.written();
    let mut b = SASL_HEADER.to_vec();
    b.extend(sasl_frame(&mechanisms(&["SCRAM-SHA-1"])));
    c.feed(&b);
    assert_eq!(
        c.written(),
        vec![init("SCRAM-SHA-1", b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL")]
    );
    c
}

const RFC5802_SERVER_FIRST: &[u8] =
    b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";

#[test]
fn scram_client_accepts_the_signature_in_a_challenge() {
    let mut c = scram_client_peer();
    c.feed_sasl(challenge(RFC5802_SERVER_FIRST));
    assert_eq!(c.written().len(), 1);
    c.feed_sasl(challenge(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="));
    assert_eq!(c.written(), vec![response(b"")]);
    let mut b = sasl_frame(&ok_outcome(None));
    b.extend_from_slice(&AMQP_HEADER);
    c.feed(&b);
    assert!(c.events.contains(&Event::SaslDone), "{:?}", c.events);
    assert_eq!(c.conn.sasl_user(), Some("user"));
}

#[test]
fn scram_client_rejects_a_bad_server_signature() {
    for bad in [
        &b"v=AAAAAAAAAAAAAAAAAAAAAAAAAAA="[..],
        b"v=not base64!",
        b"x=1",
    ] {
        let mut c = scram_client_peer();
        c.feed_sasl(challenge(RFC5802_SERVER_FIRST));
        c.written();
        c.feed_sasl(ok_outcome(Some(bad)));
        c.failed_with(condition::UNAUTHORIZED_ACCESS, "SASL SCRAM-SHA-1:");
        assert!(!c.events.contains(&Event::SaslDone));
    }
    let mut c = scram_client_peer();
    c.feed_sasl(challenge(RFC5802_SERVER_FIRST));
    c.written();
    c.feed_sasl(challenge(b"v=AAAAAAAAAAAAAAAAAAAAAAAAAAA="));
    c.failed_with(condition::UNAUTHORIZED_ACCESS, "wrong server signature");
}

#[test]
fn scram_client_rejects_a_missing_server_signature() {
    let mut c = scram_client_peer();
    c.feed_sasl(challenge(RFC5802_SERVER_FIRST));
    c.written();
    c.feed_sasl(ok_outcome(None));
    c.failed_with(
        condition::UNAUTHORIZED_ACCESS,
        "without the server signature",
    );
    assert!(!c.events.contains(&Event::SaslDone));
    // An ok before the exchange even started is no better.
    let mut c = scram_client_peer();
    c.feed_sasl(ok_outcome(None));
    c.failed_with(condition::UNAUTHORIZED_ACCESS, "before the SCRAM exchange");
}

#[test]
fn scram_client_reports_malformed_server_first() {
    let cases: [(&[u8], &str); 9] = [
        (
            b"r=fyko+d2lbbFgONRv9qkxdawLx,s=!!!,i=4096",
            "salt is not base64",
        ),
        (b"s=QSXCR+Q6sek8bf92,i=4096", "r= missing"),
        (
            b"r=someoneelse,s=QSXCR+Q6sek8bf92,i=4096",
            "does not extend",
        ),
        (
            b"r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096",
            "does not extend",
        ),
        (
            b"r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=0",
            "iteration count",
        ),
        (
            b"r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=99999999",
            "iteration count",
        ),
        (
            b"r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92",
            "i= missing",
        ),
        (b"e=unknown-user", "server error"),
        (b"\xff\xfe", "not UTF-8"),
    ];
    for (msg, why) in cases {
        let mut c = scram_client_peer();
        c.feed_sasl(challenge(msg));
        c.failed_with(condition::UNAUTHORIZED_ACCESS, why);
        assert!(c.written().is_empty(), "no client-final after {msg:?}");
    }
}

#[test]
fn scram_client_reports_the_servers_failure() {
    let mut c = scram_client_peer();
    c.feed_sasl(challenge(RFC5802_SERVER_FIRST));
    c.written();
    c.feed_sasl(SaslFrame::Outcome(SaslOutcome {
        code: SaslCode::Auth,
        additional_data: None,
    }));
    c.failed_with(condition::UNAUTHORIZED_ACCESS, "outcome Auth");
}

/// A server that has answered the RFC 5802 client-first with server-first.
fn scram_server_peer() -> Peer {
    let creds = ScramCredentials::derive(
        Mechanism::ScramSha1,
        "pencil",
        &B64.decode("QSXCR+Q6sek8bf92").unwrap(),
        4096,
    )
    .unwrap();
    let mut st = CredentialStore::new();
    st.add_scram("user", creds);
    let mut s = Peer::server(SaslConfig {
        test_nonce: Some("3rfcNHYJY1ZVvWVs7j".into()),
        ..server(st)
    });
    s.feed(&SASL_HEADER);
    s.written();
    s.feed_sasl(init("SCRAM-SHA-1", b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"));
    assert_eq!(s.written(), vec![challenge(RFC5802_SERVER_FIRST)]);
    s
}

#[test]
fn scram_server_accepts_the_rfc_client_final() {
    let mut s = scram_server_peer();
    s.feed_sasl(response(
        b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    ));
    assert_eq!(
        s.written(),
        vec![ok_outcome(Some(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="))]
    );
    assert_eq!(s.conn.sasl_user(), Some("user"));
}

#[test]
fn scram_server_refuses_malformed_client_final() {
    let n = "fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j";
    let p = "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
    let cases = [
        (format!("c=eSws,r={n},{p}"), "c="),
        (format!("c=biws,r=fyko+d2lbbFgONRv9qkxdawL,{p}"), "nonce"),
        (format!("c=biws,r={n},p=***"), "not base64"),
        (format!("c=biws,r={n}"), "(p=) missing"),
        (format!("c=biws,r={n},p=AAAA"), "wrong length"),
        (format!("r={n},{p}"), "c= missing"),
        (
            format!("c=biws,r={n},p=w0X8v3Bz2T0CJGbJQyF0X+HI4Ts="),
            "wrong password",
        ),
        ("garbage".to_owned(), "malformed"),
    ];
    for (msg, why) in cases {
        let mut s = scram_server_peer();
        s.feed_sasl(response(msg.as_bytes()));
        let out = s.written();
        assert!(
            matches!(&out[..], [SaslFrame::Outcome(o)] if o.code == SaslCode::Auth && o.additional_data.is_none()),
            "{msg}: {out:?}"
        );
        s.failed_with(condition::UNAUTHORIZED_ACCESS, why);
        assert_eq!(s.conn.sasl_user(), None);
    }
}

#[test]
fn scram_server_refuses_malformed_client_first() {
    let cases: [(&[u8], &str); 7] = [
        (b"p=tls-unique,,n=user,r=abc", "channel binding"),
        (b"n,a=admin,n=user,r=abc", "authorization identity"),
        (b"n,,n=user", "r= missing"),
        (b"n,,r=abc", "n= missing"),
        (b"n,,n=us=er,r=abc", "bad escape"),
        (b"n,,m=ext,n=user,r=abc", "extension"),
        (b"nonsense", "GS2"),
    ];
    for (msg, why) in cases {
        let mut s = Peer::server(server(store(&[("user", "pencil")])));
        s.feed(&SASL_HEADER);
        s.written();
        s.feed_sasl(init("SCRAM-SHA-256", msg));
        s.failed_with(condition::UNAUTHORIZED_ACCESS, why);
    }
    // An authzid equal to the user is fine.
    let mut s = Peer::server(server(store(&[("user", "pencil")])));
    s.feed(&SASL_HEADER);
    s.written();
    s.feed_sasl(init("SCRAM-SHA-256", b"n,a=user,n=user,r=abc"));
    assert!(matches!(&s.written()[..], [SaslFrame::Challenge(_)]));
}

#[test]
fn scram_with_the_application_authenticator() {
    let creds = ScramCredentials::generate(Mechanism::ScramSha256, "pw", 4096).unwrap();
    for (answer, ok) in [(Some(creds.clone()), true), (None, false)] {
        let mut p = sasl_pair(
            client(&[Mechanism::ScramSha256], "carol", "pw"),
            app_server(),
            false,
        );
        assert!(p.s.events.contains(&Event::SaslAuthenticate));
        let req = p.s.conn.sasl_request().unwrap().clone();
        assert!(req.wants_scram_credentials());
        assert_eq!(req.mechanism, Mechanism::ScramSha256);
        assert_eq!(req.username.as_deref(), Some("carol"));
        assert_eq!(req.password, None);
        // sasl_complete(true) cannot bypass the proof.
        p.s.conn.sasl_complete(true);
        assert!(p.s.conn.sasl_request().is_some());
        p.s.conn.sasl_scram_credentials(answer);
        p.pump();
        if ok {
            assert_opened(&p);
            assert_eq!(p.s.conn.sasl_user(), Some("carol"));
        } else {
            assert_refused(&p);
        }
    }
    // Credentials for another hash count as an unknown user.
    let mut p = sasl_pair(
        client(&[Mechanism::ScramSha256], "carol", "pw"),
        app_server(),
        false,
    );
    p.s.conn.sasl_scram_credentials(Some(
        ScramCredentials::generate(Mechanism::ScramSha1, "pw", 4096).unwrap(),
    ));
    p.pump();
    assert_refused(&p);
}

// ---- stored credentials ------------------------------------------------------------------

#[test]
fn credentials_text_form_round_trips() {
    for mech in SCRAMS {
        let c = ScramCredentials::generate(mech, "pw", 4096).unwrap();
        let text = c.to_string();
        assert!(
            text.starts_with(&format!("{}$4096$", mech.name())),
            "{text}"
        );
        let back: ScramCredentials = text.parse().unwrap();
        assert_eq!(back, c);
        assert!(back.verify_password("pw"));
        assert!(!back.verify_password("pW"));
    }
    // RFC 7677 keys, by hand.
    let c = ScramCredentials::derive(
        Mechanism::ScramSha256,
        "pencil",
        &B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap(),
        4096,
    )
    .unwrap();
    assert!(
        c.to_string()
            .starts_with("SCRAM-SHA-256$4096$W22ZaJ0SNY7soEsUEjb6gQ==$")
    );
    let debug = format!("{c:?}");
    assert!(!debug.contains(&B64.encode(&c.stored_key)), "{debug}");
}

#[test]
fn credentials_text_form_errors_are_clear() {
    let good = ScramCredentials::generate(Mechanism::ScramSha256, "pw", 10)
        .unwrap()
        .to_string();
    let f: Vec<&str> = good.split('$').collect();
    let cases = [
        ("", "field"),
        ("SCRAM-SHA-256$1$2", "3 field"),
        (
            &*format!("PLAIN${}", f[1..].join("$")),
            "unknown SCRAM mechanism",
        ),
        (
            &*format!("{}$0${}", f[0], f[2..].join("$")),
            "iteration count",
        ),
        (
            &*format!("{}$x${}", f[0], f[2..].join("$")),
            "iteration count",
        ),
        (
            &*format!("{}${}$%%${}${}", f[0], f[1], f[3], f[4]),
            "salt is not base64",
        ),
        (
            &*format!("{}${}${}$AAAA${}", f[0], f[1], f[2], f[4]),
            "32 bytes",
        ),
    ];
    for (text, why) in cases {
        let e = text.parse::<ScramCredentials>().unwrap_err().to_string();
        assert!(e.contains(why), "{text:?}: {e}");
    }
    assert!(ScramCredentials::derive(Mechanism::Plain, "pw", b"salt", 1).is_err());
    assert!(ScramCredentials::derive(Mechanism::ScramSha1, "pw", b"salt", 0).is_err());
}

// ---- EXTERNAL ------------------------------------------------------------------------------

fn external_pair(identity: Option<&str>, client_cert: bool, srv: SaslConfig) -> Pair {
    let mut p = Pair::new(
        Config {
            sasl: SaslConfig {
                external: client_cert,
                ..SaslConfig::default()
            },
            encrypted: true,
            ..client_config()
        },
        Config {
            sasl: srv,
            encrypted: true,
            ..server_config()
        },
    );
    p.s.conn.set_external_identity(identity.map(str::to_owned));
    p.c.conn.open();
    p.pump();
    p
}

#[test]
fn external_logs_in_as_the_transport_identity() {
    let p = external_pair(Some("CN=dave"), true, SaslConfig::default());
    assert_eq!(offered(&p), vec!["EXTERNAL", "ANONYMOUS"]);
    assert_eq!(chosen(&p), "EXTERNAL");
    assert_opened(&p);
    assert_eq!(p.s.conn.sasl_user(), Some("CN=dave"));
    // With a credential store too.
    let p = external_pair(Some("CN=dave"), true, server(store(&[("x", "y")])));
    assert_eq!(chosen(&p), "EXTERNAL");
    assert_opened(&p);
}

#[test]
fn external_is_not_offered_without_an_identity() {
    let p = external_pair(None, true, SaslConfig::default());
    assert_eq!(offered(&p), vec!["ANONYMOUS"]);
    // Nothing but a certificate configured: ANONYMOUS is acceptable.
    assert_eq!(chosen(&p), "ANONYMOUS");
    // And a hand-made client asking for it is refused.
    let mut s = Peer::server(SaslConfig::default());
    s.feed(&SASL_HEADER);
    s.written();
    s.feed_sasl(init("EXTERNAL", b""));
    s.failed_with(condition::UNAUTHORIZED_ACCESS, "not offered");
}

#[test]
fn external_with_a_foreign_authzid_is_refused() {
    let mut s = Peer::server(SaslConfig::default());
    s.conn.set_external_identity(Some("CN=dave".into()));
    s.feed(&SASL_HEADER);
    s.written();
    s.feed_sasl(init("EXTERNAL", b"CN=root"));
    s.failed_with(condition::UNAUTHORIZED_ACCESS, "authorization identity");
}

#[test]
fn external_with_the_application_authenticator() {
    let mut p = external_pair(Some("CN=erin"), true, app_server());
    let req = p.s.conn.sasl_request().unwrap().clone();
    assert_eq!(req.mechanism, Mechanism::External);
    assert_eq!(req.identity.as_deref(), Some("CN=erin"));
    p.s.conn.sasl_complete(true);
    p.pump();
    assert_opened(&p);
    assert_eq!(p.s.conn.sasl_user(), Some("CN=erin"));
}

// ---- XOAUTH2 ---------------------------------------------------------------------------------

fn xoauth2_client(user: &str, token: &str) -> SaslConfig {
    SaslConfig {
        username: Some(user.into()),
        token: Some(token.into()),
        ..SaslConfig::default()
    }
}

#[test]
fn xoauth2_with_the_application_authenticator() {
    for accept in [true, false] {
        let mut p = sasl_pair(xoauth2_client("frank", "ya29.token"), app_server(), true);
        assert_eq!(chosen(&p), "XOAUTH2");
        let init_bytes = bytes_of(&sasl_frames(&p.c.sent.units)[0]);
        assert_eq!(init_bytes, b"user=frank\x01auth=Bearer ya29.token\x01\x01");
        let req = p.s.conn.sasl_request().unwrap().clone();
        assert_eq!(req.mechanism, Mechanism::XOAuth2);
        assert_eq!(req.username.as_deref(), Some("frank"));
        assert_eq!(req.token.as_deref(), Some("ya29.token"));
        assert_eq!(req.password, None);
        p.s.conn.sasl_complete(accept);
        p.pump();
        if accept {
            assert_opened(&p);
            assert_eq!(p.s.conn.sasl_user(), Some("frank"));
        } else {
            assert_refused(&p);
        }
    }
}

#[test]
fn xoauth2_is_only_offered_by_the_application_authenticator() {
    let p = sasl_pair(
        xoauth2_client("frank", "t"),
        server(store(&[("frank", "pw")])),
        false,
    );
    assert!(!offered(&p).contains(&"XOAUTH2".to_owned()));
    assert_eq!(
        transport_errors(&p.c.events),
        vec![condition::UNAUTHORIZED_ACCESS]
    );
}

#[test]
fn xoauth2_needs_encryption_like_plain() {
    let p = sasl_pair(
        SaslConfig {
            allow_insecure_plain: false,
            ..xoauth2_client("frank", "t")
        },
        app_server(),
        false,
    );
    let err = error_text(&p.c.events);
    assert!(
        err.contains("XOAUTH2 over an unencrypted transport"),
        "{err}"
    );
    let p = sasl_pair(
        SaslConfig {
            allow_insecure_plain: false,
            ..xoauth2_client("frank", "t")
        },
        app_server(),
        true,
    );
    assert_eq!(chosen(&p), "XOAUTH2");
}

#[test]
fn xoauth2_client_answers_an_error_challenge_empty() {
    let mut c = Peer::client(SaslConfig {
        allow_insecure_plain: true,
        ..xoauth2_client("frank", "expired")
    });
    c.written();
    let mut b = SASL_HEADER.to_vec();
    b.extend(sasl_frame(&mechanisms(&["XOAUTH2"])));
    c.feed(&b);
    assert_eq!(c.written().len(), 1);
    let json = br#"{"status":"401","schemes":"bearer","scope":"mail"}"#;
    c.feed_sasl(challenge(json));
    assert_eq!(c.written(), vec![response(b"")]);
    c.feed_sasl(SaslFrame::Outcome(SaslOutcome {
        code: SaslCode::Auth,
        additional_data: None,
    }));
    c.failed_with(condition::UNAUTHORIZED_ACCESS, r#""status":"401""#);
}

// ---- client choice -------------------------------------------------------------------------

#[test]
fn client_with_credentials_never_falls_back_to_anonymous() {
    let p = sasl_pair(
        client(&Mechanism::ALL, "u", "p"),
        SaslConfig {
            allow_anonymous: true,
            mechanisms: vec![Mechanism::Anonymous, Mechanism::XOAuth2],
            ..app_server()
        },
        false,
    );
    assert_eq!(
        transport_errors(&p.c.events),
        vec![condition::UNAUTHORIZED_ACCESS]
    );
    assert!(sasl_frames(&p.c.sent.units).is_empty());
}

// ---- redaction -------------------------------------------------------------------------------

/// Everything the frame trace would print for these SASL frames: it prints
/// each frame with the codec's `Debug`, tidied.
fn trace_of(p: &Pair) -> String {
    sasl_frames(&p.c.sent.units)
        .iter()
        .chain(sasl_frames(&p.s.sent.units).iter())
        .map(|f| muon::reactor::tidy(&format!("{f:?}")) + "\n")
        .collect()
}

#[test]
fn trace_never_shows_credentials() {
    let p = sasl_pair(
        client(&[Mechanism::Plain], "bob", "s3cr3t-pw"),
        server(store(&[("bob", "s3cr3t-pw")])),
        false,
    );
    assert_opened(&p);
    let t = trace_of(&p);
    assert!(!t.contains("s3cr3t-pw"), "{t}");
    assert!(t.contains(r#"PLAIN user "bob" password <redacted>"#), "{t}");

    let (p, m) = scram_vector(
        Mechanism::ScramSha1,
        "fyko+d2lbbFgONRv9qkxdawL",
        "3rfcNHYJY1ZVvWVs7j",
        "QSXCR+Q6sek8bf92",
    );
    let t = trace_of(&p);
    let proof = "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
    let signature = "rmF9pqV8S7suAoZWja4dJRkFsKQ=";
    assert!(String::from_utf8_lossy(&m[2]).contains(proof));
    assert!(!t.contains(proof), "{t}");
    assert!(!t.contains(signature), "{t}");
    assert!(!t.contains("pencil"), "{t}");
    // The harmless parts stay readable.
    assert!(t.contains("n,,n=user,r=fyko"), "{t}");
    assert!(t.contains("p=<redacted>"), "{t}");

    let p = sasl_pair(xoauth2_client("frank", "ya29.tok"), app_server(), true);
    let t = trace_of(&p);
    assert!(!t.contains("ya29.tok"), "{t}");
}

#[test]
fn configs_and_requests_hide_secrets_in_debug() {
    let cfg = SaslConfig {
        token: Some("tok-123".into()),
        ..client(&Mechanism::ALL, "u", "pw-123")
    };
    let d = format!("{cfg:?}");
    assert!(!d.contains("pw-123") && !d.contains("tok-123"), "{d}");
    let p = sasl_pair(
        client(&[Mechanism::Plain], "u", "pw-456"),
        app_server(),
        false,
    );
    let d = format!("{:?}", p.s.conn.sasl_request().unwrap());
    assert!(!d.contains("pw-456"), "{d}");
    let d = format!("{:?}", server(store(&[("u", "pw-789")])));
    assert!(!d.contains("pw-789"), "{d}");
}
