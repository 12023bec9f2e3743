"""The gate's verdict as JUnit XML, the test-report format CI systems (GitHub, GitLab, Jenkins) all read.

One testsuite, one testcase per check, a <failure> for each failed check and
<skipped> for a check that could not apply. Built with ElementTree, so every
name and message is escaped; characters XML 1.0 cannot hold are dropped.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from evalrun.rundir.files import write_atomic

_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(x: Any) -> str:
    return _INVALID.sub("", "" if x is None else str(x))


def junit_xml(verdict: dict[str, Any], seconds: float = 0.0) -> bytes:
    """The XML document for a verdict."""
    checks = verdict.get("checks") or []
    failures = sum(1 for c in checks if not c.get("passed"))
    skipped = sum(1 for c in checks if c.get("skipped"))
    counts = {"tests": str(len(checks)), "failures": str(failures), "errors": "0", "skipped": str(skipped),
              "time": f"{seconds:.3f}"}
    suites = ET.Element("testsuites", {"name": "evalrun gate", **counts})
    suite = ET.SubElement(suites, "testsuite", {"name": "evalrun.gate", "timestamp": _text(verdict.get("created")),
                                                **counts})
    props = ET.SubElement(suite, "properties")
    for key in ("model", "suite", "baseline", "results_sha256", "evalrun_version"):
        if verdict.get(key) is not None:
            ET.SubElement(props, "property", {"name": key, "value": _text(verdict[key])})
    ET.SubElement(props, "property", {"name": "policy", "value": _text((verdict.get("policy") or {}).get("source"))})
    for c in checks:
        kind = str(c.get("name", "")).split("[", 1)[0]
        case = ET.SubElement(suite, "testcase", {"classname": f"evalrun.gate.{_text(kind)}",
                                                 "name": _text(c.get("name")), "time": "0"})
        summary = f"value {c.get('value')!s}, threshold {c.get('threshold')!s}: {c.get('detail', '')}"
        if c.get("skipped"):
            ET.SubElement(case, "skipped", {"message": _text(c.get("detail"))})
        elif not c.get("passed"):
            failure = ET.SubElement(case, "failure", {"message": _text(summary), "type": "GateCheckFailed"})
            failure.text = _text(summary)
        else:
            out = ET.SubElement(case, "system-out")
            out.text = _text(summary)
    ET.indent(suites)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True)


def write_junit(path: Path, verdict: dict[str, Any], seconds: float = 0.0) -> Path:
    write_atomic(path, junit_xml(verdict, seconds))
    return path
