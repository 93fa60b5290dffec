//! The points supermarket (积分超市) pages: a resident's rewards list, redeeming
//! (which reserves the item and gives a code), my codes with their QR codes;
//! the merchant's confirm page (type the code, or scan it with the camera); the
//! admin's rewards. Every rule (balance, stock, level, limits, budgets, expiry)
//! is the supermarket API's.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use jifen_core::{RegionCode, Role};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ctx::{Ctx, Problem, items, n, random_token, s};
use super::public::{region_for, region_or_404};
use crate::AppState;

/// Codes shown on "my codes" and the merchant's page.
pub const CODES_SHOWN_MAX: u32 = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/r/{region}/shop", get(shop))
        .route("/r/{region}/shop/{reward}/redeem", post(redeem))
        .route("/r/{region}/shop/codes", get(codes))
        .route("/r/{region}/shop/codes/{id}", get(code_page))
        .route("/r/{region}/shop/codes/{id}/cancel", post(cancel))
        .route("/r/{region}/merchant", get(merchant).post(confirm))
        .route(
            "/r/{region}/admin/rewards",
            get(rewards_admin).post(add_reward),
        )
        .route(
            "/r/{region}/admin/rewards/{reward}/picture",
            post(upload_picture).layer(axum::extract::DefaultBodyLimit::max(
                crate::api::market::PICTURE_BODY_BYTES_MAX,
            )),
        )
        .route(
            "/r/{region}/admin/rewards/{reward}/picture/remove",
            post(remove_picture),
        )
        .route(
            "/r/{region}/admin/budget",
            get(budget_page).post(save_sponsor),
        )
}

pub struct RewardRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub kind: String,
    pub price: i64,
    pub stock: i64,
    pub level: String,
    pub limit: String,
    pub sponsor: String,
    pub category: String,
    /// Where its picture is served, or empty.
    pub picture: String,
    pub affordable: bool,
    /// Why it cannot be redeemed now, in words (none left, the level it needs, the
    /// limit reached, or how many points are missing); empty when it can.
    pub why_not: String,
    pub key: String,
}

/// A refusal the shop knows before the click, in the page's language.
fn refusal_words(c: &Ctx, code: &str, detail: &str) -> String {
    let key = format!("refused.{code}");
    if super::i18n::has(c.lang, &key) {
        c.tr(&key).to_owned()
    } else {
        detail.to_owned()
    }
}

fn reward_row(c: &Ctx, r: &Value, spendable: i64) -> RewardRow {
    let limit = match (r["limit_count"].as_i64(), r["limit_period"].as_str()) {
        (Some(n), Some(p)) => c.tr2("shop.limit", c.word("period", p), n),
        _ => String::new(),
    };
    RewardRow {
        id: n(r, "id"),
        name: s(r, "name"),
        description: s(r, "description"),
        kind: c.word("reward", &s(r, "kind")),
        price: n(r, "price"),
        stock: n(r, "stock"),
        level: s(r, "min_level"),
        limit,
        sponsor: s(r, "sponsor"),
        category: s(r, "category"),
        picture: s(r, "picture"),
        affordable: n(r, "price") <= spendable && n(r, "stock") > 0,
        why_not: if n(r, "stock") <= 0 {
            c.tr("shop.none_left").to_owned()
        } else if n(r, "price") > spendable {
            c.tr1("shop.short", n(r, "price") - spendable)
        } else {
            String::new()
        },
        key: random_token(),
    }
}

#[derive(Template)]
#[template(path = "shop.html")]
struct Shop<'a> {
    c: &'a Ctx,
    region: String,
    spendable: i64,
    rewards: Vec<RewardRow>,
    /// The categories on offer (name, as in a link), and the one shown (empty: all).
    categories: Vec<(String, String)>,
    category: String,
    error_reward: i64,
    error: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ShopQuery {
    category: String,
}

