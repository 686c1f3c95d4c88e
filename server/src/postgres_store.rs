//! [`Store`] on PostgreSQL (`--database-url`): the ledger's named byte-keyed trees as one
//! table keyed by `(tree, key)`, whose B-tree primary key gives the ordered range scans the
//! ledger's indexes are built on, and a batch as one transaction, durable at its commit.
//!
//! Why behind `Store` rather than tables with columns: every row the ledger keeps (documents,
//! feed, summaries, query index, indicator rows, case numbers) is already an ordered key range
//! that sled serves, and its invariants (one commit thread, the feed never ahead of the disk)
//! are written against an atomic batch. Keeping the boundary keeps those invariants and lets
//! the whole test suite run on both engines; the move to real columns can follow where a
//! measurement shows PostgreSQL doing better.
//!
//! Several servers may share one database ([`Store::shared`]): guarded commits
//! ([`Store::commit_guarded`]) make their writers of one key take turns, with an advisory lock
//! per key held for the transaction.
//!
//! The `Store` trait is synchronous (the ledger works on blocking threads, and sync-core knows
//! no async runtime), and tokio-postgres is asynchronous: the store owns a small runtime of
//! its own that drives the connections, and each call waits for its query on a channel. A
//! call therefore never needs the caller's runtime and works from any thread. That hop and
//! the query's round trip cost more than the query itself, so the reads a caller can batch
//! are one statement each (`scan_prefix_then_get`, `get_many`, `scan_prefixes`), and so is a
//! whole batch commit, guards included (`gridcase_commit`, migration 0002): its answer comes
//! after the implicit transaction's commit, so a commit is durable when it returns.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use gridcase_sync_core::store::{prefix_end, Batch, Entry, Guard, Store, Write};
use gridcase_sync_core::Error as CoreError;
use std::collections::HashMap;
use std::future::Future;
use std::sync::mpsc;
use std::time::Duration;
use tokio_postgres::NoTls;

/// The migrations, in order; each is applied once, in a transaction, and recorded in
/// `gridcase_migrations`. Never edit one that has shipped: add the next.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../migrations/0001_trees.sql")),
    (2, include_str!("../migrations/0002_commit_function.sql")),
];

/// The advisory lock key under which migrations run, so two servers starting together apply
/// each migration once.
const MIGRATION_LOCK: i64 = 0x6772_6964_6361_7365; // "gridcase"

/// Rows a range scan reads per query: small first (most scans are a case's few increments or
/// one index term), doubling up to the last.
const PAGE_FIRST: i64 = 64;
const PAGE_MAX: i64 = 2048;

/// The most reads a caller that may not need them all gathers into one (`Store::read_ahead`):
/// about what one round trip costs in rows read.
const READ_AHEAD: usize = 1024;

/// The ledger on PostgreSQL.
pub struct PostgresStore {
    /// Drives the connections; `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
    pool: Pool,
}

fn store_error(e: impl std::fmt::Display) -> CoreError {
    CoreError::Store(format!("postgresql: {e}"))
}

/// A driver error: the database out of reach (a closed connection, a connection or
/// shutdown error, too many connections) is `Unavailable`, a request may succeed if tried
/// again; anything else is a fault.
fn pg_error(e: tokio_postgres::Error) -> CoreError {
    let unavailable = e.is_closed()
        || match e.code() {
            Some(state) => {
                let code = state.code();
                code.starts_with("08") || code.starts_with("57P") || code == "53300"
            }
            None => e.as_db_error().is_none(),
        };
    if unavailable {
        CoreError::Unavailable(format!("postgresql: {e}"))
    } else {
        store_error(e)
    }
}

/// A pool error: no connection could be had (the database is down or every connection is
/// busy past the wait) is `Unavailable`.
fn pool_error(e: deadpool_postgres::PoolError) -> CoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => pg_error(e),
        other => CoreError::Unavailable(format!("postgresql: {other}")),
    }
}

