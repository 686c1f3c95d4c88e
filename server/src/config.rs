//! Start-up configuration: every flag is also an environment variable.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "gridcase-server",
    version,
    about = "The central case ledger of gridcase"
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "GRIDCASE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory of the embedded ledger (sled) and the signing key.
    #[arg(long, env = "GRIDCASE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Seed a demo district and its users when the ledger has none.
    #[arg(long, env = "GRIDCASE_DEMO")]
    pub demo: bool,
    /// HS256 signing key as hex (at least 32 bytes); generated into the data directory if absent.
    #[arg(long, env = "GRIDCASE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "GRIDCASE_ACCESS_TTL", default_value_t = 900)]
    pub access_ttl: u64,
    /// Lifetime of a refresh token, in seconds.
    #[arg(long, env = "GRIDCASE_REFRESH_TTL", default_value_t = 30 * 24 * 3600)]
    pub refresh_ttl: u64,
    /// Lifetime of a console sign-in, in seconds (a working shift by default).
    #[arg(long, env = "GRIDCASE_CONSOLE_SESSION_TTL", default_value_t = 12 * 3600)]
    pub console_session_ttl: u64,
    /// Mark the console's session cookie `Secure` (when HTTPS is terminated in front).
    #[arg(long, env = "GRIDCASE_CONSOLE_SECURE_COOKIE")]
    pub console_secure_cookie: bool,
    /// Largest request body accepted, in bytes (compressed, as sent).
    #[arg(long, env = "GRIDCASE_MAX_BODY", default_value_t = 16 * 1024 * 1024)]
    pub max_body: usize,
    /// Largest sync batch after decompression, in bytes.
    #[arg(long, env = "GRIDCASE_MAX_BATCH_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_batch_bytes: usize,
    /// Most cases a device may send in one sync request.
    #[arg(long, env = "GRIDCASE_MAX_BATCH_CASES", default_value_t = 2000)]
    pub max_batch_cases: usize,
    /// Most feed cases offered in one sync answer; the rest follow with `more`.
    #[arg(long, env = "GRIDCASE_MAX_ANSWER_CASES", default_value_t = 500)]
    pub max_answer_cases: usize,
    /// Seconds before a request is abandoned.
    #[arg(long, env = "GRIDCASE_REQUEST_TIMEOUT", default_value_t = 60)]
    pub request_timeout: u64,
    /// Sync requests processed at once (0: twice the cores). The rest wait their turn, so memory
    /// stays bounded when hundreds of handhelds reconnect together.
    #[arg(long, env = "GRIDCASE_SYNC_WORKERS", default_value_t = 0)]
    pub sync_workers: usize,
    /// Largest blob (photo) accepted, in bytes.
    #[arg(long, env = "GRIDCASE_MAX_BLOB", default_value_t = 20 * 1024 * 1024)]
    pub max_blob: u64,
    /// Case documents kept loaded in memory.
    #[arg(long, env = "GRIDCASE_CACHE_CASES", default_value_t = 256)]
    pub cache_cases: usize,
    /// sled's page cache, in MiB (sled counts pages as stored; in memory they take more).
    #[arg(long, env = "GRIDCASE_STORE_CACHE_MB", default_value_t = 32)]
    pub store_cache_mb: u64,
    /// Reopen the sled store after this many MiB of writes, so that a restart replays at most
    /// that much of its log (sled writes its snapshot only when it opens); 0: never. Each
    /// reopen pauses the store for about half a second. See `SledStore::SERVER_REOPEN_AFTER`.
    #[arg(long, env = "GRIDCASE_STORE_REOPEN_MB", default_value_t = 192)]
    pub store_reopen_mb: u64,
    /// The ledger on PostgreSQL instead of the embedded sled store under `--data-dir`: a libpq
    /// URL (`postgres://user:password@host:port/database`; several hosts with
    /// `target_session_attrs=read-write` follow a promoted standby). Photos are kept in the
    /// database too, so that every server serves them; the signing key stays under
    /// `--data-dir` unless `--jwt-secret` gives it.
    #[arg(long, env = "GRIDCASE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Connections to PostgreSQL at most (with `--database-url`).
    #[arg(long, env = "GRIDCASE_DATABASE_POOL", default_value_t = 16)]
    pub database_pool: usize,
    /// Open311 api_keys, comma-separated; each lets a client file requests as the `open311`
    /// user. With `--demo` and none given, the key is `demo-open311-key`.
    #[arg(long, env = "GRIDCASE_OPEN311_KEYS", value_delimiter = ',')]
    pub open311_keys: Vec<String>,
    /// The server's address as its clients reach it (`https://311.example.cn`, with a path if
    /// a proxy serves it under one), named by Open311's discovery document. Without it, the
    /// address the server listens on. Never taken from a request's `Host` header.
    #[arg(long, env = "GRIDCASE_PUBLIC_URL", value_parser = public_url)]
    pub public_url: Option<String>,
    /// The district's address register (地址库): a CSV file whose header is
    /// `id,street,road,number,building,grid` (see `src/addresses.rs`). Open311 requests that
    /// give only an `address_string` or an `address_id` are located with it. With `--demo` and
    /// none given, a generated register of the demo district.
    #[arg(long, env = "GRIDCASE_ADDRESSES")]
    pub addresses: Option<PathBuf>,
    /// The weights of the performance score (综合得分): `name=weight,...` over `closing`,
    /// `on_time`, `response`, `public_satisfaction`, `public_solved`, `satisfaction`,
    /// `first_contact`, `accurate_dispatch`, `rework` and `return` (these two count as
    /// 1 − rate). score = 100 × Σ w·rate / Σ w over the rates a group has (a missing rate's
    /// weight is spread over the others); grades A ≥ 90, B ≥ 80, C ≥ 60, D below.
    #[arg(long, env = "GRIDCASE_SCORE_WEIGHTS",
        default_value = crate::indicators::score::DEFAULT_WEIGHTS,
        value_parser = crate::indicators::Weights::parse)]
    pub score_weights: crate::indicators::Weights,
    /// Refuse, at sync, events of a later release (a kind this release does not know, a
    /// payload that does not read as its kind, fields beyond schema 1's) with the notice
    /// `later_event`. Handhelds of releases before evolvable events (all before 2026-11-30)
    /// refuse a whole case that holds one and stop updating it: keep this on while any of them
    /// still syncs, and off afterwards, so nothing is refused for being newer.
    #[arg(long, env = "GRIDCASE_REFUSE_LATER_EVENTS")]
    pub refuse_later_events: bool,
    /// Seconds a connection may take to send a request's headers, counted from when it starts
    /// waiting for one (so a kept-alive connection that stays silent is closed too).
    #[arg(long, env = "GRIDCASE_HEADER_READ_TIMEOUT", default_value_t = 10)]
    pub header_read_timeout: u64,
    /// Seconds without a byte moving either way before a connection is closed (a client that
    /// stops reading its answer or sending its body). Kept above the request timeout.
    #[arg(long, env = "GRIDCASE_IDLE_TIMEOUT", default_value_t = 90)]
    pub idle_timeout: u64,
    /// Connections open at once; more are closed on arrival. Kept below the open-file limit.
    #[arg(long, env = "GRIDCASE_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
    /// The prefix of new case numbers (`DC-20261130-0042`): 1 to 8 ASCII letters and digits,
    /// read in upper case. Numbers already given keep the prefix they were given with.
    #[arg(long, env = "GRIDCASE_CASE_NUMBER_PREFIX", default_value = "DC",
        value_parser = crate::case_number::prefix)]
    pub case_number_prefix: String,

    /// Returns (退回) after which a case waits in the center's arbitration queue (仲裁) for a
    /// lead unit to be named (指定主办); 0 turns the queue off.
    #[arg(long, env = "GRIDCASE_ARBITRATION_AFTER_RETURNS", default_value_t = 2)]
    pub arbitration_after_returns: u32,

    // Throttles (server/src/throttle.rs), the client address, and who reads /metrics.
    /// Failed sign-ins an account may have before it is locked; each further failure doubles
    /// the lock (0: no per-account lock).
    #[arg(long, env = "GRIDCASE_LOGIN_FREE_FAILURES", default_value_t = 5)]
    pub login_free_failures: u32,
    /// An account's first lock after its free failures, in seconds.
    #[arg(long, env = "GRIDCASE_LOGIN_LOCK_SECS", default_value_t = 2)]
    pub login_lock_secs: u64,
    /// The longest lock of an account, in seconds: no guessing locks a user out for longer
    /// than this after the last guess.
    #[arg(long, env = "GRIDCASE_LOGIN_LOCK_MAX_SECS", default_value_t = 300)]
    pub login_lock_max_secs: u64,
    /// Failed sign-ins one client address may make at once, over all accounts (0: no limit).
    #[arg(long, env = "GRIDCASE_LOGIN_ADDRESS_BURST", default_value_t = 20)]
    pub login_address_burst: u32,
    /// Failed sign-ins a client address regains per minute.
    #[arg(long, env = "GRIDCASE_LOGIN_ADDRESS_PER_MINUTE", default_value_t = 10)]
    pub login_address_per_minute: u32,
    /// Open311 filings one api_key may make at once (0: no limit).
    #[arg(long, env = "GRIDCASE_OPEN311_BURST", default_value_t = 60)]
    pub open311_burst: u32,
    /// Open311 filings an api_key regains per minute.
    #[arg(long, env = "GRIDCASE_OPEN311_PER_MINUTE", default_value_t = 60)]
    pub open311_per_minute: u32,
    /// Most accounts, addresses or api_keys each throttle table tracks (bounded memory).
    #[arg(long, env = "GRIDCASE_THROTTLE_ENTRIES", default_value_t = 50_000)]
    pub throttle_entries: usize,
    /// Reverse proxies (addresses, comma-separated) whose `X-Forwarded-For` names the client.
    /// None by default: the header is ignored and the connection's peer is the client.
    #[arg(long, env = "GRIDCASE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// A bearer token that reads `/metrics` (besides admin and supervisor access tokens).
    #[arg(long, env = "GRIDCASE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// A second address serving only `/metrics`, for a scraper on a private network (it asks
    /// for the metrics token when one is set).
    #[arg(long, env = "GRIDCASE_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
}

