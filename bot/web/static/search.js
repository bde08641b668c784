/* Officers' case search: query, facets with counts that narrow results, highlighted matches, document view, similar cases. */
"use strict";

(function () {
  const TOP_K = 20;
  const FACET_LIMIT = 12;
  const FACETS = [
    { key: "region", title: "地区", label: (v) => v },
    { key: "doc_type", title: "类型", label: (v) => UB.docTypeLabel(v) },
    { key: "year", title: "年份", label: (v) => v + " 年" },
  ];

  const form = document.getElementById("search-form");
  const qInput = document.getElementById("q");
  const facetGroups = document.getElementById("facet-groups");
  const facetPanel = document.getElementById("facet-panel");
  const facetSummary = document.getElementById("facet-summary");
  const activeBox = document.getElementById("active-filters");
  const countBox = document.getElementById("result-count");
  const resultsList = document.getElementById("results");
  const intro = document.getElementById("intro");
  const area = document.getElementById("results-area");
  const dialog = document.getElementById("doc-view");
  const docBody = document.getElementById("doc-body");

  let state = { q: "", region: null, doc_type: null, year: null };
  let current = []; // results on screen
  let seq = 0;
  let docOpener = null;

  // ------------------------------------------------------------ URL state

  function fromUrl() {
    const p = new URLSearchParams(location.search);
    return {
      q: (p.get("q") || "").trim(),
      region: p.get("region") || null,
      doc_type: p.get("doc_type") || null,
      year: p.get("year") || null,
    };
  }

  function toUrl(s, extra) {
    const p = new URLSearchParams();
    if (s.q) p.set("q", s.q);
    for (const k of ["region", "doc_type", "year"]) if (s[k]) p.set(k, s[k]);
    for (const [k, v] of Object.entries(extra || {})) if (v) p.set(k, v);
    const qs = p.toString();
    return location.pathname + (qs ? "?" + qs : "");
  }

  // ------------------------------------------------------------ searching

  function filtersOf(s) {
    const f = {};
    if (s.region) f.region = s.region;
    if (s.doc_type) f.doc_type = s.doc_type;
    if (s.year) {
      f.year_from = Number(s.year);
      f.year_to = Number(s.year);
    }
    return f;
  }

  async function run(s, push) {
    state = Object.assign({}, s);
    qInput.value = state.q;
    if (push) history.pushState(null, "", toUrl(state));
    if (!state.q) {
      intro.hidden = false;
      resultsList.innerHTML = "";
      countBox.textContent = "";
      delete countBox.dataset.total;
      renderActive();
      facetGroups.innerHTML = '<p class="muted">输入检索词后，可按地区、类型、年份缩小范围。</p>';
      return;
    }
    intro.hidden = true;
    const mine = ++seq;
    area.classList.add("loading");
    area.setAttribute("aria-busy", "true");
    try {
      const data = await UB.postJson("/api/search", { query: state.q, top_k: TOP_K, filters: filtersOf(state) });
      if (mine !== seq) return;
      current = data.results || [];
      renderFacets(data.facets || {});
      renderActive();
      renderCount(data);
      renderResults();
    } catch (e) {
      if (mine !== seq) return;
      current = [];
      resultsList.innerHTML = "";
      countBox.textContent = "";
      resultsList.appendChild(errorItem(e.message || "检索失败，请稍后再试。"));
    } finally {
      if (mine === seq) {
        area.classList.remove("loading");
        area.removeAttribute("aria-busy");
      }
    }
  }

  function errorItem(message) {
    return UB.alertElement("li", "error-box", message);
  }

  // ------------------------------------------------------------ rendering

  /** Facet counts are over the passages that contain the query's words; the list may add related ones. */
  function renderCount(data) {
    const byType = (data.facets || {}).doc_type || {};
    const matching = Object.values(byType).reduce((a, b) => a + Number(b || 0), 0);
    const total = matching || current.length;
    countBox.dataset.total = String(total);
    countBox.dataset.shown = String(current.length);
    const took = data.took_ms != null ? "（用时 " + Math.round(data.took_ms) + " 毫秒）" : "";
    if (!current.length) {
      countBox.innerHTML = "没有找到相关内容" + UB.esc(took);
      return;
    }
    let extra = "";
    if (matching && current.length > matching) extra = "，另列出 " + (current.length - matching) + " 条相关内容";
    else if (current.length < total) extra = "，显示最相关的 " + current.length + " 条";
    countBox.innerHTML =
      "找到 <strong>" + total + "</strong> 条" + (matching ? "含检索词的段落" : "相关段落") + UB.esc(extra + took);
  }

  function sortedEntries(key, counts) {
    const entries = Object.entries(counts || {}).filter(([, n]) => Number(n) > 0);
    if (key === "year") entries.sort((a, b) => Number(b[0]) - Number(a[0]));
    else entries.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0], "zh-CN"));
    return entries;
  }

  function renderFacets(facets) {
    facetGroups.innerHTML = "";
    let any = false;
    for (const f of FACETS) {
      let entries = sortedEntries(f.key, facets[f.key]);
      const selected = state[f.key];
      if (selected && !entries.some(([v]) => v === selected)) entries.unshift([selected, 0]);
      if (!entries.length) continue;
      any = true;
      const group = document.createElement("section");
      group.className = "facet-group";
      group.setAttribute("aria-labelledby", "facet-h-" + f.key);
      group.innerHTML = '<h3 id="facet-h-' + f.key + '">' + f.title + "</h3>";
      const list = document.createElement("ul");
      list.className = "facet-list";
      for (const [value, n] of entries.slice(0, FACET_LIMIT)) {
        const li = document.createElement("li");
        const b = document.createElement("button");
        b.type = "button";
        b.className = "facet";
        b.dataset.facet = f.key;
        b.dataset.value = value;
        const pressed = selected === value;
        b.setAttribute("aria-pressed", String(pressed));
        b.setAttribute("aria-label", f.title + "：" + f.label(value) + "，" + n + " 条" + (pressed ? "（已选，再按取消）" : ""));
        b.innerHTML = '<span class="facet-label">' + UB.esc(f.label(value)) + '</span><span class="count">' + UB.esc(n) + "</span>";
        li.appendChild(b);
        list.appendChild(li);
      }
      group.appendChild(list);
      facetGroups.appendChild(group);
    }
    if (!any) facetGroups.innerHTML = '<p class="muted">当前结果没有可筛选的地区、类型或年份。</p>';
  }

  function renderActive() {
    activeBox.innerHTML = "";
    const labels = [];
    for (const f of FACETS) {
      const v = state[f.key];
      if (!v) continue;
      labels.push(f.label(v));
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip";
      chip.dataset.clear = f.key;
      chip.setAttribute("aria-label", "取消筛选 " + f.title + "：" + f.label(v));
      chip.innerHTML = UB.esc(f.title + "：" + f.label(v)) + '<span aria-hidden="true">×</span>';
      activeBox.appendChild(chip);
    }
    facetSummary.textContent = labels.length ? "（" + labels.join("、") + "）" : "";
  }

  function metaHtml(r) {
    const parts = ['<span class="badge ' + UB.esc(r.doc_type) + '">' + UB.esc(UB.docTypeLabel(r.doc_type)) + "</span>"];
    if (r.doc_type === "law") {
      if (r.article) parts.push("<span>" + UB.esc(r.article) + "</span>");
    } else if (r.org) {
      parts.push('<span class="org">' + UB.esc(r.org) + "</span>");
    }
    if (r.region && !(r.org || "").includes(r.region)) parts.push('<span class="region">' + UB.esc(r.region) + "</span>");
    if (r.date) parts.push('<span class="date">' + UB.esc(r.date) + "</span>");
    return parts.join("");
  }

  function titleOf(r) {
    return r.doc_type === "law" ? "《" + (r.title || "") + "》" + (r.article || "") : r.title || r.label || "";
  }

  function renderResults() {
    resultsList.innerHTML = "";
    if (!current.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = "没有找到相关内容。可以换个说法，或取消部分筛选条件。";
      resultsList.appendChild(li);
      return;
    }
    current.forEach((r, i) => {
      const li = document.createElement("li");
      li.className = "result";
      li.dataset.id = r.id;
      const hid = "res-h-" + i;
      li.setAttribute("aria-labelledby", hid);
      li.innerHTML =
        '<h3 id="' + hid + '">' + UB.esc(titleOf(r)) + "</h3>" +
        '<p class="meta">' + metaHtml(r) + "</p>" +
        '<p class="result-text clamped">' + UB.highlight(r.text, r.highlights) + "</p>" +
        '<div class="actions">' +
        '<button type="button" class="action" data-action="doc">查看全文</button>' +
        '<button type="button" class="action" data-action="similar" aria-expanded="false" aria-controls="sim-' + i + '">相似案例</button>' +
        "</div>" +
        '<div class="similar" id="sim-' + i + '" hidden></div>';
      resultsList.appendChild(li);
    });
  }

  // ------------------------------------------------------------ similar cases

  async function toggleSimilar(li, button) {
    const box = li.querySelector(".similar");
    if (button.getAttribute("aria-expanded") === "true") {
      button.setAttribute("aria-expanded", "false");
      box.hidden = true;
      return;
    }
    button.setAttribute("aria-expanded", "true");
    box.hidden = false;
    if (box.dataset.loaded) return;
    box.innerHTML = '<p class="muted" role="status">正在查找相似案例…</p>';
    try {
      const data = await UB.getJson("/api/documents/" + encodeURIComponent(li.dataset.id) + "/similar?k=5");
      const items = data.results || [];
      box.dataset.loaded = "1";
      if (!items.length) {
        box.innerHTML = '<p class="muted">没有找到相似内容。</p>';
        return;
      }
      box.innerHTML =
        "<h4>相似案例与条文</h4><ol>" +
        items
          .map((r) => {
            const meta = [UB.docTypeLabel(r.doc_type), r.doc_type === "law" ? r.article : r.org, r.region, r.date]
              .filter(Boolean)
              .filter((v, i, a) => a.indexOf(v) === i)
              .join(" · ");
            const snippet = String(r.text || "").slice(0, 90) + (String(r.text || "").length > 90 ? "…" : "");
            return (
              '<li><button type="button" class="sim-title" data-doc="' + UB.esc(r.id) + '">' + UB.esc(titleOf(r)) + "</button>" +
              '<span class="sim-meta">' + UB.esc(meta) + "</span>" +
              '<p class="sim-text">' + UB.esc(snippet) + "</p></li>"
            );
          })
          .join("") +
        "</ol>";
    } catch (e) {
      box.innerHTML = "";
      box.appendChild(UB.alertElement("p", "muted", e.message || "相似案例暂时无法获取。"));
    }
  }

  // ------------------------------------------------------------ document view

  async function openDocument(id, opener) {
    docOpener = opener || null;
    document.getElementById("doc-kind").innerHTML = "";
    document.getElementById("doc-title").textContent = "正在打开原文…";
    document.getElementById("doc-meta").textContent = "";
    docBody.innerHTML = "";
    if (!dialog.open) dialog.showModal();
    const url = new URL(location.href);
    if (url.searchParams.get("doc") !== id) {
      url.searchParams.set("doc", id);
      history.replaceState(null, "", url.pathname + url.search);
    }
    try {
      const d = await UB.getJson("/api/documents/" + encodeURIComponent(id));
      renderDocument(d, id);
    } catch (e) {
      document.getElementById("doc-title").textContent = "无法打开原文";
      docBody.innerHTML = "";
      docBody.appendChild(UB.alertElement("p", "error-box", e.message || "原文暂时无法打开。"));
    }
  }

  function renderDocument(d, id) {
    const isLaw = d.doc_type === "law";
    document.getElementById("doc-kind").innerHTML =
      '<span class="badge ' + UB.esc(d.doc_type) + '">' + UB.esc(UB.docTypeLabel(d.doc_type)) + "</span>";
    document.getElementById("doc-title").textContent = isLaw ? "《" + d.title + "》" : d.title;
    const meta = [d.org, d.region && !(d.org || "").includes(d.region) ? d.region : null, d.date].filter(Boolean);
    document.getElementById("doc-meta").textContent = meta.join(" · ");
    const passages = d.passages || [];
    let focus = d.focus;
    if (focus == null) {
      const at = passages.findIndex((p) => p.id === id);
      focus = at >= 0 ? at : null;
    }
    let heading = null;
    const parts = [];
    passages.forEach((p, i) => {
      const h = p.chapter || p.column || null;
      if (h && h !== heading) {
        parts.push("<h3>" + UB.esc(h) + "</h3>");
      }
      heading = h || heading;
      const isFocus = i === focus;
      parts.push(
        '<p class="doc-passage' + (isFocus ? " focus" : "") + '" id="p-' + i + '"' + (isFocus ? ' aria-current="true"' : "") + ">" +
          (isFocus ? '<span class="focus-label">引用段落</span>' : "") + UB.esc(p.text) + "</p>"
      );
    });
    docBody.innerHTML = parts.join("") || '<p class="muted">原文为空。</p>';
    const target = docBody.querySelector(".doc-passage.focus");
    if (target) target.scrollIntoView({ block: "center" });
    dialog.dataset.loaded = "true";
  }

  function closeDocument() {
    if (dialog.open) dialog.close();
  }

  dialog.addEventListener("close", () => {
    delete dialog.dataset.loaded;
    const url = new URL(location.href);
    if (url.searchParams.has("doc")) {
      url.searchParams.delete("doc");
      history.replaceState(null, "", url.pathname + url.search);
    }
    if (docOpener && document.contains(docOpener)) docOpener.focus();
    docOpener = null;
  });
  dialog.addEventListener("click", (e) => {
    if (e.target === dialog) closeDocument(); // backdrop
  });
  document.getElementById("doc-close").addEventListener("click", closeDocument);

  // ------------------------------------------------------------ events

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = qInput.value.trim();
    if (!q) {
      qInput.focus();
      return;
    }
    run({ q, region: null, doc_type: null, year: null }, true);
  });

  intro.addEventListener("click", (e) => {
    const ex = e.target.closest(".example");
    if (ex) run({ q: ex.dataset.q, region: null, doc_type: null, year: null }, true);
  });

  facetGroups.addEventListener("click", (e) => {
    const b = e.target.closest(".facet");
    if (!b) return;
    const next = Object.assign({}, state);
    next[b.dataset.facet] = state[b.dataset.facet] === b.dataset.value ? null : b.dataset.value;
    run(next, true);
  });

  activeBox.addEventListener("click", (e) => {
    const chip = e.target.closest(".chip");
    if (!chip) return;
    const next = Object.assign({}, state);
    next[chip.dataset.clear] = null;
    run(next, true);
  });

  resultsList.addEventListener("click", (e) => {
    const li = e.target.closest(".result");
    if (!li) return;
    const sim = e.target.closest(".sim-title");
    if (sim) {
      openDocument(sim.dataset.doc, sim);
      return;
    }
    const action = e.target.closest(".action");
    if (!action) {
      const text = e.target.closest(".result-text");
      if (text) text.classList.toggle("clamped");
      return;
    }
    if (action.dataset.action === "doc") openDocument(li.dataset.id, action);
    else if (action.dataset.action === "similar") toggleSimilar(li, action);
  });

  window.addEventListener("popstate", () => {
    const s = fromUrl();
    run(s, false);
  });

  const mq = window.matchMedia("(max-width: 760px)");
  function collapseOnPhone() {
    facetPanel.open = !mq.matches;
  }
  collapseOnPhone();
  mq.addEventListener("change", collapseOnPhone);

  const initial = fromUrl();
  run(initial, false).then(() => {
    document.body.dataset.ready = "true";
  });
  const doc = new URLSearchParams(location.search).get("doc");
  if (doc) openDocument(doc, null);
})();
