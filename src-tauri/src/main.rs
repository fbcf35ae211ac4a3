// No console window on Windows release builds; harmless elsewhere.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;

use dingbridge_app::{Options, ParseOutcome};

fn main() -> ExitCode {
    // Parse before touching Tauri/GTK: `--headless` and `--help` must work without a display.
    let options = match Options::parse(std::env::args().skip(1)) {
        ParseOutcome::Run(options) => options,
        ParseOutcome::Exit { message, code } => {
            if code == 0 {
                println!("{message}");
            } else {
                eprintln!("{message}");
            }
            return ExitCode::from(code);
        }
    };
    match dingbridge_app::run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("dingbridge: {error:#}");
            ExitCode::FAILURE
        }
    }
}
