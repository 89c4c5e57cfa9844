//! The filter's configuration (`[filter]` in `shieldbot.toml`) and the loader that turns it
//! into a [`Checker`]: reads the rule pack files, compiles them, loads the model if one is
//! configured. The pure work (parsing packs, compiling, deciding) is in `shieldbot-core`.
//!
//! Without `--config`, the shipped `config/shieldbot.toml` is used: from the source tree when
//! it is there, otherwise the copy embedded in the binary (with the default rule pack), so an
//! installed `shieldbot` works from any directory.
//!
//! Rules added at runtime (slash commands) are compiled with [`compile_rules`] together with
//! the packs, and the new `Arc<CompiledRules>` is swapped in with [`Checker::with_rules`].

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};
use shieldbot_core::check::Checker;
use shieldbot_core::policy::{PerCategory, PolicyConfig};
use shieldbot_core::rules::{CompiledRules, Rule, RulePack};
use shieldbot_core::scorer::cascade::{Cascade, CascadeSettings};
use shieldbot_core::scorer::{Head, Model, Scorer};
use shieldbot_core::Category;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The shipped config, embedded for binaries run outside the source tree.
const EMBEDDED_CONFIG: &str = include_str!("../config/shieldbot.toml");
/// Rule packs embedded in the binary, by their path relative to the config folder.
const EMBEDDED_PACKS: &[(&str, &str)] = &[(
    "rules/default.toml",
    include_str!("../config/rules/default.toml"),
)];

/// `[filter]`: rule packs, model and policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilterConfig {
    /// Rule pack files, relative to the config file's folder. A path that does not exist but
    /// names an embedded pack (`rules/default.toml`) uses the embedded copy.
    pub rule_packs: Vec<PathBuf>,
    /// The scorer's model file, relative to the config file's folder. None: rules only, and
    /// `score` is the rule signal alone (see `shieldbot_core::policy`).
    pub model: Option<PathBuf>,
    /// Take the scorer thresholds from the model (each head's threshold, tuned on validation
    /// data when it was trained) times the factors below, instead of
    /// `[filter.policy] abusive_threshold` and `[filter.policy.thresholds]` (profanity keeps
    /// the policy's value). Retraining then moves the thresholds with the model.
    pub model_thresholds: bool,
    /// Multiplier of the model's `abusive` threshold when `model_thresholds` is on.
    pub model_abusive_factor: f32,
    /// Multiplier of the model's category thresholds (threat excepted) when `model_thresholds`
    /// is on.
    pub model_category_factor: f32,
    /// Multiplier of the model's threat threshold when `model_thresholds` is on (threats are the
    /// category the product must miss least, so it may sit lower than the others).
    pub model_threat_factor: f32,
    /// The second-stage encoder's model file, relative to the config file's folder. None: the
    /// fast model judges alone. Needs `model` (the cascade's first stage).
    pub encoder: Option<PathBuf>,
    /// Further encoders, trained like `encoder` with other seeds: the second stage is the mean
    /// of all their answers (an ensemble; each re-read then costs one pass per encoder).
    pub more_encoders: Vec<PathBuf>,
    /// When the encoder re-reads a message and how much its answer counts.
    pub cascade: CascadeSettings,
    /// Thresholds and switches of the verdict policy.
    pub policy: PolicyConfig,
}

impl Default for FilterConfig {
    fn default() -> Self {
        FilterConfig {
            rule_packs: vec![PathBuf::from("rules/default.toml")],
            model: None,
            model_thresholds: false,
            model_abusive_factor: 1.0,
            model_category_factor: 1.0,
            model_threat_factor: 1.0,
            encoder: None,
            more_encoders: Vec::new(),
            cascade: CascadeSettings::default(),
            policy: PolicyConfig::default(),
        }
    }
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    filter: FilterConfig,
}

/// The shipped config in the source tree this binary was built from.
pub fn default_config_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/shieldbot.toml")
}

