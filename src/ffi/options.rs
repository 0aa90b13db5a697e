//! Connection options (for `muon_loop_connect` and `muon_loop_listen`);
//! link options are in `link_options.rs`.

use std::ffi::c_char;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::Duration;

use super::boundary::{Opaque, borrow_mut, boundary, cstr, into_raw, take, write};
use super::endpoint::fields_from;
use super::result::muon_result;
use super::value::muon_value;
use crate::codec::{Symbol, Symbols};
use crate::engine::{Config, Mechanism};
use crate::reactor::{Address, ReconnectPolicy, TlsClientSettings, TlsServerSettings};

/// Options for `muon_loop_connect` and `muon_loop_listen`: identity, TLS,
/// SASL, limits, capabilities and properties, the handshake built-in, and
/// reconnect. Every field has a sensible default. Owned by the
/// application: made by `muon_connection_options_new`, freed with
/// `muon_connection_options_free`; `muon_loop_connect` and
/// `muon_loop_listen` copy what they need, so the options may be freed or
/// reused right after. Plain data: it may move between threads, but not be
/// used from two at once.
///
/// Functions: `muon_connection_options_new`,
/// `muon_connection_options_set_container_id`,
/// `muon_connection_options_set_hostname`,
/// `muon_connection_options_set_sasl_mechanisms`,
/// `muon_connection_options_set_user`,
/// `muon_connection_options_set_password`,
/// `muon_connection_options_set_allow_insecure_plain`,
/// `muon_connection_options_set_sasl_enabled`,
/// `muon_connection_options_set_max_frame_size`,
/// `muon_connection_options_set_channel_max`,
/// `muon_connection_options_set_idle_timeout`,
/// `muon_connection_options_set_handshake_timeout`,
/// `muon_connection_options_set_max_links_per_session`,
/// `muon_connection_options_set_max_unsettled_per_link`,
/// `muon_connection_options_set_max_incomplete_bytes`,
/// `muon_connection_options_set_max_decode_depth`,
/// `muon_connection_options_add_offered_capability`,
/// `muon_connection_options_add_desired_capability`,
/// `muon_connection_options_set_properties`,
/// `muon_connection_options_set_handshake`,
/// `muon_connection_options_set_reuse_port`,
/// `muon_connection_options_set_reconnect`,
/// `muon_connection_options_add_failover_url`,
/// `muon_connection_options_set_follow_redirect`,
/// `muon_connection_options_add_tls_ca_file`,
/// `muon_connection_options_add_tls_ca_pem`,
/// `muon_connection_options_set_tls_system_trust`,
/// `muon_connection_options_set_tls_cert_file`,
/// `muon_connection_options_set_tls_cert_pem`,
/// `muon_connection_options_set_tls_insecure_skip_verify`,
/// `muon_connection_options_add_tls_client_ca_file`,
/// `muon_connection_options_set_tls_require_client_cert`,
/// `muon_connection_options_set_tls_insecure_allow_plain`,
/// `muon_connection_options_error`,
/// `muon_connection_options_set_token`,
/// `muon_connection_options_add_user`,
/// `muon_connection_options_add_user_scram`,
/// `muon_connection_options_set_allow_anonymous`,
/// `muon_connection_options_set_authenticate_callback`,
/// `muon_connection_options_free`.
pub struct muon_connection_options {
    _private: [u8; 0],
}

#[derive(Clone)]
pub(crate) struct ConnOptions {
    pub config: Config,
    pub reconnect: Option<ReconnectPolicy>,
    pub failover: Vec<Address>,
    pub follow_redirect: bool,
    pub handshake: bool,
    /// TLS for connecting (`amqps://`), but for the certificate.
    pub tls_client: TlsClientSettings,
    /// TLS for listening, but for the certificate.
    pub tls_server: TlsServerSettings,
    /// This side's certificate chain and key (PEM): the client certificate
    /// when connecting, the listener's when listening.
    pub tls_cert: Option<(Vec<u8>, Vec<u8>)>,
    /// Why the last setter failed, for `muon_connection_options_error`.
    pub error: Option<std::ffi::CString>,
    /// A listener's socket is bound with `SO_REUSEPORT`.
    pub reuse_port: bool,
}

