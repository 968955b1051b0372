//! Running the real binaries in tests: free ports, starting a server and waiting for health,
//! stopping it with SIGTERM or SIGKILL.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_outpost");

/// A free loopback port, never one this test process handed out before (the kernel may give
/// the same free port to two probes in a row).
pub fn free_port() -> u16 {
    use std::sync::{Mutex, OnceLock};
    static GIVEN: OnceLock<Mutex<std::collections::HashSet<u16>>> = OnceLock::new();
    let given = GIVEN.get_or_init(Default::default);
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if given.lock().unwrap().insert(port) {
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
    pub async fn start(env: &[(&str, &str)]) -> Server {
        let port = free_port().to_string();
        let mut all = env.to_vec();
        all.push(("API_PORT", &port));
        // Logs go to a file per server for post-mortems: $TMPDIR/outpost-e2e-<port>.log
        let log = std::env::temp_dir().join(format!("outpost-e2e-{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let log_path = log.clone();
        let err = out.try_clone().unwrap();
        let child = base_cmd(&["serve"], &all)
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
                break;
            }
            assert!(Instant::now() < deadline, "server did not become healthy");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Server {
            child,
            base,
            log: log_path,
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
