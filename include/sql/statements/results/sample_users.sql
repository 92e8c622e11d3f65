-- Three users whose current lists come from ALS, the most confident first.
SELECT user_id FROM user_recommendation_lists_current WHERE source = 'als'
ORDER BY CAST(JSON_EXTRACT(scores, '$[0]') AS DOUBLE) DESC LIMIT 3
