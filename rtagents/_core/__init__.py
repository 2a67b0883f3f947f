"""The sans-IO insides of a session: pure state machines and data, no trio, no sockets, no clock.

Every module here takes time as an argument (``now``) and returns values (actions, events,
deadlines) for the actors to carry out; ``tests/test_layers.py`` fails if one of them imports
trio or a socket library.

* :mod:`.turns` — the turn table: who speaks, barge-in, truncation at what was heard;
* :mod:`.router` — server events → history, session events, turn inputs and agent callbacks;
* :mod:`.sequencer` — one ``response.create`` at a time, never during a response;
* :mod:`.history` — the conversation as the app sees it;
* :mod:`.schema` — JSON schemas of tool parameters from type hints;
* :mod:`.levels` and :mod:`.vad` — the level meter and the energy detector of both VADs.
"""
