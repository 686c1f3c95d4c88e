//! Drill-down (钻取): the case list behind a figure of the indicators. For a figure of a group
//! (or the total) over a period, the filters of `GET /v1/cases` that list exactly the cases the
//! figure counts (`indicators::formulas`), so the list's length is the figure; the performance
//! page links each such number to the console's list (`/cases?...`), which takes the same
//! filters.
//!
//! Figures a case list cannot make have no link ([`Figure::of`] answers `None`): the sums over
//! cases (返工 `rework` counts failed verifications, 延期 `extended` extensions, 核查
//! `verifications`: a case may count twice), the units' dispatch figures (派遣, 退回, 签收:
//! one per dispatch, for the unit of each dispatch), the evaluation counts, and every group
//! without a key (`none`: not dispatched, not filed, uncategorized).

use crate::cases::CaseFilter;
use crate::indicators::{GroupBy, NO_GROUP};
use gridcase_sync_core::Millis;
use maud::{html, Markup};

/// A count of the indicators that is a number of cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    /// 立案数: filed in the period.
    Filed,
    /// 应结案数: deadline in force now in the period, neither held, voided nor declined.
    Due,
    /// 结案数: of the due, closed as of now.
    Closed,
    /// 按期结案数: of the due, closed by the deadline with no earlier one missed.
    ClosedOnTime,
    /// 超期数: of the due, overdue now or closed late, or an earlier deadline missed.
    Overdue,
    /// 期内结案数: closed in the period.
    ClosedInPeriod,
    /// 受理数: created in the period.
    Received,
    /// 直接答复数: of the received, answered at intake.
    AnsweredDirectly,
    /// 作废数: created in the period and voided.
    Voided,
    /// Closed in the period, not answered at intake, with a dissatisfied or unsolved callback
    /// in any round.
    CalledBackDissatisfied,
}

impl Figure {
    pub const ALL: [Figure; 10] = [
        Figure::Filed,
        Figure::Due,
        Figure::Closed,
        Figure::ClosedOnTime,
        Figure::Overdue,
        Figure::ClosedInPeriod,
        Figure::Received,
        Figure::AnsweredDirectly,
        Figure::Voided,
        Figure::CalledBackDissatisfied,
    ];

    /// Its field in `Indicators` (the JSON of `GET /v1/stats`).
    pub fn field(self) -> &'static str {
        match self {
            Figure::Filed => "filed",
            Figure::Due => "due",
            Figure::Closed => "closed",
            Figure::ClosedOnTime => "closed_on_time",
            Figure::Overdue => "overdue",
            Figure::ClosedInPeriod => "closed_in_period",
            Figure::Received => "received",
            Figure::AnsweredDirectly => "answered_directly",
            Figure::Voided => "voided",
            Figure::CalledBackDissatisfied => "called_back_dissatisfied",
        }
    }

    /// The figure of an `Indicators` field, when a case list makes it.
    pub fn of(field: &str) -> Option<Figure> {
        Figure::ALL.into_iter().find(|f| f.field() == field)
    }

    /// The filters of the cases it counts over `[from, to)`, whatever the group.
    fn filter(self, from: Millis, to: Millis) -> CaseFilter {
        let due = CaseFilter {
            due_from: Some(from),
            due_to: Some(to),
            held_or_voided: Some(false),
            ..CaseFilter::default()
        };
        let created = CaseFilter {
            created_from: Some(from),
            created_to: Some(to),
            ..CaseFilter::default()
        };
        let closed_in_period = CaseFilter {
            closed_from: Some(from),
            closed_to: Some(to),
            ..CaseFilter::default()
        };
        match self {
            Figure::Filed => CaseFilter {
                filed_from: Some(from),
                filed_to: Some(to),
                ..CaseFilter::default()
            },
            Figure::Due => due,
            Figure::Closed => CaseFilter {
                closed: Some(true),
                ..due
            },
            Figure::ClosedOnTime => CaseFilter {
                closed: Some(true),
                closed_on_time: Some(true),
                ..due
            },
            Figure::Overdue => CaseFilter {
                overdue: Some(true),
                ..due
            },
            Figure::ClosedInPeriod => closed_in_period,
            Figure::Received => created,
            Figure::AnsweredDirectly => CaseFilter {
                answered_directly: Some(true),
                ..created
            },
            Figure::Voided => CaseFilter {
                status: Some("voided".into()),
                ..created
            },
            Figure::CalledBackDissatisfied => CaseFilter {
                answered_directly: Some(false),
                ever_dissatisfied: Some(true),
                ..closed_in_period
            },
        }
    }
}

