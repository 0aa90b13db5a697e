//! `muon_loop`: the event loop as C sees it. It owns the reactor, the
//! handler tables and the handle slabs (`dispatch.rs`), and runs the
//! dispatch: callbacks are made with no Rust borrow of the loop alive, so
//! that they may call back into the API.
//!
//! Invariants:
//! - the state is borrowed only inside [`with_state`], which checks the
//!   thread and the poison flag; the only C it calls while the borrow
//!   lives is the process-wide log callback, and the `borrowed` flag
//!   refuses any call on the loop made from there (`MUON_RESULT_REENTRANT`);
//! - the `dispatching` flag is set exactly while a callback runs, which is
//!   what makes `muon_loop_run*` (and `muon_loop_try_free`) refuse with
//!   `MUON_RESULT_REENTRANT` there, and `muon_loop_free` do nothing;
//! - while `muon_loop_free` calls the application's `userdata_free`
//!   functions, the loop's memory is still allocated but its state is
//!   gone: every call on it is refused (the `freeing` flag), none reads
//!   the state;
//! - a panic anywhere under a loop function poisons the loop: every later
//!   call on it returns `MUON_RESULT_PANIC` (or its documented default).

use std::cell::{Cell, UnsafeCell};
use std::collections::VecDeque;
use std::ffi::{c_int, c_void};
use std::mem::ManuallyDrop;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::boundary::{Opaque, boundary, check_out, write};
use super::dispatch::{Action, State, TimerReg, pool};
use super::event::{EventData, muon_event};
use super::handle::muon_timer;
use super::handler::{Registered, muon_handler};
use super::idmap::ThreadMark;
use super::message::MessageBox;
use super::result::muon_result;
use crate::reactor::{self, Loop, LoopWaker, TimerId};

/// An event loop: owned by the application (`muon_loop_new`,
/// `muon_loop_free`) and used from the thread that made it. Everything
/// made through it (connections, listeners, links, deliveries, timers)
/// belongs to it and to that thread: a call from another thread returns
/// `MUON_RESULT_WRONG_THREAD` (and `muon_loop_free` does nothing). Only
/// `muon_loop_wake` and `muon_loop_post` may be called from any thread.
/// Many loops on many threads are fine.
///
/// Callbacks run only inside `muon_loop_run` and `muon_loop_run_once`.
///
/// Functions: `muon_loop_new`, `muon_loop_set_handler`,
/// `muon_loop_set_log`, `muon_loop_set_trace`, `muon_loop_connect`,
/// `muon_loop_listen`, `muon_loop_schedule`, `muon_timer_cancel`,
/// `muon_loop_run`, `muon_loop_run_once`, `muon_loop_fd`,
/// `muon_loop_timeout`, `muon_driver_new`, `muon_loop_stop`,
/// `muon_loop_wake`, `muon_loop_wake_on_signal`, `muon_loop_post`,
/// `muon_loop_free`, `muon_loop_try_free`.
pub struct muon_loop {
    _private: [u8; 0],
}

/// A function posted from another thread with `muon_loop_post`, run on the
/// loop's thread with the `context` it was posted with.
pub type muon_post_fn = Option<unsafe extern "C" fn(context: *mut c_void)>;

pub(crate) struct Posted {
    pub f: unsafe extern "C" fn(*mut c_void),
    /// The application's pointer, carried across threads as a number.
    pub context: usize,
}

/// What other threads may touch.
pub(crate) struct Shared {
    pub waker: LoopWaker,
    pub posted: Mutex<Vec<Posted>>,
}

/// What a `muon_loop *` points to.
pub(crate) struct LoopBox {
    pub shared: Arc<Shared>,
    pub owner: ThreadMark,
    /// Taken (and dropped) by `muon_loop_free` before it calls the
    /// application's `userdata_free` functions; `freeing` says so.
    pub state: UnsafeCell<ManuallyDrop<State>>,
    /// Set by `muon_loop_free` once `state` is gone: the box stays
    /// allocated while the application's `userdata_free` functions run, and
    /// every call on the loop from them is refused. Read and written on
    /// the owner thread only.
    pub freeing: Cell<bool>,
    /// Set while `muon_loop_run` or `muon_loop_run_once` runs: the loop's
    /// descriptor is armed when they return, not after each step. Read and
    /// written on the owner thread only.
    pub running: Cell<bool>,
    /// Set while `with_state` holds the state borrowed. muon calls out of
    /// a step only through the process-wide log callback, which may call
    /// muon again: a call on this loop from there is refused
    /// (`MUON_RESULT_REENTRANT`) instead of borrowing the state twice.
    /// Read and written on the owner thread only.
    pub borrowed: Cell<bool>,
}

impl Opaque for muon_loop {
    type Inner = LoopBox;
}

