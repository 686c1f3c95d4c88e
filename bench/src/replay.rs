//! The public 311 samples in ../shared/data mapped onto the case model: the complaint type
//! becomes a category (by the explicit table [`CATEGORIES`]), the agency a unit, the created,
//! due and closed times the steps' times; what the data gets wrong is counted, not replayed.
//!
//! The rules, per row:
//! - A date before 1990 (`01/01/1900`, the placeholder of an unset date) is missing: a
//!   placeholder. A closing or due date before the opening, or an opening or closing after the
//!   file was published (its `as_of`, the date of the last commit that touched it, from
//!   PROVENANCE.md), is missing too: impossible. A row without a usable opening is not replayed.
//! - A row is closed only when its status says so (`Closed`) and it has a usable closing date.
//!   A status that is not closed with a closing date, or a closed status without one, is a
//!   disagreement; the row is replayed as not closed.
//! - A row without a (usable) due date is filed to its unit but not dispatched
//!   ([`Deadline::NotDispatched`]): no deadline is invented from the catalog, so it is never
//!   due (应结案) nor overdue, and its closing, if the file has one, is not written.
//! - The complaint type is looked up in [`CATEGORIES`]; the types that are not urban
//!   management (tax, benefits, taxis, food...) are mapped there to [`CATCH_ALL`] (E0699 其他事件) on purpose,
//!   and a type missing from the table falls there too and is counted as unmapped.

use crate::ledger_fill::{Deadline, Seed};
use gridcase_sync_core::calendar::days_from_civil;
use gridcase_sync_core::Millis;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// A CSV file's rows, each field found by its column's name in the header.
struct Csv {
    header: csv::StringRecord,
    rows: Vec<csv::StringRecord>,
}

impl Csv {
    /// Reads a whole CSV text (quoted fields may hold commas, quotes and line breaks; a row may
    /// have fewer or more fields than the header).
    fn read(text: impl std::io::Read) -> Result<Csv, csv::Error> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text);
        let header = reader.headers()?.clone();
        let rows = reader.records().collect::<Result<_, _>>()?;
        Ok(Csv { header, rows })
    }

    /// The file's rows, or why it cannot be read.
    fn open(path: &Path) -> Result<Csv, String> {
        std::fs::File::open(path)
            .map_err(csv::Error::from)
            .and_then(Csv::read)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))
    }

    /// The field of `row` in the column named `key`, trimmed; "" when there is none.
    fn get<'a>(&self, row: &'a csv::StringRecord, key: &str) -> &'a str {
        self.header
            .iter()
            .position(|k| k == key)
            .and_then(|i| row.get(i))
            .map_or("", str::trim)
    }
}

/// "03/01/2011 02:27:57 PM" (NYC) or "2022-01-21 13:47:00" (Boston), read as district local time.
pub fn parse_time(s: &str) -> Option<Millis> {
    let s = s.trim();
    let (date, time) = s.split_once(' ')?;
    let (y, m, d) = if date.contains('/') {
        let mut p = date.split('/');
        let (m, d, y) = (
            p.next()?.parse().ok()?,
            p.next()?.parse().ok()?,
            p.next()?.parse().ok()?,
        );
        (y, m, d)
    } else {
        let mut p = date.split('-');
        (
            p.next()?.parse().ok()?,
            p.next()?.parse().ok()?,
            p.next()?.parse().ok()?,
        )
    };
    let (clock, pm) = match time.split_once(' ') {
        Some((c, ampm)) => (c, Some(ampm.eq_ignore_ascii_case("PM"))),
        None => (time, None),
    };
    let mut p = clock.split(':');
    let mut h: i64 = p.next()?.parse().ok()?;
    let min: i64 = p.next()?.parse().ok()?;
    let sec: i64 = p.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    match pm {
        Some(true) if h < 12 => h += 12,
        Some(false) if h == 12 => h = 0,
        _ => {}
    }
    let days = days_from_civil(y, m, d);
    Some(((days * 24 + h - 8) * 3600 + min * 60 + sec) * 1000)
}

