//! The frame trace (`MUON_TRACE=frm`): every protocol header and frame a
//! connection reads or writes, decoded with the codec and printed in one
//! readable line.
//!
//! The trace is taken here, from the bytes that actually cross the socket,
//! so it shows what the peer saw (or sent), in order, whatever the engine
//! meant to do. Each direction has its own [`FrameTracer`], which follows
//! the wire format (protocol header, frames, a new header after a SASL
//! outcome) across arbitrary read and write boundaries.

use std::collections::VecDeque;

use crate::codec::frame::{ProtocolHeader, parse_frame};
use crate::codec::security::{
    show_challenge, show_initial_response, show_outcome_data, show_response,
};
use crate::codec::{Decoder, Descriptor, Value};

/// Frames larger than this are not buffered for the trace: the direction's
/// trace stops with a note instead (the connection itself is unaffected).
const MAX_TRACED_FRAME: u32 = 64 * 1024 * 1024;

/// What `MUON_TRACE` (read when a loop is made) asks for: a comma- or
/// space-separated list; `frm` turns the frame trace on, as does
/// `MUON_LOG=frames:debug`. Other words are reported on standard error,
/// once per process.
pub fn env_wants_frames() -> bool {
    static REPORTED: std::sync::Once = std::sync::Once::new();
    let by_log = crate::log::enabled(crate::log::Category::Frames, crate::log::Level::Debug);
    let Ok(v) = std::env::var("MUON_TRACE") else {
        return by_log;
    };
    let words: Vec<&str> = v.split([',', ' ', ':']).filter(|w| !w.is_empty()).collect();
    let bad: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| !w.eq_ignore_ascii_case("frm"))
        .collect();
    if !bad.is_empty() {
        REPORTED.call_once(|| {
            eprintln!(
                "muon: MUON_TRACE: not understood, ignored: {} (the one trace is frm: frames)",
                bad.join(", ")
            );
        });
    }
    by_log || words.iter().any(|w| w.eq_ignore_ascii_case("frm"))
}

/// Where trace lines go: a queue the layer above drains (the C API hands
/// them to the loop's own log callback), else the process-wide log
/// callback (category frames, level debug) if one is set, else standard
/// error. Each line starts with a UTC timestamp.
#[derive(Debug, Default)]
pub struct LogSink {
    /// Queue lines instead of printing them.
    pub capture: bool,
    /// Queued lines.
    pub lines: VecDeque<String>,
}

impl LogSink {
    /// Emits a warning that is said whether or not anything is traced: to
    /// the loop's queue if it captures, else to the process-wide log
    /// callback (as a TLS warning) if one is set, else standard error.
    pub fn warn_tls(&mut self, line: String) {
        if self.capture {
            self.emit(line);
        } else if crate::log::has_callback() {
            crate::log::deliver(crate::log::Category::Tls, crate::log::Level::Warning, &line);
        } else {
            eprintln!("{line}");
        }
    }

    /// Emits one line.
    pub fn emit(&mut self, line: String) {
        let line = format!("{} {line}", crate::log::timestamp());
        if self.capture {
            self.lines.push_back(line);
        } else if crate::log::has_callback() {
            crate::log::deliver(
                crate::log::Category::Frames,
                crate::log::Level::Debug,
                &line,
            );
        } else {
            eprintln!("{line}");
        }
    }
}

/// Direction of traced bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Written to the peer.
    Out,
    /// Read from the peer.
    In,
}

impl Dir {
    fn arrow(self) -> &'static str {
        match self {
            Dir::Out => "->",
            Dir::In => "<-",
        }
    }
}

/// Follows one direction of a connection's byte stream.
#[derive(Debug)]
pub struct FrameTracer {
    buf: Vec<u8>,
    want_header: bool,
    stopped: bool,
}

impl Default for FrameTracer {
    fn default() -> Self {
        FrameTracer {
            buf: Vec::new(),
            want_header: true,
            stopped: false,
        }
    }
}

