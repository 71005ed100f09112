//! The Claude Desktop extensions this server offers on Connected Applications: the `.mcpb`
//! files `scripts/mcpb-bundle` built, in the folder `bundles_dir` names, the newest version
//! for each platform and architecture. Only a name shaped like a bundle's is ever opened
//! (so no path from the request reaches the file system), never through a link, and only
//! a regular file is served, to a signed-in user.

use std::path::{Path, PathBuf};

use axum::{
    body::Body,
    extract::{Path as UrlPath, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};

use super::{pages, Edge};

/// Folder entries looked at, at most.
const MAX_SCANNED: usize = 1000;

/// One bundle on offer: its file name and the platform it is for.
pub(super) struct Bundle {
    pub file: String,
    pub label: String,
    /// (platform, arch) and the version's numbers, to keep the newest of each.
    key: (String, String),
    version: Vec<u64>,
}

/// `pipewright-VERSION-PLATFORM-ARCH.mcpb` → "PLATFORM (ARCH), VERSION", for a name of that
/// shape made of safe characters only.
fn label(file: &str) -> Option<String> {
    parse(file).map(|b| b.label)
}

fn parse(file: &str) -> Option<Bundle> {
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
    let (arch, platform, version) = (parts.next()?, parts.next()?, parts.next()?);
    let os = match platform {
        "darwin" => "macOS",
        "win32" => "Windows",
        "linux" => "Linux",
        _ => return None,
    };
    Some(Bundle {
        file: file.to_string(),
        label: format!("{os} ({arch}), {version}"),
        key: (platform.to_string(), arch.to_string()),
        version: version
            .split(['.', '-', '+'])
            .map(|n| n.parse().unwrap_or(0))
            .collect(),
    })
}

/// The newest bundle of each platform and architecture in `dir`, by label.
pub(super) fn list(dir: Option<&Path>) -> Vec<Bundle> {
    let Some(entries) = dir.and_then(|d| std::fs::read_dir(d).ok()) else {
        return Vec::new();
    };
    let mut newest: Vec<Bundle> = Vec::new();
    for e in entries.filter_map(Result::ok).take(MAX_SCANNED) {
        // The entry itself, not what a link points at: a link is not offered.
        if !e.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let Some(b) = e.file_name().into_string().ok().and_then(|f| parse(&f)) else {
            continue;
        };
        match newest.iter_mut().find(|n| n.key == b.key) {
            Some(n) if n.version < b.version => *n = b,
            Some(_) => {}
            None => newest.push(b),
        }
    }
    newest.sort_by(|a, b| a.label.cmp(&b.label));
    newest
}

/// Opens a bundle for reading: never through a link, never a FIFO or device (which could
/// block a thread), with the length it has now.
fn open_regular(path: &Path) -> std::io::Result<(std::fs::File, u64)> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let f = o.open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok((f, meta.len()))
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
    let (Some(dir), Some(_)) = (dir, label(&file)) else {
        return (StatusCode::NOT_FOUND, "no such bundle").into_response();
    };
    let path = dir.join(&file);
    let Ok(Ok((f, len))) = tokio::task::spawn_blocking(move || open_regular(&path)).await else {
        return (StatusCode::NOT_FOUND, "no such bundle").into_response();
    };
    // Exactly the length announced, even if the file grows meanwhile.
    let f = tokio::io::AsyncReadExt::take(tokio::fs::File::from_std(f), len);
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
    use super::{label, list};

    #[test]
    fn the_newest_of_each_platform_by_version_numbers() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "pipewright-0.9.0-linux-x86_64.mcpb",
            "pipewright-0.10.0-linux-x86_64.mcpb",
            "pipewright-0.2.0-darwin-aarch64.mcpb",
            "pipewright-9.9.9-linux-x86_64.zip",
        ] {
            std::fs::write(dir.path().join(f), "x").unwrap();
        }
        std::fs::create_dir(dir.path().join("pipewright-9.0.0-linux-aarch64.mcpb")).unwrap();
        let files: Vec<String> = list(Some(dir.path())).into_iter().map(|b| b.file).collect();
        assert_eq!(
            files,
            [
                "pipewright-0.10.0-linux-x86_64.mcpb",
                "pipewright-0.2.0-darwin-aarch64.mcpb"
            ]
        );
    }

    #[test]
    fn only_bundle_names_of_a_known_platform() {
        assert_eq!(
            label("pipewright-0.1.0-darwin-aarch64.mcpb").as_deref(),
            Some("macOS (aarch64), 0.1.0")
        );
        assert_eq!(
            label("pipewright-0.10.2-win32-x86_64.mcpb").as_deref(),
            Some("Windows (x86_64), 0.10.2")
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
