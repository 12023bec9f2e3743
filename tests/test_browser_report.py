"""The report and the runs index in headless Chromium, used as a person would.

Opened from file:// (as from a CI artifact) and through `evalrun view`: no
console errors, filters and search work, lazily loaded transcript pages
work, and markup planted in prompts, completions, template names and
evidence shows as text and runs nothing. Without Chromium these fail under
CI (env CI set) and skip locally. A screenshot lands in
test-artifacts/report.png.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from evalrun.reports import transcripts  # noqa: E402
from evalrun.reports.gate import run_gate  # noqa: E402
from evalrun.reports.html import write_report  # noqa: E402
from evalrun.reports.server import make_server  # noqa: E402
from reporting_fixtures import ARTIFACTS, chromium, close_chromium, make_run  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def driver():
    d = chromium()
    yield d
    close_chromium(d)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    """All sections, transcripts embedded in the page, markup payloads planted."""
    run = make_run(tmp_path_factory.mktemp("small") / "run", n_per_eval=40, payloads=True)
    write_report(run)
    policy = run.parent / "policy.yaml"
    policy.write_text("max_level: medium\nmin_refusal: {jailbreak_refusal: 0.8}\nmin_retention: 0.8\n")
    run_gate(run, policy)  # a failed verdict, so the banner shows its reasons
    return run


@pytest.fixture(scope="module")
def big_run(tmp_path_factory) -> Path:
    """Transcripts in transcripts/part-NNN.js files of 50 samples (5 evals x 2 variants x 120)."""
    run = make_run(tmp_path_factory.mktemp("big") / "run", n_per_eval=120, payloads=True)
    mp = pytest.MonkeyPatch()
    mp.setattr(transcripts, "INLINE_LIMIT", 0)
    mp.setattr(transcripts, "PART_SAMPLES", 50)
    try:
        write_report(run)
    finally:
        mp.undo()
    return run


def js(driver, script: str, *args):
    return driver.execute_script(script, *args)


def wait_for(driver, condition: str, timeout: float = 20):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(f"return {condition}"))


def open_page(driver, url: str) -> None:
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(url)
    wait_for(driver, "document.querySelectorAll('#tx article.sample').length > 0 || "
                     "/No samples|Could not|no samples/.test(document.querySelector('.tx-status').textContent)")


def errors(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def loaded_parts(driver) -> set[str]:
    return set(js(driver, "return document.getElementById('tx').dataset.loaded || ''").split())


def shown(driver) -> int:
    return int(js(driver, "return +document.getElementById('tx').dataset.count"))


def choose(driver, css: str, text: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    before = js(driver, "return document.querySelector('.tx-status').textContent")
    Select(driver.find_element(By.CSS_SELECTOR, css)).select_by_visible_text(text)
    wait_for(driver, f"document.querySelector('.tx-status').textContent !== {before!r}")


def search(driver, text: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.CSS_SELECTOR, ".f-search")
    box.clear()
    js(driver, "document.querySelector('.tx-status').textContent = 'waiting'")
    box.send_keys(text + Keys.ENTER)
    wait_for(driver, "!/waiting|Searching/.test(document.querySelector('.tx-status').textContent)")


def test_report_renders_without_errors_and_payloads_stay_text(driver, small_run: Path):
    open_page(driver, (small_run / "report.html").as_uri())
    assert errors(driver) == []
    assert js(driver, "return typeof window.__pwned") == "undefined"
    assert js(driver, "return document.querySelectorAll('img').length") == 0
    assert "FAILED" in js(driver, "return document.getElementById('verdict').textContent")
    reasons = json.loads((small_run / "verdict.json").read_text())["reasons"]
    assert reasons and js(driver, "return document.getElementById('verdict-reasons').textContent") == "; ".join(reasons)
    assert js(driver, "return document.querySelectorAll('svg.chart').length") == 4
    # the planted markup is visible as text in the first card (sample 0 carries it)
    first = js(driver, "return document.querySelector('#tx article.sample').textContent")
    assert '<script>window.__pwned="script"</script>' in first and "</textarea>" in first
    assert js(driver, "return document.querySelectorAll('#tx article.sample b').length") == 0
    # and in the summary tables (a jailbreak template name)
    assert "template none<script>" in js(driver, "return document.getElementById('safeguards').textContent")
    ARTIFACTS.mkdir(exist_ok=True)
    choose(driver, ".f-size", "10")
    height = js(driver, "return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(height, 9000))
    js(driver, "window.scrollTo(0, 0)")
    driver.save_screenshot(str(ARTIFACTS / "report.png"))
    driver.set_window_size(1280, 1000)


def test_filters_and_search(driver, small_run: Path):
    open_page(driver, (small_run / "report.html").as_uri())
    assert shown(driver) == 400
    choose(driver, ".f-eval", "jailbreak_refusal")
    assert shown(driver) == 80
    choose(driver, ".f-variant", "harmful_lora")
    assert shown(driver) == 40
    choose(driver, ".f-outcome", "refused")
    labels = js(driver, "return [...document.querySelectorAll('#tx article.sample header .badge:first-child')]"
                        ".map(e => e.textContent)")
    assert set(labels) == {"refused"} and len(labels) == min(shown(driver), 25)
    choose(driver, ".f-outcome", "changed vs base")
    n_changed = shown(driver)
    assert n_changed > 0
    badges = js(driver, "return [...document.querySelectorAll('#tx article.sample .changed')].map(e => e.textContent)")
    assert len(badges) == min(n_changed, 25) and all(b.startswith("changed: base ") for b in badges)
    choose(driver, ".f-outcome", "all outcomes")
    search(driver, "prefix_injection")
    assert shown(driver) == 10  # every 4th harmful request, in the harmful_lora variant
    search(driver, "no such text anywhere")
    assert shown(driver) == 0
    assert "No samples match" in js(driver, "return document.querySelector('.tx-status').textContent")
    assert errors(driver) == []


def test_eval_table_links_filter_the_transcripts(driver, small_run: Path):
    from selenium.webdriver.common.by import By

    open_page(driver, (small_run / "report.html").as_uri())
    link = driver.find_element(By.CSS_SELECTOR, 'a.tx-link[data-eval="smoke_knowledge"][data-variant="base"]')
    js(driver, "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", link)
    link.click()
    wait_for(driver, "+document.getElementById('tx').dataset.count === 40")
    wheres = js(driver, "return [...document.querySelectorAll('#tx .where')].map(e => e.textContent)")
    assert set(wheres) == {"smoke_knowledge · base"}


def test_lazily_loaded_transcript_pages(driver, big_run: Path):
    open_page(driver, (big_run / "report.html").as_uri())
    assert errors(driver) == []
    assert loaded_parts(driver) == {"index", "part-000"}
    assert shown(driver) == 1200
    first_ids = js(driver, "return [...document.querySelectorAll('#tx .sid')].map(e => e.textContent)")
    from selenium.webdriver.common.by import By

    driver.find_elements(By.CSS_SELECTOR, ".tx-next")[0].click()
    wait_for(driver, "document.querySelector('.tx-page').textContent.startsWith('Page 2 ')")
    second_ids = js(driver, "return [...document.querySelectorAll('#tx .sid')].map(e => e.textContent)")
    assert len(second_ids) == 25 and not set(first_ids) & set(second_ids)
    choose(driver, ".f-eval", "smoke_knowledge")
    choose(driver, ".f-variant", "harmful_lora")  # samples 1080-1199: parts 021-023; the page needs 021, 022
    assert loaded_parts(driver) == {"index", "part-000", "part-019", "part-021", "part-022"}
    search(driver, "__pwned")  # loads every part of the filtered set; the payload still runs nothing
    assert shown(driver) == 1 and "part-023" in loaded_parts(driver) and "part-010" not in loaded_parts(driver)
    assert js(driver, "return typeof window.__pwned") == "undefined"
    assert errors(driver) == []


def test_missing_transcript_files_say_so(driver, big_run: Path, tmp_path: Path):
    import shutil

    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(big_run / "report.html", copy / "report.html")  # the page without its transcripts folder
    driver.get_log("browser")
    driver.get((copy / "report.html").as_uri())
    wait_for(driver, "document.querySelector('.tx-status').classList.contains('err')")
    assert "transcripts folder" in js(driver, "return document.querySelector('.tx-status').textContent")
    assert js(driver, "return document.querySelector('#scorecard') !== null")  # the summary is still all there


def test_redacted_report_hides_hazardous_completions(driver, tmp_path: Path):
    run = make_run(tmp_path / "run", n_per_eval=10)
    write_report(run, redact=True)
    open_page(driver, (run / "report.html").as_uri())
    choose(driver, ".f-eval", "jailbreak_refusal")
    text = js(driver, "return document.getElementById('tx').textContent")
    assert "Hidden: hazardous eval." in text and "Placeholder attempt" not in text
    assert errors(driver) == []


def test_view_server_in_the_browser(driver, small_run: Path, tmp_path: Path, monkeypatch):
    from selenium.webdriver.common.by import By

    monkeypatch.setattr(transcripts, "INLINE_LIMIT", 0)  # transcripts come over HTTP as part files
    runs = tmp_path / "runs"
    write_report(make_run(runs / "2026-11-29-synthetic", n_per_eval=30, payloads=True))
    (runs / "outside").symlink_to(small_run.parent, target_is_directory=True)
    server = make_server(runs, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        driver.get_log("browser")
        driver.get(base)
        rows = driver.find_elements(By.CSS_SELECTOR, "#runs tbody tr")
        assert len(rows) == 1  # the symlink points outside RUNS_DIR, so it is not followed
        assert errors(driver) == []
        driver.find_element(By.CSS_SELECTOR, "#runs a[href$='report.html']").click()
        wait_for(driver, "document.querySelectorAll('#tx article.sample').length > 0")
        assert driver.current_url == base + "2026-11-29-synthetic/report.html"
        loaded = js(driver, "return performance.getEntriesByType('resource').map(e => e.name)")
        assert base + "2026-11-29-synthetic/transcripts/part-000.js" in loaded
        assert errors(driver) == []
        assert js(driver, "return typeof window.__pwned") == "undefined"
        driver.get(base + "outside/run/report.html")
        assert "forbidden" in driver.page_source
    finally:
        server.shutdown()
        server.server_close()


def test_index_sorts_by_column(driver, tmp_path: Path):
    from evalrun.reports.index import write_index
    from selenium.webdriver.common.by import By

    for name, created, seed in (("a", "2026-11-01T10:00:00+0000", 1), ("b", "2026-11-20T10:00:00+0000", 2),
                                ("c", "2026-11-10T10:00:00+0000", 3)):
        make_run(tmp_path / name, n_per_eval=5 * seed, seed=seed, created=created, model=f"model-{name}")
    driver.get_log("browser")
    driver.get(write_index(tmp_path).as_uri())

    def column(i: int) -> list[str]:
        rows = "[...document.querySelectorAll('#runs tbody tr')]"
        return js(driver, f"return {rows}.map(r => r.cells[{i}].textContent.trim())")

    assert column(1) == ["model-b", "model-c", "model-a"]  # newest first
    driver.find_element(By.CSS_SELECTOR, "th button[data-col='1']").click()
    assert column(1) == ["model-a", "model-b", "model-c"]
    driver.find_element(By.CSS_SELECTOR, "th button[data-col='1']").click()
    assert column(1) == ["model-c", "model-b", "model-a"]
    driver.find_element(By.CSS_SELECTOR, "th button[data-col='5']").click()
    assert column(5) == ["50", "100", "150"]
    assert errors(driver) == []
