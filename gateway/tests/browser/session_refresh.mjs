// A session whose access token went stale renews itself once, in either app. The usage page's
// calls, refused together, share one refresh; the page shows its figures instead of the login
// screen. The studio, opened with a stale token afterwards, renews the same way.
import { api, check, checkNoProblems, goto, openPage, scenario, signup } from './lib.mjs';

const stored = (page) =>
  page.evaluate(() => ({ token: localStorage.getItem('aos.token'), refresh: localStorage.getItem('aos.refresh') }));

await scenario('session_refresh', async (browser) => {
  const owner = await signup('Renewer');
  // signed in by hand, not by `openPage`'s init script, which would restore the first tokens on
  // every navigation
  const page = await openPage(browser, null);
  const refreshes = [];
  page.on('request', (request) => {
    if (request.url().endsWith('/api/auth/refresh')) refreshes.push(request.url());
  });
  await goto(page, '/app/');
  await page.evaluate(([token, refresh]) => {
    localStorage.setItem('aos.token', token);
    localStorage.setItem('aos.refresh', refresh);
  }, [owner.token, owner.refresh_token]);
  await goto(page, '/app/runs');
  await page.getByTestId('nav-usage').waitFor();

  // the access token goes bad while the page is open (as when it expires); the refresh token is good
  await page.evaluate(() => localStorage.setItem('aos.token', 'stale'));
  await page.getByTestId('nav-usage').click();
  await page.getByTestId('total-cost').waitFor();
  await page.getByTestId('balance').waitFor();
  await page.locator('[data-testid=ledger-row]').first().waitFor();
  check(await page.getByTestId('login-form').count() === 0, 'no login screen');
  check(refreshes.length === 1, `one refresh for all the refused calls, not ${refreshes.length}`);
  const renewed = await stored(page);
  check(renewed.token && renewed.token !== 'stale', 'a new access token is kept');
  check(renewed.refresh && renewed.refresh !== owner.refresh_token, 'and the rotated refresh token');
  check((await api('GET', '/api/auth/me', renewed.token)).status === 200, 'the new token works');

  // the studio shares the session: a stale token there is renewed with the same refresh token
  await page.evaluate(() => localStorage.setItem('aos.token', 'stale'));
  await goto(page, '/studio/');
  await page.getByTestId('me-name').waitFor();
  check(await page.getByTestId('login-form').count() === 0, 'the studio does not ask to sign in');
  check(refreshes.length === 2, `the studio refreshed once: ${refreshes.length} refreshes in all`);
  const again = await stored(page);
  check(again.token !== 'stale' && again.refresh !== renewed.refresh, 'the studio kept its renewed tokens');

  // a refresh token that no longer works ends the session: the login screen, tokens gone
  await page.evaluate(() => {
    localStorage.setItem('aos.token', 'stale');
    localStorage.setItem('aos.refresh', 'aosr_revoked');
  });
  await goto(page, '/app/usage');
  await page.getByTestId('login-form').waitFor();
  const gone = await stored(page);
  check(gone.token === null && gone.refresh === null, `a refused session is forgotten: ${JSON.stringify(gone)}`);

  // the refused calls are the test's doing; nothing else may fail
  checkNoProblems(page, ['401', 'Unauthorized']);
});
