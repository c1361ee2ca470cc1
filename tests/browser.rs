//! The client in a real browser, against an injected `fetch` that plays the server precisely: it records
//! every request (URL, method, the Authorization header it received, the body) and counts refresh calls.
//! Each test asserts what a user would observe: headers the server saw, how many refreshes it got, the
//! `Response` returned, what was stored, what the console printed.
#![cfg(target_arch = "wasm32")]

use authfetch::bindings::{auth_fetch, configure, AuthClient};
use js_sys::{Array, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
const b64 = (obj) => btoa(JSON.stringify(obj)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
let generation = 0;
export function jwtWith(claims) { return b64({ alg: 'HS256', typ: 'JWT' }) + '.' + b64(claims) + '.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU'; }
export function nowSeconds() { return Math.floor(Date.now() / 1000); }
export function jwt(secondsFromNow) {
  generation += 1;
  const now = Math.floor(Date.now() / 1000);
  return b64({ alg: 'HS256', typ: 'JWT' }) + '.' + b64({ sub: 'u1', iat: now - 3600, exp: now + secondsFromNow, g: generation }) + '.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU';
}

async function bodyOf(req) {
  if (req.method === 'GET' || req.method === 'HEAD') return null;
  const type = req.headers.get('content-type') || '';
  if (type.startsWith('multipart/form-data')) {
    const form = await req.formData();
    return 'form:' + JSON.stringify([...form.entries()].map(([k, v]) => [k, typeof v === 'string' ? v : 'file:' + v.name + ':' + v.size]));
  }
  return await req.text();
}

// A server: protected API on the page's origin, a third party on another origin, and a refresh endpoint.
export function fakeServer() {
  const s = {
    accessToken: 'opaque-access-1', refreshToken: 'opaque-refresh-1', validTokens: new Set(['opaque-access-1']),
    refreshCalls: 0, refreshBodies: [], refreshContentTypes: [], seen: [], refreshMode: 'ok', rotate: true,
    refreshDelayMs: 0, alwaysUnauthorized: false, reuseDetection: false, reuseDetected: 0, status: 0, issued: ['opaque-access-1', 'opaque-refresh-1'],
    newAccess: () => 'opaque-access-' + (s.refreshCalls + 1),
  };
  s.fetch = async (input, init) => {
    const req = new Request(input, init);
    if (req.signal.aborted) throw new DOMException('The operation was aborted.', 'AbortError'); // as fetch does
    const url = new URL(req.url);
    const body = await bodyOf(req.clone());
    if (s.respond) { const custom = await s.respond(req, url); if (custom) { if (url.pathname === '/api/refresh-token') s.refreshCalls += 1; return custom; } }
    if (url.pathname === '/api/refresh-token' || url.pathname === '/oauth/token') {
      s.refreshCalls += 1;
      s.refreshBodies.push(body);
      if (s.reuseDetection) {
        const presented = body && body.startsWith('{') ? JSON.parse(body).refreshToken : new URLSearchParams(body || '').get('refresh_token');
        if (presented !== s.refreshToken) { s.reuseDetected += 1; s.refreshToken = 'revoked'; s.validTokens = new Set(); return new Response('{"error":"invalid_grant","error_description":"refresh token reuse"}', { status: 400 }); }
      }
      s.refreshContentTypes.push(req.headers.get('content-type'));
      if (s.refreshDelayMs) await new Promise((r) => setTimeout(r, s.refreshDelayMs));
      if (s.refreshMode === 'hang') return new Promise((_, reject) => { req.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))); });
      if (s.refreshMode === 'network') throw new TypeError('Failed to fetch');
      if (s.refreshMode === '500') return new Response('oops', { status: 500 });
      if (s.refreshMode === 'garbage') return new Response('<html>', { status: 200 });
      if (s.refreshMode === 'invalid_grant') return new Response('{"error":"invalid_grant","error_description":"refresh token revoked"}', { status: 400 });
      const access = typeof s.newAccess === 'function' ? s.newAccess() : s.newAccess;
      s.accessToken = access;
      s.validTokens.add(access);
      s.issued.push(access);
      const reply = url.pathname === '/oauth/token' ? { access_token: access, token_type: 'Bearer', expires_in: 60 } : { accessToken: access, expiresIn: 60 };
      if (s.rotate) {
        s.refreshToken = 'opaque-refresh-' + (s.refreshCalls + 1);
        s.issued.push(s.refreshToken);
        if (url.pathname === '/oauth/token') reply.refresh_token = s.refreshToken; else reply.refreshToken = s.refreshToken;
      }
      return new Response(JSON.stringify(reply), { status: 200, headers: { 'content-type': 'application/json' } });
    }
    const auth = req.headers.get('authorization');
    const record = { url: req.url, origin: url.origin, method: req.method, auth, body, custom: req.headers.get('x-custom') };
    s.seen.push(record);
    if (s.onSeen) s.onSeen(record);
    if (url.origin !== location.origin) return new Response('third party', { status: 200 });
    if (url.pathname === '/api/forbidden') return new Response('no', { status: 403, headers: { 'WWW-Authenticate': 'Bearer error="insufficient_scope", scope="admin"' } });
    const token = auth && auth.startsWith('Bearer ') ? auth.slice(7) : null;
    if (s.alwaysUnauthorized || !token || !s.validTokens.has(token)) {
      return new Response('unauthorized', { status: 401, headers: { 'WWW-Authenticate': token ? 'Bearer realm="test", error="invalid_token", error_description="token expired"' : 'Bearer realm="test"' } });
    }
    return new Response(JSON.stringify({ ok: true, body }), { status: 200 });
  };
  return s;
}

// Expire every token issued so far (the server rotates its signing key, say).
export function expireAll(s) { s.validTokens = new Set(); }

export function options(server, extra) { return Object.assign({ fetch: server ? server.fetch : undefined, storage: 'memory', logLevel: 'warn' }, extra || {}); }

// Record everything printed to the console while a test runs.
export function captureConsole() {
  const lines = [];
  const names = ['log', 'info', 'warn', 'error', 'debug', 'groupCollapsed', 'group'];
  const saved = names.map((n) => console[n]);
  names.forEach((n, i) => { console[n] = (...args) => { lines.push(n + ': ' + args.map(String).join(' ')); saved[i].apply(console, args); }; });
  return { lines, restore() { names.forEach((n, i) => { console[n] = saved[i]; }); } };
}

export function recorder() { const calls = []; const fn = (x) => { calls.push(x); }; fn.calls = calls; return fn; }
export function streamBody(text) { return new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(text)); c.close(); } }); }
export function blobBody(text) { return new Blob([text], { type: 'text/plain' }); }
export function bufferBody(text) { return new TextEncoder().encode(text).buffer; }
export function formBody() { const f = new FormData(); f.append('name', 'ada'); f.append('file', new Blob(['12345']), 'a.txt'); return f; }
export function paramsBody() { return new URLSearchParams({ q: 'a b', n: '1' }); }
export function requestWithBody(url, text) { return new Request(url, { method: 'PUT', body: text, headers: { 'x-custom': 'kept', 'content-type': 'text/plain' } }); }
export function abortedSignal() { const c = new AbortController(); c.abort(); return c.signal; }
export function status(response) { return response.status; }
export function callAll(promises) { return Promise.allSettled(promises); }
export function errorInfo(e) { return { name: e && e.name, code: e && e.code, message: e && e.message, isError: e instanceof Error }; }
"#)]
extern "C" {
    fn jwt(seconds_from_now: i32) -> String;
    #[wasm_bindgen(js_name = jwtWith)]
    fn jwt_with(claims: &JsValue) -> String;
    #[wasm_bindgen(js_name = nowSeconds)]
    fn now_seconds() -> f64;
    #[wasm_bindgen(js_name = fakeServer)]
    fn fake_server() -> JsValue;
    #[wasm_bindgen(js_name = expireAll)]
    fn expire_all(server: &JsValue);
    fn options(server: &JsValue, extra: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = captureConsole)]
    fn capture_console() -> JsValue;
    fn recorder() -> JsValue;
    #[wasm_bindgen(js_name = streamBody)]
    fn stream_body(text: &str) -> JsValue;
    #[wasm_bindgen(js_name = blobBody)]
    fn blob_body(text: &str) -> JsValue;
    #[wasm_bindgen(js_name = bufferBody)]
    fn buffer_body(text: &str) -> JsValue;
    #[wasm_bindgen(js_name = formBody)]
    fn form_body() -> JsValue;
    #[wasm_bindgen(js_name = paramsBody)]
    fn params_body() -> JsValue;
    #[wasm_bindgen(js_name = requestWithBody)]
    fn request_with_body(url: &str, text: &str) -> JsValue;
    #[wasm_bindgen(js_name = abortedSignal)]
    fn aborted_signal() -> JsValue;
    #[wasm_bindgen(js_name = callAll)]
    fn call_all(promises: &Array) -> Promise;
    #[wasm_bindgen(js_name = errorInfo)]
    fn error_info(error: &JsValue) -> JsValue;
}

// ---- small helpers -------------------------------------------------------------------------------

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn set(target: &JsValue, key: &str, value: impl Into<JsValue>) {
    Reflect::set(target, &JsValue::from_str(key), &value.into()).unwrap_or(false);
}

fn number(target: &JsValue, key: &str) -> f64 {
    get(target, key).as_f64().unwrap_or(f64::NAN)
}

fn text(target: &JsValue, key: &str) -> Option<String> {
    get(target, key).as_string()
}

/// A JS object from (key, value) pairs.
fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let object = js_sys::Object::new();
    for (key, value) in pairs {
        set(&object, key, value.clone());
    }
    object.into()
}

/// The requests the server saw (not counting refreshes).
fn seen(server: &JsValue) -> Vec<JsValue> {
    Array::from(&get(server, "seen")).iter().collect()
}

fn seen_auth(server: &JsValue) -> Vec<Option<String>> {
    seen(server).iter().map(|request| text(request, "auth")).collect()
}

fn client(server: &JsValue, extra: &[(&str, JsValue)]) -> AuthClient {
    match AuthClient::new(options(server, &object(extra))) {
        Ok(client) => client,
        Err(error) => panic!("client options rejected: {:?}", text(&error, "message")),
    }
}

