//! The only module that opens the live database: taking a consistent snapshot of it, and restoring
//! an image into it.
//!
//! Locking, which is the whole point of this module:
//! - A snapshot first opens a read transaction (`BEGIN` then a read), then copies the file's bytes
//!   while it is open, and compresses later, after the transaction has ended. In rollback-journal
//!   mode the transaction holds SQLite's SHARED lock, which keeps every writer from committing for
//!   as short a time as holding that lock can be. In WAL mode it blocks no writer, but keeps
//!   checkpoints from overwriting in the file what the snapshot sees: the file and its log are
//!   copied raw and SQLite's own recovery folds the log's copy into the image (see [`copy_log`]).
//! - POSIX locks belong to a process and a file, not to a descriptor: closing *any* descriptor of
//!   the database file drops every lock this process holds on it. The descriptors we read the bytes
//!   through are therefore closed only after the connection is.
//! - A restore goes through SQLite into the live file (writing the pages that differ through
//!   `sqlite_dbpage`, or with the backup API), as one journaled write transaction, so an
//!   application that holds the database open sees the new content on its next read, and a crash at
//!   any moment leaves the old content or the new one. Nothing is ever renamed over a database file
//!   that may be open.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use crate::durable;
use crate::error::{Error, Result};
use crate::progress::{Observer, Stage};

/// The first 16 bytes of every SQLite database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// How to treat the live database.
#[derive(Debug, Clone, Copy)]
pub struct Access {
    /// How long to wait for another process's lock.
    pub busy_timeout: Duration,
    /// Refuse databases larger than this many bytes.
    pub max_bytes: u64,
}

/// What state a path is in, before anything opens it through SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Nothing is there.
    Absent,
    /// A file of this many bytes that starts with SQLite's header.
    Database(u64),
    /// A zero-byte file.
    Empty,
    /// A file that is not a SQLite database.
    Foreign,
}

/// Looks at a path without opening it through SQLite (which would call an empty file an empty
/// database, and would create a missing one).
pub fn presence(path: &Path) -> Result<Presence> {
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Presence::Absent),
        Err(source) => return Err(Error::io("cannot read", path, source)),
    };
    if !metadata.is_file() {
        return Ok(Presence::Foreign);
    }
    if metadata.len() == 0 {
        return Ok(Presence::Empty);
    }
    let mut header = [0u8; 16];
    let mut file = File::open(path).map_err(|source| Error::io("cannot open", path, source))?;
    // Reading a header and closing again is safe here: this process holds no SQLite lock on
    // the file yet (see the module documentation).
    if file.read_exact(&mut header).is_err() || &header != SQLITE_HEADER {
        return Ok(Presence::Foreign);
    }
    Ok(Presence::Database(metadata.len()))
}

/// Checks that `path` is a database worth backing up, with a precise error when it is not.
pub fn require_database(path: &Path) -> Result<u64> {
    match presence(path)? {
        Presence::Database(size) => Ok(size),
        Presence::Absent => Err(Error::DatabaseMissing(path.to_path_buf())),
        Presence::Empty => Err(Error::DatabaseEmpty(path.to_path_buf())),
        Presence::Foreign => Err(Error::NotSqlite(path.to_path_buf())),
    }
}

fn open_live(path: &Path, access: &Access) -> Result<Connection> {
    // Read-write without create: SQLite must be able to roll back a hot journal left by a crashed
    // writer before we read, and a missing file must not be created.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection =
        Connection::open_with_flags(path, flags).map_err(|error| sqlite(path, error, access))?;
    connection
        .busy_timeout(access.busy_timeout)
        .map_err(|error| sqlite(path, error, access))?;
    Ok(connection)
}

fn sqlite(path: &Path, error: rusqlite::Error, access: &Access) -> Error {
    Error::sqlite(path, error, access.busy_timeout.as_secs())
}

fn journal_mode(connection: &Connection, path: &Path, access: &Access) -> Result<String> {
    connection
        .query_row("PRAGMA journal_mode", [], |row| row.get::<_, String>(0))
        .map(|mode| mode.to_ascii_lowercase())
        .map_err(|error| sqlite(path, error, access))
}

fn page_geometry(connection: &Connection, path: &Path, access: &Access) -> Result<(u64, u64)> {
    let read = |pragma: &str| {
        connection
            .query_row(pragma, [], |row| row.get::<_, i64>(0))
            .map(|value| value.max(0) as u64)
            .map_err(|error| sqlite(path, error, access))
    };
    Ok((read("PRAGMA page_size")?, read("PRAGMA page_count")?))
}

