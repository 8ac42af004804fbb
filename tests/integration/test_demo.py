"""The README's main job, as a test: the Kota Kediri story plays to its expected end state."""

import subprocess
import sys

from tests.integration.support import ROOT


def test_the_kota_kediri_story_reaches_its_expected_end_state():
    run = subprocess.run(
        [sys.executable, "-m", "ekspora_ops.demo", "--exit"],
        cwd=ROOT,
        capture_output=True,
        check=False,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "DONE in" in run.stdout
    for heading in (
        "1/9 Seeding",
        "2/9 Partners abroad",
        "5/9 Incubation results",
        "7/9 Matching",
        "8/9 Shipping",
        "9/9 Partners report",
        "export value (IDR)",
        "dead letters",
        "each verified with `standardwebhooks`",
        "product.export_ready -> partner webhook: median",
    ):
        assert heading in run.stdout
