//! Decoding bytes into values. The decoder accepts every valid encoding,
//! borrows strings, symbols and binaries from its input, bounds its nesting
//! depth, and never allocates more elements than the input could hold.

use std::borrow::Cow;

use super::error::{DecodeError, DecodeErrorKind as K, DecodeResult};
use super::value::{Array, Descriptor, TypeKind, Value};

/// How deeply compounds and described values may nest.
pub const MAX_DEPTH: usize = 64;

/// A constructor read from the input: the format code and, for described
/// values, the descriptor.
#[derive(Debug, Clone, PartialEq)]
pub struct Constructor<'a> {
    /// The descriptor, for a described value.
    pub descriptor: Option<Descriptor<'a>>,
    /// The format code of the (undescribed) value that follows.
    pub code: u8,
    /// Offset of the constructor's first byte.
    pub offset: usize,
}

impl Constructor<'_> {
    /// True for a plain (undescribed) null.
    pub fn is_null(&self) -> bool {
        self.descriptor.is_none() && self.code == 0x40
    }
}

/// A cursor over AMQP-encoded bytes.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
    depth: usize,
    /// The nesting allowed: [`MAX_DEPTH`] unless lowered with
    /// [`with_max_depth`](Decoder::with_max_depth).
    max_depth: usize,
    /// Zero-width array elements (nulls, booleans, uint0...) cost nothing
    /// on the wire; this budget, linear in the input's length, bounds how
    /// many one decode may produce in all.
    zero_width_budget: usize,
}

/// Zero-width array elements allowed per input byte, plus a floor.
const ZERO_WIDTH_PER_BYTE: usize = 8;
const ZERO_WIDTH_FLOOR: usize = 4096;

