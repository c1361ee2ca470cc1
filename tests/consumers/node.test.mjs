// A Node 20 script in a temp project that installed the packed tarball: `import … from 'authfetch'`
// resolves to the `node` entry, which is ready on import, and talks to the demo server.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { api, consumerProject, demoServer } from './helpers.mjs';

test('Node 20: the node entry, memory storage, allowedOrigins and an absolute refreshUrl required', { timeout: 60_000 }, async (t) => {
  const dir = consumerProject(t, 'node-script');
  const server = await demoServer(t, dir);
  const other = await demoServer(t, dir);
  // The script must also exit by itself: nothing authfetch starts (timers, channels) may keep Node running.
  const { stdout } = await promisify(execFile)(process.execPath, ['check.mjs', server.url, other.url], { cwd: dir, timeout: 20_000 });
  const r = JSON.parse(stdout.trim().split('\n').pop());

  assert.equal(path.basename(new URL(r.resolved).pathname), 'node.js', 'the `node` export condition is used');
  assert.equal(r.readyOnImport, true);
  for (const key of ['noOptions', 'noOrigins']) {
    assert.equal(r[key].code, 'invalid_options', key);
    assert.equal(r[key].isAuthFetchError, true, key);
    assert.match(r[key].message, /allowedOrigins/, key);
  }
  assert.doesNotMatch(r.noOrigins.message, /refreshUrl/, 'an absolute refreshUrl was given');
  assert.match(r.relativeRefresh.message, /refreshUrl.*absolute URL/);
  assert.doesNotMatch(r.relativeRefresh.message, /allowedOrigins/);
  assert.equal(r.authFetchBeforeConfigure.code, 'invalid_options');
  assert.match(r.authFetchBeforeConfigure.message, /configure\(/);

  assert.equal(r.storage, 'memory storage');
  assert.equal(r.status, 200);
  assert.equal(r.user, 'demo');
  assert.equal(r.secondStatus, 200, 'the expired token was refreshed before sending');
  assert.equal(r.secondBody, '{"n":1}');
  assert.equal(r.otherStatus, 401, 'another origin is not sent the token');
  assert.deepEqual(r.refreshes, ['expiring']);
  assert.deepEqual(r.state, { hasAccessToken: true, hasRefreshToken: true, sub: 'demo', counts: { requests: 3, unauthorized: 1, refreshes: 1, refreshFailures: 0 } });
  assert.equal(r.defaultStatus, 401, 'the default client has no token in Node (memory storage)');

  const seen = await api(other, '/api/stats');
  assert.deepEqual(seen.headersSeen, ['(none)'], 'no Authorization header reached the other origin');
});
