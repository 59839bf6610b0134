"""Calibration marks and the transform from image pixels to LMD coordinates.

The operator engraves (or finds) three marks on the slide, and the same three
marks are picked on the image. Every exported coordinate, shapes and the marks
themselves, goes through one transform:

.. math::

    X = \\mathrm{col} \\cdot s_{px} \\cdot k, \\qquad
    Y = -\\mathrm{row} \\cdot s_{px} \\cdot k

with :math:`s_{px}` the pixel size in µm and :math:`k` the integer scale
(``scale``, default 100, i.e. XML units of 0.01 µm). The LMD frame has **y
pointing up**, hence the minus sign (py-lmd's orientation ``[[0, -1], [1, 0]]``
for ``(row, col)`` input gives the same result). The LMD software fits the
mapping to the stage from the three marks, which the operator locates on the
slide in the same order 1, 2, 3; a mirror or rotation of the slide on the stage
is absorbed by that fit.

Pixel coordinates follow napari: the centre of pixel ``(r, c)`` is at
``(r, c)``.

**Zeiss PALM** element lists hold absolute **stage** coordinates (µm), which
PALMRobo moves to directly. The same three marks give them: the operator reads
the stage position of mark 1, 2 and 3 in PALMRobo (``stage_um``), and the
affine map fitted exactly through the three pairs (image -> stage) places every
element. Any rotation, mirror or shift of the slide on the stage is absorbed;
its scale must match the pixel size (checked: > 10 % off is refused, > 2 % warned).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DvpInputError

MIN_ANGLE_DEG = 10.0  #: smallest angle of the mark triangle; below it the marks count as collinear
MIN_SPREAD_FRACTION = 0.25  #: the marks should span this fraction of the image (warning only)
STAGE_SCALE_WARN = 0.02  #: stage / image scale mismatch that gives a warning
STAGE_SCALE_REFUSE = 0.10  #: stage / image scale mismatch that is refused
PALM_GRID_PER_UM = 100  #: PALM coordinates are written with two decimals (0.01 µm)


def parse_marks(text: str, what: str = "calibration",
                hint: str = 'write them as "r1,c1;r2,c2;r3,c3" in image pixels') -> np.ndarray:
    """Parse ``"r1,c1;r2,c2;r3,c3"`` into a ``(3, 2)`` float array of (row, col).

    ``what`` and ``hint`` word the error (the same parser reads PALM stage
    positions ``"X1,Y1;X2,Y2;X3,Y3"``).

    Raises
    ------
    DvpInputError
        If the text does not hold three pairs of finite numbers.
    """
    try:
        pairs = [p for p in str(text).replace(" ", "").split(";") if p]
        marks = np.array([[float(v) for v in p.split(",")] for p in pairs], dtype=float)
    except ValueError:
        marks = np.empty((0, 0))
    if marks.shape != (3, 2) or not (np.abs(marks) < 1e9).all():  # also NaN, inf, 1e200
        raise DvpInputError(f"{what} {str(text)[:80]!r} is not three pairs of finite numbers; "
                            f"{hint}")
    return marks


def check_marks(marks_rc: np.ndarray, image_shape: tuple[int, int] | None = None) -> list[str]:
    """Check three calibration marks; raise on unusable marks, return warnings.

    Parameters
    ----------
    marks_rc
        ``(3, 2)`` image pixel coordinates (row, col).
    image_shape
        ``(rows, cols)`` of the image; when given, marks must lie on the image.

    Returns
    -------
    list of str
        Soft warnings (marks close together: small errors on the slide become
        large errors far from the marks).

    Raises
    ------
    DvpInputError
        Not three finite points, two marks on the same spot, marks (nearly) on
        one line, or marks off the image.
    """
    m = np.asarray(marks_rc, dtype=float)
    if m.shape != (3, 2) or not np.isfinite(m).all():
        raise DvpInputError(
            f"need exactly 3 calibration marks (row, col), got array of shape {m.shape}; "
            "pick three marks on the image"
        )
    d = np.linalg.norm(m[:, None, :] - m[None, :, :], axis=-1)
    iu = np.triu_indices(3, 1)
    if d[iu].min() < 2.0:
        i, j = (int(v[np.argmin(d[iu])]) for v in iu)
        raise DvpInputError(
            f"calibration marks {i + 1} and {j + 1} are on the same spot; "
            "pick three distinct marks"
        )
    angles = _triangle_angles(m)
    if angles.min() < MIN_ANGLE_DEG:
        raise DvpInputError(
            f"calibration marks are (nearly) on one line (smallest angle {angles.min():.1f}°); "
            "pick three marks that form a wide triangle, e.g. three corners of the tissue"
        )
    warnings: list[str] = []
    if image_shape is not None:
        h, w = image_shape[:2]
        off = (m[:, 0] < -0.5) | (m[:, 0] > h - 0.5) | (m[:, 1] < -0.5) | (m[:, 1] > w - 0.5)
        if off.any():
            k = int(np.flatnonzero(off)[0])
            raise DvpInputError(
                f"calibration mark {k + 1} ({m[k, 0]:.0f}, {m[k, 1]:.0f}) lies off the "
                f"{h}x{w} image; pick marks on the image"
            )
        span = np.ptp(m, axis=0) / np.array([h, w], dtype=float)
        if span.max() < MIN_SPREAD_FRACTION:
            warnings.append(
                f"calibration marks span only {100 * span.max():.0f}% of the image; "
                "marks far apart give a more accurate cut"
            )
    return warnings


def _triangle_angles(m: np.ndarray) -> np.ndarray:
    a = np.linalg.norm(m[1] - m[2])
    b = np.linalg.norm(m[0] - m[2])
    c = np.linalg.norm(m[0] - m[1])
    cos = np.array([(b * b + c * c - a * a) / (2 * b * c),
                    (a * a + c * c - b * b) / (2 * a * c),
                    (a * a + b * b - c * c) / (2 * a * b)])
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


@dataclass(frozen=True)
class Calibration:
    """Three marks on the image and the pixel -> LMD transform.

    Parameters
    ----------
    marks_rc
        ``(3, 2)`` image pixel coordinates (row, col) of marks 1, 2, 3.
    pixel_size_um
        Size of one image pixel in µm.
    scale
        XML integer units per µm (default 100: 0.01 µm resolution).
    stage_um
        ``(3, 2)`` stage positions (X, Y) in µm of marks 1, 2, 3 as the PALM
        software shows them (needed for the PALM format only).
    """

    marks_rc: np.ndarray
    pixel_size_um: float
    scale: int = 100
    stage_um: np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "marks_rc", np.asarray(self.marks_rc, dtype=float))
        if self.stage_um is not None:
            st = np.asarray(self.stage_um, dtype=float)
            if st.shape != (3, 2) or not (np.abs(st) < 1e9).all():
                raise DvpInputError(
                    f"stage positions of the marks must be three finite (X, Y) pairs in µm, got "
                    f"an array of shape {st.shape}; read them off the PALM software")
            object.__setattr__(self, "stage_um", st)
        if not (np.isfinite(self.pixel_size_um) and self.pixel_size_um > 0):
            raise DvpInputError(
                f"pixel size {self.pixel_size_um!r} µm is not a positive number; "
                "give the image's pixel size in µm"
            )
        if int(self.scale) <= 0:
            raise DvpInputError(f"XML scale {self.scale!r} must be a positive integer")

    def check(self, image_shape: tuple[int, int] | None = None) -> list[str]:
        """Validate the marks (see :func:`check_marks`)."""
        return check_marks(self.marks_rc, image_shape)

    # --- forward: image pixels (row, col) -> LMD (X, Y) ---------------------------------
    def to_um(self, points_rc: np.ndarray) -> np.ndarray:
        """Map ``(..., 2)`` (row, col) pixels to LMD (X, Y) in µm (y up)."""
        p = np.asarray(points_rc, dtype=float)
        out = np.empty_like(p)
        out[..., 0] = p[..., 1] * self.pixel_size_um
        out[..., 1] = -p[..., 0] * self.pixel_size_um
        return out

    def xy_to_um(self, points_xy: np.ndarray) -> np.ndarray:
        """Map ``(..., 2)`` shapely-style (x=col, y=row) pixels to LMD (X, Y) in µm."""
        p = np.asarray(points_xy, dtype=float)
        return np.stack([p[..., 0] * self.pixel_size_um, -p[..., 1] * self.pixel_size_um], -1)

    def to_xml(self, points_rc: np.ndarray) -> np.ndarray:
        """Map (row, col) pixels to integer XML units (``round(µm * scale)``)."""
        return np.rint(self.to_um(points_rc) * self.scale).astype(np.int64)

    def marks_xml(self) -> np.ndarray:
        """The three marks in integer XML units, in the same frame as the shapes."""
        return self.to_xml(self.marks_rc)

    # --- output grids: pixel (x=col, y=row) -> integer units of the file -------------------
    def lmd_matrix(self) -> np.ndarray:
        """``(3, 3)`` affine: pixel (x=col, y=row) -> Leica LMD µm (X = x·px, Y = -y·px)."""
        px = self.pixel_size_um
        return np.array([[px, 0.0, 0.0], [0.0, -px, 0.0], [0.0, 0.0, 1.0]])

    def stage_matrix(self) -> np.ndarray:
        """``(3, 3)`` affine: pixel (x=col, y=row) -> PALM stage µm, through the three marks.

        Raises
        ------
        DvpInputError
            No stage positions, or positions that do not fit the image marks at
            this pixel size (see :meth:`check_stage`).
        """
        if self.stage_um is None:
            raise DvpInputError(
                "the PALM format needs the stage positions of the three calibration marks "
                "(X,Y in µm as PALMRobo shows them); give them, e.g. --stage-marks-um "
                '"X1,Y1;X2,Y2;X3,Y3"')
        return fit_affine(self.marks_rc[:, ::-1], self.stage_um)

    def check_stage(self) -> tuple[list[str], dict]:
        """Check the PALM stage registration; return warnings and its description.

        The fitted map's scale along its two axes must match the pixel size
        (more than :data:`STAGE_SCALE_REFUSE` off is refused: a mark's position
        was mistyped, marks were given in another order, or the pixel size is
        wrong).
        """
        m = self.stage_matrix()
        lin = m[:2, :2]
        sv = np.linalg.svd(lin, compute_uv=False)
        off = np.abs(sv / self.pixel_size_um - 1.0)
        det = float(np.linalg.det(lin))
        mirrored = det < 0
        rot = float(np.degrees(np.arctan2(lin[1, 0], lin[0, 0])))
        info = {"matrix_pixel_xy_to_stage_um": m.tolist(),
                "scale_um_per_px": sv.tolist(), "mirrored": mirrored, "rotation_deg": rot}
        if off.max() > STAGE_SCALE_REFUSE:
            raise DvpInputError(
                f"the stage positions of the marks do not fit their image positions: they imply "
                f"{sv.min():.4g}-{sv.max():.4g} µm per pixel, the image has "
                f"{self.pixel_size_um:g}; check the order of the marks, their stage positions "
                "and the pixel size")
        warnings = []
        if off.max() > STAGE_SCALE_WARN:
            warnings.append(
                f"the stage positions of the marks imply {sv.min():.4g}-{sv.max():.4g} µm per "
                f"pixel, {100 * off.max():.1f}% off the image's {self.pixel_size_um:g}; "
                "check the marks on the stage")
        return warnings, info

    def grid_matrix(self, fmt: str = "leica") -> np.ndarray:
        """``(3, 3)`` affine: pixel (x=col, y=row) -> integer units of the output file.

        ``"leica"``: XML units (µm × ``scale``, y up); ``"palm"``: stage µm × 100
        (two decimals).
        """
        if fmt == "palm":
            return np.diag([PALM_GRID_PER_UM, PALM_GRID_PER_UM, 1.0]) @ self.stage_matrix()
        return np.diag([float(self.scale), float(self.scale), 1.0]) @ self.lmd_matrix()

    def inside_triangle(self, points_xy: np.ndarray) -> np.ndarray:
        """Which (x=col, y=row) points lie inside the triangle of the three marks."""
        import shapely

        tri = shapely.Polygon(self.marks_rc[:, ::-1])
        p = np.asarray(points_xy, dtype=float).reshape(-1, 2)
        if not len(p):
            return np.zeros(0, dtype=bool)
        return shapely.covers(tri, shapely.points(p))

    # --- inverse: LMD -> image pixels ----------------------------------------------------
    def from_xml(self, xy: np.ndarray) -> np.ndarray:
        """Map integer XML units (X, Y) back to image (row, col) pixels."""
        p = np.asarray(xy, dtype=float) / (self.scale * self.pixel_size_um)
        return np.stack([-p[..., 1], p[..., 0]], -1)


def fit_affine(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Affine ``(3, 3)`` matrix mapping three ``src`` points exactly onto ``dst``.

    Used by the XML reader when the marks of an old export are known on the
    image: it maps the file's calibration points onto them (any scale,
    rotation or mirror of the file's frame is absorbed).
    """
    s = np.asarray(src, dtype=float)
    d = np.asarray(dst, dtype=float)
    a = np.hstack([s, np.ones((len(s), 1))])
    sol, *_ = np.linalg.lstsq(a, d, rcond=None)
    m = np.eye(3)
    m[:2, :] = sol.T
    return m
