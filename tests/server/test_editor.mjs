// The live editor in a real browser: Debian's Chromium (headless), driven by puppeteer-core
// (installed into data/npm by scripts/npm_packages.sh), against a real `sculpt serve` with the
// shipped models and a small retrieval index. Generates, watches refinement, accepts the edits,
// locks a word and rewrites around it, fills a gap, requires a phrase, continues, undoes and
// redoes, reloads and finds the document, exports it, types a malformed gap and gets one clear
// refusal with the document unchanged, then finds the server busy and then gone. No console errors on the way.
// Screenshots of each state go to SCREENSHOT_DIR (default: <binary dir>/test_artifacts/editor).
// Usage: node test_editor.mjs SCULPT_BINARY SOURCE_DIR [SCREENSHOT_DIR]   (exit 77: fixtures absent)
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [sculpt, source, shotsArg] = process.argv.slice(2).map((a) => a && path.resolve(a));
const npm = path.join(source, 'data/npm');
const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
if (!fs.existsSync(path.join(npm, 'node_modules/puppeteer-core/package.json')) || !chromium) {
  console.log('SKIP: puppeteer-core (scripts/npm_packages.sh) or chromium (scripts/setup.sh) is absent');
  process.exit(77);
}
const puppeteer = createRequire(path.join(npm, 'package.json'))('puppeteer-core');
const shots = shotsArg || path.join(path.dirname(sculpt), 'test_artifacts/editor');
fs.mkdirSync(shots, { recursive: true });

let failures = 0, passed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++;
  else { failures++; console.log(`FAIL ${name}${detail ? ': ' + detail : ''}`); }
}

// The server: shipped models, a two-document index, refinement that shows its steps.
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sculpt_editor_'));
fs.mkdirSync(path.join(work, 'corpus'));
fs.writeFileSync(path.join(work, 'corpus/jury.txt'), 'The jury said the election was conducted fairly and the city council agreed.\n');
fs.writeFileSync(path.join(work, 'corpus/budget.txt'), 'The governor spoke to the legislature about taxes and the school budget.\n');
const index = spawnSync(sculpt, ['index', 'build', '--corpus', path.join(work, 'corpus'), '--out', path.join(work, 'index.bm25')]);
if (index.status !== 0) { console.log('FAIL: index build\n' + index.stderr); process.exit(1); }
fs.writeFileSync(path.join(work, 'pipeline.yaml'), `runtime: {seed: 1}
pipeline: {drafter: ${source}/models/drafter, refiner: ${source}/models/refiner, index: ${work}/index.bm25, max_tokens: 32}
draft: {sampler: {temperature: 0.7, seed: 1}}
spans: {strategy: logprob, logprob_threshold: -3.0, max_fraction: 0.3}
refine: {steps: 6}
retrieval: {k: 2, inject: {budget_tokens: 48, max_passages: 1}}
`);
// One slot and no queue: a second request at once is refused as busy (503).
const server = spawn(sculpt, ['serve', '--config', path.join(work, 'pipeline.yaml'), '--port', '0', '--parallel', '1',
                              '--queue', '0']);
let log = '';
server.stderr.on('data', (d) => { log += d; });
let base = null;
for (const deadline = Date.now() + 120000; Date.now() < deadline && server.exitCode === null;) {
  const m = log.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
  if (m) {
    try { if ((await fetch(m[1] + '/health')).status === 200) { base = m[1]; break; } } catch {}
  }
  await new Promise((r) => setTimeout(r, 100));
}
if (!base) { console.log('FAIL: the server did not start\n' + log); server.kill('SIGKILL'); process.exit(1); }

