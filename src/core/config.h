// Typed YAML configuration. Each params struct lists its fields once, in a template `visit`;
// the YAML loader, `--set` overrides, the dumper and the CLI help are all driven by that list,
// so the in-class defaults are the only copy of the defaults.
//
//   DraftParams params;                                     // in-class defaults
//   sculpt::load_config("configs/draft.yaml", {"max_tokens=64"}, params);
//   std::cout << sculpt::dump_config(params);               // effective config, with docs
//
// A params struct describes itself like this (field types: bool, int, int64_t, uint64_t,
// float, double, std::string, enums with a Choices table, std::vector<std::string|int|double>,
// changes to another config (std::vector<ConfigOverride>, a grid of them as
// std::vector<ConfigOverrideChoices>), nested sections to any depth and lists of sections):
//
//   struct DraftParams {
//     int max_tokens = 128;              // new tokens to draft
//     Sampler sampler = Sampler::kTopP;
//     template <class V> void visit(V& v) {
//       v.field("max_tokens", max_tokens, "new tokens to draft", sculpt::Range{1, 1 << 20});
//       v.field("sampler", sampler, "token sampler",
//               sculpt::Choices<Sampler>{{"greedy", Sampler::kGreedy}, {"top_p", Sampler::kTopP}});
//       v.removed("enabled", "pipeline.mode (hybrid, ar_only or diffusion_only)");  // an old key
//     }
//     void validate() const;  // optional; cross-field checks, throws sculpt::Error
//   };
//   struct AppConfig {
//     DraftParams draft;
//     std::vector<VariantParams> variants;  // VariantParams has its own visit()
//     template <class V> void visit(V& v) {
//       v.section("draft", draft, "drafting");
//       v.section_list("variants", variants, "named runs");
//     }
//   };
//
// YAML rules (strict on purpose, so a typo never silently becomes a default):
//   - unknown keys, duplicate keys and several YAML documents in one file are errors;
//   - a removed key (v.removed) is an error that names what to write instead, in a file and in
//     --set; it is never dumped, listed in the help or suggested for a misspelt key;
//   - keys that are absent keep their current value; an empty file changes nothing, and so
//     does a section written with no keys (`draft:` or `draft: ~`);
//   - integers are decimal, must fit the field's type and may not have a fraction ("1.5");
//   - floats accept integers, decimals, exponents and .inf/-.inf/.nan; a float field refuses
//     values beyond the float range;
//   - bools are true/false (also True/TRUE/False/FALSE, as in YAML 1.2); yes/no/on/off are
//     refused, because YAML 1.1 and 1.2 disagree on them;
//   - a quoted scalar ("10") is a string and is refused by number and bool fields;
//   - null (`~`, `null` or nothing) is refused by every field: write "" or [] for empty values;
//   - anchors and aliases (&name, *name) may repeat values, but not expand the text far beyond
//     its size (nor refer to themselves);
//   - Range bounds are inclusive and also apply to each element of numeric lists;
//   - changes to another config (`set: {refine.steps: 8, draft.stop: [a, b]}`) are a mapping of
//     its dotted keys, kept in file order; keys are plain (unquoted) names without '=', values
//     are not null, and each value is kept as one line of YAML that --set reads back as the
//     same value (a quoted "10" stays a string); in a grid (`grid: {refine.steps: [8, 16]}`) a
//     sequence lists the alternatives and [] is an error; any other value is the only
//     alternative (write [[a, b]] for one list);
//   - a list of sections (v.section_list) is a sequence of mappings that replaces the whole list;
//     each element starts from S{} and is loaded like a section, with paths such as
//     variants[1].name in messages; write [] for an empty list and {} for a default element;
//   - --set key=value takes the same YAML, on one line, for every key but a section's own:
//     `--set set={refine.steps: 8}` and `--set variants=[{name: a}]` replace the whole field;
//   - after loading, the validate() of every section that has one runs (inner sections first),
//     also of each element of a list of sections, and its sculpt::Error is rethrown prefixed
//     with the file name and the section's path ("variants[1]").
// All functions throw sculpt::Error; the target struct is left unchanged when they do.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace sculpt {

// Inclusive bounds for a numeric field, or for each element of a numeric list.
struct Range {
  long double min = -std::numeric_limits<long double>::infinity();
  long double max = std::numeric_limits<long double>::infinity();

