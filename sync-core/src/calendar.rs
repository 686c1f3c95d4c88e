//! Working-time calendar: case deadlines are counted in working hours, so
//! "4 hours" reported at Friday 17:00 falls due on Monday, not at 21:00.
//!
//! Pure integer arithmetic on UTC milliseconds, with no time-zone database:
//! a district keeps one fixed offset (China has had no DST since 1991), and
//! every device must compute the same deadline from the same events.

use std::collections::BTreeSet;

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
const MINUTES_PER_DAY: u32 = 1440;

/// Working days and hours of a district.
///
/// Day numbers are "local epoch days": days since 1970-01-01 in local time,
/// as produced by [`days_from_civil`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkCalendar {
    /// Local time = UTC + this many minutes.
    offset_minutes: i32,
    /// Working periods as minutes of the local day, sorted and
    /// non-overlapping, each non-empty; e.g. [(540, 720), (780, 1080)] =
    /// 09:00–12:00, 13:00–18:00 (8 h).
    periods: Vec<(u32, u32)>,
    /// Local days that are not working days although Mon–Fri (法定节假日).
    holidays: BTreeSet<i64>,
    /// Local days that are working days although Sat/Sun (调休).
    extra_workdays: BTreeSet<i64>,
}

impl Default for WorkCalendar {
    /// Beijing office hours; see [`WorkCalendar::beijing`].
    fn default() -> Self {
        Self::beijing()
    }
}

impl WorkCalendar {
    /// UTC+8, 09:00–12:00 and 13:00–18:00, Mon–Fri, no holidays: the common
    /// schedule of district units, 8 working hours a day. Holidays change
    /// every year by State Council notice, so they are added by the caller.
    pub fn beijing() -> Self {
        WorkCalendar {
            offset_minutes: 8 * 60,
            periods: vec![(540, 720), (780, 1080)],
            holidays: BTreeSet::new(),
            extra_workdays: BTreeSet::new(),
        }
    }

    /// A calendar with the given UTC offset and daily working periods
    /// (minutes of the local day, end exclusive).
    ///
    /// Returns `None` if `periods` is empty, or a period is empty or ends
    /// after 1440, or the periods are unsorted or overlap. Touching periods
    /// such as (540, 720), (720, 1080) are accepted. Rejecting bad input
    /// here is what lets the arithmetic below assume at least one working
    /// minute per working day and never loop forever.
    pub fn new(offset_minutes: i32, periods: Vec<(u32, u32)>) -> Option<Self> {
        if periods.is_empty() {
            return None;
        }
        let each_ok = periods
            .iter()
            .all(|&(start, end)| start < end && end <= MINUTES_PER_DAY);
        let ordered = periods.windows(2).all(|w| w[0].1 <= w[1].0);
        (each_ok && ordered).then(|| WorkCalendar {
            offset_minutes,
            periods,
            holidays: BTreeSet::new(),
            extra_workdays: BTreeSet::new(),
        })
    }

    /// Marks a local date (year, month, day) as a day off. A later call for
    /// the same date wins over an earlier `with_extra_workday`, so a
    /// corrected holiday notice can simply be applied on top.
    pub fn with_holiday(mut self, date: (i32, u32, u32)) -> Self {
        let day = days_from_civil(date.0, date.1, date.2);
        self.extra_workdays.remove(&day);
        self.holidays.insert(day);
        self
    }

    /// Marks a local date (year, month, day) as a working day (调休, a
    /// weekend made up for a holiday). A later call for the same date wins
    /// over an earlier `with_holiday`.
    pub fn with_extra_workday(mut self, date: (i32, u32, u32)) -> Self {
        let day = days_from_civil(date.0, date.1, date.2);
        self.holidays.remove(&day);
        self.extra_workdays.insert(day);
        self
    }

    /// Whether the local epoch day is a working day: Mon–Fri unless a
    /// holiday, Sat/Sun only if an extra workday.
    pub fn is_working_day(&self, local_day: i64) -> bool {
        if self.extra_workdays.contains(&local_day) {
            return true;
        }
        !self.holidays.contains(&local_day) && is_weekday(local_day)
    }