/// Borrows the loop's state for one step, on its own thread, unless the
/// loop is poisoned. A panic inside `f` poisons the loop.
///
/// # Safety
/// `p` is NULL or a live loop made by `muon_loop_new`.
pub(crate) unsafe fn with_state<R>(
    p: *mut muon_loop,
    f: impl FnOnce(&mut State) -> Result<R, muon_result>,
) -> Result<R, muon_result> {
    // SAFETY: the caller promises a live loop or NULL.
    let lb = unsafe { p.cast::<LoopBox>().as_ref() }.ok_or(muon_result::NullArgument)?;
    if ThreadMark::current() != lb.owner {
        return Err(muon_result::WrongThread);
    }
    if lb.freeing.get() {
        // Called from a `userdata_free` that `muon_loop_free` runs.
        return Err(muon_result::Reentrant);
    }
    if lb.borrowed.get() {
        // Called from the log callback, in the middle of one of this
        // loop's steps.
        return Err(muon_result::Reentrant);
    }
    // SAFETY: only the owner thread gets here, the state is there (not
    // freeing), and no other borrow of it is alive: this function is the
    // only place that makes one (`free_loop` and `poison` take it only
    // when `borrowed` is clear), `borrowed` refuses a second one made from
    // C code muon calls while this one lives (the log callback), and the
    // application's handlers run between calls of it.
    let st: &mut State = unsafe { &mut *lb.state.get() };
    if st.poisoned {
        return Err(muon_result::Panic);
    }
    lb.borrowed.set(true);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let r = f(st);
        // A call from outside a run (a send after reading stdin, bytes fed
        // to a driver) may leave work for the loop: its descriptor says so
        // (see `muon_loop_fd`).
        if !lb.running.get() && st.lp.has_fd() {
            st.lp.arm();
        }
        r
    }));
    lb.borrowed.set(false);
    match r {
        Ok(r) => r,
        Err(_) => {
            poison(p);
            Err(muon_result::Panic)
        }
    }
}

/// Marks the loop poisoned after a panic under one of its functions.
pub(crate) fn poison(p: *mut muon_loop) {
    // SAFETY: callers pass a loop pointer the application promised is
    // live; on its own thread, with no borrow of the state alive (the
    // panicking one has unwound).
    if let Some(lb) = unsafe { p.cast::<LoopBox>().as_ref() }
        && ThreadMark::current() == lb.owner
        && !lb.freeing.get()
        && !lb.borrowed.get()
    {
        // SAFETY: as above, and the state is there (not freeing).
        unsafe { &mut *lb.state.get() }.poisoned = true;
    }
}

/// Runs `f` for an exported loop function; a panic poisons the loop.
pub(crate) fn guarded(
    lp: *mut muon_loop,
    f: impl FnOnce() -> Result<(), muon_result>,
) -> Result<(), muon_result> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => {
            poison(lp);
            Err(muon_result::Panic)
        }
    }
}

pub(crate) fn map_reactor(e: reactor::Error) -> muon_result {
    use std::io::ErrorKind;
    match e {
        reactor::Error::Io(io) => match io.kind() {
            ErrorKind::AddrInUse => muon_result::AddressInUse,
            ErrorKind::ConnectionRefused => muon_result::ConnectionRefused,
            ErrorKind::TimedOut => muon_result::TimedOut,
            // io::ErrorKind is non-exhaustive: every other kind is I/O.
            _ => muon_result::IoError,
        },
        reactor::Error::InvalidUrl(_) => muon_result::InvalidArgument,
        reactor::Error::Resolve(_) => muon_result::ResolveFailed,
        reactor::Error::Stale(_) => muon_result::StaleHandle,
        reactor::Error::Tls(_) => muon_result::InvalidArgument,
        reactor::Error::Engine(e) => map_engine(e),
    }
}

pub(crate) fn map_engine(e: crate::engine::Error) -> muon_result {
    use crate::engine::Error as E;
    match e {
        E::Stale(_) => muon_result::StaleHandle,
        E::WrongState(_) => muon_result::WrongState,
        E::NoCredit => muon_result::NoCredit,
        E::OutputFull(_) => muon_result::WrongState,
        E::InvalidArgument(_) => muon_result::InvalidArgument,
        E::Closed => muon_result::Closed,
        E::Decode(_) => muon_result::DecodeError,
    }
}

/// Calls the application with the dispatch flag set.
///
/// # Safety
/// `lp` is a live loop; `call` calls only functions the application
/// registered for this purpose.
unsafe fn callback(lp: *mut muon_loop, call: impl FnOnce()) -> Result<(), muon_result> {
    // SAFETY: the caller's promise.
    unsafe {
        with_state(lp, |st| {
            st.dispatching = true;
            Ok(())
        })
    }?;
    call();
    // SAFETY: as above.
    unsafe {
        with_state(lp, |st| {
            st.dispatching = false;
            Ok(())
        })
    }
}

