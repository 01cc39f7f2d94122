# The two commands of the README: `make demo` (set up, then run the main job) and `make test`.
.PHONY: setup demo test bench lint down

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/smartfin demo

test: setup
	bash scripts/test.sh

bench: setup
	.venv/bin/python bench/bench_worker_throughput.py
	.venv/bin/python bench/bench_submit_latency.py
	.venv/bin/python bench/bench_reservations.py
	.venv/bin/python bench/bench_extract.py
	.venv/bin/python bench/bench_ocr.py
	.venv/bin/python bench/bench_reconcile.py
	.venv/bin/python bench/bench_claims.py
	.venv/bin/python bench/bench_bots.py
	.venv/bin/python bench/bench_cost.py
	.venv/bin/python bench/bench_compilation.py
	.venv/bin/python bench/bench_insurance.py
	.venv/bin/python bench/bench_cluster.py

lint:
	.venv/bin/ruff check .

down:
	.venv/bin/smartfin down
