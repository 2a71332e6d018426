// The workflow's steps as a vertical flow (rules W9, W12 UI). The graph is
// {"steps": [{"id", "type", ...settings, "next"} | {"id", "type": "branch", "filters",
// "yes", "no"}], "start"}; the step types, their exits and their settings' fields come from the
// action registry (json_script "wf-catalogue"), so this file knows no step type by name.
//
// Editor: "+" between any two steps (and at each path's end) inserts a step; a branch draws
// its yes and no paths side by side; clicking a step opens its settings in the side panel,
// checked as they are typed; the graph is written to the hidden "graph" field on submit, and a
// step that is not complete stops the submit and is shown. On the workflow page (data-readonly)
// the same flow is drawn with the server's descriptions, without tools.
(function () {
  "use strict";

  var UNITS = [[86400, "days"], [3600, "hours"], [60, "minutes"], [1, "seconds"]];
  var EXITS = ["next", "yes", "no"];

  function json(id, fallback) {
    var node = document.getElementById(id);
    if (!node) return fallback;
    try { return JSON.parse(node.textContent); } catch (e) { return fallback; }
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else if (attrs[key] !== null && attrs[key] !== undefined && attrs[key] !== false) {
        node.setAttribute(key, attrs[key] === true ? "" : attrs[key]);
      }
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function unitLabel(name, n) {
    var forms = {
      days: ngettext("day", "days", n), hours: ngettext("hour", "hours", n),
      minutes: ngettext("minute", "minutes", n), seconds: ngettext("second", "seconds", n)
    };
    return forms[name];
  }

  function durationText(seconds) {
    var abs = Math.abs(seconds);
    for (var i = 0; i < UNITS.length; i++) {
      if (abs % UNITS[i][0] === 0) {
        var n = abs / UNITS[i][0];
        return n + " " + unitLabel(UNITS[i][1], n);
      }
    }
    return abs + " " + unitLabel("seconds", abs);
  }

  function Flow(root, catalogue, graph, errors, descriptions) {
    this.root = root;
    this.readonly = root.hasAttribute("data-readonly");
    this.types = {};
    (catalogue.types || []).forEach(function (t) { this.types[t.type] = t; }, this);
    this.catalogue = catalogue;
    this.steps = {};
    this.order = [];
    (graph.steps || []).forEach(function (step) {
      if (step && typeof step.id === "string") { this.steps[step.id] = step; this.order.push(step.id); }
    }, this);
    this.start = graph.start || (this.order.length ? this.order[0] : null);
    this.serverErrors = errors || {};
    this.descriptions = descriptions || {};
    this.panel = document.getElementById("wf-panel");
    this.selected = null;
    this.menuAt = null;
  }

  Flow.prototype.outcomes = function (step) {
    var t = this.types[step.type];
    return t ? t.outcomes : ["next"];
  };

  Flow.prototype.label = function (type) {
    var t = this.types[type];
    return t ? t.label : type;
  };

  Flow.prototype.newId = function () {
    var n = this.order.length + 1;
    while (this.steps["s" + n]) n++;
    return "s" + n;
  };

  // ---- the graph ------------------------------------------------------------------------

  // A place an arrow leaves from: {from: null} is the start, else {from: id, exit: "next"}.
  Flow.prototype.target = function (at) {
    return at.from === null ? this.start : this.steps[at.from][at.exit];
  };

  Flow.prototype.point = function (at, id) {
    if (at.from === null) this.start = id;
    else this.steps[at.from][at.exit] = id;
  };

  Flow.prototype.insert = function (at, type) {
    var id = this.newId();
    var step = {id: id, type: type};
    var outcomes = this.types[type].outcomes;
    outcomes.forEach(function (exit) { step[exit] = null; });
    step[outcomes[0]] = this.target(at) || null;
    this.steps[id] = step;
    this.order.push(id);
    this.point(at, id);
    this.selected = id;
    this.menuAt = null;
    this.render();
  };

  Flow.prototype.remove = function (id) {
    var step = this.steps[id];
    var after = step[this.outcomes(step)[0]] || null;
    var self = this;
    if (this.start === id) this.start = after;
    this.order.forEach(function (other) {
      EXITS.forEach(function (exit) {
        if (self.steps[other][exit] === id) self.steps[other][exit] = after;
      });
    });
    delete this.steps[id];
    this.order = this.order.filter(function (other) { return other !== id; });
    this.prune();
    this.selected = null;
    this.render();
  };

  // Steps no path reaches any more (the other side of a removed branch) go with it.
  Flow.prototype.prune = function () {
    var seen = {}, stack = this.start ? [this.start] : [], self = this;
    while (stack.length) {
      var id = stack.pop();
      if (seen[id] || !this.steps[id]) continue;
      seen[id] = true;
      EXITS.forEach(function (exit) { if (self.steps[id][exit]) stack.push(self.steps[id][exit]); });
    }
    this.order = this.order.filter(function (id) {
      if (!seen[id]) delete self.steps[id];
      return seen[id];
    });
  };

  Flow.prototype.graph = function () {
    var self = this;
    return {steps: this.order.map(function (id) { return self.steps[id]; }), start: this.start};
  };

  // ---- settings: the registry's field specs -------------------------------------------

  Flow.prototype.fields = function (step) {
    var t = this.types[step.type];
    return t ? t.fields : [];
  };

  Flow.prototype.mode = function (step) {
    var modeField = this.fields(step).filter(function (f) { return f.kind === "mode"; })[0];
    if (!modeField) return null;
    if (step._mode) return step._mode;
    for (var i = 0; i < modeField.choices.length; i++) {
      var key = modeField.choices[i][0];
      if (step[key] !== undefined && step[key] !== null && step[key] !== "") return key;
    }
    return modeField.choices[0][0];
  };

  Flow.prototype.activeFields = function (step) {
    var mode = this.mode(step);
    return this.fields(step).filter(function (f) { return !f.when || f.when === mode; });
  };

  Flow.prototype.setMode = function (step, mode) {
    var self = this;
    step._mode = mode;
    this.fields(step).forEach(function (f) {
      if (f.when && f.when !== mode) delete step[f.name];
      if (f.when === mode && f.kind === "fixed") step[f.name] = f.value;
      if (f.when === mode && f.kind === "flag") step[f.name] = true;
    });
    self.render();
  };

  Flow.prototype.problems = function (step) {
    var out = {};
    this.activeFields(step).forEach(function (f) {
      var value = step[f.name];
      var empty = value === undefined || value === null || value === "";
      if (f.required && empty) out[f.name] = gettext("This setting is required.");
      else if (!empty && f.kind === "duration" && (!/^-?\d+$/.test(String(value)) ||
               (!f.signed && Number(value) < 1))) {
        out[f.name] = f.signed ? gettext("Enter a whole number.") : gettext("Enter a duration of at least 1 second.");
      } else if (!empty && f.kind === "url" && !/^https:\/\/[^\s/]+/.test(value) &&
                 !/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(value)) {
        out[f.name] = gettext("Only https URLs can be used.");
      } else if (!empty && f.kind === "webinar" && !/^\d{9,12}$/.test(String(value))) {
        out[f.name] = gettext("A Zoom webinar id is 9 to 12 digits, without spaces or dashes.");
      } else if (f.kind === "filters" && !empty) {
        var groups = (value.or || []).filter(function (g) { return (g.and || []).length; });
        if (!groups.length) out[f.name] = gettext("Give at least one condition.");
      }
    });
    var server = this.serverErrors[step.id] || {};
    Object.keys(server).forEach(function (name) {
      var key = name.split(".")[0];
      if (!out[key]) out[key] = server[name].join(" ");
    });
    return out;
  };

  Flow.prototype.invalid = function () {
    var self = this;
    return this.order.filter(function (id) { return Object.keys(self.problems(self.steps[id])).length; });
  };

  Flow.prototype.changed = function (step, name) {
    if (this.serverErrors[step.id]) {
      Object.keys(this.serverErrors[step.id]).forEach(function (key) {
        if (key.split(".")[0] === name || key === "") delete this.serverErrors[step.id][key];
      }, this);
    }
    this.renderFlowOnly();
  };

  // ---- a step's summary ----------------------------------------------------------------

  Flow.prototype.choiceLabel = function (field, value) {
    var c = this.catalogue;
    var pick = function (list, key, label) {
      var hit = (list || []).filter(function (item) { return String(item[key]) === String(value); })[0];
      return hit ? hit[label] : value;
    };
    if (field.kind === "property") return pick(c.properties, "name", "label");
    if (field.kind === "segment") return pick(c.segments, "id", "name");
    if (field.kind === "user") return pick(c.users, "id", "email");
    if (field.kind === "webinar") {
      var w = (c.webinars || []).filter(function (item) { return item.id === String(value); })[0];
      return w ? w.topic + " (" + w.id + ")" : value;
    }
    if (field.kind === "select") {
      var hit = field.choices.filter(function (ch) { return ch[0] === value; })[0];
      return hit ? hit[1] : value;
    }
    if (field.kind === "duration") return (Number(value) < 0 ? "−" : "") + durationText(Number(value));
    if (field.kind === "filters") {
      var node = value.or && value.or.length === 1 && value.or[0].and.length === 1 ? value.or[0].and[0] : null;
      if (node && node.type === "zoom_webinar_attendance" && node.duration) {
        return interpolate(gettext("attended webinar %(webinar)s for %(minutes)s minutes or more"),
                           {webinar: node.webinar_id, minutes: node.duration.value / 60}, true);
      }
      return gettext("conditions set");
    }
    return String(value);
  };

  Flow.prototype.summary = function (step) {
    if (this.readonly && this.descriptions[step.id]) return this.descriptions[step.id];
    var self = this, parts = [];
    this.activeFields(step).forEach(function (f) {
      if (f.kind === "mode" || f.kind === "fixed" || f.kind === "flag") return;
      var value = step[f.name];
      if (value === undefined || value === null || value === "") return;
      parts.push(f.label + ": " + self.choiceLabel(f, value));
    });
    var modeField = this.fields(step).filter(function (f) { return f.kind === "mode"; })[0];
    if (modeField && !parts.length) {
      var mode = this.mode(step);
      var choice = modeField.choices.filter(function (c) { return c[0] === mode; })[0];
      if (choice) parts.push(choice[1]);
    }
    return parts.join(" · ");
  };

  // ---- drawing -------------------------------------------------------------------------

  Flow.prototype.render = function () {
    this.renderFlowOnly();
    this.renderPanel();
  };

  Flow.prototype.renderFlowOnly = function () {
    this.root.textContent = "";
    var seen = {};
    this.root.appendChild(this.chain({from: null}, seen));
    if (!this.readonly) {
      var invalid = this.invalid();
      var banner = document.getElementById("wf-flow-invalid");
      if (banner && !invalid.length) banner.hidden = true;
    }
  };

  Flow.prototype.chain = function (at, seen) {
    var list = el("ol", {className: "wf-chain"});
    var id = this.target(at);
    if (!this.readonly) list.appendChild(this.adder(at, !id));
    while (id) {
      var step = this.steps[id];
      if (!step) break;
      if (seen[id]) {
        list.appendChild(el("li", {className: "wf-goto", text: "↪ " + interpolate(gettext("go on at %s"), [this.label(step.type) + " (" + id + ")"])}));
        return list;
      }
      seen[id] = true;
      list.appendChild(this.card(step));
      var outcomes = this.outcomes(step);
      if (outcomes.length > 1) {
        var branches = el("li", {className: "wf-branches"});
        outcomes.forEach(function (exit) {
          var column = el("div", {className: "wf-branch wf-branch--" + exit, "data-testid": "branch-" + exit}, [
            el("div", {className: "wf-branch__label", text: exit === "yes" ? gettext("Yes") : exit === "no" ? gettext("No") : exit})
          ]);
          column.appendChild(this.chain({from: id, exit: exit}, seen));
          branches.appendChild(column);
        }, this);
        list.appendChild(branches);
        return list;
      }
      var at2 = {from: id, exit: "next"};
      id = step.next;
      if (!this.readonly) list.appendChild(this.adder(at2, !id));
    }
    list.appendChild(el("li", {className: "wf-end", text: gettext("End")}));
    return list;
  };

  Flow.prototype.adder = function (at, last) {
    var self = this;
    var item = el("li", {className: "wf-adder"});
    var open = this.menuAt && this.menuAt.from === at.from && this.menuAt.exit === at.exit;
    var button = el("button", {type: "button", className: "wf-adder__button",
      "aria-label": gettext("Add a step here"), title: gettext("Add a step here"),
      "aria-expanded": open ? "true" : "false", "data-testid": "add-step", text: "+"});
    button.addEventListener("click", function () {
      self.menuAt = open ? null : at;
      self.renderFlowOnly();
    });
    item.appendChild(button);
    if (open) {
      var menu = el("div", {className: "wf-menu", role: "menu", "data-testid": "step-menu"});
      Object.keys(this.types).forEach(function (type) {
        var choice = el("button", {type: "button", role: "menuitem", className: "wf-menu__item",
          "data-type": type, text: self.types[type].label});
        choice.addEventListener("click", function () { self.insert(at, type); });
        menu.appendChild(choice);
      });
      item.appendChild(menu);
    }
    if (last) item.classList.add("wf-adder--last");
    return item;
  };

  Flow.prototype.card = function (step) {
    var self = this;
    var problems = this.readonly ? {} : this.problems(step);
    var bad = Object.keys(problems).length > 0;
    var classes = "wf-step" + (step.type === "branch" ? " wf-step--branch" : "") +
      (bad ? " wf-step--invalid" : "") + (this.selected === step.id ? " wf-step--selected" : "");
    var card = el(this.readonly ? "div" : "button", {type: this.readonly ? null : "button",
      className: classes, "data-testid": "step", "data-step": step.id, "data-type": step.type}, [
      el("span", {className: "wf-step__type", text: this.label(step.type)}),
      el("span", {className: "wf-step__summary", text: this.summary(step) || gettext("Click to set it up")})
    ]);
    if (bad) card.appendChild(el("span", {className: "wf-step__problem", text: gettext("Incomplete")}));
    if (!this.readonly) {
      card.addEventListener("click", function () {
        self.selected = step.id;
        self.menuAt = null;
        self.render();
      });
    }
    return el("li", {className: "wf-chain__item"}, [card]);
  };

  // ---- the side panel ------------------------------------------------------------------

  Flow.prototype.renderPanel = function () {
    var panel = this.panel;
    if (!panel) return;
    var step = this.selected && this.steps[this.selected];
    panel.textContent = "";
    panel.hidden = !step;
    if (!step) return;
    var self = this;
    var problems = this.problems(step);
    panel.appendChild(el("div", {className: "wf-panel__head"}, [
      el("h3", {text: this.label(step.type)}),
      el("code", {className: "muted", text: step.id})
    ]));
    var general = (this.serverErrors[step.id] || {})[""];
    if (general) panel.appendChild(el("p", {className: "field__error", role: "alert", text: general.join(" ")}));
    this.fields(step).forEach(function (f) {
      if (f.when && f.when !== self.mode(step)) return;
      var node = self.fieldNode(step, f, problems[f.name]);
      if (node) panel.appendChild(node);
    });
    var actions = el("div", {className: "wf-panel__actions"});
    var done = el("button", {type: "button", className: "btn btn--primary btn--small", text: gettext("Done"), "data-testid": "panel-done"});
    done.addEventListener("click", function () { self.selected = null; self.render(); });
    var remove = el("button", {type: "button", className: "btn btn--danger btn--small", text: gettext("Remove step"), "data-testid": "remove-step"});
    remove.addEventListener("click", function () { self.remove(step.id); });
    actions.appendChild(done);
    actions.appendChild(remove);
    panel.appendChild(actions);
  };

  Flow.prototype.fieldNode = function (step, f, problem) {
    var self = this;
    var id = "wf-" + step.id + "-" + f.name;
    var wrap = el("div", {className: "field" + (problem ? " field--error" : ""), "data-field": f.name});
    var error = el("p", {className: "field__error", role: "alert", text: problem || ""});
    error.hidden = !problem;
    function set(value) {
      if (value === "" || value === null || value === undefined) delete step[f.name];
      else step[f.name] = value;
      var now = self.problems(step)[f.name];
      error.textContent = now || "";
      error.hidden = !now;
      wrap.classList.toggle("field--error", !!now);
      self.changed(step, f.name);
    }
    if (f.kind === "fixed" || f.kind === "flag") return null;
    if (f.kind === "mode") {
      var set_ = el("fieldset", {className: "wf-choice"}, [el("legend", {text: f.label})]);
      f.choices.forEach(function (choice) {
        var radio = el("input", {type: "radio", name: id, value: choice[0], "data-testid": "mode-" + choice[0]});
        radio.checked = self.mode(step) === choice[0];
        radio.addEventListener("change", function () { self.setMode(step, choice[0]); });
        set_.appendChild(el("label", {}, [radio, document.createTextNode(" " + choice[1])]));
      });
      return set_;
    }
    wrap.appendChild(el("label", {"for": id, text: f.label + (f.required ? " *" : "")}));
    var input;
    if (f.kind === "duration") {
      var seconds = step[f.name];
      var unit = 86400;
      if (seconds !== undefined && seconds !== null && seconds !== "") {
        unit = UNITS.filter(function (u) { return Number(seconds) % u[0] === 0; })[0][0];
      }
      var amount = el("input", {id: id, type: "number", step: "1", min: f.signed ? null : "1", className: "wf-amount", "data-testid": "field-" + f.name,
        value: seconds === undefined || seconds === null || seconds === "" ? "" : String(Number(seconds) / unit)});
      var units = el("select", {"aria-label": gettext("Unit"), "data-testid": "unit-" + f.name});
      UNITS.forEach(function (u) {
        var option = el("option", {value: String(u[0]), text: unitLabel(u[1], 2)});
        option.selected = u[0] === unit;
        units.appendChild(option);
      });
      var update = function () {
        var text = amount.value.trim();
        set(/^-?\d+$/.test(text) ? String(Number(text) * Number(units.value)) : text);
      };
      amount.addEventListener("input", update);
      units.addEventListener("change", update);
      wrap.appendChild(el("div", {className: "wf-duration"}, [amount, units]));
      if (f.signed) wrap.appendChild(el("p", {className: "field__help", text: gettext("After the moment; a negative number: before it.")}));
    } else if (f.kind === "filters") {
      this.filtersNode(step, f, wrap, id, set);
    } else if (f.kind === "textarea") {
      input = el("textarea", {id: id, rows: "3", "data-testid": "field-" + f.name});
      input.value = step[f.name] || "";
      input.addEventListener("input", function () { set(input.value); });
      wrap.appendChild(input);
    } else if (f.kind === "text" || f.kind === "url") {
      input = el("input", {id: id, type: f.kind === "url" ? "url" : "text", "data-testid": "field-" + f.name,
        placeholder: f.kind === "url" ? "https://" : null});
      input.value = step[f.name] === undefined ? "" : String(step[f.name]);
      input.addEventListener("input", function () { set(input.value.trim()); });
      wrap.appendChild(input);
    } else if (f.kind === "webinar") {
      var picker = this.select(id, gettext("Choose a webinar…"), (this.catalogue.webinars || []).map(function (w) {
        return [w.id, w.topic + " — " + w.id + (w.upcoming ? "" : " (" + gettext("past") + ")")];
      }), step[f.name], "field-" + f.name);
      var typed = el("input", {type: "text", inputmode: "numeric", className: "wf-id", placeholder: "81234567890",
        "aria-label": gettext("or type its id"), "data-testid": "typed-" + f.name});
      typed.value = step[f.name] || "";
      picker.addEventListener("change", function () { typed.value = picker.value; set(picker.value); });
      typed.addEventListener("input", function () { picker.value = typed.value.trim(); set(typed.value.trim()); });
      wrap.appendChild(picker);
      wrap.appendChild(el("span", {className: "wf-or muted", text: gettext("or type its id")}));
      wrap.appendChild(typed);
    } else {
      var options = [];
      if (f.kind === "property") {
        options = (this.catalogue.properties || []).filter(function (p) {
          return (!f.property_types || f.property_types.indexOf(p.type) >= 0) && (!f.writable || p.writable);
        }).map(function (p) { return [p.name, p.label + " (" + p.name + ")"]; });
      } else if (f.kind === "segment") {
        options = (this.catalogue.segments || []).map(function (s) { return [String(s.id), s.name]; });
      } else if (f.kind === "user") {
        options = (this.catalogue.users || []).map(function (u) { return [String(u.id), u.label + " <" + u.email + ">"]; });
      } else if (f.kind === "select") {
        options = f.choices;
      }
      input = this.select(id, f.kind === "select" ? null : gettext("Choose…"), options, step[f.name], "field-" + f.name);
      if (f.kind === "select" && (step[f.name] === undefined || step[f.name] === null)) {
        step[f.name] = options.length ? options[0][0] : "";
      }
      input.addEventListener("change", function () {
        var value = input.value;
        set((f.kind === "segment" || f.kind === "user") && /^\d+$/.test(value) ? Number(value) : value);
      });
      wrap.appendChild(input);
      if (f.kind === "segment" && !options.length) {
        wrap.appendChild(el("p", {className: "field__help", text: gettext("No static segment yet: make one in Segments.")}));
      }
    }
    wrap.appendChild(error);
    return wrap;
  };

  Flow.prototype.select = function (id, empty, options, value, testid) {
    var select = el("select", {id: id, "data-testid": testid});
    if (empty !== null) select.appendChild(el("option", {value: "", text: empty}));
    options.forEach(function (o) {
      var option = el("option", {value: String(o[0]), text: o[1]});
      option.selected = value !== undefined && value !== null && String(value) === String(o[0]);
      select.appendChild(option);
    });
    return select;
  };

  // A branch's conditions: any segment filter, built with the segment builder
  // (static/segments/builder.js, the catalogue of segments/builder.py the page carries), with
  // a live count of the contacts who match now; or the same Filter JSON typed as text.
  Flow.prototype.filtersNode = function (step, f, wrap, id, set) {
    var value = step[f.name];
    var how = el("select", {id: id, "data-testid": "conditions-kind"}, [
      el("option", {value: "builder", text: gettext("Filters (as in segments)")}),
      el("option", {value: "json", text: gettext("Filter JSON (typed)")})
    ]);
    var canBuild = !!(window.SegmentBuilder && document.getElementById("seg-catalogue"));
    how.value = canBuild ? "builder" : "json";
    wrap.appendChild(how);
    var box = el("div", {className: "wf-conditions", "data-testid": "conditions"});
    wrap.appendChild(box);
    function draw() {
      box.textContent = "";
      if (how.value === "builder" && canBuild) {
        var hidden = el("input", {type: "hidden"});
        hidden.value = value ? JSON.stringify(value) : "";
        var count = el("strong", {"data-testid": "conditions-count", text: "—"});
        var state = el("span", {className: "muted"});
        var list = el("ul", {className: "seg-preview wf-conditions__preview", "data-testid": "conditions-preview"});
        var root = el("div", {className: "wf-conditions__builder", "data-testid": "conditions-builder"});
        box.appendChild(root);
        box.appendChild(el("p", {className: "wf-conditions__count"}, [
          document.createTextNode(gettext("Contacts who match now:") + " "), count,
          document.createTextNode(" "), state]));
        box.appendChild(list);
        window.SegmentBuilder.mount({
          root: root, hidden: hidden, count: count, state: state, list: list,
          catalogue: JSON.parse(document.getElementById("seg-catalogue").textContent),
          onChange: function (tree) {
            value = tree.or.length ? tree : null;
            set(value);
          }
        });
      } else {
        var text = el("textarea", {rows: "6", className: "mono", "data-testid": "conditions-json"});
        text.value = value ? JSON.stringify(value, null, 1) : '{"or": [{"and": []}]}';
        text.addEventListener("input", function () {
          try { value = JSON.parse(text.value); } catch (e) { value = null; }
          set(value);
        });
        box.appendChild(text);
        box.appendChild(el("p", {className: "field__help", text: gettext("The segments' Filter JSON: groups joined with OR, each an AND of filters.")}));
      }
    }
    how.addEventListener("change", draw);
    draw();
  };

  // ---- start -----------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("wf-flow");
    if (!root) return;
    var flow = new Flow(root, json("wf-catalogue", {types: []}), json("wf-initial", {steps: []}),
                        json("wf-errors", {}), json("wf-descriptions", {}));
    window.workflowFlow = flow;
    var firstBad = flow.readonly ? null : flow.invalid()[0];
    if (firstBad) flow.selected = firstBad;
    flow.render();
    var form = document.getElementById("workflow-form");
    if (!form) return;
    form.addEventListener("submit", function (event) {
      // "Save as draft" keeps an incomplete workflow as it is: the server lists what is left.
      var asDraft = event.submitter && event.submitter.name === "draft";
      var invalid = asDraft ? [] : flow.invalid();
      if (invalid.length) {
        event.preventDefault();
        flow.selected = invalid[0];
        flow.render();
        document.getElementById("wf-flow-invalid").hidden = false;
        return;
      }
      var graph = flow.graph();
      graph.steps = graph.steps.map(function (step) {
        var copy = {};
        Object.keys(step).forEach(function (key) { if (key.charAt(0) !== "_") copy[key] = step[key]; });
        return copy;
      });
      document.getElementById("wf-graph").value = JSON.stringify(graph);
    });
  });
})();
