//! Refresh coordination: one refresh in flight per client, shared by every call that needs it; one across
//! the tabs that share localStorage (see [`crate::tabs`]); and the refresh exchange itself, within
//! `refreshTimeout`. What to do with its outcome (store, keep, clear) is decided here too, by the rules of
//! [`crate::refresh`].

use std::rc::Rc;

use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::platform::promise_of;

use super::{Client, Trigger};
use crate::diagnose::{Diagnostic, RequestLine, TokenEvidence};
use crate::error::Error;
use crate::jwt::Claims;
use crate::options::Config;
use crate::platform::now_ms;
use crate::redact::scrub;
use crate::refresh::{self, RefreshFailure, TokenSet};
use crate::report::{call_hook, set};
use crate::request::{fetch_function, Base, Outgoing};
use crate::storage::describe_exception;
use crate::tabs::{sleep, sync_name, with_lock, Locked};

impl Client {
    /// Waits for the refresh in flight (starting one if needed) on behalf of a call: `Ok(true)` when new
    /// tokens were stored. If the call's own `AbortSignal` fires meanwhile, this call rejects with the
    /// signal's reason, like `fetch`; the refresh goes on for everyone else.
    pub(super) async fn refresh_for(self: &Rc<Self>, cfg: &Rc<Config>, trigger: Trigger, out: &Outgoing) -> Result<bool, Error> {
        let refresh = self.refresh_promise(cfg, trigger, &out.line);
        let waiting = match &out.signal {
            Some(signal) => Promise::race(&Array::of2(&refresh, &aborted(signal))),
            None => refresh,
        };
        let refreshed = JsFuture::from(waiting).await.map_err(Error::thrown)?;
        Ok(refreshed.as_bool().unwrap_or(false))
    }

    /// The refresh in flight, or a new one. It resolves to `true` when it stored new tokens, and never
    /// rejects.
    pub(super) fn refresh_promise(self: &Rc<Self>, cfg: &Rc<Config>, trigger: Trigger, line: &RequestLine) -> Promise {
        if let Some(promise) = self.refresh_in_flight.borrow().clone() {
            return promise;
        }
        let client = Rc::clone(self);
        let (cfg, line) = (Rc::clone(cfg), line.clone());
        let promise = promise_of(async move {
            let refreshed = client.run_refresh(&cfg, trigger, &line).await;
            client.refresh_in_flight.borrow_mut().take();
            Ok(JsValue::from_bool(refreshed))
        });
        // The future above runs no earlier than the next microtask, so it is recorded before it can
        // finish and clear it.
        *self.refresh_in_flight.borrow_mut() = Some(promise.clone());
        promise
    }

    async fn run_refresh(self: &Rc<Self>, cfg: &Rc<Config>, trigger: Trigger, line: &RequestLine) -> bool {
        let settings = &cfg.settings;
        let Some(refresh_token) = self.refresh_token(cfg) else {
            let mut reason = String::from("no refresh token is stored in ");
            reason.push_str(self.store.label(settings.storage));
            reason.push_str(" under \"");
            reason.push_str(&settings.refresh_token_key);
            reason.push('"');
            self.report_refresh(cfg, line, Diagnostic::refresh_failed(line, &reason));
            return false;
        };
        if !self.shares_across_tabs(cfg) {
            return self.refresh_with(cfg, trigger, line, refresh_token).await;
        }
        // One refresh across tabs: hold the origin-wide lock while refreshing, and look again once it is held.
        let (client, locked_cfg, locked_line, expected) = (Rc::clone(self), Rc::clone(cfg), line.clone(), refresh_token.clone());
        let lock_wait = settings.refresh_timeout.saturating_add(LOCK_GRACE_MS);
        let locked = with_lock(&sync_name(&settings.access_token_key, &settings.refresh_token_key), lock_wait, move |waited| {
            promise_of(async move {
                let refreshed = match client.adopt_if_rotated(&locked_cfg, &locked_line, &expected, waited).await {
                    Some(adopted) => adopted,
                    None => client.refresh_with(&locked_cfg, trigger, &locked_line, expected).await,
                };
                Ok(JsValue::from_bool(refreshed))
            })
        })
        .await;
        match locked {
            Locked::Ran(refreshed) => refreshed.as_bool().unwrap_or(false),
            Locked::Unavailable => self.refresh_with(cfg, trigger, line, refresh_token).await,
            Locked::TimedOut => {
                self.report_refresh(cfg, line, Diagnostic::refresh_failed(line, "another tab held the refresh lock longer than refreshTimeout; this tab did not refresh, to avoid presenting the same refresh token twice"));
                false
            }
            Locked::Failed(error) => {
                self.report_refresh(cfg, line, Diagnostic::refresh_failed(line, &(String::from("the refresh lock failed: ") + &describe_exception(&error))));
                false
            }
        }
    }

