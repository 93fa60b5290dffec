//! The web pages: server-rendered HTML (askama templates in `templates/`), every
//! word from the message files (`locales/`, via [`i18n`]), working without
//! JavaScript for every essential action; small scripts in `static/` add camera
//! scanning and in-browser proof checks.
//!
//! # How a page does its work
//! A page is a client of the JSON API, in process: it calls the API router with
//! the visitor's session token ([`api`]) and renders the answer, so every role
//! check, business rule and idempotency record is the API's, never repeated
//! here. Forms are plain POSTs with a CSRF token ([`Ctx::csrf`]) and an
//! idempotency key made when the form was drawn (a double submit replays the
//! first answer); success redirects (Post/Redirect/Get), failure re-renders the
//! form with what was typed and the error next to the field.
//!
//! # Layout
//! - [`i18n`]: languages, message files, `Accept-Language`.
//! - [`ctx`]: who is asking, in which language, CSRF, cookies; the API client.
//! - [`public`]: home, sign-in, notice board, transparency pages, static files.
//! - [`resident`]: my points, history, proofs, check-in, appeals, export.
//! - [`staff`]: review queue, recording at a station, events and posters, appeals.
//! - [`admin`]: indicators, levels, accounts and roles, CSV import of members.
//! - [`market`]: the points supermarket: rewards, redeeming, codes, merchant confirm.
//! - [`security`]: sign-in attempts and unlock; who read residents' data.
//! - [`evaluation`]: the evaluation, the what-if and the export (admins, auditor).

pub mod admin;
pub mod ctx;
pub mod evaluation;
pub mod i18n;
pub mod market;
pub mod public;
pub mod resident;
pub mod security;
pub mod staff;

use axum::Router;

use crate::AppState;

pub use ctx::Ctx;

/// Every page route; merged beside the API by [`crate::router`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(public::routes())
        .merge(resident::routes())
        .merge(staff::routes())
        .merge(admin::routes())
        .merge(security::routes())
        .merge(evaluation::routes())
        .merge(market::routes())
}
