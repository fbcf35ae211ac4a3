//! Editing the settings file in place, the way a careful human would.
//!
//! Invariant: a save changes only the keys it was asked to change. The user's comments, blank lines, key
//! order and keys this version does not know survive byte for byte (the file is a `toml_edit` document,
//! never re-serialised from [`Config`]), a secret-looking key is never written, and the file on disk is
//! replaced atomically (see [`super::atomic`]).

use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, Table, TableLike, Value};

use super::file::{Config, ConfigError, is_secret_key};

/// The settings file as an editable document.
#[derive(Clone, Debug)]
pub struct SettingsFile {
    path: PathBuf,
    doc: DocumentMut,
}

impl SettingsFile {
    /// Opens `path`; a missing file is an empty document (saved on the first [`SettingsFile::save`]).
    pub fn open(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(ConfigError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Self::parse(&text, path)
    }

    /// A document from text (`path` is where [`SettingsFile::save`] will write it).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let doc = text
            .parse::<DocumentMut>()
            .map_err(|err| ConfigError::Parse {
                path: path.to_path_buf(),
                message: err.message().to_string(),
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            doc,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets the value at a dotted path (`dingtalk.client_id`), creating missing tables. An existing value keeps
    /// its surrounding comments.
    pub fn set(&mut self, key: &str, value: impl Into<Value>) -> Result<(), ConfigError> {
        let (tables, leaf) = split_key(key);
        if is_secret_key(leaf) {
            return Err(ConfigError::SecretInFile {
                path: self.path.clone(),
                key: key.to_string(),
            });
        }
        let table = self.table_mut(&tables, key)?;
        let mut value = value.into();
        match table.get_mut(leaf) {
            Some(Item::Value(old)) => {
                *value.decor_mut() = old.decor().clone();
                *old = value;
            }
            Some(Item::None) | None => {
                table.insert(leaf, Item::Value(value));
            }
            Some(_) => return Err(self.not_a_value(key)),
        }
        Ok(())
    }

    /// Sets the value when `Some`, removes the key when `None` (an optional setting back to its default).
    pub fn set_or_remove(
        &mut self,
        key: &str,
        value: Option<impl Into<Value>>,
    ) -> Result<(), ConfigError> {
        match value {
            Some(value) => self.set(key, value),
            None => self.remove(key).map(|_| ()),
        }
    }

    /// Removes the value at a dotted path; `Ok(false)` when it was not there.
    pub fn remove(&mut self, key: &str) -> Result<bool, ConfigError> {
        let (tables, leaf) = split_key(key);
        let mut current: &mut dyn TableLike = self.doc.as_table_mut();
        for segment in tables {
            match current.get_mut(segment).and_then(Item::as_table_like_mut) {
                Some(next) => current = next,
                None => return Ok(false),
            }
        }
        Ok(current.remove(leaf).is_some())
    }

    /// The configuration this document describes (the same checks as loading the file).
    pub fn to_config(&self) -> Result<Config, ConfigError> {
        Config::parse(&self.doc.to_string(), &self.path)
    }

    /// The document's text as it would be saved.
    pub fn text(&self) -> String {
        self.doc.to_string()
    }

    /// Writes the document atomically (0600 file, 0700 parent directory when it has to be created).
    pub fn save(&self) -> Result<(), ConfigError> {
        super::atomic::write_atomic(&self.path, self.doc.to_string().as_bytes()).map_err(|source| {
            ConfigError::Io {
                path: self.path.clone(),
                source,
            }
        })
    }

    fn table_mut(&mut self, tables: &[&str], key: &str) -> Result<&mut dyn TableLike, ConfigError> {
        let path = self.path.clone();
        let mut current: &mut dyn TableLike = self.doc.as_table_mut();
        for segment in tables {
            let item = current.entry(segment).or_insert(Item::None);
            if item.is_none() {
                // Implicit: a table holding only sub-tables gets no empty `[a]` header of its own.
                let mut table = Table::new();
                table.set_implicit(true);
                *item = Item::Table(table);
            }
            current = item.as_table_like_mut().ok_or_else(|| ConfigError::Parse {
                path: path.clone(),
                message: format!("`{segment}` is not a table, cannot set `{key}`"),
            })?;
        }
        Ok(current)
    }

    fn not_a_value(&self, key: &str) -> ConfigError {
        ConfigError::Parse {
            path: self.path.clone(),
            message: format!("`{key}` is a table, not a value"),
        }
    }
}

/// `"a.b.c"` → (`["a", "b"]`, `"c"`). Our keys never contain quoted dots.
fn split_key(key: &str) -> (Vec<&str>, &str) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let leaf = parts.pop().unwrap_or(key);
    (parts, leaf)
}

/// A TOML array of strings (allow-lists).
pub fn string_array<I, S>(items: I) -> Value
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Value::Array(items.into_iter().map(Into::into).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMENTED: &str = "\
# DingBridge settings, edited by hand.
[dingtalk]
# the AppKey from the developer console
client_id = \"dingold\" # keep this note
api_base = \"https://api.dingtalk.com\"

[access]
allowed_staff_ids = [\"alice\"]
";

    fn doc(text: &str) -> SettingsFile {
        SettingsFile::parse(text, Path::new("settings.toml")).unwrap()
    }

    #[test]
    fn a_changed_value_keeps_the_comments_around_it() {
        let mut file = doc(COMMENTED);
        file.set("dingtalk.client_id", "dingnew").unwrap();
        let text = file.text();
        assert!(text.contains("# DingBridge settings, edited by hand."));
        assert!(text.contains(
            "# the AppKey from the developer console\nclient_id = \"dingnew\" # keep this note"
        ));
        assert!(text.contains("api_base = \"https://api.dingtalk.com\""));
    }

    #[test]
    fn keys_this_version_does_not_know_survive_a_save() {
        let mut file = doc("[future]\nshiny = true\n\n[mcp]\nport = 1\n");
        file.set("mcp.port", 8766).unwrap();
        assert_eq!(
            file.text(),
            "[future]\nshiny = true\n\n[mcp]\nport = 8766\n"
        );
    }

    #[test]
    fn a_new_key_in_a_new_table_gets_a_header() {
        let mut file = doc("");
        file.set("ui.language", "zh-CN").unwrap();
        assert_eq!(file.text(), "[ui]\nlanguage = \"zh-CN\"\n");
        assert_eq!(
            file.to_config().unwrap().ui.language.as_deref(),
            Some("zh-CN")
        );
    }

    #[test]
    fn removing_a_value_leaves_the_rest_alone() {
        let mut file = doc(COMMENTED);
        assert!(file.remove("dingtalk.client_id").unwrap());
        assert!(!file.remove("dingtalk.client_id").unwrap());
        assert!(!file.remove("nowhere.key").unwrap());
        let text = file.text();
        assert!(!text.contains("dingold"));
        assert!(text.contains("api_base"));
        assert!(text.contains("allowed_staff_ids = [\"alice\"]"));
    }

    #[test]
    fn a_secret_key_is_never_written() {
        let mut file = doc("");
        let err = file.set("dingtalk.client_secret", "hunter2").unwrap_err();
        assert_eq!(err.code(), "CONFIG_SECRET");
        assert!(!file.text().contains("hunter2"));
    }

    #[test]
    fn a_value_where_a_table_should_be_is_a_parse_error() {
        let mut file = doc("dingtalk = 3\n");
        assert_eq!(
            file.set("dingtalk.client_id", "x").unwrap_err().code(),
            "CONFIG_PARSE"
        );
    }

    #[test]
    fn save_writes_atomically_with_a_private_mode_and_open_reads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conf").join("settings.toml");
        let mut file = SettingsFile::open(&path).unwrap();
        file.set("access.allowed_staff_ids", string_array(["a", "b"]))
            .unwrap();
        file.save().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let again = SettingsFile::open(&path).unwrap();
        assert_eq!(
            again.to_config().unwrap().access.allowed_staff_ids,
            ["a", "b"]
        );
    }
}
