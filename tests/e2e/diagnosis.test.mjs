// Page-level tests of the "Diagnose a 401" card: each cause button makes the demo server fail one way,
// and the library's diagnosis must show up (a) in the page's diagnostics panel as an entry with that
// code, evidence and a hint, (b) in the console as a collapsed "[authfetch] …" group with the same
// message, and (c) nowhere as a whole token.
//
//   scripts/build.sh              # once, produces pkg/
//   node --test tests/e2e/
//
// Env: CHROMIUM=/path/to/chromium (default /usr/bin/chromium),
//      AUTHFETCH_PKG_DIR=/other/pkg (default <repo>/pkg).
// Never downloads a browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fingerprint } from '../../www/server.mjs';
import { api, env, stats } from './harness.mjs';
const STEP_TIMEOUT = 15_000;
const TEST_TIMEOUT = 30_000;
const DOCS = 'https://github.com/authfetch/authfetch#';
const DEFAULT_FAULTS = { refresh: 'ok', rejectAllTokens: false, clockSkew: 0 };

// ---------------------------------------------------------------------------
// helpers

/** Fresh server counters and faults, a fresh browser context and the demo page, ready. */
async function withPage(t, fn) {
  const { server, browser } = await env();
  await api(server, '/api/stats/reset', {});
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  const logs = [];
  const pageErrors = [];
  page.on('console', (m) => logs.push({ type: m.type(), text: m.text() }));
  page.on('pageerror', (e) => pageErrors.push(String(e && e.stack ? e.stack : e)));
  try {
    await page.goto(server.url + '/');
    await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: STEP_TIMEOUT });
    const ready = await page.evaluate(() => document.body.dataset.ready);
    if (ready !== '1') {
      const detail = await page.locator('#pkg-error-detail').textContent().catch(() => '');
      assert.fail(`demo page did not become ready (data-ready=${ready}): ${detail}`);
    }
    await fn({ page, server, logs });
    assert.deepEqual(pageErrors, [], 'no uncaught page errors');
  } catch (e) {
    const panel = await page.locator('#diagnostics').evaluate((n) => n.textContent).catch(() => '(panel unavailable)');
    e.message += `\n--- console (${logs.length} lines) ---\n${logs.map((l) => `[${l.type}] ${l.text}`).join('\n')}` +
      `\n--- diagnostics panel ---\n${panel}\n--- server stats ---\n${JSON.stringify(await stats(server).catch(() => null))}`;
    throw e;
  } finally {
    await context.close();
  }
}

/** Click a demo button and wait until the page says that action finished. */
async function act(page, selector) {
  const before = await page.evaluate(() => Number(document.body.dataset.actionsDone || 0));
  await page.click(selector);
  await page.waitForFunction((n) => Number(document.body.dataset.actionsDone || 0) > n, before, { timeout: STEP_TIMEOUT });
}

/** The panel's entries for `code`, oldest first, read from the DOM (closed <details> included). */
const panelEntries = (page, code) => page.locator(`#diagnostics li.diag[data-code="${code}"]`).evaluateAll((nodes) => nodes.reverse().map((li) => ({
  level: li.dataset.level,
  badge: li.querySelector('.badge')?.textContent ?? '',
  link: li.querySelector('summary a.code')?.getAttribute('href') ?? '',
  message: li.querySelector('.diag-msg')?.textContent ?? '',
  evidence: [...li.querySelectorAll('.evidence li')].map((n) => n.textContent),
  hint: li.querySelector('.hint-text')?.textContent ?? '',
})));

const lastRun = (page) => page.evaluate(() => window.authfetchDemo.causeRuns.at(-1));

const results = (page) => page.evaluate(() => window.authfetchDemo.results.map((r) => ({ status: r.status, error: r.error, url: r.url, body: r.body })));