fn with_tokens(client: &AuthClient, access: &str, refresh: Option<&str>) {
    let tokens = object(&[("accessToken", access.into()), ("refreshToken", refresh.map_or(JsValue::UNDEFINED, JsValue::from))]);
    if let Err(error) = client.set_tokens(tokens) {
        panic!("setTokens failed: {:?}", text(&error, "message"));
    }
}

async fn settle(promise: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(promise).await
}

async fn status_of(promise: Promise) -> u16 {
    match settle(promise).await {
        Ok(response) => number(&response, "status") as u16,
        Err(error) => panic!("request rejected: {:?}", error_info(&error)),
    }
}

fn init(pairs: &[(&str, JsValue)]) -> JsValue {
    object(pairs)
}

fn console_lines(capture: &JsValue) -> Vec<String> {
    Array::from(&get(capture, "lines")).iter().filter_map(|line| line.as_string()).collect()
}

fn stop_capture(capture: &JsValue) -> Vec<String> {
    if let Ok(restore) = get(capture, "restore").dyn_into::<js_sys::Function>() {
        let _ = restore.call0(capture);
    }
    console_lines(capture)
}

fn recorded(recorder: &JsValue) -> Vec<JsValue> {
    Array::from(&get(recorder, "calls")).iter().collect()
}

fn assert_no_whole_token(lines: &[String], server: &JsValue) {
    let issued: Vec<String> = Array::from(&get(server, "issued")).iter().filter_map(|token| token.as_string()).collect();
    for line in lines {
        for token in &issued {
            assert!(!line.contains(token.as_str()), "a console line shows a whole token: {line}");
        }
    }
}

use wasm_bindgen::JsCast;

// ---- the header ----------------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn the_token_goes_in_the_authorization_header_of_a_same_origin_request() {
    let server = fake_server();
    let client = client(&server, &[]);
    with_tokens(&client, "opaque-access-1", Some("opaque-refresh-1"));
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    assert_eq!(seen_auth(&server), vec![Some("Bearer opaque-access-1".to_string())]);
}

#[wasm_bindgen_test]
async fn another_origin_never_receives_the_token_unless_it_is_allowed() {
    let server = fake_server();
    let client = client(&server, &[]);
    with_tokens(&client, "opaque-access-1", Some("opaque-refresh-1"));
    status_of(client.fetch("https://cdn.example.com/file.js".into(), JsValue::UNDEFINED)).await;
    status_of(client.fetch("https://api.example.com/x".into(), JsValue::UNDEFINED)).await;
    assert_eq!(seen_auth(&server), vec![None, None]);

    let allowed = Array::of1(&"https://api.example.com".into());
    let trusting = self::client(&server, &[("allowedOrigins", allowed.into())]);
    with_tokens(&trusting, "opaque-access-1", None);
    status_of(trusting.fetch("https://api.example.com/x".into(), JsValue::UNDEFINED)).await;
    status_of(trusting.fetch("https://api.example.com.evil.io/x".into(), JsValue::UNDEFINED)).await;
    let auths = seen_auth(&server);
    assert_eq!(auths.get(2).cloned().flatten().as_deref(), Some("Bearer opaque-access-1"));
    assert_eq!(auths.get(3).cloned().flatten(), None);
}

#[wasm_bindgen_test]
async fn tokens_are_read_raw_from_local_storage_under_the_configured_keys() {
    let server = fake_server();
    let storage = web_sys::window().and_then(|window| window.local_storage().ok().flatten());
    let Some(storage) = storage else { panic!("no localStorage in the test page") };
    let _ = storage.set_item("my_access", "opaque-access-1");
    let client = client(&server, &[("storage", "local".into()), ("accessTokenKey", "my_access".into())]);
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    assert_eq!(seen_auth(&server), vec![Some("Bearer opaque-access-1".to_string())]);
    let _ = storage.remove_item("my_access");
}

#[wasm_bindgen_test]
async fn skip_auth_sends_the_request_untouched_and_never_refreshes() {
    let server = fake_server();
    let client = client(&server, &[]);
    with_tokens(&client, "stale", Some("opaque-refresh-1"));
    let status = status_of(client.fetch("/api/data".into(), init(&[("skipAuth", true.into())]))).await;
    assert_eq!(status, 401);
    assert_eq!(seen_auth(&server), vec![None]);
    assert_eq!(number(&server, "refreshCalls"), 0.0);
}

// ---- refresh and retry ---------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn ten_concurrent_401s_share_one_refresh_and_all_retry_with_the_new_token() {
    let server = fake_server();
    let client = client(&server, &[]);
    with_tokens(&client, "opaque-access-1", Some("opaque-refresh-1"));
    expire_all(&server);
    let calls = Array::new();
    for _ in 0..10 {
        calls.push(&client.fetch("/api/data".into(), JsValue::UNDEFINED));
    }
    let results = settle(call_all(&calls)).await.unwrap_or(JsValue::UNDEFINED);
    let statuses: Vec<u16> = Array::from(&results).iter().map(|result| number(&get(&result, "value"), "status") as u16).collect();
    assert_eq!(statuses, vec![200; 10]);
    assert_eq!(number(&server, "refreshCalls"), 1.0, "exactly one refresh for ten 401s");
    let retries: Vec<_> = seen_auth(&server).into_iter().filter(|auth| auth.as_deref() == Some("Bearer opaque-access-2")).collect();
    assert_eq!(retries.len(), 10, "every request retried with the new token");
}

#[wasm_bindgen_test]
async fn an_expiring_jwt_is_refreshed_once_before_sending_so_no_401_is_wasted() {
    let server = fake_server();
    let expiring = jwt(5); // inside the 30 s leeway (issued an hour ago)
    set(&server, "validTokens", js_sys::Set::new(&Array::of1(&expiring.clone().into())));
    let fresh = jwt(3600);
    set(&server, "newAccess", fresh.clone());
    let client = client(&server, &[]);
    with_tokens(&client, &expiring, Some("opaque-refresh-1"));
    let calls = Array::new();
    for _ in 0..5 {
        calls.push(&client.fetch("/api/data".into(), JsValue::UNDEFINED));
    }
    settle(call_all(&calls)).await.unwrap_or(JsValue::UNDEFINED);
    assert_eq!(number(&server, "refreshCalls"), 1.0);
    let expected = String::from("Bearer ") + &fresh;
    assert_eq!(seen_auth(&server), vec![Some(expected); 5], "all five went out with the fresh token, none got a 401");
}

#[wasm_bindgen_test]
async fn the_retry_sends_the_same_method_headers_and_body_for_every_replayable_body_type() {
    let bodies: Vec<(&str, JsValue)> = vec![
        ("string", JsValue::from_str("{\"a\":1}")),
        ("params", params_body()),
        ("form", form_body()),
        ("blob", blob_body("blob-bytes")),
        ("buffer", buffer_body("buffer-bytes")),
    ];
    for (kind, body) in bodies {
        let server = fake_server();
        let client = client(&server, &[]);
        with_tokens(&client, "opaque-access-1", Some("opaque-refresh-1"));
        expire_all(&server);
        let request_init = init(&[("method", "POST".into()), ("body", body), ("headers", object(&[("x-custom", "kept".into())]))]);
        assert_eq!(status_of(client.fetch("/api/data".into(), request_init)).await, 200, "{kind}");
        let requests = seen(&server);
        assert_eq!(requests.len(), 2, "{kind}: first attempt and one retry");
        let (first, retry) = (&requests[0], &requests[1]);
        assert_eq!(text(retry, "method").as_deref(), Some("POST"), "{kind}");
        assert_eq!(text(retry, "custom").as_deref(), Some("kept"), "{kind}");
        assert!(text(first, "body").is_some_and(|body| !body.is_empty()), "{kind}: the first attempt had a body");
        assert_eq!(text(first, "body"), text(retry, "body"), "{kind}: the retry's body is byte-for-byte the first's");
        assert_eq!(text(retry, "auth").as_deref(), Some("Bearer opaque-access-2"), "{kind}");
    }
}

#[wasm_bindgen_test]
async fn a_request_object_is_retried_with_its_body_and_headers() {
    let server = fake_server();
    let client = client(&server, &[]);
    with_tokens(&client, "opaque-access-1", Some("opaque-refresh-1"));
    expire_all(&server);
    assert_eq!(status_of(client.fetch(request_with_body("/api/data", "request-body"), JsValue::UNDEFINED)).await, 200);
    let requests = seen(&server);
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(text(request, "method").as_deref(), Some("PUT"));
        assert_eq!(text(request, "body").as_deref(), Some("request-body"));
        assert_eq!(text(request, "custom").as_deref(), Some("kept"));
    }
}

#[wasm_bindgen_test]
async fn a_stream_body_is_not_resent_empty_the_401_is_returned_with_a_named_diagnostic() {
    let server = fake_server();
    let events = recorder();
    let client = client(&server, &[("onDiagnostic", events.clone())]);
    with_tokens(&client, "opaque-access-1", Some("opaque-refresh-1"));
    expire_all(&server);
    let request_init = init(&[("method", "POST".into()), ("body", stream_body("streamed")), ("duplex", "half".into())]);
    let result = settle(client.fetch("/api/data".into(), request_init)).await;
    if let Ok(response) = result {
        assert_eq!(number(&response, "status"), 401.0);
        assert_eq!(seen(&server).len(), 1, "no second attempt with an empty body");
        let codes: Vec<String> = recorded(&events).iter().filter_map(|event| text(event, "code")).collect();
        assert!(codes.contains(&"body_not_replayable".to_string()), "{codes:?}");
    }
    // A browser that cannot upload streams rejects as its own fetch would; either way nothing is resent.
    assert!(seen(&server).len() <= 1);
}

