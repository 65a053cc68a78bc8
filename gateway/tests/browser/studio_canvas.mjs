// Drag steps from the palette onto the canvas, connect them by dragging between ports (the loose
// end snaps), fill the form, publish, run, and watch the pulse classes change on the canvas.
import { check, checkNoProblems, openPage, scenario, shot, signup } from './lib.mjs';
import { call, centre, drag, draftEventually, openWorkflow } from './_studio_support.mjs';

await scenario('studio_canvas', async (browser) => {
  const ada = await signup('Ada');
  const workflow = await call('POST', `/api/orgs/${ada.org_id}/workflows`, ada.token, { name: 'Pulse demo' });
  const page = await openPage(browser, ada);
  await openWorkflow(page, workflow.id);

  const box = await page.getByTestId('canvas').boundingBox();
  await drag(page, await centre(page.getByTestId('palette-trigger.manual')), { x: box.x + 220, y: box.y + 200 });
  await page.waitForSelector('[data-kind="trigger.manual"]');
  await drag(page, await centre(page.getByTestId('palette-logic.delay')), { x: box.x + 620, y: box.y + 260 });
  await page.waitForSelector('[data-kind="logic.delay"]');
  const idOf = async (kind) => (await page.locator(`[data-kind="${kind}"]`).getAttribute('data-testid')).replace(/^node-/, '');
  const trigger = await idOf('trigger.manual');
  const delay = await idOf('logic.delay');

  // from the trigger's output dot to near (not on) the delay's input dot: it snaps
  const out = await centre(page.locator(`[data-testid="port-${trigger}-out-out"] circle`));
  const inp = await centre(page.locator(`[data-testid="port-${delay}-in-in"] circle`));
  await drag(page, out, { x: inp.x - 10, y: inp.y + 8 });
  await page.waitForSelector(`path.edge[data-from="${trigger}"][data-to="${delay}"]`, { state: 'attached' });

  await page.locator(`[data-testid="node-${delay}"] .node__body`).click();
  await page.waitForSelector(`[data-testid="node-form"][data-node="${delay}"]`);
  await page.locator('[data-testid="field-seconds"] input').fill('1');
  await draftEventually('the form value and the edge in the draft', workflow.id, ada.token, (graph) =>
    graph.nodes.find((n) => n.id === delay)?.config.seconds === 1 && graph.edges.length === 1);

  await page.getByTestId('publish').click();
  await page.waitForSelector('[data-testid="toast"]:has-text("published version 1")', { timeout: 15000 });
  await page.waitForSelector('[data-testid="toast"]', { state: 'detached', timeout: 10000 });

  // record every state the nodes take from now on
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
  await page.waitForSelector(`[data-testid="node-${delay}"].node--running`, { timeout: 30000 });
  const saying = (await page.getByTestId(`state-${delay}`).textContent()).trim();
  check(saying === 'running…', `a running node says so in words, not by colour alone: ${saying}`);
  check(await page.locator(`path.edge.edge--active[data-to="${delay}"]`).count() === 1, 'the data flows along the edge while the run goes');
  await shot(page, 'studio-run-pulse');
  await page.waitForSelector('[data-testid="run-status"][data-status="succeeded"]', { timeout: 30000 });
  await page.waitForSelector(`[data-testid="node-${delay}"].node--succeeded`);
  await page.waitForSelector(`[data-testid="duration-${delay}"]`);
  const took = (await page.getByTestId(`duration-${delay}`).textContent()).trim();
  check(took === '1.0 s', `the 1 s delay shows its wait, not its step's 0 ms: ${took}`);
  const seen = await page.evaluate(() => Object.fromEntries(Object.entries(window.__seen).map(([k, v]) => [k, [...v]])));
  const states = seen[`node-${delay}`] ?? [];
  check(states.includes('running') && states.includes('succeeded'), `the delay pulsed then settled: ${JSON.stringify(seen)}`);
  check(await page.locator(`path.edge.edge--carried[data-to="${delay}"]`).count() === 1, 'the edge the data took settles once the run ends');
  check(await page.locator('path.edge.edge--active').count() === 0, 'nothing flows after the end');
  // a selected node is never drawn in the red of a failure
  await page.locator(`[data-testid="node-${delay}"] .node__body`).click();
  const stroke = await page.locator(`[data-testid="node-${delay}"] .node__body`).evaluate((el) => getComputedStyle(el).stroke);
  check(stroke === 'rgb(109, 31, 46)', `a selected node is outlined in burgundy: ${stroke}`);
  await shot(page, 'studio-canvas');
  checkNoProblems(page);
});
