"""``LOAD DATA LOCAL INFILE`` that sends only files of the load folder.

In MySQL's protocol the server names the file the client then sends: a client that allows LOCAL
INFILE sends whatever file it can read that the server asks for (a compromised or impostor server
asks for ``~/.ssh/id_rsa``). MySQL's ``local_infile_dir`` option is not in MariaDB's client library,
which mysqlclient uses here; both libraries take a handler for the request instead
(``mysql_set_local_infile_handler``). The one installed on every connection that may load files
sends a file only when its real path (symlinks resolved) lies in the folder the current load named,
and otherwise fails the statement with a message saying why.
"""

import ctypes
import os

import MySQLdb._mysql

_client = ctypes.CDLL(MySQLdb._mysql.__file__)  # the client library mysqlclient is linked with
_INIT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p, ctypes.c_void_p)
_READ = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint)
_END = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_ERROR = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint)
_client.mysql_set_local_infile_handler.argtypes = [ctypes.c_void_p, _INIT, _READ, _END, _ERROR, ctypes.c_void_p]
_client.mysql_set_local_infile_handler.restype = None
_capsule_name = ctypes.pythonapi.PyCapsule_GetName
_capsule_name.argtypes, _capsule_name.restype = [ctypes.py_object], ctypes.c_char_p
_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.argtypes, _capsule_pointer.restype = [ctypes.py_object, ctypes.c_char_p], ctypes.c_void_p
CR_UNKNOWN_ERROR = 2000


class LoadFolderOnly:
    """One connection's handler: ``folder`` is where the current load's files are (None: none)."""

    def __init__(self):
        self.folder: str | None = None
        self._file = None
        self._error = b""
        # Kept referenced as long as the connection: the client library calls them.
        self.callbacks = (_INIT(self._open), _READ(self._read), _END(self._close), _ERROR(self._describe))

    def _open(self, _state, filename: bytes, _userdata) -> int:
        requested = os.path.realpath(filename.decode("utf-8", "replace"))
        if self.folder is None or os.path.dirname(requested) != self.folder:
            self._error = f"LOAD DATA LOCAL refused: {requested} is not in the load folder {self.folder}".encode()
            return 1
        try:
            self._file = open(requested, "rb")  # noqa: SIM115 - closed by the library's end call
        except OSError as exc:
            self._error = str(exc).encode()
            return 1
        return 0

    def _read(self, _state, buffer: int, length: int) -> int:
        try:
            data = self._file.read(length)
        except OSError as exc:
            self._error = str(exc).encode()
            return -1
        ctypes.memmove(buffer, data, len(data))
        return len(data)

    def _close(self, _state) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _describe(self, _state, buffer: int, length: int) -> int:
        message = self._error[: max(length - 1, 0)] + b"\0"
        ctypes.memmove(buffer, message, len(message))
        return CR_UNKNOWN_ERROR


def install(connection) -> None:
    """Give a MySQLdb connection the handler; until ``load_folder`` names one, every request fails."""
    native = connection._get_native_connection()  # a capsule of the connection's MYSQL structure
    handler = LoadFolderOnly()
    _client.mysql_set_local_infile_handler(_capsule_pointer(native, _capsule_name(native)), *handler.callbacks, None)
    connection.recsys_local_infile = handler


def load_folder(connection, folder: str) -> None:
    """The folder the next LOAD DATA LOCAL statements on ``connection`` may read files of."""
    connection.recsys_local_infile.folder = os.path.realpath(folder)
