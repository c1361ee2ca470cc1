//! One refresh across the tabs of an origin that share `localStorage`.
//!
//! With rotating refresh tokens and reuse detection (RFC 9700 §4.14.2), two tabs that present the same
//! refresh token log the user out: the second presentation revokes the whole token family (oidc-client-ts
//! #430, auth0-spa-js #553). So:
//!
//! - a refresh runs under a Web Lock (`navigator.locks`, named after the storage keys), held while the
//!   endpoint is called and the new tokens are stored; the lock request gives up after a timeout, and
//!   where Web Locks do not exist (insecure contexts, old browsers) the refresh is shared within the tab only;
//! - once the lock is held, the refresh token is read again: if another tab rotated it meanwhile, its tokens
//!   are adopted and no request is sent;
//! - `localStorage` reaches other tabs asynchronously (in Chromium a tab can get the lock and still read the
//!   old value for a moment), so the tab that refreshed also publishes the new tokens on a
//!   `BroadcastChannel` before it releases the lock, and a tab that waited for the lock waits briefly for that
//!   message when storage still shows the old token;
//! - `clearTokens()` publishes too, so a logout in one tab stops every tab from sending the old token at once.
//!
//! The published tokens form an *overlay*: it wins over what this tab reads from storage only while storage
//! still holds the refresh token the publisher replaced (storage lagging behind), and for a few seconds at
//! most; any other stored value is newer than the message and wins. A `BroadcastChannel` is same-origin
//! only, like `localStorage`.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::platform::{global_property, key, now_ms};
use crate::report::set;

/// How long published tokens win over what storage says, in milliseconds.
const OVERLAY_LIFETIME_MS: f64 = 3_000.0;

/// Tokens another tab (or this one) published: `None` means cleared.
#[derive(Clone, PartialEq)]
pub struct Overlay {
    /// The access token now in force.
    pub access: Option<String>,
    /// The refresh token now in force.
    pub refresh: Option<String>,
    /// The refresh token the publisher replaced. Published tokens win only while this tab's storage still
    /// holds exactly that one (storage lagging behind); any other stored value is newer news.
    pub replaced: Option<String>,
    received_ms: f64,
}

impl std::fmt::Debug for Overlay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Overlay { tokens redacted }")
    }
}

/// A client's link to the other tabs.
#[derive(Default)]
pub struct Tabs {
    channel: RefCell<Option<Channel>>,
    overlay: Rc<RefCell<Option<Overlay>>>,
    /// Whether another tab has answered on the channel: only then can a refresh need to wait for one.
    peers: Rc<std::cell::Cell<bool>>,
}

struct Channel {
    access_key: String,
    refresh_key: String,
    port: web_sys::BroadcastChannel,
    _listener: Closure<dyn FnMut(web_sys::MessageEvent)>,
    /// The `storage` event listener, removed when the channel closes.
    storage_listener: Option<Closure<dyn FnMut(web_sys::Event)>>,
}

impl Channel {
    fn close(self) {
        self.port.close();
        if let Some(listener) = &self.storage_listener {
            if let Ok(target) = global_property("window").dyn_into::<web_sys::EventTarget>() {
                let _ = target.remove_event_listener_with_callback("storage", listener.as_ref().unchecked_ref());
            }
        }
    }
}

impl std::fmt::Debug for Tabs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = self.channel.borrow().as_ref().map(|channel| sync_name(&channel.access_key, &channel.refresh_key));
        f.debug_struct("Tabs").field("channel", &keys).finish()
    }
}

impl Drop for Tabs {
    fn drop(&mut self) {
        if let Some(channel) = self.channel.borrow_mut().take() {
            channel.close();
        }
    }
}

/// The channel and lock name for a pair of storage keys.
pub fn sync_name(access_key: &str, refresh_key: &str) -> String {
    let mut name = String::from("authfetch:");
    name.push_str(access_key);
    name.push('|');
    name.push_str(refresh_key);
    name
}

