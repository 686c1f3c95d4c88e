//! `gridcase-field`: the handheld library on a command line, for community workstations and
//! for trying gridcase by hand. Everything but `login`, `sync` and `photos` works with the
//! server away. The exit status says what to do next ([`EXIT_STATUSES`]).

use clap::{Args, Parser, Subcommand};
use gridcase_client::client::progress::{human_bytes, stage};
use gridcase_client::client::Client;
use gridcase_client::error::ClientError;
use gridcase_client::transport::BuiltinTransport;
use gridcase_client::views::{
    CaseFilter, NewCaller, NewReport, SyncOptions, SyncProgress, SyncReport, UserInfo,
};
use gridcase_sync_core::calendar::WorkCalendar;
use serde::Serialize;
use serde_json::Value;
use std::io::{BufRead, ErrorKind, IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// What the exit status says, for scripts (also the end of `--help`).
const EXIT_STATUSES: &str = "\
Exit status:
  0   done
  1   an error: invalid input, the local store
  2   not logged in, or the session cannot be renewed: log in (again), once while online
  3   the network failed: nothing is lost; run the command again (or pass --retry-for) and it
      continues where it stopped
  4   refused: a rule (here or at the server) will not take the action, or the server refused
      some of this device's work during a sync (`status` lists it); the same again gets the
      same answer
  64  the command line does not read";

const EXIT_ERROR: u8 = 1;
const EXIT_NOT_LOGGED_IN: u8 = 2;
const EXIT_NETWORK: u8 = 3;
const EXIT_REFUSED: u8 = 4;
const EXIT_USAGE: u8 = 64;

#[derive(Parser)]
#[command(
    name = "gridcase-field",
    version,
    about = "Work gridcase cases offline and sync them",
    after_help = EXIT_STATUSES
)]
struct Cli {
    /// The local store of this workstation or handheld.
    #[arg(long, env = "GRIDCASE_FIELD_DIR", default_value = "./field-data")]
    data_dir: String,
    /// The gridcase server.
    #[arg(long, env = "GRIDCASE_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Seconds a transfer may go without moving a byte before it is given up (and resumed by
    /// the next sync). Not a total: a photo on a slow link takes as long as it needs.
    #[arg(long, env = "GRIDCASE_IDLE_TIMEOUT", default_value_t = 60)]
    idle_timeout: u64,
    /// Machine-readable output.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

/// How a transfer goes on a poor link.
#[derive(Args)]
struct Transfer {
    /// With --json: one JSON object per line as it goes ({"type":"progress",…}), the report
    /// last ({"type":"report",…}).
    #[arg(long)]
    progress: bool,
    /// On a network failure, keep trying for this long (`90s`, `15m`, `2h`, `1h30m`), backing
    /// off between attempts (1 s doubling to a minute); each attempt continues where the last
    /// one stopped.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    retry_for: Option<Duration>,
}

/// `90`, `90s`, `15m`, `2h`, `1h30m`, `1d`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration such as 90s, 15m, 2h or 1h30m");
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let (mut total, mut number) = (0u64, String::new());
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        total = total.saturating_add(n.saturating_mul(unit));
        number.clear();
    }
    if !number.is_empty() || text.is_empty() {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

#[derive(Args)]
struct Outcome {
    #[arg(long, conflicts_with = "not_resolved")]
    resolved: bool,
    #[arg(long)]
    not_resolved: bool,
}

impl Outcome {
    fn get(&self) -> Result<bool, ClientError> {
        match (self.resolved, self.not_resolved) {
            (true, false) => Ok(true),
            (false, true) => Ok(false),
            _ => Err(ClientError::Invalid {
                message: "say --resolved or --not-resolved".into(),
            }),
        }
    }
}

/// Who reported a case in person. Kept on this device, never in the case, until the case has
/// synced and the caller is uploaded to the server's caller register.
#[derive(Args)]
struct CallerArgs {
    #[arg(long)]
    caller_name: Option<String>,
    /// A mobile number or a landline with its area code, however typed.
    #[arg(long)]
    caller_phone: Option<String>,
    /// Where the caller lives or can be found.
    #[arg(long)]
    caller_address: Option<String>,
    /// The caller wants to be called back (needs --caller-phone).
    #[arg(long)]
    callback: bool,
    /// The caller gives no name: nothing personal is taken down.
    #[arg(long, conflicts_with_all = ["caller_name", "caller_phone", "caller_address", "callback"])]
    anonymous: bool,
}

impl CallerArgs {
    /// The caller, when any caller field was given.
    fn caller(self) -> Option<NewCaller> {
        let given = self.caller_name.is_some()
            || self.caller_phone.is_some()
            || self.caller_address.is_some()
            || self.callback
            || self.anonymous;
        given.then(|| NewCaller {
            name: self.caller_name.unwrap_or_default(),
            phone: self.caller_phone,
            contact: None,
            address: self.caller_address,
            callback: self.callback,
            anonymous: self.anonymous,
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Log in (the password comes from GRIDCASE_PASSWORD or a prompt) and register this device.
    Login { user: String },
    /// Report a new case; with caller fields, a resident's report taken in person.
    New {
        #[arg(long)]
        description: String,
        /// patrol | hotline | walk_in | web; walk_in when a caller is given, else patrol.
        #[arg(long)]
        channel: Option<String>,
        /// consultation | request_for_help | complaint | report | suggestion | praise
        #[arg(long)]
        business_type: Option<String>,
        #[command(flatten)]
        caller: CallerArgs,
        #[arg(long)]
        category: Option<String>,
        #[arg(long)]
        grid: Option<String>,
        #[arg(long)]
        address: Option<String>,
        #[arg(long, requires = "lat")]
        lon: Option<f64>,
        #[arg(long, requires = "lon")]
        lat: Option<f64>,
        #[arg(long = "photo")]
        photos: Vec<String>,
    },
    /// The cases on this device.
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        text: Option<String>,
        #[arg(long)]
        pending: bool,
        #[arg(long)]
        conflicts: bool,
        #[arg(long)]
        overdue: bool,
    },
    /// One case with its timeline.
    Show { id: String },
    /// File a case (立案).
    File {
        id: String,
        #[arg(long)]
        category: String,
        #[arg(long, default_value = "general")]
        level: String,
        #[arg(long = "unit")]
        units: Vec<String>,
        #[arg(long, default_value = "")]
        suggestion: String,
        #[arg(long)]
        callback: bool,
    },
    /// Confirm on site whether a reported problem exists (核实).
    Confirm {
        id: String,
        #[arg(long, action = clap::ArgAction::Set, value_name = "true|false")]
        exists: bool,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Decline a case (不予立案).
    Decline {
        id: String,
        /// duplicate | out_of_jurisdiction | not_actionable | not_found
        #[arg(long)]
        reason: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Dispatch a case to a unit.
    Dispatch {
        id: String,
        #[arg(long)]
        unit: String,
        #[arg(long)]
        responsible: Option<String>,
    },
    /// Record handling progress.
    Handle {
        id: String,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long = "photo")]
        photos: Vec<String>,
    },
    /// Report the result of handling.
    Feedback {
        id: String,
        #[command(flatten)]
        outcome: Outcome,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long = "photo")]
        photos: Vec<String>,
    },
    /// Verify on site.
    Verify {
        id: String,
        #[command(flatten)]
        outcome: Outcome,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long = "photo")]
        photos: Vec<String>,
    },
    /// Close a verified case.
    Close {
        id: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Evaluate a closed case.
    Evaluate {
        id: String,
        /// satisfied | basic | dissatisfied
        #[arg(long)]
        satisfaction: Option<String>,
        #[arg(long)]
        solved: Option<bool>,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Add a comment.
    Comment { id: String, text: String },
    /// Not this unit's responsibility: back to the dispatcher (退回).
    Return {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// More time to handle a case (延期), granted by a center.
    Extend {
        id: String,
        #[arg(long)]
        hours: u32,
        #[arg(long)]
        reason: String,
    },
    /// The unit dispatched to acknowledges receipt (签收).
    Acknowledge {
        id: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// The unit dispatched to asks the dispatcher for more time (延期申请).
    RequestExtension {
        id: String,
        /// Working hours, at most what the case's category and level allow.
        #[arg(long)]
        hours: u32,
        #[arg(long)]
        reason: String,
    },
    /// A grid worker fixed a reported problem on the spot (自处理).
    SelfHandle {
        id: String,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long = "photo")]
        photos: Vec<String>,
    },
    /// Call the supervisor's attention to an open case (督办).
    Escalate {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Sync with the server: this device's cases, callers and photos go up first ("your work
    /// is on the server"), then others' cases and their photos come down. A progress bar on
    /// a terminal; the report counts case and photo bytes.
    Sync {
        /// Leave others' photos for later (`photos` fetches them); this device's own photos
        /// still go up.
        #[arg(long)]
        no_photos: bool,
        #[command(flatten)]
        transfer: Transfer,
    },
    /// Download the photos a sync left for later, resuming cut ones.
    Photos {
        #[command(flatten)]
        transfer: Transfer,
    },
    /// What waits to be synced.
    Status,
}

/// Writes a line to stdout. A reader that went away (`gridcase-field list | head -1`) ends the
/// output quietly: what it did not read, it did not want.
fn emit(text: &str) -> Result<(), ClientError> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn print<T: Serialize>(
    json: bool,
    value: &T,
    human: impl FnOnce(&T) -> String,
) -> Result<(), ClientError> {
    if json {
        emit(&serde_json::to_string_pretty(value).unwrap_or_default())
    } else {
        emit(&human(value))
    }
}

/// An instant (ms since the epoch) as district wall-clock time, `YYYY-MM-DD HH:MM`.
fn local_time(ms: i64) -> String {
    WorkCalendar::beijing().wall_clock(ms)
}

/// A field that holds JSON text, as the JSON it holds (kept as text if it does not read).
fn unstring(value: &mut Value) {
    if let Some(parsed) = value
        .as_str()
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
    {
        *value = parsed;
    }
}

/// A user for `--json`: the scope as an object, not a string of JSON.
fn user_json(user: &UserInfo) -> Value {
    let mut value = serde_json::to_value(user).unwrap_or_default();
    unstring(&mut value["scope"]);
    value
}

fn password() -> Result<String, ClientError> {
    if let Ok(p) = std::env::var("GRIDCASE_PASSWORD") {
        return Ok(p);
    }
    eprint!("password: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

impl Transfer {
    /// Runs a transfer, showing its progress, and on a network failure runs it again (it
    /// continues where it stopped) until `--retry-for` has passed: the reports of the attempts
    /// added up.
    fn run(
        &self,
        client: &Client,
        json: bool,
        attempt: impl Fn(&dyn Fn(&SyncProgress)) -> Result<SyncReport, ClientError>,
    ) -> Result<SyncReport, Failure> {
        let started = Instant::now();
        let saved_at = std::cell::Cell::new(None::<Duration>);
        let shown = std::cell::RefCell::new(Shown::default());
        let listener = |p: &SyncProgress| {
            if p.stage == stage::SAVED && saved_at.get().is_none() {
                saved_at.set(Some(started.elapsed()));
            }
            if json {
                if self.progress {
                    let mut line = serde_json::to_value(p).unwrap_or_default();
                    line["type"] = "progress".into();
                    let _ = emit(&line.to_string());
                }
            } else {
                shown.borrow_mut().show(p);
            }
        };
        let mut total = SyncReport::default();
        let mut delay = Duration::from_secs(1);
        let outcome = loop {
            match attempt(&listener) {
                Ok(report) => {
                    add(&mut total, report);
                    break Ok(());
                }
                Err(ClientError::SyncInterrupted { message, cause }) => {
                    if let Some(report) = client.last_sync_report() {
                        add(&mut total, report);
                    }
                    let left = self
                        .retry_for
                        .and_then(|d| d.checked_sub(started.elapsed()))
                        .filter(|l| !l.is_zero());
                    let Some(left) = left else {
                        break Err(ClientError::SyncInterrupted { message, cause });
                    };
                    let wait = delay.min(left);
                    shown.borrow_mut().line(&format!(
                        "gridcase-field: {message}\ngridcase-field: trying again in {} s ({} s left of --retry-for)",
                        wait.as_secs_f32().ceil(),
                        left.as_secs()
                    ));
                    if json && self.progress {
                        let _ = emit(
                            &serde_json::json!({
                                "type": "retry", "error": message, "in_ms": wait.as_millis() as u64
                            })
                            .to_string(),
                        );
                    }
                    std::thread::sleep(wait);
                    delay = (delay * 2).min(Duration::from_secs(60));
                }
                Err(e) => break Err(e),
            }
        };
        shown.borrow_mut().finish();
        total.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        total.own_work_saved_ms = saved_at
            .get()
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        match outcome {
            Ok(()) => Ok(total),
            // The last failure, with what all the attempts did and what remains.
            Err(error @ ClientError::SyncInterrupted { .. }) => Err(Failure {
                error,
                said: Some(serde_json::json!({
                    "report": total, "remaining": client.pending()?
                })),
            }),
            Err(e) => Err(e.into()),
        }
    }
}

/// An error, with what a `--json` reader is also told of it (an interrupted sync's report and
/// what remains).
struct Failure {
    error: ClientError,
    said: Option<Value>,
}

impl From<ClientError> for Failure {
    fn from(error: ClientError) -> Failure {
        Failure { error, said: None }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        ClientError::from(e).into()
    }
}

impl From<serde_json::Error> for Failure {
    fn from(e: serde_json::Error) -> Failure {
        ClientError::from(e).into()
    }
}

/// The reports of two attempts of one transfer, as one.
fn add(total: &mut SyncReport, r: SyncReport) {
    total.rounds += r.rounds;
    total.cases_sent += r.cases_sent;
    total.cases_received += r.cases_received;
    total.bytes_sent += r.bytes_sent;
    total.bytes_received += r.bytes_received;
    total.case_bytes_sent += r.case_bytes_sent;
    total.case_bytes_received += r.case_bytes_received;
    total.photo_bytes_sent += r.photo_bytes_sent;
    total.photo_bytes_received += r.photo_bytes_received;
    total.conflicts += r.conflicts;
    total.refusals.extend(r.refusals);
    total.blobs_uploaded += r.blobs_uploaded;
    total.blobs_downloaded += r.blobs_downloaded;
    total.callers_uploaded += r.callers_uploaded;
    total.own_work_on_server |= r.own_work_on_server;
    total.photos_to_download = r.photos_to_download;
}

/// The progress bar on a terminal (stderr), and the lines said whatever stderr is.
#[derive(Default)]
struct Shown {
    stage: String,
    drawn: bool,
}

impl Shown {
    fn show(&mut self, p: &SyncProgress) {
        if p.stage == stage::SAVED {
            self.line(&if p.bytes_sent == 0 {
                "nothing of yours to send; fetching what others did".to_owned()
            } else {
                format!(
                    "your work is on the server ({} sent); fetching what others did",
                    human_bytes(p.bytes_sent)
                )
            });
            return;
        }
        let (label, photos) = match p.stage.as_str() {
            stage::OWN_CASES => ("your cases", false),
            stage::OWN_PHOTOS => ("your photos", true),
            stage::OTHERS_CASES => ("others' cases", false),
            stage::OTHERS_PHOTOS => ("others' photos", true),
            _ => return,
        };
        let mut err = std::io::stderr();
        // A photo stage with no photo to move draws nothing.
        if !err.is_terminal() || (photos && p.items_total == 0) {
            return;
        }
        if self.drawn && self.stage != p.stage {
            let _ = writeln!(err);
        }
        self.stage.clone_from(&p.stage);
        let rate = format!("{}/s", human_bytes(p.bytes_per_second));
        // Photos: done of the stage's photos; cases: the rounds so far (their number is not
        // known beforehand).
        let items = if photos {
            format!(
                "photo {} of {}",
                (p.items_done + 1).min(p.items_total),
                p.items_total
            )
        } else {
            format!("round {}", p.items_done)
        };
        const WIDTH: u64 = 24;
        let text = match (p.bytes_done.min(p.bytes_total) * WIDTH).checked_div(p.bytes_total) {
            Some(filled) => {
                let filled = filled as usize;
                format!(
                    "{label:<15} [{}{}] {} / {}  {rate}  {items}",
                    "#".repeat(filled),
                    "-".repeat(WIDTH as usize - filled),
                    human_bytes(p.bytes_done),
                    human_bytes(p.bytes_total),
                )
            }
            None => format!("{label:<15} {}  {rate}  {items}", human_bytes(p.bytes_done)),
        };
        let _ = write!(err, "\r{text:<78}");
        let _ = err.flush();
        self.drawn = true;
    }

    /// A line for people on stderr, below the bar.
    fn line(&mut self, text: &str) {
        let mut err = std::io::stderr().lock();
        if self.drawn {
            let _ = writeln!(err);
            self.drawn = false;
        }
        let _ = writeln!(err, "{text}");
    }

    fn finish(&mut self) {
        if self.drawn {
            let _ = writeln!(std::io::stderr());
            self.drawn = false;
        }
    }
}

/// What a report is of: a whole sync, or only the download of photos left for later.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ReportOf {
    Sync,
    Photos,
}

/// A sync's (or a photo download's) report: pretty JSON, one JSON line after `--progress`
/// lines, or a few lines for people.
fn show_report(
    json: bool,
    lines: bool,
    of: ReportOf,
    report: &SyncReport,
) -> Result<(), ClientError> {
    if json && lines {
        let mut value = serde_json::to_value(report)?;
        value["type"] = "report".into();
        return emit(&value.to_string());
    }
    let seconds = |ms: u64| ms as f64 / 1000.0;
    print(json, report, |r| {
        if of == ReportOf::Photos {
            if r.blobs_downloaded == 0 && r.photos_to_download == 0 {
                return "no photos wait to be downloaded".to_owned();
            }
            let mut out = format!(
                "downloaded {} photo(s), {} in {:.1} s",
                r.blobs_downloaded,
                human_bytes(r.photo_bytes_received),
                seconds(r.duration_ms)
            );
            if r.photos_to_download > 0 {
                out.push_str(&format!(
                    "\n{} photo(s) still to download (the server cannot serve them yet): run `gridcase-field photos` again later",
                    r.photos_to_download
                ));
            }
            return out;
        }
        let mut out = format!(
            "synced in {:.1} s ({} round(s))\n\
             sent:     {} case(s), {} photo(s), {} caller(s); {} (cases {}, photos {})\n\
             received: {} case(s), {} photo(s); {} (cases {}, photos {})",
            seconds(r.duration_ms),
            r.rounds,
            r.cases_sent,
            r.blobs_uploaded,
            r.callers_uploaded,
            human_bytes(r.bytes_sent),
            human_bytes(r.case_bytes_sent),
            human_bytes(r.photo_bytes_sent),
            r.cases_received,
            r.blobs_downloaded,
            human_bytes(r.bytes_received),
            human_bytes(r.case_bytes_received),
            human_bytes(r.photo_bytes_received),
        );
        if r.conflicts > 0 {
            out.push_str(&format!(
                "\n{} open conflict(s) in the cases received: the center resolves them (`list`, `show`)",
                r.conflicts
            ));
        }
        match r.own_work_saved_ms {
            Some(ms) => out.push_str(&format!(
                "\nyour work is on the server (after {:.1} s)",
                seconds(ms)
            )),
            None if !r.own_work_on_server => {
                out.push_str("\nsome of your work waits to be sent (see `status`)")
            }
            None => {}
        }
        if r.photos_to_download > 0 {
            out.push_str(&format!(
                "\n{} photo(s) of others' cases not downloaded yet: gridcase-field photos",
                r.photos_to_download
            ));
        }
        for f in &r.refusals {
            out.push_str(&format!(
                "\nrefused {}: {} ({})",
                f.case_id, f.code, f.message
            ));
        }
        out
    })
}

/// The exit status of an error (see [`EXIT_STATUSES`]).
fn exit_status(e: &ClientError) -> u8 {
    match e {
        ClientError::NotLoggedIn { .. } | ClientError::Unauthorized { .. } => EXIT_NOT_LOGGED_IN,
        e if e.is_network() => EXIT_NETWORK,
        e if e.is_refusal() => EXIT_REFUSED,
        _ => EXIT_ERROR,
    }
}

fn run(cli: Cli) -> Result<u8, Failure> {
    let client = Client::open_builtin(
        &cli.data_dir,
        &cli.server,
        BuiltinTransport::with_idle_timeout(Duration::from_secs(cli.idle_timeout)),
    )?;
    let json = cli.json;
    let event = |id: String| {
        print(json, &serde_json::json!({ "event": id }), |_| {
            format!("ok (event {id})")
        })
    };
    if !matches!(cli.command, Command::Login { .. } | Command::Status) && client.whoami()?.is_none()
    {
        return Err(ClientError::NotLoggedIn {
            message: "this device has no session".into(),
        }
        .into());
    }
    match cli.command {
        Command::Login { user } => {
            let info = client.login(&user, &password()?)?;
            print(json, &user_json(&info), |_| {
                format!(
                    "logged in as {} ({}, {}) on device {}",
                    info.user, info.role, info.scope, info.device_id
                )
            })?;
        }
        Command::New {
            description,
            channel,
            business_type,
            caller,
            category,
            grid,
            address,
            lon,
            lat,
            photos,
        } => {
            let caller = caller.caller();
            let channel = channel.unwrap_or_else(|| {
                if caller.is_some() {
                    "walk_in"
                } else {
                    "patrol"
                }
                .to_owned()
            });
            let id = client.report(NewReport {
                channel,
                description,
                grid,
                address,
                longitude: lon,
                latitude: lat,
                category,
                photos,
                business_type,
                caller,
            })?;
            let detail = client.case(&id)?;
            let (status, waiting) = (detail.case.status, detail.caller);
            print(
                json,
                &serde_json::json!({ "case": id, "status": status, "caller": waiting }),
                |_| {
                    let mut out = format!("case {id} taken down, {status} (not yet synced)");
                    if waiting.is_some() {
                        out.push_str(
                            "\nthe caller is kept on this device until the case has synced, then uploaded",
                        );
                    }
                    out
                },
            )?;
        }
        Command::List {
            status,
            text,
            pending,
            conflicts,
            overdue,
        } => {
            let filter = CaseFilter {
                status,
                text,
                only_pending_sync: pending,
                only_conflicts: conflicts,
                only_overdue: overdue,
            };
            let cases = client.cases(&filter)?;
            print(json, &cases, |cases| {
                let mut out = format!("{} case(s)\n", cases.len());
                for c in cases {
                    let flags = [
                        (c.pending_sync, "pending"),
                        (c.open_conflicts > 0, "conflict"),
                        (c.overdue, "overdue"),
                        (c.refused.is_some(), "refused"),
                    ]
                    .iter()
                    .filter(|(on, _)| *on)
                    .map(|(_, f)| *f)
                    .collect::<Vec<_>>()
                    .join(",");
                    out.push_str(&format!(
                        "{}  {:<16} {}  {:<22} step {}  {:<4} {}  {}\n",
                        c.id,
                        // Until the device has synced and learned it.
                        c.number.as_deref().unwrap_or("-"),
                        local_time(c.created_at),
                        c.status,
                        c.step,
                        c.grid.as_deref().unwrap_or("-"),
                        c.description,
                        flags
                    ));
                }
                out.trim_end().to_owned()
            })?;
        }
        Command::Show { id } => {
            let d = client.case(&id)?;
            let mut value = serde_json::to_value(&d)?;
            if let Some(timeline) = value["timeline"].as_array_mut() {
                for t in timeline {
                    unstring(&mut t["payload"]);
                }
            }
            print(json, &value, |_| {
                let c = &d.case;
                let mut out = format!(
                    "case {}\nnumber {}\nreported {}{}\nstatus {} (step {}), grid {}, category {}, unit {}, business type {}\n{}\n",
                    c.id,
                    c.number.as_deref().unwrap_or("- (not yet synced)"),
                    local_time(c.created_at),
                    match c.deadline {
                        Some(at) => format!(
                            ", due {}{}",
                            local_time(at),
                            if c.overdue { " (overdue)" } else { "" }
                        ),
                        None => String::new(),
                    },
                    c.status,
                    c.step,
                    c.grid.as_deref().unwrap_or("-"),
                    c.category.as_deref().unwrap_or("-"),
                    c.unit.as_deref().unwrap_or("-"),
                    c.business_type.as_deref().unwrap_or("-"),
                    c.description
                );
                if let Some(k) = &d.caller {
                    let who = if k.anonymous {
                        "anonymous".to_owned()
                    } else {
                        format!("{} {}", k.name, k.phone.as_deref().unwrap_or("-"))
                    };
                    out.push_str(&format!(
                        "caller {who}{} (on this device until uploaded)\n",
                        if k.callback { ", wants a callback" } else { "" }
                    ));
                }
                out.push_str("\ntimeline:\n");
                for t in &d.timeline {
                    // A later release's event: its stored kind, marked as not understood.
                    let kind = match &t.stored_kind {
                        Some(stored) => format!("{stored}?"),
                        None => t.kind.clone(),
                    };
                    out.push_str(&format!(
                        "  {}  {:<12} by {:<10} → {:<22} {}{}\n",
                        local_time(t.at),
                        kind,
                        t.author,
                        t.status_after,
                        if t.stored_kind.is_some() {
                            "not understood by this version "
                        } else if t.disposition == "applied" {
                            ""
                        } else {
                            &t.disposition
                        },
                        if t.payload == "{}" {
                            String::new()
                        } else {
                            format!("  {}", t.payload)
                        }
                    ));
                }
                for k in &d.conflicts {
                    out.push_str(&format!(
                        "conflict: {} ({}) {}\n",
                        k.event, k.reason, k.message
                    ));
                }
                for a in &d.attachments {
                    out.push_str(&format!(
                        "photo {} {} {}\n",
                        a.sha256,
                        a.size,
                        a.path.as_deref().unwrap_or("(not downloaded)")
                    ));
                }
                out.trim_end().to_owned()
            })?;
        }
        Command::File {
            id,
            category,
            level,
            units,
            suggestion,
            callback,
        } => event(client.file_case(&id, &category, &level, units, suggestion, callback)?)?,
        Command::Confirm { id, exists, note } => event(client.confirm(&id, exists, note)?)?,
        Command::Decline { id, reason, note } => event(client.decline(&id, &reason, note)?)?,
        Command::Dispatch {
            id,
            unit,
            responsible,
        } => event(client.dispatch(&id, &unit, responsible, None)?)?,
        Command::Handle { id, note, photos } => event(client.handle(&id, note, photos)?)?,
        Command::Feedback {
            id,
            outcome,
            note,
            photos,
        } => event(client.feedback(&id, outcome.get()?, note, photos)?)?,
        Command::Verify {
            id,
            outcome,
            note,
            photos,
        } => event(client.verify(&id, outcome.get()?, note, photos)?)?,
        Command::Close { id, note } => event(client.close(&id, note)?)?,
        Command::Evaluate {
            id,
            satisfaction,
            solved,
            note,
        } => event(client.evaluate(&id, satisfaction, solved, note)?)?,
        Command::Comment { id, text } => event(client.comment(&id, text)?)?,
        Command::Return { id, reason } => event(client.return_case(&id, reason)?)?,
        Command::Extend { id, hours, reason } => event(client.extend(&id, hours, reason)?)?,
        Command::Acknowledge { id, note } => event(client.acknowledge(&id, note)?)?,
        Command::RequestExtension { id, hours, reason } => {
            event(client.request_extension(&id, hours, reason)?)?
        }
        Command::SelfHandle { id, note, photos } => event(client.self_handle(&id, note, photos)?)?,
        Command::Escalate { id, reason } => event(client.escalate(&id, reason)?)?,
        Command::Sync {
            no_photos,
            transfer,
        } => {
            let options = SyncOptions {
                download_photos: !no_photos,
            };
            let report = transfer.run(&client, json, |listener| {
                client.sync_with(&options, listener)
            })?;
            show_report(json, transfer.progress, ReportOf::Sync, &report)?;
            if !report.refusals.is_empty() {
                return Ok(EXIT_REFUSED);
            }
        }
        Command::Photos { transfer } => {
            let report =
                transfer.run(&client, json, |listener| client.download_photos(listener))?;
            show_report(json, transfer.progress, ReportOf::Photos, &report)?;
        }
        Command::Status => {
            let pending = client.pending()?;
            let who = client.whoami()?;
            print(
                json,
                &serde_json::json!({ "user": who.as_ref().map(user_json), "pending": pending }),
                |_| {
                    let mut out = match &who {
                        Some(u) => format!(
                            "{} ({}) on {} via {}\n",
                            u.user, u.role, u.device_id, u.server
                        ),
                        None => "not logged in\n".to_owned(),
                    };
                    out.push_str(&format!(
                        "{} case(s) to send, {} photo(s) to upload, {} to download, {} caller(s) to upload, {} refused",
                        pending.cases.len(),
                        pending.uploads.len(),
                        pending.downloads.len(),
                        pending.callers.len(),
                        pending.refused.len()
                    ));
                    for r in &pending.refused {
                        out.push_str(&format!(
                            "\nrefused {}: {} ({})",
                            r.case_id, r.code, r.message
                        ));
                    }
                    out
                },
            )?;
        }
    }
    Ok(0)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version go to stdout and end well; a command line that does not read
            // has its own status, apart from "not logged in".
            return if e.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let json = cli.json;
    let (e, extra) = match run(cli) {
        Ok(status) => return ExitCode::from(status),
        Err(Failure { error, said }) => (error, said),
    };
    let status = exit_status(&e);
    // The rule's stable code for a refused action, for scripts to branch on.
    let code = match &e {
        ClientError::NotAllowed { code, .. } => Some(code.as_str()),
        ClientError::NotLoggedIn { .. } => Some("not_logged_in"),
        _ => None,
    };
    if json {
        let category = match status {
            EXIT_NOT_LOGGED_IN => "not_logged_in",
            EXIT_NETWORK => "network",
            EXIT_REFUSED => "refused",
            _ => "error",
        };
        let mut said = serde_json::json!({
            "type": "error", "error": e.to_string(), "code": code, "category": category
        });
        if let ClientError::SyncInterrupted { cause, .. } = &e {
            said["cause"] = cause.as_str().into();
        }
        if let Some(Value::Object(extra)) = extra {
            for (k, v) in extra {
                said[k] = v;
            }
        }
        let _ = emit(&said.to_string());
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "gridcase-field: {e}");
    match status {
        EXIT_NOT_LOGGED_IN => {
            let _ = writeln!(
                err,
                "gridcase-field: log in first, once while online: gridcase-field login <user>"
            );
        }
        EXIT_NETWORK if !matches!(e, ClientError::SyncInterrupted { .. }) => {
            let _ = writeln!(
                err,
                "gridcase-field: the network failed: nothing is lost; run the command again when the link is back"
            );
        }
        _ => {}
    }
    ExitCode::from(status)
}
