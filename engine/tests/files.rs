//! Files as run sources and destinations (`engine::run::files`) against real stores:
//! local folders, S3 (moto) and SFTP (OpenSSH). `scripts/test` starts the servers
//! (scripts/file-servers, scripts/ssh-server) and seeds the bucket with
//! tests/fixtures/files; PIPEWRIGHT_TEST_* say where they are. A missing server is a skip,
//! or a failure when PIPEWRIGHT_REQUIRE_SERVICES=1.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use connectors::files::{FileStore, TEMP_MARK};
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::catalog::TableProvider;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::{SessionConfig, SessionContext};
use engine::components::properties::{FileDestination, FileSource};
use engine::run::{files as run_files, Category, Counters, RunFailure};
use futures_util::StreamExt;
use serde_json::{json, Value};

#[path = "../../connectors/tests/support/stores.rs"]
mod stores;
use stores::{need, open};

fn local(dir: &Path) -> Arc<dyn FileStore> {
    open("local", json!({ "path": dir }), &[])
}

fn s3() -> Option<Arc<dyn FileStore>> {
    let v = need(
        &[
            "PIPEWRIGHT_TEST_S3_ENDPOINT",
            "PIPEWRIGHT_TEST_BUCKET",
            "PIPEWRIGHT_TEST_S3_ACCESS_KEY_ID",
            "PIPEWRIGHT_TEST_S3_SECRET_ACCESS_KEY",
        ],
        "S3 test server (moto)",
    )?;
    Some(open(
        "s3",
        json!({"bucket": v[1], "endpoint": v[0], "region": "us-east-1"}),
        &[("access_key_id", &v[2]), ("secret_access_key", &v[3])],
    ))
}

/// An SFTP store rooted at the test user's home, and a folder there (owned by that user,
/// removed on drop) named by its path relative to the home.
struct SftpFolder {
    store: Arc<dyn FileStore>,
    rel: String,
    dir: PathBuf,
}

impl Drop for SftpFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn sftp(name: &str) -> Option<SftpFolder> {
    let v = need(
        &[
            "PIPEWRIGHT_TEST_SSH_PORT",
            "PIPEWRIGHT_TEST_SSH_USER",
            "PIPEWRIGHT_TEST_SSH_PASSWORD",
            "PIPEWRIGHT_TEST_SSH_FINGERPRINT",
            "PIPEWRIGHT_TEST_SSH_HOME",
        ],
        "SSH/SFTP test server (scripts/ssh-server)",
    )?;
    let home = PathBuf::from(&v[4]);
    let rel = unique(name);
    let dir = home.join(&rel);
    std::fs::create_dir_all(&dir).unwrap();
    let meta = std::fs::metadata(&home).unwrap();
    use std::os::unix::fs::MetadataExt;
    std::os::unix::fs::chown(&dir, Some(meta.uid()), Some(meta.gid())).unwrap();
    let store = open(
        "sftp",
        json!({
            "host": "127.0.0.1", "port": v[0].parse::<u16>().unwrap(), "user": v[1],
            "path": ".", "host_key_fingerprint": v[3],
        }),
        &[("password", &v[2])],
    );
    Some(SftpFolder { store, rel, dir })
}

/// A name no other test run uses.
fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("pw-engine-files-{name}-{}-{nanos}", std::process::id())
}

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/files")
            .join(rel),
    )
    .unwrap()
}

/// A file source from its properties (`connection_id` filled in).
fn source_spec(props: Value) -> FileSource {
    let mut v = json!({"connection_id": 1});
    v.as_object_mut()
        .unwrap()
        .extend(props.as_object().unwrap().clone());
    serde_json::from_value(v).unwrap()
}

fn destination_spec(props: Value) -> FileDestination {
    let mut v = json!({"connection_id": 1});
    v.as_object_mut()
        .unwrap()
        .extend(props.as_object().unwrap().clone());
    serde_json::from_value(v).unwrap()
}

/// The columns a source's declared `schema.fields` give (as validation maps them).
fn declared(spec: &FileSource) -> SchemaRef {
    engine::schema::from_file_fields(&spec.schema.as_ref().unwrap().fields)
}

