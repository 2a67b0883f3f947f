"""``AGENT`` specs: every form that names an agent, and a one-line error for each that does not."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rtagents import RealtimeAgent
from rtagents.apps.loader import AgentLoadError, find_agent, load_agent

AGENTS = """
from rtagents import RealtimeAgent

support = RealtimeAgent(name="support", instructions="Help.")
sales = RealtimeAgent(name="sales")
number = 42

class Team:
    lead = RealtimeAgent(name="lead")

def build():
    return RealtimeAgent(name="built")

def build_for(context):
    return RealtimeAgent(name=f"for {context}")

async def build_later():
    return RealtimeAgent(name="later")

def broken_factory():
    raise RuntimeError("no\\nconfig")

def wrong_factory():
    return "not an agent"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with agent modules, as the current directory (as a user runs commands)."""
    name = f"agents_{abs(hash(tmp_path))}"
    (tmp_path / f"{name}.py").write_text(AGENTS)
    (tmp_path / "solo.py").write_text(
        "from rtagents import RealtimeAgent\nhelper = 1\nonly = RealtimeAgent(name='only')\n"
    )
    (tmp_path / "named.py").write_text(
        "from rtagents import RealtimeAgent\nagent = RealtimeAgent(name='named')\n"
        "other = RealtimeAgent(name='other')\n"
    )
    (tmp_path / "empty.py").write_text("x = 1\n")
    (tmp_path / "crashes.py").write_text("1 / 0\n")
    (tmp_path / "needs.py").write_text("import surely_not_installed_anywhere\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "helper.py").write_text("NAME = 'from a neighbour'\n")
    (tmp_path / "sub" / "uses_neighbour.py").write_text(
        "from rtagents import RealtimeAgent\nfrom helper import NAME\n"
        "agent = RealtimeAgent(name=NAME)\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    monkeypatch.setattr(sys, "modules", dict(sys.modules))
    (tmp_path / "module_name").write_text(name)
    return tmp_path


def mod(project: Path) -> str:
    return (project / "module_name").read_text()


async def name_of(spec: str, context: object = None) -> str:
    agent = await load_agent(spec, context)
    assert isinstance(agent, RealtimeAgent)
    return agent.name


async def test_every_form_that_names_an_agent(project: Path) -> None:
    m = mod(project)
    assert await name_of(f"{m}:support") == "support"
    assert await name_of(f"{m}:Team.lead") == "lead"
    assert await name_of(f"{m}.py:sales") == "sales"
    assert await name_of(f"./{m}.py:sales") == "sales"
    assert await name_of(f"{project / m}.py:support") == "support"
    assert await name_of("named") == "named"  # no attribute: its `agent`
    assert await name_of("solo.py") == "only"  # no attribute: its only agent
    assert await name_of("sub/uses_neighbour.py") == "from a neighbour"


async def test_factories(project: Path) -> None:
    m = mod(project)
    assert await name_of(f"{m}:build") == "built"
    assert await name_of(f"{m}:build_for", context="ctx") == "for ctx"
    assert await name_of(f"{m}:build_later") == "later"
    assert callable(find_agent(f"{m}:build"))  # found, not yet called


async def test_no_spec_is_the_demo_agent() -> None:
    agent = await load_agent(None)
    assert agent.tool("get_weather") is not None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "AGENT is empty"),
        ("nowhere.py:agent", "no file 'nowhere.py'"),
        ("no_such_module_xyz:agent", "no module named 'no_such_module_xyz'"),
        ("no_such_package_xyz.sub:agent", "no module named 'no_such_package_xyz'"),
        ("crashes.py:agent", "importing 'crashes.py' failed: ZeroDivisionError: division by zero"),
        ("needs:agent", "importing 'needs' failed: ModuleNotFoundError"),
        ("{m}:nobody", "has no attribute 'nobody' (agents there: sales, support)"),
        ("{m}:Team.nobody", "'Team' has no attribute 'nobody'"),
        ("{m}:number", "is a int, not a RealtimeAgent"),
        ("{m}:broken_factory", "the factory failed: RuntimeError: no config"),
        ("{m}:wrong_factory", "the factory returned a str, not a RealtimeAgent"),
        ("empty.py", "say which agent, as empty.py:NAME (it defines no RealtimeAgent)"),
        ("{m}", "(it defines sales, support)"),
    ],
)
async def test_bad_specs_give_one_line_errors(project: Path, spec: str, message: str) -> None:
    spec = spec.format(m=mod(project))
    with pytest.raises(AgentLoadError) as caught:
        await load_agent(spec)
    text = str(caught.value)
    assert message in text
    assert "\n" not in text
    if spec:
        assert text.startswith(spec + ":")
