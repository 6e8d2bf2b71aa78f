//! The embedded journal: one SQLite file in the state directory. WAL mode with
//! `synchronous = NORMAL`: every committed transaction survives the ferry process being killed
//! (only a power loss can drop the last few), at a fraction of the cost of a full fsync per call.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use rusqlite::{Connection, OptionalExtension, params};

#[cfg(test)]
use super::WaitRecord;
use super::{
    CallEnd, EventRecord, ItemCounts, ItemRecord, ItemStatus, Journal, NewItem, RunRecord,
    RunStatus, now_ms,
};
#[cfg(test)]
use crate::events::{ObjectRow, ObjectStatus, PluginEvent};
use crate::events::{RunEvent, wire};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS runs (
    id            TEXT PRIMARY KEY,
    migration     TEXT NOT NULL,
    status        TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER
);
CREATE TABLE IF NOT EXISTS items (
    id          INTEGER PRIMARY KEY,
    run_id      TEXT NOT NULL REFERENCES runs(id),
    step        TEXT NOT NULL,
    step_index  INTEGER NOT NULL,
    item        TEXT NOT NULL,
    wave        INTEGER NOT NULL,
    status      TEXT NOT NULL,
    state       TEXT,
    attempt     INTEGER NOT NULL DEFAULT 1,
    in_call     INTEGER NOT NULL DEFAULT 0,
    calls       INTEGER NOT NULL DEFAULT 0,
    wait        TEXT,
    output      TEXT,
    error       TEXT,
    updated_at  INTEGER,
    progress    TEXT,
    UNIQUE (run_id, step, item)
);
CREATE TABLE IF NOT EXISTS calls (
    id          INTEGER PRIMARY KEY,
    item_id     INTEGER NOT NULL REFERENCES items(id),
    attempt     INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    ended_at    INTEGER,
    outcome     TEXT,
    state_after TEXT,
    error       TEXT
);
CREATE TABLE IF NOT EXISTS events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id  TEXT NOT NULL,
    at      INTEGER NOT NULL,
    step    TEXT,
    item    TEXT,
    kind    TEXT NOT NULL,
    data    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_run ON events(run_id, seq);
CREATE INDEX IF NOT EXISTS events_kind ON events(run_id, kind, seq);
CREATE INDEX IF NOT EXISTS items_run ON items(run_id, wave, item, step_index);
"#;

/// The journal in a SQLite file.
pub struct SqliteJournal {
    conn: Connection,
}

impl SqliteJournal {
    /// Opens (or creates) the journal at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create state directory {}", dir.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open journal {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)
            .with_context(|| format!("journal {} has an unexpected layout", path.display()))?;
        // Journals written before items kept their progress get the column; nothing else in
        // them changes.
        let has_progress: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('items') WHERE name = 'progress'")?
            .exists([])?;
        if !has_progress {
            conn.execute("ALTER TABLE items ADD COLUMN progress TEXT", [])?;
        }
        Ok(SqliteJournal { conn })
    }

    fn run_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RunRecord> {
        let status: String = row.get(2)?;
        let fp: String = row.get(3)?;
        Ok(RunRecord {
            id: row.get(0)?,
            migration: row.get(1)?,
            status: match status.as_str() {
                "finished" => RunStatus::Finished,
                "failed" => RunStatus::Failed,
                _ => RunStatus::Running,
            },
            fingerprint: serde_json::from_str(&fp).unwrap_or_default(),
            started_at_ms: row.get(4)?,
            finished_at_ms: row.get(5)?,
        })
    }

    fn item_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ItemRecord> {
        let status: String = row.get(5)?;
        let wait: Option<String> = row.get(10)?;
        let output: Option<String> = row.get(11)?;
        Ok(ItemRecord {
            id: row.get(0)?,
            step: row.get(1)?,
            step_index: row.get(2)?,
            item: row.get(3)?,
            wave: row.get(4)?,
            status: ItemStatus::parse(&status).unwrap_or(ItemStatus::Pending),
            state: row.get(6)?,
            attempt: row.get(7)?,
            in_call: row.get::<_, i64>(8)? != 0,
            calls: row.get(9)?,
            wait: wait.and_then(|w| serde_json::from_str(&w).ok()),
            output: output.and_then(|o| serde_json::from_str(&o).ok()),
            error: row.get(12)?,
            updated_at_ms: row.get(13)?,
            progress: row.get(14)?,
        })
    }
}

