//! Throttles against password guessing and filing floods, shared by the API sign-in
//! (`POST /v1/auth/login`), the console sign-in and Open311 filings.
//!
//! - **Per account**: after `--login-free-failures` failed sign-ins the account is locked for
//!   `--login-lock-secs`, doubled with each further failure, never more than
//!   `--login-lock-max-secs`. Attempts while locked are refused without a password check and
//!   without lengthening the lock, so an attacker can never lock a user out for longer than the
//!   cap after the last guess. A successful sign-in forgets the account's failures; failures
//!   are also forgotten a while after the last one (`FORGET`, at least twice the cap).
//! - **Per client address**: a token bucket of failed sign-ins over all accounts (password
//!   spraying), `--login-address-burst` then `--login-address-per-minute`. A success spends
//!   nothing. IPv6 addresses count by their /64.
//! - **Per Open311 api_key**: a token bucket of filings, `--open311-burst` then
//!   `--open311-per-minute`.
//!
//! A refusal is `Error::TooManyRequests`: 429 with `Retry-After`. Every table holds at most
//! `--throttle-entries` entries: when full, entries that no longer matter are dropped, then the
//! ones that would expire soonest.
//!
//! The client address is the connection's peer. `X-Forwarded-For` is believed only from
//! `--trusted-proxies`, walked from the right past those proxies: a header a client sets itself
//! cannot dodge the throttle.

use crate::error::{Error, Result};
use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long after its last failure an account's failures are forgotten (unless the lock cap
/// is longer: then twice the cap).
const FORGET: Duration = Duration::from_secs(15 * 60);
/// Longest username kept as a key (longer names are cut: no such user exists anyway).
const MAX_NAME: usize = 128;

/// The configured limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Failures before the first lock; 0 turns the account throttle off.
    pub free_failures: u32,
    pub lock: Duration,
    pub lock_max: Duration,
    /// Failed sign-ins per client address; `None`: no address throttle.
    pub address: Option<Rate>,
    /// Filings per Open311 api_key; `None`: no limit.
    pub open311: Option<Rate>,
    /// Most entries in each table.
    pub entries: usize,
}

impl Limits {
    pub fn from_config(c: &crate::Config) -> Limits {
        Limits {
            free_failures: c.login_free_failures,
            lock: Duration::from_secs(c.login_lock_secs.max(1)),
            lock_max: Duration::from_secs(c.login_lock_max_secs.max(c.login_lock_secs).max(1)),
            address: Rate::per_minute(c.login_address_burst, c.login_address_per_minute),
            open311: Rate::per_minute(c.open311_burst, c.open311_per_minute),
            entries: c.throttle_entries.max(16),
        }
    }
}

/// A token bucket's shape: `burst` at once, then `per_sec`.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub burst: f64,
    pub per_sec: f64,
}

impl Rate {
    /// `None` when `burst` is 0 (no limit); at least one a minute refills, so no bucket stays
    /// empty for ever.
    pub fn per_minute(burst: u32, per_minute: u32) -> Option<Rate> {
        (burst > 0).then(|| Rate {
            burst: f64::from(burst),
            per_sec: f64::from(per_minute.max(1)) / 60.0,
        })
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(rate: Rate, now: Instant) -> Bucket {
        Bucket {
            tokens: rate.burst,
            at: now,
        }
    }

    fn refill(&mut self, rate: Rate, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate.per_sec).min(rate.burst);
        self.at = now;
    }

    /// How long until a whole token is there (zero when one is).
    fn wait(&self, rate: Rate) -> Duration {
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) / rate.per_sec)
        }
    }

    /// When the bucket is full again, and so no different from no entry.
    fn irrelevant_at(&self, rate: Rate) -> Instant {
        let missing = (rate.burst - self.tokens).max(0.0);
        self.at + Duration::from_secs_f64(missing / rate.per_sec)
    }
}

#[derive(Debug, Clone, Copy)]
struct Account {
    failures: u32,
    locked_until: Option<Instant>,
    last_failure: Instant,
    /// Attempts past the check whose password is being compared.
    pending: u32,
}

impl Account {
    fn irrelevant_at(&self, forget: Duration) -> Instant {
        let forgotten = self.last_failure + forget;
        match self.locked_until {
            Some(t) if t > forgotten => t,
            _ => forgotten,
        }
    }
}

/// The throttles' state, one per server.
#[derive(Debug)]
pub struct Throttle {
    limits: Limits,
    forget: Duration,
    accounts: Mutex<HashMap<String, Account>>,
    addresses: Mutex<HashMap<IpAddr, Bucket>>,
    open311: Mutex<HashMap<String, Bucket>>,
}

