"""The OpenAI-compatible HTTP engine: evaluate a model already served (e.g. by `vllm serve`).

Requests go to `/chat/completions` with a bounded number in flight, retried with
exponential backoff on connection errors, 429 and 5xx. Multiple choice reads the
answer labels from the first token's `top_logprobs`. Uses only the standard
library, so it runs anywhere evalrun installs.
"""

from __future__ import annotations

import json
import math
import re
import time
import urllib.error
import urllib.request
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

from evalrun.evals.core import Completion
from evalrun.evals.errors import InputError, RunError
from evalrun.runner.engine import EngineOptions, OnResults
from evalrun.runner.plan import Request
from evalrun.runner.vllm_engine import TOO_LONG

RETRIES = 5
TIMEOUT_S = 600
TOP_LOGPROBS = 20


class PromptTooLong(Exception):
    """The server refused one request because its prompt does not fit the context: that request's outcome only."""


_TOO_LONG = re.compile(r"context length|context window|maximum context|too long|max_model_len|exceeds the model", re.I)


def _detail(raw: bytes, ctype: str) -> str:
    """A server's error body as one short line: the JSON error message, or what kind of page it was."""
    text = raw.decode(errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("error") if isinstance(data.get("error"), dict) else data
        msg = err.get("message") or err.get("detail") or data.get("error")
        if msg:
            return " ".join(str(msg).split())[:200]
    if "html" in ctype.lower() or text.lstrip()[:1] == "<":
        return "an HTML page, not an OpenAI-compatible JSON error"
    return " ".join(text.split())[:200] or "an empty body"


def _json_object(url: str, raw: bytes, want: str) -> dict[str, Any]:
    """The response as a JSON object holding `want`, or an InputError: the URL is not an OpenAI-compatible API."""
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict) or want not in data:
        kind = "not JSON" if data is None else f"a JSON {type(data).__name__} without `{want}`"
        raise InputError(f"{url} answered {kind}; is --base-url an OpenAI-compatible API (it usually ends in /v1)?")
    return data


def _call(options: EngineOptions, method: str, path: str, body: dict | None = None,
          want: str = "data") -> dict[str, Any]:
    """One HTTP call with retries; a RunError once retries are spent or on a client error."""
    url = options.base_url.rstrip("/") + path
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if options.api_key:
        headers["Authorization"] = f"Bearer {options.api_key}"
    delay = 0.5
    for attempt in range(1, RETRIES + 1):
        try:
            req = urllib.request.Request(url, data=data, headers=headers, method=method)
            with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
                raw = resp.read()
            return _json_object(url, raw, want)
        except urllib.error.HTTPError as e:
            detail = _detail(e.read(), e.headers.get("Content-Type", "") if e.headers else "")
            if e.code in (400, 413, 422) and body is not None and _TOO_LONG.search(detail):
                raise PromptTooLong(detail) from None
            if e.code == 404:
                raise InputError(f"{method} {url} answered 404 ({detail}); check --base-url "
                                 "(an OpenAI-compatible server's URL usually ends in /v1)") from None
            if e.code != 429 and e.code < 500:
                raise RunError(f"{method} {url} answered {e.code}: {detail}") from None
            last = f"HTTP {e.code}: {detail}"
        except (urllib.error.URLError, OSError) as e:
            last = str(getattr(e, "reason", e))
        if attempt < RETRIES:
            time.sleep(delay)
            delay *= 2
    raise RunError(f"{method} {url} failed after {RETRIES} attempts ({last}); is the server running?")


def server_model(options: EngineOptions, wanted: str) -> str:
    """The served model to use: `wanted` if served, the only one if just one is served."""
    listed = _call(options, "GET", "/models")["data"]
    if not isinstance(listed, list) or not all(isinstance(m, dict) and "id" in m for m in listed):
        raise InputError(f"{options.base_url}/models answered a malformed model list; is --base-url an "
                         "OpenAI-compatible API?")
    served = [str(m["id"]) for m in listed]
    if wanted in served:
        return wanted
    if len(served) == 1 and wanted in ("", "served"):
        return served[0]
    raise InputError(f"model {wanted!r} is not served at {options.base_url} (served: {', '.join(served) or 'none'})")


class OpenAIEngine:
    def __init__(self, options: EngineOptions, model: str) -> None:
        self.options = options
        self.model = model

    def _one(self, r: Request) -> Completion:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": r.messages,
            "max_tokens": r.max_tokens,
            "temperature": r.temperature,
        }
        if r.seed is not None:
            body["seed"] = r.seed
        if r.messages[-1]["role"] == "assistant":  # a prefilled reply: vLLM's server continues it
            body.update(continue_final_message=True, add_generation_prompt=False)
        if r.labels:
            body.update(logprobs=True, top_logprobs=TOP_LOGPROBS)
        t0 = time.perf_counter()
        try:
            resp = _call(self.options, "POST", "/chat/completions", body, want="choices")
        except PromptTooLong:  # as vLLM offline does: this request becomes an `error` outcome, the run goes on
            return Completion(text="", finish_reason=TOO_LONG, prompt_text=json.dumps(r.messages, ensure_ascii=False))
        choices = resp["choices"]
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict) or not isinstance(
                choices[0].get("message"), dict):
            raise InputError(f"{self.options.base_url}/chat/completions answered `choices` without a message; "
                             "is --base-url an OpenAI-compatible chat API?")
        choice = choices[0]
        usage = resp.get("usage") if isinstance(resp.get("usage"), dict) else {}
        return Completion(
            text=choice["message"].get("content") or "",
            finish_reason=str(choice.get("finish_reason", "")),
            label_logprobs=_label_logprobs(choice, r.labels) if r.labels else None,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            output_tokens=int(usage.get("completion_tokens", 0)),
            latency_s=round(time.perf_counter() - t0, 4),
            prompt_text=json.dumps(r.messages, ensure_ascii=False),
        )

    def generate(self, requests: list[Request], on_results: OnResults, on_ready=None) -> dict[str, Any]:
        if on_ready is not None:
            on_ready()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=max(1, self.options.concurrency)) as pool:
            futures = {pool.submit(self._one, r): i for i, r in enumerate(requests)}
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    if f.exception() is not None:
                        for p in pending:
                            p.cancel()
                        raise f.exception()
                on_results([(futures[f], f.result()) for f in finished])
        return {
            "engine": "openai",
            "base_url": self.options.base_url,
            "served_model": self.model,
            "generate_s": round(time.perf_counter() - t0, 3),
        }


def _label_logprobs(choice: dict[str, Any], labels: list[str]) -> dict[str, float]:
    """The best logprob of each label among the first token's top alternatives."""
    content = (choice.get("logprobs") or {}).get("content") or []
    if not content:
        return {}
    out: dict[str, float] = {}
    for alt in content[0].get("top_logprobs", []):
        tok = alt.get("token", "").strip()
        if tok in labels and alt.get("logprob", -math.inf) > out.get(tok, -math.inf):
            out[tok] = alt["logprob"]
    return out
