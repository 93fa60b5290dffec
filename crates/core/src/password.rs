//! What a password an admin sets must be. These accounts run a region's points
//! (review, record, redeem, administer), and a password that falls to a short list
//! of guesses defeats the sign-in throttle (`signin.rs`) before it locks anything.
//! The rule: at least [`PASSWORD_CHARS_MIN`] characters, not digits alone (dates,
//! phone numbers), not holding the username, and not one of the passwords that
//! lists of leaked passwords put first.

/// Fewest characters a password may have.
pub const PASSWORD_CHARS_MIN: usize = 10;

/// Passwords tried first by anyone guessing (the top of the published lists of
/// leaked passwords, Chinese sites' included), compared without case. Longer ones
/// only: shorter ones fail the length rule anyway.
const COMMON: &[&str] = &[
    "1234567890",
    "0123456789",
    "1111111111",
    "1q2w3e4r5t",
    "qwertyuiop",
    "password123",
    "password1234",
    "passw0rd123",
    "iloveyou123",
    "woaini1314",
    "woaini520520",
    "asdfghjkl123",
    "abc1234567",
    "abcd123456",
    "a123456789",
    "qwe1234567",
    "admin12345",
    "administrator",
    "jifen12345",
    "changeme123",
];

/// Why a password is refused, said to the admin who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must be at least {PASSWORD_CHARS_MIN} characters")]
    TooShort,
    #[error("the password must not be digits only (dates and phone numbers are guessed first)")]
    DigitsOnly,
    #[error("the password must not contain the username")]
    HoldsUsername,
    #[error("the password is one of the first that anyone guessing tries")]
    Common,
}

/// Checks a new password for the account `username`.
pub fn check_password(password: &str, username: &str) -> Result<(), PasswordError> {
    if password.chars().count() < PASSWORD_CHARS_MIN {
        return Err(PasswordError::TooShort);
    }
    if password.chars().all(|c| c.is_ascii_digit()) {
        return Err(PasswordError::DigitsOnly);
    }
    let lower = password.to_lowercase();
    let user = username.trim().to_lowercase();
    if user.chars().count() >= 3 && lower.contains(&user) {
        return Err(PasswordError::HoldsUsername);
    }
    if COMMON.iter().any(|c| *c == lower) {
        return Err(PasswordError::Common);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_refuses_each_kind_of_weak_password_by_name() {
        assert_eq!(
            check_password("1234", "clerk"),
            Err(PasswordError::TooShort)
        );
        assert_eq!(
            check_password("短密码", "clerk"),
            Err(PasswordError::TooShort)
        );
        assert_eq!(
            check_password("13800138000", "clerk"),
            Err(PasswordError::DigitsOnly)
        );
        assert_eq!(
            check_password("Clerk-2026-spring", "clerk"),
            Err(PasswordError::HoldsUsername)
        );
        assert_eq!(
            check_password("Password123", "clerk"),
            Err(PasswordError::Common)
        );
        assert_eq!(
            check_password("WoAiNi1314", "li"),
            Err(PasswordError::Common)
        );
        assert_eq!(check_password("桂花树下的那口老井-7", "clerk"), Ok(()));
        assert_eq!(check_password("test-password", "reviewer"), Ok(()));
        // A short username is not searched for: it would refuse too much.
        assert_eq!(check_password("a long passphrase", "a"), Ok(()));
    }

    #[test]
    fn every_common_password_is_long_enough_to_need_its_place_on_the_list() {
        for c in COMMON {
            assert!(c.chars().count() >= PASSWORD_CHARS_MIN, "{c}");
            assert_eq!(c.to_lowercase(), *c, "{c} is compared in lower case");
        }
    }
}