    /// With the refresh lock held: if another tab rotated the refresh token meanwhile (`expected` is no
    /// longer stored), adopts its tokens (`Some(true)`), or its logout (`Some(false)`). A tab that waited
    /// for the lock also waits briefly for the other tab's message, since storage can lag behind it.
    async fn adopt_if_rotated(&self, cfg: &Config, line: &RequestLine, expected: &str, waited: bool) -> Option<bool> {
        let patience_ms = if waited {
            ADOPT_PATIENCE_MS
        } else if self.tabs.has_peers() {
            ADOPT_MIN_PATIENCE_MS
        } else {
            0.0 // no other tab has ever answered: nobody to wait for
        };
        let started = now_ms();
        loop {
            let current = self.refresh_token(cfg);
            if current.as_deref() != Some(expected) {
                if current.is_some() && self.access_token(cfg).token().is_some() {
                    self.report_refresh(cfg, line, Diagnostic::refresh_superseded(line, "was not needed"));
                    return Some(true);
                }
                if current.is_none() {
                    return Some(false);
                }
            }
            if now_ms() - started >= patience_ms {
                return None;
            }
            sleep(ADOPT_POLL_MS).await;
        }
    }

    /// Refreshes with `refresh_token` (no lock), and stores or clears tokens by the outcome.
    async fn refresh_with(&self, cfg: &Config, trigger: Trigger, line: &RequestLine, refresh_token: String) -> bool {
        self.counts.bump(|counts| &mut counts.refreshes);
        let sent_evidence = self.access_token(cfg).token().map(|token| TokenEvidence::of(token, Claims::from_token(token).as_ref()));
        self.report_refresh(cfg, line, Diagnostic::refreshing(line, sent_evidence, trigger_phrase(trigger)));
        let outcome = exchange(cfg, &refresh_token, self.base().as_ref()).await;
        if outcome.is_err() {
            self.counts.bump(|counts| &mut counts.refresh_failures);
        }
        // Tokens cleared (logout) or replaced (setTokens, another tab) while the refresh was in flight win
        // over its result: a finished refresh never resurrects a session the app ended.
        let still_current = self.refresh_token(cfg).as_deref() == Some(refresh_token.as_str());
        match outcome {
            Ok(tokens) if still_current => {
                self.store_refreshed(cfg, trigger, line, &tokens, &refresh_token);
                true
            }
            Ok(_) if self.access_token(cfg).token().is_some() => {
                self.report_refresh(cfg, line, Diagnostic::refresh_superseded(line, "result was discarded"));
                true
            }
            Ok(_) => {
                self.report_refresh(
                    cfg,
                    line,
                    Diagnostic::refresh_failed(line, "the tokens were cleared while the refresh was in flight (logout), so its result was discarded"),
                );
                false
            }
            Err(failure @ RefreshFailure::Rejected { .. }) => {
                let description = scrub(&failure.describe(), &[refresh_token.as_str()]);
                if still_current {
                    self.clear_tokens();
                    self.report_refresh(cfg, line, Diagnostic::refresh_rejected(line, &description));
                    self.auth_failure(cfg, "refresh_rejected", &description, refresh_status(&failure));
                    false
                } else {
                    // Another tab or the app stored newer tokens meanwhile: use them instead of logging out.
                    let newer = self.access_token(cfg).token().is_some();
                    if newer {
                        self.report_refresh(cfg, line, Diagnostic::refresh_superseded(line, "was rejected"));
                    }
                    newer
                }
            }
            Err(failure) => {
                let reason = scrub(&failure.describe(), &[refresh_token.as_str()]);
                self.report_refresh(cfg, line, Diagnostic::refresh_failed(line, &reason));
                false
            }
        }
    }

