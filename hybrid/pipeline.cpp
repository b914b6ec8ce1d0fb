// The hybrid pipeline: loading, the section loop (draft -> spans -> retrieve -> refine), editing
// mode. Every stage reports through the observer; the trace is recorded from the same events.
#include "hybrid/pipeline.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <limits>

#include "ar_draft/drafter.h"
#include "ar_draft/scorer.h"
#include "core/checkpoint.h"
#include "core/phrase_ban.h"
#include "diffusion_refine/refiner.h"
#include "diffusion_refine/span_selectors.h"
#include "hybrid/edit_document.h"
#include "hybrid/text_spans.h"
#include "hybrid/token_alignment.h"
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

// How a draft reached the refiner: its tokens as they are (shared vocabulary: empty), or re-read
// from its text.
struct Handover {
  std::vector<std::string> texts;  // the text of each position, as SpansEvent::token_texts
  int64_t shift = 0;               // positions before the refiner's first token (1: the head)
};

// The SpansEvent of a selection: each span with the weakest mark inside it.
SpansEvent spans_event(int64_t section, const std::string& strategy, const std::vector<Span>& spans,
                       const SpanSelector::Marks& marks, int64_t n_draft) {
  SpansEvent e{section, strategy, n_draft, {}, {}};
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
  const PipelineConfig& cfg;  // with draft.ban and refine.ban made from pipeline.forbid
  PipelineObserver& events;
  SpanSelector& selector;
  std::string strategy;  // the selector's name in events: spans.strategy, or "custom" for a plug-in

  // The output may not hold a forbidden phrase, however it came about.
  void check_forbidden(const std::string& text) const {
    if (!cfg.refine.ban) return;
    if (const auto hit = cfg.refine.ban->find_in(text))
      fail("output", "holds the forbidden phrase '", hit->phrase, "' at byte ", hit->at);
  }

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
  // The refiner reads the drafter's ids (vocabulary_extends): the draft's tokens go to it as they
  // are. Else the draft goes over as text (token_alignment.h).
  bool shared_vocabulary = true;

  // The tokenizer of the model that drafts (the refiner's without a drafter), and of the model
  // that refines (the drafter's without a refiner).
  const Tokenizer& draft_tok() const { return drafter ? drafter->tokenizer() : refiner->tokenizer(); }
  const Tokenizer& refine_tok() const { return refiner ? refiner->tokenizer() : drafter->tokenizer(); }
  // A call whose draft crosses from one vocabulary to another.
  bool crosses(const PipelineParams& p) const { return !shared_vocabulary && p.drafts() && p.refines(); }

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
    if ((s.spans.strategy == SpanStrategy::kRefinerConfidence || s.spans.strategy == SpanStrategy::kCombined) && !refiner)
      fail("spans.strategy", span_strategy_name(s.spans.strategy), " needs a refiner (pipeline.mode is ar_only)");
    s.refine.validate();
    s.draft.sampler.validate();
  }

  // `new_ids` decoded after `prefix`, the leading space kept (sentencepiece drops the leading
  // space of a first piece, which would glue the new text to what precedes it).
  static std::string text_after(const Tokenizer& tok, const std::vector<TokenId>& prefix,
                                const std::vector<TokenId>& new_ids) {
    std::vector<TokenId> all = prefix;
    all.insert(all.end(), new_ids.begin(), new_ids.end());
    const std::string before = tok.decode(prefix), full = tok.decode(all);
    return full.compare(0, before.size(), before) == 0 ? full.substr(before.size()) : full;
  }

  // Passages for `query`, rendered under the injection budget, as token ids of `tok`.
  std::vector<TokenId> passages_for(const Call& c, const Tokenizer& tok, const std::string& query, int64_t section,
                                    const char* stage) {
    if (!retriever) return {};
    const auto start = Clock::now();
    ContextInjector injector(c.cfg.retrieval.inject, [&](std::string_view s) { return int(tok.encode(s).size()); });
    const Injection inj = injector.render(retriever->search(query, size_t(c.cfg.retrieval.k)));
    c.events.on_passages({section, stage, inj.used});
    c.events.on_stage({stage, seconds_since(start), 0, 0}, section);
    return tok.encode(inj.text);
  }

  // Frozen context for a model of `context` positions that must also hold n_new tokens:
  // BOS, then passages if they leave room, then as much of the document's end as fits.
  static std::vector<TokenId> frozen_context(const Tokenizer& tok, const std::vector<TokenId>& passages,
                                             const std::vector<TokenId>& document, int64_t context, int64_t n_new) {
    std::vector<TokenId> out;
    if (tok.bos_for_model() >= 0) out.push_back(tok.bos_for_model());
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
    const DraftResult d = drafter->draft_ids({frozen_context(drafter->tokenizer(), passages, document, ctx, n_new)}, dp, on_token, &stats,
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

  std::vector<Span> choose_spans(const Call& c, const DraftView& view, int64_t section, const Handover& handover) {
    const auto start = Clock::now();
    SpanSelector::Marks marks;
    std::vector<Span> spans = c.selector.select(view, &marks);
    c.events.on_stage({"select_spans", seconds_since(start), 0, 0}, section);
    SpansEvent e = spans_event(section, c.strategy, spans, marks, int64_t(view.tokens.size()) + handover.shift);
    for (SpanChoice& s : e.spans) s.span = {s.span.begin + handover.shift, s.span.end + handover.shift};
    e.token_texts = handover.texts;
    c.events.on_spans(e);
    return spans;
  }

  // The draft as the refiner reads it when the two do not share a vocabulary: the draft's
  // `text` (read after the drafter's `draft_doc`) in the refiner's tokens after the document's
  // text, with the drafter's scores carried over byte by byte (token_alignment.h). A
  // dummy-prefix tokenizer (sentencepiece) starts every text with a new word, so when it cannot
  // spell the draft as it continues the document (a draft that ends a word the document began),
  // that word's rest (the head) is read as context and the refiner's tokens start after it.
  struct Reread {
    DraftView view;                // the refiner's tokens after the head, with carried scores
    std::string head;              // the draft's first bytes, read as context; "" = none
    std::vector<TokenId> context;  // the document and the head in the refiner's tokens
    Handover handover;
  };
  Reread reread_draft(const DraftView& view, const std::vector<TokenId>& draft_doc, const std::string& text,
                      const std::string& document) const {
    constexpr int64_t kLead = 8;  // tokens before the draft that decide how its first one reads
    const Tokenizer &dt = draft_tok(), &rt = refine_tok();
    Reread out;
    out.view.tokens = encode_continuation(rt, text);
    if (spelling_of(rt, out.view.tokens) != text) {
      out.head = text.substr(0, std::min(text.size(), text.find_first_of(" \t\n")));
      out.view.tokens = encode_continuation(rt, text.substr(out.head.size()));
    }
    out.context = rt.encode(document + out.head);
    const auto spell = [](const Tokenizer& tok, const std::vector<TokenId>& lead, const std::vector<TokenId>& ids) {
      return [&tok, lead = tail(lead, kLead), &ids](int64_t i) {
        return text_after(tok, lead, std::vector<TokenId>(ids.begin(), ids.begin() + i + 1));
      };
    };
    const std::string rest = text.substr(out.head.size());
    // The drafter's tokens over the rest, in its coordinates (those inside the head stay there).
    std::vector<size_t> from;
    std::vector<float> logprobs, entropies;
    const std::vector<size_t> ends = token_ends(text, dt, view.tokens, spell(dt, draft_doc, view.tokens));
    for (size_t i = 0; i < ends.size(); ++i)
      if (ends[i] > out.head.size()) {
        from.push_back(ends[i] - out.head.size());
        logprobs.push_back(view.logprobs[i]);
        entropies.push_back(view.entropies[i]);
      }
    const std::vector<size_t> to = token_ends(rest, rt, out.view.tokens, spell(rt, out.context, out.view.tokens));
    CarriedScores scores = carry_scores(from, logprobs, entropies, to);
    out.view.logprobs = std::move(scores.logprobs);
    out.view.entropies = std::move(scores.entropies);
    if (!out.head.empty()) out.handover = {{out.head}, 1};
    for (std::string& t : token_texts(rest, to)) out.handover.texts.push_back(std::move(t));
    return out;
  }

  // Refines `draft` after the frozen `context` with `spans` re-masked; reports each step and
  // each edit. Returns the section's tokens.
  std::vector<TokenId> refine_section(const Call& c, const std::vector<TokenId>& context, const std::vector<TokenId>& draft,
                                      const std::vector<Span>& spans, int64_t section, int64_t shift) {
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
      c.events.on_refine_step(step_event(step, canvas.n_context - shift, section));
      c.check_stop();
    });
    check_denoised(canvas, r);
    std::vector<TokenId> out(r.tokens.begin() + canvas.n_context, r.tokens.end());
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i] != draft[i] && draft[i] != refiner->mask_id())
        c.events.on_edit({section, int64_t(i) + shift, draft[i], out[i], refine_tok().id_to_piece(draft[i]),
                          refine_tok().id_to_piece(out[i])});
    c.events.on_stage({"refine", seconds_since(start), r.trace.n_forward, canvas.count(CanvasRole::kMasked)}, section);
    return out;
  }

  // The refiner's half of a section: passages for `query` (the prompt and the draft), the frozen
  // context before `document` (refiner tokens), the spans (chosen here when the drafter wrote the
  // draft, else `spans` as given), the refinement.
  std::vector<TokenId> refine_after(const Call& c, const std::string& query, const std::vector<TokenId>& document,
                                    DraftView& view, std::vector<Span> spans, int64_t section,
                                    const Handover& handover) {
    std::vector<TokenId> passages;
    if (c.cfg.pipeline.retrieve_for_refine) passages = passages_for(c, refine_tok(), query, section, "retrieve_draft");
    view.context = frozen_context(refine_tok(), passages, document, refiner->model()->config().max_position_embeddings,
                                  int64_t(view.tokens.size()));
    if (c.cfg.pipeline.drafts()) spans = choose_spans(c, view, section, handover);
    return refine_section(c, view.context, view.tokens, spans, section, handover.shift);
  }

  void write(const Call& c, const std::string& prompt, PipelineResult& result);
  void edit(const Call& c, const EditRequest& request, EditPlan plan, PipelineResult& result);
  // Editing's parts (Pipeline::edit).
  std::vector<Span> fix_spans(const Call& c, const std::vector<TokenId>& ids, const std::string& text,
                              const std::vector<TokenId>& prefix);
  void place_phrases(const EditPlan& plan, EditDocument& doc, const std::vector<TokenId>& prefix) const;
  void refine_document(const Call& c, EditDocument& doc, const std::vector<TokenId>& prefix);
  void keep_likelier_runs(const Call& c, EditDocument& doc);
  Canvas document_canvas(const EditDocument& doc, const std::vector<TokenId>& prefix, int64_t begin, int64_t end) const;

  // A refiner step in section coordinates, with the text of what it wrote.
  RefineStepEvent step_event(RefineStep step, int64_t n_context, int64_t section) const {
    RefineStepEvent e{section, std::move(step), {}};
    for (int64_t& i : e.step.committed) i -= n_context;
    for (int64_t& i : e.step.remasked) i -= n_context;
    for (TokenId id : e.step.tokens) e.texts.push_back(refine_tok().piece_text(id));
    return e;
  }

  // The Denoiser contract, checked: the canvas's length, frozen positions unchanged.
  static void check_denoised(const Canvas& canvas, const RefineResult& r) {
    if (int64_t(r.tokens.size()) != canvas.size())
      fail("pipeline", "the denoiser returned ", r.tokens.size(), " tokens for a canvas of ", canvas.size());
    for (int64_t i = 0; i < canvas.size(); ++i)
      if (canvas.roles[size_t(i)] == CanvasRole::kFrozen && r.tokens[size_t(i)] != canvas.tokens[size_t(i)])
        fail("pipeline", "the denoiser changed frozen position ", i);
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

  // The span params of a call on a user's text (the fix): spans.fix_strategy, or the refiner's
  // confidence when no drafter is loaded to score the text.
  SpanParams for_own_text(SpanParams sp) const {
    sp.strategy = drafter ? sp.fix_strategy : SpanStrategy::kRefinerConfidence;
    return sp;
  }

  // Runs fn(call) with the call's selector (the plug-in, or one made from `spans`) and the bans
  // of its forbidden phrases.
  template <class Fn>
  auto with_call(const PipelineConfig& settings, const SpanParams& spans, PipelineObserver& events, Fn&& fn) {
    PipelineConfig cfg = settings;
    if (!cfg.pipeline.forbid.empty()) {  // each model's ban in its own tokens
      cfg.draft.ban = std::make_shared<const PhraseBan>(draft_tok(), cfg.pipeline.forbid);
      cfg.refine.ban = std::make_shared<const PhraseBan>(refine_tok(), cfg.pipeline.forbid);
    }
    if (custom_selector) return fn(Call{cfg, events, *custom_selector, "custom"});
    const std::unique_ptr<SpanSelector> own = make_span_selector(spans, refiner.get());
    return fn(Call{cfg, events, *own, span_strategy_name(spans.strategy)});
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
  const WeightsDType dtype = m.cfg.runtime.dtype;
  if (p.drafts()) {
    if (p.drafter.empty()) fail(where + "pipeline.drafter", "is empty; name the drafter's model directory");
    m.drafter = loading(config_path, "pipeline.drafter", [&] { return std::make_unique<Drafter>(Drafter::load(p.drafter, p.drafter_adapter, dtype, m.cfg.draft.backend)); });
  }
  if (p.refines()) {
    if (p.refiner.empty()) fail(where + "pipeline.refiner", "is empty; name the refiner's model directory");
    m.refiner = loading(config_path, "pipeline.refiner", [&] { return std::make_unique<Refiner>(Refiner::load(p.refiner, p.refiner_adapter, dtype, m.cfg.refine.backend)); });
  }
  m.shared_vocabulary = !m.drafter || !m.refiner || vocabulary_extends(m.refiner->tokenizer(), m.drafter->tokenizer());
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
const Tokenizer& Pipeline::tokenizer() const { return impl_->draft_tok(); }

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
// after the document so far, held in the tokens of the model that writes last. When the
// drafter's vocabulary is another, each model reads the document's text in its own tokens and
// the draft goes to the refiner as text.
void Pipeline::Impl::write(const Call& c, const std::string& prompt, PipelineResult& result) {
  Impl& m = *this;
  const PipelineParams& p = c.cfg.pipeline;
  PipelineObserver& events = c.events;
  const bool crossing = m.crosses(p);
  const Tokenizer& dt = m.draft_tok();
  const Tokenizer& out_tok = p.refines() ? m.refine_tok() : dt;
  const std::vector<TokenId> prompt_ids = (p.drafts() ? dt : out_tok).encode(prompt);
  const int64_t section = m.section_length(p, int64_t(prompt_ids.size()));
  std::vector<TokenId> prompt_passages;
  if (p.retrieve_for_prompt && p.drafts()) prompt_passages = m.passages_for(c, dt, prompt, 0, "retrieve_prompt");
  std::vector<TokenId> document = prompt_ids;  // everything so far, without BOS
  std::string emitted, drafted;                // the output so far; what the drafter wrote (crossing)
  int64_t written = 0;                         // tokens drafted (diffusion only: written) so far
  bool ended = false;
  for (int64_t s = 0; !ended && written < p.max_tokens; ++s) {
    const int64_t n_new = std::min<int64_t>(section, p.max_tokens - written);
    const std::vector<TokenId> draft_doc = crossing ? dt.encode(prompt + emitted) : document;
    DraftView view;
    std::vector<Span> spans;
    if (p.drafts()) {
      view = m.draft_section(c, prompt_passages, draft_doc, n_new, s, &ended);
      if (view.tokens.empty()) break;
    } else {
      view.tokens.assign(size_t(n_new), m.refiner->mask_id());  // diffusion only: an all-mask canvas
      spans.push_back({0, n_new});
      events.on_spans({s, "all", n_new, {{spans[0], 0.0f, false}}, {}});
    }
    written += int64_t(view.tokens.size());
    SectionEvent done{s, "", p.drafts() ? text_after(dt, draft_doc, view.tokens) : ""};
    const std::string query = prompt + (p.drafts() ? text_after(dt, prompt_ids, view.tokens) : "");
    if (crossing) {
      Reread r = m.reread_draft(view, draft_doc, done.draft_text, prompt + emitted);
      const std::vector<TokenId> out =
          r.view.tokens.empty() ? r.view.tokens : m.refine_after(c, query, r.context, r.view, {}, s, r.handover);
      result.ids.insert(result.ids.end(), out.begin(), out.end());
      result.draft_ids.insert(result.draft_ids.end(), r.view.tokens.begin(), r.view.tokens.end());
      done.text = r.head + text_after(out_tok, r.context, out);
      drafted += done.draft_text;
      emitted += done.text;
    } else {
      const std::vector<TokenId> out = p.refines() ? m.refine_after(c, query, document, view, spans, s, Handover{}) : view.tokens;
      document.insert(document.end(), out.begin(), out.end());
      result.ids.insert(result.ids.end(), out.begin(), out.end());
      if (p.drafts()) result.draft_ids.insert(result.draft_ids.end(), view.tokens.begin(), view.tokens.end());
      const std::string text = text_after(out_tok, prompt_ids, result.ids);
      done.text = text.compare(0, emitted.size(), emitted) == 0 ? text.substr(emitted.size()) : text;
      emitted = text;
    }
    events.on_section(done);
  }
  c.check_forbidden(emitted);
  result.text = emitted;
  result.stopped = ended;
  if (p.drafts()) result.draft_text = crossing ? drafted : text_after(out_tok, prompt_ids, result.draft_ids);
  result.trace.n_generated = int64_t(result.ids.size());
}

PipelineResult Pipeline::edit(const EditRequest& request, PipelineObserver* observer) {
  return edit(request, impl_->cfg, observer);
}

PipelineResult Pipeline::edit(const EditRequest& request, const PipelineConfig& settings, PipelineObserver* observer) {
  Impl& m = *impl_;
  if (!m.refiner) fail("edit", "editing needs the refiner, which this pipeline did not load (pipeline.mode is ar_only)");
  settings.refine.validate();
  settings.draft.sampler.validate();
  PipelineConfig s = settings;  // the request's forbidden phrases join the configured ones
  s.pipeline.forbid.insert(s.pipeline.forbid.end(), request.forbid.begin(), request.forbid.end());
  const EditPlan plan = plan_edit(request);
  const auto start = Clock::now();
  PipelineResult result;
  TraceRecorder events(result.trace, observer);
  m.with_call(s, m.for_own_text(s.spans), events, [&](const Call& c) {
    m.edit(c, request, plan, result);
    return 0;
  });
  result.trace.seconds = seconds_since(start);
  return result;
}

// Pipeline::edit: the document's tokens marked, the fix chosen or the phrases placed, the
// masked runs refined window by window with text on both sides, then the text, checked; then
// the continuation, drafted after it.
void Pipeline::Impl::edit(const Call& c, const EditRequest& request, EditPlan plan, PipelineResult& result) {
  Impl& m = *this;
  const bool fix = plan.fix() && request.continue_tokens == 0;
  // Forbidden phrases already in the text are rewritten; a lock may not keep one.
  if (const auto& ban = c.cfg.refine.ban) {
    for (size_t from = 0; const auto hit = ban->find_in(std::string_view(plan.text).substr(from));) {
      const size_t at = from + hit->at;
      const CharRange r{code_point_offset(plan.text, at), code_point_offset(plan.text, at + hit->phrase.size())};
      for (const CharRange& l : plan.lock)
        if (l.begin < r.end && r.begin < l.end)
          fail(str_cat("lock ", l.begin, ":", l.end), "keeps the forbidden phrase '", hit->phrase, "'");
      plan.rewrite.push_back(r);
      from = at + hit->phrase.size();
    }
  }
  const Tokenizer& tok = refiner->tokenizer();
  EditDocument doc(tok, plan, refiner->mask_id());
  // With phrases to place, or no drafter, the refiner writes the continuation as a gap at the end.
  const bool continue_as_gap = request.continue_tokens > 0 && (!plan.require.empty() || !drafter);
  if (continue_as_gap) doc.append_gap(request.continue_tokens);
  std::vector<TokenId> passages;
  if (c.cfg.pipeline.retrieve_for_refine)
    passages = m.passages_for(c, tok, request.context + plan.text, 0, "retrieve_draft");
  const int64_t ctx = refiner->model()->config().max_position_embeddings;
  const std::vector<TokenId> prefix = frozen_context(tok, passages, tok.encode(request.context), ctx, ctx / 2);
  if (fix) doc.mask_source(m.fix_spans(c, doc.source_ids(), plan.text, prefix));
  m.place_phrases(plan, doc, prefix);

  // The document as the edit starts, then what the refiner will write.
  const std::vector<std::string> texts = doc.token_texts();
  for (size_t i = 0; i < texts.size(); ++i) c.events.on_draft_token({0, int64_t(i), doc.tokens()[i].id, texts[i], 0, 0, false});
  SpansEvent spans{0, fix ? c.strategy : "edit", int64_t(doc.tokens().size()), {}, {}};
  for (const Span& run : doc.masked_runs()) spans.spans.push_back({run, 0.0f, false});
  c.events.on_spans(spans);
  m.refine_document(c, doc, prefix);
  // The check scores the refiner's tokens with the drafter: only when they share a vocabulary.
  if (fix && drafter && c.cfg.spans.verify && shared_vocabulary) m.keep_likelier_runs(c, doc);
  doc.end_gaps_at(tok.eos_id());
  for (int64_t i = 0; i < int64_t(doc.tokens().size()); ++i) {  // the text's tokens the edit changed
    const EditToken& t = doc.tokens()[size_t(i)];
    const TokenId before = t.source >= 0 ? doc.source_ids()[size_t(t.source)] : t.id;
    if (t.id != before) c.events.on_edit({0, i, before, t.id, tok.id_to_piece(before), tok.id_to_piece(t.id)});
  }

  std::string text = doc.text();
  for (size_t i = 0; i < plan.require.size(); ++i)
    if (text.find(plan.require[i].text.substr(plan.require[i].text.find_first_not_of(' '))) == std::string::npos)
      fail(str_cat("require[", i, "]"), "'", plan.require[i].text, "' is not in the result (internal)");
  c.check_forbidden(text);
  c.events.on_section({0, text, request.text});
  result.draft_ids = doc.source_ids();
  for (const EditToken& t : doc.tokens()) result.ids.push_back(t.id);
  result.trace.n_generated = int64_t(std::count_if(doc.tokens().begin(), doc.tokens().end(), [](const EditToken& t) {
    return t.source < 0 || t.id != t.source;
  }));
  result.draft_text = request.text;
  result.text = text;

  if (request.continue_tokens > 0 && !continue_as_gap) {  // drafted after the text, then refined
    PipelineConfig more = c.cfg;
    more.pipeline.max_tokens = request.continue_tokens;
    more.pipeline.mode = PipelineMode::kHybrid;
    PipelineResult continued;
    with_call(more, more.spans, c.events, [&](const Call& cc) {
      m.write(cc, request.context + text, continued);
      return 0;
    });
    result.text += continued.text;
    result.draft_text += continued.draft_text;
    result.ids.insert(result.ids.end(), continued.ids.begin(), continued.ids.end());
    result.trace.n_generated += continued.trace.n_generated;
  }
}

// The fix: spans chosen over the user's text window by window, by the call's selector: the
// drafter's scores of the text when it is loaded, else the refiner's confidence.
std::vector<Span> Pipeline::Impl::fix_spans(const Call& c, const std::vector<TokenId>& ids, const std::string& text,
                                            const std::vector<TokenId>& prefix) {
  const auto start = Clock::now();
  std::vector<float> logprobs;
  const SpanStrategy strategy = c.selector.params().strategy;
  if (drafter && (strategy == SpanStrategy::kLogprob || strategy == SpanStrategy::kCombined)) {
    // Without BOS the text's first token has no score (nothing predicts it): it counts as certain.
    const Tokenizer& dt = drafter->tokenizer();
    const std::vector<TokenId> scored = shared_vocabulary ? ids : dt.encode(text);
    const bool first_unscored = dt.bos_for_model() < 0;
    if (!first_unscored || scored.size() > 1) logprobs = score_text(*drafter->model(), dt, text).logprobs;
    if (first_unscored) logprobs.insert(logprobs.begin(), 0.0f);
    if (logprobs.size() != scored.size()) fail("edit", "the drafter scored ", logprobs.size(), " tokens of ", scored.size());
    if (!shared_vocabulary) {  // the drafter's scores go to the refiner's tokens over the same bytes
      const auto spell = [&text](const Tokenizer& tok, const std::vector<TokenId>& t) {
        return token_ends(text, tok, t, [&](int64_t i) { return tok.decode({t.begin(), t.begin() + i + 1}); });
      };
      logprobs = carry_scores(spell(dt, scored), logprobs, std::vector<float>(scored.size(), 0.0f),
                              spell(refiner->tokenizer(), ids)).logprobs;
    }
  }
  const int64_t ctx = refiner->model()->config().max_position_embeddings;
  const int64_t window = std::max<int64_t>(1, (ctx - int64_t(prefix.size())) / 2);
  std::vector<Span> out;
  for (int64_t b = 0; b < int64_t(ids.size()); b += window) {
    c.check_stop();
    const int64_t e = std::min<int64_t>(int64_t(ids.size()), b + window);
    DraftView view;
    view.context = prefix;
    const std::vector<TokenId> before = tail(std::vector<TokenId>(ids.begin(), ids.begin() + b), ctx - int64_t(prefix.size()) - (e - b));
    view.context.insert(view.context.end(), before.begin(), before.end());
    view.tokens.assign(ids.begin() + b, ids.begin() + e);
    if (!logprobs.empty()) view.logprobs.assign(logprobs.begin() + b, logprobs.begin() + e);
    view.entropies.assign(view.tokens.size(), 0.0f);
    for (const Span& s : c.selector.select(view)) out.push_back({s.begin + b, s.end + b});
  }
  c.events.on_stage({"select_spans", seconds_since(start), drafter && !logprobs.empty() ? 1 : 0, 0}, 0);
  return out;
}

// The fix's check: a rewritten run stays only where the drafter finds the text likelier with
// it: its tokens and the few after it (which read differently after the change) score higher
// in all. Elsewhere the text's own tokens come back, reported as one more step.
void Pipeline::Impl::keep_likelier_runs(const Call& c, EditDocument& doc) {
  constexpr int64_t kAfter = 4;  // tokens after a run its change bears on
  const auto start = Clock::now();
  std::vector<TokenId> now;
  for (const EditToken& t : doc.tokens()) now.push_back(t.id);
  const std::vector<TokenId>& was = doc.source_ids();  // the fix keeps the text's length, token for token
  const Tokenizer& tok = drafter->tokenizer();
  if (tok.bos_for_model() < 0 && now.size() < 2) {  // one token and no BOS: nothing predicts it
    c.events.on_stage({"verify", seconds_since(start), 0, 0}, 0);
    return;
  }
  const ScoreResult before = score_ids(*drafter->model(), tok, was);
  const ScoreResult after = score_ids(*drafter->model(), tok, now);
  const int64_t n = int64_t(now.size());
  // Without BOS the first token is not scored (nothing predicts it): it counts as 0 either way.
  const auto logprob = [n](const ScoreResult& s, int64_t j) {
    const int64_t first = n - int64_t(s.logprobs.size());
    return j < first ? 0.0 : double(s.logprobs[size_t(j - first)]);
  };
  RefineStepEvent undo{0, {}, {}};
  undo.step.step = -1;
  // Runs of tokens the fix chose and changed (what an edit asked for, it keeps).
  auto fixed = [&](int64_t i) { return now[size_t(i)] != was[size_t(i)] && doc.tokens()[size_t(i)].fix; };
  for (int64_t i = 0; i < n;) {
    if (!fixed(i)) {
      ++i;
      continue;
    }
    int64_t end = i + 1;
    while (end < n && fixed(end)) ++end;
    double gain = 0;
    for (int64_t j = i; j < std::min(n, end + kAfter); ++j) gain += logprob(after, j) - logprob(before, j);
    if (gain <= 0)
      for (int64_t j = i; j < end; ++j) {
        doc.tokens()[size_t(j)].id = was[size_t(j)];
        undo.step.committed.push_back(j);
        undo.step.tokens.push_back(was[size_t(j)]);
        undo.step.confidence.push_back(1.0f);
        undo.texts.push_back(tok.piece_text(was[size_t(j)]));
      }
    i = end;
  }
  if (!undo.step.committed.empty()) c.events.on_refine_step(undo);
  c.events.on_stage({"verify", seconds_since(start), 2, int64_t(undo.step.committed.size())}, 0);
}

// The canvas of document tokens [begin, end) after the frozen prefix: the refiner writes the
// masked ones (a gap slot shows the mask), everything else is read only.
Canvas Pipeline::Impl::document_canvas(const EditDocument& doc, const std::vector<TokenId>& prefix, int64_t begin,
                                       int64_t end) const {
  std::vector<TokenId> ids;
  for (int64_t i = begin; i < end; ++i) ids.push_back(doc.tokens()[size_t(i)].id);
  Canvas canvas = Canvas::from_parts(prefix, ids);
  for (int64_t i = begin; i < end; ++i) canvas.roles[size_t(canvas.n_context + i - begin)] = doc.tokens()[size_t(i)].role;
  return canvas;
}

// Each required phrase into the masked run it names (at its position) or, without one, where
// the refiner finds it likeliest: its mean log-probability over the candidate places, each
// scored in one pass with the rest of the run masked.
void Pipeline::Impl::place_phrases(const EditPlan& plan, EditDocument& doc, const std::vector<TokenId>& prefix) const {
  const int64_t ctx = refiner->model()->config().max_position_embeddings;
  for (size_t q = 0; q < plan.require.size(); ++q) {
    const RequiredPhrase& phrase = plan.require[q];
    const std::string what = str_cat("require[", q, "]");
    // Tokens that spell " phrase" (a word after the text before it), as the tokenizer writes it.
    const std::string spelled = " " + phrase.text.substr(phrase.text.find_first_not_of(' '));
    const std::vector<TokenId> ids = encode_continuation(refiner->tokenizer(), spelled);
    const int64_t n = int64_t(ids.size());
    const std::vector<Span> runs = doc.masked_runs();
    auto run_of = [&](int64_t i) {
      for (const Span& r : runs)
        if (i >= r.begin && i < r.end) return r;
      return Span{-1, -1};
    };
    int64_t largest = 0;
    for (const Span& r : runs) largest = std::max(largest, r.end - r.begin);
    std::vector<int64_t> candidates;
    if (phrase.at >= 0) {
      const int64_t i = doc.masked_index_at(phrase.at);
      const Span r = run_of(i);
      if (i < 0 || i + n > r.end)
        fail(what, "'", phrase.text, "' needs ", n, " tokens but the room at ", phrase.at, " has ", i < 0 ? 0 : r.end - i);
      candidates.push_back(i);
    } else {
      for (const Span& r : runs) {
        const int64_t places = r.end - r.begin - n + 1;
        for (int64_t k = 0; k < std::min<int64_t>(places, 16); ++k) candidates.push_back(r.begin + k * places / std::min<int64_t>(places, 16));
      }
      if (candidates.empty())
        fail(what, "'", phrase.text, "' needs ", n, " tokens but the largest rewrite range or gap has ", largest);
    }
    int64_t best = candidates[0];
    double best_score = -std::numeric_limits<double>::infinity();
    for (int64_t k : candidates) {
      if (candidates.size() == 1) break;
      const Span r = run_of(k);
      const int64_t room = ctx - int64_t(prefix.size());
      const int64_t begin = std::max<int64_t>(0, std::min(r.begin, r.end - room / 2 - room / 4));
      const int64_t end = std::min<int64_t>(int64_t(doc.tokens().size()), begin + room);
      Canvas canvas = document_canvas(doc, prefix, begin, end);
      for (int64_t j = 0; j < canvas.n_draft(); ++j)
        if (canvas.roles[size_t(canvas.n_context + j)] == CanvasRole::kMasked) canvas.tokens[size_t(canvas.n_context + j)] = refiner->mask_id();
      for (int64_t j = 0; j < n; ++j) {
        canvas.tokens[size_t(canvas.n_context + k - begin + j)] = ids[size_t(j)];
        canvas.roles[size_t(canvas.n_context + k - begin + j)] = CanvasRole::kDraft;  // scored
      }
      const std::vector<float> p = refiner->token_probabilities(canvas);
      double score = 0;
      for (int64_t j = 0; j < n; ++j) score += std::log(std::max(1e-30f, p[size_t(canvas.n_context + k - begin + j)]));
      if (score / double(n) > best_score) best_score = score / double(n), best = k;
    }
    doc.place(ids, best);
  }
}

// The masked runs refined window by window: each window holds as much text on both sides of
// its masked tokens as the refiner's context allows, after the frozen prefix; what a window
// writes is read-only text for the next.
void Pipeline::Impl::refine_document(const Call& c, EditDocument& doc, const std::vector<TokenId>& prefix) {
  const int64_t ctx = refiner->model()->config().max_position_embeddings;
  const int64_t room = ctx - int64_t(prefix.size());
  const int64_t n = int64_t(doc.tokens().size());
  auto masked = [&](int64_t i) { return doc.tokens()[size_t(i)].role == CanvasRole::kMasked; };
  for (int64_t from = 0;;) {
    int64_t first = from;
    while (first < n && !masked(first)) ++first;
    if (first >= n) break;
    c.check_stop();
    const auto start = Clock::now();
    // The masked tokens within half the room from the first, then text on both sides.
    int64_t core_end = first + 1;
    for (int64_t i = first; i < std::min(n, first + std::max<int64_t>(1, room / 2)); ++i)
      if (masked(i)) core_end = i + 1;
    const int64_t rest = room - (core_end - first);
    const int64_t right = std::min(n - core_end, rest - std::min(first, rest / 2));
    const int64_t left = std::min(first, rest - right);
    const int64_t begin = first - left, end = core_end + right;
    Canvas canvas = document_canvas(doc, prefix, begin, end);
    for (int64_t j = 0; j < canvas.n_draft(); ++j)  // masked tokens past the core wait for the next window
      if (begin + j >= core_end && canvas.roles[size_t(canvas.n_context + j)] == CanvasRole::kMasked)
        canvas.roles[size_t(canvas.n_context + j)] = CanvasRole::kFrozen;
    const int64_t shift = begin - canvas.n_context;  // canvas position + shift = document index
    const RefineResult r = denoiser().denoise(canvas, c.cfg.refine, [&](const RefineStep& step) {
      RefineStepEvent e{0, step, {}};
      for (int64_t& i : e.step.committed) i += shift;
      for (int64_t& i : e.step.remasked) i += shift;
      for (TokenId id : e.step.tokens) e.texts.push_back(refiner->tokenizer().piece_text(id));
      c.events.on_refine_step(e);
      c.check_stop();
    });
    check_denoised(canvas, r);
    int64_t written = 0;
    for (int64_t i = first; i < core_end; ++i) {
      EditToken& t = doc.tokens()[size_t(i)];
      if (t.role != CanvasRole::kMasked) continue;
      t.id = r.tokens[size_t(i - shift)];
      t.role = CanvasRole::kFrozen;
      ++written;
    }
    c.events.on_stage({"refine", seconds_since(start), r.trace.n_forward, written}, 0);
    from = core_end;
  }
}

}  // namespace sculpt
