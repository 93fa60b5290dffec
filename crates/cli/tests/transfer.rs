//! Points moved between two `jifen serve` processes under a recognition agreement
//! (`common/transferred.rs`).

mod common;

#[test]
fn a_transfer_goes_from_one_server_to_another_once() {
    common::transferred::transfer_round_trip();
}

#[test]
fn a_statement_counts_only_once_a_trusted_witness_cosigned_its_checkpoint() {
    common::transferred::witnessed_transfer();
}