impl PostgresStore {
    /// Connects to `url` (a libpq URL or key=value string; several hosts with
    /// `target_session_attrs=read-write` follow a promoted standby) and applies the
    /// migrations (under an advisory lock, so servers starting together apply each once).
    /// `pool` bounds the connections.
    pub fn open(url: &str, pool: usize) -> Result<PostgresStore, CoreError> {
        let config: tokio_postgres::Config = url.parse().map_err(store_error)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("postgres")
            .enable_all()
            .build()
            .map_err(store_error)?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool.max(2))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(store_error)?;
        let setup = pool.clone();
        block_on(&runtime, async move {
            let mut client = setup.get().await.map_err(pool_error)?;
            migrate(&mut client).await
        })??;
        Ok(PostgresStore {
            runtime: Some(runtime),
            pool,
        })
    }

    /// Runs `f` on the store's runtime and waits for it.
    fn run<T: Send + 'static>(
        &self,
        f: impl Future<Output = Result<T, CoreError>> + Send + 'static,
    ) -> Result<T, CoreError> {
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| CoreError::Store("postgresql: the store is closed".into()))?;
        block_on(runtime, f)?
    }
}

/// Spawns `f` on `runtime` and waits on a channel: unlike `Runtime::block_on`, this may be
/// called from inside another runtime's thread.
fn block_on<T: Send + 'static>(
    runtime: &tokio::runtime::Runtime,
    f: impl Future<Output = T> + Send + 'static,
) -> Result<T, CoreError> {
    let (tx, rx) = mpsc::sync_channel(1);
    runtime.spawn(async move {
        let _ = tx.send(f.await);
    });
    rx.recv()
        .map_err(|_| CoreError::Store("postgresql: the query's task ended".into()))
}

