// kefu-metrics' dashboard. Every text reaches the page through textContent
// (never parsed as HTML), so what customers and agents wrote stays text. The
// token lives in sessionStorage and travels only as an Authorization header.
'use strict';

const REFRESH_MS = 10000;
const SVG = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem('kefu.token') || '';
let shop = '';
let timer = 0;
let kinds = [];

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.reason) || ('HTTP ' + status));
    this.status = status;
    this.code = body && body.error;
  }
}

async function api(kind, params, csv) {
  const q = new URLSearchParams(Object.assign({}, params || {}, csv ? { format: 'csv' } : {}));
  const r = await fetch('/api/' + kind + (q.toString() ? '?' + q : ''), {
    headers: { Authorization: 'Bearer ' + token },
    cache: 'no-store',
  });
  if (!r.ok) {
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (r.status === 401) logout('Your token is not (or no longer) valid.');
    throw new ApiError(r.status, body);
  }
  return csv ? r.blob() : r.json();
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function seconds(s) {
  if (s === null || s === undefined) return '–';
  if (s < 60) return (Math.round(s * 10) / 10) + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + Math.round(s % 60) + ' s';
  return Math.floor(s / 3600) + ' h ' + Math.round((s % 3600) / 60) + ' min';
}

function percent(r) {
  return r === null || r === undefined ? '–' : (Math.round(r * 1000) / 10) + ' %';
}

function get(o, path) {
  return path.split('.').reduce((v, k) => (v === null || v === undefined ? undefined : v[k]), o);
}

// ---------------------------------------------------------------- login

function show(section) {
  $('login').hidden = section !== 'login';
  $('dashboard').hidden = section !== 'dashboard';
  $('who').hidden = section !== 'dashboard';
}

function logout(message) {
  token = '';
  sessionStorage.removeItem('kefu.token');
  clearInterval(timer);
  $('login-error').textContent = message || '';
  show('login');
}

async function login() {
  let who;
  try {
    who = await api('whoami');
  } catch (e) {
    if (e.status !== 401) logout(e.message);
    return;
  }
  sessionStorage.setItem('kefu.token', token);
  kinds = who.kinds || [];
  $('who-name').textContent = who.principal + ' (' + who.role + ')';
  const select = $('shop');
  select.replaceChildren();
  for (const s of who.shops) select.append(new Option(s.shop_id, s.shop_id));
  if (!who.shops.length) {
    logout('Your token sees no shop.');
    return;
  }
  shop = who.shops[0].shop_id;
  show('dashboard');
  await refreshAll();
  clearInterval(timer);
  timer = setInterval(refreshAll, REFRESH_MS);
}

// ---------------------------------------------------------------- tiles

const TARGETS = [
  { id: 'kpi-response', path: 'response.mean_s', ok: (v) => v <= 30, fmt: seconds },
  { id: 'kpi-frt20', path: 'first_response.within_threshold_rate', ok: (v) => v >= 0.9, fmt: percent },
  { id: 'kpi-answer', path: 'conversations.answer_rate', ok: (v) => v >= 0.95, fmt: percent },
  { id: 'kpi-csat', path: 'satisfaction.csat', ok: (v) => v >= 0.95, fmt: percent },
  { id: 'kpi-orders', path: 'orders.timeliness', ok: (v) => v >= 0.95, fmt: percent },
];

function renderTiles(total) {
  for (const t of TARGETS) {
    const tile = $(t.id);
    const v = get(total, t.path);
    const value = tile.querySelector('.value');
    tile.classList.remove('ok', 'bad', 'na');
    if (v === undefined) {
      value.textContent = 'not available';
      tile.classList.add('na');
    } else if (v === null) {
      value.textContent = '–';
      tile.classList.add('na');
    } else {
      value.textContent = t.fmt(v);
      tile.classList.add(t.ok(v) ? 'ok' : 'bad');
    }
  }
  const c = total.conversations || {};
  $('counts').textContent = 'conversations ' + c.customer_opened + ' (answered ' + c.answered +
    ', after hours ' + c.after_hours + ', shop-opened ' + c.shop_opened + ') · first response mean ' +
    seconds(get(total, 'first_response.mean_s')) + ' · ratings ' + get(total, 'satisfaction.ratings') +
    ' · QA flags ' + get(total, 'qa.flags');
}

// ---------------------------------------------------------------- charts

function barChart(box, points, value, label, target) {
  const w = 720, h = 180, left = 36, bottom = 22, top = 8;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
  svg.setAttribute('role', 'img');
  const values = points.map(value);
  const max = Math.max(1, target || 0, ...values.map((v) => v || 0));
  const bw = (w - left) / Math.max(1, points.length);
  const y = (v) => h - bottom - (v / max) * (h - bottom - top);
  const axis = document.createElementNS(SVG, 'line');
  axis.setAttribute('x1', left); axis.setAttribute('x2', w);
  axis.setAttribute('y1', h - bottom); axis.setAttribute('y2', h - bottom);
  axis.setAttribute('class', 'axis');
  svg.append(axis);
  const maxLabel = document.createElementNS(SVG, 'text');
  maxLabel.setAttribute('x', 2); maxLabel.setAttribute('y', top + 10);
  maxLabel.textContent = String(Math.round(max));
  svg.append(maxLabel);
  points.forEach((p, i) => {
    const v = values[i];
    if (v) {
      const r = document.createElementNS(SVG, 'rect');
      r.setAttribute('x', left + i * bw + 1);
      r.setAttribute('width', Math.max(1, bw - 2));
      r.setAttribute('y', y(v));
      r.setAttribute('height', h - bottom - y(v));
      r.setAttribute('class', target && v > target ? 'bar bad' : 'bar');
      const title = document.createElementNS(SVG, 'title');
      title.textContent = label(p) + ': ' + (Math.round(v * 10) / 10);
      r.append(title);
      svg.append(r);
    }
    if (i % 3 === 0) {
      const t = document.createElementNS(SVG, 'text');
      t.setAttribute('x', left + i * bw);
      t.setAttribute('y', h - 6);
      t.textContent = label(p);
      svg.append(t);
    }
  });
  if (target) {
    const l = document.createElementNS(SVG, 'line');
    l.setAttribute('x1', left); l.setAttribute('x2', w);
    l.setAttribute('y1', y(target)); l.setAttribute('y2', y(target));
    l.setAttribute('class', 'target');
    svg.append(l);
  }
  box.replaceChildren(svg);
}

const hourOf = (p) => String(p.key || '').slice(11, 13) + 'h';

// ---------------------------------------------------------------- tables

function fillTable(id, rows, cells) {
  const body = $(id).querySelector('tbody');
  body.replaceChildren();
  for (const r of rows) {
    const tr = el('tr');
    for (const c of cells(r)) tr.append(el('td', c));
    body.append(tr);
  }
  if (!rows.length) {
    const tr = el('tr');
    const td = el('td', 'none', 'none');
    td.colSpan = $(id).querySelectorAll('th').length;
    tr.append(td);
    body.append(tr);
  }
}

// A table of whatever rows an answer holds (scorecards: their kind may
// grow columns without a change here).
function genericTable(box, rows) {
  const flat = rows.map((r) => {
    const out = {};
    const walk = (o, prefix) => {
      for (const [k, v] of Object.entries(o)) {
        if (v && typeof v === 'object' && !Array.isArray(v)) walk(v, prefix + k + '.');
        else out[prefix + k] = Array.isArray(v) ? v.join(' ') : v;
      }
    };
    walk(r, '');
    return out;
  });
  const cols = [];
  for (const r of flat) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  const table = el('table');
  const head = el('tr');
  for (const c of cols) head.append(el('th', c));
  table.append(el('thead'));
  table.tHead.append(head);
  const body = el('tbody');
  for (const r of flat) {
    const tr = el('tr');
    for (const c of cols) tr.append(el('td', r[c] === null || r[c] === undefined ? '–' : r[c]));
    body.append(tr);
  }
  table.append(body);
  box.replaceChildren(table);
}

// ---------------------------------------------------------------- loading

function failed(e) {
  $('dash-error').textContent = e.message;
}

async function refreshToday() {
  const has = (kind, params) => (kinds.includes(kind) ? api(kind, params) : Promise.resolve(null));
  const [summary, series, byAgent, qa, orders, phrases] = await Promise.all([
    api('kpi.summary', { shop }),
    api('kpi.series', { shop, by: 'hour' }),
    api('kpi.summary', { shop, by: 'agent' }),
    api('qa.flags', { shop }),
    has('orders.summary', { shop }),
    has('phrases.usage', { shop }),
  ]);
  $('period').textContent = summary.from + ' – ' + summary.to + ' (' + summary.timezone + ')';
  // Order timeliness comes from orders.summary, once order-sync has sent
  // events for the shop ("not available" before).
  const tiles = Object.assign({}, summary.total);
  if (orders && orders.source) tiles.orders = { timeliness: get(orders, 'total.timeliness.rate') };
  renderTiles(tiles);
  barChart($('chart-conversations'), series.points, (p) => get(p, 'conversations.customer_opened'), hourOf);
  barChart($('chart-response'), series.points, (p) => get(p, 'response.mean_s'), hourOf, 30);
  fillTable('by-agent', byAgent.rows || [], (r) => [r.key && r.key !== '-' ? r.key : '(no agent)', get(r, 'first_response.count'),
    percent(get(r, 'first_response.within_threshold_rate')), seconds(get(r, 'response.mean_s')),
    get(r, 'messages.replies'), percent(get(r, 'satisfaction.csat')), get(r, 'qa.flags')]);
  fillTable('qa', qa.lines || [], (l) => [l.sent_at, l.agent_id, (l.flags || []).join(' '), l.body]);
  fillTable('phrases', (phrases && phrases.rows) || [], (p) => [p.agent_id, p.phrase_id, p.intent, p.uses]);
}

async function refreshScorecards() {
  const box = $('scorecards');
  if (!kinds.includes('agent.scorecard')) {
    box.replaceChildren(el('p', 'not available', 'na-text'));
    $('scorecard-csv').hidden = true;
    return;
  }
  try {
    const s = await api('agent.scorecard', { shop });
    const rows = Object.values(s).find((v) => Array.isArray(v) && v.length && typeof v[0] === 'object');
    if (rows) genericTable(box, rows);
    else box.replaceChildren(el('p', 'no scorecards yet', 'none'));
    $('scorecard-csv').hidden = false;
  } catch (e) {
    if (e.status === 401) return;
    box.replaceChildren(el('p', 'not available', 'na-text'));
    $('scorecard-csv').hidden = true;
  }
}

// Today's scheduled shifts (kefu-metrics answers agent.attendance).
async function refreshAttendance() {
  if (!kinds.includes('agent.attendance')) {
    fillTable('attendance', [], () => []);
    return;
  }
  const clock = (t) => (t ? t.slice(11, 16) : '–');
  try {
    const a = await api('agent.attendance', { shop });
    fillTable('attendance', a.rows || [], (r) => [r.agent_id, r.shift, clock(r.start) + '–' + clock(r.end),
      r.status, clock(r.present_from), r.still_present ? '(still in)' : clock(r.present_to),
      r.late ? r.late_minutes + ' min' : '–', r.early_leave ? r.early_minutes + ' min' : '–', r.unanswered]);
  } catch (e) {
    if (e.status === 401) return;
    fillTable('attendance', [], () => []);
  }
}

async function refreshLive() {
  try {
    const [now, waiting] = await Promise.all([
      api('agents.now', { shop }),
      api('conversations.waiting', { shop }),
    ]);
    fillTable('agents', now.agents || [], (a) => [a.agent_id, a.status, a.since, a.load, a.waiting,
      seconds(a.longest_wait_s)]);
    fillTable('waiting', waiting.conversations || [], (c) => [c.customer, c.channel, c.group,
      c.owner || '–', seconds(c.waited_s), c.customer_messages, c.vip ? 'VIP' : '']);
    $('updated').textContent = new Date().toLocaleTimeString();
    $('dash-error').textContent = '';
  } catch (e) {
    if (e.status !== 401) failed(e);
  }
}

async function refreshAll() {
  try {
    await Promise.all([refreshToday(), refreshLive(), refreshScorecards(), refreshAttendance()]);
    document.body.dataset.loaded = 'yes';
  } catch (e) {
    if (e.status !== 401) failed(e);
  }
}

async function downloadCsv(button) {
  const params = { shop };
  if (button.dataset.by) params.by = button.dataset.by;
  try {
    const blob = await api(button.dataset.kind, params, true);
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = shop + '-' + button.dataset.kind + (params.by ? '-' + params.by : '') + '.csv';
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  } catch (e) {
    if (e.status !== 401) failed(e);
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    token = $('token').value.trim();
    $('token').value = '';
    login();
  });
  $('logout').addEventListener('click', () => logout(''));
  $('shop').addEventListener('change', (ev) => {
    shop = ev.target.value;
    refreshAll();
  });
  for (const b of document.querySelectorAll('button.csv'))
    b.addEventListener('click', () => downloadCsv(b));
  if (token) login();
  else show('login');
});
