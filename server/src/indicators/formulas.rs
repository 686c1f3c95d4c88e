//! The formulas of the 综合评价 indicators: what one case adds to a group's counts in a period,
//! how groups add up, and the rates made from the counts.

use super::row::{satisfaction_of_code, status_of_code, CallFacts, CaseFacts, NONE};
use super::table::{Link, Row};
use gridcase_sync_core::event::Satisfaction;
use gridcase_sync_core::fold;
use gridcase_sync_core::{Millis, Status};
use serde::Serialize;

/// Counts and rates for one group. Every rate is `null` when its denominator is zero ("no
/// data", shown as —, never 0%). The cohort of 应结案 (`due`) is the cases whose deadline in
/// force now falls in the period, neither held, voided nor declined; 结案 and 按期结案 are counted among
/// them as of the report's instant, so their rates never pass 100%.
#[derive(Debug, Default, Clone, Serialize, utoipa::ToSchema)]
pub struct Indicators {
    /// 立案数 = cases filed (立案) in the period.
    pub filed: u64,
    /// 应结案数 = cases whose deadline in force now falls in the period, neither held, voided nor declined.
    pub due: u64,
    /// 结案数 = of the `due` cases, those closed as of the report's instant (`now`), whenever
    /// they closed.
    pub closed: u64,
    /// 按期结案数 = of the `closed` (due) cases, those closed by their deadline with no earlier
    /// deadline missed.
    pub closed_on_time: u64,
    /// 期内结案数 (throughput) = cases closed within the period, whatever their deadline.
    pub closed_in_period: u64,
    /// 核查数 = verifications (passed or failed) of the `due` cases, at least their `rework`.
    pub verifications: u64,
    /// 返工数 = failed verifications of the `due` cases, whether or not they closed since.
    pub rework: u64,
    /// 超期数 = of the `due` cases, those overdue now or closed late, or whose earlier deadline
    /// passed while they were open (an overdue that happened stays).
    pub overdue: u64,
    /// 延期数 = extensions granted to the `due` cases.
    pub extended: u64,
    /// 作废数 = cases created in the period and voided.
    pub voided: u64,
    /// 内部评价数 = `closed_in_period` cases the center evaluated (`evaluate`) with a
    /// satisfaction: its internal evaluation, apart from the public's.
    pub evaluated: u64,
    /// Of `evaluated`: satisfied or basically satisfied.
    pub satisfied: u64,
    /// Of `evaluated`: dissatisfied.
    pub dissatisfied: u64,
    /// 受理数 = cases received in the period (every channel).
    pub received: u64,
    /// 直接答复数 = of `received`, consultations answered at intake.
    pub answered_directly: u64,
    /// 回访数 = `closed_in_period` cases (not answered at intake) with a callback that reached a
    /// caller and gave a satisfaction (the public evaluation).
    pub called_back: u64,
    /// Of `called_back`: satisfied or basically satisfied in the last callback.
    pub called_back_satisfied: u64,
    /// Of `called_back_solved_answers`: the problem solved.
    pub called_back_solved: u64,
    /// `closed_in_period` cases whose callback answered whether the problem is solved.
    pub called_back_solved_answers: u64,
    /// `closed_in_period` cases with a dissatisfied or unsolved callback in any round: held
    /// against the unit.
    pub called_back_dissatisfied: u64,
    /// 结案率 = closed / due (≤ 100%).
    pub closing_rate: Option<f64>,
    /// 按期结案率 = closed_on_time / due (≤ 100%).
    pub on_time_rate: Option<f64>,
    /// 返工率 = rework / verifications: failed verifications over verifications of the due
    /// cases.
    pub rework_rate: Option<f64>,
    /// 内部满意率 (the center's evaluation) = satisfied / evaluated.
    pub satisfaction_rate: Option<f64>,
    /// 直接答复率 / 一次办结率 (first-contact resolution) = answered_directly / received.
    pub first_contact_rate: Option<f64>,
    /// 满意率 (public, from callbacks) = called_back_satisfied / called_back.
    pub public_satisfaction_rate: Option<f64>,
    /// 解决率 (public, from callbacks) = called_back_solved / called_back_solved_answers.
    pub public_solved_rate: Option<f64>,
    /// 派遣数 = dispatches made in the period, each counted for the unit dispatched to.
    pub dispatches: u64,
    /// 退回数 = of `dispatches`, the ones the unit sent back.
    pub returns: u64,
    /// Of `dispatches`, the ones acknowledged (签收, or first acted on).
    pub acknowledged: u64,
    /// Of `dispatches`, the ones the response rule judges: acknowledged with a response
    /// limit, or unacknowledged past it.
    pub response_judged: u64,
    /// Of `response_judged`, the ones acknowledged by their response limit.
    pub acknowledged_on_time: u64,
    /// Wall-clock ms from dispatch to acknowledgement, over `acknowledged`.
    #[serde(skip)]
    pub(super) response_ms: u64,
    /// 退回率 = returns / dispatches.
    pub return_rate: Option<f64>,
    /// 准确派遣率 = (dispatches − returns) / dispatches.
    pub accurate_dispatch_rate: Option<f64>,
    /// 响应率 = acknowledged_on_time / response_judged: dispatches made in the period
    /// acknowledged (签收, from the acknowledgement event or the first handling, feedback or
    /// return) within their response limit, over those judged (acknowledged, or unacknowledged
    /// past the limit).
    pub response_rate: Option<f64>,
    /// 按时签收率: the same figure as `response_rate`, under its earlier name (kept for
    /// compatibility).
    pub acknowledged_on_time_rate: Option<f64>,
    /// 平均响应时长 = wall-clock minutes from dispatch to acknowledgement, averaged over
    /// `acknowledged`.
    pub mean_response_minutes: Option<f64>,
    /// 综合得分 (0–100) = 100 × Σ wᵢ·gᵢ / Σ wᵢ over the weighted rates present (`--score-weights`),
    /// where gᵢ is the rate, or 1 − rate for rework and return; a missing rate's weight is
    /// spread over the present ones; `null` when none is present or no weights are applied.
    pub score: Option<f64>,
    /// 等级 = A (score ≥ 90), B (≥ 80), C (≥ 60), D (below 60); `null` without a score.
    #[schema(value_type = Option<String>)]
    pub grade: Option<super::score::Grade>,
}

