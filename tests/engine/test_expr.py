"""Tests for engine.languages.expr: the `when` condition language (parser, evaluator, safety limits)."""

from __future__ import annotations

import datetime
import inspect
import random
import sys
from typing import Any

import pytest

from engine.errors import ExpressionError
from engine.languages.expr import MAX_DEPTH, MAX_LENGTH, Expression, Reference, parse, truthy

OUTPUTS: dict[str, dict[str, Any]] = {
    "count": {"counts": {"total": 12, "by-kind": {"a": 1}}, "items": ["x", "y", "z"], "name": "cnt"},
    "flag": {"on": True, "off": False, "zero": 0, "one": 1, "none": None, "empty": "", "list": []},
    "build-2": {"ok": True, "nested": [[1, 2], {"k": "v"}]},
    "1": {"out": "digits"},
    "and": {"x": 5},
    "py": {"obj": datetime.date(2020, 1, 1), "tup": (1, 2)},
}


def outputs_of(node: str) -> dict[str, Any]:
    return OUTPUTS[node]


def ev(text: str) -> Any:
    return parse(text).evaluate(outputs_of)


def error_of(text: str, evaluate: bool = False) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        expression = parse(text)
        if evaluate:
            expression.evaluate(outputs_of)
    return info.value


# ----------------------------------------------------------------------------- literals


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("42", 42),
        ("-7", -7),
        ("3.5", 3.5),
        ("-0.25", -0.25),
        ("1e3", 1000.0),
        ("2.5E-1", 0.25),
        ("1e+2", 100.0),
        ("'single'", "single"),
        ('"double"', "double"),
        ("''", ""),
        (r"'it\'s'", "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'a\\b'", "a\\b"),
        (r"'a\nb\tc'", "a\nb\tc"),
        ("'has \"other\" quotes'", 'has "other" quotes'),
        ("true", True),
        ("True", True),
        ("false", False),
        ("False", False),
        ("null", None),
        ("None", None),
        ("[]", []),
        ("[1]", [1]),
        ("[1, 'a', null, [true]]", [1, "a", None, [True]]),
        ("[1, 2,]", [1, 2]),
        ("[ ]", []),
        ("(((5)))", 5),
        ("  7  ", 7),
    ],
)
def test_literals(text: str, expected: Any) -> None:
    value = ev(text)
    assert value == expected
    assert type(value) is type(expected)


def test_int_and_float_types() -> None:
    assert type(ev("10")) is int
    assert type(ev("10.0")) is float
    assert type(ev("1e1")) is float


# ----------------------------------------------------------------------------- references and lookups


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("count.counts.total", 12),
        ("count.counts['total']", 12),
        ('count.counts["by-kind"].a', 1),
        ("count.counts.by-kind.a", 1),
        ("count.items[0]", "x"),
        ("count.items[2]", "z"),
        ("count.items[-1]", "z"),
        ("count.items[-3]", "x"),
        ("count.items[1]", "y"),
        ("count['items'][1]", "y"),
        ("count.name", "cnt"),
        ("build-2.ok", True),
        ("build-2.nested[0][1]", 2),
        ("build-2.nested[1].k", "v"),
        ("build-2.nested[1]['k']", "v"),
        ("`1`.out", "digits"),
        ("`and`.x", 5),
        ("`count`.counts.total", 12),
        ("count.counts.`by-kind`.a", 1),
        ("count . counts . total", 12),
        ("[10, 20, 30][1]", 20),
        ("[[1, 2]][0][-1]", 2),
        ("(count.counts).total", 12),
        ("count.items[flag.one]", "y"),
        ("count.counts[('total')]", 12),
    ],
)
def test_lookups(text: str, expected: Any) -> None:
    assert ev(text) == expected


def test_bare_node_is_its_outputs_dict() -> None:
    value = ev("count")
    assert value == OUTPUTS["count"]
    assert isinstance(value, dict)
    assert ev("`1`") == {"out": "digits"}


