//! Booking a time slot from the bot: a bookable service put in the cart brings a calendar
//! (a week of days, then a day's free times, with weeks to page through); a time pressed
//! is booked at once for the draft's order, in MySQL under the resource's lock
//! (`bureau_scheduling::desk`), its `BookingChanged` written into the outbox in the same
//! transaction and published by the outbox relay after the commit. Someone faster gets
//! the slot: the customer is told and offered the next free times. Under a booking,
//! "Reschedule" opens the calendar again and moves it (the old time is free at once);
//! "Cancel booking" frees it.
//!
//! A draft's time is a hold, exactly as the portal's picker's: held for
//! `store::HOLD_MINUTES` (15) minutes from the choice (a move holds it anew), cancelled by
//! the web gateway's sweep of expired holds (`store::expire_holds`) unless the order is
//! confirmed first. Confirm joins it to the order (`desk::join_order`, through the same
//! `desk::attach` as the portal's order form, [`join_draft`]); a hold that ran out is said
//! ("held for 15 minutes and released") with the calendar again, and nothing is sent.
//! Dropping the draft cancels it at once ([`release_draft`]).
//!
//! Every calendar button is signed for the customer it was drawn for ([`crate::calendar`]):
//! a forged one is refused and changes nothing, an expired one brings a fresh calendar, a
//! time already past or not offered is refused with the reason.

use bureau_scheduling::booked;
use bureau_scheduling::desk::{self, Actor, Bookable, Joined, Refusal};
use bureau_scheduling::jiff::civil::Date;
use bureau_scheduling::jiff::{Timestamp, ToSpan};
use bureau_scheduling::store;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};
use uuid::Uuid;

use super::context::{Chat, Press};
use super::deferred::{HandlerError, HandlerResult};
use crate::calendar::{
    CALENDAR_TTL_MINUTES, CalendarButton, MANAGE_TTL_MINUTES, Pressed, Rejected, Verb, day_number,
    day_of_number, minute_number, minute_of_number, week_start,
};
use crate::dialogue::{Conversation, Draft, Language};
use crate::publish::PRODUCER;
use crate::texts::{Words, key};

/// Times per row of the day's keyboard.
const TIMES_PER_ROW: usize = 4;

/// The time booked for `order_id`, as the line `key` (`{service}`, `{when}`) says it: in the
/// business's time zone and the customer's language. `None` when it holds no booking.
pub async fn booked_line(
    chat: &Chat,
    order_id: Uuid,
    key: &str,
) -> Result<Option<(booked::BookedTime, String)>, sqlx::Error> {
    let Some(time) = booked::of_order(chat.desk.pool(), order_id).await? else {
        return Ok(None);
    };
    let zone = chat.desk.business().await.zone();
    let language = chat.language.tag();
    let line = chat.format(
        key,
        &[
            ("service", &time.service(language)),
            ("when", &time.when(&zone, language)),
        ],
    );
    Ok(Some((time, line)))
}

/// Reschedule and Cancel for the customer's own booking ahead (one they booked from this
/// Telegram account): the row an order's page shows under the booked time.
pub async fn manage_row(
    chat: &Chat,
    user_id: i64,
    time: &booked::BookedTime,
) -> Result<Option<Vec<InlineKeyboardButton>>, sqlx::Error> {
    let now = Timestamp::now();
    if time.booked_by != format!("telegram:{user_id}") || !time.ahead(now) {
        return Ok(None);
    }
    let Some(service) = desk::bookable_by_code(chat.desk.pool(), &time.service_code).await? else {
        return Ok(None);
    };
    let view = Calendar {
        chat,
        user_id,
        service: &service,
        context: time.booking_id,
        moving: true,
        now,
    };
    Ok(view
        .manage(time.booking_id)
        .inline_keyboard
        .into_iter()
        .next())
}

