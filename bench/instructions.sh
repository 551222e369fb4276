# Sourced by bench/run (--instructions): user-space instructions per request, counted by
# valgrind's callgrind, for nginx proxy_pass, fhirgate's three paths and the stack's floor.
#
# Why: wall-clock figures on these shared 2-core machines move by ±10 % (more when other
# work compiles beside the run), so a change of a few percent in fhirgate's CPU per request
# hides in the noise. callgrind counts the instructions the process executes (Ir), which
# for the same binary, config and requests does not depend on what else the machine does,
# so an A/B of two commits is exact to well under 1 %. It sees user space only: system
# calls' kernel time, wake-ups and cache misses are not in the count (the wall-clock
# sections measure those).
#
# Method: each process runs under `valgrind --tool=callgrind` (about 50× slower, so the
# requests are few and sequential-ish: oha -c 4); per target a warm-up of INSTR_WARMUP
# requests, then `callgrind_control -z` (zero), INSTR_REQUESTS requests, and
# `callgrind_control -d` (dump): the dump's total over the requests measured is Ir per
# request. It includes every thread (tokio workers, the audit writer, timers), so the
# batch fsync of the audit trail and the background work a request causes are counted.
# bench/callgrind_top.py lists each path's functions by their own instructions (a
# profile without sampling noise) and the share of SHA-256, which valgrind's CPU model
# (no SHA extensions) makes run in software.
# nginx runs as one process (`master_process off`, one worker) so that one count holds it.

INSTR_REQUESTS=${INSTR_REQUESTS:-400}
INSTR_WARMUP=${INSTR_WARMUP:-100}
INSTR_GATE_PORT=$((PORT_BASE + 5))
INSTR_PROXY_PORT=$((PORT_BASE + 6))
INSTR_FLOOR_PORT=$((PORT_BASE + 9))

# Runs N requests of TARGET's kind against URL; dies unless every answer was 200.
instr_requests() { # target url n
  local args=() h
  while IFS= read -r h; do args+=(-H "$h"); done < <(headers_for "$1")
  oha -n "$3" -c 4 --no-tui --output-format json "${args[@]}" "$2" >"$OUT/instr-oha.json" 2>>"$OUT/oha.log" ||
    die "oha failed against $1 under callgrind"
  python3 - "$OUT/instr-oha.json" "$1" <<'EOF' || die "$1 under callgrind: not every answer was 200"
import json, sys
r = json.load(open(sys.argv[1]))
codes = r.get("statusCodeDistribution", {})
assert set(codes) == {"200"}, (sys.argv[2], codes, r.get("errorDistribution"))
EOF
}

