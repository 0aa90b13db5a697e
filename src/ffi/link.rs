//! Senders and receivers: opening, handlers and built-ins, sending,
//! credit, closing. (What the peer attached them with is in
//! `link_info.rs`.) The two handle types share one implementation here;
//! each exported function is a thin typed wrapper.

use std::ffi::{c_char, c_void};

use super::boundary::{borrow, boundary, cstr};
use super::dispatch::{DeliveryEntry, NOT_YET_SENT, PendingClose, Queued, State};
use super::endpoint::{check, conn_of, engine, error_from, error_with_info, write_out};
use super::event_loop::{map_engine, map_reactor, muon_loop, with_state};
use super::handle::{muon_connection, muon_delivery, muon_receiver, muon_sender};
use super::handler::{Registered, muon_handler};
use super::link_options::{LinkOpts, muon_link_options};
use super::message::muon_message;
use super::result::muon_result;
use super::value::muon_value;
use crate::codec::messaging::{DeliveryState, Source, Target};
use crate::codec::transport::{AmqpError, ReceiverSettleMode, Role, SenderSettleMode};
use crate::codec::{DeliveryTag, Symbols};
use crate::engine::{EndpointState, Key, LinkId, LinkOptions};
use crate::reactor::ConnId;

/// The engine identity of a link handle of `role`.
fn link_of(st: &State, k: Key, role: Role) -> Result<(ConnId, LinkId), muon_result> {
    let l = st.links.get(k).ok_or(muon_result::StaleHandle)?;
    if l.role != role {
        return Err(muon_result::StaleHandle);
    }
    Ok((l.cid, l.link))
}

/// A link handle, whichever its type.
#[derive(Clone, Copy)]
pub(crate) struct H {
    pub owner: *mut muon_loop,
    pub generation: u32,
    pub key: Key,
    pub role: Role,
}

impl From<muon_sender> for H {
    fn from(s: muon_sender) -> H {
        H {
            owner: s.owner,
            generation: s.generation,
            key: s.key(),
            role: Role::Sender,
        }
    }
}

impl From<muon_receiver> for H {
    fn from(r: muon_receiver) -> H {
        H {
            owner: r.owner,
            generation: r.generation,
            key: r.key(),
            role: Role::Receiver,
        }
    }
}

/// Runs `f` on the state with the link behind `h`.
pub(crate) fn link_call<R>(
    h: H,
    f: impl FnOnce(&mut State, ConnId, LinkId) -> Result<R, muon_result>,
) -> Result<R, muon_result> {
    check(h.owner, h.generation)?;
    // SAFETY: the callers' contracts make the handle's loop live.
    unsafe {
        with_state(h.owner, |st| {
            let (cid, l) = link_of(st, h.key, h.role)?;
            f(st, cid, l)
        })
    }
}

// ---- opening ----------------------------------------------------------------------

fn engine_options(role: Role, address: Option<String>, opts: &LinkOpts) -> LinkOptions {
    let durable = opts.durability.to_amqp();
    let expiry_policy = opts.expiry_policy.to_amqp();
    let timeout = opts.timeout_s;
    let caps = (!opts.capabilities.is_empty()).then(|| Symbols(opts.capabilities.clone()));
    let address = address.filter(|_| !opts.dynamic);
    let (source, target) = match role {
        Role::Sender => (
            Source::default(),
            Target {
                address,
                durable,
                expiry_policy,
                timeout,
                dynamic: opts.dynamic,
                capabilities: caps,
                ..Target::default()
            },
        ),
        Role::Receiver => (
            Source {
                address,
                durable,
                expiry_policy,
                timeout,
                dynamic: opts.dynamic,
                distribution_mode: opts.distribution_mode.clone(),
                filter: opts.filter.clone(),
                capabilities: caps,
                ..Source::default()
            },
            Target::default(),
        ),
    };
    LinkOptions {
        name: opts.name.clone().unwrap_or_default(),
        source: Some(source),
        target: Some(target),
        coordinator: None,
        snd_settle_mode: Some(if opts.presettled {
            SenderSettleMode::Settled
        } else {
            SenderSettleMode::Unsettled
        }),
        rcv_settle_mode: Some(if opts.rcv_settle_second {
            ReceiverSettleMode::Second
        } else {
            ReceiverSettleMode::First
        }),
        max_message_size: (opts.max_message_size > 0).then_some(opts.max_message_size),
        properties: opts.properties.clone(),
        offered_capabilities: opts.offered_capabilities.clone(),
        desired_capabilities: opts.desired_capabilities.clone(),
    }
}

