"""The OpenAI Realtime (GA) wire protocol, sans-IO.

This package turns Realtime JSON frames into typed, frozen events and back.  It does no I/O,
never imports trio and never reads a clock; the WebSocket model link and the local Realtime
server wrap it.  Both roles use the same event classes:

* client role: build client events (``SessionUpdate``, ``InputAudioBufferAppend``,
  ``ResponseCreate``, ...), send ``event.to_json()``, and read frames with
  :func:`decode_server_event`, which returns a server event, an :class:`UnknownServerEvent`
  or a :class:`ServerProtocolError` and never raises;
* server role: read frames with :func:`decode_client_event` (strict; a
  :class:`ClientProtocolError` can be answered with ``ErrorEvent.for_client_error``), and
  build server events to send.

Layout, bottom up: ``_json`` (JSON and base64 primitives, ``WireFormatError``), ``_codec`` (the
generic JSON <-> attrs machinery, ``WireValue``), ``_frames`` (``WireEvent``, frame reading,
registries); the values ``_audio_formats``, ``_session_config``, ``_items`` (content parts are
named ``...Content``, apart from the history classes of :mod:`rtagents.items`), ``_responses``;
``_client_events``; the server events by family (``_event_values``, ``_session_events``,
``_conversation_events``, ``_input_events``, ``_response_events``) and their union and decoder
in ``_server_events``.

:mod:`rtagents.protocol.twilio` is the other wire a phone call speaks: Twilio Media Streams
messages, read and built the same way (values, never exceptions, for what cannot be read);
:mod:`rtagents.protocol.webhooks` checks the signatures of Twilio's and OpenAI's webhooks.
"""

