//! The unsettled deliveries of one direction of a session, by
//! delivery-id.
//!
//! Delivery-ids come from a per-direction session counter (§2.6.12,
//! §2.7.5), so new ones arrive in serial order and settlement mostly
//! happens in order too. A deque sorted by serial order (§2.8.10) fits
//! that: appending and removing at the front are O(1), a lookup is a
//! binary search, a ranged disposition visits only its members, memory is
//! proportional to what is unsettled, and steady traffic never allocates
//! (a hash map with a moving key window eventually resizes to clear its
//! tombstones, at a moment that depends on its random seed).

use std::collections::VecDeque;

use super::DeliveryId;
use super::serial;

#[derive(Debug, Default)]
pub(crate) struct Unsettled {
    items: VecDeque<(u32, DeliveryId)>,
}

impl Unsettled {
    /// Where `id` is (`Ok`) or would go (`Err`), assuming it is not
    /// before the front.
    fn search(&self, id: u32) -> Result<usize, usize> {
        let Some(&(front, _)) = self.items.front() else {
            return Err(0);
        };
        let key = id.wrapping_sub(front);
        self.items
            .binary_search_by_key(&key, |(x, _)| x.wrapping_sub(front))
    }

    fn position(&self, id: u32) -> Option<usize> {
        let &(front, _) = self.items.front()?;
        // Settlement in order hits the front; a fresh id, the back.
        if id == front {
            return Some(0);
        }
        if serial::lt(id, front) {
            return None;
        }
        if self.items.back().is_some_and(|(b, _)| *b == id) {
            return Some(self.items.len() - 1);
        }
        self.search(id).ok()
    }

    /// The index of the first entry not before `id`.
    fn lower_bound(&self, id: u32) -> usize {
        match self.items.front() {
            Some(&(front, _)) if !serial::lt(id, front) => match self.search(id) {
                Ok(i) | Err(i) => i,
            },
            _ => 0,
        }
    }

    /// Records `d` under `id` (replacing an entry with the same id).
    pub(crate) fn insert(&mut self, id: u32, d: DeliveryId) {
        match (self.items.front(), self.items.back()) {
            (None, _) | (_, None) => self.items.push_back((id, d)),
            (_, Some(&(back, _))) if serial::lt(back, id) => self.items.push_back((id, d)),
            (Some(&(front, _)), _) if serial::lt(id, front) => self.items.push_front((id, d)),
            _ => match self.search(id) {
                Ok(i) => {
                    if let Some(slot) = self.items.get_mut(i) {
                        slot.1 = d;
                    }
                }
                Err(i) => self.items.insert(i, (id, d)),
            },
        }
    }

    /// The delivery under `id`.
    #[cfg(test)]
    pub(crate) fn get(&self, id: u32) -> Option<DeliveryId> {
        self.position(id)
            .and_then(|i| self.items.get(i))
            .map(|(_, d)| *d)
    }

    /// Forgets `id`.
    pub(crate) fn remove(&mut self, id: u32) -> Option<DeliveryId> {
        let i = self.position(id)?;
        self.items.remove(i).map(|(_, d)| d)
    }

    /// Forgets `id` if it still names `d`.
    pub(crate) fn remove_if(&mut self, id: u32, d: DeliveryId) {
        if let Some(i) = self.position(id)
            && self.items.get(i).is_some_and(|(_, x)| *x == d)
        {
            self.items.remove(i);
        }
    }

    /// Appends every entry with an id in `first..=last` (serial range) to
    /// `out`, in order.
    pub(crate) fn collect_range(&self, first: u32, last: u32, out: &mut Vec<(u32, DeliveryId)>) {
        let start = self.lower_bound(first);
        out.extend(
            self.items
                .range(start..)
                .take_while(|(id, _)| serial::in_range(*id, first, last))
                .copied(),
        );
    }

    /// Forgets every entry with an id in `first..=last`.
    pub(crate) fn remove_range(&mut self, first: u32, last: u32) {
        let start = self.lower_bound(first);
        let n = self
            .items
            .range(start..)
            .take_while(|(id, _)| serial::in_range(*id, first, last))
            .count();
        self.items.drain(start..start + n);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::slab::Key;

    fn d(n: u32) -> DeliveryId {
        DeliveryId(Key {
            index: n,
            generation: 1,
        })
    }

    #[test]
    fn ordered_across_the_wrap() {
        let mut u = Unsettled::default();
        for id in [u32::MAX - 1, u32::MAX, 0, 1, 2] {
            u.insert(id, d(id.wrapping_add(2)));
        }
        assert_eq!(u.get(u32::MAX), Some(d(1)));
        assert_eq!(u.get(1), Some(d(3)));
        assert_eq!(u.get(3), None);
        let mut out = Vec::new();
        u.collect_range(u32::MAX, 1, &mut out);
        assert_eq!(
            out.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            vec![u32::MAX, 0, 1]
        );
        u.remove_range(u32::MAX, 0);
        assert_eq!(u.len(), 3);
        assert_eq!(u.remove(1), Some(d(3)));
        assert_eq!(u.get(u32::MAX - 1), Some(d(0)));
    }

    #[test]
    fn out_of_order_inserts_stay_sorted() {
        let mut u = Unsettled::default();
        for id in [5, 3, 9, 4, 1, 7] {
            u.insert(id, d(id));
        }
        let mut out = Vec::new();
        u.collect_range(0, 100, &mut out);
        assert_eq!(
            out.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            vec![1, 3, 4, 5, 7, 9]
        );
        u.remove_if(4, d(99));
        assert_eq!(u.get(4), Some(d(4)));
        u.remove_if(4, d(4));
        assert_eq!(u.get(4), None);
        u.remove_range(5, 7);
        assert_eq!(u.len(), 3);
    }
}
