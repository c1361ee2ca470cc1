//! The client: the request pipeline (token → header → send → 401 → shared refresh → retry) and refresh
//! coordination. Decisions are delegated to the pure modules ([`crate::refresh`], [`crate::origin`],
//! [`crate::jwt`], [`crate::diagnose`]); this module only moves data between them and the browser.

mod coordinate;
mod fast;

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;

use crate::classify::{classify_network_error, classify_response, refresh_can_help, NotSent, ResponseFacts, SentToken};
use crate::config::StorageKind;
use crate::diagnose::{Diagnostic, Level, RequestLine, TokenEvidence};
use crate::error::Error;
use crate::jwt::Claims;
use crate::options::Config;
use crate::platform::{location, now_ms};
use crate::redact::{fingerprint, scrub};
use crate::refresh::{self, AfterUnauthorized, BeforeSend, GiveUpReason};
use crate::report::{call_hook, console_group, emit, enabled, set};
use crate::request::Outgoing;
use crate::storage::{describe_exception, TokenStore};
use crate::tabs::Tabs;
use crate::token::{is_header_safe, StoredValue};

/// What started a refresh; passed to `onRefresh` as `trigger`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The access token (a JWT) expires within `refreshLeeway`: refreshed before sending.
    Expiring,
    /// A request got a 401.
    Unauthorized,
    /// The app called `refresh()`.
    Manual,
    /// No access token was stored, but a refresh token was.
    Missing,
}

impl Trigger {
    fn name(self) -> &'static str {
        match self {
            Trigger::Expiring => "expiring",
            Trigger::Unauthorized => "unauthorized",
            Trigger::Manual => "manual",
            Trigger::Missing => "missing",
        }
    }
}

/// An authfetch client: its configuration, its token store and its refresh in flight.
#[derive(Default)]
pub struct Client {
    config: RefCell<Rc<Config>>,
    store: TokenStore,
    /// The refresh in flight, shared by every request that needs it (resolves to `true` on success).
    refresh_in_flight: RefCell<Option<Promise>>,
    /// Counters for `state()`.
    counts: Counter,
    /// The last event at info level or above, for `state()`.
    last_diagnostic: RefCell<Option<Diagnostic>>,
    /// The link to other tabs sharing localStorage.
    tabs: Tabs,
    /// The origin of the page or worker (it never changes for a document).
    page_origin: Option<String>,
    /// Tokens read recently (at most [`RECENT_SECRETS`]), scrubbed from anything printed.
    recent_secrets: RefCell<Vec<String>>,
    /// The last access token whose claims were read, and its claims (a JWT is decoded once, not per call).
    claims_cache: RefCell<Option<(String, Option<Claims>)>>,
    /// What lets the next call skip the async pipeline (see [`fast`]).
    lane: fast::FastLane,
}

impl std::fmt::Debug for Client {
    /// Shows the configuration, the store (keys only) and the counters; never a token (the recent tokens
    /// and the claims cache are left out).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config.borrow())
            .field("store", &self.store)
            .field("refresh_in_flight", &self.refresh_in_flight.borrow().is_some())
            .field("counts", &self.counts.0.get())
            .field("tabs", &self.tabs)
            .field("page_origin", &self.page_origin)
            .finish_non_exhaustive()
    }
}

/// The clients to re-check when the page becomes visible again, and whether the listener is installed.
#[derive(Default)]
struct VisibilityWatch {
    clients: Vec<std::rc::Weak<Client>>,
    listening: bool,
}

thread_local! {
    static VISIBILITY_WATCH: RefCell<VisibilityWatch> = RefCell::new(VisibilityWatch::default());
}

/// How many recently read tokens are remembered for scrubbing.
const RECENT_SECRETS: usize = 6;

/// What the token decision came to for one attempt.
enum Credential {
    /// Send this token (with its claims when it is a JWT).
    Token(String, Option<Claims>),
    /// No access token is stored but a refresh token is: refresh, then decide again.
    RefreshForMissing,
    /// Send nothing, for this reason (already reported where it deserved a warning).
    Nothing(NotSentReason),
}

