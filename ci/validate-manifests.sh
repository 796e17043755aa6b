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
#     and service accounts that exist, storage classes, claims and CSI drivers that exist.
# Exit 0 when all is well; 1 with one line per problem (naming the file) otherwise.
#
# Environment: KUBE_VERSIONS (default "1.31.0 1.37.0"), VALIDATE_KUBECTL (auto|0|1, default auto).
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
        python3 -m venv "$venv" >&2
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            'kubernetes-validate==1.37.0' 'PyYAML>=6,<7' >&2
    fi
    python=$venv/bin/python
fi

exec "$python" - "$tree" <<'PY'
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
        if namespaces and kind not in CLUSTER_SCOPED and ns not in namespaces:
            errors.append(f"ERROR {label}: namespace {ns!r} is not one this set defines")
        for podspec in pod_specs(obj):
            if kind == "Pod":
                selector, template_labels = None, None
            else:
                template = (obj.get("spec") or {}).get("template") or {}
                selector = (obj.get("spec") or {}).get("selector")
                template_labels = (template.get("metadata") or {}).get("labels")
            check_pod_spec(item, podspec, template_labels, selector)
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
