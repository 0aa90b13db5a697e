//! SCRAM (RFC 5802, RFC 7677): stored credentials, the server's credential
//! store, and the message-level exchange for both roles.
//!
//! Only the non-PLUS variants are implemented: the GS2 header is always
//! `n,,` (client) and a client asking for channel binding (`p=`) is
//! refused, so `SCRAM-*-PLUS` is neither offered nor chosen (RFC 5802 §6).
//! Passwords are used as their UTF-8 bytes: SASLprep (RFC 4013) is not
//! applied, which makes no difference for ASCII passwords.

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac, pbkdf2};

use super::config::Mechanism;

/// Iteration count used when none is given (RFC 7677 §4 asks for at
/// least 4096).
pub const DEFAULT_ITERATIONS: u32 = 4096;

/// The largest iteration count a client accepts from a server: more would
/// let a hostile server burn the client's CPU (RFC 5802 §9).
pub const MAX_ITERATIONS: u32 = 1_000_000;

/// Why SCRAM credentials could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SCRAM credentials: {0}")]
pub struct CredentialsError(String);

fn cerr(s: impl Into<String>) -> CredentialsError {
    CredentialsError(s.into())
}

/// What a server stores for one user and one SCRAM hash (RFC 5802 §3):
/// the salt, the iteration count, `StoredKey = H(ClientKey)` and
/// `ServerKey`. Neither key lets anyone log in as the user; both together
/// let a server check a login and prove itself to the client.
///
/// Text form (one line, `Display`/`FromStr`):
/// `SCRAM-SHA-256$<iterations>$<salt b64>$<StoredKey b64>$<ServerKey b64>`.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredentials {
    /// The SCRAM mechanism (and so the hash) these keys are for.
    pub mechanism: Mechanism,
    /// The PBKDF2 iteration count.
    pub iterations: u32,
    /// The salt.
    pub salt: Vec<u8>,
    /// `H(HMAC(SaltedPassword, "Client Key"))`.
    pub stored_key: Vec<u8>,
    /// `HMAC(SaltedPassword, "Server Key")`.
    pub server_key: Vec<u8>,
}

impl fmt::Debug for ScramCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramCredentials")
            .field("mechanism", &self.mechanism)
            .field("iterations", &self.iterations)
            .field("salt", &format_args!("<{} bytes>", self.salt.len()))
            .field("stored_key", &format_args!("<redacted>"))
            .field("server_key", &format_args!("<redacted>"))
            .finish()
    }
}

/// The three ring algorithms behind a SCRAM mechanism.
struct Algs {
    digest: &'static digest::Algorithm,
    hmac: hmac::Algorithm,
    pbkdf2: pbkdf2::Algorithm,
}

fn algs(m: Mechanism) -> Option<Algs> {
    // RFC 5802 (SHA-1), RFC 7677 (SHA-256); SHA-512 by the same recipe.
    Some(match m {
        Mechanism::ScramSha1 => Algs {
            digest: &digest::SHA1_FOR_LEGACY_USE_ONLY,
            hmac: hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            pbkdf2: pbkdf2::PBKDF2_HMAC_SHA1,
        },
        Mechanism::ScramSha256 => Algs {
            digest: &digest::SHA256,
            hmac: hmac::HMAC_SHA256,
            pbkdf2: pbkdf2::PBKDF2_HMAC_SHA256,
        },
        Mechanism::ScramSha512 => Algs {
            digest: &digest::SHA512,
            hmac: hmac::HMAC_SHA512,
            pbkdf2: pbkdf2::PBKDF2_HMAC_SHA512,
        },
        _ => return None,
    })
}

