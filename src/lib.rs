//! # authfetch
//!
//! `fetch` with bearer tokens done right, for browsers, compiled to WebAssembly:
//!
//! - reads the access and refresh tokens from storage (`localStorage` by default, `sessionStorage`, or memory);
//! - adds `Authorization: Bearer …` only to allowed origins, never to a third party;
//! - refreshes a JWT that is about to expire before sending, and on a 401 refreshes **once** for every
//!   request waiting on it, stores the new tokens, and retries once;
//! - explains every 401 in the console and through `onDiagnostic`, with tokens always redacted.
//!
//! The crate is laid out one idea per module. The pure modules decide and are tested natively:
//! [`jwt`] (claims), [`origin`] (who may get the token), [`refresh`] (the protocol and the
//! refresh/retry decisions), [`challenge`] (`WWW-Authenticate`), [`classify`] (which cause a 401 or 403
//! has), [`diagnose`] (events and messages),
//! [`redact`] (fingerprints), [`token`] (stored values), [`config`] (options), [`json`], [`error`].
//! From Rust, use [`Client`] (see [`api`]); from JavaScript, the exports in [`bindings`].
//!
//! The browser-facing modules move data: [`storage`], [`tabs`] (one refresh across tabs), [`platform`],
//! [`report`], [`options`], [`request`] (one call's replayable request), [`client`]
//! (the request pipeline), and [`bindings`], the only place with `#[wasm_bindgen]` exports.

#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

pub mod api;
pub mod bindings;
pub mod challenge;
pub mod classify;
pub mod client;
pub mod config;
pub mod diagnose;
pub mod error;
pub mod json;
pub mod jwt;
pub mod options;
pub mod origin;
pub mod platform;
pub mod redact;
pub mod refresh;
pub mod report;
pub mod request;
pub mod storage;
pub mod tabs;
pub mod text;
pub mod token;

/// The allocator: talc instead of the default dlmalloc, smaller and faster in wasm.
#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

pub use api::{Client, ClientBuilder};
pub use config::StorageKind;
pub use diagnose::Level;
pub use error::{Error, ErrorCode};
pub use refresh::RefreshFormat;
