//! Conversion between marketplace money (Shopee JSON floats, TikTok decimal
//! strings) and domain [`Money`] in integer minor units.
//!
//! Everything goes through exact decimal text: a float is first printed in
//! its shortest round-tripping form (which is the text the marketplace sent,
//! for any price with at most 15 significant digits), then parsed digit by
//! digit. Multiplying the float by 100 instead would turn 1.005 into
//! 100.49999999999999 and round the wrong way.

use storesync_domain::{Currency, Money};

use crate::error::ChannelError;

/// Parses a decimal string such as `"1.32"`, `"-0.5"` or `"15000"` into
/// minor units of `currency`, rounding half away from zero when the text has
/// more fraction digits than the currency.
pub fn decimal_to_money(text: &str, currency: Currency) -> Result<Money, ChannelError> {
    let bad = || ChannelError::protocol(format!("not a decimal amount: {text:?}"));
    let digits = u32::from(currency.minor_digits());
    let trimmed = text.trim();
    let (negative, unsigned) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    let (int_part, frac_part) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int_part.is_empty() && frac_part.is_empty())
        || !all_digits(int_part)
        || !all_digits(frac_part)
    {
        return Err(bad());
    }

    let overflow = || ChannelError::protocol(format!("amount out of range: {text:?}"));
    let mut minor: i128 = 0;
    for b in int_part.bytes() {
        minor = minor
            .checked_mul(10)
            .and_then(|m| m.checked_add(i128::from(b - b'0')))
            .ok_or_else(overflow)?;
    }
    let frac = frac_part.as_bytes();
    for i in 0..digits as usize {
        let d = frac.get(i).map_or(0, |b| b - b'0');
        minor = minor
            .checked_mul(10)
            .and_then(|m| m.checked_add(i128::from(d)))
            .ok_or_else(overflow)?;
    }
    // Half away from zero: the first dropped digit alone decides, because any
    // digit of 5 or more means the dropped part is at least one half.
    if frac.get(digits as usize).is_some_and(|b| *b >= b'5') {
        minor = minor.checked_add(1).ok_or_else(overflow)?;
    }
    if negative {
        minor = -minor;
    }
    let amount = i64::try_from(minor).map_err(|_| overflow())?;
    Ok(Money::new(amount, currency))
}

/// Converts a JSON float (Shopee prices) into minor units of `currency`,
/// rounding half away from zero on the decimal text the float came from.
pub fn float_to_money(value: f64, currency: Currency) -> Result<Money, ChannelError> {
    if !value.is_finite() {
        return Err(ChannelError::protocol(format!(
            "amount is not a finite number: {value}"
        )));
    }
    // `Display` for f64 prints the shortest text that parses back to the same
    // float, without exponent notation.
    decimal_to_money(&value.to_string(), currency)
}

/// Renders money as the shortest exact decimal string (`"1.32"`, `"1.3"`,
/// `"15000"`), the form TikTok expects for `amount`. Trailing fraction zeros
/// are dropped so that whole amounts also suit integer-only regions.
pub fn money_to_decimal(money: Money) -> String {
    let digits = usize::from(money.currency.minor_digits());
    let negative = money.amount < 0;
    let magnitude = money.amount.unsigned_abs().to_string();
    let padded = format!("{magnitude:0>width$}", width = digits + 1);
    let (int_part, frac_part) = padded.split_at(padded.len() - digits);
    let frac_part = frac_part.trim_end_matches('0');
    let sign = if negative { "-" } else { "" };
    if frac_part.is_empty() {
        format!("{sign}{int_part}")
    } else {
        format!("{sign}{int_part}.{frac_part}")
    }
}

