"""Processing: step registry, validated steps, workflow runner, RQ jobs, replay."""
