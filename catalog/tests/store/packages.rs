//! Package authoring on any backend: every change locked, versioned and audited; every
//! refusal leaves no trace; concurrent editors lose nothing.

use catalog::{
    accounts::Account,
    audit::AuditFilter,
    packages::{CloneOverrides, PackageContent, PackageFilter, PackageSpec},
    schedules::ScheduleSpec,
    search::Kind,
    tokens::NewToken,
    validations::NewJobValidation,
    Actor, CatalogError, PageRequest, Principal, Store,
};
use serde_json::{json, Value};

/// An account with a member whose token ("laptop") is used from a known MCP client, a
/// second workspace, and another account with a workspace of its own.
struct Authors {
    account: Account,
    principal: Principal,
    workspace: i64,
    second_workspace: i64,
    other: Account,
    foreign_workspace: i64,
}

impl Authors {
    /// The token holder, calling `tool`.
    fn via(&self, tool: &str) -> Actor {
        Actor::from(&self.principal).with_tool(tool)
    }
}

async fn authors(store: &Store) -> Authors {
    let account = store.create_account("acme", "Acme").await.unwrap();
    let other = store.create_account("other", "Other").await.unwrap();
    let ada = store
        .add_member(account.id, "ada@acme.io", "Ada", "owner")
        .await
        .unwrap();
    let (_, secret) = store
        .create_token(NewToken {
            account_id: account.id,
            user_id: ada.id,
            name: "laptop",
            lifetime_ms: None,
            read_only: false,
        })
        .await
        .unwrap();
    let mut principal = store
        .authenticate(&secret, &account)
        .await
        .unwrap()
        .unwrap();
    principal.client_name = Some("claude-code".into());
    principal.client_version = Some("2.1.0".into());
    Authors {
        workspace: store
            .create_workspace(account.id, "Sales", "")
            .await
            .unwrap(),
        second_workspace: store
            .create_workspace(account.id, "Sandbox", "")
            .await
            .unwrap(),
        foreign_workspace: store
            .create_workspace(other.id, "Theirs", "")
            .await
            .unwrap(),
        account,
        principal,
        other,
    }
}

fn graph() -> Value {
    json!({
        "components": [{"database_source_component": {"id": "c1", "name": "orders", "table": "orders"}}],
        "edges": []
    })
}

fn page(limit: i64) -> PageRequest {
    PageRequest::new(limit, 0)
}

/// Events about one package.
fn about(package_id: i64) -> AuditFilter<'static> {
    AuditFilter {
        target_type: Some("package"),
        target_id: Some(package_id),
        ..Default::default()
    }
}

/// A refusal from the caller's own check inside `update_package`.
#[derive(Debug)]
enum EditError {
    Store(CatalogError),
    NoSuchComponent(String),
}

impl From<CatalogError> for EditError {
    fn from(e: CatalogError) -> Self {
        EditError::Store(e)
    }
}

