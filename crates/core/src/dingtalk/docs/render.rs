//! First-level document blocks (`GET …/documents/{docKey}/blocks`, block-data-structure) rendered as plain
//! text, markdown or HTML. DingTalk offers no documented "export as markdown" (§6.3), so this is the read
//! path.
//!
//! Invariant: nothing is dropped silently. The real read is lossy (issue 11 item 2: a table comes back as
//! `{rowSize, colSize}` only, code blocks and images as `blockType: "unknown"` with no text), so such blocks
//! render as a placeholder that says what is there (`[table, 2 × 2: not readable through the API]`), never
//! as a blank line. Other block types degrade to paragraphs of whatever text they carry, or to a
//! placeholder naming their type when they carry none.

use serde_json::Value;

use super::types::DocFormat;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    Paragraph(String),
    Heading {
        level: u8,
        text: String,
    },
    Ordered(String),
    Unordered(String),
    Quote(String),
    Code {
        language: String,
        text: String,
    },
    /// A table: the API gives its size only.
    Table {
        rows: Option<u64>,
        cols: Option<u64>,
    },
    Image,
    /// `blockType: "unknown"`: a code block or an image, indistinguishable in the read.
    Unknown,
    /// A block type this renderer does not know, carrying no text.
    Other(String),
}

impl Block {
    /// What stands in for an unreadable block.
    fn placeholder(&self) -> Option<String> {
        Some(match self {
            Self::Table {
                rows: Some(rows),
                cols: Some(cols),
            } => format!("[table, {rows} × {cols}: not readable through the API]"),
            Self::Table { .. } => "[table: not readable through the API]".into(),
            Self::Code { text, .. } if text.is_empty() => "[code block]".into(),
            Self::Image => "[image]".into(),
            Self::Unknown => "[code block or image: not readable through the API]".into(),
            Self::Other(kind) => format!("[{kind}: not readable through the API]"),
            _ => return None,
        })
    }
}

/// Decodes the `data` array of a blocks answer.
pub fn parse_blocks(data: &[Value]) -> Vec<Block> {
    data.iter().map(parse_block).collect()
}

fn parse_block(value: &Value) -> Block {
    let kind = value
        .get("blockType")
        .and_then(Value::as_str)
        .unwrap_or("paragraph");
    let body = value.get(kind).unwrap_or(&Value::Null);
    let text = text_of(body);
    let size = |key: &str| body.get(key).and_then(Value::as_u64);
    match kind {
        "heading" => Block::Heading {
            level: heading_level(body.get("level")),
            text,
        },
        "orderedList" => Block::Ordered(text),
        "unorderedList" => Block::Unordered(text),
        "blockquote" => Block::Quote(text),
        "code" => Block::Code {
            language: body
                .get("language")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            text,
        },
        "table" => Block::Table {
            rows: size("rowSize"),
            cols: size("colSize"),
        },
        "image" => Block::Image,
        "unknown" => Block::Unknown,
        "paragraph" => Block::Paragraph(text),
        _ if text.is_empty() => Block::Other(kind.to_owned()),
        _ => Block::Paragraph(text),
    }
}

/// `text`, or the concatenated `text` of rich `elements`/`children` runs.
fn text_of(body: &Value) -> String {
    if let Some(text) = body.get("text").and_then(Value::as_str) {
        return text.to_owned();
    }
    ["elements", "children"]
        .iter()
        .filter_map(|key| body.get(*key).and_then(Value::as_array))
        .flatten()
        .map(text_of)
        .collect()
}

/// `1`, `"1"`, `"heading-1"` or `"h1"` → 1 (clamped to 1–6).
fn heading_level(level: Option<&Value>) -> u8 {
    let n = match level {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(1),
        Some(Value::String(s)) => s
            .trim_start_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .unwrap_or(1),
        _ => 1,
    };
    n.clamp(1, 6) as u8
}

pub fn render(blocks: &[Block], format: DocFormat) -> String {
    match format {
        DocFormat::Text => render_text(blocks),
        DocFormat::Markdown => render_markdown(blocks),
        DocFormat::Html => render_html(blocks),
    }
}

fn render_text(blocks: &[Block]) -> String {
    let mut lines = Vec::new();
    let mut number = 0;
    for block in blocks {
        number = if matches!(block, Block::Ordered(_)) {
            number + 1
        } else {
            0
        };
        if let Some(placeholder) = block.placeholder() {
            lines.push(placeholder);
            continue;
        }
        lines.push(match block {
            Block::Paragraph(t) | Block::Heading { text: t, .. } | Block::Quote(t) => t.clone(),
            Block::Ordered(t) => format!("{number}. {t}"),
            Block::Unordered(t) => format!("- {t}"),
            Block::Code { text, .. } => text.clone(),
            Block::Table { .. } | Block::Image | Block::Unknown | Block::Other(_) => String::new(),
        });
    }
    lines.join("\n")
}

fn same_list(a: &Block, b: &Block) -> bool {
    matches!(
        (a, b),
        (Block::Ordered(_), Block::Ordered(_))
            | (Block::Unordered(_), Block::Unordered(_))
            | (Block::Quote(_), Block::Quote(_))
    )
}

