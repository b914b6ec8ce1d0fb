// The hybrid pipeline: loading, the section loop (draft -> spans -> retrieve -> refine), editing
// mode. Every stage reports through the observer; the trace is recorded from the same events.
#include "hybrid/pipeline.h"

#include <algorithm>
#include <chrono>
#include <climits>

#include "ar_draft/drafter.h"
#include "core/checkpoint.h"
#include "diffusion_refine/refiner.h"
#include "diffusion_refine/span_selectors.h"
#include "hybrid/trace_recorder.h"
#include "retrieval/context_injector.h"
#include "retrieval/retriever_registry.h"

namespace sculpt {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Runs `load` and re-throws its Error as "<config file>: <key>: <message>".
template <class F>
auto loading(const std::string& config_path, const std::string& key, F&& load) -> decltype(load()) {
  try {
    return load();
  } catch (const Error& e) {
    fail(config_path.empty() ? key : config_path + ": " + key, e.what());
  }
}

// The last n elements of v (all of it when shorter).
std::vector<TokenId> tail(const std::vector<TokenId>& v, int64_t n) {
  n = std::clamp<int64_t>(n, 0, int64_t(v.size()));
  return std::vector<TokenId>(v.end() - n, v.end());
}

// The SpansEvent of a selection: each span with the weakest mark inside it.
SpansEvent spans_event(int64_t section, const std::string& strategy, const std::vector<Span>& spans,
                       const SpanSelector::Marks& marks, int64_t n_draft) {
  SpansEvent e{section, strategy, n_draft, {}};
  for (const Span& s : spans) {
    SpanChoice c{s, -std::numeric_limits<float>::infinity(), false};
    for (int64_t i = s.begin; i < s.end && i < int64_t(marks.weakness.size()); ++i) {
      if (!marks.chosen[size_t(i)]) continue;  // a neighbour the span was widened by
      c.weakness = std::max(c.weakness, marks.weakness[size_t(i)]);
      c.repeat = c.repeat || marks.weakness[size_t(i)] == std::numeric_limits<float>::infinity();
    }
    e.spans.push_back(c);
  }
  return e;
}

}  // namespace

const char* pipeline_mode_name(PipelineMode mode) {
  switch (mode) {
    case PipelineMode::kHybrid: return "hybrid";
    case PipelineMode::kArOnly: return "ar_only";
    case PipelineMode::kDiffusionOnly: return "diffusion_only";
  }
  return "?";
}

// One call of the pipeline: the settings it runs with (the config's, or a request's), where its
// events go, and the span selector it uses.
struct Call {
  const PipelineConfig& cfg;
  PipelineObserver& events;
  SpanSelector& selector;
  std::string strategy;  // the selector's name in events: spans.strategy, or "custom" for a plug-in

  // Between forward passes: stop if the observer asks (Cancelled ends the call cleanly).
  void check_stop() const {
    if (events.stop_requested()) throw Cancelled("pipeline: stopped at the caller's request");
  }
};

struct Pipeline::Impl {
  PipelineConfig cfg;
  std::string config_path;
  std::unique_ptr<Drafter> drafter;      // null in diffusion-only mode
  std::unique_ptr<Refiner> refiner;      // null in AR-only mode
  std::unique_ptr<Retriever> retriever;  // null without an index
  std::unique_ptr<SpanSelector> custom_selector;  // set_span_selector's; else made from the call's spans
  std::unique_ptr<Denoiser> custom_denoiser;      // set_denoiser's; else the refiner denoises
  std::unique_ptr<Tokenizer> tokenizer;

  Denoiser& denoiser() { return custom_denoiser ? *custom_denoiser : *refiner; }

  int64_t min_context() const {
    int64_t c = INT64_MAX;
    if (drafter) c = std::min<int64_t>(c, drafter->model()->config().max_position_embeddings);
    if (refiner) c = std::min<int64_t>(c, refiner->model()->config().max_position_embeddings);
    return c;
  }