/// After a bookable service went into the draft's cart: the calendar, as a message of its
/// own under the card, unless the order holds a booking already.
pub async fn offer_calendar(
    chat: &Chat,
    user_id: i64,
    draft: &Draft,
    service_id: u32,
) -> HandlerResult {
    let pool = chat.desk.pool();
    let Some(service) = desk::bookable(pool, service_id).await? else {
        return Ok(());
    };
    if desk::of_order(pool, draft.order_id).await?.is_some() {
        return Ok(());
    }
    let now = Timestamp::now();
    let view = Calendar {
        chat,
        user_id,
        service: &service,
        context: draft.order_id,
        moving: false,
        now,
    };
    let (text, keyboard) = view.week(week_start(service.day_of(now))).await?;
    chat.reply_with(text, keyboard);
    Ok(())
}

/// What Confirm may do about the draft's booked time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AtConfirm {
    /// Send the order; its booking, if it has one, joined it (the hold ended).
    Send(Option<Uuid>),
    /// The hold ran out before Confirm: nothing is to be sent. What to tell the customer
    /// (which time was released), and the service to offer the calendar of again.
    Expired { told: String, service_id: u32 },
}

/// The draft of `user_id` is about to be sent: its held time joins the order, as the
/// portal's order form joins its picker's (`desk::join_order` → `desk::attach`); a hold
/// that ran out before this comes back as [`AtConfirm::Expired`] with what to say.
pub async fn join_draft(
    chat: &Chat,
    user_id: i64,
    draft: &Draft,
) -> Result<AtConfirm, HandlerError> {
    let pool = chat.desk.pool();
    let by = format!("telegram:{user_id}");
    match desk::join_order(pool, draft.order_id, &by).await? {
        Joined::Nothing => Ok(AtConfirm::Send(None)),
        Joined::Joined(booking_id) => {
            tracing::info!(%booking_id, order_id = %draft.order_id, "the draft's held time joined its order");
            Ok(AtConfirm::Send(Some(booking_id)))
        }
        Joined::Expired {
            service_code,
            starts_at,
        } => {
            tracing::info!(order_id = %draft.order_id, %starts_at, "the draft's hold ran out before Confirm");
            let Some(service) = desk::bookable_by_code(pool, &service_code).await? else {
                // No longer bookable: nothing to choose again; the order goes without a time.
                return Ok(AtConfirm::Send(None));
            };
            let view = Calendar {
                chat,
                user_id,
                service: &service,
                context: draft.order_id,
                moving: false,
                now: Timestamp::now(),
            };
            let minutes = store::HOLD_MINUTES.to_string();
            let told = chat.format(
                key::BOOKING_HOLD_EXPIRED,
                &[
                    ("service", &view.name()),
                    ("when", &view.when(starts_at)),
                    ("minutes", &minutes),
                ],
            );
            Ok(AtConfirm::Expired {
                told,
                service_id: service.service_id,
            })
        }
    }
}

/// The order joined to `booking_id` was not sent after all (the broker did not take it):
/// the time is held again from now, as the portal does, so it runs out if the customer
/// never comes back.
pub async fn hold_again(chat: &Chat, user_id: i64, booking_id: Uuid) {
    let by = format!("telegram:{user_id}");
    if let Err(error) = desk::hold_again(chat.desk.pool(), booking_id, &by, Timestamp::now()).await
    {
        tracing::error!(%error, %booking_id, "a booking of an unsent order not held again");
    }
}

/// The draft is dropped (its Cancel, or /cancel): the time booked for it is freed, and the
/// customer told so.
pub async fn release_draft(chat: &Chat, conversation: &Conversation) -> HandlerResult {
    let Some(draft) = conversation.draft() else {
        return Ok(());
    };
    let pool = chat.desk.pool();
    let Some(held) = desk::of_order(pool, draft.order_id).await? else {
        return Ok(());
    };
    // In a private chat the chat is the user.
    let by = format!("telegram:{}", chat.id.0);
    let actor = Actor {
        by: &by,
        producer: PRODUCER,
    };
    let Ok((booking, _)) = desk::cancel(pool, held.booking.id, actor, Timestamp::now()).await
    else {
        return Ok(());
    };
    chat.desk.outbox.kick();
    if let Some(service) = desk::bookable_by_code(pool, &booking.service_code).await? {
        let view = Calendar {
            chat,
            user_id: chat.id.0,
            service: &service,
            context: booking.id,
            moving: true,
            now: Timestamp::now(),
        };
        chat.reply(chat.format(
            key::BOOKING_RELEASED,
            &[
                ("service", &view.name()),
                ("when", &view.when(booking.starts_at)),
            ],
        ));
    }
    Ok(())
}

