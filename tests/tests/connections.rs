//! The listener's limits: connections that send nothing, or their headers a line at a time,
//! or stay silent after a kept-alive request, are closed; connections past the cap are closed
//! at once; and `/healthz` keeps answering throughout.

use gridcase_tests::Server;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Waits until the server closes the connection (EOF or reset); returns how long it took, or
/// `None` if it stayed open for `patience`.
fn closed_within(stream: &mut TcpStream, patience: Duration) -> Option<Duration> {
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let mut buf = [0u8; 4096];
    while started.elapsed() < patience {
        match stream.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            // A 408 or any answer is fine: keep reading until the close.
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Some(started.elapsed()),
        }
    }
    None
}

fn healthz(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

#[test]
fn idle_slow_and_silent_connections_are_closed_while_healthz_answers() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(tmp.path(), &["--header-read-timeout", "1"]);
    let addr = server.addr;

    let mut idle: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    let mut slow: Vec<TcpStream> = (0..5)
        .map(|_| {
            let mut s = TcpStream::connect(addr).expect("connect");
            s.write_all(b"GET /healthz HTTP/1.1\r\n")
                .expect("request line");
            s
        })
        .collect();
    let mut kept_alive = TcpStream::connect(addr).expect("connect");
    kept_alive
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .expect("request");
    let mut first = [0u8; 256];
    kept_alive
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let n = kept_alive.read(&mut first).expect("answer");
    assert!(first[..n].starts_with(b"HTTP/1.1 200"));

    assert!(healthz(addr), "healthz answers beside 200 idle connections");
    // The slow ones keep sending a header line every 300 ms: a deadline for the whole head
    // closes them anyway.
    let started = Instant::now();
    let mut slow_closed = vec![false; slow.len()];
    while started.elapsed() < Duration::from_secs(4) && slow_closed.iter().any(|c| !c) {
        for (s, closed) in slow.iter_mut().zip(slow_closed.iter_mut()) {
            if !*closed && s.write_all(b"x-slow: 1\r\n").is_err() {
                *closed = true;
            }
        }
        std::thread::sleep(Duration::from_millis(300));
        for (s, closed) in slow.iter_mut().zip(slow_closed.iter_mut()) {
            if !*closed {
                *closed = closed_within(s, Duration::from_millis(10)).is_some();
            }
        }
    }
    assert!(
        slow_closed.iter().all(|c| *c),
        "slow headers still open after {:?}",
        started.elapsed()
    );
    for (i, s) in idle.iter_mut().enumerate() {
        assert!(
            closed_within(s, Duration::from_secs(4)).is_some(),
            "idle connection {i} stayed open"
        );
    }
    assert!(
        closed_within(&mut kept_alive, Duration::from_secs(4)).is_some(),
        "a silent kept-alive connection stayed open"
    );
    assert!(healthz(addr), "healthz answers after");
}

#[test]
fn connections_past_the_cap_are_closed_at_once_and_the_server_recovers() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(
        tmp.path(),
        &["--max-connections", "20", "--header-read-timeout", "2"],
    );
    let addr = server.addr;
    let _held: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut extra = TcpStream::connect(addr).expect("the kernel still accepts");
    let closed = closed_within(&mut extra, Duration::from_millis(1500));
    assert!(closed.is_some(), "a connection past the cap stayed open");
    // The held ones time out (they never sent a header); then the server serves again.
    let started = Instant::now();
    while !healthz(addr) {
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "the server did not recover"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
