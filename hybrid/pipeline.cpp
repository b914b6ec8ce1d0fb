// The hybrid pipeline: loading, the section loop (draft -> spans -> retrieve -> refine), editing mode.
#include "hybrid/pipeline.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "ar_draft/drafter.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "retrieval/retriever_registry.h"

namespace sculpt {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// The refiner's denoising loop as the default refinement stage.
class RefinerDenoiser : public Denoiser {
 public:
  explicit RefinerDenoiser(Refiner& refiner) : refiner_(refiner) {}
  RefineResult denoise(const Canvas& canvas, const RefineParams& params) override { return refiner_.refine(canvas, params); }

 private:
  Refiner& refiner_;
};

// Runs `load` and re-throws its Error as "<config file>: <key>: <message>".
template <class F>
auto loading(const std::string& config_path, const std::string& key, F&& load) -> decltype(load()) {
  try {
    return load();
  } catch (const Error& e) {
    fail(config_path.empty() ? key : config_path + ": " + key, e.what());
  }
}

std::vector<int64_t> to_ids(const std::vector<int32_t>& v) { return std::vector<int64_t>(v.begin(), v.end()); }

// The last n elements of v (all of it when shorter).
std::vector<int64_t> tail(const std::vector<int64_t>& v, int64_t n) {
  n = std::clamp<int64_t>(n, 0, int64_t(v.size()));
  return std::vector<int64_t>(v.end() - n, v.end());
}

StageTiming& stage(PipelineTrace& trace, const std::string& name) {
  for (StageTiming& s : trace.stages) if (s.name == name) return s;
  trace.stages.push_back({name});
  return trace.stages.back();
}

}  // namespace

struct Pipeline::Impl {
  SculptConfig cfg;
  std::string config_path;
  std::unique_ptr<Drafter> drafter;     // null when draft.enabled is false
  std::unique_ptr<Refiner> refiner;     // null when neither refinement nor diffusion-only runs
  std::unique_ptr<Retriever> retriever;  // null without an index
  std::unique_ptr<SpanSelector> selector;
  std::unique_ptr<Denoiser> denoiser;
  std::unique_ptr<Tokenizer> tokenizer;

  bool refining() const { return cfg.refine.enabled || !cfg.draft.enabled; }
  int64_t min_context() const {
    int64_t c = INT64_MAX;
    if (drafter) c = std::min<int64_t>(c, drafter->model()->config().max_position_embeddings);
    if (refiner) c = std::min<int64_t>(c, refiner->model()->config().max_position_embeddings);
    return c;
  }

  // Passages for `query`, rendered under the injection budget, as token ids; records what was used.
  std::vector<int64_t> passages_for(const std::string& query, PipelineTrace& trace, const char* stage_name) {
    if (!retriever) return {};
    const auto start = Clock::now();
    ContextInjector injector(cfg.retrieval.inject, [&](std::string_view s) { return int(tokenizer->encode(s).size()); });
    const Injection inj = injector.render(retriever->search(query, size_t(cfg.retrieval.k)));
    trace.passages.insert(trace.passages.end(), inj.used.begin(), inj.used.end());
    stage(trace, stage_name).seconds += seconds_since(start);
    return to_ids(tokenizer->encode(inj.text));
  }

  // Frozen context for a model of `context` positions that must also hold n_new tokens:
  // BOS, then passages if they leave room, then as much of the document's end as fits.
  std::vector<int64_t> frozen_context(const std::vector<int64_t>& passages, const std::vector<int64_t>& document,
                                      int64_t context, int64_t n_new) const {
    std::vector<int64_t> out;
    if (tokenizer->bos_id() >= 0) out.push_back(tokenizer->bos_id());
    const int64_t room = context - n_new - int64_t(out.size());
    // Passages never crowd out the text itself: they take at most half the room.
    if (int64_t(passages.size()) <= room / 2) out.insert(out.end(), passages.begin(), passages.end());
    const std::vector<int64_t> text = tail(document, context - n_new - int64_t(out.size()));
    out.insert(out.end(), text.begin(), text.end());
    return out;
  }

