//! Round trips of the value codec.
//!
//! Properties, over generated values of every `Value` variant (nested
//! lists, maps, arrays of every kind, described values and described
//! arrays, bounded depth):
//!
//! - `decode_exact(encode(v))` gives back `v`;
//! - `encoded_len(v)` is the number of bytes `encode_value` wrote;
//! - the encoding is the smallest one: its length equals `min_len(v)`, an
//!   independent computation from the spec's encoding table (below), and the
//!   decoded value is the same, so no encoding of `v` can be shorter;
//! - the widest valid encoding of `v` (`encode_wide`: fixed-width integers,
//!   `bool` as 0x56, str32/vbin32/sym32, list32 even for the empty list,
//!   map32, array32 with wide element constructors, 8-byte and sym32
//!   descriptors) decodes to the same `v`.
//!
//! Floats: values are compared with [`same`], which compares `float` and
//! `double` by their bits. NaNs (quiet and signalling, any payload) are
//! therefore generated and must survive the round trip bit for bit, and
//! `0.0` and `-0.0` are told apart. `Value`'s own `PartialEq` is not used
//! for that reason.
//!
//! Not generated: arrays whose `kind` is `TypeKind::Described` (no wire
//! form; a described array carries its descriptor in `Array::descriptor`),
//! and arrays holding an element of another type than their `kind`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::borrow::Cow;
use std::cell::Cell;

use muon::codec::decode::{Decoder, MAX_DEPTH};
use muon::codec::{Array, Descriptor, TypeKind, Value, encode_value, encoded_len};
use proptest::collection::vec;
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// An allocator that counts this thread's allocations, to measure how much
// work an encoding does without timing it.

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: defers every call to `System`, adding only a thread-local
// counter update that neither allocates nor unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns its result with the number of allocations it made.
fn allocations<T>(f: impl FnOnce() -> T) -> (T, usize) {
    ALLOCATIONS.with(|n| n.set(0));
    let r = f();
    (r, ALLOCATIONS.with(Cell::get))
}

// ---------------------------------------------------------------------------
// Comparison

