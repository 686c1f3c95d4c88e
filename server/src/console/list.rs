//! The case list: the filters of `GET /v1/cases` as a form (choices limited to the viewer's
//! scope), overdue and conflicted cases marked, pages of 50 linked with the filters kept. The
//! search box finds a case by its number (an exact lookup); for the desk, a telephone number
//! finds the cases that number called about (`cases::cases_of_phone`: callers live in the
//! register, not in the case); anything else searches the descriptions.

use super::i18n::Lang;
use super::layout::{page, Live, Nav};
use super::performance::group_name;
use super::{given, place, PageError, PageQuery, Place, Viewer};
use crate::case_number;
use crate::cases::{cases_of_phone, list_page, CaseFilter, CasePage, PhoneQuery};
use crate::district_time::{parse_iso, when, DAY};
use crate::error::Error;
use crate::indicators::GroupBy;
use crate::AppState;
use axum::extract::State;
use gridcase_sync_core::org::Org;
use gridcase_sync_core::phone::Phone;
use gridcase_sync_core::{Catalog, Level, Scope, Status};
use maud::{html, Markup};
use serde::Deserialize;

/// Filters as the list's form sends them: empty fields are no filter, dates are local days.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub status: Option<String>,
    pub step: Option<String>,
    pub street: Option<String>,
    pub community: Option<String>,
    pub grid: Option<String>,
    pub unit: Option<String>,
    pub category: Option<String>,
    pub level: Option<String>,
    pub overdue: Option<String>,
    pub conflict: Option<String>,
    pub escalated: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub q: Option<String>,
    /// Text in the address as reported.
    pub address: Option<String>,
    pub cursor: Option<String>,
    /// The drill-down's filters (`console::drill`), as `GET /v1/cases` names them: times in ms,
    /// flags `true` or `false`. The form keeps them while they are given.
    #[serde(flatten)]
    pub drill: DrillQuery,
}

/// The filters a figure of the performance page links with (`console::drill`).
#[derive(Debug, Default, Deserialize)]
pub struct DrillQuery {
    /// Created at or after, in ms (the form's `from` is a day).
    pub created_from: Option<String>,
    pub created_to: Option<String>,
    pub counted_unit: Option<String>,
    pub responsible: Option<String>,
    pub due_from: Option<String>,
    pub due_to: Option<String>,
    pub filed_from: Option<String>,
    pub filed_to: Option<String>,
    pub closed_from: Option<String>,
    pub closed_to: Option<String>,
    pub held_or_voided: Option<String>,
    pub closed: Option<String>,
    pub closed_on_time: Option<String>,
    pub reworked: Option<String>,
    pub extended: Option<String>,
    pub answered_directly: Option<String>,
    pub ever_dissatisfied: Option<String>,
    /// A count of the indicators, with its period (ms) and group (`GET /v1/cases?figure=`).
    pub figure: Option<String>,
    pub figure_from: Option<String>,
    pub figure_to: Option<String>,
    pub figure_by: Option<String>,
    pub figure_group: Option<String>,
}

impl DrillQuery {
    /// (name, value) of each one given, in the order of the struct.
    fn given(&self) -> Vec<(&'static str, String)> {
        [
            ("created_from", &self.created_from),
            ("created_to", &self.created_to),
            ("counted_unit", &self.counted_unit),
            ("responsible", &self.responsible),
            ("due_from", &self.due_from),
            ("due_to", &self.due_to),
            ("filed_from", &self.filed_from),
            ("filed_to", &self.filed_to),
            ("closed_from", &self.closed_from),
            ("closed_to", &self.closed_to),
            ("held_or_voided", &self.held_or_voided),
            ("closed", &self.closed),
            ("closed_on_time", &self.closed_on_time),
            ("reworked", &self.reworked),
            ("extended", &self.extended),
            ("answered_directly", &self.answered_directly),
            ("ever_dissatisfied", &self.ever_dissatisfied),
            ("figure", &self.figure),
            ("figure_from", &self.figure_from),
            ("figure_to", &self.figure_to),
            ("figure_by", &self.figure_by),
            ("figure_group", &self.figure_group),
        ]
        .into_iter()
        .filter_map(|(k, v)| given(v).map(|v| (k, v)))
        .collect()
    }