/// Calls every `userdata_free` that became due and hands queued trace
/// lines to the log callback.
///
/// # Safety
/// `lp` is a live loop, not dispatching.
unsafe fn housekeeping(lp: *mut muon_loop) -> Result<(), muon_result> {
    loop {
        // SAFETY: the caller's promise.
        let (frees, lines, log) = unsafe {
            with_state(lp, |st| {
                if st.deferred_free.is_empty() && !st.lp.has_log() {
                    return Ok((Vec::new(), Vec::new(), None));
                }
                Ok((
                    std::mem::take(&mut st.deferred_free),
                    st.lp.take_log(),
                    st.log,
                ))
            })
        }?;
        if frees.is_empty() && lines.is_empty() {
            return Ok(());
        }
        for r in frees {
            // SAFETY: `lp` is live; the function was registered for this
            // userdata, to be called once.
            unsafe { callback(lp, || r.free_userdata()) }?;
        }
        if let Some(log) = log {
            for line in lines {
                let c = std::ffi::CString::new(line.replace('\0', "")).unwrap_or_default();
                // SAFETY: `lp` is live; the application registered `log.f`
                // for this userdata; the line lives until the call returns.
                unsafe { callback(lp, || (log.f)(log.userdata, c.as_ptr())) }?;
            }
        }
    }
}

/// Runs the actions of one dispatch step, borrowing the state only
/// between callbacks.
///
/// # Safety
/// `lp` is a live loop, not dispatching.
unsafe fn execute(lp: *mut muon_loop, actions: Vec<Action>) -> Result<(), muon_result> {
    let mut queue = VecDeque::from(actions);
    while let Some(a) = queue.pop_front() {
        match a {
            Action::Dispatch {
                pick,
                link,
                conn,
                listener,
                ev,
            } => {
                // SAFETY: the caller's promise.
                let target = unsafe {
                    with_state(lp, |st| {
                        Ok(st
                            .txn_target(pick, ev.transaction)
                            .or_else(|| st.resolve(pick, link, conn, listener)))
                    })
                }?;
                if let Some((f, ud)) = target {
                    let ev_ptr: *const muon_event = (&*ev as *const EventData).cast();
                    // SAFETY: `f` is the application's callback for this
                    // event, registered with `ud`; the event outlives the
                    // call.
                    unsafe { callback(lp, || f(ud, ev_ptr)) }?;
                }
                // A message's bytes go back to its engine, for the next one.
                let mut ev = ev;
                if let Some(raw) = ev.message.as_mut().and_then(MessageBox::take_raw) {
                    // SAFETY: the caller's promise.
                    unsafe {
                        with_state(lp, |st| {
                            if let Ok((_, cid)) = super::endpoint::conn_of(st, ev.connection) {
                                st.lp.recycle_payload(cid, raw);
                            }
                            Ok(())
                        })
                    }?;
                }
                pool::recycle(ev);
            }
            Action::Timer { reg, ev } => {
                // SAFETY: the caller's promise.
                let default = unsafe { with_state(lp, |st| Ok(st.default)) }?;
                let default_timer = |ud| default.and_then(|d| d.handler.on_timer.map(|f| (f, ud)));
                let target =
                    match reg.reg {
                        // No table: the default handler, with this timer's
                        // userdata.
                        None => default_timer(reg.userdata),
                        // A table: its on_timer, else the default handler's
                        // with the default's userdata.
                        Some(r) => r.handler.on_timer.map(|f| (f, r.userdata)).or_else(|| {
                            default_timer(default.map_or(reg.userdata, |d| d.userdata))
                        }),
                    };
                if let Some((f, ud)) = target {
                    let ev_ptr: *const muon_event = (&*ev as *const EventData).cast();
                    // SAFETY: as for a dispatch.
                    unsafe { callback(lp, || f(ud, ev_ptr)) }?;
                }
                // SAFETY: the caller's promise.
                unsafe {
                    with_state(lp, |st| {
                        st.deferred_free.extend(reg.reg);
                        Ok(())
                    })
                }?;
            }
            Action::Builtin(b) => {
                // SAFETY: the caller's promise.
                let more = unsafe { with_state(lp, |st| Ok(st.builtin(b))) }?;
                for (i, m) in more.into_iter().enumerate() {
                    queue.insert(i, m);
                }
            }
            Action::RunPosted => {
                // SAFETY: `lp` is live (the caller's promise); only the
                // thread-safe part is read here.
                let lb = unsafe { &*lp.cast::<LoopBox>() };
                let posted = std::mem::take(
                    &mut *lb.shared.posted.lock().unwrap_or_else(|e| e.into_inner()),
                );
                for p in posted {
                    // SAFETY: the application posted `p.f` to be called on
                    // this thread with this context.
                    unsafe { callback(lp, || (p.f)(p.context as *mut c_void)) }?;
                }
            }
        }
    }
    pool::recycle_actions(Vec::from(queue));
    Ok(())
}

