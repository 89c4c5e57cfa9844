//! `shieldbot run --config FILE`: connect to Discord and shield the configured people until
//! SIGINT or SIGTERM, then shut down gracefully (stop taking events, finish in-flight work,
//! flush the store). The stop is bounded even when Discord has gone away: after 30 s or a
//! second signal the store is flushed and the process exits, and blocked tasks cannot keep it
//! alive (`tests/run_signals.rs`). `[removal]` and `[automod]` in the config switch raid
//! timeouts, bulk deletes and the AutoMod mirror.
//!
//! `--api-url` points the same code at a Discord-compatible server instead of discord.com (the
//! local test server; the integration tests run the binary this way and kill it mid-raid).

use crate::bot::{Bot, BotOptions, Endpoint};
use crate::config::{Config, DEFAULT_CONFIG_PATH};
use crate::store::Store;
use anyhow::Context as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The configuration file (TOML).
    #[arg(long, value_name = "FILE", default_value = DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,
    /// Use this store directory instead of the config's `[store] path`.
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Base URL of a Discord-compatible server to use instead of <https://discord.com>
    /// (e.g. http://127.0.0.1:4000). For tests and the sandbox.
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,serenity=warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let config = Config::load(&args.config)?;
    let checker = crate::filter::load_checker(Some(&args.config))?;
    let token = config.token()?;
    let store_path = args
        .store
        .clone()
        .unwrap_or_else(|| config.store_path.clone());
    let store = Store::open(&store_path)
        .with_context(|| format!("cannot open the store at {}", store_path.display()))?;
    let endpoint = match args.api_url {
        Some(http_url) => Endpoint::Local { http_url },
        None => Endpoint::Discord,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async move {
        // Listening from before the bot starts, so an early SIGTERM is a graceful stop too.
        let mut signals = Signals::listen().context("cannot listen for shutdown signals")?;
        let options = BotOptions {
            checker: Some(checker),
            ..BotOptions::from_config(&config)
        };
        let mut handle = Bot::start(config, token, endpoint, store, options).await?;
        tracing::info!("shieldbot is running; SIGINT or SIGTERM stops it");
        let stopped_by_itself = tokio::select! {
            _ = signals.recv() => None,
            result = handle.wait() => Some(result),
        };
        tracing::info!("shutting down");
        let store = handle.store().clone();
        // The graceful stop is bounded by its own timeouts; this is the backstop for whatever
        // might still wait on a server that has gone away. A second signal also ends the wait.
        tokio::select! {
            stopped = handle.shutdown() => stopped?,
            _ = tokio::time::sleep(SHUTDOWN_LIMIT) => {
                tracing::warn!(limit = ?SHUTDOWN_LIMIT, "the graceful stop is taking too long; stopping now");
                flush_before_exit(&store);
            }
            _ = signals.recv() => {
                tracing::warn!("second signal: stopping now");
                flush_before_exit(&store);
            }
        }
        match stopped_by_itself {
            None => Ok(ExitCode::SUCCESS),
            Some(Ok(())) => Ok(ExitCode::SUCCESS),
            Some(Err(err)) => Err(anyhow::anyhow!("the Discord connection failed: {err}")),
        }
    });
    // Tasks still blocked (a DNS lookup or a request to a server that is gone) must not keep the
    // process alive: the store is flushed by now.
    runtime.shutdown_timeout(RUNTIME_STOP_LIMIT);
    result
}

/// The longest a graceful stop may take after SIGINT / SIGTERM before the process stops anyway
/// (the bot's own shutdown is bounded by about 20 s: shard close, in-flight grace, task ends).
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(30);
/// How long the runtime waits for blocking tasks once the bot has stopped.
const RUNTIME_STOP_LIMIT: Duration = Duration::from_secs(2);

/// A stop that skipped the graceful path still makes what is in the store durable.
fn flush_before_exit(store: &Store) {
    if let Err(err) = store.flush_blocking() {
        tracing::error!(error = %err, "cannot flush the store before stopping");
    }
}

/// SIGINT (Ctrl-C) and SIGTERM, registered once; each `recv` waits for the next one.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn listen() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
