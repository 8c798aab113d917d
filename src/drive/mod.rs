//! Google Drive as a remote: the grant (consent, refresh, revoke), the "Lifeboat Backups" folder
//! with one subfolder per protected database, and the [`Remote`] operations over Drive v3's REST
//! interface.
//!
//! Metadata calls (files.list, files.get, files.delete, about.get) go through google-drive3's hub;
//! folder creation (the hub has no metadata-only create), uploads and downloads are Lifeboat's own
//! requests (see [`transfer`]), because google-apis-common's resumable helper skips chunks after an
//! error and never resumes. Both share one retry policy (5xx, 429 and rate-limit 403s retried with
//! backoff; a refused access token refreshed once; `invalid_grant` on refresh becomes
//! [`RemoteError::AccessRevoked`]) and one [`grant::Grant`]. The access token changes only in memory
//! during a command and is written back to the keyring afterwards, so the keyring is never touched
//! from inside the async runtime.

pub mod consent;
pub mod endpoints;
mod grant;
pub mod http;
mod hub;
pub mod tokens;
mod transfer;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use google_drive3::api::Scope;
use google_drive3::hyper::{HeaderMap, Method, StatusCode};
use serde_json::{Value, json};

use crate::catalog::Entry;
use crate::manifest::{self, Kind, Manifest};
use crate::remote::{Progress, Quota, Remote, RemoteEntry, RemoteError, newest_first};
use endpoints::{ClientCredentials, Endpoints};
use grant::{Grant, form, token_request};
use http::{Call, Client, Retries, Verdict};
use hub::{Hub, Policy};
use tokens::{Keyring, Tokens};

/// The folder every Lifeboat upload lives under, in the root of the person's Drive.
pub const ROOT_FOLDER: &str = "Lifeboat Backups";
const FOLDER_TYPE: &str = "application/vnd.google-apps.folder";
const ARTIFACT_TYPE: &str = "application/zstd";
/// Fields Lifeboat reads of an artifact on Drive.
const FILE_FIELDS: &str = "id,name,size,sha256Checksum,md5Checksum,appProperties";

/// The account Lifeboat is connected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub email: String,
    pub quota: Quota,
}

/// How uploads are cut; the defaults are the (multipart under 5 MB, 8 MiB chunks).
#[derive(Debug, Clone)]
pub struct UploadSettings {
    pub resumable_from: u64,
    /// A multiple of 256 KiB, as Drive requires of every chunk but the last.
    pub chunk_size: u64,
    /// Where unfinished resumable sessions are remembered, so that the next run (after the
    /// process was stopped, say) continues a session instead of sending everything again.
    pub sessions_file: Option<std::path::PathBuf>,
}

impl Default for UploadSettings {
    fn default() -> UploadSettings {
        UploadSettings {
            resumable_from: 5 * 1000 * 1000,
            chunk_size: 8 * 1024 * 1024,
            sessions_file: None,
        }
    }
}

pub struct Drive {
    runtime: tokio::runtime::Runtime,
    client: Client,
    hub: Hub,
    endpoints: Endpoints,
    keyring: Keyring,
    grant: Arc<Grant>,
    /// The subfolder listed, or None for every database's.
    database: Option<String>,
    upload: UploadSettings,
}

fn runtime() -> Result<tokio::runtime::Runtime, RemoteError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            RemoteError::Protocol(format!("cannot start the network runtime: {error}"))
        })
}

/// Drive's query language quotes with ' and escapes with \.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The subfolder of a database on Drive: its file name, so a new machine with the same database
/// file finds its backups.
pub fn subfolder_of(database_path: &str) -> String {
    Path::new(database_path)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "database".to_string())
}

impl Drive {
    /// Connects to the grant stored for `home_key`; NotConnected when there is none.
    pub fn open(
        home_key: &str,
        credentials: ClientCredentials,
        database: Option<String>,
        upload: UploadSettings,
    ) -> Result<Drive, RemoteError> {
        let keyring = Keyring::for_home(home_key);
        let tokens = keyring.load()?.ok_or(RemoteError::NotConnected)?;
        Drive::assemble(keyring, credentials, tokens, database, upload)
    }

    fn assemble(
        keyring: Keyring,
        credentials: ClientCredentials,
        tokens: Tokens,
        database: Option<String>,
        upload: UploadSettings,
    ) -> Result<Drive, RemoteError> {
        let endpoints = Endpoints::resolve(Some(&credentials))?;
        let client = http::client()?;
        let grant = Arc::new(Grant::new(
            client.clone(),
            endpoints.clone(),
            credentials,
            tokens,
        ));
        Ok(Drive {
            runtime: runtime()?,
            hub: hub::hub(&endpoints, grant.clone())?,
            client,
            endpoints,
            keyring,
            grant,
            database,
            upload,
        })
    }