  // The settings of a call, checked against what this pipeline loaded.
  void check_settings(const PipelineConfig& s) const {
    const PipelineMode mode = s.pipeline.mode;
    if (s.pipeline.drafts() && !drafter)
      fail("pipeline.mode", pipeline_mode_name(mode), " needs the drafter, which this pipeline did not load (its mode is ",
           pipeline_mode_name(cfg.pipeline.mode), ")");
    if (s.pipeline.refines() && !refiner)
      fail("pipeline.mode", pipeline_mode_name(mode), " needs the refiner, which this pipeline did not load (its mode is ",
           pipeline_mode_name(cfg.pipeline.mode), ")");
    if (s.spans.strategy == SpanStrategy::kRefinerConfidence && !refiner)
      fail("spans.strategy", "refiner_confidence needs a refiner (pipeline.mode is ar_only)");
    s.refine.validate();
    s.draft.sampler.validate();
  }

  // `new_ids` decoded after `prefix`, the leading space kept (sentencepiece drops the leading
  // space of a first piece, which would glue the new text to what precedes it).
  std::string text_after(const std::vector<TokenId>& prefix, const std::vector<TokenId>& new_ids) const {
    std::vector<TokenId> all = prefix;
    all.insert(all.end(), new_ids.begin(), new_ids.end());
    const std::string before = tokenizer->decode(prefix), full = tokenizer->decode(all);
    return full.compare(0, before.size(), before) == 0 ? full.substr(before.size()) : full;
  }

  // Passages for `query`, rendered under the injection budget, as token ids.
  std::vector<TokenId> passages_for(const Call& c, const std::string& query, int64_t section, const char* stage) {
    if (!retriever) return {};
    const auto start = Clock::now();
    ContextInjector injector(c.cfg.retrieval.inject, [&](std::string_view s) { return int(tokenizer->encode(s).size()); });
    const Injection inj = injector.render(retriever->search(query, size_t(c.cfg.retrieval.k)));
    c.events.on_passages({section, stage, inj.used});
    c.events.on_stage({stage, seconds_since(start), 0, 0}, section);
    return tokenizer->encode(inj.text);
  }

  // Frozen context for a model of `context` positions that must also hold n_new tokens:
  // BOS, then passages if they leave room, then as much of the document's end as fits.
  std::vector<TokenId> frozen_context(const std::vector<TokenId>& passages, const std::vector<TokenId>& document,
                                      int64_t context, int64_t n_new) const {
    std::vector<TokenId> out;
    if (tokenizer->bos_id() >= 0) out.push_back(tokenizer->bos_id());
    const int64_t room = context - n_new - int64_t(out.size());
    // Passages never crowd out the text itself: they take at most half the room.
    if (int64_t(passages.size()) <= room / 2) out.insert(out.end(), passages.begin(), passages.end());
    const std::vector<TokenId> text = tail(document, context - n_new - int64_t(out.size()));
    out.insert(out.end(), text.begin(), text.end());
    return out;
  }

  // Drafts n_new tokens after the document (the passages before it, and quotable); *ended is
  // set when the draft stopped at EOS or a stop string.
  DraftView draft_section(const Call& c, const std::vector<TokenId>& passages, const std::vector<TokenId>& document,
                          int64_t n_new, int64_t section, bool* ended) {
    const auto start = Clock::now();
    const int64_t ctx = drafter->model()->config().max_position_embeddings;
    DraftParams dp = c.cfg.draft;
    dp.max_tokens = int(n_new);
    DraftStats stats;
    int64_t index = 0;
    const TokenCallback on_token = [&](int64_t, const DraftToken& t, const std::string& text) {
      c.events.on_draft_token({section, index++, t.id, text, t.logprob, t.entropy});
      c.check_stop();
    };
    c.check_stop();
    const DraftResult d = drafter->draft_ids({frozen_context(passages, document, ctx, n_new)}, dp, on_token, &stats,
                                             {passages})[0];
    DraftView view;
    for (const DraftToken& t : d.tokens) {
      view.tokens.push_back(t.id);
      view.logprobs.push_back(t.logprob);
      view.entropies.push_back(t.entropy);
    }
    *ended = d.stop_reason == StopReason::kEos || d.stop_reason == StopReason::kStopString;
    c.events.on_stage({"draft", seconds_since(start), stats.n_forward, stats.n_generated}, section);
    return view;
  }

