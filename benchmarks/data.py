"""flowtrack data versioning against DVC, on the same trees, in one process run.

Both tools are driven through their command lines, as users run them, each in its own fresh
git repo in a temp folder. Prints a table with how many times faster flowtrack is and writes
every figure to benchmarks/results/data-latest.json. A measurement, not a test: nothing
asserts on time; only the correctness checks (a tree checked out equals the original, a
status reports what was changed, a push landed every object) fail the run.

    ./benchmarks/run-data                  # full scale
    ./benchmarks/run-data --scale small    # smoke run, about a minute
    ./benchmarks/run-data --only checkout  # one case (its prerequisites run untimed)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data_report import print_table, report

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's bin: flowtrack and dvc live beside python
RESULTS = ROOT / "benchmarks" / "results" / "data-latest.json"
TIME_V = "/usr/bin/time"

SCALES = {
    "small": {"files": 2_000, "file_size": 1024, "folders": 20, "large": 64 * 2**20},
    "full": {"files": 20_000, "file_size": 1024, "folders": 20, "large": 2 * 2**30},
}
CASES = ("add", "noop_status", "status_10", "push", "noop_push", "checkout", "large")
# What a case needs done before it (run untimed when only that case is asked for).
NEEDS = {
    "add": (),
    "noop_status": ("add",),
    "status_10": ("add",),
    "push": ("add",),
    "noop_push": ("push",),
    "checkout": ("add",),
    "large": (),
}
REPEATS = 3  # no-op cases are cheap and noisy: the median of this many runs
SEED = 20261125


@dataclass
class Tool:
    key: str  # "ft", "ft_md5", "dvc"
    label: str
    repo: Path = Path()
    remote: Path = Path()
    timings: dict[str, Any] = field(default_factory=dict)

    @property
    def is_dvc(self) -> bool:
        return self.key == "dvc"

    def argv(self, *args: str) -> list[str]:
        if self.is_dvc:
            return [str(BIN / "dvc"), *args]
        return [str(BIN / "flowtrack"), "data", *args]


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWTRACK_", "DVC_"))}
    env["DVC_NO_ANALYTICS"] = "1"
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env.setdefault("GIT_AUTHOR_NAME", "bench")
    env.setdefault("GIT_AUTHOR_EMAIL", "bench@example.invalid")
    env.setdefault("GIT_COMMITTER_NAME", "bench")
    env.setdefault("GIT_COMMITTER_EMAIL", "bench@example.invalid")
    return env


ENV = clean_env()


def run(argv: list[str], cwd: Path) -> tuple[float, int, str]:
    """Run a command; returns (seconds, peak RSS in KiB or -1, output). Fails on a non-zero exit.

    Under /usr/bin/time -v when it exists (its own cost is a fork and an exec, about 1 ms)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        full = [TIME_V, "-v", "-o", tf.name, *argv] if os.path.exists(TIME_V) else argv
        start = time.perf_counter()
        proc = subprocess.run(
            full, cwd=cwd, env=ENV, capture_output=True, text=True, check=False, stdin=None
        )
        took = time.perf_counter() - start
        rss = -1
        for line in tf.read().splitlines():
            if "Maximum resident set size" in line:
                rss = int(line.rsplit(":", 1)[1])
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(argv)} in {cwd}\n{out}")
    return took, rss, out


def timed(tool: Tool, case: str, *args: str, repeats: int = 1) -> str:
    runs, rss, out = [], [], ""
    for _ in range(repeats):
        # Write back what the previous step left dirty (copies, the other tool's cache), so
        # no tool pays for another's writeback: without it the first tool of a case was slower.
        os.sync()
        took, peak, out = run(tool.argv(*args), tool.repo)
        runs.append(took)
        rss.append(peak)
    tool.timings[case] = {
        "seconds": statistics.median(runs),
        "runs": runs,
        "peak_rss_kib": max(rss),
        "output_tail": out.strip().splitlines()[-3:],
    }
    return out


def check(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"correctness check failed: {what}")


# -- the trees ------------------------------------------------------------------------------


def make_tree(root: Path, files: int, size: int, folders: int) -> None:
    rng = random.Random(SEED)
    for i in range(files):
        folder = root / f"d{i % folders:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:05d}.bin").write_bytes(rng.randbytes(size))


def make_large(path: Path, size: int) -> None:
    rng = random.Random(SEED + 1)
    chunk = 64 * 2**20
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(chunk, left)
            f.write(rng.randbytes(n))
            left -= n


def tree_digest(root: Path) -> dict[str, str]:
    out = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            p = Path(folder) / name
            out[str(p.relative_to(root))] = hashlib.md5(p.read_bytes()).hexdigest()
    return out


def bare_walk(root: str) -> int:
    """What any status must do at least: list every folder and stat every file."""
    n = 0
    stack = [root]
    while stack:
        for entry in os.scandir(stack.pop()):
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
            else:
                entry.stat()
                n += 1
    return n


