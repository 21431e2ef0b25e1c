"""The table of benchmarks/data.py: each case's times for flowtrack, flowtrack --hash md5 and
DVC, the ratios, and the floors and extras that explain them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from data import Tool


def fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def ratio(dvc: float | None, ft: float | None) -> str:
    return f"{dvc / ft:.1f}x" if dvc and ft else "-"


def report(
    tools: list[Tool], extra: dict, cfg: dict[str, int], todo: set[str], repeats: int
) -> list[list]:
    ft, md5, dvc = tools
    n = f"{cfg['files']:,}"
    size_mib = cfg["large"] / 2**20
    names = {
        "add": f"add {n} files of 1 KiB",
        "noop_status": f"no-op status ({n} files, median of {repeats})",
        "status_10": "status after modifying 10 files",
        "push": f"push {n} files to a local folder remote",
        "noop_push": f"no-op push (median of {repeats})",
        "checkout": "checkout into an empty workspace",
        "status_after_checkout": "status right after that checkout",
        "large": f"add one {size_mib:,.0f} MiB file",
        "large_status": "status after touching it (rehash, no copy)",
    }
    rows: list[list] = []

    def sec(tool: Tool, case: str) -> float | None:
        return tool.timings.get(case, {}).get("seconds")

    for case, name in names.items():
        base = {"status_after_checkout": "checkout", "large_status": "large"}.get(case, case)
        if base not in todo:
            continue
        target = "-"
        if case == "noop_status" and "bare_walk_seconds" in extra:
            target = "flowtrack <= 2x bare walk"
        rows.append(
            [
                name,
                fmt_s(sec(ft, case)),
                fmt_s(sec(md5, case)),
                fmt_s(sec(dvc, case)),
                ratio(sec(dvc, case), sec(ft, case)),
                ratio(sec(dvc, case), sec(md5, case)),
                target,
            ]
        )
        if case == "add" and "create_floor_seconds" in extra:
            floor = extra["create_floor_seconds"]
            rows.append(
                [
                    f"... floor: write {n} new files, temp + rename, in-process",
                    fmt_s(floor),
                    "",
                    f"DVC/floor {sec(dvc, case) / floor:.1f}x" if sec(dvc, case) else "-",
                    "",
                    "",
                    "(the most any tool writing one file per object can be faster than DVC)",
                ]
            )
        if case == "noop_status" and "bare_walk_seconds" in extra:
            walk = extra["bare_walk_seconds"]
            for label, value in (
                ("... flowtrack CLI / bare scandir+stat walk", sec(ft, case)),
                ("... in-process ws.status (2nd call) / bare walk", None),
            ):
                if value is None:
                    a = extra.get("ft_inprocess_status_seconds")
                    b = extra.get("ft_md5_inprocess_status_seconds")
                    rows.append(
                        [
                            label,
                            f"{fmt_s(a)} = {a / walk:.2f}x",
                            f"{fmt_s(b)} = {b / walk:.2f}x",
                            f"(walk {fmt_s(walk)})",
                            "",
                            "",
                            "<= 2x",
                        ]
                    )
                else:
                    c = sec(md5, case)
                    rows.append(
                        [
                            label,
                            f"{value / walk:.1f}x",
                            f"{c / walk:.1f}x" if c else "-",
                            "-",
                            "",
                            "",
                            "<= 2x",
                        ]
                    )
            rows.append(
                [
                    "... CLI start-up alone (`--help` / `--version`)",
                    fmt_s(extra["flowtrack_cli_startup_seconds"]),
                    "",
                    fmt_s(extra["dvc_cli_startup_seconds"]),
                    "",
                    "",
                    "(info)",
                ]
            )
        if case == "large":
            size = cfg["large"]

            def mbs(seconds: float | None, size: int = size) -> str:
                return f"{size / 2**20 / seconds:,.0f} MiB/s" if seconds else "-"

            raw_b3 = extra["raw_blake3_seconds"]
            rows.append(
                [
                    "... throughput",
                    mbs(sec(ft, case)),
                    mbs(sec(md5, case)),
                    mbs(sec(dvc, case)),
                    "",
                    "",
                    "",
                ]
            )
            copy = extra["raw_copy_seconds"]
            rows.append(
                [
                    "... as % of a raw copy of the file (the bound for an add)",
                    f"{copy / sec(ft, case) * 100:.0f}%",
                    f"{copy / sec(md5, case) * 100:.0f}%",
                    f"{copy / sec(dvc, case) * 100:.0f}%",
                    "",
                    "",
                    f"(copy {mbs(copy)}, md5 {mbs(extra['raw_md5_seconds'])}, "
                    f"blake3 {mbs(raw_b3)})",
                ]
            )
        if case == "large_status":
            raw_b3, own = extra["raw_blake3_seconds"], extra["ft_hash_file_seconds"]
            rows.append(
                [
                    "... in-process `hash_file` / raw blake3 (mmap, all cores)",
                    f"{fmt_s(own)} = {raw_b3 / own * 100:.0f}% of raw ({fmt_s(raw_b3)})",
                    "",
                    "",
                    "",
                    "",
                    ">= 80% of raw blake3",
                ]
            )
    for case, label in (
        ("add", f"peak memory, add {n} files"),
        ("large", "peak memory, large add"),
    ):
        if case not in todo:
            continue
        mem = [t.timings.get(case, {}).get("peak_rss_kib", -1) for t in tools]
        if min(mem) <= 0:
            continue
        rows.append(
            [
                label,
                *(f"{m / 1024:.0f} MiB" for m in mem),
                f"DVC/ft {mem[2] / mem[0]:.2f}x",
                f"DVC/ft {mem[2] / mem[1]:.2f}x",
                "(info)",
            ]
        )
    return rows


def print_table(rows: list[list], dvc_version: str) -> None:
    head = ["case", "flowtrack", "flowtrack --hash md5", f"DVC {dvc_version}", "ratio", "ratio md5"]
    head.append("target")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))
    print("\n" + line + "\n" + "-" * len(line))
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))
    print(
        "\nratio = DVC's time / flowtrack's (how many times faster flowtrack is); "
        "'ratio md5' compares flowtrack initialized with --hash md5."
    )
