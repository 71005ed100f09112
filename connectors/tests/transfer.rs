//! Bulk reads and writes of Arrow batches (`DatabaseDriver::read` / `write`) against the
//! real PostgreSQL and MariaDB servers on this machine (127.0.0.1:5432 trust,
//! 127.0.0.1:3306 root without a password; override with PIPEWRIGHT_TEST_POSTGRES_URL /
//! PIPEWRIGHT_TEST_MYSQL_URL) and SQLite files in a temporary folder. Each test makes its
//! own database and drops it afterwards. Without the servers these tests skip, unless
//! PIPEWRIGHT_REQUIRE_SERVICES=1.

use std::{sync::Arc, time::Duration};

use arrow::{
    array::{
        Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Date32Array, Decimal128Array,
        Int64Array, LargeStringArray, StringArray, StringViewArray, Time64MicrosecondArray,
        TimestampMicrosecondArray, TimestampNanosecondArray, UInt8Array,
    },
    datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit},
    record_batch::RecordBatch,
};
use connectors::{
    database::{
        self, BatchStream, DatabaseConfig, DatabaseDriver, DbKind, Param, ReadRequest, Secret,
        TableRef, TlsMode, WriteMode, WriteRequest,
    },
    DriverError,
};
use futures_util::{stream, StreamExt};
use mysql_async::prelude::Queryable;

// ---------------------------------------------------------------- shared helpers

#[path = "support/servers.rs"]
mod servers;
use servers::{maria_url, pg_client, required, unique};

fn config(kind: DbKind, port: u16, database: &str, user: &str) -> DatabaseConfig {
    DatabaseConfig {
        kind,
        host: "127.0.0.1".into(),
        port,
        database: database.into(),
        user: user.into(),
        password: None::<Secret>,
        path: None,
        tls_mode: TlsMode::Disable,
        tls_ca_file: None,
        tunnel: None,
        connect_to: None,
        connect_timeout: Duration::from_secs(5),
        statement_timeout: Duration::from_secs(10),
        max_concurrent: 4,
        allow_cleartext_password: false,
        other_secrets: Vec::new(),
    }
}

/// The Arrow type the engine reads a column of this `json_type` as
/// (`engine::schema::column_type`).
fn arrow_type(json_type: &str) -> DataType {
    match json_type {
        "integer" => DataType::Int64,
        "number" => DataType::Float64,
        "decimal" => DataType::Decimal128(38, 10),
        "boolean" => DataType::Boolean,
        "date" => DataType::Date32,
        "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, None),
        "time" => DataType::Time64(TimeUnit::Microsecond),
        "binary" => DataType::Binary,
        _ => DataType::Utf8,
    }
}

fn table(name: &str) -> TableRef {
    TableRef {
        schema: None,
        name: name.into(),
    }
}

/// The schema the engine would read `t` with.
async fn table_schema(d: &dyn DatabaseDriver, t: &TableRef) -> SchemaRef {
    let cols = d.describe_table(t).await.unwrap();
    Arc::new(Schema::new(
        cols.iter()
            .map(|c| Field::new(&c.name, arrow_type(&c.json_type), c.nullable))
            .collect::<Vec<_>>(),
    ))
}

async fn read_all(
    d: &dyn DatabaseDriver,
    sql: &str,
    params: Vec<Param>,
    schema: SchemaRef,
    batch_rows: usize,
) -> Result<Vec<RecordBatch>, DriverError> {
    let mut s = d
        .read(ReadRequest {
            sql: sql.into(),
            params,
            schema,
            batch_rows,
        })
        .await?;
    let mut out = Vec::new();
    while let Some(b) = s.next().await {
        out.push(b?);
    }
    Ok(out)
}

fn concat(batches: &[RecordBatch], schema: &SchemaRef) -> RecordBatch {
    arrow::compute::concat_batches(schema, batches).unwrap()
}

fn batches(items: Vec<RecordBatch>) -> BatchStream {
    Box::pin(stream::iter(items.into_iter().map(Ok)))
}

/// One batch, then an error: a source that fails mid-run.
fn failing_after(first: RecordBatch) -> BatchStream {
    Box::pin(stream::iter(vec![
        Ok(first),
        Err(DriverError::Query("the source broke".into())),
    ]))
}

fn write_request(t: &TableRef, mode: WriteMode, schema: SchemaRef, create: bool) -> WriteRequest {
    WriteRequest {
        table: t.clone(),
        mode,
        create_table: create,
        schema,
        run_tag: unique("r"),
    }
}

/// Rows of (id, name, amount) in the given values.
fn people(rows: &[(i64, Option<&str>, Option<i128>)]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("amount", DataType::Decimal128(12, 2), true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            )),
            Arc::new(
                Decimal128Array::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())
                    .with_precision_and_scale(12, 2)
                    .unwrap(),
            ),
        ],
    )
    .unwrap()
}

/// The rows of a people table, sorted by id and name, as text.
async fn read_people(
    d: &dyn DatabaseDriver,
    t: &str,
) -> Vec<(i64, Option<String>, Option<String>)> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("amount", DataType::Decimal128(12, 2), true),
    ]));
    let q = match d.dialect() {
        connectors::sanitize::Dialect::MySql => {
            format!("SELECT id, name, amount FROM `{t}` ORDER BY id, name")
        }
        _ => format!("SELECT id, name, amount FROM \"{t}\" ORDER BY id, name"),
    };
    let b = read_all(d, &q, vec![], schema.clone(), 1000).await.unwrap();
    let b = concat(&b, &schema);
    let ids = b.column(0).as_primitive::<arrow::datatypes::Int64Type>();
    let names = b.column(1).as_string::<i32>();
    let amounts = b
        .column(2)
        .as_primitive::<arrow::datatypes::Decimal128Type>();
    (0..b.num_rows())
        .map(|i| {
            (
                ids.value(i),
                (!names.is_null(i)).then(|| names.value(i).to_string()),
                (!amounts.is_null(i)).then(|| amounts.value_as_string(i)),
            )
        })
        .collect()
}

