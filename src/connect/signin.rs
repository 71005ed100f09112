//! The OAuth 2.1 sign-in of `pipewright connect`, as the MCP authorization spec asks of a
//! client: the endpoint's 401 names its protected-resource metadata (RFC 9728; else the
//! well-known places are tried, path first), that names the authorization server, whose
//! metadata (RFC 8414 or OpenID discovery, path-aware) gives the endpoints; a 2025-03-26
//! server with neither is asked at its own `/authorize`, `/token` and `/register`. The
//! client is a pre-registered one (`PIPEWRIGHT_OAUTH_CLIENT_ID`/`_SECRET`), a Client ID
//! Metadata Document (`PIPEWRIGHT_OAUTH_CLIENT_METADATA_URL`, when the server accepts
//! them) or a dynamic registration (RFC 7591). Then authorization code with PKCE S256,
//! the browser sent to a loopback redirect, the token bound to the endpoint with RFC 8707
//! `resource`, refreshed before it expires, the scope raised when the endpoint asks
//! (`insufficient_scope`) and never asked again for what it already has. Every address
//! must be https (or loopback http); no redirect is followed; every answer is bounded.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::{
    callback::{open_browser, Callback},
    challenge::Challenge,
    store::{Saved, Store},
};

/// Metadata and token answers larger than this are refused.
const MAX_ANSWER: usize = 256 * 1024;
/// Each request to an authorization server.
const OAUTH_DEADLINE: Duration = Duration::from_secs(30);
/// A token this close to its expiry is refreshed before use.
const EXPIRY_MARGIN: i64 = 30;
/// After a failed browser sign-in, requests within this long get its error instead of
/// opening another browser tab each.
const FAILED_COOL_DOWN: Duration = Duration::from_secs(30);
/// `expires_in` beyond this (ten years) is taken as this.
const MAX_LIFETIME: i64 = 10 * 365 * 24 * 3600;

/// How this client identifies itself, from the environment.
struct Settings {
    client_id: Option<String>,
    client_secret: Option<String>,
    /// The authorization server the pre-registered client belongs to (else: one on the
    /// endpoint's own host), so its secret is never sent to another.
    issuer: Option<String>,
    metadata_url: Option<String>,
}

impl Settings {
    fn from_env() -> Settings {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Settings {
            client_id: var("PIPEWRIGHT_OAUTH_CLIENT_ID"),
            client_secret: var("PIPEWRIGHT_OAUTH_CLIENT_SECRET"),
            issuer: var("PIPEWRIGHT_OAUTH_ISSUER"),
            metadata_url: var("PIPEWRIGHT_OAUTH_CLIENT_METADATA_URL"),
        }
    }
}

#[derive(Deserialize)]
struct ResourceMetadata {
    resource: Option<String>,
    #[serde(default)]
    authorization_servers: Vec<String>,
    scopes_supported: Option<Vec<String>>,
}

#[derive(Deserialize, Clone)]
struct ServerMetadata {
    issuer: Option<String>,
    authorization_endpoint: String,
    token_endpoint: String,
    registration_endpoint: Option<String>,
    revocation_endpoint: Option<String>,
    code_challenge_methods_supported: Option<Vec<String>>,
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    scopes_supported: Option<Vec<String>>,
    #[serde(default)]
    client_id_metadata_document_supported: bool,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    token_type: Option<String>,
    expires_in: Option<i64>,
    refresh_token: Option<String>,
    scope: Option<String>,
}

/// The client as the token endpoint knows it.
struct ClientAuth {
    id: String,
    secret: Option<String>,
    method: String,
}

/// What the browser sign-in remembers between attempts.
#[derive(Default)]
struct Interactive {
    /// The last failure and when, for the cool-down.
    failed: Option<(Instant, String)>,
    /// Scope asked for in a step-up and not granted: not asked for again.
    refused: Vec<String>,
}

/// A metadata document's fate: read, absent (the server has none there), or unreadable
/// (a network error, a timeout, a server error), which must not pass for absent.
enum Fetched {
    Found(Value),
    Missing,
    Failed,
}

