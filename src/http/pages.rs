//! The web pages (server-rendered, no script needed): sign-in, the consent screen and
//! Connected Applications. A sign-in is a random session id in an HttpOnly, SameSite=Lax
//! (Secure unless the server is plain HTTP on a non-loopback host) cookie, kept hashed;
//! every form carries the session's CSRF token; failed sign-ins are rate limited per
//! address and email, while a browser that signed in before (a device cookie) keeps its
//! own allowance, so a brute force cannot lock the owner out.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::Mutex,
    time::{Duration, Instant},
};

use askama::Template;
use axum::{
    extract::{ConnectInfo, FromRequestParts, Path, Query, State},
    http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    Form,
};
use catalog::{tokens::NewToken, users::WebSession};
use serde::Deserialize;

use super::{
    oauth::{AuthorizeParams, Checked},
    Edge,
};

const SESSION_COOKIE: &str = "pw_session";
const DEVICE_COOKIE: &str = "pw_device";
/// Pairs the sign-in form with the browser that loaded it (login CSRF).
const LOGIN_COOKIE: &str = "pw_login";
/// Failed sign-ins allowed per window, per (address, email) and per device.
const MAX_FAILURES: usize = 5;
/// Failed sign-ins allowed per window for one email from browsers it never used, from
/// every address together: the ceiling on a distributed guess.
const MAX_FAILURES_PER_EMAIL: usize = 50;
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Dynamic registrations, and metadata-document fetches, allowed per address per minute.
const MAX_PER_MINUTE: usize = 30;
/// Keys a limiter map holds at most; past it, stale entries go, then all of them.
const MAX_KEYS: usize = 100_000;
/// Password checks (argon2: 19 MiB and tens of milliseconds each) run at once.
pub(super) const HASHING_AT_ONCE: usize = 4;

/// The caller's address: the connection's, or (with `trust_forwarded_for`, behind a
/// reverse proxy) the last address the proxy appended to `X-Forwarded-For`.
pub(super) struct Peer(pub IpAddr);

impl FromRequestParts<Edge> for Peer {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, edge: &Edge) -> Result<Self, Self::Rejection> {
        let socket = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        let forwarded = if edge.trust_forwarded_for {
            parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
                .and_then(|a| a.trim().parse::<IpAddr>().ok())
        } else {
            None
        };
        Ok(Peer(forwarded.unwrap_or(socket)))
    }
}

/// Counts of recent failures, registrations and metadata fetches, in memory (per replica:
/// a brute force spread over replicas gets each one's allowance, still a few a minute).
#[derive(Default)]
pub(super) struct Limiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
    per_minute: Mutex<HashMap<(&'static str, IpAddr), Vec<Instant>>>,
}

fn recent(v: &mut Vec<Instant>, window: Duration) -> usize {
    let now = Instant::now();
    v.retain(|t| now.duration_since(*t) < window);
    v.len()
}

/// Keeps a limiter map bounded: stale entries go, and past the cap everything does (an
/// attacker who fills it with fresh keys gains a reset, never memory).
fn bound<K: std::hash::Hash + Eq>(m: &mut HashMap<K, Vec<Instant>>, window: Duration) {
    if m.len() >= MAX_KEYS {
        m.retain(|_, v| recent(v, window) > 0);
        if m.len() >= MAX_KEYS {
            m.clear();
        }
    }
}

