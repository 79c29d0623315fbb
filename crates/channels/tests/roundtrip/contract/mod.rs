//! What every marketplace's `Channel` must do, written once over the
//! [`Harness`](crate::harness::Harness) trait and run against each
//! marketplace by [`contract_suite!`], so each result is its own test
//! (`contract::shopee::server_errors_and_timeouts_are_transient`).
//!
//! One module per area. A new marketplace implements `Harness` and adds one
//! `contract_suite!` line below; a new test here runs on every marketplace.

// The contract's bodies are test code outside `#[test]` functions: a panic there is a test
// failure with a clear message, exactly as in the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod auth;
pub mod faults;
pub mod orders;
pub mod orders_paging;
pub mod paging;
pub mod signing;
pub mod stock;
pub mod webhooks;

/// Runs every contract test against one marketplace's harness.
macro_rules! contract_suite {
    ($module:ident, $harness:ty) => {
        mod $module {
            use super::*;

            /// Every contract test, with the marketplace as the test's module.
            macro_rules! run {
                ($area:ident :: $test:ident) => {
                    #[tokio::test]
                    async fn $test() {
                        $area::$test::<$harness>().await;
                    }
                };
            }

            run!(auth::expired_access_token_is_refreshed_once_and_the_call_succeeds);
            run!(auth::revoked_authorization_fails_the_refresh_without_looping);
            run!(auth::a_refreshed_pair_can_be_refreshed_again_and_a_forged_token_is_refused);
            run!(paging::a_shop_without_listings_is_one_empty_last_page);
            run!(paging::exactly_one_full_page_has_no_next_cursor);
            run!(paging::many_pages_return_every_listing_once_in_order);
            run!(paging::updated_since_returns_only_listings_changed_since);
            run!(orders_paging::changed_orders_of_an_empty_range_and_of_exactly_one_page);
            run!(orders_paging::changed_orders_follow_every_page_and_details_come_in_batches);
            run!(orders_paging::order_details_leave_out_unknown_ids_and_other_shops_orders);
            run!(signing::a_client_with_the_wrong_secret_gets_a_signature_error);
            run!(signing::timestamps_outside_the_window_on_either_clock_are_signature_errors);
            run!(stock::stock_below_reserved_is_refused_per_item_and_the_rest_applies);
            run!(
                stock::unknown_listings_and_variants_are_refused_per_update_while_the_rest_applies
            );
            run!(stock::a_throttled_call_of_a_stock_update_keeps_what_the_other_calls_applied);
            run!(faults::server_errors_and_timeouts_are_transient);
            run!(faults::rate_limit_is_rate_limited_per_shop_and_api);
            run!(faults::a_throttle_answer_holds_the_api_in_the_pacer);
            run!(orders::ship_by_pickup_reports_the_tracking_number_the_sandbox_assigned);
            run!(orders::seller_cancel_puts_stock_back_and_a_shipped_order_cannot_be_cancelled);
            run!(webhooks::genuine_pushes_verify_and_tampered_wrongly_signed_or_unsigned_ones_are_rejected);
            run!(faults::paced_bursts_stay_within_the_default_rate_limit);
            run!(faults::a_stock_update_across_many_listings_stays_within_the_default_rate_limit);
        }
    };
}

contract_suite!(shopee, crate::shopee::Shopee);
contract_suite!(tiktok, crate::tiktok::TikTok);
contract_suite!(lazada, crate::lazada::Lazada);
