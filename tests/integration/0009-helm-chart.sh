#!/usr/bin/env bash
# timeout: 900
# deploy/helm/tsrelay: helm lint; helm template with the default values and with each
# of examples/*.yaml, every object validated by kubeconform (strict) against the
# Kubernetes 1.33 schemas; the pod runs as the relay's user with a read-only root, no
# capability and no privilege escalation (the state-owner init container: root with
# CAP_CHOWN alone); probes on /health and /ready; the ingest Service keeps traffic on
# the node; the rendered relay config passes tsrelay --check-config; and
# deploy/kubernetes/tsrelay.yaml is what the chart renders (tools/k8s/render.sh).
# helm and kubeconform are built from the Go module proxy (tools/k8s/build.sh, once).
. "$(dirname "$0")/../lib/harness.sh"

read -r HELM KUBECONFORM SCHEMAS < <("$REPO_ROOT/tools/k8s/build.sh" 2>"$TSR_TMP/build.log" | tail -n 1) ||
    fail "tools/k8s/build.sh: $(tail -n 5 "$TSR_TMP/build.log")"
[ -x "$HELM" ] && [ -x "$KUBECONFORM" ] && [ -d "$SCHEMAS" ] || fail "tools/k8s/build.sh: $(tail -n 5 "$TSR_TMP/build.log")"
chart=$REPO_ROOT/deploy/helm/tsrelay
K8S=1.33.0

