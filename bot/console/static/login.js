/* Console sign-in: posts name and password with the page's double-submit CSRF token, then goes on. */
"use strict";

(function () {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  function next() {
    const target = new URLSearchParams(location.search).get("next") || "/console";
    return target.startsWith("/console") && !target.startsWith("//") ? target : "/console";
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.hidden = true;
    const name = form.elements.name.value.trim();
    const password = form.elements.password.value;
    if (!name || !password) {
      error.textContent = "请输入账号和密码。";
      error.hidden = false;
      return;
    }
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const resp = await fetch("/console/api/sign-in", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ name, password }),
      });
      if (resp.ok) {
        location.assign(next());
        return;
      }
      const body = await resp.json().catch(() => null);
      error.textContent = (body && body.message) || "登录失败（" + resp.status + "）。";
      error.hidden = false;
      form.elements.password.value = "";
      form.elements.password.focus();
    } catch (err) {
      error.textContent = "网络连接失败，请重试。";
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
  document.body.dataset.ready = "true";
})();
