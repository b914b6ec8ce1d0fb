// The live editor: a page over sculpt serve's HTTP API (docs/editor.md). The document is a list
// of segments (text with what the editor knows about it: the drafter's log-probability, a lock,
// a pending edit, masked positions); every server event goes through apply(), every change of
// state ends in render(), and the state lives in `state` alone (saved in localStorage).
// Positions are Unicode code points, as the API counts them.

const STORE = 'sculpt.editor.v1';
const HISTORY_LIMIT = 100;
const STEP_PAUSE_MS = 70;  // between refinement steps when animating, so a fast refiner can be watched

const $ = (id) => document.getElementById(id);
const cps = (s) => Array.from(s);
const cpLength = (s) => { let n = 0; for (const _ of s) n++; return n; };

// --- state -----------------------------------------------------------------------------------

const state = {
  segments: [],   // the document: {text, lp?, conf?, lock?, edit?: {old}, blank?: n, span?, gap?: n, fresh?}
  history: [],    // earlier documents (undo), newest last
  future: [],     // undone documents (redo)
  settings: {},   // the request settings the side panel shows (server defaults until changed)
  defaults: {},   // the server's, from GET /v1/models
  required: [],   // phrases the next rewrite, gap or continuation must place
  passages: [],   // injected by the last operation: {doc_id, score, text, stage}
  run: null,      // the operation streaming now: {kind, base, before, sent, abort, spanTokens, lastStep, queue}
  operations: 0,  // operations finished (or refused) since the page loaded; scripts wait on it
  status: {text: '', kind: ''},
  theme: '',
  model: '',
};

function save() {
  if (state.run) return;  // mid-run the document is the stream's; the one before is in history
  const {segments, history, future, settings, required, theme} = state;
  try {
    localStorage.setItem(STORE, JSON.stringify({segments, history, future, settings, required, theme}));
  } catch (e) {
    setStatus('The document could not be saved in this browser: ' + e.message, 'error');
  }
}

function restore() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORE) || 'null');
    if (saved) Object.assign(state, saved);
  } catch (_) { /* a damaged store starts afresh */ }
}

const clone = (segments) => segments.map((s) => ({...s, edit: s.edit ? {...s.edit} : undefined}));

function remember() {  // the document as it is, for undo
  state.history.push(clone(state.segments));
  if (state.history.length > HISTORY_LIMIT) state.history.shift();
  state.future = [];
}

function setStatus(text, kind = '') { state.status = {text, kind}; }

// --- the document as segments ----------------------------------------------------------------

const docText = (segments = state.segments) => segments.map((s) => s.text).join('');
const segLength = (s) => cpLength(s.text);

// The index of the first segment that starts at code point `pos`, splitting one that spans it.
function boundary(segments, pos) {
  let at = 0;
  for (let i = 0; i < segments.length; i++) {
    if (at === pos) return i;
    const n = segLength(segments[i]);
    if (pos < at + n) {
      const chars = cps(segments[i].text);
      const head = {...segments[i], text: chars.slice(0, pos - at).join('')};
      const tail = {...segments[i], text: chars.slice(pos - at).join('')};
      segments.splice(i, 1, head, tail);
      return i + 1;
    }
    at += n;
  }
  return segments.length;
}

// Replaces code points [begin, end) by `replacement` (segments); returns the index after it.
function replaceRange(segments, begin, end, replacement) {
  const i = boundary(segments, begin);
  const j = end > begin ? boundary(segments, end) : i;
  segments.splice(i, j - i, ...replacement);
  return i + replacement.length;
}

// Copies of the segments covering [begin, end).
function slice(segments, begin, end) {
  const copy = clone(segments);
  const i = boundary(copy, begin), j = boundary(copy, end);
  return copy.slice(i, j).filter((s) => s.text !== '');
}

function setAttribute(begin, end, name, value) {
  const i = boundary(state.segments, begin), j = boundary(state.segments, end);
  for (let k = i; k < j; k++) state.segments[k][name] = value;
}