  std::vector<Span> choose_spans(const Call& c, const DraftView& view, int64_t section) {
    const auto start = Clock::now();
    SpanSelector::Marks marks;
    std::vector<Span> spans = c.selector.select(view, &marks);
    c.events.on_stage({"select_spans", seconds_since(start), 0, 0}, section);
    c.events.on_spans(spans_event(section, c.strategy, spans, marks, int64_t(view.tokens.size())));
    return spans;
  }

  // Refines `draft` after the frozen `context` with `spans` re-masked; reports each step and
  // each edit. Returns the section's tokens.
  std::vector<TokenId> refine_section(const Call& c, const std::vector<TokenId>& context, const std::vector<TokenId>& draft,
                                      const std::vector<Span>& spans, int64_t section) {
    const auto start = Clock::now();
    Canvas canvas = Canvas::from_parts(context, draft);
    canvas.mark(spans, CanvasRole::kMasked);
    const bool edits_draft = c.cfg.refine.edit_threshold > 0 && c.cfg.refine.edit_scope == EditScope::kDraft;
    if (canvas.count(CanvasRole::kMasked) == 0 && !edits_draft) {  // nothing weak enough
      c.events.on_stage({"refine", seconds_since(start), 0, 0}, section);
      return draft;
    }
    c.check_stop();
    const RefineResult r = denoiser().denoise(canvas, c.cfg.refine, [&](const RefineStep& step) {
      c.events.on_refine_step(step_event(step, canvas.n_context, section));
      c.check_stop();
    });
    check_denoised(canvas, r);
    std::vector<TokenId> out(r.tokens.begin() + canvas.n_context, r.tokens.end());
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i] != draft[i] && draft[i] != refiner->mask_id())
        c.events.on_edit({section, int64_t(i), draft[i], out[i], tokenizer->id_to_piece(draft[i]), tokenizer->id_to_piece(out[i])});
    c.events.on_stage({"refine", seconds_since(start), r.trace.n_forward, canvas.count(CanvasRole::kMasked)}, section);
    return out;
  }

  // The refiner's half of a section: passages for prompt + draft, the frozen context, the spans
  // (chosen here when the drafter wrote the draft, else `spans` as given), the refinement.
  std::vector<TokenId> refine_after(const Call& c, const std::string& prompt, const std::vector<TokenId>& prompt_ids,
                                    const std::vector<TokenId>& document, DraftView& view, std::vector<Span> spans,
                                    int64_t section) {
    const bool drafted = c.cfg.pipeline.drafts();
    std::vector<TokenId> passages;
    if (c.cfg.pipeline.retrieve_for_refine) {
      const std::string query = prompt + (drafted ? text_after(prompt_ids, view.tokens) : "");
      passages = passages_for(c, query, section, "retrieve_draft");
    }
    view.context = frozen_context(passages, document, refiner->model()->config().max_position_embeddings,
                                  int64_t(view.tokens.size()));
    if (drafted) spans = choose_spans(c, view, section);
    return refine_section(c, view.context, view.tokens, spans, section);
  }

  void write(const Call& c, const std::string& prompt, PipelineResult& result);
  void rewrite(const Call& c, const std::string& text, const std::vector<Span>& spans, PipelineResult& result);

  // A refiner step in section coordinates, with the text of what it wrote.
  RefineStepEvent step_event(RefineStep step, int64_t n_context, int64_t section) const {
    RefineStepEvent e{section, std::move(step), {}};
    for (int64_t& i : e.step.committed) i -= n_context;
    for (int64_t& i : e.step.remasked) i -= n_context;
    for (TokenId id : e.step.tokens) e.texts.push_back(tokenizer->piece_text(id));
    return e;
  }

  // The Denoiser contract, checked: the canvas's length, frozen positions unchanged.
  static void check_denoised(const Canvas& canvas, const RefineResult& r) {
    if (int64_t(r.tokens.size()) != canvas.size())
      fail("pipeline", "the denoiser returned ", r.tokens.size(), " tokens for a canvas of ", canvas.size());
    for (int64_t i = 0; i < canvas.n_context; ++i)
      if (r.tokens[size_t(i)] != canvas.tokens[size_t(i)]) fail("pipeline", "the denoiser changed frozen position ", i);
  }

  // Tokens per section: as asked, or, when 0 and the whole output does not fit, half the
  // smaller context.
  int64_t section_length(const PipelineParams& p, int64_t n_prompt) const {
    const int64_t context = min_context();
    int64_t section = p.section_tokens > 0 ? p.section_tokens : p.max_tokens;
    if (p.section_tokens == 0 && n_prompt + 1 + section > context) section = context / 2;
    if (section >= context)
      fail("pipeline.section_tokens", section, " new tokens per section do not fit the models' context of ", context);
    return section;
  }

  // The span params of a call on a user's text: refiner_confidence stands in for the drafter
  // scores the text does not have.
  static SpanParams for_own_text(SpanParams sp) {
    if (sp.strategy == SpanStrategy::kLogprob || sp.strategy == SpanStrategy::kEntropy)
      sp.strategy = SpanStrategy::kRefinerConfidence;
    return sp;
  }

  // Runs fn(call) with the call's selector: the plug-in, or one made from `spans`.
  template <class Fn>
  auto with_call(const PipelineConfig& settings, const SpanParams& spans, PipelineObserver& events, Fn&& fn) {
    if (custom_selector) return fn(Call{settings, events, *custom_selector, "custom"});
    const std::unique_ptr<SpanSelector> own = make_span_selector(spans, refiner.get());
    return fn(Call{settings, events, *own, span_strategy_name(spans.strategy)});
  }
};

