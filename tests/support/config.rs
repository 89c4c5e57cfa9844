//! The bot's configuration for the town, as the end-to-end tests write it: the store's
//! directory, the guild with Harriet as helper and `#helpers` for alerts, and Jane protected.
//! Each scenario appends its own TOML, which continues Jane's `[[guild.protected]]` entry
//! (e.g. `display_name = ...`) and may open further tables (`[guild.escalation]`, `[filter]`).

use super::town::Town;
use shieldbot::config::Config;
use std::path::Path;

/// The town's config with the store in `store` and `more` appended (see the module docs).
pub fn protecting_jane(town: &Town, store: &Path, more: &str) -> Config {
    Config::from_toml_str(&format!(
        r#"
[store]
path = "{store}"

[[guild]]
id = "{guild}"
helpers = ["{helper}"]
helpers_channel = "{helpers_channel}"

[[guild.protected]]
user_id = "{jane}"
{more}"#,
        store = store.display(),
        guild = town.guild,
        helper = town.helper,
        helpers_channel = town.helpers_channel,
        jane = town.jane,
    ))
    .unwrap()
}
