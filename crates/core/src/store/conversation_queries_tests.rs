//! The dashboard's conversation queries over a real SQLite store filled through the store's own write path.

use super::*;
use crate::dingtalk::{BotMessage, ConversationKind, MessageContent};

fn message(
    n: usize,
    conversation: &str,
    kind: ConversationKind,
    title: Option<&str>,
    nick: &str,
) -> BotMessage {
    BotMessage {
        msg_id: format!("msg-{conversation}-{n}"),
        msgtype: "text".into(),
        conversation_id: conversation.into(),
        conversation_kind: kind,
        conversation_title: title.map(str::to_owned),
        sender_nick: nick.into(),
        sender_staff_id: Some(format!("staff-{nick}")),
        sender_id: None,
        robot_code: None,
        session_webhook: Some("http://127.0.0.1:9/webhook".into()),
        session_webhook_expires_ms: Some(i64::MAX / 2),
        create_at_ms: 0,
        quoted: None,
        content: MessageContent::Text {
            text: format!("message {n} in {conversation}"),
        },
    }
}

async fn store_with(conversations: usize) -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for n in 0..conversations {
        let (kind, title) = if n % 2 == 0 {
            (ConversationKind::Group, Some(format!("Group {n:05}")))
        } else {
            (ConversationKind::Single, None)
        };
        let item = InboxItem::new(
            message(
                0,
                &format!("cid{n:05}"),
                kind,
                title.as_deref(),
                &format!("Person {n:05}"),
            ),
            1_000_000 + n as i64,
        );
        store.insert_inbound(item).await.unwrap();
    }
    (store, dir)
}

fn reply(conversation: &str, source: &str, text: &str) -> NewOutboxItem {
    NewOutboxItem {
        source_msg_id: Some(source.into()),
        part: 1,
        parts: 1,
        message: OutboundMessage {
            body: MessageBody::Text {
                content: text.into(),
            },
            route: Route {
                conversation_id: conversation.into(),
                kind: ConversationKind::Single,
                staff_id: None,
                sender_nick: "x".into(),
                session_webhook: None,
                webhook_expires_ms: None,
            },
        },
    }
}

fn page(search: &str, filter: ConversationFilter, offset: usize, limit: usize) -> ListQuery {
    ListQuery {
        search: search.into(),
        filter,
        offset,
        limit,
        rate_limited: Vec::new(),
    }
}

#[tokio::test]
async fn the_list_pages_newest_first_and_counts_every_conversation() {
    let (store, _dir) = store_with(30).await;
    let first = store
        .conversation_page(page("", ConversationFilter::All, 0, 10))
        .await
        .unwrap();
    assert_eq!(first.total, 30);
    assert_eq!(first.items.len(), 10);
    assert_eq!(first.items[0].summary.conversation_id, "cid00029");
    let last = store
        .conversation_page(page("", ConversationFilter::All, 25, 10))
        .await
        .unwrap();
    assert_eq!(last.items.len(), 5);
    assert_eq!(last.items[4].summary.conversation_id, "cid00000");
}

#[tokio::test]
async fn search_finds_a_title_a_person_and_a_conversation_id() {
    let (store, _dir) = store_with(30).await;
    let by_title = store
        .conversation_page(page("group 00012", ConversationFilter::All, 0, 50))
        .await
        .unwrap();
    assert_eq!(by_title.total, 1);
    assert_eq!(by_title.items[0].summary.conversation_id, "cid00012");
    let by_person = store
        .conversation_page(page("Person 00017", ConversationFilter::All, 0, 50))
        .await
        .unwrap();
    assert_eq!(by_person.total, 1);
    assert_eq!(by_person.items[0].person.as_deref(), Some("Person 00017"));
    let by_id = store
        .conversation_page(page("cid0002", ConversationFilter::All, 0, 50))
        .await
        .unwrap();
    assert_eq!(by_id.total, 10);
    let wildcard = store
        .conversation_page(page("%", ConversationFilter::All, 0, 50))
        .await
        .unwrap();
    assert_eq!(wildcard.total, 0, "a % in the search is a literal %");
}

#[tokio::test]
async fn filters_select_groups_waiting_and_failed_conversations() {
    let (store, _dir) = store_with(10).await;
    let groups = store
        .conversation_page(page("", ConversationFilter::Group, 0, 50))
        .await
        .unwrap();
    assert_eq!(groups.total, 5);
    assert!(groups.items.iter().all(|row| row.summary.kind == "group"));
    // Every message is still `queued`: all ten wait for the agent.
    let waiting = store
        .conversation_page(page("", ConversationFilter::WaitingAgent, 0, 50))
        .await
        .unwrap();
    assert_eq!(waiting.total, 10);
    assert_eq!(waiting.items[0].waiting_agent, 1);

    let created = store
        .enqueue_outbox(
            vec![reply("cid00003", "msg-cid00003-0", "the answer")],
            Some("msg-cid00003-0".into()),
        )
        .await
        .unwrap();
    let waiting_send = store
        .conversation_page(page("", ConversationFilter::WaitingSend, 0, 50))
        .await
        .unwrap();
    assert_eq!(waiting_send.total, 1);
    assert_eq!(waiting_send.items[0].summary.conversation_id, "cid00003");
    store
        .set_outbox_state(
            created[0].id,
            OutboxState::Failed,
            Some("[SEND_REJECTED] 400013".into()),
            None,
        )
        .await
        .unwrap();
    let failed = store
        .conversation_page(page("", ConversationFilter::Failed, 0, 50))
        .await
        .unwrap();
    assert_eq!(failed.total, 1);
    assert_eq!(failed.items[0].failed, 1);
    let limited = store
        .conversation_page(ListQuery {
            rate_limited: vec!["cid00007".into()],
            ..page("", ConversationFilter::RateLimited, 0, 50)
        })
        .await
        .unwrap();
    assert_eq!(limited.total, 1);
    assert!(limited.items[0].rate_limited);
}

