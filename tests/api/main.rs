//! Integration tests: the real app on port 0, a fresh SQLite database, a fake provider over HTTP.

#[path = "../support/fake_apify.rs"]
#[allow(dead_code)]
mod fake_apify;
#[path = "../support/fake_cloud_api.rs"]
mod fake_cloud_api;
#[path = "../support/fake_provider.rs"]
mod fake_provider;
#[path = "../support/fake_twilio.rs"]
mod fake_twilio;
#[path = "../support/fake_wablas.rs"]
mod fake_wablas;
#[path = "../support/fixture_site.rs"]
#[allow(dead_code)]
mod fixture_site;
#[path = "../support/postgres.rs"]
mod postgres;

mod audit;
mod bulk_send;
mod campaigns;
mod cli;
mod control;
mod durability;
mod forms;
mod hardening;
mod helpers;
mod hooks;
mod inbox;
mod jobs_list;
mod lanes;
mod live;
mod metrics;
mod pages;
mod receipts;
mod security;
mod send_rest;
mod sender_health;
mod senders;
mod sources;
mod tenancy;
mod twilio;
mod validation;
mod wablas;
mod whatsapp_cloud;
mod workers;