pub struct SignIn {
    http: reqwest::Client,
    server: Url,
    store: Store,
    settings: Settings,
    /// The tokens in use; held only for moments, never across a network call.
    saved: Mutex<Option<Saved>>,
    /// Held across a browser sign-in, so one runs at a time and the others wait for it.
    interactive: Mutex<Interactive>,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn random_b64(n: usize) -> String {
    let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// https anywhere, plain http only to this machine.
fn allowed(u: &Url) -> bool {
    match u.scheme() {
        "https" => true,
        "http" => is_loopback(u),
        _ => false,
    }
}

fn is_loopback(u: &Url) -> bool {
    let host = u.host_str().unwrap_or("");
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback())
}

fn expiring(s: &Saved) -> bool {
    s.expires_at.is_some_and(|t| t - EXPIRY_MARGIN <= now())
}

fn expires_at(expires_in: Option<i64>) -> Option<i64> {
    expires_in.map(|x| now().saturating_add(x.clamp(0, MAX_LIFETIME)))
}

fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

fn parse_allowed(s: &str, what: &str) -> anyhow::Result<Url> {
    let u = Url::parse(s).with_context(|| format!("the {what} is not a URL"))?;
    if !allowed(&u) {
        bail!(
            "the {what} must be https (plain http only on this machine); refusing to sign in there"
        );
    }
    Ok(u)
}

/// The protected-resource metadata names this endpoint (the same origin, and a path the
/// endpoint's path is under); otherwise a token for it could be spent elsewhere.
fn resource_matches(resource: &str, server: &Url) -> bool {
    let Ok(r) = Url::parse(resource) else {
        return false;
    };
    let (rp, sp) = (
        r.path().trim_end_matches('/'),
        server.path().trim_end_matches('/'),
    );
    r.scheme() == server.scheme()
        && r.host_str() == server.host_str()
        && r.port_or_known_default() == server.port_or_known_default()
        && r.fragment().is_none()
        && (rp.is_empty() || sp == rp || sp.starts_with(&format!("{rp}/")))
}

fn words(s: Option<&str>) -> Vec<String> {
    s.unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// A server's words with anything secret we sent it removed, then cut short.
fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut t = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        t = t.replace(s, "***");
    }
    t.chars().take(300).collect()
}

impl SignIn {
    pub fn new(server: Url) -> anyhow::Result<SignIn> {
        let store = Store::for_server(server.as_str());
        let saved = store.load(server.as_str());
        Ok(SignIn {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(Duration::from_secs(10))
                .timeout(OAUTH_DEADLINE)
                .build()
                .context("cannot start the HTTP client")?,
            server,
            store,
            settings: Settings::from_env(),
            saved: Mutex::new(saved),
            interactive: Mutex::default(),
        })
    }

    /// The access token to send (renewed first when it is about to expire), if any.
    pub async fn bearer(&self) -> Option<String> {
        let current = self.saved.lock().await.clone()?;
        if expiring(&current) && current.refresh_token.is_some() {
            self.renew(Some(&current.access_token)).await;
        }
        self.saved
            .lock()
            .await
            .as_ref()
            .map(|s| s.access_token.clone())
    }

    /// The access token in use, as it is (no renewal).
    pub async fn current(&self) -> Option<String> {
        self.saved
            .lock()
            .await
            .as_ref()
            .map(|s| s.access_token.clone())
    }

    /// Under the file lock: adopt a token another request or another process got since
    /// `used`, else spend the refresh token. Whether there is now a token other than `used`.
    /// (Two processes refreshing with one refresh token would revoke the grant.)
    async fn renew(&self, used: Option<&str>) -> bool {
        let _lock = self.store.lock().await;
        if self.adopt_newer(used).await {
            return true;
        }
        let Some(s) = self
            .saved
            .lock()
            .await
            .clone()
            .filter(|s| s.refresh_token.is_some())
        else {
            return false;
        };
        match self.refresh(&s).await {
            Ok(fresh) => {
                self.keep(fresh).await;
                true
            }
            Err(_) => false,
        }
    }

    /// Takes the kept token when it is not `used` (and not expired): another request of
    /// this process, or another process, renewed it.
    async fn adopt_newer(&self, used: Option<&str>) -> bool {
        let mut saved = self.saved.lock().await;
        if let Some(on_disk) = self.store.load(self.server.as_str()) {
            if Some(on_disk.access_token.as_str()) != used && !expiring(&on_disk) {
                *saved = Some(on_disk);
                return true;
            }
        }
        saved
            .as_ref()
            .is_some_and(|s| Some(s.access_token.as_str()) != used && !expiring(s))
    }

