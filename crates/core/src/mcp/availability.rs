//! Which tool needs what. Tools of an unavailable group are hidden from `tools/list` and answer
//! `AUTH_ERROR` if called anyway (clients may cache an older list).

use super::backend::ToolAvailability;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolGroup {
    /// Works from the local store and engine state alone.
    Local,
    Messaging,
    Contacts,
    Docs,
}

/// The group of a tool name; Docs tools (registered by the Docs module) share the `doc` naming.
pub fn group_of(tool: &str) -> ToolGroup {
    match tool {
        "send_message" | "send_to_user" | "send_to_group" => ToolGroup::Messaging,
        "find_user" => ToolGroup::Contacts,
        name if name.ends_with("_doc") || name.ends_with("_docs") => ToolGroup::Docs,
        _ => ToolGroup::Local,
    }
}

pub fn is_available(tool: &str, availability: ToolAvailability) -> bool {
    match group_of(tool) {
        ToolGroup::Local => true,
        ToolGroup::Messaging => availability.messaging,
        ToolGroup::Contacts => availability.contacts,
        ToolGroup::Docs => availability.docs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_tools_stay_available_without_credentials() {
        let none = ToolAvailability::LOCAL_ONLY;
        assert!(is_available("list_conversations", none));
        assert!(is_available("find_group", none));
        assert!(!is_available("send_message", none));
        assert!(!is_available("find_user", none));
        assert!(!is_available("create_doc", none));
        assert!(!is_available("list_docs", none));
    }
}