/** Click the cause button and check (a), (b) and (c) for it; returns what the checks looked at. */
async function runCause(t, { page, server, logs }, code) {
  const consoleBefore = logs.length;
  await act(page, `#cause-${code}`);
  const run = await lastRun(page);
  assert.equal(run?.code, code, 'the page recorded the cause run');

  // (a) the panel
  const entries = await panelEntries(page, code);
  assert.ok(entries.length > 0, `the diagnostics panel has an entry with data-code="${code}" (events seen: ${run.codes.join(' → ') || 'none'})`);
  for (const e of entries) {
    assert.ok(e.message.length > 0, 'the entry shows a message');
    assert.equal(e.link, DOCS + code, 'the code links to its explanation');
    assert.equal(e.badge, e.level, 'the level badge shows the level');
  }
  assert.ok(entries.some((e) => e.hint.trim().length > 0), `a ${code} entry shows a hint`);
  await t.test(`${code}: the panel entry has evidence lines`, () => {
    assert.ok(entries.some((e) => e.evidence.length > 0 && e.evidence.every((line) => line.trim().length > 0)),
      `a ${code} entry lists evidence: ${JSON.stringify(entries)}`);
  });
  const diagnosed = entries.find((e) => e.evidence.length > 0) ?? entries[0];

  // (b) the console: one collapsed group per event, titled with the same message
  const printed = logs.slice(consoleBefore);
  const groups = printed.filter((l) => l.type === 'startGroupCollapsed' && l.text.includes('[authfetch]'));
  for (const e of entries) {
    assert.ok(groups.some((g) => g.text.includes(`[authfetch] ${e.message}`)),
      `the console has a collapsed group "[authfetch] ${e.message}"`);
  }
  assert.ok(groups.some((g) => g.text.includes(`authfetch ${diagnosed.level}`) && g.text.includes(diagnosed.message)), 'the console group is badged with the level');
  if (diagnosed.level === 'warn' || diagnosed.level === 'error') {
    assert.ok(printed.some((l) => l.type === 'log' && l.text === `more: ${DOCS}${code}`), 'the console group links to the explanation');
  }

  // (c) no whole token, in the console or on the page
  const stored = await page.evaluate(() => [localStorage.getItem('access_token'), localStorage.getItem('refresh_token')]);
  const secrets = [...new Set([...server.state.issuedTokens, ...stored.filter(Boolean)])];
  assert.ok(secrets.length > 0, 'the server issued tokens');
  const signatures = secrets.filter((tk) => tk.split('.').length === 3).map((tk) => tk.split('.')[2]);
  const redact = (text, secret) => text.split(secret).join(`<token ${fingerprint(secret)}>`).slice(0, 300);
  for (const { type, text } of logs) {
    for (const s of secrets) assert.ok(!text.includes(s), `console.${type} printed a whole token: ${redact(text, s)}`);
    for (const sig of signatures) assert.ok(!text.includes(sig), `console.${type} printed a JWT signature: ${redact(text, sig)}`);
  }
  const rendered = await page.locator('body').evaluate((b) => b.textContent);
  for (const s of secrets) assert.ok(!rendered.includes(s), 'the page rendered a whole token');

  // Every scenario puts the fault switches back.
  const { faults } = await stats(server);
  for (const [k, v] of Object.entries(DEFAULT_FAULTS)) assert.equal(faults[k], v, `fault ${k} restored after the scenario`);
  return { run, entries, diagnosed, printed };
}

// ---------------------------------------------------------------------------
// one test per cause: what the scenario does on top of (a), (b), (c)