    /// Working minutes in one working day (480 for [`WorkCalendar::beijing`]).
    pub fn minutes_per_day(&self) -> u32 {
        self.periods.iter().map(|&(start, end)| end - start).sum()
    }

    /// The instant `minutes` working minutes after `start` (start itself may
    /// be outside working time: counting begins at the next working period).
    /// minutes == 0 returns start unchanged.
    ///
    /// When the budget runs out exactly at the end of a period, the result
    /// is that period's end (Monday 09:00 + 180 min = Monday 12:00), not the
    /// start of the next one: a case finished at 12:00 is on time.
    ///
    /// Cost is independent of the budget: the first partial day is walked,
    /// then the day the budget runs out on is found by binary search over a
    /// closed-form count of working days. If the result lies beyond the
    /// representable range it saturates at `Millis::MAX` ("never").
    pub fn add_working_minutes(&self, start: Millis, minutes: u64) -> Millis {
        if minutes == 0 {
            return start;
        }
        let day_ms = u128::from(self.minutes_per_day()) * MINUTE_MS as u128;
        if day_ms == 0 {
            // Unreachable through the constructors; "never" is the honest
            // answer for a calendar without working time.
            return Millis::MAX;
        }
        let mut remaining = u128::from(minutes) * MINUTE_MS as u128;
        let (day, time) = self.to_local(start);

        if self.is_working_day(day) {
            if let Some(at) = self.consume_within_day(time, &mut remaining) {
                return self.to_utc(day, at);
            }
        }

        // `remaining` > 0 here. It needs `full` more working days, the last
        // of which is used only partly (or exactly to its end).
        let full = remaining.div_ceil(day_ms);
        remaining -= (full - 1) * day_ms;
        let Some(last_day) = self.nth_working_day_after(day, full) else {
            return Millis::MAX;
        };
        match self.consume_within_day(0, &mut remaining) {
            Some(at) => self.to_utc(last_day, at),
            None => Millis::MAX,
        }
    }

    /// Working minutes in [from, to); 0 if to <= from.
    ///
    /// Partial minutes are truncated. For any `start` and `m` whose result
    /// is representable, `working_minutes_between(start,
    /// add_working_minutes(start, m)) == m`. Cost is independent of the span.
    pub fn working_minutes_between(&self, from: Millis, to: Millis) -> u64 {
        if to <= from {
            return 0;
        }
        let (day_from, time_from) = self.to_local(from);
        let (day_to, time_to) = self.to_local(to);

        let worked = |day: i64, a: i64, b: i64| -> u128 {
            if self.is_working_day(day) {
                self.worked_within_day(a, b)
            } else {
                0
            }
        };
        let total_ms = if day_from == day_to {
            worked(day_from, time_from, time_to)
        } else {
            let day_ms = u128::from(self.minutes_per_day()) * MINUTE_MS as u128;
            let middle = u128::from(self.working_days_in(day_from + 1, day_to)) * day_ms;
            worked(day_from, time_from, DAY_MS) + middle + worked(day_to, 0, time_to)
        };
        u64::try_from(total_ms / MINUTE_MS as u128).unwrap_or(u64::MAX)
    }

    fn offset_ms(&self) -> i64 {
        i64::from(self.offset_minutes) * MINUTE_MS
    }

    /// An instant as the district's wall clock shows it, `YYYY-MM-DD HH:MM`: how the console
    /// and the field CLI write times for people.
    pub fn wall_clock(&self, t: Millis) -> String {
        let (day, time) = self.to_local(t);
        let (y, m, d) = civil_from_days(day);
        let minutes = time / MINUTE_MS;
        format!(
            "{y:04}-{m:02}-{d:02} {:02}:{:02}",
            minutes / 60,
            minutes % 60
        )
    }

