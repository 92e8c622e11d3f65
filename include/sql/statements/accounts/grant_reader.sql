-- Read rights on the pipeline's database and nothing else ({database} is validated): SELECT, and
-- EXECUTE for its serving procedures (recommend_for_user, similar_to_product), which run with the
-- caller's rights (SQL SECURITY INVOKER), so they read nothing SELECT does not.
GRANT SELECT, EXECUTE ON {database}.* TO %s@%s
