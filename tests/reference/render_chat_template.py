#!/usr/bin/python3
"""Independent reference for Sculpt's chat templates (src/core/chat_template.h).

Renders chat templates with jinja2 itself, set up as transformers' apply_chat_template sets it
up (transformers/utils/chat_template_utils.py): an ImmutableSandboxedEnvironment with
trim_blocks and lstrip_blocks, the loop controls extension, a {% generation %} tag that renders
its body, raise_exception and strftime_now globals, and a tojson filter that is json.dumps
with ensure_ascii=False. The template sees messages, tools=None, documents=None,
add_generation_prompt, bos_token and eos_token when they are set, and the flags.

Input (a file, or - for stdin), JSON:
    {"templates": {"<name>": "<jinja source>", ...},
     "cases": [{"template": "<name>", "messages": [{"role": ..., "content": ...}, ...],
                "add_generation_prompt": true, "bos_token": "", "eos_token": "",
                "flags": {"enable_thinking": false}}, ...]}
Output (stdout), JSON, one entry per case, in order:
    [{"text": "<rendered>"} or {"error": "<ExceptionType>: <message>"}, ...]

Run with Debian's interpreter and python3-jinja2:
    /usr/bin/python3 tests/reference/render_chat_template.py cases.json
"""
import json
import sys
from datetime import datetime

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationTag(jinja2.ext.Extension):
    """{% generation %}...{% endgeneration %}: transformers marks assistant text with it; when
    not tracking token indices it renders its body unchanged, as a call block."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    # transformers replaces jinja2's tojson (which escapes HTML) with plain json.dumps.
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(format):
    return datetime.now().strftime(format)


def make_environment():
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def describe(error):
    return f"{type(error).__name__}: {error}"


def render_case(compiled, case):
    variables = {
        "messages": case["messages"],
        "tools": None,
        "documents": None,
        "add_generation_prompt": case.get("add_generation_prompt", True),
    }
    for name in ("bos_token", "eos_token"):
        if case.get(name):
            variables[name] = case[name]
    variables.update(case.get("flags", {}))
    try:
        return {"text": compiled.render(**variables)}
    except Exception as error:  # every failure of the template is an expected outcome
        return {"error": describe(error)}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    source = sys.stdin if sys.argv[1] == "-" else open(sys.argv[1], encoding="utf-8")
    spec = json.load(source)
    env = make_environment()
    compiled = {}
    for name, text in spec["templates"].items():
        try:
            compiled[name] = env.from_string(text)
        except Exception as error:
            compiled[name] = error
    results = []
    for case in spec["cases"]:
        template = compiled[case["template"]]
        if isinstance(template, Exception):
            results.append({"error": describe(template)})
        else:
            results.append(render_case(template, case))
    json.dump(results, sys.stdout, ensure_ascii=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
