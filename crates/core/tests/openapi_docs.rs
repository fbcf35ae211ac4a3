//! Docs tools round-trip and every error code, against the simulator.

mod openapi_common;

use dingbridge_core::dingtalk::docs::*;
use openapi_common::*;

const OP: Caller = Caller::Operator;

async fn create(h: &Harness, title: &str, content: Option<&str>) -> CreateDocResult {
    h.docs
        .create_doc(
            &OP,
            CreateDocParams {
                title: title.into(),
                content: content.map(str::to_owned),
                ..CreateDocParams::default()
            },
        )
        .await
        .expect("create")
}

async fn get(h: &Harness, id: &str, format: DocFormat) -> GetDocResult {
    h.docs
        .get_doc(
            &OP,
            GetDocParams {
                document_id: id.into(),
                format,
            },
        )
        .await
        .expect("get")
}

fn update(id: &str, content: &str, mode: UpdateMode) -> UpdateDocParams {
    UpdateDocParams {
        document_id: id.into(),
        content: content.into(),
        mode,
        ..UpdateDocParams::default()
    }
}

#[tokio::test]
async fn a_document_round_trips_through_create_get_append_overwrite_and_list() {
    let h = harness().await.with_operator("zhangwei01").await;
    let md = "# 周报\n\n本周完成：\n\n1. 登录\n2. 支付\n\n- 风险：无\n\n> 备注";
    let doc = create(&h, "周报 W47", Some(md)).await;
    assert_eq!(doc.title, "周报 W47");
    assert!(doc.url.ends_with(&doc.document_id));
    assert!(!doc.create_time.is_empty());

    let markdown = get(&h, &doc.document_id, DocFormat::Markdown).await;
    assert_eq!(markdown.content, md);
    assert_eq!(markdown.author, "张伟");
    let text = get(&h, &doc.document_id, DocFormat::Text).await;
    assert_eq!(
        text.content,
        "周报\n本周完成：\n1. 登录\n2. 支付\n- 风险：无\n备注"
    );
    let html = get(&h, &doc.document_id, DocFormat::Html).await;
    assert!(html.content.contains("<h1>周报</h1>"));
    assert!(
        html.content
            .contains("<ol>\n<li>登录</li>\n<li>支付</li>\n</ol>")
    );

    let appended = h
        .docs
        .update_doc(
            &OP,
            update(&doc.document_id, "## 下周\n\n上线", UpdateMode::Append),
        )
        .await
        .expect("append");
    assert!(appended.version > markdown.version);
    let after_append = get(&h, &doc.document_id, DocFormat::Markdown).await;
    assert_eq!(after_append.content, format!("{md}\n\n## 下周\n\n上线"));

    h.docs
        .update_doc(
            &OP,
            update(&doc.document_id, "只剩这一段", UpdateMode::Overwrite),
        )
        .await
        .expect("overwrite");
    assert_eq!(
        get(&h, &doc.document_id, DocFormat::Text).await.content,
        "只剩这一段"
    );

    let listed = h
        .docs
        .list_docs(
            &OP,
            ListDocsParams {
                keyword: Some("W47".into()),
                ..ListDocsParams::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(listed.pagination.total, 1);
    assert_eq!(listed.items[0].document_id, doc.document_id);
}

#[tokio::test]
async fn list_pages_and_sorts_keyword_and_folder_listings() {
    let h = harness().await.with_operator("alex").await;
    for n in [3, 1, 5, 2, 4] {
        create(&h, &format!("Report {n}"), None).await;
    }
    create(&h, "Notes", None).await;

    let by_name = |page| ListDocsParams {
        keyword: Some("report".into()),
        page,
        page_size: 2,
        sort_by: SortBy::Name,
        sort_order: SortOrder::Asc,
        ..ListDocsParams::default()
    };
    let first = h.docs.list_docs(&OP, by_name(1)).await.expect("page 1");
    assert_eq!(first.pagination.total, 5);
    assert_eq!(first.pagination.total_pages, 3);
    let titles: Vec<_> = first.items.iter().map(|d| d.title.as_str()).collect();
    assert_eq!(titles, ["Report 1", "Report 2"]);
    let last = h.docs.list_docs(&OP, by_name(3)).await.expect("page 3");
    assert_eq!(last.items.len(), 1);
    assert_eq!(last.items[0].title, "Report 5");

    // Folder listing (my documents), newest first by creation time.
    let newest = h
        .docs
        .list_docs(
            &OP,
            ListDocsParams {
                sort_by: SortBy::CreateTime,
                sort_order: SortOrder::Desc,
                page_size: 100,
                ..ListDocsParams::default()
            },
        )
        .await
        .expect("listing");
    assert_eq!(newest.pagination.total, 6);
    assert_eq!(newest.items[0].title, "Notes");
    assert!(newest.items.iter().all(|d| d.update_time.is_some()));
}

#[tokio::test]
async fn the_operator_can_be_configured_by_mobile() {
    let h = harness().await;
    let union_id = h
        .docs
        .configure_operator(OperatorRef::Mobile("13800000003".into()))
        .await
        .expect("resolves");
    assert_eq!(union_id, h.sim.user("lisi").expect("lisi").union_id);
    let calls = h.sim.openapi_calls("/topapi/v2/user/getbymobile");
    // Resolved once: configuring the same setting again uses the stored unionId.
    h.docs
        .configure_operator(OperatorRef::Mobile("13800000003".into()))
        .await
        .expect("cached");
    assert_eq!(h.sim.openapi_calls("/topapi/v2/user/getbymobile"), calls);
}

#[tokio::test]
async fn a_sender_acts_with_their_own_union_id() {
    let h = harness().await.with_operator("zhangwei01").await;
    let sender = Caller::Sender {
        user_id: "lisi".into(),
    };
    let doc = h
        .docs
        .create_doc(
            &sender,
            CreateDocParams {
                title: "李四的笔记".into(),
                ..CreateDocParams::default()
            },
        )
        .await
        .expect("create as sender");
    let got = h
        .docs
        .get_doc(
            &sender,
            GetDocParams {
                document_id: doc.document_id.clone(),
                format: DocFormat::Text,
            },
        )
        .await
        .expect("get");
    assert_eq!(got.author, "李四");
    // The operator (张伟) has no access to 李四's personal documents.
    let err = h
        .docs
        .get_doc(
            &OP,
            GetDocParams {
                document_id: doc.document_id,
                format: DocFormat::Text,
            },
        )
        .await
        .expect_err("other user's docs");
    assert_eq!(err.tool_code(), "PERMISSION_DENIED");
}

#[tokio::test]
async fn reading_a_team_document_without_membership_is_permission_denied() {
    let h = harness().await.with_operator("lisi").await;
    let team = h
        .docs
        .list_docs(
            &OP,
            ListDocsParams {
                keyword: Some("入职".into()),
                ..ListDocsParams::default()
            },
        )
        .await
        .expect("member finds it");
    let id = team.items[0].document_id.clone();
    let outsider = Caller::Sender {
        user_id: "wangfang".into(),
    };
    let err = h
        .docs
        .get_doc(
            &outsider,
            GetDocParams {
                document_id: id,
                format: DocFormat::Text,
            },
        )
        .await
        .expect_err("not a member");
    assert_eq!(err.tool_code(), "PERMISSION_DENIED");
    assert_eq!(err.details()["dingtalk_code"], "forbidden.accessDenied");
}

#[tokio::test]
async fn an_unknown_document_is_not_found() {
    let h = harness().await.with_operator("zhangwei01").await;
    let err = h
        .docs
        .get_doc(
            &OP,
            GetDocParams {
                document_id: "doesnotexist".into(),
                format: DocFormat::Markdown,
            },
        )
        .await
        .expect_err("missing");
    assert_eq!(err.tool_code(), "NOT_FOUND");
    assert_eq!(err.details()["dingtalk_code"], "docNotExist");
}

#[tokio::test]
async fn an_unknown_workspace_is_not_found() {
    let h = harness().await.with_operator("zhangwei01").await;
    let err = h
        .docs
        .list_docs(
            &OP,
            ListDocsParams {
                space_id: Some("nope".into()),
                ..ListDocsParams::default()
            },
        )
        .await
        .expect_err("missing");
    assert_eq!(err.tool_code(), "NOT_FOUND");
}

#[tokio::test]
async fn overwriting_more_than_50000_characters_is_invalid_params() {
    let h = harness().await.with_operator("zhangwei01").await;
    let doc = create(&h, "big", None).await;
    let err = h
        .docs
        .update_doc(
            &OP,
            update(
                &doc.document_id,
                &"字".repeat(50_001),
                UpdateMode::Overwrite,
            ),
        )
        .await
        .expect_err("too long");
    assert_eq!(err.tool_code(), "INVALID_PARAMS");
    assert_eq!(err.details()["max_chars"], 50_000);
    h.docs
        .update_doc(
            &OP,
            update(
                &doc.document_id,
                &"字".repeat(50_000),
                UpdateMode::Overwrite,
            ),
        )
        .await
        .expect("exactly the limit is fine");
}

#[tokio::test]
async fn a_page_size_over_100_is_invalid_params() {
    let h = harness().await.with_operator("zhangwei01").await;
    let err = h
        .docs
        .list_docs(
            &OP,
            ListDocsParams {
                page_size: 101,
                ..ListDocsParams::default()
            },
        )
        .await
        .expect_err("too big");
    assert_eq!(err.tool_code(), "INVALID_PARAMS");
    assert_eq!(err.details()["field"], "page_size");
}

#[tokio::test]
async fn an_empty_title_is_invalid_params() {
    let h = harness().await.with_operator("zhangwei01").await;
    let err = h
        .docs
        .create_doc(&OP, CreateDocParams::default())
        .await
        .expect_err("no title");
    assert_eq!(err.tool_code(), "INVALID_PARAMS");
}

#[tokio::test]
async fn a_stale_base_version_is_a_conflict_and_nothing_is_written() {
    let h = harness().await.with_operator("zhangwei01").await;
    let doc = create(&h, "shared", Some("v1")).await;
    let seen = get(&h, &doc.document_id, DocFormat::Markdown).await;
    assert!(h.sim.edit_doc(&doc.document_id, "someone else's line"));
    let mut params = update(&doc.document_id, "my v2", UpdateMode::Overwrite);
    params.base_version = Some(seen.version);
    let err = h.docs.update_doc(&OP, params).await.expect_err("conflict");
    assert_eq!(err.tool_code(), "CONFLICT_ERROR");
    assert_eq!(err.details()["written"], false);
    assert!(
        get(&h, &doc.document_id, DocFormat::Text)
            .await
            .content
            .contains("someone else")
    );
}

#[tokio::test]
async fn an_edit_interleaved_with_the_write_is_a_conflict() {
    let h = harness().await.with_operator("zhangwei01").await;
    let doc = create(&h, "busy", Some("start")).await;
    h.sim
        .edit_doc_after_next_write(&doc.document_id, "their edit");
    let err = h
        .docs
        .update_doc(
            &OP,
            update(&doc.document_id, "my append", UpdateMode::Append),
        )
        .await
        .expect_err("conflict");
    assert_eq!(err.tool_code(), "CONFLICT_ERROR");
    assert_eq!(err.details()["written"], true);
}

#[tokio::test]
async fn without_an_operator_docs_calls_are_auth_errors() {
    let h = harness().await;
    let err = h
        .docs
        .list_docs(&OP, ListDocsParams::default())
        .await
        .expect_err("no operator");
    assert_eq!(err.tool_code(), "AUTH_ERROR");
}

#[tokio::test]
async fn a_dingtalk_failure_carries_its_code_and_requestid() {
    let h = harness().await.with_operator("zhangwei01").await;
    h.sim.faults().set_http_5xx_rate(1.0);
    let err = h
        .docs
        .list_docs(&OP, ListDocsParams::default())
        .await
        .expect_err("5xx");
    h.sim.faults().clear();
    assert_eq!(err.tool_code(), "DINGTALK_ERROR");
    assert!(err.details()["requestid"].is_string());
    assert!(err.details()["dingtalk_code"].is_string());
}

#[tokio::test]
async fn create_hands_out_the_dentry_uuid_and_writes_through_it() {
    let h = harness().await.with_operator("zhangwei01").await;
    // The simulator answers the create with three distinct ids and refuses the create `nodeId` on the
    // content endpoints, as DingTalk does: the first write only succeeds through the dentryUuid.
    let doc = create(&h, "ids", Some("first write")).await;
    assert!(doc.url.ends_with(&doc.document_id), "{doc:?}");
    assert_eq!(h.sim.doc_version(&doc.document_id), Some(1));
    assert_eq!(
        get(&h, &doc.document_id, DocFormat::Text).await.content,
        "first write"
    );
}

const WITH_TABLE_AND_CODE: &str =
    "# 方案\n\n| 项 | 值 |\n|---|---|\n| a | 1 |\n\n```rust\nfn main() {}\n```\n\n结论";

#[tokio::test]
async fn an_overwrite_with_a_table_and_a_code_block_is_not_a_conflict() {
    let h = harness().await.with_operator("zhangwei01").await;
    let doc = create(&h, "lossy", Some("old")).await;
    h.docs
        .update_doc(
            &OP,
            update(&doc.document_id, WITH_TABLE_AND_CODE, UpdateMode::Overwrite),
        )
        .await
        .expect("a lossy read-back is not a conflict");
}

#[tokio::test]
async fn a_list_the_service_renumbers_is_not_a_conflict() {
    let h = harness().await.with_operator("zhangwei01").await;
    let doc = create(&h, "numbers", None).await;
    h.docs
        .update_doc(
            &OP,
            update(
                &doc.document_id,
                "3. 第三步\n4. 第四步",
                UpdateMode::Overwrite,
            ),
        )
        .await
        .expect("list numbers are not compared");
}

#[tokio::test]
async fn an_append_with_a_table_code_and_an_image_is_not_a_conflict() {
    let h = harness().await.with_operator("zhangwei01").await;
    let doc = create(&h, "lossy append", Some("start")).await;
    let md = format!("{WITH_TABLE_AND_CODE}\n\n![图](https://e.x/a.png)");
    h.docs
        .update_doc(&OP, update(&doc.document_id, &md, UpdateMode::Append))
        .await
        .expect("a lossy read-back is not a conflict");
}

#[tokio::test]
async fn a_concurrent_change_to_a_write_with_a_table_is_still_a_conflict() {
    let h = harness().await.with_operator("zhangwei01").await;
    let doc = create(&h, "busy lossy", Some("start")).await;
    h.sim
        .edit_doc_after_next_write(&doc.document_id, "their edit");
    let err = h
        .docs
        .update_doc(
            &OP,
            update(&doc.document_id, WITH_TABLE_AND_CODE, UpdateMode::Overwrite),
        )
        .await
        .expect_err("conflict");
    assert_eq!(err.tool_code(), "CONFLICT_ERROR");
    assert_eq!(err.details()["written"], true);
}

#[tokio::test]
async fn get_doc_shows_placeholders_for_blocks_the_api_cannot_read() {
    let h = harness().await.with_operator("zhangwei01").await;
    let md = format!("{WITH_TABLE_AND_CODE}\n\n![图](https://e.x/a.png)");
    let doc = create(&h, "placeholders", Some(&md)).await;
    let text = get(&h, &doc.document_id, DocFormat::Markdown).await.content;
    assert_eq!(
        text,
        "# 方案\n\n[table, 2 × 2: not readable through the API]\n\n\
         [code block or image: not readable through the API]\n\n结论\n\n\
         [code block or image: not readable through the API]"
    );
}

#[tokio::test]
async fn versions_are_millisecond_timestamps_and_times_are_as_dingtalk_gives_them() {
    let h = harness().await.with_operator("zhangwei01").await;
    let doc = create(&h, "versions", Some("v1")).await;
    let seen = get(&h, &doc.document_id, DocFormat::Text).await;
    let before: i64 = seen.version.parse().expect("modifiedTimestamp");
    // modifiedTime is minute-precise, e.g. 2026-03-04T17:51Z
    assert_eq!(seen.update_time.len(), 17, "{}", seen.update_time);
    let updated = h
        .docs
        .update_doc(&OP, update(&doc.document_id, "v2", UpdateMode::Append))
        .await
        .expect("append");
    let after: i64 = updated.version.parse().expect("modifiedTimestamp");
    assert!(after > before, "{before} → {after}");
}

#[tokio::test]
async fn a_change_within_the_same_minute_still_refuses_a_stale_base_version() {
    let h = harness().await.with_operator("zhangwei01").await;
    let doc = create(&h, "same minute", Some("v1")).await;
    let seen = get(&h, &doc.document_id, DocFormat::Text).await;
    assert!(h.sim.edit_doc(&doc.document_id, "someone else"));
    let now = get(&h, &doc.document_id, DocFormat::Text).await;
    assert_ne!(seen.version, now.version);
    let mut params = update(&doc.document_id, "mine", UpdateMode::Overwrite);
    params.base_version = Some(seen.version);
    let err = h.docs.update_doc(&OP, params).await.expect_err("stale");
    assert_eq!(err.tool_code(), "CONFLICT_ERROR");
}
