//! Numbers, times and channel names as a seller reads them.
//!
//! Time zones: our sellers' countries (Indonesia, Malaysia, Singapore,
//! Thailand, Vietnam, the Philippines) keep no daylight saving time, so an
//! organization's zone is a name with a fixed offset from this table; no
//! time zone database is needed.

use storesync_domain::{Marketplace, Money, Timestamp};

/// Order channels that are not marketplaces (orders entered in StoreSync,
/// the seller's own web shop).
pub const OWN_CHANNELS: [(&str, &str); 2] = [("website", "Website"), ("manual", "Manual")];

/// Every order channel, marketplaces first, as the orders filter lists them.
pub fn order_channels() -> impl Iterator<Item = &'static str> {
    Marketplace::ALL
        .iter()
        .map(|m| m.as_str())
        .chain(OWN_CHANNELS.iter().map(|(name, _)| *name))
}

/// How a seller knows an order channel: a marketplace's own label, else the
/// name as stored.
pub fn channel_label(channel: &str) -> &str {
    match channel.parse::<Marketplace>() {
        Ok(m) => m.label(),
        Err(_) => OWN_CHANNELS
            .iter()
            .find(|(name, _)| *name == channel)
            .map_or(channel, |(_, label)| *label),
    }
}

/// Zones an organization can choose, with their offset from UTC in minutes.
pub const ZONES: [(&str, i64); 9] = [
    ("Asia/Jakarta", 7 * 60),
    ("Asia/Makassar", 8 * 60),
    ("Asia/Jayapura", 9 * 60),
    ("Asia/Singapore", 8 * 60),
    ("Asia/Kuala_Lumpur", 8 * 60),
    ("Asia/Bangkok", 7 * 60),
    ("Asia/Ho_Chi_Minh", 7 * 60),
    ("Asia/Manila", 8 * 60),
    ("UTC", 0),
];

pub fn tz_offset_minutes(zone: &str) -> i64 {
    ZONES
        .iter()
        .find(|(name, _)| *name == zone)
        .map_or(0, |(_, offset)| *offset)
}

/// Civil date (year, month, day) of a day count since 1970-01-01.
pub fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Day count since 1970-01-01 of a civil date (the inverse of [`civil`]).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Local day number of `t` at `offset` minutes east of UTC.
pub fn local_day(t: Timestamp, offset: i64) -> i64 {
    (t.millis() + offset * 60_000).div_euclid(86_400_000)
}

/// The UTC instant a local day starts.
pub fn day_start(day: i64, offset: i64) -> Timestamp {
    Timestamp::from_millis(day * 86_400_000 - offset * 60_000)
}

/// `2026-11-23 14:05` in the organization's zone.
pub fn format_time(t: Timestamp, offset: i64) -> String {
    let local = t.millis() + offset * 60_000;
    let (y, m, d) = civil(local.div_euclid(86_400_000));
    let minutes = local.rem_euclid(86_400_000) / 60_000;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        minutes / 60,
        minutes % 60
    )
}

pub fn format_day(day: i64) -> String {
    let (_, m, d) = civil(day);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!("{d} {}", MONTHS[(m as usize).saturating_sub(1) % 12])
}

/// Digits grouped by `sep`.
fn group(n: u64, sep: char) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// An amount as sellers in its currency write it: `Rp 150.000`,
/// `RM 12.50`, `₫ 250.000`, `S$ 9.90`.
pub fn format_money(m: Money) -> String {
    let code = m.currency.as_str();
    let digits = u32::from(m.currency.minor_digits());
    let (symbol, thousands, decimal) = match code {
        "IDR" => ("Rp", '.', ','),
        "VND" => ("₫", '.', ','),
        "MYR" => ("RM", ',', '.'),
        "SGD" => ("S$", ',', '.'),
        "THB" => ("฿", ',', '.'),
        "PHP" => ("₱", ',', '.'),
        "USD" => ("US$", ',', '.'),
        other => (other, ',', '.'),
    };
    let sign = if m.amount < 0 { "-" } else { "" };
    let abs = m.amount.unsigned_abs();
    let unit = 10u64.pow(digits);
    let (whole, frac) = (abs / unit, abs % unit);
    // Rupiah and dong are shown without minor units.
    if digits == 0 || (code == "IDR" && frac == 0) {
        return format!("{sign}{symbol} {}", group(whole, thousands));
    }
    format!(
        "{sign}{symbol} {}{decimal}{frac:0width$}",
        group(whole, thousands),
        width = digits as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(amount: i64, code: &str) -> Money {
        Money::new(amount, code.parse().unwrap())
    }

    #[test]
    fn money_reads_as_sellers_write_it() {
        assert_eq!(format_money(money(15_000_000, "IDR")), "Rp 150.000");
        assert_eq!(format_money(money(15_000_050, "IDR")), "Rp 150.000,50");
        assert_eq!(format_money(money(1250, "MYR")), "RM 12.50");
        assert_eq!(format_money(money(250_000, "VND")), "₫ 250.000");
        assert_eq!(format_money(money(123_456_789, "SGD")), "S$ 1,234,567.89");
        assert_eq!(format_money(money(-990, "PHP")), "-₱ 9.90");
        assert_eq!(format_money(money(5, "THB")), "฿ 0.05");
    }

    #[test]
    fn times_are_local_to_the_organization() {
        // 2026-11-23T20:30:00Z
        let t = Timestamp::from_millis(1_795_465_800_000);
        assert_eq!(format_time(t, 0), "2026-11-23 20:30");
        assert_eq!(
            format_time(t, tz_offset_minutes("Asia/Jakarta")),
            "2026-11-24 03:30"
        );
        assert_eq!(local_day(t, 7 * 60), local_day(t, 0) + 1);
        assert_eq!(
            format_time(day_start(local_day(t, 420), 420), 420),
            "2026-11-24 00:00"
        );
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(19_723), (2024, 1, 1));
        assert_eq!(format_day(days_from_civil(2024, 2, 29)), "29 Feb");
        for n in [0, 19_723, 20_415, -1, 730_000] {
            let (y, m, d) = civil(n);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), n);
        }
        assert_eq!(tz_offset_minutes("Mars/Base"), 0);
    }
}
