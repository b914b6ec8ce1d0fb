// Tests for the typed YAML configuration layer (core/config.h): loading, errors, --set
// overrides, the dump round trip and the help table.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/error.h"

namespace sculpt {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// --- Small params structs, shaped like the real ones ------------------------------------------

enum class Sampler { kGreedy, kTopP };

Choices<Sampler> sampler_choices() {
  return {{"greedy", Sampler::kGreedy}, {"top_p", Sampler::kTopP}};
}

struct DraftParams {
  int max_tokens = 128;      // new tokens to draft
  float temperature = 0.8f;  // 0 = greedy
  Sampler sampler = Sampler::kTopP;
  std::string model;  // model directory ("" = none)

  template <class V>
  void visit(V& v) {
    v.field("max_tokens", max_tokens, "new tokens to draft", Range{1, 1 << 20});
    v.field("temperature", temperature, "softmax temperature; 0 = greedy", Range{0.0, 100.0});
    v.field("sampler", sampler, "token sampler", sampler_choices());
    v.field("model", model, "model directory");
  }
  void validate() const {
    if (sampler == Sampler::kGreedy && temperature != 0.0f)
      fail("DraftParams", "greedy sampling needs temperature 0, got ", temperature);
  }
};

struct DeepParams {
  int level = 3;  // depth marker
  template <class V>
  void visit(V& v) {
    v.field("level", level, "how deep", Range::at_least(0));
  }
};

struct InnerParams {
  DeepParams deep;
  double scale = 2.5;
  template <class V>
  void visit(V& v) {
    v.field("scale", scale, "a double in a nested section");
    v.section("deep", deep, "a section two levels down");
  }
};

struct TypesParams {
  bool flag = false;
  int count = 1;
  std::int64_t offset = -5;
  std::uint64_t seed = 7;
  float ratio = 0.5f;
  double weight = 0.25;
  std::string name = "hi";
  Sampler mode = Sampler::kGreedy;
  std::vector<std::string> stop = {"</s>"};
  std::vector<int> ids = {1, 2};
  std::vector<double> weights;
  InnerParams inner;

