//! Issue 11 item 7: pictures, files, voice messages, videos and rich text from DingTalk (simulator) reach the
//! agent (fake OpenCode) as text plus file parts, through the robot message-file download API; what cannot be
//! handed over is named in the chat (in the conversation's language, issue 13); quoted replies carry the quoted
//! text. All over real sockets.

mod support;

use std::path::Path;
use std::time::Duration;

use dingbridge_core::agent::OpenCodeSettings;
use dingbridge_core::config::Config;
use dingbridge_core::{AgentSpec, Credentials, Engine, EngineOptions};
use dingtalk_sim::message_files::DEFAULT_PNG;
use dingtalk_sim::opencode::{FakeOpenCode, FakeOpenCodeConfig, FakePrompt};
use dingtalk_sim::{
    InjectContent, InjectMessage, RichItem, Sim, SimFileBody, one_to_one_conversation_id,
};
use support::*;

const LONG: Duration = Duration::from_secs(30);

struct Setup {
    sim: Sim,
    opencode: FakeOpenCode,
    engine: Engine,
    dir: tempfile::TempDir,
}

async fn setup_with(change: impl FnOnce(&mut Config)) -> Setup {
    let sim = start_sim(sim_config()).await;
    let opencode = FakeOpenCode::start(FakeOpenCodeConfig::default())
        .await
        .expect("fake OpenCode starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = engine_config(&sim);
    change(&mut config);
    let engine = Engine::start(EngineOptions {
        mode: "test".into(),
        config,
        data_dir: dir.path().to_path_buf(),
        credentials: Some(Credentials {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
        }),
        agent: AgentSpec::OpenCode {
            settings: OpenCodeSettings::default().with_base_url(opencode.base_url()),
            password: None,
        },
    })
    .await
    .expect("engine starts");
    Setup {
        sim,
        opencode,
        engine,
        dir,
    }
}

async fn setup() -> Setup {
    setup_with(|_| {}).await
}

impl Setup {
    /// Sends `content` from a 1:1 chat and returns the prompt OpenCode received for it.
    async fn prompt_for(&self, message: InjectMessage) -> FakePrompt {
        let before = self.opencode.prompts().len();
        self.sim.inject(message);
        assert!(
            eventually(LONG, || self.opencode.prompts().len() > before).await,
            "the message never reached OpenCode"
        );
        self.opencode.prompts()[before].clone()
    }

    fn chat_texts(&self, conversation: &str) -> Vec<String> {
        self.sim
            .received(conversation)
            .into_iter()
            .map(|m| m.text)
            .collect()
    }

    async fn wait_for_chat(&self, conversation: &str, needle: &str) -> bool {
        eventually(LONG, || {
            self.chat_texts(conversation)
                .iter()
                .any(|t| t.contains(needle))
        })
        .await
    }

    fn attachments_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("attachments")
    }

    async fn stop(self) {
        self.engine.shutdown().await;
    }
}

fn from(user: &str) -> InjectMessage {
    InjectMessage::text_1to1(user, "Li Lei", "")
}

/// The local path a `file://` URL points at.
fn path_of(url: &str) -> &Path {
    Path::new(url.strip_prefix("file://").expect("a file URL"))
}

#[tokio::test]
async fn a_picture_reaches_opencode_as_an_image_file_part() {
    let s = setup().await;
    let prompt = s
        .prompt_for(from("pic").with_content(InjectContent::Picture))
        .await;
    assert!(prompt.text.contains("[picture 1]"), "{}", prompt.text);
    assert_eq!(prompt.files.len(), 1);
    let file = &prompt.files[0];
    assert_eq!(file.mime, "image/png");
    assert_eq!(file.filename.as_deref(), Some("picture-1.png"));
    assert_eq!(file.content.as_deref(), Some(DEFAULT_PNG.as_slice()));
    assert!(
        path_of(&file.url).starts_with(s.attachments_dir()),
        "{}",
        file.url
    );
    s.stop().await;
}

