"""The HTML report and the plots; both read public fitted attributes only."""

from .plotting import plot_augmentations, plot_history, plot_lr_schedule
from .report import build_report

__all__ = ["build_report", "plot_augmentations", "plot_history", "plot_lr_schedule"]
