//! The manifest that travels beside every artifact, and the kinds of backup.
//!
//! The manifest is the backups folder's own description of a backup: ids, kinds and checksums are
//! read from it, never from other state, so a folder copied to another machine lists as it is. It is
//! written after the artifact has been verified, so its presence means "complete and checked once".

use std::fmt;
use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Version of the manifest layout; a newer one is refused rather than misread.
pub const FORMAT: u32 = 1;
/// File name endings inside the backups folder.
pub const ARTIFACT_SUFFIX: &str = ".sqlite.zst";
pub const MANIFEST_SUFFIX: &str = ".manifest.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Manual,
    Scheduled,
    Safety,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Manual => "manual",
            Kind::Scheduled => "scheduled",
            Kind::Safety => "safety",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub id: String,
    pub created_at: Timestamp,
    pub kind: Kind,
    /// File name of the artifact, relative to the manifest's folder.
    pub artifact: String,
    /// Bytes of the compressed artifact.
    pub size: u64,
    /// SHA-256 of the artifact file, hex.
    pub sha256: String,
    /// Bytes of the database image.
    pub db_size: u64,
    /// SHA-256 of the database image, hex.
    pub db_sha256: String,
    pub page_size: u64,
    pub page_count: u64,
    pub user_version: i64,
    /// SHA-256 of the schema's SQL, in sqlite_schema order: tells at a glance whether two backups
    /// share a schema.
    pub schema_sha256: String,
    pub source_path: String,
    pub lifeboat_version: String,
}

impl Manifest {
    pub fn manifest_name(id: &str) -> String {
        format!("{id}{MANIFEST_SUFFIX}")
    }

    pub fn artifact_name(id: &str) -> String {
        format!("{id}{ARTIFACT_SUFFIX}")
    }

    /// A manifest with an identity (id, kind, time) and placeholder facts, for tests of code that
    /// reads only those; it describes no real artifact.
    #[doc(hidden)]
    pub fn placeholder(id: &str, kind: Kind, created_at: Timestamp) -> Manifest {
        Manifest {
            format: FORMAT,
            id: id.to_string(),
            created_at,
            kind,
            artifact: Manifest::artifact_name(id),
            size: 1,
            sha256: String::new(),
            db_size: 1,
            db_sha256: String::new(),
            page_size: 4096,
            page_count: 1,
            user_version: 0,
            schema_sha256: String::new(),
            source_path: String::new(),
            lifeboat_version: String::new(),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut text = serde_json::to_vec_pretty(self).unwrap_or_default();
        text.push(b'\n');
        text
    }

    /// Reads and checks a manifest file; `id` is the one its file name gives.
    pub fn read(path: &Path, id: &str) -> Result<Manifest> {
        let bad = |message: String| Error::BadManifest {
            id: id.to_string(),
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|source| Error::io("cannot read", path, source))?;
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|error| bad(error.to_string()))?;
        if manifest.format > FORMAT {
            return Err(bad(format!(
                "format {} is newer than this Lifeboat understands ({FORMAT}); update Lifeboat",
                manifest.format
            )));
        }
        if manifest.id != id {
            return Err(bad(format!("it describes backup {}", manifest.id)));
        }
        if manifest.artifact.contains(['/', '\\']) || manifest.artifact.starts_with('.') {
            return Err(bad(format!(
                "artifact name {} is not a plain file name",
                manifest.artifact
            )));
        }
        Ok(manifest)
    }
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_matches_sha256sum_notation() {
        use sha2::{Digest, Sha256};
        assert_eq!(
            hex(&Sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
