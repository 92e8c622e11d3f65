-- Read rights on the pipeline's database and nothing else ({database} is validated).
GRANT SELECT ON {database}.* TO %s@%s
