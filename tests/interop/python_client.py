"""Interop check with the official Python MCP SDK (an independent client).

usage: python_client.py http <url>        (token from $DINGBRIDGE_TOKEN)
       python_client.py stdio <helper-bin> (the helper finds the app through $DINGBRIDGE_RUNTIME_FILE)
       python_client.py sse <base-url>/sse (legacy HTTP+SSE; token from $DINGBRIDGE_TOKEN)
Prints one JSON summary line; exits non-zero if anything is off.
"""

import asyncio
import json
import os
import sys

import httpx2
import mcp
from mcp import ClientSession, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

EXPECTED = {
    "find_group", "find_user", "get_messages", "get_performance", "get_stats",
    "list_conversations", "send_message", "send_to_group", "send_to_user",
}


def check(tools, conversations, missing):
    names = {t.name for t in tools.tools}
    assert EXPECTED <= names, f"tools: {sorted(names)}"
    assert not conversations.is_error, conversations
    assert "items" in conversations.structured_content, conversations.structured_content
    assert missing.is_error, missing
    assert missing.structured_content["code"] == "NOT_FOUND", missing.structured_content
    return {"tools": len(names), "conversations": conversations.structured_content["total"],
            "error_code": missing.structured_content["code"]}


async def with_client(client):
    async with client:
        tools = await client.list_tools()
        conversations = await client.call_tool("list_conversations", {"page_size": 5})
        missing = await client.call_tool("get_messages", {"conversation_id": "cidNope=="})
        summary = check(tools, conversations, missing)
        summary["protocol"] = str(client.protocol_version)
        return summary


async def with_session(read, write):
    async with ClientSession(read, write) as session:
        init = await session.initialize()
        tools = await session.list_tools()
        conversations = await session.call_tool("list_conversations", {"page_size": 5})
        missing = await session.call_tool("get_messages", {"conversation_id": "cidNope=="})
        summary = check(tools, conversations, missing)
        summary["protocol"] = str(init.protocol_version)
        return summary


async def main(mode, target):
    token = os.environ.get("DINGBRIDGE_TOKEN", "")
    headers = {"Authorization": f"Bearer {token}"}
    if mode == "http":
        http_client = httpx2.AsyncClient(headers=headers, timeout=30)
        summary = await with_client(mcp.Client(streamable_http_client(target, http_client=http_client)))
    elif mode == "stdio":
        params = StdioServerParameters(command=target, args=[], env=dict(os.environ))
        summary = await with_client(mcp.Client(params))
    elif mode == "sse":
        async with sse_client(target, headers=headers) as (read, write):
            summary = await with_session(read, write)
    else:
        raise SystemExit(f"unknown mode {mode}")
    summary["mode"] = mode
    print(json.dumps(summary))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
