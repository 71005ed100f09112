//! The MCP surface's tool and argument names, which no message from a driver, the
//! sanitizer or the sniffer may contain: those messages also reach run logs and the CLI,
//! where no tool was called, and the MCP layer names the argument itself (as `field` and
//! `hint`). Included by path in `connectors`' unit tests and its corpus test.

/// Every tool name, served today or planned in the issues.
pub const TOOLS: &[&str] = &[
    "list_workspaces",
    "list_packages",
    "get_package",
    "list_connections",
    "get_connection",
    "list_clusters",
    "search_all",
    "test_connection",
    "discover_schema",
    "preview_data",
    "discover_file_schema",
    "toggle_schedule",
    "list_schedules",
    "get_schedule",
    "create_schedule",
    "update_schedule",
    "delete_schedule",
    "list_component_types",
    "describe_component_type",
    "validate_package",
    "create_package",
    "clone_package",
    "add_package_components",
    "update_package_components",
    "update_package_edges",
    "remove_package_components",
    "rename_package",
    "manage_package_variables",
    "delete_package",
    "list_package_versions",
    "get_package_version",
    "revert_package",
    "list_audit_events",
];

/// Every tool argument name (the input schemas' properties).
pub const ARGUMENTS: &[&str] = &[
    "bucket",
    "char_encoding",
    "connection_id",
    "connection_type",
    "connection_type_filter",
    "delimiter",
    "enabled",
    "escape",
    "flow_type",
    "header_row",
    "include_full_graph",
    "limit",
    "lines",
    "offset",
    "package_id",
    "path",
    "per_type_limit",
    "query",
    "quote",
    "record_delimiter",
    "record_type",
    "row_count",
    "sample_bytes",
    "schedule_id",
    "schema_name",
    "search",
    "status",
    "table_name",
    "types",
    "where_clause",
    "workspace_id",
];

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `name` occurs in `text` as a whole word.
fn as_word(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

/// The first tool or argument name `text` uses, if any. A name with an underscore counts
/// wherever it stands as a word (no sentence has `where_clause` in it by chance); a plain
/// word (`path`, `bucket`, `query`) counts only where it is used as a name, spelt as the
/// argument is: in backticks, before `=` or before the word "argument". "The file's path",
/// "the query" and a quoted `LIMIT` are fine.
pub fn named_in(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    TOOLS.iter().chain(ARGUMENTS).copied().find(|name| {
        if name.contains('_') {
            as_word(&lower, name)
        } else {
            // Case kept: `LIMIT` quoted from a SQL fragment is not the `limit` argument.
            [
                format!("`{name}`"),
                format!("{name}="),
                format!("{name} argument"),
            ]
            .iter()
            .any(|form| text.contains(form.as_str()))
        }
    })
}

#[cfg(test)]
mod checks {
    use super::named_in;

    #[test]
    fn names_are_found_as_names_and_not_as_words() {
        assert_eq!(
            named_in("the query is too expensive (narrow where_clause)"),
            Some("where_clause")
        );
        assert_eq!(named_in("no file at the given `path`"), Some("path"));
        assert_eq!(named_in("(or the `bucket` argument)"), Some("bucket"));
        assert_eq!(
            named_in("list tables with discover_schema"),
            Some("discover_schema")
        );
        assert_eq!(named_in("check the file's path and the query"), None);
        assert_eq!(named_in("set follow_symlinks=true on the connection"), None);
        assert_eq!(named_in("the connection_type_filter_x"), None);
        assert_eq!(named_in("refused at `LIMIT`: unexpected text"), None);
    }
}