def test_keywords_allowed_after_dot() -> None:
    outputs = {"n": {"in": 1, "len": {"not": 2}}}
    assert parse("n.in").evaluate(outputs.__getitem__) == 1
    assert parse("n.len.not").evaluate(outputs.__getitem__) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("count", [Reference("count", None, 0)]),
        ("count.counts.total", [Reference("count", "counts", 0)]),
        ("count['counts']", [Reference("count", None, 0)]),
        ("`1`.out", [Reference("1", "out", 0)]),
        ("build-2.ok and not x", [Reference("build-2", "ok", 0), Reference("x", None, 19)]),
        (
            "a.p[b.q] == c or len(d) > 0",
            [Reference("a", "p", 0), Reference("b", "q", 4), Reference("c", None, 12), Reference("d", None, 21)],
        ),
        ("[x, y.z][0]", [Reference("x", None, 1), Reference("y", "z", 4)]),
        ("a.b in [a, a.c]", [Reference("a", "b", 0), Reference("a", None, 8), Reference("a", "c", 11)]),
        ("1 == 'count'", []),
        ("(a).p", [Reference("a", "p", 1)]),  # a parenthesised root still selects a port
        ("e[f[g.h]]", [Reference("e", None, 0), Reference("f", None, 2), Reference("g", "h", 4)]),
    ],
)
def test_references(text: str, expected: list[Reference]) -> None:
    assert parse(text).references() == expected


def test_references_do_not_evaluate() -> None:
    expression = parse("missing.port > 1")
    assert expression.references() == [Reference("missing", "port", 0)]


# ----------------------------------------------------------------------------- operators


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 == 1", True),
        ("1 == 2", False),
        ("1 != 2", True),
        ("1 != 1", False),
        ("1 == 1.0", True),
        ("'a' == 'a'", True),
        ("'a' == \"a\"", True),
        ("null == None", True),
        ("null == false", False),
        ("null == 0", False),
        ("[1, [2]] == [1, [2]]", True),
        ("[1, 2] == [2, 1]", False),
        ("[1] == [1, 1]", False),
        ("count.counts == count.counts", True),
        ("count.counts.by-kind == count['counts']['by-kind']", True),
        ("build-2.nested[1] == count.counts", False),
        ("'1' == 1", False),
        ("1 < 2", True),
        ("2 < 1", False),
        ("1 <= 1", True),
        ("2 <= 1", False),
        ("2 > 1", True),
        ("1 > 1", False),
        ("1 >= 1", True),
        ("0 >= 1", False),
        ("1.5 > 1", True),
        ("-1 < 0", True),
        ("'a' < 'b'", True),
        ("'b' >= 'a'", True),
        ("'abc' > 'abd'", False),
        ("count.counts.total > 10", True),
        ("count.counts.total>10", True),
        ("count.counts.total<=10", False),
        ("2 in [1, 2, 3]", True),
        ("4 in [1, 2, 3]", False),
        ("[1] in [[1], [2]]", True),
        ("'x' in count.items", True),
        ("'ell' in 'hello'", True),
        ("'' in 'hello'", True),
        ("'z' in 'hello'", False),
        ("'total' in count.counts", True),
        ("'nope' in count.counts", False),
        ("'counts' in count", True),
        ("4 not in [1, 2, 3]", True),
        ("2 not in [1, 2, 3]", False),
        ("'z' not in 'hello'", True),
        ("'total' not in count.counts", False),
        ("len('abc')", 3),
        ("len('')", 0),
        ("len([1, 2])", 2),
        ("len(count.items)", 3),
        ("len(count.counts)", 2),
        ("len(count)", 3),
        ("len(count.items) == 3", True),
        ("len ( [ ] )", 0),
    ],
)
def test_operators(text: str, expected: Any) -> None:
    value = ev(text)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 == true", False),
        ("true == 1", False),
        ("0 == false", False),
        ("1 != true", True),
        ("0 != false", True),
        ("true == true", True),
        ("false == False", True),
        ("true != false", True),
        ("1.0 == true", False),
        ("[1] == [true]", False),
        ("[[0]] == [[false]]", False),
        ("flag.one == flag.on", False),
        ("flag.zero == flag.off", False),
        ("1 in [true]", False),
        ("true in [1]", False),
        ("true in [true]", True),
        ("0 not in [false]", True),
    ],
)
def test_bool_never_equals_number(text: str, expected: bool) -> None:
    assert ev(text) is expected