#[wasm_bindgen_test]
async fn a_newer_stored_token_is_used_for_the_retry_without_any_refresh() {
    let server = fake_server();
    // While the request is in flight, other code (another tab, the app's login) stores a newer token.
    let swap = js_sys::Function::new_with_args("r", "if (r.auth === 'Bearer old-token-value') localStorage.setItem('newer_test_key', 'opaque-access-1')");
    set(&server, "onSeen", swap);
    let client = client(&server, &[("storage", "local".into()), ("accessTokenKey", "newer_test_key".into()), ("refreshTokenKey", "newer_test_refresh".into())]);
    with_tokens(&client, "old-token-value", Some("opaque-refresh-1"));
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    assert_eq!(number(&server, "refreshCalls"), 0.0);
    assert_eq!(seen_auth(&server), vec![Some("Bearer old-token-value".into()), Some("Bearer opaque-access-1".into())]);
    client.clear_tokens();
}

#[wasm_bindgen_test]
async fn a_server_that_always_answers_401_gets_exactly_one_refresh_and_one_retry() {
    let server = fake_server();
    set(&server, "alwaysUnauthorized", true);
    let failures = recorder();
    let client = client(&server, &[("onAuthFailure", failures.clone())]);
    with_tokens(&client, "opaque-access-1", Some("opaque-refresh-1"));
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 401);
    assert_eq!(number(&server, "refreshCalls"), 1.0);
    assert_eq!(seen(&server).len(), 2);
    let reasons: Vec<Option<String>> = recorded(&failures).iter().map(|info| text(info, "reason")).collect();
    assert_eq!(reasons, vec![Some("still_unauthorized".to_string())]);
}

#[wasm_bindgen_test]
async fn a_rejected_refresh_clears_both_tokens_reports_once_and_returns_the_original_401() {
    let server = fake_server();
    set(&server, "refreshMode", "invalid_grant");
    let failures = recorder();
    let client = client(&server, &[("onAuthFailure", failures.clone())]);
    with_tokens(&client, "stale-access-token", Some("opaque-refresh-1"));
    let capture = capture_console();
    let response = settle(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await.unwrap_or(JsValue::UNDEFINED);
    let lines = stop_capture(&capture);
    assert_eq!(number(&response, "status"), 401.0);
    let infos = recorded(&failures);
    assert_eq!(infos.len(), 1);
    assert_eq!(infos.first().and_then(|info| text(info, "reason")).as_deref(), Some("refresh_rejected"));
    assert!(lines.iter().any(|line| line.contains("invalid_grant") && line.contains("both tokens were cleared")), "{lines:?}");
    // Both tokens are gone: the next call goes out without a header and does not try to refresh.
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 401);
    assert_eq!(seen_auth(&server).last().cloned().flatten(), None);
    assert_eq!(number(&server, "refreshCalls"), 1.0);
}

#[wasm_bindgen_test]
async fn a_transient_refresh_failure_keeps_both_tokens_and_returns_the_original_401() {
    for mode in ["500", "garbage", "network", "hang"] {
        let server = fake_server();
        set(&server, "refreshMode", mode);
        let events = recorder();
        let client = client(&server, &[("onDiagnostic", events.clone()), ("refreshTimeout", 200.into())]);
        with_tokens(&client, "stale-access-token", Some("opaque-refresh-1"));
        assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 401, "{mode}");
        let failed: Vec<String> =
            recorded(&events).iter().filter(|e| text(e, "code").as_deref() == Some("refresh_failed")).filter_map(|e| text(e, "message")).collect();
        assert_eq!(failed.len(), 1, "{mode}: {failed:?}");
        // The tokens are still there: the next call sends the same token and refreshes with the same refresh token.
        set(&server, "refreshMode", "ok");
        assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200, "{mode}");
        let refresh_bodies: Vec<String> = Array::from(&get(&server, "refreshBodies")).iter().filter_map(|b| b.as_string()).collect();
        assert_eq!(refresh_bodies.last().map(String::as_str), Some("{\"refreshToken\":\"opaque-refresh-1\"}"), "{mode}");
        if mode == "hang" {
            assert!(failed.first().is_some_and(|message| message.contains("timed out after 200 ms")), "{failed:?}");
        }
    }
}

#[wasm_bindgen_test]
async fn the_oauth2_format_posts_a_form_and_a_rotated_refresh_token_replaces_the_old_one() {
    let server = fake_server();
    let refreshes = recorder();
    let client = client(
        &server,
        &[("refreshFormat", "oauth2".into()), ("refreshUrl", "/oauth/token".into()), ("clientId", "web app".into()), ("onRefresh", refreshes.clone())],
    );
    with_tokens(&client, "stale-access-token", Some("opaque-refresh-1"));
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    let bodies: Vec<String> = Array::from(&get(&server, "refreshBodies")).iter().filter_map(|b| b.as_string()).collect();
    assert_eq!(bodies, vec!["grant_type=refresh_token&refresh_token=opaque-refresh-1&client_id=web+app".to_string()]);
    let types: Vec<String> = Array::from(&get(&server, "refreshContentTypes")).iter().filter_map(|b| b.as_string()).collect();
    assert_eq!(types, vec!["application/x-www-form-urlencoded".to_string()]);
    let info = recorded(&refreshes);
    assert_eq!(info.first().and_then(|i| text(i, "trigger")).as_deref(), Some("unauthorized"));
    assert_eq!(info.first().map(|i| get(i, "rotated")), Some(JsValue::TRUE));
    // Rotation: the next refresh presents the new refresh token.
    expire_all(&server);
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    let bodies: Vec<String> = Array::from(&get(&server, "refreshBodies")).iter().filter_map(|b| b.as_string()).collect();
    assert!(bodies.last().is_some_and(|body| body.contains("refresh_token=opaque-refresh-2")), "{bodies:?}");
}

#[wasm_bindgen_test]
async fn a_reply_without_a_new_refresh_token_keeps_the_old_one() {
    let server = fake_server();
    set(&server, "rotate", false);
    let client = client(&server, &[]);
    with_tokens(&client, "stale-access-token", Some("opaque-refresh-1"));
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    expire_all(&server);
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    let bodies: Vec<String> = Array::from(&get(&server, "refreshBodies")).iter().filter_map(|b| b.as_string()).collect();
    assert_eq!(bodies, vec!["{\"refreshToken\":\"opaque-refresh-1\"}".to_string(); 2]);
}

#[wasm_bindgen_test]
async fn a_403_is_returned_as_it_is_without_a_refresh() {
    let server = fake_server();
    let client = client(&server, &[]);
    with_tokens(&client, "opaque-access-1", Some("opaque-refresh-1"));
    assert_eq!(status_of(client.fetch("/api/forbidden".into(), JsValue::UNDEFINED)).await, 403);
    assert_eq!(number(&server, "refreshCalls"), 0.0);
    assert_eq!(seen(&server).len(), 1);
}

#[wasm_bindgen_test]
async fn a_manual_refresh_resolves_true_and_stores_the_new_token() {
    let server = fake_server();
    let client = client(&server, &[]);
    with_tokens(&client, "opaque-access-1", Some("opaque-refresh-1"));
    assert_eq!(settle(client.refresh()).await.ok(), Some(JsValue::TRUE));
    status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await;
    assert_eq!(seen_auth(&server), vec![Some("Bearer opaque-access-2".to_string())]);
    client.clear_tokens();
    assert_eq!(settle(client.refresh()).await.ok(), Some(JsValue::FALSE));
}

// ---- fetch semantics -----------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn network_errors_and_aborts_reject_as_fetch_does_and_leave_tokens_alone() {
    let server = fake_server();
    let client = client(&server, &[]);
    with_tokens(&client, "opaque-access-1", Some("opaque-refresh-1"));
    // A real network failure through the browser's own fetch.
    let real = AuthClient::new(object(&[("storage", "memory".into()), ("logLevel", "silent".into())])).unwrap_or_else(|_| panic!("options"));
    let error = settle(real.fetch("http://127.0.0.1:9/unreachable".into(), JsValue::UNDEFINED)).await.err().unwrap_or(JsValue::NULL);
    assert_eq!(text(&error_info(&error), "name").as_deref(), Some("TypeError"));
    // An aborted signal gives an AbortError.
    let error = settle(client.fetch("/api/data".into(), init(&[("signal", aborted_signal())]))).await.err().unwrap_or(JsValue::NULL);
    assert_eq!(text(&error_info(&error), "name").as_deref(), Some("AbortError"));
    // Tokens untouched.
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    assert_eq!(number(&server, "refreshCalls"), 0.0);
}

#[wasm_bindgen_test]
fn bad_options_throw_a_named_error_that_says_which_option_what_was_expected_and_what_was_given() {
    let cases: Vec<(JsValue, &str)> = vec![
        (object(&[("storage", "disk".into())]), "option `storage` must be one of 'local', 'session', 'memory'; got string \"disk\""),
        (object(&[("refreshLeeway", "30".into())]), "option `refreshLeeway` must be a number of seconds"),
        (object(&[("refreshURL", "/x".into())]), "unknown option `refreshURL`; did you mean `refreshUrl`?"),
        (object(&[("allowedOrigins", Array::of1(&"not a url".into()).into())]), "option `allowedOrigins`"),
        (object(&[("refreshUrl", "javascript:alert(1)".into())]), "option `refreshUrl`"),
        (JsValue::from_str("local"), "options must be an object"),
    ];
    for (options, expected) in cases {
        let error = match AuthClient::new(options) {
            Ok(_) => panic!("accepted bad options: {expected}"),
            Err(error) => error_info(&error),
        };
        assert_eq!(text(&error, "name").as_deref(), Some("AuthFetchError"));
        assert_eq!(text(&error, "code").as_deref(), Some("invalid_options"));
        assert_eq!(get(&error, "isError"), JsValue::TRUE);
        let message = text(&error, "message").unwrap_or_default();
        assert!(message.contains(expected), "{message:?} should contain {expected:?}");
        // configure() reports the same way and leaves the default client working.
        assert!(configure(object(&[("storage", "disk".into())])).is_err());
    }
    assert!(AuthClient::new(object(&[("storage", "memory".into())])).is_ok(), "the module keeps working after errors");
}

