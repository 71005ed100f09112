//! Job validations: each `validate_package` call leaves a record of what it found, for
//! which version of the package, and how long it took. The store keeps what the engine
//! reports; it does not judge it.

use serde::Serialize;
use serde_json::Value;
use sqlx::{any::AnyRow, Row};

use crate::{store::Filters, time::now_ms, CatalogError, Page, PageRequest, Result, Store};

pub struct NewJobValidation<'a> {
    pub account_id: i64,
    pub package_id: i64,
    /// The package version that was validated.
    pub package_version: i64,
    /// The engine's verdict, e.g. `valid` or `invalid`.
    pub status: &'a str,
    /// The engine's findings, as it reports them (a list of `{component, property, message, fix}`).
    pub errors: &'a Value,
    pub duration_ms: i64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct JobValidation {
    pub id: i64,
    pub package_id: i64,
    /// Unknown for records made before versions were noted.
    pub package_version: Option<i64>,
    pub status: String,
    pub errors: Value,
    pub duration_ms: i64,
    pub created_at: String,
}

const COLS: &str = "id, package_id, package_version, status, errors_json, duration_ms, created_at";

fn from_row(r: &AnyRow) -> Result<JobValidation> {
    Ok(JobValidation {
        id: r.try_get("id")?,
        package_id: r.try_get("package_id")?,
        package_version: r.try_get("package_version")?,
        status: r.try_get("status")?,
        errors: serde_json::from_str(&r.try_get::<String, _>("errors_json")?)
            .unwrap_or(Value::Null),
        duration_ms: r.try_get("duration_ms")?,
        created_at: crate::time::rfc3339(r.try_get("created_at")?),
    })
}

impl Store {
    /// Keeps one validation's outcome. The package must be the account's.
    pub async fn record_job_validation(&self, v: NewJobValidation<'_>) -> Result<JobValidation> {
        if v.status.trim().is_empty() || v.status.len() > 32 {
            return Err(CatalogError::invalid(
                "status",
                "name the outcome in one short word, e.g. `valid` or `invalid`",
            ));
        }
        let mut tx = self.begin().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO job_validations (account_id, package_id, package_version, status, errors_json, duration_ms, created_at) \
             SELECT p.account_id, p.id, $1, $2, $3, $4, $5 FROM packages p WHERE p.id = $6 AND p.account_id = $7 \
             RETURNING {COLS}"
        )))
        .bind(v.package_version)
        .bind(v.status)
        .bind(v.errors.to_string())
        .bind(v.duration_ms.max(0))
        .bind(now_ms())
        .bind(v.package_id)
        .bind(v.account_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| CatalogError::not_found("package", v.package_id))?;
        let kept = from_row(&row)?;
        tx.commit().await?;
        Ok(kept)
    }

    /// A package's validations, newest first.
    pub async fn list_job_validations(
        &self,
        account_id: i64,
        package_id: i64,
        page: PageRequest,
    ) -> Result<Page<JobValidation>> {
        let mut f = Filters::default();
        f.int("package_id = {}", package_id)
            .int("account_id = {}", account_id);
        f.page(
            &self.pool,
            (COLS, "job_validations", "id DESC"),
            page,
            from_row,
        )
        .await
    }
}
