//! What an account may do: customers place orders, staff work them.

use std::fmt;

use proto_events::OrderStatus;
use serde::Serialize;

/// The `web_accounts.role` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Executor,
    Manager,
    Admin,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a role; roles are admin, manager, executor and customer")]
pub struct UnknownRole(pub String);

impl Role {
    pub const ALL: [Role; 4] = [Role::Customer, Role::Executor, Role::Manager, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Executor => "executor",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    pub fn parse(name: &str) -> Result<Role, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == name)
            .ok_or_else(|| UnknownRole(name.to_owned()))
    }

    pub fn is_staff(self) -> bool {
        self != Role::Customer
    }

    /// Whether this role may make a move the state machine allows. Executors do the work,
    /// so they only start it and finish it; deciding about an order (quoting, accepting,
    /// rejecting, cancelling, delivering, sending back for rework) is for managers and admins.
    pub fn may_move_order(self, from: OrderStatus, to: OrderStatus) -> bool {
        match self {
            Role::Admin | Role::Manager => true,
            Role::Executor => matches!(
                (from, to),
                (OrderStatus::Accepted, OrderStatus::InProgress)
                    | (OrderStatus::InProgress, OrderStatus::Ready)
            ),
            Role::Customer => false,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus::*;

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert!(Role::parse("root").is_err());
    }

    #[test]
    fn executors_only_start_and_finish_work() {
        assert!(Role::Executor.may_move_order(Accepted, InProgress));
        assert!(Role::Executor.may_move_order(InProgress, Ready));
        assert!(!Role::Executor.may_move_order(AwaitingConfirmation, Accepted));
        assert!(!Role::Executor.may_move_order(Ready, Delivered));
        assert!(!Role::Executor.may_move_order(InProgress, Cancelled));
    }

    #[test]
    fn managers_and_admins_make_any_move_customers_none() {
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                assert!(Role::Manager.may_move_order(from, to));
                assert!(Role::Admin.may_move_order(from, to));
                assert!(!Role::Customer.may_move_order(from, to));
            }
        }
    }
}
