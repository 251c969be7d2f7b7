"""Device discovery (pure): pw-dump and PortAudio lists from real systems, ranked for a
preference. Fixtures: tests/fixtures/audio/README.md."""

from __future__ import annotations

import json

import pytest

from edge_audio.discovery.openplan import NoRoute, plan_open
from edge_audio.discovery.padevices import PaDevice, parse_portaudio
from edge_audio.discovery.pwdump import PwDumpError, PwGraph, parse_pw_dump
from edge_audio.discovery.ranking import Preference, Ranking, rank
from edge_audio.discovery.report import ranking_json, ranking_text
from tests.helpers.paths import FIXTURES as TEST_FIXTURES

FIXTURES = TEST_FIXTURES / "audio"
PI = "pi4-umc204hd-pipewire"
DESKTOP = "desktop-headset-alsa-jack-pipewire"
HEADLESS = "pi-headless-alsa"
LOCAL = "local-pipewire-virtual"

UMC_IN = "alsa_input.usb-BEHRINGER_UMC204HD_192k-00.analog-stereo"
UMC_OUT = "alsa_output.usb-BEHRINGER_UMC204HD_192k-00.analog-surround-40"
PI_HDMI = "alsa_output.platform-fef00700.hdmi.hdmi-stereo"
HEADSET_IN = "alsa_input.usb-Logitech_Logitech_USB_Headset-00.mono-fallback"
HEADSET_OUT = "alsa_output.usb-Logitech_Logitech_USB_Headset-00.analog-stereo"
BUILTIN_IN = "alsa_input.pci-0000_00_1f.3.analog-stereo"
WEBCAM_IN = "alsa_input.usb-046d_HD_Pro_Webcam_C920_8A5E2B3F-02.analog-stereo"


def load(system: str) -> tuple[PwGraph | None, tuple[PaDevice, ...]]:
    """A system's pw-dump (None when PipeWire was not running there) and PortAudio list."""
    dump = FIXTURES / f"{system}.pw-dump.json"
    graph = parse_pw_dump(dump.read_text()) if dump.exists() else None
    pa = json.loads((FIXTURES / f"{system}.portaudio.json").read_text())
    return graph, parse_portaudio(pa["devices"], pa["hostapis"])


def ranking(system: str, preference: str) -> Ranking:
    graph, devices = load(system)
    return rank(graph, devices, Preference.parse(preference))


# (system, preference) -> (backend, target, monitor) of the choice, or None for no choice.
CHOICES = [
    (PI, "Behringer|UMC|Focusrite|USB Audio", ("pipewire", UMC_IN, False)),
    (PI, "default", ("pipewire", UMC_IN, False)),
    (PI, "umc204", ("pipewire", UMC_IN, False)),
    (PI, "monitor:UMC", ("pipewire", UMC_OUT, True)),
    (PI, "monitor:HDMI", ("pipewire", PI_HDMI, True)),
    (PI, "monitor:", ("pipewire", UMC_OUT, True)),  # the default sink's monitor
    (PI, "Focusrite", None),
    (PI, "HDMI", None),  # only sinks are HDMI: their monitors need monitor:HDMI
    (DESKTOP, "Headset", ("pipewire", HEADSET_IN, False)),
    (DESKTOP, "Logitech USB Headset", ("pipewire", HEADSET_IN, False)),
    (DESKTOP, "default", ("pipewire", BUILTIN_IN, False)),
    (DESKTOP, "monitor:Headset", ("pipewire", HEADSET_OUT, True)),
    (DESKTOP, "C920", ("pipewire", WEBCAM_IN, False)),
    (DESKTOP, "Behringer|UMC|Focusrite", None),
    (HEADLESS, "Behringer|UMC|Focusrite|USB Audio", ("alsa", "USB Audio CODEC: USB Audio", False)),
    (HEADLESS, "default", ("alsa", "USB Audio CODEC: USB Audio", False)),
    (HEADLESS, "Loopback", ("alsa", "hw:3,0", False)),  # two cards share the name: hw numbers
    (HEADLESS, "monitor:HDMI", None),
    (LOCAL, "Behringer|UMC", ("pipewire", UMC_IN, False)),
    (LOCAL, "room mic", ("pipewire", "SERIAL", False)),  # two nodes named room_mic
    (LOCAL, "monitor:conference", ("pipewire", "conference_out", True)),
]  # fmt: skip


@pytest.mark.parametrize(("system", "preference", "expected"), CHOICES)
def test_choice(system: str, preference: str, expected: tuple[str, str, bool] | None) -> None:
    chosen = ranking(system, preference).chosen
    if expected is None:
        assert chosen is None, chosen
        return
    assert chosen is not None
    backend, target, monitor = expected
    assert (chosen.backend, chosen.monitor) == (backend, monitor)
    if target == "SERIAL":
        assert chosen.serial is not None
        assert chosen.target == str(chosen.serial)
        assert any("object.serial" in r for r in chosen.reasons)
    else:
        assert chosen.target == target


