//! Statistics: what a connection or link has done so far, read into a
//! plain C struct at any time. The counters are integers the engine and
//! the loop bump as they work (always on); reading them copies them.
//!
//! Both structs start with `struct_size`, as `muon_handler` does: the
//! caller sets it to `sizeof` the struct it knows, muon writes only that
//! many bytes, so fields added at the end later never write past an older
//! program's struct.

use std::ffi::{CStr, c_char};

use super::boundary::boundary;
use super::endpoint::conn_call;
use super::handle::{muon_connection, muon_receiver, muon_sender};
use super::link::{H, link_call};
use super::result::muon_result;
use crate::engine::Counters;

/// A connection's statistics, filled by `muon_connection_get_stats`. Set
/// `struct_size` to `sizeof(muon_connection_stats)` first (the
/// `MUON_CONNECTION_STATS_INIT` initializer does): muon fills only the
/// fields that fit in `struct_size`, so a program built against an older,
/// shorter struct keeps working when fields are added at the end.
///
/// Counts are totals since the connection was made, over every transport
/// of a reconnecting connection. Bytes are AMQP bytes (what the frame
/// trace shows: inside TLS, not counting TLS records).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct muon_connection_stats {
    /// `sizeof(muon_connection_stats)` as the caller knew it; on return,
    /// how many bytes muon filled.
    pub struct_size: usize,
    /// AMQP bytes read from the peer.
    pub bytes_in: u64,
    /// AMQP bytes written to the peer.
    pub bytes_out: u64,
    /// Frames read (empty heartbeat frames included; protocol headers not).
    pub frames_in: u64,
    /// Frames written (empty heartbeat frames included).
    pub frames_out: u64,
    /// Messages sent on the connection's senders (transfers started; a
    /// message still in a sender's queue is not counted).
    pub messages_sent: u64,
    /// Messages received complete on the connection's receivers.
    pub messages_received: u64,
    /// Deliveries settled: sent pre-settled, or settled by this side.
    pub settled: u64,
    /// Deliveries accepted: by the peer for messages sent, by this side for
    /// messages received (each delivery counted once).
    pub accepted: u64,
    /// Deliveries rejected (counted as `accepted` is).
    pub rejected: u64,
    /// Deliveries released (counted as `accepted` is).
    pub released: u64,
    /// Deliveries modified (counted as `accepted` is).
    pub modified: u64,
    /// Deliveries not settled yet, now (both directions).
    pub unsettled: u64,
    /// Milliseconds the current transport has been connected; 0 while not
    /// connected.
    pub connected_ms: u64,
    /// Reconnects that reached a connected transport.
    pub reconnects: u32,
    /// True while a transport is connected.
    pub connected: bool,
    /// True if the current transport is TLS.
    pub tls: bool,
    /// The TLS protocol version, "TLSv1.2" or "TLSv1.3"; empty without TLS or
    /// before the handshake is done. NUL-terminated.
    pub tls_protocol: [c_char; 16],
    /// The TLS cipher suite, e.g. "TLS13_AES_256_GCM_SHA384"; empty as
    /// `tls_protocol` is. NUL-terminated.
    pub tls_cipher: [c_char; 64],
    /// The SASL mechanism in use or chosen, e.g. "PLAIN"; empty without
    /// SASL or before one is chosen. NUL-terminated.
    pub sasl_mechanism: [c_char; 32],
}

