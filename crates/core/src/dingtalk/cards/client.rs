//! The two card calls the bridge needs: `POST /v1.0/card/instances/createAndDeliver` and
//! `PUT /v1.0/card/streaming` (protocol notes §3.5 B).

use std::collections::BTreeMap;

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::CardError;
use crate::dingtalk::openapi::{ApiRequest, OpenApiClient};

const CREATE_AND_DELIVER_PATH: &str = "/v1.0/card/instances/createAndDeliver";
const STREAMING_PATH: &str = "/v1.0/card/streaming";

/// Where a card goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CardTarget {
    /// A group, by its `openConversationId` (= the message's `conversationId`).
    Group(String),
    /// The robot 1:1 chat of a user, by `staffId`/userId. Not the 1:1 `conversationId`: DingTalk answers
    /// "spaceId is illegal" for that.
    User(String),
}

impl CardTarget {
    /// `openSpaceId`: `dtv1.card//IM_GROUP.<cid>` or `dtv1.card//IM_ROBOT.<userId>`.
    pub fn open_space_id(&self) -> String {
        match self {
            Self::Group(cid) => format!("dtv1.card//IM_GROUP.{cid}"),
            Self::User(user_id) => format!("dtv1.card//IM_ROBOT.{user_id}"),
        }
    }
}

/// One `PUT /v1.0/card/streaming` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamUpdate<'a> {
    pub out_track_id: &'a str,
    /// The template's streaming variable (e.g. `content`); must match the template.
    pub key: &'a str,
    /// The whole text so far (`isFull` is always true: the variable is markdown).
    pub full_content: &'a str,
    /// Moves the card to "finished".
    pub is_finalize: bool,
    /// Moves the card to "failed".
    pub is_error: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateAnswer {
    #[serde(default)]
    result: Option<CreateResult>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateResult {
    #[serde(default)]
    deliver_results: Vec<DeliverResult>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeliverResult {
    #[serde(default)]
    success: Option<bool>,
    #[serde(default)]
    error_msg: Option<String>,
    #[serde(default)]
    space_id: Option<String>,
}

/// Cheap to clone.
#[derive(Clone)]
pub struct CardClient {
    api: OpenApiClient,
    robot_code: String,
}

impl CardClient {
    pub fn new(api: OpenApiClient, robot_code: impl Into<String>) -> Self {
        Self {
            api,
            robot_code: robot_code.into(),
        }
    }

    /// Creates card `out_track_id` from `template_id` (`<id>.schema`) and delivers it to `target`, with
    /// Stream-mode callbacks. `params` become `cardData.cardParamMap` (string values, ≤1 KB each).
    pub async fn create_and_deliver(
        &self,
        target: &CardTarget,
        template_id: &str,
        out_track_id: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<(), CardError> {
        let body = self.create_body(target, template_id, out_track_id, params);
        let request = ApiRequest::new_api(Method::POST, CREATE_AND_DELIVER_PATH).json(body);
        let answer: Value = self
            .api
            .call(request)
            .await
            .map_err(CardError::from_openapi)?;
        // HTTP 200 can still carry a failed delivery per space.
        let answer: CreateAnswer = serde_json::from_value(answer).unwrap_or_default();
        let failed = answer
            .result
            .map(|r| r.deliver_results)
            .unwrap_or_default()
            .into_iter()
            .find(|r| r.success == Some(false));
        match failed {
            Some(r) => Err(CardError::NotDelivered(format!(
                "{}: {}",
                r.space_id.unwrap_or_default(),
                r.error_msg.unwrap_or_default()
            ))),
            None => Ok(()),
        }
    }

    /// The exact request body of `create_and_deliver` (protocol notes §3.5).
    pub fn create_body(
        &self,
        target: &CardTarget,
        template_id: &str,
        out_track_id: &str,
        params: &BTreeMap<String, String>,
    ) -> Value {
        let mut body = json!({
            "cardTemplateId": template_id,
            "outTrackId": out_track_id,
            "cardData": {"cardParamMap": params},
            "callbackType": "STREAM",
            "openSpaceId": target.open_space_id(),
            "userIdType": 1,
        });
        let (space_model, deliver_model, deliver) = match target {
            CardTarget::Group(_) => (
                "imGroupOpenSpaceModel",
                "imGroupOpenDeliverModel",
                json!({"robotCode": self.robot_code}),
            ),
            CardTarget::User(_) => (
                "imRobotOpenSpaceModel",
                "imRobotOpenDeliverModel",
                json!({"spaceType": "IM_ROBOT", "robotCode": self.robot_code}),
            ),
        };
        if let Value::Object(map) = &mut body {
            map.insert(space_model.to_owned(), json!({"supportForward": true}));
            map.insert(deliver_model.to_owned(), deliver);
        }
        body
    }

    /// One streaming update with a fresh `guid` (DingTalk's idempotency key per call).
    pub async fn stream(&self, update: &StreamUpdate<'_>) -> Result<(), CardError> {
        let request = ApiRequest::new_api(Method::PUT, STREAMING_PATH).json(json!({
            "outTrackId": update.out_track_id,
            "guid": uuid::Uuid::new_v4().to_string(),
            "key": update.key,
            "content": update.full_content,
            "isFull": true,
            "isFinalize": update.is_finalize,
            "isError": update.is_error,
        }));
        match self.api.call_value(&request).await {
            // `{"success": false}` with HTTP 200 is a refusal too.
            Ok(answer) if answer.get("success").and_then(Value::as_bool) == Some(false) => {
                Err(CardError::Rejected {
                    code: "success.false".to_owned(),
                    message: answer.to_string(),
                })
            }
            Ok(_) => Ok(()),
            Err(err) => Err(match CardError::from_openapi(err) {
                CardError::TooLarge { limit, .. } => CardError::TooLarge {
                    bytes: update.full_content.len(),
                    limit,
                },
                other => other,
            }),
        }
    }
}