/// Renders money as a JSON number (Shopee `original_price`): an integer when
/// the amount is whole, otherwise the float nearest to the exact decimal.
///
/// Dividing the exact integer by a power of ten is correctly rounded in IEEE
/// arithmetic, so the float prints back as the intended decimal (1999 / 100
/// serializes as `19.99`).
pub fn money_to_json_number(money: Money) -> serde_json::Number {
    let scale = 10_i64.pow(u32::from(money.currency.minor_digits()));
    if money.amount % scale == 0 {
        serde_json::Number::from(money.amount / scale)
    } else {
        // Amounts below 2^53 minor units convert to f64 exactly.
        #[allow(clippy::cast_precision_loss)]
        let value = money.amount as f64 / scale as f64;
        serde_json::Number::from_f64(value).unwrap_or_else(|| serde_json::Number::from(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(code: &str) -> Currency {
        code.parse().unwrap()
    }

    #[test]
    fn decimal_strings_convert_exactly() {
        let usd = cur("USD");
        let idr = cur("IDR");
        let vnd = cur("VND");
        let cases: &[(&str, Currency, i64)] = &[
            ("1.32", usd, 132),
            ("0.01", usd, 1),
            ("19.99", usd, 1999),
            ("15000", idr, 1_500_000),
            ("15000.00", idr, 1_500_000),
            ("0.3", usd, 30),
            ("1.005", usd, 101),
            ("1.004", usd, 100),
            ("1.0049999", usd, 100),
            ("-1.005", usd, -101),
            ("2.5", vnd, 3),
            ("-2.5", vnd, -3),
            ("2.4999", vnd, 2),
            ("  7.10 ", usd, 710),
            (".5", usd, 50),
            ("5.", usd, 500),
            ("+3", usd, 300),
            ("92233720368547758.07", usd, i64::MAX),
        ];
        for (text, currency, want) in cases {
            assert_eq!(
                decimal_to_money(text, *currency).unwrap(),
                Money::new(*want, *currency),
                "{text}"
            );
        }
        for bad in [
            "",
            ".",
            "-",
            "1,5",
            "1e3",
            "abc",
            "1.2.3",
            "92233720368547758.08",
        ] {
            assert!(decimal_to_money(bad, usd).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn floats_convert_via_their_decimal_text() {
        let usd = cur("USD");
        let vnd = cur("VND");
        // Each of these goes wrong with a naive `(x * 100.0) as i64`.
        let cases: &[(f64, Currency, i64)] = &[
            (19.99, usd, 1999),
            (0.1 + 0.2, usd, 30),
            (1.005, usd, 101),
            (4.35, usd, 435),
            (0.07, usd, 7),
            (1.15, usd, 115),
            (11.11, usd, 1111),
            (123_456.78, usd, 12_345_678),
            (15000.0, usd, 1_500_000),
            (-2.675, usd, -268),
            (99_999_999.99, usd, 9_999_999_999),
            (1_500_000.0, vnd, 1_500_000),
            (0.5, vnd, 1),
        ];
        for (value, currency, want) in cases {
            assert_eq!(
                float_to_money(*value, *currency).unwrap(),
                Money::new(*want, *currency),
                "{value}"
            );
        }
        assert!(float_to_money(f64::NAN, usd).is_err());
        assert!(float_to_money(f64::INFINITY, usd).is_err());
    }

    #[test]
    fn money_renders_back_exactly() {
        let usd = cur("USD");
        let vnd = cur("VND");
        assert_eq!(money_to_decimal(Money::new(132, usd)), "1.32");
        assert_eq!(money_to_decimal(Money::new(130, usd)), "1.3");
        assert_eq!(money_to_decimal(Money::new(1, usd)), "0.01");
        assert_eq!(money_to_decimal(Money::new(-5, usd)), "-0.05");
        assert_eq!(money_to_decimal(Money::new(1_500_000, usd)), "15000");
        assert_eq!(money_to_decimal(Money::new(1_500_000, vnd)), "1500000");
        assert_eq!(money_to_decimal(Money::new(0, usd)), "0");

        let json = |m| serde_json::to_string(&money_to_json_number(m)).unwrap();
        assert_eq!(json(Money::new(1999, usd)), "19.99");
        assert_eq!(json(Money::new(1111, usd)), "11.11");
        assert_eq!(json(Money::new(101, usd)), "1.01");
        assert_eq!(json(Money::new(1_500_000, usd)), "15000");
        assert_eq!(json(Money::new(1_500_000, vnd)), "1500000");
        // Whatever we send parses back to the same minor units.
        for amount in [1, 7, 99, 1005, 123_456_789, 9_999_999_999] {
            let n = money_to_json_number(Money::new(amount, usd));
            let back = float_to_money(n.as_f64().unwrap(), usd).unwrap();
            assert_eq!(back.amount, amount);
        }
    }
}
