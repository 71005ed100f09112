//! Signing in to the web pages: a password per user, kept only as an argon2 hash, and
//! the sessions a sign-in opens (a random id in a cookie, kept hashed, with its CSRF
//! token and an expiry).

use argon2::{
    password_hash::{phc::PasswordHash, PasswordHasher, PasswordVerifier},
    Argon2,
};
use sqlx::Row;

use crate::{accounts::User, time::now_ms, tokens::hash_token, CatalogError, Result, Store};

/// Passwords shorter than this are refused: a sign-in page faces the network.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longer passwords are refused before any hashing (the work must stay bounded).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// RFC 5321's limit on an address.
pub const MAX_EMAIL_BYTES: usize = 254;
/// A sign-in lasts this long.
pub const SESSION_LIFETIME_MS: i64 = 12 * 3600 * 1000;

/// A signed-in browser: who, and the CSRF token every form of theirs must carry.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub user: User,
    pub csrf: String,
}

/// A password the server will keep: long enough, and short enough to hash.
pub fn check_password_shape(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(CatalogError::invalid(
            "password",
            format!("use at least {MIN_PASSWORD_CHARS} characters (and at most {MAX_PASSWORD_BYTES} bytes)"),
        ));
    }
    Ok(())
}

fn hash_password(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h: PasswordHash| h.to_string())
        .map_err(|_| CatalogError::Store("the password could not be hashed".into()))
}

fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

impl Store {
    /// Sets (or replaces) a user's password; every open sign-in of theirs ends.
    pub async fn set_password(&self, email: &str, password: &str) -> Result<User> {
        check_password_shape(password)?;
        let user = self.user_by_email(email).await?.ok_or_else(|| {
            CatalogError::invalid(
                "email",
                "no user has this address; add one with `pipewright account add-member`",
            )
        })?;
        let password = password.to_string();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|_| CatalogError::Store("the password could not be hashed".into()))??;
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM web_sessions WHERE user_id = $1")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// The user whose email and password these are. An unknown email costs the same
    /// hashing time as a wrong password, so the answer's timing tells nothing.
    pub async fn check_password(&self, email: &str, password: &str) -> Result<Option<User>> {
        if email.len() > MAX_EMAIL_BYTES || password.len() > MAX_PASSWORD_BYTES {
            return Ok(None);
        }
        let row = sqlx::query("SELECT id, email, name, password_hash FROM users WHERE email = $1")
            .bind(email.trim())
            .fetch_optional(&self.pool)
            .await?;
        let stored: Option<String> = match &row {
            Some(r) => r.try_get("password_hash")?,
            None => None,
        };
        let password = password.to_string();
        let ok = tokio::task::spawn_blocking(move || match stored {
            Some(s) => verify(&password, &s),
            None => {
                // The same work as a real check, against a hash nobody's password makes.
                let _ = hash_password(&password);
                false
            }
        })
        .await
        .unwrap_or(false);
        match (ok, row) {
            (true, Some(r)) => Ok(Some(User {
                id: r.try_get("id")?,
                email: r.try_get("email")?,
                name: r.try_get("name")?,
            })),
            _ => Ok(None),
        }
    }

    /// Opens a sign-in: returns the session id for the cookie, shown once, kept hashed.
    pub async fn open_web_session(&self, user_id: i64) -> Result<String> {
        let id = crate::tokens::mint_secret("pws_");
        let csrf = crate::tokens::mint_secret("");
        let now = now_ms();
        sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO web_sessions (id_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hash_token(&id))
        .bind(user_id)
        .bind(csrf)
        .bind(now)
        .bind(now + SESSION_LIFETIME_MS)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// The signed-in user of a session cookie, while it lasts.
    pub async fn web_session(&self, id: &str) -> Result<Option<WebSession>> {
        let row = sqlx::query(
            "SELECT u.id, u.email, u.name, s.csrf FROM web_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2",
        )
        .bind(hash_token(id))
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(WebSession {
                user: User {
                    id: r.try_get("id")?,
                    email: r.try_get("email")?,
                    name: r.try_get("name")?,
                },
                csrf: r.try_get("csrf")?,
            })
        })
        .transpose()
    }

    pub async fn close_web_session(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1")
            .bind(hash_token(id))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