async fn shop(c: Ctx, Path(r): Path<String>, q: Query<ShopQuery>) -> Response {
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    shop_page(&c, &code, &q.category, 0, "", StatusCode::OK).await
}

async fn shop_page(
    c: &Ctx,
    code: &RegionCode,
    category: &str,
    error_reward: i64,
    error: &str,
    status: StatusCode,
) -> Response {
    if let Err(res) = c.require_role(code, &[Role::Resident]) {
        return *res;
    }
    let Some(member) = c.member_of(code) else {
        return c.error_page(StatusCode::FORBIDDEN, c.tr("err.no_member"), None);
    };
    let data = async {
        let bal = c
            .get(&format!("/api/v1/regions/{code}/members/{member}/balance"))
            .await?;
        let rewards = c.get(&format!("/api/v1/regions/{code}/rewards")).await?;
        let refusals = c
            .get(&format!(
                "/api/v1/regions/{code}/members/{member}/reward-refusals"
            ))
            .await?;
        Ok::<_, Problem>((bal, rewards, refusals))
    }
    .await;
    let (bal, rewards, refusals) = match data {
        Ok(d) => d,
        Err(p) => return c.problem_page(&p),
    };
    let spendable = n(&bal, "spendable");
    let refused: std::collections::HashMap<i64, String> = refusals
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|x| {
            (
                n(x, "reward"),
                refusal_words(c, &s(x, "code"), &s(x, "detail")),
            )
        })
        .collect();
    let all: Vec<RewardRow> = rewards
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let mut row = reward_row(c, r, spendable);
            if let Some(why) = refused.get(&row.id) {
                row.why_not = why.clone();
                row.affordable = false;
            }
            row
        })
        .collect();
    let mut categories: Vec<String> = all
        .iter()
        .map(|r| r.category.clone())
        .filter(|c| !c.is_empty())
        .collect();
    categories.sort();
    categories.dedup();
    let rewards = all
        .into_iter()
        .filter(|r| category.is_empty() || r.category == category)
        .collect();
    c.render(
        status,
        &Shop {
            c,
            region: code.to_string(),
            spendable,
            rewards,
            categories: categories
                .into_iter()
                .map(|k| {
                    let e = super::ctx::url_encode(&k);
                    (k, e)
                })
                .collect(),
            category: category.to_owned(),
            error_reward,
            error: error.to_owned(),
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct KeyForm {
    csrf: String,
    key: String,
}

async fn redeem(
    c: Ctx,
    Path((r, reward)): Path<(String, String)>,
    Form(f): Form<KeyForm>,
) -> Response {
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match region_for(&c, &r, &[Role::Resident]) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let Some(member) = c.member_of(&code) else {
        return c.error_page(StatusCode::FORBIDDEN, c.tr("err.no_member"), None);
    };
    let Ok(reward_id) = reward.trim().parse::<i64>() else {
        return c.error_page(StatusCode::NOT_FOUND, c.tr("err.notfound"), None);
    };
    let body = json!({"reward": reward_id, "member": member.get(), "present": false});
    let key = (!f.key.is_empty()).then_some(f.key.as_str());
    match c
        .api(
            Method::POST,
            &format!("/api/v1/regions/{code}/redemptions"),
            Some(body),
            key,
        )
        .await
    {
        Ok(v) => c.redirect(&format!(
            "/r/{code}/shop/codes/{}?done=reserved",
            n(&v, "id")
        )),
        Err(p) => {
            let msg = c.problem_full(&p);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            shop_page(&c, &code, "", reward_id, &msg, status).await
        }
    }
}

pub struct CodeRow {
    pub id: i64,
    pub code: String,
    pub reward: String,
    pub price: i64,
    pub status: String,
    pub open: bool,
    pub reserved: String,
    pub expires: String,
}

fn code_row(c: &Ctx, d: &Value) -> CodeRow {
    CodeRow {
        id: n(d, "id"),
        code: s(d, "code"),
        reward: s(d, "reward_name"),
        price: n(d, "price"),
        status: c.word("redemption", &s(d, "status")),
        open: s(d, "status") == "reserved",
        reserved: c.time(&s(d, "reserved_at")),
        expires: c.time(&s(d, "expires_at")),
    }
}

#[derive(Template)]
#[template(path = "codes.html")]
struct Codes<'a> {
    c: &'a Ctx,
    region: String,
    codes: Vec<CodeRow>,
}

async fn codes(c: Ctx, Path(r): Path<String>) -> Response {
    let code = match region_for(&c, &r, &[Role::Resident]) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let v = match c
        .get(&format!(
            "/api/v1/regions/{code}/redemptions?limit={CODES_SHOWN_MAX}"
        ))
        .await
    {
        Ok(v) => v,
        Err(p) => return c.problem_page(&p),
    };
    let codes = items(&v).iter().map(|d| code_row(&c, d)).collect();
    c.render(
        StatusCode::OK,
        &Codes {
            c: &c,
            region: code.to_string(),
            codes,
        },
    )
}

#[derive(Template)]
#[template(path = "code.html")]
struct CodePage<'a> {
    c: &'a Ctx,
    region: String,
    d: CodeRow,
    key: String,
    done: String,
    error: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
}

