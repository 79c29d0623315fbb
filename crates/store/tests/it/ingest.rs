use storesync_domain::{Marketplace, OrderStatus, Timestamp};
use storesync_store::backend_test;
use storesync_store::ingest::{IngestLine, IngestOrder, Via};
use storesync_store::listings::ChannelListing;
use storesync_store::shops::{ConnectedShop, ShopTokens};

use super::*;

pub(crate) fn line(item: &str, sku: &str, qty: i64) -> IngestLine {
    IngestLine {
        external_listing_id: item.into(),
        external_variant_id: "0".into(),
        seller_sku: sku.into(),
        quantity: qty,
        unit_price: idr(1000),
    }
}

pub(crate) fn mp_order(id: &str, status: OrderStatus, lines: Vec<IngestLine>) -> IngestOrder {
    IngestOrder {
        external_id: id.into(),
        status,
        marketplace_status: format!("{status:?}").to_uppercase(),
        currency: "IDR".parse().unwrap(),
        lines,
        placed_at: Timestamp::from_millis(1_000),
        total: None,
    }
}

pub(crate) async fn shop(
    store: &Store,
    org: storesync_domain::ids::OrgId,
) -> storesync_domain::ids::ShopId {
    let s = store
        .connect_shop(
            org,
            &ConnectedShop {
                marketplace: Marketplace::Shopee,
                external_shop_id: format!("ext-{}", uuid_suffix()),
                cipher: None,
                name: "Shop".into(),
                region: None,
                tokens: ShopTokens {
                    access_token: storesync_crypto::Secret::new("a".to_owned()),
                    refresh_token: storesync_crypto::Secret::new("r".to_owned()),
                    access_expires_at: Timestamp::from_millis(1),
                    refresh_expires_at: None,
                },
            },
            &actor(),
        )
        .await
        .unwrap();
    s.id
}

/// An organization with 9 units of SKU A, listed once (listing 100) on a
/// Shopee shop that shows `stock`.
pub(crate) async fn one_listing(
    store: &Store,
    stock: i64,
) -> (storesync_domain::ids::OrgId, storesync_domain::ids::ShopId) {
    let org = org_with_skus(store, &["A"]).await;
    receive(store, org, "A", 9).await;
    let shop = shop(store, org).await;
    store
        .import_listings(
            org,
            shop,
            &[ChannelListing {
                external_listing_id: "100".into(),
                external_variant_id: "0".into(),
                seller_sku: "A".into(),
                title: "A".into(),
                status: "NORMAL".into(),
                warehouse_id: None,
                stock,
                reserved: None,
                price: None,
            }],
            Default::default(),
            &actor(),
        )
        .await
        .unwrap();
    (org, shop)
}

/// One unit of listing 100 sold on the marketplace just now, ingested.
async fn sell_one_now(
    store: &Store,
    org: storesync_domain::ids::OrgId,
    shop: storesync_domain::ids::ShopId,
    id: &str,
) {
    let mut o = mp_order(id, OrderStatus::ReadyToShip, vec![line("100", "A", 1)]);
    o.placed_at = store.now();
    store
        .ingest_order(org, shop, Marketplace::Shopee, &o, Via::Webhook, &actor())
        .await
        .unwrap();
}

backend_test! {
    async fn marketplace_orders_land_once_and_follow_their_status(store) {
        let org = org_with_skus(&store, &["A", "B"]).await;
        receive(&store, org, "A", 5).await;
        let shop = shop(&store, org).await;
        // Listing 100 is mapped to A; B is found by SKU.
        store.import_listings(org, shop, &[ChannelListing {
            external_listing_id: "100".into(), external_variant_id: "0".into(), seller_sku: "whatever".into(),
            title: "A on Shopee".into(), status: "NORMAL".into(), warehouse_id: None, stock: 5, reserved: None, price: None,
        }], Default::default(), &actor()).await.unwrap();
        store.map_listing(org, store.list_listings(org, None, None, &Default::default()).await.unwrap().items[0].id, Some(&sku("A")), &actor()).await.unwrap();

        let o = mp_order("SP-1", OrderStatus::Pending, vec![line("100", "whatever", 2), line("200", "B", 1), line("300", "GHOST", 1)]);
        let first = store.ingest_order(org, shop, Marketplace::Shopee, &o, Via::Webhook, &actor()).await.unwrap();
        assert!(first.created);
        assert_eq!((first.short_units, first.unmapped_lines), (1, 1), "B has no stock; GHOST is unknown");
        assert_eq!(available(&store, org, "A").await, (5, 2, 3));
        let order = store.order(org, first.order_id).await.unwrap();
        assert_eq!(order.lines.len(), 3, "unmapped lines are kept");

        // The same event again, then a poll: nothing changes twice.
        let again = store.ingest_order(org, shop, Marketplace::Shopee, &o, Via::Webhook, &actor()).await.unwrap();
        assert!(!again.created && !again.changed);
        let polled = store.ingest_order(org, shop, Marketplace::Shopee, &o, Via::Poll, &actor()).await.unwrap();
        assert!(!polled.missed_by_webhook);
        assert_eq!(available(&store, org, "A").await, (5, 2, 3));

        // Shipped, then a late "ready to ship" arrives: stock leaves once.
        let shipped = store.ingest_order(org, shop, Marketplace::Shopee, &mp_order("SP-1", OrderStatus::Shipped, vec![]), Via::Webhook, &actor()).await.unwrap();
        assert!(shipped.changed);
        assert_eq!(available(&store, org, "A").await, (3, 0, 3));
        let late = store.ingest_order(org, shop, Marketplace::Shopee, &mp_order("SP-1", OrderStatus::ReadyToShip, vec![]), Via::Webhook, &actor()).await.unwrap();
        assert!(!late.changed);
        assert_eq!(late.status, OrderStatus::Shipped);
        // A contradiction is ignored, not an error.
        let odd = store.ingest_order(org, shop, Marketplace::Shopee, &mp_order("SP-1", OrderStatus::Cancelled, vec![]), Via::Webhook, &actor()).await.unwrap();
        assert!(!odd.changed);
        assert_eq!(available(&store, org, "A").await, (3, 0, 3));
        assert_books_balance(&store, org).await;
    }
}

