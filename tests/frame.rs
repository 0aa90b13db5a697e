//! Protocol headers and frames (spec §2.2, §2.3): parsing, incremental
//! input, rejection of bad headers, and writing.

use muon::codec::frame::{
    AMQP_HEADER, FRAME_TYPE_AMQP, FRAME_TYPE_SASL, Frame, FrameError, MIN_MAX_FRAME_SIZE,
    ProtocolHeader, SASL_HEADER, TLS_HEADER, begin_frame, end_frame, parse_frame,
    write_empty_frame,
};
use proptest::prelude::*;

#[test]
fn protocol_headers_parse() {
    assert_eq!(
        ProtocolHeader::parse(b"AMQP\x00\x01\x00\x00"),
        Ok(ProtocolHeader::Amqp)
    );
    assert_eq!(
        ProtocolHeader::parse(b"AMQP\x03\x01\x00\x00"),
        Ok(ProtocolHeader::Sasl)
    );
    assert_eq!(
        ProtocolHeader::parse(b"AMQP\x02\x01\x00\x00"),
        Ok(ProtocolHeader::Tls)
    );
    for h in [
        ProtocolHeader::Amqp,
        ProtocolHeader::Sasl,
        ProtocolHeader::Tls,
    ] {
        assert_eq!(ProtocolHeader::parse(h.as_bytes()), Ok(h));
    }
    assert_eq!(ProtocolHeader::Amqp.as_bytes(), &AMQP_HEADER);
    assert_eq!(ProtocolHeader::Sasl.as_bytes(), &SASL_HEADER);
    assert_eq!(ProtocolHeader::Tls.as_bytes(), &TLS_HEADER);
    assert_eq!(ProtocolHeader::Sasl.protocol_id(), 3);
    // Bytes after the header (pipelined frames) are left alone.
    let mut more = AMQP_HEADER.to_vec();
    more.extend_from_slice(&[0, 0, 0, 8, 2, 0, 0, 0]);
    assert_eq!(ProtocolHeader::parse(&more), Ok(ProtocolHeader::Amqp));
}

#[test]
fn bad_protocol_headers_are_refused() {
    for bad in [
        &b"HTTP/1.1"[..],
        b"AMQP\x01\x01\x00\x00", // protocol id 1
        b"AMQP\x00\x00\x09\x01", // AMQP 0-9-1
        b"AMQP\x00\x01\x00\x01", // revision 1
        b"AMQP\x00\x02\x00\x00", // version 2
        b"amqp\x00\x01\x00\x00",
    ] {
        let mut want = [0u8; 8];
        want.copy_from_slice(bad);
        assert_eq!(
            ProtocolHeader::parse(bad),
            Err(FrameError::BadProtocolHeader(want))
        );
    }
    // Too short: the missing bytes show as zero.
    assert_eq!(
        ProtocolHeader::parse(b"AMQP"),
        Err(FrameError::BadProtocolHeader(*b"AMQP\0\0\0\0"))
    );
    let msg = ProtocolHeader::parse(b"HTTP/1.1").unwrap_err().to_string();
    assert!(msg.contains("48 54 54 50 2f 31 2e 31"), "{msg}");
    assert!(msg.contains("HTTP/1.1"), "{msg}");
}

fn frame_bytes(size: u32, doff: u8, ty: u8, channel: u16, rest: &[u8]) -> Vec<u8> {
    let mut v = size.to_be_bytes().to_vec();
    v.push(doff);
    v.push(ty);
    v.extend_from_slice(&channel.to_be_bytes());
    v.extend_from_slice(rest);
    v
}

#[test]
fn plain_frame() {
    let bytes = frame_bytes(11, 2, FRAME_TYPE_AMQP, 7, b"abc");
    let (f, n) = parse_frame(&bytes, 512).unwrap().unwrap();
    assert_eq!(n, 11);
    assert_eq!(
        f,
        Frame {
            frame_type: FRAME_TYPE_AMQP,
            channel: 7,
            body: b"abc"
        }
    );
    assert!(!f.is_heartbeat());
}

