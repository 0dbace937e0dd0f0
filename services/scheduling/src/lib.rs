//! Bookable time. A resource (a staff member or a room) works weekly hours in its own time
//! zone, minus breaks and days off; a bookable service takes a fixed number of minutes.
//! [`free_slots`] computes, for one local day, the starts a service fits at (pure, tested
//! without a database); [`store`] reads the schedule from MySQL and books, moves and
//! cancels slots so that the database never gives one twice.
//!
//! Written here rather than taken from a crate: what a "free slot" is (weekly windows in
//! local time, breaks, days off, bookings of any length, a step) is the business's own
//! rule; the calendar arithmetic itself is jiff's, which knows the time zones.

pub mod booked;
pub mod desk;
/// The calendar arithmetic the gateways share with this crate.
pub use jiff;
pub mod reminders;
pub mod store;

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ToSpan, Zoned};

/// Slots start on this grid (minutes past the hour), whatever the service's duration.
pub const SLOT_STEP_MINUTES: i64 = 30;

/// A window of local wall-clock time on one weekday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub weekday: Weekday,
    pub starts: Time,
    pub ends: Time,
}

/// When a resource works.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub time_zone: TimeZone,
    pub hours: Vec<Window>,
    pub breaks: Vec<Window>,
    pub days_off: Vec<Date>,
}

/// A span of time taken by a live booking: `[starts, ends)`.
pub type Taken = (Timestamp, Timestamp);

/// The starts on local day `day` at which `duration_minutes` fit: inside a working window,
/// clear of breaks and of every `taken` span, and not before `not_before`. Ascending.
pub fn free_slots(
    schedule: &Schedule,
    day: Date,
    duration_minutes: i64,
    taken: &[Taken],
    not_before: Timestamp,
) -> Vec<Timestamp> {
    if duration_minutes <= 0 || schedule.days_off.contains(&day) {
        return Vec::new();
    }
    let duration = duration_minutes.minutes();
    let mut slots = Vec::new();
    for window in schedule.hours.iter().filter(|w| w.weekday == day.weekday()) {
        let (Some(open), Some(close)) = (
            local(schedule, day, window.starts),
            local(schedule, day, window.ends),
        ) else {
            continue;
        };
        let mut start = open.clone();
        loop {
            let Ok(end) = start.checked_add(duration) else {
                break;
            };
            if end.timestamp() > close.timestamp() {
                break;
            }
            let (s, e) = (start.timestamp(), end.timestamp());
            let in_break = schedule
                .breaks
                .iter()
                .filter(|b| b.weekday == day.weekday())
                .filter_map(|b| {
                    Some((
                        local(schedule, day, b.starts)?.timestamp(),
                        local(schedule, day, b.ends)?.timestamp(),
                    ))
                })
                .any(|(bs, be)| overlaps((s, e), (bs, be)));
            let busy = taken.iter().any(|&t| overlaps((s, e), t));
            if !in_break && !busy && s >= not_before {
                slots.push(s);
            }
            match start.checked_add(SLOT_STEP_MINUTES.minutes()) {
                Ok(next) => start = next,
                Err(_) => break,
            }
        }
    }
    slots.sort();
    slots.dedup();
    slots
}

/// Whether `start` is one of the day's slots for `duration_minutes` with nothing taken:
/// the check a booking makes before it takes the slot.
pub fn is_offered(
    schedule: &Schedule,
    start: Timestamp,
    duration_minutes: i64,
    not_before: Timestamp,
) -> bool {
    let day = start.to_zoned(schedule.time_zone.clone()).date();
    free_slots(schedule, day, duration_minutes, &[], not_before).contains(&start)
}

/// `[a)` and `[b)` share an instant.
pub fn overlaps(a: Taken, b: Taken) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// Local `day` at `time` in the schedule's zone (a time skipped by summer time moves on).
fn local(schedule: &Schedule, day: Date, time: Time) -> Option<Zoned> {
    day.to_datetime(time)
        .to_zoned(schedule.time_zone.clone())
        .ok()
}

/// The end of a booking of `duration_minutes` starting at `start`.
pub fn end_of(start: Timestamp, duration_minutes: i64) -> Option<Timestamp> {
    start
        .checked_add(Span::new().minutes(duration_minutes))
        .ok()
}

