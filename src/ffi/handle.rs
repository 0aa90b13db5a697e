//! Endpoint handles: small values (the loop plus a slot index and a
//! generation) checked on every call. A handle kept past its object's final
//! event finds a newer generation (or nothing) in its slot and gets
//! `MUON_RESULT_STALE_HANDLE`; a zeroed handle is the null handle.
//!
//! The structs are written out one by one (not by a macro) so that cbindgen
//! sees them; only their Rust-side methods come from a macro.

use super::event_loop::muon_loop;
use crate::engine::Key;

/// A connection: a handle owned by the loop, valid until
/// `on_connection_final` returns. It survives the built-in reconnect. A
/// zeroed value is the null handle.
///
/// Functions: `muon_loop_connect`, `muon_connection_set_handler`,
/// `muon_connection_answer_open`, `muon_connection_open_sender`,
/// `muon_connection_open_receiver`, `muon_connection_close`,
/// `muon_connection_close_with`, `muon_connection_close_with_info`,
/// `muon_connection_abort`, `muon_connection_is_open`,
/// `muon_connection_is_connected`, `muon_connection_remote_container_id`,
/// `muon_connection_remote_hostname`,
/// `muon_connection_remote_offers_capability`,
/// `muon_connection_remote_desires_capability`,
/// `muon_connection_remote_properties`, `muon_connection_remote_condition`,
/// `muon_connection_local_condition`, `muon_connection_user`,
/// `muon_connection_sender_to`, `muon_connection_send_reply`,
/// `muon_connection_declare_transaction`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct muon_connection {
    /// The loop that owns the object (NULL for the null handle).
    pub owner: *mut muon_loop,
    /// Slot index.
    pub index: u32,
    /// Slot generation (0 for the null handle).
    pub generation: u32,
}

/// A listener: a handle owned by the loop, valid until `on_listener_final`
/// returns. A zeroed value is the null handle.
///
/// Functions: `muon_loop_listen`, `muon_listener_port`,
/// `muon_listener_close`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct muon_listener {
    /// The loop that owns the object (NULL for the null handle).
    pub owner: *mut muon_loop,
    /// Slot index.
    pub index: u32,
    /// Slot generation (0 for the null handle).
    pub generation: u32,
}

/// A sending link: a handle owned by the loop, valid until `on_link_final`
/// returns. When the transport is lost the link ends (`on_link_final`);
/// the built-in reconnect attaches a new sender in its place, with a new
/// handle (`muon_event_sender` of its events). A zeroed value is the null
/// handle.
///
/// Functions: `muon_connection_open_sender`, `muon_connection_sender_to`,
/// `muon_sender_answer_open`,
/// `muon_sender_set_handler`, `muon_sender_set_auto_settle`,
/// `muon_sender_send`, `muon_sender_send_with`, `muon_sender_send_in`,
/// `muon_sender_credit`,
/// `muon_sender_queued`, `muon_sender_offered`, `muon_sender_drained`,
/// `muon_sender_close`, `muon_sender_close_with`,
/// `muon_sender_close_with_info`, `muon_sender_detach`,
/// `muon_sender_remote_closed`, `muon_sender_remote_max_message_size`,
/// `muon_sender_connection`, `muon_sender_name`,
/// `muon_sender_remote_source`, `muon_sender_remote_target`,
/// `muon_sender_remote_source_address`,
/// `muon_sender_remote_target_address`,
/// `muon_sender_set_source_address`, `muon_sender_remote_properties`,
/// `muon_sender_remote_offers_capability`,
/// `muon_sender_remote_desires_capability`,
/// `muon_sender_remote_condition`, `muon_sender_local_condition`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct muon_sender {
    /// The loop that owns the object (NULL for the null handle).
    pub owner: *mut muon_loop,
    /// Slot index.
    pub index: u32,
    /// Slot generation (0 for the null handle).
    pub generation: u32,
}

