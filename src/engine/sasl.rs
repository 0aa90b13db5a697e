//! SASL (spec §5.3) for both roles: mechanism choice, the PLAIN,
//! ANONYMOUS and EXTERNAL initial responses, and the server's decision.

use super::config::{Authenticator, Mechanism};
use super::connection::{Connection, Phase, Role};
use super::event::Event;
use crate::codec::frame::ProtocolHeader;
use crate::codec::security::{
    SaslCode, SaslFrame, SaslInit, SaslMechanisms, SaslOutcome, SaslResponse,
};
use crate::codec::transport::condition;
use crate::codec::{Binary, Decoder, Symbol, Symbols};

/// What a SASL client sent, for the server application to judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslRequest {
    /// The mechanism the client picked.
    pub mechanism: String,
    /// PLAIN: the authentication identity (user name).
    pub username: Option<String>,
    /// PLAIN: the password.
    pub password: Option<String>,
    /// The raw initial response.
    pub initial_response: Vec<u8>,
    /// The host the client asked for.
    pub hostname: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct Sasl {
    /// Server: the request waiting for the application's answer.
    pub(crate) pending: Option<SaslRequest>,
    /// The authenticated user, once known (server) or used (client).
    pub(crate) user: Option<String>,
    /// The mechanism in use.
    pub(crate) mechanism: Option<Mechanism>,
    pub(crate) outcome: Option<SaslCode>,
}

/// Splits a PLAIN initial response `authzid NUL authcid NUL password`.
fn parse_plain(b: &[u8]) -> Option<(String, String)> {
    let mut parts = b.splitn(3, |x| *x == 0);
    let _authzid = parts.next()?;
    let user = std::str::from_utf8(parts.next()?).ok()?.to_owned();
    let pass = std::str::from_utf8(parts.next()?).ok()?.to_owned();
    Some((user, pass))
}

impl Connection {
    pub(crate) fn on_sasl_frame(&mut self, body: &[u8]) {
        let mut d = Decoder::new(body);
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
        match (self.role, frame) {
            (Role::Client, SaslFrame::Mechanisms(m)) if !chosen => self.sasl_client_choose(m),
            (Role::Client, SaslFrame::Challenge(_)) if chosen => {
                // None of our mechanisms expects a challenge; answer empty.
                self.write_sasl_frame(&SaslFrame::Response(SaslResponse {
                    response: Binary(Vec::new()),
                }));
            }
            (Role::Client, SaslFrame::Outcome(o)) if chosen => self.sasl_client_outcome(o),
            (Role::Server, SaslFrame::Init(init)) if !chosen && self.sasl.outcome.is_none() => {
                self.sasl_server_init(init)
            }
            (Role::Server, SaslFrame::Response(_)) if self.sasl.pending.is_none() => {
                self.sasl_finish_server(false, "unexpected SASL response");
            }
            (_, f) => self.transport_failed(
                condition::NOT_ALLOWED,
                format!("SASL frame {f:?} out of order"),
            ),
        }
    }

    fn sasl_client_choose(&mut self, m: SaslMechanisms) {
        let offered = &m.sasl_server_mechanisms;
        let cfg = &self.config.sasl;
        let plain_ok =
            cfg.username.is_some() && (self.config.encrypted || cfg.allow_insecure_plain);
        let mut refused_plain = false;
        let mut choice = None;
        for mech in [Mechanism::External, Mechanism::Plain, Mechanism::Anonymous] {
            if !cfg.mechanisms.contains(&mech) || !offered.contains(mech.name()) {
                continue;
            }
            if mech == Mechanism::Plain && !plain_ok {
                if cfg.username.is_some() {
                    // Credentials were given: logging in anonymously instead
                    // would silently run as someone else.
                    refused_plain = true;
                    break;
                }
                continue;
            }
            choice = Some(mech);
            break;
        }
        let Some(mech) = choice else {
            let names: Vec<_> = offered.0.iter().map(|s| s.as_str()).collect();
            let why = if refused_plain {
                "PLAIN over an unencrypted transport is refused unless allow-insecure-PLAIN is set"
            } else {
                "no mechanism both sides allow"
            };
            self.transport_failed(
                condition::UNAUTHORIZED_ACCESS,
                format!("SASL: {why}; the server offers [{}]", names.join(", ")),
            );
            return;
        };
        let response = match mech {
            Mechanism::Plain => {
                let mut r = vec![0u8];
                r.extend_from_slice(cfg.username.as_deref().unwrap_or("").as_bytes());
                r.push(0);
                r.extend_from_slice(cfg.password.as_deref().unwrap_or("").as_bytes());
                r
            }
            Mechanism::Anonymous => b"anonymous".to_vec(),
            Mechanism::External => Vec::new(),
        };
        self.sasl.mechanism = Some(mech);
        self.sasl.user = cfg.username.clone();
        let init = SaslInit {
            mechanism: Symbol::new(mech.name()),
            initial_response: Some(Binary(response)),
            hostname: self.config.hostname.clone(),
        };
        self.write_sasl_frame(&SaslFrame::Init(init));
    }

