//! The public 311 samples in ../shared/data mapped onto the case model: the complaint type
//! becomes a category, the agency a unit, the created, due and closed times the steps' times.

use crate::ledger_fill::Seed;
use gridcase_sync_core::calendar::days_from_civil;
use gridcase_sync_core::Millis;
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

    /// The file's rows; none, said on stderr, when it cannot be read.
    fn open(path: &Path) -> Csv {
        let read = std::fs::File::open(path)
            .map_err(csv::Error::from)
            .and_then(Csv::read);
        read.unwrap_or_else(|e| {
            eprintln!("[gridcase-bench] cannot read {}: {e}", path.display());
            Csv {
                header: csv::StringRecord::new(),
                rows: Vec::new(),
            }
        })
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

/// The catalog category a complaint type reads as.
fn category(kind: &str) -> &'static str {
    let k = kind.to_ascii_lowercase();
    let rules: &[(&str, &str)] = &[
        ("noise", "E0601"),
        ("construction", "E0301"),
        ("street light", "C0105"),
        ("traffic signal", "C0205"),
        ("sign", "C0202"),
        ("sanitation", "E0102"),
        ("dirty", "E0104"),
        ("garbage", "E0102"),
        ("trash", "E0102"),
        ("litter", "C0302"),
        ("needle", "E0102"),
        ("graffiti", "E0201"),
        ("posters", "E0201"),
        ("parking", "E0504"),
        ("vehicle", "E0504"),
        ("vend", "E0501"),
        ("sewer", "E0404"),
        ("water", "E0402"),
        ("street condition", "E0401"),
        ("pothole", "E0401"),
        ("tree", "C0401"),
        ("heat", "C0501"),
        ("plumbing", "C0501"),
        ("building", "C0501"),
        ("paint", "C0501"),
    ];
    rules
        .iter()
        .find(|(needle, _)| k.contains(needle))
        .map_or("E0601", |(_, c)| c)
}

/// Both samples, NYC then Boston.
pub fn seeds(data: &Path) -> Vec<Seed> {
    let mut out = Vec::new();
    let nyc = Csv::open(&data.join("nyc311_tuplex_micro_2000.csv"));
    for row in &nyc.rows {
        let get = |key| nyc.get(row, key);
        let Some(created) = parse_time(get("Created Date")) else {
            continue;
        };
        let zip = get("Incident Zip").bytes().map(usize::from).sum::<usize>();
        out.push(Seed {
            grid: zip,
            category: category(get("Complaint Type")),
            unit: format!("nyc-{}", get("Agency").to_ascii_lowercase()),
            description: format!("{}: {}", get("Complaint Type"), get("Descriptor")),
            created,
            deadline: parse_time(get("Due Date")),
            closed: parse_time(get("Closed Date")),
            satisfied: None,
            address: None,
            coordinates: None,
        });
    }
    let boston = Csv::open(&data.join("boston311_qsv_100.csv"));
    for row in &boston.rows {
        let get = |key| boston.get(row, key);
        let Some(created) = parse_time(get("open_dt")) else {
            continue;
        };
        let hood = get("neighborhood").bytes().map(usize::from).sum::<usize>();
        out.push(Seed {
            grid: hood,
            category: category(get("type")),
            unit: format!("bos-{}", get("department").to_ascii_lowercase()),
            description: format!("{}: {}", get("type"), get("case_title")),
            created,
            deadline: parse_time(get("target_dt")),
            closed: parse_time(get("closed_dt")),
            satisfied: None,
            address: None,
            coordinates: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(category("Noise - Street/Sidewalk"), "E0601");
        assert_eq!(category("Something else"), "E0601");
        assert_eq!(category("Street Light Condition"), "C0105");
    }
}
