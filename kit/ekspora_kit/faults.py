"""Named fault points, so crash tests can kill a process at an exact step (SIGKILL: no clean-up runs)."""

import logging
import os
import signal

logger = logging.getLogger(__name__)


class FaultPoints:
    def __init__(self, armed: str | None) -> None:
        self.armed = armed

    def reach(self, name: str) -> None:
        if self.armed == name:
            logger.warning("fault point %s reached: killing this process", name)
            os.kill(os.getpid(), signal.SIGKILL)
