mod common;

use std::time::Duration;

use common::*;
use dingtalk_sim::{InjectContent, InjectMessage, RichItem};

#[tokio::test]
async fn group_text_starts_with_a_space_after_the_mention() {
    let sim = start(fast_config()).await;
    let mut c = Client::connect(&sim).await;
    sim.inject(InjectMessage::text_group(
        "cidGroup1==",
        "Team",
        "s1",
        "Bob",
        "run tests",
    ));
    let p = payload(&c.next_callback(WAIT).await.unwrap());
    assert_eq!(p["text"]["content"], " run tests");
    assert_eq!(p["conversationType"], "2");
    assert_eq!(p["conversationTitle"], "Team");
    assert_eq!(p["conversationId"], "cidGroup1==");
    assert_eq!(p["isInAtList"], true);
    assert_eq!(p["atUsers"][0]["dingtalkId"], p["chatbotUserId"]);
}

#[tokio::test]
async fn group_message_without_mention_is_not_delivered() {
    let sim = start(fast_config()).await;
    let mut c = Client::connect(&sim).await;
    sim.inject(InjectMessage::text_group("cidG", "T", "s1", "Bob", "chatter").with_at_bot(false));
    assert!(c.next_callback(Duration::from_millis(300)).await.is_none());
    assert_eq!(sim.stats().group_messages_without_at, 1);
}

#[tokio::test]
async fn quota_exhausted_message_has_error_and_no_content() {
    let sim = start(fast_config()).await;
    let mut c = Client::connect(&sim).await;
    sim.inject(InjectMessage::text_1to1("u", "U", "x").with_content(InjectContent::QuotaExhausted));
    let p = payload(&c.next_callback(WAIT).await.unwrap());
    assert_eq!(p["msgtype"], "text");
    assert!(p.get("text").is_none() && p.get("content").is_none());
    assert_eq!(p["errorCode"], "20001");
    assert!(
        p["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("受调用量超量影响")
    );
}

#[tokio::test]
async fn media_and_unknown_payloads_follow_the_protocol() {
    let sim = start(fast_config()).await;
    let mut c = Client::connect(&sim).await;
    let base = InjectMessage::text_1to1("u", "U", "");
    for content in [
        InjectContent::RichText(vec![RichItem::Text("see".into()), RichItem::Picture]),
        InjectContent::Picture,
        InjectContent::Audio {
            recognition: "你好".into(),
            duration_ms: 1500,
        },
        InjectContent::File {
            file_name: "a.pdf".into(),
        },
        InjectContent::Unknown,
    ] {
        sim.inject(base.clone().with_content(content));
    }
    let mut got = Vec::new();
    for _ in 0..5 {
        let f = c.next_callback(WAIT).await.unwrap();
        c.ack(&f).await;
        got.push(payload(&f));
    }
    assert_eq!(got[0]["msgtype"], "richText");
    assert_eq!(got[0]["content"]["richText"][0]["text"], "see");
    assert_eq!(got[0]["content"]["richText"][1]["type"], "picture");
    assert!(got[0]["content"]["richText"][1]["downloadCode"].is_string());
    assert_eq!(got[1]["msgtype"], "picture");
    assert!(got[1]["content"]["pictureDownloadCode"].is_string());
    assert_eq!(got[2]["msgtype"], "audio");
    assert_eq!(got[2]["content"]["recognition"], "你好");
    assert_eq!(got[2]["content"]["duration"], 1500);
    assert_eq!(got[3]["msgtype"], "file");
    assert_eq!(got[3]["content"]["fileName"], "a.pdf");
    assert!(got[3]["content"]["spaceId"].is_string() && got[3]["content"]["fileId"].is_string());
    assert_eq!(got[4]["msgtype"], "unknownMsgType");
    assert!(got[4]["content"]["unknownMsgType"].is_string());
}
