// Go-Live Ledger dashboard: fetches /v1/series, draws small SVG charts, and refetches when the
// ledger's head moves: pushed by /v1/stream (server-sent events, read with fetch so that the
// token can be sent), polling /v1/head every 2 s when the stream cannot be had. Plain
// JavaScript, no libraries.
//
// Simulated data never passes for real: every answer says what of it synthetic events make (its
// `synthetic` member: how many there are, and the share tree, the answer minus the sourced-only
// answer). The page says so in a banner, marks the trusts and figures with a synthetic share,
// and its "Sourced only" control asks every answer without them (exclude_synthetic=true).
//
// Money arrives as integer pence. Every amount is parsed into a BigInt (from the JSON source
// text, so even amounts beyond 2^53 pence stay exact) and shown in pounds by integer division
// and remainder: no floating-point rounding reaches a figure on the page. Charts convert to
// Number only to place points.
'use strict';

(function () {
  const POLL_MS = 2000;
  const SVGNS = 'http://www.w3.org/2000/svg';
  const DAY_MS = 86400000;
  const MONTH_DAYS = 30.436875;
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const PALETTE = ['#005eb8', '#d5281b', '#009639', '#7c2855', '#ed8b00', '#00a499',
    '#330072', '#8a6d00', '#ae2573', '#425563'];
  const DASHES = ['', '7 4', '2 3', '10 3 2 3'];
  const STATUS = {
    planned: { text: 'Planned', fill: '#c3ccd5', ink: '#1d2733' },
    go_live: { text: 'Live', fill: '#005eb8', ink: '#ffffff' },
    resumed: { text: 'Resumed', fill: '#41b6e6', ink: '#1d2733' },
    stabilised: { text: 'Stabilised', fill: '#009639', ink: '#ffffff' },
    fit_to_deploy: { text: 'Fit to deploy', fill: '#78be20', ink: '#1d2733' },
    paused: { text: 'Paused', fill: '#ffb81c', ink: '#1d2733', alarm: true },
    halted: { text: 'Halted', fill: '#c8102e', ink: '#ffffff', alarm: true },
    withdrawn: { text: 'Withdrawn', fill: '#425563', ink: '#ffffff', alarm: true },
  };
  const RULES = {
    net_cost: 'Net cost over the limit',
    income_at_risk: 'Too much income still at risk',
    open_lost_growth: 'Lost patients rising week after week',
    serious_incident: 'A patient came to harm',
    reporting_suspended: 'Waiting-time reporting suspended',
    programme_sites_halting: 'Several trusts of this programme should halt',
  };

  const errors = [];
  window.__dashboardErrors = errors;
  window.addEventListener('error', (e) => errors.push(String(e.message)));
  window.addEventListener('unhandledrejection', (e) => errors.push(String(e.reason)));

  const state = {
    // When the page last fell back from /v1/stream to polling (0: never).
    streamTriedAt: 0,
    trust: '',
    align: false,
    // "Sourced only": every data request asks for exclude_synthetic=true.
    sourcedOnly: false,
    // Trust code -> 'wholly' | 'partly': how much of its figures simulated events make.
    marks: new Map(),
    data: null,
    seq: null,
    generation: 0,
    lastChange: null,
    // Answers of /v1/money, /v1/coverage, /v1/warnings, /v1/evidence, /v1/claims,
    // /v1/usage-burden and /v1/recovery (aligned on go-live) at the page's seq; each null when the ledger does not serve it (the page
    // then shows "—").
    extra: {},
  };

  // ---------------------------------------------------------------- formatting

  function parseJson(text) {
    return JSON.parse(text, function (key, value, context) {
      if (typeof value === 'number' && /_pence$/.test(key)) {
        if (context && typeof context.source === 'string') return BigInt(context.source);
        return BigInt(value);
      }
      return value;
    });
  }

  function group(digits) {
    return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  }

  /** Integer pence (BigInt) as pounds: 123456789n -> "£1,234,567.89", negatives "-£12.00". */
  function pounds(pence) {
    const p = typeof pence === 'bigint' ? pence : BigInt(pence);
    const neg = p < 0n;
    const a = neg ? -p : p;
    const whole = group((a / 100n).toString());
    const frac = (a % 100n).toString().padStart(2, '0');
    return (neg ? '-' : '') + '£' + whole + '.' + frac;
  }

  /** Whole number with thousands separators. */
  function count(n) {
    return group(String(n));
  }

  /** Approximate pounds for chart axes only: 2500000 -> "£2.5m". */
  function poundsShort(v) {
    const a = Math.abs(v);
    const trim = (x) => String(+x.toFixed(1));
    let s;
    if (a >= 1e9) s = trim(a / 1e9) + 'bn';
    else if (a >= 1e6) s = trim(a / 1e6) + 'm';
    else if (a >= 1e3) s = trim(a / 1e3) + 'k';
    else s = trim(a);
    return (v < 0 ? '-£' : '£') + s;
  }

  function toMs(t) {
    return Date.parse(t);
  }

  function monthMs(m) {
    const [y, mo] = m.split('-').map(Number);
    return Date.UTC(y, mo - 1, 1);
  }

  function nextMonthMs(m) {
    const [y, mo] = m.split('-').map(Number);
    return Date.UTC(y, mo, 1);
  }

  function dateText(t) {
    if (t === null || t === undefined) return '–';
    const d = new Date(typeof t === 'number' ? t : toMs(t));
    return d.getUTCDate() + ' ' + MONTHS[d.getUTCMonth()] + ' ' + d.getUTCFullYear();
  }

  function monthText(m) {
    const [y, mo] = m.split('-').map(Number);
    return MONTHS[mo - 1] + ' ' + y;
  }

  function statusText(s) {
    return s ? (STATUS[s] ? STATUS[s].text : s.replace(/_/g, ' ')) : 'No status yet';
  }

  // ---------------------------------------------------------------- DOM helpers

  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return e;
  }

  function s(tag, attrs, parent) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      e.setAttribute(k, String(v));
    }
    if (parent) parent.appendChild(e);
    return e;
  }

  function stext(parent, x, y, text, attrs) {
    const t = s('text', Object.assign({ x: x, y: y }, attrs || {}), parent);
    t.textContent = text;
    return t;
  }

  function byId(id) {
    return document.getElementById(id);
  }

  function setText(id, text) {
    byId(id).textContent = text;
  }

  function replace(node, ...children) {
    node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
  }

  /** A trust's colour: by its place among all trusts while the palette suffices (stable as the
   *  figures change); beyond that, by its place among the trusts drawn, and grey if not drawn. */
  function colourOf(code) {
    const d = state.data;
    if (!d) return { colour: PALETTE[0], dash: '' };
    let i = d.all_trusts.indexOf(code);
    if (d.all_trusts.length > PALETTE.length) {
      i = plotted(d).indexOf(code);
      if (i < 0) return { colour: '#9aa5b1', dash: '' };
    }
    i = Math.max(0, i);
    return { colour: PALETTE[i % PALETTE.length], dash: DASHES[Math.floor(i / PALETTE.length) % DASHES.length] };
  }

  function swatch(code) {
    return h('span', { class: 'swatch', style: null, 'data-colour': colourOf(code).colour });
  }

  // Colours are set through the CSSOM (allowed by the page's Content-Security-Policy).
  function paintSwatches(root) {
    for (const e of root.querySelectorAll('[data-colour]')) e.style.background = e.dataset.colour;
  }

  // ---------------------------------------------------------------- scales and axes

  function niceStep(span, target) {
    const raw = span / Math.max(1, target);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 2.5, 5, 10]) {
      if (raw <= m * mag) return m * mag;
    }
    return 10 * mag;
  }

  const W = 1120;
  const M = { left: 78, right: 46, top: 14, bottom: 36 };

  /** A chart frame: grid, y axis (0..yMax), x axis over [x0, x1] (ms, or days since go-live). */
  function frame(svg, H, x0, x1, yMax, yFmt, aligned) {
    const iw = W - M.left - M.right;
    const ih = H - M.top - M.bottom;
    const xs = (x) => M.left + ((x - x0) / Math.max(1e-9, x1 - x0)) * iw;
    const top = yMax > 0 ? yMax : 1;
    const step = niceStep(top, 5);
    const yTop = Math.ceil(top / step) * step;
    const ys = (v) => M.top + ih - (v / yTop) * ih;
    const grid = s('g', { class: 'grid' }, svg);
    const axis = s('g', { class: 'axis' }, svg);
    for (let v = 0; v <= yTop + step / 2; v += step) {
      s('line', { x1: M.left, x2: W - M.right, y1: ys(v), y2: ys(v) }, grid);
      stext(axis, M.left - 8, ys(v) + 4, yFmt(v), { 'text-anchor': 'end', 'font-size': 12 });
    }
    s('line', { x1: M.left, x2: W - M.right, y1: M.top + ih, y2: M.top + ih }, axis);
    for (const t of xTicks(x0, x1, aligned)) {
      const x = xs(t.x);
      s('line', { x1: x, x2: x, y1: M.top + ih, y2: M.top + ih + 5 }, axis);
      if (t.grid) s('line', { x1: x, x2: x, y1: M.top, y2: M.top + ih }, grid);
      stext(axis, x, M.top + ih + 19, t.label, { 'text-anchor': 'middle', 'font-size': 12 });
    }
    if (aligned && x0 < 0 && x1 > 0) {
      s('line', { class: 'golive-line', x1: xs(0), x2: xs(0), y1: M.top, y2: M.top + ih }, svg);
    }
    return { xs, ys, ih };
  }

  function xTicks(x0, x1, aligned) {
    const out = [];
    if (aligned) {
      const months = (x1 - x0) / MONTH_DAYS;
      const step = [1, 2, 3, 6, 12, 24, 60].find((m) => months / m <= 9) || 120;
      const first = Math.ceil(x0 / MONTH_DAYS / step) * step;
      for (let k = first; k * MONTH_DAYS <= x1; k += step) {
        let label;
        if (k === 0) label = 'go-live';
        else if (step >= 12 && k % 12 === 0) label = (k > 0 ? '+' : '') + k / 12 + (Math.abs(k) === 12 ? ' year' : ' years');
        else label = (k > 0 ? '+' : '') + k + ' mo';
        out.push({ x: k * MONTH_DAYS, label, grid: true });
      }
      return out;
    }
    const d0 = new Date(x0);
    const months = (x1 - x0) / DAY_MS / MONTH_DAYS;
    const step = [1, 2, 3, 6, 12, 24, 60].find((m) => months / m <= 9) || 120;
    let y = d0.getUTCFullYear();
    let m = d0.getUTCMonth();
    // First month boundary at or after x0 that is a multiple of the step.
    let t = Date.UTC(y, m, 1);
    if (t < x0) { m += 1; t = Date.UTC(y, m, 1); }
    for (let guard = 0; guard < 400 && t <= x1; guard++) {
      const d = new Date(t);
      const mi = d.getUTCFullYear() * 12 + d.getUTCMonth();
      if (mi % step === 0) {
        const label = step >= 12 ? String(d.getUTCFullYear()) : MONTHS[d.getUTCMonth()] + ' ' + d.getUTCFullYear();
        out.push({ x: t, label, grid: true });
      }
      m += 1;
      t = Date.UTC(y, m, 1);
    }
    return out;
  }

  function newSvg(box, H, labelId, description) {
    const svg = s('svg', {
      viewBox: '0 0 ' + W + ' ' + H,
      role: 'img',
      'aria-labelledby': labelId,
      preserveAspectRatio: 'xMidYMid meet',
    });
    const title = s('title', {}, svg);
    title.textContent = description;
    replace(box, svg);
    return svg;
  }

  function empty(box, text) {
    replace(box, h('p', { class: 'chart-empty' }, text));
  }

  // ---------------------------------------------------------------- series helpers

  /** Trusts shown on the charts, in picker order. */
  function chartTrusts(d) {
    return Object.keys(d.trusts).sort((a, b) => d.all_trusts.indexOf(a) - d.all_trusts.indexOf(b));
  }

  /** At most this many trusts are drawn on one chart; more would be a tangle. */
  const PLOTTED_MAX = 10;

  function hasSeries(t) {
    return t.weekly_open_lost.length > 0 ||
      t.monthly.some((m) => m.net_cost_pence !== 0n || m.income_at_risk_pence !== 0n);
  }

  /** The trusts drawn on the charts: those with figures; with more than PLOTTED_MAX, the ones
   *  with the highest net cost (then most lost patients). */
  const plottedCache = new WeakMap();

  function plotted(d) {
    if (!plottedCache.has(d)) plottedCache.set(d, pickPlotted(d));
    return plottedCache.get(d);
  }

  function pickPlotted(d) {
    let codes = chartTrusts(d).filter((c) => hasSeries(d.trusts[c]));
    if (codes.length > PLOTTED_MAX) {
      const keep = new Set(codes.slice().sort((a, b) => {
        const ta = d.trusts[a]; const tb = d.trusts[b];
        if (ta.net_cost_pence !== tb.net_cost_pence) return ta.net_cost_pence > tb.net_cost_pence ? -1 : 1;
        return tb.open_lost_patients - ta.open_lost_patients || a.localeCompare(b);
      }).slice(0, PLOTTED_MAX));
      codes = codes.filter((c) => keep.has(c));
    }
    return codes;
  }

  /** x of a time for a trust: ms (calendar) or days since its go-live (aligned); null = skip. */
  function xOf(d, code, ms) {
    if (!state.align) return ms;
    const g = d.trusts[code].go_live;
    if (!g) return null;
    return (ms - toMs(g)) / DAY_MS;
  }

  /** Step lines: each point holds its value from x until the next point's x. */
  function stepPath(points, xs, ys) {
    let p = '';
    for (let i = 0; i < points.length; i++) {
      const [x, v, xEnd] = points[i];
      p += (i === 0 ? 'M' : 'L') + xs(x).toFixed(1) + ',' + ys(v).toFixed(1);
      p += 'L' + xs(xEnd).toFixed(1) + ',' + ys(v).toFixed(1);
    }
    return p;
  }

  function drawLines(box, H, labelId, description, lines, yFmt) {
    const pts = lines.flatMap((l) => l.points);
    if (pts.length === 0) return false;
    let x0 = Math.min(...pts.map((p) => p[0]));
    let x1 = Math.max(...pts.map((p) => p[2]));
    if (x1 <= x0) x1 = x0 + (state.align ? 30 : 30 * DAY_MS);
    if (state.align) { x0 = Math.min(x0, 0); }
    const yMax = Math.max(...pts.map((p) => p[1]));
    const svg = newSvg(box, H, labelId, description);
    const f = frame(svg, H, x0, x1, yMax, yFmt, state.align);
    const ends = [];
    for (const l of lines) {
      if (l.points.length === 0) continue;
      const { colour, dash } = colourOf(l.code);
      const path = s('path', {
        d: stepPath(l.points, f.xs, f.ys),
        fill: 'none',
        stroke: colour,
        'stroke-width': 2.5,
        'stroke-linejoin': 'round',
        'stroke-dasharray': dash || null,
      }, svg);
      s('title', {}, path).textContent = l.title;
      const last = l.points[l.points.length - 1];
      ends.push({ code: l.code, colour, x: f.xs(last[2]), y: f.ys(last[1]) - 4 });
    }
    // Name each line at its end; nudge names apart so that equal values stay readable.
    ends.sort((a, b) => b.y - a.y);
    for (let i = 1; i < ends.length; i++) {
      if (ends[i - 1].y - ends[i].y < 13) ends[i].y = ends[i - 1].y - 13;
    }
    for (const e of ends) {
      const right = e.x + 40 > W;
      stext(svg, right ? e.x - 2 : e.x + 4, e.y, e.code, {
        'font-size': 12, 'font-weight': 700, fill: e.colour, 'text-anchor': right ? 'end' : 'start',
      });
    }
    return true;
  }

  function renderLostChart(d) {
    const lines = [];
    const latest = [];
    for (const code of plotted(d)) {
      const t = d.trusts[code];
      const pts = [];
      for (let i = 0; i < t.weekly_open_lost.length; i++) {
        const w = t.weekly_open_lost[i];
        const ms = toMs(w.week_start);
        const x = xOf(d, code, ms);
        const xe = xOf(d, code, ms + 7 * DAY_MS);
        if (x === null) continue;
        pts.push([x, w.open, xe]);
      }
      if (pts.length) {
        lines.push({ code, points: pts, title: code + ': lost patients not yet traced, by week' });
        const w = t.weekly_open_lost[t.weekly_open_lost.length - 1];
        latest.push(code + ' ' + count(w.open) + ' (week of ' + dateText(w.week_start) + ')');
      }
    }
    const ok = drawLines(byId('chart-lost'), 250, 'h-chart-lost',
      'Line chart of lost patients not yet traced per trust, by week', lines, (v) => count(Math.round(v)));
    if (!ok) empty(byId('chart-lost'), 'No lost patients recorded.');
    setText('cap-lost', latest.length
      ? 'Latest: ' + latest.join('; ') + '. Total not yet traced now: ' + count(d.headline.open_lost_patients) + '.'
      : 'No lost patients recorded.');
  }

  function renderCostChart(d) {
    const lines = [];
    const latest = [];
    for (const code of plotted(d)) {
      const t = d.trusts[code];
      const pts = [];
      for (const m of t.monthly) {
        const x = xOf(d, code, monthMs(m.month));
        if (x === null) continue;
        pts.push([x, Number(m.cumulative_net_cost_pence) / 100, xOf(d, code, nextMonthMs(m.month))]);
      }
      if (pts.length) {
        lines.push({ code, points: pts, title: code + ': net cost so far, by month' });
        latest.push(code + ' ' + pounds(t.net_cost_pence));
      }
    }
    const ok = drawLines(byId('chart-cost'), 250, 'h-chart-cost',
      'Line chart of the net cost so far per trust, by month', lines, poundsShort);
    if (!ok) empty(byId('chart-cost'), 'No costs recorded.');
    setText('cap-cost', latest.length
      ? 'Net cost so far: ' + latest.join('; ') + '. All shown: ' + pounds(d.headline.net_cost_pence) + '.'
      : 'No costs recorded.');
  }

  function renderIncomeChart(d) {
    const box = byId('chart-income');
    // Stack each month's income at risk by trust. Calendar: by month; aligned: by months since
    // the trust's go-live.
    const slots = new Map();
    let biggest = null;
    const totals = [];
    for (const code of plotted(d)) {
      const t = d.trusts[code];
      const g = t.go_live;
      for (const m of t.monthly) {
        if (m.income_at_risk_pence === 0n) continue;
        let key; let x0; let x1;
        if (state.align) {
          if (!g) continue;
          const gd = new Date(toMs(g));
          const [y, mo] = m.month.split('-').map(Number);
          const k = (y * 12 + mo - 1) - (gd.getUTCFullYear() * 12 + gd.getUTCMonth());
          key = 'k' + k; x0 = k * MONTH_DAYS; x1 = (k + 1) * MONTH_DAYS;
        } else {
          key = m.month; x0 = monthMs(m.month); x1 = nextMonthMs(m.month);
        }
        if (!slots.has(key)) slots.set(key, { x0, x1, parts: [], total: 0n, label: m.month });
        const slot = slots.get(key);
        slot.parts.push({ code, v: Number(m.income_at_risk_pence) / 100, pence: m.income_at_risk_pence });
        slot.total += m.income_at_risk_pence;
        if (!biggest || m.income_at_risk_pence > biggest.pence) biggest = { code, month: m.month, pence: m.income_at_risk_pence };
      }
      if (t.income_at_risk_pence !== 0n) totals.push(code + ' ' + pounds(t.income_at_risk_pence));
    }
    if (slots.size === 0) {
      empty(box, 'No income at risk recorded.');
      setText('cap-income', 'No income at risk recorded.');
      return;
    }
    // The x range covers the same span as the other charts, so they line up by eye.
    let x0 = Infinity; let x1 = -Infinity;
    for (const code of plotted(d)) {
      for (const m of d.trusts[code].monthly) {
        const a = xOf(d, code, monthMs(m.month));
        if (a === null) continue;
        x0 = Math.min(x0, a); x1 = Math.max(x1, xOf(d, code, nextMonthMs(m.month)));
      }
      const wk = d.trusts[code].weekly_open_lost;
      if (wk.length) {
        const a = xOf(d, code, toMs(wk[0].week_start));
        if (a !== null) { x0 = Math.min(x0, a); x1 = Math.max(x1, xOf(d, code, toMs(wk[wk.length - 1].week_start) + 7 * DAY_MS)); }
      }
    }
    for (const sl of slots.values()) { x0 = Math.min(x0, sl.x0); x1 = Math.max(x1, sl.x1); }
    if (state.align) x0 = Math.min(x0, 0);
    const yMax = Math.max(...[...slots.values()].map((sl) => sl.parts.reduce((a, p) => a + p.v, 0)));
    const svg = newSvg(box, 230, 'h-chart-income', 'Bar chart of income put at risk each month, stacked by trust');
    const f = frame(svg, 230, x0, x1, yMax, poundsShort, state.align);
    for (const sl of slots.values()) {
      let base = 0;
      const left = f.xs(sl.x0);
      const width = Math.max(3, f.xs(sl.x1) - left - 1);
      for (const p of sl.parts) {
        const yTop = f.ys(base + p.v);
        const rect = s('rect', { x: left, y: yTop, width, height: Math.max(1, f.ys(base) - yTop), fill: colourOf(p.code).colour }, svg);
        s('title', {}, rect).textContent = p.code + ', ' + monthText(sl.label) + ': ' + pounds(p.pence) + ' put at risk';
        base += p.v;
      }
    }
    setText('cap-income', 'Income put at risk so far: ' + totals.join('; ') + '. All shown: ' +
      pounds(d.headline.income_at_risk_pence) + '. Largest single month: ' + biggest.code + ', ' +
      monthText(biggest.month) + ' (' + pounds(biggest.pence) + ').');
  }

  // ---------------------------------------------------------------- recovery against baseline

  /** The points of one point of delivery's recovery series: calendar (x in ms, the middle of
   *  each month) or aligned on the go-live (x in days: weeks since go-live times 7). */
  function recoveryPoints(p) {
    if (state.align) {
      return (p.aligned || []).map((a) => ({
        x: a.weeks_since_go_live * 7, pct: a.pct_of_baseline, carried: a.carried, label: a.label,
        at: 'week ' + a.weeks_since_go_live,
      }));
    }
    return p.months.map((m) => ({
      x: (monthMs(m.period) + nextMonthMs(m.period)) / 2, pct: m.pct_of_baseline, carried: m.carried,
      label: m.period, at: monthText(m.period),
    }));
  }

  /** One line per trust and point of delivery: activity as a percentage of its baseline. A dark
   *  month is a hollow point at the carried value, with the line broken around it (a gap, never
   *  a zero). Aligned: every trust on weeks since its own go-live (the dashed line). */
  function renderRecoveryChart() {
    const box = byId('chart-recovery');
    const view = state.extra.recovery;
    const series = [];
    for (const [code, t] of Object.entries(dig(view, 'trusts') || {})) {
      for (const [pod, p] of Object.entries(t.points_of_delivery)) {
        const pts = recoveryPoints(p).filter((q) => q.pct !== null);
        if (pts.length) series.push({ code, pod, p, pts });
      }
    }
    if (series.length === 0) {
      empty(box, view ? 'No activity against a baseline recorded.' : NONE);
      setText('cap-recovery', view ? 'No activity against a baseline recorded.' : NONE);
      return;
    }
    const all = series.flatMap((l) => l.pts);
    let x0 = Math.min(...all.map((q) => q.x));
    let x1 = Math.max(...all.map((q) => q.x));
    const pad = state.align ? 7 : 15 * DAY_MS;
    x0 -= pad; x1 += pad;
    if (state.align) x0 = Math.min(x0, 0);
    const yMax = Math.max(100, ...all.map((q) => q.pct));
    const svg = newSvg(box, 260, 'h-chart-recovery', 'Line chart of activity as a percentage of its baseline per trust');
    const f = frame(svg, 260, x0, x1, yMax, (v) => Math.round(v) + '%', state.align);
    s('line', { class: 'target-line', x1: f.xs(x0), x2: f.xs(x1), y1: f.ys(95), y2: f.ys(95) }, svg);
    stext(svg, f.xs(x1) - 2, f.ys(95) - 4, '95%', { 'text-anchor': 'end', 'font-size': 11 });
    const said = [];
    for (const l of series) {
      const { colour, dash } = colourOf(l.code);
      let d = '';
      let pen = false;
      for (const q of l.pts) {
        if (q.carried) { pen = false; continue; }
        d += (pen ? 'L' : 'M') + f.xs(q.x).toFixed(1) + ',' + f.ys(q.pct).toFixed(1);
        pen = true;
      }
      const path = s('path', { d, fill: 'none', stroke: colour, 'stroke-width': 2.5, 'stroke-dasharray': dash || null }, svg);
      s('title', {}, path).textContent = l.code + ' ' + l.pod.replace(/_/g, ' ') + ': activity as % of baseline';
      for (const q of l.pts) {
        const c = s('circle', {
          cx: f.xs(q.x), cy: f.ys(q.pct), r: q.carried ? 4.5 : 3.5,
          fill: q.carried ? '#ffffff' : colour, stroke: colour, 'stroke-width': 2,
          class: q.carried ? 'recovery-point carried' : 'recovery-point',
          'data-testid': 'recovery-point', 'data-trust': l.code, 'data-pod': l.pod, 'data-label': q.label,
          'data-x': state.align ? String(q.x / 7) : q.label, 'data-pct': String(q.pct),
          'data-carried': q.carried ? 'true' : 'false',
        }, svg);
        s('title', {}, c).textContent = l.code + ' ' + l.pod.replace(/_/g, ' ') + ', ' + q.at + ': ' + q.pct + '% of baseline' +
          (q.carried ? ' (no report: the last reported value, carried forward)' : '');
      }
      const last = l.pts[l.pts.length - 1];
      stext(svg, f.xs(last.x) + 6, f.ys(last.pct) + 4, l.code, { 'font-size': 12, 'font-weight': 700, fill: colour });
      const w = l.p.weeks_to_95_pct;
      said.push(l.code + ' ' + l.pod.replace(/_/g, ' ') + ': ' + (w === null ? 'no go-live or baseline'
        : w === 'not_yet' ? 'not yet back at 95%' : 'back at 95% after ' + w + ' weeks (' + l.p.returned_to_95_pct_in + ')'));
    }
    setText('cap-recovery', said.join('; ') + '. Hollow points are months with no report: the last reported ' +
      'value carried forward, not a figure. ' + (state.align ? 'Weeks since each trust\'s own go-live (week 0).' : ''));
  }

  function renderLegend(d) {
    const shown = plotted(d);
    const items = shown.map((c) => h('span', { 'data-trust': c }, swatch(c), c, trustMark(c)));
    replace(byId('legend'), items);
    paintSwatches(byId('legend'));
    const hint = byId('time-hint');
    const withFigures = chartTrusts(d).filter((c) => hasSeries(d.trusts[c])).length;
    const more = withFigures > shown.length
      ? ' The ' + shown.length + ' trusts with the highest net cost are drawn, of ' + withFigures +
        ' with figures; pick a trust above to see any other.'
      : '';
    if (state.align) {
      const notLive = shown.filter((c) => !d.trusts[c].go_live);
      hint.textContent = 'Each trust is lined up on its own go-live day (the dashed line), so you can compare how ' +
        'the first weeks and months went.' + (notLive.length ? ' Not live yet, so not shown: ' + notLive.join(', ') + '.' : '') + more;
    } else {
      hint.textContent = 'Each colour is one trust; dates are when things happened. Tick the box above to line the trusts up on their go-live day.' + more;
    }
  }


  // ---------------------------------------------------------------- simulated (synthetic) data

  /** A `{"sourced_only": v}` node of a share tree: the value differs as a whole (v is the
   *  sourced-only value; null when only synthetic events make it). */
  function isWhole(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v) &&
      Object.prototype.hasOwnProperty.call(v, 'sourced_only') && Object.keys(v).length === 1;
  }

  /** The synthetic share of the figure at `path` in a share tree (golive_projections::synthetic):
   *  undefined when it has none; { diff } (the answer minus the sourced-only answer) for a
   *  number; { whole: true } when only synthetic events make it (it or an object above it is not
   *  in the sourced-only answer); { other } for any other difference. */
  function shareAt(share, ...path) {
    let v = share;
    for (const k of path) {
      if (v === null || v === undefined || typeof v !== 'object') return undefined;
      if (isWhole(v)) return v.sourced_only === null ? { whole: true } : { other: v };
      v = v[k];
    }
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'bigint') return v === 0n ? undefined : { diff: v };
    if (typeof v === 'number') return v === 0 ? undefined : { diff: v };
    if (isWhole(v) && v.sourced_only === null) return { whole: true };
    return { other: v };
  }

  /** The share at `path` of /v1/series' answer. */
  function seriesShare(...path) {
    return shareAt(dig(state.data, 'synthetic', 'share'), ...path);
  }

  /** The share at `path` of one of the other answers the page holds (state.extra[name]). */
  function extraShare(name, ...path) {
    return shareAt(dig(state.extra[name], 'synthetic', 'share'), ...path);
  }

  /** Marks (or unmarks) `node`, a figure showing `value`, with its synthetic share `sh`: the class
   *  synthetic-share, data-synthetic-share and a title that says what the figure is without the
   *  simulated events. Returns the node. */
  function markShare(node, sh, value) {
    node.classList.toggle('synthetic-share', !!sh);
    const note = node.dataset.shareNote;
    if (note && node.title.endsWith(note)) node.title = node.title.slice(0, -note.length).replace(/\n$/, '');
    delete node.dataset.shareNote;
    if (!sh) {
      delete node.dataset.syntheticShare;
      if (!node.title) node.removeAttribute('title');
      return node;
    }
    node.dataset.syntheticShare = 'true';
    let why = 'Includes simulated (synthetic) events, which are not reported facts.';
    if (sh.whole) why = 'Only simulated (synthetic) events make this figure: it is not a reported fact.';
    else if ('diff' in sh && typeof value === typeof sh.diff) {
      const without = value - sh.diff;
      why = 'Includes simulated (synthetic) events: without them this figure would be ' +
        (typeof value === 'bigint' ? pounds(without) : count(without)) + '.';
    }
    node.title = (node.title ? node.title + '\n' : '') + why;
    node.dataset.shareNote = why;
    return node;
  }

  /** Every object-valued `trusts` member of a share tree, and their keys (each view lists its
   *  trusts under `trusts`, keyed by ODS code). */
  function sharedTrusts(share, out) {
    if (share === null || typeof share !== 'object') return out;
    for (const [k, v] of Object.entries(share)) {
      if (k === 'trusts' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
        for (const code of Object.keys(v)) out.add(code);
      }
      sharedTrusts(v, out);
    }
    return out;
  }

  const EXTRA_NAMES = ['money', 'coverage', 'warnings', 'evidence', 'claims', 'usageBurden', 'recovery'];

  /** The trusts whose figures include synthetic data: those /v1/series names (every trust of
   *  the ledger, wholly or partly), and those the share trees of the other answers shown name. */
  function trustMarks(d) {
    const marks = new Map(Object.entries(dig(d, 'synthetic', 'trusts') || {}));
    const more = new Set();
    for (const name of EXTRA_NAMES) sharedTrusts(dig(state.extra[name], 'synthetic', 'share'), more);
    for (const code of more) if (!marks.has(code)) marks.set(code, 'partly');
    return marks;
  }

  /** Some figure the page shows includes synthetic data. */
  function pageAffected(d) {
    return !!dig(d, 'synthetic', 'affected') ||
      EXTRA_NAMES.some((name) => !!dig(state.extra[name], 'synthetic', 'affected'));
  }

  /** A trust's mark, wherever the trust is listed: SIMULATED when only synthetic events name it,
   *  "includes synthetic" when some of its figures include them; nothing otherwise. */
  function trustMark(code) {
    const part = state.marks.get(code);
    if (!part) return '';
    const wholly = part === 'wholly';
    return h('span', {
      class: 'badge synthetic-mark ' + part, 'data-testid': 'synthetic-mark', 'data-trust': code, 'data-part': part,
      title: wholly
        ? 'Simulated: only synthetic (simulated) events name this trust; none of its figures is a reported fact.'
        : 'Some of this trust\'s figures include synthetic (simulated) events, which are not reported facts.',
    }, wholly ? 'SIMULATED' : 'includes synthetic');
  }

  function syntheticOnly(w, code) {
    return w.synthetic_only
      ? h('span', { class: 'badge synthetic-only', 'data-testid': 'synthetic-only', 'data-trust': code || null,
        title: 'This warning fired only because of synthetic (simulated) events: without them it would not.' },
      'synthetic only')
      : '';
  }

  function eventsText(n) {
    return h('span', { 'data-testid': 'synthetic-events' }, count(n));
  }

  /** The banner: which figures come from simulated events, or that they are left out. */
  function renderSynthetic(d) {
    const b = byId('synthetic-banner');
    const sy = d.synthetic || { excluded: false, events: 0, affected: false };
    const events = (n) => [eventsText(n), n === 1 ? ' synthetic (simulated) event' : ' synthetic (simulated) events'];
    document.body.dataset.sourced = sy.excluded ? 'true' : 'false';
    byId('sourced-only').checked = state.sourcedOnly;
    b.classList.toggle('sourced', !!sy.excluded);
    if (sy.excluded) {
      b.dataset.mode = 'sourced';
      replace(b, h('strong', {}, 'Sourced figures only. '), sy.events
        ? ['Every figure on this page leaves out the ledger\'s ', ...events(sy.events),
          ', as if they had never been appended. Untick \u201cSourced only\u201d to include them.']
        : 'The ledger holds no synthetic (simulated) events: every figure is as reported.');
      b.hidden = false;
    } else if (pageAffected(d)) {
      b.dataset.mode = 'synthetic';
      replace(b, h('strong', {}, 'Some figures on this page come from simulated (synthetic) events. '),
        'The ledger holds ', events(sy.events), ': made by a simulator or marked synthetic by their source, ' +
        'they are not reported facts. Trusts marked SIMULATED exist only in simulated events; trusts marked ' +
        '\u201cincludes synthetic\u201d, and figures shaded amber, include some. Tick \u201cSourced only\u201d ' +
        'to see the reported figures alone.');
      b.hidden = false;
    } else {
      b.dataset.mode = 'none';
      replace(b);
      b.hidden = true;
    }
  }

  // ---------------------------------------------------------------- rollout timeline

  /** A programme's name, short enough for the timeline's label column. */
  function programmeLabel(name) {
    const acronym = /\(([^()]{2,12})\)\s*$/.exec(name);
    if (acronym) return acronym[1] + ' programme';
    return name.length > 22 ? name.slice(0, 21) + '…' : name;
  }

  function renderTimeline(d) {
    const box = byId('chart-rollout');
    const rows = [];
    for (const [name, p] of Object.entries(d.programmes)) {
      if (p.rollout.length) rows.push({ label: programmeLabel(name), full: name, entries: p.rollout, programme: true });
    }
    for (const code of chartTrusts(d)) {
      const t = d.trusts[code];
      if (t.rollout.length) rows.push({ label: code, full: code, entries: t.rollout, programme: false });
    }
    if (rows.length === 0) {
      empty(box, 'No rollout status recorded yet.');
      setText('cap-rollout', 'No rollout status recorded yet.');
      replace(byId('rollout-legend'));
      return;
    }
    const times = rows.flatMap((r) => r.entries.map((e) => toMs(e.occurred_at)));
    const asAt = d.as_at ? toMs(d.as_at) : Math.max(...times);
    const x0 = Math.min(...times) - 20 * DAY_MS;
    const x1 = Math.max(asAt, Math.max(...times) + 30 * DAY_MS);
    const rowH = 30;
    const LM = 170;
    const H = M.top + rows.length * rowH + M.bottom;
    const svg = newSvg(box, H, 'h-rollout', 'Timeline of each trust\'s rollout status');
    const iw = W - LM - M.right;
    const xs = (x) => LM + ((x - x0) / (x1 - x0)) * iw;
    const grid = s('g', { class: 'grid' }, svg);
    const axis = s('g', { class: 'axis' }, svg);
    const yBottom = M.top + rows.length * rowH;
    for (const t of xTicks(x0, x1, false)) {
      s('line', { x1: xs(t.x), x2: xs(t.x), y1: M.top, y2: yBottom }, grid);
      stext(axis, xs(t.x), yBottom + 19, t.label, { 'text-anchor': 'middle', 'font-size': 12 });
    }
    s('line', { x1: LM, x2: W - M.right, y1: yBottom, y2: yBottom }, axis);
    const captions = [];
    const used = new Set();
    rows.forEach((r, i) => {
      const y = M.top + i * rowH + 4;
      const hgt = rowH - 8;
      const label = stext(svg, LM - 10, y + hgt / 2 + 4, r.label, {
        'text-anchor': 'end', 'font-size': 13, 'font-weight': r.programme ? 400 : 700,
      });
      s('title', {}, label).textContent = r.full;
      const part = r.programme ? '' : state.marks.get(r.label);
      if (part) {
        // The trust's mark, in the label column: its name first, then what is simulated.
        label.textContent = '';
        s('tspan', {}, label).textContent = r.label;
        const mark = s('tspan', { 'font-size': 10, 'font-weight': 700, fill: '#7a4200', dx: 4, class: 'synthetic-mark' }, label);
        mark.textContent = part === 'wholly' ? 'SIMULATED' : 'incl. synthetic';
        s('title', {}, label).textContent = r.full + (part === 'wholly'
          ? ': only simulated (synthetic) events name this trust' : ': some figures include simulated (synthetic) events');
      }
      const entries = r.entries.slice().sort((a, b) => toMs(a.occurred_at) - toMs(b.occurred_at));
      entries.forEach((e, j) => {
        const a = toMs(e.occurred_at);
        const b = j + 1 < entries.length ? toMs(entries[j + 1].occurred_at) : x1;
        const st = STATUS[e.status] || { text: e.status, fill: '#9aa5b1', ink: '#1d2733' };
        used.add(e.status);
        const xa = xs(a);
        const w = Math.max(2, xs(b) - xa);
        const rect = s('rect', {
          x: xa, y, width: w, height: hgt, rx: 3, fill: st.fill,
          stroke: st.alarm ? '#1d2733' : 'none', 'stroke-width': st.alarm ? 1.2 : 0,
        }, svg);
        s('title', {}, rect).textContent = r.full + ': ' + st.text + (e.release ? ' (' + e.release + ')' : '') +
          ' from ' + dateText(e.occurred_at) + (e.trust ? ', reported by ' + e.trust : '') + (e.reason ? '. ' + e.reason : '');
        const text = st.text + (e.release ? ' ' + e.release : '');
        if (w > text.length * 7 + 10) {
          stext(svg, xa + 6, y + hgt / 2 + 4, text, { 'font-size': 12, fill: st.ink, 'font-weight': st.alarm ? 700 : 400, 'pointer-events': 'none' });
        }
      });
      const lastE = entries[entries.length - 1];
      captions.push((r.programme ? r.full : r.label) + ': ' + statusText(lastE.status).toLowerCase() +
        ' since ' + dateText(lastE.occurred_at));
    });
    setText('cap-rollout', 'Now: ' + captions.join('; ') + '.');
    const legend = Object.keys(STATUS).filter((k) => used.has(k)).map((k) => {
      const sw = h('span', { class: 'swatch', 'data-colour': STATUS[k].fill });
      return h('span', {}, sw, STATUS[k].text + (STATUS[k].alarm ? ' (needs attention)' : ''));
    });
    replace(byId('rollout-legend'), legend);
    paintSwatches(byId('rollout-legend'));
  }

  // ---------------------------------------------------------------- tiles, tables, board

  function renderTiles(d) {
    const hl = d.headline;
    setText('tile-live', count(hl.trusts_live));
    markShare(byId('tile-live'), seriesShare('headline', 'trusts_live'), hl.trusts_live);
    setText('tile-live-note', 'of ' + count(hl.trusts) + (hl.trusts === 1 ? ' trust' : ' trusts'));
    markShare(byId('tile-live-note'), seriesShare('headline', 'trusts'));
    setText('tile-open-lost', count(hl.open_lost_patients));
    markShare(byId('tile-open-lost'), seriesShare('headline', 'open_lost_patients'), hl.open_lost_patients);
    const cost = byId('tile-net-cost');
    cost.textContent = pounds(hl.net_cost_pence);
    cost.dataset.pence = hl.net_cost_pence.toString();
    markShare(cost, seriesShare('headline', 'net_cost_pence'), hl.net_cost_pence);
    const inc = byId('tile-income');
    inc.textContent = pounds(hl.income_at_risk_pence);
    inc.dataset.pence = hl.income_at_risk_pence.toString();
    markShare(inc, seriesShare('headline', 'income_at_risk_pence'), hl.income_at_risk_pence);
    setText('tile-income-note', pounds(hl.income_recovered_pence) + ' recovered so far');
    markShare(byId('tile-income-note'), seriesShare('headline', 'income_recovered_pence'), hl.income_recovered_pence);
    setText('tile-halt', count(hl.halt_recommended.length));
    setText('tile-halt-list', hl.halt_recommended.length ? hl.halt_recommended.join(', ') : 'none');
    markShare(byId('tile-halt'), seriesShare('headline', 'halt_recommended'));
    markShare(byId('tile-halt-list'), seriesShare('headline', 'halt_recommended'));
    const box = byId('tile-halt-box');
    box.classList.toggle('alarm', hl.halt_recommended.length > 0);
    box.classList.toggle('calm', hl.halt_recommended.length === 0);
  }

  const NONE = '\u2014';

  /** A field deep in an optional answer, or undefined. */
  function dig(v, ...path) {
    for (const k of path) {
      if (v === null || v === undefined) return undefined;
      v = v[k];
    }
    return v;
  }

  function moneyOf(code) {
    return code ? dig(state.extra.money, 'trusts', code, 'total') : dig(state.extra.money, 'total');
  }

  /** The synthetic share of the estimated figures beside a net cost (all trusts for null). */
  function estimatedShare(code) {
    const path = ['by_status', 'estimated', 'net_cost_pence'];
    return code ? extraShare('money', 'trusts', code, 'total', ...path) : extraShare('money', 'total', ...path);
  }

  function estimatedText(fig) {
    const e = dig(fig, 'by_status', 'estimated', 'net_cost_pence');
    return e === undefined ? NONE : '+ ' + pounds(e) + ' estimated, not in net cost';
  }

  function renderMeaning() {
    setText('tile-estimated', estimatedText(moneyOf(null)));
    markShare(byId('tile-estimated'), estimatedShare(null));
    const threat = dig(moneyOf(null), 'penalties_threatened_pence');
    const ex = byId('tile-exposure');
    ex.textContent = threat === undefined ? NONE : pounds(threat);
    if (threat !== undefined) ex.dataset.pence = threat.toString();
    markShare(ex, extraShare('money', 'total', 'penalties_threatened_pence'), threat);
    renderCoverage();
  }

  function evidenceOf(code, group) {
    return dig(state.extra.evidence, 'trusts', code, group);
  }

  function sourceLine(s) {
    return s.type.replace(/_/g, ' ') + ': ' + s.ref + ' (' + s.events + (s.events === 1 ? ' event)' : ' events)');
  }

  /** The figure's value, its disputed badge, and its sources on hover and click. */
  function withEvidence(code, group, valueNode) {
    const ev = evidenceOf(code, group);
    if (!ev) return [valueNode];
    if (ev.sources.length) {
      valueNode.title = (valueNode.title ? valueNode.title + '\n' : '') + 'Sources:\n' + ev.sources.map(sourceLine).join('\n');
      valueNode.classList.add('has-sources');
      valueNode.addEventListener('click', () => showSources(code, group));
    }
    const out = [valueNode];
    if (ev.disputed) {
      out.push(h('span', { class: 'badge disputed', 'data-testid': 'disputed-' + code + '-' + group,
        title: 'Another report disputes these figures' }, 'disputed'));
    }
    return out;
  }

  const GROUP_NAMES = { money: 'money figures', lost: 'lost-patient figures' };

  function showSources(code, group) {
    const ev = evidenceOf(code, group);
    const panel = byId('sources-panel');
    const items = (ev ? ev.sources : []).map((s) => h('li', {},
      h('span', { class: 'muted' }, s.type.replace(/_/g, ' ') + ': '),
      s.url ? h('a', { href: s.url, rel: 'noopener noreferrer', target: '_blank' }, s.ref) : s.ref,
      ' (' + s.events + (s.events === 1 ? ' event)' : ' events)')));
    const close = h('button', { type: 'button', 'data-testid': 'sources-close' }, 'Close');
    close.addEventListener('click', () => { panel.hidden = true; });
    replace(panel,
      h('h3', {}, 'Sources of ' + code + ' ' + (GROUP_NAMES[group] || group) + (ev && ev.disputed ? ' (disputed)' : '')),
      items.length ? h('ul', {}, items) : h('p', {}, 'No sources recorded.'),
      close);
    panel.dataset.trust = code;
    panel.dataset.group = group;
    panel.hidden = false;
    const box = evidenceBox(code, group);
    if (box) {
      panel.insertBefore(box, close);
      showEvents(box, code, group, 0);
    }
  }

  // ---------------------------------------------------------------- the events behind a figure

  // Events listed per page in the panel (the API's evidence_limit).
  const EVIDENCE_PAGE = 50;

  /** Which answer lists the events behind a group's figure of a trust, and which of its lines. */
  const EVIDENCE_OF = {
    money: { path: '/v1/money', title: 'Events behind the net cost',
      lines: (ev, code) => ev.lines.filter((l) => l.line.trust === code && l.line.measure === 'net_cost') },
    lost: { path: '/v1/lost-patients', title: 'Events behind the open cases',
      lines: (ev, code) => ev.lines.filter((l) => l.line.trust === code) },
  };

  function evidenceBox(code, group) {
    if (!EVIDENCE_OF[group]) return null;
    return h('div', { class: 'evidence-events', 'data-testid': 'evidence-events', 'data-state': 'loading' },
      h('h4', {}, EVIDENCE_OF[group].title),
      h('p', { class: 'muted' }, 'Loading the events\u2026'),
      h('ol', { 'data-testid': 'evidence-list' }));
  }

  function relationText(r) {
    return { disputes: 'disputes', corroborates: 'corroborates', restates: 'restates' }[r.relation] || r.relation;
  }

  /** One event behind the figure: its part, kind, date, status, sources, corrections, links. */
  function evidenceItem(e) {
    const sources = (e.sources || []).map((s) => h('li', {},
      h('span', { class: 'muted' }, s.type.replace(/_/g, ' ') + ': '),
      s.url ? h('a', { href: s.url, rel: 'noopener noreferrer', target: '_blank' }, s.ref) : s.ref));
    const notes = [];
    if (e.status !== 'reported') notes.push(e.status);
    if (e.synthetic) notes.push('synthetic');
    if (e.supersedes) notes.push('corrects an earlier report');
    if (e.relates_to) notes.push(relationText(e.relates_to) + ' another report');
    return h('li', { 'data-testid': 'evidence-event', 'data-event-id': e.event_id,
      'data-part-pence': e.part_pence === undefined ? null : e.part_pence.toString(),
      title: 'event ' + e.event_id + ', seq ' + e.seq },
      e.part_pence === undefined ? '' : h('strong', { class: 'num' }, pounds(e.part_pence) + ' '),
      e.kind.replace(/_/g, ' ') + ', recorded ' + dateText(e.recorded_at),
      notes.length ? h('span', { class: 'muted' }, ' (' + notes.join('; ') + ')') : '',
      sources.length ? h('ul', { class: 'evidence-sources' }, sources) : '');
  }

  /** Lists a page of the events behind `code`'s `group` figure at the page's seq, with a button
   *  for the next page when the figure is made of more. */
  async function showEvents(box, code, group, offset) {
    const of = EVIDENCE_OF[group];
    const q = '?trust=' + encodeURIComponent(code) + '&as_of_seq=' + state.seq +
      (state.sourcedOnly ? '&exclude_synthetic=true' : '') +
      '&evidence=true&evidence_limit=' + EVIDENCE_PAGE + '&evidence_offset=' + offset;
    const note = box.querySelector('p');
    let lines;
    try {
      lines = of.lines((await getJson(of.path + q)).evidence, code);
    } catch (e) {
      note.textContent = 'Cannot list the events: ' + e.message;
      box.dataset.state = 'error';
      return;
    }
    const list = box.querySelector('ol');
    for (const l of lines) for (const e of l.events) list.appendChild(evidenceItem(e));
    const total = lines.reduce((n, l) => n + l.events_total, 0);
    const shown = list.children.length;
    note.textContent = total === 0 ? 'No events in force.' : shown + ' of ' + total + (total === 1 ? ' event' : ' events') +
      (lines.length === 1 && lines[0].amount_pence !== undefined ? ', adding up to ' + pounds(lines[0].amount_pence) : '') + '.';
    box.dataset.total = String(total);
    const old = box.querySelector('button');
    if (old) old.remove();
    if (lines.some((l) => l.events_total > offset + l.events.length)) {
      const more = h('button', { type: 'button', 'data-testid': 'evidence-more' }, 'More events');
      more.addEventListener('click', () => showEvents(box, code, group, offset + EVIDENCE_PAGE));
      box.appendChild(more);
    }
    box.dataset.state = 'ready';
  }

  const COVERAGE_TEXT = { reporting: 'reporting', silent: 'silent', dark: 'dark' };

  function coverageNote(c) {
    if (c.last_event_at === null || c.last_event_at === undefined) return 'silent: no events';
    const w = c.weeks_since_last_event;
    const weeks = w === undefined || w === null ? '' : ', ' + count(w) + (w === 1 ? ' week' : ' weeks') + ' since the last';
    const dark = (c.dark_datasets || []).map((x) => x.dataset).join(', ');
    return 'last event ' + dateText(c.last_event_at) + weeks + (dark ? '; dark: ' + dark : '');
  }

  function renderCoverage() {
    const cov = state.extra.coverage;
    const totals = dig(cov, 'totals');
    setText('coverage-totals', totals
      ? count(totals.reporting) + ' reporting, ' + count(totals.silent) + ' silent, ' + count(totals.dark) + ' dark' +
        (cov.silent_after_weeks !== undefined ? ' (silent after ' + count(cov.silent_after_weeks) + ' weeks without events)' : '')
      : NONE);
    const blocks = Object.entries(dig(cov, 'programmes') || {}).map(([name, p]) => h('div', { class: 'coverage-programme' },
      h('h3', {}, name),
      h('ul', {}, Object.entries(p.trusts || {})
        .filter(([code]) => !state.trust || code === state.trust)
        .map(([code, c]) => h('li', { 'data-trust': code },
          h('strong', {}, code), trustMark(code), ' ',
          h('span', { class: 'badge coverage-state ' + c.state, 'data-testid': 'coverage-state-' + code },
            COVERAGE_TEXT[c.state] || c.state), ' ',
          (c.live ? 'live; ' : '') + coverageNote(c))))));
    replace(byId('coverage-panel'), blocks.length ? blocks : [h('p', { class: 'muted' }, NONE)]);
  }

  function verdict(t, code) {
    if (code && dig(state.extra.warnings, 'trusts', code, 'state') === 'unknown') {
      return { cls: 'unknown', text: 'UNKNOWN' };
    }
    if (t.halt_recommended) return { cls: 'halt', text: 'HALT RECOMMENDED' };
    if (t.warnings.length) return { cls: 'warn', text: 'WARNING' };
    return { cls: 'ok', text: 'OK' };
  }

  function renderTrustTable(d) {
    const rows = chartTrusts(d).map((code) => {
      const t = d.trusts[code];
      const v = verdict(t, code);
      const st = t.status
        ? h('span', { class: 'badge status status-' + t.status }, statusText(t.status) + (t.release ? ' (' + t.release + ')' : ''))
        : h('span', { class: 'muted' }, 'no status yet');
      const fig = (node, key) => markShare(node, seriesShare('trusts', code, key), t[key]);
      return h('tr', { 'data-trust': code, 'data-synthetic': t.synthetic ? 'true' : null },
        h('th', { scope: 'row' }, swatch(code), code, trustMark(code)),
        h('td', {}, markShare(st, seriesShare('trusts', code, 'status'))),
        h('td', {}, markShare(h('span', {}, t.go_live ? dateText(t.go_live) : 'not yet'), seriesShare('trusts', code, 'go_live'))),
        h('td', { class: 'num' }, withEvidence(code, 'lost',
          fig(h('span', { 'data-testid': 'open-lost-' + code }, count(t.open_lost_patients)), 'open_lost_patients'))),
        h('td', { class: 'num' }, withEvidence(code, 'money',
          fig(h('span', { 'data-testid': 'net-cost-' + code, 'data-pence': t.net_cost_pence.toString() }, pounds(t.net_cost_pence)), 'net_cost_pence')),
          markShare(h('div', { class: 'est', 'data-testid': 'estimated-' + code }, estimatedText(moneyOf(code))), estimatedShare(code))),
        fig(h('td', { class: 'num', 'data-testid': 'income-at-risk-' + code, 'data-pence': t.income_at_risk_pence.toString() }, pounds(t.income_at_risk_pence)), 'income_at_risk_pence'),
        h('td', {}, fig(h('span', { class: 'badge ' + v.cls, 'data-testid': 'verdict-' + code }, v.text), 'halt_recommended')));
    });
    const body = byId('trust-rows');
    replace(body, rows.length ? rows : [h('tr', {}, h('td', { colspan: 7, class: 'empty' }, 'No trusts in the ledger yet.'))]);
    paintSwatches(body);
  }

  function renderWarnings(d) {
    const banners = [];
    for (const [name, p] of Object.entries(d.programmes)) {
      for (const w of p.warnings) {
        banners.push(h('div', { class: 'programme-banner', 'data-testid': 'programme-warning' },
          h('h3', {}, name + ': ' + (RULES[w.id] || w.id), syntheticOnly(w, null)),
          h('p', {}, w.message + (w.since ? ' (since ' + dateText(w.since) + ')' : '') + '.')));
      }
    }
    replace(byId('programme-warnings'), banners);
    const rank = (t) => (t.halt_recommended ? 0 : 1);
    const unknown = (c) => verdict(d.trusts[c], c).cls === 'unknown';
    const flagged = chartTrusts(d).filter((c) => d.trusts[c].warnings.length > 0 || unknown(c))
      .sort((a, b) => rank(d.trusts[a]) - rank(d.trusts[b]) || d.all_trusts.indexOf(a) - d.all_trusts.indexOf(b));
    const fine = chartTrusts(d).filter((c) => d.trusts[c].warnings.length === 0 && !unknown(c));
    const cards = flagged.map((code) => {
      const t = d.trusts[code];
      const v = verdict(t, code);
      const sub = statusText(t.status) + (t.release ? ' (' + t.release + ')' : '') +
        (t.go_live ? ', live since ' + dateText(t.go_live) : '');
      const items = t.warnings.map((w) => h('li', { 'data-synthetic-only': w.synthetic_only ? 'true' : null },
        h('span', { class: 'what' }, RULES[w.id] || w.id.replace(/_/g, ' ')),
        w.halt ? '' : ' (for information)',
        syntheticOnly(w, code),
        ': ' + w.message,
        w.since ? h('span', { class: 'since' }, ' Since ' + dateText(w.since) + '.') : ''));
      return h('article', { class: 'card ' + v.cls, 'data-trust': code },
        h('h3', {}, h('span', {}, code, trustMark(code)),
          markShare(h('span', { class: 'badge ' + v.cls, 'data-testid': 'warning-status-' + code }, v.text),
            seriesShare('trusts', code, 'halt_recommended'))),
        h('p', { class: 'sub' }, sub),
        v.cls === 'unknown' ? h('p', { class: 'sub' }, 'Live but silent or dark: no news is not good news.') : '',
        h('ul', {}, items),
        warningClaims(code));
    });
    if (fine.length) {
      cards.push(h('article', { class: 'card ok' },
        h('h3', {}, h('span', {}, 'No limits crossed')),
        h('ul', { class: 'fine' }, fine.map((code) => {
          const t = d.trusts[code];
          return h('li', { 'data-trust': code },
            h('strong', {}, code), trustMark(code), ' ',
            h('span', { class: 'badge ok', 'data-testid': 'warning-status-' + code }, 'OK'), ' ',
            statusText(t.status) + (t.go_live ? ', live since ' + dateText(t.go_live) : ''),
            warningClaims(code));
        }))));
    }
    replace(byId('warnings-board'), cards);
  }

  // ---------------------------------------------------------------- claims against the evidence

  const CONTRADICTED = ['contradicted', 'contradicted_later'];

  const VERDICT_NOTE = {
    contradicted: 'the ledger held evidence against it at its date',
    contradicted_later: 'evidence against it became known after its date',
    unsupported: 'nothing either way',
    consistent: 'evidence for it and none against',
  };

  const CLAIM_TEXT = {
    successful_go_live: 'successful go-live',
    stable: 'stable',
    fit_to_deploy: 'fit to deploy',
    no_clinical_harm: 'no clinical harm',
    not_system_related: 'not system related',
    benefits_realised: 'benefits realised',
    adoption_high: 'adoption high',
  };

  function words(x) {
    return String(x).replace(/_/g, ' ');
  }

  function claimText(c) {
    return CLAIM_TEXT[c] || words(c);
  }

  /** The trusts a claim is about: every trust of its programme, or its own trust. */
  function claimTrusts(c) {
    return c.trusts && c.trusts.length ? c.trusts : [c.trust];
  }

  /** The claims about `code` that the evidence contradicts (at their date or later). */
  function contradictedClaimsOf(code) {
    const all = dig(state.extra.claims, 'claims') || [];
    return all.filter((c) => CONTRADICTED.includes(c.verdict) && claimTrusts(c).includes(code));
  }

  /** On the warnings board: the trust's contradicted claims, or nothing when it has none. */
  function warningClaims(code) {
    const list = contradictedClaimsOf(code);
    if (!list.length) return '';
    return h('div', { class: 'warning-claims', 'data-testid': 'warning-claims-' + code },
      h('p', { class: 'sub' }, 'Claims the evidence contradicts:'),
      h('ul', {}, list.map((c) => h('li', { 'data-event-id': c.event_id, 'data-verdict': c.verdict },
        h('span', { class: 'what' }, '\u201c' + claimText(c.claim) + '\u201d'),
        ', ' + words(c.claimant.type) + ', ' + dateText(c.claimed_on + 'T00:00:00Z'),
        c.verdict === 'contradicted_later'
          ? ' (contradicted later' + (c.contradicted_known_at ? ', known from ' + dateText(c.contradicted_known_at) : '') + ')'
          : ' (contradicted at its date)'))));
  }

  /** A list of sources: type, ref, and a link when there is an address. */
  function sourceList(sources, cls) {
    if (!sources || !sources.length) return h('p', { class: 'muted ' + (cls || '') }, 'No sources recorded.');
    return h('ul', { class: 'sources ' + (cls || '') }, sources.map((x) => h('li', {},
      h('span', { class: 'muted' }, words(x.type) + ': '),
      x.url ? h('a', { href: x.url, rel: 'noopener noreferrer', target: '_blank' }, x.ref) : x.ref)));
  }

  function claimsTotalsText(t) {
    return count(t.claims) + (t.claims === 1 ? ' claim' : ' claims') + '; ' +
      count(t.contradicted) + ' contradicted; ' +
      count(t.contradicted_later) + ' contradicted later; ' +
      count(t.unsupported) + ' unsupported (nothing either way); ' +
      count(t.consistent) + ' consistent';
  }

  function renderClaims() {
    const view = state.extra.claims;
    const totals = dig(view, 'totals');
    setText('claims-totals', totals ? claimsTotalsText(totals) : NONE);
    const claims = dig(view, 'claims') || [];
    const rows = claims.map((c) => {
      const id = c.event_id;
      const findings = c.decided_by.length
        ? h('ul', { class: 'findings' }, c.decided_by.map((f) => h('li', { class: 'finding ' + f.bearing, 'data-rule': f.rule },
          h('strong', {}, f.trust), ' ',
          h('span', { class: 'badge bearing ' + f.bearing }, f.bearing === 'against' ? 'against' : 'for'), ' ',
          h('span', { class: 'what' }, words(f.rule)), ': ', f.detail,
          f.known_at ? h('span', { class: 'since' }, ' Known from ' + dateText(f.known_at) + '.') : '',
          sourceList(f.sources, 'finding-sources'))))
        : h('p', { class: 'muted' }, c.verdict === 'unsupported'
          ? 'Nothing in the ledger either way at its date: no finding for it, none against it.'
          : 'No findings listed.');
      return h('tr', { 'data-testid': 'claim-row-' + id, 'data-verdict': c.verdict, 'data-trust': c.trust, class: 'claim ' + c.verdict },
        h('td', {},
          h('div', { class: 'claimant-type' }, words(c.claimant.type)),
          h('div', {}, c.claimant.name),
          h('div', { class: 'muted' }, c.scope === 'programme' && c.programme
            ? 'about ' + c.programme + ' (' + claimTrusts(c).join(', ') + ')'
            : 'about ' + claimTrusts(c).join(', '))),
        h('td', { class: 'date' }, dateText(c.claimed_on + 'T00:00:00Z'),
          c.synthetic ? h('div', {}, h('span', { class: 'badge synthetic', 'data-testid': 'claim-synthetic-' + id,
            title: 'A simulated claim, not a published one' }, 'synthetic')) : ''),
        h('td', {},
          h('div', { class: 'claim-type' }, 'Claim: ' + claimText(c.claim)),
          h('blockquote', { class: 'statement' }, '\u201c' + c.statement + '\u201d'),
          h('details', { class: 'claim-sources' }, h('summary', {}, 'Where it was said'), sourceList(c.sources))),
        h('td', {},
          h('span', { class: 'badge verdict ' + c.verdict, 'data-testid': 'claim-verdict-' + id, title: c.rule }, c.verdict),
          h('span', { class: 'verdict-note ' + c.verdict }, ': ' + (VERDICT_NOTE[c.verdict] || words(c.verdict))),
          c.verdict === 'contradicted_later'
            ? h('div', { class: 'known-later', 'data-testid': 'claim-known-' + id }, c.contradicted_known_at
              ? 'Known from ' + dateText(c.contradicted_known_at)
              : 'When it became known is not recorded')
            : ''),
        h('td', { 'data-testid': 'claim-findings-' + id }, findings));
    });
    const body = byId('claim-rows');
    replace(body, rows.length ? rows : [h('tr', {}, h('td', { colspan: 5, class: 'empty' },
      view ? 'No claims recorded.' : NONE))]);
  }

  // ---------------------------------------------------------------- usage beside burden

  const UB_H = 250;
  const UB = { left: 16, right: 16, top: 34, bottom: 58 };
  const USAGE_FILL = ['#005eb8', '#41b6e6', '#00a499', '#330072', '#425563', '#768692'];
  const BURDEN_FILL = ['#d5281b', '#ed8b00', '#7c2855', '#ae2573', '#8a1538', '#b35c00'];

  function renderUsageBurden() {
    const box = byId('usage-burden');
    const view = state.extra.usageBurden;
    const trusts = dig(view, 'trusts');
    if (!trusts) {
      replace(box, h('p', { class: 'muted' }, NONE));
      return;
    }
    const codes = Object.keys(trusts).sort();
    const figures = codes.map((code) => usageBurdenChart(code, trusts[code]));
    replace(box, figures.length ? figures : [h('p', { class: 'chart-empty' }, 'No usage or burden reported.')]);
    paintSwatches(box);
  }

  function usageBurdenChart(code, t) {
    const months = t.months || [];
    const fig = h('figure', { class: 'chart usage-burden', 'data-testid': 'usage-burden-' + code, 'data-trust': code },
      h('h4', { id: 'h-ub-' + code }, code + ': usage beside burden', trustMark(code)));
    if (!months.length) {
      fig.appendChild(h('p', { class: 'chart-empty' }, 'No usage or burden reported.'));
      return fig;
    }
    const usageKeys = [...new Set(months.flatMap((m) => Object.keys(m.usage)))].sort();
    const burdenKeys = [...new Set(months.flatMap((m) => Object.keys(m.burden)))].sort();
    const bars = usageKeys.map((k, i) => ({ kind: 'usage', key: k, fill: USAGE_FILL[i % USAGE_FILL.length] }))
      .concat(burdenKeys.map((k, i) => ({ kind: 'burden', key: k, fill: BURDEN_FILL[i % BURDEN_FILL.length] })));
    // Each measure on its own scale: its largest value over the trust's months fills the height.
    for (const b of bars) {
      b.max = Math.max(0, ...months.map((m) => Number(m[b.kind][b.key] || 0)));
    }
    const slot = Math.max(48, Math.min(200, (W - UB.left - UB.right) / months.length));
    const width = Math.min(W, UB.left + UB.right + slot * months.length);
    const svg = s('svg', { viewBox: '0 0 ' + width + ' ' + UB_H, role: 'img', 'aria-labelledby': 'h-ub-' + code,
      preserveAspectRatio: 'xMinYMid meet', class: 'ub-svg' });
    svg.style.maxWidth = width + 'px'; // drawn at its own size, not stretched to the page
    s('title', {}, svg).textContent = code + ': usage and burden reported per month, each measure to its own scale';
    const ih = UB_H - UB.top - UB.bottom;
    const base = UB.top + ih;
    months.forEach((m, i) => {
      const x0 = UB.left + i * slot;
      const g = s('g', {
        'data-testid': 'usage-burden-month-' + code + '-' + m.period,
        'data-struggle': m.struggle_read_as_success ? 'true' : 'false',
        'data-synthetic': m.synthetic ? 'true' : 'false',
        class: 'ub-month' + (m.struggle_read_as_success ? ' struggle' : '') + (m.synthetic ? ' synthetic' : ''),
      }, svg);
      const tip = [code + ', ' + monthText(m.period) + (m.synthetic ? ' (synthetic)' : '')];
      for (const k of usageKeys) tip.push('usage, ' + words(k) + ': ' + (k in m.usage ? count(m.usage[k]) : 'not reported'));
      for (const k of burdenKeys) tip.push('burden, ' + words(k) + ': ' + (k in m.burden ? count(m.burden[k]) : 'not reported'));
      if (m.tasks.length) tip.push('tasks: ' + m.tasks.join(', '));
      if (m.struggle_read_as_success) tip.push('struggle read as success: use rose while the burden did not fall');
      s('title', {}, g).textContent = tip.join('\n');
      if (m.struggle_read_as_success) {
        s('rect', { x: x0 + 2, y: 4, width: slot - 4, height: UB_H - 8, rx: 4, class: 'ub-struggle',
          fill: '#fff3dc', stroke: '#b35c00', 'stroke-width': 2 }, g);
        stext(g, x0 + slot / 2, 20, 'struggle read as success', { 'text-anchor': 'middle', 'font-size': 11,
          'font-weight': 700, fill: '#b35c00', class: 'ub-struggle-label' });
      }
      const inner = slot - 12;
      const bw = Math.max(4, Math.min(28, inner / Math.max(1, bars.length) - 3));
      const groupW = bars.length * (bw + 3) - 3;
      let bx = x0 + (slot - groupW) / 2;
      for (const b of bars) {
        const has = b.key in m[b.kind];
        const v = has ? Number(m[b.kind][b.key]) : 0;
        if (has) {
          const hgt = b.max > 0 ? (v / b.max) * (ih - 14) : 0;
          const r = s('rect', { x: bx, y: base - Math.max(1, hgt), width: bw, height: Math.max(1, hgt), fill: b.fill,
            'fill-opacity': m.synthetic ? 0.45 : 1, stroke: m.synthetic ? b.fill : 'none',
            'stroke-dasharray': m.synthetic ? '3 2' : null, class: 'ub-bar ' + b.kind }, g);
          s('title', {}, r).textContent = b.kind + ', ' + words(b.key) + ': ' + count(v);
          stext(g, bx + bw / 2, base - Math.max(1, hgt) - 3, count(v), { 'text-anchor': 'middle', 'font-size': 10 });
        } else {
          const dash = stext(g, bx + bw / 2, base - 4, '\u2013', { 'text-anchor': 'middle', 'font-size': 14,
            'font-weight': 700, fill: '#56616d', class: 'ub-not-reported' });
          s('title', {}, dash).textContent = b.kind + ', ' + words(b.key) + ': not reported';
        }
        bx += bw + 3;
      }
      s('line', { x1: x0 + 4, x2: x0 + slot - 4, y1: base, y2: base, stroke: '#9aa5b1' }, g);
      stext(g, x0 + slot / 2, base + 16, monthText(m.period), { 'text-anchor': 'middle', 'font-size': 12 });
      if (m.synthetic) {
        stext(g, x0 + slot / 2, base + 31, 'synthetic', { 'text-anchor': 'middle', 'font-size': 11,
          'font-style': 'italic', fill: '#56616d', class: 'ub-synthetic-label' });
      }
    });
    fig.appendChild(h('div', { class: 'chart-box' }, svg));
    const legend = h('div', { class: 'legend' }, bars.map((b) => h('span', {},
      h('span', { class: 'swatch', 'data-colour': b.fill }), b.kind + ': ' + words(b.key))));
    fig.appendChild(legend);
    const struggle = t.struggle_months || [];
    const synth = months.filter((m) => m.synthetic).map((m) => m.period);
    fig.appendChild(h('figcaption', { 'data-testid': 'usage-burden-caption-' + code },
      count(months.length) + (months.length === 1 ? ' month' : ' months') + ' reported. ' +
      (struggle.length ? 'Struggle read as success: ' + struggle.map(monthText).join(', ') + '. ' : 'No month of struggle read as success. ') +
      (synth.length ? 'Synthetic (simulated) figures: ' + synth.map(monthText).join(', ') + '.' : '')));
    return fig;
  }

  const DEFERRED_ROWS_MAX = 15;

  function renderDeferred(d) {
    const all = [];
    for (const code of chartTrusts(d)) {
      for (const f of d.trusts[code].deferred) all.push(Object.assign({ code }, f));
    }
    // Most recently put off first.
    all.sort((a, b) => toMs(b.last_at) - toMs(a.last_at) || a.code.localeCompare(b.code));
    const rows = all.slice(0, DEFERRED_ROWS_MAX).map((f) => h('tr', {},
      h('th', { scope: 'row' }, f.code, trustMark(f.code)),
      h('td', {}, f.feature),
      h('td', {}, f.promised_for || 'not stated'),
      h('td', {}, f.reason || 'not stated'),
      h('td', { class: 'num' }, f.times === 1 ? 'once' : count(f.times) + ' times'),
      h('td', {}, f.times === 1 ? dateText(f.last_at) : dateText(f.first_at) + ' to ' + dateText(f.last_at))));
    replace(byId('deferred-rows'), rows.length ? rows : [h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'No deferred promises recorded.'))]);
    const total = count(d.headline.deferred_features);
    setText('deferred-note', all.length > DEFERRED_ROWS_MAX
      ? 'The ' + DEFERRED_ROWS_MAX + ' most recently put off of ' + count(all.length) + ' promises (' + total +
        ' deferrals in all); every one is listed at /v1/deferred-features.'
      : all.length ? count(all.length) + (all.length === 1 ? ' promise' : ' promises') + ', ' + total +
        (d.headline.deferred_features === 1 ? ' deferral' : ' deferrals') + ' in all.' : '');
  }

  const PICKER_MARK = { wholly: ' \u2014 SIMULATED', partly: ' \u2014 includes synthetic' };

  function renderPicker(d) {
    const picker = byId('trust-picker');
    const want = [''].concat(d.all_trusts);
    const label = (c) => (c === '' ? 'All trusts' : c + (PICKER_MARK[state.marks.get(c)] || ''));
    const have = [...picker.options].map((o) => o.value + '=' + o.textContent);
    if (want.map((c) => c + '=' + label(c)).join('|') !== have.join('|')) {
      replace(picker, want.map((c) => h('option', { value: c, 'data-synthetic': state.marks.get(c) || null }, label(c))));
    }
    picker.value = state.trust;
  }

  function render(d) {
    state.data = d;
    state.marks = trustMarks(d);
    renderSynthetic(d);
    setText('as-of-seq', count(d.as_of_seq));
    byId('as-of-seq').dataset.seq = String(d.as_of_seq);
    setText('as-at', d.as_at ? dateText(d.as_at) : 'no events yet');
    markShare(byId('as-at'), seriesShare('as_at'));
    renderPicker(d);
    renderTiles(d);
    renderTrustTable(d);
    renderLegend(d);
    renderLostChart(d);
    renderCostChart(d);
    renderIncomeChart(d);
    renderRecoveryChart();
    renderTimeline(d);
    renderWarnings(d);
    renderClaims();
    renderUsageBurden();
    renderDeferred(d);
    renderMeaning();
    document.body.dataset.seq = String(d.as_of_seq);
    document.body.dataset.trust = state.trust;
    document.body.dataset.state = 'ready';
  }

  // ---------------------------------------------------------------- data and live updates

  // A ledger with access control needs a bearer token: given once in the address
  // (#token=...), kept for this tab only, and removed from the address bar.
  const TOKEN_KEY = 'golive-token';

  async function getJson(url) {
    const headers = { accept: 'application/json' };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.authorization = 'Bearer ' + token;
    const r = await fetch(url, { cache: 'no-store', headers });
    const text = await r.text();
    if (!r.ok) {
      let msg = r.status + ' ' + r.statusText;
      try { msg = JSON.parse(text).error.message; } catch (_) { /* not our JSON */ }
      if (r.status === 401) msg += ': open the link with #token=... that the ledger\'s operator gave you';
      const e = new Error(msg);
      e.status = r.status;
      throw e;
    }
    return parseJson(text);
  }

  function setLive(ok, why) {
    document.body.dataset.live = ok ? 'on' : 'off';
    const when = state.lastChange ? ' Last change ' + state.lastChange.toLocaleTimeString('en-GB') + '.' : '';
    setText('status-text', ok
      ? 'Live: this page updates by itself as new incidents reach the ledger.' + when
      : 'Cannot reach the ledger (' + why + '); retrying every ' + POLL_MS / 1000 + ' seconds.' + when);
  }

  async function refresh() {
    const gen = ++state.generation;
    const p = new URLSearchParams();
    if (state.trust) p.set('trust', state.trust);
    if (state.sourcedOnly) p.set('exclude_synthetic', 'true');
    const q = p.toString() ? '?' + p.toString() : '';
    let d;
    try {
      d = await getJson('/v1/series' + q);
    } catch (e) {
      if (e.status === 404 && state.trust) {
        // The trust in the address is not in the ledger: show all trusts instead.
        state.trust = '';
        writeHash();
        return refresh();
      }
      throw e;
    }
    const extra = await fetchExtra(d.as_of_seq);
    if (gen !== state.generation) return; // a newer request has been made meanwhile
    state.extra = extra;
    if (state.seq !== null && d.as_of_seq !== state.seq) state.lastChange = new Date();
    state.seq = d.as_of_seq;
    render(d);
  }

  /** The answers beside /v1/series, at its seq (without synthetic events when the page shows
   *  sourced figures only); null for one the ledger does not serve. */
  async function fetchExtra(seq) {
    const q = (withTrust) => '?as_of_seq=' + seq + (withTrust && state.trust ? '&trust=' + encodeURIComponent(state.trust) : '') +
      (state.sourcedOnly ? '&exclude_synthetic=true' : '');
    const one = (path, withTrust) => getJson(path + q(withTrust)).then((a) => a.data, () => null);
    // The aligned recovery answer holds the calendar months too: one answer for both views.
    const [money, coverage, warnings, evidence, claims, usageBurden, recovery] = await Promise.all([
      one('/v1/money', true), one('/v1/coverage', false), one('/v1/warnings', true), one('/v1/evidence', true),
      one('/v1/claims', true), one('/v1/usage-burden', true),
      getJson('/v1/recovery' + q(true) + '&align=go_live').then((a) => a.data, () => null)]);
    return { money, coverage, warnings, evidence, claims, usageBurden, recovery };
  }

  // How often a page that fell back to polling tries the stream again.
  const STREAM_RETRY_MS = 30000;

  /** Follows /v1/stream until it ends or fails: each new head redraws the page. */
  async function listen() {
    const headers = { accept: 'text/event-stream' };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.authorization = 'Bearer ' + token;
    const r = await fetch('/v1/stream', { cache: 'no-store', headers });
    if (!r.ok || !r.body) throw new Error('/v1/stream answered ' + r.status);
    document.body.dataset.push = 'on';
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the stream ended');
      buf += decoder.decode(value, { stream: true }).replace(/\r\n/g, '\n');
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const ev = /^event: ?(.*)$/m.exec(block);
        const data = /^data: ?(.*)$/m.exec(block);
        if (ev && ev[1] === 'head' && data) {
          if (JSON.parse(data[1]).seq !== state.seq) await refresh();
          setLive(true);
        }
      }
    }
  }

  /** Live updates: the stream, else polling (and the stream tried again now and then). */
  function follow() {
    listen().catch(() => {
      document.body.dataset.push = 'off';
      state.streamTriedAt = Date.now();
      tick();
    });
  }

  async function tick() {
    try {
      const head = await getJson('/v1/head');
      if (head.seq !== state.seq) await refresh();
      setLive(true);
    } catch (e) {
      setLive(false, e.message);
    } finally {
      if (Date.now() - state.streamTriedAt >= STREAM_RETRY_MS) follow();
      else setTimeout(tick, POLL_MS);
    }
  }

  function readHash() {
    const p = new URLSearchParams(location.hash.replace(/^#/, ''));
    if (p.get('token')) {
      sessionStorage.setItem(TOKEN_KEY, p.get('token'));
      p.delete('token');
      const rest = p.toString();
      history.replaceState(null, '', rest ? '#' + rest : location.pathname);
    }
    state.trust = p.get('trust') || '';
    state.align = p.get('align') === '1';
    byId('align').checked = state.align;
    state.sourcedOnly = p.get('sourced') === '1';
    byId('sourced-only').checked = state.sourcedOnly;
  }

  function writeHash() {
    const p = new URLSearchParams();
    if (state.trust) p.set('trust', state.trust);
    if (state.align) p.set('align', '1');
    if (state.sourcedOnly) p.set('sourced', '1');
    const hsh = p.toString();
    history.replaceState(null, '', hsh ? '#' + hsh : location.pathname);
  }

  function start() {
    readHash();
    byId('trust-picker').addEventListener('change', (e) => {
      state.trust = e.target.value;
      writeHash();
      refresh().catch((err) => setLive(false, err.message));
    });
    byId('align').addEventListener('change', (e) => {
      state.align = e.target.checked;
      writeHash();
      if (state.data) render(state.data);
    });
    byId('sourced-only').addEventListener('change', (e) => {
      state.sourcedOnly = e.target.checked;
      writeHash();
      refresh().catch((err) => setLive(false, err.message));
    });
    window.addEventListener('hashchange', () => {
      const before = [state.trust, state.sourcedOnly];
      readHash();
      if (state.trust !== before[0] || state.sourcedOnly !== before[1]) refresh().catch((err) => setLive(false, err.message));
      else if (state.data) render(state.data);
    });
    follow();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
