// Scenario: export a workflow, change the file, import it over the workflow with the diff shown
// on the canvas, and confirm.
// Run by the browser harness: AOS_BASE_URL is the server (API and the built studio at /studio/),
// CHROMIUM the browser (Debian's by default); exits non-zero with the reason on failure.
import { chromium } from 'playwright-core';
import fs from 'node:fs';

const BASE = process.env.AOS_BASE_URL;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const fail = (msg) => { console.error(`studio_import_export: ${msg}`); process.exit(1); };
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
const account = await api('POST', '/api/auth/signup', { email: `io-${stamp}@example.com`, password: 'correct horse battery', name: 'Io', org_name: 'IO' });
const workflow = await api('POST', `/api/orgs/${account.org_id}/workflows`, { name: 'Round trip' }, account.token);
await api('PUT', `/api/workflows/${workflow.id}/graph`, {
  nodes: [
    { id: 'start', kind: 'trigger.manual', label: 'Start', position: { x: 40, y: 80 }, config: {} },
    { id: 'wait', kind: 'logic.delay', label: 'Wait', position: { x: 400, y: 80 }, config: { seconds: 1 } },
  ],
  edges: [{ id: 'e1', from: 'start', to: 'wait' }],
}, account.token);

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  await context.addInitScript(([t, r]) => { localStorage.setItem('aos.token', t); localStorage.setItem('aos.refresh', r); }, [account.token, account.refresh_token]);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${BASE}/studio/w/${workflow.id}`);
  await page.waitForSelector('[data-testid="conn-status"][data-state="online"]', { timeout: 30000 });
  await page.waitForSelector('[data-testid="node-wait"]');

  // export downloads the canonical file
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
  const text = fs.readFileSync(await download.path(), 'utf8');
  const file = JSON.parse(text);
  if (file.format !== 'automateos.workflow/v1' || file.graph.nodes.length !== 2) fail(`unexpected export: ${text}`);
  const api_export = await (await fetch(`${BASE}/api/workflows/${workflow.id}/export`, { headers: { authorization: `Bearer ${account.token}` } })).text();
  if (api_export !== text) fail('the downloaded file differs from the api export');

  // change it: one step changed, one added, one edge added
  file.graph.nodes.find((n) => n.id === 'wait').config.seconds = 5;
  file.graph.nodes.push({ id: 'shape', kind: 'data.transform', label: 'Shape', position: { x: 760, y: 80 }, config: { fields: { ok: true } } });
  file.graph.edges.push({ id: 'e2', from: 'wait', from_port: 'out', to: 'shape', to_port: 'in' });

  await page.getByTestId('open-import').click();
  await page.getByTestId('import-text').fill(JSON.stringify(file));
  await page.getByTestId('import-preview').click();
  const summary = page.getByTestId('import-summary');
  await summary.waitFor();
  if ((await summary.getAttribute('data-added')) !== '2') fail(`added: ${await summary.getAttribute('data-added')}`);
  if ((await summary.getAttribute('data-changed')) !== '1') fail(`changed: ${await summary.getAttribute('data-changed')}`);
  await page.waitForSelector('[data-testid="node-shape"].diff--added');
  await page.waitForSelector('[data-testid="node-wait"].diff--changed');
  await page.waitForSelector('path.edge.diff--added[data-to="shape"]', { state: 'attached' });
  // nothing is written before confirming
  let detail = await api('GET', `/api/workflows/${workflow.id}`, undefined, account.token);
  if (detail.graph.nodes.length !== 2) fail('the preview wrote to the workflow');

  await page.getByTestId('import-apply').click();
  await page.waitForSelector('[data-testid="node-shape"]:not(.diff--added)');
  for (let i = 0; ; i++) {
    detail = await api('GET', `/api/workflows/${workflow.id}`, undefined, account.token);
    if (detail.graph.nodes.length === 3 && detail.graph.nodes.find((n) => n.id === 'wait').config.seconds === 5) break;
    if (i > 50) fail(`the import never reached the draft: ${JSON.stringify(detail.graph)}`);
    await page.waitForTimeout(100);
  }
  console.log('studio_import_export: ok');
} finally {
  await browser.close();
}
