// Every page of both apps, in the states people meet it in (signed out, with data, with its
// panels, forms and dialogs open), has no serious or critical axe-core violation and no control
// the keyboard cannot reach. On the canvas the keyboard does what the pointer does: Tab reaches a
// node, Enter picks it (its form opens) and the arrow keys move it, written to the draft.
import { api, check, checkAccessible, checkNoProblems, eventually, goto, openPage, platformAdmin, scenario, signup } from './lib.mjs';
import { call, draftEventually, openWorkflow } from './_studio_support.mjs';

const finished = ['succeeded', 'failed', 'dead_lettered'];

/** A published workflow of `nodes` in a row (each feeding the next), run once with `input`. */
async function publishedAndRun(owner, name, nodes, input) {
  const workflow = await call('POST', `/api/orgs/${owner.org_id}/workflows`, owner.token, { name });
  const graph = {
    nodes: nodes.map((n, i) => ({ ...n, position: { x: 40 + 320 * i, y: 80 } })),
    edges: nodes.slice(1).map((n, i) => ({ id: `e${i}`, from: nodes[i].id, to: n.id })),
  };
  await call('PUT', `/api/workflows/${workflow.id}/graph`, owner.token, graph);
  await call('POST', `/api/workflows/${workflow.id}/publish`, owner.token, {});
  const started = await call('POST', `/api/workflows/${workflow.id}/runs`, owner.token, { input });
  const run = await eventually(`${name}'s run to finish`, async () => {
    const detail = (await api('GET', `/api/runs/${started.run_id}`, owner.token)).body;
    return finished.includes(detail?.status) && detail;
  }, 30000);
  return { workflow, run };
}

