// Scenario: two browser contexts edit one workflow; each sees the other's edits, avatar, cursor
// and selection.
// Run by the browser harness: AOS_BASE_URL is the server (API and the built studio at /studio/),
// CHROMIUM the browser (Debian's by default); exits non-zero with the reason on failure.
import { chromium } from 'playwright-core';

const BASE = process.env.AOS_BASE_URL;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const fail = (msg) => { console.error(`studio_coedit: ${msg}`); process.exit(1); };
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
const ada = await api('POST', '/api/auth/signup', { email: `ada-${stamp}@example.com`, password: 'correct horse battery', name: 'Ada Lovelace', org_name: 'Team' });
const grace = await api('POST', '/api/auth/signup', { email: `grace-${stamp}@example.com`, password: 'correct horse battery', name: 'Grace Hopper', org_name: 'Other' });
await api('POST', `/api/orgs/${ada.org_id}/members`, { email: `grace-${stamp}@example.com`, role: 'editor' }, ada.token);
const workflow = await api('POST', `/api/orgs/${ada.org_id}/workflows`, { name: 'Together' }, ada.token);
await api('PUT', `/api/workflows/${workflow.id}/graph`, {
  nodes: [{ id: 'start', kind: 'trigger.manual', label: 'Start', position: { x: 40, y: 80 }, config: {} }],
  edges: [],
}, ada.token);

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
try {
  async function open(account) {
    const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
    await context.addInitScript(([t, r]) => { localStorage.setItem('aos.token', t); localStorage.setItem('aos.refresh', r); }, [account.token, account.refresh_token]);
    const page = await context.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(`${BASE}/studio/w/${workflow.id}`);
    await page.waitForSelector('[data-testid="conn-status"][data-state="online"]', { timeout: 30000 });
    await page.waitForSelector('[data-testid="node-start"]');
    return page;
  }
  const a = await open(ada);
  const b = await open(grace);

  // each sees the other's avatar
  await a.waitForSelector('[data-testid="avatar"][data-name="Grace Hopper"]', { timeout: 15000 });
  await b.waitForSelector('[data-testid="avatar"][data-name="Ada Lovelace"]', { timeout: 15000 });

  // Ada adds a step (a click on the palette places it at the canvas's centre); Grace sees it
  await a.getByTestId('palette-logic.delay').click();
  await a.waitForSelector('[data-kind="logic.delay"]');
  await b.waitForSelector('[data-kind="logic.delay"]', { timeout: 15000 });
  const delay = (await b.locator('[data-kind="logic.delay"]').getAttribute('data-testid')).replace(/^node-/, '');

  // Grace renames it through the form; Ada sees the new label
  await b.locator(`[data-testid="node-${delay}"] .node__body`).click();
  await b.locator('[data-testid="field-label"] input').fill('Wait a bit');
  await a.waitForSelector(`[data-testid="node-${delay}"] .node__label:has-text("Wait a bit")`, { timeout: 15000 });
  // Grace's selection shows on Ada's canvas in Grace's colour
  await a.waitForSelector(`[data-testid="node-${delay}"].node--remote`, { timeout: 15000 });

  // Ada's pointer over the canvas shows as a named cursor on Grace's canvas
  const box = await a.getByTestId('canvas').boundingBox();
  await a.mouse.move(box.x + 300, box.y + 300);
  await a.mouse.move(box.x + 320, box.y + 310, { steps: 4 });
  await b.waitForSelector('[data-testid="cursor"][data-name="Ada Lovelace"]', { timeout: 15000 });

  // Ada deletes the step; it disappears for Grace
  await a.locator(`[data-testid="node-${delay}"] .node__body`).click();
  await a.getByTestId('canvas-area').press('Delete');
  await b.waitForSelector(`[data-testid="node-${delay}"]`, { state: 'detached', timeout: 15000 });
  // and undo brings it back for both
  await a.getByTestId('undo').click();
  await b.waitForSelector(`[data-testid="node-${delay}"]`, { timeout: 15000 });
  console.log('studio_coedit: ok');
} finally {
  await browser.close();
}
