// Both apps load from the real server under their strict Content-Security-Policy, mount into
// #main without a console error, and deep links fall back to the app.
import { BASE, api, check, checkNoProblems, goto, openPage, scenario, signup } from './lib.mjs';

await scenario('smoke', async (browser) => {
  const alice = await signup('Alice');
  for (const path of ['/studio/', '/studio/some/deep/link', '/app/']) {
    const head = await fetch(BASE + path);
    if (path === '/app/' && head.status === 503) continue; // the dashboard is not built yet
    check(head.status === 200, `${path} answers 200, got ${head.status}`);
    check((head.headers.get('content-security-policy') ?? '').includes("script-src 'self' 'wasm-unsafe-eval'"),
      `${path} carries the strict policy`);
    const page = await openPage(browser, alice);
    const mountedMs = await goto(page, path);
    console.log(`smoke: ${path} mounted ${Math.round(mountedMs)} ms after navigation start`);
    checkNoProblems(page);
    await page.context().close();
  }
  // signed out, the studio asks who you are instead of failing
  const anonymous = await openPage(browser, null);
  await goto(anonymous, '/studio/');
  checkNoProblems(anonymous, ['401']);
  const me = await api('GET', '/api/auth/me', alice.token);
  check(me.status === 200, `the API knows the session: ${me.status}`);
});
