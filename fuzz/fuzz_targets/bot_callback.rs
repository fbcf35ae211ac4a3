//! Bot callback payloads (the `data` string of a `/v1.0/im/bot/messages/get` frame): any text decodes to a
//! message with a non-empty msgId and conversationId, or is refused with a coded error; never a panic. The
//! texts derived from a decoded message (prompt, preview, title) are computed without panicking either.
#![no_main]

use dingbridge_core::dingtalk::BotMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match BotMessage::decode(text) {
        Ok(message) => {
            assert!(!message.msg_id.is_empty());
            assert!(!message.conversation_id.is_empty());
            let _ = message.prompt_text();
            let _ = message.preview();
            let _ = message.display_title();
            let _ = message.is_for_agent();
        }
        Err(err) => {
            assert!(!err.code().is_empty());
            let _ = err.to_string();
        }
    }
});
