//! DingTalk Stream mode client (protocol notes §2): `connections/open` → single-use ticket → WebSocket;
//! answers `ping`, ACKs every CALLBACK on the socket that delivered it, opens the replacement before letting
//! go of a socket the server asked to `disconnect`, replaces sockets that fall silent, and reconnects with
//! exponential backoff + jitter.

mod backoff;
mod client;
mod connection;
mod frames;
mod gateway;
mod handler;

pub use client::{StreamClient, StreamClientConfig};
pub use frames::{AckFrame, BOT_MESSAGE_TOPIC, DownFrame, FrameError, FrameKind};
pub use gateway::{GatewayError, Ticket, open_connection};
pub use handler::{AckSender, CallbackFrame, CallbackHandler};
