//! Google tokens, kept only in the OS keyring (Secret Service, Credential Manager, Keychain).
//!
//! Nothing here writes a token anywhere else, and no token is ever logged: when the keyring cannot
//! be reached, the operation fails with [`RemoteError::Keyring`] instead of falling back to a file.

use serde::{Deserialize, Serialize};

use crate::remote::RemoteError;

const SERVICE: &str = "lifeboat";

/// The grant Lifeboat holds: a long-lived refresh token and the current access token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    pub refresh_token: String,
    pub access_token: String,
    /// Unix seconds after which the access token must be refreshed.
    pub expires_at: i64,
}

impl std::fmt::Debug for Tokens {
    // Debug output may end up in a log; a token must not.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Tokens")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// One keyring entry, named after the Lifeboat home it belongs to, so two homes on one machine
/// (or a test's temporary home) never share a grant by accident.
#[derive(Debug, Clone)]
pub struct Keyring {
    user: String,
}

fn unreachable(error: keyring::Error) -> RemoteError {
    RemoteError::Keyring(error.to_string())
}

impl Keyring {
    pub fn for_home(home_key: &str) -> Keyring {
        Keyring {
            user: format!("google-drive {home_key}"),
        }
    }

    fn entry(&self) -> Result<keyring::Entry, RemoteError> {
        keyring::Entry::new(SERVICE, &self.user).map_err(unreachable)
    }

    /// The stored grant, or None when there is none.
    pub fn load(&self) -> Result<Option<Tokens>, RemoteError> {
        match self.entry()?.get_password() {
            Ok(text) => serde_json::from_str(&text).map(Some).map_err(|_| {
                RemoteError::Keyring(
                    "the Google Drive entry in the keyring is unreadable; run `lifeboat drive connect` again".into(),
                )
            }),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(unreachable(error)),
        }
    }

    pub fn save(&self, tokens: &Tokens) -> Result<(), RemoteError> {
        let text = serde_json::to_string(tokens)
            .map_err(|error| RemoteError::Protocol(error.to_string()))?;
        self.entry()?.set_password(&text).map_err(unreachable)
    }

    pub fn delete(&self) -> Result<(), RemoteError> {
        match self.entry()?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(error) => Err(unreachable(error)),
        }
    }

    /// Writes and removes a harmless value, so `connect` learns that the keyring works before it
    /// sends the person to a browser.
    pub fn probe(&self) -> Result<(), RemoteError> {
        let probe =
            keyring::Entry::new(SERVICE, &format!("{} probe", self.user)).map_err(unreachable)?;
        probe.set_password("probe").map_err(unreachable)?;
        probe.delete_credential().map_err(unreachable)
    }
}
