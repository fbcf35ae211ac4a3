//! The chat catalogue: `i18n/chat.<lang>.json`, embedded at build time, one flat object of
//! `"key": "text with {placeholders}"` per language.
//!
//! Invariants (checked by the tests below): both files have exactly the keys of [`ChatKey`], and each entry has
//! the same placeholders in both languages. Substitution is a single pass, so a value that itself contains
//! `{name}` (an agent's question, a user's text) is inserted verbatim and never expanded again.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::{ChatKey, Lang};

const EN: &str = include_str!("../../i18n/chat.en.json");
const ZH_CN: &str = include_str!("../../i18n/chat.zh-CN.json");

type Catalogue = HashMap<String, String>;

fn parse(source: &str, file: &str) -> Catalogue {
    serde_json::from_str(source).unwrap_or_else(|err| {
        // Unreachable in a tested build (the catalogue test parses both files); texts then fall back to keys.
        tracing::error!(file, error = %err, "chat catalogue is not valid JSON");
        Catalogue::new()
    })
}

static CATALOGUES: LazyLock<[Catalogue; 2]> =
    LazyLock::new(|| [parse(EN, "chat.en.json"), parse(ZH_CN, "chat.zh-CN.json")]);

fn catalogue(lang: Lang) -> &'static Catalogue {
    match lang {
        Lang::En => &CATALOGUES[0],
        Lang::ZhCn => &CATALOGUES[1],
    }
}

/// Looks up and fills in chat texts.
pub struct ChatText;

impl ChatText {
    /// The entry `key` in `lang` with each `{name}` replaced by its value from `args`. A placeholder without a
    /// value stays as written (visible, never a panic); a missing entry falls back to English, then to the key.
    pub fn render(lang: Lang, key: ChatKey, args: &[(&str, &str)]) -> String {
        let template = catalogue(lang)
            .get(key.name())
            .or_else(|| catalogue(Lang::En).get(key.name()))
            .map_or(key.name(), String::as_str);
        fill(template, args)
    }

    /// The entry without placeholders.
    pub fn get(lang: Lang, key: ChatKey) -> String {
        Self::render(lang, key, &[])
    }
}

fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let name = &after[..close];
            args.iter()
                .find(|(arg, _)| *arg == name)
                .map(|(_, value)| (*value, close))
        });
        match value {
            Some((value, close)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `{placeholder}` names a template uses (identifier characters only, so JSON-ish braces are not names).
#[cfg(test)]
pub(crate) fn placeholders(template: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        if let Some(close) = rest.find('}') {
            let name = &rest[..close];
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                names.insert(name.to_owned());
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn keys_of(source: &str) -> BTreeSet<String> {
        serde_json::from_str::<Catalogue>(source)
            .expect("catalogue is valid JSON")
            .into_keys()
            .collect()
    }

    #[test]
    fn both_catalogues_have_exactly_the_keys_the_code_uses() {
        let used: BTreeSet<String> = ChatKey::ALL.iter().map(|k| k.name().to_owned()).collect();
        assert_eq!(used.len(), ChatKey::ALL.len(), "two keys share a name");
        assert_eq!(keys_of(EN), used, "chat.en.json");
        assert_eq!(keys_of(ZH_CN), used, "chat.zh-CN.json");
    }

    #[test]
    fn every_entry_has_the_same_placeholders_in_both_languages() {
        for key in ChatKey::ALL {
            let en = &catalogue(Lang::En)[key.name()];
            let zh = &catalogue(Lang::ZhCn)[key.name()];
            assert_eq!(placeholders(en), placeholders(zh), "{}", key.name());
        }
    }

    #[test]
    fn the_languages_differ_for_every_sentence() {
        for key in ChatKey::ALL {
            let en = ChatText::get(Lang::En, *key);
            let zh = ChatText::get(Lang::ZhCn, *key);
            // Everything but pure punctuation/markup must be translated.
            assert_ne!(en, zh, "{} is not translated", key.name());
        }
    }

    #[test]
    fn placeholders_are_filled_by_name_in_each_languages_own_order() {
        let en = ChatText::render(Lang::En, ChatKey::PermissionAllowed, &[("id", "per_1")]);
        assert_eq!(en, "Allowed `per_1`. The agent continues.");
        let zh = ChatText::render(
            Lang::ZhCn,
            ChatKey::PermissionStillOpenMany,
            &[("count", "3")],
        );
        assert_eq!(zh, "还有 3 个请求待处理。");
    }

    #[test]
    fn a_value_containing_braces_is_inserted_verbatim() {
        let text = ChatText::render(
            Lang::En,
            ChatKey::QuestionAsk,
            &[("question", "use {id} or {question}?")],
        );
        assert!(text.contains("use {id} or {question}?"), "{text}");
    }

    #[test]
    fn a_placeholder_without_a_value_stays_visible() {
        assert_eq!(fill("a {x} b {", &[]), "a {x} b {");
        assert_eq!(fill("{x}{y}", &[("x", "1"), ("y", "2")]), "12");
    }
}