fn row(id: i64, name: Option<&str>, amount: Option<&str>) -> (i64, Option<String>, Option<String>) {
    (id, name.map(String::from), amount.map(String::from))
}

/// Append, overwrite and merge on a people table holding (1, a, 1.00), (2, b, 2.00),
/// (NULL-named 3, 3.00); checked value by value after each.
async fn modes_behave(d: &dyn DatabaseDriver, t: &str) {
    let t_ref = table(t);
    let schema = people(&[]).schema();
    let summary = d
        .write(
            write_request(&t_ref, WriteMode::Append, schema.clone(), false),
            batches(vec![people(&[(4, Some("d"), Some(400)), (5, None, None)])]),
        )
        .await
        .unwrap();
    assert_eq!(summary.rows, 2);
    assert_eq!(
        read_people(d, t).await,
        vec![
            row(1, Some("a"), Some("1.00")),
            row(2, Some("b"), Some("2.00")),
            row(3, None, Some("3.00")),
            row(4, Some("d"), Some("4.00")),
            row(5, None, None),
        ]
    );

    // Merge on (id, name): NULL names match each other; duplicates in the table go too.
    let summary = d
        .write(
            write_request(
                &t_ref,
                WriteMode::Merge {
                    keys: vec!["id".into(), "name".into()],
                },
                schema.clone(),
                false,
            ),
            batches(vec![
                people(&[(2, Some("b"), Some(2050)), (3, None, Some(-333))]),
                people(&[
                    (6, Some("Zoë"), Some(99_999_999_999)),
                    (1, Some("x"), Some(1)),
                ]),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(summary.rows, 4);
    assert_eq!(
        read_people(d, t).await,
        vec![
            row(1, Some("a"), Some("1.00")),
            row(1, Some("x"), Some("0.01")),
            row(2, Some("b"), Some("20.50")),
            row(3, None, Some("-3.33")),
            row(4, Some("d"), Some("4.00")),
            row(5, None, None),
            row(6, Some("Zoë"), Some("999999999.99")),
        ]
    );

    let summary = d
        .write(
            write_request(&t_ref, WriteMode::Overwrite, schema.clone(), false),
            batches(vec![people(&[(7, Some("g"), Some(700))]), people(&[])]),
        )
        .await
        .unwrap();
    assert_eq!(summary.rows, 1);
    assert_eq!(
        read_people(d, t).await,
        vec![row(7, Some("g"), Some("7.00"))]
    );

    // A key that is not a written column is refused before anything changes.
    let e = d
        .write(
            write_request(
                &t_ref,
                WriteMode::Merge {
                    keys: vec!["nope".into()],
                },
                schema.clone(),
                false,
            ),
            batches(vec![people(&[(8, None, None)])]),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("`nope`"), "{e}");
    assert_eq!(
        read_people(d, t).await,
        vec![row(7, Some("g"), Some("7.00"))]
    );
}

/// Each mode, fed a batch and then an error, leaves the table as it was.
async fn failures_leave_the_table_unchanged(d: &dyn DatabaseDriver, t: &str) {
    let before = read_people(d, t).await;
    assert!(!before.is_empty());
    for mode in [
        WriteMode::Append,
        WriteMode::Overwrite,
        WriteMode::Merge {
            keys: vec!["id".into()],
        },
    ] {
        let e = d
            .write(
                write_request(&table(t), mode.clone(), people(&[]).schema(), false),
                failing_after(people(&[(1, Some("new"), Some(1)), (50, Some("n"), None)])),
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("the source broke"), "{mode:?}: {e}");
        assert_eq!(read_people(d, t).await, before, "{mode:?}");
    }
    // A value its column refuses (NULL in a NOT NULL column) fails the write, and nothing
    // of it lands.
    let no_id = RecordBatch::try_new(
        people(&[]).schema(),
        vec![
            Arc::new(Int64Array::from(vec![None::<i64>])),
            Arc::new(StringArray::from(vec![Some("no id")])),
            Arc::new(
                Decimal128Array::from(vec![None::<i128>])
                    .with_precision_and_scale(12, 2)
                    .unwrap(),
            ),
        ],
    )
    .unwrap();
    let e = d
        .write(
            write_request(&table(t), WriteMode::Append, people(&[]).schema(), false),
            batches(vec![people(&[(60, Some("ok"), None)]), no_id]),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, DriverError::Query(_)), "{e:?}");
    assert_eq!(read_people(d, t).await, before);
}

/// A write whose future is dropped after its first batch went out leaves the table as it
/// was (for each mode).
async fn dropped_writes_leave_the_table_unchanged(d: Arc<dyn DatabaseDriver>, t: &str) {
    let before = read_people(d.as_ref(), t).await;
    for mode in [
        WriteMode::Append,
        WriteMode::Overwrite,
        WriteMode::Merge {
            keys: vec!["id".into()],
        },
    ] {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch, DriverError>>(1);
        let input: BatchStream = Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|b| (b, rx))
        }));
        let driver = d.clone();
        let req = write_request(&table(t), mode.clone(), people(&[]).schema(), false);
        let task = tokio::spawn(async move { driver.write(req, input).await });
        // With room for one batch, the third send returns only once the writer took the
        // second, so it has written the first.
        for i in 0..3 {
            tx.send(Ok(people(&[(100 + i, Some("dropped"), Some(1))])))
                .await
                .unwrap();
        }
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        assert_eq!(read_people(d.as_ref(), t).await, before, "{mode:?}");
    }
}

// ---------------------------------------------------------------- PostgreSQL

struct Pg {
    admin: tokio_postgres::Client,
    db: String,
}

