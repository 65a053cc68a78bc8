// A webhook flow built in the studio: drag the Webhook trigger and a Transform onto the canvas,
// connect them, fill the form, publish; the trigger's panel shows the URL; `curl` at that URL
// starts a run whose step read the posted body, shown on the creator's and a teammate's canvas
// (the teammate reads the step's output there); the Run panel's test input starts as that last
// delivery; rotate in the panel and the old URL stops working; "Listen for a test event" catches
// a delivery to the test URL (no run), shows it, and it becomes the test input of a run; the
// dashboard's workflow page shows the same URL.
import { execFileSync } from 'node:child_process';
import { check, checkNoProblems, eventually, goto, openPage, scenario, shot, signup } from './lib.mjs';
import { call, centre, drag, draftEventually, openWorkflow } from './_studio_support.mjs';

/** POSTs `body` to `url` with curl, as a creator would; returns `{ status, json }`. */
function curl(url, body) {
  const out = execFileSync('curl', ['-s', '-o', '-', '-w', '\n%{http_code}', '-X', 'POST', url,
    '-H', 'content-type: application/json', '-d', JSON.stringify(body)], { encoding: 'utf8' });
  const cut = out.lastIndexOf('\n');
  const text = out.slice(0, cut);
  let json = null;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: Number(out.slice(cut + 1)), json };
}

