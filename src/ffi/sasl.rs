//! SASL beyond user and password: XOAUTH2 tokens on the client; on a
//! listener, the users it checks (a built-in table of SCRAM credentials)
//! or an authentication callback, and whether ANONYMOUS stays allowed.
//!
//! A listener with neither a user table nor the callback offers ANONYMOUS
//! only (and EXTERNAL to TLS clients with a verified certificate): it
//! never accepts a password it cannot check.

use std::ffi::c_char;

use super::boundary::{borrow_mut, boundary, copy_out, cstr};
use super::dispatch::ViewOf;
use super::endpoint::{conn_call, text_view};
use super::event_loop::map_reactor;
use super::handle::muon_connection;
use super::options::{ConnOptions, muon_connection_options};
use super::result::muon_result;
use crate::engine::{Authenticator, CredentialStore, Mechanism, ScramCredentials};

/// Iterations of PBKDF2 for passwords hashed by muon (RFC 7677's minimum).
const ITERATIONS: u32 = 4096;

fn store(o: &mut ConnOptions) -> &mut CredentialStore {
    if !matches!(o.config.sasl.authenticator, Authenticator::Credentials(_)) {
        o.config.sasl.authenticator = Authenticator::Credentials(CredentialStore::new());
    }
    match &mut o.config.sasl.authenticator {
        Authenticator::Credentials(s) => s,
        _ => unreachable!("set just above"),
    }
}

/// Client: the OAuth 2.0 bearer token for SASL XOAUTH2, sent with the user
/// name (`muon_connection_options_set_user` or the URL's). XOAUTH2 is
/// chosen when a token is set, no password is, and the server offers it;
/// like PLAIN it needs TLS unless `muon_connection_options_set_allow_insecure_plain`.
/// For a fresh token on each reconnect, call `muon_connection_set_token`
/// (e.g. from `on_disconnected`). The token is never logged.
///
/// `opts` and `token` are borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`,
/// `MUON_RESULT_PANIC`. Not thread-safe (plain data); may be called from a
/// callback.
///
/// # Safety
/// `opts` is NULL or a live options object; `token` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_token(
    opts: *mut muon_connection_options,
    token: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        o.config.sasl.token = Some(unsafe { cstr(token) }?.to_owned());
        Ok(())
    })
}

/// Listener: adds `user` with `password` to the listener's user table.
/// The password itself is not kept: SCRAM-SHA-512, -256 and -1
/// credentials are derived from it (random salt, 4096 iterations), against
/// which SCRAM logins are verified and PLAIN passwords checked. With a user
/// table the listener offers SCRAM-SHA-512/256/1, PLAIN (over TLS, or with
/// `muon_connection_options_set_allow_insecure_plain`), EXTERNAL to TLS
/// clients with a verified certificate, and ANONYMOUS only with
/// `muon_connection_options_set_allow_anonymous`.
///
/// `opts`, `user` and `password` are borrowed for the call. Results:
/// `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`,
/// `MUON_RESULT_INVALID_ARGUMENT` (empty user), `MUON_RESULT_PANIC`. Not
/// thread-safe (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; the strings are NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_add_user(
    opts: *mut muon_connection_options,
    user: *const c_char,
    password: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises NULL or NUL-terminated strings.
        let (user, password) = unsafe { (cstr(user)?, cstr(password)?) };
        o.record(|o| {
            if user.is_empty() {
                return Err((muon_result::InvalidArgument, "empty user name".into()));
            }
            let mut made = Vec::new();
            for m in [Mechanism::ScramSha512, Mechanism::ScramSha256, Mechanism::ScramSha1] {
                made.push(
                    ScramCredentials::generate(m, password, ITERATIONS)
                        .map_err(|e| (muon_result::InvalidArgument, e.to_string()))?,
                );
            }
            let s = store(o);
            for c in made {
                s.add_scram(user, c);
            }
            Ok(())
        })
    })
}

/// Listener: adds `user` with stored SCRAM credentials, in the text form
/// `muon_scram_hash_password` writes:
/// `SCRAM-SHA-256$<iterations>$<salt>$<StoredKey>$<ServerKey>` (base64
/// fields). Call once per hash the user may log in with; PLAIN passwords
/// are checked against any of them. See `muon_connection_options_add_user`
/// for what a user table makes the listener offer.
///
/// `opts`, `user` and `credentials` are borrowed for the call. Results:
/// `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`,
/// `MUON_RESULT_INVALID_ARGUMENT` (malformed credentials; the reason is in
/// `muon_connection_options_error`), `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; the strings are NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_add_user_scram(
    opts: *mut muon_connection_options,
    user: *const c_char,
    credentials: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises NULL or NUL-terminated strings.
        let (user, line) = unsafe { (cstr(user)?, cstr(credentials)?) };
        o.record(|o| {
            if user.is_empty() {
                return Err((muon_result::InvalidArgument, "empty user name".into()));
            }
            let c = line.parse::<ScramCredentials>().map_err(|e| {
                (muon_result::InvalidArgument, format!("credentials of {user:?}: {e}"))
            })?;
            store(o).add_scram(user, c);
            Ok(())
        })
    })
}

