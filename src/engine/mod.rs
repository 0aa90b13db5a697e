//! The sans-IO AMQP 1.0 protocol engine.
//!
//! A [`Connection`] is a state machine: bytes read from the transport and
//! the current time go in ([`Connection::receive`], [`Connection::tick`]);
//! bytes to write ([`Connection::output`]), the next deadline and
//! [`Event`]s come out. Commands (open, begin, attach, flow, send,
//! disposition, close) only change state and queue frames. The engine opens
//! no socket, reads no clock and calls no callback, so two engines can be
//! wired back to back in memory and tested deterministically.
//!
//! Invariants:
//! - Entities are named by generational IDs ([`SessionId`], [`LinkId`],
//!   [`DeliveryId`]); an ID kept after its entity's final event is stale and
//!   every command on it returns [`Error::Stale`], never touches another
//!   entity.
//! - Any byte sequence from the peer is handled without a panic: a
//!   violation closes the connection with the condition the spec names
//!   (§2.8.15–§2.8.18) and raises [`Event::TransportError`].
//! - Buffers are bounded: input holds at most one partial frame of our
//!   `max-frame-size` (a frame header announcing more is refused from its
//!   first four bytes); a delivery at most `max-message-size`, and the
//!   incomplete ones of a connection together `max_incomplete_bytes`;
//!   incoming deliveries at most what credit allowed; output plus
//!   payloads held back by the peer's window are refused past
//!   `max_output` ([`Error::OutputFull`]), and output the peer does not
//!   read stops input ([`Connection::wants_input`]) and, stalled, ends the
//!   connection.
//! - Everything else a peer can make the engine hold has a limit in
//!   [`Config`]: sessions, links per session, link state, deliveries per
//!   link, nesting depth, and time (header, handshake, close, idle). Past
//!   one, the connection is closed (or the link detached) with the
//!   condition the spec names, else `amqp:resource-limit-exceeded`;
//!   docs/HOSTILE.md lists every hostile input and its answer.
//! - After this side ends a session or detaches a link with an error, the
//!   peer's frames for it are dropped until its answer (DISCARDING,
//!   §2.4.6, §2.5.5, §2.6.6); after `close` nothing more is written.
//! - Steady traffic allocates nothing: payload buffers are pooled,
//!   unsettled deliveries live in serial-ordered deques, and scratch
//!   vectors are reused (`benches/engine.rs` and `tests/engine_pair.rs`
//!   count allocations).
//! - Sequence numbers use serial arithmetic (§2.8.10).
//! - SASL (§5.3) never accepts a secret it did not check: a server offers
//!   only the mechanisms its [`Authenticator`] can verify (with none, just
//!   ANONYMOUS, plus EXTERNAL for a transport-verified identity), a client
//!   with credentials never falls back to ANONYMOUS, and a SCRAM client
//!   requires the server's signature. `Debug` of SASL frames, requests and
//!   configs redacts passwords, tokens, proofs and signatures.
#![forbid(unsafe_code)]

mod config;
mod connection;
mod delivery;
mod error;
mod event;
mod flow;
mod input;
mod link;
mod sasl;
mod scram;
mod serial;
mod session;
mod slab;
mod stats;
mod timer;
mod transfer;
mod unsettled;

pub use config::{Authenticator, Config, Mechanism, SaslConfig};
pub use connection::{Connection, EndpointState, Role};
pub use delivery::Payload;
pub use error::{Error, Result};
pub use event::Event;
pub use link::LinkOptions;
pub use sasl::SaslRequest;
pub use scram::{
    CredentialStore, CredentialsError, DEFAULT_ITERATIONS, MAX_ITERATIONS, ScramCredentials,
};
pub use slab::{Key, Slab};
pub use stats::Counters;

/// A session of a [`Connection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(pub Key);

/// A link of a [`Connection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkId(pub Key);

/// A delivery of a [`Connection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeliveryId(pub Key);
