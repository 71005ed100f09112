//! The Claude Desktop extensions this server offers on Connected Applications: the `.mcpb`
//! files `scripts/mcpb-bundle` built, in the folder `bundles_dir` names. Only regular files
//! named like a bundle are listed, and only a listed name is served (to a signed-in user),
//! so no path from the request ever reaches the file system.

use std::path::{Path, PathBuf};

use axum::{
    body::Body,
    extract::{Path as UrlPath, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};

use super::{pages, Edge};

/// At most this many bundles are listed.
const MAX_LISTED: usize = 20;

/// One bundle on offer: its file name and the platform it is for.
pub(super) struct Bundle {
    pub file: String,
    pub label: String,
}

/// `pipewright-VERSION-PLATFORM-ARCH.mcpb` → "PLATFORM ARCH", for a name of that shape
/// made of safe characters only.
fn label(file: &str) -> Option<String> {
    let stem = file.strip_prefix("pipewright-")?.strip_suffix(".mcpb")?;
    if stem.is_empty()
        || !stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        || stem.contains("..")
    {
        return None;
    }
    let mut parts = stem.rsplitn(3, '-');
    let (arch, platform) = (parts.next()?, parts.next()?);
    let os = match platform {
        "darwin" => "macOS",
        "win32" => "Windows",
        "linux" => "Linux",
        _ => return None,
    };
    Some(format!("{os} ({arch})"))
}

/// The bundles in `dir`, by name.
pub(super) fn list(dir: Option<&Path>) -> Vec<Bundle> {
    let Some(entries) = dir.and_then(|d| std::fs::read_dir(d).ok()) else {
        return Vec::new();
    };
    let mut found: Vec<Bundle> = entries
        .filter_map(Result::ok)
        // The entry itself, not what a link points at: a link is not offered.
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let file = e.file_name().into_string().ok()?;
            let label = label(&file)?;
            Some(Bundle { file, label })
        })
        .take(MAX_LISTED * 5)
        .collect();
    found.sort_by(|a, b| a.file.cmp(&b.file));
    found.truncate(MAX_LISTED);
    found
}

pub(super) async fn download(
    State(edge): State<Edge>,
    headers: HeaderMap,
    UrlPath(file): UrlPath<String>,
) -> Response {
    if pages::session(&edge, &headers).await.is_none() {
        return Redirect::to("/login?next=/apps").into_response();
    }
    let dir: Option<PathBuf> = edge.bundles_dir.as_deref().map(Path::to_path_buf);
    let listed = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || list(dir.as_deref())
    })
    .await
    .unwrap_or_default();
    let (Some(dir), true) = (dir, listed.iter().any(|b| b.file == file)) else {
        return (StatusCode::NOT_FOUND, "no such bundle").into_response();
    };
    let Ok(f) = tokio::fs::File::open(dir.join(&file)).await else {
        return (StatusCode::NOT_FOUND, "no such bundle").into_response();
    };
    let len = f.metadata().await.map(|m| m.len()).unwrap_or(0);
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
            (header::CONTENT_LENGTH, len.to_string()),
        ],
        Body::from_stream(tokio_util::io::ReaderStream::new(f)),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn only_bundle_names_of_a_known_platform() {
        assert_eq!(
            label("pipewright-0.1.0-darwin-aarch64.mcpb").as_deref(),
            Some("macOS (aarch64)")
        );
        assert_eq!(
            label("pipewright-0.1.0-win32-x86_64.mcpb").as_deref(),
            Some("Windows (x86_64)")
        );
        for bad in [
            "pipewright-0.1.0-beos-x86_64.mcpb",
            "pipewright-..-linux-x86_64.mcpb",
            "pipewright-0.1.0-linux-x86_64.zip",
            "pipewright-a b-linux-x86_64.mcpb",
            "other-0.1.0-linux-x86_64.mcpb",
            "pipewright-.mcpb",
            "pipewright-%2e%2e-linux-x.mcpb",
        ] {
            assert!(label(bad).is_none(), "{bad}");
        }
    }
}
