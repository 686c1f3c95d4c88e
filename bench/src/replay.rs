//! The public 311 samples in ../shared/data mapped onto the case model: the complaint type
//! becomes a category, the agency a unit, the created, due and closed times the steps' times.

use crate::ledger_fill::Seed;
use gridcase_sync_core::calendar::days_from_civil;
use gridcase_sync_core::Millis;
use std::path::Path;

/// Splits one CSV line into fields ("" escapes a quote inside a quoted field).
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    out.push(field);
    out
}

/// Rows of a CSV file as (header → value) lookups.
fn rows(path: &Path) -> Vec<Vec<(String, String)>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("[gridcase-bench] cannot read {}", path.display());
        return Vec::new();
    };
    let mut lines = text.lines();
    let header = lines.next().map(fields).unwrap_or_default();
    lines
        .map(|l| header.iter().cloned().zip(fields(l)).collect())
        .collect()
}

fn get<'a>(row: &'a [(String, String)], key: &str) -> &'a str {
    row.iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.trim())
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
    for row in rows(&data.join("nyc311_tuplex_micro_2000.csv")) {
        let Some(created) = parse_time(get(&row, "Created Date")) else {
            continue;
        };
        let zip = get(&row, "Incident Zip")
            .bytes()
            .map(usize::from)
            .sum::<usize>();
        out.push(Seed {
            grid: zip,
            category: category(get(&row, "Complaint Type")),
            unit: format!("nyc-{}", get(&row, "Agency").to_ascii_lowercase()),
            description: format!(
                "{}: {}",
                get(&row, "Complaint Type"),
                get(&row, "Descriptor")
            ),
            created,
            deadline: parse_time(get(&row, "Due Date")),
            closed: parse_time(get(&row, "Closed Date")),
            satisfied: None,
        });
    }
    for row in rows(&data.join("boston311_qsv_100.csv")) {
        let Some(created) = parse_time(get(&row, "open_dt")) else {
            continue;
        };
        let hood = get(&row, "neighborhood")
            .bytes()
            .map(usize::from)
            .sum::<usize>();
        out.push(Seed {
            grid: hood,
            category: category(get(&row, "type")),
            unit: format!("bos-{}", get(&row, "department").to_ascii_lowercase()),
            description: format!("{}: {}", get(&row, "type"), get(&row, "case_title")),
            created,
            deadline: parse_time(get(&row, "target_dt")),
            closed: parse_time(get(&row, "closed_dt")),
            satisfied: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_and_times() {
        assert_eq!(
            fields(r#"a,"b, c","say ""hi""",,"#),
            vec!["a", "b, c", r#"say "hi""#, "", ""]
        );
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
