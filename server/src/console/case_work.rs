//! The parts of the case page about who works the case now (issue 14): the unit's
//! acknowledgement and response limit, the extension request waiting for an answer, the lead
//! and cooperating units, the callback flag and the suggested handling; and what each side of
//! a conflict would do, found by folding the case with the resolution added (never guessed).

use super::i18n::Lang;
use super::{place, Place};
use crate::cases::CaseView;
use crate::district_time::when;
use gridcase_sync_core::fold::{
    check_adoption_in, fold, frontier, CaseState, Conflict, Disposition,
};
use gridcase_sync_core::org::Org;
use gridcase_sync_core::{Action, Actor, Event, EventId, Millis, Status, WorkCalendar};
use maud::{html, Markup};

/// The suggested handling (处置建议) of the filing in force: the last applied `file`.
pub fn suggestion(view: &CaseView) -> Option<&str> {
    view.history
        .iter()
        .rev()
        .filter(|h| h.disposition == Some(Disposition::Applied))
        .find_map(|h| match &h.event.action {
            Action::File(f) if !f.suggestion.is_empty() => Some(f.suggestion.as_str()),
            _ => None,
        })
}

/// Facts of who works the case, as `dt`/`dd` pairs for the page's fact list.
pub fn facts(lang: Lang, org: &Org, view: &CaseView, now: Millis) -> Markup {
    let (t, w) = (lang.text(), lang.work());
    let st = &view.state;
    let unit = |u: &gridcase_sync_core::UnitId| place(org, Place::Unit, Some(u.as_str()));
    let cooperating: Vec<String> = st
        .units_involved
        .iter()
        .filter(|u| Some(*u) != st.assigned_unit.as_ref() && Some(*u) != st.lead_unit.as_ref())
        .map(unit)
        .collect();
    html! {
        dt { (w.lead_unit) } dd #lead-unit { (st.lead_unit.as_ref().map(unit).unwrap_or_else(|| "—".into())) }
        dt { (w.cooperating_units) } dd #cooperating-units {
            @if cooperating.is_empty() { "—" } @else { (cooperating.join("、")) }
        }
        dt { (w.acknowledged) } dd #acknowledged {
            @match (st.acknowledged_at, st.response_due) {
                (Some(at), due) => {
                    (when(at))
                    @if due.is_some_and(|d| at > d) { " " span.badge.overdue { (w.response_late) } }
                }
                (None, Some(due)) if st.assigned_unit.is_some() => {
                    (w.not_acknowledged) " · " (w.respond_by) " " (when(due))
                    @if st.response_late_at(now) { " " span.badge.overdue { (w.response_late) } }
                }
                _ => { "—" }
            }
        }
        @if let Some(ask) = &st.pending_extension {
            dt { (w.extension_request) } dd #extension-request {
                (w.extension_asked.replace("{hours}", &ask.hours.to_string())) " · " (ask.reason)
                " · " (ask.by) " " span.time { (when(ask.at)) }
            }
        }
        dt { (w.callback_wanted) } dd #callback-wanted {
            (if st.callback || st.intake_callback || !st.callback_wanted.is_empty() { t.yes } else { t.no })
        }
        dt { (t.suggestion) } dd #suggestion { (suggestion(view).unwrap_or("—")) }
    }
}

/// What taking a side of a conflict leaves: the status the case would have, folding its
/// events with the resolution added as the viewer would write it now.
pub fn outcome(
    view: &CaseView,
    actor: &Actor,
    conflict: &Conflict,
    adopt: bool,
    now: Millis,
    calendar: &WorkCalendar,
) -> Option<Status> {
    let mut events: Vec<Event> = view.history.iter().map(|h| h.event.clone()).collect();
    let resolution = Event {
        id: EventId::generate(),
        author: actor.user.clone(),
        device: actor.device.clone(),
        role: actor.role,
        scope: actor.scope.clone(),
        at: now,
        parents: frontier(&events),
        action: if adopt {
            Action::Adopt {
                conflict: conflict.event.clone(),
                note: String::new(),
            }
        } else {
            Action::Resolve {
                conflict: conflict.event.clone(),
                note: String::new(),
            }
        },
    };
    events.push(resolution);
    let after: CaseState = fold(&events, calendar);
    after.status
}

/// The two sides of an open conflict, each saying what it will do; taking the superseded side
/// only where the rules allow it (a transition that lost by being concurrent).
pub fn decision(
    lang: Lang,
    view: &CaseView,
    actor: &Actor,
    conflict: &Conflict,
    now: Millis,
    calendar: &WorkCalendar,
) -> Markup {
    let (t, w) = (lang.text(), lang.work());
    let keep = outcome(view, actor, conflict, false, now, calendar);
    // Offered where the rules take it: a concurrent transition whose writer could write it here.
    let events: Vec<Event> = view.history.iter().map(|h| h.event.clone()).collect();
    let adoptable =
        conflict.adoptable && check_adoption_in(&events, &view.state, &conflict.event).is_ok();
    let adopt = adoptable.then(|| outcome(view, actor, conflict, true, now, calendar));
    html! {
        fieldset.decision {
            legend { (t.decision) }
            label.check {
                input type="radio" name="decision" value="keep" checked;
                (t.keep_outcome) " — " (w.leaves.replace("{status}", lang.status(keep)))
            }
            @match adopt {
                Some(status) => {
                    label.check {
                        input type="radio" name="decision" value="adopt";
                        (w.adopt) " — " (w.leaves.replace("{status}", lang.status(status)))
                    }
                }
                None => { p.small.cannot-adopt { (w.cannot_adopt) } }
            }
        }
    }
}
