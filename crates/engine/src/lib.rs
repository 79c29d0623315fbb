//! StoreSync's background work. Everything that must survive a restart is a
//! durable job in the store; this crate runs them ([`worker`]) and enqueues
//! periodic work exactly once per period across all instances
//! ([`scheduler`]). It knows nothing of HTTP.

pub mod accounts;
pub mod app;
pub mod connect;
pub mod drift;
pub mod fulfil;
pub mod import;
pub mod intake;
pub mod mail;
pub mod propagate;
pub mod runtime;
pub mod scheduler;
pub mod shop;
pub mod tokens;
pub mod worker;

pub use runtime::{Engine, EngineBuilder, EngineConfig};
pub use scheduler::{Schedule, Scheduler};
pub use worker::{Backoff, JobError, JobHandler, Lane, RunOnce, Worker, WorkerConfig};
