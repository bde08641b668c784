/* Kiosk station keys (admins): create (shown once), list, revoke. */
"use strict";

(async function () {
  const { esc, api, page, badge } = CB;
  page.innerHTML =
    '<section class="card" aria-labelledby="h-new"><h2 id="h-new">新建站点密钥</h2><form id="new-key" class="inline-form">' +
    '<label class="field">站点名称<input name="station" type="text" maxlength="128" required placeholder="例如：杭州市拱墅区工会驿站"></label>' +
    '<button class="btn primary" type="submit">生成密钥</button></form><div id="created"></div></section>' +
    '<section class="card" aria-labelledby="h-keys"><h2 id="h-keys">站点密钥</h2><p id="keys-file" class="muted small"></p>' +
    '<div class="table-wrap"><table class="list" id="keys"><thead><tr><th>站点</th><th>密钥开头</th><th>状态</th><th class="hide-narrow">创建人</th><th>创建时间</th><th>操作</th></tr></thead><tbody></tbody></table></div></section>';

  async function load() {
    const data = await api("GET", "/console/api/kiosk-keys");
    document.getElementById("keys-file").textContent = data.keys_file
      ? "密钥文件 " + data.keys_file + " 中的密钥继续有效（在服务器上编辑）。"
      : "未配置密钥文件；下列密钥以哈希形式保存在数据库中。";
    document.querySelector("#keys tbody").innerHTML = data.keys.length
      ? data.keys
          .map(
            (k) =>
              '<tr data-id="' + k.id + '"><td>' + esc(k.station) + "</td><td><code>" + esc(k.hint) + "…</code></td><td>" +
              (k.revoked_at ? badge("已吊销 " + CB.fmtTime(k.revoked_at), "bad") : badge("有效", "ok")) + '</td><td class="hide-narrow">' + esc(k.created_by) +
              '</td><td class="nowrap">' + esc(CB.fmtTime(k.created_at)) + "</td><td>" +
              (k.revoked_at ? "" : '<button class="btn small danger" type="button" data-act="revoke">吊销</button>') + "</td></tr>"
          )
          .join("")
      : '<tr><td colspan="6">' + CB.empty("还没有在工作台创建的密钥") + "</td></tr>";
  }

  document.getElementById("new-key").addEventListener("submit", async (e) => {
    e.preventDefault();
    const station = e.target.elements.station.value.trim();
    if (!station) return;
    try {
      const k = await api("POST", "/console/api/kiosk-keys", { station });
      document.getElementById("created").innerHTML =
        '<div class="secret" role="status"><p><strong>' + esc(k.station) + "</strong> 的密钥（只显示这一次，请立即复制到终端设置中）：</p><p><code id=\"new-key-value\">" +
        esc(k.key) + "</code></p></div>";
      e.target.reset();
      await load();
    } catch (err) {
      CB.toast(err.message, true);
    }
  });
  document.getElementById("keys").addEventListener("click", async (e) => {
    const b = e.target.closest("button[data-act=revoke]");
    if (!b || !confirm("吊销后该站点的终端将无法再提问。确定吊销？")) return;
    try {
      await api("POST", "/console/api/kiosk-keys/" + b.closest("tr").dataset.id + "/revoke", {});
      CB.toast("已吊销。");
      await load();
    } catch (err) {
      CB.toast(err.message, true);
    }
  });
  await load();
  CB.ready();
})();