/// `/bookings`: the customer's booked times ahead, each with Reschedule and Cancel.
pub async fn list(chat: Chat) -> HandlerResult {
    let pool = chat.desk.pool();
    // In a private chat the chat is the user.
    let user_id = chat.id.0;
    let now = Timestamp::now();
    let own = desk::own_upcoming(pool, &format!("telegram:{user_id}"), now).await?;
    if own.is_empty() {
        chat.reply(chat.text(key::BOOKING_LIST_NONE));
        return Ok(());
    }
    for held in own {
        let Some(service) = desk::bookable_by_code(pool, &held.booking.service_code).await? else {
            continue;
        };
        let view = Calendar {
            chat: &chat,
            user_id,
            service: &service,
            context: held.booking.id,
            moving: true,
            now,
        };
        let text = chat.format(
            key::BOOKING_LIST_LINE,
            &[
                ("service", &view.name()),
                ("when", &view.when(held.booking.starts_at)),
            ],
        );
        chat.reply_with(text, view.manage(held.booking.id));
    }
    Ok(())
}

/// A calendar button pressed.
pub async fn press(press: Press, conversation: Conversation, pressed: Pressed) -> HandlerResult {
    let now = Timestamp::now();
    let user_id = press.user_id();
    let button = match press.desk.calendar.verify(&pressed, user_id, now) {
        Ok(button) => button,
        Err(Rejected::Forged) => {
            tracing::warn!(
                user_id,
                "a calendar button that we did not sign for this user"
            );
            press.answer(key::BOOKING_FORGED);
            return Ok(());
        }
        Err(Rejected::Expired) => {
            press.answer(key::BOOKING_EXPIRED);
            // A fresh calendar for what it was for, if that still stands.
            let old = pressed.button;
            let verb = match old.verb {
                Verb::Week | Verb::Day | Verb::Take => Verb::Week,
                _ => Verb::Reschedule,
            };
            // Value 0 (1970): the calendar starts from this week.
            let fresh = CalendarButton {
                verb,
                value: 0,
                ..old
            };
            return act(&press, &conversation, fresh, now, true).await;
        }
    };
    act(&press, &conversation, button, now, false).await
}

