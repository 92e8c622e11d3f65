-- A rerun of the date already current: replace it atomically and keep the previous generation.
RENAME TABLE {current} TO {retired}, {staging} TO {current}
