-- The cleaning report's breakdowns as rows, so Tableau can chart them without parsing JSON.

CREATE TABLE IF NOT EXISTS data_quality_reasons (
  ingest_date DATE NOT NULL,
  reason VARCHAR(64) NOT NULL,
  rows_quarantined BIGINT NOT NULL,
  PRIMARY KEY (ingest_date, reason)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS data_quality_missing_values (
  ingest_date DATE NOT NULL,
  column_name VARCHAR(64) NOT NULL,
  empty_values BIGINT NOT NULL,
  PRIMARY KEY (ingest_date, column_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
