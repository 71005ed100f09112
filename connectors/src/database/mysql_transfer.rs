//! Bulk reads and writes on MySQL and MariaDB (see [`super::transfer`] for what every
//! backend promises). Both run on a connection of their own, never pooled, so one
//! abandoned mid-transfer is closed rather than handed to the next caller.
//!
//! A read is a prepared statement whose rows stream into batches in the reader's task. A
//! write is `LOAD DATA LOCAL INFILE` fed from the batches as the server asks for the
//! "file" (mysql_async's per-connection infile handler), inside one transaction with the
//! overwrite's DELETE or the merge's staging table, committed only once the batches
//! ended cleanly and the load raised no warning (LOAD DATA LOCAL turns bad values into
//! warnings: they fail the write here). DDL commits on its own in MySQL, so a table the
//! write creates is created first and dropped again if the write does not complete.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

use futures_util::{stream, StreamExt};
use mysql_async::{prelude::Queryable, Conn, Opts, Params, Row, Value as MyValue};

use super::{
    arrow_mysql::{self, load_statement, LoadColumn, LoadEncoder},
    batches::{spawn_reader, BatchBuilder},
    bounded,
    mysql::{error, MySql},
    plan, sql,
    transfer::{BatchStream, ReadRequest, WriteMode, WriteRequest, WriteSummary},
    TableRef,
};
use crate::{
    error::{DriverError, Result},
    sanitize::Dialect,
};

const MY: Dialect = Dialect::MySql;

/// Session settings of every transfer: times in UTC (TIMESTAMP columns are stored in
/// UTC and shown in the session's zone), and backslash escapes on (LOAD DATA's escape).
const SESSION: &str = "SET time_zone = '+00:00', \
    sql_mode = REPLACE(@@sql_mode, 'NO_BACKSLASH_ESCAPES', '')";

pub(super) async fn read(my: &MySql, r: ReadRequest) -> Result<BatchStream> {
    let mut builder = BatchBuilder::new(r.schema.clone(), r.batch_rows)?;
    let (sql, order) = sql::placeholders(MY, &r.sql);
    let params = order
        .iter()
        .map(|i| {
            r.params.get(*i).map(arrow_mysql::param).ok_or_else(|| {
                DriverError::Query(format!(
                    "the query uses ${} but {} values were given; give one value per $n",
                    i + 1,
                    r.params.len()
                ))
            })
        })
        .collect::<Result<Vec<MyValue>>>()?;
    let mut conn = my.dedicated().await?;
    let stmt = bounded(my.cfg.statement_timeout, async {
        conn.query_drop(SESSION).await.map_err(|e| my.error(e))?;
        conn.prep(sql.as_str()).await.map_err(|e| my.error(e))
    })
    .await?;
    let width = builder.width();
    if usize::from(stmt.num_columns()) != width {
        return Err(DriverError::Query(format!(
            "the query returns {} columns where {width} were expected; list the columns the source describes, in its order",
            stmt.num_columns()
        )));
    }
    let cfg = my.cfg.clone();
    Ok(spawn_reader(move |out| async move {
        let err = |e| error(&cfg, e);
        let params = if params.is_empty() {
            Params::Empty
        } else {
            Params::Positional(params)
        };
        {
            let mut rows = conn.exec_iter(&stmt, params).await.map_err(err)?;
            let columns = rows.columns().unwrap_or_else(|| Arc::from(Vec::new()));
            let mut scratch = Vec::new();
            while let Some(row) = rows.next().await.map_err(err)? {
                push_row(&mut builder, &row, &columns, &mut scratch)?;
                if builder.end_row() && !out.send(builder.finish()?).await {
                    return Ok(());
                }
            }
        }
        if builder.rows() > 0 {
            out.send(builder.finish()?).await;
        }
        let _ = conn.disconnect().await;
        Ok(())
    }))
}

fn push_row(
    b: &mut BatchBuilder,
    row: &Row,
    columns: &[mysql_async::Column],
    scratch: &mut Vec<u8>,
) -> Result<()> {
    for (i, col) in columns.iter().enumerate().take(b.width()) {
        let v = row.as_ref(i).unwrap_or(&MyValue::NULL);
        b.push(i, arrow_mysql::cell(v, col, scratch))?;
    }
    Ok(())
}

const TABLE_COLUMNS: &str = "SELECT column_name, data_type, is_nullable = 'YES' \
    FROM information_schema.columns \
    WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ? ORDER BY ordinal_position";

/// A table column: name, DATA_TYPE, nullable.
type TableColumn = (String, String, bool);

