# The Python parts of scripts/bench-pdq (run that, not this):
#
#   python3 scripts/bench-pdq.py generate DIR N
#       N synthetic 12-megapixel phone photos (4032x3024, JPEG quality 90,
#       4:2:0, or 4:2:2 with SAMPLING=4:2:2), different and seeded per file,
#       one process per core
#   python3 scripts/bench-pdq.py reference DIR OUT_CSV
#       the reference run that is timed: pdqhash on every picture of DIR,
#       decoded by Pillow at reduced size (draft), one process per core;
#       writes path,pdq,quality (path as report.csv writes it: /name)
#   python3 scripts/bench-pdq.py time JSON RUNS PREPARE NAME CMD [NAME CMD ...]
#       a timing loop for when hyperfine is not installed (same JSON shape)
#   python3 scripts/bench-pdq.py compare TIMES_JSON REFERENCE_CSV REPORT_CSV DIR
#       prints the two timings, the ratio, and how hashsweep's pdq column
#       compares with the reference (tolerant of report.csv having no pdq column)
#
# Hex form of a pdqhash bit vector: pdqhash.compute returns 256 bits where
# v[i] is bit 255-i of ThreatExchange's Hash256; the 64 hex digits (word 15
# first, as expected.csv and hashsweep write them) are v read most significant
# bit first, four bits a digit (scripts/pdq-altered checks this on the samples).
#
# Needs: python3 with pillow, numpy, pdqhash (pip install pillow numpy pdqhash).
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from multiprocessing import Pool

import numpy as np
import pdqhash
from PIL import Image, ImageDraw, ImageFilter

W, H = 4032, 3024
SEED = 12_000_000
PICTURE_EXTS = (".jpg", ".jpeg", ".png")
DRAFT_MIN_SIDE = 512  # PDQ needs no more; the draft keeps the short side at least this


def pdq_hex(bits):
    return "%064x" % int("".join("1" if b else "0" for b in bits), 2)


def distance(a, b):
    return bin(int(a, 16) ^ int(b, 16)).count("1")


# ---- generate


def smooth(rng, cells_w, cells_h, mode):
    """Random values on a coarse grid, bicubic up to full size: int16 array."""
    shape = (cells_h, cells_w, 3) if mode == "RGB" else (cells_h, cells_w)
    low = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)
    return np.asarray(low.resize((W, H), Image.Resampling.BICUBIC), dtype=np.int16)