#[wasm_bindgen_test]
async fn bad_call_arguments_reject_with_a_named_error() {
    let server = fake_server();
    let client = client(&server, &[]);
    let error = settle(client.fetch(JsValue::from_f64(42.0), JsValue::UNDEFINED)).await.err().unwrap_or(JsValue::NULL);
    let info = error_info(&error);
    assert_eq!(text(&info, "name").as_deref(), Some("AuthFetchError"));
    assert_eq!(text(&info, "code").as_deref(), Some("invalid_argument"));
    assert!(client.set_tokens(object(&[("accessToken", "two words".into())])).is_err());
    assert!(client.set_tokens(object(&[("accessToken", "line\nbreak".into())])).is_err());
}

// ---- diagnostics ---------------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn a_request_without_a_token_warns_naming_the_storage_and_the_key() {
    let server = fake_server();
    let events = recorder();
    let client = client(&server, &[("storage", "session".into()), ("accessTokenKey", "jwt".into()), ("onDiagnostic", events.clone())]);
    let capture = capture_console();
    status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await;
    let lines = stop_capture(&capture);
    assert!(
        lines.iter().any(|line| line.starts_with("groupCollapsed: %cauthfetch warn%c [authfetch] GET ")
            && line.contains("answered 401 to a request without a token: sessionStorage has no \"jwt\"")),
        "{lines:?}"
    );
    let codes: Vec<String> = recorded(&events).iter().filter_map(|event| text(event, "code")).collect();
    assert_eq!(codes, vec!["no_token".to_string()], "one warning per request");
    // A request without a token that succeeds anyway (a public endpoint) is still pointed out.
    set(&server, "respond", js_sys::Function::new_with_args("req, url", "return new Response('public', { status: 200 })"));
    status_of(client.fetch("/api/public".into(), JsValue::UNDEFINED)).await;
    let messages: Vec<String> = recorded(&events).iter().filter_map(|event| text(event, "message")).collect();
    assert!(messages.last().is_some_and(|m| m.contains("/api/public went out without a token: sessionStorage has no \"jwt\"")), "{messages:?}");
    assert!(lines.iter().any(|line| line == "log: more: https://github.com/authfetch/authfetch#no_token"), "{lines:?}");
}

#[wasm_bindgen_test]
async fn every_401_is_explained_with_the_token_fingerprint_and_the_challenge_never_the_token() {
    let server = fake_server();
    let client = client(&server, &[]);
    with_tokens(&client, "stale-access-token-abcdef", Some("opaque-refresh-1"));
    let capture = capture_console();
    status_of(client.fetch("/api/data?page=2".into(), JsValue::UNDEFINED)).await;
    let lines = stop_capture(&capture);
    let title = lines.iter().find(|line| line.contains("answered 401")).cloned().unwrap_or_default();
    assert!(title.starts_with("groupCollapsed: %cauthfetch warn%c [authfetch] GET http"), "{lines:?}");
    assert!(title.contains("/api/data?page=2 answered 401 invalid_token: token expired; refreshing and retrying once"), "{title}");
    assert!(lines.iter().any(|line| line.starts_with("log: token sent: 25 chars #") && line.ends_with(", opaque")), "{lines:?}");
    assert!(
        lines.iter().any(|line| line == "log: WWW-Authenticate: Bearer realm=\"test\", error=\"invalid_token\", error_description=\"token expired\""),
        "{lines:?}"
    );
    assert_no_whole_token(&lines, &server);
    assert!(!lines.iter().any(|line| line.contains("stale-access-token-abcdef")));
}

#[wasm_bindgen_test]
async fn at_debug_level_each_request_gets_one_collapsed_group_with_its_story() {
    let server = fake_server();
    let client = client(&server, &[("logLevel", "debug".into())]);
    with_tokens(&client, "opaque-access-1", Some("opaque-refresh-1"));
    let capture = capture_console();
    status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await;
    let lines = stop_capture(&capture);
    let groups: Vec<&String> = lines.iter().filter(|line| line.starts_with("groupCollapsed: [authfetch] GET ")).collect();
    assert_eq!(groups.len(), 1, "{lines:?}");
    assert!(groups.first().is_some_and(|title| title.contains("/api/data → 200 (")), "{groups:?}");
    assert!(lines.iter().any(|line| line.contains("token: 15 chars #") && line.contains("opaque")), "{lines:?}");
    assert!(lines.iter().any(|line| line.contains("header: Authorization added")), "{lines:?}");
    assert_no_whole_token(&lines, &server);
}

#[wasm_bindgen_test]
async fn the_default_client_is_configured_with_configure_and_used_by_auth_fetch() {
    let server = fake_server();
    let configured = configure(options(&server, &object(&[("logLevel", "silent".into())])));
    assert!(configured.is_ok());
    let status = number(&JsFuture::from(auth_fetch("/api/data".into(), JsValue::UNDEFINED)).await.unwrap_or(JsValue::UNDEFINED), "status");
    assert_eq!(status, 401.0, "no token stored in the default client's memory storage");
    assert_eq!(seen_auth(&server), vec![None]);
}

#[wasm_bindgen_test]
async fn a_missing_access_token_next_to_a_stored_refresh_token_is_refreshed_before_sending() {
    let server = fake_server();
    let storage = web_sys::window().and_then(|window| window.local_storage().ok().flatten());
    let Some(storage) = storage else { panic!("no localStorage in the test page") };
    let _ = storage.remove_item("missing_access");
    let _ = storage.set_item("missing_refresh", "opaque-refresh-1");
    let refreshes = recorder();
    let client = client(
        &server,
        &[
            ("storage", "local".into()),
            ("accessTokenKey", "missing_access".into()),
            ("refreshTokenKey", "missing_refresh".into()),
            ("onRefresh", refreshes.clone()),
        ],
    );
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    assert_eq!(number(&server, "refreshCalls"), 1.0);
    assert_eq!(seen_auth(&server), vec![Some("Bearer opaque-access-2".to_string())], "no wasted 401");
    assert_eq!(recorded(&refreshes).first().and_then(|info| text(info, "trigger")).as_deref(), Some("missing"));
    assert_eq!(storage.get_item("missing_access").ok().flatten().as_deref(), Some("opaque-access-2"));
    client.clear_tokens();
}

// ---- the diagnosis of each cause (issue: explain every 401 and 403) -------------------------------

