//! SASL (spec §5.3) for both roles: what a server offers, the client's
//! choice, the mechanisms' messages (ANONYMOUS, PLAIN, EXTERNAL, XOAUTH2
//! here; SCRAM in `scram.rs`) and the server's decision.
//!
//! Security rules kept here:
//! - A server offers only what its authenticator can check
//!   ([`Authenticator`]); a client asking for anything else gets outcome
//!   `auth`. No password is ever accepted unchecked.
//! - PLAIN and XOAUTH2 send a secret in clear: both roles refuse them over
//!   an unencrypted transport unless `allow_insecure_plain`.
//! - A client with credentials never falls back to ANONYMOUS, and a SCRAM
//!   client accepts an `ok` outcome only with the server's proof.

use std::fmt;

use super::config::{Authenticator, Mechanism};
use super::connection::{Connection, Phase, Role};
use super::event::Event;
use super::scram::{
    ClientFirst, ClientStage, ScramClient, ScramCredentials, ScramServer, parse_client_first,
    random_nonce,
};
use crate::codec::frame::ProtocolHeader;
use crate::codec::security::{
    SaslChallenge, SaslCode, SaslFrame, SaslInit, SaslMechanisms, SaslOutcome, SaslResponse,
};
use crate::codec::transport::condition;
use crate::codec::{Binary, Decoder, Symbol, Symbols};

/// What a SASL client sent, for the server application to judge
/// ([`Event::SaslAuthenticate`], [`Authenticator::Application`]).
///
/// For SCRAM the application sees no password: it answers with the user's
/// stored credentials ([`Connection::sasl_scram_credentials`]) and the
/// engine checks the proof. For every other mechanism it answers with
/// [`Connection::sasl_complete`]. `Debug` never shows the password, the
/// token or the raw response.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SaslRequest {
    /// The mechanism the client picked.
    pub mechanism: Mechanism,
    /// PLAIN, SCRAM, XOAUTH2: the user name (authentication identity);
    /// EXTERNAL: the transport's identity.
    pub username: Option<String>,
    /// PLAIN only: the password.
    pub password: Option<String>,
    /// XOAUTH2 only: the bearer token.
    pub token: Option<String>,
    /// EXTERNAL only: the identity the transport verified
    /// ([`Connection::set_external_identity`]).
    pub identity: Option<String>,
    /// The host the client asked for (`sasl-init.hostname`).
    pub hostname: Option<String>,
    /// The raw initial response.
    pub initial_response: Vec<u8>,
}

impl SaslRequest {
    /// True if the application must answer with
    /// [`Connection::sasl_scram_credentials`] rather than `sasl_complete`.
    pub fn wants_scram_credentials(&self) -> bool {
        self.mechanism.is_scram()
    }
}

impl fmt::Debug for SaslRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = |v: &Option<String>| if v.is_some() { "<redacted>" } else { "None" };
        f.debug_struct("SaslRequest")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &format_args!("{}", secret(&self.password)))
            .field("token", &format_args!("{}", secret(&self.token)))
            .field("identity", &self.identity)
            .field("hostname", &self.hostname)
            .field(
                "initial_response",
                &format_args!("<redacted, {} bytes>", self.initial_response.len()),
            )
            .finish()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Sasl {
    /// Server: the request waiting for the application's answer.
    pub(crate) pending: Option<SaslRequest>,
    /// The authenticated user, once known (server) or used (client).
    pub(crate) user: Option<String>,
    /// Server: who logs in if the check succeeds.
    candidate: Option<String>,
    /// The mechanism in use.
    pub(crate) mechanism: Option<Mechanism>,
    pub(crate) outcome: Option<SaslCode>,
    /// Server: the identity the transport verified (EXTERNAL).
    pub(crate) external_identity: Option<String>,
    scram_client: Option<ScramClient>,
    /// Server: a SCRAM client-first waiting for the application's
    /// credentials.
    scram_first: Option<ClientFirst>,
    scram_server: Option<ScramServer>,
    /// Client: what the server said in a challenge (XOAUTH2 error JSON).
    server_error: Option<String>,
}