#[tokio::test]
async fn a_conversation_shows_its_messages_in_order_with_their_delivery() {
    let (store, _dir) = store_with(1).await;
    let created = store
        .enqueue_outbox(
            vec![reply("cid00000", "msg-cid00000-0", "the answer")],
            Some("msg-cid00000-0".into()),
        )
        .await
        .unwrap();
    store
        .set_outbox_state(
            created[0].id,
            OutboxState::Sent,
            None,
            Some("webhook".into()),
        )
        .await
        .unwrap();
    let page = store.conversation_messages("cid00000", 50).await.unwrap();
    assert!(!page.has_more);
    let shown: Vec<_> = page
        .messages
        .iter()
        .map(|m| (m.direction, m.state.as_str(), m.channel.as_deref()))
        .collect();
    assert_eq!(
        shown,
        vec![("in", "done", None), ("out", "sent", Some("webhook"))]
    );
    assert_eq!(page.messages[0].text, "message 0 in cid00000");
    assert_eq!(page.messages[1].reply_to.as_deref(), Some("msg-cid00000-0"));
}

#[tokio::test]
async fn only_a_failed_send_can_be_put_back_in_the_outbox() {
    let (store, _dir) = store_with(1).await;
    let created = store
        .enqueue_outbox(
            vec![reply("cid00000", "msg-cid00000-0", "the answer")],
            None,
        )
        .await
        .unwrap();
    let id = created[0].id;
    assert!(
        store
            .requeue_failed_send("cid00000", id)
            .await
            .unwrap()
            .is_none(),
        "pending"
    );
    store
        .set_outbox_state(id, OutboxState::Failed, Some("boom".into()), None)
        .await
        .unwrap();
    assert!(
        store
            .requeue_failed_send("other", id)
            .await
            .unwrap()
            .is_none(),
        "another conversation's"
    );
    let item = store
        .requeue_failed_send("cid00000", id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.message.body.content(), "the answer");
    assert!(
        store
            .requeue_failed_send("cid00000", id)
            .await
            .unwrap()
            .is_none(),
        "already back"
    );
    let messages = store
        .conversation_messages("cid00000", 10)
        .await
        .unwrap()
        .messages;
    assert_eq!(messages[1].state, "pending");
    assert_eq!(messages[1].error, None);
}

/// The query plans of the list, its filters and the view: no full scan of the message tables.
#[tokio::test]
async fn list_and_view_queries_use_indexes() {
    let (store, _dir) = store_with(3).await;
    let plans = store
        .read(|conn| {
            let mut plans = Vec::new();
            for filter in [
                ConversationFilter::All,
                ConversationFilter::WaitingAgent,
                ConversationFilter::WaitingSend,
                ConversationFilter::Failed,
            ] {
                let sql = format!(
                    "EXPLAIN QUERY PLAN SELECT c.conversation_id FROM conversations c {}
                     ORDER BY c.last_message_at_ms DESC, c.conversation_id DESC LIMIT 50 OFFSET 0",
                    conversation_list::where_clause(filter)
                );
                let mut stmt = conn.prepare(&sql)?;
                let details = stmt
                    .query_map(rusqlite::params!["", "[]"], |row| row.get::<_, String>(3))?
                    .collect::<Result<Vec<_>, _>>()?;
                plans.push((filter, details.join(" | ")));
            }
            let mut stmt = conn.prepare(
                "EXPLAIN QUERY PLAN SELECT msg_id FROM inbox WHERE conversation_id = ?1 ORDER BY seq DESC LIMIT 10",
            )?;
            let details = stmt
                .query_map(["cid00000"], |row| row.get::<_, String>(3))?
                .collect::<Result<Vec<_>, _>>()?;
            plans.push((ConversationFilter::All, details.join(" | ")));
            Ok(plans)
        })
        .await
        .unwrap();
    for (filter, plan) in &plans {
        assert!(
            !plan.contains("SCAN i") && !plan.contains("SCAN o") && !plan.contains("SCAN inbox"),
            "{filter:?}: {plan}"
        );
        assert!(
            !plan.contains("TEMP B-TREE FOR ORDER BY"),
            "{filter:?} sorts instead of reading in order: {plan}"
        );
    }
    assert!(
        plans[0].1.contains("conversations_recent"),
        "{}",
        plans[0].1
    );
    assert!(plans[1].1.contains("inbox_waiting"), "{}", plans[1].1);
    assert!(plans[2].1.contains("outbox_waiting"), "{}", plans[2].1);
    assert!(
        plans[4].1.contains("inbox_by_conversation"),
        "{}",
        plans[4].1
    );
}