/// Dispatches the next queued event; if none is queued and `poll` is set,
/// waits up to `timeout` for one first. Returns false when there was
/// nothing to do (no event, and no work to wait for or no waiting asked).
///
/// # Safety
/// `lp` is a live loop, not dispatching.
unsafe fn step(
    lp: *mut muon_loop,
    timeout: Option<Duration>,
    poll: bool,
) -> Result<bool, muon_result> {
    // SAFETY: the caller's promise.
    let next = unsafe {
        with_state(lp, |st| {
            if let Some(ev) = st.lp.next_event() {
                return Ok(Some(st.prepare(ev)));
            }
            // Without work a wait would not end, but a look (timeout 0)
            // still collects wakes and posted functions, so that a loop
            // run from the loop's descriptor drains it.
            if !poll || (!st.lp.has_work() && timeout != Some(Duration::ZERO)) {
                return Ok(None);
            }
            st.lp.poll(timeout).map_err(map_reactor)?;
            Ok(Some(Vec::new()))
        })
    }?;
    // SAFETY: the caller's promise.
    unsafe { housekeeping(lp) }?;
    let more = match next {
        None => false,
        Some(actions) => {
            // SAFETY: the caller's promise.
            unsafe { execute(lp, actions) }?;
            // Userdata the callbacks released, log lines they caused.
            // SAFETY: the caller's promise.
            unsafe { housekeeping(lp) }?;
            true
        }
    };
    // SAFETY: the caller's promise.
    unsafe {
        with_state(lp, |st| {
            st.apply_pending_closes();
            Ok(())
        })
    }?;
    Ok(more)
}

/// Refuses a run from inside a callback; clears an earlier stop. On
/// success the run must end with [`leave`].
fn enter(lp: *mut muon_loop) -> Result<(), muon_result> {
    // SAFETY: callers pass a pointer the application promised is live.
    unsafe {
        with_state(lp, |st| {
            if st.dispatching {
                return Err(muon_result::Reentrant);
            }
            st.lp.resume();
            Ok(())
        })
    }?;
    // SAFETY: `with_state` just found a live loop.
    unsafe { &*lp.cast::<LoopBox>() }.running.set(true);
    Ok(())
}

/// Ends a run begun by [`enter`]: the loop's descriptor (if the
/// application asked for it) is armed for what is left.
fn leave(lp: *mut muon_loop, r: Result<(), muon_result>) -> Result<(), muon_result> {
    // SAFETY: `enter` found a live loop, and the run does not free it.
    unsafe { &*lp.cast::<LoopBox>() }.running.set(false);
    // SAFETY: as above; arming is done by `with_state` itself now that the
    // run is over. A poisoned loop answers PANIC, which `r` says already.
    let _ = unsafe { with_state(lp, |_| Ok(())) };
    r
}

/// Makes an event loop, with no handler, connection or listener yet. The
/// frame trace is on if the environment variable `MUON_TRACE` lists `frm`
/// (e.g. `MUON_TRACE=frm`); it goes to standard error unless a log
/// callback is set with `muon_loop_set_log`.
///
/// `out` is borrowed for the call and receives the loop only on success:
/// ownership moves out; free with `muon_loop_free`. The loop belongs to
/// the calling thread. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT` (`out` is NULL), `MUON_RESULT_IO_ERROR` (the
/// operating system refused, e.g. no file descriptors left),
/// `MUON_RESULT_PANIC`. Thread-safe (each thread may make its own loops);
/// may be called from a callback (of another loop).
///
/// # Safety
/// `out` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_new(out: *mut *mut muon_loop) -> muon_result {
    boundary!(result: {
        check_out(out)?;
        let lp = Loop::new().map_err(|_| muon_result::IoError)?;
        let shared = Arc::new(Shared {
            waker: lp.waker(),
            posted: Mutex::new(Vec::new()),
        });
        let lb = Box::new(LoopBox {
            shared,
            owner: ThreadMark::current(),
            state: UnsafeCell::new(ManuallyDrop::new(State::new(lp))),
            freeing: Cell::new(false),
            running: Cell::new(false),
            borrowed: Cell::new(false),
        });
        let p = Box::into_raw(lb);
        // SAFETY: `p` was just made from a Box and nothing else refers to
        // it yet.
        unsafe { (&mut *(*p).state.get()).me = p.cast() };
        // SAFETY: `out` is non-NULL and, per the caller, writable.
        unsafe { write(out, p.cast()) }
    })
}