/// Midnight (district time) of a civil date.
fn midnight(y: i32, m: u32, d: u32) -> Millis {
    (days_from_civil(y, m, d) * 24 - 8) * 3_600_000
}

/// The category of the complaint types that have none in the standard catalog (tax, benefits,
/// taxis, food safety, social services...): the catalog's own "other event" (E0699 其他事件),
/// so that every real category keeps only its own rows and the catch-all's figures stand apart.
pub const CATCH_ALL: &str = "E0699";

/// Every complaint type of the three samples, as written in the files, and its catalog
/// category. The only place the replay maps categories; the test below checks that every type
/// present in the files is here and every code (but [`CATCH_ALL`]) is in the catalog.
pub const CATEGORIES: &[(&str, &str)] = &[
    // Noise (E0601 噪声扰民).
    ("Noise", "E0601"),
    ("Noise - Commercial", "E0601"),
    ("Noise - Helicopter", "E0601"),
    ("Noise - House of Worship", "E0601"),
    ("Noise - Park", "E0601"),
    ("Noise - Residential", "E0601"),
    ("Noise - Street/Sidewalk", "E0601"),
    ("Noise - Vehicle", "E0601"),
    ("Loud Parties/Music/People", "E0601"),
    // Parking and vehicles (E0504 机动车乱停放).
    ("Illegal Parking", "E0504"),
    ("Blocked Driveway", "E0504"),
    ("Parking Enforcement", "E0504"),
    ("Derelict Vehicle", "E0504"),
    ("Derelict Vehicles", "E0504"),
    ("Abandoned Vehicles", "E0504"),
    // Parking meters (C0201 停车场).
    ("Broken Muni Meter", "C0201"),
    ("Broken Parking Meter", "C0201"),
    // Road and sidewalk surface (E0401 路面塌陷, the catalog's road-surface category).
    ("Street Condition", "E0401"),
    ("Highway Condition", "E0401"),
    ("Request for Pothole Repair", "E0401"),
    ("Sidewalk Condition", "E0401"),
    ("Sidewalk Repair (Make Safe)", "E0401"),
    ("Curb Condition", "E0401"),
    ("Root/Sewer/Sidewalk Condition", "E0401"),
    ("Sidewalk Cover / Manhole", "C0102"),
    // Lights, signals, signs.
    ("Street Light Condition", "C0105"),
    ("Street Light Outages", "C0105"),
    ("General Lighting Request", "C0105"),
    ("Knockdown Replacement", "C0105"),
    ("Traffic Signal Condition", "C0205"),
    ("Traffic Signal Inspection", "C0205"),
    ("Street Sign - Damaged", "C0202"),
    ("Street Sign - Dangling", "C0202"),
    ("Street Sign - Missing", "C0202"),
    ("Sign Repair", "C0202"),
    ("New Sign  Crosswalk or Pavement Marking", "C0202"),
    ("Bus Stop Shelter Complaint", "C0203"),
    ("Bus Stop Shelter Placement", "C0203"),
    ("Bike Rack Condition", "C0702"),
    // Streets clean, garbage and bins.
    ("Requests for Street Cleaning", "E0104"),
    ("Sanitation Condition", "E0104"),
    ("CE Collection", "E0104"),
    ("Pick up Dead Animal", "E0104"),
    ("Misc. Snow Complaint", "E0104"),
    ("City/State Snow Issues", "E0104"),
    ("Improper Storage of Trash (Barrels)", "E0102"),
    ("Missed Trash/Recycling/Yard Waste/Bulk Item", "E0102"),
    ("Schedule a Bulk Item Pickup", "E0102"),
    ("Schedule a Bulk Item Pickup SS", "E0102"),
    ("Needle Pickup", "E0102"),
    ("Empty Litter Basket", "C0302"),
    ("Request for Recycling Cart", "C0302"),
    // Graffiti (E0201 非法小广告, the catalog's defacement category).
    ("Graffiti", "E0201"),
    ("Graffiti Removal", "E0201"),
    ("PWD Graffiti", "E0201"),
    // Trees and parks.
    ("Damaged Tree", "C0401"),
    ("Dead Tree", "C0401"),
    ("Overgrown Tree/Branches", "C0401"),
    ("Illegal Tree Damage", "C0401"),
    ("New Tree Request", "C0401"),
    ("Ground Maintenance", "C0402"),
    ("Maintenance or Facility", "C0402"),
    // Buildings (C0501 房屋).
    ("GENERAL CONSTRUCTION", "C0501"),
    ("HEATING", "C0501"),
    ("PLUMBING", "C0501"),
    ("ELECTRIC", "C0501"),
    ("Electrical", "C0501"),
    ("Poor Conditions of Property", "C0501"),
    ("Unsatisfactory Living Conditions", "C0501"),
    ("Unsatisfactory Utilities - Electrical  Plumbing", "C0501"),
    ("School Maintenance", "C0501"),
    // Water (E0402 自来水管破裂).
    ("Water System", "E0402"),
    // Street vending (E0501 无照经营游商).
    ("Vending", "E0501"),
    // No urban-management category: the catch-all, on purpose.
    ("Alzheimer's Care", CATCH_ALL),
    ("Animal Facility - No Permit", CATCH_ALL),
    ("Animal Generic Request", CATCH_ALL),
    ("Animal in a Park", CATCH_ALL),
    ("Asbestos", CATCH_ALL),
    ("Benefit Card Replacement", CATCH_ALL),
    ("Bereavement Support Group", CATCH_ALL),
    ("Bike/Roller/Skate Chronic", CATCH_ALL),
    ("Bottled Water", CATCH_ALL),
    ("Bridge Condition", CATCH_ALL),
    ("Consumer Complaint", CATCH_ALL),
    ("DCA / DOH New License Application Request", CATCH_ALL),
    ("DHS Advantage - Tenant", CATCH_ALL),
    ("DHS Advantage - Third Party", CATCH_ALL),
    ("DHS Advantage -Landlord/Broker", CATCH_ALL),
    ("DOF Literature Request", CATCH_ALL),
    ("DOF Parking - DMV Clearance", CATCH_ALL),
    ("DOF Parking - Payment Issue", CATCH_ALL),
    ("DOF Parking - Request Copy", CATCH_ALL),
    ("DOF Parking - Request Status", CATCH_ALL),
    ("DOF Property - City Rebate", CATCH_ALL),
    ("DOF Property - Owner Issue", CATCH_ALL),
    ("DOF Property - Payment Issue", CATCH_ALL),
    ("DOF Property - Reduction Issue", CATCH_ALL),
    ("DOF Property - Request Copy", CATCH_ALL),
    ("Drinking", CATCH_ALL),
    ("Drinking Water", CATCH_ALL),
    ("Elder Abuse", CATCH_ALL),
    ("Ferry Complaint", CATCH_ALL),
    ("Ferry Inquiry", CATCH_ALL),
    ("Food Establishment", CATCH_ALL),
    ("Food Poisoning", CATCH_ALL),
    ("For Hire Vehicle Complaint", CATCH_ALL),
    ("General Comments For a Program or Policy", CATCH_ALL),
    ("HEAP Assistance", CATCH_ALL),
    ("HPD Literature Request", CATCH_ALL),
    ("Harboring Bees/Wasps", CATCH_ALL),
    ("Home Delivered Meal - Missed Delivery", CATCH_ALL),
    ("Home Delivered Meal Complaint", CATCH_ALL),
    ("Home Repair", CATCH_ALL),
    ("Homeless Encampment", CATCH_ALL),
    ("Homeless Person Assistance", CATCH_ALL),
    ("Housing - Low Income Senior", CATCH_ALL),
    ("Housing Options", CATCH_ALL),
    ("Illegal Animal Kept as Pet", CATCH_ALL),
    ("Illegal Animal Sold", CATCH_ALL),
    ("Indoor Air Quality", CATCH_ALL),
    ("Lead", CATCH_ALL),
    ("Mold", CATCH_ALL),
    ("Non-Emergency Police Matter", CATCH_ALL),
    ("OEM Literature Request", CATCH_ALL),
    ("Panhandling", CATCH_ALL),
    ("Parking Card", CATCH_ALL),
    ("Pest Infestation - Residential", CATCH_ALL),
    ("Rodent", CATCH_ALL),
    ("Rodent Activity", CATCH_ALL),
    ("SCRIE", CATCH_ALL),
    ("Senior Center Complaint", CATCH_ALL),
    ("Short Term Rental", CATCH_ALL),
    ("Smoking", CATCH_ALL),
    ("Taxi Complaint", CATCH_ALL),
    ("Traffic", CATCH_ALL),
    ("Unleashed Dog", CATCH_ALL),
    ("Unsanitary Animal Pvt Property", CATCH_ALL),
    ("Unsanitary Pigeon Condition", CATCH_ALL),
    ("Utility Program", CATCH_ALL),
    ("Weatherization", CATCH_ALL),
    ("Window Guard", CATCH_ALL),
    ("X-Ray Machine/Equipment", CATCH_ALL),
];

