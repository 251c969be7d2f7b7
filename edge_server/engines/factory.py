"""Engines for a room, built from its settings. Cloud modules are imported only when a room
asks for them, so an offline server never loads the AWS SDKs."""

from __future__ import annotations

from edge_server.core.engine_api import Recognizer, Synthesizer, Translator
from edge_server.core.settings import RoomSettings, ServerSettings
from edge_server.engines.pocketsphinx.worker_protocol import DecoderOptions


def embedded_recognizer(name: str, server: ServerSettings) -> Recognizer:
    """The room's pocketsphinx recognizer (a worker process started on first use)."""
    from edge_server.engines.pocketsphinx.recognizer import PocketsphinxRecognizer

    options = DecoderOptions(max_utterance_s=server.max_utterance_s, search=server.offline_search)
    return PocketsphinxRecognizer(label=f"room {name}", options=options)


def transcribe_recognizer(name: str, room: RoomSettings, server: ServerSettings) -> Recognizer:
    """Amazon Transcribe for the room, configured from its settings."""
    from edge_server.engines.transcribe.options import TranscribeOptions
    from edge_server.engines.transcribe.recognizer import TranscribeRecognizer
    from edge_server.engines.transcribe.vocabulary import VocabularyKeeper, VocabularyOptions

    languages = room.languages
    options = TranscribeOptions(
        region=server.aws_region or None,
        languages=languages,
        preferred_language=room.source_lang if room.source_lang in languages else None,
        partial_stabilization=room.stability != "off",
        stability="high" if room.stability == "off" else room.stability,  # type: ignore[arg-type]
        vocabulary_names=(room.vocabulary,) if room.vocabulary else (),
        glossary_vocabulary=room.cloud_glossary,
        vocabulary_filter_names=(room.vocabulary_filter,) if room.vocabulary_filter else (),
        vocabulary_filter_method=room.vocabulary_filter_method,  # type: ignore[arg-type]
        rotate_after_s=server.transcribe_rotate_s,
    )
    keeper = VocabularyKeeper(name, VocabularyOptions(region=options.region))
    return TranscribeRecognizer(options, label=f"room {name}", vocabularies=keeper)


def build_recognizer(name: str, room: RoomSettings, server: ServerSettings) -> Recognizer:
    """The recognizer a room's settings ask for; a cloud one gets the embedded one behind it."""
    if room.engine == "pocketsphinx":
        return embedded_recognizer(name, server)
    if room.engine == "transcribe":
        from edge_server.engines.fallback.policy import FallbackPolicy
        from edge_server.engines.fallback.recognizer import FallbackRecognizer

        fallback = embedded_recognizer(name, server) if room.fallback else None
        return FallbackRecognizer(
            transcribe_recognizer(name, room, server),
            fallback,
            FallbackPolicy(grace_s=room.fallback_grace_s),
            label=f"room {name}",
        )
    raise ValueError(f"unknown engine {room.engine!r}")


def build_translator(
    room: RoomSettings, server: ServerSettings, name: str = ""
) -> Translator | None:
    """The translator a room's settings ask for, or None; ``name``: the room's (it names the
    terminology built from its glossary)."""
    if room.translator == "none":
        return None
    if room.translator == "amazon-translate":
        from edge_server.engines.translate.translator import TranslateOptions, TranslateTranslator

        return TranslateTranslator(
            TranslateOptions(
                region=server.aws_region or None,
                terminology_names=room.terminology,
                glossary_terminology=room.cloud_glossary,
                timeout_s=server.translate_timeout_s,
            ),
            room=name,
        )
    raise ValueError(f"unknown translator {room.translator!r}")


def build_synthesizer(
    room: RoomSettings, server: ServerSettings, name: str = ""
) -> Synthesizer | None:
    """The speech engine a room's settings ask for, or None (listeners get text only); Polly
    gets the local espeak-ng voice behind it."""
    if room.synthesizer == "none":
        return None
    if room.synthesizer == "espeak":
        from edge_server.engines.espeak.synthesizer import EspeakSynthesizer

        return EspeakSynthesizer()
    if room.synthesizer == "polly":
        from edge_server.engines.espeak.synthesizer import EspeakSynthesizer
        from edge_server.engines.fallback.synthesizer import FallbackSynthesizer
        from edge_server.engines.fallback.voice_policy import VoiceFallbackPolicy
        from edge_server.engines.polly.options import PollyOptions
        from edge_server.engines.polly.synthesizer import PollySynthesizer

        polly = PollySynthesizer(
            PollyOptions(
                region=server.aws_region or None,
                engine=room.polly_engine,
                voices=dict(room.voices),
            )
        )
        return FallbackSynthesizer(
            polly,
            EspeakSynthesizer(),
            VoiceFallbackPolicy(grace_s=room.voice_fallback_grace_s),
            label=f"room {name}" if name else "speech",
        )
    raise ValueError(f"unknown synthesizer {room.synthesizer!r}")