function ranges(segments, predicate) {  // merged [begin, end) of the segments `predicate` holds for
  const out = [];
  let at = 0;
  for (const s of segments) {
    const n = segLength(s);
    if (predicate(s) && n > 0) {
      const last = out[out.length - 1];
      if (last && last[1] === at) last[1] = at + n;
      else out.push([at, at + n]);
    }
    at += n;
  }
  return out;
}

// The document after an edit the server made: unchanged text keeps what the editor knew of it
// (locks, tints, gaps not filled), each changed range becomes a pending edit with its old text.
function carry(before, text, edits) {
  const out = [];
  let oldAt = 0;
  const chars = cps(text);
  for (const e of [...edits].sort((a, b) => a.old_begin - b.old_begin)) {
    out.push(...slice(before, oldAt, e.old_begin));
    out.push({text: chars.slice(e.new_begin, e.new_end).join(''), edit: {old: e.old}});
    oldAt = e.old_end;
  }
  out.push(...slice(before, oldAt, cpLength(docText(before))));
  return docText(out) === text ? out : [{text}];  // never show a document the server did not return
}

// --- talking to the server -------------------------------------------------------------------

function headers() {
  const h = {'Content-Type': 'application/json'};
  if (state.settings.api_key) h.Authorization = 'Bearer ' + state.settings.api_key;
  return h;
}

// The request's "sculpt" object from the side panel.
function sculptSettings() {
  const s = state.settings;
  const out = {mode: s.mode, refine: {steps: Number(s.steps)}, spans: {max_fraction: Number(s.max_fraction)},
               retrieval: {enabled: !!s.retrieval}, stream_revisions: true};
  const forbid = forbidden();
  if (forbid.length) out.forbid = forbid;
  return out;
}
const forbidden = () => (state.settings.forbid || '').split('\n').map((p) => p.trim()).filter(Boolean);

async function errorMessage(response) {
  let message = '';
  try { message = (await response.json()).error.message; } catch (_) { /* not our JSON */ }
  if (response.status === 503) {
    const retry = response.headers.get('Retry-After');
    return 'The server is busy' + (message ? ': ' + message : '') + (retry ? ` Retry in ${retry} s.` : '');
  }
  if (response.status === 401) return 'The server needs an API key: set it in Settings.';
  return `Refused (${response.status}): ${message || response.statusText}`;
}

// Runs one streamed operation: POSTs `body` to `path` and applies each event as it arrives.
// `sent` is the document the request describes (the document itself, or it with a new gap);
// whatever happens, undo and a failure go back to the document as it was before.
async function stream(kind, path, body, base, sent = state.segments) {
  if (state.run) return;
  remember();
  const controller = new AbortController();
  state.run = {kind, base, before: clone(state.segments), sent: clone(sent), abort: controller, spanTokens: new Map(),
               lastStep: null, queue: [], pumping: false};
  state.passages = [];
  // A generation streams after its prompt; an edit gets the document back, then its revisions.
  state.segments = kind === 'generate' ? clone(sent) : [];
  setStatus(kind === 'generate' ? 'Drafting…' : 'Reading the text…');
  render();
  try {
    const response = await fetch(path, {method: 'POST', headers: headers(), body: JSON.stringify(body),
                                        signal: controller.signal});
    if (!response.ok) throw new Error(await errorMessage(response));
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] || '';
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (data !== undefined) await enqueue(event, data);
      }
    }
    await drain();
    if (state.run) throw new Error('The server ended the stream before it finished.');
  } catch (error) {
    if (!state.run) return;
    fail(error.name === 'AbortError' ? 'Stopped; the document is as it was.'
         : error instanceof TypeError ? 'Cannot reach the server (is sculpt serve running?): ' + error.message
         : error.message);
  }
}

// Events wait in a queue so refinement steps can be paced (Settings: animate).
function enqueue(event, data) {
  state.run.queue.push([event, data]);
  return state.run.pumping ? Promise.resolve() : drain();
}

async function drain() {
  const run = state.run;
  if (!run || run.pumping) return;
  run.pumping = true;
  while (run.queue.length && state.run === run) {
    const [event, data] = run.queue.shift();
    const pause = apply(event, data);
    schedule();
    if (pause && state.settings.animate) await new Promise((r) => setTimeout(r, STEP_PAUSE_MS));
  }
  run.pumping = false;
}