    /// After a 401 for `used`: adopt a newer token, refresh, else sign in again.
    pub async fn recover(&self, used: Option<&str>, ch: &Challenge) -> anyhow::Result<()> {
        if self.renew(used).await {
            return Ok(());
        }
        self.sign_in(used, ch, None).await
    }

    /// After a 403 `insufficient_scope`: sign in again asking for the scope the endpoint
    /// named as well as what was granted. `false` when that would ask for nothing new (or
    /// only for scope refused before): the endpoint will not be satisfied, and asking
    /// again would loop.
    pub async fn step_up(&self, used: Option<&str>, ch: &Challenge) -> anyhow::Result<bool> {
        let current = self.saved.lock().await.clone();
        if current
            .as_ref()
            .is_some_and(|s| Some(s.access_token.as_str()) != used)
        {
            return Ok(true);
        }
        let granted = words(current.as_ref().and_then(|s| s.scope.as_deref()));
        let wanted = words(ch.scope.as_deref());
        let refused = self.interactive.lock().await.refused.clone();
        if wanted.is_empty()
            || wanted
                .iter()
                .all(|w| granted.contains(w) || refused.contains(w))
        {
            return Ok(false);
        }
        self.sign_in(used, ch, Some(&granted)).await?;
        // What the new grant still lacks was refused (a read-only consent, say).
        let now_granted = words(
            self.saved
                .lock()
                .await
                .as_ref()
                .and_then(|s| s.scope.as_deref()),
        );
        let mut inter = self.interactive.lock().await;
        for w in wanted.into_iter().filter(|w| !now_granted.contains(w)) {
            if !inter.refused.contains(&w) {
                inter.refused.push(w);
            }
        }
        Ok(true)
    }

    /// The browser sign-in, one at a time: a request that waited for another's finds its
    /// token and goes on; after a failure, others within the cool-down get its error.
    async fn sign_in(
        &self,
        used: Option<&str>,
        ch: &Challenge,
        granted: Option<&[String]>,
    ) -> anyhow::Result<()> {
        let mut inter = self.interactive.lock().await;
        if self.adopt_newer(used).await {
            return Ok(());
        }
        if let Some((at, why)) = &inter.failed {
            if at.elapsed() < FAILED_COOL_DOWN {
                bail!("{why}");
            }
        }
        match self.authorize(ch, granted).await {
            Ok(fresh) => {
                let _lock = self.store.lock().await;
                self.keep(fresh).await;
                inter.failed = None;
                Ok(())
            }
            Err(e) => {
                inter.failed = Some((Instant::now(), format!("{e:#}")));
                Err(e)
            }
        }
    }

    /// Forgets the sign-in here, and revokes its refresh token where the server allows.
    pub async fn sign_out(&self) -> anyhow::Result<bool> {
        let saved = self.saved.lock().await.take();
        if let Some(s) = &saved {
            if let (Some(end), Some(rt)) = (&s.revocation_endpoint, &s.refresh_token) {
                let auth = ClientAuth {
                    id: s.client_id.clone(),
                    secret: s.client_secret.clone(),
                    method: s.auth_method.clone(),
                };
                let form = vec![
                    ("token", rt.clone()),
                    ("token_type_hint", "refresh_token".into()),
                ];
                if let Ok(u) = parse_allowed(end, "revocation endpoint") {
                    let _ = self.post_form(&u, &auth, form).await;
                }
            }
        }
        self.store.forget()
    }

    pub fn store_path(&self) -> Option<&std::path::Path> {
        self.store.path()
    }

    async fn keep(&self, fresh: Saved) {
        if let Err(e) = self.store.save(&fresh) {
            eprintln!("pipewright connect: signed in, but {e:#}; the sign-in lasts until this process ends");
        }
        *self.saved.lock().await = Some(fresh);
    }