fn open_link(
    conn: muon_connection,
    role: Role,
    address: *const c_char,
    options: *const muon_link_options,
    handler: *const muon_handler,
    userdata: *mut c_void,
) -> Result<Key, muon_result> {
    check(conn.owner, conn.generation)?;
    let address = if address.is_null() {
        None
    } else {
        // SAFETY: the callers' contracts make `address` NUL-terminated.
        Some(unsafe { cstr(address) }?.to_owned())
    };
    let opts: LinkOpts = if options.is_null() {
        LinkOpts::default()
    } else {
        // SAFETY: the callers' contracts make `options` live.
        unsafe { borrow(options) }?.clone()
    };
    // SAFETY: the callers' contracts make `handler` valid or NULL.
    let reg = unsafe { Registered::new(handler, userdata) };
    // SAFETY: the callers' contracts make the handle's loop live.
    unsafe {
        with_state(conn.owner, |st| {
            let (ck, cid) = conn_of(st, conn)?;
            let lo = engine_options(role, address, &opts);
            let l = st.lp.open_link(cid, role, lo).map_err(map_reactor)?;
            if role == Role::Receiver && opts.credit_window > 0 {
                engine(st, cid)?
                    .link_flow(l, opts.credit_window, false)
                    .map_err(map_engine)?;
            }
            Ok(st.register_link(ck, cid, l, role, reg, opts))
        })
    }
}

/// Opens a sender to `address`: the tutorial's `conn.sender(address,
/// handler=...)`. NULL `address`: no target address (for a peer's
/// anonymous relay, which routes each message by its `to`; or with the
/// dynamic option). The attach goes out at once (or when the transport is
/// up); `on_link_remote_open` follows, then `on_link_flow` whenever there
/// is credit to send. Its events go to `handler` (copied; may be NULL),
/// else the connection's handler, else the loop's.
///
/// `address`, `options` (may be NULL: defaults) and `handler` are borrowed
/// for the call; `userdata` stays the application's; `out` (may be NULL)
/// receives the sender, owned by the loop until `on_link_final` returns.
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_INVALID_UTF8`, `MUON_RESULT_STALE_HANDLE`,
/// `MUON_RESULT_CLOSED` (the connection is closing, or between reconnect
/// attempts), `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not
/// thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; pointers are NULL or
/// valid as described.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_open_sender(
    conn: muon_connection,
    address: *const c_char,
    options: *const muon_link_options,
    handler: *const muon_handler,
    userdata: *mut c_void,
    out: *mut muon_sender,
) -> muon_result {
    boundary!(result: {
        let k = open_link(conn, Role::Sender, address, options, handler, userdata)?;
        write_out(out, muon_sender::new(conn.owner, k));
        Ok(())
    })
}

/// Opens a receiver from `address`: the tutorial's `conn.receiver(address,
/// handler=...)` (NULL with the dynamic option: the peer makes a temporary
/// node; read its address with `muon_receiver_remote_source_address` in
/// `on_link_remote_open`). With the default options, credit is granted
/// automatically (window 10) and each message is accepted when
/// `on_message` returns.
///
/// Ownership and results as `muon_connection_open_sender`; `out` receives
/// a receiver. Not thread-safe; may be called from a callback.
///
/// `address`, `options` and `handler` are borrowed for the call; `userdata`
/// stays the application's; `out` (may be NULL) receives the receiver, owned by
/// the loop until `on_link_final` returns. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_CLOSED`,
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`.
///
/// # Safety
/// The handle is the null handle or its loop is live; pointers are NULL or
/// valid as described.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_connection_open_receiver(
    conn: muon_connection,
    address: *const c_char,
    options: *const muon_link_options,
    handler: *const muon_handler,
    userdata: *mut c_void,
    out: *mut muon_receiver,
) -> muon_result {
    boundary!(result: {
        let k = open_link(conn, Role::Receiver, address, options, handler, userdata)?;
        write_out(out, muon_receiver::new(conn.owner, k));
        Ok(())
    })
}

fn open_by_hand(h: H) -> Result<(), muon_result> {
    link_call(h, |st, _, _| st.open_link_now(h.key))
}

/// Answers, by hand, the attach of a sender the peer attached (a consumer,
/// seen from a server) with ours, when the handshake is off: call it in
/// `on_link_remote_attach` or later, after setting the source with
/// `muon_sender_set_source_address` if needed. Answering an open link
/// does nothing. (Links this side opens, with
/// `muon_connection_open_sender`, need no answer.)
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_CLOSED`,
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not thread-safe; may be
/// called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_answer_open(sender: muon_sender) -> muon_result {
    boundary!(result: { open_by_hand(sender.into()) })
}

