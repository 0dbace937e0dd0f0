// Draws the reports' charts with uPlot (vendored: /office/assets/uplot.min.js) from each
// `.chart[data-chart]`: {kind: "line" | "bars", labels: [...], series: [{label, values}]}.
// No inline script anywhere (the pages' CSP forbids it): the data lives in the attribute.
"use strict";

(function () {
  const palette = ["#2c5cc5", "#10695f", "#b25e00", "#6b2bb3", "#b3261e", "#1e7a3c", "#677086", "#d9a400"];

  // Bars side by side within each category: uPlot draws one series at a time, so each
  // series takes its own slot of the category's width.
  function groupedBars(slot, slots) {
    return (u, seriesIdx, idx0, idx1) => {
      const fill = new Path2D();
      const xs = u.data[0];
      const ys = u.data[seriesIdx];
      const step = xs.length > 1
        ? Math.abs(u.valToPos(1, "x", true) - u.valToPos(0, "x", true))
        : u.bbox.width / 2;
      const group = step * 0.8;
      const width = group / slots;
      const base = u.valToPos(0, "y", true);
      for (let i = idx0; i <= idx1; i++) {
        const value = ys[i];
        if (value == null) continue;
        const centre = u.valToPos(xs[i], "x", true);
        const top = u.valToPos(value, "y", true);
        const left = centre - group / 2 + slot * width;
        fill.rect(left, Math.min(top, base), Math.max(width - 1, 1), Math.max(Math.abs(base - top), value > 0 ? 1 : 0));
      }
      return { stroke: fill, fill };
    };
  }

  function options(spec, width) {
    const bars = spec.kind === "bars";
    const count = spec.series.length;
    const label = (i) => (Number.isInteger(i) && spec.labels[i] !== undefined ? spec.labels[i] : "");
    const series = [{ label: "", value: (u, i) => label(i) }];
    spec.series.forEach((s, n) => {
      const colour = palette[n % palette.length];
      series.push(bars
        ? { label: s.label, stroke: colour, fill: colour, width: 0, paths: groupedBars(n, count), points: { show: false } }
        : { label: s.label, stroke: colour, width: 2, points: { show: spec.labels.length <= 45 } });
    });
    return {
      width,
      height: 240,
      series,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: false, range: (u, min, max) => (bars ? [min - 0.5, max + 0.5] : [min, max === min ? min + 1 : max]) },
        y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes: [
        { values: (u, splits) => splits.map(label), incrs: [1, 2, 5, 7, 10, 14, 20, 30, 50, 100], stroke: "#677086" },
        { stroke: "#677086", label: spec.unit || undefined, size: 50 },
      ],
    };
  }

  const charts = [];

  function draw(el) {
    let spec;
    try { spec = JSON.parse(el.dataset.chart); } catch (_) { return; }
    if (!spec.labels.length || !spec.series.length) { el.hidden = true; return; }
    const data = [spec.labels.map((_, i) => i)].concat(spec.series.map((s) => s.values));
    const chart = new uPlot(options(spec, el.clientWidth || 600), data, el);
    charts.push({ el, chart });
    el.dataset.drawn = String(spec.series.length);
  }

  function resize() {
    charts.forEach(({ el, chart }) => chart.setSize({ width: el.clientWidth, height: 240 }));
  }

  // A date typed in means custom dates.
  function period() {
    const form = document.getElementById("report-period");
    if (!form) return;
    const preset = form.querySelector("select[name=preset]");
    form.querySelectorAll("input[type=date]").forEach((input) =>
      input.addEventListener("change", () => { preset.value = "custom"; }));
  }

  document.addEventListener("DOMContentLoaded", () => {
    period();
    if (!window.uPlot) return;
    document.querySelectorAll(".chart[data-chart]").forEach(draw);
    let pending = null;
    window.addEventListener("resize", () => {
      clearTimeout(pending);
      pending = setTimeout(resize, 150);
    });
  });
})();
