//! `/project` in a chat: list the projects (marking the chat's own) or bind the chat to another one. All
//! of its chat texts are here, in one place, for translation.

use crate::agent::opencode::managed::ManagedBackend;

const EXTERNAL: &str = "Projects are available when DingBridge runs OpenCode itself (no OpenCode URL configured). \
This bridge talks to an OpenCode server you run, which works in its own directory.";
const NONE: &str = "No project is configured. Add one in the settings (agent.projects).";

/// What to answer to `/project` (`name` = `None`) or `/project <name>`.
pub async fn run(
    managed: Option<&ManagedBackend>,
    conversation_id: &str,
    name: Option<&str>,
) -> String {
    let Some(managed) = managed else {
        return EXTERNAL.to_owned();
    };
    match name {
        None => match managed.choices(conversation_id).await {
            Ok(choices) if choices.is_empty() => NONE.to_owned(),
            Ok(choices) => {
                let mut text = String::from("**Projects**\n\n");
                for choice in choices {
                    let mark = if choice.current { " ← this chat" } else { "" };
                    text.push_str(&format!(
                        "- `{}` — {}{mark}\n",
                        choice.project.name,
                        choice.project.path.display()
                    ));
                }
                text.push_str("\nSwitch with `/project <name>`.");
                text
            }
            Err(err) => format!("Could not read the projects: {err}"),
        },
        Some(name) => match managed.switch(conversation_id, name).await {
            Ok(project) => format!(
                "This chat now works in project `{}` ({}). The next message starts a fresh OpenCode session there.",
                project.name,
                project.path.display()
            ),
            Err(_) if !managed.projects().iter().any(|p| p.name == name) => {
                let names: Vec<String> = managed
                    .projects()
                    .iter()
                    .map(|p| format!("`{}`", p.name))
                    .collect();
                format!(
                    "There is no project `{name}`. Projects: {}.",
                    names.join(", ")
                )
            }
            Err(err) => format!("Could not switch the project: {err}"),
        },
    }
}
