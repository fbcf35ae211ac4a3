//! Splits a long markdown answer into parts DingTalk accepts and renders well.
//!
//! Two limits apply to every part: a readable length (bridges split at ~3,800 chars; longer markdown renders
//! badly) and the byte size of the *final request body* (webhook body 20,000 bytes, OpenAPI msgParam 15,000
//! bytes). JSON escaping inflates quotes, newlines and control characters, and CJK is 3 bytes per char, so
//! the body is measured with the caller's real serializer (`body_len`), never estimated.
//!
//! Parts break at paragraph, then line, then word boundaries, never inside a UTF-8 character. A part that
//! ends inside a code fence closes it and the next part reopens it with the same info string, so every part
//! renders on its own. With more than one part each carries a `(i/n)` footer, counted in both limits.

use std::ops::Range;

/// Characters per part that still read well in the DingTalk client.
pub const DEFAULT_READABLE_CHARS: usize = 3_800;

/// Limits of one part. `body_len` returns the byte size of the request body that would carry a part's text
/// (e.g. the webhook JSON, or the msgParam string); every returned part satisfies
/// `body_len(&part.text) <= max_body_bytes` unless the limits are too small to hold any text at all.
pub struct ChunkLimits<'a> {
    pub readable_chars: usize,
    pub max_body_bytes: usize,
    pub body_len: &'a dyn Fn(&str) -> usize,
}

impl<'a> ChunkLimits<'a> {
    pub fn new(
        readable_chars: usize,
        max_body_bytes: usize,
        body_len: &'a dyn Fn(&str) -> usize,
    ) -> Self {
        Self {
            readable_chars,
            max_body_bytes,
            body_len,
        }
    }
}

/// One part, ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// 1-based.
    pub index: usize,
    pub total: usize,
    /// What to send: `prefix + input[source] + suffix`.
    pub text: String,
    /// The bytes of the input this part carries; the sources of all parts tile the input in order.
    pub source: Range<usize>,
    /// A reopened code fence (its opening line), or empty.
    pub prefix: String,
    /// A closing fence and/or the `(i/n)` footer, or empty.
    pub suffix: String,
}

/// Splits `text` under `limits`; an empty text gives no parts.
pub fn chunk_markdown(text: &str, limits: &ChunkLimits<'_>) -> Vec<Chunk> {
    if text.is_empty() {
        return Vec::new();
    }
    let doc = Doc::scan(text);
    // The footer's width depends on the number of parts: assume a total, split, and redo with the real
    // count if more parts were needed. Fewer parts only shorten footers, so they still fit.
    let mut total = 1;
    for _ in 0..32 {
        let spans = doc.split(limits, total);
        if spans.len() <= total {
            return doc.render_all(&spans);
        }
        total = spans.len();
    }
    let spans = doc.split(limits, total);
    doc.render_all(&spans)
}

/// Convenience form taking the body measure as a closure.
pub fn chunk_markdown_for(
    text: &str,
    readable_chars: usize,
    max_body_bytes: usize,
    body_len: impl Fn(&str) -> usize,
) -> Vec<Chunk> {
    chunk_markdown(
        text,
        &ChunkLimits::new(readable_chars, max_body_bytes, &body_len),
    )
}

/// An open code fence: marker char, marker length and the opening line (to reopen it verbatim).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Fence {
    ch: char,
    count: usize,
    opening: String,
}

impl Fence {
    fn closing(&self) -> String {
        std::iter::repeat_n(self.ch, self.count).collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LineKind {
    Blank,
    Text,
    FenceOpen,
    FenceClose,
}

struct Line {
    /// Exclusive, newline included.
    end: usize,
    kind: LineKind,
    /// The fence open at the start of this line.
    fence: Option<Fence>,
}

struct Doc<'t> {
    text: &'t str,
    lines: Vec<Line>,
    /// The fence still open after the last line (unbalanced input).
    fence_at_end: Option<Fence>,
}

/// How good a break is; higher is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Quality {
    InsideFence,
    Line,
    Paragraph,
}

