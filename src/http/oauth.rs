//! The OAuth 2.1 authorization server, as the MCP authorization spec asks: metadata (RFC
//! 8414), dynamic registration (RFC 7591) and Client ID Metadata Documents, the
//! authorization endpoint (PKCE S256 only, exact redirect URIs, resource indicators bound
//! to one account endpoint), the token endpoint (codes and rotating refresh tokens) and
//! revocation (RFC 7009). The forms it shows are in [`super::pages`]; the state is
//! `catalog::oauth`.

use std::time::Duration;

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Form, Json,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use catalog::{
    accounts::Account,
    oauth::{AuthMethod, Client, ClientSource, Consent, NewClient},
    CatalogError,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{pages, Edge};

/// Scopes offered: everything the account allows, or nothing that changes anything.
pub(super) const SCOPE_FULL: &str = "mcp";
pub(super) const SCOPE_READ: &str = "mcp:read";
/// A Client ID Metadata Document is read within these limits.
const METADATA_MAX_BYTES: usize = 64 * 1024;
const METADATA_TIMEOUT: Duration = Duration::from_secs(5);
/// A cached metadata document is fetched again after this long.
const METADATA_TTL_MS: i64 = 3600 * 1000;

pub(super) async fn authorization_server_metadata(State(edge): State<Edge>) -> Response {
    let p = &edge.public_url;
    Json(json!({
        "issuer": p.to_string(),
        "authorization_endpoint": format!("{p}/oauth/authorize"),
        "token_endpoint": format!("{p}/oauth/token"),
        "registration_endpoint": format!("{p}/oauth/register"),
        "revocation_endpoint": format!("{p}/oauth/revoke"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "scopes_supported": [SCOPE_FULL, SCOPE_READ],
        "client_id_metadata_document_supported": true,
        "authorization_response_iss_parameter_supported": true,
        "service_documentation": format!("{p}/apps"),
    }))
    .into_response()
}

/// An OAuth error body (RFC 6749 §5.2) with its status.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn store_error(e: CatalogError) -> Response {
    match e {
        CatalogError::InvalidArgument { field, message } => oauth_error(
            StatusCode::BAD_REQUEST,
            if field == "redirect_uris" {
                "invalid_redirect_uri"
            } else {
                "invalid_client_metadata"
            },
            &format!("{field}: {message}"),
        ),
        e => {
            tracing::error!(error = %e, "store failed in the authorization server");
            oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the control-plane store is unavailable; try again shortly",
            )
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Registration {
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    client_name: Option<String>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    grant_types: Option<Vec<String>>,
    #[serde(default)]
    response_types: Option<Vec<String>>,
}

/// RFC 7591 dynamic registration. Open, as MCP clients need it, but bounded per address.
pub(super) async fn register(
    State(edge): State<Edge>,
    peer: pages::Peer,
    body: Result<Json<Registration>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if !edge.limiter.allow("registration", peer.0) {
        return oauth_error(
            StatusCode::TOO_MANY_REQUESTS,
            "invalid_client_metadata",
            "too many registrations from this address; wait a minute",
        );
    }
    let Ok(Json(r)) = body else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            "send the client metadata as a JSON object with redirect_uris",
        );
    };
    // RFC 7591 §2: absent means client_secret_basic.
    let method = r
        .token_endpoint_auth_method
        .as_deref()
        .unwrap_or("client_secret_basic");
    let Some(auth_method) = AuthMethod::parse(method) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            "token_endpoint_auth_method: use none, client_secret_basic or client_secret_post",
        );
    };
    let grants = r
        .grant_types
        .clone()
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    if grants
        .iter()
        .any(|g| g != "authorization_code" && g != "refresh_token")
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            "grant_types: only authorization_code and refresh_token are offered",
        );
    }
    if r.response_types
        .as_ref()
        .is_some_and(|t| t.iter().any(|t| t != "code"))
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            "response_types: only code is offered",
        );
    }
    let new = NewClient {
        client_name: r.client_name.clone().unwrap_or_default(),
        redirect_uris: r.redirect_uris.clone(),
        auth_method,
    };
    let (client, secret) = match edge.store.register_client(new).await {
        Ok(c) => c,
        Err(e) => return store_error(e),
    };
    let mut out = json!({
        "client_id": client.client_id,
        "client_id_issued_at": chrono::Utc::now().timestamp(),
        "client_name": client.client_name,
        "redirect_uris": client.redirect_uris,
        "token_endpoint_auth_method": client.auth_method.as_str(),
        "grant_types": grants,
        "response_types": ["code"],
    });
    if let Some(s) = secret {
        out["client_secret"] = json!(s);
        out["client_secret_expires_at"] = json!(0);
    }
    (
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(out),
    )
        .into_response()
}

