// The web pages in a real browser (Debian's Chromium, driven by playwright-core): sign in,
// the consent screen of an OAuth client, Connected Applications (create a token and see it
// once, revoke it), and the MCP endpoint refusing the revoked token. Screenshots go to
// ARTIFACTS. Usage: PW_NPM_MODULES=… PW_CHROMIUM=… EMAIL=… PASSWORD=… ARTIFACTS=DIR
//   node browser_pages.mjs BASE_URL
// Prints one JSON object with what the browser saw.
import { pathToFileURL } from 'node:url';
import { mkdirSync } from 'node:fs';
import http from 'node:http';

const { chromium } = await import(pathToFileURL(`${process.env.PW_NPM_MODULES}/playwright-core/index.mjs`));
const base = process.argv[2];
const shots = process.env.ARTIFACTS;
mkdirSync(shots, { recursive: true });
const out = {};

const browser = await chromium.launch({
  executablePath: process.env.PW_CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu'],
});
try {
  const context = await browser.newContext();
  const page = await context.newPage();

  // Sign in.
  await page.goto(`${base}/login?next=/apps`);
  out.loginHasPairing = await page.locator('input[name="pairing"]').count() === 1;
  await page.fill('#email', process.env.EMAIL);
  await page.fill('#password', process.env.PASSWORD);
  await page.screenshot({ path: `${shots}/1-sign-in.png` });
  await Promise.all([page.waitForURL(/\/apps\/demo$/), page.click('button[type="submit"]')]);
  out.afterSignIn = new URL(page.url()).pathname;
  out.cookies = (await context.cookies()).map((c) => ({ name: c.name, httpOnly: c.httpOnly, secure: c.secure, sameSite: c.sameSite }));
  out.csrfOnEveryForm = await page.locator('form[method="post"]').evaluateAll(
    (forms) => forms.every((f) => f.querySelector('input[name="csrf"]')?.value?.length > 20));

  // Create a token: shown once.
  await page.fill('#name', 'browser token');
  await Promise.all([page.waitForLoadState('load'), page.click('text=Create token')]);
  const token = (await page.locator('#new-token').textContent())?.trim();
  out.tokenShown = /^pwt_/.test(token ?? '');
  await page.screenshot({ path: `${shots}/2-token-created.png` });
  await page.goto(`${base}/apps/demo`);
  out.tokenShownAgain = (await page.content()).includes(token);
  out.tokenListed = (await page.locator('td', { hasText: 'browser token' }).count()) === 1;

  const mcp = (bearer) => fetch(`${base}/demo/api/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'browser-test', version: '1' } } }),
  });
  out.tokenWorks = (await mcp(token)).status;

  // Revoke it: refused on the next request.
  const row = page.locator('tr', { hasText: 'browser token' });
  await Promise.all([page.waitForLoadState('load'), row.locator('button', { hasText: 'Revoke' }).click()]);
  out.tokenListedAfterRevoke = (await page.locator('td', { hasText: 'browser token' }).count()) === 1;
  await page.screenshot({ path: `${shots}/3-token-revoked.png` });
  const refused = await mcp(token);
  out.revokedStatus = refused.status;
  out.revokedWwwAuthenticate = refused.headers.get('www-authenticate')?.startsWith('Bearer resource_metadata=') ?? false;

  // The consent screen of an OAuth client, answered in the browser.
  // The client's loopback redirect: a real listener on a free port, as a native client
  // runs; only the callback counts (the browser also asks it for a favicon).
  let landed = null;
  const callback = http.createServer((req, res) => {
    if (req.url.startsWith('/callback')) landed = `http://127.0.0.1${req.url}`;
    res.end('ok');
  });
  await new Promise((ok) => callback.listen(0, '127.0.0.1', ok));
  const port = callback.address().port;
  const redirect = `http://127.0.0.1:${port}/callback`;
  const reg = await (await fetch(`${base}/oauth/register`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'Browser Test Client', redirect_uris: [redirect], token_endpoint_auth_method: 'none' }),
  })).json();
  const challenge = 'bsWAifRm-68VmnvxMsA7-UC_nVyoxP7klSgqm-2Vj7o';
  const q = new URLSearchParams({ response_type: 'code', client_id: reg.client_id, redirect_uri: redirect, code_challenge: challenge, code_challenge_method: 'S256', state: 's1', resource: `${base}/demo/api/mcp` });
  await page.goto(`${base}/oauth/authorize?${q}`);
  out.consentText = (await page.locator('main p').first().textContent())?.replace(/\s+/g, ' ').trim();
  await page.screenshot({ path: `${shots}/4-consent.png` });
  await Promise.all([page.waitForURL((u) => u.port === String(port)), page.click('button[value="allow"]')]);
  callback.close();
  const back = new URL(landed);
  out.codeReturned = /^pwa_/.test(back.searchParams.get('code') ?? '');
  out.stateReturned = back.searchParams.get('state');
  await page.goto(`${base}/apps/demo`);
  out.grantListed = (await page.locator('td', { hasText: 'Browser Test Client' }).count()) === 1;
  await page.screenshot({ path: `${shots}/5-connected-applications.png` });
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
