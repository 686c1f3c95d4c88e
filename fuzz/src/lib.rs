//! The bodies of gridcase's fuzz targets, as plain functions of the input bytes.
//!
//! Each function is what one libFuzzer binary in `fuzz_targets/` runs per input, and what
//! `tests/corpus.rs` runs over every file of `corpus/<target>/` with plain `cargo test`, so the
//! corpus is replayed on any machine, without the fuzzing build. A target returns quietly on
//! input that is refused with an error; it panics only when an invariant breaks (a panic in the
//! code under test, or an assertion here).
//!
//! | target         | code under test                                                     |
//! |----------------|---------------------------------------------------------------------|
//! | `sync_batch`   | `SyncBatch::decode` (and encode ∘ decode)                           |
//! | `sync_receive` | `SyncSession::receive` on a `DocStore`, messages as automerge bytes  |
//! | `inspect`      | `Snapshot::inspect` after arbitrary changes reach a stored case     |
//! | `case_doc`     | `AutoCommit::load` → `CaseDoc` header / events / attachments, saves |
//! | `fold`         | `fold` over events given as JSON                                    |
//! | `open311`      | the Open311 routes through the real router: forms, queries, paths   |
//! | `dates`        | `district_time::parse_iso` and the times written back               |
//! | `console_form` | the console's action and sign-in forms                              |

pub mod checksum;
mod core;
pub mod fixtures;
pub mod mem;
mod server;

pub use crate::core::{
    case_doc, fold, inspect, inspect_flags, receive_flags, sync_batch, sync_receive,
};
pub use crate::server::{console_form, dates, open311, OPEN311_KEY};

/// A target's body: one input in, a panic when an invariant breaks.
pub type Target = fn(&[u8]);

/// Every target by name, as `corpus/<name>/` and `fuzz_targets/<name>.rs` call it.
pub const TARGETS: &[(&str, Target)] = &[
    ("sync_batch", sync_batch),
    ("sync_receive", sync_receive),
    ("inspect", inspect),
    ("case_doc", case_doc),
    ("fold", fold),
    ("open311", open311),
    ("dates", dates),
    ("console_form", console_form),
];

/// Whether `GRIDCASE_FUZZ_DEBUG` is set: targets then say what each input did (for triage).
pub fn debug() -> bool {
    static DEBUG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("GRIDCASE_FUZZ_DEBUG").is_some())
}

thread_local! {
    /// Set by the panic hook when the panic at hand is automerge's (see [`run`]).
    static IN_AUTOMERGE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a panic at `file` is automerge's own: its sources or its column codec's.
fn automerge_source(file: &str) -> bool {
    ["/automerge-0.", "/hexane-"]
        .iter()
        .any(|p| file.contains(p))
}

/// Runs a target on one input, as the fuzz binaries and the replay do. Known (README.md,
/// "Findings"): automerge 0.12 panics on some malformed input instead of returning an error,
/// from `AutoCommit::load`, `load_incremental` and so from `receive_sync_message`. Until that
/// is caught in sync-core or fixed upstream, a panic raised inside automerge's own sources ends
/// the input quietly (unless `GRIDCASE_FUZZ_STRICT` is set), so that fuzzing goes on to
/// gridcase's own code; any other panic still fails (under libFuzzer, its panic hook aborts).
pub fn run(target: Target, data: &[u8]) {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !strict() && info.location().is_some_and(|l| automerge_source(l.file())) {
                IN_AUTOMERGE.with(|k| k.set(true));
                if debug() {
                    eprintln!("known: automerge panicked: {info}");
                }
                return;
            }
            // The panic that unwinds to `run` is the last one raised.
            IN_AUTOMERGE.with(|k| k.set(false));
            previous(info);
        }));
    });
    IN_AUTOMERGE.with(|k| k.set(false));
    if let Err(panic) = std::panic::catch_unwind(|| target(data)) {
        if !IN_AUTOMERGE.with(|k| k.get()) {
            std::panic::resume_unwind(panic);
        }
    }
}

/// Whether `GRIDCASE_FUZZ_STRICT` is set: the targets then also fail on the known, unfixed
/// findings they otherwise pass over (README.md, "Findings").
pub fn strict() -> bool {
    *STRICT.get_or_init(|| std::env::var_os("GRIDCASE_FUZZ_STRICT").is_some())
}

static STRICT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Makes this process strict, as `GRIDCASE_FUZZ_STRICT` does; for `tests/known.rs`, which
/// calls it before anything asks [`strict`].
pub fn be_strict() {
    let _ = STRICT.set(true);
}

/// Separates the messages of one `sync_receive` input (each is one round).
pub const ROUND_SEPARATOR: &[u8] = b"--GCFZ--";

/// Splits `data` at each [`ROUND_SEPARATOR`].
pub fn rounds(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(at) = rest
        .windows(ROUND_SEPARATOR.len())
        .position(|w| w == ROUND_SEPARATOR)
    {
        out.push(&rest[..at]);
        rest = &rest[at + ROUND_SEPARATOR.len()..];
    }
    out.push(rest);
    out
}
