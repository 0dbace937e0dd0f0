//! The order state machine: the only place that says which status may follow which.
//!
//! ```text
//! awaiting_confirmation ─▶ quoted ─▶ accepted ─▶ in_progress ─▶ ready ─▶ delivered
//!          │                 │          │             │   ▲        │
//!          │                 │          │             │   └────────┘ (rework, reason)
//!          ├──────▶ accepted │          │             │
//!          └─▶ rejected / cancelled ◀───┴─────────────┘   (a reason when staff do it)
//! ```
//!
//! Staff make any move above (their roles narrow it further in the web gateway). Customers
//! make only their own few ([`OrderStatus::customer_next`]): cancel while the order is
//! not yet accepted, and answer a price quote — accept (`quoted → accepted`) or decline
//! (`quoted → cancelled`, reason [`QuoteAnswer::DECLINED_REASON`]). The persistence worker
//! applies these rules when it decides a request, whoever checked them before.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    AwaitingConfirmation,
    Quoted,
    Accepted,
    InProgress,
    Ready,
    Delivered,
    Cancelled,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("an order cannot go from {from} to {to}")]
    NotAllowed { from: OrderStatus, to: OrderStatus },
    #[error("going from {from} to {to} needs a reason")]
    ReasonRequired { from: OrderStatus, to: OrderStatus },
    #[error("a customer cannot move an order from {from} to {to}")]
    NotForCustomers { from: OrderStatus, to: OrderStatus },
}

/// A customer's answer to a price quote, as a move of the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuoteAnswer {
    Accept,
    Decline,
}

impl QuoteAnswer {
    /// The reason a declined quote's cancellation carries in the history.
    pub const DECLINED_REASON: &'static str = "quote declined";

    /// Where the answer moves a quoted order.
    pub fn target(self) -> OrderStatus {
        match self {
            QuoteAnswer::Accept => OrderStatus::Accepted,
            QuoteAnswer::Decline => OrderStatus::Cancelled,
        }
    }

