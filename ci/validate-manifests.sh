#!/usr/bin/env bash
# Offline validation of the Kubernetes manifests in deploy/kubernetes (or the tree given as $1).
#
#   bash ci/validate-manifests.sh [TREE]
#
# What it checks, without a cluster:
#   - every YAML file parses;
#   - every kustomization (base, overlays) renders: its resources and patches exist inside its
#     root, its patches find their targets. Rendering is done by a small implementation of the
#     kustomize subset this repository uses (resources, namespace, images, strategic-merge
#     patches); when kubectl is on PATH its built-in kustomize renders too and both results
#     must agree, which keeps the small implementation honest;
#   - every rendered object, and every YAML document outside a kustomization (examples), against
#     the Kubernetes OpenAPI schemas of the PyPI package kubernetes-validate, in strict mode
#     (unknown fields are errors), for each version in $KUBE_VERSIONS;
#   - what the schemas cannot see: selectors match pod labels, mounts name declared volumes,
#     hostPath types, Bidirectional only when privileged, unique ports, pinned images, bindings
#     and service accounts that exist, storage classes, claims and CSI drivers that exist;
#   - what a real cluster tripped on (issue 9): every image tag is one known to exist
#     (deploy/known-image-tags.txt); no port is hard-coded in args (ports are set by name in an
#     environment variable, so an overlay can move them), every port a container listens on is
#     a declared containerPort and every declared one is listened on, the prometheus.io/port
#     annotation names the metrics port; no GA feature gate is set (Topology); every claim and
#     volume asks for no more than the documented pool holds (DAOS_POOL_SIZE's default in
#     deploy/compose/compose.yaml), or capacity tracking keeps the example's pod Pending;
#     csi-snapshotter only beside a daos-csi that advertises snapshots (else it exits).
# Exit 0 when all is well; 1 with one line per problem (naming the file) otherwise; 2 when the
# validator itself cannot run (no kubernetes-validate and no PyPI to install it from: nothing is
# skipped silently).
#
# Needs PyPI reachable on first use: it installs kubernetes-validate and PyYAML into
# target/manifest-venv (once; later runs reuse it). Offline, install them beforehand into the
# system python3 or into a virtual environment named by VALIDATE_VENV.
#
# Environment: KUBE_VERSIONS (default "1.31.0 1.37.0"), VALIDATE_KUBECTL (auto|0|1, default auto),
# VALIDATE_VENV (default target/manifest-venv), KNOWN_IMAGE_TAGS (default
# deploy/known-image-tags.txt), DOCUMENTED_POOL_SIZE (default: read from
# deploy/compose/compose.yaml).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tree=${1:-$repo/deploy/kubernetes}
[ -d "$tree" ] || { echo "validate-manifests: no such directory: $tree" >&2; exit 2; }

# Debian's python3 refuses pip installs into the system (PEP 668), so the validator's packages
# live in a virtual environment of the repository's own (under target/, which git ignores).
python=python3
if ! python3 -c 'import kubernetes_validate, yaml' 2>/dev/null; then
    venv=${VALIDATE_VENV:-$repo/target/manifest-venv}
    if ! "$venv/bin/python" -c 'import kubernetes_validate, yaml' 2>/dev/null; then
        # No silent skip, under CI or not: without the schemas nothing is validated, so say so
        # and fail with a status of its own.
        if ! python3 -m venv "$venv" >&2; then
            echo "validate-manifests: cannot create a virtual environment in $venv" \
                "(Debian: apt-get install python3-venv); nothing was validated" >&2
            exit 2
        fi
        if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
                'kubernetes-validate==1.37.0' 'PyYAML>=6,<7' >&2; then
            echo "validate-manifests: cannot install kubernetes-validate==1.37.0 and PyYAML" \
                "from PyPI (offline?); nothing was validated. Install them into python3 or" \
                "into the virtual environment VALIDATE_VENV names ($venv), then run again." >&2
            exit 2
        fi
    fi
    python=$venv/bin/python
fi

known_tags=${KNOWN_IMAGE_TAGS:-$repo/deploy/known-image-tags.txt}
[ -f "$known_tags" ] || { echo "validate-manifests: no such file: $known_tags" >&2; exit 2; }
pool_size=${DOCUMENTED_POOL_SIZE:-$(sed -n 's/.*DAOS_POOL_SIZE:-\([^}]*\)}.*/\1/p' \
    "$repo/deploy/compose/compose.yaml" | head -n 1)}
[ -n "$pool_size" ] || {
    echo "validate-manifests: cannot read DAOS_POOL_SIZE's default from deploy/compose/compose.yaml" >&2
    exit 2
}

exec "$python" - "$tree" "$known_tags" "$pool_size" "$repo" <<'PY'
import copy
import os
import re
import shutil
import subprocess
import sys

import yaml
import kubernetes_validate
from kubernetes_validate.utils import (SchemaNotFoundError, ValidationError,
                                       VersionNotSupportedError)