backend_test! {
    async fn orders_first_seen_late_get_their_effect_and_polling_counts_misses(store) {
        let org = org_with_skus(&store, &["A"]).await;
        receive(&store, org, "A", 10).await;
        let shop = shop(&store, org).await;
        let shipped = store.ingest_order(org, shop, Marketplace::Shopee, &mp_order("P-1", OrderStatus::Shipped, vec![line("1", "A", 3)]), Via::Poll, &actor()).await.unwrap();
        assert!(shipped.created && shipped.missed_by_webhook);
        assert_eq!(available(&store, org, "A").await, (7, 0, 7), "deducted at once");
        let cancelled = store.ingest_order(org, shop, Marketplace::Shopee, &mp_order("P-2", OrderStatus::Cancelled, vec![line("1", "A", 4)]), Via::Webhook, &actor()).await.unwrap();
        assert_eq!(cancelled.status, OrderStatus::Cancelled);
        assert_eq!(available(&store, org, "A").await, (7, 0, 7), "a cancelled order holds nothing");
        assert_eq!(store.intake_counts(org).await.unwrap(), (2, 1));
        // The same external id in another shop is another order.
        let other = shop_again(&store, org).await;
        let o = store.ingest_order(org, other, Marketplace::Shopee, &mp_order("P-1", OrderStatus::Pending, vec![line("1", "A", 1)]), Via::Webhook, &actor()).await.unwrap();
        assert!(o.created);
        assert_books_balance(&store, org).await;
    }
}

async fn shop_again(
    store: &Store,
    org: storesync_domain::ids::OrgId,
) -> storesync_domain::ids::ShopId {
    shop(store, org).await
}

backend_test! {
    async fn a_raise_of_a_split_share_is_claimed_once(store) {
        let org = org_with_skus(&store, &["A"]).await;
        receive(&store, org, "A", 4).await;
        let (one, two) = (shop(&store, org).await, shop(&store, org).await);
        for s in [one, two] {
            store.import_listings(org, s, &[ChannelListing {
                external_listing_id: "100".into(), external_variant_id: "0".into(), seller_sku: "A".into(),
                title: "A".into(), status: "NORMAL".into(), warehouse_id: None, stock: 1, reserved: None, price: None,
            }], Default::default(), &actor()).await.unwrap();
            let item = store.push_plan(org, s).await.unwrap().remove(0);
            store.record_push(org, item.listing_id, Some(1), "ok").await.unwrap();
        }
        // 4 units, each listing shows 1: the 2 spare units go one to each.
        let a = store.push_plan(org, one).await.unwrap().remove(0);
        let stale_b = store.push_plan(org, two).await.unwrap().remove(0);
        assert_eq!((a.split, a.shown, a.target), (true, 1, 2), "{}", a.why);
        assert_eq!(stale_b.target, 2);
        assert!(store.claim_raise(org, &a).await.unwrap());
        assert!(!store.claim_raise(org, &a).await.unwrap(), "claimed once");
        // B's plan was made before A's claim: planning again is required,
        // and while A's raise is in flight its unit is not spare.
        assert!(!store.claim_raise(org, &stale_b).await.unwrap());
        let b = store.push_plan(org, two).await.unwrap().remove(0);
        assert_eq!((b.shown_total, b.target), (3, 1));
        // A's raise did not reach the marketplace: its unit is given back
        // and is spare again.
        store.release_raise(org, &a).await.unwrap();
        let b = store.push_plan(org, two).await.unwrap().remove(0);
        assert_eq!((b.shown_total, b.target), (2, 2));
        assert!(store.claim_raise(org, &b).await.unwrap());
        let a = store.push_plan(org, one).await.unwrap().remove(0);
        assert_eq!((a.shown, a.target), (1, 2), "one spare unit left, for A");
        assert!(store.claim_raise(org, &a).await.unwrap());
        store.record_push(org, a.listing_id, Some(2), "ok").await.unwrap();
        // Every unit is shown once; nothing is spare.
        let done = store.push_plan(org, one).await.unwrap().remove(0);
        assert_eq!((done.shown_total, done.target), (4, 2));
    }
}

