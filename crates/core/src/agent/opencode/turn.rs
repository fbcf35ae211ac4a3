//! One turn's view of the event stream: accumulates the assistant's text parts (from deltas and part
//! snapshots), relays permission asks and questions, and decides when the turn is over. Pure state, no
//! I/O besides the update channel, so the ordering rules are easy to test.

use std::collections::{HashMap, HashSet};

use super::events::OcEvent;
use crate::agent::{AgentError, AgentUpdate, UpdateError, UpdateSender};

#[derive(Debug)]
pub enum Outcome {
    Idle,
    Aborted,
    Error(AgentError),
}

#[derive(Debug)]
struct TextPart {
    message_id: String,
    text: String,
    hidden: bool,
}

#[derive(Debug, Default)]
pub struct TurnState {
    /// Set once an event of *this* turn was seen (busy status, a message, a part). Before that, `idle`
    /// and abort errors are leftovers of the previous turn (e.g. one that was stopped) and are ignored.
    started: bool,
    roles: HashMap<String, String>,
    parts: Vec<TextPart>,
    index: HashMap<String, usize>,
    /// Deltas for parts whose type is not known yet (a delta overtaking its part's first snapshot).
    pending: HashMap<String, (String, String)>,
    non_text: HashSet<String>,
    last_sent: String,
    /// The model produced something for this turn (a part or delta of an assistant message other than
    /// `step-start`), whatever OpenCode managed to store before a crash.
    output_seen: bool,
}

impl TurnState {
    /// A turn that was already running when we subscribed: its end is not a leftover of an earlier turn.
    pub fn resumed() -> Self {
        Self {
            started: true,
            ..Self::default()
        }
    }

    /// OpenCode says the session is busy with this turn (checked after an event-stream gap, in which its
    /// first events may have been missed): from now on its end is this turn's end.
    pub fn mark_started(&mut self) {
        self.started = true;
    }

    pub fn apply(&mut self, event: OcEvent, updates: &UpdateSender) -> Option<Outcome> {
        match event {
            OcEvent::Status { status, .. } => match status.as_str() {
                "idle" if self.started => return Some(Outcome::Idle),
                "idle" => {}
                _ => self.started = true,
            },
            OcEvent::Idle { .. } if self.started => return Some(Outcome::Idle),
            OcEvent::Idle { .. } => {}
            OcEvent::Error {
                message,
                abort,
                transient,
                ..
            } => {
                if abort {
                    return self.started.then_some(Outcome::Aborted);
                }
                return Some(Outcome::Error(if transient {
                    AgentError::Unavailable(format!("OpenCode's model provider failed: {message}"))
                } else {
                    AgentError::Failed(message)
                }));
            }
            OcEvent::MessageUpdated {
                message_id, role, ..
            } => {
                self.started = true;
                let newly_assistant = role == "assistant"
                    && self.roles.get(&message_id).map(String::as_str) != Some("assistant");
                self.roles.insert(message_id, role);
                if newly_assistant {
                    self.publish(updates);
                }
            }
            OcEvent::PartUpdated {
                message_id,
                part_id,
                kind,
                text,
                hidden,
                ..
            } => {
                self.started = true;
                if kind != "step-start" && self.is_assistant(&message_id) {
                    self.output_seen = true;
                }
                if kind != "text" {
                    self.pending.remove(&part_id);
                    self.non_text.insert(part_id);
                    return None;
                }
                let idx = self.part_index(&part_id, &message_id);
                let part = &mut self.parts[idx];
                part.hidden = hidden;
                // A full snapshot is authoritative (it may also fix a missed delta).
                if let Some(text) = text {
                    part.text = text;
                }
                self.publish(updates);
            }
            OcEvent::PartDelta {
                message_id,
                part_id,
                field,
                delta,
                ..
            } => {
                self.started = true;
                if self.is_assistant(&message_id) {
                    self.output_seen = true;
                }
                if field != "text" || self.non_text.contains(&part_id) {
                    return None;
                }
                match self.index.get(&part_id) {
                    Some(&idx) => self.parts[idx].text.push_str(&delta),
                    None => {
                        let entry = self
                            .pending
                            .entry(part_id)
                            .or_insert_with(|| (message_id, String::new()));
                        entry.1.push_str(&delta);
                        return None;
                    }
                }
                self.publish(updates);
            }
            OcEvent::PermissionAsked { id, summary, .. } => {
                self.started = true;
                relay_ask(updates, AgentUpdate::PermissionAsked { id, summary });
            }
            OcEvent::QuestionAsked { id, question, .. } => {
                self.started = true;
                relay_ask(updates, AgentUpdate::QuestionAsked { id, question });
            }
            OcEvent::Connected | OcEvent::Heartbeat | OcEvent::Other(_) => {}
        }
        None
    }

    fn is_assistant(&self, message_id: &str) -> bool {
        self.roles.get(message_id).map(String::as_str) == Some("assistant")
    }

    /// Whether the event stream showed any model output for this turn (text, reasoning, a tool call).
    pub fn output_seen(&self) -> bool {
        self.output_seen
    }

