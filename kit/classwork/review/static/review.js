// kit review: grade one discussion question at a time, every student in turn, with the keyboard alone.
// Every student string is put in the page as text (the server already shows its invisible characters as codes);
// answers, prompts and rubrics arrive as HTML the server rendered from Markdown with raw HTML off.
// Changes are sent one at a time, each after the previous one's answer and with the value that answer returned, so
// the page never refuses its own keys; a cell another writer changed is never overwritten: the grader chooses.
"use strict";

const TOKEN = document.querySelector('meta[name="review-token"]').content;
const state = {overview: null, tab: 0, data: null, index: 0, showModel: false, editing: false, runs: {},
               queue: Promise.resolve(), inflight: 0, arrived: 0, copyNotes: {}};
const POLL_MS = 15000;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function trusted(html) {  // server-rendered Markdown (raw HTML escaped, links and images as text)
  const div = el("div");
  div.innerHTML = html;
  return div;
}

function say(text, kind = "ok") {
  const status = document.getElementById("status");
  status.textContent = text;
  status.className = kind;
}

async function call(method, path, payload) {
  const url = method === "GET" ? `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(TOKEN)}` : path;
  const response = await fetch(url, {
    method, headers: {"X-Review-Token": TOKEN, "Content-Type": "application/json"},
    body: method === "GET" ? undefined : JSON.stringify(payload || {}),
  });
  const body = await response.json().catch(() => ({error: response.statusText}));
  if (!response.ok) {
    const error = new Error(body.error || response.statusText);
    error.status = response.status;
    error.now = body.now;
    throw error;
  }
  return body;
}

const get = (path) => call("GET", path);
const post = (what, payload) => call("POST", `/api/${what}`, payload);

function questions() { return state.overview.questions; }
function onFlags() { return state.tab === questions().length; }
function onCopies() { return state.tab === questions().length + 1; }
const TABS = () => questions().length + 2;  // the questions, the flagged queue, the possible copies
function question() { return questions()[state.tab]; }
function current() { return state.data && state.data.list[state.index]; }
function points(n) { return `${n} pt${n === 1 ? "" : "s"}`; }
function typing() {
  const t = document.activeElement;
  return t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement;
}

async function load(keep = true) {
  const who = keep && current() ? current().submission : null;
  state.overview = await get("/api/overview");
  state.arrived = state.overview.arrived.length;
  if (onFlags()) {
    const flags = await get("/api/flags");
    state.data = {list: flags.flagged};
  } else if (onCopies()) {
    const found = await get("/api/copies");
    state.data = {list: found.groups, notEvidence: found.not_evidence};
  } else {
    const data = await get(`/api/question/${encodeURIComponent(question().name)}`);
    state.data = {list: data.answers};
  }
  const found = who ? state.data.list.findIndex((a) => a.submission === who) : -1;
  state.index = found >= 0 ? found : Math.min(state.index, Math.max(0, state.data.list.length - 1));
  render();
}

// -- saving: one change at a time ---------------------------------------------------------------------------------
// ``build()`` runs when the change's turn comes, so it reads the values the previous answer left; ``done(result)``
// updates the page's copy. A 409 is another writer's: the grader sees both values and chooses.
function enqueue(what, build, done, describe) {
  state.inflight += 1;
  const run = async () => {
    const payload = build();
    if (!payload) return;
    try {
      done(await post(what, payload));
    } catch (error) {
      if (error.status === 409 && describe) {
        const mine = describe(payload);
        const shown = (v) => (v === "" || v === null || v === undefined ? "(empty)" : String(v));
        const keep = window.confirm(`${error.message}\n\nNow there: ${shown(error.now)}\nYours: ${shown(mine)}` +
                                    "\n\nOK keeps yours (it replaces the other value); Cancel keeps the other value.");
        if (keep) {
          try {
            done(await post(what, {...payload, expected: error.now}));
            return;
          } catch (again) {
            say(again.message, "error");
          }
        } else {
          say("Kept the other value; yours was not saved.", "error");
        }
      } else {
        say(error.message, "error");
      }
      if (error.status === 409 || error.status === 422) {
        const message = document.getElementById("status").textContent;
        await load();
        say(message, "error");  // kept on screen after the reload
      }
    }
  };
  state.queue = state.queue.then(() => run().catch((error) => say(error.message, "error")))
    .finally(() => { state.inflight -= 1; });
  return state.queue;
}

