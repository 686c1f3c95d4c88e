//! Horizontal bar charts as inline SVG, drawn on the server: no script, no CDN, and they print.

use maud::{html, Markup};

const WIDTH: f64 = 560.0;
const LABEL: f64 = 150.0;
const VALUE: f64 = 60.0;
const BAR: f64 = 18.0;
const GAP: f64 = 6.0;

/// One chart: a bar per (label, value), scaled to `max` (or the largest value), each value
/// printed by `show`. A missing value (a rate with nothing to divide) draws no bar and "—".
pub fn bars(
    title: &str,
    rows: &[(String, Option<f64>)],
    max: Option<f64>,
    show: fn(f64) -> String,
) -> Markup {
    let top = max
        .or_else(|| rows.iter().filter_map(|(_, v)| *v).reduce(f64::max))
        .filter(|m| *m > 0.0)
        .unwrap_or(1.0);
    let span = WIDTH - LABEL - VALUE;
    let height = rows.len() as f64 * (BAR + GAP) + GAP;
    html! {
        figure.chart {
            figcaption { (title) }
            svg xmlns="http://www.w3.org/2000/svg" width=(WIDTH) height=(height)
                viewBox={ "0 0 " (WIDTH) " " (height) } role="img" aria-label=(title) {
                @for (i, (label, value)) in rows.iter().enumerate() {
                    @let y = GAP + i as f64 * (BAR + GAP);
                    text x=(LABEL - 6.0) y=(y + BAR * 0.75) text-anchor="end" { (label) }
                    @if let Some(v) = value {
                        rect x=(LABEL) y=(y) width=(format!("{:.1}", (v / top).clamp(0.0, 1.0) * span)) height=(BAR) rx="2" {
                            title { (label) ": " (show(*v)) }
                        }
                        text x=(WIDTH - VALUE + 6.0) y=(y + BAR * 0.75) { (show(*v)) }
                    } @else {
                        text x=(WIDTH - VALUE + 6.0) y=(y + BAR * 0.75) { "—" }
                    }
                }
            }
        }
    }
}

pub fn percent(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

pub fn count(v: f64) -> String {
    format!("{v:.0}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_value_and_escape_labels() {
        let svg = bars(
            "t",
            &[
                ("<a>".into(), Some(2.0)),
                ("b".into(), Some(1.0)),
                ("c".into(), None),
            ],
            None,
            count,
        )
        .into_string();
        let span = WIDTH - LABEL - VALUE;
        assert!(svg.contains(&format!("width=\"{span:.1}\"")), "{svg}");
        assert!(
            svg.contains(&format!("width=\"{:.1}\"", span / 2.0)),
            "{svg}"
        );
        assert!(svg.contains("&lt;a&gt;") && !svg.contains("<a>"), "{svg}");
        assert_eq!(svg.matches("<rect").count(), 2, "no bar without a value");
    }
}
