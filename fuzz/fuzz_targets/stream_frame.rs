//! Stream frame decoding: any text the gateway's socket delivers must decode or be refused with a coded
//! error, never panic. A refused frame whose `messageId` was readable keeps it (so it can still be ACKed),
//! and every ACK we build for a decoded frame is valid JSON echoing that id.
#![no_main]

use dingbridge_core::dingtalk::stream::{AckFrame, DownFrame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match DownFrame::parse(text) {
        Ok(frame) => {
            let _ = frame.topic();
            if let Some(id) = frame.message_id() {
                for ack in [
                    AckFrame::callback_ok(id),
                    AckFrame::pong(id, &frame.data),
                    AckFrame::event_ok(id),
                    AckFrame::not_found(id),
                ] {
                    let json: serde_json::Value =
                        serde_json::from_str(&ack.to_json()).expect("an ACK is valid JSON");
                    assert_eq!(json["headers"]["messageId"].as_str(), Some(id));
                    assert!(json["data"].is_string(), "ACK data is a JSON string");
                }
            }
        }
        Err(err) => {
            assert!(err.code().starts_with("FRAME_"));
            let _ = err.message_id();
            let _ = err.to_string();
        }
    }
});
