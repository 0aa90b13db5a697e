//! Typed fields and described lists: the machinery behind every composite
//! type of the spec (performatives, SASL frames, message sections, delivery
//! states, termini).
//!
//! Composites own their data, so that the engine can keep them; they are
//! decoded straight from the bytes, without building a [`Value`] tree first.
//! The [`composite!`](crate::composite) macro writes a composite's struct,
//! encoder and decoder from its field list, in the order of the XML.

use super::decode::{Constructor, Decoder};
use super::encode::{
    CompoundMark, begin_compound, encode_value, write_uint, write_ulong, write_variable,
};
use super::error::{DecodeErrorKind as K, DecodeResult};
use super::value::{Descriptor, Value};

/// Writes a typed value.
pub trait Encode {
    /// Appends the encoding of `self` to `out`.
    fn encode(&self, out: &mut Vec<u8>);
}

/// Reads a typed value.
pub trait Decode<'a>: Sized {
    /// The AMQP type name, for error messages.
    const NAME: &'static str;
    /// Reads the value that follows `ctor` (never a plain null: the caller
    /// turns that into an absent field).
    fn decode(d: &mut Decoder<'a>, ctor: Constructor<'a>) -> DecodeResult<Self>;
}

impl<'a> Decoder<'a> {
    /// Reads an optional typed value: `None` for null.
    pub fn read<T: Decode<'a>>(&mut self) -> DecodeResult<Option<T>> {
        let ctor = self.read_constructor()?;
        if ctor.is_null() {
            return Ok(None);
        }
        T::decode(self, ctor).map(Some)
    }
}

fn unexpected<T>(
    d: &Decoder<'_>,
    ctor: &Constructor<'_>,
    expected: &'static str,
) -> DecodeResult<T> {
    Err(d.error(
        ctor.offset,
        K::UnexpectedType {
            expected,
            found: if ctor.descriptor.is_some() {
                0x00
            } else {
                ctor.code
            },
        },
    ))
}

/// A primitive field read straight from its bytes (no [`Value`] in
/// between: fields of frames are read on every transfer and flow).
macro_rules! primitive {
    ($t:ty, $name:literal, |$d:ident, $ctor:ident| { $($pat:pat => $e:expr),+ $(,)? }) => {
        impl<'a> Decode<'a> for $t {
            const NAME: &'static str = $name;
            #[inline]
            fn decode($d: &mut Decoder<'a>, $ctor: Constructor<'a>) -> DecodeResult<Self> {
                if $ctor.descriptor.is_none() {
                    match $ctor.code {
                        $($pat => return Ok($e),)+
                        _ => {}
                    }
                }
                unexpected($d, &$ctor, $name)
            }
        }
    };
}

primitive!(bool, "boolean", |d, ctor| {
    0x41 => true,
    0x42 => false,
    0x56 => match d.read_body(0x56, ctor.offset)? {
        Value::Bool(v) => v,
        _ => return unexpected(d, &ctor, "boolean"),
    },
});
primitive!(u8, "ubyte", |d, ctor| { 0x50 => d.u8()? });
primitive!(u16, "ushort", |d, ctor| { 0x60 => d.u16()? });
primitive!(u32, "uint", |d, ctor| {
    0x70 => d.u32()?,
    0x52 => u32::from(d.u8()?),
    0x43 => 0,
});
primitive!(u64, "ulong", |d, ctor| {
    0x80 => d.u64()?,
    0x53 => u64::from(d.u8()?),
    0x44 => 0,
});
primitive!(i8, "byte", |d, ctor| { 0x51 => d.u8()? as i8 });
primitive!(i16, "short", |d, ctor| { 0x61 => d.u16()? as i16 });
primitive!(i32, "int", |d, ctor| {
    0x71 => d.u32()? as i32,
    0x54 => i32::from(d.u8()? as i8),
});
primitive!(i64, "long", |d, ctor| {
    0x81 => d.u64()? as i64,
    0x55 => i64::from(d.u8()? as i8),
});
primitive!(f64, "double", |d, ctor| { 0x82 => f64::from_bits(d.u64()?) });