/// Writes a consistent image of the live database at `source` into the new file `image`.
///
/// The image holds every transaction committed before this call started. It is a complete
/// database file in rollback-journal mode, not synced (it is a scratch file: the artifact made
/// from it is what gets synced).
pub fn snapshot(
    source: &Path,
    image: &Path,
    access: &Access,
    observer: &dyn Observer,
) -> Result<()> {
    let size = require_database(source)?;
    check_limit(source, size, access)?;
    let connection = open_live(source, access)?;
    // Opened before or inside the read transaction, and closed only once the connection is: see
    // the module documentation on POSIX locks (in WAL mode the connection holds a lock on the file
    // for as long as it is open, not only during the transaction).
    let mut descriptors: Vec<File> = Vec::new();
    if in_wal_mode(&connection) {
        // Start from a WAL with nothing left to copy back: what the application commits during the
        // snapshot then stays below its automatic checkpoint's threshold more often, so its first
        // commit after the snapshot rarely has a checkpoint of its own to do (see the end).
        let _ = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    } else {
        open_readers(source, &mut descriptors)?;
        draft_copy(&mut descriptors[0], source, image, observer)?;
    }
    connection
        .execute_batch("BEGIN DEFERRED; SELECT count(*) FROM sqlite_schema;")
        .map_err(|error| sqlite(source, error, access))?;
    // The journal mode that counts is the one the read transaction sees: the application may
    // switch it at any moment before.
    let copied = (|| -> Result<bool> {
        let (page_size, page_count) = page_geometry(&connection, source, access)?;
        let length = page_size * page_count;
        check_limit(source, length, access)?;
        let wal = journal_mode(&connection, source, access)? == "wal";
        if !wal {
            // (With no draft, when the application left WAL mode just now, the whole file is
            // copied here.)
            if descriptors.is_empty() {
                open_readers(source, &mut descriptors)?;
            }
            settle_copy(&mut descriptors, source, image, length)?;
            return Ok(false);
        }
        let database =
            File::open(source).map_err(|error| Error::io("cannot open", source, error))?;
        let database = push(&mut descriptors, database);
        // Pages committed since the last checkpoint may exist only in the log, beyond the end of
        // the file: those come from the log's copy.
        let on_disk = database
            .metadata()
            .map_err(|error| Error::io("cannot read", source, error))?
            .len();
        copy_bytes(database, source, image, length.min(on_disk), observer)?;
        copy_log(source, image, &mut descriptors)?;
        Ok(true)
    })();
    let ended = connection.execute_batch("COMMIT");
    if copied.as_ref().is_ok_and(|&wal| wal) {
        // While our snapshot was open no checkpoint could pass it, so the WAL grew by everything
        // the application committed meanwhile. The application's next commit would copy all of it
        // back into the database and fsync, and stall for as long: do that work here instead. A
        // passive checkpoint never waits for or blocks the application; if the application is
        // checkpointing already, this one just stops.
        let _ = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
    drop(connection);
    drop(descriptors);
    let wal = copied?;
    ended.map_err(|error| sqlite(source, error, access))?;
    if wal {
        fold_log(source, image, access)?;
    }
    Ok(())
}

/// Opens one descriptor of the database file per core (at most four) for a rollback-journal
/// snapshot to read it through.
fn open_readers(source: &Path, descriptors: &mut Vec<File>) -> Result<()> {
    let count = std::thread::available_parallelism().map_or(1, |cores| cores.get().min(4));
    for _ in 0..count {
        let file = File::open(source).map_err(|error| Error::io("cannot open", source, error))?;
        descriptors.push(file);
    }
    Ok(())
}

fn push(descriptors: &mut Vec<File>, file: File) -> &mut File {
    descriptors.push(file);
    let last = descriptors.len() - 1;
    &mut descriptors[last]
}

/// Copies the live database's write-ahead log beside the image, as `image`-wal, while the read
/// transaction is open.
///
/// Why the two raw copies (file, then log) make a consistent snapshot, by SQLite's WAL rules
/// (<https://sqlite.org/walformat.html>). Our read transaction holds one of two kinds of read lock:
/// - If its snapshot needs frames of the log, a read mark: no checkpoint copies a frame past it into
///   the database file, and the log is not started over while it is held. Every page of the file
///   that may change under us then has a frame of our snapshot in the log, and those frames stay
///   where they are.
/// - If its snapshot is the database file alone (every frame already checkpointed), a lock that
///   keeps every checkpoint from writing to the file at all. The log, all of it in the file
///   already, may then be started over by the application and overwritten from its start while we
///   copy it, and a copy torn that way would replay an old part of it over newer pages. A new start
///   always writes a new header (its salts change), and it is possible in this case only: so when
///   the log no longer starts with the header copied, the copy is dropped and the file alone is
///   the snapshot.
///
/// Frames the application appends while we copy are whole commits or a torn tail; opening the copy,
/// SQLite's own recovery keeps the commits whose checksums hold and nothing else, exactly as after a
/// power cut. The image then holds our snapshot or a later consistent state.
fn copy_log(source: &Path, image: &Path, descriptors: &mut Vec<File>) -> Result<()> {
    let log = durable::companion(source, "-wal");
    let file = match File::open(&log) {
        Ok(file) => file,
        // No log: every committed page is in the database file.
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(Error::io("cannot open", &log, error)),
    };
    let file = push(descriptors, file);
    let copy = durable::companion(image, "-wal");
    let mut output = durable::create(&copy)?;
    std::io::copy(file, &mut output)
        .map_err(|error| Error::io("cannot copy into", &copy, error))?;
    drop(output);
    let started_over = log_header(file).map_err(|error| Error::io("cannot read", &log, error))?
        != log_header(
            &mut File::open(&copy).map_err(|error| Error::io("cannot open", &copy, error))?,
        )
        .map_err(|error| Error::io("cannot read", &copy, error))?;
    if started_over {
        tracing::debug!(
            "{}: the log started over while it was copied",
            log.display()
        );
        durable::remove_if_present(&copy)?;
    }
    Ok(())
}

/// The 32-byte header a write-ahead log starts with, if it has one yet.
fn log_header(file: &mut File) -> std::io::Result<Option<[u8; 32]>> {
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(0))?;
    let mut header = [0u8; 32];
    match file.read_exact(&mut header) {
        Ok(()) => Ok(Some(header)),
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(error) => Err(error),
    }
}

