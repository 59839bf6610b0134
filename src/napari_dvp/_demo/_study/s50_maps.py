"""Study demo step: interferon score on every slide (one colour scale), heatmap, PCA."""

from __future__ import annotations

TITLE = "Maps and study-level views"


def run(state) -> None:
    from ...core.progress import run_to_end
    from ...core.study.paint import paint_slides, slides_figure, study_limits
    from ...core.study.views import pathway_heatmap, pca_figure

    study, ps = state.extra["study"], state.extra["ps"]
    cov = ps.scores.coverage
    name = next(s for s, ok in zip(cov["set"], cov["scored"], strict=True)
                if ok and "interferon" in s.lower())
    label = cov.set_index("set").at[name, "label"]
    values = ps.set_values(name)
    lim = study_limits(values)
    images = run_to_end(paint_slides(study, state.extra["manifest"], values))
    out = state.out / "figures"
    out.mkdir()
    title = label if str(label).lower().endswith("score") else f"{label} score"
    slides_figure(images, lim, title, study).savefig(out / "interferon_on_slides.png")
    state.say(f"{label} painted on {len(images)} slides with one scale "
              f"[{lim[0]:.2f}, {lim[1]:.2f}] -> figures/interferon_on_slides.png")
    _sz, _pz, f1, f2 = pathway_heatmap(ps)
    f1.savefig(out / "pathway_heatmap.png")
    f2.savefig(out / "interferon_proteins_heatmap.png")
    _res, f3 = pca_figure(ps)
    f3.savefig(out / "pca.png")
    state.say("figures/pathway_heatmap.png, interferon_proteins_heatmap.png, pca.png")
