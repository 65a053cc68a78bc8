//! Chart arithmetic for the usage page: daily series with the empty days filled in, per-workflow
//! shares with a top-N cut, "nice" axis scales, and the SVG geometry (bar rectangles, a line
//! path). Components only draw what these functions return.

use std::collections::HashMap;

use aos_schema::WorkflowId;

use aos_api::{DailyUsage, UsageTotals, WorkflowUsage};

/// Which number of a [`UsageTotals`] a chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Runs,
    Steps,
    CostMicros,
}

impl Metric {
    pub const ALL: [Metric; 3] = [Metric::Runs, Metric::Steps, Metric::CostMicros];

    pub fn pick(self, totals: &UsageTotals) -> i64 {
        match self {
            Metric::Runs => totals.runs,
            Metric::Steps => totals.steps,
            Metric::CostMicros => totals.cost_micros,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Metric::Runs => "Runs",
            Metric::Steps => "Steps",
            Metric::CostMicros => "Cost",
        }
    }

    /// A stable word for test ids and CSS.
    pub fn key(self) -> &'static str {
        match self {
            Metric::Runs => "runs",
            Metric::Steps => "steps",
            Metric::CostMicros => "cost",
        }
    }

    /// A value of this metric as text (cost to the micro: a day's or a workflow's cost is often
    /// below a cent and would otherwise read `$0.00`).
    pub fn format(self, value: i64) -> String {
        match self {
            Metric::CostMicros => crate::money::format_micros(value),
            _ => crate::money::group_thousands(value.max(0).unsigned_abs()),
        }
    }
}

/// One labelled value of a chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    pub label: String,
    pub value: i64,
}

/// The metric for every day of `days` (in that order), zero for days without usage.
pub fn daily_series(by_day: &[DailyUsage], days: &[String], metric: Metric) -> Vec<Point> {
    let known: HashMap<&str, i64> = by_day.iter().map(|d| (d.day.as_str(), metric.pick(&d.totals))).collect();
    days.iter().map(|day| Point { label: day.clone(), value: known.get(day.as_str()).copied().unwrap_or(0) }).collect()
}

/// The `top` workflows by the metric (largest first, then by name), the rest summed as "Other".
/// Names come from `names`; a workflow that is gone shows its id's first characters.
pub fn workflow_series(
    by_workflow: &[WorkflowUsage],
    names: &HashMap<WorkflowId, String>,
    metric: Metric,
    top: usize,
) -> Vec<Point> {
    let mut points: Vec<Point> = by_workflow
        .iter()
        .map(|w| Point {
            label: names.get(&w.workflow_id).cloned().unwrap_or_else(|| {
                let id = w.workflow_id.to_string();
                format!("deleted {}", &id[..8.min(id.len())])
            }),
            value: metric.pick(&w.totals),
        })
        .collect();
    points.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.label.cmp(&b.label)));
    if points.len() > top {
        let rest: i64 = points[top..].iter().map(|p| p.value).sum();
        points.truncate(top);
        points.push(Point { label: "Other".into(), value: rest });
    }
    points
}

/// The smallest 1, 2 or 5 × 10ⁿ at or above `value` (at least 1), so axes end on round numbers.
pub fn nice_max(value: i64) -> i64 {
    if value <= 1 {
        return 1;
    }
    let mut step: i64 = 1;
    loop {
        for factor in [1, 2, 5] {
            match step.checked_mul(factor) {
                Some(candidate) if candidate >= value => return candidate,
                None => return i64::MAX,
                _ => {}
            }
        }
        step = match step.checked_mul(10) {
            Some(next) => next,
            None => return i64::MAX,
        };
    }
}

/// The size of a chart's drawing area and its margins, in SVG user units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub width: f64,
    pub height: f64,
    /// Room on the left for the axis labels.
    pub left: f64,
    /// Room at the bottom for the day labels.
    pub bottom: f64,
}

impl Frame {
    pub const USAGE: Frame = Frame { width: 640.0, height: 200.0, left: 56.0, bottom: 24.0 };

    fn plot_width(&self) -> f64 {
        (self.width - self.left).max(1.0)
    }

    fn plot_height(&self) -> f64 {
        (self.height - self.bottom).max(1.0)
    }
}

/// One bar, ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub label: String,
    pub value: i64,
}

/// A horizontal grid line with its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub y: f64,
    pub value: i64,
}

/// A bar chart: the bars, the axis ticks and the scale's top value.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    pub bars: Vec<Bar>,
    pub ticks: Vec<Tick>,
    pub max: i64,
}

/// Lays `points` out as bars in `frame`, scaled to a nice maximum, with `tick_count` grid lines.
pub fn bar_chart(points: &[Point], frame: Frame, tick_count: u32) -> BarChart {
    let max = nice_max(points.iter().map(|p| p.value).max().unwrap_or(0));
    let slot = frame.plot_width() / points.len().max(1) as f64;
    let gap = (slot * 0.2).min(8.0);
    let scale = frame.plot_height() / max as f64;
    let bars = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let height = p.value.max(0) as f64 * scale;
            Bar {
                x: frame.left + i as f64 * slot + gap / 2.0,
                y: frame.plot_height() - height,
                width: (slot - gap).max(1.0),
                height,
                label: p.label.clone(),
                value: p.value,
            }
        })
        .collect();
    let tick_count = tick_count.max(1);
    let ticks = (0..=tick_count)
        .map(|i| {
            let value = (i128::from(max) * i128::from(i) / i128::from(tick_count)) as i64;
            Tick { y: frame.plot_height() - value as f64 * scale, value }
        })
        .collect();
    BarChart { bars, ticks, max }
}