def test_dict_membership_with_bool_values_strict() -> None:
    outputs = {"n": {"a": {"k": 1}, "b": {"k": True}}}
    assert parse("n.a == n.b").evaluate(outputs.__getitem__) is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true and true", True),
        ("true and false", False),
        ("false or true", True),
        ("false or false", False),
        ("not true", False),
        ("not false", True),
        ("not not true", True),
        ("not null", True),
        ("not 0", True),
        ("not 0.0", True),
        ("not ''", True),
        ("not []", True),
        ("not flag.list", True),
        ("not 1", False),
        ("not 'a'", False),
        ("not [0]", False),
        ("not count.counts", False),
        ("1 and 'a'", True),
        ("0 or ''", False),
        ("true and true and false", False),
        ("false or false or true", True),
        # precedence: not > and > or
        ("not false or false and false", True),
        ("not (false or true) and true", False),
        ("not true or true and true", True),
        ("not true or true and false", False),
        ("true or true and false", True),
        ("(true or true) and false", False),
        ("false and false or true", True),
        ("false and (false or true)", False),
        ("not 1 == 2", True),
        ("not 1 in [1]", False),
        ("not 1 not in [1]", True),
        ("1 < 2 and 3 > 2", True),
        ("count.counts.total > 10 and 'x' in count.items", True),
    ],
)
def test_logic_and_precedence(text: str, expected: bool) -> None:
    assert ev(text) is expected


def test_precedence_not_a_or_b_and_c() -> None:
    """`not a or b and c` is `(not a) or (b and c)`."""
    for a in (True, False):
        for b in (True, False):
            for c in (True, False):
                outputs = {"a": {"v": a}, "b": {"v": b}, "c": {"v": c}}
                result = parse("not a.v or b.v and c.v").evaluate(outputs.__getitem__)
                assert result is ((not a) or (b and c))


def test_and_or_short_circuit() -> None:
    assert ev("false and missing.port") is False
    assert ev("true or count.nope") is True
    assert ev("flag.none and flag.none.deeper") is False
    with pytest.raises(ExpressionError):
        ev("true and missing.port")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        (False, False),
        (True, True),
        (0, False),
        (0.0, False),
        (-1, True),
        (0.1, True),
        ("", False),
        ("0", True),
        ("false", True),
        ([], False),
        ([None], True),
        ({}, False),
        ({"a": None}, True),
    ],
)
def test_truthy(value: Any, expected: bool) -> None:
    assert truthy(value) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("flag.on", True),
        ("flag.off", False),
        ("flag.zero", False),
        ("flag.none", False),
        ("flag.empty", False),
        ("flag.list", False),
        ("count.items", True),
        ("count.counts.total", True),
        ("count", True),
        ("'x'", True),
    ],
)
def test_test_is_truthiness(text: str, expected: bool) -> None:
    assert parse(text).test(outputs_of) is expected


