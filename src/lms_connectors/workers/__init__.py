"""Optional worker layer (``pip install 'lms-connectors[workers]'``): Celery tasks over a shared ledger.

An embedding app can keep calling :class:`~lms_connectors.scheduler.Scheduler` in-process; this package is
for deployments that spread the work over several processes or hosts. :mod:`lms_connectors.workers.tasks`
holds the Celery app and tasks (imported on demand, since it needs Celery),
:mod:`lms_connectors.workers.runtime` what a worker serves (tenants, ledger, adapters, secrets), and
:mod:`lms_connectors.workers.outcome` the typed result of a task.
"""

from lms_connectors.workers.outcome import TaskError, TaskOutcome

__all__ = ["TaskError", "TaskOutcome"]