def test_pi_ranks_the_same_card_under_alsa_below_pipewire() -> None:
    r = ranking(PI, "Behringer|UMC|Focusrite|USB Audio")
    assert r.pipewire
    first = r.candidates[0]
    assert first is r.chosen
    assert any("matches" in reason for reason in first.reasons)
    assert "+ USB audio interface" in first.reasons
    [hw] = [c for c in r.candidates if c.backend == "alsa" and "UMC204HD" in c.name]
    assert hw.target == "UMC204HD 192k: USB Audio"  # never hw:2,0
    assert hw.score < first.score
    assert any("PipeWire runs and owns it" in reason and UMC_IN in reason for reason in hw.reasons)
    [monitor] = [c for c in r.candidates if c.monitor and c.name == UMC_OUT]
    assert not monitor.eligible
    assert any("monitor of a sink" in reason for reason in monitor.reasons)


def test_desktop_lists_the_headset_under_alsa_jack_and_pipewire() -> None:
    r = ranking(DESKTOP, "Headset")
    headset = [c for c in r.candidates if "Headset" in c.name and not c.monitor]
    backends = {c.backend: c for c in headset}
    assert set(backends) == {"pipewire", "alsa", "jack"}
    assert r.chosen is backends["pipewire"]
    assert r.chosen.channels == 1
    assert r.chosen.usb
    assert backends["pipewire"].score > backends["alsa"].score
    assert backends["pipewire"].score > backends["jack"].score
    assert any("pipewire-jack" in reason for reason in backends["jack"].reasons)
    # The ALSA 'default' PCM leads to PipeWire's default: never a candidate of its own.
    [default] = [c for c in r.candidates if c.name == "default"]
    assert not default.eligible


def test_desktop_monitors_and_hdmi_are_decoys_for_default() -> None:
    r = ranking(DESKTOP, "default")
    assert r.chosen is not None
    assert r.chosen.name == BUILTIN_IN
    assert any("default source" in reason for reason in r.chosen.reasons)
    hdmi = [c for c in r.candidates if "hdmi" in c.name]
    assert hdmi
    assert not any(c.eligible for c in hdmi)


def test_headless_pi_falls_back_to_alsa_hardware_and_avoids_the_loopback() -> None:
    r = ranking(HEADLESS, "default")
    assert not r.pipewire
    assert r.chosen is not None
    assert r.chosen.backend == "alsa"
    assert any("PipeWire is not running" in reason for reason in r.chosen.reasons)
    loopbacks = [c for c in r.candidates if c.name.startswith("Loopback")]
    assert len(loopbacks) == 2
    assert all(c.score < r.chosen.score for c in loopbacks)
    assert all(any("loopback" in reason for reason in c.reasons) for c in loopbacks)
    assert {c.target for c in loopbacks} == {"hw:3,0", "hw:3,1"}


def test_local_capture_of_a_real_pipewire_never_uses_the_wpctl_id() -> None:
    r = ranking(LOCAL, "Behringer|UMC")
    chosen = r.chosen
    assert chosen is not None
    assert chosen.node_id is not None
    assert chosen.target != str(chosen.node_id)
    assert "wpctl id" in ranking_text(r, "running")


@pytest.mark.parametrize(
    ("text", "kind", "pattern"),
    [
        ("default", "default", None),
        ("", "default", None),
        (" Default ", "default", None),
        ("Behringer|UMC", "pattern", "Behringer|UMC"),
        ("monitor:Firefox", "monitor", "Firefox"),
        ("MONITOR: HDMI ", "monitor", "HDMI"),
        ("monitor:", "monitor", None),
    ],
)
def test_preference_parse(text: str, kind: str, pattern: str | None) -> None:
    pref = Preference.parse(text)
    assert pref.kind == kind
    assert (pref.pattern.pattern if pref.pattern else None) == pattern


def test_preference_bad_pattern() -> None:
    with pytest.raises(ValueError, match="not a valid pattern"):
        Preference.parse("UMC(")


def test_pw_dump_parse_details() -> None:
    graph, _ = load(PI)
    assert graph is not None
    assert graph.default_source == UMC_IN
    umc = next(n for n in graph.nodes if n.name == UMC_IN)
    assert (umc.id, umc.serial, umc.channels, umc.rate) == (59, 319, 2, 48000)
    assert (umc.bus, umc.api, umc.card, umc.pcm, umc.virtual) == (
        "usb", "alsa", "UMC204HD 192k", "USB Audio", False,
    )  # fmt: skip
    assert {n.name for n in graph.sinks()} >= {UMC_OUT, PI_HDMI}
    assert all("Driver" not in n.name for n in graph.nodes)  # no media.class: not audio


@pytest.mark.parametrize("text", ["", "{", '{"a": 1}', "[1, 2"])
def test_pw_dump_rejects_what_is_not_pw_dump(text: str) -> None:
    with pytest.raises(PwDumpError):
        parse_pw_dump(text)


