//! The booking calendar's buttons: signed callback data, and the keyboards (a week of days,
//! a day of times, the next free times, a booking's Reschedule / Cancel).
//!
//! Every calendar button is `{verb}:{context}:{service}:{value}:{expires}:{mac}`: the verb
//! (what it asks), the context (the draft's order id for a new booking, the booking's id for
//! a move or a cancel; base64url, 22 characters), the catalogue service (hex), the value (a
//! day as days since 1970-01-01, or a start as minutes since the epoch; hex), when the
//! button stops working (minutes since the epoch, hex) and an HMAC-SHA256 over all of it
//! and the Telegram user it was drawn for, cut to 8 bytes (base64url, 11 characters). At
//! most 64 bytes, as Telegram requires.
//!
//! A forged button (bad MAC, or drawn for someone else) is refused and changes nothing; an
//! expired one is answered with a fresh calendar. The MAC is keyed from the bot token (every
//! replica has it; nobody else does), so any replica verifies what another drew.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bureau_scheduling::jiff::civil::Date;
use bureau_scheduling::jiff::{Timestamp, ToSpan};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

/// How long a calendar's day and time buttons work.
pub const CALENDAR_TTL_MINUTES: i64 = 120;
/// How long a booking's Reschedule / Cancel buttons work (they stay under the message).
pub const MANAGE_TTL_MINUTES: i64 = 60 * 24 * 60;

const MAC_BYTES: usize = 8;

/// What a calendar button asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// Days of the week starting at `value` (a day), for a new booking.
    Week,
    /// Times of day `value`, for a new booking.
    Day,
    /// Book the start `value` (minutes) for the draft.
    Take,
    /// As `Week`, `Day`, `Take`, for moving the booking the context names.
    MoveWeek,
    MoveDay,
    MoveTo,
    /// Start moving the booking (the calendar from this week).
    Reschedule,
    /// Cancel the booking.
    Cancel,
}

impl Verb {
    const ALL: [(Verb, &'static str); 8] = [
        (Verb::Week, "kw"),
        (Verb::Day, "kd"),
        (Verb::Take, "kt"),
        (Verb::MoveWeek, "rw"),
        (Verb::MoveDay, "rd"),
        (Verb::MoveTo, "rt"),
        (Verb::Reschedule, "bm"),
        (Verb::Cancel, "bx"),
    ];

    fn tag(self) -> &'static str {
        Verb::ALL
            .iter()
            .find(|(verb, _)| *verb == self)
            .map(|(_, tag)| *tag)
            .unwrap_or("kw")
    }

    fn from_tag(tag: &str) -> Option<Verb> {
        Verb::ALL
            .iter()
            .find(|(_, t)| *t == tag)
            .map(|(verb, _)| *verb)
    }

    /// Whether the context is an existing booking (rather than a draft's order id).
    pub fn moves(self) -> bool {
        matches!(
            self,
            Verb::MoveWeek | Verb::MoveDay | Verb::MoveTo | Verb::Reschedule | Verb::Cancel
        )
    }
}

/// A calendar button's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CalendarButton {
    pub verb: Verb,
    pub context: Uuid,
    pub service: u32,
    pub value: i64,
}

/// A calendar button as pressed: parsed, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pressed {
    pub button: CalendarButton,
    expires_minute: i64,
    signed: String,
    mac: Vec<u8>,
}

/// Why a pressed calendar button is not acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// The MAC does not match (forged, altered, or drawn for another user).
    Forged,
    /// Genuine, but past its time.
    Expired,
}

/// Signs and verifies calendar buttons.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl Signer {
    /// Keyed from `secret` (the bot token), separated from any other use of it.
    pub fn new(secret: &str) -> Signer {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(b"bureau calendar buttons v1");
        Signer {
            key: mac.finalize().into_bytes().to_vec(),
        }
    }

    fn mac(&self, user_id: i64, signed: &str) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(user_id.to_string().as_bytes());
        mac.update(b"\n");
        mac.update(signed.as_bytes());
        mac
    }

    /// The callback data of `button` for `user_id`, working for `ttl_minutes` from `now`.
    pub fn data(
        &self,
        button: CalendarButton,
        user_id: i64,
        now: Timestamp,
        ttl_minutes: i64,
    ) -> String {
        let expires = now.as_second() / 60 + ttl_minutes;
        let signed = format!(
            "{}:{}:{:x}:{:x}:{:x}",
            button.verb.tag(),
            URL_SAFE_NO_PAD.encode(button.context.as_bytes()),
            button.service,
            button.value,
            expires
        );
        let tag = self.mac(user_id, &signed).finalize().into_bytes();
        format!("{signed}:{}", URL_SAFE_NO_PAD.encode(&tag[..MAC_BYTES]))
    }

    /// The button, if `pressed` was drawn by us for `user_id` and is still within its time.
    pub fn verify(
        &self,
        pressed: &Pressed,
        user_id: i64,
        now: Timestamp,
    ) -> Result<CalendarButton, Rejected> {
        // A constant-time comparison of the tag's first bytes.
        let mac = self.mac(user_id, &pressed.signed);
        if mac.verify_truncated_left(&pressed.mac).is_err() {
            return Err(Rejected::Forged);
        }
        if now.as_second() / 60 > pressed.expires_minute {
            return Err(Rejected::Expired);
        }
        Ok(pressed.button)
    }
}

