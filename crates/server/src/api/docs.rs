//! `/api/openapi.json` (generated from the handlers) and `/api/docs`, a page that
//! lists every operation, rendered on the server from the same document (no
//! scripts or assets from elsewhere).

use std::sync::Arc;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use utoipa::openapi::OpenApi;

use crate::AppState;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(api: &OpenApi) -> String {
    let mut rows = String::new();
    for (path, item) in &api.paths.paths {
        let ops = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, op) in ops {
            if let Some(op) = op {
                let summary = op
                    .summary
                    .clone()
                    .or_else(|| op.description.clone())
                    .unwrap_or_default();
                let codes: Vec<String> = op.responses.responses.keys().cloned().collect();
                rows.push_str(&format!(
                    "<tr><td><code>{method}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>\n",
                    escape(path),
                    escape(&summary),
                    escape(&codes.join(" "))
                ));
            }
        }
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>jifen API</title><style>body{{font-family:sans-serif;margin:1rem}}td{{padding:.2rem .6rem;vertical-align:top}}\
         tr:nth-child(even){{background:#f4f4f4}}</style></head><body><h1>{} {}</h1><p>{}</p>\
         <p>The machine-readable document: <a href=\"/api/openapi.json\">/api/openapi.json</a> (OpenAPI 3.1).</p>\
         <table><thead><tr><th>method</th><th>path</th><th>what</th><th>responses</th></tr></thead><tbody>{rows}</tbody></table></body></html>",
        escape(&api.info.title),
        escape(&api.info.version),
        escape(api.info.description.as_deref().unwrap_or("")),
    )
}

pub fn routes(api: Arc<OpenApi>) -> Router<AppState> {
    let json = api
        .to_json()
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    let html = page(&api);
    Router::new()
        .route(
            "/api/openapi.json",
            get(move || {
                let json = json.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        json,
                    )
                }
            }),
        )
        .route(
            "/api/docs",
            get(move || {
                let html = html.clone();
                // Its one inline style block is the only thing beyond the default policy.
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_SECURITY_POLICY,
                            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
                        )],
                        Html(html),
                    )
                }
            }),
        )
}
