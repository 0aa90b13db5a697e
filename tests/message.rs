//! The message model (spec §3.2): round trips of whole messages, decoding of
//! hand-made bytes, section-order errors, and decoding from split payloads.

use std::borrow::Cow;

use muon::codec::message::{Body, Message};
use muon::codec::sections::{Header, Properties, SectionKind};
use muon::codec::value::{Array, Descriptor, TypeKind, Value};
use muon::codec::{Binary, DecodeErrorKind, Map, Symbol, Timestamp};
use proptest::prelude::*;

fn s(x: &str) -> Value<'static> {
    Value::String(Cow::Owned(x.to_owned()))
}
fn sym(x: &str) -> Value<'static> {
    Value::Symbol(Cow::Owned(x.to_owned()))
}
fn bin(x: &[u8]) -> Value<'static> {
    Value::Binary(Cow::Owned(x.to_vec()))
}

fn encode(m: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    m.encode(&mut out);
    assert_eq!(
        out.len(),
        m.encoded_len(),
        "encoded_len disagrees for {m:?}"
    );
    out
}

/// Decodes `bytes` whole and cut into two parts at every offset, and
/// checks that every way gives the same result.
fn decode_every_way(bytes: &[u8]) -> Result<Message, muon::codec::DecodeError> {
    let whole = Message::decode(bytes);
    for cut in 0..=bytes.len() {
        let (a, b) = bytes.split_at(cut);
        assert_eq!(Message::decode_parts(&[a, b]), whole, "cut at {cut}");
    }
    whole
}

// --- hand-made bytes ---------------------------------------------------------

#[test]
fn amqp_value_string_only() {
    let bytes = b"\x00\x53\x77\xa1\x05hello";
    let m = decode_every_way(bytes).unwrap();
    assert_eq!(m, Message::with_body(s("hello")));
    assert_eq!(encode(&m), bytes);
}

#[test]
fn empty_message_is_amqp_value_null() {
    assert_eq!(encode(&Message::default()), [0x00, 0x53, 0x77, 0x40]);
    assert_eq!(
        Message::decode(&[0x00, 0x53, 0x77, 0x40]),
        Ok(Message::default())
    );
    // No body section at all reads as the default body.
    assert_eq!(Message::decode(&[]), Ok(Message::default()));
    assert_eq!(Message::decode_parts(&[]), Ok(Message::default()));
    let only_header = [0x00, 0x53, 0x70, 0x45];
    let m = Message::decode(&only_header).unwrap();
    assert_eq!(m.header, Some(Header::default()));
    assert_eq!(m.body, Body::default());
}

#[test]
fn data_body_in_two_sections() {
    let bytes = b"\x00\x53\x75\xa0\x03abc\x00\x53\x75\xa0\x02de";
    let m = decode_every_way(bytes).unwrap();
    assert_eq!(m.body, Body::Data(vec![b"abc".to_vec(), b"de".to_vec()]));
    assert_eq!(encode(&m), bytes);
}

#[test]
fn sequence_body_in_two_sections() {
    let bytes = b"\x00\x53\x76\x45\x00\x53\x76\xc0\x03\x02\x41\x40";
    let m = decode_every_way(bytes).unwrap();
    assert_eq!(
        m.body,
        Body::Sequence(vec![vec![], vec![Value::Bool(true), Value::Null]])
    );
    assert_eq!(encode(&m), bytes);
}

#[test]
fn symbolic_descriptors_are_accepted() {
    let mut bytes = vec![0x00, 0xa3, 16];
    bytes.extend_from_slice(b"amqp:header:list");
    bytes.extend_from_slice(&[0xc0, 0x02, 0x01, 0x41]);
    bytes.extend_from_slice(&[0x00, 0xa3, 17]);
    bytes.extend_from_slice(b"amqp:amqp-value:*");
    bytes.extend_from_slice(&[0x55, 0xff]);
    let m = decode_every_way(&bytes).unwrap();
    assert!(m.header.unwrap().durable);
    assert_eq!(m.body, Body::Value(Value::Long(-1)));
}