    /// Local (epoch day, ms of the day) of a UTC instant. Computed in
    /// `i128` so that instants near the ends of the range keep their true
    /// local day instead of a saturated one.
    fn to_local(&self, t: Millis) -> (i64, i64) {
        let local = i128::from(t) + i128::from(self.offset_ms());
        let day = local.div_euclid(i128::from(DAY_MS));
        let time = local.rem_euclid(i128::from(DAY_MS));
        // |local| < 2^64, so the day fits easily and the time is < DAY_MS.
        (day as i64, time as i64)
    }

    /// UTC instant of `ms_of_day` milliseconds into local day `day`,
    /// clamped to the `Millis` range (`Millis::MAX` reads as "never").
    fn to_utc(&self, day: i64, ms_of_day: i64) -> Millis {
        let utc = i128::from(day) * i128::from(DAY_MS) + i128::from(ms_of_day)
            - i128::from(self.offset_ms());
        match i64::try_from(utc) {
            Ok(utc) => utc,
            Err(_) if utc > 0 => Millis::MAX,
            Err(_) => Millis::MIN,
        }
    }

    /// The local day from which on every instant is past `Millis::MAX`:
    /// searching further cannot change the (clamped) answer, so day
    /// searches stop here and always terminate.
    fn last_useful_day(&self) -> i64 {
        let local_max = i128::from(Millis::MAX) + i128::from(self.offset_ms());
        // Fits in i64 for the same reason as in `to_local`.
        (local_max.div_euclid(i128::from(DAY_MS)) + 1) as i64
    }

    /// Spends `remaining` (ms) on the working periods of one day from
    /// `time` (ms of the day) on. Returns the ms of the day where the budget
    /// ran out, or `None` with `remaining` reduced by what the day offered.
    fn consume_within_day(&self, time: i64, remaining: &mut u128) -> Option<i64> {
        for &(start, end) in &self.periods {
            let start = i64::from(start) * MINUTE_MS;
            let end = i64::from(end) * MINUTE_MS;
            if time >= end {
                continue;
            }
            let from = start.max(time);
            // At most one day of milliseconds: the conversions cannot fail.
            let available = u128::try_from(end - from).unwrap_or(0);
            if *remaining <= available {
                let used = i64::try_from(*remaining).unwrap_or(0);
                return Some(from + used);
            }
            *remaining -= available;
        }
        None
    }

    /// Working milliseconds between `a` and `b` (ms of one day), ignoring
    /// whether the day itself is a working day.
    fn worked_within_day(&self, a: i64, b: i64) -> u128 {
        self.periods
            .iter()
            .map(|&(start, end)| {
                let start = (i64::from(start) * MINUTE_MS).max(a);
                let end = (i64::from(end) * MINUTE_MS).min(b);
                u128::try_from(end - start).unwrap_or(0)
            })
            .sum()
    }

    /// Number of working days in the local days [a, b); 0 if b <= a.
    ///
    /// Closed form for Mon–Fri, corrected by the (few) holidays and extra
    /// workdays in range, so spans of centuries cost the same as a week.
    fn working_days_in(&self, a: i64, b: i64) -> u64 {
        if b <= a {
            return 0;
        }
        let weekdays = weekdays_before(b) - weekdays_before(a);
        let holidays = self
            .holidays
            .range(a..b)
            .filter(|&&d| is_weekday(d))
            .count();
        let extra = self
            .extra_workdays
            .range(a..b)
            .filter(|&&d| !is_weekday(d))
            .count();
        let count = i128::from(weekdays) - holidays as i128 + extra as i128;
        u64::try_from(count).unwrap_or(0)
    }

