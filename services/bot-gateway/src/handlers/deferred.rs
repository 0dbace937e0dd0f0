//! What a handler returns: done, failed, or [`Deferred`] (left with Telegram for later).

use teloxide::types::ChatId;

pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;
pub type HandlerResult = Result<(), HandlerError>;

/// An update whose work cannot be done now (the broker did not confirm, MySQL did not
/// answer, Telegram did not take the replies) and must not be lost: the update loop leaves
/// it with Telegram (polling: the offset stays before it; webhook: a non-2xx answer), and
/// Telegram delivers it again. The handler changed nothing that would make the second
/// delivery go differently.
///
/// `notice` is what the customer is told, once per update and process, so that a retried
/// update does not repeat it.
#[derive(Debug)]
pub struct Deferred {
    pub reason: String,
    pub notice: Option<(ChatId, String)>,
}

impl Deferred {
    pub fn boxed(reason: impl Into<String>, notice: Option<(ChatId, String)>) -> HandlerError {
        Box::new(Deferred {
            reason: reason.into(),
            notice,
        })
    }

    pub fn is(outcome: &HandlerResult) -> bool {
        outcome
            .as_ref()
            .is_err_and(|error| error.downcast_ref::<Deferred>().is_some())
    }
}

impl std::fmt::Display for Deferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "deferred: {}", self.reason)
    }
}

impl std::error::Error for Deferred {}