/// Splits a PLAIN initial response `authzid NUL authcid NUL password`
/// (RFC 4616 §2).
fn parse_plain(b: &[u8]) -> Option<(String, String, String)> {
    let mut parts = b.splitn(3, |x| *x == 0);
    let authzid = std::str::from_utf8(parts.next()?).ok()?.to_owned();
    let user = std::str::from_utf8(parts.next()?).ok()?.to_owned();
    let pass = parts.next()?;
    if user.is_empty() || pass.contains(&0) {
        return None;
    }
    Some((authzid, user, std::str::from_utf8(pass).ok()?.to_owned()))
}

/// Reads an XOAUTH2 initial response
/// `user=<user> ^A auth=Bearer <token> ^A ^A`.
fn parse_xoauth2(b: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(b).ok()?.strip_suffix("\x01\x01")?;
    let mut user = None;
    let mut token = None;
    for kv in text.split('\x01') {
        if let Some(u) = kv.strip_prefix("user=") {
            user = Some(u.to_owned());
        } else if let Some(a) = kv.strip_prefix("auth=") {
            let (scheme, t) = a.split_once(' ')?;
            if !scheme.eq_ignore_ascii_case("Bearer") {
                return None;
            }
            token = Some(t.trim().to_owned());
        }
    }
    Some((user?, token?))
}

impl Connection {
    pub(crate) fn on_sasl_frame(&mut self, body: &[u8]) {
        let mut d = Decoder::with_max_depth(body, self.config.max_decode_depth);
        let frame = match SaslFrame::decode(&mut d) {
            Ok(f) => f,
            Err(e) => {
                self.transport_failed(
                    condition::DECODE_ERROR,
                    format!("undecodable SASL frame: {e}"),
                );
                return;
            }
        };
        // §5.3.2: mechanisms, then init, then challenges/responses, then
        // the outcome; each exactly once where the dialog says so.
        let chosen = self.sasl.mechanism.is_some();
        let scram_server = self.sasl.scram_server.is_some();
        match (self.role, frame) {
            (Role::Client, SaslFrame::Mechanisms(m)) if !chosen => self.sasl_client_choose(m),
            (Role::Client, SaslFrame::Challenge(c)) if chosen => {
                self.sasl_client_challenge(c.challenge.0)
            }
            (Role::Client, SaslFrame::Outcome(o)) if chosen => self.sasl_client_outcome(o),
            (Role::Server, SaslFrame::Init(init)) if !chosen && self.sasl.outcome.is_none() => {
                self.sasl_server_init(init)
            }
            (Role::Server, SaslFrame::Response(r)) if scram_server => {
                self.sasl_server_scram_final(&r.response.0)
            }
            (Role::Server, SaslFrame::Response(_)) if self.sasl.pending.is_none() => {
                self.sasl_finish_server(false, "unexpected SASL response", None);
            }
            (_, f) => self.transport_failed(
                condition::NOT_ALLOWED,
                format!("SASL frame {f:?} out of order"),
            ),
        }
    }

    // ---- client -------------------------------------------------------------------

