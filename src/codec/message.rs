//! The message model (spec §3.2): a [`Message`] is the sections of an AMQP
//! message, owned, with the body in one of its three forms ([`Body`]).
//!
//! Encoding writes the sections in the order §3.2 fixes, leaving out absent
//! ones. Decoding checks that order (SEMANTICS.md §9): each section at most
//! once, except `data` and `amqp-sequence`, which may repeat; one body kind
//! per message; no section the spec does not define.
//!
//! A message arrives as the payload of one transfer frame or of several
//! (§2.6.14). [`Message::decode_parts`] reads it from the frames' payloads
//! as they are, without gluing them together first: a section that lies
//! within one part is decoded where it lies, and a `data` section, or an
//! `amqp-value` holding a binary or a string (Proton's default for bytes),
//! cut by a part boundary is copied piece by piece straight into its place
//! in the message. Only another kind of section that a boundary cuts is
//! gathered into a scratch buffer first, so its bytes are copied twice.
//! Either way the message owns what it holds, and the input can be released.

use std::borrow::Cow;

use super::composite::{Decode, Encode, Map, descriptor_text};
use super::decode::{Constructor, Decoder, MAX_DEPTH};
use super::encode::{
    begin_compound, encode_value, encoded_len as value_len, end_compound, write_ulong,
    write_variable,
};
use super::error::{DecodeError, DecodeErrorKind as K, DecodeResult};
use super::sections::{Header, Properties, SectionKind, compound_len, var_len};
use super::value::{Descriptor, Value};

/// An AMQP message (§3.2): the annotated message, with every section but
/// the body optional.
///
/// Maps are kept as their pairs in wire order. Annotation maps
/// (`delivery_annotations`, `message_annotations`, `footer`) are keyed by
/// symbols (§3.2.10); `application_properties` by strings, with simple
/// (not compound or described) values (§3.2.5). The decoder enforces the
/// string keys and accepts whatever values a peer sends.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Message {
    /// header (§3.2.1): durability, priority, ttl, delivery count.
    pub header: Option<Header>,
    /// delivery-annotations (§3.2.2): for the next hop only.
    pub delivery_annotations: Option<Map>,
    /// message-annotations (§3.2.3): travel with the message.
    pub message_annotations: Option<Map>,
    /// properties (§3.2.4): the bare message's standard properties.
    pub properties: Option<Properties>,
    /// application-properties (§3.2.5): the application's own properties.
    pub application_properties: Option<Map>,
    /// The body (§3.2.6–§3.2.8).
    pub body: Body,
    /// footer (§3.2.9): annotations about the bare message.
    pub footer: Option<Map>,
}

