-- The cleaning rules of spark_jobs/recsys/cleaning.py, in DuckDB: the single-machine peer of
-- the cleaning benchmark. {raw}, {out} are filled by bench_cleaning.py.
CREATE OR REPLACE TEMP TABLE parsed AS
WITH lines AS (
  SELECT regexp_replace(line, '\r$', '') AS raw_line, filename AS source_file
  FROM read_csv('{raw}', columns = {'line': 'VARCHAR'}, header = false, delim = '\x01',
                quote = '', escape = '', filename = true, auto_detect = false)
), fields AS (
  SELECT raw_line, source_file, string_split(raw_line, ',') AS f
  FROM lines
  WHERE raw_line IS DISTINCT FROM 'event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session'
), typed AS (
  SELECT raw_line, source_file, f,
    try_strptime(trim(f[1]), '%Y-%m-%d %H:%M:%S UTC') AS event_time,
    lower(trim(f[2])) AS event_type,
    TRY_CAST(trim(f[3]) AS BIGINT) AS product_id,
    TRY_CAST(trim(f[4]) AS BIGINT) AS category_id,
    trim(f[5]) AS category_code, trim(f[6]) AS brand,
    TRY_CAST(trim(f[7]) AS DECIMAL(12, 2)) AS price,
    TRY_CAST(trim(f[8]) AS BIGINT) AS user_id,
    trim(f[9]) AS user_session
  FROM fields
)
SELECT *, CASE
    WHEN coalesce(raw_line, '') = '' THEN 'blank_line'
    WHEN len(f) <> 9 THEN 'wrong_field_count'
    WHEN event_time IS NULL THEN 'bad_event_time'
    WHEN event_type NOT IN ('view', 'cart', 'remove_from_cart', 'purchase') THEN 'unknown_event_type'
    WHEN trim(f[3]) = '' THEN 'missing_product_id'
    WHEN product_id IS NULL OR product_id <= 0 THEN 'bad_product_id'
    WHEN trim(f[4]) = '' THEN 'missing_category_id'
    WHEN category_id IS NULL OR category_id <= 0 THEN 'bad_category_id'
    WHEN trim(f[7]) = '' THEN 'missing_price'
    WHEN price IS NULL THEN 'bad_price'
    WHEN price < 0 THEN 'negative_price'
    WHEN price > 100000 THEN 'absurd_price'
    WHEN trim(f[8]) = '' THEN 'missing_user_id'
    WHEN user_id IS NULL OR user_id <= 0 THEN 'bad_user_id'
  END AS reject_reason
FROM typed;

COPY (SELECT raw_line, source_file, reject_reason FROM parsed WHERE reject_reason IS NOT NULL)
  TO '{out}/quarantine.parquet' (FORMAT parquet);

CREATE OR REPLACE TEMP TABLE deduplicated AS
SELECT DISTINCT event_time, event_type, product_id, category_id, category_code, brand, price,
       user_id, user_session
FROM parsed WHERE reject_reason IS NULL;

COPY (
  WITH enriched AS (
    SELECT event_time, event_type, product_id, category_id,
      CASE WHEN category_code = '' THEN 'unknown' ELSE category_code END AS category_code,
      category_code = '' AS category_code_missing,
      CASE WHEN brand = '' THEN 'unknown' ELSE brand END AS brand,
      brand = '' AS brand_missing, price, user_id,
      CASE WHEN user_session = '' THEN sha256('recsys-session|' || user_id || '|' || CAST(event_time AS DATE))
           ELSE user_session END AS user_session,
      user_session = '' AS user_session_generated,
      CAST(event_time AS DATE) AS event_date
    FROM deduplicated
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
        ORDER BY event_time, category_id, price) END AS n
    FROM split
  ) WHERE n IS NULL OR n = 1
) TO '{out}/events' (FORMAT parquet, PARTITION_BY (event_date), OVERWRITE_OR_IGNORE);