struct Cause {
    code: &'static str,
    token: Option<String>,
    refresh: bool,
    url: &'static str,
    options: Vec<(&'static str, JsValue)>,
    /// Body of `(req, url) => Response | undefined`, the server's answer.
    respond: &'static str,
    message: &'static str,
}

fn causes() -> Vec<Cause> {
    let now = now_seconds();
    let claims = |pairs: &[(&str, f64)]| {
        let object = js_sys::Object::new();
        set(&object, "sub", "u1");
        for (key, value) in pairs {
            set(&object, key, *value);
        }
        jwt_with(&object.into())
    };
    let third_party = || Array::of1(&"https://api.example.com".into()).into();
    let bearer401 = |header: &'static str| header;
    vec![
        Cause { code: "no_token", token: None, refresh: false, url: "/api/data", options: vec![], respond: "", message: "answered 401 to a request without a token: memory storage has no \"access_token\"" },
        Cause { code: "origin_not_allowed", token: Some("opaque-access-1".into()), refresh: false, url: "https://api.example.com/data", options: vec![],
            respond: "return new Response('', { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } })", message: "a token is stored but was not sent, because https://api.example.com is not in allowedOrigins" },
        Cause { code: "token_expired", token: Some(claims(&[("iat", now - 3700.0), ("exp", now - 100.0)])), refresh: false, url: "/api/data", options: vec![],
            respond: "return new Response('', { status: 401, headers: { 'WWW-Authenticate': 'Bearer error=\"invalid_token\"' } })", message: "s ago, at 20" },
        Cause { code: "token_not_yet_valid", token: Some(claims(&[("iat", now - 10.0), ("nbf", now + 300.0), ("exp", now + 3600.0)])), refresh: false, url: "/api/data", options: vec![],
            respond: "return new Response('', { status: 401, headers: { 'WWW-Authenticate': 'Bearer error=\"invalid_token\"' } })", message: "the token is not valid yet (nbf is 5 min in the future)" },
        Cause { code: "clock_skew", token: Some(claims(&[("iat", now - 10.0), ("nbf", now + 300.0), ("exp", now + 3600.0)])), refresh: false, url: "/api/data", options: vec![],
            respond: "return new Response('', { status: 401, headers: { 'WWW-Authenticate': 'Bearer error=\"invalid_token\"', 'Date': new Date(Date.now() + 600000).toUTCString() } })", message: "this computer's clock is 10 min behind the server's" },
        Cause { code: "invalid_token", token: Some("opaque-forged".into()), refresh: false, url: "/api/data", options: vec![],
            respond: bearer401("return new Response('', { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm=\"t\", error=\"invalid_token\", error_description=\"signature verification failed\"' } })"), message: "answered 401 invalid_token: signature verification failed" },
        Cause { code: "insufficient_scope", token: Some("opaque-access-1".into()), refresh: true, url: "/api/forbidden", options: vec![], respond: "", message: "answered 403 insufficient_scope: the token lacks a permission; required scope: admin" },
        Cause { code: "invalid_request", token: Some("opaque-access-1".into()), refresh: true, url: "/api/data", options: vec![],
            respond: "return new Response('', { status: 400, headers: { 'WWW-Authenticate': 'Bearer error=\"invalid_request\", error_description=\"two tokens\"' } })", message: "answered 400 invalid_request" },
        Cause { code: "wrong_scheme", token: Some("opaque-access-1".into()), refresh: false, url: "/api/data", options: vec![],
            respond: "return new Response('', { status: 401, headers: { 'WWW-Authenticate': 'Basic realm=\"admin\"' } })", message: "answered 401 asking for Basic, not Bearer" },
        Cause { code: "no_challenge", token: Some("opaque-access-1".into()), refresh: false, url: "/api/data", options: vec![],
            respond: "return new Response('', { status: 401 })", message: "answered 401 without a WWW-Authenticate header" },
        Cause { code: "challenge_hidden", token: Some("opaque-access-1".into()), refresh: false, url: "https://api.example.com/data", options: vec![("allowedOrigins", third_party())],
            respond: "if (url.origin !== location.origin) return new Response('', { status: 401 })", message: "CORS hides that header unless the server exposes it" },
        Cause { code: "still_unauthorized", token: Some("opaque-access-1".into()), refresh: true, url: "/api/data", options: vec![],
            respond: "if (url.pathname !== '/api/refresh-token') return new Response('', { status: 401, headers: { 'WWW-Authenticate': 'Bearer error=\"invalid_token\"' } })", message: "answered 401 again to a freshly obtained token" },
        Cause { code: "refresh_rejected", token: Some("opaque-old".into()), refresh: true, url: "/api/data", options: vec![],
            respond: "if (url.pathname === '/api/refresh-token') return new Response('{\"error\":\"invalid_grant\"}', { status: 400 })", message: "the refresh endpoint rejected the refresh token (400, invalid_grant)" },
        Cause { code: "refresh_failed", token: Some("opaque-old".into()), refresh: true, url: "/api/data", options: vec![],
            respond: "if (url.pathname === '/api/refresh-token') return new Response('', { status: 503 })", message: "refresh failed: the refresh endpoint answered 503" },
        Cause { code: "cors_preflight", token: Some("opaque-access-1".into()), refresh: false, url: "https://api.example.com/data", options: vec![("allowedOrigins", third_party())],
            respond: "if (url.origin !== location.origin) throw new TypeError('Failed to fetch')", message: "failed with a network error (TypeError: Failed to fetch) while carrying Authorization to another origin: most likely CORS" },
    ]
}

#[wasm_bindgen_test]
async fn each_cause_of_a_401_or_403_gets_its_own_code_console_group_and_event() {
    for cause in causes() {
        let server = fake_server();
        if !cause.respond.is_empty() {
            set(&server, "respond", js_sys::Function::new_with_args("req, url", cause.respond));
        }
        let events = recorder();
        let mut options = cause.options;
        options.push(("onDiagnostic", events.clone()));
        let client = client(&server, &options);
        if let Some(token) = &cause.token {
            with_tokens(&client, token, cause.refresh.then_some("opaque-refresh-1"));
        }
        let capture = capture_console();
        let _ = settle(client.fetch(cause.url.into(), JsValue::UNDEFINED)).await;
        let lines = stop_capture(&capture);
        let events: Vec<JsValue> = recorded(&events);
        let event =
            events.iter().find(|event| text(event, "code").as_deref() == Some(cause.code) && text(event, "message").is_some_and(|m| m.contains(cause.message)));
        let seen: Vec<(Option<String>, Option<String>)> = events.iter().map(|event| (text(event, "code"), text(event, "message"))).collect();
        let Some(event) = event else { panic!("{}: no event with this code containing {:?}; got {seen:?}", cause.code, cause.message) };
        assert!(!text(event, "hint").unwrap_or_default().is_empty(), "{}: a hint", cause.code);
        assert!(
            lines.iter().any(|line| line.starts_with("groupCollapsed: %cauthfetch ") && line.contains(cause.message)),
            "{}: console group: {lines:?}",
            cause.code
        );
        let link = String::from("log: more: https://github.com/authfetch/authfetch#") + cause.code;
        assert!(lines.iter().any(|line| *line == link), "{}: link to the explanation: {lines:?}", cause.code);
        if let Some(token) = &cause.token {
            assert!(!lines.iter().any(|line| line.contains(token.as_str())), "{}: a whole token in the console", cause.code);
        }
        assert_no_whole_token(&lines, &server);
    }
}

#[wasm_bindgen_test]
async fn state_reports_tokens_claims_counts_and_the_last_diagnostic_without_the_token() {
    let server = fake_server();
    let client = client(&server, &[]);
    let token = jwt(600);
    with_tokens(&client, &token, Some("opaque-refresh-1"));
    status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await; // 401 → refresh → 200
    let state = client.state();
    assert_eq!(text(&state, "storage").as_deref(), Some("memory storage"));
    assert_eq!(get(&state, "hasAccessToken"), JsValue::TRUE);
    assert_eq!(get(&state, "hasRefreshToken"), JsValue::TRUE);
    assert_eq!(get(&state, "isJwt"), JsValue::FALSE, "the refreshed token is opaque");
    assert_eq!(get(&state, "refreshInFlight"), JsValue::FALSE);
    let counts = get(&state, "counts");
    assert_eq!(
        (number(&counts, "requests"), number(&counts, "unauthorized"), number(&counts, "refreshes"), number(&counts, "refreshFailures")),
        (1.0, 1.0, 1.0, 0.0)
    );
    assert_eq!(text(&get(&state, "lastDiagnostic"), "code").as_deref(), Some("refreshed"));
    let shown = js_sys::JSON::stringify(&state).ok().and_then(|json| json.as_string()).unwrap_or_default();
    assert!(!shown.contains("opaque-access-2") && !shown.contains("opaque-refresh"), "{shown}");

    with_tokens(&client, &token, None);
    let state = client.state();
    assert_eq!(get(&state, "isJwt"), JsValue::TRUE);
    assert_eq!(text(&get(&state, "claims"), "sub").as_deref(), Some("u1"));
    let expires_in = number(&state, "expiresIn");
    assert!((595.0..=600.0).contains(&expires_in), "{expires_in}");
}

// ---- hardening -----------------------------------------------------------------------------------

fn local_storage() -> web_sys::Storage {
    match web_sys::window().and_then(|window| window.local_storage().ok().flatten()) {
        Some(storage) => storage,
        None => panic!("no localStorage in the test page"),
    }
}

#[wasm_bindgen_test]
async fn two_clients_sharing_local_storage_like_two_tabs_refresh_once_and_never_reuse_a_refresh_token() {
    for round in 0..5 {
        let server = fake_server();
        set(&server, "reuseDetection", true);
        set(&server, "refreshDelayMs", 30);
        let storage = local_storage();
        let _ = storage.set_item("tabs_access", "stale-access-token");
        let _ = storage.set_item("tabs_refresh", "opaque-refresh-1");
        let shared = || vec![("storage", JsValue::from("local")), ("accessTokenKey", "tabs_access".into()), ("refreshTokenKey", "tabs_refresh".into())];
        let tab_a = client(&server, &shared());
        let tab_b = client(&server, &shared());
        let calls = Array::new();
        for _ in 0..4 {
            calls.push(&tab_a.fetch("/api/data".into(), JsValue::UNDEFINED));
            calls.push(&tab_b.fetch("/api/data".into(), JsValue::UNDEFINED));
        }
        let results = settle(call_all(&calls)).await.unwrap_or(JsValue::UNDEFINED);
        let statuses: Vec<u16> = Array::from(&results).iter().map(|result| number(&get(&result, "value"), "status") as u16).collect();
        assert_eq!(statuses, vec![200; 8], "round {round}");
        assert_eq!(number(&server, "refreshCalls"), 1.0, "round {round}: one refresh for both tabs");
        assert_eq!(number(&server, "reuseDetected"), 0.0, "round {round}: the old refresh token was never presented twice");
        assert_eq!(storage.get_item("tabs_refresh").ok().flatten().as_deref(), Some("opaque-refresh-2"), "round {round}");
        tab_a.clear_tokens();
    }
}

#[wasm_bindgen_test]
async fn a_logout_in_one_tab_stops_the_other_from_sending_the_old_token() {
    let server = fake_server();
    let storage = local_storage();
    let _ = storage.set_item("logout_access", "opaque-access-1");
    let _ = storage.set_item("logout_refresh", "opaque-refresh-1");
    let shared = || vec![("storage", JsValue::from("local")), ("accessTokenKey", "logout_access".into()), ("refreshTokenKey", "logout_refresh".into())];
    let tab_a = client(&server, &shared());
    let tab_b = client(&server, &shared());
    assert_eq!(status_of(tab_b.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    tab_a.clear_tokens();
    status_of(tab_b.fetch("/api/data".into(), JsValue::UNDEFINED)).await;
    assert_eq!(seen_auth(&server), vec![Some("Bearer opaque-access-1".to_string()), None]);
    assert_eq!(number(&server, "refreshCalls"), 0.0);
}

#[wasm_bindgen_test]
async fn a_callers_abort_during_a_shared_refresh_rejects_that_caller_only() {
    let server = fake_server();
    set(&server, "refreshDelayMs", 150);
    let client = client(&server, &[]);
    with_tokens(&client, "stale-access-token", Some("opaque-refresh-1"));
    let controller = web_sys::AbortController::new().unwrap_or_else(|_| panic!("AbortController"));
    let aborted_call = client.fetch("/api/data".into(), init(&[("signal", controller.signal().into())]));
    let patient_call = client.fetch("/api/data".into(), JsValue::UNDEFINED);
    let abort_soon = js_sys::Function::new_with_args("c", "return new Promise((r) => setTimeout(() => { c.abort(); r(); }, 40))");
    let _ = settle(Promise::from(abort_soon.call1(&JsValue::NULL, &controller.clone().into()).unwrap_or(JsValue::UNDEFINED))).await;
    let error = settle(aborted_call).await.err().unwrap_or(JsValue::NULL);
    assert_eq!(text(&error_info(&error), "name").as_deref(), Some("AbortError"));
    assert_eq!(status_of(patient_call).await, 200, "the refresh went on for the other caller");
    assert_eq!(number(&server, "refreshCalls"), 1.0);
}

#[wasm_bindgen_test]
async fn a_token_with_a_line_break_is_not_sent_and_the_diagnostic_says_why() {
    let server = fake_server();
    let events = recorder();
    let storage = local_storage();
    let _ = storage.set_item("crlf_access", "abc\r\nX-Injected: 1");
    let client = client(&server, &[("storage", "local".into()), ("accessTokenKey", "crlf_access".into()), ("onDiagnostic", events.clone())]);
    status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await;
    assert_eq!(seen_auth(&server), vec![None]);
    let codes: Vec<String> = recorded(&events).iter().filter_map(|event| text(event, "code")).collect();
    assert_eq!(codes.first().map(String::as_str), Some("token_not_sendable"), "{codes:?}");
    let _ = storage.remove_item("crlf_access");
}

#[wasm_bindgen_test]
async fn odd_stored_values_are_cleaned_or_recognised_as_missing() {
    let server = fake_server();
    let storage = local_storage();
    let events = recorder();
    let client = client(&server, &[("storage", "local".into()), ("accessTokenKey", "odd_access".into()), ("onDiagnostic", events.clone())]);
    for (stored, expected) in
        [("\"opaque-access-1\"", Some("Bearer opaque-access-1")), ("  opaque-access-1\n", Some("Bearer opaque-access-1")), ("undefined", None), ("null", None)]
    {
        let _ = storage.set_item("odd_access", stored);
        status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await;
        assert_eq!(seen_auth(&server).last().cloned().flatten().as_deref(), expected, "{stored:?}");
    }
    let messages: Vec<String> = recorded(&events).iter().filter_map(|event| text(event, "message")).collect();
    assert!(messages.iter().any(|m| m.contains("stored JSON-encoded")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("holds the text \"undefined\"")), "{messages:?}");
    let _ = storage.remove_item("odd_access");
}

#[wasm_bindgen(inline_js = r#"
export function blockLocalStorage() {
  const descriptor = Object.getOwnPropertyDescriptor(window, 'localStorage') || Object.getOwnPropertyDescriptor(Window.prototype, 'localStorage');
  Object.defineProperty(window, 'localStorage', { configurable: true, get() { throw new DOMException('The operation is insecure.', 'SecurityError'); } });
  return () => { delete window.localStorage; if (descriptor && !Object.getOwnPropertyDescriptor(window, 'localStorage')) Object.defineProperty(window, 'localStorage', descriptor); };
}
export function fillQuota() {
  const original = Storage.prototype.setItem;
  Storage.prototype.setItem = function () { throw new DOMException('quota exceeded', 'QuotaExceededError'); };
  return () => { Storage.prototype.setItem = original; };
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = blockLocalStorage)]
    fn block_local_storage() -> js_sys::Function;
    #[wasm_bindgen(js_name = fillQuota)]
    fn fill_quota() -> js_sys::Function;
}

#[wasm_bindgen_test]
async fn blocked_local_storage_falls_back_to_memory_with_one_warning_and_everything_else_works() {
    let server = fake_server();
    let restore = block_local_storage();
    let capture = capture_console();
    let client = client(&server, &[("storage", "local".into())]);
    with_tokens(&client, "opaque-access-1", Some("opaque-refresh-1"));
    let first = status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await;
    expire_all(&server);
    let second = status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await;
    let lines = stop_capture(&capture);
    let _ = restore.call0(&JsValue::NULL);
    assert_eq!((first, second), (200, 200), "header sent, then refreshed and retried, all from memory");
    assert_eq!(number(&server, "refreshCalls"), 1.0);
    let warnings: Vec<&String> = lines.iter().filter(|line| line.contains("localStorage cannot be used (SecurityError")).collect();
    assert_eq!(warnings.len(), 1, "{lines:?}");
    assert_eq!(text(&client.state(), "storage").as_deref(), Some("memory storage (fallback)"));
}

#[wasm_bindgen_test]
async fn a_full_storage_quota_keeps_the_refreshed_tokens_in_memory_instead_of_losing_them() {
    let server = fake_server();
    let storage = local_storage();
    let _ = storage.set_item("quota_access", "stale-access-token");
    let _ = storage.set_item("quota_refresh", "opaque-refresh-1");
    let client = client(
        &server,
        &[("storage", "local".into()), ("accessTokenKey", "quota_access".into()), ("refreshTokenKey", "quota_refresh".into()), ("logLevel", "silent".into())],
    );
    let restore = fill_quota();
    let first = status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await;
    let second = status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await;
    let _ = restore.call0(&JsValue::NULL);
    assert_eq!((first, second), (200, 200));
    assert_eq!(number(&server, "refreshCalls"), 1.0, "the rotated tokens were kept (in memory), so no second refresh");
    assert_eq!(seen_auth(&server).last().cloned().flatten().as_deref(), Some("Bearer opaque-access-2"));
    let _ = storage.remove_item("quota_access");
    let _ = storage.remove_item("quota_refresh");
}

#[wasm_bindgen_test]
async fn fifty_concurrent_calls_with_an_expired_token_make_one_refresh_and_no_401() {
    let server = fake_server();
    let expired = jwt(-60);
    set(&server, "validTokens", js_sys::Set::new(&Array::of1(&expired.clone().into())));
    let client = client(&server, &[]);
    with_tokens(&client, &expired, Some("opaque-refresh-1"));
    let calls = Array::new();
    for _ in 0..50 {
        calls.push(&client.fetch("/api/data".into(), JsValue::UNDEFINED));
    }
    let results = settle(call_all(&calls)).await.unwrap_or(JsValue::UNDEFINED);
    let statuses: Vec<u16> = Array::from(&results).iter().map(|result| number(&get(&result, "value"), "status") as u16).collect();
    assert_eq!(statuses, vec![200; 50]);
    assert_eq!(number(&server, "refreshCalls"), 1.0);
    assert!(seen_auth(&server).iter().all(|auth| auth.as_deref() == Some("Bearer opaque-access-2")), "no request went out with the expired token");
}

#[wasm_bindgen_test]
async fn a_refresh_that_finishes_after_a_logout_never_brings_the_session_back() {
    let server = fake_server();
    set(&server, "refreshDelayMs", 80);
    let client = client(&server, &[]);
    with_tokens(&client, "stale-access-token", Some("opaque-refresh-1"));
    let pending = client.fetch("/api/data".into(), JsValue::UNDEFINED);
    let later = js_sys::Function::new_with_args("", "return new Promise((r) => setTimeout(r, 30))");
    let _ = settle(Promise::from(later.call0(&JsValue::NULL).unwrap_or(JsValue::UNDEFINED))).await;
    client.clear_tokens();
    assert_eq!(status_of(pending).await, 401, "the original 401 is returned");
    let state = client.state();
    assert_eq!((get(&state, "hasAccessToken"), get(&state, "hasRefreshToken")), (JsValue::FALSE, JsValue::FALSE));
}

#[wasm_bindgen_test]
async fn the_refresh_endpoints_own_401_never_recurses() {
    let server = fake_server();
    set(&server, "respond", js_sys::Function::new_with_args("req, url", "if (url.pathname === '/api/refresh-token') return new Response('', { status: 401 })"));
    let client = client(&server, &[]);
    with_tokens(&client, "stale-access-token", Some("opaque-refresh-1"));
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 401);
    assert_eq!(number(&server, "refreshCalls"), 1.0, "exactly one refresh attempt");
    assert_eq!(seen(&server).len(), 1, "no retry");
}

