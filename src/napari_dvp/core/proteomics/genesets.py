"""Gene sets: the bundled interferon / JAK-STAT sets and user GMT files.

The bundled sets live in ``data/gene_sets.gmt`` inside the package (found with
:mod:`importlib.resources`, so they work from a wheel too); their sources and
licences are in ``data/GENE_SETS_SOURCES.md``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import DvpInputError

#: Short plain-language labels of the bundled sets (used in menus and layer names).
SHORT_NAMES: dict[str, str] = {
    "HALLMARK_IL6_JAK_STAT3_SIGNALING": "JAK/STAT3 (IL-6) score",
    "HALLMARK_INTERFERON_ALPHA_RESPONSE": "IFN-α response score",
    "HALLMARK_INTERFERON_GAMMA_RESPONSE": "IFN-γ response score",
    "REACTOME_Interferon_alpha_beta_signaling": "IFN-α/β signalling score",
    "REACTOME_Interferon_gamma_signaling": "IFN-γ signalling score",
}


@dataclass(frozen=True)
class GeneSet:
    """A named set of gene symbols.

    Attributes
    ----------
    name
        Set name (first GMT column).
    description
        Source / description (second GMT column).
    genes
        Member gene symbols, upper-case, unique, in file order.
    """

    name: str
    description: str
    genes: tuple[str, ...]

    @property
    def label(self) -> str:
        """Plain-language label (e.g. ``"IFN-γ response score"``)."""
        return SHORT_NAMES.get(self.name, self.name)


def parse_gmt(text: str, source: str = "GMT") -> dict[str, GeneSet]:
    """Parse GMT text (one set per line: name, description, genes; tab-separated).

    Raises
    ------
    DvpInputError
        If no line holds a set with at least one gene, or a name repeats.
    """
    sets: dict[str, GeneSet] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.rstrip("\r\n").split("\t")]
        if len(parts) < 3:
            raise DvpInputError(
                f"{source} line {lineno} is not a GMT line (name<TAB>description<TAB>genes…); "
                "save the gene sets as tab-separated GMT"
            )
        name = parts[0]
        genes = tuple(dict.fromkeys(g.upper() for g in parts[2:] if g))
        if name in sets:
            raise DvpInputError(f"{source} lists gene set {name!r} twice; keep one")
        if genes:
            sets[name] = GeneSet(name, parts[1], genes)
    if not sets:
        raise DvpInputError(f"{source} holds no gene set with genes; check the file is GMT")
    return sets


def read_gmt(path: str | os.PathLike[str]) -> dict[str, GeneSet]:
    """Read a user GMT file into ``{name: GeneSet}``."""
    path = Path(path)
    if not path.is_file():
        raise DvpInputError(f"gene set file {path} does not exist; give a .gmt file")
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw[:4096]:
        raise DvpInputError(f"{path.name} is not UTF-8 text (UTF-16 or binary); save the gene "
                            "sets as tab-separated GMT text (UTF-8)")
    return parse_gmt(raw.decode("utf-8", errors="replace"), source=path.name)


def bundled_gene_sets() -> dict[str, GeneSet]:
    """The gene sets shipped with napari-dvp (MSigDB hallmark + Reactome interferon sets)."""
    text = resources.files(__package__).joinpath("data/gene_sets.gmt").read_text("utf-8")
    return parse_gmt(text, source="bundled gene_sets.gmt")


def interferon_genes() -> set[str]:
    """Union of all bundled interferon / JAK-STAT member genes."""
    return {g for s in bundled_gene_sets().values() for g in s.genes}
