//! Transport performatives and their restricted types (transport.bare.xml,
//! spec §2.7 and §2.8).
//!
//! Each performative is a composite written by [`composite!`](crate::composite);
//! [`Performative`] reads any of the nine by its descriptor. The error
//! conditions of §2.8.15–§2.8.18 (and §4.5.8) are string constants in
//! [`condition`].

use std::fmt;

use super::composite::{Decode, DeliveryTag, Encode, Map, Symbol, Symbols};
use super::decode::{Constructor, Decoder};
use super::error::{DecodeErrorKind as K, DecodeResult};
use super::messaging::{DeliveryState, Source, TargetKind};

/// Defines a restricted type over an unsigned integer (§1.3: a restricted
/// type is its source type limited to named choices): an enum whose
/// decoder rejects any other value with `InvalidField`.
macro_rules! restricted_uint {
    (
        $(#[$meta:meta])*
        pub enum $name:ident : $src:ty = $amqp:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// The value on the wire.
            pub fn value(self) -> $src {
                match self {
                    $( $name::$variant => $value, )+
                }
            }

            /// The choice for wire value `v`, if there is one.
            pub fn from_value(v: $src) -> Option<Self> {
                match v {
                    $( $value => Some($name::$variant), )+
                    _ => None,
                }
            }
        }

        impl<'a> Decode<'a> for $name {
            const NAME: &'static str = $amqp;
            fn decode(d: &mut Decoder<'a>, ctor: Constructor<'a>) -> DecodeResult<Self> {
                let at = ctor.offset;
                let v = <$src as Decode<'a>>::decode(d, ctor)?;
                $name::from_value(v).ok_or_else(|| {
                    d.error(at, K::InvalidField { field: $amqp, value: u64::from(v) })
                })
            }
        }

        impl Encode for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                self.value().encode(out);
            }
        }
    };
}
pub(crate) use restricted_uint;

/// Defines an enum over several composites that may fill one position,
/// told apart by their descriptors (numeric or symbolic). Each variant
/// holds its composite; `name` is the short AMQP name.
macro_rules! described_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident = $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident($ty:ty) = $short:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub enum $name {
            $( $(#[$vmeta])* $variant($ty), )+
        }

        impl $name {
            /// Reads one value, which must be one of the composites above.
            pub fn decode(d: &mut Decoder<'_>) -> DecodeResult<Self> {
                let ctor = d.read_constructor()?;
                <Self as Decode<'_>>::decode(d, ctor)
            }

            /// Appends the encoding (a described list) to `out`.
            pub fn encode(&self, out: &mut Vec<u8>) {
                match self {
                    $( $name::$variant(v) => Encode::encode(v, out), )+
                }
            }

            /// The short AMQP name of the composite (`open`, `sasl-init`, ...).
            pub fn name(&self) -> &'static str {
                match self {
                    $( $name::$variant(_) => $short, )+
                }
            }

            /// The symbolic descriptor (`amqp:open:list`, ...).
            pub fn descriptor_name(&self) -> &'static str {
                match self {
                    $( $name::$variant(_) => <$ty>::NAME, )+
                }
            }

            /// The numeric descriptor.
            pub fn code(&self) -> u64 {
                match self {
                    $( $name::$variant(_) => <$ty>::CODE, )+
                }
            }
        }

        impl<'a> Decode<'a> for $name {
            const NAME: &'static str = $what;
            fn decode(d: &mut Decoder<'a>, ctor: Constructor<'a>) -> DecodeResult<Self> {
                use $crate::codec::composite::{descriptor_is, descriptor_text};
                let Some(desc) = &ctor.descriptor else {
                    return Err(d.error(
                        ctor.offset,
                        K::UnexpectedType { expected: $what, found: ctor.code },
                    ));
                };
                $(
                    if descriptor_is(desc, <$ty>::CODE, <$ty>::NAME) {
                        return <$ty>::decode_fields(d, &ctor).map($name::$variant);
                    }
                )+
                Err(d.error(ctor.offset, K::UnknownDescriptor(descriptor_text(desc))))
            }
        }

        impl Encode for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                $name::encode(self, out)
            }
        }

        $(
            impl From<$ty> for $name {
                fn from(v: $ty) -> Self {
                    $name::$variant(v)
                }
            }
        )+
    };
}
pub(crate) use described_enum;

/// role (§2.8.1): which end of a link an attach or disposition speaks
/// for. On the wire `false` is the sender, `true` the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The sending end (`false`).
    Sender,
    /// The receiving end (`true`).
    Receiver,
}

impl Role {
    /// The wire value: `true` for the receiver.
    pub fn as_bool(self) -> bool {
        self == Role::Receiver
    }

