//! Makes a small sample `store.db` (customers, orders, notes) to try Lifeboat on:
//! `cargo run --example sample_store -- PATH`. An existing file at PATH is left alone.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: sample_store PATH (the database file to create)")?,
    );
    if path.exists() {
        println!("{} already exists; leaving it as it is.", path.display());
        return Ok(());
    }
    if let Some(folder) = path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
    {
        std::fs::create_dir_all(folder)?;
    }
    let connection = rusqlite::Connection::open(&path)?;
    connection.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);
         CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
                              total_cents INTEGER, placed_at TEXT);
         CREATE TABLE notes (id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES orders(id), body TEXT);
         CREATE INDEX orders_by_customer ON orders(customer_id);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
           INSERT INTO customers(name, email) SELECT 'Customer ' || i, 'c' || i || '@example.com' FROM n;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
           INSERT INTO orders(customer_id, total_cents, placed_at)
           SELECT 1 + abs(random()) % 2000, abs(random()) % 100000, datetime('now', '-' || i || ' minutes') FROM n;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
           INSERT INTO notes(order_id, body)
           SELECT i, substr(hex(randomblob(200)), 1, 20 + abs(random()) % 380) FROM n;",
    )?;
    println!("Made the sample database {}.", path.display());
    Ok(())
}