/// Answers, by hand, the attach of a receiver the peer attached (a
/// producer, seen from a server) with ours, when the handshake is off, and
/// grants its credit window (if not 0). Answering an open link does
/// nothing. Results as `muon_sender_answer_open`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_answer_open(receiver: muon_receiver) -> muon_result {
    boundary!(result: { open_by_hand(receiver.into()) })
}

// ---- handlers and built-ins ---------------------------------------------------------

fn set_handler(
    h: H,
    handler: *const muon_handler,
    userdata: *mut c_void,
) -> Result<(), muon_result> {
    // SAFETY: the callers' contracts make `handler` NULL or a valid table.
    let reg = unsafe { Registered::new(handler, userdata) };
    link_call(h, |st, _, _| {
        let e = st.links.get_mut(h.key).ok_or(muon_result::StaleHandle)?;
        let old = std::mem::replace(&mut e.handler, reg);
        st.deferred_free.extend(old);
        Ok(())
    })
}

/// Sets a sender's handler, e.g. for a sender the peer attached (in
/// `on_link_remote_attach`). `handler` is copied; NULL removes it. The
/// previous table's `userdata_free` is called soon after (never during
/// this call).
///
/// `handler` is borrowed for the call; `userdata` stays the application's.
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`. Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `handler` is NULL or
/// a valid table.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_set_handler(
    sender: muon_sender,
    handler: *const muon_handler,
    userdata: *mut c_void,
) -> muon_result {
    boundary!(result: { set_handler(sender.into(), handler, userdata) })
}

/// Sets a receiver's handler; see `muon_sender_set_handler`.
///
/// `handler` is borrowed for the call; `userdata` stays the application's.
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`.
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `handler` is NULL or
/// a valid table.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_set_handler(
    receiver: muon_receiver,
    handler: *const muon_handler,
    userdata: *mut c_void,
) -> muon_result {
    boundary!(result: { set_handler(receiver.into(), handler, userdata) })
}

/// Turns a sender's auto-settle built-in on or off from now on (see
/// `muon_link_options_set_auto_settle`); for senders the peer attached,
/// whose options are the defaults.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`. Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_set_auto_settle(sender: muon_sender, on: bool) -> muon_result {
    boundary!(result: {
        let h: H = sender.into();
        link_call(h, |st, _, _| {
            let e = st.links.get_mut(h.key).ok_or(muon_result::StaleHandle)?;
            e.opts.auto_settle = on;
            Ok(())
        })
    })
}

/// Turns a receiver's auto-accept built-in on or off from now on (see
/// `muon_link_options_set_auto_accept`). Results as
/// `muon_sender_set_auto_settle`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_set_auto_accept(
    receiver: muon_receiver,
    on: bool,
) -> muon_result {
    boundary!(result: {
        let h: H = receiver.into();
        link_call(h, |st, _, _| {
            let e = st.links.get_mut(h.key).ok_or(muon_result::StaleHandle)?;
            e.opts.auto_accept = on;
            Ok(())
        })
    })
}

/// Sets a receiver's credit window from now on (see
/// `muon_link_options_set_credit_window`; 0 turns the built-in off). For a
/// receiver the peer attached, set it in `on_link_remote_attach`, before
/// the first credit is granted. Results as `muon_sender_set_auto_settle`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_set_credit_window(
    receiver: muon_receiver,
    window: u32,
) -> muon_result {
    boundary!(result: {
        let h: H = receiver.into();
        link_call(h, |st, _, _| {
            let e = st.links.get_mut(h.key).ok_or(muon_result::StaleHandle)?;
            e.opts.credit_window = window;
            Ok(())
        })
    })
}

// ---- sending ------------------------------------------------------------------------