const CAUSES = {
  async token_expired({ page, diagnosed }) {
    assert.match(diagnosed.message, /the token expired \d+ s ago/);
    assert.ok(diagnosed.evidence.some((l) => l.startsWith('expired at:')), 'evidence names the expiry time');
    const r = (await results(page)).at(-1);
    assert.equal(r.status, 401, 'with the refresh endpoint failing, the 401 reaches the page');
  },
  async invalid_token({ page, diagnosed }) {
    assert.match(diagnosed.message, /answered 401 invalid_token: signature verification failed/);
    assert.equal((await results(page)).at(-1).status, 200, 'refreshed and retried: 200');
  },
  async insufficient_scope({ page, server, run, diagnosed }) {
    assert.match(diagnosed.message, /403 insufficient_scope.*required scope: admin/);
    assert.ok(diagnosed.evidence.includes('scope required: admin'));
    assert.ok(diagnosed.evidence.includes('scope in the token: read write'));
    assert.equal((await results(page)).at(-1).status, 403);
    assert.equal((await stats(server)).refreshCalls, 0, 'no refresh on 403');
    assert.ok(!run.codes.includes('refreshing'), 'no refresh on 403');
  },
  async no_token({ page, diagnosed }) {
    assert.match(diagnosed.message, /localStorage has no "access_token"/);
    assert.ok(diagnosed.evidence.includes('token sent: none'));
    assert.equal((await results(page)).at(-1).status, 401);
  },
  async wrong_scheme({ diagnosed }) {
    assert.match(diagnosed.message, /asking for Basic, not Bearer/);
    assert.ok(diagnosed.evidence.includes('WWW-Authenticate: Basic realm="legacy"'));
  },
  async no_challenge({ diagnosed }) {
    assert.match(diagnosed.message, /without a WWW-Authenticate header/);
    assert.ok(diagnosed.evidence.includes('WWW-Authenticate: (none)'));
  },
  async clock_skew({ page, diagnosed }) {
    assert.match(diagnosed.message, /10 min behind the server's/);
    assert.ok(diagnosed.evidence.some((l) => l.startsWith('server Date header:')), 'evidence shows the server Date');
    assert.ok(diagnosed.evidence.some((l) => l.startsWith('client clock:')), 'evidence shows the client clock');
    assert.equal((await results(page)).at(-1).status, 200, 'refreshed (a token from the real clock) and retried: 200');
  },
  async token_not_yet_valid({ diagnosed }) {
    assert.match(diagnosed.message, /not valid yet \(nbf is 10 min in the future\)/);
  },
  async cors_preflight({ page, server, diagnosed }) {
    assert.match(diagnosed.message, /GET http:\/\/localhost:\d+\/api\/cors-broken failed with a network error \(TypeError/);
    const r = (await results(page)).at(-1);
    assert.equal(r.status, null);
    assert.equal(r.error?.name, 'TypeError', 'authFetch rejected like fetch');
    assert.equal((await stats(server)).protectedCalls, 0, 'the browser never sent the request');
  },
  async challenge_hidden({ server, diagnosed }) {
    assert.match(diagnosed.message, /cross-origin response/);
    assert.ok(diagnosed.evidence.some((l) => l.includes('not readable')));
    const s = await stats(server);
    assert.ok(s.headersSeen[0].startsWith('Bearer '), 'the cross-origin client sent the token to the second origin');
  },
  async origin_not_allowed({ server }) {
    assert.deepEqual((await stats(server)).headersSeen, ['(none)'], 'authFetch withheld the token');
  },
  async refresh_failed({ page, diagnosed }) {
    assert.match(diagnosed.message, /the refresh endpoint answered 500; both tokens were kept/);
    const stored = await page.evaluate(() => [localStorage.getItem('access_token'), localStorage.getItem('refresh_token')]);
    assert.ok(stored[0] && stored[1], 'tokens kept');
  },
  async refresh_rejected({ page, diagnosed }) {
    assert.match(diagnosed.message, /invalid_grant/);
    const stored = await page.evaluate(() => [localStorage.getItem('access_token'), localStorage.getItem('refresh_token')]);
    assert.deepEqual(stored, [null, null], 'the session is over: tokens cleared');
    assert.ok(await page.locator('#log li[data-kind="auth-failure"][data-code="refresh_rejected"]').count() > 0, 'onAuthFailure shown');
  },
  async still_unauthorized({ page, server, run }) {
    assert.deepEqual(run.codes.slice(0, 4), ['invalid_token', 'refreshing', 'refreshed', 'still_unauthorized']);
    assert.equal((await results(page)).at(-1).status, 401);
    assert.equal((await stats(server)).refreshCalls, 1, 'one refresh, no loop');
  },
};

for (const [code, check] of Object.entries(CAUSES)) {
  test(`cause button #cause-${code}: panel, console and no leaked token`, { timeout: TEST_TIMEOUT }, async (t) => {
    await withPage(t, async (ctx) => {
      const seen = await runCause(t, ctx, code);
      await check({ ...ctx, ...seen });
    });
  });
}

test('every cause button is on the page, enabled, and covered above', { timeout: TEST_TIMEOUT }, async (t) => {
  await withPage(t, async ({ page }) => {
    const ids = await page.locator('#causes button').evaluateAll((bs) => bs.map((b) => ({ id: b.id, disabled: b.disabled })));
    assert.deepEqual(ids.map((b) => b.id).sort(), Object.keys(CAUSES).map((c) => `cause-${c}`).sort());
    assert.ok(ids.every((b) => !b.disabled), 'enabled once the package loaded');
  });
});

test('state(): counts after a few calls, shown in #state', { timeout: TEST_TIMEOUT }, async (t) => {
  await withPage(t, async ({ page }) => {
    const state = () => page.evaluate(() => window.authfetchDemo.state());
    const initial = await state();
    assert.deepEqual(initial.counts, { requests: 0, unauthorized: 0, refreshes: 0, refreshFailures: 0 });
    assert.equal(initial.lastDiagnostic, null);

    await act(page, '#login');
    await act(page, '#call'); // 200
    await act(page, '#cause-insufficient_scope'); // 403, no refresh
    await act(page, '#cause-invalid_token'); // 401, refresh, retry 200
    await act(page, '#cause-refresh_failed'); // 401, refresh fails (500)

    const s = await state();
    assert.deepEqual(s.counts, { requests: 4, unauthorized: 2, refreshes: 2, refreshFailures: 1 });
    assert.equal(s.refreshInFlight, false);
    assert.equal(s.hasAccessToken, true);
    assert.equal(s.hasRefreshToken, true);
    assert.equal(s.isJwt, true);
    assert.equal(typeof s.expiresIn, 'number');
    assert.equal(s.claims.sub, 'demo');
    assert.equal(s.lastDiagnostic?.code, 'refresh_failed', 'the last event at info level or above');
    assert.ok(!JSON.stringify(s).includes((await page.evaluate(() => localStorage.getItem('access_token')))), 'state() never holds the token');

    // The page's view shows the same numbers.
    const cell = (client, field) => page.locator(`#state td[data-client="${client}"][data-field="${field}"]`).textContent();
    assert.equal(await cell('default', 'requests'), '4');
    assert.equal(await cell('default', 'unauthorized'), '2');
    assert.equal(await cell('default', 'refreshes'), '2');
    assert.equal(await cell('default', 'refreshFailures'), '1');
    assert.equal(await cell('default', 'refreshInFlight'), 'no');
    assert.equal(await cell('default', 'lastDiagnostic'), 'refresh_failed');
    assert.equal(await cell('cross', 'requests'), '—', 'the cross-origin client is only created by a CORS cause');

    // A cross-origin cause counts on the cross-origin client only.
    await act(page, '#cause-challenge_hidden');
    const cross = await page.evaluate(() => window.authfetchDemo.crossClient.state());
    assert.deepEqual(cross.counts, { requests: 1, unauthorized: 2, refreshes: 1, refreshFailures: 0 });
    assert.equal((await state()).counts.requests, 4);
    assert.equal(await cell('cross', 'requests'), '1');
    assert.equal(await cell('cross', 'unauthorized'), '2');
  });
});
