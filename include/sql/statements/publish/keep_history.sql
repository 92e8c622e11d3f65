-- A date's staged rows into the history as they are ({history}, {staging} and {columns} are validated).
INSERT INTO {history} ({columns}) SELECT {columns} FROM {staging}