/// Read the `[filter]` section of a whole config file's text (other sections are ignored
/// here; `crate::config` checks them). Errors name `origin`, the line and the problem.
pub fn filter_config_from_toml(text: &str, origin: &str) -> anyhow::Result<FilterConfig> {
    let file: ConfigFile = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| {
                format!(
                    ":{}",
                    text[..s.start.min(text.len())].matches('\n').count() + 1
                )
            })
            .unwrap_or_default();
        anyhow::anyhow!("{origin}{line}: [filter]: {}", e.message().trim())
    })?;
    let config = file.filter;
    config
        .policy
        .validate()
        .map_err(|problem| anyhow::anyhow!("{origin}: [filter.{problem}"))?;
    for (key, factor) in [
        ("model_abusive_factor", config.model_abusive_factor),
        ("model_category_factor", config.model_category_factor),
        ("model_threat_factor", config.model_threat_factor),
    ] {
        if !(0.1..=10.0).contains(&factor) {
            bail!("{origin}: [filter] {key} must be between 0.1 and 10, not {factor}");
        }
    }
    config
        .cascade
        .validate()
        .map_err(|problem| anyhow::anyhow!("{origin}: [filter.cascade] {problem}"))?;
    if !config.more_encoders.is_empty() && config.encoder.is_none() {
        bail!(
            "{origin}: [filter] more_encoders needs encoder: they join the first encoder's reading"
        );
    }
    if config.encoder.is_some() && config.model.is_none() {
        bail!("{origin}: [filter] encoder needs a model: the encoder only re-reads what the model is unsure about");
    }
    Ok(config)
}

/// Where a config comes from: a folder on disk, or the copy embedded in the binary.
enum Base<'a> {
    Dir(&'a Path),
    Embedded,
}

fn read_pack(base: &Base<'_>, relative: &Path) -> anyhow::Result<RulePack> {
    let embedded = EMBEDDED_PACKS
        .iter()
        .find(|(name, _)| Path::new(name) == relative)
        .map(|(_, text)| *text);
    let (text, source) = match base {
        Base::Dir(dir) => {
            let path = dir.join(relative);
            match std::fs::read_to_string(&path) {
                Ok(text) => (text, path.display().to_string()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && embedded.is_some() => (
                    embedded.unwrap_or_default().to_string(),
                    format!("(embedded) {}", relative.display()),
                ),
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot read rule pack {}", path.display()))
                }
            }
        }
        Base::Embedded => match embedded {
            Some(text) => (
                text.to_string(),
                format!("(embedded) {}", relative.display()),
            ),
            None => bail!(
                "the embedded config names a rule pack {} that is not embedded",
                relative.display()
            ),
        },
    };
    Ok(RulePack::from_toml_str(&text, &source)?)
}

/// Read and validate every rule pack a config names.
fn read_packs(config: &FilterConfig, base: &Base<'_>) -> anyhow::Result<Vec<RulePack>> {
    if config.rule_packs.is_empty() {
        bail!("[filter] rule_packs is empty: name at least one rule pack");
    }
    config
        .rule_packs
        .iter()
        .map(|p| read_pack(base, p))
        .collect()
}

/// Compile `packs` plus rules added at runtime (validated as the pack `runtime`).
pub fn compile_rules(packs: &[RulePack], extra: Vec<Rule>) -> anyhow::Result<CompiledRules> {
    let mut all = packs.to_vec();
    if !extra.is_empty() {
        all.push(RulePack::from_rules("runtime", extra)?);
    }
    Ok(CompiledRules::compile(&all)?)
}

fn load_scorer(config: &FilterConfig, base: &Base<'_>) -> anyhow::Result<Option<Model>> {
    let Some(model) = &config.model else {
        return Ok(None);
    };
    let Base::Dir(dir) = base else {
        // The model is not embedded in the binary (it is large and rebuilt by `train`).
        eprintln!(
            "warning: the shipped config is not on disk here, so its model {} cannot be read: \
             judging with the embedded rules only (pass --config to use a model)",
            model.display()
        );
        return Ok(None);
    };
    Ok(Some(crate::model_file::load_model(&dir.join(model))?))
}