backend_test! {
    async fn the_hourly_sales_rollup_follows_inserts_and_cancellations(store) {
        use storesync_store::OrderTransition;
        let org = org_with_skus(&store, &["A"]).await;
        receive(&store, org, "A", 100).await;
        let shop = shop(&store, org).await;
        const HOUR: i64 = 3_600_000;
        // Day 20000 (UTC) 16:30 is day 20000 23:30 in UTC+7; 17:30 is the
        // next local day.
        let day = 20_000 * 86_400_000;
        let at = |h: i64, m: i64| Timestamp::from_millis(day + h * HOUR + m * 60_000);
        let manual = |id: &str, t: Timestamp| NewOrder { placed_at: Some(t), ..order(id, &[("A", 2)]) };
        store.create_order(org, &manual("m1", at(16, 30)), &actor()).await.unwrap();
        store.create_order(org, &manual("m2", at(17, 30)), &actor()).await.unwrap();
        let m3 = store.create_order(org, &manual("m3", at(17, 45)), &actor()).await.unwrap().order;
        let mut mp = mp_order("S-1", OrderStatus::ReadyToShip, vec![line("100", "A", 3)]);
        mp.placed_at = at(16, 5);
        store.ingest_order(org, shop, Marketplace::Shopee, &mp, Via::Webhook, &actor()).await.unwrap();
        // Ingested already cancelled: never a sale.
        let mut gone = mp_order("S-2", OrderStatus::Cancelled, vec![line("100", "A", 1)]);
        gone.placed_at = at(16, 6);
        store.ingest_order(org, shop, Marketplace::Shopee, &gone, Via::Poll, &actor()).await.unwrap();
        // Cancelled later, and a duplicate cancel changes nothing twice.
        let cancel = OrderTransition::Cancel { reason: "buyer".into() };
        store.transition_order(org, m3.id, &cancel, &actor()).await.unwrap();
        store.transition_order(org, m3.id, &cancel, &actor()).await.unwrap();

        let from = Timestamp::from_millis(day - 7 * 60 * 60_000);
        let to = at(23, 0);
        let summary = |v: Vec<storesync_store::dashboard::DaySales>| {
            v.into_iter().map(|d| (d.day, d.channel, d.orders, d.revenue)).collect::<Vec<_>>()
        };
        let local = summary(store.sales_by_day(org, from, to, 7 * 60).await.unwrap());
        assert_eq!(
            local,
            vec![
                (20_000, "manual".to_owned(), 1, 2_000),
                (20_000, "shopee".to_owned(), 1, 3_000),
                (20_001, "manual".to_owned(), 1, 2_000),
            ],
            "m1 and the Shopee order on the 23rd hour of the local day, m2 the next day, m3 cancelled"
        );
        let utc = summary(store.sales_by_day(org, Timestamp::from_millis(day), to, 0).await.unwrap());
        assert_eq!(utc, vec![(20_000, "manual".to_owned(), 2, 4_000), (20_000, "shopee".to_owned(), 1, 3_000)]);
        // A zone off the hour reads the orders themselves: same answer.
        let odd = summary(store.sales_by_day(org, from, to, 7 * 60 + 30).await.unwrap());
        assert_eq!(odd.iter().map(|r| r.2).sum::<i64>(), 3);

        // Recomputing from the orders agrees with what was kept.
        store.rebuild_sales_rollup(org).await.unwrap();
        assert_eq!(summary(store.sales_by_day(org, from, to, 7 * 60).await.unwrap()), local);
    }
}

