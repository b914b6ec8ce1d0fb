// The chat-template evaluator (core/jinja_render.h): expressions to values, statements to
// output, with the scoping of jinja2's compiled templates.
#include "core/jinja_render.h"

#include <algorithm>
#include <unordered_map>

#include "core/error.h"
#include "core/jinja_builtins.h"
#include "core/jinja_lexer.h"

namespace sculpt::jinja {
namespace {

// Variables of one scope, with the enclosing scope to fall back on.
class Scope {
 public:
  explicit Scope(const Scope* parent) : parent_(parent) {}

  const Value* find(const std::string& name) const {
    for (const Scope* s = this; s; s = s->parent_) {
      const auto it = s->vars_.find(name);
      if (it != s->vars_.end()) return &it->second;
    }
    return nullptr;
  }

  void set(const std::string& name, Value value) { vars_[name] = std::move(value); }

 private:
  const Scope* parent_;
  std::unordered_map<std::string, Value> vars_;
};

enum class Flow { kNormal, kBreak, kContinue };

// Keeps the position of the innermost node that was running when an EvalError went by.
void locate(EvalError& e, SourcePos pos) {
  if (!e.located) {
    e.pos = pos;
    e.located = true;
  }
}

class Renderer {
 public:
  std::string run(const Template& t, const std::vector<std::pair<std::string, Value>>& context) {
    BuildBudget budget;
    Scope root(nullptr);
    for (const auto& [name, value] : context) root.set(name, value);
    exec_body(t.body, root);
    return std::move(out_);
  }

 private:
  void step() {
    if (++steps_ > kMaxSteps) eval_fail("the template ran more than ", kMaxSteps, " steps");
  }

  void emit(const std::string& text) {
    if (out_.size() + text.size() > kMaxOutputBytes)
      eval_fail("output longer than ", kMaxOutputBytes, " bytes");
    out_ += text;
  }

  // ---- expressions.
  Value eval(const Expr& e, Scope& scope) {
    step();
    try {
      return eval_node(e, scope);
    } catch (EvalError& err) {
      locate(err, e.pos);
      throw;
    }
  }

  Value eval_node(const Expr& e, Scope& scope) {
    switch (e.type) {
      case ExprType::kConst:
        return e.constant;
      case ExprType::kName:
        return lookup(e.name, scope);
      case ExprType::kList:
      case ExprType::kTuple:
        return Value::sequence(e.type == ExprType::kList ? SeqKind::kList : SeqKind::kTuple,
                               eval_all(e.args, 0, scope));
      case ExprType::kDict:
        return eval_dict(e, scope);
      case ExprType::kGetattr:
        return get_attr(eval(*e.args[0], scope), e.name);
      case ExprType::kGetitem:
        return eval_getitem(e, scope);
      case ExprType::kSlice:
        eval_fail("a slice outside a subscript");
      case ExprType::kCall:
        return eval_call(e, scope);
      case ExprType::kFilter: {
        const Value value = eval(*e.args[0], scope);
        return call_filter(e.name, value, eval_args(e, scope));
      }
      case ExprType::kTest: {
        const Value value = eval(*e.args[0], scope);
        return Value::boolean(call_test(e.name, value, eval_args(e, scope)));
      }
      default:
        return eval_operator(e, scope);
    }
  }

  Value eval_operator(const Expr& e, Scope& scope) {
    switch (e.type) {
      case ExprType::kNeg:
        return negate(eval(*e.args[0], scope));
      case ExprType::kPos:
        return unary_plus(eval(*e.args[0], scope));
      case ExprType::kNot:
        return Value::boolean(!truthy(eval(*e.args[0], scope)));
      case ExprType::kBinary: {
        const Value left = eval(*e.args[0], scope);
        return binary_op(e.op, left, eval(*e.args[1], scope));
      }
      case ExprType::kAnd: {
        Value left = eval(*e.args[0], scope);
        return truthy(left) ? eval(*e.args[1], scope) : left;
      }
      case ExprType::kOr: {
        Value left = eval(*e.args[0], scope);
        return truthy(left) ? left : eval(*e.args[1], scope);
      }
      case ExprType::kCompare:
        return eval_compare(e, scope);
      case ExprType::kConcat:
        return eval_concat(e, scope);
      default:  // kCondExpr
        if (truthy(eval(*e.args[0], scope))) return eval(*e.args[1], scope);
        return e.args.size() > 2
                   ? eval(*e.args[2], scope)
                   : Value::undefined("an inline if-expression evaluated to false and has no else");
    }
  }

