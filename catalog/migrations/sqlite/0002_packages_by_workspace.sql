-- Health counts per workspace (list_workspaces) look packages up by workspace.
CREATE INDEX packages_workspace ON packages(workspace_id, status);
