//! Drill-down (钻取): the case list behind a figure of the indicators. Every figure of a group
//! (or the total) over a period links to the list `GET /v1/cases?figure=...` names (the
//! console's `/cases` takes the same filters): the cases that add to that count of that group
//! in that period, found by the indicators' own pass over each case
//! (`indicators::Table::case_indicators`), so the map below holds no rule of its own. Each case
//! listed carries what it adds to the counts (`counts`), and the list their sums:
//!
//! - a count of cases (应结案, 结案, 超期, ...) is the length of its list;
//! - a count of events (返工 failed verifications, 核查, 延期 extensions, 派遣 and 退回 by
//!   dispatch) is the sum of its list's `counts` (a case may add more than one);
//! - 结案率 and 按期结案率 open the cases of their numerator (结案, 按期结案; their denominator,
//!   应结案, is the count beside them); every other rate opens the cases of its denominator
//!   (`indicators::RATE_PARTS`), whose sums show both its counts: 返工率 opens the due cases
//!   with verifications, "12 cases · 15 verifications · 3 rework" for 3/15.
//!
//! The score is a weighted mean of rates, not a count: it has no list.

use crate::cases::CaseFilter;
use crate::indicators::{GroupBy, Indicators, RATE_PARTS};
use gridcase_sync_core::Millis;
use maud::{html, Markup};

/// The count a rate's link lists the cases of: its numerator for 结案率 and 按期结案率, its
/// denominator for the others (so that the list's sums show both).
pub fn rate_figure(rate: &str) -> Option<&'static str> {
    let (_, numerator, denominator) = RATE_PARTS.into_iter().find(|(r, _, _)| *r == rate)?;
    Some(match rate {
        "closing_rate" | "on_time_rate" => numerator?,
        _ => denominator,
    })
}

/// The filters of the cases behind the count `figure` (a field of `Indicators`) of the group
/// `key` (by `by`; `None`: the total) over `[from, to)`.
pub fn filter(
    by: GroupBy,
    key: Option<&str>,
    figure: &str,
    from: Millis,
    to: Millis,
) -> CaseFilter {
    CaseFilter {
        figure: Some(figure.to_owned()),
        figure_from: Some(from),
        figure_to: Some(to),
        figure_by: key.map(|_| by.as_str().to_owned()),
        figure_group: key.map(str::to_owned),
        ..CaseFilter::default()
    }
}

/// The query of a filter (`figure=due&figure_from=...`), as both `/cases` and `GET /v1/cases`
/// read it.
pub fn query(filter: &CaseFilter) -> String {
    serde_urlencoded::to_string(filter).unwrap_or_default()
}

/// The console's list of the cases behind a count.
pub fn link(by: GroupBy, key: Option<&str>, figure: &str, from: Millis, to: Millis) -> String {
    format!("/cases?{}", query(&filter(by, key, figure, from, to)))
}

/// A rate's cell content, linked to the cases of its counts ([`rate_figure`]). The link names
/// the count it lists (`data-figure`), the rate (`data-rate`) and the group (`data-group`;
/// `total` for the total).
pub fn rate(
    by: GroupBy,
    key: Option<&str>,
    field: &str,
    shown: String,
    from: Millis,
    to: Millis,
) -> Markup {
    let linked = rate_figure(field).map(|f| (f, link(by, key, f, from, to)));
    html! {
        @match linked {
            Some((f, href)) => a.drill href=(href) data-figure=(f) data-rate=(field) data-group=(key.unwrap_or("total")) title=(field) { (shown) },
            None => (shown),
        }
    }
}

/// A count's cell content: the number, linked to its cases (`data-figure`, `data-group`;
/// `total` for the total). A field that is not a count stays plain.
pub fn number(
    by: GroupBy,
    key: Option<&str>,
    field: &str,
    value: u64,
    from: Millis,
    to: Millis,
) -> Markup {
    let counted = Indicators::default().count_of(field).is_some();
    html! {
        @if counted {
            a.drill href=(link(by, key, field, from, to)) data-figure=(field) data-group=(key.unwrap_or("total")) { (value) }
        } @else {
            (value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_figure_links_its_count_its_group_and_its_period() {
        let href = link(GroupBy::Unit, Some("u1"), "closed_on_time", 10, 20);
        assert_eq!(
            href,
            "/cases?figure=closed_on_time&figure_from=10&figure_to=20&figure_by=unit&figure_group=u1"
        );
        let total = filter(GroupBy::Grid, None, "overdue", 10, 20);
        assert_eq!((total.figure_by, total.figure_group), (None, None));
        assert_eq!(rate_figure("closing_rate"), Some("closed"));
        assert_eq!(rate_figure("on_time_rate"), Some("closed_on_time"));
        assert_eq!(rate_figure("rework_rate"), Some("verifications"));
        assert_eq!(rate_figure("accurate_dispatch_rate"), Some("dispatches"));
        assert_eq!(rate_figure("mean_response_minutes"), Some("acknowledged"));
        assert_eq!(rate_figure("score"), None);
        for (rate, _, _) in RATE_PARTS {
            let f = rate_figure(rate).expect(rate);
            assert!(Indicators::default().count_of(f).is_some(), "{rate}: {f}");
        }
    }

    #[test]
    fn every_count_links_and_the_group_without_a_key_too() {
        let plain = number(GroupBy::Unit, Some("u1"), "score", 3, 0, 1).into_string();
        assert_eq!(plain, "3");
        let linked = number(GroupBy::Street, None, "due", 4, 0, 1).into_string();
        assert!(
            linked.starts_with("<a class=\"drill\" href=\"/cases?figure=due&amp;figure_from=0"),
            "{linked}"
        );
        assert!(linked.contains("data-group=\"total\""), "{linked}");
        let none = number(GroupBy::Unit, Some("none"), "dispatches", 2, 0, 1).into_string();
        assert!(none.contains("figure_group=none"), "{none}");
    }
}
