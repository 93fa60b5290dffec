//! Roles (per region), as BRIEF.md lists them.

/// What an account may do in a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// 居民: own points, history and proofs; claims; check-in; appeals.
    Resident,
    /// 村委/社区审核员: reviews claims, records points, runs events, decides appeals.
    Reviewer,
    /// 线下积分点: records on behalf of a resident who is present.
    Station,
    /// Configures the region: indicators, levels, accounts, keys.
    Admin,
    /// 合作商家: fulfils redemptions, sees only what it fulfils.
    Merchant,
    /// 第三方评估: read-only; verifies the ledger; reads anonymised statistics.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Resident,
        Role::Reviewer,
        Role::Station,
        Role::Admin,
        Role::Merchant,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::Reviewer => "reviewer",
            Role::Station => "station",
            Role::Admin => "admin",
            Role::Merchant => "merchant",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Staff roles may record for residents and see residents' records in their region.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Reviewer | Role::Station | Role::Admin)
    }
}
