//! Round trips between the real marketplace clients and the sandboxes: the
//! client's signing, paths, envelopes and error handling must be accepted
//! by, and correctly read, an independently written simulator.

mod lazada;
mod shopee;
mod tiktok;
