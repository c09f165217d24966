// Keeps the overview live: polls the JSON every 10 s and reloads the page's figures when
// they changed (a plain reload of the server-rendered page keeps one rendering path).
(function () {
  var root = document.getElementById("overview");
  if (!root) return;
  var last = null;
  function poll() {
    fetch(root.dataset.src, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        var tick = data.tick ? [data.tick.running, data.tick.saturated] : null;
        var shape = JSON.stringify([data.health, tick, data.halts, data.ordersByState, data.sessions,
                                    data.attention, data.transfers, data.reconciliation, data.today]);
        if (last !== null && shape !== last) { window.location.reload(); return; }
        last = shape;
        document.getElementById("ov-now").textContent = data.now;
      })
      .catch(function () {});
  }
  poll();
  setInterval(poll, 10000);
})();
