//! `muon_value_format`: values as readable text, in the notation of
//! Python's `str()` as Qpid Proton's Python binding prints them, so that
//! muon's output can be compared with Proton's line for line.

use std::ffi::c_char;
use std::fmt::Write;

use super::boundary::{borrow, boundary, copy_out};
use super::value::muon_value;
use crate::codec::{Array, Descriptor, Value};

/// Formats `v`; `top` is true only for the outermost value, which prints a
/// string bare, as Python's `str()` does.
pub(crate) fn format_value(v: &Value<'_>, top: bool, out: &mut String) {
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Ubyte(n) => push_int(out, u64::from(*n), false),
        Value::Ushort(n) => push_int(out, u64::from(*n), false),
        Value::Uint(n) => push_int(out, u64::from(*n), false),
        Value::Ulong(n) => push_int(out, *n, false),
        Value::Byte(n) => push_int(out, i64::from(*n).unsigned_abs(), *n < 0),
        Value::Short(n) => push_int(out, i64::from(*n).unsigned_abs(), *n < 0),
        Value::Int(n) => push_int(out, i64::from(*n).unsigned_abs(), *n < 0),
        Value::Long(n) => push_int(out, n.unsigned_abs(), *n < 0),
        Value::Float(f) => python_float(&format!("{f:e}"), f.is_nan(), f.is_infinite(), out),
        Value::Double(f) => python_float(&format!("{f:e}"), f.is_nan(), f.is_infinite(), out),
        Value::Decimal32(b) => hex_tagged("decimal32", b, out),
        Value::Decimal64(b) => hex_tagged("decimal64", b, out),
        Value::Decimal128(b) => hex_tagged("decimal128", b, out),
        Value::Char(c) => python_str(c.encode_utf8(&mut [0; 4]), out),
        Value::Timestamp(ms) => {
            let _ = write!(out, "ts:{ms}");
        }
        Value::Uuid(u) => uuid(u, out),
        Value::Binary(b) => python_bytes(b, out),
        Value::String(s) if top => out.push_str(s),
        Value::String(s) => python_str(s, out),
        Value::Symbol(s) => {
            out.push(':');
            symbol(s, out);
        }
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                separator(i, out);
                format_value(item, false, out);
            }
            out.push(']');
        }
        Value::Map(pairs) => {
            out.push('{');
            for (i, (k, v)) in pairs.iter().enumerate() {
                separator(i, out);
                format_value(k, false, out);
                out.push_str(": ");
                format_value(v, false, out);
            }
            out.push('}');
        }
        Value::Array(a) => array(a, out),
        Value::Described(b) => {
            descriptor(&b.0, out);
            out.push(' ');
            format_value(&b.1, false, out);
        }
    }
}

/// Decimal digits without `core::fmt` (which cost more than the rest of a
/// small message's formatting).
fn push_int(out: &mut String, mut n: u64, negative: bool) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if negative {
        out.push('-');
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

fn separator(i: usize, out: &mut String) {
    if i > 0 {
        out.push_str(", ");
    }
}

fn array(a: &Array<'_>, out: &mut String) {
    if let Some(d) = &a.descriptor {
        descriptor(d, out);
        out.push(' ');
    }
    out.push('@');
    out.push_str(a.kind.name());
    out.push('[');
    for (i, item) in a.items.iter().enumerate() {
        separator(i, out);
        format_value(item, false, out);
    }
    out.push(']');
}

fn descriptor(d: &Descriptor<'_>, out: &mut String) {
    out.push('@');
    match d {
        Descriptor::Code(c) => {
            let _ = write!(out, "0x{c:x}");
        }
        Descriptor::Symbol(s) => {
            out.push(':');
            symbol(s, out);
        }
    }
}

/// A symbol's text: bare when it is a plain name (a letter or `_`, then
/// letters, digits and `_ - . :`), else quoted like a string.
fn symbol(s: &str, out: &mut String) {
    let mut chars = s.chars();
    let plain = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    if plain {
        out.push_str(s);
    } else {
        python_str(s, out);
    }
}

fn hex_tagged(tag: &str, bytes: &[u8], out: &mut String) {
    out.push_str(tag);
    out.push_str("(0x");
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out.push(')');
}

fn uuid(u: &[u8; 16], out: &mut String) {
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{b:02x}");
    }
}