/// A sender's or receiver's statistics, filled by
/// `muon_sender_get_stats` or `muon_receiver_get_stats`. Set `struct_size`
/// to `sizeof(muon_link_stats)` first (`MUON_LINK_STATS_INIT` does); muon
/// fills only the fields that fit in it. Counts are since the link was
/// opened; a link re-attached by a reconnect is a new link and starts
/// from 0.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct muon_link_stats {
    /// `sizeof(muon_link_stats)` as the caller knew it; on return, how many
    /// bytes muon filled.
    pub struct_size: usize,
    /// Messages sent (a sender: transfers started, not those still in its
    /// queue) or received complete (a receiver).
    pub messages: u64,
    /// Deliveries settled: sent or received pre-settled and settled by this
    /// side, or settled by this side.
    pub settled: u64,
    /// Deliveries accepted: by the peer (a sender) or by this side (a
    /// receiver), each counted once.
    pub accepted: u64,
    /// Deliveries rejected (counted as `accepted` is).
    pub rejected: u64,
    /// Deliveries released (counted as `accepted` is).
    pub released: u64,
    /// Deliveries modified (counted as `accepted` is).
    pub modified: u64,
    /// Deliveries not settled yet, now.
    pub unsettled: u64,
    /// Credit now: for a sender, what the peer granted and is not used yet
    /// (queued messages not deducted, unlike `muon_sender_credit`); for a
    /// receiver, what it granted and is not used yet.
    pub credit: u32,
    /// A sender's messages waiting in its queue for credit (0 for a
    /// receiver).
    pub queued: u32,
}

/// Copies `text` into a fixed C string field, cut to fit, NUL-terminated.
fn put(field: &mut [c_char], text: &str) {
    let n = text.len().min(field.len() - 1);
    for (d, s) in field.iter_mut().zip(text.as_bytes()[..n].iter()) {
        *d = *s as c_char;
    }
    field[n] = 0;
}

/// Writes `full` to `out`, only the `struct_size` bytes the caller declared
/// (at least the size field itself, else `MUON_RESULT_INVALID_ARGUMENT`).
///
/// # Safety
/// `out` is non-NULL and points to `(*out).struct_size` writable bytes
/// (the struct's first field is a `size_t struct_size`).
unsafe fn write_sized<T: Copy>(out: *mut T, mut full: T) -> Result<(), muon_result> {
    // SAFETY: the caller promises a readable `size_t` at `out`.
    let declared = unsafe { out.cast::<usize>().read_unaligned() };
    if declared < std::mem::size_of::<usize>() {
        return Err(muon_result::InvalidArgument);
    }
    let n = declared.min(std::mem::size_of::<T>());
    // Every stats struct starts with its `struct_size`.
    // SAFETY: `full` is a T, which starts with a usize.
    unsafe { (&raw mut full).cast::<usize>().write_unaligned(n) };
    // SAFETY: `n` bytes fit in both (the caller's declared size and ours).
    unsafe {
        std::ptr::copy_nonoverlapping((&raw const full).cast::<u8>(), out.cast::<u8>(), n);
    }
    Ok(())
}

fn outcomes(c: &Counters) -> [u64; 5] {
    [c.settled, c.accepted, c.rejected, c.released, c.modified]
}