impl<'t> Doc<'t> {
    fn scan(text: &'t str) -> Self {
        let mut lines = Vec::new();
        let mut fence: Option<Fence> = None;
        let mut start = 0;
        for raw in text.split_inclusive('\n') {
            let end = start + raw.len();
            let content = raw.trim_end_matches(['\n', '\r']);
            let before = fence.clone();
            let kind = match &fence {
                Some(open) if closes(content, open) => {
                    fence = None;
                    LineKind::FenceClose
                }
                Some(_) => LineKind::Text,
                None => match opens(content) {
                    Some(open) => {
                        fence = Some(open);
                        LineKind::FenceOpen
                    }
                    None if content.trim().is_empty() => LineKind::Blank,
                    None => LineKind::Text,
                },
            };
            lines.push(Line {
                end,
                kind,
                fence: before,
            });
            start = end;
        }
        Self {
            text,
            lines,
            fence_at_end: fence,
        }
    }

    /// Index of the line containing byte `pos` (`pos < text.len()`).
    fn line_of(&self, pos: usize) -> usize {
        self.lines.partition_point(|l| l.end <= pos)
    }

    /// The fence open at byte `pos` (for a position inside a line: the fence around that line).
    fn fence_at(&self, pos: usize) -> Option<&Fence> {
        if pos >= self.text.len() {
            return self.fence_at_end.as_ref();
        }
        self.lines
            .get(self.line_of(pos))
            .and_then(|l| l.fence.as_ref())
    }

    fn render(&self, span: &Range<usize>, index: usize, total: usize) -> Chunk {
        let body = &self.text[span.clone()];
        let prefix = match self.fence_at(span.start) {
            Some(f) if span.start > 0 => format!("{}\n", f.opening),
            _ => String::new(),
        };
        let mut suffix = String::new();
        let mut ends_with_newline = if body.is_empty() {
            prefix.is_empty() || prefix.ends_with('\n')
        } else {
            body.ends_with('\n')
        };
        if let Some(f) = self.fence_at(span.end) {
            if !ends_with_newline {
                suffix.push('\n');
            }
            suffix.push_str(&f.closing());
            ends_with_newline = false;
        }
        if total > 1 {
            suffix.push_str(if ends_with_newline { "\n" } else { "\n\n" });
            suffix.push_str(&format!("({index}/{total})"));
        }
        let text = format!("{prefix}{body}{suffix}");
        Chunk {
            index,
            total,
            text,
            source: span.clone(),
            prefix,
            suffix,
        }
    }

    fn render_all(&self, spans: &[Range<usize>]) -> Vec<Chunk> {
        let total = spans.len();
        spans
            .iter()
            .enumerate()
            .map(|(i, span)| self.render(span, i + 1, total))
            .collect()
    }

    fn fits(
        &self,
        limits: &ChunkLimits<'_>,
        span: Range<usize>,
        index: usize,
        total: usize,
    ) -> bool {
        let chunk = self.render(&span, index, total);
        chunk.text.chars().count() <= limits.readable_chars
            && (limits.body_len)(&chunk.text) <= limits.max_body_bytes
    }

    fn split(&self, limits: &ChunkLimits<'_>, total: usize) -> Vec<Range<usize>> {
        let mut spans = Vec::new();
        let mut start = 0;
        while start < self.text.len() {
            let end = self.next_end(limits, start, spans.len() + 1, total);
            spans.push(start..end);
            start = end;
        }
        spans
    }