def create_floor(src: Path, dest: Path) -> float:
    """The least that writing N files costs on this disk, whatever the tool: the tree's bytes
    (read beforehand, untimed) written as N new files, each under a temp name and renamed, into
    256 folders like a cache's. An add, push or checkout of N files cannot beat it."""
    blobs = [p.read_bytes() for p in sorted(src.rglob("*")) if p.is_file()]
    for i in range(256):
        (dest / f"{i:02x}").mkdir(parents=True)
    os.sync()
    t = time.perf_counter()
    for i, blob in enumerate(blobs):
        final = f"{dest}/{i % 256:02x}/{i:064x}"
        fd = os.open(final + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        os.write(fd, blob)
        os.close(fd)
        os.replace(final + ".tmp", final)
    took = time.perf_counter() - t
    shutil.rmtree(dest)
    return took


def count_files(root: Path) -> int:
    return sum(len(names) for _f, _d, names in os.walk(root))


def new_repo(tool: Tool, path: Path, remote: Path) -> None:
    path.mkdir(parents=True)
    tool.repo, tool.remote = path, remote
    subprocess.run(["git", "init", "-q"], cwd=path, env=ENV, check=True)
    if tool.is_dvc:
        run(tool.argv("init", "-q"), path)
        run(tool.argv("config", "core.analytics", "false"), path)
        run(tool.argv("config", "core.autostage", "false"), path)
    else:
        run(tool.argv("init", "--hash", "md5" if tool.key == "ft_md5" else "blake3"), path)


# -- the cases ------------------------------------------------------------------------------

INPROCESS = """
import json, time
from flowtrack.data.repo import DataRepo
from flowtrack.data import workspace as ws
repo = DataRepo.find()
took = []
for _ in range(5):
    t = time.perf_counter()
    changes = ws.status(repo, ws.find_pointers(repo)[0])
    took.append(time.perf_counter() - t)
    assert changes.clean, changes
print(json.dumps(took))
"""


def small_files_cases(tools: list[Tool], todo: set[str], work: Path, cfg: dict[str, int]) -> dict:
    extra: dict[str, Any] = {}
    src = work / "src"
    print(f"making {cfg['files']:,} files of {cfg['file_size']} bytes ...", flush=True)
    make_tree(src, cfg["files"], cfg["file_size"], cfg["folders"])
    original = tree_digest(src)
    for tool in tools:
        new_repo(tool, work / tool.key, work / f"{tool.key}-remote")
        shutil.copytree(src, tool.repo / "data")

    print("add ...", flush=True)
    for tool in tools:
        timed(tool, "add", "add", "data")
        pointer = tool.repo / ("data.dvc" if tool.is_dvc else "data.ft")
        check(pointer.is_file(), f"{tool.label}: add wrote no {pointer.name}")
    floors = [create_floor(src, work / "floor") for _ in range(3)]
    extra["create_floor_seconds"] = statistics.median(floors)
    extra["create_floor_runs"] = floors

    if "noop_status" in todo:
        print("no-op status ...", flush=True)
        for tool in tools:
            out = timed(tool, "noop_status", "status", repeats=REPEATS)
            clean = "up to date" in out
            check(clean, f"{tool.label}: no-op status is not clean:\n{out}")
        walks = []
        for _ in range(5):
            t = time.perf_counter()
            n = bare_walk(str(tools[0].repo / "data"))
            walks.append(time.perf_counter() - t)
        check(n == cfg["files"], f"bare walk found {n} files")
        extra["bare_walk_seconds"] = statistics.median(walks)
        extra["bare_walk_runs"] = walks
        for tool in tools:
            if tool.is_dvc:
                continue
            _took, _rss, out = run([sys.executable, "-c", INPROCESS], tool.repo)
            runs = json.loads(out)
            extra[f"{tool.key}_inprocess_status_runs"] = runs
            extra[f"{tool.key}_inprocess_status_seconds"] = runs[1]  # the second call
        # What any flowtrack command costs before it does anything: Python, click, imports.
        startup = [run(tools[0].argv("--help"), tools[0].repo)[0] for _ in range(REPEATS)]
        extra["flowtrack_cli_startup_seconds"] = statistics.median(startup)
        dvc_startup = [run([str(BIN / "dvc"), "--version"], work)[0] for _ in range(REPEATS)]
        extra["dvc_cli_startup_seconds"] = statistics.median(dvc_startup)

    if "status_10" in todo:
        print("status after modifying 10 files ...", flush=True)
        for tool in tools:
            data = tool.repo / "data"
            for i in range(10):
                victim = sorted((data / f"d{i:02d}").iterdir())[0]
                victim.write_bytes(b"edited %d\n" % i)
        for tool in tools:
            out = timed(tool, "status_10", "status")
            want = "modified" if tool.is_dvc else "10 modified"
            check(want in out, f"{tool.label}: status after 10 edits says:\n{out}")

    if "push" in todo:
        print("push to a local folder remote ...", flush=True)
        for tool in tools:
            if tool.is_dvc:
                run(tool.argv("remote", "add", "-d", "storage", str(tool.remote)), tool.repo)
            else:
                run(tool.argv("remote", "add", "storage", str(tool.remote)), tool.repo)
        for tool in tools:
            timed(tool, "push", "push")
            n = count_files(tool.remote)
            # every file's object plus the folder's manifest
            check(n == cfg["files"] + 1, f"{tool.label}: the remote has {n} files after push")
            tool.timings["push"]["remote_files"] = n
        if "noop_push" in todo:
            print("no-op push ...", flush=True)
            for tool in tools:
                timed(tool, "noop_push", "push", repeats=REPEATS)

    if "checkout" in todo:
        print("checkout into an empty workspace ...", flush=True)
        for tool in tools:
            shutil.rmtree(tool.repo / "data")
        for tool in tools:
            timed(tool, "checkout", "checkout")
            got = tree_digest(tool.repo / "data")
            check(got == original, f"{tool.label}: the checked-out tree differs from the original")
        # Not a case of the brief, but what a user does next: is the checked-out tree rehashed?
        for tool in tools:
            out = timed(tool, "status_after_checkout", "status")
            check("up to date" in out, f"{tool.label}: status after checkout:\n{out}")
    return extra


def large_file_case(tools: list[Tool], work: Path, size: int) -> dict:
    extra: dict[str, Any] = {}
    src = work / "big-src.bin"
    print(f"making a {size / 2**20:,.0f} MiB file ...", flush=True)
    make_large(src, size)
    import blake3
    from flowtrack.data.hashing import hash_file

    def raw_blake3() -> None:
        h = blake3.blake3(max_threads=blake3.blake3.AUTO)
        h.update_mmap(str(src))
        h.hexdigest()

    # Raw blake3 and flowtrack's own large-file hashing (chunked reads), in-process, taken in
    # turns after a warm-up that puts the file in the page cache: the median of 5 each, since
    # one sub-second timing moves by a third on this shared machine.
    raw_blake3()
    raw, own = [], []
    for _ in range(5):
        t = time.perf_counter()
        raw_blake3()
        raw.append(time.perf_counter() - t)
        t = time.perf_counter()
        hash_file(src, "blake3")
        own.append(time.perf_counter() - t)
    extra["raw_blake3_seconds"] = statistics.median(raw)
    extra["ft_hash_file_seconds"] = statistics.median(own)
    extra["raw_blake3_runs"], extra["ft_hash_file_runs"] = raw, own
    t = time.perf_counter()
    md5 = hashlib.md5()
    with open(src, "rb") as f:
        while chunk := f.read(2**20):
            md5.update(chunk)
    extra["raw_md5_seconds"] = time.perf_counter() - t
    t = time.perf_counter()
    shutil.copyfile(src, work / "big-copy-probe.bin")
    extra["raw_copy_seconds"] = time.perf_counter() - t
    (work / "big-copy-probe.bin").unlink()
    print("add of the large file ...", flush=True)
    for tool in tools:
        repo = work / f"large-{tool.key}"
        new_repo(tool, repo, work / f"large-{tool.key}-remote")
        shutil.copyfile(src, repo / "big.bin")
        timed(tool, "large", "add", "big.bin")
        check((repo / ("big.bin.dvc" if tool.is_dvc else "big.bin.ft")).is_file(), "pointer")
        # A new mtime, the same bytes: status must rehash the file (hashing alone, no copy).
        os.utime(repo / "big.bin", ns=(time.time_ns(), time.time_ns()))
        timed(tool, "large_status", "status")
        shutil.rmtree(repo)  # keep at most two copies of the file on disk and in memory
    src.unlink()
    extra["large_bytes"] = size
    return extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--only", choices=CASES, action="append", help="a case (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()
    cfg = SCALES[args.scale]
    selected = set(args.only or CASES)
    todo = set(selected)
    for case in selected:
        todo.update(NEEDS[case])
        if case == "noop_push":
            todo.update(NEEDS["push"])
    for exe in ("flowtrack", "dvc"):
        if not (BIN / exe).exists():
            raise SystemExit(f"{BIN / exe} is missing: run this through ./benchmarks/run-data")
    dvc_version = run([str(BIN / "dvc"), "--version"], ROOT)[2].strip()
    tools = [
        Tool("ft", "flowtrack"),
        Tool("ft_md5", "flowtrack --hash md5"),
        Tool("dvc", f"DVC {dvc_version}"),
    ]
    work = Path(tempfile.mkdtemp(prefix="flowtrack-bench-data-"))
    started = time.perf_counter()
    extra: dict[str, Any] = {}
    try:
        if todo - {"large"}:
            extra.update(small_files_cases(tools, todo, work, cfg))
        if "large" in todo:
            extra.update(large_file_case(tools, work, cfg["large"]))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    rows = report(tools, extra, cfg, selected, REPEATS)
    print_table(rows, dvc_version)
    total = time.perf_counter() - started
    print(f"\ntotal {total:.0f} s, scale {args.scale}")
    import blake3

    result = {
        "scale": args.scale,
        "sizes": cfg,
        "cases": sorted(selected),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "total_seconds": total,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average": os.getloadavg(),
        },
        "versions": {"dvc": dvc_version, "blake3": blake3.__version__},
        "tools": {t.key: {"label": t.label, "timings": t.timings} for t in tools},
        "extra": extra,
        "table": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
