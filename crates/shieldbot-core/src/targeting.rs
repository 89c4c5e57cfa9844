//! Is a message aimed at a protected person?
//!
//! shieldbot only judges messages *aimed at* someone it protects: abuse in general is the
//! server's moderators' business, and judging every message would both cost time in a raid and
//! widen what the bot reads. A message is aimed at a protected person when it mentions them,
//! replies to one of their messages, or names them (a configured name or alias, matched on whole
//! words after the same evasion folding the filters use, so "J.a.n.e D0e" still names Jane Doe
//! while "Janet" does not name "Jane").
//!
//! Before aiming is even considered, two kinds of message are set aside: the bot's own (it must
//! never judge its own alerts) and messages the protected person writes themselves. Allow-listed
//! authors (by user or role) are reported as such so the shell can keep them and say why.
//!
//! The decision is pure: the shell extracts [`MessageFacts`] from the Discord event (looking up
//! the author of a replied-to message when the event does not carry it) and acts on the
//! [`Targeting`] returned.

use crate::normalise::normalise;
use std::collections::BTreeSet;

/// Someone shieldbot shields in a guild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedPerson {
    pub user_id: u64,
    /// Names and aliases to watch for, as written in the config ("Jane Doe", "@janedoe", "JD").
    pub names: Vec<String>,
}

/// Who is protected and who is exempt, in one guild.
#[derive(Debug, Clone, Default)]
pub struct TargetingRules {
    protected: Vec<(u64, Vec<Vec<String>>)>,
    allowed_users: BTreeSet<u64>,
    allowed_roles: BTreeSet<u64>,
}

/// The facts about one message that targeting needs, already extracted from the event.
#[derive(Debug, Clone, Default)]
pub struct MessageFacts<'a> {
    pub author_id: u64,
    /// True when the author is this bot itself.
    pub author_is_self: bool,
    /// The author's role ids in the guild (empty when unknown).
    pub author_roles: &'a [u64],
    /// Users mentioned with `<@id>` (what Discord puts in `mentions`).
    pub mentioned_users: &'a [u64],
    /// The author of the message this one replies to, when it is a reply.
    pub replied_to_author: Option<u64>,
    pub content: &'a str,
}

/// How a message points at a protected person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Aim {
    Mention,
    Reply,
    /// One of their names or aliases, as configured.
    Name(String),
}

/// The targeting decision for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targeting {
    /// The bot's own message: never judged.
    OwnMessage,
    /// Not aimed at anyone protected (including a protected person writing themselves).
    NotAimed,
    /// Aimed at a protected person, but the author (or one of their roles) is allow-listed.
    AllowListed { protected: Vec<u64> },
    /// Aimed at these protected people, for these reasons: judge it.
    Aimed { protected: Vec<u64>, aims: Vec<Aim> },
}

impl Targeting {
    /// True when the message must go through the filters.
    pub fn must_judge(&self) -> bool {
        matches!(self, Targeting::Aimed { .. })
    }
}

impl TargetingRules {
    /// Rules for one guild. Names that fold to nothing are ignored.
    pub fn new(
        protected: impl IntoIterator<Item = ProtectedPerson>,
        allowed_users: impl IntoIterator<Item = u64>,
        allowed_roles: impl IntoIterator<Item = u64>,
    ) -> TargetingRules {
        let protected = protected
            .into_iter()
            .map(|p| {
                let names = p
                    .names
                    .iter()
                    .map(|n| words(n))
                    .filter(|w| !w.is_empty())
                    .collect();
                (p.user_id, names)
            })
            .collect();
        TargetingRules {
            protected,
            allowed_users: allowed_users.into_iter().collect(),
            allowed_roles: allowed_roles.into_iter().collect(),
        }
    }

    /// True when `user_id` is protected here.
    pub fn protects(&self, user_id: u64) -> bool {
        self.protected.iter().any(|(id, _)| *id == user_id)
    }

    /// The ids of everyone protected here.
    pub fn protected_ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.protected.iter().map(|(id, _)| *id)
    }

    /// Decide whether `message` is aimed at someone protected.
    pub fn decide(&self, message: &MessageFacts<'_>) -> Targeting {
        if message.author_is_self {
            return Targeting::OwnMessage;
        }
        let mut protected = Vec::new();
        let mut aims = Vec::new();
        let mut text_words: Option<Vec<String>> = None;
        for (user_id, names) in &self.protected {
            if *user_id == message.author_id {
                continue;
            }
            let mut hit = false;
            if message.mentioned_users.contains(user_id) {
                aims.push(Aim::Mention);
                hit = true;
            }
            if message.replied_to_author == Some(*user_id) {
                aims.push(Aim::Reply);
                hit = true;
            }
            if !names.is_empty() {
                let text = text_words.get_or_insert_with(|| words(message.content));
                if let Some(name) = names.iter().find(|n| contains_run(text, n)) {
                    aims.push(Aim::Name(name.join(" ")));
                    hit = true;
                }
            }
            if hit {
                protected.push(*user_id);
            }
        }
        if protected.is_empty() {
            return Targeting::NotAimed;
        }
        let allowed = self.allowed_users.contains(&message.author_id)
            || message
                .author_roles
                .iter()
                .any(|r| self.allowed_roles.contains(r));
        if allowed {
            Targeting::AllowListed { protected }
        } else {
            Targeting::Aimed { protected, aims }
        }
    }
}

