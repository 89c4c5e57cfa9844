//! `shieldbot run --config FILE`: connect to Discord and shield the configured people until
//! SIGINT or SIGTERM, then shut down gracefully (stop taking events, finish in-flight work,
//! flush the store).
//!
//! `--api-url` points the same code at a Discord-compatible server instead of discord.com (the
//! local test server; the integration tests run the binary this way and kill it mid-raid).

use crate::bot::{Bot, BotOptions, Endpoint};
use crate::config::{Config, DEFAULT_CONFIG_PATH};
use crate::store::Store;
use anyhow::Context as _;
use std::path::PathBuf;
use std::process::ExitCode;

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
    runtime.block_on(async move {
        let options = BotOptions {
            checker: Some(checker),
            ..BotOptions::default()
        };
        let mut handle = Bot::start(config, token, endpoint, store, options).await?;
        tracing::info!("shieldbot is running; SIGINT or SIGTERM stops it");
        let stopped_by_itself = tokio::select! {
            signal = shutdown_signal() => {
                signal.context("cannot listen for shutdown signals")?;
                None
            }
            result = handle.wait() => Some(result),
        };
        tracing::info!("shutting down");
        handle.shutdown().await?;
        match stopped_by_itself {
            None => Ok(ExitCode::SUCCESS),
            Some(Ok(())) => Ok(ExitCode::SUCCESS),
            Some(Err(err)) => Err(anyhow::anyhow!("the Discord connection failed: {err}")),
        }
    })
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