TREE = os.path.abspath(sys.argv[1])
KNOWN_TAGS_FILE = sys.argv[2]
DOCUMENTED_POOL_SIZE = sys.argv[3]
REPO = os.path.abspath(sys.argv[4])
VERSIONS = os.environ.get("KUBE_VERSIONS", "1.31.0 1.37.0").split()
USE_KUBECTL = os.environ.get("VALIDATE_KUBECTL", "auto")

errors = []


def rel(path):
    return os.path.relpath(path, TREE)


def error(origin, message):
    errors.append(f"ERROR {origin}: {message}")


class RenderError(Exception):
    pass


class Item:
    """One object and the file it came from (plus the patches applied to it)."""

    def __init__(self, obj, origin):
        self.obj = obj
        self.origin = origin

    def ident(self):
        meta = self.obj.get("metadata") or {}
        return (self.obj.get("kind"), meta.get("namespace"), meta.get("name"))

    def label(self):
        kind, ns, name = self.ident()
        return f"{kind}/{ns + '/' if ns else ''}{name}"


# ---------------------------------------------------------------- loading YAML

_docs_cache = {}


def load_docs(path):
    """Documents of a YAML file (empty ones dropped); a parse error is a RenderError."""
    if path not in _docs_cache:
        try:
            with open(path) as f:
                docs = [d for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as e:
            raise RenderError(f"{rel(path)}: YAML does not parse: {e}".replace("\n", " "))
        for i, d in enumerate(docs):
            if not isinstance(d, dict):
                raise RenderError(f"{rel(path)}: document {i + 1} is not a mapping")
        _docs_cache[path] = docs
    return copy.deepcopy(_docs_cache[path])


KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def kustomization_file(directory):
    for name in KUSTOMIZATION_NAMES:
        p = os.path.join(directory, name)
        if os.path.isfile(p):
            return p
    return None


# ---------------------------------------------------------------- kustomize subset

# Kinds that have no namespace (those that can appear here).
CLUSTER_SCOPED = {
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CSIDriver", "CSINode", "StorageClass",
    "PersistentVolume", "PriorityClass", "CustomResourceDefinition", "VolumeSnapshotClass",
    "VolumeSnapshotContent", "VolumeAttachment", "Node", "RuntimeClass",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
}

# Strategic-merge keys of the lists a patch of ours can touch (from the Kubernetes API's
# patchMergeKey tags). Lists not named here are replaced whole, as kustomize does.
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "volumes": "name", "env": "name", "volumeMounts": "mountPath",
    "volumeDevices": "devicePath", "ports": "containerPort", "imagePullSecrets": "name",
    "hostAliases": "ip", "topologySpreadConstraints": "topologyKey", "resourceClaims": "name",
}

SUPPORTED_KUSTOMIZATION_FIELDS = {"apiVersion", "kind", "resources", "namespace", "images",
                                  "patches"}


