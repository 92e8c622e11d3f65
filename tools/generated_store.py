"""The generated store behind ``recsys-generate-events``: its shape (how shoppers behave, by name)
and its catalogue and users, fixed for the whole period so that later behaviour follows earlier.

Two shapes:
- ``demo``: a store whose tastes ALS can learn in a few days (the demo's and the tests' data);
- ``rees46``: shaped like the head of the REES46 multi-category export of October 2019 (17,434
  rows): 97.8 % views, 0.95 % carts, 1.2 % purchases (a purchase often has no cart event in the
  export, so some purchases follow a view directly), no removals from the cart, about 3.4 events a
  session, brand missing on 14 % and category code on 33 % of rows, a long-tailed popularity.
  ``tests/test_generator.py`` measures each share on the generator's output.
"""

from dataclasses import dataclass

import numpy as np

CATEGORY_CODES = [
    "electronics.smartphone", "electronics.audio.headphone", "electronics.video.tv",
    "electronics.clocks", "electronics.tablet", "electronics.camera.photo",
    "computers.notebook", "computers.desktop", "computers.peripherals.mouse",
    "computers.components.videocards", "appliances.kitchen.washer",
    "appliances.kitchen.refrigerators", "appliances.kitchen.microwave",
    "appliances.environment.vacuum", "appliances.environment.air_heater",
    "appliances.personal.hair_cutter", "apparel.shoes", "apparel.shoes.sandals",
    "apparel.trousers", "apparel.costume", "furniture.living_room.sofa",
    "furniture.bedroom.bed", "furniture.kitchen.table", "auto.accessories.player",
    "auto.accessories.videoregister", "kids.toys", "kids.carriage", "sport.bicycle",
    "sport.trainer", "construction.tools.drill", "construction.tools.saw",
    "accessories.bag", "country_yard.lawn_mower", "medicine.tools.tonometer",
]
BRANDS = [
    "samsung", "apple", "xiaomi", "huawei", "lucente", "sony", "lg", "bosch", "philips",
    "acer", "lenovo", "asus", "hp", "indesit", "beko", "redmond", "tefal", "polaris",
    "respect", "nike", "adidas", "puma", "cordiant", "janome", "elenberg", "casio",
    "canon", "nikon", "jbl", "sv", "makita", "dewalt", "vitek", "moulinex", "braun",
]
FAVOURITES = 8  # a user's own favourite products
FAVOURITE_SHARE, SEGMENT_SHARE = 0.35, 0.50  # of views; the rest go to the global best sellers


@dataclass(frozen=True)
class Shape:
    views_per_session: float  # mean of a geometric number of views
    cart_per_favourite_view: float
    cart_per_other_view: float
    repeat_cart: float  # a double click on "add to cart"
    purchase_per_cart: float
    purchase_per_uncarted_view: float
    removal_per_unbought_cart: float
    brandless_products: float
    codeless_categories: int  # beside the len(CATEGORY_CODES) with a code
    codeless_share: float  # of the products, in the categories without a code
    popularity_exponent: float  # Zipf: the product of rank r is viewed in proportion to r ** -exponent

    def events_per_view(self) -> float:
        cart = FAVOURITE_SHARE * self.cart_per_favourite_view + (1 - FAVOURITE_SHARE) * self.cart_per_other_view
        removed = (1 - self.purchase_per_cart) * self.removal_per_unbought_cart
        return 1 + cart * (1 + self.repeat_cart + self.purchase_per_cart + removed) + \
            (1 - cart) * self.purchase_per_uncarted_view


SHAPES = {
    "demo": Shape(views_per_session=6.0, cart_per_favourite_view=0.085, cart_per_other_view=0.04,
                  repeat_cart=0.12, purchase_per_cart=0.36, purchase_per_uncarted_view=0.0,
                  removal_per_unbought_cart=0.25, brandless_products=0.15, codeless_categories=8,
                  codeless_share=0.2, popularity_exponent=0.9),
    # Carts 0.0085 * 1.12 = 0.95 % of views; purchases 0.0085 * 0.4 + 0.0089 = 1.23 %. Brand and
    # code missing are set by product, so the few products at the head of a Zipf popularity move
    # the rows' shares by a few points from seed to seed (liked brands draw more views, so fewer rows
    # than products miss a brand).
    "rees46": Shape(views_per_session=3.3, cart_per_favourite_view=0.0085, cart_per_other_view=0.0085,
                    repeat_cart=0.12, purchase_per_cart=0.4, purchase_per_uncarted_view=0.0089,
                    removal_per_unbought_cart=0.0, brandless_products=0.18, codeless_categories=13,
                    codeless_share=0.33, popularity_exponent=1.0),
}