/// Whether a case in this status is left out of 应结案 whatever its deadline: held (挂账, its
/// clock stopped), voided (作废) or declined (a duplicate marked after filing keeps the
/// deadline it had, but will never close). The one rule the table and the case list's
/// `held_or_voided` filter (the drill-down) share.
pub fn outside_due_cohort(status: Option<Status>) -> bool {
    matches!(
        status,
        Some(Status::Held | Status::Voided | Status::Declined)
    )
}

/// What the cohorts of a period are judged on for one case: its status and times, read alike
/// from a table row (the indicators) and from a summary through [`CaseFacts::of`] (the case
/// list's filters), so the rules of 应结案, 结案, 按期结案 and 超期 are written once, here.
#[derive(Debug, Clone, Copy)]
pub struct Cohort {
    pub status: Option<Status>,
    pub created_at: Millis,
    pub filed_at: Option<Millis>,
    /// The deadline in force now.
    pub deadline: Option<Millis>,
    pub closed_at: Option<Millis>,
    /// A deadline in force before the current one passed while the case was open.
    pub deadline_missed: bool,
}

/// Whether `t` falls in `[from, to)`.
fn within(t: Option<Millis>, from: Millis, to: Millis) -> bool {
    t.is_some_and(|t| t >= from && t < to)
}

