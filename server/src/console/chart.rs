//! Horizontal bar charts and line charts as inline SVG, drawn on the server: no script, no CDN,
//! and they print.

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

/// The line chart's size and its colours, one a series (presentation attributes, not styles:
/// the pages' CSP allows no inline style).
const LINE_HEIGHT: f64 = 220.0;
const PLOT_LEFT: f64 = 44.0;
const PLOT_TOP: f64 = 10.0;
const PLOT_BOTTOM: f64 = 40.0;
const COLOURS: [&str; 6] = [
    "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#ff7f0e", "#8c564b",
];

/// One line chart of rates (0–100%) over `x` (labels at even steps): a polyline a series,
/// broken where a value is missing (no data draws no point, never 0%), with a legend.
pub fn lines(title: &str, x: &[String], series: &[(&str, Vec<Option<f64>>)]) -> Markup {
    let plot_w = WIDTH - PLOT_LEFT - 10.0;
    let plot_h = LINE_HEIGHT - PLOT_TOP - PLOT_BOTTOM;
    let step = if x.len() > 1 {
        plot_w / (x.len() - 1) as f64
    } else {
        0.0
    };
    let px = |i: usize| PLOT_LEFT + i as f64 * step;
    let py = |v: f64| PLOT_TOP + (1.0 - v.clamp(0.0, 1.0)) * plot_h;
    // The runs of present values, each a polyline (a single point is a dot).
    let runs = |values: &[Option<f64>]| -> Vec<Vec<(f64, f64)>> {
        let mut out: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for (i, v) in values.iter().enumerate() {
            match v {
                Some(v) if v.is_finite() => {
                    if let Some(run) = out.last_mut() {
                        run.push((px(i), py(*v)));
                    }
                }
                _ => out.push(Vec::new()),
            }
        }
        out.retain(|r| !r.is_empty());
        out
    };
    let legend_y = LINE_HEIGHT - 8.0;
    html! {
        figure.chart.lines {
            figcaption { (title) }
            svg xmlns="http://www.w3.org/2000/svg" width=(WIDTH) height=(LINE_HEIGHT)
                viewBox={ "0 0 " (WIDTH) " " (LINE_HEIGHT) } role="img" aria-label=(title) {
                @for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
                    line x1=(PLOT_LEFT) x2=(PLOT_LEFT + plot_w) y1=(format!("{:.1}", py(tick))) y2=(format!("{:.1}", py(tick))) stroke="#ddd" stroke-width="1" {}
                    text x=(PLOT_LEFT - 4.0) y=(format!("{:.1}", py(tick) + 4.0)) text-anchor="end" font-size="10" { (format!("{:.0}%", tick * 100.0)) }
                }
                @for (i, label) in x.iter().enumerate() {
                    text x=(format!("{:.1}", px(i))) y=(PLOT_TOP + plot_h + 14.0) text-anchor="middle" font-size="10" { (label) }
                }
                @for (n, (name, values)) in series.iter().enumerate() {
                    @let colour = COLOURS[n % COLOURS.len()];
                    @for run in runs(values) {
                        @if run.len() == 1 {
                            circle cx=(format!("{:.1}", run[0].0)) cy=(format!("{:.1}", run[0].1)) r="2.5" fill=(colour) {}
                        } @else {
                            polyline fill="none" stroke=(colour) stroke-width="2"
                                points=(run.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ")) {}
                        }
                    }
                    @for (i, v) in values.iter().enumerate() {
                        @if let Some(v) = v {
                            circle cx=(format!("{:.1}", px(i))) cy=(format!("{:.1}", py(*v))) r="2" fill=(colour) {
                                title { (name) " " (x.get(i).map_or("", String::as_str)) ": " (percent(*v)) }
                            }
                        }
                    }
                    rect x=(PLOT_LEFT + n as f64 * 120.0) y=(legend_y - 8.0) width="10" height="10" fill=(colour) {}
                    text x=(PLOT_LEFT + n as f64 * 120.0 + 14.0) y=(legend_y) font-size="11" { (name) }
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

    #[test]
    fn lines_break_where_a_value_is_missing() {
        let x: Vec<String> = (0..5).map(|i| format!("w{i}")).collect();
        let svg = lines(
            "t",
            &x,
            &[
                (
                    "a<",
                    vec![Some(0.5), Some(1.0), None, Some(0.0), Some(0.25)],
                ),
                ("b", vec![None, None, Some(0.5), None, None]),
            ],
        )
        .into_string();
        assert_eq!(svg.matches("<polyline").count(), 2, "two runs of a: {svg}");
        assert!(svg.contains("a&lt;") && !svg.contains("a<"), "{svg}");
        // b's lone value is a dot; points at 0% and 100% lie on the plot's edges.
        assert!(
            svg.contains(&format!(
                "{:.1},{:.1}",
                PLOT_LEFT,
                PLOT_TOP + (LINE_HEIGHT - PLOT_TOP - PLOT_BOTTOM) * 0.5
            )),
            "{svg}"
        );
        assert!(svg.contains("50.0%") && !svg.contains("NaN"), "{svg}");
    }
}