    fn store_refreshed(&self, cfg: &Config, trigger: Trigger, line: &RequestLine, tokens: &TokenSet, replaced: &str) {
        let settings = &cfg.settings;
        self.store.write(settings.storage, &settings.access_token_key, &tokens.access_token);
        if let Some(rotated) = &tokens.refresh_token {
            self.store.write(settings.storage, &settings.refresh_token_key, rotated);
        }
        self.publish_tokens(cfg, Some(replaced));
        self.flush_store_warning(cfg);
        let claims = Claims::from_token(&tokens.access_token);
        let evidence = TokenEvidence::of(&tokens.access_token, claims.as_ref());
        let expires_at_ms = evidence.expires_at.map(|exp| exp * 1000.0).or_else(|| tokens.expires_in.map(|seconds| now_ms() + seconds * 1000.0));
        self.report_refresh(cfg, line, Diagnostic::refreshed(line, evidence.clone(), tokens.refresh_token.is_some()));
        if cfg.on_refresh.is_some() {
            let info = Object::new();
            set(&info, "trigger", &JsValue::from_str(trigger.name()));
            set(&info, "rotated", &JsValue::from_bool(tokens.refresh_token.is_some()));
            set(&info, "fingerprint", &JsValue::from_str(&evidence.fingerprint));
            if let Some(at) = expires_at_ms {
                set(&info, "expiresAt", &JsValue::from_f64(at));
            }
            call_hook(cfg.on_refresh.as_ref(), "onRefresh", &info);
        }
    }
}

/// Awaits `promise` for at most `milliseconds`; on expiry aborts the request (through `controller`) and
/// rejects with a `TimeoutError`.
async fn within(milliseconds: u32, promise: &Promise, controller: &Rc<Option<web_sys::AbortController>>) -> Result<JsValue, JsValue> {
    let controller = Rc::clone(controller);
    let (deadline, timer) = crate::platform::timeout(milliseconds, move || {
        if let Some(controller) = controller.as_ref() {
            controller.abort();
        }
    });
    let outcome = JsFuture::from(Promise::race(&Array::of2(promise, &deadline))).await;
    timer.cancel();
    outcome
}

/// How long past `refreshTimeout` a tab waits for another tab's refresh lock.
const LOCK_GRACE_MS: u32 = 2_000;
/// How long a tab that waited for the lock waits for the other tab's tokens to show.
const ADOPT_PATIENCE_MS: f64 = 300.0;
/// How long a tab with live peers looks for tokens they published before refreshing itself.
const ADOPT_MIN_PATIENCE_MS: f64 = 30.0;
/// Poll interval while waiting for them.
const ADOPT_POLL_MS: u32 = 15;

/// A promise that rejects with `signal`'s reason once it aborts (at once if it already has).
fn aborted(signal: &web_sys::AbortSignal) -> Promise {
    let reason = || Reflect::get(signal, &crate::platform::key("reason")).unwrap_or(JsValue::UNDEFINED);
    if signal.aborted() {
        return Promise::reject(&reason());
    }
    let target = signal.clone();
    Promise::new(&mut |_resolve, reject| {
        let watched = target.clone();
        let listener = Closure::once_into_js(move || {
            let reason = Reflect::get(&watched, &crate::platform::key("reason")).unwrap_or(JsValue::UNDEFINED);
            let _ = reject.call1(&JsValue::UNDEFINED, &reason);
        });
        let _ = target.add_event_listener_with_callback("abort", listener.unchecked_ref());
    })
}