/// The folded words of `text`: evasion-folded by [`normalise`], then split on anything that is
/// not a letter or digit, so matching is on whole words.
fn words(text: &str) -> Vec<String> {
    let folded = normalise(text);
    folded
        .folded()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// True when `needle` occurs as a contiguous run of whole words in `haystack`: "jane" matches
/// "jane's" (split at the apostrophe) but not "janet".
fn contains_run(haystack: &[String], needle: &[String]) -> bool {
    if needle.is_empty() || needle.len() > haystack.len() {
        return false;
    }
    haystack.windows(needle.len()).any(|w| w == needle)
        || (needle.len() > 1 && contains_glued(haystack, needle))
}

/// A multi-word name written as one word ("janedoe", as in a handle) also names the person.
fn contains_glued(haystack: &[String], needle: &[String]) -> bool {
    let glued: String = needle.concat();
    haystack.contains(&glued)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JANE: u64 = 10;
    const BOT: u64 = 99;

    fn rules() -> TargetingRules {
        TargetingRules::new(
            [ProtectedPerson {
                user_id: JANE,
                names: vec!["Jane Doe".into(), "JD".into()],
            }],
            [7],
            [500],
        )
    }

    fn facts(content: &str) -> MessageFacts<'_> {
        MessageFacts {
            author_id: 1,
            content,
            ..MessageFacts::default()
        }
    }

    #[test]
    fn a_mention_is_aimed() {
        let m = MessageFacts {
            mentioned_users: &[JANE],
            ..facts("hello")
        };
        assert_eq!(
            rules().decide(&m),
            Targeting::Aimed {
                protected: vec![JANE],
                aims: vec![Aim::Mention]
            }
        );
    }

    #[test]
    fn a_reply_without_mention_is_aimed() {
        let m = MessageFacts {
            replied_to_author: Some(JANE),
            ..facts("hello")
        };
        assert!(rules().decide(&m).must_judge());
    }

    #[test]
    fn names_match_whole_words_only() {
        let r = rules();
        assert!(r.decide(&facts("I saw Jane Doe today")).must_judge());
        assert!(r.decide(&facts("jane   DOE's speech")).must_judge());
        assert!(r.decide(&facts("@janedoe answer me")).must_judge());
        assert!(r.decide(&facts("jd, answer")).must_judge());
        assert_eq!(r.decide(&facts("Janet Doerr came")), Targeting::NotAimed);
        assert_eq!(r.decide(&facts("jdoe and jane")), Targeting::NotAimed);
    }

    #[test]
    fn unrelated_messages_are_not_aimed() {
        let m = MessageFacts {
            mentioned_users: &[3],
            replied_to_author: Some(4),
            ..facts("what a day")
        };
        assert_eq!(rules().decide(&m), Targeting::NotAimed);
    }

    #[test]
    fn own_messages_are_never_judged() {
        let m = MessageFacts {
            author_id: BOT,
            author_is_self: true,
            mentioned_users: &[JANE],
            ..facts("alert")
        };
        assert_eq!(rules().decide(&m), Targeting::OwnMessage);
    }

    #[test]
    fn the_protected_person_writing_is_not_aimed_at_themselves() {
        let m = MessageFacts {
            author_id: JANE,
            mentioned_users: &[JANE],
            ..facts("Jane Doe here")
        };
        assert_eq!(rules().decide(&m), Targeting::NotAimed);
    }

    #[test]
    fn allow_listed_users_and_roles_are_kept() {
        let by_user = MessageFacts {
            author_id: 7,
            mentioned_users: &[JANE],
            ..facts("x")
        };
        assert_eq!(
            rules().decide(&by_user),
            Targeting::AllowListed {
                protected: vec![JANE]
            }
        );
        let by_role = MessageFacts {
            author_roles: &[42, 500],
            mentioned_users: &[JANE],
            ..facts("x")
        };
        assert!(!rules().decide(&by_role).must_judge());
    }
}