/// Listener: keep offering SASL ANONYMOUS beside a user table or the
/// authentication callback (default false). A listener with neither
/// always offers ANONYMOUS, and only it.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_allow_anonymous(
    opts: *mut muon_connection_options,
    allow: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.config.sasl.allow_anonymous = allow;
        Ok(())
    })
}

/// Listener: logins are decided by the application in `on_sasl_authenticate`
/// instead of a user table (which this replaces). The listener then offers
/// SCRAM-SHA-512/256/1, PLAIN and XOAUTH2 (the last two over TLS, or with
/// `muon_connection_options_set_allow_insecure_plain`), EXTERNAL to TLS
/// clients with a verified certificate, and ANONYMOUS with
/// `muon_connection_options_set_allow_anonymous`.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_authenticate_callback(
    opts: *mut muon_connection_options,
    on: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.config.sasl.authenticator = if on {
            Authenticator::Application
        } else {
            Authenticator::None
        };
        Ok(())
    })
}

/// Writes the SCRAM credentials of `password` for `mechanism`
/// (`"SCRAM-SHA-256"`, `"SCRAM-SHA-512"` or `"SCRAM-SHA-1"`), with a random
/// salt and `iterations` (0: 4096), as one NUL-terminated line for
/// `muon_connection_options_add_user_scram` or a broker's user file. The
/// line lets a server verify logins; it does not contain the password.
///
/// `mechanism` and `password` are borrowed for the call. `buf` is written
/// only on success; `len` receives the length without the NUL, or on
/// `MUON_RESULT_BUFFER_TOO_SMALL` the capacity needed (NUL included).
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_INVALID_ARGUMENT` (not a SCRAM
/// mechanism), `MUON_RESULT_BUFFER_TOO_SMALL`, `MUON_RESULT_PANIC`.
/// Thread-safe; may be called from a callback.
///
/// # Safety
/// The strings are NULL or NUL-terminated; `buf` is NULL or valid for
/// writing `cap` bytes; `len` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_scram_hash_password(
    mechanism: *const c_char,
    password: *const c_char,
    iterations: u32,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> muon_result {
    boundary!(result: {
        super::boundary::check_out(len)?;
        // SAFETY: the caller promises NULL or NUL-terminated strings.
        let (mechanism, password) = unsafe { (cstr(mechanism)?, cstr(password)?) };
        let m = Mechanism::from_name(mechanism)
            .filter(|m| m.is_scram())
            .ok_or(muon_result::InvalidArgument)?;
        let iterations = if iterations == 0 { ITERATIONS } else { iterations };
        let c = ScramCredentials::generate(m, password, iterations)
            .map_err(|_| muon_result::InvalidArgument)?;
        let mut line = c.to_string().into_bytes();
        line.push(0);
        if buf.is_null() || cap < line.len() {
            // SAFETY: `len` was checked and the caller promises it is writable.
            unsafe { *len = line.len() };
            return Err(muon_result::BufferTooSmall);
        }
        // SAFETY: `buf` holds `cap >= line.len()` writable bytes.
        unsafe { copy_out(&line, buf.cast(), cap) };
        // SAFETY: as above.
        unsafe { *len = line.len() - 1 };
        Ok(())
    })
}

/// Sets the XOAUTH2 token the connection logs in with on its next
/// reconnect (the current transport is not affected): how an application
/// gives a fresh token for each attempt, e.g. from `on_disconnected`.
///
/// `token` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_STATE` (an accepted
/// connection), `MUON_RESULT_PANIC`. Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `token` is NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_set_token(
    conn: muon_connection,
    token: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let token = unsafe { cstr(token) }?.to_owned();
        conn_call(conn, |st, _, cid| st.lp.set_token(cid, Some(token)).map_err(map_reactor))
    })
}

/// The SASL mechanism of the connection: the one chosen (client) or asked
/// for (listener; in `on_sasl_authenticate`, the one to judge), such as
/// `"SCRAM-SHA-256"`; NULL before one is chosen, without SASL, and for a
/// stale or null handle. Static string: nothing to free. Not
/// thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_sasl_mechanism(conn: muon_connection) -> *const c_char {
    boundary!(std::ptr::null(), {
        conn_call(conn, |st, _, cid| {
            let name = st.lp.engine_ref(cid).and_then(|x| {
                x.sasl_request()
                    .map(|r| r.mechanism)
                    .or_else(|| x.sasl_mechanism())
            });
            Ok(name.map_or(std::ptr::null(), mechanism_cstr))
        })
        .unwrap_or(std::ptr::null())
    })
}

pub(crate) fn mechanism_cstr(m: Mechanism) -> *const c_char {
    let s: &'static std::ffi::CStr = match m {
        Mechanism::Anonymous => c"ANONYMOUS",
        Mechanism::Plain => c"PLAIN",
        Mechanism::External => c"EXTERNAL",
        Mechanism::ScramSha1 => c"SCRAM-SHA-1",
        Mechanism::ScramSha256 => c"SCRAM-SHA-256",
        Mechanism::ScramSha512 => c"SCRAM-SHA-512",
        Mechanism::XOAuth2 => c"XOAUTH2",
    };
    s.as_ptr()
}

