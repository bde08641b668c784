/* Review: every channel's questions and answers with filters, the queue of thumbs-down and refused questions,
   marking one handled with a note, attaching the worker's wording to a passage, CSV export. */
"use strict";

(async function () {
  const { esc, api, page, badge } = CB;
  const PAGE_SIZE = 20;
  const params = new URLSearchParams(location.search);
  let view = params.get("view") === "all" ? "all" : "queue";
  let offset = 0;
  let items = [];

  page.innerHTML =
    '<div class="toolbar" role="tablist" aria-label="视图">' +
    '<button class="btn" role="tab" data-view="queue">待处理队列</button><button class="btn" role="tab" data-view="all">全部问答</button></div>' +
    '<form id="filters" class="card toolbar">' +
    '<label class="field">起始日期<input name="since" type="date"></label>' +
    '<label class="field">截止日期<input name="until" type="date"></label>' +
    '<label class="field">渠道<select name="channel"><option value="">全部</option>' +
    Object.entries(CB.CHANNELS).map(([k, v]) => '<option value="' + k + '">' + v + "</option>").join("") + "</select></label>" +
    '<label class="field">评价<select name="rating"><option value="">全部</option><option value="down">没帮助</option><option value="up">有帮助</option><option value="none">未评价</option></select></label>' +
    '<label class="field">结果<select name="outcome"><option value="">全部</option><option value="refused">拒答</option><option value="answered">已回答</option></select></label>' +
    '<label class="field">关键词<input name="q" type="search" maxlength="100" placeholder="问题或回答中的词"></label>' +
    '<button class="btn primary" type="submit">筛选</button><span class="spacer"></span>' +
    '<a id="export" class="btn" href="/console/api/turns.csv" download>导出 CSV</a></form>' +
    '<section class="card"><p id="summary" class="muted small" aria-live="polite"></p><div id="turns"></div>' +
    '<div class="pager"><button id="prev" class="btn small" type="button">上一页</button><span id="pageno" class="muted small"></span><button id="next" class="btn small" type="button">下一页</button></div></section>';

  const form = document.getElementById("filters");
  const list = document.getElementById("turns");

  function query() {
    const q = new URLSearchParams();
    for (const key of ["since", "until", "channel", "rating", "outcome", "q"]) {
      const v = form.elements[key].value.trim();
      if (v) q.set(key, v);
    }
    if (view === "queue") q.set("queue", "true");
    return q;
  }

  async function load() {
    document.querySelectorAll("[data-view]").forEach((b) => {
      b.setAttribute("aria-selected", String(b.dataset.view === view));
      b.classList.toggle("primary", b.dataset.view === view);
    });
    const q = query();
    document.getElementById("export").href = "/console/api/turns.csv?" + q.toString();
    q.set("limit", PAGE_SIZE);
    q.set("offset", offset);
    let data;
    try {
      data = await api("GET", "/console/api/turns?" + q.toString());
    } catch (e) {
      list.innerHTML = CB.empty(e.message);
      return;
    }
    items = data.items;
    document.getElementById("summary").textContent =
      (view === "queue" ? "待处理（差评或拒答、尚未处理）：" : "符合条件的问答：") + data.total + " 条";
    list.innerHTML = items.length ? items.map(turn).join("") : CB.empty(view === "queue" ? "队列已清空，没有待处理的问题。" : "没有符合条件的问答。");
    document.getElementById("prev").disabled = offset === 0;
    document.getElementById("next").disabled = offset + PAGE_SIZE >= data.total;
    document.getElementById("pageno").textContent = data.total ? "第 " + (offset / PAGE_SIZE + 1) + " / " + Math.ceil(data.total / PAGE_SIZE) + " 页" : "";
  }

  function turn(t) {
    const head = [esc(CB.fmtTime(t.created_at)), badge(CB.CHANNELS[t.channel] || t.channel, "info")];
    if (t.station) head.push(esc(t.station));
    if (t.refused) head.push(badge("拒答" + (CB.REASONS[t.reason] ? "：" + CB.REASONS[t.reason] : ""), "bad"));
    if (t.rating === "down") head.push(badge("没帮助", "warn"));
    if (t.rating === "up") head.push(badge("有帮助", "ok"));
    if (t.review && t.review.status === "handled") head.push(badge("已处理 · " + t.review.account, "ok"));
    const cites = (t.citations || []).map((c) => "[" + c.n + "] " + esc(c.label || c.passage_id)).join("　");
    const note = t.review ? t.review.note : "";
    return (
      '<article class="turn" data-id="' + esc(t.message_id) + '"><div class="turn-head">' + head.join(" ") + "</div>" +
      '<p class="turn-q">' + esc(t.question) + "</p>" +
      '<p class="turn-a clip">' + esc(t.answer) + "</p>" +
      (cites ? '<p class="turn-cites">引用：' + cites + "</p>" : "") +
      (t.comment ? '<p class="turn-cites">用户留言：' + esc(t.comment) + "</p>" : "") +
      '<div class="turn-actions"><div class="row">' +
      '<label class="visually-hidden" for="note-' + esc(t.message_id) + '">处理备注</label>' +
      '<input id="note-' + esc(t.message_id) + '" class="note" type="text" maxlength="2000" placeholder="处理备注（选填）" value="' + esc(note) + '">' +
      (t.review && t.review.status === "handled"
        ? '<button class="btn small" type="button" data-act="reopen">重新打开</button>'
        : '<button class="btn small primary" type="button" data-act="handle">标记已处理</button>') +
      '<button class="btn small" type="button" data-act="lay">添加口语问题</button></div>' +
      '<div class="lay" hidden></div></div></article>'
    );
  }

  async function openLay(article, t) {
    const box = article.querySelector(".lay");
    if (!box.hidden) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    box.innerHTML = '<p class="muted small">正在查找相关段落…</p>';
    let found = [];
    try {
      found = await api("GET", "/console/api/passages?q=" + encodeURIComponent(t.question.slice(0, 300)));
    } catch (e) {
      found = [];
    }
    const seen = new Set();
    const options = [];
    for (const c of t.citations || []) {
      if (c.passage_id && !seen.has(c.passage_id)) {
        seen.add(c.passage_id);
        options.push({ id: c.passage_id, label: c.label || c.passage_id, text: "（本次回答引用的段落）" });
      }
    }
    for (const p of found) {
      if (!seen.has(p.id)) {
        seen.add(p.id);
        options.push({ id: p.id, label: p.label, text: p.text });
      }
    }
    const name = "pick-" + t.message_id;
    box.innerHTML =
      '<p class="small">把职工的说法挂到应当回答它的段落上（写入该文档的 <code>.questions.tsv</code>，下次重建索引后生效）：</p>' +
      '<label class="field">口语问题<input class="lay-q" type="text" maxlength="300" value="' + esc(t.question) + '"></label>' +
      '<fieldset class="pick-list"><legend class="small muted">选择段落</legend>' +
      (options.length
        ? options
            .map(
              (o, i) =>
                '<label><input type="radio" name="' + esc(name) + '" value="' + esc(o.id) + '"' + (i === 0 ? " checked" : "") + "><span><strong>" +
                esc(o.label) + '</strong><br><span class="muted small clip">' + esc(o.text) + "</span></span></label>"
            )
            .join("")
        : CB.empty("没有找到段落")) +
      '</fieldset><div class="row"><button class="btn small primary" type="button" data-act="attach">挂接口语问题</button></div>';
  }

  document.querySelectorAll("[data-view]").forEach((b) =>
    b.addEventListener("click", () => {
      view = b.dataset.view;
      offset = 0;
      load();
    })
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    offset = 0;
    load();
  });
  document.getElementById("prev").addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE_SIZE);
    load();
  });
  document.getElementById("next").addEventListener("click", () => {
    offset += PAGE_SIZE;
    load();
  });
  list.addEventListener("click", async (e) => {
    const button = e.target.closest("button[data-act]");
    if (!button) return;
    const article = button.closest(".turn");
    const t = items.find((x) => x.message_id === article.dataset.id);
    if (!t) return;
    const act = button.dataset.act;
    try {
      if (act === "handle" || act === "reopen") {
        const note = article.querySelector(".note").value.trim();
        await api("POST", "/console/api/turns/" + encodeURIComponent(t.message_id) + "/review", { status: act === "handle" ? "handled" : "open", note });
        CB.toast(act === "handle" ? "已标记为已处理。" : "已重新打开。");
        await load();
      } else if (act === "lay") {
        await openLay(article, t);
      } else if (act === "attach") {
        const picked = article.querySelector(".lay input[type=radio]:checked");
        const question = article.querySelector(".lay-q").value.trim();
        if (!picked || !question) {
          CB.toast("请填写问题并选择段落。", true);
          return;
        }
        const r = await api("POST", "/console/api/turns/" + encodeURIComponent(t.message_id) + "/lay-question", { passage_id: picked.value, question });
        article.querySelector(".lay").innerHTML = '<p class="small" role="status">已写入 <code>' + esc(r.sidecar) + "</code>（" + esc(r.label) + "），重建索引后生效。</p>";
        CB.toast("口语问题已保存，重建索引后生效。");
      }
    } catch (err) {
      CB.toast(err.message, true);
    }
  });

  await load();
  CB.ready();
})();
