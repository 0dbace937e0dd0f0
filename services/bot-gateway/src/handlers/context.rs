//! What a handler is given for one update and answers through: [`Chat`] for anything said
//! in a chat, [`Press`] for a button press. Each speaks the conversation's language and
//! queues what the bot says; a press also carries its answer (the notice over the button:
//! every press gets one) and edits the message it was under in place.
//!
//! [`enter_message`] and [`enter_press`] make them, around the rest of the schema: take the
//! chat's turn (one update at a time per chat, across replicas: see
//! [`chat_turns`](crate::chat_turns)), load the conversation, say first what an earlier
//! delivery of the chat's updates left unsaid, run the handler, then answer the press and
//! deliver the replies, keeping what Telegram would not take (see
//! [`replies`](crate::replies)). When MySQL cannot be read, the update falls through to the
//! outage handlers, which defer it.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{ControlFlow, Deref};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bureau_kit::retry::Backoff;
use proto_events::Envelope;
use teloxide::dispatching::dialogue::GetChatId;
use teloxide::dispatching::{DpHandlerDescription, UpdateHandler};
use teloxide::dptree::di::DependencyMap;
use teloxide::dptree::{self, HandlerDescription, HandlerSignature, Type};
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardMarkup, ReplyMarkup, User};

use super::deferred::{Deferred, HandlerError, HandlerResult};
use crate::chat_turns::ChatTurn;
use crate::desk::Desk;
use crate::dialogue::{ChatDialogue, Conversation, Draft, Language, Stage};
use crate::keyboards;
use crate::replies::{self, Invoice, Reply, Undelivered};
use crate::stage_times::{self, Stage as Timed};
use crate::storage::StorageError;
use crate::telegram::GatewayBot;
use crate::texts::{Words, key};

/// Anything said in a chat, as a handler sees it.
#[derive(Clone)]
pub struct Chat {
    pub desk: Arc<Desk>,
    pub id: ChatId,
    /// The language the conversation is in.
    pub language: Language,
    pub(super) bot: GatewayBot,
    dialogue: ChatDialogue,
    first_contact: bool,
    /// The update being handled, remembered with every save.
    update_id: u32,
    said: Arc<Mutex<Said>>,
}

/// What a handler did that is acted on once it is done.
#[derive(Default)]
struct Said {
    replies: Vec<Reply>,
    /// The conversation as it stands: loaded, or saved since.
    stored: Option<Conversation>,
    /// The handler saved the conversation: it is written once the handler is done, with the
    /// replies kept ahead of sending (see [`Chat::finish`]).
    saved: bool,
    /// An earlier message's card edit was due when this update came, and nobody has taken
    /// it over yet (see [`Chat::save_folding_card`]).
    card_due: bool,
}

impl Chat {
    /// The text under `key` in the conversation's language.
    pub fn text(&self, key: &str) -> String {
        self.words().get(key)
    }

    /// The text under `key` with its `{name}` placeholders filled.
    pub fn format(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.words().format(key, args)
    }