  // Refines `draft` after the frozen `context` (spans given) and records the edits.
  std::vector<int64_t> refine_section(const std::vector<int64_t>& context, const std::vector<int64_t>& draft,
                                      const std::vector<Span>& spans, int64_t section, PipelineTrace& trace) {
    const auto start = Clock::now();
    Canvas canvas = Canvas::from_parts(context, draft);
    canvas.mark(spans, CanvasRole::kMasked);
    StageTiming& st = stage(trace, "refine");
    const bool edits_draft = cfg.refine.edit_threshold > 0 && cfg.refine.edit_scope == EditScope::kDraft;
    if (canvas.count(CanvasRole::kMasked) == 0 && !edits_draft) return draft;  // nothing weak enough
    const RefineResult r = denoiser->denoise(canvas, cfg.refine);
    if (int64_t(r.tokens.size()) != canvas.size()) fail("pipeline", "the denoiser returned ", r.tokens.size(), " tokens for a canvas of ", canvas.size());
    for (int64_t i = 0; i < canvas.n_context; ++i)
      if (r.tokens[size_t(i)] != canvas.tokens[size_t(i)]) fail("pipeline", "the denoiser changed frozen position ", i);
    std::vector<int64_t> out(r.tokens.begin() + canvas.n_context, r.tokens.end());
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i] != draft[i] && draft[i] != refiner->mask_id())
        trace.edits.push_back({section, int64_t(i), tokenizer->id_to_piece(int32_t(draft[i])),
                               tokenizer->id_to_piece(int32_t(out[i]))});
    st.seconds += seconds_since(start);
    st.n_forward += r.trace.n_forward;
    st.n_tokens += canvas.count(CanvasRole::kMasked);
    return out;
  }
};

Pipeline Pipeline::from_file(const std::string& config_path, const std::vector<std::string>& overrides) {
  SculptConfig cfg;
  load_config(config_path, overrides, cfg);
  return Pipeline(cfg, config_path);
}

Pipeline::Pipeline(const SculptConfig& config, const std::string& config_path) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.cfg = config;
  m.config_path = config_path;
  const PipelineParams& p = m.cfg.pipeline;
  if (!m.cfg.draft.enabled && !m.cfg.refine.enabled)
    fail(config_path.empty() ? "pipeline" : config_path, "draft.enabled and refine.enabled are both false: nothing would write");
  if (m.cfg.draft.enabled) {
    if (p.drafter.empty()) fail(config_path + ": pipeline.drafter", "is empty; name the drafter's model directory");
    m.drafter = loading(config_path, "pipeline.drafter", [&] { return std::make_unique<Drafter>(Drafter::load(p.drafter, p.drafter_adapter)); });
  }
  if (m.refining()) {
    if (p.refiner.empty()) fail(config_path + ": pipeline.refiner", "is empty; name the refiner's model directory");
    m.refiner = loading(config_path, "pipeline.refiner", [&] { return std::make_unique<Refiner>(Refiner::load(p.refiner, p.refiner_adapter)); });
    m.denoiser = std::make_unique<RefinerDenoiser>(*m.refiner);
  }
  if (m.drafter && m.refiner)
    loading(config_path, "pipeline.refiner", [&] { m.refiner->check_draft_tokenizer(m.drafter->tokenizer()); return 0; });
  m.tokenizer = std::make_unique<Tokenizer>(m.drafter ? m.drafter->tokenizer() : m.refiner->tokenizer());
  const std::vector<std::string> known = registered_retrievers();
  if (std::find(known.begin(), known.end(), m.cfg.retrieval.backend) == known.end()) {
    std::string names;
    for (const std::string& k : known) names += (names.empty() ? "" : ", ") + k;
    fail(config_path + ": retrieval.backend", "unknown backend '", m.cfg.retrieval.backend, "' (known: ", names, ")");
  }
  if (!p.index.empty())
    m.retriever = loading(config_path, "pipeline.index", [&] { return load_retriever(p.index, m.cfg.retrieval); });
  SpanParams spans = m.cfg.spans;
  if (spans.strategy == SpanStrategy::kRefinerConfidence && !m.refiner)
    fail(config_path + ": spans.strategy", "refiner_confidence needs a refiner (refine.enabled is false)");
  m.selector = make_span_selector(spans, m.refiner.get());
}

Pipeline::Pipeline(Pipeline&&) noexcept = default;
Pipeline& Pipeline::operator=(Pipeline&&) noexcept = default;
Pipeline::~Pipeline() = default;

