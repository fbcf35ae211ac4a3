//! A Docs id goes into a URL path: one that could become a dot-segment or a second path segment (`..`, `.`,
//! `/`, `%2e`) is refused with INVALID_PARAMS before anything is sent to DingTalk.

mod openapi_common;

use dingbridge_core::dingtalk::docs::*;
use openapi_common::*;

const OP: Caller = Caller::Operator;

const PATH_TRICKS: [&str; 7] = ["..", ".", "../x", "a/b", "%2e%2e", "%2e", "x y"];

#[tokio::test]
async fn a_document_id_that_could_change_the_url_path_is_invalid_params() {
    let h = harness().await.with_operator("zhangwei01").await;
    for id in PATH_TRICKS {
        let err = h
            .docs
            .get_doc(
                &OP,
                GetDocParams {
                    document_id: id.into(),
                    format: DocFormat::Markdown,
                },
            )
            .await
            .expect_err(id);
        assert_eq!(err.tool_code(), "INVALID_PARAMS", "get_doc {id:?}: {err}");
        assert_eq!(err.details()["field"], "document_id", "{id:?}");
        let err = h
            .docs
            .update_doc(
                &OP,
                UpdateDocParams {
                    document_id: id.into(),
                    content: "x".into(),
                    ..UpdateDocParams::default()
                },
            )
            .await
            .expect_err(id);
        assert_eq!(
            err.tool_code(),
            "INVALID_PARAMS",
            "update_doc {id:?}: {err}"
        );
    }
}

#[tokio::test]
async fn a_workspace_or_folder_id_that_could_change_the_url_path_is_invalid_params() {
    let h = harness().await.with_operator("zhangwei01").await;
    for id in PATH_TRICKS {
        let err = h
            .docs
            .create_doc(
                &OP,
                CreateDocParams {
                    title: "t".into(),
                    space_id: Some(id.into()),
                    ..CreateDocParams::default()
                },
            )
            .await
            .expect_err(id);
        assert_eq!(
            err.tool_code(),
            "INVALID_PARAMS",
            "create_doc space {id:?}: {err}"
        );
        assert_eq!(err.details()["field"], "space_id");
        let err = h
            .docs
            .list_docs(
                &OP,
                ListDocsParams {
                    folder_id: Some(id.into()),
                    ..ListDocsParams::default()
                },
            )
            .await
            .expect_err(id);
        assert_eq!(
            err.tool_code(),
            "INVALID_PARAMS",
            "list_docs folder {id:?}: {err}"
        );
        assert_eq!(err.details()["field"], "folder_id");
    }
}