async fn code_page(c: Ctx, Path((r, id)): Path<(String, String)>, q: Query<DoneQuery>) -> Response {
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    if c.who.is_none() {
        return c.to_login();
    }
    let done = match q.done.as_str() {
        "reserved" => c.tr("shop.done_reserved").to_owned(),
        "cancelled" => c.tr("shop.done_cancelled").to_owned(),
        _ => String::new(),
    };
    one_code(&c, &code, &id, done, String::new(), StatusCode::OK).await
}

async fn one_code(
    c: &Ctx,
    code: &RegionCode,
    id: &str,
    done: String,
    error: String,
    status: StatusCode,
) -> Response {
    let v = match c
        .get(&format!("/api/v1/regions/{code}/redemptions/{}", id.trim()))
        .await
    {
        Ok(v) => v,
        Err(p) => return c.problem_page(&p),
    };
    c.render(
        status,
        &CodePage {
            c,
            region: code.to_string(),
            d: code_row(c, &v),
            key: random_token(),
            done,
            error,
        },
    )
}

async fn cancel(c: Ctx, Path((r, id)): Path<(String, String)>, Form(f): Form<KeyForm>) -> Response {
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    if c.who.is_none() {
        return c.to_login();
    }
    let key = (!f.key.is_empty()).then_some(f.key.as_str());
    match c
        .api(
            Method::POST,
            &format!("/api/v1/regions/{code}/redemptions/{}/cancel", id.trim()),
            None,
            key,
        )
        .await
    {
        Ok(_) => c.redirect(&format!(
            "/r/{code}/shop/codes/{}?done=cancelled",
            id.trim()
        )),
        Err(p) => {
            let msg = c.problem_full(&p);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::CONFLICT);
            one_code(&c, &code, &id, String::new(), msg, status).await
        }
    }
}

// ---------------------------------------------------------------- merchant

#[derive(Template)]
#[template(path = "merchant.html")]
struct Merchant<'a> {
    c: &'a Ctx,
    region: String,
    typed: String,
    key: String,
    done: Option<CodeRow>,
    error: String,
    recent: Vec<CodeRow>,
}

async fn merchant(c: Ctx, Path(r): Path<String>) -> Response {
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    merchant_page(
        &c,
        &code,
        String::new(),
        None,
        String::new(),
        StatusCode::OK,
    )
    .await
}

