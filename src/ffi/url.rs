//! `muon_url`: a connection URL taken apart, with errors that say which
//! part is wrong; and `muon_last_error`, the thread's text of why the last
//! `muon_url_parse`, `muon_loop_connect` or `muon_loop_listen` failed.
//!
//! The grammar is `[scheme://][user[:password]@]host[:port][/address]`:
//! scheme `amqp` (the default) or `amqps`, any case; user, password and
//! address percent-decoded (`%2F` is `/`, `%40` is `@`); the host a name,
//! an IPv4 address or an IPv6 address in brackets (`[::1]`); the port 0 to
//! 65535, 5672 (`amqp`) or 5671 (`amqps`) when absent; the address
//! everything after the first `/` that follows the host, so
//! `host//queue/q` is the address `/queue/q`. No message ever holds the
//! password: a URL quoted in one has it replaced by `***`.

use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::net::Ipv6Addr;

use super::boundary::{Opaque, borrow, boundary, cstr, into_raw, take, write};
use super::result::muon_result;

/// A parsed connection URL. Owned by the application: made by
/// `muon_url_parse`, freed with `muon_url_free`; its getters' strings live
/// as long as it does. Plain data: it may move between threads, but not be
/// used from two at once.
///
/// Functions: `muon_url_parse`, `muon_url_scheme`, `muon_url_user`,
/// `muon_url_password`, `muon_url_host`, `muon_url_port`,
/// `muon_url_address`, `muon_url_origin`, `muon_url_free`.
pub struct muon_url {
    _private: [u8; 0],
}

/// What a URL holds, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub scheme: &'static str,
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: String,
    pub port: u16,
    pub address: String,
}

/// The C object: each part as a C string.
pub(crate) struct UrlBox {
    scheme: CString,
    user: Option<CString>,
    password: Option<CString>,
    host: CString,
    port: u16,
    address: CString,
    origin: CString,
}

