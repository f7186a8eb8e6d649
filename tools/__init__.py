"""Developer tools, kept out of the runtime package ``parity`` (which never imports them): the
synthetic data generator (``python -m tools.synth``), the benchmark (``python -m tools.bench``) and
the tiny export the tests build (``tools.testdata``) and the published data contract
(``python -m tools.contract_doc`` writes docs/data-contract.md and docs/templates/)."""
