//! Types that can only hold valid values. Input is parsed into them once, at the edge, and
//! everything past the edge relies on them instead of re-checking strings
//! (zero-to-production's "parse, don't validate"). Each error is a sentence a person can act on.

mod display_name;
mod email;
mod order_text;
mod page;
mod password;
mod role;
mod service_code;
mod status_reason;
mod upload_name;

pub use display_name::{DisplayName, DisplayNameError};
pub use email::{Email, EmailError};
pub use order_text::{OrderText, OrderTextError};
pub use page::{Page, PageError};
pub use password::{Password, PasswordProblem, WeakPassword};
pub use role::{Role, UnknownRole};
pub use service_code::{ServiceCode, ServiceCodeError};
pub use status_reason::{StatusReason, StatusReasonError};
pub use upload_name::UploadName;
