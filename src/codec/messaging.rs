//! Delivery states and termini (messaging.bare.xml, spec §3.4 and §3.5).
//! The message sections of §3.2 live in `sections.rs`.

use super::composite::{Decode, Encode, Map, Symbol, Symbols, descriptor_is, descriptor_text};
use super::decode::{Constructor, Decoder};
use super::error::{DecodeErrorKind as K, DecodeResult};
use super::transactions::{Coordinator, Declared, TransactionalState};
use super::transport::{AmqpError, described_enum, restricted_uint};

crate::composite! {
    /// received (§3.4.1): how much of a partly transferred message the
    /// receiver already has (non-terminal; for resumption).
    pub struct Received = ("amqp:received:list", 0x23) {
        /// The first section not yet fully received.
        section_number: req u32,
        /// The first byte of that section not yet received.
        section_offset: req u64,
    }
}

crate::composite! {
    /// accepted (§3.4.2): the message was processed (terminal outcome).
    pub struct Accepted = ("amqp:accepted:list", 0x24) {}
}

crate::composite! {
    /// rejected (§3.4.3): the message is invalid and will not be
    /// processed (terminal outcome).
    pub struct Rejected = ("amqp:rejected:list", 0x25) {
        /// Why.
        error: opt AmqpError,
    }
}

crate::composite! {
    /// released (§3.4.4): the message was not processed and may go to
    /// another consumer (terminal outcome).
    pub struct Released = ("amqp:released:list", 0x26) {}
}

crate::composite! {
    /// modified (§3.4.5): like released, with changes to apply before
    /// redelivery (terminal outcome).
    pub struct Modified = ("amqp:modified:list", 0x27) {
        /// Count this attempt as failed (bump the header's delivery-count).
        delivery_failed: opt bool,
        /// Do not redeliver to this link.
        undeliverable_here: opt bool,
        /// Merged into the message's message-annotations.
        message_annotations: opt Map,
    }
}

/// A delivery state (§3.4, §4.5.5–§4.5.6): the `state` of a transfer or
/// disposition, and a source's `default-outcome`. Encoded as the
/// composite of the variant; decoded by descriptor, numeric or symbolic.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryState {
    /// §3.4.1 (non-terminal).
    Received(Received),
    /// §3.4.2
    Accepted,
    /// §3.4.3
    Rejected(Rejected),
    /// §3.4.4
    Released,
    /// §3.4.5
    Modified(Modified),
    /// §4.5.5: a transaction was declared (terminal outcome).
    Declared(Declared),
    /// §4.5.6: work under a transaction (non-terminal until discharge).
    TransactionalState(TransactionalState),
}

impl DeliveryState {
    /// Reads one delivery state (constructor and body).
    pub fn decode(d: &mut Decoder<'_>) -> DecodeResult<Self> {
        let ctor = d.read_constructor()?;
        <Self as Decode<'_>>::decode(d, ctor)
    }

