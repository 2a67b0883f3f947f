"""Public test helpers: fakes and scripted peers for testing code built on rtagents."""

from rtagents.local import LocalServer as LocalServer
from rtagents.local import Rule as Rule
from rtagents.local import ScriptedResponder as ScriptedResponder
from rtagents.local import open_local_realtime_server as open_local_realtime_server

__all__ = ["LocalServer", "Rule", "ScriptedResponder", "open_local_realtime_server"]
