//! Connection configuration: identity, limits and SASL.

use std::fmt;
use std::time::Duration;

use super::scram::CredentialStore;
use crate::codec::{Map, Symbols};

/// A SASL mechanism muon can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// RFC 4505: no credentials.
    Anonymous,
    /// RFC 4616: user name and password in clear.
    Plain,
    /// Identity from the transport (a TLS client certificate).
    External,
    /// RFC 5802 with SHA-1 (no channel binding).
    ScramSha1,
    /// RFC 7677: SCRAM with SHA-256 (no channel binding).
    ScramSha256,
    /// SCRAM with SHA-512 (no channel binding).
    ScramSha512,
    /// Google/Microsoft XOAUTH2: user name and OAuth 2.0 bearer token.
    XOAuth2,
}

impl Mechanism {
    /// Every mechanism, strongest first: the order a client prefers them in
    /// and the default order a server offers them in.
    pub const ALL: [Mechanism; 7] = [
        Mechanism::External,
        Mechanism::ScramSha512,
        Mechanism::ScramSha256,
        Mechanism::ScramSha1,
        Mechanism::Plain,
        Mechanism::XOAuth2,
        Mechanism::Anonymous,
    ];

    /// The mechanism's SASL name.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Anonymous => "ANONYMOUS",
            Mechanism::Plain => "PLAIN",
            Mechanism::External => "EXTERNAL",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
            Mechanism::XOAuth2 => "XOAUTH2",
        }
    }

    /// The mechanism named `name`, if muon knows it. `SCRAM-*-PLUS`
    /// (channel binding) is not supported and gives `None`.
    pub fn from_name(name: &str) -> Option<Mechanism> {
        Mechanism::ALL.into_iter().find(|m| m.name() == name)
    }

    /// True for the SCRAM family.
    pub fn is_scram(self) -> bool {
        matches!(
            self,
            Mechanism::ScramSha1 | Mechanism::ScramSha256 | Mechanism::ScramSha512
        )
    }

    /// True for mechanisms that send a secret in clear (PLAIN's password,
    /// XOAUTH2's bearer token): they need an encrypted transport or
    /// [`SaslConfig::allow_insecure_plain`].
    pub fn sends_secret_in_clear(self) -> bool {
        matches!(self, Mechanism::Plain | Mechanism::XOAuth2)
    }
}

/// How a SASL server decides on a login.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Authenticator {
    /// No authenticator: nothing can be checked, so only ANONYMOUS is
    /// offered, plus EXTERNAL when the transport verified a client
    /// certificate ([`Connection::set_external_identity`](super::Connection::set_external_identity)).
    #[default]
    None,
    /// PLAIN and SCRAM logins are checked against this store (XOAUTH2 is
    /// not offered). EXTERNAL, if offered, accepts the transport's
    /// identity; ANONYMOUS only with [`SaslConfig::allow_anonymous`].
    Credentials(CredentialStore),
    /// The application decides on [`Event::SaslAuthenticate`](super::Event):
    /// PLAIN, XOAUTH2, EXTERNAL (and ANONYMOUS with `allow_anonymous`)
    /// with `sasl_complete`; SCRAM by handing the user's stored
    /// credentials to `sasl_scram_credentials` (the engine checks the proof).
    Application,
}

/// SASL settings for both roles (spec §5.3).
///
/// `Debug` never shows the password or the token.
#[derive(Clone, PartialEq, Eq)]
pub struct SaslConfig {
    /// Whether to use SASL at all. A client with SASL off sends the plain
    /// AMQP header; a server with SASL off refuses the SASL header.
    pub enabled: bool,
    /// Client: the mechanisms it may pick (the strongest the server also
    /// offers and the credentials allow wins, see [`Mechanism::ALL`]).
    /// Server: the mechanisms it may offer, in order of preference; each is
    /// offered only if the authenticator can check it.
    pub mechanisms: Vec<Mechanism>,
    /// Client: user name for SCRAM, PLAIN and XOAUTH2.
    pub username: Option<String>,
    /// Client: password for SCRAM and PLAIN.
    pub password: Option<String>,
    /// Client: OAuth 2.0 bearer token for XOAUTH2.
    pub token: Option<String>,
    /// Client: a client certificate is configured on the transport, so
    /// EXTERNAL is preferred when the server offers it.
    pub external: bool,
    /// Allow PLAIN (and XOAUTH2, whose bearer token is as good as a
    /// password) over a transport that is not encrypted.
    pub allow_insecure_plain: bool,
    /// Server: keep offering ANONYMOUS beside an authenticator
    /// (`Credentials` or `Application`). Without an authenticator
    /// ANONYMOUS is always offered.
    pub allow_anonymous: bool,
    /// Server: a client that skips SASL (sends the AMQP header at once) is
    /// let in anonymously, if ANONYMOUS would be allowed (no authenticator,
    /// or `allow_anonymous`). Otherwise it is told to use SASL and closed.
    pub allow_skip: bool,
    /// Server: how logins are decided.
    pub authenticator: Authenticator,
    /// **Tests only**: a fixed SCRAM nonce instead of a random one (the
    /// client nonce on a client, the server's part on a server), so that
    /// the RFC 5802/7677 vectors reproduce. Never set it in production: a
    /// repeated nonce lets a recorded exchange be replayed.
    #[doc(hidden)]
    pub test_nonce: Option<String>,
}

impl Default for SaslConfig {
    fn default() -> Self {
        SaslConfig {
            enabled: true,
            mechanisms: Mechanism::ALL.to_vec(),
            username: None,
            password: None,
            token: None,
            external: false,
            allow_insecure_plain: false,
            allow_anonymous: false,
            allow_skip: true,
            authenticator: Authenticator::None,
            test_nonce: None,
        }
    }
}

/// Shows `<redacted>` for a secret that is set.
fn secret(v: &Option<String>) -> &'static str {
    if v.is_some() {
        "Some(<redacted>)"
    } else {
        "None"
    }
}

impl fmt::Debug for SaslConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslConfig")
            .field("enabled", &self.enabled)
            .field("mechanisms", &self.mechanisms)
            .field("username", &self.username)
            .field("password", &format_args!("{}", secret(&self.password)))
            .field("token", &format_args!("{}", secret(&self.token)))
            .field("external", &self.external)
            .field("allow_insecure_plain", &self.allow_insecure_plain)
            .field("allow_anonymous", &self.allow_anonymous)
            .field("allow_skip", &self.allow_skip)
            .field("authenticator", &self.authenticator)
            .field("test_nonce", &self.test_nonce)
            .finish()
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
    /// How long the peer has, from the engine's start, to get as far as
    /// its AMQP `open` (protocol headers, SASL, and the transport below:
    /// TCP connect, TLS): a peer that connects and says nothing, or stops
    /// mid-header or mid-SASL, is dropped then. `None`: no limit.
    pub handshake_timeout: Option<Duration>,
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
            handshake_timeout: Some(Duration::from_secs(10)),
        }
    }
}
