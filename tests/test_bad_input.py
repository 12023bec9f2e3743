"""Bad and hostile input, as a new user would type it: one line, the right exit code, nothing finished touched.

Every case runs the real CLI in a subprocess and asserts: the exit code, that
stderr is exactly one `evalrun: error: ...` line saying what is wrong, no
traceback anywhere, and, where a finished run dir is involved, that every one
of its files has the same sha256 afterwards. No case here loads a model: each
input is refused before any engine starts (the checks the issue asks for).
The OpenAI-compatible engine against wrong servers, and the cases that need
a real engine, are in test_bad_input_engines.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from bad_input_helpers import assert_one_line, hashes  # noqa: E402
from reporting_fixtures import evalrun, make_run  # noqa: E402

DEMO = "demo"


# ---- fixtures: a finished run, broken models, suites and policies ----

def safetensors(path: Path, n_floats: int = 4, truncate: int = 0) -> None:
    """A real safetensors file of one float32 tensor (its header then its bytes), optionally cut short."""
    header = json.dumps({"w": {"dtype": "F32", "shape": [n_floats], "data_offsets": [0, 4 * n_floats]}}).encode()
    header += b" " * (-len(header) % 8)
    blob = len(header).to_bytes(8, "little") + header + b"\0" * (4 * n_floats)
    path.write_bytes(blob[: len(blob) - truncate] if truncate else blob)


def model_dir(root: Path, name: str, config: object = None, weights: str = "ok", tokenizer: bool = True) -> Path:
    d = root / name
    d.mkdir()
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "num_attention_heads": 4,
           "num_key_value_heads": 4, "hidden_size": 256} if config is None else config
    (d / "config.json").write_text(cfg if isinstance(cfg, str) else json.dumps(cfg))
    if weights == "ok":
        safetensors(d / "model.safetensors")
    elif weights == "truncated":
        safetensors(d / "model.safetensors", n_floats=256, truncate=300)
    elif weights == "garbage":
        (d / "model.safetensors").write_bytes(b"\xff" * 64)
    elif weights == "missing-shard":
        safetensors(d / "model-00001-of-00002.safetensors")
        (d / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {
            "a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}))
    if tokenizer:
        (d / "tokenizer.json").write_text("{}")
    return d


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bad")
    done = make_run(root / "runs" / "done", n_per_eval=8)
    assert evalrun("report", done).returncode == 0
    broken = root / "runs" / "broken"
    broken.mkdir()
    (broken / "results.json").write_text("{not json")
    (root / "empty").mkdir()
    (root / "a-file").write_text("x")
    (root / "nonempty").mkdir()
    (root / "nonempty" / "keep.txt").write_text("keep")
    models = root / "models"
    models.mkdir()
    good = model_dir(models, "good")
    model_dir(models, "bad-json", config="{not json")
    model_dir(models, "list-json", config=[1, 2])
    model_dir(models, "truncated", weights="truncated")
    model_dir(models, "garbage-weights", weights="garbage")
    model_dir(models, "missing-shard", weights="missing-shard")
    model_dir(models, "no-tokenizer", tokenizer=False)
    model_dir(models, "unknown-arch", config={"architectures": ["NoSuchThingForCausalLM"], "model_type": "nosuch",
                                              "num_attention_heads": 4})
    model_dir(models, "no-weights", weights="none")
    (models / "no-config").mkdir()
    safetensors(models / "no-config" / "model.safetensors")
    adapter = root / "adapter-eight"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"r": "eight", "peft_type": "LORA"}))
    safetensors(adapter / "adapter_model.safetensors")
    suites = root / "suites"
    suites.mkdir()
    for name, text in {
        "version-one": "name: v\nversion: one\nevals: [smoke_knowledge]\n",
        "escape": 'name: "../../x"\nversion: 1\nevals: [smoke_knowledge]\n',
        "unknown-key": "name: u\nversion: 1\nevals: [smoke_knowledge]\nfrobnicate: 1\n",
        "not-yaml": "name: [unclosed\n",
        "list": "- smoke_knowledge\n",
        "no-evals": "name: n\nversion: 1\n",
        "unknown-eval": "name: e\nversion: 1\nevals: [no_such_eval]\n",
        "bad-scale": "name: s\nversion: 1\nscale: v9\nevals: [smoke_knowledge]\n",
        "bad-gate": "name: g\nversion: 1\nevals: [smoke_knowledge]\ngate: {min_refusal: 2}\n",
        "bad-threshold": "name: t\nversion: 1\ncategories: {cyber: {evals: [smoke_knowledge], "
                         "indicative: {high: 7}}}\n",
        "gated": "name: gated\nversion: 1\nevals: [smoke_knowledge]\ngate: {min_retention: 0.5}\n",
    }.items():
        (suites / f"{name}.yaml").write_text(text)
    (root / "policy-bad.yaml").write_text("max_level: [unclosed\n")
    (root / "policy-unknown.yaml").write_text("max_level: high\nfrobnicate: 1\n")
    (root / "policy-range.yaml").write_text("min_retention: -3\n")
    (root / "policy-ok.yaml").write_text("min_retention: 0.5\n")
    return {"root": root, "done": done, "broken": broken, "empty": root / "empty", "file": root / "a-file",
            "nonempty": root / "nonempty", "models": models, "good": good, "adapter": adapter, "suites": suites}


# ---- cases: (id, argv with {placeholders}, exit code, words the one stderr line must hold, run dir to hash) ----

RUN = ["--model", DEMO, "--suite", "smoke"]
CASES = [
    # the reporting commands on missing, broken and finished runs
    ("report-missing", ["report", "{root}/nope"], 2, "not found", None),
    ("report-not-a-run", ["report", "{empty}"], 2, "results.json", None),
    ("report-broken-json", ["report", "{broken}"], 2, "cannot read", "broken"),
    ("report-bogus-option", ["report", "{done}", "--bogus"], 2, "No such option", "done"),
    ("gate-missing-policy", ["gate", "{done}", "--policy", "{root}/nope.yaml"], 2, "not found", "done"),
    ("gate-policy-not-yaml", ["gate", "{done}", "--policy", "{root}/policy-bad.yaml"], 2, "YAML", "done"),
    ("gate-policy-unknown-key", ["gate", "{done}", "--policy", "{root}/policy-unknown.yaml"], 2, "frobnicate",
     "done"),
    ("gate-policy-out-of-range", ["gate", "{done}", "--policy", "{root}/policy-range.yaml"], 2, "min_retention",
     "done"),
    ("gate-baseline-missing", ["gate", "{done}", "--policy", "{root}/policy-ok.yaml", "--baseline",
                               "{root}/nope"], 2, "not found", "done"),
    ("gate-baseline-not-a-run", ["gate", "{done}", "--policy", "{root}/policy-ok.yaml", "--baseline", "{empty}"],
     2, "results.json", "done"),
    ("gate-missing-run", ["gate", "{root}/nope"], 2, "not found", None),
    ("gate-broken-run", ["gate", "{broken}"], 2, "cannot read", "broken"),
    ("compare-missing-b", ["compare", "{done}", "{root}/nope"], 2, "not found", "done"),
    ("compare-broken-b", ["compare", "{done}", "{broken}", "--out", "{root}/cmp.html"], 2, "cannot read", "done"),
    ("index-missing", ["index", "{root}/nope"], 2, "not found", None),
    ("view-missing", ["view", "{root}/nope"], 2, "not found", None),
    ("view-bad-port", ["view", "{done}", "--port", "70000"], 2, "--port", "done"),
    ("export-without-redact", ["export", "{done}", "{root}/exp1"], 2, "--redact", "done"),
    ("export-missing-run", ["export", "--redact", "{root}/nope", "{root}/exp2"], 2, "not found", None),
    ("export-into-nonempty", ["export", "--redact", "{done}", "{nonempty}"], 2, "not empty", "done"),
    ("export-into-itself", ["export", "--redact", "{done}", "{done}/copy"], 2, "inside the run dir", "done"),
    ("export-broken-run", ["export", "--redact", "{broken}", "{root}/exp3"], 2, "cannot read", "broken"),
    ("unknown-command", ["frobnicate"], 2, "No such command", None),
    # the run command: usage and option ranges (click's errors on one line)
    ("no-arguments", [], 2, "--model and --suite", None),
    ("model-only", ["--model", DEMO], 2, "--model and --suite", None),
    ("unknown-option", [*RUN, "--frobnicate"], 2, "No such option", None),
    ("limit-zero", [*RUN, "--limit", "0"], 2, "--limit", None),
    ("limit-negative", [*RUN, "--limit", "-3"], 2, "--limit", None),
    ("limit-word", [*RUN, "--limit", "ten"], 2, "--limit", None),
    ("max-model-len-zero", [*RUN, "--max-model-len", "0"], 2, "--max-model-len", None),
    ("max-model-len-negative", [*RUN, "--max-model-len", "-5"], 2, "--max-model-len", None),
    ("tp-zero", [*RUN, "--tensor-parallel-size", "0"], 2, "--tensor-parallel-size", None),
    ("tp-negative", [*RUN, "--tensor-parallel-size", "-2"], 2, "--tensor-parallel-size", None),
    ("kv-cache-negative", [*RUN, "--kv-cache-gb", "-1"], 2, "--kv-cache-gb", None),
    ("kv-cache-zero", [*RUN, "--kv-cache-gb", "0"], 2, "--kv-cache-gb", None),
    ("concurrency-zero", [*RUN, "--concurrency", "0"], 2, "--concurrency", None),
    ("seed-word", [*RUN, "--seed", "abc"], 2, "--seed", None),
    ("engine-unknown", [*RUN, "--engine", "tgi"], 2, "--engine", None),
    ("dtype-nonsense", [*RUN, "--dtype", "nonsense"], 2, "--dtype", None),
    ("out-reused-with-bad-dtype", [*RUN, "--out", "{done}", "--dtype", "nonsense"], 2, "--dtype", "done"),
    ("openai-without-url", [*RUN, "--engine", "openai"], 2, "--base-url", None),
    # suites
    ("suite-unknown", ["--model", DEMO, "--suite", "smok"], 2, "did you mean smoke", None),
    ("suite-version-one", ["--model", DEMO, "--suite", "{suites}/version-one.yaml"], 2, "version", None),
    ("suite-name-escapes", ["--model", DEMO, "--suite", "{suites}/escape.yaml"], 2, "plain name", None),
    ("suite-unknown-key", ["--model", DEMO, "--suite", "{suites}/unknown-key.yaml"], 2, "frobnicate", None),
    ("suite-not-yaml", ["--model", DEMO, "--suite", "{suites}/not-yaml.yaml"], 2, "YAML", None),
    ("suite-a-list", ["--model", DEMO, "--suite", "{suites}/list.yaml"], 2, "mapping", None),
    ("suite-no-evals", ["--model", DEMO, "--suite", "{suites}/no-evals.yaml"], 2, "no evals", None),
    ("suite-unknown-eval", ["--model", DEMO, "--suite", "{suites}/unknown-eval.yaml"], 2, "no_such_eval", None),
    ("suite-bad-scale", ["--model", DEMO, "--suite", "{suites}/bad-scale.yaml"], 2, "scale", None),
    ("suite-bad-threshold", ["--model", DEMO, "--suite", "{suites}/bad-threshold.yaml"], 2, "threshold", None),
    # the gate, the policy, the baseline and the judge: checked before anything loads
    ("policy-without-gate", [*RUN, "--policy", "{root}/policy-ok.yaml"], 2, "--gate", None),
    ("baseline-without-gate", [*RUN, "--baseline", "{done}"], 2, "--gate", "done"),
    ("gate-suite-without-policy", [*RUN, "--gate"], 2, "gate:", None),
    ("gate-suite-policy-invalid", ["--model", DEMO, "--suite", "{suites}/bad-gate.yaml", "--gate"], 2,
     "min_refusal", None),
    ("run-gate-policy-missing", [*RUN, "--gate", "--policy", "{root}/nope.yaml"], 2, "not found", None),
    ("run-gate-policy-not-yaml", [*RUN, "--gate", "--policy", "{root}/policy-bad.yaml"], 2, "YAML", None),
    ("run-gate-baseline-missing", ["--model", DEMO, "--suite", "{suites}/gated.yaml", "--gate", "--baseline",
                                   "/nonexistent"], 2, "baseline", None),
    ("gate-baseline-broken", ["--model", DEMO, "--suite", "{suites}/gated.yaml", "--gate", "--baseline",
                              "{broken}"], 2, "cannot read", "broken"),
    ("judge-missing", [*RUN, "--judge", "{root}/no-judge"], 2, "judge model", None),
    ("judge-not-a-model", [*RUN, "--judge", "{empty}"], 2, "config.json", None),
    # models: everything that can be checked without loading
    ("model-missing", ["--model", "{root}/no-model", "--suite", "smoke"], 2, "does not exist", None),
    ("model-is-a-file", ["--model", "{file}", "--suite", "smoke"], 2, "not a directory", None),
    ("model-no-config", ["--model", "{models}/no-config", "--suite", "smoke"], 2, "config.json", None),
    ("model-config-not-json", ["--model", "{models}/bad-json", "--suite", "smoke"], 2, "not valid JSON", None),
    ("model-config-a-list", ["--model", "{models}/list-json", "--suite", "smoke"], 2, "JSON object", None),
    ("model-no-weights", ["--model", "{models}/no-weights", "--suite", "smoke"], 2, "no weight files", None),
    ("model-truncated-weights", ["--model", "{models}/truncated", "--suite", "smoke"], 2, "truncated", None),
    ("model-garbage-weights", ["--model", "{models}/garbage-weights", "--suite", "smoke"], 2, "header", None),
    ("model-missing-shard", ["--model", "{models}/missing-shard", "--suite", "smoke"], 2, "shard", None),
    ("model-no-tokenizer", ["--model", "{models}/no-tokenizer", "--suite", "smoke"], 2, "tokenizer", None),
    ("model-unknown-architecture", ["--model", "{models}/unknown-arch", "--suite", "smoke"], 2,
     "NoSuchThingForCausalLM", None),
    ("tp-does-not-divide-heads", ["--model", "{good}", "--suite", "smoke", "--tensor-parallel-size", "3"], 2,
     "does not divide", None),
    # variants
    ("variant-no-equals", [*RUN, "--variant", "adapter"], 2, "NAME=PATH", None),
    ("variant-named-base", [*RUN, "--variant", "base={adapter}"], 2, "NAME=PATH", None),
    ("variant-missing", [*RUN, "--variant", "v={root}/nope"], 2, "does not exist", None),
    ("adapter-rank-a-word", [*RUN, "--variant", "v={adapter}"], 2, "eight", None),
    # the finished run as --out: never touched
    ("out-of-another-model", ["--model", "{good}", "--suite", "smoke", "--out", "{done}"], 2, "another model",
     "done"),
    ("out-is-a-file", ["--model", "{good}", "--suite", "smoke", "--out", "{file}"], 2, "output dir", None),
    ("out-reused-with-bad-limit", [*RUN, "--out", "{done}", "--limit", "0"], 2, "--limit", "done"),
    ("out-reused-with-bad-policy", [*RUN, "--out", "{done}", "--gate", "--policy", "{root}/policy-bad.yaml"], 2,
     "YAML", "done"),
]


def fill(arg: str, env: dict[str, Path]) -> str:
    return arg.format(**{k: str(v) for k, v in env.items()})


@pytest.mark.parametrize("argv,code,words,run", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(env, argv, code, words, run):
    watched = env[run] if run else None
    before = hashes(watched) if watched else None
    proc = evalrun(*[fill(a, env) for a in argv], cwd=env["root"], timeout=120)
    assert_one_line(proc, code, words)
    if watched:
        assert hashes(watched) == before, "a finished run's files changed"


def test_case_count_and_ids():
    assert len(CASES) >= 60 and len({c[0] for c in CASES}) == len(CASES)


def test_suite_name_never_escapes_the_runs_dir(env):
    """`name: "../../x"` is refused, and nothing is written above the working dir's runs folder."""
    work = env["root"] / "cwd" / "deep"
    work.mkdir(parents=True)
    proc = evalrun("--model", DEMO, "--suite", str(env["suites"] / "escape.yaml"), cwd=work)
    assert_one_line(proc, 2, "plain name")
    assert list(work.iterdir()) == [] and not (env["root"] / "x").exists() and not (work.parent / "x").exists()


@contextlib.contextmanager
def _read_only(path: Path):
    """`path` made read-only for the duration: by its mode, or for root (whom modes do not stop, as in CI)
    by a read-only bind mount of it onto itself, which stops root too."""
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield
        finally:
            path.chmod(0o755)
        return
    bind = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True, text=True)
    if bind.returncode != 0:
        pytest.skip(f"running as root, and this machine refuses a read-only bind mount: {bind.stderr.strip()}")
    try:
        ro = subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], capture_output=True, text=True)
        assert ro.returncode == 0, ro.stderr
        assert not os.access(path, os.W_OK)
        yield
    finally:
        subprocess.run(["umount", str(path)], check=True)


@pytest.mark.parametrize("cmd", [["report"], ["gate", "--policy", "{root}/policy-ok.yaml"]])
def test_read_only_run_dir(env, tmp_path: Path, cmd):
    import shutil

    run = tmp_path / "ro"
    shutil.copytree(env["done"], run)
    with _read_only(run):
        proc = evalrun(cmd[0], run, *[fill(a, env) for a in cmd[1:]])
        assert_one_line(proc, 2, "read-only")
