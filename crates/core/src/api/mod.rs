//! The control surface the UI uses: a status snapshot, the live event stream, and (headless) the HTTP routes
//! that serve both plus the static dashboard.

pub mod http;
pub mod settings;
pub mod status;