    /// Appends the encoding (a described list) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            DeliveryState::Received(v) => Encode::encode(v, out),
            DeliveryState::Accepted => Encode::encode(&Accepted {}, out),
            DeliveryState::Rejected(v) => Encode::encode(v, out),
            DeliveryState::Released => Encode::encode(&Released {}, out),
            DeliveryState::Modified(v) => Encode::encode(v, out),
            DeliveryState::Declared(v) => Encode::encode(v, out),
            DeliveryState::TransactionalState(v) => Encode::encode(v, out),
        }
    }

    /// True for an outcome (§3.4: accepted, rejected, released, modified;
    /// §4.5.5: declared): the state is final. `received` and
    /// `transactional-state` are not.
    pub fn is_terminal(&self) -> bool {
        !matches!(
            self,
            DeliveryState::Received(_) | DeliveryState::TransactionalState(_)
        )
    }

    /// The short AMQP name (`accepted`, `transactional-state`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            DeliveryState::Received(_) => "received",
            DeliveryState::Accepted => "accepted",
            DeliveryState::Rejected(_) => "rejected",
            DeliveryState::Released => "released",
            DeliveryState::Modified(_) => "modified",
            DeliveryState::Declared(_) => "declared",
            DeliveryState::TransactionalState(_) => "transactional-state",
        }
    }

    /// The symbolic descriptor (`amqp:accepted:list`, ...), as listed in a
    /// source's `outcomes`.
    pub fn descriptor_name(&self) -> &'static str {
        match self {
            DeliveryState::Received(_) => Received::NAME,
            DeliveryState::Accepted => Accepted::NAME,
            DeliveryState::Rejected(_) => Rejected::NAME,
            DeliveryState::Released => Released::NAME,
            DeliveryState::Modified(_) => Modified::NAME,
            DeliveryState::Declared(_) => Declared::NAME,
            DeliveryState::TransactionalState(_) => TransactionalState::NAME,
        }
    }

    /// The numeric descriptor.
    pub fn code(&self) -> u64 {
        match self {
            DeliveryState::Received(_) => Received::CODE,
            DeliveryState::Accepted => Accepted::CODE,
            DeliveryState::Rejected(_) => Rejected::CODE,
            DeliveryState::Released => Released::CODE,
            DeliveryState::Modified(_) => Modified::CODE,
            DeliveryState::Declared(_) => Declared::CODE,
            DeliveryState::TransactionalState(_) => TransactionalState::CODE,
        }
    }
}

impl<'a> Decode<'a> for DeliveryState {
    const NAME: &'static str = "delivery-state";
    fn decode(d: &mut Decoder<'a>, ctor: Constructor<'a>) -> DecodeResult<Self> {
        let Some(desc) = &ctor.descriptor else {
            return Err(d.error(
                ctor.offset,
                K::UnexpectedType {
                    expected: "delivery-state",
                    found: ctor.code,
                },
            ));
        };
        let is = |code, name| descriptor_is(desc, code, name);
        if is(Accepted::CODE, Accepted::NAME) {
            Accepted::decode_fields(d, &ctor).map(|_| DeliveryState::Accepted)
        } else if is(Released::CODE, Released::NAME) {
            Released::decode_fields(d, &ctor).map(|_| DeliveryState::Released)
        } else if is(Rejected::CODE, Rejected::NAME) {
            Rejected::decode_fields(d, &ctor).map(DeliveryState::Rejected)
        } else if is(Modified::CODE, Modified::NAME) {
            Modified::decode_fields(d, &ctor).map(DeliveryState::Modified)
        } else if is(Received::CODE, Received::NAME) {
            Received::decode_fields(d, &ctor).map(DeliveryState::Received)
        } else if is(Declared::CODE, Declared::NAME) {
            Declared::decode_fields(d, &ctor).map(DeliveryState::Declared)
        } else if is(TransactionalState::CODE, TransactionalState::NAME) {
            TransactionalState::decode_fields(d, &ctor).map(DeliveryState::TransactionalState)
        } else {
            Err(d.error(ctor.offset, K::UnknownDescriptor(descriptor_text(desc))))
        }
    }
}

impl Encode for DeliveryState {
    fn encode(&self, out: &mut Vec<u8>) {
        DeliveryState::encode(self, out)
    }
}

impl From<Received> for DeliveryState {
    fn from(v: Received) -> Self {
        DeliveryState::Received(v)
    }
}
impl From<Rejected> for DeliveryState {
    fn from(v: Rejected) -> Self {
        DeliveryState::Rejected(v)
    }
}
impl From<Modified> for DeliveryState {
    fn from(v: Modified) -> Self {
        DeliveryState::Modified(v)
    }
}
impl From<Declared> for DeliveryState {
    fn from(v: Declared) -> Self {
        DeliveryState::Declared(v)
    }
}
impl From<TransactionalState> for DeliveryState {
    fn from(v: TransactionalState) -> Self {
        DeliveryState::TransactionalState(v)
    }
}

