// imgward dashboard: a hash-routed page over the /v1 and /v2 API. Every
// read goes through api(), which sends the signed-in token and an
// If-None-Match for what it already holds, so that polling a page that has
// not changed costs a 304 and no rendering. What the API refuses (403) the
// page does not show.
"use strict";

const POLL_MS = 4000;
const cache = new Map(); // path → {etag, data}
let me = null;           // whoami
let pollTimer = null;
let lastRender = "";
let listPage = 1;        // the page of a long instance list, from ?page=N
const PAGE_ROWS = 500;   // rows of a page: a laptop's browser lays out 500 rows at once, not 10,000     // the data behind the view, to re-render only on change

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const fmt = (x, d = 2) => (typeof x === "number" && isFinite(x) ? x.toFixed(d) : "—");
// num writes large numbers short: 33.4M, 12.5k.
const num = (x) => (typeof x !== "number" || !isFinite(x) ? "—" : Math.abs(x) >= 1e6 ? (x / 1e6).toFixed(1) + "M" : Math.abs(x) >= 1e4 ? (x / 1e3).toFixed(1) + "k" : fmt(x));
const badge = (text, cls) => `<span class="badge ${esc(cls || text)}">${esc(text)}</span>`;
const when = (t) => (t ? esc(String(t).replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC")) : "—");

class Denied extends Error {}

// projectNames maps project ids to names, for an admin (who may list them).
async function projectNames() {
  if (!me || me.role !== "admin") return new Map();
  const ps = await tryApi("/v1/projects", { projects: [] });
  return new Map(ps.projects.map((p) => [p.id, p.name]));
}
const named = (names, id) => (names.get(id) ? `${esc(names.get(id))} <span class="muted">(${esc(id.slice(0, 8))}…)</span>` : esc(id));

// api GETs path with the token; 403 and 404 become Denied (not shown).
async function api(path, { text = false } = {}) {
  const tok = sessionStorage.getItem("imgward.token");
  const headers = { "X-Auth-Token": tok };
  const held = cache.get(path);
  if (held) headers["If-None-Match"] = held.etag;
  const r = await fetch(path, { headers, cache: "no-store" });
  if (r.status === 304 && held) return held.data;
  if (r.status === 401) { signOut("Your token is no longer valid."); throw new Denied("401"); }
  if (r.status === 403 || r.status === 404) throw new Denied(String(r.status));
  if (!r.ok) {
    let msg = r.status + "";
    try { msg = (await r.json()).error.message; } catch (e) { /* keep the status */ }
    throw new Error(path + ": " + msg);
  }
  const data = text ? await r.text() : await r.json();
  const etag = r.headers.get("ETag");
  if (etag) cache.set(path, { etag, data });
  return data;
}

// tryApi is api that answers fallback where the caller may not read.
async function tryApi(path, fallback, opts) {
  try { return await api(path, opts); } catch (e) { if (e instanceof Denied) return fallback; throw e; }
}

// all follows the Glance "next" links of an image listing.
async function allImages(query) {
  let path = "/v2/images?limit=1000" + (query ? "&" + query : "");
  const out = [];
  for (let i = 0; path && i < 100; i++) {
    const page = await api(path);
    out.push(...page.images);
    path = page.next || null;
  }
  return out;
}

// --- sign in ---------------------------------------------------------------

function signOut(msg) {
  sessionStorage.removeItem("imgward.token");
  me = null;
  cache.clear();
  clearTimeout(pollTimer);
  $("view").innerHTML = "";
  $("nav").hidden = true; $("signout").hidden = true; $("who").textContent = "";
  $("signin").hidden = false;
  $("signin-error").textContent = msg || "";
  $("token").focus();
}

async function signIn(tok) {
  sessionStorage.setItem("imgward.token", tok);
  try {
    me = await api("/v1/whoami");
  } catch (e) {
    signOut(e instanceof Denied ? "That token is not accepted." : String(e.message));
    return;
  }
  $("signin").hidden = true;
  $("nav").hidden = false; $("signout").hidden = false;
  $("nav-audit").hidden = me.role !== "admin";
  $("nav-home").textContent = me.role === "admin" ? "Publishers" : "Your project";
  $("who").textContent = `signed in: ${me.role}, project ${me.project_id}`;
  route();
}

// --- routing and polling -------------------------------------------------

async function route() {
  if (!me) return;
  clearTimeout(pollTimer);
  const h = location.hash.replace(/^#/, "") || "/";
  const [path, query] = h.split("?");
  listPage = Math.max(1, parseInt(new URLSearchParams(query || "").get("page"), 10) || 1);
  const [, page, id] = path.split("/");
  let view;
  if (page === "publisher" && id) view = () => publisherPage(decodeURIComponent(id));
  else if (page === "image" && id) view = () => imagePage(decodeURIComponent(id));
  else if (page === "audit") view = auditPage;
  else view = me.role === "admin" ? homeAdmin : homeMember;
  const key = h;
  const render = async (first) => {
    try {
      const t0 = performance.now();
      const html = await view();
      if (location.hash.replace(/^#/, "") !== key && !(key === "/" && location.hash === "")) return;
      if (html !== lastRender) {
        // A keyboard user keeps their place across a live update: the
        // focused link or control is found again by what it points to.
        const a = document.activeElement, view = $("view");
        let key = null;
        if (a && a !== view && view.contains(a)) {
          const sel = a.getAttribute("href") ? `[href="${CSS.escape(a.getAttribute("href"))}"]` : a.id ? "#" + CSS.escape(a.id) : a.tagName;
          key = { sel, n: [...view.querySelectorAll(sel)].indexOf(a) };
        }
        view.innerHTML = html;
        lastRender = html;
        if (key) {
          const again = view.querySelectorAll(key.sel)[Math.max(0, key.n)];
          if (again) again.focus({ preventScroll: true });
        }
        if (first) $("main").focus({ preventScroll: true });
        document.body.dataset.rendered = String(performance.now() - t0);
        $("live").textContent = "live · changed " + new Date().toLocaleTimeString();
      }
      document.body.dataset.page = page || "home";
    } catch (e) {
      if (!(e instanceof Denied)) $("view").innerHTML = `<p class="error" role="alert">${esc(e.message)}</p>`;
      else $("view").innerHTML = `<p class="error" role="alert">You may not see this page.</p>`;
    }
    if (me) pollTimer = setTimeout(() => render(false), POLL_MS);
  };
  lastRender = "";
  await render(true);
}

// --- pages ---------------------------------------------------------------

// latestAudit returns up to n of the latest audit entries, newest first.
async function latestAudit(n) {
  const ck = await tryApi("/v1/audit/checkpoint", "", { text: true });
  const size = parseInt(ck.split("\n")[1] || "0", 10) || 0;
  const after = Math.max(0, size - n);
  const page = await tryApi(`/v1/audit?after=${after}&limit=1000`, { entries: [] });
  return page.entries.slice().reverse();
}

function denialRows(entries) {
  return entries.map((e) => `<tr><td class="time">${when(e.time)}</td><td>${esc(e.action)}</td><td class="id">${objectLink(e.object)}</td><td class="id">${esc(e.actor)}</td><td>${e.result === "ok" ? badge("allowed") : badge(e.result, "denied")}</td><td>${esc(e.reason)}</td></tr>`).join("");
}

function objectLink(o) {
  const [kind, id] = String(o || "").split("/");
  if (kind === "image" && id) return `<a href="#/image/${encodeURIComponent(id)}">${esc(o)}</a>`;
  if (kind === "publisher" && id) return `<a href="#/publisher/${encodeURIComponent(id)}">${esc(o)}</a>`;
  return esc(o);
}

async function homeAdmin() {
  const [projects, risk, trust, images, instances, audit] = await Promise.all([
    api("/v1/projects"), tryApi("/v1/publishers?risk=1", { publishers: [] }), tryApi("/v1/trust", { trusted: [] }),
    allImages(""), api("/v1/instances?state=running"), latestAudit(400),
  ]);
  const byImage = new Map(images.map((i) => [i.id, i]));
  const rows = new Map();
  for (const p of projects.projects) rows.set(p.id, { id: p.id, name: p.name, images: 0, instances: 0, verdict: null, trusted: false, verified: false });
  for (const v of risk.publishers) if (rows.has(v.subject)) rows.get(v.subject).verdict = v;
  for (const t of trust.trusted) if (rows.has(t)) rows.get(t).trusted = true;
  for (const i of images) if (rows.has(i.owner)) rows.get(i.owner).images++;
  for (const inst of instances.instances) {
    const img = byImage.get(inst.image_id);
    if (img && rows.has(img.owner)) rows.get(img.owner).instances++;
  }
  // Only projects that publish images are publishers.
  const pubs = [...rows.values()].filter((r) => r.images > 0);
  const verified = await Promise.all(pubs.map((r) => tryApi("/v1/publishers/" + encodeURIComponent(r.id), {})));
  pubs.forEach((r, k) => { r.verified = !!verified[k].verified; });
  const rank = (r) => (r.verdict ? (r.verdict.state === "flagged" ? 1e6 : 0) + r.verdict.score / (r.verdict.threshold || 1) : -1);
  pubs.sort((a, b) => rank(b) - rank(a) || a.name.localeCompare(b.name));
  const flagged = pubs.filter((r) => r.verdict && r.verdict.state === "flagged");
  const denials = audit.filter((e) => e.result === "denied" && (e.action === "key.release" || e.action === "image.download")).slice(0, 8);
  let html = `<h1>Publishers by risk</h1>`;
  for (const f of flagged) {
    html += `<div class="alert" role="status"><strong>Flagged:</strong> <a href="#/publisher/${encodeURIComponent(f.id)}">${esc(f.name)}</a>
      — mean surprise ${fmt(f.verdict.score)} over threshold ${fmt(f.verdict.threshold)}; its ${f.images} images are quarantined;
      <a href="#/publisher/${encodeURIComponent(f.id)}#fleet">fleet of ${f.instances} running instances</a>.</div>`;
  }
  html += `<h2>Latest refused key releases and downloads</h2>`;
  html += denials.length ? `<table id="denials"><thead><tr><th scope="col">Time</th><th scope="col">Action</th><th scope="col">Object</th><th scope="col">Actor</th><th scope="col">Result</th><th scope="col">Reason</th></tr></thead><tbody>${denialRows(denials)}</tbody></table>` : `<p class="muted">None.</p>`;
  html += `<table id="publishers"><caption>${pubs.length} publishers, ${instances.instances.length} running instances</caption>
    <thead><tr><th scope="col">#</th><th scope="col">Publisher</th><th scope="col">State</th><th scope="col" class="num">Score</th><th scope="col" class="num">Threshold</th>
    <th scope="col">Verified</th><th scope="col">Trusted</th><th scope="col" class="num">Images</th><th scope="col" class="num">Instances</th></tr></thead><tbody>`;
  html += pubs.map((r, k) => `<tr data-publisher="${esc(r.id)}"><td class="num">${k + 1}</td><td><a href="#/publisher/${encodeURIComponent(r.id)}">${esc(r.name)}</a></td>
    <td>${r.verdict ? badge(r.verdict.state) : '<span class="muted">not judged</span>'}</td><td class="num">${fmt(r.verdict && r.verdict.score)}</td><td class="num">${fmt(r.verdict && r.verdict.threshold)}</td>
    <td>${r.verified ? badge("verified") : "no"}</td><td>${r.trusted ? badge("trusted", "ok") : "no"}</td><td class="num">${r.images}</td><td class="num">${r.instances}</td></tr>`).join("");
  html += `</tbody></table>`;
  return html;
}

async function homeMember() {
  const [images, instances, pub] = await Promise.all([
    allImages(""), api("/v1/instances"), tryApi("/v1/publishers/" + encodeURIComponent(me.project_id), null),
  ]);
  let html = `<h1>Your project ${esc(pub && pub.display_name ? pub.display_name : me.project_id)}</h1>`;
  html += `<table id="images"><caption>Images you can see (${images.length})</caption><thead><tr><th scope="col">Image</th><th scope="col">Owner</th><th scope="col">Visibility</th><th scope="col">Status</th></tr></thead><tbody>`;
  html += images.map((i) => `<tr><td><a href="#/image/${encodeURIComponent(i.id)}">${esc(i.name || i.id)}</a></td><td>${esc(i.owner)}</td><td>${esc(i.visibility)}</td><td>${esc(i.status)}</td></tr>`).join("");
  html += `</tbody></table>`;
  html += instanceTable(instances.instances, "Your instances", null);
  return html;
}

function instanceTable(list, caption, images, names) {
  const name = (id) => (images && images.get(id) ? images.get(id).name : id);
  const pages = Math.max(1, Math.ceil(list.length / PAGE_ROWS));
  const pg = Math.min(listPage, pages);
  const from = (pg - 1) * PAGE_ROWS, to = Math.min(list.length, from + PAGE_ROWS);
  const base = "#" + location.hash.replace(/^#/, "").split("?")[0];
  let pager = "";
  if (pages > 1) {
    pager = `<nav class="pager" aria-label="Pages of ${esc(caption)}">` +
      (pg > 1 ? `<a href="${base}?page=${pg - 1}" rel="prev">Previous</a>` : "") +
      ` <span>rows ${from + 1}–${to} of ${list.length}, page ${pg} of ${pages}</span> ` +
      (pg < pages ? `<a href="${base}?page=${pg + 1}" rel="next" id="next-page">Next</a>` : "") + `</nav>`;
  }
  let html = pager + `<table id="fleet"><caption>${esc(caption)} (${list.length})</caption><thead><tr><th scope="col">Instance</th><th scope="col">Image</th><th scope="col">Project</th><th scope="col">Host</th><th scope="col">State</th></tr></thead><tbody>`;
  const parts = [];
  for (let k = from; k < to; k++) {
    const i = list[k];
    parts.push(`<tr><td>${esc(i.id)}</td><td><a href="#/image/${encodeURIComponent(i.image_id)}">${esc(name(i.image_id))}</a></td><td>${names && names.get(i.project_id) ? esc(names.get(i.project_id)) : esc(i.project_id)}</td><td>${esc(i.host)}</td><td>${esc(i.state)}</td></tr>`);
  }
  return html + parts.join("") + `</tbody></table>` + pager;
}

// chart draws, per parameter, the baseline's band (baseline ± 2 scales,
// the scale being |value − baseline| / |z|) and the fleet's value.
function chart(expl) {
  if (!expl || !expl.length) return `<p class="muted">No explanation: the publisher has no verdict yet.</p>`;
  const rows = expl.slice().sort((a, b) => Math.abs(b.z) - Math.abs(a.z));
  const W = 960, L = 200, R = 300, H = 26, top = 8;
  let svg = `<svg role="img" aria-labelledby="chart-t chart-d" width="${W}" height="${top + rows.length * H + 20}" viewBox="0 0 ${W} ${top + rows.length * H + 20}">
    <title id="chart-t">Fleet against baseline</title><desc id="chart-d">For each parameter, the band is the baseline plus or minus two scales, the dot the fleet's value; the most deviating first.</desc>`;
  rows.forEach((e, k) => {
    const s = e.z ? Math.abs((e.value - e.baseline) / e.z) : 0;
    const lo = Math.min(e.baseline - 2 * s, e.value), hi = Math.max(e.baseline + 2 * s, e.value);
    const span = hi - lo || 1;
    const x = (v) => L + ((v - lo) / span) * (W - L - R);
    const y = top + k * H;
    const out = Math.abs(e.z) > 2;
    svg += `<text x="0" y="${y + 15}">${esc(e.feature).slice(0, 34)}</text>
      <rect x="${x(e.baseline - 2 * s)}" y="${y + 4}" width="${Math.max(2, x(e.baseline + 2 * s) - x(e.baseline - 2 * s))}" height="14" fill="#cfe0f5"><title>baseline ${num(e.baseline)} ± ${num(2 * s)}</title></rect>
      <line x1="${x(e.baseline)}" x2="${x(e.baseline)}" y1="${y + 2}" y2="${y + 20}" stroke="#0a4fa8" stroke-width="2"/>
      <circle cx="${x(e.value)}" cy="${y + 11}" r="6" fill="${out ? "#a30000" : "#0b6b2b"}"><title>fleet ${num(e.value)}, z ${fmt(e.z)}</title></circle>
      <text x="${W - R + 12}" y="${y + 15}">fleet ${num(e.value)} · baseline ${num(e.baseline)} · z ${fmt(e.z, 1)}</text>`;
  });
  return svg + `</svg>`;
}

// The unified state folds every instance's latest snapshot, sets and all:
// for a large fleet it is the slowest read (megabytes, and a second of the
// server's time for 10,000 instances), so it is read only when the reader
// opens it, and again at most every STATE_MS while it is open.
const STATE_MS = 30000;
const stateHTML = new Map(); // publisher → the rendered state
const stateAt = new Map();   // publisher → when it was last read
let stateOpen = false;
async function loadState(id) {
  if (Date.now() - (stateAt.get(id) || 0) < STATE_MS) return;
  stateAt.set(id, Date.now());
  const state = await tryApi(`/v1/publishers/${encodeURIComponent(id)}/state`, null).catch(() => null);
  let html = '<p class="muted">No unified state you may see.</p>';
  if (state && state.numeric) {
    html = `<table><caption>${state.numeric.length} numeric parameters over ${state.instances} instances</caption><thead><tr><th scope="col">Parameter</th><th scope="col">Strategy</th><th scope="col" class="num">Value</th><th scope="col" class="num">Coverage</th></tr></thead><tbody>`;
    html += state.numeric.map((n) => `<tr><td>${esc(n.name)}</td><td>${esc(n.strategy)}</td><td class="num">${num(n.value)}</td><td class="num">${fmt(n.coverage)}</td></tr>`).join("");
    html += `</tbody></table>`;
  }
  stateHTML.set(id, html);
  const slot = $("state-slot");
  if (slot && slot.dataset.publisher === id && slot.innerHTML !== html) slot.innerHTML = html;
}
document.addEventListener("toggle", (ev) => {
  if (ev.target.id !== "state-details") return;
  stateOpen = ev.target.open;
  if (stateOpen) loadState(ev.target.dataset.publisher);
}, true);

async function publisherPage(id) {
  const enc = encodeURIComponent(id);
  const admin = me.role === "admin";
  const [pub, proj, images, fleet, verdicts, audit, names] = await Promise.all([
    tryApi("/v1/publishers/" + enc, {}), tryApi("/v1/projects/" + enc, {}), allImages("owner=" + enc),
    admin ? tryApi(`/v1/publishers/${enc}/fleet`, null) : null,
    admin ? tryApi("/v1/verdicts?kind=image", { verdicts: [] }) : { verdicts: [] }, admin ? latestAudit(1000) : [], projectNames(),
  ]);
  const v = fleet && fleet.verdict;
  const flagged = v && v.state === "flagged";
  const imgs = new Map(images.map((i) => [i.id, i]));
  const iv = new Map(verdicts.verdicts.map((x) => [x.subject, x]));
  let html = `<h1>Publisher ${esc(pub.display_name || proj.name || id)} ${v ? badge(v.state) : ""} ${pub.verified ? badge("verified") : ""}</h1>`;
  html += `<div class="cards"><div class="card">Project <code>${esc(id)}</code></div>`;
  if (v) html += `<div class="card">Mean surprise <strong>${fmt(v.score)}</strong> against threshold ${fmt(v.threshold)} over ${v.instances} scored instances</div>`;
  html += `<div class="card">${images.length} images${flagged ? ", all " + badge("quarantined") : ""}</div></div>`;
  html += `<h2>Images</h2><table id="pub-images"><thead><tr><th scope="col">Image</th><th scope="col">Visibility</th><th scope="col">Status</th><th scope="col">Role</th><th scope="col">Verdict</th><th scope="col" class="num">Score</th></tr></thead><tbody>`;
  html += images.map((i) => { const x = iv.get(i.id); return `<tr><td><a href="#/image/${encodeURIComponent(i.id)}">${esc(i.name || i.id)}</a></td><td>${esc(i.visibility)}</td><td>${esc(i.status)}</td><td>${esc(i.sim_role || "")}</td><td>${x ? badge(x.state) : "—"}</td><td class="num">${fmt(x && x.score)}</td></tr>`; }).join("");
  html += `</tbody></table>`;
  html += `<h2>Unified state against the baseline</h2>`;
  html += v ? `<p>What the detectors found most deviating, averaged over the fleet:</p>` + chart(v.explanation) : `<p class="muted">Not judged yet.</p>`;
  html += `<details id="state-details" data-publisher="${esc(id)}"${stateOpen ? " open" : ""}><summary>Every numeric parameter of the unified state</summary>
    <div id="state-slot" data-publisher="${esc(id)}">${stateHTML.get(id) || '<p class="muted">Loading the unified state…</p>'}</div></details>`;
  if (stateOpen) setTimeout(() => loadState(id), 0);
  const hist = audit.filter((e) => e.object === "publisher/" + id);
  if (admin) {
    html += `<h2>Verdict history</h2>`;
    html += hist.length ? `<table id="history"><thead><tr><th scope="col">Time</th><th scope="col">Action</th><th scope="col">Object</th><th scope="col">Actor</th><th scope="col">Result</th><th scope="col">Reason</th></tr></thead><tbody>${denialRows(hist)}</tbody></table>` : `<p class="muted">No flag, clearing or trust change recorded.</p>`;
  }
  if (fleet) {
    html += `<h2 id="fleet-h">Fleet ${flagged ? badge("quarantined") : ""}</h2>` + instanceTable(fleet.instances, "Running instances of its images", imgs, names);
  }
  return html;
}

async function imagePage(id) {
  const enc = encodeURIComponent(id);
  const admin = me.role === "admin";
  const [img, members, flags, audit, names] = await Promise.all([
    api("/v2/images/" + enc), tryApi(`/v2/images/${enc}/members`, { members: [] }),
    tryApi("/v1/flags?all=true", { flags: [] }), admin ? latestAudit(1000) : [], projectNames(),
  ]);
  const protect = img.imgward_protect || "none";
  let html = `<h1>Image ${esc(img.name || img.id)}</h1><div class="cards">
    <div class="card">Visibility <strong>${esc(img.visibility)}</strong></div><div class="card">Status ${esc(img.status)}</div>
    <div class="card">Owner <a href="#/publisher/${encodeURIComponent(img.owner)}">${named(names, img.owner)}</a></div>
    <div class="card">Protection <strong>${esc(protect)}</strong></div></div>`;
  html += `<h2>Members</h2>`;
  html += members.members.length ? `<table id="members"><thead><tr><th scope="col">Project</th><th scope="col">Status</th><th scope="col">Since</th></tr></thead><tbody>` +
    members.members.map((m) => `<tr><td>${named(names, m.member_id)}</td><td>${badge(m.status, m.status === "accepted" ? "ok" : "neutral")}</td><td>${when(m.updated_at)}</td></tr>`).join("") + `</tbody></table>` : `<p class="muted">No members you may see.</p>`;
  const mine = flags.flags.filter((f) => f.image_id === id || f.derived_from === id);
  html += `<h2>Derived-image flags</h2>`;
  html += mine.length ? `<table id="flags"><thead><tr><th scope="col">Image</th><th scope="col">Derived from</th><th scope="col" class="num">Share</th><th scope="col">Reason</th><th scope="col">Cleared</th></tr></thead><tbody>` +
    mine.map((f) => `<tr><td>${objectLink("image/" + f.image_id)}</td><td>${f.derived_from ? objectLink("image/" + f.derived_from) : "—"}</td><td class="num">${fmt(f.fraction)}</td><td>${esc(f.reason)}</td><td>${f.cleared_by ? esc(f.cleared_by) : "no"}</td></tr>`).join("") + `</tbody></table>` : `<p class="muted">None.</p>`;
  if (admin) {
    const keys = audit.filter((e) => e.object === "image/" + id && (e.action === "key.release" || e.action === "image.download" || e.action === "key.owner"));
    html += `<h2>Key releases and denials</h2>`;
    html += keys.length ? `<table id="releases"><thead><tr><th scope="col">Time</th><th scope="col">Action</th><th scope="col">Object</th><th scope="col">Actor</th><th scope="col">Result</th><th scope="col">Reason</th></tr></thead><tbody>${denialRows(keys)}</tbody></table>` : `<p class="muted">None recorded.</p>`;
  }
  return html;
}

// verifyCheckpoint checks the checkpoint's Ed25519 signature against the
// verifier key (C2SP signed note: key hash = SHA-256(name \n 0x01 key)[:4]).
async function verifyCheckpoint(note, vkey) {
  // The key's base64 may hold "+": split at the first two only.
  const v = vkey.trim(), i = v.indexOf("+"), j = v.indexOf("+", i + 1);
  const name = v.slice(0, i), hashHex = v.slice(i + 1, j), keyB64 = v.slice(j + 1);
  const raw = Uint8Array.from(atob(keyB64), (c) => c.charCodeAt(0));
  if (raw[0] !== 1) return "unknown key algorithm";
  const sep = note.indexOf("\n\n");
  const text = note.slice(0, sep + 1);
  const sigs = note.slice(sep + 2).split("\n").filter((l) => l.startsWith("— " + name + " "));
  if (!sigs.length) return "no signature by " + name;
  const sig = Uint8Array.from(atob(sigs[0].split(" ")[2]), (c) => c.charCodeAt(0));
  if (sig.length !== 68 || [...sig.slice(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join("") !== hashHex) return "signature is by another key";
  const key = await crypto.subtle.importKey("raw", raw.slice(1), { name: "Ed25519" }, false, ["verify"]);
  const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, sig.slice(4), new TextEncoder().encode(text));
  return ok ? "" : "signature does not verify";
}

async function auditPage() {
  const [note, vkey, entries] = await Promise.all([api("/v1/audit/checkpoint", { text: true }), api("/v1/audit/key", { text: true }), latestAudit(1000)]);
  let why;
  try { why = await verifyCheckpoint(note, vkey); } catch (e) { why = "cannot verify in this browser: " + e.message; }
  const size = note.split("\n")[1];
  let html = `<h1>Audit log</h1>`;
  html += `<p id="checkpoint-status">${why === "" ? badge("checkpoint verifies", "ok") : badge("checkpoint does not verify", "denied") + " " + esc(why)} — the tree holds ${esc(size)} entries, signed by <code>${esc(vkey.split("+")[0])}</code>.</p>`;
  html += `<details><summary>Latest signed checkpoint</summary><pre>${esc(note)}</pre></details>`;
  html += `<table id="audit"><caption>Latest ${entries.length} entries, newest first</caption><thead><tr><th scope="col">Time</th><th scope="col">Action</th><th scope="col">Object</th><th scope="col">Actor</th><th scope="col">Result</th><th scope="col">Reason</th></tr></thead><tbody>${denialRows(entries)}</tbody></table>`;
  return html;
}

// --- start -----------------------------------------------------------------

window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const tok = $("token").value.trim();
    $("token").value = "";
    signIn(tok);
  });
  $("signout").addEventListener("click", () => signOut(""));
  const tok = sessionStorage.getItem("imgward.token");
  if (tok) signIn(tok); else signOut("");
});