    async fn get_json(&self, url: &Url) -> Fetched {
        let Ok(resp) = self
            .http
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
        else {
            return Fetched::Failed;
        };
        let status = resp.status();
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Fetched::Failed;
        }
        if !status.is_success() {
            return Fetched::Missing;
        }
        match read_bounded(resp).await.map(|b| serde_json::from_slice(&b)) {
            Ok(Ok(v)) => Fetched::Found(v),
            _ => Fetched::Failed,
        }
    }

    /// The endpoint's protected-resource metadata: from the challenge, else path-based,
    /// else at the root. `None` for a server that has none (2025-03-26).
    async fn resource_metadata(&self, ch: &Challenge) -> anyhow::Result<Option<ResourceMetadata>> {
        let mut tries = Vec::new();
        if let Some(rm) = &ch.resource_metadata {
            let u = self
                .server
                .join(rm)
                .context("the endpoint's resource_metadata is not a URL")?;
            tries.push(u);
        }
        let path = self.server.path().trim_end_matches('/');
        if !path.is_empty() {
            tries.push(
                self.server
                    .join(&format!("/.well-known/oauth-protected-resource{path}"))?,
            );
        }
        tries.push(self.server.join("/.well-known/oauth-protected-resource")?);
        let named = ch.resource_metadata.is_some();
        for (i, u) in tries.into_iter().enumerate() {
            if !allowed(&u) {
                bail!("the endpoint's resource metadata must be https (plain http only on this machine)");
            }
            let v = match self.get_json(&u).await {
                Fetched::Found(v) => v,
                // What the endpoint named, or a server error: not a reason to carry on
                // as if the endpoint had no metadata (that would drop `resource`).
                Fetched::Missing if !(named && i == 0) => continue,
                _ => {
                    bail!("cannot read the endpoint's resource metadata at {u}; try again shortly")
                }
            };
            let prm: ResourceMetadata = serde_json::from_value(v)
                .context("the endpoint's resource metadata is not valid")?;
            if let Some(r) = &prm.resource {
                if !resource_matches(r, &self.server) {
                    bail!(
                        "the endpoint's resource metadata names another resource; refusing to sign in (check the URL)"
                    );
                }
            }
            return Ok(Some(prm));
        }
        Ok(None)
    }

    /// The authorization server's metadata, at the places RFC 8414 and OpenID discovery
    /// give for an issuer with or without a path; a server with no protected-resource
    /// metadata (2025-03-26) may have none, and is then asked at the default endpoints.
    async fn server_metadata(
        &self,
        issuer: &Url,
        legacy: bool,
    ) -> anyhow::Result<(ServerMetadata, bool)> {
        let path = issuer.path().trim_end_matches('/');
        let tries: Vec<String> = if path.is_empty() {
            vec![
                "/.well-known/oauth-authorization-server".into(),
                "/.well-known/openid-configuration".into(),
            ]
        } else {
            vec![
                format!("/.well-known/oauth-authorization-server{path}"),
                format!("/.well-known/openid-configuration{path}"),
                format!("{path}/.well-known/openid-configuration"),
            ]
        };
        for t in tries {
            let u = issuer.join(&t)?;
            let v = match self.get_json(&u).await {
                Fetched::Found(v) => v,
                Fetched::Missing => continue,
                Fetched::Failed => bail!(
                    "cannot read the authorization server's metadata at {u}; try again shortly"
                ),
            };
            {
                let m: ServerMetadata = serde_json::from_value(v)
                    .context("the authorization server's metadata is not valid")?;
                // RFC 8414 §3.3: the metadata is the issuer's own (no mix-up). A
                // 2025-03-26 server, found with no resource metadata, is not held to it.
                if !legacy
                    && !m
                        .issuer
                        .as_deref()
                        .is_some_and(|i| same_issuer(i, issuer.as_str()))
                {
                    bail!("the authorization server's metadata names another issuer; refusing to sign in");
                }
                for e in [&m.authorization_endpoint, &m.token_endpoint]
                    .into_iter()
                    .chain(m.registration_endpoint.as_ref())
                {
                    parse_allowed(e, "authorization server's endpoint")?;
                }
                return Ok((m, true));
            }
        }
        if !legacy {
            bail!("the authorization server publishes no metadata; cannot sign in");
        }
        let at = |p: &str| issuer.join(p).map(|u| u.to_string());
        Ok((
            ServerMetadata {
                issuer: None,
                authorization_endpoint: at("/authorize")?,
                token_endpoint: at("/token")?,
                registration_endpoint: Some(at("/register")?),
                revocation_endpoint: None,
                code_challenge_methods_supported: None,
                token_endpoint_auth_methods_supported: None,
                scopes_supported: None,
                client_id_metadata_document_supported: false,
                authorization_response_iss_parameter_supported: false,
            },
            false,
        ))
    }

    /// A pre-registered client, a metadata-document client, or a fresh registration.
    async fn client(
        &self,
        meta: &ServerMetadata,
        issuer: &Url,
        redirect_uri: &str,
    ) -> anyhow::Result<ClientAuth> {
        let methods = meta.token_endpoint_auth_methods_supported.as_deref();
        let supports = |m: &str| methods.is_none_or(|ms| ms.iter().any(|x| x == m));
        if let Some(id) = &self.settings.client_id {
            // A pre-registered client (and its secret) belongs to one authorization server.
            let ours = match &self.settings.issuer {
                Some(i) => same_issuer(i, issuer.as_str()),
                None => issuer.host_str() == self.server.host_str(),
            };
            if !ours {
                bail!("the endpoint's authorization server is {issuer}, which PIPEWRIGHT_OAUTH_CLIENT_ID was not registered with; set PIPEWRIGHT_OAUTH_ISSUER to the server it belongs to");
            }
            let method = match &self.settings.client_secret {
                None => "none",
                Some(_) if supports("client_secret_basic") => "client_secret_basic",
                Some(_) => "client_secret_post",
            };
            return Ok(ClientAuth {
                id: id.clone(),
                secret: self.settings.client_secret.clone(),
                method: method.into(),
            });
        }
        if let (true, Some(url)) = (
            meta.client_id_metadata_document_supported,
            &self.settings.metadata_url,
        ) {
            return Ok(ClientAuth {
                id: url.clone(),
                secret: None,
                method: "none".into(),
            });
        }
        let Some(reg) = &meta.registration_endpoint else {
            bail!("the authorization server does not register clients; set PIPEWRIGHT_OAUTH_CLIENT_ID (and _SECRET) to a client registered there");
        };
        let want = ["none", "client_secret_basic", "client_secret_post"]
            .into_iter()
            .find(|m| supports(m))
            .unwrap_or("none");
        let body = serde_json::json!({
            "client_name": "Pipewright connect",
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": want,
        });
        let resp = self
            .http
            .post(parse_allowed(reg, "registration endpoint")?)
            .json(&body)
            .send()
            .await
            .context("cannot reach the authorization server to register")?;
        let status = resp.status();
        let v: Value = serde_json::from_slice(&read_bounded(resp).await?).unwrap_or(Value::Null);
        if !status.is_success() {
            bail!(
                "the authorization server refused to register this client: {}",
                scrub(
                    v["error_description"]
                        .as_str()
                        .or(v["error"].as_str())
                        .unwrap_or("no reason given"),
                    &[]
                )
            );
        }
        let id = v["client_id"]
            .as_str()
            .context("the registration answer has no client_id")?
            .to_string();
        let secret = v["client_secret"].as_str().map(str::to_string);
        let method = match (v["token_endpoint_auth_method"].as_str(), &secret) {
            (Some(m), _) => m.to_string(),
            (None, Some(_)) if want != "none" => want.to_string(),
            (None, Some(_)) => "client_secret_basic".into(),
            (None, None) => "none".into(),
        };
        Ok(ClientAuth { id, secret, method })
    }

    /// The whole browser sign-in. `granted` (a step-up) is asked for again beside the
    /// challenge's scope.
    async fn authorize(&self, ch: &Challenge, granted: Option<&[String]>) -> anyhow::Result<Saved> {
        let prm = self.resource_metadata(ch).await?;
        let issuer = match prm.as_ref().and_then(|p| p.authorization_servers.first()) {
            Some(s) => parse_allowed(s, "authorization server")?,
            None if prm.is_some() => {
                bail!("the endpoint's resource metadata names no authorization server")
            }
            None => {
                let mut origin = self.server.clone();
                origin.set_path("/");
                origin.set_query(None);
                if !allowed(&origin) {
                    bail!("sign-in needs https (plain http only on this machine)");
                }
                origin
            }
        };
        let (meta, published) = self.server_metadata(&issuer, prm.is_none()).await?;
        // Published metadata must offer PKCE S256 (absent counts as not offered); only a
        // 2025-03-26 server with none is asked on trust.
        let s256 = meta
            .code_challenge_methods_supported
            .as_ref()
            .is_some_and(|m| m.iter().any(|x| x == "S256"));
        if published && !s256 {
            bail!("the authorization server does not offer PKCE with S256; refusing to sign in");
        }
        // Scope: the challenge's, else everything the resource lists, else none at all.
        let mut scope = words(ch.scope.as_deref());
        if scope.is_empty() {
            scope = prm
                .as_ref()
                .and_then(|p| p.scopes_supported.clone())
                .unwrap_or_default();
        }
        for g in granted.unwrap_or_default() {
            if !scope.contains(g) {
                scope.push(g.clone());
            }
        }
        let offline = "offline_access".to_string();
        if !scope.is_empty()
            && !scope.contains(&offline)
            && meta
                .scopes_supported
                .as_ref()
                .is_some_and(|s| s.contains(&offline))
        {
            scope.push(offline);
        }
        // RFC 8707: always bound to a resource, the one the metadata names (checked to be
        // this endpoint or above it), else the endpoint itself.
        let resource = Some(
            prm.as_ref()
                .and_then(|p| p.resource.clone())
                .unwrap_or_else(|| self.server.to_string()),
        );

        let verifier = random_b64(32);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let state = random_b64(16);
        let callback = Callback::listen(&state).await?;
        let client = self.client(&meta, &issuer, &callback.redirect_uri).await?;
        let mut url = parse_allowed(&meta.authorization_endpoint, "authorization endpoint")?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &client.id)
                .append_pair("redirect_uri", &callback.redirect_uri)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256")
                .append_pair("state", &state);
            if !scope.is_empty() {
                q.append_pair("scope", &scope.join(" "));
            }
            if let Some(r) = &resource {
                q.append_pair("resource", r);
            }
        }
        let redirect_uri = callback.redirect_uri.clone();
        open_browser(url.as_str());
        let answer = callback.wait().await?;
        if answer.get("state") != Some(&state) {
            bail!("the sign-in answer did not match this sign-in (state); start over");
        }
        if let Some(err) = answer.get("error") {
            let why = answer
                .get("error_description")
                .map(String::as_str)
                .unwrap_or("");
            bail!(
                "the sign-in was refused: {} {}",
                scrub(err, &[]),
                scrub(why, &[])
            );
        }
        // RFC 9207: the answer names its issuer when the server says it does.
        let expected = meta.issuer.clone().unwrap_or_else(|| issuer.to_string());
        match answer.get("iss") {
            Some(iss) if !same_issuer(iss, &expected) => {
                bail!(
                    "the sign-in answer came from another authorization server (iss); refusing it"
                )
            }
            None if meta.authorization_response_iss_parameter_supported => {
                bail!("the sign-in answer did not name its authorization server (iss); refusing it")
            }
            _ => {}
        }
        let code = answer
            .get("code")
            .context("the sign-in answer has no code")?;
        let mut form = vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.clone()),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier.clone()),
        ];
        if let Some(r) = &resource {
            form.push(("resource", r.clone()));
        }
        let token_endpoint = parse_allowed(&meta.token_endpoint, "token endpoint")?;
        let t = self
            .token(&token_endpoint, &client, form, &[code, &verifier])
            .await?;
        eprintln!("pipewright connect: signed in");
        Ok(Saved {
            server: self.server.to_string(),
            token_endpoint: meta.token_endpoint.clone(),
            revocation_endpoint: meta.revocation_endpoint.clone(),
            client_id: client.id,
            client_secret: client.secret,
            auth_method: client.method,
            resource,
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            expires_at: expires_at(t.expires_in),
            scope: t
                .scope
                .or_else(|| (!scope.is_empty()).then(|| scope.join(" "))),
        })
    }

    async fn refresh(&self, s: &Saved) -> anyhow::Result<Saved> {
        let rt = s.refresh_token.clone().context("no refresh token")?;
        let mut form = vec![
            ("grant_type", "refresh_token".to_string()),
            ("refresh_token", rt.clone()),
        ];
        if let Some(r) = &s.resource {
            form.push(("resource", r.clone()));
        }
        let client = ClientAuth {
            id: s.client_id.clone(),
            secret: s.client_secret.clone(),
            method: s.auth_method.clone(),
        };
        let end = parse_allowed(&s.token_endpoint, "token endpoint")?;
        let t = self.token(&end, &client, form, &[&rt]).await?;
        Ok(Saved {
            access_token: t.access_token,
            // A server that does not rotate keeps the old refresh token valid.
            refresh_token: t.refresh_token.or(Some(rt)),
            expires_at: expires_at(t.expires_in),
            scope: t.scope.or_else(|| s.scope.clone()),
            ..s.clone()
        })
    }

    async fn post_form(
        &self,
        url: &Url,
        client: &ClientAuth,
        mut form: Vec<(&'static str, String)>,
    ) -> anyhow::Result<reqwest::Response> {
        let mut req = self.http.post(url.clone());
        match client.method.as_str() {
            "client_secret_basic" => {
                let enc = |s: &str| form_urlencoded_byte_serialize(s);
                let pair = format!(
                    "{}:{}",
                    enc(&client.id),
                    enc(client.secret.as_deref().unwrap_or(""))
                );
                req = req.header(
                    reqwest::header::AUTHORIZATION,
                    format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(pair)
                    ),
                );
            }
            "client_secret_post" => {
                form.push(("client_id", client.id.clone()));
                form.push(("client_secret", client.secret.clone().unwrap_or_default()));
            }
            _ => form.push(("client_id", client.id.clone())),
        }
        req.form(&form)
            .send()
            .await
            .context("cannot reach the authorization server")
    }

    async fn token(
        &self,
        url: &Url,
        client: &ClientAuth,
        form: Vec<(&'static str, String)>,
        secrets: &[&str],
    ) -> anyhow::Result<TokenAnswer> {
        let resp = self.post_form(url, client, form).await?;
        let status = resp.status();
        let body = read_bounded(resp).await?;
        if !status.is_success() {
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let mut all: Vec<&str> = secrets.to_vec();
            all.extend(client.secret.as_deref());
            bail!(
                "the authorization server refused the token request: {} {}",
                scrub(v["error"].as_str().unwrap_or("(no error code)"), &all),
                scrub(v["error_description"].as_str().unwrap_or(""), &all)
            );
        }
        let t: TokenAnswer = serde_json::from_slice(&body)
            .context("the authorization server's token answer is not valid")?;
        if t.token_type
            .as_deref()
            .is_some_and(|k| !k.eq_ignore_ascii_case("bearer"))
        {
            bail!("the authorization server issued a token that is not a bearer token");
        }
        Ok(t)
    }
}

