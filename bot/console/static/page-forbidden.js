/* Shown to officers who open an admin page. */
"use strict";
CB.page.innerHTML = '<div class="card"><p>此页面仅限管理员使用（账号、驿站密钥与操作日志）。如需权限，请联系管理员。</p>' +
  '<p><a class="btn" href="/console">返回概览</a></p></div>';
CB.ready();
