"""Which channels to segment: brightfield colour deconvolution and the channel choices.

A brightfield (H&E, hematoxylin) RGB image ``(Y, X, 3)`` is segmented through a
lazy five-channel stack :data:`BRIGHTFIELD_CHANNELS` = hematoxylin, eosin (optical
densities from :func:`skimage.color.rgb2hed`, Ruifrok & Johnston's stain vectors;
nuclei are bright in the hematoxylin channel) and the red, green, blue values
themselves (what cellpose was trained on). :func:`channel_choices` lists, for any
image, what a user may pick as the nuclear and cytoplasm input, with the default
picked, so a dock only has to show the lists.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: channel names of :func:`brightfield_stack`
BRIGHTFIELD_CHANNELS = ("hematoxylin", "eosin", "red", "green", "blue")
#: the pseudo-channel that means "the RGB image as it is" (cellpose)
RGB = "RGB"

NUCLEAR_PATTERN = re.compile(r"dapi|hoechst|nuc|dna|draq|sytox|h3|hematox", re.I)
CYTO_PATTERN = re.compile(r"panck|keratin|\bck\b|ck\d|cytok|membr|wga|atpase|e-?cad|cd45|"
                          r"actin|tubulin|cyto|eosin", re.I)


def hematoxylin(rgb: np.ndarray) -> np.ndarray:
    """Hematoxylin optical density (float32, nuclei bright) of an RGB ``(..., 3)`` array."""
    from skimage.color import rgb2hed

    return rgb2hed(np.asarray(rgb)[..., :3]).astype(np.float32)[..., 0]


def _hed_rgb_block(block: np.ndarray) -> np.ndarray:
    from skimage.color import rgb2hed

    rgb = np.asarray(block)[..., :3]
    hed = rgb2hed(rgb).astype(np.float32)
    return np.concatenate([hed[..., :2], rgb.astype(np.float32)], axis=-1)


def brightfield_stack(rgb):
    """(Y, X, 3) RGB -> lazy (5, Y, X) float32: hematoxylin, eosin, red, green, blue.

    Works on numpy, dask or zarr input; nothing is computed until a window is read.
    """
    import dask.array as da

    rgb = da.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[-1] not in (3, 4):
        from ..errors import DvpInputError

        raise DvpInputError(f"expected an RGB image of shape (rows, cols, 3); got {rgb.shape}")
    if rgb.shape[-1] == 4:
        rgb = rgb[..., :3]
    rgb = rgb.rechunk({2: 3})
    stack = rgb.map_blocks(_hed_rgb_block, dtype=np.float32,
                           chunks=(*rgb.chunks[:2], (len(BRIGHTFIELD_CHANNELS),)))
    return da.moveaxis(stack, -1, 0)


@dataclass(frozen=True)
class ChannelChoices:
    """What a user may segment, for one image.

    Attributes
    ----------
    nuclear
        Choices for the nuclear input (names of :attr:`channel_names`, or
        :data:`RGB` for a brightfield image given to cellpose as it is).
    cytoplasm
        Choices for the cytoplasm/membrane input: ``"none"`` (nuclei only),
        ``"all"`` (every other channel, fluorescence with 3+ channels) or names.
    default_nuclear, default_cytoplasm
        The pre-selected entries.
    channel_names
        The channels of the array a backend reads: the image's own channels, or
        :data:`BRIGHTFIELD_CHANNELS` for RGB (see :func:`brightfield_stack`).
    is_rgb
        Whether the image is a brightfield RGB image.
    notes
        One line per choice worth explaining (shown as a tooltip).
    """

    nuclear: tuple[str, ...]
    cytoplasm: tuple[str, ...]
    default_nuclear: str
    default_cytoplasm: str
    channel_names: tuple[str, ...]
    is_rgb: bool
    notes: dict[str, str] = field(default_factory=dict)


def guess_channels(names: Sequence[str]) -> tuple[str, str | None]:
    """Guess (nuclear, cytoplasm-or-None) channel names from their names."""
    names = list(names)
    nuclear = next((n for n in names if NUCLEAR_PATTERN.search(n)), names[0])
    cyto = next((n for n in names if n != nuclear and CYTO_PATTERN.search(n)), None)
    return nuclear, cyto


def channel_choices(channel_names: Sequence[str] = (), is_rgb: bool = False,
                    backend: str = "builtin") -> ChannelChoices:
    """The nuclear / cytoplasm choices a Segment dock offers for an image.

    Parameters
    ----------
    channel_names
        The image's channel names (ignored for RGB).
    is_rgb
        A brightfield RGB image ``(Y, X, 3)``.
    backend
        ``"builtin"`` or ``"cellpose"``: for RGB, cellpose gets the RGB image by
        default, the built-in method the hematoxylin channel.

    Returns
    -------
    ChannelChoices
    """
    if is_rgb:
        nuclear = ("hematoxylin", RGB, "eosin")
        default = RGB if backend == "cellpose" else "hematoxylin"
        notes = {
            "hematoxylin": "nuclei from the hematoxylin (blue/purple) stain by colour "
                           "deconvolution",
            RGB: "the colour image as it is (cellpose; the built-in method uses hematoxylin)",
            "eosin": "the eosin (pink) stain: cytoplasm and stroma",
        }
        return ChannelChoices(nuclear, ("none", "eosin"), default, "none",
                              BRIGHTFIELD_CHANNELS, True, notes)
    names = tuple(str(n) for n in channel_names) or ("channel 0",)
    nuc, cyto = guess_channels(names)
    others = tuple(n for n in names if n != nuc)
    cytoplasm = ("none", *(("all",) if len(names) > 2 else ()), *names)
    notes = {"none": "nuclei only (no cell body is grown unless an expansion is set)"}
    if len(names) > 2:
        notes["all"] = "every channel except the nuclear one: cell bodies where any is bright"
    return ChannelChoices(names, cytoplasm, nuc, cyto if cyto and cyto in others else "none",
                          names, False, notes)


def resolve_channels(choices: ChannelChoices, nuclear: str | int | None,
                     cytoplasm: str | int | None) -> tuple[list[int], bool]:
    """Channel indices into :attr:`ChannelChoices.channel_names` and whether they are RGB.

    ``nuclear=RGB`` (brightfield only) gives the red, green, blue channels and
    ``True``; otherwise ``[nuclear, *cytoplasm]`` and ``False``.

    Raises
    ------
    DvpInputError
        For a channel the image does not have.
    """
    from .pipeline import channel_index, cyto_indices

    names = list(choices.channel_names)
    key = choices.default_nuclear if nuclear is None else nuclear
    if str(key).strip().lower() == RGB.lower():
        if not choices.is_rgb:
            from ..errors import DvpInputError

            raise DvpInputError("'RGB' is a choice for brightfield colour images only; "
                                f"this image has channels {', '.join(names)}")
        return [names.index(c) for c in ("red", "green", "blue")], True
    nuc = channel_index(names, key)
    cyto_key = choices.default_cytoplasm if cytoplasm is None else cytoplasm
    if choices.is_rgb and str(cyto_key).strip().lower() == "all":
        cyto_key = "eosin"  # the only cytoplasm stain of a brightfield image
    return [nuc, *cyto_indices(names, cyto_key, nuc)], False