impl Opaque for muon_url {
    type Inner = UrlBox;
}

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Sets (or, with `None`, clears) this thread's `muon_last_error`.
pub(crate) fn set_last_error(message: Option<String>) {
    let c = message.map(|m| CString::new(m.replace('\0', "")).unwrap_or_default());
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

/// `text` as it may be shown: the password (what follows the first `:`
/// of the user information, up to the last `@`) replaced by `***`. When
/// the text is not a well-formed URL this may hide more than the password
/// (an address holding `@`), never less.
pub(crate) fn redact(text: &str) -> String {
    let start = scheme_end(text).unwrap_or(0);
    let rest = &text[start..];
    if let Some(at) = rest.rfind('@')
        && let Some(colon) = rest[..at].find(':')
    {
        return format!("{}:***{}", &text[..start + colon], &rest[at..]);
    }
    text.to_owned()
}

/// Where the text after `scheme://` starts, if the text begins with a
/// scheme (letters, digits, `+`, `-`, `.`, starting with a letter).
fn scheme_end(text: &str) -> Option<usize> {
    let i = text.find("://")?;
    let s = &text[..i];
    let ok = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    ok.then_some(i + 3)
}

/// Decodes `%XX` escapes of `part` (named `what` in errors); the result
/// must be UTF-8 without NUL. `show` says whether the part may be quoted.
fn decode(part: &str, what: &str, show: bool) -> Result<String, String> {
    let b = part.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'%' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let hex = |j: usize| b.get(j).and_then(|c| (*c as char).to_digit(16));
        match (hex(i + 1), hex(i + 2)) {
            (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
            _ if show => {
                let bad: String = part[i..].chars().take(3).collect();
                return Err(format!(
                    "bad percent-escape \"{bad}\" in the {what} (a '%' starts %XX, two hex digits; \
                     write '%' itself as %25)"
                ));
            }
            _ => {
                return Err(format!(
                    "bad percent-escape in the {what} (a '%' starts %XX, two hex digits; write \
                     '%' itself as %25)"
                ));
            }
        }
        i += 3;
    }
    if out.contains(&0) {
        return Err(format!("the {what} holds %00 (a NUL byte)"));
    }
    String::from_utf8(out).map_err(|_| format!("the {what} is not UTF-8 once decoded"))
}

/// Parses `text`; the error is the reason, without the URL.
pub(crate) fn parse(text: &str) -> Result<Parsed, String> {
    if text.is_empty() {
        return Err(
            "the URL is empty (expected [amqp[s]://][user[:password]@]host[:port][/address])"
                .into(),
        );
    }
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(format!(
            "it holds the control character U+{:04X} (percent-encode it)",
            c as u32
        ));
    }
    let (scheme, rest) = match scheme_end(text) {
        Some(end) => {
            let s = &text[..end - 3];
            let scheme = if s.eq_ignore_ascii_case("amqp") {
                "amqp"
            } else if s.eq_ignore_ascii_case("amqps") {
                "amqps"
            } else {
                return Err(format!(
                    "the scheme \"{s}\" is not supported (use amqp:// or amqps://)"
                ));
            };
            (scheme, &text[end..])
        }
        None => ("amqp", text),
    };
    let (authority, address) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let (user, password, hostport) = match authority.rfind('@') {
        Some(at) => {
            let info = &authority[..at];
            let (u, p) = match info.find(':') {
                Some(c) => (&info[..c], Some(&info[c + 1..])),
                None => (info, None),
            };
            if u.is_empty() {
                return Err("the user name before '@' is empty".into());
            }
            let user = decode(u, "user name", true)?;
            // `user:@host` has no password, as for the URL standard.
            let password = p
                .filter(|p| !p.is_empty())
                .map(|p| decode(p, "password", false))
                .transpose()?;
            (Some(user), password, &authority[at + 1..])
        }
        None => (None, None, authority),
    };
    // An '@' past the host: most likely a '/' in the user name or password
    // that should have been %2F. Say so, quoting nothing of it.
    if address.contains('@') && hostport.contains(':') && user.is_none() {
        let port = &hostport[hostport.rfind(':').map_or(0, |i| i + 1)..];
        if !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(
                "the part before '@' is cut by a '/': write '/' in a user name or \
                        password as %2F"
                    .into(),
            );
        }
    }
    let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            return Err(format!(
                "the IPv6 address \"{hostport}\" has no closing ']'"
            ));
        };
        let h = &inner[..close];
        if h.parse::<Ipv6Addr>().is_err() {
            return Err(format!("\"[{h}]\" is not an IPv6 address"));
        }
        let after = &inner[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => {
                return Err(format!(
                    "unexpected \"{after}\" after the IPv6 address [{h}] (expected :PORT or /ADDRESS)"
                ));
            }
        };
        (h.to_owned(), port)
    } else {
        if hostport.matches(':').count() > 1 {
            return Err(format!(
                "the host \"{hostport}\" has more than one ':' (an IPv6 address goes in brackets: \
                 amqp://[::1]:5672/address)"
            ));
        }
        let (h, p) = match hostport.find(':') {
            Some(c) => (&hostport[..c], Some(&hostport[c + 1..])),
            None => (hostport, None),
        };
        if h.is_empty() {
            return Err("the host is empty".into());
        }
        if let Some(c) = h
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
        {
            return Err(format!("the host \"{h}\" holds the character '{c}'"));
        }
        (h.to_owned(), p)
    };
    let port = match port {
        None => {
            if scheme == "amqps" {
                5671
            } else {
                5672
            }
        }
        Some("") => return Err("the port after ':' is empty".into()),
        Some(p) if !p.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(format!("the port \"{p}\" is not a number"));
        }
        Some(p) => match p.parse::<u32>() {
            Ok(n) if n <= 65535 => n as u16,
            _ => return Err(format!("the port {p} is out of range (0 to 65535)")),
        },
    };
    let address = decode(address, "address", true)?;
    Ok(Parsed {
        scheme,
        user,
        password,
        host,
        port,
        address,
    })
}

/// The message for a URL that does not parse.
pub(crate) fn invalid(text: &str, why: &str) -> String {
    format!("invalid URL \"{}\": {why}", redact(text))
}

/// `s` with every byte but the unreserved ones (`A-Z a-z 0-9 - . _ ~`)
/// percent-encoded.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `scheme://host:port`, an IPv6 host in brackets.
fn origin(p: &Parsed) -> String {
    if p.host.contains(':') {
        format!("{}://[{}]:{}", p.scheme, p.host, p.port)
    } else {
        format!("{}://{}:{}", p.scheme, p.host, p.port)
    }
}

/// The URL the reactor is handed: `scheme://[user[:password]@]host:port`,
/// user and password percent-encoded, an IPv6 host in brackets, no
/// address (connecting and listening do not use it). Its parser reads
/// back exactly what `parse` found, whatever the original looked like.
fn canonical(p: &Parsed) -> String {
    let mut s = format!("{}://", p.scheme);
    if let Some(u) = &p.user {
        s.push_str(&encode(u));
        if let Some(pw) = &p.password {
            s.push(':');
            s.push_str(&encode(pw));
        }
        s.push('@');
    }
    s.push_str(&origin(p)[p.scheme.len() + 3..]);
    s
}

