// The Jinja parser (core/jinja_parser.h): a recursive descent over the tokens with one
// function per jinja2 Parser method (parse_tuple, parse_condexpr, parse_or, ... parse_test),
// plus the checks that keep templates inside the supported subset.
#include "core/jinja_parser.h"

#include <algorithm>
#include <initializer_list>
#include <set>
#include <string_view>

#include "core/error.h"
#include "core/jinja_builtins.h"
#include "core/jinja_lexer.h"

namespace sculpt::jinja {
namespace {

// Tags jinja2 knows but the subset leaves out, and why a template would not need them.
bool is_unsupported_tag(std::string_view tag) {
  static const std::set<std::string_view> kTags = {
      "block",   "extends",    "print",    "macro",   "include",       "from",  "import",
      "with",    "autoescape", "call",     "filter",  "raw",           "do",    "endmacro",
      "endcall", "endfilter",  "endblock", "endwith", "endautoescape", "endraw"};
  return kTags.count(tag) > 0;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, const std::string& where)
      : tokens_(std::move(tokens)), where_(where) {}

  Template parse() {
    Template t;
    t.body = subparse({});
    return t;
  }

 private:
  // ---- tokens.
  const Token& cur() const { return tokens_[i_]; }
  const Token& look() const { return tokens_[std::min(i_ + 1, tokens_.size() - 1)]; }
  Token next() {
    Token t = tokens_[i_];
    if (i_ + 1 < tokens_.size()) ++i_;
    return t;
  }
  static bool is_op(const Token& t, std::string_view op) {
    return t.type == TokenType::kOperator && t.text == op;
  }
  static bool is_name(const Token& t, std::string_view name) {
    return t.type == TokenType::kName && t.text == name;
  }
  bool skip_op(std::string_view op) {
    if (!is_op(cur(), op)) return false;
    next();
    return true;
  }
  bool skip_name(std::string_view name) {
    if (!is_name(cur(), name)) return false;
    next();
    return true;
  }

  static std::string describe(const Token& t) {
    switch (t.type) {
      case TokenType::kText:
        return "template data";
      case TokenType::kVarBegin:
        return "begin of print statement";
      case TokenType::kVarEnd:
        return "end of print statement";
      case TokenType::kBlockBegin:
        return "begin of statement block";
      case TokenType::kBlockEnd:
        return "end of statement block";
      case TokenType::kString:
        return "string";
      case TokenType::kInteger:
        return "integer";
      case TokenType::kFloat:
        return "float";
      case TokenType::kEof:
        return "end of template";
      default:
        return t.text;
    }
  }

  template <class... Args>
  [[noreturn]] void fail_at(SourcePos pos, Args&&... message) const {
    fail(location(where_, pos), std::forward<Args>(message)...);
  }

  [[noreturn]] void fail_expected(const std::string& what) const {
    if (cur().type == TokenType::kEof)
      fail_at(cur().pos, "syntax error: unexpected end of template, expected ", what);
    fail_at(cur().pos, "syntax error: expected ", what, ", got '", describe(cur()), "'");
  }

  void expect_op(std::string_view op) {
    if (!skip_op(op)) fail_expected(str_cat("'", op, "'"));
  }
  void expect_type(TokenType type, const char* what) {
    if (cur().type != type) fail_expected(what);
    next();
  }
  Token expect_name() {
    if (cur().type != TokenType::kName) fail_expected("a name");
    return next();
  }

  // Bounds the recursion of the parser (and so of the renderer).
  class Nest {
   public:
    explicit Nest(Parser& p) : p_(p) {
      if (++p_.nesting_ > kMaxNesting)
        p_.fail_at(p_.cur().pos, "nesting deeper than ", kMaxNesting, " levels is not supported");
    }
    ~Nest() { --p_.nesting_; }
    Nest(const Nest&) = delete;
    Nest& operator=(const Nest&) = delete;

   private:
    Parser& p_;
  };

  // ---- expressions.
  ExprPtr make(ExprType type, SourcePos pos, std::vector<ExprPtr> args = {}) {
    auto e = std::make_unique<Expr>();
    e->type = type;
    e->pos = pos;
    e->args = std::move(args);
    for (const ExprPtr& a : e->args)
      if (a) e->depth = std::max(e->depth, a->depth + 1);
    if (e->depth > kMaxNesting)
      fail_at(pos, "expressions nested deeper than ", kMaxNesting, " levels are not supported");
    return e;
  }

