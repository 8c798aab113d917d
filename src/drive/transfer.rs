//! Moving artifacts to and from Drive with flat memory: a multipart upload below the resumable
//! threshold, Lifeboat's own resumable uploader above it (start a session, send chunks, and after
//! any failure ask the session how much arrived and go on from there), the checksum check after
//! every upload, and downloads that resume with Range after a dropped connection.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use bytes::Bytes;
use google_drive3::hyper::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use md5::Md5;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::http::{self, Backoff, Call, Retries, Verdict};
use super::{
    ARTIFACT_TYPE, Drive, FILE_FIELDS, ROOT_FOLDER, entry_of, properties_of, subfolder_of,
};
use crate::catalog::Entry;
use crate::manifest::hex;
use crate::remote::{Progress, RemoteEntry, RemoteError, check_digest};

const PERMANENT_REDIRECT: u16 = 308;

fn io_error<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl Fn(std::io::Error) -> RemoteError + 'a {
    move |source| RemoteError::io(action, path, source)
}

/// The byte after the last one a session holds, from its `Range: bytes=0-N` header (Google's
/// real notation; `bytes 0-N` is accepted too). No header means nothing arrived.
pub fn next_offset(headers: &HeaderMap) -> u64 {
    headers
        .get("range")
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.rsplit('-').next())
        .and_then(|last| last.trim().parse::<u64>().ok())
        .map_or(0, |last| last + 1)
}

impl Drive {
    pub(super) async fn put_async(
        &self,
        entry: &Entry,
        progress: Progress<'_>,
    ) -> Result<RemoteEntry, RemoteError> {
        let manifest = &entry.manifest;
        let root = self
            .folder(ROOT_FOLDER, "root", true)
            .await?
            .ok_or_else(|| RemoteError::Protocol("no Lifeboat Backups folder".into()))?;
        let folder = self
            .folder(&subfolder_of(&manifest.source_path), &root, true)
            .await?
            .ok_or_else(|| RemoteError::Protocol("no database folder".into()))?;
        // Nothing is uploaded twice: a backup already on Drive (a queued retry of an upload whose
        // answer was lost, say) is taken as it is, once its checksum is confirmed.
        if let Some(existing) = self.uploaded(&folder, &manifest.id).await? {
            self.confirm(entry, &existing.remote_id).await?;
            return Ok(existing);
        }
        let quota = self.quota_async().await?;
        if let Some(available) = quota.available()
            && manifest.size > available
        {
            return Err(RemoteError::QuotaExceeded {
                needed: manifest.size,
                available,
            });
        }
        let metadata = json!({
            "name": manifest.artifact,
            "parents": [folder],
            "mimeType": ARTIFACT_TYPE,
            "appProperties": properties_of(manifest),
        });
        let file_id = if manifest.size < self.upload.resumable_from {
            self.multipart_once(entry, &metadata, &folder).await?
        } else {
            self.resumable(entry, &metadata, progress).await?
        };
        progress(manifest.size, manifest.size);
        self.confirm(entry, &file_id).await?;
        Ok(RemoteEntry {
            remote_id: file_id,
            manifest: manifest.clone(),
        })
    }

    /// Compares the Drive file's checksum (SHA-256, else MD5) and size with the local artifact;
    /// on a mismatch the Drive copy is deleted, so a bad copy is never mistaken for a backup.
    async fn confirm(&self, entry: &Entry, file_id: &str) -> Result<(), RemoteError> {
        let file = self
            .metadata(file_id, "id,size,sha256Checksum,md5Checksum")
            .await?;
        let manifest = &entry.manifest;
        let size = super::number(&file["size"]);
        let problem = if size != Some(manifest.size) {
            Some(format!(
                "Drive holds {} bytes, the artifact has {}",
                size.map_or("an unknown number of".into(), |size| size.to_string()),
                manifest.size
            ))
        } else if let Some(sha256) = file["sha256Checksum"].as_str() {
            (sha256 != manifest.sha256).then(|| "the SHA-256 differs".to_string())
        } else if let Some(md5) = file["md5Checksum"].as_str() {
            let local = md5_of(&entry.artifact_path)?;
            (md5 != local).then(|| "the MD5 differs".to_string())
        } else {
            Some("Drive reported no checksum".to_string())
        };
        if let Some(problem) = problem {
            if let Err(error) = self.delete_file(file_id).await {
                tracing::warn!("could not delete the mismatched Drive copy {file_id}: {error}");
            }
            return Err(RemoteError::Mismatch {
                id: manifest.id.clone(),
                problem,
            });
        }
        Ok(())
    }

