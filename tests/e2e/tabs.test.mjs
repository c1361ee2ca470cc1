// Two tabs, one refresh: two pages of the demo in one browser context (they share localStorage, Web Locks and
// BroadcastChannel, like two tabs of a real browser) against the real demo server, whose refresh tokens rotate
// with reuse detection (RFC 9700 §4.14.2): presenting an already-used refresh token revokes the whole family.
// If both tabs refreshed with the same refresh token, the server would count a reuse and log the user out.
// Each scenario runs several rounds, so it cannot pass by luck.
//
//   scripts/build.sh && node --test tests/e2e/tabs.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, env, stats } from './harness.mjs';
const ROUNDS = 8;
const CALLS_PER_TAB = 6;

const post = (server, p, body) => api(server, p, body ?? {});

/** Two demo tabs of one browser profile, ready. */
async function twoTabs(browser, server) {
  const context = await browser.newContext();
  const tabs = [await context.newPage(), await context.newPage()];
  const errors = [];
  for (const tab of tabs) {
    tab.on('pageerror', (e) => errors.push(String(e)));
    await tab.goto(server.url + '/');
    await tab.waitForFunction(() => document.body.dataset.ready === '1');
  }
  return { context, tabs, errors };
}

/**
 * Waits until the second tab sees what the first tab's page code wrote to localStorage (login, spoiling):
 * those writes bypass authfetch, so they reach the other tab only as fast as the browser propagates storage.
 */
async function sameStorage(tabs) {
  const held = await tabs[0].evaluate(() => [localStorage.getItem('access_token'), localStorage.getItem('refresh_token')]);
  await tabs[1].waitForFunction(([access, refresh]) => localStorage.getItem('access_token') === access
    && localStorage.getItem('refresh_token') === refresh, held, { timeout: 5_000 });
}

/** Fires `count` concurrent authFetch calls in a tab and resolves to their statuses. */
const burst = (tab, count) => tab.evaluate((n) => Promise.all(Array.from({ length: n },
  () => window.authfetchDemo.authFetch('/api/protected-data').then((r) => r.status))), count);

async function login(tab) {
  await tab.evaluate(async () => {
    const res = await fetch('/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'demo', password: 'demo' }) });
    const { accessToken, refreshToken } = await res.json();
    localStorage.setItem('access_token', accessToken);
    localStorage.setItem('refresh_token', refreshToken);
  });
}

for (const scenario of [
  {
    name: 'expired access token in both tabs: one refresh before sending, no 401, no reuse',
    spoil: (tab) => tab.evaluate(async () => {
      const { accessToken } = await (await fetch('/api/debug/expired-token')).json();
      localStorage.setItem('access_token', accessToken);
    }),
    unauthorized: 0,
  },
  {
    name: 'a token the server rejects in both tabs: 401s, one refresh, every call retried, no reuse',
    spoil: (tab) => tab.evaluate(() => {
      const token = localStorage.getItem('access_token');
      localStorage.setItem('access_token', token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA'));
    }),
    unauthorized: null, // some calls go out with the rejected token before the refresh: any number is fine
  },
]) {
  test(`two tabs: ${scenario.name} (${ROUNDS} rounds)`, { timeout: 120_000 }, async () => {
    const { server, browser } = await env();
    const { context, tabs, errors } = await twoTabs(browser, server);
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        await post(server, '/api/stats/reset');
        await login(tabs[0]);
        await scenario.spoil(tabs[0]);
        await sameStorage(tabs);
        const [a, b] = await Promise.all([burst(tabs[0], CALLS_PER_TAB), burst(tabs[1], CALLS_PER_TAB)]);
        const s = await stats(server);
        const where = `round ${round}: ${JSON.stringify({ a, b, refreshCalls: s.refreshCalls, reuseDetected: s.reuseDetected, unauthorized: s.unauthorized })}`;
        assert.deepEqual([...a, ...b], Array(2 * CALLS_PER_TAB).fill(200), `every call in both tabs succeeds; ${where}`);
        assert.equal(s.refreshCalls, 1, `one refresh for both tabs; ${where}`);
        assert.equal(s.reuseDetected, 0, `no refresh token presented twice; ${where}`);
        assert.equal(s.refreshRejected, 0, `no refresh rejected; ${where}`);
        if (scenario.unauthorized !== null) assert.equal(s.unauthorized, scenario.unauthorized, where);
        // Both tabs now hold the same, newest tokens.
        const held = await Promise.all(tabs.map((tab) => tab.evaluate(() => localStorage.getItem('refresh_token'))));
        assert.equal(held[0], held[1]);
      }
      assert.deepEqual(errors, [], 'no page errors');
    } finally {
      await context.close();
    }
  });
}

test('a logout in one tab stops the other tab from sending the old token', { timeout: 60_000 }, async () => {
  const { server, browser } = await env();
  const { context, tabs } = await twoTabs(browser, server);
  try {
    await post(server, '/api/stats/reset');
    await login(tabs[0]);
    await sameStorage(tabs);
    assert.deepEqual(await burst(tabs[1], 1), [200]);
    await tabs[0].evaluate(() => new window.authfetchDemo.AuthClient().clearTokens());
    // Tabs are separate processes: the logout reaches the other tab as a message a moment later.
    await tabs[1].waitForTimeout(150);
    assert.deepEqual(await burst(tabs[1], 1), [401], 'the other tab no longer has a token to send');
    const s = await stats(server);
    assert.equal(s.headersSeen.at(-1), '(none)', `the last request carried no token: ${JSON.stringify(s.headersSeen)}`);
    assert.equal(s.refreshCalls, 0);
  } finally {
    await context.close();
  }
});

test('a redirect never carries the token to another origin', { timeout: 60_000 }, async () => {
  const { server, browser } = await env();
  const { context, tabs } = await twoTabs(browser, server);
  try {
    await login(tabs[0]);
    const echo = (to) => tabs[0].evaluate(async (target) => {
      const res = await window.authfetchDemo.authFetch(`/api/redirect?to=${target}`);
      return { status: res.status, redirected: res.redirected, body: await res.json() };
    }, to);
    const same = await echo('same');
    assert.equal(same.status, 200);
    assert.ok(same.redirected);
    assert.match(String(same.body.authorization), /^\d+ chars #[0-9a-f]{8}$/, 'a same-origin redirect keeps the header (so the check below can see one)');
    const other = await echo('other');
    assert.equal(other.status, 200);
    assert.ok(other.redirected);
    assert.ok(other.body.host.startsWith('localhost'), `the request did reach the other origin: ${JSON.stringify(other.body)}`);
    assert.equal(other.body.authorization, null, 'the other origin received no Authorization header');
  } finally {
    await context.close();
  }
});
