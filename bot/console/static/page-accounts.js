/* Accounts (admins): add officers and admins, change roles, disable accounts, reset passwords. */
"use strict";

(async function () {
  const { esc, api, page, badge } = CB;
  page.innerHTML =
    '<section class="card" aria-labelledby="h-add"><h2 id="h-add">新建账号</h2><form id="add" class="inline-form">' +
    '<label class="field">账号名<input name="name" type="text" maxlength="64" required autocomplete="off"></label>' +
    '<label class="field">初始密码（至少 8 位）<input name="password" type="password" minlength="8" maxlength="256" required autocomplete="new-password"></label>' +
    '<label class="field">角色<select name="role"><option value="officer">工会干部</option><option value="admin">管理员</option></select></label>' +
    '<button class="btn primary" type="submit">创建</button></form></section>' +
    '<section class="card" aria-labelledby="h-list"><h2 id="h-list">账号</h2><div class="table-wrap"><table class="list" id="accounts">' +
    '<thead><tr><th>账号</th><th>角色</th><th>状态</th><th class="hide-narrow">创建时间</th><th>最近登录</th><th>操作</th></tr></thead><tbody></tbody></table></div></section>';

  async function load() {
    const rows = await api("GET", "/console/api/accounts");
    document.querySelector("#accounts tbody").innerHTML = rows
      .map(
        (a) =>
          '<tr data-id="' + a.id + '"><td>' + esc(a.name) + "</td><td>" + (a.role === "admin" ? badge("管理员", "info") : badge("工会干部")) +
          "</td><td>" + (a.active ? badge("可用", "ok") : badge("已停用", "bad")) + '</td><td class="nowrap hide-narrow">' + esc(CB.fmtTime(a.created_at)) +
          '</td><td class="nowrap">' + esc(CB.fmtTime(a.last_sign_in) || "—") + '</td><td><div class="inline-form">' +
          '<button class="btn small" type="button" data-act="role" data-role="' + (a.role === "admin" ? "officer" : "admin") + '">' + (a.role === "admin" ? "设为工会干部" : "设为管理员") + "</button>" +
          '<button class="btn small" type="button" data-act="active" data-active="' + String(!a.active) + '">' + (a.active ? "停用" : "启用") + "</button>" +
          '<button class="btn small" type="button" data-act="password">重置密码</button></div></td></tr>'
      )
      .join("");
  }

  document.getElementById("add").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    try {
      await api("POST", "/console/api/accounts", { name: f.elements.name.value.trim(), password: f.elements.password.value, role: f.elements.role.value });
      CB.toast("已创建账号 " + f.elements.name.value.trim());
      f.reset();
      await load();
    } catch (err) {
      CB.toast(err.message, true);
    }
  });
  document.getElementById("accounts").addEventListener("click", async (e) => {
    const b = e.target.closest("button[data-act]");
    if (!b) return;
    const id = b.closest("tr").dataset.id;
    let body;
    if (b.dataset.act === "role") body = { role: b.dataset.role };
    if (b.dataset.act === "active") body = { active: b.dataset.active === "true" };
    if (b.dataset.act === "password") {
      const pw = prompt("新密码（至少 8 位）：");
      if (!pw) return;
      body = { password: pw };
    }
    try {
      await api("POST", "/console/api/accounts/" + id, body);
      CB.toast("已保存。");
      await load();
    } catch (err) {
      CB.toast(err.message, true);
    }
  });
  await load();
  CB.ready();
})();
