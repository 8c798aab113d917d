//! Talking to Google over HTTP: one client (hyper with rustls, as google-drive3 builds it), the
//! retry policy (exponential backoff with jitter, honouring Retry-After, bounded), and reading
//! Google's error bodies into [`RemoteError`]s a person can act on.

use std::time::Duration;

use bytes::Bytes;
use google_drive3::hyper::{self, HeaderMap, Method, Request, Response, StatusCode};
use google_drive3::hyper_rustls::{self, HttpsConnector};
use google_drive3::hyper_util::client::legacy::{Client as Legacy, connect::HttpConnector};
use google_drive3::hyper_util::rt::TokioExecutor;
use http_body_util::{BodyExt, Full};
use serde_json::Value;

use crate::drive::grant::Grant;
use crate::remote::RemoteError;

pub type Client = Legacy<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// How long one request may take before it counts as a dropped connection.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The TLS connector both Lifeboat's own requests and google-drive3's hub go through. Plain http
/// is allowed here only because the endpoints refuse it for anything but loopback addresses.
pub fn connector() -> Result<HttpsConnector<HttpConnector>, RemoteError> {
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|error| RemoteError::Protocol(format!("no TLS root certificates: {error}")))?
        .https_or_http()
        .enable_http1()
        .build())
}

pub fn client() -> Result<Client, RemoteError> {
    Ok(Legacy::builder(TokioExecutor::new()).build(connector()?))
}

/// A request that can be sent again (the body is cheap to clone).
#[derive(Clone)]
pub struct Call {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
    /// False for a request that may have taken effect even though its answer was lost (a
    /// multipart upload creates a file): a dropped connection is then not retried blindly.
    pub repeatable: bool,
}

impl Call {
    pub fn new(method: Method, url: impl Into<String>) -> Call {
        Call {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Bytes::new(),
            repeatable: true,
        }
    }

    pub fn unrepeatable(mut self) -> Call {
        self.repeatable = false;
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Call {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Bytes>) -> Call {
        self.body = body.into();
        self
    }
}

/// Sends once, returning the response head and a body to read; a transport failure (refused,
/// reset, timed out) is an `Unreachable` error.
pub async fn send(
    client: &Client,
    call: &Call,
    bearer: Option<&str>,
) -> Result<Response<hyper::body::Incoming>, RemoteError> {
    let mut builder = Request::builder()
        .method(call.method.clone())
        .uri(&call.url)
        .header(
            "user-agent",
            concat!("lifeboat/", env!("CARGO_PKG_VERSION")),
        );
    for (name, value) in &call.headers {
        builder = builder.header(*name, value);
    }
    if let Some(token) = bearer {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let request = builder
        .body(Full::new(call.body.clone()))
        .map_err(|error| RemoteError::Protocol(format!("cannot build a request: {error}")))?;
    let what = host_of(&call.url);
    match tokio::time::timeout(REQUEST_TIMEOUT, client.request(request)).await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(error)) => Err(RemoteError::Unreachable {
            what,
            message: describe_transport(&error),
        }),
        Err(_) => Err(RemoteError::Unreachable {
            what,
            message: "no answer in time".into(),
        }),
    }
}

/// Reads a whole (small) body.
pub async fn read_body(
    response: Response<hyper::body::Incoming>,
) -> Result<(StatusCode, HeaderMap, Bytes), RemoteError> {
    let (parts, body) = response.into_parts();
    let bytes = match tokio::time::timeout(REQUEST_TIMEOUT, body.collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) => {
            return Err(RemoteError::Unreachable {
                what: "Google".into(),
                message: format!("the answer was cut off ({error})"),
            });
        }
        Err(_) => {
            return Err(RemoteError::Unreachable {
                what: "Google".into(),
                message: "the answer stopped arriving".into(),
            });
        }
    };
    Ok((parts.status, parts.headers, bytes))
}

fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_string))
        .unwrap_or_else(|| "Google".into())
}

fn describe_transport(error: &google_drive3::hyper_util::client::legacy::Error) -> String {
    use std::error::Error as _;
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    message
}

/// What to do about a response that was not a success.
#[derive(Debug)]
pub enum Verdict {
    /// Try again after a pause (at least the server's Retry-After, when it sent one).
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// The access token was refused: refresh it and try again.
    Refresh,
    Fail(RemoteError),
}