    /// Runs consent in the browser, stores the grant in the keyring and returns the account.
    pub fn connect(
        home_key: &str,
        credentials: ClientCredentials,
        tell: &dyn Fn(&str),
    ) -> Result<Account, RemoteError> {
        let keyring = Keyring::for_home(home_key);
        // Fail before the browser opens if the grant would have nowhere to go.
        keyring.probe()?;
        let endpoints = Endpoints::resolve(Some(&credentials))?;
        let client = http::client()?;
        let runtime = runtime()?;
        let answer = consent::obtain_code(&endpoints, &credentials, tell)?;
        let form = form(&[
            ("grant_type", "authorization_code"),
            ("code", &answer.code),
            ("code_verifier", &answer.verifier),
            ("redirect_uri", &answer.redirect_uri),
            ("client_id", &credentials.id),
            ("client_secret", &credentials.secret),
        ]);
        let granted = runtime.block_on(token_request(&client, &endpoints, form))?;
        let refresh_token = granted
            .refresh
            .ok_or_else(|| RemoteError::Consent("Google gave no refresh token; remove Lifeboat's access at myaccount.google.com/permissions and connect again".into()))?;
        if let Some(scope) = &granted.scope
            && !scope
                .split_whitespace()
                .any(|granted| granted == endpoints::SCOPE)
        {
            let _ = runtime.block_on(grant::revoke(&client, &endpoints, &refresh_token));
            return Err(RemoteError::Consent(
                "Google Drive access was not granted on the consent page; run `lifeboat drive connect` again and allow Lifeboat to see the files it makes".into(),
            ));
        }
        let tokens = Tokens {
            refresh_token,
            access_token: granted.access,
            expires_at: granted.expires_at,
        };
        // A grant from an earlier connect is replaced, and revoked so that it does not linger at
        // Google unused.
        let earlier = keyring.load().ok().flatten();
        if let Err(error) = keyring.save(&tokens) {
            // Never keep a grant that Lifeboat cannot hold safely.
            let _ = runtime.block_on(grant::revoke(&client, &endpoints, &tokens.refresh_token));
            return Err(error);
        }
        if let Some(earlier) = earlier
            && earlier.refresh_token != tokens.refresh_token
            && let Err(error) =
                runtime.block_on(grant::revoke(&client, &endpoints, &earlier.refresh_token))
        {
            tracing::warn!("could not revoke the earlier Google Drive grant: {error}");
        }
        Drive::assemble(
            keyring,
            credentials,
            tokens,
            None,
            UploadSettings::default(),
        )?
        .account()
    }

    /// Revokes the grant at Google and removes it from the keyring. The keyring entry goes even
    /// when Google cannot be reached, and then the error says so.
    pub fn disconnect(self) -> Result<(), RemoteError> {
        let revoked = self.runtime.block_on(self.grant.revoke());
        self.keyring.delete()?;
        revoked
    }

    /// The account's address and quota.
    pub fn account(&self) -> Result<Account, RemoteError> {
        let about = self.run(self.about("user(emailAddress),storageQuota(limit,usage)"))?;
        Ok(Account {
            email: about["user"]["emailAddress"]
                .as_str()
                .unwrap_or("unknown")
                .to_string(),
            quota: quota_of(&about),
        })
    }

    /// Runs `future` to completion, then writes a refreshed access token back to the keyring.
    fn run<T>(
        &self,
        future: impl Future<Output = Result<T, RemoteError>>,
    ) -> Result<T, RemoteError> {
        let result = self.runtime.block_on(future);
        if self.grant.take_refreshed()
            && let Err(error) = self.keyring.save(&self.grant.current())
        {
            tracing::warn!("could not store the refreshed access token: {error}");
        }
        result
    }

    /// about.get through the hub, as JSON.
    async fn about(&self, fields: &str) -> Result<Value, RemoteError> {
        let mut policy = Policy::new("Google Drive's account information", &self.grant);
        let result = self
            .hub
            .about()
            .get()
            .param("fields", fields)
            .add_scope(Scope::File)
            .delegate(&mut policy)
            .doit()
            .await;
        let (_, about) = policy.finish(result)?;
        serde_json::to_value(about).map_err(|error| RemoteError::Protocol(error.to_string()))
    }

    /// files.get (metadata) through the hub, as JSON.
    async fn metadata(&self, file_id: &str, fields: &str) -> Result<Value, RemoteError> {
        let mut policy = Policy::new(format!("Google Drive file {file_id}"), &self.grant);
        let result = self
            .hub
            .files()
            .get(file_id)
            .param("fields", fields)
            .add_scope(Scope::File)
            .delegate(&mut policy)
            .doit()
            .await;
        let (_, file) = policy.finish(result)?;
        serde_json::to_value(file).map_err(|error| RemoteError::Protocol(error.to_string()))
    }