/// The catalog category of a complaint type (exactly as in [`CATEGORIES`], trimmed); `None`
/// when the table does not list it (the replay then uses [`CATCH_ALL`] and counts it).
pub fn category(kind: &str) -> Option<&'static str> {
    let kind = kind.trim();
    CATEGORIES
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, code)| *code)
}

/// The columns of one sample's layout.
struct Columns {
    created: &'static str,
    closed: &'static str,
    due: &'static str,
    status: &'static str,
    kind: &'static str,
    unit: &'static str,
    detail: &'static str,
    place: &'static str,
    /// The units' prefix: "nyc" or "bos".
    city: &'static str,
}

const NYC: Columns = Columns {
    created: "Created Date",
    closed: "Closed Date",
    due: "Due Date",
    status: "Status",
    kind: "Complaint Type",
    unit: "Agency",
    detail: "Descriptor",
    place: "Incident Zip",
    city: "nyc",
};

const BOSTON: Columns = Columns {
    created: "open_dt",
    closed: "closed_dt",
    due: "target_dt",
    status: "case_status",
    kind: "type",
    unit: "department",
    detail: "case_title",
    place: "neighborhood",
    city: "bos",
};

/// One public sample: its file, its layout, and when it was published (the date of the last
/// commit that touched it in its source repository, PROVENANCE.md): no opening or closing can
/// be later.
pub struct Sample {
    pub file: &'static str,
    columns: Columns,
    as_of: (i32, u32, u32),
}

