#!/usr/bin/python3
"""Generate a realistic office-app SQLite database of about SIZE_MB megabytes.

    gen_db.py PATH SIZE_MB

Schema: customers, orders, notes (with secondary indexes), text of varied length drawn from a
Zipf-like vocabulary, plus numbers, dates, emails and phone numbers, so that zstd -3 compresses it
about as well as real application data (roughly 3x), not like random bytes or like one repeated string.

Python only builds the small lookup tables (names, words, sentences); the bulk rows are produced inside
SQLite by recursive CTEs, in batches, until page_count * page_size reaches the target. The result is in
rollback-journal (DELETE) mode, page size 4096.
"""

import os
import random
import sqlite3
import sys
import time

FIRST = """James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard
Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Nancy Daniel Lisa Matthew Betty Anthony
Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Dorothy
Kevin Carol Brian Amanda George Melissa Edward Deborah Ronald Stephanie Timothy Rebecca Jason Sharon
Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy Nicholas Shirley Eric Angela Jonathan Helen Stephen
Anna Larry Brenda Justin Pamela Scott Nicole Brandon Emma Benjamin Samantha Samuel Katherine Gregory
Christine Frank Debra Alexander Rachel Raymond Catherine Patrick Carolyn Jack Janet Dennis Ruth Jerry
Maria Tyler Heather Aaron Diane Jose Virginia Adam Julie Henry Joyce Nathan Victoria Douglas Olivia
Zachary Kelly Peter Christina Kyle Lauren Walter Joan Ethan Evelyn Jeremy Judith Harold Megan Keith
Cheryl Christian Andrea Roger Hannah Noah Martha Gerald Jacqueline Carl Frances Terry Gloria Sean Ann
Austin Teresa Arthur Kathryn Lawrence Sara Jesse Janice Dylan Jean Bryan Alice Joe Madison Jordan Doris
Billy Abigail Bruce Julia Albert Judy Willie Grace Gabriel Denise Logan Amber Alan Marilyn Juan Beverly
Wayne Danielle Roy Theresa Ralph Sophia Randy Marie Eugene Diana Vincent Brittany Russell Natalie Elijah
Isabella Louis Charlotte Bobby Rose Philip Alexis Johnny Kayla Sven Ingrid Hiroshi Yuki Wei Mei Amara
Kwame Fatima Omar Priya Rahul Elena Dmitri Lucia Mateo Chiara Luca Aisha Tariq Nadia Lars Astrid""".split()

LAST = """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez
Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams
Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz
Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson
Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray
Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins
Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero
Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant
Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez
McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford
Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer
Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels
Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold
Pierce Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll
Lane Riley Andrews Alvarado Ray Delgado Berry Perkins Hoffmann Johansson Yamamoto Nakamura Kowalski
Novak Rossi Bianchi Dubois Lefebvre Muller Schneider Fischer Weber Becker Larsen Nielsen Okafor""".split()

CITIES = """Springfield Riverside Franklin Greenville Bristol Clinton Fairview Salem Madison Georgetown
Arlington Ashland Burlington Manchester Oxford Milton Newport Dover Hudson Kingston Jackson Auburn
Dayton Lexington Milford Winchester Cleveland Hamilton Chester Lancaster Marion Clayton Jamestown
Lyon Porto Bremen Leipzig Utrecht Ghent Turin Malmo Tampere Krakow Brno Graz Basel Bergen Aarhus
Osaka Busan Pune Austin Denver Portland Tucson Boise Omaha Reno Fresno Tulsa Wichita Raleigh""".split()

STREETS = """Main Oak Pine Maple Cedar Elm Washington Lake Hill Park Walnut Sunset Lincoln Jackson
Church River Highland Meadow Forest Spring Ridge Valley Willow Mill Chestnut Franklin Adams Center
Jefferson Cherry Madison Laurel Poplar Birch Hickory Dogwood Magnolia Railroad Prospect Bridge""".split()

SUFFIXES = "Street Avenue Road Lane Drive Court Boulevard Way Place Terrace".split()

DOMAINS = """example.com mail.example.org acme.test contoso.example fabrikam.test globex.example
initech.test umbrella.example hooli.test example.net""".split()

STATUSES = "draft pending paid packed shipped delivered returned cancelled refunded".split()

AUTHORS = """alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy rupert
sybil trent victor walter""".split()

COMMON = """the a to of and in for on is was with that it this as at by from be are have has had not
will can customer order invoice payment delivery shipment package call email phone meeting client
account contract quote discount price total due paid refund return replacement warranty issue request
update follow up confirmed asked about wants needs please thanks again next week monday tuesday
wednesday thursday friday today tomorrow yesterday morning afternoon sent received checked agreed
approved rejected pending missing damaged late early partial full balance credit note team manager
office warehouse supplier product item items stock backorder catalog sample report review schedule
meeting notes regarding per our their his her they we he she them after before during until since
new old same other first last more less very also only just still already again soon later""".split()

SYLL = """ka lo mi ne ru ta ve zo bri cal den fer gor hal jin kel lum mor nal pel quin ros sul tor
vin wel xan yor zen ar el in or un ex pro con tra ment ing tion er ly al ic ous ive""".split()