  Range() = default;  // unbounded
  template <class A, class B,
            class = std::enable_if_t<std::is_arithmetic_v<A> && std::is_arithmetic_v<B>>>
  Range(A lo, B hi) : min(static_cast<long double>(lo)), max(static_cast<long double>(hi)) {}

  template <class A>
  static Range at_least(A lo) {
    Range r;
    r.min = static_cast<long double>(lo);
    return r;
  }
  template <class A>
  static Range at_most(A hi) {
    Range r;
    r.max = static_cast<long double>(hi);
    return r;
  }
};

// The YAML names of an enum's values: Choices<Sampler>{{"greedy", Sampler::kGreedy}, ...}.
template <class E>
class Choices {
 public:
  Choices(std::initializer_list<std::pair<const char*, E>> entries)
      : entries_(entries.begin(), entries.end()) {}
  const std::vector<std::pair<const char*, E>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<const char*, E>> entries_;
};

enum class ConfigType {
  kSection,
  kBool,
  kInt,
  kInt64,
  kUint64,
  kFloat,
  kDouble,
  kString,
  kEnum,
  kStringList,
  kIntList,
  kDoubleList,
  kOverrides,        // std::vector<ConfigOverride>
  kOverrideChoices,  // std::vector<ConfigOverrideChoices>
  kSectionList,      // std::vector<S> of structs with their own visit()
  kRemoved,          // a key that no longer exists; in the schema only, never in config_fields()
};

// One change that a file makes to another config, e.g. an ablation's `set: {refine.steps: 8}`:
// apply_override(other, key + "=" + value) sets exactly the value the file wrote.
struct ConfigOverride {
  std::string key;    // dotted key of the other config, as written ("refine.steps")
  std::string value;  // the value as one line of YAML: "8", "[a, b]", "\"10\"" (a quoted 10)
  std::string where;  // "file:line" of the key, or "--set ..." when set by an override
};

// One key of a grid of changes and its alternatives, e.g. `grid: {refine.steps: [8, 16]}`.
struct ConfigOverrideChoices {
  std::string key;                  // dotted key of the other config, as written
  std::vector<std::string> values;  // each alternative as one line of YAML, as ConfigOverride
  std::string where;                // "file:line" of the key, or "--set ..."
};

// One row of the configuration's description, for CLI help and tools.
struct ConfigField {
  std::string path;  // dotted key: "draft.max_tokens"; a section's own path for sections;
                     // "variants[].name" for the fields of a list's elements, with S{}'s values
  ConfigType type = ConfigType::kSection;
  std::string type_name;  // "int", "enum", "list<string>", "map<key, value>", "list<section>", ...
  std::string value;      // current value as YAML text ("" for sections)
  std::string doc;
  std::string constraint;  // "in [1, 1048576]", "one of: greedy, top_p", or ""
};

namespace config_detail {

struct SchemaNode;
using SchemaNodeFn = std::function<void(const SchemaNode&)>;

// with_element's index for a default-constructed element, described in the help.
inline constexpr std::size_t kDefaultElement = static_cast<std::size_t>(-1);

// The type-erased schema: a tree of sections whose leaves point at the members of one struct
// instance. Built by SchemaBuilder from T::visit; read and written by config.cpp.
struct SchemaNode {
  std::string name;  // key within its section ("" for the root)
  std::string path;  // dotted path from the root ("" for the root)
  std::string doc;
  ConfigType type = ConfigType::kSection;

  // Fields.
  void* target = nullptr;                       // the member; its C++ type follows from `type`
  Range range;                                  // numbers and numeric lists
  std::vector<std::string> choice_names;        // enums
  std::function<void(std::size_t)> set_choice;  // enums: stores choice i
  std::function<std::size_t()> get_choice;      // enums: index of the current value, or npos
  std::string replacement;                      // removed keys: what to write instead
  std::function<std::string(const std::string&)> check;  // strings: why a value is refused, or ""

  // Lists of sections. The elements' schemas are made on demand, as the list changes size:
  // with_element calls fn with the schema of element i (path "variants[1]"), or of an S{} that
  // lives for the call when i is kDefaultElement (path "variants[]").
  std::function<std::size_t()> list_size;
  std::function<void(std::size_t)> list_reset;  // the list becomes n elements, each S{}
  std::function<void(std::size_t, const SchemaNodeFn&)> with_element;

  // Sections.
  std::vector<SchemaNode> children;  // in declaration order
  std::function<void()> validate;    // the struct's validate(), if it has one

