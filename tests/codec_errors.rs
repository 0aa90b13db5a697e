//! Every way the decoder refuses its input: one test per error path, each
//! asserting the error kind and the offset it names.
//!
//! Offsets are from the start of the buffer given to the decoder. The
//! decoder's convention (error.rs): the offset of the constructor or field
//! at fault, e.g. the size field for a size that runs past the end, the
//! first bad byte of a string, the constructor of a compound whose size
//! disagrees with its elements.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use muon::codec::decode::{Decoder, MAX_DEPTH};
use muon::codec::security::SaslFrame;
use muon::codec::transport::Performative;
use muon::codec::{DecodeError, DecodeErrorKind as K, Value};

// ---------------------------------------------------------------------------
// An allocator that remembers, per thread, the largest single allocation,
// so that tests can show a hostile count allocates nothing in proportion.

struct Watch;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
    static TOTAL: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
    let _ = TOTAL.try_with(|t| t.set(t.get() + size));
}

// SAFETY: defers every call to `System`, adding only a thread-local
// counter update that neither allocates nor unwinds.
unsafe impl GlobalAlloc for Watch {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Watch = Watch;

/// Runs `f` and returns its result with the largest allocation it made.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    let r = f();
    (r, LARGEST.with(Cell::get))
}

/// Runs `f` and returns its result with the bytes it allocated in all.
fn total_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    TOTAL.with(|t| t.set(0));
    let r = f();
    (r, TOTAL.with(Cell::get))
}

// ---------------------------------------------------------------------------

