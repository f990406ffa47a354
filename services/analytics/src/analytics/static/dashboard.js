// The analysts' dashboard: the analytics API's disclosure-controlled answers as charts and
// tables. No dependencies and nothing fetched from elsewhere: one origin, one token.
//
// The bearer token comes from the URL fragment (#token=...), which browsers never send
// to a server, or from the paste box; it lives in this closure's memory only (no
// storage, no cookie), and the fragment is wiped from the address bar once read.
//
// Every number is written with a stable data-testid and its exact value in data-value
// (integers without separators), so a test can hold the page to the API's JSON.
// A cell the API suppressed (null: a count under the threshold) reads "suppressed (<10)"
// with data-value="suppressed", never 0.
"use strict";

(() => {
  const MEASURES = [
    "referral_to_reasonable_grounds",
    "reasonable_grounds_to_conclusive_grounds",
    "support_entry_to_exit",
  ];
  const CHARTS = ["funnel", "dropoff-rates", "time-to-event"];
  const DROPOFF_FIELDS = [
    ["raised", "Flags raised", "count"],
    ["open", "Open", "count"],
    ["resolved", "Resolved", "count"],
    ["journeys", "Journeys", "count"],
    ["rate", "Rate", "share"],
    ["median_days_to_resolution", "Median days to resolve", "days"],
  ];
  const integer = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 0 });
  const share = new Intl.NumberFormat("en-GB", { style: "percent", maximumFractionDigits: 1 });
  const days = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 1 });

  let token = null;
  let threshold = 10;

  const byId = (id) => document.getElementById(id);

  function api(path) {
    // Relative to the page, so the dashboard works behind a path prefix too.
    return new URL(path, document.baseURI).href;
  }

  async function get(path) {
    const response = await fetch(api(path), {
      headers: { Authorization: `Bearer ${token}` },
      cache: "no-store",
      credentials: "omit",
    });
    if (response.status === 401 || response.status === 403) {
      throw new Error(`the token was refused for ${path} (HTTP ${response.status})`);
    }
    if (!response.ok) {
      throw new Error(`${path} failed (HTTP ${response.status})`);
    }
    return response;
  }

  const getJSON = async (path) => (await get(path)).json();

  function cell(tag, testid, value, kind) {
    const element = document.createElement(tag);
    element.className = "num";
    fill(element, testid, value, kind);
    return element;
  }

  function fill(element, testid, value, kind) {
    element.dataset.testid = testid;
    if (value === null || value === undefined) {
      element.replaceChildren("suppressed ", text("span", `(<${threshold})`));
      element.dataset.value = "suppressed";
      element.classList.add("suppressed");
      return;
    }
    element.dataset.value = String(value);
    if (kind === "share") element.textContent = share.format(value);
    else if (kind === "days") element.textContent = days.format(value);
    else element.textContent = integer.format(value);
  }

  function text(tag, content, attributes = {}) {
    const element = document.createElement(tag);
    element.textContent = content;
    for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
    return element;
  }

  function showFunnel(funnel) {
    const body = document.querySelector('[data-testid="table-funnel"] tbody');
    body.replaceChildren();
    const labels = Object.fromEntries(funnel.steps.map((step) => [step.step, step.label]));
    funnel.steps.forEach((step, index) => {
      const row = document.createElement("tr");
      row.dataset.testid = `funnel-row-${step.step}`;
      const conversion = cell("td", `funnel-conversion-${step.step}`, step.conversion, "share");
      if (index === 0 && step.conversion === null) notApplicable(conversion);
      row.append(
        text("th", step.label, { scope: "row" }),
        cell("td", `funnel-count-${step.step}`, step.count, "count"),
        conversion,
        text("td", step.conversion_from ? labels[step.conversion_from] : "", {
          "data-testid": `funnel-conversion-from-${step.step}`,
        }),
      );
      body.append(row);
    });
  }

  function notApplicable(element) {
    // The first step has no step before it: nothing is hidden, there is nothing to show.
    element.textContent = "–";
    element.title = "No previous step";
    element.dataset.value = "n/a";
    element.classList.remove("suppressed");
  }

  function dropoffRate(journeys, inPeriod) {
    // The share is only as visible as both of its counts.
    if (journeys === null || inPeriod === null || inPeriod === 0) return null;
    return journeys / inPeriod;
  }

  function dropoffRow(tag, by, row, inPeriod) {
    const element = document.createElement("tr");
    element.dataset.testid = `dropoffs-${by}-row-${row.group}`;
    element.append(text("th", row.label ?? row.group, { scope: "row" }));
    for (const [field, , kind] of DROPOFF_FIELDS) {
      const value = field === "rate" ? dropoffRate(row.journeys, inPeriod) : row[field];
      element.append(cell(tag, `dropoffs-${by}-${field}-${row.group}`, value, kind));
    }
    return element;
  }

  function showDropoffs(dropoffs) {
    const table = document.querySelector(`[data-testid="table-dropoffs-${dropoffs.by}"]`);
    const head = document.createElement("tr");
    head.append(text("th", dropoffs.by === "rule" ? "Rule" : "Stage", { scope: "col" }));
    for (const [, label] of DROPOFF_FIELDS) {
      head.append(text("th", label, { scope: "col", class: "num" }));
    }
    table.tHead.replaceChildren(head);
    const inPeriod = dropoffs.journeys_in_period;
    table.tBodies[0].replaceChildren(
      ...dropoffs.rows.map((row) => dropoffRow("td", dropoffs.by, row, inPeriod)),
    );
    const total = { label: "All", ...dropoffs.total, group: "all" };
    table.tFoot.replaceChildren(dropoffRow("td", dropoffs.by, total, inPeriod));
  }

  function showTimeToEvent(measures) {
    const body = document.querySelector('[data-testid="table-time-to-event"] tbody');
    body.replaceChildren();
    for (const measure of measures) {
      const row = document.createElement("tr");
      row.dataset.testid = `tte-row-${measure.measure}`;
      row.append(
        text("th", measure.label, { scope: "row" }),
        cell("td", `tte-at_risk-${measure.measure}`, measure.at_risk, "count"),
        cell("td", `tte-events-${measure.measure}`, measure.events, "count"),
        cell("td", `tte-censored-${measure.measure}`, measure.censored, "count"),
        medianCell(measure),
      );
      body.append(row);
    }
  }

  function medianCell(measure) {
    const element = cell("td", `tte-median_days-${measure.measure}`, measure.median_days, "days");
    // A null median beside published counts means fewer than half have reached the event
    // yet, which is not a suppression.
    if (measure.median_days === null && measure.at_risk !== null && measure.events !== null) {
      element.textContent = "not reached";
      element.dataset.value = "not-reached";
      element.classList.remove("suppressed");
    }
    return element;
  }

  async function showChart(name) {
    const figure = document.querySelector(`[data-chart="${name}"]`);
    const source = await (await get(`v1/charts/${name}.svg`)).text();
    const parsed = new DOMParser().parseFromString(source, "image/svg+xml");
    const svg = parsed.documentElement;
    if (svg.localName !== "svg" || parsed.querySelector("parsererror")) {
      throw new Error(`the ${name} chart is not an SVG image`);
    }
    // Our own service drew it, but an inline SVG runs scripts, so none may come along.
    for (const script of svg.querySelectorAll("script, foreignObject")) script.remove();
    for (const element of [svg, ...svg.querySelectorAll("*")]) {
      for (const { name: attribute } of [...element.attributes]) {
        if (attribute.toLowerCase().startsWith("on")) element.removeAttribute(attribute);
      }
    }
    figure.replaceChildren(document.importNode(svg, true));
    figure.dataset.loaded = "true";
  }

  function fail(error) {
    const message = error instanceof Error ? error.message : String(error);
    const box = byId("error");
    box.textContent = `Could not load the dashboard: ${message}`;
    box.hidden = false;
    byId("status").textContent = "";
    document.body.dataset.error = message;
    delete document.body.dataset.ready;
    if (/token/.test(message)) byId("token-form").hidden = false;
  }

  async function load() {
    delete document.body.dataset.ready;
    delete document.body.dataset.error;
    byId("error").hidden = true;
    byId("status").textContent = "Loading…";
    try {
      const [funnel, byStage, byRule, ...measures] = await Promise.all([
        getJSON("v1/funnel"),
        getJSON("v1/dropoffs?by=stage"),
        getJSON("v1/dropoffs?by=rule"),
        ...MEASURES.map((m) => getJSON(`v1/time-to-event?measure=${encodeURIComponent(m)}`)),
      ]);
      threshold = funnel.threshold;
      byId("threshold").textContent = String(threshold);
      fill(
        document.querySelector('[data-testid="dropoffs-journeys-in-period"]'),
        "dropoffs-journeys-in-period",
        byStage.journeys_in_period,
        "count",
      );
      showFunnel(funnel);
      showDropoffs(byStage);
      showDropoffs(byRule);
      showTimeToEvent(measures);
      await Promise.all(CHARTS.map(showChart));
      byId("content").hidden = false;
      byId("token-form").hidden = true;
      byId("status").textContent = "";
      document.body.dataset.ready = "true";
    } catch (error) {
      fail(error);
    }
  }

  function tokenFromFragment() {
    const fragment = new URLSearchParams(window.location.hash.slice(1));
    const found = fragment.get("token");
    if (found) {
      // Out of the address bar, the history and any screenshot.
      history.replaceState(null, "", window.location.pathname + window.location.search);
    }
    return found;
  }

  function start() {
    token = tokenFromFragment();
    const form = byId("token-form");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const input = byId("token-input");
      token = input.value.trim();
      input.value = "";
      if (token) load();
    });
    if (token) load();
    else {
      form.hidden = false;
      byId("status").textContent = "Paste an analyst token to load the dashboard.";
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
