//! OAuth clients: who may ask for a code, where the code may be sent, and how the client
//! proves itself at the token endpoint.

use sqlx::Row;

use crate::{time::now_ms, tokens::hash_token, CatalogError, Result, Store};

/// Client ID Metadata Documents kept at most.
const MAX_CACHED_DOCUMENTS: i64 = 10_000;
/// Redirect URIs a client may register.
pub const MAX_REDIRECT_URIS: usize = 10;
const MAX_URI_LEN: usize = 2048;
const MAX_NAME_LEN: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientSource {
    /// Dynamic client registration (RFC 7591).
    Registered,
    /// A Client ID Metadata Document: the client id is its `https` URL.
    MetadataDocument,
}

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// A public client: PKCE is its proof.
    None,
    ClientSecretBasic,
    ClientSecretPost,
}

impl AuthMethod {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(AuthMethod::None),
            "client_secret_basic" => Some(AuthMethod::ClientSecretBasic),
            "client_secret_post" => Some(AuthMethod::ClientSecretPost),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub source: ClientSource,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub auth_method: AuthMethod,
    /// For a metadata document: when it was fetched (it is fetched again when stale).
    pub fetched_at: Option<i64>,
}

pub struct NewClient {
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub auth_method: AuthMethod,
}

/// Whether `given` is the registered redirect URI: exactly, except that a loopback
/// address may use any port (RFC 8252 §7.3, as the MCP authorization spec allows). The
/// loopback case compares parsed URLs: no user info (`http://127.0.0.1:1@evil.example/`
/// is evil.example), the same literal loopback host, path and query.
pub fn redirect_matches(registered: &str, given: &str) -> bool {
    if registered == given {
        return true;
    }
    match (loopback(registered), loopback(given)) {
        (Some(r), Some(g)) => {
            r.host_str() == g.host_str() && r.path() == g.path() && r.query() == g.query()
        }
        _ => false,
    }
}

/// An `http` URL on a literal loopback host, with no user info and no fragment.
fn loopback(uri: &str) -> Option<url::Url> {
    let u = url::Url::parse(uri).ok()?;
    let host_ok = matches!(u.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
    (u.scheme() == "http"
        && host_ok
        && u.username().is_empty()
        && u.password().is_none()
        && u.fragment().is_none())
    .then_some(u)
}

/// A redirect URI a client may register: `https`, or `http` on a loopback address, or a
/// private scheme (`cursor://…`, RFC 8252 §7.1); never user info or a fragment; bounded.
pub fn check_redirect_uri(uri: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(CatalogError::invalid(
            "redirect_uris",
            format!("{why}; use https://…, http://127.0.0.1:PORT/… or an app scheme such as myapp://callback"),
        ))
    };
    if uri.is_empty() || uri.len() > MAX_URI_LEN || uri.chars().any(|c| c.is_control() || c == ' ')
    {
        return bad("a redirect URI is empty, too long or holds spaces");
    }
    let Ok(u) = url::Url::parse(uri) else {
        return bad("a redirect URI must be an absolute URL");
    };
    if u.fragment().is_some() || !u.username().is_empty() || u.password().is_some() {
        return bad("a redirect URI may not carry a fragment or user info");
    }
    let ok = match u.scheme() {
        "https" => u.host_str().is_some_and(|h| !h.is_empty()),
        "http" => loopback(uri).is_some(),
        "javascript" | "data" | "file" | "vbscript" | "blob" | "about" => false,
        s => s.len() >= 2,
    };
    if ok {
        Ok(())
    } else {
        bad("this redirect URI is not allowed")
    }
}

fn client_from(r: &sqlx::any::AnyRow) -> Result<Client> {
    let uris: String = r.try_get("redirect_uris")?;
    Ok(Client {
        client_id: r.try_get("client_id")?,
        source: match r.try_get::<String, _>("source")?.as_str() {
            "metadata_document" => ClientSource::MetadataDocument,
            _ => ClientSource::Registered,
        },
        client_name: r.try_get("client_name")?,
        redirect_uris: serde_json::from_str(&uris)
            .map_err(|_| CatalogError::Store("a client's redirect URIs are unreadable".into()))?,
        auth_method: AuthMethod::parse(&r.try_get::<String, _>("auth_method")?)
            .unwrap_or(AuthMethod::None),
        fetched_at: r.try_get("fetched_at")?,
    })
}

