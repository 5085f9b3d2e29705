// kit review: grade one discussion question at a time, every student in turn, with the keyboard alone.
// Every student string is put in the page as text; answers, prompts and rubrics arrive as HTML the server rendered
// from Markdown with raw HTML off. Every change is sent at once with the value this page showed, so a cell changed
// elsewhere is never overwritten: the server refuses, and the page reloads what is there now.
"use strict";

const TOKEN = document.querySelector('meta[name="review-token"]').content;
const state = {overview: null, tab: 0, data: null, index: 0, showModel: false, editing: false, runs: {}};

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
    throw error;
  }
  return body;
}

const get = (path) => call("GET", path);
const post = (what, payload) => call("POST", `/api/${what}`, payload);

function questions() { return state.overview.questions; }
function onFlags() { return state.tab === questions().length; }
function question() { return questions()[state.tab]; }
function current() { return state.data && state.data.list[state.index]; }
function points(n) { return `${n} pt${n === 1 ? "" : "s"}`; }

async function load(keep = true) {
  const who = keep && current() ? current().submission : null;
  state.overview = await get("/api/overview");
  if (onFlags()) {
    const flags = await get("/api/flags");
    state.data = {list: flags.flagged};
  } else {
    const data = await get(`/api/question/${encodeURIComponent(question().name)}`);
    state.data = {list: data.answers};
  }
  const found = who ? state.data.list.findIndex((a) => a.submission === who) : -1;
  state.index = found >= 0 ? found : Math.min(state.index, Math.max(0, state.data.list.length - 1));
  render();
}

async function save(what, payload, done) {
  try {
    const result = await post(what, payload);
    done(result);
    return result;
  } catch (error) {
    say(error.message, "error");
    if (error.status === 409 || error.status === 422) await load();
    say(error.message, "error");  // kept on screen after the reload
    return null;
  }
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
}

function studentList(done) {
  const list = el("ol", {class: "students", "aria-label": "Students"});
  state.data.list.forEach((a, i) => {
    const item = el("li", {
      class: done(a) ? "done" : "todo", "aria-current": String(i === state.index), text: a.student,
      title: a.submission, onclick: () => { state.index = i; render(); },
    });
    list.append(item);
  });
  return list;
}

function render() {
  renderTabs();
  const view = document.getElementById("view");
  view.replaceChildren();
  if (state.overview.stray.length) {
    say(`manual_grades.csv has rows for no graded submission: ${state.overview.stray.join(", ")}`, "error");
  }
  if (!state.data.list.length) {
    view.className = "";
    view.append(el("p", {class: "muted", text: onFlags() ? "No flagged submissions." : "No graded submissions."}));
    return;
  }
  if (onFlags()) renderFlag(view); else renderAnswer(view);
  const selected = view.querySelector('li[aria-current="true"]');
  if (selected) selected.scrollIntoView({block: "nearest"});
}

function renderAnswer(view) {
  view.className = "";
  const q = question(), a = current();
  const graded = state.data.list.filter((x) => x.value !== "").length;
  view.append(studentList((x) => x.value !== ""));
  const card = el("section", {"aria-label": "Answer"});
  card.append(el("h2", {text: `${a.student} `}, el("span", {class: "muted", text: `${a.submission} · ${a.status}`})));
  card.append(el("p", {id: "progress", text: `${graded} of ${state.data.list.length} graded · ${q.name} ` +
    `(${points(q.points)}) · student ${state.index + 1} of ${state.data.list.length}`}));
  if (state.showModel) {
    card.append(el("div", {class: "box"}, trusted(q.prompt)), el("div", {class: "box"}, trusted(q.model)));
  }
  if (a.state === "answered") card.append(el("div", {class: "box answer", id: "answer"}, trusted(a.html)));
  else card.append(el("div", {class: "box empty", id: "answer", text: a.state === "empty"
    ? "Empty: the placeholder was left as it was." : "No answer: the question is not in the notebook (deleted, or the file could not be read)."}));
  if (a.similar.length) {
    const alike = el("p", {class: "box flag"}, "Near-identical answers: ");
    a.similar.forEach((s) => alike.append(el("a", {
      href: "#", text: `${s.other} (${Math.round(s.similarity * 100)} % alike)`,
      onclick: (event) => { event.preventDefault(); jumpTo(s.other); },
    }), " "));
    card.append(alike);
  }
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
  card.append(items);
  const score = el("input", {id: "score", type: "text", size: "5", value: a.value, "aria-label": "points (s)"});
  score.addEventListener("keydown", (event) => { if (event.key === "Enter") typeValue(score.value); });
  card.append(el("p", {class: "score"}, `Points: ${a.value === "" ? "—" : a.value} / ${q.points} `, score));
  if (a.problem) card.append(el("p", {class: "box warn", text: a.problem}));
  if (!a.in_sheet) card.append(el("p", {class: "box warn", text: "This submission has no row in manual_grades.csv."}));
  const comment = el("textarea", {id: "comment", "aria-label": "comment for the student (c)"});
  comment.value = a.comment;
  comment.addEventListener("blur", () => saveComment(comment.value));
  card.append(el("label", {for: "comment", text: "Comment for the student (one per submission, on their page):"}), comment);
  view.append(card);
  view.append(renderRun(a));
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
  view.append(studentList((x) => x.history.length > 0));
  const card = el("section", {"aria-label": "Flagged submission"});
  card.append(el("h2", {text: `${f.student} `}, el("span", {class: "muted", text: f.submission})));
  card.append(el("p", {id: "flag-state", text: `${f.accepted ? "Accepted: its points count" : "Held: its points do not count yet"}` +
    ` · ${f.score} / ${f.max_score} automatic points`}));
  card.append(el("p", {class: "box flag", text: f.message}));
  f.evidence.forEach((e) => card.append(el("div", {class: "box"},
    el("p", {}, el("strong", {text: `cell ${e.cell}, line ${e.line}`}), ` (${e.seen}): `, e.reason),
    el("pre", {text: e.code}),
    el("details", {}, el("summary", {text: "the whole cell"}), el("pre", {text: e.source})))));
  const note = el("textarea", {id: "note", "aria-label": "note for the record (c)"});
  card.append(el("label", {for: "note", text: "Note for the record:"}), note);
  card.append(el("p", {},
    el("button", {type: "button", id: "accept", text: "Accept (a)", onclick: () => decide(true)}), " ",
    el("button", {type: "button", id: "hold", text: "Keep held (h)", onclick: () => decide(false)})));
  if (f.history.length) {
    const log = el("ul", {id: "flag-history"});
    f.history.forEach((h) => log.append(el("li", {text: `${h.at}: ${h.decision}${h.note ? ` — ${h.note}` : ""}`})));
    card.append(el("h3", {text: "Decisions so far"}), log);
  }
  view.append(card);
}

