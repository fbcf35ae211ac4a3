//! What OpenCode recorded for one DingTalk message, read from the session history after a break (DingBridge
//! restarted, the event stream was lost, OpenCode restarted).
//!
//! Invariant: the outcome of a turn comes from OpenCode's record, never from how an event stream ended.
//! - no user message carrying our prompt → the prompt never reached OpenCode: prompting it is safe;
//! - the user message but no output at all (no assistant message, or one that produced no part besides
//!   `step-start` and no error: OpenCode died before the model said anything, so no tool ran) → it never
//!   ran: prompting again is safe (this is only decided after a break, with the session idle);
//! - a finished assistant answer whose parent is that user message → collect it (never prompt again);
//! - an answer that was cut off (aborted, unfinished, or ended between tool steps) → interrupted: the chat is
//!   told and offered `/retry`; a fragment is never sent as if it were the answer.

use super::wire::MessageWithParts;
use crate::agent::AgentError;

#[derive(Debug)]
pub enum Recorded {
    /// OpenCode has no user message with this prompt.
    NotSent,
    /// OpenCode stored the prompt but produced nothing for it (it died before the model answered).
    NeverAnswered,
    /// The complete answer (text parts of every assistant message answering the prompt).
    Answered(String),
    /// The prompt was stored but its answer is missing or incomplete.
    Interrupted,
    /// The answer ended in an error (other than an abort).
    Failed(AgentError),
}

/// Looks the turn whose user message is exactly `prompt` up in `history` (call it when the session is idle).
pub fn recorded_turn(history: &[MessageWithParts], prompt: &str) -> Recorded {
    let is_ours = |m: &MessageWithParts| {
        m.info.role == "user"
            && m.parts
                .iter()
                .any(|p| p.kind == "text" && p.text.as_deref() == Some(prompt))
    };
    let Some(start) = history.iter().rposition(is_ours) else {
        return Recorded::NotSent;
    };
    let user_id = history[start].info.id.as_str();
    // The answer is every assistant message whose parent is our prompt (older OpenCode releases without
    // parentID: the assistant messages that follow it, up to the next user message).
    let answers: Vec<&MessageWithParts> = history[start + 1..]
        .iter()
        .take_while(|m| m.info.role != "user")
        .filter(|m| m.info.role == "assistant")
        .filter(|m| match m.info.parent_id.as_deref() {
            Some(parent) => user_id.is_empty() || parent == user_id,
            None => true,
        })
        .collect();
    let Some(last) = answers.last() else {
        return Recorded::NeverAnswered;
    };
    if let Some(error) = &last.info.error {
        if error.is_abort() {
            return Recorded::Interrupted;
        }
        return Recorded::Failed(if error.is_transient() {
            AgentError::Unavailable(format!(
                "OpenCode's model provider failed: {}",
                error.message()
            ))
        } else {
            AgentError::Failed(error.message())
        });
    }
    let finished =
        last.info.time.completed.is_some() && last.info.finish.as_deref() != Some("tool-calls");
    if !finished {
        let produced_nothing = answers
            .iter()
            .flat_map(|m| m.parts.iter())
            .all(|p| p.kind == "step-start");
        if produced_nothing {
            return Recorded::NeverAnswered;
        }
        return Recorded::Interrupted;
    }
    let pieces: Vec<&str> = answers
        .iter()
        .flat_map(|m| m.parts.iter())
        .filter(|p| p.kind == "text" && !p.synthetic && !p.ignored)
        .filter_map(|p| p.text.as_deref())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    Recorded::Answered(pieces.join("\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn history(value: serde_json::Value) -> Vec<MessageWithParts> {
        serde_json::from_value(value).unwrap()
    }

    fn user(id: &str, text: &str) -> serde_json::Value {
        json!({"info": {"id": id, "role": "user"}, "parts": [{"type": "text", "text": text}]})
    }

    fn assistant(id: &str, parent: &str, text: &str, completed: bool) -> serde_json::Value {
        let mut info =
            json!({"id": id, "role": "assistant", "parentID": parent, "time": {"created": 1}});
        if completed {
            info["time"]["completed"] = json!(2);
            info["finish"] = json!("stop");
        }
        json!({"info": info, "parts": [{"type": "text", "text": text}]})
    }

    #[test]
    fn a_prompt_opencode_never_stored_was_not_sent() {
        let h = history(json!([
            user("m1", "other"),
            assistant("m2", "m1", "x", true)
        ]));
        assert!(matches!(recorded_turn(&h, "ours"), Recorded::NotSent));
    }

    #[test]
    fn a_finished_answer_to_our_prompt_is_collected() {
        let h = history(json!([
            user("m1", "ours"),
            assistant("m2", "m1", "the answer", true)
        ]));
        assert!(matches!(recorded_turn(&h, "ours"), Recorded::Answered(t) if t == "the answer"));
    }

    #[test]
    fn an_unfinished_answer_is_interrupted_not_a_fragment() {
        let h = history(json!([
            user("m1", "ours"),
            assistant("m2", "m1", "the ans", false)
        ]));
        assert!(matches!(recorded_turn(&h, "ours"), Recorded::Interrupted));
    }

    #[test]
    fn a_stored_prompt_without_any_output_was_never_answered() {
        let h = history(json!([user("m1", "ours")]));
        assert!(matches!(recorded_turn(&h, "ours"), Recorded::NeverAnswered));
        let mut empty = assistant("m2", "m1", "", false);
        empty["parts"] = json!([{"type": "step-start"}]);
        let h = history(json!([user("m1", "ours"), empty]));
        assert!(matches!(recorded_turn(&h, "ours"), Recorded::NeverAnswered));
    }

    #[test]
    fn an_answer_to_another_prompt_is_not_ours() {
        let h = history(json!([
            user("m1", "ours"),
            assistant("m3", "m0", "an older answer", true)
        ]));
        assert!(matches!(recorded_turn(&h, "ours"), Recorded::NeverAnswered));
    }
}
