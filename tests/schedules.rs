//! Schedules through the MCP endpoint of the real binary: every tool's answers and
//! refusals; a per-second schedule on two replicas sharing one PostgreSQL control plane
//! (one run per slot, none missed); slots missed while the server was down (`run_once`
//! one run, `skip` none); a slow package under overlap `skip` never running twice at once;
//! and the `pipewright schedule` commands on the same store.

mod support;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{
    cli, cli_err,
    databases::{pg_connection, TempDatabase},
    *,
};

/// The package the demo's first schedule runs.
async fn demo_package(c: &mut Session) -> i64 {
    c.ok("get_schedule", json!({"schedule_id": 1})).await["package_id"]
        .as_i64()
        .unwrap()
}

fn ms(rfc3339: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339.as_str().expect("a time"))
        .expect("rfc3339")
        .timestamp_millis()
}

/// Polls `get_schedule` until `done` holds (deadline `secs`); the last answer.
async fn wait_schedule(
    c: &mut Session,
    id: i64,
    secs: u64,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let s = c.ok("get_schedule", json!({"schedule_id": id})).await;
        if done(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "schedule {id} did not get there in {secs} s: {s}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Stops a server as an operator would (SIGTERM) and waits for it to exit.
fn stop(s: &mut Server) {
    let _ = Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status();
    let _ = s.child.wait();
}

#[tokio::test]
async fn schedule_tools_answer_and_refuse_through_mcp() {
    let (s, mut c) = demo().await;
    let package = demo_package(&mut c).await;

    let all = c.ok("list_schedules", json!({})).await;
    assert_eq!(all["total"], json!(3), "{all}");
    let off = c.ok("list_schedules", json!({"enabled": false})).await;
    assert_eq!(off["total"], json!(1), "{off}");
    assert_eq!(off["schedules"][0]["next_run_at"], Value::Null, "{off}");
    let one = c.ok("get_schedule", json!({"schedule_id": 1})).await;
    assert_eq!(one["next_fire_times"].as_array().unwrap().len(), 3, "{one}");
    assert_eq!(one["missed_policy"], json!("run_once"));
    assert_eq!(one["overlap_policy"], json!("skip"));

    // Created in Berlin: three fire times on Berlin's wall clock, secrets masked.
    let made = c
        .ok(
            "create_schedule",
            json!({"package_id": package, "name": "Berlin night", "cron": "0 30 2 * * *",
                   "time_zone": "Europe/Berlin", "enabled": true,
                   "variables": {"region": "eu", "api_token": "tok-7f3a-never-shown"}}),
        )
        .await;
    let id = made["schedule_id"].as_i64().unwrap();
    assert_eq!(made["version"], json!(1));
    let times = made["next_fire_times"].as_array().unwrap();
    assert_eq!(times.len(), 3, "{made}");
    for t in times {
        let t = t.as_str().unwrap();
        assert!(
            t.contains("T02:30:00+0") || t.contains("T03:00:00+02:00"),
            "{t}"
        );
    }
    let shown = c.ok("get_schedule", json!({"schedule_id": id})).await;
    assert_eq!(shown["variables"]["region"], json!("eu"));
    assert_eq!(
        shown["variables"]["api_token"],
        json!("********"),
        "{shown}"
    );
    assert!(
        c.ok("list_schedules", json!({"package_id": package})).await["schedules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == json!(id))
    );

    // Updates: versioned, idempotent, guarded by expected_version.
    let moved = c
        .ok(
            "update_schedule",
            json!({"schedule_id": id, "cron": "0 */10 * * * *", "expected_version": 1}),
        )
        .await;
    assert_eq!(
        (moved["changed"].clone(), moved["fields"].clone()),
        (json!(true), json!(["cron"]))
    );
    assert_eq!(moved["version"], json!(2));
    let same = c
        .ok(
            "update_schedule",
            json!({"schedule_id": id, "cron": "0 */10 * * * *"}),
        )
        .await;
    assert_eq!(
        (same["changed"].clone(), same["version"].clone()),
        (json!(false), json!(2))
    );
    let stale = c
        .err(
            "update_schedule",
            json!({"schedule_id": id, "name": "x", "expected_version": 1}),
        )
        .await;
    assert_eq!(
        (stale["code"].clone(), stale["field"].clone()),
        (json!("conflict"), json!("expected_version")),
        "{stale}"
    );
    let paused = c
        .ok(
            "toggle_schedule",
            json!({"schedule_id": id, "enabled": false}),
        )
        .await;
    assert_eq!(paused["next_fire_times"], json!([]));
    assert_eq!(paused["enabled"], json!(false));
    let paused = c.ok("get_schedule", json!({"schedule_id": id})).await;
    assert_eq!(paused["next_run_at"], Value::Null, "{paused}");

    // Refusals name the field and the fix, never echo the value.
    for (args, field, words) in [
        (
            json!({"package_id": package, "name": "n", "cron": "0 0 25 * * *"}),
            "cron",
            "hour field",
        ),
        (
            json!({"package_id": package, "name": "n", "cron": "* * *"}),
            "cron",
            "has 3 fields",
        ),
        (
            json!({"package_id": package, "name": "n", "cron": "0 0 30 2 *"}),
            "cron",
            "never fires",
        ),
        (
            json!({"package_id": package, "name": "n", "cron": "0 * * * *", "time_zone": "Mars/Olympus_Mons"}),
            "time_zone",
            "IANA",
        ),
        (
            json!({"package_id": 999_999, "name": "n", "cron": "0 * * * *"}),
            "package_id",
            "not found",
        ),
        (
            json!({"package_id": package, "name": "n", "cron": "0 * * * *", "cluster_id": 999_999}),
            "cluster_id",
            "not found",
        ),
        (
            json!({"package_id": package, "name": " ", "cron": "0 * * * *"}),
            "name",
            "name",
        ),
        (
            json!({"package_id": package, "name": "n", "cron": "0 * * * *", "variables": {"deep": {"x": 1}}}),
            "variables",
            "string, number or boolean",
        ),
        (
            json!({"package_id": package, "name": "n", "cron": "0 * * * *", "missed_policy": "sometimes"}),
            "missed_policy",
            "",
        ),
    ] {
        let e = c.err("create_schedule", args.clone()).await;
        assert_eq!(e["field"], json!(field), "{args}: {e}");
        let text = e.to_string();
        assert!(text.contains(words), "{args}: {e}");
        assert!(
            !text.contains("Mars") && !text.contains("25 *"),
            "{args}: {e}"
        );
    }
    let e = c
        .err(
            "update_schedule",
            json!({"schedule_id": id, "cron": "61 * * * *"}),
        )
        .await;
    assert!(
        e["message"].as_str().unwrap().contains("minute field"),
        "{e}"
    );
    // The demo's first schedule runs on a cluster: a rename keeps it, null clears it.
    let before = c.ok("get_schedule", json!({"schedule_id": 1})).await;
    assert!(before["cluster_id"].is_i64(), "{before}");
    c.ok(
        "update_schedule",
        json!({"schedule_id": 1, "name": "Hourly orders sync (renamed)"}),
    )
    .await;
    assert_eq!(
        c.ok("get_schedule", json!({"schedule_id": 1})).await["cluster_id"],
        before["cluster_id"]
    );
    let cleared = c
        .ok(
            "update_schedule",
            json!({"schedule_id": 1, "cluster_id": null}),
        )
        .await;
    assert_eq!(cleared["fields"], json!(["cluster_id"]), "{cleared}");
    assert_eq!(
        c.ok("get_schedule", json!({"schedule_id": 1})).await["cluster_id"],
        Value::Null
    );
    let e = c.err("get_schedule", json!({"schedule_id": 424242})).await;
    assert_eq!(e["field"], json!("schedule_id"), "{e}");
    let e = c
        .err("list_schedules", json!({"package_id": 999_999}))
        .await;
    assert_eq!(e["field"], json!("package_id"), "{e}");
    let e = c.err("list_schedules", json!({"limit": 0})).await;
    assert_eq!(e["field"], json!("limit"), "{e}");
    let e = c
        .err(
            "update_schedule",
            json!({"schedule_id": id, "cluster_id": 999_999}),
        )
        .await;
    assert_eq!(e["field"], json!("cluster_id"), "{e}");
    let e = c
        .err(
            "update_schedule",
            json!({"schedule_id": id, "overlap_policy": "sometimes"}),
        )
        .await;
    assert_eq!(e["field"], json!("overlap_policy"), "{e}");
    let e = c
        .err(
            "delete_schedule",
            json!({"schedule_id": id, "expected_version": 1}),
        )
        .await;
    assert_eq!(
        (e["code"].clone(), e["field"].clone()),
        (json!("conflict"), json!("expected_version")),
        "{e}"
    );
    assert_eq!(
        c.err(
            "toggle_schedule",
            json!({"schedule_id": 424242, "enabled": true})
        )
        .await["field"],
        json!("schedule_id")
    );

    // Delete: gone, audited with what it held (secret masked), runs untouched.
    let gone = c
        .ok(
            "delete_schedule",
            json!({"schedule_id": id, "expected_version": 3}),
        )
        .await;
    assert_eq!(gone["deleted"], json!(true));
    assert_eq!(
        c.err("delete_schedule", json!({"schedule_id": id})).await["field"],
        json!("schedule_id")
    );
    let audit = c
        .ok(
            "list_audit_events",
            json!({"target_type": "schedule", "target_id": id, "limit": 20}),
        )
        .await;
    let actions: BTreeSet<String> = audit["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    for a in [
        "schedule.create",
        "schedule.update",
        "schedule.disable",
        "schedule.delete",
    ] {
        assert!(actions.contains(a), "{a} missing: {audit}");
    }
    assert!(
        !audit.to_string().contains("tok-7f3a-never-shown"),
        "{audit}"
    );
    assert!(!s.logs().contains("tok-7f3a-never-shown"));

    // The CLI reads and changes the same store.
    let listed = cli(&s.data_dir, &["schedule", "list", "--account", "demo"]);
    assert!(
        listed.contains("Hourly orders sync") && !listed.contains("Berlin night"),
        "{listed}"
    );
    let created = cli(
        &s.data_dir,
        &[
            "schedule",
            "create",
            "--account",
            "demo",
            "--package",
            &package.to_string(),
            "--name",
            "From the shell",
            "--cron",
            "0 0 6 * * MON-FRI",
            "--time-zone",
            "America/New_York",
        ],
    );
    assert!(
        created.contains("Next fire times:") && created.contains("T06:00:00-0"),
        "{created}"
    );
    let cli_id = created.split_whitespace().nth(2).unwrap().to_string();
    assert!(cli(
        &s.data_dir,
        &["schedule", "disable", &cli_id, "--account", "demo"]
    )
    .contains("Disabled"));
    assert!(cli(
        &s.data_dir,
        &["schedule", "disable", &cli_id, "--account", "demo"]
    )
    .contains("Already disabled"));
    assert!(cli(
        &s.data_dir,
        &["schedule", "enable", &cli_id, "--account", "demo"]
    )
    .contains("Enabled"));
    let seen = c
        .ok(
            "get_schedule",
            json!({"schedule_id": cli_id.parse::<i64>().unwrap()}),
        )
        .await;
    assert_eq!(
        (seen["enabled"].clone(), seen["version"].clone()),
        (json!(true), json!(3)),
        "{seen}"
    );
    let bad = cli_err(
        &s.data_dir,
        &[
            "schedule",
            "create",
            "--account",
            "demo",
            "--package",
            &package.to_string(),
            "--name",
            "bad",
            "--cron",
            "0 0 * * FUNDAY",
        ],
    );
    assert!(bad.contains("day-of-week field"), "{bad}");
    assert!(cli(
        &s.data_dir,
        &["schedule", "remove", &cli_id, "--account", "demo"]
    )
    .contains("Removed"));
}

#[tokio::test]
async fn a_per_second_schedule_fires_once_per_slot_across_two_replicas() {
    let Some(control) = TempDatabase::create().await else {
        assert!(!services_required(), "PostgreSQL is required");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = control.url.clone();
    let env = [("PIPEWRIGHT_WORKER_CONCURRENCY", "0")];
    let mut a = Server::start_with(Options {
        demo: true,
        extra_args: &["--database-url", &url],
        env: &env,
        data_dir: Some(dir.path().to_path_buf()),
    });
    let token = a.demo_token();
    let b = Server::start_with(Options {
        demo: false,
        extra_args: &["--database-url", &url],
        env: &env,
        data_dir: Some(dir.path().to_path_buf()),
    });
    let mut c = Session::open(&a.url("demo"), &token).await;
    let package = demo_package(&mut c).await;
    // Runs stay queued (no workers), so overlap `queue`: every slot starts its own run.
    let made = c
        .ok(
            "create_schedule",
            json!({"package_id": package, "name": "every second", "cron": "* * * * * *", "overlap_policy": "queue"}),
        )
        .await;
    let id = made["schedule_id"].as_i64().unwrap();
    let created = ms(&c.ok("get_schedule", json!({"schedule_id": id})).await["created_at"]);
    wait_schedule(&mut c, id, 120, |s| {
        s["last_run_at"].is_string() && ms(&s["last_run_at"]) >= created + 60_000
    })
    .await;
    c.ok(
        "toggle_schedule",
        json!({"schedule_id": id, "enabled": false}),
    )
    .await;

    let db = control.client().await;
    let rows = db
        .query(
            "SELECT scheduled_for, created_at FROM runs WHERE schedule_id = $1 ORDER BY scheduled_for",
            &[&id],
        )
        .await
        .unwrap();
    let slots: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    let lateness: Vec<i64> = rows
        .iter()
        .map(|r| r.get::<_, i64>(1) - r.get::<_, i64>(0))
        .collect();
    assert!(slots.len() >= 60, "a minute of slots: {}", slots.len());
    let distinct: BTreeSet<i64> = slots.iter().copied().collect();
    assert_eq!(distinct.len(), slots.len(), "a slot started two runs");
    for w in slots.windows(2) {
        assert_eq!(
            w[1] - w[0],
            1000,
            "a slot was missed between {} and {}",
            w[0],
            w[1]
        );
    }
    assert!(
        slots[0] > created && slots[0] <= created + 2_000,
        "first slot on time"
    );
    let mut sorted = lateness.clone();
    sorted.sort();
    let p50 = sorted[sorted.len() / 2];
    let max = *sorted.last().unwrap();
    assert!(
        p50 < 500 && max < 5_000,
        "fired late: median {p50} ms, max {max} ms"
    );
    let mark = format!("schedule={id} ");
    let fired_by = |s: &Server| {
        s.output
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("schedule fired") && l.contains(&mark))
            .count()
    };
    println!(
        "{} slots, median lateness {p50} ms, max {max} ms; replica A fired {}, replica B {}",
        slots.len(),
        fired_by(&a),
        fired_by(&b)
    );
    assert!(a.logs().contains("scheduler started") && b.logs().contains("scheduler started"));
    // Each slot was fired by exactly one replica (their last log lines may still be on
    // their way through the pipes).
    let deadline = Instant::now() + Duration::from_secs(10);
    while fired_by(&a) + fired_by(&b) != slots.len() {
        assert!(
            Instant::now() < deadline,
            "replicas logged {} + {} firings for {} slots",
            fired_by(&a),
            fired_by(&b),
            slots.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop(&mut a);
    drop(b);
}

#[tokio::test]
async fn missed_slots_follow_the_missed_policy_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("PIPEWRIGHT_WORKER_CONCURRENCY", "0"),
        ("PIPEWRIGHT_SCHEDULE_MISFIRE_SECS", "1"),
    ];
    let mut s = Server::start_with(Options {
        demo: true,
        extra_args: &[],
        env: &env,
        data_dir: Some(dir.path().to_path_buf()),
    });
    let token = s.demo_token();
    let mut c = Session::open(&s.url("demo"), &token).await;
    let package = demo_package(&mut c).await;
    let mut ids = Vec::new();
    for policy in ["run_once", "skip"] {
        let made = c
            .ok(
                "create_schedule",
                json!({"package_id": package, "name": policy, "cron": "*/2 * * * * *",
                       "missed_policy": policy, "overlap_policy": "queue"}),
            )
            .await;
        ids.push(made["schedule_id"].as_i64().unwrap());
    }
    for id in &ids {
        wait_schedule(&mut c, *id, 30, |x| {
            x["recent_runs"].as_array().unwrap().len() >= 2
        })
        .await;
    }
    stop(&mut s);
    let down_at = chrono::Utc::now().timestamp_millis();
    // The server stays down across at least three slots of two seconds: that downtime is
    // what is under test, not a wait for something to happen.
    tokio::time::sleep(Duration::from_millis(7_000)).await;
    let s2 = Server::start_with(Options {
        demo: false,
        extra_args: &[],
        env: &env,
        data_dir: Some(dir.path().to_path_buf()),
    });
    let token = s2.token(&["--account", "demo", "--name", "after restart"]);
    let mut c = Session::open(&s2.url("demo"), &token).await;
    // The entry the restart wrote (a slot fired late before the stop could have one too).
    let after_restart =
        |l: &&Value| l["message"].as_str().unwrap().contains("missed") && ms(&l["slot"]) > down_at;
    for (i, id) in ids.iter().enumerate() {
        wait_schedule(&mut c, *id, 30, |x| {
            x["log"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| after_restart(&l))
        })
        .await;
        c.ok(
            "toggle_schedule",
            json!({"schedule_id": id, "enabled": false}),
        )
        .await;
        let after = c.ok("get_schedule", json!({"schedule_id": id})).await;
        let entry = after["log"]
            .as_array()
            .unwrap()
            .iter()
            .find(after_restart)
            .unwrap()
            .clone();
        let missed: usize = entry["message"]
            .as_str()
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(missed >= 3, "three or more slots were missed: {entry}");
        let runs = after["recent_runs"].as_array().unwrap();
        let slot = |r: &Value| ms(&r["scheduled_for"]);
        // The newest slot that ran before the stop, and the newest one the restart found missed.
        let last = runs
            .iter()
            .map(slot)
            .filter(|at| *at <= down_at)
            .max()
            .expect("a run before the stop");
        let newest_missed = ms(&entry["slot"]);
        let in_gap: Vec<i64> = runs
            .iter()
            .map(slot)
            .filter(|at| *at > last && *at <= newest_missed)
            .collect();
        match i {
            0 => {
                assert!(
                    entry["message"]
                        .as_str()
                        .unwrap()
                        .contains("one run for them all"),
                    "{entry}"
                );
                assert_eq!(
                    in_gap,
                    vec![newest_missed],
                    "run_once: one run for the missed slots: {after}"
                );
            }
            _ => {
                assert!(
                    entry["message"].as_str().unwrap().contains("none ran"),
                    "{entry}"
                );
                assert!(
                    in_gap.is_empty(),
                    "skip: no run for the missed slots: {after}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_slow_package_with_overlap_skip_never_runs_twice_at_once() {
    let Some(pg) = TempDatabase::create().await else {
        assert!(!services_required(), "PostgreSQL is required");
        return;
    };
    let (s, mut c) = demo().await;
    let conn = pg_connection(&s, "pg", &pg);
    let package = c
        .ok(
            "create_package",
            json!({"name": "slow", "flow_type": "dataflow", "components": [
                {"postgres_source_component": {"id": "s", "name": "nap", "connection_id": conn, "query": "SELECT 1 AS n FROM pg_sleep(2.5)"}},
                {"postgres_destination_component": {"id": "d", "name": "naps", "connection_id": conn, "table": "naps"}}
            ], "edges": [{"source": "s", "target": "d"}]}),
        )
        .await["package_id"]
        .as_i64()
        .unwrap();
    let id = c
        .ok(
            "create_schedule",
            json!({"package_id": package, "name": "too often", "cron": "* * * * * *"}),
        )
        .await["schedule_id"]
        .as_i64()
        .unwrap();
    // Long enough for three slow runs; every slot in between finds one still going.
    let seen = wait_schedule(&mut c, id, 60, |x| {
        x["recent_runs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["status"] == json!("completed"))
            .count()
            >= 3
    })
    .await;
    c.ok(
        "toggle_schedule",
        json!({"schedule_id": id, "enabled": false}),
    )
    .await;
    let mut spans = Vec::new();
    for r in seen["recent_runs"].as_array().unwrap() {
        let run = c.ok("get_run", json!({"run_id": r["run_id"]})).await;
        if run["status"] == json!("completed") {
            spans.push((ms(&run["started_at"]), ms(&run["completed_at"])));
        }
    }
    spans.sort();
    for w in spans.windows(2) {
        assert!(w[1].0 >= w[0].1, "two runs overlapped: {spans:?}");
    }
    let skips = seen["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| {
            l["message"]
                .as_str()
                .unwrap()
                .contains("(overlap_policy skip)")
        })
        .count();
    assert!(
        skips >= 3,
        "skipped slots are logged on the schedule: {seen}"
    );
    let rows: i64 = pg
        .client()
        .await
        .query_one("SELECT count(*) FROM naps", &[])
        .await
        .unwrap()
        .get(0);
    assert!(rows >= 3, "every run wrote its row: {rows}");
}