/// Structural equality with floats compared by bits.
fn same(a: &Value<'_>, b: &Value<'_>) -> bool {
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

fn encode(v: &Value<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    encode_value(v, &mut out);
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ---------------------------------------------------------------------------
// The smallest encoded length, computed from the encoding table of the spec
// (types.bare.xml) without the encoder's help.

fn var_len(n: usize) -> usize {
    if n <= 255 { 2 + n } else { 5 + n }
}

/// A list, map or array: 8-bit size and count when the size (count byte
/// plus content) and the count both fit a byte.
fn compound_len(content: usize, count: usize) -> usize {
    if content < 255 && count <= 255 {
        3 + content
    } else {
        9 + content
    }
}

fn descriptor_min_len(d: &Descriptor<'_>) -> usize {
    1 + match d {
        Descriptor::Code(0) => 1,
        Descriptor::Code(1..=255) => 2,
        Descriptor::Code(_) => 9,
        Descriptor::Symbol(s) => var_len(s.len()),
    }
}

fn min_len(v: &Value<'_>) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 1,
        Value::Ubyte(_) | Value::Byte(_) => 2,
        Value::Ushort(_) | Value::Short(_) => 3,
        Value::Uint(0) | Value::Ulong(0) => 1,
        Value::Uint(1..=255) | Value::Ulong(1..=255) => 2,
        Value::Uint(_) => 5,
        Value::Ulong(_) => 9,
        Value::Int(n) => {
            if (-128..=127).contains(n) {
                2
            } else {
                5
            }
        }
        Value::Long(n) => {
            if (-128..=127).contains(n) {
                2
            } else {
                9
            }
        }
        Value::Float(_) | Value::Decimal32(_) | Value::Char(_) => 5,
        Value::Double(_) | Value::Decimal64(_) | Value::Timestamp(_) => 9,
        Value::Decimal128(_) | Value::Uuid(_) => 17,
        Value::Binary(b) => var_len(b.len()),
        Value::String(s) | Value::Symbol(s) => var_len(s.len()),
        Value::List(items) if items.is_empty() => 1,
        Value::List(items) => compound_len(items.iter().map(min_len).sum(), items.len()),
        Value::Map(pairs) => compound_len(
            pairs.iter().map(|(k, v)| min_len(k) + min_len(v)).sum(),
            pairs.len() * 2,
        ),
        Value::Array(a) => {
            let content =
                a.descriptor.as_ref().map_or(0, descriptor_min_len) + 1 + array_elements_min_len(a);
            compound_len(content, a.items.len())
        }
        Value::Described(b) => descriptor_min_len(&b.0) + min_len(&b.1),
    }
}

/// Content bytes and element count of a compound value.
fn compound_parts(v: &Value<'_>) -> (usize, usize) {
    match v {
        Value::List(items) => (items.iter().map(min_len).sum(), items.len()),
        Value::Map(pairs) => (
            pairs.iter().map(|(k, v)| min_len(k) + min_len(v)).sum(),
            pairs.len() * 2,
        ),
        Value::Array(a) => (
            a.descriptor.as_ref().map_or(0, descriptor_min_len) + 1 + array_elements_min_len(a),
            a.items.len(),
        ),
        other => panic!("not a compound: {other:?}"),
    }
}

/// The elements of an array, all in one element encoding: the smallest
/// one-byte form where every element fits it (never the zero-width uint0,
/// ulong0 or list0, which muon does not use for array elements).
fn array_elements_min_len(a: &Array<'_>) -> usize {
    let n = a.items.len();
    let fits = |f: &dyn Fn(&Value<'_>) -> bool| a.items.iter().all(f);
    match a.kind {
        TypeKind::Null => 0,
        TypeKind::Bool | TypeKind::Ubyte | TypeKind::Byte => n,
        TypeKind::Ushort | TypeKind::Short => 2 * n,
        TypeKind::Uint => {
            n * if fits(&|v| matches!(v, Value::Uint(0..=255))) {
                1
            } else {
                4
            }
        }
        TypeKind::Ulong => {
            n * if fits(&|v| matches!(v, Value::Ulong(0..=255))) {
                1
            } else {
                8
            }
        }
        TypeKind::Int => {
            n * if fits(&|v| matches!(v, Value::Int(-128..=127))) {
                1
            } else {
                4
            }
        }
        TypeKind::Long => {
            n * if fits(&|v| matches!(v, Value::Long(-128..=127))) {
                1
            } else {
                8
            }
        }
        TypeKind::Float | TypeKind::Decimal32 | TypeKind::Char => 4 * n,
        TypeKind::Double | TypeKind::Decimal64 | TypeKind::Timestamp => 8 * n,
        TypeKind::Decimal128 | TypeKind::Uuid => 16 * n,
        TypeKind::Binary | TypeKind::String | TypeKind::Symbol => {
            let lens: Vec<usize> = a
                .items
                .iter()
                .map(|v| match v {
                    Value::Binary(b) => b.len(),
                    Value::String(s) | Value::Symbol(s) => s.len(),
                    other => panic!("element {other:?} in a {:?} array", a.kind),
                })
                .collect();
            let width = if lens.iter().all(|&l| l <= 255) { 1 } else { 4 };
            lens.iter().map(|l| width + l).sum()
        }
        TypeKind::List | TypeKind::Map | TypeKind::Array => {
            let parts: Vec<(usize, usize)> = a.items.iter().map(compound_parts).collect();
            let small = parts.iter().all(|&(c, n)| c < 255 && n <= 255);
            parts
                .iter()
                .map(|&(c, _)| if small { 2 + c } else { 8 + c })
                .sum()
        }
        TypeKind::Described => panic!("arrays of kind Described are not generated"),
    }
}

// ---------------------------------------------------------------------------
// The widest valid encoding of a value.

fn wide_descriptor(d: &Descriptor<'_>, out: &mut Vec<u8>) {
    out.push(0x00);
    match d {
        Descriptor::Code(c) => {
            out.push(0x80);
            out.extend_from_slice(&c.to_be_bytes());
        }
        Descriptor::Symbol(s) => wide_var(0xb3, s.as_bytes(), out),
    }
}

fn wide_var(code: u8, bytes: &[u8], out: &mut Vec<u8>) {
    out.push(code);
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// size32 and count32 around `content`.
fn wide_compound_body(count: usize, content: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&((content.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(&(count as u32).to_be_bytes());
    out.extend_from_slice(content);
}

fn encode_wide(v: &Value<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    wide(v, &mut out);
    out
}

fn wide(v: &Value<'_>, out: &mut Vec<u8>) {
    let code = wide_code(v);
    out.push(code);
    wide_body(v, out);
}

/// The widest format code for the type of `v`.
fn wide_code(v: &Value<'_>) -> u8 {
    match v.kind() {
        TypeKind::Null => 0x40,
        TypeKind::Bool => 0x56,
        TypeKind::Ubyte => 0x50,
        TypeKind::Ushort => 0x60,
        TypeKind::Uint => 0x70,
        TypeKind::Ulong => 0x80,
        TypeKind::Byte => 0x51,
        TypeKind::Short => 0x61,
        TypeKind::Int => 0x71,
        TypeKind::Long => 0x81,
        TypeKind::Float => 0x72,
        TypeKind::Double => 0x82,
        TypeKind::Decimal32 => 0x74,
        TypeKind::Decimal64 => 0x84,
        TypeKind::Decimal128 => 0x94,
        TypeKind::Char => 0x73,
        TypeKind::Timestamp => 0x83,
        TypeKind::Uuid => 0x98,
        TypeKind::Binary => 0xb0,
        TypeKind::String => 0xb1,
        TypeKind::Symbol => 0xb3,
        TypeKind::List => 0xd0,
        TypeKind::Map => 0xd1,
        TypeKind::Array => 0xf0,
        TypeKind::Described => 0x00,
    }
}

/// What follows the format code of `v` in its widest encoding.
fn wide_body(v: &Value<'_>, out: &mut Vec<u8>) {
    match v {
        Value::Null => {}
        Value::Bool(b) => out.push(u8::from(*b)),
        Value::Ubyte(n) => out.push(*n),
        Value::Byte(n) => out.push(*n as u8),
        Value::Ushort(n) => out.extend_from_slice(&n.to_be_bytes()),
        Value::Short(n) => out.extend_from_slice(&n.to_be_bytes()),
        Value::Uint(n) => out.extend_from_slice(&n.to_be_bytes()),
        Value::Int(n) => out.extend_from_slice(&n.to_be_bytes()),
        Value::Ulong(n) => out.extend_from_slice(&n.to_be_bytes()),
        Value::Long(n) => out.extend_from_slice(&n.to_be_bytes()),
        Value::Float(f) => out.extend_from_slice(&f.to_bits().to_be_bytes()),
        Value::Double(f) => out.extend_from_slice(&f.to_bits().to_be_bytes()),
        Value::Decimal32(b) => out.extend_from_slice(b),
        Value::Decimal64(b) => out.extend_from_slice(b),
        Value::Decimal128(b) => out.extend_from_slice(b),
        Value::Char(c) => out.extend_from_slice(&u32::from(*c).to_be_bytes()),
        Value::Timestamp(t) => out.extend_from_slice(&t.to_be_bytes()),
        Value::Uuid(u) => out.extend_from_slice(u),
        Value::Binary(b) => {
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.extend_from_slice(b);
        }
        Value::String(s) | Value::Symbol(s) => {
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        Value::List(items) => {
            let mut content = Vec::new();
            for item in items {
                wide(item, &mut content);
            }
            wide_compound_body(items.len(), &content, out);
        }
        Value::Map(pairs) => {
            let mut content = Vec::new();
            for (k, v) in pairs {
                wide(k, &mut content);
                wide(v, &mut content);
            }
            wide_compound_body(pairs.len() * 2, &content, out);
        }
        Value::Array(a) => {
            let mut content = Vec::new();
            if let Some(d) = &a.descriptor {
                wide_descriptor(d, &mut content);
            }
            content.push(wide_code(&kind_sample(a.kind)));
            for item in &a.items {
                wide_body(item, &mut content);
            }
            wide_compound_body(a.items.len(), &content, out);
        }
        Value::Described(b) => {
            // The 0x00 is already out; replace it with the full descriptor.
            out.pop();
            wide_descriptor(&b.0, out);
            wide(&b.1, out);
        }
    }
}

/// Some value of `kind`, to find its format code.
fn kind_sample(kind: TypeKind) -> Value<'static> {
    match kind {
        TypeKind::Null => Value::Null,
        TypeKind::Bool => Value::Bool(false),
        TypeKind::Ubyte => Value::Ubyte(0),
        TypeKind::Ushort => Value::Ushort(0),
        TypeKind::Uint => Value::Uint(0),
        TypeKind::Ulong => Value::Ulong(0),
        TypeKind::Byte => Value::Byte(0),
        TypeKind::Short => Value::Short(0),
        TypeKind::Int => Value::Int(0),
        TypeKind::Long => Value::Long(0),
        TypeKind::Float => Value::Float(0.0),
        TypeKind::Double => Value::Double(0.0),
        TypeKind::Decimal32 => Value::Decimal32([0; 4]),
        TypeKind::Decimal64 => Value::Decimal64([0; 8]),
        TypeKind::Decimal128 => Value::Decimal128([0; 16]),
        TypeKind::Char => Value::Char('a'),
        TypeKind::Timestamp => Value::Timestamp(0),
        TypeKind::Uuid => Value::Uuid([0; 16]),
        TypeKind::Binary => Value::Binary(Cow::Borrowed(b"")),
        TypeKind::String => Value::str(""),
        TypeKind::Symbol => Value::sym(""),
        TypeKind::List => Value::List(vec![]),
        TypeKind::Map => Value::Map(vec![]),
        TypeKind::Array => Value::Array(Array {
            descriptor: None,
            kind: TypeKind::Null,
            items: vec![],
        }),
        TypeKind::Described => Value::Described(Box::new((Descriptor::Code(0), Value::Null))),
    }
}

// ---------------------------------------------------------------------------
// Strategies

type V = Value<'static>;

fn string() -> BoxedStrategy<String> {
    prop_oneof![
        4 => ".{0,20}",
        1 => Just(String::new()),
        1 => "[a-zé€😀]{250,300}",
    ]
    .boxed()
}

fn ascii() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[\\x00-\\x7f]{0,20}",
        1 => "[a-z:]{250,300}",
    ]
    .boxed()
}

fn bytes() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![4 => vec(any::<u8>(), 0..20), 1 => vec(any::<u8>(), 250..300)].boxed()
}

fn descriptor() -> BoxedStrategy<Descriptor<'static>> {
    prop_oneof![
        Just(Descriptor::Code(0)),
        (0x10u64..=0x78).prop_map(Descriptor::Code),
        any::<u64>().prop_map(Descriptor::Code),
        "[a-z]{1,8}:[a-z-]{1,12}:list".prop_map(|s| Descriptor::Symbol(Cow::Owned(s))),
        "[a-z:]{256,270}".prop_map(|s| Descriptor::Symbol(Cow::Owned(s))),
    ]
    .boxed()
}

fn f32_any() -> impl Strategy<Value = f32> {
    proptest::num::f32::ANY | proptest::num::f32::SIGNALING_NAN
}

fn f64_any() -> impl Strategy<Value = f64> {
    proptest::num::f64::ANY | proptest::num::f64::SIGNALING_NAN
}

/// The element types an array of scalars can have.
const SCALAR_KINDS: [TypeKind; 21] = [
    TypeKind::Null,
    TypeKind::Bool,
    TypeKind::Ubyte,
    TypeKind::Ushort,
    TypeKind::Uint,
    TypeKind::Ulong,
    TypeKind::Byte,
    TypeKind::Short,
    TypeKind::Int,
    TypeKind::Long,
    TypeKind::Float,
    TypeKind::Double,
    TypeKind::Decimal32,
    TypeKind::Decimal64,
    TypeKind::Decimal128,
    TypeKind::Char,
    TypeKind::Timestamp,
    TypeKind::Uuid,
    TypeKind::Binary,
    TypeKind::String,
    TypeKind::Symbol,
];

/// A scalar of `kind`, biased to the boundaries where encodings change.
fn scalar_of(kind: TypeKind) -> BoxedStrategy<V> {
    match kind {
        TypeKind::Null => Just(Value::Null).boxed(),
        TypeKind::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        TypeKind::Ubyte => any::<u8>().prop_map(Value::Ubyte).boxed(),
        TypeKind::Ushort => any::<u16>().prop_map(Value::Ushort).boxed(),
        TypeKind::Uint => prop_oneof![Just(0u32), 0..=256u32, any::<u32>()]
            .prop_map(Value::Uint)
            .boxed(),
        TypeKind::Ulong => prop_oneof![Just(0u64), 0..=256u64, any::<u64>()]
            .prop_map(Value::Ulong)
            .boxed(),
        TypeKind::Byte => any::<i8>().prop_map(Value::Byte).boxed(),
        TypeKind::Short => any::<i16>().prop_map(Value::Short).boxed(),
        TypeKind::Int => prop_oneof![-129..=128i32, any::<i32>()]
            .prop_map(Value::Int)
            .boxed(),
        TypeKind::Long => prop_oneof![-129..=128i64, any::<i64>()]
            .prop_map(Value::Long)
            .boxed(),
        TypeKind::Float => f32_any().prop_map(Value::Float).boxed(),
        TypeKind::Double => f64_any().prop_map(Value::Double).boxed(),
        TypeKind::Decimal32 => any::<[u8; 4]>().prop_map(Value::Decimal32).boxed(),
        TypeKind::Decimal64 => any::<[u8; 8]>().prop_map(Value::Decimal64).boxed(),
        TypeKind::Decimal128 => any::<[u8; 16]>().prop_map(Value::Decimal128).boxed(),
        TypeKind::Char => any::<char>().prop_map(Value::Char).boxed(),
        TypeKind::Timestamp => any::<i64>().prop_map(Value::Timestamp).boxed(),
        TypeKind::Uuid => any::<[u8; 16]>().prop_map(Value::Uuid).boxed(),
        TypeKind::Binary => bytes().prop_map(|b| Value::Binary(Cow::Owned(b))).boxed(),
        TypeKind::String => string().prop_map(|s| Value::String(Cow::Owned(s))).boxed(),
        TypeKind::Symbol => ascii().prop_map(|s| Value::Symbol(Cow::Owned(s))).boxed(),
        other => panic!("{other:?} is not a scalar kind"),
    }
}

fn scalar() -> BoxedStrategy<V> {
    proptest::sample::select(&SCALAR_KINDS[..])
        .prop_flat_map(scalar_of)
        .boxed()
}

/// How many elements an array of `kind` gets: up to 300 one-byte elements
/// (so that counts above 255 force array32), fewer wide ones. Arrays of
/// nulls stay within 16 elements: see `array_of_17_nulls_round_trips`.
fn array_len(kind: TypeKind) -> std::ops::Range<usize> {
    match kind {
        TypeKind::Null => 0..17,
        TypeKind::Bool | TypeKind::Ubyte | TypeKind::Byte | TypeKind::Uint | TypeKind::Int => {
            0..300
        }
        TypeKind::Binary | TypeKind::String | TypeKind::Symbol => 0..4,
        _ => 0..20,
    }
}

/// An array of one scalar kind, with or without a shared descriptor.
fn scalar_array() -> BoxedStrategy<Array<'static>> {
    (
        proptest::sample::select(&SCALAR_KINDS[..]),
        proptest::option::weighted(0.25, descriptor()),
    )
        .prop_flat_map(|(kind, descriptor)| {
            vec(scalar_of(kind), array_len(kind)).prop_map(move |items| Array {
                descriptor: descriptor.clone(),
                kind,
                items,
            })
        })
        .boxed()
}