/// The body of a message (§3.2): one of three kinds, never mixed.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// One `amqp-value` section (§3.2.8) holding any AMQP value. The
    /// default body is `amqp-value(null)`, which is what Proton sends for an
    /// empty message.
    Value(Value<'static>),
    /// One or more `data` sections (§3.2.6), each opaque bytes. An empty
    /// list is written as one empty `data` section, so it reads back as
    /// one empty chunk.
    Data(Vec<Vec<u8>>),
    /// One or more `amqp-sequence` sections (§3.2.7), each a list of
    /// values. An empty list is written as one empty `amqp-sequence`
    /// section, so it reads back as one empty list.
    Sequence(Vec<Vec<Value<'static>>>),
}

impl Default for Body {
    /// `amqp-value(null)` (SEMANTICS.md §9).
    fn default() -> Self {
        Body::Value(Value::Null)
    }
}

impl Message {
    /// A message with only an `amqp-value` body (§3.2.8) holding `value`.
    pub fn with_body(value: Value<'static>) -> Message {
        Message {
            body: Body::Value(value),
            ..Message::default()
        }
    }

    /// The header (§3.2.1), created with its defaults if absent.
    pub fn header_mut(&mut self) -> &mut Header {
        self.header.get_or_insert_with(Header::default)
    }

    /// The properties (§3.2.4), created empty if absent.
    pub fn properties_mut(&mut self) -> &mut Properties {
        self.properties.get_or_insert_with(Properties::default)
    }

    /// The application-properties (§3.2.5), created empty if absent. Keys
    /// must be strings: a message with other keys is refused by decoders,
    /// ours included.
    pub fn application_properties_mut(&mut self) -> &mut Map {
        self.application_properties.get_or_insert_with(Map::default)
    }

    /// Appends the message to `out`: its sections in the order of §3.2,
    /// absent ones left out. This is the payload of a transfer (§2.7.5).
    pub fn encode(&self, out: &mut Vec<u8>) {
        if let Some(h) = &self.header {
            h.encode(out);
        }
        if let Some(m) = &self.delivery_annotations {
            map_section(SectionKind::DeliveryAnnotations, m, out);
        }
        if let Some(m) = &self.message_annotations {
            map_section(SectionKind::MessageAnnotations, m, out);
        }
        if let Some(p) = &self.properties {
            p.encode(out);
        }
        if let Some(m) = &self.application_properties {
            map_section(SectionKind::ApplicationProperties, m, out);
        }
        match &self.body {
            Body::Value(v) => {
                section_descriptor(SectionKind::AmqpValue, out);
                encode_value(v, out);
            }
            Body::Data(chunks) if chunks.is_empty() => {
                section_descriptor(SectionKind::Data, out);
                write_variable(0xa0, &[], out);
            }
            Body::Data(chunks) => {
                for c in chunks {
                    section_descriptor(SectionKind::Data, out);
                    write_variable(0xa0, c, out);
                }
            }
            Body::Sequence(lists) if lists.is_empty() => {
                section_descriptor(SectionKind::AmqpSequence, out);
                write_list(&[], out);
            }
            Body::Sequence(lists) => {
                for l in lists {
                    section_descriptor(SectionKind::AmqpSequence, out);
                    write_list(l, out);
                }
            }
        }
        if let Some(m) = &self.footer {
            map_section(SectionKind::Footer, m, out);
        }
    }

    /// The number of bytes [`Message::encode`] appends, computed without
    /// encoding: for checking a link's `max-message-size` (§2.7.3) or
    /// reserving room before encoding.
    pub fn encoded_len(&self) -> usize {
        let maps = [
            &self.delivery_annotations,
            &self.message_annotations,
            &self.application_properties,
            &self.footer,
        ];
        let mut n: usize = maps
            .into_iter()
            .flatten()
            .map(|m| DESCRIPTOR_LEN + map_len(m))
            .sum();
        n += self.header.as_ref().map_or(0, Header::encoded_len);
        n += self.properties.as_ref().map_or(0, Properties::encoded_len);
        n += match &self.body {
            Body::Value(v) => DESCRIPTOR_LEN + value_len(v),
            Body::Data(chunks) if chunks.is_empty() => DESCRIPTOR_LEN + var_len(0),
            Body::Data(chunks) => chunks
                .iter()
                .map(|c| DESCRIPTOR_LEN + var_len(c.len()))
                .sum(),
            Body::Sequence(lists) if lists.is_empty() => DESCRIPTOR_LEN + list_len(&[]),
            Body::Sequence(lists) => lists.iter().map(|l| DESCRIPTOR_LEN + list_len(l)).sum(),
        };
        n
    }

    /// Reads a message from a transfer's whole payload (§3.2), copying what
    /// it keeps out of `payload` once.
    ///
    /// Sections must come in the order of §3.2, each at most once except
    /// `data` and `amqp-sequence`, with one body kind; otherwise, or for a
    /// descriptor that names no section, the error is
    /// [`DecodeErrorKind::UnknownDescriptor`](K::UnknownDescriptor) naming
    /// the section and what is wrong with it. An application-properties key
    /// that is not a string is [`DecodeErrorKind::UnexpectedType`](K::UnexpectedType).
    /// A payload without a body section (even an empty one) reads as a
    /// message with the default body, `amqp-value(null)`, as Proton does.
    /// Error offsets count from the start of `payload`.
    pub fn decode(payload: &[u8]) -> DecodeResult<Message> {
        Message::decode_parts(&[payload])
    }

    /// Reads a message whose payload arrived in several transfer frames
    /// (§2.6.14), from the frames' payloads in order, as [`Message::decode`]
    /// reads a whole one; the parts need not be joined first.
    ///
    /// Sections that lie within one part are decoded in place; `data`
    /// sections, and `amqp-value` sections holding a binary or a string, cut
    /// by a boundary are copied piece by piece into the message. Any other
    /// section cut by a boundary is first gathered into a scratch buffer as
    /// large as that section. Error offsets count from the
    /// start of the first part, as if the parts were joined.
    pub fn decode_parts(parts: &[&[u8]]) -> DecodeResult<Message> {
        Message::decode_boxed(parts).map(|m| *m)
    }

    /// [`decode_parts`](Self::decode_parts), into a box: the message is
    /// built where it will stay (it is large, and moving it is a copy).
    pub fn decode_boxed(parts: &[&[u8]]) -> DecodeResult<Box<Message>> {
        Message::decode_boxed_limited(parts, MAX_DEPTH)
    }

    /// [`decode_boxed`](Self::decode_boxed), refusing values nested more
    /// than `max_depth` levels deep (held to [`MAX_DEPTH`]) with
    /// [`DecodeErrorKind::TooDeep`](K::TooDeep).
    pub fn decode_boxed_limited(parts: &[&[u8]], max_depth: usize) -> DecodeResult<Box<Message>> {
        let max_depth = max_depth.min(MAX_DEPTH);
        if let [whole] = parts
            && let Some(m) = Message::decode_whole(whole, max_depth)
        {
            return Ok(m);
        }
        Message::decode_split(parts, max_depth)
    }

    /// The common case, a payload in one piece with every section under a
    /// numeric descriptor: each section decoded as it is met, in one pass.
    /// `None` when anything is out of the ordinary, errors included: the
    /// general path then reads it and says exactly what is wrong.
    fn decode_whole(payload: &[u8], max_depth: usize) -> Option<Box<Message>> {
        let mut d = Decoder::with_max_depth(payload, max_depth);
        let mut asm = Assembler::new(max_depth);
        while !d.is_empty() {
            let start = d.position();
            let kind = match d.remaining() {
                [0x00, 0x53, code, ..] => {
                    SectionKind::from_descriptor(&Descriptor::Code(u64::from(*code)))?
                }
                _ => return None,
            };
            asm.admit(kind, start).ok()?;
            asm.section_in(kind, &mut d, false).ok()?;
        }
        Some(asm.msg)
    }

    /// The general path: sections found by their sizes first, then decoded
    /// where they lie or gathered (see [`decode_parts`](Self::decode_parts)).
    fn decode_split(parts: &[&[u8]], max_depth: usize) -> DecodeResult<Box<Message>> {
        let mut cur = Cursor::new(parts);
        let mut asm = Assembler::new(max_depth);
        let mut scratch = Vec::new();
        while cur.left > 0 {
            let start = cur.pos;
            let head = section_head(cur.clone())?;
            asm.admit(head.kind, start)?;
            if let Some(bytes) = cur.contiguous(head.len) {
                asm.section(head.kind, bytes, start)?;
            } else if let Some((at, direct)) = head.direct {
                let mut c = cur.clone();
                c.skip(at);
                let mut bytes = Vec::with_capacity(head.len - at);
                c.copy_to(head.len - at, &mut bytes);
                asm.direct(direct, bytes, start + at)?;
            } else {
                scratch.clear();
                cur.clone().copy_to(head.len, &mut scratch);
                asm.section(head.kind, &scratch, start)?;
            }
            cur.skip(head.len);
        }
        Ok(asm.msg)
    }
}

/// Every section descriptor is a smallulong (codes 0x70–0x78): `00 53 7x`.
const DESCRIPTOR_LEN: usize = 3;

fn section_descriptor(kind: SectionKind, out: &mut Vec<u8>) {
    out.push(0x00);
    write_ulong(kind.code(), out);
}

fn map_section(kind: SectionKind, m: &Map, out: &mut Vec<u8>) {
    section_descriptor(kind, out);
    m.encode(out);
}

/// Writes a list as `encode_value` would write `Value::List`, without
/// building one.
fn write_list(items: &[Value<'static>], out: &mut Vec<u8>) {
    if items.is_empty() {
        out.push(0x45);
        return;
    }
    let mark = begin_compound(out);
    for v in items {
        encode_value(v, out);
    }
    end_compound(
        out,
        mark,
        0xc0,
        u32::try_from(items.len()).unwrap_or(u32::MAX),
    );
}

// Sizes, mirroring the encoder's choice of the smallest encoding.

fn map_len(m: &Map) -> usize {
    let content = m.0.iter().map(|(k, v)| value_len(k) + value_len(v)).sum();
    compound_len(content, m.0.len() * 2)
}

fn list_len(items: &[Value<'static>]) -> usize {
    if items.is_empty() {
        1
    } else {
        compound_len(items.iter().map(value_len).sum(), items.len())
    }
}

/// A read position over a payload split into parts.
#[derive(Clone)]
struct Cursor<'p> {
    parts: &'p [&'p [u8]],
    /// Index of the current part, and offset within it; always on a byte
    /// when bytes are left.
    idx: usize,
    at: usize,
    /// Offset from the start of the first part, and bytes left in all.
    pos: usize,
    left: usize,
}

impl<'p> Cursor<'p> {
    fn new(parts: &'p [&'p [u8]]) -> Self {
        let mut c = Cursor {
            parts,
            idx: 0,
            at: 0,
            pos: 0,
            left: parts.iter().map(|p| p.len()).sum(),
        };
        c.settle();
        c
    }

    /// Moves past exhausted (and empty) parts.
    fn settle(&mut self) {
        while let Some(p) = self.parts.get(self.idx) {
            if self.at < p.len() {
                break;
            }
            self.idx += 1;
            self.at = 0;
        }
    }

    fn truncated(&self, needed: usize) -> DecodeError {
        DecodeError::new(self.pos, K::Truncated { needed })
    }

    /// Calls `f` on consecutive runs of the next `n` bytes and moves past
    /// them; false (and nothing read) if fewer are left.
    fn walk(&mut self, mut n: usize, mut f: impl FnMut(&'p [u8])) -> bool {
        if n > self.left {
            return false;
        }
        self.pos += n;
        self.left -= n;
        while n > 0 {
            let Some(run) = self.parts.get(self.idx).and_then(|p| p.get(self.at..)) else {
                return false;
            };
            let run = &run[..run.len().min(n)];
            f(run);
            self.at += run.len();
            n -= run.len();
            self.settle();
        }
        true
    }

    fn skip(&mut self, n: usize) -> bool {
        self.walk(n, |_| {})
    }

    fn copy_to(&mut self, n: usize, out: &mut Vec<u8>) -> bool {
        self.walk(n, |run| out.extend_from_slice(run))
    }

    fn array<const N: usize>(&mut self) -> DecodeResult<[u8; N]> {
        let mut a = [0u8; N];
        let mut filled = 0;
        if !self.walk(N, |run| {
            a[filled..filled + run.len()].copy_from_slice(run);
            filled += run.len();
        }) {
            return Err(self.truncated(N - self.left));
        }
        Ok(a)
    }

    fn u8(&mut self) -> DecodeResult<u8> {
        Ok(self.array::<1>()?[0])
    }

    /// The next `n` bytes, if they lie within the current part.
    fn contiguous(&self, n: usize) -> Option<&'p [u8]> {
        self.parts
            .get(self.idx)?
            .get(self.at..self.at.checked_add(n)?)
    }
}