/// Lets SQLite recover the copied log into the image and leave WAL mode, so that the image is one
/// plain rollback-journal database file that opens read-only, and with the stock sqlite3, alone.
fn fold_log(source: &Path, image: &Path, access: &Access) -> Result<()> {
    let folded = (|| {
        let connection = Connection::open_with_flags(
            image,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|error| sqlite(image, error, access))?;
        // A scratch file: syncing it would only make the disk busier for the application.
        let mode: String = connection
            .execute_batch("PRAGMA synchronous = OFF")
            .and_then(|()| {
                connection.query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0))
            })
            .map_err(|error| sqlite(image, error, access))?;
        if !mode.eq_ignore_ascii_case("delete") {
            return Err(Error::DamagedDatabase {
                path: source.to_path_buf(),
                problem: format!(
                    "SQLite kept the snapshot of its write-ahead log apart (journal mode {mode})"
                ),
            });
        }
        connection
            .close()
            .map_err(|(_, error)| sqlite(image, error, access))
    })();
    for suffix in ["-wal", "-shm"] {
        let _ = durable::remove_if_present(&durable::companion(image, suffix));
    }
    folded
}

fn in_wal_mode(connection: &Connection) -> bool {
    connection
        .query_row("PRAGMA journal_mode", [], |row| row.get::<_, String>(0))
        .is_ok_and(|mode| mode.eq_ignore_ascii_case("wal"))
}

fn check_limit(path: &Path, bytes: u64, access: &Access) -> Result<()> {
    if bytes > access.max_bytes {
        const MB: u64 = 1024 * 1024;
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            size_mb: bytes.div_ceil(MB),
            limit_mb: access.max_bytes / MB,
        });
    }
    Ok(())
}

/// Chunks in which a rollback-journal database copied ahead is compared with the file under the
/// lock.
const SETTLE_CHUNK: usize = 1 << 20;

/// Chunks of file-to-file copy: std hands these to the kernel (copy_file_range on Linux), with no
/// trip through a user-space buffer; between them, progress is reported and cancellation checked.
const COPY_CHUNK: u64 = 64 << 20;

/// Copies the database file into `image` before the read transaction starts. The application may
/// be committing meanwhile, so the copy may be torn: [`settle_copy`] makes it exact under the lock.
/// Copying ahead is what keeps that lock short: under it the file is only read and compared, which
/// takes a fraction of a copy's time and, unlike writing a new file, does not depend on how quickly
/// the system finds memory for it.
fn draft_copy(file: &mut File, source: &Path, image: &Path, observer: &dyn Observer) -> Result<()> {
    let total = file
        .metadata()
        .map_err(|error| Error::io("cannot read", source, error))?
        .len();
    // Whatever the file does meanwhile (it may shrink, or grow past `total`): settle_copy fits it.
    copy_up_to(file, image, total, observer).map(|_| ())
}

