//! The process-wide log: messages with a level and a category, for the
//! people who operate a program that uses muon.
//!
//! Nothing is logged unless asked: by the `MUON_LOG` environment variable
//! (read once, the first time anything asks whether a message is wanted),
//! by [`set_levels`] (the C API's `muon_set_log_level`), or by a callback
//! ([`set_callback`], the C API's `muon_set_log_callback`). Without a
//! callback, wanted messages go to standard error, one line each:
//! `muon: TIMESTAMP LEVEL CATEGORY: MESSAGE`.
//!
//! Cheap when off: a call site asks [`enabled`] (one relaxed atomic load)
//! before it formats anything. Credentials are never part of a message:
//! call sites log addresses, container ids, conditions and mechanism
//! names, never a password, token or SASL response.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Once, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// How serious a message is; each level includes the ones above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Something failed: a connection lost, a TLS or SASL failure.
    Error = 1,
    /// Something is wrong but muon carries on (e.g. the peer closed with
    /// an error; a reconnect gives up).
    Warning = 2,
    /// What an operator wants to know: reconnect attempts, failover.
    Info = 3,
    /// Detail: every frame (category `Frames`), each step.
    Debug = 4,
}

impl Level {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }

    fn parse(s: &str) -> Option<u8> {
        Some(match s.to_ascii_lowercase().as_str() {
            "off" | "none" => 0,
            "error" => Level::Error as u8,
            "warning" | "warn" => Level::Warning as u8,
            "info" => Level::Info as u8,
            "debug" | "trace" | "all" => Level::Debug as u8,
            _ => return None,
        })
    }
}

/// What a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Category {
    /// Connections: lost, closed by the peer with an error, protocol
    /// errors.
    Connection = 0,
    /// Reconnect attempts and failover choices.
    Reconnect = 1,
    /// SASL failures.
    Sasl = 2,
    /// TLS failures.
    Tls = 3,
    /// The frame trace (level debug).
    Frames = 4,
}

/// Every category, in order.
pub const CATEGORIES: [Category; 5] = [
    Category::Connection,
    Category::Reconnect,
    Category::Sasl,
    Category::Tls,
    Category::Frames,
];

impl Category {
    /// Lower-case name, as `MUON_LOG` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Category::Connection => "connection",
            Category::Reconnect => "reconnect",
            Category::Sasl => "sasl",
            Category::Tls => "tls",
            Category::Frames => "frames",
        }
    }

    fn parse(s: &str) -> Option<Category> {
        let s = s.to_ascii_lowercase();
        CATEGORIES.into_iter().find(|c| c.name() == s)
    }
}

/// The most detailed level logged, per category (0: nothing).
static LEVELS: [AtomicU8; 5] = [const { AtomicU8::new(0) }; 5];
static ENV: Once = Once::new();
/// Levels were chosen, by `MUON_LOG` or [`set_levels`] ("off" included):
/// installing a callback then leaves them as they are.
static CHOSEN: AtomicBool = AtomicBool::new(false);

/// Receives one message (without a trailing newline).
pub type Callback = Box<dyn Fn(Level, Category, &str) + Send + Sync>;

static CALLBACK: RwLock<Option<Callback>> = RwLock::new(None);

