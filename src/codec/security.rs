//! SASL frames and their restricted types (security.bare.xml, spec §5.3).

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
    /// sasl-init (§5.3.3.2): the client's chosen mechanism and first
    /// response.
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
    /// sasl-challenge (§5.3.3.3): a challenge from the server.
    pub struct SaslChallenge = ("amqp:sasl-challenge:list", 0x42) {
        /// Mechanism-specific challenge data.
        challenge: req Binary,
    }
}

crate::composite! {
    /// sasl-response (§5.3.3.4): the client's answer to a challenge.
    pub struct SaslResponse = ("amqp:sasl-response:list", 0x43) {
        /// Mechanism-specific response data.
        response: req Binary,
    }
}

crate::composite! {
    /// sasl-outcome (§5.3.3.5): the end of the SASL exchange.
    pub struct SaslOutcome = ("amqp:sasl-outcome:list", 0x44) {
        /// The result.
        code: req SaslCode,
        /// Final server data, on success only.
        additional_data: opt Binary,
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
