//! Where Google is, and who Lifeboat is to Google: the OAuth and Drive addresses (overridable for
//! tests by LIFEBOAT_GOOGLE_* variables) and the client id and secret of a Desktop-app client.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use url::Url;

use crate::remote::RemoteError;

/// The only scope Lifeboat asks for: files it made itself, nothing else in the person's Drive.
pub const SCOPE: &str = "https://www.googleapis.com/auth/drive.file";

const AUTH_URL: &str = "https://accounts.google.com/o/oauth2/auth";
const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
const REVOKE_URL: &str = "https://oauth2.googleapis.com/revoke";
const API_URL: &str = "https://www.googleapis.com";

#[derive(Debug, Clone)]
pub struct Endpoints {
    pub auth: Url,
    pub token: Url,
    pub revoke: Url,
    /// Root of both `/drive/v3` and `/upload/drive/v3`.
    pub api: Url,
}

/// A Desktop-app OAuth client, as Google Cloud Console hands it out.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub id: String,
    pub secret: String,
    auth_uri: Option<String>,
    token_uri: Option<String>,
}

#[derive(Deserialize)]
struct SecretFile {
    installed: Option<Installed>,
    web: Option<Installed>,
}

#[derive(Deserialize)]
struct Installed {
    client_id: String,
    client_secret: String,
    auth_uri: Option<String>,
    token_uri: Option<String>,
}

impl ClientCredentials {
    /// Reads the JSON file of a Desktop-app client (`{"installed": {...}}`).
    pub fn from_file(path: &Path) -> Result<ClientCredentials, RemoteError> {
        let bad = |message: String| RemoteError::ClientSecret {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read(path).map_err(|error| bad(format!("cannot be read ({error})")))?;
        let file: SecretFile = serde_json::from_slice(&text).map_err(|error| {
            bad(format!(
                "is not a Google client secret JSON file ({error}); download it from Google Cloud Console, Credentials, your Desktop app client"
            ))
        })?;
        if file.web.is_some() && file.installed.is_none() {
            return Err(bad(
                "is for a Web application client; create an OAuth client of type Desktop app and download its JSON".into(),
            ));
        }
        let installed = file
            .installed
            .ok_or_else(|| bad("has no \"installed\" section (Desktop app client)".into()))?;
        Ok(ClientCredentials {
            id: installed.client_id,
            secret: installed.client_secret,
            auth_uri: installed.auth_uri,
            token_uri: installed.token_uri,
        })
    }

    pub fn from_values(id: String, secret: String) -> ClientCredentials {
        ClientCredentials {
            id,
            secret,
            auth_uri: None,
            token_uri: None,
        }
    }
}

impl Endpoints {
    /// Google's addresses: LIFEBOAT_GOOGLE_* variables first, then the client secret's URIs, then
    /// Google's documented defaults. Plain http is accepted for loopback addresses only, so a
    /// token can never cross a network unencrypted.
    pub fn resolve(client: Option<&ClientCredentials>) -> Result<Endpoints, RemoteError> {
        let pick = |variable: &str, from_client: Option<&String>, default: &str| {
            let text = std::env::var(variable)
                .ok()
                .filter(|value| !value.is_empty())
                .or_else(|| from_client.cloned())
                .unwrap_or_else(|| default.to_string());
            checked_url(variable, &text)
        };
        Ok(Endpoints {
            auth: pick(
                "LIFEBOAT_GOOGLE_AUTH_URL",
                client.and_then(|client| client.auth_uri.as_ref()),
                AUTH_URL,
            )?,
            token: pick(
                "LIFEBOAT_GOOGLE_TOKEN_URL",
                client.and_then(|client| client.token_uri.as_ref()),
                TOKEN_URL,
            )?,
            revoke: pick("LIFEBOAT_GOOGLE_REVOKE_URL", None, REVOKE_URL)?,
            api: pick("LIFEBOAT_GOOGLE_API_URL", None, API_URL)?,
        })
    }

    /// `path` under the API root, e.g. `drive/v3/files`.
    pub fn api_url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, RemoteError> {
        let mut base = self.api.clone();
        if !base.path().ends_with('/') {
            let with_slash = format!("{}/", base.path());
            base.set_path(&with_slash);
        }
        let mut url = base
            .join(path)
            .map_err(|error| RemoteError::Protocol(format!("bad API address {path}: {error}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }
}

fn checked_url(variable: &str, text: &str) -> Result<Url, RemoteError> {
    let bad = |message: String| RemoteError::ClientSecret {
        path: PathBuf::from(variable),
        message,
    };
    let url = Url::parse(text).map_err(|error| bad(format!("{text} is not a URL ({error})")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        _ => Err(bad(format!(
            "{text} must use https (plain http is allowed only for 127.0.0.1, ::1 and localhost)"
        ))),
    }
}

pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_refused_except_on_loopback() {
        assert!(checked_url("X", "http://127.0.0.1:8080/token").is_ok());
        assert!(checked_url("X", "http://[::1]:8080/").is_ok());
        assert!(checked_url("X", "http://localhost/").is_ok());
        assert!(checked_url("X", "https://example.com/").is_ok());
        assert!(checked_url("X", "http://example.com/").is_err());
        assert!(checked_url("X", "http://10.0.0.1/").is_err());
        assert!(checked_url("X", "ftp://127.0.0.1/").is_err());
    }

    #[test]
    fn api_paths_join_under_the_root_with_or_without_a_slash() {
        for root in ["http://127.0.0.1:9/", "http://127.0.0.1:9"] {
            let endpoints = Endpoints {
                auth: Url::parse(root).unwrap(),
                token: Url::parse(root).unwrap(),
                revoke: Url::parse(root).unwrap(),
                api: Url::parse(root).unwrap(),
            };
            let url = endpoints
                .api_url("upload/drive/v3/files", &[("uploadType", "resumable")])
                .unwrap();
            assert_eq!(
                url.as_str(),
                "http://127.0.0.1:9/upload/drive/v3/files?uploadType=resumable"
            );
        }
    }
}
