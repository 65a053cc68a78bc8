// Scenario: the side panel's generated form: a message with expression completion from the
// trigger's sample, a secret chosen by name from the org's secrets, a key-value field, a refused
// number, and the problems badge that goes away once the required fields are filled.
// Run by the browser harness: AOS_BASE_URL is the server (API and the built studio at /studio/),
// CHROMIUM the browser (Debian's by default); exits non-zero with the reason on failure.
import { chromium } from 'playwright-core';

const BASE = process.env.AOS_BASE_URL;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const fail = (msg) => { console.error(`studio_forms: ${msg}`); process.exit(1); };
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

async function draftNode(workflow, token, id) {
  const detail = await api('GET', `/api/workflows/${workflow}`, undefined, token);
  return detail.graph.nodes.find((n) => n.id === id);
}

async function eventually(what, probe) {
  for (let i = 0; i < 100; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`never: ${what}`);
}

const stamp = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
const account = await api('POST', '/api/auth/signup', { email: `forms-${stamp}@example.com`, password: 'correct horse battery', name: 'Form Filler', org_name: 'Forms' });
await api('POST', `/api/orgs/${account.org_id}/secrets`, { name: 'TEAM_SLACK', value: 'xoxb-not-shown' }, account.token);
const workflow = await api('POST', `/api/orgs/${account.org_id}/workflows`, { name: 'Forms' }, account.token);
await api('PUT', `/api/workflows/${workflow.id}/graph`, {
  nodes: [
    { id: 'hook', kind: 'trigger.webhook', label: 'Lead', position: { x: 40, y: 80 }, config: { sample: { email: 'a@b.c' } } },
    { id: 'post', kind: 'slack.post_message', label: 'Tell the team', position: { x: 400, y: 80 }, config: {} },
    { id: 'call', kind: 'http.request', label: 'Call', position: { x: 760, y: 80 }, config: { url: 'https://example.com' } },
  ],
  edges: [{ id: 'e1', from: 'hook', to: 'post' }, { id: 'e2', from: 'post', to: 'call' }],
}, account.token);

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  await context.addInitScript(([t, r]) => { localStorage.setItem('aos.token', t); localStorage.setItem('aos.refresh', r); }, [account.token, account.refresh_token]);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${BASE}/studio/w/${workflow.id}`);
  await page.waitForSelector('[data-testid="conn-status"][data-state="online"]', { timeout: 30000 });
  // the slack step lacks its required fields: a problem badge
  await page.waitForSelector('[data-testid="problem-post"]', { state: 'attached' });

  await page.locator('[data-testid="node-post"] .node__body').click();
  await page.waitForSelector('[data-testid="node-form"][data-node="post"]');
  // the secret picker lists the org's secret names; choosing one stores a reference, never a value
  await page.locator('[data-testid="field-token"] select').selectOption('TEAM_SLACK');
  await page.locator('[data-testid="field-channel"] input').fill('#leads');
  // expression completion offers the trigger sample's fields
  const message = page.locator('[data-testid="field-text"] textarea');
  await message.fill('New lead {{ trigger.body.em');
  await page.getByTestId('suggestion-0').waitFor();
  const offered = await page.getByTestId('suggestions').innerText();
  if (!offered.includes('trigger.body.email')) fail(`suggestions: ${offered}`);
  await page.locator('[data-testid="suggestions"] button', { hasText: 'trigger.body.email' }).dispatchEvent('mousedown');
  await eventually('the message and the secret reference in the draft', async () => {
    const node = await draftNode(workflow.id, account.token, 'post');
    return node.config.text === 'New lead {{ trigger.body.email }}' && node.config.token === '{{ secrets.TEAM_SLACK }}' && node.config.channel === '#leads';
  });
  await page.waitForSelector('[data-testid="problem-post"]', { state: 'detached' });

  // key-value rows on the HTTP step's headers; a refused number is shown, not written
  await page.locator('[data-testid="node-call"] .node__body').click();
  await page.waitForSelector('[data-testid="node-form"][data-node="call"]');
  await page.locator('[data-testid="field-headers"] [data-testid="kv-add"]').click();
  await page.locator('[data-testid="field-headers"] [data-testid="kv-name-0"]').fill('Accept');
  await page.locator('[data-testid="field-headers"] [data-testid="kv-value-0"]').fill('application/json');
  await page.locator('[data-testid="field-max_attempts"] input').fill('99');
  await page.locator('[data-testid="field-max_attempts"] .form-error').waitFor();
  await eventually('the header in the draft', async () => {
    const node = await draftNode(workflow.id, account.token, 'call');
    return node.config.headers && node.config.headers.Accept === 'application/json' && node.config.max_attempts === undefined;
  });
  console.log('studio_forms: ok');
} finally {
  await browser.close();
}