  template <class V>
  void visit(V& v) {
    v.field("flag", flag, "a bool");
    v.field("count", count, "an int");
    v.field("offset", offset, "an int64");
    v.field("seed", seed, "a uint64");
    v.field("ratio", ratio, "a float");
    v.field("weight", weight, "a double");
    v.field("name", name, "a string");
    v.field("mode", mode, "an enum", sampler_choices());
    v.field("stop", stop, "a list of strings");
    v.field("ids", ids, "a list of ints", Range{0, 100});
    v.field("weights", weights, "a list of doubles");
    v.section("inner", inner, "a nested section");
  }
};

struct AppConfig {
  DraftParams draft;
  TypesParams types;
  template <class V>
  void visit(V& v) {
    v.section("draft", draft, "drafting");
    v.section("types", types, "one field of each type");
  }
};

bool operator==(const TypesParams& a, const TypesParams& b) {
  auto same_float = [](double x, double y) { return x == y || (std::isnan(x) && std::isnan(y)); };
  return a.flag == b.flag && a.count == b.count && a.offset == b.offset && a.seed == b.seed &&
         same_float(a.ratio, b.ratio) && same_float(a.weight, b.weight) && a.name == b.name &&
         a.mode == b.mode && a.stop == b.stop && a.ids == b.ids && a.weights == b.weights &&
         a.inner.scale == b.inner.scale && a.inner.deep.level == b.inner.deep.level;
}
bool operator==(const DraftParams& a, const DraftParams& b) {
  return a.max_tokens == b.max_tokens && a.temperature == b.temperature && a.sampler == b.sampler &&
         a.model == b.model;
}
bool operator==(const AppConfig& a, const AppConfig& b) {
  return a.draft == b.draft && a.types == b.types;
}

// --- Helpers -----------------------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/sculpt_test_config_XXXXXX";
    const char* made = ::mkdtemp(pattern);
    if (!made) fail("mkdtemp", errno_text(errno));
    path_ = made;
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string write(const std::string& name, const std::string& text) const {
    std::string file = path_ + "/" + name;
    std::ofstream(file) << text;
    return file;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The message of the Error that `fn` throws, or "" if it throws none.
template <class Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string load_error(const std::string& yaml) {
  TempDir dir;
  std::string path = dir.write("x.yaml", yaml);
  AppConfig cfg;
  std::string message = error_of([&] { load_config_file(path, cfg); });
  EXPECT_EQ(cfg, AppConfig{}) << "a failed load must leave the target unchanged";
  return message;
}

// --- Loading -----------------------------------------------------------------------------------

TEST(ConfigLoadTest, EmptyFileKeepsDefaults) {
  TempDir dir;
  for (const char* text : {"", "# only a comment\n", "---\n", "draft:\n", "draft: ~\n"}) {
    SCOPED_TRACE(text);
    AppConfig cfg;
    load_config_file(dir.write("empty.yaml", text), cfg);
    EXPECT_EQ(cfg, AppConfig{});
  }
}

TEST(ConfigLoadTest, AbsentKeysKeepDefaults) {
  AppConfig cfg;
  load_config_string("draft:\n  max_tokens: 64\n", "t.yaml", cfg);
  EXPECT_EQ(cfg.draft.max_tokens, 64);
  EXPECT_EQ(cfg.draft.temperature, 0.8f);
  EXPECT_EQ(cfg.draft.sampler, Sampler::kTopP);
  EXPECT_EQ(cfg.types, TypesParams{});
}

TEST(ConfigLoadTest, LoadsEveryType) {
  AppConfig cfg;
  load_config_string(R"(
types:
  flag: true
  count: -42
  offset: -9000000000
  seed: 18446744073709551615
  ratio: 0.1
  weight: 1e-5
  name: "a \"quoted\" name"
  mode: top_p
  stop: ["\n\n", END]
  ids: [0, 100]
  weights:
    - 0.5
    - -.inf
)",
                     "t.yaml", cfg);
  const TypesParams& t = cfg.types;
  EXPECT_TRUE(t.flag);
  EXPECT_EQ(t.count, -42);
  EXPECT_EQ(t.offset, -9000000000LL);
  EXPECT_EQ(t.seed, std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(t.ratio, 0.1f);
  EXPECT_EQ(t.weight, 1e-5);
  EXPECT_EQ(t.name, "a \"quoted\" name");
  EXPECT_EQ(t.mode, Sampler::kTopP);
  EXPECT_EQ(t.stop, (std::vector<std::string>{"\n\n", "END"}));
  EXPECT_EQ(t.ids, (std::vector<int>{0, 100}));
  EXPECT_EQ(t.weights, (std::vector<double>{0.5, -std::numeric_limits<double>::infinity()}));
}

TEST(ConfigLoadTest, AcceptsYaml12BoolsIntegersAsFloatsAndEmptyLists) {
  AppConfig cfg;
  load_config_string("types: {flag: True, ratio: 2, weight: +3, ids: [], stop: []}\n", "t.yaml",
                     cfg);
  EXPECT_TRUE(cfg.types.flag);
  EXPECT_EQ(cfg.types.ratio, 2.0f);
  EXPECT_EQ(cfg.types.weight, 3.0);
  EXPECT_TRUE(cfg.types.ids.empty());
  EXPECT_TRUE(cfg.types.stop.empty());
}

TEST(ConfigLoadTest, LoadsNestedSections) {
  AppConfig cfg;
  load_config_string("types:\n  inner:\n    scale: 4\n    deep:\n      level: 9\n", "t.yaml", cfg);
  EXPECT_EQ(cfg.types.inner.scale, 4.0);
  EXPECT_EQ(cfg.types.inner.deep.level, 9);
  EXPECT_EQ(cfg.types.count, 1);
}

TEST(ConfigLoadTest, MissingFileNamesIt) {
  TempDir dir;
  AppConfig cfg;
  std::string message = error_of([&] { load_config_file(dir.path() + "/nope.yaml", cfg); });
  EXPECT_THAT(message, HasSubstr("nope.yaml"));
  EXPECT_THAT(message, HasSubstr("No such file"));
}

TEST(ConfigLoadTest, CallsValidateAndNamesTheFile) {
  std::string message =
      load_error("draft:\n  sampler: greedy\n");  // temperature stays 0.8: invalid together
  EXPECT_THAT(message,
              HasSubstr("x.yaml: draft: DraftParams: greedy sampling needs temperature 0"));

  AppConfig cfg;
  load_config_string("draft: {sampler: greedy, temperature: 0}\n", "t.yaml", cfg);
  EXPECT_EQ(cfg.draft.sampler, Sampler::kGreedy);
}

// Each row: YAML text, then substrings the error must contain (file:line, dotted key, reason).
struct ErrorCase {
  std::string yaml;
  std::vector<const char*> expected;
};

TEST(ConfigLoadTest, ErrorsNameFileLineKeyAndReason) {
  const ErrorCase cases[] = {
      {"draft:\n  max_tokens: ten\n",
       {"x.yaml:2: draft.max_tokens: expected an integer, got 'ten'"}},
      {"draft:\n\n  max_tokens: 1.5\n",
       {"x.yaml:3: draft.max_tokens: expected an integer, got '1.5'"}},
      {"draft:\n  max_tokens: 99999999999\n",
       {"x.yaml:2: draft.max_tokens:", "out of range for int"}},
      {"draft:\n  max_tokens: \"10\"\n", {"x.yaml:2:", "got the quoted string '10'"}},
      {"draft:\n  max_tokens: 0\n", {"x.yaml:2: draft.max_tokens: must be in [1, 1048576], got 0"}},
      {"draft:\n  max_tokens: {a: 1}\n",
       {"x.yaml:2: draft.max_tokens: expected an integer, got a mapping"}},
      {"draft:\n  max_tokens: [1]\n", {"x.yaml:2:", "got a sequence"}},
      {"draft:\n  max_tokens:\n", {"x.yaml:2: draft.max_tokens: expected an integer, got null"}},
      {"draft:\n  temperature: hot\n",
       {"x.yaml:2: draft.temperature: expected a number, got 'hot'"}},
      {"draft:\n  temperature: 101\n", {"x.yaml:2:", "must be in [0, 100], got 101"}},
      {"types:\n  ratio: 1e39\n", {"x.yaml:2: types.ratio: 1e39 is out of range for float"}},
      {"types:\n  seed: -1\n", {"x.yaml:2: types.seed: expected a non-negative integer, got '-1'"}},
      {"types:\n  flag: yes\n", {"x.yaml:2: types.flag: expected true or false, got 'yes'"}},
      {"draft:\n  sampler: topp\n",
       {"x.yaml:2: draft.sampler: expected one of greedy, top_p; got 'topp'"}},
      {"draft:\n  model: ~\n", {"x.yaml:2: draft.model: expected a string, got null"}},
      {"draft:\n  model: [a]\n", {"x.yaml:2: draft.model: expected a string, got a sequence"}},
      {"types:\n  ids: [1, x]\n", {"x.yaml:2: types.ids[1]: expected an integer, got 'x'"}},
      {"types:\n  ids:\n    - 1\n    - 101\n",
       {"x.yaml:4: types.ids[1]: must be in [0, 100], got 101"}},
      {"types:\n  ids: 3\n", {"x.yaml:2: types.ids: expected a list of integers, got '3'"}},
      {"types:\n  stop:\n", {"x.yaml:2: types.stop:", "write [] for an empty list"}},
      {"types:\n  inner:\n    deep:\n      level: -1\n",
       {"x.yaml:4: types.inner.deep.level: must be >= 0"}},
      {"draft:\n  max_tokens: 1\n\n\n  max_tokn: 2\n",
       {"x.yaml:5: draft.max_tokn: unknown key (did you mean 'max_tokens'?)"}},
      {"drafr:\n  max_tokens: 1\n", {"x.yaml:1: drafr: unknown key (did you mean 'draft'?)"}},
      {"draft:\n  zzz: 1\n", {"x.yaml:2: draft.zzz: unknown key (expected one of: max_tokens, "}},
      {"draft: 3\n", {"x.yaml:1: draft: expected a section (a mapping of keys), got '3'"}},
      {"draft:\n  max_tokens: 1\n  max_tokens: 2\n",
       {"x.yaml:3: draft.max_tokens: duplicate key (first at line 2)"}},
      {"draft:\n  model: [a, b\n", {"x.yaml:3:", "invalid YAML"}},
      {"draft: {max_tokens: 1}\n---\ndraft: {max_tokens: 2}\n", {"x.yaml:3:", "one YAML document"}},
      {"- draft\n", {"x.yaml:1:", "expected a mapping of keys at the top level"}},
      // Characters YAML does not allow, refused before yaml-cpp parses (fuzz_yaml_config found
      // "\0,\0" making its scanner allocate without bound).
      {std::string("\0,\0", 3),
       {"x.yaml:1: not YAML text (column 1): non-printable character U+0000"}},
      {"draft:\n  model: a\x01"
       "b\n",
       {"x.yaml:2: not YAML text (column 11): non-printable character U+0001"}},
      {"draft:\n  model: \xc2\x9b\n", {"x.yaml:2:", "U+009B"}},
      {"draft:\n  model: caf\xe9\n", {"x.yaml:2: not YAML text (column 13): invalid UTF-8"}},
      // yaml-cpp 0.7's LoadAll loops without bound at a ',' starting a document (#1040).
      {" ,", {"x.yaml:1: invalid YAML (column 2): unexpected ','"}},
      {"draft: {max_tokens: 1}\n...\n,\n", {"x.yaml:3: invalid YAML (column 1): unexpected ','"}},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.yaml);
    std::string message = load_error(c.yaml);
    ASSERT_FALSE(message.empty()) << "no error";
    for (const char* part : c.expected) EXPECT_THAT(message, HasSubstr(part));
  }
}

TEST(ConfigLoadTest, AliasesMayNotMultiplyTheText) {
  AppConfig cfg;
  load_config_string("types: {name: &n x, stop: [*n, *n]}\ndraft: {model: *n}\n", "t.yaml", cfg);
  EXPECT_EQ(cfg.draft.model, "x");
  EXPECT_EQ(cfg.types.stop, (std::vector<std::string>{"x", "x"}));

  // "Billion laughs": each alias list repeats the one before it ten times (10^6 nodes).
  std::string laughs = "types:\n  stop: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 5; ++i) {
    laughs += str_cat("  k", i, ": &a", i, " [");
    for (int j = 0; j < 10; ++j) laughs += str_cat(j ? ", " : "", "*a", i - 1);
    laughs += "]\n";
  }
  const std::string expected = "x.yaml: YAML aliases (*name) expand this text far beyond its size";
  EXPECT_THAT(load_error(laughs), HasSubstr(expected));
  EXPECT_THAT(load_error("types:\n  stop: &a [*a]\n"), HasSubstr(expected));
  EXPECT_THAT(error_of([&] { apply_override(cfg, "types.stop=&a [*a]"); }),
              HasSubstr("--set types.stop=&a [*a]: YAML aliases (*name) expand"));
}