impl Limiter {
    fn blocked(&self, key: &str) -> bool {
        let mut m = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        m.get_mut(key)
            .is_some_and(|v| recent(v, FAILURE_WINDOW) >= MAX_FAILURES)
    }
    fn blocked_email(&self, email: &str) -> bool {
        let mut m = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        m.get_mut(&format!("email:{email}"))
            .is_some_and(|v| recent(v, FAILURE_WINDOW) >= MAX_FAILURES_PER_EMAIL)
    }
    fn fail(&self, keys: &[String]) {
        let mut m = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        bound(&mut m, FAILURE_WINDOW);
        for key in keys {
            m.entry(key.clone()).or_default().push(Instant::now());
        }
    }
    /// One more `what` (a registration, a metadata fetch) from `ip` this minute, if allowed.
    pub(super) fn allow(&self, what: &'static str, ip: IpAddr) -> bool {
        let minute = Duration::from_secs(60);
        let mut m = self.per_minute.lock().unwrap_or_else(|p| p.into_inner());
        bound(&mut m, minute);
        let v = m.entry((what, ip)).or_default();
        if recent(v, minute) >= MAX_PER_MINUTE {
            return false;
        }
        v.push(Instant::now());
        true
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn set_cookie(edge: &Edge, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if edge.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The signed-in session of this request, if any.
pub(super) async fn session(edge: &Edge, headers: &HeaderMap) -> Option<WebSession> {
    let id = cookie(headers, SESSION_COOKIE)?;
    edge.store.web_session(id).await.ok().flatten()
}

pub(super) fn csrf_ok(s: &WebSession, given: &str) -> bool {
    // Equal length first, then every byte: no early exit on the first difference.
    s.csrf.len() == given.len()
        && s.csrf
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn render(status: StatusCode, t: impl Template) -> Response {
    match t.render() {
        Ok(html) => (
            status,
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::X_FRAME_OPTIONS, "DENY"),
                (header::REFERRER_POLICY, "no-referrer"),
            ],
            Html(html),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    title: &'a str,
    message: &'a str,
}

pub(super) fn message(status: StatusCode, title: &str, message: &str) -> Response {
    render(status, MessagePage { title, message })
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    client_name: &'a str,
    client_id: &'a str,
    account: &'a str,
    user_email: &'a str,
    redirect_host: String,
    csrf: &'a str,
    hidden: Vec<(&'static str, String)>,
    read_only: bool,
    connections: Vec<catalog::connections::ConnectionSummary>,
    tools: &'a [&'static str],
}

pub(super) fn consent(
    edge: &Edge,
    s: &WebSession,
    c: &Checked,
    p: &AuthorizeParams,
    read_only: bool,
    connections: Vec<catalog::connections::ConnectionSummary>,
) -> Response {
    let redirect_host = reqwest::Url::parse(&p.redirect_uri)
        .ok()
        .map(|u| format!("{}://{}", u.scheme(), u.host_str().unwrap_or_default()))
        .unwrap_or_default();
    render(
        StatusCode::OK,
        ConsentPage {
            client_name: &c.client.client_name,
            client_id: &c.client.client_id,
            account: &c.account.subdomain,
            user_email: &s.user.email,
            redirect_host,
            csrf: &s.csrf,
            hidden: p.hidden(),
            read_only,
            connections,
            tools: &edge.tool_names,
        },
    )
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    error: Option<&'a str>,
    next: &'a str,
    email: &'a str,
    pairing: &'a str,
}

#[derive(Deserialize, Default)]
pub(super) struct LoginQuery {
    #[serde(default)]
    next: String,
}

/// Only a path on this server may follow a sign-in (never another site): no scheme, no
/// `//`, no backslash, nothing a browser strips (`/\t/evil.example` is `//evil.example`).
fn safe_next(next: &str) -> &str {
    let plain = next.chars().all(|c| c.is_ascii_graphic()) && !next.contains('\\');
    if plain && next.starts_with('/') && !next.starts_with("//") {
        next
    } else {
        "/apps"
    }
}

/// The sign-in form, with a value its POST must carry back in the form and the cookie.
fn login_form(
    edge: &Edge,
    status: StatusCode,
    error: Option<&str>,
    next: &str,
    email: &str,
) -> Response {
    let pairing = catalog::tokens::mint_secret("");
    let mut resp = render(
        status,
        LoginPage {
            error,
            next,
            email,
            pairing: &pairing,
        },
    );
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(edge, LOGIN_COOKIE, &pairing, 3600),
    );
    resp
}

pub(super) async fn login_page(State(edge): State<Edge>, Query(q): Query<LoginQuery>) -> Response {
    login_form(&edge, StatusCode::OK, None, safe_next(&q.next), "")
}

/// A device cookie for `email`: signed with a key derived from the master key, so every
/// replica recognises it and it survives restarts; it names no one.
fn device_value(edge: &Edge, email: &str) -> String {
    catalog::tokens::hash_token(&format!(
        "{}:{}",
        edge.device_key,
        catalog::tokens::hash_token(email)
    ))
}

/// The account by subdomain, if the signed-in user belongs to it; else the page to show.
async fn member_account(
    edge: &Edge,
    s: &WebSession,
    account: &str,
) -> Result<catalog::accounts::Account, Box<Response>> {
    let acct = edge
        .store
        .accounts_of(s.user.id)
        .await
        .ok()
        .and_then(|v| v.into_iter().find(|a| a.subdomain == account));
    acct.ok_or_else(|| {
        Box::new(message(
            StatusCode::NOT_FOUND,
            "Not found",
            "You are not a member of this account.",
        ))
    })
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    pairing: String,
}

pub(super) async fn login(
    State(edge): State<Edge>,
    peer: Peer,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let email: String = f
        .email
        .trim()
        .to_ascii_lowercase()
        .chars()
        .take(catalog::users::MAX_EMAIL_BYTES)
        .collect();
    let next = safe_next(&f.next).to_string();
    let again = |status, why: &str| login_form(&edge, status, Some(why), &next, &email);
    // The form must come from a page this browser loaded (no sign-in forged cross-site).
    let paired =
        cookie(&headers, LOGIN_COOKIE).is_some_and(|c| !f.pairing.is_empty() && c == f.pairing);
    if !paired {
        return again(
            StatusCode::FORBIDDEN,
            "The sign-in form expired; sign in again.",
        );
    }
    // A browser that signed in as this user before has its own allowance.
    let device = cookie(&headers, DEVICE_COOKIE)
        .filter(|d| *d == device_value(&edge, &email))
        .map(|d| format!("device:{d}"));
    let trusted = device.is_some();
    let key = device.unwrap_or_else(|| format!("addr:{}:{email}", peer.0));
    if edge.limiter.blocked(&key) || (!trusted && edge.limiter.blocked_email(&email)) {
        return again(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed sign-ins from here; wait 15 minutes, or sign in from a browser you used before.",
        );
    }
    let permit = tokio::time::timeout(
        Duration::from_secs(10),
        edge.hashing.clone().acquire_owned(),
    )
    .await;
    let Ok(Ok(_permit)) = permit else {
        return again(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is busy checking passwords; try again in a moment.",
        );
    };
    let user = match edge.store.check_password(&email, &f.password).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            let mut keys = vec![key];
            if !trusted {
                keys.push(format!("email:{email}"));
            }
            edge.limiter.fail(&keys);
            return again(StatusCode::UNAUTHORIZED, "The email or password is wrong.");
        }
        Err(_) => {
            return again(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server cannot check passwords right now; try again shortly.",
            )
        }
    };
    let Ok(id) = edge.store.open_web_session(user.id).await else {
        return again(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server cannot sign you in right now; try again shortly.",
        );
    };
    let device = device_value(&edge, &email);
    let mut resp = Redirect::to(&next).into_response();
    let h = resp.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(
            &edge,
            SESSION_COOKIE,
            &id,
            catalog::users::SESSION_LIFETIME_MS / 1000,
        ),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(&edge, DEVICE_COOKIE, &device, 180 * 24 * 3600),
    );
    resp
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub(super) async fn logout(
    State(edge): State<Edge>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    // Only with the session's CSRF token: no one signs you out cross-site.
    let Some(s) = session(&edge, &headers).await else {
        return Redirect::to("/login").into_response();
    };
    if !csrf_ok(&s, &f.csrf) {
        return message(
            StatusCode::FORBIDDEN,
            "Request refused",
            "the form is stale or was not sent from this page; reload it",
        );
    }
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        let _ = edge.store.close_web_session(id).await;
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut()
        .append(header::SET_COOKIE, set_cookie(&edge, SESSION_COOKIE, "", 0));
    resp
}

struct Row {
    name: String,
    kind: &'static str,
    scopes: String,
    created: String,
    last_used: String,
    revoke: String,
}

#[derive(Template)]
#[template(path = "apps.html")]
struct AppsPage<'a> {
    account: &'a str,
    user_email: &'a str,
    csrf: &'a str,
    rows: Vec<Row>,
    new_token: Option<String>,
    error: Option<&'a str>,
    endpoint: String,
    bundles: Vec<super::bundles::Bundle>,
}

