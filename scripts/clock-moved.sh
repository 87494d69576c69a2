#!/usr/bin/env bash
# Runs the integration tests (tests/it and the xtask's probe tests, which start mocks) and both
# examples with the wall clock moved to instants that once broke them, so "green at any hour"
# is shown rather than hoped for. Debian's libfaketime (package `faketime`) shifts the clock the
# processes read by an offset, so time keeps moving (held holds still lapse, webhooks are still
# signed anew); FAKETIME_DONT_FAKE_MONOTONIC=1 leaves the monotonic clock alone, so tokio's timers
# and timeouts still work.
#
#   scripts/clock-moved.sh                          # every instant below
#   scripts/clock-moved.sh 2027-03-28T00:59:30Z     # only these instants
#
# The binaries are built first at the real time (cargo compares file times; a moved clock could
# make it rebuild), then run directly under the moved clock.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each instant would have caught a cause of a past failure (issue 21):
instants=(
  2026-12-02T19:50:00Z # a weekday evening: the first slot is inside the 24 h cancellation window
  2027-01-01T10:00:00Z # another year: no assertion on a literal year
  2027-03-27T23:59:59Z # Saturday, a second before midnight: two clock reads straddle it; weekend
  2027-03-28T00:59:30Z # Sunday, 30 s before BST starts: the diary crosses the clock change
  2027-10-29T21:30:00Z # Friday late evening: the weekend and the autumn change lie ahead
)
[ "$#" -gt 0 ] && instants=("$@")

lib=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -n 1 || true)
[ -n "$lib" ] || { echo "libfaketimeMT not found: install Debian's faketime package (apt-get install faketime)" >&2; exit 1; }

# Test binaries from cargo's own report of what it built (the test target, not a binary it needs).
executable() { # package, test target
  cargo test --locked --quiet -p "$1" --test "$2" --no-run --message-format=json 2>/dev/null |
    grep -F '"kind":["test"]' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | head -n 1
}
it=$(executable hero-health it)
probe=$(executable xtask probe)
cargo build --locked --quiet --examples
examples="$(realpath "${CARGO_TARGET_DIR:-target}")/debug/examples"
[ -x "$it" ] && [ -x "$probe" ] && [ -x "$examples/book_appointment" ] && [ -x "$examples/webhook_receiver" ] ||
  { echo "a test or example binary was not built" >&2; exit 1; }

for at in "${instants[@]}"; do
  offset=$(($(date -u -d "$at" +%s) - $(date -u +%s)))
  run() {
    env -u HERO_API_KEY LD_PRELOAD="$lib" FAKETIME="$(printf '%+d' "$offset")" FAKETIME_DONT_FAKE_MONOTONIC=1 "$@"
  }
  # The clock really moved (a preload that did not take would prove nothing).
  seen=$(run date -u +%Y-%m-%dT%H:%M)
  [ "$seen" = "$(date -u -d "$at" +%Y-%m-%dT%H:%M)" ] || [ "$seen" = "$(date -u -d "$at + 1 minute" +%Y-%m-%dT%H:%M)" ] ||
    { echo "the clock did not move to $at (the process saw $seen)" >&2; exit 1; }
  echo "== clock moved to $at"
  # The tests run from the package's directory, as cargo runs them.
  run "$it" --quiet
  (cd xtask && run "$probe" --quiet)
  # The examples against their embedded mock (no HERO_API_KEY), as the README runs them.
  run "$examples/book_appointment" >/dev/null
  run "$examples/webhook_receiver" >/dev/null
  echo "== ok at $at"
done