impl Default for ConnOptions {
    fn default() -> Self {
        ConnOptions {
            config: Config::default(),
            reconnect: None,
            failover: Vec::new(),
            follow_redirect: false,
            handshake: true,
            tls_client: TlsClientSettings::default(),
            tls_server: TlsServerSettings::default(),
            tls_cert: None,
            error: None,
            reuse_port: false,
        }
    }
}

impl ConnOptions {
    /// Runs a setter that may fail with a reason, keeping the reason for
    /// `muon_connection_options_error` (and clearing it on success).
    pub(crate) fn record(
        &mut self,
        f: impl FnOnce(&mut ConnOptions) -> Result<(), (muon_result, String)>,
    ) -> Result<(), muon_result> {
        match f(self) {
            Ok(()) => {
                self.error = None;
                Ok(())
            }
            Err((code, why)) => {
                self.error = std::ffi::CString::new(why.replace('\0', " ")).ok();
                Err(code)
            }
        }
    }

    /// The TLS settings for connecting, with this side's certificate.
    pub(crate) fn tls_for_connect(&self) -> TlsClientSettings {
        TlsClientSettings {
            client_cert: self.tls_cert.clone(),
            ..self.tls_client.clone()
        }
    }

    /// The TLS settings for listening, with this side's certificate.
    pub(crate) fn tls_for_listen(&self) -> TlsServerSettings {
        TlsServerSettings {
            cert: self.tls_cert.clone(),
            ..self.tls_server.clone()
        }
    }
}

impl Opaque for muon_connection_options {
    type Inner = ConnOptions;
}

/// The longest wait muon keeps: 100 years, in milliseconds. Longer ones
/// (up to `UINT64_MAX`) are taken as this, so that no deadline overflows
/// the clock.
const MAX_WAIT_MS: u64 = 100 * 366 * 24 * 3600 * 1000;

/// A duration of `ms` milliseconds from C, at most [`MAX_WAIT_MS`].
pub(crate) fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms.min(MAX_WAIT_MS))
}

/// A symbol from a C string: ASCII only.
///
/// # Safety
/// `s` is NULL or NUL-terminated.
pub(crate) unsafe fn symbol(s: *const c_char) -> Result<Symbol, muon_result> {
    // SAFETY: the caller's promise.
    let s = unsafe { cstr(s) }?;
    if s.is_empty() || !s.is_ascii() {
        return Err(muon_result::InvalidArgument);
    }
    Ok(Symbol::new(s))
}

pub(crate) fn push_symbol(list: &mut Option<Symbols>, s: Symbol) {
    list.get_or_insert_with(|| Symbols(Vec::new())).0.push(s);
}

/// Makes a connection options object with every default: a unique
/// container id, the URL's host as hostname, SASL on (a client picks the
/// strongest mechanism its credentials and the server allow, PLAIN and
/// XOAUTH2 only over TLS; a listener offers ANONYMOUS only until it is given users or
/// the authenticate callback), TLS verified against the platform's trust
/// store, 64 KiB frames, no idle timeout, the handshake built-in on, no
/// reconnect.
///
/// `out` receives it: ownership moves out; free with
/// `muon_connection_options_free`. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Thread-safe; may be
/// called from a callback.
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_new(
    out: *mut *mut muon_connection_options,
) -> muon_result {
    boundary!(result: {
        super::boundary::check_out(out)?;
        // SAFETY: the caller promises `out` is writable.
        unsafe { write(out, into_raw(Box::new(ConnOptions::default()))) }
    })
}

/// Sets the container id sent in `open` (default: a unique id).
///
/// `opts` is borrowed for the call, and so is the string. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; the string is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_container_id(
    opts: *mut muon_connection_options,
    id: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        o.config.container_id = unsafe { cstr(id) }?.to_owned();
        Ok(())
    })
}

/// Sets the virtual host asked for in `open` and in SASL, which is also the
/// name a TLS server's certificate must be valid for and the name sent as
/// SNI (default: the URL's host; for failover URLs, each one's host).
///
/// `opts` is borrowed for the call, and so is the string. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; the string is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_hostname(
    opts: *mut muon_connection_options,
    host: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        o.config.hostname = Some(unsafe { cstr(host) }?.to_owned());
        Ok(())
    })
}

