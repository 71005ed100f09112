// Drives the server with the official TypeScript SDK client over Streamable HTTP.
// Usage: PW_NPM_MODULES=… TOKEN=… node ts_client.mjs URL
// Prints one JSON object summarising what the client saw.
import { pathToFileURL } from 'node:url';

const sdk = `${process.env.PW_NPM_MODULES}/@modelcontextprotocol/sdk/dist/esm`;
const { Client } = await import(pathToFileURL(`${sdk}/client/index.js`));
const { StreamableHTTPClientTransport } = await import(pathToFileURL(`${sdk}/client/streamableHttp.js`));

const url = new URL(process.argv[2]);
const transport = new StreamableHTTPClientTransport(url, {
  requestInit: { headers: { Authorization: `Bearer ${process.env.TOKEN}` } },
});
const client = new Client({ name: 'pipewright-e2e-ts', version: '1.0.0' });
await client.connect(transport);
const tools = await client.listTools();
// callTool validates structuredContent against each tool's outputSchema.
const ws = await client.callTool({ name: 'list_workspaces', arguments: { limit: 2 } });
const pkgs = await client.callTool({ name: 'list_packages', arguments: { limit: 3 } });
const bad = await client.callTool({ name: 'get_package', arguments: { package_id: 'seven' } });
console.log(JSON.stringify({
  server: client.getServerVersion(),
  protocol: transport.protocolVersion ?? null,
  session: transport.sessionId ?? null,
  tools: tools.tools.map((t) => ({ name: t.name, readOnly: t.annotations?.readOnlyHint ?? null })),
  workspaces: ws.structuredContent,
  packages: pkgs.structuredContent,
  bad: { isError: bad.isError, text: bad.content?.[0]?.text ?? null },
}));
await client.close();
