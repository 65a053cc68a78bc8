// Two creators on one workflow: each sees the other's avatar, edits, selection and cursor; a
// delete reaches the other side and undo brings it back for both.
import { checkNoProblems, openPage, scenario, shot, signup } from './lib.mjs';
import { call, openWorkflow } from './_studio_support.mjs';

await scenario('studio_coedit', async (browser) => {
  const ada = await signup('Ada');
  const grace = await signup('Grace');
  await call('POST', `/api/orgs/${ada.org_id}/members`, ada.token, { email: grace.email, role: 'editor' });
  const workflow = await call('POST', `/api/orgs/${ada.org_id}/workflows`, ada.token, { name: 'Together' });
  await call('PUT', `/api/workflows/${workflow.id}/graph`, ada.token, {
    nodes: [{ id: 'start', kind: 'trigger.manual', label: 'Start', position: { x: 40, y: 80 }, config: {} }],
    edges: [],
  });
  const a = await openPage(browser, ada, { viewport: { width: 1400, height: 860 } });
  const b = await openPage(browser, grace, { viewport: { width: 1400, height: 860 } });
  await openWorkflow(a, workflow.id);
  await openWorkflow(b, workflow.id);

  await a.waitForSelector('[data-testid="avatar"][data-name="Grace"]', { timeout: 15000 });
  await b.waitForSelector('[data-testid="avatar"][data-name="Ada"]', { timeout: 15000 });

  // Ada adds a step (a click on the palette places it in view); Grace sees it
  await a.getByTestId('palette-logic.delay').click();
  await a.waitForSelector('[data-kind="logic.delay"]');
  await b.waitForSelector('[data-kind="logic.delay"]', { timeout: 15000 });
  const delay = (await b.locator('[data-kind="logic.delay"]').getAttribute('data-testid')).replace(/^node-/, '');

  // Grace renames it through the form; Ada sees the label and Grace's selection
  await b.locator(`[data-testid="node-${delay}"] .node__body`).click();
  await b.locator('[data-testid="field-label"] input').fill('Wait a bit');
  await a.waitForSelector(`[data-testid="node-${delay}"] .node__label:has-text("Wait a bit")`, { timeout: 15000 });
  await a.waitForSelector(`[data-testid="node-${delay}"].node--remote`, { timeout: 15000 });

  // Ada's pointer shows as a named cursor on Grace's canvas
  const box = await a.getByTestId('canvas').boundingBox();
  await a.mouse.move(box.x + 300, box.y + 300);
  await a.mouse.move(box.x + 320, box.y + 310, { steps: 4 });
  await b.waitForSelector('[data-testid="cursor"][data-name="Ada"]', { timeout: 15000 });
  await shot(b, 'studio-coedit');

  // Ada deletes the step: gone for Grace; Ada's undo brings it back for both
  await a.locator(`[data-testid="node-${delay}"] .node__body`).click();
  await a.getByTestId('canvas-area').press('Delete');
  await b.waitForSelector(`[data-testid="node-${delay}"]`, { state: 'detached', timeout: 15000 });
  await a.getByTestId('undo').click();
  await b.waitForSelector(`[data-testid="node-${delay}"]`, { timeout: 15000 });
  checkNoProblems(a);
  checkNoProblems(b);
});
