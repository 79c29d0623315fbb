//! Splitting stock and price updates into the largest calls a marketplace
//! accepts: grouped by listing, all warehouses of a variant together, at most
//! N variants per call.

use crate::ids::{ExtVariantId, ListingId};
use crate::model::{CallFailure, StockUpdate, UpdateOutcome, UpdateResult};
use crate::ChannelError;

/// One call's per-update results by index, or the error that failed it.
pub type CallAnswer = Result<Vec<(usize, UpdateResult)>, ChannelError>;

/// Per-update results of a stock request sent as several calls, in the
/// order of `updates`. `calls` holds, for each call, the indices of the
/// updates it carried and its answer: results by index, or the error that
/// failed the call.
///
/// When every call failed, nothing is known to have changed: the request
/// fails with the first error, so the caller can refresh a token or retry
/// it whole. Otherwise what went through is kept — a caller that dropped
/// it would believe the old numbers of listings that changed — and each
/// failed call's updates are [`UpdateOutcome::CallFailed`].
pub fn gather_results(
    updates: &[StockUpdate],
    calls: Vec<(Vec<usize>, CallAnswer)>,
) -> Result<Vec<UpdateResult>, ChannelError> {
    if calls.iter().all(|(_, answer)| answer.is_err()) {
        if let Some((_, Err(e))) = calls.into_iter().next() {
            return Err(e);
        }
        return Ok(Vec::new());
    }
    let mut results: Vec<Option<UpdateResult>> = vec![None; updates.len()];
    for (indices, answer) in calls {
        match answer {
            Ok(found) => {
                for (index, result) in found {
                    if let Some(slot) = results.get_mut(index) {
                        *slot = Some(result);
                    }
                }
            }
            Err(e) => {
                let failure = CallFailure {
                    message: e.to_string(),
                    may_have_applied: e.may_have_applied(),
                    retry_after: e.retry_after(),
                };
                for index in indices {
                    let (Some(slot), Some(u)) = (results.get_mut(index), updates.get(index)) else {
                        continue;
                    };
                    *slot = Some(UpdateResult {
                        listing_id: u.listing_id.clone(),
                        variant_id: u.variant_id.clone(),
                        warehouse_id: u.warehouse_id.clone(),
                        outcome: UpdateOutcome::CallFailed(failure.clone()),
                    });
                }
            }
        }
    }
    Ok(results.into_iter().flatten().collect())
}

/// The updates one API call carries: one listing, some of its variants, and
/// for each variant the indices (into the caller's slice) of its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub listing_id: ListingId,
    pub variants: Vec<VariantEntries>,
}

/// A variant and the indices of its updates (one per warehouse).
pub type VariantEntries = (ExtVariantId, Vec<usize>);

impl Batch {
    /// Indices of every update in this batch, variant by variant.
    pub fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.variants
            .iter()
            .flat_map(|(_, idx)| idx.iter().copied())
    }
}

/// Plans the calls for `items`: one group per listing in order of first
/// appearance, entries of the same variant kept together (a marketplace
/// wants all warehouses of a variant in one entry), and each group split
/// into chunks of at most `max_variants` variants (`None`: no limit).
pub fn plan_batches<T>(
    items: &[T],
    key: impl Fn(&T) -> (&ListingId, &ExtVariantId),
    max_variants: Option<usize>,
) -> Vec<Batch> {
    let mut groups: Vec<(ListingId, Vec<VariantEntries>)> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let (listing, variant) = key(item);
        let group = match groups.iter().position(|(l, _)| l == listing) {
            Some(pos) => &mut groups[pos].1,
            None => {
                groups.push((listing.clone(), Vec::new()));
                let last = groups.len() - 1;
                &mut groups[last].1
            }
        };
        match group.iter_mut().find(|(v, _)| v == variant) {
            Some((_, indices)) => indices.push(index),
            None => group.push((variant.clone(), vec![index])),
        }
    }

    let max = max_variants.unwrap_or(usize::MAX).max(1);
    let mut batches = Vec::new();
    for (listing_id, variants) in groups {
        let mut rest = variants;
        while !rest.is_empty() {
            let tail = rest.split_off(rest.len().min(max));
            batches.push(Batch {
                listing_id: listing_id.clone(),
                variants: rest,
            });
            rest = tail;
        }
    }
    batches
}