impl Pressed {
    /// `None` for anything that is not shaped like a calendar button.
    pub fn parse(data: &str) -> Option<Pressed> {
        let (signed, mac) = data.rsplit_once(':')?;
        let parts: Vec<&str> = signed.split(':').collect();
        let [verb, context, service, value, expires] = parts.as_slice() else {
            return None;
        };
        let verb = Verb::from_tag(verb)?;
        let context: [u8; 16] = URL_SAFE_NO_PAD.decode(context).ok()?.try_into().ok()?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        if mac.len() != MAC_BYTES {
            return None;
        }
        Some(Pressed {
            button: CalendarButton {
                verb,
                context: Uuid::from_bytes(context),
                service: u32::from_str_radix(service, 16).ok()?,
                value: i64::from_str_radix(value, 16).ok()?,
            },
            expires_minute: i64::from_str_radix(expires, 16).ok()?,
            signed: signed.to_owned(),
            mac,
        })
    }
}

const EPOCH: Date = Date::constant(1970, 1, 1);

/// A day as the number a button carries.
pub fn day_number(day: Date) -> i64 {
    EPOCH
        .until(day)
        .map(|span| i64::from(span.get_days()))
        .unwrap_or(0)
}

/// The day a button's number names.
pub fn day_of_number(number: i64) -> Option<Date> {
    // `try_days`: a number out of a span's range is no day (`days()` would panic).
    let span = bureau_scheduling::jiff::Span::new().try_days(number).ok()?;
    EPOCH.checked_add(span).ok()
}

/// A start as the number a button carries (slots are on whole minutes).
pub fn minute_number(at: Timestamp) -> i64 {
    at.as_second() / 60
}

/// The start a button's number names.
pub fn minute_of_number(number: i64) -> Option<Timestamp> {
    Timestamp::from_second(number.checked_mul(60)?).ok()
}

/// The Monday of `day`'s week.
pub fn week_start(day: Date) -> Date {
    let back = i64::from(day.weekday().to_monday_zero_offset());
    day.checked_sub(back.days()).unwrap_or(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::new("123456:bot-token")
    }

    fn now() -> Timestamp {
        "2026-12-04T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn every_button_fits_telegrams_64_bytes_and_round_trips() {
        for (verb, _) in Verb::ALL {
            let button = CalendarButton {
                verb,
                context: Uuid::now_v7(),
                service: u32::MAX,
                value: minute_number(now()) + 60 * 24 * 365,
            };
            let data = signer().data(button, 7_999_999_999, now(), MANAGE_TTL_MINUTES);
            assert!(data.len() <= 64, "{data} is {} bytes", data.len());
            let pressed = Pressed::parse(&data).expect("parses");
            assert_eq!(signer().verify(&pressed, 7_999_999_999, now()), Ok(button));
        }
    }

    #[test]
    fn a_forged_altered_or_foreign_button_is_refused_and_an_old_one_expires() {
        let button = CalendarButton {
            verb: Verb::Take,
            context: Uuid::now_v7(),
            service: 12,
            value: minute_number(now()) + 600,
        };
        let data = signer().data(button, 42, now(), CALENDAR_TTL_MINUTES);
        let pressed = Pressed::parse(&data).unwrap();
        assert_eq!(
            signer().verify(&pressed, 43, now()),
            Err(Rejected::Forged),
            "another user's"
        );
        assert_eq!(
            Signer::new("another token").verify(&pressed, 42, now()),
            Err(Rejected::Forged)
        );
        // Another start, with the MAC of the original.
        let (head, mac) = data.rsplit_once(':').unwrap();
        let (prefix, _) = head.rsplit_once(':').unwrap();
        let (prefix, _) = prefix.rsplit_once(':').unwrap();
        let expires = head.rsplit_once(':').unwrap().1;
        let altered = format!("{prefix}:{:x}:{expires}:{mac}", button.value + 30);
        let altered = Pressed::parse(&altered).unwrap();
        assert_eq!(signer().verify(&altered, 42, now()), Err(Rejected::Forged));
        let later = now()
            .checked_add((CALENDAR_TTL_MINUTES + 1).minutes())
            .unwrap();
        assert_eq!(signer().verify(&pressed, 42, later), Err(Rejected::Expired));
        for junk in [
            "",
            "kt",
            "kt:a:b:c:d:e",
            "zz:AAAAAAAAAAAAAAAAAAAAAA:1:1:1:AAAAAAAAAAA",
        ] {
            assert_eq!(Pressed::parse(junk), None, "{junk}");
        }
    }

    #[test]
    fn days_and_minutes_round_trip() {
        let day = Date::constant(2026, 12, 7);
        assert_eq!(day_of_number(day_number(day)), Some(day));
        assert_eq!(week_start(Date::constant(2026, 12, 10)), day);
        assert_eq!(minute_of_number(minute_number(now())), Some(now()));
        assert_eq!(day_of_number(minute_number(now())), None, "out of range");
        assert_eq!(day_of_number(i64::MAX), None);
    }
}
