"""Nuclei on real images with expert masks: built-in backend (defaults) vs Otsu + watershed.

Reads the evaluation set written by ``bench/make_nuclei_eval.py`` (DSB2018 /
BBBC038 stage 1 test images and stardist's DSB2018 image, CC0): fluorescence and
brightfield (H&E, hematoxylin) images with one label per nucleus. No image says
its pixel size, so the built-in backend runs exactly as a user's first try does:
default settings, nucleus size measured from the image (a granulometry guess,
checked by a first segmentation), nuclei only (no expansion), brightfield through
the hematoxylin channel. The baseline is a plain Otsu threshold (after a Gaussian
of sigma 1) + distance-transform watershed (peaks at least 5 px apart) on the same
channel.

Prints F1 at IoU 0.5 per image and mean / median / worst per set, the same for the
even- and odd-numbered halves of each set (images sorted by name; a held-out
check: a setting chosen on one half should hold on the other), the ratio of
estimated to true median nucleus diameter, and the built-in backend's seconds per
megapixel (calibration + tiled segmentation, one process). No tuning happens here.

Usage: ``python bench/bench_nuclei_eval.py --data /path/nuclei_eval [--out figures.txt]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import tifffile
from scipy import ndimage as ndi
from skimage.feature import peak_local_max
from skimage.filters import gaussian, threshold_otsu
from skimage.segmentation import watershed

from napari_dvp.core.segmentation import make_backend, run_to_end, segment_tiled
from napari_dvp.core.segmentation.metrics import match_labels
from napari_dvp.core.segmentation.pipeline import segmentation_input


def otsu_watershed(channel: np.ndarray) -> np.ndarray:
    """The baseline: Otsu + distance-transform watershed, fixed small-image settings."""
    smooth = gaussian(channel.astype(np.float32), 1, preserve_range=True)
    fg = ndi.binary_fill_holes(smooth > threshold_otsu(smooth))
    dist = ndi.distance_transform_edt(fg)
    pieces, _ = ndi.label(fg)
    peaks = peak_local_max(dist, min_distance=5, labels=pieces, exclude_border=False)
    markers = np.zeros(fg.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    return watershed(-dist, markers, mask=fg)


def true_diameter(labels: np.ndarray) -> float:
    """Median equivalent diameter of the expert nuclei."""
    area = np.bincount(labels.ravel())[1:]
    return float(2 * np.sqrt(np.median(area[area > 0]) / np.pi))


def evaluate(folder: Path, lines: list[str]) -> tuple[dict[str, np.ndarray], float]:
    """Run both methods on every image of one set; return the F1 arrays and s/megapixel."""
    scores: dict[str, list[float]] = {"builtin": [], "otsu": []}
    ratio, replaced = [], []
    total_s = total_px = 0.0
    for path in sorted(folder.glob("*_image.tif")):
        name = path.name[: -len("_image.tif")]
        image = tifffile.imread(path)
        truth = tifffile.imread(path.with_name(f"{name}_labels.tif"))
        is_rgb = image.ndim == 3 and image.shape[-1] in (3, 4)
        data = image if is_rgb else image[None]
        array, channels, _rgb = segmentation_input(data, is_rgb, ["nuclei"])
        backend = make_backend("builtin")
        t0 = time.perf_counter()
        calibrated = backend.calibrate(np.stack([np.asarray(array[c]) for c in channels]))
        pred = run_to_end(segment_tiled(array, calibrated, channels, calibrate=False))
        seconds = time.perf_counter() - t0
        total_s += seconds
        total_px += truth.size
        nuclear = np.asarray(array[channels[0]], np.float32)
        base = otsu_watershed(nuclear)
        m, b = match_labels(pred, truth), match_labels(base, truth)
        scores["builtin"].append(m.f1)
        scores["otsu"].append(b.f1)
        est = calibrated.nucleus_px
        guess = calibrated.size_estimate.first_guess_px
        replaced.append(guess is not None)
        ratio.append(est / true_diameter(truth))
        lines.append(f"  {name:20s} {'x'.join(map(str, truth.shape)):>8s} {truth.max():4d} nuclei  "
                     f"builtin F1 {m.f1:.3f} (P {m.precision:.2f} R {m.recall:.2f})  "
                     f"otsu+ws F1 {b.f1:.3f}  diameter est/true {est:5.1f}/"
                     f"{true_diameter(truth):5.1f}  {seconds:.2f} s"
                     + (f"  (first guess {guess:.1f}, replaced by a first segmentation)"
                        if guess else ""))
        print(lines[-1], flush=True)
    ratio = np.array(ratio)
    lines.append(f"  diameter estimate / truth: median {np.median(ratio):.2f}, within 25 % "
                 f"for {np.mean(np.abs(np.log(ratio)) < np.log(1.25)):.0%} of images; the first "
                 f"guess was replaced by a first segmentation in {sum(replaced)} of "
                 f"{len(replaced)} images")
    return {k: np.array(v) for k, v in scores.items()}, total_s / (total_px / 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True,
                        help="folder written by bench/make_nuclei_eval.py")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    lines: list[str] = []
    summary = []
    for kind in ("fluorescence", "brightfield"):
        folder = args.data / kind
        if not folder.is_dir():
            lines.append(f"{kind}: no images under {folder}")
            continue
        lines.append(f"{kind}:")
        print(lines[-1], flush=True)
        scores, s_per_mp = evaluate(folder, lines)
        for method, f1 in scores.items():
            for half, part in (("all", f1), ("even", f1[0::2]), ("odd", f1[1::2])):
                summary.append(f"{kind:12s} {method:8s} {half:4s} n={part.size:3d}  F1@0.5 mean "
                               f"{part.mean():.3f}  median {np.median(part):.3f}  "
                               f"worst {part.min():.3f}")
        summary.append(f"{kind:12s} builtin  {s_per_mp:.2f} s per megapixel")
    lines += ["", *summary]
    print("\n".join(["", *summary]))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