function fail(message) {
  const run = state.run;
  state.run = null;
  state.operations++;
  state.segments = run.before;  // a refused or broken operation leaves the document as it was
  state.history.pop();
  setStatus(message, 'error');
  render();
}

// Applies one server event to the state. Returns true when a reader should get a moment to see
// it (the spans just chosen, a new refinement step).
function apply(event, raw) {
  const run = state.run;
  if (raw === '[DONE]') return;
  const d = JSON.parse(raw);
  if (d.error) throw new Error(`Refused: ${d.error.message}`);
  const at = (p) => run.base + p;
  switch (event || d.object) {
    case 'text_completion': case 'chat.completion.chunk': {
      const choice = d.choices[0];
      if (!choice || !choice.text) return;
      const lp = choice.logprobs?.token_logprobs?.[0];
      state.segments.push({text: choice.text, lp: lp ?? undefined});
      return;
    }
    case 'sculpt.passages':
      state.passages.push(...d.passages.map((p) => ({...p, stage: d.stage})));
      return;
    case 'sculpt.spans':
      setStatus(`Refining ${d.spans.length} span${d.spans.length === 1 ? '' : 's'} (${d.strategy})…`);
      for (const s of d.spans) {
        run.spanTokens.set(`${s.begin}:${s.end}`, s.tokens);
        if (s.begin === s.end) replaceRange(state.segments, at(s.begin), at(s.end), [{text: '', blank: s.tokens}]);
        else setAttribute(at(s.begin), at(s.end), 'span', true);
      }
      return true;
    case 'sculpt.refine': {
      const newStep = d.step !== null && d.step !== run.lastStep;
      if (d.step !== null) run.lastStep = d.step;
      if (d.kind === 'mask') {
        replaceRange(state.segments, at(d.begin), at(d.end),
                     [{text: '', blank: run.spanTokens.get(`${d.begin}:${d.end}`) || 1}]);
      } else if (d.kind === 'remask') {
        replaceRange(state.segments, at(d.begin), at(d.end), [{text: '', blank: 1}]);
      } else {
        const next = replaceRange(state.segments, at(d.begin), at(d.end),
                                  [{text: d.new, conf: d.confidence ?? undefined, fresh: d.kind === 'fill'}]);
        const blank = state.segments[next];
        if (d.kind === 'fill' && blank && blank.blank) {
          if (--blank.blank === 0) state.segments.splice(next, 1);
        }
      }
      if (newStep) setStatus(`Refinement step ${d.step + 1}…`);
      return newStep;
    }
    case 'sculpt.done':
      finish(d);
      return;
  }
}

// The operation's end: masks the refiner left are dropped, its edits wait to be accepted.
function finish(done) {
  const run = state.run;
  state.run = null;
  state.operations++;
  const live = state.segments.filter((s) => !s.blank).map((s) => ({...s, span: undefined, fresh: undefined}));
  if (run.kind === 'generate') {
    state.segments = live;
    for (const e of [...done.edits].sort((a, b) => b.new_begin - a.new_begin)) {
      const b = run.base + e.new_begin, end = run.base + e.new_end;
      const text = cps(done.text).slice(e.new_begin, e.new_end).join('');
      replaceRange(state.segments, b, end, [{text, edit: {old: e.old}}]);
    }
    if (docText(state.segments) !== docText(run.sent) + done.text)
      state.segments = [...run.sent, {text: done.text}];
  } else {
    state.segments = carry(run.sent, done.text, done.edits);
  }
  const n = done.edits.length, t = done.timings;
  setStatus(`Done in ${t.seconds.toFixed(2)} s: ${n} edit${n === 1 ? '' : 's'}` +
            (t.tokens_drafted ? `, ${t.tokens_drafted} tokens drafted` : '') +
            (t.tokens_remasked ? `, ${t.tokens_remasked} re-masked` : '') + '.', 'ok');
  if (run.kind !== 'generate') state.required = [];
  save();
}

