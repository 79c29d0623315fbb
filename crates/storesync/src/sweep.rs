//! `storesync bench oversell --sweep`: sell-out storms of many shapes in one run — few SKUs
//! with deep stock selling fast, many SKUs with a unit or two each, slow and fast marketplaces,
//! one storm under faults — so the never-oversell promise is measured beyond the default
//! storm. One row per storm, and with `--json` one object per line plus a summary line.

use serde::Serialize;

use crate::config::Config;
use crate::oversell::{storm, StormOptions, StormResult};
use crate::server::SyncMode;

/// The shape of one storm.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Cell {
    pub skus: usize,
    pub stock: i64,
    /// Orders per second over all shops.
    pub rate: f64,
    pub latency_ms: u64,
    pub faults: bool,
}

const fn cell(skus: usize, stock: i64, rate: f64, latency_ms: u64) -> Cell {
    Cell {
        skus,
        stock,
        rate,
        latency_ms,
        faults: false,
    }
}

/// The full grid: SKUs 1–200, stock 1–60, 10–200 orders/s, 20–300 ms latency, and faults.
pub const FULL: &[Cell] = &[
    cell(1, 60, 10.0, 20),
    cell(1, 60, 100.0, 40),
    cell(5, 40, 80.0, 40),
    cell(10, 25, 150.0, 40),
    cell(20, 5, 50.0, 40),
    cell(20, 20, 50.0, 40),
    cell(20, 5, 50.0, 150),
    cell(20, 20, 100.0, 150),
    cell(50, 20, 100.0, 40),
    cell(50, 3, 100.0, 300),
    cell(100, 2, 200.0, 250),
    cell(200, 1, 200.0, 20),
    cell(200, 2, 150.0, 100),
    Cell {
        faults: true,
        ..cell(20, 5, 50.0, 40)
    },
    // Deep stock under faults: every SKU starts shown in full everywhere,
    // and the split must land through throttles, errors, hung calls and
    // lost pushes.
    Cell {
        faults: true,
        ..cell(1, 60, 50.0, 40)
    },
    Cell {
        faults: true,
        ..cell(20, 20, 100.0, 40)
    },
];

/// A handful of the hardest shapes, quick enough to run often.
pub const SMALL: &[Cell] = &[
    cell(20, 5, 50.0, 150),
    cell(1, 60, 100.0, 40),
    cell(5, 40, 80.0, 40),
    cell(50, 3, 100.0, 40),
];

#[derive(Debug, Serialize)]
struct Row<'a> {
    #[serde(flatten)]
    cell: Cell,
    backend: &'a str,
    oversold: i64,
    sell_through: f64,
    p50_ms: f64,
    p99_ms: f64,
    stock_calls: u64,
    stock_calls_min: u64,
    orders_placed: usize,
    orders_ingested: usize,
}

/// What the whole sweep found.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Summary {
    pub cells: usize,
    /// Storms that did not finish (background work still running at the deadline).
    pub cells_failed: usize,
    pub cells_oversold: usize,
    pub max_oversold: i64,
    pub min_sell_through: f64,
    pub worst_p99_ms: f64,
}

impl Summary {
    fn new(cells: usize) -> Summary {
        Summary {
            cells,
            cells_failed: 0,
            cells_oversold: 0,
            max_oversold: 0,
            min_sell_through: 1.0,
            worst_p99_ms: 0.0,
        }
    }

    fn add(&mut self, r: &StormResult) {
        self.cells_oversold += usize::from(r.oversold_units > 0);
        self.max_oversold = self.max_oversold.max(r.oversold_units);
        self.min_sell_through = self.min_sell_through.min(r.sell_through);
        self.worst_p99_ms = self.worst_p99_ms.max(r.propagation_ms.p99);
    }
}

/// Runs every storm of `cells` with StoreSync syncing in real time.
impl Summary {
    /// The goals every storm must meet: nothing oversold, at least 99 % of
    /// the stock sold, every storm finished.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.cells_failed > 0 || self.cells_oversold > 0 || self.min_sell_through < 0.99 {
            anyhow::bail!(
                "storms missed their goals: {} of {} did not finish, {} oversold (max {} units), lowest sell-through {:.3}",
                self.cells_failed,
                self.cells,
                self.cells_oversold,
                self.max_oversold,
                self.min_sell_through
            );
        }
        Ok(())
    }
}