async fn table_columns(my: &MySql, c: &mut Conn, t: &TableRef) -> Result<Vec<TableColumn>> {
    c.exec(TABLE_COLUMNS, (t.schema.clone(), t.name.clone()))
        .await
        .map_err(|e| my.error(e))
}

pub(super) async fn write(
    my: &MySql,
    w: WriteRequest,
    batches: BatchStream,
) -> Result<WriteSummary> {
    let keys = plan::merge_keys(&w)?;
    let mut conn = my.dedicated().await?;
    bounded(my.cfg.statement_timeout, async {
        conn.query_drop(SESSION).await.map_err(|e| my.error(e))
    })
    .await?;
    let mut columns = table_columns(my, &mut conn, &w.table).await?;
    let mut created = None;
    if columns.is_empty() {
        if !w.create_table {
            return Err(DriverError::TableNotFound(w.table.display()));
        }
        let ddl = sql::create_table(MY, &w.table, &w.schema)?;
        match conn.query_drop(ddl).await {
            Ok(()) => created = Some(CreatedTable::new(my, &w.table)),
            // Another run created it a moment ago (error 1050): write into theirs.
            Err(mysql_async::Error::Server(e)) if e.code == 1050 => {}
            Err(e) => return Err(my.error(e)),
        }
        columns = table_columns(my, &mut conn, &w.table).await?;
    }
    match load(
        my,
        &mut conn,
        &w,
        &keys,
        &columns,
        created.is_some(),
        batches,
    )
    .await
    {
        Ok(summary) => {
            if let Some(c) = created.as_mut() {
                c.keep();
            }
            let _ = conn.disconnect().await;
            Ok(summary)
        }
        Err(e) => {
            // mysql_async closes a connection whose infile failed; otherwise roll back and
            // close, so its locks are gone before the created table is dropped.
            let _ = conn.query_drop("ROLLBACK").await;
            let _ = conn.disconnect().await;
            if let Some(c) = created.as_mut() {
                c.drop_now().await;
            }
            Err(e)
        }
    }
}

/// The transaction: empty or stage, load, merge, commit.
async fn load(
    my: &MySql,
    conn: &mut Conn,
    w: &WriteRequest,
    keys: &[usize],
    columns: &[TableColumn],
    created: bool,
    batches: BatchStream,
) -> Result<WriteSummary> {
    let err = |e| my.error(e);
    let names: Vec<&str> = columns.iter().map(|c| c.0.as_str()).collect();
    let targets: Vec<&TableColumn> = plan::match_columns(&w.schema, &names)?
        .into_iter()
        .map(|i| &columns[i])
        .collect();
    let list = sql::column_list(MY, &targets.iter().map(|c| &c.0).collect::<Vec<_>>());
    let table = sql::table(MY, &w.table);
    conn.query_drop("START TRANSACTION").await.map_err(err)?;
    let into = match &w.mode {
        WriteMode::Append => table.clone(),
        WriteMode::Overwrite => {
            // Not TRUNCATE: it commits.
            if !created {
                conn.query_drop(format!("DELETE FROM {table}"))
                    .await
                    .map_err(err)?;
            }
            table.clone()
        }
        WriteMode::Merge { .. } => {
            let stage = sql::quote(MY, &plan::staging_name(&w.run_tag));
            conn.query_drop(format!(
                "CREATE TEMPORARY TABLE {stage} AS SELECT {list} FROM {table} LIMIT 0"
            ))
            .await
            .map_err(err)?;
            stage
        }
    };
    let load_columns: Vec<LoadColumn> = targets
        .iter()
        .map(|c| LoadColumn {
            name: c.0.clone(),
            data_type: c.1.to_ascii_lowercase(),
        })
        .collect();
    let encoder = LoadEncoder::new(
        w.schema.fields().iter().map(|f| f.name().clone()).collect(),
        &load_columns,
    );
    let failed = Arc::new(Mutex::new(None));
    conn.set_infile_handler(Handed::new(infile(
        batches,
        encoder,
        w.schema.clone(),
        failed.clone(),
    )));
    let loaded = conn.query_drop(load_statement(&into, &load_columns)).await;
    if let Some(e) = failed.lock().unwrap().take() {
        return Err(e);
    }
    loaded.map_err(|e| match e {
        mysql_async::Error::Server(s) if s.code == 1148 || s.code == 3948 || s.code == 4166 => {
            DriverError::Query(
                "the server does not allow LOAD DATA LOCAL INFILE; enable it with SET GLOBAL local_infile = 1 (or local_infile=1 in the server's configuration)".into(),
            )
        }
        e => err(e),
    })?;
    let rows = conn.affected_rows();
    if conn.get_warnings() > 0 {
        let warnings: Vec<(String, u16, String)> =
            conn.query("SHOW WARNINGS").await.map_err(err)?;
        let bad: Vec<_> = warnings.iter().filter(|w| w.0 != "Note").collect();
        if let Some((_, code, message)) = bad.first() {
            return Err(arrow_mysql::warning_error(bad.len(), *code, message));
        }
    }
    if let WriteMode::Merge { .. } = &w.mode {
        let same: Vec<String> = keys
            .iter()
            .map(|k| {
                let c = sql::quote(MY, &targets[*k].0);
                if targets[*k].2 {
                    format!("t.{c} <=> s.{c}")
                } else {
                    format!("t.{c} = s.{c}")
                }
            })
            .collect();
        for statement in [
            format!(
                "DELETE t FROM {table} AS t JOIN {into} AS s ON {}",
                same.join(" AND ")
            ),
            format!("INSERT INTO {table} ({list}) SELECT {list} FROM {into}"),
            format!("DROP TEMPORARY TABLE {into}"),
        ] {
            conn.query_drop(statement).await.map_err(err)?;
        }
    }
    conn.query_drop("COMMIT").await.map_err(err)?;
    Ok(WriteSummary { rows })
}