impl FrameTracer {
    /// Takes the next `bytes` of the stream; emits a line for each header
    /// or frame they complete.
    pub fn feed(&mut self, label: &str, dir: Dir, bytes: &[u8], sink: &mut LogSink) {
        if self.stopped {
            return;
        }
        self.buf.extend_from_slice(bytes);
        let mut at = 0;
        loop {
            let rest = &self.buf[at..];
            // A protocol header starts the stream and follows the SASL
            // exchange (in both directions, though only one carries the
            // outcome). No frame starts with "AMQP": as a frame size that
            // would be over a gigabyte.
            if rest.len() >= 4 && rest.starts_with(b"AMQP") {
                self.want_header = true;
            }
            if self.want_header {
                if rest.len() < 8 {
                    break;
                }
                let line = match ProtocolHeader::parse(rest) {
                    Ok(ProtocolHeader::Amqp) => "AMQP header".to_owned(),
                    Ok(ProtocolHeader::Sasl) => "SASL header".to_owned(),
                    Ok(ProtocolHeader::Tls) => "TLS header".to_owned(),
                    Err(e) => {
                        self.stopped = true;
                        format!("{e} (trace stops)")
                    }
                };
                sink.emit(format!("[{label}] {} {line}", dir.arrow()));
                if self.stopped {
                    break;
                }
                self.want_header = false;
                at += 8;
                continue;
            }
            match parse_frame(rest, MAX_TRACED_FRAME) {
                Ok(None) => break,
                Ok(Some((frame, n))) => {
                    let text = if frame.is_heartbeat() {
                        "(empty frame)".to_owned()
                    } else {
                        show_frame(frame.body)
                    };
                    sink.emit(format!(
                        "[{label}] {} {} {text}",
                        frame.channel,
                        dir.arrow()
                    ));
                    at += n;
                }
                Err(e) => {
                    sink.emit(format!("[{label}] {} {e} (trace stops)", dir.arrow()));
                    self.stopped = true;
                    break;
                }
            }
        }
        self.buf.drain(..at);
        if self.stopped {
            self.buf = Vec::new();
        }
    }
}

/// How many payload bytes a transfer's line shows.
const PAYLOAD_PREFIX: usize = 32;

/// How long a frame's line gets (in bytes, about): the rest is cut, and
/// the line says so. A frame of small values in an array can print far
/// more text than it has bytes.
pub(super) const MAX_LINE: usize = 8 * 1024;

/// Peer text made safe for a log line: printable characters as they are,
/// `\\` for a backslash, control characters (and the invisible ones that
/// reorder or hide text: bidi controls, zero-width characters, line and
/// paragraph separators) as `\xNN` (ASCII) or `\u{NNNN}`. No quotes
/// around it.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(s, usize::MAX, &mut out);
    out
}

/// [`escape`] of at most `max` characters of `s`, followed by `... (N
/// bytes more)` if there were more.
pub(crate) fn escape_capped(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    escape_into(s, max, &mut out);
    out
}

