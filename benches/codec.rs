//! Codec throughput: encode and decode of a typical message, of a
//! transfer performative held as a `Value`, and of the same transfer as
//! the typed `Performative`. Each iteration is one message or one
//! performative, so criterion's `thrpt` line reads as messages (or
//! performatives) per second.
//!
//! Run with `cargo bench --bench codec` (on a shared machine, under
//! `nice`). Absolute figures depend on the machine; DESIGN.md asks for
//! them as a ratio to Qpid Proton measured in the same run, which this
//! bench does not do.

use std::borrow::Cow;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use muon::codec::message::{Body, Message};
use muon::codec::sections::Properties;
use muon::codec::transport::{Performative, Transfer};
use muon::codec::{Decoder, DeliveryTag, Descriptor, Map, Symbol, Timestamp, Value, encode_value};

/// Properties with message-id, to, reply-to, correlation-id, content-type
/// and creation-time; three application properties; a 100-byte `data`
/// body.
fn typical_message() -> Message {
    Message {
        properties: Some(Properties {
            message_id: Some(Value::String(Cow::Borrowed("ID:muon-bench-0001:1:1:1"))),
            to: Some("queue://orders".into()),
            reply_to: Some("queue://replies".into()),
            correlation_id: Some(Value::Ulong(424_242)),
            content_type: Some(Symbol::new("application/octet-stream")),
            creation_time: Some(Timestamp(1_700_000_000_000)),
            ..Properties::default()
        }),
        application_properties: Some(Map(vec![
            (Value::str("customer"), Value::str("acme")),
            (Value::str("priority-class"), Value::Int(3)),
            (Value::str("retry"), Value::Bool(false)),
        ])),
        body: Body::Data(vec![(0..100u8).collect()]),
        ..Message::default()
    }
}

/// A transfer as a plain value: the described list a first transfer frame
/// carries (handle, delivery-id, 8-byte tag, message-format, settled;
/// `more` is false, its default, so it is left out as muon's typed
/// encoder leaves it out).
fn transfer_value() -> Value<'static> {
    Value::Described(Box::new((
        Descriptor::Code(0x14),
        Value::List(vec![
            Value::Uint(1),
            Value::Uint(70_000),
            Value::Binary(Cow::Owned(70_000u64.to_be_bytes().to_vec())),
            Value::Uint(0),
            Value::Bool(false),
        ]),
    )))
}

fn transfer_performative() -> Performative {
    Performative::Transfer(Transfer {
        handle: 1,
        delivery_id: Some(70_000),
        delivery_tag: Some(DeliveryTag::from_u64(70_000)),
        message_format: Some(0),
        settled: Some(false),
        more: false,
        rcv_settle_mode: None,
        state: None,
        resume: false,
        aborted: false,
        batchable: false,
    })
}

fn message(c: &mut Criterion) {
    let m = typical_message();
    let mut bytes = Vec::new();
    m.encode(&mut bytes);
    assert_eq!(Message::decode(&bytes).as_ref(), Ok(&m));

    let mut g = c.benchmark_group("message");
    g.throughput(Throughput::Elements(1));
    let mut out = Vec::with_capacity(bytes.len());
    g.bench_function(format!("encode ({} bytes)", bytes.len()), |b| {
        b.iter(|| {
            out.clear();
            black_box(&m).encode(&mut out);
            black_box(out.len())
        })
    });
    g.bench_function(format!("decode ({} bytes)", bytes.len()), |b| {
        b.iter(|| Message::decode(black_box(&bytes)).expect("decodes"))
    });
    g.finish();
}

fn transfer(c: &mut Criterion) {
    let v = transfer_value();
    let mut bytes = Vec::new();
    encode_value(&v, &mut bytes);
    assert_eq!(Decoder::decode_exact(&bytes).as_ref(), Ok(&v));
    let p = transfer_performative();
    let mut typed = Vec::new();
    p.encode(&mut typed);
    assert_eq!(
        typed, bytes,
        "the Value and the typed transfer encode alike"
    );

    let mut g = c.benchmark_group("transfer");
    g.throughput(Throughput::Elements(1));
    let mut out = Vec::with_capacity(bytes.len());
    g.bench_function(format!("Value encode ({} bytes)", bytes.len()), |b| {
        b.iter(|| {
            out.clear();
            encode_value(black_box(&v), &mut out);
            black_box(out.len())
        })
    });
    g.bench_function(format!("Value decode ({} bytes)", bytes.len()), |b| {
        b.iter(|| Decoder::decode_exact(black_box(&bytes)).expect("decodes"))
    });
    g.bench_function("Performative encode", |b| {
        b.iter(|| {
            out.clear();
            black_box(&p).encode(&mut out);
            black_box(out.len())
        })
    });
    g.bench_function("Performative decode", |b| {
        b.iter(|| Performative::decode(&mut Decoder::new(black_box(&bytes))).expect("decodes"))
    });
    g.finish();
}

criterion_group!(benches, message, transfer);
criterion_main!(benches);
