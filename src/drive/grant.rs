//! The grant Lifeboat holds at Google during one command: the tokens loaded from the keyring, the
//! refresh of an expired access token (Lifeboat's own form POST, because yup-oauth2's authorized-user
//! authenticator posts to a fixed Google address that LIFEBOAT_GOOGLE_TOKEN_URL cannot change), and
//! the token exchange and revocation that `connect` and `disconnect` need.
//!
//! The same grant serves Lifeboat's own requests and google-drive3's hub (through [`HubToken`]), so
//! a token refreshed by one is used by the other.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use google_drive3::common::GetToken;
use google_drive3::hyper::{Method, StatusCode};
use jiff::Timestamp;
use serde_json::Value;

use super::endpoints::{ClientCredentials, Endpoints};
use super::http::{self, Backoff, Call, Client};
use super::tokens::Tokens;
use crate::remote::RemoteError;

pub struct Grant {
    client: Client,
    endpoints: Endpoints,
    credentials: ClientCredentials,
    tokens: Mutex<Tokens>,
    /// Set when a refresh replaced the access token, so it is written back to the keyring.
    refreshed: AtomicBool,
    /// Set when Google refused the access token: the next request refreshes it first.
    stale: AtomicBool,
}

fn now_seconds() -> i64 {
    Timestamp::now().as_second()
}

impl Grant {
    pub fn new(
        client: Client,
        endpoints: Endpoints,
        credentials: ClientCredentials,
        tokens: Tokens,
    ) -> Grant {
        Grant {
            client,
            endpoints,
            credentials,
            tokens: Mutex::new(tokens),
            refreshed: AtomicBool::new(false),
            stale: AtomicBool::new(false),
        }
    }

    pub fn current(&self) -> Tokens {
        match self.tokens.lock() {
            Ok(tokens) => tokens.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// True once after a refresh: the caller then stores the new access token.
    pub fn take_refreshed(&self) -> bool {
        self.refreshed.swap(false, Ordering::SeqCst)
    }

    /// Google refused the access token: refresh before the next request.
    pub fn mark_stale(&self) {
        self.stale.store(true, Ordering::SeqCst);
    }

    /// A valid access token, refreshed first when it has expired or was refused.
    pub async fn access_token(&self) -> Result<String, RemoteError> {
        let tokens = self.current();
        let stale = self.stale.swap(false, Ordering::SeqCst);
        if !stale && tokens.expires_at > now_seconds() + 60 {
            return Ok(tokens.access_token);
        }
        let form = form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &tokens.refresh_token),
            ("client_id", &self.credentials.id),
            ("client_secret", &self.credentials.secret),
        ]);
        let granted = token_request(&self.client, &self.endpoints, form).await?;
        if let Ok(mut stored) = self.tokens.lock() {
            stored.access_token = granted.access.clone();
            stored.expires_at = granted.expires_at;
        }
        self.refreshed.store(true, Ordering::SeqCst);
        tracing::info!("Google Drive access token refreshed");
        Ok(granted.access)
    }

    pub async fn revoke(&self) -> Result<(), RemoteError> {
        revoke(&self.client, &self.endpoints, &self.current().refresh_token).await
    }
}

/// google-drive3's view of the grant.
#[derive(Clone)]
pub struct HubToken(pub Arc<Grant>);

impl GetToken for HubToken {
    fn get_token<'a>(
        &'a self,
        _scopes: &'a [&str],
    ) -> std::pin::Pin<
        Box<
            dyn Future<Output = Result<Option<String>, Box<dyn std::error::Error + Send + Sync>>>
                + Send
                + 'a,
        >,
    > {
        Box::pin(async move {
            self.0
                .access_token()
                .await
                .map(Some)
                .map_err(|error| Box::new(error) as Box<dyn std::error::Error + Send + Sync>)
        })
    }
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

pub struct Granted {
    pub access: String,
    pub refresh: Option<String>,
    pub expires_at: i64,
    /// The scopes granted, space-separated (a person may untick some on the consent page).
    pub scope: Option<String>,
}

/// POSTs to the token endpoint; `invalid_grant` means the person (or Google, after 7 days for an
/// app in testing mode) withdrew the grant.
pub async fn token_request(
    client: &Client,
    endpoints: &Endpoints,
    form: String,
) -> Result<Granted, RemoteError> {
    let call = Call::new(Method::POST, endpoints.token.as_str())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form);
    let mut backoff = Backoff::new();
    loop {
        let outcome = match http::send(client, &call, None).await {
            Ok(response) => http::read_body(response).await,
            Err(error) => Err(error),
        };
        let (status, headers, body) = match outcome {
            Ok(answer) => answer,
            Err(error) => match backoff.next(None) {
                Some(pause) => {
                    tokio::time::sleep(pause).await;
                    continue;
                }
                None => return Err(error),
            },
        };
        let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if status.is_success() {
            let access = parsed["access_token"].as_str().ok_or_else(|| {
                RemoteError::Protocol("Google's token answer has no access token".into())
            })?;
            return Ok(Granted {
                access: access.to_string(),
                refresh: parsed["refresh_token"].as_str().map(str::to_string),
                expires_at: now_seconds() + parsed["expires_in"].as_i64().unwrap_or(3600),
                scope: parsed["scope"].as_str().map(str::to_string),
            });
        }
        if parsed["error"].as_str() == Some("invalid_grant") {
            return Err(RemoteError::AccessRevoked);
        }
        if (status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS)
            && let Some(pause) = backoff.next(
                headers
                    .get("retry-after")
                    .and_then(|value| value.to_str().ok()?.parse().ok())
                    .map(Duration::from_secs),
            )
        {
            tokio::time::sleep(pause).await;
            continue;
        }
        return Err(RemoteError::Api {
            what: "Google's token endpoint".into(),
            status: status.as_u16(),
            message: parsed["error_description"]
                .as_str()
                .or_else(|| parsed["error"].as_str())
                .unwrap_or("no reason given")
                .to_string(),
        });
    }
}

pub async fn revoke(
    client: &Client,
    endpoints: &Endpoints,
    token: &str,
) -> Result<(), RemoteError> {
    let call = Call::new(Method::POST, endpoints.revoke.as_str())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("token", token)]));
    let (status, _, body) = http::read_body(http::send(client, &call, None).await?).await?;
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    // A token that is already invalid is as revoked as it gets.
    if status.is_success() || parsed["error"].as_str() == Some("invalid_token") {
        return Ok(());
    }
    Err(RemoteError::Api {
        what: "Google's revoke endpoint".into(),
        status: status.as_u16(),
        message: String::from_utf8_lossy(&body).chars().take(200).collect(),
    })
}
