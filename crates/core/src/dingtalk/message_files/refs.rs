//! Which files a bot message refers to, in the order its agent text numbers them, and how a stored file is
//! named and typed (extension and MIME type from the user's file name, DingTalk's `videoType`, or the bytes).

use crate::dingtalk::{BotMessage, MessageContent, RichSegment};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachmentKind {
    Picture,
    File,
    Voice,
    Video,
}

impl AttachmentKind {
    /// Stable lowercase name (logs, default file names).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Picture => "picture",
            Self::File => "file",
            Self::Voice => "voice",
            Self::Video => "video",
        }
    }
}

/// One file of a message, to be exchanged for its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentRef {
    /// 1-based, as the agent text names it (`[picture 2]`, `file 1`).
    pub index: usize,
    pub kind: AttachmentKind,
    /// Empty when the payload carried none (nothing to download).
    pub download_code: String,
    /// The user's file name (files only).
    pub file_name: Option<String>,
    /// DingTalk's `videoType` (videos only).
    pub video_type: Option<String>,
}

/// The files of `message`, numbered from 1.
pub fn attachments(message: &BotMessage) -> Vec<AttachmentRef> {
    let one =
        |kind: AttachmentKind, code: &str, file_name: Option<&str>, video_type: Option<&str>| {
            vec![AttachmentRef {
                index: 1,
                kind,
                download_code: code.to_owned(),
                file_name: file_name.map(str::to_owned),
                video_type: video_type.filter(|t| !t.is_empty()).map(str::to_owned),
            }]
        };
    match &message.content {
        MessageContent::Picture { download_code } => {
            one(AttachmentKind::Picture, download_code.as_str(), None, None)
        }
        MessageContent::File {
            download_code,
            file_name,
        } => one(
            AttachmentKind::File,
            download_code.as_str(),
            Some(file_name.as_str()),
            None,
        ),
        MessageContent::Audio { download_code, .. } => {
            one(AttachmentKind::Voice, download_code.as_str(), None, None)
        }
        MessageContent::Video {
            download_code,
            video_type,
            ..
        } => one(
            AttachmentKind::Video,
            download_code.as_str(),
            None,
            Some(video_type.as_str()),
        ),
        MessageContent::RichText { segments, .. } => segments
            .iter()
            .filter_map(|segment| match segment {
                RichSegment::Picture { download_code } => Some(download_code),
                RichSegment::Text { .. } => None,
            })
            .enumerate()
            .map(|(i, code)| AttachmentRef {
                index: i.saturating_add(1),
                kind: AttachmentKind::Picture,
                download_code: code.clone(),
                file_name: None,
                video_type: None,
            })
            .collect(),
        MessageContent::Text { .. }
        | MessageContent::Unsupported { .. }
        | MessageContent::QuotaExhausted { .. } => Vec::new(),
    }
}

/// Known extensions → MIME types (lowercase extension). Text formats are all `text/plain`: OpenCode reads a
/// `text/plain` file part as text (its Read tool), while other `text/*` types would go to the model as
/// opaque files.
const TYPES: &[(&str, &str)] = &[
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("bmp", "image/bmp"),
    ("pdf", "application/pdf"),
    ("txt", "text/plain"),
    ("log", "text/plain"),
    ("md", "text/plain"),
    ("csv", "text/plain"),
    ("json", "text/plain"),
    ("xml", "text/plain"),
    ("yaml", "text/plain"),
    ("yml", "text/plain"),
    ("toml", "text/plain"),
    ("html", "text/plain"),
    ("rs", "text/plain"),
    ("py", "text/plain"),
    ("js", "text/plain"),
    ("ts", "text/plain"),
    ("go", "text/plain"),
    ("java", "text/plain"),
    ("sh", "text/plain"),
    ("sql", "text/plain"),
    ("diff", "text/plain"),
    ("patch", "text/plain"),
    ("zip", "application/zip"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("xls", "application/vnd.ms-excel"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("amr", "audio/amr"),
    ("mp3", "audio/mpeg"),
    ("m4a", "audio/mp4"),
    ("wav", "audio/wav"),
    ("ogg", "audio/ogg"),
    ("mp4", "video/mp4"),
    ("mov", "video/quicktime"),
];

fn mime_of_extension(ext: &str) -> Option<&'static str> {
    TYPES.iter().find(|(e, _)| *e == ext).map(|(_, m)| *m)
}

fn extension_of_mime(mime: &str) -> Option<&'static str> {
    TYPES.iter().find(|(_, m)| *m == mime).map(|(e, _)| *e)
}

