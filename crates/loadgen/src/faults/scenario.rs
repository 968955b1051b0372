//! The faults: what each one breaks and how it is undone. Processes are killed with SIGKILL and
//! started again with the same settings; the run's private Redis (append-only file, fsync on
//! every write) is killed with SIGKILL and started again on its files; PostgreSQL goes away
//! behind a TCP proxy that drops every connection and refuses new ones (the machine's server is
//! shared); RabbitMQ is really stopped and started (`rabbitmqctl stop_app` / `start_app`); the
//! sink hangs, or its proxy resets every connection.

use clap::ValueEnum;

/// One fault of the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Fault {
    /// kill -9 the api service, start it again.
    KillApi,
    /// kill -9 the delivery service, start it again.
    KillDelivery,
    /// kill -9 the log service, start it again.
    KillLog,
    /// Redis killed with SIGKILL, started again after the outage.
    Redis,
    /// RabbitMQ stopped and started.
    Rabbitmq,
    /// PostgreSQL unreachable for the PostgreSQL outage time.
    Postgres,
    /// The destination accepts connections but never answers.
    SinkHang,
    /// The destination resets every connection.
    SinkReset,
}

impl Fault {
    /// Every fault, in the order the table shows them.
    pub const ALL: [Fault; 8] = [
        Fault::KillApi,
        Fault::KillDelivery,
        Fault::KillLog,
        Fault::Redis,
        Fault::Rabbitmq,
        Fault::Postgres,
        Fault::SinkHang,
        Fault::SinkReset,
    ];

    /// The table's name for it.
    pub fn label(self) -> &'static str {
        match self {
            Fault::KillApi => "kill -9 api",
            Fault::KillDelivery => "kill -9 delivery",
            Fault::KillLog => "kill -9 log",
            Fault::Redis => "kill -9 Redis",
            Fault::Rabbitmq => "RabbitMQ restart",
            Fault::Postgres => "PostgreSQL stopped",
            Fault::SinkHang => "sink hangs",
            Fault::SinkReset => "sink resets",
        }
    }

    /// A name for resources (lower case, `_`).
    pub fn slug(self) -> &'static str {
        match self {
            Fault::KillApi => "kapi",
            Fault::KillDelivery => "kdel",
            Fault::KillLog => "klog",
            Fault::Redis => "redis",
            Fault::Rabbitmq => "rabbit",
            Fault::Postgres => "pg",
            Fault::SinkHang => "hang",
            Fault::SinkReset => "reset",
        }
    }

    /// The service process it kills, if any.
    pub fn killed_service(self) -> Option<&'static str> {
        match self {
            Fault::KillApi => Some("api"),
            Fault::KillDelivery => Some("delivery"),
            Fault::KillLog => Some("log"),
            _ => None,
        }
    }
}

/// Runs `rabbitmqctl args` (part of the local RabbitMQ).
pub async fn rabbitmqctl(args: &[&str]) -> anyhow::Result<()> {
    let out = tokio::process::Command::new("rabbitmqctl")
        .args(args)
        .output()
        .await
        .map_err(|e| anyhow::anyhow!("cannot run rabbitmqctl (part of the local RabbitMQ): {e}"))?;
    if !out.status.success() {
        anyhow::bail!(
            "rabbitmqctl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