fn render_markdown(blocks: &[Block]) -> String {
    let mut out = String::new();
    let mut number = 0;
    for (i, block) in blocks.iter().enumerate() {
        if i > 0 {
            out.push_str(if same_list(&blocks[i - 1], block) {
                "\n"
            } else {
                "\n\n"
            });
        }
        number = if matches!(block, Block::Ordered(_)) {
            number + 1
        } else {
            0
        };
        if let Some(placeholder) = block.placeholder() {
            out.push_str(&placeholder);
            continue;
        }
        match block {
            Block::Paragraph(t) => out.push_str(t),
            Block::Heading { level, text } => {
                out.push_str(&"#".repeat(usize::from(*level)));
                out.push(' ');
                out.push_str(text);
            }
            Block::Ordered(t) => out.push_str(&format!("{number}. {t}")),
            Block::Unordered(t) => out.push_str(&format!("- {t}")),
            Block::Quote(t) => out.push_str(&format!("> {t}")),
            Block::Code { language, text } => out.push_str(&format!("```{language}\n{text}\n```")),
            Block::Table { .. } | Block::Image | Block::Unknown | Block::Other(_) => {}
        }
    }
    out
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn render_html(blocks: &[Block]) -> String {
    let mut out = String::new();
    let mut open: Option<&'static str> = None;
    for block in blocks {
        let wanted = match block {
            Block::Ordered(_) => Some("ol"),
            Block::Unordered(_) => Some("ul"),
            _ => None,
        };
        if open != wanted {
            if let Some(tag) = open {
                out.push_str(&format!("</{tag}>\n"));
            }
            if let Some(tag) = wanted {
                out.push_str(&format!("<{tag}>\n"));
            }
            open = wanted;
        }
        if let Some(placeholder) = block.placeholder() {
            out.push_str(&format!("<p>{}</p>\n", escape(&placeholder)));
            continue;
        }
        match block {
            Block::Paragraph(t) => out.push_str(&format!("<p>{}</p>\n", escape(t))),
            Block::Heading { level, text } => {
                out.push_str(&format!("<h{level}>{}</h{level}>\n", escape(text)))
            }
            Block::Ordered(t) | Block::Unordered(t) => {
                out.push_str(&format!("<li>{}</li>\n", escape(t)))
            }
            Block::Quote(t) => {
                out.push_str(&format!("<blockquote><p>{}</p></blockquote>\n", escape(t)))
            }
            Block::Code { language, text } if language.is_empty() => {
                out.push_str(&format!("<pre><code>{}</code></pre>\n", escape(text)))
            }
            Block::Code { language, text } => out.push_str(&format!(
                "<pre><code class=\"language-{}\">{}</code></pre>\n",
                escape(language),
                escape(text)
            )),
            Block::Table { .. } | Block::Image | Block::Unknown | Block::Other(_) => {}
        }
    }
    if let Some(tag) = open {
        out.push_str(&format!("</{tag}>\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sample() -> Vec<Block> {
        parse_blocks(&[
            json!({"blockType": "heading", "heading": {"level": "heading-2", "text": "T"}}),
            json!({"blockType": "paragraph", "paragraph": {"text": "a <b>"}}),
            json!({"blockType": "orderedList", "orderedList": {"text": "one"}}),
            json!({"blockType": "orderedList", "orderedList": {"text": "two"}}),
            json!({"blockType": "table", "table": {"rowSize": 2, "colSize": 3}}),
        ])
    }

    #[test]
    fn markdown_numbers_consecutive_list_items() {
        assert_eq!(
            render(&sample(), DocFormat::Markdown),
            "## T\n\na <b>\n\n1. one\n2. two\n\n[table, 2 × 3: not readable through the API]"
        );
    }

    #[test]
    fn html_groups_list_items_and_escapes_text() {
        let html = render(&sample(), DocFormat::Html);
        assert!(html.contains("<h2>T</h2>"));
        assert!(html.contains("<p>a &lt;b&gt;</p>"));
        assert!(html.contains("<ol>\n<li>one</li>\n<li>two</li>\n</ol>"));
        assert!(html.contains("<p>[table, 2 × 3: not readable through the API]</p>"));
    }

    #[test]
    fn unreadable_blocks_render_as_placeholders_not_blank_lines() {
        let blocks = parse_blocks(&[
            json!({"blockType": "unknown"}),
            json!({"blockType": "image", "image": {}}),
            json!({"blockType": "code", "code": {}}),
            json!({"blockType": "table"}),
            json!({"blockType": "divider", "divider": {}}),
        ]);
        assert_eq!(
            render(&blocks, DocFormat::Text),
            "[code block or image: not readable through the API]\n[image]\n[code block]\n\
             [table: not readable through the API]\n[divider: not readable through the API]"
        );
    }

    #[test]
    fn text_keeps_only_words_and_list_markers() {
        assert_eq!(
            render(&sample(), DocFormat::Text),
            "T\na <b>\n1. one\n2. two\n[table, 2 × 3: not readable through the API]"
        );
    }
}
