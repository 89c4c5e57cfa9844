//! Who may do what with shieldbot's commands and buttons.
//!
//! Discord's `default_member_permissions` only hides commands; a server can override it per role
//! or member, so every invocation and every button click is checked again here, against what
//! shieldbot itself knows: who is protected, who is a helper, and whether the member manages the
//! server. Pure: the shell gathers the facts, this decides.

use std::fmt;

/// What the shell knows about the member using a command or clicking a button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Requester {
    /// A protected person of this server.
    pub is_protected: bool,
    /// A helper of this server (configured or granted by command, and not revoked).
    pub is_helper: bool,
    /// Holds Manage Server or Administrator in this server (or owns it).
    pub manages_server: bool,
}

/// Something a requester wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Use `/shield` at all: tune rules and settings, review, see stats.
    Moderate,
    /// Grant or revoke helpers: the protected person or a server manager only, so a helper
    /// cannot appoint more helpers or remove the others.
    ManageHelpers,
}

/// Why a use was refused, in words fit to show the requester.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal(Permission);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Permission::Moderate => f.write_str(
                "Refused: only the protected person, their helpers and members with Manage Server \
                 can use shieldbot's commands. Nothing was changed.",
            ),
            Permission::ManageHelpers => f.write_str(
                "Refused: only the protected person or a member with Manage Server can add or \
                 remove helpers. Nothing was changed.",
            ),
        }
    }
}

impl std::error::Error for Refusal {}

/// May `requester` do `permission`?
pub fn authorise(requester: Requester, permission: Permission) -> Result<(), Refusal> {
    let allowed = match permission {
        Permission::Moderate => {
            requester.is_protected || requester.is_helper || requester.manages_server
        }
        Permission::ManageHelpers => requester.is_protected || requester.manages_server,
    };
    if allowed {
        Ok(())
    } else {
        Err(Refusal(permission))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(is_protected: bool, is_helper: bool, manages_server: bool) -> Requester {
        Requester {
            is_protected,
            is_helper,
            manages_server,
        }
    }

    #[test]
    fn strangers_may_do_nothing() {
        let nobody = Requester::default();
        assert!(authorise(nobody, Permission::Moderate).is_err());
        assert!(authorise(nobody, Permission::ManageHelpers).is_err());
    }

    #[test]
    fn helpers_moderate_but_do_not_appoint() {
        let helper = who(false, true, false);
        assert!(authorise(helper, Permission::Moderate).is_ok());
        let refusal = authorise(helper, Permission::ManageHelpers).unwrap_err();
        assert!(refusal.to_string().contains("Nothing was changed"));
    }

    #[test]
    fn the_person_and_managers_may_do_everything() {
        for requester in [who(true, false, false), who(false, false, true)] {
            assert!(authorise(requester, Permission::Moderate).is_ok());
            assert!(authorise(requester, Permission::ManageHelpers).is_ok());
        }
    }
}
