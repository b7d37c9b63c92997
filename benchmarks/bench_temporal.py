"""Temporal lifter benchmark: accuracy, smoothness, training and prediction speed, streaming.

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_temporal.py                 # everything, writes RESULTS.md
    PYTHONPATH=. python benchmarks/bench_temporal.py --dev --no-speed --no-stream  # research

Accuracy (same data and protocol as ``bench_lifter.py``, ``benchmarks/protocols.py``): the
seed API's default call with ``training_kwargs={"temporal": 27}`` (the temporal lifter),
next to the same call without it (the frame lifter), least squares, and liftpose 0.22 (from
``benchmarks/results_liftpose022.json``), in one run. Each test set is one sequence (200
consecutive frames of the test camera). Besides the root-relative error (MPJPE), the mean
per-joint velocity and acceleration errors (:mod:`liftpose_dlc.metrics`), in mm per frame
and per frame².

Speed (P2's 30 joints, its training frames tiled into sequences with fresh 1 px noise):

* training: ``Lifter.fit`` (everything included: windows, augmentation of each window as one
  pose, encoding, the loss) against the pure temporal network's forward + backward + Adam
  step on ready-made window tensors at the same batch size; the frame lifter's ``fit`` beside;
* prediction: ``predict`` (NumPy in, NumPy out: windows, encoding, assembling) against the
  pure network's forward over ready-made encoded sequences.

Streaming: a DeepLabCut ``.h5`` of ``--frames`` frames (``bench_streaming.write_dlc_h5``)
lifted with ``lift_file`` in a fresh process (peak resident memory, throughput), against the
pure forward; and a 20,000-frame file lifted in chunks against the same poses lifted whole.

Writes the "## Temporal lifter" section of ``benchmarks/RESULTS.md`` (not with ``--dev``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_streaming import run_child, write_dlc_h5  # noqa: E402
from protocols import (  # noqa: E402
    load_protocol,
    lstsq_fit_predict,
    root_relative_error,
)
from results_file import write_section  # noqa: E402

import liftpose_dlc  # noqa: E402
from liftpose_dlc import Lifter, load_test_results, train  # noqa: E402
from liftpose_dlc import test as lp_test  # noqa: E402
from liftpose_dlc.lifter.session import TrainOptions  # noqa: E402
from liftpose_dlc.metrics import acceleration_error, velocity_error  # noqa: E402

SECTION = "## Temporal lifter"
BEGIN, END = "<!-- bench_temporal:begin -->", "<!-- bench_temporal:end -->"
LP022 = HERE / "results_liftpose022.json"
TARGETS = {"P1": 0.040, "P2": 0.045, "P3": 0.045}
TEMPORAL = {"temporal": 27}
#: What was tried, on the dev split only (train 0-639, test 640-799), P1, 600 optimisation
#: steps (``training_kwargs={"temporal": 27, "min_steps": 600}``), one run each.
NOTES = """Research (dev split only: train frames 0-639, test 640-799; P1; 600 optimisation
steps, `training_kwargs={"temporal": 27, "min_steps": 600}`; one run each, on a shared machine):