/// Sets the loop's default handler: it gets every event that no more
/// specific handler (link, connection, listener) implements, and the
/// loop-wide ones (`on_wake`). `handler` is copied; NULL removes it. The
/// previous table's `userdata_free` is called soon after (at the next
/// dispatch step, or by `muon_loop_free`), never during this call.
///
/// `lp` and `handler` are borrowed for the call; `userdata` stays the
/// application's and is passed to every callback of this table. Results:
/// `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT` (NULL `lp`),
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not thread-safe; may be
/// called from a callback.
///
/// # Safety
/// `lp` is NULL or a live loop; `handler` is NULL or a `muon_handler` of at
/// least its declared `struct_size`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_set_handler(
    lp: *mut muon_loop,
    handler: *const muon_handler,
    userdata: *mut c_void,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a valid handler table or NULL.
        let new = unsafe { Registered::new(handler, userdata) };
        // SAFETY: the caller promises a live loop.
        unsafe {
            with_state(lp, |st| {
                let old = std::mem::replace(&mut st.default, new);
                st.deferred_free.extend(old);
                Ok(())
            })
        }
    })
}

/// Runs the loop until no work is left (no connection, listener or timer)
/// or `muon_loop_stop` is called. Callbacks run inside this call.
///
/// `lp` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_REENTRANT` (called from a
/// callback: nothing is run), `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_IO_ERROR` (polling failed), `MUON_RESULT_PANIC` (a bug;
/// the loop is poisoned). Not thread-safe; not callable from a callback.
///
/// # Safety
/// `lp` is NULL or a live loop.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_run(lp: *mut muon_loop) -> muon_result {
    boundary!(result: {
        enter(lp)?;
        let r = guarded(lp, || loop {
            // SAFETY: the caller promises a live loop; `enter` checked that
            // it is not dispatching.
            if !unsafe { step(lp, None, true) }? {
                return Ok(());
            }
            // SAFETY: as above.
            if unsafe { with_state(lp, |st| Ok(st.lp.is_stopped())) }? {
                return Ok(());
            }
        });
        leave(lp, r)
    })
}

/// Waits up to `timeout_ms` milliseconds (a negative number such as -1:
/// without limit; 0: not at all) for something to happen, then dispatches
/// every event that is ready, and returns. With a timeout other than 0 it
/// returns at once if no work is left (no connection, listener or timer).
/// For applications that run their own outer loop.
///
/// With `timeout_ms` 0 it never waits: it looks at the sockets, timers,
/// wakes and posted functions once (also when the loop has no work, so
/// that wakes and posts are collected), runs what is due, dispatches every
/// event that is ready and returns. This is the call to make each time the
/// descriptor of `muon_loop_fd` is readable, or when the time of
/// `muon_loop_timeout` has come.
///
/// `lp` is borrowed for the call. Results as `muon_loop_run`. Not
/// thread-safe; not callable from a callback.
///
/// # Safety
/// `lp` is NULL or a live loop.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_run_once(lp: *mut muon_loop, timeout_ms: i64) -> muon_result {
    boundary!(result: {
        enter(lp)?;
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        let r = guarded(lp, || {
            // SAFETY: the caller promises a live loop, not dispatching.
            unsafe { step(lp, timeout, true) }?;
            // SAFETY: as above.
            while unsafe { step(lp, None, false) }? {}
            Ok(())
        });
        leave(lp, r)
    })
}

/// The loop's file descriptor, for running the loop inside another event
/// loop, any that can watch a descriptor for reading (`poll`, `epoll`,
/// libuv's `uv_poll_t`, GLib's `g_unix_fd_add`): it is readable
/// whenever the loop has work, whether a socket is ready, a timer or a
/// connection's deadline (handshake, idle time-out, heartbeat) is due, a
/// wake or a posted function arrived, or a call made outside a run left
/// something to do (a message sent from the application's own code, bytes
/// fed to a driver). Wait for it to be readable (level-triggered: `poll`'s
/// `POLLIN`, libuv's `UV_READABLE`), then call
/// `muon_loop_run_once(lp, 0)` once; it is readable again while work is
/// left. Never read from it, write to it or close it: it stays the loop's
/// and is closed by `muon_loop_free`.
///
/// Linux only: it is the loop's epoll descriptor, with a timerfd for the
/// deadlines inside it (elsewhere the result is `MUON_RESULT_IO_ERROR`).
/// The first call makes the timerfd (one more descriptor for the loop);
/// later calls return the same descriptor. `muon_loop_timeout` gives the
/// next deadline too, for loops that prefer their own timers.
///
/// `lp` is borrowed for the call; `fd` is borrowed and receives the
/// descriptor on success. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_IO_ERROR` (not Linux, or no
/// descriptor left for the timerfd), `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`. Not thread-safe; may be called from a callback.
///
/// # Safety
/// `lp` is NULL or a live loop; `fd` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_fd(lp: *mut muon_loop, fd: *mut c_int) -> muon_result {
    boundary!(result: {
        check_out(fd)?;
        // SAFETY: the caller promises a live loop.
        let raw = unsafe { with_state(lp, |st| st.lp.fd().map_err(|_| muon_result::IoError)) }?;
        // SAFETY: checked non-NULL; the caller promises it is writable.
        unsafe { write(fd, raw) }
    })
}

