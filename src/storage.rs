//! Where tokens live: `localStorage`, `sessionStorage` or this client's memory.
//!
//! Tokens are plain strings under plain keys (other code writes them with `localStorage.setItem`), so they
//! are read and written raw, never JSON-encoded. Storage can fail: reading `localStorage` throws
//! `SecurityError` in sandboxed iframes or with storage blocked, `setItem` throws `QuotaExceededError`, and
//! workers have no `localStorage` at all. On any of those the store falls back to memory for the rest of
//! the session, says so once, and everything else keeps working.

use std::cell::{Cell, RefCell};

use wasm_bindgen::{JsCast, JsValue};

use crate::config::StorageKind;

/// The token store of one client.
#[derive(Default)]
pub struct TokenStore {
    /// Keys and values kept in memory: the `memory` storage, and the fallback when browser storage fails.
    memory: RefCell<Vec<(String, String)>>,
    /// Set once browser storage failed (access or a write); reported once.
    fell_back: Cell<bool>,
    /// Set when browser storage cannot even be reached; from then on only memory is used.
    unreachable: Cell<bool>,
    /// Why it fell back, to be reported once by the caller.
    pending_warning: RefCell<Option<String>>,
    /// The browser storage object last looked up, by kind (looked up once, not on every read).
    cached: RefCell<Option<(StorageKind, web_sys::Storage)>>,
}

impl std::fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values are tokens: show only which keys are held.
        let keys: Vec<String> = self.memory.borrow().iter().map(|(key, _)| key.clone()).collect();
        f.debug_struct("TokenStore").field("memory_keys", &keys).field("fell_back", &self.fell_back.get()).finish()
    }
}

impl TokenStore {
    /// The browser storage for `kind`, or `None` for memory (chosen, or fallen back to). A failure to reach
    /// browser storage switches this store to memory and records a warning.
    fn browser_storage(&self, kind: StorageKind) -> Option<web_sys::Storage> {
        let name = match kind {
            StorageKind::Memory => return None,
            _ if self.unreachable.get() => return None,
            StorageKind::Local => "localStorage",
            StorageKind::Session => "sessionStorage",
        };
        if let Some((cached_kind, storage)) = self.cached.borrow().as_ref() {
            if *cached_kind == kind {
                return Some(storage.clone());
            }
        }
        match js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str(name)) {
            Ok(value) if value.is_object() => {
                let storage: web_sys::Storage = value.unchecked_into();
                *self.cached.borrow_mut() = Some((kind, storage.clone()));
                Some(storage)
            }
            Ok(_) => {
                self.unreachable.set(true);
                self.fall_back(kind, "it does not exist here (a worker, or a non-browser runtime)");
                None
            }
            Err(error) => {
                self.unreachable.set(true);
                self.fall_back(kind, &describe_exception(&error));
                None
            }
        }
    }

    fn fall_back(&self, kind: StorageKind, why: &str) {
        if self.fell_back.replace(true) {
            return;
        }
        let mut message = String::from("[authfetch] ");
        message.push_str(kind.label());
        message.push_str(" cannot be used (");
        message.push_str(why);
        message.push_str("); tokens are kept in memory for this page session instead");
        *self.pending_warning.borrow_mut() = Some(message);
    }

    /// The warning recorded when storage fell back to memory, once.
    pub fn take_warning(&self) -> Option<String> {
        self.pending_warning.borrow_mut().take()
    }

    /// Which storage is actually in use, for messages.
    pub fn label(&self, kind: StorageKind) -> &'static str {
        if self.fell_back.get() && kind != StorageKind::Memory {
            "memory storage (fallback)"
        } else {
            kind.label()
        }
    }

    /// The raw stored string under `key`, if any. A value written to memory after browser storage refused
    /// a write is newer than what browser storage holds, so memory is looked at first.
    pub fn read(&self, kind: StorageKind, key: &str) -> Option<String> {
        if let Some(value) = self.memory.borrow().iter().find(|(name, _)| name == key).map(|(_, value)| value.clone()) {
            return Some(value);
        }
        let storage = self.browser_storage(kind)?;
        match storage.get_item(key) {
            Ok(value) => value,
            Err(error) => {
                self.fall_back(kind, &describe_exception(&error));
                None
            }
        }
    }

    /// Calls `f` with the browser storage object that holds `key`, unless the answer is not there: memory
    /// holds the key (memory storage, or a fallback write), or storage has not been reached yet or cannot
    /// be; [`TokenStore::read`] handles those.
    pub fn with_browser_storage<R>(&self, kind: StorageKind, key: &str, f: impl FnOnce(&JsValue) -> R) -> Option<R> {
        if self.unreachable.get() || self.memory.borrow().iter().any(|(name, _)| name == key) {
            return None;
        }
        match self.cached.borrow().as_ref() {
            Some((cached_kind, storage)) if *cached_kind == kind => Some(f(storage)),
            _ => None,
        }
    }

    /// Whether the value memory holds under `key` is `text`; `None` when memory does not hold the key.
    pub fn memory_matches(&self, key: &str, text: &str) -> Option<bool> {
        self.memory.borrow().iter().find(|(name, _)| name == key).map(|(_, value)| value == text)
    }

    /// Stores `value` under `key`, in memory if browser storage refuses.
    pub fn write(&self, kind: StorageKind, key: &str, value: &str) {
        if let Some(storage) = self.browser_storage(kind) {
            match storage.set_item(key, value) {
                Ok(()) => {
                    self.memory.borrow_mut().retain(|(name, _)| name != key);
                    return;
                }
                Err(error) => self.fall_back(kind, &describe_exception(&error)),
            }
        }
        let mut memory = self.memory.borrow_mut();
        match memory.iter_mut().find(|(name, _)| name == key) {
            Some(slot) => slot.1 = value.to_owned(),
            None => memory.push((key.to_owned(), value.to_owned())),
        }
    }

    /// Removes `key` from browser storage and memory.
    pub fn remove(&self, kind: StorageKind, key: &str) {
        if let Some(storage) = self.browser_storage(kind) {
            if let Err(error) = storage.remove_item(key) {
                self.fall_back(kind, &describe_exception(&error));
            }
        }
        self.memory.borrow_mut().retain(|(name, _)| name != key);
    }
}

/// "SecurityError: …" from a thrown DOMException or Error, or a generic phrase.
pub fn describe_exception(error: &JsValue) -> String {
    let field = |name: &str| js_sys::Reflect::get(error, &JsValue::from_str(name)).ok().and_then(|value| value.as_string());
    match (field("name"), field("message")) {
        (Some(name), Some(message)) if !message.is_empty() => name + ": " + &message,
        (Some(name), _) => name,
        (None, Some(message)) => message,
        (None, None) => error.as_string().unwrap_or_else(|| "an exception that is not an Error".into()),
    }
}
