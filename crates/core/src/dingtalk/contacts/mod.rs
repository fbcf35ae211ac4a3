//! Finding people and groups by name (protocol notes §5): org users through the contacts API, groups from
//! the directory learned from inbound messages (there is no documented "search groups" API for app robots).

mod directory;
mod error;
mod matching;
mod service;
mod types;

pub use directory::Directory;
pub use error::ContactsError;
pub use matching::{MatchKind, match_by_name};
pub use service::ContactsService;
pub use types::{GroupInfo, Lookup, LookupStatus, MemberSeen, UserInfo};
