"""Tests for engine.languages.porttypes: parsing, assignability, value checking, file mapping, records."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import TypeSyntaxError, ValueTypeError
from engine.languages.porttypes import (
    BOOL,
    BUILTIN_NAMES,
    FILE,
    FLOAT,
    INT,
    JSON,
    STR,
    DictOf,
    ListOf,
    Optional,
    PortType,
    Primitive,
    RecordRef,
    RecordType,
    TypeRegistry,
)

DEFS = {
    "Sample": {"name": "str", "score": "float", "note": "str?"},
    "Batch": {
        "samples": "list[Sample]",
        "report": "file",
        "extra": "file?",
        "by_name": "dict[str, Sample]",
        "blob": "json",
    },
    "Other": {"name": "str", "score": "float", "note": "str?"},
}


@pytest.fixture(scope="module")
def reg() -> TypeRegistry:
    registry, problems = TypeRegistry.from_definitions(DEFS)
    assert problems == []
    return registry


# -- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("str", STR),
        ("int", INT),
        ("float", FLOAT),
        ("bool", BOOL),
        ("json", JSON),
        ("file", FILE),
        ("list[int]", ListOf(INT)),
        ("dict[str, int]", DictOf(INT)),
        ("dict[ str , int ]", DictOf(INT)),
        ("  list [ int ] ", ListOf(INT)),
        ("int?", Optional(INT)),
        ("int ?", Optional(INT)),
        ("list[int]?", Optional(ListOf(INT))),
        ("list[int?]", ListOf(Optional(INT))),
        ("list[int?]?", Optional(ListOf(Optional(INT)))),
        ("Sample", RecordRef("Sample")),
        ("list[Sample]", ListOf(RecordRef("Sample"))),
        ("dict[str, list[Sample?]]?", Optional(DictOf(ListOf(Optional(RecordRef("Sample")))))),
        ("dict[str,dict[str,file]]", DictOf(DictOf(FILE))),
        ("json?", Optional(JSON)),
    ],
)
def test_parse_good(reg: TypeRegistry, text: str, expected: PortType) -> None:
    assert reg.parse(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("flaot", "unknown type 'flaot' (did you mean 'float'?)"),
        ("Int", "unknown type 'Int' (did you mean 'int'?)"),
        ("Sampel", "unknown type 'Sampel' (did you mean 'Sample'?)"),
        ("sample", "unknown type 'sample' (did you mean 'Sample'?)"),
        ("Zebra", "unknown type 'Zebra'"),
        ("list[Zebra]", "unknown type 'Zebra'"),
        ("tuple[int]", "unknown type 'tuple'"),
        ("list[int", "expected ']' after 'list[int'"),
        ("dict[ str , int", "expected ']' after 'dict[ str , int'"),
        ("list", "expected '[' after 'list'"),
        ("list<int>", "expected '[' after 'list'"),
        ("list[]", "expected a type after 'list['"),
        ("dict[int, str]", "dict keys must be str"),
        ("dict[str?, int]", "dict keys must be str"),
        ("dict[str]", "expected ',' after 'dict[str'"),
        ("dict[str, int, int]", "expected ']' after 'dict[str, int'"),
        ("int??", "a type cannot be optional twice: 'int??'"),
        ("list[int]??", "a type cannot be optional twice: 'list[int]??'"),
        ("int]", "unexpected ']' after 'int'"),
        ("int str", "unexpected 'str' after 'int'"),
        ("int[str]", "unexpected '[' after 'int'"),
        ("?", "expected a type at the start of '?'"),
        ("", "empty type text"),
        ("   ", "empty type text"),
    ],
)
def test_parse_bad(reg: TypeRegistry, text: str, message: str) -> None:
    with pytest.raises(TypeSyntaxError) as info:
        reg.parse(text)
    assert str(info.value) == message
    assert "\n" not in str(info.value)


def test_parse_rejects_non_text(reg: TypeRegistry) -> None:
    with pytest.raises(TypeSyntaxError, match="a type must be a string, got int"):
        reg.parse(3)  # type: ignore[arg-type]  # the wrong type on purpose


def test_parse_is_cached(reg: TypeRegistry) -> None:
    assert reg.parse("list[Sample]?") is reg.parse("list[Sample]?")


def test_records_are_per_registry() -> None:
    with pytest.raises(TypeSyntaxError, match="unknown type 'Sample'"):
        TypeRegistry().parse("Sample")


@pytest.mark.parametrize(
    "text, canonical",
    [
        ("dict[ str , int ]", "dict[str, int]"),
        ("dict[str,int]", "dict[str, int]"),
        ("Sample ?", "Sample?"),
        ("list[ int ? ]", "list[int?]"),
        ("list[int]?", "list[int]?"),
        ("dict[str, list[Sample?]]?", "dict[str, list[Sample?]]?"),
    ],
)
def test_canonical_text_round_trips(reg: TypeRegistry, text: str, canonical: str) -> None:
    parsed = reg.parse(text)
    assert str(parsed) == canonical
    assert reg.parse(str(parsed)) == parsed


def test_types_are_frozen_and_hashable() -> None:
    assert len({ListOf(INT), ListOf(Primitive("int")), ListOf(FLOAT)}) == 2
    with pytest.raises(AttributeError):
        ListOf(INT).item = STR  # type: ignore[misc]  # frozen on purpose
    with pytest.raises(ValueError):
        Primitive("string")
    with pytest.raises(ValueError):
        Optional(Optional(INT))
    assert RecordRef("int") != INT


# -- assignability ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, target, ok",
    [
        ("int", "int", True),
        ("Sample", "Sample", True),
        ("int", "float", True),
        ("float", "int", False),
        ("bool", "int", False),
        ("int", "str", False),
        ("str", "json", True),
        ("list[Sample]?", "json", True),
        ("int?", "json", True),
        ("json", "int", False),
        ("json", "list[json]", False),
        ("int", "int?", True),
        ("int", "float?", True),
        ("int?", "int?", True),
        ("int?", "float?", True),
        ("str?", "int?", False),
        ("int?", "int", False),
        ("int?", "float", False),
        ("int", "json?", True),
        ("json?", "json", True),
        ("list[int]", "list[int]", True),
        ("list[int]", "list[float]", True),
        ("list[str]", "list[int]", False),
        ("list[int]", "list[int?]", True),
        ("list[int?]", "list[int]", False),
        ("list[int]", "list[int]?", True),
        ("list[int]?", "list[int]", False),
        ("list[int]", "list[json]", True),
        ("list[list[int]]", "list[list[float]]", True),
        ("dict[str, int]", "dict[str, float]", True),
        ("dict[str, str]", "dict[str, int]", False),
        ("dict[str, Sample]", "dict[str, Sample?]", True),
        ("list[int]", "dict[str, int]", False),
        ("dict[str, int]", "list[int]", False),
        ("Sample", "Other", False),
        ("Sample", "Sample?", True),
        ("Sample?", "Sample", False),
        ("Sample", "json", True),
        ("Sample", "dict[str, json]", False),
        ("dict[str, json]", "Sample", False),
        ("file", "str", False),
        ("str", "file", False),
        ("file", "file?", True),
        ("list[file]", "list[str]", False),
        ("file", "json", True),
    ],
)
def test_assignable(reg: TypeRegistry, source: str, target: str, ok: bool) -> None:
    s, t = reg.parse(source), reg.parse(target)
    assert reg.assignable(s, t) is ok
    reason = reg.why_not_assignable(s, t)
    assert (reason is None) is ok
    if not ok:
        assert reason is not None and reason.startswith(f"{s} is not assignable to {t}")


@pytest.mark.parametrize(
    "source, target, reason",
    [
        ("list[str]", "list[int]", "list[str] is not assignable to list[int] (str is not assignable to int)"),
        ("int?", "int", "int? is not assignable to int (it may be null)"),
        (
            "list[int?]",
            "list[int]",
            "list[int?] is not assignable to list[int] (int? is not assignable to int: it may be null)",
        ),
        ("str?", "int", "str? is not assignable to int (str is not assignable to int)"),
        ("file", "str", "file is not assignable to str (file and str are kept distinct)"),
        (
            "dict[str, list[file]]",
            "dict[str, list[str]]",
            "dict[str, list[file]] is not assignable to dict[str, list[str]] "
            "(file is not assignable to str: file and str are kept distinct)",
        ),
        ("Sample", "Other", "Sample is not assignable to Other"),
        ("float", "int", "float is not assignable to int"),
    ],
)
def test_why_not_assignable(reg: TypeRegistry, source: str, target: str, reason: str) -> None:
    assert reg.why_not_assignable(reg.parse(source), reg.parse(target)) == reason


# -- value checking ---------------------------------------------------------------------------

SAMPLE = {"name": "a", "score": 1.5}

GOOD_VALUES: list[tuple[str, Any]] = [
    ("str", "x"),
    ("int", 3),
    ("int", -0),
    ("float", 1.5),
    ("float", 2),
    ("bool", True),
    ("bool", False),
    ("file", "out/a.txt"),
    ("json", None),
    ("json", {"a": [1, 2.5, "x", None, True, {"b": {}}]}),
    ("json", []),
    ("list[int]", []),
    ("list[int]", [1, 2, 3]),
    ("list[float]", [1, 2.5]),
    ("list[list[str]]", [["a"], []]),
    ("list[int?]", [1, None]),
    ("dict[str, int]", {}),
    ("dict[str, int]", {"the": 3}),
    ("dict[str, json]", {"a": None}),
    ("int?", None),
    ("int?", 4),
    ("list[int]?", None),
    ("Sample", SAMPLE),
    ("Sample", {**SAMPLE, "note": "n"}),
    ("Sample", {**SAMPLE, "note": None}),
    ("list[Sample]", [SAMPLE, SAMPLE]),
    ("Sample?", None),
]


@pytest.mark.parametrize("type_text, value", GOOD_VALUES)
def test_check_value_good(reg: TypeRegistry, type_text: str, value: Any) -> None:
    reg.check_value(value, reg.parse(type_text))


@pytest.mark.parametrize(
    "type_text, value, message",
    [
        ("str", 3, "expected str, got int"),
        ("str", None, "expected str, got null"),
        ("int", True, "expected int, got bool"),
        ("int", 1.0, "expected int, got float"),
        ("int", "3", "expected int, got str"),
        ("float", False, "expected float, got bool"),
        ("float", "1.5", "expected float, got str"),
        ("bool", 1, "expected bool, got int"),
        ("bool", None, "expected bool, got null"),
        ("file", 3, "expected file, got int"),
        ("file", ["a"], "expected file, got list"),
        ("json", {1: "x"}, "[1]: object keys must be str, got int"),
        ("json", [1, {"a": (1, 2)}], "[1]['a']: expected JSON data, got tuple"),
        ("json", {1, 2}, "expected JSON data, got set"),
        ("list[int]", {"a": 1}, "expected list[int], got object"),
        ("list[int]", (1, 2), "expected list[int], got tuple"),
        ("list[int]", [1, 2, True], "[2]: expected int, got bool"),
        ("list[float]", [1, None], "[1]: expected float, got null"),
        ("list[list[int]]", [[1], [2, "x"]], "[1][1]: expected int, got str"),
        ("list[int?]", [None, "x"], "[1]: expected int, got str"),
        ("dict[str, int]", [], "expected dict[str, int], got list"),
        ("dict[str, int]", {"the": "x"}, "['the']: expected int, got str"),
        ("dict[str, int]", {3: 1}, "[3]: dict keys must be str, got int"),
        ("dict[str, list[int]]", {"a": [1, 1.5]}, "['a'][1]: expected int, got float"),
        ("int?", "x", "expected int, got str"),
        ("Sample", [], "expected Sample (an object), got list"),
        ("Sample", {"name": "a"}, "missing field 'score' of Sample"),
        ("Sample", {**SAMPLE, "scroe": 1}, "unexpected field 'scroe' in Sample (did you mean 'score'?)"),
        ("Sample", {**SAMPLE, "zzz": 1}, "unexpected field 'zzz' in Sample"),
        ("Sample", {**SAMPLE, 7: 1}, "unexpected field 7 in Sample"),
        ("Sample", {"name": "a", "score": None}, "score: expected float, got null"),
        ("Sample", {"name": "a", "score": 1, "note": 2}, "note: expected str, got int"),
        ("list[Sample]", [SAMPLE] * 3 + [{"name": "b", "score": None}], "[3].score: expected float, got null"),
        (
            "Batch",
            {"samples": [SAMPLE], "report": "r", "by_name": {"x": {**SAMPLE, "name": 1}}, "blob": 1},
            "by_name['x'].name: expected str, got int",
        ),
        ("Batch", {"samples": [], "report": "r", "by_name": {}}, "missing field 'blob' of Batch"),
    ],
)
def test_check_value_bad(reg: TypeRegistry, type_text: str, value: Any, message: str) -> None:
    with pytest.raises(ValueTypeError) as info:
        reg.check_value(value, reg.parse(type_text))
    assert str(info.value) == message


def test_check_value_path_prefix(reg: TypeRegistry) -> None:
    with pytest.raises(ValueTypeError) as info:
        reg.check_value({"the": "x"}, reg.parse("dict[str, int]"), path="counts")
    assert str(info.value) == "counts['the']: expected int, got str"
    assert info.value.path == "counts['the']"
    assert info.value.reason == "expected int, got str"
    with pytest.raises(ValueTypeError, match=r"^out\.score: expected float, got str$"):
        reg.check_value({"name": "a", "score": "x"}, reg.parse("Sample"), path="out")
    with pytest.raises(ValueTypeError, match=r"^out: expected int, got str$"):
        reg.check_value("x", INT, path="out")


def test_check_value_large_list(reg: TypeRegistry) -> None:
    reg.check_value(list(range(100_000)), reg.parse("list[float]"))
    reg.check_value([SAMPLE] * 50_000, reg.parse("list[Sample]"))
    with pytest.raises(ValueTypeError, match=r"^\[99999\]: expected int, got str$"):
        reg.check_value([0] * 99_999 + ["x"], reg.parse("list[int]"))


# -- map_files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "type_text, value, expected",
    [
        ("file", "a", "A"),
        ("file?", None, None),
        ("file?", "a", "A"),
        ("str", "a", "a"),
        ("json", {"f": "a"}, {"f": "a"}),
        ("list[file]", ["a", "b"], ["A", "B"]),
        ("list[file?]", ["a", None], ["A", None]),
        ("dict[str, file]", {"k": "a"}, {"k": "A"}),
        ("dict[str, list[file]]?", {"k": ["a"], "j": []}, {"k": ["A"], "j": []}),
        ("list[str]", ["a"], ["a"]),
    ],
)
def test_map_files(reg: TypeRegistry, type_text: str, value: Any, expected: Any) -> None:
    assert reg.map_files(value, reg.parse(type_text), str.upper) == expected


def test_map_files_records(reg: TypeRegistry) -> None:
    batch = {
        "samples": [SAMPLE],
        "report": "r.txt",
        "extra": None,
        "by_name": {"x": SAMPLE},
        "blob": {"report": "keep.txt"},
    }
    original = {**batch, "by_name": dict(batch["by_name"])}
    mapped = reg.map_files([batch, {**batch, "extra": "e.txt"}], reg.parse("list[Batch]"), lambda p: "/root/" + p)
    assert mapped[0]["report"] == "/root/r.txt"
    assert mapped[0]["extra"] is None
    assert mapped[1]["extra"] == "/root/e.txt"
    assert mapped[0]["samples"] == [SAMPLE] and mapped[0]["blob"] == {"report": "keep.txt"}
    assert batch == original  # the input is not modified


def test_map_files_without_files_returns_value(reg: TypeRegistry) -> None:
    value = [SAMPLE]
    assert reg.map_files(value, reg.parse("list[Sample]"), str.upper) is value


# -- record definitions ------------------------------------------------------------------------


def test_forward_references_and_names() -> None:
    registry, problems = TypeRegistry.from_definitions(
        {
            "Run": {"items": "list[Item]", "owner": "Person?"},
            "Item": {"id": "int"},
            "Person": {"name": "str"},
        }
    )
    assert problems == []
    assert registry.names() == ["Item", "Person", "Run"]
    assert registry.record("Run") == RecordType(
        "Run", (("items", ListOf(RecordRef("Item"))), ("owner", Optional(RecordRef("Person"))))
    )
    registry.check_value({"items": [{"id": 1}]}, registry.parse("Run"))


def test_registry_from_record_types() -> None:
    registry = TypeRegistry({"P": RecordType("P", (("x", INT),))})
    assert registry.names() == ["P"]
    registry.check_value({"x": 1}, registry.parse("P"))


@pytest.mark.parametrize(
    "defs, expected",
    [
        ({"Tree": {"child": "Tree"}}, [("Tree", "child", "record type Tree refers to itself: Tree -> Tree")]),
        ({"Tree": {"kids": "list[Tree?]"}}, [("Tree", "kids", "record type Tree refers to itself: Tree -> Tree")]),
        (
            {"Tree": {"label": "str", "node": "Node"}, "Node": {"trees": "dict[str, Tree]"}},
            [("Tree", "node", "record type Tree refers to itself: Tree -> Node -> Tree")],
        ),
        (
            {"A": {"b": "B"}, "B": {"c": "C"}, "C": {"a": "A?"}, "D": {"a": "A"}},
            [("A", "b", "record type A refers to itself: A -> B -> C -> A")],
        ),
        ({"Sample": {"score": "flaot"}}, [("Sample", "score", "unknown type 'flaot' (did you mean 'float'?)")]),
        ({"Sample": {"other": "Sampel"}}, [("Sample", "other", "unknown type 'Sampel' (did you mean 'Sample'?)")]),
        ({"Sample": {"other": "Zebra"}}, [("Sample", "other", "unknown type 'Zebra'")]),
        ({"Sample": {"xs": "list[int"}}, [("Sample", "xs", "expected ']' after 'list[int'")]),
        ({"Sample": {"d": "dict[int, str]"}}, [("Sample", "d", "dict keys must be str")]),
        ({"int": {"x": "str"}}, [("int", None, "record type name 'int' is a builtin type name")]),
        ({"list": {}}, [("list", None, "record type name 'list' is a builtin type name")]),
        ({"my-record": {}}, [("my-record", None, "record type name 'my-record' is not an identifier")]),
        ({"P": "str"}, [("P", None, "record type P must map field names to types")]),
        ({"P": {"x": 3}}, [("P", "x", "a type must be a string, got int")]),
    ],
)
def test_definition_problems(defs: dict[str, Any], expected: list[tuple[str, Any, str]]) -> None:
    _, problems = TypeRegistry.from_definitions(defs)
    assert problems == expected


def test_bad_field_is_kept_as_json_and_others_still_work() -> None:
    registry, problems = TypeRegistry.from_definitions({"S": {"a": "flaot", "b": "int"}, "int": {}})
    assert len(problems) == 2
    assert registry.names() == ["S"]
    assert dict(registry.record("S").fields) == {"a": JSON, "b": INT}
    with pytest.raises(TypeSyntaxError):
        registry.parse("int2")


def test_cyclic_records_do_not_hang_checks() -> None:
    registry, problems = TypeRegistry.from_definitions({"T": {"f": "file", "kids": "list[T]"}})
    assert len(problems) == 1
    tree = {"f": "a", "kids": [{"f": "b", "kids": []}]}
    registry.check_value(tree, registry.parse("T"))
    with pytest.raises(ValueTypeError, match=r"^kids\[0\]\.kids: expected list\[T\], got null$"):
        registry.check_value({"f": "a", "kids": [{"f": "b", "kids": None}]}, registry.parse("T"))
    assert registry.map_files(tree, registry.parse("T"), str.upper) == {"f": "A", "kids": [{"f": "B", "kids": []}]}


# -- property ------------------------------------------------------------------------------

PROP_REGISTRY, _ = TypeRegistry.from_definitions({"Rec": {"x": "int"}, "Other": {"y": "file?"}})


def _optional_of(t: PortType) -> PortType:
    return t if isinstance(t, Optional) else Optional(t)


port_types = st.recursive(
    st.sampled_from([Primitive(n) for n in BUILTIN_NAMES] + [RecordRef("Rec"), RecordRef("Other")]),
    lambda inner: st.one_of(inner.map(ListOf), inner.map(DictOf), inner.map(_optional_of)),
    max_leaves=8,
)


@settings(max_examples=300)
@given(port_types)
def test_property_round_trip_and_reflexive(t: PortType) -> None:
    assert PROP_REGISTRY.parse(str(t)) == t
    assert PROP_REGISTRY.assignable(t, t)
    assert PROP_REGISTRY.assignable(t, JSON)
    assert PROP_REGISTRY.assignable(t, _optional_of(t))
