//! The application layer: one service call per thing a seller does (pause a
//! shop, sync it now, ship an order, …). Services own the business rules and
//! the jobs they queue; the API and the dashboard only parse a request, make
//! one call and render the result, so both always apply the same rules.

pub mod accounts;
pub mod orders;
pub mod shops;

use storesync_store::Store;
use tokio::sync::Notify;

/// What the services work with: the store, this process's job worker,
/// woken after a service queues work so it does not wait for its next poll,
/// and the address people reach this installation at (for mailed links).
#[derive(Debug, Clone, Copy)]
pub struct Services<'a> {
    store: &'a Store,
    job_waker: &'a Notify,
    public_url: &'a str,
}

impl<'a> Services<'a> {
    pub fn new(store: &'a Store, job_waker: &'a Notify, public_url: &'a str) -> Self {
        Services {
            store,
            job_waker,
            public_url,
        }
    }
}
