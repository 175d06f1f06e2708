"""The Label Studio annotation loop: project set-up, task selection and import, label export,
agreement between annotators and likely label errors.

Modules have one job each: ``connection`` (where the server is, clear errors), ``config``
(labelling config from the taxonomy), ``select`` (which posts annotators see), ``push``,
``pull``, ``agreement`` and ``label_issues``.
"""
