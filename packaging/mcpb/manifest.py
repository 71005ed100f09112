"""The manifest of the Claude Desktop extension (MCPB 0.3), for one platform.

Usage: python3 manifest.py VERSION PLATFORM EXECUTABLE  (prints the JSON)
Claude Desktop runs `server/EXECUTABLE connect URL` with the URL and the optional token the
user gave when installing; the token reaches connect in PIPEWRIGHT_TOKEN, never argv.
"""
import json
import sys

version, platform, exe = sys.argv[1:4]
manifest = {
    "manifest_version": "0.3",
    "name": "pipewright",
    "display_name": "Pipewright",
    "version": version,
    "description": "Your Pipewright data-integration server in Claude: connections, schemas, safe previews, packages, runs and schedules.",
    "long_description": (
        "Connects Claude Desktop to a Pipewright server through `pipewright connect`, a native "
        "bridge from Claude's stdio to your account's MCP endpoint. Give the endpoint URL shown on "
        "the Connected Applications page. Leave the token empty to sign in in your browser (the "
        "sign-in is kept in your config directory and refreshed), or paste a Personal Access "
        "Token, read-only if you like."
    ),
    "author": {"name": "Pipewright contributors"},
    "license": "Apache-2.0",
    "keywords": ["data integration", "etl", "database", "sql", "pipelines"],
    "server": {
        "type": "binary",
        "entry_point": f"server/{exe}",
        "mcp_config": {
            "command": "${__dirname}/server/" + exe,
            "args": ["connect", "${user_config.server_url}"],
            "env": {"PIPEWRIGHT_TOKEN": "${user_config.token}"},
        },
    },
    "tools_generated": True,
    "compatibility": {"platforms": [platform]},
    "user_config": {
        "server_url": {
            "type": "string",
            "title": "Pipewright MCP endpoint",
            "description": "Your account's endpoint, e.g. https://pipewright.example.com/acme/api/mcp (shown on the Connected Applications page).",
            "required": True,
        },
        "token": {
            "type": "string",
            "title": "Personal Access Token (optional)",
            "description": "A token from Connected Applications. Leave empty to sign in in your browser instead.",
            "required": False,
            "default": "",
            "sensitive": True,
        },
    },
}
print(json.dumps(manifest, indent=2))
