//! Integration tests of the sandboxes over real TCP: each test starts a sandbox on port 0 with a
//! manual clock and talks to it with reqwest, signing with signers written here from the docs.

// The helpers below are test code outside `#[test]` functions: a panic there is a test failure
// with a clear message, exactly as in the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod carrier;
mod common;
mod lazada;
mod shopee;
mod tiktok;
