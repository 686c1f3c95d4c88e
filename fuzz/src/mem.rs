//! A [`Store`] in memory: a fresh one per fuzz input costs nothing, so every input runs against
//! the same starting state (reproducible crashes) and no disk flush slows the loop.

use gridcase_sync_core::store::{Batch, Entry, Guard, Store, Write};
use gridcase_sync_core::Error;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Mutex;

type Tree = BTreeMap<Vec<u8>, Vec<u8>>;

#[derive(Default)]
pub struct MemStore {
    trees: Mutex<HashMap<&'static str, Tree>>,
}

impl MemStore {
    pub fn new() -> MemStore {
        MemStore::default()
    }
}

impl Store for MemStore {
    fn get(&self, tree: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let trees = self
            .trees
            .lock()
            .map_err(|_| Error::Store("poisoned".into()))?;
        Ok(trees.get(tree).and_then(|t| t.get(key)).cloned())
    }

    fn range<'a>(
        &'a self,
        tree: &'static str,
        start: &[u8],
        end: Option<&[u8]>,
    ) -> Box<dyn Iterator<Item = Result<Entry, Error>> + 'a> {
        let Ok(trees) = self.trees.lock() else {
            return Box::new(std::iter::once(Err(Error::Store("poisoned".into()))));
        };
        let Some(t) = trees.get(tree) else {
            return Box::new(std::iter::empty());
        };
        if end.is_some_and(|end| end <= start) {
            return Box::new(std::iter::empty());
        }
        let upper = end.map_or(Bound::Unbounded, |e| Bound::Excluded(e.to_vec()));
        let entries: Vec<Result<Entry, Error>> = t
            .range((Bound::Included(start.to_vec()), upper))
            .map(|(k, v)| Ok((k.clone(), v.clone())))
            .collect();
        Box::new(entries.into_iter())
    }

    fn commit(&self, batch: Batch) -> Result<(), Error> {
        self.commit_guarded(batch, &[]).map(drop)
    }

    fn commit_guarded(&self, batch: Batch, guards: &[Guard]) -> Result<bool, Error> {
        let mut trees = self
            .trees
            .lock()
            .map_err(|_| Error::Store("poisoned".into()))?;
        for g in guards {
            if trees.get(g.tree).and_then(|t| t.get(&g.key)) != g.value.as_ref() {
                return Ok(false);
            }
        }
        for write in batch.into_writes() {
            match write {
                Write::Put { tree, key, value } => {
                    trees.entry(tree).or_default().insert(key, value);
                }
                Write::Delete { tree, key } => {
                    if let Some(t) = trees.get_mut(tree) {
                        t.remove(&key);
                    }
                }
            }
        }
        Ok(true)
    }
}