Pipeline Pipeline::from_file(const std::string& config_path, const std::vector<std::string>& overrides) {
  PipelineConfig cfg;
  load_config(config_path, overrides, cfg);
  return Pipeline(cfg, config_path);
}

Pipeline::Pipeline(const PipelineConfig& config, const std::string& config_path) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.cfg = config;
  m.config_path = config_path;
  const PipelineParams& p = m.cfg.pipeline;
  const std::string where = config_path.empty() ? "" : config_path + ": ";
  if (p.drafts()) {
    if (p.drafter.empty()) fail(where + "pipeline.drafter", "is empty; name the drafter's model directory");
    m.drafter = loading(config_path, "pipeline.drafter", [&] { return std::make_unique<Drafter>(Drafter::load(p.drafter, p.drafter_adapter)); });
  }
  if (p.refines()) {
    if (p.refiner.empty()) fail(where + "pipeline.refiner", "is empty; name the refiner's model directory");
    m.refiner = loading(config_path, "pipeline.refiner", [&] { return std::make_unique<Refiner>(Refiner::load(p.refiner, p.refiner_adapter)); });
  }
  if (m.drafter && m.refiner)
    loading(config_path, "pipeline.refiner", [&] { m.refiner->check_draft_tokenizer(m.drafter->tokenizer()); return 0; });
  m.tokenizer = std::make_unique<Tokenizer>(m.drafter ? m.drafter->tokenizer() : m.refiner->tokenizer());
  const std::vector<std::string> known = registered_retrievers();
  if (std::find(known.begin(), known.end(), m.cfg.retrieval.backend) == known.end()) {
    std::string names;
    for (const std::string& k : known) names += (names.empty() ? "" : ", ") + k;
    fail(where + "retrieval.backend", "unknown backend '", m.cfg.retrieval.backend, "' (known: ", names, ")");
  }
  if (!p.index.empty())
    m.retriever = loading(config_path, "pipeline.index", [&] { return load_retriever(p.index, m.cfg.retrieval); });
  try {
    m.check_settings(m.cfg);
  } catch (const Error& e) {
    fail(config_path.empty() ? "pipeline config" : config_path, e.what());
  }
}

