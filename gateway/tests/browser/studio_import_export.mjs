// Export downloads the canonical file; a changed copy imported over the workflow shows its diff on
// the canvas (added, changed) and writes nothing until it is applied.
import { readFileSync } from 'node:fs';
import { BASE, check, checkNoProblems, eventually, openPage, scenario, shot, signup } from './lib.mjs';
import { call, draft, draftEventually, openWorkflow } from './_studio_support.mjs';

await scenario('studio_import_export', async (browser) => {
  const io = await signup('Io');
  const workflow = await call('POST', `/api/orgs/${io.org_id}/workflows`, io.token, { name: 'Round trip' });
  await call('PUT', `/api/workflows/${workflow.id}/graph`, io.token, {
    nodes: [
      { id: 'start', kind: 'trigger.manual', label: 'Start', position: { x: 40, y: 80 }, config: {} },
      { id: 'wait', kind: 'logic.delay', label: 'Wait', position: { x: 400, y: 80 }, config: { seconds: 1 } },
    ],
    edges: [{ id: 'e1', from: 'start', to: 'wait' }],
  });
  const page = await openPage(browser, io);
  await openWorkflow(page, workflow.id);
  await page.waitForSelector('[data-testid="node-wait"]');

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
  const text = readFileSync(await download.path(), 'utf8');
  const file = JSON.parse(text);
  check(file.format === 'automateos.workflow/v1' && file.graph.nodes.length === 2, `the export: ${text}`);
  const fromApi = await (await fetch(`${BASE}/api/workflows/${workflow.id}/export`, { headers: { authorization: `Bearer ${io.token}` } })).text();
  check(fromApi === text, 'the download is the canonical export');

  file.graph.nodes.find((n) => n.id === 'wait').config.seconds = 5;
  file.graph.nodes.push({ id: 'shape', kind: 'data.transform', label: 'Shape', position: { x: 760, y: 80 }, config: { fields: { ok: true } } });
  file.graph.edges.push({ id: 'e2', from: 'wait', from_port: 'out', to: 'shape', to_port: 'in' });

  await page.getByTestId('open-import').click();
  await page.getByTestId('import-text').fill(JSON.stringify(file));
  await page.getByTestId('import-preview').click();
  const summary = page.getByTestId('import-summary');
  await summary.waitFor();
  check(await summary.getAttribute('data-added') === '2', `added ${await summary.getAttribute('data-added')}`);
  check(await summary.getAttribute('data-changed') === '1', `changed ${await summary.getAttribute('data-changed')}`);
  await page.waitForSelector('[data-testid="node-shape"].diff--added');
  await page.waitForSelector('[data-testid="node-wait"].diff--changed');
  await page.waitForSelector('path.edge.diff--added[data-to="shape"]', { state: 'attached' });
  await shot(page, 'studio-import-diff');
  check((await draft(workflow.id, io.token)).nodes.length === 2, 'the preview wrote nothing');

  await page.getByTestId('import-apply').click();
  await page.waitForSelector('[data-testid="node-shape"]:not(.diff--added)');
  await draftEventually('the import in the draft', workflow.id, io.token, (graph) =>
    graph.nodes.length === 3 && graph.nodes.find((n) => n.id === 'wait').config.seconds === 5);

  // an n8n file's preview says, in sentences, what could not be carried over
  const n8n = {
    nodes: [
      { id: '1', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
      { id: '2', name: 'Crunch', type: 'n8n-nodes-base.code', typeVersion: 2, position: [200, 0], parameters: { jsCode: 'return items' } },
    ],
    connections: { Start: { main: [[{ node: 'Crunch', type: 'main', index: 0 }]] } },
  };
  await page.getByTestId('open-import').click();
  await page.getByTestId('import-text').fill(JSON.stringify(n8n));
  await page.getByTestId('import-preview').click();
  await eventually('the n8n note', async () => {
    const notes = await page.getByTestId('import-note').allTextContents();
    return notes.some((n) => n.startsWith('“Crunch” (n8n-nodes-base.code) was not carried over'))
      && notes.every((n) => !n.includes('Unmapped {'));
  });
  await page.getByTestId('import-cancel').click();
  checkNoProblems(page);
});