async fn act(
    press: &Press,
    conversation: &Conversation,
    button: CalendarButton,
    now: Timestamp,
    answered: bool,
) -> HandlerResult {
    let answer = |key: &str| {
        if !answered {
            press.answer(key);
        }
    };
    let pool = press.desk.pool();
    let by = format!("telegram:{}", press.user_id());
    let actor = Actor {
        by: &by,
        producer: PRODUCER,
    };
    let Some(service) = desk::bookable(pool, button.service).await? else {
        answer(key::BOOKING_GONE);
        return Ok(());
    };
    // The order the booking is for, when it is the draft's: its card shows the time.
    let card_order;
    let order_number = if button.verb.moves() {
        match desk::own(pool, button.context, &by).await? {
            Some(own) if own.booking.service_code == service.code => {
                card_order = own.order_id;
                None
            }
            _ => {
                answer(key::BOOKING_GONE);
                return Ok(());
            }
        }
    } else {
        match conversation.draft() {
            Some(draft) if draft.order_id == button.context => {
                card_order = Some(draft.order_id);
                Some(draft.order_number.clone())
            }
            // The draft it was drawn for was placed, cancelled or replaced.
            _ => {
                answer(key::BOOKING_DRAFT_GONE);
                return Ok(());
            }
        }
    };
    let view = Calendar {
        chat: press,
        user_id: press.user_id(),
        service: &service,
        context: button.context,
        moving: button.verb.moves(),
        now,
    };
    let today = service.day_of(now);
    match button.verb {
        Verb::Week | Verb::MoveWeek => {
            let first = day_of_number(button.value).unwrap_or(today);
            let (text, keyboard) = view.week(week_start(first)).await?;
            press.show(text, keyboard);
        }
        Verb::Reschedule => {
            let (text, keyboard) = view.week(week_start(today)).await?;
            press.show(text, keyboard);
        }
        Verb::Day | Verb::MoveDay => {
            let day = day_of_number(button.value).unwrap_or(today);
            let (text, keyboard) = view.day(day).await?;
            press.show(text, keyboard);
        }
        Verb::Take | Verb::MoveTo => {
            let Some(starts_at) = minute_of_number(button.value) else {
                return press.outdated();
            };
            let outcome = if button.verb == Verb::Take {
                // A hold, as the portal's: it runs out unless the draft is confirmed in time.
                let held_until = Some(store::hold_until(now));
                desk::book(
                    pool,
                    &service,
                    starts_at,
                    button.context,
                    held_until,
                    actor,
                    now,
                )
                .await
            } else {
                desk::reschedule(pool, button.context, starts_at, actor, now).await
            };
            match outcome {
                Ok((booking, _)) => {
                    press.desk.outbox.kick();
                    let when = view.when(booking.starts_at);
                    let name = view.name();
                    let text = match order_number {
                        Some(number) => press.format(
                            key::BOOKING_BOOKED,
                            &[("service", &name), ("when", &when), ("number", &number)],
                        ),
                        None => {
                            press.format(key::BOOKING_MOVED, &[("service", &name), ("when", &when)])
                        }
                    };
                    press.answer(key::BOOKING_DONE);
                    press.show(text, view.manage(booking.id));
                    refresh_card(press, conversation, card_order).await?;
                }
                Err(Refusal::Taken { next_free }) => {
                    let when = view.when(starts_at);
                    let (text, keyboard) = view.instead(&when, &next_free, starts_at);
                    press.answer(key::BOOKING_TAKEN_SHORT);
                    press.show(text, keyboard);
                }
                Err(Refusal::InPast) => {
                    press.answer(key::BOOKING_PAST);
                    let (text, keyboard) = view.day(service.day_of(now)).await?;
                    press.show(text, keyboard);
                }
                Err(Refusal::NotOffered) => {
                    press.answer(key::BOOKING_NOT_OFFERED);
                    let (text, keyboard) = view.week(week_start(today)).await?;
                    press.show(text, keyboard);
                }
                Err(Refusal::AlreadyBooked) => press.answer(key::BOOKING_ALREADY),
                Err(Refusal::NotFound) => press.answer(key::BOOKING_GONE),
                Err(Refusal::Failed(error)) => {
                    tracing::error!(%error, "booking failed");
                    press.answer(key::UNAVAILABLE);
                }
            }
        }
        Verb::Cancel => match desk::cancel(pool, button.context, actor, now).await {
            Ok((booking, _)) => {
                press.desk.outbox.kick();
                let text = press.format(
                    key::BOOKING_CANCELLED,
                    &[
                        ("service", &view.name()),
                        ("when", &view.when(booking.starts_at)),
                    ],
                );
                press.answer(key::BOOKING_DONE);
                press.show(
                    text,
                    InlineKeyboardMarkup::new(Vec::<Vec<InlineKeyboardButton>>::new()),
                );
                refresh_card(press, conversation, card_order).await?;
            }
            Err(Refusal::Failed(error)) => {
                tracing::error!(%error, "cancelling a booking failed");
                press.answer(key::UNAVAILABLE);
            }
            Err(_) => press.answer(key::BOOKING_GONE),
        },
    }
    Ok(())
}