    /// The `n`-th working day strictly after `day` (n >= 1), or `None` if it
    /// lies past the representable range.
    fn nth_working_day_after(&self, day: i64, n: u128) -> Option<i64> {
        let last = self.last_useful_day();
        let first = day.saturating_add(1);
        if n == 0 || first > last {
            return None;
        }
        // Every 7 consecutive days hold 5 weekdays and holidays remove at
        // most `holidays.len()` of them, so this many days always suffice.
        let weeks = (n + self.holidays.len() as u128).div_ceil(5) + 1;
        let span = weeks.saturating_mul(7);
        let mut hi = match i64::try_from(span) {
            Ok(span) => first.saturating_add(span).min(last),
            Err(_) => last,
        };
        let enough = |until: i64| u128::from(self.working_days_in(first, until + 1)) >= n;
        if !enough(hi) {
            return None;
        }
        let mut lo = first;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if enough(mid) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Some(lo)
    }
}

/// Mon–Fri? 1970-01-01 (day 0) was a Thursday.
fn is_weekday(day: i64) -> bool {
    // 0 = Monday … 6 = Sunday.
    let weekday = (day.rem_euclid(7) + 3) % 7;
    weekday < 5
}

/// A prefix count of Mon–Fri days: `weekdays_before(b) - weekdays_before(a)`
/// is the number of weekdays in [a, b). Anchored on Monday 1970-01-05 (day
/// 4); floor division keeps it correct for earlier days.
fn weekdays_before(day: i64) -> i64 {
    let since_monday = day - 4;
    5 * since_monday.div_euclid(7) + since_monday.rem_euclid(7).min(5)
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's
/// days_from_civil); used for holidays.
///
/// Computed in `i64` so any input is safe; out-of-range months or days are
/// not validated and give an arithmetically shifted day rather than a panic.
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let m = i64::from(m);
    let d = i64::from(d);
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = if m > 2 { m - 3 } else { m + 9 };
    let day_of_year = (153 * month_from_march + 2) / 5 + d - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date of a day counted from 1970-01-01: the inverse of
/// [`days_from_civil`] (Howard Hinnant's civil_from_days).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let d = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (year_of_era + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y as i32, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_513), (2026, 3, 1));
    }

    /// Local Beijing wall-clock time to UTC millis.
    fn at(y: i32, m: u32, d: u32, h: i64, min: i64) -> Millis {
        (days_from_civil(y, m, d) * 1440 + h * 60 + min - 8 * 60) * 60_000
    }

    fn cal() -> WorkCalendar {
        WorkCalendar::beijing()
    }

    // 2024-01-01 was a Monday; 2024-01-05 Friday, 01-06 Saturday, 01-08 Monday.

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2024, 1, 1), 19_723);
        assert_eq!(
            days_from_civil(2024, 3, 1) - days_from_civil(2024, 2, 28),
            2
        );
    }

    #[test]
    fn weekdays() {
        let cal = cal();
        assert!(cal.is_working_day(days_from_civil(1970, 1, 1))); // Thursday
        assert!(cal.is_working_day(days_from_civil(2024, 1, 1))); // Monday
        assert!(cal.is_working_day(days_from_civil(2024, 1, 5))); // Friday
        assert!(!cal.is_working_day(days_from_civil(2024, 1, 6))); // Saturday
        assert!(!cal.is_working_day(days_from_civil(2024, 1, 7))); // Sunday
        assert!(!cal.is_working_day(days_from_civil(1969, 12, 28))); // Sunday
        assert!(cal.is_working_day(days_from_civil(1969, 12, 29))); // Monday
        assert_eq!(cal.minutes_per_day(), 480);
        assert_eq!(WorkCalendar::default(), cal);
    }

    #[test]
    fn lunch_is_skipped() {
        let cal = cal();
        assert_eq!(
            cal.add_working_minutes(at(2024, 1, 1, 9, 0), 240),
            at(2024, 1, 1, 14, 0)
        );
    }

    #[test]
    fn period_end_is_returned_exactly() {
        let cal = cal();
        assert_eq!(
            cal.add_working_minutes(at(2024, 1, 1, 9, 0), 180),
            at(2024, 1, 1, 12, 0)
        );
        assert_eq!(
            cal.add_working_minutes(at(2024, 1, 1, 9, 0), 480),
            at(2024, 1, 1, 18, 0)
        );
        // Starting at a period end moves on to the next period.
        assert_eq!(
            cal.add_working_minutes(at(2024, 1, 1, 12, 0), 1),
            at(2024, 1, 1, 13, 1)
        );
    }

    #[test]
    fn zero_minutes_returns_start() {
        let cal = cal();
        let saturday = at(2024, 1, 6, 10, 0);
        assert_eq!(cal.add_working_minutes(saturday, 0), saturday);
    }

    #[test]
    fn weekend_is_skipped() {
        let cal = cal();
        assert_eq!(
            cal.add_working_minutes(at(2024, 1, 5, 17, 0), 120),
            at(2024, 1, 8, 10, 0)
        );
        assert_eq!(
            cal.add_working_minutes(at(2024, 1, 6, 10, 0), 60),
            at(2024, 1, 8, 10, 0)
        );
        // Friday evening counts from Monday morning.
        assert_eq!(
            cal.add_working_minutes(at(2024, 1, 5, 20, 0), 60),
            at(2024, 1, 8, 10, 0)
        );
    }

    #[test]
    fn holiday_monday_is_skipped() {
        let cal = cal().with_holiday((2024, 1, 8));
        assert!(!cal.is_working_day(days_from_civil(2024, 1, 8)));
        assert_eq!(
            cal.add_working_minutes(at(2024, 1, 5, 17, 0), 120),
            at(2024, 1, 9, 10, 0)
        );
        assert_eq!(
            cal.working_minutes_between(at(2024, 1, 5, 17, 0), at(2024, 1, 9, 10, 0)),
            120
        );
    }

    #[test]
    fn extra_workday_saturday_counts() {
        let cal = cal().with_extra_workday((2024, 1, 6));
        assert!(cal.is_working_day(days_from_civil(2024, 1, 6)));
        assert_eq!(
            cal.add_working_minutes(at(2024, 1, 5, 17, 0), 120),
            at(2024, 1, 6, 10, 0)
        );
        // The last call for a date wins.
        let back = cal.with_holiday((2024, 1, 6));
        assert!(!back.is_working_day(days_from_civil(2024, 1, 6)));
    }

    #[test]
    fn one_hundred_sixty_hours_is_twenty_working_days() {
        let cal = cal();
        let start = at(2024, 1, 1, 9, 0);
        let due = cal.add_working_minutes(start, 160 * 60);
        // Four full weeks: the budget runs out at the end of Friday the 26th,
        // which is the same working instant as Monday the 29th 09:00.
        assert_eq!(due, at(2024, 1, 26, 18, 0));
        assert_eq!(cal.working_minutes_between(due, at(2024, 1, 29, 9, 0)), 0);
        assert_eq!(
            cal.add_working_minutes(start, 160 * 60 + 1),
            at(2024, 1, 29, 9, 1)
        );
    }

    #[test]
    fn long_budgets_cross_holiday_weeks() {
        // Spring Festival 2024: Feb 10–17 off, Feb 4 (Sun) and Feb 18 (Sun) worked.
        let mut cal = cal()
            .with_extra_workday((2024, 2, 4))
            .with_extra_workday((2024, 2, 18));
        for d in 10..=17 {
            cal = cal.with_holiday((2024, 2, d));
        }
        // Friday Feb 2 09:00 + 3 working days = Feb 2, Feb 4 (Sun), Feb 5.
        assert_eq!(
            cal.add_working_minutes(at(2024, 2, 2, 9, 0), 3 * 480),
            at(2024, 2, 5, 18, 0)
        );
        // Friday Feb 9 09:00 + 1 day + 1 min: Feb 9 then Sunday Feb 18.
        assert_eq!(
            cal.add_working_minutes(at(2024, 2, 9, 9, 0), 481),
            at(2024, 2, 18, 9, 1)
        );
    }

    #[test]
    fn between_is_the_inverse_of_add() {
        let cal = cal()
            .with_holiday((2024, 1, 8))
            .with_extra_workday((2024, 1, 13));
        let starts = [
            at(2024, 1, 1, 9, 0),
            at(2024, 1, 1, 12, 30),
            at(2024, 1, 5, 17, 59),
            at(2024, 1, 6, 3, 0),
            at(2024, 1, 7, 23, 59),
            at(2023, 12, 31, 23, 0),
            at(1969, 12, 30, 10, 15) + 12_345, // before 1970, not minute-aligned
        ];
        let budgets = [1, 59, 180, 181, 480, 481, 2_400, 9_600, 100_000];
        for &start in &starts {
            for &m in &budgets {
                let end = cal.add_working_minutes(start, m);
                assert!(end > start);
                assert_eq!(
                    cal.working_minutes_between(start, end),
                    m,
                    "start {start} m {m}"
                );
            }
        }
    }

    #[test]
    fn between_counts_working_time_only() {
        let cal = cal();
        assert_eq!(
            cal.working_minutes_between(at(2024, 1, 1, 9, 0), at(2024, 1, 1, 9, 0)),
            0
        );
        assert_eq!(
            cal.working_minutes_between(at(2024, 1, 2, 9, 0), at(2024, 1, 1, 9, 0)),
            0
        );
        assert_eq!(
            cal.working_minutes_between(at(2024, 1, 1, 0, 0), at(2024, 1, 8, 0, 0)),
            5 * 480
        );
        assert_eq!(
            cal.working_minutes_between(at(2024, 1, 1, 11, 0), at(2024, 1, 1, 14, 0)),
            120
        );
    }

    #[test]
    fn negative_instants_work() {
        let cal = cal();
        // Monday 1969-12-29.
        assert_eq!(
            cal.add_working_minutes(at(1969, 12, 29, 9, 0), 240),
            at(1969, 12, 29, 14, 0)
        );
        // Friday 1969-12-26 17:00 + 2 h = Monday 1969-12-29 10:00.
        assert_eq!(
            cal.add_working_minutes(at(1969, 12, 26, 17, 0), 120),
            at(1969, 12, 29, 10, 0)
        );
    }

    #[test]
    fn absurd_inputs_do_not_panic() {
        let cal = cal();
        assert_eq!(
            cal.add_working_minutes(at(2024, 1, 1, 9, 0), u64::MAX),
            Millis::MAX
        );
        assert_eq!(cal.add_working_minutes(Millis::MAX, 1), Millis::MAX);
        assert!(cal.add_working_minutes(Millis::MIN, 1) > Millis::MIN);
        assert_eq!(cal.add_working_minutes(Millis::MIN, u64::MAX), Millis::MAX);
        assert!(cal.working_minutes_between(Millis::MIN, Millis::MAX) > 0);
        let far = WorkCalendar::new(i32::MAX, vec![(0, 1440)]).expect("valid periods");
        let _ = far.add_working_minutes(Millis::MAX - 1, u64::MAX);
        let _ = far.working_minutes_between(Millis::MIN, Millis::MAX);
    }

    #[test]
    fn new_rejects_bad_periods() {
        assert_eq!(WorkCalendar::new(480, vec![]), None);
        assert_eq!(WorkCalendar::new(480, vec![(780, 1080), (540, 720)]), None); // unsorted
        assert_eq!(WorkCalendar::new(480, vec![(540, 800), (780, 1080)]), None); // overlap
        assert_eq!(WorkCalendar::new(480, vec![(540, 1441)]), None); // past midnight
        assert_eq!(WorkCalendar::new(480, vec![(600, 600)]), None); // empty
        assert_eq!(WorkCalendar::new(480, vec![(700, 600)]), None); // reversed
        assert_eq!(
            WorkCalendar::new(480, vec![(540, 720), (780, 1080)]),
            Some(WorkCalendar::beijing())
        );
        let touching = WorkCalendar::new(0, vec![(0, 720), (720, 1440)]).expect("touching is fine");
        assert_eq!(touching.minutes_per_day(), 1440);
    }
}
