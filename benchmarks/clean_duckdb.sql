-- The cleaning rules of spark_jobs/recsys/cleaning.py in DuckDB: the single-machine peer of the
-- cleaning benchmark, doing the same work. Each line is split (quote-aware when it holds a quote),
-- trimmed and unquoted, judged by the same rules in the same order (number forms, lengths, dates
-- out of range), counted per file and reason with its empty fields and normalisations; the clean
-- events are deduplicated, repeated carts collapsed, enriched and written by date; the counts are
-- read back from the files written. {raw}, {out}, {day}, {window_days} are filled by
-- bench_cleaning.py. One difference: RE2 has no lookahead, so a line with quotes is split by
-- matching its fields, which can split malformed quoting otherwise than Spark's pattern (the
-- benchmark's lines hold no quotes; its counts are compared with the job's).
CREATE OR REPLACE TEMP TABLE parsed AS
WITH lines AS (
  SELECT coalesce(regexp_replace(line, '\r$', ''), '') AS raw_line, filename AS source_file  -- a blank line reads as NULL
  FROM read_csv('{raw}', columns = {'line': 'VARCHAR'}, header = false, delim = '\x01',
                quote = '', escape = '', filename = true, auto_detect = false)
), fields AS (
  SELECT raw_line, source_file, contains(raw_line, '"') AS has_quote,
    list_transform(
      CASE WHEN contains(raw_line, '"')
           THEN regexp_extract_all(raw_line || ',', '((?:"(?:[^"]|"")*"|[^,])*),', 1)
           ELSE string_split(raw_line, ',') END,
      lambda x: trim(x)) AS t
  FROM lines
), unquoted AS (
  SELECT raw_line, source_file, len(t) AS n_fields,
    coalesce(has_quote AND list_bool_or(list_transform(t, lambda x: regexp_full_match(x, '"(?:[^"]|"")*"'))),
             false) AS quoted,
    coalesce(has_quote AND list_bool_or(list_transform(t, lambda x: contains(x, '"')
                                                       AND NOT regexp_full_match(x, '"(?:[^"]|"")*"'))),
             false) AS misquoted,
    array_to_string(t, ',') <> raw_line
      OR coalesce(has_quote AND list_bool_or(list_transform(t, lambda x: regexp_full_match(x, '"(?:[^"]|"")*"')
           AND replace(x[2:-2], '""', '"') <> trim(replace(x[2:-2], '""', '"')))), false) AS padded,
    CASE WHEN has_quote
         THEN list_transform(t, lambda x: CASE WHEN regexp_full_match(x, '"(?:[^"]|"")*"')
                                             THEN trim(replace(x[2:-2], '""', '"')) ELSE x END)
         ELSE t END AS v
  FROM fields
), typed AS (
  SELECT raw_line, source_file, n_fields, quoted, misquoted, padded,
    v[1] AS r_event_time, v[2] AS r_event_type, v[3] AS r_product_id, v[4] AS r_category_id,
    v[5] AS r_category_code, v[6] AS r_brand, v[7] AS r_price, v[8] AS r_user_id, v[9] AS r_user_session,
    try_strptime(v[1], '%Y-%m-%d %H:%M:%S UTC') AS event_time,
    lower(v[2]) AS event_type,
    TRY_CAST(v[3] AS BIGINT) AS product_id,
    TRY_CAST(v[4] AS BIGINT) AS category_id,
    TRY_CAST(v[7] AS DECIMAL(12, 2)) AS price,
    TRY_CAST(v[8] AS BIGINT) AS user_id
  FROM unquoted
)
SELECT *, CASE
    WHEN raw_line = 'event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session'
      THEN 'header'
    WHEN raw_line = '' THEN 'blank_line'
    WHEN regexp_matches(raw_line, '[\x00-\x1f\x7f]') THEN 'control_character'
    WHEN misquoted THEN 'bad_quoting'
    WHEN n_fields <> 9 THEN 'wrong_field_count'
    WHEN event_time IS NULL THEN 'bad_event_time'
    WHEN abs(date_diff('day', DATE '{day}', CAST(event_time AS DATE))) > {window_days}
      THEN 'event_time_out_of_range'
    WHEN event_type NOT IN ('view', 'cart', 'remove_from_cart', 'purchase') THEN 'unknown_event_type'
    WHEN r_product_id = '' THEN 'missing_product_id'
    WHEN NOT regexp_full_match(r_product_id, '[1-9][0-9]*') OR product_id IS NULL THEN 'bad_product_id'
    WHEN r_category_id = '' THEN 'missing_category_id'
    WHEN NOT regexp_full_match(r_category_id, '[1-9][0-9]*') OR category_id IS NULL THEN 'bad_category_id'
    WHEN length(r_category_code) > 191 THEN 'category_code_too_long'
    WHEN regexp_matches(r_category_code, '[^.]{65,}') THEN 'category_code_too_long'
    WHEN length(r_brand) > 191 THEN 'brand_too_long'
    WHEN r_price = '' THEN 'missing_price'
    WHEN NOT regexp_full_match(r_price, '-?(0|[1-9][0-9]*)(\.[0-9]{1,2})?') OR price IS NULL THEN 'bad_price'
    WHEN price < 0 THEN 'negative_price'
    WHEN price > 100000 THEN 'absurd_price'
    WHEN r_user_id = '' THEN 'missing_user_id'
    WHEN NOT regexp_full_match(r_user_id, '[1-9][0-9]*') OR user_id IS NULL THEN 'bad_user_id'
  END AS reject_reason
