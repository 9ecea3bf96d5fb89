# Every generated reviewer document at once: both stages' diagrams and the data-model sheet.
# Run it (with `make snapshot-update`) after changing stacks/; the tests fail on stale docs.
.PHONY: docs

docs: ## Regenerate docs/: architecture-local, architecture-prod and data-model.md.
	@$(MAKE) --no-print-directory diagram STAGE=local
	@$(MAKE) --no-print-directory diagram STAGE=prod
	@$(MAKE) --no-print-directory model STAGE=local