backend_test! {
    async fn only_a_sale_near_or_before_our_push_is_in_doubt(store) {
        let org = org_with_skus(&store, &["A"]).await;
        receive(&store, org, "A", 3).await;
        let (one, two, three) = (shop(&store, org).await, shop(&store, org).await, shop(&store, org).await);
        let mut pushed_at = Vec::new();
        for s in [one, two, three] {
            store.import_listings(org, s, &[ChannelListing {
                external_listing_id: "100".into(), external_variant_id: "0".into(), seller_sku: "A".into(),
                title: "A".into(), status: "NORMAL".into(), warehouse_id: None, stock: 1, reserved: None, price: None,
            }], Default::default(), &actor()).await.unwrap();
            let item = store.push_plan(org, s).await.unwrap().remove(0);
            store.record_push(org, item.listing_id, Some(1), "ok").await.unwrap();
            pushed_at.push(store.now());
        }
        let sell = |shop, id: &str, at: Timestamp| {
            let store = store.clone();
            let mut o = mp_order(id, OrderStatus::ReadyToShip, vec![line("100", "A", 1)]);
            o.placed_at = at;
            async move { store.ingest_order(org, shop, Marketplace::Shopee, &o, Via::Webhook, &actor()).await.unwrap() }
        };
        // Stamped a second and a half after the push landed: it came after
        // it, the marketplace's own count is right, nothing to send.
        sell(one, "S-1", pushed_at[0].plus_millis(1_500)).await;
        let p = store.push_plan(org, one).await.unwrap().remove(0);
        assert_eq!((p.uncertain, p.shown, p.last_pushed), (false, 0, Some(0)), "{p:?}");
        // Stamped within the second of the push: the push may have landed
        // after it and overwritten the deduction: the listing is sent again.
        sell(two, "S-2", pushed_at[1].plus_millis(300)).await;
        let p = store.push_plan(org, two).await.unwrap().remove(0);
        assert_eq!((p.uncertain, p.shown, p.last_pushed), (true, 1, Some(1)), "{p:?}");
        // Sold before the push (a late delivery): overwritten for sure.
        sell(three, "S-3", pushed_at[2].plus_millis(-60_000)).await;
        let p = store.push_plan(org, three).await.unwrap().remove(0);
        assert!(p.uncertain, "{p:?}");
    }
}

backend_test! {
    async fn a_listing_in_doubt_is_settled_by_what_the_channel_shows(store) {
        use storesync_store::propagation::Settled;
        let (org, shop) = one_listing(&store, 3).await;
        let item = store.push_plan(org, shop).await.unwrap().remove(0);
        store.record_push(org, item.listing_id, Some(3), "ok").await.unwrap();
        let sell = |id: &'static str| sell_one_now(&store, org, shop, id);
        // In doubt: it shows 3 (overwritten) or 2.
        sell("S-1").await;
        assert!(store.push_plan(org, shop).await.unwrap()[0].uncertain);
        // It shows 3: our push overwrote the sale; the doubt stays, the push goes.
        assert_eq!(store.settle_listing(org, shop, "100", "0", 3).await.unwrap(), Settled::Overwritten);
        assert!(store.push_plan(org, shop).await.unwrap()[0].uncertain);
        // It shows 1: another sale there is on its way; nothing is settled.
        assert_eq!(store.settle_listing(org, shop, "100", "0", 1).await.unwrap(), Settled::SaleInFlight { unseen: 1 });
        assert!(store.push_plan(org, shop).await.unwrap()[0].uncertain);
        // It shows 2: what the sale left; settled without a push. The unit it
        // is no longer counted for may go to another listing: every shop's
        // push must hear of it.
        store.drain_dirty(100).await.unwrap();
        assert!(!store.has_dirty_variants().await.unwrap());
        assert_eq!(store.settle_listing(org, shop, "100", "0", 2).await.unwrap(), Settled::Confirmed);
        assert!(store.has_dirty_variants().await.unwrap(), "a lower count confirmed marks the variant");
        store.drain_dirty(100).await.unwrap();
        let p = store.push_plan(org, shop).await.unwrap().remove(0);
        assert_eq!((p.uncertain, p.last_pushed, p.shown), (false, Some(2), 2), "{p:?}");
        assert_eq!(store.settle_listing(org, shop, "100", "0", 2).await.unwrap(), Settled::NotInDoubt);
        assert_eq!(store.settle_listing(org, shop, "nope", "0", 2).await.unwrap(), Settled::NotInDoubt);
        // Read before a lowering, not in doubt: showing less means a sale
        // there is not ingested yet; showing as much, nothing to learn.
        assert_eq!(store.settle_listing(org, shop, "100", "0", 0).await.unwrap(), Settled::SaleInFlight { unseen: 2 });
        assert_eq!(store.settle_listing(org, shop, "100", "0", 3).await.unwrap(), Settled::NotInDoubt);
        let p = store.push_plan(org, shop).await.unwrap().remove(0);
        assert_eq!((p.uncertain, p.last_pushed, p.channel_stock), (false, Some(2), 2), "a read changes no books");
    }
}