pub async fn package_authoring_versions_and_audits_every_change(store: Store) {
    let f = authors(&store).await;
    let acc = f.account.id;

    // Create from a whole spec: version 1, flow_version defaulted, audited with the token's
    // name, the client's name and version, and the tool.
    let spec = PackageSpec {
        workspace_id: Some(f.workspace),
        description: "nightly orders".into(),
        variables: json!({"since": "2025-01-01"}),
        ..PackageSpec::new("Orders", "dataflow", graph())
    };
    let created = store
        .create_package_by(&f.via("create_package"), spec)
        .await
        .unwrap();
    assert_eq!((created.version, created.changed), (1, true));
    let id = created.package_id;
    let p = store.package(acc, id).await.unwrap();
    assert_eq!(
        (
            p.summary.name.as_str(),
            p.summary.workspace_id,
            p.summary.status.as_str(),
            p.flow_version.as_str(),
            p.summary.version
        ),
        ("Orders", Some(f.workspace), "active", "2.0.0", 1)
    );
    assert_eq!(p.data_flow_json, graph());
    let events = store
        .list_audit_events(acc, &about(id), page(10))
        .await
        .unwrap();
    assert_eq!(events.total, 1);
    let e = &events.items[0];
    assert_eq!(
        (
            e.action.as_str(),
            e.tool.as_deref(),
            e.token_name.as_deref(),
            e.token_id,
            e.actor_user_id,
            e.client_name.as_deref(),
            e.client_version.as_deref()
        ),
        (
            "package.create",
            Some("create_package"),
            Some("laptop"),
            Some(f.principal.token_id),
            Some(f.principal.user_id),
            Some("claude-code"),
            Some("2.1.0")
        )
    );
    let after = e.after.as_ref().unwrap();
    assert_eq!(
        (
            &after["/name"],
            &after["/flow_version"],
            &after["/data_flow_json"]
        ),
        (&json!("Orders"), &json!("2.0.0"), &graph())
    );
    assert_eq!(created.audit_event_id, Some(e.id));

    // Rename: metadata only, one version, the diff names just the name.
    let renamed = store
        .update_package(&f.via("rename_package"), id, Some(1), |c| {
            c.name = "Orders nightly".into();
            Ok::<_, CatalogError>(())
        })
        .await
        .unwrap();
    assert_eq!(
        (renamed.version, renamed.changed, renamed.fields.clone()),
        (2, true, vec!["name".to_string()])
    );
    let e = &store
        .list_audit_events(acc, &about(id), page(1))
        .await
        .unwrap()
        .items[0];
    assert_eq!(
        (e.action.as_str(), e.before.clone(), e.after.clone()),
        (
            "package.update",
            Some(json!({"/name": "Orders"})),
            Some(json!({"/name": "Orders nightly"}))
        )
    );
    assert_eq!(
        store
            .search(acc, Kind::Package, "nightly", 10)
            .await
            .unwrap()
            .len(),
        1,
        "the search index follows a rename"
    );

    // Variables, then components: each its own version, each diff compact.
    let vars = store
        .update_package(&f.via("manage_package_variables"), id, None, |c| {
            c.variables["limit"] = json!(10);
            c.variables.as_object_mut().unwrap().remove("since");
            Ok::<_, CatalogError>(())
        })
        .await
        .unwrap();
    assert_eq!(
        (vars.version, vars.fields.clone()),
        (3, vec!["variables".to_string()])
    );
    let added =
        json!({"filter_component": {"id": "c2", "name": "recent", "predicate": "total > 0"}});
    let comps = store
        .update_package(&f.via("add_package_components"), id, Some(3), |c| {
            c.data_flow_json["components"]
                .as_array_mut()
                .unwrap()
                .push(added.clone());
            Ok::<_, CatalogError>(())
        })
        .await
        .unwrap();
    assert_eq!(comps.version, 4);
    let e = &store
        .list_audit_events(acc, &about(id), page(1))
        .await
        .unwrap()
        .items[0];
    assert_eq!(
        e.after,
        Some(json!({"/data_flow_json/components/1": added}))
    );
    assert_eq!(e.before, Some(json!({})));

    // A change that changes nothing writes nothing.
    let events_before = store
        .list_audit_events(acc, &about(id), page(1))
        .await
        .unwrap()
        .total;
    let same = store
        .update_package(&f.via("rename_package"), id, Some(4), |c| {
            c.name = "Orders nightly".into();
            Ok::<_, CatalogError>(())
        })
        .await
        .unwrap();
    assert_eq!(
        (same.version, same.changed, same.audit_event_id),
        (4, false, None)
    );
    assert_eq!(
        store
            .list_audit_events(acc, &about(id), page(1))
            .await
            .unwrap()
            .total,
        events_before
    );

    // History: newest first, paginated, each naming who and through which tool.
    let history = store
        .list_package_versions(acc, id, page(10))
        .await
        .unwrap();
    assert_eq!(history.total, 4);
    assert_eq!(
        history.items.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![4, 3, 2, 1]
    );
    let newest = &history.items[0];
    assert_eq!(
        (
            newest.tool.as_deref(),
            newest.action.as_deref(),
            newest.token_name.as_deref(),
            newest.client_name.as_deref(),
            newest.client_version.as_deref(),
            newest.user_id
        ),
        (
            Some("add_package_components"),
            Some("package.update"),
            Some("laptop"),
            Some("claude-code"),
            Some("2.1.0"),
            Some(f.principal.user_id)
        )
    );
    assert_eq!(history.items[3].action.as_deref(), Some("package.create"));
    let middle = store
        .list_package_versions(acc, id, PageRequest::new(2, 1))
        .await
        .unwrap();
    assert_eq!(
        (
            middle.total,
            middle.items.iter().map(|v| v.version).collect::<Vec<_>>()
        ),
        (4, vec![3, 2])
    );
    let v1 = store.package_version(acc, id, 1).await.unwrap();
    assert_eq!(
        v1.content(),
        PackageContent {
            name: "Orders".into(),
            description: "nightly orders".into(),
            data_flow_json: graph(),
            variables: json!({"since": "2025-01-01"}),
        }
    );
    assert_eq!(
        store.package_version(acc, id, 3).await.unwrap().variables,
        json!({"limit": 10})
    );

    // Revert: the old content comes back as a new version; the history is kept.
    let reverted = store
        .revert_package(&f.via("revert_package"), id, 1, Some(4))
        .await
        .unwrap();
    assert_eq!(
        (reverted.version, reverted.fields.clone()),
        (
            5,
            vec![
                "data_flow_json".to_string(),
                "name".into(),
                "variables".into()
            ]
        )
    );
    let now = store.package(acc, id).await.unwrap();
    assert_eq!(
        (
            now.summary.name.as_str(),
            &now.data_flow_json,
            &now.variables
        ),
        ("Orders", &graph(), &json!({"since": "2025-01-01"}))
    );
    assert_eq!(
        store.package_version(acc, id, 5).await.unwrap().content(),
        v1.content()
    );
    assert_eq!(
        store
            .package_version(acc, id, 4)
            .await
            .unwrap()
            .summary
            .name,
        "Orders nightly"
    );
    let e = &store
        .list_audit_events(acc, &about(id), page(1))
        .await
        .unwrap()
        .items[0];
    assert_eq!(
        (
            e.action.as_str(),
            e.tool.as_deref(),
            &e.after.as_ref().unwrap()["reverted_to"]
        ),
        ("package.revert", Some("revert_package"), &json!(1))
    );

    // Clone: "Copy of X" by default, in the source's workspace, at version 1.
    let copy = store
        .clone_package(&f.via("clone_package"), id, CloneOverrides::default())
        .await
        .unwrap();
    assert_ne!(copy.package_id, id);
    assert_eq!(copy.version, 1);
    let c = store.package(acc, copy.package_id).await.unwrap();
    assert_eq!(
        (
            c.summary.name.as_str(),
            c.summary.workspace_id,
            c.summary.flow_type.as_str(),
            &c.data_flow_json,
            &c.variables
        ),
        (
            "Copy of Orders",
            Some(f.workspace),
            "dataflow",
            &now.data_flow_json,
            &now.variables
        )
    );
    let e = &store
        .list_audit_events(acc, &about(copy.package_id), page(1))
        .await
        .unwrap()
        .items[0];
    assert_eq!(
        e.after.as_ref().unwrap()["cloned_from"],
        json!({"package_id": id, "version": 5})
    );
    let sandbox = store
        .clone_package(
            &f.via("clone_package"),
            id,
            CloneOverrides {
                name: Some("Orders (sandbox)".into()),
                workspace_id: Some(f.second_workspace),
            },
        )
        .await
        .unwrap();
    let s = store.package(acc, sandbox.package_id).await.unwrap();
    assert_eq!(
        (s.summary.name.as_str(), s.summary.workspace_id),
        ("Orders (sandbox)", Some(f.second_workspace))
    );

    // Archive: a version of its own, listed under `archived`; again changes nothing.
    let archived = store
        .archive_package(&f.via("delete_package"), sandbox.package_id, Some(1))
        .await
        .unwrap();
    assert_eq!(
        (archived.version, archived.fields.clone()),
        (2, vec!["status".to_string()])
    );
    let listed = store
        .list_packages(
            acc,
            &PackageFilter {
                status: Some("archived"),
                ..Default::default()
            },
            page(10),
        )
        .await
        .unwrap();
    assert_eq!(
        listed.items.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![sandbox.package_id]
    );
    assert_eq!(
        store
            .package_version(acc, sandbox.package_id, 2)
            .await
            .unwrap()
            .summary
            .status,
        "archived"
    );
    let again = store
        .archive_package(&f.via("delete_package"), sandbox.package_id, None)
        .await
        .unwrap();
    assert_eq!((again.version, again.changed), (2, false));

    // Validations: kept with the version they checked, newest first.
    let errors = json!([{"component": "recent", "property": "predicate", "message": "unknown column", "fix": "use total"}]);
    let first = store
        .record_job_validation(NewJobValidation {
            account_id: acc,
            package_id: id,
            package_version: 4,
            status: "invalid",
            errors: &errors,
            duration_ms: 12,
        })
        .await
        .unwrap();
    assert_eq!(
        (
            first.package_version,
            first.status.as_str(),
            &first.errors,
            first.duration_ms
        ),
        (Some(4), "invalid", &errors, 12)
    );
    let second = store
        .record_job_validation(NewJobValidation {
            account_id: acc,
            package_id: id,
            package_version: 5,
            status: "valid",
            errors: &json!([]),
            duration_ms: 3,
        })
        .await
        .unwrap();
    let kept = store.list_job_validations(acc, id, page(10)).await.unwrap();
    assert_eq!(
        (
            kept.total,
            kept.items.iter().map(|v| v.id).collect::<Vec<_>>()
        ),
        (2, vec![second.id, first.id])
    );
    assert_eq!(
        store
            .list_job_validations(acc, id, PageRequest::new(1, 1))
            .await
            .unwrap()
            .items[0]
            .status,
        "invalid"
    );

    // The audit trail by target, actor, tool, action and time, paginated.
    let all = store
        .list_audit_events(acc, &AuditFilter::default(), page(100))
        .await
        .unwrap();
    let by_token = store
        .list_audit_events(
            acc,
            &AuditFilter {
                token_id: Some(f.principal.token_id),
                ..Default::default()
            },
            page(100),
        )
        .await
        .unwrap();
    // create, rename, variables, components, revert, 2 clones, archive.
    assert_eq!(by_token.total, 8);
    assert!(
        by_token.total < all.total,
        "system events are not the token's"
    );
    assert!(by_token
        .items
        .iter()
        .all(|e| e.token_name.as_deref() == Some("laptop")));
    let by = |filter: AuditFilter<'static>| {
        let store = store.clone();
        async move {
            store
                .list_audit_events(acc, &filter, page(100))
                .await
                .unwrap()
                .total
        }
    };
    assert_eq!(
        by(AuditFilter {
            user_id: Some(f.principal.user_id),
            ..Default::default()
        })
        .await,
        8
    );
    assert_eq!(
        by(AuditFilter {
            token_name: Some("laptop"),
            ..Default::default()
        })
        .await,
        8
    );
    assert_eq!(
        by(AuditFilter {
            tool: Some("clone_package"),
            ..Default::default()
        })
        .await,
        2
    );
    assert_eq!(
        by(AuditFilter {
            action: Some("package.archive"),
            ..Default::default()
        })
        .await,
        1
    );
    assert_eq!(by(about(id)).await, 5);
    let now_ms = catalog::time::now_ms();
    assert_eq!(
        by(AuditFilter {
            since_ms: Some(now_ms - 3_600_000),
            until_ms: Some(now_ms + 1_000),
            ..about(id)
        })
        .await,
        5
    );
    assert_eq!(
        by(AuditFilter {
            since_ms: Some(now_ms + 3_600_000),
            ..Default::default()
        })
        .await,
        0
    );
    assert_eq!(
        by(AuditFilter {
            until_ms: Some(0),
            ..Default::default()
        })
        .await,
        0
    );
    let second_page = store
        .list_audit_events(acc, &about(id), PageRequest::new(2, 2))
        .await
        .unwrap();
    assert_eq!(second_page.total, 5);
    assert_eq!(
        second_page
            .items
            .iter()
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        vec!["package.update", "package.update"],
        "newest first: revert, components | variables, rename | create"
    );
    assert!(second_page.items[0].id > second_page.items[1].id);
    assert!(store
        .list_audit_events(f.other.id, &AuditFilter::default(), page(100))
        .await
        .unwrap()
        .items
        .iter()
        .all(|e| e.target_type != "package"));
}

