//! App access tokens (`POST /v1.0/oauth2/accessToken`, protocol notes §4.1).

mod manager;
mod policy;

pub use manager::{AuthState, AuthStatus, TokenManager};
pub use policy::RefreshPolicy;