# ----------------------------------------------------------------------------- syntax errors


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("", 0, "empty expression"),
        ("   ", 0, "empty expression"),
        ("a >", 3, "expected a value but found end of expression"),
        ("a $ b", 2, "unexpected character '$'"),
        ("a = b", 2, "unexpected character '=' (use '==' to compare)"),
        ("!a", 0, "unexpected character '!' (use '!=' or 'not')"),
        ("a && b", 2, "unexpected character '&' (use 'and')"),
        ("a || b", 2, "unexpected character '|' (use 'or')"),
        ("a + 1", 2, "unexpected character '+'"),
        ("- 1", 0, "unexpected character '-'"),
        ("a: b", 1, "unexpected character ':'"),
        ("(a", 2, "expected ')' but found end of expression"),
        ("(a b", 3, "expected ')' but found 'b'"),
        ("((a)", 4, "expected ')' but found end of expression"),
        ("a)", 1, "expected an operator or end of expression but found ')'"),
        ("a b", 2, "expected an operator or end of expression but found 'b'"),
        ("a.b c", 4, "expected an operator or end of expression but found 'c'"),
        ("1 2", 2, "expected an operator or end of expression but found '2'"),
        ("a and", 5, "expected a value but found end of expression"),
        ("or a", 0, "expected a value but found 'or'"),
        ("a or or b", 5, "expected a value but found 'or'"),
        ("not", 3, "expected a value but found end of expression"),
        ("in x", 0, "expected a value but found 'in'"),
        ("a == == b", 5, "expected a value but found '=='"),
        ("a < b < c", 6, "comparisons cannot be chained; combine them with 'and'"),
        ("a == b != c", 7, "comparisons cannot be chained; combine them with 'and'"),
        ("a in b in c", 7, "comparisons cannot be chained; combine them with 'and'"),
        ("a < b not in c", 6, "comparisons cannot be chained; combine them with 'and'"),
        ("a not b", 6, "expected 'in' after 'not' but found 'b'"),
        ("a not", 5, "expected 'in' after 'not' but found end of expression"),
        ("a.", 2, "expected a name after '.' but found end of expression"),
        ("a.1", 2, "expected a name after '.' but found '1'"),
        ("a.'b'", 2, "expected a name after '.' but found \"'b'\""),
        ("a..b", 2, "expected a name after '.' but found '.'"),
        ("a[", 2, "expected a value but found end of expression"),
        ("a[]", 2, "expected a value but found ']'"),
        ("a[1", 3, "expected ']' but found end of expression"),
        ("a[1 2]", 4, "expected ']' but found '2'"),
        ("[", 1, "expected a value but found end of expression"),
        ("[1", 2, "expected ',' or ']' but found end of expression"),
        ("[1 2]", 3, "expected ',' or ']' but found '2'"),
        ("[,]", 1, "expected a value but found ','"),
        ("[1,,2]", 3, "expected a value but found ','"),
        ("]", 0, "expected a value but found ']'"),
        ("len", 3, "expected '(' after 'len' but found end of expression"),
        ("len x", 4, "expected '(' after 'len' but found 'x'"),
        ("len()", 4, "expected a value but found ')'"),
        ("len(a, b)", 5, "expected ')' but found ','"),
        ("len(a", 5, "expected ')' but found end of expression"),
        ("foo(1)", 0, "unknown function 'foo' (only len() exists)"),
        ("x == max (1)", 5, "unknown function 'max' (only len() exists)"),
        ("'abc", 0, "unterminated string"),
        ('x == "abc', 5, "unterminated string"),
        ("'abc\\'", 0, "unterminated string"),
        ("'a\\", 0, "unterminated string"),
        ("'a\\qb'", 2, "invalid escape '\\q' in string"),
        ("'\\u0041'", 1, "invalid escape '\\u' in string"),
        ("`abc", 0, "unterminated `quoted name`"),
        ("a == ``", 5, "empty `quoted name`"),
        ("1.out", 0, "a node id that starts with a digit must be quoted in backticks, e.g. `1`.out"),
        ("x == 12abc", 5, "a node id that starts with a digit must be quoted in backticks, e.g. `1`.out"),
        ("1e", 0, "a node id that starts with a digit must be quoted in backticks, e.g. `1`.out"),
        ("1.5e", 0, "malformed number '1.5e'"),
        ("1.5x", 0, "malformed number '1.5x'"),
        ("1e999", 0, "number is out of range"),
        ("1" * 5000, 0, "number is too long"),
        ("true.x(", 6, "expected an operator or end of expression but found '('"),
        ("a.b(1)", 3, "expected an operator or end of expression but found '('"),
    ],
)
def test_syntax_errors(text: str, offset: int, message: str) -> None:
    error = error_of(text)
    assert error.message == message
    assert str(error) == message
    assert error.offset == offset


def test_error_messages_are_one_line_lowercase_without_period() -> None:
    for text in ["a >", "a $ b", "(a", "foo(1)", "'abc", "a < b < c", "[1 2]", "1.out"]:
        message = error_of(text).message
        assert "\n" not in message
        assert message[0].islower()
        assert not message.endswith(".")


def test_long_token_is_shortened_in_message() -> None:
    error = error_of("a '" + "x" * 100 + "'")
    assert error.offset == 2
    assert len(error.message) < 100
    assert error.message.endswith('..."')


def test_expression_error_is_a_weft_error() -> None:
    from engine.errors import WeftError

    assert isinstance(error_of("a >"), WeftError)


# ----------------------------------------------------------------------------- limits