    /// Where the part starting at `start` should end (always > `start`).
    fn next_end(
        &self,
        limits: &ChunkLimits<'_>,
        start: usize,
        index: usize,
        total: usize,
    ) -> usize {
        let fits = |end: usize| self.fits(limits, start..end, index, total);
        let first = self.line_of(start);
        // Largest line end that fits (sizes grow with the end, so binary search).
        let (mut lo, mut hi) = (first, self.lines.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if fits(self.lines[mid].end) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo > first {
            let best = lo - 1;
            let max_end = self.lines[best].end;
            if max_end == self.text.len() {
                return max_end;
            }
            return self.preferred_line_end(start, first, best, &fits);
        }
        self.mid_line_end(start, first, &fits)
    }

    /// Among line ends in the second half of the room, the latest of the best quality that fits.
    fn preferred_line_end(
        &self,
        start: usize,
        first: usize,
        best: usize,
        fits: &dyn Fn(usize) -> bool,
    ) -> usize {
        let max_end = self.lines[best].end;
        let floor = start + (max_end - start) / 2;
        let mut choice: Option<(Quality, usize)> = None;
        for i in (first..=best).rev() {
            let end = self.lines[i].end;
            if end <= floor && choice.is_some() {
                break;
            }
            let quality = self.quality_after(i);
            if choice.is_none_or(|(q, _)| quality > q) && (end == max_end || fits(end)) {
                choice = Some((quality, end));
                if quality == Quality::Paragraph {
                    break;
                }
            }
        }
        choice.map_or(max_end, |(_, end)| end)
    }

    /// Quality of the boundary right after line `i`.
    fn quality_after(&self, i: usize) -> Quality {
        let line = &self.lines[i];
        let next = self.lines.get(i + 1);
        let inside = match line.kind {
            LineKind::FenceOpen => true,
            LineKind::FenceClose => false,
            _ => line.fence.is_some(),
        };
        if inside {
            return Quality::InsideFence;
        }
        let paragraph = matches!(line.kind, LineKind::Blank | LineKind::FenceClose)
            || next.is_some_and(|n| matches!(n.kind, LineKind::Blank | LineKind::FenceOpen));
        if paragraph {
            Quality::Paragraph
        } else {
            Quality::Line
        }
    }

    /// No whole line fits: split line `first` at the last fitting char boundary, preferring a space.
    fn mid_line_end(&self, start: usize, first: usize, fits: &dyn Fn(usize) -> bool) -> usize {
        let line_end = self.lines[first].end;
        let bounds: Vec<usize> = self.text[start..line_end]
            .char_indices()
            .map(|(i, _)| start + i)
            .skip(1)
            .collect();
        let (mut lo, mut hi) = (0, bounds.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if fits(bounds[mid]) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo == 0 {
            // Even one character does not fit the limits: take one anyway so splitting always ends.
            return bounds.first().copied().unwrap_or(line_end);
        }
        let max_end = bounds[lo - 1];
        let mut floor = start + (max_end - start) / 2;
        while !self.text.is_char_boundary(floor) {
            floor += 1;
        }
        let segment = &self.text[floor..max_end];
        if let Some(space) = segment.rfind([' ', '\t'])
            && floor + space + 1 > start
        {
            // Break after the space so the next part does not start with it.
            let end = floor + space + 1;
            if end < max_end && fits(end) {
                return end;
            }
        }
        max_end
    }
}

/// A CommonMark fence opening: ≤3 spaces, then ≥3 backticks or tildes (a backtick fence's info string may
/// not contain backticks).
fn opens(line: &str) -> Option<Fence> {
    let trimmed = line.trim_start_matches(' ');
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let ch = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let count = trimmed.chars().take_while(|c| *c == ch).count();
    if count < 3 {
        return None;
    }
    let info = &trimmed[count..];
    if ch == '`' && info.contains('`') {
        return None;
    }
    Some(Fence {
        ch,
        count,
        opening: line.to_owned(),
    })
}

/// A closing line: ≤3 spaces, the same char at least as many times, then only whitespace.
fn closes(line: &str, open: &Fence) -> bool {
    let trimmed = line.trim_start_matches(' ');
    if line.len() - trimmed.len() > 3 {
        return false;
    }
    let count = trimmed.chars().take_while(|c| *c == open.ch).count();
    count >= open.count && trimmed[count * open.ch.len_utf8()..].trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn webhook_body_len(text: &str) -> usize {
        json!({"msgtype": "markdown", "markdown": {"title": "标题 title", "text": text}})
            .to_string()
            .len()
    }

    fn msg_param_len(text: &str) -> usize {
        json!({"title": "t", "text": text}).to_string().len()
    }

    /// Fence lines toggle per marker kind (the test input never nests one kind inside the other).
    fn fences_balanced(text: &str) -> bool {
        ["```", "~~~"].iter().all(|marker| {
            text.lines()
                .filter(|l| l.trim_start().starts_with(marker))
                .count()
                .is_multiple_of(2)
        })
    }

    fn assert_tiles(input: &str, chunks: &[Chunk]) {
        let mut at = 0;
        for (i, c) in chunks.iter().enumerate() {
            assert_eq!(c.index, i + 1);
            assert_eq!(c.total, chunks.len());
            assert_eq!(c.source.start, at, "parts must be contiguous");
            assert!(c.source.end > c.source.start, "no empty part");
            assert_eq!(
                c.text,
                format!("{}{}{}", c.prefix, &input[c.source.clone()], c.suffix)
            );
            at = c.source.end;
        }
        assert_eq!(at, input.len());
        let joined: String = chunks.iter().map(|c| &input[c.source.clone()]).collect();
        assert_eq!(joined, input);
    }

    /// ~60 KB: headings, CJK paragraphs, quotes and backslashes (JSON-escaped), long code fences with info
    /// strings, a tilde fence, a very long line without spaces.
    fn big_mixed_markdown() -> String {
        let mut s = String::new();
        let mut i = 0;
        while s.len() < 60_000 {
            i += 1;
            s.push_str(&format!("## 第{i}节 Section {i}\n\n"));
            s.push_str("这是一个包含中文、\"引号\"和\\反斜杠\\的段落。DingTalk 会把 JSON 转义算进 body 大小。\n");
            s.push_str("Second line of the paragraph with tabs\tand emoji 🚀🎉.\n\n");
            if i % 3 == 0 {
                s.push_str("```rust title=\"main.rs\"\n");
                for j in 0..60 {
                    s.push_str(&format!("    let x{j} = \"值{j}\\n\"; // 注释 {j}\n"));
                }
                s.push_str("```\n\n");
            }
            if i % 7 == 0 {
                // A tilde fence holding one very long line without spaces.
                s.push_str("~~~\n");
                s.push_str(&"长".repeat(2_000));
                s.push_str("\n~~~\n\n");
            }
            s.push_str("- item one\n- item two with `inline code`\n\n");
        }
        s
    }

    #[test]
    fn a_short_text_is_one_part_without_numbering() {
        let chunks = chunk_markdown_for("hello **world**", 3_800, 20_000, webhook_body_len);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].text, "hello **world**");
        assert_eq!(chunks[0].suffix, "");
    }