#[test]
fn extended_header_is_skipped() {
    // doff 3: four bytes of extended header before the body.
    let bytes = frame_bytes(16, 3, FRAME_TYPE_AMQP, 1, b"XXXXbody");
    // The next frame's bytes follow; only the first is consumed.
    let mut buf = bytes.clone();
    buf.extend_from_slice(&frame_bytes(8, 2, 0, 0, b""));
    let (f, n) = parse_frame(&buf, 512).unwrap().unwrap();
    assert_eq!(n, 16);
    assert_eq!(f.body, b"body");
    assert_eq!(f.channel, 1);
}

#[test]
fn empty_frame_is_a_heartbeat() {
    let mut out = Vec::new();
    write_empty_frame(&mut out);
    assert_eq!(out, [0, 0, 0, 8, 2, 0, 0, 0]);
    let (f, n) = parse_frame(&out, MIN_MAX_FRAME_SIZE).unwrap().unwrap();
    assert_eq!(n, 8);
    assert!(f.is_heartbeat());
    assert_eq!(f.channel, 0);
    assert_eq!(f.frame_type, FRAME_TYPE_AMQP);
    // An extended header and nothing else is empty too.
    let bytes = frame_bytes(12, 3, FRAME_TYPE_AMQP, 0, b"\0\0\0\0");
    let (f, _) = parse_frame(&bytes, 512).unwrap().unwrap();
    assert!(f.is_heartbeat());
}

#[test]
fn frame_arriving_one_byte_at_a_time() {
    let bytes = frame_bytes(13, 2, FRAME_TYPE_SASL, 0, b"hello");
    for end in 0..bytes.len() {
        assert_eq!(parse_frame(&bytes[..end], 512), Ok(None), "prefix {end}");
    }
    let (f, n) = parse_frame(&bytes, 512).unwrap().unwrap();
    assert_eq!(
        (f.frame_type, f.body, n),
        (FRAME_TYPE_SASL, &b"hello"[..], 13)
    );
}

#[test]
fn oversize_frame_is_refused_from_its_size_alone() {
    let size = 70_000u32;
    let first4 = size.to_be_bytes();
    assert_eq!(parse_frame(&first4[..3], 65_536), Ok(None));
    assert_eq!(
        parse_frame(&first4, 65_536),
        Err(FrameError::TooLarge { size, max: 65_536 })
    );
    // Exactly the maximum is fine.
    let bytes = frame_bytes(512, 2, 0, 0, &[0; 504]);
    assert!(parse_frame(&bytes, 512).unwrap().is_some());
    assert!(matches!(
        parse_frame(&bytes, 511),
        Err(FrameError::TooLarge {
            size: 512,
            max: 511
        })
    ));
}

#[test]
fn size_below_eight_is_refused() {
    for size in 0..8u32 {
        assert_eq!(
            parse_frame(&size.to_be_bytes(), 512),
            Err(FrameError::InvalidSize { size })
        );
    }
}

#[test]
fn bad_data_offsets_are_refused() {
    for doff in [0u8, 1] {
        let bytes = frame_bytes(8, doff, 0, 0, b"");
        assert_eq!(
            parse_frame(&bytes[..5], 512),
            Err(FrameError::InvalidDataOffset { doff, size: 8 })
        );
    }
    // 4 * 4 = 16 > 12: the data offset points past the frame.
    let bytes = frame_bytes(12, 4, 0, 0, b"\0\0\0\0");
    assert_eq!(
        parse_frame(&bytes, 512),
        Err(FrameError::InvalidDataOffset { doff: 4, size: 12 })
    );
    // 255 words is past any frame of 512 bytes.
    let bytes = frame_bytes(512, 255, 0, 0, b"");
    assert_eq!(
        parse_frame(&bytes, 512),
        Err(FrameError::InvalidDataOffset {
            doff: 255,
            size: 512
        })
    );
}

