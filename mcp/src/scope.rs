//! What a credential limited to some connections may reach, checked in one place before
//! any tool runs: every `connection_id` in the arguments, and every connection used by the
//! package an argument names (directly, or through a schedule or a run). A connection
//! outside the scope answers as if it did not exist; a package that uses one is refused.
//! Lists of connections (and search hits) leave the others out.

use serde_json::Value;

use crate::{
    context::ToolContext,
    error::{ErrorCode, ToolError},
    tools::lookup,
};

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

/// The package an argument names, directly or through a schedule or a run.
async fn named_package(ctx: &ToolContext, args: &Value) -> Result<Option<i64>, ToolError> {
    let id = |k: &str| args.get(k).and_then(Value::as_i64);
    if let Some(p) = id("package_id") {
        return Ok(Some(p));
    }
    if let Some(s) = id("schedule_id") {
        return Ok(ctx
            .store
            .schedule(ctx.account_id(), s)
            .await
            .ok()
            .map(|s| s.package_id));
    }
    if let Some(r) = id("run_id") {
        return Ok(ctx
            .store
            .get_run(ctx.account_id(), r, 0)
            .await
            .ok()
            .map(|r| r.summary.package_id));
    }
    Ok(None)
}

/// Refuses a call that would reach a connection outside the credential's scope.
pub async fn check(ctx: &ToolContext, args: &Value) -> Result<(), ToolError> {
    let Some(allowed) = ctx.principal.credential.scopes.connections.clone() else {
        return Ok(());
    };
    let mut ids = Vec::new();
    connection_ids(args, &mut ids);
    if let Some(id) = ids.into_iter().find(|id| !allowed.contains(id)) {
        return Err(ToolError::not_found(
            "connection_id",
            "connection",
            id,
            "list_connections shows the connections this token may use",
        ));
    }
    let Some(package) = named_package(ctx, args).await? else {
        return Ok(());
    };
    // A package this account does not have is the tool's own "not found" to tell.
    let Ok(p) = lookup::package(ctx, package).await else {
        return Ok(());
    };
    let mut used = Vec::new();
    connection_ids(&p.data_flow_json, &mut used);
    if used.iter().any(|id| !allowed.contains(id)) {
        return Err(ToolError::new(
            ErrorCode::Forbidden,
            format!("package {package} uses connections outside this token's scopes"),
        )
        .with_hint("use a token whose --connections include every connection the package uses"));
    }
    Ok(())
}

/// Leaves connections outside the scope out of a tool's answer.
pub fn filter(ctx: &ToolContext, tool: &str, v: &mut Value) {
    let Some(allowed) = &ctx.principal.credential.scopes.connections else {
        return;
    };
    let keep = |item: &Value, key: &str| {
        item.get(key)
            .and_then(Value::as_i64)
            .is_none_or(|id| allowed.contains(&id))
    };
    match tool {
        "list_connections" => {
            if let Some(list) = v.get_mut("connections").and_then(Value::as_array_mut) {
                list.retain(|c| keep(c, "id"));
                let shown = list.len();
                v["total"] = Value::from(shown);
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
