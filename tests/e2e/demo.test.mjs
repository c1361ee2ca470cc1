// Page-level end-to-end tests: the demo page (www/) driving the real wasm
// package (pkg/) in headless Chromium against the in-process demo server.
//
//   wasm-pack build --target web --release   # once, produces pkg/
//   node --test tests/e2e/
//
// Env: CHROMIUM=/path/to/chromium (default /usr/bin/chromium),
//      AUTHFETCH_PKG_DIR=/other/pkg (default <repo>/pkg).
// Never downloads a browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fingerprint, startServer } from '../../www/server.mjs';
import { api, env, stats } from './harness.mjs';
const STEP_TIMEOUT = 15_000;
const TEST_TIMEOUT = 30_000;

// Everything any page printed to the console / rendered, for the leak check.
const consoleLog = []; // { test, type, text }
const renderedText = []; // { test, text }
const pageErrors = []; // { test, text }
const extraSecrets = new Set(); // tokens the page made up (corrupted ones)

// ---------------------------------------------------------------------------
// helpers

/**
 * Fresh server counters, a fresh browser context and the demo page, ready.
 * Runs fn({ page, server, logs }) and always closes the context.
 */
async function withPage(t, fn, { url = '/' } = {}) {
  const { server, browser } = await env();
  await api(server, '/api/stats/reset', {});
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  const logs = [];
  page.on('console', (m) => {
    const entry = { test: t.name, type: m.type(), text: m.text() };
    logs.push(entry);
    consoleLog.push(entry);
  });
  page.on('pageerror', (e) => pageErrors.push({ test: t.name, text: String(e && e.stack ? e.stack : e) }));
  try {
    await page.goto(server.url + url);
    await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: STEP_TIMEOUT });
    const ready = await page.evaluate(() => document.body.dataset.ready);
    if (ready !== '1') {
      const detail = await page.locator('#pkg-error-detail').textContent().catch(() => '');
      assert.fail(`demo page did not become ready (data-ready=${ready}): ${detail}\nconsole:\n${logs.map((l) => l.text).join('\n')}`);
    }
    await fn({ page, server, logs });
  } catch (e) {
    // Make failures self-explanatory: attach the page's console and log.
    const pageLog = await page.locator('#log').innerText().catch(() => '(page log unavailable)');
    e.message += `\n--- console (${logs.length} lines) ---\n${logs.map((l) => `[${l.type}] ${l.text}`).join('\n')}` +
      `\n--- page log (newest first) ---\n${pageLog}\n--- server stats ---\n${JSON.stringify(await stats(server).catch(() => null))}`;
    throw e;
  } finally {
    renderedText.push({ test: t.name, text: await page.locator('body').innerText().catch(() => '') });
    const stored = await page.evaluate(() => [localStorage.getItem('access_token'), localStorage.getItem('refresh_token')]).catch(() => []);
    for (const s of stored) if (s) extraSecrets.add(s);
    await context.close();
  }
}

/** Click a demo button and wait until the page says that action finished. */
async function act(page, selector) {
  const before = await page.evaluate(() => Number(document.body.dataset.actionsDone || 0));
  await page.click(selector);
  await page.waitForFunction((n) => Number(document.body.dataset.actionsDone || 0) > n, before, { timeout: STEP_TIMEOUT });
}

/** Select an option (fires the page's change handler) and wait for the action. */
async function choose(page, selector, value) {
  const before = await page.evaluate(() => Number(document.body.dataset.actionsDone || 0));
  await page.selectOption(selector, value);
  await page.waitForFunction((n) => Number(document.body.dataset.actionsDone || 0) > n, before, { timeout: STEP_TIMEOUT });
}

async function login(page) {
  await act(page, '#login');
  const tokens = await storedTokens(page);
  assert.ok(tokens.access, 'after "Log in" localStorage has an access_token');
  assert.ok(tokens.refresh, 'after "Log in" localStorage has a refresh_token');
  return tokens;
}

const storedTokens = (page) => page.evaluate(() => ({
  access: localStorage.getItem('access_token'),
  refresh: localStorage.getItem('refresh_token'),
}));

const results = (page) => page.evaluate(() => window.authfetchDemo.results.map((r) => ({
  status: r.status, error: r.error, method: r.method, url: r.url, body: r.body,
})));

async function lastResult(page) {
  const all = await results(page);
  assert.ok(all.length > 0, 'the page recorded a call result');
  const r = all[all.length - 1];
  assert.equal(r.error, null, `authFetch rejected: ${JSON.stringify(r.error)}`);
  return r;
}

const logEntries = (page, sel) => page.locator(`#log li${sel}`).count();

async function assertLogHas(page, sel, what) {
  const n = await logEntries(page, sel);
  assert.ok(n > 0, `page log shows ${what} (#log li${sel})`);
}

