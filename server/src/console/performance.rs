//! 绩效考评: the indicators of `/v1/stats` over a chosen period, by unit, street, community,
//! grid, category or responsible person: a ranking table by composite score (each column's
//! header carries its formula as a tooltip, each main figure its change against the previous
//! period of equal length), a weekly trend of the main rates, and bar charts.

use super::chart::{bars, count, lines, percent};
use super::i18n::{Column, Lang, PerformanceText};
use super::layout::{page, Live, Nav};
use super::{given, place, PageError, PageQuery, Place, Viewer};
use crate::auth::now_millis;
use crate::cases::REVIEWERS;
use crate::district_time::{date_of, parse_iso, DAY};
use crate::error::Error;
use crate::indicators::{GroupBy, Indicators, Period, NO_GROUP};
use crate::routes::stats::{previous_period, scored};
use crate::AppState;
use axum::extract::State;
use gridcase_sync_core::org::Org;
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The weeks the trend chart shows.
pub const TREND_WEEKS: i64 = 12;

#[derive(Debug, Default, Deserialize)]
pub struct PeriodQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub by: Option<String>,
    /// The group whose trend is drawn (a key of the grouping); the total without it.
    pub trend: Option<String>,
}

/// What one cell of the table shows.
#[derive(Debug, Clone, Copy)]
pub enum Figure {
    Count(u64),
    /// A rate in [0, 1]; `None`: no data (—).
    Rate(Option<f64>),
    Minutes(Option<f64>),
    Score(Option<f64>),
}

/// One column of the table after the rank, the group and the grade: its key (the field of
/// `Indicators` it shows), its words, its figure, and whether its change against the previous
/// period is shown.
pub struct Col {
    pub key: &'static str,
    pub text: fn(&PerformanceText) -> &Column,
    pub figure: fn(&Indicators) -> Figure,
    pub delta: bool,
}

/// The table's figure columns, in order.
pub const COLUMNS: &[Col] = &[
    Col {
        key: "score",
        text: |p| &p.score,
        figure: |i| Figure::Score(i.score),
        delta: true,
    },
    Col {
        key: "filed",
        text: |p| &p.filed,
        figure: |i| Figure::Count(i.filed),
        delta: false,
    },
    Col {
        key: "due",
        text: |p| &p.due,
        figure: |i| Figure::Count(i.due),
        delta: false,
    },
    Col {
        key: "closed",
        text: |p| &p.closed,
        figure: |i| Figure::Count(i.closed),
        delta: false,
    },
    Col {
        key: "closed_on_time",
        text: |p| &p.closed_on_time,
        figure: |i| Figure::Count(i.closed_on_time),
        delta: false,
    },
    Col {
        key: "closed_in_period",
        text: |p| &p.closed_in_period,
        figure: |i| Figure::Count(i.closed_in_period),
        delta: false,
    },
    Col {
        key: "closing_rate",
        text: |p| &p.closing_rate,
        figure: |i| Figure::Rate(i.closing_rate),
        delta: true,
    },
    Col {
        key: "on_time_rate",
        text: |p| &p.on_time_rate,
        figure: |i| Figure::Rate(i.on_time_rate),
        delta: true,
    },
    Col {
        key: "response_rate",
        text: |p| &p.response_rate,
        figure: |i| Figure::Rate(i.response_rate),
        delta: true,
    },
    Col {
        key: "public_satisfaction_rate",
        text: |p| &p.public_satisfaction_rate,
        figure: |i| Figure::Rate(i.public_satisfaction_rate),
        delta: true,
    },
    Col {
        key: "public_solved_rate",
        text: |p| &p.public_solved_rate,
        figure: |i| Figure::Rate(i.public_solved_rate),
        delta: true,
    },
    Col {
        key: "satisfaction_rate",
        text: |p| &p.satisfaction_rate,
        figure: |i| Figure::Rate(i.satisfaction_rate),
        delta: false,
    },
    Col {
        key: "rework_rate",
        text: |p| &p.rework_rate,
        figure: |i| Figure::Rate(i.rework_rate),
        delta: true,
    },
    Col {
        key: "return_rate",
        text: |p| &p.return_rate,
        figure: |i| Figure::Rate(i.return_rate),
        delta: true,
    },
    Col {
        key: "accurate_dispatch_rate",
        text: |p| &p.accurate_dispatch_rate,
        figure: |i| Figure::Rate(i.accurate_dispatch_rate),
        delta: false,
    },
    Col {
        key: "overdue",
        text: |p| &p.overdue,
        figure: |i| Figure::Count(i.overdue),
        delta: false,
    },
    Col {
        key: "extended",
        text: |p| &p.extended,
        figure: |i| Figure::Count(i.extended),
        delta: false,
    },
    Col {
        key: "first_contact_rate",
        text: |p| &p.first_contact_rate,
        figure: |i| Figure::Rate(i.first_contact_rate),
        delta: false,
    },
    Col {
        key: "called_back_dissatisfied",
        text: |p| &p.called_back_dissatisfied,
        figure: |i| Figure::Count(i.called_back_dissatisfied),
        delta: false,
    },
    Col {
        key: "dispatches",
        text: |p| &p.dispatches,
        figure: |i| Figure::Count(i.dispatches),
        delta: false,
    },
    Col {
        key: "returns",
        text: |p| &p.returns,
        figure: |i| Figure::Count(i.returns),
        delta: false,
    },
    Col {
        key: "mean_response_minutes",
        text: |p| &p.mean_response_minutes,
        figure: |i| Figure::Minutes(i.mean_response_minutes),
        delta: false,
    },
];

