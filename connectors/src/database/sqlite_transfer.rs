//! Bulk reads and writes on SQLite files (see [`super::transfer`] for what every backend
//! promises). A read streams its rows from the read-only pool in the reader's task. A
//! write runs in one `BEGIN IMMEDIATE` transaction on the writable connection: create the
//! table if asked, empty it (overwrite) or stage (merge), multi-row INSERTs reusing their
//! prepared statements, merge, commit. The connection is closed when the write ends, so
//! an abandoned write's transaction dies with it (SQLite rolls back).

use futures_util::{StreamExt, TryStreamExt};
use sqlx::{
    sqlite::{SqliteArguments, SqliteRow},
    Row, Sqlite as Db, SqliteConnection, TypeInfo, ValueRef,
};

use super::{
    arrow_values::{unfit, Values},
    batches::{spawn_reader, BatchBuilder, Cell},
    plan, scalars, sql,
    sqlite::{error, Sqlite},
    transfer::{BatchStream, Param, ReadRequest, WriteMode, WriteRequest, WriteSummary},
    TableRef,
};
use crate::{
    error::{DriverError, Result},
    sanitize::Dialect,
};

const LITE: Dialect = Dialect::Sqlite;
/// Bound values per INSERT at most (SQLite allows 32766).
const MAX_VARIABLES: usize = 30_000;
/// Rows per INSERT at most.
const MAX_ROWS: usize = 500;

type Query<'q> = sqlx::query::Query<'q, Db, SqliteArguments>;

fn bind_param(q: Query<'_>, p: Param) -> Query<'_> {
    match p {
        Param::Null => q.bind(None::<i64>),
        Param::Bool(v) => q.bind(v),
        Param::Int(v) => q.bind(v),
        Param::Float(v) => q.bind(v),
        Param::Text(v) => q.bind(v),
    }
}

pub(super) async fn read(lite: &Sqlite, r: ReadRequest) -> Result<BatchStream> {
    let mut builder = BatchBuilder::new(r.schema.clone(), r.batch_rows)?;
    let (sql, _) = sql::placeholders(LITE, &r.sql);
    let pool = lite.pool.clone();
    let cfg = lite.cfg.clone();
    let params = r.params;
    Ok(spawn_reader(move |out| async move {
        let err = |e| error(&cfg, e);
        let mut conn = pool.acquire().await.map_err(err)?;
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for p in params {
            q = bind_param(q, p);
        }
        let mut rows = q.fetch(&mut *conn);
        while let Some(row) = rows.try_next().await.map_err(err)? {
            push_row(&mut builder, &row).map_err(|e| match e {
                Pushed::Db(e) => err(e),
                Pushed::Value(e) => e,
            })?;
            if builder.end_row() && !out.send(builder.finish()?).await {
                return Ok(());
            }
        }
        if builder.rows() > 0 {
            out.send(builder.finish()?).await;
        }
        Ok(())
    }))
}

enum Pushed {
    Db(sqlx::Error),
    Value(DriverError),
}

fn push_row(b: &mut BatchBuilder, row: &SqliteRow) -> std::result::Result<(), Pushed> {
    if row.len() != b.width() {
        return Err(Pushed::Value(DriverError::Query(format!(
            "the query returns {} columns where {} were expected; list the columns the source describes, in its order",
            row.len(),
            b.width()
        ))));
    }
    for i in 0..row.len() {
        let raw = row.try_get_raw(i).map_err(Pushed::Db)?;
        let cell = if raw.is_null() {
            Cell::Null
        } else {
            match raw.type_info().name() {
                "INTEGER" => Cell::Int(row.try_get::<i64, _>(i).map_err(Pushed::Db)?),
                "REAL" => Cell::Float(row.try_get::<f64, _>(i).map_err(Pushed::Db)?),
                "BLOB" => Cell::Bytes(row.try_get::<&[u8], _>(i).map_err(Pushed::Db)?),
                _ => Cell::Text(row.try_get::<&str, _>(i).map_err(Pushed::Db)?),
            }
        };
        b.push(i, cell).map_err(Pushed::Value)?;
    }
    Ok(())
}

pub(super) async fn write(
    lite: &Sqlite,
    w: WriteRequest,
    batches: BatchStream,
) -> Result<WriteSummary> {
    let keys = plan::merge_keys(&w)?;
    let mut conn = lite.writer().acquire().await.map_err(|e| lite.error(e))?;
    // Never back to the pool: closing it is what rolls back an abandoned write.
    conn.close_on_drop();
    write_on(lite, &mut conn, &w, &keys, batches).await
}

async fn exec(lite: &Sqlite, c: &mut SqliteConnection, statement: String) -> Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(statement))
        .execute(&mut *c)
        .await
        .map(|_| ())
        .map_err(|e| lite.error(e))
}

