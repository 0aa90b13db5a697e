//! SASL frames and their restricted types (security.bare.xml, spec §5.3).

use std::fmt;

use super::composite::{Binary, Decode, Encode, Symbol, Symbols};
use super::decode::{Constructor, Decoder};
use super::error::{DecodeErrorKind as K, DecodeResult};
use super::transport::{described_enum, restricted_uint};

restricted_uint! {
    /// sasl-code (§5.3.3.6): the outcome of a SASL exchange.
    pub enum SaslCode: u8 = "sasl-code" {
        /// Authentication succeeded.
        Ok = 0,
        /// The credentials were rejected.
        Auth = 1,
        /// A system error, unspecified.
        Sys = 2,
        /// A system error that needs an operator: do not retry.
        SysPerm = 3,
        /// A transient system error: retry later.
        SysTemp = 4,
    }
}

crate::composite! {
    /// sasl-mechanisms (§5.3.3.1): the mechanisms the server offers, most
    /// preferred first.
    pub struct SaslMechanisms = ("amqp:sasl-mechanisms:list", 0x40) {
        /// The mechanism names (`PLAIN`, `ANONYMOUS`, ...).
        sasl_server_mechanisms: req Symbols,
    }
}

crate::composite! {
    no_debug
    /// sasl-init (§5.3.3.2): the client's chosen mechanism and first
    /// response. `Debug` hides secrets: a PLAIN password, an XOAUTH2 token,
    /// the response of any mechanism it does not know to be harmless.
    pub struct SaslInit = ("amqp:sasl-init:list", 0x41) {
        /// The chosen mechanism.
        mechanism: req Symbol,
        /// The mechanism's initial response.
        initial_response: opt Binary,
        /// The host the client wants (like TLS SNI).
        hostname: opt String,
    }
}

crate::composite! {
    no_debug
    /// sasl-challenge (§5.3.3.3): a challenge from the server. `Debug`
    /// hides a SCRAM server signature and anything it cannot tell is
    /// harmless.
    pub struct SaslChallenge = ("amqp:sasl-challenge:list", 0x42) {
        /// Mechanism-specific challenge data.
        challenge: req Binary,
    }
}

crate::composite! {
    no_debug
    /// sasl-response (§5.3.3.4): the client's answer to a challenge.
    /// `Debug` hides it (a SCRAM client-final is shown without its proof).
    pub struct SaslResponse = ("amqp:sasl-response:list", 0x43) {
        /// Mechanism-specific response data.
        response: req Binary,
    }
}

crate::composite! {
    no_debug
    /// sasl-outcome (§5.3.3.5): the end of the SASL exchange. `Debug`
    /// hides the additional data (a SCRAM server signature).
    pub struct SaslOutcome = ("amqp:sasl-outcome:list", 0x44) {
        /// The result.
        code: req SaslCode,
        /// Final server data, on success only.
        additional_data: opt Binary,
    }
}

/// Text written as is by `Debug` (already formatted).
struct Shown(String);

impl fmt::Debug for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn redacted(b: &[u8]) -> String {
    format!("<redacted, {} bytes>", b.len())
}

/// A SASL payload known to hold no secret, shown as a quoted string.
fn quoted(b: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(b))
}

fn show_opt(b: &Option<Binary>, show: impl Fn(&[u8]) -> String) -> Shown {
    Shown(match b {
        Some(b) => format!("Some({})", show(&b.0)),
        None => "None".to_owned(),
    })
}

/// `PLAIN user "bob" password <redacted>` (RFC 4616 `authzid NUL authcid
/// NUL password`).
fn show_plain(b: &[u8]) -> String {
    let mut parts = b.splitn(3, |x| *x == 0);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(authzid), Some(user), Some(_)) => {
            let mut s = String::from("PLAIN ");
            if !authzid.is_empty() {
                s.push_str(&format!("authzid {} ", quoted(authzid)));
            }
            s.push_str(&format!("user {} password <redacted>", quoted(user)));
            s
        }
        _ => redacted(b),
    }
}

/// A sasl-init's initial response as it may be shown (secrets redacted).
pub fn show_initial_response(mech: &str, b: &[u8]) -> String {
    match mech {
        "PLAIN" => show_plain(b),
        // Trace string, authzid, client-first (user name and nonce).
        "ANONYMOUS" | "EXTERNAL" | "SCRAM-SHA-1" | "SCRAM-SHA-256" | "SCRAM-SHA-512" => quoted(b),
        _ => redacted(b),
    }
}

/// A sasl-challenge as it may be shown (secrets redacted).
pub fn show_challenge(b: &[u8]) -> String {
    // SCRAM server-first (r=, s=, i=; or m= first) and errors (e=), and
    // XOAUTH2's JSON error, are harmless; a server-final's v= is not.
    let harmless = [&b"r="[..], b"m=", b"e=", b"{"]
        .iter()
        .any(|p| b.starts_with(p))
        && std::str::from_utf8(b).is_ok();
    if harmless {
        quoted(b)
    } else if b.starts_with(b"v=") {
        "\"v=<redacted>\"".to_owned()
    } else {
        redacted(b)
    }
}

/// A sasl-response as it may be shown (secrets redacted).
pub fn show_response(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok("") => "\"\"".to_owned(),
        // SCRAM client-final: show all but the proof.
        Ok(t) if t.starts_with("c=") && t.contains(",p=") => {
            let cut = t.rfind(",p=").unwrap_or(t.len());
            format!("{:?}", format!("{},p=<redacted>", &t[..cut]))
        }
        _ => redacted(b),
    }
}

/// A sasl-outcome's additional data as it may be shown (secrets redacted).
pub fn show_outcome_data(b: &[u8]) -> String {
    if b.starts_with(b"e=") && std::str::from_utf8(b).is_ok() {
        quoted(b)
    } else if b.starts_with(b"v=") {
        "\"v=<redacted>\"".to_owned()
    } else {
        redacted(b)
    }
}

impl fmt::Debug for SaslInit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mech = self.mechanism.as_str();
        let response = show_opt(&self.initial_response, |b| show_initial_response(mech, b));
        f.debug_struct("SaslInit")
            .field("mechanism", &self.mechanism)
            .field("initial_response", &response)
            .field("hostname", &self.hostname)
            .finish()
    }
}

impl fmt::Debug for SaslChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = show_challenge(&self.challenge.0);
        f.debug_struct("SaslChallenge")
            .field("challenge", &Shown(text))
            .finish()
    }
}

impl fmt::Debug for SaslResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = show_response(&self.response.0);
        f.debug_struct("SaslResponse")
            .field("response", &Shown(text))
            .finish()
    }
}

impl fmt::Debug for SaslOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data = show_opt(&self.additional_data, show_outcome_data);
        f.debug_struct("SaslOutcome")
            .field("code", &self.code)
            .field("additional_data", &data)
            .finish()
    }
}

described_enum! {
    /// A SASL frame body (§5.3.1): exactly one of the five SASL
    /// performatives, told apart by numeric or symbolic descriptor.
    pub enum SaslFrame = "sasl-frame" {
        /// §5.3.3.1
        Mechanisms(SaslMechanisms) = "sasl-mechanisms",
        /// §5.3.3.2
        Init(SaslInit) = "sasl-init",
        /// §5.3.3.3
        Challenge(SaslChallenge) = "sasl-challenge",
        /// §5.3.3.4
        Response(SaslResponse) = "sasl-response",
        /// §5.3.3.5
        Outcome(SaslOutcome) = "sasl-outcome",
    }
}