enum Field {
    User,
    Password,
    Token,
}

fn request_field(conn: muon_connection, f: Field) -> *const c_char {
    let getter = match f {
        Field::User => "sasl_request_user",
        Field::Password => "sasl_request_password",
        Field::Token => "sasl_request_token",
    };
    conn_call(conn, |st, k, cid| {
        let v = st
            .lp
            .engine_ref(cid)
            .and_then(|x| x.sasl_request())
            .and_then(|r| {
                match f {
                    // EXTERNAL's user is the certificate's subject.
                    Field::User => r.username.clone().or_else(|| r.identity.clone()),
                    Field::Password => r.password.clone(),
                    Field::Token => r.token.clone(),
                }
            });
        Ok(text_view(st, ViewOf::Conn(k), getter, v.as_deref()))
    })
    .unwrap_or(std::ptr::null())
}

/// In `on_sasl_authenticate`: the user the client claims (for EXTERNAL,
/// the subject of its verified certificate); NULL for ANONYMOUS, outside
/// that callback, and for a stale or null handle. Valid until the
/// callback returns (unlike other connection getters: see "Pointers
/// returned by getters" at the top of this header).
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_sasl_request_user(conn: muon_connection) -> *const c_char {
    boundary!(std::ptr::null(), { request_field(conn, Field::User) })
}

/// In `on_sasl_authenticate` for PLAIN: the password to check; NULL for
/// every other mechanism (SCRAM never shows the password), outside that
/// callback, and for a stale or null handle. Valid until the callback
/// returns, when muon frees its copies (unlike other connection getters:
/// see "Pointers returned by getters" at the top of this header). Never
/// log it.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_sasl_request_password(
    conn: muon_connection,
) -> *const c_char {
    boundary!(std::ptr::null(), { request_field(conn, Field::Password) })
}

/// In `on_sasl_authenticate` for XOAUTH2: the bearer token to check; NULL
/// otherwise. Valid until the callback returns, when muon frees its copies
/// (unlike other connection getters: see "Pointers returned by getters" at
/// the top of this header). Never log it.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_sasl_request_token(
    conn: muon_connection,
) -> *const c_char {
    boundary!(std::ptr::null(), { request_field(conn, Field::Token) })
}

/// In `on_sasl_authenticate`: accepts (`true`) or refuses the login of a
/// PLAIN, XOAUTH2, EXTERNAL or ANONYMOUS client. A refused client gets the
/// SASL outcome `auth` and the connection ends with
/// `amqp:unauthorized-access`. For SCRAM use
/// `muon_connection_sasl_scram_credentials`.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_STALE_HANDLE`,
/// `MUON_RESULT_WRONG_STATE` (no login waiting, or a SCRAM one),
/// `MUON_RESULT_PANIC`. Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_sasl_accept(
    conn: muon_connection,
    accept: bool,
) -> muon_result {
    boundary!(result: {
        conn_call(conn, |st, _, cid| {
            let x = st.lp.engine(cid).ok_or(muon_result::StaleHandle)?;
            match x.sasl_request() {
                Some(r) if !r.wants_scram_credentials() => {}
                _ => return Err(muon_result::WrongState),
            }
            x.sasl_complete(accept);
            Ok(())
        })
    })
}

/// In `on_sasl_authenticate` for SCRAM: hands muon the stored credentials
/// of the user (`muon_connection_sasl_request_user`) in the form
/// `muon_scram_hash_password` writes, for the mechanism asked for; muon
/// then checks the client's proof itself, so the application never sees a
/// password. NULL means no such user: the exchange goes on with made-up
/// credentials and fails, so a client cannot tell unknown users apart.
///
/// `credentials` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_INVALID_ARGUMENT` (malformed,
/// or for another mechanism), `MUON_RESULT_STALE_HANDLE`,
/// `MUON_RESULT_WRONG_STATE` (no SCRAM login waiting), `MUON_RESULT_PANIC`.
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `credentials` is
/// NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_sasl_scram_credentials(
    conn: muon_connection,
    credentials: *const c_char,
) -> muon_result {
    boundary!(result: {
        let creds = if credentials.is_null() {
            None
        } else {
            // SAFETY: the caller promises a NUL-terminated string.
            let line = unsafe { cstr(credentials) }?;
            Some(
                line.parse::<ScramCredentials>()
                    .map_err(|_| muon_result::InvalidArgument)?,
            )
        };
        conn_call(conn, |st, _, cid| {
            let x = st.lp.engine(cid).ok_or(muon_result::StaleHandle)?;
            let Some(r) = x.sasl_request() else {
                return Err(muon_result::WrongState);
            };
            if !r.wants_scram_credentials() {
                return Err(muon_result::WrongState);
            }
            if creds.as_ref().is_some_and(|c| c.mechanism != r.mechanism) {
                return Err(muon_result::InvalidArgument);
            }
            x.sasl_scram_credentials(creds);
            Ok(())
        })
    })
}
