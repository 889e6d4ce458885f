//! Lookups in the system's user and group database (`/etc/passwd`,
//! `/etc/group`, or LDAP through NSS): who belongs to a Unix group.
//!
//! Read-only, and blocking (NSS may ask a directory server): it runs
//! on tokio's blocking pool (see `accounts::membership`), never on an owner
//! task.

use nix::unistd::{Group, User};

/// Whether the account `username` belongs to the Unix group `group`, as a
/// supplementary member or by its primary group. An unknown user or group,
/// or a lookup that fails, is "no".
pub fn in_group(username: &str, group: &str) -> bool {
    let Ok(Some(group)) = Group::from_name(group) else {
        return false;
    };
    if group.mem.iter().any(|member| member == username) {
        return true;
    }
    matches!(User::from_name(username), Ok(Some(user)) if user.gid == group.gid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_in_its_primary_group_and_nobody_is_not() {
        // Every Debian system has root (primary group root) and nobody.
        assert!(in_group("root", "root"));
        assert!(!in_group("nobody", "root"));
        assert!(!in_group("root", "no-such-group-jqueue"));
        assert!(!in_group("no-such-user-jqueue", "root"));
    }
}