    /// Sets the drill-down filters of `filter`.
    fn apply(&self, filter: &mut CaseFilter) -> Result<(), Error> {
        let ms = |s: &Option<String>, what: &str| -> Result<Option<i64>, Error> {
            given(s)
                .map(|v| {
                    v.parse()
                        .map_err(|_| Error::BadRequest(format!("bad {what} {v}")))
                })
                .transpose()
        };
        let flag = |s: &Option<String>, what: &str| -> Result<Option<bool>, Error> {
            given(s)
                .map(|v| match v.as_str() {
                    "true" | "1" => Ok(true),
                    "false" | "0" => Ok(false),
                    _ => Err(Error::BadRequest(format!("bad {what} {v}"))),
                })
                .transpose()
        };
        if let Some(from) = ms(&self.created_from, "created_from")? {
            filter.created_from = Some(from);
        }
        if let Some(to) = ms(&self.created_to, "created_to")? {
            filter.created_to = Some(to);
        }
        filter.counted_unit = given(&self.counted_unit);
        filter.responsible = given(&self.responsible);
        filter.due_from = ms(&self.due_from, "due_from")?;
        filter.due_to = ms(&self.due_to, "due_to")?;
        filter.filed_from = ms(&self.filed_from, "filed_from")?;
        filter.filed_to = ms(&self.filed_to, "filed_to")?;
        filter.closed_from = ms(&self.closed_from, "closed_from")?;
        filter.closed_to = ms(&self.closed_to, "closed_to")?;
        filter.held_or_voided = flag(&self.held_or_voided, "held_or_voided")?;
        filter.closed = flag(&self.closed, "closed")?;
        filter.closed_on_time = flag(&self.closed_on_time, "closed_on_time")?;
        filter.reworked = flag(&self.reworked, "reworked")?;
        filter.extended = flag(&self.extended, "extended")?;
        filter.answered_directly = flag(&self.answered_directly, "answered_directly")?;
        filter.ever_dissatisfied = flag(&self.ever_dissatisfied, "ever_dissatisfied")?;
        filter.figure = given(&self.figure);
        filter.figure_from = ms(&self.figure_from, "figure_from")?;
        filter.figure_to = ms(&self.figure_to, "figure_to")?;
        filter.figure_by = given(&self.figure_by);
        filter.figure_group = given(&self.figure_group);
        Ok(())
    }
}

impl ListQuery {
    fn filter(&self) -> Result<CaseFilter, Error> {
        let day = |s: &Option<String>, what: &str| -> Result<Option<i64>, Error> {
            given(s)
                .map(|d| {
                    parse_iso(&d).ok_or_else(|| Error::BadRequest(format!("bad {what} date {d}")))
                })
                .transpose()
        };
        // What reads as a case number is one: an operator reading it off a slip wants that case.
        let q = given(&self.q);
        let number = q.as_deref().and_then(case_number::parse);
        let mut filter = CaseFilter {
            status: given(&self.status),
            street: given(&self.street),
            community: given(&self.community),
            grid: given(&self.grid),
            unit: given(&self.unit),
            category: given(&self.category),
            level: given(&self.level),
            overdue: given(&self.overdue).map(|_| true),
            has_conflict: given(&self.conflict).map(|_| true),
            escalated: given(&self.escalated).map(|_| true),
            created_from: day(&self.from, "from")?,
            // The "to" day is included: the filter's bound is exclusive.
            created_to: day(&self.to, "to")?.map(|t| t + DAY),
            q: if number.is_some() { None } else { q },
            address: given(&self.address),
            number,
            phone: None,
            limit: Some(50),
            cursor: given(&self.cursor),
            step: given(&self.step)
                .map(|s| {
                    s.parse()
                        .map_err(|_| Error::BadRequest(format!("bad step {s}")))
                })
                .transpose()?,
            ..CaseFilter::default()
        };
        self.drill.apply(&mut filter)?;
        Ok(filter)
    }
}

/// The links that download the list as a file (`GET /v1/cases/export`): its filters without
/// the page's size and cursor. None for a phone search, which is not exported.
fn export_links(filter: &CaseFilter) -> Vec<(&'static str, String)> {
    let whole = CaseFilter {
        limit: None,
        cursor: None,
        ..filter.clone()
    };
    let query = serde_urlencoded::to_string(&whole).unwrap_or_default();
    ["csv", "xlsx"]
        .into_iter()
        .map(|format| {
            let sep = if query.is_empty() { "" } else { "&" };
            (
                format,
                format!("/v1/cases/export?format={format}{sep}{query}"),
            )
        })
        .collect()
}

