"""A time limit spent on the model the user keeps: the one measurement (``probe``), the plan
it gives (``planner``), and the run that carries it out (``run.tune``). Above the
estimators and the searchers, which it uses; below the CLI, which calls ``tune``."""

from .planner import TimePlan, plan_time_limit, validation_for
from .run import TimedRun, tune

__all__ = ["TimePlan", "TimedRun", "plan_time_limit", "tune", "validation_for"]
