//! Connection configuration: identity, limits and SASL.

use std::time::Duration;

use crate::codec::{Map, Symbols};

/// A SASL mechanism muon can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// RFC 4505: no credentials.
    Anonymous,
    /// RFC 4616: user name and password in clear.
    Plain,
    /// Identity from the transport (a TLS client certificate).
    External,
}

impl Mechanism {
    /// The mechanism's SASL name.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Anonymous => "ANONYMOUS",
            Mechanism::Plain => "PLAIN",
            Mechanism::External => "EXTERNAL",
        }
    }

    /// The mechanism named `name`, if muon knows it.
    pub fn from_name(name: &str) -> Option<Mechanism> {
        match name {
            "ANONYMOUS" => Some(Mechanism::Anonymous),
            "PLAIN" => Some(Mechanism::Plain),
            "EXTERNAL" => Some(Mechanism::External),
            _ => None,
        }
    }
}

/// How a SASL server decides on a login.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Authenticator {
    /// Every login with an offered mechanism succeeds.
    #[default]
    AcceptAll,
    /// PLAIN logins must match one of these (user, password) pairs;
    /// ANONYMOUS and EXTERNAL, if offered, succeed.
    Credentials(Vec<(String, String)>),
    /// The application decides on [`Event::SaslAuthenticate`](super::Event).
    Application,
}

/// SASL settings for both roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslConfig {
    /// Whether to use SASL at all. A client with SASL off sends the plain
    /// AMQP header; a server with SASL off refuses the SASL header.
    pub enabled: bool,
    /// Client: the mechanisms it may pick (the strongest the server also
    /// offers wins: EXTERNAL, then PLAIN, then ANONYMOUS). Server: the
    /// mechanisms it offers, in order of preference.
    pub mechanisms: Vec<Mechanism>,
    /// Client: user name for PLAIN.
    pub username: Option<String>,
    /// Client: password for PLAIN.
    pub password: Option<String>,
    /// Allow PLAIN over a transport that is not encrypted.
    pub allow_insecure_plain: bool,
    /// Server: a client that skips SASL (sends the AMQP header at once) is
    /// let in anonymously. When false, it is told to use SASL and closed.
    pub allow_skip: bool,
    /// Server: how logins are decided.
    pub authenticator: Authenticator,
}

impl Default for SaslConfig {
    fn default() -> Self {
        SaslConfig {
            enabled: true,
            mechanisms: vec![Mechanism::Anonymous, Mechanism::Plain],
            username: None,
            password: None,
            allow_insecure_plain: false,
            allow_skip: true,
            authenticator: Authenticator::AcceptAll,
        }
    }
}

/// Everything a connection is opened with.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// This container's ID (`open.container-id`).
    pub container_id: String,
    /// The virtual host asked for (`open.hostname`, SASL hostname).
    pub hostname: Option<String>,
    /// The largest frame this side accepts (at least 512).
    pub max_frame_size: u32,
    /// The highest channel number this side accepts.
    pub channel_max: u16,
    /// How long this side tolerates silence from the peer; half of it is
    /// advertised as `idle-time-out` (spec §2.4.5). `None`: no limit.
    pub idle_timeout: Option<Duration>,
    /// `open.properties`.
    pub properties: Option<Map>,
    /// `open.offered-capabilities`.
    pub offered_capabilities: Option<Symbols>,
    /// `open.desired-capabilities`.
    pub desired_capabilities: Option<Symbols>,
    /// SASL settings.
    pub sasl: SaslConfig,
    /// Whether the transport below is encrypted (TLS); PLAIN needs it unless
    /// `sasl.allow_insecure_plain`.
    pub encrypted: bool,
    /// Session incoming window, in frames, for sessions this side begins or
    /// answers.
    pub session_window: u32,
    /// Largest incoming message accepted on a link when the link sets no
    /// smaller `max-message-size`: bounds what one delivery can buffer.
    pub max_message_size: u64,
    /// Output bytes the engine holds before refusing new deliveries with
    /// [`Error::OutputFull`](super::Error).
    pub max_output: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            container_id: String::new(),
            hostname: None,
            max_frame_size: 65536,
            channel_max: 32767,
            idle_timeout: None,
            properties: None,
            offered_capabilities: None,
            desired_capabilities: None,
            sasl: SaslConfig::default(),
            encrypted: false,
            session_window: 4096,
            max_message_size: 256 * 1024 * 1024,
            max_output: 64 * 1024 * 1024,
        }
    }
}