void Pipeline::set_retriever(std::unique_ptr<Retriever> retriever) { impl_->retriever = std::move(retriever); }
void Pipeline::set_span_selector(std::unique_ptr<SpanSelector> selector) { impl_->selector = std::move(selector); }
void Pipeline::set_denoiser(std::unique_ptr<Denoiser> denoiser) {
  if (!impl_->refiner) fail("pipeline", "a denoiser needs the refiner's vocabulary: refinement is off");
  impl_->denoiser = std::move(denoiser);
}
const SculptConfig& Pipeline::config() const { return impl_->cfg; }
const Tokenizer& Pipeline::tokenizer() const { return *impl_->tokenizer; }

PipelineResult Pipeline::generate(const std::string& prompt, const SectionCallback& on_section) {
  Impl& m = *impl_;
  const auto start = Clock::now();
  const PipelineParams& p = m.cfg.pipeline;
  PipelineResult result;
  PipelineTrace& trace = result.trace;
  const std::vector<int64_t> prompt_ids = to_ids(m.tokenizer->encode(prompt));
  // Sections: as asked, or, when 0 and the whole output does not fit, half the smaller context.
  const int64_t context = m.min_context();
  int64_t section = p.section_tokens > 0 ? p.section_tokens : p.max_tokens;
  if (p.section_tokens == 0 && int64_t(prompt_ids.size()) + 1 + section > context) section = context / 2;
  if (section >= context)
    fail("pipeline.section_tokens", section, " new tokens per section do not fit the models' context of ", context);

  std::vector<int64_t> prompt_passages;
  if (p.retrieve_for_prompt && m.drafter) prompt_passages = m.passages_for(prompt, trace, "retrieve_prompt");
  std::vector<int64_t> document = prompt_ids;  // everything so far, without BOS
  std::string emitted;                         // decoded output so far
  const std::string prompt_text = m.tokenizer->decode(std::vector<int32_t>(prompt_ids.begin(), prompt_ids.end()));
  auto text_of = [&](const std::vector<int64_t>& new_ids) {  // decoded after the prompt, leading space kept
    std::vector<int32_t> all(prompt_ids.begin(), prompt_ids.end());
    all.insert(all.end(), new_ids.begin(), new_ids.end());
    const std::string full = m.tokenizer->decode(all);
    return full.compare(0, prompt_text.size(), prompt_text) == 0 ? full.substr(prompt_text.size()) : full;
  };

  bool ended = false;
  for (int64_t s = 0; !ended && int64_t(result.ids.size()) < p.max_tokens; ++s) {
    const int64_t n_new = std::min<int64_t>(section, p.max_tokens - int64_t(result.ids.size()));
    DraftView view;
    std::vector<Span> spans;
    if (m.drafter) {
      const auto t0 = Clock::now();
      const int64_t ctx = m.drafter->model()->config().max_position_embeddings;
      DraftParams dp = m.cfg.draft;
      dp.max_tokens = int(n_new);
      DraftStats stats;
      // The passages go into the context and, for draft.copy, are what the draft may quote.
      const DraftResult d = m.drafter->draft_ids({m.frozen_context(prompt_passages, document, ctx, n_new)}, dp, {},
                                                 &stats, {prompt_passages})[0];
      for (const DraftToken& t : d.tokens) {
        view.tokens.push_back(t.id);
        view.logprobs.push_back(t.logprob);
        view.entropies.push_back(t.entropy);
      }
      ended = d.stop_reason == StopReason::kEos || d.stop_reason == StopReason::kStopString;
      StageTiming& st = stage(trace, "draft");
      st.seconds += seconds_since(t0);
      st.n_forward += stats.n_forward;
      st.n_tokens += stats.n_generated;
      if (view.tokens.empty()) break;
    } else {
      view.tokens.assign(size_t(n_new), m.refiner->mask_id());  // diffusion only: an all-mask canvas
      spans.push_back({0, n_new});
    }
    std::vector<int64_t> out = view.tokens;
    if (m.cfg.refine.enabled || !m.drafter) {
      const int64_t ctx = m.refiner->model()->config().max_position_embeddings;
      std::vector<int64_t> passages;
      if (p.retrieve_for_refine)
        passages = m.passages_for(prompt + (m.drafter ? text_of(view.tokens) : ""), trace, "retrieve_draft");
      view.context = m.frozen_context(passages, document, ctx, int64_t(view.tokens.size()));
      if (m.drafter) {
        const auto t0 = Clock::now();
        spans = m.selector->select(view);
        stage(trace, "select_spans").seconds += seconds_since(t0);
      }
      out = m.refine_section(view.context, view.tokens, spans, s, trace);
    }
    document.insert(document.end(), out.begin(), out.end());
    result.ids.insert(result.ids.end(), out.begin(), out.end());
    if (m.drafter) result.draft_ids.insert(result.draft_ids.end(), view.tokens.begin(), view.tokens.end());
    const std::string text = text_of(result.ids);
    SectionOutput so;
    so.index = s;
    so.text = text.compare(0, emitted.size(), emitted) == 0 ? text.substr(emitted.size()) : text;
    if (m.drafter) so.draft_text = m.tokenizer->decode(std::vector<int32_t>(view.tokens.begin(), view.tokens.end()));
    emitted = text;
    ++trace.n_sections;
    if (on_section) on_section(so);
  }
  result.text = emitted;
  if (m.drafter) result.draft_text = text_of(result.draft_ids);
  trace.n_generated = int64_t(result.ids.size());
  trace.seconds = seconds_since(start);
  return result;
}

