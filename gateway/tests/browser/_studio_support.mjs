// Helpers the studio scenarios share on top of lib.mjs (a leading `_`: not a scenario itself).
import { BASE, api, check, eventually, goto } from './lib.mjs';

/** Calls the API and fails unless it answered 2xx; returns the body. */
export async function call(method, path, token, body) {
  const { status, body: answer } = await api(method, path, token, body);
  check(status >= 200 && status < 300, `${method} ${path}: ${status} ${JSON.stringify(answer)}`);
  return answer;
}

/** Opens a workflow on the canvas and waits until its live doc is synced. */
export async function openWorkflow(page, id) {
  await goto(page, `/studio/w/${id}`);
  await page.waitForSelector('[data-testid="conn-status"][data-state="online"]', { timeout: 30000 });
}

/** The draft graph the server holds (the live doc's graph). */
export async function draft(id, token) {
  return (await call('GET', `/api/workflows/${id}`, token)).graph;
}

/** Waits until the server's draft satisfies `probe(graph)`. */
export async function draftEventually(what, id, token, probe) {
  return eventually(what, async () => probe(await draft(id, token)));
}

/** The centre of an element on the page. */
export async function centre(locator) {
  const box = await locator.boundingBox();
  check(box, 'the element has a box');
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** A mouse drag in small steps (pointer events all the way). */
export async function drag(page, from, to) {
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move((from.x + to.x) / 2, (from.y + to.y) / 2, { steps: 5 });
  await page.mouse.move(to.x, to.y, { steps: 5 });
  await page.mouse.up();
}

export { BASE };
