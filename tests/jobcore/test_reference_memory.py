"""A reference clip has a small, honest budget: a 110 KB FLAC of 299 s of 96 kHz stereo is accepted, decoded only
as far as it is used (60 s), and worked on in place: the process peaks at under 100 MB of extra memory."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import soundfile as sf

CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    from jobcore.reference import prepare_reference, REFERENCE_RATE, to_flac

    def status(field):
        for line in open("/proc/self/status"):
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    warm = to_flac((0.3 * np.sin(np.arange(48000) / 7)).astype(np.float32))
    prepare_reference(warm, 30.0)                    # every library loaded and warmed up
    data = open(sys.argv[1], "rb").read()
    open("/proc/self/clear_refs", "w").write("5")      # reset the peak (VmHWM) to now
    before = status("VmRSS")
    samples = prepare_reference(data, 30.0)
    print(status("VmHWM") - before, len(samples) / REFERENCE_RATE)
""")


def test_a_long_high_rate_stereo_clip_costs_under_100_mb(tmp_path):
    path = tmp_path / "long.flac"
    rate, block = 96_000, np.full((96_000, 2), 0.25, np.float32)
    # constant signal: loud everywhere, compresses to almost nothing (the attack's 110 KB)
    with sf.SoundFile(path, "w", rate, 2, format="FLAC", subtype="PCM_16") as f:
        for _ in range(299):
            f.write(block)
    assert path.stat().st_size < 1_000_000 and sf.info(path).duration > 298
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    extra_mb, seconds = map(float, out.stdout.split())
    print(f"reference clip peak: +{extra_mb:.1f} MB for {path.stat().st_size // 1000} KB, 299 s, 96 kHz stereo")
    assert seconds == 30.0                        # the clip was accepted and cut to its best 30 s
    assert extra_mb < 100