/// Why an attempt carries no token; becomes a [`NotSent`] for the classifier.
enum NotSentReason {
    /// Nothing stored, or this placeholder text.
    NoToken(Option<&'static str>),
    /// A token is stored but the origin is not allowed.
    OriginNotAllowed,
    /// The stored token cannot go in a header.
    Unsendable,
    /// The call opted out, or the URL could not be checked.
    Skipped(&'static str),
}

/// Counters for `state()`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    /// Calls made through the client.
    pub requests: u32,
    /// 401 responses seen (first attempts and retries).
    pub unauthorized: u32,
    /// Refreshes run (shared ones count once).
    pub refreshes: u32,
    /// Refreshes that failed or were rejected.
    pub refresh_failures: u32,
}

/// [`Counts`] behind a `Cell`.
#[derive(Debug, Default)]
struct Counter(std::cell::Cell<Counts>);

impl Counter {
    fn bump(&self, field: impl FnOnce(&mut Counts) -> &mut u32) {
        let mut counts = self.0.get();
        let slot = field(&mut counts);
        *slot = slot.saturating_add(1);
        self.0.set(counts);
    }
}

impl Client {
    /// A client with `config`.
    pub fn new(config: Config) -> Rc<Client> {
        let page_origin = location().map(|(_, origin)| origin).filter(|origin| origin != "null");
        let client = Rc::new(Client { config: RefCell::new(Rc::new(config)), page_origin, ..Client::default() });
        client.watch_visibility();
        client
    }

    /// After a laptop sleeps, timers fire late or not at all (auth0-spa-js #343); authfetch relies on none.
    /// Every request checks expiry before it is sent, and when the page becomes visible again the stored
    /// JWT is checked at once: if it expired (or expires within the leeway) it is refreshed in the
    /// background, so the first request after waking does not wait or waste a 401.
    fn watch_visibility(self: &Rc<Self>) {
        VISIBILITY_WATCH.with(|watch| {
            let mut watch = watch.borrow_mut();
            watch.clients.retain(|client| client.strong_count() > 0);
            watch.clients.push(Rc::downgrade(self));
            if watch.listening {
                return;
            }
            let document = crate::platform::global_property("document");
            if !document.is_object() {
                return;
            }
            let watched = document.clone();
            // One listener for the page, whatever the number of clients; it holds them weakly.
            let listener = Closure::<dyn FnMut()>::new(move || {
                let visible = Reflect::get(&watched, &crate::platform::key("visibilityState")).ok().and_then(|state| state.as_string());
                if visible.as_deref() != Some("visible") {
                    return;
                }
                let clients: Vec<Rc<Client>> = VISIBILITY_WATCH.with(|watch| watch.borrow().clients.iter().filter_map(std::rc::Weak::upgrade).collect());
                for client in clients {
                    client.refresh_if_expiring();
                }
            });
            let target: &web_sys::EventTarget = document.unchecked_ref();
            let _ = target.add_event_listener_with_callback("visibilitychange", listener.as_ref().unchecked_ref());
            listener.forget();
            watch.listening = true;
        });
    }

    /// Starts a shared background refresh when the stored JWT expires within the leeway.
    fn refresh_if_expiring(self: &Rc<Self>) {
        let cfg = self.config();
        let claims = self.access_token(&cfg).token().and_then(Claims::from_token);
        let has_refresh = self.refresh_token(&cfg).is_some();
        if refresh::before_send(claims.as_ref(), now_ms() / 1000.0, cfg.settings.refresh_leeway, has_refresh) == BeforeSend::RefreshFirst {
            let line = RequestLine { method: "POST".into(), url: cfg.settings.refresh_url.clone() };
            let _ = self.refresh_promise(&cfg, Trigger::Expiring, &line);
        }
    }

    /// Replaces the configuration; tokens kept in memory stay.
    pub fn configure(&self, config: Config) {
        *self.config.borrow_mut() = Rc::new(config);
    }

    /// The current configuration.
    pub fn config(&self) -> Rc<Config> {
        self.config.borrow().clone()
    }

    fn stored(&self, cfg: &Config, key: &str) -> StoredValue {
        let settings = &cfg.settings;
        if self.shares_across_tabs(cfg) {
            self.tabs.connect(&settings.access_token_key, &settings.refresh_token_key);
            if let Some(overlay) = self.tabs.overlay() {
                if self.store.read(settings.storage, &settings.refresh_token_key) == overlay.replaced {
                    let published = if key == settings.access_token_key { overlay.access } else { overlay.refresh };
                    return self.remembered(StoredValue::from_raw(published.as_deref()));
                }
                // Storage has moved on (caught up, or written by someone else): it is the truth again.
                self.tabs.forget();
            }
        }
        self.remembered(StoredValue::from_raw(self.store.read(settings.storage, key).as_deref()))
    }

