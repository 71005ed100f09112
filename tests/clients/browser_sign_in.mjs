// The user's browser for `pipewright connect`'s own sign-in: connect runs
// PIPEWRIGHT_BROWSER with the authorization address appended, and this opens it in
// Debian's Chromium (playwright-core), signs in, answers the consent screen (read only
// when ACCESS=read_only) and follows the redirect to connect's loopback listener.
// connect gives its browser no stdout, so what the browser saw goes to the file RESULT.
// Usage: PW_NPM_MODULES=… PW_CHROMIUM=… EMAIL=… PASSWORD=… RESULT=file [SHOT=png]
//   node browser_sign_in.mjs AUTHORIZATION_URL
import { pathToFileURL } from 'node:url';
import { writeFileSync } from 'node:fs';

const { chromium } = await import(pathToFileURL(`${process.env.PW_NPM_MODULES}/playwright-core/index.mjs`));
const out = { started: true };
const save = () => writeFileSync(process.env.RESULT, JSON.stringify(out));
save();
const browser = await chromium.launch({
  executablePath: process.env.PW_CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu'],
});
try {
  const page = await browser.newPage();
  const authorize = new URL(process.argv[2]);
  out.authorizePath = authorize.pathname;
  out.redirectUri = authorize.searchParams.get('redirect_uri');
  out.scope = authorize.searchParams.get('scope');
  out.resource = authorize.searchParams.get('resource');
  out.challengeMethod = authorize.searchParams.get('code_challenge_method');
  await page.goto(authorize.href);
  await page.waitForURL(/\/login/);
  await page.fill('#email', process.env.EMAIL);
  await page.fill('#password', process.env.PASSWORD);
  await Promise.all([page.waitForSelector('button[value="allow"]'), page.click('button[type="submit"]')]);
  out.consentText = (await page.locator('main p').first().textContent())?.replace(/\s+/g, ' ').trim();
  if (process.env.ACCESS === 'read_only') await page.check('input[value="read_only"]');
  if (process.env.SHOT) await page.screenshot({ path: process.env.SHOT });
  await Promise.all([
    page.waitForURL((u) => u.hostname === '127.0.0.1' && u.pathname === '/callback'),
    page.click('button[value="allow"]'),
  ]);
  out.landed = (await page.locator('body').textContent())?.trim();
} catch (e) {
  out.error = String(e);
} finally {
  await browser.close();
  save();
}
