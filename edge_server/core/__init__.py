"""The server's pure core: every decision of the room pipeline, with no I/O and no event loop.

Nothing here imports aiohttp, websockets, boto3, awscrt, sounddevice or pocketsphinx, opens a
socket or spawns a task (``make lint`` checks the imports); each module is tested with tables
of inputs and expected outputs.

- :mod:`.engine_api`: the three engine interfaces (recognizer, translator, synthesizer) and
  what a room reads of them, health included;
- :mod:`.captions`: caption segment state (partial -> final, ids); :mod:`.room_clock`: a
  room's segment ids and timeline across sessions;
- :mod:`.settings`: server and room settings (TOML, environment, flags), checked at start;
- :mod:`.live_settings`: checking and planning the tech lead's live language changes;
- :mod:`.auth`: role tokens, the Origin rule, the attempt limiter;
- :mod:`.subscribe_params`: a caption subscriber's query and ``listen`` messages;
- :mod:`.exports`: transcripts as text, SRT and WebVTT; :mod:`.ws_frames`: WebSocket frames
  built once per message for fan-out;
- :mod:`.latency`: caption latency; :mod:`.costs`: the running cloud cost; :mod:`.error_log`: a
  room's recent problems; :mod:`.wall_time`: UTC times as written everywhere; :mod:`.trace`:
  the pipeline hook the benchmark uses.
"""