// --- --set overrides ---------------------------------------------------------------------------

TEST(ConfigOverrideTest, SetsEachKindOfValue) {
  AppConfig cfg;
  apply_override(cfg, "draft.max_tokens=64");
  apply_override(cfg, "draft.model=models/tiny llama");
  apply_override(cfg, "types.mode=top_p");
  apply_override(cfg, "types.ids=[3, 4]");
  apply_override(cfg, "types.stop=[\"a b\", c]");
  apply_override(cfg, "types.inner.deep.level = 5");
  apply_override(cfg, "types.weight=.nan");
  EXPECT_EQ(cfg.draft.max_tokens, 64);
  EXPECT_EQ(cfg.draft.model, "models/tiny llama");
  EXPECT_EQ(cfg.types.mode, Sampler::kTopP);
  EXPECT_EQ(cfg.types.ids, (std::vector<int>{3, 4}));
  EXPECT_EQ(cfg.types.stop, (std::vector<std::string>{"a b", "c"}));
  EXPECT_EQ(cfg.types.inner.deep.level, 5);
  EXPECT_TRUE(std::isnan(cfg.types.weight));
}

TEST(ConfigOverrideTest, ErrorsNameTheAssignment) {
  const std::pair<const char*, const char*> cases[] = {
      {"draft.max_tokens=abc", "--set draft.max_tokens=abc: expected an integer, got 'abc'"},
      {"draft.max_tokn=3",
       "--set draft.max_tokn=3: unknown key 'draft.max_tokn' (did you mean 'draft.max_tokens'?)"},
      {"draft.max_tokens", "--set draft.max_tokens: expected key=value"},
      {"=3", "--set =3: expected key=value"},
      {"draft=3",
       "--set draft=3: 'draft' is a section; set one of its keys, e.g. draft.max_tokens"},
      {"types.ids=[1, x]", "--set types.ids=[1, x]: types.ids[1]: expected an integer, got 'x'"},
      {"types.ids=[1", "--set types.ids=[1: invalid YAML value"},
      {"draft.model=", "--set draft.model=: expected a string, got null"},
      {"draft.max_tokens=0", "--set draft.max_tokens=0: must be in [1, 1048576], got 0"},
      {"draft.model=,", "--set draft.model=,: invalid YAML value: unexpected ','"},
      {"draft.model=a\x7f", "--set draft.model=a\x7f: not YAML text (column 2): non-printable"},
  };
  for (const auto& [assignment_, expected] : cases) {
    const char* assignment = assignment_;  // a lambda cannot capture a structured binding in C++17
    SCOPED_TRACE(assignment);
    AppConfig cfg;
    EXPECT_THAT(error_of([&] { apply_override(cfg, assignment); }), HasSubstr(expected));
    EXPECT_EQ(cfg, AppConfig{});
  }
}

TEST(ConfigOverrideTest, ValidatesAfterOneOverrideAndOnceAfterSeveral) {
  AppConfig cfg;
  EXPECT_THAT(error_of([&] { apply_override(cfg, "draft.sampler=greedy"); }),
              HasSubstr("--set draft.sampler=greedy: draft: DraftParams: greedy sampling"));
  apply_overrides(cfg, {"draft.sampler=greedy", "draft.temperature=0"});
  EXPECT_EQ(cfg.draft.sampler, Sampler::kGreedy);
}

TEST(ConfigOverrideTest, LoadConfigAppliesFileThenOverrides) {
  TempDir dir;
  std::string path = dir.write("run.yaml", "draft: {max_tokens: 10, sampler: greedy}\n");
  AppConfig cfg;
  load_config(path, {"draft.temperature=0", "draft.max_tokens=20"}, cfg);
  EXPECT_EQ(cfg.draft.max_tokens, 20);
  EXPECT_EQ(cfg.draft.sampler, Sampler::kGreedy);

  AppConfig other;
  EXPECT_THAT(error_of([&] { load_config(path, {}, other); }),
              HasSubstr("run.yaml: draft: DraftParams: greedy sampling"));
}

