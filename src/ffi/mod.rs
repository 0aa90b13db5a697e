//! The C API declared in `include/muon.h`, and the only module with
//! `unsafe` code.
//!
//! Invariants every exported function keeps:
//! - its body runs inside `boundary!`, so a panic returns
//!   `MUON_RESULT_PANIC` (or the function's documented default) instead of
//!   unwinding into C;
//! - every pointer from C goes through the helpers in `boundary.rs`, which
//!   turn NULL into `MUON_RESULT_NULL_ARGUMENT` and bad UTF-8 into
//!   `MUON_RESULT_INVALID_UTF8`;
//! - out-parameters are written only on success (the documented exception:
//!   the size reported with `MUON_RESULT_BUFFER_TOO_SMALL`), and an object
//!   whose ownership would move in stays with the caller on any error;
//! - an enum from C arrives as its underlying integer (a `*_arg` alias,
//!   which `cbindgen.toml` makes the header show as the enum) and is looked
//!   up, never transmuted: any number C passes is safe, and one that names
//!   no value is `MUON_RESULT_INVALID_ARGUMENT`;
//! - a pointer a getter returns for a connection or link stays valid until
//!   that object's final event has been dispatched (`State::views`).
#![allow(non_camel_case_types)]

pub(crate) mod boundary;
pub(crate) mod builtin;
pub mod delivery;
pub(crate) mod dispatch;
pub mod driver;
pub mod endpoint;
pub mod event;
pub mod event_loop;
pub mod handle;
pub mod handler;
mod idmap;
pub mod link;
pub mod link_info;
pub mod link_options;
pub mod log;
pub mod message;
pub mod message_header;
pub mod message_maps;
pub mod message_props;
pub mod options;
pub mod result;
pub mod sasl;
pub mod selector;
pub mod sender_to;
pub mod signal;
pub mod stats;
pub mod terminus;
pub mod tls;
pub mod trace;
pub mod transaction;
pub mod url;
pub mod value;
pub mod value_container;
pub mod value_format;
pub mod value_get;
pub mod value_view;
pub mod value_wire;