/// Opens the source and runs a scan of it, batch by batch.
async fn scan(
    store: &Arc<dyn FileStore>,
    spec: &FileSource,
    batch_rows: usize,
) -> (SendableRecordBatchStream, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let table: Arc<dyn TableProvider> = run_files::source(
        Arc::clone(store),
        spec,
        declared(spec),
        Arc::clone(&counters),
    )
    .await
    .unwrap();
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_batch_size(batch_rows));
    let stream = ctx
        .read_table(table)
        .unwrap()
        .execute_stream()
        .await
        .unwrap();
    (stream, counters)
}

/// Every row of a source, each value as Arrow displays it.
async fn rows(store: &Arc<dyn FileStore>, spec: &FileSource) -> Vec<Vec<String>> {
    let (mut stream, _) = scan(store, spec, 8192).await;
    let mut out = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.unwrap();
        for r in 0..batch.num_rows() {
            out.push(
                batch
                    .columns()
                    .iter()
                    .map(|c| array_value_to_string(c, r).unwrap())
                    .collect(),
            );
        }
    }
    out
}

/// The run failure an execution error carries.
fn failure_of(e: &DataFusionError) -> RunFailure {
    let mut cur: &(dyn std::error::Error + 'static) = e;
    loop {
        if let Some(f) = cur.downcast_ref::<RunFailure>() {
            return f.clone();
        }
        cur = cur
            .source()
            .unwrap_or_else(|| panic!("no run failure in {e}"));
    }
}

/// The first error a scan of the source meets.
async fn scan_error(store: &Arc<dyn FileStore>, spec: &FileSource) -> RunFailure {
    let (mut stream, _) = scan(store, spec, 8192).await;
    while let Some(batch) = stream.next().await {
        if let Err(e) = batch {
            return failure_of(&e);
        }
    }
    panic!("the scan did not fail");
}

fn strings(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|v| v.to_string()).collect())
        .collect()
}

#[tokio::test]
async fn latin1_csv_over_sftp_reads_with_the_right_strings() {
    let Some(folder) = sftp("latin1") else { return };
    std::fs::write(folder.dir.join("people.csv"), fixture("latin1.csv")).unwrap();
    let spec = source_spec(json!({
        "path": format!("{}/people.csv", folder.rel),
        "delimiter": ";", "encoding": "ISO-8859-1", "header_row": 1,
        "schema": {"fields": [
            {"name": "id", "type": "integer"},
            {"name": "name", "type": "string"},
            {"name": "city", "alias": "town", "type": "string"},
        ]},
    }));
    assert_eq!(
        rows(&folder.store, &spec).await,
        strings(&[
            &["1", "Müller", "München"],
            &["2", "Renée", "Genève"],
            &["3", "João", "São Paulo"],
        ])
    );
    // Read as UTF-8 (no encoding said), the same bytes are refused by record.
    let mut utf8 = spec.clone();
    utf8.encoding = None;
    let f = scan_error(&folder.store, &utf8).await;
    assert_eq!(f.category, Category::Data);
    assert_eq!(f.property.as_deref(), Some("encoding"));
    assert!(f.message.contains("record 1"), "{f:?}");
}

#[tokio::test]
async fn gzip_csv_and_a_glob_of_csv_files_on_s3() {
    let Some(store) = s3() else { return };
    // Compression from the name; decimals with `.`.
    let spec = source_spec(json!({
        "path": "people.csv.gz",
        "schema": {"fields": [
            {"name": "id", "type": "integer"},
            {"name": "name", "type": "string"},
            {"name": "amount", "type": "decimal"},
        ]},
    }));
    assert_eq!(
        rows(&store, &spec).await,
        strings(&[
            &["1", "alice", "10.5000000000"],
            &["2", "bob", "20.0000000000"],
            &["3", "carol", "-3.2500000000"],
        ])
    );
    // Both months, in name order: `;`, ISO dates, decimals with `,`.
    let spec = source_spec(json!({
        "path": "data/orders_*.csv", "delimiter": ";",
        "schema": {"fields": [
            {"name": "order_id", "type": "integer"},
            {"name": "placed_at", "type": "date"},
            {"name": "total", "type": "decimal"},
        ]},
    }));
    let got = rows(&store, &spec).await;
    let ids: Vec<&str> = got.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, ["1001", "1002", "1003", "2001", "2002", "2003"]);
    assert_eq!(got[0], ["1001", "2024-01-03", "12.5000000000"]);
    assert_eq!(got[5], ["2003", "2024-02-29", "18.7500000000"]);
}