Pipeline::Pipeline(Pipeline&&) noexcept = default;
Pipeline& Pipeline::operator=(Pipeline&&) noexcept = default;
Pipeline::~Pipeline() = default;

void Pipeline::set_retriever(std::unique_ptr<Retriever> retriever) { impl_->retriever = std::move(retriever); }
void Pipeline::set_span_selector(std::unique_ptr<SpanSelector> selector) { impl_->custom_selector = std::move(selector); }
void Pipeline::set_denoiser(std::unique_ptr<Denoiser> denoiser) {
  if (!impl_->refiner) fail("pipeline", "a denoiser needs the refiner's vocabulary: pipeline.mode is ar_only");
  impl_->custom_denoiser = std::move(denoiser);
}
const PipelineConfig& Pipeline::config() const { return impl_->cfg; }
const Tokenizer& Pipeline::tokenizer() const { return *impl_->tokenizer; }

PipelineResult Pipeline::generate(const std::string& prompt, PipelineObserver* observer) {
  return generate(prompt, impl_->cfg, observer);
}

PipelineResult Pipeline::generate(const std::string& prompt, const PipelineConfig& settings, PipelineObserver* observer) {
  Impl& m = *impl_;
  m.check_settings(settings);
  const auto start = Clock::now();
  PipelineResult result;
  TraceRecorder events(result.trace, observer);
  m.with_call(settings, settings.spans, events, [&](const Call& c) { m.write(c, prompt, result); return 0; });
  result.trace.seconds = seconds_since(start);
  return result;
}

// The section loop of generate(): draft (or an all-mask canvas), then refine, each section
// after the document so far.
void Pipeline::Impl::write(const Call& c, const std::string& prompt, PipelineResult& result) {
  Impl& m = *this;
  const PipelineParams& p = c.cfg.pipeline;
  PipelineObserver& events = c.events;
  const std::vector<TokenId> prompt_ids = m.tokenizer->encode(prompt);
  const int64_t section = m.section_length(p, int64_t(prompt_ids.size()));
  std::vector<TokenId> prompt_passages;
  if (p.retrieve_for_prompt && p.drafts()) prompt_passages = m.passages_for(c, prompt, 0, "retrieve_prompt");
  std::vector<TokenId> document = prompt_ids;  // everything so far, without BOS
  std::string emitted;                         // decoded output so far
  bool ended = false;
  for (int64_t s = 0; !ended && int64_t(result.ids.size()) < p.max_tokens; ++s) {
    const int64_t n_new = std::min<int64_t>(section, p.max_tokens - int64_t(result.ids.size()));
    DraftView view;
    std::vector<Span> spans;
    if (p.drafts()) {
      view = m.draft_section(c, prompt_passages, document, n_new, s, &ended);
      if (view.tokens.empty()) break;
    } else {
      view.tokens.assign(size_t(n_new), m.refiner->mask_id());  // diffusion only: an all-mask canvas
      spans.push_back({0, n_new});
      events.on_spans({s, "all", n_new, {{spans[0], 0.0f, false}}});
    }
    const std::vector<TokenId> out =
        p.refines() ? m.refine_after(c, prompt, prompt_ids, document, view, spans, s) : view.tokens;
    SectionEvent done{s, "", p.drafts() ? m.text_after(document, view.tokens) : ""};
    document.insert(document.end(), out.begin(), out.end());
    result.ids.insert(result.ids.end(), out.begin(), out.end());
    if (p.drafts()) result.draft_ids.insert(result.draft_ids.end(), view.tokens.begin(), view.tokens.end());
    const std::string text = m.text_after(prompt_ids, result.ids);
    done.text = text.compare(0, emitted.size(), emitted) == 0 ? text.substr(emitted.size()) : text;
    emitted = text;
    events.on_section(done);
  }
  result.text = emitted;
  result.stopped = ended;
  if (p.drafts()) result.draft_text = m.text_after(prompt_ids, result.draft_ids);
  result.trace.n_generated = int64_t(result.ids.size());
}