const ITEM_COLUMNS: &str = "id, step, step_index, item, wave, status, state, attempt, in_call, calls, wait, output, error, updated_at, progress";
const RUN_COLUMNS: &str = "id, migration, status, fingerprint, started_at, finished_at";

impl Journal for SqliteJournal {
    fn latest_run(&self) -> anyhow::Result<Option<RunRecord>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM runs ORDER BY started_at DESC, rowid DESC LIMIT 1"
                ),
                [],
                Self::run_from_row,
            )
            .optional()?)
    }

    fn runs(&self) -> anyhow::Result<Vec<RunRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {RUN_COLUMNS} FROM runs ORDER BY started_at, rowid"
        ))?;
        let rows = stmt
            .query_map([], Self::run_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn create_run(
        &mut self,
        id: &str,
        migration: &str,
        fingerprint: &BTreeMap<String, String>,
        items: &mut dyn Iterator<Item = NewItem>,
    ) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO runs (id, migration, status, fingerprint, started_at) VALUES (?1, ?2, 'running', ?3, ?4)",
            params![id, migration, serde_json::to_string(fingerprint)?, now_ms()],
        )?;
        {
            let mut stmt = tx.prepare("INSERT INTO items (run_id, step, step_index, item, wave, status) VALUES (?1, ?2, ?3, ?4, ?5, 'pending')")?;
            for it in items {
                stmt.execute(params![id, it.step, it.step_index, it.item, it.wave])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn set_run_status(&mut self, run: &str, status: RunStatus) -> anyhow::Result<()> {
        let (s, finished) = match status {
            RunStatus::Running => ("running", None),
            RunStatus::Finished => ("finished", Some(now_ms())),
            RunStatus::Failed => ("failed", Some(now_ms())),
        };
        self.conn.execute(
            "UPDATE runs SET status = ?2, finished_at = ?3 WHERE id = ?1",
            params![run, s, finished],
        )?;
        Ok(())
    }

    fn items(&self, run: &str) -> anyhow::Result<Vec<ItemRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {ITEM_COLUMNS} FROM items WHERE run_id = ?1 ORDER BY wave, id"
        ))?;
        let rows = stmt
            .query_map([run], Self::item_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn counts(&self, run: &str) -> anyhow::Result<ItemCounts> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT status, COUNT(*) FROM items WHERE run_id = ?1 GROUP BY status",
        )?;
        let mut counts = ItemCounts::default();
        for row in stmt.query_map([run], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (status, n) = row?;
            let n = usize::try_from(n).unwrap_or(0);
            counts.total += n;
            match ItemStatus::parse(&status) {
                Some(ItemStatus::Done) => counts.done += n,
                Some(ItemStatus::Failed) => counts.failed += n,
                Some(ItemStatus::Skipped) => counts.skipped += n,
                Some(ItemStatus::Deferred) => counts.deferred += n,
                _ => {}
            }
        }
        Ok(counts)
    }

    fn waves(&self, run: &str) -> anyhow::Result<Vec<u32>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT wave FROM items WHERE run_id = ?1 ORDER BY wave")?;
        let waves = stmt
            .query_map([run], |r| r.get(0))?
            .collect::<Result<Vec<u32>, _>>()?;
        Ok(waves)
    }

    fn lanes(
        &self,
        run: &str,
        wave: u32,
        after: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT item FROM items WHERE run_id = ?1 AND wave = ?2 AND item > ?3
             ORDER BY item LIMIT ?4",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let lanes = stmt
            .query_map(params![run, wave, after.unwrap_or(""), limit], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(lanes)
    }

    fn lane(&self, run: &str, wave: u32, item: &str) -> anyhow::Result<Vec<ItemRecord>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ITEM_COLUMNS} FROM items WHERE run_id = ?1 AND wave = ?2 AND item = ?3 \
             ORDER BY step_index"
        ))?;
        let rows = stmt
            .query_map(params![run, wave, item], Self::item_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn reopen_failed(&mut self, run: &str) -> anyhow::Result<usize> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE items SET status = 'pending', state = NULL, attempt = 1, in_call = 0,
                 wait = NULL, error = NULL, updated_at = ?2
             WHERE run_id = ?1 AND status IN ('failed', 'skipped')",
            params![run, now_ms()],
        )?;
        tx.execute(
            "UPDATE runs SET status = 'running', finished_at = NULL WHERE id = ?1",
            [run],
        )?;
        tx.commit()?;
        Ok(n)
    }

    fn reopen_steps(
        &mut self,
        run: &str,
        steps: &[String],
        fingerprint: &BTreeMap<String, String>,
    ) -> anyhow::Result<usize> {
        let tx = self.conn.transaction()?;
        let now = now_ms();
        let mut reopened = 0;
        for step in steps {
            // The lanes first, while their items still say where the step stopped.
            tx.execute(
                "UPDATE items SET status = 'pending', state = NULL, attempt = 1, in_call = 0,
                     wait = NULL, error = NULL, updated_at = ?3
                 WHERE run_id = ?1 AND status = 'skipped' AND EXISTS (
                     SELECT 1 FROM items AS d WHERE d.run_id = ?1 AND d.step = ?2
                       AND d.status != 'done' AND d.wave = items.wave AND d.item = items.item
                       AND d.step_index < items.step_index)",
                params![run, step, now],
            )?;
            reopened += tx.execute(
                "UPDATE items SET status = 'pending', state = NULL, attempt = 1, in_call = 0,
                     wait = NULL, error = NULL, updated_at = ?3
                 WHERE run_id = ?1 AND step = ?2 AND status != 'done'",
                params![run, step, now],
            )?;
        }
        tx.execute(
            "UPDATE runs SET fingerprint = ?2 WHERE id = ?1",
            params![run, serde_json::to_string(fingerprint)?],
        )?;
        if reopened > 0 {
            tx.execute(
                "UPDATE runs SET status = 'running', finished_at = NULL WHERE id = ?1",
                [run],
            )?;
        }
        tx.commit()?;
        Ok(reopened)
    }

    fn item(&self, item_id: i64) -> anyhow::Result<ItemRecord> {
        Ok(self.conn.query_row(
            &format!("SELECT {ITEM_COLUMNS} FROM items WHERE id = ?1"),
            [item_id],
            Self::item_from_row,
        )?)
    }

    fn begin_call(&mut self, item_id: i64, attempt: u32) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        let now = now_ms();
        tx.execute(
            "UPDATE items SET status = 'running', in_call = 1, attempt = ?2, calls = calls + 1, updated_at = ?3 WHERE id = ?1",
            params![item_id, attempt, now],
        )?;
        tx.execute(
            "INSERT INTO calls (item_id, attempt, started_at) VALUES (?1, ?2, ?3)",
            params![item_id, attempt, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn end_call(&mut self, item_id: i64, end: &CallEnd) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        let now = now_ms();
        let (outcome, state_after, error): (&str, Option<&str>, Option<&str>) = match end {
            CallEnd::Next { state } => {
                tx.execute(
                    "UPDATE items SET status = 'running', in_call = 0, attempt = 1, state = ?2, wait = NULL, updated_at = ?3 WHERE id = ?1",
                    params![item_id, state, now],
                )?;
                ("next", Some(state), None)
            }
            CallEnd::Wait { state, wait } => {
                tx.execute(
                    "UPDATE items SET status = 'waiting', in_call = 0, attempt = 1, state = ?2, wait = ?3, updated_at = ?4 WHERE id = ?1",
                    params![item_id, state, serde_json::to_string(wait)?, now],
                )?;
                ("wait", Some(state), None)
            }
            CallEnd::Done { output } => {
                tx.execute(
                    "UPDATE items SET status = 'done', in_call = 0, wait = NULL, output = ?2, updated_at = ?3 WHERE id = ?1",
                    params![item_id, output, now],
                )?;
                ("done", None, None)
            }
            CallEnd::Retry { error } => {
                tx.execute(
                    "UPDATE items SET in_call = 0, error = ?2, updated_at = ?3 WHERE id = ?1",
                    params![item_id, error, now],
                )?;
                ("retry", None, Some(error))
            }
            CallEnd::Failed { error } => {
                tx.execute(
                    "UPDATE items SET status = 'failed', in_call = 0, error = ?2, updated_at = ?3 WHERE id = ?1",
                    params![item_id, error, now],
                )?;
                ("failed", None, Some(error))
            }
            CallEnd::Deferred { error } => {
                tx.execute(
                    "UPDATE items SET status = 'deferred', in_call = 0, error = ?2, updated_at = ?3 WHERE id = ?1",
                    params![item_id, error, now],
                )?;
                ("deferred", None, Some(error))
            }
        };
        tx.execute(
            "UPDATE calls SET ended_at = ?2, outcome = ?3, state_after = ?4, error = ?5
             WHERE id = (SELECT MAX(id) FROM calls WHERE item_id = ?1)",
            params![item_id, now, outcome, state_after, error.map(str::to_owned)],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn clear_wait(&mut self, item_id: i64) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE items SET wait = NULL, status = 'running', updated_at = ?2 WHERE id = ?1",
            params![item_id, now_ms()],
        )?;
        Ok(())
    }

    fn skip(&mut self, item_id: i64, reason: &str) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE items SET status = 'skipped', error = ?2, updated_at = ?3 WHERE id = ?1",
            params![item_id, reason, now_ms()],
        )?;
        Ok(())
    }

    fn add_event(
        &mut self,
        run: &str,
        step: Option<&str>,
        item: Option<&str>,
        event: &RunEvent,
    ) -> anyhow::Result<()> {
        let (kind, data) = wire::to_journal(event)?;
        self.conn.execute(
            "INSERT INTO events (run_id, at, step, item, kind, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![run, now_ms(), step, item, kind, data],
        )?;
        Ok(())
    }

    fn events(&self, run: &str) -> anyhow::Result<Vec<EventRecord>> {
        self.select_events(
            "SELECT seq, at, step, item, kind, data FROM events WHERE run_id = ?1 ORDER BY seq",
            &[run],
        )
    }

    fn set_progress(
        &mut self,
        run: &str,
        step: &str,
        item: &str,
        line: &str,
    ) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE items SET progress = ?4 WHERE run_id = ?1 AND step = ?2 AND item = ?3",
            params![run, step, item, line],
        )?;
        Ok(())
    }

    fn events_of_kind(&self, run: &str, kind: &str) -> anyhow::Result<Vec<EventRecord>> {
        self.select_events(
            "SELECT seq, at, step, item, kind, data FROM events WHERE run_id = ?1 AND kind = ?2 ORDER BY seq",
            &[run, kind],
        )
    }
}

