//! Charts in the report: grouped bars as inline SVG for the HTML form and a table for the
//! Markdown one.
//!
//! Hand-written: a static grouped bar chart is a few rectangles and labels, while a plotting
//! library (plotters) would bring a font stack into the host for it; the SVG needs no script
//! and survives being mailed like the rest of the report.

use std::fmt::Write as _;

use super::model::ChartReport;
use crate::escape::{html as esc, markdown as cell};

/// Bar colours, one per series (at most 8 series per chart).
const COLOURS: [&str; 8] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f",
];
/// Pixels: each bar's width, the gap between groups, the plot's height, the left margin for
/// the scale and the bottom margin for the labels.
const BAR: f64 = 14.0;
const GAP: f64 = 12.0;
const HEIGHT: f64 = 180.0;
const LEFT: f64 = 60.0;
const BOTTOM: f64 = 70.0;

/// A number short enough for an axis or a cell.
fn short(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// The chart as an inline SVG with its title and legend.
pub fn svg(c: &ChartReport) -> String {
    let chart = &c.chart;
    let n = chart.series.len() as f64;
    let group = n * BAR + GAP;
    let width = LEFT + group * chart.labels.len() as f64 + GAP;
    let max = chart
        .series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0_f64, f64::max);
    // An all-zero chart still draws: its bars are flat, its scale 0 to 1.
    let top = if max > 0.0 { max } else { 1.0 };
    let mut s = String::new();
    let _ = write!(
        s,
        "<figure><figcaption>{} — {} ({})</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" \
         width=\"{w:.0}\" height=\"{h:.0}\" role=\"img\"><line x1=\"{LEFT}\" y1=\"{HEIGHT}\" \
         x2=\"{w:.0}\" y2=\"{HEIGHT}\" stroke=\"#888\"/><text x=\"{x:.0}\" y=\"12\" \
         text-anchor=\"end\" font-size=\"11\">{}</text><text x=\"{x:.0}\" y=\"{HEIGHT}\" \
         text-anchor=\"end\" font-size=\"11\">0</text>",
        esc(&c.database),
        esc(&chart.title),
        esc(&chart.unit),
        esc(&short(top)),
        w = width,
        h = HEIGHT + BOTTOM,
        x = LEFT - 4.0,
    );
    for (i, label) in chart.labels.iter().enumerate() {
        let x0 = LEFT + GAP + group * i as f64;
        for (k, series) in chart.series.iter().enumerate() {
            let v = series.values.get(i).copied().unwrap_or(0.0).max(0.0);
            let h = (v / top * (HEIGHT - 16.0)).max(0.0);
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{BAR}\" height=\"{h:.1}\" fill=\"{}\">\
                 <title>{}: {} {}</title></rect>",
                x0 + BAR * k as f64,
                HEIGHT - h,
                COLOURS[k % COLOURS.len()],
                esc(&format!("{label} {}", series.name)),
                esc(&short(v)),
                esc(&chart.unit),
            );
        }
        let _ = write!(
            s,
            "<text transform=\"translate({:.1},{:.1}) rotate(-40)\" text-anchor=\"end\" \
             font-size=\"10\">{}</text>",
            x0 + n * BAR / 2.0,
            HEIGHT + 12.0,
            esc(label),
        );
    }
    s.push_str("</svg><div>");
    for (k, series) in chart.series.iter().enumerate() {
        let _ = write!(
            s,
            "<span style=\"color:{}\">■</span> {} ",
            COLOURS[k % COLOURS.len()],
            esc(&series.name)
        );
    }
    s.push_str("</div></figure>");
    s
}

/// The chart as a Markdown table: one row per label, one column per series.
pub fn table(c: &ChartReport) -> String {
    let chart = &c.chart;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "### {} — {} ({})\n",
        cell(&c.database),
        cell(&chart.title),
        cell(&chart.unit)
    );
    let names: Vec<String> = chart.series.iter().map(|x| cell(&x.name)).collect();
    let _ = writeln!(s, "| | {} |", names.join(" | "));
    let _ = writeln!(s, "|---|{}", "---|".repeat(names.len()));
    for (i, label) in chart.labels.iter().enumerate() {
        let values: Vec<String> = chart
            .series
            .iter()
            .map(|x| x.values.get(i).map_or(String::new(), |v| short(*v)))
            .collect();
        let _ = writeln!(s, "| {} | {} |", cell(label), values.join(" | "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Chart, ChartSeries};

    fn report() -> ChartReport {
        ChartReport {
            database: "Sales".into(),
            step: "baseline".into(),
            chart: Chart {
                title: "Average CPU <per query>".into(),
                unit: "ms".into(),
                labels: vec!["0xAB".into(), "0xCD".into()],
                series: vec![
                    ChartSeries {
                        name: "before".into(),
                        values: vec![10.0, 2.5],
                    },
                    ChartSeries {
                        name: "after".into(),
                        values: vec![20.0, 2.0],
                    },
                ],
            },
        }
    }

    #[test]
    fn bars_are_scaled_to_the_largest_value_and_text_is_escaped() {
        let s = svg(&report());
        assert_eq!(s.matches("<rect").count(), 4, "{s}");
        // The largest value (20) fills the plot's height less its headroom.
        assert!(
            s.contains(&format!("height=\"{:.1}\"", HEIGHT - 16.0)),
            "{s}"
        );
        assert!(
            s.contains("&lt;per query&gt;") && !s.contains("<per query>"),
            "{s}"
        );
        assert!(s.contains("0xAB after: 20 ms"), "{s}");
    }

    #[test]
    fn the_markdown_form_is_a_table_with_a_column_per_series() {
        let t = table(&report());
        assert!(t.contains("| | before | after |"), "{t}");
        assert!(t.contains("| 0xCD | 2.50 | 2 |"), "{t}");
    }
}