fn list_of(inner: BoxedStrategy<V>) -> BoxedStrategy<Vec<V>> {
    vec(inner, 0..6).boxed()
}

fn map_of(inner: BoxedStrategy<V>) -> BoxedStrategy<Vec<(V, V)>> {
    vec((inner.clone(), inner), 0..5).boxed()
}

/// Arrays of compounds: of lists, of maps, of arrays, each optionally
/// described with one shared descriptor.
fn compound_array(inner: BoxedStrategy<V>) -> BoxedStrategy<Array<'static>> {
    let d = || proptest::option::weighted(0.25, descriptor());
    prop_oneof![
        (d(), vec(list_of(inner.clone()), 0..4)).prop_map(|(descriptor, ls)| Array {
            descriptor,
            kind: TypeKind::List,
            items: ls.into_iter().map(Value::List).collect(),
        }),
        (d(), vec(map_of(inner.clone()), 0..4)).prop_map(|(descriptor, ms)| Array {
            descriptor,
            kind: TypeKind::Map,
            items: ms.into_iter().map(Value::Map).collect(),
        }),
        (d(), vec(scalar_array(), 0..4)).prop_map(|(descriptor, xs)| Array {
            descriptor,
            kind: TypeKind::Array,
            items: xs.into_iter().map(Value::Array).collect(),
        }),
    ]
    .boxed()
}

