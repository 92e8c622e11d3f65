-- Three users whose current lists come from ALS, the most confident first.
SELECT user_id FROM user_recommendations_current WHERE source = 'als'
GROUP BY user_id ORDER BY MAX(score) DESC LIMIT 3