/// For `muon_loop_connect` and `muon_loop_listen`: the URL to hand the
/// reactor, or `MUON_RESULT_INVALID_ARGUMENT` with the reason kept for
/// `muon_last_error`.
pub(crate) fn check(text: &str, why: &mut Option<String>) -> Result<String, muon_result> {
    parse(text).map(|p| canonical(&p)).map_err(|e| {
        *why = Some(invalid(text, &e));
        muon_result::InvalidArgument
    })
}

/// A reactor error as a result code, keeping its text for
/// `muon_last_error` (but for a URL error, whose text quotes the URL with
/// its password: `check` has seen every URL the reactor parses, so that
/// one says only that the URL was refused).
pub(crate) fn reactor_error(e: crate::reactor::Error, why: &mut Option<String>) -> muon_result {
    *why = Some(match &e {
        crate::reactor::Error::InvalidUrl(_) => "the URL was refused".to_owned(),
        other => other.to_string(),
    });
    super::event_loop::map_reactor(e)
}

/// Sets `muon_last_error` after `muon_loop_connect` or `muon_loop_listen`
/// (`doing`: "cannot connect to", "cannot listen on") returned `r`; `why`
/// is what went wrong, when known, and a URL error is shown as it is.
pub(crate) fn report<T>(
    doing: &str,
    url: Option<&str>,
    r: &Result<T, muon_result>,
    why: Option<String>,
) {
    let Err(code) = r else {
        set_last_error(None);
        return;
    };
    let why = why.unwrap_or_else(|| {
        // SAFETY: muon_result_message returns a static NUL-terminated string.
        let m = unsafe { std::ffi::CStr::from_ptr(super::result::muon_result_message(*code as _)) };
        m.to_string_lossy().into_owned()
    });
    set_last_error(Some(match url {
        _ if why.starts_with("invalid URL ") => why,
        Some(u) => format!("{doing} \"{}\": {why}", redact(u)),
        None => format!("{doing} a URL that is NULL or not UTF-8: {why}"),
    }));
}

fn c_string(s: &str) -> CString {
    // `parse` refuses NUL in every part.
    CString::new(s).unwrap_or_default()
}

/// Parses `text`, a connection URL `[scheme://][user[:password]@]host[:port][/address]`
/// (see `muon_loop_connect`): scheme `amqp` (the default) or `amqps`; user,
/// password and address percent-decoded (`%2F` is `/`, `%40` is `@`, `%25`
/// is `%`); the host a name, an IPv4 address or an IPv6 address in
/// brackets (`amqp://[::1]:5672/q`); the port 0 to 65535, by default 5672
/// for `amqp` and 5671 for `amqps`; the address everything after the first
/// `/` following the host (`host//queue/q` is the address `/queue/q`).
/// Control characters must be percent-encoded.
///
/// On success `*out` receives a new `muon_url` (ownership moves out: free
/// it with `muon_url_free`) and `muon_last_error` is cleared. On
/// `MUON_RESULT_INVALID_ARGUMENT`, `muon_last_error()` says which part is
/// wrong and quotes the URL with any password replaced by `***`, e.g.
/// `invalid URL "localhost:99999/q": the port 99999 is out of range (0 to
/// 65535)`. Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_INVALID_ARGUMENT`,
/// `MUON_RESULT_PANIC`; `out` is written only on success. Thread-safe (it
/// touches no loop); may be called from a callback.
///
/// # Safety
/// `text` is NULL or NUL-terminated; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_url_parse(
    text: *const c_char,
    out: *mut *mut muon_url,
) -> muon_result {
    boundary!(result: {
        let r = (|| {
            if out.is_null() {
                return Err((muon_result::NullArgument, "muon_url_parse: out is NULL".to_owned()));
            }
            // SAFETY: the caller promises NULL or a NUL-terminated string.
            let text = unsafe { cstr(text) }.map_err(|e| {
                (e, format!("muon_url_parse: the URL is {}", if e == muon_result::NullArgument {
                    "NULL"
                } else {
                    "not UTF-8"
                }))
            })?;
            let p = parse(text).map_err(|why| (muon_result::InvalidArgument, invalid(text, &why)))?;
            Ok(UrlBox {
                scheme: c_string(p.scheme),
                user: p.user.as_deref().map(c_string),
                password: p.password.as_deref().map(c_string),
                host: c_string(&p.host),
                port: p.port,
                address: c_string(&p.address),
                origin: c_string(&origin(&p)),
            })
        })();
        match r {
            Ok(u) => {
                set_last_error(None);
                // SAFETY: checked non-NULL above; the caller promises it is writable.
                unsafe { write(out, into_raw::<muon_url>(Box::new(u))) }
            }
            Err((code, message)) => {
                set_last_error(Some(message));
                Err(code)
            }
        }
    })
}

