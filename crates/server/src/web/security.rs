//! Pages for sign-in safety and privacy: an account's recent sign-in attempts and
//! its unlock (for the region's admin), and who among staff read members' data,
//! counted per account (for the auditor and the admin). Each calls the API.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use jifen_core::Role;
use serde::Deserialize;

use super::ctx::{Ctx, n, s};
use super::public::region_for;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/r/{region}/admin/accounts/{account}/sign-ins",
            get(sign_ins),
        )
        .route("/r/{region}/admin/accounts/{account}/unlock", post(unlock))
        .route("/r/{region}/privacy", get(privacy))
}

pub struct SignInRow {
    pub time: String,
    pub outcome: String,
    pub address: String,
}

#[derive(Template)]
#[template(path = "sign_ins.html")]
struct SignIns<'a> {
    c: &'a Ctx,
    region: String,
    account: i64,
    locked_until: String,
    rows: Vec<SignInRow>,
    done: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Done {
    done: String,
}

async fn sign_ins(c: Ctx, Path((r, account)): Path<(String, i64)>, q: Query<Done>) -> Response {
    let code = match region_for(&c, &r, &[Role::Admin]) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let v = match c
        .get(&format!(
            "/api/v1/regions/{code}/accounts/{account}/sign-ins"
        ))
        .await
    {
        Ok(v) => v,
        Err(p) => return c.problem_page(&p),
    };
    let rows = v["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|a| SignInRow {
            time: s(a, "time").replace('T', " ").chars().take(19).collect(),
            outcome: c.word("signin", &s(a, "outcome")),
            address: s(a, "address"),
        })
        .collect();
    c.render(
        StatusCode::OK,
        &SignIns {
            c: &c,
            region: code.to_string(),
            account,
            locked_until: s(&v, "locked_until")
                .replace('T', " ")
                .chars()
                .take(19)
                .collect(),
            rows,
            done: q.done == "unlocked",
        },
    )
}

async fn unlock(
    c: Ctx,
    Path((r, account)): Path<(String, i64)>,
    Form(f): Form<super::public::CsrfForm>,
) -> Response {
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match region_for(&c, &r, &[Role::Admin]) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    match c
        .api(
            Method::POST,
            &format!("/api/v1/regions/{code}/accounts/{account}/unlock"),
            None,
            None,
        )
        .await
    {
        Ok(_) => c.redirect(&format!(
            "/r/{code}/admin/accounts/{account}/sign-ins?done=unlocked"
        )),
        Err(p) => c.problem_page(&p),
    }
}

pub struct AccessRow {
    pub name: String,
    pub reads: i64,
    pub members: i64,
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct Privacy<'a> {
    c: &'a Ctx,
    since: String,
    rows: Vec<AccessRow>,
}

async fn privacy(c: Ctx, Path(r): Path<String>) -> Response {
    let code = match region_for(&c, &r, &[Role::Auditor, Role::Admin]) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let v = match c
        .get(&format!(
            "/api/v1/regions/{code}/data-access/summary?days=30"
        ))
        .await
    {
        Ok(v) => v,
        Err(p) => return c.problem_page(&p),
    };
    let rows = v["accounts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|a| AccessRow {
            name: s(a, "account_name"),
            reads: n(a, "reads"),
            members: n(a, "members"),
        })
        .collect();
    c.render(
        StatusCode::OK,
        &Privacy {
            c: &c,
            since: s(&v, "since").chars().take(10).collect(),
            rows,
        },
    )
}
