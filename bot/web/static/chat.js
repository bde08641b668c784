/* Worker chat: WeChat-like bubbles, streamed answers with numbered sources, feedback, a transcript kept in localStorage. */
"use strict";

(function () {
  const STORE_KEY = "unionbot.chat.v1";
  const MAX_STORED = 60; // messages kept across reloads
  const TIME_GAP_MS = 5 * 60 * 1000;
  const STARTERS = [
    "公司拖欠工资怎么办？",
    "试用期最长可以约定多久？",
    "上下班路上受伤算工伤吗？",
    "带薪年休假有几天？",
    "怎样加入工会？",
  ];

  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("composer-input");
  const sendButton = document.getElementById("send");
  const newChat = document.getElementById("new-chat");

  let state = load();
  let busy = false;

  function load() {
    const saved = UB.storageGet(STORE_KEY);
    if (saved && Array.isArray(saved.messages)) return saved;
    return { session_id: null, messages: [] };
  }

  function save() {
    const messages = state.messages.filter((m) => !m.pending).slice(-MAX_STORED);
    UB.storageSet(STORE_KEY, { session_id: state.session_id, messages });
  }

  // ------------------------------------------------------------------ rendering

  function el(tag, cls, html) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (html != null) node.innerHTML = html;
    return node;
  }

  function formatTime(ts) {
    const d = new Date(ts);
    const now = new Date();
    const hm = String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
    if (d.toDateString() === now.toDateString()) return hm;
    return d.getMonth() + 1 + "月" + d.getDate() + "日 " + hm;
  }

  /** Answer text as HTML: paragraphs, and [n] / [1,2] markers as buttons that open source n. */
  function answerHtml(msg) {
    const known = new Set((msg.citations || []).map((c) => Number(c.n)));
    const paragraphs = String(msg.text || "").split(/\n+/).filter((p) => p.trim());
    return paragraphs
      .map((p) => {
        const html = UB.esc(p).replace(/\[(\d+(?:\s*[,，、]\s*\d+)*)\]/g, (all, nums) => {
          const ns = nums.split(/\s*[,，、]\s*/).map(Number);
          if (!ns.every((n) => known.has(n))) return all;
          return ns
            .map(
              (n) =>
                '<button type="button" class="cite" data-n="' + n + '" aria-expanded="false" ' +
                'aria-controls="' + sourceId(msg, n) + '" aria-label="查看来源 ' + n + '">' + n + "</button>"
            )
            .join("");
        });
        return "<p>" + html + "</p>";
      })
      .join("");
  }

  function sourceId(msg, n) {
    return "src-" + msg.id + "-" + n;
  }

  function sourcesBlock(msg) {
    const cites = msg.citations || [];
    if (!cites.length) return null;
    const wrap = el("div", "sources-wrap");
    wrap.appendChild(el("p", "sources-title", "参考来源（点击展开）"));
    const list = el("ol", "sources");
    list.setAttribute("aria-label", "参考来源");
    for (const c of cites) {
      const item = el("li", "source-item");
      const cardId = sourceId(msg, c.n);
      const toggle = el(
        "button",
        "source-toggle",
        '<span class="num">[' + UB.esc(c.n) + ']</span><span class="label">' + UB.esc(UB.citationTitle(c)) +
          '</span><span class="chev" aria-hidden="true"></span>'
      );
      toggle.type = "button";
      toggle.dataset.n = c.n;
      toggle.setAttribute("aria-expanded", "false");
      toggle.setAttribute("aria-controls", cardId);
      const meta = UB.citationMeta(c);
      const card = el(
        "div",
        "source-card",
        "<h3>" + UB.esc(UB.citationTitle(c)) + "</h3>" +
          (meta ? '<p class="source-meta">' + UB.esc(meta) + "</p>" : "") +
          '<p class="source-text">' + UB.esc(c.text || "") + "</p>" +
          (c.id ? '<a class="source-link" href="' + UB.esc(UB.documentLink(c.id)) + '">阅读原文上下文 ›</a>' : "")
      );
      card.id = cardId;
      card.hidden = true;
      card.setAttribute("role", "region");
      card.setAttribute("aria-label", "来源 " + c.n);
      item.appendChild(toggle);
      item.appendChild(card);
      list.appendChild(item);
    }
    wrap.appendChild(list);
    return wrap;
  }

  function feedbackBlock(msg) {
    const box = el("div", "feedback");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "这条回答有帮助吗？");
    box.appendChild(el("span", "fb-label", "有帮助吗？"));
    for (const [rating, label, icon] of [
      ["up", "有帮助", "thumb-up.svg"],
      ["down", "没帮助", "thumb-down.svg"],
    ]) {
      const b = el("button", "fb-button", '<img src="/assets/' + icon + '" alt="">' + label);
      b.type = "button";
      b.dataset.rating = rating;
      b.setAttribute("aria-pressed", msg.rating === rating ? "true" : "false");
      if (msg.rating) b.disabled = true;
      box.appendChild(b);
    }
    if (msg.rating) box.appendChild(el("span", "fb-thanks", "感谢反馈"));
    return box;
  }

  function renderMessage(msg) {
    const row = el("div", "msg " + (msg.role === "user" ? "me" : "bot"));
    row.dataset.id = msg.id;
    if (msg.refused) row.classList.add("refused");
    if (msg.error) row.classList.add("error");
    if (msg.officer) row.classList.add("officer");
    const avatar = el("img", "avatar");
    avatar.src = msg.role === "user" ? "/assets/avatar-user.svg" : "/assets/avatar-bot.svg";
    avatar.alt = msg.role === "user" ? "我" : msg.officer ? "工会干部" : "工会问答助手";
    row.appendChild(avatar);
    const body = el("div", "msg-body");
    if (msg.officer) body.appendChild(el("p", "officer-name", "工会干部 " + UB.esc(msg.officer) + " 回复："));
    const bubble = el("div", "bubble");
    if (msg.role === "user" || msg.officer) {
      bubble.textContent = msg.text;
    } else if (msg.pending && !msg.text) {
      bubble.innerHTML = '<span class="typing" role="status" aria-label="正在思考"><i></i><i></i><i></i></span>';
    } else {
      bubble.innerHTML = answerHtml(msg);
      if (msg.pending) bubble.classList.add("cursor");
    }
    body.appendChild(bubble);
    if (msg.role === "bot" && !msg.pending) {
      if (msg.refused) {
        body.appendChild(
          el(
            "div",
            "refused-note",
            "<strong>暂时无法回答</strong>可以换个说法再问，或拨打 12351 职工服务热线咨询。"
          )
        ).setAttribute("role", "note");
      }
      if (msg.next_steps) {
        const steps = el("div", "next-steps");
        steps.setAttribute("role", "note");
        steps.textContent = msg.next_steps;
        body.appendChild(steps);
      }
      const sources = sourcesBlock(msg);
      if (sources) body.appendChild(sources);
      if (!msg.error && !msg.welcome && !msg.officer) body.appendChild(feedbackBlock(msg));
      if (msg.offer_handoff && !msg.error) body.appendChild(handoffBlock(msg));
    }
    if (msg.welcome) {
      const starters = el("div", "starters");
      starters.setAttribute("role", "group");
      starters.setAttribute("aria-label", "常见问题");
      for (const q of STARTERS) {
        const b = el("button", "starter");
        b.type = "button";
        b.textContent = q;
        b.dataset.question = q;
        starters.appendChild(b);
      }
      body.appendChild(starters);
      body.appendChild(el("p", "disclaimer", "回答仅供参考，不构成法律意见。遇到紧急情况请拨打 12351 职工服务热线。"));
    }
    row.appendChild(body);
    return row;
  }

  function welcomeMessage() {
    return {
      id: "welcome",
      role: "bot",
      welcome: true,
      text: "您好！我是工会问答助手，可以解答工资、劳动合同、工伤、休假、入会等问题，每条回答都会注明法律条文或案例出处。您可以直接提问，或点下面的常见问题：",
    };
  }

  function renderAll() {
    log.querySelectorAll(".msg, .time-sep").forEach((n) => n.remove());
    let last = 0;
    for (const msg of [welcomeMessage()].concat(state.messages)) {
      if (msg.ts && msg.ts - last > TIME_GAP_MS) log.appendChild(el("div", "time-sep", UB.esc(formatTime(msg.ts))));
      if (msg.ts) last = msg.ts;
      log.appendChild(renderMessage(msg));
    }
    scrollToBottom();
  }

  function rerender(msg) {
    const old = log.querySelector('.msg[data-id="' + CSS.escape(msg.id) + '"]');
    const fresh = renderMessage(msg);
    if (old) old.replaceWith(fresh);
    else log.appendChild(fresh);
    return fresh;
  }

  function append(msg) {
    const last = state.messages.length > 1 ? state.messages[state.messages.length - 2].ts || 0 : 0;
    if (msg.ts && msg.ts - last > TIME_GAP_MS) log.appendChild(el("div", "time-sep", UB.esc(formatTime(msg.ts))));
    log.appendChild(renderMessage(msg));
    scrollToBottom();
  }

  function scrollToBottom() {
    log.scrollTop = log.scrollHeight;
  }

  // ------------------------------------------------------------------ asking

  function applyAnswer(msg, data) {
    msg.text = data.answer != null ? data.answer : data.text != null ? data.text : msg.text;
    msg.citations = (data.citations || []).map(UB.normCitation);
    msg.refused = Boolean(data.refused);
    msg.next_steps = data.next_steps || null;
    msg.offer_handoff = Boolean(data.offer_handoff);
    msg.message_id = data.message_id || data.id || msg.message_id || null;
    if (data.session_id) state.session_id = data.session_id;
  }

  function isFinal(name, data) {
    if (["final", "done", "end", "answer", "complete", "result"].includes(name)) return true;
    return data && typeof data === "object" && ("citations" in data || "refused" in data);
  }

  function deltaOf(data) {
    if (typeof data === "string") return data;
    if (!data || typeof data !== "object") return "";
    for (const key of ["delta", "token", "text", "content", "chunk", "sentence"]) {
      if (typeof data[key] === "string") return data[key];
    }
    return "";
  }

  async function ask(question) {
    question = question.trim();
    if (!question || busy) return;
    busy = true;
    sendButton.disabled = true;
    const user = { id: UB.uid(), role: "user", text: question, ts: Date.now() };
    state.messages.push(user);
    append(user);
    save();
    const bot = { id: UB.uid(), role: "bot", text: "", pending: true, ts: Date.now() };
    state.messages.push(bot);
    append(bot);
    let node = log.lastElementChild;
    let lastPaint = 0;
    try {
      const payload = { message: question, stream: true };
      if (state.session_id) payload.session_id = state.session_id;
      const resp = await UB.request("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream, application/json" },
        body: JSON.stringify(payload),
      });
      const type = resp.headers.get("content-type") || "";
      if (resp.ok && type.includes("text/event-stream")) {
        let finished = false;
        await UB.readSSE(resp, (name, data) => {
          if (name === "error") {
            const message = (data && (data.message || data.detail)) || (typeof data === "string" ? data : "");
            throw new UB.ApiError(message || "回答时出错了，请稍后再试。", 500);
          }
          if (isFinal(name, data) && data && typeof data === "object") {
            applyAnswer(bot, data);
            finished = true;
            return;
          }
          if (data && typeof data === "object" && data.session_id && !state.session_id) state.session_id = data.session_id;
          const delta = deltaOf(data);
          if (delta) {
            bot.text += delta;
            const now = performance.now();
            if (now - lastPaint > 40) {
              node = rerender(bot);
              scrollToBottom();
              lastPaint = now;
            }
          }
        });
        if (!finished && !bot.text) throw new UB.ApiError("回答中断了，请重试。", 0);
      } else {
        applyAnswer(bot, await UB.readJson(resp));
      }
    } catch (e) {
      bot.error = true;
      bot.text = e instanceof UB.ApiError ? e.message : "出错了，请稍后再试。";
      bot.citations = [];
    } finally {
      bot.pending = false;
      node = rerender(bot);
      scrollToBottom();
      save();
      busy = false;
      sendButton.disabled = false;
    }
  }

  async function sendFeedback(msg, rating, box) {
    msg.rating = rating;
    box.querySelectorAll(".fb-button").forEach((b) => {
      b.setAttribute("aria-pressed", b.dataset.rating === rating ? "true" : "false");
      b.disabled = true;
    });
    save();
    try {
      await UB.postJson("/api/feedback", {
        session_id: state.session_id,
        message_id: msg.message_id || msg.id,
        rating,
        comment: "",
      });
      box.appendChild(el("span", "fb-thanks", "感谢反馈"));
    } catch (e) {
      msg.rating = null;
      save();
      box.querySelectorAll(".fb-button").forEach((b) => {
        b.setAttribute("aria-pressed", "false");
        b.disabled = false;
      });
      const err = el("span", "fb-thanks", "反馈未送达，请重试");
      box.appendChild(err);
      setTimeout(() => err.remove(), 3000);
    }
  }

  function toggleSource(row, n, forceOpen) {
    const msg = state.messages.find((m) => m.id === row.dataset.id);
    if (!msg) return;
    const card = document.getElementById(sourceId(msg, n));
    if (!card) return;
    const open = forceOpen || card.hidden;
    card.hidden = !open;
    row.querySelectorAll('[data-n="' + n + '"]').forEach((b) => b.setAttribute("aria-expanded", String(open)));
    if (open) {
      card.classList.remove("flash");
      void card.offsetWidth;
      card.classList.add("flash");
      card.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  }

  // ------------------------------------------------------------------ hand-off (转人工)

  function handoffBlock(msg) {
    const box = el("div", "handoff");
    if (msg.handoff_id) {
      box.appendChild(el("p", "handoff-sent", "已转给工会干部，回复会显示在这里。"));
      box.setAttribute("role", "status");
      return box;
    }
    const b = el("button", "handoff-button", "找工会干部（转人工）");
    b.type = "button";
    box.appendChild(el("span", "handoff-hint", msg.refused ? "需要人工帮忙吗？" : "事关切身权益，可以请工会干部帮您看看："));
    box.appendChild(b);
    return box;
  }

  function openHandoffForm(row, msg) {
    const box = row.querySelector(".handoff");
    if (!box || box.querySelector("form")) return;
    const index = state.messages.indexOf(msg);
    const asked = state.messages.slice(0, index).reverse().find((m) => m.role === "user");
    const form = el(
      "form",
      "handoff-form",
      '<label>您的问题<textarea name="question" rows="3" maxlength="1000" required></textarea></label>' +
        '<label>联系方式（选填，电话或微信号）<input name="contact" maxlength="128" autocomplete="tel"></label>' +
        '<p class="handoff-note">工会干部的回复会显示在本页面；留下联系方式，干部也可以直接联系您。</p>' +
        '<div class="handoff-actions"><button type="submit" class="handoff-submit">提交</button><button type="button" class="handoff-cancel">取消</button></div>'
    );
    form.elements.question.value = asked ? asked.text : "";
    box.appendChild(form);
    form.scrollIntoView({ block: "nearest" });
    form.elements.question.focus({ preventScroll: true });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const question = form.elements.question.value.trim();
      if (!question || !state.session_id) return;
      const submit = form.querySelector(".handoff-submit");
      submit.disabled = true;
      try {
        const r = await UB.postJson("/api/handoff", {
          session_id: state.session_id,
          message_id: msg.message_id || null,
          question,
          contact: form.elements.contact.value.trim(),
        });
        msg.handoff_id = r.id;
        save();
        rerender(msg);
        schedulePoll(true);
      } catch (err) {
        submit.disabled = false;
        const old = form.querySelector("[role=alert]");
        if (old) old.remove();
        form.appendChild(UB.alertElement("p", "handoff-error", err.message || "提交失败，请稍后再试。"));
      }
    });
    form.querySelector(".handoff-cancel").addEventListener("click", () => form.remove());
  }

  let pollTimer = null;
  const POLL_MS = 15000;

  /** Officers' replies to this conversation's requests join the transcript (once each). */
  async function pollReplies() {
    if (!state.session_id || !state.messages.some((m) => m.handoff_id)) return false;
    let data;
    try {
      data = await UB.getJson("/api/handoff?session_id=" + encodeURIComponent(state.session_id));
    } catch (e) {
      return true;
    }
    let added = false;
    let waiting = false;
    for (const h of data.items || []) {
      if (h.status !== "closed") waiting = true;
      for (const r of h.replies || []) {
        const id = "officer-" + r.id;
        if (state.messages.some((m) => m.id === id)) continue;
        const msg = { id, role: "bot", officer: r.author, text: r.text, ts: Math.round(r.created_at * 1000) };
        state.messages.push(msg);
        append(msg);
        added = true;
      }
    }
    if (added) save();
    return waiting;
  }

  function schedulePoll(now) {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(async () => {
      if (await pollReplies()) schedulePoll(false);
    }, now ? 0 : POLL_MS);
  }

  // ------------------------------------------------------------------ events

  log.addEventListener("click", (e) => {
    const starter = e.target.closest(".starter");
    if (starter) {
      ask(starter.dataset.question);
      return;
    }
    const row = e.target.closest(".msg");
    if (!row) return;
    const cite = e.target.closest(".cite");
    if (cite) {
      toggleSource(row, cite.dataset.n, cite.getAttribute("aria-expanded") !== "true");
      return;
    }
    const toggle = e.target.closest(".source-toggle");
    if (toggle) {
      toggleSource(row, toggle.dataset.n, false);
      return;
    }
    if (e.target.closest(".handoff-button")) {
      const msg = state.messages.find((m) => m.id === row.dataset.id);
      if (msg) openHandoffForm(row, msg);
      return;
    }
    const fb = e.target.closest(".fb-button");
    if (fb && !fb.disabled) {
      const msg = state.messages.find((m) => m.id === row.dataset.id);
      if (msg) sendFeedback(msg, fb.dataset.rating, fb.parentElement);
    }
  });

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = input.value;
    if (!q.trim() || busy) return;
    input.value = "";
    autosize();
    ask(q);
  });

  input.addEventListener("keydown", (e) => {
    // Enter sends; Shift+Enter is a new line; never send while an IME is composing Chinese.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 120) + "px";
  }
  input.addEventListener("input", autosize);

  newChat.addEventListener("click", () => {
    if (busy) return;
    state = { session_id: null, messages: [] };
    clearTimeout(pollTimer);
    save();
    renderAll();
    input.focus();
  });

  // A link such as /?q=怎样加入工会 (from the kiosk QR code) asks at once.
  const params = new URLSearchParams(location.search);
  const q = (params.get("q") || "").trim();
  if (q) history.replaceState(null, "", location.pathname);

  renderAll();
  schedulePoll(true);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) schedulePoll(true);
  });
  document.body.dataset.ready = "true";
  if (q) ask(q.slice(0, 1000));
})();
