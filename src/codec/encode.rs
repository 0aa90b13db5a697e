//! Encoding values to bytes. The encoder always picks the smallest valid
//! encoding of a value (spec §1.6: zero and small forms of integers, 8-bit
//! sizes where they fit, list0 for the empty list).

use super::value::{Array, Descriptor, TypeKind, Value};

/// Writes `v` to `out` in its smallest encoding.
pub fn encode_value(v: &Value<'_>, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.push(0x40),
        Value::Bool(b) => out.push(if *b { 0x41 } else { 0x42 }),
        Value::Ubyte(n) => out.extend_from_slice(&[0x50, *n]),
        Value::Ushort(n) => {
            out.push(0x60);
            out.extend_from_slice(&n.to_be_bytes());
        }
        Value::Uint(n) => write_uint(*n, out),
        Value::Ulong(n) => write_ulong(*n, out),
        Value::Byte(n) => out.extend_from_slice(&[0x51, *n as u8]),
        Value::Short(n) => {
            out.push(0x61);
            out.extend_from_slice(&n.to_be_bytes());
        }
        Value::Int(n) => match i8::try_from(*n) {
            Ok(small) => out.extend_from_slice(&[0x54, small as u8]),
            Err(_) => {
                out.push(0x71);
                out.extend_from_slice(&n.to_be_bytes());
            }
        },
        Value::Long(n) => match i8::try_from(*n) {
            Ok(small) => out.extend_from_slice(&[0x55, small as u8]),
            Err(_) => {
                out.push(0x81);
                out.extend_from_slice(&n.to_be_bytes());
            }
        },
        Value::Float(f) => {
            out.push(0x72);
            out.extend_from_slice(&f.to_bits().to_be_bytes());
        }
        Value::Double(f) => {
            out.push(0x82);
            out.extend_from_slice(&f.to_bits().to_be_bytes());
        }
        Value::Decimal32(b) => {
            out.push(0x74);
            out.extend_from_slice(b);
        }
        Value::Decimal64(b) => {
            out.push(0x84);
            out.extend_from_slice(b);
        }
        Value::Decimal128(b) => {
            out.push(0x94);
            out.extend_from_slice(b);
        }
        Value::Char(c) => {
            out.push(0x73);
            out.extend_from_slice(&(*c as u32).to_be_bytes());
        }
        Value::Timestamp(t) => {
            out.push(0x83);
            out.extend_from_slice(&t.to_be_bytes());
        }
        Value::Uuid(u) => {
            out.push(0x98);
            out.extend_from_slice(u);
        }
        Value::Binary(b) => write_variable(0xa0, b, out),
        Value::String(s) => write_variable(0xa1, s.as_bytes(), out),
        Value::Symbol(s) => write_variable(0xa3, s.as_bytes(), out),
        Value::List(items) => {
            if items.is_empty() {
                out.push(0x45);
            } else {
                let mark = begin_compound(out);
                for item in items {
                    encode_value(item, out);
                }
                end_compound(out, mark, 0xc0, items.len() as u32);
            }
        }
        Value::Map(pairs) => {
            let mark = begin_compound(out);
            for (k, v) in pairs {
                encode_value(k, out);
                encode_value(v, out);
            }
            end_compound(out, mark, 0xc1, (pairs.len() * 2) as u32);
        }
        Value::Array(a) => encode_array(a, out),
        Value::Described(b) => {
            write_descriptor(&b.0, out);
            encode_value(&b.1, out);
        }
    }
}