    /// The Drive copy of backup `id` in `folder`, if there is one.
    async fn uploaded(&self, folder: &str, id: &str) -> Result<Option<RemoteEntry>, RemoteError> {
        let query = format!(
            "'{folder}' in parents and appProperties has {{ key='id' and value='{id}' }} and trashed = false"
        );
        Ok(self
            .search(&query, FILE_FIELDS)
            .await?
            .iter()
            .find_map(entry_of))
    }

    /// A multipart upload, retried after a dropped connection only once Drive was asked whether
    /// the file arrived anyway: a lost answer must not make a second copy.
    async fn multipart_once(
        &self,
        entry: &Entry,
        metadata: &Value,
        folder: &str,
    ) -> Result<String, RemoteError> {
        let mut backoff = Backoff::new();
        loop {
            match self.multipart(entry, metadata).await {
                Err(error @ RemoteError::Unreachable { .. }) => {
                    if let Some(arrived) = self.uploaded(folder, &entry.manifest.id).await? {
                        return Ok(arrived.remote_id);
                    }
                    let Some(pause) = backoff.next(None) else {
                        return Err(error);
                    };
                    tracing::info!("{error}; uploading again in {pause:?}");
                    tokio::time::sleep(pause).await;
                }
                other => return other,
            }
        }
    }

    /// One multipart/related request: metadata and content together (only for small artifacts,
    /// whose bytes are held in memory once).
    async fn multipart(&self, entry: &Entry, metadata: &Value) -> Result<String, RemoteError> {
        let path = &entry.artifact_path;
        let content = std::fs::read(path).map_err(io_error("cannot read", path))?;
        let boundary = format!("lifeboat-{:016x}", rand::random::<u64>());
        let mut body = Vec::with_capacity(content.len() + 1024);
        write!(
            body,
            "--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{metadata}\r\n--{boundary}\r\nContent-Type: {ARTIFACT_TYPE}\r\n\r\n"
        )
        .map_err(io_error("cannot prepare", path))?;
        body.extend_from_slice(&content);
        write!(body, "\r\n--{boundary}--\r\n").map_err(io_error("cannot prepare", path))?;
        let url = self.endpoints.api_url(
            "upload/drive/v3/files",
            &[("uploadType", "multipart"), ("fields", "id")],
        )?;
        let call = Call::new(Method::POST, url.as_str())
            .header(
                "content-type",
                format!("multipart/related; boundary={boundary}"),
            )
            .body(body)
            .unrepeatable();
        let (_, _, answer) = self
            .call(
                &format!("uploading backup {}", entry.manifest.id),
                call,
                &[],
            )
            .await?;
        file_id_of(&answer)
    }