// -- rendering --------------------------------------------------------------------------------------------------
function renderTabs() {
  const nav = document.getElementById("tabs");
  nav.replaceChildren();
  questions().forEach((q, i) => nav.append(el("button", {
    type: "button", "aria-current": String(i === state.tab), text: `${q.name} ${q.graded}/${q.total}`,
    onclick: () => { state.tab = i; state.index = 0; load(false); },
  })));
  const o = state.overview;
  nav.append(el("button", {
    type: "button", "aria-current": String(onFlags()), text: `Flagged (${o.undecided} to decide of ${o.flagged})`,
    onclick: () => { state.tab = questions().length; state.index = 0; load(false); },
  }));
  nav.append(el("button", {
    type: "button", "aria-current": String(onCopies()),
    text: `Possible copies (${o.copies_undecided} to decide of ${o.copies})`,
    onclick: () => { state.tab = questions().length + 1; state.index = 0; load(false); },
  }));
}

function renderArrived() {
  const banner = document.getElementById("arrived");
  const arrived = state.overview.arrived;
  banner.hidden = !arrived.length;
  banner.textContent = arrived.length ? `${arrived.length} submission(s) graded since this page opened are in the ` +
    `list: ${arrived.map((a) => a.student).join(", ")}` : "";
}

function studentList(done) {
  const list = el("ol", {class: "students", "aria-label": "Students"});
  state.data.list.forEach((a, i) => {
    list.append(el("li", {
      class: done(a) ? "done" : "todo", "aria-current": String(i === state.index), text: a.student,
      title: a.label, onclick: () => { state.index = i; render(); },
    }));
  });
  return list;
}

function render() {
  renderTabs();
  renderArrived();
  const view = document.getElementById("view");
  view.replaceChildren();
  if (state.overview.stray.length) {
    say(`manual_grades.csv has rows for no graded submission: ${state.overview.stray.join(", ")}`, "error");
  }
  if (!state.data.list.length) {
    view.className = "";
    view.append(el("p", {class: "muted", text: onFlags() ? "No flagged submissions." : onCopies()
      ? "No possible copies: no two notebooks share a run or an account." : "No graded submissions."}));
    return;
  }
  if (onFlags()) renderFlag(view); else if (onCopies()) renderCopies(view); else renderAnswer(view);
  const selected = view.querySelector('li[aria-current="true"]');
  if (selected) selected.scrollIntoView({block: "nearest"});
}

function answerBox(q, a) {
  if (a.state === "answered") {
    const box = el("div", {class: "box answer", id: "answer"}, trusted(a.html));
    if (a.collapsed) {
      box.prepend(el("p", {class: "box warn", id: "long", text: `A long answer: ${a.length.toLocaleString()} ` +
        "characters; its beginning is shown. v shows all of it."}));
    }
    return box;
  }
  const why = a.state === "empty" ? "Not answered: the placeholder was left as the template had it."
    : "Not answered: the question is not in the notebook (deleted, or the file could not be read).";
  return el("div", {class: "box empty", id: "answer", text: `${why} Not graded until you say so: 0 gives it 0 ` +
    "points, Z gives 0 to every answer of this question not answered and not graded yet."});
}

