//! A handheld's offline cases written straight into its store, the way its client library
//! writes them, without the per-action overhead that made building 2,000 handhelds' histories
//! take the bench minutes (issue 17).
//!
//! Each case is made with sync-core's commands (`open_case_with_org`, then `act_with_org` for
//! every further event), as this handheld's user and device, with its own automerge actor,
//! against the organization it cached at login: the same changes, events and checks as
//! `Client::report` and `Client::act`. What differs is only how the store receives them:
//! the client folds, checks and saves after every action (one durable sled flush each, and it
//! parses the cached organization from its store every time: with a grid per pair of workers
//! that is 1,000 grids, parsed 320,000 times in the 2,000-worker run); here the document stays
//! in memory while its events are written, each finished case is staged as one snapshot and
//! marked dirty (what `DocStore::save_local` stages for a new case), and one commit makes a
//! handheld's whole day durable. The case loads, and syncs, the same either way.
//!
//! The client must be closed while this writes: sled holds its directory's lock. The client's
//! records read here (`client_meta`: `install`, `identity`, `org`) are those of its store
//! layout 1 (`gridcase_client::client::STORE_SCHEMA`).

use gridcase_sync_core::commands::{act_with_org, open_case_with_org};
use gridcase_sync_core::event::Intake;
use gridcase_sync_core::org::Org;
use gridcase_sync_core::store::{Batch, DocStore, SledStore, Store};
use gridcase_sync_core::{Action, Actor, ActorId, CaseDoc, CategoryCode, GridId, WorkCalendar};
use gridcase_tests::scenario::patrol;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

/// The client's tree of its own records (`client-ffi/src/client.rs`, `trees::META`).
const META: &str = "client_meta";

/// One closed handheld's store, opened to write its offline day.
pub struct Handheld {
    docs: DocStore,
    actor: Actor,
    writer: ActorId,
    org: Org,
    calendar: WorkCalendar,
    batch: Batch,
    staged: usize,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex actor"))
        .collect()
}

impl Handheld {
    /// Opens the store of the client whose directory is `dir` (what `Client::open` was given),
    /// after it logged in once.
    pub fn open(dir: &Path) -> Handheld {
        assert_eq!(
            gridcase_client::client::STORE_SCHEMA,
            1,
            "the bench reads the client's store layout 1"
        );
        let store: Arc<dyn Store> =
            Arc::new(SledStore::open_for_device(dir.join("store")).expect("store"));
        let meta = |key: &str| -> Value {
            let bytes = store
                .get(META, key.as_bytes())
                .expect("client meta")
                .unwrap_or_else(|| panic!("the client has no {key} record: log in first"));
            serde_json::from_slice(&bytes).expect("client meta JSON")
        };
        let (install, identity) = (meta("install"), meta("identity"));
        let text = |v: &Value| v.as_str().expect("a string").to_owned();
        let actor = Actor {
            user: text(&identity["user"]).as_str().into(),
            device: text(&install["device_id"]).as_str().into(),
            role: serde_json::from_value(identity["role"].clone()).expect("role"),
            scope: serde_json::from_value(identity["scope"].clone()).expect("scope"),
        };
        let writer = ActorId::from(hex(&text(&install["actor"])).as_slice());
        let org: Org = serde_json::from_value(meta("org")).expect("cached organization");
        Handheld {
            docs: DocStore::new(store),
            actor,
            writer,
            org,
            calendar: WorkCalendar::beijing(),
            batch: Batch::new(),
            staged: 0,
        }
    }

    /// A patrol report in `grid` (what `field::report` makes through the client, without a
    /// photo) and the rest of its `events`, the fix, notes, verification and close); staged.
    pub fn case(&mut self, grid: &str, n: usize, events: usize) {
        let territory = self
            .org
            .locate(Some(&GridId::from(grid)), None, &self.actor.scope)
            .expect("the worker's grid");
        let intake = Intake {
            territory,
            category: CategoryCode::parse("E0102"),
            ..patrol(&format!(
                "field day report {n}: garbage piled at the corner"
            ))
        };
        let (mut doc, _) = open_case_with_org(
            &self.actor,
            self.writer.clone(),
            intake,
            Vec::new(),
            now(),
            Some(&self.org),
        )
        .expect("report");
        self.script(&mut doc, events, 1);
        let case = doc.header().expect("header").case;
        self.docs
            .stage_snapshot(&mut self.batch, &case, doc.automerge());
        self.docs.stage_dirty(&mut self.batch, &case, true);
        self.staged += 1;
    }

    /// More offline work on a case this handheld already holds (a shared case, or one just
    /// reported through the client with a photo): events `from` to
    /// `events`, after a failed verification first when `not_fixed` (the partner who finds
    /// the shared case not fixed). Staged as one increment, as `Client::act` saves each.
    pub fn work_on(&mut self, case: &str, not_fixed: bool, events: usize, from: usize) {
        let id = gridcase_sync_core::CaseId::new(case);
        let mut doc = self
            .docs
            .load(&id)
            .expect("load")
            .expect("a case on this handheld");
        doc.set_actor(self.writer.clone());
        let since = doc.heads();
        if not_fixed {
            let verify = Action::Verify {
                resolved: false,
                note: "not fixed".into(),
                photos: vec![],
            };
            let _ = self.act(&mut doc, verify);
        }
        self.script(&mut doc, events, from);
        self.docs
            .stage_save(&mut self.batch, &id, doc.automerge(), &since)
            .expect("stage");
        self.docs.stage_dirty(&mut self.batch, &id, true);
    }

    /// Events `from..events` of a patrol case: the on-the-spot fix, notes, the on-site
    /// verification and the close (a note where the rules refuse one of them).
    fn script(&self, doc: &mut CaseDoc, events: usize, from: usize) {
        let last = events.saturating_sub(1);
        for k in from..events {
            let action = if k == 1 {
                Action::SelfHandle {
                    note: "cleared it on the spot".into(),
                    photos: vec![],
                }
            } else if k + 1 == last {
                Action::Verify {
                    resolved: true,
                    note: "checked on site".into(),
                    photos: vec![],
                }
            } else if k == last {
                Action::Close {
                    note: "done".into(),
                }
            } else {
                comment(k)
            };
            if self.act(doc, action).is_err() {
                let _ = self.act(doc, comment(k));
            }
        }
    }

    fn act(&self, doc: &mut CaseDoc, action: Action) -> Result<(), gridcase_sync_core::Error> {
        act_with_org(
            doc,
            &self.actor,
            action,
            Vec::new(),
            now(),
            &self.calendar,
            Some(&self.org),
        )
        .map(drop)
    }

    /// Makes the staged cases durable in one commit; returns how many there were. The store
    /// closes when the handheld is dropped.
    pub fn commit(mut self) -> usize {
        let batch = std::mem::take(&mut self.batch);
        self.docs.commit(batch).expect("commit");
        self.staged
    }
}

fn comment(k: usize) -> Action {
    Action::Comment {
        text: format!("patrol note {k}"),
    }
}
