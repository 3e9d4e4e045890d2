"""The contract kit: what every adapter's test-suite uses, in-tree or third-party.

* :mod:`lms_connectors.testing.sandbox` -- serve a provider simulator on loopback, with fault injection.
* :mod:`lms_connectors.testing.vcr` -- vcrpy configuration: canonical hosts, secrets filtered, record modes.
* :mod:`lms_connectors.testing.contract` -- :class:`ContractHarness` and the inheritable
  :class:`AdapterContract` test class (the acceptance matrix).
* :mod:`lms_connectors.testing.pytest_plugin` -- options, markers and fixtures, loaded by pytest itself.

Nothing is imported here, so that loading the pytest plug-in stays cheap; import the submodules.
"""