await scenario('accessibility', async (browser) => {
  const ada = await signup('Ada');
  const greeter = await publishedAndRun(ada, 'Greeter', [
    { id: 'hook', kind: 'trigger.webhook', label: 'Incoming order', config: {} },
    { id: 'shape', kind: 'data.transform', label: 'Shape greeting', config: { fields: { greeting: '{{ trigger.body.name }}' } } },
  ], { body: { name: 'Ada' }, headers: {}, query: {} });
  check(greeter.run.status === 'succeeded', `the greeter ran: ${JSON.stringify(greeter.run)}`);
  // a service that is not there (nothing listens on port 9): the run ends in the dead-letter queue
  const sync = await publishedAndRun(ada, 'Order sync', [
    { id: 'start', kind: 'trigger.manual', label: 'Start', config: {} },
    { id: 'call', kind: 'http.request', label: 'Send to shop',
      config: { method: 'GET', url: 'http://127.0.0.1:9/orders', max_attempts: 1 } },
  ], { batch: 7 });
  check(sync.run.status === 'dead_lettered', `the sync run dead-lettered: ${sync.run.status}`);
  await call('POST', `/api/orgs/${ada.org_id}/secrets`, ada.token, { name: 'SHOP_TOKEN', value: 'shop-token-not-shown' });
  const invitation = await call('POST', `/api/orgs/${ada.org_id}/invitations`, ada.token,
    { email: `newcomer-${Date.now()}@example.test`, role: 'editor' });
  const handle = `ada${Date.now()}`;
  await call('PUT', '/api/creators/me', ada.token, { handle, display_name: 'Ada Creator', bio: 'Builds greeters.' });

  // signed out: both sign-in pages and an invitation
  const out = await openPage(browser, null);
  await goto(out, '/app/');
  await out.getByTestId('login-form').waitFor();
  await checkAccessible(out, 'dashboard sign-in');
  await goto(out, '/studio/');
  await out.getByTestId('login-form').waitFor();
  await checkAccessible(out, 'studio sign-in');
  await out.getByTestId('login-switch').click();
  await out.getByTestId('signup-name').waitFor();
  await checkAccessible(out, 'studio sign-up');
  await goto(out, invitation.path);
  await out.getByTestId('invite-offer').waitFor();
  await checkAccessible(out, 'invitation, signed out');

  // the dashboard
  const dash = await openPage(browser, ada);
  const visit = async (path, ready, where) => {
    await goto(dash, path);
    await dash.waitForSelector(ready, { timeout: 15000 });
    await checkAccessible(dash, where);
  };
  await visit('/app/', '[data-testid=workflow-card]', 'dashboard workflows');
  await visit(`/app/workflows/${greeter.workflow.id}/runs`, '[data-testid=webhook-url]', 'a workflow\'s runs and webhook');
  await visit('/app/runs', '[data-testid=run-row]', 'dashboard runs');
  await visit(`/app/runs/${greeter.run.id}`, '[data-testid=run-page][data-status=succeeded] [data-testid=step]', 'a succeeded run');
  await dash.getByTestId('step').first().click();
  await checkAccessible(dash, 'a succeeded run with a step open');
  await visit(`/app/runs/${sync.run.id}`, '[data-testid=run-page][data-status=dead_lettered] [data-testid=run-error]', 'a dead-lettered run');
  await visit('/app/dlq', '[data-testid=dlq-entry]', 'dead-letter queue');
  await dash.locator('[data-testid=dlq-entry] summary').first().click();
  await dash.getByTestId('dlq-input').first().waitFor();
  await checkAccessible(dash, 'dead-letter queue with an entry open');
  await visit('/app/usage', '[data-testid=ledger-row]', 'usage and cost');
  await visit('/app/members', '[data-testid=invite-row]', 'members and invitations');
  await visit('/app/secrets', '[data-testid=secret-row]', 'secrets');
  await dash.locator('[data-testid=secret-row] [data-testid=secret-delete]').first().click();
  await dash.getByTestId('confirm-dialog').waitFor();
  await checkAccessible(dash, 'a confirmation dialog');
  await dash.keyboard.press('Escape');
  await eventually('the dialog to close on Escape', async () => (await dash.getByTestId('confirm-dialog').count()) === 0);
  await visit('/app/audit', '[data-testid=audit-row]', 'audit log');
  await visit('/app/nothing-here', '[data-testid=not-found]', 'a page that does not exist');
  checkNoProblems(dash, ['404', 'Not Found']);

  const admin = await platformAdmin();
  const root = await openPage(browser, admin);
  await goto(root, '/app/admin/actors');
  await root.waitForSelector('[data-testid=actor-row]', { timeout: 15000 });
  await checkAccessible(root, 'supervision tree');

  // the studio
  const studio = await openPage(browser, ada, { viewport: { width: 1500, height: 900 } });
  await goto(studio, '/studio/');
  await studio.waitForSelector(`text=Greeter`);
  await checkAccessible(studio, 'studio workflows');
  await goto(studio, '/studio/gallery');
  await studio.waitForSelector('[data-testid^=template-]');
  await checkAccessible(studio, 'gallery');
  await studio.locator('[data-testid^=template-]').first().click();
  await studio.getByTestId('template-detail').waitFor();
  await checkAccessible(studio, 'a template\'s detail');
  await goto(studio, `/studio/creators/${handle}`);
  await studio.getByTestId('creator-name').waitFor();
  await checkAccessible(studio, 'a creator\'s profile');

  const id = greeter.workflow.id;
  await openWorkflow(studio, id);
  await studio.waitForSelector('[data-testid=node-shape]');
  await checkAccessible(studio, 'the canvas');

  // the keyboard alone: into the canvas, Tab to the first node, Enter picks it, arrows move it
  await studio.getByTestId('canvas-area').focus();
  await studio.keyboard.press('Tab');
  const focused = await studio.evaluate(() => document.activeElement?.getAttribute('data-testid'));
  check(focused === 'node-hook', `Tab from the canvas reaches its first node: ${focused}`);
  await studio.keyboard.press('Enter');
  await studio.waitForSelector('[data-testid="node-form"][data-node="hook"]');
  await studio.getByTestId('webhook-url').waitFor();
  await checkAccessible(studio, 'the webhook trigger\'s panel');
  await studio.getByTestId('webhook-listen').click();
  await studio.getByTestId('webhook-listening').waitFor();
  await checkAccessible(studio, 'listening for a test event');
  await studio.getByTestId('node-hook').focus();
  await studio.keyboard.press('ArrowDown');
  await studio.keyboard.press('Shift+ArrowRight');
  await draftEventually('the node moved by the arrow keys', id, ada.token, (graph) => {
    const p = graph.nodes.find((n) => n.id === 'hook').position;
    return p.x === 40 + 80 && p.y === 80 + 20;
  });
  await studio.keyboard.press('Tab');
  await studio.keyboard.press('Space');
  await studio.waitForSelector('[data-testid="node-form"][data-node="shape"]');
  await studio.waitForSelector('[data-testid="step-data"][data-state="succeeded"]', { timeout: 15000 });
  await checkAccessible(studio, 'a step\'s form and data');

  await studio.getByTestId('open-run').click();
  await studio.getByTestId('run-panel').waitFor();
  await checkAccessible(studio, 'the Run panel');
  await studio.getByTestId('run-close').click();
  await studio.getByTestId('open-history').click();
  await studio.waitForSelector('[data-testid="history-version-1"]', { timeout: 15000 });
  await checkAccessible(studio, 'version history');
  await studio.getByTestId('open-share').click();
  await studio.getByTestId('share-slug').waitFor();
  await checkAccessible(studio, 'share as a template');
  await studio.getByTestId('open-import').click();
  const file = await call('GET', `/api/workflows/${id}/export`, ada.token);
  file.graph.nodes.find((n) => n.id === 'shape').label = 'Shape a warmer greeting';
  await studio.getByTestId('import-text').fill(JSON.stringify(file));
  await studio.getByTestId('import-preview').click();
  await studio.waitForSelector('[data-testid=import-summary], [data-testid=import-error]');
  await checkAccessible(studio, 'an import preview');
  checkNoProblems(studio);
});