async fn migrate(client: &mut deadpool_postgres::Object) -> Result<(), CoreError> {
    let tx = client.transaction().await.map_err(pg_error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg_error)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS gridcase_migrations (
             version integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(pg_error)?;
    let applied: Vec<i32> = tx
        .query("SELECT version FROM gridcase_migrations", &[])
        .await
        .map_err(pg_error)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for (version, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        tracing::info!(version, "applying database migration");
        tx.batch_execute(sql).await.map_err(pg_error)?;
        tx.execute(
            "INSERT INTO gridcase_migrations (version) VALUES ($1)",
            &[version],
        )
        .await
        .map_err(pg_error)?;
    }
    tx.commit().await.map_err(pg_error)
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // A runtime dropped inside another runtime's thread panics; this one lets its threads
        // go without waiting.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Rows `(i, key, value)` of a statement over `n` ranges numbered from 1 (`WITH ORDINALITY`),
/// as one list of entries per range, in the order the rows came.
fn per_range(
    rows: Vec<tokio_postgres::Row>,
    n: usize,
    what: &str,
) -> Result<Vec<Vec<Entry>>, CoreError> {
    let mut lists: Vec<Vec<Entry>> = vec![Vec::new(); n];
    for row in rows {
        let i: i64 = row.get(0);
        let list = usize::try_from(i - 1)
            .ok()
            .and_then(|i| lists.get_mut(i))
            .ok_or_else(|| store_error(format!("{what} answered out of range")))?;
        list.push((row.get(1), row.get(2)));
    }
    Ok(lists)
}

impl Store for PostgresStore {
    fn get(&self, tree: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, CoreError> {
        let pool = self.pool.clone();
        let key = key.to_vec();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let statement = client
                .prepare_cached("SELECT value FROM gridcase_trees WHERE tree = $1 AND key = $2")
                .await
                .map_err(pg_error)?;
            let row = client
                .query_opt(&statement, &[&tree, &key])
                .await
                .map_err(pg_error)?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    fn range<'a>(
        &'a self,
        tree: &'static str,
        start: &[u8],
        end: Option<&[u8]>,
    ) -> Box<dyn Iterator<Item = Result<Entry, CoreError>> + 'a> {
        Box::new(Pages {
            store: self,
            tree,
            next: Bound::From(start.to_vec()),
            end: end.map(<[u8]>::to_vec),
            page: PAGE_FIRST,
            rows: Vec::new().into_iter(),
            done: false,
        })
    }

    fn commit(&self, batch: Batch) -> Result<(), CoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.commit_guarded(batch, &[]).map(drop)
    }

    fn shared(&self) -> bool {
        true
    }

    /// One statement (one round trip): both reads see the same instant.
    fn scan_prefix_then_get(
        &self,
        scan_tree: &'static str,
        prefix: &[u8],
        get_tree: &'static str,
        key: &[u8],
    ) -> Result<(Vec<Entry>, Option<Vec<u8>>), CoreError> {
        let pool = self.pool.clone();
        let (prefix, end, key) = (prefix.to_vec(), prefix_end(prefix), key.to_vec());
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            // The key's row is marked `true` and sorts after the range's rows.
            let sql = if end.is_some() {
                "SELECT key, value, false AS got FROM gridcase_trees WHERE tree = $1 AND key >= $2 AND key < $3
                 UNION ALL
                 SELECT key, value, true FROM gridcase_trees WHERE tree = $4 AND key = $5
                 ORDER BY got, key"
            } else {
                "SELECT key, value, false AS got FROM gridcase_trees WHERE tree = $1 AND key >= $2 AND $3::bytea IS NULL
                 UNION ALL
                 SELECT key, value, true FROM gridcase_trees WHERE tree = $4 AND key = $5
                 ORDER BY got, key"
            };
            let statement = client.prepare_cached(sql).await.map_err(pg_error)?;
            let rows = client
                .query(&statement, &[&scan_tree, &prefix, &end, &get_tree, &key])
                .await
                .map_err(pg_error)?;
            let mut entries = Vec::with_capacity(rows.len());
            let mut value = None;
            for row in rows {
                if row.get::<_, bool>(2) {
                    value = Some(row.get(1));
                } else {
                    entries.push((row.get(0), row.get(1)));
                }
            }
            Ok((entries, value))
        })
    }

    /// One statement (one round trip).
    fn get_many(
        &self,
        tree: &'static str,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, CoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let pool = self.pool.clone();
        let keys = keys.to_vec();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let statement = client
                .prepare_cached(
                    "SELECT t.value FROM unnest($2::bytea[]) WITH ORDINALITY AS g(key, i)
                     LEFT JOIN gridcase_trees t ON t.tree = $1 AND t.key = g.key
                     ORDER BY g.i",
                )
                .await
                .map_err(pg_error)?;
            let rows = client
                .query(&statement, &[&tree, &keys])
                .await
                .map_err(pg_error)?;
            Ok(rows.iter().map(|r| r.get(0)).collect::<Vec<_>>())
        })
    }

    /// One statement (one round trip) when every prefix has an end (a prefix of only 0xff
    /// bytes has none: then one scan each).
    fn scan_prefixes(
        &self,
        tree: &'static str,
        prefixes: &[Vec<u8>],
    ) -> Result<Vec<Vec<Entry>>, CoreError> {
        let ends: Option<Vec<Vec<u8>>> = prefixes.iter().map(|p| prefix_end(p)).collect();
        let Some(ends) = ends else {
            return prefixes
                .iter()
                .map(|prefix| self.scan_prefix(tree, prefix).collect())
                .collect();
        };
        if prefixes.is_empty() {
            return Ok(Vec::new());
        }
        let pool = self.pool.clone();
        let starts = prefixes.to_vec();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let statement = client
                .prepare_cached(
                    "SELECT p.i, t.key, t.value
                     FROM unnest($2::bytea[], $3::bytea[]) WITH ORDINALITY AS p(lo, hi, i)
                     JOIN gridcase_trees t ON t.tree = $1 AND t.key >= p.lo AND t.key < p.hi
                     ORDER BY p.i, t.key",
                )
                .await
                .map_err(pg_error)?;
            let rows = client
                .query(&statement, &[&tree, &starts, &ends])
                .await
                .map_err(pg_error)?;
            per_range(rows, starts.len(), "a prefix scan")
        })
    }

    /// One statement (one round trip) when every range has an end (a range to the end of the
    /// tree is read on its own, as `range` reads it): each range's rows as its own
    /// `ORDER BY key LIMIT`, so no range reads past its `limit`.
    fn range_heads(
        &self,
        tree: &'static str,
        ranges: &[(Vec<u8>, Option<Vec<u8>>)],
        limit: usize,
    ) -> Result<Vec<Vec<Entry>>, CoreError> {
        if ranges.is_empty() || limit == 0 {
            return Ok(vec![Vec::new(); ranges.len()]);
        }
        let ends: Option<Vec<Vec<u8>>> = ranges.iter().map(|(_, end)| end.clone()).collect();
        let Some(ends) = ends else {
            return ranges
                .iter()
                .map(|(start, end)| {
                    self.range(tree, start, end.as_deref())
                        .take(limit)
                        .collect()
                })
                .collect();
        };
        let starts: Vec<Vec<u8>> = ranges.iter().map(|(start, _)| start.clone()).collect();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let pool = self.pool.clone();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let statement = client
                .prepare_cached(
                    "SELECT p.i, t.key, t.value
                     FROM unnest($2::bytea[], $3::bytea[]) WITH ORDINALITY AS p(lo, hi, i)
                     CROSS JOIN LATERAL (
                         SELECT key, value FROM gridcase_trees
                         WHERE tree = $1 AND key >= p.lo AND key < p.hi
                         ORDER BY key LIMIT $4
                     ) t
                     ORDER BY p.i, t.key",
                )
                .await
                .map_err(pg_error)?;
            let rows = client
                .query(&statement, &[&tree, &starts, &ends, &limit])
                .await
                .map_err(pg_error)?;
            per_range(rows, starts.len(), "a range scan")
        })
    }

    /// A round trip costs more than reading a few hundred rows more.
    fn read_ahead(&self) -> usize {
        READ_AHEAD
    }

    /// One statement, so one round trip, and one transaction, durable when it returns:
    /// `gridcase_commit` (migration 0002) takes a transaction-scoped advisory lock per guarded
    /// key (in key order, so two commits never wait on each other in a circle), reads the
    /// guards after the locks (each statement of the function sees what committed before it),
    /// then writes, or writes nothing when a guard does not hold.
    fn commit_guarded(&self, batch: Batch, guards: &[Guard]) -> Result<bool, CoreError> {
        let mut guards: Vec<Guard> = guards.to_vec();
        guards.sort_by(|a, b| (a.tree, &a.key).cmp(&(b.tree, &b.key)));
        guards.dedup_by(|a, b| a.tree == b.tree && a.key == b.key);
        // A batch's writes apply in order; in one statement a key may appear once, so only
        // each key's last write is kept (what applying them in order would leave).
        let mut last: HashMap<(&'static str, Vec<u8>), Option<Vec<u8>>> = HashMap::new();
        let mut order = Vec::new();
        for w in batch.into_writes() {
            let (tree, key, value) = match w {
                Write::Put { tree, key, value } => (tree, key, Some(value)),
                Write::Delete { tree, key } => (tree, key, None),
            };
            if last.insert((tree, key.clone()), value).is_none() {
                order.push((tree, key));
            }
        }
        let (mut put_trees, mut put_keys, mut put_values) = (Vec::new(), Vec::new(), Vec::new());
        let (mut del_trees, mut del_keys) = (Vec::new(), Vec::new());
        for (tree, key) in order {
            match last.remove(&(tree, key.clone())).flatten() {
                Some(value) => {
                    put_trees.push(tree);
                    put_keys.push(key);
                    put_values.push(value);
                }
                None => {
                    del_trees.push(tree);
                    del_keys.push(key);
                }
            }
        }
        let (mut guard_trees, mut guard_keys, mut guard_values) =
            (Vec::new(), Vec::new(), Vec::new());
        for g in guards {
            guard_trees.push(g.tree);
            guard_keys.push(g.key);
            guard_values.push(g.value);
        }
        let pool = self.pool.clone();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let statement = client
                .prepare_cached("SELECT gridcase_commit($1, $2, $3, $4, $5, $6, $7, $8)")
                .await
                .map_err(pg_error)?;
            let row = client
                .query_one(
                    &statement,
                    &[
                        &guard_trees,
                        &guard_keys,
                        &guard_values,
                        &del_trees,
                        &del_keys,
                        &put_trees,
                        &put_keys,
                        &put_values,
                    ],
                )
                .await
                .map_err(pg_error)?;
            Ok(row.get::<_, bool>(0))
        })
    }
}