/// Python's quote choice: single quotes unless the text holds a single
/// quote and no double quote.
fn quote_for(has_single: bool, has_double: bool) -> char {
    if has_single && !has_double { '"' } else { '\'' }
}

/// A string as Python's `repr()` writes it. Control characters (C0, DEL,
/// C1) are escaped; every other character is kept as it is.
fn python_str(s: &str, out: &mut String) {
    let q = quote_for(s.contains('\''), s.contains('"'));
    out.reserve(s.len() + 2);
    out.push(q);
    // Runs of characters that need no escape are copied whole.
    let plain = |c: char| c != '\\' && c != q && !c.is_control();
    let mut rest = s;
    while let Some(i) = rest.find(|c: char| !plain(c)) {
        out.push_str(&rest[..i]);
        let c = rest[i..].chars().next().unwrap_or(' ');
        rest = &rest[i + c.len_utf8()..];
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push_str(rest);
    out.push(q);
}

/// Bytes as Python's `repr()` writes them: `b'...'`, printable ASCII kept,
/// everything else as `\xhh`.
fn python_bytes(b: &[u8], out: &mut String) {
    let q = quote_for(b.contains(&b'\''), b.contains(&b'"'));
    out.push('b');
    out.push(q);
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c if c == q as u8 => {
                out.push('\\');
                out.push(c as char);
            }
            0x20..=0x7e => out.push(c as char),
            c => {
                let _ = write!(out, "\\x{c:02x}");
            }
        }
    }
    out.push(q);
}