/// Sends `message` on the sender: the tutorial's `sender.send_msg(msg)`.
/// The message is encoded during the call, so it may be changed or freed
/// right after.
///
/// With credit (and nothing queued) it goes out at once. Without, it is
/// held in the sender's queue: before the peer answered the attach, while
/// the peer gives no credit, while too much output waits to be written,
/// and behind messages queued earlier. Queued messages go out in the order
/// they were sent as credit arrives, before any message sent later, and
/// `on_link_flow` comes once the queue is empty and credit is left. The
/// queue holds at most `muon_link_options_set_max_queued` messages (1024
/// by default; `muon_sender_queued` says how many it holds); past that the
/// call returns `MUON_RESULT_QUEUE_FULL` and sends nothing: wait for
/// `on_link_flow`. With a bound of 0 nothing is queued and a send without
/// credit returns `MUON_RESULT_NO_CREDIT` (or `MUON_RESULT_WRONG_STATE`
/// before the attach, or with too much output waiting).
///
/// A queued message's delivery reports its outcome like any other
/// (`on_accepted` ... then `on_settled`). A queued message is never lost
/// silently: when its link ends before it could be sent (closed by either
/// side, its connection closed, aborted or lost), it is handed back with
/// `on_released`, whose `muon_event_message` is the message and whose
/// `muon_event_condition` is `muon:not-sent` (the peer's own `released`
/// has no condition), then `on_settled`; one larger than the peer's
/// max-message-size (unknown before the attach) is handed back the same
/// way with `amqp:link:message-size-exceeded`. With the built-in reconnect
/// on, the queue is kept instead and sent on the link the reconnect
/// attaches again, with the same delivery handles; when the connection
/// ends without reconnecting, what is left is handed back before
/// `on_connection_final`, under a sender handle valid during those
/// callbacks only. Deliveries already sent when a transport is lost have
/// no outcome: their fate is unknown (`on_link_final` is the last event
/// about them). `muon_loop_free` drops what is queued.
///
/// `message` is borrowed for the call; `out` (may be NULL) receives the
/// delivery, owned by the loop until it is settled (the null handle when
/// sent pre-settled, queued or not). Results: `MUON_RESULT_OK` (sent or
/// queued), `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_STALE_HANDLE`,
/// `MUON_RESULT_QUEUE_FULL`, `MUON_RESULT_NO_CREDIT` and
/// `MUON_RESULT_WRONG_STATE` (only with a bound of 0, as above; also
/// `MUON_RESULT_WRONG_STATE` for a sender the peer attached and this side
/// has not opened), `MUON_RESULT_CLOSED` (the sender or its connection is
/// closing or closed, or the peer closed it), `MUON_RESULT_INVALID_ARGUMENT`
/// (larger than the peer accepts, `muon_sender_remote_max_message_size`, or
/// than the sender's own `muon_link_options_set_max_message_size`; nothing
/// is sent and the link goes on), `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`; `out` is written only on success. Not thread-safe;
/// may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `message` is NULL or
/// live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_send(
    sender: muon_sender,
    message: *const muon_message,
    out: *mut muon_delivery,
) -> muon_result {
    boundary!(result: { send_message(sender, message, None, 0, None, out) })
}

/// Sends or queues `message` with `tag` (None: one muon makes up),
/// `format` (the transfer's message-format) and the transfer's `state`
/// (a transaction's); see `muon_sender_send`.
pub(crate) fn send_message(
    sender: muon_sender,
    message: *const muon_message,
    tag: Option<DeliveryTag>,
    format: u32,
    state: Option<DeliveryState>,
    out: *mut muon_delivery,
) -> Result<(), muon_result> {
    check(sender.owner, sender.generation)?;
    // SAFETY: the callers' contracts make `message` live or NULL.
    let m = unsafe { borrow(message) }?;
    let h: H = sender.into();
    let d = link_call(h, |st, cid, l| {
        let e = st.links.get(h.key).ok_or(muon_result::StaleHandle)?;
        if e.closed_by_app {
            return Err(muon_result::Closed);
        }
        let (presettled, queued, max) = (e.opts.presettled, !e.queue.is_empty(), e.opts.max_queued);
        let x = engine(st, cid)?;
        let refused = if queued {
            // Behind what waits already.
            muon_result::NoCredit
        } else {
            let t = tag.as_ref().map(DeliveryTag::as_bytes);
            // A message received and not changed goes out as it came in.
            let st8 = state.clone();
            let sent = match m.raw() {
                Some(raw) => x.send_with_state(l, t, raw, presettled, format, st8),
                None => x.send_with_state(l, t, m.msg(), presettled, format, st8),
            };
            match sent {
                Ok(d) => {
                    if !x.delivery_exists(d) {
                        return Ok(muon_delivery::NULL);
                    }
                    let dk = st.deliveries.insert(DeliveryEntry {
                        cid,
                        link: h.key,
                        did: d,
                        outcome_reported: false,
                        settled_reported: false,
                        queued: false,
                        declare: false,
                    });
                    st.delivery_index.insert((cid, d), dk);
                    return Ok(muon_delivery::new(st.me, dk));
                }
                Err(e) if max > 0 && waits_for_credit(&e) => map_engine(e),
                Err(e) => return Err(map_engine(e)),
            }
        };
        enqueue(st, h.key, cid, l, m, (tag, format, state), refused)
    })?;
    write_out(out, d);
    Ok(())
}

