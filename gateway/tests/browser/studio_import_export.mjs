// Export downloads the canonical file; a changed copy imported over the workflow shows its diff on
// the canvas (added, changed) and writes nothing until it is applied.
import { readFileSync } from 'node:fs';
import { BASE, check, checkAccessible, checkNoProblems, eventually, openPage, scenario, shot, signup } from './lib.mjs';
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

  // an n8n file's preview reports what the importer carried over: nodes mapped, expressions
  // translated and kept as written, stand-ins, the secrets to create, and each note in a sentence
  const n8n = {
    nodes: [
      { id: '1', name: 'Hook', type: 'n8n-nodes-base.webhook', typeVersion: 2, position: [0, 0], parameters: { httpMethod: 'POST', path: 'hi' } },
      { id: '2', name: 'Shape', type: 'n8n-nodes-base.set', typeVersion: 3.4, position: [200, 0], parameters: { assignments: { assignments: [
        { id: 'a', name: 'greeting', type: 'string', value: "={{ 'Hi ' + $json.body.name }}" },
        { id: 'b', name: 'execution', type: 'string', value: '={{ $execution.id }}' },
      ] } } },
      { id: '3', name: 'Tell', type: 'n8n-nodes-base.slack', typeVersion: 2.3, position: [400, 0],
        parameters: { select: 'channel', channelId: { __rl: true, value: '#general', mode: 'name' }, text: '={{ $json.greeting }}' },
        credentials: { slackApi: { id: '1', name: 'Slack account' } } },
      { id: '4', name: 'Crunch', type: 'n8n-nodes-base.code', typeVersion: 2, position: [600, 0], parameters: { jsCode: 'return items' } },
    ],
    connections: {
      Hook: { main: [[{ node: 'Shape', type: 'main', index: 0 }]] },
      Shape: { main: [[{ node: 'Tell', type: 'main', index: 0 }]] },
      Tell: { main: [[{ node: 'Crunch', type: 'main', index: 0 }]] },
    },
  };
  const sentence = 'From n8n: 3 of 4 nodes mapped, 2 expressions translated, 1 kept as written (marked on its node until rewritten), 1 stand-in.';
  await page.getByTestId('open-import').click();
  await page.getByTestId('import-text').fill(JSON.stringify(n8n));
  await page.getByTestId('import-preview').click();
  await eventually('the n8n report', async () => {
    const notes = await page.getByTestId('import-note').allTextContents();
    return (await page.getByTestId('import-n8n-summary').textContent()) === sentence
      && (await page.getByTestId('import-n8n-secrets').textContent()).includes('SLACK_TOKEN')
      && notes.some((n) => n.startsWith('“Crunch” (n8n-nodes-base.code) was not carried over'))
      && notes.some((n) => n.startsWith('“Shape”, fields.execution: expression kept as written'))
      && notes.every((n) => !n.includes('Unmapped {'));
  });
  await checkAccessible(page, 'an n8n import report');
  // after applying, the report stays beside the canvas, and the expression kept as written is
  // marked on its node until it is rewritten
  await page.getByTestId('import-apply').click();
  await page.waitForSelector('[data-testid="import-report"]');
  check((await page.getByTestId('import-n8n-summary').textContent()) === sentence, 'the report after applying');
  await page.waitForSelector('[data-testid="problem-shape"]', { state: 'attached' });
  await shot(page, 'studio-n8n-report');
  await draftEventually('the n8n import in the draft', workflow.id, io.token, (graph) =>
    graph.nodes.some((n) => n.id === 'tell' && n.kind === 'slack.post_message'));
  await page.getByTestId('import-report-dismiss').click();
  await page.waitForSelector('[data-testid="import-report"]', { state: 'detached' });
  checkNoProblems(page);
});
