//! Card failures with stable codes. Clone-able because the streamer hands the same sticky failure to every
//! later `update` and to `finish`.

use std::time::Duration;

use crate::dingtalk::openapi::OpenApiError;
use crate::dingtalk::send::SendError;

#[derive(Clone, Debug, thiserror::Error)]
pub enum CardError {
    /// Over our safe size (`limit` set, nothing was sent) or refused by DingTalk (`param.stream.content`).
    #[error("[CARD_TOO_LARGE] card content of {bytes} bytes is too large (limit {limit:?})")]
    TooLarge { bytes: usize, limit: Option<usize> },
    #[error("[CARD_THROTTLED] DingTalk throttled the card call: {code}")]
    Throttled { code: String, retry_after: Duration },
    #[error("[CARD_REJECTED] DingTalk rejected the card call: {code}: {message}")]
    Rejected { code: String, message: String },
    #[error("[CARD_NOT_DELIVERED] the card was created but not delivered: {0}")]
    NotDelivered(String),
    #[error("[CARD_UNAVAILABLE] DingTalk could not be reached or failed: {0}")]
    Unavailable(String),
    /// Auth, permission (e.g. missing `Card.Streaming.Write`), quota: `api_code` is the OpenAPI code.
    #[error("[CARD_API] {message}")]
    Api {
        api_code: &'static str,
        message: String,
    },
    #[error("[CARD_STREAM_CLOSED] the card streamer has stopped")]
    Closed,
}

impl CardError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "CARD_TOO_LARGE",
            Self::Throttled { .. } => "CARD_THROTTLED",
            Self::Rejected { .. } => "CARD_REJECTED",
            Self::NotDelivered(_) => "CARD_NOT_DELIVERED",
            Self::Unavailable(_) => "CARD_UNAVAILABLE",
            Self::Api { .. } => "CARD_API",
            Self::Closed => "CARD_STREAM_CLOSED",
        }
    }

    /// Worth retrying the same call later. The bridge usually degrades to markdown either way.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Unavailable(_))
    }

    pub(crate) fn from_openapi(err: OpenApiError) -> Self {
        if let Some(fault) = err.fault()
            && fault.code == "param.stream.content"
        {
            // "content is too large": DingTalk's own limit, whose number it does not say.
            return Self::TooLarge {
                bytes: 0,
                limit: None,
            };
        }
        // Same throttle / server classification as the robot sends.
        match SendError::from_openapi(err) {
            SendError::Throttled {
                reason,
                retry_after,
            } => Self::Throttled {
                code: reason,
                retry_after: retry_after.unwrap_or(Duration::from_secs(1)),
            },
            SendError::Http(text) => Self::Unavailable(text),
            SendError::Rejected { code, message } => Self::Rejected { code, message },
            SendError::TooLong(message) => Self::Rejected {
                code: "tooLong".to_owned(),
                message,
            },
            SendError::Api(err) => Self::Api {
                api_code: err.code(),
                message: err.to_string(),
            },
            other => Self::Rejected {
                code: other.code().to_owned(),
                message: other.to_string(),
            },
        }
    }
}
