//! jifen's domain: regions, indicators ("10+X"), members and households, entries
//! and the double-entry rules, claims and appeals as state machines, caps and
//! levels, and the canonical public leaf.
//!
//! # Layout
//! - [`points`]: the checked `Points` newtype.
//! - [`ids`]: codes and ids that parse at the edge.
//! - [`clock`]: instants, local calendar periods, the injected clock.
//! - [`region`]: the region tree.
//! - [`indicator`]: indicators, caps, review policy, inheritance.
//! - [`member`]: members, households, name masking.
//! - [`entry`]: entry kinds, accounts, the double-entry rules.
//! - [`fairness`]: age and household bands, residence status, Gini, Lorenz, outliers.
//! - [`ledger`]: balances and annual scores derived from entries.
//! - [`level`]: levels on the annual score.
//! - [`claim`]: claim and appeal state machines, separation of duties.
//! - [`leaf`]: the canonical public leaf and member commitments.
//! - [`market`]: rewards, sponsors, redemption codes, a region's policy, expiry.
//! - [`text`]: what typed text may hold (no control or bidirectional characters).
//! - [`recognition`]: one region's half of a recognition agreement with another (积分互认).
//!
//! This crate knows nothing of SQL, HTTP, files or async, and does not serialise.

pub mod claim;
pub mod clock;
pub mod entry;
pub mod fairness;
pub mod ids;
pub mod indicator;
pub mod leaf;
pub mod ledger;
pub mod level;
pub mod market;
pub mod member;
pub mod password;
pub mod points;
pub mod recognition;
pub mod region;
pub mod role;
pub mod search;
pub mod signin;
pub mod text;

pub use claim::{AppealDecision, AppealOutcome, AppealStatus, ClaimEvent, ClaimStatus, Reviewer};
pub use clock::{Clock, FixedClock, ShiftedClock, SystemClock, Timestamp};
pub use entry::{Account, Entry, EntryError, EntryKind, IndicatorRef, NewEntry, Reason, Source};
pub use ids::{
    AppealId, ClaimId, HouseholdId, IdError, IndicatorCode, MemberId, OperatorId, RegionCode,
    SponsorCode,
};
pub use indicator::{CapPeriod, Caps, Claimants, Evidence, Indicator, ReviewPolicy};
pub use leaf::{Commitment, CommitmentKey, PublicLeaf, member_commitment};
pub use ledger::Ledger;
pub use level::{Level, Levels};
pub use member::{Household, Member};
pub use points::Points;
pub use region::{Region, RegionError, RegionKind, RegionTree};
pub use role::Role;
