// Step data on the canvas: run a workflow from the Run panel, click its transforming step and read
// what it produced in the side panel's JSON tree (the value the server stored, a nested object
// folded until opened), its duration and tries; a step that failed shows its error and its two
// tries; a step the run never reached says so. A co-editor who opens the workflow afterwards sees
// the same run, and a run the co-editor starts reaches both canvases and both panels.
import { check, checkNoProblems, eventually, openPage, scenario, shot, signup } from './lib.mjs';
import { call, openWorkflow } from './_studio_support.mjs';

await scenario('studio_step_data', async (browser) => {
  const ada = await signup('Ada');
  const grace = await signup('Grace');
  await call('POST', `/api/orgs/${ada.org_id}/members`, ada.token, { email: grace.email, role: 'editor' });
  const workflow = await call('POST', `/api/orgs/${ada.org_id}/workflows`, ada.token, { name: 'Greeter' });
  const node = (id, kind, label, x, config) => ({ id, kind, label, position: { x, y: 120 }, config });
  await call('PUT', `/api/workflows/${workflow.id}/graph`, ada.token, {
    nodes: [
      node('start', 'trigger.manual', 'Start', 40, { sample_input: { name: 'Ada', address: { city: 'Paris', zip: '75001' } } }),
      node('shape', 'data.transform', 'Shape greeting', 320, {
        fields: { greeting: 'Hello {{ trigger.name }}', place: '{{ trigger.address }}', letters: '{{ trigger.name | length }}' },
      }),
      node('fetch', 'http.request', 'Fetch profile', 600, { method: 'GET', url: 'http://127.0.0.1:9/profile', max_attempts: 2 }),
      node('after', 'data.transform', 'Never reached', 880, { fields: { done: 'yes' } }),
    ],
    edges: [
      { id: 'e1', from: 'start', to: 'shape' },
      { id: 'e2', from: 'shape', to: 'fetch' },
      { id: 'e3', from: 'fetch', to: 'after' },
    ],
  });
  const page = await openPage(browser, ada, { viewport: { width: 1500, height: 900 } });
  await openWorkflow(page, workflow.id);
  const select = async (id, on = page) => {
    await on.locator(`[data-testid="node-${id}"] .node__body`).click();
    await on.waitForSelector(`[data-testid="node-form"][data-node="${id}"]`);
  };
  const greetingOn = async (on) =>
    on.getByTestId('step-output').locator('[data-path="greeting"] [data-testid="json-value"]').first().textContent();

  // before any run the panel says there is nothing yet
  await select('shape');
  await page.waitForSelector('[data-testid="step-data"][data-state="no-run"]');

  await page.getByTestId('open-run').click();
  await page.getByTestId('run-start').click();
  await page.waitForSelector('[data-testid="run-status"][data-status="failed"], [data-testid="run-status"][data-status="dead_lettered"]',
    { timeout: 60000 });
  // the selected step's data shows under the open Run panel too
  await page.waitForSelector('[data-testid="sidepanel"] [data-testid="step-data"][data-state="succeeded"]', { timeout: 15000 });
  check(await page.getByTestId('run-panel').isVisible(), 'with the Run panel still open');
  await page.getByTestId('run-close').click();

  const runs = await call('GET', `/api/orgs/${ada.org_id}/runs?workflow=${workflow.id}&limit=1`, ada.token);
  const run = await call('GET', `/api/runs/${runs[0].id}`, ada.token);
  const stored = (id) => run.steps.find((s) => s.node_id === id);
  check(stored('shape')?.output?.place?.city === 'Paris', `the transform produced a nested object: ${JSON.stringify(run.steps)}`);

  // the transforming step: what it produced, as the server stored it
  await select('shape');
  const data = page.getByTestId('step-data');
  await page.waitForSelector('[data-testid="step-data"][data-state="succeeded"]', { timeout: 15000 });
  check((await data.getByTestId('step-attempts').textContent()).trim() === '1 attempt', 'one try');
  const took = (await data.getByTestId('step-duration').textContent()).trim();
  check(/^took \d+ ms$/.test(took), `the duration is shown: ${took}`);
  const output = data.getByTestId('step-output');
  const leaf = (tree, path) => tree.locator(`[data-path="${path}"] [data-testid="json-value"]`).first();
  const greeting = await leaf(output, 'greeting').textContent();
  check(greeting === JSON.stringify(stored('shape').output.greeting), `the output shows the stored greeting: ${greeting}`);
  check(greeting === '"Hello Ada"', `and that is the rendered template: ${greeting}`);
  check(await leaf(output, 'letters').getAttribute('data-type') === typeof stored('shape').output.letters,
    'a scalar shows its type');
  // the nested object is folded until opened
  const place = output.locator('details[data-path="place"]');
  check(!(await place.evaluate((d) => d.open)), 'a nested object starts folded');
  check(!(await leaf(output, 'place.city').isVisible()), 'its keys are hidden while folded');
  await place.locator('summary').first().click();
  await leaf(output, 'place.city').waitFor({ state: 'visible' });
  check(await leaf(output, 'place.city').textContent() === '"Paris"', 'the opened object shows the city');
  check(await leaf(output, 'place.zip').textContent() === JSON.stringify(stored('shape').output.place.zip), 'and the zip');
  // what it received: the trigger's delivery
  const input = data.getByTestId('step-input');
  check(await leaf(input, 'name').textContent() === '"Ada"', 'the input shows what the trigger delivered');
  await shot(page, 'studio-step-data');

  // the step that failed: its error, in its two tries
  await select('fetch');
  await page.waitForSelector('[data-testid="step-data"][data-state="failed"]', { timeout: 15000 });
  const error = (await data.getByTestId('step-error').textContent()).trim();
  check(error.length > 0 && error === stored('fetch').error, `the error is the stored one: ${error} / ${stored('fetch').error}`);
  check((await data.getByTestId('step-attempts').textContent()).trim() === '2 attempts', 'it was tried twice');

  // the step after it never ran
  await select('after');
  await page.waitForSelector('[data-testid="step-data"][data-state="not-run"]');
  const said = await data.getByTestId('step-data-note').textContent();
  check(said.includes('Never reached'), `the note names the step by its label: ${said}`);
  await eventually('the canvas still shows the run', async () => (await page.locator('[data-testid="node-fetch"].node--failed').count()) === 1);

  // Grace opens the workflow after the run: she sees the same run and its step data
  const other = await openPage(browser, grace, { viewport: { width: 1500, height: 900 } });
  await openWorkflow(other, workflow.id);
  await other.waitForSelector('[data-testid="node-fetch"].node--failed', { timeout: 15000 });
  check(await other.locator('path.edge.edge--carried[data-to="shape"]').count() === 1, 'the edges the data took show too');
  await select('shape', other);
  await other.waitForSelector('[data-testid="step-data"][data-state="succeeded"]', { timeout: 15000 });
  check(await greetingOn(other) === '"Hello Ada"', 'the co-editor reads the same output');

  // a run Grace starts (here through the API) becomes the run on both canvases and both panels
  await call('POST', `/api/workflows/${workflow.id}/runs`, grace.token, { input: { name: 'Grace', address: { city: 'Oslo' } } });
  await select('shape');
  for (const [who, on] of [['Ada', page], ['Grace', other]]) {
    await eventually(`${who}'s panel shows the new run's output`, async () =>
      (await on.locator('[data-testid="step-data"][data-state="succeeded"]').count()) === 1 && await greetingOn(on) === '"Hello Grace"');
  }
  checkNoProblems(page);
  checkNoProblems(other);
});
