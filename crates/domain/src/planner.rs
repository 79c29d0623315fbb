//! What number each listing of a SKU is sent, decided without any I/O:
//! the one place the never-oversell rule lives.
//!
//! The store gathers the facts (the available units, what every listing of
//! the SKU is believed to show, each shop's allocation settings, recent
//! sale rates and measured latencies) and [`plan_variant`] turns them into
//! each listing's target and the reason for it. Just before sending, the
//! engine reads back listings in doubt and [`decide_send`] turns a target
//! into the number actually sent: corrected for sales seen there but not
//! yet booked, holding back what can sell while the push is on its way.
//! The store keeps storage (dirty marks, history, leases, raise claims)
//! and the engine orchestration (calls, retries); neither decides a number.

use crate::protection::{
    explain_threshold, hold_back, is_split, split_threshold, Pace, DELIVERY_ALLOWANCE_MS,
};

/// One listing's place in the split of a SKU's last units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// What the channel is believed to show now: the last number we sent
    /// (or claimed before sending a raise), moved by the sales and
    /// cancellations the marketplace applied itself.
    pub shown: i64,
    /// The most it may be showing: above `shown` when a sale there may
    /// have been overwritten by our last push (see `PushItem::uncertain`).
    /// Counts against the units until a push settles it.
    pub high: i64,
    /// Least it may show: the marketplace's promotion hold.
    pub floor: i64,
    /// Most it may show: its shop's allocation of the available units.
    pub ceiling: i64,
    /// Its shop is not pushed (paused, needs re-authorization, error, dry
    /// run): whatever it shows stays and counts.
    pub frozen: bool,
}

/// Split `available` units over listings without overlap, moving as little
/// as possible. Each listing keeps what it shows; a surplus over
/// `available` is taken from the listings showing most, and spare units go
/// to the listings showing least (ties by place, so every instance computes
/// the same split).
///
/// Why "sticky": a sale on a marketplace lowers both the listing there and
/// `available` by the same units, so the other listings need no update at
/// all. A raise (the only move that can oversell) happens only while the
/// listings together show no more than `available`; units a marketplace
/// sold that we have not heard of yet lower the truth on both sides
/// equally, so the raise stays covered.
pub fn sticky_split(available: i64, slots: &[Slot]) -> Vec<i64> {
    let available = available.max(0);
    let mut t: Vec<i64> = slots
        .iter()
        .map(|s| {
            if s.frozen {
                s.shown.max(0)
            } else {
                let hi = s.ceiling.min(available).max(s.floor);
                s.shown.clamp(s.floor.max(0), hi.max(0))
            }
        })
        .collect();
    let mut total = saturating_sum(t.iter().copied());
    while total > available {
        // The listing showing most above its floor, the later on ties.
        let pick = (0..t.len())
            .filter(|&i| !slots[i].frozen && t[i] > slots[i].floor.max(0))
            .max_by_key(|&i| (t[i], i));
        let Some(i) = pick else { break };
        t[i] -= 1;
        total -= 1;
    }
    // Spare units: what is left once every listing is counted at the more
    // of what it shows and what it will show (a lowering is not in effect
    // until the marketplace confirms it).
    let exposed = saturating_sum(
        t.iter()
            .zip(slots)
            .map(|(v, s)| (*v).max(s.shown.max(s.high).max(0))),
    );
    let mut spare = available.saturating_sub(exposed);
    while spare > 0 {
        // The listing showing least below its ceiling, the earlier on ties.
        let pick = (0..t.len())
            .filter(|&i| !slots[i].frozen && t[i] < slots[i].ceiling.min(available))
            .min_by_key(|&i| (t[i], i));
        let Some(i) = pick else { break };
        t[i] += 1;
        spare -= 1;
    }
    t
}

/// Sum of quantities that saturates instead of wrapping or panicking.
/// Quantities we store are bounded at entry (`storesync_domain::limits`),
/// but listing counts come from marketplaces and may be anything.
fn saturating_sum(values: impl Iterator<Item = i64>) -> i64 {
    values.fold(0, i64::saturating_add)
}

