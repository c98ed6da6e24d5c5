#!/usr/bin/env bash
# tools/k8s/build.sh — build helm and kubeconform for the chart test (0009) from the Go
# module proxy into the cache, and fetch the Kubernetes JSON schemas kubeconform checks
# against (no schema registry is reachable from these machines: the schemas come from
# PyPI's kubernetes-validate wheel, which bundles the per-version JSON schemas generated
# from Kubernetes's OpenAPI spec, as kubeconform's default location serves them, in
# their "local" form: each kind's file refers to the version's _definitions.json).
#
# Usage: tools/k8s/build.sh    prints "HELM KUBECONFORM SCHEMA_DIR" on its last line
# Env:   TSRELAY_CACHE  cache root (default $HOME/.cache/tsrelay)
#        GO             the go command (default: go on the PATH, else /usr/local/go/bin/go)
# A few minutes on a cold Go cache; nothing when everything is already there.
set -euo pipefail

helm_version=4.3.2
kubeconform_version=0.7.0
kv_version=1.37.0  # kubernetes-validate: schemas up to Kubernetes 1.37
cache=${TSRELAY_CACHE:-$HOME/.cache/tsrelay}
dir=$cache/k8s-tools
go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
mkdir -p "$dir"

build() { # build NAME VERSION PACKAGE@VERSION
    local name=$1 version=$2 pkg=$3
    if [ -x "$dir/$name" ] && [ "$(cat "$dir/.$name" 2>/dev/null)" = "$version" ]; then return; fi
    [ -x "$go" ] || command -v "$go" >/dev/null || { echo "build.sh: go not found (or set GO)" >&2; exit 1; }
    echo "building $name $version into $dir" >&2
    rm -rf "$dir/tmp"
    GOBIN=$dir/tmp GOFLAGS= CGO_ENABLED=0 "$go" install -ldflags "-s -w" "$pkg" >&2
    mv -f "$dir/tmp/$name" "$dir/$name"
    rm -rf "$dir/tmp"
    echo "$version" >"$dir/.$name"
}
build helm "$helm_version" "helm.sh/helm/v4/cmd/helm@v$helm_version"
build kubeconform "$kubeconform_version" "github.com/yannh/kubeconform/cmd/kubeconform@v$kubeconform_version"

k8s=1.33.0 # the Kubernetes version the chart is checked against (0009)
schemas=$dir/schemas-$kv_version
if [ ! -f "$schemas/.complete" ]; then
    echo "fetching the Kubernetes $k8s JSON schemas (kubernetes-validate $kv_version) from PyPI" >&2
    rm -rf "$schemas" "$dir/wheel"
    python3 -m pip download -q --no-deps -d "$dir/wheel" "kubernetes-validate==$kv_version" >&2
    # The wheel's schemas refer to a shared _definitions.json by an absolute URL that
    # kubeconform cannot load from disk: make each kind's file standalone, with the
    # definitions it reaches copied in (as kubeconform's own "standalone" schemas are).
    python3 - "$dir/wheel"/kubernetes_validate-*.whl "$schemas/v$k8s-standalone-strict" "v$k8s-local-strict" <<'PY'
import json, os, re, sys, zipfile
whl, out, want = sys.argv[1:4]
base = "kubernetes_validate/kubernetes-json-schema/" + want + "/"
os.makedirs(out, exist_ok=True)
ref = re.compile(r'"(?:/api/|https://kubernetes.io/api/)?_definitions\.json#/\$defs/')
with zipfile.ZipFile(whl) as z:
    defs = json.loads(z.read(base + "_definitions.json"))["$defs"]
    for n in z.namelist():
        if not n.startswith(base) or not n.endswith(".json") or n.endswith("_definitions.json"):
            continue
        text = ref.sub('"#/$defs/', z.read(n).decode())
        schema = json.loads(text)
        need, todo = {}, re.findall(r'"#/\$defs/([^"]+)"', text)
        while todo:
            k = todo.pop()
            if k in need or k not in defs:
                continue
            need[k] = defs[k]
            todo += re.findall(r'"#/\$defs/([^"]+)"', json.dumps(defs[k]))
        schema["$defs"] = need
        schema.pop("$id", None)
        with open(os.path.join(out, n[len(base):]), "w") as f:
            json.dump(schema, f)
PY
    rm -rf "$dir/wheel"
    touch "$schemas/.complete"
fi
echo "$dir/helm $dir/kubeconform $schemas"
