# The embedded local cloud (moto + localcloud extensions) and the one-command deploy.
LOCAL_CLOUD_PORT ?= 4566

.PHONY: up down status

up: $(PY_STAMP) ## Start the local cloud on LOCAL_CLOUD_PORT (or use the one already there).
	@$(PY) -m scripts.local_cloud up --port $(LOCAL_CLOUD_PORT)

down: $(PY_STAMP) ## Stop the local cloud we started (its in-memory state is lost).
	@$(PY) -m scripts.local_cloud down --port $(LOCAL_CLOUD_PORT)

status: $(PY_STAMP) ## Say which AWS-compatible endpoint answers on LOCAL_CLOUD_PORT.
	@$(PY) -m scripts.local_cloud status --port $(LOCAL_CLOUD_PORT)

CONFIRM ?=

.PHONY: deploy destroy

deploy: $(PY_STAMP) $(NODE_STAMP) ## Deploy STAGE (local: start the cloud, deploy, seed; prod: CONFIRM=prod).
ifeq ($(STAGE),prod)
	@$(PY) -m scripts.local_cloud deploy --stage prod --confirm "$(CONFIRM)"
else
	@$(PY) -m scripts.local_cloud deploy --stage $(STAGE) --port $(LOCAL_CLOUD_PORT)
endif

destroy: $(PY_STAMP) $(NODE_STAMP) ## Remove STAGE's stacks (prod needs CONFIRM=prod).
ifeq ($(STAGE),prod)
	@$(PY) -m scripts.local_cloud destroy --stage prod --confirm "$(CONFIRM)"
else
	@$(PY) -m scripts.local_cloud destroy --stage $(STAGE) --port $(LOCAL_CLOUD_PORT)
endif

BENCH_TARGETS += bench-deploy bench-stream bench-invoke
.PHONY: bench-deploy bench-stream bench-invoke

bench-deploy: $(PY_STAMP) $(NODE_STAMP)
	$(PY) -m bench.deploy

bench-stream: $(PY_STAMP)
	$(PY) -m bench.stream_lag

bench-invoke: $(PY_STAMP)
	$(PY) -m bench.invoke