    fn sasl_client_outcome(&mut self, o: SaslOutcome) {
        self.sasl.outcome = Some(o.code);
        if o.code != SaslCode::Ok {
            let mech = self.sasl.mechanism.map_or("?", Mechanism::name);
            self.transport_failed(
                condition::UNAUTHORIZED_ACCESS,
                format!("SASL {mech} authentication failed: outcome {:?}", o.code),
            );
            return;
        }
        self.push(Event::SaslDone);
        self.out.extend_from_slice(ProtocolHeader::Amqp.as_bytes());
        self.amqp_header_sent = true;
        self.phase = Phase::AwaitHeader(Some(ProtocolHeader::Amqp));
        self.send_open_if_ready();
    }

    pub(crate) fn sasl_server_start(&mut self) {
        let cfg = &self.config.sasl;
        let offered: Vec<Symbol> = cfg
            .mechanisms
            .iter()
            .filter(|m| {
                **m != Mechanism::Plain || self.config.encrypted || cfg.allow_insecure_plain
            })
            .map(|m| Symbol::new(m.name()))
            .collect();
        self.write_sasl_frame(&SaslFrame::Mechanisms(SaslMechanisms {
            sasl_server_mechanisms: Symbols(offered),
        }));
    }

    fn sasl_server_init(&mut self, init: SaslInit) {
        let cfg = &self.config.sasl;
        let mech = Mechanism::from_name(init.mechanism.as_str()).filter(|m| {
            cfg.mechanisms.contains(m)
                && (*m != Mechanism::Plain || self.config.encrypted || cfg.allow_insecure_plain)
        });
        let Some(mech) = mech else {
            self.sasl_finish_server(false, "mechanism not offered");
            return;
        };
        let response = init.initial_response.map(|b| b.0).unwrap_or_default();
        let (username, password) = match mech {
            Mechanism::Plain => match parse_plain(&response) {
                Some((u, p)) => (Some(u), Some(p)),
                None => {
                    self.sasl_finish_server(false, "malformed PLAIN response");
                    return;
                }
            },
            _ => (None, None),
        };
        self.sasl.mechanism = Some(mech);
        let request = SaslRequest {
            mechanism: mech.name().to_owned(),
            username,
            password,
            initial_response: response,
            hostname: init.hostname,
        };
        let verdict = match &cfg.authenticator {
            Authenticator::AcceptAll => Some(true),
            Authenticator::Credentials(list) => Some(match mech {
                Mechanism::Plain => list.iter().any(|(u, p)| {
                    Some(u.as_str()) == request.username.as_deref()
                        && Some(p.as_str()) == request.password.as_deref()
                }),
                _ => true,
            }),
            Authenticator::Application => None,
        };
        self.sasl.user = request.username.clone();
        match verdict {
            Some(ok) => self.sasl_finish_server(ok, "credentials refused"),
            None => {
                self.sasl.pending = Some(request);
                self.push(Event::SaslAuthenticate);
            }
        }
    }

    fn sasl_finish_server(&mut self, ok: bool, why: &str) {
        let code = if ok { SaslCode::Ok } else { SaslCode::Auth };
        self.sasl.outcome = Some(code);
        self.write_sasl_frame(&SaslFrame::Outcome(SaslOutcome {
            code,
            additional_data: None,
        }));
        if ok {
            self.push(Event::SaslDone);
            self.phase = Phase::AwaitHeader(Some(ProtocolHeader::Amqp));
        } else {
            self.transport_failed(
                condition::UNAUTHORIZED_ACCESS,
                format!("SASL authentication failed: {why}"),
            );
        }
    }

    /// Server with [`Authenticator::Application`]: the login waiting for a
    /// decision.
    pub fn sasl_request(&self) -> Option<&SaslRequest> {
        self.sasl.pending.as_ref()
    }

    /// Server with [`Authenticator::Application`]: accept or refuse the
    /// pending login.
    pub fn sasl_complete(&mut self, accept: bool) {
        if self.sasl.pending.take().is_some() {
            self.sasl_finish_server(accept, "refused by the application");
        }
    }

    /// The user name used to log in (client) or that logged in (server).
    pub fn sasl_user(&self) -> Option<&str> {
        self.sasl.user.as_deref()
    }

    /// The SASL mechanism in use, once chosen.
    pub fn sasl_mechanism(&self) -> Option<Mechanism> {
        self.sasl.mechanism
    }
}
