//! Bulk reads and writes on PostgreSQL, by binary COPY both ways (see [`super::transfer`]
//! for what every backend promises).
//!
//! A read is `COPY (<query>) TO STDOUT (FORMAT binary)` (a query with parameters cannot be
//! copied, so it streams its rows instead), decoded in its own task. A write is one
//! transaction on one connection: create the table if asked, empty it (overwrite) or make
//! a staging table (merge), `COPY … FROM STDIN`, merge, commit. Anything short of the
//! commit, an error or the future being dropped, leaves the table as it was: the
//! connection is closed rather than pooled, and the server rolls back.

use bytes::Bytes;
use futures_util::{pin_mut, SinkExt, StreamExt};
use tokio_postgres::{types::Type, Client, GenericClient};

use super::{
    arrow_pg::{encode_params, CopyColumn, CopyEncoder, CopyParser, PgTarget, RawValue, ReadPlan},
    batches::{spawn_reader, BatchBuilder},
    bounded, plan,
    postgres::{error, Postgres},
    sql,
    transfer::{BatchStream, ReadRequest, WriteMode, WriteRequest, WriteSummary},
};
use crate::{
    error::{DriverError, Result},
    sanitize::Dialect,
};

const PG: Dialect = Dialect::Postgres;

/// A table column as a write needs it.
struct TableColumn {
    name: String,
    ty: Option<Type>,
    type_name: String,
    not_null: bool,
}

const TABLE_COLUMNS: &str =
    "SELECT a.attname, a.atttypid, a.attnotnull, format_type(a.atttypid, a.atttypmod) \
    FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped \
    ORDER BY a.attnum";

async fn table_columns(
    c: &impl GenericClient,
    table: &str,
) -> std::result::Result<Vec<TableColumn>, tokio_postgres::Error> {
    let rows = c.query(TABLE_COLUMNS, &[&table]).await?;
    rows.iter()
        .map(|r| {
            Ok(TableColumn {
                name: r.try_get(0)?,
                ty: Type::from_oid(r.try_get(1)?),
                not_null: r.try_get(2)?,
                type_name: r.try_get(3)?,
            })
        })
        .collect()
}

pub(super) async fn read(pg: &Postgres, r: ReadRequest) -> Result<BatchStream> {
    let mut builder = BatchBuilder::new(r.schema.clone(), r.batch_rows)?;
    let lease = pg.lease().await?;
    let (plan, sql, params) = bounded(pg.cfg.statement_timeout, async {
        lease
            .execute("SET TIME ZONE 'UTC'", &[])
            .await
            .map_err(|e| pg.error(e))?;
        let stmt = lease.prepare(&r.sql).await.map_err(|e| pg.error(e))?;
        let plan = ReadPlan::new(&r.schema, stmt.columns())?;
        let params = if r.params.is_empty() && stmt.params().is_empty() {
            None
        } else {
            Some(encode_params(&r.params, stmt.params())?)
        };
        let sql = plan.sql(&r.sql);
        Ok((plan, sql, params))
    })
    .await?;
    let cfg = pg.cfg.clone();
    Ok(spawn_reader(move |out| async move {
        let err = |e| error(&cfg, e);
        match params {
            None => {
                let copy = format!("COPY (\n{sql}\n) TO STDOUT (FORMAT binary)");
                let chunks = lease.copy_out(copy.as_str()).await.map_err(err)?;
                pin_mut!(chunks);
                let mut parser = CopyParser::new();
                while let Some(chunk) = chunks.next().await {
                    parser.feed(&chunk.map_err(err)?);
                    while parser.rows(&plan, &mut builder)? {
                        if !out.send(builder.finish()?).await {
                            return Ok(());
                        }
                    }
                }
                parser.finish()?;
            }
            Some(params) => {
                let stmt = lease.prepare(&sql).await.map_err(err)?;
                let rows = lease.query_raw(&stmt, params.iter()).await.map_err(err)?;
                pin_mut!(rows);
                while let Some(row) = rows.next().await {
                    let row = row.map_err(err)?;
                    for i in 0..row.len() {
                        let v: Option<RawValue<'_>> = row.try_get(i).map_err(err)?;
                        plan.push(&mut builder, i, v.map(|v| v.0))?;
                    }
                    if builder.end_row() && !out.send(builder.finish()?).await {
                        return Ok(());
                    }
                }
            }
        }
        if builder.rows() > 0 {
            out.send(builder.finish()?).await;
        }
        // The query ran to its end: the connection is idle and can be reused, once its
        // session is as a preview expects it.
        if lease.execute("RESET TIME ZONE", &[]).await.is_ok() {
            lease.release();
        }
        Ok(())
    }))
}