impl Algs {
    /// `Hi(password, salt, i)` = PBKDF2 (RFC 5802 §2.2).
    fn salted_password(&self, password: &str, salt: &[u8], iterations: NonZeroU32) -> Vec<u8> {
        let mut out = vec![0u8; self.digest.output_len()];
        pbkdf2::derive(self.pbkdf2, iterations, salt, password.as_bytes(), &mut out);
        out
    }
    fn hmac(&self, key: &[u8], data: &[u8]) -> Vec<u8> {
        hmac::sign(&hmac::Key::new(self.hmac, key), data)
            .as_ref()
            .to_vec()
    }
    fn hash(&self, data: &[u8]) -> Vec<u8> {
        digest::digest(self.digest, data).as_ref().to_vec()
    }
    /// (ClientKey, StoredKey, ServerKey) from SaltedPassword (RFC 5802 §3).
    fn keys(&self, salted: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let client_key = self.hmac(salted, b"Client Key");
        let stored_key = self.hash(&client_key);
        let server_key = self.hmac(salted, b"Server Key");
        (client_key, stored_key, server_key)
    }
}

impl ScramCredentials {
    /// Derives the credentials of `password` with `salt` and `iterations`
    /// (RFC 5802 §3). Fails for a mechanism that is not SCRAM, zero
    /// iterations or an empty salt.
    pub fn derive(
        mechanism: Mechanism,
        password: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Result<ScramCredentials, CredentialsError> {
        let a = algs(mechanism)
            .ok_or_else(|| cerr(format!("{} is not a SCRAM mechanism", mechanism.name())))?;
        let i = NonZeroU32::new(iterations).ok_or_else(|| cerr("iteration count 0"))?;
        if salt.is_empty() {
            return Err(cerr("empty salt"));
        }
        let (_, stored_key, server_key) = a.keys(&a.salted_password(password, salt, i));
        Ok(ScramCredentials {
            mechanism,
            iterations,
            salt: salt.to_vec(),
            stored_key,
            server_key,
        })
    }

    /// Like [`derive`](Self::derive), with a fresh random 16-byte salt.
    pub fn generate(
        mechanism: Mechanism,
        password: &str,
        iterations: u32,
    ) -> Result<ScramCredentials, CredentialsError> {
        let mut salt = [0u8; 16];
        SystemRandom::new()
            .fill(&mut salt)
            .map_err(|_| cerr("no system randomness for the salt"))?;
        ScramCredentials::derive(mechanism, password, &salt, iterations)
    }

    /// True if `password` is the one these credentials were derived from
    /// (recomputes StoredKey and compares in constant time). This is how
    /// PLAIN is checked against a SCRAM-only store.
    pub fn verify_password(&self, password: &str) -> bool {
        let (Some(a), Some(i)) = (algs(self.mechanism), NonZeroU32::new(self.iterations)) else {
            return false;
        };
        let (_, stored, _) = a.keys(&a.salted_password(password, &self.salt, i));
        ct_eq(&stored, &self.stored_key)
    }
}

impl fmt::Display for ScramCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}${}${}${}${}",
            self.mechanism.name(),
            self.iterations,
            B64.encode(&self.salt),
            B64.encode(&self.stored_key),
            B64.encode(&self.server_key)
        )
    }
}

impl FromStr for ScramCredentials {
    type Err = CredentialsError;

    fn from_str(s: &str) -> Result<ScramCredentials, CredentialsError> {
        let parts: Vec<&str> = s.trim().split('$').collect();
        let [mech, iter, salt, stored, server] = parts[..] else {
            return Err(cerr(format!(
                "expected MECHANISM$iterations$salt$StoredKey$ServerKey, found {} field(s)",
                parts.len()
            )));
        };
        let mechanism = Mechanism::from_name(mech)
            .filter(|m| m.is_scram())
            .ok_or_else(|| cerr(format!("unknown SCRAM mechanism {mech:?}")))?;
        let iterations: u32 = iter
            .parse()
            .ok()
            .filter(|i| *i > 0)
            .ok_or_else(|| cerr(format!("bad iteration count {iter:?}")))?;
        let b64 = |what: &str, v: &str| {
            B64.decode(v)
                .map_err(|e| cerr(format!("{what} is not base64: {e}")))
        };
        let salt = b64("salt", salt)?;
        let stored_key = b64("StoredKey", stored)?;
        let server_key = b64("ServerKey", server)?;
        let len = mechanism_hash_len(mechanism);
        if salt.is_empty() || stored_key.len() != len || server_key.len() != len {
            return Err(cerr(format!(
                "empty salt or keys not {len} bytes long as {mech} needs"
            )));
        }
        Ok(ScramCredentials {
            mechanism,
            iterations,
            salt,
            stored_key,
            server_key,
        })
    }
}

