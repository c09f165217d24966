// Charts of the proof page and the console's order page, drawn with the vendored uPlot.
// Data: a <script id="series" type="application/json"> block; one <div class="chart"
// data-series=NAME data-labels="a,b" data-title=...> per chart. No inline script (CSP).
(function () {
  document.querySelectorAll(".pct, #return-pct").forEach(function (el) {
    var v = el.dataset.value;
    if (v !== "" && v !== undefined) el.textContent = (parseFloat(v) * 100).toFixed(3) + " %";
  });
  var holder = document.getElementById("series");
  if (!holder || typeof uPlot === "undefined") return;
  var data = JSON.parse(holder.textContent);
  var colours = ["#2f6fdf", "#d9822b", "#3a9d5d", "#b03a48"];
  function columns(rows, n) {
    var out = [];
    for (var i = 0; i < n; i++) {
      out.push(rows.map(function (r) { return r[i] === null ? null : Number(r[i]); }));
    }
    return out;
  }
  document.querySelectorAll(".chart[data-series]").forEach(function (el) {
    var rows = data[el.dataset.series] || [];
    var labels = el.dataset.labels.split(",");
    if (!rows.length) {
      el.innerHTML = "<p class='muted'></p>";
      el.firstChild.textContent = el.dataset.title + ": no data yet.";
      return;
    }
    var series = [{}].concat(labels.map(function (label, i) {
      return {label: label, stroke: colours[i % colours.length], width: 1.5};
    }));
    var width = Math.min(960, el.parentElement.clientWidth || 960);
    new uPlot({title: el.dataset.title, width: width, height: 220, series: series,
               scales: {x: {time: true}}}, columns(rows, labels.length + 1), el);
  });
})();
