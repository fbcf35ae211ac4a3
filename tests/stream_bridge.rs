//! Issue 2 acceptance: the Stream client and the durable inbound pipeline against `dingtalk-sim` over real
//! sockets and a real SQLite inbox.

mod support;

use std::time::Duration;

use dingtalk_sim::{InjectContent, InjectMessage, one_to_one_conversation_id};
use serde_json::json;
use support::*;

const LONG: Duration = Duration::from_secs(30);

fn user(n: usize) -> String {
    format!("staff{n:03}")
}

#[tokio::test]
async fn every_callback_is_acked_and_the_ping_opaque_is_echoed() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let engine = start_engine(engine_config(&sim), dir.path(), agent.clone()).await;

    for n in 0..20 {
        sim.inject(InjectMessage::text_1to1(
            user(n % 4),
            "Tester",
            format!("hello {n}"),
        ));
    }
    assert!(
        sim.wait_until(LONG, |s| s.acks_received >= 20
            && s.pongs_ok >= 3
            && s.pending_unacked == 0)
            .await,
        "not all callbacks ACKed / pings answered: {:?}",
        sim.stats()
    );
    let stats = sim.stats();
    assert_eq!(
        stats.pongs_bad, 0,
        "a ping was answered with the wrong opaque"
    );
    assert_eq!(
        stats.acks_unknown, 0,
        "an ACK named an unknown frame or went to the wrong socket"
    );
    assert_eq!(
        stats.acks_non_200 + stats.acks_bad_data + stats.acks_missing_content_type,
        0
    );
    assert!(eventually(LONG, || agent.count() == 20).await);
    engine.shutdown().await;
}

#[tokio::test]
async fn a_message_redelivered_before_its_ack_reaches_the_agent_once() {
    // A 1 ms window makes the simulator redeliver before any ACK can arrive.
    let sim = start_sim(sim_config().with_redelivery_after(Duration::from_millis(1))).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let engine = start_engine(engine_config(&sim), dir.path(), agent.clone()).await;

    let ids: Vec<String> = (0..10)
        .map(|n| {
            sim.inject(InjectMessage::text_1to1(
                user(n),
                "Dup",
                format!("once {n}"),
            ))
        })
        .collect();
    assert!(
        sim.wait_until(LONG, |s| s.pending_unacked == 0 && s.acks_received >= 10)
            .await
    );
    assert!(
        sim.stats().redeliveries > 0,
        "the simulator never redelivered: {:?}",
        sim.stats()
    );
    assert!(eventually(LONG, || agent.count() >= 10).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = agent.times_seen();
    for id in &ids {
        assert_eq!(
            seen.get(id),
            Some(&1),
            "{id} reached the agent {:?} times",
            seen.get(id)
        );
    }
    assert!(engine.status().counters.duplicates > 0);
    engine.shutdown().await;
}

#[tokio::test]
async fn a_duplicate_pushed_after_ack_reaches_the_agent_once_also_across_a_restart() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let engine = start_engine(engine_config(&sim), dir.path(), agent.clone()).await;
    let msg_id = sim.inject(InjectMessage::text_1to1(user(1), "Dup", "only once please"));
    assert!(eventually(LONG, || agent.count() == 1).await);
    assert!(sim.inject_duplicate(&msg_id));
    assert!(
        sim.wait_until(LONG, |s| s.acks_received >= 2 && s.pending_unacked == 0)
            .await
    );

    engine.shutdown().await;
    let restarted = start_engine(engine_config(&sim), dir.path(), agent.clone()).await;
    let acks_before = sim.stats().acks_received;
    assert!(sim.inject_duplicate(&msg_id));
    assert!(
        sim.wait_until(LONG, |s| s.acks_received > acks_before
            && s.pending_unacked == 0)
            .await
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(agent.times_seen().get(&msg_id), Some(&1));
    assert_eq!(restarted.status().counters.duplicates, 1);
    restarted.shutdown().await;
}

#[tokio::test]
async fn queued_messages_survive_a_restart_and_reach_the_agent_exactly_once() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let conversation = one_to_one_conversation_id(&user(7));
    // A slow agent: most of the backlog is still queued when we stop.
    let agent = RecordingAgent::with_delay(Duration::from_millis(300));
    let engine = start_engine(engine_config(&sim), dir.path(), agent.clone()).await;
    for n in 0..12 {
        sim.inject(InjectMessage::text_1to1(user(7), "Q", format!("job {n}")));
    }
    assert!(sim.wait_until(LONG, |s| s.acks_received >= 12).await);
    engine.shutdown().await;
    let before_restart = agent.count();
    assert!(
        before_restart < 12,
        "everything finished before the restart; the test proves nothing"
    );

    let restarted = start_engine(engine_config(&sim), dir.path(), agent.clone()).await;
    assert!(
        eventually(LONG, || agent.count() >= 12).await,
        "agent saw {}",
        agent.count()
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let expected: Vec<String> = (0..12).map(|n| format!("job {n}")).collect();
    assert_eq!(
        agent.texts_of(&conversation),
        expected,
        "lost, duplicated or reordered"
    );
    assert!(
        sim.wait_until(LONG, |_| sim.received(&conversation).len() == 12)
            .await
    );
    restarted.shutdown().await;
}

#[tokio::test]
async fn disconnect_mid_burst_loses_nothing_because_the_replacement_opens_first() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let engine = start_engine(engine_config(&sim), dir.path(), agent.clone()).await;
    assert!(sim.wait_until(LONG, |s| s.live_connections == 1).await);

    let mut ids = Vec::new();
    for n in 0..300 {
        ids.push(sim.inject(InjectMessage::text_1to1(
            user(n % 10),
            "Burst",
            format!("m{n}"),
        )));
        if n == 150 {
            sim.faults().send_disconnect();
        }
        if n % 25 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    assert!(
        eventually(LONG, || agent.count() >= 300).await,
        "agent saw {}",
        agent.count()
    );
    let seen = agent.times_seen();
    assert!(
        ids.iter().all(|id| seen.get(id) == Some(&1)),
        "a message was lost or duplicated"
    );
    let stats = sim.stats();
    assert!(
        stats.disconnects_sent >= 1 && stats.connections_opened >= 2,
        "{stats:?}"
    );
    assert!(engine.status().connection.reconnects >= 1);
    engine.shutdown().await;
}

#[tokio::test]
async fn dropped_sockets_are_recovered_by_reconnecting() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let engine = start_engine(engine_config(&sim), dir.path(), agent.clone()).await;
    assert!(sim.wait_until(LONG, |s| s.live_connections == 1).await);
    for round in 0..3 {
        sim.faults().drop_all_sockets();
        sim.inject(InjectMessage::text_1to1(
            user(round),
            "Drop",
            format!("after drop {round}"),
        ));
        assert!(
            eventually(LONG, || agent.count() == round + 1).await,
            "round {round}"
        );
    }
    assert!(sim.stats().connections_opened >= 4);
    assert!(engine.status().connection.reconnects >= 3);
    engine.shutdown().await;
}