def photo(args):
    """One photo: a smooth colour gradient, large and small shapes, a soft
    blur, colour texture, luminance grain and sensor-like noise."""
    path, seed = args
    rng = np.random.default_rng(seed)
    low = rng.integers(30, 230, (2, 3, 3), dtype=np.uint8)
    img = Image.fromarray(low, "RGB").resize((W, H), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)

    def colour():
        return tuple(int(c) for c in rng.integers(0, 256, 3))

    for _ in range(int(rng.integers(25, 45))):
        x, y = int(rng.integers(-400, W)), int(rng.integers(-400, H))
        w, h = int(rng.integers(80, 1400)), int(rng.integers(80, 1400))
        shape = rng.integers(0, 3)
        if shape == 0:
            draw.ellipse([x, y, x + w, y + h], fill=colour())
        elif shape == 1:
            draw.rectangle([x, y, x + w, y + h], fill=colour())
        else:
            n = int(rng.integers(3, 7))
            draw.polygon([(x + int(rng.integers(0, w)), y + int(rng.integers(0, h))) for _ in range(n)], fill=colour())
    for _ in range(400):
        x, y = int(rng.integers(0, W)), int(rng.integers(0, H))
        if rng.random() < 0.5:
            draw.ellipse([x, y, x + int(rng.integers(4, 120)), y + int(rng.integers(4, 120))], fill=colour())
        else:
            end = (x + int(rng.integers(-300, 300)), y + int(rng.integers(-300, 300)))
            draw.line([(x, y), end], fill=colour(), width=int(rng.integers(1, 8)))
    img = img.filter(ImageFilter.GaussianBlur(1.5))
    a = np.asarray(img, dtype=np.int16)
    a += (smooth(rng, 252, 189, "RGB") - 128) * 15 // 255  # colour texture
    a += ((smooth(rng, 1008, 756, "L") - 128) * 60 // 255)[..., None]  # grain
    a += rng.integers(-5, 6, a.shape, dtype=np.int16)  # noise
    # 4:2:0 (Pillow's 2), as phones write; SAMPLING=4:2:2 (1), as many cameras do.
    subsampling = 1 if os.environ.get("SAMPLING") == "4:2:2" else 2
    Image.fromarray(a.clip(0, 255).astype(np.uint8), "RGB").save(
        path, "JPEG", quality=90, subsampling=subsampling)
    return os.path.getsize(path)


def generate(out, n):
    os.makedirs(out, exist_ok=True)
    jobs = [(os.path.join(out, f"IMG_{i:04d}.jpg"), SEED + i) for i in range(1, n + 1)]
    with Pool(os.cpu_count()) as pool:
        sizes = pool.map(photo, jobs, chunksize=1)
    print(f"{n} photos, {sum(sizes) / 1e6:.0f} MB ({min(sizes) / 1e6:.1f}-{max(sizes) / 1e6:.1f} MB each)")


# ---- reference


def reduction(w, h):
    """The largest power-of-two JPEG reduction (1, 2, 4, 8) that keeps the short
    side at least DRAFT_MIN_SIDE (libjpeg rounds a reduced size up)."""
    s = 1
    while s < 8 and -(-min(w, h) // (2 * s)) >= DRAFT_MIN_SIDE:
        s *= 2
    return s


def reference_hash(path):
    with Image.open(path) as img:
        s = reduction(*img.size)
        # Pillow's draft picks the largest scale whose result is at least the
        # size asked for: asking for size/s gives exactly 1/s.
        img.draft("RGB", (img.width // s, img.height // s))
        pixels = np.asarray(img.convert("RGB"))
    bits, quality = pdqhash.compute(pixels)
    return pdq_hex(bits), int(quality)


def pictures(root):
    return sorted(n for n in os.listdir(root) if n.lower().endswith(PICTURE_EXTS))


def reference(root, out_csv):
    names = pictures(root)
    with Pool(os.cpu_count()) as pool:
        hashes = pool.map(reference_hash, [os.path.join(root, n) for n in names], chunksize=1)
    with open(out_csv, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["path", "pdq", "quality"])
        for name, (h, q) in zip(names, hashes):
            w.writerow(["/" + name, h, q])


# ---- time (without hyperfine)


def time_runs(json_path, runs, prepare, pairs):
    results = []
    for name, cmd in zip(pairs[::2], pairs[1::2]):
        times, user, system = [], [], []
        for i in range(runs + 1):  # the first run warms the page cache
            subprocess.run(prepare, shell=True, check=True)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL)
            if i:
                times.append(time.perf_counter() - start)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                user.append(after.ru_utime - before.ru_utime)
                system.append(after.ru_stime - before.ru_stime)
        results.append({"command": name, "mean": statistics.mean(times),
                        "stddev": statistics.stdev(times) if len(times) > 1 else 0.0, "times": times,
                        "user": statistics.mean(user), "system": statistics.mean(system)})
    with open(json_path, "w") as f:
        json.dump({"results": results}, f)


# ---- compare


def compare(times_json, ref_csv, report_csv, root):
    with open(times_json) as f:
        res = {r["command"]: r for r in json.load(f)["results"]}
    with open(ref_csv, newline="") as f:
        ref = {r["path"]: r["pdq"] for r in csv.DictReader(f)}
    names = pictures(root)
    total = sum(os.path.getsize(os.path.join(root, n)) for n in names)
    with Image.open(os.path.join(root, names[0])) as img:
        s = reduction(*img.size)
        drafted = (-(-img.width // s), -(-img.height // s))

    hs_pdq, columns = {}, []
    if os.path.exists(report_csv):
        with open(report_csv, newline="") as f:
            rows = csv.DictReader(f)
            columns = rows.fieldnames or []
            for r in rows:
                if r.get("kind", "file") == "file" and "pdq" in r:
                    hs_pdq[r["path"]] = r["pdq"]
    has_pdq = "pdq" in columns

    r, h = res["reference"], res["hashsweep"]
    procs = os.cpu_count()
    n = len(r.get("times", []))
    print(f"{len(names)} photos, {total / 1e6:.0f} MB; reference decodes at 1/{s} ({drafted[0]}x{drafted[1]}); "
          f"{procs} cores, {n} run{'' if n == 1 else 's'} each, warm cache")

    def cpu(x):  # CPU time tells a busy machine apart: wall well over cpu / cores
        used = f"; cpu {x['user'] + x['system']:.2f} s" if "user" in x else ""
        return f"  (sd {x['stddev']:.2f}{used})"

    print(f"reference (pdqhash + Pillow draft, {procs} processes): {r['mean']:.2f} s{cpu(r)}")
    label = "md5+sha1+pdq" if has_pdq else "md5+sha1; report.csv has no pdq column"
    print(f"hashsweep ({label}): {h['mean']:.2f} s{cpu(h)}")
    ratio = r["mean"] / h["mean"]
    print(f"ratio: {ratio:.2f}x faster" if ratio >= 1 else f"ratio: {1 / ratio:.2f}x slower")

    if not has_pdq:
        if not os.path.exists(report_csv):
            print(f"warning: {report_csv} does not exist: the scan wrote no report")
        else:
            print(f"warning: {report_csv} has no pdq column: this hashsweep does not compute PDQ yet")
        return
    filled = {p: v for p, v in hs_pdq.items() if v}
    print(f"pdq column: filled for {len(filled)}/{len(names)} photos")
    missing = sorted(set(ref) - set(filled))
    if missing:
        print(f"  no pdq for: {' '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}")
    d = [distance(filled[p], ref[p]) for p in sorted(filled) if p in ref]
    if d:
        over = sum(1 for x in d if x > 31)
        print(f"distance from the reference: max {max(d)}, mean {statistics.mean(d):.1f} bits over {len(d)} photos"
              f" ({over} over 31)")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__ or "usage: see the header of scripts/bench-pdq.py")
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "generate" and len(args) == 2:
        generate(args[0], int(args[1]))
    elif cmd == "reference" and len(args) == 2:
        reference(args[0], args[1])
    elif cmd == "time" and len(args) >= 5 and len(args) % 2 == 1:
        time_runs(args[0], int(args[1]), args[2], args[3:])
    elif cmd == "compare" and len(args) == 4:
        compare(*args)
    else:
        sys.exit("usage: see the header of scripts/bench-pdq.py")


if __name__ == "__main__":
    main()
