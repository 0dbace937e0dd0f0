//! Types that can only hold valid values. Input is parsed into them once, at the edge, and
//! everything past the edge relies on them instead of re-checking strings
//! (zero-to-production's "parse, don't validate"). Each error is a sentence a person can act on.
//!
//! The account's types (email, password, display name, role) live with account creation
//! in `bureau-accounts`, which the operator's command uses too; they are re-exported here.

mod order_text;
mod page;
mod served_type;
mod service_code;
mod status_reason;
mod upload_name;

pub use bureau_accounts::{
    DisplayName, DisplayNameError, Email, EmailError, Password, PasswordProblem, Role, UnknownRole,
    WeakPassword,
};
pub use order_text::{OrderText, OrderTextError};
pub use page::{Cursor, Page, PageError};
pub use served_type::{OPAQUE, Served, served};
pub use service_code::{ServiceCode, ServiceCodeError};
pub use status_reason::{StatusReason, StatusReasonError};
pub use upload_name::UploadName;