thread_local! {
    /// This thread is inside the callback: messages made there (by muon
    /// functions the callback calls) are dropped instead of re-entering.
    static IN_CALLBACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Levels per category, from a `MUON_LOG`-style specification: items
/// separated by commas or spaces, each `LEVEL` (every category) or
/// `CATEGORY:LEVEL` (a later item wins). Levels: `off`, `error`,
/// `warning`, `info`, `debug`; categories: `connection`, `reconnect`,
/// `sasl`, `tls`, `frames`. Returns the levels and the items that named
/// no category or level.
pub fn parse_spec(spec: &str) -> ([u8; 5], Vec<String>) {
    let mut levels = [0u8; 5];
    let mut bad = Vec::new();
    for item in spec.split([',', ' ', ';']).filter(|s| !s.is_empty()) {
        match item.split_once([':', '=']) {
            None => match Level::parse(item) {
                Some(l) => levels = [l; 5],
                None => bad.push(item.to_owned()),
            },
            Some((c, l)) => match (Category::parse(c), Level::parse(l)) {
                (Some(c), Some(l)) => levels[c as usize] = l,
                _ => bad.push(item.to_owned()),
            },
        }
    }
    (levels, bad)
}

/// Reads `MUON_LOG` once. Items it does not understand are reported on
/// standard error, once.
fn init_from_env() {
    ENV.call_once(|| {
        let Ok(spec) = std::env::var("MUON_LOG") else {
            return;
        };
        let (levels, bad) = parse_spec(&spec);
        for (slot, l) in LEVELS.iter().zip(levels) {
            slot.store(l, Ordering::Relaxed);
        }
        if !spec.trim().is_empty() {
            CHOSEN.store(true, Ordering::Relaxed);
        }
        if !bad.is_empty() {
            eprintln!(
                "muon: MUON_LOG: not understood, ignored: {} (use LEVEL or CATEGORY:LEVEL, \
                 levels off, error, warning, info, debug; categories connection, reconnect, \
                 sasl, tls, frames)",
                bad.join(", ")
            );
        }
    });
}

/// Sets the levels from a `MUON_LOG`-style specification (see
/// [`parse_spec`]), replacing what `MUON_LOG` said. Nothing changes if an
/// item is not understood; the bad items are returned.
pub fn set_levels(spec: &str) -> Result<(), Vec<String>> {
    init_from_env();
    let (levels, bad) = parse_spec(spec);
    if !bad.is_empty() {
        return Err(bad);
    }
    for (slot, l) in LEVELS.iter().zip(levels) {
        slot.store(l, Ordering::Relaxed);
    }
    CHOSEN.store(true, Ordering::Relaxed);
    Ok(())
}

/// Where messages go: `Some` to a callback, `None` back to standard error.
/// If no level was chosen (neither `MUON_LOG` nor [`set_levels`]),
/// installing a callback turns on `info` for every category.
pub fn set_callback(cb: Option<Callback>) {
    init_from_env();
    let on = cb.is_some();
    let mut slot = CALLBACK.write().unwrap_or_else(|e| e.into_inner());
    *slot = cb;
    drop(slot);
    if on && !CHOSEN.load(Ordering::Relaxed) {
        for slot in &LEVELS {
            slot.store(Level::Info as u8, Ordering::Relaxed);
        }
    }
}

/// True if a message of `level` in `category` would be logged.
#[inline]
pub fn enabled(category: Category, level: Level) -> bool {
    init_from_env();
    LEVELS[category as usize].load(Ordering::Relaxed) >= level as u8
}

/// True if a callback is installed. False inside the callback: what muon
/// would log there is dropped, and the lock is not taken a second time
/// on this thread (a writer waiting in [`set_callback`] would block it).
pub fn has_callback() -> bool {
    if in_callback() {
        return false;
    }
    CALLBACK.read().map(|c| c.is_some()).unwrap_or(false)
}

/// Logs `message` if `category` is on at `level`.
pub fn log(category: Category, level: Level, message: &str) {
    if enabled(category, level) {
        deliver(category, level, message);
    }
}

/// Hands `message` to the callback, or prints it on standard error,
/// whatever the levels say (the caller checked).
pub fn deliver(category: Category, level: Level, message: &str) {
    if IN_CALLBACK.with(|f| f.get()) {
        return;
    }
    let guard = CALLBACK.read().unwrap_or_else(|e| e.into_inner());
    match guard.as_ref() {
        Some(cb) => {
            IN_CALLBACK.with(|f| f.set(true));
            cb(level, category, message);
            IN_CALLBACK.with(|f| f.set(false));
        }
        None => {
            drop(guard);
            let line = format!(
                "muon: {} {} {}: {message}\n",
                timestamp(),
                level.name(),
                category.name()
            );
            // One write, so lines of several threads do not mix.
            std::io::stderr().write_all(line.as_bytes()).ok();
        }
    }
}

/// True while the calling thread is inside the log callback.
pub fn in_callback() -> bool {
    IN_CALLBACK.with(|f| f.get())
}

/// Now, in UTC: `2026-12-06T05:10:00.123456Z`.
pub fn timestamp() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, day) = civil(days);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_micros()
    )
}

/// Year, month, day of the `days`-th day after 1970-01-01 (the proleptic
/// Gregorian calendar; Howard Hinnant's "civil from days" algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_bad_items_are_named() {
        let (l, bad) = parse_spec("info");
        assert_eq!(l, [3; 5]);
        assert!(bad.is_empty());
        let (l, bad) = parse_spec("reconnect:debug,tls:info");
        assert_eq!(l, [0, 4, 0, 3, 0]);
        assert!(bad.is_empty());
        let (l, bad) = parse_spec("warning, frames:debug nonsense sasl:loud");
        assert_eq!(l, [2, 2, 2, 2, 4]);
        assert_eq!(bad, ["nonsense", "sasl:loud"]);
    }

    #[test]
    fn dates_are_gregorian() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(11_016), (2000, 2, 29));
        assert_eq!(civil(20_793), (2026, 12, 6));
    }
}