/// Sends `message` as `muon_sender_send` does (queued the same way
/// without credit), with a delivery tag the application chose and a
/// message format.
///
/// `tag` is `tag_len` bytes (at most 32), the delivery's tag on the wire,
/// which the receiver reads with `muon_delivery_tag`; `tag_len` 0 (`tag`
/// may then be NULL): muon makes one up, as `muon_sender_send` does.
/// AMQP wants a tag unique among the link's unsettled deliveries; muon
/// does not check it. The tags muon makes up are at most 8 bytes long,
/// so tags of 9 bytes or more never collide with them on a link that
/// uses both. `message_format` is the transfer's message-format: 0, an
/// AMQP message, is what `muon_sender_send` sends; other values name a
/// format agreed with the receiver (the upper three bytes a vendor's
/// code, the lowest a version), which reads it with
/// `muon_delivery_message_format`. The payload is `message`'s encoding
/// either way.
///
/// `message` and `tag` are borrowed for the call; `out` (may be NULL)
/// receives the delivery, as with `muon_sender_send`. Results: those of
/// `muon_sender_send`, and `MUON_RESULT_NULL_ARGUMENT` (`tag` NULL with
/// `tag_len` above 0), `MUON_RESULT_INVALID_ARGUMENT` (`tag_len` above
/// 32). Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; `message` is NULL or
/// live; `tag` is NULL or valid for reading `tag_len` bytes; `out` is NULL
/// or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_send_with(
    sender: muon_sender,
    message: *const muon_message,
    tag: *const u8,
    tag_len: usize,
    message_format: u32,
    out: *mut muon_delivery,
) -> muon_result {
    boundary!(result: {
        let tag = if tag_len == 0 {
            None
        } else {
            if tag.is_null() {
                return Err(muon_result::NullArgument);
            }
            if tag_len > DeliveryTag::MAX_LEN {
                return Err(muon_result::InvalidArgument);
            }
            // SAFETY: the caller promises `tag_len` readable bytes.
            let bytes = unsafe { std::slice::from_raw_parts(tag, tag_len) };
            Some(DeliveryTag::new(bytes).ok_or(muon_result::InvalidArgument)?)
        };
        send_message(sender, message, tag, message_format, None, out)
    })
}

/// True for a refusal the queue can wait out: no credit yet, the attach
/// not answered yet, too much output waiting.
pub(crate) fn waits_for_credit(e: &crate::engine::Error) -> bool {
    use crate::engine::Error as E;
    matches!(e, E::NoCredit | E::OutputFull(_) | E::WrongState(_))
}

/// Queues `m` on sender `lk` (the link `l` of connection `cid`) if the
/// link can still send and the queue has room. `refused` is why it was not
/// sent at once.
fn enqueue(
    st: &mut State,
    lk: crate::engine::Key,
    cid: ConnId,
    l: LinkId,
    m: &super::message::MessageBox,
    (tag, format, state): (Option<DeliveryTag>, u32, Option<DeliveryState>),
    refused: muon_result,
) -> Result<muon_delivery, muon_result> {
    let x = engine(st, cid)?;
    if x.is_done() || x.local_state() == EndpointState::Closed {
        return Err(muon_result::Closed);
    }
    match (x.link_local_state(l), x.link_remote_state(l)) {
        (EndpointState::Active, EndpointState::Uninit | EndpointState::Active) => {}
        (_, EndpointState::Closed) | (EndpointState::Closed, _) => {
            return Err(muon_result::Closed);
        }
        // Attached by the peer, not opened here: it cannot send yet.
        _ => return Err(refused),
    }
    let own = x
        .link_options(l)
        .and_then(|o| o.max_message_size)
        .filter(|n| *n > 0);
    let limit = x
        .link_remote_attach(l)
        .and_then(|a| a.max_message_size)
        .filter(|n| *n > 0)
        .into_iter()
        .chain(own)
        .min();
    let e = st.links.get(lk).ok_or(muon_result::StaleHandle)?;
    let max = e.opts.max_queued;
    if max == 0 {
        return Err(refused);
    }
    if e.queue.len() >= max as usize {
        return Err(muon_result::QueueFull);
    }
    let bytes = m.encoded().into_owned();
    if limit.is_some_and(|n| bytes.len() as u64 > n) {
        return Err(muon_result::InvalidArgument);
    }
    let delivery = (!e.opts.presettled).then(|| {
        st.deliveries.insert(DeliveryEntry {
            cid,
            link: lk,
            did: NOT_YET_SENT,
            outcome_reported: false,
            settled_reported: false,
            queued: true,
            declare: false,
        })
    });
    let e = st.links.get_mut(lk).ok_or(muon_result::StaleHandle)?;
    e.queue.push_back(Queued {
        bytes,
        delivery,
        tag,
        format,
        state,
    });
    Ok(delivery.map_or(muon_delivery::NULL, |dk| muon_delivery::new(st.me, dk)))
}

