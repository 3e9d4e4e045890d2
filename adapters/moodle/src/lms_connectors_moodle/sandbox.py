"""The Moodle sandbox: :class:`MoodleSimulator`, a Moodle 4.5 REST web-service site for tests and the demo.

Serve it with :class:`lms_connectors.testing.sandbox.SandboxServer`::

    simulator = MoodleSimulator(tokens={"sandbox-token": "admin"})
    course_id = simulator.site.add_course("ILT-101", "Instructor-led training")
    with SandboxServer(simulator) as server:
        ...

Its behaviour was checked against real transcripts of a live Moodle 4.5.6 (``tests/recordings/``); the
fidelity test replays every one of them against it.
"""

from lms_connectors_moodle.simulator.server import FUNCTIONS, MoodleSimulator
from lms_connectors_moodle.simulator.site import ROLES, SERVICE_FUNCTIONS, MoodleError, SiteState

__all__ = ["FUNCTIONS", "ROLES", "SERVICE_FUNCTIONS", "MoodleError", "MoodleSimulator", "SiteState"]