/// Restricts the SASL mechanisms a client may choose, or a listener may
/// offer, to a space-separated list of `EXTERNAL`, `SCRAM-SHA-512`,
/// `SCRAM-SHA-256`, `SCRAM-SHA-1`, `PLAIN`, `XOAUTH2`, `ANONYMOUS`
/// (default: all of them; a client still picks the strongest its
/// credentials and the server allow, and a listener offers only what it
/// can check). An unknown name is `MUON_RESULT_INVALID_ARGUMENT`.
///
/// `opts` is borrowed for the call, and so is the string. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_INVALID_ARGUMENT` (empty or
/// not ASCII), `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; the string is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_sasl_mechanisms(
    opts: *mut muon_connection_options,
    mechanisms: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let s = unsafe { cstr(mechanisms) }?;
        let list = s
            .split_whitespace()
            .map(Mechanism::from_name)
            .collect::<Option<Vec<_>>>()
            .ok_or(muon_result::InvalidArgument)?;
        o.config.sasl.mechanisms = list;
        Ok(())
    })
}

/// Sets the SASL user name (for SCRAM, PLAIN and XOAUTH2). Without it,
/// the URL's user (if any) is used.
///
/// `opts` is borrowed for the call, and so is the string. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; the string is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_user(
    opts: *mut muon_connection_options,
    user: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        o.config.sasl.username = Some(unsafe { cstr(user) }?.to_owned());
        Ok(())
    })
}

/// Sets the SASL password (for SCRAM and PLAIN). Without it, the URL's
/// password (if any) is used.
///
/// `opts` is borrowed for the call, and so is the string. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; the string is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_password(
    opts: *mut muon_connection_options,
    password: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        o.config.sasl.password = Some(unsafe { cstr(password) }?.to_owned());
        Ok(())
    })
}

/// Allows SASL PLAIN and XOAUTH2, which send the password or token as it
/// is, on a connection without TLS (default false: a client then never
/// chooses them there, and fails if nothing else is left; a listener does
/// not offer them there).
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_allow_insecure_plain(
    opts: *mut muon_connection_options,
    allow: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.config.sasl.allow_insecure_plain = allow;
        Ok(())
    })
}

/// Turns SASL on or off (default on). A client without SASL sends the
/// plain AMQP header; a listener without SASL refuses SASL clients.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_sasl_enabled(
    opts: *mut muon_connection_options,
    enabled: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.config.sasl.enabled = enabled;
        Ok(())
    })
}

/// Sets the largest frame accepted (at least 512; default 65536).
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_ARGUMENT` (out of range), `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_max_frame_size(
    opts: *mut muon_connection_options,
    size: u32,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        if size < 512 {
            return Err(muon_result::InvalidArgument);
        }
        o.config.max_frame_size = size;
        Ok(())
    })
}

/// Sets the highest channel number accepted (default 32767).
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_channel_max(
    opts: *mut muon_connection_options,
    channel_max: u16,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.config.channel_max = channel_max;
        Ok(())
    })
}

/// Sets how long the peer may stay silent, in milliseconds, before the
/// connection fails with `amqp:resource-limit-exceeded` (0: no limit, the
/// default). Half of it is advertised to the peer (at most the 2^32 - 1
/// milliseconds AMQP can say), which then sends heartbeats often enough;
/// muon sends the peer's heartbeats likewise. A peer asking for less than
/// 50 ms is refused (the connection closes with `amqp:invalid-field`), so
/// between two muon ends use 100 ms or more.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_idle_timeout(
    opts: *mut muon_connection_options,
    timeout_ms: u64,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.config.idle_timeout = (timeout_ms > 0).then(|| millis(timeout_ms));
        Ok(())
    })
}

/// Sets how long, in milliseconds, a connection has from its start to
/// the peer's AMQP `open` (TCP connect, TLS, protocol headers and SASL
/// included; default 10,000; 0: no limit). A peer that connects and says
/// nothing, or stalls mid-handshake, is then dropped: an accepted
/// connection is closed, and a client's ends with
/// `amqp:resource-limit-exceeded` ("handshake time-out", retried by the
/// built-in reconnect like a lost connection).
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_handshake_timeout(
    opts: *mut muon_connection_options,
    timeout_ms: u64,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.config.handshake_timeout = (timeout_ms > 0).then(|| millis(timeout_ms));
        Ok(())
    })
}