/// A float as Python's `repr()` writes it, from the shortest round-trip
/// digits in Rust's `{:e}` form (`d.ddde[-]x`): positional for exponents
/// from -4 to 15 (always with a fractional part), scientific otherwise
/// (`1e+16`, `1.5e-05`).
fn python_float(sci: &str, nan: bool, infinite: bool, out: &mut String) {
    if nan {
        out.push_str("nan");
        return;
    }
    if infinite {
        out.push_str(if sci.starts_with('-') { "-inf" } else { "inf" });
        return;
    }
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if negative {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(&digits);
        } else {
            let point = exp as usize + 1;
            if digits.len() > point {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            } else {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', point - digits.len()));
                out.push_str(".0");
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
}

/// Writes `v` as readable text into `buf`, always NUL-terminated when `cap`
/// is at least 1, and returns the length of the full text (without the
/// NUL), like `snprintf`: the text was cut short when the result is `cap`
/// or more. Cutting never splits a UTF-8 character. A NULL `v` formats as
/// the empty string.
///
/// The notation is that of Python's `str()` on Qpid Proton's Python values:
/// - a top-level string prints bare: `Hello World!`; inside anything
///   (list, map, array, described) it is quoted as Python's `repr()` does:
///   `'abc'`, `"it's"`, with `\n`, `\t`, `\\`, `\xhh` escapes for control
///   characters;
/// - null `None`, booleans `True` / `False`, integers in decimal;
/// - float and double in the shortest text that reads back to the same
///   number, as Python writes it: `1.5`, `1.0`, `1e+16`, `1.5e-05`, `nan`,
///   `inf` (a float is shortest as a 32-bit number: `0.1`);
/// - char quoted: `'c'`;
/// - timestamp: `ts:` then the milliseconds since the epoch, `ts:1700000000000`;
/// - uuid: canonical lower-case 8-4-4-4-12 form;
/// - binary: `b'\x00ab'`;
/// - symbol: `:name`, or `:'two words'` when it is not a plain name
///   (a letter or `_`, then letters, digits, `_`, `-`, `.`, `:`);
/// - decimal32/64/128: the tag and the bytes in hex, `decimal32(0x30800001)`;
/// - list `[1, 'a']`, map `{'sequence': 1}`;
/// - array: `@` and the element type's AMQP name, `@int[1, 2]`;
/// - described: `@` descriptor, a space, the value: `@0x70 [True]`,
///   `@:com.example:thing 'x'`; an array whose elements share a
///   descriptor prints that descriptor before the array.
///
/// `v` and `buf` are borrowed for the call; `buf` may be NULL when `cap` is 0,
/// to ask for the length. Not thread-safe: use one value from one thread at a
/// time. May be called from a callback.
///
/// # Safety
/// `v` is NULL or a value or view from this API; `buf` is NULL or valid for
/// writing `cap` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_value_format(
    v: *const muon_value,
    buf: *mut c_char,
    cap: usize,
) -> usize {
    boundary!(0, {
        let mut text = String::with_capacity(cap.clamp(64, 1 << 16));
        // SAFETY: `v` is NULL or live, per the contract.
        if let Ok(value) = unsafe { borrow(v) } {
            format_value(value, true, &mut text);
        }
        // SAFETY: `buf` is NULL or has room for `cap` bytes, per the contract.
        unsafe { write_c_text(&text, buf, cap) };
        text.len()
    })
}

/// Copies as much of `text` as fits in `cap - 1` bytes (ending on a
/// character boundary) and a NUL.
///
/// # Safety
/// `buf` is NULL or valid for writing `cap` bytes.
pub(crate) unsafe fn write_c_text(text: &str, buf: *mut c_char, cap: usize) {
    if buf.is_null() || cap == 0 {
        return;
    }
    let mut n = text.len().min(cap - 1);
    while !text.is_char_boundary(n) {
        n -= 1;
    }
    // SAFETY: `buf` has room for `cap > n` bytes, per the caller.
    unsafe {
        copy_out(&text.as_bytes()[..n], buf.cast(), cap);
        buf.add(n).write(0);
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::codec::TypeKind;

    fn fmt(v: &Value<'_>) -> String {
        let mut s = String::new();
        format_value(v, true, &mut s);
        s
    }

    #[test]
    fn floats_print_as_python_does() {
        let cases: [(f64, &str); 14] = [
            (1.0, "1.0"),
            (1.5, "1.5"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (100.0, "100.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00015, "0.00015"),
            (1.5e-5, "1.5e-05"),
            (1e-300, "1e-300"),
            (f64::INFINITY, "inf"),
        ];
        for (f, want) in cases {
            assert_eq!(fmt(&Value::Double(f)), want, "{f:?}");
        }
        assert_eq!(fmt(&Value::Double(f64::NAN)), "nan");
        assert_eq!(fmt(&Value::Double(f64::NEG_INFINITY)), "-inf");
        assert_eq!(fmt(&Value::Float(0.1)), "0.1");
        assert_eq!(fmt(&Value::Float(3.0e38)), "3e+38");
    }

    #[test]
    fn strings_quote_as_python_repr() {
        let nested = |s: &str| fmt(&Value::List(vec![Value::String(Cow::Borrowed(s))]));
        assert_eq!(nested("abc"), "['abc']");
        assert_eq!(nested("it's"), "[\"it's\"]");
        assert_eq!(nested("'\""), "['\\'\"']");
        assert_eq!(nested("a\nb\\\u{7}é"), "['a\\nb\\\\\\x07é']");
        assert_eq!(fmt(&Value::str("top 'level'")), "top 'level'");
        assert_eq!(
            fmt(&Value::Binary(Cow::Borrowed(b"\x00ab'\xff"))),
            "b\"\\x00ab'\\xff\""
        );
    }

    #[test]
    fn containers_and_described() {
        let map = Value::Map(vec![(Value::str("sequence"), Value::Int(1))]);
        assert_eq!(fmt(&map), "{'sequence': 1}");
        let arr = Value::Array(Array {
            descriptor: Some(Descriptor::Code(0x70)),
            kind: TypeKind::Int,
            items: vec![Value::Int(1), Value::Int(2)],
        });
        assert_eq!(fmt(&arr), "@0x70 @int[1, 2]");
        let d = Value::Described(Box::new((
            Descriptor::Symbol(Cow::Borrowed("a b")),
            Value::sym("x-opt"),
        )));
        assert_eq!(fmt(&d), "@:'a b' :x-opt");
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        let mut buf = [0x55u8; 4];
        // SAFETY: `buf` is a live local array of 4 bytes.
        unsafe { write_c_text("aé€", buf.as_mut_ptr().cast(), 4) };
        assert_eq!(&buf, b"a\xc3\xa9\0");
        // SAFETY: as above.
        unsafe { write_c_text("aé€", buf.as_mut_ptr().cast(), 2) };
        assert_eq!(&buf[..2], b"a\0");
    }
}
