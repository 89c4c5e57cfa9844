//! # shieldbot-core: the functional core
//!
//! Everything here is pure and synchronous: plain data in, plain data out, no Discord, no
//! storage, no clock. The shell (the `shieldbot` crate) feeds it messages and acts on verdicts.
//!
//! The data flow, top-down:
//!
//! ```text
//! text ──► normalise ──► rules ──┐
//!              │                  ├──► policy ──► Verdict
//!              ├──────► scorer ──┘        ▲
//!              └── disguised letters ─────┤
//!                                context ─┘ (author signals, supplied by the shell)
//! ```
//!
//! | module | one concept |
//! |---|---|
//! | [`category`] | the abuse categories and severities every other module speaks in |
//! | [`normalise`] | folds evasive spellings to plain text while keeping a map back to the original, and counts the letters that were disguised |
//! | [`rules`] | keyword / phrase / regex rule packs compiled into one fast matcher |
//! | [`scorer`] | the trained models: text -> per-category probabilities (a fast n-gram model, and a cascade that lets a transformer re-read what it is unsure about) |
//! | [`policy`] | combines rule hits, scores and context into a [`verdict::Verdict`] |
//! | [`verdict`] | the verdict and the reasons that explain it |
//! | [`digest`] | folds a period's quarantined items into the daily digest (campaigns, worst first) |
//! | [`check`] | the whole pipeline behind one call, as `shieldbot check` uses it |
//! | [`targeting`] | whether a message is aimed at a protected person at all |
//! | [`pileon`] | pile-on defence: author signals, burst detection, the shield-up state machine |
//! | [`access`] | who may use the commands and buttons |
//! | [`automod`] | which rules Discord's AutoMod can enforce natively, and why the rest stay bot-side |
//! | [`backtest`] | what a proposed rule change would have done to past messages |

pub mod access;
pub mod automod;
pub mod backtest;
pub mod category;
pub mod check;
pub mod digest;
pub mod normalise;
pub mod pileon;
pub mod policy;
pub mod rules;
pub mod scorer;
pub mod targeting;
pub mod verdict;

pub use category::{Category, Severity};
pub use verdict::{Reason, ReasonSource, Verdict};
