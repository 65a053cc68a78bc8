// A viewer cannot see admin pages: signed in through the login form, a member with the viewer
// role sees no supervision entry, the admin address shows nothing of the tree, the API refuses
// it, and in the org where they only view there is no secret form, audit log or replay button.
import { BASE, api, check, checkNoProblems, eventually, goto, openPage, scenario, signup } from './lib.mjs';

await scenario('dashboard_viewer', async (browser) => {
  const owner = await signup('Owner');
  const viewer = await signup('Viewer');
  const added = await api('POST', `/api/orgs/${owner.org_id}/members`, owner.token, { email: viewer.email, role: 'viewer' });
  check(added.status === 201 || added.status === 200, `viewer added: ${added.status} ${JSON.stringify(added.body)}`);
  const refused = await api('GET', '/api/admin/actors', viewer.token);
  check(refused.status === 404, `the API hides the tree from a viewer: ${refused.status}`);

  const page = await openPage(browser, null);
  await goto(page, '/app/');
  await page.getByTestId('login-email').fill(viewer.email);
  await page.getByTestId('login-password').fill(viewer.password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('workflows-page').waitFor();
  check(await page.getByTestId('nav-admin-actors').count() === 0, 'no supervision entry in the navigation');

  await page.goto(`${BASE}/app/admin/actors`);
  await page.getByTestId('not-found').waitFor();
  check(await page.getByTestId('actor-tree').count() === 0, 'no tree on the admin address');

  // in the owner's org the viewer reads but changes nothing
  await page.getByTestId('org-picker').selectOption(owner.org_id);
  await page.getByTestId('nav-secrets').click();
  await page.getByTestId('secrets-page').waitFor();
  check(await page.getByTestId('secret-form').count() === 0, 'no secret form for a viewer');
  await page.getByTestId('nav-audit').click();
  await page.getByTestId('audit-page').waitFor();
  check(await page.getByTestId('audit-table').count() === 0, 'no audit log for a viewer');
  await page.getByTestId('nav-dlq').click();
  await eventually('the dead-letter page', async () => (await page.getByTestId('dlq-counts').count()) === 1);
  check(await page.getByTestId('dlq-replay-bulk').count() === 0, 'no replay for a viewer');
  checkNoProblems(page);
});
