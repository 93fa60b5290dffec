//! Regions form a tree: city > district > town > village or community.

use std::collections::HashMap;

use crate::{RegionCode, clock::CHINA_OFFSET_MINUTES};

/// How deep a region tree may go; a guard against cycles in stored data.
pub const REGION_DEPTH_MAX: usize = 16;
/// Longest region name, in characters.
pub const REGION_NAME_CHARS_MAX: usize = 100;
/// Default window for appeals, in days after an entry is posted.
pub const APPEAL_WINDOW_DAYS_DEFAULT: u32 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegionKind {
    City,
    District,
    Town,
    Village,
    Community,
}

impl RegionKind {
    pub const ALL: [RegionKind; 5] = [
        RegionKind::City,
        RegionKind::District,
        RegionKind::Town,
        RegionKind::Village,
        RegionKind::Community,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            RegionKind::City => "city",
            RegionKind::District => "district",
            RegionKind::Town => "town",
            RegionKind::Village => "village",
            RegionKind::Community => "community",
        }
    }
    pub fn parse(s: &str) -> Result<Self, RegionError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| RegionError::BadKind(s.to_owned()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub code: RegionCode,
    pub name: String,
    pub kind: RegionKind,
    pub parent: Option<RegionCode>,
    /// The region's local time, in minutes east of UTC (China: 480).
    pub utc_offset_minutes: i32,
    pub appeal_window_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionError {
    #[error("region name must be 1 to {REGION_NAME_CHARS_MAX} characters without line breaks")]
    BadName,
    #[error(transparent)]
    Text(#[from] crate::text::TextError),
    #[error("region kind {0:?} is not one of city, district, town, village, community")]
    BadKind(String),
    #[error("region {0} is not known")]
    Unknown(RegionCode),
    #[error("region {0} sits in a parent chain that loops or is deeper than {REGION_DEPTH_MAX}")]
    Cycle(RegionCode),
    #[error("region {0} cannot be its own parent")]
    OwnParent(RegionCode),
}

impl Region {
    pub fn new(
        code: RegionCode,
        name: &str,
        kind: RegionKind,
        parent: Option<RegionCode>,
    ) -> Result<Self, RegionError> {
        let name = name.trim();
        crate::text::check("the region name", name, crate::text::Lines::One)?;
        if name.is_empty()
            || name.chars().count() > REGION_NAME_CHARS_MAX
            || name.contains(['\n', '\r'])
        {
            return Err(RegionError::BadName);
        }
        if parent.as_ref() == Some(&code) {
            return Err(RegionError::OwnParent(code));
        }
        Ok(Region {
            code,
            name: name.to_owned(),
            kind,
            parent,
            utc_offset_minutes: CHINA_OFFSET_MINUTES,
            appeal_window_days: APPEAL_WINDOW_DAYS_DEFAULT,
        })
    }
}

/// All regions, by code, with tree walks.
#[derive(Debug, Default, Clone)]
pub struct RegionTree {
    regions: HashMap<RegionCode, Region>,
}

impl RegionTree {
    pub fn new(regions: impl IntoIterator<Item = Region>) -> Self {
        RegionTree {
            regions: regions.into_iter().map(|r| (r.code.clone(), r)).collect(),
        }
    }

    pub fn get(&self, code: &RegionCode) -> Option<&Region> {
        self.regions.get(code)
    }

    /// The region and its ancestors, nearest first, ending at the root.
    pub fn lineage(&self, code: &RegionCode) -> Result<Vec<&Region>, RegionError> {
        let mut out = Vec::new();
        let mut at = Some(code.clone());
        while let Some(c) = at {
            if out.len() >= REGION_DEPTH_MAX {
                return Err(RegionError::Cycle(code.clone()));
            }
            let r = self.regions.get(&c).ok_or(RegionError::Unknown(c))?;
            out.push(r);
            at = r.parent.clone();
        }
        Ok(out)
    }

    /// Would giving `code` the parent `parent` keep the tree a tree?
    pub fn check_parent(&self, code: &RegionCode, parent: &RegionCode) -> Result<(), RegionError> {
        if code == parent {
            return Err(RegionError::OwnParent(code.clone()));
        }
        let chain = self.lineage(parent)?;
        if chain.iter().any(|r| &r.code == code) || chain.len() >= REGION_DEPTH_MAX {
            return Err(RegionError::Cycle(code.clone()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).expect("valid code")
    }

    #[test]
    fn lineage_walks_to_the_root_and_refuses_loops() {
        let city = Region::new(code("sz"), "深圳市", RegionKind::City, None).expect("ok");
        let dist = Region::new(
            code("sz-ft"),
            "福田区",
            RegionKind::District,
            Some(code("sz")),
        )
        .expect("ok");
        let comm = Region::new(
            code("sz-ft-1"),
            "一社区",
            RegionKind::Community,
            Some(code("sz-ft")),
        )
        .expect("ok");
        let tree = RegionTree::new([city, dist, comm]);
        let names: Vec<_> = tree
            .lineage(&code("sz-ft-1"))
            .expect("walks")
            .iter()
            .map(|r| r.code.as_str().to_owned())
            .collect();
        assert_eq!(names, ["sz-ft-1", "sz-ft", "sz"]);
        assert!(tree.check_parent(&code("sz"), &code("sz-ft-1")).is_err());
        assert!(tree.check_parent(&code("sz-ft-1"), &code("sz")).is_ok());
        assert!(Region::new(code("a"), "  ", RegionKind::Village, None).is_err());
    }
}
