// The supervision tree (platform admins) is live: a run's actor appears under the runs
// supervisor while the run executes and disappears when it ends, without reloading the page.
import { api, check, checkNoProblems, eventually, goto, openPage, platformAdmin, scenario, shot } from './lib.mjs';

await scenario('dashboard_actors', async (browser) => {
  const root = await platformAdmin();
  const created = await api('POST', `/api/orgs/${root.org_id}/workflows`, root.token, { name: 'Slow one' });
  const id = created.body.id;
  const graph = {
    nodes: [
      { id: 'start', kind: 'trigger.manual', label: 'Start', position: { x: 0, y: 0 }, config: {} },
      { id: 'wait', kind: 'logic.delay', label: 'Wait', position: { x: 240, y: 0 }, config: { seconds: 5 } },
      { id: 'done', kind: 'data.transform', label: 'Done', position: { x: 480, y: 0 }, config: { fields: { ok: 'yes' } } },
    ],
    edges: [{ id: 'e1', from: 'start', to: 'wait' }, { id: 'e2', from: 'wait', to: 'done' }],
  };
  check((await api('PUT', `/api/workflows/${id}/graph`, root.token, graph)).status === 200, 'graph written');
  check((await api('POST', `/api/workflows/${id}/publish`, root.token, {})).status === 201, 'published');

  const page = await openPage(browser, root);
  await goto(page, '/app/');
  await page.getByTestId('nav-admin-actors').click();
  await page.getByTestId('actor-tree').waitFor();
  check(await page.locator('[data-testid=actor-row][data-kind=root]').count() === 1, 'the root is shown');

  const started = await api('POST', `/api/workflows/${id}/runs`, root.token, {});
  check(started.status === 201, 'run started');
  const run = started.body.run_id;
  const row = page.locator(`[data-testid=actor-row][data-kind=run][data-name="${run}"]`);
  await eventually('the run actor to appear', async () => (await row.count()) === 1, 15000);
  await shot(page, 'dashboard-actors');
  // the kind filter keeps the run and its supervisors, nothing else
  await page.getByTestId('actors-kind').selectOption('run');
  check(await page.locator('[data-testid=actor-row][data-kind=webhook_source]').count() === 0, 'the filter hides other kinds');
  await page.getByTestId('actors-kind').selectOption('');
  await eventually('the run to finish', async () =>
    (await api('GET', `/api/runs/${run}`, root.token)).body?.status === 'succeeded', 30000);
  await eventually('the run actor to disappear', async () => (await row.count()) === 0, 15000);
  checkNoProblems(page);
});