impl<'a> Decoder<'a> {
    /// A decoder at the start of `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Decoder {
            input,
            pos: 0,
            depth: 0,
            max_depth: MAX_DEPTH,
            zero_width_budget: input
                .len()
                .saturating_mul(ZERO_WIDTH_PER_BYTE)
                .saturating_add(ZERO_WIDTH_FLOOR),
        }
    }

    /// A decoder at the start of `input` that refuses values nested more
    /// than `max_depth` levels deep ([`DecodeErrorKind::TooDeep`](K::TooDeep)),
    /// `max_depth` itself being held to [`MAX_DEPTH`].
    pub fn with_max_depth(input: &'a [u8], max_depth: usize) -> Self {
        let mut d = Decoder::new(input);
        d.max_depth = max_depth.min(MAX_DEPTH);
        d
    }

    /// Offset of the next byte to read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> &'a [u8] {
        &self.input[self.pos..]
    }

    /// True when every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.input.len()
    }

    /// An error of `kind` at `offset`.
    pub fn error(&self, offset: usize, kind: K) -> DecodeError {
        DecodeError::new(offset, kind)
    }

    /// Reads `n` bytes.
    pub fn take(&mut self, n: usize) -> DecodeResult<&'a [u8]> {
        let left = self.input.len() - self.pos;
        if n > left {
            return Err(self.error(self.pos, K::Truncated { needed: n - left }));
        }
        let s = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> DecodeResult<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> DecodeResult<u8> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> DecodeResult<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> DecodeResult<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> DecodeResult<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Reads a whole value; fails if bytes are left over.
    pub fn decode_exact(input: &'a [u8]) -> DecodeResult<Value<'a>> {
        let mut d = Decoder::new(input);
        let v = d.read_value()?;
        if !d.is_empty() {
            return Err(d.error(d.pos, K::TrailingBytes(input.len() - d.pos)));
        }
        Ok(v)
    }

    /// Reads a constructor: a format code, or `0x00`, a descriptor and a
    /// format code.
    pub fn read_constructor(&mut self) -> DecodeResult<Constructor<'a>> {
        let offset = self.pos;
        let code = self.u8()?;
        if code != 0x00 {
            return Ok(Constructor {
                descriptor: None,
                code,
                offset,
            });
        }
        let descriptor = self.read_descriptor()?;
        let code_at = self.pos;
        let code = self.u8()?;
        if code == 0x00 {
            // A described descriptor-value, or a described type whose value
            // is itself described: legal but useless; we bound it by
            // reading it as a nested value through read_value.
            self.pos = code_at;
        }
        Ok(Constructor {
            descriptor: Some(descriptor),
            code,
            offset,
        })
    }

    fn read_descriptor(&mut self) -> DecodeResult<Descriptor<'a>> {
        let at = self.pos;
        let code = self.u8()?;
        match code {
            0x44 => Ok(Descriptor::Code(0)),
            0x53 => Ok(Descriptor::Code(u64::from(self.u8()?))),
            0x80 => Ok(Descriptor::Code(self.u64()?)),
            0xa3 | 0xb3 => {
                let len = self.var_len(code)?;
                Ok(Descriptor::Symbol(self.symbol(len)?))
            }
            _ => Err(self.error(at, K::InvalidDescriptor)),
        }
    }

    /// Reads one value of any type.
    pub fn read_value(&mut self) -> DecodeResult<Value<'a>> {
        let ctor = self.read_constructor()?;
        self.read_value_after(ctor)
    }

    /// Reads the value that follows an already-read constructor.
    pub fn read_value_after(&mut self, ctor: Constructor<'a>) -> DecodeResult<Value<'a>> {
        match ctor.descriptor {
            None => self.read_body(ctor.code, ctor.offset),
            Some(d) => {
                self.enter(ctor.offset)?;
                let v = if self.input.get(self.pos) == Some(&0x00) && ctor.code == 0x00 {
                    self.read_value()
                } else {
                    let at = self.pos.saturating_sub(1);
                    self.read_body(ctor.code, at)
                };
                self.depth -= 1;
                Ok(Value::Described(Box::new((d, v?))))
            }
        }
    }

    fn enter(&mut self, at: usize) -> DecodeResult<()> {
        if self.depth >= self.max_depth {
            return Err(self.error(at, K::TooDeep(self.max_depth)));
        }
        self.depth += 1;
        Ok(())
    }

    /// Reads the length prefix of a variable-width value and checks it
    /// against the input.
    fn var_len(&mut self, code: u8) -> DecodeResult<usize> {
        let at = self.pos;
        let len = if code & 0xf0 == 0xa0 {
            usize::from(self.u8()?)
        } else {
            self.u32()? as usize
        };
        let available = self.input.len() - self.pos;
        if len > available {
            return Err(self.error(
                at,
                K::LengthPastEnd {
                    length: len,
                    available,
                },
            ));
        }
        Ok(len)
    }

    fn symbol(&mut self, len: usize) -> DecodeResult<Cow<'a, str>> {
        let at = self.pos;
        let bytes = self.take(len)?;
        if let Some(i) = bytes.iter().position(|b| !b.is_ascii()) {
            return Err(self.error(at + i, K::NonAsciiSymbol(bytes[i])));
        }
        // ASCII is valid UTF-8.
        Ok(Cow::Borrowed(
            std::str::from_utf8(bytes).unwrap_or_default(),
        ))
    }

    fn string(&mut self, len: usize) -> DecodeResult<Cow<'a, str>> {
        let at = self.pos;
        let bytes = self.take(len)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Cow::Borrowed(s)),
            Err(e) => Err(self.error(at + e.valid_up_to(), K::InvalidUtf8)),
        }
    }

    fn char(&mut self, at: usize) -> DecodeResult<char> {
        let n = self.u32()?;
        char::from_u32(n).ok_or_else(|| self.error(at, K::InvalidChar(n)))
    }

    /// Reads a compound header (size, count) for `code`, checking the size
    /// against the input; returns (count, end offset).
    fn compound_header(&mut self, code: u8) -> DecodeResult<(u32, usize)> {
        let at = self.pos;
        let (size, count_width) = if matches!(code, 0xc0 | 0xc1 | 0xe0) {
            (usize::from(self.u8()?), 1)
        } else {
            (self.u32()? as usize, 4)
        };
        let available = self.input.len() - self.pos;
        if size > available {
            return Err(self.error(
                at,
                K::LengthPastEnd {
                    length: size,
                    available,
                },
            ));
        }
        if size < count_width {
            return Err(self.error(
                at,
                K::SizeMismatch {
                    declared: size,
                    actual: count_width,
                },
            ));
        }
        let end = self.pos + size;
        let count = if count_width == 1 {
            u32::from(self.u8()?)
        } else {
            self.u32()?
        };
        Ok((count, end))
    }

    fn check_end(&self, start: usize, end: usize) -> DecodeResult<()> {
        if self.pos != end {
            return Err(self.error(
                start,
                K::SizeMismatch {
                    declared: end - start,
                    actual: self.pos - start,
                },
            ));
        }
        Ok(())
    }

    /// Reads the value for format `code` (its constructor already read at
    /// `at`).
    pub fn read_body(&mut self, code: u8, at: usize) -> DecodeResult<Value<'a>> {
        Ok(match code {
            0x40 => Value::Null,
            0x41 => Value::Bool(true),
            0x42 => Value::Bool(false),
            0x56 => match self.u8()? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                n => {
                    return Err(self.error(
                        at,
                        K::InvalidField {
                            field: "boolean",
                            value: u64::from(n),
                        },
                    ));
                }
            },
            0x50 => Value::Ubyte(self.u8()?),
            0x60 => Value::Ushort(self.u16()?),
            0x70 => Value::Uint(self.u32()?),
            0x52 => Value::Uint(u32::from(self.u8()?)),
            0x43 => Value::Uint(0),
            0x80 => Value::Ulong(self.u64()?),
            0x53 => Value::Ulong(u64::from(self.u8()?)),
            0x44 => Value::Ulong(0),
            0x51 => Value::Byte(self.u8()? as i8),
            0x61 => Value::Short(self.u16()? as i16),
            0x71 => Value::Int(self.u32()? as i32),
            0x54 => Value::Int(i32::from(self.u8()? as i8)),
            0x81 => Value::Long(self.u64()? as i64),
            0x55 => Value::Long(i64::from(self.u8()? as i8)),
            0x72 => Value::Float(f32::from_bits(self.u32()?)),
            0x82 => Value::Double(f64::from_bits(self.u64()?)),
            0x74 => Value::Decimal32(self.array()?),
            0x84 => Value::Decimal64(self.array()?),
            0x94 => Value::Decimal128(self.array()?),
            0x73 => Value::Char(self.char(at)?),
            0x83 => Value::Timestamp(self.u64()? as i64),
            0x98 => Value::Uuid(self.array()?),
            0xa0 | 0xb0 => {
                let len = self.var_len(code)?;
                Value::Binary(Cow::Borrowed(self.take(len)?))
            }
            0xa1 | 0xb1 => {
                let len = self.var_len(code)?;
                Value::String(self.string(len)?)
            }
            0xa3 | 0xb3 => {
                let len = self.var_len(code)?;
                Value::Symbol(self.symbol(len)?)
            }
            0x45 => Value::List(Vec::new()),
            0xc0 | 0xd0 => {
                let (count, end) = self.compound_header(code)?;
                self.bound_count(count, end, 1)?;
                self.enter(at)?;
                let mut items = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    items.push(self.read_value_within(end)?);
                }
                self.depth -= 1;
                self.check_end(at, end)?;
                Value::List(items)
            }
            0xc1 | 0xd1 => {
                let (count, end) = self.compound_header(code)?;
                if count % 2 != 0 {
                    return Err(self.error(at, K::OddMapCount(count)));
                }
                self.bound_count(count, end, 1)?;
                self.enter(at)?;
                let mut pairs = Vec::with_capacity(count as usize / 2);
                for _ in 0..count / 2 {
                    let k = self.read_value_within(end)?;
                    let v = self.read_value_within(end)?;
                    pairs.push((k, v));
                }
                self.depth -= 1;
                self.check_end(at, end)?;
                Value::Map(pairs)
            }
            0xe0 | 0xf0 => {
                let (count, end) = self.compound_header(code)?;
                self.enter(at)?;
                let a = self.read_array_elements(count, end);
                self.depth -= 1;
                let a = a?;
                self.check_end(at, end)?;
                Value::Array(a)
            }
            _ => return Err(self.error(at, K::UnknownFormatCode(code))),
        })
    }

    /// Fails unless `count` elements of at least `min_width` bytes each
    /// could fit between here and `end`.
    fn bound_count(&self, count: u32, end: usize, min_width: usize) -> DecodeResult<()> {
        let available = end - self.pos;
        if (count as usize).saturating_mul(min_width) > available {
            return Err(self.error(
                self.pos,
                K::CountTooLarge {
                    count: u64::from(count),
                    available,
                },
            ));
        }
        Ok(())
    }

    /// Runs `f` with the input cut off at `end`, so that nothing it reads
    /// can run past the enclosing compound.
    pub fn within<R>(&mut self, end: usize, f: impl FnOnce(&mut Self) -> R) -> R {
        let saved = self.input;
        self.input = &saved[..end.min(saved.len())];
        let r = f(self);
        self.input = saved;
        r
    }

    /// Reads a value that must end by `end` (the enclosing compound's end).
    fn read_value_within(&mut self, end: usize) -> DecodeResult<Value<'a>> {
        let at = self.pos;
        if at >= end {
            return Err(self.error(at, K::Truncated { needed: 1 }));
        }
        let saved = self.input;
        self.input = &saved[..end];
        let v = self.read_value();
        self.input = saved;
        v
    }

    fn read_array_elements(&mut self, count: u32, end: usize) -> DecodeResult<Array<'a>> {
        let saved = self.input;
        self.input = &saved[..end];
        let r = self.read_array_elements_inner(count, end);
        self.input = saved;
        r
    }

    fn read_array_elements_inner(&mut self, count: u32, end: usize) -> DecodeResult<Array<'a>> {
        let ctor = self.read_constructor()?;
        if ctor.code == 0x00 {
            return Err(self.error(ctor.offset, K::InvalidDescriptor));
        }
        let code = ctor.code;
        let kind = element_kind(code)
            .ok_or_else(|| self.error(ctor.offset, K::UnknownFormatCode(code)))?;
        let width = element_min_width(code);
        if width == 0 {
            // Zero-width elements cost nothing on the wire: draw them from
            // the decode's budget so that memory stays linear in the input.
            if count as usize > self.zero_width_budget {
                return Err(self.error(
                    ctor.offset,
                    K::CountTooLarge {
                        count: u64::from(count),
                        available: end - ctor.offset,
                    },
                ));
            }
            self.zero_width_budget -= count as usize;
        } else {
            self.bound_count(count, end, width)?;
        }
        let mut items = Vec::with_capacity(count as usize);
        for index in 0..count {
            let at = self.pos;
            let v = self.read_body(code, at).map_err(|e| match e.kind {
                K::Truncated { .. } | K::LengthPastEnd { .. } => {
                    self.error(at, K::ArrayElement { index, code })
                }
                _ => e,
            })?;
            items.push(v);
        }
        Ok(Array {
            descriptor: ctor.descriptor,
            kind,
            items,
        })
    }
}

