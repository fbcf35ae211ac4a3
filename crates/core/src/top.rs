//! The first `n` items of a collection in a given order, without sorting all of it: the status snapshot
//! shows the 20 deepest queues out of possibly tens of thousands.
//!
//! Invariant: O(len) selection plus O(n log n) for the kept items; the result is exactly what a full sort
//! followed by `truncate(n)` would give (for a total order).

use std::cmp::Ordering;

pub fn top_n<T>(mut items: Vec<T>, n: usize, order: impl Fn(&T, &T) -> Ordering) -> Vec<T> {
    if n == 0 {
        return Vec::new();
    }
    if items.len() > n {
        // Everything before index n - 1 orders before it, everything after orders after it.
        items.select_nth_unstable_by(n - 1, &order);
        items.truncate(n);
    }
    items.sort_unstable_by(order);
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_same_items_as_a_full_sort() {
        let items: Vec<(u32, u32)> = (0..1_000u32).map(|i| ((i * 7919) % 97, i)).collect();
        let order = |a: &(u32, u32), b: &(u32, u32)| b.0.cmp(&a.0).then(a.1.cmp(&b.1));
        let mut sorted = items.clone();
        sorted.sort_by(order);
        sorted.truncate(20);
        assert_eq!(top_n(items, 20, order), sorted);
    }

    #[test]
    fn short_lists_are_only_sorted_and_zero_keeps_nothing() {
        assert_eq!(top_n(vec![1, 3, 2], 20, |a, b| b.cmp(a)), vec![3, 2, 1]);
        assert!(top_n(vec![1, 2], 0, |a: &i32, b| a.cmp(b)).is_empty());
    }
}
