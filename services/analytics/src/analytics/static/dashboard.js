// The analysts' dashboard: the analytics API's disclosure-controlled answers as charts and
// tables. No dependencies and nothing fetched from elsewhere: one origin, one token.
//
// The bearer token comes from the URL fragment (#token=...), which browsers never send
// to a server, or from the paste box; it lives in this closure's memory only (no
// storage, no cookie), and the fragment is wiped from the address bar once read.
//
// Every number is written with a stable data-testid and its exact value in data-value
// (integers without separators), so a test can hold the page to the API's JSON.
// A cell the API suppressed (null) says what was hidden and why, in the API's own words
// for that field (the answer's `labels`, e.g. "suppressed (fewer than 10 journeys, or
// would reveal one)"), with data-value="suppressed", never 0. A zero is shown only where
// the API publishes one: a structural zero, such as a rule nothing resolves.
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

  function cell(tag, testid, value, kind, label) {
    const element = document.createElement(tag);
    element.className = "num";
    fill(element, testid, value, kind, label);
    return element;
  }

  function fill(element, testid, value, kind, label) {
    element.dataset.testid = testid;
    if (value === null || value === undefined) {
      // "suppressed (fewer than 10 flags, or would reveal one)": the word, then the why.
      const why = label || `suppressed (fewer than ${threshold}, or would reveal one)`;
      const cut = why.indexOf(" (");
      element.replaceChildren(
        cut < 0 ? why : why.slice(0, cut),
        ...(cut < 0 ? [] : [" ", text("span", why.slice(cut + 1), { class: "why" })]),
      );
      element.title = why;
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
      const conversion = cell(
        "td",
        `funnel-conversion-${step.step}`,
        step.conversion,
        "share",
        funnel.labels?.conversion,
      );
      if (index === 0 && step.conversion === null) notApplicable(conversion);
      row.append(
        text("th", step.label, { scope: "row" }),
        cell("td", `funnel-count-${step.step}`, step.count, "count", funnel.labels?.count),
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

  const RATE_HIDDEN = "not published (a count it is worked out from is suppressed)";

  function dropoffRow(tag, by, row, inPeriod, labels) {
    const element = document.createElement("tr");
    element.dataset.testid = `dropoffs-${by}-row-${row.group}`;
    element.append(text("th", row.label ?? row.group, { scope: "row" }));
    for (const [field, , kind] of DROPOFF_FIELDS) {
      const value = field === "rate" ? dropoffRate(row.journeys, inPeriod) : row[field];
      const label = field === "rate" ? RATE_HIDDEN : labels?.[field];
      const element_ = cell(tag, `dropoffs-${by}-${field}-${row.group}`, value, kind, label);
      if (field === "median_days_to_resolution" && value !== null) medianOver(element_, row);
      element.append(element_);
    }
    return element;
  }

  function medianOver(element, row) {
    // The median's n: exact where the resolved count is published, else the band the
    // published figures allow (the resolved count itself stays hidden).
    const low = row.median_n_low;
    const high = row.median_n_high;
    if (low === null || low === undefined) return;
    const over =
      low === high
        ? `${integer.format(low)}`
        : high === null
          ? `${integer.format(low)} or more`
          : `${integer.format(low)} to ${integer.format(high)}`;
    element.dataset.n = low === high ? String(low) : `${low}-${high ?? ""}`;
    element.append(" ", text("span", `(n ${over})`, { class: "why" }));
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
      ...dropoffs.rows.map((row) => dropoffRow("td", dropoffs.by, row, inPeriod, dropoffs.labels)),
    );
    const total = { label: "All", ...dropoffs.total, group: "all" };
    table.tFoot.replaceChildren(dropoffRow("td", dropoffs.by, total, inPeriod, dropoffs.labels));
  }

  function showTimeToEvent(measures) {
    const body = document.querySelector('[data-testid="table-time-to-event"] tbody');
    body.replaceChildren();
    for (const measure of measures) {
      const row = document.createElement("tr");
      row.dataset.testid = `tte-row-${measure.measure}`;
      row.append(
        text("th", measure.label, { scope: "row" }),
        cell("td", `tte-at_risk-${measure.measure}`, measure.at_risk, "count", measure.labels?.at_risk),
        cell("td", `tte-events-${measure.measure}`, measure.events, "count", measure.labels?.events),
        cell(
          "td",
          `tte-censored-${measure.measure}`,
          measure.censored,
          "count",
          measure.labels?.censored,
        ),
        medianCell(measure),
      );
      body.append(row);
    }
  }

  function medianCell(measure) {
    const element = cell(
      "td",
      `tte-median_days-${measure.measure}`,
      measure.median_days,
      "days",
      measure.labels?.median_days,
    );
    // A null median beside published counts means fewer than half have reached the event
    // yet, which is not a suppression.
    if (measure.median_days === null && measure.at_risk !== null && measure.events !== null) {
      element.textContent = "not reached";
      element.title = measure.labels?.median_days ?? "";
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

  const points = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 1, signDisplay: "always" });

  function nrmRow(table, row, labels) {
    // One row of a published table: measured count and share, the published share, and
    // the difference in points (marked when over the tolerance).
    const element = document.createElement("tr");
    const id = `${table.name}-${row.group}`;
    element.dataset.testid = `nrm-row-${id}`;
    element.append(
      text("th", table.title, { scope: "row" }),
      text("td", row.label),
      cell("td", `nrm-count-${id}`, row.count, "count", labels.count),
      cell("td", `nrm-share-${id}`, row.count === null ? null : row.share, "share", labels.share),
    );
    const published = document.createElement("td");
    published.className = "num";
    published.dataset.testid = `nrm-published-${id}`;
    published.textContent = row.published_share === null ? "not published" : share.format(row.published_share);
    const difference = document.createElement("td");
    difference.className = "num";
    difference.dataset.testid = `nrm-difference-${id}`;
    if (row.difference !== null) {
      difference.textContent = `${points.format(row.difference * 100)} pts`;
      if (row.within_tolerance === false) {
        difference.classList.add("differs");
        difference.append(" ", text("span", "(differs)", { class: "why" }));
      }
    }
    element.append(published, difference);
    return element;
  }

  async function loadNrm(quarter) {
    const status = byId("nrm-status");
    status.textContent = "Loading…";
    delete byId("nrm-form").dataset.ready;
    try {
      const answer = await getJSON(`v1/nrm-statistics?quarter=${encodeURIComponent(quarter)}`);
      const rows = answer.tables.flatMap((table) =>
        table.rows.map((row) => nrmRow(table, row, answer.labels)),
      );
      document.querySelector('[data-testid="table-nrm"] tbody').replaceChildren(...rows);
      status.textContent = `${answer.quarter}: ${answer.differ.length} shares outside the tolerance`;
      byId("nrm-form").dataset.ready = answer.quarter;
    } catch (error) {
      status.textContent = error instanceof Error ? error.message : String(error);
    }
  }

  // What-if: the rules a deadline can be changed for, then one replay per submission.
  const WHATIF_FIELDS = [
    "actual", "whatif", "added", "removed", "earlier", "later", "whatif_resolved",
  ];
  const UNITS = { working_days: "working days", days: "days", hours: "hours" };
  let deployed = {};

  const deadline = (within) =>
    Object.entries(within)
      .map(([unit, amount]) => `${amount} ${UNITS[unit] ?? unit}`)
      .join(" + ");

  function showDeployed() {
    const within = deployed[byId("whatif-rule").value];
    byId("whatif-deployed").textContent = within ? `deployed: ${deadline(within)}` : "";
  }

  async function loadWhatIfRules() {
    try {
      const rules = await getJSON("v1/whatif/rules");
      deployed = Object.fromEntries(rules.map((rule) => [rule.rule_id, rule.deployed]));
      byId("whatif-rule").replaceChildren(
        ...rules.map((rule) => text("option", rule.title, { value: rule.rule_id })),
      );
      showDeployed();
    } catch (error) {
      byId("whatif-status").textContent = error instanceof Error ? error.message : String(error);
    }
  }

  async function postWhatIf(path, body) {
    const response = await fetch(api(path), {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
    const answer = await response.json();
    // A problem+json says what is allowed: show its detail, not just the status.
    if (!response.ok) throw new Error(answer.detail ?? `${path} failed (HTTP ${response.status})`);
    return answer;
  }

  function whatIfRow(row, labels) {
    const element = document.createElement("tr");
    element.dataset.testid = `whatif-row-${row.rule_id}`;
    element.append(text("th", row.rule_id, { scope: "row" }));
    for (const field of WHATIF_FIELDS) {
      const testid = `whatif-${field}-${row.rule_id}`;
      element.append(cell("td", testid, row[field], "count", labels[field]));
    }
    return element;
  }

  async function runWhatIf() {
    const form = byId("whatif-form");
    const status = byId("whatif-status");
    delete form.dataset.ready;
    delete form.dataset.failed;
    status.textContent = "Replaying…";
    const query = new URLSearchParams();
    for (const [name, id] of [["from", "whatif-from"], ["to", "whatif-to"]]) {
      if (byId(id).value) query.set(name, byId(id).value);
    }
    const until = byId("whatif-until").value;
    const within = { [byId("whatif-unit").value]: Number(byId("whatif-amount").value) };
    const body = {
      overrides: { [byId("whatif-rule").value]: within },
      ...(until ? { until: `${until}T00:00:00Z` } : {}),
    };
    try {
      const answer = await postWhatIf(`v1/whatif?${query}`, body);
      const table = document.querySelector('[data-testid="table-whatif"]');
      const rows = answer.rules.map((row) => whatIfRow(row, answer.labels));
      table.tBodies[0].replaceChildren(...rows);
      fill(
        table.querySelector("[data-whatif-affected]"),
        "whatif-journeys_affected",
        answer.journeys_affected,
        "count",
        answer.labels.journeys_affected,
      );
      const seconds = answer.timing.read_seconds + answer.timing.replay_seconds;
      status.textContent = `Replayed in ${days.format(seconds)} s`;
      form.dataset.ready = "true";
    } catch (error) {
      status.textContent = error instanceof Error ? error.message : String(error);
      form.dataset.failed = "true";
    }
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
      for (const copy of document.querySelectorAll("[data-threshold-copy]")) {
        copy.textContent = String(threshold);
      }
      fill(
        document.querySelector('[data-testid="dropoffs-journeys-in-period"]'),
        "dropoffs-journeys-in-period",
        byStage.journeys_in_period,
        "count",
        byStage.labels?.journeys_in_period,
      );
      showFunnel(funnel);
      showDropoffs(byStage);
      showDropoffs(byRule);
      showTimeToEvent(measures);
      await Promise.all(CHARTS.map(showChart));
      byId("content").hidden = false;
      byId("token-form").hidden = true;
      byId("status").textContent = "";
      // The panel says its own failure (a quarter with no data is no reason to fail all).
      await loadNrm(byId("nrm-quarter").value);
      await loadWhatIfRules();
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
    byId("nrm-form").addEventListener("submit", (event) => {
      event.preventDefault();
      if (token) loadNrm(byId("nrm-quarter").value.trim());
    });
    byId("whatif-rule").addEventListener("change", showDeployed);
    byId("whatif-form").addEventListener("submit", (event) => {
      event.preventDefault();
      if (token) runWhatIf();
    });
    if (token) load();
    else {
      form.hidden = false;
      byId("status").textContent = "Paste an analyst token to load the dashboard.";
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