function renderAnswer(view) {
  view.className = "";
  const q = question(), a = current();
  const graded = state.data.list.filter((x) => x.value !== "").length;
  view.append(studentList((x) => x.value !== ""));
  const card = el("section", {"aria-label": "Answer", id: "card"});
  card.append(el("h2", {text: `${a.student} `}, el("span", {class: "muted", text: `${a.label} · ${a.status}`})));
  card.append(el("p", {id: "progress", text: `${graded} of ${state.data.list.length} graded · ${q.name} ` +
    `(${points(q.points)}) · student ${state.index + 1} of ${state.data.list.length}` +
    (q.unanswered ? ` · ${q.unanswered} not answered and not graded` : "")}));
  if (state.showModel) {
    card.append(el("div", {class: "box"}, trusted(q.prompt)), el("div", {class: "box"}, trusted(q.model)));
  }
  card.append(answerBox(q, a));
  if (a.similar.length) {
    const alike = el("p", {class: "box flag", id: "alike"}, "Near-identical answers: ");
    a.similar.forEach((s) => alike.append(el("a", {
      href: "#", text: `${s.label} (${Math.round(s.similarity * 100)} % alike)`,
      onclick: (event) => { event.preventDefault(); jumpTo(s.other); },
    }), " "));
    card.append(alike);
  }
  const controls = el("div", {class: "controls", id: "controls"});
  const items = el("div", {class: `items${state.editing ? " editing" : ""}`, "aria-label": "Rubric items"});
  q.rubric.forEach((item, i) => {
    const button = el("button", {
      type: "button", class: "item", "aria-pressed": String(a.items.includes(item.id)), "data-item": item.id,
      text: `${i + 1} · ${points(item.points)} · ${item.text}${item.added ? " (added while grading)" : ""}`,
      onclick: () => toggle(i),
    });
    const input = el("input", {class: "points", type: "text", value: String(item.points), "data-item": item.id,
      "aria-label": `points of item ${i + 1}`});
    input.addEventListener("keydown", (event) => { if (event.key === "Enter") changePoints(item, input.value); });
    items.append(el("div", {}, button, input));
  });
  const newText = el("input", {id: "new-text", type: "text", placeholder: "new rubric item (+)", size: "40"});
  const newPoints = el("input", {id: "new-points", type: "text", placeholder: "points", size: "5"});
  for (const field of [newText, newPoints]) {
    field.addEventListener("keydown", (event) => { if (event.key === "Enter") addItem(newText.value, newPoints.value); });
  }
  items.append(el("p", {}, newText, " ", newPoints));
  controls.append(items);
  controls.append(scoreLine(q, a));
  if (a.problem) controls.append(el("p", {class: "box warn", text: a.problem}));
  if (!a.in_sheet) controls.append(el("p", {class: "box warn", text: "This submission has no row in manual_grades.csv."}));
  controls.append(commentBox("comment", `Comment on ${q.name} for the student (c; shown under this question on ` +
                             "their page):", a, q.name, "comment"));
  controls.append(commentBox("overall", "Overall comment for the student (o; at the end of their page):", a, "",
                             "overall"));
  card.append(controls);
  view.append(card);
  view.append(renderRun(a));
}

function scoreLine(q, a) {
  const score = el("input", {id: "score", type: "text", size: "5", value: a.value, "aria-label": "points (s)"});
  let discarded = false;
  const commit = () => {
    if (discarded) { discarded = false; return; }
    if (score.value.trim() !== a.value) typeValue(a, q, score.value);
  };
  score.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); commit(); score.dataset.saved = "1"; score.blur(); }
    else if (event.key === "Escape") {
      const typed = score.value;
      discarded = true;
      score.value = a.value;
      if (typed.trim() !== a.value) say(`Discarded: ${typed.trim() || "(empty)"} typed for ${a.student} was not saved.`, "error");
    }
  });
  score.addEventListener("blur", () => { if (score.dataset.saved) { delete score.dataset.saved; return; } commit(); });
  return el("p", {class: "score"}, `Points: ${a.value === "" ? "—" : a.value} / ${q.points} `, score);
}

function commentBox(id, label, a, questionName, key) {
  const box = el("textarea", {id, "aria-label": label});
  box.value = a[key];
  box.addEventListener("blur", () => saveComment(a, questionName, key, box.value));
  return el("div", {}, el("label", {for: id, text: label}), box);
}

