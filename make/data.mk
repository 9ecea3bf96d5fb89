# The data tooling (scripts/): `make <command> STAGE=local|prod ARGS="..."`.
# Examples:
#   make seed ARGS="--count 50"                 make scan ARGS="messages --limit 5 --json"
#   make describe ARGS=messages                 make drop ARGS="Tasks" STAGE=prod
#   make patterns ARGS="get-conversation <group-uuid> --limit 5"
# ENDPOINT overrides the local endpoint (else $AWS_ENDPOINT_URL, else localhost:4566).
ARGS ?=
ENDPOINT ?=
DATA := $(PY) -m scripts --stage $(STAGE) $(if $(ENDPOINT),--endpoint $(ENDPOINT))

BENCH_TARGETS += bench-seed

.PHONY: seed scan list-tables describe drop patterns create-tables bench-seed

list-tables: $(PY_STAMP) ## Tables at the STAGE's endpoint.
	@$(DATA) list-tables $(ARGS)

describe: $(PY_STAMP) ## Keys, indexes, stream, item count, billing: ARGS="TABLE".
	@$(DATA) describe $(ARGS)

create-tables: $(PY_STAMP) ## Create the stage's missing tables (local only).
	@$(DATA) create-tables $(ARGS)

seed: $(PY_STAMP) ## Write the sample data set (or ARGS="TABLE --from FILE").
	@$(DATA) seed $(ARGS)

scan: $(PY_STAMP) ## Read a table to the end: ARGS="TABLE [--limit N] [--json|--out FILE]".
	@$(DATA) scan $(ARGS)

drop: $(PY_STAMP) ## Delete a table: ARGS="TABLE" (prod shows the account and asks).
	@$(DATA) drop $(ARGS)

patterns: $(PY_STAMP) ## Access patterns: ARGS="list-conversations USER" etc.
	@$(DATA) patterns $(ARGS)

bench-seed: $(PY_STAMP) ## Seed/scan benchmark on moto and DynamoDB Local (bench/results/seed.json).
	$(PY) -m bench.seed