/// The client a `client_id` names: registered here, or an `https` URL whose metadata
/// document is fetched (within limits) and cached.
pub(super) async fn find_client(
    edge: &Edge,
    client_id: &str,
    ip: std::net::IpAddr,
) -> Result<Client, String> {
    let known = edge
        .store
        .oauth_client(client_id)
        .await
        .map_err(|_| "the control-plane store is unavailable; try again shortly".to_string())?;
    let fresh = |c: &Client| {
        c.source == ClientSource::Registered
            || c.fetched_at
                .is_some_and(|t| catalog::time::now_ms() - t < METADATA_TTL_MS)
    };
    match known {
        Some(c) if fresh(&c) => Ok(c),
        _ if is_metadata_url(client_id, edge.allow_loopback_metadata) => {
            if !edge.limiter.allow("metadata", ip) {
                return Err("too many client metadata documents fetched for this address; wait a minute".into());
            }
            let doc = fetch_metadata(edge, client_id).await?;
            edge.store
                .remember_metadata_client(&doc, client_id)
                .await
                .map_err(|e| match e {
                    CatalogError::InvalidArgument { field, message } => {
                        format!("the client's metadata document is not usable: {field}: {message}")
                    }
                    _ => "the control-plane store is unavailable; try again shortly".into(),
                })
        }
        Some(c) => Ok(c),
        None => Err("unknown client_id; register the client first (RFC 7591) or use a Client ID Metadata Document URL".into()),
    }
}

/// A Client ID Metadata Document URL: `https` with a path, or loopback `http` when the
/// server is configured for tests.
fn is_metadata_url(id: &str, loopback: bool) -> bool {
    let Ok(u) = reqwest::Url::parse(id) else {
        return false;
    };
    let has_path = u.path().len() > 1;
    let plain = u.username().is_empty() && u.password().is_none() && u.fragment().is_none();
    match u.scheme() {
        // The standard port only: a metadata URL is no way to probe other services.
        "https" => has_path && plain && u.port().is_none_or(|p| p == 443),
        "http" => {
            loopback
                && has_path
                && matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
        }
        _ => false,
    }
}

/// Addresses a metadata document may not be fetched from: private, loopback, link-local,
/// shared, benchmarking, reserved and multicast ranges, and IPv6 forms that reach them
/// (IPv4-mapped and -compatible, NAT64, 6to4).
fn not_public(ip: std::net::IpAddr) -> bool {
    use std::net::{IpAddr, Ipv4Addr};
    let v4 = |v: Ipv4Addr| {
        let o = v.octets();
        v.is_private()
            || v.is_loopback()
            || v.is_link_local()
            || v.is_unspecified()
            || v.is_broadcast()
            || v.is_multicast()
            || o[0] == 0
            || o[0] >= 240
            || o[0] == 100 && (64..128).contains(&o[1])
            || o[0] == 198 && (18..20).contains(&o[1])
            || o[0] == 192 && o[1] == 0 && o[2] == 0
    };
    match ip {
        IpAddr::V4(v) => v4(v),
        IpAddr::V6(v) => {
            let seg = v.segments();
            if let Some(inner) = v.to_ipv4_mapped().or_else(|| v.to_ipv4()) {
                return v4(inner) || v.is_unspecified() || v.is_loopback();
            }
            let embedded = |hi: u16, lo: u16| {
                Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)
            };
            v.is_loopback()
                || v.is_unspecified()
                || v.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || (seg[0] == 0x64 && seg[1] == 0xff9b && v4(embedded(seg[6], seg[7])))
                || (seg[0] == 0x2002 && v4(embedded(seg[1], seg[2])))
        }
    }
}