impl Encode for bool {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(if *self { 0x41 } else { 0x42 });
    }
}
impl Encode for u8 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[0x50, *self]);
    }
}
impl Encode for u16 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(0x60);
        out.extend_from_slice(&self.to_be_bytes());
    }
}
impl Encode for u32 {
    fn encode(&self, out: &mut Vec<u8>) {
        write_uint(*self, out);
    }
}
impl Encode for u64 {
    fn encode(&self, out: &mut Vec<u8>) {
        write_ulong(*self, out);
    }
}
impl Encode for i64 {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_value(&Value::Long(*self), out);
    }
}
impl Encode for f64 {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_value(&Value::Double(*self), out);
    }
}

impl<'a> Decode<'a> for String {
    const NAME: &'static str = "string";
    fn decode(d: &mut Decoder<'a>, ctor: Constructor<'a>) -> DecodeResult<Self> {
        if ctor.descriptor.is_none()
            && matches!(ctor.code, 0xa1 | 0xb1)
            && let Value::String(s) = d.read_body(ctor.code, ctor.offset)?
        {
            return Ok(s.into_owned());
        }
        unexpected(d, &ctor, "string")
    }
}
impl Encode for String {
    fn encode(&self, out: &mut Vec<u8>) {
        write_variable(0xa1, self.as_bytes(), out);
    }
}
impl Encode for str {
    fn encode(&self, out: &mut Vec<u8>) {
        write_variable(0xa1, self.as_bytes(), out);
    }
}

/// An AMQP symbol: an ASCII name such as `amqp:accepted:list`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Symbol(pub String);

impl Symbol {
    /// The symbol `s`.
    pub fn new(s: impl Into<String>) -> Self {
        Symbol(s.into())
    }
    /// The symbol's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl From<&str> for Symbol {
    fn from(s: &str) -> Self {
        Symbol(s.to_owned())
    }
}
impl<'a> Decode<'a> for Symbol {
    const NAME: &'static str = "symbol";
    fn decode(d: &mut Decoder<'a>, ctor: Constructor<'a>) -> DecodeResult<Self> {
        if ctor.descriptor.is_none()
            && matches!(ctor.code, 0xa3 | 0xb3)
            && let Value::Symbol(s) = d.read_body(ctor.code, ctor.offset)?
        {
            return Ok(Symbol(s.into_owned()));
        }
        unexpected(d, &ctor, "symbol")
    }
}
impl Encode for Symbol {
    fn encode(&self, out: &mut Vec<u8>) {
        write_variable(0xa3, self.0.as_bytes(), out);
    }
}

/// A field declared `multiple="true"` of symbols: sent as an array,
/// accepted as an array or as a single symbol (SEMANTICS.md, leniency).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Symbols(pub Vec<Symbol>);

impl Symbols {
    /// True if `s` is one of the symbols.
    pub fn contains(&self, s: &str) -> bool {
        self.0.iter().any(|x| x.0 == s)
    }
}
impl<'a> Decode<'a> for Symbols {
    const NAME: &'static str = "symbol array";
    fn decode(d: &mut Decoder<'a>, ctor: Constructor<'a>) -> DecodeResult<Self> {
        if ctor.descriptor.is_none() && matches!(ctor.code, 0xe0 | 0xf0) {
            let at = ctor.offset;
            if let Value::Array(a) = d.read_body(ctor.code, at)? {
                let mut out = Vec::with_capacity(a.items.len());
                for item in a.items {
                    match item {
                        Value::Symbol(s) if a.descriptor.is_none() => {
                            out.push(Symbol(s.into_owned()))
                        }
                        _ => {
                            return Err(d.error(
                                at,
                                K::UnexpectedType {
                                    expected: "symbol array",
                                    found: ctor.code,
                                },
                            ));
                        }
                    }
                }
                return Ok(Symbols(out));
            }
        }
        Symbol::decode(d, ctor).map(|s| Symbols(vec![s]))
    }
}
impl Encode for Symbols {
    fn encode(&self, out: &mut Vec<u8>) {
        let long = self.0.iter().any(|s| s.0.len() > 255);
        let mark = begin_compound(out);
        out.push(if long { 0xb3 } else { 0xa3 });
        for s in &self.0 {
            if long {
                out.extend_from_slice(&(s.0.len() as u32).to_be_bytes());
            } else {
                out.push(s.0.len() as u8);
            }
            out.extend_from_slice(s.0.as_bytes());
        }
        super::encode::end_compound(out, mark, 0xe0, self.0.len() as u32);
    }
}

