"""The subset of Velocity (VTL) that API Gateway's mapping templates use.

API Gateway renders request and response templates with Apache Velocity 1.7 and its own
variables. What is run here: references (`$x`, `${x}`, quiet `$!x`, properties `.a`, method
calls `.get('k')`, indexes `[0]`), `#set`, `#if`/`#elseif`/`#else`/`#end`, `#foreach` (with
`$foreach.hasNext`, `$foreach.index`, `$foreach.count`, `$velocityCount`), `##` and `#* *#`
comments, string/number/boolean/list/map literals, `== != < > <= >= && || !` (and `and`,
`or`, `not`), `+ - * / %`. The variables: `$input` (`body`, `json(path)`, `path(path)`,
`params()`, `params(name)`), `$context`, `$stageVariables`, `$util` (`escapeJavaScript`,
`urlEncode`, `urlDecode`, `base64Encode`, `base64Decode`, `parseJson`) and Java's common
`String`/`List`/`Map` methods. As in Velocity, a reference whose value is null renders as
written (`$!x` renders nothing), a map renders as `{k=v}` and a list as `[a, b]`. A line
holding only directives renders nothing (not even its newline). JSONPath in `$input` takes
`$`, `.name`, `['name']` and `[index]`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, unquote_plus


class TemplateError(ValueError):
    """The template cannot be parsed or rendered (API Gateway answers 500)."""


# -- the variables ----------------------------------------------------------------------
class Input:
    """`$input`: the body (the request's, or the integration's response) and the request's
    parameters."""

    def __init__(self, body: str, params: dict[str, dict[str, str]] | None = None) -> None:
        self.body = body
        self._params = params or {"path": {}, "querystring": {}, "header": {}}

    def _document(self) -> Any:
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except ValueError as error:
            raise TemplateError(f"the body is not JSON: {error}") from error

    def json(self, path: str) -> str:
        """The value at `path`, as JSON text."""
        return json.dumps(json_path(self._document(), path))

    def path(self, path: str) -> Any:
        """The value at `path`, as an object."""
        return json_path(self._document(), path)

    def params(self, name: str | None = None) -> Any:
        """All parameters (`path`, `querystring`, `header`), or one by name (path first,
        then query string, then header; "" when none has it)."""
        if name is None:
            return self._params
        for where in ("path", "querystring", "header"):
            values = self._params.get(where) or {}
            if where == "header":
                found = {k.lower(): v for k, v in values.items()}.get(name.lower())
            else:
                found = values.get(name)
            if found is not None:
                return found
        return ""


class Util:
    """`$util`."""

    @staticmethod
    def escapeJavaScript(value: Any) -> str:  # noqa: N802 -- VTL's name
        text = _render_value(value)
        out = []
        for char in text:
            if char in _JS_ESCAPES:
                out.append(_JS_ESCAPES[char])
            elif ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0:
                out.append(f"\\u{ord(char):04X}")
            else:
                out.append(char)
        return "".join(out)

    @staticmethod
    def urlEncode(value: Any) -> str:  # noqa: N802
        # Java's URLEncoder: spaces become '+', `*-._` stay.
        return quote_plus(_render_value(value), safe="*-._")

    @staticmethod
    def urlDecode(value: Any) -> str:  # noqa: N802
        return unquote_plus(_render_value(value))

    @staticmethod
    def base64Encode(value: Any) -> str:  # noqa: N802
        return base64.b64encode(_render_value(value).encode()).decode()

    @staticmethod
    def base64Decode(value: Any) -> str:  # noqa: N802
        return base64.b64decode(_render_value(value)).decode("utf-8", "replace")

    @staticmethod
    def parseJson(value: Any) -> Any:  # noqa: N802
        return json.loads(_render_value(value))


_JS_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "'": "\\'",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
    "/": "\\/",
}


def json_path(document: Any, path: str) -> Any:
    """The value at a JSONPath (`$`, `.a`, `['a']`, `[0]`); None when there is none."""
    path = path.strip()
    if not path.startswith("$"):
        raise TemplateError(f"JSONPath {path!r} does not start with $")
    value = document
    for name, quoted, index in _PATH_STEP.findall(path[1:]):
        key = name or quoted
        if key:
            value = value.get(key) if isinstance(value, dict) else None
        elif index:
            position = int(index)
            value = (
                value[position]
                if isinstance(value, list) and -len(value) <= position < len(value)
                else None
            )
        if value is None:
            return None
    return value


_PATH_STEP = re.compile(r"\.([A-Za-z0-9_$-]+)|\[['\"]([^'\"]+)['\"]\]|\[(-?\d+)\]")


# -- rendering values -------------------------------------------------------------------
def _render_value(value: Any) -> str:
    """A value as Velocity prints it (Java's `toString`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{_render_value(k)}={_render_value(v)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_render_value(v) for v in value) + "]"
    return str(value)


def _truthy(value: Any) -> bool:
    # Velocity 1.7: only null and false are false (an empty string is true).
    return value is not None and value is not False


# -- the template's tree ----------------------------------------------------------------
@dataclass
class Text:
    text: str


@dataclass
class Ref:
    """`$a.b.c(...)`: a variable and its steps (("prop", name), ("call", name, args),
    ("index", expr))."""

    name: str
    steps: list[tuple[Any, ...]]
    quiet: bool
    source: str


@dataclass
class Literal:
    value: Any


@dataclass
class Interpolated:
    """A double-quoted string: a template of its own."""

    nodes: list[Any]


@dataclass
class ListExpr:
    items: list[Any]


@dataclass
class RangeExpr:
    start: Any
    end: Any


@dataclass
class MapExpr:
    items: list[tuple[Any, Any]]


@dataclass
class Unary:
    op: str
    operand: Any


@dataclass
class Binary:
    op: str
    left: Any
    right: Any


@dataclass
class SetNode:
    target: Ref
    value: Any


@dataclass
class IfNode:
    branches: list[tuple[Any, list[Any]]]
    otherwise: list[Any] = field(default_factory=list)


@dataclass
class Control:
    word: str


@dataclass
class ForeachNode:
    variable: str
    iterable: Any
    body: list[Any]


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_DIRECTIVE = re.compile(
    r"#(?:\{(set|if|elseif|else|end|foreach|break|stop)\}|(set|if|elseif|else|end|foreach|break|stop)\b)"
)
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_WORD_OPS = {
    "and": "&&",
    "or": "||",
    "not": "!",
    "eq": "==",
    "ne": "!=",
    "gt": ">",
    "lt": "<",
    "ge": ">=",
    "le": "<=",
}


class _Parser:
    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0

    def fail(self, message: str) -> TemplateError:
        line = self.src.count("\n", 0, self.pos) + 1
        return TemplateError(f"{message} (line {line})")

    # -- blocks --
    def block(self, ends: tuple[str, ...] = ()) -> tuple[list[Any], str | None]:
        """Nodes up to one of `ends` directives (consumed; returned), or the end."""
        nodes: list[Any] = []
        text: list[str] = []

        def flush() -> None:
            if text:
                nodes.append(Text("".join(text)))
                text.clear()

        src = self.src
        while self.pos < len(src):
            char = src[self.pos]
            if char == "\\" and src.startswith(("\\$", "\\#"), self.pos):
                text.append(src[self.pos + 1])
                self.pos += 2
                continue
            if char == "$":
                ref = self.reference(in_text=True)
                if ref is None:
                    text.append("$")
                    self.pos += 1
                else:
                    flush()
                    nodes.append(ref)
                continue
            if char == "#":
                if src.startswith("##", self.pos):
                    end = src.find("\n", self.pos)
                    self.pos = len(src) if end < 0 else end  # the newline stays
                    continue
                if src.startswith("#*", self.pos):
                    end = src.find("*#", self.pos + 2)
                    if end < 0:
                        raise self.fail("unterminated #* comment")
                    self.pos = end + 2
                    continue
                found = _DIRECTIVE.match(src, self.pos)
                if found is None:
                    text.append("#")
                    self.pos += 1
                    continue
                word = found.group(1) or found.group(2)
                if word in ends:
                    flush()
                    self.pos = found.end()
                    return nodes, word
                flush()
                self.pos = found.end()
                nodes.append(self.directive(word))
                continue
            text.append(char)
            self.pos += 1
        if ends:
            raise self.fail(f"missing #{ends[-1]}")
        flush()
        return nodes, None

    def directive(self, word: str) -> Any:
        if word == "set":
            self.expect("(")
            self.space()
            target = self.reference(in_text=False)
            if target is None:
                raise self.fail("#set needs a reference")
            self.space()
            self.expect("=")
            value = self.expression()
            self.expect(")")
            return SetNode(target, value)
        if word == "if":
            condition = self.parenthesised()
            branches = []
            body, end = self.block(("elseif", "else", "end"))
            branches.append((condition, body))
            otherwise: list[Any] = []
            while end == "elseif":
                condition = self.parenthesised()
                body, end = self.block(("elseif", "else", "end"))
                branches.append((condition, body))
            if end == "else":
                otherwise, _ = self.block(("end",))
            return IfNode(branches, otherwise)
        if word == "foreach":
            self.expect("(")
            self.space()
            variable = self.reference(in_text=False)
            if variable is None or variable.steps:
                raise self.fail("#foreach needs a variable")
            self.space()
            if not self.src.startswith("in", self.pos):
                raise self.fail("#foreach needs 'in'")
            self.pos += 2
            iterable = self.expression()
            self.expect(")")
            body, _ = self.block(("end",))
            return ForeachNode(variable.name, iterable, body)
        return Control(word)  # #break, #stop

    def parenthesised(self) -> Any:
        self.expect("(")
        value = self.expression()
        self.expect(")")
        return value

    # -- references --
    def reference(self, *, in_text: bool) -> Ref | None:
        src = self.src
        start = self.pos
        pos = start + 1
        quiet = src.startswith("!", pos)
        if quiet:
            pos += 1
        braced = src.startswith("{", pos)
        if braced:
            pos += 1
        name = _IDENT.match(src, pos)
        if name is None:
            return None
        ident = name.group(0)
        if in_text:
            ident = ident.rstrip("-")
        pos = name.start() + len(ident)
        self.pos = pos
        steps: list[tuple[Any, ...]] = []
        while self.pos < len(src):
            if src[self.pos] == ".":
                member = _IDENT.match(src, self.pos + 1)
                if member is None:
                    break
                word = member.group(0).rstrip("-") if in_text else member.group(0)
                self.pos = member.start() + len(word)
                if src.startswith("(", self.pos):
                    self.pos += 1
                    steps.append(("call", word, self.arguments(")")))
                else:
                    steps.append(("prop", word))
            elif src[self.pos] == "[":
                self.pos += 1
                index = self.expression()
                self.expect("]")
                steps.append(("index", index))
            else:
                break
        if braced:
            if not src.startswith("}", self.pos):
                raise self.fail("missing } in ${...}")
            self.pos += 1
        return Ref(ident, steps, quiet, src[start : self.pos])

    def arguments(self, close: str) -> list[Any]:
        args: list[Any] = []
        self.space()
        if self.src.startswith(close, self.pos):
            self.pos += 1
            return args
        while True:
            args.append(self.expression())
            self.space()
            if self.src.startswith(",", self.pos):
                self.pos += 1
                continue
            self.expect(close)
            return args

    # -- expressions --
    def space(self) -> None:
        while self.pos < len(self.src) and self.src[self.pos] in " \t\r\n":
            self.pos += 1

    def expect(self, token: str) -> None:
        self.space()
        if not self.src.startswith(token, self.pos):
            raise self.fail(f"expected {token!r}")
        self.pos += len(token)

    def operator(self, options: tuple[str, ...]) -> str | None:
        self.space()
        for option in options:
            if self.src.startswith(option, self.pos):
                if option.isalpha():
                    after = self.pos + len(option)
                    if after < len(self.src) and (
                        self.src[after].isalnum() or self.src[after] == "_"
                    ):
                        continue
                self.pos += len(option)
                return _WORD_OPS.get(option, option)
        return None

    def expression(self) -> Any:
        return self._or()

    def _or(self) -> Any:
        left = self._and()
        while self.operator(("||", "or")):
            left = Binary("||", left, self._and())
        return left

    def _and(self) -> Any:
        left = self._not()
        while self.operator(("&&", "and")):
            left = Binary("&&", left, self._not())
        return left

    def _not(self) -> Any:
        self.space()
        if self.src.startswith("!", self.pos) and not self.src.startswith("!=", self.pos):
            self.pos += 1
            return Unary("!", self._not())
        if self.operator(("not",)):
            return Unary("!", self._not())
        return self._compare()

    def _compare(self) -> Any:
        left = self._add()
        op = self.operator(("==", "!=", "<=", ">=", "<", ">", "eq", "ne", "le", "ge", "lt", "gt"))
        if op:
            return Binary(op, left, self._add())
        return left

    def _add(self) -> Any:
        left = self._multiply()
        while True:
            op = self.operator(("+", "-"))
            if not op:
                return left
            left = Binary(op, left, self._multiply())

    def _multiply(self) -> Any:
        left = self._primary()
        while True:
            op = self.operator(("*", "/", "%"))
            if not op:
                return left
            left = Binary(op, left, self._primary())

    def _primary(self) -> Any:
        self.space()
        src = self.src
        if self.pos >= len(src):
            raise self.fail("unexpected end of template")
        char = src[self.pos]
        if char == "(":
            return self.parenthesised()
        if char == "$":
            ref = self.reference(in_text=False)
            if ref is None:
                raise self.fail("bad reference")
            return ref
        if char in "'\"":
            end = src.find(char, self.pos + 1)
            if end < 0:
                raise self.fail("unterminated string")
            body = src[self.pos + 1 : end]
            self.pos = end + 1
            if char == "'" or ("$" not in body and "#" not in body):
                return Literal(body)
            nodes, _ = _Parser(body).block()
            return Interpolated(nodes)
        if char == "[":
            self.pos += 1
            self.space()
            if src.startswith("]", self.pos):
                self.pos += 1
                return ListExpr([])
            first = self.expression()
            self.space()
            if src.startswith("..", self.pos):
                self.pos += 2
                end_value = self.expression()
                self.expect("]")
                return RangeExpr(first, end_value)
            items = [first]
            while self.operator((",",)):
                items.append(self.expression())
            self.expect("]")
            return ListExpr(items)
        if char == "{":
            self.pos += 1
            pairs: list[tuple[Any, Any]] = []
            self.space()
            if src.startswith("}", self.pos):
                self.pos += 1
                return MapExpr(pairs)
            while True:
                key = self.expression()
                self.expect(":")
                pairs.append((key, self.expression()))
                if not self.operator((",",)):
                    break
            self.expect("}")
            return MapExpr(pairs)
        number = _NUMBER.match(src, self.pos)
        if number:
            self.pos = number.end()
            text = number.group(0)
            return Literal(float(text) if number.group(1) else int(text))
        word = _IDENT.match(src, self.pos)
        if word and word.group(0) in ("true", "false", "null"):
            self.pos = word.end()
            return Literal({"true": True, "false": False, "null": None}[word.group(0)])
        raise self.fail(f"unexpected {char!r}")


def parse(source: str) -> list[Any]:
    """The template's tree (directive-only lines first reduced to nothing)."""
    nodes, _ = _Parser(_gobble_directive_lines(source)).block()
    return nodes


_DIRECTIVE_LINE = re.compile(
    r"^[ \t]*(?:#\{?(?:set|if|elseif|foreach)\b\}?\s*\(.*\)|#\{?(?:else|end)\b\}?|##.*)"
    r"(?:[ \t]*(?:#\{?(?:set|if|elseif|foreach)\b\}?\s*\(.*\)|#\{?(?:else|end)\b\}?))*[ \t]*\r?\n",
    re.MULTILINE,
)


def _gobble_directive_lines(source: str) -> str:
    """A line holding only directives keeps the directives, not its indentation or
    newline (Velocity 1.7 leaves some of that whitespace; JSON does not mind either)."""

    def strip(found: re.Match[str]) -> str:
        directives = found.group(0).strip(" \t\r\n")
        return "" if directives.startswith("##") else directives

    return _DIRECTIVE_LINE.sub(strip, source)


# -- evaluation -------------------------------------------------------------------------
class _Break(Exception):
    pass


class _Stop(Exception):
    pass


_STRING_METHODS: dict[str, Callable[..., Any]] = {
    "length": len,
    "size": len,
    "isEmpty": lambda s: len(s) == 0,
    "toLowerCase": str.lower,
    "toUpperCase": str.upper,
    "trim": str.strip,
    "startsWith": lambda s, p: s.startswith(p),
    "endsWith": lambda s, p: s.endswith(p),
    "contains": lambda s, p: p in s,
    "equals": lambda s, o: s == o,
    "equalsIgnoreCase": lambda s, o: isinstance(o, str) and s.lower() == o.lower(),
    "indexOf": lambda s, p: s.find(p),
    "lastIndexOf": lambda s, p: s.rfind(p),
    "substring": lambda s, a, b=None: s[a:b],
    "replace": lambda s, a, b: s.replace(a, b),
    "replaceAll": lambda s, a, b: re.sub(a, re.sub(r"\$(\d)", r"\\\1", b), s),
    "matches": lambda s, p: re.fullmatch(p, s) is not None,
    "split": lambda s, p: re.split(p, s),
    "charAt": lambda s, i: s[i],
    "toString": lambda s: s,
}
_LIST_METHODS: dict[str, Callable[..., Any]] = {
    "size": len,
    "isEmpty": lambda v: len(v) == 0,
    "get": lambda v, i: v[i],
    "contains": lambda v, x: x in v,
    "indexOf": lambda v, x: v.index(x) if x in v else -1,
    "add": lambda v, x: v.append(x) or True,
}
_MAP_METHODS: dict[str, Callable[..., Any]] = {
    "size": len,
    "isEmpty": lambda m: len(m) == 0,
    "get": lambda m, k: m.get(k),
    "containsKey": lambda m, k: k in m,
    "keySet": lambda m: list(m.keys()),
    "values": lambda m: list(m.values()),
    "entrySet": lambda m: [{"key": k, "value": v} for k, v in m.items()],
    "put": lambda m, k, v: m.__setitem__(k, v),
    "remove": lambda m, k: m.pop(k, None),
}


class Renderer:
    """Renders one parsed template with the given variables."""

    def __init__(self, variables: dict[str, Any]) -> None:
        self.variables = dict(variables)

    def render(self, nodes: list[Any]) -> str:
        out: list[str] = []
        with contextlib.suppress(_Stop):
            self._nodes(nodes, out)
        return "".join(out)

    def _nodes(self, nodes: list[Any], out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, Text):
                out.append(node.text)
            elif isinstance(node, Ref):
                value = self.value(node)
                if value is None:
                    out.append("" if node.quiet else node.source)
                else:
                    out.append(_render_value(value))
            elif isinstance(node, SetNode):
                self._set(node)
            elif isinstance(node, IfNode):
                for condition, body in node.branches:
                    if _truthy(self.value(condition)):
                        self._nodes(body, out)
                        break
                else:
                    self._nodes(node.otherwise, out)
            elif isinstance(node, ForeachNode):
                self._foreach(node, out)
            elif isinstance(node, Control):
                raise _Break() if node.word == "break" else _Stop()

    def _foreach(self, node: ForeachNode, out: list[str]) -> None:
        items = self.value(node.iterable)
        if isinstance(items, dict):
            items = list(items.values())  # Velocity iterates a map's values
        if items is None:
            return
        items = list(items)
        saved = (self.variables.get(node.variable), self.variables.get("foreach"))
        try:
            for index, item in enumerate(items):
                self.variables[node.variable] = item
                self.variables["foreach"] = {
                    "index": index,
                    "count": index + 1,
                    "hasNext": index + 1 < len(items),
                    "first": index == 0,
                    "last": index + 1 == len(items),
                }
                self.variables["velocityCount"] = index + 1
                self.variables["velocityHasNext"] = index + 1 < len(items)
                try:
                    self._nodes(node.body, out)
                except _Break:
                    break
        finally:
            self.variables[node.variable], self.variables["foreach"] = saved

    def _set(self, node: SetNode) -> None:
        value = self.value(node.value)
        target = node.target
        if not target.steps:
            self.variables[target.name] = value
            return
        holder = self._walk(self.variables.get(target.name), target.steps[:-1])
        last = target.steps[-1]
        if isinstance(holder, dict) and last[0] == "prop":
            holder[last[1]] = value
        elif isinstance(holder, (dict, list)) and last[0] == "index":
            holder[self.value(last[1])] = value

    def value(self, node: Any) -> Any:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Ref):
            return self._walk(self.variables.get(node.name), node.steps)
        if isinstance(node, Interpolated):
            return Renderer(self.variables).render(node.nodes)
        if isinstance(node, ListExpr):
            return [self.value(item) for item in node.items]
        if isinstance(node, RangeExpr):
            start, end = int(self.value(node.start)), int(self.value(node.end))
            step = 1 if end >= start else -1
            return list(range(start, end + step, step))
        if isinstance(node, MapExpr):
            return {self.value(k): self.value(v) for k, v in node.items}
        if isinstance(node, Unary):
            return not _truthy(self.value(node.operand))
        if isinstance(node, Binary):
            return self._binary(node)
        raise TemplateError(f"cannot evaluate {node!r}")

    def _binary(self, node: Binary) -> Any:
        if node.op == "&&":
            return _truthy(self.value(node.left)) and _truthy(self.value(node.right))
        if node.op == "||":
            return _truthy(self.value(node.left)) or _truthy(self.value(node.right))
        left, right = self.value(node.left), self.value(node.right)
        if node.op == "==":
            return _equal(left, right)
        if node.op == "!=":
            return not _equal(left, right)
        if node.op == "+" and (isinstance(left, str) or isinstance(right, str)):
            return _render_value(left) + _render_value(right)
        try:
            if node.op == "<":
                return left < right
            if node.op == ">":
                return left > right
            if node.op == "<=":
                return left <= right
            if node.op == ">=":
                return left >= right
            if node.op == "+":
                return left + right
            if node.op == "-":
                return left - right
            if node.op == "*":
                return left * right
            if node.op == "/":
                both_int = isinstance(left, int) and isinstance(right, int)
                return left // right if both_int else left / right
            if node.op == "%":
                return left % right
        except (TypeError, ZeroDivisionError):
            return None
        raise TemplateError(f"unknown operator {node.op}")

    def _walk(self, value: Any, steps: list[tuple[Any, ...]]) -> Any:
        for step in steps:
            if value is None:
                return None
            if step[0] == "prop":
                value = _property(value, step[1])
            elif step[0] == "index":
                key = self.value(step[1])
                try:
                    value = value[key]
                except (KeyError, IndexError, TypeError):
                    return None
            else:
                args = [self.value(arg) for arg in step[2]]
                value = _call(value, step[1], args)
        return value


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return bool(left == right)
    if left is None or right is None:
        return left is right
    if type(left) is not type(right) and (isinstance(left, str) or isinstance(right, str)):
        return _render_value(left) == _render_value(right)  # Velocity compares toString()
    return bool(left == right)


