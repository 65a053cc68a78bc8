// An owner invites someone who has no account yet, from the members page, as an editor, and
// copies the link the page shows. The newcomer, signed out in another browser, opens the link,
// reads who invited them to what, makes their account there and lands in the app on that org;
// from its workflow card they open the workflow in the studio and add a step and rename it, and
// both edits appear on the owner's open canvas. The link opened again says it has already been
// used; a second invitation is listed as pending and revoked from the page, after which its link
// says it was revoked. No listing shows a token. Someone signed in with an account of their own
// joins through a link with one click and lands on the inviting org.
import { BASE, api, check, checkNoProblems, eventually, goto, openPage, scenario, shot, signup } from './lib.mjs';
import { call, openWorkflow } from './_studio_support.mjs';

await scenario('dashboard_invite', async (browser) => {
  const owner = await signup('Olive');
  const org = owner.org_id;
  const orgName = (await call('GET', `/api/orgs/${org}`, owner.token)).name;
  const workflow = await call('POST', `/api/orgs/${org}/workflows`, owner.token, { name: 'Invited flow' });
  await call('PUT', `/api/workflows/${workflow.id}/graph`, owner.token, {
    nodes: [{ id: 'start', kind: 'trigger.manual', label: 'Start', position: { x: 40, y: 80 }, config: {} }],
    edges: [],
  });
  const unique = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const email = `nina-${unique}@example.test`;

  // The owner makes the link on the members page.
  const members = await openPage(browser, owner);
  await goto(members, '/app/members');
  await members.getByTestId('invite-form').waitFor();
  await members.getByTestId('invite-email').fill(email);
  await members.getByTestId('invite-role').selectOption('editor');
  await members.getByTestId('invite-send').click();
  const link = await eventually('the link on the page', async () => {
    const shown = await members.getByTestId('invite-link').inputValue();
    return shown.includes('/app/invite/') && shown;
  });
  check(link.startsWith(`${BASE}/app/invite/aosi_`), `the link is on this server: ${link}`);
  const token = link.slice(link.lastIndexOf('/') + 1);
  const pendingRow = (address) => members.locator(`[data-testid=invite-row][data-email="${address}"]`);
  await eventually('the pending invitation listed', async () => (await pendingRow(email).getAttribute('data-role')) === 'editor');
  check(!(await members.getByTestId('invites-table').textContent()).includes(token), 'the pending list shows no token');
  const listed = await api('GET', `/api/orgs/${org}/invitations`, owner.token);
  check(listed.status === 200 && !JSON.stringify(listed.body).includes(token), 'the API lists no token');
  await members.getByTestId('invite-copy').click();
  await members.getByTestId('invite-copied').waitFor();
  await shot(members, 'dashboard-invite');

  // The owner keeps the workflow open on the canvas.
  const canvas = await openPage(browser, owner, { viewport: { width: 1400, height: 860 } });
  await openWorkflow(canvas, workflow.id);

  // The newcomer, signed out, opens the link and makes their account.
  const guest = await openPage(browser, null, { viewport: { width: 1400, height: 860 } });
  await goto(guest, new URL(link).pathname);
  const offer = await guest.getByTestId('invite-offer').textContent();
  check(offer === `Olive invited you to join ${orgName} as editor`, `the offer reads "${offer}"`);
  check((await guest.getByTestId('invite-email').inputValue()) === email, 'the invited email is filled in');
  check((await guest.getByTestId('invite-email').getAttribute('readonly')) !== null, 'and cannot be changed');
  await shot(guest, 'dashboard-invite-accept');
  await guest.getByTestId('invite-name').fill('Nina');
  await guest.getByTestId('invite-password').fill('a long test passphrase 42');
  await guest.getByTestId('invite-submit').click();

  // In the app, on the org that invited her, with its workflow.
  await eventually('the newcomer signed in', async () => (await guest.getByTestId('me').textContent()) === 'Nina');
  check(new URL(guest.url()).pathname === '/app/', `the app opened at ${guest.url()}`);
  check((await guest.evaluate(() => localStorage.getItem('aos.dashboard.org'))) === org, 'the inviting org is the chosen one');
  const card = guest.locator(`[data-testid=workflow-card][data-workflow-id="${workflow.id}"]`);
  await card.waitFor();
  const roles = (await call('GET', `/api/orgs/${org}/members`, owner.token)).filter((m) => m.email === email).map((m) => m.role);
  check(JSON.stringify(roles) === '["editor"]', `the API lists her as an editor: ${roles}`);
  checkNoProblems(guest);

  // She opens it in the studio and edits with the owner watching.
  await card.getByTestId('open-in-studio').click();
  await guest.waitForSelector('[data-testid="conn-status"][data-state="online"]', { timeout: 30000 });
  check(new URL(guest.url()).pathname === `/studio/w/${workflow.id}`, `the studio opened the workflow: ${guest.url()}`);
  await canvas.waitForSelector('[data-testid="avatar"][data-name="Nina"]', { timeout: 15000 });
  await guest.getByTestId('palette-logic.delay').click();
  await guest.waitForSelector('[data-kind="logic.delay"]');
  await canvas.waitForSelector('[data-kind="logic.delay"]', { timeout: 15000 });
  const delay = (await guest.locator('[data-kind="logic.delay"]').getAttribute('data-testid')).replace(/^node-/, '');
  await guest.locator(`[data-testid="node-${delay}"] .node__body`).click();
  await guest.locator('[data-testid="field-label"] input').fill('Nina waits');
  await canvas.waitForSelector(`[data-testid="node-${delay}"] .node__label:has-text("Nina waits")`, { timeout: 15000 });
  checkNoProblems(canvas);
  checkNoProblems(guest);

  // The link a second time, in a fresh signed-out browser: already used.
  const again = await openPage(browser, null);
  await goto(again, new URL(link).pathname);
  const refused = again.getByTestId('invite-refused');
  await refused.waitFor();
  check((await refused.getAttribute('data-code')) === 'invitation_used', 'refused as used');
  check((await refused.textContent()).includes('already been used'), `it says so: ${await refused.textContent()}`);
  check((await again.getByTestId('invite-form').count()) === 0, 'no sign-up form for a used link');
  checkNoProblems(again, ['410', 'Gone']);

  // A second invitation, revoked from the page: its link says so.
  const other = `otto-${unique}@example.test`;
  await members.getByTestId('invite-email').fill(other);
  await members.getByTestId('invite-role').selectOption('viewer');
  await members.getByTestId('invite-send').click();
  const otherLink = await eventually('the second link', async () => {
    const shown = await members.getByTestId('invite-link').inputValue();
    return shown !== link && shown.includes('/app/invite/') && shown;
  });
  await eventually('the used invitation gone from the list', async () => (await pendingRow(email).count()) === 0);
  await pendingRow(other).getByTestId('invite-revoke').click();
  await eventually('the revoked invitation gone', async () => (await pendingRow(other).count()) === 0);
  await eventually('the revoked link gone from the page', async () => (await members.getByTestId('invite-link').count()) === 0);
  await goto(again, new URL(otherLink).pathname);
  await eventually('the revoked link refused', async () =>
    (await again.getByTestId('invite-refused').getAttribute('data-code')) === 'invitation_revoked');
  checkNoProblems(members);

  // Someone with an account of their own, signed in, joins with one click and lands on the org.
  const bob = await signup('Bob');
  const forBob = await call('POST', `/api/orgs/${org}/invitations`, owner.token, { email: bob.email, role: 'viewer' });
  const bobPage = await openPage(browser, bob);
  await goto(bobPage, forBob.path);
  check((await bobPage.getByTestId('invite-offer').textContent()) === `Olive invited you to join ${orgName} as viewer`, 'bob reads the offer');
  await bobPage.getByTestId('invite-join').click();
  await eventually('bob in the app on the org', async () => (await bobPage.getByTestId('org-picker').inputValue()) === org);
  await bobPage.locator(`[data-testid=workflow-card][data-workflow-id="${workflow.id}"]`).waitFor();
  checkNoProblems(bobPage);
});
