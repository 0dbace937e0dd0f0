//! The order state machine: the only place that says which status may follow which.
//!
//! ```text
//! awaiting_confirmation ─▶ quoted ─▶ accepted ─▶ in_progress ─▶ ready ─▶ delivered
//!          │                 │          │             │   ▲        │
//!          │                 │          │             │   └────────┘ (rework, reason)
//!          ├──────▶ accepted │          │             │
//!          └─▶ rejected / cancelled ◀───┴─────────────┘   (a reason when staff do it)
//! ```

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
}