@dataclass
class Store:
    product_ids: np.ndarray
    product_category: np.ndarray  # index into category tables
    product_brand: np.ndarray  # index into BRANDS, -1 for an empty brand
    product_price: np.ndarray
    category_ids: np.ndarray
    category_codes: list[str]
    user_ids: np.ndarray
    user_cdf: np.ndarray  # cumulative probability of a session belonging to each user
    user_segment: np.ndarray
    user_favourites: np.ndarray  # (users, FAVOURITES) product indices
    segment_cdf: np.ndarray  # (segments, products) cumulative product choice
    global_cdf: np.ndarray


def build_store(rng: np.random.Generator, n_users: int, n_products: int, n_segments: int, shape: Shape) -> Store:
    """A catalogue of categories (dotted codes, some empty), brands and log-normal prices with
    Zipf-skewed popularity; users in taste segments (2-3 favourite categories, a few brands, a
    price band) with favourite products of their own and a log-normal activity."""
    n_categories = len(CATEGORY_CODES) + shape.codeless_categories
    category_ids = 2053013552226107603 + np.sort(rng.choice(10**15, n_categories, replace=False))
    category_codes = CATEGORY_CODES + [""] * shape.codeless_categories
    category_size = rng.dirichlet(np.full(n_categories, 2.0))
    coded = len(CATEGORY_CODES)
    category_size[:coded] *= (1 - shape.codeless_share) / category_size[:coded].sum()
    category_size[coded:] *= shape.codeless_share / category_size[coded:].sum()
    product_category = rng.choice(n_categories, n_products, p=category_size)
    product_brand = rng.integers(0, len(BRANDS), n_products)
    product_brand[rng.random(n_products) < shape.brandless_products] = -1
    category_price = np.exp(rng.uniform(np.log(8), np.log(900), n_categories))
    product_price = np.round(category_price[product_category] * rng.lognormal(0, 0.45, n_products), 2)
    product_price = np.maximum(product_price, 0.5)
    product_ids = 1000000 + np.sort(rng.choice(99_000_000, n_products, replace=False))
    popularity = 1.0 / np.arange(1, n_products + 1) ** shape.popularity_exponent
    popularity = popularity[rng.permutation(n_products)]

    segment_cdf = np.empty((n_segments, n_products))
    price_rank = np.argsort(np.argsort(product_price / category_price[product_category]))
    price_band = price_rank * 3 // n_products
    for s in range(n_segments):
        liked_categories = rng.choice(n_categories, rng.integers(2, 4), replace=False)
        liked_brands = rng.choice(len(BRANDS), 4, replace=False)
        band = rng.integers(0, 3)
        w = popularity * np.where(np.isin(product_category, liked_categories), 1.0, 0.004)
        w = w * np.where(np.isin(product_brand, liked_brands), 4.0, 1.0)
        w = w * np.where(price_band == band, 3.0, 1.0)
        segment_cdf[s] = np.cumsum(w / w.sum())
    global_cdf = np.cumsum(popularity / popularity.sum())

    user_ids = 500000000 + np.sort(rng.choice(99_000_000, n_users, replace=False))
    activity = rng.lognormal(0, 1.0, n_users)
    user_segment = rng.integers(0, n_segments, n_users)
    user_favourites = np.empty((n_users, FAVOURITES), dtype=np.int64)
    for s in range(n_segments):
        members = np.flatnonzero(user_segment == s)
        user_favourites[members] = draw(rng, segment_cdf[s], (len(members), FAVOURITES))
    return Store(product_ids, product_category, product_brand, product_price, category_ids, category_codes,
                 user_ids, np.cumsum(activity / activity.sum()), user_segment, user_favourites, segment_cdf,
                 global_cdf)


def draw(rng: np.random.Generator, cdf: np.ndarray, size) -> np.ndarray:
    """Indices drawn by the cumulative distribution ``cdf``."""
    return np.minimum(np.searchsorted(cdf, rng.random(size) * cdf[-1]), len(cdf) - 1)