    #[test]
    fn empty_text_gives_no_parts() {
        assert!(chunk_markdown_for("", 3_800, 20_000, webhook_body_len).is_empty());
    }

    #[test]
    fn sixty_kb_mixed_markdown_fits_every_body_limit_and_tiles_the_input() {
        let input = big_mixed_markdown();
        for (limit, measure) in [
            (20_000, &webhook_body_len as &dyn Fn(&str) -> usize),
            (15_000, &msg_param_len),
            (4_000, &msg_param_len),
        ] {
            let limits = ChunkLimits::new(DEFAULT_READABLE_CHARS, limit, measure);
            let chunks = chunk_markdown(&input, &limits);
            assert!(chunks.len() > 1);
            assert_tiles(&input, &chunks);
            for c in &chunks {
                assert!(
                    measure(&c.text) <= limit,
                    "part {} body {} > {limit}",
                    c.index,
                    measure(&c.text)
                );
                assert!(c.text.chars().count() <= DEFAULT_READABLE_CHARS);
                assert!(
                    fences_balanced(&c.text),
                    "unbalanced fences in part {}:\n{}",
                    c.index,
                    c.text
                );
                assert!(!c.text.contains('\u{FFFD}'));
                assert!(c.text.ends_with(&format!("({}/{})", c.index, c.total)));
            }
        }
    }

    #[test]
    fn json_escaping_is_counted_in_the_body_size() {
        // 3,000 quotes read as 3,000 chars but serialize to 6,000+ bytes.
        let input = "\"".repeat(3_000);
        let chunks = chunk_markdown_for(&input, 3_800, 2_000, msg_param_len);
        assert!(chunks.len() >= 3);
        for c in &chunks {
            assert!(msg_param_len(&c.text) <= 2_000);
        }
        assert_tiles(&input, &chunks);
    }

    #[test]
    fn cjk_is_never_split_inside_a_character() {
        let input = "汉字🚀".repeat(3_000);
        let chunks = chunk_markdown_for(&input, 1_000, 20_000, webhook_body_len);
        assert_tiles(&input, &chunks);
        for c in &chunks {
            assert!(input.is_char_boundary(c.source.start) && input.is_char_boundary(c.source.end));
            assert!(c.text.chars().count() <= 1_000);
        }
    }

