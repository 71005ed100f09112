//! What a credential limited to some connections may reach, checked in one place before
//! any tool runs: every `connection_id` in the arguments, every connection used by the
//! package an argument names (directly, or through a schedule or a run), by the package
//! version it names (revert, an old version) and by the version a run ran. A connection
//! outside the scope answers as if it did not exist; a package that uses one is refused; a
//! bucket other than the connection's is refused. Lists of connections, search hits and
//! audit events about connections leave the others out.
//!
//! What this does not cover (README says so): a run queued through the scope whose package
//! a full-scope user points at another connection before a worker claims it; names and
//! errors of other packages in `list_packages`, `list_runs` and `list_schedules`; and a
//! query that reaches another database on the same server as an allowed connection.

use serde_json::Value;

use catalog::CatalogError;

use crate::{
    context::ToolContext,
    error::{ErrorCode, ToolError},
};

/// A lookup's result for the guard: a missing object is the tool's own "not found" to
/// tell (it checks the account too); any other failure stops the call.
fn found<T>(r: Result<T, CatalogError>) -> Result<Option<T>, ToolError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(CatalogError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Every number under a `connection_id` key, at any depth.
fn connection_ids(v: &Value, out: &mut Vec<i64>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "connection_id" {
                    if let Some(id) = x.as_i64() {
                        out.push(id);
                    }
                }
                connection_ids(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| connection_ids(x, out)),
        _ => {}
    }
}

/// The package an argument names (directly, or through a schedule or a run) and the
/// versions of it that matter: the one named (`version`) and the one a run ran.
async fn named_package(
    ctx: &ToolContext,
    args: &Value,
) -> Result<Option<(i64, Vec<i64>)>, ToolError> {
    let id = |k: &str| args.get(k).and_then(Value::as_i64);
    let mut versions: Vec<i64> = id("version").into_iter().collect();
    if let Some(p) = id("package_id") {
        return Ok(Some((p, versions)));
    }
    if let Some(s) = id("schedule_id") {
        let s = found(ctx.store.schedule(ctx.account_id(), s).await)?;
        return Ok(s.map(|s| (s.package_id, versions)));
    }
    if let Some(r) = id("run_id") {
        let r = found(ctx.store.get_run(ctx.account_id(), r, 0).await)?;
        return Ok(r.map(|r| {
            versions.extend(r.package_version);
            (r.summary.package_id, versions)
        }));
    }
    Ok(None)
}

/// Refuses a call that would reach a connection outside the credential's scope.
pub async fn check(ctx: &ToolContext, args: &Value) -> Result<(), ToolError> {
    let scopes = &ctx.principal.credential.scopes;
    if scopes.connections.is_none() {
        return Ok(());
    }
    let mut ids = Vec::new();
    connection_ids(args, &mut ids);
    if let Some(id) = ids.into_iter().find(|&id| !scopes.allows_connection(id)) {
        return Err(ToolError::not_found(
            "connection_id",
            "connection",
            id,
            "list_connections shows the connections this token may use",
        ));
    }
    // Another bucket through an allowed connection's credentials is another store.
    if args.get("bucket").is_some_and(|b| !b.is_null()) {
        return Err(ToolError::new(
            ErrorCode::Forbidden,
            "this token is limited to some connections: it reads only each connection's own bucket",
        )
        .with_field("bucket")
        .with_hint("leave out `bucket`"));
    }
    let Some((package, versions)) = named_package(ctx, args).await? else {
        return Ok(());
    };
    let Some(p) = found(ctx.store.package(ctx.account_id(), package).await)? else {
        return Ok(());
    };
    let mut used = Vec::new();
    connection_ids(&p.data_flow_json, &mut used);
    for v in versions {
        if let Some(old) = found(
            ctx.store
                .package_version(ctx.account_id(), package, v)
                .await,
        )? {
            connection_ids(&old.data_flow_json, &mut used);
        }
    }
    if used.iter().any(|&id| !scopes.allows_connection(id)) {
        return Err(ToolError::new(
            ErrorCode::Forbidden,
            format!("package {package} uses connections outside this token's scopes"),
        )
        .with_hint("use a token whose --connections include every connection the package uses"));
    }
    Ok(())
}

