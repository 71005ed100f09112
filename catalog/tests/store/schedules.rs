//! Schedules firing on any backend, with the clock given rather than waited for: a slot
//! fires once, overlap `skip` and `queue`, missed slots under `run_once` and `skip`, and
//! schedulers in separate pools racing for the same slots.

use catalog::{
    packages::NewPackage,
    runs::{RunOutcome, WorkerInfo},
    schedules::{ScheduleEdit, ScheduleSpec},
    Actor, Store,
};
use serde_json::{json, Map};

const MINUTE: i64 = 60_000;

async fn package(store: &Store, account_id: i64) -> i64 {
    store
        .create_package(NewPackage {
            account_id,
            workspace_id: None,
            name: "orders",
            description: "",
            flow_type: "dataflow",
            data_flow_json: json!({"components": [], "edges": []}),
            variables: json!({}),
        })
        .await
        .unwrap()
}

fn spec(package_id: i64, cron: &str, overlap: &str) -> ScheduleSpec {
    ScheduleSpec {
        package_id,
        name: "s".into(),
        cron: cron.into(),
        time_zone: None,
        enabled: true,
        variables: Map::new(),
        cluster_id: None,
        missed_policy: None,
        overlap_policy: Some(overlap.into()),
    }
}

fn ms(t: &Option<String>) -> i64 {
    chrono::DateTime::parse_from_rfc3339(t.as_deref().expect("a time"))
        .unwrap()
        .timestamp_millis()
}

fn worker() -> WorkerInfo {
    WorkerInfo {
        id: "w".into(),
        cluster: None,
        hostname: "node-1".into(),
        pid: 1,
    }
}

fn done() -> RunOutcome {
    RunOutcome {
        status: "completed",
        rows_read: 0,
        rows_written: 0,
        progress: json!([]),
        error: None,
    }
}

