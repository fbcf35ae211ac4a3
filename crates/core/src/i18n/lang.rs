//! A supported language. Parsing is the only way in, so an unknown tag can never reach a catalogue lookup.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    /// Simplified Chinese: the bridge's default, since DingTalk's users mostly read Chinese.
    #[default]
    ZhCn,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::ZhCn, Lang::En];

    /// The BCP 47 tag used in settings, the store and `/lang`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// Accepts the tags case-insensitively, with `_` or `-`, and the bare `zh` (users type `/lang zh`).
    pub fn parse(tag: &str) -> Option<Lang> {
        match tag.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "en" | "en-us" | "en-gb" => Some(Lang::En),
            "zh-cn" | "zh" | "zh-hans" => Some(Lang::ZhCn),
            _ => None,
        }
    }

    /// The tags a user may give, for error messages and `/lang`.
    pub fn choices() -> String {
        Lang::ALL.map(Lang::tag).join(", ")
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.tag())
    }
}

impl Serialize for Lang {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.tag())
    }
}

impl<'de> Deserialize<'de> for Lang {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let tag = String::deserialize(deserializer)?;
        Lang::parse(&tag).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown language `{tag}`; use one of {}",
                Lang::choices()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_common_spellings_are_accepted() {
        for lang in Lang::ALL {
            assert_eq!(Lang::parse(lang.tag()), Some(lang));
        }
        assert_eq!(Lang::parse("ZH_cn"), Some(Lang::ZhCn));
        assert_eq!(Lang::parse(" EN "), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
    }

    #[test]
    fn an_unknown_language_in_a_file_is_refused_with_the_choices() {
        let err = serde_json::from_str::<Lang>("\"fr\"").unwrap_err();
        assert!(err.to_string().contains("zh-CN, en"), "{err}");
        assert_eq!(serde_json::to_string(&Lang::ZhCn).unwrap(), "\"zh-CN\"");
    }
}