def strategic_merge(base, patch, where):
    """Apply a strategic-merge patch (the subset kustomize applies for us) to base."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        out = copy.deepcopy(patch)
        del out["$patch"]
        return out
    out = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            raise RenderError(f"{where}: patch directive {key} is not supported here")
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict):
            out[key] = strategic_merge(out.get(key), value, where)
        elif isinstance(value, list) and key in MERGE_KEYS and isinstance(out.get(key), list):
            out[key] = merge_list(out[key], value, MERGE_KEYS[key], where)
        else:
            out[key] = strip_directives(copy.deepcopy(value))
    return out


def strip_directives(value):
    if isinstance(value, list):
        return [strip_directives(v) for v in value
                if not (isinstance(v, dict) and v.get("$patch") == "delete")]
    if isinstance(value, dict):
        return {k: strip_directives(v) for k, v in value.items() if k != "$patch"}
    return value


def merge_list(base, patch, key, where):
    """Merge a keyed list: patched elements first in patch order, then the untouched rest
    (the order the API machinery's strategic merge produces without $setElementOrder)."""
    by_key = {}
    for element in base:
        if isinstance(element, dict) and key in element:
            by_key[element[key]] = element
    merged, touched = [], set()
    for element in patch:
        if not isinstance(element, dict) or key not in element:
            raise RenderError(f"{where}: list element without its merge key {key!r}: {element}")
        k = element[key]
        touched.add(k)
        if element.get("$patch") == "delete":
            continue
        merged.append(strategic_merge(by_key.get(k, {}), element, where))
    for element in base:
        if not (isinstance(element, dict) and element.get(key) in touched):
            merged.append(element)
    return merged


def split_image(image):
    """(name, tag, digest) of an image reference."""
    digest = None
    if "@" in image:
        image, digest = image.split("@", 1)
    tag = None
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        image, tag = image[:colon], image[colon + 1:]
    return image, tag, digest


def pod_specs(obj):
    """The pod specs inside an object (Pod, workloads, CronJob)."""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    if kind == "Pod":
        return [spec]
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec") or {})
    template = spec.get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        return [template["spec"]]
    return []


def all_containers(podspec):
    return [c for field in ("initContainers", "containers", "ephemeralContainers")
            for c in (podspec.get(field) or []) if isinstance(c, dict)]


def apply_images(items, images, where):
    for entry in images:
        if not isinstance(entry, dict) or "name" not in entry:
            raise RenderError(f"{where}: images entry without a name: {entry}")
        unknown = set(entry) - {"name", "newName", "newTag", "digest"}
        if unknown:
            raise RenderError(f"{where}: images entry field(s) not supported: {sorted(unknown)}")
    for item in items:
        for podspec in pod_specs(item.obj):
            for container in all_containers(podspec):
                name, tag, digest = split_image(str(container.get("image", "")))
                for entry in images:
                    if entry["name"] != name:
                        continue
                    name = entry.get("newName", name)
                    if "digest" in entry:
                        tag, digest = None, entry["digest"]
                    elif "newTag" in entry:
                        tag, digest = str(entry["newTag"]), None
                    container["image"] = name + (f":{tag}" if tag else "") + \
                        (f"@{digest}" if digest else "")
                    break


def apply_namespace(items, namespace):
    for item in items:
        obj = item.obj
        if obj.get("kind") not in CLUSTER_SCOPED:
            obj.setdefault("metadata", {})["namespace"] = namespace
        if obj.get("kind") in ("RoleBinding", "ClusterRoleBinding"):
            for subject in obj.get("subjects") or []:
                if subject.get("kind") == "ServiceAccount" and \
                        subject.get("namespace") in (None, "", "default"):
                    subject["namespace"] = namespace


def inside(root, path):
    root = os.path.realpath(root)
    path = os.path.realpath(path)
    return path == root or path.startswith(root + os.sep)


used_files = set()     # every file a kustomization took as a resource or a patch
patch_files = set()    # those taken as patches (partial objects: not validated alone)


def render(directory, stack=()):
    """Render the kustomization in directory to a list of Items."""
    directory = os.path.realpath(directory)
    kfile = kustomization_file(directory)
    if kfile is None:
        raise RenderError(f"{rel(directory)}: no kustomization.yaml")
    if directory in stack:
        raise RenderError(f"{rel(kfile)}: kustomizations include each other")
    used_files.add(kfile)
    docs = load_docs(kfile)
    if len(docs) != 1:
        raise RenderError(f"{rel(kfile)}: expected one document")
    k = docs[0]
    unknown = set(k) - SUPPORTED_KUSTOMIZATION_FIELDS
    if unknown:
        raise RenderError(f"{rel(kfile)}: field(s) {sorted(unknown)} are not supported by "
                          f"ci/validate-manifests.sh (extend it, or use the supported ones)")
    if k.get("kind", "Kustomization") != "Kustomization":
        raise RenderError(f"{rel(kfile)}: kind must be Kustomization")

    items = []
    for entry in k.get("resources") or []:
        path = os.path.normpath(os.path.join(directory, str(entry)))
        if os.path.isdir(path):
            items.extend(render(path, stack + (directory,)))
        elif os.path.isfile(path):
            if not inside(directory, path):
                raise RenderError(f"{rel(kfile)}: resource {entry} is outside the "
                                  f"kustomization root (kustomize refuses it)")
            used_files.add(path)
            items.extend(Item(d, rel(path)) for d in load_docs(path))
        else:
            raise RenderError(f"{rel(kfile)}: resource {entry} does not exist")

    seen = {}
    for item in items:
        if item.ident() in seen:
            raise RenderError(f"{rel(kfile)}: {item.label()} is defined twice "
                              f"({seen[item.ident()]} and {item.origin})")
        seen[item.ident()] = item.origin

    for entry in k.get("patches") or []:
        items = apply_patch(directory, kfile, entry, items)
    if "namespace" in k:
        apply_namespace(items, k["namespace"])
    if "images" in k:
        apply_images(items, k["images"], rel(kfile))
    return items


def apply_patch(directory, kfile, entry, items):
    if not isinstance(entry, dict) or set(entry) - {"path", "patch", "target"}:
        raise RenderError(f"{rel(kfile)}: patches entry not supported: {entry}")
    if "path" in entry:
        path = os.path.normpath(os.path.join(directory, str(entry["path"])))
        if not os.path.isfile(path):
            raise RenderError(f"{rel(kfile)}: patch {entry['path']} does not exist")
        if not inside(directory, path):
            raise RenderError(f"{rel(kfile)}: patch {entry['path']} is outside the "
                              f"kustomization root")
        used_files.add(path)
        patch_files.add(path)
        where, patch_docs = rel(path), load_docs(path)
    elif "patch" in entry:
        where = f"{rel(kfile)} (inline patch)"
        try:
            patch_docs = [d for d in yaml.safe_load_all(entry["patch"]) if d]
        except yaml.YAMLError as e:
            raise RenderError(f"{where}: YAML does not parse: {e}")
    else:
        raise RenderError(f"{rel(kfile)}: patches entry needs path or patch")
    for patch in patch_docs:
        if isinstance(patch, list) or "op" in patch:
            raise RenderError(f"{where}: JSON 6902 patches are not supported here")
        target = entry.get("target") or {}
        meta = patch.get("metadata") or {}
        kind = target.get("kind", patch.get("kind"))
        name = target.get("name", meta.get("name"))
        namespace = target.get("namespace", meta.get("namespace"))
        hits = 0
        for item in items:
            ikind, ins, iname = item.ident()
            if kind and ikind != kind or name and iname != name:
                continue
            if namespace and ins and ins != namespace:
                continue
            body = {k: v for k, v in patch.items() if k not in ("apiVersion", "kind", "metadata")}
            patched_meta = {k: v for k, v in meta.items() if k not in ("name", "namespace")}
            if patched_meta:
                body["metadata"] = patched_meta
            item.obj = strategic_merge(item.obj, body, where)
            item.origin = f"{item.origin} (patched by {where})"
            hits += 1
        if hits == 0:
            raise RenderError(f"{where}: patch matches no resource "
                              f"(kind={kind}, name={name}, namespace={namespace})")
    return items


# ---------------------------------------------------------------- kubectl parity

def kubectl_render(directory):
    proc = subprocess.run(["kubectl", "kustomize", directory], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RenderError(f"{rel(directory)}: kubectl kustomize failed: "
                          f"{proc.stderr.strip()}")
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def first_difference(a, b, path=""):
    if type(a) is not type(b):
        return f"{path or '.'}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                return f"{path}.{key}: only in {'kubectl' if key in b else 'ours'}"
            d = first_difference(a[key], b[key], f"{path}.{key}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} elements != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {a!r} != {b!r}"


def check_parity(directory, items):
    theirs = {}
    for obj in kubectl_render(directory):
        meta = obj.get("metadata") or {}
        theirs[(obj.get("kind"), meta.get("namespace"), meta.get("name"))] = obj
    ours = {item.ident(): item for item in items}
    where = rel(kustomization_file(directory))
    for ident in sorted(set(ours) | set(theirs), key=str):
        if ident not in theirs:
            error(where, f"{ours[ident].label()} rendered here but not by kubectl kustomize")
        elif ident not in ours:
            error(where, f"{ident} rendered by kubectl kustomize but not here")
        else:
            d = first_difference(ours[ident].obj, theirs[ident])
            if d:
                error(where, f"{ours[ident].label()} differs from kubectl kustomize at {d}")


# ---------------------------------------------------------------- checks

HOSTPATH_TYPES = {"", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket",
                  "CharDevice", "BlockDevice"}


# Kinds defined by CustomResourceDefinitions, which the Kubernetes schemas do not cover. Only
# these are accepted, each checked here against the fields of its CRD (external-snapshotter's
# client/config/crd, v1), strictly: unknown fields are errors. Any other CRD kind still fails
# with "schema not found". Every run that checks one says so (crd_checked).
CRD_KINDS = {
    ("snapshot.storage.k8s.io/v1", "VolumeSnapshotClass"): {
        "fields": {"apiVersion", "kind", "metadata", "driver", "deletionPolicy", "parameters"},
        "required": ["driver", "deletionPolicy"],
    },
    ("snapshot.storage.k8s.io/v1", "VolumeSnapshot"): {
        "fields": {"apiVersion", "kind", "metadata", "spec", "status"},
        "required": ["spec"],
    },
}
METADATA_FIELDS = {"name", "namespace", "labels", "annotations"}
crd_checked = {}


def crd_check(item):
    obj = item.obj
    where = f"{item.label()} (CRD rules of validate-manifests)"
    kind = obj["kind"]
    crd_checked[kind] = crd_checked.get(kind, 0) + 1
    rules = CRD_KINDS[(obj["apiVersion"], kind)]
    for field in sorted(set(obj) - rules["fields"]):
        error(item.origin, f"{where}: field {field!r} is not in the {kind} CRD")
    for field in rules["required"]:
        if field not in obj:
            error(item.origin, f"{where}: {field} is required")
    for field in sorted(set(obj.get("metadata") or {}) - METADATA_FIELDS):
        error(item.origin, f"{where}: metadata.{field} is not supported here")
    if kind == "VolumeSnapshotClass":
        if not isinstance(obj.get("driver"), str):
            error(item.origin, f"{where}: driver must be a string")
        if obj.get("deletionPolicy") not in ("Delete", "Retain"):
            error(item.origin, f"{where}: deletionPolicy must be Delete or Retain")
        parameters = obj.get("parameters", {})
        if not isinstance(parameters, dict) or \
                not all(isinstance(v, str) for v in parameters.values()):
            error(item.origin, f"{where}: parameters must map strings to strings")
    if kind == "VolumeSnapshot":
        spec = obj.get("spec") or {}
        for field in sorted(set(spec) - {"source", "volumeSnapshotClassName"}):
            error(item.origin, f"{where}: spec.{field} is not in the VolumeSnapshot CRD")
        source = spec.get("source")
        sources = {"persistentVolumeClaimName", "volumeSnapshotContentName"}
        if not isinstance(source, dict) or len(source) != 1 or \
                set(source) - sources or not all(isinstance(v, str) for v in source.values()):
            error(item.origin, f"{where}: spec.source must name exactly one of "
                               f"{sorted(sources)}")


def schema_check(item):
    obj = item.obj
    for field in ("apiVersion", "kind"):
        if not isinstance(obj.get(field), str):
            error(item.origin, f"document without {field}")
            return
    if not isinstance((obj.get("metadata") or {}).get("name"), str):
        error(item.origin, f"{obj['kind']} without metadata.name")
        return
    if (obj["apiVersion"], obj["kind"]) in CRD_KINDS:
        crd_check(item)
        return
    for version in VERSIONS:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except ValidationError as e:
            path = ".".join(str(p) for p in e.path) or "(top)"
            error(item.origin, f"{item.label()} (Kubernetes {e.version}): {path}: {e.message}")
            return
        except SchemaNotFoundError as e:
            error(item.origin, f"{item.label()}: {e.message}")
            return
        except VersionNotSupportedError as e:
            sys.exit(f"FATAL kubernetes-validate does not know Kubernetes {e.version}")


def load_known_tags(path):
    """{repository: {tag, ...}} from the known-tags file (`repository tag where-seen` lines)."""
    known = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            if len(fields) < 3:
                sys.exit(f"FATAL {path}:{number}: expected `repository tag where-it-was-seen`")
            known.setdefault(fields[0], set()).add(fields[1])
    return known


KNOWN_TAGS = load_known_tags(KNOWN_TAGS_FILE)
KNOWN_TAGS_LABEL = (os.path.relpath(KNOWN_TAGS_FILE, REPO)
                    if os.path.abspath(KNOWN_TAGS_FILE).startswith(REPO + os.sep)
                    else KNOWN_TAGS_FILE)


def check_image_exists(where, cname, image):
    """A tag must be one known to exist (digests are immutable and left alone)."""
    name, tag, digest = split_image(image)
    if digest or tag is None:
        return
    if tag not in KNOWN_TAGS.get(name, set()):
        errors.append(f"ERROR {where}: container {cname}: image {image!r} is not in "
                      f"{KNOWN_TAGS_LABEL} (tags known to exist); pull it once and add it "
                      f"there, saying where it was seen")


# Feature gates that reached GA: setting one is a warning now and refused once the gate is
# removed (external-provisioner's Topology gate; issue 9 saw the warning with v6.3.0). Without
# the gate the provisioner still sends no topology to a driver that does not advertise
# VOLUME_ACCESSIBILITY_CONSTRAINTS (its pkg/controller/topology.go SupportsTopology needs both).
GA_FEATURE_GATES = {"Topology"}


def check_feature_gates(where, cname, args):
    for arg in args:
        if not arg.startswith("--feature-gates="):
            continue
        for gate in arg.split("=", 1)[1].split(","):
            name = gate.split("=", 1)[0].strip()
            if name in GA_FEATURE_GATES:
                errors.append(f"ERROR {where}: container {cname}: --feature-gates sets {name}, "
                              f"a GA gate (a warning now, refused once removed): drop it")


# --------------------------------------------------------------- ports

# Flags whose value is a listen address or port ([host]:port, or a bare port for *-port).
PORT_FLAG = re.compile(r"^--(?P<flag>[a-z][a-z0-9-]*)=(?P<value>.*)$")
# Environment variables of daos-csi that carry a listen address.
ADDRESS_ENV = {"DAOS_CSI_METRICS_ADDR"}


def literal_env(container):
    return {e.get("name"): str(e["value"]) for e in container.get("env") or []
            if isinstance(e, dict) and "value" in e}


def expand(arg, env):
    """Kubernetes' $(VAR) expansion of args: a defined variable is replaced, $$ escapes."""
    def one(m):
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", one, arg)


def port_of(flag, value):
    """The TCP port a listen flag's value names, or None when it names none."""
    m = re.fullmatch(r"(?:\[[^\]]*\]|[^:/]*):(\d+)", value)
    if m:
        return int(m.group(1))
    if flag.endswith("port") and value.isdigit():
        return int(value)
    return None


def listen_ports(where, container):
    """(port, what) of every port a container listens on; a port written as a literal in
    args is an error: only a variable, patched by name, can be moved without patching args
    by position."""
    cname = container.get("name")
    env = literal_env(container)
    found = []
    for raw in [str(a) for a in container.get("args") or []]:
        m = PORT_FLAG.match(raw)
        if not m:
            continue
        flag, value = m.group("flag"), m.group("value")
        if port_of(flag, value) is not None:
            errors.append(f"ERROR {where}: container {cname}: port hard-coded in args "
                          f"({raw}): set it by name in an environment variable, so an "
                          f"overlay can move it (daos-csi: DAOS_CSI_METRICS_ADDR; a sidecar: "
                          f"--{flag}=:$(HEALTH_PORT) and env HEALTH_PORT)")
            continue
        port = port_of(flag, expand(value, env))
        if port is not None:
            found.append((port, f"--{flag}"))
    for name in sorted(ADDRESS_ENV & set(env)):
        port = port_of("addr", env[name].strip())
        if port is not None:
            found.append((port, name))
    return found


def check_snapshotter(item, podspec):
    """csi-snapshotter exits at start unless the driver advertises CREATE_DELETE_SNAPSHOT, which
    daos-csi does only with --snapshots (DAOS_CSI_SNAPSHOTS)."""
    containers = all_containers(podspec)
    if not any("/csi-snapshotter:" in str(c.get("image", "")) or
               str(c.get("image", "")).endswith("/csi-snapshotter") for c in containers):
        return
    for container in containers:
        if container.get("name") != "daos-csi":
            continue
        env = literal_env(container)
        args = [str(a) for a in container.get("args") or []]
        on = env.get("DAOS_CSI_SNAPSHOTS", "").strip().lower() in ("true", "1", "yes", "on") or \
            any(a in ("--snapshots", "--snapshots=true") for a in args)
        if not on:
            errors.append(f"ERROR {item.origin}: {item.label()}: csi-snapshotter runs beside a "
                          f"daos-csi that does not advertise snapshots (DAOS_CSI_SNAPSHOTS="
                          f"\"true\"): the sidecar exits at start")


def check_ports(item, podspec, annotations):
    where = f"{item.origin}: {item.label()}"
    declared = {}
    for container in all_containers(podspec):
        for port in container.get("ports") or []:
            declared[port.get("containerPort")] = (container.get("name"), port.get("name"))
    listened = set()
    for container in all_containers(podspec):
        for port, what in listen_ports(where, container):
            listened.add(port)
            if port not in declared:
                errors.append(f"ERROR {where}: container {container.get('name')} listens on "
                              f"{port} ({what}) but no container declares containerPort "
                              f"{port}: its probe or scrape would not follow")
    for port, (cname, pname) in sorted(declared.items(), key=lambda kv: str(kv[0])):
        if port not in listened:
            errors.append(f"ERROR {where}: container {cname} declares containerPort {port} "
                          f"({pname}) but nothing in the pod listens there")
    scrape = (annotations or {}).get("prometheus.io/port")
    if scrape is not None:
        metrics = {p for p, (_, pname) in declared.items() if pname == "metrics"}
        if not str(scrape).isdigit() or int(scrape) not in metrics:
            errors.append(f"ERROR {where}: annotation prometheus.io/port={scrape} is not the "
                          f"containerPort named metrics ({sorted(metrics) or 'none'})")


# --------------------------------------------------------------- sizes

def parse_quantity(text):
    """Bytes of a Kubernetes quantity (1Gi, 500M, 1e9, 1024); None when unparsable."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(?:([eE]\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m))?",
                     str(text).strip())
    if not m:
        return None
    number, exponent, suffix = m.groups()
    value = float(number) * (10 ** int(exponent[1:]) if exponent else 1)
    binary = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
    decimal = {"k": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}
    if suffix in binary:
        value *= 1024 ** binary[suffix]
    elif suffix in decimal:
        value *= 1000 ** decimal[suffix]
    elif suffix == "m":
        value /= 1000
    return int(value)


def parse_dmg_size(text):
    """Bytes of a `dmg pool create --size` value (go-humanize: G = 10^9, GiB = 2^30)."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([A-Za-z]*)", text.strip())
    if not m:
        sys.exit(f"FATAL documented pool size {text!r} does not parse")
    units = {"": 1, "b": 1}
    for i, p in enumerate("kmgtpe", 1):
        units[p] = units[p + "b"] = 1000 ** i
        units[p + "i"] = units[p + "ib"] = 1024 ** i
    unit = m.group(2).lower()
    if unit not in units:
        sys.exit(f"FATAL documented pool size {text!r}: unknown unit")
    return int(float(m.group(1)) * units[unit])


POOL_BYTES = parse_dmg_size(DOCUMENTED_POOL_SIZE)


def check_size(item):
    obj, kind = item.obj, item.obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "PersistentVolumeClaim":
        size = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
        consequence = "with capacity tracking its pod stays Pending"
    elif kind == "PersistentVolume":
        size = (spec.get("capacity") or {}).get("storage")
        consequence = "nominal for a static volume, but an example must fit it"
    else:
        return
    if size is None:
        return
    size_bytes = parse_quantity(size)
    if size_bytes is not None and size_bytes > POOL_BYTES:
        errors.append(f"ERROR {item.origin}: {item.label()}: storage {size} ({size_bytes} "
                      f"bytes) is more than the documented pool ({DOCUMENTED_POOL_SIZE}, "
                      f"{POOL_BYTES} bytes) holds: {consequence}")


def image_pinned(image):
    _, tag, digest = split_image(image)
    return bool(digest) or (tag is not None and tag != "latest")


def check_pod_spec(item, podspec, template_labels, selector):
    where = f"{item.origin}: {item.label()}"
    if selector is not None:
        labels = template_labels or {}
        for k, v in (selector.get("matchLabels") or {}).items():
            if labels.get(k) != v:
                errors.append(f"ERROR {where}: selector {k}={v} does not match the pod labels")
    volumes = {}
    for volume in podspec.get("volumes") or []:
        name = volume.get("name")
        if name in volumes:
            errors.append(f"ERROR {where}: volume {name} declared twice")
        volumes[name] = volume
        host_path = volume.get("hostPath")
        if isinstance(host_path, dict) and host_path.get("type", "") not in HOSTPATH_TYPES:
            errors.append(f"ERROR {where}: volume {name}: hostPath type "
                          f"{host_path.get('type')!r} is not one Kubernetes knows")
    names, ports, port_names = set(), set(), set()
    for container in all_containers(podspec):
        cname = container.get("name")
        if cname in names:
            errors.append(f"ERROR {where}: container {cname} declared twice")
        names.add(cname)
        image = str(container.get("image", ""))
        if not image_pinned(image):
            errors.append(f"ERROR {where}: container {cname}: image {image!r} is not pinned "
                          f"to a tag or digest")
        else:
            check_image_exists(where, cname, image)
        check_feature_gates(where, cname, [str(a) for a in container.get("args") or []])
        privileged = (container.get("securityContext") or {}).get("privileged") is True
        mount_paths = set()
        for mount in container.get("volumeMounts") or []:
            if mount.get("name") not in volumes:
                errors.append(f"ERROR {where}: container {cname} mounts volume "
                              f"{mount.get('name')!r}, which the pod does not declare")
            if mount.get("mountPath") in mount_paths:
                errors.append(f"ERROR {where}: container {cname} mounts twice at "
                              f"{mount.get('mountPath')}")
            mount_paths.add(mount.get("mountPath"))
            if mount.get("mountPropagation") == "Bidirectional" and not privileged:
                errors.append(f"ERROR {where}: container {cname}: Bidirectional mount "
                              f"propagation needs a privileged container")
        for port in container.get("ports") or []:
            key = (port.get("containerPort"), port.get("protocol", "TCP"))
            if key in ports:
                errors.append(f"ERROR {where}: port {key[0]}/{key[1]} declared twice")
            ports.add(key)
            if "name" in port:
                if port["name"] in port_names:
                    errors.append(f"ERROR {where}: port name {port['name']} used twice")
                port_names.add(port["name"])
        for probe_field in ("livenessProbe", "readinessProbe", "startupProbe"):
            probe = container.get(probe_field) or {}
            port = (probe.get("httpGet") or {}).get("port")
            if isinstance(port, str) and port not in port_names and \
                    not any(port == p.get("name") for c in all_containers(podspec)
                            for p in c.get("ports") or []):
                errors.append(f"ERROR {where}: container {cname}: {probe_field} names port "
                              f"{port!r}, which no container declares")
    # Kubernetes accepts an unused volume, but still sets it up: an unused hostPath of type
    # Directory keeps the pod from starting where the path is missing (a patch that renamed
    # a volume instead of replacing it leaves exactly that behind).
    mounted = {m.get("name") for c in all_containers(podspec) for m in c.get("volumeMounts") or []}
    for name in volumes:
        if name not in mounted:
            errors.append(f"ERROR {where}: volume {name} is declared but no container mounts it")


def check_set(items, csi_drivers, storage_classes, where, snapshot_classes=frozenset()):
    """Cross-object checks within one rendered set (a kustomization, or a directory)."""
    by_kind = {}
    for item in items:
        by_kind.setdefault(item.obj.get("kind"), []).append(item)

    def names(kind):
        return {(i.ident()[1], i.ident()[2]) for i in by_kind.get(kind, [])}

    namespaces = {i.ident()[2] for i in by_kind.get("Namespace", [])}
    accounts = names("ServiceAccount")
    pvcs = {i.ident()[2] for i in by_kind.get("PersistentVolumeClaim", [])}
    pvs = {i.ident()[2] for i in by_kind.get("PersistentVolume", [])}

    for item in items:
        obj, kind = item.obj, item.obj.get("kind")
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace")
        label = f"{item.origin}: {item.label()}"
        check_size(item)
        if namespaces and kind not in CLUSTER_SCOPED and ns not in namespaces:
            errors.append(f"ERROR {label}: namespace {ns!r} is not one this set defines")
        for podspec in pod_specs(obj):
            if kind == "Pod":
                selector, template_labels = None, None
                annotations = meta.get("annotations")
            else:
                template = (obj.get("spec") or {}).get("template") or {}
                selector = (obj.get("spec") or {}).get("selector")
                template_labels = (template.get("metadata") or {}).get("labels")
                annotations = (template.get("metadata") or {}).get("annotations")
            check_pod_spec(item, podspec, template_labels, selector)
            check_ports(item, podspec, annotations)
            check_snapshotter(item, podspec)
            account = podspec.get("serviceAccountName")
            if accounts and account and account != "default" and (ns, account) not in accounts:
                errors.append(f"ERROR {label}: service account {account!r} is not defined")
            for volume in podspec.get("volumes") or []:
                claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
                if claim and claim not in pvcs:
                    errors.append(f"ERROR {label}: claim {claim!r} is not defined here")
                driver = (volume.get("csi") or {}).get("driver")
                if driver and driver not in csi_drivers:
                    errors.append(f"ERROR {label}: CSI driver {driver!r} is not defined")
        if kind in ("RoleBinding", "ClusterRoleBinding"):
            ref = obj.get("roleRef") or {}
            role_kind = ref.get("kind")
            role_names = names(role_kind)
            role_ns = None if role_kind == "ClusterRole" else ns
            if (role_ns, ref.get("name")) not in role_names:
                errors.append(f"ERROR {label}: roleRef {role_kind}/{ref.get('name')} is not "
                              f"defined")
            for subject in obj.get("subjects") or []:
                if subject.get("kind") == "ServiceAccount" and \
                        (subject.get("namespace"), subject.get("name")) not in accounts:
                    errors.append(f"ERROR {label}: subject ServiceAccount "
                                  f"{subject.get('namespace')}/{subject.get('name')} is not "
                                  f"defined")
        if kind == "StorageClass" and obj.get("provisioner") not in csi_drivers:
            errors.append(f"ERROR {label}: provisioner {obj.get('provisioner')!r} is not a "
                          f"CSIDriver defined in this tree")
        if kind == "PersistentVolume":
            driver = ((obj.get("spec") or {}).get("csi") or {}).get("driver")
            if driver is not None and driver not in csi_drivers:
                errors.append(f"ERROR {label}: CSI driver {driver!r} is not defined")
        if kind == "VolumeSnapshotClass" and obj.get("driver") not in csi_drivers:
            errors.append(f"ERROR {label}: driver {obj.get('driver')!r} is not a CSIDriver "
                          f"defined in this tree")
        if kind == "VolumeSnapshot":
            spec = obj.get("spec") or {}
            sclass = spec.get("volumeSnapshotClassName")
            if sclass and sclass not in snapshot_classes:
                errors.append(f"ERROR {label}: snapshot class {sclass!r} is not defined in "
                              f"this tree")
            claim = (spec.get("source") or {}).get("persistentVolumeClaimName")
            if claim and claim not in pvcs:
                errors.append(f"ERROR {label}: claim {claim!r} is not defined here")
        if kind == "PersistentVolumeClaim":
            spec = obj.get("spec") or {}
            sc = spec.get("storageClassName")
            if sc and sc not in storage_classes:
                errors.append(f"ERROR {label}: storage class {sc!r} is not defined in this "
                              f"tree")
            volume = spec.get("volumeName")
            if volume and volume not in pvs:
                errors.append(f"ERROR {label}: volume {volume!r} is not defined here")


# ---------------------------------------------------------------- main

def yaml_files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith((".yaml", ".yml")) or name == "Kustomization":
                yield os.path.join(dirpath, name)


def main():
    files = list(yaml_files(TREE))
    if not files:
        sys.exit(f"validate-manifests: no YAML files under {TREE}")
    for path in files:
        try:
            load_docs(path)
        except RenderError as e:
            errors.append(f"ERROR {e}")

    kustomizations = sorted({os.path.dirname(p) for p in files
                             if os.path.basename(p) in KUSTOMIZATION_NAMES})
    kubectl = USE_KUBECTL != "0" and shutil.which("kubectl")
    if USE_KUBECTL == "1" and not kubectl:
        sys.exit("validate-manifests: VALIDATE_KUBECTL=1 but kubectl is not on PATH")

    rendered = []   # (label, items)
    for directory in kustomizations:
        try:
            items = render(directory)
        except RenderError as e:
            errors.append(f"ERROR {e}")
            continue
        rendered.append((rel(directory), items))
        if kubectl:
            try:
                check_parity(directory, items)
            except RenderError as e:
                errors.append(f"ERROR {e}")

    # Files no kustomization took are validated on their own, one set per directory.
    loose = {}
    for path in files:
        if path in used_files or os.path.basename(path) in KUSTOMIZATION_NAMES:
            continue
        try:
            docs = load_docs(path)
        except RenderError:
            continue
        loose.setdefault(os.path.dirname(path), []).extend(Item(d, rel(path)) for d in docs)
    rendered.extend((rel(d), items) for d, items in sorted(loose.items()))

    all_items = [item for _, items in rendered for item in items]
    csi_drivers = {i.ident()[2] for i in all_items if i.obj.get("kind") == "CSIDriver"}
    storage_classes = {i.ident()[2] for i in all_items if i.obj.get("kind") == "StorageClass"}
    snapshot_classes = {i.ident()[2] for i in all_items
                        if i.obj.get("kind") == "VolumeSnapshotClass"}

    validated = 0
    for label, items in rendered:
        for item in items:
            schema_check(item)
            validated += 1
        check_set(items, csi_drivers, storage_classes, label, snapshot_classes)

    unique = list(dict.fromkeys(errors))
    for line in unique:
        print(line)
    if crd_checked:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(crd_checked.items()))
        print(f"note: not in the Kubernetes schemas (CRDs), checked by this script's own rules "
              f"for its allowlisted kinds: {kinds}")
    print(f"validate-manifests: {len(files)} files, {len(kustomizations)} kustomizations, "
          f"{validated} objects checked against Kubernetes {', '.join(VERSIONS)}"
          f"{' (renders compared with kubectl kustomize)' if kubectl else ''}: "
          f"{len(unique)} problem(s)")
    sys.exit(1 if unique else 0)


main()
PY
