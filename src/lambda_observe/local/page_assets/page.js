(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("trace-data").textContent);
  var ROW = 24;
  var MAP_NODES = 30; // the map draws the busiest nodes; the rest become one "other" node
  var FILTER_DELAY = 150; // ms of quiet typing before the filter applies
  var STATUSES = ["ok", "error", "fault", "throttle"];
  var WORST = { ok: 0, error: 1, throttle: 2, fault: 3 };
  var COLOURS = { ok: "#1d8102", error: "#e0b000", fault: "#d13212", throttle: "#8a4fc8" };
  var state = { shown: DATA.traces, trace: null, row: null };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    return e;
  }
  function num(v) { return typeof v === "number" && isFinite(v); }
  function ms(v) {
    if (!num(v)) return "-";
    return v >= 10000 ? (v / 1000).toFixed(1) + " s" : v.toFixed(v < 10 ? 2 : 0) + " ms";
  }
  function when(epoch) {
    var d = num(epoch) ? new Date(epoch * 1000) : null;
    if (!d || isNaN(d.getTime())) return "(no time)";
    return d.toISOString().replace("T", " ").slice(0, 19) + "Z";
  }
  function annText(ann) {
    return Object.keys(ann).map(function (k) { return k + "=" + ann[k].join("|"); }).join(" ");
  }

  // ---- layout
  var header = el("header");
  header.appendChild(el("h1", null, DATA.title || "Traces"));
  var meta = el("span", "meta");
  header.appendChild(meta);
  var filter = el("input");
  filter.id = "filter";
  filter.placeholder = "annotation filter: order_id=42 ColdStart=true";
  header.appendChild(filter);
  var status = el("select");
  status.id = "status";
  ["all"].concat(STATUSES).forEach(function (s) { var o = el("option", null, s); o.value = s; status.appendChild(o); });
  header.appendChild(status);
  document.body.appendChild(header);

  var main = el("main");
  var listSec = el("section");
  listSec.id = "traces";
  var listTitle = el("h2", null, "Traces");
  listSec.appendChild(listTitle);
  var listScroll = el("div", "scroll");
  listScroll.id = "trace-list";
  var listSpacer = el("div", "spacer");
  listScroll.appendChild(listSpacer);
  listSec.appendChild(listScroll);
  main.appendChild(listSec);

  var right = el("div");
  right.id = "right";
  var mapSec = el("section");
  mapSec.id = "map";
  mapSec.appendChild(el("h2", null, "Service map (traces in the list)"));
  var legend = el("div", "legend");
  [["ok", "OK"], ["error", "error (4xx)"], ["fault", "fault (5xx)"], ["throttle", "throttle (429)"]].forEach(function (p) {
    var s = el("span"); s.appendChild(el("i", "dot s-" + p[0])); s.appendChild(document.createTextNode(p[1])); legend.appendChild(s);
  });
  mapSec.appendChild(legend);
  var mapBox = el("div", "scroll");
  mapSec.appendChild(mapBox);
  right.appendChild(mapSec);

  var wfSec = el("section");
  wfSec.id = "waterfall";
  var wfTitle = el("h2", null, "Waterfall");
  wfSec.appendChild(wfTitle);
  var wfScroll = el("div", "scroll");
  wfScroll.id = "wf-list";
  var wfSpacer = el("div", "spacer");
  wfScroll.appendChild(wfSpacer);
  wfSec.appendChild(wfScroll);
  right.appendChild(wfSec);

  var detailSec = el("section");
  detailSec.appendChild(el("h2", null, "Selected entity"));
  var detail = el("div");
  detail.id = "detail";
  detail.appendChild(el("div", "empty", "Select a row of the waterfall."));
  detailSec.appendChild(detail);
  right.appendChild(detailSec);
  main.appendChild(right);
  document.body.appendChild(main);

  // ---- a virtual list: only the rows in view exist in the DOM
  function virtual(scroll, spacer, count, draw) {
    spacer.style.height = count * ROW + "px";
    function paint() {
      var first = Math.max(0, Math.floor(scroll.scrollTop / ROW) - 10);
      var last = Math.min(count, Math.ceil((scroll.scrollTop + (scroll.clientHeight || 600)) / ROW) + 10);
      spacer.textContent = "";
      for (var i = first; i < last; i++) {
        var row = draw(i);
        row.style.top = i * ROW + "px";
        spacer.appendChild(row);
      }
    }
    scroll.onscroll = function () { window.requestAnimationFrame(paint); };
    paint();
    return paint;
  }

  // ---- the trace list
  // terms: key=value, key="a value with spaces", or a word to find in ids, keys and values
  function terms(text) {
    return (text.match(/[^\s=]+="[^"]*"?|"[^"]*"?|\S+/g) || []).map(function (t) {
      return t.charAt(0) === '"' ? t.replace(/^"|"$/g, "") : t;
    });
  }
  function same(a, b) {
    if (a === b) return true;
    var x = Number(a), y = Number(b);
    return a.trim() !== "" && b.trim() !== "" && isFinite(x) && isFinite(y) && x === y;
  }
  function matches(trace, terms, wanted) {
    if (wanted !== "all" && trace.s !== wanted) return false;
    return terms.every(function (term) {
      var eq = term.indexOf("=");
      if (eq > 0) {
        var vals = trace.ann[term.slice(0, eq)];
        var v = term.slice(eq + 1).replace(/^"|"$/g, "");
        return !!vals && vals.some(function (x) { return same(x, v); });
      }
      var t = term.toLowerCase();
      if (trace.id.toLowerCase().indexOf(t) >= 0) return true;
      return Object.keys(trace.ann).some(function (k) {
        return k.toLowerCase().indexOf(t) >= 0 || trace.ann[k].some(function (v) { return v.toLowerCase().indexOf(t) >= 0; });
      });
    });
  }
  var paintList = null, mapOf = null, timer = null;
  function applyFilter() {
    timer = null;
    var wanted = terms(filter.value);
    var shown = DATA.traces.filter(function (t) { return matches(t, wanted, status.value); });
    var changed = !mapOf || shown.length !== state.shown.length || shown.some(function (t, i) { return t !== state.shown[i]; });
    state.shown = shown;
    listTitle.textContent = "Traces (" + state.shown.length + " of " + DATA.traces.length + ")";
    if (changed || !paintList) {
      listScroll.scrollTop = 0;
      paintList = virtual(listScroll, listSpacer, state.shown.length, drawTrace);
      drawMap(state.shown); // the map only changes when the set of traces does
      mapOf = true;
    }
    if (state.shown.length && state.shown.indexOf(state.trace) < 0) selectTrace(state.shown[0]);
    document.body.setAttribute("data-filter", filter.value + "\u0000" + status.value);
  }
  function soon() {
    if (timer !== null) window.clearTimeout(timer);
    timer = window.setTimeout(applyFilter, FILTER_DELAY);
  }
  function drawTrace(i) {
    var t = state.shown[i];
    var row = el("div", "trace-row" + (t === state.trace ? " selected" : ""));
    row.setAttribute("data-trace", t.id);
    row.appendChild(el("i", "dot s-" + t.s)).title = t.s;
    row.appendChild(el("span", "t", when(t.start)));
    row.appendChild(el("span", "d", ms(t.ms)));
    if (t.cold) row.appendChild(el("span", "badge", "cold start"));
    row.appendChild(el("span", "id", t.id));
    row.appendChild(el("span", "ann", annText(t.ann)));
    row.onclick = function () { selectTrace(t); };
    return row;
  }
  filter.oninput = soon;
  status.onchange = applyFilter;

  // ---- the waterfall
  var paintWf = null;
  function selectTrace(t) {
    state.trace = t;
    state.row = null;
    wfTitle.textContent = "Waterfall: " + t.id + " (" + t.rows.length + " entities, " + ms(t.ms) + ")";
    wfScroll.scrollTop = 0;
    paintWf = virtual(wfScroll, wfSpacer, t.rows.length, drawRow);
    if (paintList) paintList();
    showDetail(null);
  }
  function drawRow(i) {
    var t = state.trace, r = t.rows[i], span = Math.max(t.ms, 1e-6);
    var row = el("div", "wf-row" + (r === state.row ? " selected" : ""));
    row.setAttribute("data-status", r.s);
    var name = el("span", "name", r.name);
    name.style.paddingLeft = Math.min(r.d, 30) * 14 + "px";
    name.title = String(r.name);
    row.appendChild(name);
    if (r.c) row.appendChild(el("span", "badge", "cold"));
    if (r.n) {
      var note = el("span", "badge note", r.n.join("; "));
      note.setAttribute("data-note", r.n.join("; "));
      row.appendChild(note);
    }
    row.appendChild(el("span", "ms", ms(r.ms)));
    var track = el("span", "track");
    var bar = el("span", "bar " + r.s + (r.c ? " cold" : ""));
    bar.style.left = Math.min(Math.max(num(r.o) ? (r.o / span) * 100 : 0, 0), 100) + "%";
    bar.style.width = Math.min(Math.max(num(r.ms) ? (r.ms / span) * 100 : 0, 0.2), 100) + "%";
    bar.title = "starts at " + ms(r.o) + ", lasts " + ms(r.ms);
    track.appendChild(bar);
    row.appendChild(track);
    row.onclick = function () { state.row = r; paintWf(); showDetail(r); };
    return row;
  }
  function kv(table, key, value) {
    var tr = el("tr");
    tr.appendChild(el("td", null, key));
    tr.appendChild(el("td", null, typeof value === "string" ? value : JSON.stringify(value)));
    table.appendChild(tr);
  }
  function showDetail(r) {
    detail.textContent = "";
    if (!r) { detail.appendChild(el("div", "empty", "Select a row of the waterfall.")); return; }
    var head = el("table");
    kv(head, "name", r.name);
    kv(head, "id", r.id);
    kv(head, "status", r.s + (r.c ? " (cold start)" : ""));
    kv(head, "start offset", ms(r.o));
    kv(head, "duration", ms(r.ms));
    if (r.n) kv(head, "note", r.n.join("; "));
    detail.appendChild(head);
    ["annotations", "metadata", "aws", "http", "sql", "cause"].forEach(function (key) {
      if (r[key] === undefined) return;
      detail.appendChild(el("b", null, key));
      detail.appendChild(el("pre", key, JSON.stringify(r[key], null, 2)));
    });
  }

  // ---- the service map, over the traces in the list
  function drawMap(traces) {
    var nodes = {}, edges = {};
    traces.forEach(function (t) {
      t.hits.forEach(function (h) {
        var n = nodes[h[0]] || (nodes[h[0]] = { key: h[0], count: 0, total: 0, s: "ok", out: [] });
        n.count += 1; n.total += h[1];
        if (WORST[h[2]] > WORST[n.s]) n.s = h[2];
      });
      t.edges.forEach(function (e) {
        var k = e[0] + "\u0000" + e[1];
        var g = edges[k] || (edges[k] = { from: e[0], to: e[1], n: { ok: 0, error: 0, fault: 0, throttle: 0 }, s: "ok" });
        g.n[e[2]] += 1;
        if (WORST[e[2]] > WORST[g.s]) g.s = e[2];
      });
    });
    var keys = Object.keys(nodes);
    var other = null;
    if (keys.length > MAP_NODES) {
      // the busiest nodes keep their place; the rest are grouped, their edges merged
      keys.sort(function (a, b) { return nodes[b].count - nodes[a].count || (a < b ? -1 : a > b ? 1 : 0); });
      var kept = {};
      keys.slice(0, MAP_NODES - 1).forEach(function (k) { kept[k] = true; });
      var rest = keys.slice(MAP_NODES - 1);
      other = { key: "\u0000other", count: 0, total: 0, s: "ok", out: [], grouped: rest.length };
      rest.forEach(function (k) {
        var n = nodes[k];
        other.count += n.count; other.total += n.total;
        if (WORST[n.s] > WORST[other.s]) other.s = n.s;
        delete nodes[k];
      });
      nodes[other.key] = other;
      var merged = {};
      Object.keys(edges).forEach(function (k) {
        var e = edges[k], from = kept[e.from] ? e.from : other.key, to = kept[e.to] ? e.to : other.key;
        if (from === to) return;
        var mk = from + "\u0000" + to;
        var g = merged[mk] || (merged[mk] = { from: from, to: to, n: { ok: 0, error: 0, fault: 0, throttle: 0 }, s: "ok" });
        STATUSES.forEach(function (s) { g.n[s] += e.n[s]; });
        if (WORST[e.s] > WORST[g.s]) g.s = e.s;
      });
      edges = merged;
      keys = Object.keys(nodes);
    }
    var incoming = {};
    Object.keys(edges).forEach(function (k) { var e = edges[k]; incoming[e.to] = true; if (nodes[e.from]) nodes[e.from].out.push(e.to); });
    var depth = {}, queue = keys.filter(function (k) { return !incoming[k]; });
    if (!queue.length && keys.length) queue = [keys[0]];
    queue.forEach(function (k) { depth[k] = 0; });
    while (queue.length) {
      var k = queue.shift();
      nodes[k].out.forEach(function (o) { if (depth[o] === undefined && nodes[o]) { depth[o] = depth[k] + 1; queue.push(o); } });
    }
    var columns = {};
    keys.forEach(function (k) { var d = depth[k] === undefined ? 0 : depth[k]; (columns[d] = columns[d] || []).push(k); });
    var pos = {}, width = 0, height = 0;
    Object.keys(columns).forEach(function (d) {
      columns[d].sort().forEach(function (k, i) { pos[k] = { x: 90 + d * 210, y: 50 + i * 95 }; width = Math.max(width, 180 + d * 210); height = Math.max(height, 110 + i * 95); });
    });
    mapBox.textContent = "";
    if (!keys.length) { mapBox.appendChild(el("div", "empty", "No calls to draw.")); return; }
    var w = Math.max(width, 300), h = Math.max(height, 120);
    var root = svg("svg", { viewBox: "0 0 " + w + " " + h, width: w, height: h, id: "service-map" });
    var defs = svg("defs");
    STATUSES.forEach(function (s) {
      var m = svg("marker", { id: "arrow-" + s, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto" });
      m.appendChild(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: COLOURS[s] }));
      defs.appendChild(m);
    });
    root.appendChild(defs);
    Object.keys(edges).forEach(function (k) {
      var e = edges[k], a = pos[e.from], b = pos[e.to];
      if (!a || !b) return;
      var dx = b.x - a.x, dy = b.y - a.y, len = Math.max(Math.sqrt(dx * dx + dy * dy), 1);
      var line = svg("line", { x1: a.x + dx / len * 30, y1: a.y + dy / len * 30, x2: b.x - dx / len * 30, y2: b.y - dy / len * 30, "class": "edge " + e.s, "marker-end": "url(#arrow-" + e.s + ")", "data-edge": "" });
      var title = svg("title");
      title.textContent = STATUSES.map(function (s) { return s + ": " + e.n[s]; }).join(", ");
      line.appendChild(title);
      root.appendChild(line);
    });
    keys.forEach(function (k) {
      var n = nodes[k], p = pos[k];
      var info = n === other ? { kind: "other", label: "other hosts (" + other.grouped + ")" } : DATA.nodes[k] || { kind: "?", label: k };
      var g = svg("g", { "class": "node " + n.s, transform: "translate(" + p.x + "," + p.y + ")", "data-node": info.kind });
      g.appendChild(svg("circle", { r: 26 }));
      var count = svg("text", { y: 4 }); count.textContent = String(n.count); g.appendChild(count);
      var label = svg("text", { y: 42 }); label.textContent = info.label; g.appendChild(label);
      var stats = svg("text", { y: 55, "class": "kind" });
      stats.textContent = info.kind + " \u00b7 " + n.count + " req \u00b7 avg " + ms(n.total / n.count);
      g.appendChild(stats);
      root.appendChild(g);
    });
    mapBox.appendChild(root);
  }

  meta.textContent = DATA.traces.length + " traces, " + DATA.traces.reduce(function (a, t) { return a + t.rows.length; }, 0) + " entities; written " + DATA.generated;
  try {
    applyFilter();
    if (!DATA.traces.length) wfSpacer.appendChild(el("div", "empty", "No traces in this file."));
    document.body.setAttribute("data-ready", "1");
  } catch (err) {
    // a document this page does not understand: say so rather than stay blank
    document.body.appendChild(el("div", "empty", "This page could not draw these traces: " + err));
    document.body.setAttribute("data-error", String(err));
    throw err;
  }
})();
