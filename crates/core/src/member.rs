//! Members (居民) and households (户).

use crate::{HouseholdId, MemberId, RegionCode};

/// Longest personal or household name, in characters.
pub const NAME_CHARS_MAX: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Household {
    pub region: RegionCode,
    pub id: HouseholdId,
    /// A label such as the house number; personal data, never published.
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub region: RegionCode,
    pub id: MemberId,
    pub household: HouseholdId,
    /// Personal data: never leaves the private store.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemberError {
    #[error(
        "{field} must be 1 to {NAME_CHARS_MAX} characters without line breaks or control characters"
    )]
    BadName { field: &'static str },
    #[error(transparent)]
    Text(#[from] crate::text::TextError),
}

/// Checks a personal or household name.
pub fn check_name(field: &'static str, s: &str) -> Result<String, MemberError> {
    let t = s.trim();
    crate::text::check(field, t, crate::text::Lines::One)?;
    if t.is_empty() || t.chars().count() > NAME_CHARS_MAX {
        return Err(MemberError::BadName { field });
    }
    Ok(t.to_owned())
}

/// Masks a name for the public notice board: 张三 → 张*, 张小三 → 张*三.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_owned(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking() {
        assert_eq!(mask_name("张小三"), "张*三");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳小明"), "欧**明");
        assert!(check_name("name", " ").is_err());
        assert!(check_name("name", "a\u{7}").is_err());
        assert_eq!(check_name("name", " 李四 "), Ok("李四".to_owned()));
    }
}