    #[test]
    fn a_fence_split_across_parts_is_closed_and_reopened_with_its_info_string() {
        let mut input = String::from("intro\n\n```python {linenos}\n");
        for i in 0..200 {
            input.push_str(&format!("print('line {i}')\n"));
        }
        input.push_str("```\n\noutro\n");
        let chunks = chunk_markdown_for(&input, 1_000, 20_000, webhook_body_len);
        assert!(chunks.len() > 2);
        assert_tiles(&input, &chunks);
        for c in &chunks[1..chunks.len() - 1] {
            assert!(c.text.starts_with("```python {linenos}\n"), "{}", c.text);
        }
        for c in &chunks {
            assert!(fences_balanced(&c.text), "{}", c.text);
        }
    }

    #[test]
    fn tilde_and_longer_fences_close_with_their_own_marker() {
        let mut input = String::from("~~~~text\n");
        input.push_str(&"```not a close\n".repeat(100));
        input.push_str("~~~~\n");
        let chunks = chunk_markdown_for(&input, 500, 20_000, webhook_body_len);
        assert!(chunks.len() > 1);
        assert_tiles(&input, &chunks);
        for c in &chunks[..chunks.len() - 1] {
            assert!(c.suffix.starts_with("~~~~"), "{:?}", c.suffix);
        }
        assert!(chunks[1].prefix == "~~~~text\n");
    }

    #[test]
    fn an_unclosed_fence_is_closed_in_the_last_part() {
        let chunks = chunk_markdown_for("```sh\nls\n", 3_800, 20_000, webhook_body_len);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].text, "```sh\nls\n```");
    }

    #[test]
    fn paragraph_boundaries_are_preferred_over_line_boundaries() {
        let para = "word ".repeat(40).trim_end().to_owned() + "\n";
        let input = format!("{p}{p}\n{p}{p}{p}", p = para);
        // Room for ~3.5 lines: the break should come at the blank line after 2 lines.
        let chunks = chunk_markdown_for(&input, 720, 20_000, webhook_body_len);
        assert!(chunks.len() >= 2);
        assert_eq!(&input[chunks[0].source.clone()], format!("{para}{para}\n"));
    }

    #[test]
    fn a_long_line_is_split_at_a_space() {
        let input = "alpha beta gamma delta ".repeat(200);
        let chunks = chunk_markdown_for(&input, 300, 20_000, webhook_body_len);
        assert_tiles(&input, &chunks);
        for c in &chunks[..chunks.len() - 1] {
            assert!(
                input[c.source.clone()].ends_with(' '),
                "{:?}",
                &input[c.source.clone()]
            );
        }
    }

    #[test]
    fn numbering_width_is_counted_when_parts_reach_two_digits() {
        let input = "abcdefghij\n".repeat(1_000);
        let chunks = chunk_markdown_for(&input, 120, 20_000, webhook_body_len);
        assert!(chunks.len() >= 100);
        for c in &chunks {
            assert!(c.text.chars().count() <= 120, "{}", c.text);
            assert!(c.text.ends_with(&format!("({}/{})", c.index, c.total)));
        }
        assert_tiles(&input, &chunks);
    }

    #[test]
    fn order_is_preserved() {
        let input: String = (0..2_000).map(|i| format!("line {i}\n")).collect();
        let chunks = chunk_markdown_for(&input, 500, 20_000, webhook_body_len);
        let mut last = -1i64;
        for c in &chunks {
            for line in input[c.source.clone()].lines() {
                let n: i64 = line.trim_start_matches("line ").parse().unwrap_or(-2);
                assert_eq!(n, last + 1);
                last = n;
            }
        }
        assert_eq!(last, 1_999);
    }

    #[test]
    fn impossible_limits_still_terminate() {
        let chunks = chunk_markdown_for("abc", 1, 1, |t| t.len());
        assert_eq!(
            chunks.iter().map(|c| c.source.clone()).collect::<Vec<_>>(),
            vec![0..1, 1..2, 2..3]
        );
    }
}
