"use strict";
// The explorable page: the data minigrad wrote (tensors, ops, the recorded backward steps)
// over the SVG that Graphviz drew. Node ids in the SVG (<title>) are the DOT ids: t0, op0, ...
(function () {
  const DATA = JSON.parse(document.getElementById("page-data").textContent);
  const svg = document.querySelector("#graph svg");
  const panel = document.getElementById("panel");
  const label = document.getElementById("step-label");
  const SVGNS = "http://www.w3.org/2000/svg";
  const nodeEl = {};
  const edgeEls = {};
  let selected = null;
  let current = -1; // the step shown: -1 is before backward()
  let timer = null;

  svg.querySelectorAll("g.node").forEach((g) => {
    const id = g.querySelector("title").textContent;
    nodeEl[id] = g;
    if (DATA.tensors[id] || DATA.ops[id]) {
      g.addEventListener("click", () => select(id));
    }
  });
  svg.querySelectorAll("g.edge").forEach((g) => {
    const id = g.querySelector("title").textContent;
    (edgeEls[id] = edgeEls[id] || []).push(g);
  });

  // ------------------------------------------------------------------ formatting

  function esc(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }
  function fmt(x) {
    if (x === undefined || x === null) return "-";
    if (typeof x === "string") return x; // "NaN", "inf", "-inf"
    if (x === 0) return "0";
    return Number(x).toPrecision(6);
  }
  function shape(s) {
    return s.shape.length === 0 ? "scalar" : "(" + s.shape.join(", ") + (s.shape.length === 1 ? ",)" : ")");
  }
  function tensorName(id) {
    const t = DATA.tensors[id];
    if (t && t.name) return t.name;
    return t && t.producer ? `output of ${DATA.ops[t.producer].name} (${id})` : id;
  }
  function ref(id, text) {
    return `<a class="ref" data-ref="${esc(id)}">${esc(text || tensorName(id))}</a>`;
  }
  function opText(id) {
    const op = DATA.ops[id];
    return op.name + (op.scope ? " in " + op.scope : "");
  }

  function statsTable(s, field) {
    const rows = [["shape", shape(s)], ["dtype", s.dtype]];
    if (s.size === 1 && s.min !== undefined) {
      rows.push(["value", fmt(s.min), "value"]);
    } else if (s.min !== undefined) {
      rows.push(["min", fmt(s.min)], ["mean", fmt(s.mean)], ["max", fmt(s.max)], ["std", fmt(s.std)]);
    }
    rows.push(["norm ‖·‖₂", fmt(s.norm), "norm"]);
    if (s.nan || s.inf) rows.push(["not finite", `<span class="bad">${s.nan} NaN, ${s.inf} inf</span>`]);
    return (
      '<table class="kv">' +
      rows
        .map((r) => {
          const attr = r[2] ? ` data-field="${field}-${r[2]}"` : "";
          return `<tr><td>${r[0]}</td><td class="num"${attr}>${r[1]}</td></tr>`;
        })
        .join("") +
      "</table>"
    );
  }

  // ------------------------------------------------------------------ pictures

  function colour(code) {
    if (code === 255) return [17, 17, 17];
    const v = (code - 127) / 127;
    const end = v < 0 ? [33, 102, 172] : [178, 24, 43];
    const a = Math.min(1, Math.abs(v));
    return end.map((c) => Math.round(255 + (c - 255) * a));
  }

  function picture(p) {
    if (!p) return "";
    const id = "pic" + Math.random().toString(36).slice(2);
    setTimeout(() => drawPicture(document.getElementById(id), p), 0);
    const cap = [`scale ±${fmt(p.scale)}`, p.caption].filter(Boolean).join("; ");
    return `<div class="picture"><canvas id="${id}"></canvas><div class="caption">${esc(cap)}</div></div>`;
  }

  function drawPicture(canvas, p) {
    if (!canvas) return;
    const bytes = Uint8Array.from(atob(p.data), (c) => c.charCodeAt(0));
    const rows = Math.ceil(p.tiles / p.cols);
    const gap = p.tiles > 1 ? 1 : 0;
    canvas.width = p.cols * (p.w + gap) - gap;
    canvas.height = rows * (p.h + gap) - gap;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
    for (let t = 0; t < p.tiles; t++) {
      const x0 = (t % p.cols) * (p.w + gap);
      const y0 = Math.floor(t / p.cols) * (p.h + gap);
      for (let i = 0; i < p.h; i++) {
        for (let j = 0; j < p.w; j++) {
          const rgb = colour(bytes[(t * p.h + i) * p.w + j]);
          const k = ((y0 + i) * canvas.width + x0 + j) * 4;
          img.data[k] = rgb[0];
          img.data[k + 1] = rgb[1];
          img.data[k + 2] = rgb[2];
          img.data[k + 3] = 255;
        }
      }
    }
    ctx.putImageData(img, 0, 0);
    // Whole pixels, at most 400 wide and 320 high (a tall stack of filters stays in view).
    const zoom = Math.max(1, Math.min(16, Math.floor(400 / canvas.width), Math.floor(320 / canvas.height)));
    canvas.style.width = canvas.width * zoom + "px";
  }

  // A line chart of one or more series over epochs, log scale (zeros and gaps left out).
  function chart(epochs, series) {
    const W = 400, H = 170, L = 52, R = 8, T = 8, B = 24;
    const all = [];
    Object.values(series).forEach((v) => v.forEach((x) => { if (typeof x === "number" && x > 0) all.push(Math.log10(x)); }));
    if (!all.length) return '<p class="hint">no gradient norms recorded</p>';
    let lo = Math.min(...all), hi = Math.max(...all);
    if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
    const e0 = Math.min(...epochs), e1 = Math.max(...epochs);
    const X = (e) => L + (e1 === e0 ? 0.5 : (e - e0) / (e1 - e0)) * (W - L - R);
    const Y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
    const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
    let out = `<svg class="chart" xmlns="${SVGNS}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`;
    for (let d = Math.ceil(lo); d <= Math.floor(hi); d++) {
      out += `<line x1="${L}" x2="${W - R}" y1="${Y(d)}" y2="${Y(d)}" stroke="#eee"/><text x="${L - 4}" y="${Y(d) + 3}" text-anchor="end">1e${d}</text>`;
    }
    out += `<text x="${L - 4}" y="${H - B + 12}" text-anchor="end">epoch</text>`;
    out += `<text x="${X(e0)}" y="${H - 6}" text-anchor="middle">${e0}</text><text x="${X(e1)}" y="${H - 6}" text-anchor="middle">${e1}</text>`;
    const legend = [];
    Object.entries(series).forEach(([name, values], i) => {
      const c = palette[i % palette.length];
      const pts = values.map((v, k) => (typeof v === "number" && v > 0 ? `${X(epochs[k]).toFixed(1)},${Y(Math.log10(v)).toFixed(1)}` : null)).filter(Boolean);
      out += `<polyline fill="none" stroke="${c}" stroke-width="1.8" points="${pts.join(" ")}"/>`;
      pts.forEach((pt) => { const [x, y] = pt.split(","); out += `<circle cx="${x}" cy="${y}" r="2" fill="${c}"/>`; });
      legend.push(`<span style="color:${c}">&#9632;</span> ${esc(name)}`);
    });
    out += "</svg>";
    return out + (legend.length > 1 ? `<div class="caption">${legend.join(" &nbsp; ")}</div>` : "");
  }

  // ------------------------------------------------------------------ panels

  function show(html) {
    panel.innerHTML = html;
    panel.querySelectorAll("a.ref").forEach((a) => a.addEventListener("click", () => select(a.dataset.ref)));
    panel.querySelectorAll("[data-step]").forEach((a) => a.addEventListener("click", () => go(Number(a.dataset.step))));
  }

  function tensorPanel(id) {
    const t = DATA.tensors[id];
    const kinds = { parameter: "parameter (a leaf the model owns)", leaf: "leaf (requires grad)", input: "input (no gradient needed)", computed: "computed by an op", root: "the root: backward() starts here" };
    let h = `<h2 data-field="title">${esc(tensorName(id))}</h2><table class="kv">`;
    h += `<tr><td>kind</td><td>${kinds[t.kind]}</td></tr>`;
    if (t.producer) h += `<tr><td>made by</td><td>${ref(t.producer, opText(t.producer))}</td></tr>`;
    if (t.consumers.length) h += `<tr><td>used by</td><td>${t.consumers.map((o) => ref(o, opText(o))).join(", ")}</td></tr>`;
    h += "</table><h3>value</h3>" + statsTable(t.value.stats, "value") + picture(t.value.picture);
    h += "<h3>gradient dL/d(" + esc(t.name || id) + ")</h3>";
    if (t.grad) {
      h += statsTable(t.grad.stats, "grad") + picture(t.grad.picture);
    } else {
      h += `<p class="hint">${t.requires_grad ? "backward() sent no gradient here" : "none: this tensor does not require a gradient"}</p>`;
    }
    if (t.received.length > 1) {
      h += `<h3>received ${t.received.length} gradients (it is used ${t.received.length} times)</h3><ol>`;
      t.received.forEach((r) => {
        h += `<li>from ${ref(r.op, DATA.ops[r.op].name + ".backward")} as ${esc(r.arg)}, <a class="ref" data-step="${r.step}">step ${r.step + 1}</a>: ‖·‖ ${fmt(r.stats.norm)}</li>`;
      });
      h += `</ol><div class="sum">their sum is the gradient above: ‖·‖ <span data-field="sum-norm">${fmt(t.grad.stats.norm)}</span></div>`;
    }
    const hist = DATA.history && DATA.history.series[t.name];
    if (hist) {
      h += "<h3>‖dL/d" + esc(t.name) + "‖ over training (mean per epoch, log scale)</h3>" + chart(DATA.history.epochs, { [t.name]: hist });
    }
    return h;
  }

  function opPanel(id) {
    const op = DATA.ops[id];
    const out = DATA.tensors[op.output];
    let h = `<h2 data-field="title">${esc(op.name)}</h2><table class="kv">`;
    if (op.scope) h += `<tr><td>module</td><td>${esc(op.scope)}</td></tr>`;
    Object.entries(op.attrs).forEach(([k, v]) => { h += `<tr><td>${esc(k)}</td><td class="num">${esc(v)}</td></tr>`; });
    op.inputs.forEach((i) => {
      const t = DATA.tensors[i.tensor];
      h += `<tr><td>input ${esc(i.arg)}</td><td>${ref(i.tensor)} ${shape(t.value.stats)} ${t.value.stats.dtype}${i.needs_grad ? "" : " (no gradient)"}</td></tr>`;
    });
    h += `<tr><td>output</td><td>${ref(op.output)} ${shape(out.value.stats)} ${out.value.stats.dtype}</td></tr>`;
    if (op.step !== null) h += `<tr><td>its VJP</td><td><a class="ref" data-step="${op.step}">runs at step ${op.step + 1} of ${DATA.steps.length}</a></td></tr>`;
    h += `</table><h3>forward and VJP (${esc(op.cls)}'s docstring)</h3><pre class="doc">${esc(op.doc || "(no docstring)")}</pre>`;
    if (op.step !== null) h += stepDetails(op.step);
    return h;
  }

  function stepDetails(k) {
    const s = DATA.steps[k];
    const op = DATA.ops[s.op];
    const out = DATA.tensors[op.output].name;
    let h = `<h3>received ${out ? "dL/d" + esc(out) : "dL/d(output)"}, the sum of what reached ${ref(op.output, "its output")}</h3>` + statsTable(s.grad, "received");
    h += "<h3>sent to its inputs</h3><ul>";
    s.sent.forEach((x) => {
      const part = x.of > 1 ? ` (gradient ${x.arrival} of ${x.of} it receives)` : "";
      h += `<li>dL/d${esc(x.arg)} &rarr; ${ref(x.tensor)}: ${shape(x.stats)}, ‖·‖ <span class="num" data-field="sent-${esc(x.tensor)}">${fmt(x.stats.norm)}</span>${part}</li>`;
    });
    if (!s.sent.length) h += "<li>nothing (no input needs a gradient)</li>";
    h += "</ul>";
    Object.entries(s.total).forEach(([tid, total]) => {
      const t = DATA.tensors[tid];
      h += `<div class="sum" data-field="sum-${esc(tid)}"><b>${ref(tid)}</b> has now received all ${t.received.length} of its gradients:<ol>`;
      t.received.forEach((r) => { h += `<li>${esc(r.arg)} of ${esc(DATA.ops[r.op].name)} (step ${r.step + 1}): ‖·‖ ${fmt(r.stats.norm)}</li>`; });
      h += `</ol>sum: ${shape(total)}, ‖·‖ <span class="num" data-field="sum-norm">${fmt(total.norm)}</span></div>`;
    });
    return h;
  }

  function stepPanel(k) {
    if (k < 0) {
      return `<h2>before backward()</h2><p>The walk runs ${DATA.steps.length} VJPs, each op's once, from the root to the leaves, in the order the engine ran them. Press <b>step</b> (or the right arrow key) to run them one by one; click any node to inspect it.</p>` +
        (DATA.history ? '<p>This model was trained: <a class="ref" id="history-link">see each parameter\'s gradient norm over training</a>.</p>' : "");
    }
    const s = DATA.steps[k];
    const op = DATA.ops[s.op];
    return `<h2 data-field="step-title">step ${k + 1} of ${DATA.steps.length}: ${esc(op.name)}.backward</h2>` +
      `<p class="hint">${op.scope ? "in " + esc(op.scope) + " &middot; " : ""}${ref(s.op, "details of this op")}</p>` +
      stepDetails(k) + `<h3>VJP</h3><pre class="doc">${esc(op.doc)}</pre>`;
  }

  function historyPanel() {
    const h = DATA.history;
    return "<h2>gradients over training</h2><p>Each parameter's gradient norm ‖dL/dW‖, averaged over the steps sampled in each epoch, on a log scale: a curve that falls by orders of magnitude is a vanishing gradient, one that climbs is exploding.</p>" + chart(h.epochs, h.series);
  }

  // ------------------------------------------------------------------ selection and the walk

  function select(id) {
    if (selected && nodeEl[selected]) nodeEl[selected].classList.remove("selected");
    selected = id;
    if (nodeEl[id]) nodeEl[id].classList.add("selected");
    show(DATA.tensors[id] ? tensorPanel(id) : opPanel(id));
  }

  function clearWalk() {
    svg.querySelectorAll(".current, .done, .sent, .has-grad, .receives").forEach((e) => e.classList.remove("current", "done", "sent", "has-grad", "receives"));
    svg.querySelectorAll(".grad-label").forEach((e) => e.remove());
  }

  // The label sits on the edge; several labels of one step are spread along their edges.
  function edgeLabel(g, text, nth) {
    const path = g.querySelector("path");
    if (!path || !path.getTotalLength) return;
    const len = path.getTotalLength();
    const pt = path.getPointAtLength(len * (0.5 - 0.2 * (nth % 3)));
    const t = document.createElementNS(SVGNS, "text");
    t.setAttribute("class", "grad-label");
    t.setAttribute("x", pt.x + 4);
    t.setAttribute("y", pt.y + 4 + 14 * (nth % 3));
    t.textContent = text;
    g.appendChild(t);
    const box = t.getBBox();
    const r = document.createElementNS(SVGNS, "rect");
    r.setAttribute("class", "grad-label");
    r.setAttribute("x", box.x - 2);
    r.setAttribute("y", box.y - 1);
    r.setAttribute("width", box.width + 4);
    r.setAttribute("height", box.height + 2);
    r.setAttribute("rx", 2);
    g.insertBefore(r, t);
  }

  function go(k) {
    current = Math.max(-1, Math.min(DATA.steps.length - 1, k));
    clearWalk();
    const arrived = {};
    let labels = 0;
    for (let j = 0; j <= current; j++) {
      const s = DATA.steps[j];
      if (nodeEl[s.op]) nodeEl[s.op].classList.add(j === current ? "current" : "done");
      s.sent.forEach((x) => {
        arrived[x.tensor] = (arrived[x.tensor] || 0) + 1;
        if (arrived[x.tensor] === x.of && nodeEl[x.tensor]) nodeEl[x.tensor].classList.add("has-grad");
        if (j !== current) return;
        const edges = edgeEls[x.edge] || [];
        // x * x draws two edges into mul, labelled a and b: light the one this gradient took.
        const own = edges.filter((g) => Array.from(g.querySelectorAll("text")).some((e) => e.textContent === x.arg));
        (own.length ? own : edges).forEach((g) => {
          g.classList.add("sent");
          edgeLabel(g, `dL/d${x.arg} ${shape(x.stats)} ‖·‖ ${fmt(x.stats.norm)}`, labels++);
        });
      });
      if (j === current) Object.keys(s.total).forEach((tid) => nodeEl[tid] && nodeEl[tid].classList.add("receives"));
    }
    label.textContent = current < 0 ? `before backward(): ${DATA.steps.length} VJPs to run` : `step ${current + 1} of ${DATA.steps.length}: ${DATA.ops[DATA.steps[current].op].name}.backward`;
    document.getElementById("step-prev").disabled = current < 0;
    document.getElementById("step-next").disabled = current >= DATA.steps.length - 1;
    show(stepPanel(current));
    const link = document.getElementById("history-link");
    if (link) link.addEventListener("click", () => show(historyPanel()));
    if (current >= 0 && nodeEl[DATA.steps[current].op]) {
      nodeEl[DATA.steps[current].op].scrollIntoView({ block: "center", inline: "center" });
    }
  }

  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
    document.getElementById("step-play").textContent = "play";
  }

  document.getElementById("step-next").addEventListener("click", () => { stop(); go(current + 1); });
  document.getElementById("step-prev").addEventListener("click", () => { stop(); go(current - 1); });
  document.getElementById("step-reset").addEventListener("click", () => { stop(); go(-1); });
  document.getElementById("step-play").addEventListener("click", () => {
    if (timer) return stop();
    if (current >= DATA.steps.length - 1) go(-1);
    document.getElementById("step-play").textContent = "pause";
    timer = setInterval(() => (current >= DATA.steps.length - 1 ? stop() : go(current + 1)), 900);
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "ArrowRight") { stop(); go(current + 1); }
    else if (e.key === "ArrowLeft") { stop(); go(current - 1); }
    else if (e.key === "Home") { stop(); go(-1); }
  });
  const historyButton = document.getElementById("show-history");
  if (DATA.history) {
    historyButton.hidden = false;
    historyButton.addEventListener("click", () => show(historyPanel()));
  }
  go(-1);
})();
