//! The checks of the codec fuzz targets, and helpers they share. Each
//! `check_*` function is one target's whole body: the fuzz targets call it
//! on libFuzzer's input, and `tests/fuzz_replay.rs` (part of `cargo test`)
//! calls it on every committed seed and corpus file, so an input committed
//! there is a regression test. A failed check is a panic.
#![allow(dead_code)]

use muon::codec::frame::{FRAME_TYPE_AMQP, FRAME_TYPE_SASL, parse_frame};
use muon::codec::message::Message;
use muon::codec::security::SaslFrame;
use muon::codec::transport::Performative;
use muon::codec::{Decoder, Value, encode_value, encoded_len};

/// Structural equality with floats compared by bits, so that a NaN equals
/// itself and a round trip must keep every bit.
pub fn same(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::Double(x), Value::Double(y)) => x.to_bits() == y.to_bits(),
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| same(k1, k2) && same(v1, v2))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.descriptor == y.descriptor
                && x.kind == y.kind
                && x.items.len() == y.items.len()
                && x.items.iter().zip(&y.items).all(|(p, q)| same(p, q))
        }
        (Value::Described(x), Value::Described(y)) => x.0 == y.0 && same(&x.1, &y.1),
        _ => a == b,
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `decode_value`: arbitrary bytes as one AMQP value. Nothing may panic;
/// whatever decodes must re-encode (with `encoded_len` telling the size)
/// to bytes that decode to the same value (floats compared by bits), and
/// encoding that again must give the same bytes.
pub fn check_decode_value(data: &[u8]) {
    if let Ok(v) = Decoder::decode_exact(data) {
        let mut out = Vec::new();
        encode_value(&v, &mut out);
        assert_eq!(out.len(), encoded_len(&v), "encoded_len of {v:?}");
        let back = match Decoder::decode_exact(&out) {
            Ok(back) => back,
            Err(e) => panic!(
                "re-encoding {} of input {} does not decode: {e}",
                hex(&out),
                hex(data)
            ),
        };
        assert!(same(&back, &v), "{v:?} came back as {back:?}");
        let mut again = Vec::new();
        encode_value(&back, &mut again);
        assert_eq!(out, again);
    }
    // A stream of values, as the composite decoders read them.
    let mut d = Decoder::new(data);
    while !d.is_empty() {
        let at = d.position();
        if d.read_value().is_err() {
            break;
        }
        assert!(d.position() > at);
    }
}

fn encode_message(m: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    m.encode(&mut out);
    out
}

/// `decode_message`: arbitrary bytes as a message (the payload of a
/// transfer). The first byte chooses how the rest is cut into parts, as
/// if it had arrived in several transfer frames: `Message::decode_parts`
/// on the parts must agree with `Message::decode` on the whole, error and
/// offset included. A message that decodes must re-encode to
/// `encoded_len` bytes that decode to a message which encodes to the same
/// bytes (compared as bytes, so that NaNs compare equal).
pub fn check_decode_message(data: &[u8]) {
    let Some((&cut, payload)) = data.split_first() else {
        return;
    };
    let whole = Message::decode(payload);

    // Cut the payload every `step` bytes (step 1..=16), or at one point.
    let mut parts: Vec<&[u8]> = Vec::new();
    if cut & 0x80 == 0 {
        let step = usize::from(cut & 0x0f) + 1;
        parts.extend(payload.chunks(step));
    } else {
        let at = usize::from(cut & 0x7f).min(payload.len());
        parts.push(&payload[..at]);
        parts.push(&[]);
        parts.push(&payload[at..]);
    }
    let split = Message::decode_parts(&parts);
    match (&whole, &split) {
        (Ok(a), Ok(b)) => assert_eq!(
            encode_message(a),
            encode_message(b),
            "parts and whole disagree"
        ),
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "parts and whole fail differently on {}", hex(payload))
        }
        _ => panic!("whole {whole:?} but parts {split:?} for {}", hex(payload)),
    }

    if let Ok(m) = whole {
        let out = encode_message(&m);
        assert_eq!(out.len(), m.encoded_len(), "encoded_len of {m:?}");
        let back = match Message::decode(&out) {
            Ok(back) => back,
            Err(e) => panic!(
                "re-encoding {} of {} does not decode: {e}",
                hex(&out),
                hex(payload)
            ),
        };
        assert_eq!(
            encode_message(&back),
            out,
            "re-encoding of {} is not stable",
            hex(payload)
        );
    }
}

fn check_performative(body: &[u8]) {
    let mut d = Decoder::new(body);
    let Ok(p) = Performative::decode(&mut d) else {
        return;
    };
    let payload = d.remaining();
    let mut out = Vec::new();
    p.encode(&mut out);
    let back = match Performative::decode(&mut Decoder::new(&out)) {
        Ok(back) => back,
        Err(e) => panic!(
            "re-encoded {} ({}) does not decode: {e}",
            p.name(),
            hex(&out)
        ),
    };
    let mut again = Vec::new();
    back.encode(&mut again);
    assert_eq!(out, again, "{} does not re-encode stably", p.name());
    if matches!(p, Performative::Transfer(_)) && !payload.is_empty() {
        let _ = Message::decode(payload);
    }
}

fn check_sasl(body: &[u8]) {
    let mut d = Decoder::new(body);
    let Ok(f) = SaslFrame::decode(&mut d) else {
        return;
    };
    let mut out = Vec::new();
    f.encode(&mut out);
    let back = match SaslFrame::decode(&mut Decoder::new(&out)) {
        Ok(back) => back,
        Err(e) => panic!(
            "re-encoded {} ({}) does not decode: {e}",
            f.name(),
            hex(&out)
        ),
    };
    assert_eq!(f, back);
}

/// `parse_frame`: arbitrary bytes as a stream of frames, with the
/// smallest max-frame-size (512, the limit before open and for SASL) and a
/// common one (65536). Every frame's body is decoded as what its type
/// says: an AMQP frame's as a performative (a transfer's payload then as a
/// message), a SASL frame's as a SASL frame body. Nothing may panic, and
/// whatever decodes must re-encode to bytes that decode to the same
/// encoding again.
pub fn check_parse_frame(data: &[u8]) {
    for max in [512u32, 65536] {
        let mut buf = data;
        while let Ok(Some((frame, used))) = parse_frame(buf, max) {
            assert!(used >= 8 && used <= buf.len() && used as u64 <= u64::from(max));
            match frame.frame_type {
                FRAME_TYPE_AMQP if !frame.body.is_empty() => check_performative(frame.body),
                FRAME_TYPE_SASL => check_sasl(frame.body),
                _ => {}
            }
            buf = &buf[used..];
        }
    }
}

/// A JMS selector (`muon::selector`): the input up to its first NUL byte
/// is the selector's text, the rest (if any) a message to match it
/// against. Parsing must not panic and, bounded as it is, must refuse or
/// accept; a refusal names a column within the text (or just past it); an
/// accepted selector must match, without panicking, the default message
/// and the message that follows when it decodes.
pub fn check_selector(data: &[u8]) {
    use muon::selector::Selector;
    let (text, rest) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    match Selector::parse(text) {
        Ok(sel) => {
            assert_eq!(sel.text(), text);
            let _ = sel.matches(&Message::default());
            if let Ok(m) = Message::decode(rest) {
                let _ = sel.matches(&m);
            }
        }
        Err(e) => assert!(
            e.column >= 1 && e.column <= text.chars().count() + 1,
            "column {} outside {text:?}",
            e.column
        ),
    }
}