/// Fetches a metadata document: no redirects, a deadline, a size cap, and never from a
/// private or loopback address (unless configured for tests), checked after resolution.
async fn fetch_metadata(edge: &Edge, url: &str) -> Result<NewClient, String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "client_id is not a URL".to_string())?;
    let host = parsed.host_str().unwrap_or_default().to_string();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs: Vec<std::net::SocketAddr> = tokio::time::timeout(
        METADATA_TIMEOUT,
        tokio::net::lookup_host((host.trim_matches(|c| c == '[' || c == ']'), port)),
    )
    .await
    .map_err(|_| "the client's metadata document host did not resolve in time".to_string())?
    .map_err(|_| "the client's metadata document host does not resolve".to_string())?
    .collect();
    let Some(addr) = addrs
        .iter()
        .find(|a| edge.allow_loopback_metadata && a.ip().is_loopback() || !not_public(a.ip()))
        .copied()
    else {
        return Err(
            "the client's metadata document is on a private address; it must be public".into(),
        );
    };
    // Connect to the address checked, so a second lookup cannot point elsewhere.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(METADATA_TIMEOUT)
        .resolve(&host, addr)
        .build()
        .map_err(|_| "cannot fetch the client's metadata document".to_string())?;
    let mut resp = http
        .get(parsed)
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "the client's metadata document did not arrive in time".to_string()
            } else {
                "the client's metadata document could not be fetched".to_string()
            }
        })?;
    if !resp.status().is_success() {
        return Err(format!(
            "the client's metadata document answered HTTP {}",
            resp.status().as_u16()
        ));
    }
    let mut body = Vec::new();
    loop {
        let chunk = tokio::time::timeout(METADATA_TIMEOUT, resp.chunk())
            .await
            .map_err(|_| "the client's metadata document did not arrive in time".to_string())?
            .map_err(|_| "the client's metadata document could not be read".to_string())?;
        let Some(chunk) = chunk else { break };
        if body.len() + chunk.len() > METADATA_MAX_BYTES {
            return Err(format!(
                "the client's metadata document is larger than {METADATA_MAX_BYTES} bytes"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let doc: Value = serde_json::from_slice(&body)
        .map_err(|_| "the client's metadata document is not JSON".to_string())?;
    if doc["client_id"].as_str() != Some(url) {
        return Err("the client's metadata document names another client_id".into());
    }
    let redirect_uris: Vec<String> = doc["redirect_uris"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    Ok(NewClient {
        client_name: doc["client_name"].as_str().unwrap_or_default().to_string(),
        redirect_uris,
        auth_method: AuthMethod::None,
    })
}

/// The parameters of an authorization request, from the query or the consent form.
#[derive(Deserialize, Clone, Default)]
pub(super) struct AuthorizeParams {
    #[serde(default)]
    pub response_type: String,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub redirect_uri: String,
    #[serde(default)]
    pub code_challenge: String,
    #[serde(default)]
    pub code_challenge_method: String,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub resource: Option<String>,
}

impl AuthorizeParams {
    /// The fields the consent form carries back.
    pub fn hidden(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("response_type", self.response_type.clone()),
            ("client_id", self.client_id.clone()),
            ("redirect_uri", self.redirect_uri.clone()),
            ("code_challenge", self.code_challenge.clone()),
            ("code_challenge_method", self.code_challenge_method.clone()),
        ];
        for (k, val) in [
            ("state", &self.state),
            ("scope", &self.scope),
            ("resource", &self.resource),
        ] {
            if let Some(val) = val {
                v.push((k, val.clone()));
            }
        }
        v
    }
}

/// A checked authorization request: the client, its redirect, and the account.
pub(super) struct Checked {
    pub client: Client,
    pub account: Account,
    pub resource: String,
}

/// What is wrong with a request: shown on a page when the redirect URI cannot be trusted,
/// sent back to the client once it can.
pub(super) enum Bad {
    Page(String),
    Redirect(Response),
}

/// The redirect back to the client, with the issuer (RFC 9207) and the state.
pub(super) fn back(p: &AuthorizeParams, issuer: &str, pairs: &[(&str, &str)]) -> Response {
    let mut url = reqwest::Url::parse(&p.redirect_uri)
        .unwrap_or_else(|_| reqwest::Url::parse("http://127.0.0.1/").expect("a URL"));
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
        if let Some(s) = &p.state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", issuer);
    }
    Redirect::to(url.as_str()).into_response()
}

/// Checks an authorization request, for the user whose accounts are `accounts`.
pub(super) async fn check(
    edge: &Edge,
    p: &AuthorizeParams,
    user_id: Option<i64>,
    ip: std::net::IpAddr,
) -> Result<Option<Checked>, Bad> {
    if p.client_id.is_empty() {
        return Err(Bad::Page(
            "client_id is missing from the authorization request".into(),
        ));
    }
    let client = find_client(edge, &p.client_id, ip)
        .await
        .map_err(Bad::Page)?;
    if p.redirect_uri.is_empty()
        || !client
            .redirect_uris
            .iter()
            .any(|r| catalog::oauth::clients::redirect_matches(r, &p.redirect_uri))
    {
        return Err(Bad::Page(
            "redirect_uri is not one this client registered; the request is refused".into(),
        ));
    }
    let issuer = edge.public_url.to_string();
    // Anyone may register a client with any redirect URI, so before a user has signed in
    // an error is a page, not a redirect (RFC 9700 §4.11.2: no open redirector).
    let redirectable = user_id.is_some() || client.source == ClientSource::MetadataDocument;
    let err = |code: &str, why: &str| {
        if redirectable {
            Bad::Redirect(back(
                p,
                &issuer,
                &[("error", code), ("error_description", why)],
            ))
        } else {
            Bad::Page(format!("{code}: {why}"))
        }
    };
    if p.response_type != "code" {
        return Err(err(
            "unsupported_response_type",
            "response_type must be code",
        ));
    }
    if p.code_challenge_method != "S256"
        || !catalog::oauth::grants::is_s256_challenge(&p.code_challenge)
    {
        return Err(err(
            "invalid_request",
            "PKCE is required: send code_challenge with code_challenge_method=S256",
        ));
    }
    if let Some(scope) = &p.scope {
        if scope
            .split_whitespace()
            .any(|s| s != SCOPE_FULL && s != SCOPE_READ && s != "offline_access")
        {
            return Err(err("invalid_scope", "scopes offered: mcp, mcp:read"));
        }
    }
    let Some(user_id) = user_id else {
        return Ok(None);
    };
    let accounts = edge.store.accounts_of(user_id).await.map_err(|_| {
        Bad::Page("the control-plane store is unavailable; try again shortly".into())
    })?;
    let (account, resource) = match &p.resource {
        Some(r) => {
            let Some(reference) = account_of_resource(&edge.public_url, r) else {
                return Err(err(
                    "invalid_target",
                    "resource must be this server's MCP endpoint, {public_url}/{account}/api/mcp",
                ));
            };
            let found = accounts
                .iter()
                .find(|a| a.subdomain == reference || a.id.to_string() == reference);
            match found {
                Some(a) => (a.clone(), r.clone()),
                None => {
                    return Err(err(
                        "invalid_target",
                        "you are not a member of the account this resource names",
                    ))
                }
            }
        }
        None if accounts.len() == 1 => {
            let a = accounts[0].clone();
            let r = format!("{}/{}/api/mcp", edge.public_url, a.subdomain);
            (a, r)
        }
        None => {
            return Err(err(
                "invalid_target",
                "you belong to several accounts: send resource={public_url}/{account}/api/mcp",
            ))
        }
    };
    Ok(Some(Checked {
        client,
        account,
        resource,
    }))
}

/// The account reference in `{public}/{account}/api/mcp`.
pub(super) fn account_of_resource(public: &str, resource: &str) -> Option<String> {
    let rest = resource.strip_prefix(public)?.strip_prefix('/')?;
    let account = rest.strip_suffix("/api/mcp")?;
    catalog::accounts::is_account_reference(account).then(|| account.to_string())
}

/// GET /oauth/authorize: checks the request; the consent page if signed in, else sign-in.
pub(super) async fn authorize_page(
    State(edge): State<Edge>,
    peer: pages::Peer,
    headers: HeaderMap,
    Query(p): Query<AuthorizeParams>,
) -> Response {
    let session = pages::session(&edge, &headers).await;
    match check(&edge, &p, session.as_ref().map(|s| s.user.id), peer.0).await {
        Err(Bad::Page(why)) => {
            pages::message(StatusCode::BAD_REQUEST, "Authorization refused", &why)
        }
        Err(Bad::Redirect(r)) => r,
        Ok(None) => {
            let query = serde_urlencoded::to_string(p.hidden()).unwrap_or_default();
            let next = format!("/oauth/authorize?{query}");
            Redirect::to(&format!(
                "/login?{}",
                serde_urlencoded::to_string([("next", next)]).unwrap_or_default()
            ))
            .into_response()
        }
        Ok(Some(c)) => {
            let s = session.expect("checked with a user");
            let read_only = p.scope.as_deref().is_some_and(|sc| {
                sc.split_whitespace().any(|x| x == SCOPE_READ)
                    && !sc.split_whitespace().any(|x| x == SCOPE_FULL)
            });
            // The account's connections, offered as a limit (the first hundred).
            let connections = edge
                .store
                .list_connections(c.account.id, None, catalog::PageRequest::new(100, 0))
                .await
                .map(|p| p.items)
                .unwrap_or_default();
            pages::consent(&edge, &s, &c, &p, read_only, connections)
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ConsentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    access: String,
    #[serde(flatten)]
    params: AuthorizeParams,
}

/// The limits the user ticked on the consent screen: only what it creates, only some
/// tools (each one the server has), only some connections (each one of the account).
async fn consent_limits(
    edge: &Edge,
    account_id: i64,
    access: &str,
    pairs: &[(String, String)],
) -> Result<catalog::access::Scopes, String> {
    fn picked<'a>(pairs: &'a [(String, String)], k: &'a str) -> impl Iterator<Item = &'a str> {
        pairs
            .iter()
            .filter(move |(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
    let mut tools: Vec<String> = Vec::new();
    for t in picked(pairs, "tool").take(500) {
        if !edge.tool_names.contains(&t) {
            return Err("a tool ticked on the consent screen does not exist; start again".into());
        }
        if !tools.iter().any(|x| x == t) {
            tools.push(t.to_string());
        }
    }
    let mut connections: Vec<i64> = Vec::new();
    for c in picked(pairs, "connection").take(1000) {
        let id: i64 = c.parse().map_err(|_| {
            "a connection ticked on the consent screen is not valid; start again".to_string()
        })?;
        if edge.store.connection(account_id, id).await.is_err() {
            return Err(
                "a connection ticked on the consent screen is not in this account; start again"
                    .into(),
            );
        }
        if !connections.contains(&id) {
            connections.push(id);
        }
    }
    Ok(catalog::access::Scopes {
        tools: (!tools.is_empty()).then_some(tools),
        connections: (!connections.is_empty()).then_some(connections),
        created_only: access == "created_only",
    })
}

/// POST /oauth/authorize: the consent page's answer.
pub(super) async fn authorize_decision(
    State(edge): State<Edge>,
    peer: pages::Peer,
    headers: HeaderMap,
    body: String,
) -> Response {
    // The form, and the limits ticked (repeated `connection` and `tool` fields).
    let (Ok(f), Ok(pairs)) = (
        serde_urlencoded::from_str::<ConsentForm>(&body),
        serde_urlencoded::from_str::<Vec<(String, String)>>(&body),
    ) else {
        return pages::message(
            StatusCode::BAD_REQUEST,
            "Request refused",
            "the consent form could not be read; start the authorization again",
        );
    };
    let Some(s) = pages::session(&edge, &headers).await else {
        return pages::message(
            StatusCode::UNAUTHORIZED,
            "Sign in first",
            "your sign-in has ended; start the authorization again from your application",
        );
    };
    if !pages::csrf_ok(&s, &f.csrf) {
        return pages::message(
            StatusCode::FORBIDDEN,
            "Request refused",
            "the form is stale or was not sent from this page; start the authorization again",
        );
    }
    let p = f.params;
    let c = match check(&edge, &p, Some(s.user.id), peer.0).await {
        Err(Bad::Page(why)) => {
            return pages::message(StatusCode::BAD_REQUEST, "Authorization refused", &why)
        }
        Err(Bad::Redirect(r)) => return r,
        Ok(None) => unreachable!("a user was given"),
        Ok(Some(c)) => c,
    };
    let issuer = edge.public_url.to_string();
    if f.decision != "allow" {
        return back(
            &p,
            &issuer,
            &[
                ("error", "access_denied"),
                ("error_description", "the user denied access"),
            ],
        );
    }
    let consent = Consent {
        account_id: c.account.id,
        user_id: s.user.id,
        client: &c.client,
        read_only: f.access == "read_only",
        scopes: match consent_limits(&edge, c.account.id, &f.access, &pairs).await {
            Ok(scopes) => scopes,
            Err(why) => {
                return pages::message(StatusCode::BAD_REQUEST, "Authorization refused", &why)
            }
        },
        redirect_uri: &p.redirect_uri,
        code_challenge: &p.code_challenge,
        resource: &c.resource,
    };
    match edge.store.authorize(consent).await {
        Ok(code) => back(&p, &issuer, &[("code", &code)]),
        Err(e) => {
            tracing::error!(error = %e, "authorization failed");
            back(
                &p,
                &issuer,
                &[
                    ("error", "server_error"),
                    (
                        "error_description",
                        "the grant could not be recorded; try again",
                    ),
                ],
            )
        }
    }
}

#[derive(Deserialize, Default)]
pub(super) struct TokenForm {
    #[serde(default)]
    grant_type: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    code_verifier: String,
    #[serde(default)]
    refresh_token: String,
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    token: String,
}

/// The client a token-endpoint request authenticates as: Basic, a posted secret, or
/// (for a public client) its id alone.
async fn client_auth(
    edge: &Edge,
    headers: &HeaderMap,
    f: &TokenForm,
    ip: std::net::IpAddr,
) -> Result<Client, Box<Response>> {
    let invalid = |why: &str| {
        let mut r = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", why);
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Basic realm=\"pipewright\""),
        );
        Err(Box::new(r))
    };
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            let (id, secret) = s.split_once(':')?;
            let dec = |x: &str| {
                serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={x}"))
                    .ok()?
                    .pop()
                    .map(|p| p.1)
            };
            Some((dec(id)?, dec(secret)?))
        });
    let (id, secret) = match (&basic, &f.client_id) {
        (Some((id, secret)), _) => (id.clone(), Some(secret.clone())),
        (None, Some(id)) => (id.clone(), f.client_secret.clone()),
        (None, None) => {
            return invalid("identify the client: client_id, or HTTP Basic with its secret")
        }
    };
    let client = match find_client(edge, &id, ip).await {
        Ok(c) => c,
        Err(_) => return invalid("unknown client_id; register the client again"),
    };
    if client.auth_method != AuthMethod::None {
        let ok = match &secret {
            Some(s) => edge
                .store
                .check_client_secret(&id, s)
                .await
                .unwrap_or(false),
            None => false,
        };
        if !ok {
            return invalid("the client secret is missing or wrong");
        }
    }
    Ok(client)
}

/// POST /oauth/token.
pub(super) async fn token(
    State(edge): State<Edge>,
    peer: pages::Peer,
    headers: HeaderMap,
    Form(f): Form<TokenForm>,
) -> Response {
    let client = match client_auth(&edge, &headers, &f, peer.0).await {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let result = match f.grant_type.as_str() {
        "authorization_code" => {
            if f.code.is_empty() || f.code_verifier.is_empty() {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "send code, code_verifier and redirect_uri",
                );
            }
            edge.store
                .redeem_code(
                    &f.code,
                    &client.client_id,
                    &f.redirect_uri,
                    &f.code_verifier,
                    f.resource.as_deref(),
                )
                .await
        }
        "refresh_token" => {
            if f.refresh_token.is_empty() {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "send refresh_token",
                );
            }
            edge.store
                .refresh_grant(&f.refresh_token, &client.client_id, f.resource.as_deref())
                .await
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token",
            )
        }
    };
    match result {
        Ok(Ok(t)) => (
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::PRAGMA, "no-cache"),
            ],
            Json(json!({
                "access_token": t.access_token,
                "token_type": "Bearer",
                "expires_in": t.expires_in,
                "refresh_token": t.refresh_token,
                "scope": if t.read_only { SCOPE_READ } else { SCOPE_FULL },
            })),
        )
            .into_response(),
        Ok(Err(r)) => oauth_error(StatusCode::BAD_REQUEST, r.error(), r.description()),
        Err(e) => store_error(e),
    }
}

