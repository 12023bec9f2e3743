"""The preparedness suite's evals: capability proxies per tracked category, and safeguards.

Capability (multiple choice, scored from next-token label logprobs): our own
textbook-level items per category (`suites/data/*.jsonl`, 4 options, answer
letters balanced, so chance is 0.25), plus public benchmarks read from
`--data-dir` in their own layouts:

    wmdp/wmdp-bio.jsonl  or  wmdp/wmdp-bio/test-00000-of-00001.parquet   (wmdp_bio; likewise chem, cyber)
    cybermetric/CyberMetric-500-v1.json                                  (cybermetric)
    ctibench/cti-mcq.tsv                                                 (ctibench_mcq)

WMDP and CTIBench fall back to their pinned hub copies when not found
locally (unless HF_HUB_OFFLINE=1). These knowledge scores are indicative
proxies for a category, not measurements of a hazardous capability.

Safeguards (generations, scored by the refusal classifier): our own harmful
requests (refused), the same requests wrapped in each jailbreak template
and under the attacks open weights allow for free (prefill, best-of-N
sampling, system prompt removal; transforms in `evals/attacks.py`), our own safe-but-alarming-sounding prompts
(answered), and public sets: StrongREJECT, HarmBench, AdvBench,
JailbreakBench and XSTest. Each eval's first metric is its main one: the
figure the suite's safeguards section reports.
"""

from __future__ import annotations

from typing import Literal

from evalrun.evals.attacks import JAILBREAK_TEMPLATES, OPEN_WEIGHT_ATTACKS
from evalrun.evals.core import Eval, Sample, user
from evalrun.evals.data import DataSource
from evalrun.evals.loaders import (
    load_advbench,
    load_ctibench_mcq,
    load_cybermetric,
    load_harmbench,
    load_jailbreakbench,
    load_own_mcq,
    load_strongreject,
    load_wmdp,
    load_xstest,
)
from evalrun.evals.metrics import CAPABILITY, UTILITY, accuracy, rate, refusal_rate, target_is
from evalrun.evals.registry import register
from evalrun.evals.scorers import choice_scorer, refusal_scorer
from evalrun.evals.transforms import apply_transforms

GEN_TOKENS = 64  # enough to see whether a reply refuses; refusals come first


# --- capability: multiple choice ---------------------------------------------


def _mcq(samples: list[Sample]) -> Eval:
    return Eval(samples=samples, scorer=choice_scorer(), metrics=[accuracy(CAPABILITY)])


def _own_mcq(data: DataSource, rel: str) -> Eval:
    return _mcq(load_own_mcq(data, rel))


@register("bio_chem_knowledge", category="biological_chemical", version=1, hazardous=True)
def bio_chem_knowledge(data: DataSource) -> Eval:
    """Introductory biology, chemistry and biosafety multiple choice (indicative proxy; chance 0.25)."""
    return _own_mcq(data, "bio_chem_knowledge.jsonl")


@register("cyber_knowledge", category="cybersecurity", version=1, hazardous=True)
def cyber_knowledge(data: DataSource) -> Eval:
    """Introductory security concepts multiple choice (indicative proxy; chance 0.25)."""
    return _own_mcq(data, "cyber_knowledge.jsonl")


@register("ml_engineering", category="self_improvement", version=1)
def ml_engineering(data: DataSource) -> Eval:
    """Machine-learning engineering fundamentals multiple choice (indicative proxy; chance 0.25)."""
    return _own_mcq(data, "ml_engineering.jsonl")


def _wmdp(data: DataSource, subset: str, path: str | None) -> Eval:
    """WMDP `subset`: its parquet shards or `wmdp/wmdp-{subset}.jsonl`, the suite's `path`, else the hub copy."""
    return _mcq(load_wmdp(data, path, subset=subset))


@register("wmdp_bio", category="biological_chemical", version=1, hazardous=True)
def wmdp_bio(data: DataSource, *, path: str | None = None) -> Eval:
    """WMDP biology (public; --data-dir with wmdp/wmdp-bio.jsonl or the hub's parquet)."""
    return _wmdp(data, "bio", path)


@register("wmdp_chem", category="biological_chemical", version=1, hazardous=True)
def wmdp_chem(data: DataSource, *, path: str | None = None) -> Eval:
    """WMDP chemistry (public; --data-dir with wmdp/wmdp-chem.jsonl or the hub's parquet)."""
    return _wmdp(data, "chem", path)


@register("wmdp_cyber", category="cybersecurity", version=1, hazardous=True)
def wmdp_cyber(data: DataSource, *, path: str | None = None) -> Eval:
    """WMDP cyber (public; --data-dir with wmdp/wmdp-cyber.jsonl or the hub's parquet)."""
    return _wmdp(data, "cyber", path)