def test_length_limit() -> None:
    ok = "a or " * ((MAX_LENGTH - 1) // 5) + "a"
    assert len(ok) <= MAX_LENGTH
    assert parse(ok).test({"a": {}}.__getitem__) is False
    error = error_of("a" * (MAX_LENGTH + 1))
    assert error.offset == MAX_LENGTH
    assert "longer than 10000 characters" in error.message


@pytest.mark.parametrize(
    ("open_", "close"),
    [("(", ")"), ("[", "]"), ("len(", ")"), ("not ", ""), ("a[", "]"), ("[", "][0]")],
)
def test_nesting_at_limit_is_fine(open_: str, close: str) -> None:
    text = open_ * MAX_DEPTH + "1" + close * MAX_DEPTH
    parse(text)


@pytest.mark.parametrize(
    ("open_", "close"),
    [("(", ")"), ("[", "]"), ("len(", ")"), ("not ", ""), ("a[", "]"), ("[", "][0]")],
)
def test_nesting_over_limit_is_an_error(open_: str, close: str) -> None:
    text = open_ * (MAX_DEPTH + 1) + "1" + close * (MAX_DEPTH + 1)
    error = error_of(text)
    assert "nested more than 64 levels deep" in error.message
    assert error.offset == len(open_) * MAX_DEPTH + (1 if open_ == "a[" else 0)


@pytest.mark.parametrize("text", ["(" * 3000 + "1" + ")" * 3000, "[" * 4000, "not " * 2400 + "1", "a[" * 4000])
def test_hostile_nesting_is_expression_error_not_recursion_error(text: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert "nested" in info.value.message


def test_nesting_is_counted_per_level_not_in_total() -> None:
    text = " and ".join(["(((1)))"] * 100)
    assert parse(text).evaluate(outputs_of) is True


@pytest.mark.parametrize(
    "text",
    [
        " or ".join(["false"] * 1000) + " or true",
        " and ".join(["true"] * 1000),
        "count.counts['by-kind']",
        "[" + ", ".join(["1"] * 3000) + "][-1]",
    ],
)
def test_long_flat_expressions_do_not_recurse(text: str) -> None:
    assert parse(text).evaluate(outputs_of) in (True, 1, {"a": 1})


def test_long_postfix_chain_evaluates_iteratively() -> None:
    depth = 2000
    data: Any = "leaf"
    for _ in range(depth):
        data = [data]
    text = "n.v" + "[0]" * depth
    assert len(text) <= MAX_LENGTH
    assert parse(text).evaluate({"n": {"v": data}}.__getitem__) == "leaf"


def test_deep_data_equality_does_not_recurse() -> None:
    a: Any = 1
    b: Any = 1
    for _ in range(50_000):
        a, b = [a], [b]
    outputs = {"n": {"a": a, "b": b}}
    assert parse("n.a == n.b").evaluate(outputs.__getitem__) is True


# ----------------------------------------------------------------------------- evaluation errors


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("missing", 0, "unknown node 'missing'"),
        ("missing.port", 0, "unknown node 'missing'"),
        ("1 == 1 and ghost.x > 2", 11, "unknown node 'ghost'"),
        ("`9`.x", 0, "unknown node '9'"),
        ("count.cnts", 6, "node 'count' has no output 'cnts'"),
        ("count['cnts']", 6, "node 'count' has no output 'cnts'"),
        ("count[1]", 6, "outputs of node 'count' are named by strings, not int"),
        ("count.counts.tot", 13, "count.counts has no key 'tot'"),
        ("count.counts['total'].x", 22, "count.counts['total'] is int, not a dict, so it has no field 'x'"),
        ("count.counts.total.x", 19, "count.counts.total is int, not a dict, so it has no field 'x'"),
        ("count.counts['nope']", 13, "count.counts has no key 'nope'"),
        ("count.counts[0]", 13, "count.counts is a dict; its keys are strings, not int"),
        ("count.items[3]", 12, "count.items has no index 3 (length 3)"),
        ("count.items[-4]", 12, "count.items has no index -4 (length 3)"),
        ("count.items['a']", 12, "count.items is a list; its index must be an int, not str"),
        ("count.items[1.0]", 12, "count.items is a list; its index must be an int, not float"),
        ("count.items[true]", 12, "count.items is a list; its index must be an int, not bool"),
        ("count.items.first", 12, "count.items is list, not a dict, so it has no field 'first'"),
        ("count.name[0]", 11, "count.name is str; only lists and dicts can be indexed"),
        ("count.name.upper", 11, "count.name is str, not a dict, so it has no field 'upper'"),
        ("flag.none.x", 10, "flag.none is null, not a dict, so it has no field 'x'"),
        ("[1, 2][5]", 7, "[1, 2] has no index 5 (length 2)"),
        ("'abc'[0]", 6, "'abc' is str; only lists and dicts can be indexed"),
        ("1 < 'a'", 2, "cannot compare int with str"),
        ("'a' < 1", 4, "cannot compare str with int"),
        ("count.name > count.counts.total", 11, "cannot compare str with int"),
        ("true < 2", 5, "cannot compare bool with int"),
        ("1 >= false", 2, "cannot compare int with bool"),
        ("null <= null", 5, "cannot compare null with null"),
        ("[1] < [2]", 4, "cannot compare list with list"),
        ("count.counts > count.counts", 13, "cannot compare dict with dict"),
        ("1 in 'abc'", 2, "cannot look for int in a str"),
        ("1 in count.counts", 2, "cannot look for int in the keys of a dict"),
        ("1 in 2", 2, "'in' needs a list, str or dict on its right, not int"),
        ("'a' not in null", 4, "'in' needs a list, str or dict on its right, not null"),
        ("len(5)", 4, "len() needs a str, list or dict, not int"),
        ("len(null)", 4, "len() needs a str, list or dict, not null"),
        ("len(true)", 4, "len() needs a str, list or dict, not bool"),
        ("count.items[len(count.items)]", 12, "count.items has no index 3 (length 3)"),
    ],
)
def test_evaluation_errors(text: str, offset: int, message: str) -> None:
    expression = parse(text)
    with pytest.raises(ExpressionError) as info:
        expression.evaluate(outputs_of)
    assert info.value.message == message
    assert info.value.offset == offset