def make_vocab(rng, n):
    words = list(dict.fromkeys(COMMON))
    while len(words) < n:
        w = "".join(rng.choice(SYLL) for _ in range(rng.randint(2, 4)))
        words.append(w)
    return words


def zipf_pick(rng, words):
    # rank-skewed choice: common words much more often than rare ones
    i = int(len(words) * (rng.random() ** 3))
    return words[min(i, len(words) - 1)]


def make_sentences(rng, words, n):
    out = []
    for _ in range(n):
        k = rng.randint(4, 18)
        s = " ".join(zipf_pick(rng, words) for _ in range(k))
        r = rng.random()
        if r < 0.25:
            s += " #%d" % rng.randint(1000, 9999999)
        elif r < 0.4:
            s += " (%d.%02d EUR)" % (rng.randint(1, 9999), rng.randint(0, 99))
        elif r < 0.5:
            s += " on %04d-%02d-%02d" % (rng.randint(2015, 2026), rng.randint(1, 12), rng.randint(1, 28))
        out.append(s[0].upper() + s[1:] + rng.choice([".", ".", ".", "!", "?", ";"]))
    return out


SCHEMA = """
CREATE TABLE customers(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  phone TEXT,
  company TEXT,
  address TEXT,
  city TEXT,
  created_at TEXT NOT NULL,
  balance_cents INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX customers_email ON customers(email);
CREATE INDEX customers_name ON customers(name);
CREATE TABLE orders(
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers(id),
  number TEXT NOT NULL,
  status TEXT NOT NULL,
  total_cents INTEGER NOT NULL,
  item_count INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  shipped_at TEXT,
  shipping_address TEXT
);
CREATE INDEX orders_customer ON orders(customer_id, created_at);
CREATE INDEX orders_status ON orders(status, created_at);
CREATE TABLE notes(
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers(id),
  order_id INTEGER REFERENCES orders(id),
  author TEXT NOT NULL,
  created_at TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX notes_customer ON notes(customer_id, created_at);
CREATE INDEX notes_order ON notes(order_id);
"""

# Lookup tables live in a TEMP schema so they do not end up in the database.
LOOKUPS = ["first_names", "last_names", "cities", "streets", "suffixes", "domains", "statuses",
           "authors", "words", "sentences"]

