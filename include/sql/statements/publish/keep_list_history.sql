-- A date's staged lists into the history as they are, a row per user ({history} and {staging}
-- are validated): the history keeps the product ids, not their scores.
INSERT INTO {history} (run_date, user_id, product_ids, source)
SELECT run_date, user_id, product_ids, source FROM {staging}
