#!/usr/bin/env python3
"""configs/deploy/slurm-array.sh on a real, single-node Slurm cluster (ctest label slurm).

Starts munged, slurmctld and slurmd from Debian's packages (slurm-wlm, munge) on this machine,
with every file in a temporary directory and free ports on 127.0.0.1, then:

1. submits the array script, unchanged (it is given to sbatch from configs/deploy/), on short
   generated clips (`sbatch slurm-array.sh clean.yaml` in the job's directory), waits, runs
   `framescribe batch merge` from another directory and checks every output and the merged
   state and index;
2. submits it again on a second output directory with one long clip, cancels (scancel) the
   array task that is describing the long clip while it runs, merges (one video not done),
   resubmits only that task
   (`sbatch --array=K`, as one does on a real cluster), merges and checks that every video was
   done exactly once: by the shard it hashes to, no other shard's files touched, outputs'
   SHA-256 equal to the state's, every event once in the merged index.

The test cluster advertises what the script asks for (8 CPUs, 64G, one GPU per task: a
count-only gres) so that the script runs as it is. Everything is stopped and removed at the
end, also on failure. Exit 77 (ctest SKIP_RETURN_CODE) only when the Slurm or munge programs are
not installed (tools/setup.sh installs them).
"""

import argparse
import collections
import ctypes
import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

SKIP = 77
SHARDS = 8  # the script's --array=0-7
BUDGET_S = 240  # every wait together; below ctest's TIMEOUT (300) so that cleanup always runs
DAEMONS = ["munged", "mungekey", "slurmctld", "slurmd"]
CLIENTS = ["sbatch", "squeue", "scancel", "scontrol"]


class Failure(Exception):
    pass


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def die_with_parent():
    # A daemon gets SIGTERM if this driver is killed (SIGKILL from a ctest timeout included), so
    # that no munged/slurmctld/slurmd outlives the test.
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def find(prog):
    # Daemons live in /usr/sbin, which is not on every user's PATH.
    return shutil.which(prog) or shutil.which(prog, path="/usr/sbin:/sbin")


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_db(path, query):
    # Read-only, and closed at once: the shards may still have their files open.
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute(query).fetchall()
    finally:
        db.close()


