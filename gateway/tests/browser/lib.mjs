// Shared helpers of the browser scenarios: Debian's headless Chromium driven by playwright-core
// against the real server that gateway/tests/browser.rs started (AOS_BASE_URL).
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export const BASE = process.env.AOS_BASE_URL ?? 'http://127.0.0.1:8080';
/// The email the server treats as a platform admin (AOS_ADMIN_EMAILS).
export const ADMIN_EMAIL = process.env.AOS_ADMIN_EMAIL ?? 'admin@automateos.test';
const SCREENSHOTS = process.env.AOS_SCREENSHOTS;

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage',
];

/** Fails the scenario with `message` unless `condition` holds. */
export function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

/** Calls the API; returns `{ status, body }`. */
export async function api(method, path, token, body) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = text; }
  return { status: response.status, body: parsed };
}

let counter = 0;
/** Signs a fresh user and org up; `{ token, refresh_token, user_id, org_id, email, password, name }`. */
export async function signup(name, email) {
  counter += 1;
  const unique = `${Date.now().toString(36)}${counter}${Math.random().toString(36).slice(2, 6)}`;
  const address = email ?? `${name.toLowerCase()}-${unique}@example.test`;
  const password = 'a long test passphrase 42';
  const { status, body } = await api('POST', '/api/auth/signup', null, {
    email: address, password, name, org_name: `${name}'s team ${unique}`,
  });
  check(status === 201 || status === 200, `signup ${address}: ${status} ${JSON.stringify(body)}`);
  return { ...body, email: address, password, name };
}

/** The platform admin of this server (`ADMIN_EMAIL`): signed up by the first scenario that needs it. */
export async function platformAdmin() {
  const password = 'a long test passphrase 42';
  const login = await api('POST', '/api/auth/login', null, { email: ADMIN_EMAIL, password });
  if (login.status === 200) {
    const me = await api('GET', '/api/auth/me', login.body.token);
    return { ...login.body, org_id: me.body.orgs[0].org_id, email: ADMIN_EMAIL };
  }
  return signup('Admin', ADMIN_EMAIL);
}

/** Starts Debian's Chromium (never a downloaded browser). */
export async function launch() {
  return chromium.launch({ executablePath: process.env.AOS_CHROMIUM ?? '/usr/bin/chromium', args: FLAGS });
}

/**
 * A page in a fresh browser context, signed in as `session` (tokens in localStorage before any
 * script runs). Console errors, page errors and CSP violations are collected in `page.problems`.
 */
export async function openPage(browser, session, options = {}) {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1440, height: 900 } });
  if (session) {
    await context.addInitScript(([token, refresh]) => {
      window.localStorage.setItem('aos.token', token);
      if (refresh) window.localStorage.setItem('aos.refresh', refresh);
    }, [session.token, session.refresh_token ?? '']);
  }
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error') page.problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => page.problems.push(`page error: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 400) page.problems.push(`http ${response.status()}: ${response.url()}`);
  });
  return page;
}

/**
 * Navigates to `path` and waits until the app has mounted something into `#main`; returns the
 * milliseconds from navigation start to that moment (as the page's own clock saw it).
 */
export async function goto(page, path) {
  await page.goto(BASE + path);
  const mounted = await page.waitForFunction(
    () => (document.querySelector('#main')?.children.length > 0 ? performance.now() : 0), null, { timeout: 30000, polling: 10 });
  return mounted.jsonValue();
}

/** Fails when the page logged errors or broke its Content-Security-Policy. */
export function checkNoProblems(page, allow = []) {
  const problems = page.problems.filter((p) => !allow.some((pattern) => p.includes(pattern)));
  check(problems.length === 0, `the page reported problems:\n${problems.join('\n')}`);
}

/** axe-core's script, evaluated in the page by `checkAccessible`. */
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Fails on what keeps people out of the page as it is now: axe-core's serious or critical
 * violations (its default rules: WCAG 2.1 A and AA and best practice), and controls the keyboard
 * cannot reach (a visible element with a pointer cursor, with nothing focusable in or around it).
 * `where` names the page in the failure.
 */
export async function checkAccessible(page, where) {
  // evaluated through the devtools protocol, so the page's CSP (no inline script) lets it in
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help}\n${v.nodes.slice(0, 6)
        .map((n) => `    ${n.target.join(' ')} ${n.failureSummary.split('\n').slice(1).join(' ').trim()}`).join('\n')}`);
  });
  check(violations.length === 0, `${where}: axe-core found\n${violations.join('\n')}`);
  const unreachable = await page.evaluate(() => {
    const pointer = (el) => el instanceof Element && getComputedStyle(el).cursor === 'pointer';
    const focusable = (el) => el.tabIndex >= 0 && !el.disabled && !el.closest('[inert]');
    const found = [];
    for (const el of document.querySelectorAll('body *')) {
      // the outermost pointer element of a group speaks for its children; a label for its control
      if (!pointer(el) || pointer(el.parentElement) || el.closest('label')) continue;
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
      let reachable = [...el.querySelectorAll('*')].some(focusable);
      for (let up = el; up && !reachable; up = up.parentElement) reachable = focusable(up);
      if (!reachable) {
        const id = el.getAttribute('data-testid') ?? el.id;
        found.push(`<${el.tagName.toLowerCase()}${id ? ` ${id}` : ''} class="${el.getAttribute('class') ?? ''}">`);
      }
    }
    return found;
  });
  check(unreachable.length === 0, `${where}: the keyboard cannot reach ${unreachable.join(', ')}`);
}

/** Saves a screenshot as docs/screenshots/<name>.png when `cargo xtask screenshots` runs. */
export async function shot(page, name) {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** Polls `probe` (async, truthy when done) up to `timeoutMs`; fails with `what`. */
export async function eventually(what, probe, timeoutMs = 15000) {
  const until = Date.now() + timeoutMs;
  let last;
  while (Date.now() < until) {
    try {
      last = await probe();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

/** Runs a scenario: launches the browser, runs `body(browser)`, closes, sets the exit code. */
export async function scenario(name, body) {
  const browser = await launch();
  try {
    await body(browser);
    console.log(`${name}: ok`);
  } catch (error) {
    console.error(`${name}: FAILED\n${error.stack ?? error}`);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}
