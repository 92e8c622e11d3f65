"""Command-line options for the interaction and training knobs (the DAG's Params)."""

import argparse

from recsys.als import AlsParams
from recsys.interactions import ScoreParams
from recsys.recommender import RecommenderParams
from recsys.tuning import Grid


def add_score_options(parser: argparse.ArgumentParser) -> None:
    d = ScoreParams()
    parser.add_argument("--window-days", type=int, default=30)
    parser.add_argument("--weight-view", type=float, default=d.weight_view)
    parser.add_argument("--weight-cart", type=float, default=d.weight_cart)
    parser.add_argument("--weight-purchase", type=float, default=d.weight_purchase)
    parser.add_argument("--half-life-days", type=float, default=d.half_life_days)
    parser.add_argument("--score-cap", type=float, default=d.score_cap)


def score_params(args: argparse.Namespace) -> ScoreParams:
    return ScoreParams(args.weight_view, args.weight_cart, args.weight_purchase,
                       args.half_life_days, args.score_cap)


def add_recommender_options(parser: argparse.ArgumentParser) -> None:
    d, a = RecommenderParams(), AlsParams()
    parser.add_argument("--top-k", type=int, default=d.top_k)
    parser.add_argument("--min-user-products", type=int, default=d.min_user_products)
    parser.add_argument("--min-product-users", type=int, default=d.min_product_users)
    parser.add_argument("--exclude-purchased", choices=("true", "false"), default="true")
    parser.add_argument("--ranks", type=_listed(int), default=[a.rank], help="tuning grid, e.g. 15,30")
    parser.add_argument("--reg-params", type=_listed(float), default=[a.reg_param], help="tuning grid")
    parser.add_argument("--alphas", type=_listed(float), default=[a.alpha], help="tuning grid")
    parser.add_argument("--max-iter", type=int, default=a.max_iter)
    parser.add_argument("--blocks", type=int, default=a.blocks, help="ALS user and item blocks")
    parser.add_argument("--eval-days", type=int, default=7)
    parser.add_argument("--tuning-budget-seconds", type=float, default=1800.0)
    parser.add_argument("--quality-margin", type=float, default=0.1,
                        help="publish only if ALS NDCG@K > popularity's x (1 + margin)")


def _listed(kind):
    """A comma-separated, non-empty list (the DAG renders its list Params this way)."""
    def parse(text: str) -> list:
        values = [kind(v) for v in text.replace("[", "").replace("]", "").split(",") if v.strip()]
        if not values:
            raise argparse.ArgumentTypeError(f"empty list: {text!r}")
        return values
    return parse


def tuning_grid(args: argparse.Namespace) -> Grid:
    return Grid(tuple(args.ranks), tuple(args.reg_params), tuple(args.alphas))


def recommender_params(args: argparse.Namespace) -> RecommenderParams:
    return RecommenderParams(
        top_k=args.top_k,
        min_user_products=args.min_user_products,
        min_product_users=args.min_product_users,
        exclude_purchased=args.exclude_purchased == "true",
        # The first value of each grid list: what a run uses when there is nothing to tune on.
        als_params=AlsParams(args.ranks[0], args.reg_params[0], args.alphas[0], args.max_iter,
                             blocks=args.blocks),
    )
