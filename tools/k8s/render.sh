#!/usr/bin/env bash
# tools/k8s/render.sh [HELM] — render deploy/kubernetes/tsrelay.yaml from the chart
# (deploy/helm/tsrelay) with deploy/kubernetes/values.yaml, release "tsrelay" in
# namespace "monitoring": plain manifests for `kubectl apply -f` that never drift from
# the chart. HELM: the helm binary (default: the one tools/k8s/build.sh builds).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
helm=${1:-$("$root/tools/k8s/build.sh" | tail -n 1 | cut -d' ' -f1)}
{
    echo "# Rendered by tools/k8s/render.sh from deploy/helm/tsrelay with"
    echo "# deploy/kubernetes/values.yaml: edit those, not this file."
    "$helm" template tsrelay "$root/deploy/helm/tsrelay" --namespace monitoring \
        -f "$root/deploy/kubernetes/values.yaml"
} >"$root/deploy/kubernetes/tsrelay.yaml"
echo "$root/deploy/kubernetes/tsrelay.yaml"