restricted_uint! {
    /// terminus-durability (§3.5.5): what of a terminus survives a detach
    /// or a restart.
    pub enum TerminusDurability: u32 = "terminus-durability" {
        /// Nothing is kept (the default).
        None = 0,
        /// The terminus's configuration is kept.
        Configuration = 1,
        /// Configuration and unsettled state are kept.
        UnsettledState = 2,
    }
}

/// terminus-expiry-policy (§3.5.6): the event that starts a terminus's
/// expiry timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TerminusExpiryPolicy {
    /// `link-detach`: when the link detaches.
    LinkDetach,
    /// `session-end`: when the session ends (the default).
    SessionEnd,
    /// `connection-close`: when the connection closes.
    ConnectionClose,
    /// `never`: the terminus never expires.
    Never,
}

impl TerminusExpiryPolicy {
    /// The symbol on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            TerminusExpiryPolicy::LinkDetach => "link-detach",
            TerminusExpiryPolicy::SessionEnd => "session-end",
            TerminusExpiryPolicy::ConnectionClose => "connection-close",
            TerminusExpiryPolicy::Never => "never",
        }
    }

    /// The policy named `s`, if there is one.
    pub fn from_symbol(s: &str) -> Option<Self> {
        Some(match s {
            "link-detach" => TerminusExpiryPolicy::LinkDetach,
            "session-end" => TerminusExpiryPolicy::SessionEnd,
            "connection-close" => TerminusExpiryPolicy::ConnectionClose,
            "never" => TerminusExpiryPolicy::Never,
            _ => return None,
        })
    }
}

impl<'a> Decode<'a> for TerminusExpiryPolicy {
    const NAME: &'static str = "terminus-expiry-policy";
    fn decode(d: &mut Decoder<'a>, ctor: Constructor<'a>) -> DecodeResult<Self> {
        let at = ctor.offset;
        let s = <Symbol as Decode<'a>>::decode(d, ctor)?;
        // InvalidField carries a number, so an unknown symbol is reported
        // by its length; the offset points at it.
        TerminusExpiryPolicy::from_symbol(s.as_str()).ok_or_else(|| {
            d.error(
                at,
                K::InvalidField {
                    field: "terminus-expiry-policy",
                    value: s.as_str().len() as u64,
                },
            )
        })
    }
}

impl Encode for TerminusExpiryPolicy {
    fn encode(&self, out: &mut Vec<u8>) {
        Symbol::from(self.as_str()).encode(out);
    }
}

/// Standard distribution modes (§3.5.7), for [`Source::distribution_mode`].
pub mod dist_mode {
    /// Messages are acquired: each goes to one consumer (queue semantics).
    pub const MOVE: &str = "move";
    /// The receiver gets copies; the messages stay for others (browsing).
    pub const COPY: &str = "copy";
}

crate::composite! {
    /// source (§3.5.3): the terminus messages come from.
    pub struct Source = ("amqp:source:list", 0x28) {
        /// The node's address; absent for a dynamic request.
        address: opt String,
        /// What survives a detach (§3.5.5).
        durable: def TerminusDurability = TerminusDurability::None,
        /// When the expiry timer starts (§3.5.6).
        expiry_policy: def TerminusExpiryPolicy = TerminusExpiryPolicy::SessionEnd,
        /// Seconds from the expiry event to expiry.
        timeout: def u32 = 0,
        /// Ask the peer to create the node.
        dynamic: def bool = false,
        /// Properties of the dynamic node (§3.5.9).
        dynamic_node_properties: opt Map,
        /// `move` or `copy` (see [`dist_mode`]).
        distribution_mode: opt Symbol,
        /// Filters (§3.5.8): symbol keys to described values.
        filter: opt Map,
        /// Outcome of deliveries settled without one.
        default_outcome: opt DeliveryState,
        /// Outcome descriptors the receiver may use.
        outcomes: opt Symbols,
        /// Node capabilities (`queue`, `topic`, ...).
        capabilities: opt Symbols,
    }
}