#[tokio::test]
async fn a_value_that_does_not_fit_fails_with_column_and_record_not_the_value() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("a.csv"),
        "# exported by a tool\nid,day\n1,2024-01-01\n2,2024-01-02\nSECRETVALUE,2024-01-03\n",
    )
    .unwrap();
    let store = local(tmp.path());
    let spec = source_spec(json!({
        "path": "a.csv", "header_row": 2,
        "schema": {"fields": [
            {"name": "id", "type": "integer"},
            {"name": "day", "type": "date"},
        ]},
    }));
    let f = scan_error(&store, &spec).await;
    assert_eq!(f.category, Category::Data);
    assert_eq!(f.property.as_deref(), Some("schema"));
    assert!(
        f.message.contains("record 3") && f.message.contains("column `id`"),
        "{f:?}"
    );
    assert!(!f.message.contains("SECRETVALUE") && !f.hint.contains("SECRETVALUE"));
    // Opened for a named component, the failure names it (it surfaces wherever the rows
    // go, so it must not be blamed there).
    let named = run_files::source_named(
        "orders",
        Arc::clone(&store),
        &spec,
        declared(&spec),
        Arc::default(),
    )
    .await
    .unwrap();
    let ctx = SessionContext::new();
    let e = ctx.read_table(named).unwrap().collect().await.unwrap_err();
    let f = failure_of(&e);
    assert_eq!(f.component.as_deref(), Some("orders"));
    assert!(f.message.contains("record 3"), "{f:?}");

    // A record with a field too few says so by record.
    std::fs::write(tmp.path().join("b.csv"), "id,day\n1,2024-01-01\n2\n").unwrap();
    let mut short = spec.clone();
    short.path = "b.csv".into();
    short.header_row = Some(1);
    let f = scan_error(&store, &short).await;
    assert!(f.message.contains("record 2"), "{f:?}");

    // A missing file fails when the source is opened, on its path.
    let mut missing = spec.clone();
    missing.path = "nope/*.csv".into();
    let e = run_files::source(store, &missing, declared(&spec), Arc::default())
        .await
        .err()
        .unwrap();
    assert_eq!(
        (e.category, e.property.as_deref()),
        (Category::Schema, Some("path"))
    );
}

#[tokio::test]
async fn json_lines_read_by_name_and_written_back() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("events.jsonl"),
        concat!(
            "{\"kind\": \"open\", \"n\": 3, \"at\": \"2024-05-01T10:00:00Z\", \"ok\": true}\n",
            "{\"n\": 4, \"kind\": \"close\", \"ok\": false, \"extra\": [1, 2]}\n",
            "{\"kind\": null, \"n\": \"5\", \"at\": \"2024-05-01 10:00:01.5\"}\n",
        ),
    )
    .unwrap();
    let store = local(tmp.path());
    let spec = source_spec(json!({
        "path": "events.jsonl", "record_type": "json",
        "schema": {"fields": [
            {"name": "n", "type": "integer"},
            {"name": "kind", "alias": "event", "type": "string"},
            {"name": "at", "type": "timestamp"},
            {"name": "ok", "type": "boolean"},
        ]},
    }));
    let expected = strings(&[
        &["3", "open", "2024-05-01T10:00:00", "true"],
        &["4", "close", "", "false"],
        &["5", "", "2024-05-01T10:00:01.500", ""],
    ]);
    assert_eq!(rows(&store, &spec).await, expected);

    // Written as JSON Lines (zstd) and read back the same.
    let (input, _) = scan(&store, &spec, 2).await;
    let out = destination_spec(json!({
        "path": "out/events.jsonl.zst", "record_type": "json", "compression": "zstd",
    }));
    let counters = Arc::new(Counters::default());
    let written = run_files::write(Arc::clone(&store), &out, input, Arc::clone(&counters))
        .await
        .unwrap();
    assert_eq!(written, 3);
    assert_eq!(counters.rows_written.load(Relaxed), 3);
    let on_disk = std::fs::metadata(tmp.path().join("out/events.jsonl.zst")).unwrap();
    assert_eq!(counters.bytes_written.load(Relaxed), on_disk.len());
    let mut back = spec.clone();
    back.path = "out/events.jsonl.zst".into();
    for f in &mut back.schema.as_mut().unwrap().fields {
        // Written under the names downstream saw.
        if let Some(a) = f.alias.take() {
            f.name = a;
        }
    }
    assert_eq!(rows(&store, &back).await, expected);
}

