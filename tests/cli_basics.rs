//! The command line's everyday surface: where things live, the home from the environment, empty
//! states, human output next to --json.

mod common;

use std::fs;

use common::*;

#[test]
fn lifeboat_home_in_the_environment_works_like_home() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Wal, &["x"], 0);
    let mut cmd = std::process::Command::new(LIFEBOAT);
    cmd.env("LIFEBOAT_HOME", home.path())
        .args(["backup", "--db", s(&db), "--json"]);
    let backup = run_command(cmd, COMMAND_TIMEOUT).ok().json();
    assert_eq!(home.ids(), vec![id_of(&backup).to_string()]);
    assert!(home.path().join("logs/lifeboat.log").is_file());
    assert!(home.path().join("state/history.jsonl").is_file());
}

#[test]
fn config_path_names_the_file_in_the_home() {
    let home = Home::new();
    let run = home.run(&["config", "path"]).ok();
    assert_eq!(run.stdout.trim(), s(&home.config_file()));
    home.config_set("retention.keep_local", "7");
    let shown = home.run(&["config", "show"]).ok();
    assert!(shown.stdout.contains("keep_local = 7"), "{shown}");
    let file = fs::read_to_string(home.config_file()).unwrap();
    assert!(file.contains("keep_local = 7"), "{file}");
}

#[test]
fn an_empty_home_lists_nothing_and_verifies_nothing() {
    let home = Home::new();
    assert!(home.list().is_empty());
    let verify = home.run(&["verify", "--json"]).ok().json();
    assert_eq!(verify, serde_json::json!([]));
    let prune = home.run(&["prune", "--dry-run", "--json"]).ok().json();
    assert_eq!(prune["remove"], serde_json::json!([]));
}

#[test]
fn human_output_names_the_backup() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Wal, &["x"], 0);
    let run = home.run(&["backup", "--db", s(&db)]).ok();
    let id = home.ids().remove(0);
    assert!(
        run.stdout.contains(&id),
        "backup says which backup it made:\n{run}"
    );
    let list = home.run(&["list"]).ok();
    assert!(list.stdout.contains(&id), "{list}");
    home.run(&["health"]);
}

#[test]
fn a_relative_database_path_is_taken_from_the_working_folder() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Rollback, &["relative"], 0);
    let mut cmd = home.command(&["backup", "--db", "store.db", "--json"]);
    cmd.current_dir(db.parent().unwrap());
    let backup = run_command(cmd, COMMAND_TIMEOUT).ok().json();
    let id = id_of(&backup).to_string();
    let restored = home.scratch("restored.db");
    home.run(&["restore", &id, "--db", s(&restored)]).ok();
    assert_eq!(items_at(&restored), ["relative"]);
}

#[test]
fn without_home_lifeboat_uses_the_platform_folders() {
    let home = Home::new();
    let user_home = home.scratch("user");
    fs::create_dir_all(&user_home).unwrap();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Wal, &["x"], 0);
    let lifeboat = |args: &[&str]| {
        let mut cmd = std::process::Command::new(LIFEBOAT);
        cmd.args(args)
            .env("HOME", &user_home)
            .env_remove("LIFEBOAT_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME");
        run_command(cmd, COMMAND_TIMEOUT)
    };
    let path = lifeboat(&["config", "path"]).ok();
    assert_eq!(
        path.stdout.trim(),
        s(&user_home.join(".config/lifeboat/config.toml"))
    );
    let backup = lifeboat(&["backup", "--db", s(&db), "--json"]).ok().json();
    let id = id_of(&backup);
    assert!(
        user_home
            .join(format!(".local/share/lifeboat/backups/{id}.sqlite.zst"))
            .is_file(),
        "the backup is in ~/.local/share/lifeboat/backups"
    );
}
