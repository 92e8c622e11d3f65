-- Back to the previous generation (and the current one kept as previous), atomically.
RENAME TABLE {current} TO {retired}, {previous} TO {current}, {retired} TO {previous}