    /// The role for wire value `b`.
    pub fn from_bool(b: bool) -> Self {
        if b { Role::Receiver } else { Role::Sender }
    }

    /// The other end's role (a reply attach carries the opposite role).
    pub fn opposite(self) -> Self {
        Role::from_bool(!self.as_bool())
    }
}

impl<'a> Decode<'a> for Role {
    const NAME: &'static str = "role";
    fn decode(d: &mut Decoder<'a>, ctor: Constructor<'a>) -> DecodeResult<Self> {
        <bool as Decode<'a>>::decode(d, ctor).map(Role::from_bool)
    }
}

impl Encode for Role {
    fn encode(&self, out: &mut Vec<u8>) {
        self.as_bool().encode(out);
    }
}

restricted_uint! {
    /// sender-settle-mode (§2.8.2): how the sender settles deliveries.
    pub enum SenderSettleMode: u8 = "sender-settle-mode" {
        /// The sender never sends deliveries settled.
        Unsettled = 0,
        /// The sender always sends deliveries settled.
        Settled = 1,
        /// The sender chooses per delivery (the default).
        Mixed = 2,
    }
}

restricted_uint! {
    /// receiver-settle-mode (§2.8.3): when the receiver settles.
    pub enum ReceiverSettleMode: u8 = "receiver-settle-mode" {
        /// Settle as soon as the outcome is known (the default).
        First = 0,
        /// Send the outcome unsettled; settle once the sender has.
        Second = 1,
    }
}

crate::composite! {
    /// error (§2.8.14): an error condition with an optional description
    /// and details, carried by close, end, detach and rejected. Named
    /// `AmqpError` so as not to clash with Rust error types.
    pub struct AmqpError = ("amqp:error:list", 0x1d) {
        /// A symbolic condition, usually one of [`condition`].
        condition: req Symbol,
        /// Text for humans.
        description: opt String,
        /// Further details (e.g. `hostname`, `port` of a redirect).
        info: opt Map,
    }
}

impl AmqpError {
    /// An error with `condition` (e.g. [`condition::NOT_FOUND`]) and a
    /// description.
    pub fn new(condition: &str, description: impl Into<String>) -> Self {
        AmqpError {
            condition: Symbol::from(condition),
            description: Some(description.into()),
            info: None,
        }
    }

    /// An error with `condition` alone.
    pub fn from_condition(condition: &str) -> Self {
        AmqpError {
            condition: Symbol::from(condition),
            description: None,
            info: None,
        }
    }
}