/// A figure as the page prints it: "—" for no data, never 0%.
pub fn shown(f: Figure) -> String {
    match f {
        Figure::Count(n) => n.to_string(),
        Figure::Rate(v) => v.map(percent).unwrap_or_else(|| "—".into()),
        Figure::Minutes(v) | Figure::Score(v) => {
            v.map(|m| format!("{m:.1}")).unwrap_or_else(|| "—".into())
        }
    }
}

/// The change of a figure against the previous period: ▲/▼ with the difference (percentage
/// points for a rate, points for a score); nothing when either side has no data or it did not
/// move.
pub fn change(now: Figure, before: Option<Figure>) -> Option<String> {
    let (a, b, scale) = match (now, before?) {
        (Figure::Rate(a), Figure::Rate(b)) => (a?, b?, 100.0),
        (Figure::Score(a), Figure::Score(b)) => (a?, b?, 1.0),
        _ => return None,
    };
    let d = (a - b) * scale;
    if d.abs() < 0.05 {
        return None;
    }
    Some(format!("{}{:.1}", if d > 0.0 { "▲" } else { "▼" }, d.abs()))
}

/// Where a table's counts link to (drill-down, `console::drill`): the grouping and the period.
#[derive(Debug, Clone, Copy)]
pub struct Drill {
    pub by: GroupBy,
    pub from: i64,
    pub to: i64,
}

/// One cell: the figure, and its change against the previous period when the column shows
/// one. Every count and every rate (with data) links to its case list (`drill`: the group's
/// key, `None` for the total); the score does not.
pub fn cell(
    col: &Col,
    i: &Indicators,
    before: Option<&Indicators>,
    drill: Option<(Drill, Option<&str>)>,
) -> Markup {
    let figure = (col.figure)(i);
    let delta = col
        .delta
        .then(|| change(figure, before.map(col.figure)))
        .flatten();
    let shown = match (figure, drill) {
        (Figure::Count(n), Some((d, key))) => {
            super::drill::number(d.by, key, col.key, n, d.from, d.to)
        }
        (Figure::Rate(Some(_)) | Figure::Minutes(Some(_)), Some((d, key))) => {
            super::drill::rate(d.by, key, col.key, shown(figure), d.from, d.to)
        }
        _ => html! { (shown(figure)) },
    };
    html! {
        td data-key=(col.key) {
            (shown)
            @if let Some(d) = delta {
                " " small.delta class=(if d.starts_with('▲') { "up" } else { "down" }) { (d) }
            }
        }
    }
}

/// The groups in ranking order: by score, highest first (no score last), then by name.
pub fn ranked(rows: &mut [(String, String, &Indicators)]) {
    rows.sort_by(|a, b| {
        let score = |i: &Indicators| i.score.unwrap_or(f64::NEG_INFINITY);
        score(b.2)
            .total_cmp(&score(a.2))
            .then_with(|| a.1.cmp(&b.1))
    });
}

/// What a group is called on the page: a unit's, street's, community's or grid's name, a
/// category's, a responsible person's id, or what the cases of no group are.
pub fn group_name(lang: Lang, org: &Org, group: GroupBy, key: &str) -> String {
    let (t, p) = (lang.text(), lang.performance());
    match group {
        _ if key != NO_GROUP => {}
        GroupBy::Category => return t.uncategorized.to_owned(),
        GroupBy::Responsible => return p.no_responsible.to_owned(),
        _ => return t.unassigned.to_owned(),
    }
    match group {
        GroupBy::Unit => place(org, Place::Unit, Some(key)),
        GroupBy::Street => place(org, Place::Street, Some(key)),
        GroupBy::Community => place(org, Place::Community, Some(key)),
        GroupBy::Grid => place(org, Place::Grid, Some(key)),
        GroupBy::Category => lang.category(key),
        GroupBy::Responsible => key.to_owned(),
    }
}