impl Cohort {
    /// The cohort facts of a case's indicator facts (made from its summary by `CaseFacts::of`).
    pub fn of(f: &CaseFacts) -> Cohort {
        Cohort {
            status: f.status,
            created_at: f.created_at,
            filed_at: f.filed_at,
            deadline: f.deadline,
            closed_at: f.closed_at,
            deadline_missed: f.chain.deadline_missed,
        }
    }

    /// The cohort facts of a row of the table.
    pub(super) fn of_row(f: &Row, deadline_missed: bool) -> Cohort {
        let time = |t: i64| (t != NONE).then_some(t);
        Cohort {
            status: status_of_code(f.status),
            created_at: f.created_at,
            filed_at: time(f.filed_at),
            deadline: time(f.deadline),
            closed_at: time(f.closed_at),
            deadline_missed,
        }
    }

    /// Held, voided or declined: out of 应结案 whatever the deadline ([`outside_due_cohort`]).
    pub fn held_or_voided(&self) -> bool {
        outside_due_cohort(self.status)
    }

    /// Its deadline in force now falls in `[from, to)`.
    pub fn deadline_within(&self, from: Millis, to: Millis) -> bool {
        within(self.deadline, from, to)
    }

    /// 应结案 in `[from, to)`: its deadline in force now falls in it, and it is neither held,
    /// voided nor declined.
    pub fn due(&self, from: Millis, to: Millis) -> bool {
        self.deadline_within(from, to) && !self.held_or_voided()
    }

    /// 结案 as of `now`: a closing (not undone by a reopening) at or before `now`.
    pub fn closed_by(&self, now: Millis) -> bool {
        self.closed_at.is_some_and(|c| c <= now)
    }

    /// 按期结案: closed by its deadline, no earlier deadline missed (`Some(false)`: closed
    /// late; `None`: not closed).
    pub fn closed_on_time(&self) -> Option<bool> {
        fold::closed_on_time(self.closed_at, self.deadline, self.deadline_missed)
    }

    /// 超期 at `now`: overdue now or closed late, or an earlier deadline missed.
    pub fn overdue_at(&self, now: Millis) -> bool {
        fold::overdue(
            self.status,
            self.deadline,
            self.closed_at,
            self.deadline_missed,
            now,
        )
    }

    /// Filed (立案) in `[from, to)`.
    pub fn filed_within(&self, from: Millis, to: Millis) -> bool {
        within(self.filed_at, from, to)
    }

    /// Closed (结案) in `[from, to)`, whatever its deadline: throughput.
    pub fn closed_within(&self, from: Millis, to: Millis) -> bool {
        within(self.closed_at, from, to)
    }

    /// Created (received) in `[from, to)`.
    pub fn created_within(&self, from: Millis, to: Millis) -> bool {
        within(Some(self.created_at), from, to)
    }
}

/// Every rate with the counts it is made of (numerator, denominator), as [`Indicators`]
/// makes them; the numerator `None` where it is not a count (派遣准确率: dispatches − returns).
/// A rate's drill-down lists the cases of its counts (`console::drill`).
pub const RATE_PARTS: [(&str, Option<&str>, &str); 12] = [
    ("closing_rate", Some("closed"), "due"),
    ("on_time_rate", Some("closed_on_time"), "due"),
    ("rework_rate", Some("rework"), "verifications"),
    ("satisfaction_rate", Some("satisfied"), "evaluated"),
    ("first_contact_rate", Some("answered_directly"), "received"),
    (
        "public_satisfaction_rate",
        Some("called_back_satisfied"),
        "called_back",
    ),
    (
        "public_solved_rate",
        Some("called_back_solved"),
        "called_back_solved_answers",
    ),
    ("return_rate", Some("returns"), "dispatches"),
    ("accurate_dispatch_rate", None, "dispatches"),
    (
        "response_rate",
        Some("acknowledged_on_time"),
        "response_judged",
    ),
    (
        "acknowledged_on_time_rate",
        Some("acknowledged_on_time"),
        "response_judged",
    ),
    ("mean_response_minutes", Some("response_ms"), "acknowledged"),
];