    /// Starts a resumable session and returns its URL.
    async fn start_session(&self, entry: &Entry, metadata: &Value) -> Result<String, RemoteError> {
        let url = self.endpoints.api_url(
            "upload/drive/v3/files",
            &[("uploadType", "resumable"), ("fields", "id")],
        )?;
        let call = Call::new(Method::POST, url.as_str())
            .header("content-type", "application/json; charset=UTF-8")
            .header("x-upload-content-type", ARTIFACT_TYPE)
            .header("x-upload-content-length", entry.manifest.size.to_string())
            .body(metadata.to_string());
        let (_, headers, _) = self
            .call(
                &format!("starting the upload of backup {}", entry.manifest.id),
                call,
                &[],
            )
            .await?;
        let location = headers
            .get("location")
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| {
                RemoteError::Protocol(
                    "Google Drive started an upload without a session address".into(),
                )
            })?;
        Ok(location.to_string())
    }

    /// Sends the artifact in chunks. After a dropped connection or a retryable error it asks the
    /// session what arrived (`Content-Range: bytes */TOTAL`) and continues from the server's Range,
    /// never from where it thinks it was.
    async fn resumable(
        &self,
        entry: &Entry,
        metadata: &Value,
        progress: Progress<'_>,
    ) -> Result<String, RemoteError> {
        let path = &entry.artifact_path;
        let total = entry.manifest.size;
        let id = &entry.manifest.id;
        let what = format!("uploading backup {id}");
        let (session, offset) = match self.sessions().remove(id) {
            Some(saved) => match self.session_status(&saved, total, &what).await {
                Ok(SessionState::Complete(file_id)) => {
                    self.remember_session(id, None);
                    return Ok(file_id);
                }
                Ok(SessionState::Received(next)) => {
                    tracing::info!("{what}: continuing the earlier session at byte {next}");
                    (saved, next)
                }
                // Expired or unknown (a session lives a week): start afresh.
                Err(RemoteError::NotFound { .. } | RemoteError::Api { .. }) => {
                    (self.start_session(entry, metadata).await?, 0)
                }
                Err(error) => return Err(error),
            },
            None => (self.start_session(entry, metadata).await?, 0),
        };
        self.remember_session(id, Some(&session));
        let file_id = self
            .send_chunks(&session, path, total, offset, &what, progress)
            .await?;
        self.remember_session(id, None);
        Ok(file_id)
    }

    /// Unfinished sessions by backup id.
    fn sessions(&self) -> std::collections::BTreeMap<String, String> {
        self.upload
            .sessions_file
            .as_ref()
            .and_then(|path| std::fs::read(path).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Records (or with None forgets) the session of backup `id`. A failure to record only costs
    /// a fresh session next time, so it is logged, not raised.
    fn remember_session(&self, id: &str, session: Option<&str>) {
        let Some(path) = &self.upload.sessions_file else {
            return;
        };
        let mut sessions = self.sessions();
        match session {
            Some(url) => sessions.insert(id.to_string(), url.to_string()),
            None => sessions.remove(id),
        };
        let text = serde_json::to_vec_pretty(&sessions).unwrap_or_default();
        if let Err(error) = crate::durable::write_atomic(path, &text) {
            tracing::warn!("could not record the upload session of backup {id}: {error}");
        }
    }

    /// Sends chunks from `offset` until the session holds all `total` bytes.
    async fn send_chunks(
        &self,
        session: &str,
        path: &Path,
        total: u64,
        mut offset: u64,
        what: &str,
        progress: Progress<'_>,
    ) -> Result<String, RemoteError> {
        let mut file = std::fs::File::open(path).map_err(io_error("cannot open", path))?;
        let mut retries = Retries::new(&self.grant);
        loop {
            let length = (total - offset).min(self.upload.chunk_size) as usize;
            // One chunk in memory at a time, moved (not copied) into the request body.
            let mut chunk = vec![0u8; length];
            file.seek(SeekFrom::Start(offset))
                .map_err(io_error("cannot read", path))?;
            file.read_exact(&mut chunk)
                .map_err(io_error("cannot read", path))?;
            let call = Call::new(Method::PUT, session)
                .header(
                    "content-range",
                    format!("bytes {}-{}/{total}", offset, offset + length as u64 - 1),
                )
                .body(Bytes::from(chunk));
            let token = self.grant.access_token().await?;
            let outcome = match http::send(&self.client, &call, Some(&token)).await {
                Ok(response) => http::read_body(response).await,
                Err(error) => Err(error),
            };
            let verdict = match outcome {
                Ok((status, _, body)) if status.is_success() => return file_id_of(&body),
                Ok((status, headers, _)) if status.as_u16() == PERMANENT_REDIRECT => {
                    offset = next_offset(&headers);
                    progress(offset, total);
                    retries.made_headway();
                    continue;
                }
                Ok((status, headers, body)) => http::classify(what, status, &headers, &body),
                Err(error @ RemoteError::Unreachable { .. }) => Verdict::Retry {
                    reason: error.to_string(),
                    after: None,
                },
                Err(error) => return Err(error),
            };
            let pause = retries.next(verdict, what, "asking the session what arrived")?;
            tokio::time::sleep(pause).await;
            match self.session_status(session, total, what).await? {
                SessionState::Complete(file_id) => return Ok(file_id),
                SessionState::Received(next) => {
                    tracing::info!("{what}: resuming at byte {next} of {total}");
                    offset = next;
                }
            }
        }
    }

    async fn session_status(
        &self,
        session: &str,
        total: u64,
        what: &str,
    ) -> Result<SessionState, RemoteError> {
        let call =
            Call::new(Method::PUT, session).header("content-range", format!("bytes */{total}"));
        let permanent_redirect = StatusCode::from_u16(PERMANENT_REDIRECT)
            .map_err(|error| RemoteError::Protocol(error.to_string()))?;
        let (status, headers, body) = self.call(what, call, &[permanent_redirect]).await?;
        if status == permanent_redirect {
            return Ok(SessionState::Received(next_offset(&headers)));
        }
        Ok(SessionState::Complete(file_id_of(&body)?))
    }

    /// Streams a Drive file into `destination`, hashing on the way; a dropped connection resumes
    /// with `Range: bytes=N-`. The size and SHA-256 are checked against the manifest at the end.
    pub(super) async fn download(
        &self,
        entry: &RemoteEntry,
        destination: &Path,
        progress: Progress<'_>,
    ) -> Result<(), RemoteError> {
        let manifest = &entry.manifest;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(destination)
            .map_err(io_error("cannot create", destination))?;
        let url = self.endpoints.api_url(
            &format!("drive/v3/files/{}", entry.remote_id),
            &[("alt", "media")],
        )?;
        let what = format!("downloading backup {}", manifest.id);
        let mut hasher = Sha256::new();
        let mut done = 0u64;
        let mut retries = Retries::new(&self.grant);
        while done < manifest.size || (manifest.size == 0 && done == 0) {
            let mut call = Call::new(Method::GET, url.as_str());
            if done > 0 {
                call = call.header("range", format!("bytes={done}-"));
            }
            let token = self.grant.access_token().await?;
            let verdict = match http::send(&self.client, &call, Some(&token)).await {
                Ok(response) if response.status().is_success() => {
                    if done > 0 && response.status() != StatusCode::PARTIAL_CONTENT {
                        // The server ignored the Range and sends everything: start over.
                        file.set_len(0)
                            .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
                            .map_err(io_error("cannot rewind", destination))?;
                        hasher = Sha256::new();
                        done = 0;
                    }
                    let mut body = response.into_body();
                    let mut cut = None;
                    loop {
                        match body.frame().await {
                            None => break,
                            Some(Ok(frame)) => {
                                if let Ok(data) = frame.into_data() {
                                    hasher.update(&data);
                                    file.write_all(&data)
                                        .map_err(io_error("cannot write", destination))?;
                                    done += data.len() as u64;
                                    progress(done, manifest.size);
                                }
                            }
                            Some(Err(error)) => {
                                cut = Some(error.to_string());
                                break;
                            }
                        }
                    }
                    match cut {
                        None if done >= manifest.size => break,
                        None => Verdict::Retry {
                            reason: "the download ended early".into(),
                            after: None,
                        },
                        Some(reason) => Verdict::Retry {
                            reason: format!("the download was cut off ({reason})"),
                            after: None,
                        },
                    }
                }
                Ok(response) => {
                    let (status, headers, body) = http::read_body(response).await?;
                    http::classify(&what, status, &headers, &body)
                }
                Err(error @ RemoteError::Unreachable { .. }) => Verdict::Retry {
                    reason: error.to_string(),
                    after: None,
                },
                Err(error) => return Err(error),
            };
            let pause = retries.next(verdict, &what, &format!("resuming at byte {done}"))?;
            tokio::time::sleep(pause).await;
        }
        file.sync_all()
            .map_err(io_error("cannot sync", destination))?;
        check_digest(&manifest.id, done, &hex(&hasher.finalize()), manifest)
    }
}

enum SessionState {
    Complete(String),
    Received(u64),
}

fn file_id_of(body: &[u8]) -> Result<String, RemoteError> {
    let parsed: Value = serde_json::from_slice(body).map_err(|error| {
        RemoteError::Protocol(format!(
            "Google Drive's upload answer is unreadable: {error}"
        ))
    })?;
    parsed["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| RemoteError::Protocol("Google Drive's upload answer has no file id".into()))
}

fn md5_of(path: &Path) -> Result<String, RemoteError> {
    let mut file = std::fs::File::open(path).map_err(io_error("cannot open", path))?;
    let mut hasher = Md5::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file
            .read(&mut buffer)
            .map_err(io_error("cannot read", path))?;
        if read == 0 {
            return Ok(hex(&hasher.finalize()));
        }
        hasher.update(&buffer[..read]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_header_in_either_notation_gives_the_next_offset() {
        let mut headers = HeaderMap::new();
        assert_eq!(next_offset(&headers), 0);
        headers.insert("range", "bytes=0-262143".parse().unwrap());
        assert_eq!(next_offset(&headers), 262_144);
        headers.insert("range", "bytes 0-524287".parse().unwrap());
        assert_eq!(next_offset(&headers), 524_288);
    }
}
