//! Properties of the indicator table over random cases and random periods: every rate lies in
//! [0, 1] (the cohort definitions make 结案率 and 按期结案率 ≤ 100% by construction), every
//! score in [0, 100], the groups' counts add up to the total, and the total does not depend on
//! the grouping.

use gridcase_server::indicators::{
    CallFacts, CaseFacts, ChainFacts, GroupBy, Indicators, LinkFacts, Period, Table, Weights,
    WorkFacts,
};
use gridcase_sync_core::event::Satisfaction;
use gridcase_sync_core::{Scope, Status};
use proptest::prelude::*;
use serde_json::Value;

const SPAN: i64 = 100_000;

fn time() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![1 => Just(None), 4 => (0..SPAN).prop_map(Some)]
}

fn name(prefix: &'static str) -> impl Strategy<Value = Option<String>> {
    prop_oneof![1 => Just(None), 4 => (0..3u8).prop_map(move |i| Some(format!("{prefix}{i}")))]
}

fn satisfaction() -> impl Strategy<Value = Option<Satisfaction>> {
    prop_oneof![
        Just(None),
        proptest::sample::select(Satisfaction::ALL).prop_map(Some)
    ]
}

fn link() -> impl Strategy<Value = LinkFacts> {
    (0..3u8, 0..SPAN, time(), time(), any::<bool>()).prop_map(|(u, at, ack, due, returned)| {
        LinkFacts {
            unit: format!("u{u}"),
            dispatched_at: at,
            returned,
            acknowledged_at: ack.map(|a| a.max(at)),
            response_due: due,
        }
    })
}

prop_compose! {
    fn case()(
        status in proptest::option::of(proptest::sample::select(Status::ALL.to_vec())),
        created_at in 0..SPAN,
        (filed_at, deadline, closed_at) in (time(), time(), time()),
        (extensions, rework_count, verifications) in (0..3u32, 0..4u32, 0..6u32),
        satisfaction in satisfaction(),
        (street, community, grid) in (name("s"), name("c"), name("g")),
        (unit, category, responsible) in (name("u"), name("E"), name("p")),
        (answered_directly, ever_dissatisfied) in (any::<bool>(), any::<bool>()),
        public_satisfaction in satisfaction(),
        public_solved in proptest::option::of(any::<bool>()),
        deadline_missed in any::<bool>(),
        links in proptest::collection::vec(link(), 0..4),
    ) -> CaseFacts {
        CaseFacts {
            status,
            created_at,
            filed_at,
            deadline,
            closed_at,
            extensions,
            rework_count,
            satisfaction,
            street,
            community,
            grid,
            units: unit.iter().cloned().collect(),
            unit,
            category,
            call: CallFacts { answered_directly, public_satisfaction, public_solved, ever_dissatisfied },
            chain: ChainFacts { deadline_missed, links },
            work: WorkFacts { responsible, verifications },
        }
    }
}

prop_compose! {
    fn period()(a in 0..SPAN, b in 0..SPAN, now in 0..SPAN + SPAN / 2) -> Period {
        Period { from: a.min(b), to: a.max(b) + 1, now }
    }
}

/// The counts of a group (its integer fields), by name.
fn counts(i: &Indicators) -> Vec<(String, u64)> {
    let Value::Object(map) = serde_json::to_value(i).expect("JSON") else {
        panic!("an object")
    };
    map.into_iter()
        .filter_map(|(k, v)| v.as_u64().filter(|_| v.is_u64()).map(|n| (k, n)))
        .collect()
}

/// Every rate of a group lies in [0, 1]; its score in [0, 100]; the cohorts nest.
fn check_rates(i: &Indicators) -> Result<(), TestCaseError> {
    let Value::Object(map) = serde_json::to_value(i).expect("JSON") else {
        panic!("an object")
    };
    for (k, v) in &map {
        if k.ends_with("_rate") {
            if let Some(r) = v.as_f64() {
                prop_assert!((0.0..=1.0).contains(&r), "{k} = {r}");
            } else {
                prop_assert!(v.is_null(), "{k} = {v}");
            }
        }
    }
    if let Some(s) = i.score {
        prop_assert!((0.0..=100.0).contains(&s), "score {s}");
    }
    prop_assert!(i.closed <= i.due && i.closed_on_time <= i.closed);
    prop_assert!(i.overdue <= i.due && i.rework <= i.verifications);
    prop_assert!(i.returns <= i.dispatches && i.acknowledged_on_time <= i.response_judged);
    prop_assert_eq!(i.response_rate, i.acknowledged_on_time_rate);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn rates_are_within_bounds_and_groups_add_up(
        cases in proptest::collection::vec(case(), 0..40),
        period in period(),
    ) {
        let mut table = Table::default();
        for (slot, f) in cases.iter().enumerate() {
            table.put(slot as u32, f);
        }
        let weights = Weights::default();
        let mut totals = Vec::new();
        for by in GroupBy::ALL {
            let (groups, mut total) = table.compute(&Scope::District, by, period);
            weights.apply(&mut total);
            check_rates(&total)?;
            let mut sum: Vec<(String, u64)> = counts(&Indicators::default());
            for g in groups.values() {
                let mut g = g.clone();
                weights.apply(&mut g);
                check_rates(&g)?;
                for ((k, n), (k2, m)) in sum.iter_mut().zip(counts(&g)) {
                    prop_assert_eq!(&*k, &k2);
                    *n += m;
                }
            }
            prop_assert_eq!(&sum, &counts(&total), "{:?}: the groups add up", by);
            totals.push(counts(&total));
        }
        for t in &totals[1..] {
            prop_assert_eq!(t, &totals[0], "the total is the same whatever the grouping");
        }
    }
}
