//! Figures about a server process and its files, read from /proc and the file system (the
//! field-day bench and the measuring examples).

use std::path::Path;

/// CPU seconds (user + system) the process has used.
pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the full line, 11 and 12 after the name.
    let hz = 100.0;
    (ticks(11) + ticks(12)) / hz
}

/// CPU seconds of every PostgreSQL process on the machine (their command name is `postgres`):
/// on the PostgreSQL engine, the database's share of the work, which the server's own figure
/// leaves out. The bench's cluster is private (`scripts/postgres`), so nothing else counts.
pub fn database_cpu_seconds() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "postgres")
        })
        .map(cpu_seconds)
        .sum()
}

/// The bytes PostgreSQL keeps for a database (`pg_database_size`), read with psql; 0 when it
/// cannot be read.
pub fn database_bytes(url: &str) -> u64 {
    std::process::Command::new("psql")
        .arg(url)
        .args(["-tAc", "SELECT pg_database_size(current_database())"])
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Peak resident set size of the process, in bytes (VmHWM).
pub fn peak_rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Starts the process's peak resident set size (VmHWM) over from its current size, so that a
/// round's peak can be told apart from the setup's (Linux `clear_refs` value 5; needs the
/// right to write the process's `/proc` files). Returns whether it could.
pub fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// Bytes of all files under a directory.
pub fn disk_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                total += disk_bytes(&p);
            } else if let Ok(m) = e.metadata() {
                total += m.len();
            }
        }
    }
    total
}

/// Total HTTP requests the server has answered, from its /metrics.
pub fn requests(http: &crate::Http) -> u64 {
    let metrics = http.get("/metrics", Some(crate::METRICS_TOKEN));
    let text = String::from_utf8_lossy(&metrics.body).into_owned();
    text.lines()
        .filter(|l| l.starts_with("gridcase_http_requests_total{"))
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, n)| n.parse::<u64>().ok()))
        .sum()
}

/// Requests answered and seconds spent per route, from the server's /metrics (all statuses
/// together).
pub fn routes(http: &crate::Http) -> std::collections::BTreeMap<String, (u64, f64)> {
    let metrics = http.get("/metrics", Some(crate::METRICS_TOKEN));
    let text = String::from_utf8_lossy(&metrics.body).into_owned();
    let mut out = std::collections::BTreeMap::<String, (u64, f64)>::new();
    for line in text.lines() {
        let (counted, rest) = if let Some(r) = line.strip_prefix("gridcase_http_requests_total{") {
            (true, r)
        } else if let Some(r) = line.strip_prefix("gridcase_http_request_seconds_sum{") {
            (false, r)
        } else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let Some(route) = labels
            .strip_prefix("route=\"")
            .and_then(|r| r.split_once('"'))
            .map(|(r, _)| r.to_owned())
        else {
            continue;
        };
        let entry = out.entry(route).or_default();
        if counted {
            entry.0 += value.parse::<u64>().unwrap_or(0);
        } else {
            entry.1 += value.parse::<f64>().unwrap_or(0.0);
        }
    }
    out
}
