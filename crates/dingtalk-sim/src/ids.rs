//! Generators for the identifiers DingTalk puts on the wire, shaped like the
//! real ones (protocol doc §1, §2.3, §2.7) so that a client which over-fits on
//! a simplified format (e.g. assumes ids are URL-safe) is caught by tests.

use std::sync::atomic::{AtomicU64, Ordering};

use rand::Rng;

use crate::clock::now_ms;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard (padded) base64. Real `conversationId`/`msgId` values are standard
/// base64 and can contain `+`, `/` and `=`, which matters for URL handling.
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rng().fill(&mut b[..]);
    b
}

/// 16 deterministic bytes derived from `seed` (two FNV-1a passes). Used where
/// the real platform gives stable ids, e.g. the 1:1 conversation of a user.
pub fn stable_bytes(seed: &str) -> [u8; 16] {
    fn fnv(seed: &str, basis: u64) -> u64 {
        seed.bytes().fold(basis, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    }
    let a = fnv(seed, 0xcbf2_9ce4_8422_2325).to_be_bytes();
    let b = fnv(seed, 0x8422_2325_cbf2_9ce4).to_be_bytes();
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&a);
    out[8..].copy_from_slice(&b);
    out
}

/// Frame id like `212ca9d7_974_1898c159aa6_1783b` (DP-PROTO sample): a random
/// hex word, a small number, the push time in hex ms and a hex sequence.
pub fn frame_message_id() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0x1_0000);
    let mut rng = rand::rng();
    let seq = SEQ.fetch_add(1, Ordering::Relaxed) & 0xf_ffff;
    format!(
        "{:08x}_{}_{:x}_{:x}",
        rng.random::<u32>(),
        rng.random_range(100..1000u32),
        now_ms(),
        seq
    )
}

/// `msgId` of a user's message: `msg` + base64 (real ids look like this).
pub fn msg_id() -> String {
    format!("msg{}", base64(&random_bytes::<16>()))
}

/// Deterministic 1:1 conversation id for a staff id.
pub fn one_to_one_conversation_id(staff_id: &str) -> String {
    format!("cid{}", base64(&stable_bytes(&format!("1to1:{staff_id}"))))
}

/// Deterministic group conversation id from a title, for callers that give none.
pub fn group_conversation_id(title: &str) -> String {
    format!("cid{}", base64(&stable_bytes(&format!("group:{title}"))))
}

/// Encrypted user id as found in `senderId`, `chatbotUserId`, `atUsers[].dingtalkId`.
pub fn lwcp_id(seed: &str) -> String {
    format!("$:LWCP_v1:${}", base64(&stable_bytes(seed)))
}

/// Session key of a sessionWebhook URL (hex, as in every sample).
pub fn session_key() -> String {
    hex(&random_bytes::<16>())
}

/// Random downloadCode-like opaque string.
pub fn download_code() -> String {
    base64(&random_bytes::<24>())
}

/// Random access token (32 hex chars, like real ones).
pub fn access_token() -> String {
    hex(&random_bytes::<16>())
}

/// `requestid` of a new-API error body.
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
    }

    #[test]
    fn frame_ids_have_four_parts() {
        let id = frame_message_id();
        assert_eq!(id.split('_').count(), 4, "{id}");
    }

    #[test]
    fn one_to_one_ids_are_stable() {
        assert_eq!(
            one_to_one_conversation_id("u1"),
            one_to_one_conversation_id("u1")
        );
        assert_ne!(
            one_to_one_conversation_id("u1"),
            one_to_one_conversation_id("u2")
        );
    }
}
