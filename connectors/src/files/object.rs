//! S3 (and S3-compatible), GCS, Azure Blob and HTTP through `object_store`. (Local folders
//! have their own backend, `local`.)

use std::{ops::Range, sync::Arc};

use async_trait::async_trait;
use futures_util::StreamExt;
use object_store::{
    aws::AmazonS3Builder, azure::MicrosoftAzureBuilder, gcp::GoogleCloudStorageBuilder,
    http::HttpBuilder, path::Path, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload,
    RetryConfig,
};

use object_store::WriteMultipart;

use super::{config::FileConfig, ByteStream, FileMeta, FileStore};
use crate::error::DriverError;

pub struct ObjectBackend {
    /// For calls an assistant waits on: short timeouts, few retries.
    store: Arc<dyn ObjectStore>,
    /// For a run's streams (whole files read and written): no overall request timeout,
    /// since a large object takes as long as it takes (stalls are caught per chunk
    /// instead, see [`super::STALL`]), and patient retries, which resume a broken
    /// download where it stopped.
    bulk: Arc<dyn ObjectStore>,
    location: String,
    /// The bucket or container, for "bucket not found" messages.
    bucket: Option<String>,
}

/// A store that cannot be set up from its connection's settings (most often its endpoint
/// or URL, named by `field`).
fn build_error(field: &'static str) -> impl Fn(object_store::Error) -> DriverError {
    move |e| DriverError::Config {
        field: field.into(),
        message: format!(
            "the store cannot be set up: {}",
            super::redact(&e.to_string())
        ),
    }
}

/// A GCS key that does not parse: the parser's message may quote the key, so say only
/// what is wrong.
fn gcs_key_error(_: object_store::Error) -> DriverError {
    DriverError::config(
        "service_account_key",
        "cannot be read as a service-account JSON key file; store the key file's JSON as it was downloaded",
    )
}

/// How a store's HTTP client behaves: for interactive calls or for a run's streams.
#[derive(Clone, Copy)]
enum Patience {
    Interactive,
    Bulk,
}

