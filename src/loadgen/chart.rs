//! The SVG chart of a run (`--plot FILE.svg`): segment → Analysis latency
//! percentiles over time (p50, p90, p99 per second, with live calls), and
//! the latency histogram of the whole run. Hand-written SVG: no plotting
//! dependency, opens in any browser.

use super::stats::Report;
use std::fmt::Write;

const WIDTH: f64 = 900.0;
const PANEL: f64 = 260.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 70.0;

/// The chart as SVG text.
pub fn svg(report: &Report) -> String {
    let mut s = String::new();
    let height = 2.0 * PANEL + 130.0;
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let st = &report.settings;
    let a = &report.analysis_latency_us;
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="18" font-size="14" font-weight="bold">callassist loadgen: {} calls, {} profile, {:.0} s, {:.0} finals/s</text>"#,
        st.calls, st.profile, report.elapsed_s, report.finals_per_s
    );
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="36">segment → Analysis: p50 {} µs, p99 {} µs, max {} µs; errors {}</text>"#,
        a.p50,
        a.p99,
        a.max,
        report.errors.values().sum::<u64>()
    );
    timeline(&mut s, report, 50.0);
    histogram(&mut s, report, 50.0 + PANEL + 60.0);
    s.push_str("</svg>\n");
    s
}

/// Latency percentiles per second (left axis, ms) and live calls (right).
fn timeline(s: &mut String, report: &Report, top: f64) {
    let ticks = &report.timeline;
    let plot_w = WIDTH - LEFT - RIGHT;
    let t_max = ticks.last().map_or(1.0, |t| t.t).max(1.0);
    let y_max = ticks
        .iter()
        .map(|t| t.analysis.p99)
        .max()
        .unwrap_or(1)
        .max(1) as f64
        * 1.1;
    let calls_max = ticks.iter().map(|t| t.live_calls).max().unwrap_or(1).max(1) as f64;
    axes(s, top, "time (s)", "latency (ms)");
    let x = |t: f64| LEFT + t / t_max * plot_w;
    let y = |v: f64, max: f64| top + PANEL - v / max * PANEL;
    for (pick, color, name) in [
        (0usize, "#2b8a3e", "p50"),
        (1, "#e67700", "p90"),
        (2, "#c92a2a", "p99"),
    ] {
        let points: Vec<String> = ticks
            .iter()
            .filter(|t| t.analysis.count > 0)
            .map(|t| {
                let v = [t.analysis.p50, t.analysis.p90, t.analysis.p99][pick] as f64;
                format!("{:.1},{:.1}", x(t.t), y(v, y_max))
            })
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{}"/>"#,
            points.join(" ")
        );
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" fill="{color}">{name}</text>"#,
            LEFT + 10.0 + 40.0 * pick as f64,
            top + 14.0
        );
    }
    let calls: Vec<String> = ticks
        .iter()
        .map(|t| format!("{:.1},{:.1}", x(t.t), y(t.live_calls as f64, calls_max)))
        .collect();
    let _ = writeln!(
        s,
        r##"<polyline fill="none" stroke="#868e96" stroke-dasharray="4 3" points="{}"/>"##,
        calls.join(" ")
    );
    let _ = writeln!(
        s,
        r##"<text x="{}" y="{}" fill="#868e96">live calls (max {calls_max:.0})</text>"##,
        LEFT + 140.0,
        top + 14.0
    );
    for i in 0..=4 {
        let v = y_max * i as f64 / 4.0;
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{:.2}</text>"#,
            LEFT - 6.0,
            y(v, y_max) + 4.0,
            v / 1000.0
        );
        let t = t_max * i as f64 / 4.0;
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{t:.0}</text>"#,
            x(t),
            top + PANEL + 16.0
        );
    }
}

/// The run's latency histogram: one bar per 1-2-5 bucket.
fn histogram(s: &mut String, report: &Report, top: f64) {
    let buckets = &report.analysis_histogram_us;
    axes(
        s,
        top,
        "segment → Analysis latency (bucket upper bound)",
        "segments",
    );
    if buckets.is_empty() {
        return;
    }
    let plot_w = WIDTH - LEFT - RIGHT;
    let bar_w = plot_w / buckets.len() as f64;
    let max = buckets.iter().map(|b| b.1).max().unwrap_or(1).max(1) as f64;
    for (i, (bound, count)) in buckets.iter().enumerate() {
        let h = *count as f64 / max * PANEL;
        let x = LEFT + i as f64 * bar_w;
        let _ = writeln!(
            s,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="#4263eb"><title>≤ {bound} µs: {count}</title></rect>"##,
            x + 1.0,
            top + PANEL - h,
            (bar_w - 2.0).max(1.0)
        );
        let label = if *bound >= 1000 {
            format!("{}ms", *bound as f64 / 1000.0)
        } else {
            format!("{bound}µs")
        };
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{}" text-anchor="middle" font-size="10">{label}</text>"#,
            x + bar_w / 2.0,
            top + PANEL + 14.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="end">{max:.0}</text>"#,
        LEFT - 6.0,
        top + 10.0
    );
}

fn axes(s: &mut String, top: f64, x_label: &str, y_label: &str) {
    let bottom = top + PANEL;
    let _ = writeln!(
        s,
        r##"<path d="M{LEFT},{top} V{bottom} H{}" fill="none" stroke="#343a40"/>"##,
        WIDTH - RIGHT
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">{x_label}</text>"#,
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        bottom + 32.0
    );
    let _ = writeln!(
        s,
        r#"<text x="16" y="{}" transform="rotate(-90 16 {})" text-anchor="middle">{y_label}</text>"#,
        top + PANEL / 2.0,
        top + PANEL / 2.0
    );
}