    /// The reason the move carries.
    pub fn reason(self) -> Option<&'static str> {
        match self {
            QuoteAnswer::Accept => None,
            QuoteAnswer::Decline => Some(Self::DECLINED_REASON),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            QuoteAnswer::Accept => "accept",
            QuoteAnswer::Decline => "decline",
        }
    }
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 8] = [
        OrderStatus::AwaitingConfirmation,
        OrderStatus::Quoted,
        OrderStatus::Accepted,
        OrderStatus::InProgress,
        OrderStatus::Ready,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
        OrderStatus::Rejected,
    ];

    /// The stable name stored in MySQL and sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::AwaitingConfirmation => "awaiting_confirmation",
            OrderStatus::Quoted => "quoted",
            OrderStatus::Accepted => "accepted",
            OrderStatus::InProgress => "in_progress",
            OrderStatus::Ready => "ready",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Rejected => "rejected",
        }
    }

    pub fn parse(name: &str) -> Option<OrderStatus> {
        OrderStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            OrderStatus::Delivered | OrderStatus::Cancelled | OrderStatus::Rejected
        )
    }

    /// The statuses staff may move an order to from here.
    pub fn next(self) -> &'static [OrderStatus] {
        use OrderStatus::*;
        match self {
            AwaitingConfirmation => &[Quoted, Accepted, Rejected, Cancelled],
            Quoted => &[Accepted, Rejected, Cancelled],
            Accepted => &[InProgress, Cancelled, Rejected],
            InProgress => &[Ready, Cancelled],
            Ready => &[Delivered, InProgress],
            Delivered | Cancelled | Rejected => &[],
        }
    }

    /// Whether the customer may cancel the order themselves in this status.
    pub fn customer_may_cancel(self) -> bool {
        matches!(
            self,
            OrderStatus::AwaitingConfirmation | OrderStatus::Quoted
        )
    }

    /// The statuses a customer may move the order to themselves from here: a cancellation
    /// while [`OrderStatus::customer_may_cancel`], and the answers to a price quote.
    pub fn customer_next(self) -> &'static [OrderStatus] {
        use OrderStatus::*;
        match self {
            AwaitingConfirmation => &[Cancelled],
            Quoted => &[Accepted, Cancelled],
            _ => &[],
        }
    }

    /// Checks a move by the customer: only [`OrderStatus::customer_next`], never with a
    /// reason required (a customer's own cancellation explains itself).
    pub fn customer_transition(self, to: OrderStatus) -> Result<(), TransitionError> {
        if self.customer_next().contains(&to) {
            Ok(())
        } else if self.next().contains(&to) {
            Err(TransitionError::NotForCustomers { from: self, to })
        } else {
            Err(TransitionError::NotAllowed { from: self, to })
        }
    }

    fn needs_reason(self, to: OrderStatus) -> bool {
        matches!(to, OrderStatus::Rejected)
            || (to == OrderStatus::Cancelled && !self.customer_may_cancel())
            || (self == OrderStatus::Ready && to == OrderStatus::InProgress)
    }

    /// Checks a move by staff; `reason` must be non-blank where the move needs one.
    pub fn transition(self, to: OrderStatus, reason: Option<&str>) -> Result<(), TransitionError> {
        if !self.next().contains(&to) {
            return Err(TransitionError::NotAllowed { from: self, to });
        }
        let has_reason = reason.is_some_and(|r| !r.trim().is_empty());
        if self.needs_reason(to) && !has_reason {
            return Err(TransitionError::ReasonRequired { from: self, to });
        }
        Ok(())
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        assert_eq!(OrderStatus::parse("done"), None);
    }

    #[test]
    fn the_happy_path_is_allowed() {
        use OrderStatus::*;
        let path = [AwaitingConfirmation, Accepted, InProgress, Ready, Delivered];
        for pair in path.windows(2) {
            pair[0].transition(pair[1], None).unwrap();
        }
    }

    #[test]
    fn terminal_statuses_go_nowhere() {
        for s in OrderStatus::ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in OrderStatus::ALL {
                assert!(s.transition(to, Some("x")).is_err(), "{s} -> {to}");
            }
        }
    }

    #[test]
    fn skipping_ahead_is_refused() {
        let err = OrderStatus::AwaitingConfirmation.transition(OrderStatus::Ready, None);
        assert!(matches!(err, Err(TransitionError::NotAllowed { .. })));
    }

    #[test]
    fn rejection_and_late_cancellation_need_a_reason() {
        use OrderStatus::*;
        assert_eq!(
            AwaitingConfirmation.transition(Rejected, Some("  ")),
            Err(TransitionError::ReasonRequired {
                from: AwaitingConfirmation,
                to: Rejected
            })
        );
        AwaitingConfirmation.transition(Cancelled, None).unwrap();
        assert!(InProgress.transition(Cancelled, None).is_err());
        InProgress
            .transition(Cancelled, Some("customer called"))
            .unwrap();
        assert!(Ready.transition(InProgress, None).is_err());
    }

    #[test]
    fn customers_cancel_while_allowed_and_answer_quotes_nothing_else() {
        use OrderStatus::*;
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                let allowed = from.customer_transition(to).is_ok();
                let expected = matches!(
                    (from, to),
                    (AwaitingConfirmation, Cancelled) | (Quoted, Cancelled) | (Quoted, Accepted)
                );
                assert_eq!(allowed, expected, "{from} -> {to}");
                // Every customer move is a move staff could make too.
                if allowed {
                    from.transition(to, None).unwrap();
                }
            }
        }
        assert_eq!(
            Accepted.customer_transition(Cancelled),
            Err(TransitionError::NotForCustomers {
                from: Accepted,
                to: Cancelled
            })
        );
        assert_eq!(
            Delivered.customer_transition(Cancelled),
            Err(TransitionError::NotAllowed {
                from: Delivered,
                to: Cancelled
            })
        );
        for from in OrderStatus::ALL {
            let cancellable = from.customer_transition(Cancelled).is_ok();
            assert_eq!(cancellable, from.customer_may_cancel(), "{from}");
        }
    }

    #[test]
    fn quote_answers_are_customer_moves_from_quoted() {
        for answer in [QuoteAnswer::Accept, QuoteAnswer::Decline] {
            OrderStatus::Quoted
                .customer_transition(answer.target())
                .unwrap();
            OrderStatus::Quoted
                .transition(answer.target(), answer.reason())
                .unwrap();
        }
        assert_eq!(QuoteAnswer::Decline.reason(), Some("quote declined"));
        assert_eq!(QuoteAnswer::Accept.target(), OrderStatus::Accepted);
    }
}