PipelineResult Pipeline::refine_text(const std::string& text, const std::vector<Span>& spans, PipelineObserver* observer) {
  return refine_text(text, spans, impl_->cfg, observer);
}

PipelineResult Pipeline::refine_text(const std::string& text, const std::vector<Span>& spans,
                                     const PipelineConfig& settings, PipelineObserver* observer) {
  Impl& m = *impl_;
  if (!m.refiner) fail("refine", "the pipeline has no refiner (pipeline.mode is ar_only)");
  settings.refine.validate();
  const auto start = Clock::now();
  PipelineResult result;
  TraceRecorder events(result.trace, observer);
  m.with_call(settings, Impl::for_own_text(settings.spans), events, [&](const Call& c) {
    m.rewrite(c, text, spans, result);
    return 0;
  });
  result.trace.seconds = seconds_since(start);
  return result;
}

// The window loop of refine_text(): each window of the text refined after the refined text
// before it.
void Pipeline::Impl::rewrite(const Call& c, const std::string& text, const std::vector<Span>& spans,
                             PipelineResult& result) {
  Impl& m = *this;
  PipelineObserver& events = c.events;
  const PipelineConfig& settings = c.cfg;
  const std::vector<TokenId> ids = m.tokenizer->encode(text);
  if (ids.empty()) fail("refine", "the text is empty: nothing to refine");
  for (const Span& s : spans)
    if (s.begin < 0 || s.end <= s.begin || s.end > int64_t(ids.size()))
      fail("span", s.begin, ":", s.end, " is outside the text's ", ids.size(), " tokens or empty");
  std::vector<TokenId> passages;
  if (settings.pipeline.retrieve_for_refine) passages = m.passages_for(c, text, 0, "retrieve_draft");
  // Windows of the text that fit the refiner, each with the refined text before it as context.
  const int64_t ctx = m.refiner->model()->config().max_position_embeddings;
  const int64_t window = std::max<int64_t>(1, ctx / 2);
  std::vector<TokenId> done;  // refined text so far
  for (int64_t begin = 0, s = 0; begin < int64_t(ids.size()); begin += window, ++s) {
    const int64_t end = std::min<int64_t>(int64_t(ids.size()), begin + window);
    DraftView view;
    view.tokens.assign(ids.begin() + begin, ids.begin() + end);
    view.context = m.frozen_context(passages, done, ctx, end - begin);
    std::vector<Span> local;
    for (const Span& given : spans) {
      const int64_t b = std::max(given.begin, begin), e = std::min(given.end, end);
      if (b < e) local.push_back({b - begin, e - begin});
    }
    if (spans.empty()) local = m.choose_spans(c, view, s);
    const std::vector<TokenId> out = m.refine_section(c, view.context, view.tokens, local, s);
    SectionEvent section{s, m.text_after(done, out), m.text_after(done, view.tokens)};
    done.insert(done.end(), out.begin(), out.end());
    events.on_section(section);
  }
  for (TextEdit& e : result.trace.edits) e.token += e.section * window;  // text coordinates
  result.ids = done;
  result.draft_ids = ids;
  result.text = m.tokenizer->decode(done);
  result.draft_text = text;
  result.trace.n_generated = int64_t(done.size());
}

}  // namespace sculpt