/// Runs `f` on the URL behind `url`, or returns NULL.
///
/// # Safety
/// `url` is NULL or a live `muon_url`.
unsafe fn text_of(
    url: *const muon_url,
    f: impl FnOnce(&UrlBox) -> Option<&CString>,
) -> *const c_char {
    // SAFETY: forwarded from the caller.
    unsafe { borrow(url) }
        .ok()
        .and_then(f)
        .map_or(std::ptr::null(), |c| c.as_ptr())
}

/// The URL's scheme, in lower case: `"amqp"` (also when the URL had none)
/// or `"amqps"`; NULL when `url` is NULL. Borrowed until `url` is freed.
/// Not thread-safe for one URL; may be called from a callback.
///
/// # Safety
/// `url` is NULL or a live `muon_url`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_url_scheme(url: *const muon_url) -> *const c_char {
    boundary!(std::ptr::null(), {
        // SAFETY: forwarded from this function's contract.
        unsafe { text_of(url, |u| Some(&u.scheme)) }
    })
}

/// The URL's user name, percent-decoded; NULL when it has none (or `url`
/// is NULL). Borrowed until `url` is freed. Not thread-safe for one URL;
/// may be called from a callback.
///
/// # Safety
/// `url` is NULL or a live `muon_url`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_url_user(url: *const muon_url) -> *const c_char {
    boundary!(std::ptr::null(), {
        // SAFETY: forwarded from this function's contract.
        unsafe { text_of(url, |u| u.user.as_ref()) }
    })
}

/// The URL's password, percent-decoded; NULL when it has none (`user@host`,
/// or `user:@host` with nothing after the colon) or `url` is NULL.
/// Borrowed until `url` is freed. Not thread-safe for one URL; may be
/// called from a callback.
///
/// # Safety
/// `url` is NULL or a live `muon_url`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_url_password(url: *const muon_url) -> *const c_char {
    boundary!(std::ptr::null(), {
        // SAFETY: forwarded from this function's contract.
        unsafe { text_of(url, |u| u.password.as_ref()) }
    })
}

/// The URL's host: a name or IPv4 address as written, an IPv6 address
/// without its brackets (`"::1"`); NULL when `url` is NULL. Borrowed until
/// `url` is freed. Not thread-safe for one URL; may be called from a
/// callback.
///
/// # Safety
/// `url` is NULL or a live `muon_url`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_url_host(url: *const muon_url) -> *const c_char {
    boundary!(std::ptr::null(), {
        // SAFETY: forwarded from this function's contract.
        unsafe { text_of(url, |u| Some(&u.host)) }
    })
}

/// The URL's port: as written, else 5672 for `amqp` and 5671 for `amqps`;
/// 0 when `url` is NULL (or the URL says port 0, which a listener takes as
/// "pick a free port"). Not thread-safe for one URL; may be called from a
/// callback.
///
/// # Safety
/// `url` is NULL or a live `muon_url`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_url_port(url: *const muon_url) -> u16 {
    // SAFETY: forwarded from this function's contract.
    boundary!(0, { unsafe { borrow(url) }.map_or(0, |u| u.port) })
}

/// The URL's address (the node to send to or receive from), percent-decoded:
/// everything after the first `/` that follows the host; `""` when there is
/// none; NULL when `url` is NULL. Borrowed until `url` is freed. Not
/// thread-safe for one URL; may be called from a callback.
///
/// # Safety
/// `url` is NULL or a live `muon_url`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_url_address(url: *const muon_url) -> *const c_char {
    boundary!(std::ptr::null(), {
        // SAFETY: forwarded from this function's contract.
        unsafe { text_of(url, |u| Some(&u.address)) }
    })
}

/// The URL as it may be shown in messages and logs: `scheme://host:port`,
/// with the port the URL means (its default when the URL has none) and an
/// IPv6 host in brackets (`"amqp://[::1]:5672"`); never the user name,
/// the password or the address. NULL when `url` is NULL. Borrowed until
/// `url` is freed. Not thread-safe for one URL; may be called from a
/// callback.
///
/// # Safety
/// `url` is NULL or a live `muon_url`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_url_origin(url: *const muon_url) -> *const c_char {
    boundary!(std::ptr::null(), {
        // SAFETY: forwarded from this function's contract.
        unsafe { text_of(url, |u| Some(&u.origin)) }
    })
}