backend_test! {
    async fn a_sale_ingested_while_a_push_is_on_its_way_leaves_the_listing_in_doubt(store) {
        use storesync_store::propagation::Settled;
        let (org, shop) = one_listing(&store, 3).await;
        let item = store.push_plan(org, shop).await.unwrap().remove(0);
        assert_eq!(item.channel_stock, 3);
        // Sold while our 3 is on its way: before it landed (the channel
        // shows 3) or after (2). Neither may be forgotten.
        sell_one_now(&store, org, shop, "S-1").await;
        store.record_push_ahead(org, item.listing_id, Some(3), Some(item.channel_stock), 0, "ok").await.unwrap();
        let p = store.push_plan(org, shop).await.unwrap().remove(0);
        assert_eq!((p.uncertain, p.last_pushed, p.shown, p.channel_stock), (true, Some(3), 3, 2), "{p:?}");
        assert_eq!(store.settle_listing(org, shop, "100", "0", 2).await.unwrap(), Settled::Confirmed);
        let p = store.push_plan(org, shop).await.unwrap().remove(0);
        assert_eq!((p.uncertain, p.last_pushed, p.shown), (false, Some(2), 2), "{p:?}");
    }
}

backend_test! {
    async fn a_push_that_counted_unseen_sales_is_confirmed_once_they_arrive(store) {
        use storesync_store::propagation::Settled;
        let (org, shop) = one_listing(&store, 5).await;
        let item = store.push_plan(org, shop).await.unwrap().remove(0);
        store.record_push(org, item.listing_id, Some(5), "ok").await.unwrap();
        let sell = |id: &'static str| sell_one_now(&store, org, shop, id);
        sell("S-1").await;
        // Read back: 2, where its one ingested sale left 4: two more sold.
        assert_eq!(store.settle_listing(org, shop, "100", "0", 2).await.unwrap(), Settled::SaleInFlight { unseen: 2 });
        let item = store.push_plan(org, shop).await.unwrap().remove(0);
        // 1 is sent, counting those two: booked at 3 until they arrive.
        store.record_push_ahead(org, item.listing_id, Some(1), Some(item.channel_stock), 2, "ok").await.unwrap();
        let p = store.push_plan(org, shop).await.unwrap().remove(0);
        assert_eq!((p.last_pushed, p.channel_stock), (Some(3), 3), "{p:?}");
        sell("S-2").await;
        sell("S-3").await;
        let p = store.push_plan(org, shop).await.unwrap().remove(0);
        assert_eq!((p.uncertain, p.last_pushed, p.channel_stock), (true, Some(3), 1), "{p:?}");
        assert_eq!(store.settle_listing(org, shop, "100", "0", 1).await.unwrap(), Settled::Confirmed);
        let p = store.push_plan(org, shop).await.unwrap().remove(0);
        assert_eq!((p.uncertain, p.last_pushed, p.shown), (false, Some(1), 1), "{p:?}");
        let history = store.push_history(org, p.listing_id, 10).await.unwrap();
        assert_eq!(history[0].quantity, Some(1), "the history keeps what was sent");
    }
}

backend_test! {
    async fn units_cancelled_from_a_live_order_are_released_once(store) {
        let org = org_with_skus(&store, &["A", "B"]).await;
        receive(&store, org, "A", 10).await;
        receive(&store, org, "B", 10).await;
        let shop = shop(&store, org).await;
        store.import_listings(org, shop, &[ChannelListing {
            external_listing_id: "100".into(), external_variant_id: "0".into(), seller_sku: "A".into(),
            title: "A".into(), status: "NORMAL".into(), warehouse_id: None, stock: 10, reserved: None, price: None,
        }], Default::default(), &actor()).await.unwrap();
        let shown = |store: Store| async move { store.push_plan(org, shop).await.unwrap()[0].shown };
        let ingest = |o: IngestOrder| {
            let store = store.clone();
            async move { store.ingest_order(org, shop, Marketplace::Shopee, &o, Via::Poll, &actor()).await.unwrap() }
        };
        let first = ingest(mp_order("P-1", OrderStatus::ReadyToShip, vec![line("100", "A", 3), line("200", "B", 2)])).await;
        assert_eq!(available(&store, org, "A").await, (10, 3, 7));
        assert_eq!(shown(store.clone()).await, 7);

        // Two units of A cancelled on the marketplace, B untouched.
        let partial = mp_order("P-1", OrderStatus::ReadyToShip, vec![line("100", "A", 1), line("200", "B", 2)]);
        assert!(ingest(partial.clone()).await.changed);
        assert_eq!(available(&store, org, "A").await, (10, 1, 9));
        assert_eq!(available(&store, org, "B").await, (10, 2, 8));
        assert_eq!(shown(store.clone()).await, 9, "the marketplace put the two units back on its listing");
        // Read again: nothing twice.
        assert!(!ingest(partial).await.changed);
        assert_eq!(available(&store, org, "A").await, (10, 1, 9));
        let o = store.order(org, first.order_id).await.unwrap();
        let notes: Vec<_> = o.events.unwrap().into_iter().filter_map(|e| e.note).collect();
        assert!(notes.iter().any(|n| n.starts_with("2 × A cancelled on the marketplace; 2 reserved unit(s) released")), "{notes:?}");

        // The rest ships: only what ships leaves the shelf.
        ingest(mp_order("P-1", OrderStatus::Shipped, vec![line("100", "A", 1), line("200", "B", 2)])).await;
        assert_eq!(available(&store, org, "A").await, (9, 0, 9));
        assert_eq!(available(&store, org, "B").await, (8, 0, 8));
        assert_books_balance(&store, org).await;

        // Cancelled in part, then wholly: every unit comes back once.
        ingest(mp_order("P-2", OrderStatus::ReadyToShip, vec![line("100", "A", 2)])).await;
        ingest(mp_order("P-2", OrderStatus::ReadyToShip, vec![line("100", "A", 1)])).await;
        assert_eq!(shown(store.clone()).await, 8);
        ingest(mp_order("P-2", OrderStatus::Cancelled, vec![line("100", "A", 2)])).await;
        assert_eq!(available(&store, org, "A").await, (9, 0, 9));
        assert_eq!(shown(store.clone()).await, 9);
        assert_books_balance(&store, org).await;
    }
}