/// How long the loop may sleep before `muon_loop_run_once(lp, 0)` must be
/// called, in milliseconds, rounded up: 0 when something is due now
/// (events queued, a timer or deadline passed, work left by a call made
/// outside a run), -1 when nothing is timed (only I/O, a wake or a post
/// can bring work, which `muon_loop_fd` tells). For applications that keep
/// their own timers (a libuv `uv_timer_t`, a GLib timeout): after every
/// `muon_loop_run_once`, and after calls into muon made outside a run, set
/// the timer again from this.
///
/// `lp` is borrowed for the call; `ms` is borrowed and receives the time
/// on success. Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not thread-safe; may
/// be called from a callback.
///
/// # Safety
/// `lp` is NULL or a live loop; `ms` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_timeout(lp: *mut muon_loop, ms: *mut i64) -> muon_result {
    boundary!(result: {
        check_out(ms)?;
        // SAFETY: the caller promises a live loop.
        let t = unsafe { with_state(lp, |st| Ok(st.lp.next_deadline())) }?;
        // SAFETY: checked non-NULL; the caller promises it is writable.
        unsafe { write(ms, timeout_ms(t)) }
    })
}

/// Milliseconds from now until `t`, rounded up (0 if passed), or -1 for
/// none.
pub(crate) fn timeout_ms(t: Option<std::time::Instant>) -> i64 {
    match t {
        None => -1,
        Some(t) => {
            let d = t.saturating_duration_since(std::time::Instant::now());
            let ms = d.as_millis() + u128::from(d.subsec_nanos() % 1_000_000 != 0);
            i64::try_from(ms).unwrap_or(i64::MAX)
        }
    }
}

/// Makes `muon_loop_run` return once the current callback returns
/// (outside a run, it has no effect: each run starts afresh).
///
/// `lp` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`. Not thread-safe (from another thread, post a
/// function that stops the loop with `muon_loop_post`); may be called from
/// a callback.
///
/// # Safety
/// `lp` is NULL or a live loop.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_stop(lp: *mut muon_loop) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live loop.
        unsafe {
            with_state(lp, |st| {
                st.lp.stop();
                Ok(())
            })
        }
    })
}

/// Wakes the loop: soon after, inside `muon_loop_run` or
/// `muon_loop_run_once`, the default handler's `on_wake` is called (wakes
/// that come close together may be reported once). A sleeping
/// `muon_loop_run` with no work returns after that.
///
/// `lp` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_IO_ERROR`. **Thread-safe**:
/// may be called from any thread while the loop is alive (not during or
/// after `muon_loop_free`), and from a callback.
///
/// # Safety
/// `lp` is NULL or a live loop that is not being freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_wake(lp: *mut muon_loop) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live loop; only its thread-safe
        // `shared` part is touched.
        let lb = unsafe { lp.cast::<LoopBox>().as_ref() }.ok_or(muon_result::NullArgument)?;
        lb.shared.waker.wake().map_err(|_| muon_result::IoError)
    })
}