/// The three samples, in the order they are replayed.
pub const SAMPLES: [Sample; 3] = [
    Sample {
        file: "nyc311_tuplex_micro_2000.csv",
        columns: NYC,
        as_of: (2022, 9, 15),
    },
    Sample {
        file: "nyc311_tuplex_sample_2013.csv",
        columns: NYC,
        as_of: (2021, 6, 29),
    },
    Sample {
        file: "boston311_qsv_100.csv",
        columns: BOSTON,
        as_of: (2022, 9, 11),
    },
];

/// What one file's rows got wrong, and what was written.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Quality {
    pub rows: usize,
    /// Rows written as cases (all but those without a usable opening).
    pub replayed: usize,
    /// Date fields before 1990 (e.g. `01/01/1900`), read as missing.
    pub placeholder_dates: usize,
    /// Date fields that cannot be: a closing or due date before the opening, an opening or
    /// closing after the file was published. Read as missing.
    pub impossible_dates: usize,
    /// Rows whose status is not closed but that have a closing date (not closed).
    pub open_with_closing_date: usize,
    /// Rows whose status is closed but that have no usable closing date (not closed).
    pub closed_without_closing_date: usize,
    /// Replayed rows without a usable due date (filed, not dispatched, never due).
    pub no_due_date: usize,
    /// Of those, closed in the file: their closing is not written.
    pub no_due_date_closed: usize,
    /// Rows whose complaint type the table does not list (in [`CATCH_ALL`]).
    pub unmapped: usize,
    /// The unlisted complaint types and their rows.
    pub unmapped_types: BTreeMap<String, usize>,
    /// Rows in [`CATCH_ALL`], listed there on purpose or unmapped.
    pub catch_all: usize,
}

