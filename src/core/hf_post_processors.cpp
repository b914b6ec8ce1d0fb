// tokenizer.json post-processors (see hf_post_processors.h).
#include "core/hf_post_processors.h"

#include <map>

#include "core/bpe_model.h"

namespace sculpt::hf {
namespace {

// A single-sequence template: the sequence ($A) and runs of special token ids around it
// (processors/template.rs, apply_template).
class Template : public PostProcessor {
 public:
  struct Item {
    bool is_sequence = false;
    std::vector<TokenId> ids;  // the special token's ids
  };
  explicit Template(std::vector<Item> items) : items_(std::move(items)) {}

  void add_special_tokens(std::vector<TokenId>& ids) const override {
    std::vector<TokenId> out;
    out.reserve(ids.size() + 4);
    for (const Item& item : items_) {
      if (item.is_sequence) {
        out.insert(out.end(), ids.begin(), ids.end());
      } else {
        out.insert(out.end(), item.ids.begin(), item.ids.end());
      }
    }
    ids = std::move(out);
  }

 private:
  std::vector<Item> items_;
};

// ByteLevel as a post-processor only trims offsets.
class NoIds : public PostProcessor {
 public:
  void add_special_tokens(std::vector<TokenId>&) const override {}
};

class Sequence : public PostProcessor {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PostProcessor>> parts) : parts_(std::move(parts)) {}
  void add_special_tokens(std::vector<TokenId>& ids) const override {
    for (const auto& p : parts_) p->add_special_tokens(ids);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

TokenId read_id(const json& v, const JsonAt& at) { return TokenId(get_uint(v, at, uint64_t(BpeModel::kMaxId))); }

std::unique_ptr<PostProcessor> make_template(const json& j, const JsonAt& at) {
  check_keys(j, at, {"type", "single", "pair", "special_tokens"});
  // special_tokens: {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}, ...}
  std::map<std::string, std::vector<TokenId>> specials;
  const json& st = require_object(member(j, at, "special_tokens"), at["special_tokens"]);
  for (auto it = st.begin(); it != st.end(); ++it) {
    const JsonAt here = at["special_tokens"][it.key()];
    const json& s = require_object(it.value(), here);
    check_keys(s, here, {"id", "ids", "tokens"});
    const json& ids = member(s, here, "ids");
    const json& tokens = member(s, here, "tokens");
    if (!ids.is_array() || !tokens.is_array()) here.fail("expected \"ids\" and \"tokens\" arrays");
    if (ids.size() != tokens.size()) here.fail("\"ids\" and \"tokens\" must have the same length");
    std::vector<TokenId>& out = specials[get_string(s, here, "id")];
    out.clear();
    for (size_t i = 0; i < ids.size(); ++i) out.push_back(read_id(ids[i], here["ids"][i]));
  }
  const auto read_template = [&](const char* key, bool single) {
    const json& list = member(j, at, key);
    if (!list.is_array()) at[key].fail("expected an array, found ", json_kind(list));
    std::vector<Template::Item> items;
    for (size_t i = 0; i < list.size(); ++i) {
      const JsonAt here = at[key][i];
      const json& piece = require_object(list[i], here);
      if (piece.size() != 1) here.fail("expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
      if (piece.contains("Sequence")) {
        const json& seq = require_object(piece["Sequence"], here["Sequence"]);
        check_keys(seq, here["Sequence"], {"id", "type_id"});
        const std::string id = get_string(seq, here["Sequence"], "id");
        if (id != "A" && id != "B") here["Sequence"]["id"].unsupported(id, "expected A or B");
        if (single && id == "B") here["Sequence"]["id"].fail("$B in the single-sequence template");
        items.push_back({id == "A", {}});
      } else if (piece.contains("SpecialToken")) {
        const json& tok = require_object(piece["SpecialToken"], here["SpecialToken"]);
        check_keys(tok, here["SpecialToken"], {"id", "type_id"});
        const std::string id = get_string(tok, here["SpecialToken"], "id");
        const auto found = specials.find(id);
        if (found == specials.end()) here["SpecialToken"]["id"].fail("'", printable(id), "' is not in special_tokens");
        items.push_back({false, found->second});
      } else {
        here.fail("expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
      }
    }
    return items;
  };
  std::vector<Template::Item> single = read_template("single", true);
  read_template("pair", false);  // validated; pairs are not encoded here
  return std::make_unique<Template>(std::move(single));
}

// BertProcessing / RobertaProcessing: [cls] $A [sep], each given as ["token", id].
std::unique_ptr<PostProcessor> make_cls_sep(const json& j, const JsonAt& at, bool roberta) {
  if (roberta) {
    check_keys(j, at, {"type", "sep", "cls", "trim_offsets", "add_prefix_space"});
  } else {
    check_keys(j, at, {"type", "sep", "cls"});
  }
  const auto read = [&](const char* key) {
    const json& v = member(j, at, key);
    if (!v.is_array() || v.size() != 2 || !v[0].is_string()) at[key].fail("expected [\"token\", id]");
    return read_id(v[1], at[key][1]);
  };
  std::vector<Template::Item> items;
  items.push_back({false, {read("cls")}});
  items.push_back({true, {}});
  items.push_back({false, {read("sep")}});
  return std::make_unique<Template>(std::move(items));
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const json& j, const JsonAt& at) {
  const std::string type = component_type(j, at);
  if (type == "TemplateProcessing") return make_template(j, at);
  if (type == "BertProcessing") return make_cls_sep(j, at, /*roberta=*/false);
  if (type == "RobertaProcessing") return make_cls_sep(j, at, /*roberta=*/true);
  if (type == "ByteLevel") {
    check_keys(j, at, {"type", "add_prefix_space", "trim_offsets", "use_regex"});
    return std::make_unique<NoIds>();
  }
  if (type == "Sequence") {
    check_keys(j, at, {"type", "processors"});
    const json& list = member(j, at, "processors");
    if (!list.is_array()) at["processors"].fail("expected an array, found ", json_kind(list));
    std::vector<std::unique_ptr<PostProcessor>> parts;
    for (size_t i = 0; i < list.size(); ++i) parts.push_back(make_post_processor(list[i], at["processors"][i]));
    return std::make_unique<Sequence>(std::move(parts));
  }
  at["type"].unsupported(type,
                         "supported post-processors: TemplateProcessing, BertProcessing, RobertaProcessing, "
                         "ByteLevel, Sequence");
}

std::unique_ptr<PostProcessor> make_bos_eos_template(TokenId bos, TokenId eos) {
  std::vector<Template::Item> items;
  if (bos >= 0) items.push_back({false, {bos}});
  items.push_back({true, {}});
  if (eos >= 0) items.push_back({false, {eos}});
  return std::make_unique<Template>(std::move(items));
}

}  // namespace sculpt::hf
