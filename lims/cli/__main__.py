"""``python -m lims.cli`` runs the ctvault command line."""

from lims.cli import main

main()
