//! jobpulse: start long background work and watch it live.
//!
//! One crate, two builds: with `ssr` it is the server (axum, sqlx, the engine); with `hydrate`
//! it is the browser bundle that takes over the server-rendered pages.

#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod i18n;
pub mod live;
pub mod protocol;
pub mod recipients;

#[cfg(feature = "ssr")]
pub mod cli;
#[cfg(feature = "ssr")]
pub mod server;

/// The browser entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // Lets tests (and curious people) know the page is interactive now.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
