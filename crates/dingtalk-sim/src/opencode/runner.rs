//! Plays a [`Script`] for one prompt, emitting the same event sequence real OpenCode does for an async
//! prompt: `session.status` busy → user `message.updated` + part → assistant `message.updated` →
//! `step-start` → text part (`message.part.updated`, then `message.part.delta`s, then the final snapshot)
//! → `step-finish` → `session.status` idle → `session.idle`. Errors and aborts emit `session.error`
//! before going idle.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::script::{Script, chunks, long_markdown, words};
use super::state::{Inner, lock, now_ms};

/// Why a script stopped early.
enum Stop {
    Aborted,
}

struct Turn {
    inner: Arc<Inner>,
    session_id: String,
    message_id: String,
    parent_id: String,
    parts: Vec<Value>,
    cancel: CancellationToken,
    error: Option<Value>,
}

/// `killed`: the kill switch of the server life that accepted the prompt.
pub async fn run(inner: Arc<Inner>, session_id: String, text: String, killed: CancellationToken) {
    // A crash (SIGKILL) of the process ends the turn wherever it is: nothing more is emitted or recorded,
    // so the history keeps the user message and an assistant message without `time.completed`.
    tokio::select! {
        // The kill wins over any step the turn could still take: a dead process does nothing more.
        biased;
        _ = killed.cancelled() => {}
        _ = play_turn(inner.clone(), session_id, text, killed.clone()) => {}
    }
}

async fn play_turn(inner: Arc<Inner>, session_id: String, text: String, killed: CancellationToken) {
    let lock_handle = inner.session_lock(&session_id);
    let _serial = lock_handle.lock().await;
    let cancel = CancellationToken::new();
    if !inner.mark_busy(&session_id, cancel.clone(), &killed) {
        return;
    }
    inner.emit(
        "session.status",
        json!({ "sessionID": session_id, "status": { "type": "busy" } }),
    );

    // The user's message, as OpenCode records it.
    let user_id = inner.new_id("msg");
    let user_info = json!({
        "id": user_id, "sessionID": session_id, "role": "user",
        "time": { "created": now_ms() }, "agent": "build",
        "model": { "providerID": "fake", "modelID": "fake-model" },
    });
    let user_part = json!({
        "id": inner.new_id("prt"), "sessionID": session_id, "messageID": user_id,
        "type": "text", "text": text,
    });
    inner.emit("message.updated", json!({ "info": user_info }));
    inner.emit("message.part.updated", json!({ "part": user_part }));
    inner.push_message(
        &session_id,
        json!({ "info": user_info, "parts": [user_part] }),
    );

    let script = inner.script_for(&text);
    let mut turn = Turn {
        message_id: inner.new_id("msg"),
        inner: inner.clone(),
        session_id: session_id.clone(),
        parent_id: user_id,
        parts: Vec::new(),
        cancel: cancel.clone(),
        error: None,
    };
    turn.publish_message(false);
    turn.add_part(json!({ "type": "step-start" }));

    let outcome = turn.play(script).await;
    if let Err(Stop::Aborted) = outcome {
        turn.error = Some(json!({
            "name": "MessageAbortedError",
            "data": { "message": "The operation was aborted." },
        }));
    }
    if let Some(error) = turn.error.clone() {
        inner.emit(
            "session.error",
            json!({ "sessionID": session_id, "error": error }),
        );
    } else {
        turn.add_part(json!({ "type": "step-finish", "reason": "stop" }));
    }
    turn.publish_message(true);

    lock(&inner.busy).remove(&session_id);
    inner.emit(
        "session.status",
        json!({ "sessionID": session_id, "status": { "type": "idle" } }),
    );
    inner.emit("session.idle", json!({ "sessionID": session_id }));
}

