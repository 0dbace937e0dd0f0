//! Who may do what in the back office, written once as a matrix: every route (page and API)
//! names the [`Act`] it performs, and [`allows`] answers for a role and for whose order it
//! is. Handlers ask nothing else; the matrix test walks every cell over HTTP.
//!
//! | act \ role         | admin | manager | executor: own | executor: unassigned | executor: someone else's |
//! |--------------------|-------|---------|---------------|----------------------|--------------------------|
//! | see lists, feed    | yes   | yes     | yes (only own, and unassigned with the setting) | | |
//! | see an order       | yes   | yes     | yes           | with the setting     | no                       |
//! | download a file    | yes   | yes     | yes           | no                   | no                       |
//! | change status      | yes   | yes     | yes (start, finish: `Role::may_move_order`) | no | no          |
//! | reply, comment     | yes   | yes     | yes           | no                   | no                       |
//! | upload a result    | yes   | yes     | yes           | no                   | no                       |
//! | quote              | yes   | yes     | no            | no                   | no                       |
//! | record a payment, a refund (and see them) | yes | yes | no | no             | no                       |
//! | assign             | yes   | yes     | no            | no                   | no                       |
//! | take (assign self) | yes   | yes     | —             | with the setting     | no                       |
//! | revoke links       | yes   | yes     | yes           | no                   | no                       |
//! | see a customer     | yes   | yes     | yes           | with the setting     | no                       |
//!
//! A customer is an executor's "own" when one of their orders is assigned to the executor,
//! "unassigned" when one of their orders is unassigned, "someone else's" otherwise
//! (`office::gate::customer`); an executor's customer page shows only the orders they may see.
//!
//! Running the business (no order involved; `whose` does not matter):
//!
//! | act \ role                 | admin | manager | executor |
//! |----------------------------|-------|---------|----------|
//! | manage staff accounts      | yes   | no      | no       |
//! | edit the catalogue, prices | yes   | yes     | no       |
//! | create, rename, deactivate rooms (bookable resources) | yes | yes | no |
//! | edit the business details  | yes   | no      | no       |
//! | see the audit log          | yes   | no      | no       |
//! | see reports and export them | yes | yes  | no       |
//!
//! Customers are refused everything here. An executor never learns whether someone else's
//! order exists beyond "not yours": the refusal is the same for every such order.

use bureau_accounts::{Account, Role};
use uuid::Uuid;

/// What a route does to an order (or to the lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Act {
    /// The list, the board, the staff feed, a status request's outcome.
    SeeLists,
    SeeOrder,
    DownloadFile,
    ChangeStatus,
    Reply,
    Comment,
    UploadResult,
    Quote,
    /// Record a payment made another way than Telegram (bank transfer, cash) or a refund,
    /// and see an order's payments: who may set a price may handle its money.
    RecordMoney,
    Assign,
    /// An executor assigns an unassigned order to themselves.
    Take,
    /// Withdraw an order's upload and download links.
    RevokeLinks,
    /// A customer's page (their details and orders).
    SeeCustomer,
    // Running the business (`office::admin`).
    ManageStaff,
    EditCatalogue,
    /// Create, rename, deactivate bookable resources (rooms) and say which services they do
    /// (`office::resources`).
    ManageResources,
    EditBusiness,
    SeeAudit,
    /// The reports and their CSV exports: the whole business's figures, not one order's.
    SeeReports,
}

impl Act {
    pub const ALL: [Act; 19] = [
        Act::SeeLists,
        Act::SeeOrder,
        Act::DownloadFile,
        Act::ChangeStatus,
        Act::Reply,
        Act::Comment,
        Act::UploadResult,
        Act::Quote,
        Act::RecordMoney,
        Act::Assign,
        Act::Take,
        Act::RevokeLinks,
        Act::SeeCustomer,
        Act::ManageStaff,
        Act::EditCatalogue,
        Act::ManageResources,
        Act::EditBusiness,
        Act::SeeAudit,
        Act::SeeReports,
    ];
}

/// Whose order it is, seen from the staff member asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Whose {
    /// Assigned to the one asking.
    Own,
    Unassigned,
    /// Assigned to another staff member.
    Others,
}

impl Whose {
    pub const ALL: [Whose; 3] = [Whose::Own, Whose::Unassigned, Whose::Others];

    pub fn of(account: &Account, assignee: Option<Uuid>) -> Whose {
        match assignee {
            None => Whose::Unassigned,
            Some(id) if id == account.id => Whose::Own,
            Some(_) => Whose::Others,
        }
    }
}