// --- Dump and describe -------------------------------------------------------------------------

TEST(ConfigDumpTest, RoundTripsThroughLoad) {
  AppConfig original;
  original.draft.temperature = 0.1f;
  original.draft.model = "dir with \"quotes\", # and \\ and\nnewline\ttab";
  original.types.flag = true;
  original.types.count = std::numeric_limits<int>::min();
  original.types.offset = std::numeric_limits<std::int64_t>::min();
  original.types.seed = std::numeric_limits<std::uint64_t>::max();
  original.types.ratio = 1e-5f;
  original.types.weight = 0.1 + 0.2;
  original.types.name = "";
  original.types.mode = Sampler::kTopP;
  original.types.stop = {"", "yes", "~", "null", "\x01"};
  original.types.ids = {};
  original.types.weights = {1e-300, 3.0, std::numeric_limits<double>::infinity(),
                            std::numeric_limits<double>::denorm_min()};
  original.types.inner.scale = -0.0;
  original.types.inner.deep.level = 0;

  std::string text = dump_config(original);
  AppConfig loaded;
  load_config_string(text, "dump", loaded);
  EXPECT_EQ(loaded, original) << text;
  EXPECT_TRUE(std::signbit(loaded.types.inner.scale));
  EXPECT_EQ(dump_config(loaded), text);
}

TEST(ConfigDumpTest, PrintsDocsAsCommentsAndSections) {
  std::string text = dump_config(AppConfig{});
  EXPECT_THAT(text, HasSubstr("draft:"));
  EXPECT_THAT(text, HasSubstr("# drafting"));
  EXPECT_THAT(text, HasSubstr("  max_tokens: 128"));
  EXPECT_THAT(text, HasSubstr("# new tokens to draft; in [1, 1048576]"));
  EXPECT_THAT(text, HasSubstr("  temperature: 0.8"));
  EXPECT_THAT(text, HasSubstr("  sampler: top_p"));
  EXPECT_THAT(text, HasSubstr("one of: greedy, top_p"));
  EXPECT_THAT(text, HasSubstr("  model: \"\""));
  EXPECT_THAT(text, HasSubstr("  ids: [1, 2]"));
  EXPECT_THAT(text, HasSubstr("      level: 3"));
  EXPECT_THAT(text, HasSubstr("  weight: 0.25"));
  EXPECT_THAT(text, HasSubstr("    scale: 2.5"));
}

TEST(ConfigDumpTest, EscapesCharactersYamlTextMayNotHold) {
  // Escapes in a quoted scalar make characters that YAML text may not hold raw (C1 controls,
  // U+FFFE, U+FFFF); the dump must escape them again to load back.
  AppConfig cfg;
  load_config_string(R"(draft: {model: "a\x9b\x85\x7f\uFFFE\uFFFF\x01b"})", "t.yaml", cfg);
  std::string text = dump_config(cfg);
  EXPECT_THAT(text, HasSubstr(R"(model: "a\x9b\x85\x7f\uFFFE\uFFFF\x01b")"));
  AppConfig loaded;
  load_config_string(text, "dump", loaded);
  EXPECT_EQ(loaded.draft.model, cfg.draft.model);
}

TEST(ConfigDescribeTest, ListsKeysTypesDefaultsAndDocs) {
  AppConfig modified;
  modified.draft.max_tokens = 5;
  std::string table = describe_config(AppConfig{});
  EXPECT_THAT(table, HasSubstr("key"));
  EXPECT_THAT(table, HasSubstr("default"));
  for (const char* row : {"draft.max_tokens", "int", "128", "new tokens to draft", "draft.sampler",
                          "enum", "top_p", "one of: greedy, top_p", "types.inner.deep.level",
                          ">= 0", "list<int>", "[1, 2]", "section"}) {
    EXPECT_THAT(table, HasSubstr(row));
  }
  EXPECT_THAT(describe_config(modified), HasSubstr("5"));

  std::vector<ConfigField> fields = config_fields(AppConfig{});
  ASSERT_FALSE(fields.empty());
  EXPECT_EQ(fields[0].path, "draft");
  EXPECT_EQ(fields[0].type, ConfigType::kSection);
  EXPECT_EQ(fields[1].path, "draft.max_tokens");
  EXPECT_EQ(fields[1].type_name, "int");
  EXPECT_EQ(fields[1].value, "128");
  EXPECT_EQ(fields[1].constraint, "in [1, 1048576]");
}

// --- Removed keys ------------------------------------------------------------------------------

// DraftParams after `enabled` moved to the pipeline's mode.
struct MovedDraftParams {
  int max_tokens = 128;
  template <class V>
  void visit(V& v) {
    v.field("max_tokens", max_tokens, "new tokens to draft");
    v.removed("enabled", "pipeline.mode (hybrid, ar_only or diffusion_only)");
  }
};

struct MovedConfig {
  MovedDraftParams draft;
  template <class V>
  void visit(V& v) {
    v.section("draft", draft, "drafting");
    v.removed("refine_steps", "refine.steps");
  }
};

TEST(ConfigRemovedKeyTest, FileAndSetNameTheReplacement) {
  const ErrorCase cases[] = {
      {"draft:\n  max_tokens: 4\n  enabled: false\n",
       {"x.yaml:3: draft.enabled: not a key any more; use pipeline.mode (hybrid, ar_only or "
        "diffusion_only)"}},
      {"draft:\n  enabled:\n    - x\n", {"x.yaml:2: draft.enabled: not a key any more; use "}},
      {"refine_steps: 8\n", {"x.yaml:1: refine_steps: not a key any more; use refine.steps"}},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.yaml);
    TempDir dir;
    MovedConfig cfg;
    cfg.draft.max_tokens = 7;
    std::string message = error_of([&] { load_config_file(dir.write("x.yaml", c.yaml), cfg); });
    for (const char* part : c.expected) EXPECT_THAT(message, HasSubstr(part));
    EXPECT_EQ(cfg.draft.max_tokens, 7);
  }

  const std::pair<const char*, const char*> overrides[] = {
      {"draft.enabled=false",
       "--set draft.enabled=false: not a key any more; use pipeline.mode (hybrid, ar_only or "
       "diffusion_only)"},
      {"draft.enabled=[", "--set draft.enabled=[: not a key any more; use pipeline.mode"},
      {"refine_steps=8", "--set refine_steps=8: not a key any more; use refine.steps"},
  };
  for (const auto& [assignment_, expected] : overrides) {
    const char* assignment = assignment_;
    SCOPED_TRACE(assignment);
    MovedConfig cfg;
    EXPECT_THAT(error_of([&] { apply_override(cfg, assignment); }), HasSubstr(expected));
  }
}

