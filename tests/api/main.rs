//! Integration tests: the real app on port 0, a fresh SQLite database, a fake provider over HTTP.

#[path = "../support/fake_provider.rs"]
mod fake_provider;

mod bulk_send;
mod cli;
mod control;
mod durability;
mod helpers;
mod live;
mod pages;
mod security;
mod tenancy;
mod validation;
