//! A degrading TCP proxy for tests of bad links: listens on loopback, forwards every
//! connection to the server, counts the bytes it forwards each way, and can add latency per
//! chunk, cap the bandwidth, cut a connection after it has carried a number of bytes (either
//! direction), and go dark (refuse every connection) after a number of cuts.
//!
//! Plain std threads: one accepting, two per connection (one each way).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How the link behaves. Read again for each chunk forwarded, so a test may change it between
/// requests, for the connections already open too.
#[derive(Debug, Clone, Default)]
pub struct Link {
    /// Slept before forwarding each chunk read (at most [`Link::chunk`] bytes).
    pub latency: Duration,
    /// Bytes per second each way on each connection; `None` for as fast as loopback goes.
    pub bandwidth: Option<u64>,
    /// Cut a connection once it has carried this many bytes client → server.
    pub cut_up_after: Option<u64>,
    /// Cut a connection once it has carried this many bytes server → client.
    pub cut_down_after: Option<u64>,
    /// After this many cuts, refuse every connection (close it at once) until the link is set
    /// again: the link went away.
    pub dark_after_cuts: Option<u64>,
    /// The largest piece forwarded at once (0: 16 KiB).
    pub chunk: usize,
}

/// What crossed the proxy.
#[derive(Debug, Default)]
struct Counters {
    up: AtomicU64,
    down: AtomicU64,
    cuts: AtomicU64,
    connections: AtomicU64,
    refused: AtomicU64,
}

struct Shared {
    upstream: SocketAddr,
    link: Mutex<Link>,
    counters: Counters,
    /// Cuts counted since the link was last set, for [`Link::dark_after_cuts`].
    cuts_since_set: AtomicU64,
    stop: AtomicBool,
}

/// A running proxy; stops accepting when dropped (open connections end with their peers).
pub struct Proxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Starts a proxy on `127.0.0.1:0` in front of `upstream`.
    pub fn start(upstream: SocketAddr, link: Link) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy bind");
        let addr = listener.local_addr().expect("proxy addr");
        let shared = Arc::new(Shared {
            upstream,
            link: Mutex::new(link),
            counters: Counters::default(),
            cuts_since_set: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accepting.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = stream else { continue };
                let shared = accepting.clone();
                std::thread::spawn(move || serve(shared, client));
            }
        });
        Proxy { addr, shared }
    }

    /// The proxy as a base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Changes the link for the connections (and chunks) that follow; lifts a dark link.
    pub fn set_link(&self, link: Link) {
        *self
            .shared
            .link
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = link;
        self.shared.cuts_since_set.store(0, Ordering::SeqCst);
    }

    /// Bytes forwarded client → server.
    pub fn bytes_up(&self) -> u64 {
        self.shared.counters.up.load(Ordering::SeqCst)
    }

    /// Bytes forwarded server → client.
    pub fn bytes_down(&self) -> u64 {
        self.shared.counters.down.load(Ordering::SeqCst)
    }

    /// Connections cut by the link.
    pub fn cuts(&self) -> u64 {
        self.shared.counters.cuts.load(Ordering::SeqCst)
    }

    /// Connections forwarded.
    pub fn connections(&self) -> u64 {
        self.shared.counters.connections.load(Ordering::SeqCst)
    }

    /// Connections refused while the link was dark.
    pub fn refused(&self) -> u64 {
        self.shared.counters.refused.load(Ordering::SeqCst)
    }
}

/// The proxy's byte counters, for reading from elsewhere while it runs (a callback, another
/// thread).
#[derive(Clone)]
pub struct Counts(Arc<Shared>);

impl Counts {
    /// Bytes forwarded client → server.
    pub fn up(&self) -> u64 {
        self.0.counters.up.load(Ordering::SeqCst)
    }

    /// Bytes forwarded server → client.
    pub fn down(&self) -> u64 {
        self.0.counters.down.load(Ordering::SeqCst)
    }
}

impl Proxy {
    pub fn counts(&self) -> Counts {
        Counts(self.shared.clone())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

impl Shared {
    fn link(&self) -> Link {
        self.link
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn dark(&self, link: &Link) -> bool {
        link.dark_after_cuts
            .is_some_and(|n| self.cuts_since_set.load(Ordering::SeqCst) >= n)
    }
}

fn serve(shared: Arc<Shared>, client: TcpStream) {
    let link = shared.link();
    if shared.dark(&link) {
        shared.counters.refused.fetch_add(1, Ordering::SeqCst);
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
    let Ok(server) = TcpStream::connect(shared.upstream) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    shared.counters.connections.fetch_add(1, Ordering::SeqCst);
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    // Set once either way cuts, so the other way stops too.
    let cut = Arc::new(AtomicBool::new(false));
    let up = {
        let (shared, cut) = (shared.clone(), cut.clone());
        let (from, to) = (client, server);
        std::thread::spawn(move || pump(&shared, from, to, &cut, true))
    };
    pump(&shared, server2, client2, &cut, false);
    let _ = up.join();
}

/// Forwards one way until the end, an error, or the cut.
fn pump(shared: &Shared, mut from: TcpStream, mut to: TcpStream, cut: &AtomicBool, upward: bool) {
    let counter = if upward {
        &shared.counters.up
    } else {
        &shared.counters.down
    };
    let mut carried = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let link = shared.link();
        let size = if link.chunk == 0 {
            16 * 1024
        } else {
            link.chunk
        };
        let size = size.min(buf.len());
        let n = match from.read(&mut buf[..size]) {
            Ok(0) | Err(_) => {
                // The sender closed its side (or broke): pass the end on, unless cut.
                if !cut.load(Ordering::SeqCst) {
                    let _ = to.shutdown(Shutdown::Write);
                }
                return;
            }
            Ok(n) => n,
        };
        if cut.load(Ordering::SeqCst) {
            return;
        }
        let link = shared.link();
        let limit = if upward {
            link.cut_up_after
        } else {
            link.cut_down_after
        };
        if !link.latency.is_zero() {
            std::thread::sleep(link.latency);
        }
        if let Some(rate) = link.bandwidth.filter(|r| *r > 0) {
            std::thread::sleep(Duration::from_micros(n as u64 * 1_000_000 / rate));
        }
        let room = limit.map_or(n as u64, |l| l.saturating_sub(carried).min(n as u64));
        let send = usize::try_from(room).unwrap_or(n);
        if send > 0 {
            if to.write_all(&buf[..send]).is_err() {
                let _ = from.shutdown(Shutdown::Both);
                return;
            }
            carried += send as u64;
            counter.fetch_add(send as u64, Ordering::SeqCst);
        }
        if send < n || limit.is_some_and(|l| carried >= l) {
            // The cut: both ways, both ends.
            if !cut.swap(true, Ordering::SeqCst) {
                shared.counters.cuts.fetch_add(1, Ordering::SeqCst);
                shared.cuts_since_set.fetch_add(1, Ordering::SeqCst);
            }
            let _ = to.shutdown(Shutdown::Both);
            let _ = from.shutdown(Shutdown::Both);
            return;
        }
    }
}
