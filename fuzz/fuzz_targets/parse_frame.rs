//! Reads arbitrary bytes as a stream of frames, with the smallest
//! max-frame-size (512, the limit before open and for SASL) and a common
//! one (65536). Every frame's body is decoded as what its type says: an
//! AMQP frame's as a performative (a transfer's payload then as a
//! message), a SASL frame's as a SASL frame body. Nothing may panic, and
//! whatever decodes must re-encode to bytes that decode to the same
//! encoding again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use muon::codec::Decoder;
use muon::codec::frame::{FRAME_TYPE_AMQP, FRAME_TYPE_SASL, parse_frame};
use muon::codec::message::Message;
use muon::codec::security::SaslFrame;
use muon::codec::transport::Performative;

#[path = "common.rs"]
mod common;
use common::hex;

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

fuzz_target!(|data: &[u8]| {
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
});