/// The smallest number of bytes one element with format `code` occupies.
fn element_min_width(code: u8) -> usize {
    match code {
        0x40..=0x45 => 0,
        0x60 | 0x61 => 2,
        0x70..=0x74 => 4,
        0x80..=0x84 => 8,
        0x94 | 0x98 => 16,
        0xb0..=0xb3 | 0xd0 | 0xd1 | 0xf0 => 4,
        _ => 1,
    }
}

/// The type whose values format `code` encodes.
pub fn element_kind(code: u8) -> Option<TypeKind> {
    Some(match code {
        0x40 => TypeKind::Null,
        0x41 | 0x42 | 0x56 => TypeKind::Bool,
        0x50 => TypeKind::Ubyte,
        0x60 => TypeKind::Ushort,
        0x70 | 0x52 | 0x43 => TypeKind::Uint,
        0x80 | 0x53 | 0x44 => TypeKind::Ulong,
        0x51 => TypeKind::Byte,
        0x61 => TypeKind::Short,
        0x71 | 0x54 => TypeKind::Int,
        0x81 | 0x55 => TypeKind::Long,
        0x72 => TypeKind::Float,
        0x82 => TypeKind::Double,
        0x74 => TypeKind::Decimal32,
        0x84 => TypeKind::Decimal64,
        0x94 => TypeKind::Decimal128,
        0x73 => TypeKind::Char,
        0x83 => TypeKind::Timestamp,
        0x98 => TypeKind::Uuid,
        0xa0 | 0xb0 => TypeKind::Binary,
        0xa1 | 0xb1 => TypeKind::String,
        0xa3 | 0xb3 => TypeKind::Symbol,
        0x45 | 0xc0 | 0xd0 => TypeKind::List,
        0xc1 | 0xd1 => TypeKind::Map,
        0xe0 | 0xf0 => TypeKind::Array,
        _ => return None,
    })
}