/// The policy with the model's tuned thresholds (times the config's factors) when the config
/// asks for them.
fn policy_for(config: &FilterConfig, model: Option<&Model>) -> PolicyConfig {
    let mut policy = config.policy.clone();
    let Some(model) = model.filter(|_| config.model_thresholds) else {
        return policy;
    };
    policy.abusive_threshold =
        (model.threshold(Head::Abusive) * config.model_abusive_factor).min(1.0);
    let t = |c: Category| model.threshold(Head::Category(c)) * config.model_category_factor;
    policy.thresholds = PerCategory {
        threat: model.threshold(Head::Category(Category::Threat)) * config.model_threat_factor,
        sexual: t(Category::Sexual),
        identity: t(Category::Identity),
        insult: t(Category::Insult),
        selfharm: t(Category::SelfHarm),
        doxxing: t(Category::Doxxing),
        profanity: policy.thresholds.profanity,
    };
    policy
}

/// Build the checker from the config at `config_path`, or from the shipped default config
/// when `None`.
pub fn load_checker(config_path: Option<&Path>) -> anyhow::Result<Checker> {
    let (text, origin, dir) = match config_path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            (text, path.display().to_string(), parent_dir(path))
        }
        None => {
            let path = default_config_path();
            match std::fs::read_to_string(&path) {
                Ok(text) => (text, path.display().to_string(), parent_dir(&path)),
                Err(_) => (
                    EMBEDDED_CONFIG.to_string(),
                    "(embedded) shieldbot.toml".into(),
                    None,
                ),
            }
        }
    };
    let config = filter_config_from_toml(&text, &origin)?;
    let base = match &dir {
        Some(dir) => Base::Dir(dir),
        None => Base::Embedded,
    };
    let packs = read_packs(&config, &base)?;
    let rules = compile_rules(&packs, Vec::new())?;
    let model = load_scorer(&config, &base)?;
    let policy = policy_for(&config, model.as_ref());
    let encoder = match (&config.encoder, &base, &model) {
        (Some(encoder), Base::Dir(dir), Some(_)) => {
            let load = |path: &PathBuf| crate::model_file::load_encoder(&dir.join(path));
            let more = config
                .more_encoders
                .iter()
                .map(load)
                .collect::<anyhow::Result<Vec<_>>>()?;
            Some((load(encoder)?, more))
        }
        _ => None,
    };
    let scorer = match (model, encoder) {
        (Some(model), Some((encoder, more))) => {
            Some(
                Arc::new(Cascade::with_ensemble(model, encoder, more, config.cascade))
                    as Arc<dyn Scorer>,
            )
        }
        (model, _) => model.map(|m| Arc::new(m) as Arc<dyn Scorer>),
    };
    Ok(Checker::new(Arc::new(rules), scorer, policy))
}