impl Pg {
    async fn create() -> Option<Pg> {
        let admin = pg_client("postgres").await?;
        let db = unique("pw_xfer");
        admin
            .batch_execute(&format!("CREATE DATABASE {db}"))
            .await
            .unwrap();
        Some(Pg { admin, db })
    }

    fn driver(&self) -> Arc<dyn DatabaseDriver> {
        database::open_direct(config(DbKind::Postgres, 5432, &self.db, "postgres")).unwrap()
    }

    async fn client(&self) -> tokio_postgres::Client {
        pg_client(&self.db).await.unwrap()
    }

    async fn drop(self) {
        let _ = self
            .admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.db))
            .await;
    }
}

async fn with_pg<F, Fut>(f: F)
where
    F: FnOnce(Arc<Pg>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(pg) = Pg::create().await else { return };
    let pg = Arc::new(pg);
    let result = tokio::spawn(f(pg.clone())).await;
    if let Ok(pg) = Arc::try_unwrap(pg) {
        pg.drop().await;
    }
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

const PG_EVERY_TYPE: &str = "CREATE TYPE mood AS ENUM ('sad', 'happy');
    CREATE TABLE every_type (
        id bigint PRIMARY KEY, small smallint, normal integer, big bigint,
        real_v real, dbl double precision, num numeric(38,10), flag boolean,
        name text, code varchar(10), ch char(3), d date, ts timestamp, tstz timestamptz,
        t time, b bytea, j jsonb, u uuid, arr integer[], iv interval, m mood);
    INSERT INTO every_type VALUES
      (1, -32768, 2147483647, 9007199254740993, 1.5, 2.25, 1234567890123456789012345678.0123456789, true,
       'Zoë ''quoted''; -- 日本語 🎉', 'abc', 'xy', '2024-02-29', '2024-02-29 13:45:56.123456',
       '2024-02-29 13:45:56.5+02', '23:59:58.000001', '\\x000102ff', '{\"k\": [1, 2]}',
       'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,2,3}', '1 day 02:03:04', 'happy'),
      (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL),
      (3, 0, -1, -9223372036854775808, -0.0, 1e300, -0.0000000001, false, '', 'tab\there', 'a',
       '0001-01-01', '1900-01-01 00:00:00', '1970-01-01 00:00:00+00', '00:00:00', '\\x', '[]',
       '00000000-0000-0000-0000-000000000000', '{}', '-1 year', 'sad')";

#[tokio::test]
async fn postgres_round_trip_keeps_every_value() {
    with_pg(|pg| async move {
        let c = pg.client().await;
        c.batch_execute(PG_EVERY_TYPE).await.unwrap();
        let d = pg.driver();
        let src = table("every_type");
        let schema = table_schema(d.as_ref(), &src).await;
        let read = read_all(
            d.as_ref(),
            "SELECT * FROM every_type ORDER BY id",
            vec![],
            schema.clone(),
            2,
        )
        .await
        .unwrap();
        assert_eq!(read.iter().map(|b| b.num_rows()).collect::<Vec<_>>(), [2, 1]);
        let all = concat(&read, &schema);
        let col = |n: &str| all.column(schema.index_of(n).unwrap()).clone();
        assert_eq!(
            col("big").as_primitive::<arrow::datatypes::Int64Type>().value(0),
            9007199254740993
        );
        assert_eq!(
            col("num")
                .as_primitive::<arrow::datatypes::Decimal128Type>()
                .value_as_string(0),
            "1234567890123456789012345678.0123456789"
        );
        assert_eq!(
            col("name").as_string::<i32>().value(0),
            "Zoë 'quoted'; -- 日本語 🎉"
        );
        assert_eq!(col("ch").as_string::<i32>().value(0), "xy");
        assert_eq!(col("u").as_string::<i32>().value(0), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
        assert_eq!(col("j").as_string::<i32>().value(0), "{\"k\": [1, 2]}");
        assert_eq!(col("arr").as_string::<i32>().value(0), "{1,2,3}");
        assert_eq!(col("iv").as_string::<i32>().value(0), "1 day 02:03:04");
        assert_eq!(col("m").as_string::<i32>().value(0), "happy");
        assert_eq!(col("b").as_binary::<i32>().value(0), &[0u8, 1, 2, 255]);
        let ts = col("tstz");
        let ts = ts.as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
        assert_eq!(ts.value(0), 1_709_207_156_500_000, "the UTC instant");
        assert!((1..all.num_columns()).all(|i| all.column(i).is_null(1)));

        // Written back into a new table, then compared cell by cell, as text, by the server.
        let copy = table("every_type_copy");
        let summary = d
            .write(
                write_request(&copy, WriteMode::Append, schema.clone(), true),
                batches(read),
            )
            .await
            .unwrap();
        assert_eq!(summary.rows, 3);
        // The copy's tstz is a zoneless timestamp holding the UTC wall clock.
        let text = |t: &str| {
            let tstz = if t == "every_type_copy" { "tstz" } else { "tstz AT TIME ZONE 'UTC'" };
            format!(
                "SELECT (id, small, normal, big, real_v, dbl, num, flag, name, code, ch::text, d, ts, \
                 {tstz}, t, b, j::text, u::text, arr::text, iv::text, m::text)::text FROM {t} ORDER BY id"
            )
        };
        let want: Vec<String> = c
            .query(&text("every_type"), &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let got: Vec<String> = c
            .query(&text("every_type_copy"), &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(got, want);
        let types: Vec<String> = c
            .query(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute \
                 WHERE attrelid = 'every_type_copy'::regclass AND attnum > 0 ORDER BY attnum",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(
            types[..8],
            [
                "bigint",
                "bigint",
                "bigint",
                "bigint",
                "double precision",
                "double precision",
                "numeric(38,10)",
                "boolean"
            ]
        );
        assert_eq!(types[11..15], ["date", "timestamp without time zone", "timestamp without time zone", "time without time zone"]);
        assert_eq!(types[15], "bytea");

        // The same values go back into the original types, the ones we send as text (enum,
        // interval, array) included.
        c.batch_execute("CREATE TABLE every_type_back (LIKE every_type)")
            .await
            .unwrap();
        let again = read_all(
            d.as_ref(),
            "SELECT * FROM every_type_copy ORDER BY id",
            vec![],
            schema.clone(),
            100,
        )
        .await
        .unwrap();
        d.write(
            write_request(&table("every_type_back"), WriteMode::Append, schema.clone(), false),
            batches(again),
        )
        .await
        .unwrap();
        let back: Vec<String> = c
            .query(&text("every_type_back"), &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(back, want);
    })
    .await;
}

#[tokio::test]
async fn postgres_reads_bind_parameters_and_convert_to_the_asked_type() {
    with_pg(|pg| async move {
        let c = pg.client().await;
        c.batch_execute(PG_EVERY_TYPE).await.unwrap();
        let d = pg.driver();
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("normal", DataType::Int64, true),
            Field::new("dbl", DataType::Utf8, true),
            Field::new("d", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        ]));
        let got = read_all(
            d.as_ref(),
            "SELECT id, normal, dbl, d FROM every_type WHERE id >= $1 AND name IS DISTINCT FROM $2 AND d < $3 ORDER BY id",
            vec![
                Param::Int(1),
                Param::Text("nobody".into()),
                Param::Text("2100-01-01".into()),
            ],
            schema.clone(),
            10,
        )
        .await
        .unwrap();
        let b = concat(&got, &schema);
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.column(0).as_primitive::<arrow::datatypes::Int64Type>().values(), &[1, 3]);
        assert_eq!(b.column(2).as_string::<i32>().value(0), "2.25");
        assert_eq!(
            b.column(3)
                .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                .value(1),
            -62_135_596_800_000_000
        );

        let e = read_all(
            d.as_ref(),
            "SELECT id, normal, dbl, d FROM every_type WHERE d < $1",
            vec![Param::Text("soon".into())],
            schema.clone(),
            10,
        )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("$1") && !e.to_string().contains("soon"), "{e}");
        let e = read_all(d.as_ref(), "SELECT id FROM every_type", vec![], schema.clone(), 10)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("returns 1 columns where 4"), "{e}");
        let e = read_all(
            d.as_ref(),
            "SELECT name, id, id, id FROM every_type",
            vec![],
            schema,
            10,
        )
        .await
        .unwrap_err();
        assert!(matches!(e, DriverError::Query(_)), "{e:?}");
    })
    .await;
}

