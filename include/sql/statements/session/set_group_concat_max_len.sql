-- A list of 500 ids (top_k's largest) is about 10,000 characters: above MySQL's default of 1,024.
SET SESSION group_concat_max_len = 1048576
