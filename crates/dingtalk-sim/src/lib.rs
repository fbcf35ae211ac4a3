//! `dingtalk-sim`: a faithful DingTalk cloud on loopback for tests, the demo
//! mode and benchmarks. It implements, from the protocol doc alone and without
//! sharing code with the client:
//!
//! - the Stream gateway (`POST /v1.0/gateway/connections/open`, single-use
//!   tickets) and WebSocket (`/connect`): SYSTEM ping/disconnect/KEEPALIVE,
//!   bot CALLBACK delivery with per-connection ACK matching and redelivery;
//! - access tokens (`POST /v1.0/oauth2/accessToken`);
//! - contacts (user search/detail) and DingTalk Docs (workspaces, nodes, block documents), with
//!   throttling, quota and IP-ban fault injection (`openapi`);
//! - files users send (pictures, files, voice, video, rich-text pictures) behind downloadCodes, the robot
//!   message-file download API and the short-lived links it hands out (`message_files`);
//! - the sessionWebhook reply channel (`POST /robot/sendBySession`), with the
//!   20,000-byte and per-conversation rate limits;
//! - fault injection and a JSON control API under `/_sim`.

mod api_error;
mod burst;
mod cards;
mod clock;
mod config;
mod connections;
mod control;
mod delivery;
mod error;
mod faults;
pub mod frames;
mod gateway;
pub mod ids;
mod message;
pub mod message_files;
pub mod model;
mod oauth;
mod openapi;
pub mod opencode;
pub mod payloads;
mod robot_send;
mod router;
mod sim;
mod socket;
mod state;
mod stats;
mod webhook;

pub use cards::{CardStatus, CardUpdate, SimCard};
pub use config::SimConfig;
pub use error::SimError;
pub use faults::Faults;
pub use ids::one_to_one_conversation_id;
pub use message::{
    ConversationType, InjectContent, InjectMessage, InjectQuote, ReceivedMessage, RichItem,
    SimFileBody,
};
pub use model::{FakeModel, PromptStats, RealOpenCode};
pub use openapi::SimUser;
pub use opencode::{FakeOpenCode, FakeOpenCodeConfig, Script};
pub use sim::Sim;
pub use stats::SimStats;
pub use webhook::{
    ArmedAnswer, DOCUMENTED_ERRCODES, ERR_BAD_BODY, ERR_SESSION, ERR_TOO_FAST, ERR_TOO_LONG,
    MAX_BODY_BYTES, documented_errmsg,
};
