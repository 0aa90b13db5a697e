//! Small helpers for the loop's bookkeeping: hash maps keyed by our own
//! IDs, and a cheap identity for the owning thread.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A multiply-rotate hasher for keys muon makes itself (slot indices and
/// generations): never keyed by peer input, so flooding is not a concern,
/// and much cheaper than SipHash on the per-message path.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl IdHasher {
    fn add(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(SEED);
    }
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.add(u64::from(*b));
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A hash map keyed by muon's own IDs.
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// Which thread this is, cheaply: the address of a thread-local, unique
/// among live threads. (`std::thread::current()` clones an `Arc` on every
/// call, which showed at ~10% of a sender's profile.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ThreadMark(usize);

impl ThreadMark {
    /// The calling thread's mark.
    pub(crate) fn current() -> ThreadMark {
        thread_local! {
            static MARK: u8 = const { 0 };
        }
        MARK.with(|m| ThreadMark(m as *const u8 as usize))
    }
}