/// The encoded size of `v` in bytes, as [`encode_value`] would write it.
pub fn encoded_len(v: &Value<'_>) -> usize {
    fn var(len: usize) -> usize {
        if len <= 255 { 2 + len } else { 5 + len }
    }
    fn compound(content: usize, count: usize) -> usize {
        if content < 255 && count <= 255 {
            3 + content
        } else {
            9 + content
        }
    }
    match v {
        Value::Null | Value::Bool(_) => 1,
        Value::Ubyte(_) | Value::Byte(_) => 2,
        Value::Ushort(_) | Value::Short(_) => 3,
        Value::Uint(n) => match *n {
            0 => 1,
            1..=255 => 2,
            _ => 5,
        },
        Value::Ulong(n) => match *n {
            0 => 1,
            1..=255 => 2,
            _ => 9,
        },
        Value::Int(n) => {
            if i8::try_from(*n).is_ok() {
                2
            } else {
                5
            }
        }
        Value::Long(n) => {
            if i8::try_from(*n).is_ok() {
                2
            } else {
                9
            }
        }
        Value::Float(_) | Value::Decimal32(_) | Value::Char(_) => 5,
        Value::Double(_) | Value::Decimal64(_) | Value::Timestamp(_) => 9,
        Value::Decimal128(_) | Value::Uuid(_) => 17,
        Value::Binary(b) => var(b.len()),
        Value::String(s) | Value::Symbol(s) => var(s.len()),
        Value::List(items) => {
            if items.is_empty() {
                1
            } else {
                compound(items.iter().map(encoded_len).sum(), items.len())
            }
        }
        Value::Map(pairs) => compound(
            pairs
                .iter()
                .map(|(k, v)| encoded_len(k) + encoded_len(v))
                .sum(),
            pairs.len() * 2,
        ),
        Value::Array(a) => {
            let mut scratch = Vec::new();
            encode_array(a, &mut scratch);
            scratch.len()
        }
        Value::Described(b) => descriptor_len(&b.0) + encoded_len(&b.1),
    }
}

fn descriptor_len(d: &Descriptor<'_>) -> usize {
    1 + match d {
        Descriptor::Code(c) => encoded_len(&Value::Ulong(*c)),
        Descriptor::Symbol(s) => (if s.len() <= 255 { 2 } else { 5 }) + s.len(),
    }
}