/// An SVG path through `points` (left to right, evenly spaced) in `frame`, scaled to `max`.
pub fn line_path(points: &[Point], frame: Frame, max: i64) -> String {
    let max = max.max(1) as f64;
    let step = if points.len() > 1 { frame.plot_width() / (points.len() - 1) as f64 } else { 0.0 };
    let mut path = String::new();
    for (i, p) in points.iter().enumerate() {
        let x = frame.left + i as f64 * step;
        let y = frame.plot_height() - p.value.max(0) as f64 / max * frame.plot_height();
        path.push_str(&format!("{}{x:.1} {y:.1}", if i == 0 { "M" } else { " L" }));
    }
    path
}

/// The short label of a day key under its bar (`11-25`).
pub fn short_day(day: &str) -> &str {
    day.get(5..).unwrap_or(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(runs: i64, cost: i64) -> UsageTotals {
        UsageTotals { runs, steps: runs * 3, compute_ms: 0, bytes: 0, cost_micros: cost }
    }

    #[test]
    fn empty_days_are_zero() {
        let by_day = vec![
            DailyUsage { day: "2026-11-24".into(), totals: totals(2, 10) },
            DailyUsage { day: "2026-11-26".into(), totals: totals(5, 30) },
        ];
        let days: Vec<String> = ["2026-11-24", "2026-11-25", "2026-11-26"].map(String::from).to_vec();
        let series = daily_series(&by_day, &days, Metric::Steps);
        assert_eq!(series.iter().map(|p| p.value).collect::<Vec<_>>(), vec![6, 0, 15]);
        assert_eq!(series[1].label, "2026-11-25");
    }

    #[test]
    fn top_workflows_and_the_rest() {
        let ids: Vec<WorkflowId> = (0..4).map(|_| WorkflowId::new()).collect();
        let by_workflow: Vec<WorkflowUsage> = ids
            .iter()
            .zip([5, 50, 20, 7])
            .map(|(id, cost)| WorkflowUsage { workflow_id: *id, totals: totals(1, cost) })
            .collect();
        let names: HashMap<WorkflowId, String> =
            ids.iter().take(3).enumerate().map(|(i, id)| (*id, format!("wf{i}"))).collect();
        let series = workflow_series(&by_workflow, &names, Metric::CostMicros, 2);
        let labels: Vec<&str> = series.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, vec!["wf1", "wf2", "Other"]);
        assert_eq!(series[2].value, 12);
        let all = workflow_series(&by_workflow, &names, Metric::CostMicros, 10);
        assert!(all[2].label.starts_with("deleted "), "{all:?}");
        assert_eq!(all.iter().map(|p| p.value).sum::<i64>(), 82);
    }

    #[test]
    fn nice_maxima() {
        assert_eq!(nice_max(-3), 1);
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(2), 2);
        assert_eq!(nice_max(3), 5);
        assert_eq!(nice_max(7), 10);
        assert_eq!(nice_max(11), 20);
        assert_eq!(nice_max(200), 200);
        assert_eq!(nice_max(201), 500);
        assert_eq!(nice_max(1_234_567), 2_000_000);
        assert_eq!(nice_max(i64::MAX), i64::MAX);
    }

    #[test]
    fn bars_fill_the_frame_to_scale() {
        let points = vec![Point { label: "a".into(), value: 5 }, Point { label: "b".into(), value: 10 }];
        let frame = Frame { width: 220.0, height: 120.0, left: 20.0, bottom: 20.0 };
        let chart = bar_chart(&points, frame, 2);
        assert_eq!(chart.max, 10);
        assert_eq!(chart.bars[1].height, 100.0);
        assert_eq!(chart.bars[1].y, 0.0);
        assert_eq!(chart.bars[0].height, 50.0);
        assert!(chart.bars[0].x >= 20.0 && chart.bars[1].x + chart.bars[1].width <= 220.0);
        assert_eq!(chart.ticks.iter().map(|t| t.value).collect::<Vec<_>>(), vec![0, 5, 10]);
        assert_eq!(chart.ticks[2].y, 0.0);
        let empty = bar_chart(&[], frame, 4);
        assert!(empty.bars.is_empty());
        assert_eq!(empty.max, 1);
    }

    #[test]
    fn a_line_through_the_points() {
        let points: Vec<Point> = [0, 5, 10].iter().map(|v| Point { label: String::new(), value: *v }).collect();
        let frame = Frame { width: 100.0, height: 60.0, left: 0.0, bottom: 10.0 };
        assert_eq!(line_path(&points, frame, 10), "M0.0 50.0 L50.0 25.0 L100.0 0.0");
        assert_eq!(line_path(&[], frame, 10), "");
        assert_eq!(short_day("2026-11-25"), "11-25");
        assert_eq!(Metric::CostMicros.format(1_200), "$0.0012");
        assert_eq!(Metric::Steps.format(12_000), "12,000");
    }
}