pub async fn show(
    State(state): State<AppState>,
    v: Viewer,
    PageQuery(q): PageQuery<PeriodQuery>,
) -> Result<Markup, PageError> {
    v.caller.require_role(REVIEWERS)?;
    let now = now_millis();
    let bad = |d: &str| Error::BadRequest(format!("bad date {d}"));
    let to_day = match given(&q.to) {
        Some(d) => parse_iso(&d).ok_or_else(|| bad(&d))?,
        None => parse_iso(&date_of(now)).ok_or_else(|| bad("today"))?,
    };
    let from = match given(&q.from) {
        Some(d) => parse_iso(&d).ok_or_else(|| bad(&d))?,
        None => to_day - 29 * DAY,
    };
    // The "to" day is included.
    let to = to_day + DAY;
    let by = given(&q.by).unwrap_or_else(|| "unit".into());
    let group =
        GroupBy::parse(&by).ok_or_else(|| Error::BadRequest(format!("cannot group by {by}")))?;
    let trend_key = given(&q.trend);
    let scope = v.caller.user.scope.clone();
    let s = state.clone();
    let period = Period { from, to, now };
    let before = previous_period(period);
    let key = trend_key.clone();
    let (groups, total, previous, trend, org) = crate::blocking(move || {
        let (groups, total) = scored(&s, &scope, group, period)?;
        let (previous, _) = scored(&s, &scope, group, before)?;
        // The trend: the weeks ending with the period's last day, each judged at `now`.
        let mut trend = Vec::new();
        for w in (0..TREND_WEEKS).rev() {
            let week = Period {
                from: to - (w + 1) * 7 * DAY,
                to: to - w * 7 * DAY,
                now,
            };
            let (mut groups, total) = s.ledger.indicators(&scope, group, week)?;
            let figures = match &key {
                Some(k) => groups.remove(k).unwrap_or_default(),
                None => total,
            };
            trend.push((week.from, figures));
        }
        Ok::<_, Error>((groups, total, previous, trend, s.directory.org()?))
    })
    .await?;
    let lang = v.lang;
    let t = lang.text();
    let p = lang.performance();
    let name = |key: &str| group_name(lang, &org, group, key);
    let mut rows: Vec<(String, String, &Indicators)> = groups
        .iter()
        .map(|(k, i)| (k.clone(), name(k), i))
        .collect();
    ranked(&mut rows);
    let series = |f: fn(&Indicators) -> Option<f64>| -> Vec<(String, Option<f64>)> {
        rows.iter().map(|(_, n, i)| (n.clone(), f(i))).collect()
    };
    let weeks: Vec<String> = trend
        .iter()
        .map(|(at, _)| date_of(*at).get(5..).unwrap_or_default().to_owned())
        .collect();
    let trend_of = |f: fn(&Indicators) -> Option<f64>| -> Vec<Option<f64>> {
        trend.iter().map(|(_, i)| f(i)).collect()
    };
    let trend_name = trend_key.as_deref().map_or(t.total.to_owned(), name);
    let compared = p
        .compared
        .replace("{from}", &date_of(before.from))
        .replace("{to}", &date_of(before.to - DAY));
    let weights = state.config.score_weights.to_string();
    let body = html! {
        form.filters method="get" action="/performance" {
            label { (t.from) input type="date" name="from" value=(date_of(from)); }
            label { (t.to) input type="date" name="to" value=(date_of(to_day)); }
            label { (t.group_by) select name="by" {
                @for g in GroupBy::ALL {
                    @let label = match g {
                        GroupBy::Unit => t.unit,
                        GroupBy::Street => t.street,
                        GroupBy::Community => t.community,
                        GroupBy::Grid => t.grid,
                        GroupBy::Category => t.category,
                        GroupBy::Responsible => p.responsible,
                    };
                    option value=(g.as_str()) selected[g == group] { (label) }
                }
            } }
            label { (p.trend_group) select name="trend" {
                option value="" selected[trend_key.is_none()] { (t.total) }
                @for (k, n, _) in &rows {
                    option value=(k) selected[trend_key.as_deref() == Some(k.as_str())] { (n) }
                }
            } }
            button type="submit" { (t.show) }
        }
        @if rows.is_empty() {
            p.empty { (t.no_data) }
        } @else {
            (table(p, t.group_by, t.total, &rows, &total, &previous, Some(Drill { by: group, from, to })))
            p.note #drill-note {
                (lang.pick(
                    "每个数字都打开其案件清单（与指标同一口径）：计件的数字即清单件数；按次计的数字（返工、核查、延期、派遣、退回）即清单各案件次数之和；结案率、按期结案率打开其分子的案件清单，其余比率打开其分母的案件清单，清单合计同时给出分子与分母。综合得分由各比率加权，无清单。",
                    "Every number opens the list of its cases (counted as the figure is): a count of cases is the list's length; a count of events (rework, verifications, extensions, dispatches, returns) is the sum of the list's counts; the closing and on-time rates open the cases of their numerator, every other rate the cases of its denominator, whose sums show both. The score weighs the rates: it has no list.",
                ))
            }
            p #export .export {
                (lang.pick("导出指标表", "Export the table"))
                @for format in ["csv", "xlsx"] {
                    " " a.button download data-format=(format)
                        href=(format!("/v1/stats/export?format={format}&from={from}&to={to}&by={}", group.as_str())) { (format.to_uppercase()) }
                }
            }
            p.note { (compared) }
            p.note title=(p.score.formula) { (p.weights) ": " (weights) " · " (p.grade.formula) }
            div.charts {
                (lines(&format!("{} · {}", p.trend, trend_name), &weeks, &[
                    (p.closing_rate.label, trend_of(|i| i.closing_rate)),
                    (p.on_time_rate.label, trend_of(|i| i.on_time_rate)),
                    (p.response_rate.label, trend_of(|i| i.response_rate)),
                    (p.public_satisfaction_rate.label, trend_of(|i| i.public_satisfaction_rate)),
                ]))
                (bars(p.closing_rate.label, &series(|i| i.closing_rate), Some(1.0), percent))
                (bars(p.on_time_rate.label, &series(|i| i.on_time_rate), Some(1.0), percent))
                (bars(p.response_rate.label, &series(|i| i.response_rate), Some(1.0), percent))
                (bars(p.public_satisfaction_rate.label, &series(|i| i.public_satisfaction_rate), Some(1.0), percent))
                (bars(p.overdue.label, &series(|i| Some(i.overdue as f64)), None, count))
            }
        }
    };
    Ok(page(
        &v,
        t.nav_performance,
        Nav::Performance,
        Live::Off,
        body,
    ))
}