pub(super) async fn write(
    pg: &Postgres,
    w: WriteRequest,
    batches: BatchStream,
) -> Result<WriteSummary> {
    let keys = plan::merge_keys(&w)?;
    let mut lease = pg.lease().await?;
    let summary = write_on(pg, &mut lease, &w, &keys, batches).await?;
    lease.release();
    Ok(summary)
}

/// The whole write in one transaction on `client`; on any early return the transaction
/// is dropped unfinished and the caller drops the connection with it.
async fn write_on(
    pg: &Postgres,
    client: &mut Client,
    w: &WriteRequest,
    keys: &[usize],
    mut batches: BatchStream,
) -> Result<WriteSummary> {
    let err = |e| pg.error(e);
    let mut tx = client.transaction().await.map_err(err)?;
    tx.execute("SET LOCAL TIME ZONE 'UTC'", &[])
        .await
        .map_err(err)?;
    let table = sql::table(PG, &w.table);
    let mut columns = table_columns(&tx, &table).await.map_err(err)?;
    let mut created = columns.is_empty();
    if created {
        if !w.create_table {
            return Err(DriverError::TableNotFound(w.table.display()));
        }
        // Two runs creating the same table at once would collide in the catalog
        // (`pg_type_typname_nsp_index`): the second waits for the first's commit here,
        // then finds the table made.
        tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&table])
            .await
            .map_err(err)?;
        columns = table_columns(&tx, &table).await.map_err(err)?;
        created = columns.is_empty();
        if created {
            let ddl = sql::create_table(PG, &w.table, &w.schema)?;
            tx.execute(ddl.as_str(), &[]).await.map_err(err)?;
            columns = table_columns(&tx, &table).await.map_err(err)?;
        }
    }
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let targets: Vec<&TableColumn> = plan::match_columns(&w.schema, &names)?
        .into_iter()
        .map(|i| &columns[i])
        .collect();
    let list = sql::column_list(PG, &targets.iter().map(|c| &c.name).collect::<Vec<_>>());
    let into = match &w.mode {
        WriteMode::Append => table.clone(),
        WriteMode::Overwrite => {
            if !created {
                empty(&mut tx, &table).await.map_err(err)?;
            }
            table.clone()
        }
        WriteMode::Merge { .. } => {
            let stage = sql::quote(PG, &plan::staging_name(&w.run_tag));
            tx.execute(
                format!("CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {list} FROM {table} WITH NO DATA")
                    .as_str(),
                &[],
            )
            .await
            .map_err(err)?;
            stage
        }
    };
    let encoder = CopyEncoder::new(
        w.schema
            .fields()
            .iter()
            .zip(&targets)
            .map(|(f, c)| CopyColumn {
                name: f.name().clone(),
                type_name: c.type_name.clone(),
                target: c.ty.as_ref().and_then(PgTarget::of),
            })
            .collect(),
    );
    let copy = format!("COPY {into} ({list}) FROM STDIN {}", encoder.format());
    let sink = tx.copy_in::<_, Bytes>(copy.as_str()).await.map_err(err)?;
    pin_mut!(sink);
    sink.send(encoder.header()).await.map_err(err)?;
    while let Some(batch) = batches.next().await {
        let batch = batch?;
        let data = encoder.encode(&plan::columns(&batch, &w.schema)?, batch.num_rows())?;
        sink.send(data).await.map_err(err)?;
    }
    sink.send(encoder.trailer()).await.map_err(err)?;
    let rows = sink.as_mut().finish().await.map_err(err)?;
    if let WriteMode::Merge { .. } = &w.mode {
        let same: Vec<String> = keys
            .iter()
            .map(|k| {
                let c = sql::quote(PG, &targets[*k].name);
                if targets[*k].not_null {
                    format!("t.{c} = s.{c}")
                } else {
                    format!("t.{c} IS NOT DISTINCT FROM s.{c}")
                }
            })
            .collect();
        for statement in [
            format!("ANALYZE {into}"),
            format!(
                "DELETE FROM {table} AS t USING {into} AS s WHERE {}",
                same.join(" AND ")
            ),
            format!("INSERT INTO {table} ({list}) SELECT {list} FROM {into}"),
        ] {
            tx.execute(statement.as_str(), &[]).await.map_err(err)?;
        }
    }
    tx.commit().await.map_err(err)?;
    Ok(WriteSummary { rows })
}

/// Empties the table inside the transaction with DELETE, not TRUNCATE: TRUNCATE's
/// ACCESS EXCLUSIVE lock would wait for (or block) a source reading the same table on
/// another connection while this write waits for that source's rows, a deadlock
/// PostgreSQL cannot see. DELETE lets such a reader see the old rows until the commit.
async fn empty(
    tx: &mut tokio_postgres::Transaction<'_>,
    table: &str,
) -> std::result::Result<(), tokio_postgres::Error> {
    tx.execute(format!("DELETE FROM {table}").as_str(), &[])
        .await
        .map(|_| ())
}