/// jiff's instant as chrono's, for the database.
pub fn to_chrono(at: Timestamp) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(at.as_second(), at.subsec_nanosecond() as u32)
        .unwrap_or_default()
}

/// chrono's instant as jiff's.
pub fn from_chrono(at: chrono::DateTime<chrono::Utc>) -> Timestamp {
    Timestamp::new(at.timestamp(), at.timestamp_subsec_nanos() as i32)
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use jiff::civil::{date, time};

    use super::*;

    fn kyiv() -> Schedule {
        let weekdays = [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
        ];
        Schedule {
            time_zone: TimeZone::get("Europe/Kyiv").unwrap(),
            hours: weekdays
                .iter()
                .map(|&weekday| Window {
                    weekday,
                    starts: time(9, 0, 0, 0),
                    ends: time(18, 0, 0, 0),
                })
                .collect(),
            breaks: weekdays
                .iter()
                .map(|&weekday| Window {
                    weekday,
                    starts: time(13, 0, 0, 0),
                    ends: time(14, 0, 0, 0),
                })
                .collect(),
            days_off: vec![date(2026, 12, 25)],
        }
    }

    fn at(schedule: &Schedule, day: Date, hour: i8, minute: i8) -> Timestamp {
        local(schedule, day, time(hour, minute, 0, 0))
            .unwrap()
            .timestamp()
    }

    #[test]
    fn an_hour_fits_in_the_hours_around_the_break() {
        let schedule = kyiv();
        let monday = date(2026, 12, 7);
        let slots = free_slots(&schedule, monday, 60, &[], Timestamp::UNIX_EPOCH);
        // 09:00 .. 12:00 (the last before the break), then 14:00 .. 17:00.
        assert_eq!(slots.first(), Some(&at(&schedule, monday, 9, 0)));
        assert!(slots.contains(&at(&schedule, monday, 12, 0)));
        assert!(
            !slots.contains(&at(&schedule, monday, 12, 30)),
            "runs into the break"
        );
        assert!(!slots.contains(&at(&schedule, monday, 13, 30)));
        assert!(slots.contains(&at(&schedule, monday, 14, 0)));
        assert_eq!(slots.last(), Some(&at(&schedule, monday, 17, 0)));
        assert_eq!(slots.len(), 7 + 7);
        // Kyiv is UTC+2 in December.
        assert_eq!(
            at(&schedule, monday, 9, 0).to_string(),
            "2026-12-07T07:00:00Z"
        );
    }

    #[test]
    fn days_off_weekends_bookings_and_the_past_take_slots_away() {
        let schedule = kyiv();
        let christmas = date(2026, 12, 25);
        assert!(free_slots(&schedule, christmas, 60, &[], Timestamp::UNIX_EPOCH).is_empty());
        let saturday = date(2026, 12, 12);
        assert!(free_slots(&schedule, saturday, 60, &[], Timestamp::UNIX_EPOCH).is_empty());
        let monday = date(2026, 12, 7);
        let ten = at(&schedule, monday, 10, 0);
        let taken = [(ten, end_of(ten, 60).unwrap())];
        let slots = free_slots(&schedule, monday, 60, &taken, Timestamp::UNIX_EPOCH);
        for (hour, minute) in [(9, 30), (10, 0), (10, 30)] {
            assert!(
                !slots.contains(&at(&schedule, monday, hour, minute)),
                "{hour}:{minute}"
            );
        }
        assert!(slots.contains(&at(&schedule, monday, 9, 0)));
        assert!(slots.contains(&at(&schedule, monday, 11, 0)));
        let noon = at(&schedule, monday, 12, 0);
        let later = free_slots(&schedule, monday, 60, &[], noon);
        assert_eq!(later.first(), Some(&noon));
        assert!(is_offered(&schedule, noon, 60, Timestamp::UNIX_EPOCH));
        assert!(!is_offered(
            &schedule,
            at(&schedule, monday, 12, 10),
            60,
            Timestamp::UNIX_EPOCH
        ));
    }

    #[test]
    fn summer_time_moves_the_hours_with_the_clock() {
        let schedule = kyiv();
        let july = date(2027, 7, 5);
        assert_eq!(
            at(&schedule, july, 9, 0).to_string(),
            "2027-07-05T06:00:00Z",
            "UTC+3 in summer"
        );
        let instant = Timestamp::from_second(1_800_000_000).unwrap();
        assert_eq!(from_chrono(to_chrono(instant)), instant);
    }
}