    /// Notes a token read, so that anything printed later is scrubbed of it even after it was replaced.
    fn remembered(&self, value: StoredValue) -> StoredValue {
        if let Some(token) = value.token() {
            let mut recent = self.recent_secrets.borrow_mut();
            if !recent.iter().any(|known| known == token) {
                if recent.len() >= RECENT_SECRETS {
                    recent.remove(0);
                }
                recent.push(token.to_owned());
            }
        }
        value
    }

    /// Whether tokens live in localStorage, shared with the origin's other tabs.
    fn shares_across_tabs(&self, cfg: &Config) -> bool {
        cfg.settings.storage == StorageKind::Local && self.store.label(StorageKind::Local) == StorageKind::Local.label()
    }

    /// Tells other tabs the tokens now stored (after this tab wrote or cleared them), replacing the
    /// refresh token `replaced`.
    fn publish_tokens(&self, cfg: &Config, replaced: Option<&str>) {
        if !self.shares_across_tabs(cfg) {
            return;
        }
        self.tabs.forget();
        let access = self.access_token(cfg).token().map(str::to_owned);
        let refresh = self.refresh_token(cfg);
        self.tabs.publish(access.as_deref(), refresh.as_deref(), replaced);
    }

    fn access_token(&self, cfg: &Config) -> StoredValue {
        self.stored(cfg, &cfg.settings.access_token_key)
    }

    fn refresh_token(&self, cfg: &Config) -> Option<String> {
        self.stored(cfg, &cfg.settings.refresh_token_key).token().map(str::to_owned)
    }

    /// Stores tokens: `access`, and `refresh` when given (`Some(None)` removes the refresh token).
    pub fn set_tokens(&self, access: &str, refresh: Option<Option<&str>>) {
        let cfg = self.config();
        let settings = &cfg.settings;
        let replaced = self.refresh_token(&cfg);
        self.store.write(settings.storage, &settings.access_token_key, access);
        match refresh {
            Some(Some(token)) => self.store.write(settings.storage, &settings.refresh_token_key, token),
            Some(None) => self.store.remove(settings.storage, &settings.refresh_token_key),
            None => {}
        }
        self.publish_tokens(&cfg, replaced.as_deref());
        self.flush_store_warning(&cfg);
    }

    /// Removes both tokens.
    pub fn clear_tokens(&self) {
        let cfg = self.config();
        let replaced = self.refresh_token(&cfg);
        self.store.remove(cfg.settings.storage, &cfg.settings.access_token_key);
        self.store.remove(cfg.settings.storage, &cfg.settings.refresh_token_key);
        self.publish_tokens(&cfg, replaced.as_deref());
        self.flush_store_warning(&cfg);
    }

    fn flush_store_warning(&self, cfg: &Config) {
        if let Some(warning) = self.store.take_warning() {
            if enabled(cfg.settings.log_level, Level::Warn) {
                crate::report::console_print(Level::Warn, &warning);
            }
        }
    }

    /// A snapshot for `state()`: storage, token presence and claims (never the token), the refresh in
    /// flight, counters and the last diagnostic.
    pub fn state(&self) -> JsValue {
        let cfg = self.config();
        let access = self.access_token(&cfg);
        let claims = access.token().and_then(Claims::from_token);
        let state = Object::new();
        let null = JsValue::NULL;
        set(&state, "storage", &JsValue::from_str(self.store.label(cfg.settings.storage)));
        set(&state, "hasAccessToken", &JsValue::from_bool(access.token().is_some()));
        set(&state, "hasRefreshToken", &JsValue::from_bool(self.refresh_token(&cfg).is_some()));
        set(&state, "isJwt", &JsValue::from_bool(claims.is_some()));
        let exp = claims.as_ref().and_then(|claims| claims.exp);
        set(&state, "expiresAt", &exp.map_or(null.clone(), |exp| JsValue::from_f64(exp * 1000.0)));
        set(&state, "expiresIn", &exp.map_or(null.clone(), |exp| JsValue::from_f64((exp - now_ms() / 1000.0).round())));
        let claims_js = match &claims {
            Some(claims) => {
                let object = Object::new();
                let text = |key: &'static str, value: &Option<String>| {
                    if let Some(value) = value {
                        set(&object, key, &JsValue::from_str(value));
                    }
                };
                text("iss", &claims.iss);
                text("aud", &claims.aud);
                text("sub", &claims.sub);
                text("scope", &claims.scope);
                for (key, value) in [("exp", claims.exp), ("iat", claims.iat), ("nbf", claims.nbf)] {
                    if let Some(value) = value {
                        set(&object, key, &JsValue::from_f64(value));
                    }
                }
                object.into()
            }
            None => null.clone(),
        };
        set(&state, "claims", &claims_js);
        set(&state, "refreshInFlight", &JsValue::from_bool(self.refresh_in_flight.borrow().is_some()));
        let counts = self.counts.0.get();
        let counts_js = Object::new();
        for (key, value) in [
            ("requests", counts.requests),
            ("unauthorized", counts.unauthorized),
            ("refreshes", counts.refreshes),
            ("refreshFailures", counts.refresh_failures),
        ] {
            set(&counts_js, key, &JsValue::from(value));
        }
        set(&state, "counts", &counts_js);
        let last = self.last_diagnostic.borrow().as_ref().map_or(null, crate::report::diagnostic_to_js);
        set(&state, "lastDiagnostic", &last);
        self.flush_store_warning(&cfg);
        state.into()
    }

