"""Build the nuclei evaluation set used by ``bench/bench_nuclei_eval.py``.

Sources (both licensed CC0 1.0, "No Rights Reserved"; see docs/segmentation.md):

* **DSB2018 stage 1 test set** (BBBC038, Caicedo et al., Nature Methods 16, 2019):
  65 images with expert nucleus masks (one PNG per nucleus), in the Kaggle layout
  ``<id>/images/<id>.png`` + ``<id>/masks/*.png``. Give the folder that holds the
  ``<id>`` folders with ``--dsb``. 53 are fluorescence, 12 brightfield tissue
  (H&E and hematoxylin-only), told apart by their bright background.
* **stardist's test image** (``stardist/data/images/img2d.tif`` + ``mask2d.tif``,
  a DSB2018 training image shipped in the ``stardist`` wheel on PyPI): found in an
  installed ``stardist`` or an unpacked wheel given with ``--stardist``.

Writes ``<out>/fluorescence/<name>_image.tif``, ``<out>/brightfield/<name>_image.tif``
(RGB), ``<name>_labels.tif`` (uint16 instance labels) and ``<out>/MANIFEST.tsv``.
Nothing is written into the repository.

Usage: ``python bench/make_nuclei_eval.py --dsb /path/stage1_test --out /path/nuclei_eval``
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np
import tifffile
from imageio.v3 import imread

#: brightfield images have a bright background; fluorescence a dark one
BRIGHTFIELD_MEAN = 100


def dsb_pairs(folder: Path):
    """Yield ``(name, image, labels)`` for each image folder of a DSB2018 stage."""
    for d in sorted(p for p in folder.iterdir() if (p / "images").is_dir()):
        image = imread(d / "images" / f"{d.name}.png")
        if image.ndim == 3:
            image = image[..., :3]
        labels = np.zeros(image.shape[:2], np.uint16)
        for k, mask in enumerate(sorted((d / "masks").glob("*.png")), start=1):
            labels[imread(mask) > 0] = k
        yield f"dsb_{d.name[:8]}", image, labels


def stardist_pair(root: Path | None):
    """``(name, image, labels)`` of stardist's DSB2018 test image, or ``None``."""
    if root is None:
        spec = importlib.util.find_spec("stardist")
        if spec is None or not spec.submodule_search_locations:
            return None
        root = Path(next(iter(spec.submodule_search_locations))).parent
    images = root / "stardist" / "data" / "images"
    if not (images / "img2d.tif").is_file():
        return None
    return ("stardist_img2d", tifffile.imread(images / "img2d.tif"),
            tifffile.imread(images / "mask2d.tif").astype(np.uint16))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsb", type=Path, required=True, help="DSB2018 stage1_test folder")
    parser.add_argument("--stardist", type=Path, default=None,
                        help="folder holding stardist/data/images (default: installed stardist)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows = ["name\tkind\tshape\tn_nuclei\tsource\tlicence"]
    pairs = list(dsb_pairs(args.dsb))
    extra = stardist_pair(args.stardist)
    if extra is not None:
        pairs.append(extra)
    for name, image, labels in pairs:
        gray = image if image.ndim == 2 else image.mean(axis=-1)
        colour = image.ndim == 3 and float(np.ptp(image.reshape(-1, 3).mean(axis=0))) > 1
        kind = "brightfield" if colour and gray.mean() > BRIGHTFIELD_MEAN else "fluorescence"
        if kind == "fluorescence" and image.ndim == 3:
            image = image[..., 0]  # grey stored as RGB
        folder = args.out / kind
        folder.mkdir(parents=True, exist_ok=True)
        tifffile.imwrite(folder / f"{name}_image.tif", image, compression="zlib")
        tifffile.imwrite(folder / f"{name}_labels.tif", labels, compression="zlib")
        source = ("stardist wheel (DSB2018 train)" if name.startswith("stardist")
                  else "DSB2018 stage1_test (BBBC038)")
        rows.append(f"{name}\t{kind}\t{'x'.join(map(str, image.shape))}\t"
                    f"{len(np.unique(labels)) - 1}\t{source}\tCC0-1.0")
    (args.out / "MANIFEST.tsv").write_text("\n".join(rows) + "\n")
    print(f"{len(pairs)} images -> {args.out}")


if __name__ == "__main__":
    main()