/// The draft's card again, when the booking just made, moved or cancelled is its order's:
/// the card shows the booked time.
async fn refresh_card(
    press: &Press,
    conversation: &Conversation,
    order_id: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    match conversation.draft() {
        Some(draft) if Some(draft.order_id) == order_id && draft.card.is_some() => {
            super::card::show(press, draft).await
        }
        _ => Ok(()),
    }
}

/// Draws the calendar for one customer and one service.
struct Calendar<'a> {
    chat: &'a Chat,
    user_id: i64,
    service: &'a Bookable,
    /// The draft's order id (a new booking) or the booking being moved.
    context: Uuid,
    moving: bool,
    now: Timestamp,
}

impl Calendar<'_> {
    fn words(&self) -> Words<'_> {
        self.chat.words()
    }

    fn name(&self) -> String {
        match self.chat.language {
            Language::Uk => self.service.name_uk.clone(),
            Language::En => self.service.name_en.clone(),
        }
    }

    fn button(&self, label: String, verb: Verb, value: i64, ttl: i64) -> InlineKeyboardButton {
        let data = self.chat.desk.calendar.data(
            CalendarButton {
                verb,
                context: self.context,
                service: self.service.service_id,
                value,
            },
            self.user_id,
            self.now,
            ttl,
        );
        InlineKeyboardButton::callback(label, data)
    }

    fn weekday(&self, day: Date) -> String {
        let names = self.words().get(key::BOOKING_WEEKDAYS);
        let index = day.weekday().to_monday_zero_offset() as usize;
        names.split(',').nth(index).unwrap_or("").trim().to_owned()
    }

    fn day_label(&self, day: Date) -> String {
        format!("{} {:02}.{:02}", self.weekday(day), day.day(), day.month())
    }

    /// A start in the resource's local time: "Mon 07.12, 10:00".
    fn when(&self, at: Timestamp) -> String {
        let local = at.to_zoned(self.service.time_zone.clone());
        format!(
            "{}, {:02}:{:02}",
            self.day_label(local.date()),
            local.hour(),
            local.minute()
        )
    }

    fn time_label(&self, at: Timestamp) -> String {
        let local = at.to_zoned(self.service.time_zone.clone());
        format!("{:02}:{:02}", local.hour(), local.minute())
    }

    fn verbs(&self) -> (Verb, Verb, Verb) {
        if self.moving {
            (Verb::MoveWeek, Verb::MoveDay, Verb::MoveTo)
        } else {
            (Verb::Week, Verb::Day, Verb::Take)
        }
    }

    /// The week from `first` (a Monday): a button per day with free times, and paging.
    async fn week(
        &self,
        first: Date,
    ) -> Result<(String, InlineKeyboardMarkup), bureau_scheduling::store::BookingError> {
        let pool = self.chat.desk.pool();
        let today = self.service.day_of(self.now);
        let last = self.service.last_day(self.now);
        let first = first.clamp(week_start(today), week_start(last));
        let days = desk::free_days(pool, self.service, first, 7, self.now).await?;
        let (week_verb, day_verb, _) = self.verbs();
        let mut rows: Vec<Vec<InlineKeyboardButton>> = days
            .iter()
            .filter(|(_, slots)| !slots.is_empty())
            .map(|(day, slots)| {
                vec![self.button(
                    format!("{} · {}", self.day_label(*day), slots.len()),
                    day_verb,
                    day_number(*day),
                    CALENDAR_TTL_MINUTES,
                )]
            })
            .collect();
        let free = !rows.is_empty();
        let mut paging = Vec::new();
        if first > week_start(today) {
            let earlier = first.checked_sub(7.days()).unwrap_or(first);
            paging.push(self.button(
                self.words().get(key::BOOKING_EARLIER),
                week_verb,
                day_number(earlier),
                CALENDAR_TTL_MINUTES,
            ));
        }
        let later = first.checked_add(7.days()).unwrap_or(first);
        if later <= last {
            paging.push(self.button(
                self.words().get(key::BOOKING_LATER),
                week_verb,
                day_number(later),
                CALENDAR_TTL_MINUTES,
            ));
        }
        if !paging.is_empty() {
            rows.push(paging);
        }
        let end = first.checked_add(6.days()).unwrap_or(first);
        let week = format!("{} – {}", self.day_label(first), self.day_label(end));
        let minutes = self.service.duration_minutes.to_string();
        let mut text = if self.moving {
            self.chat.format(
                key::BOOKING_CHOOSE_DAY_MOVE,
                &[("service", &self.name()), ("week", &week)],
            )
        } else {
            self.chat.format(
                key::BOOKING_CHOOSE_DAY,
                &[
                    ("service", &self.name()),
                    ("minutes", &minutes),
                    ("week", &week),
                ],
            )
        };
        if !free {
            text.push_str("\n\n");
            text.push_str(&self.words().get(key::BOOKING_NO_DAYS));
        }
        Ok((text, InlineKeyboardMarkup::new(rows)))
    }

    /// The free times of `day`, and the way back to its week.
    async fn day(
        &self,
        day: Date,
    ) -> Result<(String, InlineKeyboardMarkup), bureau_scheduling::store::BookingError> {
        let pool = self.chat.desk.pool();
        let slots = desk::free_days(pool, self.service, day, 1, self.now)
            .await?
            .into_iter()
            .next()
            .map(|(_, slots)| slots)
            .unwrap_or_default();
        let (week_verb, _, take_verb) = self.verbs();
        let mut rows: Vec<Vec<InlineKeyboardButton>> = slots
            .chunks(TIMES_PER_ROW)
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|&at| {
                        self.button(
                            self.time_label(at),
                            take_verb,
                            minute_number(at),
                            CALENDAR_TTL_MINUTES,
                        )
                    })
                    .collect()
            })
            .collect();
        rows.push(vec![self.button(
            self.words().get(key::BOOKING_BACK_TO_DAYS),
            week_verb,
            day_number(week_start(day)),
            CALENDAR_TTL_MINUTES,
        )]);
        let label = self.day_label(day);
        let text = if slots.is_empty() {
            self.chat.format(key::BOOKING_NO_TIMES, &[("day", &label)])
        } else {
            self.chat.format(
                key::BOOKING_CHOOSE_TIME,
                &[("service", &self.name()), ("day", &label)],
            )
        };
        Ok((text, InlineKeyboardMarkup::new(rows)))
    }

    /// `when` was taken meanwhile: the next free times instead, and the calendar.
    fn instead(
        &self,
        when: &str,
        next_free: &[Timestamp],
        lost: Timestamp,
    ) -> (String, InlineKeyboardMarkup) {
        let (week_verb, _, take_verb) = self.verbs();
        let mut rows: Vec<Vec<InlineKeyboardButton>> = next_free
            .iter()
            .map(|&at| {
                vec![self.button(
                    self.when(at),
                    take_verb,
                    minute_number(at),
                    CALENDAR_TTL_MINUTES,
                )]
            })
            .collect();
        rows.push(vec![self.button(
            self.words().get(key::BOOKING_OTHER_DAYS),
            week_verb,
            day_number(week_start(self.service.day_of(lost))),
            CALENDAR_TTL_MINUTES,
        )]);
        let text = if next_free.is_empty() {
            self.chat.format(key::BOOKING_TAKEN_NONE, &[("when", when)])
        } else {
            self.chat.format(key::BOOKING_TAKEN, &[("when", when)])
        };
        (text, InlineKeyboardMarkup::new(rows))
    }

    /// Reschedule and Cancel under a booking (`self.context` is ignored: they name it).
    fn manage(&self, booking: Uuid) -> InlineKeyboardMarkup {
        let view = Calendar {
            context: booking,
            moving: true,
            ..*self
        };
        InlineKeyboardMarkup::new([[
            view.button(
                self.words().get(key::BOOKING_RESCHEDULE),
                Verb::Reschedule,
                0,
                MANAGE_TTL_MINUTES,
            ),
            view.button(
                self.words().get(key::BOOKING_CANCEL),
                Verb::Cancel,
                0,
                MANAGE_TTL_MINUTES,
            ),
        ]])
    }
}