/// One `object_store` client for the connection, with the given patience. Returns the
/// bucket or container too, for messages.
fn build(
    cfg: &FileConfig,
    patience: Patience,
) -> Result<(Arc<dyn ObjectStore>, Option<String>), DriverError> {
    let options = |endpoint: &Option<String>| {
        let o = ClientOptions::new()
            .with_allow_http(
                endpoint
                    .as_deref()
                    .is_some_and(|e| e.starts_with("http://")),
            )
            .with_connect_timeout(std::time::Duration::from_secs(10));
        match patience {
            Patience::Interactive => o.with_timeout(std::time::Duration::from_secs(30)),
            Patience::Bulk => o.with_timeout_disabled(),
        }
    };
    let retry = match patience {
        // An assistant waits on this: fail in seconds, not after minutes of retries.
        Patience::Interactive => RetryConfig {
            max_retries: 2,
            retry_timeout: std::time::Duration::from_secs(15),
            ..RetryConfig::default()
        },
        // Counted from the start of a request, whose body may stream for hours.
        Patience::Bulk => RetryConfig {
            max_retries: 5,
            retry_timeout: std::time::Duration::from_secs(24 * 3600),
            ..RetryConfig::default()
        },
    };
    Ok(match cfg {
        FileConfig::S3 {
            bucket,
            region,
            endpoint,
            virtual_hosted,
            access_key_id,
            secret_access_key,
            session_token,
        } => {
            let mut b = AmazonS3Builder::new()
                .with_retry(retry.clone())
                .with_bucket_name(bucket)
                .with_region(region)
                .with_virtual_hosted_style_request(*virtual_hosted)
                .with_client_options(options(endpoint));
            if let Some(e) = endpoint {
                b = b.with_endpoint(e);
            }
            match (access_key_id, secret_access_key) {
                (Some(id), Some(secret)) => {
                    b = b
                        .with_access_key_id(id.expose())
                        .with_secret_access_key(secret.expose());
                    if let Some(t) = session_token {
                        b = b.with_token(t.expose());
                    }
                }
                (None, None) => b = b.with_skip_signature(true),
                _ => return Err(DriverError::config(
                    "secret_access_key",
                    "give both access_key_id and secret_access_key, or neither for a public bucket",
                )),
            }
            (
                Arc::new(b.build().map_err(build_error("endpoint"))?),
                Some(bucket.clone()),
            )
        }
        FileConfig::Gcs {
            bucket,
            endpoint,
            service_account_key,
        } => {
            let mut b = GoogleCloudStorageBuilder::new()
                .with_retry(retry.clone())
                .with_bucket_name(bucket)
                .with_client_options(options(endpoint));
            match (service_account_key, endpoint) {
                (Some(k), _) => b = b.with_service_account_key(k.expose()),
                // An emulator: no OAuth.
                (None, Some(e)) => {
                    b = b.with_service_account_key(
                        serde_json::json!({
                            "gcs_base_url": e.trim_end_matches('/'),
                            "disable_oauth": true,
                            "client_email": "",
                            "private_key": "",
                            "private_key_id": ""
                        })
                        .to_string(),
                    )
                }
                (None, None) => {
                    return Err(DriverError::config(
                        "service_account_key",
                        "a GCS connection needs a service_account_key secret (the JSON key file)",
                    ))
                }
            }
            if let (Some(_), Some(e)) = (service_account_key, endpoint) {
                b = b.with_base_url(e.trim_end_matches('/'));
            }
            (
                Arc::new(b.build().map_err(gcs_key_error)?),
                Some(bucket.clone()),
            )
        }
        FileConfig::Azure {
            account,
            container,
            endpoint,
            access_key,
        } => {
            let mut b = MicrosoftAzureBuilder::new()
                .with_retry(retry.clone())
                .with_account(account)
                .with_container_name(container)
                .with_client_options(options(endpoint));
            if let Some(e) = endpoint {
                b = b.with_endpoint(e.trim_end_matches('/').to_string());
            }
            match access_key {
                Some(k) => b = b.with_access_key(k.expose()),
                None => b = b.with_skip_signature(true),
            }
            (
                Arc::new(b.build().map_err(build_error("endpoint"))?),
                Some(container.clone()),
            )
        }
        FileConfig::Http { url } => (
            Arc::new(
                HttpBuilder::new()
                    .with_url(url)
                    .with_retry(retry.clone())
                    .with_client_options(options(&Some(url.clone())))
                    .build()
                    .map_err(build_error("url"))?,
            ),
            None,
        ),
        FileConfig::Sftp { .. } | FileConfig::Local { .. } => {
            unreachable!("SFTP and local folders have their own backends")
        }
    })
}

impl ObjectBackend {
    pub fn new(cfg: &FileConfig) -> Result<ObjectBackend, DriverError> {
        let (store, bucket) = build(cfg, Patience::Interactive)?;
        let (bulk, _) = build(cfg, Patience::Bulk)?;
        Ok(ObjectBackend {
            store,
            bulk,
            location: cfg.location(),
            bucket,
        })
    }

    fn path(&self, p: &str) -> Result<Path, DriverError> {
        Path::parse(p.trim_start_matches('/')).map_err(|_| DriverError::FileNotFound {
            path: p.to_string(),
        })
    }

