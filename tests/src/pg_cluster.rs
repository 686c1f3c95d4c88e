//! A private PostgreSQL cluster in a temporary folder, for the tests that stop, crash or
//! promote their database (stopping the shared one would upset the tests beside it): Debian's
//! server, run as the `postgres` user when the tests run as root (PostgreSQL refuses root),
//! its superuser `gridcase` with trust on 127.0.0.1 (replication connections included, as
//! `initdb` writes them).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A PostgreSQL cluster of the test's own, stopped hard when dropped.
pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

/// `program` as the cluster's owner: as root, the `postgres` user.
fn as_owner(program: &Path) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// A folder the cluster's owner may write in, and a free port on loopback.
fn place() -> (tempfile::TempDir, u16) {
    let dir = tempfile::tempdir().expect("tempdir");
    let _ = Command::new("chown")
        .args(["postgres:"])
        .arg(dir.path())
        .status();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    (dir, port)
}

impl Cluster {
    /// A new cluster (`initdb`), started.
    pub fn start() -> Cluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("Debian's PostgreSQL (scripts/postgres installs it)")
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("pg_ctl").exists())
            .max()
            .expect("a PostgreSQL version");
        let (dir, port) = place();
        let data = dir.path().join("data");
        let status = as_owner(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "gridcase", "-A", "trust", "-E", "UTF8"])
            .stdout(Stdio::null())
            .status()
            .expect("initdb");
        assert!(status.success(), "initdb");
        let cluster = Cluster {
            bin,
            data,
            port,
            _dir: dir,
        };
        cluster.up();
        cluster
    }

    /// A hot standby of `primary` on a port of its own, started: `pg_basebackup -R` copies
    /// the primary and writes `standby.signal` and `primary_conninfo`, and the standby
    /// streams the primary's WAL from then on.
    pub fn standby_of(primary: &Cluster) -> Cluster {
        let (dir, port) = place();
        let data = dir.path().join("data");
        let status = as_owner(&primary.bin.join("pg_basebackup"))
            .arg("-D")
            .arg(&data)
            .args(["-h", "127.0.0.1", "-p", &primary.port.to_string()])
            .args(["-U", "gridcase", "-R", "-X", "stream", "-c", "fast"])
            .stdout(Stdio::null())
            .status()
            .expect("pg_basebackup");
        assert!(status.success(), "pg_basebackup");
        let standby = Cluster {
            bin: primary.bin.clone(),
            data,
            port,
            _dir: dir,
        };
        standby.up();
        standby
    }

    pub fn up(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.data.parent().expect("dir").display()
        );
        let status = as_owner(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-w", "-l"])
            .arg(self.data.parent().expect("dir").join("log"))
            .args(["-o", &options, "start"])
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl start");
        assert!(status.success(), "pg_ctl start");
    }

    /// Stops it cleanly (`-m fast`).
    pub fn down(&self) {
        self.stop("fast");
    }

    /// Stops it as a crash would (`-m immediate`: no checkpoint, connections cut).
    pub fn crash(&self) {
        self.stop("immediate");
    }

    fn stop(&self, mode: &str) {
        let status = as_owner(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", mode, "-w", "stop"])
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl stop");
        assert!(status.success(), "pg_ctl stop");
    }

    /// Promotes a standby to primary (`pg_ctl promote`), waiting until it takes writes.
    pub fn promote(&self) {
        let status = as_owner(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-w", "promote"])
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl promote");
        assert!(status.success(), "pg_ctl promote");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://gridcase@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs `sql` in its `postgres` database and returns what it printed (unaligned, tuples
    /// only); panics if it fails.
    pub fn psql(&self, sql: &str) -> String {
        let out = Command::new("psql")
            .arg(self.url())
            .args(["-X", "-v", "ON_ERROR_STOP=1", "-tAc", sql])
            .stderr(Stdio::inherit())
            .output()
            .expect("run psql");
        assert!(out.status.success(), "psql: {sql}");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_owner(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
