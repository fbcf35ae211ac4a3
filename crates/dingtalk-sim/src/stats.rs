//! Counters the simulator keeps about the client's behaviour on the wire.

use serde::{Deserialize, Serialize};

/// A snapshot of the simulator's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimStats {
    /// WebSocket connections ever accepted.
    pub connections_opened: u64,
    /// WebSocket connections currently open (incl. draining and zombie ones).
    pub live_connections: u64,
    /// Frames of any type written to sockets.
    pub frames_sent: u64,
    /// CALLBACK frames queued to sockets, redeliveries and duplicates included.
    pub callbacks_delivered: u64,
    /// Valid ACKs (code 200, known frame id, same connection).
    pub acks_received: u64,
    /// ACKs for a frame id the sim never sent, or sent on another connection.
    pub acks_unknown: u64,
    /// ACKs for a known callback frame whose `code` was not 200 (not an ACK).
    pub acks_non_200: u64,
    /// ACKs whose `data` was missing or not a JSON *string* (wire error).
    pub acks_bad_data: u64,
    /// A second ACK for a frame already ACKed.
    pub acks_duplicate: u64,
    /// Replies to SYSTEM frames other than ping (CONNECTED, KEEPALIVE, ...).
    pub acks_system: u64,
    /// Upstream frames without `headers.messageId` (e.g. an ACK of `disconnect`).
    pub acks_without_message_id: u64,
    /// Replies without the required `headers.contentType` (still processed).
    pub acks_missing_content_type: u64,
    /// Upstream text that is not a JSON object, or a binary frame.
    pub frames_malformed: u64,
    pub pings_sent: u64,
    /// Ping replies with the right messageId, code 200 and the opaque echoed in a string `data`.
    pub pongs_ok: u64,
    /// Ping replies with the right messageId but anything else wrong.
    pub pongs_bad: u64,
    pub keepalives_sent: u64,
    pub disconnects_sent: u64,
    pub raw_frames_sent: u64,
    /// Callback frames sent again because the previous one was not ACKed in time.
    pub redeliveries: u64,
    /// Messages (injected or duplicated) not yet ACKed, delivered or still queued.
    pub pending_unacked: u64,
    /// Group messages that were not delivered because they did not @ the bot.
    pub group_messages_without_at: u64,
    /// Successful `connections/open` calls.
    pub gateway_opens: u64,
    /// `connections/open` calls answered with an error.
    pub gateway_rejections: u64,
    /// `connections/open` calls without `Accept: application/json` (SDK-NODE:
    /// the real gateway then answers in XML; the sim answers JSON but counts it).
    pub gateway_without_accept_json: u64,
    /// WebSocket upgrades refused for a bad, used or expired ticket.
    pub ticket_rejections: u64,
    pub tokens_issued: u64,
    pub webhook_accepted: u64,
    pub webhook_rejected: u64,
    /// HTTP answers replaced by an injected 5xx.
    pub injected_5xx: u64,
}