/// With the read transaction holding SQLite's SHARED lock, reads the first `length` bytes of the
/// database file beside the draft in `image`, and rewrites every chunk of the draft that differs,
/// so that the image is exactly the file as the lock holds it. The reading is what the
/// application's writers wait for: it is split between `readers` (descriptors of the file, one per
/// core). Returns how many chunks were rewritten.
fn settle_copy(readers: &mut [File], source: &Path, image: &Path, length: u64) -> Result<usize> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(image)
        .and_then(|output| output.set_len(length))
        .map_err(|error| Error::io("cannot write", image, error))?;
    let chunks = length.div_ceil(SETTLE_CHUNK as u64) as usize;
    let share = chunks.div_ceil(readers.len().max(1));
    std::thread::scope(|scope| {
        let workers: Vec<_> = readers
            .iter_mut()
            .enumerate()
            .map(|(worker, reader)| {
                let range = (worker * share).min(chunks)..((worker + 1) * share).min(chunks);
                scope.spawn(move || settle_chunks(reader, source, image, length, range))
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker.join().unwrap_or_else(|_| {
                    Err(Error::io(
                        "cannot read",
                        source,
                        std::io::Error::other("the reading thread stopped unexpectedly"),
                    ))
                })
            })
            .sum()
    })
}

/// [`settle_copy`]'s work on the chunks `range`, read through `reader`.
fn settle_chunks(
    reader: &mut File,
    source: &Path,
    image: &Path,
    length: u64,
    range: std::ops::Range<usize>,
) -> Result<usize> {
    use std::io::{Seek, SeekFrom};
    if range.is_empty() {
        return Ok(0);
    }
    let start = (range.start * SETTLE_CHUNK) as u64;
    let read_error = |error| Error::io("cannot read", source, error);
    let image_error = |error| Error::io("cannot write", image, error);
    let mut draft = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(image)
        .map_err(image_error)?;
    reader.seek(SeekFrom::Start(start)).map_err(read_error)?;
    draft.seek(SeekFrom::Start(start)).map_err(image_error)?;
    let mut live = vec![0u8; SETTLE_CHUNK];
    let mut drafted = vec![0u8; SETTLE_CHUNK];
    let mut rewritten = 0;
    for index in range {
        let offset = (index * SETTLE_CHUNK) as u64;
        let want = (length - offset).min(SETTLE_CHUNK as u64) as usize;
        reader.read_exact(&mut live[..want]).map_err(read_error)?;
        // A draft shorter than the file (it grew) reads short here, and differs.
        let got = read_chunk(&mut draft, &mut drafted[..want])
            .map_err(|error| Error::io("cannot read", image, error))?;
        if got != want || live[..want] != drafted[..want] {
            draft
                .seek(SeekFrom::Start(offset))
                .and_then(|_| draft.write_all(&live[..want]))
                .map_err(image_error)?;
            rewritten += 1;
        }
    }
    Ok(rewritten)
}

/// Reads until `buffer` is full or the file ends; returns how many bytes it holds.
fn read_chunk(file: &mut File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// Copies the first `length` bytes of a WAL database's file, read through `file` while a read
/// transaction holds its snapshot.
fn copy_bytes(
    file: &mut File,
    source: &Path,
    image: &Path,
    length: u64,
    observer: &dyn Observer,
) -> Result<()> {
    // File-to-file copy, with no trip through a user-space buffer, keeps the read transaction (and
    // so what piles up in the application's log meanwhile) as short as can be.
    if copy_up_to(file, image, length, observer)? != length {
        return Err(Error::io(
            "cannot read",
            source,
            std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
        ));
    }
    // No fsync: the image is a scratch file that is compressed and deleted; the artifact made
    // from it is what gets synced.
    Ok(())
}

/// Copies from where `file` stands into the new file `image`, until `limit` bytes or the end of
/// `file`, in kernel file-to-file copies of a few large calls (writing a new file in many small
/// ones waits on the filesystem's journal at every call while the application commits and fsyncs
/// a thousand times a second). Returns how many bytes it copied.
fn copy_up_to(file: &mut File, image: &Path, limit: u64, observer: &dyn Observer) -> Result<u64> {
    let mut output = durable::create(image)?;
    let mut done = 0u64;
    while done < limit {
        if observer.cancelled() {
            return Err(Error::Cancelled);
        }
        let copied = std::io::copy(
            &mut Read::by_ref(file).take((limit - done).min(COPY_CHUNK)),
            &mut output,
        )
        .map_err(|error| Error::io("cannot copy into", image, error))?;
        if copied == 0 {
            break;
        }
        done += copied;
        observer.progress(Stage::Snapshot, done, limit);
    }
    Ok(done)
}

/// Replaces the content of the existing live database at `target` with the checked image at
/// `image`, through SQLite, as one transaction. Returns how many pages it wrote.
pub fn restore_into(
    target: &Path,
    image: &Path,
    access: &Access,
    observer: &dyn Observer,
) -> Result<u64> {
    let mut live = open_live(target, access)?;
    live.execute_batch(&format!("PRAGMA cache_size = -{APPLY_CACHE_KIB}"))
        .map_err(|error| sqlite(target, error, access))?;
    let source = Connection::open_with_flags(image, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|error| sqlite(image, error, access))?;
    let (image_page_size, image_pages) = page_geometry(&source, image, access)?;
    let (live_page_size, _) = page_geometry(&live, target, access)?;
    let wal = journal_mode(&live, target, access)? == "wal";

    // The backup API cannot change the page size of a WAL database; it fails leaving the database as
    // it was. Leaving WAL mode for the copy works only when no other connection has the database
    // open, which is the right condition: then nobody can see the switch.
    let leave_wal = wal && image_page_size != live_page_size;
    if leave_wal {
        let mode: String = live
            .query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0))
            .map_err(|error| match error.sqlite_error_code() {
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                    needs_exclusive(target, image_page_size, live_page_size)
                }
                _ => sqlite(target, error, access),
            })?;
        if !mode.eq_ignore_ascii_case("delete") {
            return Err(needs_exclusive(target, image_page_size, live_page_size));
        }
    }
    if !leave_wal && can_write_pages(&live, image_page_size) {
        drop(source);
        return apply_changed_pages(
            &live,
            target,
            image,
            image_pages,
            image_page_size,
            access,
            observer,
        );
    }
    let copied = (|| {
        let backup =
            Backup::new(&source, &mut live).map_err(|error| sqlite(target, error, access))?;
        step_all_at_once(&backup, target, access)?;
        observer.progress(Stage::Apply, image_pages, image_pages);
        Ok(())
    })();
    if leave_wal {
        let back = live
            .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .map_err(|error| sqlite(target, error, access));
        copied?;
        back?;
        return Ok(image_pages);
    }
    copied.map(|()| image_pages)
}

