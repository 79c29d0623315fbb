//! `cargo bench -p storesync-sandbox --bench throughput`: requests/s of each sandbox for a signed
//! stock update and an order search. `BENCH_SECS` (default 5), `BENCH_CONCURRENCY` (default 32) and
//! `BENCH_PAGE_SIZE` (order search, default 50) tune the run.

use std::time::Duration;

use storesync_sandbox::bench::{bench_throughput, BenchOptions};
use storesync_sandbox::Marketplace;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let secs = env_u64("BENCH_SECS", 5);
    let concurrency = env_u64("BENCH_CONCURRENCY", 32) as usize;
    let page_size = env_u64("BENCH_PAGE_SIZE", 50) as usize;
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    for m in [Marketplace::Shopee, Marketplace::TikTok] {
        let mut opts = BenchOptions::new(m);
        opts.duration = Duration::from_secs(secs);
        opts.concurrency = concurrency;
        opts.page_size = page_size;
        match rt.block_on(bench_throughput(&opts)) {
            Ok(results) => {
                for r in results {
                    println!(
                        "{:<7} {:<20} {:>9.0} req/s  ({} ok, {} failed, {:.1} s, {} connections, page size {})",
                        r.marketplace.as_str(),
                        r.operation,
                        r.requests_per_sec,
                        r.requests,
                        r.failures,
                        r.seconds,
                        concurrency,
                        page_size
                    );
                }
            }
            Err(e) => {
                eprintln!("{} benchmark failed: {e}", m.as_str());
                std::process::exit(1);
            }
        }
    }
}
