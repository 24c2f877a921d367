//! The HTTP transport: routes, REST, WebSocket, authentication, guards, limits and the error
//! answers. It calls services; nothing below it knows HTTP.

pub mod auth;
pub mod error;
pub mod guard;
pub mod input;
pub mod limits;
pub mod peer;
pub mod rest;
pub mod serve;
pub mod ws;
