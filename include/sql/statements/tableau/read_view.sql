-- Every row of one view ({view} and {columns} are validated).
SELECT {columns} FROM {view}
