/* ESCO Skill Extractor: the web page's script (no build step, no dependencies).
 *
 * It calls the HTTP API of the server that served the page: GET /health (polled while the
 * model loads), POST /extract-rich (pasted text) and POST /extract-pdf-skills (uploads),
 * and renders skills and occupations as cards with the evidence in the text. Untrusted
 * text (the user's, ESCO labels) only ever goes into the page through textContent.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("config").textContent);
  var API = config.api || "";
  var LIMITS = config.limits;
  var DEFAULT_MAX_RESULTS = 25;
  var TYPING_DELAY = 600; // ms after the last keystroke
  var CONTROL_DELAY = 250; // ms after the last slider or number change
  var POLL_DELAY = 2000; // ms between /health polls while loading
  var UPLOAD_EXTENSIONS = [".pdf", ".docx", ".txt", ".text", ".md"];

  function $(id) {
    return document.getElementById(id);
  }

  var els = {
    status: $("status"),
    badge: $("status-badge"),
    statusText: $("status-text"),
    statusDetail: $("status-detail"),
    statusMessage: $("status-message"),
    statusPhase: $("status-phase"),
    fallbackNote: $("fallback-note"),
    fallbackModel: $("fallback-model"),
    fallbackReason: $("fallback-reason"),
    bundledNote: $("bundled-note"),
    standInNote: $("stand-in-note"),
    standInModel: $("stand-in-model"),
    standInTarget: $("stand-in-target"),
    standInProgress: $("stand-in-progress"),
    form: $("extract-form"),
    apiKey: $("api-key"),
    text: $("text"),
    charCount: $("char-count"),
    sourceInfo: $("source-info"),
    file: $("file"),
    dropzone: $("dropzone"),
    skillsThreshold: $("skills-threshold"),
    skillsThresholdValue: $("skills-threshold-value"),
    occupationsThreshold: $("occupations-threshold"),
    occupationsThresholdValue: $("occupations-threshold-value"),
    maxResults: $("max-results"),
    language: $("language"),
    languageDetected: $("language-detected"),
    reset: $("reset"),
    extract: $("extract"),
    clear: $("clear"),
    results: $("results"),
    summary: $("summary"),
    error: $("error"),
    evidencePanel: $("evidence-panel"),
    evidence: $("evidence"),
    evidenceCount: $("evidence-count"),
    spanInfo: $("span-info"),
    toolbar: $("toolbar"),
    filterText: $("filter-text"),
    filterType: $("filter-type"),
    filterCollection: $("filter-collection"),
    sort: $("sort"),
    exportJson: $("export-json"),
    exportCsv: $("export-csv"),
    copyUris: $("copy-uris"),
    toolbarMessage: $("toolbar-message"),
    skills: $("skills"),
    skillsGroup: $("skills-group"),
    occupationsGroup: $("occupations-group"),
    skillsCount: $("skills-count"),
    occupations: $("occupations"),
    occupationsCount: $("occupations-count"),
  };

  var state = {
    health: config.health,
    ready: config.health.status === "healthy",
    result: null, // the last answer of the API
    request: null, // the options it was asked with
    source: null, // {kind: "file"|"example", name, pages, edited}
    selected: null, // "skill:<uri>" or "occupation:<uri>"
    segments: [], // the marked pieces of the evidence text
    currentSegment: null,
    seq: 0,
    controller: null,
    timer: null,
    pending: null, // "text" or a File, run once the model is ready
    pollTimer: null,
    thresholdsTouched: false,
    cardIds: 0,
  };

  // -- small helpers ---------------------------------------------------------------------
  function el(tag, props, children) {
    var node = document.createElement(tag);
    props = props || {};
    if (props.className) node.className = props.className;
    if (props.text !== undefined) node.textContent = props.text;
    if (props.attrs) {
      Object.keys(props.attrs).forEach(function (name) {
        var value = props.attrs[name];
        if (value !== null && value !== undefined && value !== false) {
          node.setAttribute(name, value === true ? "" : String(value));
        }
      });
    }
    if (props.dataset) {
      Object.keys(props.dataset).forEach(function (name) {
        node.dataset[name] = props.dataset[name];
      });
    }
    if (props.on) {
      Object.keys(props.on).forEach(function (name) {
        node.addEventListener(name, props.on[name]);
      });
    }
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function hidden(text) {
    return el("span", { className: "visually-hidden", text: text });
  }

  function plural(count, one, many) {
    return count.toLocaleString("en") + " " + (count === 1 ? one : many);
  }

  function score(value) {
    return Number(value).toFixed(2);
  }

  function clamp(value, low, high) {
    return Math.min(high, Math.max(low, value));
  }

  function typeName(type) {
    if (type === "knowledge") return "Knowledge";
    if (type === "skill/competence") return "Skill / competence";
    return "";
  }

  function sourceName(source) {
    if (source === "text") return "named in the text";
    if (source === "skills") return "inferred from the skills found";
    return "named in the text and supported by the skills found";
  }

  function quote(text) {
    return "\u201c" + text + "\u201d";
  }

  function compareText(a, b) {
    return a.localeCompare(b, els.language.value || "en", { sensitivity: "base" });
  }

  // -- server status ---------------------------------------------------------------------
  function renderStatus(health) {
    state.health = health;
    var status = health.status;
    els.status.dataset.state = status;
    els.badge.textContent =
      status === "healthy"
        ? "Ready"
        : status === "failed"
          ? "Failed"
          : health.building_embeddings
            ? "Building embeddings"
            : "Loading";
    var parts = [];
    if (health.device) parts.push(" on " + health.device);
    if (health.data_version) parts.push(" \u00b7 ESCO " + health.data_version);
    if (health.skills_count !== null && health.skills_count !== undefined) {
      parts.push(
        " \u00b7 " +
          plural(health.skills_count, "skill", "skills") +
          " \u00b7 " +
          plural(health.occupations_count, "occupation", "occupations"),
      );
    }
    els.statusText.replaceChildren(
      "Model ",
      el("strong", { text: health.model, attrs: { id: "status-model" } }),
      parts.join(""),
    );
    els.statusDetail.hidden = status === "healthy";
    if (status === "failed") {
      els.statusMessage.textContent =
        "The extractor could not be loaded. Fix the configuration and restart the server.";
    } else if (health.building_embeddings) {
      els.statusMessage.textContent =
        "Building the embeddings of the ESCO concepts for this model. This happens once " +
        "per model and taxonomy and can take minutes; the page updates by itself when it " +
        "is done.";
    } else {
      els.statusMessage.textContent =
        "The server is starting; the page updates by itself when it is ready.";
    }
    els.statusPhase.textContent = status === "healthy" ? "" : health.detail;
    els.fallbackNote.hidden = !health.fallback_used;
    els.fallbackModel.textContent = health.model;
    els.fallbackReason.textContent = health.fallback_reason || "";
    els.bundledNote.hidden = !health.bundled_model || health.fallback_used || !!health.standing_in_for;
    els.standInNote.hidden = !health.standing_in_for;
    els.standInModel.textContent = health.model;
    els.standInTarget.textContent = health.standing_in_for || "";
    els.standInProgress.textContent = health.standing_in_for ? health.detail : "";
    if (health.languages && health.languages.length) {
      Array.prototype.forEach.call(els.language.options, function (option) {
        if (!option.value) return; // "Detected"
        var available = health.languages.indexOf(option.value) >= 0;
        option.disabled = !available;
        var name = config.languages[option.value] || option.value;
        option.textContent = available ? name : name + " (not in this ESCO data)";
      });
      if (els.language.value && health.languages.indexOf(els.language.value) < 0) {
        els.language.value = health.languages.indexOf("en") >= 0 ? "en" : health.languages[0];
      }
    }
  }

  function pollHealth() {
    clearTimeout(state.pollTimer);
    fetch(API + "/health", { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        return response.json();
      })
      .then(function (health) {
        var before = state.health;
        renderStatus(health);
        if (health.status === "healthy") {
          var wasReady = state.ready;
          var tookOver = !!(before && before.standing_in_for && !health.standing_in_for);
          state.ready = true;
          if (!wasReady || state.pending || tookOver) onReady(health);
          // a stand-in answers: keep watching until the model takes over
          if (health.standing_in_for) state.pollTimer = setTimeout(pollHealth, POLL_DELAY * 2);
        } else {
          state.ready = false;
          if (health.status === "loading") state.pollTimer = setTimeout(pollHealth, POLL_DELAY);
        }
      })
      .catch(function () {
        els.statusDetail.hidden = false;
        els.statusPhase.textContent = "Cannot reach the server; trying again\u2026";
        state.pollTimer = setTimeout(pollHealth, POLL_DELAY * 2);
      });
  }

  function onReady(health) {
    if (!state.thresholdsTouched && health.thresholds) {
      setThresholds(health.thresholds.skills, health.thresholds.occupations);
    }
    var pending = state.pending;
    state.pending = null;
    if (pending instanceof File) upload(pending);
    else if (pending === "text" || els.text.value.trim()) extractNow();
  }

  // -- controls --------------------------------------------------------------------------
  function setThresholds(skills, occupations) {
    els.skillsThreshold.value = String(skills);
    els.occupationsThreshold.value = String(occupations);
    showThresholds();
  }

  function showThresholds() {
    els.skillsThresholdValue.textContent = score(els.skillsThreshold.value);
    els.occupationsThresholdValue.textContent = score(els.occupationsThreshold.value);
  }

  function options() {
    var max = parseInt(els.maxResults.value, 10);
    // Untouched sliders leave the thresholds to the server: each model has its own, and the
    // text's language decides which model reads it.
    var touched = state.thresholdsTouched;
    return {
      skills_threshold: touched ? parseFloat(els.skillsThreshold.value) : null,
      occupations_threshold: touched ? parseFloat(els.occupationsThreshold.value) : null,
      max_results: clamp(isNaN(max) ? DEFAULT_MAX_RESULTS : max, 1, LIMITS.max_results),
      language: els.language.value || null,
    };
  }

  function updateCount() {
    var length = els.text.value.length;
    els.charCount.textContent = length.toLocaleString("en");
    els.charCount.classList.toggle("is-over", length > LIMITS.max_text_chars);
  }

  function setSourceInfo(text) {
    els.sourceInfo.textContent = text;
  }

  function schedule(delay) {
    clearTimeout(state.timer);
    state.timer = setTimeout(extractNow, delay);
  }

  // -- talking to the API ----------------------------------------------------------------
  function showError(message) {
    els.error.textContent = message;
    els.error.hidden = false;
  }

  function hideError() {
    els.error.hidden = true;
    els.error.textContent = "";
  }

  function setBusy(busy) {
    els.results.setAttribute("aria-busy", busy ? "true" : "false");
    els.results.classList.toggle("is-busy", busy);
    els.extract.textContent = busy ? "Extracting\u2026" : "Extract skills";
  }

  function abortRequest() {
    if (state.controller) state.controller.abort();
    state.controller = null;
    state.seq += 1;
    setBusy(false);
  }

  // -- the API key (when the server needs one): sent as a bearer token, kept in this tab --
  var KEY_STORAGE = "esco-api-key";

  function storedKey() {
    try {
      return window.sessionStorage.getItem(KEY_STORAGE) || "";
    } catch (error) {
      return "";
    }
  }

  function authorize(headers) {
    var key = els.apiKey ? els.apiKey.value.trim() : "";
    if (key) headers.Authorization = "Bearer " + key;
    return headers;
  }

  if (els.apiKey) {
    els.apiKey.value = storedKey();
    els.apiKey.addEventListener("change", function () {
      try {
        window.sessionStorage.setItem(KEY_STORAGE, els.apiKey.value.trim());
      } catch (error) {
        /* storage disabled: the key lives in the field only */
      }
      if (els.text.value.trim()) extractNow();
    });
  }

  function send(url, init, requestOptions) {
    if (state.controller) state.controller.abort();
    var controller = new AbortController();
    state.controller = controller;
    var seq = ++state.seq;
    setBusy(true);
    init.signal = controller.signal;
    init.headers = authorize(init.headers || {});
    var status = 0;
    return fetch(url, init)
      .then(function (response) {
        status = response.status;
        return response.json().catch(function () {
          return null;
        });
      })
      .then(function (body) {
        if (seq !== state.seq) return null;
        if (status < 200 || status >= 300) {
          var detail =
            body && typeof body.detail === "string" ? body.detail : "The server answered " + status + ".";
          if (status === 401 && els.apiKey) {
            detail += " Enter the server's API key above.";
            els.apiKey.focus();
          }
          if (status === 503 && state.health.status !== "failed") {
            state.ready = false;
            state.pending = requestOptions.file || "text";
            detail += " The page tries again when the server is ready.";
            pollHealth();
          }
          showError(detail);
          return null;
        }
        hideError();
        state.result = body;
        state.request = requestOptions;
        render();
        return body;
      })
      .catch(function (error) {
        if (error && error.name === "AbortError") return null;
        if (seq === state.seq) showError("Could not reach the server: " + error.message);
        return null;
      })
      .finally(function () {
        if (seq === state.seq) {
          state.controller = null;
          setBusy(false);
        }
      });
  }

  function extractNow() {
    clearTimeout(state.timer);
    var text = els.text.value;
    if (!text.trim()) {
      abortRequest();
      clearResults();
      return Promise.resolve(null);
    }
    if (text.length > LIMITS.max_text_chars) {
      showError(
        "The text has " + text.length.toLocaleString("en") + " characters; the limit is " +
          LIMITS.max_text_chars.toLocaleString("en") + ".",
      );
      return Promise.resolve(null);
    }
    if (!state.ready) {
      state.pending = "text";
      els.summary.textContent = "Your text will be analysed as soon as the model is ready.";
      return Promise.resolve(null);
    }
    var opts = options();
    var body = Object.assign({ text: text }, opts);
    return send(
      API + "/extract-rich",
      {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      },
      opts,
    );
  }

  function acceptable(file) {
    var name = (file.name || "").toLowerCase();
    return UPLOAD_EXTENSIONS.some(function (extension) {
      return name.endsWith(extension);
    });
  }

  function upload(file) {
    if (!acceptable(file)) {
      showError(file.name + ": choose a PDF, a Word document (.docx) or a plain-text file (.txt).");
      return Promise.resolve(null);
    }
    if (file.size > LIMITS.max_upload_bytes) {
      showError(
        file.name + " has " + file.size.toLocaleString("en") + " bytes; the limit is " +
          LIMITS.max_upload_bytes.toLocaleString("en") + ".",
      );
      return Promise.resolve(null);
    }
    if (!state.ready) {
      state.pending = file;
      setSourceInfo(file.name + " will be read as soon as the model is ready.");
      return Promise.resolve(null);
    }
    clearTimeout(state.timer);
    var opts = options();
    var form = new FormData();
    form.append("pdf", file, file.name);
    form.append("rich_data", "true");
    Object.keys(opts).forEach(function (name) {
      if (opts[name] !== null) form.append(name, String(opts[name])); // null: the server decides
    });
    setSourceInfo("Reading " + file.name + "\u2026");
    return send(
      API + "/extract-pdf-skills",
      { method: "POST", body: form, headers: { Accept: "application/json" } },
      Object.assign({ file: file }, opts),
    ).then(function (body) {
      els.file.value = ""; // the same file can be chosen again
      if (!body) {
        setSourceInfo("");
        return null;
      }
      var meta = body.metadata;
      els.text.value = meta.processedText;
      updateCount();
      state.source = { kind: "file", name: meta.filename, pages: meta.pages, edited: false };
      var pages = meta.pages ? ", " + plural(meta.pages, "page", "pages") : "";
      setSourceInfo(
        "Text read from " + meta.filename + pages + " (" +
          plural(meta.text_length, "character", "characters") +
          "). Edit it above to see how the results change.",
      );
      return body;
    });
  }

  // -- results ---------------------------------------------------------------------------
  function clearResults() {
    state.result = null;
    state.request = null;
    state.selected = null;
    state.segments = [];
    hideError();
    els.summary.textContent =
      "Paste a text, upload a file or pick an example to see its skills and occupations.";
    els.evidencePanel.hidden = true;
    els.toolbar.hidden = true;
    els.evidence.replaceChildren();
    els.spanInfo.replaceChildren();
    els.skills.replaceChildren();
    els.occupations.replaceChildren();
    els.skillsCount.textContent = "";
    els.occupationsCount.textContent = "";
    els.skillsGroup.hidden = true;
    els.occupationsGroup.hidden = true;
  }

  function keyOf(kind, item) {
    return kind + ":" + item.uri;
  }

  function findConcept(key) {
    var result = state.result;
    if (!result || !key) return null;
    var kind = key.slice(0, key.indexOf(":"));
    var uri = key.slice(key.indexOf(":") + 1);
    var list = kind === "skill" ? result.skills : result.occupations;
    for (var i = 0; i < list.length; i++) {
      if (list[i].uri === uri) return { kind: kind, item: list[i], rank: i + 1 };
    }
    return null;
  }

  function render() {
    if (!state.thresholdsTouched && state.result && state.result.metadata.thresholds) {
      var used = state.result.metadata.thresholds; // show the thresholds the server used
      setThresholds(used.skills, used.occupations);
    }
    var result = state.result;
    if (!result) return clearResults();
    if (state.selected && !findConcept(state.selected)) state.selected = null;
    var meta = result.metadata;
    var thresholds = meta.thresholds;
    els.summary.textContent =
      plural(result.skills.length, "skill", "skills") + " and " +
      plural(result.occupations.length, "occupation", "occupations") + " found in " +
      meta.processingTime + " (thresholds " + score(thresholds.skills) + " and " +
      score(thresholds.occupations) + ", " + (els.language.value ? "" : "detected ") +
      (config.languages[meta.language] || meta.language) + ").";
    els.languageDetected.textContent =
      "Detected (" + (config.languages[meta.language] || meta.language) + ")";
    els.toolbar.hidden = false;
    els.skillsGroup.hidden = false;
    els.occupationsGroup.hidden = false;
    updateCollectionOptions();
    renderEvidence();
    renderCards();
    els.toolbarMessage.textContent = "";
  }

  function updateCollectionOptions() {
    var counts = { none: 0 };
    state.result.skills.forEach(function (skill) {
      if (!skill.categories.length) counts.none += 1;
      skill.categories.forEach(function (name) {
        counts[name] = (counts[name] || 0) + 1;
      });
    });
    Array.prototype.forEach.call(els.filterCollection.options, function (option) {
      if (!option.value) return;
      var base = option.value === "none" ? "In no collection" : option.value;
      option.textContent = base + " (" + (counts[option.value] || 0) + ")";
    });
  }

  // -- filter and sort -------------------------------------------------------------------
  function matchesText(item, query) {
    if (!query) return true;
    var labels = [item.name].concat(item.alternatives || []);
    if (item.matchedLabel) labels.push(item.matchedLabel);
    return labels.some(function (label) {
      return label.toLowerCase().indexOf(query) >= 0;
    });
  }

  function ranked(list) {
    return list.map(function (item, index) {
      return { item: item, rank: index + 1 };
    });
  }

  function sortEntries(entries, kind) {
    var by = els.sort.value;
    var byScore = function (a, b) {
      return b.item.similarity - a.item.similarity || a.rank - b.rank;
    };
    var compare = byScore;
    if (by === "label") {
      compare = function (a, b) {
        return compareText(a.item.name, b.item.name) || a.rank - b.rank;
      };
    } else if (by === "type" && kind === "skill") {
      compare = function (a, b) {
        return compareText(a.item.type || "~", b.item.type || "~") || byScore(a, b);
      };
    } else if (by === "collection" && kind === "skill") {
      compare = function (a, b) {
        var first = function (entry) {
          return entry.item.categories.length ? entry.item.categories.slice().sort()[0] : "~";
        };
        return compareText(first(a), first(b)) || byScore(a, b);
      };
    }
    return entries.sort(compare);
  }

  function visibleSkills() {
    if (!state.result) return [];
    var query = els.filterText.value.trim().toLowerCase();
    var type = els.filterType.value;
    var collection = els.filterCollection.value;
    var entries = ranked(state.result.skills).filter(function (entry) {
      var skill = entry.item;
      if (!matchesText(skill, query)) return false;
      if (type && skill.type !== type) return false;
      if (collection === "none") return skill.categories.length === 0;
      if (collection) return skill.categories.indexOf(collection) >= 0;
      return true;
    });
    return sortEntries(entries, "skill");
  }

  function visibleOccupations() {
    if (!state.result) return [];
    var query = els.filterText.value.trim().toLowerCase();
    var entries = ranked(state.result.occupations).filter(function (entry) {
      return matchesText(entry.item, query);
    });
    return sortEntries(entries, "occupation");
  }

  // -- cards -----------------------------------------------------------------------------
  function scoreBar(value) {
    var fill = el("span", { className: "bar-fill" });
    fill.style.width = clamp(value * 100, 0, 100).toFixed(1) + "%";
    return el("div", { className: "score-row" }, [
      el("div", { className: "bar", attrs: { "aria-hidden": "true" } }, [fill]),
      el("span", { className: "score-value" }, [hidden("Score "), score(value)]),
    ]);
  }

  function badge(text, className, title) {
    return el("span", { className: "badge " + (className || ""), text: text, attrs: { title: title } });
  }

  function evidenceQuotes(kind, item) {
    if (!item.evidence || !item.evidence.length) return null;
    var key = keyOf(kind, item);
    var buttons = item.evidence.slice(0, 4).map(function (span) {
      return el("button", {
        className: "quote",
        text: quote(span.text),
        attrs: { type: "button", title: "Show this passage in the text" },
        on: {
          click: function () {
            select(key, { keep: true, start: span.start });
          },
        },
      });
    });
    var more = item.evidence.length > 4 ? " +" + (item.evidence.length - 4) + " more" : "";
    return el("p", { className: "card-evidence" }, [el("span", { className: "label", text: "In the text: " })]
      .concat(buttons)
      .concat(more ? [more] : []));
  }

  function detailsList(summary, values) {
    if (!values || !values.length) return null;
    return el("details", { className: "card-details" }, [
      el("summary", { text: summary + " (" + values.length + ")" }),
      el("ul", { className: "plain-list" }, values.map(function (value) {
        return el("li", { text: value });
      })),
    ]);
  }

  function description(text) {
    if (!text) return null;
    return el("details", { className: "card-details" }, [
      el("summary", { text: "Description" }),
      el("p", { text: text }),
    ]);
  }

  function cardActions(kind, item) {
    var key = keyOf(kind, item);
    return el("div", { className: "card-actions" }, [
      el("button", {
        className: "button button-small select-button",
        text: "Mark in text",
        attrs: {
          type: "button",
          "aria-pressed": state.selected === key ? "true" : "false",
          disabled: item.evidence && item.evidence.length ? null : true,
          title: item.evidence && item.evidence.length ? null : "No passage of the text names it directly",
        },
        on: {
          click: function () {
            select(key);
          },
        },
      }, [hidden(" " + item.name)]),
      el("a", {
        className: "esco-link",
        attrs: { href: item.uri, target: "_blank", rel: "noopener noreferrer" },
      }, ["ESCO", hidden(": " + item.name + " (opens in a new tab)"), el("span", { text: " \u2197", attrs: { "aria-hidden": "true" } })]),
    ]);
  }

  function cardShell(kind, item, rank) {
    var id = "card-" + ++state.cardIds;
    var key = keyOf(kind, item);
    var card = el("article", {
      className: "card card-" + kind + (state.selected === key ? " is-selected" : ""),
      attrs: { "aria-labelledby": id },
      dataset: { key: key, uri: item.uri, score: String(item.similarity) },
      on: {
        click: function (event) {
          if (event.target.closest("a, button, summary, details, input, select")) return;
          if (window.getSelection && String(window.getSelection())) return;
          select(key);
        },
      },
    });
    card.append(
      el("h4", { className: "card-title", attrs: { id: id } }, [
        el("span", { className: "rank", text: "#" + rank + " ", attrs: { "aria-hidden": "true" } }),
        el("span", { className: "card-label", text: item.name }),
      ]),
      scoreBar(item.similarity),
    );
    return card;
  }

  function skillCard(skill, rank) {
    var card = cardShell("skill", skill, rank);
    var badges = el("p", { className: "badges" });
    if (skill.type) {
      badges.append(badge(typeName(skill.type), skill.type === "knowledge" ? "badge-knowledge" : "badge-skill", "Skill type"));
    }
    if (skill.reuseLevel) badges.append(badge(skill.reuseLevel, "badge-quiet", "Reuse level"));
    skill.categories.forEach(function (name) {
      badges.append(badge(name, "badge-collection", "ESCO collection"));
    });
    card.append(badges);
    if (skill.matchedLabel && skill.matchedLabel !== skill.name) {
      card.append(el("p", { className: "card-note" }, ["Matched its label ", el("q", { text: skill.matchedLabel })]));
    }
    card.append(evidenceQuotes("skill", skill) || el("p", { className: "card-note", text: "No single passage; found in the text as a whole." }));
    var used = skill.usedInOccupations;
    if (used && used.count) {
      card.append(el("p", { className: "card-note" }, [
        "Used by " + plural(used.count, "occupation", "occupations") +
          (used.examples.length ? ", e.g. " + used.examples.join(", ") : "") + ".",
      ]));
    }
    var extra = [detailsList("Also called", skill.alternatives), description(skill.description)].filter(Boolean);
    if (extra.length) card.append(el("div", { className: "card-more" }, extra));
    card.append(cardActions("skill", skill));
    return card;
  }

  function requiredList(title, names, found, total) {
    if (!total) return null;
    var foundSet = new Set(found || []);
    var covered = (found || []).length;
    var chips = names.map(function (name) {
      var isFound = foundSet.has(name);
      return el("li", { className: "chip" + (isFound ? " chip-found" : "") }, isFound
        ? [el("span", { text: "\u2713 ", attrs: { "aria-hidden": "true" } }), name, hidden(" (in the text)")]
        : [name]);
    });
    if (total > names.length) {
      chips.push(el("li", { className: "chip chip-more", text: "+" + (total - names.length) + " more" }));
    }
    return el("div", { className: "required" }, [
      el("p", { className: "required-title" }, [
        el("strong", { text: title + ": " }),
        covered + " of " + total + " in the text",
      ]),
      el("ul", { className: "chips" }, chips),
    ]);
  }

  function occupationCard(occupation, rank) {
    var card = cardShell("occupation", occupation, rank);
    var badges = el("p", { className: "badges" });
    if (occupation.iscoGroup) {
      badges.append(badge("ISCO " + occupation.iscoGroup + (occupation.iscoGroupName ? " \u00b7 " + occupation.iscoGroupName : ""), "badge-quiet", "ISCO-08 unit group"));
    }
    badges.append(badge(sourceName(occupation.source), "badge-source", "Why it was found"));
    card.append(badges);
    if (occupation.textScore || occupation.skillsScore) {
      card.append(el("p", { className: "card-note" }, [
        "Text similarity " + score(occupation.textScore || 0) + " \u00b7 support from skills " + score(occupation.skillsScore || 0),
      ]));
    }
    var required = occupation.requiredSkills;
    if (required) {
      [
        requiredList("Essential skills", required.essential, required.essentialFound, required.totalEssential),
        requiredList("Optional skills", required.optional, required.optionalFound, required.totalOptional),
      ].forEach(function (node) {
        if (node) card.append(node);
      });
    }
    var quotes = evidenceQuotes("occupation", occupation);
    if (quotes) card.append(quotes);
    var extra = [detailsList("Also called", occupation.alternatives), description(occupation.description)].filter(Boolean);
    if (extra.length) card.append(el("div", { className: "card-more" }, extra));
    card.append(cardActions("occupation", occupation));
    return card;
  }

  function renderCards() {
    state.cardIds = 0;
    var result = state.result;
    var skills = visibleSkills();
    var occupations = visibleOccupations();
    els.skills.replaceChildren.apply(els.skills, skills.map(function (entry) {
      return skillCard(entry.item, entry.rank);
    }));
    els.occupations.replaceChildren.apply(els.occupations, occupations.map(function (entry) {
      return occupationCard(entry.item, entry.rank);
    }));
    if (!result.skills.length) {
      els.skills.append(el("p", {
        className: "empty",
        text: "No skill scores above the threshold " + score(result.metadata.thresholds.skills) +
          ". Lower the skill threshold to see weaker matches.",
      }));
    } else if (!skills.length) {
      els.skills.append(el("p", { className: "empty", text: "No skill matches the filters." }));
    }
    if (!result.occupations.length) {
      els.occupations.append(el("p", {
        className: "empty",
        text: "No occupation scores above the threshold " + score(result.metadata.thresholds.occupations) + ".",
      }));
    } else if (!occupations.length) {
      els.occupations.append(el("p", { className: "empty", text: "No occupation matches the filters." }));
    }
    els.skillsCount.textContent = count(skills.length, result.skills.length);
    els.occupationsCount.textContent = count(occupations.length, result.occupations.length);
    applySelection();
  }

  function count(shown, total) {
    return shown === total ? "(" + total + ")" : "(" + shown + " of " + total + " shown)";
  }

  // -- evidence --------------------------------------------------------------------------
  function renderEvidence() {
    var result = state.result;
    var text = result.metadata.processedText || "";
    var spans = [];
    [["skill", result.skills], ["occupation", result.occupations]].forEach(function (pair) {
      pair[1].forEach(function (item) {
        (item.evidence || []).forEach(function (span) {
          if (span.start >= 0 && span.end <= text.length && span.start < span.end) {
            spans.push({ start: span.start, end: span.end, key: keyOf(pair[0], item), kind: pair[0], item: item });
          }
        });
      });
    });
    var cuts = new Set([0, text.length]);
    spans.forEach(function (span) {
      cuts.add(span.start);
      cuts.add(span.end);
    });
    var points = Array.from(cuts).sort(function (a, b) {
      return a - b;
    });
    var fragment = document.createDocumentFragment();
    state.segments = [];
    state.currentSegment = null;
    for (var i = 0; i + 1 < points.length; i++) {
      var start = points[i];
      var end = points[i + 1];
      var piece = text.slice(start, end);
      var covering = spans.filter(function (span) {
        return span.start <= start && span.end >= end;
      });
      if (!covering.length) {
        fragment.append(piece);
        continue;
      }
      var index = state.segments.length;
      var kinds = new Set(covering.map(function (span) {
        return span.kind;
      }));
      var names = Array.from(new Set(covering.map(function (span) {
        return span.item.name;
      })));
      var mark = el("mark", {
        className: "ev" + (kinds.has("skill") ? " ev-skill" : "") + (kinds.has("occupation") ? " ev-occupation" : ""),
        text: piece,
        attrs: {
          tabindex: "0",
          role: "button",
          "aria-label": piece + " (evidence for " + names.join(", ") + ")",
          title: "Evidence for " + names.join(", "),
        },
        dataset: { segment: String(index) },
      });
      state.segments.push({ start: start, end: end, spans: covering, node: mark });
      fragment.append(mark);
    }
    els.evidence.replaceChildren(fragment);
    els.spanInfo.replaceChildren();
    els.evidencePanel.hidden = !text;
    els.evidenceCount.textContent = "(" + plural(spans.length, "passage", "passages") + " marked)";
  }

  function showSegment(index, focusInfo) {
    var segment = state.segments[index];
    if (!segment) return;
    state.currentSegment = index;
    state.segments.forEach(function (other, i) {
      other.node.classList.toggle("is-current", i === index);
    });
    var seen = new Set();
    var entries = [];
    segment.spans.forEach(function (span) {
      if (seen.has(span.key)) return;
      seen.add(span.key);
      entries.push(span);
    });
    var list = el("ul", { className: "plain-list span-matches" }, entries.map(function (span) {
      var item = span.item;
      var detail = span.kind === "skill"
        ? [typeName(item.type), "score " + score(item.similarity)].filter(Boolean).join(", ")
        : ["occupation", "score " + score(item.similarity)].join(", ");
      return el("li", {}, [
        el("button", {
          className: "link-button",
          text: item.name,
          attrs: { type: "button" },
          on: {
            click: function () {
              select(span.key, { keep: true, scroll: false });
              focusCard(span.key);
            },
          },
        }),
        " \u2014 " + (span.kind === "skill" ? "skill" : "occupation") + " (" + detail + "), from ",
        el("q", { text: span.item.evidence.filter(function (ev) {
          return ev.start === span.start && ev.end === span.end;
        }).map(function (ev) {
          return ev.text;
        })[0] || state.result.metadata.processedText.slice(span.start, span.end) }),
      ]);
    }));
    els.spanInfo.replaceChildren(
      el("p", { className: "span-title" }, [
        el("strong", { text: "This passage matched:" }),
      ]),
      list,
    );
    document.querySelectorAll(".card.is-linked").forEach(function (card) {
      card.classList.remove("is-linked");
    });
    entries.forEach(function (span) {
      var card = cardFor(span.key);
      if (card) card.classList.add("is-linked");
    });
    if (focusInfo) {
      var first = els.spanInfo.querySelector("button");
      if (first) first.focus();
    }
  }

  function cardFor(key) {
    var cards = document.querySelectorAll(".card");
    for (var i = 0; i < cards.length; i++) {
      if (cards[i].dataset.key === key) return cards[i];
    }
    return null;
  }

  function focusCard(key) {
    var card = cardFor(key);
    if (!card) {
      els.toolbarMessage.textContent = "That result is hidden by the filters.";
      return;
    }
    var button = card.querySelector(".select-button");
    card.scrollIntoView({ block: "nearest", behavior: prefersReducedMotion() ? "auto" : "smooth" });
    (button || card).focus({ preventScroll: true });
  }

  function prefersReducedMotion() {
    return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  }

  // -- selection -------------------------------------------------------------------------
  function relatedKeys(key) {
    // An occupation's covered skills: their passages are marked as related.
    var found = findConcept(key);
    var related = new Set();
    if (!found || found.kind !== "occupation") return related;
    var required = found.item.requiredSkills || {};
    var names = new Set((required.essentialFound || []).concat(required.optionalFound || []));
    state.result.skills.forEach(function (skill) {
      if (names.has(skill.name)) related.add(keyOf("skill", skill));
    });
    return related;
  }

  function select(key, opts) {
    opts = opts || {};
    state.selected = state.selected === key && !opts.keep ? null : key;
    if (state.selected) els.evidencePanel.open = true;
    applySelection();
    if (state.selected && opts.scroll !== false) scrollToMark(opts.start);
  }

  function applySelection() {
    var selected = state.selected;
    var related = selected ? relatedKeys(selected) : new Set();
    document.querySelectorAll(".card").forEach(function (card) {
      var on = card.dataset.key === selected;
      card.classList.toggle("is-selected", on);
      var button = card.querySelector(".select-button");
      if (button) {
        button.setAttribute("aria-pressed", on ? "true" : "false");
        button.firstChild.textContent = on ? "Marked in text" : "Mark in text";
      }
    });
    els.evidence.classList.toggle("has-selection", Boolean(selected));
    state.segments.forEach(function (segment) {
      var keys = segment.spans.map(function (span) {
        return span.key;
      });
      segment.node.classList.toggle("is-selected", keys.indexOf(selected) >= 0);
      segment.node.classList.toggle("is-related", keys.some(function (k) {
        return related.has(k);
      }) && keys.indexOf(selected) < 0);
    });
  }

  function scrollToMark(start) {
    var target = null;
    state.segments.some(function (segment) {
      if (!segment.node.classList.contains("is-selected")) return false;
      if (start === undefined || (segment.start <= start && start < segment.end) || segment.start >= start) {
        target = segment.node;
        return true;
      }
      return false;
    });
    if (!target) return;
    var box = els.evidence;
    var top = target.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
    if (top < box.scrollTop || top > box.scrollTop + box.clientHeight - 24) {
      box.scrollTop = Math.max(0, top - box.clientHeight / 3);
    }
    var panel = els.evidencePanel.getBoundingClientRect();
    if (panel.bottom < 0 || panel.top > window.innerHeight) {
      // on narrow screens the text is above the cards: show it (the action asked for it)
      target.scrollIntoView({ block: "center", behavior: prefersReducedMotion() ? "auto" : "smooth" });
    }
    target.classList.add("is-flash");
    setTimeout(function () {
      target.classList.remove("is-flash");
    }, 900);
  }

  // -- export and copy -------------------------------------------------------------------
  function stamp() {
    var now = new Date();
    var pad = function (n) {
      return String(n).padStart(2, "0");
    };
    return now.getFullYear() + pad(now.getMonth() + 1) + pad(now.getDate()) + "-" +
      pad(now.getHours()) + pad(now.getMinutes()) + pad(now.getSeconds());
  }

  function download(name, content, type) {
    var url = URL.createObjectURL(new Blob([content], { type: type }));
    var link = el("a", { attrs: { href: url, download: name }, className: "visually-hidden" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(function () {
      URL.revokeObjectURL(url);
    }, 10000);
    els.toolbarMessage.textContent = "Saved " + name + ".";
  }

  function filtersInUse() {
    return {
      text: els.filterText.value.trim(),
      type: els.filterType.value,
      collection: els.filterCollection.value,
      sort: els.sort.value,
    };
  }

  function exportJson() {
    var result = state.result;
    if (!result) return;
    var data = {
      exported_at: new Date().toISOString(),
      model: result.metadata.model,
      data_version: state.health.data_version,
      language: result.metadata.language,
      thresholds: result.metadata.thresholds,
      max_results: state.request ? state.request.max_results : null,
      source: state.source,
      filters: filtersInUse(),
      text: result.metadata.processedText,
      skills: visibleSkills().map(function (entry) {
        return Object.assign({ rank: entry.rank }, entry.item);
      }),
      occupations: visibleOccupations().map(function (entry) {
        return Object.assign({ rank: entry.rank }, entry.item);
      }),
    };
    download("esco-results-" + stamp() + ".json", JSON.stringify(data, null, 2) + "\n", "application/json");
  }

  var CSV_COLUMNS = [
    "kind", "rank", "label", "uri", "score", "type", "reuse_level", "collections",
    "matched_label", "evidence", "isco_group", "source", "essential_skills_found",
    "essential_skills_total", "optional_skills_found", "optional_skills_total",
  ];

  function csvCell(value) {
    var text = value === null || value === undefined ? "" : String(value);
    if (/^[=+\-@\t\r]/.test(text)) text = "'" + text; // no formulas in spreadsheets
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function evidenceText(item) {
    return (item.evidence || []).map(function (span) {
      return span.text;
    }).join(" | ");
  }

  function exportCsv() {
    if (!state.result) return;
    var rows = [CSV_COLUMNS];
    visibleSkills().forEach(function (entry) {
      var s = entry.item;
      rows.push(["skill", entry.rank, s.name, s.uri, score4(s.similarity), s.type, s.reuseLevel,
        s.categories.join("; "), s.matchedLabel, evidenceText(s), "", "", "", "", "", ""]);
    });
    visibleOccupations().forEach(function (entry) {
      var o = entry.item;
      var required = o.requiredSkills || {};
      rows.push(["occupation", entry.rank, o.name, o.uri, score4(o.similarity), "", "", "", "",
        evidenceText(o), o.iscoGroup, o.source, (required.essentialFound || []).join("; "),
        required.totalEssential, (required.optionalFound || []).join("; "), required.totalOptional]);
    });
    var csv = rows.map(function (row) {
      return row.map(csvCell).join(",");
    }).join("\r\n") + "\r\n";
    // The byte order mark makes spreadsheet programs read UTF-8 (labels with accents).
    download("esco-results-" + stamp() + ".csv", "\ufeff" + csv, "text/csv;charset=utf-8");
  }

  function score4(value) {
    return Number(value).toFixed(4);
  }

  function copyUris() {
    var uris = visibleSkills().concat(visibleOccupations()).map(function (entry) {
      return entry.item.uri;
    });
    if (!uris.length) {
      els.toolbarMessage.textContent = "No results to copy.";
      return;
    }
    var text = uris.join("\n") + "\n";
    var done = function () {
      els.toolbarMessage.textContent = "Copied " + plural(uris.length, "URI", "URIs") + ".";
    };
    var fallback = function () {
      var area = el("textarea", { className: "visually-hidden", attrs: { readonly: true, "aria-hidden": "true" } });
      area.value = text;
      document.body.append(area);
      area.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (error) {
        ok = false;
      }
      area.remove();
      if (ok) done();
      else els.toolbarMessage.textContent = "Copying is not allowed here; use Export instead.";
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  }

  // -- events ----------------------------------------------------------------------------
  els.form.addEventListener("submit", function (event) {
    event.preventDefault();
    extractNow();
  });

  els.text.addEventListener("input", function () {
    updateCount();
    if (state.source && !state.source.edited) {
      state.source.edited = true;
      setSourceInfo(state.source.kind === "file" ? "Edited text from " + state.source.name + "." : "");
    }
    schedule(TYPING_DELAY);
  });

  els.text.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      extractNow();
    }
  });

  [els.skillsThreshold, els.occupationsThreshold].forEach(function (range) {
    range.addEventListener("input", function () {
      state.thresholdsTouched = true;
      showThresholds();
      schedule(CONTROL_DELAY);
    });
  });

  els.maxResults.addEventListener("input", function () {
    var value = parseInt(els.maxResults.value, 10);
    if (!isNaN(value) && value >= 1 && value <= LIMITS.max_results) schedule(CONTROL_DELAY * 2);
  });
  els.maxResults.addEventListener("change", function () {
    var value = parseInt(els.maxResults.value, 10);
    els.maxResults.value = String(clamp(isNaN(value) ? DEFAULT_MAX_RESULTS : value, 1, LIMITS.max_results));
    schedule(CONTROL_DELAY);
  });

  els.language.addEventListener("change", function () {
    schedule(0);
  });

  els.reset.addEventListener("click", function () {
    var thresholds = state.health.thresholds || config.thresholds;
    state.thresholdsTouched = false;
    setThresholds(thresholds.skills, thresholds.occupations);
    els.maxResults.value = String(DEFAULT_MAX_RESULTS);
    var wanted = els.language.querySelector('option[value="' + config.language + '"]');
    els.language.value = wanted && !wanted.disabled ? config.language : "";
    schedule(0);
  });

  els.clear.addEventListener("click", function () {
    els.text.value = "";
    state.source = null;
    setSourceInfo("");
    updateCount();
    abortRequest();
    clearResults();
    els.text.focus();
  });

  document.querySelectorAll("[data-example]").forEach(function (button) {
    button.addEventListener("click", function () {
      var key = button.dataset.example;
      var example = config.examples.filter(function (e) {
        return e.key === key;
      })[0];
      if (!example) return;
      els.text.value = example.text;
      updateCount();
      state.source = { kind: "example", name: example.title, edited: false };
      setSourceInfo("Example: " + example.title + ".");
      extractNow();
    });
  });

  els.file.addEventListener("change", function () {
    if (els.file.files && els.file.files[0]) upload(els.file.files[0]);
  });

  function hasFiles(event) {
    return event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0;
  }
  [els.dropzone, els.text].forEach(function (zone) {
    zone.addEventListener("dragover", function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault();
      els.dropzone.classList.add("is-dragging");
    });
    zone.addEventListener("dragleave", function () {
      els.dropzone.classList.remove("is-dragging");
    });
    zone.addEventListener("drop", function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault();
      els.dropzone.classList.remove("is-dragging");
      if (event.dataTransfer.files[0]) upload(event.dataTransfer.files[0]);
    });
  });

  [els.filterText, els.filterType, els.filterCollection, els.sort].forEach(function (control) {
    control.addEventListener(control.tagName === "INPUT" ? "input" : "change", function () {
      if (state.result) renderCards();
    });
  });

  els.evidence.addEventListener("click", function (event) {
    var mark = event.target.closest("mark[data-segment]");
    if (mark) showSegment(Number(mark.dataset.segment), false);
  });
  els.evidence.addEventListener("keydown", function (event) {
    var mark = event.target.closest("mark[data-segment]");
    if (mark && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      showSegment(Number(mark.dataset.segment), true);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && state.selected) {
      select(state.selected);
    }
  });

  els.exportJson.addEventListener("click", exportJson);
  els.exportCsv.addEventListener("click", exportCsv);
  els.copyUris.addEventListener("click", copyUris);

  // -- start -----------------------------------------------------------------------------
  showThresholds();
  updateCount();
  renderStatus(state.health);
  document.documentElement.classList.add("js");
  pollHealth();
})();
