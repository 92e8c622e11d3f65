-- One user's first five current recommendations (user bound).
SELECT rec_rank, product_id, score FROM user_recommendations_current
WHERE user_id = %s AND rec_rank <= 5 ORDER BY rec_rank