/// The counts a figure's case list shows beside the figure itself: the other part of every
/// rate the figure is a part of (the numerator of a denominator, the denominator of a
/// numerator), figure first, each once.
pub fn parts_beside(figure: &str) -> Vec<&'static str> {
    let mut parts: Vec<&'static str> = Vec::new();
    let mut add = |name: &'static str| {
        if !parts.contains(&name) {
            parts.push(name);
        }
    };
    if let Some(own) = Indicators::default()
        .counts()
        .into_iter()
        .map(|(n, _)| n)
        .find(|n| *n == figure)
    {
        add(own);
    }
    for (_, numerator, denominator) in RATE_PARTS {
        if denominator == figure {
            if let Some(n) = numerator {
                add(n);
            }
        }
        if numerator == Some(figure) {
            add(denominator);
        }
    }
    parts
}

/// Where one period begins and ends, and the instant "overdue" is judged at.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub from: Millis,
    /// Exclusive.
    pub to: Millis,
    pub now: Millis,
}

impl Indicators {
    /// Adds what one case counts for in the period; `deadline_missed`: a deadline in force
    /// before the current one passed while the case was open.
    pub(super) fn count(&mut self, f: &Row, deadline_missed: bool, p: Period) {
        let c = Cohort::of_row(f, deadline_missed);
        let status = c.status;
        if c.filed_within(p.from, p.to) {
            self.filed += 1;
        }
        if c.due(p.from, p.to) {
            self.due += 1;
            if c.closed_by(p.now) {
                self.closed += 1;
                if c.closed_on_time() == Some(true) {
                    self.closed_on_time += 1;
                }
            }
            if c.overdue_at(p.now) {
                self.overdue += 1;
            }
            self.extended += u64::from(f.extensions);
            self.rework += u64::from(f.rework_count);
            // Every failed verification is a verification; rows from before the count have
            // none, and count their failed ones.
            self.verifications += u64::from(f.verifications.max(f.rework_count));
        }
        let closed_in_period = c.closed_within(p.from, p.to);
        if closed_in_period {
            self.closed_in_period += 1;
            match satisfaction_of_code(f.satisfaction) {
                Some(Satisfaction::Satisfied | Satisfaction::Basic) => {
                    self.evaluated += 1;
                    self.satisfied += 1;
                }
                Some(Satisfaction::Dissatisfied) => {
                    self.evaluated += 1;
                    self.dissatisfied += 1;
                }
                None => {}
            }
        }
        let call = CallFacts::decode(f.call);
        let created = c.created_within(p.from, p.to);
        if created {
            self.received += 1;
            if call.answered_directly {
                self.answered_directly += 1;
            }
        }
        if closed_in_period && !call.answered_directly {
            if let Some(satisfaction) = call.public_satisfaction {
                self.called_back += 1;
                if satisfaction != Satisfaction::Dissatisfied {
                    self.called_back_satisfied += 1;
                }
            }
            if let Some(solved) = call.public_solved {
                self.called_back_solved_answers += 1;
                if solved {
                    self.called_back_solved += 1;
                }
            }
            if call.ever_dissatisfied {
                self.called_back_dissatisfied += 1;
            }
        }
        if status == Some(Status::Voided) && created {
            self.voided += 1;
        }
    }