impl Default for Source {
    fn default() -> Self {
        Source {
            address: None,
            durable: TerminusDurability::None,
            expiry_policy: TerminusExpiryPolicy::SessionEnd,
            timeout: 0,
            dynamic: false,
            dynamic_node_properties: None,
            distribution_mode: None,
            filter: None,
            default_outcome: None,
            outcomes: None,
            capabilities: None,
        }
    }
}

impl Source {
    /// A source at `address`, every other field at its default.
    pub fn address(address: impl Into<String>) -> Self {
        Source {
            address: Some(address.into()),
            ..Source::default()
        }
    }

    /// A request for a dynamic source (§3.5.3): no address, `dynamic`
    /// set; the peer answers with the address it made.
    pub fn dynamic() -> Self {
        Source {
            dynamic: true,
            ..Source::default()
        }
    }
}

crate::composite! {
    /// target (§3.5.4): the terminus messages go to.
    pub struct Target = ("amqp:target:list", 0x29) {
        /// The node's address; absent for a dynamic request or an
        /// anonymous relay.
        address: opt String,
        /// What survives a detach (§3.5.5).
        durable: def TerminusDurability = TerminusDurability::None,
        /// When the expiry timer starts (§3.5.6).
        expiry_policy: def TerminusExpiryPolicy = TerminusExpiryPolicy::SessionEnd,
        /// Seconds from the expiry event to expiry.
        timeout: def u32 = 0,
        /// Ask the peer to create the node.
        dynamic: def bool = false,
        /// Properties of the dynamic node (§3.5.9).
        dynamic_node_properties: opt Map,
        /// Node capabilities (`queue`, `topic`, ...).
        capabilities: opt Symbols,
    }
}

impl Default for Target {
    fn default() -> Self {
        Target {
            address: None,
            durable: TerminusDurability::None,
            expiry_policy: TerminusExpiryPolicy::SessionEnd,
            timeout: 0,
            dynamic: false,
            dynamic_node_properties: None,
            capabilities: None,
        }
    }
}

impl Target {
    /// A target at `address`, every other field at its default.
    pub fn address(address: impl Into<String>) -> Self {
        Target {
            address: Some(address.into()),
            ..Target::default()
        }
    }

    /// A request for a dynamic target (§3.5.4): no address, `dynamic`
    /// set; the peer answers with the address it made.
    pub fn dynamic() -> Self {
        Target {
            dynamic: true,
            ..Target::default()
        }
    }
}

described_enum! {
    /// What an attach's `target` may hold (§2.7.3 `requires="target"`): a
    /// target terminus (§3.5.4) or a transaction coordinator (§4.5.1).
    pub enum TargetKind = "target" {
        /// §3.5.4
        Target(Target) = "target",
        /// §4.5.1
        Coordinator(Coordinator) = "coordinator",
    }
}

impl TargetKind {
    /// The target terminus, unless this is a coordinator.
    pub fn as_target(&self) -> Option<&Target> {
        match self {
            TargetKind::Target(t) => Some(t),
            TargetKind::Coordinator(_) => None,
        }
    }
}

crate::composite! {
    /// delete-on-close (§3.5.10): a dynamic node's lifetime ends with the
    /// link that made it.
    pub struct DeleteOnClose = ("amqp:delete-on-close:list", 0x2b) {}
}

crate::composite! {
    /// delete-on-no-links (§3.5.11): the node is deleted once no link is
    /// attached to it.
    pub struct DeleteOnNoLinks = ("amqp:delete-on-no-links:list", 0x2c) {}
}

crate::composite! {
    /// delete-on-no-messages (§3.5.12): the node is deleted once it holds
    /// no messages.
    pub struct DeleteOnNoMessages = ("amqp:delete-on-no-messages:list", 0x2d) {}
}

crate::composite! {
    /// delete-on-no-links-or-messages (§3.5.13): the node is deleted once
    /// it has neither links nor messages.
    pub struct DeleteOnNoLinksOrMessages = ("amqp:delete-on-no-links-or-messages:list", 0x2e) {}
}