pub async fn slots_fire_once_and_follow_their_policies(store: Store) {
    let account = store.create_account("acme", "Acme").await.unwrap().id;
    let who = Actor::system(account);
    let pid = package(&store, account).await;
    let made = store
        .create_schedule(&who, spec(pid, "0 * * * * *", "skip"))
        .await
        .unwrap();
    let id = made.schedule.id;
    let first = ms(&made.schedule.next_run_at);
    assert_eq!(first % MINUTE, 0, "on the minute");

    // Not due yet; then due: one run for the slot, and the next slot a minute on.
    assert_eq!(
        store.fire_schedule(id, first - 1, MINUTE).await.unwrap(),
        None
    );
    let f = store
        .fire_schedule(id, first, MINUTE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (f.slot, f.next_run_at, f.logged.clone()),
        (first, Some(first + MINUTE), None)
    );
    let run = f.run_id.expect("a run");
    assert_eq!(
        store.fire_schedule(id, first, MINUTE).await.unwrap(),
        None,
        "a slot fires once"
    );
    assert_eq!(
        store
            .schedule(account, id)
            .await
            .unwrap()
            .last_run_at
            .map(|t| ms(&Some(t))),
        Some(first)
    );

    // Overlap skip: the next slot finds the run still queued.
    let f = store
        .fire_schedule(id, first + MINUTE, MINUTE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f.run_id, None);
    assert!(
        f.logged
            .as_deref()
            .unwrap()
            .contains(&format!("run {run} is still queued")),
        "{f:?}"
    );

    // Overlap queue: the slot's run waits for the one before it.
    store
        .update_schedule(
            &who,
            id,
            None,
            ScheduleEdit {
                overlap_policy: Some("queue".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let f = store
        .fire_schedule(id, first + 2 * MINUTE, MINUTE)
        .await
        .unwrap()
        .unwrap();
    let behind = f.run_id.expect("queued behind");
    let w = worker();
    store.register_worker(&w).await.unwrap();
    let claimed = store.claim_run(&w).await.unwrap().unwrap();
    assert_eq!(claimed.run_id, run, "the older run first");
    assert_eq!(
        store.claim_run(&w).await.unwrap(),
        None,
        "the queued one waits for it"
    );
    assert!(store.finish_run(run, &w.id, done()).await.unwrap());
    assert_eq!(store.claim_run(&w).await.unwrap().unwrap().run_id, behind);
    assert!(store.finish_run(behind, &w.id, done()).await.unwrap());

    // Down for ten minutes: run_once starts one run for the newest missed slot.
    let down = first + 13 * MINUTE + 5_000;
    let f = store
        .fire_schedule(id, down, MINUTE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f.slot, first + 13 * MINUTE, "the newest missed slot");
    assert!(f.run_id.is_some());
    assert!(
        f.logged.as_deref().unwrap().starts_with("11 slot(s) from"),
        "{f:?}"
    );
    assert_eq!(f.next_run_at, Some(first + 14 * MINUTE));
    assert_eq!(store.fire_schedule(id, down, MINUTE).await.unwrap(), None);

    // And under `skip`, none.
    store
        .update_schedule(
            &who,
            id,
            None,
            ScheduleEdit {
                missed_policy: Some("skip".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let later = first + 30 * MINUTE;
    let f = store
        .fire_schedule(id, later, MINUTE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f.run_id, None);
    assert!(
        f.logged
            .as_deref()
            .unwrap()
            .contains("none ran (missed_policy skip)"),
        "{f:?}"
    );
    let (runs, log) = store.schedule_activity(account, id, 10, 10).await.unwrap();
    assert_eq!(runs.len(), 3, "{runs:?}");
    assert_eq!(log.len(), 3, "{log:?}");

    // Disabled: never due; a disabled schedule has no next fire time.
    store.toggle_schedule(&who, id, false).await.unwrap();
    assert_eq!(
        store
            .fire_schedule(id, later + 10 * MINUTE, MINUTE)
            .await
            .unwrap(),
        None
    );
    assert!(store
        .due_schedules(later + 10 * MINUTE, 10)
        .await
        .unwrap()
        .is_empty());
}

/// Four schedulers, each with its own pool on one store, race for fifty slots of a
/// per-second schedule: every slot starts exactly one run.
pub async fn concurrent_schedulers_fire_each_slot_once(stores: Vec<Store>) {
    let store = &stores[0];
    let account = store.create_account("race", "Race").await.unwrap().id;
    let pid = package(store, account).await;
    let made = store
        .create_schedule(&Actor::system(account), spec(pid, "* * * * * *", "queue"))
        .await
        .unwrap();
    let (id, first) = (made.schedule.id, ms(&made.schedule.next_run_at));
    let mut runs = Vec::new();
    for k in 0..50 {
        let now = first + k * 1_000;
        let tasks: Vec<_> = stores
            .iter()
            .map(|s| {
                let s = s.clone();
                tokio::spawn(async move { s.fire_schedule(id, now, MINUTE).await.unwrap() })
            })
            .collect();
        let mut fired = 0;
        for t in tasks {
            if let Some(f) = t.await.unwrap() {
                fired += 1;
                assert_eq!(f.slot, now);
                runs.push(f.run_id.expect("a run"));
            }
        }
        assert_eq!(fired, 1, "slot {k} fired {fired} times");
    }
    runs.sort();
    runs.dedup();
    assert_eq!(runs.len(), 50);
    let (listed, _) = store.schedule_activity(account, id, 100, 0).await.unwrap();
    assert_eq!(listed.len(), 50);
}

/// A secret-named variable is masked wherever a schedule is shown or audited, and the
/// mask sent back unchanged keeps the value: the run still gets the real one.
pub async fn secret_variables_are_masked_and_kept(store: Store) {
    let account = store.create_account("acme", "Acme").await.unwrap().id;
    let who = Actor::system(account);
    let pid = package(&store, account).await;
    let mut s = spec(pid, "0 * * * * *", "skip");
    s.variables =
        serde_json::from_value(json!({"api_token": "tok-real-1", "region": "eu"})).unwrap();
    let made = store.create_schedule(&who, s).await.unwrap();
    let id = made.schedule.id;
    assert_eq!(made.schedule.variables["api_token"], json!("********"));
    let edit = ScheduleEdit {
        variables: Some(
            serde_json::from_value(json!({"api_token": "********", "region": "us"})).unwrap(),
        ),
        ..Default::default()
    };
    let changed = store
        .update_schedule(&who, id, Some(1), edit)
        .await
        .unwrap();
    assert_eq!(changed.fields, vec!["variables".to_string()]);
    let first = ms(&changed.schedule.next_run_at);
    let fired = store
        .fire_schedule(id, first, MINUTE)
        .await
        .unwrap()
        .unwrap();
    let w = worker();
    store.register_worker(&w).await.unwrap();
    let claimed = store.claim_run(&w).await.unwrap().unwrap();
    assert_eq!(Some(claimed.run_id), fired.run_id);
    assert_eq!(
        claimed.variables["api_token"],
        json!("tok-real-1"),
        "the mask did not replace it"
    );
    assert_eq!(claimed.variables["region"], json!("us"));
    let trail = format!("{:?}", store.audit_events(account, 50).await.unwrap());
    assert!(!trail.contains("tok-real-1"), "{trail}");
}

/// A schedule set back to a slot that already has its run (switched off and on within the
/// slot's period, or a host whose clock is behind) moves past it instead of retrying it.
pub async fn a_slot_that_already_ran_is_passed_not_retried(store: Store) {
    let account = store.create_account("acme", "Acme").await.unwrap().id;
    let who = Actor::system(account);
    let pid = package(&store, account).await;
    let made = store
        .create_schedule(&who, spec(pid, "0 0 * * * *", "queue"))
        .await
        .unwrap();
    let (id, slot) = (made.schedule.id, ms(&made.schedule.next_run_at));
    let first = store
        .fire_schedule(id, slot, MINUTE)
        .await
        .unwrap()
        .unwrap();
    assert!(first.run_id.is_some());
    // Off and on again before that hour: the next fire time is that same slot again.
    store.toggle_schedule(&who, id, false).await.unwrap();
    let on = store.toggle_schedule(&who, id, true).await.unwrap();
    assert_eq!(ms(&on.schedule.next_run_at), slot);
    let again = store
        .fire_schedule(id, slot, MINUTE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.run_id, None, "one slot, one run");
    assert!(
        again
            .logged
            .as_deref()
            .unwrap()
            .contains("already had its run"),
        "{again:?}"
    );
    assert_eq!(again.next_run_at, Some(slot + 60 * MINUTE));
    let (runs, _) = store.schedule_activity(account, id, 10, 0).await.unwrap();
    assert_eq!(runs.len(), 1);
}