async fn merchant_page(
    c: &Ctx,
    code: &RegionCode,
    typed: String,
    done: Option<CodeRow>,
    error: String,
    status: StatusCode,
) -> Response {
    if let Err(res) = c.require_role(code, &[Role::Merchant]) {
        return *res;
    }
    let recent = match c
        .get(&format!(
            "/api/v1/regions/{code}/merchant/redemptions?limit={CODES_SHOWN_MAX}"
        ))
        .await
    {
        Ok(v) => items(&v).iter().map(|d| code_row(c, d)).collect(),
        Err(p) => return c.problem_page(&p),
    };
    c.render(
        status,
        &Merchant {
            c,
            region: code.to_string(),
            typed,
            key: random_token(),
            done,
            error,
            recent,
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ConfirmForm {
    csrf: String,
    key: String,
    code: String,
}

async fn confirm(c: Ctx, Path(r): Path<String>, Form(f): Form<ConfirmForm>) -> Response {
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match region_for(&c, &r, &[Role::Merchant]) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    // People type codes in lower case and with spaces; the printed form is `ABCD-2345`.
    let typed: String = f
        .code
        .trim()
        .to_uppercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("");
    let key = (!f.key.is_empty()).then_some(f.key.as_str());
    match c
        .api(
            Method::POST,
            &format!("/api/v1/regions/{code}/merchant/confirm"),
            Some(json!({"code": typed})),
            key,
        )
        .await
    {
        Ok(v) => {
            let row = code_row(&c, &v);
            merchant_page(
                &c,
                &code,
                String::new(),
                Some(row),
                String::new(),
                StatusCode::OK,
            )
            .await
        }
        Err(p) => {
            let msg = match p.status {
                404 => c.tr("merchant.unknown").to_owned(),
                409 => format!(
                    "{} {}",
                    c.tr("merchant.closed"),
                    c.tr1("err.detail", &p.detail)
                ),
                _ => c.problem_full(&p),
            };
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            merchant_page(&c, &code, f.code, None, msg, status).await
        }
    }
}

// ---------------------------------------------------------------- admin: rewards

#[derive(Template)]
#[template(path = "rewards.html")]
struct RewardsAdmin<'a> {
    c: &'a Ctx,
    region: String,
    rewards: Vec<RewardRow>,
    sponsors: Vec<(String, String)>,
    f: RewardForm,
    key: String,
    error_field: String,
    error: String,
    done: String,
    /// The reward whose picture was refused (0: none).
    picture_error: i64,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct RewardForm {
    csrf: String,
    key: String,
    pub name: String,
    pub description: String,
    pub kind: String,
    pub price: String,
    pub stock: String,
    pub min_level: String,
    pub limit_count: String,
    pub limit_period: String,
    pub sponsor: String,
    pub active_from: String,
    pub active_to: String,
    pub category: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AddedQuery {
    added: String,
    /// After a picture was saved or removed: "saved" or "removed", and the reward.
    picture: String,
    reward: String,
}

async fn rewards_admin(c: Ctx, Path(r): Path<String>, q: Query<AddedQuery>) -> Response {
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let f = RewardForm {
        kind: "goods".into(),
        stock: "10".into(),
        ..RewardForm::default()
    };
    let done = match (q.added.as_str(), q.picture.as_str()) {
        ("1", _) => c.tr("rewards.added").to_owned(),
        (_, "saved") => c.tr1("rewards.picture_saved", &q.reward),
        (_, "removed") => c.tr1("rewards.picture_removed", &q.reward),
        _ => String::new(),
    };
    rewards_page(&c, &code, f, "", String::new(), done, StatusCode::OK).await
}

/// A reward's picture uploaded from the admin page (multipart: `csrf`, `picture`).
async fn upload_picture(
    c: Ctx,
    Path((r, reward)): Path<(String, u64)>,
    mut form: axum::extract::Multipart,
) -> Response {
    let mut csrf = String::new();
    let mut picture: Option<Vec<u8>> = None;
    let mut failed: Option<String> = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_owned();
                match field.bytes().await {
                    Ok(b) if name == "csrf" => csrf = String::from_utf8_lossy(&b).into_owned(),
                    Ok(b) if name == "picture" => picture = Some(b.to_vec()),
                    Ok(_) => {}
                    Err(e) => {
                        failed = Some(e.body_text());
                        break;
                    }
                }
            }
            Ok(None) => break,
            Err(e) => {
                failed = Some(e.body_text());
                break;
            }
        }
    }
    let code = match region_for(&c, &r, &[Role::Admin]) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    if failed.is_none()
        && let Err(res) = c.check_form(&csrf)
    {
        return *res;
    }
    let blank = RewardForm {
        kind: "goods".into(),
        stock: "10".into(),
        ..RewardForm::default()
    };
    let refuse = |msg: String, status: StatusCode| {
        let c = &c;
        let code = &code;
        let blank = blank.clone();
        async move {
            rewards_page(
                c,
                code,
                blank,
                &format!("picture-{reward}"),
                msg,
                String::new(),
                status,
            )
            .await
        }
    };
    if let Some(why) = failed {
        // The body was over the limit, or not a form: the picture is too large, or broken.
        return refuse(
            c.tr1(
                "rewards.picture_failed",
                jifen_core::market::MarketError::PictureTooLarge(
                    crate::api::market::PICTURE_BODY_BYTES_MAX,
                )
                .to_string(),
            ) + &format!(" ({why})"),
            StatusCode::PAYLOAD_TOO_LARGE,
        )
        .await;
    }
    let Some(bytes) = picture.filter(|b| !b.is_empty()) else {
        return refuse(
            c.tr("rewards.picture_none").to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let c2 = code.clone();
    match crate::write::read(&c.state, move |st| {
        Ok(st.set_reward_picture(c2, reward, bytes)?)
    })
    .await
    {
        Ok(_) => c.redirect(&format!(
            "/r/{code}/admin/rewards?picture=saved&reward={reward}"
        )),
        Err(e) => {
            let p = Problem::from(e);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            refuse(c.problem_full(&p), status).await
        }
    }
}

async fn remove_picture(
    c: Ctx,
    Path((r, reward)): Path<(String, u64)>,
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
            Method::DELETE,
            &format!("/api/v1/regions/{code}/rewards/{reward}/picture"),
            None,
            Some(&random_token()),
        )
        .await
    {
        Ok(_) => c.redirect(&format!(
            "/r/{code}/admin/rewards?picture=removed&reward={reward}"
        )),
        Err(p) => c.problem_page(&p),
    }
}

async fn rewards_page(
    c: &Ctx,
    code: &RegionCode,
    f: RewardForm,
    error_field: &str,
    error: String,
    done: String,
    status: StatusCode,
) -> Response {
    if let Err(res) = c.require_role(code, &[Role::Admin]) {
        return *res;
    }
    let data = async {
        let rewards = c
            .get(&format!("/api/v1/regions/{code}/rewards?all=true"))
            .await?;
        let sponsors = c.get(&format!("/api/v1/regions/{code}/sponsors")).await?;
        Ok::<_, Problem>((rewards, sponsors))
    }
    .await;
    let (rewards, sponsors) = match data {
        Ok(d) => d,
        Err(p) => return c.problem_page(&p),
    };
    let rewards = rewards
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| reward_row(c, r, 0))
        .collect();
    let sponsors = sponsors
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|sp| {
            (
                s(sp, "code"),
                c.tr2("rewards.sponsor_left", s(sp, "name"), n(sp, "left")),
            )
        })
        .collect();
    c.render(
        status,
        &RewardsAdmin {
            c,
            region: code.to_string(),
            rewards,
            sponsors,
            f,
            key: random_token(),
            error_field: error_field.to_owned(),
            picture_error: error_field
                .strip_prefix("picture-")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
            error,
            done,
        },
    )
}