/// `application/x-www-form-urlencoded` of one value, as client_secret_basic asks.
fn form_urlencoded_byte_serialize(s: &str) -> String {
    let mut u = Url::parse("x:/").expect("static URL");
    u.query_pairs_mut().append_pair("v", s);
    u.query()
        .unwrap_or("v=")
        .trim_start_matches("v=")
        .to_string()
}

async fn read_bounded(mut resp: reqwest::Response) -> anyhow::Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.context("the answer was cut off")? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ANSWER {
            bail!("the authorization server's answer is larger than 256 KiB");
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_must_be_the_endpoint_or_above_it_on_the_same_origin() {
        let server = Url::parse("http://localhost:3000/acme/api/mcp").unwrap();
        for ok in [
            "http://localhost:3000/acme/api/mcp",
            "http://localhost:3000/acme/api/mcp/",
            "http://localhost:3000",
            "http://localhost:3000/acme",
        ] {
            assert!(resource_matches(ok, &server), "{ok}");
        }
        for bad in [
            "https://evil.example.com/mcp",
            "http://localhost:3001/acme/api/mcp",
            "https://localhost:3000/acme/api/mcp",
            "http://localhost:3000/acme/api/mcpx",
            "http://localhost:3000/other",
            "not a url",
        ] {
            assert!(!resource_matches(bad, &server), "{bad}");
        }
    }

    #[test]
    fn only_https_or_loopback_http() {
        for ok in [
            "https://a.example/x",
            "http://127.0.0.1:9/x",
            "http://localhost/x",
            "http://[::1]:8/x",
        ] {
            assert!(allowed(&Url::parse(ok).unwrap()), "{ok}");
        }
        for bad in [
            "http://a.example/x",
            "http://10.0.0.1/x",
            "ftp://a.example/",
            "file:///etc/passwd",
        ] {
            assert!(!allowed(&Url::parse(bad).unwrap()), "{bad}");
        }
    }

    #[test]
    fn basic_credentials_are_form_encoded_and_secrets_scrubbed() {
        assert_eq!(
            form_urlencoded_byte_serialize("a b:c/é"),
            "a+b%3Ac%2F%C3%A9"
        );
        assert_eq!(
            scrub("bad code abcd1234 here", &["abcd1234"]),
            "bad code *** here"
        );
    }
}
