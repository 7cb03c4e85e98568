"""The conformance suite's Gherkin features (shipped in the wheel; ``certify`` runs them)."""