/// A batch of every type a file column can have, nulls included.
fn every_type() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("amount", DataType::Decimal128(38, 10), true),
        Field::new("ok", DataType::Boolean, true),
        Field::new("day", DataType::Date32, true),
        Field::new("at", DataType::Timestamp(TimeUnit::Microsecond, None), true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![
            Some(1),
            Some(-2),
            None,
            Some(i64::MAX),
        ])),
        Arc::new(StringArray::from(vec![
            Some("Zoë"),
            None,
            Some(""),
            Some("x,\"y\""),
        ])),
        Arc::new(
            Decimal128Array::from(vec![
                Some(105_000_000_000),
                Some(-3),
                None,
                Some(12_345_678_901_234_567_890),
            ])
            .with_precision_and_scale(38, 10)
            .unwrap(),
        ),
        Arc::new(BooleanArray::from(vec![
            Some(true),
            Some(false),
            None,
            Some(true),
        ])),
        Arc::new(Date32Array::from(vec![
            Some(19_723),
            Some(0),
            None,
            Some(-1),
        ])),
        Arc::new(TimestampMicrosecondArray::from(vec![
            Some(1_704_067_200_123_456),
            Some(0),
            None,
            Some(-1),
        ])),
    ];
    RecordBatch::try_new(schema, columns).unwrap()
}

fn batches(batches: Vec<RecordBatch>) -> SendableRecordBatchStream {
    let schema = batches[0].schema();
    Box::pin(RecordBatchStreamAdapter::new(
        schema,
        futures_util::stream::iter(batches.into_iter().map(Ok)),
    ))
}

#[tokio::test]
async fn parquet_written_to_a_local_folder_reads_back_value_by_value() {
    let tmp = tempfile::tempdir().unwrap();
    let store = local(tmp.path());
    let batch = every_type();
    let out = destination_spec(
        json!({"path": "exports/all.parquet", "record_type": "parquet", "compression": "zstd"}),
    );
    let counters = Arc::new(Counters::default());
    let n = run_files::write(
        Arc::clone(&store),
        &out,
        batches(vec![batch.clone(), batch.slice(1, 2)]),
        Arc::clone(&counters),
    )
    .await
    .unwrap();
    assert_eq!(n, 6);
    let spec = source_spec(json!({
        "path": "exports/*.parquet", "record_type": "parquet",
        "schema": {"fields": [
            {"name": "id", "type": "integer"},
            {"name": "name", "type": "string"},
            {"name": "amount", "type": "decimal"},
            {"name": "ok", "type": "boolean"},
            {"name": "day", "type": "date"},
            {"name": "at", "type": "timestamp"},
        ]},
    }));
    let (mut stream, read) = scan(&store, &spec, 8192).await;
    let mut back = Vec::new();
    while let Some(b) = stream.next().await {
        back.push(b.unwrap());
    }
    let back = datafusion::arrow::compute::concat_batches(&back[0].schema(), &back).unwrap();
    let expected = datafusion::arrow::compute::concat_batches(
        &batch.schema(),
        &[batch.clone(), batch.slice(1, 2)],
    )
    .unwrap();
    assert_eq!(back.num_rows(), 6);
    for (i, (got, want)) in back.columns().iter().zip(expected.columns()).enumerate() {
        assert_eq!(got.as_ref(), want.as_ref(), "column {i}");
    }
    assert_eq!(read.rows_read.load(Relaxed), 6);
    assert!(read.bytes_read.load(Relaxed) > 0);

    // A column the file lacks is named.
    let mut wrong = spec.clone();
    wrong.schema.as_mut().unwrap().fields[1].name = "nom".into();
    let f = scan_error(&store, &wrong).await;
    assert!(f.message.contains("no column `nom`"), "{f:?}");
}