fn trigger_phrase(trigger: Trigger) -> &'static str {
    match trigger {
        Trigger::Expiring => "the access token expired, or expires within refreshLeeway",
        Trigger::Unauthorized => "the server answered 401",
        Trigger::Manual => "refresh() was called",
        Trigger::Missing => "no access token is stored, but a refresh token is",
    }
}

fn refresh_status(failure: &RefreshFailure) -> Option<u16> {
    match failure {
        RefreshFailure::Rejected { status, .. } => Some(*status),
        RefreshFailure::Transient { .. } => None,
    }
}

/// Sends the refresh request and reads the reply, within `refreshTimeout`.
async fn exchange(cfg: &Config, refresh_token: &str, base: Option<&Base>) -> Result<TokenSet, RefreshFailure> {
    let settings = &cfg.settings;
    let url = match base {
        Some(base) => web_sys::Url::new_with_base(&settings.refresh_url, &base.href),
        None => web_sys::Url::new(&settings.refresh_url),
    };
    let url = url.map_err(|_| {
        RefreshFailure::transient(
            String::from("refreshUrl \"") + &settings.refresh_url + "\" cannot be resolved to an absolute URL here; configure an absolute URL",
        )
    })?;
    let (content_type, body) = refresh::refresh_request_body(settings.refresh_format, refresh_token, settings.client_id.as_deref());
    let headers = Object::new();
    set(&headers, "content-type", &JsValue::from_str(content_type));
    set(&headers, "accept", &JsValue::from_str("application/json"));
    let init = Object::new();
    set(&init, "method", &JsValue::from_str("POST"));
    set(&init, "headers", &headers);
    set(&init, "body", &JsValue::from_str(&body));
    set(&init, "credentials", &JsValue::from_str(settings.refresh_credentials));
    set(&init, "cache", &JsValue::from_str("no-store"));
    let controller = web_sys::AbortController::new().ok();
    if let Some(controller) = &controller {
        set(&init, "signal", &controller.signal());
    }
    let fetch = fetch_function(cfg).map_err(|error| RefreshFailure::transient(error.message().unwrap_or("no fetch function").to_owned()))?;
    let href = JsValue::from_str(&url.href());
    let request = fetch.call2(&js_sys::global(), &href, &init).map(|promise| Promise::resolve(&promise));
    let request = match request {
        Ok(request) => request,
        Err(error) => return Err(RefreshFailure::transient(String::from("the refresh request could not be sent (") + &describe_exception(&error) + ")")),
    };
    // Two deadlines of refreshTimeout each: one for the response to start, one for its body. Once the
    // server has answered, its reply is not abandoned at the first deadline: with rotating refresh tokens
    // the server has already used up the old one, and dropping the new one would end the session.
    let controller = Rc::new(controller);
    let outcome = within(settings.refresh_timeout, &request, &controller).await;
    let outcome = match outcome {
        Ok(response) => {
            let response = match crate::request::as_response(response) {
                Ok(response) => response,
                Err(error) => return Err(RefreshFailure::transient(error.message().unwrap_or("not a Response").to_owned())),
            };
            let status = response.status();
            match response.text() {
                Ok(text) => within(settings.refresh_timeout, &text, &controller).await.map(|text| (status, text)),
                Err(error) => Err(error),
            }
        }
        Err(error) => Err(error),
    };
    match outcome {
        Ok((status, text)) => refresh::read_refresh_reply(settings.refresh_format, status, &text.as_string().unwrap_or_default()),
        Err(error) => {
            let described = describe_exception(&error);
            if described.starts_with("TimeoutError") || described.starts_with("AbortError") {
                let mut reason = String::from("the refresh request timed out after ");
                crate::redact::push_decimal(&mut reason, u64::from(settings.refresh_timeout));
                reason.push_str(" ms (refreshTimeout)");
                Err(RefreshFailure::transient(reason))
            } else {
                Err(RefreshFailure::transient(
                    String::from("the refresh request failed without a response (") + &described + "): a network error, or CORS on the refresh endpoint",
                ))
            }
        }
    }
}