/// Adds a capability offered in `open` (e.g. `ANONYMOUS-RELAY`).
///
/// `opts` is borrowed for the call, and so is the string. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_INVALID_ARGUMENT` (empty or
/// not ASCII), `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; the string is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_add_offered_capability(
    opts: *mut muon_connection_options,
    capability: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        push_symbol(&mut o.config.offered_capabilities, unsafe { symbol(capability) }?);
        Ok(())
    })
}

/// Adds a capability desired in `open`.
///
/// `opts` is borrowed for the call, and so is the string. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_INVALID_ARGUMENT` (empty or
/// not ASCII), `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; the string is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_add_desired_capability(
    opts: *mut muon_connection_options,
    capability: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        push_symbol(&mut o.config.desired_capabilities, unsafe { symbol(capability) }?);
        Ok(())
    })
}

/// Sets the properties sent in `open`: a map with symbol keys (NULL:
/// none). The peer reads them with `muon_connection_remote_properties`.
///
/// `opts` is borrowed for the call, and so is the value (copied). Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_ARGUMENT` (not a map with symbol keys), `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; `value` is NULL or a live value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_properties(
    opts: *mut muon_connection_options,
    value: *const muon_value,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.config.properties = if value.is_null() {
            None
        } else {
            // SAFETY: the caller promises a live value.
            Some(unsafe { fields_from(value) }?)
        };
        Ok(())
    })
}

/// Turns the handshake built-in on or off (default on): answering the
/// peer's open and close with ours, and, on the links the peer attaches,
/// its attach and detach (the tutorial's Handshaker; links this side opens
/// follow `muon_link_options_set_handshake`). With it off, answer by hand:
/// `muon_connection_answer_open` (accepted connections),
/// `muon_sender_answer_open` / `muon_receiver_answer_open` (links the peer
/// attached), and `muon_connection_close`, `muon_sender_close`,
/// `muon_receiver_close`. Sessions are always answered.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_handshake(
    opts: *mut muon_connection_options,
    on: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.handshake = on;
        Ok(())
    })
}

/// Listener: binds the listening socket with `SO_REUSEPORT` (default
/// false), so that several listeners, each made with this option, may
/// listen on the same address and port at once: one per loop, each loop on
/// a thread of its own, and the kernel spreads incoming connections among
/// them (on Linux, by a hash of each connection's addresses and ports). A
/// server uses every core this way. With port 0, read the port the first
/// listener picked with `muon_listener_port` and give it to the others. A
/// connection is served by the loop whose listener accepted it, from
/// accept to end. Closing one of the listeners may drop the connections
/// the kernel had queued for it but it had not yet accepted. Listeners of
/// other processes of the same user may share the port too. Ignored by
/// `muon_loop_connect`.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_reuse_port(
    opts: *mut muon_connection_options,
    on: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.reuse_port = on;
        Ok(())
    })
}

