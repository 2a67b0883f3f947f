"""The whole runtime on real speech: the offline local model (pocketsphinx → rules → espeak-ng)
behind the real link, with capture, VAD, tools and playback, on trio's MockClock.

Recognition and synthesis run inline (``threaded=False``) so virtual time stays deterministic;
the memory transport stands in for the loopback socket.
"""

from __future__ import annotations

import argparse
import io
import wave
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
import trio
import trio.testing

from rtagents import RealtimeRunConfig, native, open_session
from rtagents import items as it
from rtagents import protocol as p
from rtagents.apps.demo import DEMO_GRAMMAR, SAMPLE_QUESTION, TRANSCRIPTION, add_arguments, run_demo
from rtagents.apps.demo_agent import demo_agent, forecast
from rtagents.events import RealtimeSessionEvent
from rtagents.testing import FakeAudioSink, FakeAudioSource, local_model, server_events, silence

speech = pytest.importorskip("rtagents.local.speech")
try:
    VOICE = speech.EspeakVoice(threaded=False)
except speech.SpeechUnavailable as exc:  # pragma: no cover - the [local] extra is missing
    pytest.skip(f"no espeak-ng: {exc}", allow_module_level=True)

FRAME_BYTES = 960  # 20 ms at 24 kHz
_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
]
_TEENS = ["fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]


def number_words(n: int) -> str:
    if n < 14:
        return _UNITS[n]
    if n < 20:
        return _TEENS[n - 14]
    return "twenty" + ("" if n == 20 else " " + _UNITS[n - 20])


def demo_args(**given: Any) -> argparse.Namespace:
    """`rtagents demo`'s parsed arguments: the defaults, with `given` changed."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return argparse.Namespace(**{**vars(parser.parse_args([])), **given})


def say(text: str) -> bytes:
    return bytes(VOICE.synthesize_sync(text))


def frames(pcm: bytes) -> list[bytes]:
    return [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]


def seconds(pcm: bytes) -> float:
    return len(pcm) / 48000


def read_wav(path: Path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (24000, 1, 2)
        return wav.readframes(wav.getnframes())


async def recognize(pcm: bytes, phrases: list[str]) -> str:
    """What pocketsphinx hears in 24 kHz `pcm`, among `phrases`."""
    recognizer = speech.PocketsphinxRecognizer(phrases=phrases, threaded=False)
    utterance = await recognizer.open_utterance(24000)
    for frame in frames(silence(0.3) + pcm + silence(0.3)):
        await utterance.feed(frame)
    text: str = await utterance.finish()
    return text


def weather_answers(city: str) -> list[str]:
    skies = ("sunny", "cloudy", "rainy", "windy", "foggy", "snowy")
    return [
        f"in {city} it is {sky} and {number_words(n)} degrees"
        for sky in skies
        for n in range(5, 25)
    ]


async def test_the_demo_answers_a_spoken_question_with_a_tool_call(
    autojump_clock: trio.testing.MockClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The README's main command, minus the socket and the threads: the sample question is
    # synthesized at the first run, played through the actor pipeline, answered by calling
    # get_weather, and the answer written to a WAV file that pocketsphinx hears back.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("RTAGENTS_BRAIN", raising=False)
    args = demo_args(output=str(tmp_path / "answer.wav"), files=True)
    out = io.StringIO()
    result = await run_demo(args, out, in_memory=True)

    assert (tmp_path / "cache" / "rtagents" / "sample-question.wav").exists()
    assert result.users_said == [SAMPLE_QUESTION.lower().rstrip("?")]
    sky, degrees = forecast("London")
    expected = f"In London it is {sky} and {degrees} degrees."
    assert result.tool_calls == [("get_weather", '{"city": "London"}', expected)]
    assert result.agent_said == [expected]
    heard = await recognize(read_wav(tmp_path / "answer.wav"), weather_answers("london"))
    assert heard == f"in london it is {sky} and {number_words(degrees)} degrees"
    (turn,) = result.turns
    stages = turn.stages()
    assert all(stages[k] is not None for k in ("turn detection", "recognition", "synthesis"))
    assert stages["tool round trip"] is not None
    text = out.getvalue()
    assert "you:     what is the weather like in london today" in text
    assert 'get_weather({"city": "London"})' in text
    assert "end of speech → first audio" in text


async def test_a_bad_input_file_is_a_clear_error(tmp_path: Path) -> None:
    from rtagents.apps.demo import DemoError

    bad = tmp_path / "q.wav"
    bad.write_bytes(b"RIFF nonsense")
    args = demo_args(
        input=str(bad), output=str(tmp_path / "a.wav"), files=True, model="local", timeout=1.0
    )
    with pytest.raises(DemoError, match="cannot read --input"):
        await run_demo(args, io.StringIO(), in_memory=True)


@attrs.frozen
class Conversation:
    events: list[RealtimeSessionEvent]
    timed: list[tuple[float, Any]]  # (trio time, event)
    sink: FakeAudioSink
    server: Any  # the LocalServer
    history: Any


ASK_FOR_TRANSCRIPTS = p.SessionConfig(
    audio=p.AudioConfig(input=p.AudioInputConfig(transcription=TRANSCRIPTION))
)


async def converse(
    audio: bytes,
    *,
    run_for: float,
    brain: Any = None,
    settings: p.SessionConfig = ASK_FOR_TRANSCRIPTS,
) -> Conversation:
    """Play `audio` as the user's voice to the demo agent on the local speech model."""
    model_parts = speech.speech_model(brain=brain, grammar=DEMO_GRAMMAR, threaded=False)
    model = local_model(model_parts.responder, transcriber=model_parts.recognizer)
    sink = FakeAudioSink()
    config = RealtimeRunConfig(
        audio_source=FakeAudioSource(frames(audio)),
        audio_sink=sink,
        link_factory=model.link_factory,
        model_settings=settings,
        echo_gate=False,  # fake devices: no room for the agent's voice to echo in
    )
    timed: list[tuple[float, Any]] = []
    async with open_session(demo_agent(), config) as session, trio.open_nursery() as nursery:

        async def collect() -> None:
            async for event in session:
                timed.append((trio.current_time(), event))

        nursery.start_soon(collect)
        await trio.sleep(run_for)
        history = session.history
        nursery.cancel_scope.cancel()
    return Conversation([e for _, e in timed], timed, sink, model.server, history)


def user_transcripts(history: Any) -> list[str]:
    return [
        " ".join(getattr(c, "transcript", None) or "" for c in i.content)
        for i in history
        if isinstance(i, it.UserMessageItem)
    ]


def agent_transcripts(history: Any) -> list[str]:
    return [
        "".join(getattr(c, "transcript", None) or "" for c in i.content)
        for i in history
        if isinstance(i, it.AssistantMessageItem)
    ]


async def test_two_consecutive_spoken_turns(autojump_clock: trio.testing.MockClock) -> None:
    first, second = say("What is the weather in Paris?"), say("What time is it in Tokyo?")
    audio = silence(0.5) + first + silence(5.0) + second + silence(5.0)
    run = await converse(audio, run_for=seconds(audio) + 2)
    events, sink, server, history = run.events, run.sink, run.server, run.history

    assert user_transcripts(history) == [
        "what is the weather in paris",
        "what time is it in tokyo",
    ]
    calls = [(e.tool.name, e.arguments) for e in events if e.type == "tool_start"]
    assert calls == [("get_weather", '{"city": "Paris"}'), ("get_time", '{"city": "Tokyo"}')]
    sky, degrees = forecast("Paris")
    answers = agent_transcripts(history)
    assert answers[0] == f"In Paris it is {sky} and {degrees} degrees."
    assert answers[1].startswith("It is ")
    assert answers[1].endswith(" in Tokyo.")
    # The server's conversation holds both turns, in order, with the transcripts.
    (state,) = server.sessions
    kinds = [type(s.item).__name__ for s in state.items]
    assert kinds == ["MessageItem", "FunctionCallItem", "FunctionCallOutputItem", "MessageItem"] * 2
    # Both answers were played in full.
    assert sink.seconds_written > 3.0


async def test_barge_in_mid_answer_truncates_at_the_heard_audio(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # "hello there" gets a long greeting; 1.5 s into it the user says "stop".
    question = say("hello there")
    stop = say("stop")
    lead = 0.5
    # The answer starts about 0.5 s (the VAD's silence) after the question ends.
    barge_at = lead + seconds(question) + 0.5 + 1.5
    audio = silence(lead) + question + silence(barge_at - lead - seconds(question))
    audio += stop + silence(4.0)
    run = await converse(audio, run_for=seconds(audio) + 1)
    sink, server, timed, history = run.sink, run.server, run.timed, run.history

    interrupted = [t for t, e in timed if e.type == "audio_interrupted"]
    assert interrupted, "the agent was never interrupted"
    (state,) = server.sessions
    greeting = next(
        s
        for s in state.items
        if isinstance(s.item, p.MessageItem)
        and s.item.role == "assistant"
        and "Hello" in (s.item.content[0].transcript or "")  # type: ignore[union-attr]
    )
    # The server truncated the greeting at what was heard: from its first sample played to
    # the barge-in, within the VAD's reaction time, and well short of the whole greeting.
    first_played = min(t for t, pcm in sink.writes if np.any(np.frombuffer(pcm, "<i2")))
    heard_ms = (barge_at - first_played) * 1000
    assert abs(greeting.audio_ms - heard_ms) < 60, (greeting.audio_ms, heard_ms)
    assert greeting.audio_ms < 2500
    full_text = "Hello! I am the local demo model. You can ask me to get weather or get time."
    transcript = greeting.item.content[0].transcript
    assert transcript
    assert full_text.startswith(transcript)
    assert transcript != full_text
    # Playback went quiet within a frame or two of the user starting to speak again.
    last_agent_sound = sink.last_nonzero_time(before=barge_at + 0.3)
    assert last_agent_sound is not None
    assert last_agent_sound < barge_at + 0.1
    # The history marks the greeting as cut off, and the user's "stop" was heard.
    truncated = [i for i in history if isinstance(i, it.AssistantMessageItem) and i.truncated_at_ms]
    assert truncated
    assert truncated[0].truncated_at_ms == greeting.audio_ms
    assert user_transcripts(history)[:2] == ["hello there", "stop"]


async def test_a_chat_completions_brain_behind_the_same_ears_and_voice(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A language model (here the fake chat server) instead of the rules: it sees the spoken
    # question's transcript and the agent's tools, calls one, and its answer is spoken.
    from rtagents.testing import FakeReply, open_fake_chat_server

    replies = [
        FakeReply(tool_calls=(("get_weather", '{"city": "Paris"}'),)),
        FakeReply(text="Paris looks fine today, enjoy your walk."),
    ]
    async with open_fake_chat_server(replies) as chat:
        brain = speech.ChatCompletionsBrain(chat.url, "tiny", api_key="sk-test-secret")
        audio = silence(0.5) + say("What is the weather in Paris?") + silence(6.0)
        run = await converse(audio, run_for=seconds(audio) + 2, brain=brain)
        await brain.aclose()

    first, second = chat.requests
    assert first["messages"][0]["role"] == "system"
    assert first["messages"][-1] == {"role": "user", "content": "what is the weather in paris"}
    assert {t["function"]["name"] for t in first["tools"]} == {"get_weather", "get_time"}
    sky, degrees = forecast("Paris")
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool"
    assert tool_message["content"] == f"In Paris it is {sky} and {degrees} degrees."
    assert chat.auth_headers == ["Bearer sk-test-secret"] * 2
    assert [e.arguments for e in run.events if e.type == "tool_start"] == ['{"city": "Paris"}']
    assert agent_transcripts(run.history) == ["Paris looks fine today, enjoy your walk."]
    assert run.sink.seconds_written > 1.5  # the answer was spoken


async def test_a_telephone_format_session_hears_and_speaks_mu_law(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # G.711 μ-law at 8 kHz both ways (what Twilio carries): the recognizer gets 8 kHz PCM,
    # the answer is synthesized at 24 kHz and leaves the server as μ-law deltas.
    audio = silence(0.5) + say("What time is it in Tokyo?") + silence(5.0)
    ulaw = p.AudioFormat.pcmu()
    settings = p.SessionConfig(
        audio=p.AudioConfig(
            input=p.AudioInputConfig(format=ulaw, transcription=TRANSCRIPTION),
            output=p.AudioOutputConfig(format=ulaw),
        )
    )
    run = await converse(audio, run_for=seconds(audio) + 2, settings=settings)
    history, sink = run.history, run.sink
    raw = [e.wire for e in server_events(run.events)]
    (state,) = run.server.sessions
    assert state.input_format == ulaw
    assert state.output_format == ulaw
    assert user_transcripts(history) == ["what time is it in tokyo"]
    assert agent_transcripts(history)[0].endswith(" in Tokyo.")
    deltas = [e for e in raw if isinstance(e, p.ResponseOutputAudioDelta)]
    # μ-law is one byte per 8 kHz sample: the deltas' size matches the answer's duration.
    ulaw_seconds = sum(len(bytes(d.audio)) for d in deltas) / 8000
    assert ulaw_seconds == pytest.approx(sink.seconds_written, abs=0.2)
    assert ulaw_seconds > 1.0


async def test_the_demo_goes_live_when_there_are_devices(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With a microphone and a speaker (faked here) and no file arguments, the demo listens
    # and speaks live until stopped.
    import rtagents.apps.demo as demo

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    question = silence(0.5) + say("What time is it?") + silence(6.0)
    rates: list[int] = []
    speakers: list[FakeAudioSink] = []

    def microphone(rate: int) -> FakeAudioSource:
        rates.append(rate)
        pcm = native.Resampler(24000, rate).process(question) if rate != 24000 else question
        step = rate // 50 * 2
        return FakeAudioSource([pcm[i : i + step] for i in range(0, len(pcm), step)], rate=rate)

    def speaker(rate: int) -> FakeAudioSink:
        speakers.append(FakeAudioSink(rate=rate))
        return speakers[-1]

    monkeypatch.setattr(demo, "_has_devices", lambda: True)
    monkeypatch.setattr(demo, "SoundDeviceSource", microphone)
    monkeypatch.setattr(demo, "SoundDeviceSink", speaker)
    args = demo_args()
    out = io.StringIO()
    with trio.move_on_after(seconds(question) + 1):  # the user's Ctrl-C
        await run_demo(args, out, in_memory=True)
    text = out.getvalue()
    assert "live: speak into the microphone" in text
    assert "you:     what time is it" in text
    assert "tool   get_time({})" in text
    assert rates == [48000]  # devices run at their native rate; the actors resample
    (played,) = speakers
    assert played.rate == 48000
    assert played.seconds_written > 1.0


async def test_the_demo_shows_an_answer_cut_off_by_the_user(
    autojump_clock: trio.testing.MockClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rtagents.apps.demo import write_wav

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    question = say("hello there")
    audio = silence(0.5) + question + silence(0.5 + 1.5) + say("stop") + silence(1.0)
    write_wav(tmp_path / "q.wav", audio)
    out = io.StringIO()
    args = demo_args(input=str(tmp_path / "q.wav"), output=str(tmp_path / "a.wav"))
    result = await run_demo(args, out, in_memory=True)
    text = out.getvalue()
    assert "you:     hello there" in text
    assert "you:     stop" in text
    assert "(the agent was interrupted)" in text
    full = "Hello! I am the local demo model. You can ask me to get weather or get time."
    assert f"agent:   {full}" in text  # the text arrives ahead of the audio ...
    (cut,) = [line for line in text.splitlines() if "(cut off after" in line]
    heard = cut.split("“")[1].removesuffix("…”)")  # ... the line after it: what was heard
    assert full.startswith(heard)
    assert 0 < len(heard) < len(full)
    assert result.users_said == ["hello there", "stop"]
    assert result.agent_said[0] == heard


async def test_a_failing_brain_is_reported_and_the_conversation_goes_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The language model answers 500 once: the response fails, the session says why (an error
    # event, not silence), and the next spoken turn is answered.
    from rtagents.testing import FakeReply, open_fake_chat_server

    replies = [FakeReply(status=500, text="model overloaded"), FakeReply(text="Hello again.")]
    async with open_fake_chat_server(replies) as chat:
        brain = speech.ChatCompletionsBrain(chat.url, "tiny")
        audio = silence(0.5) + say("hello") + silence(3.0) + say("hello there") + silence(4.0)
        run = await converse(audio, run_for=seconds(audio) + 1, brain=brain)
        await brain.aclose()
    errors = [e.error for e in run.events if e.type == "error"]
    assert len(errors) == 1
    assert errors[0]["type"] == "response_failed"
    assert "HTTP 500" in errors[0]["message"]
    assert "model overloaded" in errors[0]["message"]
    assert [e.status for e in run.events if e.type == "agent_end"] == ["failed", "completed"]
    assert agent_transcripts(run.history) == ["Hello again."]