/// The link to the next page: this page's query (filters kept, blank ones dropped) with the
/// cursor replaced.
fn next_page(here: &str, cursor: &str) -> String {
    let query = here.split_once('?').map_or("", |(_, q)| q);
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    pairs.retain(|(k, v)| k != "cursor" && !v.trim().is_empty());
    pairs.push(("cursor".into(), cursor.into()));
    format!(
        "/cases?{}",
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    )
}

/// The parts of the organization a scope sees, for the filter's choices.
struct Places {
    streets: Vec<(String, String)>,
    communities: Vec<(String, String)>,
    grids: Vec<(String, String)>,
    units: Vec<(String, String)>,
}

impl Places {
    fn of(org: &Org, scope: &Scope) -> Places {
        // A unit's people filter by any place (their cases come by dispatch, anywhere).
        let grids: Vec<_> = match scope {
            Scope::Unit(_) => org.grids.iter().collect(),
            _ => org
                .grids_in(scope)
                .into_iter()
                .filter_map(|id| org.grids.get_key_value(&id))
                .collect(),
        };
        let communities: Vec<(String, String)> = org
            .communities
            .iter()
            .filter(|(id, _)| grids.iter().any(|(_, g)| &g.community == *id))
            .map(|(id, c)| (id.to_string(), c.name.clone()))
            .collect();
        let streets = org
            .streets
            .iter()
            .filter(|(id, _)| {
                org.communities.iter().any(|(cid, c)| {
                    &c.street == *id && communities.iter().any(|(v, _)| v == cid.as_str())
                })
            })
            .map(|(id, s)| (id.to_string(), s.name.clone()))
            .collect();
        let units = org
            .units
            .iter()
            .filter(|(id, _)| !matches!(scope, Scope::Unit(u) if u != *id))
            .map(|(id, u)| (id.to_string(), u.name.clone()))
            .collect();
        Places {
            streets,
            communities,
            grids: grids
                .into_iter()
                .map(|(id, g)| (id.to_string(), g.name.clone()))
                .collect(),
            units,
        }
    }
}

fn select(
    name: &str,
    label: &str,
    any: &str,
    options: &[(String, String)],
    chosen: &Option<String>,
) -> Markup {
    html! {
        label {
            (label)
            select name=(name) {
                option value="" { (any) }
                @for (value, text) in options {
                    option value=(value) selected[chosen.as_deref() == Some(value.as_str())] { (text) }
                }
            }
        }
    }
}

/// The telephone number the search box holds, when it reads as one and the viewer is the desk
/// (who alone looks callers up); a case number is never one.
fn phone_searched(q: &ListQuery, v: &Viewer) -> Option<String> {
    let typed = given(&q.q)?;
    if !v.caller.user.role.takes_calls() || case_number::parse(&typed).is_some() {
        return None;
    }
    Phone::parse(&typed).ok().map(|p| p.number)
}