    /// Refreshes now (sharing a refresh already in flight). `true` when new tokens were stored.
    pub async fn refresh(self: Rc<Self>) -> bool {
        let cfg = self.config();
        let line = RequestLine { method: "POST".into(), url: cfg.settings.refresh_url.clone() };
        let promise = self.refresh_promise(&cfg, Trigger::Manual, &line);
        JsFuture::from(promise).await.ok().and_then(|value| value.as_bool()).unwrap_or(false)
    }

    /// [`Client::fetch`] as a `Promise`. A call whose stored token, configuration and base URL are those
    /// the last call checked, and whose URL is allowed, takes a fast lane: it is sent without the async
    /// pipeline and joins it only if its answer is a 400, 401 or 403 or it fails. Other calls take the
    /// full pipeline. Both behave the same.
    pub fn start(self: &Rc<Self>, input: JsValue, init: JsValue) -> Promise {
        if let Some(sending) = self.try_fast(&input, &init) {
            return sending.unchecked_into();
        }
        let client = Rc::clone(self);
        crate::platform::promise_of(async move { client.fetch(input, init).await.map(JsValue::from).map_err(Error::into_js) })
    }

    /// `fetch(input, init)` with the token added, refreshed and retried as the crate docs describe.
    /// Resolves to the `Response`; rejects like `fetch` on network errors and aborts, and with an
    /// [`Error`] for unusable arguments.
    pub async fn fetch(self: Rc<Self>, input: JsValue, init: JsValue) -> Result<Response, Error> {
        let cfg = self.config();
        let started = now_ms();
        let base = self.base();
        let mut out = Outgoing::prepare(&cfg, &input, &init, base.as_ref(), self.page_origin.as_deref())?;
        let mut trace = enabled(cfg.settings.log_level, Level::Debug).then(Vec::new);
        let result = self.run(&cfg, &mut out, trace.as_mut()).await;
        if let Some(mut lines) = trace {
            let mut title = String::from("[authfetch] ");
            title.push_str(&out.line.method);
            title.push(' ');
            title.push_str(&out.line.url);
            title.push_str(" → ");
            match &result {
                Ok(response) => crate::redact::push_decimal(&mut title, u64::from(response.status())),
                Err(_) => title.push_str("failed"),
            }
            title.push_str(" (");
            crate::redact::push_decimal(&mut title, (now_ms() - started).max(0.0) as u64);
            title.push_str(" ms)");
            if let Err(error) = &result {
                lines.push(String::from("error: ") + &error.message().map_or_else(|| "rejected as fetch would (network error or abort)".into(), str::to_owned));
            }
            let secrets = self.secrets(&cfg);
            let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
            let lines: Vec<String> = lines.iter().map(|line| scrub(line, &secrets)).collect();
            console_group(&scrub(&title, &secrets), &lines);
        }
        self.flush_store_warning(&cfg);
        result
    }

