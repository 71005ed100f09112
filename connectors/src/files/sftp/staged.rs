//! What a streamed write to SFTP needs: pipelined writes, the folders made on the way,
//! handles closed even when a stream is dropped, and the hidden temporary file that is
//! renamed over the target at the end or removed.

use std::sync::Arc;

use futures_util::{future::join_all, StreamExt};
use russh_sftp::{
    client::{error::Error as SftpError, RawSftpSession},
    protocol::{FileAttributes, StatusCode},
};

use super::{Open, CHUNK, IN_FLIGHT};
use crate::{error::DriverError, files::ByteStream};

/// Writes `data` at `offset`: [`CHUNK`]-sized requests, [`IN_FLIGHT`] at a time.
pub(super) async fn write_at(
    sftp: &RawSftpSession,
    handle: &str,
    offset: u64,
    data: &[u8],
) -> Result<(), SftpError> {
    let pieces: Vec<(u64, &[u8])> = data
        .chunks(CHUNK as usize)
        .enumerate()
        .map(|(i, piece)| (offset + i as u64 * CHUNK, piece))
        .collect();
    for round in pieces.chunks(IN_FLIGHT) {
        let answers = join_all(
            round
                .iter()
                .map(|&(at, piece)| sftp.write(handle, at, piece.to_vec())),
        )
        .await;
        for a in answers {
            a?;
        }
    }
    Ok(())
}

/// Creates each folder of `dir` (ending in `/`) that is missing, parent first. Failures
/// are left to the open that follows to report.
pub(super) async fn mkdirs(sftp: &RawSftpSession, dir: &str) {
    let mut at = String::new();
    for part in dir.split_inclusive('/') {
        at.push_str(part);
        let folder = at.trim_end_matches('/');
        if folder.is_empty() || folder == "." || folder == "~" {
            continue;
        }
        if sftp.stat(folder).await.is_err() {
            let _ = sftp.mkdir(folder, FileAttributes::default()).await;
        }
    }
}

/// An open file handle, closed when dropped if it was not closed before (a stream or a
/// write dropped midway: the close is sent from a task of its own).
pub(super) struct OpenHandle {
    pub open: Arc<Open>,
    pub handle: Option<String>,
}

impl OpenHandle {
    pub async fn close(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = self.open.sftp.close(h).await;
        }
    }
}

impl Drop for OpenHandle {
    fn drop(&mut self) {
        if let (Some(h), Ok(rt)) = (self.handle.take(), tokio::runtime::Handle::try_current()) {
            let open = Arc::clone(&self.open);
            rt.spawn(async move {
                let _ = open.sftp.close(h).await;
            });
        }
    }
}

/// What stopped a streamed write.
pub(super) enum Failed {
    /// The stream of bytes to write failed: its error, as it came.
    Input(DriverError),
    Sftp(SftpError),
}

/// A temporary file being written; removed when dropped unless renamed into place.
pub(super) struct Staged {
    pub handle: OpenHandle,
    /// The temporary file's server path, until it is renamed.
    pub temp: Option<String>,
}

impl Staged {
    pub async fn fill(&mut self, mut data: ByteStream) -> Result<u64, Failed> {
        let Some(handle) = self.handle.handle.clone() else {
            return Ok(0);
        };
        let mut at = 0u64;
        while let Some(chunk) = data.next().await {
            let chunk = chunk.map_err(Failed::Input)?;
            write_at(&self.handle.open.sftp, &handle, at, &chunk)
                .await
                .map_err(Failed::Sftp)?;
            at += chunk.len() as u64;
        }
        Ok(at)
    }

    /// Flushes (where the server can), closes, and renames the file over `target`.
    pub async fn commit(&mut self, target: &str) -> Result<(), SftpError> {
        let sftp = &self.handle.open.sftp;
        if let Some(h) = self.handle.handle.take() {
            if self.handle.open.fsync {
                sftp.fsync(h.as_str()).await?;
            }
            sftp.close(h).await?;
        }
        let Some(temp) = self.temp.clone() else {
            return Ok(());
        };
        if self.handle.open.posix_rename {
            let mut data = Vec::with_capacity(temp.len() + target.len() + 8);
            for s in [temp.as_str(), target] {
                data.extend_from_slice(&(s.len() as u32).to_be_bytes());
                data.extend_from_slice(s.as_bytes());
            }
            sftp.extended("posix-rename@openssh.com", data).await?;
        } else {
            // Plain SFTP rename refuses an existing target: the old file goes first (the
            // one moment a reader can find neither).
            match sftp.remove(target).await {
                Ok(_) => {}
                Err(SftpError::Status(s)) if s.status_code == StatusCode::NoSuchFile => {}
                Err(e) => return Err(e),
            }
            sftp.rename(temp.as_str(), target).await?;
        }
        self.temp = None;
        Ok(())
    }

    /// Closes and removes the temporary file now.
    pub async fn discard(&mut self) {
        self.handle.close().await;
        if let Some(t) = self.temp.take() {
            let _ = self.handle.open.sftp.remove(t).await;
        }
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let (Some(t), Ok(rt)) = (self.temp.take(), tokio::runtime::Handle::try_current()) {
            let open = Arc::clone(&self.handle.open);
            let handle = self.handle.handle.take();
            rt.spawn(async move {
                if let Some(h) = handle {
                    let _ = open.sftp.close(h).await;
                }
                let _ = open.sftp.remove(t).await;
            });
        }
    }
}
