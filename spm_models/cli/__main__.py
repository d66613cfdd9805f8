"""``python -m spm_models.cli``."""

from spm_models.cli import main

main()