#[cfg(test)]
impl SqliteJournal {
    /// A journal in `dir` holding run `r1`: each of `databases` through one step, `step`.
    pub(crate) fn with_test_run(dir: &Path, step: &str, databases: &[&str]) -> SqliteJournal {
        let mut j = SqliteJournal::open(&dir.join("journal.db")).unwrap();
        let items: Vec<NewItem> = databases
            .iter()
            .map(|db| NewItem {
                step: step.into(),
                step_index: 0,
                item: (*db).into(),
                wave: 0,
            })
            .collect();
        j.create_run("r1", "m.toml", &BTreeMap::new(), &mut items.into_iter())
            .unwrap();
        j
    }
}

impl SqliteJournal {
    fn select_events(&self, sql: &str, args: &[&str]) -> anyhow::Result<Vec<EventRecord>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), |r| {
                let (seq, kind, data): (i64, String, String) = (r.get(0)?, r.get(4)?, r.get(5)?);
                Ok(match wire::from_journal(&kind, &data) {
                    Ok(event) => Some(EventRecord {
                        seq,
                        at_ms: r.get(1)?,
                        step: r.get(2)?,
                        item: r.get(3)?,
                        kind,
                        event,
                    }),
                    Err(e) => {
                        tracing::warn!("journal event {seq} ({kind}) is left out: {e}");
                        None
                    }
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows.into_iter().flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal() -> (tempfile::TempDir, SqliteJournal) {
        let dir = tempfile::tempdir().unwrap();
        let j = SqliteJournal::open(&dir.path().join("journal.db")).unwrap();
        (dir, j)
    }

    #[test]
    fn a_journal_from_before_progress_gains_the_column_and_keeps_its_items() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        let mut j = SqliteJournal::open(&path).unwrap();
        let items = vec![NewItem {
            step: "lrs".into(),
            step_index: 0,
            item: "Sales".into(),
            wave: 0,
        }];
        j.create_run("r1", "m.toml", &BTreeMap::new(), &mut items.into_iter())
            .unwrap();
        j.conn
            .execute("ALTER TABLE items DROP COLUMN progress", [])
            .unwrap();
        drop(j);
        let mut j = SqliteJournal::open(&path).unwrap();
        assert_eq!(j.items("r1").unwrap()[0].progress, None);
        j.set_progress("r1", "lrs", "Sales", "restoring: restored a.trn")
            .unwrap();
        assert_eq!(
            j.items("r1").unwrap()[0].progress.as_deref(),
            Some("restoring: restored a.trn")
        );
    }

    #[test]
    fn a_rebuilt_dev_plugin_reopens_its_unfinished_items_and_the_skips_behind_them() {
        let (_d, mut j) = journal();
        let mut items = Vec::new();
        for db in ["A", "B", "C"] {
            for (i, step) in ["gate", "restore"].iter().enumerate() {
                items.push(NewItem {
                    step: (*step).into(),
                    step_index: i as u32,
                    item: db.into(),
                    wave: 0,
                });
            }
        }
        j.create_run("r1", "m.toml", &BTreeMap::new(), &mut items.into_iter())
            .unwrap();
        let id = |j: &SqliteJournal, db: &str, step: &str| {
            j.items("r1")
                .unwrap()
                .into_iter()
                .find(|i| i.item == db && i.step == step)
                .unwrap()
        };
        // A: both done. B: gate failed, restore skipped. C: gate done, restore failed.
        for (db, step) in [("A", "gate"), ("A", "restore"), ("C", "gate")] {
            let it = id(&j, db, step).id;
            j.begin_call(it, 1).unwrap();
            j.end_call(
                it,
                &CallEnd::Done {
                    output: "{}".into(),
                },
            )
            .unwrap();
        }
        for (db, step) in [("B", "gate"), ("C", "restore")] {
            let it = id(&j, db, step).id;
            j.begin_call(it, 1).unwrap();
            j.end_call(it, &CallEnd::Failed { error: "no".into() })
                .unwrap();
        }
        j.skip(id(&j, "B", "restore").id, "gate did not finish")
            .unwrap();
        j.set_run_status("r1", RunStatus::Failed).unwrap();

        let fp = BTreeMap::from([("dev build of plugin `g`".to_owned(), "2".to_owned())]);
        assert_eq!(j.reopen_steps("r1", &["gate".into()], &fp).unwrap(), 1);
        let status = |j: &SqliteJournal, db: &str, step: &str| id(j, db, step).status;
        assert_eq!(status(&j, "A", "gate"), ItemStatus::Done);
        assert_eq!(status(&j, "A", "restore"), ItemStatus::Done);
        assert_eq!(status(&j, "B", "gate"), ItemStatus::Pending);
        assert_eq!(id(&j, "B", "gate").state, None);
        assert_eq!(
            status(&j, "B", "restore"),
            ItemStatus::Pending,
            "skipped behind it"
        );
        assert_eq!(status(&j, "C", "gate"), ItemStatus::Done);
        assert_eq!(
            status(&j, "C", "restore"),
            ItemStatus::Failed,
            "not the plugin's step"
        );
        let run = j.latest_run().unwrap().unwrap();
        assert_eq!(
            (run.status, run.fingerprint),
            (RunStatus::Running, fp.clone())
        );

        // Nothing unfinished: the new fingerprint is kept and the run's status left alone.
        j.set_run_status("r1", RunStatus::Finished).unwrap();
        let fp3 = BTreeMap::from([("dev build of plugin `g`".to_owned(), "3".to_owned())]);
        assert_eq!(
            j.reopen_steps("r1", &["restore-x".into()], &fp3).unwrap(),
            0
        );
        let run = j.latest_run().unwrap().unwrap();
        assert_eq!((run.status, run.fingerprint), (RunStatus::Finished, fp3));
    }

    #[test]
    fn a_call_cycle_is_journaled() {
        let (_d, mut j) = journal();
        let items = vec![NewItem {
            step: "s".into(),
            step_index: 0,
            item: "Sales".into(),
            wave: 0,
        }];
        j.create_run("r1", "m.toml", &BTreeMap::new(), &mut items.into_iter())
            .unwrap();
        let id = j.items("r1").unwrap()[0].id;
        j.begin_call(id, 1).unwrap();
        let it = j.item(id).unwrap();
        assert!(it.in_call && it.status == ItemStatus::Running && it.calls == 1);
        let wait = WaitRecord {
            until_unix_ms: Some(5),
            operation: None,
            reason: "r".into(),
        };
        j.end_call(
            id,
            &CallEnd::Wait {
                state: "{\"a\":1}".into(),
                wait: wait.clone(),
            },
        )
        .unwrap();
        let it = j.item(id).unwrap();
        assert_eq!(
            (it.status, it.in_call, it.state.as_deref(), it.wait),
            (ItemStatus::Waiting, false, Some("{\"a\":1}"), Some(wait))
        );
        j.begin_call(id, 1).unwrap();
        j.end_call(
            id,
            &CallEnd::Done {
                output: "{\"ok\":true}".into(),
            },
        )
        .unwrap();
        let it = j.item(id).unwrap();
        assert_eq!(it.status, ItemStatus::Done);
        assert_eq!(it.output, Some(serde_json::json!({"ok": true})));
        assert_eq!(j.latest_run().unwrap().unwrap().id, "r1");
    }

    #[test]
    fn events_are_stored_as_earlier_versions_stored_them_and_theirs_read_back() {
        let (_d, mut j) = journal();
        j.create_run("r1", "m.toml", &BTreeMap::new(), &mut std::iter::empty())
            .unwrap();
        // Rows as the host wrote them before events were typed, and one a newer ferry might.
        let written_before = [
            (
                "item-done",
                r#"{"calls":2,"output":{"method":"native-restore"}}"#,
            ),
            (
                "row",
                r#"{"name":"app","object_type":"login","status":"warning"}"#,
            ),
            ("from-a-newer-ferry", "{}"),
        ];
        for (kind, data) in written_before {
            j.conn
                .execute(
                    "INSERT INTO events (run_id, at, step, item, kind, data) VALUES ('r1', 1, 'restore', 'Sales', ?1, ?2)",
                    params![kind, data],
                )
                .unwrap();
        }
        let events: Vec<RunEvent> = j
            .events("r1")
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect();
        assert_eq!(
            events,
            [
                RunEvent::ItemDone {
                    calls: 2,
                    output: serde_json::json!({ "method": "native-restore" }),
                },
                RunEvent::Plugin(PluginEvent::Row(ObjectRow {
                    object_type: "login".into(),
                    name: "app".into(),
                    status: ObjectStatus::Warning,
                    reason_code: None,
                    notes: None,
                })),
            ]
        );

        let failed = RunEvent::ItemFailed {
            error: "RESTORE failed".into(),
        };
        j.add_event("r1", Some("restore"), Some("Sales"), &failed)
            .unwrap();
        let stored: (String, String) = j
            .conn
            .query_row(
                "SELECT kind, data FROM events ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(
            stored,
            ("item-failed".into(), r#"{"error":"RESTORE failed"}"#.into())
        );
        let failures = j.events_of_kind("r1", "item-failed").unwrap();
        assert_eq!((failures.len(), &failures[0].event), (1, &failed));
    }

    #[test]
    fn reopening_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        {
            let mut j = SqliteJournal::open(&path).unwrap();
            let mut fp = BTreeMap::new();
            fp.insert("databases".to_owned(), "abc".to_owned());
            j.create_run("r1", "m.toml", &fp, &mut std::iter::empty())
                .unwrap();
            let finished = RunEvent::RunFinished {
                done: 0,
                failed: 0,
                skipped: 0,
                deferred: 0,
            };
            j.add_event("r1", None, None, &finished).unwrap();
        }
        let j = SqliteJournal::open(&path).unwrap();
        let run = j.latest_run().unwrap().unwrap();
        assert_eq!(
            run.fingerprint.get("databases").map(String::as_str),
            Some("abc")
        );
        assert_eq!(j.events("r1").unwrap().len(), 1);
    }
}
