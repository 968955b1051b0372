//! Running the real binaries in tests: free ports, starting a server and waiting for health,
//! stopping it with SIGTERM or SIGKILL.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_outpost");

/// A free loopback port below the kernel's ephemeral range (32768+), so an outgoing connection
/// cannot take it between this probe and the server's bind; never one this test process
/// handed out before. Other test processes probe the same range, so `Server::start` still
/// retries on a port found in use.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Mutex, OnceLock};
    static GIVEN: OnceLock<Mutex<std::collections::HashSet<u16>>> = OnceLock::new();
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let given = GIVEN.get_or_init(Default::default);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut x = nanos ^ std::process::id().wrapping_mul(2_654_435_761);
    loop {
        // xorshift over a per-process seed: test processes started together probe apart.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x = x.wrapping_add(SEQ.fetch_add(1, Ordering::Relaxed));
        let port = 20_000 + (x % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
            && given.lock().unwrap().insert(port)
        {
            return port;
        }
    }
}

pub fn base_cmd(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    // Run from an empty directory so no config file is picked up.
    let dir = std::env::temp_dir().join(format!("outpost-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    c.current_dir(dir);
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

pub struct Server {
    pub child: Child,
    pub base: String,
    pub log: std::path::PathBuf,
}

impl Server {
    /// Starts `outpost serve` on a free API port and waits (20 s at most) for `/healthz`.
    /// A port another test took first is retried on a new one; any other failure panics with
    /// the exit status and the end of the server's log.
    pub async fn start(env: &[(&str, &str)]) -> Server {
        for _ in 0..5 {
            match Self::try_start(env).await {
                Ok(server) => return server,
                Err(log) if log.contains("Address already in use") => continue,
                Err(log) => panic!("server did not become healthy:\n{log}"),
            }
        }
        panic!("server did not become healthy: every API port tried was in use");
    }

    async fn try_start(env: &[(&str, &str)]) -> Result<Server, String> {
        let port = free_port().to_string();
        let mut all = env.to_vec();
        all.push(("API_PORT", &port));
        // Logs go to a file per server for post-mortems: $TMPDIR/outpost-e2e-<port>.log
        let log = std::env::temp_dir().join(format!("outpost-e2e-{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let mut child = base_cmd(&["serve"], &all)
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = reqwest::get(format!("{base}/healthz")).await
                && r.status() == 200
            {
                return Ok(Server { child, base, log });
            }
            let exited = child.try_wait().unwrap();
            if exited.is_some() || Instant::now() >= deadline {
                if exited.is_none() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                return Err(format!(
                    "{} (log {}):\n{}",
                    match exited {
                        Some(s) => format!("exited with {s}"),
                        None => "still not healthy after 20 s".to_string(),
                    },
                    log.display(),
                    tail.join("\n")
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGTERM and returns the exit status.
    pub fn stop(self) -> std::process::ExitStatus {
        self.terminate();
        self.wait_exit(Duration::from_secs(10))
    }

    /// Sends SIGTERM, without waiting.
    pub fn terminate(&self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
    }

    /// Waits for the process to exit (panics after `within`); removes the log of a clean exit.
    pub fn wait_exit(mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                if s.success() && std::env::var_os("KEEP_E2E_LOGS").is_none() {
                    let _ = std::fs::remove_file(&self.log);
                }
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "server did not stop within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

impl Server {
    /// Kills the process without warning (SIGKILL).
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
