// The analytics page's chart: open readers over time, drawn by uPlot (static/vendor/uplot,
// loaded before this script), with a vertical line where each entry was published. Times read
// in the story's zone. The table under the chart is its text alternative.
(function () {
  "use strict";

  var script = document.currentScript;
  var target = document.getElementById("readers-chart");
  var source = document.getElementById("analytics-data");
  if (!target || !source || typeof window.uPlot !== "function") return;
  var data = JSON.parse(source.textContent);
  if (!data.times.length) return; // nothing sampled yet: the page says so in words
  var HEIGHT = 280;
  // Ticks and the legend in the desk's language and the story's zone, as the tables write them.
  var language = document.documentElement.lang || "en";
  // 24-hour times, as the story's labels and the tables write them.
  var clock = new Intl.DateTimeFormat(language, { hour: "2-digit", minute: "2-digit",
    hourCycle: "h23", timeZone: data.timezone });
  var moment = new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "medium",
    hourCycle: "h23", timeZone: data.timezone });
  var count = new Intl.NumberFormat(language);

  function seconds(value) {
    return new Date(value * 1000);
  }
  var MARK = "rgba(200, 60, 40, 0.6)";

  function markEntries(chart) {
    // One line per entry published inside the plotted span, under the readers' line.
    var context = chart.ctx;
    var box = chart.bbox;
    context.save();
    context.strokeStyle = MARK;
    context.lineWidth = Math.max(1, window.devicePixelRatio || 1);
    context.setLineDash([4, 4]);
    for (var i = 0; i < data.entries.length; i++) {
      var at = data.entries[i];
      if (at < chart.scales.x.min || at > chart.scales.x.max) continue;
      var x = Math.round(chart.valToPos(at, "x", true));
      context.beginPath();
      context.moveTo(x, box.top);
      context.lineTo(x, box.top + box.height);
      context.stroke();
    }
    context.restore();
  }

  var options = {
    width: Math.max(target.clientWidth, 300),
    height: HEIGHT,
    tzDate: function (seconds) {
      return window.uPlot.tzDate(new Date(seconds * 1000), data.timezone);
    },
    scales: { y: { range: function (chart, min, max) { return [0, Math.max(1, max)]; } } },
    axes: [
      {
        values: function (chart, splits) {
          return splits.map(function (at) { return clock.format(seconds(at)); });
        },
      },
      {
        values: function (chart, splits) {
          return splits.map(function (n) { return count.format(n); });
        },
      },
    ],
    series: [
      {
        label: (script && script.getAttribute("data-time")) || "When",
        value: function (chart, at) { return at == null ? "–" : moment.format(seconds(at)); },
      },
      {
        label: (script && script.getAttribute("data-label")) || "Readers",
        value: function (chart, n) { return n == null ? "–" : count.format(n); },
        stroke: "#1565c0",
        fill: "rgba(21, 101, 192, 0.12)",
        width: 2,
        // A sample holds until the next: the sampler stores a 0 once when the last reader
        // leaves and nothing while nobody reads, so a line between samples would draw an
        // empty hour as a slow rise.
        paths: window.uPlot.paths.stepped({ align: 1 }),
        points: { show: data.times.length < 60 },
      },
    ],
    hooks: { draw: [markEntries] },
  };
  var chart = new window.uPlot(options, [data.times, data.readers], target);
  target.setAttribute("data-rendered", "true");

  window.addEventListener("resize", function () {
    chart.setSize({ width: Math.max(target.clientWidth, 300), height: HEIGHT });
  });
})();