fn mechanism_hash_len(m: Mechanism) -> usize {
    algs(m).map_or(0, |a| a.digest.output_len())
}

// ---- credential store ----------------------------------------------------------

#[derive(Default, Clone, PartialEq, Eq)]
struct User {
    password: Option<String>,
    scram: Vec<ScramCredentials>,
}

/// A server's users: for each, SCRAM credentials per hash and/or a plain
/// password (meant for tests; SCRAM keys are then derived on demand).
/// Cloning is cheap (the table is shared behind an [`Arc`]; changing a
/// clone copies it).
#[derive(Default, Clone, PartialEq, Eq)]
pub struct CredentialStore {
    users: Arc<BTreeMap<String, User>>,
}

impl fmt::Debug for CredentialStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialStore")
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl CredentialStore {
    /// An empty store.
    pub fn new() -> CredentialStore {
        CredentialStore::default()
    }

    /// Adds (or replaces) `user`'s plain password. Every SCRAM hash and
    /// PLAIN work with it.
    pub fn add_password(&mut self, user: &str, password: &str) {
        Arc::make_mut(&mut self.users)
            .entry(user.to_owned())
            .or_default()
            .password = Some(password.to_owned());
    }

    /// Adds (or replaces) `user`'s credentials for `creds.mechanism`.
    pub fn add_scram(&mut self, user: &str, creds: ScramCredentials) {
        let u = Arc::make_mut(&mut self.users)
            .entry(user.to_owned())
            .or_default();
        u.scram.retain(|c| c.mechanism != creds.mechanism);
        u.scram.push(creds);
    }

    /// Removes `user`; true if it was there.
    pub fn remove(&mut self, user: &str) -> bool {
        Arc::make_mut(&mut self.users).remove(user).is_some()
    }

    /// True if `user` is known.
    pub fn contains(&self, user: &str) -> bool {
        self.users.contains_key(user)
    }

    /// True if some user can log in with `mechanism` (stored keys for its
    /// hash, or a plain password): a server offers only such SCRAM hashes,
    /// so a client does not pick SCRAM-SHA-512 from a store that only
    /// holds SHA-256 keys.
    pub fn supports(&self, mechanism: Mechanism) -> bool {
        self.users
            .values()
            .any(|u| u.password.is_some() || u.scram.iter().any(|c| c.mechanism == mechanism))
    }

    /// `user`'s credentials for `mechanism`: stored, or derived from the
    /// plain password with a random salt.
    pub fn scram(&self, user: &str, mechanism: Mechanism) -> Option<ScramCredentials> {
        let u = self.users.get(user)?;
        if let Some(c) = u.scram.iter().find(|c| c.mechanism == mechanism) {
            return Some(c.clone());
        }
        let p = u.password.as_deref()?;
        ScramCredentials::generate(mechanism, p, DEFAULT_ITERATIONS).ok()
    }

    /// Checks a PLAIN login: against the plain password, else against any
    /// stored SCRAM keys (RFC 5802 §3: recompute StoredKey). Comparisons
    /// are constant-time.
    pub fn check_password(&self, user: &str, password: &str) -> bool {
        let Some(u) = self.users.get(user) else {
            // As much work as for a user with stored keys, so the time
            // taken does not tell which users exist.
            let _ = fake_credentials(Mechanism::ScramSha256, user).verify_password(password);
            return false;
        };
        if let Some(p) = &u.password {
            return ct_eq(p.as_bytes(), password.as_bytes());
        }
        // The cheapest stored hash is enough: one match proves the password.
        u.scram.first().is_some_and(|c| c.verify_password(password))
    }
}