#[tokio::test]
async fn gateway_503_and_500_are_retried_with_backoff_until_it_recovers() {
    let sim = start_sim(sim_config()).await;
    sim.faults().set_gateway_failures(503, 3);
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let engine = start_engine(engine_config(&sim), dir.path(), agent.clone()).await;
    sim.inject(InjectMessage::text_1to1(user(1), "Gw", "after the outage"));
    assert!(eventually(LONG, || agent.count() == 1).await);
    assert_eq!(sim.stats().gateway_rejections, 3);
    let status = engine.status();
    assert_eq!(
        status.connection.state,
        dingbridge_core::ConnectionState::Connected
    );
    assert!(
        status
            .connection
            .last_error
            .unwrap_or_default()
            .contains("503")
    );

    sim.faults().set_gateway_failures(500, 2);
    sim.faults().drop_all_sockets();
    sim.inject(InjectMessage::text_1to1(
        user(2),
        "Gw",
        "after the second outage",
    ));
    assert!(eventually(LONG, || agent.count() == 2).await);
    assert_eq!(sim.stats().gateway_rejections, 5);
    engine.shutdown().await;
}

#[tokio::test]
async fn a_silent_zombie_socket_is_detected_by_the_watchdog_and_replaced() {
    // No server pings: only the client's own watchdog can notice the silence.
    let sim = start_sim(sim_config().with_ping_interval(None)).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let engine = start_engine(engine_config(&sim), dir.path(), agent.clone()).await;
    assert!(sim.wait_until(LONG, |s| s.connections_opened == 1).await);
    sim.faults().zombify_sockets();
    sim.inject(InjectMessage::text_1to1(
        user(3),
        "Zombie",
        "are you there?",
    ));
    assert!(
        eventually(LONG, || agent.count() == 1).await,
        "message stuck on the zombie socket"
    );
    assert!(sim.stats().connections_opened >= 2);
    engine.shutdown().await;
}

#[tokio::test]
async fn per_conversation_order_is_preserved() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::with_delay(Duration::from_millis(2));
    let engine = start_engine(engine_config(&sim), dir.path(), agent.clone()).await;
    for n in 0..40 {
        for c in 0..5 {
            sim.inject(InjectMessage::text_1to1(user(c), "Order", format!("{n}")));
        }
    }
    assert!(eventually(LONG, || agent.count() == 200).await);
    let expected: Vec<String> = (0..40).map(|n| n.to_string()).collect();
    for c in 0..5 {
        assert_eq!(
            agent.texts_of(&one_to_one_conversation_id(&user(c))),
            expected,
            "conversation {c}"
        );
    }
    engine.shutdown().await;
}