PipelineResult Pipeline::refine_text(const std::string& text, const std::vector<Span>& spans) {
  Impl& m = *impl_;
  if (!m.refiner) fail("refine", "the pipeline has no refiner (refine.enabled is false and drafting is on)");
  const auto start = Clock::now();
  PipelineResult result;
  PipelineTrace& trace = result.trace;
  const std::vector<int64_t> ids = to_ids(m.tokenizer->encode(text));
  if (ids.empty()) fail("refine", "the text is empty: nothing to refine");
  for (const Span& s : spans)
    if (s.begin < 0 || s.end <= s.begin || s.end > int64_t(ids.size()))
      fail("span", s.begin, ":", s.end, " is outside the text's ", ids.size(), " tokens or empty");
  std::vector<int64_t> passages;
  if (m.cfg.pipeline.retrieve_for_refine) passages = m.passages_for(text, trace, "retrieve_draft");
  // Windows of the text that fit the refiner, each with the refined text before it as context.
  const int64_t ctx = m.refiner->model()->config().max_position_embeddings;
  const int64_t window = std::max<int64_t>(1, ctx / 2);
  SpanParams sp = m.cfg.spans;
  if (sp.strategy == SpanStrategy::kLogprob || sp.strategy == SpanStrategy::kEntropy)
    sp.strategy = SpanStrategy::kRefinerConfidence;  // a user's text has no drafter scores
  std::unique_ptr<SpanSelector> selector = make_span_selector(sp, m.refiner.get());
  std::vector<int64_t> done;  // refined text so far
  for (int64_t begin = 0, s = 0; begin < int64_t(ids.size()); begin += window, ++s) {
    const int64_t end = std::min<int64_t>(int64_t(ids.size()), begin + window);
    DraftView view;
    view.tokens.assign(ids.begin() + begin, ids.begin() + end);
    view.context = m.frozen_context(passages, done, ctx, end - begin);
    std::vector<Span> local;
    if (!spans.empty()) {
      for (const Span& sp_ : spans) {
        const int64_t b = std::max(sp_.begin, begin), e = std::min(sp_.end, end);
        if (b < e) local.push_back({b - begin, e - begin});
      }
    } else {
      const auto t0 = Clock::now();
      local = selector->select(view);
      stage(trace, "select_spans").seconds += seconds_since(t0);
    }
    const std::vector<int64_t> out = m.refine_section(view.context, view.tokens, local, s, trace);
    for (TextEdit& e : trace.edits) if (e.section == s) e.token += begin;  // text coordinates
    done.insert(done.end(), out.begin(), out.end());
    ++trace.n_sections;
  }
  result.ids = done;
  result.draft_ids = ids;
  result.text = m.tokenizer->decode(std::vector<int32_t>(done.begin(), done.end()));
  result.draft_text = text;
  trace.n_generated = int64_t(done.size());
  trace.seconds = seconds_since(start);
  return result;
}

}  // namespace sculpt