pub async fn run(
    config: &Config,
    cells: &[Cell],
    postgres_url: Option<String>,
    max_seconds: u64,
    json: bool,
) -> anyhow::Result<Summary> {
    let backend = if postgres_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    println!(
        "storesync bench oversell --sweep: {} storms on Shopee, TikTok Shop and Lazada ({backend})",
        cells.len()
    );
    println!(
        "{:>5} {:>5} {:>6} {:>7} {:>6} | {:>8} {:>8} {:>8} {:>8} {:>12} {:>15}",
        "skus",
        "stock",
        "rate/s",
        "latency",
        "faults",
        "oversold",
        "sell-thr",
        "p50 ms",
        "p99 ms",
        "stock calls",
        "orders in/out"
    );
    let mut summary = Summary::new(cells.len());
    for c in cells {
        let opts = StormOptions {
            skus: c.skus,
            stock: c.stock,
            rate: c.rate,
            latency_ms: c.latency_ms,
            max_seconds,
            faults: c.faults,
            postgres_url: postgres_url.clone(),
        };
        let r = match storm(config, &opts, SyncMode::Realtime).await {
            Ok(r) => r,
            Err(e) => {
                // One shape that does not finish is a finding, not the end of the sweep.
                summary.cells_failed += 1;
                if json {
                    println!(
                        "{}",
                        serde_json::json!({ "cell": c, "error": format!("{e:#}") })
                    );
                } else {
                    println!(
                        "{:>5} {:>5} {:>6} {:>5}ms {:>6} | error: {e:#}",
                        c.skus,
                        c.stock,
                        c.rate,
                        c.latency_ms,
                        if c.faults { "yes" } else { "no" }
                    );
                }
                continue;
            }
        };
        summary.add(&r);
        let row = Row {
            cell: *c,
            backend,
            oversold: r.oversold_units,
            sell_through: r.sell_through,
            p50_ms: r.propagation_ms.p50,
            p99_ms: r.propagation_ms.p99,
            stock_calls: r.api_calls,
            stock_calls_min: r.api_calls_min,
            orders_placed: r.orders_placed,
            orders_ingested: r.orders_ingested,
        };
        if json {
            println!("{}", serde_json::to_string(&row)?);
        } else {
            println!(
                "{:>5} {:>5} {:>6} {:>5}ms {:>6} | {:>8} {:>8.3} {:>8} {:>8} {:>5} (≥{:>4}) {:>7}/{:<7}",
                c.skus,
                c.stock,
                c.rate,
                c.latency_ms,
                if c.faults { "yes" } else { "no" },
                row.oversold,
                row.sell_through,
                row.p50_ms,
                row.p99_ms,
                row.stock_calls,
                row.stock_calls_min,
                row.orders_placed,
                row.orders_ingested
            );
        }
    }
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "{} storms, {} did not finish, {} oversold (max {} units), lowest sell-through {:.3}, worst p99 propagation {} ms",
            summary.cells,
            summary.cells_failed,
            summary.cells_oversold,
            summary.max_oversold,
            summary.min_sell_through,
            summary.worst_p99_ms
        );
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_grid_spans_the_promised_ranges() {
        let skus = FULL.iter().map(|c| c.skus);
        assert_eq!((skus.clone().min(), skus.max()), (Some(1), Some(200)));
        let stock = FULL.iter().map(|c| c.stock);
        assert_eq!((stock.clone().min(), stock.max()), (Some(1), Some(60)));
        let rate = FULL.iter().map(|c| c.rate as u64);
        assert_eq!((rate.clone().min(), rate.max()), (Some(10), Some(200)));
        let latency = FULL.iter().map(|c| c.latency_ms);
        assert_eq!(
            (latency.clone().min(), latency.max()),
            (Some(20), Some(300))
        );
        assert!(FULL.iter().any(|c| c.faults));
        assert!(SMALL.iter().any(|c| c.latency_ms >= 150));
    }

    #[test]
    fn the_check_fails_on_any_oversold_unhidden_or_unfinished_storm() {
        let clean = Summary {
            min_sell_through: 1.0,
            ..Summary::new(4)
        };
        assert!(clean.check().is_ok());
        let oversold = Summary {
            cells_oversold: 1,
            max_oversold: 2,
            ..clean
        };
        assert!(oversold.check().is_err());
        let hidden = Summary {
            min_sell_through: 0.98,
            ..clean
        };
        assert!(hidden.check().is_err());
        let unfinished = Summary {
            cells_failed: 1,
            ..clean
        };
        assert!(unfinished.check().is_err());
    }
}
