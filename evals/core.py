"""The data an eval is made of: samples, completions, scores and the Eval itself.

Nothing here knows how generation is batched: the runner turns samples into
requests, the engine turns requests into `Completion`s, and the eval's scorer
turns each (sample, completion) into a `Score`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

LETTERS = "ABCDEFGHIJ"


def user(text: str) -> dict[str, str]:
    """A user chat message."""
    return {"role": "user", "content": text}


def system(text: str) -> dict[str, str]:
    """A system chat message."""
    return {"role": "system", "content": text}


@dataclass
class Sample:
    """One item of an eval.

    `id` is stable across runs and versions: resume and before/after pairing
    rely on it. `choices` makes the sample multiple choice (the answer is the
    letter of a choice, scored from next-token label logprobs); `target` is what
    the scorer compares against (a letter, or a label such as "harmful").
    """

    id: str
    messages: list[dict[str, str]]
    choices: list[str] | None = None
    target: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    # Per-sample generation settings (a sampling attack draws `epochs` samples at `temperature`); None: the eval's.
    temperature: float | None = None
    epochs: int | None = None

    @property
    def labels(self) -> list[str] | None:
        """The answer letters of a multiple-choice sample, else None."""
        return list(LETTERS[: len(self.choices)]) if self.choices else None

    def content_hash(self) -> str:
        """Hash of everything that changes what the model sees or how it is scored."""
        blob = json.dumps(
            {"id": self.id, "messages": self.messages, "choices": self.choices, "target": self.target},
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class Completion:
    """What an engine returns for one request."""

    text: str
    token_ids: list[int] = field(default_factory=list)
    finish_reason: str = ""
    label_logprobs: dict[str, float] | None = None
    prompt_tokens: int = 0
    output_tokens: int = 0
    latency_s: float = 0.0
    prompt_text: str = ""
    prompt_token_ids: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Completion:
        return cls(**d)


@dataclass
class Score:
    """The scorer's verdict on one completion.

    `value` is the number metrics average (1.0 correct / refused ...), `label`
    the outcome a person filters by ("correct", "wrong", "refused", "complied",
    "partial"), `evidence` why, in a sentence or a quoted span.
    """

    value: float
    label: str
    evidence: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Score:
        return cls(**d)


Scorer = Callable[[Sample, Completion], Score]


@dataclass
class Eval:
    """An eval: its samples, how each completion is scored, and what is reported.

    `name`, `version` and `category` are filled in by `@register`. Bump the
    version when items or scoring change: results of different versions are
    never compared or resumed from.
    """

    samples: Sequence[Sample]
    scorer: Scorer
    metrics: Sequence[Any]
    max_tokens: int = 128
    temperature: float = 0.0
    epochs: int = 1
    name: str = ""
    version: int = 1
    category: str = ""
    description: str = ""
    hazardous: bool = False
    judged: bool = False  # scored by a rubric judge model (`--judge`) after generation

    @property
    def is_multiple_choice(self) -> bool:
        return any(s.choices for s in self.samples)


def multiple_choice_prompt(question: str, choices: Sequence[str]) -> str:
    """The user message of a multiple-choice item, asking for the letter alone.

    The runner ends the rendered prompt right where the assistant's first token
    goes, so the label's next-token logprob is the model's answer.
    """
    lines = [question.strip(), ""]
    lines += [f"{letter}. {text.strip()}" for letter, text in zip(LETTERS, choices, strict=False)]
    lines += ["", "Answer with the letter of the correct option only."]
    return "\n".join(lines)
