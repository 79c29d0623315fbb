//! Round trips between the real marketplace clients and the sandboxes: the
//! client's signing, paths, envelopes and error handling must be accepted
//! by, and correctly read, an independently written simulator.
//!
//! `harness` is the one environment (sandbox, client, clock, push receiver);
//! `contract` is what every marketplace must do, run once per marketplace;
//! `shopee`, `tiktok` and `lazada` hold each marketplace's own quirks.
#![allow(clippy::unwrap_used)]

mod contract;
mod harness;
mod lazada;
mod shopee;
mod tiktok;
