"""Time FER2013 loading: first parse of the source, then the cached load.

    python benchmarks/data_load.py PATH [--full-size]

--full-size measures a 35,887-row CSV like Kaggle's full file: the source's rows written out as a
CSV plus, where it lacks PrivateTest, PublicTest rows again under that name (3,589 rows).
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from pathlib import Path

from fer_edge.data.cache import load
from fer_edge.data.readers import read_source


def write_full_csv(src: str, out: Path) -> int:
    ds = load(src)
    n = 0
    with open(out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["emotion", "pixels", "Usage"])
        parts = [(name, ds.splits[name]) for name in ds.split_names()]
        if "PrivateTest" not in ds.splits and "PublicTest" in ds.splits:
            parts.append(("PrivateTest", ds.splits["PublicTest"]))
        for usage, split in parts:
            for img, label in zip(split.images, split.labels):
                w.writerow([int(label), " ".join(map(str, img.ravel().tolist())), usage])
                n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path")
    ap.add_argument("--full-size", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FER_EDGE_CACHE_DIR"] = tmp
        src = args.path
        if args.full_size:
            src = str(Path(tmp) / "fer2013_full.csv")
            rows = write_full_csv(args.path, Path(src))
            print(f"wrote {rows} rows to a temporary CSV")
        t = time.perf_counter()
        ds = read_source(src)
        parse_s = time.perf_counter() - t
        load(src)  # parse again and write the cache
        t = time.perf_counter()
        load(src)
        cached_s = time.perf_counter() - t
    rows = sum(len(s) for s in ds.splits.values())
    print(f"source: {args.path}{' (full-size CSV)' if args.full_size else ''}")
    print(f"rows: {rows}  first parse: {parse_s:.2f} s  cached load: {cached_s:.3f} s  (cpus: {os.cpu_count()})")


if __name__ == "__main__":
    main()
