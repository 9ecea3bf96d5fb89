# The embedded local cloud (moto + localcloud extensions) and the one-command deploy.
LOCAL_CLOUD_PORT ?= 4566

.PHONY: up down status

up: $(PY_STAMP) ## Start the local cloud on LOCAL_CLOUD_PORT (or use the one already there).
	@$(PY) -m scripts.local_cloud up --port $(LOCAL_CLOUD_PORT)

down: $(PY_STAMP) ## Stop the local cloud we started (its in-memory state is lost).
	@$(PY) -m scripts.local_cloud down --port $(LOCAL_CLOUD_PORT)

status: $(PY_STAMP) ## Say which AWS-compatible endpoint answers on LOCAL_CLOUD_PORT.
	@$(PY) -m scripts.local_cloud status --port $(LOCAL_CLOUD_PORT)