/// Where a section starts and ends, found from its first few bytes.
struct SectionHead {
    kind: SectionKind,
    /// Length of the whole section, descriptor included.
    len: usize,
    /// For a section whose content is the bytes of one binary or string:
    /// where they start, and what they are.
    direct: Option<(usize, Direct)>,
}

/// Sections that hold one run of bytes, which can be copied straight from
/// the input parts into the message.
#[derive(Debug, Clone, Copy)]
enum Direct {
    /// A `data` section.
    Data,
    /// An `amqp-value` holding a binary.
    Binary,
    /// An `amqp-value` holding a string.
    String,
}

/// Reads a section's descriptor and the sizes that give its extent,
/// without reading its contents.
fn section_head(mut c: Cursor<'_>) -> DecodeResult<SectionHead> {
    let start = c.pos;
    let first = c.u8()?;
    if first != 0x00 {
        return Err(DecodeError::new(
            start,
            K::UnexpectedType {
                expected: "message section (a described value)",
                found: first,
            },
        ));
    }
    let descriptor = read_descriptor(&mut c)?;
    let Some(kind) = SectionKind::from_descriptor(&descriptor) else {
        return Err(DecodeError::new(
            start,
            K::UnknownDescriptor(descriptor_text(&descriptor)),
        ));
    };
    let code_at = c.pos;
    let code = c.u8()?;
    let direct = match (kind, code) {
        (SectionKind::Data, 0xa0 | 0xb0) => Some(Direct::Data),
        (SectionKind::AmqpValue, 0xa0 | 0xb0) => Some(Direct::Binary),
        (SectionKind::AmqpValue, 0xa1 | 0xb1) => Some(Direct::String),
        _ => None,
    };
    if let Some(direct) = direct {
        let len = var_size(&mut c, code)?;
        let at = c.pos - start;
        return Ok(SectionHead {
            kind,
            len: at + len,
            direct: Some((at, direct)),
        });
    }
    skip_body(&mut c, code, code_at)?;
    Ok(SectionHead {
        kind,
        len: c.pos - start,
        direct: None,
    })
}

