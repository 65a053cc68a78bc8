// Scenario: drag nodes from the palette, connect them, fill a form, publish, run, and watch the
// pulse classes change on the canvas.
// Run by the browser harness: AOS_BASE_URL is the server (API and the built studio at /studio/),
// CHROMIUM the browser (Debian's by default); exits non-zero with the reason on failure.
import { chromium } from 'playwright-core';

const BASE = process.env.AOS_BASE_URL;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const fail = (msg) => { console.error(`studio_canvas: ${msg}`); process.exit(1); };
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

async function center(locator) {
  const box = await locator.boundingBox();
  if (!box) throw new Error('element has no box');
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

async function drag(page, from, to) {
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move((from.x + to.x) / 2, (from.y + to.y) / 2, { steps: 5 });
  await page.mouse.move(to.x, to.y, { steps: 5 });
  await page.mouse.up();
}

const email = `canvas-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
const account = await api('POST', '/api/auth/signup', { email, password: 'correct horse battery', name: 'Ada Canvas', org_name: 'Canvas Org' });
const workflow = await api('POST', `/api/orgs/${account.org_id}/workflows`, { name: 'Pulse demo' }, account.token);

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  await context.addInitScript(([t, r]) => { localStorage.setItem('aos.token', t); localStorage.setItem('aos.refresh', r); }, [account.token, account.refresh_token]);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${BASE}/studio/w/${workflow.id}`);
  await page.waitForSelector('[data-testid="conn-status"][data-state="online"]', { timeout: 30000 });

  // drag a manual trigger and a delay from the palette onto the canvas
  const canvas = page.getByTestId('canvas');
  const cbox = await canvas.boundingBox();
  await drag(page, await center(page.getByTestId('palette-trigger.manual')), { x: cbox.x + 220, y: cbox.y + 200 });
  await page.waitForSelector('[data-kind="trigger.manual"]');
  await drag(page, await center(page.getByTestId('palette-logic.delay')), { x: cbox.x + 620, y: cbox.y + 260 });
  await page.waitForSelector('[data-kind="logic.delay"]');
  const trigger = await page.locator('[data-kind="trigger.manual"]').getAttribute('data-testid');
  const delay = await page.locator('[data-kind="logic.delay"]').getAttribute('data-testid');
  const triggerId = trigger.replace(/^node-/, ''), delayId = delay.replace(/^node-/, '');

  // connect: drag from the trigger's output dot to near the delay's input dot (snapping)
  const out = await center(page.locator(`[data-testid="port-${triggerId}-out-out"] circle`));
  const inp = await center(page.locator(`[data-testid="port-${delayId}-in-in"] circle`));
  await drag(page, out, { x: inp.x - 10, y: inp.y + 8 });
  await page.waitForSelector(`path.edge[data-from="${triggerId}"][data-to="${delayId}"]`, { state: 'attached' });

  // select the delay and fill its form
  await page.locator(`[data-testid="node-${delayId}"] .node__body`).click();
  await page.waitForSelector(`[data-testid="node-form"][data-node="${delayId}"]`);
  await page.locator('[data-testid="field-seconds"] input').fill('1');
  // the form change reached the server's doc (the API reads the live doc)
  for (let i = 0; ; i++) {
    const detail = await api('GET', `/api/workflows/${workflow.id}`, undefined, account.token);
    const node = detail.graph.nodes.find((n) => n.id === delayId);
    if (node && node.config.seconds === 1 && detail.graph.edges.length === 1) break;
    if (i > 50) fail(`the draft never held the form value: ${JSON.stringify(detail.graph)}`);
    await page.waitForTimeout(100);
  }

  // publish
  await page.getByTestId('publish').click();
  await page.waitForSelector('[data-testid="toast"]:has-text("published version 1")', { timeout: 15000 });

  // record every class the nodes take from now on
  await page.evaluate(() => {
    window.__seen = {};
    const note = () => document.querySelectorAll('g.node').forEach((g) => {
      const id = g.getAttribute('data-testid');
      (window.__seen[id] ||= new Set()).add(g.getAttribute('data-state'));
    });
    new MutationObserver(note).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-state', 'class'] });
    note();
  });
  await page.getByTestId('open-run').click();
  await page.getByTestId('run-start').click();
  await page.waitForSelector('[data-testid="run-status"][data-status="succeeded"]', { timeout: 30000 });
  await page.waitForSelector(`[data-testid="node-${delayId}"].node--succeeded`);
  await page.waitForSelector(`[data-testid="duration-${delayId}"]`);
  const seen = await page.evaluate(() => Object.fromEntries(Object.entries(window.__seen).map(([k, v]) => [k, [...v]])));
  const delaySeen = seen[`node-${delayId}`] || [];
  if (!delaySeen.includes('running')) fail(`the delay never pulsed as running: ${JSON.stringify(seen)}`);
  if (!delaySeen.includes('succeeded')) fail(`the delay never showed succeeded: ${JSON.stringify(seen)}`);
  const active = await page.locator(`path.edge.edge--active[data-to="${delayId}"]`).count();
  if (active !== 1) fail('the edge the data took is not animated');
  console.log('studio_canvas: ok');
} finally {
  await browser.close();
}