/// What a refused change must leave exactly as it was: the package as read back, its
/// history, and the account's whole audit trail.
async fn footprint(store: &Store, account_id: i64, package_id: i64) -> (String, i64, i64, i64) {
    let package =
        serde_json::to_string(&store.package(account_id, package_id).await.unwrap()).unwrap();
    let versions = store
        .list_package_versions(account_id, package_id, page(100))
        .await
        .unwrap()
        .total;
    let events = store
        .list_audit_events(account_id, &AuditFilter::default(), page(1))
        .await
        .unwrap()
        .total;
    let packages = store
        .list_packages(account_id, &PackageFilter::default(), page(1))
        .await
        .unwrap()
        .total;
    (package, versions, events, packages)
}

/// One change to a package's content, as a plain function.
type Edit = fn(&mut PackageContent);

fn conflict(e: CatalogError) -> String {
    match e {
        CatalogError::Conflict(m) => m,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn invalid_field(e: CatalogError) -> &'static str {
    match e {
        CatalogError::InvalidArgument { field, .. } => field,
        other => panic!("expected an invalid argument, got {other:?}"),
    }
}

pub async fn refused_package_changes_write_nothing(store: Store) {
    let f = authors(&store).await;
    let acc = f.account.id;
    let who = f.via("update_package_components");
    let id = store
        .create_package_by(
            &f.via("create_package"),
            PackageSpec::new("Orders", "dataflow", graph()),
        )
        .await
        .unwrap()
        .package_id;
    store
        .update_package(&who, id, None, |c| {
            c.description = "v2".into();
            Ok::<_, CatalogError>(())
        })
        .await
        .unwrap();
    let unchanged = footprint(&store, acc, id).await;
    let rename = |c: &mut PackageContent| {
        c.name = "changed".into();
        Ok::<_, CatalogError>(())
    };

    // A stale expected_version: refused, naming the current version.
    let m = conflict(
        store
            .update_package(&who, id, Some(1), rename)
            .await
            .unwrap_err(),
    );
    assert!(m.contains("at version 2"), "{m}");
    conflict(store.archive_package(&who, id, Some(1)).await.unwrap_err());
    conflict(
        store
            .revert_package(&who, id, 1, Some(3))
            .await
            .unwrap_err(),
    );
    assert_eq!(footprint(&store, acc, id).await, unchanged);

    // Missing packages, and another account's package, are not found.
    let missing = 987_654;
    for e in [
        store
            .update_package(&who, missing, None, rename)
            .await
            .unwrap_err(),
        store
            .archive_package(&who, missing, None)
            .await
            .unwrap_err(),
        store
            .revert_package(&who, missing, 1, None)
            .await
            .unwrap_err(),
        store
            .clone_package(&who, missing, CloneOverrides::default())
            .await
            .unwrap_err(),
        store
            .update_package(&Actor::system(f.other.id), id, None, rename)
            .await
            .unwrap_err(),
        store
            .list_package_versions(acc, missing, page(10))
            .await
            .unwrap_err(),
        store
            .list_package_versions(f.other.id, id, page(10))
            .await
            .unwrap_err(),
        store.package_version(acc, id, 99).await.unwrap_err(),
        store
            .record_job_validation(NewJobValidation {
                account_id: f.other.id,
                package_id: id,
                package_version: 1,
                status: "valid",
                errors: &json!([]),
                duration_ms: 1,
            })
            .await
            .unwrap_err(),
    ] {
        assert!(matches!(e, CatalogError::NotFound { .. }), "{e:?}");
    }
    assert_eq!(footprint(&store, acc, id).await, unchanged);

    // The caller's own refusal inside the edit, and content that breaks the rules.
    let e = store
        .update_package(&who, id, Some(2), |c| {
            c.name = "half-done".into();
            Err(EditError::NoSuchComponent("joiner".into()))
        })
        .await
        .unwrap_err();
    assert!(
        matches!(e, EditError::NoSuchComponent(ref n) if n == "joiner"),
        "{e:?}"
    );
    // The store's own refusals reach such a caller through its `From<CatalogError>`.
    let e = store
        .update_package(&who, id, Some(1), |_| Ok::<_, EditError>(()))
        .await
        .unwrap_err();
    assert!(
        matches!(e, EditError::Store(CatalogError::Conflict(_))),
        "{e:?}"
    );
    let breaking: [(Edit, &str); 3] = [
        (|c| c.name = "  ".into(), "name"),
        (|c| c.variables = json!(["x"]), "variables"),
        (|c| c.data_flow_json = json!("x"), "data_flow_json"),
    ];
    for (edit, field) in breaking {
        let e = store
            .update_package(&who, id, None, |c| {
                edit(c);
                Ok::<_, CatalogError>(())
            })
            .await
            .unwrap_err();
        assert_eq!(invalid_field(e), field);
    }
    assert_eq!(
        invalid_field(store.revert_package(&who, id, 99, None).await.unwrap_err()),
        "version"
    );
    assert_eq!(footprint(&store, acc, id).await, unchanged);

    // Bad specs: another account's workspace, an unknown flow type, no name.
    let foreign = PackageSpec {
        workspace_id: Some(f.foreign_workspace),
        ..PackageSpec::new("Elsewhere", "dataflow", graph())
    };
    assert_eq!(
        invalid_field(store.create_package_by(&who, foreign).await.unwrap_err()),
        "workspace_id"
    );
    assert_eq!(
        invalid_field(
            store
                .clone_package(
                    &who,
                    id,
                    CloneOverrides {
                        name: None,
                        workspace_id: Some(f.foreign_workspace)
                    }
                )
                .await
                .unwrap_err()
        ),
        "workspace_id"
    );
    assert_eq!(
        invalid_field(
            store
                .create_package_by(&who, PackageSpec::new("x", "stream", graph()))
                .await
                .unwrap_err()
        ),
        "flow_type"
    );
    assert_eq!(
        invalid_field(
            store
                .create_package_by(&who, PackageSpec::new("", "dataflow", graph()))
                .await
                .unwrap_err()
        ),
        "name"
    );
    assert_eq!(footprint(&store, acc, id).await, unchanged);

    // Archiving is refused while an enabled schedule runs the package.
    let schedule = store
        .create_schedule(
            &who,
            ScheduleSpec {
                package_id: id,
                name: "hourly".into(),
                cron: "0 0 * * * *".into(),
                time_zone: None,
                enabled: true,
                variables: serde_json::Map::new(),
                cluster_id: None,
                missed_policy: None,
                overlap_policy: None,
            },
        )
        .await
        .unwrap()
        .schedule
        .id;
    let unchanged = footprint(&store, acc, id).await;
    let m = conflict(store.archive_package(&who, id, Some(2)).await.unwrap_err());
    assert!(m.contains(&format!("schedule(s) {schedule}")), "{m}");
    assert_eq!(footprint(&store, acc, id).await, unchanged);

    // Once it is off, archiving goes through, and it cannot be switched back on.
    store.toggle_schedule(&who, schedule, false).await.unwrap();
    assert_eq!(
        store
            .archive_package(&who, id, Some(2))
            .await
            .unwrap()
            .version,
        3
    );
    let unchanged = footprint(&store, acc, id).await;
    conflict(
        store
            .toggle_schedule(&who, schedule, true)
            .await
            .unwrap_err(),
    );
    assert!(!store.schedule(acc, schedule).await.unwrap().enabled);
    assert_eq!(footprint(&store, acc, id).await, unchanged);
}

const EDITORS: usize = 20;

/// Which of the four edits task `i` makes, appending its marker.
fn edit(i: usize, marker: &str, c: &mut PackageContent) {
    match i % 4 {
        0 => c.data_flow_json["components"]
            .as_array_mut()
            .expect("components is a list")
            .push(json!({"note_component": {"id": marker, "name": marker}})),
        1 => c.variables[marker] = json!(i),
        2 => c.name.push_str(&format!(" {marker}")),
        _ => c.description.push_str(&format!(" {marker}")),
    }
}

fn marker(i: usize) -> String {
    format!("mk{i:02}x")
}

/// Twenty editors at once, with the four kinds of edit mixed. Every fifth states the
/// version it saw at the start (all but one at most must hear it is stale); every fifth
/// states the version it just read and retries on conflict, as a careful assistant does;
/// the rest state none.
pub async fn twenty_concurrent_editors_lose_nothing(store: Store) {
    let f = authors(&store).await;
    let acc = f.account.id;
    let id = store
        .create_package_by(
            &f.via("create_package"),
            PackageSpec::new("Shared", "dataflow", json!({"components": [], "edges": []})),
        )
        .await
        .unwrap()
        .package_id;
    let tools = [
        "add_package_components",
        "manage_package_variables",
        "rename_package",
        "update_package_components",
    ];
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..EDITORS {
        let store = store.clone();
        let who = f.via(tools[i % 4]);
        tasks.spawn(async move {
            let m = marker(i);
            let mut attempts = 0;
            loop {
                attempts += 1;
                let expected = match i % 5 {
                    0 => Some(1),
                    1 => Some(store.package(acc, id).await.unwrap().summary.version),
                    _ => None,
                };
                let r = store
                    .update_package(&who, id, expected, |c| {
                        edit(i, &m, c);
                        Ok::<_, CatalogError>(())
                    })
                    .await;
                match r {
                    Err(CatalogError::Conflict(_)) if i % 5 == 1 && attempts < 200 => continue,
                    r => return (i, r),
                }
            }
        });
    }
    let mut accepted = vec![];
    let mut refused = vec![];
    while let Some(joined) = tasks.join_next().await {
        match joined.unwrap() {
            (i, Ok(change)) => {
                assert!(change.changed);
                accepted.push((i, change.version));
            }
            (i, Err(CatalogError::Conflict(m))) => {
                assert_eq!(i % 5, 0, "only stale editors are refused (task {i}: {m})");
                assert!(m.contains("is at version"), "{m}");
                refused.push(i);
            }
            (i, Err(e)) => panic!("editor {i} failed: {e:?}"),
        }
    }
    let stale = (0..EDITORS).filter(|i| i % 5 == 0).count();
    assert!(
        refused.len() >= stale - 1,
        "at most one stale editor can win: {refused:?}"
    );
    assert_eq!(accepted.len() + refused.len(), EDITORS);

    // One version per accepted change, none shared, none skipped.
    let n = accepted.len() as i64;
    let mut versions: Vec<i64> = accepted.iter().map(|a| a.1).collect();
    versions.sort();
    assert_eq!(versions, (2..=n + 1).collect::<Vec<_>>());
    let p = store.package(acc, id).await.unwrap();
    assert_eq!(p.summary.version, n + 1);

    // Every accepted marker is where its edit put it; no refused one is anywhere.
    for &(i, _) in &accepted {
        let m = marker(i);
        let found = match i % 4 {
            0 => p.data_flow_json["components"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["note_component"]["name"] == json!(m)),
            1 => p.variables[&m] == json!(i),
            2 => p.summary.name.contains(&m),
            _ => p.summary.description.contains(&m),
        };
        assert!(found, "editor {i}'s change was lost");
    }
    let text = serde_json::to_string(&p).unwrap();
    for &i in &refused {
        assert!(!text.contains(&marker(i)), "refused editor {i} left a mark");
    }

    // Each version holds exactly the changes before it, plus its own.
    let history = store
        .list_package_versions(acc, id, page(100))
        .await
        .unwrap();
    assert_eq!(
        history.items.iter().map(|v| v.version).collect::<Vec<_>>(),
        (1..=n + 1).rev().collect::<Vec<_>>()
    );
    for &(i, v) in &accepted {
        let at = serde_json::to_string(&store.package_version(acc, id, v).await.unwrap().content())
            .unwrap();
        let before = serde_json::to_string(
            &store
                .package_version(acc, id, v - 1)
                .await
                .unwrap()
                .content(),
        )
        .unwrap();
        assert!(
            at.contains(&marker(i)) && !before.contains(&marker(i)),
            "version {v} is editor {i}'s"
        );
        let marks = (0..EDITORS).filter(|j| at.contains(&marker(*j))).count() as i64;
        assert_eq!(marks, v - 1, "version {v} holds every earlier change");
    }

    // One audit event per accepted change, each with the token and its tool.
    let events = store
        .list_audit_events(
            acc,
            &AuditFilter {
                action: Some("package.update"),
                ..about(id)
            },
            page(100),
        )
        .await
        .unwrap();
    assert_eq!(events.total, n);
    assert!(events
        .items
        .iter()
        .all(|e| e.token_name.as_deref() == Some("laptop")
            && e.tool.as_deref().is_some_and(|t| tools.contains(&t))));
}

/// Two stores on one SQLite file stand for two processes (a server and the CLI): their
/// writers cannot share the in-process turn, so they meet SQLite's own lock, and must wait
/// for it rather than fail with "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_writers_in_two_processes_wait_for_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let server = Store::open_data_dir(dir.path()).await.unwrap();
    let f = authors(&server).await;
    let cli = Store::open_data_dir(dir.path()).await.unwrap();
    let id = server
        .create_package_by(
            &f.via("create_package"),
            PackageSpec::new("Shared", "dataflow", graph()),
        )
        .await
        .unwrap()
        .package_id;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..EDITORS {
        let store = if i % 2 == 0 {
            server.clone()
        } else {
            cli.clone()
        };
        let who = f.via("manage_package_variables");
        tasks.spawn(async move {
            store
                .update_package(&who, id, None, |c| {
                    edit(1, &marker(i), c);
                    Ok::<_, CatalogError>(())
                })
                .await
        });
    }
    while let Some(r) = tasks.join_next().await {
        assert!(r.unwrap().unwrap().changed);
    }
    let p = cli.package(f.account.id, id).await.unwrap();
    assert_eq!(p.summary.version, 1 + EDITORS as i64);
    assert_eq!(p.variables.as_object().unwrap().len(), EDITORS);
}