FROM typed;

-- The line statistics: per file and reason, the rows, their empty fields and normalisations.
CREATE OR REPLACE TEMP TABLE line_statistics AS
SELECT source_file, reject_reason, count(*) AS rows,
  sum((r_event_time = '')::BIGINT) AS event_time, sum((r_event_type = '')::BIGINT) AS event_type,
  sum((r_product_id = '')::BIGINT) AS product_id, sum((r_category_id = '')::BIGINT) AS category_id,
  sum((r_category_code = '')::BIGINT) AS category_code, sum((r_brand = '')::BIGINT) AS brand,
  sum((r_price = '')::BIGINT) AS price, sum((r_user_id = '')::BIGINT) AS user_id,
  sum((r_user_session = '')::BIGINT) AS user_session,
  sum((r_event_type <> event_type)::BIGINT) AS event_type_case, sum(padded::BIGINT) AS padded_fields,
  sum(quoted::BIGINT) AS quoted_fields
FROM parsed GROUP BY ALL;

COPY (SELECT raw_line, source_file, reject_reason FROM parsed
      WHERE reject_reason IS NOT NULL AND reject_reason <> 'header')
  TO '{out}/quarantine.parquet' (FORMAT parquet);

CREATE OR REPLACE TEMP TABLE deduplicated AS
SELECT DISTINCT event_time, event_type, product_id, category_id, r_category_code AS category_code,
       r_brand AS brand, price, user_id, r_user_session AS user_session
FROM parsed WHERE reject_reason IS NULL;

COPY (
  WITH sessions AS (
    SELECT *, CASE WHEN user_session = '' THEN
      sha256('recsys-session|' || user_id || '|' || CAST(event_time AS DATE)) END AS h
    FROM deduplicated
  ), enriched AS (
    SELECT event_time, event_type, product_id, category_id,
      CASE WHEN category_code = '' THEN 'unknown' ELSE category_code END AS category_code,
      category_code = '' AS category_code_missing,
      CASE WHEN brand = '' THEN 'unknown' ELSE brand END AS brand,
      brand = '' AS brand_missing, price, user_id,
      CASE WHEN user_session = '' THEN concat_ws('-', h[1:8], h[9:12], h[13:16], h[17:20], h[21:32])
           ELSE user_session END AS user_session,
      user_session = '' AS user_session_generated,
      CAST(event_time AS DATE) AS event_date
    FROM sessions
  ), split AS (
    SELECT *, string_split(category_code, '.') AS parts FROM enriched
  )
  SELECT * EXCLUDE (parts, n),
    coalesce(nullif(parts[1], ''), 'unknown') AS category,
    coalesce(nullif(parts[2], ''), 'unknown') AS sub_category,
    coalesce(nullif(parts[CASE WHEN len(parts) >= 3 THEN 3 ELSE 2 END], ''), 'unknown') AS product_type
  FROM (
    SELECT *, CASE WHEN event_type = 'cart' THEN row_number() OVER (
        PARTITION BY user_id, product_id, user_session, event_type = 'cart'
        ORDER BY event_time, category_id, price, category_code, brand) END AS n
    FROM split
  ) WHERE n IS NULL OR n = 1
) TO '{out}/events' (FORMAT parquet, PARTITION_BY (event_date), OVERWRITE_OR_IGNORE);

-- The counts for the reconciliation, read back from the files written.
CREATE OR REPLACE TEMP TABLE written_by_date AS
SELECT event_date, count(*) AS rows FROM read_parquet('{out}/events/**/*.parquet', hive_partitioning = true)
GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE written_quarantine AS
SELECT count(*) AS rows FROM read_parquet('{out}/quarantine.parquet');
