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
  2027-03-27T23:59:50Z # Saturday night: midnight passes while the tests run (two clock reads
                       # straddle it); a weekend lies ahead
  2027-03-28T00:59:50Z # Sunday: BST starts while the tests run; the diary crosses the change
  2027-10-29T21:30:00Z # Friday late evening: the weekend and the autumn change lie ahead
)
[ "$#" -gt 0 ] && instants=("$@")

lib=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -n 1 || true)
[ -n "$lib" ] || { echo "libfaketimeMT not found: install Debian's faketime package (apt-get install faketime)" >&2; exit 1; }

# Binaries from cargo's own report of what it built (wherever the target directory is), by
# target kind and name: a test target, not a binary the tests need.
executable() { # kind, name, cargo arguments…
  local kind=$1 name=$2
  shift 2
  cargo "$@" --locked --quiet --message-format=json | grep -F "\"kind\":[\"$kind\"]" | grep -F "\"name\":\"$name\"" |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | head -n 1
}
it=$(executable test it test -p hero-health --test it --no-run)
probe=$(executable test probe test -p xtask --test probe --no-run)
book=$(executable example book_appointment build -p hero-health --examples)
receiver=$(executable example webhook_receiver build -p hero-health --examples)
message=$(executable example message_patient build -p hero-health --examples)
serve=$(executable example serve_mock build -p hero-health --examples)
for binary in "$it" "$probe" "$book" "$receiver" "$message" "$serve"; do
  [ -x "$binary" ] || { echo "a test or example binary was not built (cargo reported '$binary')" >&2; exit 1; }
done

for at in "${instants[@]}"; do
  offset=$(($(date -u -d "$at" +%s) - $(date -u +%s)))
  run() {
    env -u HERO_API_KEY LD_PRELOAD="$lib" FAKETIME="$(printf '%+d' "$offset")" FAKETIME_DONT_FAKE_MONOTONIC=1 "$@"
  }
  # The clock really moved for a Rust binary of ours (a preload that did not take, say on a
  # statically linked build, would prove nothing): the mock prints its clock, which starts at
  # the system clock's now.
  seen=$(run timeout 3 "$serve" | head -n 1 | sed -n 's/.*its clock at \([0-9-]*\) \([0-9]*:[0-9]*\).*/\1T\2/p' || true)
  [ "$seen" = "$(date -u -d "$at" +%Y-%m-%dT%H:%M)" ] || [ "$seen" = "$(date -u -d "$at + 1 minute" +%Y-%m-%dT%H:%M)" ] ||
    { echo "the clock did not move to $at (the mock saw '$seen')" >&2; exit 1; }
  echo "== clock moved to $at"
  # The tests run from the package's directory, as cargo runs them.
  run "$it" --quiet
  (cd xtask && run "$probe" --quiet)
  # The examples against their embedded mock (no HERO_API_KEY), as the README runs them.
  run "$book" >/dev/null
  run "$receiver" >/dev/null
  run "$message" >/dev/null
  echo "== ok at $at"
done