impl<U: AsRef<str>, P: AsRef<str>> FromIterator<(U, P)> for CredentialStore {
    /// A store of users with plain passwords (tests, small setups).
    fn from_iter<I: IntoIterator<Item = (U, P)>>(iter: I) -> CredentialStore {
        let mut s = CredentialStore::new();
        for (u, p) in iter {
            s.add_password(u.as_ref(), p.as_ref());
        }
        s
    }
}

// ---- helpers ----------------------------------------------------------------------

/// A key drawn once per process, for constant-time comparison and the
/// fake salts of unknown users.
fn process_secret() -> &'static [u8; 32] {
    static SECRET: OnceLock<[u8; 32]> = OnceLock::new();
    SECRET.get_or_init(|| {
        let mut k = [0u8; 32];
        // Without system randomness the fake salts are merely predictable
        // (user enumeration by salt), comparison stays correct.
        let _ = SystemRandom::new().fill(&mut k);
        k
    })
}

/// Constant-time equality: both sides are MACed under a process key and
/// the tags compared with ring's constant-time `hmac::verify`.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let key = hmac::Key::new(hmac::HMAC_SHA256, process_secret());
    let tag = hmac::sign(&key, a);
    hmac::verify(&key, b, tag.as_ref()).is_ok()
}

/// A fresh nonce: 18 random bytes in base64 (24 printable characters, no
/// comma, RFC 5802 §5.1 `r=`).
pub(crate) fn random_nonce() -> String {
    let mut b = [0u8; 18];
    if SystemRandom::new().fill(&mut b).is_err() {
        // Fall back to a per-process secret mixed with a counter: unique,
        // if not unpredictable across processes.
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let t = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, process_secret()),
            &n.to_be_bytes(),
        );
        b.copy_from_slice(&t.as_ref()[..18]);
    }
    B64.encode(b)
}

/// RFC 5802 §5.1 saslname: `=` → `=3D`, `,` → `=2C`.
pub(crate) fn escape_name(s: &str) -> String {
    s.replace('=', "=3D").replace(',', "=2C")
}

/// The inverse of [`escape_name`]; any other `=` sequence is an error.
fn unescape_name(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        let esc = rest.get(i..i + 3);
        match esc {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err(format!("bad escape in user name {s:?}")),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Splits `a=x,b=y,...` into (letter, value) pairs; values keep any `=`.
fn attributes(msg: &str) -> Result<Vec<(char, &str)>, String> {
    msg.split(',')
        .map(|part| {
            let mut c = part.chars();
            match (c.next(), c.next()) {
                (Some(k), Some('=')) if k.is_ascii_alphabetic() => Ok((k, &part[2..])),
                _ => Err(format!("malformed attribute {part:?}")),
            }
        })
        .collect()
}

/// The value of attribute `key` at position `at`, which must be there.
fn expect<'a>(attrs: &[(char, &'a str)], at: usize, key: char) -> Result<&'a str, String> {
    match attrs.get(at) {
        Some((k, v)) if *k == key => Ok(v),
        _ => Err(format!("attribute {key}= missing")),
    }
}

fn utf8(msg: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(msg).map_err(|_| "message is not UTF-8".to_owned())
}

/// RFC 5802 §7: printable ASCII except `,`.
fn valid_nonce(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

// ---- client ---------------------------------------------------------------------

/// Where a client's SCRAM exchange is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientStage {
    /// client-first sent; server-first awaited.
    First,
    /// client-final sent; server-final (`v=`) awaited.
    Final,
    /// The server's signature was checked.
    Verified,
}