/// The "file" LOAD DATA reads: the batches as text, one batch at a time as the server
/// asks. A failed batch (or one that does not encode) ends the file with an error, which
/// fails the statement; the reason is kept in `failed` for the caller.
fn infile(
    batches: BatchStream,
    encoder: LoadEncoder,
    schema: arrow::datatypes::SchemaRef,
    failed: Arc<Mutex<Option<DriverError>>>,
) -> mysql_async::InfileData {
    let data = stream::unfold(
        Some((batches, encoder, schema, failed)),
        |state| async move {
            let (mut batches, encoder, schema, failed) = state?;
            let fail = |e: DriverError| {
                *failed.lock().unwrap() = Some(e);
                std::io::Error::other("the rows to load stopped")
            };
            match batches.next().await {
                None => None,
                Some(Err(e)) => Some((Err(fail(e)), None)),
                Some(Ok(batch)) => {
                    let data = plan::columns(&batch, &schema)
                        .and_then(|cols| encoder.encode(&cols, batch.num_rows()));
                    match data {
                        Ok(data) => Some((
                            Ok(bytes::Bytes::from(data)),
                            Some((batches, encoder, schema, failed)),
                        )),
                        Err(e) => Some((Err(fail(e)), None)),
                    }
                }
            }
        },
    );
    Box::pin(data)
}

/// The infile data handed over as a future mysql_async can hold (it asks for `Sync`; the
/// stream is only `Send`, so it waits behind a mutex until the server asks for it).
struct Handed(Mutex<Option<mysql_async::InfileData>>);

impl Handed {
    fn new(data: mysql_async::InfileData) -> Self {
        Handed(Mutex::new(Some(data)))
    }
}

impl Future for Handed {
    type Output = mysql_async::Result<mysql_async::InfileData>;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        let data = self.0.lock().unwrap().take();
        Poll::Ready(Ok(data.unwrap_or_else(|| Box::pin(stream::empty()))))
    }
}

/// A table this write created: dropped again unless the write completes, also when the
/// write's future is dropped midway (then on a connection of its own, in the background).
struct CreatedTable {
    opts: Opts,
    table: String,
    armed: bool,
}

impl CreatedTable {
    fn new(my: &MySql, t: &TableRef) -> Self {
        CreatedTable {
            opts: my.transfer_opts(),
            table: sql::table(MY, t),
            armed: true,
        }
    }

    fn keep(&mut self) {
        self.armed = false;
    }

    /// Drops the table on a connection of its own.
    async fn drop_now(&mut self) {
        if drop_table(self.opts.clone(), &self.table).await {
            self.armed = false;
        }
    }
}

async fn drop_table(opts: Opts, table: &str) -> bool {
    let Ok(mut c) = Conn::new(opts).await else {
        return false;
    };
    let dropped = c
        .query_drop(format!("DROP TABLE IF EXISTS {table}"))
        .await
        .is_ok();
    let _ = c.disconnect().await;
    dropped
}

impl Drop for CreatedTable {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (opts, table) = (self.opts.clone(), self.table.clone());
        // Waits for the abandoned session's locks, released when the server sees it go.
        rt.spawn(async move { drop_table(opts, &table).await });
    }
}