    /// Adds what one dispatch counts for when it was made in the period. `waited_until` is
    /// when it stopped waiting for an acknowledgement it never got (see `table::waited_until`),
    /// or [`NONE`]: by sync-core's response rule, it is late once that passes its limit, and
    /// not judged before.
    pub(super) fn count_link(&mut self, l: &Link, waited_until: Millis, p: Period) {
        if l.dispatched_at == NONE || l.dispatched_at < p.from || l.dispatched_at >= p.to {
            return;
        }
        let time = |t: i64| (t != NONE).then_some(t);
        self.dispatches += 1;
        if l.returned {
            self.returns += 1;
        }
        let due = time(l.response_due);
        match time(l.acknowledged_at) {
            Some(at) => {
                self.acknowledged += 1;
                let waited = at.saturating_sub(l.dispatched_at).max(0);
                self.response_ms = self.response_ms.saturating_add(waited as u64);
                if due.is_some() {
                    self.response_judged += 1;
                    if !fold::response_late(Some(at), due, at) {
                        self.acknowledged_on_time += 1;
                    }
                }
            }
            None => {
                if let Some(until) = time(waited_until) {
                    if fold::response_late(None, due, until) {
                        self.response_judged += 1;
                    }
                }
            }
        }
    }

    /// Adds another group's counts (rates are made afterwards, by [`Indicators::rates`]).
    pub(super) fn add(&mut self, o: &Indicators) {
        self.filed += o.filed;
        self.due += o.due;
        self.closed += o.closed;
        self.closed_on_time += o.closed_on_time;
        self.closed_in_period += o.closed_in_period;
        self.verifications += o.verifications;
        self.rework += o.rework;
        self.overdue += o.overdue;
        self.extended += o.extended;
        self.voided += o.voided;
        self.evaluated += o.evaluated;
        self.satisfied += o.satisfied;
        self.dissatisfied += o.dissatisfied;
        self.received += o.received;
        self.answered_directly += o.answered_directly;
        self.called_back += o.called_back;
        self.called_back_satisfied += o.called_back_satisfied;
        self.called_back_solved += o.called_back_solved;
        self.called_back_solved_answers += o.called_back_solved_answers;
        self.called_back_dissatisfied += o.called_back_dissatisfied;
        self.dispatches += o.dispatches;
        self.returns += o.returns;
        self.acknowledged += o.acknowledged;
        self.response_judged += o.response_judged;
        self.acknowledged_on_time += o.acknowledged_on_time;
        self.response_ms = self.response_ms.saturating_add(o.response_ms);
    }