/// Seconds to announce in `Retry-After`: whole, at least one.
fn retry_secs(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

fn too_many(wait: Duration) -> Error {
    Error::TooManyRequests {
        retry_after_secs: retry_secs(wait),
    }
}

fn account_key(username: &str) -> String {
    let mut end = username.len().min(MAX_NAME);
    while !username.is_char_boundary(end) {
        end -= 1;
    }
    username[..end].to_owned()
}

/// Makes room for one more entry: drops entries that no longer matter, then, if the table is
/// still full, the tenth that would expire soonest. `irrelevant_at` gives `None` for an entry
/// that must stay (an attempt in flight).
fn make_room<K: Hash + Eq + Clone, V>(
    map: &mut HashMap<K, V>,
    cap: usize,
    now: Instant,
    irrelevant_at: impl Fn(&V) -> Option<Instant>,
) {
    if map.len() < cap {
        return;
    }
    map.retain(|_, v| irrelevant_at(v).is_none_or(|t| t > now));
    if map.len() < cap {
        return;
    }
    let mut by_expiry: Vec<(Instant, K)> = map
        .iter()
        .filter_map(|(k, v)| irrelevant_at(v).map(|t| (t, k.clone())))
        .collect();
    by_expiry.sort_unstable_by_key(|(t, _)| *t);
    let excess = map.len() + 1 - cap * 9 / 10;
    for (_, k) in by_expiry.into_iter().take(excess) {
        map.remove(&k);
    }
    tracing::warn!(
        entries = map.len(),
        "throttle table full: dropped the entries nearest to expiry"
    );
}

/// The client's address as the throttles count it: IPv4, or the /64 of an IPv6 address.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl Throttle {
    pub fn new(limits: Limits) -> Throttle {
        Throttle {
            forget: FORGET.max(limits.lock_max * 2),
            limits,
            accounts: Mutex::new(HashMap::new()),
            addresses: Mutex::new(HashMap::new()),
            open311: Mutex::new(HashMap::new()),
        }
    }

    /// Checks that a sign-in may be tried now, and reserves it: the address spends a token
    /// (given back unless the password was wrong) and the account counts it as in flight, so
    /// concurrent guesses cannot all slip past a check made before any of them failed.
    pub fn begin_login(&self, username: &str, client: Option<IpAddr>) -> Result<Attempt<'_>> {
        let now = Instant::now();
        let name = account_key(username);
        let client = client.map(address_key);
        // One lock over the check and the reservation (accounts, then addresses: the only
        // order both are ever held in).
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(wait) = self.account_wait(accounts.get(&name), now) {
            drop(accounts);
            tracing::warn!(user = ?name, client = ?client, retry_after_s = retry_secs(wait),
                "sign-in refused: the account is locked after failed sign-ins");
            return Err(too_many(wait));
        }
        if let (Some(ip), Some(rate)) = (client, self.limits.address) {
            let mut map = self.addresses.lock().unwrap_or_else(|e| e.into_inner());
            if !map.contains_key(&ip) {
                make_room(&mut map, self.limits.entries, now, |b| {
                    Some(b.irrelevant_at(rate))
                });
            }
            let bucket = map.entry(ip).or_insert_with(|| Bucket::full(rate, now));
            bucket.refill(rate, now);
            let wait = bucket.wait(rate);
            if !wait.is_zero() {
                drop(map);
                drop(accounts);
                tracing::warn!(user = ?name, client = %ip, retry_after_s = retry_secs(wait),
                    "sign-in refused: too many failed sign-ins from this address");
                return Err(too_many(wait));
            }
            bucket.tokens -= 1.0;
        }
        if self.limits.free_failures > 0 {
            if !accounts.contains_key(&name) {
                let forget = self.forget;
                make_room(&mut accounts, self.limits.entries, now, |a| {
                    (a.pending == 0).then(|| a.irrelevant_at(forget))
                });
            }
            accounts
                .entry(name.clone())
                .or_insert(Account {
                    failures: 0,
                    locked_until: None,
                    last_failure: now,
                    pending: 0,
                })
                .pending += 1;
        }
        drop(accounts);
        Ok(Attempt {
            throttle: self,
            name,
            client,
            settled: false,
        })
    }

    /// How long the account must wait, if it must: locked, or at its last free failure with
    /// an attempt already in flight.
    fn account_wait(&self, account: Option<&Account>, now: Instant) -> Option<Duration> {
        let a = account.filter(|_| self.limits.free_failures > 0)?;
        if let Some(until) = a.locked_until.filter(|t| *t > now) {
            return Some(until - now);
        }
        let forgotten = a.last_failure + self.forget <= now;
        let failures = if forgotten { 0 } else { a.failures };
        (a.pending > 0 && failures + a.pending >= self.limits.free_failures)
            .then_some(Duration::from_secs(1))
    }

    /// The lock after this many failures.
    fn lock_for(&self, failures: u32) -> Option<Duration> {
        let free = self.limits.free_failures;
        if free == 0 || failures < free {
            return None;
        }
        let doublings = (failures - free).min(30);
        Some(
            self.limits
                .lock
                .saturating_mul(1 << doublings)
                .min(self.limits.lock_max),
        )
    }

    /// Takes one Open311 filing from the api_key's bucket.
    pub fn open311_filing(&self, key: &str) -> Result<()> {
        let Some(rate) = self.limits.open311 else {
            return Ok(());
        };
        let now = Instant::now();
        let mut map = self.open311.lock().unwrap_or_else(|e| e.into_inner());
        if !map.contains_key(key) {
            make_room(&mut map, self.limits.entries, now, |b| {
                Some(b.irrelevant_at(rate))
            });
        }
        let bucket = map
            .entry(key.to_owned())
            .or_insert_with(|| Bucket::full(rate, now));
        bucket.refill(rate, now);
        let wait = bucket.wait(rate);
        if !wait.is_zero() {
            drop(map);
            let prefix: String = key.chars().take(4).collect();
            tracing::warn!(api_key_prefix = ?prefix, retry_after_s = retry_secs(wait),
                "Open311 filing refused: the api_key is over its rate");
            return Err(too_many(wait));
        }
        bucket.tokens -= 1.0;
        Ok(())
    }
}