    /// The conversation's language, for keyboards and lists.
    pub fn words(&self) -> Words<'_> {
        self.desk.texts.words(self.language)
    }

    /// Says `text`, once the update's work is done.
    pub fn reply(&self, text: impl Into<String>) {
        self.queue(Reply::Send {
            text: text.into(),
            markup: None,
        });
    }

    /// Says `text` with a keyboard, once the update's work is done.
    pub fn reply_with(&self, text: impl Into<String>, markup: impl Into<ReplyMarkup>) {
        self.queue(Reply::Send {
            text: text.into(),
            markup: Some(markup.into()),
        });
    }

    /// Shows `text` and `keyboard` on the draft's card: edited in place, or sent (and then
    /// remembered by the draft) when there is none yet or it can no longer be edited.
    pub fn show_card(&self, draft: &Draft, text: String, keyboard: InlineKeyboardMarkup) {
        self.queue(Reply::Card {
            order_id: draft.order_id,
            message: draft.card,
            text,
            keyboard,
        });
    }

    /// Sends `invoice` (Telegram's own "Pay" button under it), in order with the replies.
    pub fn send_invoice(&self, invoice: Invoice) {
        self.queue(Reply::Invoice(invoice));
    }

    /// The answer to anything that would start over while a draft is open: the draft's
    /// buttons, so the customer finishes or cancels it first and nothing is silently dropped.
    pub fn point_to_open_draft(&self, draft: &Draft) {
        self.reply_with(
            self.text(key::DRAFT_IN_PROGRESS),
            keyboards::card(self.words(), draft),
        );
    }

    /// Makes `conversation` the chat's from now on, with this update as the last one handled
    /// (so that Telegram delivering it again changes nothing twice). A new draft gets its
    /// order number now; the conversation is written once the handler is done, in one
    /// commit with the replies kept ahead of sending ([`Chat::finish`]), and not at all if
    /// the update is deferred (it is then handled afresh when Telegram delivers it again).
    pub async fn save(&self, mut conversation: Conversation) -> Result<(), StorageError> {
        conversation.last_update = Some(self.update_id);
        self.desk
            .storage
            .number_new_draft(&mut conversation)
            .await?;
        let mut said = self.said();
        said.stored = Some(conversation);
        said.saved = true;
        Ok(())
    }

    /// Stores `conversation` (a draft that took this message) with its card edit still to
    /// come: the card is edited once no new message has come for [`BURST_QUIET`], so a burst
    /// of texts and files costs one edit, not one each (as an album's items do). A draft
    /// whose card was never sent shows it at once (its message id must be remembered).
    pub async fn save_folding_card(
        &self,
        mut conversation: Conversation,
        draft: &Draft,
    ) -> Result<(), StorageError> {
        if draft.card.is_none() {
            self.save(conversation).await?;
            self.said().card_due = false;
            return super::card::show(self, draft)
                .await
                .map_err(StorageError::from);
        }
        conversation.card_due = Some(self.update_id);
        self.save(conversation).await?;
        self.said().card_due = false;
        let (bot, desk, chat_id, update_id) =
            (self.bot.clone(), self.desk.clone(), self.id, self.update_id);
        tokio::spawn(async move {
            tokio::time::sleep(BURST_QUIET).await;
            let shown = stage_times::timed(
                Timed::DueCard,
                show_due_card(&bot, &desk, chat_id, update_id),
            )
            .await;
            if let Err(error) = shown {
                tracing::warn!(%error, chat_id = chat_id.0, "the card's edit for a burst not made");
            }
        });
        Ok(())
    }

    /// Whether nothing was stored for this chat before this update.
    pub fn first_contact(&self) -> bool {
        self.first_contact
    }

    /// Publishes `events` as one confirmed batch, or defers the update when the broker does
    /// not take them: the handler has changed nothing yet, Telegram delivers the update
    /// again, and the customer is told `notice` once.
    pub async fn publish_or_defer(
        &self,
        what: &str,
        events: &[Envelope],
        notice: &str,
    ) -> HandlerResult {
        if let Err(reason) = self.desk.publish(events).await {
            tracing::warn!(chat_id = self.id.0, %reason, "{what} not published yet; the update is deferred");
            return Err(Deferred::boxed(
                format!("{what} not published: {reason}"),
                Some((self.id, self.text(notice))),
            ));
        }
        Ok(())
    }

    fn queue(&self, reply: Reply) {
        self.said().replies.push(reply);
    }

    fn said(&self) -> MutexGuard<'_, Said> {
        self.said.lock().expect("no handler panics holding it")
    }

    /// Before the handler: says what the chat's earlier updates left unsaid.
    async fn catch_up(&self, conversation: &mut Conversation, update_id: u32) -> CatchUp {
        match say_kept(&self.bot, &self.dialogue, conversation).await {
            Kept::Nothing => CatchUp::Go,
            // This very update was handled before; only its replies were missing.
            Kept::Said {
                update_id: Some(id),
            } if id == update_id => CatchUp::Done,
            Kept::Said { .. } => CatchUp::Go,
            Kept::Left => CatchUp::Wait(Deferred::boxed(
                "earlier replies not said yet: Telegram does not take them",
                None,
            )),
        }
    }

    /// An earlier message's card edit was due, and this update's handler saved the
    /// conversation (which drops the due edit) without showing the card: the card is shown
    /// now, before this update's own replies, so nothing the customer sent goes unanswered.
    async fn show_card_left_due(&self) {
        let draft = {
            let said = self.said();
            let shows_card = said
                .replies
                .iter()
                .any(|reply| matches!(reply, Reply::Card { .. }));
            if !said.card_due || !said.saved || shows_card {
                return;
            }
            said.stored
                .as_ref()
                .and_then(|stored| stored.draft().cloned())
        };
        let Some(draft) = draft else {
            return;
        };
        match super::card::reply(&self.desk, self.language, &draft).await {
            Ok(card) => self.said().replies.insert(0, card),
            Err(error) => tracing::warn!(%error, chat_id = self.id.0, "a due card not shown"),
        }
    }

    /// Writes the conversation as it stands, giving the chat's turn back in the same
    /// commit when `turn` is given (the update's last write).
    async fn write(
        &self,
        conversation: Conversation,
        turn: Option<&ChatTurn>,
    ) -> Result<(), StorageError> {
        self.desk
            .storage
            .write_giving_back(self.id, conversation, turn)
            .await
    }

    /// After the handler: writes what it saved, with its replies kept ahead of sending,
    /// delivers them, and clears them once Telegram took them, giving the chat's turn back
    /// in that last commit. What Telegram does not take is kept with the conversation, and
    /// the update deferred so that Telegram delivers it again.
    async fn finish(
        &self,
        update_id: u32,
        outcome: HandlerResult,
        turn: &ChatTurn,
    ) -> HandlerResult {
        self.show_card_left_due().await;
        let replies = std::mem::take(&mut self.said().replies);
        if Deferred::is(&outcome) {
            // Nothing the handler saved has been written: delivered again, the update is
            // handled afresh.
            if !replies.is_empty() {
                tracing::warn!(
                    chat_id = self.id.0,
                    count = replies.len(),
                    "a deferred update's replies are dropped: it is handled again"
                );
            }
            return outcome;
        }
        let stored = {
            let said = self.said();
            said.saved.then(|| said.stored.clone()).flatten()
        };
        // Written ahead: an update whose handler saved the conversation has done its work
        // for good once that is written, so a crash (kill -9, a lost machine) between that
        // write and Telegram taking the replies would lose them — delivered again, the
        // update finds the work done (an order placed, a draft moved on) and its answer
        // ("Order № … accepted") is never said. Its replies are therefore written with the
        // conversation, in the same commit, before they are sent and cleared once Telegram
        // took them; delivered again after a crash, the update says them and is not handled
        // twice (`catch_up`). Found by the cluster run (tests/faults/src/cluster_run.rs),
        // which kills a bot replica mid-update.
        if let Some(mut conversation) = stored.clone() {
            let last = replies.is_empty();
            if !last {
                conversation.undelivered = Some(Undelivered::new(Some(update_id), replies.clone()));
            }
            if let Err(error) = self.write(conversation, last.then_some(turn)).await {
                // Nothing is said of work that is not stored: Telegram delivers the update
                // again and it is handled afresh.
                tracing::warn!(%error, chat_id = self.id.0, "the conversation could not be written; the update is deferred");
                return Err(Deferred::boxed(
                    format!("the conversation not written: {error}"),
                    None,
                ));
            }
            if last {
                return outcome;
            }
        }
        if replies.is_empty() {
            return outcome;
        }
        let delivered = stage_times::timed(
            Timed::Deliver,
            replies::deliver(&self.bot, self.id, replies),
        )
        .await;
        let Some(mut conversation) = self.said().stored.clone() else {
            return outcome;
        };
        if delivered.unsaid.is_empty() {
            // Clears what was written ahead and remembers the cards just sent. If that
            // fails the replies are said again with the chat's next update, which beats
            // never; a card not remembered is sent anew at the draft's next change.
            if stored.is_none() && delivered.new_cards.is_empty() {
                return outcome;
            }
            delivered.remember_cards(&mut conversation);
            if let Err(error) = self.write(conversation, Some(turn)).await {
                tracing::warn!(%error, chat_id = self.id.0, "said replies could not be cleared");
            }
            return outcome;
        }
        delivered.remember_cards(&mut conversation);
        let unsaid = delivered.unsaid;
        if let Err(error) = &outcome {
            tracing::error!(chat_id = self.id.0, %error, "handling an update failed");
        }
        conversation.undelivered = Some(Undelivered::new(Some(update_id), unsaid));
        match self.write(conversation, Some(turn)).await {
            Ok(()) => Err(Deferred::boxed(
                "Telegram did not take the replies; they are kept until it does",
                None,
            )),
            Err(error) => {
                tracing::error!(%error, chat_id = self.id.0, "replies Telegram did not take could not be kept: they are lost");
                outcome
            }
        }
    }
}

