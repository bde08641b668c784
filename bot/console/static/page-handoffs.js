/* Hand-off requests (转人工): open requests, claim one, reply (the worker sees it in the chat), close. */
"use strict";

(async function () {
  const { esc, api, page, badge } = CB;
  const KIND = { open: "bad", claimed: "warn", answered: "ok", closed: "" };
  let status = "open";
  let selected = Number(new URLSearchParams(location.search).get("id")) || null;

  page.innerHTML =
    '<div class="toolbar"><label class="field">状态<select id="status">' +
    '<option value="open">待处理</option><option value="claimed">已认领</option><option value="answered">已回复</option><option value="closed">已结束</option><option value="">全部</option>' +
    '</select></label><span class="spacer"></span><button id="refresh" class="btn" type="button">刷新</button></div>' +
    '<div class="split"><section class="card" aria-labelledby="h-req"><h2 id="h-req">请求</h2><ul id="requests" class="request-list"></ul></section>' +
    '<section class="card" aria-live="polite" id="detail">' + CB.empty("在左侧选择一条请求") + "</section></div>";

  const select = document.getElementById("status");
  select.addEventListener("change", () => {
    status = select.value;
    loadList();
  });
  document.getElementById("refresh").addEventListener("click", () => loadList());

  async function loadList() {
    let rows = [];
    try {
      rows = await api("GET", "/console/api/handoffs" + (status ? "?status=" + status : ""));
    } catch (e) {
      CB.toast(e.message, true);
    }
    const ul = document.getElementById("requests");
    ul.innerHTML = rows.length
      ? rows
          .map(
            (h) =>
              '<li><button type="button" data-id="' + h.id + '" aria-pressed="' + String(h.id === selected) + '">' +
              '<span class="turn-head">' + badge(CB.HANDOFF_STATES[h.status], KIND[h.status]) + " " + esc(CB.fmtTime(h.created_at)) + " · " +
              esc(CB.CHANNELS[h.channel] || h.channel) + (h.claimed_by ? " · " + esc(h.claimed_by) : "") + "</span>" +
              '<span class="clip">' + esc(h.question) + "</span></button></li>"
          )
          .join("")
      : "<li>" + CB.empty("没有" + (status ? CB.HANDOFF_STATES[status] : "") + "的请求") + "</li>";
  }

  async function loadDetail(id) {
    selected = id;
    document.querySelectorAll("#requests button").forEach((b) => b.setAttribute("aria-pressed", String(Number(b.dataset.id) === id)));
    const box = document.getElementById("detail");
    let h;
    try {
      h = await api("GET", "/console/api/handoffs/" + id);
    } catch (e) {
      box.innerHTML = CB.empty(e.message);
      return;
    }
    const me = document.querySelector(".who-name").firstChild.textContent.trim();
    const draftBox = document.getElementById("reply-text");
    const draft = draftBox && Number(box.dataset.id) === id ? draftBox.value : "";
    const canClaim = h.status === "open";
    const canReply = h.status !== "closed" && (!h.claimed_by || h.claimed_by === me);
    box.innerHTML =
      '<h2>请求 #' + h.id + " " + badge(CB.HANDOFF_STATES[h.status], KIND[h.status]) + "</h2>" +
      '<p class="muted small">' + esc(CB.fmtTime(h.created_at)) + (h.claimed_by ? " · 认领人 " + esc(h.claimed_by) : "") + "</p>" +
      '<div class="bubble-line worker"><span class="who-line">职工的问题</span>' + esc(h.question) + "</div>" +
      "<p><strong>联系方式：</strong>" + (h.contact ? esc(h.contact) : '<span class="muted">未留联系方式（回复会显示在职工的聊天页面）</span>') + "</p>" +
      (h.conversation.length
        ? '<details><summary>此前与问答助手的对话（' + h.conversation.length + " 轮）</summary>" +
          h.conversation.map((t) => '<div class="bubble-line worker">' + esc(t.question) + '</div><div class="bubble-line"><span class="who-line">问答助手' + (t.refused ? "（拒答）" : "") + "</span>" + esc(t.answer) + "</div>").join("") +
          "</details>"
        : "") +
      h.replies.map((r) => '<div class="bubble-line officer"><span class="who-line">' + esc(r.author) + " · " + esc(CB.fmtTime(r.created_at)) + "</span>" + esc(r.text) + "</div>").join("") +
      '<div class="turn-actions">' +
      (canClaim ? '<div class="row"><button class="btn primary" type="button" data-act="claim">认领此请求</button></div>' : "") +
      (canReply
        ? '<label class="field" for="reply-text">回复职工（将显示在职工的聊天页面）</label><textarea id="reply-text" maxlength="4000" placeholder="请输入回复…"></textarea>' +
          '<div class="row"><button class="btn primary" type="button" data-act="reply">发送回复</button>' +
          (h.status !== "closed" ? '<button class="btn" type="button" data-act="close">结束请求</button>' : "") + "</div>"
        : h.status !== "closed" ? '<p class="muted small">该请求已由 ' + esc(h.claimed_by) + " 认领。</p>" : "") +
      "</div>";
    box.dataset.id = h.id;
    box.dataset.status = h.status;
    const reply = document.getElementById("reply-text");
    if (reply && draft) reply.value = draft; // a re-render (after claiming) keeps what was typed
  }

  document.getElementById("requests").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-id]");
    if (b) loadDetail(Number(b.dataset.id));
  });
  document.getElementById("detail").addEventListener("click", async (e) => {
    const b = e.target.closest("button[data-act]");
    if (!b) return;
    const id = Number(document.getElementById("detail").dataset.id);
    try {
      if (b.dataset.act === "claim") {
        await api("POST", "/console/api/handoffs/" + id + "/claim", {});
        CB.toast("已认领。");
      } else if (b.dataset.act === "reply") {
        const text = document.getElementById("reply-text").value.trim();
        if (!text) {
          CB.toast("请输入回复内容。", true);
          return;
        }
        await api("POST", "/console/api/handoffs/" + id + "/reply", { text });
        document.getElementById("reply-text").value = "";
        CB.toast("回复已发送，职工会在聊天页面看到。");
      } else if (b.dataset.act === "close") {
        await api("POST", "/console/api/handoffs/" + id + "/close", {});
        CB.toast("已结束。");
      }
    } catch (err) {
      CB.toast(err.message, true);
    }
    await loadDetail(id);
    await loadList();
  });

  await loadList();
  if (selected) await loadDetail(selected);
  setInterval(loadList, 20000);
  CB.ready();
})();