# Per batch: :c customers, 4 orders per customer, 6 notes per customer (on average).
# All random picks from lookup tables reference an outer column (x.n) so that SQLite evaluates them per row.
BATCH_SQL = """
INSERT INTO customers(id, name, email, phone, company, address, city, created_at, balance_cents)
WITH RECURSIVE x(n) AS (SELECT :c0 + 1 UNION ALL SELECT n + 1 FROM x WHERE n < :c0 + :c),
p AS MATERIALIZED (SELECT n,
  (SELECT v FROM temp.first_names WHERE id = (n * 0 + abs(random())) % :nfirst) AS fn,
  (SELECT v FROM temp.last_names WHERE id = (n * 0 + abs(random())) % :nlast) AS ln
  FROM x)
SELECT n, fn || ' ' || ln,
  lower(fn) || '.' || lower(ln) || n || '@' ||
    (SELECT v FROM temp.domains WHERE id = (n * 0 + abs(random())) % :ndomains),
  '+1-' || (200 + abs(random()) % 800) || '-' || (100 + abs(random()) % 900) || '-' ||
    printf('%04d', abs(random()) % 10000),
  CASE WHEN abs(random()) % 3 = 0 THEN NULL ELSE
    (SELECT v FROM temp.last_names WHERE id = (n * 0 + abs(random())) % :nlast) || ' ' ||
    (SELECT v FROM temp.words WHERE id = (n * 0 + abs(random())) % 300) || ' ' ||
    (SELECT v FROM temp.suffixes2 WHERE id = (n * 0 + abs(random())) % 6) END,
  (1 + abs(random()) % 9999) || ' ' ||
    (SELECT v FROM temp.streets WHERE id = (n * 0 + abs(random())) % :nstreets) || ' ' ||
    (SELECT v FROM temp.suffixes WHERE id = (n * 0 + abs(random())) % :nsuffixes),
  (SELECT v FROM temp.cities WHERE id = (n * 0 + abs(random())) % :ncities),
  strftime('%Y-%m-%dT%H:%M:%SZ', 1420070400 + abs(random()) % 346000000, 'unixepoch'),
  (abs(random()) % 2000000) - 500000
FROM p;

INSERT INTO orders(customer_id, number, status, total_cents, item_count, created_at, shipped_at,
                   shipping_address)
WITH RECURSIVE x(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM x WHERE n < :c * 4),
o AS MATERIALIZED (SELECT n, 1 + abs(random()) % (:c0 + :c) AS cid,
  1420070400 + abs(random()) % 346000000 AS t FROM x)
SELECT cid, 'SO-' || printf('%09d', :o0 + n),
  (SELECT v FROM temp.statuses WHERE id = (n * 0 + abs(random())) % :nstatuses),
  100 + abs(random()) % 500000, 1 + abs(random()) % 25,
  strftime('%Y-%m-%dT%H:%M:%SZ', t, 'unixepoch'),
  CASE WHEN abs(random()) % 4 = 0 THEN NULL
       ELSE strftime('%Y-%m-%dT%H:%M:%SZ', t + abs(random()) % 900000, 'unixepoch') END,
  CASE WHEN abs(random()) % 2 = 0 THEN NULL ELSE
    (1 + abs(random()) % 9999) || ' ' ||
    (SELECT v FROM temp.streets WHERE id = (n * 0 + abs(random())) % :nstreets) || ' ' ||
    (SELECT v FROM temp.suffixes WHERE id = (n * 0 + abs(random())) % :nsuffixes) || ', ' ||
    (SELECT v FROM temp.cities WHERE id = (n * 0 + abs(random())) % :ncities) END
FROM o;

-- note bodies: a skewed number of sentences (1 to ~40, mostly short), glued by group_concat
INSERT INTO notes(customer_id, order_id, author, created_at, body)
WITH RECURSIVE
x(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM x WHERE n < :c * 6),
k(n, parts) AS (SELECT n, 1 + (abs(random()) % 7) * (abs(random()) % 7) FROM x),
s(n, i, parts) AS (SELECT n, 1, parts FROM k UNION ALL SELECT n, i + 1, parts FROM s WHERE i < parts),
b(n, body) AS (SELECT n, group_concat(
    (SELECT v FROM temp.sentences WHERE id = (s.i * 0 + abs(random())) % :nsentences), ' ')
  FROM s GROUP BY n)
SELECT 1 + abs(random()) % (:c0 + :c),
  CASE WHEN abs(random()) % 3 = 0 THEN NULL ELSE 1 + abs(random()) % (:o0 + :c * 4) END,
  (SELECT v FROM temp.authors WHERE id = (n * 0 + abs(random())) % :nauthors),
  strftime('%Y-%m-%dT%H:%M:%SZ', 1420070400 + abs(random()) % 346000000, 'unixepoch'),
  body
FROM b;
"""


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: gen_db.py PATH SIZE_MB")
    path, size_mb = sys.argv[1], float(sys.argv[2])
    target = int(size_mb * 1024 * 1024)
    for suffix in ("", "-journal", "-wal", "-shm"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass
    rng = random.Random(20261125)
    words = make_vocab(rng, 6000)
    lookups = {
        "first_names": FIRST, "last_names": LAST, "cities": CITIES, "streets": STREETS,
        "suffixes": SUFFIXES, "suffixes2": ["Ltd", "LLC", "GmbH", "Inc", "& Co", "Group"],
        "domains": DOMAINS, "statuses": STATUSES, "authors": AUTHORS, "words": words,
        "sentences": make_sentences(rng, words, 40000),
    }
    t0 = time.monotonic()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA page_size = 4096")
    con.execute("PRAGMA journal_mode = DELETE")
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -262144")  # 256 MiB
    con.execute("PRAGMA temp_store = MEMORY")
    con.executescript(SCHEMA)
    for name, values in lookups.items():
        con.execute(f"CREATE TEMP TABLE {name}(id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
        con.executemany(f"INSERT INTO temp.{name}(id, v) VALUES (?, ?)", enumerate(values))
    params = {
        "nfirst": len(FIRST), "nlast": len(LAST), "ncities": len(CITIES), "nstreets": len(STREETS),
        "nsuffixes": len(SUFFIXES), "ndomains": len(DOMAINS), "nstatuses": len(STATUSES),
        "nauthors": len(AUTHORS), "nsentences": len(lookups["sentences"]),
    }
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    # About 5 MB per batch of 1000 customers; keep batches around 1/40 of the target, 1000..20000.
    per_batch = max(200, min(20000, int(target / 40 / 5000)))
    c0 = 0
    o0 = 0
    while True:
        size = con.execute("PRAGMA page_count").fetchone()[0] * page_size
        if size >= target:
            break
        remaining = target - size
        c = per_batch
        if c0 > 0 and remaining < size:
            # last batches: scale down so we do not overshoot by much
            c = max(200, min(per_batch, int(c0 * remaining / size) + 1))
        con.execute("BEGIN")
        # executescript would ignore the parameters, so run the three statements one by one
        for stmt in split_statements(BATCH_SQL):
            con.execute(stmt, dict(params, c=c, c0=c0, o0=o0))
        con.execute("COMMIT")
        c0 += c
        o0 += c * 4
    con.execute("ANALYZE")
    con.close()
    size = os.path.getsize(path)
    print(f"generated {path}: {size / 1048576:.1f} MiB, {c0} customers, {o0} orders, "
          f"in {time.monotonic() - t0:.1f} s", file=sys.stderr)


def split_statements(sql):
    out, cur = [], []
    for line in sql.splitlines():
        if line.strip().startswith("--"):
            continue
        cur.append(line)
        if sqlite3.complete_statement("\n".join(cur)):
            out.append("\n".join(cur).strip())
            cur = []
    return [s for s in out if s]


if __name__ == "__main__":
    main()
