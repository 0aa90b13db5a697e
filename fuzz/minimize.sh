#!/bin/sh
# Rebuilds corpus/<target> (committed, replayed by tests/fuzz_replay.rs)
# as a small set of inputs that, with seeds/<target>, covers every code
# edge that the seeds, the corpus and found/<target> (what ./run_all.sh
# found) cover: libFuzzer's -set_cover_merge=1, counting edges only
# (-use_counters=0), into a directory that holds the seeds first, then the
# seeds taken out again. Inputs over MAX_LEN bytes (default 2048) are left
# out, to keep the corpus small. Usage: ./minimize.sh [TARGET...]
set -eu
cd "$(dirname "$0")"
MAX_LEN=${MAX_LEN:-2048}
[ $# -gt 0 ] || set -- decode_value decode_message parse_frame connection selector
for t in "$@"; do
    tmp=$(mktemp -d)
    small=$(mktemp -d)
    cp "seeds/$t"/* "$tmp"/
    mkdir -p "corpus/$t" "found/$t"
    find "corpus/$t" "found/$t" -type f -size -"$((MAX_LEN + 1))"c -exec cp {} "$small"/ \;
    RUSTC_BOOTSTRAP=1 cargo fuzz run -s none "$t" "$tmp" "$small" -- -set_cover_merge=1 -use_counters=0 \
        > "$tmp.log" 2>&1 || { cat "$tmp.log"; exit 1; }
    rm -rf "$small" "$tmp.log"
    for s in "seeds/$t"/*; do
        rm -f "$tmp/$(basename "$s")"
    done
    rm -f "corpus/$t"/*
    mv "$tmp"/* "corpus/$t"/ 2>/dev/null || true
    rmdir "$tmp"
    echo "$t: $(ls "corpus/$t" | wc -l) inputs, $(du -sk "corpus/$t" | cut -f1) KB"
done
