"""A simulator of Moodle 4.5's REST web services, for tests and the demo (see :mod:`lms_connectors_moodle.sandbox`).

Modules: :mod:`.php` (how PHP parses the form and how Moodle renders XML), :mod:`.params` (Moodle's parameter
validation), :mod:`.site` (the site's data and its transactions), :mod:`.dates` (Moodle's date arithmetic
and event time text), :mod:`.exporter` (the shapes events are returned in), :mod:`.calendar` and
:mod:`.people` (the functions), :mod:`.server` (the REST entry point).
"""