impl fmt::Display for AmqpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.condition.as_str())?;
        if let Some(d) = &self.description {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

/// Error conditions (§2.8.15–§2.8.18, §4.5.8; SEMANTICS.md §10), as the
/// symbols that go in [`AmqpError::condition`].
pub mod condition {
    /// §2.8.15: an internal error in the peer; operator help likely needed.
    pub const INTERNAL_ERROR: &str = "amqp:internal-error";
    /// §2.8.15: a peer tried to use a node that does not exist.
    pub const NOT_FOUND: &str = "amqp:not-found";
    /// §2.8.15: authenticated, but not permitted to do this.
    pub const UNAUTHORIZED_ACCESS: &str = "amqp:unauthorized-access";
    /// §2.8.15: data could not be decoded.
    pub const DECODE_ERROR: &str = "amqp:decode-error";
    /// §2.8.15: a limit (quota, memory, connections) was exceeded.
    pub const RESOURCE_LIMIT_EXCEEDED: &str = "amqp:resource-limit-exceeded";
    /// §2.8.15: a frame was used against the rules.
    pub const NOT_ALLOWED: &str = "amqp:not-allowed";
    /// §2.8.15: a field held a value that cannot be accepted.
    pub const INVALID_FIELD: &str = "amqp:invalid-field";
    /// §2.8.15: the peer does not implement the feature asked for.
    pub const NOT_IMPLEMENTED: &str = "amqp:not-implemented";
    /// §2.8.15: the node is held exclusively by someone else.
    pub const RESOURCE_LOCKED: &str = "amqp:resource-locked";
    /// §2.8.15: the request conflicts with existing state.
    pub const PRECONDITION_FAILED: &str = "amqp:precondition-failed";
    /// §2.8.15: the node was deleted while in use.
    pub const RESOURCE_DELETED: &str = "amqp:resource-deleted";
    /// §2.8.15: a frame that is not valid in the current state.
    pub const ILLEGAL_STATE: &str = "amqp:illegal-state";
    /// §2.8.15: a performative cannot fit the negotiated frame size.
    pub const FRAME_SIZE_TOO_SMALL: &str = "amqp:frame-size-too-small";

    /// §2.8.16: an operator or policy closed the connection.
    pub const CONNECTION_FORCED: &str = "amqp:connection:forced";
    /// §2.8.16: a frame was malformed (header, size, channel).
    pub const FRAMING_ERROR: &str = "amqp:connection:framing-error";
    /// §2.8.16: reconnect elsewhere; `info` names the host and port.
    pub const REDIRECT: &str = "amqp:connection:redirect";

    /// §2.8.17: a transfer arrived when the incoming window was 0.
    pub const WINDOW_VIOLATION: &str = "amqp:session:window-violation";
    /// §2.8.17: input for a link that was detached with an error.
    pub const ERRANT_LINK: &str = "amqp:session:errant-link";
    /// §2.8.17: an attach named a handle that is already in use.
    pub const HANDLE_IN_USE: &str = "amqp:session:handle-in-use";
    /// §2.8.17: a frame named a handle that is not attached.
    pub const UNATTACHED_HANDLE: &str = "amqp:session:unattached-handle";

    /// §2.8.18: an operator or policy detached the link.
    pub const DETACH_FORCED: &str = "amqp:link:detach-forced";
    /// §2.8.18: the sender went past its credit.
    pub const TRANSFER_LIMIT_EXCEEDED: &str = "amqp:link:transfer-limit-exceeded";
    /// §2.8.18: a message was larger than `max-message-size`.
    pub const MESSAGE_SIZE_EXCEEDED: &str = "amqp:link:message-size-exceeded";
    /// §2.8.18: the node lives elsewhere; `info` adds the address.
    pub const LINK_REDIRECT: &str = "amqp:link:redirect";
    /// §2.8.18: another attach with the same link name took over.
    pub const STOLEN: &str = "amqp:link:stolen";

    /// §4.5.8: the transaction id is not known to the coordinator.
    pub const TRANSACTION_UNKNOWN_ID: &str = "amqp:transaction:unknown-id";
    /// §4.5.8: the coordinator rolled the transaction back.
    pub const TRANSACTION_ROLLBACK: &str = "amqp:transaction:rollback";
    /// §4.5.8: the transaction timed out.
    pub const TRANSACTION_TIMEOUT: &str = "amqp:transaction:timeout";
}

crate::composite! {
    /// open (§2.7.1): negotiate connection parameters.
    pub struct Open = ("amqp:open:list", 0x10) {
        /// Id of the sending container.
        container_id: req String,
        /// The virtual host asked for.
        hostname: opt String,
        /// Largest frame the sender accepts.
        max_frame_size: def u32 = u32::MAX,
        /// Highest channel number the sender accepts.
        channel_max: def u16 = u16::MAX,
        /// Idle timeout in milliseconds (§2.4.5).
        idle_time_out: opt u32,
        /// Locales the sender may write in.
        outgoing_locales: opt Symbols,
        /// Locales the sender wants to read.
        incoming_locales: opt Symbols,
        /// Extensions the sender supports.
        offered_capabilities: opt Symbols,
        /// Extensions the sender may use if offered.
        desired_capabilities: opt Symbols,
        /// Connection properties.
        properties: opt Map,
    }
}

crate::composite! {
    /// begin (§2.7.2): begin a session on a channel.
    pub struct Begin = ("amqp:begin:list", 0x11) {
        /// The peer's channel, when answering its begin.
        remote_channel: opt u16,
        /// Transfer-id of the sender's next transfer frame.
        next_outgoing_id: req u32,
        /// Transfer frames the sender can take.
        incoming_window: req u32,
        /// Transfer frames the sender is willing to send.
        outgoing_window: req u32,
        /// Highest link handle the sender accepts.
        handle_max: def u32 = u32::MAX,
        /// Extensions the sender supports.
        offered_capabilities: opt Symbols,
        /// Extensions the sender may use if offered.
        desired_capabilities: opt Symbols,
        /// Session properties.
        properties: opt Map,
    }
}

crate::composite! {
    /// attach (§2.7.3): attach a link to a session.
    pub struct Attach = ("amqp:attach:list", 0x12) {
        /// The link's name (its identity with the two containers).
        name: req String,
        /// The sender's handle for the link.
        handle: req u32,
        /// The sender's role on the link.
        role: req Role,
        /// Sender settle mode: desired (receiver) or in force (sender).
        snd_settle_mode: def SenderSettleMode = SenderSettleMode::Mixed,
        /// Receiver settle mode: desired (sender) or in force (receiver).
        rcv_settle_mode: def ReceiverSettleMode = ReceiverSettleMode::First,
        /// The source terminus.
        source: opt Source,
        /// The target terminus (or a transaction coordinator).
        target: opt TargetKind,
        /// Unsettled delivery state, for link recovery.
        unsettled: opt Map,
        /// True if `unsettled` is not complete.
        incomplete_unsettled: def bool = false,
        /// The sender's initial delivery-count (senders must set it).
        initial_delivery_count: opt u32,
        /// Largest message the sender accepts; absent is unlimited.
        max_message_size: opt u64,
        /// Extensions the sender supports.
        offered_capabilities: opt Symbols,
        /// Extensions the sender may use if offered.
        desired_capabilities: opt Symbols,
        /// Link properties.
        properties: opt Map,
    }
}

crate::composite! {
    /// flow (§2.7.4): update session windows and, with a handle, link
    /// flow state.
    pub struct Flow = ("amqp:flow:list", 0x13) {
        /// The sender's expected next incoming transfer-id.
        next_incoming_id: opt u32,
        /// Transfer frames the sender can take.
        incoming_window: req u32,
        /// Transfer-id of the sender's next transfer frame.
        next_outgoing_id: req u32,
        /// Transfer frames the sender is willing to send.
        outgoing_window: req u32,
        /// The link this flow is about; absent for a session-only flow.
        handle: opt u32,
        /// The link's delivery-count.
        delivery_count: opt u32,
        /// Deliveries allowed past `delivery_count` (absolute).
        link_credit: opt u32,
        /// Deliveries the sender has waiting.
        available: opt u32,
        /// Use up all credit, then report.
        drain: def bool = false,
        /// Ask the peer to answer with its own flow.
        echo: def bool = false,
        /// Link state extensions.
        properties: opt Map,
    }
}

crate::composite! {
    /// transfer (§2.7.5): one frame of a delivery.
    pub struct Transfer = ("amqp:transfer:list", 0x14) {
        /// The link's handle.
        handle: req u32,
        /// The delivery's id (first frame).
        delivery_id: opt u32,
        /// The delivery's tag (first frame).
        delivery_tag: opt DeliveryTag,
        /// The message format (first frame); absent is 0.
        message_format: opt u32,
        /// True if the sender has settled the delivery.
        settled: opt bool,
        /// True if more frames of this delivery follow.
        more: def bool = false,
        /// Overrides the link's receiver settle mode for this delivery.
        rcv_settle_mode: opt ReceiverSettleMode,
        /// The sender's view of the delivery state.
        state: opt DeliveryState,
        /// A resumed delivery (link recovery).
        resume: def bool = false,
        /// The delivery is aborted.
        aborted: def bool = false,
        /// The delivery's disposition need not be prompt.
        batchable: def bool = false,
    }
}

crate::composite! {
    /// disposition (§2.7.6): state or settlement of a range of deliveries.
    pub struct Disposition = ("amqp:disposition:list", 0x15) {
        /// Whose deliveries (receiver: the peer's outgoing ones).
        role: req Role,
        /// First delivery-id of the range.
        first: req u32,
        /// Last delivery-id of the range (inclusive); absent is `first`.
        last: opt u32,
        /// True if the sender of this frame has settled the deliveries.
        settled: def bool = false,
        /// The new state of every delivery in the range.
        state: opt DeliveryState,
        /// This disposition need not be prompt.
        batchable: def bool = false,
    }
}

crate::composite! {
    /// detach (§2.7.7): detach a link, or close it for good.
    pub struct Detach = ("amqp:detach:list", 0x16) {
        /// The link's handle.
        handle: req u32,
        /// True to close the link rather than suspend it.
        closed: def bool = false,
        /// Why, if abnormal.
        error: opt AmqpError,
    }
}

crate::composite! {
    /// end (§2.7.8): end a session.
    pub struct End = ("amqp:end:list", 0x17) {
        /// Why, if abnormal.
        error: opt AmqpError,
    }
}

crate::composite! {
    /// close (§2.7.9): close the connection.
    pub struct Close = ("amqp:close:list", 0x18) {
        /// Why, if abnormal.
        error: opt AmqpError,
    }
}

described_enum! {
    /// A performative (§2.7): the body of an AMQP frame.
    /// [`Performative::decode`] accepts numeric and symbolic descriptors;
    /// anything else is `UnknownDescriptor` or `UnexpectedType`.
    ///
    /// `Attach` makes this enum large; it is kept unboxed because a
    /// performative is decoded once per frame and moved little, and a box
    /// would cost every attach an allocation.
    #[allow(clippy::large_enum_variant)]
    pub enum Performative = "performative" {
        /// §2.7.1
        Open(Open) = "open",
        /// §2.7.2
        Begin(Begin) = "begin",
        /// §2.7.3
        Attach(Attach) = "attach",
        /// §2.7.4
        Flow(Flow) = "flow",
        /// §2.7.5
        Transfer(Transfer) = "transfer",
        /// §2.7.6
        Disposition(Disposition) = "disposition",
        /// §2.7.7
        Detach(Detach) = "detach",
        /// §2.7.8
        End(End) = "end",
        /// §2.7.9
        Close(Close) = "close",
    }
}