/// Any value: scalars, and up to four levels of lists, maps, arrays and
/// described values.
fn value() -> BoxedStrategy<V> {
    let leaf = prop_oneof![
        6 => scalar(),
        1 => scalar_array().prop_map(Value::Array),
    ];
    leaf.prop_recursive(4, 96, 6, |inner| {
        prop_oneof![
            list_of(inner.clone()).prop_map(Value::List),
            map_of(inner.clone()).prop_map(Value::Map),
            compound_array(inner.clone()).prop_map(Value::Array),
            (descriptor(), inner).prop_map(|(d, v)| Value::Described(Box::new((d, v)))),
        ]
    })
    .boxed()
}

// ---------------------------------------------------------------------------
// Properties

fn check_round_trip(v: &V) -> Result<(), TestCaseError> {
    let bytes = encode(v);
    prop_assert_eq!(encoded_len(v), bytes.len(), "encoded_len of {:?}", v);
    let back = Decoder::decode_exact(&bytes)
        .map_err(|e| TestCaseError::fail(format!("{e} decoding {} from {v:?}", hex(&bytes))))?;
    prop_assert!(
        same(&back, v),
        "{:?}\n  -> {}\n  -> {:?}",
        v,
        hex(&bytes),
        back
    );
    prop_assert_eq!(
        bytes.len(),
        min_len(v),
        "not the smallest encoding of {:?}: {}",
        v,
        hex(&bytes)
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn scalars_round_trip_in_their_smallest_encoding(v in scalar()) {
        check_round_trip(&v)?;
    }

    #[test]
    fn scalar_arrays_round_trip_in_their_smallest_encoding(a in scalar_array()) {
        check_round_trip(&Value::Array(a))?;
    }

    #[test]
    fn values_round_trip_in_their_smallest_encoding(v in value()) {
        check_round_trip(&v)?;
    }

    #[test]
    fn widest_encoding_decodes_to_the_same_value(v in value()) {
        let bytes = encode_wide(&v);
        let back = Decoder::decode_exact(&bytes)
            .map_err(|e| TestCaseError::fail(format!("{e} decoding {} from {v:?}", hex(&bytes))))?;
        prop_assert!(same(&back, &v), "{:?}\n  -> {}\n  -> {:?}", v, hex(&bytes), back);
        prop_assert!(bytes.len() >= encoded_len(&v));
    }

    #[test]
    fn decoding_borrows_and_into_owned_is_equal(v in value()) {
        let bytes = encode(&v);
        let back = Decoder::decode_exact(&bytes).expect("decodes");
        let owned = back.clone().into_owned();
        prop_assert!(same(&owned, &back));
    }

    #[test]
    fn read_value_stops_at_the_end_of_each_value(a in value(), b in value()) {
        let mut bytes = encode(&a);
        let split = bytes.len();
        encode_value(&b, &mut bytes);
        let mut d = Decoder::new(&bytes);
        let first = d.read_value().expect("first value");
        prop_assert_eq!(d.position(), split);
        let second = d.read_value().expect("second value");
        prop_assert!(d.is_empty());
        prop_assert!(same(&first, &a) && same(&second, &b));
    }
}

// ---------------------------------------------------------------------------
// Smallest encodings, byte for byte

fn s(text: &str) -> V {
    Value::String(Cow::Owned(text.to_owned()))
}

fn sym(text: &str) -> V {
    Value::Symbol(Cow::Owned(text.to_owned()))
}

fn assert_encodes(v: V, expected: &[u8]) {
    let bytes = encode(&v);
    assert_eq!(hex(&bytes), hex(expected), "encoding of {v:?}");
    assert_eq!(encoded_len(&v), bytes.len());
    let back = Decoder::decode_exact(&bytes).expect("decodes");
    assert!(same(&back, &v), "{v:?} came back as {back:?}");
}

#[test]
fn smallest_integer_encodings() {
    assert_encodes(Value::Uint(0), &[0x43]);
    assert_encodes(Value::Uint(1), &[0x52, 1]);
    assert_encodes(Value::Uint(255), &[0x52, 0xff]);
    assert_encodes(Value::Uint(256), &[0x70, 0, 0, 1, 0]);
    assert_encodes(Value::Uint(u32::MAX), &[0x70, 0xff, 0xff, 0xff, 0xff]);
    assert_encodes(Value::Ulong(0), &[0x44]);
    assert_encodes(Value::Ulong(255), &[0x53, 0xff]);
    assert_encodes(Value::Ulong(256), &[0x80, 0, 0, 0, 0, 0, 0, 1, 0]);
    assert_encodes(Value::Int(0), &[0x54, 0]);
    assert_encodes(Value::Int(-1), &[0x54, 0xff]);
    assert_encodes(Value::Int(127), &[0x54, 0x7f]);
    assert_encodes(Value::Int(-128), &[0x54, 0x80]);
    assert_encodes(Value::Int(128), &[0x71, 0, 0, 0, 0x80]);
    assert_encodes(Value::Int(-129), &[0x71, 0xff, 0xff, 0xff, 0x7f]);
    assert_encodes(Value::Long(-128), &[0x55, 0x80]);
    assert_encodes(Value::Long(128), &[0x81, 0, 0, 0, 0, 0, 0, 0, 0x80]);
    assert_encodes(Value::Ubyte(7), &[0x50, 7]);
    assert_encodes(Value::Byte(-2), &[0x51, 0xfe]);
    assert_encodes(Value::Ushort(0x1234), &[0x60, 0x12, 0x34]);
    assert_encodes(Value::Short(-2), &[0x61, 0xff, 0xfe]);
}

#[test]
fn smallest_encodings_of_other_scalars() {
    assert_encodes(Value::Null, &[0x40]);
    assert_encodes(Value::Bool(true), &[0x41]);
    assert_encodes(Value::Bool(false), &[0x42]);
    assert_encodes(Value::Char('€'), &[0x73, 0, 0, 0x20, 0xac]);
    assert_encodes(
        Value::Timestamp(-1),
        &[0x83, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    );
    assert_encodes(Value::Float(1.0), &[0x72, 0x3f, 0x80, 0, 0]);
    assert_encodes(Value::Float(-0.0), &[0x72, 0x80, 0, 0, 0]);
    assert_encodes(
        Value::Float(f32::from_bits(0x7fa0_0001)),
        &[0x72, 0x7f, 0xa0, 0, 1],
    );
    assert_encodes(
        Value::Double(f64::from_bits(0xfff8_0000_0000_0001)),
        &[0x82, 0xff, 0xf8, 0, 0, 0, 0, 0, 1],
    );
}

#[test]
fn variable_width_switches_to_32_bits_above_255_bytes() {
    let long = "x".repeat(255);
    let mut expected = vec![0xa1, 0xff];
    expected.extend_from_slice(long.as_bytes());
    assert_encodes(s(&long), &expected);

    let longer = "x".repeat(256);
    let mut expected = vec![0xb1, 0, 0, 1, 0];
    expected.extend_from_slice(longer.as_bytes());
    assert_encodes(s(&longer), &expected);

    assert_encodes(s(""), &[0xa1, 0]);
    assert_encodes(sym("a"), &[0xa3, 1, b'a']);
    assert_encodes(Value::Binary(Cow::Owned(vec![])), &[0xa0, 0]);
    let mut expected = vec![0xb0, 0, 0, 1, 0x2c];
    expected.extend(std::iter::repeat_n(7u8, 300));
    assert_encodes(Value::Binary(Cow::Owned(vec![7; 300])), &expected);
}

#[test]
fn compounds_use_list0_and_8_bit_forms_where_they_fit() {
    assert_encodes(Value::List(vec![]), &[0x45]);
    assert_encodes(Value::List(vec![Value::Null]), &[0xc0, 2, 1, 0x40]);
    assert_encodes(Value::Map(vec![]), &[0xc1, 1, 0]);
    assert_encodes(
        Value::Map(vec![(sym("k"), Value::Uint(0))]),
        &[0xc1, 5, 2, 0xa3, 1, b'k', 0x43],
    );
    // 254 content bytes is the most list8 holds: size = count byte + 254.
    let item = Value::Binary(Cow::Owned(vec![0; 252]));
    let mut expected = vec![0xc0, 0xff, 1, 0xa0, 252];
    expected.extend(std::iter::repeat_n(0u8, 252));
    assert_encodes(Value::List(vec![item]), &expected);
    let item = Value::Binary(Cow::Owned(vec![0; 253]));
    let mut expected = vec![0xd0, 0, 0, 1, 3, 0, 0, 0, 1, 0xa0, 253];
    expected.extend(std::iter::repeat_n(0u8, 253));
    assert_encodes(Value::List(vec![item]), &expected);
    // 256 elements need list32 whatever their size.
    let v = Value::List(vec![Value::Null; 256]);
    let bytes = encode(&v);
    assert_eq!(&bytes[..9], &[0xd0, 0, 0, 1, 4, 0, 0, 1, 0]);
}

#[test]
fn arrays_use_one_smallest_nonzero_element_constructor() {
    let ints = |xs: &[i32]| {
        Value::Array(Array {
            descriptor: None,
            kind: TypeKind::Int,
            items: xs.iter().map(|&x| Value::Int(x)).collect(),
        })
    };
    assert_encodes(ints(&[1, -1]), &[0xe0, 4, 2, 0x54, 1, 0xff]);
    assert_encodes(
        ints(&[1, 1000]),
        &[0xe0, 10, 2, 0x71, 0, 0, 0, 1, 0, 0, 3, 0xe8],
    );
    let uints = Value::Array(Array {
        descriptor: None,
        kind: TypeKind::Uint,
        items: vec![Value::Uint(0), Value::Uint(0)],
    });
    // smalluint, not uint0, for the elements.
    assert_encodes(uints, &[0xe0, 4, 2, 0x52, 0, 0]);
    let syms = Value::Array(Array {
        descriptor: None,
        kind: TypeKind::Symbol,
        items: vec![sym("a"), sym("bc")],
    });
    assert_encodes(syms, &[0xe0, 7, 2, 0xa3, 1, b'a', 2, b'b', b'c']);
    let described = Value::Array(Array {
        descriptor: Some(Descriptor::Code(0x23)),
        kind: TypeKind::List,
        items: vec![Value::List(vec![]), Value::List(vec![Value::Bool(true)])],
    });
    assert_encodes(
        described,
        &[0xe0, 10, 2, 0x00, 0x53, 0x23, 0xc0, 1, 0, 2, 1, 0x41],
    );
    let empty = Value::Array(Array {
        descriptor: None,
        kind: TypeKind::String,
        items: vec![],
    });
    assert_encodes(empty, &[0xe0, 2, 0, 0xa1]);
    let bools = Value::Array(Array {
        descriptor: None,
        kind: TypeKind::Bool,
        items: vec![Value::Bool(true), Value::Bool(false)],
    });
    assert_encodes(bools, &[0xe0, 4, 2, 0x56, 1, 0]);
}

#[test]
fn described_values_use_the_smallest_descriptor() {
    let d = |desc: Descriptor<'static>, v: V| Value::Described(Box::new((desc, v)));
    assert_encodes(d(Descriptor::Code(0), Value::Null), &[0x00, 0x44, 0x40]);
    assert_encodes(
        d(Descriptor::Code(0x77), Value::str("x")),
        &[0x00, 0x53, 0x77, 0xa1, 1, b'x'],
    );
    assert_encodes(
        d(Descriptor::Code(0x0000_0137_0000_0001), Value::Null),
        &[0x00, 0x80, 0, 0, 1, 0x37, 0, 0, 0, 1, 0x40],
    );
    assert_encodes(
        d(Descriptor::Symbol(Cow::Borrowed("a:b")), Value::Uint(1)),
        &[0x00, 0xa3, 3, b'a', b':', b'b', 0x52, 1],
    );
    // A described value whose value is itself described.
    assert_encodes(
        d(Descriptor::Code(1), d(Descriptor::Code(2), Value::Null)),
        &[0x00, 0x53, 1, 0x00, 0x53, 2, 0x40],
    );
}

/// An array of nulls costs 2 bytes whatever its count; the decoder bounds
/// zero-width elements by a budget linear in the whole input (not per
/// array), so what the encoder writes for a modest count decodes again.
#[test]
fn array_of_17_nulls_round_trips() {
    let v = Value::Array(Array {
        descriptor: None,
        kind: TypeKind::Null,
        items: vec![Value::Null; 17],
    });
    let bytes = encode(&v);
    assert_eq!(bytes, [0xe0, 2, 17, 0x40]);
    assert_eq!(Decoder::decode_exact(&bytes).ok(), Some(v));
}

/// Arrays nested in arrays: `encoded_len` of an array encodes it into a
/// scratch buffer, and the encoder calls `encoded_len` on each compound
/// element (to choose the element constructor) before encoding it again,
/// so each level of array doubles the work: 2^depth. A 70-byte value of
/// 22 nested arrays takes over a second to encode (release build), and the
/// decoder accepts 63 levels. Counted in allocations, not timed: linear
/// work is a few allocations per level.
#[test]
fn encoding_nested_arrays_is_linear_in_depth() {
    let depth = 16;
    let mut v = Value::Array(Array {
        descriptor: None,
        kind: TypeKind::Null,
        items: vec![],
    });
    for _ in 0..depth {
        v = Value::Array(Array {
            descriptor: None,
            kind: TypeKind::Array,
            items: vec![v],
        });
    }
    let (bytes, n) = allocations(|| encode(&v));
    assert_eq!(bytes.len(), 3 * depth + 4);
    assert!(
        n <= 8 * depth,
        "{n} allocations to encode {depth} nested arrays"
    );
    let (len, n) = allocations(|| encoded_len(&v));
    assert_eq!(len, bytes.len());
    assert!(
        n <= 8 * depth,
        "{n} allocations to size {depth} nested arrays"
    );
}

// ---------------------------------------------------------------------------
// Every valid non-smallest encoding decodes to the same value

fn assert_decodes(bytes: &[u8], expected: V) {
    match Decoder::decode_exact(bytes) {
        Ok(v) => assert!(
            same(&v, &expected),
            "{} gave {v:?}, not {expected:?}",
            hex(bytes)
        ),
        Err(e) => panic!("{} did not decode: {e}", hex(bytes)),
    }
}

#[test]
fn fixed_width_forms_of_small_integers() {
    assert_decodes(&[0x70, 0, 0, 0, 0], Value::Uint(0));
    assert_decodes(&[0x70, 0, 0, 0, 5], Value::Uint(5));
    assert_decodes(&[0x52, 0], Value::Uint(0));
    assert_decodes(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0], Value::Ulong(0));
    assert_decodes(&[0x80, 0, 0, 0, 0, 0, 0, 0, 9], Value::Ulong(9));
    assert_decodes(&[0x53, 0], Value::Ulong(0));
    assert_decodes(&[0x71, 0xff, 0xff, 0xff, 0xff], Value::Int(-1));
    assert_decodes(&[0x81, 0, 0, 0, 0, 0, 0, 0, 1], Value::Long(1));
    assert_decodes(&[0x56, 0x01], Value::Bool(true));
    assert_decodes(&[0x56, 0x00], Value::Bool(false));
}

#[test]
fn wide_forms_of_variable_width_values() {
    assert_decodes(&[0xb1, 0, 0, 0, 2, b'h', b'i'], s("hi"));
    assert_decodes(&[0xb1, 0, 0, 0, 0], s(""));
    assert_decodes(&[0xb3, 0, 0, 0, 1, b'x'], sym("x"));
    assert_decodes(
        &[0xb0, 0, 0, 0, 1, 0xee],
        Value::Binary(Cow::Owned(vec![0xee])),
    );
}

#[test]
fn wide_forms_of_compounds() {
    assert_decodes(&[0xd0, 0, 0, 0, 4, 0, 0, 0, 0], Value::List(vec![]));
    assert_decodes(&[0xc0, 1, 0], Value::List(vec![]));
    assert_decodes(
        &[0xd0, 0, 0, 0, 6, 0, 0, 0, 2, 0x41, 0x43],
        Value::List(vec![Value::Bool(true), Value::Uint(0)]),
    );
    assert_decodes(&[0xd1, 0, 0, 0, 4, 0, 0, 0, 0], Value::Map(vec![]));
    assert_decodes(
        &[0xd1, 0, 0, 0, 8, 0, 0, 0, 2, 0xa3, 1, b'k', 0x40],
        Value::Map(vec![(sym("k"), Value::Null)]),
    );
    assert_decodes(
        &[0xf0, 0, 0, 0, 13, 0, 0, 0, 2, 0x70, 0, 0, 0, 1, 0, 0, 0, 2],
        Value::Array(Array {
            descriptor: None,
            kind: TypeKind::Uint,
            items: vec![Value::Uint(1), Value::Uint(2)],
        }),
    );
    // Zero-width element constructors are valid in an array.
    assert_decodes(
        &[0xe0, 2, 3, 0x43],
        Value::Array(Array {
            descriptor: None,
            kind: TypeKind::Uint,
            items: vec![Value::Uint(0); 3],
        }),
    );
    assert_decodes(
        &[0xe0, 2, 2, 0x44],
        Value::Array(Array {
            descriptor: None,
            kind: TypeKind::Ulong,
            items: vec![Value::Ulong(0); 2],
        }),
    );
    assert_decodes(
        &[0xe0, 2, 2, 0x45],
        Value::Array(Array {
            descriptor: None,
            kind: TypeKind::List,
            items: vec![Value::List(vec![]); 2],
        }),
    );
    // list32 elements in an array of lists.
    assert_decodes(
        &[0xe0, 11, 1, 0xd0, 0, 0, 0, 5, 0, 0, 0, 1, 0x40],
        Value::Array(Array {
            descriptor: None,
            kind: TypeKind::List,
            items: vec![Value::List(vec![Value::Null])],
        }),
    );
}

#[test]
fn wide_forms_of_descriptors() {
    let d = |desc: Descriptor<'static>, v: V| Value::Described(Box::new((desc, v)));
    assert_decodes(
        &[0x00, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x45],
        d(Descriptor::Code(0x10), Value::List(vec![])),
    );
    assert_decodes(&[0x00, 0x44, 0x40], d(Descriptor::Code(0), Value::Null));
    assert_decodes(
        &[0x00, 0xb3, 0, 0, 0, 3, b'a', b':', b'b', 0x40],
        d(Descriptor::Symbol(Cow::Borrowed("a:b")), Value::Null),
    );
}

#[test]
fn nesting_up_to_max_depth_decodes() {
    // MAX_DEPTH nested lists; the innermost is list0, which is no level.
    let mut v = Value::List(vec![]);
    for _ in 0..MAX_DEPTH {
        v = Value::List(vec![v]);
    }
    let bytes = encode(&v);
    assert_decodes(&bytes, v);
    let mut v = Value::Null;
    for i in 0..MAX_DEPTH {
        v = Value::Described(Box::new((Descriptor::Code(i as u64), v)));
    }
    let bytes = encode(&v);
    assert_decodes(&bytes, v);
}
