"""Give the Airflow UI's admin the password from .env, before docker-compose.yaml starts the API server.

Airflow 3's simple auth manager takes its users from ``[core] simple_auth_manager_users`` and their
passwords from the JSON file ``[core] simple_auth_manager_passwords_file`` (``{"user": "password"}``);
for a user missing from that file it generates a password and prints it to the log. This writes the
first configured user (the admin, ``AIRFLOW_ADMIN_USER``) with ``AIRFLOW_ADMIN_PASSWORD`` into that
file, readable by its owner only, so the login is the one in .env and nothing is generated or
printed. Other users already in the file keep their passwords. It prints no password.
"""

import json
import os
import sys
import tempfile
from pathlib import Path

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

MIN_LENGTH = 12


def main() -> int:
    password = os.environ.get("AIRFLOW_ADMIN_PASSWORD", "")
    if len(password) < MIN_LENGTH:
        print(f"AIRFLOW_ADMIN_PASSWORD must be set, at least {MIN_LENGTH} characters (see .env.example)",
              file=sys.stderr)
        return 1
    users = SimpleAuthManager.get_users()
    if not users or users[0].role.upper() != "ADMIN":
        print("the first user of [core] simple_auth_manager_users must be the admin (AIRFLOW_ADMIN_USER:admin)",
              file=sys.stderr)
        return 1
    path = Path(SimpleAuthManager.get_generated_password_file())
    try:
        passwords = json.loads(path.read_text() or "{}")
    except (FileNotFoundError, json.JSONDecodeError):
        passwords = {}
    passwords[users[0].username] = password
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")  # mode 600
    try:
        with os.fdopen(handle, "w") as file:
            json.dump(passwords, file)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    print(f"UI login: user {users[0].username!r}, password from AIRFLOW_ADMIN_PASSWORD ({path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
