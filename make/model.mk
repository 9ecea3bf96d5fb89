# The data-model sheet (docgen/data_model.py): `make model [STAGE=local|prod]`.
# Generated from the stage config, the declarations in scripts/patterns.py and the Lambda
# repositories; no synth, no AWS. The local stage's sheet is docs/data-model.md (committed);
# another stage's goes beside it as docs/data-model-STAGE.md.
MODEL_OUT ?= docs/data-model$(if $(filter local,$(STAGE)),,-$(STAGE)).md

.PHONY: model model-check

model: $(PY_STAMP) ## Write the data-model sheet (docs/data-model.md for STAGE=local).
	$(PY) -m docgen.data_model --stage $(STAGE) --out $(MODEL_OUT)

model-check: $(PY_STAMP) ## Fail when the committed docs/data-model.md is out of date.
	$(PY) -m docgen.data_model --stage local --out docs/data-model.md --check