/// The business's choices that widen the matrix.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// Executors see unassigned orders and may take one (`web_gateway.executors_take_unassigned`).
    pub executors_take_unassigned: bool,
}

/// The matrix.
pub fn allows(role: Role, act: Act, whose: Whose, policy: Policy) -> bool {
    match act {
        Act::ManageStaff | Act::EditBusiness | Act::SeeAudit => return role == Role::Admin,
        Act::EditCatalogue | Act::ManageResources => {
            return matches!(role, Role::Admin | Role::Manager);
        }
        _ => {}
    }
    match role {
        Role::Customer => false,
        Role::Admin | Role::Manager => true,
        Role::Executor => match act {
            Act::SeeLists => true,
            Act::Quote | Act::RecordMoney | Act::Assign | Act::SeeReports => false,
            Act::Take => whose == Whose::Unassigned && policy.executors_take_unassigned,
            Act::SeeOrder | Act::SeeCustomer => {
                whose == Whose::Own
                    || (whose == Whose::Unassigned && policy.executors_take_unassigned)
            }
            Act::DownloadFile
            | Act::ChangeStatus
            | Act::Reply
            | Act::Comment
            | Act::UploadResult
            | Act::RevokeLinks => whose == Whose::Own,
            Act::ManageStaff
            | Act::EditCatalogue
            | Act::ManageResources
            | Act::EditBusiness
            | Act::SeeAudit => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The matrix as the docs state it, cell by cell: (act, admin, manager, executor own,
    /// executor unassigned, executor others'), with the setting off and on.
    #[test]
    fn every_cell_is_as_documented() {
        const Y: bool = true;
        const N: bool = false;
        #[rustfmt::skip]
        let table: [(Act, [bool; 5], [bool; 5]); 19] = [
            //                   setting off          setting on
            (Act::SeeLists,     [Y, Y, Y, Y, Y], [Y, Y, Y, Y, Y]),
            (Act::SeeOrder,     [Y, Y, Y, N, N], [Y, Y, Y, Y, N]),
            (Act::DownloadFile, [Y, Y, Y, N, N], [Y, Y, Y, N, N]),
            (Act::ChangeStatus, [Y, Y, Y, N, N], [Y, Y, Y, N, N]),
            (Act::Reply,        [Y, Y, Y, N, N], [Y, Y, Y, N, N]),
            (Act::Comment,      [Y, Y, Y, N, N], [Y, Y, Y, N, N]),
            (Act::UploadResult, [Y, Y, Y, N, N], [Y, Y, Y, N, N]),
            (Act::Quote,        [Y, Y, N, N, N], [Y, Y, N, N, N]),
            (Act::RecordMoney,  [Y, Y, N, N, N], [Y, Y, N, N, N]),
            (Act::Assign,       [Y, Y, N, N, N], [Y, Y, N, N, N]),
            (Act::Take,         [Y, Y, N, N, N], [Y, Y, N, Y, N]),
            (Act::RevokeLinks,  [Y, Y, Y, N, N], [Y, Y, Y, N, N]),
            (Act::SeeCustomer,  [Y, Y, Y, N, N], [Y, Y, Y, Y, N]),
            (Act::ManageStaff,  [Y, N, N, N, N], [Y, N, N, N, N]),
            (Act::EditCatalogue,[Y, Y, N, N, N], [Y, Y, N, N, N]),
            (Act::ManageResources,[Y, Y, N, N, N], [Y, Y, N, N, N]),
            (Act::EditBusiness, [Y, N, N, N, N], [Y, N, N, N, N]),
            (Act::SeeAudit,     [Y, N, N, N, N], [Y, N, N, N, N]),
            (Act::SeeReports,   [Y, Y, N, N, N], [Y, Y, N, N, N]),
        ];
        assert_eq!(table.len(), Act::ALL.len());
        for (act, off, on) in table {
            for (cells, setting) in [(off, false), (on, true)] {
                let policy = Policy {
                    executors_take_unassigned: setting,
                };
                let got = [
                    allows(Role::Admin, act, Whose::Others, policy),
                    allows(Role::Manager, act, Whose::Others, policy),
                    allows(Role::Executor, act, Whose::Own, policy),
                    allows(Role::Executor, act, Whose::Unassigned, policy),
                    allows(Role::Executor, act, Whose::Others, policy),
                ];
                assert_eq!(got, cells, "{act:?}, setting {setting}");
                for whose in Whose::ALL {
                    assert_eq!(allows(Role::Admin, act, whose, policy), cells[0]);
                    assert_eq!(allows(Role::Manager, act, whose, policy), cells[1]);
                    assert!(!allows(Role::Customer, act, whose, policy));
                }
            }
        }
    }
}
