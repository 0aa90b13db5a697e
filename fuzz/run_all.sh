#!/bin/sh
# Runs each fuzz target for SECONDS (default 600), one after the other,
# one process each, at the lowest priority; logs go to fuzz/logs/. What a
# run finds goes to found/<target>/ (not committed); the committed seeds
# and corpus are read, never changed (./minimize.sh folds found inputs into
# corpus/).
set -u
cd "$(dirname "$0")"
SECONDS_EACH=${1:-600}
mkdir -p logs
for t in decode_value decode_message parse_frame connection selector; do
    mkdir -p "found/$t" "corpus/$t"
    RUSTC_BOOTSTRAP=1 nice -n 19 cargo fuzz run "$t" "found/$t" "seeds/$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_EACH" -print_final_stats=1 > "logs/$t.log" 2>&1
    echo "$t: exit $?; $(grep -E '^Done' logs/$t.log)"
done
