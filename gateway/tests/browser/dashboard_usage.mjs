// The usage page's totals match the API and the ledger to the micro (a few steps' cost reads
// `$0.003`, not `$0.00`), the charts draw the day's runs, and a top-up through the test payment
// provider adds exactly the typed amount to the balance.
import { api, check, checkNoProblems, eventually, goto, openPage, scenario, shot, signup } from './lib.mjs';

/** Micros exactly, at least two decimals, as `$1,234.003` (the dashboard's rule). */
function exact(micros) {
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(micros);
  const units = Math.floor(abs / 1e6).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const fraction = String(abs % 1e6).padStart(6, '0').replace(/0{1,4}$/, '');
  return `${sign}$${units}.${fraction}`;
}

await scenario('dashboard_usage', async (browser) => {
  const owner = await signup('Counter');
  const created = await api('POST', `/api/orgs/${owner.org_id}/workflows`, owner.token, { name: 'Tally' });
  const id = created.body.id;
  const graph = {
    nodes: [
      { id: 'start', kind: 'trigger.manual', label: 'Start', position: { x: 0, y: 0 }, config: {} },
      { id: 'a', kind: 'data.transform', label: 'A', position: { x: 240, y: 0 }, config: { fields: { n: '{{ input.n }}' } } },
      { id: 'b', kind: 'data.transform', label: 'B', position: { x: 480, y: 0 }, config: { fields: { m: '{{ input.n }}' } } },
    ],
    edges: [{ id: 'e1', from: 'start', to: 'a' }, { id: 'e2', from: 'a', to: 'b' }],
  };
  check((await api('PUT', `/api/workflows/${id}/graph`, owner.token, graph)).status === 200, 'graph written');
  check((await api('POST', `/api/workflows/${id}/publish`, owner.token, {})).status === 201, 'published');
  for (const n of [1, 2, 3]) {
    const started = await api('POST', `/api/workflows/${id}/runs`, owner.token, { input: { n } });
    check(started.status === 201, 'run started');
    await eventually('the run to succeed', async () =>
      (await api('GET', `/api/runs/${started.body.run_id}`, owner.token)).body?.status === 'succeeded', 30000);
  }
  const usage = (await api('GET', `/api/orgs/${owner.org_id}/usage`, owner.token)).body;
  check(usage.totals.runs === 3, `three runs are counted: ${JSON.stringify(usage.totals)}`);

  const page = await openPage(browser, owner);
  await goto(page, '/app/usage');
  const cost = page.getByTestId('total-cost');
  await cost.waitFor();
  check(await page.getByTestId('total-runs').getAttribute('data-value') === String(usage.totals.runs), 'runs match');
  check(await page.getByTestId('total-steps').getAttribute('data-value') === String(usage.totals.steps), 'steps match');
  check(await cost.getAttribute('data-micros') === String(usage.totals.cost_micros), 'cost matches to the micro');
  check((await cost.textContent()).trim() === exact(usage.totals.cost_micros),
    `cost shows to the micro: ${await cost.textContent()} vs ${exact(usage.totals.cost_micros)}`);
  check(usage.totals.cost_micros > 0 && usage.totals.cost_micros < 10000, `a few steps cost under a cent: ${usage.totals.cost_micros}`);
  const ledger = (await api('GET', `/api/orgs/${owner.org_id}/billing/ledger?limit=100`, owner.token)).body;
  const debited = -ledger.filter((row) => row.kind === 'usage').reduce((sum, row) => sum + row.amount_micros, 0);
  check(debited === usage.totals.cost_micros, `the ledger's usage debits add up to the total: ${debited}`);
  const todays = page.locator('[data-testid=chart-day-runs] rect.chart__bar[data-value="3"]');
  check(await todays.count() === 1, 'the runs chart has today\'s bar at 3');
  // the axis runs to the range's last day, and no label is cut off at the top
  const today = (await todays.getAttribute('data-day')).slice(5);
  const axis = await page.locator('[data-testid=chart-day-runs] text.chart__axis').allTextContents();
  check(axis.includes(today), `the x axis labels today (${today}): ${axis}`);
  const cut = await page.getByTestId('chart-day-runs').locator('svg').evaluate((svg) => {
    const box = svg.getBoundingClientRect();
    return [...svg.querySelectorAll('text')].filter((t) => t.getBoundingClientRect().top < box.top - 0.5).length;
  });
  check(cut === 0, `${cut} chart labels stick out above the chart`);
  const perWorkflow = page.locator('[data-testid=chart-workflow-steps] rect.chart__bar');
  check(await perWorkflow.getAttribute('data-value') === String(usage.totals.steps), 'the workflow chart holds every step');
  await shot(page, 'dashboard-usage');

  const before = (await api('GET', `/api/orgs/${owner.org_id}/billing`, owner.token)).body.balance_micros;
  check(await page.getByTestId('balance').getAttribute('data-micros') === String(before), 'balance matches the API');
  await page.getByTestId('topup-amount').fill('12.34');
  await page.getByTestId('topup-submit').click();
  await eventually('the balance to grow by the top-up', async () =>
    (await page.getByTestId('balance').getAttribute('data-micros')) === String(before + 12340000));
  const after = (await api('GET', `/api/orgs/${owner.org_id}/billing`, owner.token)).body.balance_micros;
  check(after === before + 12340000, `the API agrees: ${after}`);
  check((await page.getByTestId('balance').textContent()).trim() === exact(after), 'the balance shows to the micro');
  await eventually('the ledger to list the top-up', async () =>
    (await page.locator('[data-testid=ledger-row] [data-micros="12340000"]').count()) === 1);
  // a run's debit reads by its workflow's name and links to the run, no internal id in sight
  const debits = page.locator('[data-testid=ledger-row]:has([data-testid=ledger-run])');
  check(await debits.count() === 3, `three runs' debits: ${await debits.count()}`);
  const debitText = await debits.first().textContent();
  check(debitText.includes('Tally run') && !/[0-9a-f]{8}-[0-9a-f]{4}/.test(debitText), `a debit reads by name: ${debitText}`);
  const runHref = await debits.first().getByTestId('ledger-run').getAttribute('href');
  check(ledger.some((row) => row.run_id && runHref.endsWith(`/runs/${row.run_id}`)), `the debit links to its run: ${runHref}`);

  // the workflows page knows the same: three runs, all succeeded; its triggers switch off
  await goto(page, '/app/');
  const card = page.locator(`[data-testid=workflow-card][data-workflow-id="${id}"]`);
  await card.waitFor();
  check((await card.getByTestId('workflow-success').textContent()).trim() === '100%', 'success rate 100%');
  check((await card.getByTestId('workflow-cost').textContent()).trim() === exact(usage.totals.cost_micros),
    `the card's cost agrees with the usage page: ${await card.getByTestId('workflow-cost').textContent()}`);
  await card.getByTestId('toggle-triggers').click();
  await eventually('the workflow to be disabled', async () =>
    (await api('GET', `/api/workflows/${id}`, owner.token)).body?.enabled === false);
  await eventually('the card to say so', async () =>
    (await card.getByTestId('status').first().textContent()).trim() === 'disabled');
  checkNoProblems(page);
});
