#!/usr/bin/env bash
# timeout: 600
# make image's OCI image, built here (mmdebstrap + buildah, deploy/container/build.sh)
# and run with podman as it would be deployed: read-only root filesystem, no
# capability, no new privileges, as its own non-root user, the config mounted read-only
# and the state in a volume. Against the harness's Kafka and a VictoriaMetrics: points
# written reach VictoriaMetrics; then SIGTERM (podman stop) while a client writes: the
# relay drains and exits 0, and every line it answered 204 is in Kafka. Needs root (or
# sudo): mmdebstrap, buildah and podman run as root here, with a private storage.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"

version=$(sed -n 's/^#define TSR_VERSION "\(.*\)"/\1/p' "$REPO_ROOT/relay/core/version.h")
archive=$(as_root "$REPO_ROOT/deploy/container/build.sh" "$TSR_TMP" 2>"$TSR_TMP/build.log") ||
    fail "make image failed: $(tail -n 5 "$TSR_TMP/build.log")"
log "built $(basename "$archive"): $(du -m "$archive" | cut -f1) MiB"
# podman's storage of its own, under the test's directory (its run root must be a short
# path); runc, as crun refuses this machine's hybrid cgroups.
runroot=$(mktemp -d /tmp/tsrp.XXXXXX)
name=tsrelay-test-$$
# The container first: removing it after the storage would make podman create its run
# root again.
at_exit 'pod rm -f -t 0 "$name" >/dev/null 2>&1; as_root rm -rf "$TSR_TMP/storage" "$runroot"'
pod() { as_root podman --root "$TSR_TMP/storage" --runroot "$runroot" --storage-driver vfs --runtime runc "$@"; }
pod load -q -i "$archive" >"$TSR_TMP/load.log" 2>&1 || fail "podman load: $(cat "$TSR_TMP/load.log")"
image=localhost/tsrelay:$version
size=$(pod image inspect --format '{{.Size}}' "$image")
log "image $image: $((size / 1048576)) MiB"
assert_eq "$(pod image inspect --format '{{.Config.User}}' "$image")" "10001:10001" "the image's user"
# The sandbox's limits cannot be raised here: run within them.
run_opts=(--network host --read-only --cap-drop ALL --security-opt no-new-privileges
    --ulimit nofile=16384:16384 --ulimit nproc=4096:4096)
assert_eq "$(pod run --rm "${run_opts[@]}" --entrypoint /usr/bin/tsrelayctl "$image" --version)" \
    "tsrelayctl $version" "tsrelayctl in the image"

start_kafka
start_victoriametrics
relay_config "clusters:
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]"
sed -i 's|^state_dir: .*|state_dir: /var/lib/tsrelay|' "$TSR_TMP/relay.yaml"
chmod 0644 "$TSR_TMP/relay.yaml"
mkdir -p "$TSR_TMP/cstate"
as_root chown 10001:10001 "$TSR_TMP/cstate"
pod run -d --name "$name" "${run_opts[@]}" \
    -v "$TSR_TMP/relay.yaml:/etc/tsrelay/tsrelay.yaml:ro" -v "$TSR_TMP/cstate:/var/lib/tsrelay" \
    "$image" >/dev/null || fail "podman run failed"
for ((i = 0; i < 600; i++)); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RELAY_ADMIN_PORT/ready")" = 200 ] && break
    [ "$(pod inspect --format '{{.State.Running}}' "$name")" = true ] ||
        fail "the container exited: $(pod logs "$name" 2>&1 | tail -n 5)"
    sleep 0.1
done
[ "$i" -lt 600 ] || fail "the relay in the container not ready after 60 s: $(pod logs "$name" 2>&1 | tail -n 5)"
RELAY_LOG=$TSR_TMP/container.log
wait_for_log() { for ((i = 0; i < 300; i++)); do pod logs "$name" 2>&1 | grep -q "$1" && return 0; sleep 0.1; done; return 1; }
wait_for_log "cluster 'vm': delivering" || fail "cluster vm got no partitions"
send --lines 20000 --acked "$TSR_TMP/acked.lp" >/dev/null || fail "writes into the container not acknowledged"
wait_counts vm "$(expected_counts 20000)" 60
log "20,000 points through the container at VictoriaMetrics"
[ -s "$TSR_TMP/cstate/state.mdb" ] || fail "no checkpoints in the state volume"

send --start 20000 --lines 400000 --batch 2000 --acked "$TSR_TMP/acked.lp" --tolerate-errors >"$TSR_TMP/send2.out" &
sender=$!
sleep 1
pod stop -t 60 "$name" >/dev/null || fail "podman stop failed"
wait "$sender" || true
pod logs "$name" >"$RELAY_LOG" 2>&1
code=$(pod inspect --format '{{.State.ExitCode}}' "$name")
log "after SIGTERM: exit $code; the client: $(cat "$TSR_TMP/send2.out")"
assert_eq "$code" 0 "the container's exit code after SIGTERM"
grep -q 'SIGTERM: no longer accepting writes' "$RELAY_LOG" || fail "no drain on SIGTERM in the container's log"
assert_acked_in_topic "$TSR_TMP/acked.lp"