/// Writes a uint in its smallest form.
pub fn write_uint(n: u32, out: &mut Vec<u8>) {
    match n {
        0 => out.push(0x43),
        1..=255 => out.extend_from_slice(&[0x52, n as u8]),
        _ => {
            out.push(0x70);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// Writes a ulong in its smallest form.
pub fn write_ulong(n: u64, out: &mut Vec<u8>) {
    match n {
        0 => out.push(0x44),
        1..=255 => out.extend_from_slice(&[0x53, n as u8]),
        _ => {
            out.push(0x80);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// Writes a variable-width value (binary, string, symbol) with the 8-bit
/// code `code8`; the 32-bit form (`code8 + 0x10`) is used when it is longer
/// than 255 bytes.
pub fn write_variable(code8: u8, bytes: &[u8], out: &mut Vec<u8>) {
    if let Ok(len) = u8::try_from(bytes.len()) {
        out.extend_from_slice(&[code8, len]);
    } else {
        out.push(code8 + 0x10);
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    }
    out.extend_from_slice(bytes);
}

/// Writes the `0x00` descriptor constructor and the descriptor value.
pub fn write_descriptor(d: &Descriptor<'_>, out: &mut Vec<u8>) {
    out.push(0x00);
    match d {
        Descriptor::Code(c) => write_ulong(*c, out),
        Descriptor::Symbol(s) => write_variable(0xa3, s.as_bytes(), out),
    }
}

/// Marks where a compound value (list, map, array) starts, so that its size
/// and count can be written once the elements are.
#[derive(Debug, Clone, Copy)]
pub struct CompoundMark(usize);

/// Reserves room for the widest compound header (code, size32, count32).
pub fn begin_compound(out: &mut Vec<u8>) -> CompoundMark {
    let at = out.len();
    out.extend_from_slice(&[0; 9]);
    CompoundMark(at)
}

/// Completes a compound begun with [`begin_compound`]: writes the 8-bit
/// form (`code8`) when size and count fit, else the 32-bit form
/// (`code8 + 0x10`), moving the elements down in the 8-bit case.
pub fn end_compound(out: &mut Vec<u8>, mark: CompoundMark, code8: u8, count: u32) {
    let at = mark.0;
    let content = out.len() - at - 9;
    if content < 255 && count <= 255 {
        out[at] = code8;
        out[at + 1] = (content + 1) as u8;
        out[at + 2] = count as u8;
        out.copy_within(at + 9.., at + 3);
        out.truncate(out.len() - 6);
    } else {
        out[at] = code8 + 0x10;
        out[at + 1..at + 5].copy_from_slice(&((content + 4) as u32).to_be_bytes());
        out[at + 5..at + 9].copy_from_slice(&count.to_be_bytes());
    }
}

/// The element format code an array of `a.kind` uses: one code for every
/// element, the smallest that fits them all. Zero-width forms (uint0,
/// ulong0, list0) are not used for elements, for the sake of peers that
/// mishandle zero-width array elements.
fn array_element_code(a: &Array<'_>) -> u8 {
    let all = |f: &dyn Fn(&Value<'_>) -> bool| a.items.iter().all(f);
    match a.kind {
        TypeKind::Null => 0x40,
        TypeKind::Bool => 0x56,
        TypeKind::Ubyte => 0x50,
        TypeKind::Ushort => 0x60,
        TypeKind::Uint => {
            if all(&|v| matches!(v, Value::Uint(n) if *n <= 255)) {
                0x52
            } else {
                0x70
            }
        }
        TypeKind::Ulong => {
            if all(&|v| matches!(v, Value::Ulong(n) if *n <= 255)) {
                0x53
            } else {
                0x80
            }
        }
        TypeKind::Byte => 0x51,
        TypeKind::Short => 0x61,
        TypeKind::Int => {
            if all(&|v| matches!(v, Value::Int(n) if i8::try_from(*n).is_ok())) {
                0x54
            } else {
                0x71
            }
        }
        TypeKind::Long => {
            if all(&|v| matches!(v, Value::Long(n) if i8::try_from(*n).is_ok())) {
                0x55
            } else {
                0x81
            }
        }
        TypeKind::Float => 0x72,
        TypeKind::Double => 0x82,
        TypeKind::Decimal32 => 0x74,
        TypeKind::Decimal64 => 0x84,
        TypeKind::Decimal128 => 0x94,
        TypeKind::Char => 0x73,
        TypeKind::Timestamp => 0x83,
        TypeKind::Uuid => 0x98,
        TypeKind::Binary => var_code(a, 0xa0),
        TypeKind::String => var_code(a, 0xa1),
        TypeKind::Symbol => var_code(a, 0xa3),
        // An array cannot hold described values without a shared
        // descriptor; such an array is written as an array of nulls.
        TypeKind::Described => 0x40,
        // Compound elements are sized by `encode_array`, which encodes each
        // of them once; this is the 8-bit form, widened there if needed.
        TypeKind::List => 0xc0,
        TypeKind::Map => 0xc1,
        TypeKind::Array => 0xe0,
    }
}

fn var_code(a: &Array<'_>, code8: u8) -> u8 {
    let small = a.items.iter().all(|v| match v {
        Value::Binary(b) => b.len() <= 255,
        Value::String(s) | Value::Symbol(s) => s.len() <= 255,
        _ => true,
    });
    if small { code8 } else { code8 + 0x10 }
}

fn encode_array(a: &Array<'_>, out: &mut Vec<u8>) {
    let mark = begin_compound(out);
    if let Some(d) = &a.descriptor {
        write_descriptor(d, out);
    }
    let mut code = array_element_code(a);
    if matches!(code, 0xc0 | 0xc1 | 0xe0) {
        // Encode each compound element once, then pick the one width that
        // fits them all: linear in the size of the value, however deep.
        let encoded: Vec<Vec<u8>> = a
            .items
            .iter()
            .map(|item| {
                let mut e = Vec::new();
                if item.kind() == a.kind {
                    encode_value(item, &mut e);
                }
                e
            })
            .collect();
        let small = encoded.iter().all(|e| compound_fits_8bit(e));
        if !small {
            code += 0x10;
        }
        out.push(code);
        for e in &encoded {
            if e.is_empty() {
                write_zero_element(code, out);
            } else {
                write_compound_body(code, e, out);
            }
        }
    } else {
        out.push(code);
        for item in &a.items {
            write_element(code, item, out);
        }
    }
    // An array's size covers the count, the constructor and the elements.
    end_compound(out, mark, 0xe0, a.items.len() as u32);
}

/// True if the complete compound encoding `e` (list0, 8- or 32-bit form)
/// can be written in its 8-bit form.
fn compound_fits_8bit(e: &[u8]) -> bool {
    match e.first() {
        Some(0x45 | 0xc0 | 0xc1 | 0xe0) => true,
        Some(_) if e.len() >= 9 => {
            let count = u32::from_be_bytes([e[5], e[6], e[7], e[8]]);
            // 8-bit size covers the count byte and the content.
            count <= 255 && e.len() - 9 < 255
        }
        _ => false,
    }
}

/// Writes the body of `v` (no constructor) as format `code` requires. An
/// element of the wrong type is written as the zero value of the array's
/// type, so that the output is always well formed; the C API refuses such
/// arrays before they get here.
fn write_element(code: u8, v: &Value<'_>, out: &mut Vec<u8>) {
    match (code, v) {
        (0x40, _) => {}
        (0x56, Value::Bool(b)) => out.push(*b as u8),
        (0x50, Value::Ubyte(n)) => out.push(*n),
        (0x51, Value::Byte(n)) => out.push(*n as u8),
        (0x60, Value::Ushort(n)) => out.extend_from_slice(&n.to_be_bytes()),
        (0x61, Value::Short(n)) => out.extend_from_slice(&n.to_be_bytes()),
        (0x52, Value::Uint(n)) => out.push(*n as u8),
        (0x70, Value::Uint(n)) => out.extend_from_slice(&n.to_be_bytes()),
        (0x53, Value::Ulong(n)) => out.push(*n as u8),
        (0x80, Value::Ulong(n)) => out.extend_from_slice(&n.to_be_bytes()),
        (0x54, Value::Int(n)) => out.push(*n as i8 as u8),
        (0x71, Value::Int(n)) => out.extend_from_slice(&n.to_be_bytes()),
        (0x55, Value::Long(n)) => out.push(*n as i8 as u8),
        (0x81, Value::Long(n)) => out.extend_from_slice(&n.to_be_bytes()),
        (0x72, Value::Float(f)) => out.extend_from_slice(&f.to_bits().to_be_bytes()),
        (0x82, Value::Double(f)) => out.extend_from_slice(&f.to_bits().to_be_bytes()),
        (0x74, Value::Decimal32(b)) => out.extend_from_slice(b),
        (0x84, Value::Decimal64(b)) => out.extend_from_slice(b),
        (0x94, Value::Decimal128(b)) => out.extend_from_slice(b),
        (0x73, Value::Char(c)) => out.extend_from_slice(&(*c as u32).to_be_bytes()),
        (0x83, Value::Timestamp(t)) => out.extend_from_slice(&t.to_be_bytes()),
        (0x98, Value::Uuid(u)) => out.extend_from_slice(u),
        (0xa0 | 0xb0, Value::Binary(b)) => write_var_body(code, b, out),
        (0xa1 | 0xb1, Value::String(s)) | (0xa3 | 0xb3, Value::Symbol(s)) => {
            write_var_body(code, s.as_bytes(), out)
        }
        // Compound elements never get here: `encode_array` encodes each
        // once and writes it with `write_compound_body`.
        _ => write_zero_element(code, out),
    }
}

fn write_var_body(code: u8, bytes: &[u8], out: &mut Vec<u8>) {
    if code & 0xf0 == 0xa0 {
        out.push(bytes.len() as u8);
    } else {
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    }
    out.extend_from_slice(bytes);
}

/// `encoded` is a complete compound encoding (any width, or list0);
/// rewrite its header in the width `code` asks for and append the body.
fn write_compound_body(code: u8, encoded: &[u8], out: &mut Vec<u8>) {
    let (count, content): (u32, &[u8]) = match encoded[0] {
        0x45 => (0, &[]),
        0xc0 | 0xc1 | 0xe0 => (u32::from(encoded[2]), &encoded[3..]),
        _ => (
            u32::from_be_bytes([encoded[5], encoded[6], encoded[7], encoded[8]]),
            &encoded[9..],
        ),
    };
    if code & 0xf0 == 0xc0 || code & 0xf0 == 0xe0 {
        out.push((content.len() + 1) as u8);
        out.push(count as u8);
    } else {
        out.extend_from_slice(&((content.len() + 4) as u32).to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
    }
    out.extend_from_slice(content);
}

fn write_zero_element(code: u8, out: &mut Vec<u8>) {
    let width = match code {
        0x50..=0x56 => 1,
        0x60 | 0x61 => 2,
        0x70..=0x74 => 4,
        0x80..=0x84 => 8,
        0x94 | 0x98 => 16,
        0xa0 | 0xa1 | 0xa3 => 1,
        0xb0 | 0xb1 | 0xb3 => 4,
        0xc0 | 0xc1 | 0xe0 => {
            // size 1, count 0 (an empty array also needs a constructor).
            if code == 0xe0 {
                out.extend_from_slice(&[2, 0, 0x40]);
            } else {
                out.extend_from_slice(&[1, 0]);
            }
            return;
        }
        0xd0 | 0xd1 | 0xf0 => {
            if code == 0xf0 {
                out.extend_from_slice(&[0, 0, 0, 5, 0, 0, 0, 0, 0x40]);
            } else {
                out.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0]);
            }
            return;
        }
        _ => 0,
    };
    out.extend(std::iter::repeat_n(0u8, width));
}