/// `/apps`: the first account of the user.
pub(super) async fn apps_home(State(edge): State<Edge>, headers: HeaderMap) -> Response {
    let Some(s) = session(&edge, &headers).await else {
        return Redirect::to("/login?next=/apps").into_response();
    };
    match edge.store.accounts_of(s.user.id).await {
        Ok(a) if !a.is_empty() => {
            Redirect::to(&format!("/apps/{}", a[0].subdomain)).into_response()
        }
        Ok(_) => message(
            StatusCode::OK,
            "No account",
            "You are not a member of any account yet; ask an administrator to add you.",
        ),
        Err(_) => message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Unavailable",
            "The server cannot list your accounts right now; try again shortly.",
        ),
    }
}

async fn apps_render(
    edge: &Edge,
    s: &WebSession,
    acct: &catalog::accounts::Account,
    new_token: Option<String>,
    error: Option<&str>,
) -> Response {
    let (Ok(tokens), Ok(grants)) = (
        edge.store.list_tokens(acct.id).await,
        edge.store.grants_of(acct.id, s.user.id).await,
    ) else {
        return message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Unavailable",
            "The server cannot list your applications right now; try again shortly.",
        );
    };
    let mut rows: Vec<Row> = tokens
        .into_iter()
        .filter(|t| {
            t.user_id == s.user.id && t.revoked_at.is_none() && t.prefix.starts_with("pwt_")
        })
        .map(|t| Row {
            name: t.name,
            kind: "Personal Access Token",
            scopes: t.scopes.describe(t.read_only),
            created: t.created_at,
            last_used: t.last_used_at.unwrap_or_else(|| "never".into()),
            revoke: format!("token:{}", t.id),
        })
        .collect();
    rows.extend(grants.into_iter().map(|g| Row {
        name: g.client_name,
        kind: "OAuth application",
        scopes: g.scopes.describe(g.read_only),
        created: g.created_at,
        last_used: g.last_used_at.unwrap_or_else(|| "never".into()),
        revoke: format!("grant:{}", g.id),
    }));
    let dir = edge.bundles_dir.clone();
    let bundles = tokio::task::spawn_blocking(move || super::bundles::list(dir.as_deref()))
        .await
        .unwrap_or_default();
    render(
        if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        AppsPage {
            account: &acct.subdomain,
            user_email: &s.user.email,
            csrf: &s.csrf,
            rows,
            new_token,
            error,
            endpoint: format!("{}/{}/api/mcp", edge.public_url, acct.subdomain),
            bundles,
        },
    )
}