function renderRun(a) {
  const panel = el("aside", {"aria-label": "The student's own run", id: "own-run"});
  panel.append(el("h3", {text: "The student's own run (from their notebook's saved outputs)"}));
  panel.append(el("p", {class: a.run.kind === "full" ? "" : "box warn", id: "run-verdict", text: a.run.verdict}));
  const table = el("table", {id: "run-numbers"});
  for (const [label, key] of [["Baseline", "baseline"], ["After fine-tuning", "finetune"], ["Improvement", "improvement"]]) {
    table.append(el("tr", {}, el("th", {text: label}), el("td", {text: a.run[key] || "not printed"})));
  }
  panel.append(table);
  const full = state.runs[a.submission];
  if (full) {
    if (full.lines.length) panel.append(el("pre", {text: full.lines.join("\n")}));
    full.figures.forEach((uri, i) => panel.append(el("img", {src: uri, alt: `The student's figure ${i + 1}`})));
  } else if (a.run.figures || a.run.kind !== "none") {
    get(`/api/run?submission=${encodeURIComponent(a.submission)}`).then((run) => {
      state.runs[a.submission] = run;
      const shown = document.getElementById("own-run");  // only the panel: a comment being typed stays as it is
      if (shown && current() && current().submission === a.submission && !onFlags()) shown.replaceWith(renderRun(a));
    }).catch((error) => say(error.message, "error"));
  }
  return panel;
}

function renderFlag(view) {
  view.className = "flags";
  const f = current();
  view.append(studentList((x) => x.decision !== ""));
  const card = el("section", {"aria-label": "Flagged submission"});
  card.append(el("h2", {text: `${f.student} `}, el("span", {class: "muted", text: f.label})));
  const now = {accepted: "Accepted: its automatic points count",
               rejected: "Rejected: its automatic points do not count; its discussion points do"}[f.decision] ||
              "Undecided: its points are held";
  card.append(el("p", {id: "flag-state", text: `${now} · ${f.score} / ${f.max_score} automatic points`}));
  card.append(el("p", {class: "box flag", text: f.message}));
  f.evidence.forEach((e) => card.append(el("div", {class: "box"},
    el("p", {}, el("strong", {text: `cell ${e.cell}, line ${e.line}`}), ` (${e.seen}): `, e.reason),
    el("pre", {text: e.code}),
    el("details", {}, el("summary", {text: "the whole cell"}), el("pre", {text: e.source})))));
  const note = el("textarea", {id: "note", "aria-label": "note for the record (c)"});
  note.value = f.draft;
  let timer = null;
  const keep = () => { clearTimeout(timer); timer = null; saveDraft(f, note.value); };
  note.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(keep, 600); });
  note.addEventListener("blur", keep);
  card.append(el("label", {for: "note", text: "Note for the record (kept as a draft until you decide):"}), note);
  card.append(el("p", {},
    el("button", {type: "button", id: "accept", text: "Accept (a)", onclick: () => decide("accept")}), " ",
    el("button", {type: "button", id: "reject", text: "Reject (r)", onclick: () => decide("reject")})));
  if (f.history.length) {
    const log = el("ul", {id: "flag-history"});
    f.history.forEach((h) => log.append(el("li", {text: `${h.at}: ${h.decision}${h.note ? ` — ${h.note}` : ""}`})));
    card.append(el("h3", {text: "Decisions so far"}), log);
  }
  view.append(card);
}