const PG_PEOPLE: &str = "CREATE TABLE people (id bigint NOT NULL, name varchar(20), amount numeric(12,2), note text DEFAULT 'kept');
    INSERT INTO people (id, name, amount) VALUES (1, 'a', 1), (2, 'b', 2), (3, NULL, 3);";

#[tokio::test]
async fn postgres_append_overwrite_and_merge() {
    with_pg(|pg| async move {
        pg.client().await.batch_execute(PG_PEOPLE).await.unwrap();
        modes_behave(pg.driver().as_ref(), "people").await;
        // Columns the write does not name keep their default.
        let notes: Vec<String> = pg
            .client()
            .await
            .query("SELECT DISTINCT note FROM people", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(notes, ["kept"]);
    })
    .await;
}

#[tokio::test]
async fn postgres_failed_and_dropped_writes_change_nothing() {
    with_pg(|pg| async move {
        pg.client().await.batch_execute(PG_PEOPLE).await.unwrap();
        let d = pg.driver();
        failures_leave_the_table_unchanged(d.as_ref(), "people").await;
        dropped_writes_leave_the_table_unchanged(d.clone(), "people").await;
        // The pool still works after connections were discarded mid-copy.
        assert_eq!(read_people(d.as_ref(), "people").await.len(), 3);
        // A table the write would have created is not there either.
        let missing = table("never_created");
        d.write(
            write_request(&missing, WriteMode::Append, people(&[]).schema(), true),
            failing_after(people(&[(1, None, None)])),
        )
        .await
        .unwrap_err();
        assert!(matches!(
            d.describe_table(&missing).await,
            Err(DriverError::TableNotFound(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn postgres_creates_missing_tables_only_when_asked() {
    with_pg(|pg| async move {
        let d = pg.driver();
        let c = pg.client().await;
        c.batch_execute("CREATE SCHEMA \"Odd \"\"schema\"").await.unwrap();
        let t = TableRef {
            schema: Some("Odd \"schema".into()),
            name: "New \"table\"".into(),
        };
        let e = d
            .write(
                write_request(&t, WriteMode::Append, wide_schema(), false),
                batches(vec![wide_batch()]),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, DriverError::TableNotFound(_)), "{e:?}");
        let s = d
            .write(
                write_request(&t, WriteMode::Overwrite, wide_schema(), true),
                batches(vec![wide_batch()]),
            )
            .await
            .unwrap();
        assert_eq!(s.rows, 3);
        let rows = c
            .query(
                "SELECT i8::text, u8::text, big::text, f::text, txt, lt, vw, flag::text, d::text, ts::text, (tz AT TIME ZONE 'UTC')::text, t::text, encode(b, 'hex') \
                 FROM \"Odd \"\"schema\".\"New \"\"table\"\"\" ORDER BY i8",
                &[],
            )
            .await
            .unwrap();
        let first: Vec<Option<String>> = (0..13).map(|i| rows[0].get(i)).collect();
        assert_eq!(
            first,
            [
                "-3", "255", "9007199254740993", "0.5", "Zoë", "large", "view", "true",
                "2024-02-29", "2024-02-29 13:45:56.123456", "2024-02-29 13:45:56.123456",
                "13:45:56.123456", "00ff"
            ]
            .map(|s| Some(s.to_string()))
        );
        assert!((1..13).all(|i| rows[1].get::<_, Option<String>>(i).is_none()));
    })
    .await;
}

/// Every Arrow type DataFusion may hand a write.
fn wide_schema() -> SchemaRef {
    wide_batch().schema()
}

fn wide_batch() -> RecordBatch {
    let ts = 1_709_214_356_123_456i64;
    let tz = TimestampNanosecondArray::from(vec![Some(ts * 1000), None, Some(0)])
        .with_timezone("+02:00");
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "i8",
            Arc::new(arrow::array::Int8Array::from(vec![-3, 1, 2])),
        ),
        (
            "u8",
            Arc::new(UInt8Array::from(vec![Some(255), None, Some(0)])),
        ),
        (
            "big",
            Arc::new(Int64Array::from(vec![
                Some(9007199254740993),
                None,
                Some(0),
            ])),
        ),
        (
            "f",
            Arc::new(arrow::array::Float32Array::from(vec![
                Some(0.5),
                None,
                Some(0.0),
            ])),
        ),
        (
            "txt",
            Arc::new(StringArray::from(vec![Some("Zoë"), None, Some("")])),
        ),
        (
            "lt",
            Arc::new(LargeStringArray::from(vec![Some("large"), None, Some("")])),
        ),
        (
            "vw",
            Arc::new(StringViewArray::from(vec![Some("view"), None, Some("")])),
        ),
        (
            "flag",
            Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
        ),
        (
            "d",
            Arc::new(Date32Array::from(vec![Some(19782), None, Some(0)])),
        ),
        (
            "ts",
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(ts),
                None,
                Some(0),
            ])),
        ),
        ("tz", Arc::new(tz)),
        (
            "t",
            Arc::new(Time64MicrosecondArray::from(vec![
                Some(49_556_123_456),
                None,
                Some(0),
            ])),
        ),
        (
            "b",
            Arc::new(BinaryArray::from(vec![
                Some(&[0u8, 255][..]),
                None,
                Some(&[][..]),
            ])),
        ),
        ("nothing", Arc::new(arrow::array::NullArray::new(3))),
    ];
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    RecordBatch::try_new(schema, columns.into_iter().map(|(_, a)| a).collect()).unwrap()
}

#[tokio::test]
async fn postgres_copies_200k_rows_through_read_and_write() {
    with_pg(|pg| async move {
        let c = pg.client().await;
        c.batch_execute(
            "CREATE TABLE src AS SELECT g::bigint AS id, ((g * 7) % 1000)::bigint AS qty, (g * 1.25)::float8 AS price_f, \
             (g * 3.1415)::numeric(38,10) AS price, md5(g::text) AS label, g % 3 = 0 AS flag, \
             DATE '2020-01-01' + g % 1000 AS day, TIMESTAMP '2020-01-01' + g * interval '1 second' AS at, \
             CASE WHEN g % 10 = 0 THEN NULL ELSE 'n' || g END AS maybe \
             FROM generate_series(1, 200000) g",
        )
        .await
        .unwrap();
        let d = pg.driver();
        let schema = table_schema(d.as_ref(), &table("src")).await;
        let input = d
            .read(ReadRequest {
                sql: "SELECT * FROM src".into(),
                params: vec![],
                schema: schema.clone(),
                batch_rows: 8192,
            })
            .await
            .unwrap();
        let s = d
            .write(
                write_request(&table("dst"), WriteMode::Append, schema, true),
                input,
            )
            .await
            .unwrap();
        assert_eq!(s.rows, 200_000);
        let sum = |t: &str| {
            format!(
                "SELECT count(*), md5(string_agg((id, qty, price_f, price, label, flag, day, at, maybe)::text, ',' ORDER BY id)) FROM {t}"
            )
        };
        let a = c.query_one(&sum("src"), &[]).await.unwrap();
        let b = c.query_one(&sum("dst"), &[]).await.unwrap();
        assert_eq!(a.get::<_, i64>(0), 200_000);
        assert_eq!(
            (a.get::<_, i64>(0), a.get::<_, String>(1)),
            (b.get::<_, i64>(0), b.get::<_, String>(1))
        );
    })
    .await;
}

// ---------------------------------------------------------------- MariaDB

struct Maria {
    admin: mysql_async::Pool,
    db: String,
}

impl Maria {
    async fn create() -> Option<Maria> {
        let admin = mysql_async::Pool::new(maria_url().as_str());
        let mut c = match admin.get_conn().await {
            Ok(c) => c,
            Err(e) if !required() => {
                eprintln!("skipping: MariaDB not reachable: {e}");
                return None;
            }
            Err(e) => panic!("MariaDB is required but not reachable: {e}"),
        };
        let on: Option<(String, String)> = c
            .query_first("SHOW VARIABLES LIKE 'local_infile'")
            .await
            .unwrap();
        assert_eq!(
            on.map(|v| v.1).as_deref(),
            Some("ON"),
            "the MariaDB server must run with local_infile=1 (SET GLOBAL local_infile = 1) for bulk writes"
        );
        let db = unique("pw_xfer");
        c.query_drop(format!("CREATE DATABASE {db} CHARACTER SET utf8mb4"))
            .await
            .unwrap();
        Some(Maria { admin, db })
    }

    fn driver(&self) -> Arc<dyn DatabaseDriver> {
        database::open_direct(config(DbKind::MySql, 3306, &self.db, "root")).unwrap()
    }

    async fn run(&self, script: &str) {
        let mut c = self.admin.get_conn().await.unwrap();
        c.query_drop(format!("USE {}; {script}", self.db))
            .await
            .unwrap();
    }

    async fn query<T: mysql_async::prelude::FromRow + Send + 'static>(&self, q: &str) -> Vec<T> {
        let mut c = self.admin.get_conn().await.unwrap();
        c.query_drop(format!("USE {}", self.db)).await.unwrap();
        c.query(q).await.unwrap()
    }

    async fn drop(self) {
        if let Ok(mut c) = self.admin.get_conn().await {
            let _ = c
                .query_drop(format!("DROP DATABASE IF EXISTS {}", self.db))
                .await;
        }
        let _ = self.admin.disconnect().await;
    }
}

async fn with_maria<F, Fut>(f: F)
where
    F: FnOnce(Arc<Maria>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(m) = Maria::create().await else {
        return;
    };
    let m = Arc::new(m);
    let result = tokio::spawn(f(m.clone())).await;
    if let Ok(m) = Arc::try_unwrap(m) {
        m.drop().await;
    }
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

const MY_EVERY_TYPE: &str = r#"CREATE TABLE every_type (
      id BIGINT PRIMARY KEY, tiny TINYINT, small SMALLINT, normal INT, big BIGINT,
      ubig BIGINT UNSIGNED, f FLOAT, dbl DOUBLE, num DECIMAL(38,10), flag BOOLEAN,
      name VARCHAR(100), ch CHAR(3), body TEXT, d DATE, dt DATETIME(6), ts TIMESTAMP(6) NULL,
      t TIME(6), b VARBINARY(16), blb BLOB, j JSON, e ENUM('a','b'));
    INSERT INTO every_type VALUES
      (1, -128, -32768, 2147483647, 9007199254740993, 9223372036854775807, 1.5, 2.25,
       1234567890123456789012345678.0123456789, TRUE,
       'Zoë ''quoted''; -- 日本語 🎉 a\\b\tc\nd\re', 'xy', REPEAT('x', 5000), '2024-02-29',
       '2024-02-29 13:45:56.123456', '2024-02-29 13:45:56.5', '23:59:58.000001', X'000102FF',
       X'0A0D09005C4E', '{"k": [1, 2]}', 'b'),
      (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL),
      (3, 0, 0, -1, -9223372036854775808, 0, 0, 1e300, -0.0000000001, FALSE, '', 'a', '',
       '1000-01-01', '1000-01-01 00:00:00', '2000-01-01 00:00:00', '00:00:00', X'', X'', '[]', 'a')"#;

#[tokio::test]
async fn mariadb_round_trip_keeps_every_value() {
    with_maria(|m| async move {
        m.run(MY_EVERY_TYPE).await;
        let d = m.driver();
        let schema = table_schema(d.as_ref(), &table("every_type")).await;
        let read = |t: &'static str| {
            let (d, schema) = (d.clone(), schema.clone());
            async move {
                let b = read_all(
                    d.as_ref(),
                    &format!("SELECT * FROM {t} ORDER BY id"),
                    vec![],
                    schema.clone(),
                    2,
                )
                .await
                .unwrap();
                concat(&b, &schema)
            }
        };
        let original = read("every_type").await;
        let col = |n: &str| original.column(schema.index_of(n).unwrap()).clone();
        assert_eq!(
            col("num")
                .as_primitive::<arrow::datatypes::Decimal128Type>()
                .value_as_string(0),
            "1234567890123456789012345678.0123456789"
        );
        assert_eq!(
            col("name").as_string::<i32>().value(0),
            "Zoë 'quoted'; -- 日本語 🎉 a\\b\tc\nd\re"
        );
        assert_eq!(col("blb").as_binary::<i32>().value(0), b"\n\r\t\0\\N");
        assert_eq!(col("j").as_string::<i32>().value(0), "{\"k\": [1, 2]}");
        assert_eq!(col("e").as_string::<i32>().value(0), "b");
        assert_eq!(
            col("ts")
                .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                .value(2),
            946_684_800_000_000,
            "TIMESTAMP columns read as their UTC instant"
        );
        assert!((1..original.num_columns()).all(|i| original.column(i).is_null(1)));

        let s = d
            .write(
                write_request(&table("every_type_copy"), WriteMode::Append, schema.clone(), true),
                batches(vec![original.clone()]),
            )
            .await
            .unwrap();
        assert_eq!(s.rows, 3);
        assert_eq!(read("every_type_copy").await, original);

        // Back into the original column types (ENUM, JSON, TIMESTAMP, BLOB, …).
        m.run("CREATE TABLE every_type_back LIKE every_type").await;
        d.write(
            write_request(&table("every_type_back"), WriteMode::Append, schema.clone(), false),
            batches(vec![original.clone()]),
        )
        .await
        .unwrap();
        assert_eq!(read("every_type_back").await, original);
        let types: Vec<(String, String)> = m
            .query(
                "SELECT column_name, column_type FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND table_name = 'every_type_copy' ORDER BY ordinal_position",
            )
            .await;
        let ty = |n: &str| types.iter().find(|t| t.0 == n).unwrap().1.clone();
        assert_eq!(
            [ty("id"), ty("num"), ty("name"), ty("dt"), ty("t"), ty("b")],
            ["bigint(20)", "decimal(38,10)", "longtext", "datetime(6)", "time(6)", "longblob"]
        );
    })
    .await;
}

