//! What the fake agent does with a prompt. Tests pick a script per prompt with
//! [`super::FakeOpenCode::script_for`] (first rule whose matcher occurs in the
//! prompt text wins); anything else gets the default echo.

use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Script {
    /// Streams `text` in a few deltas.
    Reply(String),
    /// Streams a generated markdown answer of about `bytes` bytes (headings, code fences, CJK text).
    Long(usize),
    /// Streams `text` word by word, waiting `per_delta` between deltas (abort / timeout tests).
    Slow { text: String, per_delta: Duration },
    /// Says it needs to run `command`, emits `permission.asked` (bash, patterns `[command]`) and waits.
    /// `once`/`always` → streams `then`; `reject` → the tool fails and the turn ends without more text.
    AskPermission { command: String, then: String },
    /// Emits `question.asked` with `options` and waits for `/question/{id}/reply` (streams `then` plus the
    /// chosen answer) or `/reject`.
    Question {
        question: String,
        options: Vec<String>,
        then: String,
    },
    /// `session.error` with an `UnknownError` (a final failure).
    Error(String),
    /// `session.error` with a provider `APIError` (`isRetryable` as given).
    ApiError { message: String, retryable: bool },
    /// Stores the answer in the history but streams no part events (exercises the history fallback).
    Quiet(String),
}

impl Script {
    pub fn reply(text: impl Into<String>) -> Self {
        Self::Reply(text.into())
    }

    pub fn slow(text: impl Into<String>, per_delta: Duration) -> Self {
        Self::Slow {
            text: text.into(),
            per_delta,
        }
    }

    pub fn ask_permission(command: impl Into<String>, then: impl Into<String>) -> Self {
        Self::AskPermission {
            command: command.into(),
            then: then.into(),
        }
    }
}

/// Splits text into `n`-ish deltas on char boundaries.
pub(crate) fn chunks(text: &str, pieces: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return Vec::new();
    }
    let size = chars.len().div_ceil(pieces.max(1)).max(1);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

/// Word-by-word deltas (whitespace kept with the word before it).
pub(crate) fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for ch in text.chars() {
        current.push(ch);
        if ch.is_whitespace() {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// A long markdown answer: what a coding agent produces (prose, lists, code fences, CJK), of roughly
/// `bytes` bytes, so chunking and card limits get exercised.
pub fn long_markdown(bytes: usize) -> String {
    let mut out = String::from("# 测试报告 (test report)\n\n");
    let mut section = 1;
    while out.len() < bytes {
        out.push_str(&format!(
            "## {section}. 模块 module_{section}\n\n所有测试均已通过，耗时 {section}.2 秒。Everything in module_{section} passed.\n\n- 修改了 `src/module_{section}.rs`\n- 新增 {section} 个测试用例\n\n```rust\nfn module_{section}() -> u32 {{\n    // 计算结果\n    {section} * 2\n}}\n```\n\n"
        ));
        section += 1;
    }
    out
}
