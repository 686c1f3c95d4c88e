//! Prints the figures the design leans on: the saved size of an 8-event case and the heap a
//! loaded case costs, counted by a wrapping global allocator.
//! `cargo bench -p gridcase-sync-core --bench sizes`

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use gridcase_sync_core::CaseDoc;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn main() {
    // intake, file, dispatch, handle, feedback, verify, close, evaluate: the whole loop.
    let mut doc = case_at("evaluated");
    let events = doc.events().expect("events").len();
    let saved = doc.save();
    println!("case with {events} events: {} bytes saved", saved.len());

    const N: usize = 1_000;
    let before = LIVE.load(Ordering::Relaxed);
    let loaded: Vec<CaseDoc> = (0..N)
        .map(|_| CaseDoc::load(&saved).expect("load"))
        .collect();
    let after = LIVE.load(Ordering::Relaxed);
    println!(
        "loaded case: {} bytes of heap each ({N} loaded: {:.1} MB)",
        (after - before) / N,
        (after - before) as f64 / 1e6
    );
    drop(loaded);
}
