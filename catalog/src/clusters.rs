//! Clusters: named worker pools that runs are placed on.
//!
//! A cluster's stored fields (status, type, configured `nodes`, region, lifecycle times)
//! are what was set for it; `live_nodes` is counted at read time from the workers whose
//! heartbeat is fresh ([`crate::runs::LIVE_FOR_MS`]) and that serve it (a worker started
//! for the cluster's name, or one serving every cluster). While at least one live worker
//! serves it, a cluster reads as `available` (runs on it will start), unless it is
//! `terminating` or `terminated`, which stay as they are with no live nodes: no run can be
//! queued there. Without live workers the stored status stands.

use serde::Serialize;
use sqlx::Row;

use crate::{
    audit, search, store::Filters, time::now_ms, CatalogError, Page, PageRequest, Result, Store,
};

pub const STATUSES: &[&str] = &[
    "pending",
    "creating",
    "available",
    "idle",
    "terminating",
    "terminated",
    "error",
];

#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct Cluster {
    pub id: i64,
    pub name: String,
    pub status: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Nodes the cluster is configured with.
    pub nodes: i64,
    /// Workers serving the cluster now (fresh heartbeats).
    pub live_nodes: i64,
    pub region: String,
    pub terminate_on_idle: bool,
    /// Seconds of idleness before an idle cluster terminates (when `terminate_on_idle`).
    pub time_to_idle: i64,
    pub created_at: String,
    pub available_since: Option<String>,
    pub terminated_at: Option<String>,
    pub updated_at: String,
}

pub struct NewCluster<'a> {
    pub account_id: i64,
    pub name: &'a str,
    pub status: &'a str,
    pub kind: &'a str,
    pub nodes: i64,
    pub region: &'a str,
    pub terminate_on_idle: bool,
}

impl Store {
    pub async fn create_cluster(&self, c: NewCluster<'_>) -> Result<i64> {
        if !STATUSES.contains(&c.status) {
            return Err(CatalogError::invalid(
                "status",
                format!("use one of: {}", STATUSES.join(", ")),
            ));
        }
        let now = now_ms();
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO clusters (account_id, name, status, type, nodes, region, terminate_on_idle, created_at, available_since, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $8) RETURNING id",
        )
        .bind(c.account_id)
        .bind(c.name)
        .bind(c.status)
        .bind(c.kind)
        .bind(c.nodes)
        .bind(c.region)
        .bind(i64::from(c.terminate_on_idle))
        .bind(now)
        .bind((c.status == "available").then_some(now))
        .fetch_one(&mut *tx)
        .await?;
        search::index(
            &mut tx,
            search::Kind::Cluster,
            id,
            c.account_id,
            c.name,
            &format!("{} {} {}", c.kind, c.region, c.status),
        )
        .await?;
        audit::record(
            &mut tx,
            audit::NewEvent::system(c.account_id, "cluster.create", "cluster", Some(id))
                .after(serde_json::json!({"name": c.name, "nodes": c.nodes})),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn list_clusters(
        &self,
        account_id: i64,
        status: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<Cluster>> {
        let mut f = Filters::default();
        let since = f.placeholder(now_ms() - crate::runs::LIVE_FOR_MS);
        f.int("account_id = {}", account_id);
        if let Some(s) = status {
            f.text("status = {}", s);
        }
        // Status and live nodes as described in the module doc, so the status filter
        // sees what the caller is shown.
        let live = format!(
            "(SELECT COUNT(*) FROM workers w WHERE (w.cluster IS NULL OR w.cluster = c.name) AND w.heartbeat_at >= {since})"
        );
        let from = format!(
            "(SELECT c.id, c.account_id, c.name, c.type, c.nodes, c.region, c.terminate_on_idle, c.time_to_idle, \
             c.created_at, c.available_since, c.terminated_at, c.updated_at, \
             CASE WHEN c.status IN ('terminating', 'terminated') THEN 0 ELSE {live} END AS live_nodes, \
             CASE WHEN c.status NOT IN ('terminating', 'terminated') AND {live} > 0 THEN 'available' ELSE c.status END AS status \
             FROM clusters c) c"
        );
        f.page(
            &self.pool,
            (
                "id, name, status, type, nodes, live_nodes, region, terminate_on_idle, time_to_idle, created_at, available_since, terminated_at, updated_at",
                &from,
                "id",
            ),
            page,
            |r| {
                Ok(Cluster {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    status: r.try_get("status")?,
                    kind: r.try_get("type")?,
                    nodes: r.try_get("nodes")?,
                    live_nodes: r.try_get("live_nodes")?,
                    region: r.try_get("region")?,
                    terminate_on_idle: r.try_get::<i64, _>("terminate_on_idle")? != 0,
                    time_to_idle: r.try_get("time_to_idle")?,
                    created_at: crate::time::rfc3339(r.try_get("created_at")?),
                    available_since: crate::time::rfc3339_opt(r.try_get("available_since")?),
                    terminated_at: crate::time::rfc3339_opt(r.try_get("terminated_at")?),
                    updated_at: crate::time::rfc3339(r.try_get("updated_at")?),
                })
            },
        )
        .await
    }
}