/// Whether [`apply_changed_pages`] may be used on `live`: SQLite was built with `sqlite_dbpage`,
/// the page sizes agree, and the database does not auto-vacuum (an auto-vacuuming commit would
/// move pages using the page count the connection read before our writes, and damage the file).
fn can_write_pages(live: &Connection, image_page_size: u64) -> bool {
    let number = |sql: &str| live.query_row(sql, [], |row| row.get::<_, i64>(0)).ok();
    number("SELECT count(*) FROM sqlite_dbpage WHERE pgno = 1") == Some(1)
        && number("PRAGMA page_size") == Some(image_page_size as i64)
        && number("PRAGMA auto_vacuum") == Some(0)
}

/// SQLite's page cache, in KiB, for the transaction that writes a restore into the live database.
/// When the dirty pages outgrow it, SQLite spills them into the file mid-transaction, and each
/// spill first syncs the journal twice: at SQLite's default of 2 MB, restoring 34,000 changed pages
/// of a 1 GiB database synced it 160 times, at 16 MB 20 times. The connection is closed right after
/// the restore, and the chosen backup's integrity check has released its own cache by then.
const APPLY_CACHE_KIB: u32 = 16_000;

/// Makes the live database byte for byte the image, writing only the pages that differ, through
/// SQLite's `sqlite_dbpage` table in one write transaction.
///
/// A restore usually brings back a recent backup, which shares most of its pages with the live
/// database: the journal then holds only the changed pages instead of the whole file, and the
/// restore writes a fraction of what a full copy writes. Like the backup API, it is one journaled
/// transaction, so a crash leaves the old content or the new, and the application's connections
/// see the new content on their next read: the header written carries a new change counter and
/// schema cookie, so they drop their cached pages and schema.
fn apply_changed_pages(
    live: &Connection,
    target: &Path,
    image: &Path,
    image_pages: u64,
    page_size: u64,
    access: &Access,
    observer: &dyn Observer,
) -> Result<u64> {
    let fail = |error| sqlite(target, error, access);
    let started = Instant::now();
    live.execute_batch("BEGIN IMMEDIATE").map_err(fail)?;
    let applied = (|| {
        let live_pages = page_geometry(live, target, access)?.1;
        let file = File::open(image).map_err(|error| Error::io("cannot open", image, error))?;
        let mut reader = std::io::BufReader::with_capacity(256 << 10, file);
        let mut page = vec![0u8; usize::try_from(page_size).unwrap_or(usize::MAX)];
        let total = image_pages * 2;

        // Pass 1: which pages differ, reading the image in order beside the live pages. Page 1
        // always differs (its header is renewed below).
        let mut changed: Vec<u64> = Vec::new();
        let mut live_header = Vec::new();
        {
            let mut pages = live
                .prepare("SELECT pgno, data FROM sqlite_dbpage ORDER BY pgno")
                .map_err(fail)?;
            let mut rows = pages.query([]).map_err(fail)?;
            while let Some(row) = rows.next().map_err(fail)? {
                let number = row.get::<_, i64>(0).map_err(fail)?.max(0) as u64;
                if number > image_pages {
                    break;
                }
                if observer.cancelled() {
                    return Err(Error::Cancelled);
                }
                reader
                    .read_exact(&mut page)
                    .map_err(|error| Error::io("cannot read", image, error))?;
                let data = row.get_ref(1).map_err(fail)?.as_blob().unwrap_or_default();
                if number == 1 {
                    live_header = data.to_vec();
                } else if data != page.as_slice() {
                    changed.push(number);
                }
                observer.progress(Stage::Apply, number, total);
            }
        }
        changed.extend(live_pages.max(1) + 1..=image_pages);
        tracing::debug!(
            "{}: pages compared in {:?}",
            target.display(),
            started.elapsed()
        );

        // Pass 2: write them. SQLite never stores anything in the page that holds its lock bytes.
        let pending_byte_page = (1u64 << 30) / page_size + 1;
        changed.retain(|&number| number != pending_byte_page);
        let mut write = live
            .prepare("INSERT INTO sqlite_dbpage(pgno, data) VALUES (?1, ?2)")
            .map_err(fail)?;
        for (done, &number) in changed.iter().enumerate() {
            if observer.cancelled() {
                return Err(Error::Cancelled);
            }
            read_page_at(&mut reader, &mut page, (number - 1) * page_size, image)?;
            write
                .execute(rusqlite::params![number as i64, page])
                .map_err(fail)?;
            let written = (done as u64 + 1) * image_pages / changed.len() as u64;
            observer.progress(Stage::Apply, image_pages + written, total);
        }

        // Page 1 comes last, and in the same statement as the truncation. It carries the new
        // schema cookie, which makes any later statement reload the schema through the btree
        // layer's copy of page 1, now stale; and sqlite_dbpage forgets a truncation as soon as
        // another page is written.
        read_page_at(&mut reader, &mut page, 0, image)?;
        renew_header(&mut page, &live_header, image_pages);
        if live_pages > image_pages {
            live.execute(
                "INSERT INTO sqlite_dbpage(pgno, data) VALUES (1, ?1), (?2, NULL)",
                rusqlite::params![page, image_pages as i64 + 1],
            )
        } else {
            write.execute(rusqlite::params![1, page])
        }
        .map_err(fail)?;
        Ok(changed.len() as u64 + 1)
    })();
    tracing::debug!(
        "{}: pages written in {:?}",
        target.display(),
        started.elapsed()
    );
    match applied {
        Ok(written) => commit(live, target, access).map(|()| written),
        Err(error) => {
            let _ = live.execute_batch("ROLLBACK");
            Err(error)
        }
    }
}