  Value lookup(const std::string& name, const Scope& scope) {
    if (const Value* v = scope.find(name)) return *v;
    return global_function(name);
  }

  std::vector<Value> eval_all(const std::vector<ExprPtr>& exprs, size_t from, Scope& scope) {
    std::vector<Value> values;
    for (size_t i = from; i < exprs.size(); ++i) values.push_back(eval(*exprs[i], scope));
    return values;
  }

  CallArgs eval_args(const Expr& e, Scope& scope) {
    CallArgs args;
    args.positional = eval_all(e.args, 1, scope);
    for (const Keyword& k : e.kwargs) args.keywords.emplace_back(k.name, eval(*k.value, scope));
    return args;
  }

  Value eval_dict(const Expr& e, Scope& scope) {
    std::vector<std::pair<std::string, Value>> entries;
    for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
      const Value key = eval(*e.args[i], scope);
      if (!key.is_string()) eval_fail("dict keys other than strings are not supported");
      Value value = eval(*e.args[i + 1], scope);
      const auto it = std::find_if(entries.begin(), entries.end(),
                                   [&](const auto& kv) { return kv.first == key.as_string(); });
      if (it != entries.end()) {
        it->second = std::move(value);  // a repeated key keeps its place and takes the last value
      } else {
        entries.emplace_back(key.as_string(), std::move(value));
      }
    }
    return Value::dict(std::move(entries));
  }

  Value eval_getitem(const Expr& e, Scope& scope) {
    const Value obj = eval(*e.args[0], scope);
    const Expr& key = *e.args[1];
    if (key.type != ExprType::kSlice) return get_item(obj, eval(key, scope));
    Value bounds[3];
    for (int i = 0; i < 3; ++i)
      bounds[i] = key.args[size_t(i)] ? eval(*key.args[size_t(i)], scope) : Value::none();
    return get_slice(obj, bounds[0], bounds[1], bounds[2]);
  }

  Value eval_call(const Expr& e, Scope& scope) {
    const Value callee = eval(*e.args[0], scope);
    const CallArgs args = eval_args(e, scope);
    switch (callee.kind()) {
      case Kind::kFunction:
        return call_function(heap_, callee.as_function(), args);
      case Kind::kUndefined:
        eval_fail(callee.undefined_why().empty() ? "a value is undefined" : callee.undefined_why());
      case Kind::kLoop:
        eval_fail("calling loop() needs a recursive loop, which is not supported");
      default:
        eval_fail("'", type_name(callee), "' object is not callable");
    }
  }

  // Python's chained comparison: a < b < c is a < b and b < c, each operand evaluated once.
  Value eval_compare(const Expr& e, Scope& scope) {
    Value left = eval(*e.args[0], scope);
    for (size_t i = 0; i < e.ops.size(); ++i) {
      Value right = eval(*e.args[i + 1], scope);
      if (!compare(e.ops[i], left, right)) return Value::boolean(false);
      left = std::move(right);
    }
    return Value::boolean(true);
  }

  Value eval_concat(const Expr& e, Scope& scope) {
    std::string out;
    for (const ExprPtr& arg : e.args) {
      out += to_str(eval(*arg, scope));
      if (out.size() > kMaxStringBytes)
        eval_fail("a string longer than ", kMaxStringBytes, " bytes");
    }
    return Value::string(std::move(out));
  }

  // ---- statements.
  Flow exec_body(const Body& body, Scope& scope) {
    for (const auto& stmt : body) {
      const Flow flow = exec(*stmt, scope);
      if (flow != Flow::kNormal) return flow;
    }
    return Flow::kNormal;
  }

  Flow exec(const Stmt& s, Scope& scope) {
    step();
    try {
      return exec_node(s, scope);
    } catch (EvalError& err) {
      locate(err, s.pos);
      throw;
    }
  }

