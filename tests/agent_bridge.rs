//! Issue 3 acceptance (agent bridge) against `dingtalk-sim`: chunked replies, pacing, throttling, channel
//! fallback, the allow-list and chat commands. OpenCode-specific behaviour is in `tests/opencode_bridge.rs`.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use dingbridge_core::agent::{AgentBackend, AgentError, AgentReply, AgentRequest, UpdateSender};
use dingtalk_sim::{InjectMessage, ReceivedMessage, one_to_one_conversation_id};
use support::*;

const LONG: Duration = Duration::from_secs(30);

/// Answers every message with a fixed text.
struct FixedAgent(String);

#[async_trait]
impl AgentBackend for FixedAgent {
    fn name(&self) -> &str {
        "fixed"
    }
    async fn respond(
        &self,
        _request: AgentRequest,
        _updates: UpdateSender,
    ) -> Result<AgentReply, AgentError> {
        Ok(AgentReply {
            text: self.0.clone(),
        })
    }
}

/// ~60 KB of markdown: headings, CJK prose, quotes and two long code fences.
fn long_reply() -> String {
    let mut text = String::from("# 测试报告 Test report\n\n");
    for section in 0..14 {
        text.push_str(&format!("## 第 {section} 部分\n\n"));
        for line in 0..32 {
            text.push_str(&format!(
                "失败的用例 {section}-{line}：\"断言失败\" expected `ok` got `err` — 详见日志。\n"
            ));
        }
        text.push('\n');
        if section % 3 == 1 {
            text.push_str("```rust\n");
            for line in 0..120 {
                text.push_str(&format!(
                    "    assert_eq!(compute({line}), \"值{line}\"); // 中文注释\n"
                ));
            }
            text.push_str("```\n\n");
        }
    }
    text
}

fn fences_balanced(text: &str) -> bool {
    text.lines()
        .filter(|l| l.trim_start().starts_with("```"))
        .count()
        % 2
        == 0
}

fn wire_size(message: &ReceivedMessage) -> usize {
    serde_json::to_string(&message.body).unwrap().len()
}

#[tokio::test]
async fn a_60kb_reply_arrives_as_ordered_numbered_chunks_within_the_byte_limits() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let reply = long_reply();
    assert!(reply.len() > 60_000, "reply is {} bytes", reply.len());
    let engine = dingbridge_core::Engine::start(dingbridge_core::EngineOptions {
        mode: "test".into(),
        config: engine_config(&sim),
        data_dir: dir.path().to_path_buf(),
        credentials: Some(dingbridge_core::Credentials {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
        }),
        agent: Arc::new(FixedAgent(reply.clone())).into(),
    })
    .await
    .unwrap();
    let conversation = one_to_one_conversation_id("reader");
    sim.inject(InjectMessage::text_1to1(
        "reader",
        "Reader",
        "give me the full report",
    ));
    assert!(engine.outbox().wait_idle(LONG).await);
    assert!(
        sim.wait_until(LONG, |_| sim.received(&conversation).len() > 1)
            .await
    );
    // Every part says how many there are ("(1/N)"): wait for all N instead of a fixed pause, which a loaded
    // machine overran (parts still in flight looked like numbering errors).
    let first = sim.received(&conversation)[0].text.clone();
    let announced: usize = first
        .rsplit_once("(1/")
        .and_then(|(_, rest)| rest.split_once(')'))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("part 1 is not numbered: {first}"));
    assert!(
        sim.wait_until(LONG, |_| sim.received(&conversation).len() >= announced)
            .await
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let parts = sim.received(&conversation);
    let total = parts.len();
    assert_eq!(total, announced, "more parts than announced");
    let mut rebuilt = String::new();
    for (index, part) in parts.iter().enumerate() {
        assert!(
            wire_size(part) <= 20_000,
            "part {} is {} bytes on the wire",
            index + 1,
            wire_size(part)
        );
        assert!(
            part.text.contains(&format!("({}/{total})", index + 1)),
            "part {} is not numbered in order",
            index + 1
        );
        assert!(
            fences_balanced(&part.text),
            "part {} breaks a code fence",
            index + 1
        );
        assert!(
            !part.text.contains('\u{FFFD}'),
            "part {} has a broken character",
            index + 1
        );
        assert!(
            part.text.chars().count() <= 3_900,
            "part {} is not readable-sized",
            index + 1
        );
        rebuilt.push_str(&part.text);
    }
    for line in reply
        .lines()
        .filter(|l| l.contains("失败的用例") || l.contains("assert_eq!"))
    {
        assert!(rebuilt.contains(line), "line lost or altered: {line}");
    }
    engine.shutdown().await;
}