/// How many messages the sender holds in its queue, waiting for credit
/// (see `muon_sender_send`); 0 for a stale or null handle. Not
/// thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_queued(sender: muon_sender) -> u32 {
    boundary!(0, {
        let h: H = sender.into();
        link_call(h, |st, _, _| {
            Ok(st
                .links
                .get(h.key)
                .map_or(0, |e| u32::try_from(e.queue.len()).unwrap_or(u32::MAX)))
        })
        .unwrap_or(0)
    })
}

/// The sender's credit: how many messages it may send now without their
/// waiting in its queue (0 for a stale or null handle): the tutorial's
/// `sender.credit`. The credit the peer granted, less the messages already
/// queued (see `muon_sender_send`), so that sending while it is above 0
/// never fills the queue; 0 once the link, its connection or the
/// transport has ended (a send would return `MUON_RESULT_CLOSED`). Not
/// thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_credit(sender: muon_sender) -> u32 {
    boundary!(0, {
        let h: H = sender.into();
        link_call(h, |st, cid, l| {
            let queued = st.links.get(h.key).map_or(0, |e| e.queue.len());
            // No credit where a send would be refused as closed: the
            // transport ended (a flow read together with the end of the
            // stream), the connection or the link closed.
            let credit = st.lp.engine_ref(cid).map_or(0, |x| {
                let closed = x.is_done()
                    || x.local_state() == EndpointState::Closed
                    || x.link_local_state(l) == EndpointState::Closed
                    || x.link_remote_state(l) == EndpointState::Closed;
                if closed { 0 } else { x.link_credit(l) }
            });
            Ok(credit.saturating_sub(u32::try_from(queued).unwrap_or(u32::MAX)))
        })
        .unwrap_or(0)
    })
}

/// Tells the receiver how many messages wait to be sent (the `available`
/// of the next flow): the tutorial's `sender.offered(n)`.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_CLOSED`,
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not thread-safe; may be
/// called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_offered(sender: muon_sender, count: u32) -> muon_result {
    boundary!(result: {
        link_call(sender.into(), |st, cid, l| {
            engine(st, cid)?.link_set_available(l, count).map_err(map_engine)
        })
    })
}

/// Says the sender has nothing more to send now: if the receiver asked to
/// drain, the rest of the credit is used up and the receiver told (the
/// tutorial's `sender.drained()`). After `on_link_flow` returns this is
/// done automatically, so call it only when the sender runs dry outside
/// that callback. Results as `muon_sender_offered`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_drained(sender: muon_sender) -> muon_result {
    boundary!(result: {
        link_call(sender.into(), |st, cid, l| {
            engine(st, cid)?.link_drained(l).map(|_| ()).map_err(map_engine)
        })
    })
}

// ---- receiving ----------------------------------------------------------------------

/// Grants the sender credit for `credit` messages from now (absolute: the
/// credit becomes `credit`, 0 takes it back). With the credit window
/// built-in on, credit is still topped up automatically; set the window
/// to 0 to manage it by hand.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_CLOSED`,
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not thread-safe; may be
/// called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_flow(receiver: muon_receiver, credit: u32) -> muon_result {
    boundary!(result: {
        link_call(receiver.into(), |st, cid, l| {
            engine(st, cid)?.link_flow(l, credit, false).map_err(map_engine)
        })
    })
}

/// Grants `credit` and asks the sender to use it at once or give it back
/// (drain). When the sender answers, `on_link_flow` comes for the
/// receiver, and `muon_receiver_is_draining` is false once the drain is
/// over. Results as `muon_receiver_flow`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_drain(receiver: muon_receiver, credit: u32) -> muon_result {
    boundary!(result: {
        link_call(receiver.into(), |st, cid, l| {
            engine(st, cid)?.link_flow(l, credit, true).map_err(map_engine)
        })
    })
}