    async fn run(self: &Rc<Self>, cfg: &Rc<Config>, out: &mut Outgoing, mut trace: Option<&mut Vec<String>>) -> Result<Response, Error> {
        self.counts.bump(|counts| &mut counts.requests);
        if let Some(why) = out.skip {
            note(&mut trace, String::from("header: not added: ") + why);
            let response = self.send_observed(cfg, out, None, &mut trace, "status").await?;
            self.diagnose(cfg, out, &response, None, Some(NotSentReason::Skipped(why)), false, "returned as is");
            return Ok(response);
        }

        let mut credential = self.credential(cfg, out, &mut trace, true);
        // At most one refresh per call: the one before sending, or the one after a 401.
        let mut refreshed_before: Option<bool> = None;
        if let Credential::RefreshForMissing = credential {
            note(&mut trace, "refresh: no access token is stored but a refresh token is; refreshing before sending".into());
            refreshed_before = Some(self.refresh_for(cfg, Trigger::Missing, out).await?);
            credential = self.credential(cfg, out, &mut trace, false);
        } else if let Credential::Token(_, claims) = &credential {
            let has_refresh = self.refresh_token(cfg).is_some();
            if refresh::before_send(claims.as_ref(), now_ms() / 1000.0, cfg.settings.refresh_leeway, has_refresh) == BeforeSend::RefreshFirst {
                note(&mut trace, "refresh: the token expired or expires within refreshLeeway; refreshing before sending".into());
                let refreshed = self.refresh_for(cfg, Trigger::Expiring, out).await?;
                note(&mut trace, String::from("refresh: ") + if refreshed { "succeeded" } else { "failed; sending the current token" });
                refreshed_before = Some(refreshed);
                credential = self.credential(cfg, out, &mut None, false);
            }
        }
        let (sent, not_sent) = match credential {
            Credential::Token(token, _) => (Some(token), None),
            Credential::Nothing(reason) => (None, Some(reason)),
            Credential::RefreshForMissing => (None, Some(NotSentReason::NoToken(None))),
        };
        let first = self.send_observed(cfg, out, sent.as_deref(), &mut trace, "status").await;
        self.after_send(cfg, out, sent, not_sent, refreshed_before, first, trace).await
    }

    /// The rest of a call once its first attempt settled: explains a 400/401/403, and after a 401 refreshes
    /// (or adopts a newer stored token) and retries once. `sent` is the token the attempt carried,
    /// `not_sent` why it carried none, `refreshed_before` whether (and how) this call already refreshed.
    #[allow(clippy::too_many_arguments)]
    async fn after_send(
        self: &Rc<Self>,
        cfg: &Rc<Config>,
        out: &mut Outgoing,
        sent: Option<String>,
        not_sent: Option<NotSentReason>,
        refreshed_before: Option<bool>,
        first: Result<Response, Error>,
        mut trace: Option<&mut Vec<String>>,
    ) -> Result<Response, Error> {
        let sent_token = sent.as_deref();
        let response = match first {
            Ok(response) => response,
            Err(error) => {
                self.report_not_sent(cfg, out, not_sent.as_ref(), None);
                return Err(error);
            }
        };
        // A first attempt that carried a token just obtained counts as the retry after a refresh.
        let fresh_token_rejected = refreshed_before == Some(true);
        if response.status() != 401 {
            self.report_not_sent(cfg, out, not_sent.as_ref(), Some(response.status()));
            self.diagnose(cfg, out, &response, sent_token, None, false, "");
            return Ok(response);
        }

        let challenge = read_challenge(&response);
        let outcome = refresh::after_unauthorized(
            sent_token,
            self.access_token(cfg).token(),
            self.refresh_token(cfg).is_some(),
            refreshed_before.is_some(),
            refresh_can_help(challenge.as_deref(), &cfg.settings.scheme),
        );
        let (next_step, decision) = match outcome {
            AfterUnauthorized::RefreshThenRetry | AfterUnauthorized::RetryWithStoredToken if !out.replayable => ("not retried: the body is a stream", None),
            AfterUnauthorized::RefreshThenRetry => ("refreshing and retrying once", Some(outcome)),
            AfterUnauthorized::RetryWithStoredToken => ("retrying once with the newer stored token", Some(outcome)),
            AfterUnauthorized::GiveUp(GiveUpReason::NoRefreshToken) => ("no refresh token is stored, so it is returned as is", None),
            AfterUnauthorized::GiveUp(GiveUpReason::RefreshCannotHelp) => ("a new token cannot fix this, so it is returned as is", None),
            AfterUnauthorized::GiveUp(GiveUpReason::AlreadyRefreshed) if fresh_token_rejected => ("returned to the caller", None),
            AfterUnauthorized::GiveUp(GiveUpReason::AlreadyRefreshed) => ("this call already tried to refresh, so it is returned as is", None),
            AfterUnauthorized::GiveUp(GiveUpReason::NoTokenSent) => ("returned as is", None),
        };
        self.diagnose(cfg, out, &response, sent_token, not_sent, fresh_token_rejected, next_step);
        let Some(decision) = decision else {
            match outcome {
                AfterUnauthorized::GiveUp(GiveUpReason::NoRefreshToken) => {
                    self.auth_failure(cfg, "no_refresh_token", "a 401 with no refresh token stored: the user must log in again", Some(401));
                }
                AfterUnauthorized::GiveUp(GiveUpReason::AlreadyRefreshed) if fresh_token_rejected => {
                    self.auth_failure(
                        cfg,
                        "still_unauthorized",
                        "401 to a freshly refreshed token: the server rejects the tokens its refresh endpoint issues",
                        Some(401),
                    );
                }
                AfterUnauthorized::RefreshThenRetry | AfterUnauthorized::RetryWithStoredToken => self.report(cfg, &Diagnostic::body_not_replayable(&out.line)),
                _ => {}
            }
            return Ok(response);
        };
        if decision == AfterUnauthorized::RefreshThenRetry {
            note(&mut trace, "refresh: after the 401".into());
            if !self.refresh_for(cfg, Trigger::Unauthorized, out).await? {
                note(&mut trace, "refresh: failed; returning the 401".into());
                return Ok(response);
            }
        }
        let retry_token = match self.access_token(cfg) {
            StoredValue::Token(token, _) if is_header_safe(&token) && Some(token.as_str()) != sent_token => token,
            _ => {
                note(&mut trace, "retry: skipped: no newer token is stored".into());
                return Ok(response);
            }
        };
        note(&mut trace, String::from("retry: with token ") + &fingerprint(&retry_token));
        let retried = self.send_observed(cfg, out, Some(&retry_token), &mut trace, "retry status").await?;
        self.diagnose(cfg, out, &retried, Some(&retry_token), None, true, "returned to the caller");
        if retried.status() == 401 {
            self.auth_failure(cfg, "still_unauthorized", "still 401 after a refresh: the server rejects freshly issued tokens", Some(401));
        }
        Ok(retried)
    }