// ---------------------------------------------------------------------------
// tests

test('1. log in, call the API: 200 and the server saw our Bearer token', { timeout: TEST_TIMEOUT }, async (t) => {
  await withPage(t, async ({ page, server }) => {
    const { access } = await login(page);
    // The session card shows the fingerprint, never the token.
    await page.waitForFunction(() => /chars #/.test(document.querySelector('#access-fp').textContent));
    assert.equal(await page.locator('#access-fp').textContent(), fingerprint(access));
    assert.equal(await page.locator('#refresh-fp').textContent(), fingerprint((await storedTokens(page)).refresh));
    assert.match(await page.locator('#countdown').textContent(), /\d+ s left/);
    assert.equal(await page.locator('#claim-sub').textContent(), 'demo');

    await act(page, '#call');
    const r = await lastResult(page);
    assert.equal(r.status, 200);
    assert.equal(r.body.ok, true);
    assert.equal(r.body.user, 'demo');
    assert.match(await page.locator('#last-result').textContent(), /200/);
    await assertLogHas(page, '[data-kind="result"][data-status="200"]', 'a 200 result');

    const s = await stats(server);
    assert.equal(s.protectedCalls, 1);
    assert.equal(s.unauthorized, 0);
    assert.equal(s.refreshCalls, 0, 'a fresh token must not be refreshed');
    assert.deepEqual(s.headersSeen, [`Bearer ${fingerprint(access)}`], 'server saw exactly our token as a Bearer header');
  });
});

test('2. expired token: refreshed before sending, call returns 200', { timeout: TEST_TIMEOUT }, async (t) => {
  await withPage(t, async ({ page, server }) => {
    const first = await login(page);
    await act(page, '#expire');
    const expired = (await storedTokens(page)).access;
    assert.notEqual(expired, first.access);
    await page.waitForSelector('#countdown.expired');

    await act(page, '#call');
    const r = await lastResult(page);
    assert.equal(r.status, 200);

    const s = await stats(server);
    assert.equal(s.refreshCalls, 1, 'exactly one refresh');
    assert.equal(s.unauthorized, 0, 'the expired token was never sent (refresh happened first)');
    assert.equal(s.protectedCalls, 1);

    const now = await storedTokens(page);
    assert.notEqual(now.access, expired, 'a new access token was stored');
    assert.notEqual(now.refresh, first.refresh, 'the refresh token rotated');
    assert.ok(server.state.issuedTokens.includes(now.access), 'the stored access token came from the server');
    assert.deepEqual(s.headersSeen, [`Bearer ${fingerprint(now.access)}`]);

    await assertLogHas(page, '[data-kind="refresh"]', 'an onRefresh entry');
    await assertLogHas(page, '[data-kind="refresh"][data-code="refresh:expiring"]', 'onRefresh with trigger "expiring"');
    await page.waitForSelector('#countdown.ok, #countdown.soon');
  });
});

test('3. corrupted token: 401, one refresh, retry, 200', { timeout: TEST_TIMEOUT }, async (t) => {
  await withPage(t, async ({ page, server }) => {
    const first = await login(page);
    await act(page, '#corrupt');
    const bad = (await storedTokens(page)).access;
    extraSecrets.add(bad);
    assert.notEqual(bad, first.access);

    await act(page, '#call');
    const r = await lastResult(page);
    assert.equal(r.status, 200, 'the retried call succeeds');

    const s = await stats(server);
    assert.equal(s.refreshCalls, 1, 'exactly one refresh');
    assert.equal(s.unauthorized, 1, 'one 401 (the corrupted token)');
    assert.equal(s.protectedCalls, 2, 'original request + one retry');
    const now = await storedTokens(page);
    assert.deepEqual(s.headersSeen, [`Bearer ${fingerprint(bad)}`, `Bearer ${fingerprint(now.access)}`]);

    await assertLogHas(page, '[data-kind="diagnostic"][data-code="invalid_token"]', 'the "invalid_token" diagnostic (the server says the signature is wrong)');
    // The library, the page and the server all fingerprint a token the same way, so the
    // 401 diagnostic can be matched with what the server received.
    const diag = await page.locator('#log li[data-code="invalid_token"]').first().innerText();
    assert.ok(diag.includes(fingerprint(bad)), `the 401 diagnostic names the sent token's fingerprint ${fingerprint(bad)}: ${diag}`);
    await assertLogHas(page, '[data-kind="refresh"][data-code="refresh:unauthorized"]', 'onRefresh with trigger "unauthorized"');
    await assertLogHas(page, '[data-kind="result"][data-status="200"]', 'the final 200');
  });
});

test('3b. server rejects every token: one refresh, one retry, then 401; fine again once the fault is off', { timeout: TEST_TIMEOUT }, async (t) => {
  await withPage(t, async ({ page, server }) => {
    await login(page);
    await act(page, '#reject-all');
    assert.equal((await stats(server)).faults.rejectAllTokens, true);

    await act(page, '#call');
    let r = await lastResult(page);
    assert.equal(r.status, 401, 'still 401 after the refresh');
    let s = await stats(server);
    assert.equal(s.refreshCalls, 1, 'refreshes once, no refresh loop');
    assert.equal(s.protectedCalls, 2, 'original request + exactly one retry');
    await assertLogHas(page, '[data-kind="diagnostic"][data-code="still_unauthorized"]', 'the "still_unauthorized" diagnostic');

    await act(page, '#reject-all');
    assert.equal((await stats(server)).faults.rejectAllTokens, false);
    await act(page, '#call');
    r = await lastResult(page);
    assert.equal(r.status, 200);
    s = await stats(server);
    assert.equal(s.refreshCalls, 1, 'the refreshed token is good, no further refresh');
    const tokens = await storedTokens(page);
    assert.ok(tokens.access && tokens.refresh, 'tokens kept');
  });
});

test('3c. POST body survives the 401 → refresh → retry', { timeout: TEST_TIMEOUT }, async (t) => {
  await withPage(t, async ({ page, server }) => {
    await login(page);
    await act(page, '#corrupt');
    extraSecrets.add((await storedTokens(page)).access);
    await act(page, '#post');
    const r = await lastResult(page);
    assert.equal(r.status, 200);
    assert.equal(r.method, 'POST');
    assert.equal(r.body.method, 'POST');
    const sent = JSON.parse(r.body.receivedBody);
    assert.equal(sent.hello, 'authfetch', 'the retry carried the original JSON body');
    const s = await stats(server);
    assert.equal(s.refreshCalls, 1);
    assert.equal(s.protectedCalls, 2);
  });
});

test('4. burst of 10 with an expired token: one refresh, no 401s, ten 200s', { timeout: TEST_TIMEOUT }, async (t) => {
  await withPage(t, async ({ page, server }) => {
    await login(page);
    await act(page, '#expire');
    await act(page, '#call10');

    const all = await results(page);
    assert.equal(all.length, 10);
    assert.deepEqual(all.map((r) => r.error), Array(10).fill(null), 'no call rejected');
    assert.deepEqual(all.map((r) => r.status), Array(10).fill(200), 'all ten calls 200');
    const summary = page.locator('#log li[data-kind="summary"]').first();
    assert.equal(await summary.getAttribute('data-ok'), '10');

    const s = await stats(server);
    assert.equal(s.refreshCalls, 1, 'exactly one refresh for the whole burst');
    assert.equal(s.unauthorized, 0, 'no request went out with the expired token');
    assert.equal(s.protectedCalls, 10);
    assert.equal(s.reuseDetected, 0, 'no rotated-out refresh token was replayed');
    const { access } = await storedTokens(page);
    assert.deepEqual(new Set(s.headersSeen), new Set([`Bearer ${fingerprint(access)}`]), 'all ten used the one new token');
  });
});

test('5. no token: a console warning group says "without a token", page log shows no_token', { timeout: TEST_TIMEOUT }, async (t) => {
  await withPage(t, async ({ page, server, logs }) => {
    await login(page);
    await act(page, '#remove-token');
    assert.deepEqual(await storedTokens(page), { access: null, refresh: null });
    await page.waitForSelector('#countdown.none');

    // The library's default level.
    await page.selectOption('#log-level', 'warn');
    await act(page, '#call');
    const r = await lastResult(page);
    assert.equal(r.status, 401);

    // Each diagnosed event is one collapsed console group whose title carries a level badge.
    const warnings = logs.filter((l) => l.type === 'startGroupCollapsed' && l.text.includes('without a token'));
    assert.ok(warnings.length >= 1, `a console group containing "without a token": ${JSON.stringify(logs.map((l) => l.type + ' ' + l.text))}`);
    assert.ok(warnings.some((l) => l.text.includes('authfetch warn') && l.text.includes('[authfetch] GET')), 'the group is badged "authfetch warn"');
    assert.ok(warnings.some((l) => l.text.includes('localStorage has no "access_token"')), 'the warning names the storage and key');
    await assertLogHas(page, '[data-kind="diagnostic"][data-code="no_token"]', 'the no_token diagnostic');

    const s = await stats(server);
    assert.deepEqual(s.headersSeen, ['(none)']);
    assert.equal(s.refreshCalls, 0, 'nothing to refresh with: no refresh request');

    // 'silent' really silences the console.
    await page.selectOption('#log-level', 'silent');
    const before = logs.length;
    await act(page, '#call');
    assert.equal((await lastResult(page)).status, 401);
    const printed = logs.slice(before).filter((l) => l.text.startsWith('[authfetch]'));
    assert.deepEqual(printed.map((l) => l.text), [], 'logLevel "silent" prints nothing');
  });
});

test('6a. refresh answers invalid_grant: tokens cleared, onAuthFailure shown', { timeout: TEST_TIMEOUT }, async (t) => {
  await withPage(t, async ({ page, server }) => {
    await login(page);
    await choose(page, '#fault-refresh', 'invalid_grant');
    assert.equal((await stats(server)).faults.refresh, 'invalid_grant');
    await act(page, '#corrupt');
    extraSecrets.add((await storedTokens(page)).access);

    await act(page, '#call');
    const all = await results(page);
    assert.equal(all.length, 1);
    if (all[0].error === null) assert.equal(all[0].status, 401, 'the call ends in 401');

    assert.deepEqual(await storedTokens(page), { access: null, refresh: null }, 'both tokens removed from localStorage');
    await assertLogHas(page, '[data-kind="auth-failure"]', 'an onAuthFailure entry');
    assert.equal((await stats(server)).refreshCalls, 1);
    await page.waitForFunction(() => document.querySelector('#access-fp').textContent === '—');
  });
});

test('6b. refresh answers 500: tokens kept', { timeout: TEST_TIMEOUT }, async (t) => {
  await withPage(t, async ({ page, server }) => {
    const first = await login(page);
    await choose(page, '#fault-refresh', '500');
    await act(page, '#corrupt');
    const bad = (await storedTokens(page)).access;
    extraSecrets.add(bad);

    await act(page, '#call');
    const all = await results(page);
    assert.equal(all.length, 1);
    if (all[0].error === null) assert.equal(all[0].status, 401, 'the call ends in 401');

    assert.deepEqual(await storedTokens(page), { access: bad, refresh: first.refresh }, 'both tokens kept after a 5xx');
    assert.equal((await stats(server)).refreshCalls, 1);
    assert.equal(await logEntries(page, '[data-kind="auth-failure"]'), 0, 'a 5xx is not reported as the end of the session');
  });
});

test('origin allow-list: no token is sent to another origin', { timeout: TEST_TIMEOUT }, async (t) => {
  await withPage(t, async ({ page, server }) => {
    await login(page);
    await act(page, '#call-foreign');
    const r = await lastResult(page);
    assert.match(r.url, /^http:\/\/localhost:\d+\//);
    assert.equal(r.status, 401);
    const s = await stats(server);
    assert.deepEqual(s.headersSeen, ['(none)'], 'the other origin received no Authorization header');
    assert.equal(s.refreshCalls, 0);
  });
});

test('the page explains a missing package', { timeout: TEST_TIMEOUT }, async (t) => {
  const { browser } = await env();
  const empty = mkdtempSync(path.join(os.tmpdir(), 'authfetch-nopkg-'));
  const server = await startServer({ port: 0, quiet: true, pkgDir: empty });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(server.url + '/');
    await page.waitForFunction(() => document.body.dataset.ready === 'error', null, { timeout: STEP_TIMEOUT });
    assert.ok(await page.locator('#pkg-error').isVisible());
    assert.match(await page.locator('#pkg-error').innerText(), /wasm-pack build --target web --release/);
  } finally {
    await context.close();
    await server.close();
    rmSync(empty, { recursive: true, force: true });
  }
});

test('7. no console line (or page text) contains a whole token', { timeout: TEST_TIMEOUT }, async () => {
  const { server } = await env();
  const issued = server.state.issuedTokens;
  assert.ok(issued.length > 10, `the server issued tokens during the run (${issued.length})`);
  assert.ok(consoleLog.length > 0, 'console output was collected');
  const secrets = [...new Set([...issued, ...extraSecrets])];
  // A JWT's signature segment alone is as good as the token for replay checks; don't print it either.
  const signatures = issued.filter((tk) => tk.split('.').length === 3).map((tk) => tk.split('.')[2]);
  // Failure messages show the offending line with the secret replaced by its fingerprint.
  const redact = (text, secret) => text.split(secret).join(`<token ${fingerprint(secret)}>`).slice(0, 300);
  for (const { test: name, type, text } of consoleLog) {
    for (const s of secrets) assert.ok(!text.includes(s), `console.${type} in "${name}" printed a whole token: ${redact(text, s)}`);
    for (const sig of signatures) assert.ok(!text.includes(sig), `console.${type} in "${name}" printed a JWT signature: ${redact(text, sig)}`);
  }
  for (const { test: name, text } of renderedText) {
    for (const s of secrets) assert.ok(!text.includes(s), `the page in "${name}" rendered a whole token`);
  }
  assert.deepEqual(pageErrors, [], 'no uncaught page errors');
  const csp = consoleLog.filter((l) => /Content Security Policy/i.test(l.text));
  assert.deepEqual(csp, [], 'no CSP violations');
});
