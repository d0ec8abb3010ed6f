#!/usr/bin/env python3
"""configs/deploy/k8s-*.yaml against the Kubernetes schema, and consistent with the Slurm path.

Installs kubernetes-validate (PyPI; it bundles the Kubernetes OpenAPI schemas and works offline
once installed) at the versions pinned in k8s-validate-requirements.txt into a venv in the build
tree (reused while the pins are unchanged), then:
- validates the Indexed Job and the merge Job with --strict (unknown fields are errors), and a
  copy with a misspelt field, which must fail (the validator really checks);
- checks that the Kubernetes path runs what the Slurm script runs: `framescribe batch JOB
  --quiet` per shard with the shard count fixed in the file (--shards = completions), then
  `framescribe batch merge JOB` on the same job file and outputs volume.
There is no Debian package with the Kubernetes schemas (kubeconform/kubeval are not packaged).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

K8S_VERSION = "1.37.0"


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def ensure_venv(venv, requirements):
    stamp = os.path.join(venv, "framescribe-requirements.txt")
    with open(requirements) as f:
        wanted = f.read()
    if os.path.exists(stamp) and open(stamp).read() == wanted:
        return
    shutil.rmtree(venv, ignore_errors=True)
    p = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True, text=True)
    if p.returncode != 0:
        fail(f"python3 -m venv {venv}: {p.stdout}{p.stderr} (Debian: python3-venv)")
    p = subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q",
                        "--disable-pip-version-check", "--only-binary", ":all:", "-r",
                        requirements], capture_output=True, text=True)
    if p.returncode != 0:
        fail(f"pip install -r {requirements} (needs PyPI): {p.stdout}{p.stderr}")
    with open(stamp, "w") as f:
        f.write(wanted)


def validate(venv, files):
    return subprocess.run([os.path.join(venv, "bin", "kubernetes-validate"), "--strict", "-k",
                           K8S_VERSION, *files], capture_output=True, text=True)


def a_mount(container, name):
    return [v["mountPath"] for v in container["volumeMounts"] if v["name"] == name][0]


def check_consistency(src):
    import yaml  # the venv's PyYAML (this part runs under the venv's python)

    deploy = os.path.join(src, "configs", "deploy")
    with open(os.path.join(deploy, "k8s-indexed-job.yaml")) as f:
        shards = yaml.safe_load(f)
    with open(os.path.join(deploy, "k8s-merge-job.yaml")) as f:
        merge = yaml.safe_load(f)
    with open(os.path.join(deploy, "slurm-array.sh")) as f:
        slurm = f.read()
    pod, mpod = shards["spec"]["template"]["spec"], merge["spec"]["template"]["spec"]
    c, m = pod["containers"][0], mpod["containers"][0]
    cmd = c["command"] + c.get("args", [])
    if cmd[:2] != ["framescribe", "batch"] or "merge" in cmd:
        fail(f"k8s-indexed-job.yaml runs {cmd}, not framescribe batch JOB")
    job_file = cmd[2]
    completions = shards["spec"]["completions"]
    if "--shards" not in cmd or cmd[cmd.index("--shards") + 1] != str(completions):
        fail(f"k8s-indexed-job.yaml: {cmd} must pass --shards {completions} (= completions)")
    if m["command"] + m.get("args", []) != ["framescribe", "batch", "merge", job_file]:
        fail(f"k8s-merge-job.yaml runs {m['command']}, not framescribe batch merge {job_file}")
    if m["image"] != c["image"]:
        fail(f"the merge Job's image {m['image']} differs from the shards' {c['image']}")
    # The merge reads the same job file and the outputs volume the shards wrote.
    for name in ("job", "outputs"):
        a = [v for v in c["volumeMounts"] if v["name"] == name]
        b = [v for v in m["volumeMounts"] if v["name"] == name]
        if not a or not b or a[0]["mountPath"] != b[0]["mountPath"]:
            fail(f"volume mount {name}: shards {a}, merge {b}")
        # The same ConfigMap and claim; readOnly is each side's business.
        def source(volumes):
            v = [dict(v) for v in volumes if v["name"] == name][0]
            v.pop("name")
            return {kind: {k: x for k, x in s.items() if k != "readOnly"} for kind, s in v.items()}
        va, vb = source(pod["volumes"]), source(mpod["volumes"])
        if va != vb:
            fail(f"volume {name}: shards {va}, merge {vb}")
    if os.path.dirname(job_file) != a_mount(c, "job"):
        fail(f"{job_file} is not on the job volume")
    # The Slurm script: the same command per shard (with --quiet) and the same merge.
    srun = [line for line in slurm.splitlines()
            if line.startswith("srun framescribe batch ")]
    if len(srun) != 1 or "--quiet" not in srun[0] or "--quiet" not in cmd:
        fail(f"the Slurm script runs {srun}, the Indexed Job {cmd}: both framescribe batch --quiet")
    if not re.search(r"^# Then: +framescribe batch merge ", slurm, re.M):
        fail("slurm-array.sh: the header names the merge step (framescribe batch merge JOB)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--venv", required=True)
    ap.add_argument("--consistency-only", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.consistency_only:
        check_consistency(a.source_dir)
        return 0
    here = os.path.dirname(os.path.abspath(__file__))
    ensure_venv(a.venv, os.path.join(here, "k8s-validate-requirements.txt"))
    deploy = os.path.join(a.source_dir, "configs", "deploy")
    files = [os.path.join(deploy, n) for n in ("k8s-indexed-job.yaml", "k8s-merge-job.yaml")]
    p = validate(a.venv, files)
    print(p.stdout + p.stderr, end="", flush=True)
    if p.returncode != 0 or p.stdout.count(" passed ") != len(files):
        fail(f"kubernetes-validate --strict -k {K8S_VERSION}: exit {p.returncode}")
    # A misspelt field must fail: the validator is strict and really reads the file.
    with open(files[0]) as f:
        text = f.read()
    bad_text = text.replace("completionMode:", "completionMod:", 1)
    if bad_text == text:
        fail("k8s-indexed-job.yaml has no completionMode")
    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, "misspelt.yaml")
        with open(bad, "w") as f:
            f.write(bad_text)
        p = validate(a.venv, [bad])
        if p.returncode == 0 or "completionMod" not in p.stdout + p.stderr:
            fail(f"a misspelt field passed: {p.stdout}{p.stderr}")
    p = subprocess.run([os.path.join(a.venv, "bin", "python"), os.path.abspath(__file__),
                        "--source-dir", a.source_dir, "--venv", a.venv, "--consistency-only"],
                       capture_output=True, text=True)
    print(p.stdout + p.stderr, end="", flush=True)
    if p.returncode != 0:
        return 1
    print("k8s manifests valid against Kubernetes", K8S_VERSION, "and consistent with the Slurm "
          "script", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