/// Where the next page of a scan starts.
enum Bound {
    /// At this key, inclusive (the scan's start).
    From(Vec<u8>),
    /// After this key (the last one read).
    After(Vec<u8>),
}

/// A range scan read a page at a time, each page its own query (keyset pagination), so a scan
/// holds no connection between pages and a caller may query the store while iterating.
struct Pages<'a> {
    store: &'a PostgresStore,
    tree: &'static str,
    next: Bound,
    end: Option<Vec<u8>>,
    page: i64,
    rows: std::vec::IntoIter<Entry>,
    done: bool,
}

impl Pages<'_> {
    fn fetch(&mut self) -> Result<Vec<Entry>, CoreError> {
        let pool = self.store.pool.clone();
        let (tree, end, limit) = (self.tree, self.end.clone(), self.page);
        let (inclusive, from) = match &self.next {
            Bound::From(k) => (true, k.clone()),
            Bound::After(k) => (false, k.clone()),
        };
        self.store.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let sql = match (inclusive, end.is_some()) {
                (true, true) => "SELECT key, value FROM gridcase_trees WHERE tree = $1 AND key >= $2 AND key < $3 ORDER BY key LIMIT $4",
                (false, true) => "SELECT key, value FROM gridcase_trees WHERE tree = $1 AND key > $2 AND key < $3 ORDER BY key LIMIT $4",
                (true, false) => "SELECT key, value FROM gridcase_trees WHERE tree = $1 AND key >= $2 AND $3::bytea IS NULL ORDER BY key LIMIT $4",
                (false, false) => "SELECT key, value FROM gridcase_trees WHERE tree = $1 AND key > $2 AND $3::bytea IS NULL ORDER BY key LIMIT $4",
            };
            let statement = client.prepare_cached(sql).await.map_err(pg_error)?;
            let rows = client
                .query(&statement, &[&tree, &from, &end, &limit])
                .await
                .map_err(pg_error)?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }
}