backend_test! {
    async fn one_marketplace_order_booked_from_every_path_at_once_lands_once(store) {
        // Webhook, poll and drift read the same new order at the same moment: every booking
        // succeeds (none fails on the unique key and leans on a retry), one creates it.
        let (org, shop) = one_listing(&store, 9).await;
        let store = std::sync::Arc::new(store);
        let o = mp_order("SP-RACE", OrderStatus::ReadyToShip, vec![line("100", "A", 2)]);
        let mut tasks = Vec::new();
        for i in 0..16 {
            let (store, o) = (std::sync::Arc::clone(&store), o.clone());
            let via = if i % 2 == 0 { Via::Webhook } else { Via::Poll };
            tasks.push(tokio::spawn(async move {
                store.ingest_order(org, shop, Marketplace::Shopee, &o, via, &actor()).await
            }));
        }
        let mut created = 0;
        for t in tasks {
            let outcome = t.await.unwrap().expect("a concurrent booking failed");
            created += usize::from(outcome.created);
        }
        assert_eq!(created, 1);
        let orders = store.list_orders(org, &storesync_store::OrderFilter::default(), &storesync_store::PageRequest::default()).await.unwrap();
        assert_eq!(orders.items.len(), 1);
        assert_eq!(available(&store, org, "A").await, (9, 2, 7), "reserved once");
        assert_books_balance(&store, org).await;
    }
}

backend_test! {
    async fn a_sku_selling_fast_is_split_earlier_and_explained(store) {
        // A still clock: the sales below all fall within the last second.
        let clock = std::sync::Arc::new(storesync_domain::time::ManualClock::new(storesync_domain::Timestamp::from_millis(1_700_000_000_000)));
        let store = store.with_clock(clock.clone());
        let org = org_with_skus(&store, &["A"]).await;
        receive(&store, org, "A", 40).await;
        let (one, two) = (shop(&store, org).await, shop(&store, org).await);
        for s in [one, two] {
            store.import_listings(org, s, &[ChannelListing {
                external_listing_id: "100".into(), external_variant_id: "0".into(), seller_sku: "A".into(),
                title: "A".into(), status: "NORMAL".into(), warehouse_id: None, stock: 40, reserved: None, price: None,
            }], Default::default(), &actor()).await.unwrap();
        }
        // 40 units and nothing selling: shown in full on both.
        let calm = store.push_plan(org, one).await.unwrap().remove(0);
        assert_eq!((calm.split, calm.threshold, calm.target), (false, 10, 40), "{}", calm.why);
        // 12 sales on shop one within the last second, pushes to shop two
        // taking a second to land: up to 12 + 11 + 1 more can sell before a
        // change reaches every channel, so the 28 left are split now.
        store.record_push_latency(org, two, 1_000).await.unwrap();
        for i in 0..12 {
            store.ingest_order(org, one, Marketplace::Shopee, &mp_order(&format!("fast-{i}"), OrderStatus::ReadyToShip, vec![line("100", "A", 1)]),
                Via::Webhook, &actor()).await.unwrap();
        }
        let fast = store.push_plan(org, one).await.unwrap().remove(0);
        assert_eq!(fast.available, 28);
        assert!(fast.units_per_sec >= 12.0, "{}", fast.units_per_sec);
        assert!(fast.threshold > 28, "{}: {}", fast.threshold, fast.why);
        assert!(fast.split, "{}", fast.why);
        assert!(fast.why.contains(&format!("split at or below {} units", fast.threshold)), "{}", fast.why);
        let other = store.push_plan(org, two).await.unwrap().remove(0);
        assert_eq!(other.units_per_sec, 0.0, "shop two sold nothing");
        assert_eq!(other.threshold, fast.threshold, "both shops compute the same split");
        assert_eq!(fast.target + other.target, 28, "{} / {}", fast.why, other.why);
    }
}

