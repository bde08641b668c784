/* Audit log (admins): every change made in the console, newest first. */
"use strict";

(async function () {
  const { esc, api, page } = CB;
  const ACTIONS = {
    sign_in: "登录", sign_in_failed: "登录失败", sign_out: "退出", password_change: "修改密码",
    account_add: "新建账号", account_change: "修改账号", document_upload: "上传文档", document_delete: "删除文档",
    metadata_correct: "更正元数据", index_rebuild: "重建索引", review: "审阅问答", review_export: "导出问答",
    lay_question_add: "添加口语问题", handoff_claim: "认领转人工", handoff_reply: "回复转人工", handoff_close: "结束转人工",
    kiosk_key_create: "新建站点密钥", kiosk_key_revoke: "吊销站点密钥",
  };
  const SIZE = 50;
  let offset = 0;
  page.innerHTML =
    '<div class="toolbar"><label class="field">操作<select id="action"><option value="">全部</option>' +
    Object.entries(ACTIONS).map(([k, v]) => '<option value="' + k + '">' + v + "</option>").join("") +
    '</select></label><span class="spacer"></span><span id="total" class="muted small"></span></div>' +
    '<div class="table-wrap"><table class="list" id="audit"><thead><tr><th>时间</th><th>账号</th><th>操作</th><th>对象</th><th class="hide-narrow">详情</th></tr></thead><tbody></tbody></table></div>' +
    '<div class="pager"><button id="prev" class="btn small" type="button">上一页</button><button id="next" class="btn small" type="button">下一页</button></div>';

  async function load() {
    const action = document.getElementById("action").value;
    const data = await api("GET", "/console/api/audit?limit=" + SIZE + "&offset=" + offset + (action ? "&action=" + action : ""));
    document.getElementById("total").textContent = "共 " + data.total + " 条";
    document.querySelector("#audit tbody").innerHTML = data.items.length
      ? data.items
          .map(
            (a) =>
              '<tr><td class="nowrap">' + esc(CB.fmtTime(a.at)) + "</td><td>" + esc(a.account) + '</td><td class="nowrap">' + esc(ACTIONS[a.action] || a.action) +
              "</td><td>" + esc(a.target) + '</td><td class="hide-narrow small"><code>' + esc(JSON.stringify(a.detail)) + "</code></td></tr>"
          )
          .join("")
      : '<tr><td colspan="5">' + CB.empty("暂无记录") + "</td></tr>";
    document.getElementById("prev").disabled = offset === 0;
    document.getElementById("next").disabled = offset + SIZE >= data.total;
  }
  document.getElementById("action").addEventListener("change", () => {
    offset = 0;
    load();
  });
  document.getElementById("prev").addEventListener("click", () => {
    offset = Math.max(0, offset - SIZE);
    load();
  });
  document.getElementById("next").addEventListener("click", () => {
    offset += SIZE;
    load();
  });
  await load();
  CB.ready();
})();
