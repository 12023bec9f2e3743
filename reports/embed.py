"""Putting data into HTML and script files so that it can never become markup or code.

Everything a model wrote or a dataset holds reaches the browser only as JSON,
escaped here so that `</script>`, `<!--` and line separators inside strings
cannot end the script element or the statement; the page's scripts then
render it with `textContent`, never `innerHTML`. Bidirectional controls
(U+202E and kin) are replaced by a visible `[U+202E]`: shown raw, a model's
completion could reorder the text around it and make a reader see something
it does not say.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from typing import Any

_UNSAFE = re.compile("[<>&\u2028\u2029]")
_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def inert(text: str) -> str:
    """`text` with every bidirectional control character replaced by its visible code point, e.g. `[U+202E]`."""
    return BIDI_CONTROLS.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)


def safe_json(obj: Any) -> str:
    """JSON text that is safe inside `<script type="application/json">` and as a JS expression."""
    try:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    except ValueError:  # NaN or infinity somewhere: JSON has no word for them, so null
        text = json.dumps(_finite(obj), ensure_ascii=False, separators=(",", ":"), default=str)
    return _UNSAFE.sub(lambda m: _ESCAPES[m.group()], inert(text))


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def data_script(token: str, name: str, obj: Any) -> str:
    """A `.js` file body that hands `obj` to the page that loaded it (script tags work from file://)."""
    return f"window.__evalrunData({json.dumps(token)},{json.dumps(name)},{safe_json(obj)});\n"


def new_token() -> str:
    """A random value, used as a CSP nonce and to tie transcript files to the page that wrote them."""
    return secrets.token_urlsafe(16)


def csp(nonce: str | None) -> str:
    """Content-Security-Policy for our pages: our own (nonce'd) scripts only, nothing fetched from anywhere.

    `strict-dynamic` lets the nonce'd script add the transcript `<script src>` tags; inline event handlers
    (the `onerror=` of an injected `<img>`) stay blocked even if some markup slipped through.
    """
    script = f"'nonce-{nonce}' 'strict-dynamic'" if nonce else "'none'"
    return (
        f"default-src 'none'; script-src {script}; style-src 'unsafe-inline'; img-src data:; "
        "connect-src 'none'; base-uri 'none'; form-action 'none'"
    )
