//! The process-wide log in C: `muon_set_log_callback` and
//! `muon_set_log_level` (see `crate::log`).

use std::ffi::{CString, c_char, c_void};

use super::boundary::{boundary, cstr};
use super::result::muon_result;
use super::url::set_last_error;
use crate::log::{Category, Level};

/// How serious a log message is (`muon_set_log_callback`); each level
/// includes the ones before it. The numbers are stable.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum muon_log_level {
    /// Something failed: a connection lost, a TLS or SASL failure.
    Error = 1,
    /// Something is wrong but muon carries on: the peer closed with an
    /// error, a reconnect gave up.
    Warning = 2,
    /// What an operator wants to know: reconnect attempts, failover.
    Info = 3,
    /// Detail: the frame trace.
    Debug = 4,
}

/// What a log message is about (`muon_set_log_callback`). The numbers are
/// stable.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum muon_log_category {
    /// Connections: lost, closed by the peer with an error, protocol errors.
    Connection = 0,
    /// Reconnect attempts and failover choices.
    Reconnect = 1,
    /// SASL failures.
    Sasl = 2,
    /// TLS failures.
    Tls = 3,
    /// The frame trace (`MUON_TRACE=frm`), at level debug.
    Frames = 4,
}

/// Receives one log message: `message` is NUL-terminated, without a
/// newline, and borrowed for the call. It names the connection (`[c1]`,
/// the id the frame trace uses), its peer's address and both container
/// ids where it is about a connection; it never holds a password, token or
/// SASL response.
pub type muon_log_callback = Option<
    unsafe extern "C" fn(
        context: *mut c_void,
        level: muon_log_level,
        category: muon_log_category,
        message: *const c_char,
    ),
>;

struct Target {
    f: unsafe extern "C" fn(*mut c_void, muon_log_level, muon_log_category, *const c_char),
    context: *mut c_void,
}

// SAFETY: `muon_set_log_callback` documents that the callback may be called
// on any thread that runs a loop, with `context`: the application promises
// both are usable from there.
unsafe impl Send for Target {}
// SAFETY: as above; the target is only read.
unsafe impl Sync for Target {}

impl Target {
    fn call(&self, level: Level, category: Category, message: &str) {
        let text = CString::new(message.replace('\0', "")).unwrap_or_default();
        // SAFETY: the application promised a callable `f` with its
        // `context`; the text lives for the call.
        unsafe {
            (self.f)(
                self.context,
                level_of(level),
                category_of(category),
                text.as_ptr(),
            );
        }
    }
}

fn level_of(l: Level) -> muon_log_level {
    match l {
        Level::Error => muon_log_level::Error,
        Level::Warning => muon_log_level::Warning,
        Level::Info => muon_log_level::Info,
        Level::Debug => muon_log_level::Debug,
    }
}

fn category_of(c: Category) -> muon_log_category {
    match c {
        Category::Connection => muon_log_category::Connection,
        Category::Reconnect => muon_log_category::Reconnect,
        Category::Sasl => muon_log_category::Sasl,
        Category::Tls => muon_log_category::Tls,
        Category::Frames => muon_log_category::Frames,
    }
}

/// Sends muon's log messages to `cb` (with `context`) instead of standard
/// error; NULL sends them back to standard error. Process-wide: one
/// callback for every loop.
///
/// Which messages come is chosen by level and category: by the `MUON_LOG`
/// environment variable (e.g. `MUON_LOG=info`,
/// `MUON_LOG=reconnect:debug,tls:info`) or `muon_set_log_level`; if
/// neither chose anything, installing a callback turns on `info` for every
/// category. Without a callback and without `MUON_LOG`, nothing is logged.
/// The frame trace of a loop (`MUON_TRACE=frm`, `muon_loop_set_trace`)
/// comes here too, as category `MUON_LOG_CATEGORY_FRAMES`, level
/// `MUON_LOG_LEVEL_DEBUG`, unless that loop has its own
/// `muon_loop_set_log`; so does the warning about TLS without
/// verification (`muon_connection_options_set_tls_insecure_skip_verify`),
/// as category `MUON_LOG_CATEGORY_TLS`, level `MUON_LOG_LEVEL_WARNING`,
/// which goes to standard error when no callback is set, whatever the
/// levels.
///
/// `cb` is called on the thread that logs (a loop's thread, inside
/// `muon_loop_run*`, or the thread calling a muon function), possibly on
/// several threads at once when several loops run: it must be
/// thread-safe. It is often called in the middle of a loop's work: a
/// call from `cb` on that loop, or on anything made through it, returns
/// `MUON_RESULT_REENTRANT` (a getter its default) and changes nothing, so
/// `cb` should only record the message. Messages muon would log while `cb`
/// runs on that thread (from muon functions `cb` calls) are dropped. Once
/// this function returns, the previous callback is no longer called; `cb`
/// must therefore not wait for a thread that may be calling this function.
/// `context` stays the application's.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_REENTRANT` (called from inside
/// the log callback), `MUON_RESULT_PANIC`. Thread-safe.
///
/// # Safety
/// `cb`, if not NULL, may be called with `context` from any thread until
/// it is replaced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_set_log_callback(
    cb: muon_log_callback,
    context: *mut c_void,
) -> muon_result {
    boundary!(result: {
        if crate::log::in_callback() {
            return Err(muon_result::Reentrant);
        }
        let target = cb.map(|f| Target { f, context });
        crate::log::set_callback(target.map(|t| {
            Box::new(move |level: Level, category: Category, message: &str| {
                t.call(level, category, message);
            }) as crate::log::Callback
        }));
        Ok(())
    })
}

/// Chooses which log messages are made, as the `MUON_LOG` environment
/// variable does (and replacing what it said): items separated by commas
/// or spaces, each `LEVEL` (every category) or `CATEGORY:LEVEL`, a later
/// item winning. Levels: `off`, `error`, `warning`, `info`, `debug`;
/// categories: `connection`, `reconnect`, `sasl`, `tls`, `frames`. E.g.
/// `"warning,reconnect:info"`; `""` or `"off"` turns logging off.
/// `frames:debug` also turns the frame trace on for loops made afterwards.
///
/// `spec` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`,
/// `MUON_RESULT_INVALID_ARGUMENT` (an item names no level or category;
/// nothing changes, and `muon_last_error` names the item), `MUON_RESULT_PANIC`.
/// Thread-safe.
///
/// # Safety
/// `spec` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_set_log_level(spec: *const c_char) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises NULL or a C string.
        let spec = unsafe { cstr(spec) }?;
        match crate::log::set_levels(spec) {
            Ok(()) => {
                set_last_error(None);
                Ok(())
            }
            Err(bad) => {
                set_last_error(Some(format!(
                    "muon_set_log_level: not understood: {} (use LEVEL or CATEGORY:LEVEL)",
                    bad.join(", ")
                )));
                Err(muon_result::InvalidArgument)
            }
        }
    })
}