/// Fills `stats` with the connection's statistics now (see
/// `muon_connection_stats`): bytes and frames in and out, messages sent,
/// received and settled, outcomes by kind, deliveries unsettled,
/// reconnects, time connected, the TLS protocol and cipher and the SASL
/// mechanism in use. Cheap: the counters are always kept, this copies
/// them. Readable at any time until the connection's final event.
///
/// `stats` is the caller's, with `struct_size` set (see
/// `muon_connection_stats`); it is written only on success. Results:
/// `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT` (`stats` NULL),
/// `MUON_RESULT_INVALID_ARGUMENT` (`struct_size` smaller than a
/// `size_t`), `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`. Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `stats` is NULL or
/// points to `stats->struct_size` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_get_stats(
    conn: muon_connection,
    stats: *mut muon_connection_stats,
) -> muon_result {
    boundary!(result: {
        let full = conn_call(conn, |st, _, cid| {
            let lp = &st.lp;
            let c = lp.conn_counters(cid).unwrap_or_default();
            let engine = lp.engine_ref(cid);
            let mut s = muon_connection_stats {
                struct_size: 0,
                bytes_in: c.bytes_in,
                bytes_out: c.bytes_out,
                frames_in: c.frames_in,
                frames_out: c.frames_out,
                messages_sent: c.messages_sent,
                messages_received: c.messages_received,
                settled: c.settled,
                accepted: c.accepted,
                rejected: c.rejected,
                released: c.released,
                modified: c.modified,
                unsettled: engine.map_or(0, |e| e.unsettled_count() as u64),
                connected_ms: lp.connected_since(cid).map_or(0, |t| {
                    u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
                }),
                reconnects: lp.reconnects(cid),
                connected: lp.is_connected(cid),
                tls: lp.is_tls(cid),
                tls_protocol: [0; 16],
                tls_cipher: [0; 64],
                sasl_mechanism: [0; 32],
            };
            if let Some((proto, cipher)) = lp.tls_in_use(cid) {
                s.tls = true;
                put(&mut s.tls_protocol, &proto);
                put(&mut s.tls_cipher, &cipher);
            }
            let mech = engine.and_then(|x| {
                x.sasl_request()
                    .map(|r| r.mechanism)
                    .or_else(|| x.sasl_mechanism())
            });
            if let Some(m) = mech {
                // SAFETY: mechanism_cstr returns a static C string.
                let name = unsafe { CStr::from_ptr(super::sasl::mechanism_cstr(m)) };
                put(&mut s.sasl_mechanism, &name.to_string_lossy());
            }
            Ok(s)
        })?;
        if stats.is_null() {
            return Err(muon_result::NullArgument);
        }
        // SAFETY: non-NULL, and the caller promises `struct_size` bytes.
        unsafe { write_sized(stats, full) }
    })
}

fn link_stats(h: H, stats: *mut muon_link_stats) -> Result<(), muon_result> {
    let full = link_call(h, |st, cid, l| {
        let queued = st.links.get(h.key).map_or(0, |e| e.queue.len());
        let x = st.lp.engine_ref(cid).ok_or(muon_result::StaleHandle)?;
        let c = x.link_counters(l).copied().unwrap_or_default();
        let [settled, accepted, rejected, released, modified] = outcomes(&c);
        Ok(muon_link_stats {
            struct_size: 0,
            messages: c.messages_sent + c.messages_received,
            settled,
            accepted,
            rejected,
            released,
            modified,
            unsettled: x.link_unsettled_count(l) as u64,
            credit: x.link_credit(l),
            queued: u32::try_from(queued).unwrap_or(u32::MAX),
        })
    })?;
    if stats.is_null() {
        return Err(muon_result::NullArgument);
    }
    // SAFETY: non-NULL, and the caller promises `struct_size` bytes.
    unsafe { write_sized(stats, full) }
}

/// Fills `stats` with the sender's statistics now (see `muon_link_stats`):
/// messages sent, settled, the peer's outcomes by kind, deliveries
/// unsettled, credit and queued messages. Readable at any time until the
/// link's final event.
///
/// `stats` is the caller's, with `struct_size` set; it is written only on
/// success. Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_INVALID_ARGUMENT` (`struct_size` smaller than a
/// `size_t`), `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`. Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `stats` is NULL or
/// points to `stats->struct_size` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_get_stats(
    sender: muon_sender,
    stats: *mut muon_link_stats,
) -> muon_result {
    boundary!(result: { link_stats(sender.into(), stats) })
}

/// Fills `stats` with the receiver's statistics now (see
/// `muon_link_stats`): messages received, settled, this side's outcomes
/// by kind, deliveries unsettled and credit. Readable at any time until
/// the link's final event.
///
/// `stats` is the caller's, with `struct_size` set; it is written only on
/// success. Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_INVALID_ARGUMENT` (`struct_size` smaller than a
/// `size_t`), `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`. Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `stats` is NULL or
/// points to `stats->struct_size` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_get_stats(
    receiver: muon_receiver,
    stats: *mut muon_link_stats,
) -> muon_result {
    boundary!(result: { link_stats(receiver.into(), stats) })
}