// --- operations ------------------------------------------------------------------------------

function generate() {
  const prompt = $('prompt').value;
  if (!prompt.trim()) return problem('Write a prompt first.');
  const s = state.settings;
  stream('generate', '/v1/completions', {
    prompt, max_tokens: Number(s.max_tokens), temperature: Number(s.temperature), stream: true, sculpt: sculptSettings(),
  }, cpLength(prompt), [{text: prompt}]);
}

function loadText() {
  const text = $('prompt').value;
  if (!text.trim()) return problem('Write or paste a text first.');
  remember();
  state.segments = [{text}];
  setStatus('The text is the document: select to rewrite, lock or make gaps.');
  save(); render();
}

// One request to /v1/refine over `sent` (the document, or it with a new gap), plus `fields`.
function refine(fields, label, sent = state.segments) {
  const text = docText(sent);
  if (!text.trim() && !fields.continue) return problem('The document is empty: generate or load a text first.');
  const {mode, stream_revisions, forbid, ...sculpt} = sculptSettings();
  const body = {text, lock: ranges(sent, (s) => s.lock), require: state.required, forbid: forbidden(), stream: true,
                sculpt: {...sculpt, mode: mode === 'ar_only' ? 'hybrid' : mode}, ...fields};
  setStatus(label);
  stream('refine', '/v1/refine', body, 0, sent);
}

function rewrite() {
  const [b, e] = selection();
  if (b === e) return refine({}, 'Finding what to fix…');
  refine({rewrite: [[b, e]]}, 'Rewriting the selection…');
}

function lock() {
  const [b, e] = selection();
  if (b === e) return problem('Select the text to lock.');
  remember();
  const all = ranges(state.segments, (s) => s.lock).some(([lb, le]) => lb <= b && e <= le);
  setAttribute(b, e, 'lock', all ? undefined : true);
  setStatus(all ? 'Unlocked.' : 'Locked: no operation will change it.', 'ok');
  save(); render();
}

function gap() {
  const n = Number($('gap-tokens').value);
  if (!(n >= 1 && n <= 1024)) return problem('A gap is 1 to 1024 tokens.');
  const [b, e] = selection();
  const sent = clone(state.segments);
  replaceRange(sent, b, e, [{text: `[___:${n}]`, gap: n}]);
  refine({}, 'Filling the gap…', sent);
}

function continueText() {
  refine({continue: Number(state.settings.max_tokens)}, 'Continuing…');
}

function requirePhrase() {
  const phrase = $('phrase').value.trim();
  if (!phrase) return problem('Write the phrase to require.');
  if (!state.required.includes(phrase)) state.required.push(phrase);
  $('phrase').value = '';
  setStatus(`"${phrase}" will be placed by the next rewrite, gap or continuation.`);
  save(); render();
}

function decide(index, accept) {  // accept or reject the pending edit of segment `index`
  const s = state.segments[index];
  if (!s || !s.edit) return;
  remember();
  state.segments[index] = accept ? {text: s.text} : {text: s.edit.old};
  save(); render();
}

function decideAll(accept) {
  if (!state.segments.some((s) => s.edit)) return;
  remember();
  state.segments = state.segments.map((s) => (s.edit ? {text: accept ? s.text : s.edit.old} : s));
  save(); render();
}

function undo() {
  if (state.run || !state.history.length) return;
  state.future.push(clone(state.segments));
  state.segments = state.history.pop();
  save(); render();
}

function redo() {
  if (state.run || !state.future.length) return;
  state.history.push(clone(state.segments));
  state.segments = state.future.pop();
  save(); render();
}

function download(name, text, type) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], {type}));
  a.download = name;
  a.click();
  // The browser reads the blob after click() returns, later on a loaded machine: revoke it only
  // once the download has surely been taken.
  setTimeout(() => URL.revokeObjectURL(a.href), 60000);
}

