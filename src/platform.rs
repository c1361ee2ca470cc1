//! The few things authfetch needs from the JavaScript global scope, found without assuming a `window`
//! (so the same code runs in pages, workers and Node): `fetch`, `location`, timers and the clock.

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &JsValue, milliseconds: u32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

thread_local! {
    /// The JavaScript strings made by [`key`], by the address and length of their text.
    static KEYS: std::cell::RefCell<Vec<((usize, usize), JsValue)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The constant text `name` as a JavaScript string, made once: property names and the like cross into
/// JavaScript on every call, and decoding their text each time was the largest cost of a 401's handling.
pub fn key(name: &'static str) -> JsValue {
    let id = (name.as_ptr() as usize, name.len());
    KEYS.with(|keys| {
        let mut keys = keys.borrow_mut();
        if let Some((_, value)) = keys.iter().find(|(known, _)| *known == id) {
            return value.clone();
        }
        let value = JsValue::from_str(name);
        keys.push((id, value.clone()));
        value
    })
}

/// A property of the global object (`globalThis[name]`), `undefined` when absent or when reading throws.
pub fn global_property(name: &'static str) -> JsValue {
    Reflect::get(&js_sys::global(), &key(name)).unwrap_or(JsValue::UNDEFINED)
}

/// Whether the global object has a property `name` at all (even one whose getter throws, like
/// `localStorage` in a sandboxed iframe). Workers and Node have no `localStorage`; Node has no `location`.
pub fn has_global(name: &'static str) -> bool {
    Reflect::has(&js_sys::global(), &key(name)).unwrap_or(false)
}

/// The global `fetch`, if there is one.
pub fn global_fetch() -> Option<Function> {
    global_property("fetch").dyn_into::<Function>().ok()
}

/// `location.href` and `location.origin` of the page or worker; `None` where there is no location (Node).
pub fn location() -> Option<(String, String)> {
    let location = global_property("location");
    if !location.is_object() {
        return None;
    }
    let field = |name: &'static str| Reflect::get(&location, &key(name)).ok().and_then(|value| value.as_string());
    Some((field("href")?, field("origin")?))
}

/// A future as a `Promise`. Every future the crate hands to JavaScript goes through this one function,
/// boxed, so the executor glue of `future_to_promise` exists once in the binary instead of once per
/// future type (about 1 KB of wasm each).
pub fn promise_of(future: impl std::future::Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    let boxed: std::pin::Pin<Box<dyn std::future::Future<Output = Result<JsValue, JsValue>>>> = Box::pin(future);
    wasm_bindgen_futures::future_to_promise(boxed)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Calls `callback` once after `milliseconds`; the returned [`Timer`] cancels it.
pub fn after(milliseconds: u32, callback: impl FnOnce() + 'static) -> Timer {
    Timer(set_timeout(&Closure::once_into_js(callback), milliseconds))
}

/// A promise that rejects with a `TimeoutError`-named `Error` after `milliseconds`, first calling
/// `on_timeout`; plus a handle that cancels the timer. Only for racing: cancel it, or have it raced, so
/// its rejection is always handled.
pub fn timeout(milliseconds: u32, on_timeout: impl FnOnce() + 'static) -> (Promise, Timer) {
    let mut timer = None;
    let mut on_timeout = Some(on_timeout);
    let promise = Promise::new(&mut |_resolve, reject| {
        let on_timeout = on_timeout.take();
        timer = Some(after(milliseconds, move || {
            if let Some(on_timeout) = on_timeout {
                on_timeout();
            }
            let error = js_sys::Error::new("the refresh request timed out");
            error.set_name("TimeoutError");
            let _ = reject.call1(&JsValue::UNDEFINED, &error);
        }));
    });
    (promise, timer.unwrap_or(Timer(JsValue::UNDEFINED)))
}

/// A pending timer from [`after`] or [`timeout`].
pub struct Timer(JsValue);

impl Timer {
    /// Cancels the timer if it has not fired.
    pub fn cancel(self) {
        clear_timeout(&self.0);
    }
}
