"""The contract kit: what every adapter's test-suite uses, in-tree or third-party.

* :mod:`lms_connectors.testing.sandbox` -- serve a provider simulator on loopback, with fault injection.
* :mod:`lms_connectors.testing.vcr` -- vcrpy configuration: canonical hosts, secrets filtered, record modes.
* :mod:`lms_connectors.testing.harness` -- :class:`ContractHarness` (what the kit knows of one adapter) and the
  matrix's ``CASES``; free of pytest, so the CLI can use harnesses too.
* :mod:`lms_connectors.testing.contract` -- the inheritable :class:`AdapterContract` test class (the matrix).
* the simulator toolkit: :mod:`~lms_connectors.testing.routing` (routes declared once, :class:`RoutedSimulator`),
  :mod:`~lms_connectors.testing.refusal` (a refusal rendered in the provider's error shape),
  :mod:`~lms_connectors.testing.tokens` (an OAuth token endpoint and its tokens' lifecycle),
  :mod:`~lms_connectors.testing.paging` (page tokens), :mod:`~lms_connectors.testing.simclock` (the clock),
  :mod:`~lms_connectors.testing.limits` (throttling and quota answered by the simulator itself);
  :mod:`~lms_connectors.testing.error_table` keeps a README's error table current.
* :mod:`lms_connectors.testing.pytest_plugin` -- options, markers and fixtures, loaded by pytest itself.

Nothing is imported here, so that loading the pytest plug-in stays cheap; import the submodules.
"""