TEST(ConfigRemovedKeyTest, NeverDumpedListedOrSuggested) {
  EXPECT_EQ(dump_config(MovedConfig{}),
            "draft:             # drafting\n"
            "  max_tokens: 128  # new tokens to draft\n");
  EXPECT_THAT(describe_config(MovedConfig{}), Not(HasSubstr("enabled")));
  std::vector<ConfigField> fields = config_fields(MovedConfig{});
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0].path, "draft");
  EXPECT_EQ(fields[1].path, "draft.max_tokens");

  MovedConfig cfg;
  std::string message = error_of([&] { load_config_string("draft: {enable: true}\n", "x", cfg); });
  EXPECT_THAT(message, HasSubstr("x:1: draft.enable: unknown key (expected one of: max_tokens)"));
  message = error_of([&] { apply_override(cfg, "draft.enable=true"); });
  EXPECT_THAT(message, HasSubstr("unknown key 'draft.enable'"));
  EXPECT_THAT(message, Not(HasSubstr("enabled")));
}

// --- Changes to another config ------------------------------------------------------------------

// A file of changes to an AppConfig, shaped like an ablation file.
struct StudyConfig {
  std::string base = "base.yaml";
  std::vector<ConfigOverride> set;
  std::vector<ConfigOverrideChoices> grid;
  template <class V>
  void visit(V& v) {
    v.field("base", base, "the config the changes apply to");
    v.field("set", set, "changes for every run");
    v.field("grid", grid, "alternatives; every combination runs");
  }
};

// The message of loading `yaml` as x.yaml into a T; checks that the target stays unchanged.
template <class T>
std::string file_error(const std::string& yaml) {
  TempDir dir;
  T cfg;
  const std::string before = dump_config(cfg);
  std::string message = error_of([&] { load_config_file(dir.write("x.yaml", yaml), cfg); });
  EXPECT_EQ(dump_config(cfg), before) << "a failed load must leave the target unchanged";
  return message;
}

// The changes loaded from "set:\n  <key>: <value>\n", as text.
ConfigOverride load_one_override(const std::string& key, const std::string& value) {
  StudyConfig study;
  load_config_string("set:\n  " + key + ": " + value + "\n", "s.yaml", study);
  EXPECT_EQ(study.set.size(), 1u);
  return study.set.empty() ? ConfigOverride{} : study.set[0];
}

// What `--set key=value` does to an AppConfig: the dump, or the error without the assignment.
std::string apply_result(const std::string& key, const std::string& value) {
  AppConfig cfg;
  const std::string assignment = key + "=" + value;
  std::string message = error_of([&] { apply_override(cfg, assignment); });
  return message.empty() ? dump_config(cfg) : message.substr(6 + assignment.size());
}

TEST(ConfigOverridesTest, KeepsKeysInFileOrderWithWhere) {
  StudyConfig study;
  load_config_string(
      "base: b.yaml\nset:\n  types.count: 8\n  draft.model: \"10\"\n\n  types.stop: [\"a\", b]\n",
      "s.yaml", study);
  ASSERT_EQ(study.set.size(), 3u);
  const std::vector<std::vector<std::string>> expected = {
      {"types.count", "8", "s.yaml:3"},
      {"draft.model", "\"10\"", "s.yaml:4"},
      {"types.stop", "[a, b]", "s.yaml:6"},
  };
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(study.set[i].key, expected[i][0]);
    EXPECT_EQ(study.set[i].value, expected[i][1]);
    EXPECT_EQ(study.set[i].where, expected[i][2]);
  }
}

TEST(ConfigOverridesTest, ValueTextSetsWhatTheFileWrote) {
  // Each row: key, value as written in the file, the value text kept. Applying the text with
  // --set must do what applying the written value does: the same config or the same error.
  const std::vector<std::vector<std::string>> cases = {
      {"types.count", "8", "8"},
      {"types.count", "\"10\"", "\"10\""},  // refused by an int field, as written
      {"types.name", "\"10\"", "\"10\""},
      {"types.name", "10", "10"},
      {"types.name", "!!str 10", "\"10\""},
      {"types.name", "'it''s'", "\"it's\""},
      {"types.name", "a, b", "\"a, b\""},
      {"types.name", "models/tiny llama", "\"models/tiny llama\""},
      {"types.name", "\"\\x9b\\t \\\"q\\\"\"", "\"\\x9b\\t \\\"q\\\"\""},
      {"types.name", "|\n    two\n    lines", "\"two\\nlines\\n\""},
      {"types.flag", "True", "True"},
      {"types.flag", "\"true\"", "\"true\""},
      {"types.name", "\"yes\"", "\"yes\""},
      {"types.mode", "\"top_p\"", "top_p"},
      {"types.weight", "-.inf", "-.inf"},
      {"types.weight", "\"inf\"", "\"inf\""},  // plain inf would be a number
      {"types.name", "\"0x10\"", "\"0x10\""},
      {"types.weights", "[1e-5, +3, .nan, \"1\"]", "[1e-5, +3, .nan, \"1\"]"},
      {"types.stop", "[\"a\", \"b\"]", "[a, b]"},
      {"types.stop", "[\"a b\", \"\", \"x,y\", '#', \"-\", \"---\", \"...\", null]",
       "[\"a b\", \"\", \"x,y\", \"#\", \"-\", \"---\", \"...\", ~]"},
      {"types.stop", "\n    - a\n    - \"b c\"", "[a, \"b c\"]"},
      {"types.stop", "[a, ~]", "[a, ~]"},
      {"types.ids", "[1, [2]]", "[1, [2]]"},
      {"types.inner", "{scale: 3, deep: {level: [1, {b: \"c d\"}]}}",
       "{scale: 3, deep: {level: [1, {b: \"c d\"}]}}"},
  };
  for (const std::vector<std::string>& c : cases) {
    SCOPED_TRACE(c[0] + ": " + c[1]);
    ConfigOverride o = load_one_override(c[0], c[1]);
    EXPECT_EQ(o.key, c[0]);
    EXPECT_EQ(o.value, c[2]);
    if (c[1].find('\n') == std::string::npos) {
      EXPECT_EQ(apply_result(o.key, o.value), apply_result(c[0], c[1]));
    } else {  // --set takes one line: compare with loading the block value from a file
      const std::size_t dot = c[0].find('.');
      AppConfig from_file;
      load_config_string(c[0].substr(0, dot) + ":\n  " + c[0].substr(dot + 1) + ": " + c[1] + "\n",
                         "t.yaml", from_file);
      EXPECT_EQ(apply_result(o.key, o.value), dump_config(from_file));
    }
  }
}

