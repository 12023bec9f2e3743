// The transcript browser. Data arrives as JSON (embedded, or from transcripts/*.js files loaded on demand)
// and is put on the page with textContent only: nothing a model or a dataset wrote is ever parsed as HTML.
(function () {
  "use strict";
  var metaEl = document.getElementById("evalrun-meta");
  if (!metaEl) return;
  var meta = JSON.parse(metaEl.textContent);
  var root = document.getElementById("tx");
  var cache = new Map(), waiting = new Map(), hay = new WeakMap();
  var idx = null, generation = 0, timer = null;
  var state = { eval: -1, variant: -1, outcome: "", q: "", page: 0, size: 25 };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function q(sel) { return root.querySelector(sel); }
  function status(text, isError) {
    var s = q(".tx-status");
    s.textContent = text;
    s.classList.toggle("err", !!isError);
  }

  // Files call this; the token ties them to this rendering of the report.
  window.__evalrunData = function (token, name, data) {
    var w = waiting.get(name);
    if (token !== meta.token) {
      if (w) {
        waiting.delete(name);
        w.reject(new Error("transcripts/" + name + ".js belongs to another rendering; re-render with `evalrun report`"));
      }
      return;
    }
    remember(name, data);
    if (w) { waiting.delete(name); w.resolve(data); }
  };

  function remember(name, data) {
    cache.set(name, data);
    root.dataset.loaded = Array.from(cache.keys()).join(" ");  // which parts are in memory: for people and tests
  }

  function load(name) {
    if (cache.has(name)) return Promise.resolve(cache.get(name));
    var inline = document.getElementById("evalrun-data-" + name);
    if (inline) {
      var d = JSON.parse(inline.textContent);
      remember(name, d);
      return Promise.resolve(d);
    }
    if (waiting.has(name)) return waiting.get(name).promise;
    var w = {};
    w.promise = new Promise(function (res, rej) { w.resolve = res; w.reject = rej; });
    waiting.set(name, w);
    var s = document.createElement("script");
    s.src = meta.dir + "/" + name + ".js";
    s.addEventListener("error", function () {
      if (waiting.get(name) === w) {
        waiting.delete(name);
        w.reject(new Error("could not load " + s.src + " (keep the transcripts folder beside report.html)"));
      }
      s.remove();
    });
    s.addEventListener("load", function () {
      if (waiting.get(name) === w) { waiting.delete(name); w.reject(new Error(s.src + " did not hold " + name)); }
      s.remove();
    });
    document.head.appendChild(s);
    return w.promise;
  }

  function partOf(i) {
    var lo = 0, hi = meta.parts.length - 1;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (meta.parts[mid].start <= i) lo = mid; else hi = mid - 1;
    }
    return lo;
  }
  function sampleAt(i, data) { return data[i - meta.parts[partOf(i)].start]; }

  function candidates() {
    var out = [], E = idx.e, V = idx.v, L = idx.l, B = idx.b;
    var fe = state.eval, fv = state.variant, fo = state.outcome;
    var lab = fo === "" || fo === "changed" || fo === "disagree" ? -1 : +fo;
    for (var i = 0; i < meta.total; i++) {
      if (fe >= 0 && E[i] !== fe) continue;
      if (fv >= 0 && V[i] !== fv) continue;
      if (fo === "changed") { if (B[i] < 0 || B[i] === L[i]) continue; }
      else if (fo === "disagree") { if (!idx.d || !idx.d[i]) continue; }
      else if (lab >= 0 && L[i] !== lab) continue;
      out.push(i);
    }
    return out;
  }

  function haystack(s) {
    var h = hay.get(s);
    if (h === undefined) {
      var parts = [s.sample_id, s.eval, s.variant, s.prompt, s.completion, s.target];
      (s.messages || []).forEach(function (m) { parts.push(m && m.content); });
      var sc = s.score || {};
      parts.push(sc.label, sc.evidence, JSON.stringify(sc.extra || null), JSON.stringify(s.metadata || null));
      (s.choices || []).forEach(function (c) { parts.push(c); });
      h = parts.filter(function (x) { return x !== undefined && x !== null; }).join("\n").toLowerCase();
      hay.set(s, h);
    }
    return h;
  }

  async function search(list, needle, gen) {
    var byPart = new Map();
    list.forEach(function (i) {
      var p = partOf(i);
      if (!byPart.has(p)) byPart.set(p, []);
      byPart.get(p).push(i);
    });
    var hits = [], done = 0;
    for (var entry of byPart) {
      var part = meta.parts[entry[0]];
      var data = await load(part.name);
      if (gen !== generation) return null;
      entry[1].forEach(function (i) { if (haystack(data[i - part.start]).indexOf(needle) >= 0) hits.push(i); });
      done += 1;
      if (byPart.size > 3) status("Searching… " + done + " of " + byPart.size + " parts");
    }
    return hits;
  }

  function badge(label) {
    var known = ["refused", "complied", "partial", "correct", "wrong"];
    return el("span", "badge " + (known.indexOf(label) >= 0 ? "o-" + label : "o-other"), label || "no label");
  }

  function pretty(x) {
    try { return JSON.stringify(x, null, 2); } catch (e) { return String(x); }
  }

  function card(i, s) {
    var a = el("article", "sample");
    a.dataset.index = String(i);
    var h = el("header");
    var label = (s.score || {}).label;
    h.appendChild(badge(label));
    var b = idx.b[i];
    if (b >= 0 && meta.labels[b] !== label) {
      h.appendChild(el("span", "badge changed", "changed: base " + meta.labels[b] + " → " + (label || "none")));
    }
    if (s.hazardous) h.appendChild(el("span", "badge hz", "hazardous"));
    h.appendChild(el("span", "sid", s.sample_id));
    h.appendChild(el("span", "where", s.eval + " · " + s.variant + (s.epoch ? " · epoch " + s.epoch : "")));
    var v = (s.score || {}).value;
    h.appendChild(el("span", "score", "score " + (typeof v === "number" ? v.toFixed(3) : "n/a")));
    a.appendChild(h);

    var body = el("div", "body");
    var left = el("div", "col"), right = el("div", "col");
    body.appendChild(left);
    body.appendChild(right);
    (s.messages || []).forEach(function (m) {
      var role = String((m && m.role) || "message");
      var box = el("div", "msg " + (["user", "system", "assistant"].indexOf(role) >= 0 ? role : "other"));
      box.appendChild(el("div", "role", role));
      box.appendChild(el("pre", null, m && m.content));
      left.appendChild(box);
    });
    if (s.prompt && !(s.messages || []).length) {
      var pb = el("div", "msg user");
      pb.appendChild(el("div", "role", "prompt"));
      pb.appendChild(el("pre", null, s.prompt));
      left.appendChild(pb);
    }
    if (s.redacted) {
      var r = el("div", "msg redacted");
      r.appendChild(el("div", "role", "completion (redacted)"));
      r.appendChild(el("pre", null, "Hidden: hazardous eval. " + s.redacted.chars + " characters" +
        (s.redacted.tokens != null ? ", " + s.redacted.tokens + " tokens" : "") + "."));
      right.appendChild(r);
    } else {
      var c = el("div", "msg completion");
      c.appendChild(el("div", "role", "completion"));
      c.appendChild(el("pre", null, s.completion === "" ? "(empty)" : s.completion));
      right.appendChild(c);
    }
    var facts = el("dl", "facts");
    function fact(k, val) {
      if (val === undefined || val === null || val === "") return;
      facts.appendChild(el("dt", null, k));
      facts.appendChild(el("dd", null, typeof val === "object" ? JSON.stringify(val) : val));
    }
    var k = typeof s.target === "string" && s.target.length === 1 ? s.target.charCodeAt(0) - 65 : -1;
    fact("target", s.choices && k >= 0 && k < s.choices.length ? s.target + " · " + s.choices[k] : s.target);
    fact("evidence", (s.score || {}).evidence);
    fact("finish", s.finish_reason);
    fact("tokens", s.completion_tokens);
    if (s.metadata && Object.keys(s.metadata).length) fact("metadata", s.metadata);
    if (s.label_logprobs && typeof s.label_logprobs === "object") {
      fact("label logprobs", Object.keys(s.label_logprobs).map(function (k) {
        var lp = s.label_logprobs[k];
        return k + " " + (typeof lp === "number" ? lp.toFixed(2) : String(lp));
      }).join(" · "));
    }
    right.appendChild(facts);
    var extra = (s.score || {}).extra;
    if (extra && typeof extra === "object" && Object.keys(extra).length) {
      var d = el("details", "extra");
      d.appendChild(el("summary", null, "judge / scorer output"));
      d.appendChild(el("pre", null, pretty(extra)));
      right.appendChild(d);
    }
    a.appendChild(body);
    return a;
  }

  async function render() {
    if (!idx) return;
    var gen = ++generation;
    try {
      var list = candidates();
      var needle = state.q.trim().toLowerCase();
      if (needle) {
        status("Searching…");
        list = await search(list, needle, gen);
        if (list === null) return;
      }
      var pages = Math.max(1, Math.ceil(list.length / state.size));
      state.page = Math.max(0, Math.min(state.page, pages - 1));
      var slice = list.slice(state.page * state.size, (state.page + 1) * state.size);
      var needed = Array.from(new Set(slice.map(partOf)));
      var datas = await Promise.all(needed.map(function (p) { return load(meta.parts[p].name); }));
      if (gen !== generation) return;
      var byPart = new Map();
      needed.forEach(function (p, k) { byPart.set(p, datas[k]); });
      var frag = document.createDocumentFragment();
      slice.forEach(function (i) { frag.appendChild(card(i, sampleAt(i, byPart.get(partOf(i))))); });
      var box = q(".tx-list");
      box.replaceChildren(frag);
      var first = list.length ? state.page * state.size + 1 : 0;
      status(list.length ? "Showing " + first + "–" + (first + slice.length - 1) + " of " + list.length.toLocaleString() +
        " samples" + (list.length !== meta.total ? " (of " + meta.total.toLocaleString() + ")" : "") : "No samples match.");
      root.querySelectorAll(".tx-page").forEach(function (e) { e.textContent = "Page " + (state.page + 1) + " of " + pages; });
      root.querySelectorAll(".tx-prev").forEach(function (e) { e.disabled = state.page === 0; });
      root.querySelectorAll(".tx-next").forEach(function (e) { e.disabled = state.page >= pages - 1; });
      root.dataset.count = String(list.length);
    } catch (err) {
      if (gen === generation) status("Could not show transcripts: " + err.message, true);
    }
  }

  function option(sel, value, text) {
    var o = el("option", null, text);
    o.value = String(value);
    sel.appendChild(o);
  }

  function setup() {
    var fe = q(".f-eval"), fv = q(".f-variant"), fo = q(".f-outcome"), fq = q(".f-search"), fs = q(".f-size");
    option(fe, -1, "all evals");
    meta.evals.forEach(function (name, k) { option(fe, k, name); });
    option(fv, -1, "all variants");
    meta.variants.forEach(function (name, k) { option(fv, k, name); });
    option(fo, "", "all outcomes");
    meta.labels.forEach(function (name, k) { option(fo, k, name); });
    if (meta.variants.length > 1 && meta.base >= 0) option(fo, "changed", "changed vs base");
    if (meta.disagreements) option(fo, "disagree", "judgements disagree (" + meta.disagreements + ")");
    fe.addEventListener("change", function () { state.eval = +fe.value; state.page = 0; render(); });
    fv.addEventListener("change", function () { state.variant = +fv.value; state.page = 0; render(); });
    fo.addEventListener("change", function () { state.outcome = fo.value; state.page = 0; render(); });
    fs.addEventListener("change", function () { state.size = +fs.value; state.page = 0; render(); });
    fq.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { state.q = fq.value; state.page = 0; render(); }, 300);
    });
    fq.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { clearTimeout(timer); state.q = fq.value; state.page = 0; render(); }
    });
    root.querySelectorAll(".tx-prev").forEach(function (b) {
      b.addEventListener("click", function () { state.page -= 1; render(); });
    });
    root.querySelectorAll(".tx-next").forEach(function (b) {
      b.addEventListener("click", function () { state.page += 1; render(); });
    });
    document.querySelectorAll("a.tx-link").forEach(function (a) {
      a.addEventListener("click", function () {
        var e = meta.evals.indexOf(a.dataset.eval), v = meta.variants.indexOf(a.dataset.variant);
        state.eval = e; state.variant = v; state.outcome = ""; state.q = ""; state.page = 0;
        fe.value = String(e); fv.value = String(v); fo.value = ""; fq.value = "";
        render();
      });
    });
  }

  setup();
  if (!meta.total) { status("This run has no samples."); return; }
  status("Loading transcripts…");
  load("index").then(function (data) { idx = data; render(); }, function (err) { status(err.message, true); });
})();
