// An agency's open drop-off flags, most overdue first, in the catalogue's plain words.
// No dependencies and nothing fetched from elsewhere: one origin, one token.
//
// The bearer token comes from the URL fragment (#token=...), which browsers never send
// to a server, or from the paste box; it lives in this closure's memory only (no
// storage, no cookie), and the fragment is wiped from the address bar once read.
"use strict";

(() => {
  const PAGES = 20; // at most 20 pages of 200: an agency with more needs the API's filters
  const when = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short" });
  let token = null;

  const byId = (id) => document.getElementById(id);

  function text(tag, content, attributes = {}) {
    const element = document.createElement(tag);
    element.textContent = content;
    for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
    return element;
  }

  async function getJSON(path) {
    // Relative to the page, so the page works behind a path prefix too.
    const response = await fetch(new URL(path, document.baseURI).href, {
      headers: { Authorization: `Bearer ${token}` },
      cache: "no-store",
      credentials: "omit",
    });
    if (response.status === 401 || response.status === 403) {
      throw new Error(`the token was refused (HTTP ${response.status})`);
    }
    if (!response.ok) throw new Error(`${path} failed (HTTP ${response.status})`);
    return response.json();
  }

  async function openFlags() {
    const flags = [];
    let cursor = null;
    for (let page = 0; page < PAGES; page += 1) {
      const query = new URLSearchParams({ status: "open", limit: "200" });
      if (cursor) query.set("cursor", cursor);
      const answer = await getJSON(`v1/flags?${query}`);
      flags.push(...answer.items);
      cursor = answer.next_cursor;
      if (!cursor) break;
    }
    return flags;
  }

  function overdue(dueAt, now) {
    // Whole days past due, or hours within the first day; "not yet" before it.
    const hours = (now - new Date(dueAt)) / 3.6e6;
    if (hours < 0) return "not yet due";
    if (hours < 24) return `${Math.floor(hours)} h`;
    const daysPast = Math.floor(hours / 24);
    return `${daysPast} day${daysPast === 1 ? "" : "s"}`;
  }

  function row(flag, now) {
    const element = document.createElement("tr");
    element.dataset.testid = `flag-${flag.flag_id}`;
    element.dataset.rule = flag.rule_id;
    element.classList.add(`severity-${flag.severity}`);
    element.append(
      text("td", overdue(flag.due_at, now), { "data-testid": "overdue", class: "num" }),
      text("th", flag.title, { scope: "row", "data-testid": "title" }),
      text("td", flag.rationale, { "data-testid": "rationale", class: "rationale" }),
      text("td", flag.severity, { "data-testid": "severity" }),
      text("td", flag.journey_id, { "data-testid": "journey", class: "journey" }),
      text("td", when.format(new Date(flag.due_at)), { "data-testid": "due" }),
    );
    return element;
  }

  function agencyOf(jwt) {
    // Shown to the person at the screen only; the server checks the token itself.
    try {
      const payload = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(payload)).agency_id ?? "";
    } catch {
      return "";
    }
  }

  async function load() {
    byId("error").hidden = true;
    byId("status").textContent = "Loading…";
    try {
      const flags = await openFlags();
      const now = new Date();
      byId("agency").textContent = `Agency: ${agencyOf(token)}`;
      byId("flag-count").textContent = String(flags.length);
      byId("flag-count").dataset.value = String(flags.length);
      document.querySelector('[data-testid="table-flags"] tbody')
        .replaceChildren(...flags.map((flag) => row(flag, now)));
      byId("content").hidden = false;
      byId("status").textContent = flags.length ? "" : "No open flags.";
      document.body.dataset.state = "ready";
    } catch (error) {
      byId("status").textContent = "";
      byId("error").textContent = `Could not load the flags: ${error.message}.`;
      byId("error").hidden = false;
      byId("token-form").hidden = false;
      document.body.dataset.state = "error";
    }
  }

  function start() {
    const fragment = new URLSearchParams(window.location.hash.slice(1));
    token = fragment.get("token");
    if (token) {
      history.replaceState(null, "", window.location.pathname + window.location.search);
      load();
    } else {
      byId("token-form").hidden = false;
    }
    byId("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      token = byId("token-input").value.trim();
      byId("token-form").hidden = true;
      load();
    });
  }

  start();
})();