function renderCopies(view) {
  view.className = "flags";
  const g = current();
  const list = el("ol", {class: "students", "aria-label": "Groups"});
  state.data.list.forEach((x, i) => list.append(el("li", {
    class: x.decision ? "done" : "todo", "aria-current": String(i === state.index),
    text: x.members.map((m) => m.student).join(" · "), onclick: () => { state.index = i; render(); },
  })));
  view.append(list);
  const card = el("section", {"aria-label": "Possible copy"});
  const said = {copy: "Decided: a copy (for the record; no grade changes)", not: "Decided: not a copy"}[g.decision] ||
               "Undecided";
  card.append(el("h2", {text: `Possible copy: ${g.members.map((m) => m.student).join(", ")}`}));
  card.append(el("p", {id: "copy-state", text: `${said} · ${g.id}`}));
  const shared = el("ul", {id: "copy-evidence"});
  g.evidence.forEach((e) => shared.append(el("li", {text: `${e.text} (${e.members.join(", ")})`})));
  card.append(el("h3", {text: "What they share"}), shared);
  const side = el("div", {class: "pair"});
  g.members.forEach((m) => {
    const box = el("div", {class: "box"}, el("strong", {text: m.student}), el("p", {class: "muted", text: m.label}));
    const numbers = el("table", {});
    for (const [label, key] of [["Baseline", "baseline"], ["After fine-tuning", "finetune"], ["Improvement", "improvement"]]) {
      numbers.append(el("tr", {}, el("th", {text: label}), el("td", {text: m.numbers[key] || "not printed"})));
    }
    box.append(numbers, el("p", {class: "muted", text: m.verdict}));
    if (m.figure) box.append(el("img", {src: m.figure, alt: `${m.student}'s figure`}));
    side.append(box);
  });
  card.append(side);
  // a note typed and not yet saved with a decision stays with its group while the grader moves around
  const note = el("textarea", {id: "copy-note", "aria-label": "note for the record (c)"});
  note.value = state.copyNotes[g.id] || "";
  note.addEventListener("input", () => { state.copyNotes[g.id] = note.value; });
  card.append(el("label", {for: "copy-note", text: "Note for the record:"}), note);
  card.append(el("p", {},
    el("button", {type: "button", id: "not-a-copy", text: "Not a copy (1)", onclick: () => decideCopy("not")}), " ",
    el("button", {type: "button", id: "a-copy", text: "A copy (2)", onclick: () => decideCopy("copy")})));
  if (g.history.length) {
    const log = el("ul", {id: "copy-history"});
    g.history.forEach((h) => log.append(el("li", {text: `${h.at}: ${h.decision}${h.note ? ` — ${h.note}` : ""}`})));
    card.append(el("h3", {text: "Decisions so far"}), log);
  }
  if (state.data.notEvidence.length) {
    card.append(el("p", {class: "muted", text: `Not evidence: ${state.data.notEvidence.join("; ")}`}));
  }
  view.append(card);
}

// -- changes ----------------------------------------------------------------------------------------------------
function saved(a, q, result) {
  a.value = result.value; a.items = result.items; a.problem = "";
  say(`Saved: ${a.student}, ${q.name} = ${result.value || "(empty)"}`);
  refreshCounts();
}

function toggle(i) {
  const q = question(), a = current(), item = q.rubric[i];
  if (!item || !a) return;
  enqueue("items", () => {
    const items = a.items.includes(item.id) ? a.items.filter((x) => x !== item.id) : [...a.items, item.id];
    return {submission: a.submission, question: q.name, items, expected: a.value};
  }, (result) => saved(a, q, result), (payload) => `items ${payload.items.join(", ") || "(none)"}`);
}

function typeValue(a, q, text) {
  enqueue("value", () => ({submission: a.submission, question: q.name, value: text, expected: a.value}),
          (result) => saved(a, q, result), (payload) => payload.value);
}

function zeroOne() {
  const q = question(), a = current();
  if (a) typeValue(a, q, "0");
}

function zeroAll() {
  const q = question();
  const open = state.data.list.filter((x) => x.state !== "answered" && x.value === "");
  if (!open.length) { say("No answer of this question is both not answered and not graded."); return; }
  if (!window.confirm(`Give 0 points for ${q.name} to the ${open.length} student(s) who did not answer it ` +
                      `(${open.map((x) => x.student).join(", ")})?`)) { say("Nothing changed."); return; }
  enqueue("zero", () => ({question: q.name, submissions: open.map((x) => x.submission)}), (result) => {
    for (const x of open) if (result.zeroed.includes(x.submission)) { x.value = "0"; x.items = []; }
    say(`Saved: 0 for ${result.zeroed.length} unanswered; ${result.kept.length} were graded meanwhile and kept.`);
    refreshCounts();
  });
}

function saveComment(a, questionName, key, text) {
  if (!a || text === a[key]) return;
  enqueue("comment", () => (text === a[key] ? null
    : {submission: a.submission, question: questionName, comment: text, expected: a[key]}), (result) => {
    a[key] = result.comment;
    say(`Saved: ${a.student}'s ${questionName ? `comment on ${questionName}` : "overall comment"}`);
  }, (payload) => payload.comment);
}

function saveDraft(f, text) {
  if (text === f.draft) return;
  enqueue("draft", () => (text === f.draft ? null : {submission: f.submission, note: text}), (result) => {
    f.draft = result.draft;
    say(`Draft kept: ${f.student}'s note`);
  });
}