impl RewardsAdmin<'_> {
    /// The text fields of the form: (name, label key, value as typed).
    fn fields(&self) -> Vec<(&'static str, &'static str, &str)> {
        let f = &self.f;
        vec![
            ("name", "common.name", f.name.as_str()),
            ("description", "rewards.description", f.description.as_str()),
            ("price", "rewards.price", f.price.as_str()),
            ("stock", "rewards.stock", f.stock.as_str()),
            ("min_level", "rewards.min_level", f.min_level.as_str()),
            ("limit_count", "rewards.limit_count", f.limit_count.as_str()),
            ("active_from", "rewards.active_from", f.active_from.as_str()),
            ("active_to", "rewards.active_to", f.active_to.as_str()),
            ("category", "rewards.category", f.category.as_str()),
        ]
    }
}

async fn add_reward(c: Ctx, Path(r): Path<String>, Form(f): Form<RewardForm>) -> Response {
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match region_for(&c, &r, &[Role::Admin]) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let opt = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    // The numbers, or the first field that is not one.
    let numbers = (|| {
        let price = f.price.trim().parse::<i64>().map_err(|_| "price")?;
        let stock = f.stock.trim().parse::<i64>().map_err(|_| "stock")?;
        let limit_count = opt(&f.limit_count)
            .map(|v| v.parse::<u32>().map_err(|_| "limit_count"))
            .transpose()?;
        Ok::<_, &'static str>((price, stock, limit_count))
    })();
    let (price, stock, limit_count) = match numbers {
        Ok(n) => n,
        Err(field) => {
            return rewards_page(
                &c,
                &code,
                f.clone(),
                field,
                c.tr("admin.bad_number").to_owned(),
                String::new(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let body = json!({
        "name": f.name.trim(),
        "description": f.description.trim(),
        "kind": f.kind,
        "price": price,
        "stock": stock,
        "min_level": opt(&f.min_level),
        "limit_count": limit_count,
        "limit_period": if limit_count.is_some() { opt(&f.limit_period) } else { None },
        "sponsor": f.sponsor,
        "active_from": f.active_from.trim(),
        "active_to": opt(&f.active_to),
        "category": opt(&f.category),
    });
    let key = (!f.key.is_empty()).then(|| f.key.clone());
    match c
        .api(
            Method::POST,
            &format!("/api/v1/regions/{code}/rewards"),
            Some(body),
            key.as_deref(),
        )
        .await
    {
        Ok(_) => c.redirect(&format!("/r/{code}/admin/rewards?added=1")),
        Err(p) => {
            let msg = c.problem_full(&p);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let field = p.field.clone().unwrap_or_default();
            rewards_page(&c, &code, f, &field, msg, String::new(), status).await
        }
    }
}

// ---------------------------------------------------------------- budget and sponsors

pub struct MonthRow {
    pub month: String,
    pub issued: i64,
    pub deducted: i64,
    pub redeemed: i64,
    pub expired: i64,
    pub outstanding: i64,
}

/// One month of the budget chart: points issued and redeemed, as two bars with values.
pub struct BudgetBar {
    pub y: i64,
    pub label: String,
    pub issued_w: i64,
    pub issued: i64,
    pub redeemed_w: i64,
    pub redeemed: i64,
}

/// One month of the "held at the month's end" chart: a column with its value.
pub struct HeldBar {
    pub x: i64,
    pub y: i64,
    pub h: i64,
    /// `MM`.
    pub month: String,
    pub value: String,
    pub title: String,
}

/// Months drawn at full width on the "months left" chart (more are drawn as many).
const LASTING_MONTHS_FULL: f64 = 24.0;
const LASTING_W: f64 = 170.0;

/// Months each sponsor's budget lasts at the recent rate, as bars; a sponsor with
/// no redemptions lately lasts "no end in sight" and gets a full bar.
fn lasting_bars(c: &Ctx, sponsors: &[(String, Option<f64>)]) -> Vec<(i64, i64, String, String)> {
    sponsors
        .iter()
        .enumerate()
        .map(|(i, (name, months))| {
            let (w, label) = match months {
                Some(m) => (
                    (m.min(LASTING_MONTHS_FULL) / LASTING_MONTHS_FULL * LASTING_W).round() as i64,
                    c.tr1("budget.months_n", format!("{m:.1}")),
                ),
                None => (LASTING_W as i64, c.tr("budget.months_unused").to_owned()),
            };
            // The bar starts where a six-character name ends; a longer one is cut
            // (the bar's title and the table above carry it whole).
            let short = if name.chars().count() > 6 {
                name.chars().take(5).chain(['…']).collect()
            } else {
                name.clone()
            };
            (i as i64 * 22, w.max(1), short, label)
        })
        .collect()
}

/// Height of the tallest "held" column, in SVG units.
const HELD_BAR_MAX: i64 = 80;

/// A number short enough for a column: 12.3k (en) or 1.2万 (zh) from ten thousand up.
fn short_number(c: &Ctx, v: i64) -> String {
    match c.lang {
        super::i18n::Lang::Zh if v.abs() >= 10_000 => format!("{:.1}万", v as f64 / 10_000.0),
        super::i18n::Lang::En if v.abs() >= 10_000 => format!("{:.1}k", v as f64 / 1_000.0),
        _ => v.to_string(),
    }
}

fn held_bars(c: &Ctx, months: &[MonthRow]) -> Vec<HeldBar> {
    let top = months
        .iter()
        .map(|m| m.outstanding)
        .max()
        .unwrap_or(0)
        .max(1);
    months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let h = m.outstanding.max(0) * HELD_BAR_MAX / top;
            HeldBar {
                x: 4 + i as i64 * 26,
                y: 14 + HELD_BAR_MAX - h,
                h,
                month: m.month.get(5..7).unwrap_or(&m.month).to_owned(),
                value: short_number(c, m.outstanding),
                title: c.tr2("budget.held_month", &m.month, m.outstanding),
            }
        })
        .collect()
}

/// Width of the budget chart's longest bar, in SVG units.
const BUDGET_BAR_W: i64 = 190;
/// Height of one month's pair of bars.
const BUDGET_ROW_H: i64 = 26;

fn budget_bars(months: &[MonthRow]) -> Vec<BudgetBar> {
    let top = months
        .iter()
        .flat_map(|m| [m.issued, m.redeemed])
        .max()
        .unwrap_or(0)
        .max(1);
    months
        .iter()
        .enumerate()
        .map(|(i, m)| BudgetBar {
            y: i as i64 * BUDGET_ROW_H,
            label: m.month.clone(),
            issued_w: m.issued.max(0) * BUDGET_BAR_W / top,
            issued: m.issued,
            redeemed_w: m.redeemed.max(0) * BUDGET_BAR_W / top,
            redeemed: m.redeemed,
        })
        .collect()
}

pub struct SponsorRow {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub budget: i64,
    pub used: i64,
    pub left: i64,
    pub reserved: i64,
    pub per_month: i64,
    /// Months the budget left lasts at the current rate, or a dash.
    pub months_left: String,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct SponsorForm {
    csrf: String,
    code: String,
    name: String,
    kind: String,
    budget: String,
}

#[derive(Template)]
#[template(path = "budget.html")]
struct BudgetPage<'a> {
    c: &'a Ctx,
    region: String,
    outstanding: i64,
    reserved: i64,
    months: Vec<MonthRow>,
    bars: Vec<BudgetBar>,
    chart_h: i64,
    held: Vec<HeldBar>,
    /// Months left per sponsor as bars: (y, width, name, months as written).
    lasting: Vec<(i64, i64, String, String)>,
    sponsors: Vec<SponsorRow>,
    f: SponsorForm,
    error_field: String,
    error: String,
    saved: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SavedQuery {
    saved: String,
}

/// The region's points budget: what members hold (the liability), the flows of
/// the last twelve months, and each sponsor's committed budget, what is left and
/// how long it lasts; with the form that adds a sponsor or changes its budget.
async fn budget_page(c: Ctx, Path(r): Path<String>, q: Query<SavedQuery>) -> Response {
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let f = SponsorForm {
        kind: "merchant".into(),
        ..SponsorForm::default()
    };
    render_budget(
        &c,
        &code,
        f,
        "",
        String::new(),
        q.saved.clone(),
        StatusCode::OK,
    )
    .await
}

async fn render_budget(
    c: &Ctx,
    code: &RegionCode,
    f: SponsorForm,
    error_field: &str,
    error: String,
    saved: String,
    status: StatusCode,
) -> Response {
    if let Err(res) = c.require_role(code, &[Role::Admin]) {
        return *res;
    }
    let b = match c.get(&format!("/api/v1/regions/{code}/budget")).await {
        Ok(v) => v,
        Err(p) => return c.problem_page(&p),
    };
    let list = |k: &str| b[k].as_array().cloned().unwrap_or_default();
    let months: Vec<MonthRow> = list("months")
        .iter()
        .map(|m| MonthRow {
            month: s(m, "month"),
            issued: n(m, "issued"),
            deducted: n(m, "deducted"),
            redeemed: n(m, "redeemed"),
            expired: n(m, "expired"),
            outstanding: n(m, "outstanding"),
        })
        .collect();
    let lasting: Vec<(String, Option<f64>)> = list("sponsors")
        .iter()
        .map(|x| (s(&x["sponsor"], "name"), x["months_left"].as_f64()))
        .collect();
    let sponsors = list("sponsors")
        .iter()
        .map(|x| {
            let sp = &x["sponsor"];
            SponsorRow {
                code: s(sp, "code"),
                name: s(sp, "name"),
                kind: c.word("sponsor", &s(sp, "kind")),
                budget: n(sp, "budget"),
                used: n(sp, "used"),
                left: n(sp, "left"),
                reserved: n(x, "reserved"),
                per_month: n(x, "per_month"),
                months_left: x["months_left"]
                    .as_f64()
                    .map_or_else(|| "–".to_owned(), |m| format!("{m:.1}")),
            }
        })
        .collect();
    c.render(
        status,
        &BudgetPage {
            c,
            region: code.to_string(),
            outstanding: n(&b, "outstanding"),
            reserved: n(&b, "reserved"),
            bars: budget_bars(&months),
            held: held_bars(c, &months),
            lasting: lasting_bars(c, &lasting),
            chart_h: months.len() as i64 * BUDGET_ROW_H + 4,
            months,
            sponsors,
            f,
            error_field: error_field.to_owned(),
            error,
            saved,
        },
    )
}

async fn save_sponsor(c: Ctx, Path(r): Path<String>, Form(f): Form<SponsorForm>) -> Response {
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match region_for(&c, &r, &[Role::Admin]) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let refuse = |field: &'static str, msg: String| {
        let f = f.clone();
        let c = &c;
        let code = &code;
        async move {
            render_budget(
                c,
                code,
                f,
                field,
                msg,
                String::new(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let sponsor = f.code.trim();
    if jifen_core::SponsorCode::parse(sponsor).is_err() {
        return refuse("code", c.tr("budget.bad_code").to_owned()).await;
    }
    let Ok(budget) = f.budget.trim().parse::<i64>() else {
        return refuse("budget", c.tr("admin.bad_number").to_owned()).await;
    };
    let body = json!({ "name": f.name.trim(), "kind": f.kind, "budget": budget });
    match c
        .api(
            Method::PUT,
            &format!("/api/v1/regions/{code}/sponsors/{sponsor}"),
            Some(body),
            None,
        )
        .await
    {
        Ok(_) => c.redirect(&format!("/r/{code}/admin/budget?saved={sponsor}")),
        Err(p) => {
            let msg = c.problem_full(&p);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let field = p.field.clone().unwrap_or_else(|| "code".into());
            render_budget(&c, &code, f, &field, msg, String::new(), status).await
        }
    }
}
