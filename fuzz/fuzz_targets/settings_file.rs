//! The settings file parser: any text is accepted as a valid configuration or refused with a coded error
//! naming the file, never a panic. An accepted configuration survives a write/read round trip (what the
//! settings window saves, the next start loads), and its derived durations are computed without overflow.
#![no_main]

use std::path::Path;

use dingbridge_core::config::{Config, SettingsFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz-settings.toml");
    match Config::parse(text, path) {
        Ok(config) => {
            let _ = config.stream.backoff_initial();
            let _ = config.stream.backoff_max();
            let _ = config.stream.watchdog_idle();
            let _ = config.stream.open_timeout();
            let written = toml::to_string(&config).expect("a loaded configuration serializes");
            if let Err(err) = Config::parse(&written, path) {
                panic!("a loaded configuration does not load again: {err}\n{written}");
            }
        }
        Err(err) => {
            assert!(!err.code().is_empty());
            let _ = err.to_string();
        }
    }
    // The in-place editor (settings window) reads the same text.
    if let Ok(mut file) = SettingsFile::parse(text, path) {
        let _ = file.set("agent.backend", "opencode");
    }
});
