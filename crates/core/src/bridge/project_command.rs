//! `/project` in a chat: list the projects (marking the chat's own) or bind the chat to another one.

use crate::agent::opencode::managed::ManagedBackend;
use crate::i18n::{ChatKey, ChatText, Lang};

/// What to answer to `/project` (`name` = `None`) or `/project <name>`.
pub async fn run(
    managed: Option<&ManagedBackend>,
    conversation_id: &str,
    name: Option<&str>,
    lang: Lang,
) -> String {
    let Some(managed) = managed else {
        return ChatText::get(lang, ChatKey::ProjectExternal);
    };
    let Some(name) = name else {
        return match managed.choices(conversation_id).await {
            Ok(choices) if choices.is_empty() => ChatText::get(lang, ChatKey::ProjectNone),
            Ok(choices) => {
                let current = ChatText::get(lang, ChatKey::ProjectCurrent);
                let items: Vec<String> = choices
                    .iter()
                    .map(|choice| {
                        let mark = if choice.current { current.as_str() } else { "" };
                        format!(
                            "- `{}` — {}{mark}",
                            choice.project.name,
                            choice.project.path.display()
                        )
                    })
                    .collect();
                ChatText::render(lang, ChatKey::ProjectList, &[("items", &items.join("\n"))])
            }
            Err(err) => {
                ChatText::render(lang, ChatKey::ProjectFailed, &[("error", &err.to_string())])
            }
        };
    };
    if !managed.projects().iter().any(|p| p.name == name) {
        let names: Vec<String> = managed
            .projects()
            .iter()
            .map(|p| format!("`{}`", p.name))
            .collect();
        return ChatText::render(
            lang,
            ChatKey::ProjectUnknown,
            &[("name", name), ("names", &names.join(", "))],
        );
    }
    match managed.switch(conversation_id, name).await {
        Ok(project) => ChatText::render(
            lang,
            ChatKey::ProjectSwitched,
            &[
                ("name", &project.name),
                ("path", &project.path.display().to_string()),
            ],
        ),
        Err(err) => ChatText::render(lang, ChatKey::ProjectFailed, &[("error", &err.to_string())]),
    }
}