/// An owned binary.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Binary(pub Vec<u8>);

impl<'a> Decode<'a> for Binary {
    const NAME: &'static str = "binary";
    fn decode(d: &mut Decoder<'a>, ctor: Constructor<'a>) -> DecodeResult<Self> {
        if ctor.descriptor.is_none()
            && matches!(ctor.code, 0xa0 | 0xb0)
            && let Value::Binary(b) = d.read_body(ctor.code, ctor.offset)?
        {
            return Ok(Binary(b.into_owned()));
        }
        unexpected(d, &ctor, "binary")
    }
}
impl Encode for Binary {
    fn encode(&self, out: &mut Vec<u8>) {
        write_variable(0xa0, &self.0, out);
    }
}

/// A delivery tag (§2.8.7): at most 32 bytes, stored inline so that
/// transfers cost no heap allocation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DeliveryTag {
    len: u8,
    bytes: [u8; 32],
}

impl DeliveryTag {
    /// The longest tag the spec allows.
    pub const MAX_LEN: usize = 32;

    /// A tag holding `b`, or `None` if it is longer than 32 bytes.
    pub fn new(b: &[u8]) -> Option<Self> {
        if b.len() > Self::MAX_LEN {
            return None;
        }
        let mut t = DeliveryTag {
            len: b.len() as u8,
            bytes: [0; 32],
        };
        t.bytes[..b.len()].copy_from_slice(b);
        Some(t)
    }

    /// A tag holding the big-endian bytes of `n` (8 bytes).
    pub fn from_u64(n: u64) -> Self {
        let mut t = DeliveryTag {
            len: 8,
            bytes: [0; 32],
        };
        t.bytes[..8].copy_from_slice(&n.to_be_bytes());
        t
    }

    /// The tag's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}
impl std::fmt::Debug for DeliveryTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeliveryTag(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}
impl<'a> Decode<'a> for DeliveryTag {
    const NAME: &'static str = "delivery-tag";
    fn decode(d: &mut Decoder<'a>, ctor: Constructor<'a>) -> DecodeResult<Self> {
        if ctor.descriptor.is_none()
            && matches!(ctor.code, 0xa0 | 0xb0)
            && let Value::Binary(b) = d.read_body(ctor.code, ctor.offset)?
        {
            return DeliveryTag::new(&b).ok_or_else(|| {
                d.error(
                    ctor.offset,
                    K::InvalidField {
                        field: "delivery-tag length",
                        value: b.len() as u64,
                    },
                )
            });
        }
        unexpected(d, &ctor, "delivery-tag")
    }
}
impl Encode for DeliveryTag {
    fn encode(&self, out: &mut Vec<u8>) {
        write_variable(0xa0, self.as_bytes(), out);
    }
}

/// A timestamp: milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Timestamp(pub i64);

impl<'a> Decode<'a> for Timestamp {
    const NAME: &'static str = "timestamp";
    fn decode(d: &mut Decoder<'a>, ctor: Constructor<'a>) -> DecodeResult<Self> {
        if ctor.descriptor.is_none()
            && ctor.code == 0x83
            && let Value::Timestamp(t) = d.read_body(ctor.code, ctor.offset)?
        {
            return Ok(Timestamp(t));
        }
        unexpected(d, &ctor, "timestamp")
    }
}
impl Encode for Timestamp {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_value(&Value::Timestamp(self.0), out);
    }
}

