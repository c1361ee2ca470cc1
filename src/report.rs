//! Delivering diagnostics: to the console (filtered by `logLevel`) and to `onDiagnostic` (always), and
//! calling the app's callbacks without letting them break a request.

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::JsValue;

use crate::diagnose::{Diagnostic, Level};
use crate::storage::describe_exception;

/// Sets `object[key] = value` on a fresh plain object (cannot fail on one; ignored if it somehow does).
pub fn set(object: &Object, name: &'static str, value: &JsValue) {
    let _ = Reflect::set(object, &crate::platform::key(name), value);
}

/// Prints `text` at `level` (no filtering here).
pub fn console_print(level: Level, text: &str) {
    let text = JsValue::from_str(text);
    match level {
        Level::Debug => web_sys::console::debug_1(&text),
        Level::Info => web_sys::console::info_1(&text),
        Level::Warn => web_sys::console::warn_1(&text),
        Level::Error | Level::Silent => web_sys::console::error_1(&text),
    }
}

/// Whether an event at `level` is printed under the threshold `log_level`.
pub fn enabled(log_level: Level, level: Level) -> bool {
    log_level != Level::Silent && level >= log_level
}

/// Prints one collapsed console group: `title`, then `lines`.
pub fn console_group(title: &str, lines: &[String]) {
    web_sys::console::group_collapsed_1(&JsValue::from_str(title));
    for line in lines {
        web_sys::console::log_1(&JsValue::from_str(line));
    }
    web_sys::console::group_end();
}

/// Calls an app callback with one argument. A callback that throws is reported on the console and
/// otherwise ignored: an app's logging bug must never break its requests.
pub fn call_hook(hook: Option<&Function>, name: &str, argument: &JsValue) {
    let Some(hook) = hook else { return };
    if let Err(thrown) = hook.call1(&JsValue::UNDEFINED, argument) {
        let mut text = String::from("[authfetch] the ");
        text.push_str(name);
        text.push_str(" callback threw (ignored): ");
        text.push_str(&describe_exception(&thrown));
        web_sys::console::error_1(&JsValue::from_str(&text));
    }
}

/// The `onDiagnostic` event object: `{ code, level, message, hint, request: { method, url }, status?,
/// token?: { fingerprint, expiresAt?, isJwt }, challenge? }` (`expiresAt` in milliseconds since the epoch,
/// like `Date.now()`).
pub fn diagnostic_to_js(diagnostic: &Diagnostic) -> JsValue {
    let event = Object::new();
    set(&event, "code", &JsValue::from_str(diagnostic.code));
    set(&event, "level", &JsValue::from_str(diagnostic.level.name()));
    set(&event, "message", &JsValue::from_str(&diagnostic.message));
    set(&event, "hint", &JsValue::from_str(&diagnostic.hint));
    let request = Object::new();
    set(&request, "method", &JsValue::from_str(&diagnostic.request.method));
    set(&request, "url", &JsValue::from_str(&diagnostic.request.url));
    set(&event, "request", &request);
    if let Some(status) = diagnostic.status {
        set(&event, "status", &JsValue::from(status));
    }
    if let Some(token) = &diagnostic.token {
        let evidence = Object::new();
        set(&evidence, "fingerprint", &JsValue::from_str(&token.fingerprint));
        if let Some(exp) = token.expires_at {
            set(&evidence, "expiresAt", &JsValue::from_f64(exp * 1000.0));
        }
        set(&evidence, "isJwt", &JsValue::from_bool(token.is_jwt));
        set(&event, "token", &evidence);
    }
    if let Some(challenge) = &diagnostic.challenge {
        set(&event, "challenge", &JsValue::from_str(challenge));
    }
    let evidence: js_sys::Array = diagnostic.evidence.iter().map(|line| JsValue::from_str(line)).collect();
    set(&event, "evidence", &evidence);
    event.into()
}

/// The badge style of each level in the console.
fn badge_style(level: Level) -> &'static str {
    match level {
        Level::Debug => "background:#6b7280;color:#fff;border-radius:3px;padding:0 4px",
        Level::Info => "background:#1d4ed8;color:#fff;border-radius:3px;padding:0 4px",
        Level::Warn => "background:#b45309;color:#fff;border-radius:3px;padding:0 4px",
        Level::Error | Level::Silent => "background:#b91c1c;color:#fff;border-radius:3px;padding:0 4px",
    }
}

/// Prints `diagnostic` as one collapsed console group: a badge coloured by level and the message as its
/// title; the evidence, the hint and the link to the code's explanation inside.
pub fn console_event(diagnostic: &Diagnostic) {
    let mut title = String::from("%cauthfetch ");
    title.push_str(diagnostic.level.name());
    title.push_str("%c [authfetch] ");
    title.push_str(&diagnostic.message);
    web_sys::console::group_collapsed_3(&JsValue::from_str(&title), &JsValue::from_str(badge_style(diagnostic.level)), &JsValue::from_str(""));
    for line in diagnostic.detail_lines() {
        web_sys::console::log_1(&JsValue::from_str(&line));
    }
    web_sys::console::group_end();
}

/// Delivers `diagnostic`: printed when `log_level` lets it through, and passed to `on_diagnostic` always.
pub fn emit(log_level: Level, on_diagnostic: Option<&Function>, diagnostic: &Diagnostic) {
    if enabled(log_level, diagnostic.level) {
        console_event(diagnostic);
    }
    if on_diagnostic.is_some() {
        call_hook(on_diagnostic, "onDiagnostic", &diagnostic_to_js(diagnostic));
    }
}