fn check_new(name: &str, uris: &[String]) -> Result<()> {
    if name.chars().count() > MAX_NAME_LEN || name.chars().any(char::is_control) {
        return Err(CatalogError::invalid(
            "client_name",
            format!("give a plain name of at most {MAX_NAME_LEN} characters"),
        ));
    }
    if uris.is_empty() || uris.len() > MAX_REDIRECT_URIS {
        return Err(CatalogError::invalid(
            "redirect_uris",
            format!("give between 1 and {MAX_REDIRECT_URIS} redirect URIs"),
        ));
    }
    uris.iter().try_for_each(|u| check_redirect_uri(u))
}

impl Store {
    /// Registers a client (RFC 7591). A confidential client gets a secret, shown once.
    pub async fn register_client(&self, c: NewClient) -> Result<(Client, Option<String>)> {
        check_new(&c.client_name, &c.redirect_uris)?;
        let client_id = crate::tokens::mint_secret("pwc_");
        let secret =
            (c.auth_method != AuthMethod::None).then(|| crate::tokens::mint_secret("pwcs_"));
        sqlx::query(
            "INSERT INTO oauth_clients (client_id, source, client_name, redirect_uris, auth_method, secret_hash, created_at) \
             VALUES ($1, 'registered', $2, $3, $4, $5, $6)",
        )
        .bind(&client_id)
        .bind(if c.client_name.trim().is_empty() { "Unnamed client" } else { c.client_name.trim() })
        .bind(serde_json::to_string(&c.redirect_uris).unwrap_or_default())
        .bind(c.auth_method.as_str())
        .bind(secret.as_deref().map(hash_token))
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        let client = self
            .oauth_client(&client_id)
            .await?
            .ok_or_else(|| CatalogError::not_found("client", &client_id))?;
        Ok((client, secret))
    }

    /// Keeps (or refreshes) what a client's metadata document said.
    pub async fn remember_metadata_client(&self, c: &NewClient, url: &str) -> Result<Client> {
        check_new(&c.client_name, &c.redirect_uris)?;
        let now = now_ms();
        let uris = serde_json::to_string(&c.redirect_uris).unwrap_or_default();
        let name = if c.client_name.trim().is_empty() {
            url
        } else {
            c.client_name.trim()
        };
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM oauth_clients WHERE client_id = $1")
            .bind(url)
            .execute(&mut *tx)
            .await?;
        // A bounded cache: the oldest documents make room (they are fetched again if used).
        sqlx::query(
            "DELETE FROM oauth_clients WHERE source = 'metadata_document' AND client_id IN \
             (SELECT client_id FROM oauth_clients WHERE source = 'metadata_document' \
              ORDER BY fetched_at DESC LIMIT 1000000 OFFSET $1)",
        )
        .bind(MAX_CACHED_DOCUMENTS)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO oauth_clients (client_id, source, client_name, redirect_uris, auth_method, created_at, fetched_at) \
             VALUES ($1, 'metadata_document', $2, $3, 'none', $4, $4)",
        )
        .bind(url)
        .bind(name)
        .bind(uris)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.oauth_client(url)
            .await?
            .ok_or_else(|| CatalogError::not_found("client", url))
    }

    pub async fn oauth_client(&self, client_id: &str) -> Result<Option<Client>> {
        let row = sqlx::query(
            "SELECT client_id, source, client_name, redirect_uris, auth_method, fetched_at FROM oauth_clients WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(client_from).transpose()
    }

    /// Whether `secret` is the client's (a public client has none to check).
    pub async fn check_client_secret(&self, client_id: &str, secret: &str) -> Result<bool> {
        let stored: Option<Option<String>> =
            sqlx::query_scalar("SELECT secret_hash FROM oauth_clients WHERE client_id = $1")
                .bind(client_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(matches!(stored, Some(Some(h)) if h == hash_token(secret)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris() {
        assert!(redirect_matches(
            "http://127.0.0.1:1234/cb",
            "http://127.0.0.1:9876/cb"
        ));
        assert!(redirect_matches(
            "http://localhost/cb",
            "http://localhost:5/cb"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1:1234/cb",
            "http://127.0.0.1:1234/cb2"
        ));
        assert!(!redirect_matches(
            "https://app.example/cb",
            "https://app.example/cb?x=1"
        ));
        assert!(!redirect_matches(
            "https://a.example:1/cb",
            "https://a.example:2/cb"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1.evil.example/cb",
            "http://127.0.0.1/cb"
        ));
        for ok in [
            "https://app.example/cb",
            "http://127.0.0.1:33418/callback",
            "cursor://anysphere.cursor-mcp/oauth",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com/cb",
            "javascript:alert(1)",
            "https://a.example/cb#x",
            "",
            "https://",
            "x",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }
}
