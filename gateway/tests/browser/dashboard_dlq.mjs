// Dead-letter replay from the dashboard makes the run succeed: a step calling a service that is
// down exhausts its retries, the run waits in the queue with its error and input; once the
// service is back, Replay on the DLQ page starts a run from the failed step that succeeds.
import http from 'node:http';
import { api, check, checkNoProblems, eventually, goto, openPage, scenario, shot, signup } from './lib.mjs';

await scenario('dashboard_dlq', async (browser) => {
  // a service on loopback (the harness allows egress to 127.0.0.1) that is down until told not to be
  let healthy = false;
  const service = http.createServer((_req, res) => {
    res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify(healthy ? { ok: true } : { error: 'down' }));
  });
  await new Promise((resolve) => service.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${service.address().port}/orders`;
  try {
    const owner = await signup('Replayer');
    const created = await api('POST', `/api/orgs/${owner.org_id}/workflows`, owner.token, { name: 'Flaky sync' });
    const id = created.body.id;
    const graph = {
      nodes: [
        { id: 'start', kind: 'trigger.manual', label: 'Start', position: { x: 0, y: 0 }, config: {} },
        { id: 'call', kind: 'http.request', label: 'Call', position: { x: 240, y: 0 },
          config: { method: 'GET', url, max_attempts: 2, backoff_initial_ms: 50, backoff_max_ms: 100, jitter: 0 } },
      ],
      edges: [{ id: 'e1', from: 'start', to: 'call' }],
    };
    check((await api('PUT', `/api/workflows/${id}/graph`, owner.token, graph)).status === 200, 'graph written');
    check((await api('POST', `/api/workflows/${id}/publish`, owner.token, {})).status === 201, 'published');
    const started = await api('POST', `/api/workflows/${id}/runs`, owner.token, { input: { batch: 7 } });
    check(started.status === 201, `run started: ${JSON.stringify(started.body)}`);
    const failed = started.body.run_id;
    await eventually('the run to be dead-lettered', async () =>
      (await api('GET', `/api/runs/${failed}`, owner.token)).body?.status === 'dead_lettered', 30000);

    const page = await openPage(browser, owner);
    await goto(page, '/app/dlq');
    const entry = page.locator(`[data-testid=dlq-entry][data-run-id="${failed}"]`);
    await entry.waitFor();
    check((await page.getByTestId('dlq-pending').textContent()).trim() === '1', 'one pending entry is counted');
    check((await entry.getByTestId('dlq-error').textContent()).length > 0, 'the entry shows its error');
    await entry.locator('summary').click();
    check((await entry.getByTestId('dlq-input').textContent()).includes('"batch": 7'), 'the entry shows the input');
    await shot(page, 'dashboard-dlq');

    healthy = true;
    await entry.getByTestId('dlq-replay').click();
    await page.getByTestId('dlq-note').waitFor();
    await eventually('the entry to leave the pending list', async () =>
      (await page.locator(`[data-testid=dlq-entry][data-run-id="${failed}"]`).count()) === 0);
    check((await page.getByTestId('dlq-pending').textContent()).trim() === '0', 'nothing is pending any more');

    const runs = await api('GET', `/api/orgs/${owner.org_id}/runs?workflow=${id}`, owner.token);
    const replay = runs.body.find((r) => r.replay_of === failed);
    check(replay, `a replay of the failed run exists: ${JSON.stringify(runs.body)}`);
    await goto(page, `/app/runs/${replay.id}`);
    await eventually('the replayed run to succeed on its page', async () =>
      (await page.getByTestId('run-page').getAttribute('data-status')) === 'succeeded', 30000);
    await eventually('the failed step to turn green', async () =>
      ((await page.locator('[data-testid=graph] [data-testid=node-call]').getAttribute('class')) ?? '')
        .includes('node--succeeded'));
    checkNoProblems(page);
  } finally {
    service.close();
  }
});