backend_test! {
    async fn one_bad_order_in_a_batch_fails_alone_and_leaves_nothing_half_written(store) {
        let (org, shop) = one_listing(&store, 9).await;
        // The middle order names 0 units: the database refuses its line.
        let batch = vec![
            mp_order("ok-1", OrderStatus::ReadyToShip, vec![line("100", "A", 1)]),
            mp_order("bad", OrderStatus::ReadyToShip, vec![line("100", "A", 0)]),
            mp_order("ok-2", OrderStatus::ReadyToShip, vec![line("100", "A", 2)]),
        ];
        let outcomes = store.ingest_orders(org, shop, Marketplace::Shopee, &batch, Via::Webhook, &actor()).await.unwrap();
        assert_eq!(outcomes.iter().map(|o| o.is_ok()).collect::<Vec<_>>(), vec![true, false, true]);
        assert_eq!(available(&store, org, "A").await, (9, 3, 6), "the good orders reserved their units");
        assert_eq!(store.intake_counts(org).await.unwrap().0, 2, "no row of the bad order is left");
    }
}

backend_test! {
    async fn a_sku_is_split_early_while_its_shop_sells_fast_even_if_it_did_not_sell_yet(store) {
        // Buyers of the SKUs that sold out turn to the ones still showing
        // stock: a SKU that sold nothing yet can take its shop's whole pace.
        let clock = std::sync::Arc::new(storesync_domain::time::ManualClock::new(storesync_domain::Timestamp::from_millis(1_700_000_000_000)));
        let store = store.with_clock(clock.clone());
        let org = org_with_skus(&store, &["A", "B"]).await;
        receive(&store, org, "A", 28).await;
        receive(&store, org, "B", 40).await;
        let (one, two) = (shop(&store, org).await, shop(&store, org).await);
        for s in [one, two] {
            let listing = |id: &str, sku: &str, stock| ChannelListing {
                external_listing_id: id.into(), external_variant_id: "0".into(), seller_sku: sku.into(),
                title: sku.into(), status: "NORMAL".into(), warehouse_id: None, stock, reserved: None, price: None,
            };
            store.import_listings(org, s, &[listing("100", "A", 28), listing("200", "B", 40)], Default::default(), &actor()).await.unwrap();
        }
        store.record_push_latency(org, two, 1_000).await.unwrap();
        let a = |plan: Vec<storesync_store::propagation::PushItem>| plan.into_iter().find(|i| i.external_listing_id == "100").unwrap();
        let calm = a(store.push_plan(org, one).await.unwrap());
        assert!(!calm.split, "{}", calm.why);
        // Twelve units of B sold on shop one within the last second; none of A.
        for i in 0..12 {
            store.ingest_order(org, one, Marketplace::Shopee, &mp_order(&format!("b-{i}"), OrderStatus::ReadyToShip, vec![line("200", "B", 1)]),
                Via::Webhook, &actor()).await.unwrap();
        }
        let busy = a(store.push_plan(org, one).await.unwrap());
        assert_eq!(busy.units_per_sec, 0.0, "A itself sold nothing");
        assert!(busy.threshold > 28, "{}: {}", busy.threshold, busy.why);
        assert!(busy.split, "{}", busy.why);
        // Twelve units within the last 250 ms (the clock stands still; the
        // shortest span a pace is measured over): 48 a second.
        assert!(busy.why.contains("its shops selling 48.0/s"), "{}", busy.why);
        let other = a(store.push_plan(org, two).await.unwrap());
        assert_eq!(busy.target + other.target, 28, "{} / {}", busy.why, other.why);
    }
}

