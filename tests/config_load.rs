//! The configuration: the shipped example loads, and every kind of mistake is refused with an
//! error that names the key (and the line where it can).

use shieldbot::config::{
    AutoModConfig, Config, ConfigError, DigestDelivery, Exposure, GuildAutoMod, ReleaseMode,
    RemovalConfig, Sensitivity, TimeoutConfig, Token, TokenSource,
};
use shieldbot_core::{Category, Severity};
use std::path::Path;

const MINIMAL: &str = r#"
[[guild]]
id = 1000
helpers_channel = "2000"

[[guild.protected]]
user_id = 3000
"#;

fn error_text(toml: &str) -> String {
    match Config::from_toml_str(toml) {
        Ok(_) => panic!("config was accepted:\n{toml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn shipped_example_loads_with_the_documented_values() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/shieldbot.toml");
    let config = Config::load(&path).unwrap();
    assert_eq!(
        config.token_source,
        TokenSource::Env("SHIELDBOT_TOKEN".into())
    );
    assert!(config.store_path.ends_with("shieldbot-store"));
    assert!(config.store_path.starts_with(path.parent().unwrap()));
    let guild = &config.guilds[0];
    assert_eq!(config.guild(guild.id), Some(guild));
    let person = &guild.protected[0];
    assert_eq!(person.digest_time.to_string(), "08:00");
    assert_eq!(person.time_zone, chrono_tz::Europe::London);
    assert_eq!(person.exposure, Exposure::Masked);
    assert_eq!(person.release, ReleaseMode::Quote);
    assert_eq!(person.digest_to, DigestDelivery::Dm);
    assert_eq!(
        person.watched_names().collect::<Vec<_>>(),
        vec!["Jane Example", "Jane", "Ms Example"]
    );
    assert!(guild.is_helper(guild.helpers[0]));
    assert!(guild.is_allow_listed(1, &guild.allow_roles));
    assert_eq!(guild.sensitivity.get(Category::Profanity), Sensitivity::Off);
    assert_eq!(guild.sensitivity.get(Category::Threat), Sensitivity::High);
    assert!(guild
        .escalation
        .applies_to(Category::Threat, Severity::HIGH));
    assert!(!guild
        .escalation
        .applies_to(Category::Insult, Severity::HIGH));
    // Issue 9: the AutoMod mirror is on, alerts go to the helpers' channel, raid timeouts off.
    assert_eq!(
        config.automod,
        AutoModConfig {
            enabled: true,
            min_severity: Severity::HIGH
        }
    );
    assert!(guild.automod.mirrored(config.automod.enabled));
    assert_eq!(
        guild.automod.alert_channel_or(guild.helpers_channel),
        guild.helpers_channel
    );
    assert!(config.removal.bulk);
    assert_eq!(
        config.removal.timeouts,
        TimeoutConfig {
            enabled: false,
            strikes: 3,
            within_seconds: 120,
            duration_minutes: 60
        }
    );
}

#[test]
fn minimal_config_gets_protective_defaults() {
    let config = Config::from_toml_str(MINIMAL).unwrap();
    assert_eq!(
        config.token_source,
        TokenSource::Env("SHIELDBOT_TOKEN".into())
    );
    assert_eq!(config.store_path, Path::new("shieldbot-store"));
    let guild = &config.guilds[0];
    assert_eq!(guild.helpers_channel, Some(2000));
    assert!(guild.watches_channel(12345));
    let person = guild.protected_person(3000).unwrap();
    assert_eq!(person.time_zone, chrono_tz::UTC);
    assert_eq!(person.exposure, Exposure::Masked);
    assert_eq!(config.filter, shieldbot::filter::FilterConfig::default());
    // Neither changes the server unless asked: no AutoMod rules, no timeouts.
    assert!(!config.automod.enabled);
    assert_eq!(config.removal, RemovalConfig::default());
    assert!(!config.removal.timeouts.enabled);
    assert_eq!(guild.automod, GuildAutoMod::default());
}

#[test]
fn unknown_key_is_named_with_its_line() {
    let text = format!("{MINIMAL}exposur = \"raw\"\n");
    let err = error_text(&text);
    assert!(err.contains("exposur"), "{err}");
    assert!(err.contains("line 8"), "{err}");
}

#[test]
fn unknown_top_level_section_is_named() {
    let err = error_text(&format!("[stroe]\npath = \"x\"\n{MINIMAL}"));
    assert!(err.contains("stroe"), "{err}");
}

#[test]
fn wrong_type_names_the_key_path() {
    let err = error_text(&MINIMAL.replace("user_id = 3000", "user_id = \"jane\""));
    assert!(err.contains("guild[0].protected[0].user_id"), "{err}");
    assert!(err.contains("not a Discord id"), "{err}");
}

#[test]
fn bad_time_zone_and_digest_time_are_explained() {
    let tz = error_text(&format!("{MINIMAL}time_zone = \"Europe/Londn\"\n"));
    assert!(tz.contains("time_zone") && tz.contains("IANA"), "{tz}");
    let time = error_text(&format!("{MINIMAL}digest_time = \"25:00\"\n"));
    assert!(
        time.contains("digest_time") && time.contains("HH:MM"),
        "{time}"
    );
}

#[test]
fn bad_enum_values_name_the_key() {
    let err = error_text(&format!("{MINIMAL}exposure = \"everything\"\n"));
    assert!(err.contains("guild[0].protected[0].exposure"), "{err}");
    let err = error_text(&format!(
        "{MINIMAL}[guild.sensitivity]\nthreat = \"extreme\"\n"
    ));
    assert!(err.contains("guild[0].sensitivity.threat"), "{err}");
    let err = error_text(&format!(
        "{MINIMAL}[guild.sensitivity]\nthreats = \"high\"\n"
    ));
    assert!(err.contains("threats"), "{err}");
}

#[test]
fn cross_field_mistakes_name_key_and_line() {
    let dup = format!(
        "{MINIMAL}\n[[guild]]\nid = 1000\nhelpers_channel = 1\n[[guild.protected]]\nuser_id = 5\n"
    );
    let err = Config::from_toml_str(&dup).unwrap_err();
    assert_eq!(err.key(), Some("guild[1].id"));
    assert!(err.to_string().contains(":10:"), "{err}");

    let no_channel = MINIMAL.replace("helpers_channel = \"2000\"\n", "");
    let err = Config::from_toml_str(&no_channel).unwrap_err();
    assert_eq!(err.key(), Some("guild[0].helpers_channel"));

    let nobody = "[[guild]]\nid = 1\nhelpers_channel = 2\n";
    assert_eq!(
        Config::from_toml_str(nobody).unwrap_err().key(),
        Some("guild[0].protected")
    );

    let both = format!("[discord]\ntoken_env = \"A\"\ntoken_file = \"b\"\n{MINIMAL}");
    let err = Config::from_toml_str(&both).unwrap_err();
    assert_eq!(err.key(), Some("discord.token_file"));
    assert!(err.to_string().contains(":3:"), "{err}");

    let short_alias = format!("{MINIMAL}aliases = [\"Jo\", \"J\"]\n");
    assert_eq!(
        Config::from_toml_str(&short_alias).unwrap_err().key(),
        Some("guild[0].protected[0].aliases[1]")
    );

    let listed_twice = MINIMAL.replace(
        "id = 1000\n",
        "id = 1000\nallow_users = [7]\ndeny_users = [\"7\"]\n",
    );
    assert_eq!(
        Config::from_toml_str(&listed_twice).unwrap_err().key(),
        Some("guild[0].deny_users")
    );
}

#[test]
fn file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, format!("{MINIMAL}colour = 1\n")).unwrap();
    let err = Config::load(&path).unwrap_err().to_string();
    assert!(err.contains("bad.toml") && err.contains("colour"), "{err}");
    let missing = Config::load(&dir.path().join("nope.toml")).unwrap_err();
    assert!(matches!(missing, ConfigError::Io { .. }));
}