/// The credit the receiver has granted and that is not used yet (0 for a
/// stale or null handle). Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_credit(receiver: muon_receiver) -> u32 {
    boundary!(0, {
        link_call(receiver.into(), |st, cid, l| {
            Ok(st.lp.engine_ref(cid).map_or(0, |x| x.link_credit(l)))
        })
        .unwrap_or(0)
    })
}

/// True while a drain asked with `muon_receiver_drain` is not over (false
/// for a stale or null handle). Not thread-safe; may be called from a
/// callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_is_draining(receiver: muon_receiver) -> bool {
    boundary!(false, {
        link_call(receiver.into(), |st, cid, l| {
            Ok(st.lp.engine_ref(cid).is_some_and(|x| x.link_drain(l)))
        })
        .unwrap_or(false)
    })
}

// ---- closing -----------------------------------------------------------------------

/// Detaches the link behind `h`: `closed` ends it for good, else it is
/// only detached (AMQP's detach with closed=false).
fn close_link(h: H, closed: bool, error: Option<AmqpError>) -> Result<(), muon_result> {
    link_call(h, |st, cid, l| {
        if let Some(e) = st.links.get_mut(h.key) {
            e.closed_by_app = true;
            if error.is_some() {
                e.local_error = error.clone();
            }
        }
        st.lp.forget_link(cid, l);
        if st.dispatching {
            st.pending_closes
                .push(PendingClose::Link(cid, l, closed, error));
            return Ok(());
        }
        let Some(x) = st.lp.engine(cid) else {
            return Ok(()); // the connection is in its final callback
        };
        if x.link_local_state(l) == EndpointState::Closed {
            return Ok(());
        }
        x.link_close(l, closed, error).map_err(map_engine)
    })
}

/// Begins closing the sender: the tutorial's `link.close()`.
/// `on_link_final` follows once the peer answered. Outcomes the peer gives
/// deliveries before its answer are still reported (`on_accepted` ...,
/// `on_settled`), so a program may close and then wait for them; messages
/// still queued for credit are handed back (see `muon_sender_send`), and
/// later sends return `MUON_RESULT_CLOSED`. Closing twice is not an
/// error. Called from a callback, the close takes effect once the
/// callback's event is handled (see `muon_connection_close`). Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`. Not thread-safe; may be called from a callback,
/// including the link's own.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_close(sender: muon_sender) -> muon_result {
    boundary!(result: { close_link(sender.into(), true, None) })
}

/// Begins closing the sender with the error condition `name` and
/// `description` (may be NULL), both borrowed for the call. Results as
/// `muon_sender_close`, plus `MUON_RESULT_INVALID_UTF8` and
/// `MUON_RESULT_INVALID_ARGUMENT` (an empty or non-ASCII name).
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; strings are NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_close_with(
    sender: muon_sender,
    name: *const c_char,
    description: *const c_char,
) -> muon_result {
    boundary!(result: {
        check(sender.owner, sender.generation)?;
        let e = error_from(name, description)?;
        close_link(sender.into(), true, Some(e))
    })
}

/// Begins closing the sender with the error condition `name`,
/// `description` (may be NULL) and `info` (may be NULL: none), a map with
/// symbol keys (see `muon_connection_close_with_info`), all borrowed for
/// the call. Results as `muon_sender_close_with`, plus
/// `MUON_RESULT_INVALID_ARGUMENT` when `info` is not a map with symbol
/// keys.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live; strings are NULL or
/// NUL-terminated; `info` is NULL or a live value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_close_with_info(
    sender: muon_sender,
    name: *const c_char,
    description: *const c_char,
    info: *const muon_value,
) -> muon_result {
    boundary!(result: {
        check(sender.owner, sender.generation)?;
        // SAFETY: the caller promises NULL or a live value.
        let e = unsafe { error_with_info(name, description, info) }?;
        close_link(sender.into(), true, Some(e))
    })
}

/// Begins closing the receiver; see `muon_sender_close`.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`.
/// Not thread-safe; may be called from a callback, including the link's own.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_close(receiver: muon_receiver) -> muon_result {
    boundary!(result: { close_link(receiver.into(), true, None) })
}

/// Begins closing the receiver with an error condition; see
/// `muon_sender_close_with`.
///
/// `name` and `description` are borrowed for the call. Results:
/// `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_UTF8`,
/// `MUON_RESULT_INVALID_ARGUMENT`, `MUON_RESULT_STALE_HANDLE`,
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not thread-safe; may be
/// called from a callback, including the link's own.
///
/// # Safety
/// The handle is the null handle or its loop is live; strings are NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_close_with(
    receiver: muon_receiver,
    name: *const c_char,
    description: *const c_char,
) -> muon_result {
    boundary!(result: {
        check(receiver.owner, receiver.generation)?;
        let e = error_from(name, description)?;
        close_link(receiver.into(), true, Some(e))
    })
}

