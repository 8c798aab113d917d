//! Shared helpers for Lifeboat's black-box tests.
//!
//! Every test runs the real `lifeboat` binary against a fresh `--home` in a temp folder and checks
//! what a person (or the stock tools `zstd`, `sqlite3` and `sha256sum`) would see. The helpers here
//! keep the tests reading like the user's story: make a database, back it up, break something, look.
//!
//! Each test binary uses only some of these helpers, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod google;

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde_json::Value;
use tempfile::TempDir;

/// The binary under test, built by cargo for the integration tests.
pub const LIFEBOAT: &str = env!("CARGO_BIN_EXE_lifeboat");

/// The interpreter with the stdlib `sqlite3` module (a `python3` earlier on PATH may be another one).
pub const PYTHON: &str = "/usr/bin/python3";

/// How long any single `lifeboat` command may run before the test calls it hung.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// A script under tests/support/.
pub fn support_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("support")
        .join(name)
}

pub fn s(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

// ---------------------------------------------------------------------------------------------
// Running commands
// ---------------------------------------------------------------------------------------------

/// What one finished command did.
pub struct Run {
    pub command: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` ended with {} after {:.1?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.status, self.elapsed, self.stdout, self.stderr
        )
    }
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Asserts the command exited 0 and returns it.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code(), Some(0), "expected success:\n{self}");
        assert_no_panic(&self);
        self
    }

    /// The single JSON document the command printed on stdout.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{self}"))
    }

    /// Asserts the contract for failures: the given exit code, and exactly one line on stderr that
    /// starts with `error: `, with no panic or backtrace. Returns that line.
    #[track_caller]
    pub fn fails_with(&self, code: i32) -> String {
        assert_no_panic(self);
        assert_eq!(
            self.code(),
            Some(code),
            "expected exit code {code}:\n{self}"
        );
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "expected exactly one line on stderr, got {}:\n{self}",
            lines.len()
        );
        assert!(
            lines[0].starts_with("error: "),
            "the error line must start with `error: `:\n{self}"
        );
        lines[0].to_string()
    }
}

#[track_caller]
pub fn assert_no_panic(run: &Run) {
    for word in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(
            !run.stderr.contains(word) && !run.stdout.contains(word),
            "the binary panicked:\n{run}"
        );
    }
}

/// Runs a command to completion (stdin closed, output captured), killing it after `timeout`.
pub fn run_command(mut cmd: Command, timeout: Duration) -> Run {
    let command = describe(&cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`{command}` did not finish within {timeout:?}; stderr so far:\n{}",
                String::from_utf8_lossy(&stderr.join().unwrap())
            );
        }
        thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    Run {
        command,
        status,
        stdout: String::from_utf8_lossy(&stdout.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&stderr.join().unwrap()).into_owned(),
        elapsed,
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

fn describe(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Waits for a spawned child, killing it (and failing the test) after `timeout`.
pub fn wait_with_timeout(child: &mut Child, timeout: Duration, what: &str) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {timeout:?}");
        }
        thread::sleep(Duration::from_millis(5));
    }
}

// ---------------------------------------------------------------------------------------------
// A Lifeboat home in a temp folder
// ---------------------------------------------------------------------------------------------

/// A temp folder holding a Lifeboat `--home` (not created up front: Lifeboat creates it) and a
/// scratch folder for the application's databases.
pub struct Home {
    root: TempDir,
    home: PathBuf,
}

impl Default for Home {
    fn default() -> Self {
        Self::new()
    }
}

impl Home {
    pub fn new() -> Self {
        let root = tempfile::Builder::new()
            .prefix("lifeboat-test-")
            .tempdir()
            .expect("temp dir");
        fs::create_dir(root.path().join("app")).unwrap();
        let home = root.path().join("home");
        Home { root, home }
    }

    /// The `--home` folder.
    pub fn path(&self) -> &Path {
        &self.home
    }

    /// A path in the scratch folder, where the application's files live (outside the home).
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.root.path().join("app").join(name)
    }

    pub fn backups(&self) -> PathBuf {
        self.home.join("backups")
    }

    pub fn config_file(&self) -> PathBuf {
        self.home.join("config.toml")
    }

    pub fn artifact(&self, id: &str) -> PathBuf {
        self.backups().join(format!("{id}.sqlite.zst"))
    }

    pub fn manifest_path(&self, id: &str) -> PathBuf {
        self.backups().join(format!("{id}.manifest.json"))
    }

    pub fn manifest(&self, id: &str) -> Value {
        let path = self.manifest_path(id);
        let text = fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON ({e}):\n{text}", path.display()))
    }

    /// `lifeboat --home HOME ARGS...`, ready to spawn.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(LIFEBOAT);
        cmd.arg("--home").arg(&self.home).args(args);
        cmd.env_remove("LIFEBOAT_HOME");
        cmd
    }

    /// Runs `lifeboat --home HOME ARGS...` to completion.
    pub fn run(&self, args: &[&str]) -> Run {
        run_command(self.command(args), COMMAND_TIMEOUT)
    }

    /// Starts `lifeboat --home HOME ARGS...` in the background, output discarded (for kill tests).
    pub fn spawn(&self, args: &[&str]) -> Child {
        let mut cmd = self.command(args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd.spawn().expect("spawn lifeboat")
    }

    /// `lifeboat config set KEY VALUE`, which must succeed.
    #[track_caller]
    pub fn config_set(&self, key: &str, value: &str) {
        self.run(&["config", "set", key, value]).ok();
    }

    pub fn write_config(&self, text: &str) {
        fs::create_dir_all(&self.home).unwrap();
        fs::write(self.config_file(), text).unwrap();
    }

    /// `lifeboat backup --db DB --json`, which must succeed; returns the backup it printed.
    #[track_caller]
    pub fn backup(&self, db: &Path) -> Value {
        let run = self.run(&["backup", "--db", s(db), "--json"]).ok();
        let backup = run.json();
        assert_backup_shape(&backup, "manual");
        backup
    }

    /// `lifeboat list --json`, which must succeed.
    #[track_caller]
    pub fn list(&self) -> Vec<Value> {
        let run = self.run(&["list", "--json"]).ok();
        match run.json() {
            Value::Array(items) => items,
            other => panic!("list --json must print an array, got {other}"),
        }
    }

    /// The ids `list` shows, newest first.
    #[track_caller]
    pub fn ids(&self) -> Vec<String> {
        self.list().iter().map(|b| id_of(b).to_string()).collect()
    }

    /// Files in the backups folder that are neither a listed backup's artifact or manifest nor
    /// SHA256SUMS: temp files, half-written artifacts, manifests without artifacts...
    #[track_caller]
    pub fn leftovers(&self) -> Vec<String> {
        let dir = self.backups();
        if !dir.is_dir() {
            return Vec::new();
        }
        let mut allowed = BTreeSet::from(["SHA256SUMS".to_string()]);
        for id in self.ids() {
            allowed.insert(format!("{id}.sqlite.zst"));
            allowed.insert(format!("{id}.manifest.json"));
        }
        file_names(&dir)
            .into_iter()
            .filter(|name| !allowed.contains(name))
            .collect()
    }

    #[track_caller]
    pub fn assert_no_leftovers(&self) {
        let leftovers = self.leftovers();
        assert!(
            leftovers.is_empty(),
            "the backups folder {} holds files that belong to no listed backup: {leftovers:?}",
            self.backups().display()
        );
    }
}

pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

pub fn id_of(backup: &Value) -> &str {
    backup["id"]
        .as_str()
        .unwrap_or_else(|| panic!("backup without a string id: {backup}"))
}

/// Checks one backup object against the README's shape and returns its id.
#[track_caller]
pub fn assert_backup_shape(backup: &Value, kind: &str) {
    let id = id_of(backup);
    assert!(
        looks_like_id(id),
        "id {id:?} does not look like 20261125T200348.123Z-{kind}"
    );
    assert!(
        id.contains(&format!("-{kind}")),
        "id {id:?} should name its kind {kind}"
    );
    let created_at = backup["created_at"].as_str().unwrap_or_default();
    assert!(
        is_rfc3339(created_at),
        "created_at {created_at:?} is not RFC 3339 in {backup}"
    );
    assert_eq!(backup["kind"], kind, "kind in {backup}");
    assert!(
        backup["size"].as_u64().is_some_and(|n| n > 0),
        "size in {backup}"
    );
    assert!(
        backup["db_size"].as_u64().is_some_and(|n| n > 0),
        "db_size in {backup}"
    );
    assert!(
        is_sha256_hex(backup["sha256"].as_str().unwrap_or_default()),
        "sha256 in {backup}"
    );
    assert!(
        ["local", "drive", "both"].contains(&backup["location"].as_str().unwrap_or_default()),
        "location in {backup}"
    );
}

/// `20261125T200348Z-manual`: a UTC timestamp (fractions of a second tolerated, as in
/// `20261125T200348.123Z`), a dash, then the kind.
pub fn looks_like_id(id: &str) -> bool {
    let Some((stamp, kind)) = id.split_once('-') else {
        return false;
    };
    let b = stamp.as_bytes();
    let head = b.len() >= 16
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit);
    let tail = &stamp[15.min(stamp.len())..];
    let tail_ok = tail == "Z"
        || (tail.starts_with('.')
            && tail.ends_with('Z')
            && tail.len() > 2
            && tail[1..tail.len() - 1].bytes().all(|c| c.is_ascii_digit()));
    head && tail_ok && !kind.is_empty()
}

/// The time an id was taken at, as `YYYYMMDDTHHMMSS` plus its fraction digits (maybe empty).
pub fn id_time(id: &str) -> (String, String) {
    let stamp = id.split_once('-').map(|(s, _)| s).unwrap_or(id);
    let stamp = stamp.trim_end_matches('Z');
    match stamp.split_once('.') {
        Some((secs, frac)) => (secs.to_string(), frac.to_string()),
        None => (stamp.to_string(), String::new()),
    }
}

pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// `2026-11-25T20:03:48.123456Z` or with an offset like `+01:00`.
pub fn is_rfc3339(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() < 20 {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let head = digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && (b[10] == b'T' || b[10] == b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !head {
        return false;
    }
    let mut rest = &text[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    rest == "Z"
        || rest == "z"
        || (rest.len() == 6
            && (rest.starts_with('+') || rest.starts_with('-'))
            && rest.as_bytes()[3] == b':')
}

/// The UTC instant of an RFC 3339 `Z` timestamp as `YYYYMMDDTHHMMSSZ`, the form ids start with.
pub fn compact_utc(created_at: &str) -> String {
    format!("{}Z", compact_utc_secs(created_at))
}

/// `YYYYMMDDTHHMMSS` of an RFC 3339 `Z` timestamp.
pub fn compact_utc_secs(created_at: &str) -> String {
    assert!(
        created_at.ends_with('Z'),
        "expected a UTC timestamp: {created_at}"
    );
    let digits: String = created_at[..19]
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    format!("{}T{}", &digits[..8], &digits[8..14])
}

/// The fraction-of-a-second digits of an RFC 3339 timestamp (maybe empty).
pub fn fraction_digits(created_at: &str) -> String {
    created_at
        .get(19..)
        .and_then(|rest| rest.strip_prefix('.'))
        .map(|frac| frac.chars().take_while(char::is_ascii_digit).collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// The application's database
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Journal {
    Wal,
    Rollback,
}

impl Journal {
    pub fn pragma(self) -> &'static str {
        match self {
            Journal::Wal => "wal",
            Journal::Rollback => "delete",
        }
    }
}

pub fn open(path: &Path) -> Connection {
    let conn =
        Connection::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn
}

pub fn set_journal(conn: &Connection, journal: Journal) {
    let mode: String = conn
        .query_row(
            &format!("PRAGMA journal_mode={}", journal.pragma()),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(mode, journal.pragma(), "journal mode not set");
}

/// A database shaped like an application's `store.db`: a table of named items, plus `filler_kb`
/// of random text so that it is not trivially small.
pub fn create_items_db(
    path: &Path,
    journal: Journal,
    items: &[&str],
    filler_kb: u32,
) -> Connection {
    create_items_db_with_page_size(path, 4096, journal, items, filler_kb)
}

pub fn create_items_db_with_page_size(
    path: &Path,
    page_size: u32,
    journal: Journal,
    items: &[&str],
    filler_kb: u32,
) -> Connection {
    let conn = open(path);
    conn.execute_batch(&format!("PRAGMA page_size = {page_size}"))
        .unwrap();
    set_journal(&conn, journal);
    conn.execute_batch(
        "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL);
         CREATE TABLE filler(id INTEGER PRIMARY KEY, body TEXT);
         CREATE INDEX items_name ON items(name);",
    )
    .unwrap();
    for name in items {
        conn.execute("INSERT INTO items(name) VALUES (?1)", [name])
            .unwrap();
    }
    add_filler(&conn, filler_kb);
    conn
}

/// Adds about `kb` KiB of incompressible-ish text (hex of random bytes, varied lengths).
pub fn add_filler(conn: &Connection, kb: u32) {
    if kb == 0 {
        return;
    }
    // Rows average 1,100 characters of text.
    let rows = (i64::from(kb) * 1024 / 1100).max(1);
    conn.execute(
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?1)
         INSERT INTO filler(body) SELECT hex(randomblob(100 + abs(random()) % 900)) FROM c",
        [rows],
    )
    .unwrap();
}

/// The item names, in id order.
pub fn items(conn: &Connection) -> Vec<String> {
    let mut stmt = conn.prepare("SELECT name FROM items ORDER BY id").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

pub fn items_at(path: &Path) -> Vec<String> {
    items(&open(path))
}

/// `PRAGMA integrity_check` through rusqlite (which rolls back a hot journal first).
/// "ok" for a sound database; otherwise SQLite's complaints (or the error it gave).
pub fn integrity(conn: &Connection) -> String {
    let check = || -> rusqlite::Result<Vec<String>> {
        let mut stmt = conn.prepare("PRAGMA integrity_check")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect()
    };
    match check() {
        Ok(rows) => rows.join("\n"),
        Err(error) => format!("error: {error}"),
    }
}

/// The whole logical content of a database: its schema and every row of every table, as text.
/// Two databases with equal dumps hold the same data, whatever their page layout.
pub fn dump(conn: &Connection) -> Vec<String> {
    let mut lines = Vec::new();
    let schema: Vec<(String, String, Option<String>)> = {
        let mut stmt = conn
            .prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY type, name")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    for (kind, name, sql) in &schema {
        lines.push(format!("{kind} {name}: {}", sql.as_deref().unwrap_or("")));
    }
    for (kind, name, _) in &schema {
        if kind != "table" || name.starts_with("sqlite_") {
            continue;
        }
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{name}\" ORDER BY rowid"))
            .unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let mut line = format!("{name}:");
            for i in 0..columns {
                let value: rusqlite::types::Value = row.get(i).unwrap();
                line.push_str(&format!(" {value:?}"));
            }
            lines.push(line);
        }
    }
    let user_version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    lines.push(format!("user_version {user_version}"));
    lines
}

pub fn dump_at(path: &Path) -> Vec<String> {
    dump(&open(path))
}

/// A bank of accounts whose total never changes under the writer's transfers, plus filler.
pub fn create_accounts_db(
    path: &Path,
    journal: Journal,
    accounts: u32,
    balance_each: i64,
    filler_kb: u32,
) -> i64 {
    let conn = open(path);
    set_journal(&conn, journal);
    conn.execute_batch(
        "CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
         CREATE TABLE filler(id INTEGER PRIMARY KEY, body TEXT);",
    )
    .unwrap();
    conn.execute(
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?1)
         INSERT INTO accounts(id, balance) SELECT i, ?2 FROM c",
        rusqlite::params![accounts, balance_each],
    )
    .unwrap();
    add_filler(&conn, filler_kb);
    i64::from(accounts) * balance_each
}

pub fn file_size(path: &Path) -> u64 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("cannot stat {}: {e}", path.display()))
        .len()
}

pub fn read_bytes(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The main file and any journal/WAL beside it, so a test can show nothing changed at all.
pub fn db_files_snapshot(db: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    ["", "-wal", "-journal"]
        .iter()
        .map(|suffix| {
            let path = PathBuf::from(format!("{}{suffix}", db.display()));
            (suffix.to_string(), fs::read(&path).ok())
        })
        .collect()
}

/// Removes a database and the files SQLite keeps beside it.
pub fn remove_db(db: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = fs::remove_file(format!("{}{suffix}", db.display()));
    }
}

/// A large database (about `mb` MiB of varied random text, with an index) built once per size and
/// cached under cargo's test temp dir, so kill tests have something that takes a while to copy.
/// Rollback-journal mode. Copy it with [`copy_db`] before use.
pub fn big_db_template(mb: u32) -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lifeboat-fixtures");
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("big-{mb}mb-v1.db"));
    if path.exists() {
        return path;
    }
    // Built with the stock sqlite3 (optimised) rather than the debug-built bundled SQLite: faster.
    let tmp = dir.join(format!("big-{mb}mb-v1.db.{}.tmp", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let rows = u64::from(mb) * 1024 * 1024 / 1450;
    let sql = format!(
        "PRAGMA journal_mode=delete;
         PRAGMA synchronous=off;
         CREATE TABLE marker(version TEXT);
         INSERT INTO marker VALUES ('original');
         CREATE TABLE docs(id INTEGER PRIMARY KEY, title TEXT, body TEXT);
         BEGIN;
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {rows})
         INSERT INTO docs(title, body)
           SELECT 'doc ' || i, hex(randomblob(60 + abs(random()) % 1000)) FROM c;
         COMMIT;
         CREATE INDEX docs_title ON docs(title);"
    );
    let out = Command::new("sqlite3")
        .arg(&tmp)
        .arg(&sql)
        .output()
        .expect("stock sqlite3 is installed");
    assert!(
        out.status.success(),
        "building the big database failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    fs::rename(&tmp, &path).unwrap();
    path
}

pub fn copy_db(from: &Path, to: &Path) {
    remove_db(to);
    fs::copy(from, to).unwrap();
}

/// A cheap fingerprint of a big database: its marker, row count and total text length.
pub fn fingerprint(conn: &Connection) -> (String, i64, i64) {
    conn.query_row(
        "SELECT (SELECT version FROM marker), COUNT(*), SUM(length(body)) FROM docs",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Stock tools: what a person has when Lifeboat is gone
// ---------------------------------------------------------------------------------------------

/// `zstd -d -f ARTIFACT -o OUT` with the system's zstd.
#[track_caller]
pub fn stock_zstd_decompress(artifact: &Path, out: &Path) {
    let mut cmd = Command::new("zstd");
    cmd.args(["-q", "-d", "-f"])
        .arg(artifact)
        .arg("-o")
        .arg(out);
    let run = run_command(cmd, Duration::from_secs(60));
    assert!(run.status.success(), "stock zstd failed:\n{run}");
}

/// Runs SQL with the system's `sqlite3` (read-only, so it can never change the file) and returns
/// its trimmed output.
#[track_caller]
pub fn stock_sqlite3(db: &Path, sql: &str) -> String {
    let mut cmd = Command::new("sqlite3");
    cmd.arg("-readonly").arg(db).arg(sql);
    let run = run_command(cmd, Duration::from_secs(60));
    assert!(run.status.success(), "stock sqlite3 failed:\n{run}");
    assert!(
        run.stderr.trim().is_empty(),
        "stock sqlite3 complained:\n{run}"
    );
    run.stdout.trim().to_string()
}

/// The SHA-256 of a file, as the system's `sha256sum` prints it.
#[track_caller]
pub fn sha256_of(path: &Path) -> String {
    let mut cmd = Command::new("sha256sum");
    cmd.arg(path);
    let run = run_command(cmd, Duration::from_secs(60));
    assert!(run.status.success(), "sha256sum failed:\n{run}");
    run.stdout
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// `sha256sum -c SHA256SUMS` run inside the backups folder.
pub fn sha256sum_check(dir: &Path) -> Run {
    let mut cmd = Command::new("sha256sum");
    cmd.args(["-c", "SHA256SUMS"]).current_dir(dir);
    run_command(cmd, Duration::from_secs(60))
}

// ---------------------------------------------------------------------------------------------
// Other processes: a busy application and a lock holder
// ---------------------------------------------------------------------------------------------

/// The application writing to its database: tests/support/writer.py in its own process.
pub struct Writer {
    child: Child,
    stdout: BufReader<ChildStdout>,
    stop_file: PathBuf,
}

#[derive(Debug)]
pub struct WriterReport {
    pub transactions: u64,
    pub max_stall_ms: f64,
}

impl Writer {
    /// Starts the writer and waits for its first commit.
    pub fn start(db: &Path, stop_file: &Path) -> Writer {
        let mut child = Command::new(PYTHON)
            .arg(support_script("writer.py"))
            .arg(db)
            .arg(stop_file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start writer.py");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        if line.trim() != "ready" {
            let _ = child.kill();
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("writer.py did not start: {line:?} {err}");
        }
        Writer {
            child,
            stdout,
            stop_file: stop_file.to_path_buf(),
        }
    }

    /// Stops the writer and asserts that none of its transactions ever failed.
    #[track_caller]
    pub fn stop(mut self) -> WriterReport {
        fs::write(&self.stop_file, b"stop").unwrap();
        let status = wait_with_timeout(&mut self.child, Duration::from_secs(30), "writer.py");
        let mut report = String::new();
        self.stdout.read_to_string(&mut report).unwrap();
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(
            status.success(),
            "the application's writer was failed while Lifeboat ran ({status}): {err}"
        );
        let report: Value = serde_json::from_str(report.trim())
            .unwrap_or_else(|e| panic!("writer report {report:?}: {e}"));
        WriterReport {
            transactions: report["transactions"].as_u64().unwrap(),
            max_stall_ms: report["max_stall_ms"].as_f64().unwrap(),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Another process holding `BEGIN EXCLUSIVE` on a database: tests/support/hold_lock.py.
pub struct LockHolder {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl LockHolder {
    pub fn lock(db: &Path) -> LockHolder {
        Self::start(db, &[])
    }

    /// For a WAL database: `PRAGMA locking_mode=EXCLUSIVE` first, so readers are kept out too.
    pub fn lock_in_exclusive_mode(db: &Path) -> LockHolder {
        Self::start(db, &["--exclusive-mode"])
    }

    fn start(db: &Path, extra: &[&str]) -> LockHolder {
        let mut child = Command::new(PYTHON)
            .arg(support_script("hold_lock.py"))
            .arg(db)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start hold_lock.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "locked", "hold_lock.py did not take the lock");
        let stdin = child.stdin.take();
        LockHolder { child, stdin }
    }

    /// Lets go of the lock (rolling back) and waits for the holder to exit cleanly.
    pub fn release(mut self) {
        drop(self.stdin.take());
        let status = wait_with_timeout(&mut self.child, Duration::from_secs(10), "hold_lock.py");
        assert!(status.success(), "hold_lock.py failed: {status}");
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.flush();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Backups from the past
// ---------------------------------------------------------------------------------------------

/// Adds a backup dated `created_at` (RFC 3339, UTC) to the folder, as a copy of backup `from`: a
/// consistent one, with an id from its date, a manifest naming it and a SHA256SUMS line. This is
/// how a folder kept for days looks, without waiting days. Returns the new id.
pub fn forge_backup(home: &Home, from: &str, created_at: &str, kind: &str) -> String {
    let id = format!("{}-{kind}", compact_utc(created_at));
    let artifact = format!("{id}.sqlite.zst");
    fs::copy(home.artifact(from), home.backups().join(&artifact)).unwrap();
    let mut manifest = home.manifest(from);
    manifest["id"] = Value::from(id.clone());
    manifest["created_at"] = Value::from(created_at);
    manifest["kind"] = Value::from(kind);
    manifest["artifact"] = Value::from(artifact.clone());
    fs::write(
        home.manifest_path(&id),
        serde_json::to_string_pretty(&manifest).unwrap(),
    )
    .unwrap();
    let sums_path = home.backups().join("SHA256SUMS");
    let mut sums = fs::read_to_string(&sums_path).unwrap_or_default();
    if !sums.is_empty() && !sums.ends_with('\n') {
        sums.push('\n');
    }
    sums.push_str(&format!(
        "{}  {artifact}\n",
        manifest["sha256"].as_str().unwrap()
    ));
    fs::write(&sums_path, sums).unwrap();
    id
}

/// Removes a backup's files and its SHA256SUMS line by hand.
pub fn remove_backup_by_hand(home: &Home, id: &str) {
    fs::remove_file(home.artifact(id)).unwrap();
    fs::remove_file(home.manifest_path(id)).unwrap();
    let sums_path = home.backups().join("SHA256SUMS");
    let sums: String = fs::read_to_string(&sums_path)
        .unwrap()
        .lines()
        .filter(|l| !l.contains(id))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&sums_path, sums).unwrap();
}

/// `date -u -d WHEN +%Y-%m-%dT%H:%M:%SZ`: an RFC 3339 UTC time such as "yesterday 18:00" or
/// "3 days ago", computed by the system's `date`.
pub fn utc_date(when: &str) -> String {
    let out = Command::new("date")
        .env("TZ", "UTC")
        .args(["-u", "-d", when, "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    assert!(out.status.success(), "date -d {when:?} failed");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