    /// Sends `call` with the retry policy; returns the successful status, headers and body.
    /// `accept` lets a caller take a non-2xx status as an answer (308 for uploads).
    async fn call(
        &self,
        what: &str,
        call: Call,
        accept: &[StatusCode],
    ) -> Result<(StatusCode, HeaderMap, Bytes), RemoteError> {
        let mut retries = Retries::new(&self.grant);
        loop {
            let token = self.grant.access_token().await?;
            let outcome = match http::send(&self.client, &call, Some(&token)).await {
                Ok(response) => http::read_body(response).await,
                Err(error) => Err(error),
            };
            let verdict = match outcome {
                Ok((status, headers, body)) => {
                    if status.is_success() || accept.contains(&status) {
                        return Ok((status, headers, body));
                    }
                    http::classify(what, status, &headers, &body)
                }
                Err(error @ RemoteError::Unreachable { .. }) if call.repeatable => Verdict::Retry {
                    reason: error.to_string(),
                    after: None,
                },
                Err(error) => Verdict::Fail(error),
            };
            let pause = retries.next(verdict, what, "trying again")?;
            tokio::time::sleep(pause).await;
        }
    }

    /// A JSON call: optional JSON body, JSON answer.
    async fn json(
        &self,
        what: &str,
        method: Method,
        url: url::Url,
        body: Option<Value>,
    ) -> Result<Value, RemoteError> {
        let mut call = Call::new(method, url.as_str());
        if let Some(body) = body {
            call = call
                .header("content-type", "application/json; charset=UTF-8")
                .body(body.to_string());
        }
        let (_, _, bytes) = self.call(what, call, &[]).await?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes)
            .map_err(|error| RemoteError::Protocol(format!("{what} sent unreadable JSON: {error}")))
    }

    /// Every file matching `query`, following nextPageToken (files.list through the hub).
    async fn search(&self, query: &str, fields: &str) -> Result<Vec<Value>, RemoteError> {
        let mut found = Vec::new();
        let mut page: Option<String> = None;
        let fields = format!("nextPageToken,files({fields})");
        loop {
            let mut policy = Policy::new("Google Drive's file list", &self.grant);
            let mut call = self
                .hub
                .files()
                .list()
                .q(query)
                .spaces("drive")
                .page_size(1000)
                .param("fields", &fields)
                .add_scope(Scope::File);
            if let Some(token) = &page {
                call = call.page_token(token);
            }
            let result = call.delegate(&mut policy).doit().await;
            let (_, list) = policy.finish(result)?;
            for file in list.files.unwrap_or_default() {
                found.push(
                    serde_json::to_value(file)
                        .map_err(|error| RemoteError::Protocol(error.to_string()))?,
                );
            }
            match list.next_page_token {
                Some(next) if !next.is_empty() => page = Some(next),
                _ => return Ok(found),
            }
        }
    }

    /// The id of folder `name` under `parent`, created when `create` is set and it is missing.
    async fn folder(
        &self,
        name: &str,
        parent: &str,
        create: bool,
    ) -> Result<Option<String>, RemoteError> {
        let query = format!(
            "name = {} and mimeType = '{FOLDER_TYPE}' and {} in parents and trashed = false",
            quoted(name),
            quoted(parent)
        );
        let found = self.search(&query, "id,name").await?;
        if let Some(id) = found.first().and_then(|file| file["id"].as_str()) {
            return Ok(Some(id.to_string()));
        }
        if !create {
            return Ok(None);
        }
        let url = self
            .endpoints
            .api_url("drive/v3/files", &[("fields", "id")])?;
        let created = self
            .json(
                &format!("creating folder {name} on Google Drive"),
                Method::POST,
                url,
                Some(json!({"name": name, "mimeType": FOLDER_TYPE, "parents": [parent]})),
            )
            .await?;
        created["id"]
            .as_str()
            .map(|id| Some(id.to_string()))
            .ok_or_else(|| {
                RemoteError::Protocol("Google Drive created a folder without an id".into())
            })
    }

    /// The database subfolders to list.
    async fn listed_folders(&self) -> Result<Vec<String>, RemoteError> {
        let Some(root) = self.folder(ROOT_FOLDER, "root", false).await? else {
            return Ok(Vec::new());
        };
        match &self.database {
            Some(name) => Ok(self.folder(name, &root, false).await?.into_iter().collect()),
            None => {
                let query = format!(
                    "mimeType = '{FOLDER_TYPE}' and {} in parents and trashed = false",
                    quoted(&root)
                );
                Ok(self
                    .search(&query, "id")
                    .await?
                    .iter()
                    .filter_map(|file| file["id"].as_str().map(str::to_string))
                    .collect())
            }
        }
    }

    async fn list_async(&self) -> Result<Vec<RemoteEntry>, RemoteError> {
        let mut entries = Vec::new();
        for folder in self.listed_folders().await? {
            let query = format!("{} in parents and trashed = false", quoted(&folder));
            for file in self.search(&query, FILE_FIELDS).await? {
                if let Some(entry) = entry_of(&file) {
                    entries.push(entry);
                }
            }
        }
        newest_first(&mut entries);
        Ok(entries)
    }

    async fn delete_file(&self, file_id: &str) -> Result<(), RemoteError> {
        let mut policy = Policy::new(format!("Google Drive file {file_id}"), &self.grant);
        let result = self
            .hub
            .files()
            .delete(file_id)
            .add_scope(Scope::File)
            .delegate(&mut policy)
            .doit()
            .await;
        policy.finish(result).map(|_| ())
    }

    async fn quota_async(&self) -> Result<Quota, RemoteError> {
        Ok(quota_of(&self.about("storageQuota(limit,usage)").await?))
    }
}

