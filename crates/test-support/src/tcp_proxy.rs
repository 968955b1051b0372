//! A loopback TCP forwarder that tests can cut and restore, to simulate a dependency (such as
//! PostgreSQL) going down and coming back without touching the shared local service.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A running forwarder.
#[derive(Clone)]
pub struct TcpProxy {
    /// `127.0.0.1:<port>` to connect to instead of the target.
    pub addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
    counter: Arc<AtomicU64>,
}

impl TcpProxy {
    /// Forwards a free loopback port to `target`.
    pub async fn start(target: std::net::SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (generation, _) = watch::channel(0u64);
        let p = TcpProxy {
            addr,
            up: Arc::new(AtomicBool::new(true)),
            generation,
            counter: Arc::default(),
        };
        let proxy = p.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if !proxy.up.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let mut cut = proxy.generation.subscribe();
                proxy.counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        p
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    /// Connections forwarded so far.
    pub fn connections(&self) -> u64 {
        self.counter.load(Ordering::SeqCst)
    }
}