#[tokio::test]
async fn one_slow_conversation_does_not_stall_the_others() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let slow = one_to_one_conversation_id("slowpoke");
    agent.set_delay(&slow, Duration::from_secs(3));
    let engine = start_engine(engine_config(&sim), dir.path(), agent.clone()).await;
    for n in 0..3 {
        sim.inject(InjectMessage::text_1to1(
            "slowpoke",
            "Slow",
            format!("slow {n}"),
        ));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    for n in 0..20 {
        sim.inject(InjectMessage::text_1to1(
            user(n),
            "Fast",
            format!("fast {n}"),
        ));
    }
    assert!(
        eventually(Duration::from_secs(2), || agent.count() >= 21).await,
        "fast conversations waited behind the slow one"
    );
    assert_eq!(
        agent.texts_of(&slow),
        vec!["slow 0".to_string()],
        "the slow conversation ran out of order"
    );
    let status = engine.status();
    assert_eq!(
        status
            .queues
            .conversations
            .first()
            .map(|q| q.conversation_id.clone()),
        Some(slow.clone())
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn malformed_frames_unknown_topics_and_unknown_msgtypes_are_survived() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let engine = start_engine(engine_config(&sim), dir.path(), agent.clone()).await;
    assert!(sim.wait_until(LONG, |s| s.live_connections == 1).await);

    let callback = |id: &str, topic: &str, data: serde_json::Value| {
        json!({"specVersion":"1.0","type":"CALLBACK","headers":{"topic":topic,"messageId":id,"contentType":"application/json"},"data":data}).to_string()
    };
    sim.inject_raw_frame("{this is not json".into());
    sim.inject_raw_frame("[1,2,3]".into());
    sim.inject_raw_frame(callback(
        "bad-data",
        "/v1.0/im/bot/messages/get",
        json!({"not": "a string"}),
    ));
    sim.inject_raw_frame(callback(
        "bad-inner",
        "/v1.0/im/bot/messages/get",
        json!("{truncated"),
    ));
    sim.inject_raw_frame(callback(
        "unknown-topic",
        "/v1.0/some/other/topic",
        json!("{}"),
    ));
    let hologram = json!({"msgtype":"hologram","msgId":"msgHolo","conversationId":"cidHolo","conversationType":"1","senderNick":"X"});
    sim.inject_raw_frame(callback(
        "unknown-type",
        "/v1.0/im/bot/messages/get",
        json!(hologram.to_string()),
    ));
    sim.inject_raw_frame(
        json!({"specVersion":"1.0","type":"MYSTERY","headers":{"messageId":"mystery"},"data":"{}"})
            .to_string(),
    );
    sim.inject(InjectMessage::text_1to1(user(1), "Ok", "still working?"));

    assert!(
        eventually(LONG, || agent.count() == 1).await,
        "a valid message was lost after bad frames"
    );
    assert_eq!(agent.requests()[0].text, "still working?");
    assert!(
        eventually(LONG, || engine.status().counters.rejected >= 7).await,
        "{:?}",
        engine.status().counters
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn unsupported_and_quota_exhausted_messages_are_acked_but_kept_from_the_agent() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let engine = start_engine(engine_config(&sim), dir.path(), agent.clone()).await;
    sim.inject(
        InjectMessage::text_1to1(user(1), "Q", "x").with_content(InjectContent::QuotaExhausted),
    );
    sim.inject(InjectMessage::text_1to1(user(2), "U", "x").with_content(InjectContent::Unknown));
    sim.inject(
        InjectMessage::text_1to1(user(3), "A", "x").with_content(InjectContent::Audio {
            recognition: "部署到测试环境".into(),
            duration_ms: 2_000,
        }),
    );
    assert!(
        sim.wait_until(LONG, |s| s.acks_received >= 3 && s.pending_unacked == 0)
            .await
    );
    assert!(eventually(LONG, || agent.count() == 1).await);
    // The voice message reaches the agent as DingTalk's transcript plus the recording.
    let request = &agent.requests()[0];
    assert!(
        request.text.ends_with("transcript: 部署到测试环境"),
        "{}",
        request.text
    );
    assert_eq!(request.attachments.len(), 1);
    assert!(engine.status().quota.exhausted);
    // The unsupported message is answered in its chat instead of being dropped silently.
    let unsupported = one_to_one_conversation_id(&user(2));
    assert!(
        sim.wait_until(LONG, |_| sim
            .received(&unsupported)
            .iter()
            .any(|m| m.text.contains("cannot be passed to the agent")))
            .await
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn the_agent_reply_arrives_in_the_same_conversation() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let engine = start_engine(engine_config(&sim), dir.path(), agent.clone()).await;
    sim.inject(InjectMessage::text_group(
        "cidTeamGroup==",
        "Team",
        user(1),
        "Li",
        "status?",
    ));
    assert!(
        sim.wait_until(LONG, |_| !sim.received("cidTeamGroup==").is_empty())
            .await
    );
    let reply = &sim.received("cidTeamGroup==")[0];
    assert_eq!(reply.msgtype, "markdown");
    assert!(reply.text.contains("re: status?"));
    assert!(eventually(LONG, || engine.status().counters.replies_sent == 1).await);
    assert_eq!(engine.status().conversations[0].title, "Team");
    engine.shutdown().await;
}