    /// Picks the strongest mechanism both sides allow (see
    /// [`Mechanism::ALL`]) and sends `sasl-init` (§5.3.3.2).
    fn sasl_client_choose(&mut self, m: SaslMechanisms) {
        let offered = &m.sasl_server_mechanisms;
        let cfg = &self.config.sasl;
        let clear_ok = self.config.encrypted || cfg.allow_insecure_plain;
        let has_password = cfg.username.is_some() && cfg.password.is_some();
        let has_token = cfg.username.is_some() && cfg.token.is_some();
        let has_credentials =
            cfg.username.is_some() || cfg.password.is_some() || cfg.token.is_some();
        let mut refused_clear = None;
        let mut choice = None;
        for mech in Mechanism::ALL {
            if !cfg.mechanisms.contains(&mech) || !offered.contains(mech.name()) {
                continue;
            }
            let usable = match mech {
                Mechanism::External => cfg.external,
                Mechanism::ScramSha1 | Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
                    has_password
                }
                // A user name alone (empty password) still logs in with
                // PLAIN, as before; a token is for XOAUTH2, not PLAIN.
                Mechanism::Plain => {
                    cfg.username.is_some() && (cfg.password.is_some() || cfg.token.is_none())
                }
                Mechanism::XOAuth2 => has_token,
                // Credentials given: logging in anonymously instead would
                // silently run as someone else.
                Mechanism::Anonymous => !has_credentials,
            };
            if usable && mech.sends_secret_in_clear() && !clear_ok {
                refused_clear = refused_clear.or(Some(mech.name()));
                continue;
            }
            if usable {
                choice = Some(mech);
                break;
            }
        }
        let Some(mech) = choice else {
            let names: Vec<_> = offered.0.iter().map(|s| s.as_str()).collect();
            let why = if let Some(m) = refused_clear {
                format!(
                    "{m} over an unencrypted transport is refused unless allow-insecure-PLAIN is set"
                )
            } else if has_credentials {
                "no mechanism both sides allow for the configured credentials".to_owned()
            } else {
                "no mechanism both sides allow".to_owned()
            };
            self.transport_failed(
                condition::UNAUTHORIZED_ACCESS,
                format!("SASL: {why}; the server offers [{}]", names.join(", ")),
            );
            return;
        };
        let user = cfg.username.clone().unwrap_or_default();
        let response = match mech {
            // RFC 4616 §2: empty authzid.
            Mechanism::Plain => {
                let mut r = vec![0u8];
                r.extend_from_slice(user.as_bytes());
                r.push(0);
                r.extend_from_slice(cfg.password.as_deref().unwrap_or("").as_bytes());
                r
            }
            // RFC 4505 §2: an optional trace string.
            Mechanism::Anonymous => b"anonymous".to_vec(),
            // The identity comes from the certificate; empty authzid.
            Mechanism::External => Vec::new(),
            Mechanism::XOAuth2 => format!(
                "user={user}\x01auth=Bearer {}\x01\x01",
                cfg.token.as_deref().unwrap_or("")
            )
            .into_bytes(),
            Mechanism::ScramSha1 | Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
                // RFC 5802 §5.1: client-first goes in sasl-init.
                let nonce = cfg.test_nonce.clone().unwrap_or_else(random_nonce);
                let password = cfg.password.as_deref().unwrap_or("");
                let (c, first) = ScramClient::start(mech, &user, password, nonce);
                self.sasl.scram_client = Some(c);
                first
            }
        };
        self.sasl.mechanism = Some(mech);
        self.sasl.user = match mech {
            Mechanism::Anonymous | Mechanism::External => None,
            _ => Some(user),
        };
        let init = SaslInit {
            mechanism: Symbol::new(mech.name()),
            initial_response: Some(Binary(response)),
            hostname: self.config.hostname.clone(),
        };
        self.write_sasl_frame(&SaslFrame::Init(init));
    }

    /// §5.3.3.3: a challenge; SCRAM's server-first or server-final, or an
    /// XOAUTH2 error (answered empty, as that protocol requires).
    fn sasl_client_challenge(&mut self, data: Vec<u8>) {
        let mech = self.sasl.mechanism.map_or("?", Mechanism::name);
        if let Some(sc) = self.sasl.scram_client.as_mut() {
            let answer = match sc.stage {
                ClientStage::First => sc.server_first(&data),
                // Server-final in a challenge (some servers): check it now
                // and answer empty; the outcome follows.
                ClientStage::Final => sc.server_final(&data).map(|()| Vec::new()),
                ClientStage::Verified => {
                    Err("challenge after the server signature was checked".to_owned())
                }
            };
            match answer {
                Ok(response) => self.write_sasl_frame(&SaslFrame::Response(SaslResponse {
                    response: Binary(response),
                })),
                Err(e) => self
                    .transport_failed(condition::UNAUTHORIZED_ACCESS, format!("SASL {mech}: {e}")),
            }
            return;
        }
        if !data.is_empty() {
            self.sasl.server_error = Some(String::from_utf8_lossy(&data).into_owned());
        }
        self.write_sasl_frame(&SaslFrame::Response(SaslResponse {
            response: Binary(Vec::new()),
        }));
    }

    /// §5.3.3.5: the outcome. With SCRAM an `ok` counts only once the
    /// server's signature checked out (RFC 5802 §3: mutual
    /// authentication), whether it came in a challenge or, as AMQP servers
    /// send it, in `additional-data`.
    fn sasl_client_outcome(&mut self, o: SaslOutcome) {
        self.sasl.outcome = Some(o.code);
        let mech = self.sasl.mechanism.map_or("?", Mechanism::name);
        if o.code != SaslCode::Ok {
            let mut why = format!("SASL {mech} authentication failed: outcome {:?}", o.code);
            let said = self.sasl.server_error.take().or_else(|| {
                o.additional_data
                    .as_ref()
                    .filter(|d| !d.0.is_empty())
                    .map(|d| String::from_utf8_lossy(&d.0).into_owned())
            });
            if let Some(said) = said {
                why.push_str(&format!(" (server said: {said})"));
            }
            self.transport_failed(condition::UNAUTHORIZED_ACCESS, why);
            return;
        }
        if let Some(sc) = self.sasl.scram_client.as_mut()
            && sc.stage != ClientStage::Verified
        {
            let checked = match o.additional_data.as_ref().filter(|d| !d.0.is_empty()) {
                Some(d) => sc.server_final(&d.0),
                None if sc.stage == ClientStage::First => {
                    Err("ok outcome before the SCRAM exchange finished".to_owned())
                }
                None => Err(
                    "ok outcome without the server signature (v=): the server did not \
                             prove it knows the password"
                        .to_owned(),
                ),
            };
            if let Err(e) = checked {
                self.transport_failed(condition::UNAUTHORIZED_ACCESS, format!("SASL {mech}: {e}"));
                return;
            }
        }
        self.push(Event::SaslDone);
        self.out.extend_from_slice(ProtocolHeader::Amqp.as_bytes());
        self.amqp_header_sent = true;
        self.phase = Phase::AwaitHeader(Some(ProtocolHeader::Amqp));
        self.send_open_if_ready();
    }

    // ---- server -------------------------------------------------------------------

    /// Whether this server offers (and so accepts) `m`: it must be in
    /// `sasl.mechanisms` and checkable by the authenticator.
    pub(crate) fn sasl_server_allows(&self, m: Mechanism) -> bool {
        let cfg = &self.config.sasl;
        if !cfg.mechanisms.contains(&m) {
            return false;
        }
        let clear_ok = self.config.encrypted || cfg.allow_insecure_plain;
        let auth = &cfg.authenticator;
        match m {
            Mechanism::Anonymous => matches!(auth, Authenticator::None) || cfg.allow_anonymous,
            Mechanism::External => self.sasl.external_identity.is_some(),
            Mechanism::Plain => !matches!(auth, Authenticator::None) && clear_ok,
            Mechanism::ScramSha1 | Mechanism::ScramSha256 | Mechanism::ScramSha512 => match auth {
                Authenticator::None => false,
                Authenticator::Credentials(store) => store.supports(m),
                // The application restricts hashes with `sasl.mechanisms`.
                Authenticator::Application => true,
            },
            Mechanism::XOAuth2 => matches!(auth, Authenticator::Application) && clear_ok,
        }
    }

    /// §5.3.2 step 1: `sasl-mechanisms`, in the configured order.
    pub(crate) fn sasl_server_start(&mut self) {
        let offered: Vec<Symbol> = self
            .config
            .sasl
            .mechanisms
            .iter()
            .filter(|m| self.sasl_server_allows(**m))
            .map(|m| Symbol::new(m.name()))
            .collect();
        self.write_sasl_frame(&SaslFrame::Mechanisms(SaslMechanisms {
            sasl_server_mechanisms: Symbols(offered),
        }));
    }

    fn sasl_server_init(&mut self, init: SaslInit) {
        let name = init.mechanism.as_str().to_owned();
        let Some(mech) = Mechanism::from_name(&name).filter(|m| self.sasl_server_allows(*m)) else {
            self.sasl_finish_server(false, &format!("mechanism {name:?} not offered"), None);
            return;
        };
        self.sasl.mechanism = Some(mech);
        let response = init.initial_response.map(|b| b.0).unwrap_or_default();
        let identity = self.sasl.external_identity.clone();
        let mut req = SaslRequest {
            mechanism: mech,
            username: None,
            password: None,
            token: None,
            identity: None,
            hostname: init.hostname,
            initial_response: Vec::new(),
        };
        let mut scram_first = None;
        let parsed: Result<(), &str> = match mech {
            Mechanism::Plain => match parse_plain(&response) {
                // RFC 4616 §2: we act for no one but the user who logs in.
                Some((authzid, u, _)) if !authzid.is_empty() && authzid != u => {
                    Err("PLAIN authorization identity differs from the user")
                }
                Some((_, u, p)) => {
                    req.username = Some(u);
                    req.password = Some(p);
                    Ok(())
                }
                None => Err("malformed PLAIN response"),
            },
            Mechanism::XOAuth2 => match parse_xoauth2(&response) {
                Some((u, t)) => {
                    req.username = Some(u);
                    req.token = Some(t);
                    Ok(())
                }
                None => Err("malformed XOAUTH2 response"),
            },
            Mechanism::External => {
                // The response is an authorization identity: empty or ours.
                let authzid = std::str::from_utf8(&response).ok();
                if response.is_empty() || authzid == identity.as_deref() {
                    req.username.clone_from(&identity);
                    req.identity.clone_from(&identity);
                    Ok(())
                } else {
                    Err("EXTERNAL authorization identity differs from the certificate's")
                }
            }
            Mechanism::Anonymous => Ok(()),
            Mechanism::ScramSha1 | Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
                match parse_client_first(&response) {
                    Ok(first) => {
                        req.username = Some(first.user.clone());
                        scram_first = Some(first);
                        Ok(())
                    }
                    Err(e) => {
                        let why = format!("SCRAM client-first refused: {e}");
                        self.sasl_finish_server(false, &why, None);
                        return;
                    }
                }
            }
        };
        if let Err(why) = parsed {
            self.sasl_finish_server(false, why, None);
            return;
        }
        req.initial_response = response;
        // ANONYMOUS logs in as no one: no user name that an access rule
        // for a real user could match.
        self.sasl.candidate = req.username.clone();
        // The store is behind an Arc: cloning the authenticator is cheap.
        match (self.config.sasl.authenticator.clone(), scram_first) {
            (Authenticator::Application, first) => {
                self.sasl.scram_first = first;
                self.sasl.pending = Some(req);
                self.push(Event::SaslAuthenticate);
            }
            (Authenticator::Credentials(store), Some(first)) => {
                let creds = store.scram(&first.user, mech);
                self.sasl_scram_challenge(mech, first, creds);
            }
            (Authenticator::Credentials(store), None) if mech == Mechanism::Plain => {
                let ok = store.check_password(
                    req.username.as_deref().unwrap_or(""),
                    req.password.as_deref().unwrap_or(""),
                );
                self.sasl_finish_server(ok, "wrong user name or password", None);
            }
            // ANONYMOUS and EXTERNAL are only offered when acceptable.
            (_, None) if matches!(mech, Mechanism::Anonymous | Mechanism::External) => {
                self.sasl_finish_server(true, "", None);
            }
            _ => self.sasl_finish_server(false, "no authenticator for this mechanism", None),
        }
    }

    /// RFC 5802 §5: server-first in a `sasl-challenge`.
    fn sasl_scram_challenge(
        &mut self,
        mech: Mechanism,
        first: ClientFirst,
        creds: Option<ScramCredentials>,
    ) {
        let nonce = self
            .config
            .sasl
            .test_nonce
            .clone()
            .unwrap_or_else(random_nonce);
        let (server, msg) = ScramServer::start(mech, first, creds, &nonce);
        self.sasl.candidate = Some(server.user().to_owned());
        self.sasl.scram_server = Some(server);
        self.write_sasl_frame(&SaslFrame::Challenge(SaslChallenge {
            challenge: Binary(msg),
        }));
    }

    /// RFC 5802 §5: client-final in a `sasl-response`; server-final goes in
    /// the outcome's `additional-data` (§5.3.3.5).
    fn sasl_server_scram_final(&mut self, response: &[u8]) {
        let Some(server) = self.sasl.scram_server.take() else {
            return;
        };
        match server.client_final(response) {
            Ok(server_final) => self.sasl_finish_server(true, "", Some(server_final)),
            Err(e) => self.sasl_finish_server(false, &format!("SCRAM: {e}"), None),
        }
    }

    fn sasl_finish_server(&mut self, ok: bool, why: &str, additional_data: Option<Vec<u8>>) {
        let code = if ok { SaslCode::Ok } else { SaslCode::Auth };
        self.sasl.outcome = Some(code);
        self.sasl.scram_server = None;
        self.sasl.scram_first = None;
        self.write_sasl_frame(&SaslFrame::Outcome(SaslOutcome {
            code,
            additional_data: additional_data.map(Binary),
        }));
        if ok {
            self.sasl.user = self.sasl.candidate.take();
            self.push(Event::SaslDone);
            self.phase = Phase::AwaitHeader(Some(ProtocolHeader::Amqp));
        } else {
            self.transport_failed(
                condition::UNAUTHORIZED_ACCESS,
                format!("SASL authentication failed: {why}"),
            );
        }
    }

    // ---- API ------------------------------------------------------------------------

    /// Server: the identity the transport verified (the subject of a TLS
    /// client certificate), or `None`. Call it after the TLS handshake and
    /// before feeding any bytes: EXTERNAL is offered only when an identity
    /// is set, and the client that picks it logs in as that identity.
    pub fn set_external_identity(&mut self, identity: Option<String>) {
        self.sasl.external_identity = identity;
    }

    /// Server with [`Authenticator::Application`]: the login waiting for a
    /// decision (after [`Event::SaslAuthenticate`]).
    pub fn sasl_request(&self) -> Option<&SaslRequest> {
        self.sasl.pending.as_ref()
    }

    /// Server with [`Authenticator::Application`]: accept or refuse the
    /// pending PLAIN, XOAUTH2, EXTERNAL or ANONYMOUS login. For a SCRAM
    /// request `false` refuses it and `true` is ignored: a SCRAM login is
    /// only accepted by the engine checking the proof (answer with
    /// [`sasl_scram_credentials`](Self::sasl_scram_credentials)). Without a
    /// pending request nothing happens.
    pub fn sasl_complete(&mut self, accept: bool) {
        let Some(req) = &self.sasl.pending else {
            return;
        };
        if req.mechanism.is_scram() && accept {
            return;
        }
        self.sasl.pending = None;
        self.sasl_finish_server(accept, "refused by the application", None);
    }

    /// Server with [`Authenticator::Application`]: the stored credentials
    /// of the user of the pending SCRAM request (`None`: no such user). The
    /// exchange goes on either way; an unknown user (or credentials for
    /// another hash) fails at the end, as a wrong password does, so a
    /// client cannot tell which users exist (RFC 5802 §9). Ignored unless a
    /// SCRAM request is pending.
    pub fn sasl_scram_credentials(&mut self, credentials: Option<ScramCredentials>) {
        if !self
            .sasl
            .pending
            .as_ref()
            .is_some_and(|r| r.mechanism.is_scram())
        {
            return;
        }
        let Some(req) = self.sasl.pending.take() else {
            return;
        };
        let Some(first) = self.sasl.scram_first.take() else {
            return;
        };
        self.sasl_scram_challenge(req.mechanism, first, credentials);
    }

    /// The user name used to log in (client: `None` for ANONYMOUS and
    /// EXTERNAL) or that logged in (server, once SASL succeeded: the user
    /// name for PLAIN, SCRAM and XOAUTH2, the transport's identity for
    /// EXTERNAL, `None` for ANONYMOUS).
    pub fn sasl_user(&self) -> Option<&str> {
        self.sasl.user.as_deref()
    }

    /// The SASL mechanism in use, once chosen.
    pub fn sasl_mechanism(&self) -> Option<Mechanism> {
        self.sasl.mechanism
    }
}
