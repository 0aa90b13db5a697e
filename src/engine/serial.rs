//! Serial number arithmetic for sequence numbers (spec §2.8.10, RFC 1982):
//! uint32 values that wrap, compared through their signed difference.

/// `b - a` read as a signed 32-bit distance.
pub fn diff(b: u32, a: u32) -> i32 {
    b.wrapping_sub(a) as i32
}

/// True when `a` comes before `b`.
pub fn lt(a: u32, b: u32) -> bool {
    diff(b, a) > 0
}

/// True when `x` lies in the inclusive range `first..=last`.
pub fn in_range(x: u32, first: u32, last: u32) -> bool {
    diff(x, first) >= 0 && diff(last, x) >= 0
}

/// `limit - count`, floored at zero (a credit never goes negative).
pub fn remaining(limit: u32, count: u32) -> u32 {
    diff(limit, count).max(0) as u32
}