/// Runs `f(context)` on the loop's thread, soon, inside `muon_loop_run` or
/// `muon_loop_run_once` (before the `on_wake` it also causes). Functions
/// run in the order they were posted. This is how another thread hands
/// work to the loop; `f` may call any function on the loop's handles,
/// except `muon_loop_run*` and `muon_loop_free`. A function still pending
/// when the loop is freed is not called.
///
/// `lp` is borrowed for the call; `context` stays the application's.
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT` (NULL `lp` or
/// `f`), `MUON_RESULT_IO_ERROR`. **Thread-safe**: may be called from any
/// thread while the loop is alive, and from a callback.
///
/// # Safety
/// `lp` is NULL or a live loop that is not being freed; `f` may be called
/// on the loop's thread with `context`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_post(
    lp: *mut muon_loop,
    f: muon_post_fn,
    context: *mut c_void,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live loop; only `shared` is touched.
        let lb = unsafe { lp.cast::<LoopBox>().as_ref() }.ok_or(muon_result::NullArgument)?;
        let f = f.ok_or(muon_result::NullArgument)?;
        lb.shared
            .posted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Posted {
                f,
                context: context as usize,
            });
        lb.shared.waker.wake().map_err(|_| muon_result::IoError)
    })
}

/// Frees the loop, or says why it may not be freed now; see
/// `muon_loop_free`.
///
/// # Safety
/// As `muon_loop_free`.
unsafe fn free_loop(lp: *mut muon_loop) -> Result<(), muon_result> {
    // SAFETY: the caller promises a live loop or NULL.
    let lb = unsafe { lp.cast::<LoopBox>().as_ref() }.ok_or(muon_result::NullArgument)?;
    if ThreadMark::current() != lb.owner {
        return Err(muon_result::WrongThread);
    }
    if lb.freeing.get() || lb.borrowed.get() {
        return Err(muon_result::Reentrant);
    }
    // SAFETY: on the owner thread, not freeing, with no borrow of the
    // state alive (`borrowed` is clear: not called from the log callback
    // inside `with_state`).
    let st: &mut ManuallyDrop<State> = unsafe { &mut *lb.state.get() };
    if st.dispatching {
        return Err(muon_result::Reentrant);
    }
    lb.freeing.set(true);
    // SAFETY: taken once: `freeing` is set, so nothing reads or takes the
    // state again, and the box's drop does not drop it.
    let st = unsafe { ManuallyDrop::take(st) };
    let mut regs: Vec<Registered> = st.deferred_free;
    regs.extend(st.links.iter().filter_map(|(_, l)| l.handler));
    for (_, c) in st.conns.iter() {
        regs.extend(c.stash.values().filter_map(|l| l.handler));
        regs.extend(c.handler);
    }
    // A listener's handler is shared with the connections it accepted:
    // freed once, whoever holds it.
    let mut shared: Vec<&Rc<Registered>> = st
        .listeners
        .iter()
        .filter_map(|(_, l)| l.handler.as_ref())
        .collect();
    shared.extend(
        st.conns
            .iter()
            .filter_map(|(_, c)| c.listener_handler.as_ref()),
    );
    shared.sort_by_key(|r| Rc::as_ptr(r));
    shared.dedup_by(|a, b| Rc::ptr_eq(a, b));
    regs.extend(shared.into_iter().map(|r| **r));
    regs.extend(st.timers.values().filter_map(|t| t.reg));
    regs.extend(st.txns.iter().filter_map(|(_, t)| t.handler));
    regs.extend(st.default);
    // Sockets close here, before any application code runs.
    drop(st.lp);
    // The box stays allocated while the application's code runs, so that
    // a call on the loop from it is refused instead of reading freed
    // memory.
    for r in regs {
        r.free_userdata();
    }
    // SAFETY: made by Box::into_raw in muon_loop_new; the caller hands it
    // back and uses it no more, and nothing above kept a reference.
    drop(unsafe { Box::from_raw(lp.cast::<LoopBox>()) });
    Ok(())
}

/// Frees the loop and everything it owns: open connections are dropped
/// without a close handshake, listeners stop, timers and posted functions
/// are dropped uncalled, and every `userdata_free` not yet called is
/// called (once each; a call on the loop from one of them is refused with
/// `MUON_RESULT_REENTRANT` or its getter's default). Every handle of the
/// loop is invalid afterwards. A poisoned loop is freed too. NULL is
/// ignored.
///
/// Nothing happens, and the loop stays as it was, when this is called
/// from inside one of the loop's own callbacks (an event, a posted
/// function, the log callback, a `userdata_free`) or from a thread other
/// than the loop's: free it once `muon_loop_run` has returned, on its
/// thread. `muon_loop_try_free` does the same and says which happened.
///
/// `lp`: ownership moves in (unless nothing happens). Not thread-safe.
///
/// # Safety
/// `lp` is NULL or a live loop; when called on the loop's thread outside
/// its callbacks, no other thread uses it any more (no `muon_loop_wake` or
/// `muon_loop_post` in flight).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_free(lp: *mut muon_loop) {
    boundary!((), {
        // SAFETY: forwarded from this function's contract. A refusal
        // changes nothing, which is this function's documented behaviour.
        let _ = unsafe { free_loop(lp) };
    })
}

/// Frees the loop as `muon_loop_free` does, and says whether it did.
///
/// `lp`: ownership moves in on `MUON_RESULT_OK` only. Results:
/// `MUON_RESULT_OK` (freed), `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_REENTRANT` (called from inside one of the loop's callbacks:
/// nothing happened), `MUON_RESULT_WRONG_THREAD` (called from a thread
/// other than the loop's: nothing happened), `MUON_RESULT_PANIC`. Not
/// thread-safe.
///
/// # Safety
/// As `muon_loop_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_try_free(lp: *mut muon_loop) -> muon_result {
    boundary!(result: {
        // SAFETY: forwarded from this function's contract.
        unsafe { free_loop(lp) }
    })
}