pub async fn list(
    State(state): State<AppState>,
    v: Viewer,
    PageQuery(q): PageQuery<ListQuery>,
) -> Result<Markup, PageError> {
    let filter = q.filter()?;
    let drill = q.drill.given();
    let phone = phone_searched(&q, &v);
    let (s, caller, searched, listed) = (
        state.clone(),
        v.caller.clone(),
        phone.clone(),
        filter.clone(),
    );
    let (page_of_cases, org, sums) = crate::blocking(move || {
        // A figure's list: the sums of the whole list, which are the figure.
        let sums = match (&searched, &listed.figure) {
            (None, Some(_)) => Some(figure_sums(&s, &caller, &listed)?),
            _ => None,
        };
        let found = match searched {
            // One page: a number calls about a handful of cases.
            Some(phone) => CasePage {
                cases: cases_of_phone(
                    &s,
                    &caller,
                    &PhoneQuery {
                        phone,
                        limit: Some(50),
                    },
                )?,
                next: None,
                counts: None,
            },
            None => list_page(&s, &caller, &listed)?,
        };
        Ok::<_, Error>((found, s.directory.org()?, sums))
    })
    .await?;
    let lang = v.lang;
    let t = lang.text();
    // A figure's list shows the figure and the other parts of the rates it makes.
    let shown_counts = filter
        .figure
        .as_deref()
        .map(crate::indicators::formulas::parts_beside)
        .unwrap_or_default();
    let places = Places::of(&org, &v.caller.user.scope);
    let statuses: Vec<(String, String)> = Status::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), lang.status(Some(*s)).to_owned()))
        .collect();
    let categories: Vec<(String, String)> = Catalog::standard()
        .small_categories()
        .iter()
        .map(|c| {
            (
                c.code().as_str().to_owned(),
                format!("{} {}", c.code().as_str(), lang.pick(c.name, c.name_en)),
            )
        })
        .collect();
    let steps: Vec<(String, String)> = (1..=7u8)
        .map(|n| (n.to_string(), format!("{n} {}", lang.step(n))))
        .collect();
    let levels: Vec<(String, String)> = Level::ALL
        .iter()
        .map(|l| (l.as_str().to_owned(), lang.level(*l).to_owned()))
        .collect();
    let body = html! {
        form #filters .filters method="get" action="/cases" {
            (select("step", t.step, t.any, &steps, &q.step))
            (select("status", t.status, t.any, &statuses, &q.status))
            (select("street", t.street, t.any, &places.streets, &q.street))
            (select("community", t.community, t.any, &places.communities, &q.community))
            (select("grid", t.grid, t.any, &places.grids, &q.grid))
            (select("unit", t.unit, t.any, &places.units, &q.unit))
            (select("category", t.category, t.any, &categories, &q.category))
            (select("level", t.level, t.any, &levels, &q.level))
            label { (t.created_from) input type="date" name="from" value=[given(&q.from)]; }
            label { (t.created_to) input type="date" name="to" value=[given(&q.to)]; }
            label { (if v.caller.user.role.takes_calls() { lang.calls().search_desk } else { t.search })
                input #search type="search" name="q" value=[given(&q.q)]; }
            label { (t.address) input type="search" name="address" value=[given(&q.address)]; }
            label.check { input type="checkbox" name="overdue" value="1" checked[given(&q.overdue).is_some()]; (t.overdue) }
            label.check { input type="checkbox" name="conflict" value="1" checked[given(&q.conflict).is_some()]; (t.conflicted) }
            label.check { input type="checkbox" name="escalated" value="1" checked[given(&q.escalated).is_some()]; (t.escalated) }
            @for (name, value) in &drill {
                input type="hidden" name=(name) value=(value);
            }
            button type="submit" { (t.filter) }
            a.button href="/cases" { (t.clear) }
        }
        @if let Some(figure) = &filter.figure {
            p #drill .notice role="status" {
                (lang.pick("指标明细：", "The cases behind a figure: "))
                strong { (figure_title(lang, &org, &filter, figure)) }
            }
        } @else if !drill.is_empty() {
            p #drill .notice role="status" {
                (lang.pick("指标明细：", "The cases behind a figure: "))
                @for (i, (name, value)) in drill.iter().enumerate() {
                    @if i > 0 { ", " }
                    code { (name) "=" (drill_value(name, value)) }
                }
            }
        }
        @if let Some(sums) = &sums {
            p #figure-sums .notice role="status" {
                (lang.pick("合计：", "In all: "))
                span data-count="cases" { (sums.cases) } (lang.pick(" 件", " cases"))
                @if sums.more { (lang.pick("（以上）", " (or more)")) }
                @for name in &shown_counts {
                    " · " span data-count=(name) title=(name) {
                        (lang.count(name)) " " (sums.counts.get(*name).copied().unwrap_or(0))
                    }
                }
            }
        }
        @if phone.is_none() {
            p #export .export {
                (lang.pick("导出全部", "Export all"))
                @for (format, href) in export_links(&filter) {
                    " " a.button href=(href) download data-format=(format) { (format.to_uppercase()) }
                }
                " " small { (lang.pick("（至多 100,000 件）", "(at most 100,000 cases)")) }
            }
        }
        @if let Some(phone) = &phone {
            p #phone-search .notice.done role="status" { (lang.calls().phone_cases.replace("{phone}", phone)) }
        }
        section #live {
            @if page_of_cases.cases.is_empty() {
                p.empty { (t.no_cases) }
            } @else {
                table.cases {
                    thead { tr {
                        th { (t.number) } th { (t.created) } th { (t.status) } th { (lang.desk().business_type) }
                        th { (t.description) } th { (t.category) }
                        th { (t.grid) } th { (t.unit) } th { (t.deadline) } th {}
                        @if sums.is_some() { th { (lang.pick("计数", "Counts")) } }
                    } }
                    tbody {
                        @for item in &page_of_cases.cases {
                            @let s = &item.summary;
                            tr data-case=(s.id) class={
                                @if item.overdue { "overdue " }
                                @if s.open_conflicts > 0 { "conflict" }
                            } {
                                td.number { a href={ "/cases/" (s.id) } { (s.number.as_deref().unwrap_or("—")) } }
                                td.time { (when(s.created_at)) }
                                td { span class={ "status " (s.status.map_or("", Status::as_str)) } { (lang.status(s.status)) } }
                                td.business { (s.business_type.map(|b| lang.business_type(b)).unwrap_or("—")) }
                                td.desc { a href={ "/cases/" (s.id) } { (excerpt(&s.description, 40)) } }
                                td { (s.category.as_deref().map(|c| lang.category(c)).unwrap_or_else(|| "—".into())) }
                                td { (place(&org, Place::Grid, s.grid.as_deref())) }
                                td { (place(&org, Place::Unit, s.unit.as_deref())) }
                                td.time { (s.deadline.map(when).unwrap_or_else(|| "—".into())) }
                                td.flags {
                                    @if item.overdue { span.badge.overdue { (t.overdue) } }
                                    @if s.open_conflicts > 0 { span.badge.conflict { (t.conflicts) " " (s.open_conflicts) } }
                                    @if s.returns > 0 { span.badge.bounced title=(t.unit_chain) { (t.returned) " " (s.returns) } }
                                    @if s.flagged_events > 0 { span.badge.flagged { (t.flagged) } }
                                }
                                @if sums.is_some() {
                                    td.counts {
                                        @for (i, name) in shown_counts.iter().enumerate() {
                                            @if i > 0 { " · " }
                                            span data-count=(name) title=(name) {
                                                (lang.count(name)) " "
                                                (item.counts.as_ref().and_then(|c| c.get(*name)).copied().unwrap_or(0))
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if let Some(next) = &page_of_cases.next {
                    p { a.next href=(next_page(&v.here, next)) { (t.next_page) " →" } }
                }
            }
        }
    };
    Ok(page(&v, t.nav_cases, Nav::Cases, Live::List, body))
}

/// The most cases a figure's list sums over (the export's bound): past it the sums say "or
/// more".
const SUMMED_MAX: usize = 100_000;

/// The sums of a figure's whole list: its cases and the counts they add to.
struct FigureSums {
    cases: usize,
    counts: std::collections::BTreeMap<String, u64>,
    /// More than [`SUMMED_MAX`] cases: the sums are of the first ones.
    more: bool,
}

/// Every page of the list, summed (`GET /v1/cases` gives each page's `counts`).
fn figure_sums(
    state: &AppState,
    caller: &crate::auth::Caller,
    filter: &CaseFilter,
) -> Result<FigureSums, Error> {
    let mut page_filter = CaseFilter {
        limit: Some(500),
        cursor: None,
        ..filter.clone()
    };
    let mut sums = FigureSums {
        cases: 0,
        counts: Default::default(),
        more: false,
    };
    loop {
        let page = list_page(state, caller, &page_filter)?;
        sums.cases += page.cases.len();
        for (k, v) in page.counts.into_iter().flatten() {
            *sums.counts.entry(k).or_insert(0) += v;
        }
        match page.next {
            Some(_) if sums.cases >= SUMMED_MAX => {
                sums.more = true;
                return Ok(sums);
            }
            Some(next) => page_filter.cursor = Some(next),
            None => return Ok(sums),
        }
    }
}

/// What a figure's list is of, in words: the figure, its group and its period
/// (`城管执法队 · 核查数 · 2026-11-02 00:00 至 2026-12-02 00:00`).
fn figure_title(lang: Lang, org: &Org, filter: &CaseFilter, figure: &str) -> String {
    let mut parts = Vec::new();
    if let (Some(by), Some(key)) = (&filter.figure_by, &filter.figure_group) {
        if let Some(group) = GroupBy::parse(by) {
            parts.push(group_name(lang, org, group, key));
        }
    }
    parts.push(lang.count(figure).to_owned());
    if let (Some(from), Some(to)) = (filter.figure_from, filter.figure_to) {
        parts.push(format!(
            "{} {} {}",
            when(from),
            lang.pick("至", "to"),
            when(to)
        ));
    }
    parts.join(" · ")
}

/// A drill-down filter's value as read: a time in ms as district time.
fn drill_value(name: &str, value: &str) -> String {
    match value.parse::<i64>() {
        Ok(ms) if name.ends_with("_from") || name.ends_with("_to") => when(ms),
        _ => value.to_owned(),
    }
}

fn excerpt(text: &str, chars: usize) -> String {
    let mut out: String = text.chars().take(chars).collect();
    if text.chars().nth(chars).is_some() {
        out.push('…');
    }
    out
}
