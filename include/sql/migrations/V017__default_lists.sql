-- Lists for what the model has not seen: a visitor without history, a product added today. Each
-- run publishes, in the same swap as the users' lists and the similar products, the window's best
-- sellers overall (category_id 0) and within each category; the procedures below answer "top K
-- for this user" and "similar to this product" with the fallback applied and its source named.
CREATE TABLE IF NOT EXISTS default_lists_current (
  category_id BIGINT NOT NULL COMMENT '0: every category; else the category the list is of',
  product_ids JSON NOT NULL COMMENT 'the list: product ids, best seller first',
  scores JSON NOT NULL COMMENT '1 / rank, in the same order',
  source VARCHAR(32) NOT NULL COMMENT 'best_sellers (category 0) or category_best_sellers',
  run_date DATE NOT NULL COMMENT 'the run date the lists were published for, the same on every row',
  PRIMARY KEY (category_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS default_lists_previous LIKE default_lists_current;

CREATE TABLE IF NOT EXISTS default_list_history (
  run_date DATE NOT NULL,
  category_id BIGINT NOT NULL,
  product_ids JSON NOT NULL,
  scores JSON NOT NULL,
  source VARCHAR(32) NOT NULL,
  PRIMARY KEY (run_date, category_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- CALL recommend_for_user(user_id, k): the user's current list (source als or popular), or for a
-- user without one the best sellers (source best_sellers); rows (rec_rank, product_id, score, source).
DROP PROCEDURE IF EXISTS recommend_for_user;

CREATE PROCEDURE recommend_for_user(IN for_user BIGINT, IN how_many INT)
  READS SQL DATA SQL SECURITY INVOKER
  COMMENT 'top K for a user, falling back to the best sellers; the source column says which'
SELECT e.rec_rank, e.product_id, CAST(JSON_EXTRACT(l.scores, CONCAT('$[', e.rec_rank - 1, ']')) AS DOUBLE) AS score,
  l.source
FROM (SELECT product_ids, scores, source FROM user_recommendation_lists_current WHERE user_id = for_user
      UNION ALL
      SELECT product_ids, scores, source FROM default_lists_current
      WHERE category_id = 0
        AND NOT EXISTS (SELECT 1 FROM user_recommendation_lists_current WHERE user_id = for_user)) AS l,
  JSON_TABLE(l.product_ids, '$[*]' COLUMNS (rec_rank FOR ORDINALITY, product_id BIGINT PATH '$')) AS e
WHERE e.rec_rank <= how_many
ORDER BY e.rec_rank;

-- CALL similar_to_product(product_id, category_id, k): the product's similar products (source
-- similar); for a product the model has not seen, the best sellers of its category, as the caller
-- knows it (source category_best_sellers), or with no such list (NULL or an unknown category) the
-- best sellers overall (source best_sellers); never the product itself. Rows (rec_rank,
-- product_id, score, source).
DROP PROCEDURE IF EXISTS similar_to_product;

CREATE PROCEDURE similar_to_product(IN for_product BIGINT, IN of_category BIGINT, IN how_many INT)
  READS SQL DATA SQL SECURITY INVOKER
  COMMENT 'similar products, falling back to category then overall best sellers; the source says which'
SELECT ROW_NUMBER() OVER (ORDER BY c.pick, c.rec_rank) AS rec_rank, c.product_id, c.score, c.source
FROM (
  SELECT 1 AS pick, similar_rank AS rec_rank, similar_product_id AS product_id, similarity AS score,
    'similar' AS source
  FROM similar_products_current WHERE product_id = for_product
  UNION ALL
  SELECT 2, e.rec_rank, e.product_id, CAST(JSON_EXTRACT(d.scores, CONCAT('$[', e.rec_rank - 1, ']')) AS DOUBLE),
    d.source
  FROM default_lists_current d,
    JSON_TABLE(d.product_ids, '$[*]' COLUMNS (rec_rank FOR ORDINALITY, product_id BIGINT PATH '$')) AS e
  WHERE e.product_id <> for_product
    AND NOT EXISTS (SELECT 1 FROM similar_products_current WHERE product_id = for_product)
    AND (d.category_id = of_category
         OR (d.category_id = 0 AND NOT EXISTS (SELECT 1 FROM default_lists_current
                                               WHERE category_id = of_category AND of_category <> 0)))
) AS c
ORDER BY rec_rank
LIMIT how_many;
