-- A date's staged lists into the history, one row per user: the product ids as a JSON array,
-- best first ({history} and {staging} are validated). The staging table's key is (user_id,
-- rec_rank): the grouping reads it in order, with no temporary table.
INSERT INTO {history} (run_date, user_id, product_ids, source)
SELECT MIN(run_date), user_id, CONCAT('[', GROUP_CONCAT(product_id ORDER BY rec_rank SEPARATOR ','), ']'), MIN(source)
FROM {staging}
GROUP BY user_id