  static std::vector<ExprPtr> list_of(ExprPtr a, ExprPtr b = nullptr, ExprPtr c = nullptr) {
    std::vector<ExprPtr> v;
    v.push_back(std::move(a));
    if (b) v.push_back(std::move(b));
    if (c) v.push_back(std::move(c));
    return v;
  }

  void add_keyword_depth(Expr& e) {
    for (const Keyword& k : e.kwargs) e.depth = std::max(e.depth, k.value->depth + 1);
    if (e.depth > kMaxNesting)
      fail_at(e.pos, "expressions nested deeper than ", kMaxNesting, " levels are not supported");
  }

  bool is_tuple_end(std::initializer_list<std::string_view> extra_end_names) const {
    const Token& t = cur();
    if (t.type == TokenType::kVarEnd || t.type == TokenType::kBlockEnd || is_op(t, ")"))
      return true;
    return std::any_of(extra_end_names.begin(), extra_end_names.end(),
                       [&](std::string_view n) { return is_name(t, n); });
  }

  enum class TupleItems { kExpression, kNoCondExpr, kPrimary };

  ExprPtr parse_tuple(TupleItems items = TupleItems::kExpression,
                      std::initializer_list<std::string_view> extra_end = {},
                      bool explicit_parentheses = false) {
    const SourcePos pos = cur().pos;
    std::vector<ExprPtr> args;
    bool is_tuple = false;
    while (true) {
      if (!args.empty()) expect_op(",");
      if (is_tuple_end(extra_end)) break;
      args.push_back(items == TupleItems::kPrimary      ? parse_primary()
                     : items == TupleItems::kNoCondExpr ? parse_or()
                                                        : parse_expression());
      if (!is_op(cur(), ",")) break;
      is_tuple = true;
    }
    if (!is_tuple) {
      if (!args.empty()) return std::move(args[0]);
      if (!explicit_parentheses)
        fail_at(cur().pos, "syntax error: expected an expression, got '", describe(cur()), "'");
    }
    return make(ExprType::kTuple, pos, std::move(args));
  }

  ExprPtr parse_expression() {
    Nest nest(*this);
    return parse_condexpr();
  }

  ExprPtr parse_condexpr() {
    SourcePos pos = cur().pos;
    ExprPtr expr = parse_or();
    while (skip_name("if")) {
      std::vector<ExprPtr> args;
      args.push_back(parse_or());  // the test
      args.push_back(std::move(expr));
      if (skip_name("else")) {
        Nest nest(*this);
        args.push_back(parse_condexpr());
      }
      expr = make(ExprType::kCondExpr, pos, std::move(args));
      pos = cur().pos;
    }
    return expr;
  }

  ExprPtr parse_or() {
    const SourcePos pos = cur().pos;
    ExprPtr left = parse_and();
    while (skip_name("or")) left = make(ExprType::kOr, pos, list_of(std::move(left), parse_and()));
    return left;
  }

  ExprPtr parse_and() {
    const SourcePos pos = cur().pos;
    ExprPtr left = parse_not();
    while (skip_name("and"))
      left = make(ExprType::kAnd, pos, list_of(std::move(left), parse_not()));
    return left;
  }

  ExprPtr parse_not() {
    if (is_name(cur(), "not")) {
      const SourcePos pos = next().pos;
      Nest nest(*this);
      return make(ExprType::kNot, pos, list_of(parse_not()));
    }
    return parse_compare();
  }

  bool compare_op(CompareOp* op) {
    static const std::pair<std::string_view, CompareOp> kOps[] = {
        {"==", CompareOp::kEq}, {"!=", CompareOp::kNe}, {"<", CompareOp::kLt},
        {"<=", CompareOp::kLe}, {">", CompareOp::kGt},  {">=", CompareOp::kGe}};
    for (const auto& [text, value] : kOps) {
      if (skip_op(text)) {
        *op = value;
        return true;
      }
    }
    if (skip_name("in")) {
      *op = CompareOp::kIn;
      return true;
    }
    if (is_name(cur(), "not") && is_name(look(), "in")) {
      next();
      next();
      *op = CompareOp::kNotIn;
      return true;
    }
    return false;
  }

