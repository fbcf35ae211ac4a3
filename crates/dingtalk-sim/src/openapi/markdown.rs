//! Markdown → first-level blocks, the way DingTalk stores a document written through `overwriteContent` or
//! `content` (protocol doc §6.2, block-data-structure). One block per non-blank line; fenced code is one
//! block. Inline markup is kept verbatim in `text` (the real service would turn it into rich runs).

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

    /// Wire form: `{id, index, blockType, <blockType>: {...}}`.
    pub fn to_json(&self, index: usize) -> Value {
        let mut v = json!({"id": self.id, "index": index, "blockType": self.block_type});
        if let Value::Object(map) = &mut v {
            map.insert(self.block_type.to_owned(), self.data.clone());
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
        blocks.push(line_block(trimmed.trim_start()));
    }
    blocks
}

fn line_block(line: &str) -> Block {
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
}