/// A button press: the [`Chat`] it happened in (deref), and the press itself.
#[derive(Clone)]
pub struct Press {
    chat: Chat,
    query: Arc<CallbackQuery>,
    /// The notice over the button; answered when the handler is done.
    answer: Arc<Mutex<Option<String>>>,
}

impl Deref for Press {
    type Target = Chat;

    fn deref(&self) -> &Chat {
        &self.chat
    }
}

impl Press {
    /// Who pressed.
    pub fn user(&self) -> &User {
        &self.query.from
    }

    /// Who pressed, as our columns hold Telegram user ids.
    pub fn user_id(&self) -> i64 {
        telegram_user_id(&self.query.from)
    }

    /// Answers the press with the text under `key` (without a call, it is answered plainly).
    pub fn answer(&self, key: &str) {
        *self.answer.lock().expect("no handler panics holding it") = Some(self.text(key));
    }

    /// Answers the press with `text`, already in the conversation's language.
    pub fn answer_text(&self, text: String) {
        *self.answer.lock().expect("no handler panics holding it") = Some(text);
    }

    /// "This button is outdated": for forged data, a draft that is gone, an order that is
    /// not the customer's (or no longer in the state the button was drawn for).
    pub fn outdated(&self) -> HandlerResult {
        self.answer(key::BUTTON_OUTDATED);
        Ok(())
    }

