//! The event loop: mio sockets, listeners, timers, reconnect and
//! cross-thread wake-ups, pumping bytes between sockets and engines.
//!
//! Invariants:
//! - One `mio::Poll` per [`Loop`]; a token carries a slot index and a
//!   generation, so readiness for a closed socket never reaches a reused
//!   slot.
//! - Readiness is edge-triggered: reads and writes drain until
//!   `WouldBlock` (retrying on `Interrupted`). WRITABLE interest is
//!   registered only while an engine has output the socket did not take.
//! - Each engine's whole pending output (many frames) goes out in one
//!   `write` call, not one per frame.
//! - The clock is read here and handed to engines; engines never read it.
//! - A loop and everything in it belong to one thread; only the
//!   [`Waker`](LoopWaker) crosses threads.

mod address;
mod event_loop;

pub use address::Address;
pub use event_loop::{
    ConnId, ConnectOptions, ListenerId, Loop, LoopEvent, LoopWaker, ReconnectPolicy, TimerId,
};

use thiserror::Error;

/// Errors of the event loop.
#[derive(Debug, Error)]
pub enum Error {
    /// An I/O call failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A URL could not be parsed.
    #[error("invalid URL {0}")]
    InvalidUrl(String),
    /// A host name did not resolve.
    #[error("cannot resolve {0}")]
    Resolve(String),
    /// The connection, listener or timer no longer exists.
    #[error("the {0} no longer exists")]
    Stale(&'static str),
    /// An engine command failed.
    #[error(transparent)]
    Engine(#[from] crate::engine::Error),
}
