//! The plain HTTP/1.1 client of `jifen bench` and `jifen drill`: the server's own (the one
//! it submits checkpoints to witnesses with).

pub use jifen_server::client::{call, connect, exchange};
