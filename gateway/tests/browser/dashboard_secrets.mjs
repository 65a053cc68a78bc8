// An org admin sets a secret through the dashboard's form, replaces its value and deletes it; the
// API agrees at each step, and the value never appears on the page.
import { api, check, checkNoProblems, eventually, goto, openPage, scenario, signup } from './lib.mjs';

await scenario('dashboard_secrets', async (browser) => {
  const owner = await signup('Keeper');
  const names = async () =>
    (await api('GET', `/api/orgs/${owner.org_id}/secrets`, owner.token)).body.map((s) => s.name);
  const page = await openPage(browser, owner);
  await goto(page, '/app/secrets');
  await page.getByTestId('secret-form').waitFor();

  await page.getByTestId('secret-name').fill('SLACK_TOKEN');
  await page.getByTestId('secret-value').fill('xoxb-first-value');
  await page.getByTestId('secret-save').click();
  await eventually('the saved note', async () => (await page.getByTestId('secret-saved').textContent()).includes('SLACK_TOKEN saved'));
  await page.locator('[data-testid=secret-row][data-name=SLACK_TOKEN]').waitFor();
  check((await names()).includes('SLACK_TOKEN'), 'the API lists the new secret');
  check(await page.getByTestId('secret-value').inputValue() === '', 'the value leaves the form once sent');

  const row = page.locator('[data-testid=secret-row][data-name=SLACK_TOKEN]');
  await row.getByTestId('secret-replace').click();
  check(await page.getByTestId('secret-name').inputValue() === 'SLACK_TOKEN', 'replace fills in the name');
  await page.getByTestId('secret-value').fill('xoxb-second-value');
  await page.getByTestId('secret-save').click();
  await eventually('the replaced note', async () => (await page.getByTestId('secret-saved').textContent()).includes('SLACK_TOKEN replaced'));
  check((await names()).filter((n) => n === 'SLACK_TOKEN').length === 1, 'still one secret of that name');

  await row.getByTestId('secret-delete').click();
  await page.getByTestId('confirm-ok').click();
  await eventually('the row to go', async () => (await page.locator('[data-testid=secret-row]').count()) === 0);
  check(!(await names()).includes('SLACK_TOKEN'), 'the API no longer lists it');
  const html = await page.content();
  check(!html.includes('xoxb-first-value') && !html.includes('xoxb-second-value'), 'no value on the page');
  checkNoProblems(page);
});