  ExprPtr parse_compare() {
    const SourcePos pos = cur().pos;
    std::vector<ExprPtr> args;
    args.push_back(parse_math1());
    std::vector<CompareOp> ops;
    CompareOp op{};
    while (compare_op(&op)) {
      ops.push_back(op);
      args.push_back(parse_math1());
    }
    if (ops.empty()) return std::move(args[0]);
    ExprPtr e = make(ExprType::kCompare, pos, std::move(args));
    e->ops = std::move(ops);
    return e;
  }

  ExprPtr binary(BinaryOp op, SourcePos pos, ExprPtr left, ExprPtr right) {
    ExprPtr e = make(ExprType::kBinary, pos, list_of(std::move(left), std::move(right)));
    e->op = op;
    return e;
  }

  ExprPtr parse_math1() {
    const SourcePos pos = cur().pos;
    ExprPtr left = parse_concat();
    while (is_op(cur(), "+") || is_op(cur(), "-")) {
      const BinaryOp op = next().text == "+" ? BinaryOp::kAdd : BinaryOp::kSub;
      left = binary(op, pos, std::move(left), parse_concat());
    }
    return left;
  }

  ExprPtr parse_concat() {
    const SourcePos pos = cur().pos;
    std::vector<ExprPtr> args;
    args.push_back(parse_math2());
    while (skip_op("~")) args.push_back(parse_math2());
    if (args.size() == 1) return std::move(args[0]);
    return make(ExprType::kConcat, pos, std::move(args));
  }

