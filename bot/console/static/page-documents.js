/* Knowledge base: upload (drag and drop, several files), rebuild with streamed progress, files and documents. */
"use strict";

(async function () {
  const { esc, api, page, badge } = CB;
  const STATUS = { indexed: ["已索引", "ok"], new: ["新文件，待重建", "warn"], changed: ["已修改，待重建", "warn"], deleted: ["已删除，待重建", "bad"] };
  const ACCEPT = ".txt,.md,.markdown,.docx,.pdf,.html,.htm";

  page.innerHTML =
    '<div class="grid two">' +
    '<section class="card" aria-labelledby="h-upload"><h2 id="h-upload">上传文档</h2>' +
    '<div id="drop" class="dropzone"><p>把文件拖到这里（可一次多个），或 <button id="pick" class="btn small" type="button">选择文件</button></p>' +
    '<p class="small">支持 .txt .md .docx .pdf .html，单个文件不超过 20 MB</p>' +
    '<input id="file-input" type="file" multiple accept="' + ACCEPT + '" hidden aria-label="选择要上传的文件"></div>' +
    '<ul id="upload-report" class="report" aria-live="polite"></ul></section>' +
    '<section class="card" aria-labelledby="h-rebuild"><h2 id="h-rebuild">重建索引</h2>' +
    '<p class="muted small">上传、删除文档或修改元数据后，重建索引才会生效；重建完成后服务自动切换到新索引，无需重启。</p>' +
    '<div id="pending"></div>' +
    '<button id="rebuild" class="btn primary" type="button">开始重建</button>' +
    '<div id="rebuild-progress" hidden><div class="progress-bar" aria-hidden="true"><span id="bar"></span></div>' +
    '<ol id="progress" class="progress-log" aria-live="polite" aria-label="重建进度"></ol></div></section>' +
    "</div>" +
    '<section class="card" aria-labelledby="h-docs"><h2 id="h-docs">文档</h2>' +
    '<div class="toolbar"><label class="field">筛选<input id="filter" type="search" placeholder="标题、单位、地区、文件名"></label>' +
    '<label class="field">类型<select id="kind"><option value="">全部</option><option value="law">法律法规</option><option value="case">工作案例</option><option value="news">新闻报道</option></select></label>' +
    '<span class="spacer"></span><span id="doc-count" class="muted small"></span></div>' +
    '<div class="table-wrap"><table class="list" id="docs"><thead><tr><th>类型</th><th>标题</th><th>单位</th><th>地区</th><th>日期</th><th class="num">段落</th><th class="hide-narrow">索引时间</th></tr></thead><tbody></tbody></table></div>' +
    "</section>" +
    '<section class="card" aria-labelledby="h-files"><h2 id="h-files">文件</h2>' +
    '<div class="table-wrap"><table class="list" id="files"><thead><tr><th>文件</th><th>状态</th><th class="num">文档数</th><th class="num hide-narrow">大小</th><th>操作</th></tr></thead><tbody></tbody></table></div>' +
    "</section>";

  const drop = document.getElementById("drop");
  const input = document.getElementById("file-input");
  const report = document.getElementById("upload-report");
  const progress = document.getElementById("progress");
  const bar = document.getElementById("bar");
  const rebuildButton = document.getElementById("rebuild");
  let data = null;

  document.getElementById("pick").addEventListener("click", () => input.click());
  input.addEventListener("change", () => upload([...input.files]).then(() => (input.value = "")));
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    upload([...e.dataTransfer.files]);
  });
  document.getElementById("filter").addEventListener("input", renderDocs);
  document.getElementById("kind").addEventListener("change", renderDocs);
  rebuildButton.addEventListener("click", startRebuild);
  document.getElementById("files").addEventListener("click", async (e) => {
    const b = e.target.closest("button[data-delete]");
    if (!b) return;
    const path = b.dataset.delete;
    if (!confirm("删除文件“" + path + "”及其问题、元数据文件？重建索引后生效。")) return;
    try {
      await api("DELETE", "/console/api/files?path=" + encodeURIComponent(path));
      CB.toast("已删除 " + path + "，请重建索引。");
      await load();
    } catch (err) {
      CB.toast(err.message, true);
    }
  });

  async function upload(files) {
    for (const file of files) {
      const li = document.createElement("li");
      li.innerHTML = badge("上传中", "info") + "<span>" + esc(file.name) + "</span>";
      report.appendChild(li);
      try {
        const r = await api("POST", "/console/api/documents/upload?name=" + encodeURIComponent(file.name), file);
        if (r.status === "skipped") {
          li.innerHTML = badge("已跳过", "bad") + "<span>" + esc(r.name) + "：" + esc(r.reason) + "</span>";
        } else {
          const kinds = (r.kinds || []).map((k) => CB.KINDS[k] || k).join("、");
          li.innerHTML = badge(r.status === "replaced" ? "已替换" : "已读取", "ok") + "<span>" + esc(r.name) + "：" + r.chars + " 字，" +
            r.documents + " 篇文档，" + r.passages + " 个段落（" + esc(kinds) + "）</span>";
        }
      } catch (err) {
        li.innerHTML = badge("失败", "bad") + "<span>" + esc(file.name) + "：" + esc(err.message) + "</span>";
      }
    }
    await load();
  }

  async function startRebuild() {
    rebuildButton.disabled = true;
    progress.innerHTML = "";
    bar.style.width = "0";
    try {
      await api("POST", "/console/api/rebuild", {});
    } catch (err) {
      CB.toast(err.message, true);
      rebuildButton.disabled = false;
      return;
    }
    follow();
  }

  function follow() {
    rebuildButton.disabled = true;
    document.getElementById("rebuild-progress").hidden = false;
    progress.innerHTML = "";
    const source = new EventSource("/console/api/rebuild/events");
    source.addEventListener("progress", (e) => {
      const ev = JSON.parse(e.data);
      if (ev.stage === "progress" && progress.lastElementChild && progress.lastElementChild.dataset.stage === "progress") {
        progress.lastElementChild.textContent = ev.message;
      } else {
        const li = document.createElement("li");
        li.dataset.stage = ev.stage;
        li.textContent = ev.message;
        if (ev.stage === "failed" || ev.stage === "skipped") li.className = "form-error";
        progress.appendChild(li);
      }
      progress.scrollTop = progress.scrollHeight;
      if (ev.stage === "progress" && ev.total) bar.style.width = Math.round((ev.done / ev.total) * 90) + "%";
      if (ev.stage === "writing" || ev.stage === "loading") bar.style.width = "95%";
      if (ev.stage === "done") bar.style.width = "100%";
    });
    source.addEventListener("end", (e) => {
      source.close();
      const end = JSON.parse(e.data);
      rebuildButton.disabled = false;
      document.body.dataset.rebuilt = end.ok ? "ok" : "failed";
      CB.toast(end.ok ? "索引已重建，服务已切换到新索引。" : "重建失败，服务仍使用原来的索引。", !end.ok);
      load();
    });
    source.onerror = () => {
      source.close();
      rebuildButton.disabled = false;
    };
  }

  async function load() {
    try {
      data = await api("GET", "/console/api/documents");
    } catch (err) {
      CB.toast(err.message, true);
      return;
    }
    const pending = document.getElementById("pending");
    pending.innerHTML = data.pending
      ? '<div class="banner" role="note"><strong>' + data.pending + " 个文件有改动</strong>尚未进入索引。</div>"
      : '<p class="muted small">索引与文档目录一致' + (data.built_at ? "（上次构建 " + esc(CB.fmtTime(data.built_at)) + "）" : "") + "。</p>";
    renderDocs();
    renderFiles();
  }

  function renderDocs() {
    if (!data) return;
    const text = document.getElementById("filter").value.trim();
    const kind = document.getElementById("kind").value;
    const rows = data.documents.filter(
      (d) => (!kind || d.doc_type === kind) &&
        (!text || [d.title, d.org, d.region, d.source_file].some((v) => (v || "").includes(text)))
    );
    document.getElementById("doc-count").textContent = "共 " + rows.length + " 篇";
    const body = document.querySelector("#docs tbody");
    body.innerHTML = rows.length
      ? rows
          .map(
            (d) =>
              "<tr><td class=\"nowrap\">" + badge(CB.KINDS[d.doc_type] || d.doc_type) + "</td>" +
              '<td><a href="/console/document?id=' + encodeURIComponent(d.doc_id) + '">' + esc(d.title) + '</a><div class="muted small">' + esc(d.source_file) + "</div></td>" +
              "<td>" + esc(d.org || "—") + "</td><td class=\"nowrap\">" + esc(d.region || "—") + "</td><td class=\"nowrap\">" + esc(d.date || "—") + "</td>" +
              '<td class="num">' + d.passages + '</td><td class="nowrap hide-narrow">' + esc(CB.fmtTime(d.indexed_at)) + "</td></tr>"
          )
          .join("")
      : '<tr><td colspan="7">' + CB.empty(data.loaded ? "没有符合条件的文档" : "索引尚未加载：请上传文档并重建索引") + "</td></tr>";
  }

  function renderFiles() {
    const body = document.querySelector("#files tbody");
    body.innerHTML = data.files.length
      ? data.files
          .map((f) => {
            const [label, kind] = STATUS[f.status] || [f.status, ""];
            const action = f.status === "deleted" ? "" : '<button class="btn small danger" type="button" data-delete="' + esc(f.path) + '" aria-label="删除 ' + esc(f.path) + '">删除</button>';
            return "<tr><td>" + esc(f.path) + "</td><td class=\"nowrap\">" + badge(label, kind) + '</td><td class="num">' + f.documents +
              '</td><td class="num hide-narrow">' + (f.size ? (f.size / 1024).toFixed(1) + " KB" : "—") + "</td><td>" + action + "</td></tr>";
          })
          .join("")
      : '<tr><td colspan="5">' + CB.empty("文档目录是空的") + "</td></tr>";
  }

  await load();
  if (data && data.rebuild && !data.rebuild.done) follow();
  CB.ready();
})();