  Flow exec_node(const Stmt& s, Scope& scope) {
    switch (s.type) {
      case StmtType::kText:
        emit(s.text);
        return Flow::kNormal;
      case StmtType::kPrint:
        print(*s.expr, scope);
        return Flow::kNormal;
      case StmtType::kIf:
        for (const Branch& branch : s.branches)
          if (truthy(eval(*branch.condition, scope))) return exec_body(branch.body, scope);
        return exec_body(s.else_body, scope);
      case StmtType::kFor:
        exec_for(s, scope);
        return Flow::kNormal;
      case StmtType::kSet:
        assign(s, eval(*s.expr, scope), scope);
        return Flow::kNormal;
      case StmtType::kSetAttr:
        set_attr(s, scope);
        return Flow::kNormal;
      case StmtType::kBreak:
        return Flow::kBreak;
      case StmtType::kContinue:
        return Flow::kContinue;
      case StmtType::kScope: {
        Scope inner(&scope);
        exec_body(s.body, inner);
        return Flow::kNormal;
      }
    }
    return Flow::kNormal;
  }

  void print(const Expr& e, Scope& scope) {
    const Value value = eval(e, scope);
    try {
      emit(to_str(value));
    } catch (EvalError& err) {
      locate(err, e.pos);  // what could not be printed
      throw;
    }
  }

  // Binds s.targets to value in scope: one name, or (a, b) = an iterable of exactly two.
  void assign(const Stmt& s, const Value& value, Scope& scope) {
    if (!s.unpack) {
      scope.set(s.targets[0], value);
      return;
    }
    const std::vector<Value> items = iterate(value);
    if (items.size() < s.targets.size())
      eval_fail("not enough values to unpack (expected ", s.targets.size(), ", got ", items.size(),
                ")");
    if (items.size() > s.targets.size())
      eval_fail("too many values to unpack (expected ", s.targets.size(), ")");
    for (size_t i = 0; i < items.size(); ++i) scope.set(s.targets[i], items[i]);
  }

  void set_attr(const Stmt& s, Scope& scope) {
    const Value* target = scope.find(s.targets[0]);
    if (!target || target->kind() != Kind::kNamespace)
      eval_fail("cannot assign attribute on non-namespace object");
    Namespace* ns = target->as_ns();
    ns->set(s.attr, eval(*s.expr, scope));
  }

  void count_iteration() {
    if (++iterations_ > kMaxLoopIterations)
      eval_fail("loops ran more than ", kMaxLoopIterations, " iterations");
  }

  // The items a for loop visits: its iterable, less those its `if` filter rejects.
  std::vector<Value> loop_items(const Stmt& s, Scope& scope) {
    std::vector<Value> items = iterate(eval(*s.expr, scope));
    if (!s.filter) return items;
    std::vector<Value> kept;
    for (const Value& item : items) {
      count_iteration();
      Scope test_scope(&scope);
      assign(s, item, test_scope);
      if (truthy(eval(*s.filter, test_scope))) kept.push_back(item);
    }
    return kept;
  }

  // The else body runs when no iteration reached the end of the body: jinja2 clears its
  // "no iteration" flag at the end of the body, which break and continue skip.
  void exec_for(const Stmt& s, Scope& scope) {
    count_iteration();
    LoopState* loop = heap_.new_loop();
    loop->items = loop_items(s, scope);
    bool completed = false;
    for (size_t i = 0; i < loop->items.size(); ++i) {
      count_iteration();
      loop->index0 = int64_t(i);
      Scope iteration(&scope);
      assign(s, loop->items[i], iteration);
      iteration.set("loop", Value::loop(loop));
      const Flow flow = exec_body(s.body, iteration);
      if (flow == Flow::kNormal) completed = true;
      if (flow == Flow::kBreak) break;
    }
    if (!completed) {
      Scope else_scope(&scope);
      exec_body(s.else_body, else_scope);
    }
  }

  Heap heap_;
  std::string out_;
  int64_t steps_ = 0;
  int64_t iterations_ = 0;
};

}  // namespace

std::string render_template(const Template& t,
                            const std::vector<std::pair<std::string, Value>>& context,
                            const std::string& where) {
  try {
    return Renderer().run(t, context);
  } catch (const EvalError& e) {
    if (!e.located) fail(where, e.what());
    fail(location(where, e.pos), e.what());
  }
}

}  // namespace sculpt::jinja
