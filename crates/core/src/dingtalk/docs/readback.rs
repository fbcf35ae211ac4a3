//! What a write can be checked against after the fact. The blocks API returns text blocks (paragraphs,
//! headings, lists, quotes) faithfully, but tables as their size only and code blocks and images as
//! `blockType: "unknown"` with no text (issue 11 item 2). Both sides of the comparison are reduced to the
//! part the API returns faithfully: the markdown a write sent loses its fenced code, table lines, images and
//! list numbers (the service numbers lists itself), the read-back loses every block that is not faithful.
//!
//! Invariant: a table, code block or image in a write can never make that write look like a conflict; any
//! change to the faithful text still does.

use super::render::Block;

/// The faithful part of the markdown a write sent.
pub(super) fn written(markdown: &str) -> String {
    let mut kept = String::with_capacity(markdown.len());
    let mut fence: Option<&str> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if let Some(open) = fence {
            if trimmed.starts_with(open) {
                fence = None;
            }
            continue;
        }
        if let Some(marker) = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m)) {
            fence = Some(marker);
            continue;
        }
        if trimmed.starts_with('|') {
            continue;
        }
        kept.push_str(without_number(trimmed));
        kept.push('\n');
    }
    signature(&kept)
}

/// The faithful part of a document as the blocks API returned it: the text of its text blocks (tables, code
/// blocks, images and unknown blocks carry nothing the write could be compared with).
pub(super) fn read(blocks: &[Block]) -> String {
    let mut text = String::new();
    for block in blocks {
        if let Block::Paragraph(t)
        | Block::Heading { text: t, .. }
        | Block::Ordered(t)
        | Block::Unordered(t)
        | Block::Quote(t) = block
        {
            text.push_str(t);
            text.push('\n');
        }
    }
    signature(&text)
}

/// `3. item` / `3) item` → `item`: the service renumbers ordered lists, so the number is not compared.
fn without_number(line: &str) -> &str {
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return line;
    }
    line[digits..]
        .strip_prefix(". ")
        .or_else(|| line[digits..].strip_prefix(") "))
        .unwrap_or(line)
}

/// Letters and digits only, lower-cased, with images and link targets removed: the part of a text no
/// markdown formatting can change, whether the service keeps inline markup verbatim or turns it into runs.
fn signature(text: &str) -> String {
    strip_links(text)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// `![alt](url)` → nothing, `[text](url)` → `text`.
fn strip_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let image = open > 0 && rest.as_bytes().get(open - 1) == Some(&b'!');
        let Some((label, after)) = rest[open + 1..].split_once("](") else {
            break;
        };
        let Some(close) = after.find(')') else {
            break;
        };
        out.push_str(&rest[..if image { open - 1 } else { open }]);
        if !image {
            out.push_str(label);
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::render::parse_blocks;
    use super::*;

    #[test]
    fn tables_code_and_images_are_left_out_of_the_written_side() {
        let md = "# Plan\n\n3. step\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```rust\nfn x() {}\n```\n\n![logo](https://e.x/l.png)\n\nSee [the docs](https://e.x) now";
        assert_eq!(written(md), "planstepseethedocsnow");
    }

    #[test]
    fn lossy_blocks_are_left_out_of_the_read_side() {
        let blocks = parse_blocks(&[
            json!({"blockType": "heading", "heading": {"level": 1, "text": "Plan"}}),
            json!({"blockType": "orderedList", "orderedList": {"text": "step"}}),
            json!({"blockType": "table", "table": {"rowSize": 2, "colSize": 2}}),
            json!({"blockType": "unknown"}),
            json!({"blockType": "paragraph", "paragraph": {"text": "See [the docs](https://e.x) now"}}),
        ]);
        assert_eq!(read(&blocks), "planstepseethedocsnow");
    }
}