/// A sign-in past the throttle, waiting for its password check. Dropped unsettled (the
/// request went away), it stops counting as in flight and keeps the address's token spent.
#[must_use]
pub struct Attempt<'a> {
    throttle: &'a Throttle,
    name: String,
    client: Option<IpAddr>,
    settled: bool,
}

impl Attempt<'_> {
    /// Ends the attempt on its account; `f` answers whether the account can be forgotten.
    fn finish(&mut self, f: impl FnOnce(&mut Account, Instant) -> bool) {
        self.settled = true;
        let now = Instant::now();
        let mut map = self
            .throttle
            .accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(a) = map.get_mut(&self.name) {
            a.pending = a.pending.saturating_sub(1);
            if f(a, now) {
                map.remove(&self.name);
            }
        }
    }

    /// The password was right: the account's failures are forgotten, the address's token
    /// given back.
    pub fn succeeded(mut self) {
        self.finish(|a, _| {
            a.failures = 0;
            a.locked_until = None;
            a.pending == 0
        });
        self.give_back_token();
    }

    /// No password failure (a disabled user, a store error): nothing counts.
    pub fn neutral(mut self) {
        self.finish(|_, _| false);
        self.give_back_token();
    }

    /// The password (or the username) was wrong.
    pub fn failed(mut self) {
        let throttle = self.throttle;
        let mut locked = None;
        let mut failures = 0;
        self.finish(|a, now| {
            if a.last_failure + throttle.forget <= now {
                a.failures = 0;
            }
            a.failures += 1;
            a.last_failure = now;
            failures = a.failures;
            if let Some(lock) = throttle.lock_for(a.failures) {
                a.locked_until = Some(now + lock);
                locked = Some(lock);
            }
            false
        });
        match locked {
            Some(lock) => tracing::warn!(user = ?self.name, client = ?self.client, failures,
                lock_s = retry_secs(lock), "sign-in failed: the account is locked"),
            None => tracing::info!(user = ?self.name, client = ?self.client, failures,
                "sign-in failed"),
        }
    }

    fn give_back_token(&self) {
        let (Some(ip), Some(rate)) = (self.client, self.throttle.limits.address) else {
            return;
        };
        let mut map = self
            .throttle
            .addresses
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(b) = map.get_mut(&ip) {
            b.tokens = (b.tokens + 1.0).min(rate.burst);
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.finish(|_, _| false);
        }
    }
}

/// The address of the client: the connection's peer, or the client a trusted proxy names in
/// `X-Forwarded-For`. `None` without connection info (a router called in process).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> std::result::Result<ClientAddr, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip());
        Ok(ClientAddr(peer.map(|peer| {
            client_address(peer, &parts.headers, &state.config.trusted_proxies)
        })))
    }
}