backend_test! {
    async fn units_a_push_held_back_stay_its_listings_until_given_back(store) {
        let clock = std::sync::Arc::new(storesync_domain::time::ManualClock::new(storesync_domain::Timestamp::from_millis(1_700_000_000_000)));
        let store = store.with_clock(clock.clone());
        let org = org_with_skus(&store, &["A"]).await;
        receive(&store, org, "A", 8).await;
        let (one, two) = (shop(&store, org).await, shop(&store, org).await);
        for s in [one, two] {
            store.import_listings(org, s, &[ChannelListing {
                external_listing_id: "100".into(), external_variant_id: "0".into(), seller_sku: "A".into(),
                title: "A".into(), status: "NORMAL".into(), warehouse_id: None, stock: 8, reserved: None, price: None,
            }], Default::default(), &actor()).await.unwrap();
        }
        let item = |plan: Vec<storesync_store::propagation::PushItem>| plan.into_iter().next().unwrap();
        let (a, b) = (item(store.push_plan(org, one).await.unwrap()), item(store.push_plan(org, two).await.unwrap()));
        // 8 units shown 6 and 2; then a push to the first, selling fast,
        // sends 3 and holds 3 back while it lands.
        store.record_push(org, a.listing_id, Some(6), "ok").await.unwrap();
        store.record_push(org, b.listing_id, Some(2), "ok").await.unwrap();
        store.record_push(org, a.listing_id, Some(3), "ok").await.unwrap();
        store.hold_units(org, a.listing_id, 3, 1_500).await.unwrap();
        let held = item(store.push_plan(org, two).await.unwrap());
        assert!(held.split, "{}", held.why);
        assert_eq!(held.target, 2, "the held units are not given to the other listing: {}", held.why);
        assert_eq!(item(store.push_plan(org, one).await.unwrap()).shown, 6, "counted as shown where they were held");
        // When the hold ends the units are free for any shop's listing: a job
        // queued with the hold marks the variant for every shop then.
        let queued = store.list_jobs(org, Some(storesync_store::jobs::JobStatus::Queued), &Default::default()).await.unwrap();
        let ended: Vec<_> = queued.items.iter().filter(|j| j.kind == storesync_store::propagation::HOLD_ENDED_JOB).collect();
        assert_eq!(ended.len(), 1, "{queued:?}");
        assert_eq!(ended[0].payload["variant_id"], serde_json::json!(a.variant_id.to_string()));
        assert!(ended[0].run_at > store.now().plus_millis(1_500), "after the hold: {:?}", ended[0].run_at);
        // Once the hold ends, the units are free again.
        clock.advance_millis(2_000);
        let (a, b) = (item(store.push_plan(org, one).await.unwrap()), item(store.push_plan(org, two).await.unwrap()));
        assert_eq!(a.shown, 3);
        assert_eq!(a.target + b.target, 8, "{} / {}", a.why, b.why);
        assert!(b.target > 2, "{}", b.why);
        // A new number sent ends a hold.
        store.hold_units(org, a.listing_id, 3, 1_500).await.unwrap();
        store.record_push(org, a.listing_id, Some(4), "ok").await.unwrap();
        assert_eq!(item(store.push_plan(org, one).await.unwrap()).shown, 4);
    }
}

backend_test! {
    async fn bookings_and_read_backs_of_one_listing_never_deadlock(store) {
        // A booking locks the variant, then the listing that sold; a
        // read-back that finds drift changed the listing, then marked the
        // variant: on PostgreSQL the two waited a second for the database
        // to break the cycle, stalling every push behind them.
        let (org, shop) = one_listing(&store, 9).await;
        let deadlocks = || async {
            if store.backend() != storesync_store::Backend::Postgres {
                return 0;
            }
            // The counters reach the view once the backends flush them.
            storesync_store::testing::execute(&store, "SELECT pg_sleep(1.2)").await;
            storesync_store::testing::query_texts(&store, "SELECT CAST(deadlocks AS TEXT) FROM pg_stat_database WHERE datname = current_database()")
                .await[0].as_deref().unwrap_or("0").parse::<i64>().unwrap()
        };
        let before = deadlocks().await;
        let store = std::sync::Arc::new(store.clone());
        for round in 0..4 {
            let mut tasks = Vec::new();
            for i in 0..6 {
                let s = std::sync::Arc::clone(&store);
                tasks.push(tokio::spawn(async move {
                    let mut o = mp_order(&format!("DL-{round}-{i}"), OrderStatus::ReadyToShip, vec![line("100", "A", 1)]);
                    o.placed_at = s.now();
                    s.ingest_order(org, shop, Marketplace::Shopee, &o, Via::Webhook, &actor()).await.map(|_| ())
                }));
                let s = std::sync::Arc::clone(&store);
                tasks.push(tokio::spawn(async move {
                    s.note_channel_stock(org, shop, "100", "0", 20 + i, None).await.map(|_| ())
                }));
                let s = std::sync::Arc::clone(&store);
                tasks.push(tokio::spawn(async move {
                    s.settle_listing(org, shop, "100", "0", i).await.map(|_| ())
                }));
            }
            for t in tasks {
                t.await.unwrap().unwrap();
            }
        }
        assert_eq!(deadlocks().await, before, "no deadlock between bookings and read-backs");
    }
}