#[wasm_bindgen_test]
async fn when_the_page_becomes_visible_again_an_expired_token_is_refreshed_without_waiting_for_a_request() {
    let server = fake_server();
    let client = client(&server, &[]);
    with_tokens(&client, &jwt(-30), Some("opaque-refresh-1")); // expired while the laptop slept
    let wake = js_sys::Function::new_with_args("", "document.dispatchEvent(new Event('visibilitychange')); return new Promise((r) => setTimeout(r, 50))");
    let _ = settle(Promise::from(wake.call0(&JsValue::NULL).unwrap_or(JsValue::UNDEFINED))).await;
    assert_eq!(number(&server, "refreshCalls"), 1.0, "refreshed on becoming visible");
    assert!(seen(&server).is_empty(), "no request was needed to notice");
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    assert_eq!(seen_auth(&server), vec![Some("Bearer opaque-access-2".to_string())]);
}

#[wasm_bindgen_test]
async fn an_invalid_grant_right_after_another_tab_rotated_adopts_the_newer_tokens_instead_of_logging_out() {
    let server = fake_server();
    let storage = local_storage();
    let _ = storage.set_item("race_access", "stale-access-token");
    let _ = storage.set_item("race_refresh", "opaque-refresh-1");
    // While this tab's refresh is in flight, another tab rotates first: storage gets its tokens, and the
    // server (reuse detection) refuses this tab's now-used refresh token.
    let rotate_elsewhere = "if (url.pathname === '/api/refresh-token') { s.validTokens.add('other-tab-access'); \
        localStorage.setItem('race_access', 'other-tab-access'); localStorage.setItem('race_refresh', 'other-tab-refresh'); \
        return new Response('{\"error\":\"invalid_grant\"}', { status: 400 }); }";
    set(&server, "respond", js_sys::Function::new_with_args("req, url", &(String::from("const s = this;") + rotate_elsewhere)).bind(&server));
    let failures = recorder();
    let client = client(
        &server,
        &[
            ("storage", "local".into()),
            ("accessTokenKey", "race_access".into()),
            ("refreshTokenKey", "race_refresh".into()),
            ("onAuthFailure", failures.clone()),
        ],
    );
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200, "retried with the other tab's token");
    assert!(recorded(&failures).is_empty(), "no logout");
    assert_eq!(storage.get_item("race_refresh").ok().flatten().as_deref(), Some("other-tab-refresh"), "the newer tokens were kept");
    assert_eq!(seen_auth(&server).last().cloned().flatten().as_deref(), Some("Bearer other-tab-access"));
    client.clear_tokens();
}