#[tokio::test]
async fn gzip_csv_written_to_s3_reads_back() {
    let Some(store) = s3() else { return };
    let path = format!("{}/every.csv.gz", unique("gz"));
    let out = destination_spec(json!({"path": path, "compression": "gzip", "delimiter": "tab"}));
    let n = run_files::write(
        Arc::clone(&store),
        &out,
        batches(vec![every_type()]),
        Arc::default(),
    )
    .await
    .unwrap();
    assert_eq!(n, 4);
    let spec = source_spec(json!({
        "path": path, "delimiter": "tab",
        "schema": {"fields": [
            {"name": "id", "type": "integer"},
            {"name": "name", "type": "string"},
            {"name": "amount", "type": "decimal"},
            {"name": "ok", "type": "boolean"},
            {"name": "day", "type": "date"},
            {"name": "at", "type": "timestamp"},
        ]},
    }));
    let got = rows(&store, &spec).await;
    assert_eq!(
        got[0],
        [
            "1",
            "Zoë",
            "10.5000000000",
            "true",
            "2024-01-01",
            "2024-01-01T00:00:00.123456"
        ]
    );
    assert_eq!(got[3][1], "x,\"y\"");
    // An empty text value and a null both come back as null (CSV cannot tell them apart).
    assert_eq!(got[2], ["", "", "", "", "", ""]);
}

/// `good` batches, then an error: what a run whose source fails midway hands a
/// destination.
fn failing_after(good: Vec<RecordBatch>) -> SendableRecordBatchStream {
    let schema = good[0].schema();
    let failure = RunFailure::new(Category::Data, "the source failed midway", "fix the source");
    let items = good
        .into_iter()
        .map(Ok)
        .chain([Err(DataFusionError::External(Box::new(failure)))]);
    Box::pin(RecordBatchStreamAdapter::new(
        schema,
        futures_util::stream::iter(items),
    ))
}

/// Enough rows of text to pass one multipart part (8 MiB) before a failure.
fn many_rows() -> Vec<RecordBatch> {
    let batch = every_type();
    let wide = StringArray::from_iter_values((0..4).map(|i| format!("{i}-{}", "w".repeat(2000))));
    let mut columns = batch.columns().to_vec();
    columns[1] = Arc::new(wide);
    let wide = RecordBatch::try_new(batch.schema(), columns).unwrap();
    let block = datafusion::arrow::compute::concat_batches(
        &wide.schema(),
        &std::iter::repeat_n(wide.clone(), 1000).collect::<Vec<_>>(),
    )
    .unwrap();
    vec![block.clone(), block.clone(), block]
}

/// What every store must do: the old file stays byte for byte when the input fails
/// (early, or past a multipart part), and no temporary file is left.
async fn keeps_the_old_file(store: &Arc<dyn FileStore>, folder: &str) {
    let path = format!("{folder}/orders.csv");
    let out = destination_spec(json!({ "path": path }));
    run_files::write(
        Arc::clone(store),
        &out,
        batches(vec![every_type()]),
        Arc::default(),
    )
    .await
    .unwrap();
    let whole = |store: Arc<dyn FileStore>, path: String| async move {
        let size = store.head(&path).await.unwrap().size;
        store.read_range(&path, 0..size).await.unwrap()
    };
    let before = whole(Arc::clone(store), path.clone()).await;
    assert!(before.starts_with(b"id,name,amount"), "{before:?}");
    for input in [vec![every_type()], many_rows()] {
        let f = run_files::write(
            Arc::clone(store),
            &out,
            failing_after(input),
            Arc::default(),
        )
        .await
        .unwrap_err();
        assert_eq!(f.message, "the source failed midway");
        assert_eq!(whole(Arc::clone(store), path.clone()).await, before);
        let listed = store.list(folder, true, 100).await.unwrap();
        let names: Vec<&str> = listed.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(names, [path.as_str()], "left behind: {names:?}");
        assert!(!names.iter().any(|n| n.contains(TEMP_MARK)));
    }
}