#[tokio::test]
async fn mariadb_reads_bind_parameters_and_refuse_what_does_not_fit() {
    with_maria(|m| async move {
        m.run(
            "CREATE TABLE odd (id INT, v BIGINT UNSIGNED, t TIME, name VARCHAR(10));
             INSERT INTO odd VALUES (1, 18446744073709551615, '-26:00:01', 'a'), (2, 5, '01:00:00', 'b'),
               (3, 6, '02:00:00', 'c')",
        )
        .await;
        let d = m.driver();
        let text = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("v", DataType::Utf8, true),
            Field::new("t", DataType::Utf8, true),
        ]));
        let b = concat(
            &read_all(
                d.as_ref(),
                "SELECT id, v, t FROM odd WHERE name <> $2 AND id >= $1 ORDER BY id",
                vec![Param::Int(1), Param::Text("c".into())],
                text.clone(),
                10,
            )
            .await
            .unwrap(),
            &text,
        );
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.column(1).as_string::<i32>().value(0), "18446744073709551615");
        assert_eq!(b.column(2).as_string::<i32>().value(0), "-26:00:01");
        assert_eq!(b.column(2).as_string::<i32>().value(1), "01:00:00");

        let ints = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("v", DataType::Int64, true),
            Field::new("t", DataType::Time64(TimeUnit::Microsecond), true),
        ]));
        let e = read_all(d.as_ref(), "SELECT id, v, t FROM odd", vec![], ints.clone(), 10)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("`v`") && e.contains("out of range"), "{e}");
        let e = read_all(d.as_ref(), "SELECT id, v, t FROM odd WHERE id = $2", vec![Param::Int(1)], ints, 10)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("$2"), "{e}");
    })
    .await;
}

