"""IQ / OQ / PQ runs, reference data with golden digests, traceability matrix."""
