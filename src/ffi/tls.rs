//! TLS settings of `muon_connection_options`: trust, certificates, and
//! the options that weaken security (each named `insecure`).
//!
//! A connection uses TLS when its URL is `amqps://` (each failover URL
//! decides for itself); a listener when its address is `amqps://` or a
//! certificate is set. Files are read when the option is set, so a
//! missing or malformed file is reported there, with the reason in
//! `muon_connection_options_error`.

use std::ffi::c_char;

use super::boundary::{borrow, borrow_mut, boundary, bytes, cstr};
use super::options::{ConnOptions, muon_connection_options};
use super::result::muon_result;
use crate::reactor::{parse_certs, parse_key};

fn read_file(path: &str, what: &str) -> Result<Vec<u8>, (muon_result, String)> {
    std::fs::read(path).map_err(|e| (muon_result::IoError, format!("{what} {path}: {e}")))
}

/// Reads the CA file at `path` (NULL-checked C string) into the list
/// `pick` chooses: the client's trusted CAs or the listener's client CAs.
///
/// # Safety
/// `opts` is NULL or a live options object; `path` is NULL or NUL-terminated.
unsafe fn add_ca_file(
    opts: *mut muon_connection_options,
    path: *const c_char,
    what: &str,
    pick: fn(&mut ConnOptions) -> &mut Vec<Vec<u8>>,
) -> Result<(), muon_result> {
    // SAFETY: the caller's promise.
    let o = unsafe { borrow_mut(opts) }?;
    // SAFETY: the caller's promise.
    let path = unsafe { cstr(path) }?;
    o.record(|o| {
        let pem = read_file(path, what)?;
        check_certs(&pem, path)?;
        pick(o).push(pem);
        Ok(())
    })
}

fn check_certs(pem: &[u8], what: &str) -> Result<(), (muon_result, String)> {
    parse_certs(pem, what)
        .map(|_| ())
        .map_err(|e| (muon_result::InvalidArgument, e))
}

fn check_key(pem: &[u8], what: &str) -> Result<(), (muon_result, String)> {
    parse_key(pem, what)
        .map(|_| ())
        .map_err(|e| (muon_result::InvalidArgument, e))
}

/// Adds the CA certificates of the PEM file at `path` to those trusted to
/// sign the server's certificate (beside the platform's store, unless
/// `muon_connection_options_set_tls_system_trust(opts, false)`).
///
/// `opts` and `path` are borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`,
/// `MUON_RESULT_IO_ERROR` (the file cannot be read),
/// `MUON_RESULT_INVALID_ARGUMENT` (no certificate in it), `MUON_RESULT_PANIC`;
/// on failure `muon_connection_options_error` says why. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; `path` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_add_tls_ca_file(
    opts: *mut muon_connection_options,
    path: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe { add_ca_file(opts, path, "CA file", |o| &mut o.tls_client.ca_pem) }
    })
}

/// Adds the CA certificates in `len` bytes of PEM at `pem` to the trusted
/// ones, as `muon_connection_options_add_tls_ca_file` does.
///
/// `opts` and `pem` are borrowed for the call (the bytes are copied).
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_INVALID_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; `pem` is NULL or points to
/// `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_add_tls_ca_pem(
    opts: *mut muon_connection_options,
    pem: *const u8,
    len: usize,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises `len` readable bytes or NULL.
        let pem = unsafe { bytes(pem, len) }?.to_vec();
        o.record(|o| {
            check_certs(&pem, "CA certificate")?;
            o.tls_client.ca_pem.push(pem);
            Ok(())
        })
    })
}

/// Whether the platform's trust store is used to verify servers (default
/// true). The store is the system's CA bundle, or the files named by the
/// `SSL_CERT_FILE` and `SSL_CERT_DIR` environment variables when they are
/// set, as with OpenSSL-based tools. With false, only the CAs added with
/// `muon_connection_options_add_tls_ca_file`/`_pem` are trusted (verification
/// stays on).
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_tls_system_trust(
    opts: *mut muon_connection_options,
    on: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.tls_client.no_system_trust = !on;
        Ok(())
    })
}

fn set_cert(
    o: &mut ConnOptions,
    chain: Vec<u8>,
    key: Vec<u8>,
) -> Result<(), (muon_result, String)> {
    check_certs(&chain, "certificate")?;
    check_key(&key, "private key")?;
    o.tls_cert = Some((chain, key));
    Ok(())
}