const MY_PEOPLE: &str = "CREATE TABLE people (id BIGINT NOT NULL, name VARCHAR(20), amount DECIMAL(12,2), note VARCHAR(10) DEFAULT 'kept');
    INSERT INTO people (id, name, amount) VALUES (1, 'a', 1), (2, 'b', 2), (3, NULL, 3);";

#[tokio::test]
async fn mariadb_append_overwrite_and_merge() {
    with_maria(|m| async move {
        m.run(MY_PEOPLE).await;
        modes_behave(m.driver().as_ref(), "people").await;
        let notes: Vec<String> = m.query("SELECT DISTINCT note FROM people").await;
        assert_eq!(notes, ["kept"]);
    })
    .await;
}

#[tokio::test]
async fn mariadb_failed_and_dropped_writes_change_nothing() {
    with_maria(|m| async move {
        m.run(MY_PEOPLE).await;
        let d = m.driver();
        failures_leave_the_table_unchanged(d.as_ref(), "people").await;
        dropped_writes_leave_the_table_unchanged(d.clone(), "people").await;
        let exists = |t: &'static str| {
            let m = m.clone();
            async move {
                let n: Vec<i64> = m
                    .query(&format!(
                        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '{t}'"
                    ))
                    .await;
                n[0] == 1
            }
        };
        // DDL commits in MySQL: a table the failed write created is dropped again.
        d.write(
            write_request(&table("never_kept"), WriteMode::Append, people(&[]).schema(), true),
            failing_after(people(&[(1, None, None)])),
        )
        .await
        .unwrap_err();
        assert!(!exists("never_kept").await);
        // Also when the write's future is dropped: in the background, soon after.
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch, DriverError>>(1);
        let input: BatchStream = Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|b| (b, rx))
        }));
        let driver = d.clone();
        let req = write_request(&table("dropped_new"), WriteMode::Append, people(&[]).schema(), true);
        let task = tokio::spawn(async move { driver.write(req, input).await });
        for i in 0..3 {
            tx.send(Ok(people(&[(i, None, None)]))).await.unwrap();
        }
        assert!(exists("dropped_new").await, "created before the load");
        task.abort();
        let _ = task.await;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while exists("dropped_new").await {
            assert!(std::time::Instant::now() < deadline, "the abandoned table is still there");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn mariadb_creates_missing_tables_only_when_asked() {
    with_maria(|m| async move {
        let d = m.driver();
        let t = table("New `table`");
        let e = d
            .write(
                write_request(&t, WriteMode::Append, wide_schema(), false),
                batches(vec![wide_batch()]),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, DriverError::TableNotFound(_)), "{e:?}");
        let s = d
            .write(
                write_request(&t, WriteMode::Overwrite, wide_schema(), true),
                batches(vec![wide_batch()]),
            )
            .await
            .unwrap();
        assert_eq!(s.rows, 3);
        let rows: Vec<String> = m
            .query(
                "SELECT CONCAT_WS('|', i8, u8, big, f, txt, lt, vw, flag, d, dt_text, t, HEX(b)) FROM \
                 (SELECT *, CAST(ts AS CHAR) AS dt_text FROM `New ``table```) x ORDER BY i8",
            )
            .await;
        assert_eq!(
            rows[0],
            "-3|255|9007199254740993|0.5|Zoë|large|view|1|2024-02-29|2024-02-29 13:45:56.123456|13:45:56.123456|00FF"
        );
        let tz: Vec<String> = m
            .query("SELECT CAST(tz AS CHAR) FROM `New ``table``` WHERE i8 = -3")
            .await;
        assert_eq!(tz, ["2024-02-29 13:45:56.123456"], "the UTC instant");
        assert_eq!(rows[1], "1", "NULLs are skipped by CONCAT_WS");
    })
    .await;
}