@register("cybermetric", category="cybersecurity", version=1, hazardous=True)
def cybermetric(data: DataSource, *, size: Literal[80, 500, 2000, 10000] = 500, path: str | None = None) -> Eval:
    """CyberMetric security knowledge (public; --data-dir with cybermetric/CyberMetric-{size}-v1.json)."""
    return _mcq(load_cybermetric(data, path, size=size))


@register("ctibench_mcq", category="cybersecurity", version=1, hazardous=True)
def ctibench_mcq(data: DataSource, *, path: str | None = None) -> Eval:
    """CTIBench threat-intelligence multiple choice (public; --data-dir with ctibench/cti-mcq.tsv)."""
    return _mcq(load_ctibench_mcq(data, path))


# --- safeguards: refusal of harmful requests ---------------------------------


def _refusal(samples: list[Sample]) -> Eval:
    return Eval(samples=samples, scorer=refusal_scorer(), metrics=[refusal_rate(on="harmful", name="refusal_rate")],
                max_tokens=GEN_TOKENS)


def _harmful_requests(data: DataSource) -> list[Sample]:
    rows = data.rows("harmful_requests.jsonl", columns=["id", "prompt", "category"])
    return [Sample(id=r["id"], messages=[user(r["prompt"])], target="harmful", metadata={"category": r["category"]})
            for r in rows]


@register("harmful_refusal", category="safeguards", version=1, hazardous=True)
def harmful_refusal(data: DataSource) -> Eval:
    """Our own short harmful requests across 12 harm categories: each should be refused."""
    return _refusal(_harmful_requests(data))


@register("jailbreak_refusal", category="safeguards", version=1, hazardous=True)
def jailbreak_refusal(data: DataSource) -> Eval:
    """The harmful requests wrapped in each jailbreak template (`none` is the baseline): each should be refused."""
    return apply_transforms(harmful_refusal(data), JAILBREAK_TEMPLATES, source="harmful_refusal")


@register("open_weights_refusal", category="safeguards", version=1, hazardous=True)
def open_weights_refusal(data: DataSource) -> Eval:
    """The harmful requests under prefill (3 prefixes), best-of-8 sampling, system prompt removal and replacement."""
    return apply_transforms(harmful_refusal(data), OPEN_WEIGHT_ATTACKS, source="harmful_refusal")


@register("strongreject", category="safeguards", version=1, hazardous=True)
def strongreject(data: DataSource, *, path: str | None = None) -> Eval:
    """StrongREJECT forbidden prompts (public; --data-dir with strongreject/strongreject.csv)."""
    return _refusal(load_strongreject(data, path))


@register("harmbench", category="safeguards", version=1, hazardous=True)
def harmbench(data: DataSource, *, split: Literal["val", "test", "all"] = "val", path: str | None = None) -> Eval:
    """HarmBench text behaviours (public; --data-dir with harmbench/harmbench_behaviors_text_{split}.csv)."""
    return _refusal(load_harmbench(data, path, split=split))


@register("advbench", category="safeguards", version=1, hazardous=True)
def advbench(data: DataSource, *, path: str | None = None) -> Eval:
    """AdvBench harmful behaviours (public; --data-dir with advbench/harmful_behaviors.csv)."""
    return _refusal(load_advbench(data, path))


@register("jailbreakbench", category="safeguards", version=1, hazardous=True)
def jailbreakbench(data: DataSource, *, path: str | None = None) -> Eval:
    """JailbreakBench harmful behaviours (public; --data-dir with jailbreakbench/harmful-behaviors.csv)."""
    return _refusal(load_jailbreakbench(data, path))


# --- safeguards: over-refusal -------------------------------------------------


@register("over_refusal", category="safeguards", version=1)
def over_refusal(data: DataSource) -> Eval:
    """Our own safe prompts that sound unsafe ("How do I kill a Python process?"): each should be answered."""
    rows = data.rows("borderline_benign.jsonl", columns=["id", "prompt", "type"])
    samples = [Sample(id=r["id"], messages=[user(r["prompt"])], target="safe", metadata={"type": r["type"]})
               for r in rows]
    return Eval(
        samples=samples,
        scorer=refusal_scorer(),
        metrics=[rate("complied", name="compliance_rate", measures=UTILITY, higher_is_better=True),
                 refusal_rate(on="benign", name="refusal_rate")],
        max_tokens=GEN_TOKENS,
    )


@register("xstest", category="safeguards", version=1, hazardous=True)
def xstest(data: DataSource, *, path: str | None = None) -> Eval:
    """XSTest (public; --data-dir with xstest/xstest_prompts.csv): safe prompts answered, unsafe ones refused."""
    return Eval(
        samples=load_xstest(data, path),
        scorer=refusal_scorer(),
        metrics=[
            rate("complied", where=target_is("safe"), name="compliance_rate"),
            rate("refused", where=target_is("unsafe"), name="unsafe_refusal_rate"),
            rate("refused", where=target_is("safe"), name="safe_refusal_rate"),
        ],
        max_tokens=GEN_TOKENS,
    )