def test_unknown_node_error_from_test() -> None:
    with pytest.raises(ExpressionError, match="unknown node 'ghost'"):
        parse("ghost.x").test(outputs_of)


def test_other_exceptions_from_outputs_of_propagate() -> None:
    def broken(node: str) -> dict[str, Any]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        parse("a.b").evaluate(broken)


def test_evaluation_does_not_mutate_outputs() -> None:
    before = repr(OUTPUTS)
    ev("count")["extra"] = 1
    ev("[count.items, count.items]")
    assert repr(OUTPUTS) == before


# ----------------------------------------------------------------------------- safety


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "__import__('os').system('true')",
        "eval('1')",
        "exec('x = 1')",
        "open('/etc/passwd')",
        "getattr(a, 'b')",
        "print(1)",
        "a.b(1)",
        "lambda: 1",
        "lambda x: x",
        "(lambda: 1)()",
        "[x for x in y]",
        "a if b else c",
        "{'a': 1}",
        "a; b",
        "a @ b",
        "1 + 1",
        "a.__class__.__mro__[1].__subclasses__()",
        "count.__class__()",
        "f'{a}'",
        "b'x'",
        "a ** 2",
        "~a",
        "a is b",
        "x := 1",
    ],
)
def test_python_constructs_do_not_parse(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("count.__class__", "node 'count' has no output '__class__'"),
        ("count.__dict__", "node 'count' has no output '__dict__'"),
        ("count.counts.__class__", "count.counts has no key '__class__'"),
        ("count.name.__class__", "count.name is str, not a dict, so it has no field '__class__'"),
        ("count.items.__len__", "count.items is list, not a dict, so it has no field '__len__'"),
        ("count.counts.keys", "count.counts has no key 'keys'"),
        ("count.counts.total.real", "count.counts.total is int, not a dict, so it has no field 'real'"),
        ("count.name['__class__']", "count.name is str; only lists and dicts can be indexed"),
        ("flag.on.__class__", "flag.on is bool, not a dict, so it has no field '__class__'"),
        ("py.obj.year", "py.obj holds a Python date, not JSON data"),
        ("py.obj", "py.obj holds a Python date, not JSON data"),
        ("py.tup[0]", "py.tup holds a Python tuple, not JSON data"),
        ("py['obj']", "py['obj'] holds a Python date, not JSON data"),
    ],
)
def test_attribute_walks_onto_python_objects_are_impossible(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        ev(text)
    assert info.value.message == message


def test_non_json_value_deeper_in_data_is_rejected() -> None:
    outputs = {"n": {"v": {"a": [object()]}}}
    with pytest.raises(ExpressionError, match=r"n.v.a\[0\] holds a Python object, not JSON data"):
        parse("n.v.a[0]").evaluate(outputs.__getitem__)


def test_non_json_values_are_never_equal() -> None:
    class Sneaky:
        def __eq__(self, other: object) -> bool:
            raise AssertionError("__eq__ must not be called")

        __hash__ = object.__hash__

    outputs = {"n": {"a": {"x": Sneaky()}, "b": {"x": Sneaky()}}}
    assert parse("n.a == n.b").evaluate(outputs.__getitem__) is False
    assert parse("n == n").evaluate(outputs.__getitem__) is False


def test_names_with_dashes_and_keywords_inside() -> None:
    outputs = {"not-ready": {"v": 1}, "a-b-c": {"v": 2}, "in_x": {"v": 3}, "_or": {"v": 4}, "andy": {"v": 5}}
    get = outputs.__getitem__
    assert parse("not-ready.v").evaluate(get) == 1
    assert parse("a-b-c.v == 2").evaluate(get) is True
    assert parse("in_x.v").evaluate(get) == 3
    assert parse("_or.v").evaluate(get) == 4
    assert parse("andy.v").evaluate(get) == 5
    assert [r.node for r in parse("not-ready.v and a-b-c.v").references()] == ["not-ready", "a-b-c"]


def test_name_minus_number_is_one_name() -> None:
    assert parse("a-1").references() == [Reference("a-1", None, 0)]
    with pytest.raises(ExpressionError, match="expected an operator or end of expression but found '-1'"):
        parse("a -1")


@pytest.mark.parametrize("keyword", ["and", "or", "not", "in", "true", "false", "null", "True", "False", "None", "len"])
def test_keywords_are_not_names_but_can_be_backtick_quoted(keyword: str) -> None:
    outputs = {keyword: {"v": 7}}
    assert parse(f"`{keyword}`.v").evaluate(outputs.__getitem__) == 7
    assert parse(f"`{keyword}`").references() == [Reference(keyword, None, 0)]


# ----------------------------------------------------------------------------- Expression object


def test_expression_object() -> None:
    expression = parse("count.counts.total > 10")
    assert isinstance(expression, Expression)
    assert expression.text == "count.counts.total > 10"
    assert repr(expression) == "Expression(text='count.counts.total > 10')"
    assert expression == parse("count.counts.total > 10")
    assert expression != parse("count.counts.total > 11")
    assert len({expression, parse("count.counts.total > 10")}) == 1
    assert expression.test(outputs_of) is True
    assert expression.test(lambda node: {"counts": {"total": 3}}) is False


def test_reference_is_frozen() -> None:
    reference = Reference("a", "b", 0)
    with pytest.raises(AttributeError):
        reference.node = "c"  # type: ignore[misc]  # frozen on purpose


def test_expression_can_be_evaluated_many_times_against_different_outputs() -> None:
    expression = parse("x.n >= 3")
    assert [expression.test(lambda _, n=n: {"n": n}) for n in range(5)] == [False, False, False, True, True]


# ----------------------------------------------------------------------------- fuzzing

_PIECES = [
    "count",
    "flag",
    "build-2",
    "`1`",
    "ghost",
    ".",
    ".counts",
    ".total",
    ".items",
    "[",
    "]",
    "(",
    ")",
    ",",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "in",
    "not",
    "and",
    "or",
    "len",
    "len(",
    "0",
    "-1",
    "2.5",
    "1e3",
    "'x'",
    '"total"',
    "true",
    "null",
    "False",
    " ",
    " ",
    " ",
    "$",
    "'",
    "`",
    "\\",
    "-",
    "=",
    "1abc",
    "__class__",
]


@pytest.mark.parametrize("seed", range(20))
def test_random_text_only_ever_raises_expression_error(seed: int) -> None:
    """Whatever the text, parse/evaluate either succeed or raise ExpressionError at an offset inside it."""
    rng = random.Random(seed)
    for _ in range(300):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 25)))
        try:
            expression = parse(text)
            expression.references()
            result = expression.evaluate(outputs_of)
            assert truthy(result) in (True, False)
        except ExpressionError as error:
            assert 0 <= error.offset <= len(text), (text, error)
            assert error.message and "\n" not in error.message


def test_nearly_full_stack_gives_expression_error() -> None:
    text = "(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH
    expression = parse(text)
    limit = sys.getrecursionlimit()
    depth = len(inspect.stack())
    sys.setrecursionlimit(depth + 60)
    try:
        with pytest.raises(ExpressionError, match="nested too deeply"):
            parse(text)
    finally:
        sys.setrecursionlimit(limit)
    assert expression.evaluate(outputs_of) == 1
