/* One document: its metadata (correctable) and exactly how it was split into passages. */
"use strict";

(async function () {
  const { esc, api, page, badge } = CB;
  const id = new URLSearchParams(location.search).get("id") || "";
  let doc;
  try {
    doc = await api("GET", "/console/api/documents/" + encodeURIComponent(id));
  } catch (e) {
    page.innerHTML = '<div class="card">' + CB.empty(e.message) + '<p><a class="btn" href="/console/documents">返回知识库</a></p></div>';
    CB.ready();
    return;
  }
  document.querySelector(".page-title").textContent = doc.title;
  document.title = doc.title + " · 工会工作台";
  const corrected = doc.corrected || {};
  const mark = (k) => (k in corrected ? ' <span class="badge info" title="已由工作人员更正">已更正</span>' : "");
  const kindOptions = Object.entries(CB.KINDS)
    .map(([k, v]) => '<option value="' + k + '"' + (k === doc.doc_type ? " selected" : "") + ">" + v + "</option>")
    .join("");
  page.innerHTML =
    '<p><a href="/console/documents">‹ 返回知识库</a></p>' +
    '<section class="card" aria-labelledby="h-meta"><h2 id="h-meta">元数据</h2>' +
    '<p class="muted small">文件：' + esc(doc.source_file) + " · 文档编号 <code>" + esc(doc.doc_id) + "</code> · " + doc.passages.length +
    " 个段落 · 索引时间 " + esc(CB.fmtTime(doc.indexed_at)) + "</p>" +
    '<form id="meta" class="meta-form">' +
    '<label class="field">地区' + mark("region") + '<input name="region" type="text" maxlength="32" value="' + esc(doc.region || "") + '"></label>' +
    '<label class="field">单位' + mark("org") + '<input name="org" type="text" maxlength="80" value="' + esc(doc.org || "") + '"></label>' +
    '<label class="field">日期' + mark("date") + '<input name="date" type="text" maxlength="10" placeholder="2024-05-01" value="' + esc(doc.date || "") + '"></label>' +
    '<label class="field">类型' + mark("doc_type") + '<select name="doc_type">' + kindOptions + "</select></label>" +
    '<button class="btn primary" type="submit">保存更正</button></form>' +
    '<p class="muted small">更正保存在文档旁的 <code>' + esc(doc.source_file.replace(/\.[^.\/]+$/, "")) + '.meta.json</code>，重建索引后生效，以后每次重建都会保留。</p>' +
    "</section>" +
    '<section class="card" aria-labelledby="h-passages"><h2 id="h-passages">切分结果（' + doc.passages.length + " 个段落）</h2>" +
    doc.passages.map(passage).join("") + "</section>";

  function passage(p) {
    const head = [badge("#" + p.position)];
    if (p.article) head.push("<strong>" + esc(p.article) + "</strong>");
    if (p.chapter) head.push(esc(p.chapter));
    head.push(p.chars + " 字");
    head.push("<code>" + esc(p.id) + "</code>");
    const qs = p.questions.length
      ? '<details><summary class="small muted">' + p.questions.length + " 个口语问题</summary><ul class=\"questions\">" +
        p.questions.map((q) => "<li>" + esc(q.text) + " <span class=\"badge\">" + esc({ curated: "内置", sidecar: "工作人员", generated: "生成" }[q.source] || q.source) + "</span></li>").join("") +
        "</ul></details>"
      : "";
    return '<article class="passage" id="p-' + p.position + '"><div class="passage-head">' + head.join(" ") + '</div><p class="passage-text">' + esc(p.text) + "</p>" + qs + "</article>";
  }

  const form = document.getElementById("meta");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = {};
    for (const key of ["region", "org", "date", "doc_type"]) {
      const value = form.elements[key].value.trim();
      const was = doc[key] || "";
      if (value !== was) body[key] = value || null;
    }
    if (!Object.keys(body).length) {
      CB.toast("没有改动。");
      return;
    }
    try {
      await api("POST", "/console/api/documents/" + encodeURIComponent(doc.doc_id) + "/metadata", body);
      Object.assign(doc, body);
      CB.toast("已保存更正，重建索引后生效。");
    } catch (err) {
      CB.toast(err.message, true);
    }
  });
  CB.ready();
})();
