# The architecture diagram (docgen/diagram.py): `make diagram STAGE=local|prod`.
# Synthesizes STAGE with the pinned CDK CLI into its own cloud assembly (never cdk.out/, which
# `make synth` owns), then draws that assembly into docs/architecture-$(STAGE).{svg,png}.
DIAGRAM_ASSEMBLY ?= .cache/diagram/$(STAGE).out
DIAGRAM_OUT ?= docs

# Graphviz's `dot` renders the picture. `graphviz` installs the Debian packages only when
# `dot` is missing (apt-get needs root, else sudo); it checks again on every run, so it never
# goes stale. `make test` depends on it through TEST_PREREQS (the rendering tests need `dot`).
GRAPHVIZ_PACKAGES := graphviz fonts-dejavu-core
APT_GET := $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get
TEST_PREREQS += graphviz

.PHONY: diagram graphviz

graphviz: ## Install Graphviz (Debian `graphviz`) if `dot` is missing.
	@command -v dot >/dev/null 2>&1 || { \
		echo "==> graphviz: apt-get install $(GRAPHVIZ_PACKAGES)"; \
		$(APT_GET) update -qq && \
		$(APT_GET) install -y -qq --no-install-recommends $(GRAPHVIZ_PACKAGES) >/dev/null; \
	}
	@command -v dot >/dev/null 2>&1 || { echo "error: graphviz installed but no dot on PATH" >&2; exit 1; }

diagram: install graphviz ## Draw STAGE's synthesized stacks into docs/architecture-STAGE.{svg,png}.
	@echo "==> synth $(STAGE) into $(DIAGRAM_ASSEMBLY)"
	@$(CDK) synth -c stage=$(STAGE) --quiet --output $(DIAGRAM_ASSEMBLY)
	$(PY) -m docgen.diagram --stage $(STAGE) --assembly $(DIAGRAM_ASSEMBLY) --out $(DIAGRAM_OUT)