/// Reads Google's error body (`{"error": {"code", "message", "errors": [{"reason"}]}}`).
pub fn classify(what: &str, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Verdict {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let reason = parsed["error"]["errors"][0]["reason"]
        .as_str()
        .or_else(|| parsed["error"]["status"].as_str())
        .unwrap_or("")
        .to_string();
    let message = parsed["error"]["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect());
    let after = headers
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let code = status.as_u16();
    match (code, reason.as_str()) {
        (401, _) => Verdict::Refresh,
        (403, "rateLimitExceeded" | "userRateLimitExceeded") | (429, _) | (500..=599, _) => {
            Verdict::Retry {
                reason: if reason.is_empty() {
                    format!("HTTP {code}")
                } else {
                    reason
                },
                after,
            }
        }
        (403, "storageQuotaExceeded" | "quotaExceeded") => {
            Verdict::Fail(RemoteError::LimitExceeded {
                reason,
                sentence: "your Google Drive storage is full; free some space or buy more, and the upload will be retried with the next backup".into(),
            })
        }
        (403, "dailyLimitExceeded" | "uploadLimitExceeded" | "dailyLimitExceededUnreg") => {
            Verdict::Fail(RemoteError::LimitExceeded {
                reason,
                sentence: "Google's daily upload limit for this account is used up; the upload will be retried with the next backup tomorrow".into(),
            })
        }
        (404 | 410, _) => Verdict::Fail(RemoteError::NotFound {
            what: what.to_string(),
        }),
        _ => Verdict::Fail(RemoteError::Api {
            what: what.to_string(),
            status: code,
            message: if reason.is_empty() {
                message
            } else {
                format!("{message} ({reason})")
            },
        }),
    }
}

/// The retry budget of one call: a bounded backoff for failures that may pass, and one refresh of
/// the access token. Every call to Google decides what to do after a failed attempt through it.
pub struct Retries<'a> {
    grant: &'a Grant,
    backoff: Backoff,
    refreshed: bool,
}

impl<'a> Retries<'a> {
    pub fn new(grant: &'a Grant) -> Retries<'a> {
        Retries {
            grant,
            backoff: Backoff::new(),
            refreshed: false,
        }
    }

    /// After a failed attempt: how long to wait before the next one (nothing after the token was
    /// marked for refresh), or the error to stop with when no try is left. `what` and `then` say
    /// in the log what failed and what happens after the pause.
    pub fn next(
        &mut self,
        verdict: Verdict,
        what: &str,
        then: &str,
    ) -> Result<Duration, RemoteError> {
        match verdict {
            Verdict::Refresh if !self.refreshed => {
                self.refreshed = true;
                self.grant.mark_stale();
                Ok(Duration::ZERO)
            }
            Verdict::Refresh => Err(RemoteError::AccessRevoked),
            Verdict::Retry { reason, after } => match self.backoff.next(after) {
                Some(pause) => {
                    tracing::info!("{what}: {reason}; {then} in {pause:?}");
                    Ok(pause)
                }
                None => Err(RemoteError::Throttled {
                    reason,
                    attempts: self.backoff.attempts() + 1,
                }),
            },
            Verdict::Fail(error) => Err(error),
        }
    }

    /// The call made headway (a resumable upload's chunk arrived): its tries start again, since
    /// they are for an attempt that gets nowhere, not for the whole transfer.
    pub fn made_headway(&mut self) {
        self.backoff = Backoff::new();
    }
}

/// Bounded exponential backoff with jitter.
#[derive(Debug, Clone)]
pub struct Backoff {
    attempt: u32,
    max_attempts: u32,
    base: Duration,
}

impl Backoff {
    /// The base delay is 1 s (LIFEBOAT_DRIVE_BACKOFF_MS changes it, for tests); six tries.
    pub fn new() -> Backoff {
        let base_ms = std::env::var("LIFEBOAT_DRIVE_BACKOFF_MS")
            .ok()
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or(1000);
        Backoff {
            attempt: 0,
            max_attempts: 6,
            base: Duration::from_millis(base_ms),
        }
    }

    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// The pause before the next try, or None when the tries are used up. A server's Retry-After
    /// is a floor: Lifeboat never comes back sooner than it was asked to.
    pub fn next(&mut self, retry_after: Option<Duration>) -> Option<Duration> {
        if self.attempt + 1 >= self.max_attempts {
            return None;
        }
        let exponential = self
            .base
            .saturating_mul(1u32 << self.attempt.min(5))
            .min(Duration::from_secs(64));
        self.attempt += 1;
        let jitter_ms = rand::random_range(0..=self.base.as_millis().max(1) as u64 / 2);
        let delay = exponential + Duration::from_millis(jitter_ms);
        Some(retry_after.map_or(delay, |floor| floor.max(delay)))
    }
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(retry_after: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = retry_after {
            headers.insert("retry-after", value.parse().unwrap());
        }
        headers
    }

    fn body(code: u16, reason: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"error": {"code": code, "message": "m",
            "errors": [{"reason": reason, "domain": "usageLimits", "message": "m"}]}}))
        .unwrap()
    }

    #[test]
    fn rate_limits_and_server_errors_are_retried_quota_is_not() {
        let retry = |code: u16, reason: &str| {
            matches!(
                classify(
                    "x",
                    StatusCode::from_u16(code).unwrap(),
                    &headers(None),
                    &body(code, reason)
                ),
                Verdict::Retry { .. }
            )
        };
        assert!(retry(403, "rateLimitExceeded"));
        assert!(retry(403, "userRateLimitExceeded"));
        assert!(retry(429, "rateLimitExceeded"));
        assert!(retry(503, "backendError"));
        assert!(retry(500, ""));
        assert!(!retry(403, "storageQuotaExceeded"));
        assert!(!retry(403, "dailyLimitExceeded"));
        assert!(!retry(400, "badRequest"));
    }

    #[test]
    fn retry_after_is_read_and_is_a_floor() {
        let verdict = classify(
            "x",
            StatusCode::TOO_MANY_REQUESTS,
            &headers(Some("7")),
            b"{}",
        );
        let Verdict::Retry { after, .. } = verdict else {
            panic!("429 must be retried");
        };
        assert_eq!(after, Some(Duration::from_secs(7)));
        let mut backoff = Backoff {
            attempt: 0,
            max_attempts: 3,
            base: Duration::from_millis(10),
        };
        assert!(backoff.next(after).unwrap() >= Duration::from_secs(7));
        assert!(backoff.next(None).unwrap() < Duration::from_secs(1));
        assert_eq!(backoff.next(None), None, "bounded");
    }

    #[test]
    fn expired_token_asks_for_a_refresh() {
        assert!(matches!(
            classify(
                "x",
                StatusCode::UNAUTHORIZED,
                &headers(None),
                &body(401, "authError")
            ),
            Verdict::Refresh
        ));
    }
}
