#!/usr/bin/env bash
# `sculpt serve` end to end: a real server on a free loopback port with the shipped default
# models, driven with curl: health and models, completions (JSON and Server-Sent Events, with
# and without revisions), /v1/refine, metrics, the API key, errors, a full queue, a client that
# leaves, a deadline, and SIGTERM.
# Usage: test_serve.sh SCULPT_BINARY SOURCE_DIR
set -uo pipefail
sculpt=$1 source=$2
work=$(mktemp -d /tmp/sculpt_serve_XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
failures=0 passed=0
fail() { echo "FAIL $1: $2"; failures=$((failures + 1)); }
pass() { passed=$((passed + 1)); }
check() { if eval "$2"; then pass; else fail "$1" "${3:-$2}"; fi; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

mkdir -p "$work/corpus"
printf 'The jury said the election was conducted fairly and the city council agreed.\n' >"$work/corpus/a.txt"
printf 'The governor spoke to the legislature about taxes and the new school budget.\n' >"$work/corpus/b.txt"
"$sculpt" index build --corpus "$work/corpus" --out "$work/index.bm25" >/dev/null 2>&1 || { echo "FAIL: index build"; exit 1; }
cat >"$work/pipeline.yaml" <<YAML
runtime: {seed: 1}
pipeline: {drafter: $source/models/drafter, refiner: $source/models/refiner, index: $work/index.bm25, max_tokens: 24}
draft: {sampler: {temperature: 0.7, seed: 1}}
spans: {strategy: logprob, logprob_threshold: -3.0, max_fraction: 0.3}
refine: {steps: 6, cache: spans}
retrieval: {k: 2, inject: {budget_tokens: 48, max_passages: 1}}
YAML

# start NAME ARGS...: a server in the background; sets $url once /health says 200.
start() {
  local name=$1; shift
  "$sculpt" serve --config "$work/pipeline.yaml" --port 0 "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  server_pid=$!
  for _ in $(seq 1 300); do
    port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$work/$name.log" | grep -o '[0-9]*$')
    [ -n "$port" ] && curl -s "http://127.0.0.1:$port/health" | grep -q '"ok"' && break
    sleep 0.1
  done
  url="http://127.0.0.1:$port"
  [ -n "$port" ] || { echo "FAIL: server $name did not start"; cat "$work/$name.log"; exit 1; }
}

start main --parallel 2
# --- health, models, a completion
check health '[ "$(curl -s $url/health)" = "{\"status\":\"ok\"}" ]'
check models '[ "$(curl -s $url/v1/models | json "d[\"data\"][0][\"id\"]")" = pipeline ]'
body='{"model": "pipeline", "prompt": "The jury said", "max_tokens": 20, "seed": 5, "temperature": 0.8}'
curl -s "$url/v1/completions" -d "$body" >"$work/c1.json"
check completion_text '[ -n "$(json "d[\"choices\"][0][\"text\"]" <"$work/c1.json")" ]'
check completion_usage '[ "$(json "d[\"usage\"][\"completion_tokens\"] + d[\"usage\"][\"prompt_tokens\"] == d[\"usage\"][\"total_tokens\"] and d[\"usage\"][\"completion_tokens\"] <= 20" <"$work/c1.json")" = True ]'
check completion_timings '[ "$(json "\",\".join(sorted(d[\"timings\"][\"stages\"]))" <"$work/c1.json")" = draft,refine,retrieve_draft,retrieve_prompt,select_spans ]'
curl -s "$url/v1/completions" -d "$body" >"$work/c2.json"
check same_seed_same_text 'cmp -s <(json "d[\"choices\"][0][\"text\"]" <"$work/c1.json") <(json "d[\"choices\"][0][\"text\"]" <"$work/c2.json")'

# --- Server-Sent Events: framing, the final text, revisions that rebuild it
sse_text() {  # text of an SSE stream on stdin, revisions applied; checks the framing on the way
  python3 -c '
import json, sys
raw = sys.stdin.read()
assert raw.endswith("data: [DONE]\n\n"), "does not end with [DONE]"
text, done = "", None
for block in raw[:-2].split("\n\n"):
    lines = block.split("\n")
    event = lines[0][7:] if lines[0].startswith("event: ") else ""
    data = lines[-1]
    assert data.startswith("data: "), "bad line: " + data
    if data == "data: [DONE]": continue
    d = json.loads(data[6:])
    if event == "":
        assert d["object"] == "text_completion" and len(d["choices"]) == 1
        text += d["choices"][0]["text"]
    elif event == "sculpt.refine":
        cps = list(text)
        text = "".join(cps[:d["begin"]]) + d["new"] + "".join(cps[d["end"]:])
    elif event == "sculpt.done":
        done = d["text"]
assert done is None or done == text, "sculpt.done %r != applied %r" % (done, text)
print(text)'
}
stream_body='{"prompt": "The jury said", "max_tokens": 20, "seed": 5, "temperature": 0.8, "stream": true'
curl -sN -D "$work/h.txt" "$url/v1/completions" -d "$stream_body}" >"$work/s1.txt"
check sse_content_type 'grep -qi "^content-type: text/event-stream" "$work/h.txt"'
check sse_final_text 'cmp -s <(sse_text <"$work/s1.txt") <(json "d[\"choices\"][0][\"text\"]" <"$work/c1.json")' "the streamed text is not the completion's"
curl -sN "$url/v1/completions" -d "$stream_body, \"sculpt\": {\"stream_revisions\": true}}" >"$work/s2.txt"
check sse_revisions_sent 'grep -q "^event: sculpt.refine" "$work/s2.txt"'
check sse_revisions_rebuild 'cmp -s <(sse_text <"$work/s2.txt") <(json "d[\"choices\"][0][\"text\"]" <"$work/c1.json")' "revisions applied to the draft do not give the final text"
# The draft's text arrives before the first revision.
check sse_draft_first '[ "$(grep -m1 -E "^event: sculpt.refine|^data: \{\"choices\".*\"text\":\"[^\"]" "$work/s2.txt" | cut -c1-6)" = "data: " ]'
curl -sN "$url/v1/completions" -d "$stream_body, \"stream_options\": {\"include_usage\": true}}" >"$work/s3.txt"
check sse_usage 'grep -q "\"usage\":{\"completion_tokens\"" "$work/s3.txt"'
curl -sN "$url/v1/completions" -d '{"prompt": "The jury said", "max_tokens": 6, "stream": true, "sculpt": {"mode": "ar_only"}}' >"$work/s4.txt"
check sse_ar_only_token_by_token '[ "$(grep -c "^data: {" "$work/s4.txt")" -ge 6 ]'

# --- editing over HTTP
curl -s "$url/v1/refine" -d '{"text": "The jury said that the city has a defensive bill on the year.", "rewrite": [[33, 42]]}' >"$work/r.json"
check refine_text '[ -n "$(json "d[\"text\"]" <"$work/r.json")" ]'
check refine_object '[ "$(json "d[\"object\"]" <"$work/r.json")" = refinement ]'
check refine_edits_inside '[ "$(json "all(e[\"old_begin\"] >= 30 and e[\"old_end\"] <= 48 for e in d[\"edits\"])" <"$work/r.json")" = True ]'
# The editing operations: a gap filled, a lock and a required phrase kept byte for byte, the
# rest of the text unchanged, a forbidden phrase (the text's own) gone.
curl -s "$url/v1/refine" -d '{"text": "The jury said [___:6] the council agreed.", "lock": [[0, 8]], "require": ["election"], "forbid": ["council"]}' >"$work/r2.json"
check refine_ops_text '[ "$(json "d[\"text\"].startswith(\"The jury said \") and \"election\" in d[\"text\"] and \"[___\" not in d[\"text\"] and \"council\" not in d[\"text\"].lower()" <"$work/r2.json")" = True ]' "$(cat "$work/r2.json")"
curl -s "$url/v1/refine" -d '{"text": "The jury said [___:6]. The council agreed."}' >"$work/r3.json"
check refine_gap_rest_unchanged '[ "$(json "d[\"text\"].startswith(\"The jury said\") and d[\"text\"].endswith(\". The council agreed.\")" <"$work/r3.json")" = True ]'
curl -s "$url/v1/refine" -d '{"text": "The jury said the election was fair.", "continue": 8}' >"$work/r4.json"
check refine_continue '[ "$(json "d[\"text\"].startswith(\"The jury said the election was fair.\") and len(d[\"text\"]) > 37" <"$work/r4.json")" = True ]'
# Streamed: the revisions applied to the streamed text give the answer's text.
curl -sN "$url/v1/refine" -d '{"text": "The jury said [___:6] the council agreed.", "lock": [[0, 8]], "stream": true}' >"$work/r5.txt"
check refine_stream_done 'grep -q "^event: sculpt.done" "$work/r5.txt" && [ "$(tail -2 "$work/r5.txt" | head -1)" = "data: [DONE]" ]'
check refine_stream_rebuild '[ "$(sse_text <"$work/r5.txt" | cut -c1-8)" = "The jury" ]' "revisions applied to the streamed text do not give sculpt.done's text"
check refine_bad_gap '[ "$(curl -s -o /dev/null -w %{http_code} "$url/v1/refine" -d "{\"text\": \"a [___:x] b\"}")" = 400 ]'
check refine_lock_overlap '[ "$(curl -s "$url/v1/refine" -d "{\"text\": \"The jury said.\", \"lock\": [[0, 8]], \"rewrite\": [[4, 12]]}" | json "d[\"error\"][\"message\"]")" = "lock[0] 0:8: overlaps rewrite[0] 4:12: text cannot be both kept and rewritten" ]'
check refine_outside_range '[ "$(curl -s -o /dev/null -w %{http_code} "$url/v1/refine" -d "{\"text\": \"short\", \"rewrite\": [[2, 99]]}")" = 400 ]'

# --- errors: status and OpenAI's shape
err() {  # err NAME STATUS TYPE [curl args...]
  local name=$1 status=$2 type=$3; shift 3
  local got
  got=$(curl -s -o "$work/e.json" -w '%{http_code}' "$@")
  if [ "$got" = "$status" ] && [ "$(json "d[\"error\"][\"type\"]" <"$work/e.json")" = "$type" ]; then pass
  else fail "$name" "wanted $status $type, got $got $(cat "$work/e.json")"; fi
}
err malformed_json 400 invalid_request_error "$url/v1/completions" -d '{"prompt": '
err wrong_type 400 invalid_request_error "$url/v1/completions" -d '{"prompt": "x", "max_tokens": "ten"}'
err out_of_range 400 invalid_request_error "$url/v1/completions" -d '{"prompt": "x", "top_p": 7}'
err empty_prompt 400 invalid_request_error "$url/v1/completions" -d '{"prompt": ""}'
err unknown_sculpt_key 400 invalid_request_error "$url/v1/completions" -d '{"prompt": "x", "sculpt": {"refine": {"stpes": 2}}}'
err unknown_model 404 invalid_request_error "$url/v1/completions" -d '{"prompt": "x", "model": "gpt-4o"}'
err unknown_route 404 not_found_error "$url/v1/embeddings" -d '{}'
err wrong_method 405 invalid_request_error -X GET "$url/v1/completions"
err chat_without_template 400 invalid_request_error "$url/v1/chat/completions" -d '{"messages": [{"role": "user", "content": "hi"}]}'
head -c 2000000 /dev/zero | tr '\0' a >"$work/big.txt"
err body_too_large 413 invalid_request_error "$url/v1/completions" --data-binary @"$work/big.txt"
python3 -c 'import json; print(json.dumps({"prompt": "The jury said that " * 800, "max_tokens": 4}))' >"$work/long_prompt.json"
check long_prompt_json '[ "$(curl -s -o /dev/null -w %{http_code} -H "Content-Type: application/json" "$url/v1/completions" --data-binary @"$work/long_prompt.json")" = 200 ]'
check long_prompt_form_says_why 'curl -s "$url/v1/completions" --data-binary @"$work/long_prompt.json" | grep -q "Content-Type: application/json"'
check unknown_key_named 'curl -s "$url/v1/completions" -d "{\"prompt\": \"x\", \"sculpt\": {\"refine\": {\"stpes\": 2}}}" | grep -q "did you mean"'

# --- a client that leaves stops its generation within a forward pass or two
timeout 0.4 curl -sN "$url/v1/completions" -d '{"prompt": "The jury said", "max_tokens": 1000, "stream": true}' >/dev/null
sleep 0.5
check client_gone_cancels 'grep -q "200 0 tokens 0\.[0-9]* s cancelled: client_gone" "$work/main.log"' "$(tail -3 "$work/main.log")"

# --- metrics and the log line of each request
curl -s "$url/metrics" >"$work/metrics.txt"
check metrics_predicted '[ "$(grep "^llamacpp:tokens_predicted_total" "$work/metrics.txt" | cut -d" " -f2)" -gt 0 ]'
check metrics_by_route 'grep -q "^sculpt:requests_total{route=\"/v1/completions\",status=\"200\"}" "$work/metrics.txt"'
check metrics_errors 'grep -q "^sculpt:requests_total{route=\"/v1/completions\",status=\"400\"}" "$work/metrics.txt"'
check metrics_histogram 'grep -q "^sculpt:request_duration_seconds_count" "$work/metrics.txt"'
check metrics_remasked 'grep -q "^sculpt:tokens_remasked_total [1-9]" "$work/metrics.txt"'
check log_line_per_request 'grep -qE "^req-[0-9]+ POST /v1/completions 200 [0-9]+ tokens [0-9.]+ s$" "$work/main.log"'

# --- SIGTERM: the running stream ends, the server exits 0
curl -sN "$url/v1/completions" -d '{"prompt": "The jury said", "max_tokens": 1000, "stream": true}' >"$work/stopped.txt" &
curl_pid=$!
sleep 0.3
kill -TERM "$server_pid"
wait "$server_pid"; status=$?
wait "$curl_pid"
check sigterm_exit_0 '[ "$status" = 0 ]' "exit $status"
check sigterm_stream_ended 'tail -c 15 "$work/stopped.txt" | grep -q "\[DONE\]"'

# --- an API key; loopback by default
echo "s3cret-key" >"$work/key"
start keyed --api-key-file "$work/key"
err no_key 401 authentication_error "$url/v1/models"
err wrong_key 401 authentication_error -H "Authorization: Bearer nope" "$url/v1/models"
check right_key '[ "$(curl -s -o /dev/null -w %{http_code} -H "Authorization: Bearer s3cret-key" "$url/v1/models")" = 200 ]'
check health_without_key '[ "$(curl -s -o /dev/null -w %{http_code} "$url/health")" = 200 ]'
kill "$server_pid"; wait "$server_pid" 2>/dev/null

# --- one slot, no queue: a second request while the first generates gets 503 with Retry-After;
# the first outlives its deadline (1,000 tokens take the hybrid 1-1.6 s here, twice the 0.5 s).
start busy --parallel 1 --queue 0 --timeout 0.5
curl -s "$url/v1/completions" -d '{"prompt": "The jury said", "max_tokens": 1000}' -o "$work/long.json" -w '%{http_code}' >"$work/long.status" &
long_pid=$!
sleep 0.1
curl -s -D "$work/busy.h" -o "$work/busy.json" "$url/v1/completions" -d '{"prompt": "x", "max_tokens": 2}' >/dev/null
check busy_503 'head -1 "$work/busy.h" | grep -q " 503"'
check busy_retry_after 'grep -qi "^retry-after:" "$work/busy.h"'
check busy_openai_shape '[ "$(json "d[\"error\"][\"type\"]" <"$work/busy.json")" = server_busy ]'
wait "$long_pid"
check deadline_504 '[ "$(cat "$work/long.status")" = 504 ]' "the long request got $(cat "$work/long.status"): $(cat "$work/long.json")"
check healthy_after '[ "$(curl -s $url/health)" = "{\"status\":\"ok\"}" ]'

echo "$passed passed, $failures failed"
[ "$failures" -eq 0 ]
