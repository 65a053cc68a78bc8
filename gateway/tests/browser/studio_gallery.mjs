// Scenario: search the template gallery, open a template, install it in one click (giving the
// secret it needs) and land on its canvas; tidy it up with auto-layout; publish it back as the
// creator's own template and find it on their profile page.
// Run by the browser harness: AOS_BASE_URL is the server (API and the built studio at /studio/),
// CHROMIUM the browser (Debian's by default); exits non-zero with the reason on failure.
import { chromium } from 'playwright-core';

const BASE = process.env.AOS_BASE_URL;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const fail = (msg) => { console.error(`studio_gallery: ${msg}`); process.exit(1); };
if (!BASE) fail('AOS_BASE_URL is not set');

async function api(method, path, body, token) {
  const res = await fetch(BASE + path, {
    method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const stamp = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
const account = await api('POST', '/api/auth/signup', { email: `gal-${stamp}@example.com`, password: 'correct horse battery', name: 'Gal', org_name: 'Gallery' });
const listed = await api('GET', '/api/gallery?search=Slack', undefined, account.token);
const template = listed.find((t) => t.latest_version > 0);
if (!template) fail('the gallery has no published Slack template');
const detail = await api('GET', `/api/templates/${template.id}`, undefined, account.token);
const needed = detail.latest.required_secrets;

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  await context.addInitScript(([t, r]) => { localStorage.setItem('aos.token', t); localStorage.setItem('aos.refresh', r); }, [account.token, account.refresh_token]);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${BASE}/studio/gallery`);
  await page.getByTestId('gallery-search').fill('Slack');
  await page.getByTestId(`template-${template.slug}`).click();
  await page.getByTestId('template-detail').waitFor();
  for (const name of needed) await page.getByTestId(`install-secret-${name}`).fill(`value-of-${name}`);
  await page.getByTestId('install').click();
  await page.waitForURL(/\/studio\/w\//, { timeout: 15000 });
  await page.waitForSelector('[data-testid="conn-status"][data-state="online"]', { timeout: 30000 });
  await page.waitForSelector('g.node');
  const id = page.url().split('/studio/w/')[1];
  const graph = (await api('GET', `/api/workflows/${id}`, undefined, account.token)).graph;
  if ((await page.locator('g.node').count()) !== graph.nodes.length) fail('the canvas does not show every installed node');
  // the secrets given at install time are the org's now (names only come back)
  const secrets = (await api('GET', `/api/orgs/${account.org_id}/secrets`, undefined, account.token)).map((s) => s.name);
  for (const name of needed) if (!secrets.includes(name)) fail(`secret ${name} was not stored`);
  // tidy up writes the layered layout into the draft: columns 320 apart from x = 40
  await page.getByTestId('auto-layout').click();
  for (let i = 0; ; i++) {
    const after = (await api('GET', `/api/workflows/${id}`, undefined, account.token)).graph;
    if (after.nodes.every((n) => (n.position.x - 40) % 320 === 0 && n.position.y >= 40)) break;
    if (i > 50) fail('auto-layout never reached the draft');
    await page.waitForTimeout(100);
  }
  // publish it as this creator's template; it shows on their profile
  const handle = `gal${stamp.replace(/[^0-9]/g, '')}`;
  await api('PUT', '/api/creators/me', { handle, display_name: 'Gal Creator', bio: 'Remixes templates.' }, account.token);
  await page.getByTestId('open-share').click();
  await page.getByTestId('share-slug').fill(`remix-${stamp}`);
  await page.getByTestId('share-name').fill('My remix');
  await page.getByTestId('share-publish').click();
  await page.waitForSelector('[data-testid="share-result"]:has-text("published to the gallery")');

  // back returns to the gallery without a reload
  await page.goBack();
  await page.getByTestId('gallery-search').waitFor();

  await page.goto(`${BASE}/studio/creators/${handle}`);
  await page.getByTestId('creator-name').waitFor();
  await page.waitForSelector('.creator .template-card:has-text("My remix")');
  console.log('studio_gallery: ok');
} finally {
  await browser.close();
}