// Markdown that reads as the text does: characters Markdown would take as syntax are escaped.
const markdown = (text) => text.replace(/([\\`*_{}\[\]()#+\-.!|>~<])/g, '\\$1');

function problem(message) { setStatus(message, 'error'); render(); }

// --- typing in the document ------------------------------------------------------------------

let typingAt = 0;
function onBeforeInput(event) {
  event.preventDefault();  // the state changes, then render() shows it
  if (state.run) return;
  let [b, e] = selection();
  let text = '';
  switch (event.inputType) {
    case 'insertText': case 'insertReplacementText': text = event.data ?? event.dataTransfer?.getData('text/plain') ?? ''; break;
    case 'insertParagraph': case 'insertLineBreak': text = '\n'; break;
    case 'insertFromPaste': case 'insertFromDrop': text = event.dataTransfer?.getData('text/plain') ?? ''; break;
    case 'deleteContentBackward': if (b === e && b > 0) b -= 1; break;
    case 'deleteContentForward': if (b === e) e += 1; break;
    case 'deleteByCut': case 'deleteContent': case 'deleteWordBackward': case 'deleteWordForward': break;
    default: return;
  }
  e = Math.min(e, cpLength(docText()));
  if (b === e && !text) return;
  if (Date.now() - typingAt > 1000) remember();  // a burst of typing is one undo step
  typingAt = Date.now();
  replaceRange(state.segments, b, e, text ? [{text}] : []);
  state.segments = state.segments.filter((s) => s.text !== '' || s.blank);
  save(); render();
  placeCaret(b + cpLength(text));
}

// --- selection in code points ----------------------------------------------------------------

function pointOffset(node, offset) {
  const root = $('document');
  if (node === root) {
    const child = root.childNodes[offset];
    return child ? Number(child.dataset.b) : cpLength(docText());
  }
  let el = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
  while (el && el !== root && el.dataset.b === undefined) el = el.parentElement;
  if (!el || el === root) return 0;
  const b = Number(el.dataset.b);
  if (el.dataset.atomic !== undefined) return offset > 0 && node === el ? b + Number(el.dataset.n) : b;
  if (node.nodeType === Node.TEXT_NODE && node.parentElement === el) return b + cpLength(node.data.slice(0, offset));
  return b + (offset > 0 ? Number(el.dataset.n) : 0);
}

function selection() {
  const sel = window.getSelection();
  const root = $('document');
  if (!sel.rangeCount || !root.contains(sel.anchorNode)) return [cpLength(docText()), cpLength(docText())];
  const range = sel.getRangeAt(0);
  const a = pointOffset(range.startContainer, range.startOffset), b = pointOffset(range.endContainer, range.endOffset);
  return [Math.min(a, b), Math.max(a, b)];
}

function placeCaret(pos) {
  const root = $('document');
  for (const el of root.querySelectorAll('[data-b]')) {
    const b = Number(el.dataset.b), n = Number(el.dataset.n);
    if (el.dataset.atomic === undefined && pos >= b && pos <= b + n && el.firstChild) {
      const chars = cps(el.firstChild.data);
      const range = document.createRange();
      range.setStart(el.firstChild, chars.slice(0, pos - b).join('').length);
      range.collapse(true);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      return;
    }
  }
}

// --- rendering -------------------------------------------------------------------------------

let scheduled = false;
function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => { scheduled = false; render(); });
}

function tint(s) {
  if (s.lp !== undefined) return `hsla(var(--low), ${(0.6 * (1 - Math.exp(s.lp))).toFixed(2)})`;
  if (s.conf !== undefined) return `hsla(var(--fill), ${(0.5 * (1 - s.conf)).toFixed(2)})`;
  return '';
}

function segmentElement(s, index, begin) {
  const n = segLength(s);
  const el = document.createElement('span');
  el.dataset.b = begin;
  el.dataset.n = n;
  if (s.blank) {
    el.className = 'blank';
    el.dataset.atomic = '';
    el.contentEditable = 'false';
    el.textContent = '▁'.repeat(Math.min(s.blank, 64));
    el.title = `${s.blank} masked position${s.blank === 1 ? '' : 's'}`;
    return el;
  }
  if (s.gap) {
    el.className = 'gap';
    el.dataset.atomic = '';
    el.contentEditable = 'false';
    el.textContent = s.text;
    el.title = `a gap of about ${s.gap} tokens`;
    return el;
  }
  if (s.edit) {
    const wrap = document.createElement('span');
    wrap.className = 'edit';
    if (s.edit.old) {
      const del = document.createElement('del');
      del.contentEditable = 'false';
      del.textContent = s.edit.old;
      wrap.append(del);
    }
    const ins = document.createElement('ins');
    ins.dataset.b = begin;
    ins.dataset.n = n;
    ins.textContent = s.text;
    if (s.lock) ins.classList.add('locked');
    wrap.append(ins);
    for (const [label, accept, title] of [['✓', true, 'Accept this edit'], ['✗', false, 'Reject this edit']]) {
      const button = document.createElement('button');
      button.className = 'choice';
      button.contentEditable = 'false';
      button.textContent = label;
      button.title = title;
      button.dataset.testid = accept ? 'accept' : 'reject';
      button.setAttribute('aria-label', `${title}: "${s.edit.old}" → "${s.text}"`);
      button.addEventListener('click', () => decide(index, accept));
      wrap.append(button);
    }
    return wrap;
  }
  el.className = 'tok' + (s.lock ? ' locked' : '') + (s.span ? ' span' : '') + (s.fresh ? ' fresh' : '');
  const background = s.span || s.lock ? '' : tint(s);
  if (background) el.style.background = background;
  if (s.lp !== undefined) el.title = `p = ${Math.exp(s.lp).toFixed(2)} (drafter)`;
  else if (s.conf !== undefined) el.title = `confidence ${s.conf.toFixed(2)} (refiner)`;
  el.textContent = s.text;
  return el;
}

function render() {
  const root = $('document');
  const hadFocus = document.activeElement === root;
  const [selB, selE] = hadFocus ? selection() : [0, 0];
  const children = [];
  let at = 0;
  state.segments.forEach((s, i) => {
    if (s.text === '' && !s.blank && !s.edit) return;
    children.push(segmentElement(s, i, at));
    at += segLength(s);
  });
  root.replaceChildren(...children);
  root.classList.toggle('running', !!state.run);
  root.contentEditable = state.run ? 'false' : 'true';
  if (hadFocus && !state.run && selB === selE) placeCaret(selB);

  const status = $('status');
  status.textContent = state.status.text;
  status.className = state.status.kind;
  const busy = !!state.run;
  for (const id of ['generate', 'load', 'rewrite', 'lock', 'gap', 'continue', 'accept-all', 'reject-all'])
    $(id).disabled = busy;
  $('stop').disabled = !busy;
  $('undo').disabled = busy || !state.history.length;
  $('redo').disabled = busy || !state.future.length;

  $('required').replaceChildren(...state.required.map((phrase, i) => {
    const chip = document.createElement('span');
    chip.className = 'chip';
    chip.textContent = phrase;
    const remove = document.createElement('button');
    remove.textContent = '×';
    remove.setAttribute('aria-label', `Do not require "${phrase}"`);
    remove.addEventListener('click', () => { state.required.splice(i, 1); save(); render(); });
    chip.append(remove);
    return chip;
  }));
  $('passages').replaceChildren(...state.passages.map((p) => {
    const li = document.createElement('li');
    const head = document.createElement('div');
    head.innerHTML = '<b></b> <span class="score"></span>';
    head.querySelector('b').textContent = p.doc_id;
    head.querySelector('.score').textContent = `score ${p.score.toFixed(3)} · ${p.stage.replace('retrieve_', 'for the ')}`;
    const body = document.createElement('div');
    body.textContent = p.text;
    li.append(head, body);
    return li;
  }));
  document.documentElement.dataset.theme = state.theme;
  document.body.dataset.busy = String(busy);  // for scripts driving the page
  document.body.dataset.operations = String(state.operations);
  $('model').textContent = state.model;
}

// --- settings --------------------------------------------------------------------------------

function showSettings() {
  const form = $('settings-form');
  const s = state.settings;
  form.mode.value = s.mode;
  form.max_tokens.value = s.max_tokens;
  form.steps.value = s.steps;
  form.max_fraction.value = s.max_fraction;
  form.temperature.value = s.temperature;
  form.retrieval.checked = !!s.retrieval;
  form.animate.checked = !!s.animate;
  form.forbid.value = s.forbid || '';
  form.api_key.value = s.api_key || '';
}

function readSettings() {
  const form = $('settings-form');
  Object.assign(state.settings, {
    mode: form.mode.value, max_tokens: Number(form.max_tokens.value), steps: Number(form.steps.value),
    max_fraction: Number(form.max_fraction.value), temperature: Number(form.temperature.value),
    retrieval: form.retrieval.checked, animate: form.animate.checked, forbid: form.forbid.value, api_key: form.api_key.value,
  });
  save();
}

// The served model and its settings; the panel starts from them.
async function loadDefaults() {
  try {
    const response = await fetch('/v1/models', {headers: headers()});
    if (!response.ok) throw new Error(await errorMessage(response));
    const model = (await response.json()).data[0];
    const d = model.sculpt;
    if (!d) throw new Error('The server is still loading its models; reload in a moment.');
    state.model = model.id;
    state.defaults = {mode: d.mode, max_tokens: Math.min(d.max_tokens, 256), steps: d.refine.steps,
                      max_fraction: d.spans.max_fraction, temperature: d.draft.sampler.temperature,
                      retrieval: d.retrieval.enabled, animate: true, forbid: ''};
    state.settings = {...state.defaults, ...state.settings};
  } catch (error) {
    setStatus(error instanceof TypeError ? 'Cannot reach the server (is sculpt serve running?)' : error.message, 'error');
    state.settings = {mode: 'hybrid', max_tokens: 48, steps: 8, max_fraction: 0.3, temperature: 0.7, retrieval: true,
                      animate: true, forbid: '', ...state.settings};
  }
  showSettings();
  render();
}

// --- wiring ----------------------------------------------------------------------------------

function wire() {
  const on = (id, f) => $(id).addEventListener('click', f);
  on('generate', generate);
  on('load', loadText);
  on('rewrite', rewrite);
  on('lock', lock);
  on('gap', gap);
  on('continue', continueText);
  on('require', requirePhrase);
  on('accept-all', () => decideAll(true));
  on('reject-all', () => decideAll(false));
  on('undo', undo);
  on('redo', redo);
  on('stop', () => state.run?.abort.abort());
  on('export', () => download('document.txt', docText(), 'text/plain'));
  on('export-md', () => download('document.md', markdown(docText()) + '\n', 'text/markdown'));
  on('theme', () => {
    const dark = (state.theme || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light')) === 'dark';
    state.theme = dark ? 'light' : 'dark';
    save(); render();
  });
  on('settings-toggle', () => {
    const side = $('side');
    side.hidden = !side.hidden;
    $('settings-toggle').setAttribute('aria-expanded', String(!side.hidden));
  });
  on('defaults', () => { state.settings = {...state.defaults, api_key: state.settings.api_key}; showSettings(); save(); });
  $('settings-form').addEventListener('change', readSettings);
  $('phrase').addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); requirePhrase(); } });
  $('document').addEventListener('beforeinput', onBeforeInput);
  document.addEventListener('keydown', (e) => {
    const inField = ['INPUT', 'TEXTAREA', 'SELECT'].includes(document.activeElement?.tagName);
    if (e.key === 'Escape' && state.run) state.run.abort.abort();
    else if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') generate();
    else if (e.altKey && !e.ctrlKey) {
      const action = {KeyR: rewrite, KeyL: lock, KeyG: gap, KeyC: continueText}[e.code];  // code: Alt changes e.key on macOS
      if (!action) return;
      action();
    } else if ((e.ctrlKey || e.metaKey) && !inField && (e.key === 'z' || e.key === 'Z' || e.key === 'y')) {
      if (e.key === 'y' || e.shiftKey) redo(); else undo();
    } else return;
    e.preventDefault();
  });
  window.addEventListener('storage', (e) => { if (e.key === STORE && !state.run) { restore(); showSettings(); render(); } });
}

restore();
state.run = null;
wire();
render();
loadDefaults();
