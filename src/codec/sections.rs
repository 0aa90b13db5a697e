//! Message sections (messaging.bare.xml, spec §3.2): the two composite
//! sections, `header` and `properties`, and the descriptors of the others,
//! which are maps, binaries, lists or any value under a descriptor.
//!
//! [`crate::codec::message`] puts the sections together into a message.

use super::composite::{Binary, Symbol, Timestamp};
use super::encode::encoded_len as value_len;
use super::value::{Descriptor, Value};

crate::composite! {
    /// header (§3.2.1): transport headers of a message, which
    /// intermediaries may change. Its fields default as the spec says
    /// (see [`Header::default`]).
    pub struct Header = ("amqp:header:list", 0x70) {
        /// Whether the message must survive an intermediary's restart.
        durable: def bool = false,
        /// Relative priority; 4 is the default, higher is more urgent.
        priority: def u8 = 4,
        /// Time to live in milliseconds, from when the message left its
        /// previous hop; `None` for no limit.
        ttl: opt u32,
        /// True if no earlier acquirer of this message is known.
        first_acquirer: def bool = false,
        /// How many earlier delivery attempts failed.
        delivery_count: def u32 = 0,
    }
}

impl Default for Header {
    /// The header every field of which takes its spec default (§3.2.1):
    /// not durable, priority 4, no ttl, not first-acquirer, count 0.
    fn default() -> Self {
        Header {
            durable: false,
            priority: 4,
            ttl: None,
            first_acquirer: false,
            delivery_count: 0,
        }
    }
}

impl Header {
    /// The number of bytes its encoding takes (§3.2.1), descriptor
    /// included, computed without encoding.
    pub fn encoded_len(&self) -> usize {
        let mut l = ListLen::default();
        l.field(self.durable.then_some(1));
        l.field((self.priority != 4).then_some(2));
        l.field(self.ttl.map(uint_len));
        l.field(self.first_acquirer.then_some(1));
        l.field((self.delivery_count != 0).then(|| uint_len(self.delivery_count)));
        l.finish()
    }
}

crate::composite! {
    /// properties (§3.2.4): immutable properties of the bare message, set
    /// by its producer. `message_id` and `correlation_id` should be a ulong,
    /// uuid, binary or string (§3.2.11–§3.2.14; see [`is_message_id`]);
    /// other types are accepted on input, as peers do send them.
    #[derive(Default)]
    pub struct Properties = ("amqp:properties:list", 0x73) {
        /// Application-chosen identifier of the message.
        message_id: opt Value<'static>,
        /// Identity of the user who produced the message; brokers may
        /// check it against the connection's authenticated user.
        user_id: opt Binary,
        /// Address of the node the message is meant for.
        to: opt String,
        /// Summary of the message, for the application.
        subject: opt String,
        /// Address of the node to send replies to.
        reply_to: opt String,
        /// Identifier of the message this one relates to, typically the
        /// message-id of a request.
        correlation_id: opt Value<'static>,
        /// MIME type of a `data` body.
        content_type: opt Symbol,
        /// MIME content encoding of a `data` body.
        content_encoding: opt Symbol,
        /// When the message expires, in milliseconds since the Unix epoch.
        absolute_expiry_time: opt Timestamp,
        /// When the message was created, in milliseconds since the Unix epoch.
        creation_time: opt Timestamp,
        /// Group the message belongs to.
        group_id: opt String,
        /// Position of the message within its group.
        group_sequence: opt u32,
        /// Group that replies should belong to.
        reply_to_group_id: opt String,
    }
}

impl Properties {
    /// The number of bytes its encoding takes (§3.2.4), descriptor
    /// included, computed without encoding.
    pub fn encoded_len(&self) -> usize {
        let text = |s: &Option<String>| s.as_ref().map(|s| var_len(s.len()));
        let mut l = ListLen::default();
        l.field(self.message_id.as_ref().map(value_len));
        l.field(self.user_id.as_ref().map(|b| var_len(b.0.len())));
        l.field(text(&self.to));
        l.field(text(&self.subject));
        l.field(text(&self.reply_to));
        l.field(self.correlation_id.as_ref().map(value_len));
        l.field(self.content_type.as_ref().map(|s| var_len(s.0.len())));
        l.field(self.content_encoding.as_ref().map(|s| var_len(s.0.len())));
        l.field(self.absolute_expiry_time.map(|_| 9));
        l.field(self.creation_time.map(|_| 9));
        l.field(text(&self.group_id));
        l.field(self.group_sequence.map(uint_len));
        l.field(text(&self.reply_to_group_id));
        l.finish()
    }
}

/// True if `v` has one of the types a message-id or correlation-id may
/// have (§3.2.11–§3.2.14): ulong, uuid, binary or string.
pub fn is_message_id(v: &Value<'_>) -> bool {
    matches!(
        v,
        Value::Ulong(_) | Value::Uuid(_) | Value::Binary(_) | Value::String(_)
    )
}

