"""Our searchers (Hyperband, ASHA), the rung runner and its worker pools, recovery from
failed fits and lost workers, stopping, search spaces and progress bars."""

from .asha import AsyncHalvingSearchCV, asha_promotion, halving_rungs
from .hyperband import HyperbandSearchCV, hyperband_brackets
from .progress import progress_bar
from .recovery import LostWorkerWarning, WorkerLostError, lost_workers_retried
from .selection import best_at_largest_budget
from .spaces import PRESETS, read_space_file, search_space

__all__ = [
    "PRESETS",
    "AsyncHalvingSearchCV",
    "HyperbandSearchCV",
    "LostWorkerWarning",
    "WorkerLostError",
    "asha_promotion",
    "best_at_largest_budget",
    "halving_rungs",
    "hyperband_brackets",
    "lost_workers_retried",
    "progress_bar",
    "read_space_file",
    "search_space",
]
