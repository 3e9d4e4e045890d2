"""Training operations on top of the scheduler: a plan file, instructor assignment, reminders, attendance, KPIs.

- :mod:`~lms_connectors.operations.plan_file`: the term's plan as YAML (and an HRIS-shaped enrolments CSV);
- :mod:`~lms_connectors.operations.planning`: what applying it would do, with every preflight problem;
- :mod:`~lms_connectors.operations.preflight`: what ``plan`` reads from the providers (permissions, free/busy);
- :mod:`~lms_connectors.operations.applying`: apply idempotently, and roll back the last apply;
- :mod:`~lms_connectors.operations.assignment`: pick instructors by skills, availability, cost and load;
- :mod:`~lms_connectors.operations.assignment_solver`: the same with OR-Tools' CP-SAT (the ``planning`` extra);
- :mod:`~lms_connectors.operations.reminders`: reminders due per learner, and VALARM offsets for invites;
- :mod:`~lms_connectors.operations.attendance`: who attended, matched to the roster;
- :mod:`~lms_connectors.operations.kpis` and :mod:`~lms_connectors.operations.report_files`: the numbers.
"""
