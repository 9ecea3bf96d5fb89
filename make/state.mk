# The local cloud's persisted state (.local-cloud/state/, kept across `make down`/`make up`)
# and its named snapshots (.local-cloud/snapshots/NAME/, folders a teammate can copy).
# Each command stops a running cloud first and starts it again after.
NAME ?=

.PHONY: snapshot restore reset snapshots ttl-expire

snapshot: $(PY_STAMP) ## Save the local cloud's state as NAME (make snapshot NAME=before-demo).
	@$(LAUNCHER) snapshot "$(NAME)" --port $(LOCAL_CLOUD_PORT)

restore: $(PY_STAMP) ## Put snapshot NAME back (the current state is replaced).
	@$(LAUNCHER) restore "$(NAME)" --port $(LOCAL_CLOUD_PORT)

reset: $(PY_STAMP) ## Wipe the local cloud's state (tables, stacks, functions); snapshots stay.
	@$(LAUNCHER) reset --port $(LOCAL_CLOUD_PORT)

snapshots: $(PY_STAMP) ## List the saved snapshots.
	@$(LAUNCHER) snapshots

ttl-expire: $(PY_STAMP) ## Delete the items whose TTL has passed now (else every 60 s).
	@$(LAUNCHER) ttl-expire --port $(LOCAL_CLOUD_PORT)