def _property(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        if name in value:
            return value[name]
        if name == "empty":
            return len(value) == 0
        return None
    if isinstance(value, (Input, Util)):
        if name.startswith("_"):
            return None
        return getattr(value, name, None) if name == "body" else None
    if isinstance(value, (str, list)) and name in ("empty", "size", "length"):
        return len(value) == 0 if name == "empty" else len(value)
    return None


def _call(value: Any, name: str, args: list[Any]) -> Any:
    if isinstance(value, (Input, Util)):
        method = getattr(value, name, None) if not name.startswith("_") else None
        if method is None or name == "body":
            raise TemplateError(f"${type(value).__name__.lower()}.{name}() is not run locally")
        return method(*args)
    table: dict[str, Callable[..., Any]] | None = None
    if isinstance(value, str):
        table = _STRING_METHODS
    elif isinstance(value, list):
        table = _LIST_METHODS
    elif isinstance(value, dict):
        table = _MAP_METHODS
    if table is not None and name in table:
        try:
            return table[name](value, *args)
        except (IndexError, KeyError, TypeError, ValueError):
            return None
    if name == "toString":
        return _render_value(value)
    return None


def render(template: str, variables: dict[str, Any]) -> str:
    """`template` rendered with `variables` (`input`, `context`, `stageVariables`; `util`
    is added)."""
    return Renderer({"util": Util(), **variables}).render(parse(template))
