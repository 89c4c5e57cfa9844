//! `[guild.pileon]`: defaults that leave regulars alone, values read from the file, and bad
//! values refused with the key named.

use shieldbot::config::Config;
use shieldbot_core::pileon::PileonConfig;

const GUILD: &str = r#"
[[guild]]
id = 100
helpers = [300]
helpers_channel = 400

[[guild.protected]]
user_id = 200
display_name = "Alex Morgan"
"#;

#[test]
fn a_guild_without_the_section_gets_the_defaults() {
    let config = Config::from_toml_str(GUILD).unwrap();
    let pileon = &config.guilds[0].pileon;
    assert_eq!(pileon, &PileonConfig::default());
    assert!(pileon.auto_shield);
    assert!(!pileon.timeout_repeat_offenders, "timeouts must be opt-in");
}

#[test]
fn the_section_is_read() {
    let text = format!(
        "{GUILD}\n[guild.pileon]\nwindow_secs = 30\nratio = 6.0\nhold_account_days = 14\n\
         hold_member_hours = 48\nduration_minutes = 90\ntimeout_repeat_offenders = true\n\
         alert_immediately = 5\nalert_summary_secs = 120\n"
    );
    let config = Config::from_toml_str(&text).unwrap();
    let pileon = &config.guilds[0].pileon;
    assert_eq!(pileon.window_secs, 30);
    assert_eq!(pileon.ratio, 6.0);
    assert_eq!(pileon.hold_account_days, 14);
    assert_eq!(pileon.hold_member_hours, 48);
    assert_eq!(pileon.duration_ms(), 90 * 60_000);
    assert!(pileon.timeout_repeat_offenders);
    assert_eq!(pileon.alert_immediately, 5);
    assert_eq!(pileon.alert_summary_secs, 120);
    assert_eq!(pileon.min_messages, PileonConfig::default().min_messages);
}

#[test]
fn bad_values_are_refused_with_their_key() {
    for (line, key) in [
        ("min_new_share = 2.0", "min_new_share"),
        ("timeout_minutes = 50000", "timeout_minutes"),
        ("window_secs = 0", "window_secs"),
        ("alert_summary_secs = 0", "alert_summary_secs"),
        ("alert_immediately = -1", "alert_immediately"),
        ("windw_secs = 10", "windw_secs"),
    ] {
        let text = format!("{GUILD}\n[guild.pileon]\n{line}\n");
        let err = Config::from_toml_str(&text).unwrap_err().to_string();
        assert!(err.contains(key), "{line}: {err}");
    }
}