#[test]
fn amqp_value_may_hold_a_described_value() {
    // A transaction controller's declare (§4.5.1) travels as amqp-value.
    let bytes = [0x00, 0x53, 0x77, 0x00, 0x53, 0x31, 0x45];
    let m = decode_every_way(&bytes).unwrap();
    assert_eq!(
        m.body,
        Body::Value(Value::Described(Box::new((
            Descriptor::Code(0x31),
            Value::List(vec![])
        ))))
    );
    assert_eq!(encode(&m), bytes);
}

#[test]
fn sections_out_of_order_are_refused() {
    // properties, then header.
    let bytes = [
        0x00, 0x53, 0x73, 0x45, 0x00, 0x53, 0x70, 0x45, 0x00, 0x53, 0x77, 0x40,
    ];
    let e = decode_every_way(&bytes).unwrap_err();
    assert_eq!(e.offset, 4);
    assert!(
        matches!(&e.kind, DecodeErrorKind::UnknownDescriptor(t) if t.contains("amqp:header:list") && t.contains("out of order")),
        "{e}"
    );
    // body, then application-properties.
    let bytes = [0x00, 0x53, 0x77, 0x40, 0x00, 0x53, 0x74, 0xc1, 0x01, 0x00];
    let e = decode_every_way(&bytes).unwrap_err();
    assert_eq!(e.offset, 4);
    assert!(
        matches!(e.kind, DecodeErrorKind::UnknownDescriptor(_)),
        "{e}"
    );
    // footer, then a body.
    let bytes = [0x00, 0x53, 0x78, 0xc1, 0x01, 0x00, 0x00, 0x53, 0x77, 0x40];
    assert!(matches!(
        decode_every_way(&bytes).unwrap_err().kind,
        DecodeErrorKind::UnknownDescriptor(_)
    ));
}

#[test]
fn repeated_sections_are_refused() {
    let bytes = [0x00, 0x53, 0x70, 0x45, 0x00, 0x53, 0x70, 0x45];
    let e = decode_every_way(&bytes).unwrap_err();
    assert_eq!(e.offset, 4);
    assert!(
        matches!(&e.kind, DecodeErrorKind::UnknownDescriptor(t) if t.contains("twice")),
        "{e}"
    );
    let bytes = [0x00, 0x53, 0x77, 0x40, 0x00, 0x53, 0x77, 0x40];
    assert_eq!(decode_every_way(&bytes).unwrap_err().offset, 4);
    let bytes = [
        0x00, 0x53, 0x78, 0xc1, 0x01, 0x00, 0x00, 0x53, 0x78, 0xc1, 0x01, 0x00,
    ];
    assert_eq!(decode_every_way(&bytes).unwrap_err().offset, 6);
}

#[test]
fn mixed_body_kinds_are_refused() {
    let cases: [&[u8]; 3] = [
        b"\x00\x53\x75\xa0\x01x\x00\x53\x77\x40",
        b"\x00\x53\x75\xa0\x01x\x00\x53\x76\x45",
        b"\x00\x53\x76\x45\x00\x53\x75\xa0\x01x",
    ];
    for bytes in cases {
        let e = decode_every_way(bytes).unwrap_err();
        assert!(
            matches!(&e.kind, DecodeErrorKind::UnknownDescriptor(t) if t.contains("body")),
            "{e}"
        );
        assert!(e.offset == 6 || e.offset == 4, "{e}");
    }
}