  ExprPtr parse_math2() {
    const SourcePos pos = cur().pos;
    ExprPtr left = parse_pow();
    while (true) {
      BinaryOp op{};
      if (is_op(cur(), "*")) {
        op = BinaryOp::kMul;
      } else if (is_op(cur(), "/")) {
        op = BinaryOp::kDiv;
      } else if (is_op(cur(), "//")) {
        op = BinaryOp::kFloorDiv;
      } else if (is_op(cur(), "%")) {
        op = BinaryOp::kMod;
      } else {
        return left;
      }
      next();
      left = binary(op, pos, std::move(left), parse_pow());
    }
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    if (is_op(cur(), "**")) fail_at(cur().pos, "the power operator ** is not supported");
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    Nest nest(*this);
    const SourcePos pos = cur().pos;
    ExprPtr node;
    if (skip_op("-")) {
      node = make(ExprType::kNeg, pos, list_of(parse_unary(false)));
    } else if (skip_op("+")) {
      node = make(ExprType::kPos, pos, list_of(parse_unary(false)));
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr constant(SourcePos pos, Value v) {
    ExprPtr e = make(ExprType::kConst, pos);
    e->constant = std::move(v);
    return e;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    const SourcePos pos = t.pos;
    switch (t.type) {
      case TokenType::kName:
        return parse_name();
      case TokenType::kString: {
        std::string text;
        while (cur().type == TokenType::kString) text += next().text;  // "a" "b" is "ab"
        return constant(pos, Value::string(std::move(text)));
      }
      case TokenType::kInteger:
        return constant(pos, Value::integer(next().integer));
      case TokenType::kFloat:
        return constant(pos, Value::number(next().number));
      default:
        break;
    }
    if (skip_op("(")) {
      ExprPtr e = parse_tuple(TupleItems::kExpression, {}, true);
      expect_op(")");
      return e;
    }
    if (is_op(t, "[")) return parse_list();
    if (is_op(t, "{")) return parse_dict();
    fail_at(pos, "syntax error: unexpected '", describe(t), "'");
  }

  ExprPtr parse_name() {
    const Token t = next();
    if (t.text == "true" || t.text == "True") return constant(t.pos, Value::boolean(true));
    if (t.text == "false" || t.text == "False") return constant(t.pos, Value::boolean(false));
    if (t.text == "none" || t.text == "None") return constant(t.pos, Value::none());
    ExprPtr e = make(ExprType::kName, t.pos);
    e->name = t.text;
    return e;
  }

  ExprPtr parse_list() {
    const SourcePos pos = next().pos;
    std::vector<ExprPtr> items;
    while (!is_op(cur(), "]")) {
      if (!items.empty()) expect_op(",");
      if (is_op(cur(), "]")) break;
      items.push_back(parse_expression());
    }
    expect_op("]");
    return make(ExprType::kList, pos, std::move(items));
  }

  ExprPtr parse_dict() {
    const SourcePos pos = next().pos;
    std::vector<ExprPtr> items;
    while (!is_op(cur(), "}")) {
      if (!items.empty()) expect_op(",");
      if (is_op(cur(), "}")) break;
      items.push_back(parse_expression());
      expect_op(":");
      items.push_back(parse_expression());
    }
    expect_op("}");
    return make(ExprType::kDict, pos, std::move(items));
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (is_op(cur(), ".") || is_op(cur(), "[")) {
        node = parse_subscript(std::move(node));
      } else if (is_op(cur(), "(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op(cur(), "|")) {
        node = parse_filter(std::move(node));
      } else if (is_name(cur(), "is")) {
        node = parse_test(std::move(node));
      } else if (is_op(cur(), "(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr node) {
    const Token t = next();
    if (t.text == ".") {
      const Token attr = next();
      if (attr.type == TokenType::kName) {
        ExprPtr e = make(ExprType::kGetattr, t.pos, list_of(std::move(node)));
        e->name = attr.text;
        return e;
      }
      if (attr.type != TokenType::kInteger)
        fail_at(attr.pos, "syntax error: expected name or number after '.'");
      return make(ExprType::kGetitem, t.pos,
                  list_of(std::move(node), constant(attr.pos, Value::integer(attr.integer))));
    }
    std::vector<ExprPtr> keys;
    while (!is_op(cur(), "]")) {
      if (!keys.empty()) expect_op(",");
      keys.push_back(parse_subscribed());
    }
    expect_op("]");
    if (keys.size() != 1)
      fail_at(t.pos, "subscripts with ", keys.size(), " items are not supported");
    return make(ExprType::kGetitem, t.pos, list_of(std::move(node), std::move(keys[0])));
  }

  ExprPtr parse_subscribed() {
    const SourcePos pos = cur().pos;
    std::vector<ExprPtr> args;
    if (skip_op(":")) {
      args.push_back(nullptr);
    } else {
      ExprPtr node = parse_expression();
      if (!skip_op(":")) return node;
      args.push_back(std::move(node));
    }
    const auto at_end = [&] { return is_op(cur(), "]") || is_op(cur(), ","); };
    if (is_op(cur(), ":") || at_end()) {
      args.push_back(nullptr);
    } else {
      args.push_back(parse_expression());
    }
    if (skip_op(":") && !at_end()) {
      args.push_back(parse_expression());
    } else {
      args.push_back(nullptr);
    }
    return make(ExprType::kSlice, pos, std::move(args));
  }

  // (args, kwargs) into e->args (after what is already there) and e->kwargs.
  void parse_call_args(Expr& e) {
    const SourcePos pos = cur().pos;
    expect_op("(");
    bool require_comma = false;
    while (!is_op(cur(), ")")) {
      if (require_comma) {
        expect_op(",");
        if (is_op(cur(), ")")) break;  // trailing comma
      }
      if (is_op(cur(), "*") || is_op(cur(), "**"))
        fail_at(cur().pos, "*args and **kwargs in calls are not supported");
      if (cur().type == TokenType::kName && is_op(look(), "=")) {
        const std::string key = next().text;
        next();
        e.kwargs.push_back({key, parse_expression()});
      } else {
        if (!e.kwargs.empty())
          fail_at(pos, "syntax error: invalid syntax for function call expression");
        e.args.push_back(parse_expression());
      }
      require_comma = true;
    }
    expect_op(")");
    for (const ExprPtr& a : e.args) e.depth = std::max(e.depth, a->depth + 1);
    add_keyword_depth(e);
  }

  ExprPtr parse_call(ExprPtr node) {
    const SourcePos pos = node->pos;  // errors of a call point at what is called
    ExprPtr e = make(ExprType::kCall, pos, list_of(std::move(node)));
    parse_call_args(*e);
    return e;
  }

  std::string parse_dotted_name(const char* what) {
    const Token t = expect_name();
    if (is_op(cur(), ".")) fail_at(t.pos, "dotted ", what, " names are not supported");
    return t.text;
  }

  ExprPtr parse_filter(ExprPtr node) {
    while (skip_op("|")) {
      const SourcePos pos = cur().pos;
      const std::string name = parse_dotted_name("filter");
      if (!is_supported_filter(name)) fail_at(pos, "filter '", name, "' is not supported");
      node = make(ExprType::kFilter, pos, list_of(std::move(node)));
      node->name = name;
      if (is_op(cur(), "(")) parse_call_args(*node);
    }
    return node;
  }

  ExprPtr parse_test(ExprPtr node) {
    const SourcePos pos = next().pos;  // "is"
    const bool negated = skip_name("not");
    const SourcePos name_pos = cur().pos;
    const std::string name = parse_dotted_name("test");
    if (!is_supported_test(name)) fail_at(name_pos, "test '", name, "' is not supported");
    ExprPtr e = make(ExprType::kTest, pos, list_of(std::move(node)));
    e->name = name;
    const Token& t = cur();
    const bool bare_arg = (t.type == TokenType::kName || t.type == TokenType::kString ||
                           t.type == TokenType::kInteger || t.type == TokenType::kFloat ||
                           is_op(t, "[") || is_op(t, "{")) &&
                          !is_name(t, "else") && !is_name(t, "or") && !is_name(t, "and");
    if (is_op(t, "(")) {
      parse_call_args(*e);
    } else if (bare_arg) {
      // jinja2 takes one argument without parentheses: `x is divisibleby 3`.
      if (is_name(t, "is")) fail_at(t.pos, "syntax error: you cannot chain multiple tests with is");
      ExprPtr arg = parse_postfix(parse_primary());
      e->depth = std::max(e->depth, arg->depth + 1);
      e->args.push_back(std::move(arg));
    }
    if (e->depth > kMaxNesting)
      fail_at(pos, "expressions nested deeper than ", kMaxNesting, " levels are not supported");
    if (negated) return make(ExprType::kNot, pos, list_of(std::move(e)));
    return e;
  }

  // ---- statements.

  // Template text, {{ }} and {% %} up to a block whose tag is one of end_tags; leaves the
  // cursor on that tag name. With no end tags, runs to the end of the template.
  Body subparse(std::initializer_list<std::string_view> end_tags) {
    Body body;
    while (cur().type != TokenType::kEof) {
      const Token& t = cur();
      if (t.type == TokenType::kText) {
        auto s = std::make_unique<Stmt>();
        s->type = StmtType::kText;
        s->pos = t.pos;
        s->text = next().text;
        body.push_back(std::move(s));
      } else if (t.type == TokenType::kVarBegin) {
        auto s = std::make_unique<Stmt>();
        s->type = StmtType::kPrint;
        s->pos = next().pos;
        s->expr = parse_tuple();
        expect_type(TokenType::kVarEnd, "'}}'");
        body.push_back(std::move(s));
      } else {
        next();  // {%
        const Token& tag = cur();
        if (std::any_of(end_tags.begin(), end_tags.end(),
                        [&](std::string_view n) { return is_name(tag, n); }))
          return body;
        body.push_back(parse_statement());
        expect_type(TokenType::kBlockEnd, "'%}'");
      }
    }
    for (std::string_view tag : end_tags)
      if (tag.rfind("end", 0) == 0)
        fail_at(cur().pos, "syntax error: unexpected end of template, expected '", tag, "'");
    return body;
  }

  // The body of a block statement: after its tag's own tokens, up to one of end_tags.
  Body parse_statements(std::initializer_list<std::string_view> end_tags) {
    skip_op(":");
    expect_type(TokenType::kBlockEnd, "'%}'");
    Nest nest(*this);
    return subparse(end_tags);
  }

  std::unique_ptr<Stmt> parse_statement() {
    const Token& t = cur();
    if (t.type != TokenType::kName) fail_at(t.pos, "syntax error: tag name expected");
    if (t.text == "for") return parse_for();
    if (t.text == "if") return parse_if();
    if (t.text == "set") return parse_set();
    if (t.text == "break" || t.text == "continue") return parse_loop_control();
    if (t.text == "generation") return parse_generation();
    if (is_unsupported_tag(t.text)) fail_at(t.pos, "{% ", t.text, " %} is not supported");
    fail_at(t.pos, "syntax error: unexpected tag '", t.text, "'");
  }

  std::unique_ptr<Stmt> new_stmt(StmtType type) {
    auto s = std::make_unique<Stmt>();
    s->type = type;
    s->pos = next().pos;  // the tag name
    return s;
  }

  // Names assigned by for and set: a name, or names separated by commas (optionally in
  // parentheses), as jinja2's parse_assign_target with simplified tuples.
  void parse_targets(Stmt& s, std::string_view end_name) {
    const bool parenthesised = skip_op("(");
    while (true) {
      if (is_op(cur(), "(")) fail_at(cur().pos, "nested tuple targets are not supported");
      const Token t = cur();
      if (t.type != TokenType::kName || t.text == "true" || t.text == "false" || t.text == "none" ||
          t.text == "True" || t.text == "False" || t.text == "None")
        fail_at(t.pos, "syntax error: can't assign to '", describe(t), "'");
      s.targets.push_back(next().text);
      if (!skip_op(",")) break;
      s.unpack = true;
      if ((parenthesised && is_op(cur(), ")")) || (!end_name.empty() && is_name(cur(), end_name)))
        break;
    }
    if (parenthesised) {
      expect_op(")");
      if (is_op(cur(), ",")) fail_at(cur().pos, "nested tuple targets are not supported");
    }
  }

  std::unique_ptr<Stmt> parse_for() {
    auto s = new_stmt(StmtType::kFor);
    parse_targets(*s, "in");
    if (std::find(s->targets.begin(), s->targets.end(), "loop") != s->targets.end())
      fail_at(s->pos, "syntax error: can't assign to special loop variable in for-loop target");
    if (!skip_name("in")) fail_expected("'in'");
    s->expr = parse_tuple(TupleItems::kNoCondExpr, {"recursive"});
    if (skip_name("if")) s->filter = parse_expression();
    if (is_name(cur(), "recursive")) fail_at(cur().pos, "recursive for loops are not supported");
    ++loop_depth_;
    s->body = parse_statements({"endfor", "else"});
    --loop_depth_;
    if (next().text == "else") {
      s->else_body = parse_statements({"endfor"});
      next();
    }
    return s;
  }

  std::unique_ptr<Stmt> parse_if() {
    auto s = new_stmt(StmtType::kIf);
    while (true) {
      Branch branch;
      branch.condition = parse_tuple(TupleItems::kNoCondExpr);
      branch.body = parse_statements({"elif", "else", "endif"});
      s->branches.push_back(std::move(branch));
      const std::string tag = next().text;
      if (tag == "elif") continue;
      if (tag == "else") {
        s->else_body = parse_statements({"endif"});
        next();
      }
      return s;
    }
  }

  std::unique_ptr<Stmt> parse_set() {
    auto s = new_stmt(StmtType::kSet);
    if (cur().type == TokenType::kName && is_op(look(), ".")) {
      s->type = StmtType::kSetAttr;
      s->targets.push_back(next().text);
      next();
      s->attr = expect_name().text;
    } else {
      parse_targets(*s, "");
    }
    if (!skip_op("="))
      fail_at(s->pos, "block assignments ({% set x %}...{% endset %}) are not supported");
    s->expr = parse_tuple();
    return s;
  }

  std::unique_ptr<Stmt> parse_loop_control() {
    const bool is_break = cur().text == "break";
    auto s = new_stmt(is_break ? StmtType::kBreak : StmtType::kContinue);
    // jinja2 compiles these to Python's break and continue, which only exist inside a loop.
    if (loop_depth_ == 0)
      fail_at(s->pos, "syntax error: '", is_break ? "break" : "continue", "' outside a for loop");
    return s;
  }

  std::unique_ptr<Stmt> parse_generation() {
    auto s = new_stmt(StmtType::kScope);
    // transformers' {% generation %} body is a call block: a function of its own, where the
    // enclosing loop cannot be broken out of.
    const int outer_loops = loop_depth_;
    loop_depth_ = 0;
    s->body = parse_statements({"endgeneration"});
    loop_depth_ = outer_loops;
    next();
    return s;
  }

  std::vector<Token> tokens_;
  size_t i_ = 0;
  std::string where_;
  int nesting_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Template parse_template(const std::string& source, const std::string& where) {
  return Parser(tokenize(source, where), where).parse();
}

}  // namespace sculpt::jinja