impl fmt::Display for Quality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rows {}, replayed {}, placeholder dates {}, impossible dates {}, \
             status not closed with a closing date {}, status closed without one {}, \
             no due date {} (closed in the file, closing not written: {}), \
             unmapped categories {} rows {:?}, catch-all {}",
            self.rows,
            self.replayed,
            self.placeholder_dates,
            self.impossible_dates,
            self.open_with_closing_date,
            self.closed_without_closing_date,
            self.no_due_date,
            self.no_due_date_closed,
            self.unmapped,
            self.unmapped_types,
            self.catch_all,
        )
    }
}

/// The year a date before which is a placeholder.
const FIRST_YEAR: i32 = 1990;

/// A date field read under the rules: `None` when empty, unreadable, a placeholder (counted) or
/// impossible by `check` (counted).
fn date(raw: &str, quality: &mut Quality, check: impl Fn(Millis) -> bool) -> Option<Millis> {
    let at = parse_time(raw)?;
    if at < midnight(FIRST_YEAR, 1, 1) {
        quality.placeholder_dates += 1;
        return None;
    }
    if !check(at) {
        quality.impossible_dates += 1;
        return None;
    }
    Some(at)
}

/// One sample's cases and findings.
fn sample(data: &Path, sample: &Sample) -> Result<(Vec<Seed>, Quality), String> {
    let path = data.join(sample.file);
    if !path.is_file() {
        return Err(format!("missing data file {}", path.display()));
    }
    let csv = Csv::open(&path)?;
    let c = &sample.columns;
    if !csv.header.iter().any(|h| h == c.created) {
        return Err(format!("{}: no column {:?}", path.display(), c.created));
    }
    let (y, m, d) = sample.as_of;
    let as_of = midnight(y, m, d) + 86_400_000;
    let mut quality = Quality {
        rows: csv.rows.len(),
        ..Quality::default()
    };
    let mut out = Vec::new();
    for row in &csv.rows {
        let get = |key| csv.get(row, key);
        let q = &mut quality;
        let created = date(get(c.created), q, |at| at <= as_of);
        let closing = date(get(c.closed), q, |at| {
            at <= as_of && created.is_none_or(|c| at >= c)
        });
        let due = date(get(c.due), q, |at| created.is_none_or(|c| at >= c));
        let Some(created) = created else {
            continue;
        };
        let status_closed = get(c.status).eq_ignore_ascii_case("closed");
        match (status_closed, closing) {
            (false, Some(_)) => q.open_with_closing_date += 1,
            (true, None) => q.closed_without_closing_date += 1,
            _ => {}
        }
        let closed = closing.filter(|_| status_closed);
        let deadline = match due {
            Some(at) => Deadline::At(at),
            None => {
                q.no_due_date += 1;
                q.no_due_date_closed += usize::from(closed.is_some());
                Deadline::NotDispatched
            }
        };
        let kind = get(c.kind);
        let code = category(kind).unwrap_or_else(|| {
            q.unmapped += 1;
            *q.unmapped_types.entry(kind.to_owned()).or_default() += 1;
            CATCH_ALL
        });
        q.catch_all += usize::from(code == CATCH_ALL);
        q.replayed += 1;
        out.push(Seed {
            grid: get(c.place).bytes().map(usize::from).sum::<usize>(),
            category: code,
            unit: format!("{}-{}", c.city, get(c.unit).to_ascii_lowercase()),
            description: format!("{kind}: {}", get(c.detail)),
            created,
            deadline,
            closed,
            satisfied: None,
            address: None,
            coordinates: None,
        });
    }
    Ok((out, quality))
}

