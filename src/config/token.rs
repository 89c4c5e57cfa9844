//! The bot token: where it comes from and a wrapper that never prints it.
//!
//! The config file names a *source* (an environment variable or a file), never the token itself,
//! so the file can be committed and shared. [`Token`]'s `Debug` is redacted and it has no
//! `Display`, so a stray `{:?}` or `tracing` field cannot leak it.

use super::ConfigError;
use std::fmt;
use std::path::PathBuf;

/// The default environment variable holding the token.
pub const DEFAULT_TOKEN_ENV: &str = "SHIELDBOT_TOKEN";

/// Where to read the bot token from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// An environment variable (`discord.token_env`, default `SHIELDBOT_TOKEN`).
    Env(String),
    /// A file holding only the token (`discord.token_file`); surrounding whitespace is ignored.
    File(PathBuf),
}

impl Default for TokenSource {
    fn default() -> Self {
        TokenSource::Env(DEFAULT_TOKEN_ENV.to_string())
    }
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Env(var) => write!(f, "environment variable {var}"),
            TokenSource::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

impl TokenSource {
    /// Read the token now. Errors name the source and the config key, never the token.
    pub fn read(&self) -> Result<Token, ConfigError> {
        let (key, raw) = match self {
            TokenSource::Env(var) => (
                "discord.token_env",
                std::env::var(var).map_err(|_| ConfigError::Token {
                    key: "discord.token_env",
                    message: format!("environment variable {var} is not set"),
                })?,
            ),
            TokenSource::File(path) => (
                "discord.token_file",
                std::fs::read_to_string(path).map_err(|e| ConfigError::Token {
                    key: "discord.token_file",
                    message: format!("cannot read {}: {e}", path.display()),
                })?,
            ),
        };
        let token = raw.trim();
        if token.is_empty() {
            return Err(ConfigError::Token {
                key,
                message: format!("the token from {self} is empty"),
            });
        }
        Ok(Token(token.to_string()))
    }
}

/// A Discord bot token. Prints as `Token(<redacted>)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wrap a token (tests, the sandbox).
    pub fn new(token: impl Into<String>) -> Token {
        Token(token.into())
    }

    /// The secret itself, for handing to serenity. Do not log the result.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}
