//! `dingtalk-sim` binary: serve the simulator until SIGINT/SIGTERM. The first
//! stdout line is `DINGTALK_SIM_BASE_URL=http://127.0.0.1:PORT` so that a
//! parent process can read where it listens.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use dingtalk_sim::opencode::long_markdown;
use dingtalk_sim::{FakeOpenCode, FakeOpenCodeConfig, Script, Sim, SimConfig};

#[derive(Debug, Parser)]
#[command(name = "dingtalk-sim", about = "DingTalk cloud simulator on loopback")]
struct Args {
    /// Port on 127.0.0.1 (0 = pick a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    #[arg(long, default_value = "demo-client-id")]
    client_id: String,
    #[arg(long, default_value = "demo-client-secret")]
    client_secret: String,
    /// Redeliver a callback not ACKed within this many ms.
    #[arg(long)]
    redelivery_ms: Option<u64>,
    /// Interval of server SYSTEM pings in ms (0 = none).
    #[arg(long)]
    ping_interval_ms: Option<u64>,
    /// Interval of SYSTEM KEEPALIVE frames in ms (0 = none).
    #[arg(long)]
    keepalive_interval_ms: Option<u64>,
    /// Length of the rolling window of the per-conversation send limits in ms (DingTalk: 60,000).
    /// Benchmarks shorten it so a paced backlog takes seconds, not minutes.
    #[arg(long)]
    rate_window_ms: Option<u64>,
    /// Also serve a fake `opencode serve` on another loopback port and print
    /// `OPENCODE_BASE_URL=http://127.0.0.1:PORT`. It echoes prompts; a prompt containing `[slow]` gets a
    /// long answer streamed word by word (one word every 500 ms), so a test can stop it midway.
    #[arg(long)]
    opencode: bool,
}

fn optional_interval(ms: u64) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DINGTALK_SIM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut config = SimConfig::default().with_credentials(args.client_id, args.client_secret);
    if let Some(ms) = args.redelivery_ms {
        config.redelivery_after = Duration::from_millis(ms);
    }
    if let Some(ms) = args.ping_interval_ms {
        config.ping_interval = optional_interval(ms);
    }
    if let Some(ms) = args.keepalive_interval_ms {
        config.keepalive_interval = optional_interval(ms);
    }
    if let Some(ms) = args.rate_window_ms {
        config.rate_window = Duration::from_millis(ms.max(1));
    }
    let sim = Sim::start_on(config, args.port)
        .await
        .context("starting the simulator")?;
    let opencode = if args.opencode {
        let fake = FakeOpenCode::start(FakeOpenCodeConfig::default())
            .await
            .context("starting the fake OpenCode")?;
        fake.script_for(
            "[slow]",
            Script::slow(long_markdown(4_000), Duration::from_millis(500)),
        );
        Some(fake)
    } else {
        None
    };
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "DINGTALK_SIM_BASE_URL={}", sim.base_url())?;
        if let Some(fake) = &opencode {
            writeln!(out, "OPENCODE_BASE_URL={}", fake.base_url())?;
        }
        out.flush()?;
    }
    wait_for_signal().await?;
    if let Some(fake) = opencode {
        fake.shutdown().await;
    }
    sim.shutdown().await;
    Ok(())
}

#[cfg(unix)]
async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for SIGINT")?,
        _ = term.recv() => {}
    }
    Ok(())
}

#[cfg(not(unix))]
async fn wait_for_signal() -> anyhow::Result<()> {
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")
}