/// The type the first bytes announce (magic numbers), for files whose name says nothing.
fn sniff(head: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if starts(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if starts(b"RIFF") && head.get(8..12) == Some(b"WEBP".as_slice()) {
        Some("image/webp")
    } else if starts(b"BM") && head.len() >= 14 {
        Some("image/bmp")
    } else if starts(b"%PDF-") {
        Some("application/pdf")
    } else if starts(b"#!AMR") {
        Some("audio/amr")
    } else if head.get(4..8) == Some(b"ftyp".as_slice()) {
        Some("video/mp4")
    } else {
        None
    }
}

/// The stored file's extension, MIME type and the name the agent sees.
pub fn file_type(
    attachment: &AttachmentRef,
    head: &[u8],
    served: Option<&str>,
) -> (String, String, String) {
    let lower_ext = |name: &str| {
        std::path::Path::new(name)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
    };
    let named = attachment.file_name.as_deref().and_then(lower_ext);
    let by_name = named.as_deref().and_then(mime_of_extension);
    let by_video_type = attachment
        .video_type
        .as_deref()
        .map(str::to_ascii_lowercase)
        .and_then(|t| mime_of_extension(&t));
    // The object store serves files as octet-stream; only a specific type it names is worth believing.
    let by_server = served
        .map(|s| {
            s.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|s| !s.is_empty() && s != "application/octet-stream")
        .and_then(|s| extension_of_mime(&s).and_then(mime_of_extension));
    let mime = by_name
        .or_else(|| sniff(head))
        .or(by_video_type)
        .or(by_server)
        .unwrap_or("application/octet-stream");
    let ext = named
        .filter(|e| e.chars().all(|c| c.is_ascii_alphanumeric()) && e.len() <= 8)
        .or_else(|| extension_of_mime(mime).map(str::to_owned))
        .unwrap_or_else(|| "bin".to_owned());
    let filename = match &attachment.file_name {
        // The user's name, minus control characters (it is shown to the agent in a one-line listing).
        Some(name) if !name.trim().is_empty() => {
            name.trim().chars().filter(|c| !c.is_control()).collect()
        }
        _ => format!("{}-{}.{ext}", attachment.kind.as_str(), attachment.index),
    };
    (ext, mime.to_owned(), filename)
}

/// A path component from an id: DingTalk ids are base64 (`+`, `/`, `=`), which must not make directories.
pub fn path_safe(id: &str) -> String {
    let safe: String = id
        .chars()
        .filter(|c| *c != '=')
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c if c.is_ascii_alphanumeric() || c == '-' || c == '_' => c,
            _ => '_',
        })
        .take(120)
        .collect();
    if safe.is_empty() {
        "_".to_owned()
    } else {
        safe
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: Option<&str>, kind: AttachmentKind) -> AttachmentRef {
        AttachmentRef {
            index: 2,
            kind,
            download_code: "c".into(),
            file_name: name.map(str::to_owned),
            video_type: None,
        }
    }

    #[test]
    fn a_picture_is_typed_by_its_bytes() {
        let (ext, mime, name) = file_type(
            &file(None, AttachmentKind::Picture),
            &[0xff, 0xd8, 0xff, 0xe0],
            Some("application/octet-stream"),
        );
        assert_eq!(
            (ext.as_str(), mime.as_str(), name.as_str()),
            ("jpg", "image/jpeg", "picture-2.jpg")
        );
    }

    #[test]
    fn a_file_keeps_its_name_and_is_typed_by_its_extension() {
        let (ext, mime, name) = file_type(
            &file(Some("Report.PDF"), AttachmentKind::File),
            b"whatever",
            None,
        );
        assert_eq!(
            (ext.as_str(), mime.as_str(), name.as_str()),
            ("pdf", "application/pdf", "Report.PDF")
        );
    }

    #[test]
    fn ids_become_flat_path_components() {
        assert_eq!(path_safe("cid+a/b=="), "cid-a_b");
        assert_eq!(path_safe("../.."), "_____");
    }
}