// ---------------------------------------------------------------- SQLite

struct Lite {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    pool: sqlx::SqlitePool,
}

impl Lite {
    async fn create(script: &'static str) -> Lite {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true),
            )
            .await
            .unwrap();
        sqlx::raw_sql(script).execute(&pool).await.unwrap();
        Lite {
            _dir: dir,
            path,
            pool,
        }
    }

    fn driver(&self) -> Arc<dyn DatabaseDriver> {
        let mut cfg = config(DbKind::Sqlite, 0, "", "");
        cfg.path = Some(self.path.clone());
        database::open_direct(cfg).unwrap()
    }
}

const LITE_EVERY_TYPE: &str = r#"CREATE TABLE every_type (id INTEGER PRIMARY KEY, n INTEGER, r REAL,
      num DECIMAL(38,10), flag BOOLEAN, name TEXT, d DATE, ts TIMESTAMP, t TIME, b BLOB, j JSON);
    INSERT INTO every_type VALUES
      (1, 9007199254740993, 2.25, 12.5, 1, 'Zoë ''q''; 日本語 🎉 a\b	c', '2024-02-29',
       '2024-02-29 13:45:56.123456', '23:59:58.000001', X'000102FF', '{"k": [1, 2]}'),
      (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      (3, -9223372036854775808, 1e300, -0.25, 0, '', '0001-01-01', '1970-01-01 00:00:00',
       '00:00:00', X'', '[]');
    CREATE TABLE every_type_back (id INTEGER PRIMARY KEY, n INTEGER, r REAL,
      num DECIMAL(38,10), flag BOOLEAN, name TEXT, d DATE, ts TIMESTAMP, t TIME, b BLOB, j JSON);"#;

#[tokio::test]
async fn sqlite_round_trip_keeps_every_value() {
    let lite = Lite::create(LITE_EVERY_TYPE).await;
    let d = lite.driver();
    let schema = table_schema(d.as_ref(), &table("every_type")).await;
    assert_eq!(
        schema
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect::<Vec<_>>(),
        [
            DataType::Int64,
            DataType::Int64,
            DataType::Float64,
            DataType::Float64,
            DataType::Boolean,
            DataType::Utf8,
            DataType::Date32,
            DataType::Timestamp(TimeUnit::Microsecond, None),
            DataType::Time64(TimeUnit::Microsecond),
            DataType::Binary,
            DataType::Utf8
        ]
    );
    let read = |t: &'static str| {
        let (d, schema) = (d.clone(), schema.clone());
        async move {
            let b = read_all(
                d.as_ref(),
                &format!("SELECT * FROM {t} ORDER BY id"),
                vec![],
                schema.clone(),
                2,
            )
            .await
            .unwrap();
            concat(&b, &schema)
        }
    };
    let original = read("every_type").await;
    let col = |n: &str| original.column(schema.index_of(n).unwrap()).clone();
    assert_eq!(
        col("n")
            .as_primitive::<arrow::datatypes::Int64Type>()
            .value(0),
        9007199254740993
    );
    assert_eq!(
        col("name").as_string::<i32>().value(0),
        "Zoë 'q'; 日本語 🎉 a\\b\tc"
    );
    assert_eq!(
        col("ts")
            .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
            .value(0),
        1_709_214_356_123_456
    );
    assert_eq!(col("b").as_binary::<i32>().value(0), &[0u8, 1, 2, 255]);
    assert!(col("flag").as_boolean().value(0));
    assert!((1..original.num_columns()).all(|i| original.column(i).is_null(1)));

    for (t, create) in [("every_type_copy", true), ("every_type_back", false)] {
        let s = d
            .write(
                write_request(&table(t), WriteMode::Append, schema.clone(), create),
                batches(vec![original.clone()]),
            )
            .await
            .unwrap();
        assert_eq!(s.rows, 3);
    }
    assert_eq!(read("every_type_copy").await, original);
    assert_eq!(read("every_type_back").await, original);

    let params = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)]));
    let b = read_all(
        d.as_ref(),
        "SELECT id FROM every_type WHERE id > $2 AND name <> $1 ORDER BY id",
        vec![Param::Text("x".into()), Param::Int(0)],
        params.clone(),
        10,
    )
    .await
    .unwrap();
    assert_eq!(
        concat(&b, &params)
            .column(0)
            .as_primitive::<arrow::datatypes::Int64Type>()
            .values(),
        &[1, 3]
    );
}