/// Reads a descriptor (§1.4): a ulong or a symbol.
fn read_descriptor(c: &mut Cursor<'_>) -> DecodeResult<Descriptor<'static>> {
    let at = c.pos;
    let code = c.u8()?;
    match code {
        0x44 => Ok(Descriptor::Code(0)),
        0x53 => Ok(Descriptor::Code(u64::from(c.u8()?))),
        0x80 => Ok(Descriptor::Code(u64::from_be_bytes(c.array()?))),
        0xa3 | 0xb3 => {
            let len = var_size(c, code)?;
            let sym_at = c.pos;
            let mut bytes = Vec::with_capacity(len);
            c.copy_to(len, &mut bytes);
            if let Some(i) = bytes.iter().position(|b| !b.is_ascii()) {
                return Err(DecodeError::new(sym_at + i, K::NonAsciiSymbol(bytes[i])));
            }
            Ok(Descriptor::Symbol(Cow::Owned(
                String::from_utf8_lossy(&bytes).into_owned(),
            )))
        }
        _ => Err(DecodeError::new(at, K::InvalidDescriptor)),
    }
}

/// Reads the size prefix of a variable-width or compound value and checks
/// that many bytes follow.
fn var_size(c: &mut Cursor<'_>, code: u8) -> DecodeResult<usize> {
    let at = c.pos;
    let len = if code & 0x10 == 0 {
        usize::from(c.u8()?)
    } else {
        u32::from_be_bytes(c.array()?) as usize
    };
    if len > c.left {
        return Err(DecodeError::new(
            at,
            K::LengthPastEnd {
                length: len,
                available: c.left,
            },
        ));
    }
    Ok(len)
}

/// Moves past the value of format `code` (read at `at`), as the decoder
/// would read it, looking only at sizes.
fn skip_body(c: &mut Cursor<'_>, mut code: u8, mut at: usize) -> DecodeResult<()> {
    // A described value inside the section: skip descriptors until the
    // value's own format code, as deep as the decoder would go.
    let mut depth = 0;
    while code == 0x00 {
        depth += 1;
        if depth > MAX_DEPTH {
            return Err(DecodeError::new(at, K::TooDeep(MAX_DEPTH)));
        }
        read_descriptor(c)?;
        at = c.pos;
        code = c.u8()?;
    }
    let width = match code {
        0x40..=0x45 => 0,
        0x50..=0x56 => 1,
        0x60 | 0x61 => 2,
        0x70..=0x74 => 4,
        0x80..=0x84 => 8,
        0x94 | 0x98 => 16,
        0xa0 | 0xa1 | 0xa3 | 0xb0 | 0xb1 | 0xb3 | 0xc0 | 0xc1 | 0xe0 | 0xd0 | 0xd1 | 0xf0 => {
            var_size(c, code)?
        }
        _ => return Err(DecodeError::new(at, K::UnknownFormatCode(code))),
    };
    if c.skip(width) {
        Ok(())
    } else {
        Err(c.truncated(width - c.left))
    }
}

/// Builds a message from its sections, checking their order.
struct Assembler {
    msg: Box<Message>,
    last: Option<SectionKind>,
    /// How deeply values may nest (at most [`MAX_DEPTH`]).
    max_depth: usize,
}

impl Assembler {
    fn new(max_depth: usize) -> Assembler {
        Assembler {
            msg: Box::default(),
            last: None,
            max_depth,
        }
    }

    /// Accepts a section of `kind` (starting at `at`) after those seen, or
    /// says why it cannot follow them (§3.2).
    fn admit(&mut self, kind: SectionKind, at: usize) -> DecodeResult<()> {
        if let Some(last) = self.last {
            let problem = if kind == last {
                if matches!(kind, SectionKind::Data | SectionKind::AmqpSequence) {
                    None
                } else {
                    Some("appears twice; only data and amqp-sequence sections repeat".to_owned())
                }
            } else if kind.is_body() && last.is_body() {
                Some(format!(
                    "follows a {} body; a body has one kind of section",
                    last.name()
                ))
            } else if kind < last {
                Some(format!("out of order, after {}", last.name()))
            } else {
                None
            };
            if let Some(p) = problem {
                return Err(DecodeError::new(
                    at,
                    K::UnknownDescriptor(format!("{} ({p}, §3.2)", kind.name())),
                ));
            }
        }
        self.last = Some(kind);
        Ok(())
    }

    fn push_data(&mut self, bytes: Vec<u8>) {
        match &mut self.msg.body {
            Body::Data(chunks) => chunks.push(bytes),
            body => *body = Body::Data(vec![bytes]),
        }
    }

    /// Takes the bytes of a [`Direct`] section, which start at offset `at`
    /// of the message.
    fn direct(&mut self, direct: Direct, bytes: Vec<u8>, at: usize) -> DecodeResult<()> {
        match direct {
            Direct::Data => self.push_data(bytes),
            Direct::Binary => self.msg.body = Body::Value(Value::Binary(Cow::Owned(bytes))),
            Direct::String => match String::from_utf8(bytes) {
                Ok(s) => self.msg.body = Body::Value(Value::String(Cow::Owned(s))),
                Err(e) => {
                    let bad = at + e.utf8_error().valid_up_to();
                    return Err(DecodeError::new(bad, K::InvalidUtf8));
                }
            },
        }
        Ok(())
    }

    fn push_sequence(&mut self, items: Vec<Value<'static>>) {
        match &mut self.msg.body {
            Body::Sequence(lists) => lists.push(items),
            body => *body = Body::Sequence(vec![items]),
        }
    }

    /// Decodes one whole section of `kind` from `bytes`, which starts at
    /// offset `base` of the message.
    fn section(&mut self, kind: SectionKind, bytes: &[u8], base: usize) -> DecodeResult<()> {
        let mut d = Decoder::with_max_depth(bytes, self.max_depth);
        self.section_in(kind, &mut d, true).map_err(|mut e| {
            e.offset += base;
            e
        })
    }

    /// Decodes the section of `kind` at `d`'s position; with `exact`, `d`
    /// holds that section and nothing more.
    fn section_in(
        &mut self,
        kind: SectionKind,
        d: &mut Decoder<'_>,
        exact: bool,
    ) -> DecodeResult<()> {
        let ctor = d.read_constructor()?;
        // The value under the section's descriptor, as if undescribed. For
        // a described value the decoder has stopped on its 0x00.
        let at = if ctor.code == 0x00 {
            d.position()
        } else {
            d.position().saturating_sub(1)
        };
        let inner = Constructor {
            descriptor: None,
            code: ctor.code,
            offset: at,
        };
        let msg = &mut self.msg;
        match kind {
            SectionKind::Header => msg.header = Some(Header::decode_fields(d, &inner)?),
            SectionKind::Properties => msg.properties = Some(Properties::decode_fields(d, &inner)?),
            SectionKind::DeliveryAnnotations => {
                msg.delivery_annotations = Some(Map::decode(d, inner)?)
            }
            SectionKind::MessageAnnotations => {
                msg.message_annotations = Some(Map::decode(d, inner)?)
            }
            SectionKind::Footer => msg.footer = Some(Map::decode(d, inner)?),
            SectionKind::ApplicationProperties => {
                msg.application_properties = Some(application_properties(d, &inner)?)
            }
            SectionKind::AmqpValue => {
                let v = if inner.code == 0x00 {
                    d.read_value()?
                } else {
                    d.read_body(inner.code, at)?
                };
                msg.body = Body::Value(v.into_owned());
            }
            SectionKind::Data => {
                if !matches!(inner.code, 0xa0 | 0xb0) {
                    return Err(unexpected(&inner, "binary (data section)"));
                }
                if let Value::Binary(b) = d.read_body(inner.code, at)? {
                    self.push_data(b.into_owned());
                }
            }
            SectionKind::AmqpSequence => {
                if !matches!(inner.code, 0x45 | 0xc0 | 0xd0) {
                    return Err(unexpected(&inner, "list (amqp-sequence section)"));
                }
                if let Value::List(items) = d.read_body(inner.code, at)? {
                    self.push_sequence(items.into_iter().map(Value::into_owned).collect());
                }
            }
        }
        if exact && !d.is_empty() {
            return Err(DecodeError::new(
                d.position(),
                K::TrailingBytes(d.remaining().len()),
            ));
        }
        Ok(())
    }
}

fn unexpected(ctor: &Constructor<'_>, expected: &'static str) -> DecodeError {
    DecodeError::new(
        ctor.offset,
        K::UnexpectedType {
            expected,
            found: ctor.code,
        },
    )
}

/// Reads an application-properties map (§3.2.5), whose keys must be
/// strings.
fn application_properties(d: &mut Decoder<'_>, ctor: &Constructor<'_>) -> DecodeResult<Map> {
    let size_at = d.position();
    let (size, count, width) = match ctor.code {
        0xc1 => {
            let s = d.take(2)?;
            (usize::from(s[0]), u32::from(s[1]), 1)
        }
        0xd1 => {
            let s = d.take(8)?;
            (
                u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize,
                u32::from_be_bytes([s[4], s[5], s[6], s[7]]),
                4,
            )
        }
        _ => return Err(unexpected(ctor, "map (application-properties section)")),
    };
    let available = d.remaining().len();
    let Some(content) = size.checked_sub(width).filter(|c| *c <= available) else {
        return Err(DecodeError::new(
            size_at,
            K::LengthPastEnd {
                length: size,
                available: available + width,
            },
        ));
    };
    if count % 2 != 0 {
        return Err(DecodeError::new(ctor.offset, K::OddMapCount(count)));
    }
    let end = d.position() + content;
    // Every element takes at least one byte.
    let mut pairs = Vec::with_capacity((count as usize / 2).min(content / 2));
    for _ in 0..count / 2 {
        if d.position() >= end {
            return Err(DecodeError::new(d.position(), K::Truncated { needed: 1 }));
        }
        let key = d.read_constructor()?;
        if key.descriptor.is_some() || !matches!(key.code, 0xa1 | 0xb1) {
            let found = if key.descriptor.is_some() {
                0x00
            } else {
                key.code
            };
            return Err(DecodeError::new(
                key.offset,
                K::UnexpectedType {
                    expected: "string (application-properties keys are strings)",
                    found,
                },
            ));
        }
        let k = d.read_value_after(key)?.into_owned();
        let v = d.read_value()?.into_owned();
        pairs.push((k, v));
    }
    if d.position() != end {
        return Err(DecodeError::new(
            ctor.offset,
            K::SizeMismatch {
                declared: content,
                actual: d.position() - (end - content),
            },
        ));
    }
    Ok(Map(pairs))
}
