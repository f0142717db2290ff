#!/usr/bin/env python3
"""Writes deploy/k8s/playbook-configmap.yaml from playbooks/default.toml
(the test command checks that the two agree). Edit the playbook, then run:

    python3 scripts/playbook-configmap.py
"""
import pathlib

root = pathlib.Path(__file__).resolve().parent.parent
playbook = (root / "playbooks/default.toml").read_text(encoding="utf-8")
body = "".join(f"    {line}" if line.strip() else "\n" for line in playbook.splitlines(keepends=True))
(root / "deploy/k8s/playbook-configmap.yaml").write_text(
    "# The playbook, mounted as a directory so that edits reach running pods\n"
    "# and are reloaded without a restart (see configmap.yaml). Generated from\n"
    "# playbooks/default.toml by scripts/playbook-configmap.py; edit either\n"
    "# this ConfigMap in your cluster or the file and regenerate.\n"
    "apiVersion: v1\n"
    "kind: ConfigMap\n"
    "metadata:\n"
    "  name: callassist-playbook\n"
    "  labels:\n"
    "    app.kubernetes.io/name: callassist\n"
    "data:\n"
    "  playbook.toml: |\n" + body,
    encoding="utf-8",
)