/// A listening TCP socket bound to `sa` with `SO_REUSEADDR` and
/// `SO_REUSEPORT` (the `Binder` of a listener made with
/// `muon_connection_options_set_reuse_port`).
pub(crate) fn bind_reuse_port(sa: SocketAddr) -> io::Result<std::net::TcpListener> {
    let domain = if sa.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // Close-on-exec from the start where socket(2) can say so (Linux);
    // elsewhere (macOS has no SOCK_CLOEXEC) right after.
    #[cfg(target_os = "linux")]
    let kind = libc::SOCK_STREAM | libc::SOCK_CLOEXEC;
    #[cfg(not(target_os = "linux"))]
    let kind = libc::SOCK_STREAM;
    // SAFETY: socket(2) takes no memory; a descriptor it returns is owned
    // by the OwnedFd made just below and by nothing else.
    let fd = unsafe { libc::socket(domain, kind, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor nothing else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    #[cfg(not(target_os = "linux"))]
    // SAFETY: fcntl(2) on our own descriptor, no memory.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    for opt in [libc::SO_REUSEADDR, libc::SO_REUSEPORT] {
        let one: libc::c_int = 1;
        // SAFETY: a live c_int and its size, on our own socket.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&raw const one).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    // SAFETY: sockaddr_storage is plain integers; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match sa {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for any
            // socket address, a sockaddr_in included.
            let sin = unsafe { &mut *(&raw mut storage).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from(*a.ip()).to_be();
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: as above, for a sockaddr_in6.
            let sin6 = unsafe { &mut *(&raw mut storage).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            sin6.sin6_flowinfo = a.flowinfo();
            sin6.sin6_scope_id = a.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    // SAFETY: a live socket address of `len` bytes, on our own socket.
    if unsafe { libc::bind(fd, (&raw const storage).cast(), len as libc::socklen_t) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: no memory arguments; our own socket. The backlog is mio's.
    if unsafe { libc::listen(fd, 1024) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(std::net::TcpListener::from(owned))
}

/// Adds a URL that the built-in reconnect tries, in turn with the first
/// (the first URL, then each failover URL, then the first again).
///
/// `opts` and `url` are borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`,
/// `MUON_RESULT_INVALID_ARGUMENT` (not a URL), `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; `url` is NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_add_failover_url(
    opts: *mut muon_connection_options,
    url: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let s = unsafe { cstr(url) }?;
        o.failover
            .push(Address::parse(s).map_err(|_| muon_result::InvalidArgument)?);
        Ok(())
    })
}

/// Turns on the built-in reconnect: when the transport is lost (not when
/// the connection is closed), wait `initial_ms`, then try again, doubling
/// the wait after each failed attempt up to `max_ms` (0: 10000), for at
/// most `max_attempts` attempts in a row (0: no limit); rotate through the
/// failover URLs; re-attach the links the application had open (as new
/// links, with new handles: the old ones end with `on_link_final`). The
/// application sees `on_disconnected` for each loss and failed attempt
/// and `on_reconnected` when a transport is up again; the connection
/// handle stays valid throughout. The tutorial's backoff is 100, 10000, 0.
/// `initial_ms` 0 turns reconnect off (the default). Waits are in
/// milliseconds; one longer than 100 years is taken as 100 years.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_reconnect(
    opts: *mut muon_connection_options,
    initial_ms: u64,
    max_ms: u64,
    max_attempts: u32,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        let max_ms = if max_ms == 0 { 10_000 } else { max_ms };
        o.reconnect = (initial_ms > 0).then(|| ReconnectPolicy {
            initial: millis(initial_ms),
            max: millis(max_ms.max(initial_ms)),
            max_attempts,
        });
        Ok(())
    })
}

/// Follows redirects (default off): when the peer closes the connection
/// with `amqp:connection:redirect`, whose info names the new host
/// (`network-host`, else `hostname`) and `port` (absent: the scheme's
/// default), the connection is not ended but connects to that host after
/// a short wait (20 ms, doubling with each redirect in a row up to 500
/// ms; with `muon_connection_options_set_reconnect`, that policy's
/// delays), and re-attaches the links the application had open, as
/// `muon_connection_options_set_reconnect` does. The application sees
/// `on_disconnected` with the peer's condition (its info readable with
/// `muon_condition_info`), then `on_reconnected`; not
/// `on_connection_remote_close`. The new transport keeps the current
/// URL's scheme (an `amqps://` connection stays TLS, never downgraded),
/// credentials and TLS settings; with TLS, the redirect host's certificate
/// is verified against the redirect's `hostname` (else `network-host`), as
/// for any URL, and its `hostname` is the one sent in `open`. At most 10
/// redirects are followed in a row (the count starts over only once a
/// connection stayed open for 10 seconds); the next is reported as the
/// close it is. A host that is not a DNS name (labels of letters, digits,
/// `-`, `_`; at most 253 characters) or an IP literal, and port 0, are
/// taken as a redirect without a host. A redirect without a host, one
/// that arrives while the application is closing the connection, and every
/// redirect on a connection without this option, end the connection as any
/// close with an error: `on_connection_remote_close` with the condition and
/// its info, for the application to act on.
///
/// The option also follows links: a link the peer detaches with
/// `amqp:link:redirect`, whose info names an `address` (and no other host
/// than the connection's, in `network-host` or `hostname`, nor another
/// `port`), is attached
/// again on the same connection with that address as its target (a
/// sender) or source (a receiver), everything else as it was: the old
/// link ends with `on_link_final` (no `on_link_remote_close`), messages
/// still queued on it go out on the new one, whose events reach the same
/// handler. At most 10 redirects per link (counting the links it
/// replaced). Otherwise, and without the option, `on_link_remote_close`
/// reports the condition and its info.
///
/// Off by default because a redirect sends the connection, and its
/// credentials, to a host the peer chooses; turn it on for brokers whose
/// redirects are trusted (clusters that send clients to a node's leader).
/// What that host gets: over `amqps://` it must hold a certificate valid
/// for the name the peer gave, and then SASL PLAIN (the password itself)
/// is allowed as on any TLS connection, even if the first broker was
/// logged in to with SCRAM; over plain `amqp://` PLAIN still needs
/// `muon_connection_options_set_allow_insecure_plain`, and a SCRAM login
/// hands the new host the client's proof, enough to test guesses of the
/// password offline.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_follow_redirect(
    opts: *mut muon_connection_options,
    on: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.follow_redirect = on;
        Ok(())
    })
}

