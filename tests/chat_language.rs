//! Issue 13 acceptance (chat replies in the user's language) against `dingtalk-sim`: the bridge's own replies
//! are Chinese by default, `/lang` switches one conversation and nothing else, and the choice is kept in the
//! data dir across an engine restart. Issue 11 item 8: `/help` says that groups need an @mention.

mod support;

use std::time::Duration;

use dingbridge_core::i18n::Lang;
use dingtalk_sim::{InjectMessage, Sim, one_to_one_conversation_id};
use support::*;

const LONG: Duration = Duration::from_secs(30);

/// `engine_config` with the product default (`[bridge] language` unset = zh-CN).
fn default_language_config(sim: &Sim) -> dingbridge_core::config::Config {
    let mut config = engine_config(sim);
    config.bridge.language = dingbridge_core::config::Config::default().bridge.language;
    config
}

/// Sends `text` from `staff` in their 1:1 chat and returns the bridge's answer (the chat's next message).
/// One command at a time: commands run concurrently, so the next is sent only after this one was answered.
async fn ask(sim: &Sim, staff: &str, text: &str) -> String {
    let conversation = one_to_one_conversation_id(staff);
    let before = sim.received(&conversation).len();
    sim.inject(InjectMessage::text_1to1(staff, staff, text));
    assert!(
        sim.wait_until(LONG, |_| sim.received(&conversation).len() > before)
            .await,
        "no answer to {text:?} from {staff}"
    );
    sim.received(&conversation)
        .get(before)
        .map(|m| m.text.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn help_is_chinese_by_default_and_english_after_lang_en() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let engine = start_engine(default_language_config(&sim), dir.path(), agent.clone()).await;

    let help = ask(&sim, "zhang", "/help").await;
    assert!(help.contains("DingBridge 命令"), "{help}");
    assert!(help.contains("`/lang`"), "/help lists /lang: {help}");
    assert!(
        help.contains("只有 @ 机器人的消息"),
        "/help states the group @ rule: {help}"
    );

    let switched = ask(&sim, "zhang", "/lang en").await;
    assert!(switched.contains("English"), "{switched}");

    let help = ask(&sim, "zhang", "/help").await;
    assert!(help.contains("DingBridge commands"), "{help}");
    assert!(help.contains("@mention the bot"), "{help}");
    assert_eq!(agent.count(), 0, "commands never reach the agent");
    engine.shutdown().await;
}

#[tokio::test]
async fn lang_switches_only_the_conversation_it_was_sent_in() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let engine = start_engine(default_language_config(&sim), dir.path(), agent.clone()).await;

    ask(&sim, "alice", "/lang en").await;
    let other = ask(&sim, "bob", "/status").await;
    assert!(
        other.contains("DingBridge 状态") && other.contains("钉钉：已连接"),
        "bob keeps the default: {other}"
    );
    let own = ask(&sim, "alice", "/status").await;
    assert!(own.contains("DingBridge status"), "{own}");
    let unknown = ask(&sim, "bob", "/frobnicate").await;
    assert!(unknown.starts_with("未知命令 `/frobnicate`"), "{unknown}");
    engine.shutdown().await;
}

#[tokio::test]
async fn a_conversation_language_survives_an_engine_restart_on_the_same_data_dir() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let engine = start_engine(default_language_config(&sim), dir.path(), agent.clone()).await;
    ask(&sim, "wang", "/lang en").await;
    engine.shutdown().await;

    let restarted = start_engine(default_language_config(&sim), dir.path(), agent.clone()).await;
    let help = ask(&sim, "wang", "/help").await;
    assert!(help.contains("DingBridge commands"), "{help}");
    let other = ask(&sim, "li", "/help").await;
    assert!(other.contains("DingBridge 命令"), "{other}");
    restarted.shutdown().await;
}

#[tokio::test]
async fn lang_without_an_argument_shows_the_current_language_and_an_unknown_one_is_refused() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let engine = start_engine(default_language_config(&sim), dir.path(), agent.clone()).await;

    let current = ask(&sim, "zhao", "/lang").await;
    assert!(
        current.contains("`zh-CN`") && current.contains("`en`"),
        "{current}"
    );
    let refused = ask(&sim, "zhao", "/lang fr").await;
    assert!(refused.starts_with("未知语言 `fr`"), "{refused}");
    let still = ask(&sim, "zhao", "/help").await;
    assert!(
        still.contains("DingBridge 命令"),
        "a refused /lang changes nothing: {still}"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn the_bridge_language_setting_is_the_default_of_every_conversation() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let mut config = engine_config(&sim);
    config.bridge.language = Lang::En;
    let engine = start_engine(config, dir.path(), agent.clone()).await;

    let help = ask(&sim, "sun", "/help").await;
    assert!(help.contains("DingBridge commands"), "{help}");
    let switched = ask(&sim, "sun", "/lang zh-CN").await;
    assert!(switched.contains("简体中文"), "{switched}");
    let help = ask(&sim, "sun", "/help").await;
    assert!(help.contains("DingBridge 命令"), "{help}");
    engine.shutdown().await;
}

#[tokio::test]
async fn a_refusal_is_written_in_the_bridge_language() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let mut config = default_language_config(&sim);
    config.access.allowed_staff_ids = vec!["someone-else".into()];
    let engine = start_engine(config, dir.path(), agent.clone()).await;

    let refusal = ask(&sim, "stranger", "hello").await;
    assert!(
        refusal.starts_with("抱歉") && refusal.contains("`stranger`"),
        "{refusal}"
    );
    assert_eq!(agent.count(), 0);
    engine.shutdown().await;
}