async function changePoints(item, text) {
  const q = question();
  await state.queue;
  try {
    const dry = await post("item-points", {question: q.name, item: item.id, points: text, confirm: false});
    const skipped = dry.skipped.length ? ` (${dry.skipped.length} typed by hand in the sheet stay as they are)` : "";
    if (!window.confirm(`Item "${item.text}" becomes ${text} points: this re-scores ${dry.affected} ` +
                        `student(s) who have it${skipped}. Go on?`)) { say("Nothing changed."); return; }
    const done = await post("item-points", {question: q.name, item: item.id, points: text, confirm: true});
    say(`Saved: the item is worth ${text} points; ${done.affected} student(s) re-scored.`);
    await load();
  } catch (error) {
    say(error.message, "error");
  }
}

async function addItem(text, pointsText) {
  const q = question();
  await enqueue("item-add", () => ({question: q.name, text, points: pointsText}), (item) => {
    say(`Added item ${item.id} to ${q.name}: ${item.text} (${points(item.points)})`);
  });
  await load();
}

async function decide(decision) {
  const f = current();
  const note = document.getElementById("note").value;
  await enqueue("flag", () => ({submission: f.submission, decision, note, expected: f.accept}), (result) => {
    f.accept = result.accept; f.decision = decision === "accept" ? "accepted" : "rejected";
    f.history = result.history; f.draft = "";
    say(`Saved: ${f.student} ${f.decision}`);
  }, (payload) => payload.decision);
  await load();
}

async function decideCopy(decision) {
  const g = current();
  if (!g) return;
  const note = document.getElementById("copy-note").value;
  await enqueue("copy", () => ({group: g.id, decision, note, expected: g.decision}), (result) => {
    g.decision = result.decision; g.history = result.history; delete state.copyNotes[g.id];
    say(`Saved: ${g.members.map((m) => m.student).join(", ")}: ${decision === "copy" ? "a copy" : "not a copy"}`);
  }, (payload) => payload.decision);
  await load();
}

function pendingText(pending) {
  const lines = [];
  for (const [name, who] of Object.entries(pending.blank)) {
    lines.push(`${name}: ${who.length} without points (${who.slice(0, 6).map((x) => x.student).join(", ")}` +
               `${who.length > 6 ? ", …" : ""})`);
  }
  if (pending.flags.length) lines.push(`${pending.flags.length} flagged, undecided: ${pending.flags.map((x) => x.student).join(", ")}`);
  if (pending.retry.length) lines.push(`${pending.retry.length} to grade again (retry): ${pending.retry.map((x) => x.student).join(", ")}`);
  if (pending.copies.length) lines.push(`${pending.copies.length} possible cop${pending.copies.length === 1 ? "y" : "ies"} ` +
    `not looked at (no grade depends on them): ${pending.copies.map((g) => g.map((x) => x.student).join(" · ")).join("; ")}`);
  return lines.join("\n");
}

async function publish() {
  await state.queue;
  say("Publishing…");
  try {
    let result = await post("publish", {confirm: false});
    if (!result.published) {
      if (!window.confirm(`Still undecided:\n${pendingText(result.pending)}\n\nTheir totals will be marked ` +
                          "incomplete or held, never counted as 0. Publish the gradebook and every page anyway?")) {
        say("Not published."); return;
      }
      result = await post("publish", {confirm: true});
    }
    say(`Published:\n${result.published}`);
  } catch (error) {
    say(error.message, "error");
  }
}

function refreshCounts() {
  question().graded = state.data.list.filter((x) => x.value !== "").length;
  question().unanswered = state.data.list.filter((x) => x.state !== "answered" && x.value === "").length;
  if (!typing()) render();
  else renderTabs();
}

function move(step) {
  if (!state.data.list.length) return;
  state.index = Math.max(0, Math.min(state.data.list.length - 1, state.index + step));
  render();
}

function nextOpen() {
  const list = state.data.list, open = (x) => (onFlags() || onCopies()) ? x.decision === "" : x.value === "";
  for (let step = 1; step <= list.length; step++) {
    const i = (state.index + step) % list.length;
    if (open(list[i])) { state.index = i; render(); return; }
  }
  say(onFlags() ? "Every flagged submission has a decision." : "Every student has points for this question.");
}

