#!/usr/bin/env bash
# Proves ci/validate-manifests.sh passes on the real tree and fails, naming the file and the
# problem, on copies of the tree broken one way at a time.
#
#   bash ci/tests/validate-manifests-test.sh
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
validate=$repo/ci/validate-manifests.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   - $1"; }
not_ok() { failed=$((failed + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && sed 's/^/       /' <<<"$2"; }

# begin NAME: start a case on a fresh copy of the real tree, in $t.
begin() {
    case_name=$1
    rm -rf "$work/tree"
    mkdir -p "$work/tree"
    cp -r "$repo/deploy/kubernetes" "$work/tree/kubernetes"
    t=$work/tree/kubernetes
}

# edit FILE OLD NEW: replace exactly one occurrence. Anything else fails the case: a mutation
# that did not apply would let the case pass for the wrong reason.
edit() {
    local message
    if ! message=$(python3 - "$1" "$2" "$3" 2>&1 <<'PY'
import sys
path, old, new = sys.argv[1:]
text = open(path).read()
count = text.count(old)
if count != 1:
    sys.exit(f"mutation: {old!r} occurs {count} times in {path}, expected once")
open(path, "w").write(text.replace(old, new))
PY
    ); then
        not_ok "$case_name: the mutation did not apply" "$message"
        return 1
    fi
}

# expect_failure PATTERN...: the validator, run on $t, exits 1 and its output matches each
# (extended regex) pattern.
expect_failure() {
    local name=$case_name output status pattern
    output=$(bash "$validate" "$t" 2>&1)
    status=$?
    if [ "$status" -ne 1 ]; then
        not_ok "$name: exit status $status, expected 1" "$output"
        return
    fi
    for pattern in "$@"; do
        if ! grep -Eq -- "$pattern" <<<"$output"; then
            not_ok "$name: output lacks /$pattern/" "$output"
            return
        fi
    done
    ok "$name"
}

# --- the real tree passes
output=$(bash "$validate" 2>&1)
status=$?
if [ "$status" -eq 0 ] && grep -q ': 0 problem(s)' <<<"$output"; then
    ok "real tree validates"
else
    not_ok "real tree validates (exit $status)" "$output"
fi

# Same, without kubectl: the validator's own renderer alone.
output=$(VALIDATE_KUBECTL=0 bash "$validate" 2>&1)
status=$?
if [ "$status" -eq 0 ]; then ok "real tree validates without kubectl"; else
    not_ok "real tree validates without kubectl (exit $status)" "$output"; fi

# --- schema errors
begin "wrong field type" && edit "$t/base/controller.yaml" "replicas: 1" 'replicas: "one"' &&
    expect_failure \
        'base/controller.yaml.*spec\.replicas.*not of type'

begin "unknown field (strict schema)" && edit "$t/base/mounter.yaml" "      hostNetwork: true" "      hostNetwrk: true" &&
    expect_failure \
        "base/mounter.yaml.*'hostNetwrk' was unexpected"

begin "CSIDriver checked against its schema" && edit "$t/base/csidriver.yaml" "fsGroupPolicy: None" "fsGroupPolicy: [None]" &&
    expect_failure \
        'base/csidriver.yaml.*CSIDriver/csi.daos.io.*fsGroupPolicy'

begin "example checked against its schema" && edit "$t/examples/pvc.yaml" "storage: 1Gi" "storage: {size: 1Gi}" &&
    expect_failure \
        'examples/pvc.yaml.*PersistentVolumeClaim/daos-shared.*storage'

begin "VolumeSnapshotClass checked by the CRD rules" && edit "$t/examples/volumesnapshotclass.yaml" \
        "deletionPolicy: Delete" $'deletionPolicy: Delete\nreclaimPolicy: Delete' &&
    expect_failure \
        "examples/volumesnapshotclass.yaml.*VolumeSnapshotClass/daos-snapshots.*field 'reclaimPolicy' is not in"

begin "VolumeSnapshot needs one source" && edit "$t/examples/volumesnapshot.yaml" \
        "    persistentVolumeClaimName: daos-shared" $'    persistentVolumeClaimName: daos-shared\n    volumeSnapshotContentName: c' &&
    expect_failure \
        'examples/volumesnapshot.yaml.*VolumeSnapshot/daos-shared-snap.*exactly one'

begin "VolumeSnapshot names a missing class" && edit "$t/examples/volumesnapshot.yaml" \
        "volumeSnapshotClassName: daos-snapshots" "volumeSnapshotClassName: daos-snapshot" &&
    expect_failure \
        "examples/volumesnapshot.yaml.*snapshot class 'daos-snapshot' is not defined"

begin "a CRD kind outside the allowlist is not skipped" && edit "$t/examples/volumesnapshot.yaml" \
        "kind: VolumeSnapshot" "kind: VolumeSnapshotContent" &&
    expect_failure \
        'examples/volumesnapshot.yaml.*VolumeSnapshotContent'

# --- files and kustomizations
begin "missing resource" && edit "$t/base/kustomization.yaml" "  - mounter.yaml" $'  - mounter.yaml\n  - missing.yaml' &&
    expect_failure 'base/kustomization.yaml: resource missing.yaml does not exist'

begin "YAML syntax error" && edit "$t/examples/static-pv.yaml" "  capacity:" "  capacity: [" &&
    expect_failure 'examples/static-pv.yaml: YAML does not parse'

begin "patch without a target" && edit "$t/overlays/agent-socket/mounter-agent-socket.yaml" \
        "name: daos-csi-mounter" "name: daos-csi-mountr" &&
    expect_failure \
        'overlays/agent-socket/mounter-agent-socket.yaml: patch matches no resource'

# --- what the schemas cannot see
begin "mount of an undeclared volume" && edit "$t/base/mounter.yaml" "            - name: state-dir
              mountPath: /var/lib/daos-csi" "            - name: state-dri
              mountPath: /var/lib/daos-csi" &&
    expect_failure \
        "base/mounter.yaml.*mounts volume 'state-dri', which the pod does not declare"

begin "overlay leaves the old hostPath volume behind" && edit "$t/overlays/agent-socket/node-agent-socket.yaml" \
        $'      volumes:\n        - name: daos-agent-dir' $'      volumes:\n        - name: daos-agent-socket' &&
    edit "$t/overlays/agent-socket/node-agent-socket.yaml" \
        "            - name: daos-agent-dir" "            - name: daos-agent-socket" &&
    expect_failure \
        'base/node.yaml \(patched by overlays/agent-socket/node-agent-socket.yaml\).*volume daos-agent-dir is declared but no container mounts it'

begin "Bidirectional propagation without privilege" && edit "$t/base/node.yaml" "            - name: dev-fuse
              mountPath: /dev/fuse" "            - name: dev-fuse
              mountPath: /dev/fuse
              mountPropagation: Bidirectional" &&
    edit "$t/base/node.yaml" "            privileged: true" "            privileged: false" &&
    expect_failure \
        'base/node.yaml.*Bidirectional mount propagation needs a privileged container'

begin "selector that misses the pod labels" && edit "$t/base/controller.yaml" "      app.kubernetes.io/component: controller
  template:" "      app.kubernetes.io/component: controllr
  template:" &&
    expect_failure \
        'base/controller.yaml.*selector app.kubernetes.io/component=controllr'

begin "hostPath type" && edit "$t/base/node.yaml" "            type: CharDevice" "            type: Chardevice" &&
    expect_failure "base/node.yaml.*hostPath type 'Chardevice'"

begin "unpinned image" && edit "$t/base/controller.yaml" "csi-provisioner:v6.3.0" "csi-provisioner:latest" &&
    edit "$t/base/kustomization.yaml" "    newTag: v6.3.0" "    newTag: latest" &&
    expect_failure "base/controller.yaml.*image .*csi-provisioner:latest.* is not pinned"

begin "binding to an undefined service account" && edit "$t/base/rbac-controller.yaml" "    name: daos-csi-controller
    namespace: daos-csi
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role" "    name: daos-csi-controler
    namespace: daos-csi
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role" &&
    expect_failure \
        'base/rbac-controller.yaml.*subject ServiceAccount daos-csi/daos-csi-controler is not defined'

begin "StorageClass naming another driver" && edit "$t/examples/storageclass.yaml" "provisioner: csi.daos.io" "provisioner: daos.csi.io" &&
    expect_failure \
        "examples/storageclass.yaml.*provisioner 'daos.csi.io' is not a CSIDriver"

begin "pod naming an undefined claim" && edit "$t/examples/pod.yaml" "claimName: daos-shared" "claimName: daos-share" &&
    expect_failure "examples/pod.yaml.*claim 'daos-share' is not defined"

# --- what a real cluster tripped on (issue 9)
begin "sidecar pinned to a release that does not exist" &&
    edit "$t/base/controller.yaml" "csi-provisioner:v6.3.0" "csi-provisioner:v6.4.0" &&
    edit "$t/base/kustomization.yaml" "    newTag: v6.3.0" "    newTag: v6.4.0" &&
    expect_failure \
        "base/controller.yaml.*container csi-provisioner: image '.*csi-provisioner:v6.4.0' is not in deploy/known-image-tags.txt"

begin "an overlay's images entry is checked too" &&
    cat >>"$t/overlays/agent-socket/kustomization.yaml" <<'EOF' &&
images:
  - name: registry.k8s.io/sig-storage/livenessprobe
    newTag: v2.99.0
EOF
    expect_failure \
        "patched by overlays/agent-socket.*container liveness-probe: image '.*livenessprobe:v2.99.0' is not in"

begin "GA feature gate on the provisioner" && edit "$t/base/controller.yaml" \
        "            - --enable-capacity" $'            - --feature-gates=Topology=false\n            - --enable-capacity' &&
    expect_failure \
        'base/controller.yaml.*container csi-provisioner: --feature-gates sets Topology, a GA gate'

begin "port hard-coded in args" && edit "$t/base/mounter.yaml" \
        $'            - --log-format=json\n          env:' $'            - --log-format=json\n            - --metrics-addr=:9816\n          env:' &&
    expect_failure \
        'base/mounter.yaml.*container daos-csi: port hard-coded in args \(--metrics-addr=:9816\)'

begin "sidecar port hard-coded in args" && edit "$t/base/controller.yaml" \
        $'            - --http-endpoint=:$(HEALTH_PORT)\n            - --probe-timeout=3s' $'            - --http-endpoint=:9813\n            - --probe-timeout=3s' &&
    expect_failure \
        'base/controller.yaml.*container liveness-probe: port hard-coded in args \(--http-endpoint=:9813\)'

begin "metrics port moved without its containerPort" && edit "$t/base/mounter.yaml" 'value: ":9816"' 'value: ":19816"' &&
    expect_failure \
        'base/mounter.yaml.*container daos-csi listens on 19816 \(DAOS_CSI_METRICS_ADDR\) but no container declares containerPort 19816' \
        'base/mounter.yaml.*container daos-csi declares containerPort 9816 \(metrics\) but nothing in the pod listens there'

begin "health port moved without its containerPort" && edit "$t/base/controller.yaml" 'value: "9818"' 'value: "19818"' &&
    expect_failure \
        'base/controller.yaml.*container csi-resizer listens on 19818 \(--http-endpoint\) but no container declares containerPort 19818'

begin "an overlay's sidecar port moved without its containerPort" &&
    edit "$t/overlays/snapshots/controller-snapshots.yaml" 'value: "9817"' 'value: "19817"' &&
    expect_failure \
        'base/controller.yaml \(patched by overlays/snapshots/controller-snapshots.yaml\).*container csi-snapshotter listens on 19817 \(--http-endpoint\) but no container declares containerPort 19817'

begin "scrape annotation names another port" && edit "$t/base/mounter.yaml" 'prometheus.io/port: "9816"' 'prometheus.io/port: "9815"' &&
    expect_failure \
        'base/mounter.yaml.*annotation prometheus.io/port=9815 is not the containerPort named metrics'

# Snapshots are an overlay: the base has neither the sidecar nor the variable, and the overlay
# must add both.
begin "snapshots overlay without DAOS_CSI_SNAPSHOTS" &&
    edit "$t/overlays/snapshots/controller-snapshots.yaml" \
        $'            - name: DAOS_CSI_SNAPSHOTS\n              value: "true"\n' '' &&
    edit "$t/overlays/snapshots/controller-snapshots.yaml" \
        $'        - name: daos-csi\n          env:\n' '' &&
    expect_failure \
        'base/controller.yaml \(patched by overlays/snapshots/controller-snapshots.yaml\): Deployment/daos-csi/daos-csi-controller: csi-snapshotter runs beside a daos-csi that does not advertise snapshots'

begin "snapshots overlay with DAOS_CSI_SNAPSHOTS=false" &&
    edit "$t/overlays/snapshots/controller-snapshots.yaml" \
        $'            - name: DAOS_CSI_SNAPSHOTS\n              value: "true"' \
        $'            - name: DAOS_CSI_SNAPSHOTS\n              value: "false"' &&
    expect_failure \
        'overlays/snapshots/controller-snapshots.yaml.*csi-snapshotter runs beside a daos-csi that does not advertise snapshots'

begin "csi-snapshotter added to the base, where snapshots are off" &&
    edit "$t/base/controller.yaml" $'        - name: csi-resizer\n          image: registry.k8s.io/sig-storage/csi-resizer:v2.2.1' \
        $'        - name: csi-snapshotter\n          image: registry.k8s.io/sig-storage/csi-snapshotter:v8.6.0\n          args: [--csi-address=/csi/csi.sock]\n          volumeMounts:\n            - name: socket-dir\n              mountPath: /csi\n        - name: csi-resizer\n          image: registry.k8s.io/sig-storage/csi-resizer:v2.2.1' &&
    expect_failure \
        'base/controller.yaml: Deployment/daos-csi/daos-csi-controller: csi-snapshotter runs beside a daos-csi that does not advertise snapshots'

begin "example claim larger than the documented pool" && edit "$t/examples/pvc.yaml" "storage: 1Gi" "storage: 10Gi" &&
    expect_failure \
        'examples/pvc.yaml: PersistentVolumeClaim/daos-shared: storage 10Gi \(10737418240 bytes\) is more than the documented pool \(8G, 8000000000 bytes\)'

# The pool size is a parameter (DOCUMENTED_POOL_SIZE, default read from deploy/compose): a smaller
# pool makes the real examples too big.
begin "a smaller documented pool makes the examples too big"
output=$(DOCUMENTED_POOL_SIZE=512M bash "$validate" "$t" 2>&1)
status=$?
if [ "$status" -eq 1 ] && grep -Eq 'examples/pvc.yaml.*storage 1Gi .*documented pool \(512M' <<<"$output" &&
        grep -Eq 'Kubernetes.*: 0 problem' <<<"$(bash "$validate" "$t" 2>&1)"; then
    ok "$case_name"
else
    not_ok "$case_name (exit $status)" "$output"
fi

# --- no PyPI: the validator fails with a status of its own and says nothing was validated,
# instead of skipping. A python3 without site packages (-S) stands for one without
# kubernetes-validate; pip is pointed at a closed port.
begin "no PyPI: a clear failure, not a skip"
mkdir -p "$work/nosite"
cat >"$work/nosite/python3" <<EOF
#!/bin/sh
exec $(command -v python3) -S "\$@"
EOF
chmod +x "$work/nosite/python3"
output=$(PATH="$work/nosite:$PATH" VALIDATE_VENV="$work/offline-venv" CI=true \
    PIP_INDEX_URL=http://127.0.0.1:9/simple PIP_RETRIES=0 PIP_TIMEOUT=2 PIP_NO_CACHE_DIR=1 \
    PIP_CONFIG_FILE=/dev/null bash "$validate" "$t" 2>&1)
status=$?
if [ "$status" -eq 2 ] && grep -q 'cannot install kubernetes-validate==1.37.0 and PyYAML from PyPI (offline?); nothing was validated' <<<"$output"; then
    ok "$case_name"
else
    not_ok "$case_name (exit $status, expected 2)" "$output"
fi

# --- the comparison with kubectl kustomize reports a difference (a stand-in kubectl that
# renders the base with one field changed)
begin "kubectl parity"
mkdir -p "$work/fakebin"
cat >"$work/fakebin/kubectl" <<'EOF'
#!/usr/bin/env bash
# Stand-in for `kubectl kustomize DIR`: the files of DIR's base as they are, the mounter's
# update strategy changed, so the validator must see a difference.
dir=$2
[ -d "$dir/../../base" ] && dir=$dir/../../base
for f in namespace csidriver rbac-controller rbac-node controller node mounter; do
    echo "---"
    sed -e 's/type: OnDelete/type: RollingUpdate/' "$dir/$f.yaml"
done
EOF
chmod +x "$work/fakebin/kubectl"
output=$(PATH="$work/fakebin:$PATH" bash "$validate" "$t" 2>&1)
status=$?
if [ "$status" -eq 1 ] && grep -Eq \
        'base/kustomization.yaml: DaemonSet/daos-csi/daos-csi-mounter differs from kubectl kustomize at \.spec\.updateStrategy\.type' \
        <<<"$output"; then
    ok "a render that differs from kubectl kustomize is reported"
else
    not_ok "a render that differs from kubectl kustomize is reported (exit $status)" "$output"
fi

echo "validate-manifests-test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
