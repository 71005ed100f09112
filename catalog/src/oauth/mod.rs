//! The OAuth 2.1 authorization server's state: clients ([`clients`]: registered with RFC
//! 7591 or known by their metadata document) and grants ([`grants`]: a consent for one
//! account, its single-use PKCE-bound codes, rotating refresh tokens and one-hour access
//! tokens). The HTTP side (metadata, forms, fetching metadata documents) is the binary's.

pub mod clients;
pub mod grants;

pub use clients::{AuthMethod, Client, ClientSource, NewClient};
pub use grants::{Consent, GrantSummary, Issued, OAuthRefusal};

/// An access token's lifetime.
pub const ACCESS_TOKEN_SECS: i64 = 3600;
/// A refresh token's lifetime (each use replaces it).
pub const REFRESH_TOKEN_MS: i64 = 30 * 24 * 3600 * 1000;
/// An authorization code's lifetime.
pub const CODE_MS: i64 = 120_000;
