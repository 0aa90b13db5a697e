//! Decodes arbitrary bytes as one AMQP value. Nothing may panic; whatever
//! decodes must re-encode (with `encoded_len` telling the size) to bytes
//! that decode to the same value (floats compared by bits), and encoding
//! that again must give the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use muon::codec::{Decoder, encode_value, encoded_len};

#[path = "common.rs"]
mod common;
use common::{hex, same};

fuzz_target!(|data: &[u8]| {
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
});
