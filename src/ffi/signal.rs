//! `muon_loop_wake_on_signal`: a signal such as SIGINT or SIGTERM as a
//! wake-up of a loop (its `on_wake`), so that a C program can end cleanly on
//! Ctrl-C without a thread of its own waiting for the signal.
//!
//! The signal handler does only async-signal-safe things: an atomic load
//! and the loop's waker, which is an atomic store and a `write(2)` to the
//! loop's eventfd (mio's `Waker`). The loops a handler may wake are kept
//! alive for the rest of the process (their `Shared` part only: the
//! waker), so that a handler never touches freed memory.

use std::ffi::c_int;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::boundary::boundary;
use super::event_loop::{LoopBox, Shared, muon_loop};
use super::result::muon_result;

/// Signal numbers a loop may be woken by: 1 to 64 (Linux's real-time
/// signals included).
const SLOTS: usize = 65;

/// For each signal number, the loop it wakes (`Arc::as_ptr` of a `Shared`
/// held in `KEPT`), or NULL.
static TARGETS: [AtomicPtr<Shared>; SLOTS] = [const { AtomicPtr::new(null_mut()) }; SLOTS];

/// Every `Shared` a slot has pointed to: never dropped, since a handler
/// running on another thread may still read one a later call replaced.
static KEPT: Mutex<Vec<Arc<Shared>>> = Mutex::new(Vec::new());

/// For each signal number, how many times it arrived (see
/// `muon_signal_count`).
static COUNTS: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];

/// The signal handler.
extern "C" fn on_signal(signum: c_int) {
    let Some(slot) = usize::try_from(signum).ok().and_then(|i| TARGETS.get(i)) else {
        return;
    };
    if let Some(n) = usize::try_from(signum).ok().and_then(|i| COUNTS.get(i)) {
        // A lock-free atomic: async-signal-safe.
        n.fetch_add(1, Ordering::Relaxed);
    }
    let p = slot.load(Ordering::Acquire);
    // SAFETY: a non-NULL pointer is that of a `Shared` kept alive in `KEPT`
    // for the rest of the process.
    if let Some(shared) = unsafe { p.as_ref() } {
        let _ = shared.waker.wake();
    }
}

/// Signals that must keep their default action: the ones that cannot be
/// caught, and those that report a fault of the thread that gets them.
fn refused(signum: c_int) -> bool {
    [
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGFPE,
        libc::SIGILL,
        libc::SIGABRT,
        libc::SIGTRAP,
        libc::SIGSYS,
    ]
    .contains(&signum)
}

/// Makes the signal `signum` (`SIGINT`, `SIGTERM`, `SIGHUP`, ...) wake `lp`
/// instead of taking its default action (for SIGINT and SIGTERM, ending the
/// process): soon after the signal arrives, on the loop's thread inside
/// `muon_loop_run`, the loop's default handler gets `on_wake`, where the
/// application closes what it has open so that the loop ends, as the
/// tutorial's programs end on Ctrl-C (`KeyboardInterrupt`). Signals that
/// come close together may be reported once, and `on_wake` also follows
/// `muon_loop_wake`. A program that wants to end on the signal must act on
/// `on_wake`: without one, the signal is ignored.
///
/// The setting is the process's (a signal's action is process-wide): a
/// later call for the same signal with another loop moves it there. It
/// lasts after `muon_loop_free`, when the signal does nothing; the loop's
/// wake-up file descriptor stays open until the process ends. The handler
/// is installed with `SA_RESTART` and does only async-signal-safe things.
///
/// `lp` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_ARGUMENT` (not a
/// signal number from 1 to 64, or one whose default action must stay:
/// SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP,
/// SIGSYS), `MUON_RESULT_IO_ERROR` (the handler could not be installed),
/// `MUON_RESULT_PANIC`. Thread-safe (it touches only what other threads
/// may: see `muon_loop_wake`); may be called from a callback.
///
/// # Safety
/// `lp` is NULL or a live loop that is not being freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_wake_on_signal(
    lp: *mut muon_loop,
    signum: c_int,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live loop or NULL; only its
        // thread-safe `shared` part is touched.
        let lb = unsafe { lp.cast::<LoopBox>().as_ref() }.ok_or(muon_result::NullArgument)?;
        let slot = usize::try_from(signum)
            .ok()
            .filter(|i| (1..SLOTS).contains(i) && !refused(signum))
            .ok_or(muon_result::InvalidArgument)?;
        let ptr = Arc::as_ptr(&lb.shared).cast_mut();
        {
            let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
            if !kept.iter().any(|k| Arc::ptr_eq(k, &lb.shared)) {
                kept.push(Arc::clone(&lb.shared));
            }
        }
        TARGETS[slot].store(ptr, Ordering::Release);
        // SAFETY: a zeroed sigaction is a valid value to fill in; the
        // handler is an `extern "C" fn(c_int)` that does only
        // async-signal-safe things; the pointers passed are to locals.
        let rc = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(c_int) as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(signum, &sa, null_mut())
        };
        if rc != 0 {
            return Err(muon_result::IoError);
        }
        Ok(())
    })
}

/// How many times the signal `signum` has arrived since the process began
/// (counted only while `muon_loop_wake_on_signal` handles it; 0 for a
/// number that is no signal). `on_wake` does not say what woke the loop:
/// a program that wakes on several signals compares these counts with the
/// ones it saw last, e.g. SIGUSR1 to print statistics and SIGTERM to stop.
///
/// Thread-safe; may be called from a callback.
///
/// # Safety
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_signal_count(signum: c_int) -> u64 {
    boundary!(0, {
        usize::try_from(signum)
            .ok()
            .and_then(|i| COUNTS.get(i))
            .map_or(0, |n| n.load(Ordering::Relaxed))
    })
}
