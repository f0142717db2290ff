"""Checks deploy/ the way a cluster and an SRE would: every Kubernetes
manifest validates (strict) against the Kubernetes OpenAPI schema, the
probes use the gRPC health protocol, resources are set, the compose file,
Prometheus and Grafana provisioning parse, the dashboard uses only metrics
the service exports, and the Dockerfile builds the way the README says.

Usage: check.py REPO_ROOT METRIC_NAME...   (prints "deploy OK")
"""
import json
import pathlib
import re
import subprocess
import sys

import yaml

root = pathlib.Path(sys.argv[1])
exported = set(sys.argv[2:])
deploy = root / "deploy"

manifests = sorted((deploy / "k8s").glob("*.yaml"))
assert manifests, "no manifests"
for version in ["1.30.0", "1.37.0"]:
    subprocess.run(
        [pathlib.Path(sys.executable).parent / "kubernetes-validate", "--strict", "--quiet",
         "-k", version, *map(str, manifests)],
        check=True,
    )

docs = {}
for path in manifests:
    for doc in yaml.safe_load_all(path.read_text()):
        docs[doc["kind"], doc["metadata"]["name"]] = doc
docs = {**docs, **{kind: doc for (kind, name), doc in docs.items() if name == "callassist"}}
for kind in ["Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap"]:
    assert kind in docs, f"a {kind}"
# Cluster mode: the Redis URL and password come from a Secret, and the
# staging Redis StatefulSet is there with a Service of its name.
env = {e["name"]: e for e in docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]}
for key in ["CALLASSIST_CLUSTER_REDIS_URL", "CALLASSIST_CLUSTER_REDIS_PASSWORD"]:
    assert env[key]["valueFrom"]["secretKeyRef"]["name"] == "callassist-redis", key
assert ("StatefulSet", "callassist-redis") in docs and ("Service", "callassist-redis") in docs
# The playbook ConfigMap is the repository's default playbook (regenerate it
# with scripts/playbook-configmap.py), mounted where the config points.
playbook = docs["ConfigMap", "callassist-playbook"]["data"]["playbook.toml"]
assert playbook == (root / "playbooks/default.toml").read_text(), \
    "deploy/k8s/playbook-configmap.yaml is stale: run scripts/playbook-configmap.py"
volumes = {v["name"]: v for v in docs["Deployment"]["spec"]["template"]["spec"]["volumes"]}
assert volumes["playbook"]["configMap"]["name"] == "callassist-playbook"
pod = docs["Deployment"]["spec"]["template"]["spec"]
assert pod.get("enableServiceLinks") is False, \
    "service links off: a Service named callassist injects CALLASSIST_PORT etc."
container = pod["containers"][0]
for probe in ["readinessProbe", "livenessProbe"]:
    assert container[probe]["grpc"]["port"] == 50051, f"{probe} uses gRPC health"
for bound in ["requests", "limits"]:
    assert {"cpu", "memory"} <= set(container["resources"][bound]), bound
assert container["securityContext"]["allowPrivilegeEscalation"] is False
config = docs["ConfigMap"]["data"]["callassist.toml"]
assert 'listen = "0.0.0.0:50051"' in config and "playbook =" in config
assert docs["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == docs["Deployment"]["metadata"]["name"]

compose = yaml.safe_load((deploy / "docker-compose.yml").read_text())
assert {"callassist", "balancer", "redis", "prometheus", "grafana"} <= set(compose["services"])
replica = compose["services"]["callassist"]
assert replica["build"]["dockerfile"] == "deploy/Dockerfile"
assert replica["deploy"]["replicas"] == 3, "three replicas"
assert replica["environment"]["CALLASSIST_CLUSTER_REDIS_URL"] == "redis://redis:6379"
assert "ports" not in replica, "replicas are reached through the balancer"
nginx = (deploy / "nginx.conf").read_text()
assert "grpc_pass grpc://callassist" in nginx and "http2 on" in nginx
prometheus = yaml.safe_load((deploy / "prometheus.yml").read_text())
scrape = prometheus["scrape_configs"][0]["dns_sd_configs"][0]
assert scrape["names"] == ["callassist"] and scrape["port"] == 9464, "every replica scraped"
for provisioning in (deploy / "grafana/provisioning").rglob("*.yml"):
    yaml.safe_load(provisioning.read_text())

dashboard = json.loads((deploy / "grafana/dashboards/callassist.json").read_text())
used = set()
for panel in dashboard["panels"]:
    for target in panel["targets"]:
        used |= set(re.findall(r"callassist_[a-z_]+", target["expr"]))
# Histograms are exported as _bucket/_sum/_count series.
base = {re.sub(r"_(bucket|sum|count)$", "", name) for name in used}
unknown = base - exported
assert not unknown, f"the dashboard uses metrics the service does not export: {unknown}"
missing = exported - base
assert not missing, f"metrics without a panel: {missing}"

dockerfile = (deploy / "Dockerfile").read_text()
assert "cargo build --release --locked" in dockerfile
assert re.search(r"^USER 10001", dockerfile, re.M), "runs as non-root"
assert 'HEALTHCHECK' in dockerfile and '"callassist", "health"' in dockerfile
for copied in re.findall(r"^COPY (?!--from)(\S+)", dockerfile, re.M):
    assert (root / copied).exists(), f"the Dockerfile copies {copied}, which does not exist"
print("deploy OK")
