"""How a time-limited run spends its limit: on one long training, or on a short search whose
winner is then trained on to the end.

Everything follows from one measured quantity, the seconds an epoch of the starting
configuration takes on all the training images (``measured_epoch_seconds``, which counts
in the limit), and from the arithmetic of asynchronous successive halving:

- ``affordable``: the epochs of the starting configuration the time left affords; training
  it for those is the run to beat (the default trained alone for the limit).
- The search gets ``SEARCH_SHARE`` of them, so that the model the user keeps trains at
  least the rest: it is never much shorter than the default trained for the limit.
- With rungs growing by a factor 3 up to ``max_epochs``, each rung of ASHA costs about one
  training of ``max_epochs``, and the first model reaches the top after about one training
  per rung; ``TOP_RUNG_TRAININGS`` (two per rung of three) lets the top rung hold a choice.
  Every fit also pays the fixed cost of building and tracing its model: the search's share
  first pays that for ``SEARCH_FITS`` fits per fold (one bracket to the top, 9 + 3 + 1),
  which on small images and few of them is most of a short limit.
  So the search's top rung is ``max_epochs = search epochs / TOP_RUNG_TRAININGS``; where
  that is under ``MIN_TOP_EPOCHS`` the ranking would be read off a model barely trained,
  and the run trains the starting configuration for the whole limit instead.
- Every candidate trains on the first epochs of one schedule as long as the final model's
  (``lr_schedule_epochs = final_epochs``), so the winner's checkpoint continues to
  ``final_epochs`` exactly as a straight training would: no training is thrown away.

An epoch of all the images takes a second and 200 s are left, candidates train on 90 % of
them (a holdout of 10 %): a third of the 200 epochs affords 74 candidate-epochs, a top rung
of 74 // 6 = 12 epochs, and the winner trains on for the other 133 epochs' time (148 epochs
of its 90 %), to 160:

>>> plan = plan_time_limit(epoch_seconds=1.0, seconds_left=200.0, train_fraction=0.9)
>>> plan.search, plan.max_epochs, plan.final_epochs
(True, 12, 160)
>>> plan_time_limit(epoch_seconds=10.0, seconds_left=300.0, train_fraction=0.9).search
False
"""

import math
from dataclasses import dataclass

SEARCH_SHARE = 1 / 3  # of the affordable epochs; the model kept trains at least the rest
TOP_RUNG_TRAININGS = 6  # trainings of the top rung a search needs: two per rung of three
MIN_TOP_EPOCHS = 3  # a shorter top rung ranks configurations on barely trained models
SEARCH_FITS = 13  # fits per fold of one bracket of rungs growing by 3 to the top: 9 + 3 + 1
MIN_HOLDOUT = 1000  # validation images for one holdout: accuracy's standard error <= 1 point
HOLDOUT_FRACTION = 0.1  # of the training images, AutoGluon's default holdout
FOLDS = 3  # below MIN_HOLDOUT / HOLDOUT_FRACTION images, folds instead of one holdout


@dataclass(frozen=True)
class TimePlan:
    """What a time-limited run does, and why, in numbers.

    ``final_epochs`` is the length of the kept model's training (and of every candidate's
    learning-rate schedule); ``max_epochs`` the search's top rung (0 without a search);
    ``search_seconds`` the search's own ``time_limit``.
    """

    epoch_seconds: float
    affordable: int
    search: bool
    max_epochs: int
    final_epochs: int
    search_seconds: float

    def describe(self, reference_epochs):
        """One sentence for the console and the report."""
        trainings = self.affordable / max(1, reference_epochs)
        head = (
            f"one epoch of the starting configuration took {self.epoch_seconds:.1f} s; the limit "
            f"affords {self.affordable} epochs ({trainings:.1f} trainings of {reference_epochs})"
        )
        if not self.search:
            return (
                f"{head}: too few for a search to pay, so the starting configuration trains "
                f"for {self.final_epochs} epochs, no search"
            )
        return (
            f"{head}: a search of {self.search_seconds:.0f} s with rungs up to "
            f"{self.max_epochs} epochs, then its best trains on to {self.final_epochs} epochs"
        )


def plan_time_limit(*, epoch_seconds, seconds_left, train_fraction, n_splits=1, fixed_seconds=0.0):
    """The :class:`TimePlan` for ``seconds_left``, an epoch of all the training images taking
    ``epoch_seconds`` and every fit ``fixed_seconds`` more; each candidate trains on
    ``n_splits`` folds of ``train_fraction`` of them."""
    affordable = max(1, int(seconds_left / epoch_seconds + 1e-9))  # 60 // 0.02 is 2999.0
    candidate_epoch = n_splits * train_fraction  # in epochs of all the images
    fits_seconds = SEARCH_FITS * n_splits * fixed_seconds
    search_epochs = (SEARCH_SHARE * seconds_left - fits_seconds) / epoch_seconds / candidate_epoch
    max_epochs = int(search_epochs // TOP_RUNG_TRAININGS)
    if max_epochs < MIN_TOP_EPOCHS:
        return TimePlan(epoch_seconds, affordable, False, 0, affordable, 0.0)
    rest = (1 - SEARCH_SHARE) * affordable / train_fraction  # the winner trains on its fold
    return TimePlan(
        epoch_seconds,
        affordable,
        True,
        max_epochs,
        max_epochs + int(rest),
        SEARCH_SHARE * seconds_left,
    )


def validation_for(y, cv=None, random_state=0):
    """``(splitter, n_splits, train_fraction, description)``: ``cv`` folds when given, else
    one stratified holdout of ``HOLDOUT_FRACTION`` where it holds ``MIN_HOLDOUT`` images
    or more, else ``FOLDS`` stratified folds."""
    from sklearn.model_selection import ShuffleSplit, StratifiedKFold, StratifiedShuffleSplit

    n = len(y)
    multi_label = getattr(y, "ndim", 1) > 1
    if cv is None and n * HOLDOUT_FRACTION >= MIN_HOLDOUT:
        split = ShuffleSplit if multi_label else StratifiedShuffleSplit
        splitter = split(n_splits=1, test_size=HOLDOUT_FRACTION, random_state=random_state)
        fraction = 1 - HOLDOUT_FRACTION
        return splitter, 1, fraction, f"one holdout of {math.ceil(n * HOLDOUT_FRACTION)} images"
    k = cv or FOLDS
    if multi_label:
        from sklearn.model_selection import KFold

        splitter = KFold(k, shuffle=True, random_state=random_state)
    else:
        splitter = StratifiedKFold(k, shuffle=True, random_state=random_state)
    return splitter, k, (k - 1) / k, f"{k} folds"
