"""The offline speech parts: RuleBrain, split_speakable, SpokenResponder and the pocketsphinx
recognizer (on espeak-ng's speech, with a closed set of phrases: exact)."""

from __future__ import annotations

import gc
import itertools
import json
import re
import warnings
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from typing import Any

import attrs
import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from rtagents import native
from rtagents import protocol as p
from rtagents.apps.demo_agent import get_time, get_weather
from rtagents.local import CallTool, ResponseContext, ResponsePart, Say
from rtagents.local.speech import RuleBrain, SpokenResponder, split_speakable
from rtagents.local.speech._errors import SpeechUnavailable

DEMO_TOOLS = (get_weather.to_protocol(), get_time.to_protocol())


def context(
    *items: p.ConversationItem,
    tools: Sequence[p.FunctionTool] = DEMO_TOOLS,
    audio_output: bool = False,
    marks: list[str] | None = None,
) -> ResponseContext:
    extra: dict[str, Any] = {} if marks is None else {"mark": marks.append}
    return ResponseContext(
        conversation=tuple(items),
        session=p.SessionConfig(tools=tuple(tools)),
        params=None,
        audio_output=audio_output,
        **extra,
    )


def heard(transcript: str | None) -> p.MessageItem:
    """A user turn as the server holds it after recognition."""
    return p.MessageItem(
        id="item_u",
        role="user",
        status="completed",
        content=(p.InputAudioContent(transcript=transcript),),
    )


def answer(transcript: str | None, **kwargs: Any) -> list[ResponsePart]:
    return RuleBrain().answer(context(heard(transcript), **kwargs))


def call(transcript: str, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    (part,) = answer(transcript, **kwargs)
    assert isinstance(part, CallTool), part
    return part.name, json.loads(part.arguments)


def said(parts: Sequence[ResponsePart]) -> str:
    (part,) = parts
    assert isinstance(part, Say), part
    assert part.audio is None
    return part.text


# -- RuleBrain --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("transcript", "expected"),
    [
        ("what is the weather like in london today", ("get_weather", {"city": "London"})),
        ("weather for new york please", ("get_weather", {"city": "New York"})),
        ("what's the forecast in the city of oslo", ("get_weather", {"city": "Oslo"})),
        ("what time is it in tokyo", ("get_time", {"city": "Tokyo"})),
        ("what time is it", ("get_time", {})),
        ("WHAT TIME IS IT IN PARIS", ("get_time", {"city": "Paris"})),
    ],
)
def test_rule_brain_calls_the_demo_tools(transcript: str, expected: tuple[str, Any]) -> None:
    assert call(transcript) == expected


def test_rule_brain_reads_typed_text_too() -> None:
    typed = p.MessageItem.user_text("What is the weather in Rome?")
    (part,) = RuleBrain().answer(context(typed))
    assert part == CallTool("get_weather", json.dumps({"city": "Rome"}))


def test_rule_brain_asks_for_a_required_argument_it_cannot_fill() -> None:
    assert said(answer("what is the weather")) == "Which city do you mean?"


def test_rule_brain_small_talk_mentions_the_tools() -> None:
    text = said(answer("hello there"))
    assert text.startswith("Hello! I am the local demo model.")
    assert "get weather" in text
    assert "get time" in text
    assert said(answer("thanks a lot")) == "You are welcome."
    assert said(answer("bye")) == "Goodbye!"
    echo = said(answer("purple elephants dance"))
    assert echo.startswith("You said: purple elephants dance.")
    lonely = said(answer("hello", tools=()))
    assert "no tools" in lonely


@pytest.mark.parametrize("transcript", ["", None, "  ", "?!"])
def test_rule_brain_did_not_catch_an_empty_transcript(transcript: str | None) -> None:
    assert "did not catch" in said(answer(transcript))


def test_rule_brain_with_no_user_turn_at_all() -> None:
    assert "did not catch" in said(RuleBrain().answer(context()))


def tool_round(*outputs: str) -> list[p.ConversationItem]:
    items: list[p.ConversationItem] = [heard("what is the weather in paris")]
    for n, output in enumerate(outputs):
        items.append(
            p.FunctionCallItem(id=f"fc{n}", call_id=f"c{n}", name="get_weather", arguments="{}")
        )
        items.append(p.FunctionCallOutputItem(id=f"fo{n}", call_id=f"c{n}", output=output))
    return items


