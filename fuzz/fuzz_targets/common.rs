//! Helpers shared by the fuzz targets.
#![allow(dead_code)]

use muon::codec::Value;

/// Structural equality with floats compared by bits, so that a NaN equals
/// itself and a round trip must keep every bit.
pub fn same(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::Double(x), Value::Double(y)) => x.to_bits() == y.to_bits(),
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| same(k1, k2) && same(v1, v2))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.descriptor == y.descriptor
                && x.kind == y.kind
                && x.items.len() == y.items.len()
                && x.items.iter().zip(&y.items).all(|(p, q)| same(p, q))
        }
        (Value::Described(x), Value::Described(y)) => x.0 == y.0 && same(&x.1, &y.1),
        _ => a == b,
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
