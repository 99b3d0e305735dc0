#!/bin/sh
# Runs each libFuzzer target of build/fuzz for a bounded time, one after the other (make fuzz).
#   cpp/fuzz/run_fuzzers.sh BUILD_DIR SECONDS TARGET...
# Each target fuzzes its corpus BUILD_DIR/corpus/TARGET (seeds from make_corpus.py; what it finds
# is added there), logs to BUILD_DIR/logs/TARGET.log and writes a crashing input to
# BUILD_DIR/artifacts/TARGET/. Prints each target's "Done N runs in S second(s)"; exits 1 when any
# target crashed, leaked, hung (-timeout) or ran out of memory.
set -u
build_dir=$1
seconds=$2
shift 2
failed=""
for target in "$@"; do
  mkdir -p "$build_dir/artifacts/$target" "$build_dir/logs" "$build_dir/corpus/$target"
  log="$build_dir/logs/$target.log"
  nice -n 10 "$build_dir/fuzzers/${target}_fuzz" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build_dir/artifacts/$target/" "$build_dir/corpus/$target" >"$log" 2>&1
  rc=$?
  done_line=$(grep -a '^Done [0-9]* runs' "$log" | tail -n 1)
  if [ $rc -eq 0 ]; then
    printf '%-14s ok      %s\n' "$target" "$done_line"
  else
    printf '%-14s FAILED  (exit %s; %s)\n' "$target" "$rc" "$log"
    grep -a -m 3 -e 'ERROR:' -e 'SUMMARY:' -e 'runtime error' -e 'Test unit written' "$log" | sed 's/^/    /'
    failed="$failed $target"
  fi
done
if [ -n "$failed" ]; then
  echo "Fuzz targets failed:$failed"
  exit 1
fi
