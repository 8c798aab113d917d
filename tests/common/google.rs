//! The world of the Google Drive tests: a loopback fake of Google (tests/support/fake_google.py), a
//! fake browser (tests/support/xdg-open, first on PATH) and gnome-keyring's Secret Service on a
//! private D-Bus session bus, each started per test and killed when it is dropped.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

use super::{Home, Journal, Run, create_items_db, run_command, s, support_script};

/// A private session bus with an unlocked gnome-keyring on it, killed on drop.
pub struct Keyring {
    folder: TempDir,
    bus: Child,
    daemon: Option<Child>,
    address: String,
}

impl Keyring {
    pub fn start() -> Keyring {
        let folder = tempfile::Builder::new()
            .prefix("lifeboat-keyring-")
            .tempdir()
            .unwrap();
        for name in ["home", "data", "runtime"] {
            fs::create_dir_all(folder.path().join(name)).unwrap();
        }
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (Debian package dbus) must be installed");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_string();
        let mut keyring = Keyring {
            folder,
            bus,
            daemon: None,
            address,
        };
        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .envs(keyring.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon (Debian package gnome-keyring) must be installed");
        daemon.stdin.take().unwrap().write_all(b"pw").unwrap();
        keyring.daemon = Some(daemon);
        // The daemon owns org.freedesktop.secrets once it is ready.
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let owned = Command::new("dbus-send")
                .envs(keyring.env())
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .output()
                .map(|output| String::from_utf8_lossy(&output.stdout).contains("true"))
                .unwrap_or(false);
            if owned {
                return keyring;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("gnome-keyring did not come up on the private bus");
    }

    /// The address of the keyring's session bus.
    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn env(&self) -> Vec<(String, String)> {
        let path = |name: &str| s(&self.folder.path().join(name)).to_string();
        vec![
            ("DBUS_SESSION_BUS_ADDRESS".into(), self.address.clone()),
            ("HOME".into(), path("home")),
            ("XDG_DATA_HOME".into(), path("data")),
            ("XDG_RUNTIME_DIR".into(), path("runtime")),
        ]
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        if let Some(daemon) = &mut self.daemon {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

/// The loopback fake of Google, killed on drop.
pub struct Google {
    child: Child,
    pub port: u16,
    _data: TempDir,
}

impl Google {
    pub fn start() -> Google {
        let data = tempfile::Builder::new()
            .prefix("lifeboat-google-")
            .tempdir()
            .unwrap();
        let mut child = Command::new("/usr/bin/python3")
            .arg(support_script("fake_google.py"))
            .arg(data.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|port| port.parse().ok())
            .expect("the fake prints its port");
        Google {
            child,
            port,
            _data: data,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// A plain HTTP/1.1 request to the fake's control endpoints.
    pub fn request(&self, method: &str, path: &str, body: &str) -> Value {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or("null");
        serde_json::from_str(body).unwrap()
    }

    pub fn control(&self, what: &str, body: Value) {
        self.request("POST", &format!("/_control/{what}"), &body.to_string());
    }

    pub fn fault(&self, fault: Value) {
        self.control("fault", fault);
    }

    pub fn state(&self) -> Value {
        self.request("GET", "/_control/state", "")
    }

    pub fn files(&self) -> Vec<Value> {
        self.state()["files"].as_array().unwrap().clone()
    }

    /// Backups (files with a Lifeboat id) on the fake Drive.
    pub fn backups(&self) -> Vec<Value> {
        self.files()
            .into_iter()
            .filter(|file| file["appProperties"]["id"].is_string())
            .collect()
    }

    pub fn counter(&self, name: &str) -> u64 {
        self.state()["counters"][name].as_u64().unwrap()
    }
}

impl Drop for Google {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One person's world: a Lifeboat home, a keyring, the fake Google, a browser and a client secret.
pub struct World {
    pub home: Home,
    pub keyring: Keyring,
    pub google: std::rc::Rc<Google>,
    pub browser_log: PathBuf,
    pub secret: PathBuf,
}

impl World {
    pub fn new() -> World {
        World::with_google(std::rc::Rc::new(Google::start()))
    }

    /// Another machine of the same person: a new home and keyring, the same Google.
    pub fn with_google(google: std::rc::Rc<Google>) -> World {
        let home = Home::new();
        let secret = home.scratch("client_secret.json");
        fs::write(
            &secret,
            json!({"installed": {"client_id": "lifeboat-test.apps.googleusercontent.com",
                "client_secret": "GOCSPX-test", "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                "token_uri": "https://oauth2.googleapis.com/token", "redirect_uris": ["http://localhost"]}})
            .to_string(),
        )
        .unwrap();
        World {
            browser_log: home.scratch("browser.log"),
            home,
            keyring: Keyring::start(),
            google,
            secret,
        }
    }

    /// The variables that put Lifeboat in this world: keyring bus, fake browser, fake Google.
    pub fn environment(&self) -> Vec<(String, String)> {
        let support = support_script("");
        let path = format!(
            "{}:{}",
            s(&support),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut variables = self.keyring.env();
        let google = |path: &str| self.google.url(path);
        variables.extend([
            ("PATH".to_string(), path),
            ("FAKE_BROWSER_LOG".into(), s(&self.browser_log).to_string()),
            ("LIFEBOAT_GOOGLE_AUTH_URL".into(), google("/o/oauth2/auth")),
            ("LIFEBOAT_GOOGLE_TOKEN_URL".into(), google("/token")),
            ("LIFEBOAT_GOOGLE_REVOKE_URL".into(), google("/revoke")),
            ("LIFEBOAT_GOOGLE_API_URL".into(), google("")),
            ("LIFEBOAT_DRIVE_BACKOFF_MS".into(), "50".into()),
            ("LIFEBOAT_CONSENT_TIMEOUT_SECS".into(), "30".into()),
        ]);
        variables
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = self.home.command(args);
        command.envs(self.environment());
        command
    }

    pub fn run(&self, args: &[&str]) -> Run {
        run_command(self.command(args), Duration::from_secs(180))
    }

    pub fn connect(&self) {
        self.run(&["drive", "connect", "--client-secret", s(&self.secret)])
            .ok();
    }

    pub fn database(&self, items: &[&str]) -> PathBuf {
        let db = self.home.scratch("store.db");
        create_items_db(&db, Journal::Wal, items, 16);
        self.home.config_set("database.path", s(&db));
        db
    }

    pub fn backup(&self) -> Value {
        self.run(&["backup", "--json"]).ok().json()
    }
}

/// A database whose artifact is about `megabytes` MB: random blobs do not compress.
pub fn incompressible_database(path: &Path, megabytes: usize) {
    let connection = rusqlite::Connection::open(path).unwrap();
    connection
        .execute_batch("CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE blobs(b BLOB); INSERT INTO items(name) VALUES ('big');")
        .unwrap();
    for _ in 0..megabytes {
        connection
            .execute("INSERT INTO blobs VALUES (randomblob(1048576))", [])
            .unwrap();
    }
}
