//! How tools find what they are asked about: one page of a list, or one of the account's
//! resources by id. Each lookup names the argument to fix when nothing is found, so every
//! tool says "not found" the same way.

use catalog::{connections::Connection, packages::Package, CatalogError, PageRequest};

use crate::{context::ToolContext, error::ToolError};

pub const DEFAULT_LIMIT: i64 = 25;
pub const MAX_LIMIT: i64 = 100;

/// The page a list tool's `limit` and `offset` ask for.
pub fn page(limit: Option<i64>, offset: Option<i64>) -> Result<PageRequest, ToolError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ToolError::invalid(
            "limit",
            format!("limit must be between 1 and {MAX_LIMIT} (got {limit})"),
        )
        .with_hint("ask for fewer items and page through the rest with `offset`"));
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(ToolError::invalid(
            "offset",
            format!("offset must be 0 or more (got {offset})"),
        ));
    }
    Ok(PageRequest::new(limit, offset))
}

/// A catalog error, with "not found" told as `field` naming a missing `what`.
pub fn missing(
    field: &str,
    what: &str,
    id: i64,
    hint: &str,
) -> impl FnOnce(CatalogError) -> ToolError {
    let (field, what, hint) = (field.to_string(), what.to_string(), hint.to_string());
    move |e| match e {
        CatalogError::NotFound { .. } => ToolError::not_found(&field, &what, id, &hint),
        other => other.into(),
    }
}

/// One of this account's connections (without credentials); not found names
/// `connection_id`.
pub async fn connection(ctx: &ToolContext, id: i64) -> Result<Connection, ToolError> {
    ctx.store
        .connection(ctx.account_id(), id)
        .await
        .map_err(missing(
            "connection_id",
            "connection",
            id,
            "list_connections shows this account's connections",
        ))
}

/// One of this account's packages; not found names `package_id`.
pub async fn package(ctx: &ToolContext, id: i64) -> Result<Package, ToolError> {
    ctx.store
        .package(ctx.account_id(), id)
        .await
        .map_err(missing(
            "package_id",
            "package",
            id,
            "list_packages or search_all shows package ids",
        ))
}

/// Fails unless this account has workspace `id`; not found names `workspace_id`.
pub async fn workspace(ctx: &ToolContext, id: i64) -> Result<(), ToolError> {
    if ctx.store.workspace_exists(ctx.account_id(), id).await? {
        Ok(())
    } else {
        Err(ToolError::not_found(
            "workspace_id",
            "workspace",
            id,
            "list_workspaces shows the workspace ids",
        ))
    }
}