const LITE_PEOPLE: &str = "CREATE TABLE people (id INTEGER NOT NULL, name VARCHAR(20), amount DECIMAL(12,2), note TEXT DEFAULT 'kept');
    INSERT INTO people (id, name, amount) VALUES (1, 'a', 1), (2, 'b', 2), (3, NULL, 3);";

#[tokio::test]
async fn sqlite_append_overwrite_and_merge() {
    let lite = Lite::create(LITE_PEOPLE).await;
    modes_behave(lite.driver().as_ref(), "people").await;
    let notes: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT note FROM people")
        .fetch_all(&lite.pool)
        .await
        .unwrap();
    assert_eq!(notes, [("kept".to_string(),)]);
}

#[tokio::test]
async fn sqlite_failed_and_dropped_writes_change_nothing() {
    let lite = Lite::create(LITE_PEOPLE).await;
    let d = lite.driver();
    failures_leave_the_table_unchanged(d.as_ref(), "people").await;
    dropped_writes_leave_the_table_unchanged(d.clone(), "people").await;
    let missing = table("never_created");
    d.write(
        write_request(&missing, WriteMode::Append, people(&[]).schema(), true),
        failing_after(people(&[(1, None, None)])),
    )
    .await
    .unwrap_err();
    assert!(matches!(
        d.describe_table(&missing).await,
        Err(DriverError::TableNotFound(_))
    ));
    // The writer works again after the abandoned ones.
    let s = d
        .write(
            write_request(
                &table("people"),
                WriteMode::Append,
                people(&[]).schema(),
                false,
            ),
            batches(vec![people(&[(9, None, None)])]),
        )
        .await
        .unwrap();
    assert_eq!(s.rows, 1);
}

#[tokio::test]
async fn sqlite_creates_missing_tables_only_when_asked() {
    let lite = Lite::create("CREATE TABLE other (x INTEGER);").await;
    let d = lite.driver();
    let t = table("New \"table\"");
    let e = d
        .write(
            write_request(&t, WriteMode::Append, wide_schema(), false),
            batches(vec![wide_batch()]),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, DriverError::TableNotFound(_)), "{e:?}");
    let s = d
        .write(
            write_request(&t, WriteMode::Overwrite, wide_schema(), true),
            batches(vec![wide_batch()]),
        )
        .await
        .unwrap();
    assert_eq!(s.rows, 3);
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT printf('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', i8, u8, big, f, txt, lt, vw, flag, d, ts, tz, t, hex(b)) \
         FROM \"New \"\"table\"\"\" ORDER BY i8",
    )
    .fetch_all(&lite.pool)
    .await
    .unwrap();
    assert_eq!(
        rows[0].0,
        "-3|255|9007199254740993|0.5|Zoë|large|view|1|2024-02-29|2024-02-29 13:45:56.123456|2024-02-29 13:45:56.123456|13:45:56.123456|00FF"
    );
    assert_eq!(rows[1].0, "1||||||||||||");
}