"$HELM" lint --strict "$chart" >"$TSR_TMP/lint" 2>&1 || fail "helm lint: $(cat "$TSR_TMP/lint")"
render() { "$HELM" template tsrelay "$chart" --namespace monitoring "$@"; }
validate() { # validate NAME FILE
    # ServiceMonitor is the Prometheus Operator's CRD: no schema among Kubernetes's own.
    "$KUBECONFORM" -strict -summary -kubernetes-version "$K8S" -skip ServiceMonitor \
        -schema-location "$SCHEMAS/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
        "$2" >"$TSR_TMP/kc.$1" 2>&1 || fail "kubeconform, $1: $(cat "$TSR_TMP/kc.$1")"
    log "$1: $(tail -n 1 "$TSR_TMP/kc.$1")"
    grep -q 'Valid: [1-9]' "$TSR_TMP/kc.$1" || fail "kubeconform validated nothing for $1"
}
render >"$TSR_TMP/default.yaml" || fail "helm template (defaults)"
validate defaults "$TSR_TMP/default.yaml"
for f in "$chart"/examples/*.yaml; do
    n=$(basename "$f" .yaml)
    render -f "$f" >"$TSR_TMP/$n.yaml" || fail "helm template -f examples/$n.yaml"
    validate "$n" "$TSR_TMP/$n.yaml"
done
grep -q '^kind: ServiceMonitor' "$TSR_TMP/fleet.yaml" || fail "examples/fleet.yaml renders no ServiceMonitor"

# The pod spec, read from what the chart renders.
# Debian's python3 with python3-yaml (tools/setup.sh), whatever python3 the PATH has.
/usr/bin/python3 - "$TSR_TMP/default.yaml" "$TSR_TMP/fleet.yaml" "$TSR_TMP/trial.yaml" "$TSR_TMP/relay.yaml" <<'PY' || fail "the rendered pod spec"
import sys, yaml
def objs(path):
    return [o for o in yaml.safe_load_all(open(path)) if o]
def one(os_, kind):
    found = [o for o in os_ if o["kind"] == kind]
    assert len(found) == 1, f"{len(found)} {kind}"
    return found[0]
bad = []
def want(cond, what):
    if not cond:
        bad.append(what)
for path in sys.argv[1:4]:
    os_ = objs(path)
    ds = one(os_, "DaemonSet")
    spec = ds["spec"]["template"]["spec"]
    name = path.rsplit("/", 1)[1]
    psc = spec["securityContext"]
    want(psc.get("runAsNonRoot") is True and psc.get("runAsUser") == 10001, f"{name}: pod not non-root 10001")
    want(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{name}: no RuntimeDefault seccomp")
    want(spec.get("automountServiceAccountToken") is False, f"{name}: service account token mounted")
    want(spec["terminationGracePeriodSeconds"] >= 45, f"{name}: grace period too short for the drain")
    c = spec["containers"][0]
    sc = c["securityContext"]
    want(sc.get("readOnlyRootFilesystem") is True, f"{name}: root filesystem writable")
    want(sc.get("allowPrivilegeEscalation") is False, f"{name}: privilege escalation allowed")
    want(sc.get("capabilities") == {"drop": ["ALL"]}, f"{name}: capabilities {sc.get('capabilities')}")
    want(c["livenessProbe"]["httpGet"]["path"] == "/health", f"{name}: liveness not /health")
    want(c["readinessProbe"]["httpGet"]["path"] == "/ready", f"{name}: readiness not /ready")
    want(any(e["name"] == "TSRELAY_INSTANCE" and e["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
             for e in c["env"]), f"{name}: instance not from the node name")
    want(any(m["mountPath"] == "/var/lib/tsrelay" for m in c["volumeMounts"]), f"{name}: no state mount")
    for ic in spec.get("initContainers", []):
        isc = ic["securityContext"]
        want(isc.get("capabilities") == {"drop": ["ALL"], "add": ["CHOWN"]}, f"{name}: init capabilities {isc.get('capabilities')}")
        want(isc.get("allowPrivilegeEscalation") is False and isc.get("readOnlyRootFilesystem") is True,
             f"{name}: init container not locked down")
    svc = [o for o in os_ if o["kind"] == "Service" and not o["metadata"]["name"].endswith("-admin")]
    want(len(svc) == 1 and svc[0]["spec"].get("internalTrafficPolicy") == "Local", f"{name}: ingest Service not node-local")
    if name == "default.yaml":
        want(one(os_, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1, "default: PDB")
        want(spec["volumes"][1]["hostPath"]["path"] == "/var/lib/tsrelay", "default: hostPath state")
        want(len(spec.get("initContainers", [])) == 1, "default: no state-owner init container")
        open(sys.argv[4], "w").write(one(os_, "ConfigMap")["data"]["tsrelay.yaml"])
    if name == "trial.yaml":
        want("emptyDir" in spec["volumes"][1] and not spec.get("initContainers"), "trial: emptyDir without init")
    if name == "fleet.yaml":
        vols = {v["name"]: v for v in spec["volumes"]}
        want("tokens" in vols and "tls" in vols and "secret-kafka" in vols, f"fleet: volumes {sorted(vols)}")
        want(c["readinessProbe"]["httpGet"]["scheme"] == "HTTPS", "fleet: probes not over HTTPS")
        cfg = yaml.safe_load(one(os_, "ConfigMap")["data"]["tsrelay.yaml"])
        want([t["token_file"] for t in cfg["admin"]["tokens"]] ==
             ["/etc/tsrelay/tokens/sre-oncall", "/etc/tsrelay/tokens/dashboards"], "fleet: token files")
        want(cfg["admin"]["metrics_public"] is True, "fleet: extraConfig not merged")
        want(cfg["tls"]["cert_file"] == "/etc/tsrelay/tls/tls.crt", "fleet: tls")
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
"$TSRELAY_BIN" --check-config -c "$TSR_TMP/relay.yaml" >"$TSR_TMP/check" 2>&1 ||
    fail "the chart's default config does not check: $(cat "$TSR_TMP/check")"

cp "$REPO_ROOT/deploy/kubernetes/tsrelay.yaml" "$TSR_TMP/committed.yaml"
"$REPO_ROOT/tools/k8s/render.sh" "$HELM" >/dev/null
if ! cmp -s "$TSR_TMP/committed.yaml" "$REPO_ROOT/deploy/kubernetes/tsrelay.yaml"; then
    diff "$TSR_TMP/committed.yaml" "$REPO_ROOT/deploy/kubernetes/tsrelay.yaml" | head -n 20 >&2
    cp "$TSR_TMP/committed.yaml" "$REPO_ROOT/deploy/kubernetes/tsrelay.yaml"
    fail "deploy/kubernetes/tsrelay.yaml is not what the chart renders: run tools/k8s/render.sh"
fi
validate plain-manifests "$REPO_ROOT/deploy/kubernetes/tsrelay.yaml"
