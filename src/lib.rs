//! # shieldbot: the imperative shell
//!
//! `shieldbot-core` decides; this crate acts. It owns everything with side effects: the
//! command line, configuration files, the sled store, the Discord connection and the clock.
//!
//! | module | one concept |
//! |---|---|
//! | [`cli`] | one file per `shieldbot` subcommand |

pub mod cli;
