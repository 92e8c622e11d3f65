"""Command-line options for the interaction and training knobs (the DAG's Params)."""

import argparse

from recsys.als import AlsParams
from recsys.interactions import ScoreParams
from recsys.recommender import RecommenderParams


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
    parser.add_argument("--rank", type=int, default=a.rank)
    parser.add_argument("--reg-param", type=float, default=a.reg_param)
    parser.add_argument("--alpha", type=float, default=a.alpha)
    parser.add_argument("--max-iter", type=int, default=a.max_iter)
    parser.add_argument("--eval-days", type=int, default=7)


def recommender_params(args: argparse.Namespace) -> RecommenderParams:
    return RecommenderParams(
        top_k=args.top_k,
        min_user_products=args.min_user_products,
        min_product_users=args.min_product_users,
        exclude_purchased=args.exclude_purchased == "true",
        als_params=AlsParams(args.rank, args.reg_param, args.alpha, args.max_iter),
    )
