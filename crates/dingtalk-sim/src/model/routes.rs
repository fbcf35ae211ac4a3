//! The OpenAI chat-completions subset OpenCode's `@ai-sdk/openai-compatible` provider uses: `GET /v1/models`
//! and `POST /v1/chat/completions` (SSE `chat.completion.chunk`s + `data: [DONE]`, or a JSON
//! `chat.completion`). Invariant: a request is counted in `calls` only after the hold gate, and in
//! `answers` only once its last chunk was handed to the connection.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::Inner;

pub const MODEL_ID: &str = "fake-echo";

#[derive(Clone)]
pub struct AppState {
    pub inner: Arc<Inner>,
    pub hold: Arc<watch::Sender<bool>>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", post(completions))
        .with_state(state)
}

async fn models() -> Json<Value> {
    Json(json!({
        "object": "list",
        "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "dingtalk-sim"}]
    }))
}

/// The last user message: its text parts joined, and whether it carried an image part.
fn last_user_message(request: &Value) -> (String, bool) {
    let Some(message) = request
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|messages| messages.iter().rev().find(|m| m["role"] == "user"))
    else {
        return (String::new(), false);
    };
    match &message["content"] {
        Value::String(text) => (text.clone(), false),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter(|p| p["type"] == "text")
                .filter_map(|p| p["text"].as_str())
                .collect();
            let image = parts.iter().any(|p| p["type"] == "image_url");
            (texts.join("\n"), image)
        }
        _ => (String::new(), false),
    }
}

pub fn answer_to(prompt: &str) -> String {
    let line = prompt
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    format!("echo: {line}")
}

/// Decrements a gauge when dropped (a request or stream that ends any way, including a dropped client).
struct Gauge<'a>(&'a AtomicUsize);

impl<'a> Gauge<'a> {
    fn enter(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Gauge(counter)
    }
}

impl Drop for Gauge<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn completions(State(state): State<AppState>, body: Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {"message": "the body is not JSON", "type": "invalid_request_error"}})),
        )
            .into_response();
    };
    {
        let _held = Gauge::enter(&state.inner.held);
        let mut gate = state.hold.subscribe();
        // `Err` only if the sender is gone, i.e. the fake is shutting down.
        let _ = gate.wait_for(|held| !*held).await;
    }
    let (prompt, image) = last_user_message(&request);
    state.inner.record(&prompt, |s| {
        s.calls += 1;
        if image {
            s.with_image += 1;
        }
    });
    let answer = answer_to(&prompt);
    let model = request["model"].as_str().unwrap_or(MODEL_ID).to_owned();
    if request["stream"].as_bool() != Some(true) {
        state.inner.record(&prompt, |s| s.answers += 1);
        return Json(json!({
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        }))
        .into_response();
    }
    let delay = state.inner.delay_for(&prompt);
    let stream = answer_stream(state.inner.clone(), prompt, answer, model, delay);
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn chunk(model: &str, delta: Value, finish: Option<&str>) -> Bytes {
    let mut body = json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
    });
    if finish.is_some() {
        body["usage"] = json!({"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2});
    }
    Bytes::from(format!("data: {body}\n\n"))
}

/// Counts a stream in `streaming` from its creation until it ends or is dropped (client gone).
struct Streaming(Arc<Inner>);

impl Streaming {
    fn start(inner: Arc<Inner>) -> Self {
        inner.streaming.fetch_add(1, Ordering::SeqCst);
        Streaming(inner)
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        self.0.streaming.fetch_sub(1, Ordering::SeqCst);
    }
}

/// role chunk, one chunk per word, a finish chunk with usage, `[DONE]`; `delay` before each word. The
/// answer is counted when the stream is polled past `[DONE]`, i.e. the connection took every chunk.
fn answer_stream(
    inner: Arc<Inner>,
    prompt: String,
    answer: String,
    model: String,
    delay: Duration,
) -> impl futures_util::Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let mut chunks: Vec<(Duration, Bytes)> = vec![(
        Duration::ZERO,
        chunk(&model, json!({"role": "assistant", "content": ""}), None),
    )];
    for (i, word) in answer.split(' ').enumerate() {
        let text = if i == 0 {
            word.to_owned()
        } else {
            format!(" {word}")
        };
        chunks.push((delay, chunk(&model, json!({ "content": text }), None)));
    }
    chunks.push((Duration::ZERO, chunk(&model, json!({}), Some("stop"))));
    chunks.push((Duration::ZERO, Bytes::from_static(b"data: [DONE]\n\n")));
    let guard = Streaming::start(inner);
    futures_util::stream::unfold(
        (chunks.into_iter(), Some(guard), prompt),
        |(mut chunks, guard, prompt)| async move {
            match chunks.next() {
                Some((delay, bytes)) => {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    Some((Ok(bytes), (chunks, guard, prompt)))
                }
                None => {
                    if let Some(Streaming(inner)) = guard.as_ref() {
                        inner.record(&prompt, |s| s.answers += 1);
                    }
                    None
                }
            }
        },
    )
}
