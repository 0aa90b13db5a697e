//! Transport performatives and their restricted types (transport.bare.xml, spec §2.7).

use super::composite::{Map, Symbol, Symbols};

crate::composite! {
    /// open (§2.7.1): negotiate connection parameters.
    pub struct Open = ("amqp:open:list", 0x10) {
        container_id: req String,
        hostname: opt String,
        max_frame_size: def u32 = u32::MAX,
        channel_max: def u16 = u16::MAX,
        idle_time_out: opt u32,
        outgoing_locales: opt Symbols,
        incoming_locales: opt Symbols,
        offered_capabilities: opt Symbols,
        desired_capabilities: opt Symbols,
        properties: opt Map,
    }
}

#[allow(dead_code)]
fn _uses(_: Symbol) {}