    fn part_index(&mut self, part_id: &str, message_id: &str) -> usize {
        if let Some(&idx) = self.index.get(part_id) {
            return idx;
        }
        let text = self
            .pending
            .remove(part_id)
            .map(|(_, text)| text)
            .unwrap_or_default();
        self.parts.push(TextPart {
            message_id: message_id.to_owned(),
            text,
            hidden: false,
        });
        let idx = self.parts.len() - 1;
        self.index.insert(part_id.to_owned(), idx);
        idx
    }

    /// The assistant's visible text so far: text parts of assistant messages, in order.
    pub fn text(&self) -> String {
        let pieces: Vec<&str> = self
            .parts
            .iter()
            .filter(|p| !p.hidden)
            .filter(|p| self.roles.get(&p.message_id).map(String::as_str) == Some("assistant"))
            .map(|p| p.text.trim())
            .filter(|t| !t.is_empty())
            .collect();
        pieces.join("\n\n")
    }

    fn publish(&mut self, updates: &UpdateSender) {
        let text = self.text();
        if !text.is_empty() && text != self.last_sent {
            self.last_sent = text.clone();
            let _ = updates.send(AgentUpdate::Text(text));
        }
    }
}

/// Hands an ask to the relay. A closed relay means the turn is ending anyway; a full one (the relay stuck
/// behind many asks) leaves this ask to the turn timeout, which is worth a line in the log.
fn relay_ask(updates: &UpdateSender, ask: AgentUpdate) {
    if let Err(UpdateError::Full) = updates.send(ask) {
        tracing::warn!(target: "dingbridge::agent", code = UpdateError::Full.code(), "an agent ask could not be relayed: too many are waiting");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::update_channel;

    fn part(message: &str, part: &str, kind: &str, text: Option<&str>) -> OcEvent {
        OcEvent::PartUpdated {
            session_id: "s".into(),
            message_id: message.into(),
            part_id: part.into(),
            kind: kind.into(),
            text: text.map(str::to_owned),
            hidden: false,
            tool: None,
        }
    }

    fn delta(message: &str, part: &str, text: &str) -> OcEvent {
        OcEvent::PartDelta {
            session_id: Some("s".into()),
            message_id: message.into(),
            part_id: part.into(),
            field: "text".into(),
            delta: text.into(),
        }
    }

    fn message(id: &str, role: &str) -> OcEvent {
        OcEvent::MessageUpdated {
            session_id: "s".into(),
            message_id: id.into(),
            role: role.into(),
            error: None,
        }
    }

    #[test]
    fn accumulates_assistant_text_and_ignores_user_and_reasoning_parts() {
        let (tx, mut rx) = update_channel();
        let mut seen = Vec::new();
        let mut turn = TurnState::default();
        assert!(
            turn.apply(
                OcEvent::Idle {
                    session_id: "s".into()
                },
                &tx
            )
            .is_none()
        );
        turn.apply(message("u", "user"), &tx);
        turn.apply(part("u", "p0", "text", Some("question")), &tx);
        turn.apply(message("a", "assistant"), &tx);
        turn.apply(part("a", "r", "reasoning", Some("")), &tx);
        turn.apply(delta("a", "r", "thinking"), &tx);
        turn.apply(delta("a", "p1", "Hel"), &tx);
        turn.apply(part("a", "p1", "text", None), &tx);
        seen.extend(rx.try_recv());
        turn.apply(delta("a", "p1", "lo"), &tx);
        seen.extend(rx.try_recv());
        assert_eq!(turn.text(), "Hello");
        assert!(turn.output_seen());
        assert!(matches!(
            turn.apply(
                OcEvent::Idle {
                    session_id: "s".into()
                },
                &tx
            ),
            Some(Outcome::Idle)
        ));
        assert_eq!(rx.try_recv(), None, "nothing more than the two snapshots");
        assert_eq!(
            seen,
            vec![
                AgentUpdate::Text("Hel".into()),
                AgentUpdate::Text("Hello".into())
            ]
        );
    }

    #[test]
    fn an_idle_ends_a_turn_opencode_said_was_busy_even_if_its_events_were_missed() {
        let (tx, _rx) = update_channel();
        let mut turn = TurnState::default();
        turn.mark_started();
        let idle = OcEvent::Idle {
            session_id: "s".into(),
        };
        assert!(matches!(turn.apply(idle, &tx), Some(Outcome::Idle)));
    }

    #[test]
    fn a_turn_with_only_a_step_start_saw_no_output() {
        let (tx, _rx) = update_channel();
        let mut turn = TurnState::default();
        turn.apply(message("u", "user"), &tx);
        turn.apply(part("u", "p0", "text", Some("question")), &tx);
        turn.apply(message("a", "assistant"), &tx);
        turn.apply(part("a", "s", "step-start", None), &tx);
        assert!(!turn.output_seen());
        turn.apply(delta("a", "p1", "Hi"), &tx);
        assert!(turn.output_seen());
    }
}
