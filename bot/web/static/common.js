/* Shared helpers of the three pages: API calls, escaping, highlighting, citations, SSE. No dependencies. */
"use strict";

(function (global) {
  const DOC_TYPES = { law: "法律法规", case: "工作案例", news: "新闻报道" };

  function esc(value) {
    return String(value == null ? "" : value)
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&#39;");
  }

  /** Error message from any of the API's error shapes (FastAPI detail, {error:{message}}, {message}). */
  function errorMessage(body, status) {
    if (body) {
      if (typeof body.message === "string") return body.message;
      if (typeof body.detail === "string") return body.detail;
      if (Array.isArray(body.detail) && body.detail.length) return body.detail.map((d) => d.msg || String(d)).join("；");
      if (body.error && typeof body.error === "object" && body.error.message) return body.error.message;
    }
    if (status === 429) return "请求太频繁，请稍后再试。";
    if (status === 503) return "服务正在启动，请稍后再试。";
    return "服务暂时不可用（" + status + "），请稍后再试。";
  }

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  async function request(path, options) {
    let resp;
    try {
      resp = await fetch(path, options);
    } catch (e) {
      throw new ApiError("网络连接失败，请检查网络后重试。", 0);
    }
    return resp;
  }

  async function readJson(resp) {
    const text = await resp.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch (e) {
      body = null;
    }
    if (!resp.ok) throw new ApiError(errorMessage(body, resp.status), resp.status);
    return body;
  }

  async function getJson(path) {
    return readJson(await request(path, { headers: { Accept: "application/json" } }));
  }

  async function postJson(path, payload, headers) {
    const resp = await request(path, {
      method: "POST",
      headers: Object.assign({ "Content-Type": "application/json", Accept: "application/json" }, headers || {}),
      body: JSON.stringify(payload),
    });
    return readJson(resp);
  }

  /**
   * Read a text/event-stream response, calling onEvent(name, data) for each event
   * (data parsed as JSON when it is JSON). Works with fetch (POST), unlike EventSource.
   */
  async function readSSE(resp, onEvent) {
    const reader = resp.body.getReader();
    const decoder = new TextDecoder("utf-8");
    let buffer = "";
    function dispatch(block) {
      let name = "message";
      const data = [];
      for (const raw of block.split("\n")) {
        const line = raw.replace(/\r$/, "");
        if (!line || line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
      }
      if (!data.length) return;
      const text = data.join("\n");
      let parsed = text;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        parsed = text;
      }
      onEvent(name, parsed);
    }
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        dispatch(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
      }
    }
    buffer += decoder.decode();
    if (buffer.trim()) dispatch(buffer);
  }

  /** A citation in one flat shape, whatever the API nests: {n, id, doc_id, title, article, org, region, date, text, doc_type, label}. */
  function normCitation(c, i) {
    const p = c.passage && typeof c.passage === "object" ? Object.assign({}, c.passage, c) : Object.assign({}, c);
    delete p.passage;
    p.n = p.n || p.number || i + 1;
    p.id = p.id || p.passage_id || "";
    p.doc_id = p.doc_id || (p.id ? String(p.id).split(":")[0] : "");
    return p;
  }

  /** "《劳动合同法》第八十二条" for a statute, the headline otherwise. */
  function citationTitle(c) {
    if (c.doc_type === "law") return "《" + (c.title || "") + "》" + (c.article || "");
    return c.title || c.label || "";
  }

  /** The line under the title: article or organisation, region and date. */
  function citationMeta(c) {
    const parts = [];
    if (c.doc_type !== "law") {
      if (c.org) parts.push(c.org);
      if (c.region && !(c.org || "").includes(c.region)) parts.push(c.region);
    } else if (c.chapter) {
      parts.push(c.chapter);
    }
    if (c.date) parts.push(c.date);
    return parts.join(" · ");
  }

  function docTypeLabel(t) {
    return DOC_TYPES[t] || t || "";
  }

  /**
   * Escaped text with <mark> around highlights. Accepts highlight terms (strings), [start, end] pairs,
   * {start, end} objects, or strings that already carry <em>/<mark> tags around matches.
   */
  function highlight(text, highlights) {
    text = String(text || "");
    const ranges = [];
    const terms = [];
    for (const h of highlights || []) {
      if (typeof h === "string") {
        const tagged = h.match(/<(?:em|mark|b)>(.*?)<\/(?:em|mark|b)>/g);
        if (tagged) tagged.forEach((t) => terms.push(t.replace(/<\/?(?:em|mark|b)>/g, "")));
        else terms.push(h);
      } else if (Array.isArray(h) && h.length === 2) {
        ranges.push([Number(h[0]), Number(h[1])]);
      } else if (h && typeof h === "object") {
        if (h.start != null && h.end != null) ranges.push([Number(h.start), Number(h.end)]);
        else if (h.text || h.term) terms.push(h.text || h.term);
      }
    }
    for (const term of terms) {
      const t = String(term).trim();
      if (!t) continue;
      let from = 0;
      let at;
      while ((at = text.indexOf(t, from)) >= 0) {
        ranges.push([at, at + t.length]);
        from = at + t.length;
      }
    }
    ranges.sort((a, b) => a[0] - b[0]);
    let out = "";
    let pos = 0;
    for (const [s0, e0] of ranges) {
      const s = Math.max(s0, pos);
      const e = Math.min(e0, text.length);
      if (e <= s) continue;
      out += esc(text.slice(pos, s)) + "<mark>" + esc(text.slice(s, e)) + "</mark>";
      pos = e;
    }
    return out + esc(text.slice(pos));
  }

  function uid() {
    if (global.crypto && global.crypto.randomUUID) return global.crypto.randomUUID();
    return "m" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
  }

  function storageGet(key) {
    try {
      const raw = global.localStorage.getItem(key);
      return raw ? JSON.parse(raw) : null;
    } catch (e) {
      return null;
    }
  }

  function storageSet(key, value) {
    try {
      if (value == null) global.localStorage.removeItem(key);
      else global.localStorage.setItem(key, JSON.stringify(value));
    } catch (e) {
      /* private mode or full: the conversation just will not survive a reload */
    }
  }

  /** An element announced to screen readers (role="alert") holding a plain-text message. */
  function alertElement(tag, className, message) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    el.setAttribute("role", "alert");
    el.textContent = message;
    return el;
  }

  function documentLink(id) {
    return "/search?doc=" + encodeURIComponent(id);
  }

  global.UB = {
    esc,
    ApiError,
    getJson,
    postJson,
    request,
    readJson,
    readSSE,
    normCitation,
    citationTitle,
    citationMeta,
    docTypeLabel,
    highlight,
    uid,
    storageGet,
    storageSet,
    documentLink,
    alertElement,
    DOC_TYPES,
  };
})(window);
