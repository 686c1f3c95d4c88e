//! The composite score (综合得分) and grade (等级) of a group, from its rates and the weights
//! the center sets (`--score-weights`).
//!
//! score = 100 × Σ wᵢ·gᵢ / Σ wᵢ, over the weighted rates the group has (a rate whose
//! denominator is zero is missing: its weight is spread over the present ones in proportion,
//! which is what dividing by the present weights does). gᵢ is the rate itself for the rates
//! where more is better, and 1 − rate for rework and return. A group whose present rates
//! carry less than a third of the weights has no score ([`COVERAGE`]): a unit with one
//! dispatch and nothing due would otherwise rank first on its return rate alone. Grades:
//! A ≥ 90, B ≥ 80, C ≥ 60, D below.

use super::formulas::Indicators;
use serde::Serialize;
use std::fmt;

/// The share of the weights a group's present rates must carry for it to be scored.
pub const COVERAGE: f64 = 1.0 / 3.0;

/// The weights' defaults, as `--score-weights` takes them.
pub const DEFAULT_WEIGHTS: &str =
    "on_time=30,response=20,public_satisfaction=30,rework=10,return=10";

/// A rate the score may weigh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// 结案率.
    Closing,
    /// 按期结案率.
    OnTime,
    /// 响应率.
    Response,
    /// 满意率 (public, callbacks).
    PublicSatisfaction,
    /// 解决率 (public, callbacks).
    PublicSolved,
    /// The center's internal satisfaction.
    Satisfaction,
    /// 直接答复率.
    FirstContact,
    /// 准确派遣率.
    AccurateDispatch,
    /// 返工率 (counts as 1 − rate).
    Rework,
    /// 退回率 (counts as 1 − rate).
    Return,
}

impl Measure {
    const ALL: [Measure; 10] = [
        Measure::Closing,
        Measure::OnTime,
        Measure::Response,
        Measure::PublicSatisfaction,
        Measure::PublicSolved,
        Measure::Satisfaction,
        Measure::FirstContact,
        Measure::AccurateDispatch,
        Measure::Rework,
        Measure::Return,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Measure::Closing => "closing",
            Measure::OnTime => "on_time",
            Measure::Response => "response",
            Measure::PublicSatisfaction => "public_satisfaction",
            Measure::PublicSolved => "public_solved",
            Measure::Satisfaction => "satisfaction",
            Measure::FirstContact => "first_contact",
            Measure::AccurateDispatch => "accurate_dispatch",
            Measure::Rework => "rework",
            Measure::Return => "return",
        }
    }

    /// How good the group is on this measure, in [0, 1]; `None` without data.
    fn goodness(self, i: &Indicators) -> Option<f64> {
        let rate = match self {
            Measure::Closing => i.closing_rate,
            Measure::OnTime => i.on_time_rate,
            Measure::Response => i.response_rate,
            Measure::PublicSatisfaction => i.public_satisfaction_rate,
            Measure::PublicSolved => i.public_solved_rate,
            Measure::Satisfaction => i.satisfaction_rate,
            Measure::FirstContact => i.first_contact_rate,
            Measure::AccurateDispatch => i.accurate_dispatch_rate,
            Measure::Rework => i.rework_rate.map(|r| 1.0 - r),
            Measure::Return => i.return_rate.map(|r| 1.0 - r),
        }?;
        rate.is_finite().then(|| rate.clamp(0.0, 1.0))
    }
}

/// The weights of the score: each measure at most once, each weight ≥ 0, their sum > 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights(Vec<(Measure, f64)>);

impl Default for Weights {
    fn default() -> Weights {
        match Weights::parse(DEFAULT_WEIGHTS) {
            Ok(w) => w,
            Err(_) => Weights(vec![(Measure::OnTime, 1.0)]),
        }
    }
}