/// Removes repeated ids, keeping the first occurrence and the order.
pub fn dedup_keep_order<T: Clone + Eq + std::hash::Hash>(items: &[T]) -> Vec<T> {
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    items
        .iter()
        .filter(|item| seen.insert(*item))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(index: usize) -> (usize, UpdateResult) {
        (
            index,
            UpdateResult {
                listing_id: ListingId::new("L"),
                variant_id: ExtVariantId::new(index.to_string()),
                warehouse_id: None,
                outcome: UpdateOutcome::Applied,
            },
        )
    }

    fn updates(n: usize) -> Vec<StockUpdate> {
        (0..n)
            .map(|i| StockUpdate {
                listing_id: ListingId::new("L"),
                variant_id: ExtVariantId::new(i.to_string()),
                warehouse_id: None,
                quantity: 1,
            })
            .collect()
    }

    #[test]
    fn a_failed_call_keeps_what_the_others_applied() {
        let throttled = ChannelError::RateLimited {
            retry_after: Some(std::time::Duration::from_millis(300)),
        };
        let timed_out = ChannelError::Transient {
            reason: "timed out".into(),
        };
        let results = gather_results(
            &updates(5),
            vec![
                (vec![0, 1], Ok(vec![applied(0), applied(1)])),
                (vec![2], Err(throttled)),
                (vec![3, 4], Err(timed_out)),
            ],
        )
        .unwrap();
        let outcomes: Vec<_> = results.iter().map(|r| r.outcome.clone()).collect();
        assert_eq!(
            outcomes[..2],
            [UpdateOutcome::Applied, UpdateOutcome::Applied]
        );
        let UpdateOutcome::CallFailed(f) = &outcomes[2] else {
            panic!("{outcomes:?}")
        };
        assert!(!f.may_have_applied, "a throttled call changed nothing");
        assert_eq!(f.retry_after, Some(std::time::Duration::from_millis(300)));
        for o in &outcomes[3..] {
            let UpdateOutcome::CallFailed(f) = o else {
                panic!("{outcomes:?}")
            };
            assert!(f.may_have_applied, "a timed-out call may have applied");
        }
        assert_eq!(results[4].variant_id.as_str(), "4");
    }

    #[test]
    fn when_every_call_failed_the_request_fails() {
        let e = gather_results(
            &updates(2),
            vec![
                (
                    vec![0],
                    Err(ChannelError::TokenExpired {
                        code: "x".into(),
                        message: "y".into(),
                    }),
                ),
                (
                    vec![1],
                    Err(ChannelError::RateLimited { retry_after: None }),
                ),
            ],
        )
        .unwrap_err();
        assert!(e.needs_token_refresh(), "{e}");
    }

    fn item(listing: &str, variant: u32) -> (ListingId, ExtVariantId) {
        (
            ListingId::new(listing),
            ExtVariantId::new(variant.to_string()),
        )
    }

    #[test]
    fn groups_by_listing_and_caps_variants_per_call() {
        // 120 models of item A (two warehouses for model 7), 3 models of B,
        // interleaved with A's.
        let mut items = Vec::new();
        for v in 0..120 {
            items.push(item("A", v));
            if v == 7 {
                items.push(item("A", 7));
            }
            if v < 3 {
                items.push(item("B", v));
            }
        }
        let batches = plan_batches(&items, |(l, v)| (l, v), Some(50));
        let shape: Vec<(&str, usize)> = batches
            .iter()
            .map(|b| (b.listing_id.as_str(), b.variants.len()))
            .collect();
        assert_eq!(shape, vec![("A", 50), ("A", 50), ("A", 20), ("B", 3)]);
        // Both warehouse entries of model 7 travel in the same call.
        let seven = batches[0]
            .variants
            .iter()
            .find(|(v, _)| v.as_str() == "7")
            .unwrap();
        assert_eq!(seven.1.len(), 2);
        // Every input appears in exactly one batch.
        let mut all: Vec<usize> = batches.iter().flat_map(|b| b.indices()).collect();
        all.sort_unstable();
        assert_eq!(all, (0..items.len()).collect::<Vec<_>>());
    }

    #[test]
    fn without_a_cap_one_call_per_listing() {
        let items: Vec<_> = (0..300).map(|v| item("P", v)).collect();
        let batches = plan_batches(&items, |(l, v)| (l, v), None);
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].variants.len(), 300);
        assert!(
            plan_batches::<(ListingId, ExtVariantId)>(&[], |(l, v)| (l, v), Some(50)).is_empty()
        );
        let exactly = (0..50).map(|v| item("P", v)).collect::<Vec<_>>();
        assert_eq!(plan_batches(&exactly, |(l, v)| (l, v), Some(50)).len(), 1);
    }

    #[test]
    fn dedup_keeps_first_occurrence() {
        assert_eq!(dedup_keep_order(&[3, 1, 3, 2, 1]), vec![3, 1, 2]);
    }
}
