#!/usr/bin/env bash
# Build cost of depending on hero-health, against the floor: the same tiny binary depending only
# on reqwest + serde + tokio with the same features; and against the limit of our design: a tiny
# crate whose build.rs runs raw progenitor (`Generator::default().generate_tokens`, no formatting,
# none of our passes) on the same effective document, so the row says what our generator and
# layer add to progenitor itself. Each clean build gets a fresh target dir; the
# two are run alternately RUNS times (default 3) so machine noise hits both. Then the no-op
# rebuild (build.rs must not rerun) and the rebuild after touching the OpenAPI document.
#
#   scripts/build-cost.sh            # prints a Markdown table; RUNS=5 for more samples
#   FEATURES=schemars scripts/build-cost.sh   # also a row for hero-health with those features
#   FEATURES=rustls-ring NO_DEFAULT_FEATURES=1 scripts/build-cost.sh   # another TLS backend
#   BASE=<git rev> scripts/build-cost.sh   # also a row for hero-health at that revision, built in
#                                          # the same alternation: a lever's effect beyond noise
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
runs="${RUNS:-3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/hero-build-cost.XXXXXX")"
trap 'rm -rf "$work"' EXIT
unset CARGO_TARGET_DIR

common='serde = { version = "1", features = ["derive"] }
serde_json = "1"
tokio = { version = "1", features = ["rt-multi-thread", "macros"] }'

make_crate() { # name, extra dependencies, main.rs
  mkdir -p "$work/$1/src"
  printf '[package]\nname = "%s"\nversion = "0.0.0"\nedition = "2024"\n\n[dependencies]\n%s\n%s\n' "$1" "$common" "$2" >"$work/$1/Cargo.toml"
  printf '%s\n' "$3" >"$work/$1/src/main.rs"
  cp "$repo/Cargo.lock" "$work/$1/Cargo.lock" # same versions as the crate itself
}

make_crate floor \
  'reqwest = { version = "0.13.5", default-features = false, features = ["json", "query", "stream", "rustls", "http2"] }
chrono = { version = "0.4", features = ["serde"] }' \
  'fn main() { let _ = reqwest::Client::new(); }'
make_crate downstream \
  "hero-health = { path = \"$repo\" }" \
  'fn main() { let _ = hero_health::Client::builder(); }'

# Raw progenitor: the generated code's own dependencies (progenitor-client, and what its types
# use: chrono for date-times, regress for patterns), the generator as a build-dependency.
make_crate rawgen \
  'progenitor-client = "0.15.1"
reqwest = { version = "0.13.5", default-features = false, features = ["json", "query", "stream", "rustls", "http2"] }
chrono = { version = "0.4", features = ["serde"] }
regress = "0.12"
futures-core = "0.3"

[build-dependencies]
progenitor = { version = "0.15.1", default-features = false }
openapiv3 = "2.2"
yaml_serde = "0.10"' \
  '#![allow(warnings)]
include!(concat!(env!("OUT_DIR"), "/raw.rs"));
fn main() { let _ = Client::new("http://localhost"); }'
cp "$repo/openapi/hero-public-api.yaml" "$work/rawgen/openapi.yaml"
cat >"$work/rawgen/build.rs" <<'RS'
fn main() {
    println!("cargo::rerun-if-changed=openapi.yaml");
    let spec: openapiv3::OpenAPI = yaml_serde::from_str(&std::fs::read_to_string("openapi.yaml").unwrap()).unwrap();
    let tokens = progenitor::Generator::default().generate_tokens(&spec).unwrap();
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("raw.rs");
    std::fs::write(out, tokens.to_string()).unwrap();
}
RS

if [ -n "${BASE:-}" ]; then
  mkdir -p "$work/base-repo"
  git -C "$repo" archive "$BASE" | tar -x -C "$work/base-repo"
  make_crate baseline \
    "hero-health = { path = \"$work/base-repo\" }" \
    'fn main() { let _ = hero_health::Client::builder(); }'
fi