#[test]
fn unknown_section_descriptor_is_refused() {
    let bytes = [0x00, 0x53, 0x77, 0x40, 0x00, 0x53, 0x79, 0x40];
    let e = decode_every_way(&bytes).unwrap_err();
    assert_eq!(e.offset, 4);
    assert!(matches!(&e.kind, DecodeErrorKind::UnknownDescriptor(t) if t.contains("0x00000079")));
    // A plain value where a section belongs.
    let e = decode_every_way(&[0xa1, 0x01, b'x']).unwrap_err();
    assert!(matches!(
        e.kind,
        DecodeErrorKind::UnexpectedType { found: 0xa1, .. }
    ));
}

#[test]
fn application_properties_keys_must_be_strings() {
    // { :k => true } : a symbol key.
    let bytes = b"\x00\x53\x74\xc1\x05\x02\xa3\x01k\x41\x00\x53\x77\x40";
    let e = decode_every_way(bytes).unwrap_err();
    assert_eq!(e.offset, 6);
    assert!(matches!(
        e.kind,
        DecodeErrorKind::UnexpectedType { found: 0xa3, .. }
    ));
    // An int key, in the 32-bit map form.
    let bytes = b"\x00\x53\x74\xd1\x00\x00\x00\x07\x00\x00\x00\x02\x54\x01\x41";
    let e = decode_every_way(bytes).unwrap_err();
    assert_eq!(e.offset, 12);
    assert!(matches!(
        e.kind,
        DecodeErrorKind::UnexpectedType { found: 0x54, .. }
    ));
    // String keys are fine.
    let bytes = b"\x00\x53\x74\xc1\x05\x02\xa1\x01k\x41";
    let m = decode_every_way(bytes).unwrap();
    assert_eq!(
        m.application_properties,
        Some(Map(vec![(s("k"), Value::Bool(true))]))
    );
}

#[test]
fn sections_of_the_wrong_type_are_refused() {
    let cases: [&[u8]; 5] = [
        b"\x00\x53\x70\xa1\x00",     // header as a string
        b"\x00\x53\x72\x45",         // message-annotations as a list
        b"\x00\x53\x75\xa1\x01x",    // data as a string
        b"\x00\x53\x76\xc1\x01\x00", // amqp-sequence as a map
        b"\x00\x53\x74\x40",         // application-properties as null
    ];
    for bytes in cases {
        let e = decode_every_way(bytes).unwrap_err();
        assert!(
            matches!(e.kind, DecodeErrorKind::UnexpectedType { .. }),
            "{bytes:02x?}: {e}"
        );
        assert_eq!(e.offset, 3, "{bytes:02x?}");
    }
}

#[test]
fn truncated_messages_are_refused_not_panicked_on() {
    let m = rich_message();
    let bytes = encode(&m);
    for end in 0..bytes.len() {
        let whole = Message::decode(&bytes[..end]);
        // A cut between two sections is a shorter valid message; any other
        // cut is an error.
        if let Ok(short) = &whole {
            assert_ne!(short, &m);
        }
        let (a, b) = bytes[..end].split_at(end / 2);
        assert_eq!(Message::decode_parts(&[a, b]), whole);
    }
}

#[test]
fn accessors_create_sections() {
    let mut m = Message::with_body(s("hi"));
    m.header_mut().durable = true;
    m.properties_mut().subject = Some("greeting".into());
    m.application_properties_mut()
        .0
        .push((s("n"), Value::Int(1)));
    assert_eq!(m.header.as_ref().unwrap().priority, 4);
    let bytes = encode(&m);
    assert_eq!(decode_every_way(&bytes), Ok(m));
}