  bool is_section() const { return type == ConfigType::kSection; }
};

template <class T, class = void>
struct HasValidate : std::false_type {};
template <class T>
struct HasValidate<T, std::void_t<decltype(std::declval<T&>().validate())>> : std::true_type {};

// The schema of `section` as a root whose path is `path` ("" for a whole config).
template <class S>
SchemaNode make_section_schema(S& section, std::string path);

// The visitor handed to T::visit; records each field into a SchemaNode tree.
class SchemaBuilder {
 public:
  explicit SchemaBuilder(SchemaNode& section) : section_(section) {}

  void field(std::string_view name, bool& value, std::string_view doc);
  void field(std::string_view name, int& value, std::string_view doc, Range range = {});
  void field(std::string_view name, std::int64_t& value, std::string_view doc, Range range = {});
  void field(std::string_view name, std::uint64_t& value, std::string_view doc, Range range = {});
  void field(std::string_view name, float& value, std::string_view doc, Range range = {});
  void field(std::string_view name, double& value, std::string_view doc, Range range = {});
  void field(std::string_view name, std::string& value, std::string_view doc);
  // A string checked where it is written (file:line): `check` returns why a value is refused
  // ("'x.yaml' not found"), or "" to accept it. An empty value is not checked.
  void field(std::string_view name, std::string& value, std::string_view doc,
             std::function<std::string(const std::string&)> check);
  void field(std::string_view name, std::vector<std::string>& value, std::string_view doc);
  // For numeric lists the range bounds each element.
  void field(std::string_view name, std::vector<int>& value, std::string_view doc,
             Range range = {});
  void field(std::string_view name, std::vector<double>& value, std::string_view doc,
             Range range = {});
  // A mapping of another config's dotted keys to values, kept in file order as YAML text.
  void field(std::string_view name, std::vector<ConfigOverride>& value, std::string_view doc);
  // As above, with alternatives: a sequence lists them, any other value is the only one.
  void field(std::string_view name, std::vector<ConfigOverrideChoices>& value,
             std::string_view doc);

  template <class E, class = std::enable_if_t<std::is_enum_v<E>>>
  void field(std::string_view name, E& value, std::string_view doc, const Choices<E>& choices) {
    SchemaNode& node = add(name, doc, ConfigType::kEnum, &value);
    std::vector<E> values;
    for (const auto& [choice_name, choice_value] : choices.entries()) {
      node.choice_names.emplace_back(choice_name);
      values.push_back(choice_value);
    }
    node.set_choice = [&value, values](std::size_t i) { value = values.at(i); };
    node.get_choice = [&value, values]() -> std::size_t {
      for (std::size_t i = 0; i < values.size(); ++i)
        if (values[i] == value) return i;
      return static_cast<std::size_t>(-1);
    };
  }

  // A key that no longer exists: using it is an error that names what to write instead, e.g.
  // removed("enabled", "pipeline.mode (hybrid, ar_only or diffusion_only)").
  void removed(std::string_view name, std::string_view replacement);

  template <class S>
  void section(std::string_view name, S& sub, std::string_view doc) {
    SchemaNode& node = add(name, doc, ConfigType::kSection, &sub);
    if constexpr (HasValidate<S>::value) node.validate = [&sub] { sub.validate(); };
    SchemaBuilder child(node);
    sub.visit(child);
  }

  // A list of sections: a YAML sequence of mappings, each loaded like a section into an S{}.
  template <class S>
  void section_list(std::string_view name, std::vector<S>& list, std::string_view doc) {
    SchemaNode& node = add(name, doc, ConfigType::kSectionList, &list);
    node.list_size = [&list] { return list.size(); };
    node.list_reset = [&list](std::size_t n) { list.assign(n, S{}); };
    node.with_element = [&list, path = node.path](std::size_t i, const SchemaNodeFn& fn) {
      if (i != kDefaultElement) {
        fn(make_section_schema(list.at(i), path + "[" + std::to_string(i) + "]"));
        return;
      }
      S defaults{};
      fn(make_section_schema(defaults, path + "[]"));
    };
  }

 private:
  // Appends a child to the current section; checks the name (non-empty, no '.', unique).
  SchemaNode& add(std::string_view name, std::string_view doc, ConfigType type, void* target,
                  Range range = {});

