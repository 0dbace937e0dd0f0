//! The one gate every staff route passes, pages (`/office/...`) and JSON (`/api/staff/...`)
//! alike: find the object (an order, a customer), work out whose it is for the staff member
//! asking, and ask the matrix ([`permissions::allows`]). The pages answer a refusal with a
//! page, the API with JSON; what is refused is the same.
//!
//! Staff actions reach the audit log through `queries::office::audit`, from either side.

use bureau_accounts::Account;
use sqlx::MySqlPool;
use uuid::Uuid;

use super::permissions::{self, Act, Policy, Whose};

/// Why the gate stays shut.
#[derive(Debug)]
pub enum Refused {
    /// No such order (or customer): the same answer for a malformed id.
    NotFound,
    /// The matrix says no.
    NotYours,
    Database(sqlx::Error),
}

impl From<sqlx::Error> for Refused {
    fn from(error: sqlx::Error) -> Refused {
        Refused::Database(error)
    }
}

/// The order `order_id` (as the URL has it), if it exists and `account` may do `act` to
/// it; with whose it is.
pub async fn order(
    pool: &MySqlPool,
    account: &Account,
    policy: Policy,
    order_id: &str,
    act: Act,
) -> Result<(Uuid, Whose), Refused> {
    let order_id = Uuid::parse_str(order_id).map_err(|_| Refused::NotFound)?;
    let assignee: Option<(Option<Uuid>,)> =
        sqlx::query_as("SELECT assignee_id FROM orders WHERE id = ?")
            .bind(order_id)
            .fetch_optional(pool)
            .await?;
    let (assignee,) = assignee.ok_or(Refused::NotFound)?;
    let whose = Whose::of(account, assignee);
    judge(account, act, whose, policy, "order", order_id)?;
    Ok((order_id, whose))
}

/// The customer `customer_id`, if they exist and `account` may do `act` about them. A
/// customer is an executor's own when one of their orders is assigned to the executor,
/// unassigned when one of their orders is unassigned (and none is the executor's), and
/// someone else's otherwise (all their orders are other people's, or they have none).
pub async fn customer(
    pool: &MySqlPool,
    account: &Account,
    policy: Policy,
    customer_id: &str,
    act: Act,
) -> Result<(Uuid, Whose), Refused> {
    let customer_id = Uuid::parse_str(customer_id).map_err(|_| Refused::NotFound)?;
    let found: Option<(i64, i64)> = sqlx::query_as(
        "SELECT CAST(COALESCE(MAX(o.assignee_id = ?), 0) AS SIGNED), \
                CAST(COALESCE(MAX(o.id IS NOT NULL AND o.assignee_id IS NULL), 0) AS SIGNED) \
         FROM customers c LEFT JOIN orders o ON o.customer_id = c.id \
         WHERE c.id = ? GROUP BY c.id",
    )
    .bind(account.id)
    .bind(customer_id)
    .fetch_optional(pool)
    .await?;
    let (own, unassigned) = found.ok_or(Refused::NotFound)?;
    let whose = if own != 0 {
        Whose::Own
    } else if unassigned != 0 {
        Whose::Unassigned
    } else {
        Whose::Others
    };
    judge(account, act, whose, policy, "customer", customer_id)?;
    Ok((customer_id, whose))
}

/// The lists, the board, the feed: no object, only the role.
pub fn lists(account: &Account, policy: Policy) -> Result<(), Refused> {
    if permissions::allows(account.role, Act::SeeLists, Whose::Own, policy) {
        Ok(())
    } else {
        Err(Refused::NotYours)
    }
}

fn judge(
    account: &Account,
    act: Act,
    whose: Whose,
    policy: Policy,
    kind: &str,
    id: Uuid,
) -> Result<(), Refused> {
    if permissions::allows(account.role, act, whose, policy) {
        Ok(())
    } else {
        tracing::info!(account_id = %account.id, kind, %id, ?act, ?whose, "refused by the matrix");
        Err(Refused::NotYours)
    }
}

/// What a staff member may do with a bookable resource's schedule and bookings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Edit the hours, book for customers, move and cancel bookings: admins and managers.
    Edit,
    /// See them: an executor who is that resource.
    View,
}

/// The schedule and calendar of a resource that is `resource_account` (a staff member's
/// account, or `None` for a room): admins and managers edit every one; an executor sees
/// their own only.
pub fn schedule(account: &Account, resource_account: Option<Uuid>) -> Result<Access, Refused> {
    use bureau_accounts::Role;
    match account.role {
        Role::Admin | Role::Manager => Ok(Access::Edit),
        Role::Executor if resource_account == Some(account.id) => Ok(Access::View),
        _ => Err(Refused::NotYours),
    }
}
