//! Figures, their targets, and the table and JSON they are reported as.

use serde::Serialize;
use std::time::Duration;

/// Latencies of one kind of call, in the order they were taken.
#[derive(Default, Clone, Debug)]
pub struct Samples(Vec<Duration>);

impl Samples {
    pub fn with_capacity(n: usize) -> Samples {
        Samples(Vec::with_capacity(n))
    }

    pub fn push(&mut self, d: Duration) {
        self.0.push(d);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The `q` quantile by nearest rank (q = 0.5 is the median, 0.99 the p99).
    pub fn quantile(&self, q: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        let rank = (q * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }
}

/// What a figure must reach.
#[derive(Clone, Debug)]
pub enum Target {
    /// Informational: reported, not judged.
    None,
    /// Median latency strictly below this.
    P50Below(Duration),
    /// The value must be at least this.
    AtLeast(f64),
    /// The value must be below this.
    Below(f64),
    /// A ratio that must lie within this fraction of 1 (0.05 = ±5 %).
    RatioWithin(f64),
    /// The item could not be measured.
    Failed,
}

/// One row of the report.
#[derive(Clone, Debug)]
pub struct Figure {
    /// The item number (1-8).
    pub item: u8,
    pub name: String,
    pub samples: usize,
    pub p50: Option<Duration>,
    pub p99: Option<Duration>,
    /// A single measured value (throughput, memory, wall time, ratio) with its unit.
    pub value: Option<(f64, String)>,
    pub target: Target,
    /// Context: wall time, rates, what was measured exactly.
    pub note: String,
}

impl Figure {
    /// A latency figure: p50 and p99 of `samples`.
    pub fn latency(item: u8, name: &str, samples: &Samples, target: Target) -> Figure {
        Figure {
            item,
            name: name.to_string(),
            samples: samples.len(),
            p50: Some(samples.quantile(0.5)),
            p99: Some(samples.quantile(0.99)),
            value: None,
            target,
            note: String::new(),
        }
    }

    /// A single-value figure.
    pub fn value(
        item: u8,
        name: &str,
        samples: usize,
        value: f64,
        unit: &str,
        target: Target,
    ) -> Figure {
        Figure {
            item,
            name: name.to_string(),
            samples,
            p50: None,
            p99: None,
            value: Some((value, unit.to_string())),
            target,
            note: String::new(),
        }
    }

    pub fn note(mut self, note: impl Into<String>) -> Figure {
        self.note = note.into();
        self
    }

    /// Whether the target was met; `None` for an informational figure.
    pub fn met(&self) -> Option<bool> {
        let value = self.value.as_ref().map(|(v, _)| *v);
        match (&self.target, self.p50, value) {
            (Target::None, _, _) => None,
            (Target::Failed, _, _) => Some(false),
            (Target::P50Below(limit), Some(p50), _) => Some(p50 < *limit),
            (Target::AtLeast(min), _, Some(v)) => Some(v >= *min),
            (Target::Below(max), _, Some(v)) => Some(v < *max),
            (Target::RatioWithin(fraction), _, Some(v)) => Some((v - 1.0).abs() <= *fraction),
            _ => Some(false),
        }
    }

    fn unit(&self) -> &str {
        self.value.as_ref().map(|(_, u)| u.as_str()).unwrap_or("")
    }

    pub fn target_text(&self) -> String {
        match &self.target {
            Target::None => "(report)".to_string(),
            Target::P50Below(limit) => format!("p50 < {}", format_duration(*limit)),
            Target::AtLeast(min) => format!(">= {} {}", format_number(*min), self.unit()),
            Target::Below(max) => format!("< {} {}", format_number(*max), self.unit()),
            Target::RatioWithin(fraction) => format!("1 +/- {:.0}%", fraction * 100.0),
            Target::Failed => "(not measured)".to_string(),
        }
    }

    pub fn met_text(&self) -> &'static str {
        match self.met() {
            None => "-",
            Some(true) => "yes",
            Some(false) => "NO",
        }
    }

    pub fn p50_text(&self) -> String {
        self.p50.map(format_duration).unwrap_or_default()
    }

    pub fn p99_or_value_text(&self) -> String {
        match (&self.value, self.p99) {
            (Some((v, unit)), _) => format!("{} {unit}", format_number(*v)),
            (None, Some(p99)) => format_duration(p99),
            (None, None) => String::new(),
        }
    }

    pub fn to_json(&self) -> FigureJson {
        FigureJson {
            item: self.item,
            figure: self.name.clone(),
            samples: self.samples,
            p50_ms: self.p50.map(|d| d.as_secs_f64() * 1e3),
            p99_ms: self.p99.map(|d| d.as_secs_f64() * 1e3),
            value: self.value.as_ref().map(|(v, _)| *v),
            unit: self.value.as_ref().map(|(_, u)| u.clone()),
            target: self.target_text(),
            met: self.met(),
            note: self.note.clone(),
        }
    }
}

#[derive(Serialize)]
pub struct FigureJson {
    pub item: u8,
    pub figure: String,
    pub samples: usize,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub value: Option<f64>,
    pub unit: Option<String>,
    pub target: String,
    pub met: Option<bool>,
    pub note: String,
}

pub fn format_duration(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1_000.0 {
        format!("{us:.0} us")
    } else if us < 1_000_000.0 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

pub fn format_number(v: f64) -> String {
    if v == 0.0 {
        "0".to_string()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The figures as an aligned text table (also valid Markdown).
pub fn table(figures: &[Figure]) -> String {
    let header = [
        "#",
        "figure",
        "samples",
        "p50",
        "p99 / value",
        "target",
        "met",
    ];
    let rows: Vec<[String; 7]> = figures
        .iter()
        .map(|f| {
            [
                f.item.to_string(),
                f.name.clone(),
                f.samples.to_string(),
                f.p50_text(),
                f.p99_or_value_text(),
                f.target_text(),
                f.met_text().to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(&header.map(String::from));
    out.push_str(&line(&widths.map(|w| "-".repeat(w))));
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}

/// The notes of the figures that have one, numbered like the table.
pub fn notes(figures: &[Figure]) -> String {
    figures
        .iter()
        .filter(|f| !f.note.is_empty())
        .map(|f| format!("- {} {}: {}\n", f.item, f.name, f.note))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let mut s = Samples::default();
        for i in 1..=100 {
            s.push(ms(i));
        }
        assert_eq!(s.quantile(0.5), ms(50));
        assert_eq!(s.quantile(0.99), ms(99));
        assert_eq!(s.quantile(1.0), ms(100));
        let mut one = Samples::default();
        one.push(ms(7));
        assert_eq!(one.quantile(0.5), ms(7));
        assert_eq!(one.quantile(0.99), ms(7));
        assert_eq!(Samples::default().quantile(0.5), Duration::ZERO);
    }

    #[test]
    fn targets_are_judged_on_the_right_quantity() {
        let mut s = Samples::default();
        s.push(ms(1));
        s.push(ms(3));
        let fast = Figure::latency(1, "x", &s, Target::P50Below(ms(2)));
        assert_eq!(fast.met(), Some(true));
        let slow = Figure::latency(1, "x", &s, Target::P50Below(ms(1)));
        assert_eq!(slow.met(), Some(false), "the limit is strict");
        let v = |value, target| Figure::value(1, "x", 1, value, "u", target).met();
        assert_eq!(v(500.0, Target::AtLeast(500.0)), Some(true));
        assert_eq!(v(499.0, Target::AtLeast(500.0)), Some(false));
        assert_eq!(v(8.0, Target::Below(8.0)), Some(false));
        assert_eq!(v(1.04, Target::RatioWithin(0.05)), Some(true));
        assert_eq!(v(0.94, Target::RatioWithin(0.05)), Some(false));
        assert_eq!(v(3.0, Target::None), None);
        // A value target on a figure without a value cannot be met.
        let missing = Figure::latency(1, "x", &s, Target::AtLeast(1.0));
        assert_eq!(missing.met(), Some(false));
    }

    #[test]
    fn the_table_aligns_every_row() {
        let mut s = Samples::default();
        s.push(ms(2));
        let figures = vec![
            Figure::latency(1, "CreateVolume", &s, Target::P50Below(ms(2))),
            Figure::value(3, "node RSS idle", 1, 6.5, "MiB", Target::Below(8.0)),
        ];
        let text = table(&figures);
        let lens: Vec<usize> = text.lines().map(|l| l.chars().count()).collect();
        assert_eq!(lens.len(), 4);
        assert!(lens.iter().all(|l| *l == lens[0]), "{text}");
        assert!(text.contains("| NO "), "{text}");
        assert!(text.contains("6.50 MiB"), "{text}");
        assert!(text.contains("< 8.00 MiB"), "{text}");
    }
}
