//! Authorization: single-use codes, grants with an expiry (and the warning before it), access
//! and refresh tokens, revocation and the expired-token fault.

use storesync_domain::Timestamp;

use super::rules::Rules;
use super::world::{AccessToken, AuthCode, Event, RefreshToken, World};
use crate::error::SandboxError;

impl World {
    /// Issues a single-use authorization code for a shop.
    pub fn issue_code(
        &mut self,
        shop_id: u64,
        lifetime_ms: i64,
        now: Timestamp,
    ) -> Result<String, SandboxError> {
        self.shop(shop_id)?;
        let code = self.random_hex(16);
        self.codes.insert(
            code.clone(),
            AuthCode {
                shop_ids: vec![shop_id],
                expires_ms: now.millis() + lifetime_ms,
                used: false,
            },
        );
        Ok(code)
    }

    /// Marks shops authorized for `lifetime_ms` (only the first grant pushes an event).
    pub fn grant(&mut self, shop_ids: &[u64], lifetime_ms: i64, now: Timestamp) {
        for id in shop_ids {
            if let Some(s) = self.shops.get_mut(id) {
                let was = s.authorized;
                s.authorized = true;
                s.auth_time_ms = now.millis();
                s.auth_expire_ms = now.millis() + lifetime_ms;
                s.expiry_warned_day = None;
                if !was {
                    self.events.push(Event::Authorized { shop_id: *id });
                }
            }
        }
    }

    /// Revokes the seller's authorization: every token for the shop stops working.
    pub fn deauthorize(&mut self, shop_id: u64) -> Result<(), SandboxError> {
        let shop = self
            .shops
            .get_mut(&shop_id)
            .ok_or(SandboxError::ShopNotFound(shop_id))?;
        shop.authorized = false;
        for t in self.access.values_mut() {
            if t.shop_ids.contains(&shop_id) {
                t.revoked = true;
            }
        }
        for t in self.refresh.values_mut() {
            if t.shop_ids.contains(&shop_id) {
                t.revoked = true;
            }
        }
        self.events.push(Event::Deauthorized { shop_id });
        Ok(())
    }

    /// Fault: every access token of the shop is expired now.
    pub fn expire_tokens(&mut self, shop_id: u64, now: Timestamp) -> Result<usize, SandboxError> {
        self.shop(shop_id)?;
        let mut n = 0;
        for t in self.access.values_mut() {
            if t.shop_ids.contains(&shop_id) && t.expires_ms >= now.millis() {
                t.expires_ms = now.millis() - 1;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Records a token pair issued outside the OAuth round trip for one shop.
    pub(crate) fn record_tokens(
        &mut self,
        shop_id: u64,
        access: &str,
        refresh: &str,
        access_expires_ms: i64,
        refresh_expires_ms: i64,
    ) {
        self.access.insert(
            access.to_owned(),
            AccessToken {
                shop_ids: vec![shop_id],
                expires_ms: access_expires_ms,
                revoked: false,
            },
        );
        self.refresh.insert(
            refresh.to_owned(),
            RefreshToken {
                shop_ids: vec![shop_id],
                expires_ms: refresh_expires_ms,
                used: false,
                revoked: false,
                access_token: access.to_owned(),
            },
        );
    }

    /// Authorization-expiry warnings that are due now (once, or daily where the marketplace
    /// repeats them).
    pub(crate) fn warn_expiring(&mut self, rules: &dyn Rules, now: Timestamp) {
        let (window_ms, daily) = rules.expiry_warning();
        let day = now.millis().div_euclid(86_400_000);
        let mut warn = Vec::new();
        for s in self.shops.values_mut() {
            if !s.authorized || s.auth_expire_ms == 0 {
                continue;
            }
            let left = s.auth_expire_ms - now.millis();
            if left > window_ms || left < 0 {
                continue;
            }
            let due = match s.expiry_warned_day {
                None => true,
                Some(d) => daily && d != day,
            };
            if due {
                s.expiry_warned_day = Some(day);
                warn.push((s.id, s.auth_expire_ms));
            }
        }
        for (shop_id, expire_ms) in warn {
            self.events.push(Event::AuthExpiring { shop_id, expire_ms });
        }
    }
}