#[tokio::test]
async fn a_file_reaches_opencode_with_its_name_type_and_private_permissions() {
    let s = setup().await;
    let pdf = b"%PDF-1.4\nquarterly numbers\n".to_vec();
    let prompt = s
        .prompt_for(
            from("doc")
                .with_content(InjectContent::File {
                    file_name: "Q3 report.pdf".into(),
                })
                .with_file_body(SimFileBody::Bytes(pdf.clone())),
        )
        .await;
    assert!(
        prompt.text.contains("[file 1: Q3 report.pdf]"),
        "{}",
        prompt.text
    );
    let file = &prompt.files[0];
    assert_eq!(
        (file.mime.as_str(), file.filename.as_deref()),
        ("application/pdf", Some("Q3 report.pdf"))
    );
    assert_eq!(file.content.as_deref(), Some(pdf.as_slice()));
    // The agent is also told where the file is, to open it with its tools.
    assert!(
        prompt.text.contains(&format!(
            "- Q3 report.pdf (application/pdf): {}",
            path_of(&file.url).display()
        )),
        "{}",
        prompt.text
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path_of(&file.url))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    s.stop().await;
}

#[tokio::test]
async fn a_file_the_model_cannot_read_is_listed_with_its_path_instead_of_sent_as_a_file_part() {
    let s = setup().await;
    let prompt = s
        .prompt_for(
            from("zip")
                .with_content(InjectContent::File {
                    file_name: "logs.zip".into(),
                })
                .with_file_body(SimFileBody::Bytes(b"PK\x03\x04zipped".to_vec())),
        )
        .await;
    assert!(prompt.files.is_empty(), "{:?}", prompt.files);
    let stored = s
        .attachments_dir()
        .join(dingbridge_core::dingtalk::message_files::path_safe(
            &one_to_one_conversation_id("zip"),
        ));
    let saved: Vec<_> = std::fs::read_dir(&stored)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(saved.len(), 1);
    assert_eq!(std::fs::read(&saved[0]).unwrap(), b"PK\x03\x04zipped");
    assert!(
        prompt.text.contains(&format!(
            "- logs.zip (application/zip): {}",
            saved[0].display()
        )),
        "{}",
        prompt.text
    );
    s.stop().await;
}

#[tokio::test]
async fn a_voice_message_reaches_opencode_as_its_transcript_and_the_recording() {
    let s = setup().await;
    let prompt = s
        .prompt_for(from("voice").with_content(InjectContent::Audio {
            recognition: "帮我重启测试环境".into(),
            duration_ms: 4_000,
        }))
        .await;
    assert!(
        prompt
            .text
            .contains("[voice message, 4 s, file 1] transcript: 帮我重启测试环境"),
        "{}",
        prompt.text
    );
    assert_eq!(prompt.files.len(), 1);
    assert_eq!(prompt.files[0].mime, "audio/amr");
    assert!(
        prompt.files[0]
            .content
            .as_ref()
            .is_some_and(|c| c.starts_with(b"#!AMR"))
    );
    s.stop().await;
}

#[tokio::test]
async fn a_video_reaches_opencode_as_a_video_file_part() {
    let s = setup().await;
    let prompt = s
        .prompt_for(from("video").with_content(InjectContent::Video {
            duration_ms: 12_500,
            video_type: "mp4".into(),
        }))
        .await;
    assert!(prompt.text.contains("[video, file 1]"), "{}", prompt.text);
    assert_eq!(prompt.files.len(), 1);
    assert_eq!(prompt.files[0].mime, "video/mp4");
    assert_eq!(prompt.files[0].filename.as_deref(), Some("video-1.mp4"));
    assert!(prompt.files[0].content.is_some());
    s.stop().await;
}

