//! When the app cannot be reached, `dingbridge-mcp` keeps reading stdin and answers every request with a
//! JSON-RPC error that says what is wrong, instead of exiting silently (a client would only see "connection
//! closed"). Notifications are ignored. Ends when stdin closes.

use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

use crate::mcp_locate::Problem;

/// JSON-RPC "server error" range; `data.reason` tells the cases apart.
pub const HELPER_ERROR_CODE: i64 = -32000;

pub fn error_response(id: &Value, problem: &Problem) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {
            "code": HELPER_ERROR_CODE,
            "message": problem.message,
            "data": { "reason": problem.reason, "source": "dingbridge-mcp" },
        },
    })
}

/// Answers requests read from `input` on `output` until `input` ends.
pub async fn answer_with_errors<R, W>(
    input: R,
    mut output: W,
    problem: &Problem,
) -> std::io::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut lines = input.lines();
    while let Some(line) = lines.next_line().await? {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let reply = match serde_json::from_str::<Value>(line) {
            Ok(message) => match (message.get("id"), message.get("method")) {
                (Some(id), Some(_)) if !id.is_null() => error_response(id, problem),
                _ => continue,
            },
            Err(_) => json!({
                "jsonrpc": "2.0",
                "id": null,
                "error": {"code": -32700, "message": "Parse error: expected one JSON-RPC message per line"},
            }),
        };
        let mut text = reply.to_string();
        text.push('\n');
        output.write_all(text.as_bytes()).await?;
        output.flush().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_get_an_error_naming_the_problem_and_notifications_get_nothing() {
        let input = concat!(
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
            "\n",
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            "\n",
            r#"{"jsonrpc":"2.0","id":"x","method":"tools/list"}"#,
            "\n"
        );
        let mut out = Vec::new();
        let problem = Problem::not_running("DingBridge is not running");
        answer_with_errors(
            tokio::io::BufReader::new(input.as_bytes()),
            &mut out,
            &problem,
        )
        .await
        .unwrap();
        let lines: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["id"], 1);
        assert_eq!(lines[0]["error"]["data"]["reason"], "app_not_running");
        assert_eq!(lines[1]["id"], "x");
    }
}