#[test]
fn token_from_file_is_trimmed_and_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "  secret-token-value\n").unwrap();
    let path = dir.path().join("shieldbot.toml");
    std::fs::write(
        &path,
        format!("[discord]\ntoken_file = \"token\"\n{MINIMAL}"),
    )
    .unwrap();
    let config = Config::load(&path).unwrap();
    let token = config.token().unwrap();
    assert_eq!(token.expose_secret(), "secret-token-value");
    let printed = format!("{token:?} {config:?}");
    assert!(!printed.contains("secret-token-value"), "{printed}");
    assert_eq!(format!("{:?}", Token::new("x")), "Token(<redacted>)");
}

#[test]
fn token_errors_name_the_source_key() {
    let missing_env = TokenSource::Env("SHIELDBOT_TEST_SURELY_UNSET_VARIABLE".into());
    let err = missing_env.read().unwrap_err();
    assert_eq!(err.key(), Some("discord.token_env"));
    assert!(err
        .to_string()
        .contains("SHIELDBOT_TEST_SURELY_UNSET_VARIABLE"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty"), "\n").unwrap();
    let err = TokenSource::File(dir.path().join("empty"))
        .read()
        .unwrap_err();
    assert_eq!(err.key(), Some("discord.token_file"));
}

#[test]
fn filter_section_is_read_into_the_filter_config() {
    let config = Config::from_toml_str(&format!(
        "{MINIMAL}\n[filter]\nrule_packs = [\"rules/x.toml\"]\n"
    ))
    .unwrap();
    assert_eq!(
        config.filter.rule_packs,
        vec![std::path::PathBuf::from("rules/x.toml")]
    );
    let err = error_text(&format!("{MINIMAL}\n[filter]\nrule_pack = []\n"));
    assert!(err.contains("filter.rule_pack"), "{err}");
    let err = Config::from_toml_str(&format!(
        "{MINIMAL}\n[filter.policy]\nabusive_threshold = 3.0\n"
    ))
    .unwrap_err();
    assert_eq!(err.key(), Some("filter.policy.abusive_threshold"));
    assert!(err.to_string().contains(":10:"), "{err}");
}

#[test]
fn removal_and_automod_sections_are_read() {
    let config = Config::from_toml_str(&format!(
        "[removal]\nbulk = false\n[removal.timeouts]\nenabled = true\nstrikes = 2\nwithin_seconds = 30\nduration_minutes = 1440\n\
         [automod]\nenabled = true\nmin_severity = 2\n{MINIMAL}[guild.automod]\nalert_channel = \"4000\"\n"
    ))
    .unwrap();
    assert!(!config.removal.bulk);
    assert_eq!(
        config.removal.timeouts,
        TimeoutConfig {
            enabled: true,
            strikes: 2,
            within_seconds: 30,
            duration_minutes: 1440
        }
    );
    assert_eq!(config.automod.min_severity, Severity::MEDIUM);
    let guild = &config.guilds[0];
    assert_eq!(
        guild.automod.alert_channel_or(guild.helpers_channel),
        Some(4000)
    );

    let opted_out = Config::from_toml_str(&format!(
        "[automod]\nenabled = true\n{MINIMAL}[guild.automod]\nenabled = false\n"
    ))
    .unwrap();
    assert!(!opted_out.guilds[0]
        .automod
        .mirrored(opted_out.automod.enabled));
}

#[test]
fn removal_mistakes_name_the_key_and_line() {
    let cases = [
        ("strikes = 0", "removal.timeouts.strikes", "at least 1"),
        (
            "within_seconds = 0",
            "removal.timeouts.within_seconds",
            "between 1 and",
        ),
        (
            "within_seconds = 86401",
            "removal.timeouts.within_seconds",
            "between 1 and",
        ),
        (
            "duration_minutes = 0",
            "removal.timeouts.duration_minutes",
            "28 days",
        ),
        (
            "duration_minutes = 40321",
            "removal.timeouts.duration_minutes",
            "28 days",
        ),
    ];
    for (line, key, says) in cases {
        let text = format!("{MINIMAL}\n[removal.timeouts]\nenabled = true\n{line}\n");
        let err = Config::from_toml_str(&text).unwrap_err();
        assert_eq!(err.key(), Some(key), "{line}: {err}");
        assert!(err.to_string().contains(says), "{line}: {err}");
        assert!(err.to_string().contains(":11:"), "{line}: {err}");
    }
    // Checked even while timeouts are off: a slip waits for the day they are switched on.
    let off = format!("{MINIMAL}\n[removal.timeouts]\nduration_minutes = 0\n");
    assert_eq!(
        Config::from_toml_str(&off).unwrap_err().key(),
        Some("removal.timeouts.duration_minutes")
    );
    let err = error_text(&format!("{MINIMAL}\n[removal]\nbulks = true\n"));
    assert!(err.contains("bulks"), "{err}");
    let err = error_text(&format!(
        "{MINIMAL}\n[removal.timeouts]\nstrikes = \"three\"\n"
    ));
    assert!(err.contains("removal.timeouts.strikes"), "{err}");
    let err = error_text(&format!("{MINIMAL}\n[removal.timeouts]\nstrikes = -1\n"));
    assert!(err.contains("removal.timeouts.strikes"), "{err}");
}

#[test]
fn automod_mistakes_name_the_key() {
    let err = error_text(&format!("{MINIMAL}\n[automod]\nmin_severity = 4\n"));
    assert!(err.contains("automod.min_severity"), "{err}");
    assert!(err.contains("1, 2 or 3"), "{err}");
    let err = error_text(&format!("{MINIMAL}\n[automod]\nenable = true\n"));
    assert!(err.contains("enable"), "{err}");
    let err = error_text(&format!("{MINIMAL}[guild.automod]\nalert_channel = 0\n"));
    assert!(err.contains("guild[0].automod.alert_channel"), "{err}");
    assert!(err.contains("not a Discord id"), "{err}");
    let err = error_text(&format!("{MINIMAL}[guild.automod]\nalert = 5\n"));
    assert!(err.contains("alert"), "{err}");

    // A server switched on while the mirror is off everywhere.
    let err =
        Config::from_toml_str(&format!("{MINIMAL}[guild.automod]\nenabled = true\n")).unwrap_err();
    assert_eq!(err.key(), Some("guild[0].automod.enabled"));
    assert!(err.to_string().contains("[automod]"), "{err}");
    assert!(err.to_string().contains(":9:"), "{err}");

    // Alerts (which show the blocked text) into a watched, public channel.
    let watched = MINIMAL.replace("id = 1000\n", "id = 1000\nwatch_channels = [77]\n");
    let err = Config::from_toml_str(&format!(
        "[automod]\nenabled = true\n{watched}[guild.automod]\nalert_channel = 77\n"
    ))
    .unwrap_err();
    assert_eq!(err.key(), Some("guild[0].automod.alert_channel"));
    assert!(err.to_string().contains("private"), "{err}");

    // Mirrored with nowhere for the alerts to go.
    let no_channel = MINIMAL.replace("helpers_channel = \"2000\"\n", "");
    let err = Config::from_toml_str(&format!(
        "[automod]\nenabled = true\n{no_channel}[guild.escalation]\npost_to_helpers_channel = false\n"
    ))
    .unwrap_err();
    assert_eq!(err.key(), Some("guild[0].automod.alert_channel"));
    // ... which is fine when this server opts out.
    Config::from_toml_str(&format!(
        "[automod]\nenabled = true\n{no_channel}[guild.escalation]\npost_to_helpers_channel = false\n[guild.automod]\nenabled = false\n"
    ))
    .unwrap();
}
