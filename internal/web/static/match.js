// match.js: the odds charts' readout. Pointing at (or tapping) a chart
// shows the nearest price and when it was set under the chart; every
// figure is also in the page without script (the caption and each
// point's title).
for (const fig of document.querySelectorAll("figure.chart")) {
  const svg = fig.querySelector("svg");
  const dots = [...fig.querySelectorAll(".spark-dot[data-tip]")];
  if (!svg || dots.length === 0) continue;
  const tip = document.createElement("p");
  tip.className = "chart-tip";
  tip.setAttribute("aria-live", "polite");
  tip.hidden = true;
  fig.append(tip);
  let active = null;
  const show = (ev) => {
    const box = svg.getBoundingClientRect();
    const x = ((ev.clientX - box.left) / box.width) * svg.viewBox.baseVal.width;
    let best = dots[0];
    for (const d of dots) {
      if (Math.abs(d.cx.baseVal.value - x) < Math.abs(best.cx.baseVal.value - x)) best = d;
    }
    if (best === active) return;
    active?.classList.remove("active");
    best.classList.add("active");
    active = best;
    tip.textContent = best.dataset.tip;
    tip.hidden = false;
  };
  svg.addEventListener("pointermove", show);
  svg.addEventListener("pointerdown", show);
  svg.addEventListener("pointerleave", () => {
    active?.classList.remove("active");
    active = null;
    tip.hidden = true;
  });
}