impl Tabs {
    /// Opens (or reopens, when the keys changed) the channel for this pair of storage keys. Does nothing
    /// where `BroadcastChannel` does not exist. Cheap when already open: it runs on every token read.
    pub fn connect(&self, access_key: &str, refresh_key: &str) {
        if self.channel.borrow().as_ref().is_some_and(|channel| channel.access_key == access_key && channel.refresh_key == refresh_key) {
            return;
        }
        let name = sync_name(access_key, refresh_key);
        if let Some(old) = self.channel.borrow_mut().take() {
            old.close();
        }
        *self.overlay.borrow_mut() = None;
        if !global_property("BroadcastChannel").is_function() {
            return;
        }
        let Ok(port) = web_sys::BroadcastChannel::new(&name) else { return };
        let overlay = Rc::clone(&self.overlay);
        let peers = Rc::clone(&self.peers);
        let replies = port.clone();
        let listener = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let data = event.data();
            let text = |name: &'static str| Reflect::get(&data, &key(name)).ok().and_then(|value| value.as_string());
            peers.set(true);
            match text("kind").as_deref() {
                Some("tokens") => {
                    *overlay.borrow_mut() =
                        Some(Overlay { access: text("access"), refresh: text("refresh"), replaced: text("replaced"), received_ms: now_ms() });
                }
                // A tab that just connected asks who is there: answer, so it knows to coordinate.
                Some("hello") => {
                    let _ = replies.post_message(&kind_message("here"));
                }
                _ => {}
            }
        });
        port.set_onmessage(Some(listener.as_ref().unchecked_ref()));
        let _ = port.post_message(&kind_message("hello"));
        // Tokens changed in storage by code that does not publish (the app's own logout, another library):
        // storage is the truth again, so published tokens no longer win.
        let storage_listener = global_property("window").dyn_into::<web_sys::EventTarget>().ok().map(|window| {
            let overlay = Rc::clone(&self.overlay);
            let keys = [access_key.to_owned(), refresh_key.to_owned()];
            let listener = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
                let key = Reflect::get(&event, &key("key")).ok().and_then(|key| key.as_string());
                if key.as_ref().map_or(true, |key| keys.contains(key)) {
                    *overlay.borrow_mut() = None;
                }
            });
            let _ = window.add_event_listener_with_callback("storage", listener.as_ref().unchecked_ref());
            listener
        });
        *self.channel.borrow_mut() =
            Some(Channel { access_key: access_key.to_owned(), refresh_key: refresh_key.to_owned(), port, _listener: listener, storage_listener });
    }

    /// Whether another tab sharing these keys has shown itself on the channel.
    pub fn has_peers(&self) -> bool {
        self.peers.get()
    }

    /// Tells the other tabs which tokens are now in force (`None`: cleared), and which refresh token they
    /// replace.
    pub fn publish(&self, access: Option<&str>, refresh: Option<&str>, replaced: Option<&str>) {
        // This tab's own write is in its storage already; an overlay from before is out of date.
        *self.overlay.borrow_mut() = None;
        let channel = self.channel.borrow();
        let Some(channel) = channel.as_ref() else { return };
        let message = kind_message("tokens");
        if let Some(access) = access {
            set(&message, "access", &JsValue::from_str(access));
        }
        if let Some(refresh) = refresh {
            set(&message, "refresh", &JsValue::from_str(refresh));
        }
        if let Some(replaced) = replaced {
            set(&message, "replaced", &JsValue::from_str(replaced));
        }
        // A closed or detached channel only means no other tab listens.
        let _ = channel.port.post_message(&message);
    }

    /// The tokens published by another tab in the last few seconds, if any.
    pub fn overlay(&self) -> Option<Overlay> {
        let mut slot = self.overlay.borrow_mut();
        if slot.as_ref().is_some_and(|overlay| now_ms() - overlay.received_ms > OVERLAY_LIFETIME_MS) {
            *slot = None;
        }
        slot.clone()
    }

    /// Whether another tab's published tokens may be in force (the fast lane leaves such calls to the full
    /// path, which checks them against storage).
    pub fn has_overlay(&self) -> bool {
        self.overlay.borrow().is_some()
    }

    /// Forgets published tokens (this tab stored tokens itself).
    pub fn forget(&self) {
        *self.overlay.borrow_mut() = None;
    }
}