/// `--public-url`: an http(s) URL without query or fragment; kept without its trailing `/`.
fn public_url(text: &str) -> Result<String, String> {
    let url = text.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("give an http:// or https:// URL")?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() {
        return Err("the URL names no host".into());
    }
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '"' | '<' | '>'))
    {
        return Err("the URL may have no spaces, query or fragment".into());
    }
    Ok(url.to_owned())
}

impl Config {
    /// The URL clients reach this server at: `--public-url`, or else the listening address.
    pub fn base_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.clone(),
            None => format!("http://{}", self.listen),
        }
    }

    /// The listener's limits (see `connections`).
    pub fn connection_limits(&self) -> crate::connections::Limits {
        crate::connections::Limits {
            header_read: std::time::Duration::from_secs(self.header_read_timeout.max(1)),
            idle: std::time::Duration::from_secs(
                self.idle_timeout
                    .max(self.request_timeout.saturating_add(5)),
            ),
            max_connections: self.max_connections.max(1),
        }
    }

    /// The defaults, rooted at a data directory (for tests and tools).
    pub fn for_dir(dir: impl Into<PathBuf>) -> Config {
        let mut c = Config::parse_from(["gridcase-server"]);
        c.data_dir = dir.into();
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_url_is_checked_and_the_base_url_falls_back_to_the_listener() {
        assert_eq!(
            public_url("https://311.example.cn/city/").as_deref(),
            Ok("https://311.example.cn/city")
        );
        for bad in [
            "311.example.cn",
            "ftp://x",
            "https://",
            "https://a b",
            "https://x/?q=1",
        ] {
            assert!(public_url(bad).is_err(), "{bad}");
        }
        let mut c = Config::for_dir("/tmp/x");
        assert_eq!(c.base_url(), "http://127.0.0.1:8080");
        c.public_url = Some("https://311.example.cn".into());
        assert_eq!(c.base_url(), "https://311.example.cn");
    }
}
