"""The demo agent: a voice assistant with a weather tool and a clock tool.

``get_weather`` is canned (a deterministic forecast derived from the city's name, so a demo
needs no network and tests can predict it); ``get_time`` reads this machine's clock, in the
city's time zone when it knows the city.
"""

from __future__ import annotations

import datetime as dt
import zlib
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rtagents.agent import RealtimeAgent
from rtagents.function_tools import function_tool

_ZONES = {
    "paris": "Europe/Paris",
    "london": "Europe/London",
    "berlin": "Europe/Berlin",
    "madrid": "Europe/Madrid",
    "rome": "Europe/Rome",
    "oslo": "Europe/Oslo",
    "new york": "America/New_York",
    "chicago": "America/Chicago",
    "los angeles": "America/Los_Angeles",
    "tokyo": "Asia/Tokyo",
    "sydney": "Australia/Sydney",
}
_SKIES = ("sunny", "cloudy", "rainy", "windy", "foggy", "snowy")

INSTRUCTIONS = (
    "You are a friendly voice assistant. Keep answers short. "
    "Use get_weather for the weather and get_time for the time."
)


def forecast(city: str) -> tuple[str, int]:
    """The canned forecast for `city`: (sky, degrees Celsius)."""
    seed = zlib.crc32(city.strip().lower().encode())
    return _SKIES[seed % len(_SKIES)], 5 + seed % 20


@function_tool
def get_weather(city: str) -> str:
    """Get the weather forecast for a city.

    Args:
        city: The city, for example Paris.
    """
    sky, degrees = forecast(city)
    return f"In {city.strip().title()} it is {sky} and {degrees} degrees."


@function_tool
def get_time(city: str = "") -> str:
    """Get the current time, in a city if one is given.

    Args:
        city: The city, for example Tokyo (optional).
    """
    zone_name = _ZONES.get(city.strip().lower())
    now = dt.datetime.now(dt.UTC)
    where = "here"
    if zone_name is not None:
        try:
            now = now.astimezone(ZoneInfo(zone_name))
            where = f"in {city.strip().title()}"
        except ZoneInfoNotFoundError:  # no tz database on this machine
            now = now.astimezone()
    else:
        now = now.astimezone()
    return f"It is {now:%H:%M} {where}."


def demo_agent() -> RealtimeAgent:
    return RealtimeAgent("Assistant", instructions=INSTRUCTIONS, tools=[get_weather, get_time])