/// Any value, owned.
impl<'a> Decode<'a> for Value<'static> {
    const NAME: &'static str = "*";
    fn decode(d: &mut Decoder<'a>, ctor: Constructor<'a>) -> DecodeResult<Self> {
        d.read_value_after(ctor).map(Value::into_owned)
    }
}
impl Encode for Value<'_> {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_value(self, out);
    }
}

/// A map kept as its key/value pairs in wire order, owned: `fields`,
/// annotations, filter sets, node properties.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map(pub Vec<(Value<'static>, Value<'static>)>);

impl Map {
    /// The value under the symbol or string key `key`.
    pub fn get(&self, key: &str) -> Option<&Value<'static>> {
        self.0.iter().find_map(|(k, v)| match k {
            Value::Symbol(s) | Value::String(s) if s == key => Some(v),
            _ => None,
        })
    }
}
impl<'a> Decode<'a> for Map {
    const NAME: &'static str = "map";
    fn decode(d: &mut Decoder<'a>, ctor: Constructor<'a>) -> DecodeResult<Self> {
        if ctor.descriptor.is_none()
            && matches!(ctor.code, 0xc1 | 0xd1)
            && let Value::Map(m) = d.read_body(ctor.code, ctor.offset)?
        {
            return Ok(Map(m
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()));
        }
        unexpected(d, &ctor, "map")
    }
}
impl Encode for Map {
    fn encode(&self, out: &mut Vec<u8>) {
        let mark = begin_compound(out);
        for (k, v) in &self.0 {
            encode_value(k, out);
            encode_value(v, out);
        }
        super::encode::end_compound(out, mark, 0xc1, (self.0.len() * 2) as u32);
    }
}

/// Writes a described list field by field, eliding trailing nulls.
pub struct ListWriter<'o> {
    out: &'o mut Vec<u8>,
    mark: CompoundMark,
    start: usize,
    count: u32,
    kept_len: usize,
    kept_count: u32,
}

impl<'o> ListWriter<'o> {
    /// Begins the described list with numeric descriptor `code`.
    pub fn new(out: &'o mut Vec<u8>, code: u64) -> Self {
        out.push(0x00);
        write_ulong(code, out);
        let start = out.len();
        let mark = begin_compound(out);
        let kept_len = out.len();
        ListWriter {
            out,
            mark,
            start,
            count: 0,
            kept_len,
            kept_count: 0,
        }
    }

    /// Writes one field; `None` is null.
    pub fn field<T: Encode + ?Sized>(&mut self, v: Option<&T>) {
        self.count += 1;
        match v {
            None => self.out.push(0x40),
            Some(v) => {
                v.encode(self.out);
                self.kept_len = self.out.len();
                self.kept_count = self.count;
            }
        }
    }

    /// Completes the list: trailing nulls dropped, smallest list encoding.
    pub fn finish(self) {
        self.out.truncate(self.kept_len);
        if self.kept_count == 0 {
            self.out.truncate(self.start);
            self.out.push(0x45);
        } else {
            super::encode::end_compound(self.out, self.mark, 0xc0, self.kept_count);
        }
    }
}

/// Reads the fields of a described list in order; fields past the end of a
/// short list are absent.
pub struct ListReader<'d, 'a> {
    d: &'d mut Decoder<'a>,
    left: u32,
    end: usize,
    start: usize,
}

impl<'d, 'a> ListReader<'d, 'a> {
    /// Starts reading the list body whose format code is in `ctor`.
    pub fn new(
        d: &'d mut Decoder<'a>,
        ctor: &Constructor<'a>,
        name: &'static str,
    ) -> DecodeResult<Self> {
        let start = ctor.offset;
        let (left, end) = match ctor.code {
            0x45 => (0, d.position()),
            0xc0 | 0xd0 => {
                let at = d.position();
                let (size, count) = if ctor.code == 0xc0 {
                    let s = d.take(2)?;
                    (usize::from(s[0]), u32::from(s[1]))
                } else {
                    let s = d.take(8)?;
                    (
                        u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize,
                        u32::from_be_bytes([s[4], s[5], s[6], s[7]]),
                    )
                };
                let width = if ctor.code == 0xc0 { 1 } else { 4 };
                let end = at + width + size;
                let available = d.remaining().len() + (d.position() - at - width);
                if size < width || size > available {
                    return Err(d.error(
                        at,
                        K::LengthPastEnd {
                            length: size,
                            available,
                        },
                    ));
                }
                (count, end)
            }
            _ => return unexpected(d, ctor, name),
        };
        Ok(ListReader {
            d,
            left,
            end,
            start,
        })
    }