/// Walks `X-Forwarded-For` from the right while the hop that added the entry is a trusted
/// proxy: the first address not trusted is the client. Anything unreadable stops the walk at
/// the last hop believed.
pub fn client_address(peer: IpAddr, headers: &axum::http::HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.contains(&address_canonical(*ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("").split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// IPv4-mapped IPv6 as IPv4, so that a configured `127.0.0.1` matches either.
fn address_canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn limits() -> Limits {
        Limits {
            free_failures: 3,
            lock: Duration::from_secs(2),
            lock_max: Duration::from_secs(10),
            address: Rate::per_minute(5, 1),
            open311: Rate::per_minute(2, 1),
            entries: 16,
        }
    }

    const A: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));
    const B: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2)));

    fn wait_of(e: Error) -> u64 {
        match e {
            Error::TooManyRequests { retry_after_secs } => retry_after_secs,
            other => panic!("not a 429: {other}"),
        }
    }

    #[test]
    fn an_account_locks_after_its_free_failures_and_doubles_to_the_cap() {
        let t = Throttle::new(Limits {
            address: None,
            ..limits()
        });
        for _ in 0..3 {
            t.begin_login("u", A).expect("free").failed();
        }
        assert_eq!(wait_of(t.begin_login("u", A).err().expect("locked")), 2);
        assert_eq!(
            wait_of(t.begin_login("u", B).err().expect("from anywhere")),
            2
        );
        t.begin_login("other", A)
            .expect("other account")
            .succeeded();
        assert_eq!(t.lock_for(3), Some(Duration::from_secs(2)));
        assert_eq!(t.lock_for(4), Some(Duration::from_secs(4)));
        assert_eq!(t.lock_for(5), Some(Duration::from_secs(8)));
        assert_eq!(t.lock_for(6), Some(Duration::from_secs(10)));
        assert_eq!(t.lock_for(500), Some(Duration::from_secs(10)));
    }

    #[test]
    fn success_forgets_the_failures() {
        let t = Throttle::new(limits());
        for _ in 0..2 {
            t.begin_login("u", A).expect("free").failed();
        }
        t.begin_login("u", A).expect("free").succeeded();
        for _ in 0..2 {
            t.begin_login("u", A).expect("counted afresh").failed();
        }
        assert!(t.begin_login("u", A).is_ok());
    }

    #[test]
    fn concurrent_guesses_cannot_pass_the_last_free_failure_together() {
        let t = Throttle::new(limits());
        for _ in 0..2 {
            t.begin_login("u", A).expect("free").failed();
        }
        let first = t.begin_login("u", A).expect("the third");
        assert!(t.begin_login("u", A).is_err(), "waits for the third");
        drop(first);
        assert!(
            t.begin_login("u", A).is_ok(),
            "a dropped attempt frees its turn"
        );
    }

    #[test]
    fn an_address_spraying_many_accounts_is_throttled() {
        let t = Throttle::new(limits());
        for i in 0..5 {
            t.begin_login(&format!("user{i}"), A)
                .expect("in the burst")
                .failed();
        }
        let wait = wait_of(t.begin_login("user9", A).err().expect("bucket empty"));
        assert!((1..=60).contains(&wait), "{wait}");
        t.begin_login("user9", B).expect("another address").failed();
        // Successes give their token back.
        let t = Throttle::new(limits());
        for _ in 0..20 {
            t.begin_login("ok", A)
                .expect("successes cost nothing")
                .succeeded();
        }
    }

    #[test]
    fn open311_keys_have_their_own_buckets() {
        let t = Throttle::new(limits());
        t.open311_filing("k1").expect("1");
        t.open311_filing("k1").expect("2");
        assert!(wait_of(t.open311_filing("k1").expect_err("over")) >= 1);
        t.open311_filing("k2").expect("another key");
    }

    #[test]
    fn tables_stay_bounded() {
        let t = Throttle::new(limits());
        for i in 0..1000 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(i as u32));
            t.begin_login(&format!("name{i}"), Some(ip))
                .expect("fresh")
                .failed();
        }
        assert!(t.accounts.lock().unwrap().len() <= 16);
        assert!(t.addresses.lock().unwrap().len() <= 16);
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.9".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.2.3.4, 5.6.7.8".parse().unwrap());
        let peer: IpAddr = "9.9.9.9".parse().unwrap();
        assert_eq!(client_address(peer, &h, &[]), peer, "not trusted");
        assert_eq!(client_address(proxy, &h, &[]), proxy, "no proxy configured");
        assert_eq!(
            client_address(proxy, &h, &[proxy]),
            "5.6.7.8".parse::<IpAddr>().unwrap(),
            "the rightmost entry, added by the proxy"
        );
        let v6: IpAddr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        assert_eq!(address_key(v6), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
    }
}
