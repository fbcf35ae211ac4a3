//! The OpenAPI client: attaches the access token, maps errors, refreshes the token once and retries when
//! DingTalk says it is invalid (expired mid-run), waits out one QPS-limit answer (DingTalk asks for a 1 s
//! pause), and publishes throttling/quota events so they are visible instead of silent.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::{OpenApiError, classify};
use super::pace::AppRate;
use crate::config::DingTalkSettings;
use crate::dingtalk::auth::TokenManager;
use crate::events::{Event, EventBus};

const TOKEN_HEADER: &str = "x-acs-dingtalk-access-token";

/// Which host and token placement a request uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiFamily {
    /// `api.dingtalk.com`: header token, errors as non-2xx `{code,message,requestid}`.
    New,
    /// `oapi.dingtalk.com`: `?access_token=`, errors as HTTP 200 `{errcode != 0}`.
    Old,
}

/// One call: method, path (starting with `/`), query pairs and an optional JSON body.
#[derive(Clone, Debug)]
pub struct ApiRequest {
    pub family: ApiFamily,
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl ApiRequest {
    pub fn new_api(method: Method, path: impl Into<String>) -> Self {
        Self {
            family: ApiFamily::New,
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
        }
    }

    /// Old-API calls are all POST with a JSON body.
    pub fn old_api(path: impl Into<String>, body: Value) -> Self {
        Self {
            family: ApiFamily::Old,
            method: Method::POST,
            path: path.into(),
            query: Vec::new(),
            body: Some(body),
        }
    }

    pub fn query(mut self, key: &str, value: impl Into<String>) -> Self {
        self.query.push((key.to_owned(), value.into()));
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}

struct Inner {
    http: reqwest::Client,
    api_base: String,
    oapi_base: String,
    tokens: TokenManager,
    events: EventBus,
    timeout: Duration,
    throttle_retries: u32,
    /// Counts calls against the monthly OpenAPI quota (none in tests that don't care).
    usage: Option<Arc<crate::quota::QuotaMeter>>,
    /// The app-wide call rate every attempt waits for (none: the caller paces, e.g. the outbox).
    pace: Option<AppRate>,
}

/// Cheap-to-clone handle.
#[derive(Clone)]
pub struct OpenApiClient {
    inner: Arc<Inner>,
}

impl OpenApiClient {
    pub fn new(
        http: reqwest::Client,
        settings: &DingTalkSettings,
        tokens: TokenManager,
        events: EventBus,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                http,
                api_base: settings.api_base.trim_end_matches('/').to_owned(),
                oapi_base: settings.oapi_base.trim_end_matches('/').to_owned(),
                tokens,
                events,
                timeout: Duration::from_secs(15),
                throttle_retries: 1,
                usage: None,
                pace: None,
            }),
        }
    }

    /// How many QPS-limit answers a call waits out before surfacing `RateLimited` (default 1).
    pub fn with_throttle_retries(self, retries: u32) -> Self {
        self.rebuild(|inner| inner.throttle_retries = retries)
    }

    /// Counts every completed, non-throttled call against the monthly quota.
    pub fn with_usage(self, meter: Arc<crate::quota::QuotaMeter>) -> Self {
        self.rebuild(|inner| inner.usage = Some(meter))
    }

    /// Every attempt of every call through this handle first takes a permit of the app's rate (AI cards and
    /// Docs; robot sends are paced by the outbox from the same `AppRate`).
    pub fn with_pacing(self, pace: AppRate) -> Self {
        self.rebuild(|inner| inner.pace = Some(pace))
    }

    pub fn with_timeout(self, timeout: Duration) -> Self {
        self.rebuild(|inner| inner.timeout = timeout)
    }

    fn rebuild(self, change: impl FnOnce(&mut Inner)) -> Self {
        let inner = &self.inner;
        let mut copy = Inner {
            http: inner.http.clone(),
            api_base: inner.api_base.clone(),
            oapi_base: inner.oapi_base.clone(),
            tokens: inner.tokens.clone(),
            events: inner.events.clone(),
            timeout: inner.timeout,
            throttle_retries: inner.throttle_retries,
            usage: inner.usage.clone(),
            pace: inner.pace.clone(),
        };
        change(&mut copy);
        Self {
            inner: Arc::new(copy),
        }
    }

    pub fn tokens(&self) -> &TokenManager {
        &self.inner.tokens
    }

    pub fn events(&self) -> &EventBus {
        &self.inner.events
    }

    /// Performs the call and decodes the success body (for the old API: the whole body, errcode 0).
    pub async fn call<T: DeserializeOwned>(&self, request: ApiRequest) -> Result<T, OpenApiError> {
        let value = self.call_value(&request).await?;
        serde_json::from_value(value)
            .map_err(|err| OpenApiError::Decode(format!("{}: {err}", request.path)))
    }

    pub async fn call_value(&self, request: &ApiRequest) -> Result<Value, OpenApiError> {
        let mut refreshed = false;
        let mut throttled = 0;
        loop {
            let token = self.inner.tokens.token().await?;
            if let Some(pace) = &self.inner.pace {
                pace.until_ready().await;
            }
            let result = self.send_once(request, token.expose_secret()).await;
            // Throttled and unsent calls do not count against the monthly quota (protocol notes §4.4).
            if let Some(meter) = &self.inner.usage
                && !matches!(
                    result,
                    Err(OpenApiError::RateLimited { .. } | OpenApiError::Http(_))
                )
            {
                meter.api_call(&request.path);
            }
            match result {
                Ok(value) => return Ok(value),
                // Expired or revoked mid-run: refresh once and retry this call (invisible to the caller).
                Err(err) if err.is_token_rejected() && !refreshed => {
                    refreshed = true;
                    tracing::info!(api = %request.path, "access token refused; refreshing once");
                    self.inner.tokens.invalidate(&token);
                }
                Err(OpenApiError::RateLimited { fault, retry_after })
                    if throttled < self.inner.throttle_retries =>
                {
                    throttled += 1;
                    self.publish_rate_limited(&request.path, &fault.code, retry_after);
                    tokio::time::sleep(retry_after).await;
                }
                Err(err) => {
                    self.report(&request.path, &err);
                    return Err(err);
                }
            }
        }
    }

    async fn send_once(&self, request: &ApiRequest, token: &str) -> Result<Value, OpenApiError> {
        let inner = &self.inner;
        let base = match request.family {
            ApiFamily::New => &inner.api_base,
            ApiFamily::Old => &inner.oapi_base,
        };
        let mut builder = inner
            .http
            .request(request.method.clone(), format!("{base}{}", request.path))
            .query(&request.query)
            .timeout(inner.timeout);
        builder = match request.family {
            ApiFamily::New => builder.header(TOKEN_HEADER, token),
            ApiFamily::Old => builder.query(&[("access_token", token)]),
        };
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        let response = builder
            .send()
            .await
            // The old API carries the token in the URL: keep URLs out of errors.
            .map_err(|err| OpenApiError::Http(err.without_url().to_string()))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|err| OpenApiError::Http(err.without_url().to_string()))?;
        if !(200..300).contains(&status) {
            return Err(classify(status, &bytes));
        }
        let value: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .map_err(|err| OpenApiError::Decode(format!("{}: {err}", request.path)))?
        };
        let errcode = value.get("errcode").and_then(Value::as_i64).unwrap_or(0);
        // A 200 can still be a failure: old-API errcode, or the IP-ban body.
        if errcode != 0 || value.get("status").and_then(Value::as_i64) == Some(1111) {
            return Err(classify(status, &bytes));
        }
        Ok(value)
    }

    fn publish_rate_limited(&self, api: &str, code: &str, retry_after: Duration) {
        tracing::warn!(api, code, "DingTalk throttled an OpenAPI call");
        self.inner.events.publish(Event::RateLimited {
            api: api.to_owned(),
            code: code.to_owned(),
            retry_after_ms: retry_after.as_millis() as u64,
        });
    }

    /// Throttling and quota must be visible (event bus, UI), never a silent drop.
    fn report(&self, api: &str, err: &OpenApiError) {
        match err {
            OpenApiError::RateLimited { fault, retry_after } => {
                self.publish_rate_limited(api, &fault.code, *retry_after)
            }
            OpenApiError::IpBanned { wait_secs } => self.publish_rate_limited(
                api,
                "1111",
                Duration::from_secs(wait_secs.saturating_mul(60)),
            ),
            OpenApiError::QuotaExhausted(fault) => {
                tracing::warn!(api, code = %fault.code, "DingTalk monthly OpenAPI quota exhausted");
                self.inner.events.publish(Event::ApiQuotaExhausted {
                    api: api.to_owned(),
                    code: fault.code.clone(),
                    message: fault.message.clone(),
                });
            }
            _ => {}
        }
    }
}