impl Weights {
    /// Reads `name=weight,...` (names: `closing`, `on_time`, `response`,
    /// `public_satisfaction`, `public_solved`, `satisfaction`, `first_contact`,
    /// `accurate_dispatch`, `rework`, `return`).
    pub fn parse(s: &str) -> Result<Weights, String> {
        let mut out: Vec<(Measure, f64)> = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("{part}: expected name=weight"))?;
            let name = name.trim();
            let measure = Measure::ALL
                .into_iter()
                .find(|m| m.name() == name)
                .ok_or_else(|| {
                    let known: Vec<&str> = Measure::ALL.iter().map(|m| m.name()).collect();
                    format!("{name}: not a rate the score weighs ({})", known.join(", "))
                })?;
            let weight: f64 = weight
                .trim()
                .parse()
                .map_err(|_| format!("{part}: the weight is not a number"))?;
            if !weight.is_finite() || weight < 0.0 {
                return Err(format!("{part}: a weight is a number ≥ 0"));
            }
            if out.iter().any(|(m, _)| *m == measure) {
                return Err(format!("{name}: weighed twice"));
            }
            out.push((measure, weight));
        }
        if out.iter().map(|(_, w)| w).sum::<f64>() <= 0.0 {
            return Err("the weights add up to nothing".into());
        }
        Ok(Weights(out))
    }

    /// The weights, by name, as given.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        self.0.iter().map(|(m, w)| (m.name(), *w))
    }

    /// The score of a group's rates; `None` when its present rates carry less than
    /// [`COVERAGE`] of the weights.
    pub fn score(&self, i: &Indicators) -> Option<f64> {
        let (mut sum, mut weights, mut total) = (0.0, 0.0, 0.0);
        for (m, w) in &self.0 {
            total += w;
            if let Some(g) = m.goodness(i) {
                sum += w * g;
                weights += w;
            }
        }
        (weights > 0.0 && weights >= COVERAGE * total)
            .then(|| (100.0 * sum / weights).clamp(0.0, 100.0))
    }

    /// Fills in `score` and `grade`.
    pub fn apply(&self, i: &mut Indicators) {
        i.score = self.score(i);
        i.grade = i.score.map(Grade::of);
    }
}

impl fmt::Display for Weights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, (name, w)) in self.iter().enumerate() {
            if n > 0 {
                f.write_str(",")?;
            }
            write!(f, "{name}={w}")?;
        }
        Ok(())
    }
}

/// A grade of the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Grade {
    A,
    B,
    C,
    D,
}

impl Grade {
    /// A ≥ 90, B ≥ 80, C ≥ 60, D below.
    pub fn of(score: f64) -> Grade {
        if score >= 90.0 {
            Grade::A
        } else if score >= 80.0 {
            Grade::B
        } else if score >= 60.0 {
            Grade::C
        } else {
            Grade::D
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
            Grade::D => "D",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates(on_time: Option<f64>, response: Option<f64>, rework: Option<f64>) -> Indicators {
        Indicators {
            on_time_rate: on_time,
            response_rate: response,
            rework_rate: rework,
            ..Indicators::default()
        }
    }

    #[test]
    fn the_defaults_parse_and_print_back() {
        let w = Weights::default();
        assert_eq!(w.to_string(), DEFAULT_WEIGHTS);
        assert_eq!(Weights::parse(DEFAULT_WEIGHTS), Ok(w));
    }

    #[test]
    fn bad_weights_are_refused() {
        for bad in [
            "",
            "on_time",
            "on_time=x",
            "on_time=-1",
            "on_time=NaN",
            "speed=3",
            "on_time=1,on_time=2",
            "on_time=0",
        ] {
            assert!(Weights::parse(bad).is_err(), "{bad}");
        }
        assert!(Weights::parse(" on_time = 2 , return=1 ").is_ok());
    }

    #[test]
    fn the_score_weighs_the_present_rates_and_spreads_the_missing_ones() {
        let w = Weights::parse("on_time=30,response=20,rework=10").expect("weights");
        // Every rate: (30·0.9 + 20·0.5 + 10·(1 − 0.2)) / 60.
        let all = rates(Some(0.9), Some(0.5), Some(0.2));
        let expected = 100.0 * (30.0 * 0.9 + 20.0 * 0.5 + 10.0 * 0.8) / 60.0;
        assert!((w.score(&all).expect("a score") - expected).abs() < 1e-9);
        // No response data: its weight goes to the others, in proportion.
        let some = rates(Some(0.9), None, Some(0.2));
        let expected = 100.0 * (30.0 * 0.9 + 10.0 * 0.8) / 40.0;
        assert!((w.score(&some).expect("a score") - expected).abs() < 1e-9);
        assert_eq!(w.score(&rates(None, None, None)), None, "no data, no score");
        // Only the rework rate (10 of 60): too little to rank on.
        assert_eq!(w.score(&rates(None, None, Some(0.0))), None);
        assert_eq!(
            w.score(&rates(Some(1.0), Some(1.0), Some(0.0))),
            Some(100.0)
        );
        assert_eq!(w.score(&rates(Some(0.0), Some(0.0), Some(1.0))), Some(0.0));
        let mut i = all.clone();
        w.apply(&mut i);
        assert_eq!(i.grade, Some(Grade::C));
    }

    #[test]
    fn grades_follow_their_thresholds() {
        for (score, grade) in [
            (100.0, Grade::A),
            (90.0, Grade::A),
            (89.99, Grade::B),
            (80.0, Grade::B),
            (79.9, Grade::C),
            (60.0, Grade::C),
            (59.9, Grade::D),
            (0.0, Grade::D),
        ] {
            assert_eq!(Grade::of(score), grade, "{score}");
        }
    }
}