/// POST /oauth/revoke (RFC 7009): always 200 for a well-formed request.
pub(super) async fn revoke(
    State(edge): State<Edge>,
    peer: pages::Peer,
    headers: HeaderMap,
    Form(f): Form<TokenForm>,
) -> Response {
    if f.token.is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send the token to revoke",
        );
    }
    let client_id = match client_auth(&edge, &headers, &f, peer.0).await {
        Ok(c) => Some(c.client_id),
        Err(_) => None,
    };
    let Some(client_id) = client_id else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "identify the client: client_id, or HTTP Basic with its secret",
        );
    };
    match edge.store.revoke_oauth_token(&f.token, &client_id).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => store_error(e),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn resource_names_one_account() {
        let p = "https://pw.example";
        assert_eq!(
            super::account_of_resource(p, "https://pw.example/acme/api/mcp").as_deref(),
            Some("acme")
        );
        assert_eq!(
            super::account_of_resource(p, "https://pw.example/42/api/mcp").as_deref(),
            Some("42")
        );
        assert!(super::account_of_resource(p, "https://evil.example/acme/api/mcp").is_none());
        assert!(super::account_of_resource(p, "https://pw.example/acme/api/mcp/x").is_none());
        assert!(super::account_of_resource(p, "https://pw.example/a/b/api/mcp").is_none());
    }
}

#[cfg(test)]
mod address_tests {
    #[test]
    fn only_public_addresses_serve_metadata_documents() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "198.18.0.1",
            "240.0.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "ff02::1",
        ] {
            assert!(super::not_public(a.parse().unwrap()), "{a}");
        }
        for a in [
            "93.184.215.14",
            "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
            "64:ff9b::5db8:d70e",
        ] {
            assert!(!super::not_public(a.parse().unwrap()), "{a}");
        }
    }
}
