//! Transaction coordination types (transactions.bare.xml, spec §4.5).
//!
//! A controller attaches to a [`Coordinator`] target, sends [`Declare`] and
//! [`Discharge`] as `amqp-value` bodies, and gets [`Declared`] back as a
//! delivery state; work joins a transaction through [`TransactionalState`].

use super::composite::{
    Binary, Decode, Encode, ListReader, ListWriter, Symbols, descriptor_is, descriptor_text,
};
use super::decode::{Constructor, Decoder};
use super::error::{DecodeErrorKind as K, DecodeResult};
use super::messaging::{DeliveryState, Received};
use super::value::Value;

crate::composite! {
    /// coordinator (§4.5.1): the target of a controller's link.
    pub struct Coordinator = ("amqp:coordinator:list", 0x30) {
        /// Transaction capabilities (see [`TxnCapability`]).
        capabilities: opt Symbols,
    }
}

crate::composite! {
    /// declare (§4.5.2): ask the coordinator for a new transaction.
    pub struct Declare = ("amqp:declare:list", 0x31) {
        /// A global transaction id (distributed transactions only).
        global_id: opt Value<'static>,
    }
}

crate::composite! {
    /// discharge (§4.5.3): end a transaction.
    pub struct Discharge = ("amqp:discharge:list", 0x32) {
        /// The transaction (§4.5.4: a binary id).
        txn_id: req Binary,
        /// True to roll back, false (or absent) to commit.
        fail: opt bool,
    }
}

crate::composite! {
    /// declared (§4.5.5): the outcome of a declare, naming the new
    /// transaction.
    pub struct Declared = ("amqp:declared:list", 0x33) {
        /// The transaction's id.
        txn_id: req Binary,
    }
}

/// transactional-state (§4.5.6): the state of a delivery taking part in a
/// transaction, with the outcome that takes effect on commit.
///
/// Written by hand rather than with [`composite!`](crate::composite)
/// because it is recursive: `outcome` must be an outcome (§3.4, `requires
/// ="outcome"`), so a nested `transactional-state` or `received` is
/// refused. That keeps the nesting one level deep, whatever the input.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionalState {
    /// The transaction.
    pub txn_id: Binary,
    /// The provisional outcome.
    pub outcome: Option<Box<DeliveryState>>,
}

impl TransactionalState {
    /// The AMQP name of the descriptor.
    pub const NAME: &'static str = "amqp:transactional-state:list";
    /// The numeric descriptor.
    pub const CODE: u64 = 0x34;

    /// Reads the list body after the descriptor was matched.
    pub fn decode_fields<'a>(d: &mut Decoder<'a>, ctor: &Constructor<'a>) -> DecodeResult<Self> {
        let mut r = ListReader::new(d, ctor, Self::NAME)?;
        let txn_id = r.required::<Binary>(Self::NAME, "txn_id")?;
        let outcome = r.next::<Outcome>()?.map(|o| Box::new(o.0));
        r.finish()?;
        Ok(TransactionalState { txn_id, outcome })
    }
}

impl<'a> Decode<'a> for TransactionalState {
    const NAME: &'static str = Self::NAME;
    fn decode(d: &mut Decoder<'a>, ctor: Constructor<'a>) -> DecodeResult<Self> {
        match &ctor.descriptor {
            Some(desc) if descriptor_is(desc, Self::CODE, Self::NAME) => {
                Self::decode_fields(d, &ctor)
            }
            Some(desc) => Err(d.error(ctor.offset, K::UnknownDescriptor(descriptor_text(desc)))),
            None => Err(d.error(
                ctor.offset,
                K::UnexpectedType {
                    expected: Self::NAME,
                    found: ctor.code,
                },
            )),
        }
    }
}

impl Encode for TransactionalState {
    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = ListWriter::new(out, Self::CODE);
        w.field(Some(&self.txn_id));
        w.field(self.outcome.as_deref());
        w.finish();
    }
}

/// A delivery state that must be an outcome (terminal).
struct Outcome(DeliveryState);

impl<'a> Decode<'a> for Outcome {
    const NAME: &'static str = "outcome";
    fn decode(d: &mut Decoder<'a>, ctor: Constructor<'a>) -> DecodeResult<Self> {
        let at = ctor.offset;
        if let Some(desc) = &ctor.descriptor
            && (descriptor_is(desc, TransactionalState::CODE, TransactionalState::NAME)
                || descriptor_is(desc, Received::CODE, Received::NAME))
        {
            // Refused before reading, so hostile nesting costs nothing.
            return Err(d.error(at, K::UnknownDescriptor(descriptor_text(desc))));
        }
        <DeliveryState as Decode<'a>>::decode(d, ctor).map(Outcome)
    }
}

/// Transaction capabilities (§4.5.7), for [`Coordinator::capabilities`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnCapability;

impl TxnCapability {
    /// Local transactions.
    pub const LOCAL_TRANSACTIONS: &'static str = "amqp:local-transactions";
    /// Distributed transactions (with a global id).
    pub const DISTRIBUTED_TRANSACTIONS: &'static str = "amqp:distributed-transactions";
    /// Local transactions that may be promoted to distributed ones.
    pub const PROMOTABLE_TRANSACTIONS: &'static str = "amqp:promotable-transactions";
    /// Several transactions at once on one session.
    pub const MULTI_TXNS_PER_SSN: &'static str = "amqp:multi-txns-per-ssn";
    /// One transaction across several sessions.
    pub const MULTI_SSNS_PER_TXN: &'static str = "amqp:multi-ssns-per-txn";
}