    /// A store error in the caller's terms, without the path they sent.
    fn error(&self, path: &str, e: object_store::Error) -> DriverError {
        let detail = super::scrub(&format!("{e}"), path);
        let chain = super::redact(&crate::error::chain(&e));
        let bucket_missing = [
            "NoSuchBucket",
            "ContainerNotFound",
            "bucket does not exist",
            "The specified bucket",
            "Bucket not found",
            "no bucket named",
        ]
        .iter()
        .any(|m| chain.contains(m));
        match e {
            object_store::Error::NotImplemented { .. }
            | object_store::Error::NotSupported { .. } => {
                DriverError::Unsupported(format!("that operation on {}", self.location))
            }
            _ if bucket_missing => DriverError::BucketNotFound {
                bucket: self.bucket.clone().unwrap_or_default(),
            },
            object_store::Error::NotFound { .. } => DriverError::FileNotFound { path: path.into() },
            object_store::Error::PermissionDenied { .. } => {
                DriverError::PermissionDenied(format!("the file on {}", self.location))
            }
            object_store::Error::Unauthenticated { .. } => {
                DriverError::CredentialsRejected(self.location.clone())
            }
            _ if [
                "InvalidAccessKeyId",
                "SignatureDoesNotMatch",
                "AuthenticationFailed",
                "AuthorizationFailure",
                "401 Unauthorized",
            ]
            .iter()
            .any(|m| chain.contains(m)) =>
            {
                DriverError::CredentialsRejected(self.location.clone())
            }
            _ if [
                "AccessDenied",
                "403 Forbidden",
                "AuthorizationPermissionMismatch",
            ]
            .iter()
            .any(|m| chain.contains(m)) =>
            {
                DriverError::PermissionDenied(format!("the file on {}", self.location))
            }
            _ if [
                "Connection refused",
                "error sending request",
                "dns error",
                "tcp connect error",
                "timed out",
                "client error (Connect)",
            ]
            .iter()
            .any(|m| chain.contains(m)) =>
            {
                DriverError::Unreachable {
                    target: self.location.clone(),
                    detail: "the endpoint did not answer".into(),
                }
            }
            _ => DriverError::Store(detail),
        }
    }
}

#[async_trait]
impl FileStore for ObjectBackend {
    fn location(&self) -> String {
        self.location.clone()
    }

    async fn list(
        &self,
        folder: &str,
        recursive: bool,
        max: usize,
    ) -> Result<Vec<FileMeta>, DriverError> {
        let folder = folder.trim_matches('/');
        let prefix = if folder.is_empty() {
            None
        } else {
            Some(self.path(folder)?)
        };
        let meta = |o: object_store::ObjectMeta| FileMeta {
            path: o.location.to_string(),
            size: o.size,
            modified: Some(o.last_modified.timestamp_millis()),
            is_dir: false,
        };
        if recursive {
            let mut out = Vec::new();
            let mut stream = self.store.list(prefix.as_ref());
            while let Some(item) = stream.next().await {
                out.push(meta(item.map_err(|e| self.error(folder, e))?));
                if out.len() >= max {
                    break;
                }
            }
            Ok(out)
        } else {
            let listed = self
                .store
                .list_with_delimiter(prefix.as_ref())
                .await
                .map_err(|e| self.error(folder, e))?;
            let mut out: Vec<FileMeta> = listed.objects.into_iter().map(meta).collect();
            out.extend(listed.common_prefixes.into_iter().map(|p| FileMeta {
                path: p.to_string(),
                size: 0,
                modified: None,
                is_dir: true,
            }));
            out.truncate(max);
            Ok(out)
        }
    }

    async fn head(&self, path: &str) -> Result<FileMeta, DriverError> {
        let p = self.path(path)?;
        match self.store.head(&p).await {
            Ok(o) => Ok(FileMeta {
                path: o.location.to_string(),
                size: o.size,
                modified: Some(o.last_modified.timestamp_millis()),
                is_dir: false,
            }),
            Err(e) => {
                let err = self.error(path, e);
                // A "folder" in an object store is a prefix with objects under it.
                // (WebDAV servers answer 403 for a folder.)
                if matches!(
                    err,
                    DriverError::FileNotFound { .. } | DriverError::PermissionDenied(_)
                ) {
                    // A HEAD of a missing bucket is a bare 404 too: the listing tells.
                    // (One item of a streamed listing: a huge prefix costs one page.)
                    match self.list(path, true, 1).await {
                        Err(e @ DriverError::BucketNotFound { .. }) => return Err(e),
                        Ok(under) if !under.is_empty() => {
                            return Err(DriverError::NotAFile {
                                path: path.trim_matches('/').into(),
                            })
                        }
                        _ => {}
                    }
                }
                // Local folders are "not found" as objects but exist as directories.
                Err(err)
            }
        }
    }

    async fn read_range(&self, path: &str, range: Range<u64>) -> Result<Vec<u8>, DriverError> {
        if range.is_empty() {
            return Ok(Vec::new());
        }
        let p = self.path(path)?;
        self.store
            .get_range(&p, range)
            .await
            .map(|b| b.to_vec())
            .map_err(|e| self.error(path, e))
    }

