/* Console helpers shared by every page: API calls with the CSRF token, dates, toasts, SVG charts.
   Escaping, ApiError and the document kinds come from /assets/common.js (UB), loaded before this file. */
"use strict";

(function (global) {
  const { esc, ApiError } = global.UB;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const CHANNELS = { chat: "聊天页", kiosk: "驿站终端", wechat: "微信", cli: "命令行" };
  const CHANNEL_COLORS = { chat: "#1f6feb", kiosk: "#e8891c", wechat: "#07a35a", cli: "#8a63d2" };
  const KINDS = global.UB.DOC_TYPES;
  const REASONS = { out_of_domain: "超出范围", no_evidence: "无依据", no_detail: "无具体信息", invalid: "无效问题" };
  const HANDOFF_STATES = { open: "待处理", claimed: "已认领", answered: "已回复", closed: "已结束" };

  /** JSON API call; state-changing requests carry the session's CSRF token. */
  async function api(method, path, body, options) {
    const headers = { Accept: "application/json" };
    const init = { method, headers, credentials: "same-origin" };
    if (method !== "GET") headers["X-CSRF-Token"] = csrf;
    if (body instanceof Blob || body instanceof ArrayBuffer) {
      headers["Content-Type"] = "application/octet-stream";
      init.body = body;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, Object.assign(init, options || {}));
    } catch (e) {
      throw new ApiError("网络连接失败，请重试。", 0);
    }
    if (resp.status === 401) {
      location.assign("/console/login?next=" + encodeURIComponent(location.pathname + location.search));
      throw new ApiError("请重新登录。", 401);
    }
    const text = await resp.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      data = null;
    }
    if (!resp.ok) {
      let message = "操作失败（" + resp.status + "）";
      if (data && typeof data.message === "string") message = data.message;
      else if (data && typeof data.detail === "string") message = data.detail;
      throw new ApiError(message, resp.status);
    }
    return data;
  }

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function fmtTime(ts) {
    if (!ts) return "";
    const d = typeof ts === "number" ? new Date(ts * 1000) : new Date(ts);
    if (isNaN(d)) return String(ts);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function fmtDay(date) {
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate());
  }

  let toastTimer = null;
  function toast(message, isError) {
    const box = document.getElementById("toast");
    box.textContent = message;
    box.classList.toggle("error", Boolean(isError));
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (box.hidden = true), isError ? 6000 : 3500);
  }

  function badge(text, kind) {
    return '<span class="badge ' + (kind || "") + '">' + esc(text) + "</span>";
  }

  function empty(text) {
    return '<p class="empty">' + esc(text) + "</p>";
  }

  /** Stacked daily bars: days = ["2026-12-01", ...], series = {key: {day: n}}, colors = {key: css}. */
  function stackedBars(days, series, colors, labels, width) {
    // Drawn at the container's pixel width, so labels keep their size on laptops and tablets.
    const W = Math.max(320, Math.round(width || 720)), H = 240, left = 34, bottom = 26, top = 10, right = 8;
    const keys = Object.keys(series);
    const totals = days.map((d) => keys.reduce((s, k) => s + ((series[k] || {})[d] || 0), 0));
    const max = Math.max(1, ...totals);
    const step = niceStep(max);
    const yMax = Math.ceil(max / step) * step;
    const innerW = W - left - right, innerH = H - top - bottom;
    const bw = innerW / days.length;
    let svg = '<svg class="chart" viewBox="0 0 ' + W + " " + H + '" width="' + W + '" height="' + H + '" role="img" aria-label="每日问题数">';
    for (let v = 0; v <= yMax; v += step) {
      const y = top + innerH - (v / yMax) * innerH;
      svg += '<line x1="' + left + '" x2="' + (W - right) + '" y1="' + y + '" y2="' + y + '" stroke="#edf0f3"/>';
      svg += '<text x="' + (left - 6) + '" y="' + (y + 4) + '" text-anchor="end">' + v + "</text>";
    }
    days.forEach((d, i) => {
      let y = top + innerH;
      const x = left + i * bw + bw * 0.15;
      for (const k of keys) {
        const n = (series[k] || {})[d] || 0;
        if (!n) continue;
        const h = (n / yMax) * innerH;
        y -= h;
        svg += '<rect x="' + x.toFixed(1) + '" y="' + y.toFixed(1) + '" width="' + (bw * 0.7).toFixed(1) + '" height="' + h.toFixed(1) +
          '" fill="' + (colors[k] || "#999") + '"><title>' + esc(d + " " + ((labels && labels[k]) || k) + "：" + n) + "</title></rect>";
      }
      const every = Math.ceil(days.length / Math.max(2, Math.floor(innerW / 56)));
      if (i % every === 0 || i === days.length - 1) {
        svg += '<text x="' + (left + i * bw + bw / 2).toFixed(1) + '" y="' + (H - 8) + '" text-anchor="middle">' + esc(d.slice(5)) + "</text>";
      }
    });
    return svg + "</svg>";
  }

  function niceStep(max) {
    const raw = max / 4;
    const mag = Math.pow(10, Math.floor(Math.log10(raw || 1)));
    for (const m of [1, 2, 5, 10]) if (m * mag >= raw) return Math.max(1, m * mag);
    return Math.max(1, 10 * mag);
  }

  /** A donut of shares: parts = [[label, n, color], ...]. */
  function donut(parts, centre) {
    const total = parts.reduce((s, p) => s + p[1], 0);
    const R = 52, r = 32, C = 60;
    let svg = '<svg class="chart donut" viewBox="0 0 120 120" width="120" height="120" role="img" aria-label="' + esc(centre) + '">';
    if (!total) {
      svg += '<circle cx="60" cy="60" r="' + (R + r) / 2 + '" fill="none" stroke="#e6e9ed" stroke-width="' + (R - r) + '"/>';
    } else {
      let a = -Math.PI / 2;
      for (const [label, n, color] of parts) {
        if (!n) continue;
        const b = a + (n / total) * Math.PI * 2;
        if (n === total) {
          svg += '<circle cx="60" cy="60" r="' + (R + r) / 2 + '" fill="none" stroke="' + color + '" stroke-width="' + (R - r) + '"><title>' + esc(label + "：" + n) + "</title></circle>";
        } else {
          const large = b - a > Math.PI ? 1 : 0;
          const p = (ang, rad) => (C + rad * Math.cos(ang)).toFixed(2) + " " + (C + rad * Math.sin(ang)).toFixed(2);
          svg += '<path d="M ' + p(a, R) + " A " + R + " " + R + " 0 " + large + " 1 " + p(b, R) + " L " + p(b, r) + " A " + r + " " + r + " 0 " + large + " 0 " + p(a, r) +
            ' Z" fill="' + color + '"><title>' + esc(label + "：" + n) + "</title></path>";
        }
        a = b;
      }
    }
    svg += '<text class="donut-centre" x="60" y="66" text-anchor="middle">' + esc(centre) + "</text>";
    return svg + "</svg>";
  }

  /** Horizontal bars as HTML rows: rows = [[label, n], ...]. */
  function hbars(rows, color) {
    if (!rows.length) return empty("暂无数据");
    const max = Math.max(1, ...rows.map((r) => r[1]));
    return rows
      .map(
        ([label, n]) =>
          '<div class="hbar-row"><span class="name" title="' + esc(label) + '">' + esc(label) + "</span>" +
          '<svg class="chart" viewBox="0 0 100 10" preserveAspectRatio="none" height="14" aria-hidden="true">' +
          '<rect x="0" y="1" width="100" height="8" rx="2" fill="#eef0f3"/>' +
          '<rect x="0" y="1" width="' + ((n / max) * 100).toFixed(1) + '" height="8" rx="2" fill="' + (color || "#c8161d") + '"/></svg>' +
          '<span class="num">' + n + "</span></div>"
      )
      .join("");
  }

  /** A legend swatch (an SVG square: style attributes are blocked by the page's CSP). */
  function swatch(color) {
    return '<svg class="swatch" viewBox="0 0 10 10" width="10" height="10" aria-hidden="true"><rect width="10" height="10" rx="2" fill="' + esc(color) + '"/></svg>';
  }

  function ready() {
    document.body.dataset.ready = "true";
  }

  const signOut = document.getElementById("sign-out");
  if (signOut) {
    signOut.addEventListener("click", async () => {
      try {
        await api("POST", "/console/api/sign-out", {});
      } finally {
        location.assign("/console/login");
      }
    });
  }

  global.CB = {
    api, esc, ApiError, fmtTime, fmtDay, toast, badge, empty, stackedBars, donut, hbars, swatch, ready,
    CHANNELS, CHANNEL_COLORS, KINDS, REASONS, HANDOFF_STATES,
    page: document.getElementById("page"),
    isAdmin: document.body.dataset.role === "admin",
  };
})(window);