/// Before versions were kept whole, a status change bumped a package's version without
/// keeping it. Upgrading keeps each package's current version, so every version a package
/// reports from then on can be read back, and the next change follows on from it.
#[tokio::test]
async fn upgrading_keeps_each_package_current_version() {
    use sqlx::{AnyConnection, Connection};

    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("pipewright.db").display()
    );
    sqlx::any::install_default_drivers();
    let mut old = AnyConnection::connect(&url).await.unwrap();
    for sql in [
        include_str!("../../migrations/sqlite/0001_init.sql"),
        include_str!("../../migrations/sqlite/0002_packages_by_workspace.sql"),
        "CREATE TABLE pipewright_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL);
         INSERT INTO pipewright_migrations VALUES (1, 0), (2, 0);
         INSERT INTO accounts (id, subdomain, name, created_at) VALUES (1, 'acme', 'Acme', 0);
         INSERT INTO packages (id, account_id, name, flow_type, data_flow_json, status, version, created_at, updated_at)
             VALUES (1, 1, 'Legacy', 'dataflow', '{\"components\": []}', 'archived', 2, 0, 5000);
         INSERT INTO package_versions (package_id, version, name, description, data_flow_json, variables_json, created_at)
             VALUES (1, 1, 'Legacy', '', '{\"components\": []}', '{}', 0);",
    ] {
        sqlx::raw_sql(sql).execute(&mut old).await.unwrap();
    }
    old.close().await.unwrap();

    let store = Store::open_data_dir(dir.path()).await.unwrap();
    let history = store.list_package_versions(1, 1, page(10)).await.unwrap();
    assert_eq!(
        history
            .items
            .iter()
            .map(|v| (v.version, v.status.as_str()))
            .collect::<Vec<_>>(),
        vec![(2, "archived"), (1, "active")]
    );
    let next = store
        .update_package(&Actor::system(1), 1, Some(2), |c| {
            c.description = "kept for reference".into();
            Ok::<_, CatalogError>(())
        })
        .await
        .unwrap();
    assert_eq!(next.version, 3);
    assert_eq!(
        store.package_version(1, 1, 2).await.unwrap().data_flow_json,
        json!({"components": []})
    );
}
