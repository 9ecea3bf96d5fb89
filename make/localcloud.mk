# The embedded local cloud (DynamoDB Local + moto + localcloud extensions) and the one-command
# deploy. `python -m localcloud` starts/stops/identifies the cloud; `python -m scripts deploy`
# deploys the stacks to it (or to AWS with STAGE=prod CONFIRM=prod).
LOCAL_CLOUD_PORT ?= 4566
CONFIRM ?=
LAUNCHER := $(PY) -m localcloud
DEPLOY_ARGS := --port $(LOCAL_CLOUD_PORT) $(if $(CONFIRM),--confirm "$(CONFIRM)")

.PHONY: up down status deploy destroy

up: $(PY_STAMP) ## Start the local cloud on LOCAL_CLOUD_PORT (or use the one already there).
	@$(LAUNCHER) up --port $(LOCAL_CLOUD_PORT)

down: $(PY_STAMP) ## Stop the local cloud we started (its state stays for the next `make up`).
	@$(LAUNCHER) down --port $(LOCAL_CLOUD_PORT)

status: $(PY_STAMP) ## Say which AWS-compatible endpoint answers on LOCAL_CLOUD_PORT.
	@$(LAUNCHER) status --port $(LOCAL_CLOUD_PORT)

deploy: $(PY_STAMP) $(NODE_STAMP) ## Deploy STAGE (local: start the cloud, deploy, seed; prod: CONFIRM=prod).
	@$(PY) -m scripts --stage $(STAGE) deploy $(DEPLOY_ARGS)

destroy: $(PY_STAMP) $(NODE_STAMP) ## Remove STAGE's stacks (prod needs CONFIRM=prod).
	@$(PY) -m scripts --stage $(STAGE) destroy $(DEPLOY_ARGS)

BENCH_TARGETS += bench-deploy bench-stream bench-invoke bench-reload
.PHONY: bench-deploy bench-stream bench-invoke bench-reload

bench-deploy: $(PY_STAMP) $(NODE_STAMP)
	$(PY) -m bench.deploy

bench-stream: $(PY_STAMP)
	$(PY) -m bench.stream_lag

bench-invoke: $(PY_STAMP)
	$(PY) -m bench.invoke

bench-reload: $(PY_STAMP)
	$(PY) -m bench.reload

.PHONY: iam-report
iam-report: $(PY_STAMP) ## Per function: the DynamoDB actions it used, was denied, never used.
	@$(LAUNCHER) iam-report --port $(LOCAL_CLOUD_PORT)