TEST(ConfigOverridesTest, GridListsAlternatives) {
  StudyConfig study;
  load_config_string(R"(grid:
  spans.logprob_threshold: [-3.0, -5.0]
  refine.steps: 8
  draft.stop: [[a, b], [c]]
  draft.model: "x y"
)",
                     "s.yaml", study);
  ASSERT_EQ(study.grid.size(), 4u);
  EXPECT_EQ(study.grid[0].key, "spans.logprob_threshold");
  EXPECT_EQ(study.grid[0].values, (std::vector<std::string>{"-3.0", "-5.0"}));
  EXPECT_EQ(study.grid[0].where, "s.yaml:2");
  EXPECT_EQ(study.grid[1].values, (std::vector<std::string>{"8"}));
  EXPECT_EQ(study.grid[2].values, (std::vector<std::string>{"[a, b]", "[c]"}));
  EXPECT_EQ(study.grid[3].values, (std::vector<std::string>{"\"x y\""}));
  EXPECT_EQ(study.grid[3].where, "s.yaml:5");
}

TEST(ConfigOverridesTest, ErrorsNameFileLineKeyAndReason) {
  const ErrorCase cases[] = {
      {"set:\n", {"x.yaml:1: set: expected a mapping of keys to values, got null (write {} "}},
      {"set: [a]\n", {"x.yaml:1: set: expected a mapping of keys to values, got a sequence"}},
      {"grid: 3\n", {"x.yaml:1: grid: expected a mapping of keys to values, got '3'"}},
      {"set:\n  a.b: 1\n  a.b: 2\n", {"x.yaml:3: set.a.b: duplicate key (first at line 2)"}},
      {"set:\n  \"a.b\": 1\n",
       {"x.yaml:2: set: keys must be plain names, got the quoted string 'a.b' as a key"}},
      {"set: {[a]: 1}\n", {"x.yaml:1: set: keys must be plain names, got a sequence as a key"}},
      {"set:\n  a=b: 1\n", {"x.yaml:2: set.a=b: a key may not contain '='"}},
      {"set:\n  a.b:\n", {"x.yaml:2: set.a.b: expected a value, got null"}},
      {"grid:\n  a.b: []\n", {"x.yaml:2: grid.a.b: expected at least one alternative, got []"}},
      {"grid:\n  a.b: [1, ~]\n", {"x.yaml:2: grid.a.b[1]: expected a value, got null"}},
      {"grid:\n  a.b:\n    - 1\n    -\n", {"x.yaml:3: grid.a.b[1]: expected a value, got null"}},
      {"set: {a: &x [*x]}\n", {"x.yaml: YAML aliases (*name) expand this text"}},
      {"sett: {}\n", {"x.yaml:1: sett: unknown key (did you mean 'set'?)"}},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.yaml);
    std::string message = file_error<StudyConfig>(c.yaml);
    ASSERT_FALSE(message.empty()) << "no error";
    for (const char* part : c.expected) EXPECT_THAT(message, HasSubstr(part));
  }
}

TEST(ConfigOverridesTest, SetReplacesTheMapping) {
  StudyConfig study;
  load_config_string("set: {types.count: 1}\n", "s.yaml", study);
  apply_override(study, "set={types.count: 8, types.stop: [a, \"b\"]}");
  ASSERT_EQ(study.set.size(), 2u);
  EXPECT_EQ(study.set[1].key, "types.stop");
  EXPECT_EQ(study.set[1].value, "[a, b]");
  EXPECT_EQ(study.set[1].where, "--set set={types.count: 8, types.stop: [a, \"b\"]}");
  apply_override(study, "grid={types.count: [1, 2]}");
  ASSERT_EQ(study.grid.size(), 1u);
  EXPECT_EQ(study.grid[0].values, (std::vector<std::string>{"1", "2"}));

  const std::pair<const char*, const char*> cases[] = {
      {"set={a: 1, a: 2}", "--set set={a: 1, a: 2}: set.a: duplicate key (first at line 1)"},
      {"grid={a: []}", "--set grid={a: []}: grid.a: expected at least one alternative, got []"},
      {"set=", "--set set=: expected a mapping of keys to values, got null (write {} for none)"},
  };
  for (const auto& [assignment_, expected] : cases) {
    const char* assignment = assignment_;
    SCOPED_TRACE(assignment);
    EXPECT_THAT(error_of([&] { apply_override(study, assignment); }), HasSubstr(expected));
  }
}

TEST(ConfigOverridesTest, DumpRoundTripsAndDescribes) {
  StudyConfig study;
  load_config_string(R"(set:
  types.count: 8
  types.stop: ["a, b", c]
  types.name: "10"
grid:
  types.weight: [-3.0, -5.0]
  types.ids: [[1, 2]]
  types.count: 4
)",
                     "s.yaml", study);
  const std::string text = dump_config(study);
  EXPECT_EQ(text,
            "base: \"base.yaml\"  # the config the changes apply to\n"
            "set:               # changes for every run\n"
            "  types.count: 8\n"
            "  types.stop: [\"a, b\", c]\n"
            "  types.name: \"10\"\n"
            "grid:              # alternatives; every combination runs\n"
            "  types.weight: [-3.0, -5.0]\n"
            "  types.ids: [[1, 2]]\n"
            "  types.count: 4\n");
  StudyConfig loaded;
  load_config_string(text, "dump", loaded);
  EXPECT_EQ(dump_config(loaded), text);
  EXPECT_EQ(loaded.grid[1].values, (std::vector<std::string>{"[1, 2]"}));
  EXPECT_EQ(loaded.set[2].where, "dump:5");

  EXPECT_THAT(dump_config(StudyConfig{}), HasSubstr("set: {}"));
  EXPECT_THAT(dump_config(StudyConfig{}), HasSubstr("grid: {}"));
  std::vector<ConfigField> fields = config_fields(study);
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[1].path, "set");
  EXPECT_EQ(fields[1].type, ConfigType::kOverrides);
  EXPECT_EQ(fields[1].type_name, "map<key, value>");
  EXPECT_EQ(fields[1].value, "{types.count: 8, types.stop: [\"a, b\", c], types.name: \"10\"}");
  EXPECT_EQ(fields[2].type_name, "map<key, values>");
  EXPECT_EQ(fields[2].value, "{types.weight: [-3.0, -5.0], types.ids: [[1, 2]], types.count: 4}");
  EXPECT_THAT(describe_config(StudyConfig{}), HasSubstr("grid  map<key, values>  {}"));
}

