//! # shieldbot: the imperative shell
//!
//! `shieldbot-core` decides; this crate acts. It owns everything with side effects: the
//! command line, configuration files, the sled store, the Discord connection and the clock.
//!
//! | module | one concept |
//! |---|---|
//! | [`bot`] | the bot on Discord: intercept, quarantine, delete, escalate, backfill |
//! | [`cli`] | one file per `shieldbot` subcommand |
//! | [`commands`] | `/shield` slash commands and review buttons (poise) |
//! | [`clock`] | the time source (system, or manual in tests) |
//! | [`config`] | the TOML configuration, validated with errors that name the key |
//! | [`filter`] | `[filter]`: rule packs, model and policy, loaded into a `Checker` |
//! | [`sandbox`] | `shieldbot sandbox`: the real bot against a local server, playing a scenario |
//! | [`model_file`] | reading and writing the scorer's model file |
//! | [`store`] | the durable sled store: quarantine, hash-chained audit log, delete queue |

pub mod bot;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod filter;
pub mod model_file;
pub mod sandbox;
pub mod store;
