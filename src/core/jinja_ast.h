// The syntax tree of a parsed chat template (core/jinja_parser.h builds it, core/jinja_render.h
// runs it). Node kinds follow jinja2's (jinja2/nodes.py) for the supported subset.
//
//   Template t = parse_template("{% if x %}{{ x | trim }}{% endif %}", "tpl");
//   // t.body: [Stmt kIf {branches: [(Expr kName "x", [Stmt kPrint {Expr kFilter "trim"}])]}]
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/jinja_value.h"

namespace sculpt::jinja {

enum class ExprType {
  kConst,     // constant
  kName,      // name
  kList,      // args: items
  kTuple,     // args: items
  kDict,      // args: key0, value0, key1, value1, ...
  kGetattr,   // args[0].name
  kGetitem,   // args[0][args[1]]
  kSlice,     // args: start, stop, step (each may be null)
  kCall,      // args[0](args[1..], kwargs)
  kFilter,    // args[0] | name(args[1..], kwargs)
  kTest,      // args[0] is name(args[1..], kwargs)
  kNeg,       // -args[0]
  kPos,       // +args[0]
  kNot,       // not args[0]
  kBinary,    // args[0] op args[1]
  kAnd,       // args[0] and args[1]
  kOr,        // args[0] or args[1]
  kCompare,   // args[0] ops[0] args[1] ops[1] args[2] ... (chained, as Python)
  kConcat,    // args[0] ~ args[1] ~ ...
  kCondExpr,  // args[1] if args[0] else args[2] (args[2] may be null: undefined)
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Keyword {
  std::string name;
  ExprPtr value;
};

struct Expr {
  ExprType type = ExprType::kConst;
  SourcePos pos;
  int depth = 1;  // height of this subtree, bounded by the parser
  Value constant;
  std::string name;
  BinaryOp op = BinaryOp::kAdd;
  std::vector<CompareOp> ops;
  std::vector<ExprPtr> args;
  std::vector<Keyword> kwargs;
};

enum class StmtType {
  kText,      // text
  kPrint,     // {{ expr }}
  kIf,        // branches, else_body
  kFor,       // {% for targets in expr if filter %} body {% else %} else_body
  kSet,       // {% set targets = expr %}
  kSetAttr,   // {% set name.attr = expr %}
  kBreak,     // {% break %}
  kContinue,  // {% continue %}
  kScope,     // {% generation %} body: a scope of its own, as jinja2's call block
};

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

struct Branch {
  ExprPtr condition;
  Body body;
};

struct Stmt {
  StmtType type = StmtType::kText;
  SourcePos pos;
  std::string text;
  ExprPtr expr;
  ExprPtr filter;
  std::vector<Branch> branches;
  Body body;
  Body else_body;
  std::vector<std::string> targets;  // names assigned by kFor and kSet
  bool unpack = false;               // targets were written as a tuple: a, b
  std::string attr;                  // kSetAttr: targets[0].attr
};

struct Template {
  Body body;
};

}  // namespace sculpt::jinja
