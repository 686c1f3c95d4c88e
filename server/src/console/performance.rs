//! 绩效考评: the indicators of `/v1/stats` over a chosen period, by unit, street, community,
//! grid or category, as a table and as charts.

use super::chart::{bars, count, percent};
use super::layout::{page, Live, Nav};
use super::{given, place, PageError, PageQuery, Place, Viewer};
use crate::auth::now_millis;
use crate::cases::REVIEWERS;
use crate::district_time::{date_of, parse_iso, DAY};
use crate::error::Error;
use crate::indicators::{GroupBy, Indicators, Period, NO_GROUP};
use crate::AppState;
use axum::extract::State;
use maud::{html, Markup};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct PeriodQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub by: Option<String>,
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
    let scope = v.caller.user.scope.clone();
    let s = state.clone();
    let (groups, total, org) = crate::blocking(move || {
        let (groups, total) = s
            .ledger
            .indicators(&scope, group, Period { from, to, now })?;
        Ok::<_, Error>((groups, total, s.directory.org()?))
    })
    .await?;
    let lang = v.lang;
    let t = lang.text();
    let u = lang.unit_indicators();
    let name = |key: &str| -> String {
        match group {
            _ if key != NO_GROUP => {}
            GroupBy::Category => return t.uncategorized.to_owned(),
            _ => return t.unassigned.to_owned(),
        }
        match group {
            GroupBy::Unit => place(&org, Place::Unit, Some(key)),
            GroupBy::Street => place(&org, Place::Street, Some(key)),
            GroupBy::Community => place(&org, Place::Community, Some(key)),
            GroupBy::Grid => place(&org, Place::Grid, Some(key)),
            GroupBy::Category => lang.category(key),
        }
    };
    let rows: Vec<(String, &Indicators)> = groups.iter().map(|(k, i)| (name(k), i)).collect();
    let series = |f: fn(&Indicators) -> Option<f64>| -> Vec<(String, Option<f64>)> {
        rows.iter().map(|(n, i)| (n.clone(), f(i))).collect()
    };
    let rate = |v: Option<f64>| v.map(percent).unwrap_or_else(|| "—".into());
    let minutes = |v: Option<f64>| v.map(|m| format!("{m:.1}")).unwrap_or_else(|| "—".into());
    let body = html! {
        form.filters method="get" action="/performance" {
            label { (t.from) input type="date" name="from" value=(date_of(from)); }
            label { (t.to) input type="date" name="to" value=(date_of(to_day)); }
            label { (t.group_by) select name="by" {
                @for (value, label) in [("unit", t.unit), ("street", t.street), ("community", t.community), ("grid", t.grid), ("category", t.category)] {
                    option value=(value) selected[value == by] { (label) }
                }
            } }
            button type="submit" { (t.show) }
        }
        @if rows.is_empty() {
            p.empty { (t.no_data) }
        } @else {
            table.indicators {
                thead { tr {
                    th { (t.group_by) } th { (t.filed) } th { (t.due) } th { (t.closed) } th { (t.closed_on_time) }
                    th { (t.closing_rate) } th { (t.on_time_rate) } th { (t.rework_rate) } th { (t.satisfaction_rate) } th { (t.overdue_count) }
                    th { (t.public_satisfaction_rate) } th { (t.called_back_dissatisfied) } th { (t.first_contact_rate) }
                    th { (u.dispatches) } th { (u.returns) } th { (u.return_rate) } th { (u.accurate_dispatch_rate) }
                    th { (u.acknowledged_on_time_rate) } th { (u.mean_response_minutes) }
                } }
                tbody {
                    @for (n, i) in rows.iter().map(|(n, i)| (n.as_str(), *i)).chain(std::iter::once((t.total, &total))) {
                        tr class=[(n == t.total).then_some("total")] {
                            th { (n) } td { (i.filed) } td { (i.due) } td { (i.closed) } td { (i.closed_on_time) }
                            td { (rate(i.closing_rate)) } td { (rate(i.on_time_rate)) } td { (rate(i.rework_rate)) }
                            td { (rate(i.satisfaction_rate)) } td { (i.overdue) }
                            td { (rate(i.public_satisfaction_rate)) } td { (i.called_back_dissatisfied) }
                            td { (rate(i.first_contact_rate)) }
                            td { (i.dispatches) } td { (i.returns) } td { (rate(i.return_rate)) }
                            td { (rate(i.accurate_dispatch_rate)) } td { (rate(i.acknowledged_on_time_rate)) }
                            td { (minutes(i.mean_response_minutes)) }
                        }
                    }
                }
            }
            div.charts {
                (bars(t.closing_rate, &series(|i| i.closing_rate), Some(1.0), percent))
                (bars(t.on_time_rate, &series(|i| i.on_time_rate), Some(1.0), percent))
                (bars(t.rework_rate, &series(|i| i.rework_rate), Some(1.0), percent))
                (bars(t.satisfaction_rate, &series(|i| i.satisfaction_rate), Some(1.0), percent))
                (bars(t.public_satisfaction_rate, &series(|i| i.public_satisfaction_rate), Some(1.0), percent))
                (bars(t.overdue_count, &series(|i| Some(i.overdue as f64)), None, count))
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
