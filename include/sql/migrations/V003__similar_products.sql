-- For each product, the products closest to it in the ALS item space (substitutes and
-- complements), per run date; read by product.
CREATE TABLE IF NOT EXISTS similar_products (
  run_date DATE NOT NULL,
  product_id BIGINT NOT NULL,
  similar_rank SMALLINT UNSIGNED NOT NULL,
  similar_product_id BIGINT NOT NULL,
  similarity DOUBLE NOT NULL COMMENT 'cosine similarity of the ALS item factors',
  PRIMARY KEY (run_date, product_id, similar_rank),
  KEY similar_products_by_product (product_id, run_date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
