// The side panel's generated form: expression completion from the trigger's sample, a secret
// chosen by name, key-value rows, a refused number, the problem badge that goes once the required
// fields are filled, and an expression that does not parse named on its field as it is typed.
import { check, checkNoProblems, openPage, scenario, shot, signup } from './lib.mjs';
import { call, draftEventually, openWorkflow } from './_studio_support.mjs';

await scenario('studio_forms', async (browser) => {
  const filler = await signup('Filler');
  await call('POST', `/api/orgs/${filler.org_id}/secrets`, filler.token, { name: 'TEAM_SLACK', value: 'xoxb-not-shown' });
  const workflow = await call('POST', `/api/orgs/${filler.org_id}/workflows`, filler.token, { name: 'Forms' });
  await call('PUT', `/api/workflows/${workflow.id}/graph`, filler.token, {
    nodes: [
      { id: 'hook', kind: 'trigger.webhook', label: 'Lead', position: { x: 40, y: 80 }, config: { sample: { email: 'a@b.c' } } },
      { id: 'post', kind: 'slack.post_message', label: 'Tell the team', position: { x: 400, y: 80 }, config: {} },
      { id: 'call', kind: 'http.request', label: 'Call', position: { x: 760, y: 80 }, config: { url: 'https://example.com' } },
    ],
    edges: [{ id: 'e1', from: 'hook', to: 'post' }, { id: 'e2', from: 'post', to: 'call' }],
  });
  const page = await openPage(browser, filler);
  await openWorkflow(page, workflow.id);
  await page.waitForSelector('[data-testid="problem-post"]', { state: 'attached' });

  await page.locator('[data-testid="node-post"] .node__body').click();
  await page.waitForSelector('[data-testid="node-form"][data-node="post"]');
  await page.locator('[data-testid="field-token"] select').selectOption('TEAM_SLACK');
  await page.locator('[data-testid="field-channel"] input').fill('#leads');
  await page.locator('[data-testid="field-text"] textarea').fill('New lead {{ trigger.body.em');
  await page.locator('[data-testid="suggestions"] button', { hasText: 'trigger.body.email' }).waitFor();
  await shot(page, 'studio-form');
  await page.locator('[data-testid="suggestions"] button', { hasText: 'trigger.body.email' }).click();
  await draftEventually('the message and the secret reference in the draft', workflow.id, filler.token, (graph) => {
    const node = graph.nodes.find((n) => n.id === 'post');
    return node.config.text === 'New lead {{ trigger.body.email }}' && node.config.token === '{{ secrets.TEAM_SLACK }}'
      && node.config.channel === '#leads';
  });
  await page.waitForSelector('[data-testid="problem-post"]', { state: 'detached' });

  // an expression that would fail every run is named on its node and field as it is typed
  await page.locator('[data-testid="field-channel"] input').fill('#leads-{{ trigger.body.team | }}');
  await page.waitForSelector('[data-testid="problem-post"]', { state: 'attached' });
  const said = await page.getByTestId('node-problem').allTextContents();
  check(said.some((p) => p.includes('“Tell the team” field channel: the expression does not parse at line 1, column ')),
    `the form says which field and where: ${said}`);
  await page.locator('[data-testid="field-channel"] input').fill('#leads');
  await page.waitForSelector('[data-testid="problem-post"]', { state: 'detached' });

  await page.locator('[data-testid="node-call"] .node__body').click();
  await page.waitForSelector('[data-testid="node-form"][data-node="call"]');
  await page.locator('[data-testid="field-headers"] [data-testid="kv-add"]').click();
  await page.locator('[data-testid="field-headers"] [data-testid="kv-name-0"]').fill('Accept');
  await page.locator('[data-testid="field-headers"] [data-testid="kv-value-0"]').fill('application/json');
  await page.locator('[data-testid="field-max_attempts"] input').fill('99');
  await page.locator('[data-testid="field-max_attempts"] .form-error').waitFor();
  await draftEventually('the header, and no refused number, in the draft', workflow.id, filler.token, (graph) => {
    const node = graph.nodes.find((n) => n.id === 'call');
    return node.config.headers?.Accept === 'application/json' && node.config.max_attempts === undefined;
  });
  checkNoProblems(page);
});