@pytest.mark.parametrize(
    ("outputs", "expected"),
    [
        (("In Paris it is sunny and 12 degrees.",), "In Paris it is sunny and 12 degrees."),
        (('"quoted text "',), "quoted text"),
        (('{"sky": "sunny", "temperature_c": 21}',), "sky: sunny, temperature c: 21."),
        (('{"cities": ["Oslo", "Rome"], "n": {"a": 1}}',), "cities: Oslo, Rome, n: a: 1."),
        (("42",), "42."),
        (("It is 10:00 here.", '{"ok": true}'), "It is 10:00 here. ok: True."),
    ],
)
def test_rule_brain_says_the_tool_outputs(outputs: tuple[str, ...], expected: str) -> None:
    assert said(RuleBrain().answer(context(*tool_round(*outputs)))) == expected


def test_rule_brain_says_only_the_trailing_outputs() -> None:
    items = [*tool_round("old news"), heard("thanks"), *tool_round("fresh news")[1:]]
    assert said(RuleBrain().answer(context(*items))) == "fresh news"
    # A user turn after the output: the output is not repeated.
    assert said(RuleBrain().answer(context(*tool_round("old"), heard("thanks")))) == (
        "You are welcome."
    )


MODE_TOOL = p.FunctionTool(
    name="set_fan_mode",
    description="Set the fan mode",
    parameters={
        "type": "object",
        "properties": {
            "mode": {"type": "string", "enum": ["eco", "turbo boost", "night"]},
            "speed": {"type": "integer"},
        },
        "required": ["mode"],
    },
)


def test_rule_brain_picks_the_spoken_enum_value_and_numbers() -> None:
    assert call("set the fan to turbo boost", tools=(MODE_TOOL,)) == (
        "set_fan_mode",
        {"mode": "turbo boost"},
    )
    assert call("fan mode night at speed three", tools=(MODE_TOOL,)) == (
        "set_fan_mode",
        {"mode": "night", "speed": 3},
    )
    assert call("fan mode eco speed 12", tools=(MODE_TOOL,)) == (
        "set_fan_mode",
        {"mode": "eco", "speed": 12},
    )
    # "turbo" alone is not the value "turbo boost": the required mode is asked for.
    assert said(answer("set the fan to turbo", tools=(MODE_TOOL,))) == "Which mode do you mean?"


def test_rule_brain_uses_the_response_tools_over_the_session_tools() -> None:
    ctx = attrs.evolve(
        context(heard("what time is it")), params=p.ResponseParams(tools=(MODE_TOOL,))
    )
    (part,) = RuleBrain().answer(ctx)
    assert isinstance(part, Say)  # get_time is not offered in this response


async def test_rule_brain_respond_streams_its_answer() -> None:
    ctx = context(heard("what time is it in tokyo"))
    async with aclosing(RuleBrain().respond(ctx)) as parts:  # type: ignore[type-var]
        streamed = [part async for part in parts]
    assert streamed == RuleBrain().answer(ctx)


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(
        alphabet=st.sampled_from(list("abcdeilmnorstuwy 0123456789'?.,ÄéßIT")), max_size=60
    )
    | st.text(max_size=40),
    with_tools=st.booleans(),
)
def test_rule_brain_is_deterministic_and_never_raises(text: str, with_tools: bool) -> None:
    tools = (*DEMO_TOOLS, MODE_TOOL) if with_tools else ()
    first = RuleBrain().answer(context(heard(text), tools=tools))
    again = RuleBrain().answer(context(heard(text), tools=tools))
    assert first == again
    (part,) = first
    if isinstance(part, CallTool):
        assert part.name in {t.name for t in tools}
        assert isinstance(json.loads(part.arguments), dict)
    else:
        assert part.text


