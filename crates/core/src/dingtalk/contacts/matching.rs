//! Name matching without pinyin: exact (case/space-insensitive), then prefix (of the name or of one of its
//! words), then fuzzy (the query's characters appear in order). The first tier with any hit decides; more
//! than one hit in that tier is ambiguous and returned as candidates.

use serde::{Deserialize, Serialize};

use super::types::Lookup;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    Exact,
    Prefix,
    Fuzzy,
}

fn normalize(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn compact(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

fn is_subsequence(needle: &str, haystack: &str) -> bool {
    let mut hay = haystack.chars();
    needle.chars().all(|n| hay.any(|h| h == n))
}

/// How `name` matches `query`, if at all.
pub fn match_kind(query: &str, name: &str) -> Option<MatchKind> {
    let (q, n) = (normalize(query), normalize(name));
    if q.is_empty() {
        return None;
    }
    if q == n || compact(query) == compact(name) {
        return Some(MatchKind::Exact);
    }
    if n.starts_with(&q) || n.split(' ').any(|word| word.starts_with(&q)) {
        return Some(MatchKind::Prefix);
    }
    let (qc, nc) = (compact(query), compact(name));
    if nc.contains(&qc) || is_subsequence(&qc, &nc) {
        return Some(MatchKind::Fuzzy);
    }
    None
}

/// Matches `items` by `name_of` against `query`, keeping only the best tier.
pub fn match_by_name<T: Clone>(
    query: &str,
    items: &[T],
    name_of: impl Fn(&T) -> &str,
) -> Lookup<T> {
    let mut best: Option<MatchKind> = None;
    let mut hits: Vec<T> = Vec::new();
    for item in items {
        let Some(kind) = match_kind(query, name_of(item)) else {
            continue;
        };
        match best {
            Some(b) if kind > b => {}
            Some(b) if kind == b => hits.push(item.clone()),
            _ => {
                best = Some(kind);
                hits = vec![item.clone()];
            }
        }
    }
    match (best, hits.len()) {
        (Some(kind), 1) => {
            let mut hits = hits;
            match hits.pop() {
                Some(item) => Lookup::unique(query, kind, item),
                None => Lookup::not_found(query),
            }
        }
        (Some(kind), _) => Lookup::ambiguous(query, kind, hits),
        (None, _) => Lookup::not_found(query),
    }
}

#[cfg(test)]
mod tests {
    use super::super::types::LookupStatus;
    use super::*;

    fn names() -> Vec<String> {
        ["张伟", "张伟", "张伟明", "Alice Chen", "Alex Wang", "李四"]
            .map(String::from)
            .to_vec()
    }

    fn find(query: &str) -> Lookup<String> {
        match_by_name(query, &names(), |s| s.as_str())
    }

    #[test]
    fn an_exact_match_beats_prefix_matches() {
        let lookup = find("李四");
        assert_eq!(lookup.status, LookupStatus::Unique);
        assert_eq!(lookup.matched_by, Some(MatchKind::Exact));
    }

    #[test]
    fn two_exact_matches_are_ambiguous_and_the_prefix_one_is_not_added() {
        let lookup = find("张伟");
        assert_eq!(lookup.status, LookupStatus::Ambiguous);
        assert_eq!(lookup.candidates.len(), 2);
    }

    #[test]
    fn case_and_spacing_do_not_matter_for_exact() {
        assert_eq!(find("alice  chen").matched_by, Some(MatchKind::Exact));
        assert_eq!(find("AliceChen").matched_by, Some(MatchKind::Exact));
    }

    #[test]
    fn a_word_prefix_matches() {
        let lookup = find("chen");
        assert_eq!(lookup.status, LookupStatus::Unique);
        assert_eq!(lookup.matched_by, Some(MatchKind::Prefix));
        assert_eq!(find("Al").status, LookupStatus::Ambiguous);
    }

    #[test]
    fn characters_in_order_match_fuzzily() {
        let lookup = find("awg");
        assert_eq!(lookup.found.as_deref(), Some("Alex Wang"));
        assert_eq!(lookup.matched_by, Some(MatchKind::Fuzzy));
    }

    #[test]
    fn nothing_matching_is_not_found() {
        assert_eq!(find("王五").status, LookupStatus::NotFound);
        assert_eq!(find("  ").status, LookupStatus::NotFound);
    }
}