/// The filters of the cases behind `figure` of the group `key` (by `by`; `None`: the total)
/// over `[from, to)`; `None` for the group without a key, which no filter names.
pub fn filter(
    by: GroupBy,
    key: Option<&str>,
    figure: Figure,
    from: Millis,
    to: Millis,
) -> Option<CaseFilter> {
    let mut filter = figure.filter(from, to);
    let Some(key) = key else {
        return Some(filter);
    };
    if key == NO_GROUP {
        return None;
    }
    let key = Some(key.to_owned());
    match by {
        // The unit the indicators count the case for, not any unit it ever went to.
        GroupBy::Unit => filter.counted_unit = key,
        GroupBy::Street => filter.street = key,
        GroupBy::Community => filter.community = key,
        GroupBy::Grid => filter.grid = key,
        GroupBy::Category => filter.category = key,
        GroupBy::Responsible => filter.responsible = key,
    }
    Some(filter)
}

/// The query of a filter (`due_from=...&counted_unit=u1`), as both `/cases` and
/// `GET /v1/cases` read it.
pub fn query(filter: &CaseFilter) -> String {
    serde_urlencoded::to_string(filter).unwrap_or_default()
}

/// The console's list of the cases behind a figure, or `None` (see [`filter`]).
pub fn link(
    by: GroupBy,
    key: Option<&str>,
    figure: Figure,
    from: Millis,
    to: Millis,
) -> Option<String> {
    filter(by, key, figure, from, to).map(|f| format!("/cases?{}", query(&f)))
}

/// A figure's cell content: the number, linked to its cases when a list makes it. The link
/// names the figure and the group (`data-figure`, `data-group`; `total` for the total).
/// The case list a rate's numerator makes, for a rate over a cohort a list can express: 结案率
/// opens the due cases closed, 按期结案率 those closed on time (the rate's denominator, 应结案,
/// is the count beside it).
pub fn rate(
    by: GroupBy,
    key: Option<&str>,
    field: &str,
    shown: String,
    from: Millis,
    to: Millis,
) -> Markup {
    let figure = match field {
        "closing_rate" => Some(Figure::Closed),
        "on_time_rate" => Some(Figure::ClosedOnTime),
        _ => None,
    };
    // `data-figure` names the count the list makes (the numerator), as the count's own link.
    let linked = figure.and_then(|f| link(by, key, f, from, to).map(|href| (f, href)));
    html! {
        @match linked {
            Some((f, href)) => a.drill href=(href) data-figure=(f.field()) data-group=(key.unwrap_or("total")) title=(field) { (shown) },
            None => (shown),
        }
    }
}

pub fn number(
    by: GroupBy,
    key: Option<&str>,
    field: &str,
    value: u64,
    from: Millis,
    to: Millis,
) -> Markup {
    let href = Figure::of(field).and_then(|f| link(by, key, f, from, to));
    html! {
        @match href {
            Some(href) => a.drill href=(href) data-figure=(field) data-group=(key.unwrap_or("total")) { (value) },
            None => (value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_figure_links_its_cohort_and_its_group() {
        let href = link(GroupBy::Unit, Some("u1"), Figure::ClosedOnTime, 10, 20).expect("a link");
        assert_eq!(
            href,
            "/cases?counted_unit=u1&due_from=10&due_to=20&held_or_voided=false&closed=true&closed_on_time=true"
        );
        assert_eq!(
            link(GroupBy::Unit, Some(NO_GROUP), Figure::Due, 10, 20),
            None
        );
        let total = filter(GroupBy::Grid, None, Figure::Overdue, 10, 20).expect("total");
        assert_eq!(total.grid, None);
        assert_eq!(total.overdue, Some(true));
        assert_eq!(Figure::of("rework"), None, "a sum of verifications");
        assert_eq!(Figure::of("returns"), None, "one per dispatch");
        for f in Figure::ALL {
            assert_eq!(Figure::of(f.field()), Some(f));
        }
    }

    #[test]
    fn a_number_without_a_list_is_plain() {
        let plain = number(GroupBy::Unit, Some("u1"), "dispatches", 3, 0, 1).into_string();
        assert_eq!(plain, "3");
        let linked = number(GroupBy::Street, None, "due", 4, 0, 1).into_string();
        assert!(
            linked.starts_with("<a class=\"drill\" href=\"/cases?due_from=0&amp;due_to=1"),
            "{linked}"
        );
        assert!(linked.contains("data-group=\"total\""), "{linked}");
    }
}
