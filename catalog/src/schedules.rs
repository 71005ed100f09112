//! Schedules: a cron expression that runs a package, switched on and off.

use serde::Serialize;
use serde_json::Value;
use sqlx::{any::AnyRow, Row};

use crate::{
    audit, store::Filters, time::now_ms, tokens::Principal, CatalogError, Page, PageRequest,
    Result, Store,
};

#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct Schedule {
    pub id: i64,
    pub name: String,
    pub package_id: i64,
    pub cron: String,
    pub time_zone: String,
    pub enabled: bool,
    pub variables: Value,
    pub cluster_id: Option<i64>,
    pub next_run_at: Option<String>,
    pub last_run_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

pub struct NewSchedule<'a> {
    pub account_id: i64,
    pub package_id: i64,
    pub name: &'a str,
    pub cron: &'a str,
    pub enabled: bool,
    pub variables: Value,
    pub cluster_id: Option<i64>,
    pub next_run_at: Option<i64>,
    pub last_run_at: Option<i64>,
}

const COLS: &str = "id, name, package_id, cron, time_zone, enabled, variables_json, cluster_id, next_run_at, last_run_at, created_at, updated_at";

fn from_row(r: &AnyRow) -> Result<Schedule> {
    let vars: String = r.try_get("variables_json")?;
    Ok(Schedule {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        package_id: r.try_get("package_id")?,
        cron: r.try_get("cron")?,
        time_zone: r.try_get("time_zone")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        variables: serde_json::from_str(&vars).unwrap_or(Value::Null),
        cluster_id: r.try_get("cluster_id")?,
        next_run_at: crate::time::rfc3339_opt(r.try_get("next_run_at")?),
        last_run_at: crate::time::rfc3339_opt(r.try_get("last_run_at")?),
        created_at: crate::time::rfc3339(r.try_get("created_at")?),
        updated_at: crate::time::rfc3339(r.try_get("updated_at")?),
    })
}

impl Store {
    pub async fn create_schedule(&self, s: NewSchedule<'_>) -> Result<i64> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO schedules (account_id, package_id, name, cron, enabled, variables_json, cluster_id, next_run_at, last_run_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
        )
        .bind(s.account_id)
        .bind(s.package_id)
        .bind(s.name)
        .bind(s.cron)
        .bind(i64::from(s.enabled))
        .bind(s.variables.to_string())
        .bind(s.cluster_id)
        .bind(s.next_run_at)
        .bind(s.last_run_at)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            audit::NewEvent::system(s.account_id, "schedule.create", "schedule", Some(id))
                .after(serde_json::json!({"name": s.name, "cron": s.cron, "enabled": s.enabled})),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn list_schedules(
        &self,
        account_id: i64,
        package_id: Option<i64>,
        enabled: Option<bool>,
        page: PageRequest,
    ) -> Result<Page<Schedule>> {
        let mut f = Filters::default();
        f.int("account_id = {}", account_id);
        if let Some(p) = package_id {
            f.int("package_id = {}", p);
        }
        if let Some(e) = enabled {
            f.int("enabled = {}", i64::from(e));
        }
        f.page(&self.pool, (COLS, "schedules", "id"), page, from_row)
            .await
    }

    pub async fn schedule(&self, account_id: i64, id: i64) -> Result<Schedule> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM schedules WHERE id = $1 AND account_id = $2"
        )))
        .bind(id)
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| CatalogError::not_found("schedule", id))?;
        from_row(&row)
    }

    /// Enables or disables a schedule; audited with before and after. Returns the schedule
    /// as it is now and whether anything changed.
    pub async fn toggle_schedule(
        &self,
        who: &Principal,
        id: i64,
        enabled: bool,
    ) -> Result<(Schedule, bool)> {
        let mut tx = self.begin().await?;
        if enabled {
            // Package row first, then the schedule: the order `archive_package` locks them
            // in, so a schedule is never switched on for a package being archived.
            let status: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT status FROM packages WHERE id = (SELECT package_id FROM schedules WHERE id = $1 AND account_id = $2){}",
                self.for_update()
            )))
            .bind(id)
            .bind(who.account.id)
            .fetch_optional(&mut *tx)
            .await?;
            if status.as_deref() == Some("archived") {
                return Err(CatalogError::Conflict(format!(
                    "schedule {id} runs an archived package, and an archived package's schedules stay off"
                )));
            }
        }
        let current: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT enabled FROM schedules WHERE id = $1 AND account_id = $2{}",
            self.for_update()
        )))
        .bind(id)
        .bind(who.account.id)
        .fetch_optional(&mut *tx)
        .await?;
        let current = current.ok_or_else(|| CatalogError::not_found("schedule", id))? != 0;
        let changed = current != enabled;
        if changed {
            sqlx::query("UPDATE schedules SET enabled = $1, updated_at = $2 WHERE id = $3")
                .bind(i64::from(enabled))
                .bind(now_ms())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            audit::record(
                &mut tx,
                audit::NewEvent::by(
                    who,
                    if enabled {
                        "schedule.enable"
                    } else {
                        "schedule.disable"
                    },
                    "schedule",
                    Some(id),
                )
                .before(serde_json::json!({"enabled": current}))
                .after(serde_json::json!({"enabled": enabled})),
            )
            .await?;
        }
        tx.commit().await?;
        Ok((self.schedule(who.account.id, id).await?, changed))
    }
}
