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
    /// How long a protocol header (8 bytes, always written at once) may
    /// take to arrive once its first byte has: a peer that stops part-way
    /// is answered (a server writes the header it supports, §2.2) and
    /// dropped then, not at the end of the whole handshake time-out.
    /// `None`: only the handshake time-out applies.
    pub header_timeout: Option<Duration>,
    /// How long, after this side's `close` went out, the peer has to answer
    /// with its own before the transport is ended anyway (§2.4.3: the
    /// closing side reads on "with a timeout"). Also how long a transport
    /// driver keeps trying to write the last frames of a finished
    /// connection to a peer that does not read them. `None`: wait forever.
    pub close_timeout: Option<Duration>,
    /// The shortest `idle-time-out` this side honours from the peer
    /// (§2.4.5: a peer that cannot support a proposed idle time-out closes
    /// the connection, explaining why): a shorter one would make this side
    /// write an empty frame every few milliseconds. An `open` asking for
    /// less is answered with a `close` (`amqp:invalid-field`).
    pub min_peer_idle_timeout: Duration,
    /// Sessions the peer may have begun on this connection at once; one
    /// more `begin` closes the connection with
    /// `amqp:resource-limit-exceeded`. (`channel_max` bounds them too.)
    pub max_sessions: usize,
    /// Links the peer may have attached on one session at once; one more
    /// `attach` closes the connection with `amqp:resource-limit-exceeded`.
    /// (The session's `handle-max` bounds them too.)
    pub max_links_per_session: usize,
    /// Bytes of link state the peer's attaches may make this side hold on
    /// the connection, all links together: each link counts its own size
    /// plus the size of the peer's `attach` frame (names, termini,
    /// properties). An `attach` beyond it closes the connection with
    /// `amqp:resource-limit-exceeded`.
    pub max_link_state: usize,
    /// Deliveries one link may hold at once. Receiving: those not yet
    /// settled (or released) here; a peer that sends one more has the link
    /// detached with `amqp:resource-limit-exceeded`. Sending: those the
    /// peer has not settled; at the limit the sender's credit reads 0 and
    /// `send` is refused ([`Error::NoCredit`](super::Error)) until the
    /// peer settles some, when [`Event::LinkFlow`](super::Event) follows.
    pub max_unsettled_per_link: usize,
    /// Payload bytes of incomplete incoming deliveries (multi-frame
    /// messages still arriving), all links of the connection together:
    /// the frame that would go past it detaches its link with
    /// `amqp:resource-limit-exceeded`. (Each delivery is also held to
    /// `max_message_size`.)
    pub max_incomplete_bytes: usize,
    /// How long output may wait above `max_output` with none of it taken
    /// by the transport (the peer has stopped reading) before the
    /// connection fails with `amqp:resource-limit-exceeded`. A transport
    /// driver stops feeding input while the output is above `max_output`
    /// ([`Connection::wants_input`](super::Connection::wants_input)), so
    /// what a peer that does not read can make this side queue stays near
    /// `max_output`. `None`: no limit.
    pub stalled_output_timeout: Option<Duration>,
    /// How deeply described values, lists, maps and arrays may nest in
    /// what the peer sends (performatives, SASL frames, and the messages
    /// the C API decodes), at most [`MAX_DEPTH`](crate::codec::decode::MAX_DEPTH);
    /// deeper input is `amqp:decode-error`.
    pub max_decode_depth: usize,
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
            max_message_size: 64 * 1024 * 1024,
            max_output: 64 * 1024 * 1024,
            handshake_timeout: Some(Duration::from_secs(10)),
            header_timeout: Some(Duration::from_secs(1)),
            close_timeout: Some(Duration::from_secs(5)),
            min_peer_idle_timeout: Duration::from_millis(50),
            max_sessions: 1024,
            max_links_per_session: 1024,
            max_link_state: 16 * 1024 * 1024,
            max_unsettled_per_link: 16384,
            max_incomplete_bytes: 64 * 1024 * 1024,
            stalled_output_timeout: Some(Duration::from_secs(30)),
            max_decode_depth: crate::codec::decode::MAX_DEPTH,
        }
    }
}
