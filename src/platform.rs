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

/// A property of the global object (`globalThis[name]`), `undefined` when absent or when reading throws.
pub fn global_property(name: &str) -> JsValue {
    Reflect::get(&js_sys::global(), &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
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
    let field = |name: &str| Reflect::get(&location, &JsValue::from_str(name)).ok().and_then(|value| value.as_string());
    Some((field("href")?, field("origin")?))
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// A promise that rejects with a `TimeoutError`-named `Error` after `milliseconds`, first calling
/// `on_timeout`; plus a handle that cancels the timer.
pub fn timeout(milliseconds: u32, on_timeout: impl FnOnce() + 'static) -> (Promise, Timer) {
    let mut timer = JsValue::UNDEFINED;
    let mut on_timeout = Some(on_timeout);
    let promise = Promise::new(&mut |_resolve, reject| {
        let on_timeout = on_timeout.take();
        let fire = Closure::once_into_js(move || {
            if let Some(on_timeout) = on_timeout {
                on_timeout();
            }
            let error = js_sys::Error::new("the refresh request timed out");
            error.set_name("TimeoutError");
            let _ = reject.call1(&JsValue::UNDEFINED, &error);
        });
        timer = set_timeout(&fire, milliseconds);
    });
    (promise, Timer(timer))
}

/// A pending timer from [`timeout`].
pub struct Timer(JsValue);

impl Timer {
    /// Cancels the timer if it has not fired.
    pub fn cancel(self) {
        clear_timeout(&self.0);
    }
}
