#!/usr/bin/env bash
# timeout: 240
# asan: no (24 s under ASan; the carbon sink's encoding runs under ASan in test_carbon, and
# make test must stay under 25 minutes)
# The graphite sink (cluster type graphite): points go to a real carbon-cache (Debian's
# graphite-carbon) over its plaintext port and are read back from the whisper files it
# writes. 6,000 points of 5 series (host) one second apart over the last 20 minutes,
# with a float, an integer, a boolean and a string field: each series' three numeric
# fields are a whisper file of exactly its 1,200 values (sum checked), the string left
# out, paths as the template says. carbon is stopped after the first half has been
# written to whisper and started again once the second half is in Kafka: the relay holds
# it back while carbon is away (health) and then delivers it, nothing missing.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"
. "$(dirname "$0")/../lib/carbon.sh"

N=6000 SERIES=5
start_kafka
start_carbon
relay_config "clusters:
  - name: carbon
    type: graphite
    urls: [tcp://127.0.0.1:$CARBON_PORT]
    template: dc.host.measurement.field"
start_relay
wait_relay_log "cluster 'carbon': delivering" 30 || fail "cluster 'carbon' got no partitions"

T0=$(($(date +%s) - 1500))
# send_half FROM TO: points FROM..TO-1; point i is series i % 5 at T0 + i / 5 seconds.
send_half()
{
    python3 - "$RELAY_HTTP_PORT" "$T0" "$1" "$2" "$SERIES" <<'PY' || fail "writes not acknowledged"
import sys, urllib.request
port, t0, lo, hi, series = (int(a) for a in sys.argv[1:])
for b in range(lo, hi, 1000):
    body = "".join(f'gr,dc=d1,host=h{i % series} f={i}.5,n={i}i,ok={"true" if i % 2 else "false"},s="x" '
                   f'{(t0 + i // series) * 1000000000}\n' for i in range(b, min(hi, b + 1000))).encode()
    r = urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/write?db=gr", data=body))
    assert r.status == 204, r.status
PY
}
# expected HOST FIELD UPTO: "POINTS SUM" of the values of FIELD of series HOST among
# points 0..UPTO-1.
expected()
{
    python3 - "$1" "$2" "$3" "$SERIES" <<'PY'
import sys
h, field, upto, series = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
idx = [i for i in range(upto) if i % series == h]
val = {"f": lambda i: i + 0.5, "n": lambda i: float(i), "ok": lambda i: float(i % 2)}[field]
print(len(idx), repr(sum(val(i) for i in idx)))
PY
}
# wait_whisper UPTO TIMEOUT_S: every series' files hold exactly what points 0..UPTO-1 say.
wait_whisper()
{
    local upto=$1 t h f got want
    for ((t = 0; t < $2 * 2; t++)); do
        local all=1
        for ((h = 0; h < SERIES; h++)); do
            for f in f n ok; do
                got=$(whisper_counts "d1.h$h.gr.$f" "$((T0 - 1))" "$((T0 + N / SERIES + 1))")
                want=$(expected "$h" "$f" "$upto")
                [ "$got" = "$want" ] || { all=0; break 2; }
            done
        done
        [ "$all" = 1 ] && return 0
        sleep 0.5
    done
    log "d1.h$h.gr.$f: whisper holds $got, expected $want"
    return 1
}

send_half 0 $((N / 2))
wait_whisper $((N / 2)) 60 || fail "the first half is not in whisper"
log "the first half is in whisper; stopping carbon"
stop_carbon
send_half $((N / 2)) "$N"
wait_http "http://127.0.0.1:$RELAY_ADMIN_PORT/clusters/carbon/ready" 30 503 ||
    fail "the relay does not see carbon down"
sleep 2
start_carbon
wait_whisper "$N" 90 || fail "not every point is in whisper after carbon came back"
log "every series: ${N}/${SERIES} points of f, n and ok in whisper, sums equal"
# Nothing else under the tree: no path for the string field, none without the template's.
extra=$(cd "$TSR_TMP/carbon/whisper" && find . -name '*.wsp' | sort | tr '\n' ' ')
want=$(for ((h = 0; h < SERIES; h++)); do for f in f n ok; do echo "./d1/h$h/gr/$f.wsp"; done; done | sort | tr '\n' ' ')
assert_eq "$extra" "$want" "whisper files"
wait_http "http://127.0.0.1:$RELAY_ADMIN_PORT/clusters/carbon/ready" 30 200 || fail "carbon not ready again"