from ._audio_formats import AudioFormat as AudioFormat
from ._audio_formats import AudioFormatType as AudioFormatType
from ._client_events import CLIENT_EVENT_TYPES as CLIENT_EVENT_TYPES
from ._client_events import ClientEvent as ClientEvent
from ._client_events import ClientProtocolError as ClientProtocolError
from ._client_events import ConversationItemCreate as ConversationItemCreate
from ._client_events import ConversationItemDelete as ConversationItemDelete
from ._client_events import ConversationItemRetrieve as ConversationItemRetrieve
from ._client_events import ConversationItemTruncate as ConversationItemTruncate
from ._client_events import InputAudioBufferAppend as InputAudioBufferAppend
from ._client_events import InputAudioBufferClear as InputAudioBufferClear
from ._client_events import InputAudioBufferCommit as InputAudioBufferCommit
from ._client_events import OutputAudioBufferClear as OutputAudioBufferClear
from ._client_events import ResponseCancel as ResponseCancel
from ._client_events import ResponseCreate as ResponseCreate
from ._client_events import SessionUpdate as SessionUpdate
from ._client_events import decode_client_event as decode_client_event
from ._client_events import encode_audio_append as encode_audio_append
from ._codec import WireValue as WireValue
from ._conversation_events import ConversationCreated as ConversationCreated
from ._conversation_events import ConversationItemAdded as ConversationItemAdded
from ._conversation_events import ConversationItemCreated as ConversationItemCreated
from ._conversation_events import ConversationItemDeleted as ConversationItemDeleted
from ._conversation_events import ConversationItemDone as ConversationItemDone
from ._conversation_events import ConversationItemRetrieved as ConversationItemRetrieved
from ._conversation_events import ConversationItemTruncated as ConversationItemTruncated
from ._event_values import ConversationInfo as ConversationInfo
from ._event_values import DetectedLanguage as DetectedLanguage
from ._event_values import ErrorDetails as ErrorDetails
from ._event_values import LogProb as LogProb
from ._event_values import RateLimit as RateLimit
from ._event_values import TranscriptDurationUsage as TranscriptDurationUsage
from ._event_values import TranscriptInputTokenDetails as TranscriptInputTokenDetails
from ._event_values import TranscriptionError as TranscriptionError
from ._event_values import TranscriptTokenUsage as TranscriptTokenUsage
from ._event_values import TranscriptUsage as TranscriptUsage
from ._frames import WireEvent as WireEvent
from ._input_events import InputAudioBufferCleared as InputAudioBufferCleared
from ._input_events import InputAudioBufferCommitted as InputAudioBufferCommitted
from ._input_events import InputAudioBufferDtmfEventReceived as InputAudioBufferDtmfEventReceived
from ._input_events import InputAudioBufferSpeechStarted as InputAudioBufferSpeechStarted
from ._input_events import InputAudioBufferSpeechStopped as InputAudioBufferSpeechStopped
from ._input_events import InputAudioBufferTimeoutTriggered as InputAudioBufferTimeoutTriggered
from ._input_events import InputAudioTranscriptionCompleted as InputAudioTranscriptionCompleted
from ._input_events import InputAudioTranscriptionDelta as InputAudioTranscriptionDelta
from ._input_events import InputAudioTranscriptionFailed as InputAudioTranscriptionFailed
from ._input_events import InputAudioTranscriptionSegment as InputAudioTranscriptionSegment
from ._items import ContentPart as ContentPart
from ._items import ConversationItem as ConversationItem
from ._items import FunctionCallItem as FunctionCallItem
from ._items import FunctionCallOutputItem as FunctionCallOutputItem
from ._items import ImageDetail as ImageDetail
from ._items import InputAudioContent as InputAudioContent
from ._items import InputImageContent as InputImageContent
from ._items import InputTextContent as InputTextContent
from ._items import ItemStatus as ItemStatus
from ._items import MessageItem as MessageItem
from ._items import MessageRole as MessageRole
from ._items import OtherItem as OtherItem
from ._items import OutputAudioContent as OutputAudioContent
from ._items import OutputTextContent as OutputTextContent
from ._items import image_data_url as image_data_url
from ._json import UNSET as UNSET
from ._json import AudioData as AudioData
from ._json import JSONObject as JSONObject
from ._json import JSONValue as JSONValue
from ._json import ProtocolErrorCode as ProtocolErrorCode
from ._json import Unset as Unset
from ._json import WireFormatError as WireFormatError
from ._json import b64decode_audio as b64decode_audio
from ._json import b64encode_audio as b64encode_audio
from ._response_events import McpListToolsCompleted as McpListToolsCompleted
from ._response_events import McpListToolsFailed as McpListToolsFailed
from ._response_events import McpListToolsInProgress as McpListToolsInProgress
from ._response_events import OutputAudioBufferCleared as OutputAudioBufferCleared
from ._response_events import OutputAudioBufferStarted as OutputAudioBufferStarted
from ._response_events import OutputAudioBufferStopped as OutputAudioBufferStopped
from ._response_events import ResponseContentPartAdded as ResponseContentPartAdded
from ._response_events import ResponseContentPartDone as ResponseContentPartDone
from ._response_events import ResponseCreated as ResponseCreated
from ._response_events import ResponseDone as ResponseDone
from ._response_events import (
    ResponseFunctionCallArgumentsDelta as ResponseFunctionCallArgumentsDelta,
)
from ._response_events import ResponseFunctionCallArgumentsDone as ResponseFunctionCallArgumentsDone
from ._response_events import ResponseMcpCallArgumentsDelta as ResponseMcpCallArgumentsDelta
from ._response_events import ResponseMcpCallArgumentsDone as ResponseMcpCallArgumentsDone
from ._response_events import ResponseMcpCallCompleted as ResponseMcpCallCompleted
from ._response_events import ResponseMcpCallFailed as ResponseMcpCallFailed
from ._response_events import ResponseMcpCallInProgress as ResponseMcpCallInProgress
from ._response_events import ResponseOutputAudioDelta as ResponseOutputAudioDelta
from ._response_events import ResponseOutputAudioDone as ResponseOutputAudioDone
from ._response_events import (
    ResponseOutputAudioTranscriptDelta as ResponseOutputAudioTranscriptDelta,
)
from ._response_events import ResponseOutputAudioTranscriptDone as ResponseOutputAudioTranscriptDone
from ._response_events import ResponseOutputItemAdded as ResponseOutputItemAdded
from ._response_events import ResponseOutputItemDone as ResponseOutputItemDone
from ._response_events import ResponseOutputTextDelta as ResponseOutputTextDelta
from ._response_events import ResponseOutputTextDone as ResponseOutputTextDone
from ._responses import CachedTokenDetails as CachedTokenDetails
from ._responses import InputTokenDetails as InputTokenDetails
from ._responses import Metadata as Metadata
from ._responses import OutputTokenDetails as OutputTokenDetails
from ._responses import Response as Response
from ._responses import ResponseAudio as ResponseAudio
from ._responses import ResponseAudioOutput as ResponseAudioOutput
from ._responses import ResponseParams as ResponseParams
from ._responses import ResponsePart as ResponsePart
from ._responses import ResponseStatusDetails as ResponseStatusDetails
from ._responses import ResponseStatusError as ResponseStatusError
from ._responses import ResponseUsage as ResponseUsage
from ._server_events import SERVER_EVENT_TYPES as SERVER_EVENT_TYPES
from ._server_events import ServerEvent as ServerEvent
from ._server_events import ServerProtocolError as ServerProtocolError
from ._server_events import UnknownServerEvent as UnknownServerEvent
from ._server_events import decode_server_event as decode_server_event
from ._session_config import AudioConfig as AudioConfig
from ._session_config import AudioInputConfig as AudioInputConfig
from ._session_config import AudioOutputConfig as AudioOutputConfig
from ._session_config import CustomVoice as CustomVoice
from ._session_config import Eagerness as Eagerness
from ._session_config import FunctionTool as FunctionTool
from ._session_config import FunctionToolChoice as FunctionToolChoice
from ._session_config import MaxOutputTokens as MaxOutputTokens
from ._session_config import McpTool as McpTool
from ._session_config import McpToolChoice as McpToolChoice
from ._session_config import Modality as Modality
from ._session_config import NoiseReduction as NoiseReduction
from ._session_config import Prompt as Prompt
from ._session_config import Reasoning as Reasoning
from ._session_config import RetentionRatioTruncation as RetentionRatioTruncation
from ._session_config import SemanticVad as SemanticVad
from ._session_config import ServerVad as ServerVad
from ._session_config import SessionConfig as SessionConfig
from ._session_config import TokenLimits as TokenLimits
from ._session_config import Tool as Tool
from ._session_config import ToolChoice as ToolChoice
from ._session_config import Tracing as Tracing
from ._session_config import TracingConfig as TracingConfig
from ._session_config import Transcription as Transcription
from ._session_config import Truncation as Truncation
from ._session_config import TurnDetection as TurnDetection
from ._session_config import Voice as Voice
from ._session_events import ErrorEvent as ErrorEvent
from ._session_events import RateLimitsUpdated as RateLimitsUpdated
from ._session_events import SessionCreated as SessionCreated
from ._session_events import SessionUpdated as SessionUpdated