    /// Reports a request that went out without a token because none is stored, when its response is not a
    /// 401 (a 401 is explained by the classifier instead, so each request gets one warning, not two).
    fn report_not_sent(&self, cfg: &Config, out: &Outgoing, not_sent: Option<&NotSentReason>, status: Option<u16>) {
        let Some(NotSentReason::NoToken(placeholder)) = not_sent else { return };
        if status == Some(401) {
            return;
        }
        let settings = &cfg.settings;
        let mut diagnostic = Diagnostic::no_token(&out.line, self.store.label(settings.storage), &settings.access_token_key, *placeholder);
        diagnostic.status = status;
        diagnostic.evidence.push(match status {
            Some(status) => status_line("status", status),
            None => String::from("status: none (the request failed)"),
        });
        self.report(cfg, &diagnostic);
    }

    /// Sends one attempt and notes how it settled ([`Client::observe`]).
    async fn send_observed(
        &self,
        cfg: &Config,
        out: &Outgoing,
        token: Option<&str>,
        trace: &mut Option<&mut Vec<String>>,
        label: &str,
    ) -> Result<Response, Error> {
        let result = out.send(cfg, token).await;
        self.observe(cfg, out, token.is_some(), trace, label, result)
    }

    /// Notes how an attempt settled: its status in the trace, a 401 in the counters, and a network error
    /// that carried the token to another origin explained as the CORS failure it almost always is.
    fn observe(
        &self,
        cfg: &Config,
        out: &Outgoing,
        carried_token: bool,
        trace: &mut Option<&mut Vec<String>>,
        label: &str,
        result: Result<Response, Error>,
    ) -> Result<Response, Error> {
        match result {
            Ok(response) => {
                note(trace, status_line(label, response.status()));
                if response.status() == 401 {
                    self.counts.bump(|counts| &mut counts.unauthorized);
                }
                Ok(response)
            }
            Err(error) => {
                if let Some(thrown) = error.thrown_value() {
                    let described = describe_exception(thrown);
                    if let Some(diagnostic) = classify_network_error(&out.line, carried_token, out.cross_origin, &described) {
                        self.report(cfg, &diagnostic);
                    }
                }
                Err(error)
            }
        }
    }