// -- changes ----------------------------------------------------------------------------------------------------
async function toggle(i) {
  const q = question(), a = current(), item = q.rubric[i];
  if (!item || !a) return;
  const items = a.items.includes(item.id) ? a.items.filter((x) => x !== item.id) : [...a.items, item.id];
  await save("items", {submission: a.submission, question: q.name, items, expected: a.value}, (result) => {
    a.value = result.value; a.items = result.items; a.problem = "";
    say(`Saved: ${a.student}, ${q.name} = ${result.value}`);
    refreshCounts();
  });
}

async function typeValue(text) {
  const q = question(), a = current();
  await save("value", {submission: a.submission, question: q.name, value: text, expected: a.value}, (result) => {
    a.value = result.value; a.items = result.items; a.problem = "";
    say(`Saved: ${a.student}, ${q.name} = ${result.value || "(empty)"}`);
    refreshCounts();
  });
}

async function saveComment(text) {
  const a = current();
  if (!a || onFlags() || text === a.comment) return;
  await save("comment", {submission: a.submission, comment: text, expected: a.comment}, (result) => {
    a.comment = result.comment;
    say(`Saved: ${a.student}'s comment`);
  });
}

async function changePoints(item, text) {
  const q = question();
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
  await save("item-add", {question: q.name, text, points: pointsText}, (item) => {
    say(`Added item ${item.id} to ${q.name}: ${item.text} (${points(item.points)})`);
  });
  await load();
}

async function decide(accept) {
  const f = current();
  const note = document.getElementById("note").value;
  await save("flag", {submission: f.submission, accept, note, expected: f.accept}, (result) => {
    f.accept = result.accept; f.accepted = accept; f.history = result.history;
    say(`Saved: ${f.student} ${accept ? "accepted" : "kept held"}`);
  });
  await load();
}

async function publish() {
  if (!window.confirm("Rebuild final_grades.csv and every student's page from manual_grades.csv?")) return;
  say("Publishing…");
  await save("publish", {}, (result) => say(`Published:\n${result.published}`));
}

function refreshCounts() {
  const graded = state.data.list.filter((x) => x.value !== "").length;
  question().graded = graded;
  render();
}

function move(step) {
  if (!state.data.list.length) return;
  state.index = Math.max(0, Math.min(state.data.list.length - 1, state.index + step));
  render();
}

function nextOpen() {
  const list = state.data.list, open = (x) => onFlags() ? !x.history.length : x.value === "";
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
  state.tab = (tab + questions().length + 1) % (questions().length + 1);
  state.index = 0;
  load(false);
}

function toggleHelp(show) {
  const help = document.getElementById("help");
  help.hidden = show === undefined ? !help.hidden : !show;
}

document.addEventListener("keydown", (event) => {
  const target = event.target;
  const typing = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement;
  if (event.key === "Escape") {
    toggleHelp(false);
    if (typing) target.blur();
    return;
  }
  if (typing) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && target instanceof HTMLTextAreaElement) target.blur();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key;
  const flags = state.overview && onFlags();
  let handled = true;
  if (key === "?") toggleHelp();
  else if (!state.data) handled = false;
  else if (/^[1-9]$/.test(key) && !flags) toggle(Number(key) - 1);
  else if (["j", "ArrowDown", "ArrowRight"].includes(key)) move(1);
  else if (["k", "ArrowUp", "ArrowLeft"].includes(key)) move(-1);
  else if (key === "n") nextOpen();
  else if (key === "c") document.getElementById(flags ? "note" : "comment")?.focus();
  else if (key === "s" && !flags) document.getElementById("score")?.select();
  else if (key === "e" && !flags) {
    state.editing = !state.editing;
    render();
    if (state.editing) document.querySelector("input.points")?.select();
  } else if (key === "+" && !flags) document.getElementById("new-text")?.focus();
  else if (key === "m" && !flags) { state.showModel = !state.showModel; render(); }
  else if (key === "]") switchTab(state.tab + 1);
  else if (key === "[") switchTab(state.tab - 1);
  else if (key === "f") switchTab(questions().length);
  else if (key === "a" && flags) decide(true);
  else if (key === "h" && flags) decide(false);
  else if (key === "P") publish();
  else handled = false;
  if (handled) event.preventDefault();
});

document.getElementById("publish").addEventListener("click", publish);
document.getElementById("help-button").addEventListener("click", () => toggleHelp());
load(false).catch((error) => say(error.message, "error"));