# -- split_speakable --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "min_clause", "pieces", "rest"),
    [
        ("", 24, [], ""),
        ("Hello", 24, [], "Hello"),
        ("Hello there. How are", 24, ["Hello there. "], "How are"),
        ("Hi! Yes? Ok.", 24, ["Hi! ", "Yes? "], "Ok."),  # the end may still grow ("Ok.5")
        ("It is 3.5 degrees", 24, [], "It is 3.5 degrees"),
        ("Well, I think so. Then", 24, ["Well, I think so. "], "Then"),
        (
            "Well, I think that the weather today, is fine",
            24,
            ["Well, I think that the weather today, "],
            "is fine",
        ),
        ("Well, yes; no: maybe, ", 5, ["Well, ", "yes; ", "no: maybe, "], ""),
        ("a,b,c, d", 1, ["a,b,c, "], "d"),  # a comma inside a word is no break
        ("Wait...  ok", 24, ["Wait... "], " ok"),
        ("End.\nNext line", 24, ["End.\n"], "Next line"),
    ],
)
def test_split_speakable_table(text: str, min_clause: int, pieces: list[str], rest: str) -> None:
    assert split_speakable(text, min_clause) == (pieces, rest)


_BOUNDARY = re.compile(r"[.!?,;:](?:\s)?$")
SPEAKABLE = st.text(alphabet=st.sampled_from(list("ab c.,!?;:3\n")), max_size=80)


def assert_pieces(text: str, pieces: list[str], rest: str, min_clause: int) -> None:
    assert "".join(pieces) + rest == text
    consumed = 0
    for piece in pieces:
        consumed += len(piece)
        assert piece.strip()
        assert _BOUNDARY.search(piece), piece
        # The boundary is a real one: the punctuation is followed by whitespace (at the end
        # of the text so far more may come, so that is no boundary).
        end = piece.rstrip()
        assert end != piece
        assert piece[len(end)].isspace()
        if end[-1] in ",;:":  # a clause break: only once the piece is long enough
            assert len(piece) >= min_clause
    # Nothing speakable is left: the rest has no sentence end followed by a blank.
    assert not re.search(r"[.!?]\s", rest)


@settings(max_examples=200, deadline=None)
@given(text=SPEAKABLE, min_clause=st.integers(1, 30))
def test_split_speakable_cuts_only_at_boundaries(text: str, min_clause: int) -> None:
    pieces, rest = split_speakable(text, min_clause)
    assert_pieces(text, pieces, rest, min_clause)


def speak_incrementally(chunks: list[str], min_clause: int) -> list[str]:
    """What SpokenResponder speaks: pieces as the text streams in, then whatever is left."""
    spoken: list[str] = []
    pending = ""
    for chunk in chunks:
        pending += chunk
        pieces, pending = split_speakable(pending, min_clause)
        spoken += pieces
    if pending.strip():
        spoken.append(pending)
    return spoken


def cut(text: str, cuts: list[int]) -> list[str]:
    bounds = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=200, deadline=None)
@given(
    text=SPEAKABLE, cuts=st.lists(st.integers(0, 200), max_size=10), min_clause=st.integers(1, 30)
)
def test_split_speakable_incrementally_says_the_same_text(
    text: str, cuts: list[int], min_clause: int
) -> None:
    spoken = speak_incrementally(cut(text, cuts), min_clause)
    tail = text[len("".join(spoken)) :]
    assert "".join(spoken) + tail == text
    assert not tail.strip()  # everything but trailing blanks is said


@settings(max_examples=200, deadline=None)
@given(
    text=SPEAKABLE, cuts=st.lists(st.integers(0, 200), max_size=10), min_clause=st.integers(1, 30)
)
def test_split_speakable_incrementally_at_word_starts_gives_the_same_pieces(
    text: str, cuts: list[int], min_clause: int
) -> None:
    # Cuts just after blanks (an LLM's words arrive like that): pending text never ends in a
    # punctuation mark that more text could still turn into something else.
    starts = [c % (len(text) + 1) for c in cuts]
    starts = [c for c in starts if c == 0 or c == len(text) or text[c - 1].isspace()]
    pieces, rest = split_speakable(text, min_clause)
    whole = pieces + ([rest] if rest.strip() else [])
    assert speak_incrementally(cut(text, starts), min_clause) == whole


