"""The one config.json reader and the format probe detector kinds recognise their files by."""
from __future__ import annotations

from pathlib import Path

import pytest

from avcorr.errors import CheckpointError
from avcorr.runtime import json_format, read_json_object


def test_read_json_object_names_the_file_and_the_reason(tmp_path: Path) -> None:
    good = tmp_path / "config.json"
    good.write_text('{"format": "x/1", "kind": "k"}')
    assert read_json_object(good) == {"format": "x/1", "kind": "k"}
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "bad.json").write_text("{nope")
    for name, reason in (("missing.json", "cannot read"), ("bad.json", "not valid JSON"), ("list.json", "not a JSON object")):
        with pytest.raises(CheckpointError, match=reason):
            read_json_object(tmp_path / name)


def test_json_format_is_none_for_anything_but_a_json_object_with_a_format(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"format": "zero-shot/1"}')
    (tmp_path / "b.json").write_text('["format"]')
    (tmp_path / "c.txt").write_text('{"format": "zero-shot/1"}')
    (tmp_path / "d.json").write_text("{oops")
    assert json_format(tmp_path / "a.json") == "zero-shot/1"
    assert [json_format(tmp_path / n) for n in ("b.json", "c.txt", "d.json", "none.json")] == [None] * 4
    assert json_format(tmp_path) is None