/// A receiving link: a handle owned by the loop, valid until
/// `on_link_final` returns (a lost transport ends it; the built-in
/// reconnect attaches a new receiver with a new handle). A zeroed value is
/// the null handle.
///
/// Functions: `muon_connection_open_receiver`, `muon_receiver_answer_open`,
/// `muon_receiver_set_handler`, `muon_receiver_set_credit_window`,
/// `muon_receiver_set_auto_accept`, `muon_receiver_flow`,
/// `muon_receiver_drain`, `muon_receiver_credit`,
/// `muon_receiver_is_draining`, `muon_receiver_close`,
/// `muon_receiver_close_with`, `muon_receiver_close_with_info`,
/// `muon_receiver_detach`, `muon_receiver_remote_closed`,
/// `muon_receiver_connection`,
/// `muon_receiver_name`, `muon_receiver_remote_source`,
/// `muon_receiver_remote_target`, `muon_receiver_remote_source_address`,
/// `muon_receiver_remote_target_address`,
/// `muon_receiver_set_target_address`, `muon_receiver_remote_properties`,
/// `muon_receiver_remote_offers_capability`,
/// `muon_receiver_remote_desires_capability`,
/// `muon_receiver_remote_condition`, `muon_receiver_local_condition`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct muon_receiver {
    /// The loop that owns the object (NULL for the null handle).
    pub owner: *mut muon_loop,
    /// Slot index.
    pub index: u32,
    /// Slot generation (0 for the null handle).
    pub generation: u32,
}

/// A delivery (a message in transit): a handle owned by the loop, valid
/// until the delivery is settled here (by the application or a built-in
/// behaviour; on a receiver in rcv-settle-mode second, until its sender
/// settled it too: `on_settled`) or its link ends. A zeroed value is the
/// null handle.
///
/// Functions: `muon_sender_send`, `muon_sender_send_with`,
/// `muon_event_delivery`,
/// `muon_delivery_accept`, `muon_delivery_reject`,
/// `muon_delivery_release`, `muon_delivery_modify`,
/// `muon_delivery_settle`, `muon_delivery_remote_state`,
/// `muon_delivery_is_remote_settled`, `muon_delivery_tag`,
/// `muon_delivery_message_format`, `muon_delivery_accept_in`,
/// `muon_delivery_declared`, `muon_delivery_transaction_id`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct muon_delivery {
    /// The loop that owns the object (NULL for the null handle).
    pub owner: *mut muon_loop,
    /// Slot index.
    pub index: u32,
    /// Slot generation (0 for the null handle).
    pub generation: u32,
}

/// A transaction this side declared (`muon_connection_declare_transaction`)
/// on a peer that coordinates them: a handle owned by the loop, valid until
/// the transaction's final event (`on_transaction_discharged` or
/// `on_transaction_failed`) returns. A zeroed value is the null handle.
///
/// Functions: `muon_connection_declare_transaction`,
/// `muon_transaction_commit`, `muon_transaction_rollback`,
/// `muon_transaction_id`, `muon_sender_send_in`, `muon_delivery_accept_in`,
/// `muon_event_transaction`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct muon_transaction {
    /// The loop that owns the object (NULL for the null handle).
    pub owner: *mut muon_loop,
    /// Slot index.
    pub index: u32,
    /// Slot generation (0 for the null handle).
    pub generation: u32,
}

/// A timer: a handle owned by the loop, valid until the timer fires or is
/// cancelled. A zeroed value is the null handle.
///
/// Functions: `muon_loop_schedule`, `muon_timer_cancel`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct muon_timer {
    /// The loop that owns the object (NULL for the null handle).
    pub owner: *mut muon_loop,
    /// Slot index.
    pub index: u32,
    /// Slot generation (0 for the null handle).
    pub generation: u32,
}

macro_rules! handle_methods {
    ($($name:ident),*) => {$(
        impl $name {
            /// The null handle.
            pub(crate) const NULL: $name = $name {
                owner: std::ptr::null_mut(),
                index: 0,
                generation: 0,
            };

            pub(crate) fn new(owner: *mut muon_loop, key: Key) -> $name {
                $name {
                    owner,
                    index: key.index,
                    generation: key.generation,
                }
            }

            pub(crate) fn key(&self) -> Key {
                Key {
                    index: self.index,
                    generation: self.generation,
                }
            }

            /// True for the null handle (or anything zeroed like it).
            #[allow(dead_code)]
            pub(crate) fn is_null(&self) -> bool {
                self.owner.is_null() || self.generation == 0
            }
        }
    )*};
}

handle_methods!(
    muon_connection,
    muon_listener,
    muon_sender,
    muon_receiver,
    muon_delivery,
    muon_timer,
    muon_transaction
);
