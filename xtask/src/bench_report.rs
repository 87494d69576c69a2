//! `cargo xtask bench-report`: the ratios of `cargo bench --bench sdk` against their targets, as
//! the Markdown table the README's "Performance" section holds. Read from criterion's estimates
//! (`target/criterion/<group>/<bench>/new/estimates.json`): the median, and its 95 % confidence
//! interval, which gives the min–max of each ratio.

use std::path::Path;

use crate::error::XtaskError;

/// One comparison: SDK vs. raw.
struct Row {
    what: &'static str,
    sdk: &'static str,
    raw: &'static str,
    /// Lower is better (time ratio) or higher is better (throughput ratio).
    throughput: bool,
    target: Option<f64>,
}

const ROWS: &[Row] = &[
    Row {
        what: "Per-call overhead: `get_appointment` vs raw reqwest GET + serde (median time)",
        sdk: "per_call/sdk",
        raw: "per_call/raw",
        throughput: false,
        target: Some(1.05),
    },
    Row {
        what: "Per-call overhead with options (timeout, a header) vs raw reqwest (median time)",
        sdk: "per_call/sdk_options",
        raw: "per_call/raw",
        throughput: false,
        target: Some(1.05),
    },
    Row {
        what: "Per-call overhead with a no-op middleware vs raw reqwest (median time)",
        sdk: "per_call/sdk_middleware",
        raw: "per_call/raw",
        throughput: false,
        target: Some(1.05),
    },
    Row {
        what: "A call through the practice directory vs a plain client (median time)",
        sdk: "practices/directory",
        raw: "practices/plain",
        throughput: false,
        target: Some(1.05),
    },
    Row {
        what: "1,000 concurrent calls on one client (throughput)",
        sdk: "concurrency/sdk/1000",
        raw: "concurrency/raw/1000",
        throughput: true,
        target: Some(0.95),
    },
    Row {
        what: "Decode 10,000 slots vs minimal structs (time)",
        sdk: "decode/slots_sdk",
        raw: "decode/slots_raw",
        throughput: false,
        target: Some(1.2),
    },
    Row {
        what: "Decode 10,000 patients vs minimal structs (time)",
        sdk: "decode/patients_sdk",
        raw: "decode/patients_raw",
        throughput: false,
        target: Some(1.2),
    },
    Row { what: "`book()` vs the same two raw requests (time)", sdk: "booking/sdk", raw: "booking/raw", throughput: false, target: None },
    Row {
        what: "`book()` with the in-memory journal vs without (time)",
        sdk: "booking/sdk_journal",
        raw: "booking/sdk",
        throughput: false,
        target: Some(1.05),
    },
];

/// Median and its confidence interval, in nanoseconds.
fn median(dir: &Path, bench: &str) -> Result<(f64, f64, f64), XtaskError> {
    let path = dir.join(bench).join("new/estimates.json");
    let text =
        std::fs::read_to_string(&path).map_err(|e| XtaskError::io("read", &path, format!("{e}; run `cargo bench --bench sdk` first")))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| XtaskError::io("read", &path, e))?;
    let m = &json["median"];
    let get = |v: &serde_json::Value| v.as_f64().ok_or_else(|| XtaskError::io("read", &path, "no median estimate"));
    Ok((get(&m["point_estimate"])?, get(&m["confidence_interval"]["lower_bound"])?, get(&m["confidence_interval"]["upper_bound"])?))
}

/// The report for the criterion directory `dir` (usually `target/criterion`).
pub fn render(dir: &Path) -> Result<String, XtaskError> {
    let mut out = String::from("| Measure | Ratio (SDK / raw) | Range (95 % CI) | Target | Met |\n|---|---|---|---|---|\n");
    for row in ROWS {
        let (sdk, sdk_lo, sdk_hi) = median(dir, row.sdk)?;
        let (raw, raw_lo, raw_hi) = median(dir, row.raw)?;
        // Throughput is the inverse of time: raw time / SDK time.
        let (ratio, lo, hi) =
            if row.throughput { (raw / sdk, raw_lo / sdk_hi, raw_hi / sdk_lo) } else { (sdk / raw, sdk_lo / raw_hi, sdk_hi / raw_lo) };
        let (target, met) = match row.target {
            Some(t) if row.throughput => (format!("≥ {t:.2}"), if ratio >= t { "yes" } else { "no" }),
            Some(t) => (format!("≤ {t:.2}"), if ratio <= t { "yes" } else { "no" }),
            None => ("report".to_owned(), "—"),
        };
        out.push_str(&format!("| {} | {ratio:.3} | {lo:.3}–{hi:.3} | {target} | {met} |\n", row.what));
    }
    Ok(out)
}
