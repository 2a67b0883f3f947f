"""Benchmark of the native kernels against reference implementations, side by side in one run.

    python -m benchmarks.kernels            # full run: all 72 rate pairs (about half an hour)
    python -m benchmarks.kernels --quick    # smoke run: 8 pairs, short signals, few repetitions

Prints tables, writes ``kernels.json`` and PNG plots to ``--out`` (default benchmarks/results).

Methodology
-----------
Costs are timed round-robin (benchmarks/_common.py): per-frame figures are the median ns per call
over repetitions, each a batch of back-to-back calls with state carried between calls.  "Per
chunk" means one 20 ms chunk at the input rate; "bulk" is one call on 10 s of audio, reported per
input sample.  References: CPython's audioop (stdlib up to 3.12, audioop-lts on 3.13+),
soxr.ResampleStream (HQ and VHQ), scipy.signal.resample_poly (stateless, so its per-chunk figure
is a per-chunk one-shot call).  Quality figures are defined in benchmarks/_quality.py, except
image / alias rejection, which is measured here as a *total* (:func:`unwanted_db`): for
rational ratios such as 44.1 → 48 kHz (160/147) a tone has up to hundreds of images, all folded
into the output, and what matters is their sum.

μ-law: exactness is checked against audioop on all 65,536 PCM16 values and all 256 codes and
against golden hashes; per-frame cost is for 160 samples (20 ms at 8 kHz) of speech-level noise.

Targets (from the issue) are printed with PASS/MISS; a MISS is reported, never hidden.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import _common as common
from benchmarks import _quality as q
from rtagents.native import SUPPORTED_RATES, Resampler, resample, ulaw_decode, ulaw_encode

PAIRS = [(a, b) for a in SUPPORTED_RATES for b in SUPPORTED_RATES if a != b]
QUICK_PAIRS = [
    (8000, 24000),
    (24000, 8000),
    (8000, 48000),
    (22050, 24000),
    (44100, 48000),
    (48000, 44100),
    (11025, 96000),
    (96000, 11025),
]
AMPLITUDE = 0.9  # of full scale, for the image / alias tones
ENCODE_ALL_SHA256 = "81d633c9e6972a18c74a58720b96cb8ca0bdd096d4060b646dd708c3b846019a"
DECODE_ALL_SHA256 = "3dab54339e520bb2c924826e3b72a917a2b612e9fd12fc867500f1d983a75827"


def speech_like(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.asarray(np.clip(rng.normal(0, 3000, n), -32768, 32767), dtype=np.int16)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# -- μ-law ------------------------------------------------------------------------------------


def bench_ulaw(opts: argparse.Namespace, summary: list[list[object]]) -> dict[str, Any]:
    all_pcm = struct.pack("<65536h", *range(-32768, 32768))
    enc = ulaw_encode(all_pcm)
    dec = ulaw_decode(bytes(range(256)))
    result: dict[str, Any] = {
        "encode_sha256_ok": hashlib.sha256(enc).hexdigest() == ENCODE_ALL_SHA256,
        "decode_sha256_ok": hashlib.sha256(dec).hexdigest() == DECODE_ALL_SHA256,
    }
    frame = speech_like(160).tobytes()
    code = ulaw_encode(frame)
    bulk = speech_like(80000, seed=2).tobytes()
    bulk_code = ulaw_encode(bulk)
    calls: dict[str, common.Call] = {
        "ours encode/frame": lambda: ulaw_encode(frame),
        "ours decode/frame": lambda: ulaw_decode(code),
        "ours encode/bulk": lambda: ulaw_encode(bulk),
        "ours decode/bulk": lambda: ulaw_decode(bulk_code),
    }
    au = q.audioop
    if au is not None:
        result["encode_matches_audioop"] = enc == au.lin2ulaw(all_pcm, 2)
        result["decode_matches_audioop"] = dec == au.ulaw2lin(bytes(range(256)), 2)
        calls |= {
            "audioop encode/frame": lambda: au.lin2ulaw(frame, 2),
            "audioop decode/frame": lambda: au.ulaw2lin(code, 2),
            "audioop encode/bulk": lambda: au.lin2ulaw(bulk, 2),
            "audioop decode/bulk": lambda: au.ulaw2lin(bulk_code, 2),
        }
    times = common.time_round_robin(calls, repeats=opts.repeats, batch_s=opts.batch_s)
    result["times"] = times
    rows: list[list[object]] = []
    speed: dict[str, tuple[float, float, float]] = {}  # op -> (ours µs, audioop µs, bulk speed-up)
    for op in ("encode", "decode"):
        ours_f = times[f"ours {op}/frame"]["median_ns"] / 1000
        ours_b = times[f"ours {op}/bulk"]["median_ns"] / 80000
        ref_f = times.get(f"audioop {op}/frame", {}).get("median_ns", math.nan) / 1000
        ref_b = times.get(f"audioop {op}/bulk", {}).get("median_ns", math.nan) / 80000
        rows.append([op, ours_f, ref_f, ours_f / ref_f, ours_b, ref_b, ref_b / ours_b])
        speed[op] = (ours_f, ref_f, ref_b / ours_b)
        result[op] = {
            "frame_us": ours_f,
            "audioop_frame_us": ref_f,
            "bulk_ns": ours_b,
            "audioop_bulk_ns": ref_b,
        }
    print(
        common.table(
            [
                "μ-law",
                "ours µs/frame",
                "audioop µs/frame",
                "ratio",
                "ours ns/smp",
                "audioop ns/smp",
                "bulk speed-up",
            ],
            rows,
            "G.711 μ-law (160-sample frames; bulk = 10 s at 8 kHz)",
        )
    )
    exact = all(v for k, v in result.items() if k.endswith("_ok") or k.endswith("matches_audioop"))
    print(f"bit-exact with audioop and golden hashes: {exact}\n")
    enc_us, enc_ref_us, enc_speedup = speed["encode"]
    summary.append(
        ["μ-law bit-exact (65,536 inputs, 256 codes)", "exact", str(exact), verdict(exact)]
    )
    summary.append(
        [
            "μ-law encode µs/frame ≤ audioop",
            f"≤ {enc_ref_us:.2f}",
            f"{enc_us:.2f}",
            verdict(enc_us <= enc_ref_us),
        ]
    )
    summary.append(
        ["μ-law bulk encode ≥ 3× audioop", "≥ 3×", f"{enc_speedup:.1f}×", verdict(enc_speedup >= 3)]
    )
    return result


# -- resampler --------------------------------------------------------------------------------


def _soxr_chunk(stream: Any, x: np.ndarray) -> common.Call:
    return lambda: stream.resample_chunk(x)


def _soxr_bulk(sx: Any, x: np.ndarray, a: int, b: int, quality: str) -> common.Call:
    return lambda: sx.resample(x, a, b, quality=quality)


def chunk_calls(a: int, b: int) -> dict[str, common.Call]:
    x = speech_like(a // 50)
    xb = x.tobytes()
    rs = Resampler(a, b)
    calls: dict[str, common.Call] = {"ours": lambda: rs.process(xb)}
    if q.soxr is not None:
        for quality in ("HQ", "VHQ"):
            calls[f"soxr {quality}"] = _soxr_chunk(
                q.soxr.ResampleStream(a, b, 1, dtype="int16", quality=quality), x
            )
    if q.audioop is not None:
        au = q.audioop
        box: list[Any] = [None]

        def ratecv() -> None:
            _, box[0] = au.ratecv(xb, 2, 1, a, b, box[0])

        calls["audioop"] = ratecv
    if q.scipy_signal is not None:
        calls["resample_poly"] = lambda: q.bulk_resample_poly(x, a, b)
    return calls


def bulk_calls(a: int, b: int, seconds: float) -> dict[str, common.Call]:
    x = speech_like(int(a * seconds))
    xb = x.tobytes()
    calls: dict[str, common.Call] = {"ours": lambda: resample(xb, a, b)}
    sx, au = q.soxr, q.audioop
    if sx is not None:
        for quality in ("HQ", "VHQ"):
            calls[f"soxr {quality}"] = _soxr_bulk(sx, x, a, b, quality)
    if au is not None:
        calls["audioop"] = lambda: au.ratecv(xb, 2, 1, a, b, None)
    if q.scipy_signal is not None:
        calls["resample_poly"] = lambda: q.bulk_resample_poly(x, a, b)
    return calls


def unwanted_db(impl: q.Stream, a: int, b: int, seconds: float) -> float:
    """Worst total power of everything but the wanted tone, dB below the tone (positive).

    Tones at 0.9 FS: in-band ones (0.05–0.85 × the lower Nyquist; what is left once the tone is
    fitted out is the sum of its images and aliases), and, when downsampling, tones from 0.575
    × the output rate up (everything that comes out is alias).  The int16 rounding floor is
    ≈ 95 dB down, so figures near it mean "at the floor".
    """
    power = (AMPLITUDE * 32767) ** 2 / 2
    low = min(a, b)
    tones = [(f, True) for f in np.linspace(0.05, 0.85, 6) * low / 2 - 7.3]
    if a > b and 0.95 * a / 2 > 0.575 * b:
        tones += [(f, False) for f in np.linspace(0.575 * b, 0.95 * a / 2, 6) + 7.3]
    worst = math.inf
    for f, wanted in tones:
        y = q.trim(impl(q.to_int16(q.sines([f], AMPLITUDE, a, seconds)), a, b), b)
        if wanted:
            t = (np.arange(len(y)) + int(q.EDGE_S * b)) / b
            basis = np.stack([np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t)], axis=1)
            y = y - basis @ np.linalg.lstsq(basis, y, rcond=None)[0]
        level = float(np.mean(y**2)) / power
        worst = min(worst, -10 * math.log10(max(level, 1e-15)))
    return worst


def bench_resampler(opts: argparse.Namespace, summary: list[list[object]]) -> dict[str, Any]:
    impls = q.implementations()
    results: dict[str, Any] = {}
    every = QUICK_PAIRS if opts.quick else PAIRS
    pairs = [p for p in every if not opts.pairs or f"{p[0]}-{p[1]}" in opts.pairs]
    for a, b in pairs:
        key = f"{a}->{b}"
        chunk = common.time_round_robin(
            chunk_calls(a, b), repeats=opts.repeats, batch_s=opts.batch_s
        )
        bulk = common.time_round_robin(
            bulk_calls(a, b, opts.bulk_s), repeats=max(3, opts.repeats // 2), batch_s=opts.batch_s
        )
        rows = []
        pair: dict[str, Any] = {}
        for name, impl in impls.items():
            snr, delay = q.snr(impl, a, b, opts.signal_s)
            ripple, edge = q.passband(impl, a, b, opts.tone_s)
            reject = unwanted_db(impl, a, b, opts.tone_s)
            lo, mean, hi = q.withheld_ms(name, a, b)
            m = {
                "chunk_us": chunk[name]["median_ns"] / 1000,
                "chunk_us_min": chunk[name]["min_ns"] / 1000,
                "bulk_ns_per_sample": bulk[name]["median_ns"] / (a * opts.bulk_s),
                "snr_db": snr,
                "fitted_delay_samples": delay,
                "ripple_db": ripple,
                "edge_gain_db": edge,
                "rejection_db": reject,
                "withheld_ms": {"min": lo, "mean": mean, "max": hi},
            }
            pair[name] = m
            rows.append(
                [
                    name,
                    m["chunk_us"],
                    m["bulk_ns_per_sample"],
                    snr,
                    delay,
                    ripple,
                    edge,
                    reject,
                    lo,
                    mean,
                    hi,
                ]
            )
        results[key] = pair
        kind = "alias" if a > b else "image"  # totals: see unwanted_db
        print(
            common.table(
                [
                    "impl",
                    "µs/chunk",
                    "ns/smp bulk",
                    "SNR dB",
                    "delay smp",
                    "ripple dB",
                    "edge dB",
                    f"{kind} dB",
                    "held min",
                    "held mean",
                    "held max",
                ],
                rows,
                f"{a} Hz -> {b} Hz (20 ms chunks of {a // 50} samples; held = withheld ms)",
            )
        )
        ours = pair["ours"]
        ratio = (
            float(ours["chunk_us"]) / float(pair["soxr HQ"]["chunk_us"])
            if "soxr HQ" in pair
            else math.nan
        )
        ours["cost_vs_soxr_hq"] = ratio
        ok = {
            f"{kind} ≥ 80 dB": ours["rejection_db"] >= 80,
            "ripple ≤ 0.1 dB": ours["ripple_db"] <= 0.1,
            "SNR ≥ 75 dB": ours["snr_db"] >= 75,
            "withheld ≤ 2 ms": ours["withheld_ms"]["max"] <= 2.0,
            "cost ≤ 0.5× soxr HQ": ratio <= 0.5,
        }
        ours["targets"] = ok
        print(
            "  ours: "
            + ", ".join(f"{k} {verdict(v)}" for k, v in ok.items())
            + f" (cost ratio {ratio:.2f})\n"
        )
        summary.append(
            [
                f"resampler {a}->{b}",
                "all five",
                f"{kind} {ours['rejection_db']:.0f} dB, ripple {ours['ripple_db']:.3f} dB, "
                f"SNR {ours['snr_db']:.1f} dB, held ≤ {ours['withheld_ms']['max']:.2f} ms, "
                f"cost {ratio:.2f}× HQ",
                verdict(all(ok.values())),
            ]
        )
    print(overview(results))
    return results


def overview(results: dict[str, Any]) -> str:
    """One line per pair for our resampler: the figures the tables above give one by one."""
    rows = []
    for key, pair in results.items():
        a, b = (int(r) for r in key.split("->"))
        ours = pair["ours"]
        rs = Resampler(a, b)
        rows.append(
            [
                key,
                ours["chunk_us"],
                ours["cost_vs_soxr_hq"],
                ours["rejection_db"],
                ours["snr_db"],
                ours["ripple_db"],
                rs.delay_ms,
                rs.kernel,
            ]
        )
    headers = ["pair", "µs/chunk", "× soxr HQ", "img/alias dB", "SNR dB", "ripple dB"]
    title = "Ours, every pair (img/alias: total below the tone; delay: withheld look-ahead)"
    return common.table([*headers, "delay ms", "kernel"], rows, title) + "\n"


def bench_fused(opts: argparse.Namespace, summary: list[list[object]]) -> dict[str, Any]:
    if q.soxr is None or q.audioop is None:
        print("fused paths: skipped (needs soxr and audioop)\n")
        return {}
    au, sx = q.audioop, q.soxr
    ulaw = ulaw_encode(speech_like(160).tobytes())
    pcm24 = speech_like(480).tobytes()
    up, down = Resampler(8000, 24000), Resampler(24000, 8000)
    st_up = sx.ResampleStream(8000, 24000, 1, dtype="int16", quality="HQ")
    st_down = sx.ResampleStream(24000, 8000, 1, dtype="int16", quality="HQ")
    calls: dict[str, common.Call] = {
        "ours μ-law→24k": lambda: up.process_ulaw(ulaw),
        "audioop+soxr μ-law→24k": lambda: st_up.resample_chunk(
            np.frombuffer(au.ulaw2lin(ulaw, 2), dtype=np.int16)
        ),
        "ours 24k→μ-law": lambda: down.process_to_ulaw(pcm24),
        "soxr+audioop 24k→μ-law": lambda: au.lin2ulaw(
            st_down.resample_chunk(np.frombuffer(pcm24, dtype=np.int16)).tobytes(), 2
        ),
    }
    times = common.time_round_robin(calls, repeats=opts.repeats, batch_s=opts.batch_s)
    us = {k: v["median_ns"] / 1000 for k, v in times.items()}
    rows = [
        [
            "μ-law 8k → PCM 24k",
            us["ours μ-law→24k"],
            us["audioop+soxr μ-law→24k"],
            us["ours μ-law→24k"] / us["audioop+soxr μ-law→24k"],
        ],
        [
            "PCM 24k → μ-law 8k",
            us["ours 24k→μ-law"],
            us["soxr+audioop 24k→μ-law"],
            us["ours 24k→μ-law"] / us["soxr+audioop 24k→μ-law"],
        ],
    ]
    print(
        common.table(
            ["telephone leg, per 20 ms", "ours µs", "audioop+soxr HQ µs", "ratio"],
            rows,
            "Fused telephone paths",
        )
    )
    print()
    for leg, ratio in ((rows[0][0], rows[0][3]), (rows[1][0], rows[1][3])):
        assert isinstance(ratio, float)
        summary.append(
            [
                f"fused {leg} ≤ 1/3 of reference",
                "≤ 0.33",
                f"{ratio:.2f}",
                verdict(ratio <= 1 / 3),
            ]
        )
    return {"us": us, "ratios": {r[0]: r[3] for r in rows}}


# -- plots ------------------------------------------------------------------------------------


def plot(results: dict[str, Any], out: Path, opts: argparse.Namespace) -> list[str]:
    plt = common.pyplot()
    if plt is None:
        print("matplotlib not installed: no plots")
        return []
    written = []
    res = results["resampler"]
    keys = list(res)
    names = [n for n in ("ours", "soxr HQ", "soxr VHQ", "audioop") if n in res[keys[0]]]
    width = 0.8 / len(names)
    for metric, ylabel, fname, log in (
        ("chunk_us", "µs per 20 ms chunk (median)", "kernels_cost.png", False),
        ("withheld", "mean withheld audio, ms (log)", "kernels_latency.png", True),
    ):
        fig, ax = plt.subplots(figsize=(max(11, 0.45 * len(keys)), 4.5))
        for i, name in enumerate(names):
            values = [
                max(res[k][name]["withheld_ms"]["mean"], 0.01)
                if metric == "withheld"
                else res[k][name][metric]
                for k in keys
            ]
            ax.bar(np.arange(len(keys)) + i * width, values, width, label=name)
        ax.set_xticks(
            np.arange(len(keys)) + width * (len(names) - 1) / 2, keys, rotation=30, fontsize=8
        )
        ax.set_ylabel(ylabel)
        if log:
            ax.set_yscale("log")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / fname, dpi=110)
        plt.close(fig)
        written.append(fname)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, (a, b) in zip(axes, ((24000, 8000), (8000, 24000)), strict=True):
        if a > b:
            sweep = q.response_sweep(a, b, opts.sweep_points, opts.tone_s)
            ax.plot([f for f, _ in sweep], [db for _, db in sweep], ".-")
            ax.set_xlabel("input tone, Hz (above 4 kHz: level of its alias)")
        else:
            freqs = np.linspace(20, 0.98 * a / 2, opts.sweep_points) + 7.3
            levels: list[tuple[float, float]] = []
            for f in freqs:
                x = q.to_int16(q.sines([f], 0.5, a, opts.tone_s))
                y = q.trim(np.frombuffer(resample(x.tobytes(), a, b), dtype="<i2").astype(float), b)
                images = [a - f, a + f]
                amps = q.fit_amplitudes(y, [f, *images], b, int(q.EDGE_S * b))
                for freq, amp in zip([f, *images], amps, strict=True):
                    levels.append((freq, 20 * math.log10(max(amp, 1e-3) / (0.5 * 32767))))
            levels.sort()
            ax.plot([f for f, _ in levels], [db for _, db in levels], ".")
            ax.set_xlabel("output frequency, Hz (above 4 kHz: images)")
        ax.axhline(-80, color="red", lw=0.8, ls="--")
        ax.set_ylim(-120, 5)
        ax.set_ylabel("dB re input tone")
        ax.set_title(f"ours {a} -> {b}, measured by tone sweep")
    fig.tight_layout()
    fig.savefig(out / "kernels_response.png", dpi=110)
    plt.close(fig)
    written.append("kernels_response.png")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the native kernels against references.")
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--pairs", nargs="*", default=[], help="e.g. 8000-24000 24000-8000")
    opts = parser.parse_args(argv)
    opts.repeats = 5 if opts.quick else 15
    opts.batch_s = 0.004 if opts.quick else 0.03
    opts.bulk_s = 2.0 if opts.quick else 10.0
    opts.signal_s = 0.5 if opts.quick else 2.0
    opts.tone_s = 0.2 if opts.quick else 0.5
    opts.sweep_points = 20 if opts.quick else 80
    env = common.environment()
    kernel = Resampler(8000, 24000).kernel
    print(f"rtagents kernel benchmark — python {env['python']}, {env['platform']}, kernel {kernel}")
    versions = env["versions"]
    print(
        f"references: audioop {'yes' if q.audioop else 'MISSING'}, "
        f"soxr {versions['soxr'] or 'MISSING'}, scipy {versions['scipy'] or 'MISSING'}\n"
    )
    summary: list[list[object]] = []
    results: dict[str, Any] = {
        "environment": env,
        "quick": opts.quick,
        "kernel": Resampler(8000, 24000).kernel,
    }
    results["ulaw"] = bench_ulaw(opts, summary)
    results["resampler"] = bench_resampler(opts, summary)
    results["fused"] = bench_fused(opts, summary)
    results["delay_ms"] = {f"{a}->{b}": Resampler(a, b).delay_ms for a, b in PAIRS}
    print(common.table(["target", "goal", "measured", "verdict"], summary, "Summary of targets"))
    opts.out.mkdir(parents=True, exist_ok=True)
    results["summary"] = summary
    common.write_json(opts.out / "kernels.json", results)
    written = plot(results, opts.out, opts) if results["resampler"] else []
    print(f"\nwrote {opts.out / 'kernels.json'}" + "".join(f", {w}" for w in written))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
