-- At most a bounded number of one date's rows, each batch its own short transaction: readers and
-- loads never wait long behind retention ({table}, {date_column} validated).
DELETE FROM {table} WHERE {date_column} = %s LIMIT %s