/// The ranking table: a row a group (rank, name, grade, then [`COLUMNS`] through [`cell`]),
/// in ranking order, then the total; each header's `title` is its formula. With `drill`,
/// each count a case list makes links to it.
pub fn table(
    p: &PerformanceText,
    group_label: &str,
    total_label: &str,
    rows: &[(String, String, &Indicators)],
    total: &Indicators,
    previous: &BTreeMap<String, Indicators>,
    drill: Option<Drill>,
) -> Markup {
    html! {
        table.indicators {
            thead { tr {
                th title=(p.rank.formula) { (p.rank.label) }
                th { (group_label) }
                th title=(p.grade.formula) { (p.grade.label) }
                @for col in COLUMNS {
                    @let c = (col.text)(p);
                    th title=(c.formula) { (c.label) }
                }
            } }
            tbody {
                @for (rank, (key, name, i)) in rows.iter().enumerate() {
                    tr data-group=(key) {
                        td { (rank + 1) }
                        th { (name) }
                        td { (i.grade.map_or("—", |g| g.as_str())) }
                        @for col in COLUMNS {
                            (cell(col, i, previous.get(key), drill.map(|d| (d, Some(key.as_str())))))
                        }
                    }
                }
                tr.total {
                    td {}
                    th { (total_label) }
                    td { (total.grade.map_or("—", |g| g.as_str())) }
                    @for col in COLUMNS {
                        (cell(col, total, None, drill.map(|d| (d, None))))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_data_is_a_dash_and_changes_are_arrows() {
        assert_eq!(shown(Figure::Rate(None)), "—");
        assert_eq!(shown(Figure::Rate(Some(0.0))), "0.0%");
        assert_eq!(
            change(Figure::Rate(Some(0.9)), Some(Figure::Rate(Some(0.85)))).as_deref(),
            Some("▲5.0")
        );
        assert_eq!(
            change(Figure::Score(Some(70.0)), Some(Figure::Score(Some(82.5)))).as_deref(),
            Some("▼12.5")
        );
        assert_eq!(
            change(Figure::Rate(Some(0.9)), Some(Figure::Rate(None))),
            None
        );
        assert_eq!(change(Figure::Rate(Some(0.9)), None), None);
    }

    #[test]
    fn groups_rank_by_score() {
        let with = |score: Option<f64>| {
            let mut i = Indicators::default();
            i.score = score;
            i
        };
        let (a, b, c) = (with(Some(70.0)), with(None), with(Some(95.0)));
        let mut rows = vec![
            ("a".to_owned(), "A".to_owned(), &a),
            ("b".to_owned(), "B".to_owned(), &b),
            ("c".to_owned(), "C".to_owned(), &c),
        ];
        ranked(&mut rows);
        let order: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(order, ["c", "a", "b"]);
    }
}