/// Each replayed file's name and findings, in order.
pub type Findings = Vec<(&'static str, Quality)>;

/// The named samples (all of [`SAMPLES`] when `only` is empty), in that order, and each
/// file's findings. A missing folder or file, or one that cannot be read, is an error.
pub fn seeds(data: &Path, only: &[String]) -> Result<(Vec<Seed>, Findings), String> {
    if !data.is_dir() {
        return Err(format!(
            "no data folder {} (set --data or GRIDCASE_DATA)",
            data.display()
        ));
    }
    if let Some(unknown) = only.iter().find(|f| !SAMPLES.iter().any(|s| s.file == **f)) {
        return Err(format!("no such sample {unknown:?}"));
    }
    let mut seeds = Vec::new();
    let mut findings = Vec::new();
    for s in SAMPLES
        .iter()
        .filter(|s| only.is_empty() || only.iter().any(|f| f == s.file))
    {
        let (mut cases, quality) = sample(data, s)?;
        seeds.append(&mut cases);
        findings.push((s.file, quality));
    }
    Ok((seeds, findings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_sync_core::category::Catalog;
    use gridcase_sync_core::CategoryCode;
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    #[test]
    fn csv_fields_and_times() {
        let csv = Csv::read(&b"a,b,c,d,e\na,\"b, c\",\"say \"\"hi\"\"\",,\n1,\"two\nlines\"\n"[..])
            .expect("csv");
        let fields: Vec<&str> = csv.rows[0].iter().collect();
        assert_eq!(fields, vec!["a", "b, c", r#"say "hi""#, "", ""]);
        assert_eq!(csv.get(&csv.rows[0], "c"), r#"say "hi""#);
        assert_eq!(csv.get(&csv.rows[1], "b"), "two\nlines");
        assert_eq!(
            csv.get(&csv.rows[1], "e"),
            "",
            "a short row lacks the last fields"
        );
        assert_eq!(csv.get(&csv.rows[0], "z"), "", "no such column");
        let nyc = parse_time("03/01/2011 02:27:57 PM").expect("nyc");
        let boston = parse_time("2011-03-01 14:27:57").expect("boston");
        assert_eq!(nyc, boston);
        assert_eq!(
            parse_time("03/01/2011 12:00:00 AM"),
            parse_time("2011-03-01 00:00:00")
        );
        assert!(parse_time("").is_none());
        assert_eq!(
            midnight(2011, 3, 1),
            parse_time("2011-03-01 00:00:00").expect("t")
        );
    }

    #[test]
    fn categories_by_table_not_substring() {
        assert_eq!(category("Requests for Street Cleaning"), Some("E0104"));
        assert_eq!(category("Noise - Street/Sidewalk"), Some("E0601"));
        assert_eq!(category("Street Light Condition"), Some("C0105"));
        assert_eq!(category("Damaged Tree"), Some("C0401"));
        assert_eq!(category("Taxi Complaint"), Some(CATCH_ALL));
        assert_eq!(category("Something else"), None);
        let mut seen = BTreeSet::new();
        for (kind, code) in CATEGORIES {
            assert!(seen.insert(*kind), "{kind:?} twice in the table");
            let parsed = CategoryCode::parse(code).expect("a category code");
            assert!(
                Catalog::standard().get(&parsed).is_some(),
                "{kind:?} -> {code}: not in the catalog"
            );
        }
    }

    fn data() -> PathBuf {
        std::env::var_os("GRIDCASE_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
    }

    /// Every complaint type present in the three files is in the table; the ones that are not
    /// are printed (and counted by the replay as unmapped).
    #[test]
    fn every_complaint_type_in_the_files_is_in_the_table() {
        let data = data();
        let mut unmapped = BTreeMap::<String, usize>::new();
        let mut types = BTreeSet::new();
        for s in &SAMPLES {
            let csv = Csv::open(&data.join(s.file)).expect("the public samples (GRIDCASE_DATA)");
            for row in &csv.rows {
                let kind = csv.get(row, s.columns.kind);
                types.insert(kind.to_owned());
                if category(kind).is_none() {
                    *unmapped.entry(format!("{}: {kind}", s.file)).or_default() += 1;
                }
            }
        }
        for (kind, rows) in &unmapped {
            eprintln!("unmapped complaint type {kind} ({rows} rows)");
        }
        assert_eq!(types.len(), 142, "complaint types in the three files");
        assert!(unmapped.is_empty(), "unmapped: {unmapped:?}");
        let (_, findings) = seeds(&data, &[]).expect("seeds");
        assert!(findings.iter().all(|(_, q)| q.unmapped == 0));
    }

    #[test]
    fn a_missing_folder_or_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nowhere");
        let e = seeds(&missing, &[]).err().expect("an error");
        assert!(e.contains("no data folder"), "{e}");
        let e = seeds(dir.path(), &[]).err().expect("an error");
        assert!(e.contains("missing data file"), "{e}");
        assert!(e.contains("nyc311_tuplex_micro_2000.csv"), "{e}");
    }

    #[test]
    fn bad_rows_are_findings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let header = "Created Date,Closed Date,Agency,Complaint Type,Descriptor,Incident Zip,Status,Due Date\n";
        let rows = [
            // Fine, closed on time.
            "03/01/2011 09:00:00 AM,03/02/2011 09:00:00 AM,DOT,Street Condition,Pothole,10001,Closed,03/05/2011 09:00:00 AM",
            // Placeholder closing date, status not closed.
            "03/01/2011 09:00:00 AM,01/01/1900 12:00:00 AM,NYPD,Illegal Parking,x,10001,Assigned,03/05/2011 09:00:00 AM",
            // Closing before opening: impossible; status closed without a usable closing.
            "03/01/2011 09:00:00 AM,02/01/2011 09:00:00 AM,DOT,Street Condition,x,10001,Closed,03/05/2011 09:00:00 AM",
            // Pending with a closing date: not closed.
            "03/01/2011 09:00:00 AM,03/02/2011 09:00:00 AM,DOT,Street Condition,x,10001,Pending,03/05/2011 09:00:00 AM",
            // No due date, closed: not dispatched, closing not written; an unknown type.
            "03/01/2011 09:00:00 AM,03/02/2011 09:00:00 AM,TLC,Flying Saucer,x,10001,Closed,",
            // Opening in the future of the file: not replayed.
            "03/01/2031 09:00:00 AM,,DOT,Street Condition,x,10001,Open,03/05/2031 09:00:00 AM",
        ];
        let text = format!("{header}{}\n", rows.join("\n"));
        for s in &SAMPLES[..2] {
            std::fs::write(dir.path().join(s.file), &text).expect("write");
        }
        std::fs::write(
            dir.path().join(SAMPLES[2].file),
            "open_dt,closed_dt,target_dt,case_status,type,department,case_title,neighborhood\n",
        )
        .expect("write");
        let (seeds, findings) = seeds(dir.path(), &[SAMPLES[0].file.to_owned()]).expect("seeds");
        assert_eq!(findings.len(), 1);
        let q = &findings[0].1;
        let want = Quality {
            rows: 6,
            replayed: 5,
            placeholder_dates: 1,
            impossible_dates: 2,
            open_with_closing_date: 1,
            closed_without_closing_date: 1,
            no_due_date: 1,
            no_due_date_closed: 1,
            unmapped: 1,
            unmapped_types: [("Flying Saucer".to_owned(), 1)].into(),
            catch_all: 1,
        };
        assert_eq!(q, &want, "{q}");
        let closed: Vec<bool> = seeds.iter().map(|s| s.closed.is_some()).collect();
        assert_eq!(closed, vec![true, false, false, false, true]);
        assert_eq!(seeds[4].deadline, Deadline::NotDispatched);
        assert_eq!(seeds[4].category, CATCH_ALL);
        assert_eq!(
            seeds[0].deadline,
            Deadline::At(parse_time("03/05/2011 09:00:00 AM").expect("t"))
        );
        let (all, findings) = seeds_all(dir.path());
        assert_eq!(all, 10);
        assert_eq!(findings, 3);
    }

    fn seeds_all(dir: &Path) -> (usize, usize) {
        let (seeds, findings) = seeds(dir, &[]).expect("seeds");
        (seeds.len(), findings.len())
    }
}