    /// Explains a 400/401/403 (when there is something to explain) through the classifier.
    #[allow(clippy::too_many_arguments)]
    fn diagnose(
        &self,
        cfg: &Config,
        out: &Outgoing,
        response: &Response,
        sent: Option<&str>,
        not_sent: Option<NotSentReason>,
        after_refresh: bool,
        next_step: &str,
    ) {
        let status = response.status();
        if !matches!(status, 400 | 401 | 403) {
            return;
        }
        // Evidence about the token is built only here, off the hot path of successful calls.
        let sent = sent.map(|token| SentToken { fingerprint: fingerprint(token), claims: self.claims_of(token) });
        let settings = &cfg.settings;
        let challenge = read_challenge(response);
        let not_sent = not_sent.map(|reason| match reason {
            NotSentReason::NoToken(placeholder) => {
                NotSent::NoToken { storage: self.store.label(settings.storage), key: &settings.access_token_key, placeholder }
            }
            NotSentReason::OriginNotAllowed => {
                NotSent::OriginNotAllowed { origin: out.origin.as_deref().unwrap_or("(unknown)"), allowed: cfg.policy.allowed() }
            }
            NotSentReason::Unsendable => NotSent::Unsendable,
            NotSentReason::Skipped(why) => NotSent::Skipped(why),
        });
        let server_date =
            crate::request::response_header(response, "Date").map(|date| js_sys::Date::parse(&date) / 1000.0).filter(|seconds| seconds.is_finite());
        let facts = ResponseFacts {
            request: &out.line,
            status,
            sent: sent.as_ref(),
            not_sent,
            challenge: challenge.as_deref(),
            cross_origin: out.cross_origin,
            server_date,
            now: now_ms() / 1000.0,
            utc_offset_minutes: -(js_sys::Date::new_0().get_timezone_offset() as i32),
            after_refresh,
            scheme: &settings.scheme,
            next_step,
        };
        if let Some(diagnostic) = classify_response(&facts) {
            self.report(cfg, &diagnostic);
        }
    }

    /// The stored tokens and those read recently (a token sent and then replaced can still be echoed in a
    /// URL or a server message printed afterwards).
    fn secrets(&self, cfg: &Config) -> Vec<String> {
        // Reading the stored tokens records them among the recent ones.
        let _ = (self.access_token(cfg), self.refresh_token(cfg));
        self.recent_secrets.borrow().clone()
    }

    /// Decides which token (if any) this attempt carries, reporting why when none. With `can_refresh`, a
    /// missing access token next to a stored refresh token asks for a refresh first instead.
    fn credential(&self, cfg: &Config, out: &Outgoing, trace: &mut Option<&mut Vec<String>>, can_refresh: bool) -> Credential {
        let settings = &cfg.settings;
        let storage = self.store.label(settings.storage);
        let stored = self.access_token(cfg);
        let Some(origin) = out.origin.as_deref() else {
            note(trace, "header: not added: the URL could not be resolved".into());
            return Credential::Nothing(NotSentReason::Skipped("the URL could not be resolved"));
        };
        if !cfg.policy.allows(origin) {
            note(trace, String::from("header: not added: ") + origin + " is not in allowedOrigins");
            if stored.token().is_none() {
                return Credential::Nothing(NotSentReason::Skipped("the URL's origin is not in allowedOrigins"));
            }
            self.report(cfg, &Diagnostic::origin_not_allowed(&out.line, origin, cfg.policy.allowed()));
            return Credential::Nothing(NotSentReason::OriginNotAllowed);
        }
        match stored {
            StoredValue::Missing | StoredValue::Placeholder(_) if can_refresh && self.refresh_token(cfg).is_some() => Credential::RefreshForMissing,
            StoredValue::Missing => {
                note(trace, String::from("token: none in ") + storage);
                Credential::Nothing(NotSentReason::NoToken(None))
            }
            StoredValue::Placeholder(text) => {
                note(trace, String::from("token: a placeholder text in ") + storage);
                Credential::Nothing(NotSentReason::NoToken(Some(text)))
            }
            StoredValue::Token(token, cleaned) => {
                let claims = self.claims_of(&token);
                if !is_header_safe(&token) {
                    self.report(cfg, &Diagnostic::token_not_sendable(&out.line, TokenEvidence::of(&token, claims.as_ref())));
                    note(trace, "header: not added: the token has characters a header cannot carry".into());
                    return Credential::Nothing(NotSentReason::Unsendable);
                }
                if let Some(note_text) = cleaned {
                    self.report(cfg, &Diagnostic::token_cleaned(&out.line, storage, &settings.access_token_key, note_text));
                }
                if trace.is_some() {
                    let mut line = String::from("token: ");
                    line.push_str(&fingerprint(&token));
                    line.push_str(" from ");
                    line.push_str(storage);
                    match claims.as_ref().and_then(|claims| claims.exp) {
                        Some(exp) => {
                            line.push_str(", JWT, ");
                            crate::diagnose::push_relative_expiry(&mut line, exp, now_ms() / 1000.0);
                        }
                        None if claims.is_some() => line.push_str(", JWT without exp"),
                        None => line.push_str(", opaque"),
                    }
                    note(trace, line);
                    note(trace, String::from("header: ") + &settings.header_name + " added");
                }
                Credential::Token(token, claims)
            }
        }
    }

