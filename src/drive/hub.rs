//! google-drive3's hub for Drive's metadata calls (files.list, files.get, files.delete, about.get),
//! with Lifeboat's retry policy plugged in as the hub's [`Delegate`]: the hub asks the delegate
//! after every failed request whether to try again, and fetches a token before every try, so
//! backoff, Retry-After and the refresh of a refused token behave as in Lifeboat's own requests.

use std::sync::Arc;

use google_drive3::DriveHub;
use google_drive3::common::{self, Delegate, Retry};
use google_drive3::hyper_rustls::HttpsConnector;
use google_drive3::hyper_util::client::legacy::{Client as Legacy, connect::HttpConnector};
use google_drive3::hyper_util::rt::TokioExecutor;

use super::endpoints::Endpoints;
use super::grant::{Grant, HubToken};
use super::http::{self, Retries, Verdict};
use crate::remote::RemoteError;

pub type Hub = DriveHub<HttpsConnector<HttpConnector>>;

pub fn hub(endpoints: &Endpoints, grant: Arc<Grant>) -> Result<Hub, RemoteError> {
    let client = Legacy::builder(TokioExecutor::new()).build(http::connector()?);
    let mut hub = DriveHub::new(client, HubToken(grant));
    // The hub wants both with a trailing slash.
    hub.root_url(endpoints.api_url("", &[])?.to_string());
    hub.base_url(endpoints.api_url("drive/v3/", &[])?.to_string());
    Ok(hub)
}

/// One call's retry state, handed to the hub as its delegate.
pub struct Policy<'a> {
    what: String,
    retries: Retries<'a>,
    failure: Option<RemoteError>,
}

impl<'a> Policy<'a> {
    pub fn new(what: impl Into<String>, grant: &'a Grant) -> Policy<'a> {
        Policy {
            what: what.into(),
            retries: Retries::new(grant),
            failure: None,
        }
    }

    fn decide(&mut self, verdict: Verdict) -> Retry {
        match self.retries.next(verdict, &self.what, "trying again") {
            Ok(pause) => Retry::After(pause),
            Err(error) => {
                self.failure = Some(error);
                Retry::Abort
            }
        }
    }

    /// The call's result, with the hub's error turned into the one the policy decided on.
    pub fn finish<T>(self, result: common::Result<T>) -> Result<T, RemoteError> {
        let error = match result {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        if let Some(failure) = self.failure {
            return Err(failure);
        }
        Err(match error {
            common::Error::MissingToken(cause) => match cause.downcast::<RemoteError>() {
                Ok(remote) => *remote,
                Err(other) => RemoteError::Protocol(other.to_string()),
            },
            common::Error::HttpError(error) => RemoteError::Unreachable {
                what: self.what,
                message: error.to_string(),
            },
            other => RemoteError::Protocol(format!("{}: {other}", self.what)),
        })
    }
}

impl Delegate for Policy<'_> {
    fn http_error(&mut self, error: &google_drive3::hyper_util::client::legacy::Error) -> Retry {
        self.decide(Verdict::Retry {
            reason: error.to_string(),
            after: None,
        })
    }

    fn http_failure(
        &mut self,
        response: &common::Response,
        body: Option<&serde_json::Value>,
    ) -> Retry {
        let bytes = body.map(|value| value.to_string()).unwrap_or_default();
        let verdict = http::classify(
            &self.what,
            response.status(),
            response.headers(),
            bytes.as_bytes(),
        );
        self.decide(verdict)
    }
}