const browser = await puppeteer.launch({
  executablePath: chromium, headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
});
const consoleErrors = [];
let expectNetworkErrors = false;  // the refused request and the stopped server log network errors, as they should
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on('console', (m) => {
    if (m.type() === 'error' && !(expectNetworkErrors && m.text().startsWith('Failed to load resource'))) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  const cdp = await page.createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: work });

  const tid = (id) => `[data-testid="${id}"]`;
  const text = () => page.evaluate(() => Array.from(document.querySelectorAll('#document [data-b]'))
    .filter((e) => e.dataset.atomic === undefined || e.classList.contains('gap')).map((e) => e.textContent).join(''));
  const status = () => page.$eval(tid('status'), (e) => `${e.className}: ${e.textContent}`);
  const shot = (name) => page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true });
  // Clicks and waits for the operation it starts to end (finished or refused).
  async function operate(id, during = async () => {}) {
    const before = await page.evaluate(() => Number(document.body.dataset.operations));
    await page.click(tid(id));
    await during();
    await page.waitForFunction((n) => Number(document.body.dataset.operations) > n && document.body.dataset.busy === 'false',
                               { timeout: 60000 }, before);
  }
  // Selects code points [b, e) of the document, as a user's mouse would.
  const select = (b, e) => page.evaluate((b, e) => {
    const point = (pos) => {
      for (const el of document.querySelectorAll('#document [data-b]')) {
        const start = Number(el.dataset.b), n = Number(el.dataset.n);
        if (el.dataset.atomic === undefined && el.firstChild && pos >= start && pos <= start + n)
          return [el.firstChild, Array.from(el.firstChild.data).slice(0, pos - start).join('').length];
      }
      throw new Error('no text at ' + pos);
    };
    document.querySelector('#document').focus();
    const range = document.createRange();
    range.setStart(...point(b));
    range.setEnd(...point(e));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
  }, b, e);
  const lockedText = () => page.$$eval('#document .locked', (els) => els.map((e) => e.textContent).join(''));
  const acceptAll = () => page.click(tid('accept-all'));

  // --- load: the settings come from the server's config
  await page.goto(base + '/', { waitUntil: 'networkidle0' });
  await page.waitForFunction(() => document.getElementById('model').textContent !== '');
  await page.click(tid('settings'));
  check('settings_from_server', await page.$eval(tid('setting-steps'), (e) => e.value) === '6' &&
        await page.$eval(tid('setting-mode'), (e) => e.value) === 'hybrid');

  // --- generate: the draft streams in tinted, spans are marked, masks fill in, edits wait
  await page.evaluate(() => {
    window.seen = { tinted: false, span: false, blank: false, fresh: false };
    new MutationObserver(() => {
      const d = document.getElementById('document');
      if (d.querySelector('.tok[title^="p ="]')) window.seen.tinted = true;
      if (d.querySelector('.span')) window.seen.span = true;
      if (d.querySelector('.blank')) window.seen.blank = true;
      if (d.querySelector('.fresh')) window.seen.fresh = true;
    }).observe(document.getElementById('document'), { childList: true, subtree: true });
  });
  await page.type(tid('prompt'), 'The jury said');
  await operate('generate', async () => {  // a moment of refinement, masks still blank
    await page.waitForSelector('#document .blank', { timeout: 60000 });
    await shot('1-refining');
  });
  await shot('1-generated');
  const seen = await page.evaluate(() => window.seen);
  check('generate_done', (await status()).startsWith('ok: Done'), await status());
  check('generate_streamed', seen.tinted && seen.span && seen.blank && seen.fresh, JSON.stringify(seen));
  const generated = await text();
  check('generate_text', generated.startsWith('The jury said') && generated.length > 20, generated);
  check('passages_shown', (await page.$$eval('#passages li', (l) => l.length)) > 0);
  const edits = await page.$$eval('#document ins', (l) => l.length);
  check('edits_pending', edits > 0, 'no edit to accept');
  await acceptAll();
  check('edits_accepted', (await page.$$eval('#document ins, #document del', (l) => l.length)) === 0 && (await text()) === generated);

  // --- lock "jury", then rewrite the rest: the lock holds
  await select(4, 8);
  await page.click(tid('lock'));
  check('lock_marked', (await lockedText()) === 'jury', await lockedText());
  const beforeRewrite = await text();
  await select(9, beforeRewrite.length);
  await operate('rewrite');
  await shot('2-rewritten');
  const rewritten = await text();
  check('rewrite_done', (await status()).startsWith('ok: Done'), await status());
  check('rewrite_keeps_lock', rewritten.startsWith('The jury ') && (await lockedText()) === 'jury', `${rewritten} | ${await lockedText()}`);
  await acceptAll();

  // --- a gap at the end of "The jury said", filled from both sides
  await select(13, 13);
  await page.$eval(tid('gap-tokens'), (e) => { e.value = '6'; });
  const beforeGap = await text();
  await operate('gap');
  await shot('3-gap-filled');
  const filled = await text();
  check('gap_filled', !filled.includes('[___') && filled.startsWith(beforeGap.slice(0, 12)) && filled.length > beforeGap.length,
        `${beforeGap} -> ${filled}`);
  check('gap_rest_unchanged', filled.endsWith(beforeGap.slice(13).trimStart()), `${beforeGap} -> ${filled}`);
  check('gap_keeps_lock', (await lockedText()) === 'jury');
  await acceptAll();

  // --- a required phrase, placed in a rewritten selection
  await page.type(tid('phrase'), 'city council');
  await page.click(tid('require'));
  const withPhrase = await text();
  await select(14, Math.min(withPhrase.length, 60));
  await operate('rewrite');
  check('require_placed', (await text()).includes('city council'), await text());
  await acceptAll();

  // --- continue, then undo and redo over the whole history
  const beforeContinue = await text();
  await operate('continue');
  await shot('4-continued');
  const continued = await text();
  check('continue_longer', continued.startsWith(beforeContinue) && continued.length > beforeContinue.length,
        `${beforeContinue} -> ${continued}`);
  await page.click(tid('undo'));
  check('undo', (await text()) === beforeContinue, await text());
  await page.click(tid('redo'));
  check('redo', (await text()) === continued, await text());
  await acceptAll();
  const kept = await text();
  check('history_keeps_lock', (await lockedText()) === 'jury', await lockedText());

  // --- reload: the document, its lock and the history are still there
  await page.reload({ waitUntil: 'networkidle0' });
  await page.waitForFunction(() => document.getElementById('model').textContent !== '');
  check('reload_document', (await text()) === kept, await text());
  check('reload_lock', (await lockedText()) === 'jury', await lockedText());
  check('reload_undo', await page.$eval(tid('undo'), (e) => !e.disabled));

  // --- from the keyboard: Alt+L locks the selection, and again unlocks it
  const altL = async () => { await page.keyboard.down('Alt'); await page.keyboard.press('KeyL'); await page.keyboard.up('Alt'); };
  await select(0, 3);
  await altL();
  check('keyboard_lock', (await lockedText()) === 'Thejury', await lockedText());
  await select(0, 3);
  await altL();
  check('keyboard_unlock', (await lockedText()) === 'jury', await lockedText());

  // --- export as text
  await page.click(tid('export'));
  const exported = path.join(work, 'document.txt');
  // The browser writes the download beside a temporary name and renames it when complete.
  for (let i = 0; i < 300 && !fs.existsSync(exported); i++) await new Promise((r) => setTimeout(r, 100));
  check('export_txt', fs.existsSync(exported) && fs.readFileSync(exported, 'utf8') === kept,
        fs.existsSync(exported) ? JSON.stringify(fs.readFileSync(exported, 'utf8')) : 'files: ' + fs.readdirSync(work).join(', '));

  // --- typing a malformed gap: one clear refusal, the document unchanged
  await select(kept.length, kept.length);
  await page.keyboard.type(' [___:x]');
  const typed = await text();
  check('typing', typed === kept + ' [___:x]', typed);
  expectNetworkErrors = true;
  await operate('rewrite');
  await shot('5-refused');
  check('bad_gap_message', /gap marker at \d+: expected \[___\] or \[___:N\]/.test(await status()), await status());
  check('bad_gap_document_kept', (await text()) === typed, await text());

  // --- dark theme
  await page.click(tid('theme'));
  check('dark', await page.evaluate(() => document.documentElement.dataset.theme) === 'dark');
  await shot('6-dark');

  // --- the server is busy with another client: a clear message, the document kept
  const hog = new AbortController();
  const hogResponse = await fetch(base + '/v1/completions', {
    method: 'POST', signal: hog.signal, headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt: 'The jury said', max_tokens: 1000, stream: true, sculpt: { mode: 'ar_only' } }),
  });
  const hogReader = hogResponse.body.getReader();
  await hogReader.read();  // it holds the only slot now
  await page.$eval(tid('prompt'), (e) => { e.value = 'The jury said'; });
  await operate('generate');
  check('busy_message', (await status()).includes('The server is busy'), await status());
  check('busy_document_kept', (await text()) === typed, await text());
  hog.abort();

  // --- the server goes away: a clear message, the document kept
  server.kill('SIGTERM');
  await new Promise((r) => (server.exitCode !== null ? r() : server.on('exit', r)));
  await operate('generate');
  check('unreachable_message', (await status()).includes('Cannot reach the server'), await status());
  check('unreachable_document_kept', (await text()) === typed, await text());
  await shot('7-unreachable');
  check('no_console_errors', consoleErrors.length === 0, consoleErrors.join(' | '));
} catch (e) {
  check('unexpected', false, e.stack);
} finally {
  await browser.close();
  if (server.exitCode === null) server.kill('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failures} failed; screenshots in ${shots}`);
process.exit(failures === 0 ? 0 : 1);
