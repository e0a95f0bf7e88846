/* Staff login: the form posts JSON to /api/login, then goes where the officer was headed
   (a console page, checked by the server) or to the counter picker. */
"use strict";
(function () {
  const {data, t, api} = window.QMS;
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  const submit = form.querySelector("[type=submit]");

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const username = form.username.value.trim();
    const password = form.password.value;
    if (!username || !password) {
      error.textContent = t("console_login_missing");
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    const r = await api("POST", "/api/login", {username, password});
    if (r.ok) {
      location.assign(data.next);
      return;
    }
    error.textContent = r.data.error || t("console_failed");
    error.hidden = false;
    submit.disabled = false;
    form.password.select();
  });
})();