| temporal network (27 frames) | MPJPE mm | accel. error mm/frame² |
|---|---|---|
| dilated convolutions alone (VideoPose3D), 128 channels | 0.0772 | 0.118 |
| + linear path and set branches on the lifted frame's input, 256 channels | 0.0555 | 0.082 |
| the same, 128 channels | 0.0554 | 0.082 |
| frame network (defaults, view gate) on the lifted frame + convolutions, 128 ch. | 0.0534 | 0.083 |
| the same, 64 channels (**default**: a quarter of the convolutions' cost) | 0.0534 | 0.084 |
| least squares | 0.0576 | 0.096 |
| mean pose (= the true motion's own mean acceleration) | 0.273 | 0.181 |

The fly's legs move fast for the frame rate: the true joints accelerate by 0.18 mm/frame² on
average, against a 2D noise of 1 px. The acceleration error of every lifter is dominated by
real motion, not by frame-to-frame jitter, so temporal smoothing cannot halve it here; the
temporal convolutions' gain on this data is small. Not tried for lack of time: a longer
schedule for the convolutions, transformers (MotionBERT, PoseFormer).
"""


def _scores(p: dict, gt: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    r, s = p["roots"], p["target_sets"]
    return {
        "mpjpe": root_relative_error(gt, pred, r, s),
        "velocity": velocity_error(gt, pred, r, s),
        "acceleration": acceleration_error(gt, pred, r, s),
    }


def _seed_call(p: dict, kwargs: dict | None) -> tuple[dict[str, float], float]:
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        train(
            p["train_2d_by_camera"],
            p["test_2d"],
            p["train_3d_by_camera"],
            p["test_3d"],
            p["roots"],
            p["target_sets"],
            out_dir=tmp,
            training_kwargs=kwargs,
        )
        lp_test(tmp)
        gt, pred, _ = load_test_results(tmp)
    return _scores(p, gt, pred), time.perf_counter() - t0


def accuracy(dev: bool, frame: bool, names: list[str]) -> dict[str, dict]:
    out = {}
    for name in names:
        p = load_protocol(name, dev=dev)
        temporal, t_s = _seed_call(p, TEMPORAL)
        row = {"temporal": temporal, "temporal_seconds": t_s}
        if frame:
            row["frame"], row["frame_seconds"] = _seed_call(p, None)
        row["least_squares"] = _scores(p, p["test_3d"], lstsq_fit_predict(p))
        out[name] = row
        print(name, json.dumps(row), flush=True)
    return out


# --------------------------------------------------------------------------- speed
def _speed_data(n: int, seq: int = 2000) -> tuple[dict, dict, list[int], list[list[int]]]:
    p = load_protocol("P2")
    x2, x3 = p["train_2d"], p["train_3d"]
    reps = int(np.ceil(n / len(x2)))
    rng = np.random.default_rng(7)
    p2 = np.tile(x2, (reps, 1, 1))[:n] + rng.normal(0, 1, (n, *x2.shape[1:]))
    p3 = np.tile(x3, (reps, 1, 1))[:n]
    d2 = {f"s{i}": p2[i : i + seq] for i in range(0, n, seq)}
    d3 = {f"s{i}": p3[i : i + seq] for i in range(0, n, seq)}
    return d2, d3, p["roots"], p["target_sets"]


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def speed(device: str | None, n: int) -> dict[str, float]:
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    d2, d3, roots, sets = _speed_data(n)
    bs = TrainOptions().batch_size
    lifter = Lifter(30, roots, sets, **TEMPORAL)
    net = lifter.net.to(dev).train()
    w, f_in = lifter.net.receptive_field, lifter.encoder.input_size
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, foreach=True)
    steps = 60
    x = torch.randn(steps * bs, w, f_in, device=dev)
    y = torch.randn(steps * bs, lifter.encoder.output_size, device=dev)

    def pure_steps(k: int) -> float:
        _sync(dev)
        t0 = time.perf_counter()
        for i in range(k):
            sl = slice(i * bs, (i + 1) * bs)
            out = net(x[sl])
            loss = (out - y[sl]).abs().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        _sync(dev)
        return k * bs / (time.perf_counter() - t0)

    pure_steps(5)
    pure_before = pure_steps(steps)
    fitted = Lifter(30, roots, sets, **TEMPORAL)
    t0 = time.perf_counter()
    fitted.fit(d2, d3, epochs=1, device=dev, verbose=False)
    _sync(dev)
    ours_train = n / (time.perf_counter() - t0)
    pure_train = (pure_before + pure_steps(steps)) / 2
    frame = Lifter(30, roots, sets)
    t0 = time.perf_counter()
    frame.fit(d2, d3, epochs=1, device=dev, verbose=False)
    frame_train = n / (time.perf_counter() - t0)
    print(f"training: pure {pure_train:.0f}, ours {ours_train:.0f}, frame {frame_train:.0f}/s")

    net = fitted.net.eval()
    chunk = 8192
    xs = torch.randn(1, chunk + w - 1, f_in, device=dev)

    @torch.no_grad()
    def pure_forward() -> float:
        _sync(dev)
        t0 = time.perf_counter()
        done = 0
        while done < n:
            net.forward_sequence(xs)
            done += chunk
        _sync(dev)
        return done / (time.perf_counter() - t0)

    pure_forward()
    fwd_before = pure_forward()
    arr = np.concatenate(list(d2.values()))
    fitted.predict(arr[:chunk], device=dev, batch_size=chunk)
    t0 = time.perf_counter()
    fitted.predict(arr, device=dev, batch_size=chunk)
    _sync(dev)
    ours_pred = len(arr) / (time.perf_counter() - t0)
    pure_fwd = (fwd_before + pure_forward()) / 2
    t0 = time.perf_counter()
    frame.predict(arr, device=dev)
    frame_pred = len(arr) / (time.perf_counter() - t0)
    print(f"prediction: pure {pure_fwd:.0f}, ours {ours_pred:.0f}, frame {frame_pred:.0f}/s")
    return {
        "device": str(dev),
        "batch_size": bs,
        "samples": n,
        "pure_train": pure_train,
        "ours_train": ours_train,
        "frame_train": frame_train,
        "pure_forward": pure_fwd,
        "ours_predict": ours_pred,
        "frame_predict": frame_pred,
    }


# ----------------------------------------------------------------------- streaming
STREAM_CHILD = textwrap.dedent(
    """
    import json, sys, time
    import torch
    from liftpose_dlc import Lifter, lift_file

    def status_kb(field):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise RuntimeError(field)

    src, model, out, warmup, threads = sys.argv[1:6]
    torch.set_num_threads(int(threads))
    lifter = Lifter.load(model)
    lift_file(warmup, lifter, output=out, pcutoff=0.6, overwrite=True, verbose=False,
              device="cpu")
    base_kb = status_kb("VmHWM")
    t0 = time.perf_counter()
    lift_file(src, lifter, output=out, pcutoff=0.6, overwrite=True, verbose=False, device="cpu")
    seconds = time.perf_counter() - t0
    # the pure forward: the network alone on encoded sequences of the engine's chunk size
    net = lifter.net.eval()
    w = net.receptive_field
    x = torch.randn(1, 8192 + w - 1, net.input_size)
    with torch.no_grad():
        net.forward_sequence(x)
        done, t1 = 0, time.perf_counter()
        while time.perf_counter() - t1 < 3.0:
            net.forward_sequence(x)
            done += 8192
    fps = done / (time.perf_counter() - t1)
    print(json.dumps({"seconds": seconds, "peak_kb": status_kb("VmHWM"), "base_kb": base_kb,
                      "forward_fps": fps}))
    """
)


def _stream_model(path: Path) -> Lifter:
    from bench_streaming import BODYPARTS

    rng = np.random.default_rng(0)
    t = np.arange(600)[:, None, None] / 20.0
    p3 = 20 * np.sin(t + rng.uniform(0, 6, (1, len(BODYPARTS), 3))) + 300.0
    lifter = Lifter(BODYPARTS, roots=["snout"], target_sets=[BODYPARTS[1:]], **TEMPORAL)
    lifter.fit(p3[..., :2], p3, epochs=1, verbose=False, augment=None)
    lifter.save(path, overwrite=True)
    return lifter


def streaming(n_frames: int, threads: int) -> dict[str, float]:
    from liftpose_dlc import lift_file, lift_poses, load_poses

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = work / "temporal.safetensors"
        lifter = _stream_model(model)
        # chunked (the engine's default chunks) against whole, on 20,000 frames
        small = work / "smallDLC_resnet50_benchJan1shuffle1_100000.h5"
        write_dlc_h5(small, 20_000, seed=3)
        out = lift_file(small, lifter, output=work / "small_3d.h5", pcutoff=0.6, verbose=False)
        chunked = load_poses(out).data
        whole = lift_poses(load_poses(small), lifter, pcutoff=0.6, chunk_size=10**9).poses.data
        diff = float(np.nanmax(np.abs(chunked - whole)))
        same_nan = bool((np.isnan(chunked) == np.isnan(whole)).all())
        warm = work / "warmDLC_resnet50_benchJan1shuffle1_100000.h5"
        write_dlc_h5(warm, 20_000, seed=1)
        src = work / "longDLC_resnet50_benchJan1shuffle1_100000.h5"
        write_dlc_h5(src, n_frames)
        res = run_child(STREAM_CHILD, src, model, work / "long_3d.h5", warm, threads)
        return {
            "frames": n_frames,
            "input_mb": src.stat().st_size / 2**20,
            "lift_s": res["seconds"],
            "lift_fps": n_frames / res["seconds"],
            "forward_fps": res["forward_fps"],
            "peak_rss_mb": res["peak_kb"] / 1024,
            "baseline_rss_mb": res["base_kb"] / 1024,
            "chunked_vs_whole_max_diff": diff,
            "chunked_vs_whole_nan_same": same_nan,
        }


# -------------------------------------------------------------------------- report
def _f(v: float | None, digits: int = 4) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def render(
    acc: dict,
    spd: dict | None,
    stream: dict | None,
    dev: bool,
    lp022: dict | None,
    note: str = "",
) -> str:
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs visible, torch {torch.__version__}"
    lines = [
        SECTION,
        "",
        BEGIN,
        "",
        f"Measured by `benchmarks/bench_temporal.py` (liftpose-dlc {liftpose_dlc.__version__}, "
        f"{machine}, {torch.get_num_threads()} torch thread(s)"
        + ("; DEV split: train 0-639, test 640-799" if dev else "")
        + "). Temporal lifter: the seed API's default call with "
        '`training_kwargs={"temporal": 27}`; frame lifter: the same call without it. '
        "Error: root-relative MPJPE, mm; velocity / acceleration error: mean per-joint error "
        "of the first / second difference over consecutive test frames (mm/frame, mm/frame²).",
        *([""] + [note] if note else []),
        "",
        "| protocol | temporal: MPJPE | required | frame: MPJPE | least squares | "
        "liftpose 0.22 | accel. error: temporal / frame / least sq. | ≤ half the frame's | "
        "velocity error: temporal / frame |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in acc.items():
        t, fr, ls = r["temporal"], r.get("frame"), r["least_squares"]
        lp = None if lp022 is None else lp022.get(name)
        ok = "✓" if t["mpjpe"] <= TARGETS[name] else "✗"
        half = "—" if fr is None else ("✓" if t["acceleration"] <= fr["acceleration"] / 2 else "✗")
        lines.append(
            f"| {name} | **{t['mpjpe']:.4f}** {ok} | ≤ {TARGETS[name]} | "
            f"{_f(fr and fr['mpjpe'])} | {ls['mpjpe']:.4f} | {_f(lp)} | "
            f"{t['acceleration']:.4f} / {_f(fr and fr['acceleration'])} / "
            f"{ls['acceleration']:.4f} | {half} | "
            f"{t['velocity']:.4f} / {_f(fr and fr['velocity'])} |"
        )
    secs = [f"{n} {r['temporal_seconds']:.0f} s" for n, r in acc.items()]
    lines += ["", "Training time of the temporal lifter (seed call): " + ", ".join(secs) + "."]
    if spd is not None:
        tr = spd["ours_train"] / spd["pure_train"]
        pr = spd["ours_predict"] / spd["pure_forward"]
        lines += [
            "",
            f"Speed, P2 (30 joints), {spd['samples']:,} frames in sequences of 2,000, device "
            f"`{spd['device']}`, batch {spd['batch_size']} windows of 27 frames, samples/s:",
            "",
            "| | pure temporal network | temporal lifter | ours / pure | required | frame lifter |",
            "|---|---|---|---|---|---|",
            f"| training (fwd+bwd+Adam; ours: `fit`, 1 epoch, default augmentation) | "
            f"{spd['pure_train']:.0f} | {spd['ours_train']:.0f} | {tr:.0%} | ≥ 80% | "
            f"{spd['frame_train']:.0f} |",
            f"| prediction (forward; ours: `predict`) | {spd['pure_forward']:.0f} | "
            f"{spd['ours_predict']:.0f} | {pr:.0%} | ≥ 50% | {spd['frame_predict']:.0f} |",
        ]
    if stream is not None:
        s = stream
        lines += [
            "",
            f"Streaming: a DeepLabCut `.h5` of {s['frames']:,} frames ({s['input_mb']:.0f} MB, "
            "4 bodyparts) lifted by `lift_file` with a 27-frame temporal lifter (engine chunks "
            f"of 8192 frames overlapping by 13 frames on each side): {s['lift_s']:.1f} s, "
            f"{s['lift_fps']:.0f} frames/s against {s['forward_fps']:.0f} frames/s for the "
            f"pure forward ({s['lift_fps'] / s['forward_fps']:.0%}); peak resident memory "
            f"{s['peak_rss_mb']:.0f} MB against {s['baseline_rss_mb']:.0f} MB after a "
            "20,000-frame warm-up lift (bounded: it does not grow with the recording). "
            "A 20,000-frame file lifted in chunks against the same poses lifted whole: "
            f"max difference {s['chunked_vs_whole_max_diff']:.2g}, NaN identical: "
            f"{s['chunked_vs_whole_nan_same']}.",
        ]
    lines += ["", END, "", NOTES]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", action="store_true", help="split the training frames (research)")
    ap.add_argument("--no-frame", action="store_true", help="skip the frame lifter")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--no-stream", action="store_true")
    ap.add_argument("--speed-samples", type=int, default=20_000)
    ap.add_argument("--frames", type=int, default=1_000_000, help="streaming frames")
    ap.add_argument("--device", default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--protocols", default="P1,P2,P3", help="comma-separated; '' for none")
    ap.add_argument("--note", default="", help="a line added to the results (conditions)")
    ap.add_argument("--save", type=Path, default=None, help="write this run's numbers (JSON)")
    ap.add_argument(
        "--render", type=Path, nargs="*", default=None, help="merge saved runs and write RESULTS"
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    lp022 = json.loads(LP022.read_text()) if LP022.exists() else None
    if args.render is not None:  # runs made apart (e.g. in parallel processes), merged
        acc, spd, stream = {}, None, None
        for path in args.render:
            part = json.loads(path.read_text())
            acc.update(part["accuracy"])
            spd = part["speed"] or spd
            stream = part["streaming"] or stream
        acc = {k: acc[k] for k in sorted(acc)}
    else:
        names = [n for n in args.protocols.split(",") if n]
        acc = accuracy(args.dev, not args.no_frame, names)
        spd = None if args.no_speed else speed(args.device, args.speed_samples)
        stream = None if args.no_stream else streaming(args.frames, args.threads)
        if args.save is not None:
            part = {"accuracy": acc, "speed": spd, "streaming": stream, "dev": args.dev}
            args.save.write_text(json.dumps(part, indent=2))
    block = render(acc, spd, stream, args.dev, lp022, args.note)
    print(block)
    if not args.no_write and not args.dev and args.save is None:
        write_section(SECTION, block)
        (HERE / "results_temporal.json").write_text(
            json.dumps({"accuracy": acc, "speed": spd, "streaming": stream}, indent=2)
        )


if __name__ == "__main__":
    main()
