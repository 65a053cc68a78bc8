// Version history in the studio: two published versions listed newest first with who published
// them and the current one marked; ticking both shows their diff on the canvas and names the added
// step by its label; reverting to version 1 through the panel (after a confirmation) changes the
// canvas, a co-editor's canvas in another browser context, and what the API reads. A viewer sees
// the history without the revert control, and a refused revert says why beside the control.
import { check, checkNoProblems, eventually, openPage, scenario, shot, signup } from './lib.mjs';
import { call, draft, openWorkflow } from './_studio_support.mjs';

await scenario('studio_versions', async (browser) => {
  const vera = await signup('Vera');
  const otto = await signup('Otto');
  const vic = await signup('Vic');
  await call('POST', `/api/orgs/${vera.org_id}/members`, vera.token, { email: otto.email, role: 'editor' });
  await call('POST', `/api/orgs/${vera.org_id}/members`, vera.token, { email: vic.email, role: 'viewer' });
  const workflow = await call('POST', `/api/orgs/${vera.org_id}/workflows`, vera.token, { name: 'Versioned' });
  const id = workflow.id;
  const first = {
    nodes: [
      { id: 'start', kind: 'trigger.manual', label: 'Start', position: { x: 40, y: 80 }, config: {} },
      { id: 'wait', kind: 'logic.delay', label: 'Wait', position: { x: 400, y: 80 }, config: { seconds: 1 } },
    ],
    edges: [{ id: 'e1', from: 'start', to: 'wait' }],
  };
  await call('PUT', `/api/workflows/${id}/graph`, vera.token, first);

  const a = await openPage(browser, vera);
  const b = await openPage(browser, otto);
  await openWorkflow(a, id);
  await openWorkflow(b, id);
  await a.waitForSelector('[data-testid="node-wait"]');

  // version 1 from the toolbar
  await a.getByTestId('publish').click();
  await a.waitForSelector('[data-testid="toast"]:has-text("published version 1")', { timeout: 15000 });

  // a step is added (the graph written over the API reaches both canvases), then version 2
  const second = structuredClone(first);
  second.nodes.push({ id: 'n7', kind: 'logic.delay', label: 'Notify team', position: { x: 760, y: 80 }, config: { seconds: 2 } });
  second.edges.push({ id: 'e2', from: 'wait', to: 'n7' });
  await call('PUT', `/api/workflows/${id}/graph`, vera.token, second);
  await a.waitForSelector('[data-testid="node-n7"]', { timeout: 15000 });
  await b.waitForSelector('[data-testid="node-n7"]', { timeout: 15000 });
  await a.getByTestId('publish').click();
  await a.waitForSelector('[data-testid="toast"]:has-text("published version 2")', { timeout: 15000 });

  // History: both versions, newest first, version 2 current, each published by Vera
  await a.getByTestId('open-history').click();
  await a.waitForSelector('[data-testid="history-version-2"][data-current="true"]', { timeout: 15000 });
  const order = await a.locator('[data-testid^="history-version-"]').evaluateAll((rows) => rows.map((r) => r.dataset.testid));
  check(JSON.stringify(order) === '["history-version-2","history-version-1"]', `the list: ${order}`);
  check(await a.locator('[data-testid="history-version-1"]').getAttribute('data-current') === 'false', 'only one is current');
  await eventually('who published and when', async () => {
    const metas = await a.getByTestId('history-meta').allTextContents();
    return metas.length === 2 && metas.every((m) => m.startsWith('Vera · ') && m.endsWith(' UTC'));
  });

  // version 1 against version 2: the added step on the canvas and, by its label, in the list
  await a.getByTestId('history-pick-1').check();
  await a.getByTestId('history-pick-2').check();
  await a.waitForSelector('[data-testid="node-n7"].diff--added', { timeout: 15000 });
  await a.waitForSelector('path.edge.diff--added[data-to="n7"]', { state: 'attached' });
  // the canvas fits the compared graph, so the added step is in view, not beyond the edge
  await eventually('the added step within the canvas', async () => {
    const [step, canvas] = [await a.locator('[data-testid="node-n7"]').boundingBox(), await a.getByTestId('canvas').boundingBox()];
    return step.x >= canvas.x && step.x + step.width <= canvas.x + canvas.width;
  });
  const summary = a.getByTestId('history-diff');
  await summary.waitFor();
  check(await summary.getAttribute('data-added') === '2', `added ${await summary.getAttribute('data-added')}`);
  check(await summary.getAttribute('data-removed') === '0', `removed ${await summary.getAttribute('data-removed')}`);
  const lines = await a.getByTestId('history-diff-line').allTextContents();
  check(lines.includes('Added “Notify team”'), `the diff's lines: ${JSON.stringify(lines)}`);
  check(lines.includes('Connected “Wait” → “Notify team”'), `the diff's lines: ${JSON.stringify(lines)}`);
  check(lines.every((line) => !line.includes('n7')), `steps are named by label: ${JSON.stringify(lines)}`);
  check(await a.getByTestId('history-diff-title').textContent() === 'Version 1 → version 2', 'the pair is named');
  await shot(a, 'studio-versions-diff');

  // one version ticked: the canvas shows the draft again, version 2's step as it is
  await a.getByTestId('history-pick-2').uncheck();
  await a.waitForSelector('[data-testid="node-n7"]:not(.diff--added)');

  // revert to version 1, confirmed: gone from both canvases, and the API agrees
  await a.getByTestId('history-revert-1').click();
  await a.getByTestId('history-confirm-1').waitFor();
  await a.getByTestId('history-revert-confirm').click();
  await a.waitForSelector('[data-testid="node-n7"]', { state: 'detached', timeout: 15000 });
  await b.waitForSelector('[data-testid="node-n7"]', { state: 'detached', timeout: 15000 });
  for (const page of [a, b]) {
    await page.waitForSelector('[data-testid="node-wait"]');
    await page.waitForSelector('[data-testid="node-start"]');
    await page.waitForSelector('path.edge[data-to="wait"]', { state: 'attached' });
  }
  await a.waitForSelector('[data-testid="history-version-1"][data-current="true"]', { timeout: 15000 });
  await a.waitForSelector('[data-testid="toast"]:has-text("reverted to version 1")');
  const detail = await call('GET', `/api/workflows/${id}`, vera.token);
  check(detail.current_version === 1, `current version ${detail.current_version}`);
  check(JSON.stringify(detail.graph.nodes.map((n) => n.id)) === '["start","wait"]', `nodes ${JSON.stringify(detail.graph.nodes)}`);
  check(JSON.stringify(detail.graph.edges.map((e) => e.id)) === '["e1"]', `edges ${JSON.stringify(detail.graph.edges)}`);
  await shot(a, 'studio-versions-reverted');

  // a viewer reads the history but has no revert control
  const c = await openPage(browser, vic);
  await openWorkflow(c, id);
  await c.getByTestId('open-history').click();
  await c.waitForSelector('[data-testid="history-version-1"][data-current="true"]', { timeout: 15000 });
  await c.waitForSelector('[data-testid="history-version-2"]');
  check(await c.locator('[data-testid^="history-revert"]').count() === 0, 'a viewer has no revert control');
  // and reads the canvas without the tools that change it: a step opens with its form locked
  await c.getByTestId('history-close').click();
  await c.getByTestId('view-only').waitFor();
  for (const tool of ['publish', 'open-import', 'open-share', 'open-run', 'undo', 'auto-layout']) {
    check(await c.getByTestId(tool).count() === 0, `a viewer has no ${tool} control`);
  }
  check(await c.getByTestId('palette-logic.delay').isDisabled(), 'the palette is off for a viewer');
  const before = (await draft(id, vera.token)).nodes.find((n) => n.id === 'wait').position;
  await c.locator('[data-testid="node-wait"] .node__body').click();
  await c.waitForSelector('[data-testid="node-form"][data-node="wait"]');
  check(await c.getByTestId('node-fieldset').getAttribute('disabled') !== null, 'the viewer\'s form is locked');
  check(await c.getByTestId('node-form').locator('input').first().isDisabled(), 'and its fields read-only');
  await c.keyboard.press('ArrowRight');
  const box = await c.locator('[data-testid="node-wait"] .node__body').boundingBox();
  await c.mouse.move(box.x + 40, box.y + 20);
  await c.mouse.down();
  await c.mouse.move(box.x + 140, box.y + 120, { steps: 5 });
  await c.mouse.up();
  await c.waitForTimeout(1000); // an edit would reach the server well within this
  check(JSON.stringify((await draft(id, vera.token)).nodes.find((n) => n.id === 'wait').position) === JSON.stringify(before),
    'neither a drag nor an arrow key moves a viewer\'s node');

  // Otto, made a viewer while his editor was open, is refused: the server's words beside the control
  await call('PATCH', `/api/orgs/${vera.org_id}/members/${otto.user_id}`, vera.token, { role: 'viewer' });
  await b.getByTestId('open-history').click();
  await b.getByTestId('history-revert-2').click();
  await b.getByTestId('history-revert-confirm').click();
  const refusal = b.getByTestId('history-revert-error');
  await refusal.waitFor({ timeout: 15000 });
  const said = await refusal.textContent();
  check(said.includes('editor role'), `the refusal: ${said}`);
  check((await draft(id, vera.token)).nodes.length === 2, 'the refused revert changed nothing');

  checkNoProblems(a);
  checkNoProblems(b, ['403', 'Forbidden']); // the refused revert
  checkNoProblems(c);
});
