// nublado-trio admin dashboard. Plain JavaScript, no dependencies, served by the controller.
//
// One WebSocket (dashboard/ws) brings every update; messages only change `model`, and a
// render is scheduled at most every RENDER_INTERVAL ms, so a storm of events costs a few
// renders per second. The lab table is virtualised: only the rows in view exist in the DOM,
// so 3,000 labs cost as much to draw as 20.
"use strict";

(() => {
  const RENDER_INTERVAL = 250;
  const ROW_HEIGHT = 30;
  const OVERSCAN = 8;
  const STATUS_ORDER = { failed: 0, pending: 1, terminating: 2, running: 3 };

  const model = {
    labs: new Map(), activity: null, bucketSeconds: 10, tree: null, images: null,
    services: [], fileservers: null, leadership: null, session: null,
  };
  // Render and feed counters, for bench/dashboard.py and the curious (nothing reads them).
  const stats = { renders: 0, renderMs: 0, maxRenderMs: 0, messages: 0, bytes: 0 };
  window.nubladoDashboardStats = stats;
  const dirty = new Set();
  let renderTimer = null;
  let lastRender = 0;
  let selectedUser = null;
  let sorted = [];
  let socket = null;
  let retryDelay = 500;
  const openNodes = new Set();
  const closedNodes = new Set();

  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };

  // -- rendering schedule --------------------------------------------------------------------

  function invalidate(part) {
    dirty.add(part);
    if (renderTimer !== null) return;
    const wait = Math.max(0, RENDER_INTERVAL - (performance.now() - lastRender));
    renderTimer = setTimeout(() => {
      renderTimer = null;
      requestAnimationFrame(render);
    }, wait);
  }

  function render() {
    lastRender = performance.now();
    const parts = new Set(dirty);
    dirty.clear();
    if (parts.has("labs")) { renderSummary(); resort(); renderRows(); }
    if (parts.has("rows")) renderRows();
    if (parts.has("activity")) renderActivity();
    if (parts.has("tree")) renderTree();
    if (parts.has("images")) renderImages();
    if (parts.has("services")) renderServices();
    const took = performance.now() - lastRender;
    stats.renders++;
    stats.renderMs += took;
    stats.maxRenderMs = Math.max(stats.maxRenderMs, took);
  }

  // -- labs ------------------------------------------------------------------------------------

  function shortImage(reference) {
    const withoutDigest = reference.split("@")[0];
    const slash = withoutDigest.lastIndexOf("/");
    return withoutDigest.slice(slash + 1);
  }

  function age(since) {
    let s = Math.max(0, Date.now() / 1000 - since);
    if (s < 60) return `${Math.floor(s)}s`;
    s /= 60; if (s < 60) return `${Math.floor(s)}m`;
    s /= 60; if (s < 48) return `${Math.floor(s)}h`;
    return `${Math.floor(s / 24)}d`;
  }

  function matches(row, filter) {
    if (!filter) return true;
    return row.user.includes(filter) || row.status.includes(filter) ||
      row.image.toLowerCase().includes(filter) || (row.message || "").toLowerCase().includes(filter);
  }

  function resort() {
    const filter = $("filter").value.trim().toLowerCase();
    const key = $("sort").value;
    sorted = [...model.labs.values()].filter((row) => matches(row, filter));
    const byUser = (a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0);
    const compare = {
      user: byUser,
      status: (a, b) => (STATUS_ORDER[a.status] ?? 9) - (STATUS_ORDER[b.status] ?? 9) || byUser(a, b),
      age: (a, b) => a.since - b.since || byUser(a, b),
      activity: (a, b) => (b.in_progress - a.in_progress) ||
        (STATUS_ORDER[a.status] ?? 9) - (STATUS_ORDER[b.status] ?? 9) || byUser(a, b),
    }[key] || byUser;
    sorted.sort(compare);
    $("spacer").style.height = `${sorted.length * ROW_HEIGHT}px`;
    $("lab-count").textContent = `${sorted.length} of ${model.labs.size}`;
    $("lab-table").setAttribute("aria-rowcount", String(sorted.length + 1));
  }

  const rowPool = [];

  function rowElement(index) {
    let tr = rowPool[index];
    if (!tr) {
      tr = el("div", "tr");
      tr.setAttribute("role", "row");
      tr.tabIndex = 0;
      for (const cls of ["c-user", "c-status", "c-size", "c-image", "c-age", "c-progress"]) {
        const cell = el("span", cls);
        cell.setAttribute("role", "cell");
        tr.appendChild(cell);
      }
      const progress = tr.lastChild;
      progress.classList.add("progress");
      const bar = el("span", "bar");
      bar.setAttribute("role", "progressbar");
      bar.setAttribute("aria-valuemin", "0");
      bar.setAttribute("aria-valuemax", "100");
      bar.appendChild(el("i"));
      progress.appendChild(bar);
      progress.appendChild(el("span", "msg"));
      tr.addEventListener("click", () => openLab(tr.dataset.user));
      tr.addEventListener("keydown", (e) => { if (e.key === "Enter") openLab(tr.dataset.user); });
      rowPool[index] = tr;
      $("spacer").appendChild(tr);
    }
    return tr;
  }

  function renderRows() {
    const viewport = $("viewport");
    const first = Math.max(0, Math.floor(viewport.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const count = Math.ceil(viewport.clientHeight / ROW_HEIGHT) + 2 * OVERSCAN;
    const last = Math.min(sorted.length, first + count);
    let slot = 0;
    for (let i = first; i < last; i++, slot++) fillRow(rowElement(slot), sorted[i], i);
    for (; slot < rowPool.length; slot++) rowPool[slot].hidden = true;
  }

  function fillRow(tr, row, index) {
    tr.hidden = false;
    tr.dataset.user = row.user;
    tr.dataset.status = row.status;
    tr.dataset.outcome = row.outcome || "";
    tr.style.top = `${index * ROW_HEIGHT}px`;
    tr.setAttribute("aria-rowindex", String(index + 2));
    const [user, status, size, image, ageCell, progress] = tr.children;
    user.textContent = row.user;
    status.textContent = "";
    status.appendChild(el("span", `st st-${row.status}`, row.status));
    size.textContent = row.size;
    image.textContent = shortImage(row.image);
    image.title = row.image;
    ageCell.textContent = age(row.since);
    const bar = progress.firstChild;
    const value = row.progress ?? 0;
    bar.className = `bar ${row.outcome || ""}`;
    bar.setAttribute("aria-valuenow", String(value));
    bar.setAttribute("aria-label", `progress of ${row.user}`);
    bar.firstChild.style.width = `${value}%`;
    progress.lastChild.textContent = row.message || "";
    progress.title = row.message || "";
  }

  function renderSummary() {
    let running = 0, failed = 0, busy = 0;
    for (const row of model.labs.values()) {
      if (row.status === "running") running++;
      if (row.status === "failed") failed++;
      if (row.in_progress) busy++;
    }
    $("n-labs").textContent = model.labs.size;
    $("n-running").textContent = running;
    $("n-failed").textContent = failed;
    $("n-spawning").textContent = busy;
  }

  function renderActivity() {
    const buckets = model.activity || [];
    const perMinute = Math.max(1, Math.round(60 / model.bucketSeconds));
    const minutes = [];
    for (let i = 0; i < buckets.length; i += perMinute) {
      const slice = buckets.slice(i, i + perMinute);
      minutes.push(slice.reduce((acc, b) => [acc[0] + b[0], acc[1] + b[1], acc[2] + b[2]], [0, 0, 0]));
    }
    const peak = Math.max(1, ...minutes.map((m) => Math.max(m[0], m[1] + m[2])));
    const box = $("activity");
    box.textContent = "";
    for (const [started, completed, failed] of minutes) {
      const col = el("div", "col");
      col.title = `${started} started, ${completed} completed, ${failed} failed`;
      const add = (cls, n) => { const b = el("div", cls); b.style.height = `${(n / peak) * 100}%`; col.appendChild(b); };
      add("c", completed); add("f", failed);
      const s = el("div", "s"); s.style.height = `${(started / peak) * 40}%`; s.style.opacity = "0.7";
      col.appendChild(s);
      box.appendChild(col);
    }
    const last = minutes[minutes.length - 1] || [0, 0, 0];
    const total = minutes.reduce((acc, m) => [acc[0] + m[0], acc[1] + m[1], acc[2] + m[2]], [0, 0, 0]);
    $("activity-text").textContent =
      `last minute: ${last[0]} started, ${last[1]} completed, ${last[2]} failed · ` +
      `10 minutes: ${total[0]} started, ${total[1]} completed, ${total[2]} failed`;
    box.setAttribute("aria-label", $("activity-text").textContent);
  }

  // -- actors ------------------------------------------------------------------------------------

  function treeNode(node, depth, counts) {
    counts.total++;
    if (node.degraded) counts.degraded++;
    counts.restarts += node.restarts;
    const li = el("li", "node");
    li.dataset.name = node.name;
    if (node.degraded) li.classList.add("degraded");
    if (node.restarts > 0) li.classList.add("restarted");
    const head = el(node.children.length || node.omitted ? "summary" : "div", node.children.length || node.omitted ? "" : "leaf");
    head.appendChild(el("span", "node-name", node.name));
    const meta = [`${node.status}`, node.phase];
    meta.push(`mailbox ${node.mailbox_depth}/${node.mailbox_capacity}`);
    if (node.restarts) meta.push(`restarts ${node.restarts}`);
    head.appendChild(el("span", "meta", meta.join(" · ")));
    if (node.last_error) {
      const error = el("span", "err", node.last_error);
      error.title = node.last_error;
      head.appendChild(error);
    }
    if (head.tagName === "DIV") { li.appendChild(head); return li; }
    const details = el("details");
    const open = openNodes.has(node.name) || (!closedNodes.has(node.name) && depth < 3);
    details.open = open;
    details.addEventListener("toggle", () => {
      if (details.open) { openNodes.add(node.name); closedNodes.delete(node.name); }
      else { closedNodes.add(node.name); openNodes.delete(node.name); }
    });
    details.appendChild(head);
    const ul = el("ul");
    for (const child of node.children) ul.appendChild(treeNode(child, depth + 1, counts));
    if (node.omitted) {
      const summary = Object.entries(node.omitted_status || {}).map(([k, v]) => `${v} ${k}`).join(", ");
      ul.appendChild(el("li", "omitted", `… ${node.omitted} more (${summary})`));
      counts.total += node.omitted;
    }
    details.appendChild(ul);
    li.appendChild(details);
    return li;
  }

  function renderTree() {
    if (!model.tree) return;
    const counts = { total: 0, degraded: 0, restarts: 0 };
    const ul = el("ul");
    ul.appendChild(treeNode(model.tree, 0, counts));
    const box = $("tree");
    const scroll = box.scrollTop;
    box.textContent = "";
    box.appendChild(ul);
    box.scrollTop = scroll;
    $("actor-summary").textContent =
      `${counts.total} actors · ${counts.degraded} degraded · ${counts.restarts} restarts shown`;
  }

  // -- images and services -----------------------------------------------------------------------

  function table(headers, rows) {
    const t = el("table", "plain");
    const head = el("tr");
    for (const h of headers) head.appendChild(el("th", "", h));
    t.appendChild(head);
    for (const cells of rows) {
      const tr = el("tr");
      for (const cell of cells) {
        const td = el("td");
        if (cell instanceof Node) td.appendChild(cell); else td.textContent = cell ?? "";
        tr.appendChild(td);
      }
      t.appendChild(tr);
    }
    return t;
  }

  function renderImages() {
    const box = $("images");
    box.textContent = "";
    const status = model.images;
    if (!status) { box.appendChild(el("p", "muted", "No image service.")); return; }
    const images = [
      ...status.images.prepulled.map((i) => [i, true]),
      ...status.images.pending.map((i) => [i, false]),
    ];
    box.appendChild(table(["Image", "Tag", "Prepulled", "On nodes", "Missing on"],
      images.map(([i, done]) => [i.name, i.tag, el("span", done ? "yes" : "no", done ? "yes" : "pending"),
        i.nodes.length, i.missing.join(", ")])));
    box.appendChild(el("h3", "", "Nodes"));
    box.appendChild(table(["Node", "Eligible", "Cached images", "Comment"],
      status.nodes.map((n) => [n.name, el("span", n.eligible ? "yes" : "no", n.eligible ? "yes" : "no"),
        n.cached.length, n.comment || ""])));
  }

  function renderServices() {
    const box = $("services");
    box.textContent = "";
    const lead = model.leadership;
    if (lead) {
      box.appendChild(el("p", "", !lead.enabled ? "Leader election: off (one replica)." :
        `Leader: ${lead.leader || "none"}${lead.leader === lead.replica ? " (serving this page)" : ""}` +
        `${lead.since ? ", since " + lead.since : ""}; leader changes seen: ${lead.changes}`));
    }
    const running = model.fileservers ? model.fileservers.running : null;
    box.appendChild(el("p", "", running === null ? "File servers: disabled or not yet known." :
      `File servers running: ${running.length}${running.length ? " (" + running.join(", ") + ")" : ""}`));
    const items = model.services || [];
    if (!items.length) { box.appendChild(el("p", "muted", "No file-server, fsadmin or migration actors.")); return; }
    box.appendChild(table(["Kind", "Name", "Status", "Phase", "Restarts", "Last error"],
      items.map((s) => [s.kind, s.name, s.status, s.phase, s.restarts, s.last_error || ""])));
  }

  // -- one lab -----------------------------------------------------------------------------------

  async function api(path, options = {}) {
    const headers = { Accept: "application/json", ...(options.headers || {}) };
    if (options.method && options.method !== "GET" && model.session) headers["X-CSRF-Token"] = model.session.csrf;
    const response = await fetch(path, { credentials: "same-origin", ...options, headers });
    if (response.status === 401) { location.href = "login"; throw new Error("signed out"); }
    return response;
  }

  function errorText(body, response) {
    try { return body.detail.map((d) => d.msg).join("; "); } catch { return `HTTP ${response.status}`; }
  }

  async function openLab(user) {
    if (!user) return;
    selectedUser = user;
    $("lab-dialog-title").textContent = `Lab of ${user}`;
    $("lab-detail").textContent = "Loading…";
    $("confirm-delete").hidden = true;
    $("delete-lab").hidden = false;
    $("delete-status").textContent = "";
    if (!$("lab-dialog").open) $("lab-dialog").showModal();
    const response = await api(`labs/${encodeURIComponent(user)}`);
    const body = await response.json();
    if (selectedUser !== user) return;
    const box = $("lab-detail");
    box.textContent = "";
    if (!response.ok) { box.appendChild(el("p", "error", errorText(body, response))); return; }
    const state = body.state;
    if (state) {
      box.appendChild(table(["Status", "Size", "Image", "Internal URL"],
        [[state.status, state.options.size, state.options.image, state.internal_url || ""]]));
    } else {
      box.appendChild(el("p", "muted", "No lab state (deleted, or never completed)."));
    }
    box.appendChild(el("h3", "", "Events of the current or last operation"));
    const events = el("div", "events");
    events.appendChild(table(["Event", "Progress", "Message"],
      body.events.map((e) => [e.event, e.progress ?? "", e.message])));
    box.appendChild(events);
    box.appendChild(el("h3", "", "Kubernetes objects"));
    if (body.objects_error) box.appendChild(el("p", "error", body.objects_error));
    const objects = body.objects || [];
    box.appendChild(objects.length ? table(["Kind", "Name", "Phase", "Created"],
      objects.map((o) => [o.kind, o.name, o.phase || "", o.created || ""])) :
      el("p", "muted", "None."));
  }

  async function deleteSelected() {
    const user = selectedUser;
    $("confirm-delete").hidden = true;
    $("delete-status").textContent = `Deleting the lab of ${user}…`;
    const response = await api(`labs/${encodeURIComponent(user)}`, { method: "DELETE" });
    if (response.status === 204) {
      $("delete-status").textContent = `Deleted the lab of ${user}.`;
      $("delete-lab").hidden = true;
    } else {
      let body = null;
      try { body = await response.json(); } catch { /* not JSON */ }
      $("delete-status").textContent = `Delete failed: ${errorText(body, response)}`;
      $("delete-lab").hidden = false;
    }
  }

  // -- the feed ----------------------------------------------------------------------------------

  function onMessage(message) {
    switch (message.type) {
      case "labs":
        if (message.full) model.labs.clear();
        for (const row of message.rows) model.labs.set(row.user, row);
        for (const user of message.removed || []) model.labs.delete(user);
        invalidate("labs");
        break;
      case "activity":
        model.activity = message.buckets;
        model.bucketSeconds = message.bucket_seconds;
        invalidate("activity");
        break;
      case "actors": model.tree = message.tree; invalidate("tree"); break;
      case "images": model.images = message; invalidate("images"); break;
      case "services": model.services = message.items; invalidate("services"); break;
      case "leadership": model.leadership = message; invalidate("services"); break;
      case "fileservers": model.fileservers = message; invalidate("services"); break;
      default: break;
    }
  }

  function setConnected(on, text) {
    const badge = $("connection");
    badge.className = `conn ${on ? "conn-on" : "conn-off"}`;
    badge.textContent = text;
  }

  function connect() {
    const url = new URL("dashboard/ws", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(url);
    socket.onopen = () => { retryDelay = 500; setConnected(true, "live"); };
    socket.onmessage = (event) => {
      stats.messages++;
      stats.bytes += event.data.length;
      onMessage(JSON.parse(event.data));
    };
    socket.onclose = (event) => {
      setConnected(false, event.code === 1001 ? "controller restarting…" : "reconnecting…");
      setTimeout(async () => {
        // A refused handshake is not visible to scripts: ask who we are to find out.
        const response = await fetch("session", { credentials: "same-origin" }).catch(() => null);
        if (response && response.status === 401) { location.href = "login"; return; }
        connect();
      }, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 10000);
    };
  }

  async function start() {
    const response = await fetch("session", { credentials: "same-origin" });
    if (response.status === 401) { location.href = "login"; return; }
    model.session = await response.json();
    const who = model.session.user ? `signed in as ${model.session.user}` : "signed in";
    $("who").textContent = `${model.session.name} ${model.session.version} · ${who}`;
    if (model.session.via === "session") $("sign-out").hidden = false;
    $("sign-out").addEventListener("click", async () => {
      await api("logout", { method: "POST" });
      location.href = "login";
    });
    $("viewport").addEventListener("scroll", () => invalidate("rows"), { passive: true });
    window.addEventListener("resize", () => invalidate("rows"));
    $("filter").addEventListener("input", () => invalidate("labs"));
    $("sort").addEventListener("change", () => invalidate("labs"));
    $("delete-lab").addEventListener("click", () => {
      $("delete-lab").hidden = true;
      $("confirm-delete").hidden = false;
      $("confirm-delete-no").focus();
    });
    $("confirm-delete-no").addEventListener("click", () => {
      $("confirm-delete").hidden = true;
      $("delete-lab").hidden = false;
    });
    $("confirm-delete-yes").addEventListener("click", deleteSelected);
    $("lab-dialog").addEventListener("close", () => { selectedUser = null; });
    setInterval(() => invalidate("rows"), 5000); // ages move on without any message
    connect();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