class Cluster:
    def __init__(self, root):
        self.root = root
        self.procs = {}
        # Nothing of an outer Slurm job (CI may itself run in one) or of the user's shard count.
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("SLURM_") and k != "FRAMESCRIBE_SHARDS"}
        self.env["SLURM_CONF"] = os.path.join(root, "slurm.conf")
        self.deadline = time.monotonic() + BUDGET_S

    def start(self):
        r = self.root
        for sub in ("munge", "ctld", "spool", "log", "dev"):
            os.makedirs(os.path.join(r, sub), mode=0o755, exist_ok=True)
        key = os.path.join(r, "munge", "munge.key")
        sock = os.path.join(r, "munge", "munge.sock")
        subprocess.run([find("mungekey"), "-c", "-b", "1024", "-k", key], check=True)
        self.spawn("munged", [find("munged"), "-F", "--force", "-S", sock, f"--key-file={key}",
                              f"--log-file={r}/log/munged.log",
                              f"--pid-file={r}/munge/munged.pid",
                              f"--seed-file={r}/munge/munged.seed"])
        self.wait_for(lambda: os.path.exists(sock), 10, "munged's socket " + sock)

        ctld_port, slurmd_port = free_ports(2)
        # Four GPUs so that the script's 4 concurrent tasks (--array=0-7%4) each get one. GPU
        # gres need device files; slurmd only stats them (task/none constrains nothing).
        gpus = []
        for i in range(4):
            dev = os.path.join(r, "dev", f"gpu{i}")
            try:
                os.mknod(dev, 0o600 | 0o020000, os.makedev(1, 3))  # a char device like /dev/null
            except OSError:
                open(dev, "w").close()  # slurmd logs an error for a plain file, and accepts it
            gpus.append(dev)
        # The daemons run as whoever runs the test (root or not): jobs are then that user's.
        user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
        conf = f"""ClusterName=fs-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser={user}
SlurmdUser={user}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={sock}
StateSaveLocation={r}/ctld
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/builtin
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
ReturnToService=2
KillWait=10
MinJobAge=3600
SlurmdParameters=config_overrides
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs=32 RealMemory=262144 Gres=gpu:4 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""
        with open(self.env["SLURM_CONF"], "w") as f:
            f.write(conf)
        with open(os.path.join(r, "gres.conf"), "w") as f:
            f.write(f"Name=gpu File={r}/dev/gpu[0-3]\n")
        conf_path = self.env["SLURM_CONF"]
        self.spawn("slurmctld", [find("slurmctld"), "-D", "-f", conf_path])
        self.spawn("slurmd", [find("slurmd"), "-D", "-N", "localhost", "-f", conf_path])

        def idle():
            out = self.run(["sinfo", "-h", "-N", "-o", "%T"], check=False).stdout.strip()
            return out in ("idle", "mixed", "allocated")
        self.wait_for(idle, 30, "the node to register as idle")

    def spawn(self, name, argv):
        out = open(os.path.join(self.root, "log", name + ".out"), "w")
        self.procs[name] = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                            env=self.env, preexec_fn=die_with_parent)

    def wait_for(self, cond, seconds, what):
        deadline = min(time.monotonic() + seconds, self.deadline)
        while time.monotonic() < deadline:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise Failure(f"{name} exited with {p.returncode} while waiting for {what}")
            if cond():
                return
            time.sleep(0.2)
        raise Failure(f"timed out after {seconds} s waiting for {what}")

    def run(self, argv, check=True, **kw):
        p = subprocess.run(argv, env=kw.pop("env", self.env), capture_output=True, text=True, **kw)
        if check and p.returncode != 0:
            raise Failure(f"{' '.join(argv)}: exit {p.returncode}: {p.stdout}{p.stderr}")
        return p

    def tasks(self, job_id):
        """{array task id: (state, exit code)} of an array job, from scontrol."""
        out = self.run(["scontrol", "-o", "show", "job", str(job_id)]).stdout
        tasks = {}
        for line in out.splitlines():
            f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
            if "ArrayTaskId" in f and f["ArrayTaskId"].isdigit():
                tasks[int(f["ArrayTaskId"])] = (f["JobState"], f["ExitCode"], f)
        return tasks

    def wait_job(self, job_id, seconds):
        self.wait_for(lambda: not self.run(["squeue", "-h", "-r", "-j", str(job_id)],
                                           check=False).stdout.strip(),
                      seconds, f"job {job_id} to finish")

    def stop(self):
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            self.run(["scancel", "--full", "--user", str(os.getuid())], check=False, timeout=20)
        for name in ("slurmd", "slurmctld", "munged"):
            p = self.procs.get(name)
            if p is None or p.poll() is not None:
                continue
            p.terminate()
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def dump_logs(self):
        for d in (os.path.join(self.root, "log"),):
            for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
                with open(os.path.join(d, name), errors="replace") as f:
                    text = f.read()
                print(f"----- {name} (last 3000 characters)\n{text[-3000:]}", flush=True)


def make_clip(path, seconds, color, rate=5):
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi",
                    "-i", f"testsrc=size=128x96:rate={rate}:duration={seconds}", "-f", "lavfi",
                    "-i", f"color=c={color}:size=128x96:rate={rate}:duration={seconds}",
                    "-filter_complex", "[0][1]blend=all_mode=average", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-y", path], check=True)


def write_job(path, model, out, inputs_by_job, sampling_by_job=None):
    sampling_by_job = sampling_by_job or {}

    def sampling(name):
        keys = sampling_by_job.get(name)
        if not keys:
            return ""
        return "    sampling:\n" + "".join(f"      {k}: {v}\n" for k, v in keys.items())
    jobs = "".join(f"  - name: {name}\n    inputs: {json.dumps(inputs)}\n{sampling(name)}"
                   for name, inputs in inputs_by_job.items())
    with open(path, "w") as f:
        f.write(f"version: 1\ndefaults:\n  model: {model}\nbatch:\n  out: {out}\njobs:\n{jobs}")


def snapshot(paths):
    return {p: (os.stat(p).st_ino, os.stat(p).st_mtime_ns, sha256(p)) for p in paths}


def check_results(work, out, videos, fs):
    """The shard files, the merged state and index and the outputs agree: every video done once."""
    out_dir = os.path.join(work, out)
    # (-wal and -shm files beside them are SQLite's.)
    states = sorted(n for n in os.listdir(out_dir)
                    if n.startswith("state-shard-") and n.endswith(".sqlite"))
    expected = {f"state-shard-{i}-of-{SHARDS}.sqlite" for i in range(SHARDS)}
    if set(states) != expected:
        raise Failure(f"{out_dir}: shard state files {states}, expected {sorted(expected)}")
    # Each video is done in exactly one shard file, and appears in no other.
    owner = {}
    for name in states:
        for identity, status in read_db(os.path.join(out_dir, name),
                                        "SELECT identity, status FROM videos"):
            if identity in owner:
                raise Failure(f"{identity!r} is in {owner[identity]} and {name}")
            owner[identity] = name
            if status != "done":
                raise Failure(f"{name}: {identity!r} is {status}, not done")
    # From another directory than the tasks' (as one merges on a login node).
    merge = subprocess.run([fs, "batch", "merge", os.path.join(work, out + ".yaml")],
                           cwd=os.path.dirname(work), capture_output=True, text=True)
    log(f"batch merge: {merge.stdout.strip()} {merge.stderr.strip()}")
    if merge.returncode != 0 or f"{len(videos)} done, 0 failed, 0 not done" not in merge.stdout:
        raise Failure(f"batch merge: exit {merge.returncode}: {merge.stdout}{merge.stderr}")
    state = os.path.join(out_dir, "state.sqlite")
    rows = read_db(state, "SELECT input, status FROM videos")
    if sorted(r[0] for r in rows) != sorted(videos) or {r[1] for r in rows} != {"done"}:
        raise Failure(f"{state}: {rows}, expected every one of {sorted(videos)} done")
    outputs = read_db(state, "SELECT v.input, o.path, o.sha256 FROM outputs o "
                             "JOIN videos v USING (identity)")
    per_video = collections.defaultdict(list)
    for video, path, digest in outputs:
        if not os.path.isabs(path):
            raise Failure(f"{state}: output path {path} is relative to a task's directory")
        full = path
        if sha256(full) != digest:
            raise Failure(f"{full}: SHA-256 differs from the state's {digest}")
        per_video[video].append(full)
    index = os.path.join(out_dir, "index.sqlite")
    events = read_db(index, "SELECT video, window_id, start_ns, end_ns, text FROM events")
    dup = [e for e, n in collections.Counter(events).items() if n > 1]
    if dup:
        raise Failure(f"{index}: events more than once: {dup[:5]}")
    # The index holds each video's events as its JSONL output has them: no more, no fewer.
    for video in videos:
        jsonl = [p for p in per_video[video] if p.endswith(".jsonl")]
        if len(per_video[video]) != 4 or len(jsonl) != 1:
            raise Failure(f"{video}: outputs {per_video[video]}, expected jsonl, srt, vtt, md")
        with open(jsonl[0]) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        want = sorted((round(e["start"] * 1e9), round(e["end"] * 1e9), e["text"])
                      for e in lines if "window" in e)
        got = sorted((e[2], e[3], e[4]) for e in events if e[0] == video)
        if not want or want != got:
            raise Failure(f"{video}: index events {got} != its JSONL's {want}")
    return len(events)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--framescribe", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = ap.parse_args()

    missing = [p for p in DAEMONS + CLIENTS + ["sinfo"] if find(p) is None]
    if missing:
        print(f"SKIP: Slurm/munge not installed (missing {', '.join(missing)}); "
              "tools/setup.sh installs slurm-wlm and munge", flush=True)
        return SKIP
    if find("ffmpeg") is None:
        print("FAIL: ffmpeg not found (tools/setup.sh installs it)")
        return 1

    script = os.path.join(a.source_dir, "configs", "deploy", "slurm-array.sh")
    model = os.path.join(a.source_dir, "samples", "models", "framescribe-demo")
    fs = os.path.abspath(a.framescribe)
    # /tmp, not the build tree: munged's socket path must stay short.
    root = tempfile.mkdtemp(prefix="fs-slurm-", dir="/tmp")
    os.chmod(root, 0o755)
    cluster = Cluster(root)
    ok = False
    try:
        t0 = time.monotonic()
        cluster.start()
        log(f"cluster up in {time.monotonic() - t0:.1f} s ({root})")
        work = os.path.join(root, "work")
        os.makedirs(os.path.join(work, "logs"))  # the script's --output=logs/...
        os.makedirs(os.path.join(work, "clips"))
        colors = ["red", "green", "blue", "yellow", "white", "cyan", "magenta"]
        short = []
        for c in colors:
            short.append(os.path.join(work, "clips", f"{c}.mp4"))
            make_clip(short[-1], 2, c)
        long_clip = os.path.join(work, "clips", "long.mp4")
        make_clip(long_clip, 100, "orange")
        env = dict(cluster.env)
        env["PATH"] = os.path.dirname(fs) + os.pathsep + env["PATH"]  # the script runs `framescribe`

        def sbatch(job_file, *extra):
            p = cluster.run(["sbatch", "--parsable", *extra, script, job_file], env=env, cwd=work)
            return int(p.stdout.strip().split(";")[0])

        # 1. The array, as submitted on a real cluster (the job file relative to the submit
        # directory, where the tasks run); then merge and check.
        write_job(os.path.join(work, "clean.yaml"), model, "clean", {"clips": short})
        job = sbatch("clean.yaml")
        cluster.wait_job(job, 120)
        tasks = cluster.tasks(job)
        if sorted(tasks) != list(range(SHARDS)) or any(
                t[0] != "COMPLETED" or t[1] != "0:0" for t in tasks.values()):
            raise Failure(f"job {job}: tasks {[(k, v[0], v[1]) for k, v in tasks.items()]}")
        f = tasks[0][2]
        # What the script asked for is what the tasks got.
        if (f.get("NumCPUs"), f.get("MinMemoryNode")) != ("8", "64G") or not f.get(
                "TresPerNode", "").endswith("gpu:1"):
            raise Failure(f"task 0 got {f.get('NumCPUs')} CPUs, {f.get('MinMemoryNode')}, "
                          f"{f.get('TresPerNode')}; the script asks for 8, 64G, gres:gpu:1")
        n = check_results(work, "clean", short, fs)
        log(f"1. array job {job}: {SHARDS} tasks COMPLETED, {len(short)} videos, {n} events "
            f"({time.monotonic() - t0:.1f} s)")

        # 2. Cancel the task describing the long clip mid-run, resubmit only that task.
        videos = short + [long_clip]
        # The long clip at 5 fps and 128 px takes ~15 s alone with the demo model (at the demo
        # model's own 1 fps and 64 px, which the batch applies, about 1 s: too short to cancel).
        write_job(os.path.join(work, "resume.yaml"), model, "resume",
                  {"clips": short, "long": [long_clip]},
                  {"long": {"fps": 5, "max_edge": 128}})
        out_dir = os.path.join(work, "resume")
        job = sbatch(os.path.join(work, "resume.yaml"))
        running = {}

        def long_running():
            for k in range(SHARDS):
                p = os.path.join(out_dir, f"state-shard-{k}-of-{SHARDS}.sqlite")
                try:
                    rows = read_db(p, "SELECT status FROM videos WHERE input = "
                                      f"'{long_clip}'")
                except sqlite3.Error:
                    continue
                if rows and rows[0][0] == "running":
                    running["shard"] = k
                    return True
            return False
        cluster.wait_for(long_running, 120, "the long clip to be running")
        k = running["shard"]
        time.sleep(2)  # well into the clip (it takes ~15 s alone), far from its end
        cluster.run(["scancel", f"{job}_{k}"])
        cluster.wait_job(job, 120)
        tasks = cluster.tasks(job)
        if tasks[k][0] != "CANCELLED":
            raise Failure(f"task {k} is {tasks[k][0]} after scancel, expected CANCELLED")
        for i, t in tasks.items():
            if i != k and (t[0] != "COMPLETED" or t[1] != "0:0"):
                raise Failure(f"job {job}: task {i} {t[0]} {t[1]}")
        rows = read_db(os.path.join(out_dir, f"state-shard-{k}-of-{SHARDS}.sqlite"),
                       f"SELECT status FROM videos WHERE input = '{long_clip}'")
        if rows[0][0] == "done":
            raise Failure(f"task {k} finished the long clip before scancel: not a mid-run cancel")
        # A merge now says what is missing; it is merged again after the rerun.
        merge = subprocess.run([fs, "batch", "merge", "resume.yaml"], cwd=work,
                               capture_output=True, text=True)
        if merge.returncode != 0 or f"{len(short)} done, 0 failed, 1 not done" not in merge.stdout:
            raise Failure(f"batch merge after the cancel: exit {merge.returncode}: "
                          f"{merge.stdout}{merge.stderr}")
        partial = read_db(os.path.join(out_dir, "index.sqlite"),
                          f"SELECT count(*) FROM events WHERE video = '{long_clip}'")[0][0]
        if partial != 0:
            raise Failure(f"the merged index holds {partial} events of the long clip, not done")
        log(f"2. array job {job}: task {k} CANCELLED with the long clip {rows[0][0]}; "
            f"{merge.stdout.strip()}")
        # Nothing else may change when task k is resubmitted: the other shards' files, the
        # merged files and the outputs already done stay as they are (same inode, time and
        # content).
        others = [os.path.join(out_dir, f"{kind}-shard-{i}-of-{SHARDS}.sqlite")
                  for i in range(SHARDS) if i != k for kind in ("state", "index")]
        others += [os.path.join(out_dir, "state.sqlite"), os.path.join(out_dir, "index.sqlite")]
        for root_dir, _, files in os.walk(out_dir):
            others += [os.path.join(root_dir, n) for n in files if n.rsplit(".", 1)[-1] in
                       ("jsonl", "srt", "vtt", "md") and "long" not in n]
        before = snapshot(others)
        again = sbatch(os.path.join(work, "resume.yaml"), f"--array={k}")
        cluster.wait_job(again, 120)
        t = cluster.tasks(again)
        if list(t) != [k] or t[k][0] != "COMPLETED" or t[k][1] != "0:0":
            raise Failure(f"resubmitted job {again}: {[(i, v[0], v[1]) for i, v in t.items()]}")
        if snapshot(others) != before:
            changed = [p for p, v in snapshot(others).items() if before[p] != v]
            raise Failure(f"the resubmitted task {k} changed other shards' files: {changed}")
        n = check_results(work, "resume", videos, fs)
        log(f"3. resubmitted task {k} (job {again}) COMPLETED; merge: {len(videos)} videos done "
            f"once, {n} events once ({time.monotonic() - t0:.1f} s)")
        ok = True
        return 0
    except Failure as e:
        print(f"FAIL: {e}", flush=True)
        return 1
    finally:
        if not ok:
            cluster.dump_logs()
            logs = os.path.join(root, "work", "logs")
            for name in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
                with open(os.path.join(logs, name), errors="replace") as f:
                    print(f"----- {name}\n{f.read()[-2000:]}", flush=True)
        cluster.stop()
        if a.keep:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    # ctest's timeout and Ctrl-C end the test through `finally`: the daemons are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(main())
