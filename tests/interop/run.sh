#!/usr/bin/env bash
# MCP interop with independent clients against a real `dingbridged demo` (simulator-backed):
#   Python SDK (Streamable HTTP, legacy SSE, stdio helper), MCP Inspector CLI (HTTP + stdio helper),
#   the conformance suite (Node 22) and OpenCode (`opencode mcp list`, local + remote).
# Needs: cargo build -p dingbridge-cli; scripts/setup-mcp-interop.sh (run here if tools are missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
[ -f tests/interop/.tools.env ] || scripts/setup-mcp-interop.sh >/dev/null
# shellcheck disable=SC1091
source tests/interop/.tools.env
BIN="${DINGBRIDGE_BIN_DIR:-$ROOT/target/debug}"
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

export HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config" XDG_DATA_HOME="$WORK/home/.local/share" \
       XDG_CACHE_HOME="$WORK/home/.cache" XDG_STATE_HOME="$WORK/home/.local/state"
mkdir -p "$HOME"
unset DINGBRIDGE_TOKEN DINGBRIDGE_MCP_URL
export DINGBRIDGE_CONFIG="$WORK/none.toml" DINGBRIDGE_RUNTIME_FILE="$WORK/data/runtime.json"

step "start dingbridged demo"
"$BIN/dingbridged" --data-dir "$WORK/data" --port 0 --mcp-port 0 demo >"$WORK/daemon.out" 2>"$WORK/daemon.err" &
PIDS+=($!)
for _ in $(seq 100); do grep -q DINGBRIDGE_MCP_URL "$WORK/daemon.out" 2>/dev/null && break; sleep 0.1; done
URL="$(sed -n 's/^DINGBRIDGE_MCP_URL=//p' "$WORK/daemon.out")"
[ -n "$URL" ] || fail "no MCP URL"; BASE="${URL%/mcp}"; PORT="${BASE##*:}"
TOKEN="$("$BIN/dingbridged" --data-dir "$WORK/data" mcp-token)"
echo "MCP at $URL"; sleep 2  # let demo traffic create some conversations

step "Python SDK over Streamable HTTP"
DINGBRIDGE_TOKEN="$TOKEN" "$MCP_PYTHON" tests/interop/python_client.py http "$URL"
step "Python SDK over legacy HTTP+SSE"
DINGBRIDGE_TOKEN="$TOKEN" "$MCP_PYTHON" tests/interop/python_client.py sse "$BASE/sse"
step "Python SDK through the stdio helper"
"$MCP_PYTHON" tests/interop/python_client.py stdio "$BIN/dingbridge-mcp"

INSPECT=("$MCP_NODE22" "$ROOT/tests/interop/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js")
[ -f "${INSPECT[1]}" ] || INSPECT=("$MCP_INSPECTOR")
step "MCP Inspector CLI: tools/list over HTTP"
export NODE_NO_WARNINGS=1
# Output goes to a file first: `| head` could close the pipe early and kill the writer (SIGPIPE, pipefail).
"${INSPECT[@]}" --cli "$URL" --transport http --header "Authorization: Bearer $TOKEN" --method tools/list \
    > "$WORK/inspector-list.json"
head -c 300 "$WORK/inspector-list.json"; echo
grep -q '"send_message"' "$WORK/inspector-list.json" || fail "inspector tools/list"
step "MCP Inspector CLI: tools/call over HTTP"
"${INSPECT[@]}" --cli "$URL" --transport http --header "Authorization: Bearer $TOKEN" --method tools/call \
    --tool-name list_conversations --tool-arg page_size=2 > "$WORK/inspector-call.json"
head -c 300 "$WORK/inspector-call.json"; echo
grep -q '"structuredContent"' "$WORK/inspector-call.json" || fail "inspector tools/call"
step "MCP Inspector CLI: tools/list + tools/call through the stdio helper"
# The Inspector starts stdio servers with a minimal environment (the MCP SDK's default list): hand over the
# private D-Bus session of scripts/with-keychain, where the helper reads the MCP token from the keychain.
"${INSPECT[@]}" --cli "$BIN/dingbridge-mcp" -e "DINGBRIDGE_RUNTIME_FILE=$DINGBRIDGE_RUNTIME_FILE" \
    -e "DBUS_SESSION_BUS_ADDRESS=${DBUS_SESSION_BUS_ADDRESS:-}" --method tools/list \
    > "$WORK/inspector-stdio-list.json"
grep -q '"get_stats"' "$WORK/inspector-stdio-list.json" || fail "inspector stdio tools/list"
"${INSPECT[@]}" --cli "$BIN/dingbridge-mcp" -e "DINGBRIDGE_RUNTIME_FILE=$DINGBRIDGE_RUNTIME_FILE" \
    -e "DBUS_SESSION_BUS_ADDRESS=${DBUS_SESSION_BUS_ADDRESS:-}" --method tools/call \
    --tool-name get_messages --tool-arg conversation_id=cidNope== >"$WORK/inspector-err.json" 2>&1 || true
