//! TLS as a byte transform between a socket and an engine: rustls with the
//! ring crypto provider. The engine never knows: it reads and writes
//! plaintext AMQP whatever the transport.
//!
//! - Client: `amqps://` URLs. Verification is on by default against the
//!   platform's trust store (which honours `SSL_CERT_FILE` and
//!   `SSL_CERT_DIR` as OpenSSL does), plus any CA the application adds, and
//!   the host name of the URL (or the `hostname` option) is checked and
//!   sent as SNI. Turning verification off takes an option named
//!   `insecure`, and every connection made so says so in the log.
//! - Server: a certificate chain and key; optionally client certificates
//!   verified against a CA (required, or only checked when offered), the
//!   subject of a verified one becoming the SASL EXTERNAL identity; and
//!   optionally plain AMQP on the same port, told apart by the first byte
//!   (a TLS record starts with 22).
//! - Every failure becomes an AMQP condition whose description says what
//!   went wrong in words (unknown issuer, expired, name mismatch, client
//!   certificate required, protocol version, not TLS at all).

use std::io::{self, Read, Write};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    AlertDescription, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore,
    ServerConfig, SignatureScheme,
};

use crate::codec::transport::{AmqpError, condition};

/// TLS settings of a client connection (all PEM bytes: files are read
/// when the option is set, so that a missing file is reported there).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsClientSettings {
    /// Trust the platform's store (default true).
    pub no_system_trust: bool,
    /// Further trusted CA certificates, PEM.
    pub ca_pem: Vec<Vec<u8>>,
    /// Client certificate chain and private key, PEM, for mutual TLS.
    pub client_cert: Option<(Vec<u8>, Vec<u8>)>,
    /// Skip every check of the server's certificate. Insecure.
    pub insecure_skip_verify: bool,
}

impl std::fmt::Debug for TlsClientSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a private key.
        f.debug_struct("TlsClientSettings")
            .field("no_system_trust", &self.no_system_trust)
            .field("ca_pem", &self.ca_pem.len())
            .field("client_cert", &self.client_cert.is_some())
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .finish()
    }
}

/// TLS settings of a listener.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsServerSettings {
    /// Certificate chain and private key, PEM.
    pub cert: Option<(Vec<u8>, Vec<u8>)>,
    /// CAs that client certificates are verified against, PEM.
    pub client_ca_pem: Vec<Vec<u8>>,
    /// With client CAs: a client without a certificate is refused (else
    /// it may go on without one, and SASL decides).
    pub require_client_cert: bool,
    /// Also accept plain AMQP on the TLS port. Insecure.
    pub insecure_allow_plain: bool,
}

impl std::fmt::Debug for TlsServerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsServerSettings")
            .field("cert", &self.cert.is_some())
            .field("client_ca_pem", &self.client_ca_pem.len())
            .field("require_client_cert", &self.require_client_cert)
            .field("insecure_allow_plain", &self.insecure_allow_plain)
            .finish()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Parses every certificate in `pem`; an error says what is wrong.
pub fn parse_certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{what}: not valid PEM: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{what}: no CERTIFICATE block in the PEM"));
    }
    Ok(certs)
}

/// Parses the first private key in `pem` (PKCS#8, PKCS#1 or SEC1).
pub fn parse_key(pem: &[u8], what: &str) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| format!("{what}: no usable private key: {e}"))
}

fn roots(extra: &[Vec<u8>], system: bool) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    if system {
        // SSL_CERT_FILE / SSL_CERT_DIR, else the platform's locations.
        let found = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(found.certs);
    }
    for pem in extra {
        for c in parse_certs(pem, "CA certificate")? {
            roots
                .add(c)
                .map_err(|e| format!("CA certificate: cannot be used as a trust anchor: {e}"))?;
        }
    }
    Ok(roots)
}

/// Builds the rustls client configuration.
pub fn client_config(s: &TlsClientSettings) -> Result<Arc<ClientConfig>, String> {
    let p = provider();
    let builder = ClientConfig::builder_with_provider(p.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = if s.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(
                p.signature_verification_algorithms,
            )))
    } else {
        let roots = roots(&s.ca_pem, !s.no_system_trust)?;
        if roots.is_empty() {
            return Err(
                "no trusted CA certificates: the platform store is empty or unreadable and none was added"
                    .into(),
            );
        }
        builder.with_root_certificates(roots)
    };
    let mut config = match &s.client_cert {
        Some((chain, key)) => builder
            .with_client_auth_cert(
                parse_certs(chain, "client certificate")?,
                parse_key(key, "client key")?,
            )
            .map_err(|e| format!("client certificate and key: {e}"))?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols.clear();
    Ok(Arc::new(config))
}

