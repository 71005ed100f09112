"""Drives the server with the official Python `mcp` SDK client.

Usage:
  TOKEN=... python py_client.py http URL
  PIPEWRIGHT_TOKEN=... python py_client.py stdio BIN stdio --account demo --data-dir DIR
Prints one JSON object summarising what the client saw.
"""
import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def exercise(session: ClientSession) -> dict:
    init = await session.initialize()
    tools = await session.list_tools()
    ws = await session.call_tool("list_workspaces", {"limit": 2})
    bad = await session.call_tool("list_clusters", {"limit": 1000})
    return {
        "server": init.server_info.name,
        "protocol": init.protocol_version,
        "tools": [
            {"name": t.name, "read_only": t.annotations.read_only_hint if t.annotations else None}
            for t in tools.tools
        ],
        "workspaces": ws.structured_content,
        "workspaces_is_error": ws.is_error,
        "bad": {"is_error": bad.is_error, "text": bad.content[0].text if bad.content else None},
    }


async def over_http(url: str) -> dict:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {os.environ['TOKEN']}"})
    async with http, streamable_http_client(url, http_client=http) as (read, write, *_):
        async with ClientSession(read, write) as session:
            return await exercise(session)


async def over_stdio(cmd: list[str]) -> dict:
    env = {"PIPEWRIGHT_TOKEN": os.environ["PIPEWRIGHT_TOKEN"], "PATH": os.environ.get("PATH", "")}
    params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=env)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            return await exercise(session)


def main() -> int:
    mode, rest = sys.argv[1], sys.argv[2:]
    out = asyncio.run(over_http(rest[0]) if mode == "http" else over_stdio(rest))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