pub(super) async fn apps(
    State(edge): State<Edge>,
    headers: HeaderMap,
    Path(account): Path<String>,
) -> Response {
    let Some(s) = session(&edge, &headers).await else {
        return Redirect::to(&format!("/login?next=/apps/{account}")).into_response();
    };
    match member_account(&edge, &s, &account).await {
        Ok(acct) => apps_render(&edge, &s, &acct, None, None).await,
        Err(r) => *r,
    }
}

/// A form posted by a signed-in member of `account`, with the session's CSRF token.
async fn member_form(
    edge: &Edge,
    headers: &HeaderMap,
    account: &str,
    csrf: &str,
) -> Result<(WebSession, catalog::accounts::Account), Box<Response>> {
    let Some(s) = session(edge, headers).await else {
        return Err(Box::new(Redirect::to("/login").into_response()));
    };
    if !csrf_ok(&s, csrf) {
        return Err(Box::new(message(
            StatusCode::FORBIDDEN,
            "Request refused",
            "the form is stale or was not sent from this page; reload it",
        )));
    }
    let acct = member_account(edge, &s, account).await?;
    Ok((s, acct))
}

#[derive(Deserialize)]
pub(super) struct NewTokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    read_only: Option<String>,
}

pub(super) async fn create_token(
    State(edge): State<Edge>,
    headers: HeaderMap,
    Path(account): Path<String>,
    Form(f): Form<NewTokenForm>,
) -> Response {
    let (s, acct) = match member_form(&edge, &headers, &account, &f.csrf).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let made = edge
        .store
        .create_token(NewToken {
            account_id: acct.id,
            user_id: s.user.id,
            name: f.name.trim(),
            lifetime_ms: None,
            read_only: f.read_only.is_some(),
        })
        .await;
    match made {
        Ok((_, secret)) => apps_render(&edge, &s, &acct, Some(secret), None).await,
        Err(catalog::CatalogError::InvalidArgument { message, .. }) => {
            apps_render(&edge, &s, &acct, None, Some(&message)).await
        }
        Err(_) => message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Unavailable",
            "The token could not be created; try again shortly.",
        ),
    }
}

#[derive(Deserialize)]
pub(super) struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    what: String,
}

pub(super) async fn revoke(
    State(edge): State<Edge>,
    headers: HeaderMap,
    Path(account): Path<String>,
    Form(f): Form<RevokeForm>,
) -> Response {
    let (s, acct) = match member_form(&edge, &headers, &account, &f.csrf).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let done = match f.what.split_once(':') {
        Some(("token", id)) => match id.parse::<i64>() {
            Ok(id) => match edge.store.token(id).await {
                Ok(t) if t.account_id == acct.id && t.user_id == s.user.id => {
                    edge.store.revoke_token(id).await.map(drop)
                }
                _ => Err(catalog::CatalogError::not_found("token", id)),
            },
            Err(_) => Err(catalog::CatalogError::not_found("token", id)),
        },
        Some(("grant", id)) => match id.parse::<i64>() {
            Ok(id) => edge.store.revoke_grant(acct.id, s.user.id, id).await,
            Err(_) => Err(catalog::CatalogError::not_found("grant", id)),
        },
        _ => Err(catalog::CatalogError::not_found("application", "")),
    };
    match done {
        Ok(()) => Redirect::to(&format!("/apps/{account}")).into_response(),
        Err(_) => {
            apps_render(
                &edge,
                &s,
                &acct,
                None,
                Some("That application is not yours or no longer exists."),
            )
            .await
        }
    }
}