fn decode_err(bytes: &[u8]) -> DecodeError {
    match Decoder::decode_exact(bytes) {
        Ok(v) => panic!("{bytes:02x?} decoded to {v:?}"),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_err(bytes: &[u8], offset: usize, kind: K) {
    let e = decode_err(bytes);
    assert_eq!(e, DecodeError { offset, kind }, "decoding {bytes:02x?}");
}

// --- truncation ------------------------------------------------------------

#[test]
fn empty_input_is_truncated() {
    assert_err(&[], 0, K::Truncated { needed: 1 });
}

#[test]
fn truncated_fixed_width_value() {
    assert_err(&[0x70, 0, 0], 1, K::Truncated { needed: 2 });
    assert_err(&[0x83], 1, K::Truncated { needed: 8 });
    assert_err(&[0x98, 1, 2, 3], 1, K::Truncated { needed: 13 });
    assert_err(&[0x52], 1, K::Truncated { needed: 1 });
    assert_err(&[0x56], 1, K::Truncated { needed: 1 });
}

#[test]
fn truncated_length_field() {
    assert_err(&[0xa1], 1, K::Truncated { needed: 1 });
    assert_err(&[0xb0, 0, 0], 1, K::Truncated { needed: 2 });
    assert_err(&[0xd0, 0, 0, 0], 1, K::Truncated { needed: 1 });
}

#[test]
fn truncated_descriptor() {
    assert_err(&[0x00], 1, K::Truncated { needed: 1 });
    assert_err(&[0x00, 0x53], 2, K::Truncated { needed: 1 });
    // Descriptor complete, described value missing.
    assert_err(&[0x00, 0x53, 0x10], 3, K::Truncated { needed: 1 });
}

// --- lengths past the end ----------------------------------------------------

#[test]
fn str8_length_past_end() {
    assert_err(
        &[0xa1, 5, b'a'],
        1,
        K::LengthPastEnd {
            length: 5,
            available: 1,
        },
    );
}

#[test]
fn vbin32_length_past_end() {
    assert_err(
        &[0xb0, 0, 0, 1, 0, 1, 2],
        1,
        K::LengthPastEnd {
            length: 256,
            available: 2,
        },
    );
    // A length near 4 GiB must be refused before anything is reserved.
    let (e, largest) = largest_allocation(|| decode_err(&[0xb0, 0xff, 0xff, 0xff, 0xff, 0]));
    assert_eq!(
        e,
        DecodeError::new(
            1,
            K::LengthPastEnd {
                length: u32::MAX as usize,
                available: 1
            }
        )
    );
    assert!(largest < 4096, "allocated {largest} bytes");
}

#[test]
fn list32_size_past_end() {
    assert_err(
        &[0xd0, 0, 0, 0, 100, 0, 0, 0, 1, 0x40],
        1,
        K::LengthPastEnd {
            length: 100,
            available: 5,
        },
    );
    assert_err(
        &[0xc1, 9, 2, 0x40, 0x40],
        1,
        K::LengthPastEnd {
            length: 9,
            available: 3,
        },
    );
}

#[test]
fn length_past_the_end_of_the_enclosing_list() {
    // The string claims 3 bytes; they exist in the buffer but lie outside
    // the list that holds the string.
    assert_err(
        &[0xc0, 3, 1, 0xa1, 3, b'a', b'b', b'c'],
        4,
        K::LengthPastEnd {
            length: 3,
            available: 0,
        },
    );
}

// --- text ----------------------------------------------------------------------

#[test]
fn invalid_utf8_in_a_string() {
    // The offset is that of the first byte that is not valid UTF-8.
    assert_err(&[0xa1, 3, b'a', 0xff, b'b'], 3, K::InvalidUtf8);
    // A lone surrogate encoded in UTF-8 (CESU style).
    assert_err(&[0xa1, 3, 0xed, 0xa0, 0x80], 2, K::InvalidUtf8);
    // A sequence cut short by the end of the string.
    assert_err(&[0xb1, 0, 0, 0, 2, b'a', 0xe2], 6, K::InvalidUtf8);
}

#[test]
fn non_ascii_symbol() {
    assert_err(&[0xa3, 3, b'a', b'b', 0x80], 4, K::NonAsciiSymbol(0x80));
    assert_err(&[0xb3, 0, 0, 0, 1, 0xc3], 5, K::NonAsciiSymbol(0xc3));
    // In a descriptor too.
    assert_err(&[0x00, 0xa3, 1, 0xff, 0x40], 3, K::NonAsciiSymbol(0xff));
}

#[test]
fn invalid_char() {
    assert_err(&[0x73, 0, 0, 0xd8, 0], 0, K::InvalidChar(0xd800));
    assert_err(&[0x73, 0, 0, 0xdf, 0xff], 0, K::InvalidChar(0xdfff));
    assert_err(&[0x73, 0, 0x11, 0, 0], 0, K::InvalidChar(0x11_0000));
    assert_err(&[0x73, 0xff, 0xff, 0xff, 0xff], 0, K::InvalidChar(u32::MAX));
}

#[test]
fn invalid_boolean_byte() {
    assert_err(
        &[0x56, 2],
        0,
        K::InvalidField {
            field: "boolean",
            value: 2,
        },
    );
}

// --- format codes ----------------------------------------------------------------

#[test]
fn unknown_format_code() {
    assert_err(&[0x01], 0, K::UnknownFormatCode(0x01));
    assert_err(&[0xff], 0, K::UnknownFormatCode(0xff));
    assert_err(&[0x57], 0, K::UnknownFormatCode(0x57));
    // Inside a list, at the element's own offset.
    assert_err(&[0xc0, 2, 1, 0x99], 3, K::UnknownFormatCode(0x99));
    // As an array's element constructor.
    assert_err(&[0xe0, 2, 1, 0x01], 3, K::UnknownFormatCode(0x01));
    // After a descriptor.
    assert_err(&[0x00, 0x53, 0x10, 0xee], 3, K::UnknownFormatCode(0xee));
}

#[test]
fn every_undefined_format_code_is_refused() {
    const DEFINED: &[u8] = &[
        0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x60, 0x61,
        0x70, 0x71, 0x72, 0x73, 0x74, 0x80, 0x81, 0x82, 0x83, 0x84, 0x94, 0x98, 0xa0, 0xa1, 0xa3,
        0xb0, 0xb1, 0xb3, 0xc0, 0xc1, 0xd0, 0xd1, 0xe0, 0xf0,
    ];
    for code in 1..=255u8 {
        if !DEFINED.contains(&code) {
            assert_err(&[code, 0, 0, 0, 0], 0, K::UnknownFormatCode(code));
        }
    }
}

// --- maps and compounds -------------------------------------------------------------

#[test]
fn odd_map_count() {
    assert_err(&[0xc1, 2, 1, 0x40], 0, K::OddMapCount(1));
    assert_err(
        &[0xd1, 0, 0, 0, 7, 0, 0, 0, 3, 0x40, 0x40, 0x40],
        0,
        K::OddMapCount(3),
    );
}

#[test]
fn compound_size_larger_than_its_elements() {
    // list8 of one null that declares room for two: the size counts from
    // the constructor (5 bytes) against what was read (4).
    assert_err(
        &[0xc0, 3, 1, 0x40, 0x40],
        0,
        K::SizeMismatch {
            declared: 5,
            actual: 4,
        },
    );
    assert_err(
        &[0xc1, 4, 2, 0x40, 0x40, 0x40],
        0,
        K::SizeMismatch {
            declared: 6,
            actual: 5,
        },
    );
    assert_err(
        &[0xe0, 4, 1, 0x50, 7, 8],
        0,
        K::SizeMismatch {
            declared: 6,
            actual: 5,
        },
    );
}

#[test]
fn compound_size_smaller_than_its_count_field() {
    assert_err(
        &[0xc0, 0],
        1,
        K::SizeMismatch {
            declared: 0,
            actual: 1,
        },
    );
    assert_err(
        &[0xd1, 0, 0, 0, 2, 0, 0],
        1,
        K::SizeMismatch {
            declared: 2,
            actual: 4,
        },
    );
}

#[test]
fn element_running_past_its_compound() {
    // The smalluint's byte lies after the list's declared end.
    assert_err(&[0xc0, 2, 1, 0x52, 7], 4, K::Truncated { needed: 1 });
    // One element declared, two promised by the count, size fits one.
    assert_err(
        &[0xc0, 2, 2, 0x40, 0x40],
        3,
        K::CountTooLarge {
            count: 2,
            available: 1,
        },
    );
}

// --- arrays ----------------------------------------------------------------------

#[test]
fn array_element_past_the_array() {
    // Second str8 element claims 5 bytes the array does not have.
    assert_err(
        &[0xe0, 5, 2, 0xa1, 1, b'a', 5],
        6,
        K::ArrayElement {
            index: 1,
            code: 0xa1,
        },
    );
    // A list element whose size runs past the array.
    assert_err(
        &[0xe0, 5, 1, 0xc0, 9, 1, 0x40],
        4,
        K::ArrayElement {
            index: 0,
            code: 0xc0,
        },
    );
}

#[test]
fn array_of_fixed_elements_too_short_for_its_count() {
    // Two 4-byte elements in 2 bytes.
    assert_err(
        &[0xe0, 4, 2, 0x70, 0, 0],
        4,
        K::CountTooLarge {
            count: 2,
            available: 2,
        },
    );
}

#[test]
fn array_element_that_is_not_a_value_of_its_type() {
    // The element's own error at the element's offset.
    assert_err(
        &[0xe0, 4, 2, 0x56, 1, 9],
        5,
        K::InvalidField {
            field: "boolean",
            value: 9,
        },
    );
    assert_err(
        &[0xe0, 6, 1, 0x73, 0, 0, 0xd8, 0],
        4,
        K::InvalidChar(0xd800),
    );
    assert_err(&[0xe0, 5, 1, 0xa1, 2, 0xc3, 0x28], 5, K::InvalidUtf8);
    assert_err(&[0xe0, 4, 1, 0xa3, 1, 0x80], 5, K::NonAsciiSymbol(0x80));
}

#[test]
fn array_without_element_constructor() {
    // size 1 covers only the count.
    assert_err(&[0xe0, 1, 0], 3, K::Truncated { needed: 1 });
}

#[test]
fn array_element_constructor_described_twice() {
    // Reported at the element constructor's first byte.
    assert_err(
        &[0xe0, 7, 1, 0x00, 0x53, 1, 0x00, 0x53, 2],
        3,
        K::InvalidDescriptor,
    );
}

// --- counts that the input cannot hold -------------------------------------------------

#[test]
fn list32_count_of_2_pow_31_in_10_bytes() {
    let bytes = [0xd0, 0, 0, 0, 5, 0x80, 0, 0, 0, 0x40];
    let (e, largest) = largest_allocation(|| decode_err(&bytes));
    assert_eq!(
        e,
        DecodeError::new(
            9,
            K::CountTooLarge {
                count: 1 << 31,
                available: 1
            }
        )
    );
    assert!(largest < 4096, "allocated {largest} bytes");
}

#[test]
fn map32_count_too_large() {
    let bytes = [0xd1, 0, 0, 0, 6, 0xff, 0xff, 0xff, 0xfe, 0x40, 0x40];
    let (e, largest) = largest_allocation(|| decode_err(&bytes));
    assert_eq!(
        e,
        DecodeError::new(
            9,
            K::CountTooLarge {
                count: 0xffff_fffe,
                available: 2
            }
        )
    );
    assert!(largest < 4096, "allocated {largest} bytes");
}

#[test]
fn array32_of_nulls_with_a_huge_count_does_not_allocate() {
    // Nulls take no bytes, so only a bound on the count protects memory.
    let bytes = [0xf0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0x40];
    let (e, largest) = largest_allocation(|| decode_err(&bytes));
    assert_eq!(
        e,
        DecodeError::new(
            9,
            K::CountTooLarge {
                count: u64::from(u32::MAX),
                available: 1
            }
        )
    );
    assert!(largest < 4096, "allocated {largest} bytes");
}

#[test]
fn arrays_of_other_zero_width_elements_with_huge_counts() {
    for code in [0x41, 0x42, 0x43, 0x44, 0x45] {
        let bytes = [0xf0, 0, 0, 0, 5, 0x7f, 0xff, 0xff, 0xff, code];
        let (e, largest) = largest_allocation(|| decode_err(&bytes));
        assert_eq!(
            e,
            DecodeError::new(
                9,
                K::CountTooLarge {
                    count: 0x7fff_ffff,
                    available: 1
                }
            ),
            "element code {code:02x}"
        );
        assert!(largest < 4096, "allocated {largest} bytes");
    }
}

#[test]
fn array32_of_ubytes_with_a_huge_count() {
    let bytes = [0xf0, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0x50, 1, 2];
    let (e, largest) = largest_allocation(|| decode_err(&bytes));
    assert_eq!(
        e,
        DecodeError::new(
            10,
            K::CountTooLarge {
                count: u64::from(u32::MAX),
                available: 2
            }
        )
    );
    assert!(largest < 4096, "allocated {largest} bytes");
}

/// An array of arrays of nulls: the densest input in values per byte
/// (16 nulls in each 3-byte inner array, the most the decoder allows).
fn nested_null_arrays() -> Vec<u8> {
    let mut bytes = vec![0xf0, 0, 0, 0, 0, 0, 0, 0, 0, 0xe0];
    let count = 1000u32;
    for _ in 0..count {
        bytes.extend_from_slice(&[2, 16, 0x40]);
    }
    let size = (bytes.len() - 5) as u32;
    bytes[1..5].copy_from_slice(&size.to_be_bytes());
    bytes[5..9].copy_from_slice(&count.to_be_bytes());
    bytes
}

#[test]
fn memory_stays_proportional_to_the_input() {
    // The decoder allows at most 8 zero-width elements per byte of their
    // array; whatever the nesting, a value tree then costs a bounded number
    // of `Value`s per input byte.
    let bytes = nested_null_arrays();
    let (r, total) = total_allocation(|| Decoder::decode_exact(&bytes).map(|_| ()));
    assert_eq!(r, Ok(()));
    let per_byte = total / bytes.len();
    let value = std::mem::size_of::<Value<'_>>();
    println!(
        "{} input bytes -> {total} bytes allocated ({per_byte} per byte; Value is {value} bytes)",
        bytes.len()
    );
    assert!(per_byte <= 8 * value, "{per_byte} bytes per input byte");
}

// --- depth -------------------------------------------------------------------------

/// `levels` nested list32s around list0, each with exact sizes.
fn nested_list32(levels: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(levels * 9 + 1);
    for k in 0..levels {
        let content = 9 * (levels - 1 - k) + 1;
        out.push(0xd0);
        out.extend_from_slice(&((content + 4) as u32).to_be_bytes());
        out.extend_from_slice(&1u32.to_be_bytes());
    }
    out.push(0x45);
    out
}

/// Runs `f` on a thread with a small stack, to show that refusing deep
/// input does not depend on a large one.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("no stack overflow")
}

#[test]
fn nested_lists_deeper_than_max_depth() {
    // list8s: level k starts at 3k; the level at depth MAX_DEPTH is refused.
    let levels = MAX_DEPTH + 1;
    let mut bytes = vec![0x45];
    for _ in 0..levels {
        let mut outer = vec![0xc0, (bytes.len() + 1) as u8, 1];
        outer.extend_from_slice(&bytes);
        bytes = outer;
    }
    assert_err(&bytes, 3 * MAX_DEPTH, K::TooDeep(MAX_DEPTH));
    // MAX_DEPTH levels are fine.
    assert!(Decoder::decode_exact(&bytes[3..]).is_ok());
}

#[test]
fn a_million_nested_lists_fail_fast_on_a_small_stack() {
    let e = on_small_stack(|| decode_err(&nested_list32(1_000_000)));
    assert_eq!(e, DecodeError::new(9 * MAX_DEPTH, K::TooDeep(MAX_DEPTH)));
}

#[test]
fn chained_described_values_deeper_than_max_depth() {
    let mut bytes = Vec::new();
    for _ in 0..100_000 {
        bytes.extend_from_slice(&[0x00, 0x53, 0x01]);
    }
    bytes.push(0x40);
    let e = on_small_stack(move || decode_err(&bytes));
    assert_eq!(e, DecodeError::new(3 * MAX_DEPTH, K::TooDeep(MAX_DEPTH)));
}

#[test]
fn nested_maps_and_arrays_deeper_than_max_depth() {
    // map32 { null: map32 { null: ... } }: level k starts at 10k.
    let mut bytes = vec![0x40];
    for _ in 0..=MAX_DEPTH {
        let mut outer = vec![0xd1];
        outer.extend_from_slice(&((bytes.len() + 5) as u32).to_be_bytes());
        outer.extend_from_slice(&2u32.to_be_bytes());
        outer.push(0x40);
        outer.extend_from_slice(&bytes);
        bytes = outer;
    }
    assert_err(&bytes, 10 * MAX_DEPTH, K::TooDeep(MAX_DEPTH));

    // array8 of one array8 of one ...: level k starts at 4k (code, size,
    // count, element constructor); the innermost is an empty array of
    // nulls. An element array's own constructor is the outer array's
    // element constructor, so the refused level is reported at the byte
    // where its body starts.
    let mut body = vec![2, 0, 0x40];
    for _ in 0..=MAX_DEPTH {
        let mut outer = vec![(body.len() + 2) as u8, 1, 0xe0];
        outer.extend_from_slice(&body);
        body = outer;
    }
    let mut bytes = vec![0xe0];
    bytes.extend_from_slice(&body);
    let e = decode_err(&bytes);
    assert_eq!(e.kind, K::TooDeep(MAX_DEPTH));
    assert_eq!(e.offset, 3 * MAX_DEPTH + 1);
}

#[test]
fn described_lists_count_two_levels_each() {
    // Each level is a described list32 (12 bytes): the described value
    // and the list are a level each, so level k's described value is at
    // depth 2k and the one at depth MAX_DEPTH is refused.
    let mut bytes = vec![0x45];
    for _ in 0..MAX_DEPTH {
        let mut outer = vec![0x00, 0x53, 0x01, 0xd0];
        outer.extend_from_slice(&((bytes.len() + 4) as u32).to_be_bytes());
        outer.extend_from_slice(&1u32.to_be_bytes());
        outer.extend_from_slice(&bytes);
        bytes = outer;
    }
    assert_err(&bytes, 12 * (MAX_DEPTH / 2), K::TooDeep(MAX_DEPTH));
}

// --- descriptors ------------------------------------------------------------------

#[test]
fn invalid_descriptor() {
    // smalluint, string, null, list, and a described descriptor.
    assert_err(&[0x00, 0x52, 1, 0x40], 1, K::InvalidDescriptor);
    assert_err(&[0x00, 0xa1, 1, b'x', 0x40], 1, K::InvalidDescriptor);
    assert_err(&[0x00, 0x40, 0x40], 1, K::InvalidDescriptor);
    assert_err(&[0x00, 0x45, 0x40], 1, K::InvalidDescriptor);
    assert_err(&[0x00, 0x00, 0x53, 1, 0x40], 1, K::InvalidDescriptor);
    // In an array's element constructor.
    assert_err(&[0xe0, 5, 0, 0x00, 0x70, 0, 0], 4, K::InvalidDescriptor);
}

// --- decode_exact ---------------------------------------------------------------

#[test]
fn trailing_bytes() {
    assert_err(&[0x40, 0x40], 1, K::TrailingBytes(1));
    assert_err(&[0xa1, 1, b'a', 0, 0, 0], 3, K::TrailingBytes(3));
    // read_value itself stops after one value.
    let mut d = Decoder::new(&[0x41, 0x42]);
    assert_eq!(d.read_value(), Ok(Value::Bool(true)));
    assert_eq!(d.position(), 1);
}

// --- performatives ----------------------------------------------------------------

fn performative_err(bytes: &[u8]) -> DecodeError {
    match Performative::decode(&mut Decoder::new(bytes)) {
        Ok(p) => panic!("{bytes:02x?} decoded to {p:?}"),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_performative_err(bytes: &[u8], offset: usize, kind: K) {
    assert_eq!(
        performative_err(bytes),
        DecodeError { offset, kind },
        "decoding {bytes:02x?}"
    );
}

#[test]
fn open_without_container_id() {
    // An empty list: the field is past its end, reported where it would be.
    assert_performative_err(
        &[0x00, 0x53, 0x10, 0x45],
        4,
        K::MissingField {
            composite: "amqp:open:list",
            field: "container_id",
        },
    );
    // Present but null: reported at the null.
    assert_performative_err(
        &[0x00, 0x53, 0x10, 0xc0, 0x02, 0x01, 0x40],
        6,
        K::MissingField {
            composite: "amqp:open:list",
            field: "container_id",
        },
    );
}

#[test]
fn begin_without_incoming_window() {
    // remote-channel null, next-outgoing-id 0, then the list ends.
    assert_performative_err(
        &[0x00, 0x53, 0x11, 0xc0, 0x03, 0x02, 0x40, 0x43],
        8,
        K::MissingField {
            composite: "amqp:begin:list",
            field: "incoming_window",
        },
    );
}

#[test]
fn transfer_and_attach_without_mandatory_fields() {
    assert_performative_err(
        &[0x00, 0x53, 0x14, 0x45],
        4,
        K::MissingField {
            composite: "amqp:transfer:list",
            field: "handle",
        },
    );
    // attach: name "l", handle 0, role missing.
    assert_performative_err(
        &[0x00, 0x53, 0x12, 0xc0, 0x05, 0x02, 0xa1, 0x01, b'l', 0x43],
        10,
        K::MissingField {
            composite: "amqp:attach:list",
            field: "role",
        },
    );
}

#[test]
fn mandatory_field_of_the_wrong_type() {
    // open's container-id as a uint.
    assert_performative_err(
        &[0x00, 0x53, 0x10, 0xc0, 0x03, 0x01, 0x52, 0x07],
        6,
        K::UnexpectedType {
            expected: "string",
            found: 0x52,
        },
    );
}

#[test]
fn unknown_performative_descriptor() {
    // 0x19 follows close (0x18) and names nothing.
    assert_performative_err(
        &[0x00, 0x53, 0x19, 0x45],
        0,
        K::UnknownDescriptor("0x00000000:0x00000019".into()),
    );
    // A SASL descriptor in an AMQP frame.
    assert_performative_err(
        &[0x00, 0x53, 0x41, 0x45],
        0,
        K::UnknownDescriptor("0x00000000:0x00000041".into()),
    );
    // A message section's descriptor.
    assert_performative_err(
        &[0x00, 0x53, 0x70, 0x45],
        0,
        K::UnknownDescriptor("0x00000000:0x00000070".into()),
    );
    let mut bytes = vec![0x00, 0xa3, 13];
    bytes.extend_from_slice(b"amqp:foo:list");
    bytes.push(0x45);
    assert_performative_err(&bytes, 0, K::UnknownDescriptor("amqp:foo:list".into()));
}

#[test]
fn performative_that_is_not_described() {
    assert_performative_err(
        &[0x45],
        0,
        K::UnexpectedType {
            expected: "performative",
            found: 0x45,
        },
    );
}

#[test]
fn performative_whose_body_is_not_a_list() {
    // `found` is not pinned: it is 0x00 today (the described value's
    // first byte, composite.rs `unexpected`), where 0xa1, the body's
    // format code, would say more.
    let e = performative_err(&[0x00, 0x53, 0x10, 0xa1, 0x01, b'x']);
    assert_eq!(e.offset, 0);
    assert!(
        matches!(
            e.kind,
            K::UnexpectedType {
                expected: "amqp:open:list",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn unknown_sasl_frame_descriptor() {
    // An AMQP performative where a SASL frame body is expected.
    match SaslFrame::decode(&mut Decoder::new(&[0x00, 0x53, 0x10, 0x45])) {
        Err(e) => assert_eq!(
            e,
            DecodeError::new(0, K::UnknownDescriptor("0x00000000:0x00000010".into()))
        ),
        Ok(f) => panic!("decoded {f:?}"),
    }
    // sasl-outcome without its code.
    match SaslFrame::decode(&mut Decoder::new(&[0x00, 0x53, 0x44, 0x45])) {
        Err(e) => assert_eq!(
            e,
            DecodeError::new(
                4,
                K::MissingField {
                    composite: "amqp:sasl-outcome:list",
                    field: "code",
                }
            )
        ),
        Ok(f) => panic!("decoded {f:?}"),
    }
}