fn rich_message() -> Message {
    Message {
        header: Some(Header {
            durable: true,
            priority: 9,
            ttl: Some(60_000),
            first_acquirer: true,
            delivery_count: 3,
        }),
        delivery_annotations: Some(Map(vec![(sym("x-opt-hop"), Value::Uint(1))])),
        message_annotations: Some(Map(vec![
            (sym("x-opt-partition"), s("p0")),
            (sym("x-opt-big"), bin(&[7; 300])),
        ])),
        properties: Some(Properties {
            message_id: Some(Value::Uuid([0xab; 16])),
            user_id: Some(Binary(b"guest".to_vec())),
            to: Some("queue/a".into()),
            subject: Some("subject".into()),
            reply_to: Some("replies".into()),
            correlation_id: Some(Value::Ulong(42)),
            content_type: Some(Symbol::from("text/plain")),
            content_encoding: Some(Symbol::from("gzip")),
            absolute_expiry_time: Some(Timestamp(1_700_000_000_000)),
            creation_time: Some(Timestamp(-1)),
            group_id: Some("g".into()),
            group_sequence: Some(7),
            reply_to_group_id: Some("rg".into()),
        }),
        application_properties: Some(Map(vec![
            (s("count"), Value::Long(12)),
            (s("name"), s("value")),
        ])),
        body: Body::Data(vec![vec![1; 10], vec![2; 400], vec![], vec![3; 5]]),
        footer: Some(Map(vec![(sym("sig"), bin(b"xyz"))])),
    }
}

#[test]
fn rich_message_round_trips_at_every_cut() {
    let m = rich_message();
    let bytes = encode(&m);
    assert_eq!(decode_every_way(&bytes), Ok(m));
}

#[test]
fn large_sections_use_the_long_forms() {
    let many: Vec<_> = (0..300)
        .map(|i| (s(&format!("k{i}")), Value::Int(i)))
        .collect();
    let m = Message {
        application_properties: Some(Map(many)),
        body: Body::Sequence(vec![(0..300).map(Value::Uint).collect()]),
        properties: Some(Properties {
            to: Some("t".repeat(300)),
            ..Properties::default()
        }),
        ..Message::default()
    };
    let bytes = encode(&m);
    assert_eq!(Message::decode(&bytes), Ok(m.clone()));
    // Three parts, cut inside the long sections.
    let (a, rest) = bytes.split_at(100);
    let (b, c) = rest.split_at(rest.len() / 2);
    assert_eq!(Message::decode_parts(&[a, &[], b, c]), Ok(m));
}

#[test]
fn a_split_data_body_is_gathered_directly() {
    let payload: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    let m = Message {
        body: Body::Data(vec![payload]),
        ..Message::default()
    };
    let bytes = encode(&m);
    let frames: Vec<&[u8]> = bytes.chunks(16_384).collect();
    assert_eq!(Message::decode_parts(&frames), Ok(m));
}

#[test]
fn split_amqp_value_binary_and_string_bodies() {
    let text: String = "héllo wörld ✓ ".repeat(40);
    for m in [
        Message::with_body(bin(&[9; 700])),
        Message::with_body(s(&text)),
    ] {
        let bytes = encode(&m);
        assert_eq!(decode_every_way(&bytes), Ok(m));
    }
    // A string that is not UTF-8 fails at the same offset however it is cut.
    let mut bytes = encode(&Message::with_body(s(&text)));
    let bad = bytes.iter().rposition(|&b| b == b'h').unwrap();
    bytes[bad] = 0xff;
    let e = decode_every_way(&bytes).unwrap_err();
    assert_eq!((e.offset, e.kind), (bad, DecodeErrorKind::InvalidUtf8));
}

#[test]
fn empty_body_lists_encode_one_empty_section() {
    let m = Message {
        body: Body::Data(vec![]),
        ..Message::default()
    };
    assert_eq!(encode(&m), [0x00, 0x53, 0x75, 0xa0, 0x00]);
    let m = Message {
        body: Body::Sequence(vec![]),
        ..Message::default()
    };
    assert_eq!(encode(&m), [0x00, 0x53, 0x76, 0x45]);
}

// --- properties ---------------------------------------------------------------

fn ascii(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(0x20u8..0x7f, 0..max).prop_map(|b| String::from_utf8(b).unwrap())
}

fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), 0..max).prop_map(|c| c.into_iter().collect())
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