/// The table's columns: name and NOT NULL.
async fn table_columns(
    lite: &Sqlite,
    c: &mut SqliteConnection,
    t: &TableRef,
) -> Result<Vec<(String, bool)>> {
    sqlx::query_as(r#"SELECT name, "notnull" != 0 FROM pragma_table_info(?1, ?2)"#)
        .bind(&t.name)
        .bind(t.schema.as_deref().unwrap_or("main"))
        .fetch_all(&mut *c)
        .await
        .map_err(|e| lite.error(e))
}

async fn write_on(
    lite: &Sqlite,
    c: &mut SqliteConnection,
    w: &WriteRequest,
    keys: &[usize],
    mut batches: BatchStream,
) -> Result<WriteSummary> {
    exec(lite, c, "BEGIN IMMEDIATE".into()).await?;
    let table = sql::table(LITE, &w.table);
    let mut columns = table_columns(lite, c, &w.table).await?;
    let created = columns.is_empty();
    if created {
        if !w.create_table {
            return Err(DriverError::TableNotFound(w.table.display()));
        }
        exec(lite, c, sql::create_table(LITE, &w.table, &w.schema)?).await?;
        columns = table_columns(lite, c, &w.table).await?;
    }
    let names: Vec<&str> = columns.iter().map(|c| c.0.as_str()).collect();
    let targets: Vec<&(String, bool)> = plan::match_columns(&w.schema, &names)?
        .into_iter()
        .map(|i| &columns[i])
        .collect();
    let list = sql::column_list(LITE, &targets.iter().map(|c| &c.0).collect::<Vec<_>>());
    let into = match &w.mode {
        WriteMode::Append => table.clone(),
        WriteMode::Overwrite => {
            if !created {
                exec(lite, c, format!("DELETE FROM {table}")).await?;
            }
            table.clone()
        }
        WriteMode::Merge { .. } => {
            let stage = sql::quote(LITE, &plan::staging_name(&w.run_tag));
            exec(
                lite,
                c,
                format!("CREATE TEMP TABLE {stage} AS SELECT {list} FROM {table} WHERE 0"),
            )
            .await?;
            format!("temp.{stage}")
        }
    };
    let width = targets.len();
    let per_insert = (MAX_VARIABLES / width).clamp(1, MAX_ROWS);
    let names: Vec<String> = w.schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut rows = 0u64;
    while let Some(batch) = batches.next().await {
        let batch = batch?;
        let arrays = plan::columns(&batch, &w.schema)?;
        let values = arrays
            .iter()
            .zip(&names)
            .map(|(a, n)| Values::of(a, n))
            .collect::<Result<Vec<_>>>()?;
        let mut start = 0;
        while start < batch.num_rows() {
            let n = per_insert.min(batch.num_rows() - start);
            let mut q = sqlx::query(sqlx::AssertSqlSafe(insert(&into, &list, width, n)));
            for row in start..start + n {
                for (i, v) in values.iter().enumerate() {
                    q = bind_cell(q, v.cell(row))
                        .ok_or_else(|| unfit(&names[i], arrays[i].data_type(), "SQLite"))?;
                }
            }
            q.execute(&mut *c).await.map_err(|e| lite.error(e))?;
            start += n;
        }
        rows += batch.num_rows() as u64;
    }
    if let WriteMode::Merge { .. } = &w.mode {
        let same: Vec<String> = keys
            .iter()
            .map(|k| {
                let q = sql::quote(LITE, &targets[*k].0);
                format!("{table}.{q} IS s.{q}")
            })
            .collect();
        exec(
            lite,
            c,
            format!(
                "DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM {into} AS s WHERE {})",
                same.join(" AND ")
            ),
        )
        .await?;
        exec(
            lite,
            c,
            format!("INSERT INTO {table} ({list}) SELECT {list} FROM {into}"),
        )
        .await?;
        exec(lite, c, format!("DROP TABLE {into}")).await?;
    }
    exec(lite, c, "COMMIT".into()).await?;
    Ok(WriteSummary { rows })
}

/// `INSERT INTO t (cols) VALUES (?, …), …` for `rows` rows (sqlx keeps each distinct
/// text prepared, so every full-size chunk reuses one statement).
fn insert(into: &str, list: &str, width: usize, rows: usize) -> String {
    let one = format!("({})", vec!["?"; width].join(", "));
    format!(
        "INSERT INTO {into} ({list}) VALUES {}",
        vec![one.as_str(); rows].join(", ")
    )
}

/// Binds one value; `None` when SQLite has no such value (an integer beyond 64 bits).
fn bind_cell<'q>(q: Query<'q>, cell: Cell<'_>) -> Option<Query<'q>> {
    let text = |f: &dyn Fn(&mut Vec<u8>) -> Option<()>| {
        let mut v = Vec::with_capacity(26);
        f(&mut v)?;
        String::from_utf8(v).ok()
    };
    Some(match cell {
        Cell::Null => q.bind(None::<i64>),
        Cell::Bool(v) => q.bind(v),
        Cell::Int(v) => q.bind(v),
        Cell::UInt(v) => q.bind(i64::try_from(v).ok()?),
        Cell::Float(v) => q.bind(v),
        Cell::Decimal(v, s) => q.bind(text(&|o| {
            scalars::push_decimal(o, v, s);
            Some(())
        })?),
        Cell::Text(v) => q.bind(v.to_owned()),
        Cell::Bytes(v) => q.bind(v.to_vec()),
        Cell::Date(d) => q.bind(text(&|o| scalars::push_date(o, d))?),
        Cell::Timestamp(us) => q.bind(text(&|o| scalars::push_timestamp(o, us, b' '))?),
        Cell::Time(us) => q.bind(text(&|o| scalars::push_time(o, us))?),
    })
}