#[wasm_bindgen_test]
async fn a_logout_written_straight_to_storage_by_other_code_wins_over_tokens_published_earlier() {
    let server = fake_server();
    let storage = local_storage();
    let _ = storage.set_item("plain_access", "stale-access-token");
    let _ = storage.set_item("plain_refresh", "opaque-refresh-1");
    let shared = || vec![("storage", JsValue::from("local")), ("accessTokenKey", "plain_access".into()), ("refreshTokenKey", "plain_refresh".into())];
    let tab_a = client(&server, &shared());
    let tab_b = client(&server, &shared());
    assert_eq!(status_of(tab_b.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200, "tab B refreshed and published the new tokens");
    // Another tab's app code logs out by clearing storage itself (no authfetch involved): tab A hears the
    // `storage` event and must not keep using the tokens B published a moment ago.
    let logout_elsewhere = js_sys::Function::new_with_args(
        "",
        "localStorage.removeItem('plain_access'); localStorage.removeItem('plain_refresh'); \
        window.dispatchEvent(new StorageEvent('storage', { key: 'plain_access' })); return new Promise((r) => setTimeout(r, 20))",
    );
    let _ = settle(Promise::from(logout_elsewhere.call0(&JsValue::NULL).unwrap_or(JsValue::UNDEFINED))).await;
    status_of(tab_a.fetch("/api/data".into(), JsValue::UNDEFINED)).await;
    assert_eq!(seen_auth(&server).last().cloned().flatten(), None, "tab A sent no token after the logout");
}

#[wasm_bindgen_test]
async fn an_expired_token_whose_refresh_fails_gets_one_refresh_attempt_per_call_not_two() {
    let server = fake_server();
    set(&server, "refreshMode", "500");
    let events = recorder();
    let client = client(&server, &[("onDiagnostic", events.clone())]);
    with_tokens(&client, &jwt(-60), Some("opaque-refresh-1"));
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 401);
    assert_eq!(number(&server, "refreshCalls"), 1.0, "refreshed before sending; the 401 does not refresh again");
    let failed = recorded(&events).iter().filter(|e| text(e, "code").as_deref() == Some("refresh_failed")).count();
    assert_eq!(failed, 1);
    let event = recorded(&events).into_iter().find(|e| text(e, "code").as_deref() == Some("refresh_failed")).unwrap_or(JsValue::NULL);
    assert_eq!(text(&get(&event, "request"), "method").as_deref(), Some("POST"), "the refresh event is about the refresh request");
    let evidence: Vec<String> = Array::from(&get(&event, "evidence")).iter().filter_map(|line| line.as_string()).collect();
    assert!(evidence.iter().any(|line| line.starts_with("for: GET ") && line.ends_with("/api/data")), "{evidence:?}");
    assert!(evidence.iter().any(|line| line.starts_with("refresh token stored: 16 chars #")), "{evidence:?}");
}

#[wasm_bindgen_test]
async fn a_401_that_asks_for_another_scheme_is_not_refreshed() {
    let server = fake_server();
    set(
        &server,
        "respond",
        js_sys::Function::new_with_args(
            "req, url",
            "if (url.pathname === '/api/basic') return new Response('', { status: 401, headers: { 'WWW-Authenticate': 'Basic realm=\"legacy\"' } })",
        ),
    );
    let failures = recorder();
    let client = client(&server, &[("onAuthFailure", failures.clone())]);
    with_tokens(&client, "opaque-access-1", Some("opaque-refresh-1"));
    assert_eq!(status_of(client.fetch("/api/basic".into(), init(&[("credentials", "omit".into())]))).await, 401);
    assert_eq!(number(&server, "refreshCalls"), 0.0, "a new Bearer token cannot satisfy a Basic challenge");
    assert!(recorded(&failures).is_empty(), "and it is not a reason to log the user out");
}

#[wasm_bindgen_test]
async fn a_stream_body_is_not_resent_even_when_a_newer_token_is_already_stored() {
    let server = fake_server();
    let swap = js_sys::Function::new_with_args("r", "if (r.auth === 'Bearer old-token-value') localStorage.setItem('stream_access', 'opaque-access-1')");
    set(&server, "onSeen", swap);
    let events = recorder();
    let client = client(&server, &[("storage", "local".into()), ("accessTokenKey", "stream_access".into()), ("onDiagnostic", events.clone())]);
    with_tokens(&client, "old-token-value", None);
    let request_init = init(&[("method", "POST".into()), ("body", stream_body("streamed")), ("duplex", "half".into())]);
    if let Ok(response) = settle(client.fetch("/api/data".into(), request_init)).await {
        assert_eq!(number(&response, "status"), 401.0);
        let codes: Vec<String> = recorded(&events).iter().filter_map(|event| text(event, "code")).collect();
        assert!(codes.contains(&"body_not_replayable".to_string()), "{codes:?}");
    }
    assert!(seen(&server).len() <= 1, "the used-up stream was not sent again");
    client.clear_tokens();
}

// ---- the Rust API ---------------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn the_rust_client_adds_the_header_refreshes_and_retries_like_the_javascript_one() {
    let server = fake_server();
    let fetch: js_sys::Function = get(&server, "fetch").unchecked_into();
    let client = authfetch::Client::builder()
        .storage(authfetch::StorageKind::Memory)
        .log_level(authfetch::Level::Silent)
        .fetch_function(fetch)
        .build()
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(client.set_tokens("stale-access-token", Some("opaque-refresh-1")).is_ok());
    let response = client.fetch("/api/data").await.unwrap_or_else(|error| panic!("{error:?}"));
    assert_eq!(response.status(), 200);
    assert_eq!(seen_auth(&server), vec![Some("Bearer stale-access-token".to_string()), Some("Bearer opaque-access-2".to_string())]);
    assert!(client.set_tokens("two words", None).is_err());
}

#[wasm_bindgen_test]
fn the_rust_builder_reports_bad_options_with_the_same_messages() {
    let error = authfetch::Client::builder().allowed_origins(["https://api.example.com/v1"]).refresh_leeway(-1.0).build().err();
    let message = error.as_ref().and_then(authfetch::Error::message).unwrap_or_default().to_owned();
    assert!(message.starts_with("option `allowedOrigins` must be origins like"), "{message}");
    assert_eq!(error.and_then(|error| error.code()), Some(authfetch::ErrorCode::InvalidOptions));
}