function jumpTo(submission) {
  const i = state.data.list.findIndex((x) => x.submission === submission);
  if (i >= 0) { state.index = i; render(); }
}

function switchTab(tab) {
  state.tab = (tab + TABS()) % TABS();
  state.index = 0;
  load(false);
}

async function showAll() {
  const a = current(), q = question();
  if (!a || !a.collapsed) return;
  const whole = await get(`/api/answer?submission=${encodeURIComponent(a.submission)}&question=${encodeURIComponent(q.name)}`);
  a.html = whole.html; a.collapsed = false;
  document.getElementById("answer").replaceWith(answerBox(q, a));
}

function toggleHelp(show) {
  const help = document.getElementById("help");
  help.hidden = show === undefined ? !help.hidden : !show;
}

function unsaved() {
  if (state.inflight > 0) return true;
  if (Object.values(state.copyNotes).some((note) => note !== "")) return true;
  const a = current();
  if (!a || !state.data) return false;
  if (onCopies()) return false;
  if (onFlags()) { const note = document.getElementById("note"); return !!note && note.value !== a.draft; }
  const score = document.getElementById("score"), comment = document.getElementById("comment"),
        overall = document.getElementById("overall");
  return (score && score.value.trim() !== a.value) || (comment && comment.value !== a.comment) ||
         (overall && overall.value !== a.overall);
}

window.addEventListener("beforeunload", (event) => {
  if (unsaved()) { event.preventDefault(); event.returnValue = "unsaved changes"; return "unsaved changes"; }
});

document.addEventListener("keydown", (event) => {
  const target = event.target;
  const inField = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement;
  if (event.key === "Escape") {
    toggleHelp(false);
    if (inField) target.blur();
    return;
  }
  if (inField) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && target instanceof HTMLTextAreaElement) target.blur();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key;
  const copiesTab = state.overview && onCopies();
  const flags = state.overview && (onFlags() || copiesTab);
  let handled = true;
  if (key === "?") toggleHelp();
  else if (!state.data) handled = false;
  else if ((key === "1" || key === "2") && copiesTab) decideCopy(key === "1" ? "not" : "copy");
  else if (/^[1-9]$/.test(key) && !flags) toggle(Number(key) - 1);
  else if (key === "0" && !flags) zeroOne();
  else if (key === "Z" && !flags) zeroAll();
  else if (["j", "ArrowDown", "ArrowRight"].includes(key)) move(1);
  else if (["k", "ArrowUp", "ArrowLeft"].includes(key)) move(-1);
  else if (key === "n") nextOpen();
  else if (key === "c") document.getElementById(copiesTab ? "copy-note" : flags ? "note" : "comment")?.focus();
  else if (key === "o" && !flags) document.getElementById("overall")?.focus();
  else if (key === "s" && !flags) document.getElementById("score")?.select();
  else if (key === "v" && !flags) showAll();
  else if (key === "e" && !flags) {
    state.editing = !state.editing;
    render();
    if (state.editing) document.querySelector("input.points")?.select();
  } else if (key === "+" && !flags) document.getElementById("new-text")?.focus();
  else if (key === "m" && !flags) { state.showModel = !state.showModel; render(); }
  else if (key === "]") switchTab(state.tab + 1);
  else if (key === "[") switchTab(state.tab - 1);
  else if (key === "f") switchTab(questions().length);
  else if (key === "C") switchTab(questions().length + 1);
  else if (key === "a" && flags && !copiesTab) decide("accept");
  else if (key === "r" && flags && !copiesTab) decide("reject");
  else if (key === "P") publish();
  else handled = false;
  if (handled) event.preventDefault();
});

// Submissions graded while the page is open join the list; nothing being typed is re-rendered away.
setInterval(async () => {
  if (!state.overview || typing() || state.inflight > 0) return;
  try {
    const overview = await get("/api/overview");
    if (overview.arrived.length !== state.arrived) await load();
  } catch (error) { /* the server may be restarting: the next poll tries again */ }
}, POLL_MS);

document.getElementById("publish").addEventListener("click", publish);
document.getElementById("help-button").addEventListener("click", () => toggleHelp());
load(false).catch((error) => say(error.message, "error"));