# Zeroes PID's counters, runs the requests, dumps, prints Ir per request.
instr_count() { # pid target url label
  instr_requests "$2" "$3" "$INSTR_WARMUP"
  callgrind_control -z "$1" >/dev/null || die "callgrind_control -z $1 failed"
  instr_requests "$2" "$3" "$INSTR_REQUESTS"
  local before; before=$(ls "$OUT/callgrind/" | wc -l)
  callgrind_control --dump="$4" "$1" >/dev/null || die "callgrind_control -d $1 failed"
  local i
  for i in $(seq 1 100); do [ "$(ls "$OUT/callgrind/" | wc -l)" -gt "$before" ] && break; sleep 0.1; done
  local dump; dump=$(ls -t "$OUT"/callgrind/* | head -1)
  python3 "$BENCH/callgrind_top.py" "$dump" "$INSTR_REQUESTS" 12 >"$OUT/instr-top-$2.md"
  awk -v n="$INSTR_REQUESTS" '/^summary:/ {printf "%.0f\n", $2 / n}' "$dump"
}

instructions_section() {
  command -v valgrind >/dev/null && command -v callgrind_control >/dev/null || {
    log "installing valgrind (apt-get)"
    apt-get install -y -qq valgrind >/dev/null 2>&1 || die "cannot install valgrind"
  }
  rm -rf "$OUT/callgrind" "$OUT/data-instr"; mkdir -p "$OUT/callgrind"
  local t ir i
  # (b), (c) fhirgate with the benchmark's config on its own port and data folder, started
  # first: the tokens come from its config. It idles while nginx is measured (what it
  # executes meanwhile is zeroed before its own count).
  fill "$BENCH/gateway.bench.yaml" "$OUT/gateway-instr.yaml" "$OUT/data-instr" "$INSTR_GATE_PORT"
  valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind/fhirgate.%p" \
    "$BIN" serve --config "$OUT/gateway-instr.yaml" >"$OUT/fhirgate-instr.log.out" 2>"$OUT/fhirgate-instr.log" &
  local gate_pid=$!
  PIDS+=("$gate_pid")
  for i in $(seq 1 1200); do
    grep -q '^fhirgate listening on' "$OUT/fhirgate-instr.log.out" 2>/dev/null && break
    kill -0 "$gate_pid" 2>/dev/null || die "fhirgate under callgrind exited; see $OUT/fhirgate-instr.log"
    sleep 0.1
  done
  tokens "$OUT/gateway-instr.yaml"
  # (a) nginx proxy_pass, one process, to the same (uninstrumented) upstream.
  sed -e 's#^worker_processes .*#worker_processes 1;\nmaster_process off;#' \
    -e "s#nginx-proxy\.#nginx-instr.#g" "$OUT/nginx-proxy.conf" >"$OUT/nginx-instr.conf"
  sed -i "s#listen 127.0.0.1:$PROXY_PORT #listen 127.0.0.1:$INSTR_PROXY_PORT #" "$OUT/nginx-instr.conf"
  local ng; ng=$(command -v nginx || echo /usr/sbin/nginx)
  valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind/nginx.%p" \
    "$ng" -p "$OUT" -c "$OUT/nginx-instr.conf" 2>"$OUT/callgrind-nginx.log" &
  local ng_pid=$!
  PIDS+=("$ng_pid")
  for i in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$INSTR_PROXY_PORT") 2>/dev/null && break; sleep 0.1; done
  log "instructions: nginx proxy_pass under callgrind, $INSTR_REQUESTS requests"
  ir=$(instr_count "$ng_pid" nginx "http://127.0.0.1:$INSTR_PROXY_PORT$QUERY" nginx)
  record instr nginx 0 "$ir"
  log "  nginx: $ir instructions per request"
  kill "$ng_pid" 2>/dev/null || true; wait "$ng_pid" 2>/dev/null || true
  for t in system patient cache; do
    log "instructions: fhirgate $t under callgrind, $INSTR_REQUESTS requests"
    ir=$(instr_count "$gate_pid" "$t" "http://127.0.0.1:$INSTR_GATE_PORT$QUERY" "$t")
    record instr "$t" 0 "$ir"
    record instrtop "$t" 0 "$OUT/instr-top-$t.md"
    log "  $t: $ir instructions per request"
  done
  kill "$gate_pid" 2>/dev/null || true; wait "$gate_pid" 2>/dev/null || true
  rm -rf "$OUT/data-instr/audit"
  # (d), (e) the stack's floor (gateway/benches/floor.rs), one process each in turn.
  [ -n "${FLOOR_BIN:-}" ] || return 0
  local mode arg floor_pid
  for t in floor static; do
    if [ "$t" = floor ]; then mode=proxy arg="http://127.0.0.1:$UPSTREAM_PORT"; else mode=fixed arg="$OUT/upstream/Observation.json"; fi
    valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind/$t.%p" \
      "$FLOOR_BIN" "$mode" "127.0.0.1:$INSTR_FLOOR_PORT" "$arg" >"$OUT/$t-instr.log" 2>&1 &
    floor_pid=$!
    PIDS+=("$floor_pid")
    for i in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$INSTR_FLOOR_PORT") 2>/dev/null && break; sleep 0.1; done
    log "instructions: the stack's floor ($t) under callgrind, $INSTR_REQUESTS requests"
    ir=$(instr_count "$floor_pid" "$t" "http://127.0.0.1:$INSTR_FLOOR_PORT$QUERY" "$t")
    record instr "$t" 0 "$ir"
    log "  $t: $ir instructions per request"
    kill "$floor_pid" 2>/dev/null || true; wait "$floor_pid" 2>/dev/null || true
  done
}