/// Values without compounds or descriptors (application-properties values).
fn simple_value() -> impl Strategy<Value = Value<'static>> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u8>().prop_map(Value::Ubyte),
        any::<u16>().prop_map(Value::Ushort),
        any::<u32>().prop_map(Value::Uint),
        any::<u64>().prop_map(Value::Ulong),
        any::<i8>().prop_map(Value::Byte),
        any::<i16>().prop_map(Value::Short),
        any::<i32>().prop_map(Value::Int),
        any::<i64>().prop_map(Value::Long),
        (-1.0e9f32..1.0e9).prop_map(Value::Float),
        (-1.0e300f64..1.0e300).prop_map(Value::Double),
        any::<[u8; 4]>().prop_map(Value::Decimal32),
        any::<[u8; 8]>().prop_map(Value::Decimal64),
        any::<[u8; 16]>().prop_map(Value::Decimal128),
        any::<char>().prop_map(Value::Char),
        any::<i64>().prop_map(Value::Timestamp),
        any::<[u8; 16]>().prop_map(Value::Uuid),
        bytes(300).prop_map(|b| Value::Binary(Cow::Owned(b))),
        text(40).prop_map(|t| Value::String(Cow::Owned(t))),
        ascii(40).prop_map(|t| Value::Symbol(Cow::Owned(t))),
    ]
}

fn descriptor() -> impl Strategy<Value = Descriptor<'static>> {
    prop_oneof![
        any::<u64>().prop_map(Descriptor::Code),
        ascii(20).prop_map(|t| Descriptor::Symbol(Cow::Owned(t))),
    ]
}

fn array() -> impl Strategy<Value = Value<'static>> {
    prop_oneof![
        proptest::collection::vec(any::<i32>().prop_map(Value::Int), 0..20)
            .prop_map(|items| (TypeKind::Int, items)),
        proptest::collection::vec(any::<u64>().prop_map(Value::Ulong), 0..20)
            .prop_map(|items| (TypeKind::Ulong, items)),
        proptest::collection::vec(ascii(10).prop_map(|t| Value::Symbol(Cow::Owned(t))), 0..10)
            .prop_map(|items| (TypeKind::Symbol, items)),
    ]
    .prop_map(|(kind, items)| {
        Value::Array(Array {
            descriptor: None,
            kind,
            items,
        })
    })
}

/// Any value, compounds and described values included.
fn value() -> impl Strategy<Value = Value<'static>> {
    prop_oneof![simple_value(), array()].prop_recursive(3, 40, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            proptest::collection::vec((inner.clone(), inner.clone()), 0..4).prop_map(Value::Map),
            (descriptor(), inner).prop_map(|(d, v)| Value::Described(Box::new((d, v)))),
        ]
    })
}

fn message_id() -> impl Strategy<Value = Value<'static>> {
    prop_oneof![
        any::<u64>().prop_map(Value::Ulong),
        any::<[u8; 16]>().prop_map(Value::Uuid),
        bytes(40).prop_map(|b| Value::Binary(Cow::Owned(b))),
        text(40).prop_map(|t| Value::String(Cow::Owned(t))),
    ]
}

fn annotations() -> impl Strategy<Value = Map> {
    proptest::collection::vec((ascii(20).prop_map(|t| sym(&t)), value()), 0..5).prop_map(Map)
}

fn header() -> impl Strategy<Value = Header> {
    (
        any::<bool>(),
        any::<u8>(),
        proptest::option::of(any::<u32>()),
        any::<bool>(),
        any::<u32>(),
    )
        .prop_map(
            |(durable, priority, ttl, first_acquirer, delivery_count)| Header {
                durable,
                priority,
                ttl,
                first_acquirer,
                delivery_count,
            },
        )
}