/// Descriptor code of `header` (§3.2.1).
pub const HEADER: u64 = 0x70;
/// Descriptor code of `delivery-annotations` (§3.2.2), an annotations map.
pub const DELIVERY_ANNOTATIONS: u64 = 0x71;
/// Descriptor code of `message-annotations` (§3.2.3), an annotations map.
pub const MESSAGE_ANNOTATIONS: u64 = 0x72;
/// Descriptor code of `properties` (§3.2.4).
pub const PROPERTIES: u64 = 0x73;
/// Descriptor code of `application-properties` (§3.2.5), a map with
/// string keys.
pub const APPLICATION_PROPERTIES: u64 = 0x74;
/// Descriptor code of a `data` body section (§3.2.6), a binary.
pub const DATA: u64 = 0x75;
/// Descriptor code of an `amqp-sequence` body section (§3.2.7), a list.
pub const AMQP_SEQUENCE: u64 = 0x76;
/// Descriptor code of an `amqp-value` body section (§3.2.8), any value.
pub const AMQP_VALUE: u64 = 0x77;
/// Descriptor code of `footer` (§3.2.9), an annotations map.
pub const FOOTER: u64 = 0x78;

/// The kinds of message section (§3.2), in the order they must appear in a
/// message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SectionKind {
    /// `header` (§3.2.1).
    Header,
    /// `delivery-annotations` (§3.2.2).
    DeliveryAnnotations,
    /// `message-annotations` (§3.2.3).
    MessageAnnotations,
    /// `properties` (§3.2.4).
    Properties,
    /// `application-properties` (§3.2.5).
    ApplicationProperties,
    /// `data` (§3.2.6): one of one or more binary body sections.
    Data,
    /// `amqp-sequence` (§3.2.7): one of one or more list body sections.
    AmqpSequence,
    /// `amqp-value` (§3.2.8): the single body section holding one value.
    AmqpValue,
    /// `footer` (§3.2.9).
    Footer,
}

impl SectionKind {
    /// Every kind, in message order (§3.2).
    pub const ALL: [SectionKind; 9] = [
        SectionKind::Header,
        SectionKind::DeliveryAnnotations,
        SectionKind::MessageAnnotations,
        SectionKind::Properties,
        SectionKind::ApplicationProperties,
        SectionKind::Data,
        SectionKind::AmqpSequence,
        SectionKind::AmqpValue,
        SectionKind::Footer,
    ];

    /// The numeric descriptor (§3.2, messaging.bare.xml).
    pub fn code(self) -> u64 {
        match self {
            SectionKind::Header => HEADER,
            SectionKind::DeliveryAnnotations => DELIVERY_ANNOTATIONS,
            SectionKind::MessageAnnotations => MESSAGE_ANNOTATIONS,
            SectionKind::Properties => PROPERTIES,
            SectionKind::ApplicationProperties => APPLICATION_PROPERTIES,
            SectionKind::Data => DATA,
            SectionKind::AmqpSequence => AMQP_SEQUENCE,
            SectionKind::AmqpValue => AMQP_VALUE,
            SectionKind::Footer => FOOTER,
        }
    }

    /// The symbolic descriptor (§3.2, messaging.bare.xml).
    pub fn name(self) -> &'static str {
        match self {
            SectionKind::Header => "amqp:header:list",
            SectionKind::DeliveryAnnotations => "amqp:delivery-annotations:map",
            SectionKind::MessageAnnotations => "amqp:message-annotations:map",
            SectionKind::Properties => "amqp:properties:list",
            SectionKind::ApplicationProperties => "amqp:application-properties:map",
            SectionKind::Data => "amqp:data:binary",
            SectionKind::AmqpSequence => "amqp:amqp-sequence:list",
            SectionKind::AmqpValue => "amqp:amqp-value:*",
            SectionKind::Footer => "amqp:footer:map",
        }
    }

    /// The section a descriptor (§1.4) names, by code or by symbol; `None`
    /// for a descriptor that names no message section (§3.2).
    pub fn from_descriptor(d: &Descriptor<'_>) -> Option<SectionKind> {
        SectionKind::ALL.into_iter().find(|k| match d {
            Descriptor::Code(c) => *c == k.code(),
            Descriptor::Symbol(s) => s == k.name(),
        })
    }

    /// True for the three body kinds (§3.2.6–§3.2.8).
    pub fn is_body(self) -> bool {
        matches!(
            self,
            SectionKind::Data | SectionKind::AmqpSequence | SectionKind::AmqpValue
        )
    }
}

// Sizes, mirroring the encoder's choice of the smallest encoding (§1.6).

/// Size of a binary, string or symbol of `n` bytes.
pub(crate) fn var_len(n: usize) -> usize {
    if n <= 255 { 2 + n } else { 5 + n }
}

/// Size of a list, map or array whose elements take `content` bytes.
pub(crate) fn compound_len(content: usize, count: usize) -> usize {
    if content < 255 && count <= 255 {
        3 + content
    } else {
        9 + content
    }
}

fn uint_len(n: u32) -> usize {
    value_len(&Value::Uint(n))
}

/// The size of a section's described list as `ListWriter` writes it:
/// trailing nulls dropped, list0 when nothing is left.
#[derive(Default)]
struct ListLen {
    content: usize,
    count: usize,
    kept_content: usize,
    kept_count: usize,
}

impl ListLen {
    fn field(&mut self, len: Option<usize>) {
        self.count += 1;
        match len {
            None => self.content += 1,
            Some(n) => {
                self.content += n;
                self.kept_content = self.content;
                self.kept_count = self.count;
            }
        }
    }

    fn finish(self) -> usize {
        // The descriptor is a smallulong: 00 53 7x.
        3 + if self.kept_count == 0 {
            1
        } else {
            compound_len(self.kept_content, self.kept_count)
        }
    }
}
