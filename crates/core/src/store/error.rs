use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("[STORE_IO] cannot create the data directory or database file in {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("[STORE_SQLITE] database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("[STORE_DECODE] stored row could not be decoded: {0}")]
    Decode(String),
    #[error("[STORE_CLOSED] the store writer has stopped")]
    WriterGone,
    #[error("[STORE_POISONED] a store lock was poisoned by a panic")]
    Poisoned,
    #[error("[STORE_BUSY] the store writer's queue is full; try again shortly")]
    Busy,
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "STORE_IO",
            Self::Sqlite(_) => "STORE_SQLITE",
            Self::Decode(_) => "STORE_DECODE",
            Self::WriterGone => "STORE_CLOSED",
            Self::Poisoned => "STORE_POISONED",
            Self::Busy => "STORE_BUSY",
        }
    }
}
