//! Checking a database image that Lifeboat made (never the live database): SQLite's own
//! `integrity_check`, plus the facts the manifest records about it.
//!
//! Images are opened read-only. Opening a finished backup read-write could start journal recovery
//! and change it, so nothing here ever does.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};

use crate::manifest::hex;

/// What the manifest records about a database image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFacts {
    pub page_size: u64,
    pub page_count: u64,
    pub user_version: i64,
    pub schema_sha256: String,
}

/// SQLite's page cache for an integrity check, in KiB. The check looks every index entry up in its
/// table: 16 MB (instead of SQLite's 2 MB) saves about a quarter of its time in re-reads, and
/// stays well inside the memory budget.
pub const CACHE_KIB: u32 = 16_000;
/// The page cache of a check that runs beside another one (a restore checks the chosen backup and
/// the safety backup at once): half, for the two to fit the memory budget together.
pub const SHARED_CACHE_KIB: u32 = CACHE_KIB / 2;

/// Opens `image` read-only and runs `PRAGMA integrity_check`; on success returns its facts, on
/// failure a sentence saying what is wrong.
pub fn examine(image: &Path) -> Result<ImageFacts, String> {
    let connection = open(image)?;
    integrity_of(&connection, CACHE_KIB)?;
    facts(&connection).map_err(|error| format!("the database image cannot be read ({error})"))
}

/// Runs `PRAGMA integrity_check` on `image` with a page cache of `cache_kib`; on failure, a
/// sentence saying what is wrong.
pub fn integrity(image: &Path, cache_kib: u32) -> Result<(), String> {
    integrity_of(&open(image)?, cache_kib)
}

/// The facts of `image` without the integrity check (cheap: the header and the schema).
pub fn facts_of(image: &Path) -> Result<ImageFacts, String> {
    facts(&open(image)?).map_err(|error| format!("the database image cannot be read ({error})"))
}

fn open(image: &Path) -> Result<Connection, String> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Connection::open_with_flags(image, flags)
        .map_err(|error| format!("the database image cannot be opened ({error})"))
}

fn integrity_of(connection: &Connection, cache_kib: u32) -> Result<(), String> {
    connection
        .execute_batch(&format!("PRAGMA cache_size = -{cache_kib}"))
        .map_err(|error| format!("the database image cannot be read ({error})"))?;
    let problems: Vec<String> = connection
        .prepare("PRAGMA integrity_check")
        .and_then(|mut statement| {
            statement
                .query_map([], |row| row.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|error| format!("SQLite's integrity check could not run ({error})"))?;
    if problems != ["ok"] {
        let first = problems.first().cloned().unwrap_or_default();
        return Err(format!(
            "SQLite's integrity check found {} problem(s), the first: {first}",
            problems.len()
        ));
    }
    Ok(())
}

fn facts(connection: &Connection) -> rusqlite::Result<ImageFacts> {
    let number = |pragma: &str| connection.query_row(pragma, [], |row| row.get::<_, i64>(0));
    let mut hasher = Sha256::new();
    let mut statement =
        connection.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY rowid")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        for column in 0..4 {
            let text: Option<String> = row.get(column)?;
            hasher.update(text.unwrap_or_default().as_bytes());
            hasher.update([0u8]);
        }
    }
    Ok(ImageFacts {
        page_size: number("PRAGMA page_size")?.max(0) as u64,
        page_count: number("PRAGMA page_count")?.max(0) as u64,
        user_version: number("PRAGMA user_version")?,
        schema_sha256: hex(&hasher.finalize()),
    })
}
