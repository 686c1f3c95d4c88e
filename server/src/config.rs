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
    /// Open311 api_keys, comma-separated; each lets a client file requests as the `open311`
    /// user. With `--demo` and none given, the key is `demo-open311-key`.
    #[arg(long, env = "GRIDCASE_OPEN311_KEYS", value_delimiter = ',')]
    pub open311_keys: Vec<String>,
}

impl Config {
    /// The defaults, rooted at a data directory (for tests and tools).
    pub fn for_dir(dir: impl Into<PathBuf>) -> Config {
        let mut c = Config::parse_from(["gridcase-server"]);
        c.data_dir = dir.into();
        c
    }
}