def test_a_number_split_across_chunks_is_not_cut() -> None:
    text = "It is 3.5 degrees in Paris today."
    assert speak_incrementally(["It is 3.", "5 degrees in Paris today."], 24) == [text]


# -- SpokenResponder --------------------------------------------------------------------------


@attrs.define(eq=False)
class WordBrain:
    """Yields `text` word by word (each with its trailing blank), then the `calls`."""

    text: str
    calls: Sequence[CallTool] = ()
    closed: bool = False
    words_sent: int = 0

    async def respond(self, context: ResponseContext) -> AsyncIterator[ResponsePart]:
        try:
            for word in re.findall(r"\S+\s*", self.text):
                await trio.lowlevel.checkpoint()
                self.words_sent += 1
                yield Say(word)
            for tool in self.calls:
                yield tool
        finally:
            self.closed = True


@attrs.define(eq=False)
class ChunkVoice:
    """`chunks` chunks per text (b"<text>#<n>"); remembers what it said and what was closed."""

    chunks: int = 3
    texts: list[str] = attrs.field(factory=list)
    finished: list[str] = attrs.field(factory=list)
    closed: list[str] = attrs.field(factory=list)

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        self.texts.append(text)
        try:
            for n in range(self.chunks):
                await trio.lowlevel.checkpoint()
                yield f"{text}#{n}".encode()
            self.finished.append(text)
        finally:
            self.closed.append(text)


async def collect(responder: SpokenResponder, ctx: ResponseContext) -> list[ResponsePart]:
    async with aclosing(responder.respond(ctx)) as parts:
        return [part async for part in parts]


ANSWER = "Hello there. It is sunny in Paris, and warm for the season; enjoy. Bye"
PIECES = ["Hello there. ", "It is sunny in Paris, and warm for the season; ", "enjoy. ", "Bye"]


async def test_spoken_responder_speaks_each_piece_as_it_completes() -> None:
    voice = ChunkVoice(chunks=3)
    marks: list[str] = []
    parts = await collect(
        SpokenResponder(WordBrain(ANSWER), voice), context(audio_output=True, marks=marks)
    )
    assert voice.texts == [piece.strip() for piece in PIECES]
    assert voice.finished == voice.texts == voice.closed
    expected = [
        Say(text if n == 0 else "", f"{text.strip()}#{n}".encode())
        for text in PIECES
        for n in range(3)
    ]
    assert parts == expected
    assert "".join(part.text for part in parts if isinstance(part, Say)) == ANSWER
    assert marks == ["brain_first_text", "synth_first_audio"]


async def test_spoken_responder_passes_tool_calls_through() -> None:
    weather = CallTool("get_weather", '{"city": "Paris"}')
    voice = ChunkVoice(chunks=1)
    brain = WordBrain("One moment. ", calls=(weather,))
    parts = await collect(SpokenResponder(brain, voice), context(audio_output=True))
    assert parts == [Say("One moment. ", b"One moment.#0"), weather]
    # A tool call alone: no text, no voice, no marks.
    marks: list[str] = []
    voice = ChunkVoice()
    alone = await collect(
        SpokenResponder(WordBrain("", calls=(weather,)), voice),
        context(audio_output=True, marks=marks),
    )
    assert alone == [weather]
    assert voice.texts == []
    assert marks == []


async def test_text_before_a_tool_call_is_spoken_before_it() -> None:
    weather = CallTool("get_weather", '{"city": "Paris"}')
    brain = WordBrain("Let me check the weather for you", calls=(weather,))
    parts = await collect(SpokenResponder(brain, ChunkVoice(chunks=1)), context(audio_output=True))
    assert parts == [
        Say("Let me check the weather for you", b"Let me check the weather for you#0"),
        weather,
    ]


async def test_spoken_responder_text_only_says_the_pieces_without_the_voice() -> None:
    voice = ChunkVoice()
    marks: list[str] = []
    parts = await collect(SpokenResponder(WordBrain(ANSWER), voice), context(marks=marks))
    assert parts == [Say(piece) for piece in PIECES]
    assert voice.texts == []
    assert marks == ["brain_first_text"]


