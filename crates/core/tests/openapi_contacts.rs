//! find_user / find_group against the simulator's seeded org and the learned directory.

mod openapi_common;

use dingbridge_core::dingtalk::BotMessage;
use dingbridge_core::dingtalk::contacts::{Directory, LookupStatus, MatchKind};
use dingbridge_core::store::Store;
use openapi_common::*;
use serde_json::json;

fn group_message(conversation_id: &str, title: &str, user_id: &str, nick: &str) -> BotMessage {
    BotMessage::from_value(&json!({
        "msgId": format!("msg-{conversation_id}-{user_id}"),
        "msgtype": "text",
        "text": {"content": "hi"},
        "conversationId": conversation_id,
        "conversationType": "2",
        "conversationTitle": title,
        "senderNick": nick,
        "senderStaffId": user_id,
        "senderId": format!("$:LWCP_v1:${user_id}"),
        "createAt": 1_700_000_000_000i64,
    }))
    .expect("valid callback")
}

#[tokio::test]
async fn find_user_with_a_unique_name_returns_ids_title_and_department() {
    let h = harness().await;
    let lookup = h.contacts.find_user("李四").await.expect("lookup");
    assert_eq!(lookup.status, LookupStatus::Unique);
    assert_eq!(lookup.matched_by, Some(MatchKind::Exact));
    let user = lookup.found.expect("user");
    assert_eq!(user.user_id, "lisi");
    assert!(!user.union_id.is_empty());
    assert_eq!(user.title.as_deref(), Some("测试工程师"));
    assert_eq!(user.department.as_deref(), Some("研发部"));
}

#[tokio::test]
async fn find_user_with_a_shared_name_returns_all_candidates() {
    let h = harness().await;
    let lookup = h.contacts.find_user("张伟").await.expect("lookup");
    assert_eq!(lookup.status, LookupStatus::Ambiguous);
    assert!(lookup.found.is_none());
    let mut ids: Vec<_> = lookup
        .candidates
        .iter()
        .map(|u| u.user_id.as_str())
        .collect();
    ids.sort();
    assert_eq!(ids, ["zhangwei01", "zhangwei02"]);
}

#[tokio::test]
async fn find_user_with_an_unknown_name_is_not_found() {
    let h = harness().await;
    let lookup = h.contacts.find_user("王五").await.expect("lookup");
    assert_eq!(lookup.status, LookupStatus::NotFound);
    let err = h
        .contacts
        .resolve_user_id("王五")
        .await
        .expect_err("missing");
    assert_eq!(err.tool_code(), "NOT_FOUND");
}

#[tokio::test]
async fn find_user_matches_an_english_name_by_prefix() {
    let h = harness().await;
    let lookup = h.contacts.find_user("alice").await.expect("lookup");
    assert_eq!(lookup.status, LookupStatus::Unique);
    assert_eq!(lookup.matched_by, Some(MatchKind::Prefix));
    assert_eq!(lookup.found.expect("user").user_id, "alice");
}

#[tokio::test]
async fn resolving_an_ambiguous_name_is_invalid_params_with_candidates() {
    let h = harness().await;
    let err = h
        .contacts
        .resolve_user_id("张伟")
        .await
        .expect_err("ambiguous");
    assert_eq!(err.tool_code(), "INVALID_PARAMS");
    assert_eq!(
        err.details()["candidates"].as_array().map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn resolving_a_unique_name_gives_the_user_id_a_send_needs() {
    let h = harness().await;
    assert_eq!(
        h.contacts.resolve_user_id("Bob Smith").await.expect("id"),
        "bob"
    );
}

#[tokio::test]
async fn find_group_uses_the_directory_learned_from_messages() {
    let h = harness().await;
    let directory = h.contacts.directory();
    for (cid, title, user, nick) in [
        ("cidA+/1==", "项目A群", "lisi", "李四"),
        ("cidA+/1==", "项目A群", "alice", "Alice Chen"),
        ("cidB+/2==", "项目B群", "lisi", "李四"),
        ("cidOps==", "运维值班群", "bob", "Bob Smith"),
    ] {
        directory
            .observe(&group_message(cid, title, user, nick))
            .await
            .expect("observe");
    }

    let unique = h.contacts.find_group("运维值班群").await.expect("lookup");
    assert_eq!(unique.status, LookupStatus::Unique);
    let group = unique.found.expect("group");
    assert_eq!(group.open_conversation_id, "cidOps==");
    assert_eq!(group.members_seen.len(), 1);

    let ambiguous = h.contacts.find_group("项目").await.expect("lookup");
    assert_eq!(ambiguous.status, LookupStatus::Ambiguous);
    assert_eq!(ambiguous.candidates.len(), 2);

    let missing = h.contacts.find_group("财务群").await.expect("lookup");
    assert_eq!(missing.status, LookupStatus::NotFound);

    assert_eq!(
        h.contacts
            .resolve_open_conversation_id("项目A群")
            .await
            .expect("cid"),
        "cidA+/1=="
    );
    let err = h
        .contacts
        .resolve_open_conversation_id("项目")
        .await
        .expect_err("ambiguous");
    assert_eq!(err.tool_code(), "INVALID_PARAMS");
}

#[tokio::test]
async fn one_to_one_conversations_are_not_groups() {
    let h = harness().await;
    let mut msg = group_message("cid1to1", "ignored", "lisi", "李四");
    msg.conversation_kind = dingbridge_core::dingtalk::ConversationKind::Single;
    h.contacts.directory().observe(&msg).await.expect("observe");
    assert!(
        h.contacts
            .directory()
            .groups()
            .await
            .expect("groups")
            .is_empty()
    );
}

#[tokio::test]
async fn the_directory_survives_reopening_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = Store::open(dir.path()).expect("open");
        Directory::new(store.clone())
            .observe(&group_message("cidKeep==", "留存群", "lisi", "李四"))
            .await
            .expect("observe");
        store.close().await.expect("close");
    }
    let store = Store::open(dir.path()).expect("reopen");
    let groups = Directory::new(store).groups().await.expect("groups");
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].title, "留存群");
}
