/* Station kiosk: topic buttons ask a common question, a short answer, a QR code for the phone, and an idle wipe. */
"use strict";

(function () {
  const body = document.body;
  const params = new URLSearchParams(location.search);
  const home = document.getElementById("home");
  const answer = document.getElementById("answer");
  const homeButton = document.getElementById("home-button");
  const questionEl = document.getElementById("answer-question");
  const answerBox = document.getElementById("answer-box");
  const sourcesBox = document.getElementById("answer-sources");
  const qrImage = document.getElementById("qr-image");
  const moreTopics = document.getElementById("more-topics");
  const toast = document.getElementById("toast");

  // Idle time: ?idle=N (tests, trials) > data-idle-seconds (server settings) > 60.
  const idleSeconds = positive(params.get("idle")) || positive(body.dataset.idleSeconds) || 60;
  document.getElementById("idle-seconds").textContent = String(idleSeconds);

  // The station's kiosk key: ?key=… when the kiosk browser opens the page, kept for reloads in sessionStorage.
  const KEY_STORE = "unionbot.kiosk.key";
  let apiKey = params.get("key") || body.dataset.apiKey || sessionGet(KEY_STORE) || "";
  if (params.get("key")) {
    sessionSet(KEY_STORE, apiKey);
    params.delete("key");
    history.replaceState(null, "", location.pathname + (params.toString() ? "?" + params : ""));
  }
  // The address phones should open (the kiosk itself may browse via localhost): ?base=https://…
  const publicBase = (params.get("base") || location.origin).replace(/\/+$/, "");

  let idleTimer = null;
  let newSession = true;
  let seq = 0;

  function positive(v) {
    const n = Number(v);
    return Number.isFinite(n) && n > 0 ? n : 0;
  }

  function sessionGet(k) {
    try {
      return sessionStorage.getItem(k);
    } catch (e) {
      return null;
    }
  }

  function sessionSet(k, v) {
    try {
      sessionStorage.setItem(k, v);
    } catch (e) {
      /* ignore */
    }
  }

  // ------------------------------------------------------------ screens

  function showHome() {
    seq++; // drop any answer still on its way
    body.dataset.screen = "home";
    answer.hidden = true;
    home.hidden = false;
    homeButton.hidden = true;
    questionEl.textContent = "";
    answerBox.innerHTML = "";
    answerBox.classList.remove("refused");
    sourcesBox.innerHTML = "";
    qrImage.removeAttribute("src");
    window.scrollTo(0, 0);
  }

  function showToast(text) {
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(showToast.timer);
    showToast.timer = setTimeout(() => (toast.hidden = true), 3000);
  }

  function wipe() {
    // Nobody touched the screen for a while: forget the conversation for the next visitor.
    const hadAnswer = body.dataset.screen !== "home";
    newSession = true;
    showHome();
    body.dataset.wiped = String(Number(body.dataset.wiped || 0) + 1);
    if (hadAnswer) showToast("已自动清空，欢迎下一位");
  }

  function touched() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(wipe, idleSeconds * 1000);
  }

  function fillMoreTopics(current) {
    moreTopics.innerHTML = "";
    home.querySelectorAll(".topic").forEach((t) => {
      if (t.dataset.topic === current) return;
      const copy = t.cloneNode(true);
      moreTopics.appendChild(copy);
    });
  }

  function answerHtml(text, citations) {
    const known = new Set((citations || []).map((c) => Number(c.n)));
    return String(text || "")
      .split(/\n+/)
      .filter((p) => p.trim())
      .map(
        (p) =>
          "<p>" +
          UB.esc(p).replace(/\s*\[(\d+)\]/g, (all, n) => (known.has(Number(n)) ? "<sup>[" + n + "]</sup>" : all)) +
          "</p>"
      )
      .join("");
  }

  function showSources(citations) {
    sourcesBox.innerHTML = "";
    if (!citations || !citations.length) return;
    const title = document.createElement("p");
    title.className = "k-label";
    title.textContent = "依据";
    const list = document.createElement("ol");
    for (const c of citations) {
      const li = document.createElement("li");
      li.textContent = "[" + c.n + "] " + (c.label || UB.citationTitle(c));
      list.appendChild(li);
    }
    sourcesBox.appendChild(title);
    sourcesBox.appendChild(list);
  }

  async function fetchAnswer(question) {
    if (apiKey) {
      const data = await UB.postJson("/api/kiosk/ask", { message: question, new_session: newSession }, { "X-API-Key": apiKey });
      newSession = false;
      return data;
    }
    // No station key configured: use the public chat API (no session kept on the kiosk).
    return UB.postJson("/api/chat", { message: question });
  }

  async function ask(topicButton) {
    const question = topicButton.dataset.question;
    const mine = ++seq;
    body.dataset.screen = "answer";
    home.hidden = true;
    answer.hidden = false;
    homeButton.hidden = false;
    questionEl.textContent = question;
    answerBox.classList.remove("refused");
    answerBox.innerHTML = '<p class="loading-dots" role="status"></p>';
    answerBox.setAttribute("aria-busy", "true");
    sourcesBox.innerHTML = "";
    qrImage.src = "/api/qr?text=" + encodeURIComponent(publicBase + "/?q=" + encodeURIComponent(question));
    fillMoreTopics(topicButton.dataset.topic);
    window.scrollTo(0, 0);

    const local = topicButton.dataset.local && document.getElementById(topicButton.dataset.local);
    if (local) {
      answerBox.innerHTML = "";
      answerBox.appendChild(local.content.cloneNode(true));
      answerBox.setAttribute("aria-busy", "false");
      body.dataset.answered = "local";
      return;
    }
    try {
      const data = await fetchAnswer(question);
      if (mine !== seq) return;
      const citations = (data.citations || []).map(UB.normCitation);
      if (data.refused) {
        answerBox.classList.add("refused");
        answerBox.innerHTML =
          answerHtml(data.answer, []) + "<p><strong>这个问题暂时无法准确回答，请咨询驿站工作人员，或拨打 12351。</strong></p>";
      } else {
        answerBox.innerHTML = answerHtml(data.answer, citations);
        showSources(citations);
      }
      body.dataset.answered = data.refused ? "refused" : "answer";
    } catch (e) {
      if (mine !== seq) return;
      answerBox.classList.add("refused");
      answerBox.innerHTML = "";
      answerBox.appendChild(UB.alertElement("p", "", (e && e.message) || "暂时无法回答，请稍后再试。"));
      body.dataset.answered = "error";
    } finally {
      if (mine === seq) answerBox.setAttribute("aria-busy", "false");
    }
  }

  // ------------------------------------------------------------ events

  document.addEventListener("click", (e) => {
    const topic = e.target.closest(".topic");
    if (topic) {
      ask(topic);
      return;
    }
    if (e.target.closest("#home-button")) showHome();
  });

  for (const type of ["pointerdown", "touchstart", "keydown", "wheel", "scroll"]) {
    window.addEventListener(type, touched, { passive: true, capture: true });
  }
  // A long-press must not open a context menu on a public screen.
  window.addEventListener("contextmenu", (e) => e.preventDefault());

  showHome();
  touched();
  body.dataset.ready = "true";
})();
