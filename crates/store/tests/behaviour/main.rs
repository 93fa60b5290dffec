//! The store's behaviour suite: one binary, one module per feature, each test on
//! a fresh store in its own temp folder with a clock it controls
//! ([`common::spawn_store`]). Data-driven cases go through [`common::check`].

#[path = "../common/mod.rs"]
mod common;

mod appeals;
mod appends;
mod atomicity;
mod audit;
mod balances;
mod claims;
mod evaluate;
mod folds;
mod fork;
mod indicators;
mod market;
mod pipeline;
mod props;
mod receipts;
mod recognition;
mod regions;
mod shredding;
mod transfers;
mod witness;
mod year;