/// The client side of one SCRAM exchange (RFC 5802 §3, §5).
pub(crate) struct ScramClient {
    mechanism: Mechanism,
    password: String,
    nonce: String,
    first_bare: String,
    server_signature: Vec<u8>,
    pub(crate) stage: ClientStage,
}

impl fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramClient")
            .field("mechanism", &self.mechanism)
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

/// The GS2 header a client without channel binding sends (RFC 5802 §7).
const GS2_HEADER: &str = "n,,";

impl ScramClient {
    /// Starts an exchange; returns the client and its client-first message.
    pub(crate) fn start(
        mechanism: Mechanism,
        user: &str,
        password: &str,
        nonce: String,
    ) -> (ScramClient, Vec<u8>) {
        let first_bare = format!("n={},r={nonce}", escape_name(user));
        let msg = format!("{GS2_HEADER}{first_bare}").into_bytes();
        let c = ScramClient {
            mechanism,
            password: password.to_owned(),
            nonce,
            first_bare,
            server_signature: Vec::new(),
            stage: ClientStage::First,
        };
        (c, msg)
    }

    /// Reads server-first and returns client-final (with the proof).
    pub(crate) fn server_first(&mut self, msg: &[u8]) -> Result<Vec<u8>, String> {
        let Some(a) = algs(self.mechanism) else {
            return Err("not a SCRAM mechanism".to_owned());
        };
        let text = utf8(msg)?;
        if let Some(e) = text.strip_prefix("e=") {
            return Err(format!("server error {e:?}"));
        }
        let attrs = attributes(text)?;
        if attrs.first().is_some_and(|(k, _)| *k == 'm') {
            // RFC 5802 §5.1: a mandatory extension we do not know.
            return Err("server requires an unsupported extension (m=)".to_owned());
        }
        let nonce = expect(&attrs, 0, 'r')?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err("server nonce does not extend the client nonce".to_owned());
        }
        if !valid_nonce(nonce) {
            return Err("server nonce has characters RFC 5802 forbids".to_owned());
        }
        let salt = B64
            .decode(expect(&attrs, 1, 's')?)
            .map_err(|e| format!("salt is not base64: {e}"))?;
        if salt.is_empty() {
            return Err("empty salt".to_owned());
        }
        let i_text = expect(&attrs, 2, 'i')?;
        let iterations = i_text
            .parse::<u32>()
            .ok()
            .and_then(NonZeroU32::new)
            .filter(|i| i.get() <= MAX_ITERATIONS)
            .ok_or_else(|| {
                format!("iteration count {i_text:?} is not between 1 and {MAX_ITERATIONS}")
            })?;
        let salted = a.salted_password(&self.password, &salt, iterations);
        let (client_key, stored_key, server_key) = a.keys(&salted);
        let without_proof = format!("c={},r={nonce}", B64.encode(GS2_HEADER));
        let auth_message = format!("{},{text},{without_proof}", self.first_bare);
        let client_signature = a.hmac(&stored_key, auth_message.as_bytes());
        let proof = xor(&client_key, &client_signature);
        self.server_signature = a.hmac(&server_key, auth_message.as_bytes());
        self.stage = ClientStage::Final;
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// Checks server-final (`v=ServerSignature`, or `e=error`).
    pub(crate) fn server_final(&mut self, msg: &[u8]) -> Result<(), String> {
        if self.stage != ClientStage::Final {
            return Err("server-final before the client-final was sent".to_owned());
        }
        let text = utf8(msg)?;
        let attrs = attributes(text)?;
        match attrs.first() {
            Some(('e', e)) => Err(format!("server error {e:?}")),
            Some(('v', v)) => {
                let sig = B64
                    .decode(v)
                    .map_err(|e| format!("server signature is not base64: {e}"))?;
                if ct_eq(&sig, &self.server_signature) {
                    self.stage = ClientStage::Verified;
                    Ok(())
                } else {
                    Err("wrong server signature: the server does not know the password".to_owned())
                }
            }
            _ => Err("server-final has neither v= nor e=".to_owned()),
        }
    }
}