fn paced_config(sim: &dingtalk_sim::Sim, per_window: u32) -> dingbridge_core::config::Config {
    let mut config = engine_config(sim);
    config.pacing.per_conversation = per_window;
    config.pacing.conversation_window_ms = 1_000;
    config.pacing.app_per_second = 100;
    // A 1 s window makes a 25 ms slot: the shipped 4 % would be 1 ms of jitter tolerance on a loaded machine.
    config.pacing.safety_margin_percent = 10;
    config
}

#[tokio::test]
async fn a_backlog_of_200_replies_is_paced_at_the_configured_rate_with_no_throttle_errors() {
    // DingTalk's 20/min per conversation, compressed to 40 per second for the test.
    let sim = start_sim(
        sim_config()
            .with_webhook_rate_per_min(40)
            .with_rate_window(Duration::from_secs(1)),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let engine = start_engine(paced_config(&sim, 40), dir.path(), agent.clone()).await;
    let conversation = one_to_one_conversation_id("busy");
    let started = Instant::now();
    for n in 0..200 {
        sim.inject(InjectMessage::text_1to1(
            "busy",
            "Busy",
            format!("task {n}"),
        ));
    }
    assert!(
        sim.wait_until(Duration::from_secs(60), |_| sim
            .received(&conversation)
            .len()
            >= 200)
            .await
    );
    let elapsed = started.elapsed();
    let stats = sim.stats();
    assert_eq!(
        stats.webhook_rejected, 0,
        "the simulator throttled a paced send"
    );
    // 200 messages at 40 per second cannot take less than ~4.5 s.
    assert!(
        elapsed >= Duration::from_millis(4_500),
        "not paced: {elapsed:?}"
    );
    let texts: Vec<String> = sim
        .received(&conversation)
        .into_iter()
        .map(|m| m.text)
        .collect();
    let expected: Vec<String> = (0..200).map(|n| format!("re: task {n}")).collect();
    assert_eq!(texts, expected, "replies reordered or lost");
    engine.shutdown().await;
}

#[tokio::test]
async fn throttling_injected_by_the_simulator_is_retried_not_lost() {
    // The simulator allows 5 per second; our pacer is told 1000, so DingTalk-side throttling happens.
    let sim = start_sim(
        sim_config()
            .with_webhook_rate_per_min(5)
            .with_rate_window(Duration::from_secs(1)),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let mut config = paced_config(&sim, 1_000);
    config.bridge.retry_delay_ms = 200;
    let engine = start_engine(config, dir.path(), agent.clone()).await;
    let conversation = one_to_one_conversation_id("flood");
    for n in 0..20 {
        sim.inject(InjectMessage::text_1to1(
            "flood",
            "Flood",
            format!("burst {n}"),
        ));
    }
    assert!(
        sim.wait_until(Duration::from_secs(40), |_| sim
            .received(&conversation)
            .len()
            >= 20)
            .await
    );
    assert!(
        sim.stats().webhook_rejected > 0,
        "the simulator never throttled; the test proves nothing"
    );
    assert!(engine.status().outbox.throttled > 0);
    let texts: Vec<String> = sim
        .received(&conversation)
        .into_iter()
        .map(|m| m.text)
        .collect();
    let expected: Vec<String> = (0..20).map(|n| format!("re: burst {n}")).collect();
    assert_eq!(texts, expected);
    engine.shutdown().await;
}

#[tokio::test]
async fn a_sender_not_on_the_allow_list_never_reaches_the_agent_and_is_told_politely() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let mut config = engine_config(&sim);
    config.access.allowed_staff_ids = vec!["boss".into()];
    config.access.allowed_groups = vec!["cidAllowedGroup==".into()];
    let engine = start_engine(config, dir.path(), agent.clone()).await;

    sim.inject(InjectMessage::text_1to1(
        "stranger",
        "Stranger",
        "delete the prod database",
    ));
    sim.inject(InjectMessage::text_group(
        "cidOtherGroup==",
        "Other",
        "boss",
        "Boss",
        "hello from another group",
    ));
    sim.inject(InjectMessage::text_group(
        "cidAllowedGroup==",
        "Allowed",
        "stranger",
        "Stranger",
        "sneaky",
    ));
    sim.inject(InjectMessage::text_1to1("boss", "Boss", "allowed question"));
    assert!(eventually(LONG, || agent.count() == 1).await);
    let stranger = one_to_one_conversation_id("stranger");
    assert!(
        sim.wait_until(LONG, |_| !sim.received(&stranger).is_empty())
            .await
    );
    assert!(
        sim.received(&stranger)[0]
            .text
            .contains("not on this bot's allow-list")
    );
    assert!(
        sim.wait_until(LONG, |_| !sim.received("cidOtherGroup==").is_empty())
            .await
    );
    assert!(
        sim.received("cidOtherGroup==")[0]
            .text
            .contains("allowed_groups")
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(agent.count(), 1, "a refused message reached the agent");
    assert_eq!(agent.requests()[0].text, "allowed question");
    engine.shutdown().await;
}

#[tokio::test]
async fn with_no_allow_list_everyone_is_refused_with_instructions() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let mut config = engine_config(&sim);
    config.access.allowed_staff_ids.clear();
    let engine = start_engine(config, dir.path(), agent.clone()).await;
    sim.inject(InjectMessage::text_1to1("owner", "Owner", "hi"));
    let conversation = one_to_one_conversation_id("owner");
    assert!(
        sim.wait_until(LONG, |_| !sim.received(&conversation).is_empty())
            .await
    );
    let text = &sim.received(&conversation)[0].text;
    assert!(
        text.contains("allowed_staff_ids") && text.contains("owner"),
        "{text}"
    );
    assert_eq!(agent.count(), 0);
    engine.shutdown().await;
}

#[tokio::test]
async fn help_status_and_unknown_commands_are_answered_without_the_agent() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let engine = start_engine(engine_config(&sim), dir.path(), agent.clone()).await;
    let conversation = one_to_one_conversation_id("cmd");
    sim.inject(InjectMessage::text_1to1("cmd", "Cmd", "/help"));
    assert!(
        sim.wait_until(LONG, |_| sim.received(&conversation).len() == 1)
            .await
    );
    sim.inject(InjectMessage::text_1to1("cmd", "Cmd", "/status"));
    assert!(
        sim.wait_until(LONG, |_| sim.received(&conversation).len() == 2)
            .await
    );
    sim.inject(InjectMessage::text_1to1("cmd", "Cmd", "/frobnicate"));
    assert!(
        sim.wait_until(LONG, |_| sim.received(&conversation).len() == 3)
            .await
    );
    let texts: Vec<String> = sim
        .received(&conversation)
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert!(texts[0].contains("/new") && texts[0].contains("/stop"));
    assert!(texts[1].contains("DingBridge status") && texts[1].contains("Connected"));
    assert!(texts[2].contains("Unknown command `/frobnicate`"));
    assert_eq!(agent.count(), 0);
    engine.shutdown().await;
}