  SchemaNode& section_;
};

template <class S>
SchemaNode make_section_schema(S& section, std::string path) {
  SchemaNode root;
  root.path = std::move(path);
  if constexpr (HasValidate<S>::value) root.validate = [&section] { section.validate(); };
  SchemaBuilder builder(root);
  section.visit(builder);
  return root;
}

// The schema of `cfg`; it points into `cfg`, which must outlive it.
template <class T>
SchemaNode make_schema(T& cfg) {
  return make_section_schema(cfg, "");
}

// The non-template work, in config.cpp. None of them validate; validate_all does.
void load_yaml_file(const SchemaNode& root, const std::string& path);
void load_yaml_text(const SchemaNode& root, const std::string& text, const std::string& where);
void apply_assignment(const SchemaNode& root, const std::string& assignment);
// Runs every validate() in the tree, inner sections first; prefixes errors with `where`.
void validate_all(const SchemaNode& root, const std::string& where);
std::string dump_yaml(const SchemaNode& root);
std::vector<ConfigField> list_fields(const SchemaNode& root);
std::string format_field_table(const std::vector<ConfigField>& fields);

}  // namespace config_detail

// The keys at the top level of a YAML file, in file order, read with the checks load_config
// makes (bad text fails the same way, naming file and line); for telling which kind of config
// a file is before loading it. An empty file has none.
std::vector<std::string> config_file_sections(const std::string& path);

// Loads a YAML file into `out`; keys absent from the file keep their current values. Errors
// read "configs/x.yaml:3: draft.max_tokens: expected an integer, got 'ten'".
template <class T>
void load_config_file(const std::string& path, T& out) {
  T staged = out;
  config_detail::SchemaNode schema = config_detail::make_schema(staged);
  config_detail::load_yaml_file(schema, path);
  config_detail::validate_all(schema, path);
  out = std::move(staged);
}

// As load_config_file, from text; `where` stands for the file name in messages.
template <class T>
void load_config_string(const std::string& yaml_text, const std::string& where, T& out) {
  T staged = out;
  config_detail::SchemaNode schema = config_detail::make_schema(staged);
  config_detail::load_yaml_text(schema, yaml_text, where);
  config_detail::validate_all(schema, where);
  out = std::move(staged);
}

// Applies one "section.key=value" override (value is YAML: 64, top_p, "a b", [1, 2]) and
// validates. Errors read "--set draft.max_tokens=abc: expected an integer, got 'abc'".
template <class T>
void apply_override(T& out, const std::string& assignment) {
  T staged = out;
  config_detail::SchemaNode schema = config_detail::make_schema(staged);
  config_detail::apply_assignment(schema, assignment);
  config_detail::validate_all(schema, "--set " + assignment);
  out = std::move(staged);
}

// Applies overrides in order, then validates once (so one override may fix what another needs).
template <class T>
void apply_overrides(T& out, const std::vector<std::string>& assignments) {
  T staged = out;
  config_detail::SchemaNode schema = config_detail::make_schema(staged);
  for (const std::string& assignment : assignments)
    config_detail::apply_assignment(schema, assignment);
  config_detail::validate_all(schema, "--set overrides");
  out = std::move(staged);
}

// What the CLI does: the file (none if `path` is empty), then the overrides, then validate once.
template <class T>
void load_config(const std::string& path, const std::vector<std::string>& overrides, T& out) {
  T staged = out;
  config_detail::SchemaNode schema = config_detail::make_schema(staged);
  if (!path.empty()) config_detail::load_yaml_file(schema, path);
  for (const std::string& assignment : overrides)
    config_detail::apply_assignment(schema, assignment);
  std::string where = path.empty()        ? "--set overrides"
                      : overrides.empty() ? path
                                          : path + " with --set overrides";
  config_detail::validate_all(schema, where);
  out = std::move(staged);
}

// The configuration as YAML, each value followed by its doc as a comment. Loading the text
// back gives an equal struct (floats are printed in their shortest exact form).
template <class T>
std::string dump_config(const T& cfg) {
  T copy = cfg;  // visit() is non-const
  return config_detail::dump_yaml(config_detail::make_schema(copy));
}

// Every section and field of `cfg` in declaration order, with values read from `cfg`.
template <class T>
std::vector<ConfigField> config_fields(const T& cfg) {
  T copy = cfg;
  return config_detail::list_fields(config_detail::make_schema(copy));
}

// A help table of key, type, default and doc, for `--help`; pass T{} for the true defaults.
template <class T>
std::string describe_config(const T& defaults) {
  return config_detail::format_field_table(config_fields(defaults));
}

}  // namespace sculpt
