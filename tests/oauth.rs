//! The OAuth 2.1 authorization server end to end, over HTTP against the real binary: a
//! client discovers everything from the 401, registers, signs in, consents, exchanges a
//! PKCE-bound code, calls tools, refreshes, and is cut off after revocation; and the
//! refusals: wrong verifier, reused code, redirect mismatch, reused refresh token, another
//! account, a read-only grant, metadata documents too large, slow or private, and a
//! brute force that leaves the owner able to sign in.

mod support;

use std::time::Duration;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use reqwest::{header, redirect::Policy, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::{cli, Options, Server};

const PASSWORD: &str = "correct horse battery staple";
const REDIRECT: &str = "http://127.0.0.1:1/callback";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn start() -> Server {
    let s = Server::start_with(Options {
        env: &[("PIPEWRIGHT_OAUTH_LOOPBACK_METADATA", "true")],
        ..Options::default()
    });
    s.set_password("demo@pipewright.local", PASSWORD);
    s
}

/// Cookies a browser would keep, by name.
#[derive(Default, Clone)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn take(&mut self, resp: &reqwest::Response) {
        for v in resp.headers().get_all(header::SET_COOKIE) {
            let v = v.to_str().unwrap();
            let (kv, _) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = kv.split_once('=').unwrap();
            self.0.retain(|(n, _)| n != k);
            if !val.is_empty() {
                self.0.push((k.to_string(), val.to_string()));
            }
        }
    }
    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn pkce() -> (String, String) {
    let verifier = format!("{}-{}", "v".repeat(40), rand_suffix());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn rand_suffix() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

fn field(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no {name} in {html}"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// Loads the sign-in page (its form is paired with a cookie) and posts it.
async fn sign_in(c: &reqwest::Client, base: &str, jar: &mut Jar, password: &str) -> StatusCode {
    sign_in_as(c, base, jar, password, "/apps").await.status()
}

async fn sign_in_as(
    c: &reqwest::Client,
    base: &str,
    jar: &mut Jar,
    password: &str,
    next: &str,
) -> reqwest::Response {
    let page = c
        .get(format!("{base}/login"))
        .header(header::COOKIE, jar.header())
        .send()
        .await
        .unwrap();
    jar.take(&page);
    let pairing = field(&page.text().await.unwrap(), "pairing");
    let r = c
        .post(format!("{base}/login"))
        .header(header::COOKIE, jar.header())
        .form(&[
            ("email", "demo@pipewright.local"),
            ("password", password),
            ("next", next),
            ("pairing", &pairing),
        ])
        .send()
        .await
        .unwrap();
    jar.take(&r);
    r
}

/// Registers a public client (RFC 7591) with the test redirect URI; its client id.
async fn register(c: &reqwest::Client, base: &str) -> String {
    let r: Value = c
        .post(format!("{base}/oauth/register"))
        .json(&json!({"client_name": "Test Assistant", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["client_id"].as_str().unwrap().to_string()
}

/// GET /oauth/authorize as a browser with `jar`'s cookies would.
async fn authorize_request(
    c: &reqwest::Client,
    base: &str,
    jar: &Jar,
    client_id: &str,
    redirect_uri: &str,
    challenge: &str,
    method: &str,
) -> reqwest::Response {
    c.get(format!("{base}/oauth/authorize"))
        .header(header::COOKIE, jar.header())
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("code_challenge", challenge),
            ("code_challenge_method", method),
        ])
        .send()
        .await
        .unwrap()
}

struct Flow {
    client_id: String,
    verifier: String,
    code: String,
}

/// Register (unless given a client id), authorize as the signed-in user, return the code.
async fn authorize(
    c: &reqwest::Client,
    s: &Server,
    jar: &Jar,
    client_id: Option<&str>,
    access: &str,
) -> Flow {
    authorize_with(c, s, jar, client_id, access, &[]).await
}

/// As `authorize`, ticking the consent screen's further limits (`tool`, `connection`).
async fn authorize_with(
    c: &reqwest::Client,
    s: &Server,
    jar: &Jar,
    client_id: Option<&str>,
    access: &str,
    limits: &[(&str, String)],
) -> Flow {
    let base = &s.base;
    let client_id = match client_id {
        Some(id) => id.to_string(),
        None => register(c, base).await,
    };
    let (verifier, challenge) = pkce();
    let q = [
        ("response_type", "code"),
        ("client_id", &client_id),
        ("redirect_uri", REDIRECT),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("state", "xyz"),
        ("resource", &s.url("demo")),
    ];
    let page = c
        .get(format!("{base}/oauth/authorize"))
        .query(&q)
        .header(header::COOKIE, jar.header())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("is requesting access to your Pipewright account"),
        "{html}"
    );
    let mut form: Vec<(String, String)> = q
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    form.push(("csrf".into(), field(&html, "csrf")));
    form.push(("decision".into(), "allow".into()));
    form.push(("access".into(), access.into()));
    for (k, v) in limits {
        assert!(
            html.contains(&format!("name=\"{k}\" value=\"{v}\"")),
            "the consent screen offers no {k} {v}"
        );
        form.push((k.to_string(), v.clone()));
    }
    let r = c
        .post(format!("{base}/oauth/authorize"))
        .header(header::COOKIE, jar.header())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = reqwest::Url::parse(r.headers()[header::LOCATION].to_str().unwrap()).unwrap();
    assert!(to.as_str().starts_with(REDIRECT), "{to}");
    let q: std::collections::HashMap<_, _> = to.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "xyz");
    assert_eq!(q["iss"], s.base);
    Flow {
        client_id,
        verifier,
        code: q["code"].clone(),
    }
}

async fn token(c: &reqwest::Client, base: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let r = c
        .post(format!("{base}/oauth/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A public client's refresh-token request (RFC 6749 §6).
async fn refresh_grant(
    c: &reqwest::Client,
    base: &str,
    refresh_token: &str,
    client_id: &str,
) -> (StatusCode, Value) {
    token(
        c,
        base,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
        ],
    )
    .await
}

/// Connected Applications of `demo`, as the signed-in browser of `jar` sees it.
async fn apps_page(c: &reqwest::Client, base: &str, jar: &Jar) -> String {
    c.get(format!("{base}/apps/demo"))
        .header(header::COOKIE, jar.header())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn exchange(c: &reqwest::Client, s: &Server, f: &Flow) -> (StatusCode, Value) {
    let resource = s.url("demo");
    token(
        c,
        &s.base,
        &[
            ("grant_type", "authorization_code"),
            ("code", &f.code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &f.verifier),
            ("client_id", &f.client_id),
            ("resource", &resource),
        ],
    )
    .await
}

/// tools/list on an account endpoint with a bearer token: the status and the tool names.
async fn list_tools(c: &reqwest::Client, url: &str, bearer: &str) -> (StatusCode, Vec<String>) {
    let r = c
        .post(url)
        .bearer_auth(bearer)
        .header(header::ACCEPT, "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}))
        .send()
        .await
        .unwrap();
    if r.status() != StatusCode::OK {
        return (r.status(), vec![]);
    }
    let sid = r
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_string());
    let mut req = c
        .post(url)
        .bearer_auth(bearer)
        .header(header::ACCEPT, "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}));
    if let Some(sid) = sid {
        req = req
            .header("mcp-session-id", sid)
            .header("mcp-protocol-version", "2025-06-18");
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let body = r.text().await.unwrap();
    // An SSE stream may open with an empty priming event: the answer is the JSON one.
    let v: Value = body
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .chain(std::iter::once(body.as_str()))
        .find_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .unwrap_or(Value::Null);
    let names = v["result"]["tools"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| t["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    (status, names)
}

#[tokio::test]
async fn discovery_registration_consent_tokens_refresh_and_revocation() {
    let s = start();
    let c = http();
    let base = &s.base;
    // Discovery from the 401 alone.
    let r = c.post(s.url("demo")).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let www = r.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .to_string();
    let prm_url = www.split('"').nth(1).unwrap().to_string();
    let prm: Value = c.get(&prm_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(prm["resource"], json!(s.url("demo")));
    let issuer = prm["authorization_servers"][0]
        .as_str()
        .unwrap()
        .to_string();
    let meta: Value = c
        .get(format!("{issuer}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["client_id_metadata_document_supported"], json!(true));
    assert!(meta["grant_types_supported"]
        .to_string()
        .contains("refresh_token"));
    assert!(!meta["grant_types_supported"]
        .to_string()
        .contains("password"));

    // Not signed in: the authorization page sends the browser to sign in, and back.
    let mut jar = Jar::default();
    let (_, challenge) = pkce();
    let client_id = register(&c, base).await;
    let r = authorize_request(&c, base, &jar, &client_id, REDIRECT, &challenge, "S256").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/login?next=%2Foauth%2Fauthorize"));
    assert_eq!(
        sign_in(&c, base, &mut jar, PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    let cookies = jar.0.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>();
    assert!(cookies.contains(&"pw_session"), "{cookies:?}");

    // The whole flow.
    let f = authorize(&c, &s, &jar, None, "full").await;
    let (status, t) = exchange(&c, &s, &f).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(
        (t["token_type"].clone(), t["expires_in"].clone()),
        (json!("Bearer"), json!(3600))
    );
    let access = t["access_token"].as_str().unwrap().to_string();
    let refresh = t["refresh_token"].as_str().unwrap().to_string();
    let (status, tools) = list_tools(&c, &s.url("demo"), &access).await;
    assert_eq!(status, StatusCode::OK);
    assert!(tools.contains(&"create_package".to_string()), "{tools:?}");

    // The same code again: refused, and what it bought is revoked.
    let (status, e) = exchange(&c, &s, &f).await;
    assert_eq!(
        (status, e["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_grant"))
    );
    assert_eq!(
        list_tools(&c, &s.url("demo"), &access).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Refresh rotates; the spent refresh token presented again revokes the grant.
    let f = authorize(&c, &s, &jar, Some(&f.client_id), "full").await;
    let (_, t) = exchange(&c, &s, &f).await;
    let refresh1 = t["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(refresh1, refresh);
    let resource = s.url("demo");
    let (status, t2) = token(
        &c,
        base,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh1),
            ("client_id", &f.client_id),
            ("resource", &resource),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{t2}");
    let access2 = t2["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        list_tools(&c, &s.url("demo"), &access2).await.0,
        StatusCode::OK
    );
    let (status, e) = refresh_grant(&c, base, &refresh1, &f.client_id).await;
    assert_eq!(
        (status, e["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_grant"))
    );
    assert!(
        e["error_description"].as_str().unwrap().contains("revoked"),
        "{e}"
    );
    assert_eq!(
        list_tools(&c, &s.url("demo"), &access2).await.0,
        StatusCode::UNAUTHORIZED
    );
    let newest = t2["refresh_token"].as_str().unwrap();
    let (status, _) = refresh_grant(&c, base, newest, &f.client_id).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the whole grant is gone");

    // An expired access token is refused with the 401 that leads back to discovery; its
    // refresh token still buys a new one. (Expiry is set in the store, as an hour passing.)
    let f = authorize(&c, &s, &jar, Some(&f.client_id), "full").await;
    let (_, t) = exchange(&c, &s, &f).await;
    let access = t["access_token"].as_str().unwrap().to_string();
    s.expire_oauth_tokens();
    let r = c
        .post(s.url("demo"))
        .bearer_auth(&access)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .contains("resource_metadata="));
    let (status, t) =
        refresh_grant(&c, base, t["refresh_token"].as_str().unwrap(), &f.client_id).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(
        list_tools(&c, &s.url("demo"), t["access_token"].as_str().unwrap())
            .await
            .0,
        StatusCode::OK
    );

    // Revocation (RFC 7009) cuts the client off on its next request.
    let f = authorize(&c, &s, &jar, Some(&f.client_id), "full").await;
    let (_, t) = exchange(&c, &s, &f).await;
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(
        list_tools(&c, &s.url("demo"), access).await.0,
        StatusCode::OK
    );
    let r = c
        .post(format!("{base}/oauth/revoke"))
        .form(&[
            ("token", t["refresh_token"].as_str().unwrap()),
            ("client_id", &f.client_id),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        list_tools(&c, &s.url("demo"), access).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Nothing secret in the server's output.
    let out = s.output.lock().unwrap().join("\n");
    for secret in [access, &refresh, &refresh1, PASSWORD, &f.code] {
        assert!(!out.contains(secret), "a secret reached the log");
    }
}

#[tokio::test]
async fn refusals_pkce_redirects_accounts_read_only_and_brute_force() {
    let s = start();
    let c = http();
    let base = &s.base;
    let mut jar = Jar::default();
    assert_eq!(
        sign_in(&c, base, &mut jar, PASSWORD).await,
        StatusCode::SEE_OTHER
    );

    // A wrong PKCE verifier.
    let mut f = authorize(&c, &s, &jar, None, "full").await;
    f.verifier = format!("{}x", &f.verifier[..f.verifier.len() - 1]);
    let (status, e) = exchange(&c, &s, &f).await;
    assert_eq!(
        (status, e["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_grant")),
        "{e}"
    );
    assert!(e["error_description"]
        .as_str()
        .unwrap()
        .contains("code_verifier"));

    // A redirect URI the client did not register: a page, never a redirect.
    let (_, challenge) = pkce();
    let r = authorize_request(
        &c,
        base,
        &jar,
        &f.client_id,
        "https://evil.example/cb",
        &challenge,
        "S256",
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get(header::LOCATION).is_none());
    // Plain PKCE (or none) goes back to the client as an error.
    let r = authorize_request(&c, base, &jar, &f.client_id, REDIRECT, "abc", "plain").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .contains("error=invalid_request"));
    // Any loopback port matches a loopback redirect URI.
    let r = authorize_request(
        &c,
        base,
        &jar,
        &f.client_id,
        "http://127.0.0.1:45678/callback",
        &challenge,
        "S256",
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);

    // A token for demo on another account's endpoint: 403.
    cli(
        &s.data_dir,
        &[
            "account",
            "create",
            "--subdomain",
            "other",
            "--owner",
            "demo@pipewright.local",
        ],
    );
    let f = authorize(&c, &s, &jar, Some(&f.client_id), "full").await;
    let (_, t) = exchange(&c, &s, &f).await;
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(
        list_tools(&c, &s.url("other"), access).await.0,
        StatusCode::FORBIDDEN
    );

    // A read-only grant lists no tool that changes anything.
    let f = authorize(&c, &s, &jar, Some(&f.client_id), "read_only").await;
    let (_, t) = exchange(&c, &s, &f).await;
    assert_eq!(t["scope"], json!("mcp:read"));
    let (status, tools) = list_tools(&c, &s.url("demo"), t["access_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        tools.contains(&"list_packages".to_string())
            && !tools.contains(&"create_package".to_string()),
        "{tools:?}"
    );

    // A grant limited on the consent screen to what it creates: it reads, but changes to a
    // package it did not create are refused; the limit shows on Connected Applications.
    let f = authorize(&c, &s, &jar, Some(&f.client_id), "created_only").await;
    let (_, mut t) = exchange(&c, &s, &f).await;
    let mut agent =
        support::Session::open(&s.url("demo"), t["access_token"].as_str().unwrap()).await;
    let pkgs = agent.ok("list_packages", json!({"limit": 1})).await;
    let theirs = pkgs["packages"][0]["id"].as_i64().unwrap();
    let e = agent
        .err(
            "rename_package",
            json!({"package_id": theirs, "name": "taken over"}),
        )
        .await;
    assert_eq!(e["code"], json!("forbidden"), "{e}");
    // What it creates stays its own across refreshes (each mints a new access token, and
    // the expired one is cleared from the store unless it created something).
    let mine = agent
        .ok(
            "clone_package",
            json!({"package_id": theirs, "name": "the agent's copy"}),
        )
        .await["package_id"]
        .as_i64()
        .unwrap();
    s.expire_oauth_tokens();
    for _ in 0..2 {
        let (status, fresh) =
            refresh_grant(&c, base, t["refresh_token"].as_str().unwrap(), &f.client_id).await;
        assert_eq!(status, StatusCode::OK, "{fresh}");
        t = fresh;
    }
    let mut agent =
        support::Session::open(&s.url("demo"), t["access_token"].as_str().unwrap()).await;
    agent
        .ok(
            "rename_package",
            json!({"package_id": mine, "name": "still the agent's"}),
        )
        .await;
    let apps = apps_page(&c, base, &jar).await;
    assert!(apps.contains("changes only what it created"), "{apps}");

    // Limits ticked on the consent screen: two tools, one connection.
    let conns = agent.ok("list_connections", json!({"limit": 100})).await;
    let id_of = |name: &str| {
        conns["connections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == json!(name))
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (shop, files) = (id_of("shop-db"), id_of("sample-files"));
    let limits = [
        ("tool", "list_connections".to_string()),
        ("tool", "get_connection".to_string()),
        ("connection", shop.to_string()),
    ];
    let f = authorize_with(&c, &s, &jar, Some(&f.client_id), "full", &limits).await;
    let (_, t) = exchange(&c, &s, &f).await;
    let mut limited =
        support::Session::open(&s.url("demo"), t["access_token"].as_str().unwrap()).await;
    let mut names = limited.tool_names().await;
    names.sort();
    assert_eq!(names, ["get_connection", "list_connections"]);
    let seen = limited.ok("list_connections", json!({"limit": 100})).await;
    assert_eq!(seen["connections"].as_array().unwrap().len(), 1, "{seen}");
    let e = limited
        .err("get_connection", json!({"connection_id": files}))
        .await;
    assert_eq!(e["code"], json!("not_found"), "{e}");
    let apps = apps_page(&c, base, &jar).await;
    assert!(
        apps.contains(&format!(
            "tools: list_connections, get_connection; connections: {shop}"
        )),
        "{apps}"
    );

    // Brute force: the address is slowed down; the owner's browser still gets in.
    let mut attacker = Jar::default();
    for _ in 0..5 {
        assert_eq!(
            sign_in(&c, base, &mut attacker, "wrong password!!").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        sign_in(&c, base, &mut attacker, PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let mut owner = jar.clone();
    assert_eq!(
        sign_in(&c, base, &mut owner, PASSWORD).await,
        StatusCode::SEE_OTHER
    );

    // A loopback redirect with user info is another host: refused with a page.
    let r = authorize_request(
        &c,
        base,
        &jar,
        &f.client_id,
        "http://127.0.0.1:80@evil.example/callback",
        &challenge,
        "S256",
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get(header::LOCATION).is_none());
    // Before anyone signs in, a registered client's bad request is a page, not a
    // redirect to whatever URI it registered.
    let r = authorize_request(
        &c,
        base,
        &Jar::default(),
        &f.client_id,
        REDIRECT,
        "abc",
        "plain",
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get(header::LOCATION).is_none());
    // After sign-in only paths on this server: a tab a browser would strip is refused.
    let mut other = jar.clone();
    let r = sign_in_as(&c, base, &mut other, PASSWORD, "/\t/evil.example").await;
    assert_eq!(r.headers()[header::LOCATION], "/apps");
    // A sign-in form not loaded by this browser (login CSRF) is refused.
    let r = c
        .post(format!("{base}/login"))
        .form(&[
            ("email", "demo@pipewright.local"),
            ("password", PASSWORD),
            ("pairing", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Signing out needs the session's CSRF token too.
    let r = c
        .post(format!("{base}/logout"))
        .header(header::COOKIE, jar.header())
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get(header::SET_COOKIE).is_none());

    // CSRF: a consent without the session's token is refused.
    let r = c
        .post(format!("{base}/oauth/authorize"))
        .header(header::COOKIE, jar.header())
        .form(&[
            ("csrf", "forged"),
            ("decision", "allow"),
            ("client_id", f.client_id.as_str()),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

/// A tiny HTTP server for Client ID Metadata Documents: each path answers as told.
async fn metadata_server() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let base = format!("http://{addr}");
    let b = base.clone();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = l.accept().await.unwrap();
            let b = b.clone();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = vec![0u8; 4096];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
                let body = match path.as_str() {
                    "/good.json" => json!({"client_id": format!("{b}/good.json"), "client_name": "Metadata Client", "redirect_uris": [REDIRECT]}).to_string(),
                    "/big.json" => format!("{{\"client_id\": \"{b}/big.json\", \"pad\": \"{}\"}}", "x".repeat(100_000)),
                    "/slow.json" => {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        String::new()
                    }
                    _ => String::new(),
                };
                let _ = sock
                    .write_all(format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).as_bytes())
                    .await;
            });
        }
    });
    base
}

#[tokio::test]
async fn client_id_metadata_documents_within_limits() {
    let s = start();
    let c = http();
    let mut jar = Jar::default();
    assert_eq!(
        sign_in(&c, &s.base, &mut jar, PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    let md = metadata_server().await;
    let good = format!("{md}/good.json");
    let f = authorize(&c, &s, &jar, Some(&good), "full").await;
    let (status, t) = exchange(&c, &s, &f).await;
    assert_eq!(status, StatusCode::OK, "{t}");

    let (_, challenge) = pkce();
    for (path, says) in [
        ("/big.json".to_string(), "larger than"),
        ("/slow.json".to_string(), "in time"),
        (
            "https://10.1.2.3/client.json".to_string(),
            "private address",
        ),
    ] {
        let id = if path.starts_with('/') {
            format!("{md}{path}")
        } else {
            path.clone()
        };
        let started = std::time::Instant::now();
        let r = authorize_request(&c, &s.base, &jar, &id, REDIRECT, &challenge, "S256").await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path}");
        assert!(r.text().await.unwrap().contains(says), "{path}");
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{path} took {:?}",
            started.elapsed()
        );
    }
}

/// The "Quick install for Claude Desktop" card: without bundles it shows the configuration
/// to paste; with `bundles_dir` it links each bundle named like one, served whole to a
/// signed-in user only. A link named like a bundle, a file of another name and a path that
/// climbs out are neither listed nor served.
#[tokio::test]
async fn quick_install_card_offers_only_the_bundles_in_its_folder() {
    let s = start();
    let c = http();
    let mut jar = Jar::default();
    assert_eq!(
        sign_in(&c, &s.base, &mut jar, PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    let html = apps_page(&c, &s.base, &jar).await;
    assert!(html.contains("Quick install for Claude Desktop"), "{html}");
    assert!(
        html.contains(&format!(
            "&quot;args&quot;: [&quot;connect&quot;, &quot;{}&quot;]",
            s.url("demo")
        )) || html.contains(&format!("\"args\": [\"connect\", \"{}\"]", s.url("demo"))),
        "{html}"
    );
    drop(s);

    let bundles = tempfile::tempdir().unwrap();
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(
        bundles.path().join("pipewright-0.1.0-linux-x86_64.mcpb"),
        &body,
    )
    .unwrap();
    std::fs::write(bundles.path().join("notes.txt"), "not a bundle").unwrap();
    // An older build for the same platform is not offered beside the newer one.
    std::fs::write(
        bundles.path().join("pipewright-0.0.9-linux-x86_64.mcpb"),
        "old",
    )
    .unwrap();
    let outside = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(outside.path(), "outside").unwrap();
    std::os::unix::fs::symlink(
        outside.path(),
        bundles.path().join("pipewright-0.1.0-darwin-aarch64.mcpb"),
    )
    .unwrap();
    let dir = bundles.path().to_string_lossy().to_string();
    let s = Server::start_with(Options {
        env: &[("PIPEWRIGHT_BUNDLES_DIR", &dir)],
        ..Options::default()
    });
    s.set_password("demo@pipewright.local", PASSWORD);
    let mut jar = Jar::default();
    let get = |path: &str, jar: &Jar| {
        c.get(format!("{}{path}", s.base))
            .header(header::COOKIE, jar.header())
            .send()
    };
    // Not signed in: sent to sign in, nothing served.
    let r = get("/downloads/pipewright-0.1.0-linux-x86_64.mcpb", &jar)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        sign_in(&c, &s.base, &mut jar, PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    // The page also says what each token is limited to.
    s.token(&[
        "--account",
        "demo",
        "--name",
        "agent sandbox",
        "--created-only",
        "--tools",
        "list_packages,rename_package",
    ]);
    let html = apps_page(&c, &s.base, &jar).await;
    assert!(
        html.contains("changes only what it created; tools: list_packages, rename_package"),
        "{html}"
    );
    assert!(
        html.contains("href=\"/downloads/pipewright-0.1.0-linux-x86_64.mcpb\""),
        "{html}"
    );
    assert!(html.contains("Linux (x86_64), 0.1.0"), "{html}");
    assert!(!html.contains("0.0.9"), "{html}");
    assert!(
        !html.contains("darwin") && !html.contains("notes.txt"),
        "{html}"
    );
    let r = get("/downloads/pipewright-0.1.0-linux-x86_64.mcpb", &jar)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(r.bytes().await.unwrap().to_vec(), body);
    for bad in [
        "/downloads/pipewright-0.1.0-darwin-aarch64.mcpb",
        "/downloads/notes.txt",
        "/downloads/..%2Fpipewright.db",
        "/downloads/pipewright-..%2F..%2Fetc%2Fpasswd-linux-x86_64.mcpb",
    ] {
        let r = get(bad, &jar).await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{bad}");
    }
}