    async fn put(&self, path: &str, data: Vec<u8>) -> Result<(), DriverError> {
        let p = self.path(path)?;
        self.store
            .put(&p, PutPayload::from(data))
            .await
            .map(|_| ())
            .map_err(|e| self.error(path, e))
    }

    /// One GET, its body streamed as it arrives (a broken body is resumed with a range
    /// request by `object_store`'s retries).
    async fn read_stream(self: Arc<Self>, path: &str) -> Result<ByteStream, DriverError> {
        let p = self.path(path)?;
        let got = stalled(self.bulk.get(&p))
            .await?
            .map_err(|e| self.error(path, e))?;
        let path = path.to_string();
        let body = got
            .into_stream()
            .map(move |chunk| chunk.map_err(|e| self.error(&path, e)));
        Ok(super::stall_guarded(Box::pin(body), super::STALL))
    }

    /// A file that fits in one part is one PUT; a larger one a multipart upload, which
    /// the store shows only once it is completed at the end, and which is aborted on an
    /// error or when the write is dropped.
    async fn write_stream(&self, path: &str, mut data: ByteStream) -> Result<u64, DriverError> {
        let p = self.path(path)?;
        let mut first = Vec::new();
        while first.len() < PART {
            match data.next().await {
                Some(chunk) => first.extend_from_slice(&chunk?),
                None => {
                    let n = first.len() as u64;
                    stalled(self.bulk.put(&p, PutPayload::from(first)))
                        .await?
                        .map_err(|e| self.error(path, e))?;
                    return Ok(n);
                }
            }
        }
        let upload = match stalled(self.bulk.put_multipart(&p)).await? {
            Ok(u) => u,
            Err(object_store::Error::NotImplemented { .. }) => {
                return Err(DriverError::Unsupported(format!(
                    "writing a file larger than {} MiB",
                    PART >> 20
                )))
            }
            Err(e) => return Err(self.error(path, e)),
        };
        let mut upload = Upload(Some(WriteMultipart::new_with_chunk_size(upload, PART)));
        let written = self.upload(path, &mut upload, first, data).await;
        let Some(w) = upload.0.take() else {
            return Err(DriverError::Interrupted);
        };
        match written {
            Ok(n) => {
                stalled(w.finish())
                    .await?
                    .map_err(|e| self.error(path, e))?;
                Ok(n)
            }
            Err(e) => {
                let _ = stalled(w.abort()).await;
                Err(e)
            }
        }
    }
}

/// Bytes per part of a multipart upload (S3 wants at least 5 MiB but the last).
const PART: usize = 8 << 20;
/// Parts uploaded at once: memory is about (this + 1) parts.
const PARTS_IN_FLIGHT: usize = 2;

/// An upstream call under the stall deadline (the bulk client has no request timeout).
async fn stalled<T>(f: impl std::future::Future<Output = T>) -> Result<T, DriverError> {
    tokio::time::timeout(super::STALL, f)
        .await
        .map_err(|_| DriverError::StoreTimeout(super::STALL))
}

/// A multipart upload aborted when dropped before it was finished or aborted.
struct Upload(Option<WriteMultipart>);

impl Drop for Upload {
    fn drop(&mut self) {
        if let (Some(w), Ok(rt)) = (self.0.take(), tokio::runtime::Handle::try_current()) {
            rt.spawn(async move {
                let _ = stalled(w.abort()).await;
            });
        }
    }
}

impl ObjectBackend {
    /// Feeds the parts of an upload: `first`, then the rest of `data`.
    async fn upload(
        &self,
        path: &str,
        upload: &mut Upload,
        first: Vec<u8>,
        mut data: ByteStream,
    ) -> Result<u64, DriverError> {
        let Some(w) = upload.0.as_mut() else {
            return Err(DriverError::Interrupted);
        };
        let mut n = first.len() as u64;
        w.put(first.into());
        while let Some(chunk) = data.next().await {
            let chunk = chunk?;
            stalled(w.wait_for_capacity(PARTS_IN_FLIGHT))
                .await?
                .map_err(|e| self.error(path, e))?;
            n += chunk.len() as u64;
            w.put(chunk);
        }
        Ok(n)
    }
}