    /// Shows `text` and `keyboard` in place of the message the button was under, or as a new
    /// message when that one cannot be edited (gone, or too old for Telegram).
    pub fn show(&self, text: String, keyboard: InlineKeyboardMarkup) {
        let message = self
            .query
            .message
            .as_ref()
            .filter(|message| message.regular_message().is_some())
            .map(|message| message.id().0);
        self.queue(Reply::Show {
            message,
            text,
            keyboard,
        });
    }

    /// Stops the button's spinner, with the answer if there is one.
    async fn send_answer(&self) {
        let text = self
            .answer
            .lock()
            .expect("no handler panics holding it")
            .take();
        let request = self.bot.answer_callback_query(self.query.id.clone());
        let answered = match text {
            Some(text) => request.text(text).await,
            None => request.await,
        };
        // A press delivered again after a deferral may be too old to answer: harmless.
        if let Err(error) = answered {
            tracing::debug!(%error, "callback query not answered");
        }
    }
}

/// Telegram user ids fit in 52 bits, so they always fit our signed columns.
pub fn telegram_user_id(user: &User) -> i64 {
    user.id.0 as i64
}

/// The way into the conversation for a message: gives the handlers after it [`Chat`], the
/// [`Conversation`] and its [`Stage`].
pub fn enter_message() -> UpdateHandler<HandlerError> {
    enter(Entering::Message)
}

