/* Dashboard: questions per day by channel, refusals, ratings, open hand-offs, kiosk use, most cited documents. */
"use strict";

(async function () {
  const { esc, api, page } = CB;
  page.innerHTML =
    '<div class="toolbar"><label class="field">时间范围<select id="days">' +
    '<option value="7">最近 7 天</option><option value="14" selected>最近 14 天</option><option value="30">最近 30 天</option><option value="90">最近 90 天</option>' +
    "</select></label></div><div id=\"dash\"></div>";
  const days = document.getElementById("days");
  days.addEventListener("change", () => load(days.value));
  await load(days.value);
  CB.ready();

  async function load(n) {
    const box = document.getElementById("dash");
    let d;
    try {
      d = await api("GET", "/console/api/dashboard?days=" + n);
    } catch (e) {
      box.innerHTML = CB.empty(e.message);
      return;
    }
    const refusedShare = d.questions ? Math.round((d.refused / d.questions) * 100) : 0;
    const rated = d.ratings.up + d.ratings.down;
    const openHandoffs = d.handoffs.open + d.handoffs.claimed;
    const series = {};
    for (const [day, byChannel] of Object.entries(d.per_day)) {
      for (const [ch, count] of Object.entries(byChannel)) {
        (series[ch] = series[ch] || {})[day] = count;
      }
    }
    const legend = Object.keys(series)
      .map((k) => "<span>" + CB.swatch(CB.CHANNEL_COLORS[k] || "#999") + " " + esc(CB.CHANNELS[k] || k) + "</span>")
      .join("");
    box.innerHTML =
      '<div class="grid stats">' +
      stat("问题总数", d.questions) +
      stat("拒答比例", refusedShare + "%", d.refused + " 条拒答") +
      stat("好评 / 差评", d.ratings.up + " / " + d.ratings.down, rated ? Math.round((d.ratings.up / rated) * 100) + "% 好评" : "暂无评价") +
      stat("待处理转人工", openHandoffs, d.handoffs.answered + " 条已回复", openHandoffs > 0) +
      stat("驿站终端请求", d.kiosk.reduce((s, k) => s + k.requests, 0), d.kiosk.length + " 个站点") +
      "</div>" +
      '<section class="card" aria-labelledby="h-daily"><h2 id="h-daily">每日问题数（按渠道）</h2>' +
      '<div class="legend">' + (legend || '<span>暂无问题</span>') + "</div>" +
      CB.stackedBars(d.days, series, CB.CHANNEL_COLORS, CB.CHANNELS, box.clientWidth - 38) + "</section>" +
      '<div class="grid two">' +
      '<section class="card" aria-labelledby="h-answers"><h2 id="h-answers">回答与评价</h2><div class="grid two">' +
      "<div>" + CB.donut([["已回答", d.questions - d.refused, "#1a7f37"], ["拒答", d.refused, "#c8161d"]], refusedShare + "%") +
      '<p class="muted small">拒答比例（红色）</p></div>' +
      "<div>" + CB.donut([["有帮助", d.ratings.up, "#1f6feb"], ["没帮助", d.ratings.down, "#e8891c"]], String(rated)) +
      '<p class="muted small">评价：有帮助（蓝） / 没帮助（橙）</p></div></div></section>' +
      '<section class="card" aria-labelledby="h-kiosk"><h2 id="h-kiosk">驿站终端使用量</h2>' +
      CB.hbars(d.kiosk.map((k) => [k.station, k.requests]), "#e8891c") + "</section>" +
      "</div>" +
      '<section class="card" aria-labelledby="h-cited"><h2 id="h-cited">最常被引用的文档</h2>' +
      CB.hbars(d.cited.map((c) => [c.label, c.count]), "#c8161d") + "</section>";
  }

  function stat(label, value, sub, alert) {
    return '<div class="stat' + (alert ? " alert" : "") + '"><span class="label">' + esc(label) + '</span><span class="value">' + esc(value) +
      "</span>" + (sub ? '<span class="muted small">' + esc(sub) + "</span>" : "") + "</div>";
  }
})();
