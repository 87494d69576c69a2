//! The benchmark report reads criterion's estimates and compares each ratio with its target.

use std::path::Path;

fn estimate(dir: &Path, bench: &str, median: f64) {
    let path = dir.join(bench).join("new");
    std::fs::create_dir_all(&path).unwrap();
    let json = serde_json::json!({"median": {"point_estimate": median, "confidence_interval": {"lower_bound": median * 0.9, "upper_bound": median * 1.1}}});
    std::fs::write(path.join("estimates.json"), json.to_string()).unwrap();
}

#[test]
fn ratios_are_computed_and_checked_against_targets() {
    let dir = tempfile::tempdir().unwrap();
    for (bench, median) in [
        ("per_call/sdk", 104.0),
        ("per_call/raw", 100.0),
        ("concurrency/sdk/1000", 200.0),
        ("concurrency/raw/1000", 180.0),
        ("decode/slots_sdk", 110.0),
        ("decode/slots_raw", 100.0),
        ("decode/patients_sdk", 130.0),
        ("decode/patients_raw", 100.0),
        ("booking/sdk", 300.0),
        ("booking/raw", 290.0),
        ("booking/sdk_journal", 309.0),
        ("per_call/sdk_options", 103.0),
        ("per_call/sdk_middleware", 101.0),
        ("practices/directory", 102.0),
        ("practices/plain", 100.0),
    ] {
        estimate(dir.path(), bench, median);
    }
    let report = xtask::bench_report::render(dir.path()).unwrap();
    assert!(report.contains("| 1.040 | 0.851–1.271 | ≤ 1.05 | yes |"), "{report}");
    assert!(report.contains("(throughput) | 0.900 |"), "throughput is raw time / SDK time: {report}");
    assert!(report.contains("≥ 0.95 | no |"), "{report}");
    assert!(report.contains("patients vs minimal structs (time) | 1.300 |") && report.contains("≤ 1.20 | no |"), "{report}");
    assert!(report.contains("| report | — |"), "{report}");
    assert!(report.contains("journal vs without (time) | 1.030 |"), "the journal row is against the SDK without it: {report}");
    assert!(
        report.contains("directory vs a plain client (median time) | 1.020 |"),
        "the directory row is against a plain client: {report}"
    );
    assert!(report.contains("no-op middleware vs raw reqwest (median time) | 1.010 |"), "{report}");
}

#[test]
fn missing_results_say_to_run_the_benchmark() {
    let dir = tempfile::tempdir().unwrap();
    let error = xtask::bench_report::render(dir.path()).unwrap_err().to_string();
    assert!(error.contains("run `cargo bench --bench sdk` first"), "{error}");
}
