"""Python values cross into the core and back exactly, or fail naming where."""

import collections
import datetime
import enum

import pytest

import cogwork


class Color(enum.IntEnum):
    RED = 1


class Mood(str, enum.Enum):
    CALM = "calm"


def test_values_round_trip_through_an_echo_task(engine):
    value = {
        "int": 42,
        "negative": -7,
        "float": 0.1,
        "huge_float": 1e300,
        "unicode": "héllo ✓ 🎉 中文",
        "quotes": "\"double\" 'single' \\back\\slash\n\ttab \u0000 nul",
        "": "empty key",
        "nested": {"list": [1, [2, [3, None]], {"deep": True}], "false": False},
        "empty": [{}, []],
    }
    output = engine.run("echo", value)
    assert output == value
    assert type(output["int"]) is int


def test_ints_beyond_32_bits_come_back_from_javascript_as_ints(engine):
    # JavaScript numbers are doubles: integers up to 2**53 are exact there, and must come
    # back as Python ints, not floats (JSON.stringify prints them without a fraction).
    value = [2**31, -(2**40) - 1, 2**53]
    output = engine.run("echo", value)
    assert output == value
    assert [type(n) for n in output] == [int, int, int]


def test_ints_of_any_size_reach_the_core_exactly(engine):
    # The core checks the schema before JavaScript, whose numbers are doubles, sees them;
    # its message quotes the number it received.
    for n in (2**100, 2**64 - 1, 2**63 + 1, -(2**70) - 1):
        with pytest.raises(cogwork.InvalidInputError) as caught:
            engine.run("bounded", {"n": n})
        assert str(n) in caught.value.violations[0]["message"]


def test_tuples_and_subclasses_convert_by_their_data(engine):
    value = {
        "tuple": (1, "two"),
        "int_enum": Color.RED,
        "str_enum": Mood.CALM,
        "ordered": collections.OrderedDict(a=1),
    }
    assert engine.run("echo", value) == {"tuple": [1, "two"], "int_enum": 1, "str_enum": "calm", "ordered": {"a": 1}}


def test_unsupported_object_raises_type_error_naming_its_path(engine):
    with pytest.raises(TypeError, match=r"^input\.items\[3\]\.at is of type datetime\.date, which a task cannot take"):
        engine.run("echo", {"items": [1, 2, 3, {"at": datetime.date(2026, 1, 1)}]})
    with pytest.raises(TypeError, match=r'^input\["odd key"\] is of type set'):
        engine.run("echo", {"odd key": {1}})


def test_datetimes_become_rfc_3339_strings_in_utc_to_the_microsecond(engine):
    utc = datetime.timezone.utc
    paris_summer = datetime.timezone(datetime.timedelta(hours=2))
    value = {
        "utc": datetime.datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=utc),
        "offset": [datetime.datetime(2026, 7, 1, 0, 30, tzinfo=paris_summer)],
        "naive": datetime.datetime.fromtimestamp(1_700_000_000.25),  # local time, as timestamp() reads it
    }
    assert engine.run("echo", value) == {
        "utc": "2026-01-02T03:04:05.000678Z",
        "offset": ["2026-06-30T22:30:00.000000Z"],
        "naive": "2023-11-14T22:13:20.250000Z",
    }
    text = engine.run("echo", {"at": datetime.datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=utc)})["at"]
    assert datetime.datetime.fromisoformat(text.replace("Z", "+00:00")) == datetime.datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=utc)


def test_keys_are_named_by_the_one_identifier_rule_both_languages_share(engine):
    with pytest.raises(TypeError, match=r"^input\.données\.\$ref\[0\] is of type object"):
        engine.run("echo", {"données": {"$ref": [object()]}})
    with pytest.raises(TypeError, match=r'^input\["0"\]\[""\] is of type object'):
        engine.run("echo", {"0": {"": object()}})


def test_non_str_key_raises_type_error(engine):
    with pytest.raises(TypeError, match=r"^input\.ids has a key of type int; keys must be str"):
        engine.run("echo", {"ids": {1: "one"}})


def test_nan_raises_value_error(engine):
    with pytest.raises(ValueError, match=r"^input\[0\] is NaN, which JSON cannot represent"):
        engine.run("echo", [float("nan")])


def test_unencodable_str_raises_value_error_naming_its_path_with_the_cause(engine):
    with pytest.raises(ValueError, match=r"^input\.text cannot be converted: .*surrogate") as caught:
        engine.run("echo", {"text": "\ud800"})
    assert isinstance(caught.value.__cause__, UnicodeEncodeError)


def test_self_containing_list_raises_naming_the_limit_instead_of_overflowing(engine):
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match=r"^input(\[0\]){100} is nested more than 100 levels deep.*contain itself"):
        engine.run("echo", loop)


def _nested(levels):
    value = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_a_value_exactly_as_deep_as_the_limit_converts_and_one_level_more_does_not(engine):
    limit = cogwork._native.MAX_DEPTH
    assert engine.run("echo", _nested(limit)) == _nested(limit)
    with pytest.raises(ValueError, match=r"^input\.a(\[0\]){99} is nested more than 100 levels deep"):
        engine.run("echo", {"a": _nested(limit)})