    /// Reads the next field; `None` if null or past the end of the list.
    /// The field cannot read past the list's declared end.
    #[allow(clippy::should_implement_trait)] // fallible and typed per call: not an Iterator
    pub fn next<T: Decode<'a>>(&mut self) -> DecodeResult<Option<T>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        if self.d.position() >= self.end {
            return Err(self.d.error(self.d.position(), K::Truncated { needed: 1 }));
        }
        let end = self.end;
        // Most fields are plain values, often nulls: read those without
        // the general constructor (descriptors and all).
        let at = self.d.position();
        match self.d.remaining().first() {
            Some(0x40) => {
                self.d.take(1)?;
                Ok(None)
            }
            Some(&code) if code != 0x00 => {
                self.d.take(1)?;
                let ctor = Constructor {
                    descriptor: None,
                    code,
                    offset: at,
                };
                self.d.within(end, |d| T::decode(d, ctor)).map(Some)
            }
            _ => self.d.within(end, |d| d.read::<T>()),
        }
    }

    /// Reads the next field, which must be present.
    pub fn required<T: Decode<'a>>(
        &mut self,
        composite: &'static str,
        field: &'static str,
    ) -> DecodeResult<T> {
        let at = self.d.position();
        self.next::<T>()?
            .ok_or_else(|| self.d.error(at, K::MissingField { composite, field }))
    }

    /// Skips fields this version does not know and checks the list size.
    pub fn finish(self) -> DecodeResult<()> {
        for _ in 0..self.left {
            if self.d.position() >= self.end {
                break;
            }
            self.d.read_value()?;
        }
        if self.d.position() != self.end {
            return Err(self.d.error(
                self.start,
                K::SizeMismatch {
                    declared: self.end - self.start,
                    actual: self.d.position() - self.start,
                },
            ));
        }
        Ok(())
    }
}

/// True if `d` names the composite with numeric `code` or symbolic `name`.
pub fn descriptor_is(d: &Descriptor<'_>, code: u64, name: &str) -> bool {
    match d {
        Descriptor::Code(c) => *c == code,
        Descriptor::Symbol(s) => s == name,
    }
}

/// Turns a descriptor into text for error messages.
pub fn descriptor_text(d: &Descriptor<'_>) -> String {
    match d {
        Descriptor::Code(c) => format!("0x{:08x}:0x{:08x}", c >> 32, c & 0xffff_ffff),
        Descriptor::Symbol(s) => s.to_string(),
    }
}

