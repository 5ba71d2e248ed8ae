"""``python -m sklearn_keras_hpo`` runs the ``skhpo`` command line."""

import sys

from .cli import main

sys.exit(main())