impl Iterator for Pages<'_> {
    type Item = Result<Entry, CoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(entry) = self.rows.next() {
            return Some(Ok(entry));
        }
        if self.done {
            return None;
        }
        if let (Bound::From(start), Some(end)) = (&self.next, &self.end) {
            if end <= start {
                self.done = true;
                return None;
            }
        }
        let rows = match self.fetch() {
            Ok(rows) => rows,
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        if (rows.len() as i64) < self.page {
            self.done = true;
        }
        match rows.last() {
            Some((key, _)) => self.next = Bound::After(key.clone()),
            None => return None,
        }
        self.page = (self.page * 2).min(PAGE_MAX);
        self.rows = rows.into_iter();
        self.rows.next().map(Ok)
    }
}

#[cfg(test)]
mod tests {
    //! Against a database of its own when `GRIDCASE_TEST_DATABASE_URL` names a server (skipped
    //! otherwise; the end-to-end tests run the ledger on it): the batched reads answer what
    //! the one-by-one reads answer, and a commit writes only when its guards hold.

    use super::*;

    fn store() -> Option<PostgresStore> {
        let url = std::env::var("GRIDCASE_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())?;
        let (base, _) = url.rsplit_once('/').expect("a URL ending in /database");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_nanos();
        // The prefix of the tests' databases, which a test run drops.
        let name = format!("gridcase_t_store_{}_{nanos}", std::process::id());
        let status = std::process::Command::new("psql")
            .arg(&url)
            .args(["-qc", &format!("CREATE DATABASE {name}")])
            .status()
            .expect("run psql");
        assert!(status.success(), "could not create {name}");
        Some(PostgresStore::open(&format!("{base}/{name}"), 2).expect("open"))
    }

    const CHANGES: &str = "case_changes";
    const SNAPSHOTS: &str = "case_snapshots";

    fn key(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn batched_reads_answer_as_one_by_one() {
        let Some(store) = store() else { return };
        let (p1, p2, top): (&[u8], &[u8], &[u8]) = (b"\x00\x01a", b"\x00\x01b", b"\xff\xff");
        let mut batch = Batch::new();
        for (k, v) in [
            (key(&[p1, b"\x02"]), b"i12".to_vec()),
            (key(&[p1, b"\x01"]), b"i11".to_vec()),
            (key(&[p2, b"\x01"]), b"i21".to_vec()),
            (key(&[top, b"\x01"]), b"top".to_vec()),
        ] {
            batch.put(CHANGES, k, v);
        }
        batch.put(SNAPSHOTS, p1.to_vec(), b"s1".to_vec());
        store.commit(batch).expect("commit");

        let scan = |prefix: &[u8]| -> Vec<Entry> {
            store
                .scan_prefix(CHANGES, prefix)
                .collect::<Result<_, _>>()
                .expect("scan")
        };
        for prefix in [p1, p2, top, b"\x00\x09"] {
            let (entries, snapshot) = store
                .scan_prefix_then_get(CHANGES, prefix, SNAPSHOTS, prefix)
                .expect("scan and get");
            assert_eq!(entries, scan(prefix));
            assert_eq!(snapshot, store.get(SNAPSHOTS, prefix).expect("get"));
        }
        assert_eq!(scan(p1).len(), 2);

        let keys = vec![p2.to_vec(), p1.to_vec(), p1.to_vec()];
        assert_eq!(
            store.get_many(SNAPSHOTS, &keys).expect("get many"),
            vec![None, Some(b"s1".to_vec()), Some(b"s1".to_vec())]
        );
        assert!(store.get_many(SNAPSHOTS, &[]).expect("none").is_empty());
        // Every prefix with an end (one statement), and one without (one scan each).
        for prefixes in [
            vec![p2.to_vec(), p1.to_vec(), b"\x00\x09".to_vec()],
            vec![p1.to_vec(), top.to_vec()],
        ] {
            let lists = store.scan_prefixes(CHANGES, &prefixes).expect("scans");
            let expected: Vec<Vec<Entry>> = prefixes.iter().map(|p| scan(p)).collect();
            assert_eq!(lists, expected);
        }
        // The first entries of ranges, every range with an end (one statement) or one without
        // (one scan each), empty ranges among them; a range from inside a prefix.
        let range = |start: &[u8], end: Option<&[u8]>| (start.to_vec(), end.map(<[u8]>::to_vec));
        let inside = key(&[p1, b"\x01\x00"]);
        for ranges in [
            vec![
                range(p2, prefix_end(p2).as_deref()),
                range(b"", None),
                range(&inside, prefix_end(p1).as_deref()),
                range(b"\x00\x09", Some(b"\x00\x0a")),
                range(b"", Some(b"\xff")),
                range(b"b", Some(b"a")),
            ],
            vec![range(p1, None), range(top, None)],
        ] {
            for limit in [0, 1, 2, 10] {
                let heads = store.range_heads(CHANGES, &ranges, limit).expect("heads");
                let expected: Vec<Vec<Entry>> = ranges
                    .iter()
                    .map(|(start, end)| {
                        store
                            .range(CHANGES, start, end.as_deref())
                            .take(limit)
                            .collect::<Result<_, _>>()
                            .expect("range")
                    })
                    .collect();
                assert_eq!(heads, expected, "limit {limit}");
            }
        }
        assert!(store.range_heads(CHANGES, &[], 5).expect("none").is_empty());
    }

    #[test]
    fn a_commit_writes_only_when_its_guards_hold() {
        let Some(store) = store() else { return };
        let mut batch = Batch::new();
        batch.put(SNAPSHOTS, b"a".to_vec(), b"1".to_vec());
        batch.put(CHANGES, b"a1".to_vec(), b"x".to_vec());
        store.commit(batch).expect("commit");

        let attempt = |guards: &[Guard]| {
            let mut batch = Batch::new();
            batch.put(SNAPSHOTS, b"a".to_vec(), b"2".to_vec());
            batch.delete(CHANGES, b"a1".to_vec());
            // A key written twice keeps its last write.
            batch.put(CHANGES, b"b1".to_vec(), b"y".to_vec());
            batch.delete(CHANGES, b"b1".to_vec());
            store.commit_guarded(batch, guards).expect("guarded commit")
        };
        let guard = |key: &[u8], value: Option<&[u8]>| Guard {
            tree: SNAPSHOTS,
            key: key.to_vec(),
            value: value.map(<[u8]>::to_vec),
        };
        assert!(!attempt(&[guard(b"a", Some(b"9"))]));
        assert!(!attempt(&[guard(b"z", None), guard(b"a", None)]));
        assert_eq!(
            store.get(SNAPSHOTS, b"a").expect("get"),
            Some(b"1".to_vec())
        );
        assert_eq!(store.get(CHANGES, b"a1").expect("get"), Some(b"x".to_vec()));

        assert!(attempt(&[guard(b"z", None), guard(b"a", Some(b"1"))]));
        assert_eq!(
            store.get(SNAPSHOTS, b"a").expect("get"),
            Some(b"2".to_vec())
        );
        assert_eq!(store.get(CHANGES, b"a1").expect("get"), None);
        assert_eq!(store.get(CHANGES, b"b1").expect("get"), None);
    }
}