/// What a shop's allocation settings leave of `available` units, and why.
pub fn allocate(available: i64, percent: i64, buffer: i64, cap: Option<i64>) -> (i64, String) {
    let mut target = available.max(0);
    let mut why = format!("available {available} (on hand − reserved, all locations)");
    if percent < 100 {
        // In i128: a level written before the bounds could make the
        // product overflow an i64.
        let share = i128::from(target) * i128::from(percent.clamp(0, 100)) / 100;
        target = i64::try_from(share).unwrap_or(i64::MAX);
        why.push_str(&format!("; {percent} % allocated to this shop: {target}"));
    }
    if buffer > 0 {
        target = target.saturating_sub(buffer).max(0);
        why.push_str(&format!("; less a buffer of {buffer}: {target}"));
    }
    if let Some(c) = cap {
        if target > c {
            target = c;
            why.push_str(&format!("; capped at {c}"));
        }
    }
    (target, why)
}

/// What the planner knows of one listing of a SKU.
#[derive(Debug, Clone, PartialEq)]
pub struct ListingFacts {
    /// Its place in the split: what it shows, may show, its floor and its
    /// shop's allocation of the available units (`ceiling`).
    pub slot: Slot,
    /// The marketplace's promotion hold, below which it refuses updates.
    pub promotion_hold: Option<i64>,
    /// How its shop's allocation settings arrived at `slot.ceiling` (see
    /// [`allocate`]).
    pub allocation_why: String,
    /// Units a second this listing sold lately.
    pub units_per_sec: f64,
    /// Units a second its shop sold lately, every SKU together.
    pub shop_units_per_sec: f64,
    /// How late its shop's sales reach our books, lately.
    pub intake_lag_ms: i64,
    /// How long its shop's pushes take from plan to answer, lately.
    pub push_latency_ms: i64,
}

/// The planner's answer for one SKU.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantPlan {
    /// How fast it can sell and how long a change takes to reach every
    /// channel.
    pub pace: Pace,
    /// At or below this many available units it is split.
    pub threshold: i64,
    /// Its listings share the available units without overlap.
    pub split: bool,
    /// What all its listings together are believed to show at most.
    pub shown_total: i64,
    /// Per listing, in the order given: its target and why.
    pub targets: Vec<(i64, String)>,
}

/// Each listing's target for a SKU with `available` units. The split is of
/// the units themselves, so shares never overlap whatever each shop's own
/// allocation. It starts where the units that can sell before a change
/// reaches every channel would exceed what is left.
pub fn plan_variant(available: i64, listings: &[ListingFacts]) -> VariantPlan {
    let pace = Pace {
        // A listing can sell as fast as its whole shop: buyers of the SKUs
        // that sold out crowd the ones still showing stock, so a SKU's own
        // pace can jump within one push cycle.
        units_per_sec: listings
            .iter()
            .map(|l| l.units_per_sec.max(l.shop_units_per_sec))
            .sum(),
        horizon_ms: listings.iter().map(|l| l.intake_lag_ms).max().unwrap_or(0)
            + listings
                .iter()
                .map(|l| l.push_latency_ms)
                .max()
                .unwrap_or(0)
            + DELIVERY_ALLOWANCE_MS,
    };
    let threshold = split_threshold(pace);
    let shown_total = saturating_sum(listings.iter().map(|l| l.slot.high.max(0)));
    let split =
        listings.len() > 1 && is_split(available.max(0), threshold, shown_total <= available);
    let shares = if split {
        let slots: Vec<Slot> = listings.iter().map(|l| l.slot).collect();
        sticky_split(available, &slots)
    } else {
        Vec::new()
    };
    let targets = listings
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut target = l.slot.ceiling;
            let mut why = l.allocation_why.clone();
            if let Some(&share) = shares.get(i) {
                target = share;
                let kept = if available > threshold {
                    format!(", kept split until above {}", threshold.saturating_mul(2))
                } else {
                    String::new()
                };
                why.push_str(&format!(
                    "; {}{kept}: over {} listings this one shows {target} (it showed {})",
                    explain_threshold(pace),
                    shares.len(),
                    l.slot.high
                ));
            }
            if let Some(f) = l.promotion_hold {
                if target < f {
                    why.push_str(&format!("; raised to the marketplace's promotion hold {f}"));
                    target = f;
                }
            }
            (target, why)
        })
        .collect();
    VariantPlan {
        pace,
        threshold,
        split,
        shown_total,
        targets,
    }
}

