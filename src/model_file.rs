//! Reading and writing the scorer's model file. The core parses bytes; this names the file.
//!
//! A missing or corrupt model is an error that names the path, never a silent "allow
//! everything": a shield that quietly stops scoring is worse than one that refuses to start.

use anyhow::Context;
use shieldbot_core::scorer::encoder::Encoder;
use shieldbot_core::scorer::Model;
use std::path::Path;

/// Where the shipped model lives, relative to the repository root.
pub const DEFAULT_MODEL_PATH: &str = "config/model/shieldbot.model";

/// Loads and checks the model at `path`.
pub fn load_model(path: &Path) -> anyhow::Result<Model> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the model file {}", path.display()))?;
    Model::from_bytes(&bytes)
        .with_context(|| format!("cannot load the model file {}", path.display()))
}

/// Loads and checks the second-stage encoder at `path`.
pub fn load_encoder(path: &Path) -> anyhow::Result<Encoder> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the encoder file {}", path.display()))?;
    Encoder::from_bytes(&bytes)
        .with_context(|| format!("cannot load the encoder file {}", path.display()))
}

/// Writes `model` to `path` atomically (a temporary file renamed into place), creating the
/// parent folder if needed.
pub fn save_model(model: &Model, path: &Path) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the folder {}", parent.display()))?;
    }
    let tmp = path.with_extension("model.tmp");
    std::fs::write(&tmp, model.to_bytes())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move {} to {}", tmp.display(), path.display()))?;
    Ok(())
}
