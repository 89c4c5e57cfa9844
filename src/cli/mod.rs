//! One module per `shieldbot` subcommand. Each has an `Args` (clap) and a `run` returning the
//! process exit code.

pub mod check;
pub mod digest;
pub mod eval;
pub mod export;
pub mod run;
pub mod sandbox;
pub mod train;
pub mod verify;