/// What reading back a listing in doubt showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// It shows what its sales left: nothing to send.
    Confirmed,
    /// Our push overwrote a sale: it shows more than it should; send its
    /// number.
    Overwritten,
    /// It shows `unseen` units less than we know of: sales there are not
    /// ingested yet. Our number would re-inflate it; once those sales are
    /// in, its share will be that much lower, so only a lower number may
    /// be sent (the store books the push ahead of them).
    SaleInFlight { unseen: i64 },
    /// Unknown listing, or no longer in doubt.
    NotInDoubt,
}

/// What a read-back showing `seen` on a listing says, given our count of
/// its stock (`own`: the last push less the sales there booked since) and
/// the last number pushed. With no doubt (`pushed` equals `own`), fewer
/// units than we know of mean sales there are not booked yet. In doubt (a
/// booked sale may have been overwritten by our push): showing exactly our
/// count settles it; less than both means sales in flight; anything else
/// means our push overwrote a sale and the listing shows too many.
pub fn settle(own: i64, pushed: Option<i64>, seen: i64) -> Settled {
    let Some(pushed) = pushed.filter(|p| *p != own) else {
        return if seen < own {
            Settled::SaleInFlight {
                unseen: own.saturating_sub(seen),
            }
        } else {
            Settled::NotInDoubt
        };
    };
    if seen == own {
        Settled::Confirmed
    } else if seen < own.min(pushed) {
        Settled::SaleInFlight {
            unseen: own.min(pushed).saturating_sub(seen),
        }
    } else {
        Settled::Overwritten
    }
}

/// A planned listing as it is about to be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// What the plan wants the channel to show.
    pub target: i64,
    /// What the channel is believed to show now (at most).
    pub shown: i64,
    /// Our count of the listing's own stock: the last push less the sales
    /// there booked since.
    pub channel_stock: i64,
    pub last_pushed: Option<i64>,
    /// A sale may have been overwritten by our last push.
    pub uncertain: bool,
    /// The marketplace's promotion hold.
    pub floor: Option<i64>,
    /// The target is this listing's share of a split SKU.
    pub split: bool,
    pub units_per_sec: f64,
    pub push_latency_ms: i64,
}

/// What to do with a planned listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendDecision {
    /// Nothing: the channel shows (or will show) what it should.
    Skip,
    /// Send `quantity`. `unseen` units were seen sold there but are not in
    /// our books yet (already taken off); `held` units are held back while
    /// the push is on its way and given back by a later push; `raise` when
    /// it hands out units of a split SKU that no other listing shows, which
    /// must be claimed before sending (as `quantity + unseen`, in the terms
    /// of our books). `note` says what changed the target.
    Quantity {
        quantity: i64,
        unseen: i64,
        held: i64,
        raise: bool,
        note: String,
    },
}

/// Whether a listing is read back before its push: when a sale there may
/// have been overwritten by our last push, and before changing a share of
/// a split SKU — the channel may already show less than we believe (sales
/// there not booked yet), and sending our number would put those units
/// back: a lowering would be too high, a raise would hand out units that
/// are gone.
pub fn needs_read_back(p: &Planned) -> bool {
    p.uncertain || (p.split && p.target != p.shown)
}

