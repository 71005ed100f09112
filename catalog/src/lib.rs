//! The control plane's state and its rules.
//!
//! Everything Pipewright remembers lives here: accounts, users and memberships, tokens,
//! workspaces, connections (with sealed secrets), packages and their versions, runs and
//! their logs, schedules, clusters, job validations, and the audit trail. One [`Store`]
//! speaks to SQLite (the embedded default) or PostgreSQL (production, several replicas)
//! through the same queries.
//!
//! What this layer must never do: know about MCP, HTTP or any driver; return a secret
//! in clear outside [`Store::open_secrets`]; leave a half-done write
//! (every mutation is one transaction that also writes its audit event); let two
//! concurrent edits of a package overwrite each other (package rows are locked while
//! edited, and every version is kept).
//!
//! Read first: [`Store`], [`access::Principal`], [`audit::Actor`], [`error::CatalogError`],
//! and `packages::authoring` for how a versioned, audited change is made.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod clusters;
pub mod connection_source;
pub mod connections;
pub mod diff;
pub mod error;
pub mod oauth;
pub mod packages;
pub mod page;
pub mod runs;
pub mod schedules;
pub mod seal;
pub mod search;
pub mod store;
pub mod time;
pub mod tokens;
pub mod users;
pub mod validations;
pub mod workspaces;

pub use access::Principal;
pub use audit::Actor;
pub use error::CatalogError;
pub use page::{Page, PageRequest};
pub use store::{Backend, Store};

pub type Result<T, E = CatalogError> = std::result::Result<T, E>;