/// A message `{ kind }`.
fn kind_message(kind: &str) -> Object {
    let message = Object::new();
    set(&message, "kind", &JsValue::from_str(kind));
    message
}

/// How a locked section went.
pub enum Locked {
    /// The body ran under the lock; its promise resolved to this value.
    Ran(JsValue),
    /// Web Locks are not available here (insecure context, old browser, worker without them).
    Unavailable,
    /// The lock could not be had within the timeout (another tab held it too long).
    TimedOut,
    /// The body's promise rejected.
    Failed(JsValue),
}

/// Runs `body` while holding the Web Lock `name`, waiting at most `timeout_ms` for it. `body` is told
/// whether the lock was held by someone else first (`true`: this tab waited behind another holder), as
/// opposed to granted at once; a busy page that is slow to run the grant does not count as waiting.
pub async fn with_lock(name: &str, timeout_ms: u32, body: impl FnOnce(bool) -> Promise + 'static) -> Locked {
    let locks = Reflect::get(&global_property("navigator"), &key("locks")).unwrap_or(JsValue::UNDEFINED);
    let Ok(request) = Reflect::get(&locks, &key("request")).and_then(|request| request.dyn_into::<Function>()) else {
        return Locked::Unavailable;
    };
    let body = Rc::new(RefCell::new(Some(body)));

    // First only if nobody holds it (`ifAvailable`: the callback gets `null` instead of waiting).
    let if_available = Object::new();
    set(&if_available, "ifAvailable", &JsValue::TRUE);
    let at_once = {
        let body = Rc::clone(&body);
        Closure::once_into_js(move |lock: JsValue| -> JsValue {
            if lock.is_null() {
                JsValue::NULL
            } else {
                run_once(&body, false)
            }
        })
    };
    let first = match request.call3(&locks, &JsValue::from_str(name), &if_available, &at_once) {
        Ok(promise) => JsFuture::from(Promise::resolve(&promise)).await,
        Err(_) => return Locked::Unavailable,
    };
    match first {
        Ok(value) if !value.is_null() => return Locked::Ran(value),
        Ok(_) => {}
        Err(error) => return Locked::Failed(error),
    }

    // Held by another tab: wait for it, at most `timeout_ms`.
    let controller = web_sys::AbortController::new().ok();
    let options = Object::new();
    if let Some(controller) = &controller {
        set(&options, "signal", &controller.signal());
    }
    let callback = Closure::once_into_js(move |_lock: JsValue| -> JsValue { run_once(&body, true) });
    let timer = crate::platform::after(timeout_ms, move || {
        if let Some(controller) = controller {
            controller.abort();
        }
    });
    let requested = match request.call3(&locks, &JsValue::from_str(name), &options, &callback) {
        Ok(promise) => Promise::resolve(&promise),
        Err(_) => return Locked::Unavailable,
    };
    // The deadline only aborts the *wait* for the lock: once granted, the body runs to completion.
    let result = JsFuture::from(requested).await;
    timer.cancel();
    match result {
        Ok(value) => Locked::Ran(value),
        Err(error) => {
            let name = Reflect::get(&error, &key("name")).ok().and_then(|value| value.as_string());
            if name.as_deref() == Some("AbortError") {
                Locked::TimedOut
            } else {
                Locked::Failed(error)
            }
        }
    }
}

/// Runs the locked section's body, once (whichever lock request is granted first runs it).
fn run_once<B: FnOnce(bool) -> Promise>(body: &RefCell<Option<B>>, waited: bool) -> JsValue {
    let body = body.borrow_mut().take();
    body.map_or(JsValue::UNDEFINED, |body| body(waited).into())
}

/// Resolves after `milliseconds`.
pub async fn sleep(milliseconds: u32) {
    let promise = Promise::new(&mut |resolve, _reject| {
        let _ = crate::platform::after(milliseconds, move || {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        });
    });
    let _ = JsFuture::from(promise).await;
}