impl Turn {
    fn info(&self, completed: bool) -> Value {
        let mut info = json!({
            "id": self.message_id, "sessionID": self.session_id, "role": "assistant",
            "parentID": self.parent_id, "modelID": "fake-model", "providerID": "fake",
            "mode": "build", "agent": "build", "path": { "cwd": "/fake/project", "root": "/fake/project" },
            "cost": 0, "tokens": { "input": 10, "output": 20, "reasoning": 0, "cache": { "read": 0, "write": 0 } },
            "time": { "created": now_ms() },
        });
        if completed {
            info["time"]["completed"] = json!(now_ms());
            info["finish"] = json!("stop");
        }
        if let Some(error) = &self.error {
            info["error"] = error.clone();
        }
        info
    }

    fn publish_message(&self, completed: bool) {
        let info = self.info(completed);
        self.inner
            .emit("message.updated", json!({ "info": info.clone() }));
        self.inner.update_message(
            &self.session_id,
            json!({ "info": info, "parts": self.parts.clone() }),
        );
    }

    /// Writes the message as it is now to the history without an event: real OpenCode stores parts as
    /// they stream, so a crash leaves what was produced so far (`SessionProcessor` updates each part).
    fn store(&self) {
        self.inner.update_message(
            &self.session_id,
            json!({ "info": self.info(false), "parts": self.parts.clone() }),
        );
    }

    /// Adds a complete (non-streamed) part.
    fn add_part(&mut self, mut part: Value) -> usize {
        part["id"] = json!(self.inner.new_id("prt"));
        part["sessionID"] = json!(self.session_id);
        part["messageID"] = json!(self.message_id);
        self.inner
            .emit("message.part.updated", json!({ "part": part.clone() }));
        self.parts.push(part);
        self.store();
        self.parts.len() - 1
    }

    fn update_part(&mut self, index: usize, part: Value) {
        self.inner
            .emit("message.part.updated", json!({ "part": part.clone() }));
        self.parts[index] = part;
        self.store();
    }

    async fn pause(&self, delay: Duration) -> Result<(), Stop> {
        tokio::select! {
            _ = self.cancel.cancelled() => Err(Stop::Aborted),
            _ = tokio::time::sleep(delay) => Ok(()),
        }
    }

    /// A text part streamed as deltas, then its final snapshot.
    async fn stream_text(&mut self, deltas: Vec<String>, delay: Duration) -> Result<(), Stop> {
        let index =
            self.add_part(json!({ "type": "text", "text": "", "time": { "start": now_ms() } }));
        let part_id = self.parts[index]["id"].clone();
        let mut text = String::new();
        for delta in deltas {
            self.pause(delay).await?;
            text.push_str(&delta);
            self.inner.emit(
                "message.part.delta",
                json!({
                    "sessionID": self.session_id, "messageID": self.message_id,
                    "partID": part_id, "field": "text", "delta": delta,
                }),
            );
            // Keep the stored copy current so a history read mid-turn sees the text so far.
            self.parts[index]["text"] = json!(text);
            self.store();
        }
        let mut done = self.parts[index].clone();
        done["text"] = json!(text);
        done["time"]["end"] = json!(now_ms());
        self.update_part(index, done);
        Ok(())
    }

    async fn play(&mut self, script: Script) -> Result<(), Stop> {
        let delay = self.inner.config.delta_delay;
        match script {
            Script::Reply(text) => self.stream_text(chunks(&text, 4), delay).await,
            Script::Long(bytes) => {
                let text = long_markdown(bytes);
                self.stream_text(chunks(&text, 16), delay).await
            }
            Script::Slow { text, per_delta } => self.stream_text(words(&text), per_delta).await,
            Script::Quiet(text) => {
                self.pause(delay).await?;
                // Stored only: no part events, as if the stream had missed them.
                self.parts.push(json!({
                    "id": self.inner.new_id("prt"), "sessionID": self.session_id,
                    "messageID": self.message_id, "type": "text", "text": text,
                }));
                Ok(())
            }
            Script::Error(message) => {
                self.pause(delay).await?;
                self.error =
                    Some(json!({ "name": "UnknownError", "data": { "message": message } }));
                Ok(())
            }
            Script::ApiError { message, retryable } => {
                self.pause(delay).await?;
                self.error = Some(json!({
                    "name": "APIError",
                    "data": { "message": message, "isRetryable": retryable },
                }));
                Ok(())
            }
            Script::AskPermission { command, then } => {
                self.stream_text(chunks(&format!("I need to run `{command}`."), 2), delay)
                    .await?;
                self.ask_permission(&command, &then, delay).await
            }
            Script::Question {
                question,
                options,
                then,
            } => self.ask_question(&question, &options, &then, delay).await,
        }
    }

