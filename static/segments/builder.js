// The segment builder: edits the Filter JSON ({"or": [{"and": [FILTER, ...]}, ...]}) in the
// page, keeps it in the form's hidden "filters" field, and asks the API for the live count
// and the first members whenever it changes (rule G3). No build step, no framework.
(function () {
  "use strict";

  // Mounts a builder in `opts.root`, editing the tree held (as JSON) in `opts.hidden`:
  // {root, hidden, catalogue, labels, errors, onChange(tree), count, state, list}; the last
  // three (the live count and the first members) are optional. The segment page and a
  // workflow's trigger use the page's one; a workflow's branch step mounts its own.
  function mount(opts) {
    var root, hidden, catalogue, labels, t, tree, serverErrors;
    var previewSeq = 0, previewTimer = null;

    // The builder's words come from Django's JavaScript catalog, which the page loads before this
    // file; looked up when called, so that without a catalog the builder simply speaks English.
    function gettext(msgid) {
      return typeof window.gettext === "function" ? window.gettext(msgid) : msgid;
    }
    function interpolate(fmt, values, named) {
      if (typeof window.interpolate === "function") return window.interpolate(fmt, values, named);
      return fmt.replace(/%\((\w+)\)s/g, function (match, key) { return String(values[key]); });
    }

    // Looked up once the page (and the catalog) is loaded.
    function words() {
      return {
        // Translators: joins two filters of a segment: both must match.
        and: gettext("and"),
        // Translators: joins two groups of filters of a segment: either may match.
        or: gettext("or"),
        group: gettext("Contacts matching all of"),
        addFilter: gettext("+ Add filter"),
        addGroup: gettext("+ Add OR group"),
        remove: gettext("Remove"),
        removeGroup: gettext("Remove group"),
        chooseType: gettext("Choose a filter…"),
        chooseProperty: gettext("Choose a property…"),
        anyEvent: gettext("Any event"),
        // Translators: an attendance duration measured at one event (whichever) …
        atOneEvent: gettext("at one event"),
        // Translators: … or added up over all the events the contact attended.
        inTotal: gettext("in total, all events"),
        // Translators: accessible name of the choice between the two.
        durationScope: gettext("Duration at one event or in total"),
        // Translators: a segment filter on any event: how many events the contact attended (registered for…).
        eventCount: gettext("number of events"),
        anyWebinar: gettext("Any webinar"),
        search: gettext("Search…"),
        // Translators: a segment filter on an activity: the contact "has" (or "has not") attended, registered…
        has: gettext("has"),
        hasNot: gettext("has not"),
        // Translators: accessible name of the "has" / "has not" choice of a segment filter.
        hasOrHasNot: gettext("has / has not"),
        // Translators: unit after a number of minutes in a segment filter.
        minutes: gettext("minutes"),
        // Translators: after a number N in a segment filter: "is after N days ago".
        daysAgo: gettext("days ago"),
        // Translators: a date filter compares with a calendar date…
        exactDate: gettext("on a date"),
        // Translators: …or with a number of days before today.
        relativeDate: gettext("relative"),
        // Translators: first choice of an optional comparison in a segment filter: no condition on this field.
        any: gettext("any"),
        counting: gettext("Counting…"),
        invalid: gettext("Fix the highlighted filters"),
        noOne: gettext("No one matches yet."),
        emptyTree: gettext("Add a filter to start."),
        failed: gettext("Could not count right now."),
        // Translators: the following are fields a webinar or recording filter of a segment can compare.
        webinarName: gettext("webinar name"),
        duration: gettext("duration"),
        durationPercent: gettext("duration %"),
        topic: gettext("topic"),
        startTime: gettext("start time"),
        recordingUrl: gettext("recording URL"),
        question: gettext("question"),
        answer: gettext("answer"),
        timeWatched: gettext("time watched"),
        score: gettext("score (0–100)"),
        // Translators: first choice of the question menu of a "Zoom registration answer" filter.
        chooseQuestion: gettext("Choose a question…"),
        // Translators: accessible name of the field menu of a "Registration source" filter (utm_source, referrer…).
        sourceField: gettext("source field"),
        // Translators: a field of a "Registration source" filter: the Zoom tracking source's name.
        trackingSource: gettext("Zoom tracking source"),
        // Translators: a field of a "Registration source" filter: the page the visitor came from.
        referrer: gettext("Referrer"),
        // Translators: in a value menu of a segment filter: choose this to type a value not listed.
        otherValue: gettext("Another value…"),
        // Translators: accessible name of the operator menu of a segment filter (is, contains, is between…).
        operator: gettext("operator"),
        // Translators: accessible name of the lower bound of an "is between" filter.
        low: gettext("low"),
        // Translators: accessible name of the upper bound of an "is between" filter.
        high: gettext("high"),
        // Translators: example shown in an empty box that takes a comma-separated list of values.
        listExample: gettext("a, b, c"),
        // Translators: groups of contact properties in the segment builder's property menu.
        propertyGroups: { standard: gettext("Contact"), custom: gettext("Custom"), legacy: gettext("Zoom (legacy)") },
        ops: {
          eq: gettext("is"), neq: gettext("is not"), contains: gettext("contains"),
          not_contains: gettext("does not contain"), starts_with: gettext("starts with"),
          ends_with: gettext("ends with"), lt: gettext("is less than"), lte: gettext("is at most"),
          gt: gettext("is more than"), gte: gettext("is at least"), between: gettext("is between"),
          in: gettext("is any of"), not_in: gettext("is none of"),
          is_known: gettext("is known"), is_unknown: gettext("is unknown")
        },
        dateOps: {
          eq: gettext("is on"), neq: gettext("is not on"), lt: gettext("is before"),
          lte: gettext("is on or before"), gt: gettext("is after"), gte: gettext("is on or after"),
          between: gettext("is between"), is_known: gettext("is known"), is_unknown: gettext("is unknown")
        }
      };
    }

    var OPS = {
      text: ["eq", "neq", "contains", "not_contains", "starts_with", "ends_with", "in", "not_in", "is_known", "is_unknown"],
      number: ["eq", "neq", "lt", "lte", "gt", "gte", "between", "in", "not_in", "is_known", "is_unknown"],
      date: ["eq", "neq", "lt", "lte", "gt", "gte", "between", "is_known", "is_unknown"],
      enumeration: ["eq", "neq", "in", "not_in", "is_known", "is_unknown"]
    };
    var MEASURE_OPS = ["eq", "neq", "lt", "lte", "gt", "gte", "between"];
    var NO_VALUE = ["is_known", "is_unknown"];

    // ---- small DOM helpers ----------------------------------------------------------------
    function el(tag, attrs, children) {
      var node = document.createElement(tag);
      Object.keys(attrs || {}).forEach(function (key) {
        var value = attrs[key];
        if (key === "class") node.className = value;
        else if (key === "text") node.textContent = value;
        else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
        else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
      });
      (children || []).forEach(function (child) { if (child) node.appendChild(child); });
      return node;
    }

    function select(options, value, onchange, attrs) {
      var node = el("select", attrs || {});
      options.forEach(function (opt) {
        var option = el("option", { value: opt[0], text: opt[1] });
        if (String(opt[0]) === String(value)) option.selected = true;
        node.appendChild(option);
      });
      node.addEventListener("change", function () { onchange(node.value); });
      return node;
    }

    function input(type, value, oninput, attrs) {
      var node = el("input", Object.assign({ type: type }, attrs || {}));
      node.value = value === undefined || value === null ? "" : value;
      node.addEventListener("input", function () { oninput(node.value); });
      return node;
    }

    function opLabel(op, kind) {
      return (kind === "date" ? t.dateOps[op] : null) || t.ops[op] || op;
    }

    // ---- the tree ---------------------------------------------------------------------------
    function changed(rerender) {
      hidden.value = JSON.stringify(cleanTree());
      if (opts.onChange) opts.onChange(cleanTree());
      if (rerender) render();
      schedulePreview();
    }

    // Untyped filters and groups left empty are not part of the segment yet.
    function cleanTree() {
      var groups = [];
      tree.or.forEach(function (group) {
        // Keys starting with "_" are the builder's own state (e.g. "type another value"), not Filter JSON.
        var filters = group.and.filter(function (node) { return node && node.type; }).map(function (node) {
          var copy = {};
          Object.keys(node).forEach(function (key) { if (key.charAt(0) !== "_") copy[key] = node[key]; });
          return copy;
        });
        if (filters.length) groups.push({ and: filters });
      });
      return { or: groups };
    }

    function propertyByName(name) {
      for (var i = 0; i < catalogue.properties.length; i++) {
        if (catalogue.properties[i].name === name) return catalogue.properties[i];
      }
      return null;
    }

    function newNode(type) {
      if (type === "property") return { type: type, property: "", operator: "eq", value: "" };
      if (type === "event_attendance_duration") return { type: type, event_id: null, operator: "gte", value: 1800, negate: false };
      if (type.indexOf("event_") === 0) return { type: type, event_id: null, negate: false };
      if (type === "zoom_recording_available") return { type: type, negate: false };
      if (type === "zoom_engagement_score") return { type: type, webinar_id: null, operator: "gte", value: 50 };
      if (type === "zoom_registration_answer") return { type: type, webinar_id: null, question: "", operator: "eq", value: "" };
      if (type === "registration_source") return { type: type, event_id: null, field: "utm_source", operator: "eq", value: "" };
      return { type: type, webinar_id: null, negate: false };
    }

    // ---- value editors ----------------------------------------------------------------------
    function minutesInput(seconds, onseconds, attrs) {
      var minutes = seconds === undefined || seconds === null || seconds === "" ? "" : Math.round(Number(seconds) / 6) / 10;
      var box = el("span", { class: "seg-unit" }, [
        input("number", minutes, function (v) { onseconds(v === "" ? "" : Math.round(Number(v) * 60)); },
          Object.assign({ min: "0", step: "1", class: "seg-input seg-input--short" }, attrs || {})),
        el("span", { class: "muted", text: t.minutes })
      ]);
      return box;
    }

    function dateInput(value, onvalue, attrs) {
      var relative = value && typeof value === "object";
      var box = el("span", { class: "seg-date" });
      var mode = select([["date", t.exactDate], ["relative", t.relativeDate]], relative ? "relative" : "date", function (m) {
        onvalue(m === "relative" ? { days_ago: 30 } : "", true);
      }, { "aria-label": t.exactDate, class: "seg-input seg-input--mode" });
      box.appendChild(mode);
      if (relative) {
        box.appendChild(input("number", value.days_ago, function (v) { onvalue({ days_ago: parseInt(v || "0", 10) }); },
          Object.assign({ min: "0", step: "1", class: "seg-input seg-input--short" }, attrs || {})));
        box.appendChild(el("span", { class: "muted", text: t.daysAgo }));
      } else {
        box.appendChild(input("date", typeof value === "string" ? value.slice(0, 10) : "", function (v) { onvalue(v); },
          Object.assign({ class: "seg-input" }, attrs || {})));
      }
      return box;
    }

    // One value, a [low, high] pair or a list, depending on the operator.
    function valueEditor(kind, op, value, onvalue, opts) {
      opts = opts || {};
      if (NO_VALUE.indexOf(op) >= 0) return null;
      function single(v, set, extra) {
        if (opts.minutes) return minutesInput(v, set, extra);
        if (kind === "date") return dateInput(v, set, extra);
        if (kind === "enumeration" && opts.options) {
          return select([["", "…"]].concat(opts.options.map(function (o) { return [o.value, o.label]; })), v, set, Object.assign({ class: "seg-input" }, extra || {}));
        }
        return input(kind === "number" ? "number" : "text", v, set, Object.assign({ class: "seg-input", step: "any", maxlength: String(limits().text) }, extra || {}));
      }
      if (op === "between") {
        var pair = Array.isArray(value) ? value.slice() : ["", ""];
        return el("span", { class: "seg-between" }, [
          single(pair[0], function (v, re) { pair[0] = v; onvalue(pair.slice(), re); }, { "aria-label": t.low }),
          el("span", { class: "seg-and", text: t.and }),
          single(pair[1], function (v, re) { pair[1] = v; onvalue(pair.slice(), re); }, { "aria-label": t.high })
        ]);
      }
      if (op === "in" || op === "not_in") {
        var list = Array.isArray(value) ? value : [];
        if (kind === "enumeration" && opts.options) {
          var multi = el("select", { multiple: true, class: "seg-input seg-input--multi" });
          opts.options.forEach(function (o) {
            var option = el("option", { value: o.value, text: o.label });
            option.selected = list.indexOf(o.value) >= 0;
            multi.appendChild(option);
          });
          multi.addEventListener("change", function () {
            onvalue(Array.prototype.filter.call(multi.options, function (o) { return o.selected; }).map(function (o) { return o.value; }));
          });
          return multi;
        }
        return input("text", list.join(", "), function (v) {
          var items = v.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
          onvalue(kind === "number" ? items.map(Number) : items);
        }, { class: "seg-input", placeholder: t.listExample });
      }
      return single(Array.isArray(value) ? "" : value, onvalue, opts.valueLabel ? { "aria-label": opts.valueLabel } : undefined);
    }

    // Where a comparison lives: under a key of the node ({"operator", "value"}), or, for the
    // duration filter, at the node's top level.
    function keyAccess(node, key) {
      return {
        get: function () { return node[key]; },
        set: function (part) { if (part) node[key] = part; else delete node[key]; }
      };
    }
    function topAccess(node) {
      return {
        get: function () { return { operator: node.operator, value: node.value }; },
        set: function (part) { node.operator = part.operator; node.value = part.value; }
      };
    }

    // "operator + value" on one field; `optional` adds "any" (the field is then left out).
    function comparison(access, kind, opts) {
      // Translators: accessible name of the value box of a comparison, e.g. "duration value".
      var valueLabel = interpolate(gettext("%(field)s value"), { field: opts && opts.label ? opts.label : t.operator }, true);
      opts = Object.assign({ valueLabel: valueLabel }, opts || {});
      var part = access.get();
      var ops = opts.ops || OPS[kind];
      var choices = (opts.optional ? [["", t.any]] : []).concat(ops.map(function (op) { return [op, opLabel(op, kind)]; }));
      var box = el("span", { class: "seg-part" }, [opts.label ? el("span", { class: "seg-part__label", text: opts.label }) : null]);
      box.appendChild(select(choices, part ? part.operator : "", function (op) {
        if (!op) { access.set(undefined); changed(true); return; }
        var value;
        if (NO_VALUE.indexOf(op) >= 0) value = undefined;
        else if (op === "between") value = ["", ""];
        else value = part && !Array.isArray(part.value) ? part.value : "";
        access.set({ operator: op, value: value });
        changed(true);
      }, { class: "seg-input seg-input--op", "aria-label": opts.label || t.operator }));
      if (part && part.operator) {
        var editor = valueEditor(kind, part.operator, part.value, function (v, re) {
          part.value = v; access.set(part); changed(!!re);
        }, opts);
        if (editor) box.appendChild(editor);
      }
      return box;
    }

    // Input bounds the server checks (the catalogue states them; defaults if it does not).
    function limits() { return catalogue.limits || { search: 200, text: 1000 }; }

    // ---- pickers (events, webinars) ---------------------------------------------------------
    function picker(url, value, anyLabel, known, onpick, allowTypedId) {
      var box = el("span", { class: "seg-picker" });
      var search = el("input", { type: "search", class: "seg-input seg-input--search", placeholder: t.search, "aria-label": t.search, maxlength: String(limits().search) });
      var chooser = el("select", { class: "seg-input seg-picker__select", "data-testid": "picker-select" });
      var timer = null;
      function fill(results, typed) {
        chooser.innerHTML = "";
        chooser.appendChild(el("option", { value: "", text: anyLabel }));
        var seen = {};
        if (value !== null && value !== undefined && value !== "") {
          var name = known[String(value)] || "";
          var current = el("option", { value: value, text: allowTypedId || !name ? (name + " (" + value + ")").trim() : name });
          current.selected = true;
          chooser.appendChild(current);
          seen[String(value)] = true;
        }
        results.forEach(function (r) {
          if (seen[String(r.id)]) return;
          seen[String(r.id)] = true;
          chooser.appendChild(el("option", { value: r.id, text: r.name + (r.starts_at ? " · " + r.starts_at.slice(0, 10) : "") + (allowTypedId ? " (" + r.id + ")" : "") }));
        });
        if (allowTypedId && typed && /^\d{9,12}$/.test(typed) && !seen[typed]) {
          chooser.appendChild(el("option", { value: typed, text: interpolate(gettext("Webinar id %(id)s"), { id: typed }, true) }));
        }
      }
      function load(q) {
        fetch(url + "?q=" + encodeURIComponent(q || ""), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { results: [] }; })
          .then(function (body) { fill(body.results || [], (q || "").trim()); });
      }
      search.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () { load(search.value); }, 250);
      });
      chooser.addEventListener("change", function () {
        value = chooser.value === "" ? null : chooser.value;
        if (value !== null) known[String(value)] = (chooser.options[chooser.selectedIndex].text || "").replace(/ \(\d+\)$/, "");
        onpick(value);
      });
      fill([]);
      load("");
      box.appendChild(search);
      box.appendChild(chooser);
      return box;
    }

    // ---- choices read from the server (registration questions, source values) --------------
    // Each address is read once per page; the builder is drawn again when its answer comes.
    var fetched = {};
    function choicesAt(url) {
      if (Object.prototype.hasOwnProperty.call(fetched, url)) return fetched[url] || [];
      fetched[url] = null;
      fetch(url, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (body) { fetched[url] = body.results || []; render(); })
        .catch(function () { fetched[url] = []; });
      return [];
    }
    function pickerUrl(type, name, params) {
      var base = ((catalogue.pickers || {})[type] || {})[name];
      if (!base) return null;
      var query = Object.keys(params).filter(function (k) { return params[k] !== null && params[k] !== undefined && params[k] !== ""; })
        .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]); }).join("&");
      return base + (query ? "?" + query : "");
    }

    // "operator + value" on a node's top level, the value chosen among `listed` ({value, label})
    // for the operators that compare whole values, typed otherwise or when "another value" is
    // chosen.
    var LISTED_OPS = ["eq", "neq", "in", "not_in"];
    function listedComparison(node, listed, label) {
      var box = el("span", { class: "seg-part" });
      box.appendChild(select(OPS.text.map(function (op) { return [op, opLabel(op, "text")]; }), node.operator, function (op) {
        node.operator = op;
        node.value = NO_VALUE.indexOf(op) >= 0 ? undefined : ((op === "in" || op === "not_in") ? [] : "");
        delete node._typed;
        changed(true);
      }, { class: "seg-input seg-input--op", "data-testid": "filter-operator", "aria-label": t.operator }));
      if (NO_VALUE.indexOf(node.operator) >= 0) return box;
      var valueLabel = interpolate(gettext("%(field)s value"), { field: label }, true);
      var options = listed.slice();
      var values = Array.isArray(node.value) ? node.value : (node.value === "" || node.value === undefined ? [] : [node.value]);
      values.forEach(function (v) {
        if (!options.some(function (o) { return String(o.value) === String(v); })) options.push({ value: String(v), label: String(v) });
      });
      if (!options.length || LISTED_OPS.indexOf(node.operator) < 0 || node._typed) {
        var typed = valueEditor("text", node.operator, node.value, function (v, re) { node.value = v; changed(!!re); }, { valueLabel: valueLabel });
        if (typed) { typed.setAttribute("data-testid", "filter-value"); box.appendChild(typed); }
        return box;
      }
      if (node.operator === "in" || node.operator === "not_in") {
        var multi = valueEditor("enumeration", node.operator, node.value, function (v) { node.value = v; changed(false); }, { options: options });
        multi.setAttribute("data-testid", "filter-value");
        multi.setAttribute("aria-label", valueLabel);
        box.appendChild(multi);
        return box;
      }
      var OTHER = "__another_value__";
      var choices = [["", "…"]].concat(options.map(function (o) { return [o.value, o.label]; }), [[OTHER, t.otherValue]]);
      box.appendChild(select(choices, node.value, function (v) {
        if (v === OTHER) { node._typed = true; node.value = ""; changed(true); return; }
        node.value = v; changed(false);
      }, { class: "seg-input", "data-testid": "filter-value", "aria-label": valueLabel }));
      return box;
    }

    function negateSelect(node) {
      return select([["false", t.has], ["true", t.hasNot]], node.negate ? "true" : "false", function (v) {
        node.negate = v === "true"; changed(false);
      }, { class: "seg-input seg-input--neg", "aria-label": t.hasOrHasNot });
    }

    // ---- one filter row ---------------------------------------------------------------------
    function typeSelect(node, onchange) {
      var sel = el("select", { class: "seg-input seg-input--type", "data-testid": "filter-type", "aria-label": t.chooseType });
      sel.appendChild(el("option", { value: "", text: t.chooseType }));
      Object.keys(catalogue.groups).forEach(function (group) {
        var optgroup = el("optgroup", { label: catalogue.groups[group] });
        catalogue.types.forEach(function (type) {
          if (type.group !== group) return;
          var option = el("option", { value: type.type, text: type.label });
          if (node.type === type.type) option.selected = true;
          optgroup.appendChild(option);
        });
        sel.appendChild(optgroup);
      });
      sel.addEventListener("change", function () { onchange(sel.value); });
      return sel;
    }

    function propertyEditor(node) {
      var parts = [];
      var search = el("input", { type: "search", class: "seg-input seg-input--search", placeholder: t.search, "aria-label": t.chooseProperty + " " + t.search, "data-testid": "property-search" });
      var sel = el("select", { class: "seg-input seg-input--prop", "data-testid": "filter-property", "aria-label": t.chooseProperty });
      var groupNames = t.propertyGroups;
      function fill(query) {
        query = (query || "").toLowerCase();
        sel.innerHTML = "";
        sel.appendChild(el("option", { value: "", text: t.chooseProperty }));
        Object.keys(groupNames).forEach(function (g) {
          var optgroup = el("optgroup", { label: groupNames[g] });
          catalogue.properties.forEach(function (p) {
            if (p.group !== g) return;
            var hit = !query || p.label.toLowerCase().indexOf(query) >= 0 || p.name.indexOf(query) >= 0;
            if (!hit && p.name !== node.property) return;
            var option = el("option", { value: p.name, text: p.label });
            if (p.name === node.property) option.selected = true;
            optgroup.appendChild(option);
          });
          if (optgroup.children.length) sel.appendChild(optgroup);
        });
      }
      fill("");
      search.addEventListener("input", function () { fill(search.value); });
      sel.addEventListener("change", function () {
        node.property = sel.value;
        var spec = propertyByName(sel.value);
        var ops = spec ? OPS[spec.kind] : OPS.text;
        if (ops.indexOf(node.operator) < 0) node.operator = ops[0];
        node.value = NO_VALUE.indexOf(node.operator) >= 0 ? undefined : "";
        changed(true);
      });
      if (!node.property) parts.push(search);
      parts.push(sel);
      var spec = propertyByName(node.property);
      if (spec) {
        parts.push(select(OPS[spec.kind].map(function (op) { return [op, opLabel(op, spec.kind)]; }), node.operator, function (op) {
          node.operator = op;
          node.value = NO_VALUE.indexOf(op) >= 0 ? undefined : (op === "between" ? ["", ""] : ((op === "in" || op === "not_in") ? [] : ""));
          changed(true);
        }, { class: "seg-input seg-input--op", "data-testid": "filter-operator", "aria-label": t.operator }));
        var editor = valueEditor(spec.kind, node.operator, node.value, function (v, re) { node.value = v; changed(!!re); }, { options: spec.options });
        if (editor) parts.push(editor);
      }
      return parts;
    }

    function filterEditor(node) {
      var type = node.type;
      if (type === "property") return propertyEditor(node);
      if (type === "event_attendance_duration") {
        var parts = [
          picker(catalogue.urls.events, node.event_id, t.anyEvent, labels.events, function (v) {
            node.event_id = v === null ? null : Number(v);
            if (node.event_id !== null) delete node.total;  // a total adds up every event
            changed(true);
          })
        ];
        if (node.event_id === null || node.event_id === undefined) {
          parts.push(select([["one", t.atOneEvent], ["total", t.inTotal]], node.total ? "total" : "one", function (v) {
            if (v === "total") node.total = true; else delete node.total;
            changed(false);
          }, { class: "seg-input", "data-testid": "duration-scope", "aria-label": t.durationScope }));
        }
        parts.push(comparison(topAccess(node), "number", { ops: MEASURE_OPS, minutes: true, label: t.duration }));
        return parts;
      }
      if (type.indexOf("event_") === 0) {
        var stateParts = [negateSelect(node), picker(catalogue.urls.events, node.event_id, t.anyEvent, labels.events, function (v) {
          node.event_id = v === null ? null : Number(v);
          if (node.event_id !== null) delete node.count;  // a count is of every event
          changed(true);
        })];
        if (node.event_id === null || node.event_id === undefined) {
          stateParts.push(comparison(keyAccess(node, "count"), "number", { optional: true, ops: MEASURE_OPS, label: t.eventCount }));
        }
        return stateParts;
      }
      if (type === "zoom_recording_available") {
        return [
          negateSelect(node),
          comparison(keyAccess(node, "topic"), "text", { optional: true, label: t.topic }),
          comparison(keyAccess(node, "start_time"), "date", { optional: true, label: t.startTime }),
          comparison(keyAccess(node, "recording_url"), "text", { optional: true, label: t.recordingUrl })
        ];
      }
      // Engagement filters (rules E6-E8): a webinar picker and their own parts.
      var webinarPicker = function () {
        return picker(catalogue.urls.webinars, node.webinar_id, t.anyWebinar, labels.webinars, function (v) { node.webinar_id = v; changed(false); }, true);
      };
      if (type === "zoom_poll_answer" || type === "zoom_survey_answer") {
        return [
          negateSelect(node), webinarPicker(),
          comparison(keyAccess(node, "question"), "text", { optional: true, label: t.question }),
          comparison(keyAccess(node, "answer"), "text", { optional: true, label: t.answer })
        ];
      }
      if (type === "zoom_asked_question") return [negateSelect(node), webinarPicker()];
      if (type === "zoom_recording_viewed") {
        return [negateSelect(node), webinarPicker(),
          comparison(keyAccess(node, "duration"), "number", { optional: true, ops: MEASURE_OPS, minutes: true, label: t.timeWatched })];
      }
      if (type === "zoom_engagement_score") {
        return [webinarPicker(), comparison(topAccess(node), "number", { ops: MEASURE_OPS, label: t.score })];
      }
      // Registration filters (rules E1, E4, E5): questions and values as stored.
      if (type === "zoom_registration_answer") {
        var qUrl = pickerUrl(type, "questions", { webinar_id: node.webinar_id });
        var questions = qUrl ? choicesAt(qUrl) : [];
        var qOptions = [["", t.chooseQuestion]];
        var chosen = null;
        questions.forEach(function (q) { qOptions.push([q.question, q.label]); if (q.question === node.question) chosen = q; });
        if (node.question && !chosen) qOptions.push([node.question, node.question]);
        var qSelect = select(qOptions, node.question || "", function (v) {
          node.question = v; node.value = NO_VALUE.indexOf(node.operator) >= 0 ? undefined : ((node.operator === "in" || node.operator === "not_in") ? [] : "");
          delete node._typed;
          changed(true);
        }, { class: "seg-input seg-input--prop", "data-testid": "question-picker", "aria-label": t.question });
        var answerParts = [
          picker(catalogue.urls.webinars, node.webinar_id, t.anyWebinar, labels.webinars, function (v) { node.webinar_id = v; changed(true); }, true),
          qSelect
        ];
        if (node.question) {
          answerParts.push(listedComparison(node, (chosen ? chosen.answers : []).map(function (a) { return { value: a, label: a }; }), t.answer));
        }
        return answerParts;
      }
      if (type === "registration_source") {
        var fields = [["tracking_source", t.trackingSource], ["utm_source", "utm_source"], ["utm_medium", "utm_medium"],
          ["utm_campaign", "utm_campaign"], ["utm_term", "utm_term"], ["utm_content", "utm_content"], ["referrer", t.referrer]];
        var vUrl = pickerUrl(type, "values", { field: node.field, event_id: node.event_id });
        var known = (vUrl ? choicesAt(vUrl) : []).map(function (r) { return { value: r.value, label: r.value + " (" + r.count + ")" }; });
        var fieldLabel = "";
        fields.forEach(function (f) { if (f[0] === node.field) fieldLabel = f[1]; });
        return [
          picker(catalogue.urls.events, node.event_id, t.anyEvent, labels.events, function (v) {
            node.event_id = v === null ? null : Number(v); changed(true);
          }),
          select(fields, node.field, function (v) {
            node.field = v; node.value = NO_VALUE.indexOf(node.operator) >= 0 ? undefined : ((node.operator === "in" || node.operator === "not_in") ? [] : "");
            delete node._typed;
            changed(true);
          }, { class: "seg-input", "data-testid": "source-field", "aria-label": t.sourceField }),
          listedComparison(node, known, fieldLabel)
        ];
      }
      var parts = [negateSelect(node), webinarPicker()];
      parts.push(comparison(keyAccess(node, "webinar_name"), "text", { optional: true, label: t.webinarName }));
      if (type === "zoom_webinar_attendance") {
        parts.push(comparison(keyAccess(node, "duration"), "number", { optional: true, ops: MEASURE_OPS, minutes: true, label: t.duration }));
        parts.push(comparison(keyAccess(node, "duration_percent"), "number", { optional: true, ops: MEASURE_OPS, label: t.durationPercent }));
      }
      return parts;
    }

    function filterRow(group, node, i, j) {
      var path = "or[" + i + "].and[" + j + "]";
      var body = el("div", { class: "seg-filter__body" });
      body.appendChild(typeSelect(node, function (type) {
        group.and[j] = type ? newNode(type) : {};
        changed(true);
      }));
      if (node.type) filterEditor(node).forEach(function (part) { if (part) body.appendChild(part); });
      var row = el("div", { class: "seg-filter", "data-path": path, "data-testid": "filter-row" }, [
        j > 0 ? el("span", { class: "seg-and", text: t.and }) : null,
        body,
        el("button", { type: "button", class: "btn btn--ghost btn--small seg-remove", "aria-label": t.remove, text: "×", onclick: function () {
          group.and.splice(j, 1);
          changed(true);
        } })
      ]);
      var messages = serverErrors.filter(function (e) { return e.path === path || e.path.indexOf(path + ".") === 0; });
      if (messages.length) {
        row.classList.add("seg-filter--error");
        row.appendChild(el("div", { class: "field-error", text: messages.map(function (e) { return e.message; }).join(" · ") }));
      }
      return row;
    }

    function render() {
      root.innerHTML = "";
      tree.or.forEach(function (group, i) {
        if (i > 0) root.appendChild(el("div", { class: "seg-or", text: t.or }));
        var box = el("div", { class: "seg-group", "data-testid": "filter-group" }, [
          el("div", { class: "seg-group__head" }, [
            el("span", { class: "seg-group__title", text: t.group }),
            tree.or.length > 1 ? el("button", { type: "button", class: "btn btn--ghost btn--small", text: t.removeGroup, onclick: function () {
              tree.or.splice(i, 1); changed(true);
            } }) : null
          ])
        ]);
        group.and.forEach(function (node, j) { box.appendChild(filterRow(group, node, i, j)); });
        box.appendChild(el("button", { type: "button", class: "btn btn--secondary btn--small", "data-testid": "add-filter", text: t.addFilter, onclick: function () {
          group.and.push({}); changed(true);
        } }));
        root.appendChild(box);
      });
      root.appendChild(el("button", { type: "button", class: "btn btn--secondary", "data-testid": "add-group", text: t.addGroup, onclick: function () {
        tree.or.push({ and: [{}] }); changed(true);
      } }));
    }

    // ---- live count -------------------------------------------------------------------------
    function csrf() {
      var field = document.querySelector("input[name=csrfmiddlewaretoken]");
      return field ? field.value : "";
    }

    function schedulePreview() {
      clearTimeout(previewTimer);
      previewTimer = setTimeout(preview, 350);
    }

    function showState(text) { if (opts.state) opts.state.textContent = text || ""; }

    function preview() {
      var filters = cleanTree();
      var count = opts.count, list = opts.list;
      if (!count || !list) return;  // a builder without its live count
      if (!filters.or.length) {
        count.textContent = "0"; list.innerHTML = ""; showState(t.emptyTree); return;
      }
      var seq = ++previewSeq;
      showState(t.counting);
      fetch(catalogue.urls.preview, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        body: JSON.stringify({ filters: filters })
      }).then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      }).then(function (result) {
        if (seq !== previewSeq) return;  // a newer request is on its way
        var before = serverErrors.length;
        if (!result.ok) {
          serverErrors = remap(result.body.errors || [], filters);
          count.textContent = "—";
          list.innerHTML = "";
          // Errors about the whole tree or a group (too many filters) belong to no row: say them here.
          var loose = serverErrors.filter(function (e) { return !/^or\[\d+\]\.and\[\d+\]/.test(e.path); })
            .map(function (e) { return e.message; });
          if (!serverErrors.length) loose = [result.body.detail || ""];
          loose = loose.filter(Boolean);
          // Translators: the live count of the segment builder, when the server refused the filters.
          showState(loose.length ? interpolate(gettext("Fix the highlighted filters: %(problems)s"), { problems: loose.join(" · ") }, true) : t.invalid);
          render();
          return;
        }
        serverErrors = [];
        if (before) render();
        count.textContent = Number(result.body.count).toLocaleString();
        showState(result.body.count ? "" : t.noOne);
        list.innerHTML = "";
        result.body.members.forEach(function (m) {
          var name = [m.firstname, m.lastname].filter(Boolean).join(" ");
          list.appendChild(el("li", {}, [el("span", { text: name || "—" }), el("span", { class: "muted", text: m.email || "" })]));
        });
      }).catch(function () { if (seq === previewSeq) showState(t.failed); });
    }

    // Errors name nodes of the cleaned tree; map them back to the rows on screen.
    function remap(errors) {
      var map = {};
      var gi = 0;
      tree.or.forEach(function (group, i) {
        var fj = 0, kept = false;
        group.and.forEach(function (node, j) {
          if (node && node.type) { map["or[" + gi + "].and[" + fj + "]"] = "or[" + i + "].and[" + j + "]"; fj++; kept = true; }
        });
        if (kept) gi++;
      });
      return errors.map(function (e) {
        var path = e.path || e.name || "";
        var m = /^(or\[\d+\]\.and\[\d+\])(.*)$/.exec(path);
        return { path: m && map[m[1]] ? map[m[1]] + m[2] : path, message: e.message };
      });
    }

    root = opts.root;
    hidden = opts.hidden;
    catalogue = opts.catalogue;
    // Names of the events and webinars the tree names (segments/builder.py's tree_labels).
    labels = Object.assign({ events: {}, webinars: {} }, opts.labels || {});
    t = words();
    serverErrors = opts.errors || [];
    try { tree = JSON.parse(hidden.value); } catch (e) { tree = { or: [] }; }
    if (!tree || !Array.isArray(tree.or)) tree = { or: [] };
    if (!tree.or.length) tree.or.push({ and: [{}] });
    tree.or.forEach(function (g) { if (!Array.isArray(g.and)) g.and = []; if (!g.and.length) g.and.push({}); });
    hidden.value = JSON.stringify(cleanTree());
    render();
    preview();
    return { tree: cleanTree };
  }

  window.SegmentBuilder = { mount: mount };

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("seg-builder");
    if (!root) return;
    mount({
      root: root,
      hidden: document.getElementById("segment-filters"),
      catalogue: JSON.parse(document.getElementById("seg-catalogue").textContent),
      labels: JSON.parse(document.getElementById("seg-labels").textContent),
      errors: JSON.parse(document.getElementById("seg-errors").textContent || "[]"),
      count: document.getElementById("seg-count"),
      state: document.getElementById("seg-count-state"),
      list: document.getElementById("seg-preview")
    });
  });
})();