async def test_spoken_responder_keeps_text_the_voice_does_not_say() -> None:
    voice = ChunkVoice(chunks=0)
    marks: list[str] = []
    parts = await collect(
        SpokenResponder(WordBrain("... Hi."), voice), context(audio_output=True, marks=marks)
    )
    assert parts == [Say("... "), Say("Hi.")]
    assert marks == ["brain_first_text"]  # no audio came


async def test_closing_the_spoken_responder_early_closes_the_brain() -> None:
    weather = CallTool("get_weather", "{}")

    @attrs.define(eq=False)
    class CallFirst(WordBrain):
        async def respond(self, context: ResponseContext) -> AsyncIterator[ResponsePart]:
            try:
                yield weather
                yield Say("Never said.")
            finally:
                self.closed = True

    brain = CallFirst("")
    voice = ChunkVoice()
    ctx = context(audio_output=True)
    async with aclosing(SpokenResponder(brain, voice).respond(ctx)) as parts:
        async for part in parts:
            assert part == weather
            break
    assert brain.closed
    assert voice.texts == []


async def test_closing_the_spoken_responder_mid_piece_closes_the_voice_at_once() -> None:
    brain = WordBrain(ANSWER)
    voice = ChunkVoice(chunks=5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ctx = context(audio_output=True)
        async with aclosing(SpokenResponder(brain, voice).respond(ctx)) as parts:
            async for part in parts:
                assert isinstance(part, Say)
                assert part.audio == b"Hello there.#0"
                break
        closed_at_once = list(voice.closed)
        gc.collect()
        await trio.lowlevel.checkpoint()  # let trio finalize what was collected
    assert brain.closed
    assert brain.words_sent == 2  # it stopped listening to the brain too
    assert voice.texts == ["Hello there."]
    assert voice.finished == []
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []
    assert closed_at_once == ["Hello there."]


# -- PocketsphinxRecognizer -------------------------------------------------------------------

try:
    import pocketsphinx  # noqa: F401

    from rtagents.local.speech import EspeakVoice, PocketsphinxRecognizer

    EspeakVoice(threaded=False)
    HAVE_SPEECH = True
except (ImportError, SpeechUnavailable):  # pragma: no cover - depends on the machine
    HAVE_SPEECH = False

needs_speech = pytest.mark.skipif(not HAVE_SPEECH, reason="pocketsphinx or espeak-ng missing")
PHRASES = ("what is the weather in paris", "what time is it in tokyo", "hello there")


@pytest.fixture(scope="module")
def speech() -> dict[str, bytes]:
    voice = EspeakVoice(threaded=False)
    return {phrase: voice.synthesize_sync(phrase) for phrase in PHRASES}


@pytest.fixture(scope="module")
def inline() -> PocketsphinxRecognizer:
    return PocketsphinxRecognizer(phrases=PHRASES, threaded=False)


async def recognize(recognizer: PocketsphinxRecognizer, pcm: bytes, rate: int = 24000) -> str:
    utterance = await recognizer.open_utterance(rate)
    step = 2 * rate * 20 // 1000
    for i in range(0, len(pcm), step):
        await utterance.feed(pcm[i : i + step])
    return await utterance.finish()


@needs_speech
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"phrases": ["what is the flibbertigibbetzz"]}, "flibbertigibbetzz"),
        ({"phrases": ["hello"], "grammar": "#JSGF V1.0;"}, "not both"),
        ({"grammar": "#JSGF V1.0;\ngrammar g;\npublic <a> = ( hello ;\n"}, "does not compile"),
        ({"grammar": "#JSGF V1.0;\ngrammar g;\npublic <a> = hello zzqx ;\n"}, "zzqx"),
        ({"phrases": ["?!", ""]}, "at least one word"),
        ({"noise_lsb": -1.0}, "noise_lsb"),
    ],
)
def test_recognizer_rejects_bad_configuration(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        PocketsphinxRecognizer(threaded=False, **kwargs)


@needs_speech
async def test_recognizer_hears_espeak_exactly_at_24_and_8_khz(
    autojump_clock: trio.testing.MockClock,
    speech: dict[str, bytes],
    inline: PocketsphinxRecognizer,
) -> None:
    before = inline.statistics()
    for phrase, pcm in speech.items():
        assert await recognize(inline, pcm, 24000) == phrase
        pcm8k = native.Resampler(24000, 8000).process(pcm)
        assert await recognize(inline, pcm8k, 8000) == phrase
    after = inline.statistics()
    assert after.utterances - before.utterances == 2 * len(PHRASES)
    assert after.decoders == 1  # one decoder, reused turn after turn
    assert after.failures == 0
    assert after.audio_seconds > before.audio_seconds
    assert after.final_seconds_last is not None


@needs_speech
async def test_recognizer_partials_grow_while_fed(
    autojump_clock: trio.testing.MockClock,
    speech: dict[str, bytes],
    inline: PocketsphinxRecognizer,
) -> None:
    pcm = speech["what is the weather in paris"]
    utterance = await inline.open_utterance(24000)
    partials = [await utterance.feed(pcm[i : i + 4800]) for i in range(0, len(pcm), 4800)]
    assert partials[0] == ""
    assert partials[-1]
    assert "what is the weather in paris".startswith(partials[-1].split()[0])
    assert await utterance.finish() == "what is the weather in paris"


@needs_speech
async def test_threaded_and_inline_recognition_agree(
    speech: dict[str, bytes], inline: PocketsphinxRecognizer
) -> None:
    threaded = PocketsphinxRecognizer(phrases=PHRASES, threaded=True)
    for phrase, pcm in speech.items():
        assert await recognize(threaded, pcm) == await recognize(inline, pcm) == phrase
    assert threaded.statistics().utterances == len(PHRASES)


@needs_speech
async def test_abandoned_utterance_then_a_new_one(
    autojump_clock: trio.testing.MockClock, speech: dict[str, bytes]
) -> None:
    recognizer = PocketsphinxRecognizer(phrases=PHRASES, threaded=False)
    pcm = speech["what time is it in tokyo"]
    first = await recognizer.open_utterance(24000)
    await first.feed(pcm[: len(pcm) // 4 * 2])  # mid-utterance
    await first.aclose()
    await first.aclose()  # idempotent
    with pytest.raises(RuntimeError):
        await first.feed(pcm[:960])
    assert await recognize(recognizer, speech["hello there"]) == "hello there"
    stats = recognizer.statistics()
    assert (stats.utterances, stats.decoders, stats.failures) == (2, 1, 0)


@needs_speech
async def test_utterance_misuse_raises(
    autojump_clock: trio.testing.MockClock,
    speech: dict[str, bytes],
    inline: PocketsphinxRecognizer,
) -> None:
    utterance = await inline.open_utterance(24000)
    with pytest.raises(ValueError, match="even number of bytes"):
        await utterance.feed(b"\x00\x01\x02")
    await utterance.feed(speech["hello there"])  # still usable after the bad feed
    assert await utterance.finish() == "hello there"
    with pytest.raises(RuntimeError):
        await utterance.finish()
    with pytest.raises(RuntimeError):
        await utterance.feed(b"\x00\x00")
    await utterance.aclose()  # after finish: nothing to do
    # Two utterances at once take two decoders from the pool.
    a = await inline.open_utterance(24000)
    b = await inline.open_utterance(16000)
    assert inline.statistics().decoders >= 2
    await a.aclose()
    await b.aclose()


@needs_speech
async def test_open_vocabulary_recognizes_a_clear_sentence(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # pocketsphinx's general English model (rtagents demo --open-vocabulary): no grammar, so
    # anything can come out, and on espeak's voice much of it is wrong; most words of a
    # common sentence come through.
    from rtagents.local.speech import EspeakVoice

    text = "hello there how are you doing today"
    pcm = bytes(4800) + EspeakVoice(threaded=False).synthesize_sync(text) + bytes(24000)
    recognizer = PocketsphinxRecognizer(threaded=False)
    recognizer.warm_up()
    heard = (await recognize(recognizer, pcm)).split()
    assert len(set(heard) & set(text.split())) >= 4, heard


@pytest.mark.parametrize("transcript", ["stop", "wait", "never mind", "cancel that"])
def test_rule_brain_stops_when_told(transcript: str) -> None:
    assert said(answer(transcript)) == "Okay."
