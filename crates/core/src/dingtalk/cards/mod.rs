//! AI cards (protocol notes §3.5 family B): create + deliver a card from a card-builder template, then stream
//! the agent's answer into its markdown variable. Any card failure is a `CardError`; the bridge then
//! degrades to markdown chunks for a cool-down.

mod client;
mod error;
mod streamer;

pub use client::{CardClient, CardTarget, StreamUpdate};
pub use error::CardError;
pub use streamer::{
    CardStreamer, DEFAULT_FIRST_INTERVAL, DEFAULT_MIN_INTERVAL, DEFAULT_SAFE_BYTES, StreamerConfig,
    safe_prefix, spacing_after,
};
