//! The store's behaviour suite again, on PostgreSQL: the same modules as
//! `tests/behaviour/main.rs`, each test in a fresh database of its own on the
//! server `JIFEN_TEST_DATABASE_URL` names ([`common::ON_POSTGRES`] picks the
//! backend by this binary's name). Without that variable the binary says once
//! that the PostgreSQL half was skipped, and passes.
//!
//! Left out: `fork.rs`, which restores an old copy of the SQLite file; the fork
//! guard it tests is the same code on both backends; and `pipeline.rs`, since
//! PostgreSQL checks no batch ahead while the one before commits.

#[path = "common/mod.rs"]
mod common;

#[path = "behaviour/appeals.rs"]
mod appeals;
#[path = "behaviour/appends.rs"]
mod appends;
#[path = "behaviour/atomicity.rs"]
mod atomicity;
#[path = "behaviour/audit.rs"]
mod audit;
#[path = "behaviour/balances.rs"]
mod balances;
#[path = "behaviour/claims.rs"]
mod claims;
#[path = "behaviour/evaluate.rs"]
mod evaluate;
#[path = "behaviour/folds.rs"]
mod folds;
#[path = "behaviour/indicators.rs"]
mod indicators;
#[path = "behaviour/market.rs"]
mod market;
#[path = "behaviour/props.rs"]
mod props;
#[path = "behaviour/receipts.rs"]
mod receipts;
#[path = "behaviour/recognition.rs"]
mod recognition;
#[path = "behaviour/regions.rs"]
mod regions;
#[path = "behaviour/shredding.rs"]
mod shredding;
#[path = "behaviour/transfers.rs"]
mod transfers;
#[path = "behaviour/witness.rs"]
mod witness;
#[path = "behaviour/year.rs"]
mod year;
