"""Tests for `observer.targets.load_factory`: a `package.module:factory` target, or a one-line TargetError."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from observer.runtime import Runtime, Supervisor
from observer.targets import TargetError, load_factory
from tests.drills.fixtures import shop

SHOP = "tests.drills.fixtures.shop"


def refused(target: str) -> str:
    """The TargetError message for `target`, checked to be one line."""
    with pytest.raises(TargetError) as raised:
        load_factory(target)
    message = str(raised.value)
    assert "\n" not in message, message
    return message


def test_a_good_target_gives_the_async_factory() -> None:
    assert load_factory(f"{SHOP}:factory") is shop.factory
    assert load_factory(f"{SHOP}:unnamed_factory") is shop.unnamed_factory


def test_a_dotted_attribute_path_is_followed() -> None:
    assert load_factory(f"{SHOP}:Factories.shop") is shop.Factories.shop


async def test_the_loaded_factory_starts_the_users_tree() -> None:
    factory = load_factory(f"{SHOP}:factory")
    async with Runtime() as rt:
        root = await factory(rt)
        assert rt.whereis("shop") is root
        children = await Supervisor.which_children(rt, root)
        assert [child.id for child in children] == list(shop.CHILDREN)


@pytest.mark.parametrize("target", ["tests.drills.fixtures.shop", "shop.factory", "", ":", ":factory", f"{SHOP}:"])
def test_a_malformed_target_names_the_expected_form(target: str) -> None:
    message = refused(target)
    assert "package.module:factory" in message
    assert repr(target) in message


def test_a_missing_module_says_it_cannot_import_it() -> None:
    message = refused("tests.drills.fixtures.no_such_module:factory")
    assert "cannot import 'tests.drills.fixtures.no_such_module'" in message
    assert "no_such_module" in message


def test_a_module_whose_import_raises_importerror_is_refused() -> None:
    message = refused("tests.drills.fixtures.broken:factory")
    assert "cannot import 'tests.drills.fixtures.broken'" in message
    assert "database driver that is not installed" in message


def test_a_module_whose_import_crashes_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "drill_target_crashes.py").write_text('raise RuntimeError("no config\\nfound")\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "drill_target_crashes", raising=False)
    message = refused("drill_target_crashes:factory")
    assert "importing 'drill_target_crashes' raised RuntimeError: no config found" in message


def test_a_module_with_a_syntax_error_names_the_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "drill_target_syntax.py").write_text("async def factory(rt):\n    return (\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "drill_target_syntax", raising=False)
    message = refused("drill_target_syntax:factory")
    assert "'drill_target_syntax' has a syntax error at line" in message


@pytest.mark.parametrize("attribute", ["no_factory", "Factories.nope", "factory.deeper"])
def test_a_missing_attribute_names_the_module_and_the_attribute(attribute: str) -> None:
    message = refused(f"{SHOP}:{attribute}")
    assert f"module {SHOP!r} has no attribute {attribute!r}" in message


@pytest.mark.parametrize(
    ("attribute", "shown"),
    [("NOT_CALLABLE", "got 42"), ("not_async", "got <function not_async"), ("Counter", "got <class")],
)
def test_a_target_that_is_not_an_async_function_is_refused(attribute: str, shown: str) -> None:
    message = refused(f"{SHOP}:{attribute}")
    assert f"{attribute!r} must be `async def {attribute}(rt) -> Pid`" in message
    assert shown in message
