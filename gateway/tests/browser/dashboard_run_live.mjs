// A webhook-triggered run animates on the dashboard's run page while it executes: the page opens
// as the run starts, follows /ws/events without a reload, pulses the waiting step, and ends with
// every node green, the log streamed and the status succeeded.
import { BASE, api, check, checkNoProblems, eventually, goto, openPage, scenario, shot, signup } from './lib.mjs';

await scenario('dashboard_run_live', async (browser) => {
  const owner = await signup('Runner');
  const created = await api('POST', `/api/orgs/${owner.org_id}/workflows`, owner.token, { name: 'Order intake' });
  check(created.status === 201, `workflow created: ${JSON.stringify(created.body)}`);
  const id = created.body.id;
  const graph = {
    nodes: [
      { id: 'hook', kind: 'trigger.webhook', label: 'Webhook', position: { x: 0, y: 0 }, config: {} },
      { id: 'wait', kind: 'logic.delay', label: 'Wait', position: { x: 240, y: 0 }, config: { seconds: 6 } },
      { id: 'shape', kind: 'data.transform', label: 'Shape', position: { x: 480, y: 0 },
        config: { fields: { order: '{{ trigger.body.order }}' } } },
    ],
    edges: [{ id: 'e1', from: 'hook', to: 'wait' }, { id: 'e2', from: 'wait', to: 'shape' }],
  };
  check((await api('PUT', `/api/workflows/${id}/graph`, owner.token, graph)).status === 200, 'graph written');
  check((await api('POST', `/api/workflows/${id}/publish`, owner.token, {})).status === 201, 'published');
  const hook = await api('POST', `/api/workflows/${id}/webhooks`, owner.token, {});
  check(hook.status === 201, `webhook created: ${JSON.stringify(hook.body)}`);

  const page = await openPage(browser, owner);
  await goto(page, '/app/');
  await page.getByTestId('workflow-card').first().waitFor();

  const fired = await fetch(BASE + new URL(hook.body.url).pathname, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ order: 17 }),
  });
  check(fired.status === 202, `the webhook is accepted: ${fired.status}`);
  const { run_id: run } = await fired.json();
  await goto(page, `/app/runs/${run}`);
  await page.getByTestId('run-page').waitFor();

  const node = (name) => page.locator(`[data-testid=graph] [data-testid=node-${name}]`);
  const classes = async (name) => (await node(name).getAttribute('class')) ?? '';
  // while it executes: the first step is green, the delay pulses, the last step has not run
  await eventually('the waiting step to pulse', async () =>
    (await classes('wait')).includes('node--running') && (await classes('hook')).includes('node--succeeded'));
  check(!(await classes('shape')).includes('node--succeeded'), 'the last step has not run yet');
  check((await page.getByTestId('run-page').getAttribute('data-status')) !== 'succeeded', 'the run is still going');
  await shot(page, 'dashboard-run-live');
  // then, on the same page (no reload), everything turns green
  await eventually('every node to succeed', async () => {
    const all = await Promise.all(['hook', 'wait', 'shape'].map(classes));
    return all.every((c) => c.includes('node--succeeded'));
  }, 30000);
  await eventually('the run to read succeeded', async () =>
    (await page.getByTestId('run-page').getAttribute('data-status')) === 'succeeded');
  // the detail can read succeeded a moment before the stream's last row lands
  await eventually('the log to stream the end', async () =>
    (await page.locator('[data-testid=run-log] [data-event=run_finished]').count()) === 1);
  // the edges the data took settle (solid, no longer flowing) once the run has ended
  await eventually('both edges to settle as carried', async () =>
    (await page.locator('[data-testid=graph] .edge.edge--carried').count()) === 2);
  check((await page.locator('[data-testid=graph] .edge.edge--active').count()) === 0, 'nothing flows after the end');
  const waited = (await page.locator('[data-testid=graph] [data-testid=duration-wait]').textContent()).trim();
  check(waited === '6.0 s', `the 6 s delay shows its wait: ${waited}`);
  // and on the timeline its bar covers the wait, not its step's instant
  const waitLine = page.locator('[data-testid=step][data-step=wait]');
  const waitTook = (await waitLine.locator('.timeline__took').textContent()).trim();
  check(waitTook === '6.0 s', `the timeline says the delay took its wait: ${waitTook}`);
  const waitBar = await waitLine.locator('.timeline__bar').evaluate((el) => parseFloat(el.style.width));
  check(waitBar > 50, `the delay's bar spans most of the run: ${waitBar}%`);
  // people read steps by their labels: the timeline and the log say "Shape", not its id
  const names = await page.locator('[data-testid=step] .timeline__name').allTextContents();
  check(names.join(',') === 'Webhook,Wait,Shape', `the timeline names the steps by label: ${names}`);
  const shaped = await page.locator('[data-testid=run-log] [data-event=step_succeeded] .log__msg').allTextContents();
  check(shaped.some((m) => m.startsWith('Shape ')) && !shaped.some((m) => m.startsWith('shape ')),
    `the log names the steps by label: ${shaped}`);
  // the step's output, as the API gives it
  await page.locator('[data-testid=step][data-step=shape] button').click();
  const output = await page.getByTestId('step-output').textContent();
  check(output.includes('"order": 17'), `the step output shows: ${output}`);
  await shot(page, 'dashboard-run-done');

  // a second delivery is cancelled from its page mid-run, then replayed from the start
  const second = await fetch(BASE + new URL(hook.body.url).pathname, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ order: 18 }),
  });
  const { run_id: other } = await second.json();
  await goto(page, `/app/runs/${other}`);
  await page.getByTestId('run-cancel').click();
  await eventually('the run to read cancelled', async () =>
    (await page.getByTestId('run-page').getAttribute('data-status')) === 'cancelled');
  await page.getByTestId('replay-start').click();
  await eventually('the replay to open on its own page', async () =>
    !page.url().endsWith(other) && (await page.getByTestId('run-page').getAttribute('data-run-id')) !== other);
  await eventually('the replay to succeed', async () =>
    (await page.getByTestId('run-page').getAttribute('data-status')) === 'succeeded', 30000);
  const replayed = await page.getByTestId('run-page').getAttribute('data-run-id');
  check((await api('GET', `/api/runs/${replayed}`, owner.token)).body.replay_of === other, 'the new run replays the cancelled one');
  checkNoProblems(page);
});