await scenario('studio_webhook', async (browser) => {
  const ada = await signup('Ada');
  const workflow = await call('POST', `/api/orgs/${ada.org_id}/workflows`, ada.token, { name: 'Greeter' });
  const page = await openPage(browser, ada);
  await openWorkflow(page, workflow.id);

  const box = await page.getByTestId('canvas').boundingBox();
  await drag(page, await centre(page.getByTestId('palette-trigger.webhook')), { x: box.x + 200, y: box.y + 200 });
  await page.waitForSelector('[data-kind="trigger.webhook"]');
  await drag(page, await centre(page.getByTestId('palette-data.transform')), { x: box.x + 600, y: box.y + 240 });
  await page.waitForSelector('[data-kind="data.transform"]');
  const idOf = async (kind) => (await page.locator(`[data-kind="${kind}"]`).getAttribute('data-testid')).replace(/^node-/, '');
  const hook = await idOf('trigger.webhook');
  const shape = await idOf('data.transform');
  const out = await centre(page.locator(`[data-testid="port-${hook}-out-out"] circle`));
  const inp = await centre(page.locator(`[data-testid="port-${shape}-in-in"] circle`));
  await drag(page, out, inp);
  await page.waitForSelector(`path.edge[data-from="${hook}"][data-to="${shape}"]`, { state: 'attached' });

  await page.locator(`[data-testid="node-${shape}"] .node__body`).click();
  await page.waitForSelector(`[data-testid="node-form"][data-node="${shape}"]`);
  await page.getByTestId('kv-add').click();
  await page.getByTestId('kv-name-0').fill('greeting');
  await page.getByTestId('kv-value-0').fill('{{ trigger.body.name }}');
  await draftEventually('the transform and the edge in the draft', workflow.id, ada.token, (graph) =>
    graph.nodes.find((n) => n.id === shape)?.config.fields?.greeting === '{{ trigger.body.name }}' && graph.edges.length === 1);

  // before the first publish the trigger's panel says how to get a URL
  await page.locator(`[data-testid="node-${hook}"] .node__body`).click();
  await page.waitForSelector('[data-testid="webhook-unpublished"]');
  await page.getByTestId('publish').click();
  await page.waitForSelector('[data-testid="toast"]:has-text("published version 1")', { timeout: 15000 });
  const field = page.getByTestId('webhook-url');
  await field.waitFor({ timeout: 15000 });
  const url = await field.inputValue();
  check(url.startsWith(`${new URL(page.url()).origin}/hooks/whk_`), `the URL is this server's: ${url}`);
  check((await page.getByTestId('webhook-curl').textContent()).includes(url), 'the curl line uses the URL');
  await shot(page, 'studio-webhook-url');

  // a teammate has the workflow open too: the delivery's run shows on both canvases
  const grace = await signup('Grace');
  await call('POST', `/api/orgs/${ada.org_id}/members`, ada.token, { email: grace.email, role: 'editor' });
  const mate = await openPage(browser, grace);
  await openWorkflow(mate, workflow.id);
  await mate.waitForSelector(`[data-testid="node-${shape}"]`);

  // the URL the panel shows is the one that works
  const sent = curl(`${url}?source=shop`, { name: 'Ada' });
  check(sent.status === 202 && sent.json.run_id, `curl started a run: ${JSON.stringify(sent)}`);
  const run = await eventually('the run finished', async () => {
    const detail = await call('GET', `/api/runs/${sent.json.run_id}`, ada.token);
    return ['succeeded', 'failed', 'dead_lettered'].includes(detail.status) && detail;
  });
  check(run.status === 'succeeded', `the run succeeded: ${JSON.stringify(run)}`);
  const step = run.steps.find((s) => s.node_id === shape);
  check(step?.output?.greeting === 'Ada', `the step read the posted body: ${JSON.stringify(step)}`);
  for (const canvas of [page, mate]) {
    await canvas.waitForSelector(`[data-testid="node-${shape}"][data-state="succeeded"]`, { timeout: 15000 });
    await canvas.waitForSelector(`[data-testid="node-${hook}"][data-state="succeeded"]`);
  }
  await mate.locator(`[data-testid="node-${shape}"] .node__body`).click();
  await mate.waitForSelector('[data-testid="step-data"][data-state="succeeded"]', { timeout: 15000 });
  check((await mate.getByTestId('step-output').locator('[data-path="greeting"] [data-testid="json-value"]').first().textContent()) === '"Ada"',
    'the teammate reads the step\'s output on the canvas');
  checkNoProblems(mate);

  // a test run from the Run panel takes input shaped like a delivery, JSON values kept as JSON
  await page.getByTestId('open-run').click();
  await page.getByTestId('run-panel').waitFor();
  const names = [];
  for (let i = 0; i < 3; i += 1) names.push(await page.getByTestId(`run-input-name-${i}`).inputValue());
  check(names.join(',') === 'body,headers,query', `the test input is shaped like a delivery: ${names}`);
  await eventually('the test input starts as the last delivery', async () =>
    (await page.getByTestId('run-input-value-0').inputValue()) === '{"name":"Ada"}'
    && (await page.getByTestId('run-input-value-2').inputValue()) === '{"source":"shop"}'
    && (await page.getByTestId('run-input-from').textContent()).includes('the last delivery'));
  await page.getByTestId('run-input-value-0').fill('{"name": "Grace"}');
  await page.getByTestId('run-start').click();
  await page.waitForSelector('[data-testid="run-status"][data-status="succeeded"]', { timeout: 30000 });
  const runs = await call('GET', `/api/orgs/${ada.org_id}/runs?workflow=${workflow.id}&limit=5`, ada.token);
  const manual = runs.find((r) => r.trigger_kind === 'manual');
  check(manual && manual.input.body?.name === 'Grace', `the run got the body as JSON: ${JSON.stringify(manual)}`);
  const tested = await call('GET', `/api/runs/${manual.id}`, ada.token);
  const greeted = tested.steps.find((s) => s.node_id === shape);
  check(greeted?.output?.greeting === 'Grace', `trigger.body.name read the test body: ${JSON.stringify(greeted)}`);
  await page.getByTestId('run-close').click();
  await page.locator(`[data-testid="node-${hook}"] .node__body`).click();
  await field.waitFor({ timeout: 15000 });

  // rotate: a new URL, and the old one is refused
  await page.getByTestId('webhook-rotate').click();
  await page.getByTestId('webhook-rotate-confirm').click();
  await page.waitForSelector('[data-testid="webhook-note"]:has-text("new URL")');
  const rotated = await eventually('the panel shows the new URL', async () => {
    const shown = await field.inputValue();
    return shown !== url && shown;
  });
  check(curl(url, { name: 'Eve' }).status === 404, 'the old URL no longer starts runs');
  check(curl(rotated, { name: 'Bo' }).status === 202, 'the new URL does');

  // a test event: refused while nobody listens, caught while the panel listens, and no run
  const testUrl = `${rotated}/test`;
  const unheard = curl(testUrl, { name: 'Lin' });
  check(unheard.status === 404 && unheard.json.error.message.includes('Listen for a test event'),
    `nobody listens yet: ${JSON.stringify(unheard)}`);
  const runsBefore = (await call('GET', `/api/orgs/${ada.org_id}/runs?workflow=${workflow.id}&limit=50`, ada.token)).length;
  await page.getByTestId('webhook-listen').click();
  await page.getByTestId('webhook-listening').waitFor();
  check(await page.getByTestId('webhook-test-url').inputValue() === testUrl, 'the panel shows the test URL');
  check((await page.getByTestId('webhook-test-curl').textContent()).includes(testUrl), 'and a curl line for it');
  // the panel's wait reaches the server a moment after the click: send until it takes one
  const heard = await eventually('the listening panel takes the test delivery', async () => {
    const sent = curl(`${testUrl}?team=a+b`, { name: 'Lin', n: 3 });
    return sent.status === 200 && sent;
  });
  check(heard.json.listeners === 1, `one listener took it: ${JSON.stringify(heard.json)}`);
  await page.getByTestId('webhook-test-event').waitFor();
  const tree = async (id) => (await page.getByTestId(id).textContent());
  check((await tree('test-event-body')).includes('Lin'), `the body shows: ${await tree('test-event-body')}`);
  check((await tree('test-event-query')).includes('a b'), `the query shows decoded: ${await tree('test-event-query')}`);
  check((await tree('test-event-headers')).includes('content-type'), 'the headers show');
  const runsAfter = (await call('GET', `/api/orgs/${ada.org_id}/runs?workflow=${workflow.id}&limit=50`, ada.token)).length;
  check(runsAfter === runsBefore, `a test event starts no run (${runsBefore} → ${runsAfter})`);
  await shot(page, 'studio-webhook-test-event');
  await page.getByTestId('webhook-test-use').click();
  await page.getByTestId('run-panel').waitFor();
  check(await page.getByTestId('run-input-value-0').inputValue() === '{"n":3,"name":"Lin"}'
    || await page.getByTestId('run-input-value-0').inputValue() === '{"name":"Lin","n":3}',
  `the test input is the test event's body: ${await page.getByTestId('run-input-value-0').inputValue()}`);
  check(await page.getByTestId('run-input-value-2').inputValue() === '{"team":"a b"}', 'and its query');
  check((await page.getByTestId('run-input-from').textContent()).includes('test event'), 'the panel says where the input came from');
  await page.getByTestId('run-start').click();
  await page.waitForSelector('[data-testid="run-status"][data-status="succeeded"]', { timeout: 30000 });
  const latest = (await call('GET', `/api/orgs/${ada.org_id}/runs?workflow=${workflow.id}&limit=1`, ada.token))[0];
  const fromTest = await call('GET', `/api/runs/${latest.id}`, ada.token);
  const lin = fromTest.steps.find((s) => s.node_id === shape);
  check(lin?.output?.greeting === 'Lin', `the run read the test event's body: ${JSON.stringify(lin)}`);
  check(fromTest.input?.query?.team === 'a b', `and its query: ${JSON.stringify(fromTest.input)}`);
  await page.getByTestId('run-close').click();

  // the dashboard's page of this workflow shows the same URL
  const dash = await openPage(browser, ada);
  await goto(dash, `/app/workflows/${workflow.id}/runs`);
  const shown = dash.getByTestId('webhook-url');
  await shown.waitFor({ timeout: 15000 });
  check((await shown.textContent()).trim() === rotated, `the dashboard shows ${rotated}`);
  checkNoProblems(page);
  checkNoProblems(dash);
});
