//! The loop's trace: which kinds of trace are on, and where the lines go.
//! The frame trace shows every protocol header and frame each connection
//! writes (`->`) and reads (`<-`), decoded, one line each, in the spec's
//! notation, e.g. `2026-12-06T05:26:53.397645Z [c1] 0 -> @attach(18)
//! [name="sender-1", handle=0, role=sender, ...]`.

use std::ffi::{c_char, c_void};

use super::boundary::boundary;
use super::dispatch::LogTarget;
use super::event_loop::{muon_loop, with_state};
use super::result::muon_result;

/// `muon_loop_set_trace` flag: trace every frame sent and received. The
/// same as `MUON_TRACE=frm` in the environment when the loop was made.
pub const MUON_TRACE_FRAMES: u32 = 1;

/// Receives one trace line: `line` is NUL-terminated, without a newline,
/// and borrowed for the call. A line starts with a UTC timestamp and the
/// connection's id (`2026-12-06T05:26:53.397645Z [c1] 0 -> @open(16)
/// [container-id="a", ...]`); frames are shown with the AMQP
/// specification's type and field names, null fields left out, and a
/// transfer's payload as its size and first bytes.
pub type muon_log_fn = Option<unsafe extern "C" fn(userdata: *mut c_void, line: *const c_char)>;

/// Chooses what the loop traces: `MUON_TRACE_FRAMES`, or 0 for nothing.
/// Applies to transports that start after the call (a transport is traced
/// from its first byte or not at all), so set it before connecting or
/// listening. Unknown bits are `MUON_RESULT_INVALID_ARGUMENT`.
///
/// `lp` is borrowed for the call. Results: `MUON_RESULT_OK`,
/// `MUON_RESULT_NULL_ARGUMENT`, `MUON_RESULT_INVALID_ARGUMENT`,
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not thread-safe; may be
/// called from a callback.
///
/// # Safety
/// `lp` is NULL or a live loop.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_set_trace(lp: *mut muon_loop, flags: u32) -> muon_result {
    boundary!(result: {
        if flags & !MUON_TRACE_FRAMES != 0 {
            return Err(muon_result::InvalidArgument);
        }
        // SAFETY: the caller promises a live loop or NULL.
        unsafe {
            with_state(lp, |st| {
                st.lp.set_frame_trace(flags & MUON_TRACE_FRAMES != 0);
                Ok(())
            })
        }
    })
}

/// Sends the loop's trace lines to `log` (with `userdata`) instead of
/// standard error; NULL sends them back to standard error. `log` is called
/// on the loop's thread, inside `muon_loop_run` / `muon_loop_run_once`,
/// between other callbacks; like them it may call any function of the
/// loop except `muon_loop_run*` and `muon_loop_free`.
///
/// `lp` is borrowed for the call; `userdata` stays the application's.
/// Results: `MUON_RESULT_OK`, `MUON_RESULT_NULL_ARGUMENT`,
/// `MUON_RESULT_WRONG_THREAD`, `MUON_RESULT_PANIC`. Not thread-safe; may be
/// called from a callback.
///
/// # Safety
/// `lp` is NULL or a live loop; `log` may be called with `userdata` until
/// it is replaced or the loop is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn muon_loop_set_log(
    lp: *mut muon_loop,
    log: muon_log_fn,
    userdata: *mut c_void,
) -> muon_result {
    boundary!(result: {
        // SAFETY: the caller promises a live loop or NULL.
        unsafe {
            with_state(lp, |st| {
                st.log = log.map(|f| LogTarget { f, userdata });
                st.lp.set_log_capture(st.log.is_some());
                Ok(())
            })
        }
    })
}