fn parent_dir(path: &Path) -> Option<PathBuf> {
    Some(match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped config's folder (`config/`).
    fn shipped_dir() -> PathBuf {
        parent_dir(&default_config_path()).unwrap()
    }

    /// The checker a config file with `text` loads (paths in it absolute).
    fn load_config_text(text: &str) -> anyhow::Result<Checker> {
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("shieldbot.toml");
        std::fs::write(&config, text)?;
        load_checker(Some(&config))
    }

    /// The rows of one corpus file of the validation split, or of all of them (`None`).
    fn validation_rows(file: Option<&str>) -> Vec<shieldbot_core::scorer::dataset::CorpusRow> {
        let dir = shipped_dir().join("../data/corpus/validation");
        let paths: Vec<PathBuf> = match file {
            Some(name) => vec![dir.join(name)],
            None => std::fs::read_dir(dir)
                .unwrap()
                .map(|entry| entry.unwrap().path())
                .collect(),
        };
        paths
            .iter()
            .flat_map(|path| {
                shieldbot_core::scorer::dataset::parse_corpus(
                    &std::fs::read_to_string(path).unwrap(),
                )
                .unwrap()
            })
            .collect()
    }

    /// The error a `[filter]` config text gives, as text.
    fn config_error(text: &str) -> String {
        filter_config_from_toml(text, "c.toml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_embedded_config_and_packs_load() {
        let config = filter_config_from_toml(EMBEDDED_CONFIG, "embedded").unwrap();
        let packs = read_packs(&config, &Base::Embedded).unwrap();
        assert!(compile_rules(&packs, Vec::new()).unwrap().rule_count() > 10);
    }

    #[test]
    fn a_bad_rule_pack_names_file_line_and_problem() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("shieldbot.toml");
        std::fs::write(&config, "[filter]\nrule_packs = [\"mine.toml\"]\n").unwrap();
        std::fs::write(
            dir.path().join("mine.toml"),
            "[[rule]]\nid = \"x\"\ncategory = \"threat\"\n\nregexes = ['(a']\n",
        )
        .unwrap();
        let err = load_checker(Some(&config)).unwrap_err().to_string();
        assert!(err.contains("mine.toml:5"), "{err}");
        assert!(err.contains("does not compile"), "{err}");
        std::fs::write(dir.path().join("mine.toml"), "[[rule]]\nid = 3\n").unwrap();
        let err = load_checker(Some(&config)).unwrap_err().to_string();
        assert!(err.contains("mine.toml:2"), "{err}");
        std::fs::remove_file(dir.path().join("mine.toml")).unwrap();
        let err = format!("{:#}", load_checker(Some(&config)).unwrap_err());
        assert!(err.contains("mine.toml"), "{err}");
    }

    #[test]
    fn model_thresholds_come_from_the_model_times_the_factors() {
        let model = shipped_dir().join("model/shieldbot.model");
        let text = format!(
            "[filter]\nmodel = {:?}\nmodel_thresholds = true\nmodel_abusive_factor = 2.0\n\
             model_category_factor = 1.5\nmodel_threat_factor = 0.5\n",
            model.display().to_string()
        );
        let policy = load_config_text(&text).unwrap().policy().clone();
        let model = crate::model_file::load_model(&model).unwrap();
        let abusive = (model.threshold(Head::Abusive) * 2.0).min(1.0);
        assert!((policy.abusive_threshold - abusive).abs() < 1e-6);
        let threat = model.threshold(Head::Category(Category::Threat)) * 0.5;
        assert!((policy.thresholds.threat - threat).abs() < 1e-6);
        let insult = model.threshold(Head::Category(Category::Insult)) * 1.5;
        assert!((policy.thresholds.insult - insult).abs() < 1e-6);
        assert_eq!(
            policy.thresholds.profanity,
            PolicyConfig::default().thresholds.profanity
        );
        let err = config_error("[filter]\nmodel_threat_factor = 0\n");
        assert!(err.contains("model_threat_factor"), "{err}");
    }

    #[test]
    fn filter_errors_name_the_line() {
        let err = config_error("[other]\nx = 1\n[filter]\nrule_packz = []\n");
        assert!(err.starts_with("c.toml:4"), "{err}");
        let err = config_error("[filter.policy]\nabusive_threshold = 7.0\n");
        assert!(err.contains("abusive_threshold"), "{err}");
    }

    #[test]
    fn the_shipped_config_judges_with_the_cascade() {
        // The cascade shows in the scores: on corpus validation rows its probabilities differ
        // from the fast model's alone wherever the encoder re-read the message.
        let checker = load_checker(None).unwrap();
        let fast =
            crate::model_file::load_model(&shipped_dir().join("model/shieldbot.model")).unwrap();
        let fast_only = checker.with_scorer(Some(Arc::new(fast) as Arc<dyn Scorer>));
        let rows = validation_rows(Some("abuse-04.tsv"));
        let context = shieldbot_core::policy::Context::default();
        let reread = rows
            .iter()
            .filter(|r| {
                checker.check(&r.text, &context).scores != fast_only.check(&r.text, &context).scores
            })
            .count();
        assert!(
            reread > 0,
            "no row of {} was re-read by the encoder",
            rows.len()
        );
        let config = filter_config_from_toml(
            &std::fs::read_to_string(default_config_path()).unwrap(),
            "shipped",
        )
        .unwrap();
        assert_eq!(
            config.encoder,
            Some(PathBuf::from("model/encoder.safetensors"))
        );
        assert_eq!(
            config.more_encoders,
            [PathBuf::from("model/encoder-b.safetensors")]
        );
        assert_eq!(config.cascade, CascadeSettings::default());
    }

    #[test]
    fn a_mention_in_front_changes_no_verdict() {
        // On Discord most replies to a protected person mention them. The models learnt
        // `@user` from OLID's mostly harmless tweets; before the scorers read messages without
        // their mentions, half the threats below were kept once a mention was put in front.
        let checker = load_checker(None).unwrap();
        let rows = validation_rows(Some("abuse-70.tsv"));
        let context = shieldbot_core::policy::Context::default();
        let changed: Vec<&str> = rows
            .iter()
            .filter(|r| {
                let plain = checker.check(&r.text, &context).verdict;
                let mentioned = checker
                    .check(&format!("<@100000000000000002> {}", r.text), &context)
                    .verdict;
                plain.name() != mentioned.name() || plain.category() != mentioned.category()
            })
            .map(|r| r.text.as_str())
            .collect();
        assert!(rows.len() > 100, "{} rows", rows.len());
        assert!(
            changed.is_empty(),
            "verdicts changed by a mention: {changed:#?}"
        );
    }

    #[test]
    fn figures_of_speech_the_rules_alone_remove_are_left_to_the_scorer() {
        // The must-keep rows of the validation split that a figurative rule removes when the
        // shipped pack judges alone ("a dead man walking in that job"): with the shipped scorer
        // the rule leaves them to it, which keeps them.
        let pack = shipped_dir().join("rules/default.toml");
        let text = format!(
            "[filter]\nrule_packs = [{:?}]\n",
            pack.display().to_string()
        );
        let (alone, shipped) = (
            load_config_text(&text).unwrap(),
            load_checker(None).unwrap(),
        );
        let context = shieldbot_core::policy::Context::default();
        let figurative = |verdict: &shieldbot_core::verdict::Verdict| {
            verdict.reasons().iter().any(|r| {
                matches!(&r.source, shieldbot_core::verdict::ReasonSource::Rule { rule }
                    if rule.starts_with("threat.figurative"))
            })
        };
        let rows = validation_rows(None);
        let figures: Vec<&str> = rows
            .iter()
            .filter(|r| !r.abuse)
            .map(|r| r.text.as_str())
            .filter(|text| {
                let verdict = alone.check(text, &context).verdict;
                verdict.removes() && figurative(&verdict)
            })
            .collect();
        assert!(figures.len() >= 5, "{figures:#?}");
        for text in &figures {
            let verdict = shipped.check(text, &context).verdict;
            assert!(!verdict.removes(), "{text}: {verdict:?}");
            assert!(
                verdict
                    .reasons()
                    .iter()
                    .any(|r| r.detail.contains("left to the scorer")),
                "{text}"
            );
        }
    }

    #[test]
    fn cascade_mistakes_are_named() {
        let err = config_error("[filter]\nencoder = \"e.safetensors\"\n");
        assert!(err.contains("encoder needs a model"), "{err}");
        let err = config_error("[filter]\nmore_encoders = [\"e.safetensors\"]\n");
        assert!(err.contains("more_encoders needs encoder"), "{err}");
        let err = config_error("[filter.cascade]\nlow = 0.9\nhigh = 0.1\n");
        assert!(
            err.contains("[filter.cascade]") && err.contains("low <= high"),
            "{err}"
        );
        let err = config_error("[filter.cascade]\nlow = 0.1\nspeed = 3\n");
        assert!(err.contains("speed"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let model = shipped_dir().join("model/shieldbot.model");
        let config = dir.path().join("shieldbot.toml");
        std::fs::write(dir.path().join("broken.safetensors"), b"not an encoder").unwrap();
        let text = format!(
            "[filter]\nmodel = {:?}\nencoder = \"broken.safetensors\"\n",
            model.display().to_string()
        );
        std::fs::write(&config, text).unwrap();
        let err = format!("{:#}", load_checker(Some(&config)).unwrap_err());
        assert!(err.contains("broken.safetensors"), "{err}");
        // A broken ensemble member is named too.
        let encoder = shipped_dir().join("model/encoder.safetensors");
        let text = format!(
            "[filter]\nmodel = {:?}\nencoder = {:?}\nmore_encoders = [\"broken.safetensors\"]\n",
            model.display().to_string(),
            encoder.display().to_string()
        );
        std::fs::write(&config, text).unwrap();
        let err = format!("{:#}", load_checker(Some(&config)).unwrap_err());
        assert!(err.contains("broken.safetensors"), "{err}");
    }
}
