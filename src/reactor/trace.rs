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

use crate::codec::Decoder;
use crate::codec::frame::{FRAME_TYPE_SASL, ProtocolHeader, parse_frame};
use crate::codec::security::SaslFrame;
use crate::codec::transport::Performative;

/// Frames larger than this are not buffered for the trace: the direction's
/// trace stops with a note instead (the connection itself is unaffected).
const MAX_TRACED_FRAME: u32 = 64 * 1024 * 1024;

/// What `MUON_TRACE` (read when a loop is made) asks for: a comma- or
/// space-separated list; `frm` turns the frame trace on.
pub fn env_wants_frames() -> bool {
    std::env::var("MUON_TRACE").is_ok_and(|v| {
        v.split([',', ' ', ':'])
            .any(|w| w.eq_ignore_ascii_case("frm"))
    })
}

/// Where trace lines go: standard error, or a queue the layer above drains
/// (the C API hands them to the application's log callback).
#[derive(Debug, Default)]
pub struct LogSink {
    /// Queue lines instead of printing them.
    pub capture: bool,
    /// Queued lines.
    pub lines: VecDeque<String>,
}

impl LogSink {
    /// Emits one line.
    pub fn emit(&mut self, line: String) {
        if self.capture {
            self.lines.push_back(line);
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
                    let text = if frame.frame_type == FRAME_TYPE_SASL {
                        let mut d = Decoder::new(frame.body);
                        match SaslFrame::decode(&mut d) {
                            Ok(f) => {
                                format!("@{} {}", f.name(), tidy(&sasl_body(&f)))
                            }
                            Err(e) => format!("undecodable SASL frame: {e}"),
                        }
                    } else if frame.is_heartbeat() {
                        "(empty frame)".to_owned()
                    } else {
                        let mut d = Decoder::new(frame.body);
                        match Performative::decode(&mut d) {
                            Ok(p) => {
                                let payload = frame.body.len() - d.position();
                                let mut s = format!("@{} {}", p.name(), tidy(&perf_body(&p)));
                                if payload > 0 {
                                    s.push_str(&format!(" (+{payload} bytes of payload)"));
                                }
                                s
                            }
                            Err(e) => format!("undecodable frame: {e}"),
                        }
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

/// The performative's fields, as Debug prints them (without the enum
/// variant wrapper, which the name already says).
fn perf_body(p: &Performative) -> String {
    match p {
        Performative::Open(x) => format!("{x:?}"),
        Performative::Begin(x) => format!("{x:?}"),
        Performative::Attach(x) => format!("{x:?}"),
        Performative::Flow(x) => format!("{x:?}"),
        Performative::Transfer(x) => format!("{x:?}"),
        Performative::Disposition(x) => format!("{x:?}"),
        Performative::Detach(x) => format!("{x:?}"),
        Performative::End(x) => format!("{x:?}"),
        Performative::Close(x) => format!("{x:?}"),
    }
}

fn sasl_body(f: &SaslFrame) -> String {
    match f {
        SaslFrame::Mechanisms(x) => format!("{x:?}"),
        SaslFrame::Init(x) => format!("{x:?}"),
        SaslFrame::Challenge(x) => format!("{x:?}"),
        SaslFrame::Response(x) => format!("{x:?}"),
        SaslFrame::Outcome(x) => format!("{x:?}"),
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
            sink.lines.into_iter().collect::<Vec<_>>()
        };
        assert_eq!(whole.len(), 4, "{whole:?}");
        assert_eq!(whole[0], "[c] -> AMQP header");
        assert!(
            whole[1].starts_with("[c] 0 -> @open Open {"),
            "{}",
            whole[1]
        );
        assert!(whole[1].contains("container_id: \"c1\""), "{}", whole[1]);
        assert_eq!(whole[2], "[c] 0 -> (empty frame)");
        assert_eq!(whole[3], "[c] 0 -> @close Close {}");
        for split in 1..wire.len() {
            let mut sink = LogSink {
                capture: true,
                ..Default::default()
            };
            let mut t = FrameTracer::default();
            t.feed("c", Dir::Out, &wire[..split], &mut sink);
            t.feed("c", Dir::Out, &wire[split..], &mut sink);
            assert_eq!(sink.lines.into_iter().collect::<Vec<_>>(), whole);
        }
    }

    #[test]
    fn sasl_credentials_never_reach_the_trace() {
        use crate::codec::frame::{SASL_HEADER, begin_frame, end_frame};
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
