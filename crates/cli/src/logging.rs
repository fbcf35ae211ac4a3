//! Structured logs to stderr (stdout is reserved for machine-readable lines) and to a daily-rotated file in
//! the data directory. `RUST_LOG` / `DINGBRIDGE_LOG` override the default filter.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt;

const DEFAULT_FILTER: &str = "info,hyper=warn,reqwest=warn,tungstenite=warn,tokio_tungstenite=warn";

/// Keeps the file writer flushing; drop it last (after shutdown) so the final lines reach the file.
pub struct LogGuard {
    _file: WorkerGuard,
}

pub fn init(data_dir: &Path) -> anyhow::Result<LogGuard> {
    let log_dir = data_dir.join("logs");
    // The data dir and its logs are the user's only (0700); the files are 0600 through dingbridged's umask.
    dingbridge_core::config::create_private_dir(&log_dir)?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("dingbridged")
        .filename_suffix("log")
        .max_log_files(14)
        .build(&log_dir)?;
    let (file, guard) = tracing_appender::non_blocking(appender);
    let filter = std::env::var("DINGBRIDGE_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT_FILTER));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr.and(file))
        .with_ansi(false)
        .try_init()
        .map_err(|err| anyhow::anyhow!("logging already initialised: {err}"))?;
    Ok(LogGuard { _file: guard })
}
