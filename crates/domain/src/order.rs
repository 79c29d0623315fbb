//! The unified order status machine every channel's statuses map onto.
//!
//! Statuses only move forward. A transition to the status an order already
//! has, or to one it has already passed, is a no-op (marketplaces deliver
//! late and duplicated events); a transition that contradicts the order's
//! history (shipping a cancelled order) is illegal. Each applied transition
//! names the one stock effect it carries, so effects happen exactly once.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed, not yet paid or confirmed. Stock is already reserved.
    Pending,
    /// Paid/confirmed and waiting for the seller to ship.
    ReadyToShip,
    /// Handed to the carrier; stock has left the building.
    Shipped,
    Delivered,
    Completed,
    /// Cancelled before shipping; reserved stock went back.
    Cancelled,
    /// Came back after shipping.
    Returned,
}

/// What an applied transition does to stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StockEffect {
    None,
    /// Deduct on-hand and close the reservations (goods left).
    Fulfil,
    /// Close the reservations without touching on-hand.
    Release,
    /// Goods came back: put them on hand again (if the seller wants that).
    Restock,
}

/// Result of asking the machine to move an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Apply(StockEffect),
    /// Duplicate or late: nothing changes.
    NoOp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an order that is {from} cannot become {to}")]
pub struct IllegalTransition {
    pub from: OrderStatus,
    pub to: OrderStatus,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 7] = [
        OrderStatus::Pending,
        OrderStatus::ReadyToShip,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
        OrderStatus::Returned,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::ReadyToShip => "ready_to_ship",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Returned => "returned",
        }
    }

    /// Whether the order still holds reserved stock.
    pub fn holds_reservation(&self) -> bool {
        matches!(self, OrderStatus::Pending | OrderStatus::ReadyToShip)
    }

    /// Whether goods have left (shipped or any later fulfilled state).
    fn fulfilled(&self) -> bool {
        matches!(
            self,
            OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::Completed
        )
    }

    /// Position on the main line pending → … → completed.
    fn rank(&self) -> Option<u8> {
        match self {
            OrderStatus::Pending => Some(0),
            OrderStatus::ReadyToShip => Some(1),
            OrderStatus::Shipped => Some(2),
            OrderStatus::Delivered => Some(3),
            OrderStatus::Completed => Some(4),
            OrderStatus::Cancelled | OrderStatus::Returned => None,
        }
    }

    /// Decide what moving from `self` to `to` means.
    pub fn transition(self, to: OrderStatus) -> Result<Transition, IllegalTransition> {
        use OrderStatus::*;
        let illegal = Err(IllegalTransition { from: self, to });
        if self == to {
            return Ok(Transition::NoOp);
        }
        match (self, to) {
            // Along the main line: forward applies, backward is a late event.
            (from, to) if from.rank().is_some() && to.rank().is_some() => {
                if to.rank() < from.rank() {
                    Ok(Transition::NoOp)
                } else if from.holds_reservation() && to.fulfilled() {
                    Ok(Transition::Apply(StockEffect::Fulfil))
                } else {
                    Ok(Transition::Apply(StockEffect::None))
                }
            }
            (from, Cancelled) if from.holds_reservation() => {
                Ok(Transition::Apply(StockEffect::Release))
            }
            (from, Returned) if from.fulfilled() => Ok(Transition::Apply(StockEffect::Restock)),
            // A cancelled order may still receive its earlier, late events.
            (Cancelled, to) if to.holds_reservation() => Ok(Transition::NoOp),
            // Everything on the main line happened before a return.
            (Returned, to) if to.rank().is_some() => Ok(Transition::NoOp),
            _ => illegal,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown order status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for OrderStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrderStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::*;
    use super::*;

    #[test]
    fn table_of_every_pair() {
        use StockEffect as E;
        use Transition::{Apply, NoOp};
        let ill = |from, to| Err(IllegalTransition { from, to });
        #[rustfmt::skip]
        let table: Vec<(OrderStatus, OrderStatus, Result<Transition, IllegalTransition>)> = vec![
            (Pending, ReadyToShip, Ok(Apply(E::None))),
            (Pending, Shipped, Ok(Apply(E::Fulfil))),
            (Pending, Delivered, Ok(Apply(E::Fulfil))),
            (Pending, Completed, Ok(Apply(E::Fulfil))),
            (Pending, Cancelled, Ok(Apply(E::Release))),
            (Pending, Returned, ill(Pending, Returned)),
            (ReadyToShip, Pending, Ok(NoOp)),
            (ReadyToShip, Shipped, Ok(Apply(E::Fulfil))),
            (ReadyToShip, Delivered, Ok(Apply(E::Fulfil))),
            (ReadyToShip, Completed, Ok(Apply(E::Fulfil))),
            (ReadyToShip, Cancelled, Ok(Apply(E::Release))),
            (ReadyToShip, Returned, ill(ReadyToShip, Returned)),
            (Shipped, Pending, Ok(NoOp)),
            (Shipped, ReadyToShip, Ok(NoOp)),
            (Shipped, Delivered, Ok(Apply(E::None))),
            (Shipped, Completed, Ok(Apply(E::None))),
            (Shipped, Cancelled, ill(Shipped, Cancelled)),
            (Shipped, Returned, Ok(Apply(E::Restock))),
            (Delivered, Pending, Ok(NoOp)),
            (Delivered, ReadyToShip, Ok(NoOp)),
            (Delivered, Shipped, Ok(NoOp)),
            (Delivered, Completed, Ok(Apply(E::None))),
            (Delivered, Cancelled, ill(Delivered, Cancelled)),
            (Delivered, Returned, Ok(Apply(E::Restock))),
            (Completed, Pending, Ok(NoOp)),
            (Completed, ReadyToShip, Ok(NoOp)),
            (Completed, Shipped, Ok(NoOp)),
            (Completed, Delivered, Ok(NoOp)),
            (Completed, Cancelled, ill(Completed, Cancelled)),
            (Completed, Returned, Ok(Apply(E::Restock))),
            (Cancelled, Pending, Ok(NoOp)),
            (Cancelled, ReadyToShip, Ok(NoOp)),
            (Cancelled, Shipped, ill(Cancelled, Shipped)),
            (Cancelled, Delivered, ill(Cancelled, Delivered)),
            (Cancelled, Completed, ill(Cancelled, Completed)),
            (Cancelled, Returned, ill(Cancelled, Returned)),
            (Returned, Pending, Ok(NoOp)),
            (Returned, ReadyToShip, Ok(NoOp)),
            (Returned, Shipped, Ok(NoOp)),
            (Returned, Delivered, Ok(NoOp)),
            (Returned, Completed, Ok(NoOp)),
            (Returned, Cancelled, ill(Returned, Cancelled)),
        ];
        assert_eq!(table.len(), 42, "every ordered pair of distinct statuses");
        for (from, to, want) in table {
            assert_eq!(from.transition(to), want, "{from} -> {to}");
        }
        for s in OrderStatus::ALL {
            assert_eq!(s.transition(s), Ok(NoOp));
            assert_eq!(s.as_str().parse::<OrderStatus>().unwrap(), s);
        }
    }

    #[test]
    fn reservation_is_released_or_fulfilled_exactly_once_along_any_path() {
        // Walk every sequence of up to four target statuses and check that the
        // effects applied never release/fulfil more than once.
        fn walk(state: OrderStatus, depth: u8, closed: u8, restocked: u8) {
            assert!(closed <= 1 && restocked <= 1);
            if depth == 0 {
                return;
            }
            for to in OrderStatus::ALL {
                match state.transition(to) {
                    Ok(Transition::Apply(e)) => {
                        let c = closed
                            + u8::from(matches!(e, StockEffect::Fulfil | StockEffect::Release));
                        let r = restocked + u8::from(e == StockEffect::Restock);
                        walk(to, depth - 1, c, r);
                    }
                    Ok(Transition::NoOp) | Err(_) => walk(state, depth - 1, closed, restocked),
                }
            }
        }
        walk(Pending, 4, 0, 0);
    }
}
