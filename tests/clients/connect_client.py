"""The official Python `mcp` SDK's stdio client, driving `pipewright connect URL` as the
client the conformance suite tests (`conformance client --command "python connect_client.py"`
appends the URL of the server it stands up for each scenario).

It initializes, lists the tools and calls each (with `a` and `b` where a tool takes them),
which is what the suite's client scenarios expect of a client; with CALLS (a JSON list of
[name, arguments]) it calls only those, and prints what it saw as one JSON object. What a real user configures
comes from the scenario's context (MCP_CONFORMANCE_CONTEXT): a pre-registered client's id
and secret. The "browser" is curl, following the authorization server's redirect back to
connect's loopback listener (the suite's authorization servers consent at once). Each run
keeps its sign-in in a fresh config directory. PIPEWRIGHT_BIN names the binary.
"""
import asyncio
import json
import os
import sys
import tempfile

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def drive(url: str, env: dict) -> dict:
    params = StdioServerParameters(command=os.environ["PIPEWRIGHT_BIN"], args=["connect", url], env=env)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            calls = json.loads(os.environ["CALLS"]) if os.environ.get("CALLS") else [
                [t.name, {"a": 2, "b": 3} if {"a", "b"} <= set((t.input_schema or {}).get("properties", {})) else {}]
                for t in tools.tools
            ]
            seen = {"tools": len(tools.tools), "calls": []}
            for name, args in calls:
                result = await session.call_tool(name, args)
                seen["calls"].append({
                    "name": name,
                    "is_error": result.is_error,
                    "text": result.content[0].text if result.content else None,
                })
            return seen


def main() -> int:
    url = sys.argv[-1]
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    with tempfile.TemporaryDirectory() as config:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PIPEWRIGHT_CONFIG_DIR": os.environ.get("PIPEWRIGHT_CONFIG_DIR", config),
            "PIPEWRIGHT_BROWSER": os.environ.get("PIPEWRIGHT_BROWSER", "curl -fsS -o /dev/null --max-redirs 3 -L"),
        }
        if os.environ.get("MCP_CONFORMANCE_SCENARIO"):
            # This client's metadata document, as the suite's CIMD scenario expects it.
            env["PIPEWRIGHT_OAUTH_CLIENT_METADATA_URL"] = "https://conformance-test.local/client-metadata.json"
        if context.get("client_id"):
            env["PIPEWRIGHT_OAUTH_CLIENT_ID"] = context["client_id"]
        if context.get("client_secret"):
            env["PIPEWRIGHT_OAUTH_CLIENT_SECRET"] = context["client_secret"]
        # What a browser of the test's own needs (tests/clients/browser_sign_in.mjs).
        for k in ("PW_NPM_MODULES", "PW_CHROMIUM", "EMAIL", "PASSWORD", "RESULT", "SHOT", "ACCESS", "HOME"):
            if k in os.environ:
                env[k] = os.environ[k]
        print(json.dumps(asyncio.run(drive(url, env))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