    /// Every count, by its JSON name, and `response_ms` (the wall-clock ms from dispatch to
    /// acknowledgement summed over `acknowledged`, which `mean_response_minutes` averages): what
    /// a case list sums to make a figure (`GET /v1/cases?figure=...`, its `counts`).
    pub fn counts(&self) -> [(&'static str, u64); 26] {
        [
            ("filed", self.filed),
            ("due", self.due),
            ("closed", self.closed),
            ("closed_on_time", self.closed_on_time),
            ("closed_in_period", self.closed_in_period),
            ("verifications", self.verifications),
            ("rework", self.rework),
            ("overdue", self.overdue),
            ("extended", self.extended),
            ("voided", self.voided),
            ("evaluated", self.evaluated),
            ("satisfied", self.satisfied),
            ("dissatisfied", self.dissatisfied),
            ("received", self.received),
            ("answered_directly", self.answered_directly),
            ("called_back", self.called_back),
            ("called_back_satisfied", self.called_back_satisfied),
            ("called_back_solved", self.called_back_solved),
            (
                "called_back_solved_answers",
                self.called_back_solved_answers,
            ),
            ("called_back_dissatisfied", self.called_back_dissatisfied),
            ("dispatches", self.dispatches),
            ("returns", self.returns),
            ("acknowledged", self.acknowledged),
            ("response_judged", self.response_judged),
            ("acknowledged_on_time", self.acknowledged_on_time),
            ("response_ms", self.response_ms),
        ]
    }

    /// One of [`Indicators::counts`] by its name; `None` for a name that is not a count.
    pub fn count_of(&self, name: &str) -> Option<u64> {
        self.counts()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// The rates of the counts; `None` where the denominator is zero.
    pub(super) fn rates(mut self) -> Self {
        let rate = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
        self.closing_rate = rate(self.closed, self.due);
        self.on_time_rate = rate(self.closed_on_time, self.due);
        self.rework_rate = rate(self.rework, self.verifications);
        self.satisfaction_rate = rate(self.satisfied, self.evaluated);
        self.first_contact_rate = rate(self.answered_directly, self.received);
        self.public_satisfaction_rate = rate(self.called_back_satisfied, self.called_back);
        self.public_solved_rate = rate(self.called_back_solved, self.called_back_solved_answers);
        self.return_rate = rate(self.returns, self.dispatches);
        self.accurate_dispatch_rate = rate(
            self.dispatches.saturating_sub(self.returns),
            self.dispatches,
        );
        self.response_rate = rate(self.acknowledged_on_time, self.response_judged);
        self.acknowledged_on_time_rate = self.response_rate;
        self.mean_response_minutes =
            rate(self.response_ms, self.acknowledged).map(|ms| ms / 60_000.0);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_figure_shows_the_other_parts_of_its_rates() {
        assert_eq!(parts_beside("verifications"), ["verifications", "rework"]);
        assert_eq!(parts_beside("due"), ["due", "closed", "closed_on_time"]);
        assert_eq!(parts_beside("rework"), ["rework", "verifications"]);
        assert_eq!(parts_beside("dispatches"), ["dispatches", "returns"]);
        assert_eq!(parts_beside("overdue"), ["overdue"]);
        assert!(parts_beside("no_such_count").is_empty());
    }

    /// Every rate is the ratio of the counts [`RATE_PARTS`] names, so a case list that sums
    /// them makes the rate.
    #[test]
    fn every_rate_is_its_parts_ratio() {
        let mut i = Indicators::default();
        for (n, (name, _)) in i.counts().into_iter().enumerate() {
            let v = 200 - 3 * n as u64;
            match name {
                "filed" => i.filed = v,
                "due" => i.due = v,
                "closed" => i.closed = v,
                "closed_on_time" => i.closed_on_time = v,
                "closed_in_period" => i.closed_in_period = v,
                "verifications" => i.verifications = v,
                "rework" => i.rework = v,
                "overdue" => i.overdue = v,
                "extended" => i.extended = v,
                "voided" => i.voided = v,
                "evaluated" => i.evaluated = v,
                "satisfied" => i.satisfied = v,
                "dissatisfied" => i.dissatisfied = v,
                "received" => i.received = v,
                "answered_directly" => i.answered_directly = v,
                "called_back" => i.called_back = v,
                "called_back_satisfied" => i.called_back_satisfied = v,
                "called_back_solved" => i.called_back_solved = v,
                "called_back_solved_answers" => i.called_back_solved_answers = v,
                "called_back_dissatisfied" => i.called_back_dissatisfied = v,
                "dispatches" => i.dispatches = v,
                "returns" => i.returns = v,
                "acknowledged" => i.acknowledged = v,
                "response_judged" => i.response_judged = v,
                "acknowledged_on_time" => i.acknowledged_on_time = v,
                "response_ms" => i.response_ms = v,
                other => panic!("a count without its field: {other}"),
            }
        }
        for (name, v) in i.counts() {
            assert_eq!(i.count_of(name), Some(v), "{name}");
        }
        assert_eq!(i.count_of("closing_rate"), None);
        let json = serde_json::to_value(i.clone().rates()).expect("JSON");
        for (rate, num, den) in RATE_PARTS {
            let den = i.count_of(den).expect("a count") as f64;
            let num = match num {
                Some(n) => i.count_of(n).expect("a count") as f64,
                None => (i.dispatches - i.returns) as f64,
            };
            let scale = if rate == "mean_response_minutes" {
                60_000.0
            } else {
                1.0
            };
            let got = json[rate].as_f64().expect(rate);
            assert!((got - num / den / scale).abs() < 1e-12, "{rate}");
        }
    }
}
