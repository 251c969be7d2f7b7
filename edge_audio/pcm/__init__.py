"""Audio as PCM, pure: channel selection and resampling (``convert``), fixed-size frames
(``framing``), real-time pacing (``pacing``), signal level and silence (``meter``)."""