#[tokio::test]
async fn an_expired_webhook_sends_through_openapi_for_direct_chats_and_groups() {
    // Webhooks expire at once: every reply must take the OpenAPI path.
    let sim = start_sim(sim_config().with_webhook_ttl(Duration::from_millis(1))).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let engine = start_engine(engine_config(&sim), dir.path(), agent.clone()).await;
    sim.inject(InjectMessage::text_1to1("solo", "Solo", "direct question"));
    sim.inject(InjectMessage::text_group(
        "cidOpenApiGroup==",
        "Ops",
        "solo",
        "Solo",
        "group question",
    ));
    let direct = one_to_one_conversation_id("solo");
    assert!(
        sim.wait_until(LONG, |_| !sim.received(&direct).is_empty()
            && !sim.received("cidOpenApiGroup==").is_empty())
            .await
    );
    let direct_reply = &sim.received(&direct)[0];
    assert_eq!(direct_reply.channel, "oto");
    assert!(direct_reply.text.contains("re: direct question"));
    let group_reply = &sim.received("cidOpenApiGroup==")[0];
    assert_eq!(group_reply.channel, "group");
    assert!(group_reply.text.contains("re: group question"));
    engine.shutdown().await;
}

/// Streams its answer as growing snapshots, `steps` of them, `pause` apart.
struct StreamingAgent {
    text: String,
    steps: usize,
    pause: Duration,
}