def test_pw_dump_tolerates_odd_objects() -> None:
    graph = parse_pw_dump(
        '[1, {"id": "x"}, {"id": 5, "type": "PipeWire:Interface:Node", "info": null},'
        ' {"id": 6, "type": "PipeWire:Interface:Node", "info": {"props": {"media.class":'
        ' "Audio/Source", "node.name": "n", "audio.channels": "2",'
        ' "object.serial": 9}, "params": {"EnumFormat": [{"rate": {"default": 44100}}]}}}]'
    )
    [node] = graph.nodes
    assert (node.name, node.channels, node.rate, node.serial, node.virtual) == (
        "n", 2, 44100, 9, True,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "hostapi", "kind", "stable"),
    [
        ("UMC204HD 192k: USB Audio (hw:2,0)", 0, "hw", "UMC204HD 192k: USB Audio"),
        ("bcm2835 Headphones: - (hw:0,0)", 0, "hw", "bcm2835 Headphones: -"),
        ("pipewire", 0, "pipewire", "pipewire"),
        ("pulse", 0, "pulse", "pulse"),
        ("default", 0, "default", "default"),
        ("sysdefault", 0, "default", "sysdefault"),
        ("dmix", 0, "plugin", "dmix"),
        ("system", 1, "jack", "system"),
        ("/dev/dsp", 2, "other", "/dev/dsp"),
    ],
)
def test_portaudio_kinds(name: str, hostapi: int, kind: str, stable: str) -> None:
    apis = [{"name": "ALSA"}, {"name": "JACK Audio Connection Kit"}, {"name": "OSS"}]
    entry = {
        "name": name,
        "hostapi": hostapi,
        "max_input_channels": 2,
        "default_samplerate": 48000.0,
    }
    [device] = parse_portaudio([entry], apis)
    assert (device.kind, device.stable_name, device.index) == (kind, stable, 0)


def test_plan_for_a_pipewire_node_sets_the_node_and_no_reconnect() -> None:
    graph, devices = load(PI)
    r = rank(graph, devices, Preference.parse("UMC"))
    assert r.chosen is not None
    plan = plan_open(r.chosen, devices)
    assert plan.device_name == "pipewire"
    assert plan.device_index == 5
    assert (plan.channels, plan.samplerate) == (2, 48000)
    assert plan.env == {"PIPEWIRE_NODE": UMC_IN, "PIPEWIRE_PROPS": "{ node.dont-reconnect=true }"}


def test_plan_for_a_monitor_captures_the_sink() -> None:
    graph, devices = load(PI)
    r = rank(graph, devices, Preference.parse("monitor:HDMI"))
    assert r.chosen is not None
    plan = plan_open(r.chosen, devices)
    assert plan.env["PIPEWIRE_NODE"] == PI_HDMI
    assert "stream.capture.sink=true" in plan.env["PIPEWIRE_PROPS"]


def test_plan_falls_back_to_pulse_then_fails_clearly() -> None:
    graph, devices = load(DESKTOP)
    r = rank(graph, devices, Preference.parse("monitor:Headset"))
    assert r.chosen is not None
    no_pipewire = [d for d in devices if d.kind != "pipewire"]
    plan = plan_open(r.chosen, no_pipewire)
    assert plan.device_name == "pulse"
    assert plan.env == {"PULSE_SOURCE": f"{HEADSET_OUT}.monitor"}
    with pytest.raises(NoRoute, match="pipewire-alsa"):
        plan_open(r.chosen, [d for d in no_pipewire if d.kind != "pulse"])


def test_plan_for_alsa_hardware_finds_today_s_card_number() -> None:
    graph, devices = load(HEADLESS)
    r = rank(graph, devices, Preference.parse("USB Audio"))
    assert r.chosen is not None
    renumbered = [
        PaDevice(
            index=7, name="USB Audio CODEC: USB Audio (hw:4,0)", hostapi="ALSA",
            max_input_channels=2, default_samplerate=48000.0, kind="hw",
            card="USB Audio CODEC", pcm="USB Audio", hw="hw:4,0",
        )
    ]  # fmt: skip
    plan = plan_open(r.chosen, renumbered)
    assert (plan.device_index, plan.channels, plan.samplerate, plan.env) == (7, 2, 48000, {})
    with pytest.raises(NoRoute):
        plan_open(r.chosen, [])


def test_report_json_and_text() -> None:
    r = ranking(PI, "Behringer|UMC|Focusrite|USB Audio")
    data = ranking_json(r, "running")
    assert data["chosen"]["target"] == UMC_IN
    assert data["chosen"]["object_serial"] == 319
    assert sum(1 for c in data["candidates"] if c["chosen"]) == 1
    json.dumps(data)
    text = ranking_text(r, "running")
    assert f"chosen: pipewire:{UMC_IN}" in text
    assert "PIPEWIRE_NODE=" in text
    nothing = ranking_text(ranking(PI, "Focusrite"), "running")
    assert "chosen: nothing matches 'Focusrite'" in nothing
