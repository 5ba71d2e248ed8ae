"""``python -m sklearn_keras_hpo.cli`` runs the ``skhpo`` command line."""

import sys

from . import main

sys.exit(main())