#[async_trait]
impl AgentBackend for StreamingAgent {
    fn name(&self) -> &str {
        "streaming"
    }
    async fn respond(
        &self,
        _request: AgentRequest,
        updates: UpdateSender,
    ) -> Result<AgentReply, AgentError> {
        let chars: Vec<char> = self.text.chars().collect();
        for step in 1..=self.steps {
            let upto = chars.len() * step / self.steps;
            let _ = updates.send(dingbridge_core::agent::AgentUpdate::Text(
                chars[..upto].iter().collect(),
            ));
            tokio::time::sleep(self.pause).await;
        }
        Ok(AgentReply {
            text: self.text.clone(),
        })
    }
}

async fn card_engine(
    sim: &dingtalk_sim::Sim,
    dir: &std::path::Path,
    agent: StreamingAgent,
) -> dingbridge_core::Engine {
    let mut config = engine_config(sim);
    config.cards.template_id = "dingbridge-ai-card.schema".into();
    config.cards.min_interval_ms = 200;
    dingbridge_core::Engine::start(dingbridge_core::EngineOptions {
        mode: "test".into(),
        config,
        data_dir: dir.to_path_buf(),
        credentials: Some(dingbridge_core::Credentials {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
        }),
        agent: Arc::new(agent).into(),
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn an_ai_card_streams_throttled_updates_and_is_finalized_with_the_answer() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let answer =
        "All 214 tests passed.\n\n- unit: 180\n- integration: 34\n\n构建成功 ✅".to_owned();
    let engine = card_engine(
        &sim,
        dir.path(),
        StreamingAgent {
            text: answer.clone(),
            steps: 20,
            pause: Duration::from_millis(30),
        },
    )
    .await;
    sim.inject(InjectMessage::text_group(
        "cidCardGroup==",
        "Cards",
        "dev",
        "Dev",
        "run the tests",
    ));
    assert!(
        sim.wait_until(LONG, |_| sim
            .cards("cidCardGroup==")
            .iter()
            .any(|c| c.status == dingtalk_sim::CardStatus::Finished))
            .await
    );
    let card = sim.cards("cidCardGroup==").remove(0);
    assert_eq!(card.content.get("content"), Some(&answer));
    // 20 snapshots over ~600 ms at ≥200 ms spacing: a handful of PUTs, not 20.
    assert!(
        card.updates.len() <= 6,
        "{} updates: not throttled",
        card.updates.len()
    );
    assert!(card.updates.last().unwrap().is_finalize);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let markdown: Vec<_> = sim
        .received("cidCardGroup==")
        .into_iter()
        .filter(|m| m.channel != "card")
        .collect();
    assert!(
        markdown.is_empty(),
        "the answer was sent twice: {markdown:?}"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn an_oversized_answer_continues_below_the_card_as_markdown() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let answer: String = (0..200)
        .map(|n| format!("第 {n} 行：详细的分析结果 detail line\n"))
        .collect();
    assert!(answer.len() > 3_000);
    let engine = card_engine(
        &sim,
        dir.path(),
        StreamingAgent {
            text: answer.clone(),
            steps: 5,
            pause: Duration::from_millis(20),
        },
    )
    .await;
    sim.inject(InjectMessage::text_group(
        "cidBigCard==",
        "Big",
        "dev",
        "Dev",
        "analyse",
    ));
    assert!(
        sim.wait_until(LONG, |_| sim
            .cards("cidBigCard==")
            .iter()
            .any(|c| c.status == dingtalk_sim::CardStatus::Finished))
            .await
    );
    assert!(
        sim.wait_until(LONG, |_| sim
            .received("cidBigCard==")
            .iter()
            .any(|m| m.channel != "card"))
            .await
    );
    let card = sim.cards("cidBigCard==").remove(0);
    let shown = card.content.get("content").cloned().unwrap_or_default();
    assert!(shown.len() <= 3_000 && shown.contains("continued below"));
    let rest: String = sim
        .received("cidBigCard==")
        .into_iter()
        .filter(|m| m.channel != "card")
        .map(|m| m.text)
        .collect();
    let shown_head = shown.split("\n\n*(continued below)*").next().unwrap();
    assert!(answer.starts_with(shown_head));
    assert!(
        rest.contains("第 199 行"),
        "the end of the answer is missing"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn card_failures_degrade_to_markdown() {
    let sim = start_sim(sim_config()).await;
    sim.faults().fail_cards(1_000);
    let dir = tempfile::tempdir().unwrap();
    let engine = card_engine(
        &sim,
        dir.path(),
        StreamingAgent {
            text: "plain answer".into(),
            steps: 3,
            pause: Duration::from_millis(10),
        },
    )
    .await;
    sim.inject(InjectMessage::text_group(
        "cidNoCards==",
        "NoCards",
        "dev",
        "Dev",
        "one",
    ));
    assert!(
        sim.wait_until(LONG, |_| sim
            .received("cidNoCards==")
            .iter()
            .any(|m| m.channel == "webhook"))
            .await
    );
    let reply = sim
        .received("cidNoCards==")
        .into_iter()
        .find(|m| m.channel == "webhook")
        .unwrap();
    assert!(reply.text.contains("plain answer"));
    // During the cool-down the next answer does not even try a card.
    sim.inject(InjectMessage::text_group(
        "cidNoCards==",
        "NoCards",
        "dev",
        "Dev",
        "two",
    ));
    assert!(
        sim.wait_until(LONG, |_| sim
            .received("cidNoCards==")
            .iter()
            .filter(|m| m.channel == "webhook")
            .count()
            == 2)
            .await
    );
    assert!(sim.cards("cidNoCards==").len() <= 1);
    engine.shutdown().await;
}

#[tokio::test]
async fn a_stranger_who_keeps_writing_is_refused_once_not_every_time() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let mut config = engine_config(&sim);
    config.access.allowed_staff_ids = vec!["boss".into()];
    let engine = start_engine(config, dir.path(), agent.clone()).await;
    let stranger = one_to_one_conversation_id("pest");
    for n in 0..5 {
        sim.inject(InjectMessage::text_1to1(
            "pest",
            "Pest",
            format!("let me in {n}"),
        ));
    }
    assert!(sim.wait_until(LONG, |s| s.acks_received >= 5).await);
    assert!(
        sim.wait_until(LONG, |_| !sim.received(&stranger).is_empty())
            .await
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sim.received(&stranger).len(), 1, "the refusal was repeated");
    assert_eq!(agent.count(), 0);
    assert!(engine.outbox().wait_idle(LONG).await);
    engine.shutdown().await;
}

#[tokio::test]
async fn monthly_usage_is_counted_and_warnings_are_published_at_80_and_100_percent() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let mut config = engine_config(&sim);
    config.quota.stream_budget = 5;
    let engine = start_engine(config, dir.path(), agent.clone()).await;
    let mut events = engine.subscribe();
    for n in 0..5 {
        sim.inject(InjectMessage::text_1to1(
            "counter",
            "Counter",
            format!("message {n}"),
        ));
    }
    assert!(eventually(LONG, || agent.count() == 5).await);
    let mut warnings = Vec::new();
    while let Ok(Ok(event)) = tokio::time::timeout(Duration::from_millis(300), events.recv()).await
    {
        if let dingbridge_core::Event::QuotaWarning {
            kind,
            percent,
            used,
            budget,
            ..
        } = event
        {
            warnings.push((kind, percent, used, budget));
        }
    }
    assert_eq!(
        warnings,
        vec![
            ("stream".to_string(), 80, 4, 5),
            ("stream".to_string(), 100, 5, 5)
        ]
    );
    let quota = engine.status().quota;
    assert_eq!((quota.stream_used, quota.stream_budget), (5, 5));
    assert!(quota.exhausted);
    engine.shutdown().await;
}