/// Defines a composite type (a described list) from its fields in XML
/// order. Each field is `name: req T` (mandatory), `name: opt T`
/// (`Option<T>`, absent is `None`) or `name: def T = expr` (absent takes
/// the default; encoded as null when equal to it). A leading `no_debug`
/// leaves `Debug` out, for types that write their own (the SASL frames
/// that carry credentials redact them).
#[macro_export]
macro_rules! composite {
    (
        no_debug
        $(#[$meta:meta])*
        pub struct $name:ident = ($amqp:literal, $code:literal) {
            $( $(#[$fmeta:meta])* $field:ident : $kind:ident $fty:ty $(= $def:expr)? ),* $(,)?
        }
    ) => {
        $crate::composite! {
            @define [Clone, PartialEq]
            $(#[$meta])*
            pub struct $name = ($amqp, $code) {
                $( $(#[$fmeta])* $field : $kind $fty $(= $def)? ),*
            }
        }
    };
    (
        $(#[$meta:meta])*
        pub struct $name:ident = ($amqp:literal, $code:literal) {
            $( $(#[$fmeta:meta])* $field:ident : $kind:ident $fty:ty $(= $def:expr)? ),* $(,)?
        }
    ) => {
        $crate::composite! {
            @define [Debug, Clone, PartialEq]
            $(#[$meta])*
            pub struct $name = ($amqp, $code) {
                $( $(#[$fmeta])* $field : $kind $fty $(= $def)? ),*
            }
        }
    };
    (
        @define [$($derive:ident),*]
        $(#[$meta:meta])*
        pub struct $name:ident = ($amqp:literal, $code:literal) {
            $( $(#[$fmeta:meta])* $field:ident : $kind:ident $fty:ty $(= $def:expr)? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive($($derive),*)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $crate::composite!(@ty $kind $fty), )*
        }

        impl $name {
            /// The AMQP name of the descriptor.
            pub const NAME: &'static str = $amqp;
            /// The numeric descriptor.
            pub const CODE: u64 = $code;

            /// Reads the list body after the descriptor was matched.
            pub fn decode_fields<'a>(
                d: &mut $crate::codec::decode::Decoder<'a>,
                ctor: &$crate::codec::decode::Constructor<'a>,
            ) -> $crate::codec::error::DecodeResult<Self> {
                #[allow(unused_mut)]
                let mut r = $crate::codec::composite::ListReader::new(d, ctor, $amqp)?;
                let v = $name {
                    $( $field: $crate::composite!(@read r $kind $fty, $amqp, $field $(, $def)?), )*
                };
                r.finish()?;
                Ok(v)
            }
        }

        impl<'a> $crate::codec::composite::Decode<'a> for $name {
            const NAME: &'static str = $amqp;
            fn decode(
                d: &mut $crate::codec::decode::Decoder<'a>,
                ctor: $crate::codec::decode::Constructor<'a>,
            ) -> $crate::codec::error::DecodeResult<Self> {
                match &ctor.descriptor {
                    Some(desc) if $crate::codec::composite::descriptor_is(desc, $code, $amqp) => {
                        Self::decode_fields(d, &ctor)
                    }
                    Some(desc) => Err(d.error(
                        ctor.offset,
                        $crate::codec::error::DecodeErrorKind::UnknownDescriptor(
                            $crate::codec::composite::descriptor_text(desc),
                        ),
                    )),
                    None => Err(d.error(
                        ctor.offset,
                        $crate::codec::error::DecodeErrorKind::UnexpectedType {
                            expected: $amqp,
                            found: ctor.code,
                        },
                    )),
                }
            }
        }

        impl $crate::codec::composite::Encode for $name {
            #[allow(unused_mut, unused_variables)]
            fn encode(&self, out: &mut Vec<u8>) {
                let mut w = $crate::codec::composite::ListWriter::new(out, $code);
                $( $crate::composite!(@write w self.$field, $kind $(, $def)?); )*
                w.finish();
            }
        }
    };

    (@ty req $t:ty) => { $t };
    (@ty opt $t:ty) => { Option<$t> };
    (@ty def $t:ty) => { $t };

    (@read $r:ident req $t:ty, $amqp:literal, $field:ident) => {
        $r.required::<$t>($amqp, stringify!($field))?
    };
    (@read $r:ident opt $t:ty, $amqp:literal, $field:ident) => {
        $r.next::<$t>()?
    };
    (@read $r:ident def $t:ty, $amqp:literal, $field:ident, $def:expr) => {
        $r.next::<$t>()?.unwrap_or($def)
    };

    (@write $w:ident $v:expr, req) => { $w.field(Some(&$v)) };
    (@write $w:ident $v:expr, opt) => { $w.field($v.as_ref()) };
    (@write $w:ident $v:expr, def, $def:expr) => {
        if $v == $def { $w.field::<()>(None) } else { $w.field(Some(&$v)) }
    };
}

impl Encode for () {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(0x40);
    }
}