/// Schedules a timer: after `delay_ms` milliseconds, `on_timer` is called:
/// `handler`'s with `userdata`; if `handler` is NULL, the loop's default
/// handler's with `userdata` (so a timer can carry its own context, like
/// the tutorial's `eventloop.schedule(time, connection=conn)`); if
/// `handler` lacks `on_timer`, the default handler's with the default's
/// userdata. Timers fire in order of due time; timers due
/// at the same time fire in the order they were scheduled. A delay longer
/// than 100 years is taken as 100 years. The table's
/// `userdata_free` is called once the timer fired or was cancelled.
///
/// `lp` and `handler` are borrowed for the call; `userdata` stays the
/// application's; `out` (may be NULL) receives the timer's handle, valid
/// until it fires or is cancelled. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT` (NULL `lp`), `MUON_RESULT_WRONG_THREAD`,
/// `MUON_RESULT_PANIC`. Not thread-safe; may be called from a callback.
///
/// # Safety
/// `lp` is NULL or a live loop; `handler` is NULL or a valid table; `out`
/// is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_schedule(
    lp: *mut muon_loop,
    delay_ms: u64,
    handler: *const muon_handler,
    userdata: *mut c_void,
    out: *mut muon_timer,
) -> muon_result {
    boundary!(result: {
        let reg = TimerReg {
            // SAFETY: the caller promises a valid handler table or NULL.
            reg: unsafe { Registered::new(handler, userdata) },
            userdata,
        };
        // SAFETY: the caller promises a live loop.
        let t = unsafe {
            with_state(lp, |st| {
                let id = st.lp.schedule(super::options::millis(delay_ms), 0);
                st.timers.insert(id, reg);
                Ok(muon_timer::new(st.me, id.0))
            })
        }?;
        if !out.is_null() {
            // SAFETY: non-NULL and writable, as the caller promises.
            unsafe { out.write(t) };
        }
        Ok(())
    })
}

/// Cancels a timer that has not fired; its `userdata_free` is called soon
/// after (never during this call).
///
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT` (the null
/// handle), `MUON_RESULT_STALE_HANDLE` (fired or cancelled already),
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not thread-safe; may be
/// called from a callback.
///
/// # Safety
/// The handle is the null handle or its loop is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_timer_cancel(timer: muon_timer) -> muon_result {
    boundary!(result: {
        if timer.is_null() {
            return Err(muon_result::NullArgument);
        }
        // SAFETY: the caller promises the handle's loop is live.
        unsafe {
            with_state(timer.owner, |st| {
                let id = TimerId(timer.key());
                st.lp.cancel(id).map_err(map_reactor)?;
                st.deferred_free
                    .extend(st.timers.remove(&id).and_then(|t| t.reg));
                Ok(())
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic under a loop function poisons the loop: every later call on
    /// it returns `MUON_RESULT_PANIC` (or its default), and it can still be
    /// freed.
    #[test]
    fn a_panic_poisons_the_loop() {
        // SAFETY: a fresh loop, used on this thread only and freed once.
        unsafe {
            let mut lp = std::ptr::null_mut();
            assert_eq!(muon_loop_new(&mut lp), muon_result::Ok);
            assert!(!lp.is_null());
            let r: Result<(), muon_result> = with_state(lp, |_| {
                let limit = std::hint::black_box(0usize);
                if limit == 0 {
                    panic!("deliberate panic to test poisoning");
                }
                Ok(())
            });
            assert_eq!(r, Err(muon_result::Panic));
            assert_eq!(muon_loop_run(lp), muon_result::Panic);
            assert_eq!(muon_loop_run_once(lp, 0), muon_result::Panic);
            assert_eq!(muon_loop_stop(lp), muon_result::Panic);
            let mut t = muon_timer::NULL;
            assert_eq!(
                muon_loop_schedule(lp, 1, std::ptr::null(), std::ptr::null_mut(), &mut t),
                muon_result::Panic
            );
            assert!(t.is_null(), "out-parameters stay untouched");
            assert_eq!(muon_loop_try_free(lp), muon_result::Ok);
        }
    }

    /// A panic outside `with_state` but under a loop function poisons too.
    #[test]
    fn guarded_poisons_on_panic() {
        // SAFETY: as above.
        unsafe {
            let mut lp = std::ptr::null_mut();
            assert_eq!(muon_loop_new(&mut lp), muon_result::Ok);
            let r = guarded(lp, || {
                let limit = std::hint::black_box(0usize);
                if limit == 0 {
                    panic!("deliberate panic to test poisoning");
                }
                Ok(())
            });
            assert_eq!(r, Err(muon_result::Panic));
            assert_eq!(muon_loop_run(lp), muon_result::Panic);
            assert_eq!(muon_loop_try_free(lp), muon_result::Ok);
        }
    }
}