#[tokio::test]
async fn a_failed_write_leaves_the_old_file_on_a_local_folder() {
    let tmp = tempfile::tempdir().unwrap();
    keeps_the_old_file(&local(tmp.path()), "out").await;
    // And a write dropped midway (a cancelled run) does too.
    let store = local(tmp.path());
    let before = std::fs::read(tmp.path().join("out/orders.csv")).unwrap();
    let stalled: SendableRecordBatchStream = Box::pin(RecordBatchStreamAdapter::new(
        every_type().schema(),
        futures_util::stream::iter(many_rows().into_iter().map(Ok))
            .chain(futures_util::stream::pending()),
    ));
    let out = destination_spec(json!({"path": "out/orders.csv"}));
    let dropped = tokio::time::timeout(
        Duration::from_millis(300),
        run_files::write(store, &out, stalled, Arc::default()),
    )
    .await;
    assert!(dropped.is_err());
    assert_eq!(
        std::fs::read(tmp.path().join("out/orders.csv")).unwrap(),
        before
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path().join("out")).unwrap().collect();
    assert_eq!(left.len(), 1);
}

#[tokio::test]
async fn a_failed_write_leaves_the_old_object_on_s3() {
    let Some(store) = s3() else { return };
    keeps_the_old_file(&store, &unique("s3")).await;
}

#[tokio::test]
async fn a_failed_write_leaves_the_old_file_on_sftp() {
    let Some(folder) = sftp("write") else { return };
    keeps_the_old_file(&folder.store, &folder.rel).await;
}

#[tokio::test]
async fn a_million_row_csv_streams_in_batches_without_being_collected() {
    let tmp = tempfile::tempdir().unwrap();
    let mut text = String::with_capacity(40 << 20);
    text.push_str("id,name,amount,day\n");
    for i in 0..1_000_000u32 {
        use std::fmt::Write;
        let _ = writeln!(
            text,
            "{i},name {i},{}.{:02},2024-01-{:02}",
            i % 1000,
            i % 100,
            i % 28 + 1
        );
    }
    std::fs::write(tmp.path().join("big.csv"), &text).unwrap();
    let size = text.len() as u64;
    drop(text);
    let store = local(tmp.path());
    let spec = source_spec(json!({
        "path": "big.csv",
        "schema": {"fields": [
            {"name": "id", "type": "integer"},
            {"name": "name", "type": "string"},
            {"name": "amount", "type": "decimal"},
            {"name": "day", "type": "date"},
        ]},
    }));
    let batch_rows = 10_000;
    let (mut stream, counters) = scan(&store, &spec, batch_rows).await;
    let (mut total, mut batches, mut id_sum) = (0u64, 0usize, 0i64);
    let mut read_at_first_batch = None;
    while let Some(batch) = stream.next().await {
        let batch = batch.unwrap();
        assert!(batch.num_rows() <= batch_rows, "{} rows", batch.num_rows());
        read_at_first_batch.get_or_insert(counters.bytes_read.load(Relaxed));
        total += batch.num_rows() as u64;
        batches += 1;
        let ids = batch
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        id_sum += ids.iter().flatten().sum::<i64>();
    }
    assert_eq!(total, 1_000_000);
    assert!(batches >= 100, "{batches} batches");
    assert_eq!(id_sum, 999_999 * 1_000_000 / 2);
    assert_eq!(counters.rows_read.load(Relaxed), 1_000_000);
    assert_eq!(counters.bytes_read.load(Relaxed), size);
    // When the first batch came, only the first chunks of the file had been read.
    let first = read_at_first_batch.unwrap();
    assert!(
        first < size / 8,
        "{first} of {size} bytes read before the first batch"
    );
}