/// Begins closing the receiver with an error condition and its info map;
/// see `muon_sender_close_with_info`.
///
/// `name`, `description` and `info` are borrowed for the call. Results as
/// `muon_receiver_close_with`, plus `MUON_RESULT_INVALID_ARGUMENT` when
/// `info` is not a map with symbol keys. Not thread-safe; may be called
/// from a callback, including the link's own.
///
/// # Safety
/// The handle is the null handle or its loop is live; strings are NULL or
/// NUL-terminated; `info` is NULL or a live value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_close_with_info(
    receiver: muon_receiver,
    name: *const c_char,
    description: *const c_char,
    info: *const muon_value,
) -> muon_result {
    boundary!(result: {
        check(receiver.owner, receiver.generation)?;
        // SAFETY: the caller promises NULL or a live value.
        let e = unsafe { error_with_info(name, description, info) }?;
        close_link(receiver.into(), true, Some(e))
    })
}

// ---- detaching without closing ----------------------------------------------------

/// Detaches the sender without closing it (AMQP's detach with
/// closed=false): the link ends here, but the peer may keep its terminus,
/// by the durability and expiry policy it was attached with
/// (`muon_link_options_set_durability`,
/// `muon_link_options_set_expiry_policy`), to be resumed. To resume it,
/// open a link again with the same name (`muon_link_options_set_name`),
/// the same role and address, from a connection with the same container
/// id (`muon_connection_options_set_container_id`): a durable
/// subscription is a receiver detached this way and attached again later.
/// Events, messages still queued and results as `muon_sender_close`;
/// `on_link_final` follows once the peer answered. The peer sees
/// `on_link_remote_close`, where `muon_sender_remote_closed` (or
/// `muon_receiver_remote_closed`) is false; muon's handshake built-in
/// answers a detach with a detach, and a close with a close. The built-in
/// reconnect does not attach a detached link again. Detaching a link
/// closed or detached already does nothing, and so does closing a
/// detached one.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`. Not thread-safe; may be called from a callback,
/// including the link's own.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_detach(sender: muon_sender) -> muon_result {
    boundary!(result: { close_link(sender.into(), false, None) })
}

/// Detaches the receiver without closing it, to resume it later (a
/// durable subscription); see `muon_sender_detach`.
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_STALE_HANDLE`, `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`. Not thread-safe; may be called from a callback,
/// including the link's own.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_detach(receiver: muon_receiver) -> muon_result {
    boundary!(result: { close_link(receiver.into(), false, None) })
}

fn remote_closed(h: H) -> bool {
    link_call(h, |st, cid, l| {
        Ok(st
            .lp
            .engine_ref(cid)
            .is_some_and(|x| x.link_remote_closed(l)))
    })
    .unwrap_or(false)
}

/// True if the peer's detach of the sender closed it (AMQP's closed=true,
/// `muon_sender_close` on a muon peer); false if the peer only detached
/// it (closed=false, `muon_sender_detach`: the link may be resumed), also
/// when its session ended under it, before the peer's detach, and for a
/// stale or null handle. Read it in `on_link_remote_close` or later, until
/// `on_link_final` returns.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_remote_closed(sender: muon_sender) -> bool {
    boundary!(false, { remote_closed(sender.into()) })
}

/// True if the peer's detach of the receiver closed it; see
/// `muon_sender_remote_closed`.
///
/// Not thread-safe; may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_receiver_remote_closed(receiver: muon_receiver) -> bool {
    boundary!(false, { remote_closed(receiver.into()) })
}

/// The max-message-size of the peer's attach: the largest message, in
/// encoded bytes, the receiver takes (0 if it set none, before its
/// attach, and for a stale or null handle). `muon_sender_send` refuses a
/// larger message with `MUON_RESULT_INVALID_ARGUMENT`. Not thread-safe;
/// may be called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_sender_remote_max_message_size(sender: muon_sender) -> u64 {
    boundary!(0, {
        link_call(sender.into(), |st, cid, l| {
            Ok(st
                .lp
                .engine_ref(cid)
                .and_then(|x| x.link_remote_attach(l))
                .and_then(|a| a.max_message_size)
                .unwrap_or(0))
        })
        .unwrap_or(0)
    })
}
