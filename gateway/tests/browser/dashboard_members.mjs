// An org owner brings a co-creator in through the dashboard's members page: adds an existing
// account as an editor, who can then open the org's workflow; changes their role; is refused,
// with the server's reason, for an unknown email and for demoting the org's last owner; and
// removes them, after which the workflow is closed to them. The API agrees at each step.
import { api, check, checkNoProblems, eventually, goto, openPage, scenario, signup } from './lib.mjs';

await scenario('dashboard_members', async (browser) => {
  const owner = await signup('Olive');
  const bob = await signup('Bob');
  const org = owner.org_id;
  const workflow = (await api('POST', `/api/orgs/${org}/workflows`, owner.token, { name: 'Shared flow' })).body;
  const roleOf = async (email) =>
    (await api('GET', `/api/orgs/${org}/members`, owner.token)).body.find((m) => m.email === email)?.role;
  const bobSees = async () => (await api('GET', `/api/workflows/${workflow.id}`, bob.token)).status;
  check((await bobSees()) === 404, 'before joining, the workflow is not there for bob');

  const page = await openPage(browser, owner);
  await goto(page, '/app/members');
  await page.getByTestId('member-form').waitFor();
  const row = (email) => page.locator(`[data-testid=member-row][data-email="${email}"]`);
  await row(owner.email).waitFor();
  // the active nav entry stays readable under the pointer (WCAG AA: 4.5:1 for text)
  await page.getByTestId('nav-members').hover();
  const ratio = await page.getByTestId('nav-members').evaluate((link) => {
    const rgb = (text) => text.match(/[\d.]+/g).slice(0, 3).map(Number);
    const lum = ([r, g, b]) => [r, g, b].map((c) => {
      const v = c / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    }).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
    const style = getComputedStyle(link);
    const [fg, bg] = [lum(rgb(style.color)), lum(rgb(style.backgroundColor))];
    return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
  });
  check(ratio >= 4.5, `the hovered active nav entry has contrast ${ratio.toFixed(2)}`);
  check((await row(owner.email).textContent()).includes('(you)'), 'the owner sees themself marked');

  await page.getByTestId('member-email').fill(bob.email);
  await page.getByTestId('member-role').selectOption('editor');
  await page.getByTestId('member-add').click();
  await eventually('the joined note', async () => (await page.getByTestId('member-done').textContent()).includes('Bob joined as editor'));
  await eventually('bob listed as editor', async () => (await row(bob.email).getAttribute('data-role')) === 'editor');
  check((await roleOf(bob.email)) === 'editor', 'the API lists bob as an editor');
  check((await bobSees()) === 200, 'the new editor opens the org\'s workflow');

  await row(bob.email).getByTestId('member-role-change').selectOption('viewer');
  await eventually('bob shown as viewer', async () => (await row(bob.email).getAttribute('data-role')) === 'viewer');
  check((await roleOf(bob.email)) === 'viewer', 'the API agrees on the new role');

  await page.getByTestId('member-email').fill(`nobody-${Date.now()}@example.test`);
  await page.getByTestId('member-add').click();
  await eventually('the unknown-email refusal', async () => (await page.getByTestId('member-error').textContent()).includes('no account with this email'));

  await row(owner.email).getByTestId('member-role-change').selectOption('viewer');
  await eventually('the last-owner refusal', async () => (await page.getByTestId('member-error').textContent()).includes('at least one owner'));
  check((await roleOf(owner.email)) === 'owner', 'the org keeps its owner');
  await eventually('the picker shows the owner again', async () => (await row(owner.email).getByTestId('member-role-change').inputValue()) === 'owner');

  await row(bob.email).getByTestId('member-remove').click();
  await page.getByTestId('confirm-ok').click();
  await eventually('bob\'s row to go', async () => (await row(bob.email).count()) === 0);
  check((await roleOf(bob.email)) === undefined, 'the API no longer lists bob');
  check((await bobSees()) === 404, 'a removed member no longer opens the workflow');
  checkNoProblems(page, ['404', '409', 'Not Found', 'Conflict']);
});
