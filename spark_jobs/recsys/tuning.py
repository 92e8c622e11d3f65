"""Choosing ALS parameters by NDCG@K on the time split, and deciding whether to publish.

RMSE on a random split (the original notebook's choice) says nothing about top-K quality, so
candidates are ranked by NDCG@K on the later period only. The grid is walked in order, the first
value of each list first, so with a tight time budget the defaults are what gets tried.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from recsys.params import AlsParams, Settings

KEPT = "skipped: the parameters in use pass the quality gate"


def tune(candidates: list[AlsParams], score: Callable[[AlsParams], dict], budget_seconds: float,
         clock: Callable[[], float] = time.monotonic,
         progress: Callable[[str], None] = lambda line: print(line, flush=True),
         enough: Callable[[dict], bool] | None = None) -> tuple[AlsParams, dict, list[dict]]:
    """Score candidates in order until the budget is spent (the first is always scored), or
    only the first when ``enough`` says its metrics are.

    ``score`` returns a metrics dict with ``ndcg``. Returns the best candidate (the earliest on
    a tie), its metrics and one trial record per candidate, skipped ones included. Each trial
    says where the search is on ``progress`` (the task's log), since one can take minutes.
    """
    started = clock()
    best, best_metrics, trials, kept = None, None, [], False
    for number, candidate in enumerate(candidates, 1):
        trial = {"rank": candidate.rank, "reg_param": candidate.reg_param, "alpha": candidate.alpha}
        if kept:
            trials.append({**trial, "status": KEPT})
            continue
        if best is not None and clock() - started >= budget_seconds:
            if trials[-1]["status"] == "scored":
                progress(f"tuning: the {budget_seconds:.0f} s budget is spent after trial {number - 1} of "
                         f"{len(candidates)}; the rest are skipped")
            trials.append({**trial, "status": "skipped: time budget spent"})
            continue
        begun = clock()
        metrics = score(candidate)
        trials.append({**trial, "status": "scored", "ndcg": metrics["ndcg"],
                       "seconds": round(clock() - begun, 1)})
        if best is None or metrics["ndcg"] > best_metrics["ndcg"]:
            best, best_metrics = candidate, metrics
        kept = number == 1 and enough is not None and enough(metrics)
        left = max(0.0, budget_seconds - (clock() - started))
        progress(f"tuning trial {number} of {len(candidates)}: rank {candidate.rank}, regParam {candidate.reg_param}, "
                 f"alpha {candidate.alpha}: NDCG@K {metrics['ndcg']:.4f} in {trials[-1]['seconds']:.1f} s "
                 f"(best so far {best_metrics['ndcg']:.4f}); {left:.0f} s of the budget left")
        if kept and len(candidates) > 1:
            progress("tuning: the parameters in use pass the quality gate; the rest are not tried")
    return best, best_metrics, trials


@dataclass(frozen=True)
class InUse:
    """The parameters of the last published run, and the run date they were last searched on
    (None: never searched to the end)."""

    params: AlsParams
    searched_on: date | None


def search_space(settings: Settings, last: InUse | None, run_date: date) -> tuple[list[AlsParams], str, bool]:
    """The candidates to score today, how they were chosen, and whether they are the parameters
    in use, kept: only the first is scored when it passes the quality gate (``tune``'s ``enough``).

    ``neighbours`` learns from earlier days: the last published run's parameters first, then the
    grid points one step from them along one list at a time (each list's order, lower neighbour
    first), so a 2 x 2 x 2 grid costs 4 fits instead of 8 and a drifting optimum is followed. They
    are kept, without a search, until ``retune_days`` after the run that last searched them (a
    search is most of train_als's time; the optimum moves slowly). Without a published run, when
    its point is no longer on the grid, or with ``full_grid``: every grid point, in order."""
    def point(p: AlsParams) -> tuple:
        return p.rank, p.reg_param, p.alpha

    by_point = {}
    for candidate in settings.als_candidates():  # a value listed twice is tried once
        by_point.setdefault(point(candidate), candidate)
    grid = list(by_point.values())
    if settings.tuning_search == "full_grid":
        return grid, "full grid (Param tuning_search)", False
    if last is None or point(last.params) not in by_point:
        why = ("no published run before" if last is None
               else f"the last published run's {point(last.params)} is off the grid")
        return grid, f"full grid ({why})", False
    # Neighbours by value (a list need not be sorted: its first value is the untuned default).
    axes = [sorted(set(values)) for values in (settings.als_ranks, settings.als_reg_params, settings.als_alphas)]
    here = point(last.params)
    chosen = [by_point[here]]
    for axis, values in enumerate(axes):
        at = values.index(here[axis])
        for step in (-1, 1):
            if 0 <= at + step < len(values):
                chosen.append(by_point[tuple(values[at + step] if a == axis else v for a, v in enumerate(here))])
    rank, reg_param, alpha = here
    age = (run_date - last.searched_on).days if last.searched_on else settings.retune_days
    if age < settings.retune_days:
        return chosen, (f"the parameters in use, rank {rank}, regParam {reg_param}, alpha {alpha}, searched on "
                        f"{last.searched_on} ({age} of retune_days {settings.retune_days}); their "
                        f"{len(chosen) - 1} neighbours only if they fail the quality gate"), True
    return chosen, (f"neighbours of the last published run's rank {rank}, regParam {reg_param}, alpha {alpha}: "
                    f"{len(chosen)} of the grid's {len(grid)} points"), False


PUBLISHED, WITHHELD, UNJUDGED = "published", "withheld", "unjudged"


def quality_gate(evaluation: dict, margin: float) -> tuple[str, str]:
    """The run's status and the verdict, with its figures: ``published`` only when ALS beats
    global popularity's NDCG@K by ``margin`` (0.1 = 10 % better), else ``withheld``.

    A run that could not be evaluated (the first days of a store, ``eval_days`` 0) is
    ``unjudged``: the gate fails closed, so its lists become current only where no lists exist
    yet (the publish task decides, from MySQL); they never replace judged ones.
    """
    if evaluation.get("status") != "evaluated":
        return UNJUDGED, (f"unjudged: {evaluation.get('status', 'not evaluated')}; "
                          "published only if no lists exist yet")
    als, popular = evaluation["als"]["ndcg"], evaluation["popularity"]["ndcg"]
    needed = popular * (1.0 + margin)
    figures = f"ALS NDCG@K {als:.4f}, popularity {popular:.4f}, needed {needed:.4f} (margin {margin:.0%})"
    if passes(als, popular, margin):
        return PUBLISHED, f"passed: {figures}"
    return WITHHELD, f"withheld: ALS does not beat popularity by the margin: {figures}"


def passes(als_ndcg: float, popularity_ndcg: float, margin: float) -> bool:
    """Whether ALS beats global popularity's NDCG@K by ``margin``: the quality gate's test."""
    return als_ndcg > popularity_ndcg * (1.0 + margin)