features="${FEATURES:-}"
if [ -n "$features" ]; then
  quoted=$(printf '"%s",' $(echo "$features" | tr ',' ' ') | sed 's/,$//')
  defaults=$([ -n "${NO_DEFAULT_FEATURES:-}" ] && echo ', default-features = false' || true)
  make_crate featured \
    "hero-health = { path = \"$repo\", features = [$quoted]$defaults }" \
    'fn main() { let _ = hero_health::Client::builder(); }'
fi

# A build that fails is an error, never a (short) time: `set -e` stops the script.
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || { echo "error: \`$*\` failed" >&2; return 1; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }'
}
clean_build() { rm -rf "$work/$1/target"; seconds cargo build --quiet --manifest-path "$work/$1/Cargo.toml"; }

# Fetch everything first so downloads are not timed.
cargo fetch --quiet --manifest-path "$work/floor/Cargo.toml"
cargo fetch --quiet --manifest-path "$work/downstream/Cargo.toml"
cargo fetch --quiet --manifest-path "$work/rawgen/Cargo.toml"
[ -z "$features" ] || cargo fetch --quiet --manifest-path "$work/featured/Cargo.toml"
[ -z "${BASE:-}" ] || cargo fetch --quiet --manifest-path "$work/baseline/Cargo.toml"

floor=(); hero=(); raw=(); featured=(); base=()
for i in $(seq "$runs"); do
  floor+=("$(clean_build floor)")
  raw+=("$(clean_build rawgen)")
  hero+=("$(clean_build downstream)")
  [ -z "$features" ] || featured+=("$(clean_build featured)")
  [ -z "${BASE:-}" ] || base+=("$(clean_build baseline)")
  echo "run $i: floor ${floor[-1]} s, raw progenitor ${raw[-1]} s, hero-health ${hero[-1]} s${features:+, with $features ${featured[-1]} s}${BASE:+, at $BASE ${base[-1]} s}" >&2
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
range() { printf '%s\n' "$@" | sort -n | awk 'NR==1{lo=$1} {hi=$1} END {printf "%.1f–%.1f", lo, hi}'; }
mf=$(median "${floor[@]}"); mh=$(median "${hero[@]}"); mr=$(median "${raw[@]}")

noop=$(seconds cargo build --quiet --manifest-path "$work/downstream/Cargo.toml")
reran=$(cargo build -v --manifest-path "$work/downstream/Cargo.toml" 2>&1 | grep -c 'hero-health.*build-script-build' || true)
touch "$repo/openapi/hero-public-api.yaml"
touched=$(seconds cargo build --quiet --manifest-path "$work/downstream/Cargo.toml")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "| Build | Median (s) | Range (s) | Ratio to floor | Ratio to raw progenitor | Target |"
echo "|---|---|---|---|---|---|"
printf '| Clean, floor (reqwest + serde + tokio) | %.1f | %s | 1.00 | | |\n' "$mf" "$(range "${floor[@]}")"
printf '| Clean, raw progenitor on the same document | %.1f | %s | %s | 1.00 | |\n' "$mr" "$(range "${raw[@]}")" "$(ratio "$mr" "$mf")"
printf '| Clean, with hero-health | %.1f | %s | %s | %s | ≤ 1.05 × raw progenitor |\n' "$mh" "$(range "${hero[@]}")" "$(ratio "$mh" "$mf")" "$(ratio "$mh" "$mr")"
if [ -n "$features" ]; then
  mx=$(median "${featured[@]}")
  printf '| Clean, with hero-health features %s%s | %.1f | %s | %s | %s | |\n' "$features" "${NO_DEFAULT_FEATURES:+ (no default features)}" "$mx" "$(range "${featured[@]}")" "$(ratio "$mx" "$mf")" "$(ratio "$mx" "$mr")"
fi
if [ -n "${BASE:-}" ]; then
  mb=$(median "${base[@]}")
  printf '| Clean, with hero-health at %s | %.1f | %s | %s | %s | |\n' "$BASE" "$mb" "$(range "${base[@]}")" "$(ratio "$mb" "$mf")" "$(ratio "$mb" "$mr")"
fi
printf '| No-op rebuild (build.rs reruns: %s) | %.2f | | | | build.rs must not rerun |\n' "$reran" "$noop"
printf '| Rebuild after touching the OpenAPI document | %.1f | | | | |\n' "$touched"
