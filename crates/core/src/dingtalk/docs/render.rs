//! First-level document blocks (`GET …/documents/{docKey}/blocks`, block-data-structure) rendered as plain
//! text, markdown or HTML. DingTalk offers no documented "export as markdown" (§6.3), so this is the read
//! path. Unknown block types degrade to paragraphs of whatever text they carry; nothing is dropped silently.

use serde_json::Value;

use super::types::DocFormat;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    Paragraph(String),
    Heading { level: u8, text: String },
    Ordered(String),
    Unordered(String),
    Quote(String),
    Code { language: String, text: String },
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
        lines.push(match block {
            Block::Paragraph(t) | Block::Heading { text: t, .. } | Block::Quote(t) => t.clone(),
            Block::Ordered(t) => format!("{number}. {t}"),
            Block::Unordered(t) => format!("- {t}"),
            Block::Code { text, .. } => text.clone(),
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
            json!({"blockType": "table", "table": {"children": [{"text": "cell"}]}}),
        ])
    }

    #[test]
    fn markdown_numbers_consecutive_list_items() {
        assert_eq!(
            render(&sample(), DocFormat::Markdown),
            "## T\n\na <b>\n\n1. one\n2. two\n\ncell"
        );
    }

    #[test]
    fn html_groups_list_items_and_escapes_text() {
        let html = render(&sample(), DocFormat::Html);
        assert!(html.contains("<h2>T</h2>"));
        assert!(html.contains("<p>a &lt;b&gt;</p>"));
        assert!(html.contains("<ol>\n<li>one</li>\n<li>two</li>\n</ol>"));
    }

    #[test]
    fn text_keeps_only_words_and_list_markers() {
        assert_eq!(
            render(&sample(), DocFormat::Text),
            "T\na <b>\n1. one\n2. two\ncell"
        );
    }
}