/// What to send to a planned listing. `most` is the most the marketplace
/// holds; `seen` is what a read-back just before showed, when it showed
/// less than our books (sales there not ingested yet).
pub fn decide_send(p: &Planned, most: i64, seen: Option<i64>) -> SendDecision {
    let mut note = String::new();
    let mut target = p.target;
    // Never plan a number the marketplace cannot hold: what is recorded is
    // then what was sent, and a listing at the bound is not pushed again
    // and again.
    if target > most {
        note.push_str(&format!("; the marketplace holds at most {most}: {most}"));
        target = most;
    }
    // Showing it already: sending it again would only race the next buyer
    // there (a sale landing just before it would be overwritten) — also for
    // a listing never pushed, whose own count is known.
    if target == p.shown && !p.uncertain {
        return SendDecision::Skip;
    }
    let mut unseen = 0;
    // A raise of a split share hands out units no other listing shows.
    let raising = p.split && target > p.shown;
    if let Some(seen) = seen {
        // Sales there are not ingested yet; once they are, this listing's
        // share is that much lower. Sending its share as planned would
        // re-inflate it by those units: send that much less. A lowering
        // is due now — a listing that keeps selling would otherwise never
        // be brought down — unless the listing already shows no more; a
        // raise only if it still raises. Counted against this plan: those
        // ingested since the read are in its numbers already.
        let believed = p
            .channel_stock
            .min(p.last_pushed.unwrap_or(p.channel_stock));
        unseen = believed.saturating_sub(seen);
        if unseen <= 0 {
            // All in meanwhile: their ingestion queued the next push, which
            // reads the listing back again.
            return SendDecision::Skip;
        }
        let after = target
            .saturating_sub(unseen)
            .max(p.floor.unwrap_or(0))
            .max(0);
        if (!raising && after >= seen) || (raising && after <= seen) {
            return SendDecision::Skip;
        }
        note.push_str(&format!(
            "; it showed {seen}, {unseen} sold there not yet in our books: {after}"
        ));
        target = after;
    }
    // A push is absolute: what sells on this listing while it is on its way
    // is overwritten, and shown again. Among the last units that would be
    // sold twice, so hold back as many as can sell there meanwhile; a later
    // push gives them back.
    let mut held = 0;
    if p.split && target != p.shown {
        let (sent, h) = hold_back(
            target,
            p.shown,
            p.floor.unwrap_or(0),
            p.units_per_sec,
            p.push_latency_ms,
        );
        if h > 0 {
            note.push_str(&format!(
                "; selling {:.1}/s with {} ms to land: {h} held back while it is on its way: {sent}",
                p.units_per_sec, p.push_latency_ms
            ));
            target = sent;
            held = h;
        }
        if target == p.shown && !p.uncertain {
            return SendDecision::Skip;
        }
    }
    SendDecision::Quantity {
        quantity: target,
        unseen,
        held,
        raise: raising && target.saturating_add(unseen) > p.shown,
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn slot(shown: i64) -> Slot {
        Slot {
            shown,
            high: shown,
            floor: 0,
            ceiling: i64::MAX,
            frozen: false,
        }
    }

    #[test]
    fn a_sale_on_one_channel_moves_nothing_on_the_others() {
        // 3 units shown 2 + 1; channel B sells its unit: 2 left, A keeps 2.
        assert_eq!(sticky_split(2, &[slot(2), slot(0)]), vec![2, 0]);
        // Entering the split: both show the full 11, one sells: 10 left.
        assert_eq!(sticky_split(10, &[slot(10), slot(11)]), vec![5, 5]);
        // A cancellation frees a unit: it goes to the channel showing least.
        assert_eq!(sticky_split(3, &[slot(2), slot(0)]), vec![2, 1]);
        // A manual correction takes units from the channel showing most.
        assert_eq!(sticky_split(1, &[slot(1), slot(2)]), vec![1, 0]);
        assert_eq!(sticky_split(0, &[slot(1), slot(2)]), vec![0, 0]);
    }

    #[test]
    fn a_doubtful_listing_is_set_to_its_share_and_its_units_stay_counted() {
        // A sold one of 2 but our push may have landed after the sale: it
        // shows 1 or 2. It is sent 1 (its share), and no spare unit goes
        // to B until that is settled.
        let doubtful = Slot { high: 2, ..slot(1) };
        assert_eq!(sticky_split(3, &[doubtful, slot(2)]), vec![1, 2]);
        assert_eq!(sticky_split(4, &[doubtful, slot(2)]), vec![1, 2]);
        assert_eq!(sticky_split(4, &[slot(1), slot(2)]), vec![2, 2]);
    }

    #[test]
    fn frozen_listings_and_promotion_holds_keep_their_units() {
        let frozen = Slot {
            frozen: true,
            ..slot(2)
        };
        assert_eq!(sticky_split(3, &[frozen, slot(3)]), vec![2, 1]);
        let held = Slot {
            floor: 2,
            ..slot(2)
        };
        assert_eq!(sticky_split(2, &[held, slot(2)]), vec![2, 0]);
        let capped = Slot {
            ceiling: 1,
            ..slot(0)
        };
        assert_eq!(sticky_split(4, &[capped, slot(0)]), vec![1, 3]);
    }

    proptest! {
        #[test]
        fn never_overlaps_and_only_raises_when_covered(
            available in -2i64..15,
            shown in proptest::collection::vec(-1i64..15, 1..5),
            floors in proptest::collection::vec(0i64..3, 5),
            ceilings in proptest::collection::vec(0i64..20, 5),
            frozen in proptest::collection::vec(proptest::bool::weighted(0.2), 5),
            highs in proptest::collection::vec(proptest::bool::weighted(0.2), 5),
        ) {
            let slots: Vec<Slot> = shown.iter().enumerate().map(|(i, s)| Slot {
                shown: *s,
                high: *s + i64::from(highs[i]),
                floor: floors[i],
                ceiling: ceilings[i],
                frozen: frozen[i],
            }).collect();
            let t = sticky_split(available, &slots);
            let total: i64 = t.iter().sum();
            let fixed: i64 = slots.iter().map(|s| if s.frozen { s.shown.max(0) } else { s.floor }).sum();
            // Never more than the units, unless holds and frozen shops alone exceed them.
            prop_assert!(total <= available.max(0).max(fixed));
            let believed: i64 = slots.iter().map(|s| s.shown.max(0)).sum();
            for (s, v) in slots.iter().zip(&t) {
                prop_assert!(*v >= 0);
                if s.frozen {
                    prop_assert_eq!(*v, s.shown.max(0));
                } else {
                    prop_assert!(*v >= s.floor);
                }
            }
            // A raise only while everything shown, before and after, is
            // covered by the units.
            let raised = slots.iter().zip(&t).any(|(s, v)| *v > s.shown.max(s.floor));
            if raised {
                let exposed: i64 = slots.iter().zip(&t).map(|(s, v)| (*v).max(s.high.max(0))).sum();
                prop_assert!(exposed <= available, "exposed {} over {} units", exposed, available);
                prop_assert!(believed <= available);
                // A doubtful listing is never raised: its units are counted
                // at the most it may show.
            }
            // With no lowering waiting, every unit is on sale somewhere, as
            // far as ceilings allow.
            let settled = slots.iter().all(|s| s.high == s.shown && (s.frozen || s.shown <= s.ceiling.min(available.max(0)).max(s.floor)));
            if settled && fixed <= available.max(0) {
                let room: i64 = slots.iter().map(|s| if s.frozen { s.shown.max(0) } else { s.ceiling.min(available.max(0)).max(s.floor) }).sum();
                prop_assert_eq!(total, available.max(0).min(room));
            }
        }
    }

    #[test]
    fn a_listing_showing_its_target_is_not_sent_it_again() {
        // Imported showing 1, never pushed, its share is 1: a push of 1
        // would overwrite a sale made there just before it.
        let never_pushed = Planned {
            target: 1,
            shown: 1,
            channel_stock: 1,
            last_pushed: None,
            uncertain: false,
            floor: None,
            split: true,
            units_per_sec: 0.0,
            push_latency_ms: 0,
        };
        assert_eq!(
            decide_send(&never_pushed, i64::MAX, None),
            SendDecision::Skip
        );
        // In doubt, it is sent (after a read-back), and a new target is sent.
        let in_doubt = Planned {
            last_pushed: Some(1),
            channel_stock: 0,
            uncertain: true,
            ..never_pushed.clone()
        };
        assert!(matches!(
            decide_send(&in_doubt, i64::MAX, None),
            SendDecision::Quantity { quantity: 1, .. }
        ));
        let lower = Planned {
            target: 0,
            ..never_pushed
        };
        assert!(matches!(
            decide_send(&lower, i64::MAX, None),
            SendDecision::Quantity { quantity: 0, .. }
        ));
    }

    /// A model of one SKU on several channels: buyers take units a channel
    /// shows (the marketplace lowers its own count), their orders reach our
    /// books later, and pushes plan, read back and set absolute numbers the
    /// way the engine does — through this module's functions only.
    mod model {
        use super::*;

        #[derive(Debug, Clone, Copy)]
        pub enum Op {
            /// A buyer on this channel takes a unit, if it shows any.
            Sale(usize),
            /// The oldest sale not yet in our books is booked.
            Book,
            /// This channel's shop is pushed.
            Push(usize),
            /// A unit is received into stock.
            Receive,
        }

        #[derive(Debug)]
        struct Channel {
            /// What the marketplace shows.
            actual: i64,
            /// Our books: the last push less the sales there booked since.
            channel_stock: i64,
            last_pushed: Option<i64>,
            /// When the last push landed (a step number).
            pushed_at: u64,
        }

        pub struct World {
            stock: i64,
            booked: i64,
            sold: i64,
            unbooked: std::collections::VecDeque<(usize, u64)>,
            channels: Vec<Channel>,
            now: u64,
        }

        impl World {
            /// `stock` units shown on `n` channels without overlap.
            pub fn new(stock: i64, n: usize) -> Self {
                let shares = sticky_split(
                    stock,
                    &vec![
                        Slot {
                            shown: 0,
                            high: 0,
                            floor: 0,
                            ceiling: i64::MAX,
                            frozen: false
                        };
                        n
                    ],
                );
                World {
                    stock,
                    booked: 0,
                    sold: 0,
                    unbooked: Default::default(),
                    channels: shares
                        .into_iter()
                        .map(|s| Channel {
                            actual: s,
                            channel_stock: s,
                            last_pushed: Some(s),
                            pushed_at: 0,
                        })
                        .collect(),
                    now: 0,
                }
            }

            pub fn sold(&self) -> i64 {
                self.sold
            }

            pub fn stock(&self) -> i64 {
                self.stock
            }

            pub fn shown(&self) -> i64 {
                self.channels.iter().map(|c| c.actual).sum()
            }

            pub fn left(&self) -> i64 {
                self.stock - self.sold
            }

            pub fn unbooked(&self) -> usize {
                self.unbooked.len()
            }

            pub fn apply(&mut self, op: Op) {
                self.now += 1;
                match op {
                    Op::Sale(c) => {
                        let c = c % self.channels.len();
                        if self.channels[c].actual > 0 {
                            self.channels[c].actual -= 1;
                            self.sold += 1;
                            self.unbooked.push_back((c, self.now));
                        }
                    }
                    Op::Book => {
                        let Some((c, at)) = self.unbooked.pop_front() else {
                            return;
                        };
                        self.booked += 1;
                        let ch = &mut self.channels[c];
                        ch.channel_stock -= 1;
                        // A sale clearly after our last push lowered what it
                        // set; one before it may have been overwritten.
                        if at > ch.pushed_at {
                            ch.last_pushed = ch.last_pushed.map(|p| p - 1);
                        }
                    }
                    Op::Push(c) => self.push(c % self.channels.len()),
                    Op::Receive => self.stock += 1,
                }
            }

            fn plan(&self) -> VariantPlan {
                let available = self.stock - self.booked;
                let facts: Vec<ListingFacts> = self
                    .channels
                    .iter()
                    .map(|ch| {
                        let high = ch.last_pushed.unwrap_or(ch.channel_stock);
                        ListingFacts {
                            slot: Slot {
                                shown: ch.channel_stock.min(high),
                                high,
                                floor: 0,
                                ceiling: available.max(0),
                                frozen: false,
                            },
                            promotion_hold: None,
                            allocation_why: String::new(),
                            units_per_sec: 0.0,
                            // A storm: every SKU is split.
                            shop_units_per_sec: 1.0e6,
                            intake_lag_ms: 100,
                            push_latency_ms: 100,
                        }
                    })
                    .collect();
                plan_variant(available, &facts)
            }

            fn planned(&self, c: usize, plan: &VariantPlan) -> Planned {
                let ch = &self.channels[c];
                let high = ch.last_pushed.unwrap_or(ch.channel_stock);
                Planned {
                    target: plan.targets[c].0,
                    shown: high,
                    channel_stock: ch.channel_stock,
                    last_pushed: ch.last_pushed,
                    uncertain: ch.last_pushed.is_some_and(|p| p != ch.channel_stock),
                    floor: None,
                    split: plan.split,
                    // Pushes land at once here: nothing to hold back.
                    units_per_sec: 0.0,
                    push_latency_ms: 0,
                }
            }

            /// One push of channel `c`, as the engine runs it: read back
            /// when in doubt or lowering a share, plan again, decide, claim
            /// a raise, send, book the push.
            fn push(&mut self, c: usize) {
                let plan = self.plan();
                let first = self.planned(c, &plan);
                let mut seen = None;
                if needs_read_back(&first) {
                    let ch = &mut self.channels[c];
                    match settle(ch.channel_stock, ch.last_pushed, ch.actual) {
                        Settled::Confirmed => ch.last_pushed = Some(ch.channel_stock),
                        Settled::SaleInFlight { .. } => seen = Some(ch.actual),
                        Settled::Overwritten | Settled::NotInDoubt => {}
                    }
                }
                let plan = self.plan();
                let item = self.planned(c, &plan);
                let SendDecision::Quantity {
                    quantity, unseen, ..
                } = decide_send(&item, i64::MAX, seen)
                else {
                    return;
                };
                let ch = &mut self.channels[c];
                ch.actual = quantity;
                ch.last_pushed = Some(quantity + unseen);
                ch.channel_stock = quantity + unseen;
                ch.pushed_at = self.now;
            }
        }
    }

    fn op() -> impl Strategy<Value = model::Op> {
        prop_oneof![
            4 => (0usize..4).prop_map(model::Op::Sale),
            3 => Just(model::Op::Book),
            3 => (0usize..4).prop_map(model::Op::Push),
            1 => Just(model::Op::Receive),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Whatever the order of sales, bookings and pushes, a SKU whose
        /// units are split is never sold beyond its stock; and once every
        /// sale is booked and each channel pushed, every unit left is shown
        /// somewhere (splitting hides nothing).
        #[test]
        fn buyers_and_pushes_in_any_order_never_oversell_and_hide_nothing(
            stock in 0i64..30,
            channels in 2usize..5,
            ops in proptest::collection::vec(op(), 0..200),
        ) {
            let mut world = model::World::new(stock, channels);
            for op in ops {
                world.apply(op);
                prop_assert!(world.sold() <= world.stock(), "sold {} of {}", world.sold(), world.stock());
            }
            while world.unbooked() > 0 {
                world.apply(model::Op::Book);
            }
            for _ in 0..3 {
                for c in 0..channels {
                    world.apply(model::Op::Push(c));
                }
            }
            prop_assert_eq!(world.shown(), world.left(), "units left but shown nowhere");
        }
    }
}
