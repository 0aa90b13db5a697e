//! muon: an AMQP 1.0 messaging library with a safe, handle-based C API.
//!
//! The layers depend on each other in one direction only
//! (`ffi → reactor → engine → codec`):
//!
//! - [`codec`]: the AMQP 1.0 type system, frames, performatives and message
//!   sections; pure functions on byte slices.
//! - [`engine`]: the sans-IO protocol state machine (connections, sessions,
//!   links, deliveries, SASL). Bytes and time go in; bytes, deadlines and
//!   events come out.
//! - [`reactor`]: the mio event loop that pumps sockets into engines.
//! - `ffi`: the C API declared in `include/muon.h`; the only `unsafe` code.

pub mod codec;
pub mod engine;
pub mod log;
pub mod reactor;
pub mod selector;

mod ffi;