#[wasm_bindgen_test]
async fn a_custom_fetch_that_resolves_to_something_else_than_a_response_gets_a_named_error_not_a_crash() {
    let not_fetch = js_sys::Function::new_with_args("input, init", "return Promise.resolve({ ok: true })");
    let client = client(&JsValue::NULL, &[("fetch", not_fetch.into())]);
    let error = settle(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await.err().unwrap_or(JsValue::NULL);
    let info = error_info(&error);
    assert_eq!(text(&info, "name").as_deref(), Some("AuthFetchError"));
    assert_eq!(text(&info, "code").as_deref(), Some("invalid_argument"));
    assert!(text(&info, "message").is_some_and(|m| m.contains("not a Response")), "{:?}", text(&info, "message"));
    // The module keeps working afterwards.
    let server = fake_server();
    let working = self::client(&server, &[]);
    with_tokens(&working, "opaque-access-1", None);
    assert_eq!(status_of(working.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
}

#[wasm_bindgen_test]
async fn a_base_element_pointing_elsewhere_moves_relative_urls_and_the_token_does_not_follow() {
    let server = fake_server();
    let client = client(&server, &[]);
    with_tokens(&client, "opaque-access-1", Some("opaque-refresh-1"));
    let add_base = js_sys::Function::new_with_args(
        "",
        "const b = document.createElement('base'); b.href = 'https://cdn.example.com/'; b.id = 'test-base'; document.head.appendChild(b);",
    );
    let _ = add_base.call0(&JsValue::NULL);
    let status = status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await;
    let _ = js_sys::Function::new_with_args("", "document.getElementById('test-base').remove();").call0(&JsValue::NULL);
    assert_eq!(status, 200, "the third party answered");
    let request = seen(&server).pop().unwrap_or(JsValue::NULL);
    assert_eq!(text(&request, "origin").as_deref(), Some("https://cdn.example.com"), "fetch resolved '/api/data' against the <base>");
    assert_eq!(text(&request, "auth"), None, "and the token did not go there");
    // With the <base> gone, the same call goes to the page's origin again, with the token.
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    assert_eq!(seen_auth(&server).last().cloned().flatten().as_deref(), Some("Bearer opaque-access-1"));
}

#[wasm_bindgen_test]
async fn a_token_echoed_in_the_url_is_scrubbed_from_every_console_line_even_after_it_was_replaced() {
    let server = fake_server();
    let events = recorder();
    let client = client(&server, &[("logLevel", "debug".into()), ("onDiagnostic", events.clone())]);
    with_tokens(&client, "stale-access-token-in-url", Some("opaque-refresh-1"));
    let capture = capture_console();
    // The app (badly) also puts the token in the query string; the server rejects it, authfetch refreshes.
    let url = "/api/data?access_token=stale-access-token-in-url";
    assert_eq!(status_of(client.fetch(url.into(), JsValue::UNDEFINED)).await, 200);
    let lines = stop_capture(&capture);
    assert!(lines.iter().any(|line| line.contains("access_token=[token 25 chars #")), "{lines:?}");
    assert!(!lines.iter().any(|line| line.contains("stale-access-token-in-url")), "{lines:?}");
    let messages: Vec<String> = recorded(&events).iter().filter_map(|e| js_sys::JSON::stringify(e).ok().and_then(|j| j.as_string())).collect();
    assert!(!messages.iter().any(|m| m.contains("stale-access-token-in-url")), "{messages:?}");
    assert_no_whole_token(&lines, &server);
}

#[wasm_bindgen_test]
async fn the_debug_output_of_a_rust_client_never_shows_a_token() {
    let server = fake_server();
    let fetch: js_sys::Function = get(&server, "fetch").unchecked_into();
    let client = authfetch::Client::builder().storage(authfetch::StorageKind::Memory).fetch_function(fetch).build().unwrap_or_else(|error| panic!("{error}"));
    assert!(client.set_tokens("opaque-access-1", Some("opaque-refresh-1")).is_ok());
    let _ = client.fetch("/api/data").await;
    let shown = format!("{client:?}");
    assert!(shown.contains("Client"), "{shown}");
    assert!(!shown.contains("opaque-access-1") && !shown.contains("opaque-refresh-1"), "{shown}");
}

// ---- the fast lane: calls after the first skip the async pipeline, and must notice every change ---------

#[wasm_bindgen_test]
async fn a_warm_call_sends_a_token_written_straight_to_storage_in_between_and_nothing_once_it_is_removed() {
    let server = fake_server();
    set(&server, "validTokens", js_sys::Set::new(&Array::of2(&"opaque-access-1".into(), &"written-by-the-app".into())));
    let storage = local_storage();
    let _ = storage.set_item("lane_access", "opaque-access-1");
    let client = client(&server, &[("storage", "local".into()), ("accessTokenKey", "lane_access".into()), ("refreshTokenKey", "lane_refresh".into())]);
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    // The app logs in again in this tab: no storage event fires here, only the stored value changes.
    let _ = storage.set_item("lane_access", "written-by-the-app");
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    let _ = storage.remove_item("lane_access");
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 401);
    let expected = ["Bearer opaque-access-1", "Bearer opaque-access-1", "Bearer written-by-the-app"].map(|auth| Some(auth.to_string()));
    assert_eq!(seen_auth(&server), [expected.to_vec(), vec![None]].concat());
}

#[wasm_bindgen_test]
async fn a_warm_call_notices_a_base_element_added_in_between_and_keeps_the_token_from_the_third_party() {
    let server = fake_server();
    let client = client(&server, &[]);
    with_tokens(&client, "opaque-access-1", Some("opaque-refresh-1"));
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    let add_base = js_sys::Function::new_with_args(
        "",
        "const b = document.createElement('base'); b.href = 'https://cdn.example.com/'; b.id = 'lane-base'; document.head.appendChild(b);",
    );
    let _ = add_base.call0(&JsValue::NULL);
    // Twice: the second call finds the same base and the same URL as the first, which must not make the
    // URL look checked.
    let statuses =
        [status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await];
    let _ = js_sys::Function::new_with_args("", "document.getElementById('lane-base').remove();").call0(&JsValue::NULL);
    assert_eq!(statuses, [200, 200], "the third party answered");
    for request in seen(&server).iter().skip(1) {
        assert_eq!(text(request, "origin").as_deref(), Some("https://cdn.example.com"));
        assert_eq!(text(request, "auth"), None, "the token did not follow the <base>");
    }
    assert_eq!(seen(&server).len(), 3);
}

#[wasm_bindgen_test]
async fn a_warm_call_keeps_the_callers_headers_and_never_replaces_an_authorization_header_the_caller_set() {
    let server = fake_server();
    let client = client(&server, &[]);
    with_tokens(&client, "opaque-access-1", Some("opaque-refresh-1"));
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    let with_custom = init(&[("method", "POST".into()), ("body", "hello".into()), ("headers", object(&[("x-custom", "kept".into())]))]);
    assert_eq!(status_of(client.fetch("/api/data".into(), with_custom)).await, 200);
    let headers = web_sys::Headers::new().unwrap_or_else(|_| panic!("Headers"));
    let _ = headers.set("Authorization", "Bearer the-callers-own");
    let own = init(&[("headers", headers.into())]);
    status_of(client.fetch("/api/data".into(), own)).await;
    let requests = seen(&server);
    let second = requests.get(1).cloned().unwrap_or(JsValue::NULL);
    assert_eq!(text(&second, "auth").as_deref(), Some("Bearer opaque-access-1"));
    assert_eq!(text(&second, "custom").as_deref(), Some("kept"));
    assert_eq!(text(&second, "method").as_deref(), Some("POST"));
    assert_eq!(text(&second, "body").as_deref(), Some("hello"));
    let third = requests.get(2).cloned().unwrap_or(JsValue::NULL);
    assert_eq!(text(&third, "auth").as_deref(), Some("Bearer the-callers-own"));
}

#[wasm_bindgen_test]
async fn a_401_to_warm_calls_gets_one_shared_refresh_and_each_call_retries_with_its_body() {
    let server = fake_server();
    let client = client(&server, &[]);
    with_tokens(&client, "opaque-access-1", Some("opaque-refresh-1"));
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    expire_all(&server);
    let calls = Array::new();
    for index in 0..5 {
        let body = init(&[("method", "PUT".into()), ("body", format!("body-{index}").into())]);
        calls.push(&client.fetch("/api/data".into(), body));
    }
    let results = settle(call_all(&calls)).await.unwrap_or(JsValue::UNDEFINED);
    let statuses: Vec<u16> = Array::from(&results).iter().map(|result| number(&get(&result, "value"), "status") as u16).collect();
    assert_eq!(statuses, vec![200; 5]);
    assert_eq!(number(&server, "refreshCalls"), 1.0);
    let retried: Vec<(Option<String>, Option<String>)> = seen(&server).iter().skip(6).map(|request| (text(request, "auth"), text(request, "body"))).collect();
    for index in 0..5 {
        let expected = (Some("Bearer opaque-access-2".to_string()), Some(format!("body-{index}")));
        assert!(retried.contains(&expected), "call {index} was retried with the new token and its body: {retried:?}");
    }
    let counts = get(&client.state(), "counts");
    assert_eq!((number(&counts, "requests"), number(&counts, "unauthorized"), number(&counts, "refreshes")), (6.0, 5.0, 1.0));
}

#[wasm_bindgen_test]
async fn a_warm_call_that_fails_on_the_network_rejects_as_fetch_does_and_the_next_one_works() {
    let server = fake_server();
    let client = client(&server, &[]);
    with_tokens(&client, "opaque-access-1", Some("opaque-refresh-1"));
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    let failing = js_sys::Function::new_with_args("", "return Promise.reject(new TypeError('Failed to fetch'));");
    set(&server, "respond", failing);
    let error = settle(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await.err().unwrap_or(JsValue::NULL);
    assert_eq!(text(&error_info(&error), "name").as_deref(), Some("TypeError"));
    set(&server, "respond", JsValue::UNDEFINED);
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    assert_eq!(get(&client.state(), "hasAccessToken"), JsValue::TRUE);
}

#[wasm_bindgen_test]
async fn configure_between_two_calls_changes_the_header_the_next_call_sends() {
    let server = fake_server();
    let storage = local_storage();
    let _ = storage.set_item("configured_access", "opaque-access-1");
    let first = options(&server, &object(&[("storage", "local".into()), ("accessTokenKey", "configured_access".into()), ("logLevel", "silent".into())]));
    assert!(configure(first).is_ok());
    JsFuture::from(auth_fetch("/api/data".into(), JsValue::UNDEFINED)).await.unwrap_or(JsValue::UNDEFINED);
    let second = options(
        &server,
        &object(&[
            ("storage", "local".into()),
            ("accessTokenKey", "configured_access".into()),
            ("headerName", "X-Custom".into()),
            ("scheme", "".into()),
            ("logLevel", "silent".into()),
        ]),
    );
    assert!(configure(second).is_ok());
    JsFuture::from(auth_fetch("/api/data".into(), JsValue::UNDEFINED)).await.unwrap_or(JsValue::UNDEFINED);
    let _ = storage.remove_item("configured_access");
    assert_eq!(seen_auth(&server), vec![Some("Bearer opaque-access-1".to_string()), None], "the second call carries no Authorization header");
    let custom: Vec<Option<String>> = seen(&server).iter().map(|request| text(request, "custom")).collect();
    assert_eq!(custom, vec![None, Some("opaque-access-1".to_string())], "but the configured header, without a scheme");
}

#[wasm_bindgen_test]
async fn an_init_whose_getter_throws_rejects_that_call_with_the_error_and_the_client_keeps_working() {
    let server = fake_server();
    let client = client(&server, &[]);
    with_tokens(&client, "opaque-access-1", Some("opaque-refresh-1"));
    let throwing = js_sys::Function::new_with_args("", "return { method: 'POST', get body() { throw new RangeError('the caller\\'s getter'); } };");
    for warm in [false, true] {
        if warm {
            assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
        }
        let init = throwing.call0(&JsValue::NULL).unwrap_or(JsValue::UNDEFINED);
        let error = settle(client.fetch("/api/data".into(), init)).await.err().unwrap_or(JsValue::NULL);
        let info = error_info(&error);
        assert_eq!((text(&info, "name").as_deref(), text(&info, "message").as_deref()), (Some("RangeError"), Some("the caller's getter")), "warm: {warm}");
    }
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    assert_eq!(seen_auth(&server), vec![Some("Bearer opaque-access-1".to_string()); 2], "the throwing calls sent nothing");
}

#[wasm_bindgen_test]
async fn a_client_freed_while_its_call_is_in_flight_still_settles_that_call_with_the_servers_answer() {
    let server = fake_server();
    let client = client(&server, &[]);
    with_tokens(&client, "opaque-access-1", Some("opaque-refresh-1"));
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    let slow_401 = js_sys::Function::new_with_args(
        "req, url",
        "if (url.pathname !== '/api/slow') return null; return new Promise((r) => setTimeout(() => r(new Response('', { status: 401 })), 30));",
    );
    set(&server, "respond", slow_401);
    let in_flight = client.fetch("/api/slow".into(), JsValue::UNDEFINED);
    drop(client);
    assert_eq!(status_of(in_flight).await, 401, "resolved with the server's answer, no crash");
    assert_eq!(number(&server, "refreshCalls"), 0.0, "a freed client does not refresh");
    let fresh = self::client(&fake_server(), &[]);
    with_tokens(&fresh, "opaque-access-1", None);
    assert_eq!(status_of(fresh.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200, "other clients keep working");
}

#[wasm_bindgen_test]
async fn a_base_change_first_noticed_by_a_refresh_still_keeps_the_next_warm_call_from_sending_the_token() {
    let server = fake_server();
    set(&server, "refreshMode", "500"); // the refresh fails and both tokens stay
    let client = client(&server, &[]);
    with_tokens(&client, "opaque-access-1", Some("opaque-refresh-1"));
    assert_eq!(status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await, 200);
    let add_base = js_sys::Function::new_with_args(
        "",
        "const b = document.createElement('base'); b.href = 'https://cdn.example.com/'; b.id = 'refresh-base'; document.head.appendChild(b);",
    );
    let _ = add_base.call0(&JsValue::NULL);
    // The refresh resolves its URL against the base first, so it is the one that sees the change.
    let refreshed = settle(client.refresh()).await.unwrap_or(JsValue::UNDEFINED);
    let status = status_of(client.fetch("/api/data".into(), JsValue::UNDEFINED)).await;
    let _ = js_sys::Function::new_with_args("", "document.getElementById('refresh-base').remove();").call0(&JsValue::NULL);
    assert_eq!(refreshed, JsValue::FALSE);
    assert_eq!(status, 200, "the third party answered");
    let request = seen(&server).pop().unwrap_or(JsValue::NULL);
    assert_eq!(text(&request, "origin").as_deref(), Some("https://cdn.example.com"));
    assert_eq!(text(&request, "auth"), None, "the token did not follow the <base>");
}