    async fn ask_permission(
        &mut self,
        command: &str,
        then: &str,
        delay: Duration,
    ) -> Result<(), Stop> {
        let call_id = self.inner.new_id("call");
        let tool_index = self.add_part(json!({
            "type": "tool", "tool": "bash", "callID": call_id,
            "state": { "status": "running", "input": { "command": command }, "time": { "start": now_ms() } },
        }));
        let permission_id = self.inner.new_id("per");
        let (tx, rx) = oneshot::channel();
        lock(&self.inner.permissions).insert(permission_id.clone(), (self.session_id.clone(), tx));
        self.inner.emit(
            "permission.asked",
            json!({
                "id": permission_id, "sessionID": self.session_id, "permission": "bash",
                "patterns": [command], "metadata": { "command": command },
                "always": [format!("{} *", command.split_whitespace().next().unwrap_or(command))],
                "tool": { "messageID": self.message_id, "callID": call_id },
            }),
        );
        let reply = tokio::select! {
            _ = self.cancel.cancelled() => {
                lock(&self.inner.permissions).remove(&permission_id);
                return Err(Stop::Aborted);
            }
            reply = rx => reply.unwrap_or_else(|_| "reject".to_owned()),
        };
        self.inner.emit(
            "permission.replied",
            json!({ "sessionID": self.session_id, "requestID": permission_id, "reply": reply }),
        );
        let mut tool = self.parts[tool_index].clone();
        if reply == "reject" {
            tool["state"] = json!({
                "status": "error", "input": { "command": command },
                "error": "The user rejected permission to use this specific tool call.",
                "time": { "start": now_ms(), "end": now_ms() },
            });
            self.update_part(tool_index, tool);
            return Ok(());
        }
        tool["state"] = json!({
            "status": "completed", "input": { "command": command }, "output": "ok",
            "title": command, "metadata": {}, "time": { "start": now_ms(), "end": now_ms() },
        });
        self.update_part(tool_index, tool);
        self.stream_text(chunks(then, 3), delay).await
    }

    async fn ask_question(
        &mut self,
        question: &str,
        options: &[String],
        then: &str,
        delay: Duration,
    ) -> Result<(), Stop> {
        let question_id = self.inner.new_id("que");
        let (tx, rx) = oneshot::channel();
        lock(&self.inner.questions).insert(question_id.clone(), tx);
        let options: Vec<Value> = options
            .iter()
            .map(|label| json!({ "label": label, "description": "" }))
            .collect();
        self.inner.emit(
            "question.asked",
            json!({
                "id": question_id, "sessionID": self.session_id,
                "questions": [{ "header": "Question", "question": question, "options": options }],
            }),
        );
        let answer = tokio::select! {
            _ = self.cancel.cancelled() => {
                lock(&self.inner.questions).remove(&question_id);
                return Err(Stop::Aborted);
            }
            answer = rx => answer.unwrap_or(None),
        };
        let text = match answer {
            Some(answers) => {
                let chosen: Vec<String> = answers.into_iter().flatten().collect();
                format!("{then} (answer: {})", chosen.join(", "))
            }
            None => "OK, I'll continue without an answer.".to_owned(),
        };
        self.stream_text(chunks(&text, 3), delay).await
    }
}