/// Reads the page at `offset`; the pages asked for mostly move forward, so the reader's buffer
/// serves neighbouring pages without another read.
fn read_page_at(
    reader: &mut std::io::BufReader<File>,
    page: &mut [u8],
    offset: u64,
    image: &Path,
) -> Result<()> {
    use std::io::Seek;
    reader
        .stream_position()
        .and_then(|position| reader.seek_relative(offset as i64 - position as i64))
        .and_then(|()| reader.read_exact(page))
        .map_err(|error| Error::io("cannot read", image, error))
}

/// Fits the image's first page (the database header) to the live file it is written into.
///
/// The fields are those the backup API sets too: the live file's journal-mode versions (bytes
/// 18-19), a change counter and schema cookie that differ from the live ones (so that every
/// connection drops its cached pages and schema), and a page count that is valid for the result.
fn renew_header(page: &mut [u8], live_header: &[u8], image_pages: u64) {
    let get = |bytes: &[u8], at: usize| {
        bytes.get(at..at + 4).map_or(0, |field| {
            u32::from_be_bytes([field[0], field[1], field[2], field[3]])
        })
    };
    let mut put = |at: usize, value: u32| page[at..at + 4].copy_from_slice(&value.to_be_bytes());
    let counter = get(live_header, 24).wrapping_add(1);
    put(24, counter);
    put(28, image_pages as u32);
    put(40, get(live_header, 40).wrapping_add(1));
    put(92, counter);
    put(96, rusqlite::version_number() as u32);
    if let Some(versions) = live_header.get(18..20) {
        page[18..20].copy_from_slice(versions);
    }
}

/// Commits the restore's write transaction, waiting up to the busy timeout for readers to finish
/// (a rollback-journal commit needs them gone); on failure nothing was changed.
fn commit(live: &Connection, target: &Path, access: &Access) -> Result<()> {
    live.execute_batch("COMMIT").map_err(|error| {
        let _ = live.execute_batch("ROLLBACK");
        sqlite(target, error, access)
    })
}

fn needs_exclusive(target: &Path, image_page_size: u64, live_page_size: u64) -> Error {
    Error::RestoreNeedsExclusive {
        path: target.to_path_buf(),
        reason: format!(
            "the backup's page size ({image_page_size} bytes) differs from the database's ({live_page_size} bytes), and a database in WAL mode can only change it while no other program has it open"
        ),
    }
}