fn escape_into(s: &str, max: usize, out: &mut String) {
    for (n, (i, c)) in s.char_indices().enumerate() {
        if n >= max {
            out.push_str(&format!("... ({} bytes more)", s.len() - i));
            return;
        }
        let hidden = matches!(
            c,
            '\u{ad}'
                | '\u{61c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        );
        match c {
            '\\' => out.push_str("\\\\"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() || hidden => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
}

/// The longest prefix of `s` of at most `max` bytes.
fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A symbol: bare if it is plain ASCII, else quoted and escaped.
fn show_symbol(s: &str, out: &mut String) {
    out.push(':');
    let s = prefix(s, MAX_LINE);
    if s.chars()
        .all(|c| c.is_ascii_graphic() && c != '"' && c != ',')
        && !s.is_empty()
    {
        out.push_str(s);
    } else {
        out.push_str(&format!("{s:?}"));
    }
}

/// The spec's name and field names of the composite types a frame holds
/// (AMQP 1.0 parts 2–5), by descriptor code.
fn composite(code: u64) -> Option<(&'static str, &'static [&'static str])> {
    Some(match code {
        0x10 => (
            "open",
            &[
                "container-id",
                "hostname",
                "max-frame-size",
                "channel-max",
                "idle-time-out",
                "outgoing-locales",
                "incoming-locales",
                "offered-capabilities",
                "desired-capabilities",
                "properties",
            ],
        ),
        0x11 => (
            "begin",
            &[
                "remote-channel",
                "next-outgoing-id",
                "incoming-window",
                "outgoing-window",
                "handle-max",
                "offered-capabilities",
                "desired-capabilities",
                "properties",
            ],
        ),
        0x12 => (
            "attach",
            &[
                "name",
                "handle",
                "role",
                "snd-settle-mode",
                "rcv-settle-mode",
                "source",
                "target",
                "unsettled",
                "incomplete-unsettled",
                "initial-delivery-count",
                "max-message-size",
                "offered-capabilities",
                "desired-capabilities",
                "properties",
            ],
        ),
        0x13 => (
            "flow",
            &[
                "next-incoming-id",
                "incoming-window",
                "next-outgoing-id",
                "outgoing-window",
                "handle",
                "delivery-count",
                "link-credit",
                "available",
                "drain",
                "echo",
                "properties",
            ],
        ),
        0x14 => (
            "transfer",
            &[
                "handle",
                "delivery-id",
                "delivery-tag",
                "message-format",
                "settled",
                "more",
                "rcv-settle-mode",
                "state",
                "resume",
                "aborted",
                "batchable",
            ],
        ),
        0x15 => (
            "disposition",
            &["role", "first", "last", "settled", "state", "batchable"],
        ),
        0x16 => ("detach", &["handle", "closed", "error"]),
        0x17 => ("end", &["error"]),
        0x18 => ("close", &["error"]),
        0x1d => ("error", &["condition", "description", "info"]),
        0x23 => ("received", &["section-number", "section-offset"]),
        0x24 => ("accepted", &[]),
        0x25 => ("rejected", &["error"]),
        0x26 => ("released", &[]),
        0x27 => (
            "modified",
            &[
                "delivery-failed",
                "undeliverable-here",
                "message-annotations",
            ],
        ),
        0x28 => (
            "source",
            &[
                "address",
                "durable",
                "expiry-policy",
                "timeout",
                "dynamic",
                "dynamic-node-properties",
                "distribution-mode",
                "filter",
                "default-outcome",
                "outcomes",
                "capabilities",
            ],
        ),
        0x29 => (
            "target",
            &[
                "address",
                "durable",
                "expiry-policy",
                "timeout",
                "dynamic",
                "dynamic-node-properties",
                "capabilities",
            ],
        ),
        0x30 => ("coordinator", &["capabilities"]),
        0x31 => ("declare", &["global-id"]),
        0x32 => ("discharge", &["txn-id", "fail"]),
        0x33 => ("declared", &["txn-id"]),
        0x34 => ("transactional-state", &["txn-id", "outcome"]),
        0x40 => ("sasl-mechanisms", &["sasl-server-mechanisms"]),
        0x41 => ("sasl-init", &["mechanism", "initial-response", "hostname"]),
        0x42 => ("sasl-challenge", &["challenge"]),
        0x43 => ("sasl-response", &["response"]),
        0x44 => ("sasl-outcome", &["code", "additional-data"]),
        _ => return None,
    })
}

/// A SASL field that may hold a secret, shown redacted (the same rules as
/// the SASL frames' `Debug`); `None` for every other field.
fn sasl_secret(code: u64, field: &str, fields: &[Value<'_>], v: &Value<'_>) -> Option<String> {
    let Value::Binary(b) = v else {
        return None;
    };
    match (code, field) {
        (0x41, "initial-response") => {
            let mech = match fields.first() {
                Some(Value::Symbol(m)) => m.as_ref(),
                _ => "",
            };
            Some(show_initial_response(mech, b))
        }
        (0x42, "challenge") => Some(show_challenge(b)),
        (0x43, "response") => Some(show_response(b)),
        (0x44, "additional-data") => Some(show_outcome_data(b)),
        _ => None,
    }
}

/// One frame body (a described list) in the trace's notation:
/// `@attach(18) [name="sender-1", handle=0, role=sender, ...]`: the spec's
/// type and field names, fields that are null left out. Stops adding once
/// `out` passes [`MAX_LINE`] (the caller cuts it and says so).
fn show_value(v: &Value<'_>, out: &mut String) {
    if out.len() > MAX_LINE {
        return;
    }
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Ubyte(n) => out.push_str(&n.to_string()),
        Value::Ushort(n) => out.push_str(&n.to_string()),
        Value::Uint(n) => out.push_str(&n.to_string()),
        Value::Ulong(n) => out.push_str(&n.to_string()),
        Value::Byte(n) => out.push_str(&n.to_string()),
        Value::Short(n) => out.push_str(&n.to_string()),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::Long(n) => out.push_str(&n.to_string()),
        Value::Float(f) => out.push_str(&f.to_string()),
        Value::Double(f) => out.push_str(&f.to_string()),
        Value::Decimal32(b) => hex(b, out),
        Value::Decimal64(b) => hex(b, out),
        Value::Decimal128(b) => hex(b, out),
        Value::Char(c) => out.push_str(&format!("{c:?}")),
        Value::Timestamp(ms) => out.push_str(&format!("timestamp({ms})")),
        Value::Uuid(u) => {
            out.push_str("uuid(");
            hex(u, out);
            out.push(')');
        }
        Value::Binary(b) => quoted_bytes(&b[..b.len().min(MAX_LINE)], out),
        Value::String(s) => out.push_str(&format!("{:?}", prefix(s, MAX_LINE))),
        Value::Symbol(s) => show_symbol(s, out),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if out.len() > MAX_LINE {
                    break;
                }
                if i > 0 {
                    out.push_str(", ");
                }
                show_value(item, out);
            }
            out.push(']');
        }
        Value::Map(pairs) => {
            out.push('{');
            for (i, (k, v)) in pairs.iter().enumerate() {
                if out.len() > MAX_LINE {
                    break;
                }
                if i > 0 {
                    out.push_str(", ");
                }
                show_value(k, out);
                out.push('=');
                show_value(v, out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, item) in a.items.iter().enumerate() {
                if out.len() > MAX_LINE {
                    break;
                }
                if i > 0 {
                    out.push_str(", ");
                }
                show_value(item, out);
            }
            out.push(']');
        }
        Value::Described(b) => {
            let (d, body) = (&b.0, &b.1);
            let known = match d {
                Descriptor::Code(c) => composite(*c).map(|k| (*c, k)),
                Descriptor::Symbol(_) => None,
            };
            match (known, body) {
                (Some((code, (name, names))), Value::List(fields)) => {
                    out.push_str(&format!("@{name}({code}) ["));
                    let mut first = true;
                    for (i, f) in fields.iter().enumerate() {
                        if out.len() > MAX_LINE {
                            break;
                        }
                        if matches!(f, Value::Null) {
                            continue;
                        }
                        if !first {
                            out.push_str(", ");
                        }
                        first = false;
                        let field = names.get(i).copied().unwrap_or("?");
                        out.push_str(field);
                        out.push('=');
                        if let Some(text) = sasl_secret(code, field, fields, f) {
                            out.push_str(&text);
                        } else if field == "role" && matches!(f, Value::Bool(_)) {
                            let receiver = matches!(f, Value::Bool(true));
                            out.push_str(if receiver { "receiver" } else { "sender" });
                        } else {
                            show_value(f, out);
                        }
                    }
                    out.push(']');
                }
                _ => {
                    match d {
                        Descriptor::Code(c) => out.push_str(&format!("@0x{c:x} ")),
                        Descriptor::Symbol(s) => {
                            out.push('@');
                            show_symbol(s, out);
                            out.push(' ');
                        }
                    }
                    show_value(body, out);
                }
            }
        }
    }
}

fn hex(b: &[u8], out: &mut String) {
    out.push_str("0x");
    for x in b {
        out.push_str(&format!("{x:02x}"));
    }
}

/// Bytes as quoted text: `b"..."`, printable ASCII as it is, every other
/// byte as `\xhh`.
fn quoted_bytes(b: &[u8], out: &mut String) {
    out.push_str("b\"");
    for &c in b {
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
}

/// A frame body: its performative, and for a transfer the payload's size
/// and first bytes.
fn show_frame(body: &[u8]) -> String {
    let mut d = Decoder::new(body);
    match d.read_value() {
        Ok(v @ Value::Described(_)) => {
            let mut s = String::new();
            show_value(&v, &mut s);
            if s.len() > MAX_LINE {
                let shown = prefix(&s, MAX_LINE).len();
                s.truncate(shown);
                s.push_str(&format!(
                    "... (line cut at {MAX_LINE} bytes; frame body {} bytes)",
                    body.len()
                ));
            }
            let payload = &body[d.position()..];
            if !payload.is_empty() {
                s.push_str(&format!(" (payload {} bytes: ", payload.len()));
                quoted_bytes(&payload[..payload.len().min(PAYLOAD_PREFIX)], &mut s);
                if payload.len() > PAYLOAD_PREFIX {
                    s.push_str("...");
                }
                s.push(')');
            }
            s
        }
        Ok(_) => "undecodable frame: not a performative".to_owned(),
        Err(e) => format!("undecodable frame: {e}"),
    }
}

/// Makes Debug output of a composite shorter: fields that are `None` are
/// left out and `Some(x)` is shown as `x`. Text inside string literals is
/// never touched.
pub fn tidy(debug: &str) -> String {
    let b = debug.as_bytes();
    let mut out = String::with_capacity(debug.len());
    // For each open parenthesis: whether its closing one is to be dropped.
    let mut parens: Vec<bool> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'"' {
            // Copy a string literal verbatim, escapes included.
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
            out.push_str(&debug[start..i]);
            continue;
        }
        let at_word_start = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        if at_word_start && b[i..].starts_with(b"Some(") {
            parens.push(true);
            i += 5;
            continue;
        }
        if at_word_start && (c.is_ascii_alphabetic() || c == b'_') {
            // A field `name: None` followed by `,` or ` }` is dropped, with
            // its separator.
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if b[j..].starts_with(b": None") {
                let after = j + b": None".len();
                if b[after..].starts_with(b", ") {
                    i = after + 2;
                    continue;
                }
                if b[after..].starts_with(b" }") {
                    if out.ends_with(", ") {
                        out.truncate(out.len() - 2);
                    }
                    i = after;
                    continue;
                }
            }
            out.push_str(&debug[i..j]);
            i = j;
            continue;
        }
        match c {
            b'(' => {
                parens.push(false);
                out.push('(');
            }
            b')' => {
                if !parens.pop().unwrap_or(false) {
                    out.push(')');
                }
            }
            _ => {
                // Multi-byte UTF-8 only occurs inside string literals,
                // which were copied above; copy any other byte run safely.
                let ch_len = debug[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&debug[i..i + ch_len]);
                i += ch_len;
                continue;
            }
        }
        i += 1;
    }
    out.replace("{  }", "{}").replace("{ }", "{}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sink's lines without their timestamps (checked to be there).
    fn untimed(sink: LogSink) -> Vec<String> {
        sink.lines
            .into_iter()
            .map(|l| {
                let (ts, rest) = l.split_once(' ').expect("a timestamp");
                assert!(
                    ts.len() == 27 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
                    "{l}"
                );
                rest.to_owned()
            })
            .collect()
    }

    #[test]
    fn tidy_drops_none_fields_and_some_wrappers() {
        assert_eq!(
            tidy(
                r#"Open { container_id: "a: None, b", hostname: Some("h"), x: None, y: Some(Some(3)) }"#
            ),
            r#"Open { container_id: "a: None, b", hostname: "h", y: 3 }"#
        );
        assert_eq!(tidy("End { error: None }"), "End {}");
        assert_eq!(tidy("F { a: 1, b: None }"), "F { a: 1 }");
        assert_eq!(
            tidy("F { a: (1, 2), s: Symbol(\"x)\") }"),
            "F { a: (1, 2), s: Symbol(\"x)\") }"
        );
    }

    #[test]
    fn a_stream_split_anywhere_traces_the_same() {
        use crate::codec::Encode;
        use crate::codec::frame::{AMQP_HEADER, begin_frame, end_frame, write_empty_frame};
        use crate::codec::transport::{Close, Open};
        let mut wire = AMQP_HEADER.to_vec();
        let m = begin_frame(&mut wire, 0, 0);
        Open {
            container_id: "c1".into(),
            hostname: None,
            max_frame_size: 512,
            channel_max: 0,
            idle_time_out: None,
            outgoing_locales: None,
            incoming_locales: None,
            offered_capabilities: None,
            desired_capabilities: None,
            properties: None,
        }
        .encode(&mut wire);
        end_frame(&mut wire, m);
        write_empty_frame(&mut wire);
        let m = begin_frame(&mut wire, 0, 0);
        Close { error: None }.encode(&mut wire);
        end_frame(&mut wire, m);
        let whole = {
            let mut sink = LogSink {
                capture: true,
                ..Default::default()
            };
            FrameTracer::default().feed("c", Dir::Out, &wire, &mut sink);
            untimed(sink)
        };
        assert_eq!(whole.len(), 4, "{whole:?}");
        assert_eq!(whole[0], "[c] -> AMQP header");
        assert_eq!(
            whole[1],
            "[c] 0 -> @open(16) [container-id=\"c1\", max-frame-size=512, channel-max=0]"
        );
        assert_eq!(whole[2], "[c] 0 -> (empty frame)");
        assert_eq!(whole[3], "[c] 0 -> @close(24) []");
        for split in 1..wire.len() {
            let mut sink = LogSink {
                capture: true,
                ..Default::default()
            };
            let mut t = FrameTracer::default();
            t.feed("c", Dir::Out, &wire[..split], &mut sink);
            t.feed("c", Dir::Out, &wire[split..], &mut sink);
            assert_eq!(untimed(sink), whole);
        }
    }

    #[test]
    fn sasl_credentials_never_reach_the_trace() {
        use crate::codec::frame::{FRAME_TYPE_SASL, SASL_HEADER, begin_frame, end_frame};
        use crate::codec::security::{SaslCode, SaslInit, SaslOutcome, SaslResponse};
        use crate::codec::{Binary, Encode, Symbol};
        let mut wire = SASL_HEADER.to_vec();
        let mut frame = |perf: &dyn Fn(&mut Vec<u8>)| {
            let m = begin_frame(&mut wire, FRAME_TYPE_SASL, 0);
            perf(&mut wire);
            end_frame(&mut wire, m);
        };
        frame(&|w| {
            SaslInit {
                mechanism: Symbol::from("PLAIN"),
                initial_response: Some(Binary(b"\0bob\0hunter2".to_vec())),
                hostname: None,
            }
            .encode(w)
        });
        frame(&|w| {
            SaslResponse {
                response: Binary(b"c=biws,r=abcdef,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=".to_vec()),
            }
            .encode(w)
        });
        frame(&|w| {
            SaslOutcome {
                code: SaslCode::Ok,
                additional_data: Some(Binary(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=".to_vec())),
            }
            .encode(w)
        });
        let mut sink = LogSink {
            capture: true,
            ..Default::default()
        };
        FrameTracer::default().feed("c", Dir::Out, &wire, &mut sink);
        let text: Vec<String> = sink.lines.into_iter().collect();
        let all = text.join("\n");
        assert_eq!(text.len(), 4, "{all}");
        assert!(
            all.contains(r#"PLAIN user "bob" password <redacted>"#),
            "{all}"
        );
        assert!(all.contains("p=<redacted>"), "{all}");
        for secret in [
            "hunter2",
            "v0X8v3Bz2T0CJGbJQyF0X",
            "rmF9pqV8S7suAoZWja4dJRkFsKQ",
        ] {
            assert!(!all.contains(secret), "{all}");
        }
    }
}

#[cfg(test)]
mod limit_tests {
    use super::*;

    #[test]
    fn escape_keeps_printable_text_and_escapes_the_rest() {
        assert_eq!(
            escape("amqp:not-found ümlaut 名前"),
            "amqp:not-found ümlaut 名前"
        );
        assert_eq!(escape("a\nb\x1b[31m\\"), "a\\x0ab\\x1b[31m\\\\");
        assert_eq!(escape("x\u{202e}y\u{85}"), "x\\u{202e}y\\u{85}");
        assert_eq!(escape_capped("abcdef", 3), "abc... (3 bytes more)");
        assert_eq!(escape_capped("abc", 3), "abc");
    }

    /// An array of 100,000 ubytes (a 100 kB frame that would print 500 kB
    /// of text) gives a line of about `MAX_LINE` bytes.
    #[test]
    fn a_huge_array_prints_a_bounded_line() {
        let n: usize = 100_000;
        let mut body = vec![0x00, 0x53, 0x14, 0xd0];
        let array_len = 4 + 1 + n; // count, constructor, elements
        let list_size = 4 + 1 + 4 + array_len;
        body.extend_from_slice(&(list_size as u32).to_be_bytes());
        body.extend_from_slice(&1u32.to_be_bytes());
        body.push(0xf0);
        body.extend_from_slice(&(array_len as u32).to_be_bytes());
        body.extend_from_slice(&(n as u32).to_be_bytes());
        body.push(0x50); // ubyte
        body.resize(body.len() + n, 0xff);
        let line = show_frame(&body);
        assert!(
            line.starts_with("@transfer(20) [handle=[255, 255, "),
            "{line:.80}"
        );
        assert!(line.len() < MAX_LINE + 200, "{}", line.len());
        let end = format!(
            "(line cut at {MAX_LINE} bytes; frame body {} bytes)",
            body.len()
        );
        assert!(line.ends_with(&end), "{}", &line[line.len() - 100..]);
    }

    #[test]
    fn a_symbol_descriptor_is_escaped() {
        let mut body = vec![0x00, 0xa3, 6];
        body.extend_from_slice(b"a\x1b[31m");
        body.push(0x40);
        assert_eq!(show_frame(&body), "@:\"a\\u{1b}[31m\" null");
    }
}
