//! HTTP access to DingTalk's OpenAPI: the new API (`api_base`, token in the `x-acs-dingtalk-access-token`
//! header) and the old API (`oapi_base`, `?access_token=`), one error mapping for both.

mod client;
mod error;
mod pace;

pub use client::{ApiFamily, ApiRequest, OpenApiClient};
pub use error::{ApiFault, OpenApiError, QPS_RETRY_AFTER, classify};
pub use pace::AppRate;