/// One step of every page: a single write transaction on the target, so a crash leaves the old
/// content or the new, never a mix.
fn step_all_at_once(backup: &Backup<'_, '_>, target: &Path, access: &Access) -> Result<()> {
    let deadline = Instant::now() + access.busy_timeout;
    loop {
        match backup
            .step(-1)
            .map_err(|error| sqlite(target, error, access))?
        {
            StepResult::Done => return Ok(()),
            StepResult::Busy | StepResult::Locked if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            StepResult::Busy | StepResult::Locked => {
                return Err(Error::Locked {
                    path: target.to_path_buf(),
                    seconds: access.busy_timeout.as_secs(),
                });
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Silent;

    const HEADER_FIELDS_RENEWED: [std::ops::Range<usize>; 3] = [24..28, 40..44, 92..100];

    fn access() -> Access {
        Access {
            busy_timeout: Duration::from_secs(5),
            max_bytes: u64::MAX,
        }
    }

    fn database(path: &Path, setup: &str, rows: u32) -> Connection {
        let connection = Connection::open(path).expect("open");
        connection.execute_batch(setup).expect("setup");
        connection
            .execute_batch(&format!(
                "CREATE TABLE items(id INTEGER PRIMARY KEY, body TEXT);
                 WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {rows})
                 INSERT INTO items(body) SELECT printf('%0400d', x) FROM n;"
            ))
            .expect("fill");
        connection
    }

    fn without_renewed_fields(mut bytes: Vec<u8>) -> Vec<u8> {
        for range in HEADER_FIELDS_RENEWED {
            bytes[range].fill(0);
        }
        bytes
    }

    fn rows_and_check(image: &Path) -> (i64, String) {
        let connection =
            Connection::open_with_flags(image, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open");
        let rows = connection
            .query_row("SELECT count(*) FROM items", [], |row| row.get(0))
            .expect("count");
        let check = connection
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .expect("check");
        (rows, check)
    }

    #[test]
    fn a_wal_snapshot_holds_the_commits_that_are_only_in_the_log_and_leaves_one_plain_file() {
        let folder = tempfile::tempdir().expect("tempdir");
        let live = folder.path().join("store.db");
        let image = folder.path().join("image.db");
        // No checkpoints: every row lives in the log only, and the application keeps it open.
        let app = database(
            &live,
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;",
            2000,
        );
        app.execute("DELETE FROM items WHERE id > 1500", [])
            .expect("delete");
        // A reader that pins an old snapshot keeps our checkpoints from emptying the log.
        let reader = Connection::open(&live).expect("open");
        reader
            .execute_batch("BEGIN; SELECT count(*) FROM items;")
            .expect("read");
        app.execute("DELETE FROM items WHERE id > 1000", [])
            .expect("delete");

        snapshot(&live, &image, &access(), &Silent).expect("snapshot");

        assert_eq!(rows_and_check(&image), (1000, "ok".to_string()));
        let bytes = std::fs::read(&image).expect("read");
        assert_eq!(
            &bytes[18..20],
            &[1, 1],
            "the image is not in rollback-journal mode"
        );
        let pages = u32::from_be_bytes(bytes[28..32].try_into().expect("4 bytes"));
        assert_eq!(bytes.len() as u64, u64::from(pages) * 4096);
        for suffix in ["-wal", "-shm"] {
            assert!(
                !durable::companion(&image, suffix).exists(),
                "{suffix} left"
            );
        }
        drop(reader);
    }

    #[test]
    fn a_log_that_starts_over_gets_a_new_header_so_a_copy_torn_by_it_is_recognised() {
        let folder = tempfile::tempdir().expect("tempdir");
        let live = folder.path().join("store.db");
        let app = database(
            &live,
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;",
            300,
        );
        // Every frame checkpointed, the log not yet started over: the state in which a reader
        // needs the file alone and the application may start the log over at its next commit.
        app.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .expect("checkpoint");
        let log = durable::companion(&live, "-wal");
        let copied = log_header(&mut File::open(&log).expect("open")).expect("header");
        assert!(copied.is_some(), "the log has no header to compare");
        app.execute("UPDATE items SET body = 'later' WHERE id = 1", [])
            .expect("update");
        let now = log_header(&mut File::open(&log).expect("open")).expect("header");
        assert_ne!(copied, now, "the log started over with the same header");
    }

    #[test]
    fn a_copy_made_ahead_is_made_exact_under_the_lock_by_rewriting_what_changed() {
        let folder = tempfile::tempdir().expect("tempdir");
        let live = folder.path().join("store.db");
        let image = folder.path().join("image.db");
        let app = database(&live, "", 10_000);
        // Three readers, so that the chunks split unevenly between them.
        let mut readers: Vec<File> = (0..3).map(|_| File::open(&live).expect("open")).collect();
        draft_copy(&mut readers[0], &live, &image, &Silent).expect("draft");
        assert_eq!(
            std::fs::read(&image).expect("read"),
            std::fs::read(&live).expect("read")
        );

        // The application commits while nothing holds it off: one row changes, the file grows.
        app.execute("UPDATE items SET body = 'changed' WHERE id = 10", [])
            .expect("update");
        app.execute_batch("INSERT INTO items(body) SELECT body FROM items WHERE id <= 3000")
            .expect("grow");
        let length = std::fs::metadata(&live).expect("size").len();
        let rewritten = settle_copy(&mut readers, &live, &image, length).expect("settle");
        assert_eq!(
            std::fs::read(&image).expect("read"),
            std::fs::read(&live).expect("read")
        );
        let chunks = length.div_ceil(SETTLE_CHUNK as u64) as usize;
        assert!(
            rewritten < chunks,
            "{rewritten} of {chunks} chunks rewritten: the draft was not used"
        );

        // Or it shrinks.
        app.execute_batch("DELETE FROM items WHERE id > 500; VACUUM;")
            .expect("shrink");
        let length = std::fs::metadata(&live).expect("size").len();
        settle_copy(&mut readers, &live, &image, length).expect("settle");
        assert_eq!(
            std::fs::read(&image).expect("read"),
            std::fs::read(&live).expect("read")
        );
    }

    #[test]
    fn a_torn_tail_of_the_log_is_left_out_of_a_wal_snapshot() {
        let folder = tempfile::tempdir().expect("tempdir");
        let live = folder.path().join("store.db");
        let image = folder.path().join("image.db");
        let app = database(&live, "PRAGMA journal_mode = WAL;", 100);
        // A reader pinning the first 100 rows keeps every checkpoint short of the next 200.
        let reader = Connection::open(&live).expect("open");
        reader
            .execute_batch("BEGIN; SELECT count(*) FROM items;")
            .expect("read");
        app.execute_batch(
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 200)
             INSERT INTO items(body) SELECT printf('%0400d', x) FROM n;",
        )
        .expect("fill");
        // What a copy sees while the application is half way through appending a frame.
        let log = durable::companion(&live, "-wal");
        let mut torn = std::fs::read(&log).expect("read log");
        let frame = torn[torn.len() - 4120..].to_vec();
        torn.extend_from_slice(&frame[..1000]);
        std::fs::write(&log, &torn).expect("tear the log");

        snapshot(&live, &image, &access(), &Silent).expect("snapshot");

        assert_eq!(rows_and_check(&image), (300, "ok".to_string()));
        drop((reader, app));
    }

    #[test]
    fn a_restore_writes_only_the_pages_that_differ_and_gives_back_the_image_exactly() {
        let folder = tempfile::tempdir().expect("tempdir");
        let live = folder.path().join("store.db");
        let image = folder.path().join("image.db");
        drop(database(&live, "", 2000));
        std::fs::copy(&live, &image).expect("copy");
        let pages = std::fs::metadata(&image).expect("size").len() / 4096;
        assert!(pages > 200, "the test database is too small: {pages} pages");

        // The application changes one row and keeps its connection open.
        let app = Connection::open(&live).expect("open");
        app.execute("UPDATE items SET body = 'changed' WHERE id = 1000", [])
            .expect("update");
        let written = restore_into(&live, &image, &access(), &Silent).expect("restore");
        assert!(
            written <= 4,
            "{written} of {pages} pages written for one row"
        );

        let body: String = app
            .query_row("SELECT body FROM items WHERE id = 1000", [], |row| {
                row.get(0)
            })
            .expect("read");
        assert_eq!(body, format!("{:0400}", 1000));
        drop(app);
        assert_eq!(
            without_renewed_fields(std::fs::read(&live).expect("read")),
            without_renewed_fields(std::fs::read(&image).expect("read")),
            "the live file is not the image page for page"
        );
    }

    #[test]
    fn an_auto_vacuum_database_is_restored_with_the_backup_api() {
        let folder = tempfile::tempdir().expect("tempdir");
        let live = folder.path().join("store.db");
        let image = folder.path().join("image.db");
        drop(database(&live, "PRAGMA auto_vacuum = FULL;", 500));
        std::fs::copy(&live, &image).expect("copy");
        let app = Connection::open(&live).expect("open");
        app.execute("DELETE FROM items WHERE id > 100", [])
            .expect("delete");
        let written = restore_into(&live, &image, &access(), &Silent).expect("restore");
        let pages = std::fs::metadata(&image).expect("size").len() / 4096;
        assert_eq!(written, pages, "every page is copied");
        let count: i64 = app
            .query_row("SELECT count(*) FROM items", [], |row| row.get(0))
            .expect("count");
        assert_eq!(count, 500);
        let check: String = app
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .expect("check");
        assert_eq!(check, "ok");
    }
}