#[tokio::test]
async fn rich_text_reaches_opencode_as_its_text_in_order_and_its_pictures() {
    let s = setup().await;
    let prompt = s
        .prompt_for(from("rich").with_content(InjectContent::RichText(vec![
            RichItem::Text("the login page ".into()),
            RichItem::Picture,
            RichItem::Text("looks like this after".into()),
            RichItem::Picture,
            RichItem::Text(" the deploy".into()),
        ])))
        .await;
    assert!(
        prompt
            .text
            .contains("the login page [picture 1] looks like this after [picture 2] the deploy"),
        "{}",
        prompt.text
    );
    let names: Vec<_> = prompt
        .files
        .iter()
        .map(|f| (f.mime.as_str(), f.filename.as_deref().unwrap_or_default()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("image/png", "picture-1.png"),
            ("image/png", "picture-2.png")
        ]
    );
    assert!(prompt.files.iter().all(|f| f.content.is_some()));
    s.stop().await;
}

#[tokio::test]
async fn an_oversize_file_gets_a_clear_answer_and_the_text_still_reaches_the_agent() {
    let s = setup_with(|config| config.bridge.attachment_max_mb = 1).await;
    let chat = one_to_one_conversation_id("big");
    let prompt = s
        .prompt_for(
            from("big")
                .with_content(InjectContent::File {
                    file_name: "core.dump".into(),
                })
                .with_file_body(SimFileBody::Size(3 * 1024 * 1024 + 1)),
        )
        .await;
    assert!(
        prompt.text.ends_with("[file 1: core.dump]"),
        "{}",
        prompt.text
    );
    assert!(prompt.files.is_empty());
    assert!(
        s.wait_for_chat(
            &chat,
            "The file core.dump (3.1 MB) is larger than the 1 MB limit"
        )
        .await,
        "{:?}",
        s.chat_texts(&chat)
    );
    // Nothing of the refused file is left on disk.
    let conversation_dir = s
        .attachments_dir()
        .join(dingbridge_core::dingtalk::message_files::path_safe(&chat));
    let left = std::fs::read_dir(&conversation_dir)
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(left, 0);
    s.stop().await;
}

#[tokio::test]
async fn an_oversize_file_note_is_written_in_the_chat_language() {
    // The product default (`[bridge] language` unset = zh-CN); the other tests here read English notes.
    let s = setup_with(|config| {
        config.bridge.language = Config::default().bridge.language;
        config.bridge.attachment_max_mb = 1;
    })
    .await;
    let chat = one_to_one_conversation_id("big-zh");
    let prompt = s
        .prompt_for(
            from("big-zh")
                .with_content(InjectContent::File {
                    file_name: "core.dump".into(),
                })
                .with_file_body(SimFileBody::Size(3 * 1024 * 1024 + 1)),
        )
        .await;
    // What the agent reads stays English: it is for the model, not the user.
    assert!(
        prompt.text.ends_with("[file 1: core.dump]"),
        "{}",
        prompt.text
    );
    assert!(
        s.wait_for_chat(&chat, "⚠️ 文件 core.dump（3.1 MB）超过了 1 MB 的上限")
            .await,
        "{:?}",
        s.chat_texts(&chat)
    );
    assert!(
        s.chat_texts(&chat)
            .iter()
            .all(|t| !t.contains("larger than")),
        "{:?}",
        s.chat_texts(&chat)
    );
    s.stop().await;
}

#[tokio::test]
async fn a_refused_download_code_is_named_in_the_chat_and_the_text_still_reaches_the_agent() {
    let s = setup().await;
    let chat = one_to_one_conversation_id("refused");
    let prompt = s
        .prompt_for(
            from("refused")
                .with_content(InjectContent::Picture)
                .with_file_body(SimFileBody::Refused),
        )
        .await;
    assert!(prompt.files.is_empty());
    assert!(prompt.text.contains("[picture 1]"), "{}", prompt.text);
    assert!(
        s.wait_for_chat(
            &chat,
            "picture 1 could not be downloaded from DingTalk (DingTalk refused the download code"
        )
        .await,
        "{:?}",
        s.chat_texts(&chat)
    );
    s.stop().await;
}