fn properties() -> impl Strategy<Value = Properties> {
    use proptest::option::of;
    (
        (
            of(message_id()),
            of(bytes(20).prop_map(Binary)),
            of(text(20)),
            of(text(20)),
            of(text(20)),
            of(message_id()),
            of(ascii(20).prop_map(Symbol)),
        ),
        (
            of(ascii(20).prop_map(Symbol)),
            of(any::<i64>().prop_map(Timestamp)),
            of(any::<i64>().prop_map(Timestamp)),
            of(text(20)),
            of(any::<u32>()),
            of(text(20)),
        ),
    )
        .prop_map(
            |((mid, uid, to, subj, rt, cid, ct), (ce, aet, ctime, gid, gseq, rtg))| Properties {
                message_id: mid,
                user_id: uid,
                to,
                subject: subj,
                reply_to: rt,
                correlation_id: cid,
                content_type: ct,
                content_encoding: ce,
                absolute_expiry_time: aet,
                creation_time: ctime,
                group_id: gid,
                group_sequence: gseq,
                reply_to_group_id: rtg,
            },
        )
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        value().prop_map(Body::Value),
        proptest::collection::vec(bytes(600), 1..4).prop_map(Body::Data),
        proptest::collection::vec(proptest::collection::vec(value(), 0..4), 1..4)
            .prop_map(Body::Sequence),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    use proptest::option::of;
    (
        of(header()),
        of(annotations()),
        of(annotations()),
        of(properties()),
        of(
            proptest::collection::vec((text(20).prop_map(|t| s(&t)), simple_value()), 0..5)
                .prop_map(Map),
        ),
        body(),
        of(annotations()),
    )
        .prop_map(|(header, da, ma, properties, ap, body, footer)| Message {
            header,
            delivery_annotations: da,
            message_annotations: ma,
            properties,
            application_properties: ap,
            body,
            footer,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn messages_round_trip(m in message()) {
        use muon::codec::Encode;
        if let Some(h) = &m.header {
            let mut out = Vec::new();
            h.encode(&mut out);
            prop_assert_eq!(out.len(), h.encoded_len());
        }
        if let Some(p) = &m.properties {
            let mut out = Vec::new();
            p.encode(&mut out);
            prop_assert_eq!(out.len(), p.encoded_len());
        }
        let bytes = encode(&m);
        prop_assert_eq!(Message::decode(&bytes), Ok(m));
    }

    #[test]
    fn messages_round_trip_from_parts(m in message(), cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..5)) {
        let bytes = encode(&m);
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        at.sort_unstable();
        let mut parts = Vec::new();
        let mut prev = 0;
        for a in at {
            parts.push(&bytes[prev..a]);
            prev = a;
        }
        parts.push(&bytes[prev..]);
        prop_assert_eq!(Message::decode_parts(&parts), Ok(m));
    }

    #[test]
    fn damaged_messages_never_panic(m in message(), at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let mut bytes = encode(&m);
        let i = at.index(bytes.len());
        bytes[i] = byte;
        let whole = Message::decode(&bytes);
        let (a, b) = bytes.split_at(cut.index(bytes.len() + 1));
        // Compared as text: damage may turn a float into a NaN.
        prop_assert_eq!(format!("{:?}", Message::decode_parts(&[a, b])), format!("{whole:?}"));
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let whole = Message::decode(&bytes);
        let (a, b) = bytes.split_at(bytes.len() / 3);
        prop_assert_eq!(format!("{:?}", Message::decode_parts(&[a, b])), format!("{whole:?}"));
    }
}

#[test]
fn section_kinds_know_their_descriptors() {
    for k in SectionKind::ALL {
        assert_eq!(
            SectionKind::from_descriptor(&Descriptor::Code(k.code())),
            Some(k)
        );
        assert_eq!(
            SectionKind::from_descriptor(&Descriptor::Symbol(Cow::Borrowed(k.name()))),
            Some(k)
        );
    }
    assert_eq!(SectionKind::from_descriptor(&Descriptor::Code(0x10)), None);
}
