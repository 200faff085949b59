#!/bin/sh
# A real Prometheus (Debian's prometheus package) scrapes tidepoold's
# /metrics on a private JACK dummy server: a private data directory, free
# ports, a 1 s scrape interval.  Its HTTP API must then answer
# rate(tidepool_callbacks_total[5s]) near 48000/64 callbacks a second and
# histogram_quantile(0.99, ...) over the callback-time histogram.  Then the
# shipped contrib/ files: promtool check config on the example scrape
# config, and the Grafana dashboard is JSON whose every query names only
# metrics the endpoint serves.
. tests/integration/lib.sh

PROM_PID=
trap '[ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null; cleanup' EXIT
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
PORT=$(free_port)
PPORT=$(free_port)
tone_config "$T/a.conf" "[metrics]
listen = 127.0.0.1:$PORT

[stage.vol]
type = gain
gain = -6
[stage.meter]
type = meter"
start_jack 64
check $? "a private JACK dummy server starts"
start_daemon "$T/a.conf"
check $? "tidepoold starts with [metrics] listen = 127.0.0.1:$PORT"

cat >"$T/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: tidepool
    static_configs:
      - targets: ['127.0.0.1:$PORT']
YML
expect "promtool check config accepts the test's config" \
    promtool check config "$T/prometheus.yml"
prometheus --config.file="$T/prometheus.yml" \
    --storage.tsdb.path="$T/prom-data" \
    --web.listen-address="127.0.0.1:$PPORT" >"$T/prometheus.log" 2>&1 &
PROM_PID=$!

query() {	# query PROMQL: the first result's value, or fails
	python3 - "$PPORT" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
url = "http://127.0.0.1:%s/api/v1/query?query=%s" % (sys.argv[1], urllib.parse.quote(sys.argv[2]))
r = json.load(urllib.request.urlopen(url, timeout=5))
res = r["data"]["result"]
assert r["status"] == "success" and res, r
v = float(res[0]["value"][1])
assert v == v, "NaN"
print(v)
PY
}
between() {	# between PROMQL LOW HIGH: its value is in [LOW, HIGH]
	v=$(query "$1") || return 1
	echo "$v" >"$T/last"
	awk -v v="$v" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }'
}
wait_for 30 between 'up{job="tidepool"}' 1 1
check $? "Prometheus scrapes tidepoold (up == 1)"
# 48000 / 64 = 750 callbacks a second when the dummy server keeps its
# clock; on a loaded machine (jackd runs without real-time priority here)
# it falls behind, and tidepoold's own count says so.  So: Prometheus's
# rate over 5 s must agree with the callbacks status counts over the same
# 5 s of wall clock (within 15 %), and be within 10 % of 750 whenever that
# count is.
rate_agrees() {
	a=$(callbacks) && t0=$(date +%s.%N) || return 1
	sleep 5
	b=$(callbacks) && t1=$(date +%s.%N) && p=$(query 'rate(tidepool_callbacks_total[5s])') ||
	    return 1
	own=$(awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" 'BEGIN { print (b - a) / (t1 - t0) }')
	echo "prometheus $p, status $own" >"$T/last"
	awk -v p="$p" -v o="$own" 'BEGIN {
		near = (o >= 675 && o <= 825)
		exit !(o > 100 && p >= 0.85 * o && p <= 1.15 * o &&
		    (!near || (p >= 675 && p <= 825))) }'
}
wait_for 60 rate_agrees
check $? "rate(tidepool_callbacks_total[5s]) agrees with the daemon's own count, near 750/s when the server keeps time: $(cat "$T/last" 2>/dev/null)"
echo "# callbacks a second, nominal 750: $(cat "$T/last")"
# A callback of the test's chain takes microseconds; the deadline is
# the period, 1.33 ms.
wait_for 30 between 'histogram_quantile(0.99, rate(tidepool_callback_seconds_bucket[5s]))' 0.0000001 0.00133
check $? "histogram_quantile(0.99, rate(tidepool_callback_seconds_bucket[5s])) is a callback time under the period: $(cat "$T/last" 2>/dev/null)"
echo "# p99 callback time from Prometheus: $(cat "$T/last") s"
wait_for 10 between 'histogram_quantile(0.99, rate(tidepool_load_ratio_bucket[5s]))' 0.000001 1
check $? "and over the load histogram, a ratio under 1: $(cat "$T/last" 2>/dev/null)"

expect "promtool check config accepts contrib/prometheus.yml" \
    promtool check config contrib/prometheus.yml
curl -sS -m 5 -o "$T/metrics.txt" "http://127.0.0.1:$PORT/metrics"
python3 - contrib/grafana-dashboard.json "$T/metrics.txt" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
served = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", open(sys.argv[2]).read(), re.M))
exprs = []
def walk(o):
    if isinstance(o, dict):
        if "expr" in o:
            exprs.append(o["expr"])
        for v in o.values():
            walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
walk(d)
assert exprs, "no queries"
funcs = {"rate", "irate", "increase", "sum", "by", "histogram_quantile", "max",
         "min", "avg", "le", "cause", "channel", "stage", "without", "time",
         "le_", "delta", "clamp_min", "log10", "instance", "job"}
missing = set()
for e in exprs:
    e = re.sub(r'"[^"]*"', "", e)           # label values
    e = re.sub(r"\[[^\]]*\]", "", e)         # ranges
    for name in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        if name in funcs or not name.startswith("tidepool_"):
            continue
        if name not in served:
            missing.add(name)
titles = [p.get("title") for p in d["panels"]]
print("# %d panels, %d queries: %s" % (len(titles), len(exprs), ", ".join(titles)))
assert not missing, missing
PY
check $? "the Grafana dashboard is valid JSON and queries only served metrics"
finish
