//! Packages: the component catalog, authoring (create, clone, edit components, edges,
//! name and variables, archive), validation, and version history. One tool per file;
//! every mutation goes through the store's locked, versioned, audited path, and its
//! graph edit ([`edit`]) runs inside that transaction on the current content.

pub mod add_package_components;
pub mod clone_package;
pub mod create_package;
pub mod delete_package;
pub mod describe_component_type;
pub mod edit;
pub mod get_package_version;
pub mod list_component_types;
pub mod list_package_versions;
pub mod manage_package_variables;
pub mod remove_package_components;
pub mod rename_package;
pub mod revert_package;
pub mod update_package_components;
pub mod update_package_edges;
pub mod validate_package;

use catalog::{packages::PackageChange, Actor, CatalogError};
use schemars::JsonSchema;
use serde::Serialize;

use crate::{
    context::ToolContext,
    error::{ErrorCode, ToolError},
    registry::ToolSpec,
    tools::lookup,
};

/// This resource's tools, in the order `tools/list` shows them.
pub fn tools() -> Vec<ToolSpec> {
    vec![
        list_component_types::spec(),
        describe_component_type::spec(),
        validate_package::spec(),
        create_package::spec(),
        clone_package::spec(),
        add_package_components::spec(),
        update_package_components::spec(),
        update_package_edges::spec(),
        remove_package_components::spec(),
        rename_package::spec(),
        manage_package_variables::spec(),
        delete_package::spec(),
        list_package_versions::spec(),
        get_package_version::spec(),
        revert_package::spec(),
    ]
}

/// Who is changing things, as the audit trail records it.
pub(crate) fn actor(ctx: &ToolContext) -> Actor {
    Actor::from(&ctx.principal)
}

/// What every package mutation answers.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Changed {
    pub package_id: i64,
    /// The package's version now.
    pub version: i64,
    /// False when the package already was as asked (nothing written).
    pub changed: bool,
    /// Which parts changed.
    pub fields: Vec<String>,
}

impl From<PackageChange> for Changed {
    fn from(c: PackageChange) -> Self {
        Changed {
            package_id: c.package_id,
            version: c.version,
            changed: c.changed,
            fields: c.fields,
        }
    }
}

/// A store error of a package mutation: not found names `package_id`, a stale
/// `expected_version` is a conflict that says what to do.
pub(crate) fn mutation_error(package_id: i64) -> impl FnOnce(PackageEditError) -> ToolError {
    move |e| {
        match e {
        PackageEditError::Edit(e) => {
            ToolError::invalid(e.location().to_string(), e.to_string())
        }
        PackageEditError::Catalog(CatalogError::Conflict(m)) => ToolError::new(ErrorCode::Conflict, m)
            .with_field("expected_version")
            .with_hint("get_package shows the current version; re-read it, apply your change to it, and send that version"),
        PackageEditError::Catalog(e) => lookup::missing(
            "package_id",
            "package",
            package_id,
            "list_packages or search_all shows package ids",
        )(e),
    }
    }
}

/// Why an edit inside the store's transaction failed.
pub(crate) enum PackageEditError {
    Edit(edit::EditError),
    Catalog(CatalogError),
}

impl From<CatalogError> for PackageEditError {
    fn from(e: CatalogError) -> Self {
        PackageEditError::Catalog(e)
    }
}

impl From<edit::EditError> for PackageEditError {
    fn from(e: edit::EditError) -> Self {
        PackageEditError::Edit(e)
    }
}
