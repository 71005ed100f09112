// The official TypeScript SDK's OAuth client provider against the server, starting from
// nothing but the endpoint URL: the SDK discovers the authorization server from the 401,
// registers, and sends the "browser" to the authorization URL; this script plays the user
// (sign in, consent) over HTTP with a cookie jar, hands the code back to the SDK, calls
// tools, forces a refresh (a stale access token), revokes, and checks it is cut off.
// Usage: PW_NPM_MODULES=… EMAIL=… PASSWORD=… node ts_oauth.mjs URL
// Prints one JSON object summarising what happened.
import { pathToFileURL } from 'node:url';

const sdk = `${process.env.PW_NPM_MODULES}/@modelcontextprotocol/sdk/dist/esm`;
const { Client } = await import(pathToFileURL(`${sdk}/client/index.js`));
const { StreamableHTTPClientTransport } = await import(pathToFileURL(`${sdk}/client/streamableHttp.js`));
const { UnauthorizedError } = await import(pathToFileURL(`${sdk}/client/auth.js`));

const mcp = new URL(process.argv[2]);
const base = mcp.origin;
const REDIRECT = 'http://127.0.0.1:9/callback';
const store = {};
let authUrl = null;
const seen = { registered: false, refreshed: false, redirects: 0 };

const provider = {
  get redirectUrl() { return REDIRECT; },
  get clientMetadata() {
    return {
      client_name: 'TypeScript SDK e2e', redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  },
  state: () => (store.state = crypto.randomUUID()),
  clientInformation: () => store.client,
  saveClientInformation: (c) => { store.client = c; seen.registered = true; },
  tokens: () => store.tokens,
  saveTokens: (t) => {
    if (store.tokens && t.refresh_token !== store.tokens.refresh_token) seen.refreshed = true;
    store.tokens = t;
  },
  redirectToAuthorization: (u) => { authUrl = u; seen.redirects += 1; },
  saveCodeVerifier: (v) => { store.verifier = v; },
  codeVerifier: () => store.verifier,
  invalidateCredentials: (s) => {
    if (s === 'all' || s === 'tokens') delete store.tokens;
    if (s === 'all' || s === 'client') delete store.client;
  },
};

// The user's browser: a cookie jar and form posts.
const jar = new Map();
const keep = (r) => {
  for (const c of r.headers.getSetCookie?.() ?? []) {
    const [kv] = c.split(';');
    const i = kv.indexOf('=');
    jar.set(kv.slice(0, i), kv.slice(i + 1));
  }
};
const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
const browse = async (url, init = {}) => {
  const r = await fetch(url, { redirect: 'manual', ...init, headers: { ...(init.headers ?? {}), cookie: cookie() } });
  keep(r);
  return r;
};
const form = (o) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(o).toString() });

// HTML character references back to text (the page escapes attribute values).
const unescape = (v) => v
  .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
  .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
  .replaceAll('&quot;', '"').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');

async function userApproves(url) {
  let r = await browse(url);
  if (r.status === 303 && r.headers.get('location').startsWith('/login')) {
    const login = new URL(r.headers.get('location'), base);
    const next = login.searchParams.get('next');
    const page = await (await browse(login)).text();
    const pairing = unescape(page.match(/name="pairing" value="([^"]*)"/)[1]);
    r = await browse(`${base}/login`, form({ email: process.env.EMAIL, password: process.env.PASSWORD, next, pairing }));
    if (r.status !== 303) throw new Error(`sign-in answered ${r.status}`);
    r = await browse(new URL(r.headers.get('location'), base));
  }
  if (r.status !== 200) throw new Error(`consent page answered ${r.status}`);
  const html = await r.text();
  const fields = Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)]
    .map((m) => [m[1], unescape(m[2])]));
  r = await browse(`${base}/oauth/authorize`, form({ ...fields, decision: 'allow', access: 'full' }));
  if (r.status !== 303) throw new Error(`consent answered ${r.status}`);
  const back = new URL(r.headers.get('location'));
  if (back.searchParams.get('state') !== store.state) throw new Error('state changed');
  return back.searchParams.get('code');
}

const out = { consentShown: false };
// 1. Unauthenticated: the SDK discovers, registers and asks for the browser.
const t1 = new StreamableHTTPClientTransport(mcp, { authProvider: provider });
try {
  await new Client({ name: 'ts-oauth', version: '1' }).connect(t1);
  throw new Error('connected without signing in');
} catch (e) {
  if (!(e instanceof UnauthorizedError)) throw e;
}
out.authUrl = authUrl ? new URL(authUrl).pathname : null;
out.resource = authUrl ? new URL(authUrl).searchParams.get('resource') : null;
out.challengeMethod = authUrl ? new URL(authUrl).searchParams.get('code_challenge_method') : null;
const code = await userApproves(authUrl);
out.consentShown = true;
await t1.finishAuth(code);

// 2. Signed in: tools work.
let client = new Client({ name: 'ts-oauth', version: '1' });
await client.connect(new StreamableHTTPClientTransport(mcp, { authProvider: provider }));
out.tools = (await client.listTools()).tools.length;
const ws = await client.callTool({ name: 'list_workspaces', arguments: { limit: 2 } });
out.workspacesIsError = ws.isError ?? false;
await client.close();

// 3. A stale access token: the SDK refreshes on the 401 and goes on.
store.tokens = { ...store.tokens, access_token: 'pwo_stale' };
client = new Client({ name: 'ts-oauth', version: '1' });
await client.connect(new StreamableHTTPClientTransport(mcp, { authProvider: provider }));
out.toolsAfterRefresh = (await client.listTools()).tools.length;
out.refreshed = seen.refreshed;
await client.close();

// 4. Revoked: the next request is refused and the SDK falls back to signing in again.
const rv = await fetch(`${base}/oauth/revoke`, form({ token: store.tokens.refresh_token, client_id: store.client.client_id }));
out.revokeStatus = rv.status;
const before = seen.redirects;
try {
  client = new Client({ name: 'ts-oauth', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(mcp, { authProvider: provider }));
  out.afterRevoke = 'connected';
} catch (e) {
  out.afterRevoke = e instanceof UnauthorizedError ? 'unauthorized' : `error: ${e.message}`;
}
out.askedToSignInAgain = seen.redirects > before;
out.registered = seen.registered;
console.log(JSON.stringify(out));