/// Sets this side's certificate chain and private key from PEM files: for
/// `muon_loop_connect` the client certificate of mutual TLS (and SASL
/// EXTERNAL is then chosen when the server offers it); for
/// `muon_loop_listen` the listener's certificate (which makes it a TLS
/// listener). The key may be PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
///
/// `opts`, `cert_path` and `key_path` are borrowed for the call. Results:
/// `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`,
/// `MUON_RESULT_IO_ERROR`, `MUON_RESULT_INVALID_ARGUMENT` (not a certificate
/// or key), `MUON_RESULT_PANIC`; on failure `muon_connection_options_error`
/// says why. Not thread-safe (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; the paths are NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_tls_cert_file(
    opts: *mut muon_connection_options,
    cert_path: *const c_char,
    key_path: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises NULL or NUL-terminated strings.
        let (cert_path, key_path) = unsafe { (cstr(cert_path)?, cstr(key_path)?) };
        o.record(|o| {
            let chain = read_file(cert_path, "certificate file")?;
            let key = read_file(key_path, "key file")?;
            set_cert(o, chain, key)
        })
    })
}

/// Sets this side's certificate chain and private key from PEM in memory,
/// as `muon_connection_options_set_tls_cert_file` does.
///
/// `opts`, `cert` and `key` are borrowed for the call (the bytes are
/// copied). Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_INVALID_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; `cert` and `key` are NULL or
/// point to `cert_len` and `key_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_tls_cert_pem(
    opts: *mut muon_connection_options,
    cert: *const u8,
    cert_len: usize,
    key: *const u8,
    key_len: usize,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        // SAFETY: the caller promises readable bytes or NULL.
        let (cert, key) = unsafe { (bytes(cert, cert_len)?.to_vec(), bytes(key, key_len)?.to_vec()) };
        o.record(|o| set_cert(o, cert, key))
    })
}

/// INSECURE: connects over TLS without verifying the server's certificate
/// or name (default false). The connection is encrypted but anyone on the
/// path can impersonate the server; every such connection writes a
/// warning to stderr (or the loop's log callback). For tests only.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_tls_insecure_skip_verify(
    opts: *mut muon_connection_options,
    on: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.tls_client.insecure_skip_verify = on;
        Ok(())
    })
}

/// Listener: client certificates are verified against the CAs in the PEM
/// file at `path` (may be called several times). A client that presents a
/// verified certificate can log in with SASL EXTERNAL as its subject's
/// common name; whether a certificate is required is set with
/// `muon_connection_options_set_tls_require_client_cert`.
///
/// `opts` and `path` are borrowed for the call. Results as
/// `muon_connection_options_add_tls_ca_file`. Not thread-safe (plain
/// data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object; `path` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_add_tls_client_ca_file(
    opts: *mut muon_connection_options,
    path: *const c_char,
) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            add_ca_file(opts, path, "client CA file", |o| &mut o.tls_server.client_ca_pem)
        }
    })
}

/// Listener: refuse TLS clients that present no certificate the client
/// CAs verify (default false: a certificate is verified when offered, and
/// SASL decides otherwise). Needs a client CA.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_tls_require_client_cert(
    opts: *mut muon_connection_options,
    on: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.tls_server.require_client_cert = on;
        Ok(())
    })
}

/// INSECURE: a TLS listener also accepts plain AMQP on the same port,
/// told apart by the client's first byte (default false). Plain clients
/// are not encrypted, so SASL PLAIN stays refused to them unless
/// `muon_connection_options_set_allow_insecure_plain` is also set.
///
/// `opts` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_PANIC`. Not thread-safe
/// (plain data); may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_set_tls_insecure_allow_plain(
    opts: *mut muon_connection_options,
    on: bool,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live options object or NULL.
        let o = unsafe { borrow_mut(opts) }?;
        o.tls_server.insecure_allow_plain = on;
        Ok(())
    })
}

/// Why the last call on `opts` of a setter that loads certificates or
/// credentials (`muon_connection_options_add_tls_ca_file`, `_add_tls_ca_pem`,
/// `_add_tls_client_ca_file`, `_set_tls_cert_file`, `_set_tls_cert_pem`,
/// `_add_user`, `_add_user_scram`) failed: a file that cannot be read, a
/// PEM without a certificate, a key that does not parse, malformed
/// credentials. NULL if that call succeeded, or none was made (a NULL or
/// non-UTF-8 argument is reported by the result code alone). Never
/// contains key material.
///
/// `opts` is borrowed for the call; the string is borrowed until the next
/// call on `opts` or its free. NULL for NULL `opts`. Not thread-safe;
/// may be called from a callback.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_options_error(
    opts: *const muon_connection_options,
) -> *const c_char {
    boundary!(std::ptr::null(), {
        // SAFETY: the caller promises a live options object or NULL.
        match unsafe { borrow(opts) } {
            Ok(o) => o.error.as_ref().map_or(std::ptr::null(), |e| e.as_ptr()),
            Err(_) => std::ptr::null(),
        }
    })
}