// --- Lists of sections -------------------------------------------------------------------------

struct VariantParams {
  std::string name;                 // folder of the variant's outputs
  int repeats = 1;                  // runs of the variant
  DeepParams deep;                  // a nested section
  std::vector<ConfigOverride> set;  // changes to the base config
  template <class V>
  void visit(V& v) {
    v.field("name", name, "folder of the variant's outputs");
    v.field("repeats", repeats, "runs of the variant", Range{1, 10});
    v.section("deep", deep, "a section in each element");
    v.field("set", set, "changes to the base config");
  }
  void validate() const {
    if (name.empty()) fail("VariantParams", "name is empty; every variant needs one");
  }
};

struct GroupParams {
  std::string title = "group";
  std::vector<VariantParams> variants;
  template <class V>
  void visit(V& v) {
    v.field("title", title, "group title");
    v.section_list("variants", variants, "the group's runs");
  }
};

struct AblationConfig {
  std::string base = "base.yaml";
  std::vector<VariantParams> variants;
  std::vector<GroupParams> groups;
  template <class V>
  void visit(V& v) {
    v.field("base", base, "the config the changes apply to");
    v.section_list("variants", variants, "named runs");
    v.section_list("groups", groups, "lists in a list");
  }
};

TEST(ConfigSectionListTest, LoadsEachElementFromDefaults) {
  AblationConfig cfg;
  cfg.variants.resize(3);
  load_config_string(R"(variants:
  - name: short
    set: {refine.steps: 8}
  - name: long
    repeats: 3
    deep: {level: 9}
groups:
  - variants: [{name: a}, {name: b, repeats: 2}]
)",
                     "s.yaml", cfg);
  ASSERT_EQ(cfg.variants.size(), 2u);  // the whole list is replaced
  EXPECT_EQ(cfg.variants[0].name, "short");
  EXPECT_EQ(cfg.variants[0].repeats, 1);
  ASSERT_EQ(cfg.variants[0].set.size(), 1u);
  EXPECT_EQ(cfg.variants[0].set[0].value, "8");
  EXPECT_EQ(cfg.variants[0].set[0].where, "s.yaml:3");
  EXPECT_EQ(cfg.variants[1].repeats, 3);
  EXPECT_EQ(cfg.variants[1].deep.level, 9);
  EXPECT_TRUE(cfg.variants[1].set.empty());
  ASSERT_EQ(cfg.groups.size(), 1u);
  EXPECT_EQ(cfg.groups[0].title, "group");
  ASSERT_EQ(cfg.groups[0].variants.size(), 2u);
  EXPECT_EQ(cfg.groups[0].variants[1].repeats, 2);

  load_config_string("base: other.yaml\n", "s.yaml", cfg);
  EXPECT_EQ(cfg.variants.size(), 2u);  // absent: unchanged
  load_config_string("variants: []\n", "s.yaml", cfg);
  EXPECT_TRUE(cfg.variants.empty());
}

TEST(ConfigSectionListTest, ErrorsNameTheElement) {
  const ErrorCase cases[] = {
      {"variants:\n",
       {"x.yaml:1: variants: expected a list of sections, got null (write [] for an empty list)"}},
      {"variants: {name: a}\n", {"x.yaml:1: variants: expected a list of sections, got a mapping"}},
      {"variants: short\n", {"x.yaml:1: variants: expected a list of sections, got 'short'"}},
      {"variants:\n  - name: a\n  - short\n",
       {"x.yaml:3: variants[1]: expected a section (a mapping of keys), got 'short'"}},
      {"variants:\n  - name: a\n  - ~\n",
       {"variants[1]: expected a section (a mapping of keys), got null (write {} for an element"}},
      {"variants:\n  - name: a\n    nmae: b\n",
       {"x.yaml:3: variants[0].nmae: unknown key (did you mean 'name'?)"}},
      {"variants:\n  - name: a\n    name: b\n",
       {"x.yaml:3: variants[0].name: duplicate key (first at line 2)"}},
      {"variants:\n  - name: a\n  - name: b\n    set:\n      k: 1\n      k: 2\n",
       {"x.yaml:6: variants[1].set.k: duplicate key (first at line 5)"}},
      {"variants:\n  - name: a\n    repeats: 0\n",
       {"x.yaml:3: variants[0].repeats: must be in [1, 10], got 0"}},
      {"variants:\n  - name: a\n    set:\n",
       {"x.yaml:3: variants[0].set: expected a mapping of keys to values, got null"}},
      {"variants:\n  - {name: a, deep: {level: -1}}\n",
       {"x.yaml:2: variants[0].deep.level: must be >= 0"}},
      {"variants:\n  - name: a\n  - repeats: 2\n",
       {"x.yaml: variants[1]: VariantParams: name is empty; every variant needs one"}},
      {"groups:\n  - title: g\n    variants:\n      - name: a\n      - nam: b\n",
       {"x.yaml:5: groups[0].variants[1].nam: unknown key (did you mean 'name'?)"}},
      {"groups:\n  - variants: [{name: \"\"}]\n",
       {"x.yaml: groups[0].variants[0]: VariantParams: name is empty"}},
      {"variants: [&v {name: a}, *v, *v]\nvariant: 1\n",
       {"x.yaml:2: variant: unknown key (did you mean 'variants'?)"}},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.yaml);
    std::string message = file_error<AblationConfig>(c.yaml);
    ASSERT_FALSE(message.empty()) << "no error";
    for (const char* part : c.expected) EXPECT_THAT(message, HasSubstr(part));
  }
}

