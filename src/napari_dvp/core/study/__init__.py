"""Studies, not slides: a cohort of biopsies -> one plate plan -> one MS matrix -> maps and
statistics on every slide.

Modules: ``model`` (the study folder and slide records), ``slides`` (each slide's project
data, per-slide progress), ``params`` / ``plan`` (the study-wide plan and plate layout),
``plate`` (plate map CSV and picture), ``export`` (one LMD export per slide, one shared
manifest), ``analysis`` (the MS matrix matched, processed and scored for the study),
``compare`` (condition vs condition per cell type with patient as the unit or pair,
ANOVA), ``paint`` (values on every slide with one colour scale), ``views`` (heatmap, PCA),
``cohort`` / ``synthetic_ms`` (the synthetic cohort and its MS matrix), ``interop``
(AnnData and SpatialData).
"""

from .model import Study, new_study, open_study

__all__ = ["Study", "new_study", "open_study"]