    /// Delivers a diagnostic, first scrubbing any stored token that a URL or a server text echoed.
    fn report(&self, cfg: &Config, diagnostic: &Diagnostic) {
        let secrets = self.secrets(cfg);
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let mut diagnostic = diagnostic.clone();
        diagnostic.message = scrub(&diagnostic.message, &secrets);
        diagnostic.request.url = scrub(&diagnostic.request.url, &secrets);
        diagnostic.challenge = diagnostic.challenge.map(|challenge| scrub(&challenge, &secrets));
        for line in &mut diagnostic.evidence {
            *line = scrub(line, &secrets);
        }
        emit(cfg.settings.log_level, cfg.on_diagnostic.as_ref(), &diagnostic);
        if diagnostic.level >= Level::Info {
            *self.last_diagnostic.borrow_mut() = Some(diagnostic);
        }
    }

    /// Reports an event of the refresh itself: its request line is the refresh endpoint, and its evidence
    /// says which call it was for and which refresh token was sent (as a fingerprint).
    fn report_refresh(&self, cfg: &Config, cause: &RequestLine, mut diagnostic: Diagnostic) {
        let (_, url) = crate::request::resolve(&cfg.settings.refresh_url, self.base().as_ref());
        let mut evidence = Vec::with_capacity(diagnostic.evidence.len() + 3);
        if cause.url != url {
            evidence.push(String::from("for: ") + &cause.method + " " + &cause.url);
        }
        evidence.push(String::from("refresh endpoint: POST ") + &url);
        if let Some(token) = self.refresh_token(cfg) {
            evidence.push(String::from("refresh token stored: ") + &fingerprint(&token));
        }
        evidence.append(&mut diagnostic.evidence);
        diagnostic.evidence = evidence;
        diagnostic.request = RequestLine { method: "POST".into(), url };
        self.report(cfg, &diagnostic);
    }

    /// The claims of `token`, decoded once per distinct token.
    fn claims_of(&self, token: &str) -> Option<Claims> {
        if let Some((cached, claims)) = self.claims_cache.borrow().as_ref() {
            if cached == token {
                return claims.clone();
            }
        }
        let claims = Claims::from_token(token);
        *self.claims_cache.borrow_mut() = Some((token.to_owned(), claims.clone()));
        claims
    }

    fn auth_failure(&self, cfg: &Config, reason: &str, message: &str, status: Option<u16>) {
        if cfg.on_auth_failure.is_none() {
            return;
        }
        let info = Object::new();
        set(&info, "reason", &JsValue::from_str(reason));
        set(&info, "message", &JsValue::from_str(message));
        if let Some(status) = status {
            set(&info, "status", &JsValue::from(status));
        }
        call_hook(cfg.on_auth_failure.as_ref(), "onAuthFailure", &info);
    }
}

fn note(trace: &mut Option<&mut Vec<String>>, line: String) {
    if let Some(lines) = trace {
        lines.push(line);
    }
}

fn status_line(label: &str, status: u16) -> String {
    let mut line = String::from(label);
    line.push_str(": ");
    crate::redact::push_decimal(&mut line, u64::from(status));
    line
}

/// The response's `WWW-Authenticate` (scrubbed later, when reported); `None` when absent or unreadable (CORS hides it unless
/// exposed).
fn read_challenge(response: &Response) -> Option<String> {
    crate::request::response_header(response, "WWW-Authenticate")
}