TEST(ConfigSectionListTest, SetReplacesTheList) {
  AblationConfig cfg;
  const std::string assignment = "variants=[{name: a, set: {refine.steps: 8}}, {name: b}]";
  apply_override(cfg, assignment);
  ASSERT_EQ(cfg.variants.size(), 2u);
  EXPECT_EQ(cfg.variants[1].name, "b");
  ASSERT_EQ(cfg.variants[0].set.size(), 1u);
  EXPECT_EQ(cfg.variants[0].set[0].where, "--set " + assignment);

  const std::pair<const char*, const char*> cases[] = {
      {"variants=[{nam: a}]",
       "--set variants=[{nam: a}]: variants[0].nam: unknown key (did you mean 'name'?)"},
      {"variants=[{repeats: 2}]",
       "--set variants=[{repeats: 2}]: variants[0]: VariantParams: name is empty"},
      {"variants=", "--set variants=: expected a list of sections, got null (write [] for an "},
      {"variants[0].name=x", "--set variants[0].name=x: unknown key 'variants[0].name'"},
  };
  for (const auto& [assignment_, expected] : cases) {
    const char* assignment = assignment_;
    SCOPED_TRACE(assignment);
    AblationConfig other;
    EXPECT_THAT(error_of([&] { apply_override(other, assignment); }), HasSubstr(expected));
    EXPECT_TRUE(other.variants.empty());
  }
}

TEST(ConfigSectionListTest, DumpRoundTripsAndDescribes) {
  AblationConfig cfg;
  load_config_string(R"(variants:
  - name: short
    set: {refine.steps: 8, draft.stop: ["a", "b c"]}
  - {name: long, deep: {level: 0}}
groups:
  - title: g
    variants: [{name: a}]
  - variants: []
)",
                     "s.yaml", cfg);
  const std::string text = dump_config(cfg);
  EXPECT_EQ(text,
            "base: \"base.yaml\"   # the config the changes apply to\n"
            "variants:           # named runs\n"
            "  - name: \"short\"   # folder of the variant's outputs\n"
            "    repeats: 1      # runs of the variant; in [1, 10]\n"
            "    deep:           # a section in each element\n"
            "      level: 3      # how deep; >= 0\n"
            "    set:            # changes to the base config\n"
            "      refine.steps: 8\n"
            "      draft.stop: [a, \"b c\"]\n"
            "  - name: \"long\"    # folder of the variant's outputs\n"
            "    repeats: 1      # runs of the variant; in [1, 10]\n"
            "    deep:           # a section in each element\n"
            "      level: 0      # how deep; >= 0\n"
            "    set: {}         # changes to the base config\n"
            "groups:             # lists in a list\n"
            "  - title: \"g\"      # group title\n"
            "    variants:       # the group's runs\n"
            "      - name: \"a\"   # folder of the variant's outputs\n"
            "        repeats: 1  # runs of the variant; in [1, 10]\n"
            "        deep:       # a section in each element\n"
            "          level: 3  # how deep; >= 0\n"
            "        set: {}     # changes to the base config\n"
            "  - title: \"group\"  # group title\n"
            "    variants: []    # the group's runs\n");
  AblationConfig loaded;
  load_config_string(text, "dump", loaded);
  EXPECT_EQ(dump_config(loaded), text);
  EXPECT_THAT(dump_config(AblationConfig{}), HasSubstr("variants: []"));

  std::vector<std::string> paths, values;
  for (const ConfigField& f : config_fields(cfg)) {
    paths.push_back(f.path);
    values.push_back(f.value);
  }
  EXPECT_EQ(paths, (std::vector<std::string>{
                       "base", "variants", "variants[].name", "variants[].repeats",
                       "variants[].deep", "variants[].deep.level", "variants[].set", "groups",
                       "groups[].title", "groups[].variants", "groups[].variants[].name",
                       "groups[].variants[].repeats", "groups[].variants[].deep",
                       "groups[].variants[].deep.level", "groups[].variants[].set"}));
  EXPECT_EQ(values[1],
            "[{name: \"short\", repeats: 1, deep: {level: 3}, set: {refine.steps: 8, draft.stop: "
            "[a, \"b c\"]}}, {name: \"long\", repeats: 1, deep: {level: 0}, set: {}}]");
  EXPECT_EQ(values[3], "1");  // an element's default
  std::string table = describe_config(AblationConfig{});
  EXPECT_THAT(table, HasSubstr("variants                        list<section>"));
  EXPECT_THAT(table, HasSubstr("variants[].repeats              int"));
}

struct TwiceDeclared {
  int a = 0;
  template <class V>
  void visit(V& v) {
    v.field("a", a, "first");
    v.field("a", a, "again");
  }
};

TEST(ConfigSchemaTest, RefusesAKeyDeclaredTwice) {
  TwiceDeclared cfg;
  EXPECT_THAT(error_of([&] { dump_config(cfg); }), HasSubstr("key 'a' is declared twice"));
}

struct RemovedWithoutReplacement {
  template <class V>
  void visit(V& v) {
    v.removed("old", "");
  }
};

TEST(ConfigSchemaTest, RefusesARemovedKeyWithoutReplacement) {
  RemovedWithoutReplacement cfg;
  EXPECT_THAT(error_of([&] { dump_config(cfg); }),
              HasSubstr("removed key 'old' must name what to write instead"));
}

}  // namespace
}  // namespace sculpt

// --- Checked strings ----------------------------------------------------------------------------

namespace sculpt {
namespace {

struct PathsConfig {
  std::string base;  // must name an existing file
  template <class V>
  void visit(V& v) {
    v.field("base", base, "a file that must exist", [](const std::string& path) {
      return path == "exists.yaml" ? std::string() : "'" + path + "' not found";
    });
  }
};

TEST(ConfigCheckedStringTest, TheCheckRunsWhereTheValueIsWritten) {
  PathsConfig cfg;
  load_config_string("base: exists.yaml\n", "x.yaml", cfg);
  EXPECT_EQ(cfg.base, "exists.yaml");
  EXPECT_THAT(error_of([&] { load_config_string("# paths\nbase: nope.yaml\n", "x.yaml", cfg); }),
              HasSubstr("x.yaml:2: base: 'nope.yaml' not found"));
  EXPECT_THAT(error_of([&] { apply_override(cfg, "base=nope.yaml"); }),
              HasSubstr("--set base=nope.yaml: 'nope.yaml' not found"));
  EXPECT_EQ(cfg.base, "exists.yaml");           // a refused value changes nothing
  load_config_string("base: \"\"\n", "x.yaml", cfg);  // empty is not checked: "none"
  EXPECT_EQ(cfg.base, "");
}

}  // namespace
}  // namespace sculpt