/// Builds the rustls server configuration of a listener.
pub fn server_config(s: &TlsServerSettings) -> Result<Arc<ServerConfig>, String> {
    let Some((chain, key)) = &s.cert else {
        return Err("a TLS listener needs a certificate and key".into());
    };
    let p = provider();
    let builder = ServerConfig::builder_with_provider(p.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = if s.client_ca_pem.is_empty() {
        if s.require_client_cert {
            return Err("requiring client certificates needs a client CA to verify them".into());
        }
        builder.with_no_client_auth()
    } else {
        let roots = Arc::new(roots(&s.client_ca_pem, false)?);
        let v = WebPkiClientVerifier::builder_with_provider(roots, p);
        let v = if s.require_client_cert {
            v
        } else {
            v.allow_unauthenticated()
        };
        builder.with_client_cert_verifier(v.build().map_err(|e| format!("client CA: {e}"))?)
    };
    let config = builder
        .with_single_cert(
            parse_certs(chain, "certificate")?,
            parse_key(key, "private key")?,
        )
        .map_err(|e| format!("certificate and key: {e}"))?;
    Ok(Arc::new(config))
}

/// A verifier that accepts any certificate (signatures are still checked
/// so the handshake is well formed). Only for
/// `insecure_skip_verify`.
#[derive(Debug)]
struct NoVerification(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// A writer that never writes vectored. rustls hands its records to
/// `write_vectored`, which std's sockets implement with `writev`; unlike
/// their `write` (`send` with `MSG_NOSIGNAL`), `writev` to a connection the
/// peer has reset raises SIGPIPE, and a C program, unlike a Rust one, keeps
/// SIGPIPE's default action: it dies. The default `write_vectored` writes
/// the first non-empty buffer with `write`.
struct NoVectoredWrite<W>(W);

impl<W: Write> Write for NoVectoredWrite<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// One connection's TLS state.
pub struct TlsSession {
    conn: rustls::Connection,
    /// Plaintext read out of TLS, handed to the engine.
    plain: Vec<u8>,
    /// The peer's host name as the client checks it (for messages).
    peer_name: String,
}

/// What [`TlsSession::absorb`] hands its caller, in the order it comes.
pub enum Input<'a> {
    /// The handshake just finished; the subject of the peer's verified
    /// certificate, if any. Comes before any plaintext that followed the
    /// handshake in the same read, so that a server knows its client's
    /// identity (SASL EXTERNAL) before it answers the SASL header.
    Established(Option<String>),
    /// Plaintext read out of TLS.
    Plain(&'a [u8]),
}

/// What feeding bytes to a session produced.
pub struct Absorbed {
    /// The handshake finished during this call.
    pub handshake_done: bool,
    /// The peer sent close_notify.
    pub closed: bool,
}

impl TlsSession {
    /// A client session to `host` (checked against the certificate, and
    /// sent as SNI unless it is an IP address).
    pub fn client(config: Arc<ClientConfig>, host: &str) -> Result<TlsSession, AmqpError> {
        let name = ServerName::try_from(host.to_owned()).map_err(|_| {
            AmqpError::new(
                condition::CONNECTION_FORCED,
                format!("TLS: {host:?} is not a valid host name to verify"),
            )
        })?;
        let conn = rustls::ClientConnection::new(config, name)
            .map_err(|e| AmqpError::new(condition::CONNECTION_FORCED, format!("TLS: {e}")))?;
        Ok(TlsSession {
            conn: conn.into(),
            plain: vec![0; 16 * 1024],
            peer_name: host.to_owned(),
        })
    }

    /// A server session.
    pub fn server(config: Arc<ServerConfig>) -> Result<TlsSession, AmqpError> {
        let conn = rustls::ServerConnection::new(config)
            .map_err(|e| AmqpError::new(condition::CONNECTION_FORCED, format!("TLS: {e}")))?;
        Ok(TlsSession {
            conn: conn.into(),
            plain: vec![0; 16 * 1024],
            peer_name: String::new(),
        })
    }

    /// Feeds bytes read from the socket; the end of the handshake and the
    /// plaintext go to `deliver`.
    pub fn absorb(
        &mut self,
        mut data: &[u8],
        mut deliver: impl FnMut(Input<'_>),
    ) -> Result<Absorbed, AmqpError> {
        let was = self.conn.is_handshaking();
        let mut reported = false;
        let mut closed = false;
        while !data.is_empty() {
            match self.conn.read_tls(&mut data) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return Err(self.failed(&rustls::Error::General(e.to_string()))),
            }
            let state = self
                .conn
                .process_new_packets()
                .map_err(|e| self.failed(&e))?;
            closed |= state.peer_has_closed();
            // A TLS 1.3 client sends its first data right behind its
            // Finished, often in the same read.
            if was && !reported && !self.conn.is_handshaking() {
                reported = true;
                deliver(Input::Established(self.peer_identity()));
            }
            if state.plaintext_bytes_to_read() > 0 {
                loop {
                    match self.conn.reader().read(&mut self.plain) {
                        Ok(0) => break,
                        Ok(n) => deliver(Input::Plain(&self.plain[..n])),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(_) => break,
                    }
                }
            }
        }
        Ok(Absorbed {
            handshake_done: reported,
            closed,
        })
    }

    /// Takes as much plaintext as TLS buffers now (0 while the buffer is
    /// full, e.g. before the handshake is done).
    pub fn send(&mut self, plain: &[u8]) -> usize {
        self.conn.writer().write(plain).unwrap_or(0)
    }

    /// The handshake is still under way.
    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// TLS records are waiting for the socket.
    pub fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Writes TLS records to `sock` until it blocks or none are left.
    /// `Ok(true)` if everything went.
    pub fn write_to(&mut self, sock: &mut impl Write) -> io::Result<bool> {
        let mut sock = NoVectoredWrite(sock);
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut sock) {
                Ok(0) => return Ok(false),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Drops the TLS records still waiting for the socket, once writing
    /// to it has failed: nothing more can go, and records left queued
    /// would keep the connection waiting for a WRITABLE that never comes.
    pub fn discard_output(&mut self) {
        while self.conn.wants_write() {
            if self.conn.write_tls(&mut io::sink()).is_err() {
                break;
            }
        }
    }

    /// Queues close_notify (then [`write_to`](Self::write_to) sends it).
    pub fn close(&mut self) {
        self.conn.send_close_notify();
    }

    /// "TLSv1.3, TLS13_AES_256_GCM_SHA384" once established.
    pub fn describe(&self) -> String {
        let v = self
            .conn
            .protocol_version()
            .map_or("?".to_owned(), |v| format!("{v:?}"));
        let c = self
            .conn
            .negotiated_cipher_suite()
            .map_or("?".to_owned(), |c| format!("{:?}", c.suite()));
        format!("{v}, {c}")
    }

    /// The protocol version and cipher suite, once negotiated.
    pub fn negotiated(&self) -> Option<(String, String)> {
        let v = self.conn.protocol_version()?;
        let c = self.conn.negotiated_cipher_suite()?;
        // rustls spells the version "TLSv1_3"; people write "TLSv1.3".
        let v = v
            .as_str()
            .map_or_else(|| format!("{v:?}"), str::to_owned)
            .replace('_', ".");
        let c = c
            .suite()
            .as_str()
            .map_or_else(|| format!("{:?}", c.suite()), str::to_owned);
        Some((v, c))
    }

    /// The subject of the peer's verified certificate: its common name if
    /// it has one, else the whole distinguished name.
    pub fn peer_identity(&self) -> Option<String> {
        let cert = self.conn.peer_certificates()?.first()?;
        subject_identity(cert.as_ref())
    }

    /// The condition for a TLS failure, in words.
    fn failed(&self, e: &rustls::Error) -> AmqpError {
        describe_error(
            e,
            &self.peer_name,
            matches!(self.conn, rustls::Connection::Client(_)),
        )
    }
}

/// Turns a rustls error into a condition with a description a person
/// understands.
pub fn describe_error(e: &rustls::Error, host: &str, client: bool) -> AmqpError {
    use rustls::Error as E;
    let peer = if client { "the server" } else { "the client" };
    let (cond, text) = match e {
        E::InvalidCertificate(c) => (
            condition::UNAUTHORIZED_ACCESS,
            match c {
                CertificateError::UnknownIssuer => format!(
                    "{peer}'s certificate was issued by an unknown certificate authority (not in the trust store; add its CA)"
                ),
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    format!("{peer}'s certificate has expired")
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    format!("{peer}'s certificate is not valid yet")
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => {
                    format!(
                        "{peer}'s certificate is not valid for the name {host:?} (name mismatch)"
                    )
                }
                CertificateError::Revoked => format!("{peer}'s certificate has been revoked"),
                CertificateError::BadSignature => {
                    format!("{peer}'s certificate has a bad signature")
                }
                other => format!("{peer}'s certificate was refused: {other:?}"),
            },
        ),
        E::NoCertificatesPresented => (
            condition::UNAUTHORIZED_ACCESS,
            "the client presented no certificate, and this listener requires one".into(),
        ),
        E::AlertReceived(a) => (
            condition::UNAUTHORIZED_ACCESS,
            match a {
                AlertDescription::CertificateRequired => format!(
                    "{peer} requires a client certificate, and none was configured (or it was refused)"
                ),
                AlertDescription::UnknownCA => {
                    format!("{peer} does not trust our certificate (unknown CA)")
                }
                AlertDescription::BadCertificate | AlertDescription::CertificateUnknown => {
                    format!("{peer} refused our certificate")
                }
                AlertDescription::CertificateExpired => {
                    format!("{peer} says our certificate has expired")
                }
                AlertDescription::ProtocolVersion => {
                    format!("{peer} supports no TLS version we do (we need TLS 1.2 or 1.3)")
                }
                AlertDescription::HandshakeFailure => {
                    format!(
                        "{peer} ended the handshake: no common parameters, or a client certificate is required"
                    )
                }
                other => format!("{peer} sent the TLS alert {other:?}"),
            },
        ),
        E::PeerIncompatible(p) => (
            condition::CONNECTION_FORCED,
            format!("{peer} is incompatible (protocol version or cipher suites): {p:?}"),
        ),
        E::InvalidMessage(_) => (
            condition::FRAMING_ERROR,
            format!("{peer} did not answer with TLS (is it a plain AMQP port? use amqp://)"),
        ),
        other => (condition::CONNECTION_FORCED, other.to_string()),
    };
    AmqpError::new(cond, format!("TLS: {text}"))
}

// ---- the subject of a certificate, from its DER ----------------------------------

/// Reads one DER element: (tag, contents, rest).
fn der(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, b) = b.split_first()?;
    let (&l0, mut b) = b.split_first()?;
    let len = if l0 < 0x80 {
        usize::from(l0)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 4 || b.len() < n {
            return None;
        }
        let mut len = 0usize;
        for &x in &b[..n] {
            len = (len << 8) | usize::from(x);
        }
        b = &b[n..];
        len
    };
    if b.len() < len {
        return None;
    }
    Some((tag, &b[..len], &b[len..]))
}

/// The subject's common name, else its whole name as `K=V,K=V`.
pub fn subject_identity(cert: &[u8]) -> Option<String> {
    let (_, certificate, _) = der(cert)?;
    let (_, tbs, _) = der(certificate)?;
    let mut rest = tbs;
    // [0] version is optional; then serial, signature, issuer, validity, subject.
    let (tag, _, r) = der(rest)?;
    if tag == 0xa0 {
        rest = r;
    }
    for _ in 0..4 {
        rest = der(rest)?.2;
    }
    let (_, mut subject, _) = der(rest)?;
    let mut parts = Vec::new();
    let mut cn = None;
    while !subject.is_empty() {
        let (_, set, r) = der(subject)?;
        subject = r;
        let (_, atv, _) = der(set)?;
        let (_, oid, r) = der(atv)?;
        let (_, value, _) = der(r)?;
        let value = String::from_utf8_lossy(value).into_owned();
        let key = match oid {
            [0x55, 0x04, 0x03] => "CN",
            [0x55, 0x04, 0x0a] => "O",
            [0x55, 0x04, 0x0b] => "OU",
            [0x55, 0x04, 0x06] => "C",
            [0x55, 0x04, 0x07] => "L",
            [0x55, 0x04, 0x08] => "ST",
            _ => "?",
        };
        if key == "CN" {
            cn = Some(value.clone());
        }
        parts.push(format!("{key}={value}"));
    }
    cn.or_else(|| (!parts.is_empty()).then(|| parts.join(",")))
}
