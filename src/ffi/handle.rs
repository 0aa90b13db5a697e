//! Endpoint handles: small values (the loop plus a slot index and a
//! generation) checked on every call. A handle kept past its object's final
//! event finds a newer generation in its slot and gets
//! `MUON_RESULT_STALE_HANDLE`; a zeroed handle is the null handle.

use super::event_loop::muon_loop;
use crate::engine::Key;

/// The methods every handle type has (cbindgen must see each struct
/// itself, so only the impl is generated).
macro_rules! handle_impl {
    ($name:ident) => {
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

            #[allow(dead_code)]
            pub(crate) fn is_null(&self) -> bool {
                self.owner.is_null() || self.generation == 0
            }
        }
    };
}

/// A connection: owned by the loop, valid until after
/// `on_connection_final`. Survives the built-in reconnect.
///
/// Functions: `muon_loop_connect`, `muon_connection_open_sender`,
/// `muon_connection_open_receiver`, `muon_connection_close`,
/// `muon_connection_close_with`, `muon_connection_set_handler`,
/// `muon_connection_remote_condition`, `muon_connection_remote_container_id`,
/// `muon_connection_remote_offered_capability`, `muon_connection_user`,
/// `muon_connection_is_open`.
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
handle_impl!(muon_connection);

/// A listener: owned by the loop, valid until after `on_listener_final`.
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
handle_impl!(muon_listener);

/// A sending link: owned by the loop, valid until after `on_link_final`
/// (a reconnect makes it stale: the link is re-opened as a new sender).
///
/// Functions: `muon_connection_open_sender`, `muon_sender_send`,
/// `muon_sender_credit`, `muon_sender_offered`, `muon_sender_drained`,
/// `muon_sender_connection`, `muon_sender_close`,
/// `muon_sender_close_with`, `muon_sender_remote_condition`,
/// `muon_sender_remote_target_address`, `muon_sender_name`.
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
handle_impl!(muon_sender);

/// A receiving link: owned by the loop, valid until after
/// `on_link_final` (a reconnect makes it stale).
///
/// Functions: `muon_connection_open_receiver`, `muon_receiver_flow`,
/// `muon_receiver_drain`, `muon_receiver_credit`,
/// `muon_receiver_connection`, `muon_receiver_close`,
/// `muon_receiver_close_with`, `muon_receiver_remote_condition`,
/// `muon_receiver_remote_source_address`,
/// `muon_receiver_set_source_address`, `muon_receiver_name`.
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
handle_impl!(muon_receiver);

/// A delivery (a message in transit): owned by the loop, valid until it
/// is settled here.
///
/// Functions: `muon_delivery_accept`, `muon_delivery_reject`,
/// `muon_delivery_release`, `muon_delivery_modify`,
/// `muon_delivery_settle`, `muon_delivery_remote_state`,
/// `muon_delivery_is_remote_settled`, `muon_delivery_tag`.
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
handle_impl!(muon_delivery);

/// A timer: valid until it fires or is cancelled.
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
handle_impl!(muon_timer);
