//! Markdown → first-level blocks, the way DingTalk stores a document written through `overwriteContent` or
//! `content` (protocol doc §6.2, block-data-structure). One block per non-blank line; fenced code, a run of
//! `|` table lines and a line holding only an image are one block each. Inline markup is kept verbatim in
//! `text` (the real service would turn it into rich runs).
//!
//! Invariant: the store keeps every block whole; only [`Block::to_json`], the blocks API's wire form, is
//! lossy, the way the real read is (issue 11 item 2: tables come back as their size only, code blocks and
//! images as `blockType: "unknown"` with no text). The SDK cannot confirm this: `DocBlocksQueryResponseBody`
//! types `result.data` as a list of anything (aliyun/dingtalk-sdk
//! `dingtalk/python/alibabacloud_dingtalk/doc_1_0/models.py`), so the simulator follows the issue.

use serde_json::{Value, json};

/// A first-level block: its type name and the type-specific object (`paragraph{text}`, `heading{level,text}`…).
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub id: String,
    pub block_type: &'static str,
    pub data: Value,
}

impl Block {
    fn new(block_type: &'static str, data: Value) -> Self {
        Self {
            id: uuid::Uuid::new_v4().simple().to_string()[..16].to_owned(),
            block_type,
            data,
        }
    }

    /// The `blockType` the blocks API reports: code blocks and images read back as `unknown`.
    pub fn wire_type(&self) -> &'static str {
        match self.block_type {
            "code" | "image" => "unknown",
            other => other,
        }
    }

    /// Wire form: `{id, index, blockType, <blockType>: {...}}`, lossy like the real read: a table is its
    /// `{rowSize, colSize}` only, an `unknown` block carries no body at all.
    pub fn to_json(&self, index: usize) -> Value {
        let kind = self.wire_type();
        let mut v = json!({"id": self.id, "index": index, "blockType": kind});
        let body = match kind {
            "unknown" => None,
            "table" => Some(json!({
                "rowSize": self.data.get("rowSize").cloned().unwrap_or(Value::Null),
                "colSize": self.data.get("colSize").cloned().unwrap_or(Value::Null),
            })),
            _ => Some(self.data.clone()),
        };
        if let (Value::Object(map), Some(body)) = (&mut v, body) {
            map.insert(kind.to_owned(), body);
        }
        v
    }
}

pub fn parse(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_end();
        if trimmed.trim().is_empty() {
            continue;
        }
        if let Some(language) = trimmed.trim_start().strip_prefix("```") {
            let mut body = Vec::new();
            for inner in lines.by_ref() {
                if inner.trim_start().starts_with("```") {
                    break;
                }
                body.push(inner);
            }
            blocks.push(Block::new(
                "code",
                json!({"language": language.trim(), "text": body.join("\n")}),
            ));
            continue;
        }
        let line = trimmed.trim_start();
        if line.starts_with('|') {
            let mut rows = vec![line];
            while let Some(next) = lines
                .clone()
                .next()
                .map(str::trim)
                .filter(|l| l.starts_with('|'))
            {
                rows.push(next);
                lines.next();
            }
            blocks.push(table_block(&rows));
            continue;
        }
        blocks.push(line_block(line));
    }
    blocks
}

/// `| a | b |` rows (the `|---|` delimiter row is markup, not a row) → one table with its cells.
fn table_block(lines: &[&str]) -> Block {
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|line| {
            let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
            inner.split('|').map(|c| c.trim().to_owned()).collect()
        })
        .filter(|cells: &Vec<String>| {
            !cells
                .iter()
                .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':')))
        })
        .collect();
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    Block::new(
        "table",
        json!({"rowSize": rows.len(), "colSize": cols, "cells": rows}),
    )
}

/// A line that is one `![alt](url)` and nothing else.
fn image(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("![")?;
    let (alt, rest) = rest.split_once("](")?;
    let url = rest.strip_suffix(')')?;
    (!url.contains(char::is_whitespace)).then_some((alt, url))
}

fn line_block(line: &str) -> Block {
    if let Some((alt, url)) = image(line) {
        return Block::new("image", json!({"alt": alt, "url": url}));
    }
    let hashes = line.chars().take_while(|c| *c == '#').count();
    if (1..=6).contains(&hashes)
        && let Some(text) = line[hashes..].strip_prefix(' ')
    {
        return Block::new("heading", json!({"level": hashes, "text": text.trim()}));
    }
    if let Some(text) = line.strip_prefix("> ").or_else(|| line.strip_prefix('>')) {
        return Block::new("blockquote", json!({"text": text.trim()}));
    }
    for bullet in ["- ", "* ", "+ "] {
        if let Some(text) = line.strip_prefix(bullet) {
            return Block::new("unorderedList", json!({"text": text.trim()}));
        }
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0
        && let Some(text) = line[digits..].strip_prefix(". ")
    {
        return Block::new("orderedList", json!({"text": text.trim()}));
    }
    Block::new("paragraph", json!({"text": line}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_markdown_construct_becomes_its_block_type() {
        let blocks = parse("# T\n\npara\n- a\n1. b\n> q\n```rust\nfn x() {}\n```\n");
        let types: Vec<_> = blocks.iter().map(|b| b.block_type).collect();
        assert_eq!(
            types,
            [
                "heading",
                "paragraph",
                "unorderedList",
                "orderedList",
                "blockquote",
                "code"
            ]
        );
        assert_eq!(blocks[0].data["level"], 1);
        assert_eq!(blocks[5].data["text"], "fn x() {}");
    }

    #[test]
    fn a_table_is_one_block_without_its_delimiter_row() {
        let blocks = parse("| a | b |\n|---|:-:|\n| 1 | 2 |\n| 3 | 4 |\nafter");
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].block_type, "table");
        assert_eq!(blocks[0].data["rowSize"], 3);
        assert_eq!(blocks[0].data["colSize"], 2);
        assert_eq!(blocks[0].data["cells"][2][1], "4");
    }

    #[test]
    fn the_wire_form_is_lossy_for_tables_code_and_images() {
        let blocks =
            parse("| a | b |\n|---|---|\n| 1 | 2 |\n```\nx\n```\n![logo](https://e.x/l.png)");
        let wire: Vec<Value> = blocks
            .iter()
            .enumerate()
            .map(|(i, b)| b.to_json(i))
            .collect();
        assert_eq!(wire[0]["table"], json!({"rowSize": 2, "colSize": 2}));
        assert_eq!(
            wire[1],
            json!({"id": blocks[1].id, "index": 1, "blockType": "unknown"})
        );
        assert_eq!(wire[2]["blockType"], "unknown");
        assert!(wire[2].get("image").is_none());
    }
}