// ---- server ---------------------------------------------------------------------

/// A parsed client-first message (RFC 5802 §7).
#[derive(Debug, Clone)]
pub(crate) struct ClientFirst {
    /// The user name, unescaped.
    pub(crate) user: String,
    gs2_header: String,
    bare: String,
    nonce: String,
}

/// Reads client-first. Channel binding requests (`p=`), an authzid other
/// than the user and mandatory extensions are refused.
pub(crate) fn parse_client_first(msg: &[u8]) -> Result<ClientFirst, String> {
    let text = utf8(msg)?;
    // gs2-header = cbind-flag "," [authzid] ","
    let mut it = text.splitn(3, ',');
    let (Some(flag), Some(authzid), Some(bare)) = (it.next(), it.next(), it.next()) else {
        return Err("client-first has no GS2 header".to_owned());
    };
    match flag {
        // "y": the client could bind but thinks we cannot; we cannot (§6).
        "n" | "y" => {}
        f if f.starts_with("p=") => {
            return Err("channel binding (SCRAM-*-PLUS) is not supported".to_owned());
        }
        f => return Err(format!("bad GS2 channel binding flag {f:?}")),
    }
    let authzid = match authzid {
        "" => None,
        a => Some(unescape_name(
            a.strip_prefix("a=")
                .ok_or_else(|| format!("bad GS2 authzid {a:?}"))?,
        )?),
    };
    let attrs = attributes(bare)?;
    if attrs.first().is_some_and(|(k, _)| *k == 'm') {
        return Err("unsupported mandatory extension (m=)".to_owned());
    }
    let user = unescape_name(expect(&attrs, 0, 'n')?)?;
    if user.is_empty() {
        return Err("empty user name".to_owned());
    }
    let nonce = expect(&attrs, 1, 'r')?;
    if !valid_nonce(nonce) {
        return Err("bad client nonce".to_owned());
    }
    if authzid.is_some_and(|a| a != user) {
        // RFC 5802 §5.1: we act for no one but the authenticated user.
        return Err("authorization identity differs from the user name".to_owned());
    }
    Ok(ClientFirst {
        user,
        gs2_header: text[..text.len() - bare.len()].to_owned(),
        bare: bare.to_owned(),
        nonce: nonce.to_owned(),
    })
}

/// The server side of one SCRAM exchange, after client-first.
pub(crate) struct ScramServer {
    first: ClientFirst,
    creds: ScramCredentials,
    /// False for an unknown user: the exchange runs on fake credentials
    /// and fails at the end (no user enumeration, RFC 5802 §9).
    known: bool,
    nonce: String,
    server_first: String,
}

impl fmt::Debug for ScramServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramServer")
            .field("user", &self.first.user)
            .finish_non_exhaustive()
    }
}

/// Credentials for a user who does not exist: a salt that stays the same
/// for the same name (so repeated tries cannot tell), keys that match
/// nothing.
fn fake_credentials(mechanism: Mechanism, user: &str) -> ScramCredentials {
    let key = hmac::Key::new(hmac::HMAC_SHA256, process_secret());
    let tag = |what: &str| {
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(what.as_bytes());
        ctx.update(mechanism.name().as_bytes());
        ctx.update(b"\0");
        ctx.update(user.as_bytes());
        ctx.sign().as_ref().to_vec()
    };
    let len = mechanism_hash_len(mechanism);
    let mut stored = tag("stored");
    stored.resize(len, 0);
    let mut server = tag("server");
    server.resize(len, 0);
    ScramCredentials {
        mechanism,
        iterations: DEFAULT_ITERATIONS,
        salt: tag("salt")[..16].to_vec(),
        stored_key: stored,
        server_key: server,
    }
}