impl Remote for Drive {
    fn name(&self) -> String {
        "Google Drive".into()
    }

    fn list(&self) -> Result<Vec<RemoteEntry>, RemoteError> {
        self.run(self.list_async())
    }

    fn put(&self, entry: &Entry, progress: Progress) -> Result<RemoteEntry, RemoteError> {
        self.run(self.put_async(entry, progress))
    }

    fn get(
        &self,
        entry: &RemoteEntry,
        destination: &Path,
        progress: Progress,
    ) -> Result<(), RemoteError> {
        self.run(self.download(entry, destination, progress))
    }

    fn delete(&self, entry: &RemoteEntry) -> Result<(), RemoteError> {
        self.run(self.delete_file(&entry.remote_id))
    }

    fn quota(&self) -> Result<Quota, RemoteError> {
        self.run(self.quota_async())
    }
}

fn number(value: &Value) -> Option<u64> {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .or_else(|| value.as_u64())
}

fn quota_of(about: &Value) -> Quota {
    Quota {
        used: number(&about["storageQuota"]["usage"]).unwrap_or(0),
        // An account without a limit (some Workspace plans) has no `limit` field.
        total: number(&about["storageQuota"]["limit"]),
    }
}

/// The appProperties that carry a manifest. Drive allows 124 bytes per key and value, so the
/// source path is reduced to its file name.
pub fn properties_of(manifest: &Manifest) -> HashMap<&'static str, String> {
    HashMap::from([
        ("lifeboat_format", manifest.format.to_string()),
        ("id", manifest.id.clone()),
        ("created_at", manifest.created_at.to_string()),
        ("kind", manifest.kind.name().to_string()),
        ("size", manifest.size.to_string()),
        ("sha256", manifest.sha256.clone()),
        ("db_size", manifest.db_size.to_string()),
        ("db_sha256", manifest.db_sha256.clone()),
        ("page_size", manifest.page_size.to_string()),
        ("page_count", manifest.page_count.to_string()),
        ("user_version", manifest.user_version.to_string()),
        ("schema_sha256", manifest.schema_sha256.clone()),
        ("source", subfolder_of(&manifest.source_path)),
        ("lifeboat_version", manifest.lifeboat_version.clone()),
    ])
}

/// Reads a manifest back from a Drive file's appProperties; None for files that are not
/// Lifeboat backups.
pub fn entry_of(file: &Value) -> Option<RemoteEntry> {
    let properties = &file["appProperties"];
    let text = |key: &str| properties[key].as_str().map(str::to_string);
    let id = text("id")?;
    let kind = match properties["kind"].as_str()? {
        "manual" => Kind::Manual,
        "scheduled" => Kind::Scheduled,
        "safety" => Kind::Safety,
        _ => return None,
    };
    let manifest = Manifest {
        format: parsed(properties, "lifeboat_format")?,
        artifact: Manifest::artifact_name(&id),
        created_at: text("created_at")?.parse().ok()?,
        kind,
        size: parsed(properties, "size")?,
        sha256: text("sha256")?,
        db_size: parsed(properties, "db_size")?,
        db_sha256: text("db_sha256")?,
        page_size: parsed(properties, "page_size")?,
        page_count: parsed(properties, "page_count")?,
        user_version: parsed(properties, "user_version")?,
        schema_sha256: text("schema_sha256")?,
        source_path: text("source").unwrap_or_default(),
        lifeboat_version: text("lifeboat_version").unwrap_or_default(),
        id,
    };
    if manifest.format > manifest::FORMAT || manifest.id.contains(['/', '\\']) {
        return None;
    }
    Some(RemoteEntry {
        remote_id: file["id"].as_str()?.to_string(),
        manifest,
    })
}

fn parsed<T: std::str::FromStr>(properties: &Value, key: &str) -> Option<T> {
    properties[key]
        .as_str()
        .and_then(|value| value.parse().ok())
}