/// Frees a URL made by `muon_url_parse`; NULL is ignored. The strings its
/// getters returned are invalid afterwards. Not thread-safe for one URL;
/// may be called from a callback.
///
/// # Safety
/// `url` is NULL or a `muon_url` not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_url_free(url: *mut muon_url) {
    boundary!((), {
        // SAFETY: the caller promises NULL or a live URL, not used again.
        drop(unsafe { take(url) });
    })
}

/// Why the last failed call on this thread of `muon_url_parse`,
/// `muon_loop_connect`, `muon_loop_listen`, `muon_set_log_level`,
/// `muon_selector_new` or `muon_selector_from_filter` failed, in one line
/// that names what was wrong (the part of a bad URL, the TLS file, the
/// address in use, the log setting, where a selector stops being
/// supported), e.g. `invalid URL "localhost:abc/q": the port "abc" is not
/// a number`; NULL when the last of those calls on this thread succeeded,
/// or none was made. A URL quoted in the text never shows its password (it
/// is replaced by `***`).
///
/// The text belongs to the thread and stays valid until the next call of
/// one of those functions on the same thread; never free it.
/// Thread-safe (each thread has its own); may be called from a callback.
///
/// # Safety
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_last_error() -> *const c_char {
    boundary!(std::ptr::null(), {
        LAST_ERROR.with(|e| e.borrow().as_ref().map_or(std::ptr::null(), |c| c.as_ptr()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        invalid(s, &parse(s).expect_err(s))
    }

    #[test]
    fn forms() {
        let p = parse("localhost:5672/examples").unwrap();
        assert_eq!(
            (p.scheme, p.host.as_str(), p.port, p.address.as_str()),
            ("amqp", "localhost", 5672, "examples")
        );
        let p = parse("AMQPS://guest:gu%40st@127.0.0.1/queue").unwrap();
        assert_eq!(p.scheme, "amqps");
        assert_eq!(p.user.as_deref(), Some("guest"));
        assert_eq!(p.password.as_deref(), Some("gu@st"));
        assert_eq!((p.port, p.address.as_str()), (5671, "queue"));
        let p = parse("amqp://[::1]:1234").unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.address.as_str()),
            ("::1", 1234, "")
        );
        assert_eq!(parse("h//queue/q1").unwrap().address, "/queue/q1");
        assert_eq!(parse("h/a%2Fb%20c").unwrap().address, "a/b c");
        assert_eq!(parse("u:@h").unwrap().password, None);
        assert_eq!(parse("h:0").unwrap().port, 0);
        assert_eq!(parse("h/q://x").unwrap().address, "q://x");
    }

    #[test]
    fn errors_name_the_part() {
        assert!(err("amqp://:::/x").contains("the host \":::\" has more than one ':'"));
        assert!(err("host:99999/q").contains("the port 99999 is out of range"));
        assert!(err("").contains("the URL is empty"));
        assert!(err("localhost:abc/q").contains("the port \"abc\" is not a number"));
        assert!(err("http://h/q").contains("the scheme \"http\" is not supported"));
        assert!(err("amqp://[::g]/q").contains("\"[::g]\" is not an IPv6 address"));
        assert!(err("amqp://h:/q").contains("the port after ':' is empty"));
        assert!(err("amqp://h/%zz").contains("bad percent-escape \"%zz\" in the address"));
        assert!(err("amqp://h a/q").contains("the host \"h a\" holds the character ' '"));
    }

    #[test]
    fn errors_never_show_the_password() {
        for s in [
            "http://alice:s3cret@h/q",
            "amqp://alice:s3cret@h:99999/q",
            "amqp://alice:s3cr%zzet@h/q",
            "amqp://alice:s3c/ret@h/q",
            "amqp://alice:s3cret@:::/q",
        ] {
            let e = err(s);
            assert!(!e.contains("s3c"), "{e}");
            assert!(e.contains("alice:***@"), "{e}");
        }
    }

    #[test]
    fn the_reactor_reads_back_what_was_parsed() {
        for s in [
            "localhost",
            "amqp://u:p@h:1/a",
            "amqps://[fe80::1]:5671//queue/x",
            "h_1.example-2:0/q://x",
            "h/a b",
            "AMQP://al%20ice:p%40ss%2Fw%3Ard%25@H.example:99/q",
            "amqp://bob:@h",
        ] {
            let p = parse(s).unwrap();
            let a = crate::reactor::Address::parse(&canonical(&p)).unwrap();
            assert_eq!(
                (a.scheme.as_str(), a.host.as_str(), a.port),
                (p.scheme, p.host.as_str(), p.port),
                "{s}"
            );
            assert_eq!((a.user, a.password), (p.user, p.password), "{s}");
        }
    }
}
