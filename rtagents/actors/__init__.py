"""Session actors: thin trio loops around the sans-IO cores (capture, VAD, model link, tools,
playback).  Each runs in the session's nursery and talks over bounded memory channels."""
