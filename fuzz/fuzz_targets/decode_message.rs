//! Decodes arbitrary bytes as a message (the payload of a transfer).
//!
//! The first byte chooses how the rest is cut into parts, as if it had
//! arrived in several transfer frames: `Message::decode_parts` on the parts
//! must agree with `Message::decode` on the whole, error and offset
//! included. A message that decodes must re-encode to `encoded_len`
//! bytes that decode to a message which encodes to the same bytes
//! (compared as bytes, so that NaNs compare equal).
#![no_main]

use libfuzzer_sys::fuzz_target;
use muon::codec::message::Message;

#[path = "common.rs"]
mod common;
use common::hex;

fn encode(m: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    m.encode(&mut out);
    out
}

fuzz_target!(|data: &[u8]| {
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
        (Ok(a), Ok(b)) => assert_eq!(encode(a), encode(b), "parts and whole disagree"),
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "parts and whole fail differently on {}", hex(payload))
        }
        _ => panic!("whole {whole:?} but parts {split:?} for {}", hex(payload)),
    }

    if let Ok(m) = whole {
        let out = encode(&m);
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
            encode(&back),
            out,
            "re-encoding of {} is not stable",
            hex(payload)
        );
    }
});
