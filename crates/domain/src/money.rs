//! Money as integer minor units plus an ISO 4217 currency. Never a float.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Currencies StoreSync accepts, with the number of minor-unit digits each is
/// written with. The list covers the markets our sellers trade in plus the
/// common settlement currencies; an unknown code is a validation error rather
/// than a silently accepted typo.
const CURRENCIES: &[(&str, u8)] = &[
    ("AUD", 2),
    ("BND", 2),
    ("CNY", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("IDR", 2),
    ("INR", 2),
    ("JPY", 0),
    ("KHR", 2),
    ("KRW", 0),
    ("LAK", 2),
    ("MMK", 2),
    ("MYR", 2),
    ("PHP", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TWD", 2),
    ("USD", 2),
    ("VND", 0),
];

/// An ISO 4217 currency code that StoreSync knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown currency code {0:?} (expected an ISO 4217 code such as IDR, MYR, SGD)")]
pub struct UnknownCurrency(pub String);

impl Currency {
    pub fn as_str(&self) -> &str {
        // The bytes were copied from one of the ASCII codes in CURRENCIES.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// Digits after the decimal point when the amount is shown to a person.
    pub fn minor_digits(&self) -> u8 {
        CURRENCIES
            .iter()
            .find(|(code, _)| code.as_bytes() == self.0)
            .map_or(2, |(_, digits)| *digits)
    }
}

impl FromStr for Currency {
    type Err = UnknownCurrency;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CURRENCIES
            .iter()
            .find(|(code, _)| *code == s)
            .and_then(|(code, _)| <[u8; 3]>::try_from(code.as_bytes()).ok())
            .map(Currency)
            .ok_or_else(|| UnknownCurrency(s.to_owned()))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An amount in minor units (e.g. cents, sen) of a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Minor units.
    pub amount: i64,
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("currency mismatch: {0} and {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount overflow")]
    Overflow,
}

impl Money {
    pub fn new(amount: i64, currency: Currency) -> Self {
        Self { amount, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        self.amount
            .checked_add(other.amount)
            .map(|amount| Money::new(amount, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_mul(self, factor: i64) -> Result<Money, MoneyError> {
        self.amount
            .checked_mul(factor)
            .map(|amount| Money::new(amount, self.currency))
            .ok_or(MoneyError::Overflow)
    }
}

impl fmt::Display for Money {
    /// Formats as `1,234.50 MYR`, using the currency's minor digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = u32::from(self.currency.minor_digits());
        let scale = 10i128.pow(digits);
        let amount = i128::from(self.amount);
        let (major, minor) = (amount.abs() / scale, amount.abs() % scale);
        let sign = if amount < 0 { "-" } else { "" };
        let major = major.to_string();
        let mut grouped = String::with_capacity(major.len() + major.len() / 3);
        for (i, ch) in major.chars().enumerate() {
            if i > 0 && (major.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        if digits == 0 {
            write!(f, "{sign}{grouped} {}", self.currency)
        } else {
            write!(
                f,
                "{sign}{grouped}.{minor:0width$} {}",
                self.currency,
                width = digits as usize
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_currencies_only() {
        assert_eq!("IDR".parse::<Currency>().unwrap().as_str(), "IDR");
        assert!("idr".parse::<Currency>().is_err());
        assert!("XXX".parse::<Currency>().is_err());
    }

    #[test]
    fn adds_only_same_currency() {
        let myr: Currency = "MYR".parse().unwrap();
        let sgd: Currency = "SGD".parse().unwrap();
        assert_eq!(
            Money::new(150, myr)
                .checked_add(Money::new(50, myr))
                .unwrap(),
            Money::new(200, myr)
        );
        assert!(Money::new(1, myr).checked_add(Money::new(1, sgd)).is_err());
        assert_eq!(
            Money::new(i64::MAX, myr).checked_mul(2),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn displays_with_minor_digits() {
        let myr: Currency = "MYR".parse().unwrap();
        let vnd: Currency = "VND".parse().unwrap();
        assert_eq!(Money::new(123450, myr).to_string(), "1,234.50 MYR");
        assert_eq!(Money::new(-5, myr).to_string(), "-0.05 MYR");
        assert_eq!(Money::new(1500000, vnd).to_string(), "1,500,000 VND");
    }
}
