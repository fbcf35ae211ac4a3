//! The tray's and the notifications' strings, from the web UI's own catalogues (`ui/i18n/*.json`, the
//! `tray.*` and `notify.*` keys), embedded at compile time so the app needs no file at run time.
//!
//! Invariant: a lookup never fails visibly: a key missing in the chosen language falls back to English,
//! and the unit tests make sure every key the shell uses exists in every catalogue.

use std::collections::HashMap;

const EN: &str = include_str!("../../ui/i18n/en.json");
const ZH_CN: &str = include_str!("../../ui/i18n/zh-CN.json");

/// The languages the UI ships.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    En,
    ZhCn,
}

impl Language {
    /// `[ui] language` when set ("en" / "zh-CN"), else the OS locale (any `zh*` → Chinese).
    pub fn pick(setting: Option<&str>, os_locale: Option<&str>) -> Self {
        let tag = setting.or(os_locale).unwrap_or("en").to_ascii_lowercase();
        if tag.starts_with("zh") {
            Self::ZhCn
        } else {
            Self::En
        }
    }

    /// The OS locale (e.g. "zh-CN", "en-US").
    pub fn os_locale() -> Option<String> {
        sys_locale::get_locale()
    }
}

/// The strings of one language, with English behind it.
#[derive(Clone, Debug)]
pub struct Catalog {
    strings: HashMap<String, String>,
    english: HashMap<String, String>,
}

impl Catalog {
    pub fn new(language: Language) -> Self {
        let english = parse(EN);
        let strings = match language {
            Language::En => english.clone(),
            Language::ZhCn => parse(ZH_CN),
        };
        Self { strings, english }
    }

    /// The text for `key` with its `{name}` placeholders filled; the key itself if no catalogue has it.
    pub fn t(&self, key: &str, params: &[(&str, String)]) -> String {
        let template = self
            .strings
            .get(key)
            .or_else(|| self.english.get(key))
            .map(String::as_str)
            .unwrap_or(key);
        params
            .iter()
            .fold(template.to_owned(), |text, (name, value)| {
                text.replace(&format!("{{{name}}}"), value)
            })
    }

    #[cfg(test)]
    fn has(&self, key: &str) -> bool {
        self.strings.contains_key(key)
    }
}

/// Flat `"key": "text"` JSON; anything else in the file (nested objects, numbers) is ignored.
fn parse(json: &str) -> HashMap<String, String> {
    match serde_json::from_str::<HashMap<String, serde_json::Value>>(json) {
        Ok(map) => map
            .into_iter()
            .filter_map(|(key, value)| value.as_str().map(|text| (key, text.to_owned())))
            .collect(),
        Err(error) => {
            tracing::warn!(%error, "a UI catalogue is not valid JSON");
            HashMap::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tray::MENU_KEYS;
    use crate::tray::look::STATUS_KEYS;

    fn shell_keys() -> Vec<&'static str> {
        let mut keys: Vec<&'static str> = STATUS_KEYS.to_vec();
        keys.extend(MENU_KEYS);
        keys.extend(crate::tray::servers::KEYS);
        keys.extend(crate::notify::KEYS);
        keys.extend(crate::windows::TITLE_KEYS);
        keys
    }

    #[test]
    fn every_key_the_shell_uses_is_in_every_catalogue() {
        for language in [Language::En, Language::ZhCn] {
            let catalog = Catalog::new(language);
            for key in shell_keys() {
                assert!(catalog.has(key), "{key} missing in {language:?}");
            }
        }
    }

    #[test]
    fn the_setting_wins_over_the_os_locale() {
        assert_eq!(Language::pick(Some("en"), Some("zh-CN")), Language::En);
        assert_eq!(Language::pick(Some("zh-CN"), Some("en-US")), Language::ZhCn);
        assert_eq!(Language::pick(None, Some("zh-Hans-CN")), Language::ZhCn);
        assert_eq!(Language::pick(None, None), Language::En);
    }

    #[test]
    fn placeholders_are_filled() {
        let catalog = Catalog::new(Language::En);
        assert_eq!(
            catalog.t("no.such.key {n}", &[("n", "3".to_owned())]),
            "no.such.key 3"
        );
    }
}