/// Tools that make something new rather than change what exists: open to a credential
/// limited to what it created (a clone reads its source, as any read may).
const CREATING: [&str; 2] = ["create_package", "clone_package"];

/// Refuses a change, by a credential limited to what it created itself, to a package or
/// schedule it did not create (the audit trail's creation event tells): changing,
/// deleting, reverting, running or scheduling one, or a run of one. Reads are not limited.
pub async fn check_created_only(
    ctx: &ToolContext,
    tool: &str,
    read_only: bool,
    args: &Value,
) -> Result<(), ToolError> {
    if !ctx.principal.credential.scopes.created_only || read_only || CREATING.contains(&tool) {
        return Ok(());
    }
    let refused = |what: String| {
        Err(ToolError::new(
            ErrorCode::Forbidden,
            format!("this token changes only the packages and schedules it created; {what} was not created through it"),
        )
        .with_hint("create or clone_package a package of this token's own, or use a token without --created-only"))
    };
    let id = |k: &str| args.get(k).and_then(Value::as_i64);
    let (account, token) = (ctx.account_id(), ctx.principal.token_id);
    // Each object the call names must be its own: a schedule, a package (one a schedule
    // would be pointed at included), the package of a run.
    let mut named = false;
    if let Some(s) = id("schedule_id") {
        named = true;
        if !ctx.store.created_by(account, "schedule", s, token).await? {
            return refused(format!("schedule {s}"));
        }
    }
    if let Some(p) = id("package_id") {
        named = true;
        if !ctx.store.created_by(account, "package", p, token).await? {
            return refused(format!("package {p}"));
        }
    }
    if let Some(r) = id("run_id") {
        named = true;
        if let Some(run) = found(ctx.store.get_run(account, r, 0).await)? {
            let p = run.summary.package_id;
            if !ctx.store.created_by(account, "package", p, token).await? {
                return refused(format!("the package of run {r}"));
            }
        }
    }
    if named {
        Ok(())
    } else {
        // A change naming no package or schedule is not one this token may make.
        refused(format!("what `{tool}` changes"))
    }
}

/// Leaves connections outside the scope out of a tool's answer.
pub fn filter(ctx: &ToolContext, tool: &str, v: &mut Value) {
    let scopes = &ctx.principal.credential.scopes;
    if scopes.connections.is_none() {
        return;
    }
    let keep = |item: &Value, key: &str| {
        item.get(key)
            .and_then(Value::as_i64)
            .is_none_or(|id| scopes.allows_connection(id))
    };
    match tool {
        "list_connections" => {
            if let Some(list) = v.get_mut("connections").and_then(Value::as_array_mut) {
                list.retain(|c| keep(c, "id"));
                let shown = list.len();
                v["total"] = Value::from(shown);
            }
        }
        "list_audit_events" => {
            if let Some(list) = v.get_mut("audit_events").and_then(Value::as_array_mut) {
                list.retain(|e| {
                    e.get("target_type").and_then(Value::as_str) != Some("connection")
                        || keep(e, "target_id")
                });
            }
        }
        "search_all" => {
            if let Some(list) = v.get_mut("connections").and_then(Value::as_array_mut) {
                let before = list.len();
                list.retain(|h| keep(h, "id"));
                let hidden = (before - list.len()) as i64;
                if let Some(t) = v.get("total").and_then(Value::as_i64) {
                    v["total"] = Value::from(t - hidden);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_connection_ids_at_any_depth() {
        let v = serde_json::json!({"connection_id": 3, "components": [{"database_source_component": {"connection_id": 7}}, {"x": {"y": [{"connection_id": 9}]}}]});
        let mut ids = Vec::new();
        super::connection_ids(&v, &mut ids);
        ids.sort();
        assert_eq!(ids, [3, 7, 9]);
    }
}