#[tokio::test]
async fn an_expired_download_link_is_reported_in_the_chat() {
    let s = setup().await;
    s.sim.set_file_link_ttl(Duration::ZERO);
    let chat = one_to_one_conversation_id("late");
    let prompt = s
        .prompt_for(from("late").with_content(InjectContent::File {
            file_name: "notes.txt".into(),
        }))
        .await;
    assert!(prompt.files.is_empty());
    assert!(
        s.wait_for_chat(&chat, "the download link answered HTTP 403")
            .await,
        "{:?}",
        s.chat_texts(&chat)
    );
    s.stop().await;
}

#[tokio::test]
async fn a_quoted_reply_carries_the_quoted_text_before_the_message() {
    let s = setup().await;
    let prompt = s
        .prompt_for(
            InjectMessage::text_1to1("quote", "Han Meimei", "why is that?")
                .quoting("the build is red since noon", "Wang"),
        )
        .await;
    assert!(
        prompt
            .text
            .ends_with("> Wang wrote:\n> the build is red since noon\n\nwhy is that?"),
        "{}",
        prompt.text
    );
    s.stop().await;
}

#[tokio::test]
async fn a_file_is_downloaded_once_even_when_the_turn_is_retried() {
    let s = setup().await;
    s.opencode.set_down(true).await.unwrap();
    let chat = one_to_one_conversation_id("retry");
    s.sim
        .inject(from("retry").with_content(InjectContent::Picture));
    assert!(s.wait_for_chat(&chat, "not reachable").await);
    s.opencode.set_down(false).await.unwrap();
    assert!(eventually(LONG, || !s.opencode.prompts().is_empty()).await);
    assert_eq!(s.opencode.prompts()[0].files.len(), 1);
    let (api_calls, fetches) = s.sim.file_download_counts();
    assert_eq!((api_calls, fetches), (1, 1));
    s.stop().await;
}

#[tokio::test]
async fn a_file_streamed_without_a_length_is_abandoned_once_it_passes_the_cap() {
    let s = setup_with(|config| config.bridge.attachment_max_mb = 1).await;
    let chat = one_to_one_conversation_id("stream");
    let prompt = s
        .prompt_for(
            from("stream")
                .with_content(InjectContent::File {
                    file_name: "trace.log".into(),
                })
                .with_file_body(SimFileBody::Chunked(4 * 1024 * 1024)),
        )
        .await;
    assert!(prompt.files.is_empty());
    assert!(
        s.wait_for_chat(&chat, "The file trace.log is larger than the 1 MB limit")
            .await,
        "{:?}",
        s.chat_texts(&chat)
    );
    let conversation_dir = s
        .attachments_dir()
        .join(dingbridge_core::dingtalk::message_files::path_safe(&chat));
    let left = std::fs::read_dir(&conversation_dir)
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(left, 0, "the partial download was left on disk");
    s.stop().await;
}

#[tokio::test]
async fn a_throttled_download_is_retried_and_the_picture_still_reaches_the_agent() {
    let s = setup().await;
    s.sim
        .faults()
        .throttle_next("/v1.0/robot/messageFiles/download", 2);
    let prompt = s
        .prompt_for(from("busy").with_content(InjectContent::Picture))
        .await;
    assert_eq!(prompt.files.len(), 1);
    assert_eq!(
        prompt.files[0].content.as_deref(),
        Some(DEFAULT_PNG.as_slice())
    );
    s.stop().await;
}

#[tokio::test]
async fn an_exhausted_api_quota_is_named_in_the_chat() {
    let s = setup().await;
    s.sim.faults().quota_exhausted_next(1);
    let chat = one_to_one_conversation_id("quota");
    let prompt = s
        .prompt_for(from("quota").with_content(InjectContent::Picture))
        .await;
    assert!(prompt.files.is_empty());
    assert!(
        s.wait_for_chat(&chat, "monthly DingTalk API quota is used up")
            .await,
        "{:?}",
        s.chat_texts(&chat)
    );
    s.stop().await;
}