head -c 300 "$WORK/inspector-err.json"; echo  # the Inspector exits non-zero on isError results, by design
grep -q 'NOT_FOUND' "$WORK/inspector-err.json" || fail "inspector stdio error code"

step "conformance suite (Node 22) through a header-adding loopback proxy"
PROXY_PORT=$(( (RANDOM % 20000) + 30000 ))
DINGBRIDGE_TOKEN="$TOKEN" "$MCP_NODE22" tests/interop/auth_proxy.mjs "$PROXY_PORT" "$PORT" >"$WORK/proxy.out" &
PIDS+=($!)
for _ in $(seq 50); do grep -q READY "$WORK/proxy.out" 2>/dev/null && break; sleep 0.1; done
for scenario in server-initialize tools-list dns-rebinding-protection server-session-lifecycle http-header-validation; do
    "$MCP_NODE22" "$MCP_CONFORMANCE_JS" server --url "http://127.0.0.1:$PROXY_PORT/mcp" --scenario "$scenario" \
        >"$WORK/conf-$scenario.txt" 2>&1 || { cat "$WORK/conf-$scenario.txt"; fail "conformance $scenario"; }
    echo "conformance $scenario: $(grep -Eo 'Passed: [0-9]+/[0-9]+' "$WORK/conf-$scenario.txt" | tail -1)"
done

step "OpenCode: opencode mcp list (local helper + remote HTTP)"
PROJECT="$WORK/project"; mkdir -p "$PROJECT"
cat >"$PROJECT/opencode.json" <<JSON
{
  "\$schema": "https://opencode.ai/config.json",
  "autoupdate": false,
  "share": "disabled",
  "mcp": {
    "dingtalk": {"type": "local", "command": ["$BIN/dingbridge-mcp"], "environment": {"DINGBRIDGE_RUNTIME_FILE": "$DINGBRIDGE_RUNTIME_FILE"}},
    "dingtalk_remote": {"type": "remote", "url": "$URL", "oauth": false, "headers": {"Authorization": "Bearer {env:DINGBRIDGE_TOKEN}"}}
  }
}
JSON
(cd "$PROJECT" && DINGBRIDGE_TOKEN="$TOKEN" OPENCODE_DISABLE_AUTOUPDATE=1 OPENCODE_DISABLE_MODELS_FETCH=1 \
    timeout 120 "$MCP_OPENCODE" mcp list 2>&1 | sed 's/\x1b\[[0-9;]*m//g') | tee "$WORK/opencode.txt"
[ "$(grep -c 'connected' "$WORK/opencode.txt")" -ge 2 ] || fail "opencode did not connect both servers"

step "OpenCode: dingbridged opencode add merges into a commented global opencode.jsonc"
OC_DIR="$XDG_CONFIG_HOME/opencode"; mkdir -p "$OC_DIR"
cat >"$OC_DIR/opencode.jsonc" <<'JSONC'
{
  // written by hand: DingBridge must keep this comment
  "$schema": "https://opencode.ai/config.json",
  "autoupdate": false,
  "share": "disabled",
  "mcp": {
    /* another server the user already has */
    "other": {"type": "local", "command": ["/bin/true"], "enabled": false},
  },
}
JSONC
cp "$OC_DIR/opencode.jsonc" "$WORK/opencode.jsonc.orig"
"$BIN/dingbridged" opencode add >"$WORK/opencode-add.txt"
cat "$WORK/opencode-add.txt"
BACKUP="$(sed -n 's/^backup: //p' "$WORK/opencode-add.txt")"
[ -n "$BACKUP" ] && cmp -s "$BACKUP" "$WORK/opencode.jsonc.orig" || fail "no byte-identical backup of opencode.jsonc"
grep -q 'DingBridge must keep this comment' "$OC_DIR/opencode.jsonc" || fail "the // comment was lost"
grep -q 'another server the user already has' "$OC_DIR/opencode.jsonc" || fail "the /* */ comment was lost"
grep -q '"other"' "$OC_DIR/opencode.jsonc" || fail "the other server was lost"
grep -q "\"$BIN/dingbridge-mcp\"" "$OC_DIR/opencode.jsonc" || fail "no absolute helper path in the entry"
"$BIN/dingbridged" opencode status >"$WORK/opencode-status.txt"
grep -q '^entry: current' "$WORK/opencode-status.txt" || fail "opencode status is not current"
# A directory without a project config: only the global config (and so only our entry) applies.
GLOBAL_ONLY="$WORK/global-only"; mkdir -p "$GLOBAL_ONLY"
(cd "$GLOBAL_ONLY" && OPENCODE_DISABLE_AUTOUPDATE=1 OPENCODE_DISABLE_MODELS_FETCH=1 \
    timeout 120 "$MCP_OPENCODE" mcp list 2>&1 | sed 's/\x1b\[[0-9;]*m//g') | tee "$WORK/opencode-global.txt"
grep -Eq 'dingtalk.*connected' "$WORK/opencode-global.txt" || fail "opencode did not connect the added dingtalk server"

step "all MCP interop checks passed"