#[test]
fn unknown_frame_type_is_refused() {
    for ty in [2u8, 0x41, 0xff] {
        let bytes = frame_bytes(8, 2, ty, 0, b"");
        assert_eq!(
            parse_frame(&bytes[..6], 512),
            Err(FrameError::UnknownType { frame_type: ty })
        );
    }
}

#[test]
fn errors_say_what_is_wrong() {
    let e = FrameError::TooLarge {
        size: 70000,
        max: 512,
    }
    .to_string();
    assert!(e.contains("70000") && e.contains("512"), "{e}");
    let e = FrameError::InvalidDataOffset { doff: 1, size: 8 }.to_string();
    assert!(e.contains("data offset 1"), "{e}");
    let e = FrameError::UnknownType { frame_type: 7 }.to_string();
    assert!(e.contains("0x07"), "{e}");
}

#[test]
fn begin_end_frame_round_trip() {
    let mut out = b"earlier output".to_vec();
    let before = out.len();
    let mark = begin_frame(&mut out, FRAME_TYPE_AMQP, 0x1234);
    assert_eq!(mark.start(), before);
    out.extend_from_slice(b"performative+payload");
    assert_eq!(mark.frame_len(&out), 8 + 20);
    end_frame(&mut out, mark);
    assert_eq!(&out[before..before + 8], &[0, 0, 0, 28, 2, 0, 0x12, 0x34]);
    let (f, n) = parse_frame(&out[before..], 512).unwrap().unwrap();
    assert_eq!(n, 28);
    assert_eq!(f.channel, 0x1234);
    assert_eq!(f.body, b"performative+payload");
    // Two frames back to back, then a heartbeat.
    let mark = begin_frame(&mut out, FRAME_TYPE_SASL, 0);
    out.push(0x45);
    end_frame(&mut out, mark);
    write_empty_frame(&mut out);
    let mut rest = &out[before..];
    let mut seen = Vec::new();
    while let Some((f, n)) = parse_frame(rest, 512).unwrap() {
        seen.push((f.frame_type, f.body.len()));
        rest = &rest[n..];
    }
    assert!(rest.is_empty());
    assert_eq!(seen, [(0, 20), (1, 1), (0, 0)]);
}

#[test]
fn end_frame_after_truncation_writes_nothing() {
    let mut out = Vec::new();
    let mark = begin_frame(&mut out, 0, 0);
    out.clear();
    end_frame(&mut out, mark);
    assert!(out.is_empty());
}

proptest! {
    #[test]
    fn frames_round_trip(
        prefix in proptest::collection::vec(any::<u8>(), 0..16),
        frame_type in prop_oneof![Just(FRAME_TYPE_AMQP), Just(FRAME_TYPE_SASL)],
        channel in any::<u16>(),
        body in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut out = prefix.clone();
        let mark = begin_frame(&mut out, frame_type, channel);
        out.extend_from_slice(&body);
        end_frame(&mut out, mark);
        out.extend_from_slice(b"next");
        let (f, n) = parse_frame(&out[prefix.len()..], u32::MAX).unwrap().unwrap();
        prop_assert_eq!(n, 8 + body.len());
        prop_assert_eq!(f.frame_type, frame_type);
        prop_assert_eq!(f.channel, channel);
        prop_assert_eq!(f.body, &body[..]);
        prop_assert_eq!(f.is_heartbeat(), body.is_empty());
        // Any shorter prefix is incomplete, never an error.
        let frame = &out[prefix.len()..prefix.len() + n];
        let cut = (body.len() * 7919) % n;
        prop_assert_eq!(parse_frame(&frame[..cut], u32::MAX), Ok(None));
    }

    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64), max in any::<u32>()) {
        if let Ok(Some((f, n))) = parse_frame(&bytes, max) {
            prop_assert!(n >= 8 && n <= bytes.len());
            prop_assert!(f.body.len() <= n - 8);
        }
    }
}