/// The way into the conversation for a button press: as [`enter_message`], plus [`Press`].
pub fn enter_press() -> UpdateHandler<HandlerError> {
    enter(Entering::Press)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entering {
    Message,
    Press,
}

#[track_caller]
fn enter(entering: Entering) -> UpdateHandler<HandlerError> {
    let here = std::panic::Location::caller();
    let mut needs = BTreeMap::from([
        (Type::of::<GatewayBot>(), here),
        (Type::of::<Arc<Desk>>(), here),
        (Type::of::<Update>(), here),
    ]);
    let mut gives = BTreeSet::from([
        Type::of::<Chat>(),
        Type::of::<Conversation>(),
        Type::of::<Stage>(),
    ]);
    if entering == Entering::Press {
        needs.insert(Type::of::<CallbackQuery>(), here);
        gives.insert(Type::of::<Press>());
    }
    let signature = HandlerSignature::Other {
        obligations: needs,
        guaranteed_outcomes: gives,
        conditional_outcomes: BTreeSet::new(),
        continues: true,
    };
    dptree::from_fn_with_description(
        DpHandlerDescription::user_defined(),
        move |mut deps: DependencyMap, rest| async move {
            let update = deps.get::<Update>();
            let Some((chat, mut conversation, turn)) =
                open(&deps.get::<GatewayBot>(), &deps.get::<Arc<Desk>>(), &update).await
            else {
                return ControlFlow::Continue(deps);
            };
            let press = (entering == Entering::Press).then(|| Press {
                chat: chat.clone(),
                query: deps.get::<CallbackQuery>(),
                answer: Arc::default(),
            });
            let handling = match chat.catch_up(&mut conversation, update.id.0).await {
                CatchUp::Go if conversation.last_update == Some(update.id.0) => {
                    // Delivered again after it was handled (the first delivery waited too
                    // long for our answer): handling it twice would double a step.
                    tracing::info!(
                        update_id = update.id.0,
                        chat_id = chat.id.0,
                        "update handled already; delivered again"
                    );
                    Handling::Skipped(Ok(()))
                }
                CatchUp::Go => {
                    chat.said().stored = Some(conversation.clone());
                    if conversation.card_due.take().is_some() {
                        // The handler takes the due card edit over, or it is shown after.
                        chat.said().card_due = true;
                    }
                    deps.insert(chat.clone());
                    deps.insert(conversation.stage.clone());
                    deps.insert(conversation);
                    if let Some(press) = &press {
                        deps.insert(press.clone());
                    }
                    Handling::Ran(match stage_times::timed(Timed::Handler, rest(deps)).await {
                        ControlFlow::Break(outcome) => outcome,
                        ControlFlow::Continue(_) => {
                            tracing::debug!(update_id = update.id.0, "nothing handles it");
                            Ok(())
                        }
                    })
                }
                CatchUp::Done => Handling::Skipped(Ok(())),
                CatchUp::Wait(deferred) => Handling::Skipped(Err(deferred)),
            };
            if let Some(press) = &press {
                press.send_answer().await;
            }
            let outcome = match handling {
                Handling::Ran(outcome) => chat.finish(update.id.0, outcome, &turn).await,
                Handling::Skipped(outcome) => outcome,
            };
            // The chat's turn is given back only now, with everything said or kept.
            drop(turn);
            ControlFlow::Break(outcome)
        },
        signature,
    )
}

/// The chat's turn and conversation: the stored one, or a new one in the language of the
/// customer's Telegram on first contact. `None` when MySQL cannot be read.
async fn open(
    bot: &GatewayBot,
    desk: &Arc<Desk>,
    update: &Update,
) -> Option<(Chat, Conversation, Arc<ChatTurn>)> {
    let chat_id = update.chat_id()?;
    let turn = match desk.turns.take(chat_id.0).await {
        Ok(turn) => turn,
        Err(error) => {
            tracing::error!(%error, chat_id = chat_id.0, "chat's turn could not be taken");
            return None;
        }
    };
    let dialogue = ChatDialogue::new(desk.storage.clone(), chat_id);
    let first_contact = || Conversation::new(language_of(update));
    let (conversation, stored) = match dialogue.get().await {
        Ok(Some(conversation)) => (conversation, true),
        Ok(None) => (first_contact(), false),
        // Unreadable state (an incompatible older shape) must not lock the customer out
        // forever: start over, as on first contact.
        Err(StorageError::Unreadable(error)) => {
            tracing::warn!(%error, chat_id = chat_id.0, "stored conversation unreadable; starting afresh");
            (first_contact(), false)
        }
        Err(error) => {
            tracing::error!(%error, chat_id = chat_id.0, "conversation could not be loaded");
            return None;
        }
    };
    let chat = Chat {
        desk: desk.clone(),
        id: chat_id,
        language: conversation.language,
        bot: bot.clone(),
        dialogue,
        first_contact: !stored,
        update_id: update.id.0,
        said: Arc::default(),
    };
    Some((chat, conversation, turn))
}

/// How long after a customer's last text or file the draft's card is edited.
pub const BURST_QUIET: Duration = Duration::from_millis(1_000);

/// Shows the draft's card for the burst that ended with update `update_id`, if no later
/// update has come since (its handler folds or shows the card itself).
async fn show_due_card(
    bot: &GatewayBot,
    desk: &Arc<Desk>,
    chat_id: ChatId,
    update_id: u32,
) -> Result<(), HandlerError> {
    let turn = desk.turns.take(chat_id.0).await?;
    let dialogue = ChatDialogue::new(desk.storage.clone(), chat_id);
    let Some(mut conversation) = dialogue.get().await? else {
        return Ok(());
    };
    if conversation.card_due != Some(update_id) {
        return Ok(());
    }
    conversation.card_due = None;
    let Some(draft) = conversation.draft().cloned() else {
        desk.storage
            .write_giving_back(chat_id, conversation, Some(&*turn))
            .await?;
        return Ok(());
    };
    let card = super::card::reply(desk, conversation.language, &draft).await?;
    let unsaid = say_outside_update(bot, chat_id, &mut conversation, vec![card]).await;
    desk.storage
        .write_giving_back(chat_id, conversation, Some(&*turn))
        .await?;
    if unsaid {
        keep_saying(bot.clone(), desk.clone(), chat_id);
    }
    Ok(())
}

/// The language for someone we have no conversation with yet.
fn language_of(update: &Update) -> Language {
    Language::from_telegram(update.from().and_then(|user| user.language_code.as_deref()))
}

/// Whether the handler runs, once what was left unsaid is said.
enum CatchUp {
    Go,
    /// The update was handled already.
    Done,
    /// Telegram still does not take what was left unsaid: the update waits.
    Wait(HandlerError),
}

/// Whether the handler ran, and how it ended (or why it did not run).
enum Handling {
    Ran(HandlerResult),
    Skipped(HandlerResult),
}

/// What became of the replies a conversation kept.
enum Kept {
    Nothing,
    /// All said (or given up); they answered this update.
    Said {
        update_id: Option<u32>,
    },
    /// Some are still unsaid, and kept.
    Left,
}

/// Says what `conversation` keeps unsaid, and stores what is left of it.
async fn say_kept(
    bot: &GatewayBot,
    dialogue: &ChatDialogue,
    conversation: &mut Conversation,
) -> Kept {
    let Some(kept) = conversation.undelivered.take() else {
        return Kept::Nothing;
    };
    let chat_id = dialogue.chat_id();
    let update_id = kept.update_id;
    if kept.expired() {
        tracing::error!(
            chat_id = chat_id.0,
            replies = kept.replies.len(),
            "replies Telegram did not take for {:?} are given up",
            replies::PATIENCE
        );
    } else {
        let delivered = replies::deliver(bot, chat_id, kept.replies.clone()).await;
        delivered.remember_cards(conversation);
        let unsaid = delivered.unsaid;
        if !unsaid.is_empty() {
            conversation.undelivered = Some(Undelivered {
                replies: unsaid,
                ..kept
            });
        }
    }
    if let Err(error) = dialogue.update(conversation.clone()).await {
        // Said but still stored: said again next time, which beats never.
        tracing::warn!(%error, chat_id = chat_id.0, "said replies could not be cleared");
    }
    match conversation.undelivered {
        Some(_) => Kept::Left,
        None => Kept::Said { update_id },
    }
}

/// Says `replies` in the chat outside any update (an album's answer), in order after what
/// is still unsaid there. Whatever Telegram does not take is left in `conversation` for the
/// caller to store; `true` then asks the caller to have [`keep_saying`] try again.
pub(super) async fn say_outside_update(
    bot: &GatewayBot,
    chat_id: ChatId,
    conversation: &mut Conversation,
    replies: Vec<Reply>,
) -> bool {
    if let Some(waiting) = conversation
        .undelivered
        .as_mut()
        .filter(|waiting| waiting.update_id.is_some())
    {
        // An update's replies go first, when Telegram delivers that update again.
        waiting.extend(replies);
        return false;
    }
    let mut kept = conversation
        .undelivered
        .take()
        .unwrap_or_else(|| Undelivered::new(None, Vec::new()));
    kept.extend(replies);
    let delivered = replies::deliver(bot, chat_id, std::mem::take(&mut kept.replies)).await;
    delivered.remember_cards(conversation);
    let unsaid = delivered.unsaid;
    if unsaid.is_empty() {
        return false;
    }
    kept.replies = unsaid;
    conversation.undelivered = Some(kept);
    true
}

/// Tries again in the background to say what no update is waiting to say in `chat_id`,
/// pausing 1 s doubling to 30 s, until it is said or [`replies::PATIENCE`] has passed.
pub(super) fn keep_saying(bot: GatewayBot, desk: Arc<Desk>, chat_id: ChatId) {
    tokio::spawn(async move {
        let give_up = tokio::time::Instant::now() + replies::PATIENCE;
        let mut pauses = Backoff::new(Duration::from_secs(1), Duration::from_secs(30)).pauses();
        while tokio::time::Instant::now() < give_up {
            tokio::time::sleep(pauses.next_pause()).await;
            match say_unsaid(&bot, &desk, chat_id).await {
                Ok(true) => return,
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(%error, chat_id = chat_id.0, "kept replies not tried again")
                }
            }
        }
    });
}

/// `Ok(true)` when nothing is left for [`keep_saying`] to say.
async fn say_unsaid(bot: &GatewayBot, desk: &Desk, chat_id: ChatId) -> Result<bool, HandlerError> {
    let _turn = desk.turns.take(chat_id.0).await?;
    let dialogue = ChatDialogue::new(desk.storage.clone(), chat_id);
    let Some(mut conversation) = dialogue.get().await? else {
        return Ok(true);
    };
    let ours = conversation
        .undelivered
        .as_ref()
        .is_some_and(|kept| kept.update_id.is_none());
    if !ours {
        // Said already, or an update waits to say it when Telegram delivers it again.
        return Ok(true);
    }
    Ok(!matches!(
        say_kept(bot, &dialogue, &mut conversation).await,
        Kept::Left
    ))
}