impl ScramServer {
    /// Answers client-first with server-first. `creds` of `None`, or for
    /// another hash, runs the exchange on fake credentials to its failure.
    pub(crate) fn start(
        mechanism: Mechanism,
        first: ClientFirst,
        creds: Option<ScramCredentials>,
        server_nonce: &str,
    ) -> (ScramServer, Vec<u8>) {
        let creds = creds.filter(|c| {
            c.mechanism == mechanism
                && c.iterations > 0
                && c.stored_key.len() == mechanism_hash_len(mechanism)
        });
        let known = creds.is_some();
        let creds = creds.unwrap_or_else(|| fake_credentials(mechanism, &first.user));
        let nonce = format!("{}{server_nonce}", first.nonce);
        let server_first = format!(
            "r={nonce},s={},i={}",
            B64.encode(&creds.salt),
            creds.iterations
        );
        let msg = server_first.clone().into_bytes();
        let s = ScramServer {
            first,
            creds,
            known,
            nonce,
            server_first,
        };
        (s, msg)
    }

    /// The user the exchange is for.
    pub(crate) fn user(&self) -> &str {
        &self.first.user
    }

    /// Checks client-final; on success returns server-final
    /// (`v=ServerSignature`).
    pub(crate) fn client_final(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        let Some(a) = algs(self.creds.mechanism) else {
            return Err("not a SCRAM mechanism".to_owned());
        };
        let text = utf8(msg)?;
        let attrs = attributes(text)?;
        let cbind = expect(&attrs, 0, 'c')?;
        // RFC 5802 §5.1 c=: base64 of the GS2 header the client sent.
        if B64.decode(cbind).ok().as_deref() != Some(self.first.gs2_header.as_bytes()) {
            return Err("channel binding data (c=) does not match the GS2 header".to_owned());
        }
        if expect(&attrs, 1, 'r')? != self.nonce {
            return Err("nonce in client-final does not match".to_owned());
        }
        let Some((_, proof)) = attrs.last().filter(|(k, _)| *k == 'p') else {
            return Err("client proof (p=) missing".to_owned());
        };
        let proof = B64
            .decode(proof)
            .map_err(|e| format!("client proof is not base64: {e}"))?;
        let without_proof = &text[..text.len() - proof_len(text)];
        let auth_message = format!("{},{},{without_proof}", self.first.bare, self.server_first);
        let client_signature = a.hmac(&self.creds.stored_key, auth_message.as_bytes());
        if proof.len() != client_signature.len() {
            return Err("client proof has the wrong length".to_owned());
        }
        // ClientKey = ClientProof XOR ClientSignature; H(ClientKey) must be
        // StoredKey (RFC 5802 §3).
        let client_key = xor(&proof, &client_signature);
        let ok = ct_eq(&a.hash(&client_key), &self.creds.stored_key);
        if !self.known {
            return Err("unknown user".to_owned());
        }
        if !ok {
            return Err("wrong password (client proof does not match)".to_owned());
        }
        let sig = a.hmac(&self.creds.server_key, auth_message.as_bytes());
        Ok(format!("v={}", B64.encode(sig)).into_bytes())
    }
}

/// Length of the trailing `,p=...` of a client-final message.
fn proof_len(text: &str) -> usize {
    text.rfind(",p=").map_or(0, |i| text.len() - i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_escape_and_unescape() {
        assert_eq!(escape_name("a=b,c"), "a=3Db=2Cc");
        assert_eq!(unescape_name("a=3Db=2Cc").unwrap(), "a=b,c");
        assert!(unescape_name("a=4").is_err());
        assert!(unescape_name("a=41").is_err());
    }

    #[test]
    fn fake_salt_is_stable_per_user() {
        let a = fake_credentials(Mechanism::ScramSha256, "nobody");
        let b = fake_credentials(Mechanism::ScramSha256, "nobody");
        let c = fake_credentials(Mechanism::ScramSha256, "someone");
        assert_eq!(a.salt, b.salt);
        assert_ne!(a.salt, c.salt);
        assert_eq!(a.stored_key.len(), 32);
    }
}