/// Frees connection options. NULL is ignored.
///
/// `opts`: ownership moves in. Not thread-safe (plain data); may be called
/// from a callback.
///
/// # Safety
/// `opts` is NULL or was made by `muon_connection_options_new` and not
/// freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_free(opts: *mut muon_connection_options) {
    boundary!((), {
        // SAFETY: the caller promises a live options object or NULL.
        drop(unsafe { take(opts) });
    })
}

/// Sets a connection limit of at least 1 through `set` (a value larger
/// than the platform's `usize` becomes the largest it holds).
fn set_limit(
    o: &mut ConnOptions,
    max: impl Into<u64>,
    set: impl FnOnce(&mut Config, usize),
) -> Result<(), muon_result> {
    let max = max.into();
    if max == 0 {
        return Err(muon_result::InvalidArgument);
    }
    set(&mut o.config, usize::try_from(max).unwrap_or(usize::MAX));
    Ok(())
}

/// Sets how many links the peer may have attached on one session at once
/// (default 1024; at least 1). The attach that would make one more closes
/// the connection with `amqp:resource-limit-exceeded`. One of the limits
/// that bound what a peer can make this side hold (docs/HOSTILE.md in the
/// repository lists them).
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_ARGUMENT` (0),
/// `MUON_RESULT_PANIC`. Not thread-safe (plain data); may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_max_links_per_session(
    opts: *mut muon_connection_options,
    max: u32,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        set_limit(unsafe { borrow_mut(opts) }?, max, |c, n| c.max_links_per_session = n)
    })
}

/// Sets how many deliveries one link may hold at once (default 16384; at
/// least 1). Received and not yet settled here: a peer that sends one
/// more has the link detached with `amqp:resource-limit-exceeded`. Sent
/// and not yet settled by the peer: at the limit `muon_sender_credit`
/// reads 0 (and `muon_sender_send` returns `MUON_RESULT_NO_CREDIT`) until
/// the peer settles some, when `on_link_flow` follows.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_ARGUMENT` (0),
/// `MUON_RESULT_PANIC`. Not thread-safe (plain data); may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_max_unsettled_per_link(
    opts: *mut muon_connection_options,
    max: u32,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        set_limit(unsafe { borrow_mut(opts) }?, max, |c, n| c.max_unsettled_per_link = n)
    })
}

/// Sets how many bytes of messages still arriving (multi-frame deliveries
/// not yet complete) the connection may hold, all its links together
/// (default 64 MiB; at least 1). The frame that would go past it detaches
/// its link with `amqp:resource-limit-exceeded`. Each message is also
/// held to the largest message size (default 64 MiB).
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_ARGUMENT` (0),
/// `MUON_RESULT_PANIC`. Not thread-safe (plain data); may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_max_incomplete_bytes(
    opts: *mut muon_connection_options,
    max: u64,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        set_limit(unsafe { borrow_mut(opts) }?, max, |c, n| c.max_incomplete_bytes = n)
    })
}

/// Sets how deeply lists, maps, arrays and described values may nest in
/// what the peer sends (default and most 64; at least 1): in its frames a
/// deeper value closes the connection with `amqp:decode-error`; in a
/// message, the message is rejected with `amqp:decode-error` and reported
/// by `on_message_error`.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_ARGUMENT` (0 or more
/// than 64), `MUON_RESULT_PANIC`. Not thread-safe (plain data); may be
/// called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_max_decode_depth(
    opts: *mut muon_connection_options,
    depth: u32,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        let depth = depth as usize;
        if depth == 0 || depth > crate::codec::decode::MAX_DEPTH {
            return Err(muon_result::InvalidArgument);
        }
        o.config.max_decode_depth = depth;
        Ok(())
    })
}
